"""BlastDeck: a self-hosted BLAST+ control plane."""

__version__ = "0.2.0"

"""BlastDeck: a self-hosted BLAST+ control plane."""

__version__ = "0.1.0"

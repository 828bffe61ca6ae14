"""`python -m blastdeck.cli`: the same as the `blastdeck` command."""

from blastdeck.cli import main

main()

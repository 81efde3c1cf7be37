"""``python -m bnncc`` runs the command line."""

from bnncc.cli import main

main()

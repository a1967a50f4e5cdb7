"""Run the CLI as ``python -m resque``."""
from .cli import main

main()

"""The ``resque`` click group and its shared options."""
from __future__ import annotations

import click

from ..keys import __version__


@click.group()
@click.version_option(__version__, prog_name="resque")
def main() -> None:
    """Redis-backed background jobs, wire-compatible with Ruby Resque."""

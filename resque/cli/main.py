"""The ``resque`` click group, its shared options and the ``server`` commands."""
from __future__ import annotations

import functools
import logging
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

import click

from ..client import Resque
from ..embedded import EmbeddedServer, default_data_dir
from ..errors import ResqueError
from ..keys import __version__

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class CliConfig:
    """Global options shared by every command."""

    redis: str | None = None
    namespace: str | None = None
    _client: Resque | None = field(default=None, repr=False)

    def client(self) -> Resque:
        """Build the client once; errors become one-line click errors."""
        if self._client is None:
            try:
                self._client = Resque(self.redis, self.namespace)
            except ResqueError as exc:
                raise click.ClickException(str(exc)) from None
        return self._client


def pass_client(f: F) -> F:
    """Give a command the ``Resque`` client built from the global options."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        config = click.get_current_context().find_object(CliConfig) or CliConfig()
        try:
            return f(config.client(), *args, **kwargs)
        except ResqueError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper  # type: ignore[return-value]


def setup_logging(verbose: int, quiet: bool) -> None:
    """Configure the root logger for the CLI (the library never does)."""
    level = logging.WARNING if quiet else (logging.DEBUG if verbose > 1 else logging.INFO)
    fmt = "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s" if verbose > 1 \
        else "*** %(message)s"
    logging.basicConfig(level=level, format=fmt, stream=sys.stderr, force=True)


@click.group()
@click.version_option(__version__, prog_name="resque")
@click.option("-r", "--redis", envvar="RESQUE_REDIS_URL", metavar="URL",
              help="Redis URL or host:port[:db][/namespace] (default: REDIS_URL, else embedded).")
@click.option("-N", "--namespace", metavar="NS", help="Key namespace (default: resque).")
@click.pass_context
def main(ctx: click.Context, redis: str | None, namespace: str | None) -> None:
    """Redis-backed background jobs, wire-compatible with Ruby Resque."""
    ctx.obj = CliConfig(redis, namespace)


@main.group()
def server() -> None:
    """Manage the embedded Redis server (used when no Redis is configured)."""


def _embedded() -> EmbeddedServer:
    return EmbeddedServer(default_data_dir())


@server.command("start")
def server_start() -> None:
    """Start the embedded server (or find it running) and print its URL."""
    try:
        click.echo(_embedded().ensure())
    except ResqueError as exc:
        raise click.ClickException(str(exc)) from None


@server.command("stop")
def server_stop() -> None:
    """Stop the embedded server of this data dir, saving its data."""
    if _embedded().stop():
        click.echo("embedded Redis server stopped")
    else:
        click.echo("no embedded Redis server running")


@server.command("status")
def server_status() -> None:
    """Say whether the embedded server runs, with its URL and pid."""
    s = _embedded()
    if s.running():
        click.echo(f"running: {s.url} (pid {s.pid()})")
    else:
        click.echo("not running")
        sys.exit(1)

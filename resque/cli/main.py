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
from ..logs import JsonFormatter

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


REDIS_HELP = ("Redis URL (redis://, rediss://, unix://) or host:port[:db][/namespace]. "
              "Default: $RESQUE_REDIS_URL, else $REDIS_URL, else the embedded server.")
NAMESPACE_HELP = "Key namespace.  [default: resque]"
CONTEXT = {"help_option_names": ["-h", "--help"], "show_default": True}


def _remember(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    """Store a connection option given after the subcommand; it wins."""
    if value is not None and param.name:
        setattr(ctx.ensure_object(CliConfig), param.name, value)


_CONNECTION = (
    click.option("-r", "--redis", metavar="URL", expose_value=False, callback=_remember,
                 help=REDIS_HELP),
    click.option("-N", "--namespace", metavar="NS", expose_value=False, callback=_remember,
                 help=NAMESPACE_HELP),
)


def connection_options(f: F) -> F:
    """Accept ``--redis``/``--namespace`` after the subcommand too."""
    for opt in reversed(_CONNECTION):
        f = opt(f)
    return f


def cli_config() -> CliConfig:
    """Return the connection settings of the running command."""
    return click.get_current_context().ensure_object(CliConfig)


def pass_client(f: F) -> F:
    """Give a command the ``Resque`` client built from the connection options."""

    @connection_options
    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return f(cli_config().client(), *args, **kwargs)
        except ResqueError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper  # type: ignore[return-value]


def setup_logging(verbose: int, quiet: bool, log_format: str = "text") -> None:
    """Configure the root logger for the CLI (the library never does).

    ``json`` writes every record as one JSON object per line. The per-job
    lines (``resque.jobs``) show in JSON unless ``quiet``, in text from
    ``-v`` on (Ruby's ``done:`` lines come with ``VERBOSE``).
    """
    level = logging.WARNING if quiet else (logging.DEBUG if verbose > 1 else logging.INFO)
    fmt = "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s" if verbose > 1 \
        else "*** %(message)s"
    logging.basicConfig(level=level, format=fmt, stream=sys.stderr, force=True)
    if log_format == "json":
        for handler in logging.getLogger().handlers:
            handler.setFormatter(JsonFormatter())
    per_job = not quiet and (verbose > 0 or log_format == "json")
    logging.getLogger("resque.jobs").setLevel(logging.INFO if per_job else logging.WARNING)


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, prog_name="resque")
@click.option("-r", "--redis", envvar="RESQUE_REDIS_URL", metavar="URL", help=REDIS_HELP)
@click.option("-N", "--namespace", metavar="NS", help=NAMESPACE_HELP)
@click.pass_context
def main(ctx: click.Context, redis: str | None, namespace: str | None) -> None:
    """Redis-backed background jobs, wire-compatible with Ruby Resque.

    The connection options -r/--redis and -N/--namespace may be given
    before or after the command name (after wins); RESQUE_REDIS_URL wins
    over REDIS_URL. With neither, an embedded redis-server keeps its data
    in $RESQUE_DATA_DIR (default ./.resque).
    """
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

"""``resque web``: serve the monitoring front end."""
from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import click

from ..client import Resque
from ..errors import ResqueError
from .main import CliConfig, cli_config, connection_options, main, setup_logging

DEFAULT_PORT = 5678
PORT_TRIES = 20


def _load_config(path: str) -> ModuleType:
    """Import a config file as a module named after the file."""
    spec = importlib.util.spec_from_file_location(f"resque_web_config_{Path(path).stem}", path)
    if spec is None or spec.loader is None:
        raise click.ClickException(f"cannot load config file {path}")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 - report any error in the user's file
        raise click.ClickException(f"config file {path} failed: {type(exc).__name__}: {exc}") from None
    return module


def _client(config: CliConfig, module: ModuleType | None) -> Resque:
    """Pick the client: options, then the config file's ``client``, then the default."""
    if not (config.redis or config.namespace):
        configured = getattr(module, "client", None)
        if isinstance(configured, Resque):
            return configured
    return config.client()


def _bind(app: Any, host: str, port: int | None, prefix: str) -> Any:
    """Bind ``port``; without one, the first free port from 5678 up."""
    web_server = importlib.import_module("resque.web.server")
    ports = [port] if port is not None else range(DEFAULT_PORT, DEFAULT_PORT + PORT_TRIES)
    error: OSError | None = None
    for p in ports:
        try:
            return web_server.make_server(app, host, p, prefix)
        except OSError as exc:
            error = exc
    raise click.ClickException(f"cannot listen on {host}:{port or DEFAULT_PORT}: {error}")


@main.command("web")
@click.option("-p", "--port", type=click.IntRange(0, 65535), default=None,
              help="Port (default 5678, or the next free one; 0 picks any).")
@click.option("-o", "--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@connection_options
@click.option("-a", "--prefix", default="", metavar="PATH", help="Serve under this URL path, e.g. /resque.")
@click.option("--user", envvar="RESQUE_WEB_USER", default=None, help="Basic auth user (RESQUE_WEB_USER).")
@click.option("--password", envvar="RESQUE_WEB_PASSWORD", default=None, show_default=False,
              help="Basic auth password (RESQUE_WEB_PASSWORD).")
@click.option("--poll-interval", type=click.FloatRange(min=0.1), default=2.0, show_default=True,
              help="Seconds between live-mode refreshes.")
@click.option("-v", "--verbose", count=True, help="Log each request.")
@click.argument("config_file", required=False, type=click.Path(exists=True, dir_okay=False))
def web(port: int | None, host: str, prefix: str, user: str | None, password: str | None,
        poll_interval: float, verbose: int, config_file: str | None) -> None:
    """Serve the web UI: queues, workers, failures and stats.

    CONFIG_FILE is a Python file imported first; it may set ``client`` (a
    ``resque.Resque``) and ``user``/``password``. Options win over it.
    """
    setup_logging(verbose, quiet=verbose == 0)
    module = _load_config(config_file) if config_file else None
    user = user if user is not None else getattr(module, "user", None)
    password = password if password is not None else getattr(module, "password", None)
    client = _client(cli_config(), module)
    try:  # the web extra is optional: import it only when serving
        create_app = importlib.import_module("resque.web").create_app
        app = create_app(client, user=user or "", password=password or "",
                         poll_interval=poll_interval)
    except ImportError as exc:
        raise click.ClickException(f"the web UI needs the 'web' extra (from a checkout: pip install '.[web]'): {exc}")
    except ResqueError as exc:
        raise click.ClickException(str(exc)) from None
    server = _bind(app, host, port, prefix)
    loopback = importlib.import_module("resque.web.server").is_loopback(host)
    if not loopback and not (user or password):
        click.echo(f"WARNING: serving on {host} without authentication: anyone who can reach "
                   "this port can retry, remove and clear jobs. Set --user/--password "
                   "(RESQUE_WEB_USER/RESQUE_WEB_PASSWORD) or bind to 127.0.0.1.", err=True)
    bound_host, bound_port = server.server_address[:2]
    shown = f"[{bound_host}]" if ":" in str(bound_host) else bound_host
    click.echo(f"resque web on http://{shown}:{bound_port}{'/' + prefix.strip('/') if prefix.strip('/') else ''}/"
               f" (Redis {client.redis_id}); Ctrl-C stops it", err=False)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()

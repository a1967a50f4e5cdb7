"""Serve a WSGI app with the standard library: threaded, optionally under a prefix."""
from __future__ import annotations

import ipaddress
import logging
import socket
from socketserver import ThreadingMixIn
from typing import Any, Callable, Iterable
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server as _make

logger = logging.getLogger(__name__)
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class ThreadingServer(ThreadingMixIn, WSGIServer):
    """A ``wsgiref`` server answering each request in its own thread."""

    daemon_threads = True
    allow_reuse_address = True


class ThreadingServer6(ThreadingServer):
    address_family = socket.AF_INET6


class QuietHandler(WSGIRequestHandler):
    """Log requests through ``logging`` instead of stderr."""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        logger.info("%s %s", self.address_string(), format % args)


def mount(app: WSGIApp, prefix: str) -> WSGIApp:
    """Serve ``app`` under a URL path prefix (moved into ``SCRIPT_NAME``)."""
    prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
    if not prefix:
        return app

    def mounted(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == prefix or path.startswith(prefix + "/"):
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + prefix
            environ["PATH_INFO"] = path[len(prefix):] or "/"
            return app(environ, start_response)
        if path in ("", "/"):
            start_response("302 Found", [("Location", prefix + "/"), ("Content-Length", "0")])
            return [b""]
        start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "9")])
        return [b"Not Found"]

    return mounted


def make_server(app: WSGIApp, host: str = "127.0.0.1", port: int = 5678,
                prefix: str = "") -> WSGIServer:
    """Bind a threaded server for ``app`` (port 0 picks a free port)."""
    cls = ThreadingServer6 if ":" in host else ThreadingServer
    return _make(host, port, mount(app, prefix), server_class=cls, handler_class=QuietHandler)


def is_loopback(host: str) -> bool:
    """Say whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

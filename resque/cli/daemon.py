"""Daemonizing and pid files for ``resque work --background --pidfile``."""
from __future__ import annotations

import os
import sys
from pathlib import Path
from types import TracebackType
from typing import Callable

import click


class Pidfile:
    """Refuse a live pid, scrub a stale one, refuse garbage, remove on exit."""

    def __init__(self, path: str | None):
        self.path = Path(path) if path else None
        self.written = False

    def check(self) -> None:
        """Fail if another live process owns the file; remove a stale one."""
        if self.path is None or not self.path.exists():
            return
        raw = self.path.read_text().strip()
        if not raw.isdigit():
            raise click.ClickException(f"pid file {self.path} holds {raw[:40]!r}, not a pid; remove it")
        pid = int(raw)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            self.path.unlink(missing_ok=True)  # stale: that process is gone
            return
        except PermissionError:
            pass
        if pid != os.getpid():
            raise click.ClickException(f"pid file {self.path} names running process {pid}")

    def check_writable(self) -> None:
        """Fail now, in one line, if the pid file could not be written later."""
        if self.path is None:
            return
        problem = _unwritable(self.path)
        if problem:
            raise click.ClickException(f"cannot write pid file {self.path}: {problem}")

    def __enter__(self) -> "Pidfile":
        if self.path is not None:
            self.check()
            try:
                self.path.write_text(str(os.getpid()))
            except OSError as exc:
                raise click.ClickException(f"cannot write pid file {self.path}: {exc.strerror}") from None
            self.written = True
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.path is not None and self.written:
            try:
                if self.path.read_text().strip() == str(os.getpid()):
                    self.path.unlink()
            except OSError:
                pass


def _unwritable(path: Path) -> str | None:
    """Say why ``path`` cannot be created or written, or return None."""
    parent = path.parent
    if path.exists():
        return None if os.access(path, os.W_OK) else "permission denied"
    if not parent.is_dir():
        return f"directory {parent} does not exist"
    return None if os.access(parent, os.W_OK | os.X_OK) else f"directory {parent} is not writable"


def check_logfile(path: str) -> None:
    """Fail in one line if the log file cannot be opened for appending."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644))
    except OSError as exc:
        raise click.ClickException(f"cannot open log file {path}: {exc.strerror}") from None


def daemonize(logfile: str | None = None) -> Callable[[], None]:
    """Detach into the background; return a callable that releases the caller.

    The command's original process waits until the daemon calls the
    returned function (after writing its pid file), then exits 0; if the
    daemon dies first, it exits 1.
    """
    if logfile:
        check_logfile(logfile)
    sys.stdout.flush()
    sys.stderr.flush()
    read_end, write_end = os.pipe()
    if os.fork() > 0:
        os.close(write_end)
        ok = os.read(read_end, 2) == b"ok"
        os._exit(0 if ok else 1)
    os.close(read_end)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    null = os.open(os.devnull, os.O_RDWR)
    out = os.open(logfile, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644) if logfile else null
    os.dup2(null, 0)
    os.dup2(out, 1)
    os.dup2(out, 2)

    def ready() -> None:
        os.write(write_end, b"ok")
        os.close(write_end)

    return ready

"""An interruptible sleep that a signal handler can end without taking a lock.

A Python signal handler runs in the main thread between two bytecodes,
possibly while that thread holds a lock; ``threading.Event.set()`` from a
handler can then wait forever for the lock the interrupted ``wait()``
holds. This sleep waits on a pipe instead: ``wake()`` writes one byte, a
system call that takes no lock, and is safe from handlers and threads.
"""
from __future__ import annotations

import os
import select
import weakref


def _close(*fds: int) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


class Sleeper:
    """Sleep up to a timeout, or until ``wake()`` is called (from anywhere)."""

    def __init__(self) -> None:
        self._r, self._w = os.pipe()
        os.set_blocking(self._r, False)
        os.set_blocking(self._w, False)
        self._closer = weakref.finalize(self, _close, self._r, self._w)

    def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` unless woken; a wake before the call counts."""
        if seconds > 0:
            select.select([self._r], [], [], seconds)
        self.clear()

    def wake(self) -> None:
        """End the current (or next) sleep; safe inside a signal handler."""
        try:
            os.write(self._w, b"!")
        except (BlockingIOError, OSError):
            pass  # the pipe is full (a wake is pending already) or closed

    def clear(self) -> None:
        """Forget wakes that arrived while nobody slept."""
        try:
            while os.read(self._r, 512):
                pass
        except (BlockingIOError, OSError):
            pass

    def close(self) -> None:
        self._closer()

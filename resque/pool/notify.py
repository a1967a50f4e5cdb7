"""systemd's notify protocol (``Type=notify``) without a dependency.

A datagram of ``KEY=value`` lines to the unix socket named by
``$NOTIFY_SOCKET`` (``@name`` is the abstract namespace). With no socket
configured every call does nothing.
"""
from __future__ import annotations

import os
import socket
import time


class Notifier:
    """Send READY, RELOADING, STOPPING, STATUS and WATCHDOG to systemd."""

    def __init__(self, address: str | None = None):
        address = address if address is not None else os.environ.get("NOTIFY_SOCKET", "")
        self.address = "\0" + address[1:] if address.startswith("@") else address
        usec = os.environ.get("WATCHDOG_USEC", "")
        watched = os.environ.get("WATCHDOG_PID", str(os.getpid())) == str(os.getpid())
        self.watchdog = int(usec) / 2e6 if usec.isdigit() and watched else None
        self._last_beat = 0.0

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    def send(self, **fields: object) -> None:
        """Send one datagram; a missing or full socket is not an error."""
        if not self.address:
            return
        text = "\n".join(f"{k}={v}" for k, v in fields.items())
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            try:
                sock.sendto(text.encode(), self.address)
            except OSError:
                pass

    def ready(self, status: str) -> None:
        self.send(READY=1, STATUS=status, MAINPID=os.getpid())

    def reloading(self) -> None:
        self.send(RELOADING=1, MONOTONIC_USEC=time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000)

    def stopping(self, status: str) -> None:
        self.send(STOPPING=1, STATUS=status)

    def beat(self) -> None:
        """Ping the watchdog if systemd asked for one and half its period passed."""
        if self.watchdog is not None and time.monotonic() - self._last_beat >= self.watchdog:
            self._last_beat = time.monotonic()
            self.send(WATCHDOG=1)

"""Capture the commands a Redis server executes, with MONITOR, for wire tests."""
from __future__ import annotations

import re
import socket
import threading
import time
from typing import Iterator

_ESC = {"n": b"\n", "r": b"\r", "t": b"\t", "a": b"\a", "b": b"\b", '"': b'"', "\\": b"\\"}


def parse_line(line: bytes) -> tuple[str, list[bytes]]:
    """Split one MONITOR line into (source, [command, args...])."""
    m = re.match(rb"\+?[\d.]+ \[(\d+) ([^\]]*)\] ", line)
    if not m:
        return "", []
    source = m.group(2).decode()
    words: list[bytes] = []
    i = m.end()
    while i < len(line):
        if line[i:i + 1] != b'"':
            i += 1
            continue
        i += 1
        word = bytearray()
        while line[i:i + 1] != b'"':
            c = line[i:i + 1]
            if c == b"\\":
                nxt = line[i + 1:i + 2].decode()
                if nxt == "x":
                    word += bytes([int(line[i + 2:i + 4], 16)])
                    i += 4
                    continue
                word += _ESC.get(nxt, nxt.encode())
                i += 2
                continue
            word += c
            i += 1
        words.append(bytes(word))
        i += 1
    return source, words


class Monitor:
    """Record every command the server runs while the block is open.

    ``commands`` holds (source, words) pairs; ``source`` is ``lua`` for
    commands a script ran. Only commands after ``start`` returns count.
    """

    def __init__(self, unix_socket: str):
        self.path = unix_socket
        self.lines: list[bytes] = []
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "Monitor":
        self._sock = socket.socket(socket.AF_UNIX)
        self._sock.connect(self.path)
        self._sock.sendall(b"MONITOR\r\n")
        buf = b""
        while b"\r\n" not in buf:
            buf += self._sock.recv(4096)
        self._thread = threading.Thread(target=self._read, args=(buf.split(b"\r\n", 1)[1],), daemon=True)
        self._thread.start()
        return self

    def _read(self, buf: bytes) -> None:
        assert self._sock is not None
        while True:
            while b"\r\n" in buf:
                line, buf = buf.split(b"\r\n", 1)
                self.lines.append(line)
            try:
                chunk = self._sock.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            buf += chunk

    def __exit__(self, *exc: object) -> None:
        time.sleep(0.1)  # let the last lines arrive
        assert self._sock is not None
        self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        if self._thread is not None:
            self._thread.join(2)

    @property
    def commands(self) -> list[tuple[str, list[bytes]]]:
        return [c for c in (parse_line(line) for line in self.lines) if c[1]]

    def words(self, lua: bool | None = None) -> Iterator[list[bytes]]:
        """Yield commands (upper-cased name first); ``lua`` filters by source."""
        for source, words in self.commands:
            if lua is None or (source == "lua") == lua:
                yield [words[0].upper(), *words[1:]]

    def names(self, lua: bool | None = None) -> list[str]:
        return [w[0].decode() for w in self.words(lua)]

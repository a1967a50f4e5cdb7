"""Decode a JSON record from its first and last bytes, for records too big to read.

Pages show huge jobs (a 50 MB argument) from a bounded head and tail that
Redis cuts server-side. ``decode_cut`` parses the head as far as it goes
(closing every open string, array and object; a cut string ends in ``…``,
a cut array gets a last ``…`` element) and takes the members that follow
the cut from the tail (Resque's failure records keep ``exception``,
``error``, ``backtrace``, ``worker`` and ``queue`` after the payload).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ._compat import loads

ELLIPSIS = "…"
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_WORDS = {"true": True, "false": False, "null": None}
_KEY_START = re.compile(r',"')


@dataclass(frozen=True)
class Cut:
    """A stored element as read: its full size, and its head and tail bytes."""

    size: int
    head: bytes
    tail: bytes = b""

    @property
    def whole(self) -> bool:
        return len(self.head) >= self.size


class _Prefix:
    """A JSON reader that stops quietly where its text ends."""

    def __init__(self, text: str):
        self.s = text
        self.i = 0

    def ws(self) -> None:
        while self.i < len(self.s) and self.s[self.i] in " \t\r\n":
            self.i += 1

    def value(self) -> tuple[Any, bool]:
        """Return (value, complete)."""
        self.ws()
        if self.i >= len(self.s):
            return ELLIPSIS, False
        c = self.s[self.i]
        if c == '"':
            return self.string()
        if c == "[":
            return self.array()
        if c == "{":
            return self.object()
        for word, val in _WORDS.items():
            if self.s.startswith(word, self.i):
                self.i += len(word)
                return val, True
        m = _NUMBER.match(self.s, self.i)
        if m and m.end() < len(self.s):
            self.i = m.end()
            return json.loads(m.group()), True
        self.i = len(self.s)
        return ELLIPSIS, False

    def string(self) -> tuple[str, bool]:
        out: list[str] = []
        j = self.i + 1
        while j < len(self.s):
            c = self.s[j]
            if c == '"':
                self.i = j + 1
                return "".join(out), True
            if c == "\\":
                esc = self.s[j:j + 6] if self.s[j + 1:j + 2] == "u" else self.s[j:j + 2]
                try:
                    out.append(json.loads(f'"{esc}"'))
                except ValueError:
                    break  # an escape cut in half
                j += len(esc)
                continue
            out.append(c)
            j += 1
        self.i = len(self.s)
        return "".join(out) + ELLIPSIS, False

    def array(self) -> tuple[list[Any], bool]:
        self.i += 1
        items: list[Any] = []
        while True:
            self.ws()
            if self.s.startswith("]", self.i):
                self.i += 1
                return items, True
            item, done = self.value()
            items.append(item)
            self.ws()
            if not done or self.i >= len(self.s):
                if done:
                    items.append(ELLIPSIS)
                return items, False
            if self.s[self.i] == ",":
                self.i += 1

    def object(self) -> tuple[dict[str, Any], bool]:
        self.i += 1
        out: dict[str, Any] = {}
        while True:
            self.ws()
            if self.s.startswith("}", self.i):
                self.i += 1
                return out, True
            if not self.s.startswith('"', self.i):
                return out, False
            key, done = self.string()
            self.ws()
            if not done or not self.s.startswith(":", self.i):
                return out, False
            self.i += 1
            out[key], done = self.value()
            self.ws()
            if not done or self.i >= len(self.s):
                return out, False
            if self.s[self.i] == ",":
                self.i += 1


def _trailing_members(tail: str) -> dict[str, Any]:
    """Return the top-level members that close a record, read from its tail."""
    for m in _KEY_START.finditer(tail):
        try:
            found = json.loads("{" + tail[m.start() + 1:])
        except ValueError:
            continue
        if isinstance(found, dict):
            return found
    return {}


def decode_cut(cut: Cut) -> tuple[Any, bool]:
    """Return the decoded record (or its text) and whether it was cut short."""
    if cut.whole:
        try:
            return loads(cut.head), False
        except ValueError:
            return cut.head.decode("utf-8", "replace"), False
    head = cut.head.decode("utf-8", "ignore")
    if not head.lstrip().startswith(("{", "[")):
        return head + ELLIPSIS, True
    value, _ = _Prefix(head).value()
    if isinstance(value, dict) and cut.tail:
        for key, member in _trailing_members(cut.tail.decode("utf-8", "ignore")).items():
            value.setdefault(key, member)
    return value, True

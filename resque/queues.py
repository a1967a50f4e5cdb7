"""Worker queue lists: include/exclude patterns matched by Ruby's rules.

Ruby uses ``File.fnmatch?`` with no flags: ``*`` and ``?`` cross ``/``
but not a leading ``.``, ``[...]`` classes negate with ``!`` or ``^``,
braces are literal, ``\\`` escapes, matching is case-sensitive.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterable

from .errors import NoQueueError

_MAGIC = set("*?[]{}")


@lru_cache(maxsize=512)
def _compile(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if c == "*":
            out.append(".*")
        elif c == "?":
            out.append(".")
        elif c == "[":
            j = pattern.find("]", i + 2 if pattern[i + 1 : i + 2] in ("!", "^") else i + 1)
            if j == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : j]
                neg = body[:1] in ("!", "^")
                if neg:
                    body = body[1:]
                body = body.replace("\\", "\\\\").replace("^", "\\^")
                out.append(f"[{'^' if neg else ''}{body}]")
                i = j + 1
                continue
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z", re.DOTALL)


def fnmatch(pattern: str, name: str) -> bool:
    """Match ``name`` against ``pattern`` as Ruby ``File.fnmatch?`` does."""
    if name.startswith(".") and not pattern.startswith("."):
        return False
    return _compile(pattern).match(name) is not None


@dataclass(frozen=True)
class QueueList:
    """An ordered queue list with optional wildcards and ``!`` exclusions."""

    includes: tuple[str, ...]
    excludes: tuple[str, ...] = ()
    dynamic: bool = field(init=False)

    def __post_init__(self) -> None:
        if not self.includes:
            raise NoQueueError("Please give each worker at least one queue.")
        dyn = bool(self.excludes) or any(_MAGIC & set(q) for q in self.includes)
        object.__setattr__(self, "dynamic", dyn)

    @classmethod
    def parse(cls, spec: str | Iterable[str]) -> "QueueList":
        """Build from ``"critical,*,!low"`` or a sequence of names."""
        items = spec.split(",") if isinstance(spec, str) else list(spec)
        names = [s.strip() for item in items for s in item.split(",")]
        names = [s for s in names if s]
        inc = tuple(s for s in names if not s.startswith("!"))
        exc = tuple(s[1:] for s in names if s.startswith("!"))
        return cls(inc, exc)

    @property
    def label(self) -> str:
        """The include list as a worker id shows it: ``critical,high,*``."""
        return ",".join(self.includes)

    def expand(self, known: Iterable[str]) -> list[str]:
        """Resolve against the registered queues, in Ruby's order."""
        if not self.dynamic:
            return list(self.includes)
        members = sorted(known, key=lambda q: q.encode("utf-8", "surrogateescape"))
        out: list[str] = []
        seen: set[str] = set()
        for inc in self.includes:
            for q in members:
                if q in seen or not fnmatch(inc, q):
                    continue
                if any(fnmatch(x, q) for x in self.excludes):
                    continue
                seen.add(q)
                out.append(q)
        return out

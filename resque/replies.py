"""Reading Redis replies for display: text, counters, and values kept as ``Corrupt``."""
from __future__ import annotations

from typing import Any


def text(value: bytes | str | None) -> str | None:
    """Decode a Redis reply to str (replies may be bytes or str)."""
    if value is None or isinstance(value, str):
        return value
    return value.decode("utf-8", "replace")


class Corrupt(str):
    """A stored value that is not what the protocol says, kept as its text.

    Readers that show data return it instead of failing; the text is the
    stored value (or a note such as ``(wrong Redis type)``).
    """


WRONG_TYPE = Corrupt("(wrong Redis type)")


def number(raw: Any) -> int | Corrupt:
    """Read a counter reply: missing is 0, anything not an integer is ``Corrupt``."""
    if raw is None:
        return 0
    if isinstance(raw, Exception):
        return WRONG_TYPE
    try:
        return int(raw)
    except (TypeError, ValueError):
        return Corrupt(text(raw) or "")


def shown_text(raw: Any) -> str | None:
    """Read a text reply for display: an error reply becomes ``Corrupt``."""
    return WRONG_TYPE if isinstance(raw, Exception) else text(raw)

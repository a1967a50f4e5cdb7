"""Ruby's text forms of decoded JSON values, as Ruby plugins put them in keys.

resque-retry builds its retry key from ``Array#join('-')`` of the job's
arguments and resque-lock-timeout its lock key the same way, so a Python
worker sharing those keys with Ruby must spell values exactly as Ruby's
``to_s``/``inspect`` do: floats with ``.0`` before an exponent, ``nil``
as nothing inside ``join`` and ``nil`` inside ``inspect``, nested arrays
flattened, hashes as ``Hash#inspect`` (Ruby 3.1's ``"k"=>v`` spacing by
default; Ruby 3.4 writes ``"k" => v``).
"""
from __future__ import annotations

import hashlib
import math
from typing import Any

RUBY_31 = "=>"
RUBY_34 = " => "
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\f": "\\f",
            "\v": "\\v", "\b": "\\b", "\a": "\\a", "\x1b": "\\e"}
_WHITESPACE = str.maketrans("", "", " \t\r\n\f\v")  # Ruby's /\s/


def float_to_s(value: float) -> str:
    """Spell a float as Ruby's ``Float#to_s`` (``1.0e+16``, ``2.5e-07``, ``-0.0``)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    text = repr(value)
    mantissa, e, exponent = text.partition("e")
    if e and "." not in mantissa:
        return f"{mantissa}.0e{exponent}"
    return text


def string_inspect(value: str) -> str:
    """Quote a string as Ruby's ``String#inspect`` does for UTF-8 text."""
    out = ['"']
    for i, ch in enumerate(value):
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch == "#" and value[i + 1:i + 2] in ("{", "$", "@"):
            out.append("\\#")
        elif ch == "\x7f":
            out.append("\\x7F")
        elif not ch.isprintable():
            out.append(f"\\u{ord(ch):04X}" if ord(ch) <= 0xFFFF else f"\\u{{{ord(ch):X}}}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def inspect(value: Any, arrow: str = RUBY_31) -> str:
    """Spell a decoded JSON value as Ruby's ``inspect``."""
    if value is None:
        return "nil"
    if isinstance(value, str):
        return string_inspect(value)
    if isinstance(value, list):
        return "[" + ", ".join(inspect(v, arrow) for v in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{" + ", ".join(f"{inspect(k, arrow)}{arrow}{inspect(v, arrow)}"
                               for k, v in value.items()) + "}"
    return to_s(value, arrow)


def to_s(value: Any, arrow: str = RUBY_31) -> str:
    """Spell a decoded JSON value as Ruby's ``to_s`` (what ``join`` uses)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return float_to_s(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (list, dict)):
        return inspect(value, arrow)
    return str(value)


def join(values: list[Any], separator: str = "-", arrow: str = RUBY_31) -> str:
    """Join values as Ruby's ``Array#join`` (nested arrays joined in place)."""
    return separator.join(join(v, separator, arrow) if isinstance(v, list) else to_s(v, arrow)
                          for v in values)


def sha1_identifier(args: list[Any], arrow: str = RUBY_31) -> str | None:
    """Return resque-retry's default identifier: SHA-1 of the joined args, or None."""
    joined = join(args, "-", arrow)
    return hashlib.sha1(joined.encode("utf-8")).hexdigest() if joined else None


def strip_whitespace(text: str) -> str:
    """Delete every character Ruby's ``/\\s/`` matches."""
    return text.translate(_WHITESPACE)

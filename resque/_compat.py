"""Optional third-party speedups: orjson and setproctitle, with fallbacks.

Both JSON encoders write Ruby's compact shape: no spaces, raw UTF-8,
control characters as lower-case ``\\u00XX``, ``/`` unescaped.
"""
from __future__ import annotations

import json
import math
import re
import signal
from typing import Any, Callable

_BIG_INT = re.compile(rb"(?<![\d.eE+-])-?\d{19,}(?![\d.eE])")
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_NOT_DIGITS = bytes(b for b in range(256) if not 48 <= b <= 57)


def _std_dumps(obj: Any) -> bytes:
    return json.dumps(
        obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"number {text[:40]} is infinity when parsed as double")
    return value


def _std_loads(data: bytes | str) -> Any:
    """Decode strict JSON as orjson does: no NaN/Infinity, no lone surrogates.

    Whatever this accepts, ``dumps`` can write again (depth aside).
    """
    value = json.loads(data, parse_constant=_no_constant, parse_float=_finite)
    raw = data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass")
    if _SURROGATE_ESCAPE.search(raw):
        try:
            _std_dumps(value)
        except UnicodeEncodeError:
            raise ValueError("lone surrogate in a JSON string") from None
    return value


try:
    import orjson

    _PASSTHROUGH = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS

    def dumps(obj: Any) -> bytes:
        """Encode ``obj`` as compact UTF-8 JSON; refuse NaN and non-JSON types."""
        try:
            out = orjson.dumps(obj, option=_PASSTHROUGH)
        except orjson.JSONEncodeError as exc:
            if "Integer exceeds 64-bit range" in str(exc):
                return _std_dumps(obj)  # Ruby keeps big integers exact
            raise TypeError(str(exc)) from None
        if b"null" in out:
            _std_dumps(obj)  # orjson writes NaN as null: let stdlib refuse it
        return out

    def loads(data: bytes | str) -> Any:
        """Decode JSON, keeping integers beyond 64 bits exact."""
        raw = data if isinstance(data, bytes) else data.encode()
        # fewer than 19 digits in all: no big integer possible, skip the slower regex
        if len(raw.translate(None, _NOT_DIGITS)) >= 19 and _BIG_INT.search(raw):
            return _std_loads(data)
        return orjson.loads(data)

    JSONDecodeError: type[ValueError] = orjson.JSONDecodeError
    JSON_IMPLEMENTATION = "orjson"
except ImportError:  # pragma: no cover - exercised by the fallback test
    dumps = _std_dumps
    loads = _std_loads
    JSONDecodeError = json.JSONDecodeError
    JSON_IMPLEMENTATION = "json"

try:
    from setproctitle import getproctitle, setproctitle
except ImportError:  # pragma: no cover
    def setproctitle(title: str) -> None:
        """Do nothing: setproctitle is not installed."""

    def getproctitle() -> str:
        return ""

try:  # CPython's C function: no enum round trip (signal.signal costs ~4x in a forked child)
    from _signal import signal as _raw_signal  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover
    from signal import signal as _raw_signal

raw_signal: Callable[[int, Any], Any] = _raw_signal

SIG_DFL = int(signal.SIG_DFL)
SIG_IGN = int(signal.SIG_IGN)
set_title: Callable[[str], None] = setproctitle
get_title: Callable[[], str] = getproctitle
std_dumps = _std_dumps
std_loads = _std_loads

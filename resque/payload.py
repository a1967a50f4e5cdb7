"""The shape of a decoded job payload: ``{"class": NAME, "args": [...]}``."""
from __future__ import annotations

from typing import Any, Iterable, Sequence

from ._accel import decode_payload
from ._compat import dumps
from .errors import PayloadError


def job_class(payload: Any) -> str | None:
    """Return the payload's class name, or None if it has none."""
    name = payload.get("class") if isinstance(payload, dict) else None
    return name if isinstance(name, str) else None


def job_args(payload: Any) -> list[Any]:
    """Return the payload's arguments as Ruby splats them.

    Missing: none; an object: its ``[key, value]`` pairs (Ruby's
    ``*{"a" => 1}``); any other single value: itself.
    """
    args = payload.get("args") if isinstance(payload, dict) else None
    if isinstance(args, list):
        return args
    if isinstance(args, dict):
        return [[k, v] for k, v in args.items()]
    return [] if args is None else [args]


def same_json(a: Any, b: Any) -> bool:
    """Compare decoded JSON by value as Ruby's ``==`` does.

    ``1 == 1.0`` and ``1e+20 == 1.0e+20``, but ``true`` is no number:
    Ruby writes floats differently from Python, so bytes cannot be compared.
    """
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_json(v, b[k]) for k, v in a.items())
    return type(a) is type(b) and a == b


def payload_bytes(payload: Any) -> bytes:
    """Encode a payload back to queue bytes (an undecodable one is kept as text)."""
    return payload.encode("utf-8") if isinstance(payload, str) else dumps(payload)


def dequeue_matches(raws: Iterable[bytes], name: str, args: Sequence[Any]) -> list[bytes]:
    """Return the distinct elements naming job ``name`` (and, given ``args``, equal to them).

    In order of first appearance; a payload that does not decode never matches.
    """
    wanted = list(args)
    found: dict[bytes, None] = {}
    for raw in raws:
        try:
            payload = decode_payload(raw)
        except PayloadError:
            continue
        if payload["class"] == name and (not wanted or same_json(payload["args"], wanted)):
            found[raw] = None
    return list(found)

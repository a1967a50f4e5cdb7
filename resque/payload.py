"""The shape of a decoded job payload: ``{"class": NAME, "args": [...]}``."""
from __future__ import annotations

from typing import Any

from ._compat import dumps


def job_class(payload: Any) -> str | None:
    """Return the payload's class name, or None if it has none."""
    name = payload.get("class") if isinstance(payload, dict) else None
    return name if isinstance(name, str) else None


def job_args(payload: Any) -> list[Any]:
    """Return the payload's arguments as Ruby splats them (missing: none)."""
    args = payload.get("args") if isinstance(payload, dict) else None
    return args if isinstance(args, list) else ([] if args is None else [args])


def payload_bytes(payload: Any) -> bytes:
    """Encode a payload back to queue bytes (an undecodable one is kept as text)."""
    return payload.encode("utf-8") if isinstance(payload, str) else dumps(payload)

"""Read boolean and numeric settings from the environment one way."""
from __future__ import annotations

import os

from .errors import ConfigurationError


def flag(name: str) -> bool:
    """Return True when the variable is set to 1/true/yes/on."""
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def is_set(name: str) -> bool:
    """Return True when the variable is set to anything (Ruby's "any value")."""
    return name in os.environ


def env_float(name: str, default: float | None = None) -> float | None:
    """Return the variable as a float, or ``default`` when unset or empty."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is not a number") from None

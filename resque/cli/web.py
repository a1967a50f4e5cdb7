"""Commands of the resque CLI (web)."""
from __future__ import annotations

from .main import main  # noqa: F401

"""Commands of the resque CLI (work)."""
from __future__ import annotations

from .main import main  # noqa: F401

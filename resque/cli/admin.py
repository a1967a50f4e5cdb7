"""Commands of the resque CLI (admin)."""
from __future__ import annotations

from .main import main  # noqa: F401

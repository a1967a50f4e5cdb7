"""The ``resque`` command line: one click group, commands split by concern."""
from __future__ import annotations

from . import admin, demo, top, web, work  # noqa: F401  (each module attaches its commands)
from .main import main

__all__ = ["main"]

"""The Falcon monitoring front end: ``gunicorn 'resque.web:create_app()'``."""
from __future__ import annotations

from .app import create_app

__all__ = ["create_app"]

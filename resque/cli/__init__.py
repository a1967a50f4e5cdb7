"""The ``resque`` command line: one click group, commands split by concern."""
from __future__ import annotations

from .. import extensions
from . import admin, demo, top, web, work  # noqa: F401  (each module attaches its commands)
from .main import main

for _name, _command in extensions.load(extensions.COMMANDS):
    main.add_command(_command, _name)

__all__ = ["main"]

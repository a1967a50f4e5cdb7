"""Import the application modules that define jobs (``resque work -A``)."""
from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, Iterable

import click

from ..registry import Registry

SETUP_HOOK = "setup_resque_worker"


def load_apps(apps: Iterable[str], registry: Registry, allow: Iterable[str] = ()) -> list[ModuleType]:
    """Import each module or .py file; allow job classes under their packages."""
    registry.allow(*allow)
    modules = []
    for app in apps:
        for item in app.split():
            module = _import(item)
            registry.allow(module.__name__.split(".")[0] + ".")
            modules.append(module)
    return modules


def setup_worker(modules: Iterable[ModuleType], worker: Any) -> None:
    """Let each app module that defines ``setup_resque_worker(worker)`` prepare the worker.

    Called once, in the worker process, before it starts: the place to add
    worker hooks (``worker.hooks.add(...)``) or set a framework up.
    """
    for module in modules:
        setup = getattr(module, SETUP_HOOK, None)
        if callable(setup):
            setup(worker)


def _import(item: str):  # type: ignore[no-untyped-def]
    path = Path(item)
    try:
        if item.endswith(".py") or path.is_file():
            if not path.is_file():
                raise click.ClickException(f"application file {item} does not exist")
            sys.path.insert(0, str(path.resolve().parent))
            return importlib.import_module(path.stem)
        if "" not in sys.path and str(Path.cwd()) not in sys.path:
            sys.path.insert(0, str(Path.cwd()))
        return importlib.import_module(item)
    except ImportError as exc:
        raise click.ClickException(f"cannot import application {item!r}: {exc}") from None

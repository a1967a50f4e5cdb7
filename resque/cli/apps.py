"""Import the application modules that define jobs (``resque work -A``)."""
from __future__ import annotations

import importlib
import logging
import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any, Iterable

import click

from ..registry import Registry

logger = logging.getLogger(__name__)
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


def log_registered(registry: Registry) -> None:
    """Log the job names this worker can run (names in payloads must match)."""
    names = registry.names()
    if names:
        logger.info("Jobs registered: %s", ", ".join(names))
    else:
        logger.warning("No jobs registered: use -A/--app to import the modules that define them")
    if registry.allowed_prefixes:
        logger.info("Job classes importable under: %s", ", ".join(registry.allowed_prefixes))


def module_name_of(path: Path) -> tuple[Path, str]:
    """Return the sys.path entry and dotted name of a .py file inside packages.

    ``src/myapp/plain.py`` with ``src/myapp/__init__.py`` is ``myapp.plain``
    imported from ``src``: the name the application itself uses, so job
    names (``myapp.plain.Report``) match what it enqueues.
    """
    path = path.resolve()
    parts = [path.stem] if path.name != "__init__.py" else []
    folder = path.parent
    while (folder / "__init__.py").is_file() and folder.parent != folder:
        parts.insert(0, folder.name)
        folder = folder.parent
    return folder, ".".join(parts)


def _import(item: str) -> ModuleType:
    path = Path(item)
    try:
        if item.endswith(".py") or path.is_file():
            if not path.is_file():
                raise click.ClickException(f"application file {item} does not exist")
            root, name = module_name_of(path)
            sys.path.insert(0, str(root))
            return importlib.import_module(name)
        if "" not in sys.path and str(Path.cwd()) not in sys.path:
            sys.path.insert(0, str(Path.cwd()))
        return importlib.import_module(item)
    except ImportError as exc:
        raise click.ClickException(f"cannot import application {item!r}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - the user's module failed: say where, in one line
        where = traceback.extract_tb(exc.__traceback__)[-1]
        raise click.ClickException(
            f"application {item!r} raised {type(exc).__name__}: {exc} "
            f"({where.filename}, line {where.lineno})") from None

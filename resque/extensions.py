"""Find plugins through entry points, as Ruby's ecosystem finds them by require.

The core never imports a plugin by name. A plugin package declares what it
adds in the ``[project.entry-points]`` table of its distribution:

- ``resque.commands``: a click command or group added to ``resque``;
- ``resque.web``: a callable taking a ``resque.web.extend.WebExtension``
  that adds pages and tabs to the web UI;
- ``resque.failure_backends``: a callable taking a ``resque.store.Store``
  and returning a failure backend, chosen by ``FAILURE_BACKEND=<name>``;
- ``resque.failed_columns``: a callable taking the client and a list of
  failures and returning one text per failure, shown by
  ``resque failed list`` in a column named after the entry point;
- ``resque.api``: a module whose import gives ``Resque`` and ``@resque.job``
  functions its methods (``client.add_client_methods``/``add_job_methods``)
  and whose ``__all__`` names become functions of the ``resque`` package,
  as Ruby's plugins extend ``Resque``. These load on first use: the first
  such attribute looked up, or the first function decorated with ``@job``.
"""
from __future__ import annotations

import logging
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Iterable

logger = logging.getLogger(__name__)

COMMANDS = "resque.commands"
WEB = "resque.web"
FAILURE_BACKENDS = "resque.failure_backends"
FAILED_COLUMNS = "resque.failed_columns"
API = "resque.api"

_api: list[Any] | None = None


def load(group: str, found: Iterable[EntryPoint] | None = None) -> list[tuple[str, Any]]:
    """Return ``(name, object)`` of each entry point in ``group``, by name.

    A plugin that fails to import is logged and left out, so a broken
    plugin cannot take the worker or the web UI down with it.
    """
    points = sorted(entry_points(group=group) if found is None else found, key=lambda e: e.name)
    loaded: list[tuple[str, Any]] = []
    for point in points:
        try:
            loaded.append((point.name, point.load()))
        except Exception as exc:  # noqa: BLE001 - a plugin's import error stays its own
            logger.warning("Plugin %s (%s) failed to load: %s: %s",
                           point.name, point.value, type(exc).__name__, exc)
    return loaded


def api_modules() -> list[Any]:
    """Import the ``resque.api`` plugins (once per process); return their modules."""
    global _api
    if _api is None:
        _api = []  # first: a plugin that looks up resque attributes while loading sees no loop
        _api.extend(module for _, module in load(API))
    return _api


def api_loaded() -> bool:
    """Tell whether the ``resque.api`` plugins were imported already."""
    return _api is not None

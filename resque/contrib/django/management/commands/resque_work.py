"""``python manage.py resque_work``: ``resque work`` in this project, set up for Django.

Takes the options of ``resque work``. The Redis URL and namespace come
from the ``ResqueBackend`` in ``TASKS`` (``OPTIONS``: ``REDIS_URL``,
``NAMESPACE``) when set there, and the queues default to its ``QUEUES``
in the order given.
"""
from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from resque.cli import main

_BACKEND = "resque.contrib.django.ResqueBackend"


def _command_line(args: list[str]) -> list[str]:
    """Return the ``resque`` arguments for ``resque_work ARGS``."""
    tasks: dict[str, Any] = getattr(settings, "TASKS", {}) or {}
    config: dict[str, Any] = next((c for c in tasks.values() if c.get("BACKEND") == _BACKEND), {})
    options = config.get("OPTIONS", {})
    line = []
    if options.get("REDIS_URL"):
        line += ["--redis", str(options["REDIS_URL"])]
    if options.get("NAMESPACE"):
        line += ["--namespace", str(options["NAMESPACE"])]
    line += ["work", "-A", "resque.contrib.django", *args]
    given = any(a in ("-q", "--queues") or a.startswith("--queues=") for a in args)
    if not given and not os.environ.get("QUEUES") and not os.environ.get("QUEUE"):
        line += ["--queues", ",".join(config.get("QUEUES", ["default"]))]
    return line


class Command(BaseCommand):
    help = "Run a resque worker for this project's tasks (takes the options of `resque work`)."

    def run_from_argv(self, argv: list[str]) -> None:
        """Hand every argument to ``resque work`` (Django has parsed --settings)."""
        prog = f"{os.path.basename(argv[0])} {argv[1]}"
        main.main(args=_command_line(argv[2:]), prog_name=prog)

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("args", nargs="*", help="options of `resque work`")

    def handle(self, *args: str, **options: Any) -> None:
        """Run from ``call_command("resque_work", "--interval", "0")``."""
        main.main(args=_command_line(list(args)), prog_name="resque_work", standalone_mode=False)

"""A small plugin used by the extension-point tests: a command, a page, a job option."""
from __future__ import annotations

from typing import Any

import click
import falcon

from resque.registry import JobSpec
from resque.web.extend import WebExtension


@click.command()
def hello() -> None:
    """Say hello from a plugin."""
    click.echo("hello from a plugin")


class Hello:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.text = "plugin page"

    def on_get_api(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"plugin": True}


def install(ext: WebExtension) -> None:
    ext.add_page("/hello", Hello())
    ext.add_tab("hello", "Hello")


class Trace:
    """A job option that records each perform's arguments through hooks."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, tuple[Any, ...]]] = []

    def attach(self, spec: JobSpec) -> None:
        spec.add_hook("before_perform", lambda *args: self.seen.append(("before", args)))
        spec.add_hook("around_perform", self._around, first=True)
        spec.add_hook("on_failure", lambda exc, *args: self.seen.append(("failed", (str(exc),))))

    def _around(self, *args: Any) -> None:
        *job_args, inner = args
        self.seen.append(("around", tuple(job_args)))
        inner()

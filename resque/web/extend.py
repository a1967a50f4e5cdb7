"""What a plugin gets to add pages and tabs to the web UI."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import falcon
from jinja2 import PackageLoader

from ..client import Resque
from .render import Renderer


@dataclass(frozen=True)
class WebExtension:
    """The app being built, its client and its renderer, with helpers."""

    app: "falcon.App[falcon.Request, falcon.Response]"
    client: Resque
    out: Renderer

    def add_page(self, path: str, resource: Any) -> None:
        """Route ``path`` to ``resource`` and ``/api`` + ``path`` to its ``*_api`` responders."""
        self.app.add_route(path, resource)
        self.app.add_route("/api" + path, resource, suffix="api")

    def add_tab(self, key: str, label: str) -> None:
        """Show a top-level tab linking to ``/<key>`` (pages set ``tab = key``)."""
        if all(k != key for k, _ in self.out.tabs):
            self.out.tabs.append((key, label))

    def add_templates(self, package: str, path: str = "templates") -> None:
        """Load templates from a plugin package too (name them to avoid clashes)."""
        self.out.add_loader(PackageLoader(package, path))

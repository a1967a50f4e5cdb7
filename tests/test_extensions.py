"""Extension points: plugins add commands, web pages, client methods and job options."""
from __future__ import annotations

import logging
from importlib.metadata import EntryPoint

import click
import pytest
from click.testing import CliRunner
from falcon import testing

import resque
from resque import Registry, Resque, extensions
from resque.client import add_client_methods, add_job_methods, job
from resque.web import create_app
from tests import plugin_sample


def _point(name: str, value: str, group: str) -> EntryPoint:
    return EntryPoint(name, value, group)


def test_load_returns_plugins_by_name_and_skips_a_broken_one(caplog):
    points = [_point("zz", "tests.plugin_sample:hello", extensions.COMMANDS),
              _point("broken", "tests.no_such_module:thing", extensions.COMMANDS)]
    with caplog.at_level(logging.WARNING, logger="resque.extensions"):
        loaded = extensions.load(extensions.COMMANDS, points)
    assert loaded == [("zz", plugin_sample.hello)]
    assert "Plugin broken (tests.no_such_module:thing) failed to load" in caplog.text


def test_a_loaded_command_runs_under_a_group():
    group = click.Group("resque")
    for name, command in extensions.load(
            extensions.COMMANDS, [_point("hello", "tests.plugin_sample:hello", extensions.COMMANDS)]):
        group.add_command(command, name)
    result = CliRunner().invoke(group, ["hello"])
    assert result.exit_code == 0 and result.output == "hello from a plugin\n"


def test_a_web_plugin_adds_a_page_its_api_twin_and_a_tab(client):
    loaded = extensions.load(extensions.WEB,
                             [_point("hello", "tests.plugin_sample:install", extensions.WEB)])
    web = testing.TestClient(create_app(client, plugins=[install for _, install in loaded]))
    assert web.simulate_get("/hello").text == "plugin page"
    assert web.simulate_get("/api/hello").json == {"plugin": True}
    assert '<a href="/hello">Hello</a>' in web.simulate_get("/overview").text


def test_job_option_hooks_run_in_order_around_perform(client):
    trace = plugin_sample.Trace()
    reg = Registry()

    @job(queue="q", name="Traced", registry=reg, trace=trace)
    def traced(x):
        if x == "boom":
            raise ValueError("boom")

    spec = reg.resolve("Traced")
    assert spec.options["trace"] is trace
    resque.Job("q", {"class": "Traced", "args": [1]}).perform(reg)
    with pytest.raises(ValueError):
        resque.Job("q", {"class": "Traced", "args": ["boom"]}).perform(reg)
    assert trace.seen == [("before", (1,)), ("around", (1,)),
                          ("before", ("boom",)), ("around", ("boom",)), ("failed", ("boom",))]


def test_job_rejects_an_option_that_is_not_a_plugin():
    with pytest.raises(TypeError, match="job option retry=5 is not a job plugin"):
        job(queue="q", retry=5)


def test_plugins_add_client_methods_and_methods_of_decorated_jobs(client):
    def pending_twice(self: Resque, queue: str) -> int:
        return 2 * self.size(queue)

    add_client_methods(pending_twice=pending_twice)
    add_job_methods(enqueue_twice=lambda target: lambda *a: [target.enqueue(*a) for _ in "ab"])
    try:
        add_client_methods(pending_twice=pending_twice)  # the same function again: fine
        with pytest.raises(ValueError, match="already has an attribute 'size'"):
            add_client_methods(size=pending_twice)
        resque.set_client(client)

        @job(queue="twice", name="Twice", registry=Registry())
        def twice(x):
            pass

        twice.enqueue_twice(7)
        assert client.pending_twice("twice") == 4  # type: ignore[attr-defined]
    finally:
        resque.set_client(None)
        del Resque.pending_twice  # type: ignore[attr-defined]
        from resque import client as client_module
        client_module._JOB_METHODS.pop("enqueue_twice")


PLUGINS = ("aio", "contrib", "plugins", "pool", "scheduler", "testing")


def test_the_core_names_no_plugin_package():
    """The core (resque/*.py, failure/, web/, cli/) imports no plugin; entry points find them."""
    import ast
    from pathlib import Path

    root = Path(resque.__file__).parent
    core = [*root.glob("*.py"), *(p for d in ("failure", "web", "cli") for p in (root / d).rglob("*.py"))]
    found = []
    for path in core:
        depth = len(path.relative_to(root).parts) - 1  # how many dots reach the package
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] if node.level in (0, depth + 1) else []
                if node.level == 0:
                    names = [(node.module or "").removeprefix("resque.")]
                names += [f"{node.module}.{a.name}" if node.module else a.name for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name.removeprefix("resque.") for a in node.names if a.name.startswith("resque.")]
            else:
                continue
            if any(n.split(".")[0] in PLUGINS for n in names):
                found.append(f"{path.relative_to(root)}:{node.lineno}")
    assert len(core) > 40 and found == []


def test_package_functions_and_client_methods_of_plugins_load_on_first_use(redis_url):
    import subprocess
    import sys

    code = ("import sys, resque\n"
            "before = 'resque.scheduler.api' in sys.modules\n"
            "c = resque.Resque(sys.argv[1])\n"
            "c.enqueue_in_with_queue('later', 60, 'Later', 1)\n"
            "print(before, 'resque.scheduler.api' in sys.modules, resque.delayed_queue_schedule_size is not None,"
            " c.delayed_queue_schedule_size())\n")
    out = subprocess.run([sys.executable, "-c", code, redis_url], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True", "True", "1"]

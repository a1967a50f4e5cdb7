"""``resque delayed ...`` and ``resque schedule ...`` against a real Redis."""
from __future__ import annotations

import json
import time
from typing import Any

import pytest
from click.testing import CliRunner

from resque.cli import main
from tests.test_scheduler_web import ruby_delayed


@pytest.fixture
def cli(r: Any, redis_url: str, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.delenv("RESQUE_SCHEDULE", raising=False)
    runner = CliRunner()

    def run(*args: str, code: int = 0, input: str | None = None):  # type: ignore[no-untyped-def]
        result = runner.invoke(main, ["-r", redis_url, *args], input=input, catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result

    return run


def test_delayed_list_and_show_as_tables_and_json(cli, r) -> None:  # type: ignore[no-untyped-def]
    t = int(time.time()) + 3600
    ruby_delayed(r, t, b'{"class":"SomeJob","args":[1],"queue":"smoke_q"}')
    ruby_delayed(r, t + 1, b'{"class":"A","args":[],"queue":"q"}', b'{"class":"B","args":[{"k":"v"}],"queue":"q"}')
    out = cli("delayed", "list").output
    assert "TIMESTAMP" in out and str(t) in out and "SomeJob" in out and "(several)" in out
    data = json.loads(cli("delayed", "list", "--json").output)
    assert [s["size"] for s in data["seconds"]] == [1, 2]
    shown = cli("delayed", "show", str(t + 1)).output
    assert "B" in shown and '{"k": "v"}' in shown
    items = json.loads(cli("delayed", "show", str(t + 1), "--json", "--start", "1").output)["items"]
    assert [i["class"] for i in items] == ["B"]
    assert "No delayed jobs" in cli("delayed", "show", "123").output


def test_delayed_remove_by_class_or_exact_args(cli, r) -> None:  # type: ignore[no-untyped-def]
    t = int(time.time()) + 3600
    ruby_delayed(r, t, b'{"class":"A","args":[1],"queue":"q"}', b'{"class":"A","args":[2],"queue":"q"}',
                 b'{"class":"B","args":[1],"queue":"q"}')
    assert "Removed 1" in cli("delayed", "remove", "A", "--args", "[1]", "--queue", "q").output
    assert json.loads(cli("delayed", "remove", "A", "--json").output) == {"removed": 1}
    assert r.lrange(f"resque:delayed:{t}", 0, -1) == [b'{"class":"B","args":[1],"queue":"q"}']
    cli("delayed", "remove", "A", "--args", "{bad", code=2)


def test_delayed_enqueue_now_by_second_or_class(cli, r) -> None:  # type: ignore[no-untyped-def]
    t = int(time.time()) + 3600
    ruby_delayed(r, t, b'{"class":"A","args":[1],"queue":"q"}', b'{"class":"A","args":[2],"queue":"q"}')
    ruby_delayed(r, t + 5, b'{"class":"B","args":[3],"queue":"q"}')
    assert "Enqueued 2" in cli("delayed", "enqueue-now", str(t)).output
    assert json.loads(cli("delayed", "enqueue-now", "--class", "B", "--json").output) == {"enqueued": 1}
    assert r.llen("resque:queue:q") == 3 and not r.exists(f"resque:delayed:{t}")
    cli("delayed", "enqueue-now", code=2)


def test_delayed_clear_asks_first(cli, r) -> None:  # type: ignore[no-untyped-def]
    ruby_delayed(r, int(time.time()) + 3600, b'{"class":"A","args":[1],"queue":"q"}')
    cli("delayed", "clear", input="n\n", code=1)
    assert r.exists("resque:delayed_queue_schedule")
    assert "Cleared 1" in cli("delayed", "clear", "--yes").output
    assert not r.keys("resque:*delayed*")


def test_schedule_set_list_enqueue_remove(cli, r, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cli("schedule", "set", "nightly", '{"cron": "30 2 * * *", "class": "SomeJob", "queue": "q", "args": [1]}')
    cli("schedule", "set", "bad", '{"cron": "nope", "class": "X"}', code=1)
    static = tmp_path / "s.yml"
    static.write_text("hourly:\n  cron: '@hourly'\n  class: Py::Only\n  queue: pyq\n")
    out = cli("schedule", "list", "--schedule", str(static)).output
    assert "nightly" in out and "dynamic" in out and "hourly" in out and "static" in out
    assert "master: none" in out
    entries = json.loads(cli("schedule", "list", "--json").output)["entries"]
    assert [e["name"] for e in entries] == ["nightly"] and entries[0]["next_run"] > time.time()
    assert "Enqueued SomeJob" in cli("schedule", "enqueue", "nightly").output
    cli("schedule", "enqueue", "hourly", "--schedule", str(static))
    assert r.lrange("resque:queue:q", 0, -1) == [b'{"class":"SomeJob","args":[1]}']
    assert r.llen("resque:queue:pyq") == 1
    cli("schedule", "enqueue", "nope", code=1)
    assert "Removed nightly" in cli("schedule", "remove", "nightly").output
    cli("schedule", "remove", "nightly", code=1)

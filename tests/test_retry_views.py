"""Waiting retries on the Retry tab, in ``resque retry`` and in ``resque failed list``."""
from __future__ import annotations

import json
import time
from typing import Any

import pytest
from click.testing import CliRunner

import resque
from resque import Resque
from resque.cli import main
from resque.plugins.retry_web import install
from resque.plugins.suppression import MultipleWithRetrySuppression
from resque.failure import RedisFailure
from resque.web import create_app
from resque.worker import Worker, WorkerOptions
from tests import retry_jobs as jobs
from tests.test_scheduler_web import ruby_delayed
from tests.web_helpers import Web, form_fields, text_of

RKEY = "resque:resque-retry:RetryJob:26d3f710529ac748260e0cbeb4d5b6dc15d5466b"
FKEY = "resque:failure-resque-retry:RetryJob:26d3f710529ac748260e0cbeb4d5b6dc15d5466b"
ITEM = b'{"class":"RetryJob","args":[1,"two"],"queue":"retry_q"}'
RUBY_FAILURE = {"failed_at": "2026/12/02 06:23:55", "payload": {"class": "RetryJob", "args": [1, "two"]},
                "exception": "ArgumentError", "error": 'boom [1, "two"]',
                "backtrace": [".../smoke.rb:58:in `perform'"], "worker": "vm:1654:retry_q",
                "queue": "retry_q"}


def ruby_retry(r: Any, ts: int) -> None:
    """Leave what resque-retry leaves after RetryJob's first failed attempt (reference 8)."""
    ruby_delayed(r, ts, ITEM)
    r.set(RKEY, 0)
    r.set(FKEY, json.dumps(RUBY_FAILURE, separators=(",", ":")), ex=10)


@pytest.fixture
def web(r: Any, redis_server: Any, monkeypatch: pytest.MonkeyPatch) -> Web:
    monkeypatch.delenv("RESQUE_WEB_USER", raising=False)
    monkeypatch.delenv("RESQUE_WEB_PASSWORD", raising=False)
    client = Resque(redis_server.url, registry=jobs.REGISTRY)
    return Web(create_app(client, user="", password="", plugins=[install]))


@pytest.fixture
def cli(r: Any, redis_url: str):  # type: ignore[no-untyped-def]
    runner = CliRunner()

    def run(*args: str, code: int = 0):  # type: ignore[no-untyped-def]
        result = runner.invoke(main, ["-r", redis_url, *args], catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result

    return run


def test_retry_tab_shows_a_ruby_retry_with_its_attempt_and_last_error(web: Web, r: Any) -> None:
    t = int(time.time()) + 600
    ruby_retry(r, t)
    ruby_delayed(r, t + 5, b'{"class":"Plain","args":[],"queue":"q"}')  # no counter: not a retry
    html = web.get("/retry").text
    page = text_of(html)
    assert "RetryJob" in page and "ArgumentError" in page and 'boom [1, "two"]' in page
    assert "Plain" not in page
    assert 'href="/retry"' in web.get("/overview").text
    [row] = web.get("/api/retry").json["retries"]
    assert (row["class"], row["args"], row["attempt"], row["queue"], row["at"]) == \
        ("RetryJob", [1, "two"], 0, "retry_q", t)
    assert row["failure"]["exception"] == "ArgumentError"


def test_remove_cancels_the_delayed_copy_the_counter_and_the_last_failure(web: Web, r: Any) -> None:
    t = int(time.time()) + 600
    ruby_retry(r, t)
    [form] = form_fields(web.get("/retry").text, "remove")
    resp = web.post("/retry", form)
    assert resp.status_code == 303 and resp.headers["location"].endswith("/retry?removed=1")
    assert not r.exists(RKEY, FKEY, f"resque:delayed:{t}")
    assert "Removed 1 waiting retry" in text_of(web.get("/retry?removed=1").text)


def test_retry_tab_lists_a_python_retry_made_by_the_worker(web: Web, r: Any, redis_url: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESQUE_REDIS_URL", redis_url)
    monkeypatch.setattr(jobs, "_conn", None)
    client = Resque(redis_url, registry=jobs.REGISTRY)
    client.failure = MultipleWithRetrySuppression([RedisFailure(client.store)], client.store)
    resque.set_client(client)
    try:
        client.enqueue(jobs.retry_job, 1, "two")
        Worker("retry_q", client, WorkerOptions(interval=0, fork=False)).work()
    finally:
        resque.set_client(None)
    [row] = web.get("/api/retry").json["retries"]
    assert row["attempt"] == 0 and row["failure"]["error"] == "boom [1, 'two']"


def test_retry_list_and_remove_on_the_command_line(cli: Any, r: Any) -> None:
    t = int(time.time()) + 600
    ruby_retry(r, t)
    out = cli("retry", "list").output
    assert "RetryJob" in out and "ArgumentError" in out and "FAILED RUNS" in out
    data = json.loads(cli("retry", "list", "--json").output)
    assert data["retries"][0]["retry_key"] == RKEY[len("resque:"):]
    assert "Removed 0" in cli("retry", "remove", "RetryJob", '[2,"two"]').output
    assert "Removed 1" in cli("retry", "remove", "RetryJob", '[1,"two"]').output
    assert not r.exists(RKEY, FKEY)
    assert "No retries are waiting" in cli("retry", "list").output
    cli("retry", "remove", "RetryJob", "{", code=2)


def test_failed_list_says_which_failed_jobs_are_being_retried(cli: Any, r: Any) -> None:
    record = dict(RUBY_FAILURE, failed_at="2026/12/02 06:23:55 UTC")
    r.rpush("resque:failed", json.dumps(record), json.dumps(dict(record, payload={"class": "X", "args": []})))
    r.set(RKEY, 1)
    out = cli("failed", "list").output
    assert "RETRY" in out and "retrying (2 failed)" in out
    rows = json.loads(cli("failed", "list", "--json").output)
    assert [row["retry"] for row in rows] == ["retrying (2 failed)", ""]

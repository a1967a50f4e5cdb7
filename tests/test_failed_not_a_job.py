"""Queue elements that were not jobs show as such on the failed page and in ``resque failed``.

They show a "not a job" label and their original bytes, escaped; Retry,
Remove and Retry all act on them without errors and push back exactly the
original bytes, never a made-up ``{"class":"","args":[]}``.
"""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from resque import Registry, Resque
from resque._compat import dumps
from resque.cli import main
from resque.worker import Worker, WorkerOptions
from tests.web_helpers import Web, form_fields, no_auth_env, shared_app, text_of  # noqa: F401

ELEMENTS = [b"null", b"{not json}", b"\xff\xfe<script>x</script>", b'{"args":[]}', b'[1,"\\u0000"]']
LEGACY = {"failed_at": "2024/05/01 12:34:56 UTC", "payload": None, "exception": "Resque::PayloadError",
          "error": "not a job", "backtrace": [], "worker": "old:1:u", "queue": "u"}


@pytest.fixture
def odd(r, saved_signals):
    """Drain the elements with a real worker; add a record an older version wrote (payload null)."""
    client = Resque(r, registry=Registry())
    for e in ELEMENTS:
        client.store.push("u", e)
    Worker(["u"], client, WorkerOptions(interval=0, fork=False)).work()
    r.rpush("resque:failed", dumps(LEGACY))
    assert r.llen("resque:failed") == len(ELEMENTS) + 1
    return client


def pushed(r) -> list[bytes]:
    return r.lrange("resque:queue:u", 0, -1)


def test_failed_page_labels_each_element_and_shows_its_bytes_escaped(r, odd, shared_app):
    res = Web(shared_app).get("/failed")
    assert res.status_code == 200
    assert res.text.count('class="badge not-a-job"') == len(ELEMENTS) + 1
    assert "\\xff\\xfe&lt;script&gt;x&lt;/script&gt;" in res.text  # escaped twice over: bytes, HTML
    assert "<script>x" not in res.text
    assert "{not json}" in res.text and '{&#34;args&#34;:[]}' in res.text
    assert "UndecodablePayload" not in text_of(res.text)


def test_retry_and_remove_each_one_from_the_page(r, odd, shared_app):
    web = Web(shared_app)
    for fields in form_fields(web.get("/failed").text, "retry"):
        assert web.post("/failed", fields).status_code == 303
    assert sorted(pushed(r)) == sorted([*ELEMENTS, b"null"])
    assert b'{"class":"","args":[]}' not in pushed(r)
    records = [json.loads(x) for x in r.lrange("resque:failed", 0, -1)]
    assert all("retried_at" in x for x in records)
    for fields in form_fields(web.get("/failed").text, "remove"):
        assert web.post("/failed", fields).status_code == 303
    assert r.llen("resque:failed") == 0


def test_retry_all_and_filtered_retry_all_push_the_original_bytes(r, odd, shared_app):
    web = Web(shared_app)
    assert web.post("/failed", {"action": "retry_all", "queue": "u"}).status_code == 303
    assert sorted(pushed(r)) == sorted([*ELEMENTS, b"null"])
    r.delete("resque:queue:u")
    assert web.post("/failed", {"action": "retry_all"}).status_code == 303
    assert sorted(pushed(r)) == sorted([*ELEMENTS, b"null"])


def test_cli_lists_shows_and_retries_them(r, odd, redis_url, monkeypatch):
    monkeypatch.delenv("FAILURE_BACKEND", raising=False)

    def run(*args):
        result = CliRunner().invoke(main, ["-r", redis_url, *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.stdout

    listing = run("failed", "list")
    assert listing.count("(not a job)") == len(ELEMENTS) + 1
    rows = json.loads(run("failed", "list", "--json"))
    assert all(row["not_a_job"] for row in rows)
    assert {row["original"] for row in rows} == {"null", "{not json}", "\\xff\\xfe<script>x</script>",
                                                  '{"args":[]}', '[1,"\\u0000"]'}
    bad = next(row for row in rows if row["original"].startswith("\\xff"))
    shown = run("failed", "show", bad["id"])
    assert "original:" in shown and "(not a job) \\xff\\xfe<script>x</script>" in shown
    run("failed", "retry", bad["id"])
    assert pushed(r) == [b"\xff\xfe<script>x</script>"]

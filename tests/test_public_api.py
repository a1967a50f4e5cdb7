"""Small public API: performing a reserved job, and Ruby's ``Failure.create``."""
from __future__ import annotations

import json

import pytest

import resque
from resque import Registry, Resque


@pytest.fixture
def default_client(r):
    previous = resque.set_client(Resque(r, registry=resque.default_registry))
    yield resque.get_client()
    resque.set_client(previous)


def test_a_reserved_job_performs_without_a_registry_argument(r, default_client):
    seen = []

    @resque.job(queue="api_q", name="Api::Seen")
    def remember(x: int) -> None:
        seen.append(x)

    resque.enqueue_to("api_q", "Api::Seen", 7)
    assert resque.reserve("api_q").perform() is True
    assert seen == [7]


def test_a_job_reserved_through_a_client_resolves_in_that_clients_registry(r):
    reg, seen = Registry(), []
    resque.job(queue="own", name="Own::Job", registry=reg)(lambda x: seen.append(x))
    client = Resque(r, registry=reg)
    client.enqueue_to("own", "Own::Job", "mine")
    assert client.reserve("own").perform() is True
    assert seen == ["mine"]


def test_create_failure_writes_a_ruby_failure_record_and_leaves_the_counters(r, default_client):
    try:
        raise ValueError("card declined")
    except ValueError as exc:
        raw = resque.create_failure(exc, payload={"class": "Pay", "args": [1]}, queue="billing",
                                    worker="host:12:billing")
    [stored] = r.lrange("resque:failed", 0, -1)
    assert stored == raw
    record = json.loads(raw)
    assert list(record) == ["failed_at", "payload", "exception", "error", "backtrace", "worker", "queue"]
    assert (record["exception"], record["error"], record["queue"], record["worker"]) == (
        "ValueError", "card declined", "billing", "host:12:billing")
    assert record["payload"] == {"class": "Pay", "args": [1]}
    assert record["backtrace"] and "test_public_api.py" in record["backtrace"][0]
    assert r.get("resque:stat:failed") is None
    assert default_client.failure.count() == 1

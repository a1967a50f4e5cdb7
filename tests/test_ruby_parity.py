"""What Ruby Resque does, done the same here: dequeue by value, ``::Foo``, hash args, zone names."""
from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest

from resque import Registry, Resque, default_registry
from resque import _accel
from resque.keys import parse_time
from resque.payload import job_args
from resque.worker import Worker, WorkerOptions
from tests import jobs

UTC_NOON = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc).timestamp()


# -- dequeue matches by value -------------------------------------------------------------


def test_dequeue_removes_a_job_ruby_wrote_with_floats_in_its_own_notation(client, r):
    r.sadd("resque:queues", "q")
    r.rpush("resque:queue:q", b'{"class":"Archive","args":[1.0e+20,2.5,"x"]}',
            b'{"class":"Archive","args":[1.0e+20,2.5,"y"]}')
    assert client.dequeue("Archive", 1e20, 2.5, "x", queue="q") == 1
    assert r.lrange("resque:queue:q", 0, -1) == [b'{"class":"Archive","args":[1.0e+20,2.5,"y"]}']


def test_dequeue_by_value_keeps_true_and_one_apart(client, r):
    r.rpush("resque:queue:q", b'{"class":"A","args":[true]}', b'{"class":"A","args":[1.0]}')
    assert client.dequeue("A", 1, queue="q") == 1
    assert r.lrange("resque:queue:q", 0, -1) == [b'{"class":"A","args":[true]}']


def test_dequeue_scans_a_long_queue_in_chunks_and_removes_every_copy(client, r):
    keep, drop = b'{"class":"A","args":[1]}', b'{"class":"A","args":[2.0]}'
    r.rpush("resque:queue:q", *([keep] * 999 + [drop] + [keep] * 1500 + [drop]))
    assert client.dequeue("A", 2, queue="q") == 2
    assert r.llen("resque:queue:q") == 2499 and drop not in r.lrange("resque:queue:q", 0, -1)


# -- class names with a leading :: ---------------------------------------------------------


def test_a_leading_double_colon_names_the_top_level_class():
    reg = Registry()
    reg.register(type("Archive", (), {"perform": staticmethod(lambda: None)}), "Archive")
    reg.register(type("Deliver", (), {"perform": staticmethod(lambda: None)}), "Mail::Deliver")
    assert reg.resolve("::Archive").name == "Archive"
    assert reg.resolve("::Mail::Deliver").name == "Mail::Deliver"


@pytest.fixture
def worker_env(redis_url, monkeypatch, impl, saved_signals):
    monkeypatch.setenv("RESQUE_REDIS_URL", redis_url)
    monkeypatch.setattr(jobs, "_conn", None)
    monkeypatch.setattr(_accel, "run_loop", impl.run_loop)
    return impl


def test_a_worker_runs_ruby_payloads_with_double_colon_names_and_hash_args(worker_env, r):
    r.sadd("resque:queues", "high")
    r.rpush("resque:queue:high", b'{"class":"::Record","args":["top"]}',
            b'{"class":"Record","args":{"a":1,"b":[2]}}')
    Worker("high", Resque(r, registry=default_registry), WorkerOptions(interval=0, fork=False)).work()
    assert r.llen("resque:failed") == 0, r.lrange("resque:failed", 0, -1)
    assert r.lrange("test:log", 0, -1) == [b"record|top", b"record|['a', 1]|['b', [2]]"]


# -- args that are a JSON object are splatted into pairs, as Ruby does ---------------------


def test_hash_args_decode_into_key_value_pairs_in_both_implementations(impl):
    payload = impl.decode_payload(b'{"class":"X","args":{"a":1,"b":[2]}}')
    assert payload["args"] == [["a", 1], ["b", [2]]]
    assert job_args({"class": "X", "args": {"a": 1}}) == [["a", 1]]
    assert impl.decode_payload(b'{"class":"X","args":"one"}')["args"] == ["one"]


# -- failed_at zone abbreviations read as Ruby reads them ----------------------------------


@pytest.fixture(params=["UTC", "Asia/Tokyo", "America/New_York"])
def local_zone(request, monkeypatch):
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield request.param
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize("zone, hours_east", [
    ("UTC", 0), ("GMT", 0), ("IST", 5.5), ("CET", 1), ("CEST", 2), ("EST", -5), ("PDT", -7),
    ("JST", 9), ("AEST", 10), ("+05:30", 5.5), ("-0330", -3.5), ("GMT+2", 2),
])
def test_failed_at_zone_names_are_read_with_rubys_table(local_zone, zone, hours_east):
    assert parse_time(f"2024/05/01 12:00:00 {zone}") == UTC_NOON - hours_east * 3600


def test_an_unknown_zone_name_is_local_time_as_in_ruby(local_zone):
    expected = datetime(2024, 5, 1, 12, 0).astimezone().timestamp()
    assert parse_time("2024/05/01 12:00:00 XYZT") == expected

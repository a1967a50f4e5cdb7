"""Retries as resque-retry 1.8 makes them: attempts, delays, keys and decisions.

Jobs come from ``tests.retry_jobs``; a worker in this process runs them
(``drain``), on each hot-loop implementation where the loop matters.
"""
from __future__ import annotations

import json
import time

import pytest

import resque
from resque import _accel
from resque.errors import ConfigurationError
from resque.failure import RedisFailure, backend_from_env
from resque.plugins import ExponentialBackoff, Retry
from resque.plugins.retry import decision_of
from resque.plugins.suppression import MultipleWithRetrySuppression
from resque.scheduler import handle_delayed_items
from resque.worker import Worker, WorkerOptions
from tests import retry_jobs as jobs
from tests.plugin_fixtures import rc  # noqa: F401 - the fixture
from tests.monitor import Monitor

RKEY = "resque:resque-retry:RetryJob:26d3f710529ac748260e0cbeb4d5b6dc15d5466b"
ITEM = b'{"class":"RetryJob","args":[1,"two"],"queue":"retry_q"}'


@pytest.fixture
def suppressed(rc):
    rc.failure = MultipleWithRetrySuppression([RedisFailure(rc.store)], rc.store)
    return rc


def drain(client, queues, fork=False):
    """Work the queues off in this process (interval 0); return jobs done."""
    return Worker(queues, client, WorkerOptions(interval=0, fork=fork)).work()


def failures(r, key="resque:failed"):
    return [json.loads(x) for x in r.lrange(key, 0, -1)]


def plugin_words(wire, *prefixes):
    """The commands of a MONITOR capture that touch keys starting with ``prefixes``."""
    out = []
    for words in wire.words():
        if len(words) > 1 and words[1].decode("utf-8", "replace").startswith(prefixes):
            out.append([w.decode("utf-8", "replace") for w in words])
    return out


# -- the reference's observed run (sections 7.6 and 8) ---------------------------------

def test_retry_job_runs_three_times_then_lands_once_in_the_failed_list(suppressed, r, redis_server):
    rc = suppressed
    rc.enqueue(jobs.retry_job, 1, "two")
    with Monitor(str(redis_server.socket)) as wire:
        before = int(time.time())
        drain(rc, "retry_q")
    after = int(time.time())
    words = plugin_words(wire, "resque:resque-retry", "resque:failure-", "resque:delayed",
                         "resque:timestamps")
    ts = words[3][1].rsplit(":", 1)[1]
    assert before + 5 <= int(ts) <= after + 5
    fkey = "resque:failure-" + RKEY[len("resque:"):]
    assert [w[:2] + w[2:3] for w in words] == [
        ["SETNX", RKEY, "-1"], ["INCR", RKEY], ["SETNX", RKEY, "-1"],
        ["RPUSH", f"resque:delayed:{ts}", ITEM.decode()],
        ["SADD", "resque:timestamps:" + ITEM.decode(), f"delayed:{ts}"],
        ["ZADD", "resque:delayed_queue_schedule", ts],
        ["SETEX", fkey, "10"],
    ]
    suppressed_failure = json.loads(r.get(fkey))
    assert list(suppressed_failure) == ["failed_at", "payload", "exception", "error", "backtrace",
                                        "worker", "queue"]
    assert suppressed_failure["payload"] == {"class": "RetryJob", "args": [1, "two"]}
    assert suppressed_failure["error"] == "boom [1, 'two']"
    assert len(suppressed_failure["failed_at"]) == 19  # local time, no zone
    assert 0 < r.ttl(fkey) <= 10
    assert r.get(RKEY) == b"0" and r.llen("resque:failed") == 0
    assert r.get("resque:stat:failed") == b"1"

    for attempt in (1, 2):
        assert handle_delayed_items(rc, at=time.time() + 10) == 1
        drain(rc, "retry_q")
        if attempt == 1:
            assert r.get(RKEY) == b"1" and r.exists(fkey)
    assert jobs.runs("RetryJob") == 3
    [record] = failures(r)
    assert record["payload"] == {"class": "RetryJob", "args": [1, "two"]}
    assert record["exception"] == "tests.retry_jobs.ArgumentError"
    assert r.get("resque:stat:failed") == b"3" and r.get("resque:stat:processed") == b"3"
    assert not r.exists(RKEY, fkey, "resque:delayed_queue_schedule")
    assert not list(r.scan_iter("resque:timestamps:*"))


def test_giving_up_deletes_the_counter_then_the_suppressed_failure_then_records(suppressed, r,
                                                                                redis_server):
    r.set(RKEY, 1)  # two attempts already failed (by any worker, Ruby's or ours)
    suppressed.enqueue(jobs.retry_job, 1, "two")
    with Monitor(str(redis_server.socket)) as wire:
        drain(suppressed, "retry_q")
    names = [w[:2] for w in plugin_words(wire, "resque:resque-retry", "resque:failure-",
                                         "resque:failed")]
    assert names == [["SETNX", RKEY], ["INCR", RKEY], ["DEL", RKEY],
                     ["DEL", "resque:failure-" + RKEY[len("resque:"):]], ["RPUSH", "resque:failed"]]


@pytest.mark.parametrize("fork", [False, True], ids=["no-fork", "fork"])
def test_a_job_that_succeeds_costs_one_del_of_its_counter(rc, r, redis_server, impl, monkeypatch,
                                                         fork):
    monkeypatch.setattr(_accel, "run_loop", impl.run_loop)
    rc.enqueue(jobs.retry_now, "fine", 0)
    with Monitor(str(redis_server.socket)) as wire:
        assert drain(rc, "retry0_q", fork) == 1
    rkey = jobs.retry_now.__resque_job__.options["retry"].retry_name("RetryNow", ["fine", 0])
    assert plugin_words(wire, "resque:resque-retry") == [["DEL", "resque:" + rkey]]


# -- limits, delays and exceptions ----------------------------------------------------

@pytest.mark.parametrize("fork", [False, True], ids=["no-fork", "fork"])
def test_a_limit_of_three_gives_four_runs_with_a_record_for_each(rc, r, impl, monkeypatch, fork):
    monkeypatch.setattr(_accel, "run_loop", impl.run_loop)
    rc.enqueue(jobs.retry_now, "flaky", 10)
    drain(rc, "retry0_q", fork)
    assert jobs.runs("flaky") == 4
    assert len(failures(r)) == 4  # the plain backend keeps every attempt, as Ruby's
    assert r.llen("resque:queue:retry0_q") == 0
    assert not list(r.scan_iter("resque:resque-retry:*"))


def test_a_job_that_fails_twice_then_succeeds_leaves_nothing_behind(suppressed, r):
    suppressed.enqueue(jobs.retry_now, "twice", 2)
    drain(suppressed, "retry0_q")
    assert jobs.runs("twice") == 3
    assert r.llen("resque:failed") == 0 and r.get("resque:stat:failed") == b"2"
    assert not list(r.scan_iter("resque:resque-retry:*"))


def test_limit_zero_never_retries_and_a_negative_limit_always_does(rc, r):
    rc.enqueue(jobs.never_retry, "zero")
    drain(rc, "retry0_q")
    assert jobs.runs("zero") == 1
    rc.enqueue(jobs.retry_forever, "forever")
    w = Worker("retry0_q", rc, WorkerOptions(interval=0, fork=False))
    w.startup()
    try:
        for _ in range(7):
            _accel.work_one(w)
    finally:
        w.shutdown_cleanup()
    assert jobs.runs("forever") == 7
    assert r.llen("resque:queue:retry0_q") == 1  # still retrying
    rkey = jobs.retry_forever.__resque_job__.options["retry"].retry_name("RetryForever", ["forever"])
    assert r.get("resque:" + rkey) == b"6"


def test_exception_lists_checks_and_ignored_exceptions_decide(rc, r):
    for tag, kind in (("f", "flaky"), ("b", "broken"), ("c", "checked")):
        rc.enqueue(jobs.picky, tag, kind)
    drain(rc, "retry0_q")
    assert (jobs.runs("f"), jobs.runs("b"), jobs.runs("c")) == (4, 1, 4)
    rc.enqueue(jobs.not_fatal, "nf", "flaky")
    rc.enqueue(jobs.not_fatal, "fatal", "broken")
    drain(rc, "retry0_q")
    assert (jobs.runs("nf"), jobs.runs("fatal")) == (3, 1)


def test_an_ignored_exception_does_not_count_as_an_attempt(rc, r, redis_server):
    rc.enqueue(jobs.picky, "i", "ignored")
    with Monitor(str(redis_server.socket)) as wire:
        w = Worker("retry0_q", rc, WorkerOptions(interval=0, fork=False))
        w.startup()
        try:
            _accel.work_one(w)
        finally:
            w.shutdown_cleanup()
    rkey = "resque:" + jobs.picky.__resque_job__.options["retry"].retry_name("Picky", ["i", "ignored"])
    assert [w[0] for w in plugin_words(wire, rkey)] == ["SETNX", "INCR", "DECR", "SETNX"]
    assert r.get(rkey) == b"-1"
    assert r.llen("resque:queue:retry0_q") == 1


def test_both_exception_lists_at_once_are_refused():
    with pytest.raises(ConfigurationError, match="not both"):
        Retry(exceptions=(ValueError,), fatal=(KeyError,))


def test_exponential_backoff_has_resque_retrys_delays_and_limit():
    policy = ExponentialBackoff()
    assert policy.limit == 6
    assert [policy.delay_for(ValueError(), a) for a in range(8)] == \
        [0, 60, 600, 3600, 10800, 21600, 21600, 21600]
    jitter = ExponentialBackoff([10, 100], multiplier_min=0.5, multiplier_max=1.5)
    seen = {jitter.delay_for(ValueError(), 0) for _ in range(200)}
    assert min(seen) >= 5 and max(seen) <= 15 and len(seen) > 3
    assert all(d == int(d) for d in seen)
    with pytest.raises(ConfigurationError):
        ExponentialBackoff(multiplier_min=2, multiplier_max=1)


def test_per_exception_delays_take_the_most_specific_listed_class():
    policy = Retry(exceptions={OSError: 10, ValueError: [1, 2, 3], UnicodeError: 7})
    assert policy.limit == 3  # the longest list
    assert policy.delay_for(FileNotFoundError(), 0) == 10
    assert [policy.delay_for(ValueError(), a) for a in range(5)] == [1, 2, 3, 3, 3]
    assert policy.delay_for(UnicodeDecodeError("utf-8", b"", 0, 1, "x"), 0) == 7
    assert policy.delay_for(KeyError(), 0) == 0
    assert policy.qualifies(FileNotFoundError()) and not policy.qualifies(KeyError())


def test_a_delayed_retry_waits_for_its_backoff(rc, r):
    rc.enqueue(jobs.backoff, "b1")
    drain(rc, "retry0_q")  # attempt 0: delay 0, straight back on the queue
    assert jobs.runs("b1") == 2  # ... and run again: attempt 1 is delayed 60 s
    [(member, score)] = r.zrange("resque:delayed_queue_schedule", 0, -1, withscores=True)
    assert int(score) - time.time() == pytest.approx(60, abs=2)
    assert r.lrange(b"resque:delayed:" + member, 0, -1) == \
        [b'{"class":"Backoff","args":["b1"],"queue":"retry0_q"}']


# -- mixins, queues, process deaths, Ruby's counters ---------------------------------------

def test_a_mixin_class_retries_by_its_class_attributes_on_its_retry_queue(rc, r):
    rc.enqueue(jobs.Ruby, "m")
    drain(rc, "retry0_q")
    assert jobs.runs("m") == 1
    assert r.lrange("resque:queue:retry_side_q", 0, -1) == [b'{"class":"Ruby::Mixin","args":["m"]}']
    drain(rc, "retry_side_q")
    assert jobs.runs("m") == 3  # limit 2: three runs
    assert not list(r.scan_iter("resque:resque-retry:*"))


def test_a_killed_child_is_retried_by_the_worker(suppressed, r, impl, monkeypatch):
    monkeypatch.setattr(_accel, "run_loop", impl.run_loop)
    suppressed.enqueue(jobs.dies_once, "d")
    drain(suppressed, "retry0_q", fork=True)
    assert jobs.runs("d") == 2
    assert r.llen("resque:failed") == 0  # the DirtyExit was retried, so suppressed
    assert not list(r.scan_iter("resque:resque-retry:*"))


def test_a_counter_left_by_a_ruby_worker_is_continued(rc, r):
    name = jobs.retry_now.__resque_job__.options["retry"].retry_name("RetryNow", ["r", 9])
    r.set("resque:" + name, 2)  # Ruby ran attempts 0, 1 and 2 and retried
    r.rpush("resque:queue:retry0_q", b'{"class":"RetryNow","args":["r",9]}')
    drain(rc, "retry0_q")
    assert jobs.runs("r") == 1  # attempt 3 = limit 3: gives up
    assert not r.exists("resque:" + name)
    assert len(failures(r)) == 1


def test_a_job_without_a_queue_of_its_own_retries_on_the_queue_it_came_from(rc, r):
    @resque.job(name="NoQueue", registry=jobs.REGISTRY, retry=Retry(limit=1))
    def no_queue(tag):
        jobs.count_run(tag)
        raise jobs.Flaky(tag)

    rc.enqueue_to("elsewhere", no_queue, "nq")
    drain(rc, "elsewhere")
    assert jobs.runs("nq") == 2


def test_delegate_args_identifier_and_key_expiry(rc, r):
    @resque.job(queue="retry0_q", name="Delegating", registry=jobs.REGISTRY,
                retry=Retry(limit=3, delegate="Other::Job", queue="other_q",
                            args=lambda exc, *a: [*a, "again"]))
    def delegating(tag):
        raise jobs.Flaky(tag)

    @resque.job(queue="retry0_q", name="Keyed", registry=jobs.REGISTRY,
                retry=Retry(limit=3, delay=30, identifier=lambda tag, n: f"n{n}", expire_key_after=100))
    def keyed(tag, n):
        raise jobs.Flaky(tag)

    rc.enqueue(delegating, "x")
    rc.enqueue(keyed, "y", 7)
    drain(rc, "retry0_q")
    assert r.lrange("resque:queue:other_q", 0, -1) == [b'{"class":"Other::Job","args":["x","again"]}']
    assert not list(r.scan_iter("resque:resque-retry:Delegating*"))  # deleted after the delegation
    assert r.get("resque:resque-retry:Keyed:n7") == b"0"
    assert 100 < r.ttl("resque:resque-retry:Keyed:n7") <= 130


def test_inline_mode_does_not_retry(rc, r):
    rc.inline = True
    with pytest.raises(jobs.Flaky):
        rc.enqueue(jobs.retry_now, "inline", 5)
    assert jobs.runs("inline") == 1
    assert not list(r.scan_iter("resque:resque-retry:*"))


def test_the_decision_travels_on_the_exception(rc):
    exc = jobs.Flaky("x")
    spec = jobs.retry_now.__resque_job__
    decision = spec.options["retry"].failed(spec, exc, ["t", 1])
    assert decision_of(exc) == decision
    assert decision.retried and decision.attempt == 0 and decision.queue == "retry0_q"


def test_failure_backend_from_env_finds_the_suppression_backend(rc, monkeypatch):
    monkeypatch.setenv("FAILURE_BACKEND", "retry_suppression")
    assert isinstance(backend_from_env(rc.store), MultipleWithRetrySuppression)
    monkeypatch.setenv("FAILURE_BACKEND", "nonsense")
    with pytest.raises(ConfigurationError, match="retry_suppression"):
        backend_from_env(rc.store)

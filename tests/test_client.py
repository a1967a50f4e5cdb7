"""The client API against a real Redis, asserting Ruby's exact wire format."""
from __future__ import annotations

import pytest

import resque
from resque import DontPerform, NoClassError, NoQueueError, Registry, Resque
from resque.client import job


def test_enqueue_to_writes_ruby_keys_and_bytes(client, r):
    assert client.enqueue_to("file_serve", "Archive", 44, "masterbrew") is True
    assert r.smembers("resque:queues") == {b"file_serve"}
    assert r.lrange("resque:queue:file_serve", 0, -1) == [b'{"class":"Archive","args":[44,"masterbrew"]}']
    assert r.type("resque:queue:file_serve") == b"list"


def test_enqueue_uses_class_queue_and_dotted_name(client, r):
    class Archive:
        queue = "file_serve"

        @staticmethod
        def perform(n):
            return n

    client.enqueue(Archive, 1)
    name = f"{__name__}.test_enqueue_uses_class_queue_and_dotted_name.<locals>.Archive"
    assert r.lrange("resque:queue:file_serve", 0, -1) == [
        ('{"class":"%s","args":[1]}' % name).encode()]


def test_explicit_ruby_style_name(client, r):
    @job(queue="mail", name="Mail::Deliver", registry=client.registry)
    class Deliver:
        @classmethod
        def perform(cls, to):
            return to

    client.enqueue(Deliver, "a@b.c")
    assert r.lpop("resque:queue:mail") == b'{"class":"Mail::Deliver","args":["a@b.c"]}'


def test_non_ascii_is_raw_utf8_and_slash_unescaped(client, r):
    client.enqueue_to("q", "A", "é/日本")
    assert r.lindex("resque:queue:q", 0) == '{"class":"A","args":["é/日本"]}'.encode()


def test_non_json_argument_raises_type_error_and_pushes_nothing(client, r):
    with pytest.raises(TypeError):
        client.enqueue_to("q", "A", object())
    assert r.exists("resque:queue:q", "resque:queues") == 0


def test_validate_raises_ruby_errors(client):
    class NoQueue:
        @staticmethod
        def perform():
            pass

    with pytest.raises(NoQueueError, match="No queue could be inferred"):
        client.enqueue(NoQueue)
    with pytest.raises(NoClassError):
        client.enqueue_to("q", "")


def test_namespace_prefixes_every_key(r):
    c = Resque(r, "resque:GitHub", registry=Registry())
    c.enqueue_to("high", "A")
    assert r.exists("resque:GitHub:queue:high") == 1
    assert r.smembers("resque:GitHub:queues") == {b"high"}


def test_dequeue_with_args_removes_jobs_with_equal_args_whatever_their_bytes(client, r):
    for args in ([1, "two"], [1, "two"], [2, "two"]):
        client.enqueue_to("q", "Foo::Bar", *args)
    r.rpush("resque:queue:q", b'{"class":"Foo::Bar", "args":[1,"two"]}')  # different spacing
    assert client.dequeue("Foo::Bar", 1, "two", queue="q") == 3
    assert client.peek("q", 0, 10) == [{"class": "Foo::Bar", "args": [2, "two"]}]


def test_dequeue_without_args_removes_every_job_of_the_class(client, r):
    client.enqueue_to("q", "Foo::Bar", 1)
    client.enqueue_to("q", "Other", 1)
    r.rpush("resque:queue:q", b'{"args":[9],"class":"Foo::Bar","extra":1}')
    assert client.dequeue("Foo::Bar", queue="q") == 2
    assert client.peek("q", 0, 10) == [{"class": "Other", "args": [1]}]


def test_peek_size_queues_and_remove_queue(client, r):
    client.enqueue_to("b", "A", 1)
    client.enqueue_to("b", "A", 2)
    client.enqueue_to("a", "A", 3)
    assert client.size("b") == 2
    assert client.peek("b") == {"class": "A", "args": [1]}
    assert client.peek("b", 1, 5) == [{"class": "A", "args": [2]}]
    assert client.peek("empty") is None
    assert client.queues() == ["a", "b"]
    assert client.queue_sizes() == {"a": 1, "b": 2}
    client.pop("a")
    assert "a" in client.queues()  # popping the last job keeps the queue registered
    client.remove_queue("b")
    assert r.exists("resque:queue:b") == 0 and client.queues() == ["a"]


def test_push_pop_reserve_raw_items(client):
    client.push("q", {"class": "A", "args": [1], "extra": True})
    job = client.reserve("q")
    assert job.queue == "q" and job.name == "A" and job.args == [1]
    client.push("q", [1, 2])
    assert client.pop("q") == [1, 2]
    assert client.pop("q") is None


def test_enqueue_many_pipelines_one_round_trip(client, r):
    class Counted:
        queue = "bulk"

        @staticmethod
        def perform(n):
            pass

    before = r.info("stats")["total_commands_processed"]
    assert client.enqueue_many(Counted, [(i,) for i in range(2500)]) == 2500
    after = r.info("stats")["total_commands_processed"]
    assert client.size("bulk") == 2500
    # MULTI, SADD, 3 x RPUSH (chunks of 1000), EXEC, plus the INFO call itself
    assert after - before <= 7
    assert client.peek("bulk", 2499)["args"] == [2499]


def test_enqueue_hooks_veto_and_after(client):
    seen = []

    class Hooked:
        queue = "h"

        @staticmethod
        def perform(x):
            pass

        @staticmethod
        def before_enqueue_b(x):
            seen.append(("b", x))
            return x != "veto"

        @staticmethod
        def before_enqueue(x):
            seen.append(("bare", x))

        @staticmethod
        def after_enqueue_log(x):
            seen.append(("after", x))

    assert client.enqueue(Hooked, "ok") is True
    assert client.enqueue(Hooked, "veto") is None
    assert seen == [("bare", "ok"), ("b", "ok"), ("after", "ok"), ("bare", "veto"), ("b", "veto")]
    assert client.size("h") == 1


def test_dequeue_hooks_can_abort(client):
    class D:
        queue = "d"

        @staticmethod
        def perform(x):
            pass

        @staticmethod
        def before_dequeue(x):
            return False

    client.enqueue(D, 1)
    assert client.dequeue(D, 1) is None
    assert client.size("d") == 1


def test_inline_mode_performs_immediately_with_json_round_trip(r):
    c = Resque(r, registry=Registry(), inline=True)
    got = []

    @job(queue="q", registry=c.registry)
    def record(x, y):
        got.append((x, y))

    c.enqueue(record, (1, 2), {"k": 1})
    assert got == [([1, 2], {"k": 1})]  # tuple became a list, as a worker would see it
    assert r.keys("*") == []


def test_inline_mode_propagates_exceptions_and_skips_after_enqueue(r):
    c = Resque(r, registry=Registry(), inline=True)
    after = []

    class Boom:
        queue = "q"

        @staticmethod
        def perform():
            raise ValueError("boom")

        @staticmethod
        def after_enqueue():
            after.append(1)

    with pytest.raises(ValueError, match="boom"):
        c.enqueue(Boom)
    assert after == []


def test_inline_runs_perform_hooks_and_dont_perform(r):
    c = Resque(r, registry=Registry(), inline=True)
    order = []

    class H:
        queue = "q"

        @staticmethod
        def before_perform(x):
            order.append("before")
            if x == "skip":
                raise DontPerform()

        @staticmethod
        def around_perform_a(x, inner):
            order.append("around_a>")
            inner()
            order.append("<around_a")

        @staticmethod
        def around_perform_b(x, inner):
            order.append("around_b>")
            inner()
            order.append("<around_b")

        @staticmethod
        def perform(x):
            order.append("perform")

        @staticmethod
        def after_perform(x):
            order.append("after")

    c.enqueue(H, "go")
    assert order == ["before", "around_a>", "around_b>", "perform", "<around_b", "<around_a", "after"]
    order.clear()
    c.enqueue(H, "skip")
    assert order == ["before"]


def test_info_has_exactly_rubys_fields(client, r):
    client.enqueue_to("a", "A")
    client.enqueue_to("b", "A")
    client.enqueue_to("b", "A")
    r.set("resque:stat:processed", 7)
    r.rpush("resque:failed", b"{}")
    r.sadd("resque:workers", "h:1:a", "h:2:b")
    r.set("resque:worker:h:1:a", b'{"queue":"a","run_at":"2024-01-01T00:00:00Z","payload":{"class":"A","args":[]}}')
    info = client.info()
    assert set(info) == {"pending", "processed", "queues", "workers", "working", "failed", "servers", "environment"}
    assert (info["pending"], info["processed"], info["queues"], info["workers"], info["working"], info["failed"]) == (3, 7, 2, 2, 1, 1)
    assert info["environment"] == "development"


def test_workers_and_working_read_ruby_records(client, r):
    r.sadd("resque:workers", "web-1:42:critical,high", "web-1:43:*")
    r.set("resque:worker:web-1:42:critical,high",
          b'{"queue":"high","run_at":"2024-05-01T12:34:56Z","payload":{"class":"Foo::Bar","args":[1]}}')
    r.set("resque:worker:web-1:42:critical,high:started", "2024-05-01 12:00:00 +0000")
    ws = client.workers()
    assert [(w.host, w.pid, w.queues, w.state) for w in ws] == [
        ("web-1", 42, ["critical", "high"], "working"), ("web-1", 43, ["*"], "idle")]
    busy = client.working()
    assert len(busy) == 1 and busy[0].job["payload"]["class"] == "Foo::Bar"
    assert client.worker("web-1:42:critical,high").started == "2024-05-01 12:00:00 +0000"
    assert client.worker("nope:1:x") is None


def test_keys_lists_namespace_without_prefix(client, r):
    client.enqueue_to("q", "A")
    r.set("other:thing", 1)
    assert client.keys() == ["queue:q", "queues"]


def test_decorated_function_gets_enqueue_on_default_client(r):
    c = Resque(r, registry=Registry())
    resque.set_client(c)
    try:
        @job(queue="fn", registry=c.registry)
        def add(a, b):
            return a + b

        add.enqueue(1, 2)
        add.enqueue_to("other", 3, 4)
        assert resque.size("fn") == 1 and resque.size("other") == 1
        assert resque.peek("fn")["class"] == f"{__name__}.test_decorated_function_gets_enqueue_on_default_client.<locals>.add"
    finally:
        resque.set_client(None)

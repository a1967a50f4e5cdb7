"""The reserve script does work independent of the payload's size and content.

``lua/cycle.lua`` never decodes or scans a payload: it checks the first and
last byte. A job-shaped element is recorded byte for byte in Ruby's record
format; anything else stays at its queue's head, in no worker record, for
the worker to fail (or, if it is padded JSON, to take).
"""
from __future__ import annotations

from importlib import resources

import pytest

from resque._compat import dumps
from resque.worker import Worker, WorkerOptions

STAMP = "2024-05-01T12:34:56Z"


def cycle(client, *queues):
    return client.store.cycle("h:1:q", "0", STAMP, [client.store.keys.queue(q) for q in queues],
                              [dumps(q) for q in queues])


def test_reserve_script_never_decodes_or_scans_the_payload():
    source = resources.files("resque").joinpath("lua", "cycle.lua").read_text()
    code = "\n".join(line for line in source.splitlines() if not line.startswith("--"))
    assert "cjson" not in code and "string.find" not in code and "string.match(payload" not in code


@pytest.mark.parametrize("size", [0, 70_000], ids=["small", "big"])
def test_a_job_is_recorded_byte_for_byte_and_the_reply_is_position_and_payload(client, r, size):
    body = (b'{"class":"A","args":[123456789012345678901234567890, "\\u00e9", {"k" : [ ]}, "'
            + b"x" * size + b'"]}')
    client.store.push("q", body)
    assert cycle(client, "empty", "q") == [2, body]
    assert r.get("resque:worker:h:1:q") == (b'{"queue":"q","run_at":"' + STAMP.encode()
                                            + b'","payload":' + body + b"}")


def test_an_element_not_shaped_like_an_object_stays_at_the_head_unrecorded(client, r):
    for element in (b"null", b"[1]", b" {}", b"{}\n", b"", b"\xff"):
        r.delete("resque:queue:q")
        client.store.push("q", element)
        client.store.push("q", b'{"class":"Next","args":[]}')
        assert cycle(client, "q") == [-1, element]
        assert r.lrange("resque:queue:q", 0, -1) == [element, b'{"class":"Next","args":[]}']
        assert r.get("resque:worker:h:1:q") is None


def test_padded_json_is_taken_and_run_other_elements_are_failed_and_dropped(client, r):
    ran = []
    client.registry.register(lambda tag: ran.append(tag), name="Ok")
    for element in (b' {"class":"Ok","args":["padded"]}\n', b"null", b'{"class":"Ok","args":["next"]}'):
        client.store.push("q", element)
    Worker(["q"], client, WorkerOptions(interval=0, fork=False)).work()
    assert ran == ["padded", "next"]
    [failure] = client.failure.all(0, 10)
    assert failure.original_bytes == b"null" and failure.queue == "q"
    assert r.llen("resque:queue:q") == 0
    assert r.get("resque:stat:processed") == b"3" and r.get("resque:stat:failed") == b"1"

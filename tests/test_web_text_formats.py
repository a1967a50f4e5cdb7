"""``/stats.txt`` and ``/metrics`` stay one record a line whatever a queue is called."""
from __future__ import annotations

import re

from tests.web_helpers import (  # noqa: F401 - fixtures
    no_auth_env, shared_app, web,
)

HOSTILE = ["evil\nresque.pending=999999", "cr\rresque.failed+=7", "nul\x00byte", "tab\tq",
           "ls\u2028next", "ps\u2029x", "nel\x85y", 'quote"}', "back\\slash", "del\x7fq",
           "esc\x1b[31mred"]
# A strict Prometheus text-format sample line: only \\, \" and \n escapes in label values.
SAMPLE = re.compile(r'^([a-z_]+)(?:\{([a-z_]+)="((?:[^"\\\n\x00-\x1f\x7f]|\\[\\"n])*)"\})? (-?[0-9.e+]+)$')


def _unescape(value: str) -> str:
    return re.sub(r'\\([\\"n])', lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), value)


def _seed(client):
    for i, name in enumerate(HOSTILE):
        for _ in range(i + 1):
            client.push(name, {"class": "X", "args": []})


def test_stats_txt_queue_names_cannot_forge_lines(web, client):
    _seed(client)
    body = web.get("/stats.txt").text
    lines = body.split("\n")
    assert all(not re.search(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]", line) for line in lines)
    assert len(lines) == 5 + len(client.queues())
    assert [ln for ln in lines if ln.startswith("resque.pending=")] == [
        f"resque.pending={sum(client.queue_sizes().values())}"]
    assert not any(ln.startswith("resque.failed+=7") for ln in lines)
    queue_lines = [ln for ln in lines if ln.startswith("queues.")]
    assert all(re.fullmatch(r"queues\..+=\d+", ln) for ln in queue_lines)
    assert "queues.evil\\x0aresque.pending=999999=1" in queue_lines
    assert "queues.cr\\x0dresque.failed+=7=2" in queue_lines
    assert "queues.ls\\u2028next=5" in queue_lines


def test_metrics_label_values_are_escaped_per_the_text_format(web, client):
    _seed(client)
    body = web.get("/metrics").text
    assert body.endswith("\n")
    samples = {}
    for line in body[:-1].split("\n"):
        if line.startswith("#"):
            assert re.fullmatch(r"# (HELP|TYPE) [a-z_]+ [ -~]+", line), line
            continue
        m = SAMPLE.match(line)
        assert m, repr(line)
        if m.group(1) == "resque_queue_size":
            samples[_unescape(m.group(3))] = int(m.group(4))
    assert len(samples) == len(client.queues())  # one distinct series per queue
    assert samples["evil\nresque.pending=999999"] == 1 and samples['quote"}'] == 8
    assert samples["back\\slash"] == 9
    assert samples["cr\\x0dresque.failed+=7"] == 2 and samples["nul\\x00byte"] == 3
    assert samples["ls\\u2028next"] == 5 and samples["esc\\x1b[31mred"] == 11

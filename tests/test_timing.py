"""Job run times: the batch a worker sends, the hash it lands in, and how it is shown."""
from __future__ import annotations

import json
import re

import pytest

from resque import Registry, Resque
from resque.timing import BUCKETS, Batch, ClassTiming, Timing, bucket_of, parse
from resque.web import create_app
from tests.web_helpers import Web, no_auth_env  # noqa: F401 - fixtures


@pytest.mark.parametrize("seconds,index", [(0.0, 0), (0.005, 0), (0.0051, 1), (0.3, 6),
                                           (300.0, len(BUCKETS) - 1), (301.0, len(BUCKETS))])
def test_bucket_bounds_are_inclusive_upper_bounds(seconds, index):
    assert bucket_of(seconds) == index


def test_a_batch_is_due_after_enough_jobs_or_time_and_empties_when_taken():
    batch = Batch()
    assert not batch.due(0.0)
    batch.add("A", 0.02)
    batch.add("A", 0.2)
    batch.add("B\tC", 400.0)  # a separator in a name cannot break the batch
    assert not batch.due(100.0) and not batch.due(100.5) and batch.due(101.0)
    assert batch.take().decode().split("\n") == [
        "100\t(other)", "A\t2\t0.220000\t2:1 5:1", f"B?C\t1\t400.000000\t{len(BUCKETS)}:1"]
    assert not batch.due(200.0)
    for _ in range(64):
        batch.add("C", 0.001)
    assert batch.due(300.0)


def test_parse_reads_counts_sums_and_buckets_and_skips_junk():
    fields = {b"count|A": b"3", b"sum|A": b"0.75", b"1|A": b"1", b"6|A": b"2",
              b"count|B::C": b"1", b"sum|B::C": b"2", b"8|B::C": b"1",
              b"99|A": b"5", b"count|junk": b"not a number"}
    (a, b) = parse(fields)
    assert (a.name, a.count, a.sum) == ("A", 3, 0.75)
    assert a.buckets[1] == 1 and a.buckets[6] == 2 and sum(a.buckets) == 3
    assert a.cumulative()[-1] == 3 and a.cumulative()[5] == 1
    assert (b.name, b.count) == ("B::C", 1)


def test_quantiles_interpolate_inside_their_bucket():
    t = ClassTiming("A", count=10, sum=1.0)
    t.buckets[3] = 10  # all between 0.025 and 0.05
    assert t.quantile(0.5) == pytest.approx(0.0375)
    assert t.mean == pytest.approx(0.1)
    assert ClassTiming("empty").quantile(0.5) == 0.0


@pytest.fixture
def timed(r):  # type: ignore[no-untyped-def]
    r.hset("resque:timing", mapping={"count|Archive": 10, "sum|Archive": 1.5, "3|Archive": 4,
                                     "4|Archive": 6, "count|<b>x</b>": 1, "sum|<b>x</b>": 0.001,
                                     '0|<b>x</b>': 1})
    r.sadd("resque:timing:classes", "Archive", "<b>x</b>")
    return Web(create_app(Resque(r, registry=Registry()), user="", password=""))


def test_metrics_expose_a_prometheus_histogram_per_class(timed):
    text = timed.get("/metrics").text
    assert "# TYPE resque_job_duration_seconds histogram" in text
    lines = [ln for ln in text.splitlines() if ln.startswith('resque_job_duration_seconds_')
             and 'class="Archive"' in ln]
    assert lines[0] == 'resque_job_duration_seconds_bucket{class="Archive",le="0.005"} 0'
    assert 'resque_job_duration_seconds_bucket{class="Archive",le="0.05"} 4' in lines
    assert 'resque_job_duration_seconds_bucket{class="Archive",le="0.1"} 10' in lines
    assert lines[-3] == 'resque_job_duration_seconds_bucket{class="Archive",le="+Inf"} 10'
    assert lines[-2:] == ['resque_job_duration_seconds_sum{class="Archive"} 1.5',
                          'resque_job_duration_seconds_count{class="Archive"} 10']
    counts = [int(ln.rsplit(" ", 1)[1]) for ln in lines if "_bucket" in ln]
    assert counts == sorted(counts) and len(counts) == len(BUCKETS) + 1


def test_api_and_stats_page_show_run_times(timed):
    body = timed.get("/api/stats/timing").json
    archive = next(c for c in body["classes"] if c["class"] == "Archive")
    assert archive["count"] == 10 and archive["mean"] == 0.15
    assert 0.05 <= archive["p95"] <= 0.1
    html = timed.get("/stats/timing").text
    row = re.search(r'<tr data-class="Archive">.*?</tr>', html, re.S).group(0)  # type: ignore[union-attr]
    assert "150.0 ms" in row and "1.50 s" in row and "up to 0.1 s: 6 jobs" in row
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html


def test_clear_forgets_every_figure(r, client):
    r.hset("resque:timing", "count|A", 1)
    r.sadd("resque:timing:classes", "A")
    Timing(client.store).clear()
    assert not r.exists("resque:timing", "resque:timing:classes")

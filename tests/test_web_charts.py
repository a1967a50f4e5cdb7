"""Charts on the Overview, Queues and Failed pages, and ``/api/history/<series>``."""
from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
import redis

from resque import Registry, Resque
from resque.web import create_app
from resque.web.charts import Point, Series, line_chart, nice_ceiling, number, thin
from tests.web_helpers import Web, no_auth_env, text_of  # noqa: F401 - fixtures


def seed_history(r: "redis.Redis[bytes]", now: float) -> None:
    """Write an hour of minute snapshots (60 jobs/min, 3 failed/min), live seconds
    (5 jobs/s) and three days (1000 jobs/day), ending at the counters' values."""
    r.set("resque:stat:processed", 4600)
    r.set("resque:stat:failed", 190)
    # Claim every period far ahead: page views in the test take no sample of their own,
    # so what is drawn is exactly what was seeded, however slow the machine.
    r.hset("resque:history:claimed", mapping={"minute": 10**12, "second": 10**12})
    minutes = {f"{now - 60 * (60 - i):.3f}:{4600 - 60 * (60 - i)}:{190 - 3 * (60 - i)}":
               now - 60 * (60 - i) for i in range(60)}
    r.zadd("resque:history:minute", minutes)
    seconds = {f"{now - 2 * (50 - i):.3f}:{4600 - 10 * (50 - i)}:{190 - (50 - i)}":
               now - 2 * (50 - i) for i in range(50)}
    r.zadd("resque:history:second", seconds)
    days = {f"{now - 86400 * d:.3f}:{1000 * (4 - d)}:{10 * (4 - d)}": now - 86400 * d
            for d in (3, 2, 1)}
    r.zadd("resque:history:day", days)
    for i in range(3):
        t = now - 600 + 60 * i
        r.zadd("resque:history:queues",
               {json.dumps({"t": t, "q": {"mail": 5 + i, "critical": 40 - i}}): t})
        r.zadd("resque:history:failures",
               {json.dumps({"t": t, "c": {"Archive": 2, "Mailer": i}}): t})


@pytest.fixture
def web(r: "redis.Redis[bytes]") -> Web:
    """A fresh app per test: chart layouts are cached per process for a few seconds."""
    return Web(create_app(Resque(r, registry=Registry()), user="", password=""))


def _chart(html: str, cid: str) -> str:
    match = re.search(rf'<figure class="chart[^"]*" id="{cid}".*?</figure>', html, re.S)
    assert match, cid
    return match.group(0)


def test_overview_draws_live_day_and_month_charts_from_history(r, web):
    seed_history(r, time.time())
    html = web.get("/overview").text
    day = _chart(html, "chart-day")
    assert 'role="img"' in day and "<title" in day and "<desc" in day
    assert "processed: latest 60, peak 60 jobs/min" in day
    assert "failed: latest 3, peak 3 jobs/min" in day
    path = re.search(r'<path class="line s0" d="([^"]+)"', day)
    assert path and path.group(1).count("L") >= 15  # an hour of minutes, about 3.4 min a unit
    live = _chart(html, "chart-live")
    assert "processed: latest 5, peak 5 jobs/s" in live
    month = _chart(html, "chart-month")
    assert month.count('<g class="bar"') == 3
    assert "1000 processed, 10 failed" in month  # a full day between two snapshots
    table = text_of(re.search(r"<table>.*?</table>", day, re.S).group(0))  # type: ignore[union-attr]
    assert "60" in table and "Time (UTC)" in table


def test_charts_with_no_history_say_so_and_start_sampling(r, web):
    html = web.get("/overview").text
    assert "No samples yet" in _chart(html, "chart-day")
    assert r.zcard("resque:history:minute") == 1  # this page view took the minute's sample
    assert r.zcard("resque:history:second") == 1


def test_live_refresh_fragment_carries_the_charts(r, web):
    seed_history(r, time.time())
    html = web.get("/overview", params={"partial": "1"}).text
    assert "<html" not in html and 'id="chart-live"' in html


def test_queues_page_charts_sizes_per_queue(r, web):
    seed_history(r, time.time())
    chart = _chart(web.get("/queues").text, "chart-queues")
    assert 'data-series="critical"' in chart and 'data-series="mail"' in chart
    assert "critical: latest 38, peak 40 jobs" in chart


def test_failed_page_charts_new_failures_per_class(r, web):
    seed_history(r, time.time())
    chart = _chart(web.get("/failed").text, "chart-failures")
    assert 'data-series="Archive"' in chart and 'data-series="Mailer"' in chart


def test_chart_markup_needs_no_inline_script_or_style(r, web):
    seed_history(r, time.time())
    for page in ("/overview", "/queues", "/failed"):
        res = web.get(page)
        assert "script-src 'self'" in res.headers["content-security-policy"]
        assert " style=" not in res.text and "<style" not in res.text
        assert len(re.findall(r"<script", res.text)) == 1  # the page's own static file


def test_chart_names_are_escaped(r, web):
    now = time.time()
    r.zadd("resque:history:queues", {json.dumps({"t": now, "q": {"<script>x": 3}}): now})
    html = web.get("/queues").text
    assert "&lt;script&gt;x" in html and "<script>x" not in html


def test_api_history_minute_gives_rates_per_minute(r, web):
    now = time.time()
    seed_history(r, now)
    body = web.get("/api/history/minute").json
    assert body["unit"] == "jobs/min" and len(body["points"]) == 59
    assert {(round(p["processed"]), round(p["failed"]), p["gap"]) for p in body["points"]} \
        == {(60, 3, 0.0)}


def test_api_history_live_day_queues_and_failures(r, web):
    seed_history(r, time.time())
    live = web.get("/api/history/live").json
    assert live["unit"] == "jobs/s" and round(live["points"][0]["processed"]) == 5
    day = web.get("/api/history/day").json["points"]
    assert [(p["processed"], p["failed"]) for p in day] == [(1000, 10), (1000, 10), (1600, 160)]
    queues = web.get("/api/history/queues").json["points"]
    assert queues[0]["q"] == {"mail": 5, "critical": 40}
    failures = web.get("/api/history/failures").json["points"]
    assert [p["c"]["Mailer"] for p in failures] == [0, 1, 2]


def test_api_history_rejects_unknown_series(web):
    res = web.get("/api/history/weekly")
    assert res.status_code == 404 and "live, minute, day, queues, failures" in res.text


def test_gaps_are_drawn_dashed_at_their_average():
    now = 10_000.0
    pts = [Point(now - 600, 10), Point(now - 540, 10), Point(now - 60, 4, gap=480)]
    chart = line_chart("c", "T", "jobs/min", [Series("processed", pts)], now - 900, now,
                       period=60)
    line = chart["lines"][0]
    assert line["gap_d"].startswith("M") and "H" in line["gap_d"]
    assert line["d"].count("M") == 2  # the line breaks across the gap


def test_a_day_of_minutes_is_thinned_to_the_charts_width_keeping_the_volume():
    points = [Point(60.0 * i, float(i % 7)) for i in range(1440)]
    thinned = thin(points, 0, 86400)
    assert len(thinned) <= 424
    width = 86400 / 424
    total = sum(p.value for p in points) / len(points)
    assert sum(p.value for p in thinned) / len(thinned) == pytest.approx(total, rel=0.02)
    assert thin([Point(5, 1.0, gap=300), Point(6, 3.0)], 0, 86400) == [Point(6, 2.0, 300)]
    assert width > 60


@pytest.mark.parametrize("value,text", [(0, "0"), (0.07, "0.07"), (2.96, "3"), (2.5, "2.5"),
                                        (59.99, "60"), (12345, "12k")])
def test_chart_numbers_are_short(value: float, text: str):
    assert number(value) == text


@pytest.mark.parametrize("value,expected", [(0, 1), (0.3, 1), (3, 5), (42, 50), (180, 200),
                                            (1000, 1000), (1001, 2000)])
def test_axis_tops_are_round_numbers(value: Any, expected: float):
    assert nice_ceiling(value) == expected

"""The charts in a real headless Chromium: drawn with data, live updates, phone width, screenshots.

Set ``RESQUE_SCREENSHOTS=docs/screenshots`` to refresh the chart PNGs in
the docs (written to a temp dir otherwise).
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.history_helpers import seed_busy_day
from tests.test_browser import _by, _wait, driver, site, ui  # noqa: F401 - fixtures
from tests.web_helpers import seed

pytestmark = pytest.mark.browser


def _bbox_width(driver: Any, selector: str) -> float:
    return float(driver.execute_script(
        "var e = document.querySelector(arguments[0]); return e ? e.getBBox().width : 0;",
        selector))


def test_overview_charts_draw_lines_and_bars_with_data(ui, r):
    driver, base, client = ui
    seed_busy_day(r, time.time())
    driver.get(base + "/overview")
    for cid in ("chart-live", "chart-day"):
        assert _bbox_width(driver, f"#{cid} path.line.s0") > 200, cid
        assert _bbox_width(driver, f"#{cid} path.line.s1") > 200, cid
    By = _by()
    bars = driver.find_elements(By.CSS_SELECTOR, "#chart-month g.bar rect.s0")
    assert len(bars) >= 30 and all(float(b.get_attribute("height")) > 0 for b in bars[:-1])
    numbers = driver.find_element(By.CSS_SELECTOR, "#chart-day details")
    assert not numbers.find_element(By.TAG_NAME, "table").is_displayed()
    numbers.find_element(By.TAG_NAME, "summary").click()
    assert "Time (UTC)" in numbers.find_element(By.TAG_NAME, "table").text
    label = driver.execute_script(
        "var s = document.querySelector('#chart-day svg');"
        "return s.getAttribute('role') + '|' + "
        "document.getElementById(s.getAttribute('aria-labelledby').split(' ')[1]).textContent;")
    assert label.startswith("img|Jobs per minute, last 24 hours. processed: latest")


def test_queue_and_failure_charts_draw_one_line_per_series(ui, r):
    driver, base, client = ui
    seed_busy_day(r, time.time())
    driver.get(base + "/queues")
    for name in ("default", "mail", "critical"):
        assert _bbox_width(driver, f'#chart-queues path[data-series="{name}"]') > 200, name
    driver.get(base + "/failed")
    assert _bbox_width(driver, '#chart-failures path[data-series="Archive"]') > 200


def test_live_chart_follows_the_counters_in_live_mode(ui, r):
    driver, base, client = ui
    By = _by()
    driver.get(base + "/overview")
    assert "chart-empty" in driver.find_element(By.ID, "chart-live").get_attribute("class")
    driver.find_element(By.ID, "live-toggle").click()
    for _ in range(8):  # jobs finish while the page polls (every 0.3 s here)
        r.incrby("resque:stat:processed", 25)
        time.sleep(0.35)
    _wait(driver, lambda d: "chart-empty" not in d.find_element(By.ID, "chart-live")
          .get_attribute("class") and _bbox_width(d, "#chart-live path.line.s0") > 1)
    driver.find_element(By.ID, "live-toggle").click()


def test_charts_fit_a_phone_screen(ui, r):
    driver, base, client = ui
    seed(r, client)
    seed_busy_day(r, time.time())
    driver.set_window_size(390, 844)
    for path in ("/overview", "/queues", "/failed"):
        driver.get(base + path)
        overflow = driver.execute_script(
            "return document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, (path, overflow)
        width = driver.execute_script(
            "return document.querySelector('figure.chart svg').getBoundingClientRect().width")
        assert 300 <= width <= 390, (path, width)


def seed_timing(r: "redis.Redis[bytes]") -> None:
    """Write run times as workers leave them: three classes, varied spreads."""
    fields: dict[str, float] = {}
    for name, counts in (("Archive", [0, 0, 2, 10, 40, 120, 60, 12, 3, 1, 0, 0, 0, 0, 0]),
                         ("Mail::Deliver", [300, 900, 400, 80, 10, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
                         ("Reports::Monthly", [0, 0, 0, 0, 0, 0, 0, 1, 4, 9, 6, 3, 1, 0, 0])):
        for i, n in enumerate(counts):
            if n:
                fields[f"{i}|{name}"] = n
        fields[f"count|{name}"] = sum(counts)
        mids = [0.003, 0.008, 0.02, 0.04, 0.08, 0.2, 0.4, 0.8, 2, 4, 8, 20, 45, 200, 400]
        fields[f"sum|{name}"] = round(sum(m * n for m, n in zip(mids, counts)), 3)
    r.hset("resque:timing", mapping=fields)


def test_timing_page_draws_a_histogram_per_class(ui, r):
    driver, base, client = ui
    By = _by()
    seed_timing(r)
    driver.get(base + "/stats/timing")
    rows = driver.find_elements(By.CSS_SELECTOR, "table.timing tbody tr")
    assert [row.get_attribute("data-class") for row in rows] == [
        "Reports::Monthly", "Archive", "Mail::Deliver"]  # slowest in total first
    bars = rows[1].find_elements(By.CSS_SELECTOR, "svg.histogram rect")
    heights = [float(b.get_attribute("height")) for b in bars]
    assert len(bars) == 15 and max(heights) == heights[5] > 0


def test_chart_screenshots(ui, r, tmp_path):
    driver, base, client = ui
    By = _by()
    seed(r, client)
    seed_busy_day(r, time.time())
    target = Path(os.environ.get("RESQUE_SCREENSHOTS") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)
    shots = {"charts-overview": ("/overview", "section.charts"),
             "charts-queues": ("/queues", "#chart-queues"),
             "charts-failed": ("/failed", "#chart-failures")}
    for name, (path, selector) in shots.items():
        driver.get(base + path)
        element = driver.find_element(By.CSS_SELECTOR, selector)
        assert element.screenshot(str(target / f"{name}.png")), name
    seed_timing(r)
    driver.get(base + "/stats/timing")
    assert driver.find_element(By.CSS_SELECTOR, "main").screenshot(
        str(target / "stats-timing.png"))
    driver.set_window_size(390, 844)
    driver.get(base + "/overview")
    driver.find_element(By.CSS_SELECTOR, "section.charts").screenshot(
        str(target / "phone-charts.png"))
    for name in (*shots, "phone-charts", "stats-timing"):
        assert (target / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name

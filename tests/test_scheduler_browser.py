"""The Delayed and Schedule tabs in a real headless Chromium."""
from __future__ import annotations

import time
from typing import Any

import pytest

from tests.test_browser import PREFIX, _by, _wait, driver, site, ui  # noqa: F401 - fixtures
from tests.test_scheduler_web import ruby_delayed

pytestmark = pytest.mark.browser


def test_queue_a_delayed_job_now_then_see_the_schedule(ui: Any, r: Any) -> None:  # noqa: F811
    driver, base, client = ui
    By = _by()
    t = int(time.time()) + 3600
    ruby_delayed(r, t, b'{"class":"Billing::Charge","args":[42],"queue":"billing"}')
    r.hset("resque:persistent_schedules", "nightly", b'{"class":"SomeJob","cron":"30 2 * * *","queue":"q"}')
    driver.get(base + "/overview")
    driver.find_element(By.LINK_TEXT, "Delayed").click()
    _wait(driver, lambda d: d.current_url.endswith(PREFIX + "/delayed"))
    row = driver.find_element(By.CSS_SELECTOR, f'table.delayed tr[data-timestamp="{t}"]')
    assert "Billing::Charge" in row.text and "42" in row.text
    row.find_element(By.CSS_SELECTOR, "button").click()
    _wait(driver, lambda d: "Queued 1 job now." in d.find_element(By.CSS_SELECTOR, "p.notice").text)
    assert r.lrange("resque:queue:billing", 0, -1) == [b'{"class":"Billing::Charge","args":[42]}']
    assert "No delayed jobs." in driver.find_element(By.CSS_SELECTOR, "table.delayed").text
    driver.find_element(By.LINK_TEXT, "Schedule").click()
    _wait(driver, lambda d: d.current_url.endswith(PREFIX + "/schedule"))
    entry = driver.find_element(By.CSS_SELECTOR, 'table.schedule tr[data-name="nightly"]')
    assert "cron: 30 2 * * *" in entry.text and "Never" in entry.text

"""The web UI in a real headless Chromium: follow, retry, live mode, phone size, screenshots.

The app is mounted under ``/resque`` on a stdlib ``wsgiref`` server in a
thread. Set ``RESQUE_SCREENSHOTS=docs/screenshots`` to refresh the PNGs in
the docs (``test_screenshots`` writes them to a temp dir otherwise).
"""
from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from resque import Registry, Resque
from resque.web import create_app
from resque.web.server import make_server
from tests.history_helpers import seed_busy_day
from tests.web_helpers import PY_WORKER, RUBY_HOST, RUBY_WORKER, python_failure, seed

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run")
PREFIX = "/resque"
WAIT = 10


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"browser tests must run in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
        _unavailable(f"{CHROMIUM} or {CHROMEDRIVER} is missing")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _unavailable("selenium is not installed")
    profile = tempfile.mkdtemp(prefix="resque-chromium-")
    options = webdriver.ChromeOptions()
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.binary_location = CHROMIUM
    browser = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    browser.set_window_size(1280, 1000)
    yield browser
    browser.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def site(redis_server: Any) -> Iterator[tuple[str, Resque]]:
    """Serve the app under /resque on 127.0.0.1, port 0, in a thread."""
    client = Resque(redis_server.url, registry=Registry())
    app = create_app(client, user="", password="", poll_interval=0.3)
    server = make_server(app, "127.0.0.1", 0, prefix=PREFIX)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}{PREFIX}", client
    server.shutdown()
    server.server_close()


@pytest.fixture
def ui(driver: Any, site: tuple[str, Resque], r: Any) -> Iterator[tuple[Any, str, Resque]]:
    base, client = site
    driver.set_window_size(1280, 1000)
    driver.get(base + "/static/style.css")
    driver.execute_script("window.localStorage.clear()")
    yield driver, base, client


def _by():  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    return By


def _wait(driver: Any, condition: Any) -> Any:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT, ignored_exceptions=(StaleElementReferenceException,)) \
        .until(condition)


def _text(driver: Any, selector: str) -> str | None:
    """Read an element's text in one step (live mode may swap it any time)."""
    return driver.execute_script(
        "var e = document.querySelector(arguments[0]); return e ? e.textContent.trim() : null;",
        selector)


def _size(driver: Any, queue: str) -> str | None:
    return _text(driver, f'td.size[data-queue="{queue}"]')


def test_follow_overview_to_a_failed_job_retry_it_and_see_it_queued(ui, r):
    driver, base, client = ui
    By = _by()
    seed(r, client)
    driver.get(base + "/overview")
    assert driver.title == "Resque" and _size(driver, "critical") == "2"
    assert "2 of 3 Workers Working" in driver.find_element(By.CSS_SELECTOR, "h2.working-heading").text
    driver.find_element(By.CSS_SELECTOR, "td.failed-list a").click()
    _wait(driver, lambda d: d.current_url.endswith(PREFIX + "/failed"))
    ruby = next(li for li in driver.find_elements(By.CSS_SELECTOR, "li.failure")
                if "uninitialized constant Archive" in li.text)
    assert "NameError" in ruby.text and "ruby-box.example.com:4242" in ruby.text
    trace = ruby.find_element(By.CSS_SELECTOR, "details.backtrace pre")
    assert not trace.is_displayed()
    ruby.find_element(By.CSS_SELECTOR, "details.backtrace summary").click()
    assert trace.is_displayed() and "archive.rb:10" in trace.text
    ruby.find_element(By.CSS_SELECTOR, "form.retry button").click()
    retried = _wait(driver, lambda d: ruby.find_elements(By.CSS_SELECTOR, ".retried-at"))
    assert retried[0].text.startswith("Retried ")
    assert r.llen("resque:queue:critical") == 3
    driver.find_element(By.LINK_TEXT, "Queues").click()
    driver.find_element(By.LINK_TEXT, "critical").click()
    _wait(driver, lambda d: d.find_element(By.TAG_NAME, "h1").text == "Pending jobs on critical")
    rows = driver.find_elements(By.CSS_SELECTOR, "table.jobs tbody tr")
    assert len(rows) == 3 and 'Archive' in rows[-1].text and '"masterbrew"' in rows[-1].text


def test_remove_a_queue_through_the_confirmation(ui, r):
    driver, base, client = ui
    By = _by()
    client.enqueue_to("doomed", "Thing", 1)
    client.enqueue_to("kept", "Thing", 2)
    driver.get(base + "/queues/doomed")
    driver.find_element(By.XPATH, "//button[normalize-space()='Remove queue']").click()
    alert = _wait(driver, lambda d: d.switch_to.alert)
    assert "doomed" in alert.text
    alert.accept()
    _wait(driver, lambda d: d.current_url.endswith(PREFIX + "/queues"))
    assert _size(driver, "doomed") is None and _size(driver, "kept") == "1"
    assert client.queues() == ["kept"]


def test_live_mode_updates_counts_without_reloading(ui, r):
    driver, base, client = ui
    By = _by()
    client.enqueue_to("live", "Thing", 1)
    driver.get(base + "/overview")
    driver.execute_script("window.__stillHere = 42")
    toggle = driver.find_element(By.ID, "live-toggle")
    toggle.click()
    assert toggle.get_attribute("aria-pressed") == "true"
    client.enqueue_to("live", "Thing", 2)
    client.enqueue_to("fresh", "Thing", 3)
    _wait(driver, lambda d: _size(d, "live") == "2" and _size(d, "fresh") == "1")
    client.store.register_worker(PY_WORKER, "2024-05-01 12:34:56 +0000")
    client.store.set_worker_job(PY_WORKER, b'{"queue":"live","run_at":"2024-05-01T12:35:00Z",'
                                           b'"payload":{"class":"Thing","args":[1]}}')
    _wait(driver, lambda d: _text(d, "#working-count") == "1")
    assert driver.execute_script("return window.__stillHere") == 42
    assert driver.find_element(By.ID, "live-status").text.startswith("Last updated")
    driver.get(base + "/working")  # the choice is remembered across pages
    assert driver.find_element(By.ID, "live-toggle").get_attribute("aria-pressed") == "true"
    driver.find_element(By.ID, "live-toggle").click()
    assert driver.execute_script("return window.localStorage.getItem('resque-live')") == "0"


def test_pages_fit_a_phone_screen(ui, r):
    driver, base, client = ui
    seed(r, client)
    for i in range(3):
        python_failure(client, message="a rather long message " * 8 + str(i))
    driver.set_window_size(390, 844)
    for path in ("/overview", "/failed", "/workers", "/queues/critical", "/stats/keys",
                 f"/workers/{RUBY_WORKER}"):
        driver.get(base + path)
        overflow = driver.execute_script(
            "return document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, (path, overflow)


SHOTS = {
    "overview": "/overview", "working": "/working", "failed": "/failed",
    "queues": "/queues", "queue": "/queues/critical", "workers": "/workers",
    "worker": f"/workers/{RUBY_WORKER}", "workers-host": f"/workers/{RUBY_HOST}",
    "stats": "/stats/resque", "keys": "/stats/keys",
}


def test_screenshots(ui, r, tmp_path):
    driver, base, client = ui
    seed(r, client)
    seed_busy_day(r, time.time())  # the overview's charts, with a day of history
    target = Path(os.environ.get("RESQUE_SCREENSHOTS") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)
    shots = dict(SHOTS)
    for name, path in shots.items():
        driver.get(base + path)
        assert driver.save_screenshot(str(target / f"{name}.png")), name
    driver.set_window_size(390, 844)
    for name in ("overview", "failed"):
        driver.get(base + shots[name])
        driver.save_screenshot(str(target / f"phone-{name}.png"))
    for png in target.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(list(target.glob("*.png"))) >= len(shots) + 2

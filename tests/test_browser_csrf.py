"""CSRF attacks in a real headless Chromium, from a second local server on another port.

Cookies ignore ports, so a page on ``127.0.0.1:<other port>`` can plant a
``resque_csrf`` cookie that the browser then sends to the app, and a
cross-site 307 redirect turns its form POST into one with ``Origin: null``.
Both attacks must leave the queue in place.
"""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator
from urllib.parse import urlsplit

import pytest

from tests.test_browser import PREFIX, _by, _wait, driver, site  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser
PLANTED = "A" * 43


class Attacker(BaseHTTPRequestHandler):
    """A hostile site: plants a cookie, then posts a form through a 307 bounce."""

    target = ""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        pass

    def _send(self, status: int, body: str = "", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body.encode())))
        self.end_headers()
        self.wfile.write(body.encode())

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        path = urlsplit(self.target).path
        plant = f"resque_csrf={PLANTED}; Path={path}"
        action = "/bounce" if self.path == "/redirect-attack" else self.target
        form = (f'<form id="f" method="post" action="{action}">'
                f'<input name="action" value="remove"><input name="_csrf" value="{PLANTED}"></form>'
                '<script>document.getElementById("f").submit()</script>')
        self._send(200, form, {"Set-Cookie": plant})

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._send(307, "", {"Location": self.target})


@pytest.fixture
def attacker(site: tuple[str, Any]) -> Iterator[tuple[str, str]]:  # noqa: F811 - fixture
    base, _ = site
    target = base + "/queues/doomed"
    handler = type("Bound", (Attacker,), {"target": target})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", target
    server.shutdown()
    server.server_close()


def _victim(driver: Any, site: tuple[str, Any], r: Any) -> Any:  # noqa: F811 - fixture
    base, client = site
    r.flushall()
    client.enqueue_to("doomed", "Thing", 1)
    driver.delete_all_cookies()
    driver.get(base + "/overview")  # the operator has the app open: a real cookie
    return client


def test_cross_site_307_redirect_attack_fails(driver, site, r, attacker):  # noqa: F811
    evil, target = attacker
    client = _victim(driver, site, r)
    driver.get(evil + "/redirect-attack")
    _wait(driver, lambda d: d.current_url == target)
    By = _by()
    assert "Cross-origin request refused" in driver.find_element(By.TAG_NAME, "body").text
    assert client.queues() == ["doomed"] and client.size("doomed") == 1


def test_planted_cookie_attack_fails(driver, site, r, attacker):  # noqa: F811
    evil, target = attacker
    client = _victim(driver, site, r)
    driver.get(evil + "/direct-attack")  # plants the cookie, posts straight to the app
    _wait(driver, lambda d: d.current_url == target)
    assert client.queues() == ["doomed"]
    cookies = [c for c in driver.get_cookies() if c["name"] == "resque_csrf"]
    assert PLANTED in [c["value"] for c in cookies] and len(cookies) == 2
    # Even a same-origin request (past every Origin check) that echoes the
    # planted value as its token is refused: the token must be signed.
    driver.get(site[0] + "/queues/doomed")
    status = driver.execute_async_script(
        "var done = arguments[arguments.length - 1];"
        "fetch(location.href, {method: 'POST', credentials: 'same-origin',"
        " headers: {'Content-Type': 'application/x-www-form-urlencoded'},"
        " body: 'action=remove&_csrf=' + arguments[0]}).then(function (r) { done(r.status); });",
        PLANTED)
    assert status == 403 and client.queues() == ["doomed"]
    # The operator's own button still works with the planted cookie present.
    By = _by()
    driver.execute_script("window.confirm = function () { return true; };")
    driver.find_element(By.XPATH, "//button[normalize-space()='Remove queue']").click()
    _wait(driver, lambda d: d.current_url.endswith(PREFIX + "/queues"))
    assert client.queues() == []

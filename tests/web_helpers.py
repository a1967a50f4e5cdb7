"""Shared by the web tests: Ruby-shaped and Python-written data, a CSRF-aware client."""
from __future__ import annotations

import json
import re
from html import unescape
from html.parser import HTMLParser
from typing import Any, Iterator
from urllib.parse import urlencode

import pytest
import redis
from falcon import testing

from resque import Registry, Resque
from resque._compat import dumps
from resque.keys import run_at, started_at

RUBY_HOST = "ruby-box.example.com"
RUBY_WORKER = f"{RUBY_HOST}:4242:critical,high,*"
RUBY_IDLE = f"{RUBY_HOST}:4243:low"
PY_HOST = "py-box"
PY_WORKER = f"{PY_HOST}:777:py_q,high"
ACTIVEJOB = "ActiveJob::QueueAdapters::ResqueAdapter::JobWrapper"

# Byte-exact records as Ruby Resque 3.0 writes them (reference sections 2, 4.10, 4.12).
RUBY_FAILURE = {
    "failed_at": "2024/05/01 12:34:56 UTC",
    "payload": {"class": "Archive", "args": [44, "masterbrew"]},
    "exception": "NameError",
    "error": "uninitialized constant Archive",
    "backtrace": ["/app/lib/archive.rb:10:in `perform'", "/app/lib/archive.rb:3:in `run'"],
    "worker": RUBY_WORKER,
    "queue": "critical",
}
RUBY_DIRTY = {
    "failed_at": "2024/05/02 08:00:00 EST",
    "payload": {"class": ACTIVEJOB, "args": [{"job_class": "NotifyJob", "job_id": "a1",
                                              "queue_name": "mail", "arguments": [7]}]},
    "exception": "Resque::DirtyExit",
    "error": "Child process received unhandled signal pid 99 SIGKILL (signal 9)",
    "backtrace": [],
    "worker": RUBY_IDLE,
    "queue": "mail",
    "retried_at": "2024/05/02 09:00:00 EST",
}


def ruby_json(value: Any) -> bytes:
    """Encode like Ruby's JSON: compact, raw UTF-8."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def seed_ruby(r: "redis.Redis[bytes]", ns: str = "resque") -> None:
    """Write what a Ruby app and Ruby workers leave in Redis."""
    r.sadd(f"{ns}:queues", "critical", "mail")
    r.rpush(f"{ns}:queue:critical", b'{"class":"Archive","args":[44,"masterbrew"]}')
    r.rpush(f"{ns}:queue:critical", b'{"class": "Reports::Monthly", "args": [2024], "extra": true}')
    r.rpush(f"{ns}:queue:mail", ruby_json({"class": ACTIVEJOB, "args": [
        {"job_class": "WelcomeMailer", "job_id": "j-1", "queue_name": "mail", "arguments": ["ann"]}]}))
    for wid in (RUBY_WORKER, RUBY_IDLE):
        r.sadd(f"{ns}:workers", wid)
        r.set(f"{ns}:worker:{wid}:started", "2024-05-01 12:34:56 +0000")
        r.hset(f"{ns}:workers:heartbeat", wid, "2024-05-01T12:34:56+00:00")
    r.set(f"{ns}:worker:{RUBY_WORKER}", ruby_json(
        {"queue": "critical", "run_at": "2024-05-01T12:35:00Z",
         "payload": {"class": "Archive", "args": [44, "masterbrew"]}}))
    r.set(f"{ns}:stat:processed:{RUBY_WORKER}", 12)
    r.set(f"{ns}:stat:failed:{RUBY_WORKER}", 2)
    r.incrby(f"{ns}:stat:processed", 12)
    r.incrby(f"{ns}:stat:failed", 2)
    r.rpush(f"{ns}:failed", ruby_json(RUBY_FAILURE), ruby_json(RUBY_DIRTY))


def python_failure(client: Resque, queue: str = "py_q", worker: str = PY_WORKER,
                   payload: Any = None, message: str = "disk full") -> bytes:
    """Record a failure the way a Python worker does."""
    try:
        raise OSError(message)
    except OSError as exc:
        return client.failure.record(exc, worker, queue,
                                     payload or {"class": "tests.jobs.Record", "args": ["x", 1]})


def seed_python(client: Resque) -> None:
    """Write what this library's client and workers leave in Redis."""
    client.enqueue_to("py_q", "tests.jobs.Record", "hello", {"n": 1})
    client.enqueue_to("high", "Mail::Deliver", "a@b.c")
    store = client.store
    store.register_worker(PY_WORKER, started_at())
    store.heartbeat(PY_WORKER, "2099-01-01T00:00:00+00:00")
    store.set_worker_job(PY_WORKER, dumps({"queue": "py_q", "run_at": run_at(),
                                           "payload": {"class": "tests.jobs.Record", "args": [3]}}))
    client.stats.incr("processed", 5)
    client.stats.incr("processed:" + PY_WORKER, 5)
    python_failure(client)


def seed(r: "redis.Redis[bytes]", client: Resque) -> None:
    seed_ruby(r, client.namespace)
    seed_python(client)


@pytest.fixture(autouse=True)
def no_auth_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep a developer's RESQUE_WEB_USER/PASSWORD out of the tests."""
    monkeypatch.delenv("RESQUE_WEB_USER", raising=False)
    monkeypatch.delenv("RESQUE_WEB_PASSWORD", raising=False)


@pytest.fixture
def web(r: "redis.Redis[bytes]", client: Resque, shared_app: Any) -> "Web":
    """A browser-like client on the shared app, with mixed Ruby/Python data seeded."""
    seed(r, client)
    return Web(shared_app)


@pytest.fixture(scope="module")
def shared_app(redis_server: Any) -> Any:
    """One app per test module (templates compile once) on the test server."""
    from resque.web import create_app

    return create_app(Resque(redis_server.url, registry=Registry()), user="", password="")


class Web:
    """A Falcon test client that keeps the CSRF cookie and form token like a browser."""

    def __init__(self, app: Any, root_path: str = ""):
        self.client = testing.TestClient(app)
        self.root_path = root_path
        self.nonce: str | None = None
        self.token: str | None = None

    def get(self, path: str, **kwargs: Any) -> testing.Result:
        kwargs.setdefault("root_path", self.root_path)
        if self.nonce is not None:
            kwargs.setdefault("cookies", {"resque_csrf": self.nonce})
        result = self.client.simulate_get(path, **kwargs)
        cookie = result.cookies.get("resque_csrf")
        if cookie is not None:
            self.nonce = cookie.value
        found = re.search(r'name="csrf-token" content="([^"]+)"', result.text)
        if found:
            self.token = found.group(1)
        return result

    def csrf(self) -> str:
        """Return the form token (reading a page for it if none was seen yet)."""
        if self.token is None:
            self.get("/overview")
        assert self.token
        return self.token

    def cookie(self) -> str:
        """Return the CSRF cookie's nonce."""
        self.csrf()
        assert self.nonce
        return self.nonce

    def post(self, path: str, fields: dict[str, Any], *, token: str | None = None,
             cookie: str | None = None, headers: dict[str, str] | None = None,
             send_token: bool = True, send_cookie: bool = True) -> testing.Result:
        body = dict(fields)
        if send_token:
            body["_csrf"] = token if token is not None else self.csrf()
        cookies = {"resque_csrf": cookie if cookie is not None else self.cookie()} if send_cookie else None
        hdrs = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
        return self.client.simulate_post(path, body=urlencode(body), headers=hdrs,
                                         cookies=cookies, root_path=self.root_path)


def text_of(html: str) -> str:
    """Return the visible text of an HTML page, whitespace collapsed."""
    no_tags = re.sub(r"<[^>]+>", " ", html)
    return re.sub(r"\s+", " ", unescape(no_tags)).replace(" ,", ",").strip()


def form_fields(html: str, action: str) -> list[dict[str, str]]:
    """Return the hidden fields of every form whose action value is ``action``."""
    out = []
    for m in re.finditer(r"<form[^>]*>(.*?)</form>", html, re.S):
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', m.group(1)))
        fields = {k: unescape(v) for k, v in fields.items()}
        if fields.get("action") == action:
            out.append(fields)
    return out


class Links(HTMLParser):
    """Collect the local links, form actions and sources of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src", "action") and value and value.startswith("/"):
                self.found.append(value.split("#")[0])


CRAWL_START = ["/", "/overview", "/working", "/queues", "/workers", "/failed", "/stats/resque",
               "/stats/redis", "/stats/keys", "/stats.txt", "/metrics", "/api", "/api/overview",
               "/api/stats/redis", "/api/stats/resque", "/api/queues", "/api/failed",
               "/no/such/page", "/stats/keys/no-such-key"]


def crawl(test_client: testing.TestClient, limit: int = 120) -> Iterator[tuple[str, testing.Result, str]]:
    """GET every page reachable from the tabs; yield path, result and body plus headers."""
    todo, seen = list(CRAWL_START), set()
    while todo and len(seen) < limit:
        path = todo.pop(0)
        if path in seen or path.startswith("/static"):
            continue
        seen.add(path)
        res = test_client.simulate_get(path)
        yield path, res, res.text + json.dumps(dict(res.headers))
        if "html" in res.headers.get("content-type", ""):
            links = Links()
            links.feed(res.text)
            todo += [p for p in links.found if p not in seen]

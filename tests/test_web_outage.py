"""``resque web`` with Redis down: one warning at start, 503 pages, one line per outage."""
from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import RedisServer, wait_for
from tests.test_web_cli import URL_LINE

ROOT = Path(__file__).resolve().parent.parent


def _status(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=20) as resp:  # noqa: S310 - local test server
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.fixture
def stopped_redis():
    server = RedisServer(aof=False, tcp=True)
    yield server
    server.cleanup()


def test_web_with_redis_down_warns_once_serves_503_and_logs_one_line_per_outage(stopped_redis):
    server = stopped_redis
    env = {k: v for k, v in os.environ.items() if k not in ("RESQUE_REDIS_URL", "REDIS_URL",
                                                         "RESQUE_WEB_USER", "RESQUE_WEB_PASSWORD")}
    env["PYTHONPATH"] = str(ROOT)
    redis_url = f"redis://127.0.0.1:{server.port}/0"
    proc = subprocess.Popen([sys.executable, "-m", "resque", "web", "-r", redis_url, "-p", "0"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        assert ready, "resque web printed no URL"
        line = proc.stdout.readline() if proc.stdout else ""
        match = URL_LINE.search(line)
        assert match, line
        base = match.group(1)
        for path in ("overview", "failed", "api/overview", "stats.txt", "workers"):
            status, body = _status(base + path)
            assert status == 503 and "Redis unavailable" in body, (path, status)
        server.start()
        assert wait_for(lambda: _status(base + "overview")[0] == 200, 30)
        server.stop()
        for path in ("overview", "queues", "metrics"):
            assert _status(base + path)[0] == 503
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert "Traceback" not in err, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len([ln for ln in lines if "unreachable at start-up" in ln]) == 1, err
    assert len([ln for ln in lines if "answers again" in ln]) == 1, err
    assert len([ln for ln in lines if "unreachable now" in ln]) == 1, err
    assert len(lines) == 3, err


def test_create_app_warns_once_when_redis_is_down(stopped_redis, caplog):
    from resque import Registry, Resque
    from resque.web import create_app
    from falcon import testing

    client = Resque(f"redis://127.0.0.1:{stopped_redis.port}/0", registry=Registry())
    with caplog.at_level("WARNING"):
        app = testing.TestClient(create_app(client, user="", password=""))
        for _ in range(3):
            res = app.simulate_get("/overview")
            assert res.status_code == 503 and "Redis unavailable" in res.text
    messages = [rec.getMessage() for rec in caplog.records]
    assert len(messages) == 1 and "unreachable at start-up" in messages[0], messages
    assert all(rec.exc_info is None for rec in caplog.records)

"""``resque demo``: sample jobs drained by real worker processes."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import redis
from click.testing import CliRunner

from resque import Registry, Resque
from resque import demo_jobs
from resque.cli import demo as demo_cli
from resque.cli import main
from tests.helpers import free_port

ROOT = Path(__file__).resolve().parent.parent


def _failures(r):
    return [json.loads(x) for x in r.lrange("resque:failed", 0, -1)]


def _assert_drained(r, count):
    rq = Resque(r, registry=Registry())
    assert [rq.size(q) for q in demo_jobs.QUEUES] == [0, 0]
    assert rq.workers() == []
    assert rq.stats.get("processed") == count
    failing = [args for cls, args in demo_jobs.plan(count) if cls is demo_jobs.Failing]
    records = _failures(r)
    assert len(records) == len(failing) > 0
    assert {tuple(f["payload"]["args"]) for f in records} == set(failing)
    assert {f["exception"] for f in records} == {"resque.demo_jobs.PaymentDeclined"}
    assert {f["payload"]["class"] for f in records} == {"Demo::Failing"}
    assert {f["queue"] for f in records} == {demo_jobs.HIGH}


def test_plan_mixes_fast_slow_and_failing_jobs():
    kinds = [cls for cls, _ in demo_jobs.plan(200)]
    assert (kinds.count(demo_jobs.Fast), kinds.count(demo_jobs.Slow),
            kinds.count(demo_jobs.Failing)) == (140, 30, 30)


def test_demo_without_web_drains_jobs_keeps_failures_and_stops_workers(r, redis_url):
    result = CliRunner().invoke(main, ["-r", redis_url, "demo", "--no-web", "--jobs", "20",
                                       "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert "Enqueued 20 jobs" in result.output
    assert "Worked off 20 jobs" in result.output
    assert "3 failed on purpose" in result.output
    _assert_drained(r, 20)


def test_demo_serves_the_web_app_until_interrupted(r, redis_url, monkeypatch):
    port = free_port()
    seen = {}

    def factory(client):
        seen["namespace"] = client.namespace

        def app(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"web ui here"]
        return app

    monkeypatch.setattr(demo_cli, "_app_factory", lambda: factory)

    def visit_then_interrupt():
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as resp:
                    seen["body"] = resp.read()
                break
            except OSError:
                time.sleep(0.05)
        signal.pthread_kill(threading.main_thread().ident, signal.SIGTERM)

    visitor = threading.Thread(target=visit_then_interrupt, daemon=True)
    visitor.start()
    result = CliRunner().invoke(main, ["-r", redis_url, "demo", "--jobs", "20", "--port", str(port)])
    visitor.join(5)
    assert result.exit_code == 0, result.output
    assert seen == {"namespace": "resque", "body": b"web ui here"}
    assert f"Web UI: http://127.0.0.1:{port}/" in result.output
    assert "Stopping the workers." in result.output
    _assert_drained(r, 20)
    assert signal.getsignal(signal.SIGTERM) is not demo_cli._interrupt


def test_demo_runs_on_the_embedded_server_when_nothing_is_configured():
    data = Path(tempfile.mkdtemp(prefix="rq-demo-"))
    env = {k: v for k, v in os.environ.items() if k not in ("RESQUE_REDIS_URL", "REDIS_URL")}
    env["RESQUE_DATA_DIR"] = str(data)
    resque_cmd = [sys.executable, "-m", "resque"]
    try:
        proc = subprocess.run([*resque_cmd, "demo", "--no-web", "--jobs", "20"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "using the embedded Redis server" in proc.stderr
        assert "`resque server stop` stops it" in proc.stdout

        _assert_drained(redis.Redis(unix_socket_path=str(data / "redis.sock")), 20)
    finally:
        subprocess.run([*resque_cmd, "server", "stop"], cwd=ROOT, env=env, capture_output=True,
                       timeout=30)
        shutil.rmtree(data, ignore_errors=True)

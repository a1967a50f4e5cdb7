"""The FastAPI example: a request enqueues a job, a real ``resque work`` runs it."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import resque.aio

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "fastapi_signup"


def test_a_signup_request_enqueues_a_job_that_a_worker_runs(redis_url, r, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLE))
    from app import create_app

    with TestClient(create_app(resque.aio.Resque(redis_url))) as http:
        first = http.post("/signups", json={"email": "ada@example.com"})
        second = http.post("/signups", json={"email": "alan@example.com"})
        refused = http.post("/signups", json={"mail": "nobody"})
    assert first.status_code == 202 and first.json() == {"queued": "Signup::SendWelcome", "pending": 1}
    assert second.json()["pending"] == 2
    assert refused.status_code == 422
    assert r.lrange("resque:queue:mail", 0, -1) == [
        b'{"class":"Signup::SendWelcome","args":["ada@example.com"]}',
        b'{"class":"Signup::SendWelcome","args":["alan@example.com"]}']

    outbox = tmp_path / "outbox.txt"
    worker = subprocess.run(
        [sys.executable, "-m", "resque", "--redis", redis_url, "work", "-q", "mail",
         "--interval", "0", "-A", str(EXAMPLE / "jobs.py")],
        env={**os.environ, "WELCOME_OUTBOX": str(outbox)},
        capture_output=True, text=True, timeout=60)
    assert worker.returncode == 0, worker.stderr
    assert outbox.read_text() == "Welcome, ada@example.com!\nWelcome, alan@example.com!\n"
    assert r.llen("resque:queue:mail") == 0 and r.llen("resque:failed") == 0

"""``resque work --log-format json|text``: one JSON object per line; Ruby's verbosity still works."""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from resque import Resque
from resque.client import default_registry
from resque.logs import JsonFormatter
from tests import jobs

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def env(redis_url):
    e = dict(os.environ, RESQUE_REDIS_URL=redis_url, PYTHONPATH=str(ROOT))
    for var in ("QUEUE", "QUEUES", "VERBOSE", "VVERBOSE", "LOGGING", "RESQUE_LOG_FORMAT",
                "INTERVAL"):
        e.pop(var, None)
    return e


def run_worker(r, env, *args, extra=None):
    rq = Resque(r, registry=default_registry)
    rq.enqueue(jobs.Record, "x")
    rq.enqueue(jobs.Boom, "no")
    rq.enqueue(jobs.Suicide, "kill")
    out = subprocess.run([sys.executable, "-m", "resque", "work", "-A", "tests.jobs",
                          "--queues", "high", "--interval", "0", *args],
                         cwd=ROOT, env={**env, **(extra or {})}, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stderr.splitlines()


def test_json_gives_one_object_per_line_and_one_line_per_job(r, env):
    lines = run_worker(r, env, "--log-format", "json")
    records = [json.loads(line) for line in lines]  # every line is JSON
    per_job = [rec for rec in records if rec["logger"] == "resque.jobs"]
    assert [(rec["class"], rec["outcome"]) for rec in per_job] == [
        ("Record", "done"), ("Boom", "failed"), ("Suicide", "dirty_exit")]
    for rec in per_job:
        assert rec["queue"] == "high" and rec["worker"].endswith(":high")
        assert isinstance(rec["duration"], float) and rec["duration"] >= 0
        assert rec["level"] == "info" and rec["time"].endswith("Z")
    assert any(rec["level"] == "error" and "Boom" in rec["message"] for rec in records)


def test_json_quiet_keeps_only_warnings_and_errors(r, env):
    records = [json.loads(line) for line in run_worker(r, env, "--log-format", "json", "--quiet")]
    assert records and all(rec["level"] in ("warning", "error") for rec in records)


@pytest.mark.parametrize("how", ["-v", "VERBOSE", "LOGGING"])
def test_text_shows_job_lines_with_ruby_verbosity(r, env, how):
    args, extra = (["-v"], None) if how == "-v" else ([], {how: "1"})
    lines = run_worker(r, env, "--log-format", "text", *args, extra=extra)
    done = [line for line in lines if "done: Job('high', 'Record'" in line]
    assert len(done) == 1
    with pytest.raises(ValueError):
        json.loads(lines[0])


def test_text_without_verbosity_has_no_job_lines(r, env):
    lines = run_worker(r, env)
    assert not any("done: Job(" in line for line in lines)


def test_vverbose_gives_the_detailed_text_format(r, env):
    lines = run_worker(r, env, extra={"VVERBOSE": "1"})
    assert any(" INFO resque.jobs: done: Job('high', 'Record'" in line for line in lines)


def test_the_environment_chooses_the_format(r, env):
    lines = run_worker(r, env, extra={"RESQUE_LOG_FORMAT": "json"})
    assert all(json.loads(line) for line in lines)


def test_formatter_puts_job_fields_at_the_top_level():
    record = logging.LogRecord("resque.jobs", logging.INFO, __file__, 1, "done: %s", ("J",), None)
    record.resque = {"worker": "h:1:q", "queue": "q", "class": "A", "duration": 0.5,  # type: ignore[attr-defined]
                     "outcome": "done"}
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "done: J" and line["class"] == "A" and line["duration"] == 0.5


def test_workers_under_a_supervisor_get_the_log_format_too():
    from resque.cli.work import _forward

    args = _forward({"log_format": "json", "verbose": 1, "quiet": False, "fork": None})
    assert args[:2] == ["--log-format", "json"] and "-v" in args

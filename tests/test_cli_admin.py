"""The admin commands: queues, failures, workers and counters against a real Redis."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from resque.cli import main
from resque.cli.admin import table
from tests.helpers import wait_for

ROOT = Path(__file__).resolve().parent.parent
HOST = socket.gethostname()
JOB = b'{"queue":"high","run_at":"2024-05-01T12:34:56Z","payload":{"class":"Archive","args":[7]}}'


@pytest.fixture
def cli(client, redis_url, monkeypatch):
    """Run ``resque -r <test redis> ARGS``; exceptions other than exits propagate."""
    monkeypatch.delenv("FAILURE_BACKEND", raising=False)
    runner = CliRunner()

    def run(*args, code=0, input=None):
        result = runner.invoke(main, ["-r", redis_url, *args], input=input, catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result

    return run


def as_json(result):
    return json.loads(result.stdout)


def fail(client, queue, cls, args, error="boom"):
    try:
        raise ValueError(error)
    except ValueError as exc:
        return client.failure.record(exc, f"{HOST}:1:{queue}", queue, {"class": cls, "args": args})


# -- the table printer ------------------------------------------------------------


def test_table_aligns_columns_escapes_control_characters_and_cuts_long_cells():
    out = table(["A", "LONGER"], [("x\x1b[31m", None), ("yy", [1, "two"]), ("z" * 20, 1)], width=10)
    assert out.splitlines() == [
        "A           LONGER",
        "x\\x1b[31m",
        "yy          [1, \"two\"]",
        "zzzzzzzzz…  1",
    ]
    assert table(["A"], []) == ""


# -- queues ---------------------------------------------------------------------------


def test_queues_lists_names_and_sizes_as_table_and_json(cli, client):
    assert cli("queues").output.strip() == "No queues"
    client.enqueue_to("high", "Archive", 1)
    client.enqueue_to("high", "Archive", 2)
    client.enqueue_to("low", "Mail::Deliver")
    assert cli("queues").output.splitlines() == ["QUEUE  SIZE", "high   2", "low    1"]
    assert as_json(cli("queues", "--json")) == {"high": 2, "low": 1}


def test_peek_shows_a_window_without_removing_jobs(cli, client, r):
    for i in range(5):
        client.enqueue_to("high", "Archive", i, "x")
    r.rpush("resque:queue:high", b"not json")
    lines = cli("peek", "high", "--start", "1", "--count", "2").output.splitlines()
    assert lines == ["#  CLASS    ARGS", '1  Archive  [1, "x"]', '2  Archive  [2, "x"]']
    assert as_json(cli("peek", "high", "--start", "4", "--count", "1", "--json")) == \
        [{"class": "Archive", "args": [4, "x"]}]
    assert cli("peek", "high", "--start", "5", "--count", "1").output.splitlines()[1] == "5  ?      not json"
    assert cli("peek", "high", "--start", "9").output.strip() == "No jobs in high from 9"
    assert r.llen("resque:queue:high") == 6


def test_enqueue_writes_rubys_payload_bytes(cli, r):
    assert cli("enqueue", "high", "Archive", '[44, "masterbrew"]').output.strip() == "Enqueued Archive on high"
    cli("enqueue", "low", "Mail::Deliver")
    out = as_json(cli("enqueue", "high", "Archive", '[{"a": 1}]', "--json"))
    assert out == {"queue": "high", "class": "Archive", "args": [{"a": 1}]}
    assert r.lrange("resque:queue:high", 0, -1) == [b'{"class":"Archive","args":[44,"masterbrew"]}',
                                                   b'{"class":"Archive","args":[{"a":1}]}']
    assert r.lrange("resque:queue:low", 0, -1) == [b'{"class":"Mail::Deliver","args":[]}']
    assert r.smembers("resque:queues") == {b"high", b"low"}


def test_enqueue_rejects_bad_arguments_with_a_clear_message(cli, r):
    assert "must be a JSON array" in cli("enqueue", "high", "Archive", '{"a": 1}', code=2).output
    assert "not JSON" in cli("enqueue", "high", "Archive", "[1,", code=2).output
    assert "Jobs must be given a class" in cli("enqueue", "high", "", code=1).output
    assert r.exists("resque:queue:high") == 0


def test_clear_empties_a_queue_but_keeps_it_listed(cli, client, r):
    client.enqueue_many("Archive", [[1], [2], [3]], queue="high")
    assert cli("clear", "high").output.strip() == "Cleared 3 jobs from high"
    assert as_json(cli("clear", "high", "--json")) == {"queue": "high", "cleared": 0}
    assert r.llen("resque:queue:high") == 0 and r.smembers("resque:queues") == {b"high"}


def test_an_unreachable_redis_is_a_one_line_error(tmp_path):
    result = CliRunner().invoke(main, ["-r", f"unix://{tmp_path}/none.sock", "queues"])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: Redis at unix://{tmp_path}/none.sock/resque:")
    assert "Traceback" not in result.output


# -- failures ---------------------------------------------------------------------------


@pytest.fixture
def four(client):
    """Four failures: three of Archive on high, one Mail::Deliver on low."""
    fail(client, "high", "Archive", [0], "first")
    fail(client, "low", "Mail::Deliver", [], "second")
    fail(client, "high", "Archive", [2], "third")
    fail(client, "high", "Archive", [3], "fourth\nline \x1b[2J")
    return [f.id for f in client.failure.all(0, 4)]


def listed(cli, *args):
    return as_json(cli("failed", "list", "--json", *args))


def test_failed_list_shows_oldest_first_with_filters_and_window(cli, four):
    rows = listed(cli)
    assert [f["id"] for f in rows] == four
    assert rows[1]["queue"] == "low" and rows[1]["class"] == "Mail::Deliver" and rows[1]["error"] == "second"
    assert rows[0]["exception"] == "ValueError" and rows[0]["args"] == [0] and rows[0]["list"] == "failed"
    assert [f["id"] for f in listed(cli, "--queue", "low")] == [four[1]]
    assert [f["id"] for f in listed(cli, "--class", "Archive", "--start", "1", "--count", "1")] == [four[2]]
    assert [f["id"] for f in listed(cli, "--start", "2")] == four[2:]
    text = cli("failed", "list").output.splitlines()
    assert text[0].split() == ["ID", "FAILED", "AT", "QUEUE", "CLASS", "EXCEPTION", "ERROR", "RETRIED"]
    assert text[4].startswith(four[3]) and "fourth\\nline \\x1b[2J" in text[4]
    assert cli("failed", "list", "--queue", "none").output.strip() == "No failed jobs"


def test_failure_ids_stay_stable_while_the_list_changes(cli, client, four):
    cli("failed", "remove", four[0])
    fail(client, "high", "Archive", [9], "later")
    rows = listed(cli)
    assert [f["id"] for f in rows[:3]] == four[1:] and len(rows) == 4
    assert as_json(cli("failed", "show", four[2], "--json"))["error"] == "third"


def test_failed_show_prints_every_field_and_the_backtrace(cli, four):
    out = cli("failed", "show", four[0]).output
    assert f"id:         {four[0]}" in out and "class:      Archive" in out and "error:      first" in out
    assert out.splitlines()[-2] == "backtrace:" and "in `fail'" in out.splitlines()[-1]
    data = as_json(cli("failed", "show", four[0][:6], "--json"))
    assert data["id"] == four[0] and data["worker"] == f"{HOST}:1:high" and data["retried_at"] is None


def test_unknown_failure_id_is_an_error(cli, four):
    for command in ("show", "retry", "remove"):
        out = cli("failed", command, "0000000000ff", code=1).output
        assert "no failed job with id '0000000000ff'" in out


def test_failed_retry_enqueues_the_job_and_marks_the_record(cli, r, four):
    out = as_json(cli("failed", "retry", four[2], "--json"))
    assert out["id"] == four[2] and out["class"] == "Archive" and out["queue"] == "high"
    assert r.lrange("resque:queue:high", 0, -1) == [b'{"class":"Archive","args":[2]}']
    rows = listed(cli)
    assert rows[2]["id"] == out["new_id"] != four[2] and rows[2]["retried_at"]
    assert "yes" in cli("failed", "list").output.splitlines()[3]
    assert cli("failed", "retry", code=2).output.count("give either an ID or --all") == 1
    assert "give either" in cli("failed", "retry", four[0], "--all", code=2).output


def test_failed_retry_all_can_narrow_to_a_queue_or_class(cli, r, four):
    assert as_json(cli("failed", "retry", "--all", "--queue", "low", "--json")) == {"retried": 1}
    assert r.llen("resque:queue:low") == 1 and r.llen("resque:queue:high") == 0
    assert cli("failed", "retry", "--all", "--class", "Archive").output.strip() == "Retried 3 failed jobs"
    assert r.llen("resque:queue:high") == 3
    cli("failed", "retry", "--all")
    assert r.llen("resque:queue:high") == 6 and r.llen("resque:failed") == 4
    assert "cannot be combined" in cli("failed", "retry", "--all", "-q", "a", "-c", "B", code=2).output


def test_failed_remove_deletes_only_that_record(cli, four):
    assert cli("failed", "remove", four[1]).output.strip() == f"Removed {four[1]}"
    assert [f["id"] for f in listed(cli)] == [four[0], four[2], four[3]]


def test_failed_clear_all_or_one_queue(cli, r, four):
    assert as_json(cli("failed", "clear", "--queue", "high", "--json")) == {"cleared": 3}
    assert [f["id"] for f in listed(cli)] == [four[1]]
    assert cli("failed", "clear").output.strip() == "Cleared 1 failed jobs"
    assert r.exists("resque:failed") == 0


def test_failed_clear_retried_deletes_only_retried_records(cli, four):
    cli("failed", "retry", four[1])
    cli("failed", "retry", four[3])
    assert as_json(cli("failed", "clear", "--retried", "--json")) == {"cleared": 2}
    assert [f["id"] for f in listed(cli)] == [four[0], four[2]]
    assert "give either --queue or --retried" in cli("failed", "clear", "--retried", "-q", "x", code=2).output


def test_failed_commands_span_lists_of_the_multi_queue_backend(cli, redis_url, r, monkeypatch):
    monkeypatch.setenv("FAILURE_BACKEND", "redis_multi_queue")
    from resque import Resque
    multi = Resque(redis_url)
    fail(multi, "high", "Archive", [1])
    fail(multi, "low", "Mail::Deliver", [2])
    rows = listed(cli)
    assert [(f["list"], f["class"]) for f in rows] == [("high_failed", "Archive"), ("low_failed", "Mail::Deliver")]
    assert [f["class"] for f in listed(cli, "--queue", "low")] == ["Mail::Deliver"]
    cli("failed", "retry", rows[1]["id"])
    assert r.lrange("resque:queue:low", 0, -1) == [b'{"class":"Mail::Deliver","args":[2]}']
    assert as_json(cli("failed", "clear", "--json")) == {"cleared": 2}
    assert r.exists("resque:high_failed", "resque:low_failed") == 0


# -- counters ---------------------------------------------------------------------------


def test_info_shows_rubys_fields(cli, client, r, redis_url):
    client.enqueue_to("high", "Archive", 1)
    r.set("resque:stat:processed", 12)
    r.sadd("resque:workers", "box:1:high")
    r.set("resque:worker:box:1:high", JOB)
    data = as_json(cli("info", "--json"))
    assert data == {"pending": 1, "processed": 12, "queues": 1, "workers": 1, "working": 1, "failed": 0,
                    "servers": [f"{redis_url}/resque"], "environment": data["environment"]}
    lines = cli("info").output.splitlines()
    assert "pending      1" in lines and "processed    12" in lines


def test_stats_shows_counters_per_worker_and_redis(cli, r):
    r.set("resque:stat:processed", 5)
    r.set("resque:stat:failed", 2)
    r.sadd("resque:workers", "box:1:high")
    r.set("resque:stat:processed:box:1:high", 4)
    data = as_json(cli("stats", "--json"))
    assert (data["processed"], data["failed"]) == (5, 2)
    assert data["workers"] == {"box:1:high": {"processed": 4, "failed": 0}}
    assert data["redis"]["redis_version"] == r.info()["redis_version"]
    out = cli("stats").output
    assert "processed  5" in out and "box:1:high  4          0" in out and "redis_version" in out


# -- workers ------------------------------------------------------------------------------


def test_list_prints_id_and_state_like_bin_resque(cli, r):
    assert cli("list").output == "None\n"
    r.sadd("resque:workers", "box:1:high", "box:2:low,*")
    r.set("resque:worker:box:1:high", JOB)
    assert cli("list").output.splitlines() == ["box:1:high (working)", "box:2:low,* (idle)"]
    rows = as_json(cli("list", "--json"))
    assert rows[0]["state"] == "working" and rows[0]["job"]["payload"]["class"] == "Archive"
    assert rows[1] == {"id": "box:2:low,*", "host": "box", "pid": 2, "queues": ["low", "*"], "state": "idle",
                       "job": None, "started": None, "heartbeat": None, "processed": 0, "failed": 0}


def test_prune_removes_dead_workers_and_fails_their_jobs(cli, r):
    dead = f"{HOST}:999996:high"
    r.sadd("resque:workers", dead, "other-host:5:high")
    r.set(f"resque:worker:{dead}", JOB)
    assert cli("prune").output.strip() == f"Pruned {dead}"
    assert r.smembers("resque:workers") == {b"other-host:5:high"}
    assert json.loads(r.lindex("resque:failed", 0))["error"] == "Job still being processed"
    assert as_json(cli("prune", "--json")) == []
    assert cli("prune").output.strip() == "No dead workers"


def test_remove_unregisters_and_fails_the_held_job(cli, r):
    r.sadd("resque:workers", "box:1:high", "box:2:high")
    r.set("resque:worker:box:1:high", JOB)
    assert cli("remove", "box:1:high").output.strip() == "Removed box:1:high (its job was recorded as failed)"
    rec = json.loads(r.lindex("resque:failed", 0))
    assert (rec["exception"], rec["error"], rec["worker"]) == (
        "Resque::DirtyExit", "Job still being processed", "box:1:high")
    assert as_json(cli("remove", "box:2:high", "--json")) == {"removed": "box:2:high", "failed_job": False}
    assert "no worker 'box:3:high' is registered" in cli("remove", "box:3:high", code=1).output
    assert r.scard("resque:workers") == 0



def test_kill_sigkills_a_running_worker_and_removes_it(cli, r, redis_url):
    env = {k: v for k, v in os.environ.items() if k not in ("QUEUE", "QUEUES", "RESQUE_REDIS_URL")}
    proc = subprocess.Popen([sys.executable, "-m", "resque", "-r", redis_url, "work", "-q", "killme",
                             "-i", "0.1"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wid = f"{HOST}:{proc.pid}:killme"
        wait_for(lambda: r.sismember("resque:workers", wid) and
                 b"resque-" in Path(f"/proc/{proc.pid}/cmdline").read_bytes())
        assert cli("kill", wid).output.strip() == f"{wid} killed and removed"
        assert proc.wait(10) == -signal.SIGKILL
        assert not r.sismember("resque:workers", wid)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def test_kill_spares_a_live_pid_that_is_not_a_worker_unless_forced(cli, r):
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        wid = f"{HOST}:{sleeper.pid}:high"
        r.sadd("resque:workers", wid)
        assert "is not a resque worker" in cli("kill", wid, code=1).output
        assert sleeper.poll() is None and r.sismember("resque:workers", wid)
        assert as_json(cli("kill", wid, "--force", "--json")) == {"removed": wid, "killed": True}
        assert sleeper.wait(10) == -signal.SIGKILL
    finally:
        if sleeper.poll() is None:
            sleeper.kill()
        sleeper.wait()


def test_kill_refuses_remote_workers_and_removes_stale_local_ones(cli, r):
    r.sadd("resque:workers", "elsewhere.example:7:high", f"{HOST}:999995:high")
    assert "runs on elsewhere.example, not on this host" in cli("kill", "elsewhere.example:7:high", code=1).output
    assert cli("kill", f"{HOST}:999995:high").output.strip() == f"{HOST}:999995:high was not running; removed"
    assert r.smembers("resque:workers") == {b"elsewhere.example:7:high"}
    assert "no worker" in cli("kill", "nobody:1:x", code=1).output


def test_pause_and_resume_set_rubys_global_flag(cli, client, r):
    assert as_json(cli("pause", "--json")) == {"paused": True}
    assert r.get("resque:pause-all-workers") == b"true" and client.paused()
    cli("resume")
    assert r.exists("resque:pause-all-workers") == 0 and not client.paused()

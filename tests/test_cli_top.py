"""``resque top``: the screen it draws, and quitting by key, EOF or frame count."""
from __future__ import annotations

import fcntl
import os
import select
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from resque.cli import main
from resque.cli.top import render_top, take_snapshot

ROOT = Path(__file__).resolve().parent.parent
T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z
RUN_AT = "2023-11-14T22:12:05Z"  # 75 s before T0


def busy_worker(r, wid="box:1:high", payload=b'{"class":"Archive","args":[1]}'):
    r.sadd("resque:workers", wid)
    r.set(f"resque:worker:{wid}", b'{"queue":"high","run_at":"' + RUN_AT.encode() + b'","payload":' + payload + b"}")


def test_first_screen_shows_queues_totals_and_working_workers(client, r):
    client.enqueue_many("Archive", [[1], [2], [3]], queue="high")
    client.enqueue_to("low", "Mail::Deliver")
    r.set("resque:stat:processed", 40)
    busy_worker(r)
    r.sadd("resque:workers", "box:2:low")
    lines = render_top(client, None, T0).splitlines()
    assert lines[0].startswith(f"resque top  {client.redis_id}  ")
    assert lines[1] == "processed 40 (-)   failed 0 (-)   pending 4   workers 2, 1 working"
    assert lines[3:6] == ["QUEUE  SIZE  CHANGE", "high   3     -", "low    1     -"]
    assert lines[7:] == ["WORKER      QUEUE  CLASS    RUNNING", "box:1:high  high   Archive  1m15s"]


def test_rates_compare_with_the_previous_snapshot(client, r):
    client.enqueue_many("Archive", [[1], [2], [3], [4]], queue="high")
    r.set("resque:stat:processed", 10)
    before = take_snapshot(client, T0)
    client.store.pop("high")
    client.store.pop("high")
    client.enqueue_to("new", "Archive")
    r.set("resque:stat:processed", 30)
    r.set("resque:stat:failed", 1)
    lines = render_top(client, before, T0 + 4).splitlines()
    assert lines[1].startswith("processed 30 (+5.0/s)   failed 1 (+0.2/s)   pending 3")
    assert lines[3:6] == ["QUEUE  SIZE  CHANGE", "high   2     -0.5/s", "new    1     +0.2/s"]


def test_empty_redis_says_so(client):
    lines = render_top(client, None, T0).splitlines()
    assert lines[3] == "No queues" and lines[5] == "No workers working"


def test_unreadable_job_record_does_not_break_the_screen(client, r):
    busy_worker(r, payload=b'"just text"')
    assert render_top(client, None, T0).splitlines()[-1] == "box:1:high  high   ?      1m15s"


@pytest.fixture
def run(client, redis_url):
    def invoke(*args, input=""):
        result = CliRunner().invoke(main, ["-r", redis_url, "top", *args], input=input,
                                    catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output.count("resque top  ")

    return invoke


def test_iterations_bound_the_frames_when_input_ends(run):
    assert run("-n", "3", "-i", "0.01") == 3


def test_end_of_input_stops_after_one_frame_without_iterations(run):
    assert run("-i", "0.01") == 1


def test_q_on_input_quits(run):
    assert run("-n", "50", "-i", "0.01", input="xq") == 1


def test_q_on_a_pipe_quits(client, redis_url):
    proc = subprocess.Popen([sys.executable, "-m", "resque", "-r", redis_url, "top", "-i", "0.05"],
                            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert proc.stdout is not None and proc.stdin is not None
        assert proc.stdout.readline().startswith(b"resque top  ")
        proc.stdin.write(b"q")
        proc.stdin.flush()
        out, _ = proc.communicate(timeout=10)
        assert proc.returncode == 0 and b"Traceback" not in out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def read_until(fd, marker, timeout=10.0):
    """Read a pty master until ``marker`` shows up (or the child closes it)."""
    data = b""
    deadline = time.monotonic() + timeout
    while marker not in data and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            data += chunk
    return data


def take_terminal() -> None:
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


@pytest.mark.parametrize("key", [b"q", b"\x03"], ids=["q", "ctrl-c"])
def test_on_a_terminal_a_key_quits_and_the_terminal_is_restored(client, redis_url, key):
    master, slave = os.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "resque", "-r", redis_url, "top", "-i", "0.05"],
                            cwd=ROOT, stdin=slave, stdout=slave, stderr=slave, preexec_fn=take_terminal)
    try:
        first = read_until(master, b"No workers working")
        assert b"\x1b[?1049h" in first and b"resque top  " in first
        assert not termios.tcgetattr(slave)[3] & termios.ICANON  # cbreak while running
        os.write(master, key)
        assert proc.wait(10) == 0
        rest = read_until(master, b"\x1b[?1049l", timeout=2)
        assert b"\x1b[?1049l" in rest and b"Traceback" not in rest
        assert termios.tcgetattr(slave)[3] & termios.ICANON
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
        os.close(slave)

"""``resque work`` exits 0 even when control signals arrive while the interpreter shuts down."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.helpers import ROOT, worker_env


def wait_for(check, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.mark.parametrize("late", [signal.SIGUSR1, signal.SIGUSR2, signal.SIGQUIT, signal.SIGCONT])
def test_signal_after_the_worker_stopped_still_exits_zero(r, redis_url, tmp_path, late):
    env = dict(worker_env(redis_url), LATE_EXIT_DIR=str(tmp_path))
    proc = subprocess.Popen([sys.executable, "-m", "resque", "work", "-q", "late", "--interval", "0.1",
                             "-A", "tests.late_exit_app"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: r.scard("resque:workers") == 1 or proc.poll() is not None)
        proc.send_signal(signal.SIGQUIT)
        wait_for(lambda: (tmp_path / "late").exists() or proc.poll() is not None)
        proc.send_signal(late)
        time.sleep(0.05)  # let the signal land while shutdown is held open (no assertion on time)
        (tmp_path / "go").touch()
        assert proc.wait(15) == 0, proc.stderr.read().decode() if proc.stderr else ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert r.scard("resque:workers") == 0

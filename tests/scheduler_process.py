"""Run ``resque scheduler`` as a real process for the process and chaos tests."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


class SchedulerProcess:
    """One ``resque scheduler`` subprocess with its log in a file."""

    def __init__(self, url: str, log: Path, *args: str, env: dict[str, str] | None = None):
        self.log_path = log
        cmd = [sys.executable, "-m", "resque", "--redis", url, "scheduler", "-A", "tests.scheduler_jobs",
               *args]
        full_env = dict(os.environ, PYTHONPATH=str(ROOT), **(env or {}))
        self._log = open(log, "ab")
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=full_env,
                                     cwd=ROOT, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log(self) -> str:
        return self.log_path.read_text("utf-8", "replace")

    def title(self) -> str:
        try:
            return Path(f"/proc/{self.pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except OSError:
            return ""

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, timeout: float = 15) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()
        return self.proc.returncode

    def __enter__(self) -> "SchedulerProcess":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

"""Bad configuration: one clear line on stderr, a non-zero exit, never a traceback."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SECRET = "s3cret-pw"


def run(*args: str, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), **(env_extra or {}))
    for var in ("QUEUE", "QUEUES", "INTERVAL", "PIDFILE", "BACKGROUND"):
        env.pop(var, None)
    env.setdefault("RESQUE_REDIS_URL", "redis://127.0.0.1:1/0")  # never the embedded server
    return subprocess.run([sys.executable, "-m", "resque", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=30)


def assert_clear_error(out: subprocess.CompletedProcess[str], *needles: str) -> str:
    text = out.stdout + out.stderr
    assert out.returncode != 0, text
    assert "Traceback" not in text, text
    errors = [line for line in out.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, text
    for needle in needles:
        assert needle in errors[0], errors[0]
    assert SECRET not in text
    return errors[0]


@pytest.mark.parametrize("url, needle", [
    (f"redis://:{SECRET}@localhost:notaport/0", "bad Redis URL"),
    (f"redis://user:{SECRET}@[::1", "bad Redis URL"),
    ("http://example.invalid/0", "unsupported Redis URL scheme"),
    ("localhost:port:db", "port and db must be numbers"),
])
@pytest.mark.parametrize("command", ["work", "workers"])
def test_malformed_redis_url(url, needle, command):
    assert_clear_error(run("--redis", url, command, "-q", "a"), needle)


@pytest.mark.parametrize("url", [f"redis://:{SECRET}@127.0.0.1:1/0", "unix:///nonexistent/redis.sock",
                                 f"redis://127.0.0.1:1/0?password={SECRET}"])
@pytest.mark.parametrize("command", ["work", "workers"])
def test_unreachable_server(url, command):
    line = assert_clear_error(run("--redis", url, command, "-q", "a"), "cannot reach Redis")
    assert "127.0.0.1:1" in line or "nonexistent" in line


def test_unreachable_server_for_admin_commands():
    assert_clear_error(run("--redis", "redis://127.0.0.1:1/0", "queues"), "127.0.0.1:1")


@pytest.mark.parametrize("where", ["missing-dir", "dir-is-a-file"])
def test_unwritable_pid_file(redis_url, tmp_path, where):
    blocker = tmp_path / "file"
    blocker.write_text("")
    path = tmp_path / "no" / "such" / "w.pid" if where == "missing-dir" else blocker / "w.pid"
    out = run("work", "-q", "a", "--interval", "0", "--pidfile", str(path),
              env_extra={"RESQUE_REDIS_URL": redis_url})
    assert_clear_error(out, "pid file", str(path))


@pytest.mark.parametrize("queues", ["!a", ",", "!*,!b", " "])
def test_queue_list_naming_no_queue(redis_url, queues):
    out = run("work", "-q", queues, "--interval", "0", env_extra={"RESQUE_REDIS_URL": redis_url})
    assert out.returncode == 2
    assert_clear_error(out, "queue")


@pytest.mark.parametrize("args, needle", [
    (("--interval", "soon"), "'soon' is not a valid float"),
    (("-A", "no_such_module_xyz"), "cannot import application 'no_such_module_xyz'"),
    (("-A", "missing_file.py"), "does not exist"),
    (("--count", "0"), "--count"),
])
def test_bad_worker_options(redis_url, args, needle):
    out = run("work", "-q", "a", "--interval", "0", *args, env_extra={"RESQUE_REDIS_URL": redis_url})
    assert_clear_error(out, needle)


def test_bad_numeric_environment_variable(redis_url):
    out = run("work", "-q", "a", env_extra={"RESQUE_REDIS_URL": redis_url, "MIN_INTERVAL": "x"})
    assert_clear_error(out, "MIN_INTERVAL")

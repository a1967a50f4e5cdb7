"""``resque pool``: the resque-pool config, and the master supervising real processes."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from resque import ConfigurationError
from resque.pool.config import choose_config_file, environment, load_config, parse_config
from tests.helpers import wait_for
from tests.test_soak import child_pids, descendants

ROOT = Path(__file__).resolve().parent.parent


# -- the config file ------------------------------------------------------------

RUBY_FILE = """\
foo: 1
bar: 2
"foo,bar,baz": 4

production:
  "foo,bar,baz": 10
  mail: 1
staging:
  bar: 0
"""


def test_config_merges_the_environment_section_over_the_defaults():
    assert parse_config(RUBY_FILE, "f") == {"foo": 1, "bar": 2, "foo,bar,baz": 4}
    assert parse_config(RUBY_FILE, "f", "production") == {"foo": 1, "bar": 2, "foo,bar,baz": 10, "mail": 1}
    assert parse_config(RUBY_FILE, "f", "staging") == {"foo": 1, "bar": 0, "foo,bar,baz": 4}
    assert parse_config("", "f") == {}


def test_environment_comes_from_option_then_rack_rails_resque_env(monkeypatch):
    for name in ("RACK_ENV", "RAILS_ENV", "RESQUE_ENV"):
        monkeypatch.delenv(name, raising=False)
    assert environment() is None
    monkeypatch.setenv("RESQUE_ENV", "staging")
    monkeypatch.setenv("RAILS_ENV", "production")
    assert environment() == "production"
    assert environment("test") == "test"


def test_config_file_is_the_option_then_env_then_the_default_names(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RESQUE_POOL_CONFIG", raising=False)
    with pytest.raises(ConfigurationError, match="no pool config"):
        choose_config_file()
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "resque-pool.yml").write_text("a: 1\n")
    assert choose_config_file() == Path("config/resque-pool.yml")
    (tmp_path / "resque-pool.yml").write_text("b: 1\n")
    assert choose_config_file() == Path("resque-pool.yml")
    monkeypatch.setenv("RESQUE_POOL_CONFIG", "other.yml")
    assert choose_config_file() == Path("other.yml")
    assert choose_config_file("given.yml") == Path("given.yml")


@pytest.mark.parametrize("text, message", [
    ("foo: many\n", "worker count"),
    ("foo: -1\n", "worker count"),
    ("foo: true\n", "worker count"),
    ("- foo\n- bar\n", "must map"),
    ("foo: [1\n", "not valid YAML"),
    ("foo: <%= ENV['N'] %>\n", "ERB"),
])
def test_bad_config_files_are_clear_errors(tmp_path, text, message):
    path = tmp_path / "pool.yml"
    path.write_text(text)
    with pytest.raises(ConfigurationError, match=message):
        load_config(path)


# -- the master, with real processes -----------------------------------------------


class PoolProcess:
    """A ``resque pool`` subprocess with its stderr in a file; always cleaned up."""

    def __init__(self, redis_url: str, tmp: Path):
        self.tmp = tmp
        self.config = tmp / "resque-pool.yml"
        self.stderr = tmp / "pool.err"
        self.env = {**os.environ, "RESQUE_REDIS_URL": redis_url, "PYTHONPATH": str(ROOT)}
        for name in ("QUEUE", "QUEUES", "RACK_ENV", "RAILS_ENV", "RESQUE_ENV", "NOTIFY_SOCKET"):
            self.env.pop(name, None)
        self.proc: subprocess.Popen[bytes] | None = None
        self.seen: set[int] = set()

    def start(self, config: str, *args: str, count: int | None = None, **env: str) -> "PoolProcess":
        self.config.write_text(config)
        cmd = [sys.executable, "-m", "resque", "pool", "-c", str(self.config), "-A", "tests.jobs",
               "-A", "tests.pool_jobs", "--interval", "0.1", *args]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env={**self.env, **env},
                                     stdout=subprocess.DEVNULL, stderr=self.stderr.open("wb"))
        if count is not None:
            self.wait_workers(count)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def workers(self) -> list[int]:
        pids = sorted(child_pids(self.pid))
        self.seen.update(pids)
        return pids

    def wait_workers(self, count: int, exclude: set[int] = frozenset()) -> list[int]:  # type: ignore[assignment]
        def ready() -> list[int] | None:
            pids = [p for p in self.workers() if p not in exclude]
            return pids if len(pids) == count and all(_title(p).startswith("resque-") for p in pids) \
                else None
        return wait_for(ready, timeout=20)

    def log(self) -> str:
        return self.stderr.read_text()

    def signal(self, sig: int) -> None:
        os.kill(self.pid, sig)

    def cleanup(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.seen.update(descendants(self.pid))
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for pid in self.seen:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _title(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state == "Z"


@pytest.fixture
def pool(redis_url, r, tmp_path):
    p = PoolProcess(redis_url, tmp_path)
    yield p
    p.cleanup()


def registered(r) -> list[str]:
    return sorted(w.decode().split(":", 2)[2] for w in r.smembers("resque:workers"))


def log(r) -> list[str]:
    return [x.decode() for x in r.lrange("test:log", 0, -1)]


def test_pool_forks_the_configured_workers_from_one_master_and_respawns_a_killed_one(pool, r):
    pool.start('high: 2\n"low,high": 1\nproduction:\n  high: 5\n', count=3)
    wait_for(lambda: registered(r) == ["high", "high", "low,high"])
    assert _title(pool.pid).startswith("resque-pool-master: managing 3 workers")
    victim = pool.workers()[0]
    os.kill(victim, signal.SIGKILL)
    after = pool.wait_workers(3, exclude={victim})
    assert victim not in after
    assert "died" in pool.log() and "restarting" in pool.log()


def test_environment_section_applies(pool, r):
    pool.start('high: 2\nproduction:\n  high: 1\n  low: 1\n', count=2, RAILS_ENV="production")
    wait_for(lambda: registered(r) == ["high", "low"])


def test_a_worker_that_keeps_dying_is_respawned_with_growing_backoff(pool):
    pool.start("high: 1\n", count=1)
    killed: set[int] = set()
    for _ in range(3):
        victim = pool.wait_workers(1, exclude=killed)[0]
        os.kill(victim, signal.SIGKILL)
        killed.add(victim)
    pool.wait_workers(1, exclude=killed)
    delays = [line.rsplit("restarting in ", 1)[1] for line in pool.log().splitlines()
              if "restarting in" in line]
    assert delays == ["0.5s", "1.0s", "2.0s"]


def test_hup_reloads_the_config_and_rolls_every_worker_after_its_job(pool, r, client):
    pool.start("high: 2\n", count=2)
    client.enqueue_to("high", "Sleepy", 1.5, "roll")
    wait_for(lambda: any(x.startswith("start|roll") for x in log(r)))
    old = set(pool.workers())
    pool.config.write_text("high: 1\nlow: 2\n")
    pool.signal(signal.SIGHUP)
    new = pool.wait_workers(3, exclude=old)
    assert not old & set(new)
    wait_for(lambda: registered(r) == ["high", "low", "low"])
    assert "end|roll" in log(r)  # the busy worker finished its job before leaving
    assert client.failure.count() == 0
    assert pool.proc.poll() is None


def test_a_bad_config_on_hup_keeps_the_old_one_and_the_workers(pool, r):
    pool.start("high: 2\n", count=2)
    before = pool.workers()
    pool.config.write_text("high: lots\n")
    pool.signal(signal.SIGHUP)
    wait_for(lambda: "keeping the old config" in pool.log())
    assert pool.workers() == before and pool.proc.poll() is None


def test_memory_ceiling_restarts_a_worker_gracefully(pool, r, client):
    pool.start("high: 1\n", "--no-fork", "--max-memory", "150", "--memory-interval", "0.2", count=1)
    first = pool.workers()[0]
    client.enqueue_to("high", "Hog", 200)
    wait_for(lambda: "hog|200" in log(r))
    second = pool.wait_workers(1, exclude={first})
    assert _gone(first)
    assert "over 150 MB: restarting it gracefully" in pool.log()
    client.enqueue_to("high", "Record", "after")
    wait_for(lambda: "record|after" in log(r))
    assert client.failure.count() == 0 and pool.workers() == second


def test_quit_waits_for_running_jobs_then_the_master_exits(pool, r, client):
    pool.start("high: 1\n", count=1)
    client.enqueue_to("high", "Sleepy", 1.5, "q")
    wait_for(lambda: "start|q" in " ".join(log(r)))
    pool.signal(signal.SIGQUIT)
    wait_for(lambda: "waiting for 1 workers" in _title(pool.pid))
    assert pool.proc.wait(20) == 0
    assert any(x.startswith("end|q") for x in log(r)) and client.failure.count() == 0


def test_int_quits_the_workers_and_the_master_exits_at_once(pool, r, client):
    pool.start("high: 1\n", count=1)
    worker = pool.workers()[0]
    client.enqueue_to("high", "Sleepy", 2, "i")
    wait_for(lambda: "start|i" in " ".join(log(r)))
    pool.signal(signal.SIGINT)
    assert pool.proc.wait(10) == 0
    assert not _gone(worker)  # still finishing its job
    wait_for(lambda: "end|i" in " ".join(log(r)), timeout=10)
    wait_for(lambda: _gone(worker))
    assert client.failure.count() == 0


def test_term_stops_the_workers_now(pool, r, client):
    pool.start("high: 1\n", count=1)
    worker = pool.workers()[0]
    client.enqueue_to("high", "Sleepy", 30, "t")
    wait_for(lambda: "start|t" in " ".join(log(r)))
    pool.signal(signal.SIGTERM)
    assert pool.proc.wait(10) == 0
    wait_for(lambda: _gone(worker))
    assert client.failure.count() == 1  # the killed job is a DirtyExit failure, not lost
    assert "end|t" not in " ".join(log(r))


def test_term_graceful_wait_terms_workers_left_after_the_stop_timeout(pool, r, client):
    pool.start("high: 1\n", "--term-graceful-wait", "--stop-timeout", "1", count=1)
    client.enqueue_to("high", "Sleepy", 30, "k")
    wait_for(lambda: "start|k" in " ".join(log(r)))
    pool.signal(signal.SIGTERM)
    assert pool.proc.wait(20) == 0
    assert "Stop timeout: sending TERM to 1 workers" in pool.log()
    assert client.failure.count() == 1


def test_usr2_and_cont_are_passed_on_to_the_workers(pool):
    pool.start("high: 1\n", count=1)
    worker = pool.workers()[0]
    pool.signal(signal.SIGUSR2)
    wait_for(lambda: "Paused" in _title(worker))
    pool.signal(signal.SIGCONT)
    wait_for(lambda: "Waiting for high" in _title(worker))


def test_workers_quit_when_the_master_is_killed(pool):
    pool.start("high: 2\n", count=2)
    workers = pool.workers()
    pool.proc.kill()
    pool.proc.wait()
    for pid in workers:
        wait_for(lambda: _gone(pid))


def test_background_writes_the_pidfile_and_quit_removes_it(pool, tmp_path):
    pidfile = tmp_path / "pool.pid"
    pool.config.write_text("high: 1\n")
    cmd = [sys.executable, "-m", "resque", "pool", "-c", str(pool.config), "--interval", "0.1",
           "--background", "--pidfile", str(pidfile), "--logfile", str(tmp_path / "bg.log")]
    out = subprocess.run(cmd, cwd=ROOT, env=pool.env, capture_output=True, timeout=30)
    assert out.returncode == 0, out.stderr
    master = int(pidfile.read_text())
    pool.seen.add(master)
    wait_for(lambda: _title(master).startswith("resque-pool-master: managing 1 workers"))
    pool.seen.update(child_pids(master))
    again = subprocess.run(cmd, cwd=ROOT, env=pool.env, capture_output=True, timeout=30)
    assert again.returncode != 0 and b"names running process" in again.stderr
    os.kill(master, signal.SIGQUIT)
    wait_for(lambda: not pidfile.exists() and _gone(master))


def test_systemd_notify_protocol_over_a_real_datagram_socket(pool, tmp_path):
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(20)
    try:
        pool.start("high: 1\n", NOTIFY_SOCKET=path)

        def message() -> dict[str, str]:
            return dict(line.split("=", 1) for line in sock.recv(4096).decode().splitlines())

        ready = message()
        assert ready["READY"] == "1" and ready["MAINPID"] == str(pool.pid)
        assert ready["STATUS"].startswith("managing 1 workers")
        pool.signal(signal.SIGHUP)
        assert message()["RELOADING"] == "1"
        assert message()["READY"] == "1"
        pool.signal(signal.SIGQUIT)
        assert message()["STOPPING"] == "1"
        assert pool.proc.wait(20) == 0
    finally:
        sock.close()


def test_queues_option_is_refused(pool):
    out = subprocess.run([sys.executable, "-m", "resque", "pool", "-q", "high"], cwd=ROOT, env=pool.env,
                         capture_output=True, timeout=30)
    assert out.returncode == 2 and b"from the config file" in out.stderr


def test_queue_in_the_environment_is_left_to_resque_work(pool, r):
    pool.start("high: 1\n", count=1, QUEUE="low")
    wait_for(lambda: registered(r) == ["high"])

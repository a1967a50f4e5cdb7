"""The command line off the happy path: options anywhere, bad values, daemons, app loading."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from resque import Registry, Resque
from resque.cli import main
from tests.helpers import wait_for

ROOT = Path(__file__).resolve().parent.parent
APPS = ROOT / "tests" / "data" / "apppkg"


@pytest.fixture
def env(redis_url, tmp_path):
    """A process environment with no Redis configured and no embedded dir to fall back on."""
    e = dict(os.environ, PYTHONPATH=str(ROOT), RESQUE_DATA_DIR=str(tmp_path / "never-used"))
    for var in ("RESQUE_REDIS_URL", "REDIS_URL", "QUEUE", "QUEUES", "INTERVAL", "COUNT",
                "PIDFILE", "BACKGROUND", "RESQUE_NO_EXTENSIONS"):
        e.pop(var, None)
    return e


def run(env, *args, timeout=60):
    return subprocess.run([sys.executable, "-m", "resque", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def invoke(*args, code=0):
    # no Redis is reachable unless a command names one: nothing can start or spin by accident
    result = CliRunner().invoke(main, list(args), catch_exceptions=False,
                                env={"RESQUE_REDIS_URL": "redis://127.0.0.1:1/0"})
    assert result.exit_code == code, result.output
    return result


def every_command(group=main, path=()):
    for name, cmd in sorted(group.commands.items()):
        yield (*path, name), cmd
        if isinstance(cmd, click.Group):
            yield from every_command(cmd, (*path, name))


# -- connection options on every command ------------------------------------------------


@pytest.mark.parametrize("args", [["queues"], ["info", "--json"], ["failed", "list"], ["list"],
                                  ["stats"], ["top", "-n", "1"]])
def test_redis_and_namespace_are_accepted_after_the_subcommand(client, redis_url, args):
    client.enqueue_to("high", "Archive", 1)
    Resque(client.redis, "other", registry=Registry()).enqueue_to("elsewhere", "Archive", 2)
    out = invoke(*args, "--redis", redis_url, "-N", "other").output
    if args[0] in ("queues", "top"):
        assert "elsewhere" in out and "high" not in out


def test_the_option_after_the_subcommand_wins(client, redis_url):
    Resque(client.redis, "b", registry=Registry()).enqueue_to("only_in_b", "Archive", 2)
    out = invoke("-r", "redis://127.0.0.1:1/0", "-N", "a", "queues", "-r", redis_url, "-N", "b").output
    assert "only_in_b" in out


def test_work_takes_redis_after_the_subcommand(env, r, redis_url):
    Resque(r, registry=Registry()).enqueue_to("high", "Record", "after")
    out = run({**env, "RESQUE_TEST_URL": redis_url}, "work", "--redis", redis_url, "-q", "high",
              "-A", "tests.jobs", "-i", "0", "--no-fork")
    assert out.returncode == 0, out.stderr
    assert r.lrange("test:log", 0, -1) == [b"record|after"]
    assert "embedded" not in out.stderr


def test_every_command_that_talks_to_redis_takes_the_connection_options():
    offline = {("server", "start"), ("server", "stop"), ("server", "status")}  # the embedded server
    for path, cmd in every_command():
        names = {o for p in cmd.params for o in p.opts}
        if path not in offline and not isinstance(cmd, click.Group):  # groups only dispatch
            assert {"-r", "--redis", "-N", "--namespace"} <= names, path


def test_dash_h_prints_help_everywhere():
    for path, _ in [((), None), *every_command()]:
        out = invoke(*path, "-h").output
        assert out.startswith("Usage: ") and "-h, --help" in out, path


def test_top_level_help_names_both_redis_variables():
    out = " ".join(invoke("--help").output.split())
    assert "RESQUE_REDIS_URL" in out and "REDIS_URL" in out


def test_every_visible_option_has_help_text():
    for path, cmd in [((), main), *every_command()]:
        for p in cmd.params:
            if isinstance(p, click.Option) and not p.hidden:
                assert p.help, (path, p.opts)


# -- numbers are validated ----------------------------------------------------------------


def test_every_numeric_option_has_a_range():
    for path, cmd in [((), main), *every_command()]:
        for p in cmd.params:
            if isinstance(p, click.Option) and not p.count and not p.is_flag:
                assert p.type not in (click.INT, click.FLOAT), (path, p.opts)


@pytest.mark.parametrize("args", [
    ["work", "-q", "a", "-i", "-1"], ["work", "-q", "a", "--min-interval", "-0.5"],
    ["work", "-q", "a", "--max-interval", "-1"], ["work", "-q", "a", "--backoff-interval", "-1"],
    ["work", "-q", "a", "--term-timeout", "-1"], ["work", "-q", "a", "--pre-shutdown-timeout", "-1"],
    ["work", "-q", "a", "-c", "0"], ["workers", "-q", "a", "-c", "0"], ["workers", "-q", "a", "-i", "-1"],
    ["web", "-p", "70000"], ["web", "--poll-interval", "0"], ["top", "-i", "0"],
    ["peek", "q", "--count", "0"], ["demo", "--jobs", "0"],
])
def test_negative_or_out_of_range_numbers_are_refused(args):
    out = invoke(*args, code=2).output
    assert "Invalid value" in out


def test_negative_interval_from_the_environment_is_refused(env):
    out = run({**env, "INTERVAL": "-1", "RESQUE_REDIS_URL": "redis://127.0.0.1:1/0"}, "work", "-q", "a")
    assert out.returncode == 2 and "Invalid value" in out.stderr


# -- background, pid file, log file -------------------------------------------------------


def test_background_with_a_pidfile_in_a_missing_dir_fails_in_one_line(env, redis_url, tmp_path):
    out = run(env, "-r", redis_url, "work", "-q", "a", "--background",
              "--pidfile", str(tmp_path / "missing" / "w.pid"))
    assert out.returncode == 1
    assert out.stderr.strip().count("\n") == 0 and "cannot write pid file" in out.stderr
    assert "does not exist" in out.stderr


def test_background_with_an_unwritable_logfile_fails_in_one_line(env, redis_url, tmp_path):
    out = run(env, "-r", redis_url, "work", "-q", "a", "--background",
              "--logfile", str(tmp_path / "missing" / "w.log"))
    assert out.returncode == 1
    assert "Traceback" not in out.stderr and out.stderr.strip().count("\n") == 0
    assert "cannot open log file" in out.stderr


def test_count_with_background_runs_a_detached_supervisor(env, r, redis_url, tmp_path):
    pidfile, logfile = tmp_path / "sup.pid", tmp_path / "sup.log"
    out = run(env, "-r", redis_url, "work", "-q", "high", "-c", "2", "-i", "0.1", "--background",
              "--pidfile", str(pidfile), "--logfile", str(logfile), timeout=30)
    assert out.returncode == 0, out.stderr
    pid = int(pidfile.read_text())
    try:
        workers = wait_for(lambda: r.smembers("resque:workers") if r.scard("resque:workers") == 2 else None, 20)
        assert pid not in {int(w.decode().split(":")[1]) for w in workers}  # the supervisor itself
        assert "started worker pid" in logfile.read_text()
    finally:
        os.kill(pid, signal.SIGQUIT)
    wait_for(lambda: not os.path.exists(f"/proc/{pid}") and not pidfile.exists(), 20)
    wait_for(lambda: r.scard("resque:workers") == 0)


# -- application modules given to -A ----------------------------------------------------


def test_a_file_inside_a_package_registers_its_jobs_under_the_package_name(env, r, redis_url):
    Resque(r, registry=Registry()).enqueue_to("reports", "myapp.plain.Report", 7)
    out = run({**env, "RESQUE_REDIS_URL": redis_url}, "work", "-q", "reports", "-i", "0", "-v",
              "-A", str(APPS / "myapp" / "plain.py"))
    assert out.returncode == 0, out.stderr
    assert r.llen("resque:failed") == 0, r.lrange("resque:failed", 0, -1)
    assert r.lrange("test:log", 0, -1) == [b"report|7"]
    assert "Jobs registered: myapp.plain.Report" in out.stderr


def test_a_job_name_that_misses_says_what_is_registered_and_suggests_the_near_one():
    reg = Registry()

    class Report:
        @staticmethod
        def perform() -> None: ...

    reg.register(Report, "plain.Report")
    with pytest.raises(Exception) as caught:
        reg.resolve("myapp.plain.Report")
    message = str(caught.value)
    assert "registered: plain.Report" in message and "did you mean 'plain.Report'?" in message


def test_an_app_that_raises_at_import_is_one_line(env, redis_url):
    out = run(env, "-r", redis_url, "work", "-q", "a", "-A", str(APPS / "broken_app.py"))
    assert out.returncode == 1
    assert "Traceback" not in out.stderr and out.stderr.strip().count("\n") == 0
    assert "KeyError" in out.stderr and "broken_app.py, line 3" in out.stderr


# -- small things ---------------------------------------------------------------------------


def test_demo_with_few_jobs_still_fails_some_on_purpose(r, redis_url):
    out = invoke("-r", redis_url, "demo", "--no-web", "--jobs", "5", "--workers", "1").output
    assert "1 failed on purpose" in out and r.llen("resque:failed") == 1


def test_demo_with_no_failing_job_says_none_failed(r, redis_url):
    out = invoke("-r", redis_url, "demo", "--no-web", "--jobs", "2", "--workers", "1").output
    assert "none failed" in out and "0 failed" not in out


def test_idle_title_names_the_pattern_when_no_queue_matches(env, r, redis_url):
    proc = subprocess.Popen([sys.executable, "-m", "resque", "-r", redis_url, "work", "-q", "nomatch*",
                             "-i", "0.1"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        def title():
            try:
                return Path(f"/proc/{proc.pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                return ""
        assert wait_for(lambda: "Waiting for nomatch*" in title(), 20)
    finally:
        proc.send_signal(signal.SIGQUIT)
        proc.wait(15)

"""Payloads are data, never code; the web app never shows a Redis password.

The web app's escaping, CSRF, basic-auth and GET-safety tests live in
``test_web_security.py`` and run in the same suite; this module adds the
checks that cross the library: no code path turns a payload into code, a
payload naming ``os.system`` or ``subprocess.Popen`` runs nothing even when
a worker allows those packages, and no web response carries the password
of the Redis URL.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from resque import Registry, Resque
from tests.chaos_jobs import SEEN
from tests.helpers import RedisServer

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "resque"
PASSWORD = "web-Secret-pw-1"
APP_USER, APP_PW = "web-app", "web-Secret-pw-2"

# Modules that import by name, and why: none of them takes the name from a payload
# except the registry, which imports only under an allowed prefix.
IMPORTERS = {"registry.py", "cli/apps.py", "cli/web.py", "cli/demo.py", "embedded.py"}


def sources() -> list[Path]:
    return sorted([*PACKAGE.rglob("*.py"), *(ROOT / "ext").glob("*.pyx")])


def test_no_pickle_eval_exec_or_dynamic_import_of_payload_names():
    banned = re.compile(r"\bimport pickle\b|\bpickle\.|\bmarshal\b|\bshelve\b|\bdill\b|\bcloudpickle\b|"
                        r"(?<![\w.])eval\(|(?<![\w.])exec\(|__import__|\byaml\.(?:unsafe_)?load\b|"
                        r"literal_eval|\bcompile\([^)]*['\"]exec['\"]")
    offenders = [f"{p.relative_to(ROOT)}:{n}: {line.strip()}" for p in sources()
                 for n, line in enumerate(p.read_text().splitlines(), 1) if banned.search(line)]
    assert offenders == []
    importers = {str(p.relative_to(PACKAGE)) for p in sources()
                 if p.suffix == ".py" and re.search(r"import_module\(|importlib\.util", p.read_text())}
    assert importers <= IMPORTERS, importers - IMPORTERS


def test_the_registry_imports_only_under_an_allowed_prefix(monkeypatch):
    registry = Registry()
    for name in ("antigravity.fly", "this.s", "tests.test_soak.Soak"):
        module = name.rpartition(".")[0]
        monkeypatch.delitem(sys.modules, module, raising=False)
        with pytest.raises(Exception, match="not registered"):
            registry.resolve(name)
        assert module not in sys.modules


@pytest.fixture
def canary(tmp_path: Path) -> Path:
    return tmp_path / "pwned"


def evil_payloads(canary: Path) -> list[dict[str, object]]:
    shell = f"touch {canary}"
    argv = ["touch", str(canary)]
    return [
        {"class": "os.system", "args": [shell]},
        {"class": "posix.system", "args": [shell]},
        {"class": "subprocess.Popen", "args": [argv]},
        {"class": "subprocess.run", "args": [argv]},
        {"class": "subprocess.check_call", "args": [argv]},
        {"class": "builtins.eval", "args": [f"__import__('os').system({shell!r})"]},
        {"class": "builtins.exec", "args": [f"open({str(canary)!r}, 'w')"]},
        {"class": "os.popen", "args": [shell]},
        {"class": "pty.spawn", "args": [argv]},
        {"class": "Os::System", "args": [shell]},
        {"class": "tests.chaos_jobs.os.system", "args": [shell]},
        {"class": "tests.chaos_jobs.subprocess.Popen", "args": [argv]},
        {"class": "tests.chaos_jobs.Mark.__init__", "args": [shell]},
    ]


@pytest.mark.parametrize("fork", ["--fork", "--no-fork"])
def test_payload_naming_os_system_or_popen_runs_nothing(redis_url, r, canary, fork):
    client = Resque(r, registry=Registry())
    payloads = evil_payloads(canary)
    for payload in payloads:
        client.push("evil", payload)
    client.enqueue_to("evil", "tests.chaos_jobs.Mark", 5, "")  # allowed: runs
    env = dict(os.environ, RESQUE_REDIS_URL=redis_url, PYTHONPATH=str(ROOT))
    env.pop("QUEUE", None)
    allow = [a for p in ("os", "posix", "subprocess", "builtins", "pty") for a in ("--allow", p)]
    out = subprocess.run([sys.executable, "-m", "resque", "work", "-q", "evil", "--interval", "0", fork,
                          "-A", "tests.chaos_jobs", *allow], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert not canary.exists()
    assert r.hget(SEEN, "5") == b"1"
    records = [json.loads(x) for x in r.lrange("resque:failed", 0, -1)]
    assert len(records) == len(payloads)
    assert {rec["exception"] for rec in records} == {"resque.errors.JobNotAllowed"}
    assert all("not a job class" in rec["error"] or "not registered" in rec["error"]
               or "cannot be imported" in rec["error"] for rec in records), records


# -- the web app never shows the Redis password ------------------------------------


@pytest.fixture(scope="module")
def protected() -> Iterator[RedisServer]:
    server = RedisServer("--requirepass", PASSWORD, aof=False, tcp=True, password=PASSWORD).start()
    server.raw().acl_setuser(APP_USER, enabled=True, passwords=[f"+{APP_PW}"], keys=["*"],
                             channels=["*"], commands=["+@all"])
    yield server
    server.cleanup()


@pytest.mark.parametrize("form", ["password", "acl-user", "password-param", "from-redis-url"])
def test_no_web_response_carries_the_redis_password(protected, form):
    from falcon import testing

    from resque.web import create_app
    from tests.web_helpers import crawl, python_failure, seed_python

    port = protected.port
    url = {"password": f"redis://:{PASSWORD}@127.0.0.1:{port}/0",
           "acl-user": f"redis://{APP_USER}:{APP_PW}@127.0.0.1:{port}/0",
           "password-param": f"redis://127.0.0.1:{port}/0?password={PASSWORD}",
           "from-redis-url": f"redis://:{PASSWORD}@127.0.0.1:{port}/0"}[form]
    protected.raw().flushall()
    client = Resque(url, registry=Registry())
    seed_python(client)
    python_failure(client, message=f"could not reach {client.redis_id}")
    app = create_app(redis_url=url, user="", password="") if form == "from-redis-url" \
        else create_app(client, user="", password="")
    seen = 0
    shows_server = False
    for path, res, everything in crawl(testing.TestClient(app)):
        seen += 1
        shows_server = shows_server or f"127.0.0.1:{port}" in res.text
        for secret in (PASSWORD, APP_PW):
            assert secret not in everything, (path, res.status)
    assert seen > 20  # the crawl reached the queue, worker, failure and key pages
    assert shows_server  # the server is named where a careless page would print the URL

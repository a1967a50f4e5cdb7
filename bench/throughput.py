"""End-to-end throughput of resque against RQ and the bare baselines, on one Redis.

    python bench/throughput.py [--jobs N] [--fork-jobs M] [--long-jobs L] [--repeat R] [--check]

Starts a private redis-server on a unix socket, then measures enqueueing,
one worker draining no-op jobs (no-fork, fork, and fork with
``--jobs-per-fork 100``; compiled and pure),
RQ's SimpleWorker and forking Worker on the same jobs, the bare fork
floor in a process of the worker's size, Redis commands and socket reads
(round trips) per job from the server's own counters, an idle worker's
CPU and pickup latency, and worker memory. Prints a table with ratios
and a PASS/MISS line per target; with ``--check`` exits 1 on any MISS.

Every worker, resque's and RQ's, runs the same warm-up jobs untimed first,
and every measurement keeps the best of ``--repeat`` runs.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import redis

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_jobs import Noop, RssProbe, Stamp, noop, registry  # noqa: E402
from resque import Resque  # noqa: E402
from resque.embedded import find_redis_server  # noqa: E402
from roles import QUEUE, WARM, server_counters  # noqa: E402


class Server:
    """A throwaway redis-server on a unix socket in a temp dir."""

    def __init__(self) -> None:
        binary = find_redis_server()
        if binary is None:
            sys.exit("no redis-server found: install redis-server or resque[embedded]")
        self.dir = Path(tempfile.mkdtemp(prefix="resque-bench-"))
        self.url = f"unix://{self.dir / 'redis.sock'}"
        self.proc = subprocess.Popen(
            [binary, "--port", "0", "--unixsocket", str(self.dir / "redis.sock"),
             "--dir", str(self.dir), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.raw = redis.Redis.from_url(self.url)
        for _ in range(500):
            try:
                self.raw.ping()
                return
            except redis.exceptions.ConnectionError:
                time.sleep(0.02)
        sys.exit("redis-server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


class Bench:
    """Run every measurement against one server; keep the best of ``repeat`` runs."""

    def __init__(self, server: Server, args: argparse.Namespace):
        self.server, self.args = server, args
        self.raw = server.raw
        self.client = Resque(server.url, registry=registry())
        self.results: dict[str, dict[str, Any]] = {}
        self.probe = server.dir / "rss-probe.txt"

    def keep(self, name: str, result: dict[str, Any]) -> None:
        best = self.results.get(name)
        if best is None or result["rate"] > best["rate"]:
            self.results[name] = result

    # -- enqueue ------------------------------------------------------------

    def timed(self, n: int, fn: Callable[[], Any]) -> dict[str, Any]:
        self.raw.flushall()
        reads0, cmds0 = server_counters(self.raw)
        t0 = time.perf_counter()
        fn()
        elapsed = time.perf_counter() - t0
        reads1, cmds1 = server_counters(self.raw)
        return {"jobs": n, "seconds": elapsed, "rate": n / elapsed,
                "reads_per_job": (reads1 - reads0 - 1) / n, "commands_per_job": (cmds1 - cmds0) / n}

    def enqueue(self) -> None:
        n = self.args.jobs
        key = self.client.store.keys.queue(QUEUE)
        payload = b'{"class":"Noop","args":[]}'

        def rpush() -> None:
            for _ in range(n):
                self.raw.rpush(key, payload)

        def one() -> None:
            for _ in range(n):
                self.client.enqueue(Noop)

        self.keep("rpush", self.timed(n, rpush))
        self.keep("enqueue", self.timed(n, one))
        self.keep("enqueue_many", self.timed(n, lambda: self.client.enqueue_many(Noop, [()] * n)))

    # -- workers --------------------------------------------------------------

    def fill(self, n: int) -> None:
        """Queue the warm-up jobs (the last one probes memory), then ``n`` no-ops."""
        self.raw.flushall()
        self.client.enqueue_many(Noop, [()] * (WARM - 1))
        self.client.enqueue(RssProbe, str(self.probe))
        self.client.enqueue_many(Noop, [()] * n)

    def role(self, *argv: str, env: dict[str, str] | None = None) -> dict[str, Any]:
        out = subprocess.run([sys.executable, str(HERE / "roles.py"), *argv],
                             env={**os.environ, **(env or {})}, capture_output=True,
                             text=True, timeout=900)
        if out.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed:\n{out.stderr[-2000:]}")
        return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]

    def drain(self, name: str, mode: str, impl: str, n: int) -> None:
        env = {"RESQUE_NO_EXTENSIONS": "1" if impl == "pure" else "0"}
        self.probe.unlink(missing_ok=True)
        self.fill(n)
        result = self.role("drain", self.server.url, mode, str(n), str(WARM), env=env)
        if impl == "compiled" and result["implementation"] != "cython":
            result["missing"] = True
        lines = self.probe.read_text().split() if self.probe.exists() else []
        result["probe_rss_kb"], result["probe_uss_kb"] = (int(lines[1]), int(lines[2])) if lines else (0, 0)
        self.keep(name, result)

    def rq(self, name: str, kind: str, n: int) -> None:
        self.raw.flushall()
        self.keep(name, self.role("rq", self.server.url, kind, str(n), str(WARM)))

    def ab(self, mode: str, n: int) -> None:
        self.raw.flushall()
        self.client.enqueue_many(Noop, [()] * (2 * n + WARM))
        result = self.role("ab", self.server.url, mode, str(n), "10")
        self.results[f"ab-{mode}"] = result

    def floor(self, n: int) -> None:
        self.raw.flushall()
        self.keep("floor", self.role("floor", self.server.url, str(n)))

    def idle(self) -> None:
        interval = self.args.interval
        self.raw.flushall()
        proc = subprocess.Popen([sys.executable, str(HERE / "roles.py"), "idle", self.server.url,
                                 str(interval)], stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout is not None
            info = json.loads(proc.stdout.readline())
            time.sleep(1.0)
            window = 3.0
            cpu0, (reads0, _) = _cpu_seconds(proc.pid), server_counters(self.raw)
            time.sleep(window)
            cpu1, (reads1, _) = _cpu_seconds(proc.pid), server_counters(self.raw)
            stamps = self.server.dir / "stamps.txt"
            for i in range(5):
                time.sleep(0.25 + 0.037 * i)
                self.client.enqueue(Stamp, str(stamps), time.time())
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline and (
                        not stamps.exists() or len(stamps.read_text().split()) <= i):
                    time.sleep(0.002)
            latencies = [float(x) for x in stamps.read_text().split()] if stamps.exists() else []
            self.results["idle"] = {
                "interval": interval, "implementation": info["implementation"],
                "cpu_percent": (cpu1 - cpu0) / window * 100 if cpu0 >= 0 else -1.0,
                "reads_per_second": (reads1 - reads0 - 1) / window,
                "latency_max": max(latencies, default=-1.0),
                "latency_median": sorted(latencies)[len(latencies) // 2] if latencies else -1.0,
                "rate": 1.0,
            }
        finally:
            proc.send_signal(signal.SIGQUIT)
            proc.wait(30)

    def run(self) -> None:
        a = self.args
        for rep in range(a.repeat):
            _say(f"round {rep + 1}/{a.repeat}: enqueue, drains, fork floor")
            self.enqueue()
            for impl in ("compiled", "pure") if rep % 2 == 0 else ("pure", "compiled"):
                self.drain(f"nofork-{impl}", "nofork", impl, a.jobs)
                self.drain(f"fork-{impl}", "fork", impl, a.fork_jobs)
                self.drain(f"fork100-{impl}", "fork100", impl, a.jobs)
            self.drain("fork1000-compiled", "fork1000", "compiled", a.jobs)
            self.floor(a.fork_jobs)
        _say(f"compiled vs pure in one process: {a.jobs} no-fork and {a.fork_jobs} fork jobs each")
        self.ab("nofork", a.jobs)
        self.ab("fork", a.fork_jobs)
        _say(f"long no-fork run: {a.long_jobs} jobs")
        self.drain("long", "nofork", "compiled", a.long_jobs)
        for rep in range(a.rq_repeat):
            _say(f"RQ round {rep + 1}/{a.rq_repeat}: SimpleWorker {a.jobs} jobs, Worker {a.fork_jobs} jobs")
            self.rq("rq-simple", "simple", a.jobs)
            self.rq("rq-fork", "fork", a.fork_jobs)
        _say(f"idle worker, --interval {a.interval}")
        self.idle()


def _cpu_seconds(pid: int) -> float:
    """CPU time of every thread of a process, in ns precision from schedstat."""
    try:
        return sum(int((task / "schedstat").read_text().split()[0])
                   for task in Path(f"/proc/{pid}/task").iterdir()) / 1e9
    except (OSError, ValueError):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return -1.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _say(text: str) -> None:
    print(f"... {text}", file=sys.stderr, flush=True)


def machine(raw: "redis.Redis[bytes]") -> str:
    """Describe the machine and the software versions measured."""
    from importlib.metadata import version

    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass

    def v(name: str) -> str:
        try:
            return version(name)
        except Exception:  # noqa: BLE001
            return "-"

    return (f"{os.cpu_count()} CPUs ({cpu}), {platform.system()} {platform.release()}\n"
            f"Python {platform.python_version()}, redis-py {v('redis')} (hiredis {v('hiredis')}), "
            f"orjson {v('orjson')}, Cython {v('Cython')}, rq {v('rq')}, "
            f"Redis {raw.info('server')['redis_version']} on a unix socket")


def report(b: Bench) -> str:
    """Format the results table, the ratios and the target checks."""
    r, a = b.results, b.args
    lines = [machine(b.raw),
             f"jobs: {a.jobs} (enqueue, no-fork drains, RQ SimpleWorker), {a.fork_jobs} (fork drains, "
             f"RQ Worker, fork floor), {a.long_jobs} (long run); best of {a.repeat} "
             f"(RQ: {a.rq_repeat}); each worker, RQ's too, runs {WARM} warm-up jobs first, untimed", ""]

    def na(name: str) -> bool:
        return name not in r or r[name].get("missing", False)

    def rate(name: str) -> str:
        return "not built" if na(name) else f"{r[name]['rate']:,.0f}"

    lines.append(f"{'':34s} {'jobs/s':>9s} {'ratio':>16s} {'cmds/job':>9s} {'reads/job':>9s}")
    rows = [("bare redis-py RPUSH loop", "rpush", None), ("enqueue one at a time", "enqueue", "rpush"),
            ("enqueue_many", "enqueue_many", "enqueue")]
    for label, name, base in rows:
        lines.append(_row(r, label, name, base))
    lines.append("")
    lines.append(f"{'worker draining no-op jobs':34s} {'jobs/s':>9s} {'ratio':>16s} {'cmds/job':>9s} "
                 f"{'reads/job':>9s} {'CPU us/job':>11s} {'RSS kB before->after':>21s}")
    rows = [("resque no-fork, compiled", "nofork-compiled", "rq-simple"),
            ("resque no-fork, pure", "nofork-pure", "rq-simple"),
            ("RQ SimpleWorker", "rq-simple", None),
            ("resque fork, compiled", "fork-compiled", "floor"),
            ("resque fork, pure", "fork-pure", "floor"),
            ("RQ Worker (fork)", "rq-fork", "floor"),
            ("resque fork, 100 jobs/fork, compiled", "fork100-compiled", "nofork-compiled"),
            ("resque fork, 100 jobs/fork, pure", "fork100-pure", "nofork-pure"),
            ("resque fork, 1000 jobs/fork, compiled", "fork1000-compiled", "nofork-compiled"),
            ("bare fork floor (worker-sized)", "floor", None),
            (f"resque no-fork, compiled, {a.long_jobs}", "long", None)]
    for label, name, base in rows:
        lines.append(_row(r, label, name, base, worker=True))
    lines.append("")
    if not na("fork-compiled") and "long" in r:
        f, long = r["fork-compiled"], r["long"]
        lines.append(f"memory: worker parent RSS {f['rss_after_kb']:,} kB; forked child RSS "
                     f"{f['probe_rss_kb']:,} kB of which private (USS) {f['probe_uss_kb']:,} kB; "
                     f"long run parent RSS {long['rss_before_kb']:,} -> {long['rss_after_kb']:,} kB")
    if not na("fork100-compiled"):
        f = r["fork100-compiled"]
        lines.append(f"memory, 100 jobs/fork: worker parent RSS {f['rss_after_kb']:,} kB; forked child "
                     f"RSS {f['probe_rss_kb']:,} kB of which private (USS) {f['probe_uss_kb']:,} kB")
    if not na("nofork-compiled") and not na("fork-compiled"):
        cpu = {k: r[k]["cpu_per_job_us"] + r[k]["child_cpu_per_job_us"]
               for k in ("nofork-compiled", "nofork-pure", "fork-compiled", "fork-pure")}
        lines.append(f"compiled / pure, separate processes: no-fork "
                     f"{_ratio(r, 'nofork-compiled', 'nofork-pure'):.2f}x jobs/s "
                     f"({cpu['nofork-compiled']:.0f} vs {cpu['nofork-pure']:.0f} CPU us/job), fork "
                     f"{_ratio(r, 'fork-compiled', 'fork-pure'):.2f}x jobs/s "
                     f"({cpu['fork-compiled']:.0f} vs {cpu['fork-pure']:.0f} CPU us/job, parent + child)")
    for mode in ("nofork", "fork"):
        ab = r.get(f"ab-{mode}")
        if ab and not ab.get("missing"):
            lines.append(f"compiled / pure, one worker, interleaved ({mode}, {ab['jobs']} jobs each): "
                         f"{ab['rate']:.2f}x ({ab['cython_rate']:,.0f} vs {ab['python_rate']:,.0f} jobs/s; "
                         f"{ab['cython_cpu_us']:.1f} vs {ab['python_cpu_us']:.1f} CPU us/job)")
    idle = r.get("idle")
    if idle:
        lines.append(f"idle worker (--interval {idle['interval']}, fork, {idle['implementation']}): "
                     f"{idle['cpu_percent']:.2f}% of a core, {idle['reads_per_second']:.1f} Redis reads/s, "
                     f"pickup latency median {idle['latency_median'] * 1000:.0f} ms, "
                     f"max {idle['latency_max'] * 1000:.0f} ms")
    short = [k for k, v in r.items() if isinstance(v.get("done"), int) and not isinstance(v["done"], bool)
             and v["done"] != v["jobs"]]
    if short:
        lines.append(f"WARNING: runs that did not process exactly their jobs: {', '.join(short)}")
    lines.append("")
    lines.append("targets")
    for label, value, op, goal in _targets(r):
        ok = _met(value, op, goal)
        shown = "n/a" if value is None else f"{value:.2f}"
        lines.append(f"  {'PASS' if ok else 'MISS'}  {label:56s} {shown:>8s}  (goal {op} {goal:g})")
    return "\n".join(lines)


def _met(value: float | None, op: str, goal: float) -> bool:
    return value is not None and (value >= goal if op == ">=" else value <= goal)


def _row(r: dict[str, dict[str, Any]], label: str, name: str, base: str | None,
         worker: bool = False) -> str:
    res = r.get(name)
    if res is None or res.get("missing"):
        return f"  {label:32s} {'not built' if res else 'n/a':>9s}"
    ratio = ""
    if base and base in r and not r[base].get("missing"):
        ratio = f"{res['rate'] / r[base]['rate']:.2f}x {base}"
    text = (f"  {label:32s} {res['rate']:9,.0f} {ratio:>16s} {res['commands_per_job']:9.2f} "
            f"{res['reads_per_job']:9.2f}")
    if worker:
        cpu = res["cpu_per_job_us"] + res["child_cpu_per_job_us"]
        mem = f"{res['rss_before_kb']:,}->{res['rss_after_kb']:,}"
        text += f" {cpu:11.0f} {mem:>21s}"
    return text


def _ratio(r: dict[str, dict[str, Any]], a: str, b: str) -> float | None:
    if a not in r or b not in r or r[a].get("missing") or r[b].get("missing"):
        return None
    return float(r[a]["rate"] / r[b]["rate"])


def _targets(r: dict[str, dict[str, Any]]) -> list[tuple[str, float | None, str, float]]:
    def ratio(a: str, b: str) -> float | None:
        return _ratio(r, a, b)

    def ab(mode: str) -> float | None:
        res = r.get(f"ab-{mode}")
        return None if res is None or res.get("missing") else float(res["rate"])

    long, idle = r.get("long"), r.get("idle")
    growth = (long["rss_after_kb"] / long["rss_before_kb"] - 1) * 100 if long else None
    return [
        ("no-fork worker (compiled) / RQ SimpleWorker", ratio("nofork-compiled", "rq-simple"), ">=", 10),
        ("no-fork worker (pure) / RQ SimpleWorker", ratio("nofork-pure", "rq-simple"), ">=", 10),
        ("fork worker (compiled) / bare fork floor", ratio("fork-compiled", "floor"), ">=", 0.7),
        ("fork worker (compiled) / RQ Worker", ratio("fork-compiled", "rq-fork"), ">=", 3),
        ("fork, 100 jobs/fork (compiled) / no-fork (compiled)",
         ratio("fork100-compiled", "nofork-compiled"), ">=", 0.8),
        ("fork, 100 jobs/fork (pure) / no-fork (pure)", ratio("fork100-pure", "nofork-pure"), ">=", 0.8),
        ("enqueue one at a time / bare RPUSH loop", ratio("enqueue", "rpush"), ">=", 0.7),
        ("enqueue_many / enqueue one at a time", ratio("enqueue_many", "enqueue"), ">=", 10),
        ("compiled / pure, no-fork loop (one worker, interleaved)", ab("nofork"), ">=", 1.0),
        ("compiled / pure, fork loop (one worker, interleaved)", ab("fork"), ">=", 1.0),
        ("long run: parent RSS growth, %", growth, "<=", 1.0),
        ("no-fork worker: round trips (socket reads) per job",
         r["nofork-compiled"]["reads_per_job"] if "nofork-compiled" in r else None, "<=", 1.05),
        ("fork worker: round trips (socket reads) per job",
         r["fork-compiled"]["reads_per_job"] if "fork-compiled" in r else None, "<=", 2.0),
        ("idle worker CPU, % of a core", idle["cpu_percent"] if idle else None, "<=", 1.0),
        ("idle pickup latency max, s (interval + 20 ms)", idle["latency_max"] if idle else None,
         "<=", idle["interval"] + 0.02 if idle else 0.12),
    ]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--jobs", type=int, default=5000, help="jobs for enqueue and no-fork drains")
    p.add_argument("--fork-jobs", type=int, default=None, help="jobs for fork drains (default jobs/5)")
    p.add_argument("--long-jobs", type=int, default=None, help="jobs of the long run (default 10*jobs)")
    p.add_argument("--repeat", type=int, default=3, help="runs of each resque measurement; best kept")
    p.add_argument("--rq-repeat", type=int, default=None,
                   help="runs of each RQ measurement (default: --repeat)")
    p.add_argument("--interval", type=float, default=0.1, help="polling interval of the idle worker")
    p.add_argument("--json", type=Path, help="also write the raw results here")
    p.add_argument("--check", action="store_true", help="exit 1 if any target is missed")
    a = p.parse_args()
    a.rq_repeat = a.rq_repeat or a.repeat
    a.fork_jobs = a.fork_jobs or max(1, a.jobs // 5)
    a.long_jobs = a.long_jobs or a.jobs * 10
    server = Server()
    try:
        bench = Bench(server, a)
        failed = False
        try:
            bench.run()
        except Exception as exc:  # noqa: BLE001 - report what was measured, then the error
            print(f"a measurement failed, the table is incomplete: {exc}", file=sys.stderr)
            failed = True
        print(report(bench))
        if a.json:
            a.json.write_text(json.dumps(bench.results, indent=2))
    finally:
        server.stop()
    misses = [label for label, value, op, goal in _targets(bench.results) if not _met(value, op, goal)]
    if a.check and (misses or failed):
        sys.exit(f"--check: {len(misses)} target(s) missed" + (", a measurement failed" if failed else "")
                 + "".join(f"\n  MISS {m}" for m in misses))


if __name__ == "__main__":
    main()

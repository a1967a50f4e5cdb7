"""Many workers on one Redis: throughput, Redis cost per job, pickup latency.

    python bench/scale.py [--workers 1,2,4,8,16] [--modes nofork,fork,fork100]
                          [--window 3] [--latency-window 2] [--no-rq] [--json FILE]

For each mode (no-fork, fork, fork with ``--jobs-per-fork 100``) and each
worker count, starts that many worker processes on one private
redis-server (unix socket) with an enqueuer process running alongside,
then measures two windows:

* saturated: the enqueuer keeps 1,000-3,000 no-op jobs queued (pipelined
  ``enqueue_many``); jobs/s from ``stat:processed``; from the server's
  own INFO: Redis CPU time per job (``used_cpu_sys + used_cpu_user``),
  commands per job (``commandstats``, the commands scripts run included,
  INFO excluded) and round trips per job (``total_reads_processed``);
  enqueueing is part of each figure, as it is of each job's life;
* paced: the enqueuer sends one job at a time at a quarter of the
  saturated rate (at most 1,000 jobs/s); each job takes its enqueue time
  as an argument; pickup latency is its start time minus that: p50 and
  p99. Workers poll every 0.05 s when idle, which bounds it from above.

Then RQ's SimpleWorker and forking Worker drain the same no-op jobs on the
same server, for their commands, round trips and Redis CPU per job.

Read the figures with the machine in mind: the workers, the enqueuer and
Redis share its cores; past a core or two of workers the clients are
CPU-bound, so jobs/s stops growing while Redis is far from busy. What
carries over to bigger machines is Redis CPU per job: one Redis core
serves at most 1 / (Redis CPU per job) jobs/s.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import redis

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_jobs import Noop, Stamp, registry  # noqa: E402
from resque import Resque  # noqa: E402
from roles import QUEUE  # noqa: E402
from throughput import Server, machine  # noqa: E402

MODES = {"nofork": ["--no-fork"], "fork": [], "fork100": ["--jobs-per-fork", "100"]}
LOW, HIGH, BATCH = 1000, 3000, 500
PACE_MAX = 1000.0  # jobs/s of the paced window: well within what one enqueuer and the workers do


def counters(raw: "redis.Redis[bytes]") -> dict[str, float]:
    """Read the server's CPU seconds, commands (INFO excluded), reads and jobs processed."""
    info = raw.info("all")
    commands = sum(v["calls"] for k, v in info.items()
                   if k.startswith("cmdstat_") and k != "cmdstat_info")
    processed = raw.get("resque:stat:processed")
    return {"cpu": float(info["used_cpu_sys"]) + float(info["used_cpu_user"]),
            "commands": commands, "reads": int(info["total_reads_processed"]),
            "processed": int(processed or 0), "t": time.perf_counter()}


def delta(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    jobs = max(b["processed"] - a["processed"], 1)
    return {"jobs": jobs, "rate": jobs / (b["t"] - a["t"]),
            "redis_cpu_us": (b["cpu"] - a["cpu"]) / jobs * 1e6,
            "redis_busy": (b["cpu"] - a["cpu"]) / (b["t"] - a["t"]),
            "commands": (b["commands"] - a["commands"]) / jobs,
            "round_trips": (b["reads"] - a["reads"] - 1) / jobs}  # minus the second INFO's read


# -- the processes ------------------------------------------------------------------


def role_worker(url: str, mode: str) -> None:
    """Run ``resque work`` in this process with the bench jobs registered."""
    from resque.cli.main import main as cli

    def setup(worker: Any) -> None:
        for job in (Noop, Stamp):
            worker.client.registry.register(job, name=job.__name__)

    sys.modules["scale_jobs"] = type(sys)("scale_jobs")
    sys.modules["scale_jobs"].setup_resque_worker = setup  # type: ignore[attr-defined]
    os.environ["RESQUE_REDIS_URL"] = url
    cli.main(["work", "-q", QUEUE, "--interval", "0.05", "-A", "scale_jobs", "--quiet",
              *MODES[mode]], prog_name="resque")


def role_enqueue(url: str, kind: str, arg: str) -> None:
    """Keep the queue between LOW and HIGH no-ops, or send Stamp jobs at ``arg`` jobs/s."""
    client = Resque(url, registry=registry())
    raw = redis.Redis.from_url(url)
    key = client.store.keys.queue(QUEUE)
    if kind == "saturate":
        while True:
            if raw.llen(key) < LOW:
                for _ in range((HIGH - LOW) // BATCH):
                    client.enqueue_many(Noop, [()] * BATCH)
            else:
                time.sleep(0.01)
    gap, path = 1.0 / float(arg), os.environ["SCALE_STAMPS"]
    due = time.perf_counter()
    while True:
        client.enqueue(Stamp, path, time.time())
        due += gap
        pause = due - time.perf_counter()
        if pause > 0:
            time.sleep(pause)


def spawn(*argv: str, env: dict[str, str] | None = None) -> "subprocess.Popen[bytes]":
    """Start a role process; its output goes to ``$SCALE_LOG`` (or nowhere)."""
    log = open(os.environ.get("SCALE_LOG", os.devnull), "ab")  # noqa: SIM115 - the child holds it
    try:
        return subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--role", *argv],
                                env={**os.environ, **(env or {})}, stdout=log, stderr=log)
    finally:
        log.close()


def stop(procs: list["subprocess.Popen[bytes]"], sig: int = signal.SIGQUIT) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(sig)
    for p in procs:
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


# -- one configuration --------------------------------------------------------------


def run_one(server: Server, mode: str, workers: int, window: float, latency_window: float) -> dict[str, Any]:
    raw = server.raw
    raw.flushall()
    procs = [spawn("worker", server.url, mode) for _ in range(workers)]
    result: dict[str, Any] = {"mode": mode, "workers": workers}
    try:
        deadline = time.monotonic() + 60
        while raw.scard("resque:workers") < workers and time.monotonic() < deadline:
            time.sleep(0.05)
        feeder = spawn("enqueue", server.url, "saturate", "0")
        try:
            time.sleep(0.7)  # workers warm, backlog built
            a = counters(raw)
            time.sleep(window)
            b = counters(raw)
        finally:
            stop([feeder], signal.SIGKILL)
        result.update(delta(a, b))
        raw.delete(f"resque:queue:{QUEUE}")
        stamps = server.dir / f"stamps-{mode}-{workers}.txt"
        pace = min(max(result["rate"] / 4, 5.0), PACE_MAX)
        result["paced_rate"] = pace
        pacer = spawn("enqueue", server.url, "paced", str(pace),
                      env={"SCALE_STAMPS": str(stamps)})
        try:
            time.sleep(0.5 + latency_window)
        finally:
            stop([pacer], signal.SIGKILL)
        time.sleep(0.3)
        lat = sorted(float(x) for x in stamps.read_text().split()) if stamps.exists() else []
        result["latency_n"] = len(lat)
        result["p50_ms"] = lat[len(lat) // 2] * 1000 if lat else -1.0
        result["p99_ms"] = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000 if lat else -1.0
    finally:
        stop(procs)
    return result


def rq_costs(server: Server, jobs: int) -> dict[str, dict[str, Any]]:
    """Drain no-op jobs with RQ's workers; return their cost per job on the same server."""
    out: dict[str, dict[str, Any]] = {}
    for kind, n in (("simple", jobs), ("fork", max(jobs // 5, 50))):
        server.raw.flushall()
        cpu0 = counters(server.raw)["cpu"]
        proc = subprocess.run([sys.executable, str(HERE / "roles.py"), "rq", server.url, kind, str(n), "50"],
                              capture_output=True, text=True, timeout=600)
        cpu1 = counters(server.raw)["cpu"]
        if proc.returncode != 0:
            out[kind] = {"error": proc.stderr.strip().splitlines()[-1:]}
            continue
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        # the Redis CPU spans RQ's enqueue and warm-up too: an upper bound per job
        res["redis_cpu_us"] = (cpu1 - cpu0) / (n + 50) * 1e6
        out[kind] = res
    return out


# -- report -------------------------------------------------------------------------


def report(results: list[dict[str, Any]], rq: dict[str, dict[str, Any]], cmd: str) -> str:
    lines = [f"command: {cmd}", ""]
    head = (f"{'mode':8s} {'workers':>7s} {'jobs/s':>8s} {'Redis CPU us/job':>16s} {'Redis busy':>10s} "
            f"{'cmds/job':>8s} {'RTs/job':>7s} {'p50 ms':>7s} {'p99 ms':>7s} {'paced at':>9s}")
    lines.append(head)
    for r in results:
        lines.append(f"{r['mode']:8s} {r['workers']:7d} {r['rate']:8,.0f} {r['redis_cpu_us']:16.1f} "
                     f"{r['redis_busy'] * 100:9.0f}% {r['commands']:8.2f} {r['round_trips']:7.2f} "
                     f"{r['p50_ms']:7.1f} {r['p99_ms']:7.1f} {r['paced_rate']:9,.0f}")
    lines.append("")
    for mode in dict.fromkeys(r["mode"] for r in results):
        mine = [r for r in results if r["mode"] == mode]
        cpu = statistics.median(r["redis_cpu_us"] for r in mine)
        top = max(mine, key=lambda r: r["rate"])
        lines.append(f"{mode:8s}: Redis CPU per job median {cpu:.1f} us, {top['redis_cpu_us']:.1f} us at the "
                     f"best rate ({top['rate']:,.0f} jobs/s, {top['workers']} workers): one Redis core "
                     f"tops out near {1e6 / cpu:,.0f}-{1e6 / top['redis_cpu_us']:,.0f} jobs/s")
    for kind, res in rq.items():
        if "error" in res:
            lines.append(f"RQ {kind}: not measured ({res['error']})")
        else:
            lines.append(f"RQ {'SimpleWorker' if kind == 'simple' else 'Worker (fork)'}: "
                         f"{res['commands_per_job']:.1f} commands, {res['reads_per_job']:.1f} round trips, "
                         f"<= {res['redis_cpu_us']:.0f} us Redis CPU per job ({res['rate']:,.0f} jobs/s, one worker)")
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--role":
        {"worker": role_worker, "enqueue": role_enqueue}[sys.argv[2]](*sys.argv[3:])
        return
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workers", default="1,2,4,8,16", help="comma list of worker counts")
    p.add_argument("--modes", default=",".join(MODES), help="comma list of nofork, fork, fork100")
    p.add_argument("--window", type=float, default=3.0, help="seconds of the saturated window")
    p.add_argument("--latency-window", type=float, default=1.5, help="seconds of the paced window")
    p.add_argument("--rq-jobs", type=int, default=1000, help="jobs of the RQ SimpleWorker drain")
    p.add_argument("--no-rq", action="store_true", help="skip RQ")
    p.add_argument("--json", type=Path, help="also write the raw results here")
    a = p.parse_args()
    server = Server()
    os.environ.setdefault("SCALE_LOG", str(server.dir / "roles.log"))
    results: list[dict[str, Any]] = []
    rq: dict[str, dict[str, Any]] = {}
    try:
        header = machine(server.raw)
        for mode in a.modes.split(","):
            for n in (int(x) for x in a.workers.split(",")):
                print(f"... {mode}, {n} workers", file=sys.stderr, flush=True)
                results.append(run_one(server, mode, n, a.window, a.latency_window))
        if not a.no_rq:
            print("... RQ", file=sys.stderr, flush=True)
            try:
                rq = rq_costs(server, a.rq_jobs)
            except (OSError, subprocess.SubprocessError) as exc:
                rq = {"simple": {"error": str(exc)}}
    finally:
        server.stop()
    print(header)
    print(report(results, rq, "python " + " ".join(["bench/scale.py", *sys.argv[1:]])))
    if a.json:
        a.json.write_text(json.dumps({"results": results, "rq": rq}, indent=2))


if __name__ == "__main__":
    main()

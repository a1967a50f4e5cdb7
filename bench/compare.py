"""Guard speed: save the micro benchmarks' baseline, or compare a new run with it.

    python bench/compare.py save    [--runs 3]
    python bench/compare.py compare [--runs 3] [--tolerance 20]

Each of ``--runs`` separate pytest processes runs ``pytest bench``; a
benchmark's figure is its minimum time over every round of every run. A
busy machine only ever adds time, so the minimum of many rounds in several
processes is what the code costs; means and maxima follow the neighbours.
``compare`` exits 1 when a minimum is ``--tolerance`` percent or more
above the baseline's. The baseline lives in ``.benchmarks/baseline.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / ".benchmarks" / "baseline.json"
PYTEST = ["-m", "pytest", "bench", "-q", "-p", "no:cacheprovider", "--benchmark-min-rounds=300",
          "--benchmark-max-time=2"]


def measure(runs: int) -> dict[str, Any]:
    """Run the benchmarks ``runs`` times; return each one's best minimum and median."""
    best: dict[str, dict[str, float]] = {}
    machine: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(runs):
            out = Path(tmp) / f"run{i}.json"
            print(f"... benchmark run {i + 1}/{runs}", file=sys.stderr, flush=True)
            done = subprocess.run([sys.executable, *PYTEST, f"--benchmark-json={out}"], cwd=ROOT,
                                  env={**os.environ, "PYTHONHASHSEED": "0"},  # one dict layout
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            if done.returncode != 0:
                sys.exit(f"the benchmarks failed:\n{done.stderr[-3000:]}")
            data = json.loads(out.read_text())
            machine = {k: data["machine_info"].get(k) for k in ("node", "python_version", "cpu")}
            for bench in data["benchmarks"]:
                stats, seen = bench["stats"], best.setdefault(bench["fullname"], {})
                for field in ("min", "median"):
                    seen[field] = min(seen.get(field, float("inf")), stats[field])
    return {"runs": runs, "machine": machine, "slowdown": os.environ.get("RESQUE_BENCH_SLOWDOWN", ""),
            "benchmarks": best}


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:12.3f} us"


def compare(base: dict[str, Any], now: dict[str, Any], tolerance: float) -> list[str]:
    """Print the table; return the names whose minimum rose by ``tolerance`` % or more."""
    worse = []
    print(f"{'benchmark (minimum time)':52s} {'baseline':>15s} {'now':>15s} {'change':>8s}")
    for name, stats in sorted(now["benchmarks"].items()):
        old = base["benchmarks"].get(name)
        if old is None:
            print(f"{name.split('::')[-1]:52s} {'(new)':>15s} {_us(stats['min'])}")
            continue
        change = (stats["min"] / old["min"] - 1) * 100
        flag = "  REGRESSION" if change >= tolerance else ""
        if flag:
            worse.append(name)
        print(f"{name.split('::')[-1]:52s} {_us(old['min'])} {_us(stats['min'])} {change:+7.1f}%{flag}")
    return worse


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("action", choices=["save", "compare"])
    p.add_argument("--runs", type=int, default=3, help="separate pytest runs (default 3)")
    p.add_argument("--tolerance", type=float, default=20.0,
                   help="percent a minimum may rise before it counts as a regression (default 20)")
    p.add_argument("--baseline", type=Path, default=BASELINE, help="baseline file")
    a = p.parse_args()
    if a.runs < 1 or a.tolerance <= 0:
        p.error("--runs must be at least 1 and --tolerance above 0")
    if a.action == "compare" and not a.baseline.exists():
        sys.exit(f"no baseline at {a.baseline}: run `make bench-save` (on the code to compare with) first")
    now = measure(a.runs)
    if a.action == "save":
        a.baseline.parent.mkdir(parents=True, exist_ok=True)
        a.baseline.write_text(json.dumps(now, indent=2, sort_keys=True))
        print(f"saved the minima of {len(now['benchmarks'])} benchmarks (best of {a.runs} runs) "
              f"to {a.baseline}")
        return
    base = json.loads(a.baseline.read_text())
    if base.get("machine") != now["machine"]:
        print(f"note: the baseline was measured on {base.get('machine')}, this run on {now['machine']}")
    worse = compare(base, now, a.tolerance)
    if worse:
        sys.exit(f"FAIL: {len(worse)} benchmark(s) {a.tolerance:g}% or more slower than the baseline "
                 f"(best of {a.runs} runs each)")
    print(f"PASS: no benchmark's minimum rose by {a.tolerance:g}% or more (best of {a.runs} runs each)")


if __name__ == "__main__":
    main()

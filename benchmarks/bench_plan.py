"""`lastmile plan` end to end on the synthetic Suichang stand-in: cold run, then warm run.

Cold: a fresh cache directory (stand-in generated, graph parsed and cached, matrices computed).
Warm: the same cache (graph and matrices from the cache). Both write an output folder; the script
checks that their kpis.json and CSVs are identical, and appends the timings to
``benchmarks/results/plan.jsonl``.

    python benchmarks/bench_plan.py [--scale 1.0] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "plan.jsonl"
COMPARED = (
    "kpis.json",
    "hubs.csv",
    "assignments.csv",
    "routes.csv",
    "stops.csv",
    "unassigned.csv",
    "orders.csv",
    "trunk_routes.csv",
)


def run(out: Path, cache: Path, scale: float) -> float:
    env = dict(os.environ, LASTMILE_CACHE_DIR=str(cache))
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "lastmile.cli", "plan", "--network", "synthetic",
         "--standin-scale", str(scale), "--out", str(out)],
        check=True, env=env, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cold = run(root / "cold", root / "cache", args.scale)
        warm = run(root / "warm", root / "cache", args.scale)
        same = {
            n: (root / "cold" / n).read_bytes() == (root / "warm" / n).read_bytes()
            for n in COMPARED
        }
        manifest = json.loads((root / "warm" / "manifest.json").read_text(encoding="utf-8"))
        kpis = json.loads((root / "warm" / "kpis.json").read_text(encoding="utf-8"))
    row = {
        "date": time.strftime("%Y-%m-%d"), "machine": platform.machine(), "cpus": os.cpu_count(),
        "scale": args.scale, "cold_s": round(cold, 1), "warm_s": round(warm, 1),
        "warm_timings_s": manifest["timings_s"], "identical_outputs": same,
        "network_nodes": kpis["network"]["nodes"], "villages": kpis["villages"],
        "orders": kpis["orders"], "access_time": kpis["access_time"],
        "routing": kpis["routing"], "orders_compared": kpis.get("orders_compared"),
        "lead_time": kpis.get("lead_time"), "routed_compared": kpis.get("routed_compared"),
        "routed_totals": kpis.get("routed_totals"), "cold_chain": kpis.get("cold_chain"),
        "unserved": kpis.get("unserved"), "trunk": kpis.get("trunk"),
    }  # fmt: skip
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a", encoding="utf-8") as f:
        f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(json.dumps(row, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

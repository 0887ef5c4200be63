"""`lastmile sweep` on Dask against the same scenarios run one after another in a loop.

The sweep: p in (6, 8, 10, 12) x seed in (1, 2, 3) x produce cold-chain limit in (90, 120) min =
24 whole plans on the synthetic stand-in (one network: it is built once, before timing, into the
cache both sides read). Modes:

    loop   each scenario with run_plan(parallel=False) in this process, one after another
           (what one Dask task does), and, with --loop-parallel, with run_plan() as
           `lastmile plan` runs it (baseline and plan routed side by side on two cores)
    dask   run_sweep on a LocalCluster of --workers single-threaded worker processes

Each mode appends one JSON line to ``benchmarks/results/sweep.jsonl`` with per-scenario seconds
and the sha256 of every scenario's kpis.json, so that runs can be combined and checked for
identical results.

    flock /tmp/lastmile-cpu.lock python benchmarks/bench_sweep.py --mode both --scale 0.25
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import tempfile
import time
from pathlib import Path

from lastmile.plan import prepare, run_plan
from lastmile.scenario import Scenario, load_scenario
from lastmile.sweep import Sweep, kpis_text, load_sweep, run_sweep

RESULTS = Path(__file__).parent / "results" / "sweep.jsonl"
KEPT = Path(__file__).parent / "results" / "sweep"

SWEEP = """
[set]
network = "synthetic"
standin_scale = {scale}

[grid]
p = [6, 8, 10, 12]
seed = [1, 2, 3]
"cold_chain.produce_max_in_vehicle_min" = [90, 120]
"""


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _scenario(toml: str, tmp: Path) -> Scenario:
    path = tmp / "scenario.toml"
    path.write_text(toml, encoding="utf-8")
    return load_scenario(path)


def loop(
    sweep: Sweep, cache: Path, tmp: Path, parallel: bool, limit: int | None
) -> dict[str, object]:
    seconds: dict[str, float] = {}
    sha: dict[str, str] = {}
    t0 = time.perf_counter()
    for spec in sweep.scenarios[:limit]:
        t = time.perf_counter()
        result = run_plan(_scenario(spec.toml, tmp), cache=cache, parallel=parallel)
        sha[spec.id] = _sha(kpis_text(result.kpis()))
        seconds[spec.id] = round(time.perf_counter() - t, 2)
    return {"wall_s": round(time.perf_counter() - t0, 1), "seconds": seconds, "kpis_sha": sha}


def dask(sweep: Sweep, cache: Path, out: Path, workers: int) -> dict[str, object]:
    t0 = time.perf_counter()
    outcome = run_sweep(sweep, out, workers=workers, cache=cache, progress_bar=False)
    wall = time.perf_counter() - t0
    df = outcome.table
    if not df.empty:  # keep the table, summary and plots (the README shows them)
        for name in ("summary.md", "results.csv", "plots/reduction_vs_p.png", "plots/tornado.png"):
            if (out / name).is_file():
                (KEPT / name).parent.mkdir(parents=True, exist_ok=True)
                (KEPT / name).write_bytes((out / name).read_bytes())
    ok = df[df["status"] == "ok"]
    sha = {
        sid: _sha((out / "scenarios" / sid / "kpis.json").read_text(encoding="utf-8"))
        for sid in ok["scenario"]
    }
    return {
        "wall_s": round(wall, 1),
        "failed": int(outcome.failed),
        "task_seconds": {
            str(k): float(v) for k, v in zip(ok["scenario"], ok["seconds.task"], strict=True)
        },
        "kpis_sha": sha,
    }


def _noop(i: int) -> int:
    return i


def dask_noop_overhead(workers: int, n: int = 400) -> dict[str, float]:
    """Dask's own cost per task: ``n`` no-op tasks on a fresh LocalCluster (after start-up)."""
    from distributed import Client, LocalCluster, wait

    t0 = time.perf_counter()
    with (
        LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        start_s = time.perf_counter() - t0
        wait(client.map(_noop, range(20), pure=False))  # warm the connections
        t = time.perf_counter()
        wait(client.map(_noop, range(n), pure=False))
        per_task = (time.perf_counter() - t) / n
    return {"cluster_start_s": round(start_s, 2), "noop_task_ms": round(per_task * 1000, 3)}


def _append(row: dict[str, object]) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a", encoding="utf-8") as f:
        f.write(json.dumps(row, sort_keys=True) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("loop", "dask", "both"), required=True)
    parser.add_argument("--limit", type=int, default=None, help="first N scenarios (checks)")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--loop-parallel",
        type=int,
        default=0,
        metavar="N",
        help="also time the first N scenarios as `lastmile plan` runs them",
    )
    parser.add_argument("--cache", type=Path, default=None, help="cache dir (default: env)")
    args = parser.parse_args()
    cache = args.cache or Path(os.environ.get("LASTMILE_CACHE_DIR", tempfile.mkdtemp()))
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        sweep_file = tmp / "sweep.toml"
        sweep_file.write_text(SWEEP.format(scale=args.scale), encoding="utf-8")
        sweep = load_sweep(sweep_file)
        sweep = Sweep(sweep.source, sweep.scenarios[: args.limit], sweep.keys)
        t = time.perf_counter()
        prepare(_scenario(sweep.scenarios[0].toml, tmp), cache=cache)
        warm_s = time.perf_counter() - t
        row: dict[str, object] = {
            "date": time.strftime("%Y-%m-%d %H:%M"),
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "scale": args.scale,
            "scenarios": len(sweep.scenarios),
            "mode": args.mode,
            "network_warm_s": round(warm_s, 1),
        }
        # each phase is appended as soon as it ends (a time-out keeps what finished)
        if args.mode in ("loop", "both"):
            row["loop"] = loop(sweep, cache, tmp, parallel=False, limit=None)
            _append({**row, "phase": "loop"})
            if args.loop_parallel:
                row["loop_parallel"] = loop(sweep, cache, tmp, True, args.loop_parallel)
                _append({**row, "phase": "loop_parallel"})
        if args.mode in ("dask", "both"):
            row["workers"] = args.workers
            row["dask"] = dask(sweep, cache, tmp / "out", args.workers)
            _append({**row, "phase": "dask"})
            row["dask_overhead"] = dask_noop_overhead(args.workers)
            _append({**row, "phase": "all"})
    summary = {k: v for k, v in row.items() if k not in ("loop", "dask", "loop_parallel")}
    for key in ("loop", "loop_parallel", "dask"):
        if key in row:
            part = row[key]
            assert isinstance(part, dict)
            summary[f"{key}_wall_s"] = part["wall_s"]
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

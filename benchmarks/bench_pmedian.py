"""OR-Library p-median: lastmile's exact solver against the published optima and against spopt.

For every ``pmed*.txt`` in the reference data (``$LASTMILE_REFERENCE_DATA`` or ``../shared/data``,
folder ``benchmarks/pmed``) this script

1. solves the instance with :func:`lastmile.location.solve` (in this process) and checks the
   objective against ``pmed_opt.csv``;
2. solves the same cost matrix with spopt's ``PMedian.from_cost_matrix`` (PuLP + CBC) in a child
   process with a time limit; model building counts against it, and the child's process group is
   killed when it overruns, so an unfinished run is recorded as such, never waited for;
3. prints one JSON line per instance (and a Markdown table at the end) and writes the JSON lines
   to ``benchmarks/results/pmedian.jsonl`` (atomically).

Usage::

    python benchmarks/bench_pmedian.py [--time-limit 120] [--spopt-time-limit 60] [--no-spopt]
                                       [--only pmed1 pmed3] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from lastmile.config import reference_data_dir
from lastmile.instances import read_pmed, reference_values
from lastmile.io import write_text
from lastmile.location import LocationOptions, LocationProblem, solve

HERE = Path(__file__).resolve().parent


def _spopt_worker(path: Path, time_limit: float) -> None:
    """Child process: build and solve spopt's p-median; print one JSON line."""
    import pulp
    from spopt.locate import PMedian

    inst = read_pmed(path)
    t0 = time.perf_counter()
    model = PMedian.from_cost_matrix(inst.cost.astype(float), np.ones(inst.n), inst.p)
    built = time.perf_counter() - t0
    solver = pulp.PULP_CBC_CMD(msg=False, timeLimit=max(1, round(time_limit - built)))
    try:
        model = model.solve(solver)
    except RuntimeError as exc:  # spopt raises when CBC stops at the time limit without a proof
        print(
            json.dumps(
                {
                    "objective": None,
                    "status": f"not solved: {exc}"[:120],
                    "sol_status": "Not Solved",
                    "build_seconds": round(built, 3),
                    "seconds": round(time.perf_counter() - t0, 3),
                }
            ),
            flush=True,
        )
        return
    seconds = time.perf_counter() - t0
    prob = model.problem
    value = pulp.value(prob.objective)
    print(
        json.dumps(
            {
                "objective": None if value is None else round(float(value)),
                "status": pulp.LpStatus[prob.status],
                "sol_status": pulp.LpSolution.get(prob.sol_status, str(prob.sol_status)),
                "build_seconds": round(built, 3),
                "seconds": round(seconds, 3),
            }
        ),
        flush=True,
    )


def _run_spopt(path: Path, time_limit: float, grace: float) -> dict[str, Any]:
    """Run the spopt worker with a hard wall-clock cap; kill its process group on overrun."""
    t0 = time.perf_counter()
    cmd = [sys.executable, str(Path(__file__).resolve()), "--spopt-worker", str(path)]
    cmd += ["--spopt-time-limit", str(time_limit)]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        out, err = proc.communicate(timeout=time_limit + grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the worker and its CBC child, nothing else
        proc.communicate()
        return {
            "finished": False,
            "reason": "killed at the wall-clock cap",
            "seconds": round(time.perf_counter() - t0, 1),
        }
    if proc.returncode != 0 or not out.strip():
        return {
            "finished": False,
            "reason": f"exit {proc.returncode}: {err.strip()[-200:]}",
            "seconds": round(time.perf_counter() - t0, 1),
        }
    res: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    res["finished"] = res.get("sol_status") == "Optimal Solution Found" or (
        res.get("status") == "Optimal" and res["seconds"] < time_limit - 1
    )
    return res


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--time-limit", type=float, default=120.0, help="lastmile seconds per instance")
    ap.add_argument(
        "--spopt-time-limit", type=float, default=60.0, help="spopt seconds (build+solve)"
    )
    ap.add_argument("--spopt-grace", type=float, default=20.0, help="extra seconds before killing")
    ap.add_argument("--no-spopt", action="store_true", help="skip the spopt comparison")
    ap.add_argument("--backend", choices=("SCIP", "CP_SAT"), default="SCIP", help="lastmile MIP")
    ap.add_argument("--only", nargs="*", default=None, help="instance names, e.g. pmed1 pmed3")
    ap.add_argument("--data", type=Path, default=None, help="reference-data directory")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "pmedian.jsonl")
    ap.add_argument("--spopt-worker", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.spopt_worker is not None:
        _spopt_worker(args.spopt_worker, args.spopt_time_limit)
        return 0

    data = reference_data_dir(args.data)
    assert data is not None
    folder = data / "benchmarks" / "pmed"
    # pmed_opt.csv beside the folder, found as `lastmile bench pmedian` finds it
    optima = {r.instance: round(r.value) for r in reference_values(folder, "pmedian").values()}
    files = sorted(folder.glob("pmed*.txt"), key=lambda p: int(p.stem[4:]))
    if args.only:
        files = [f for f in files if f.stem in set(args.only)]
    header = {
        "run": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": _machine(),
        "load_avg_at_start": os.getloadavg()[0],
        "lastmile_time_limit_s": args.time_limit,
        "lastmile_backend": args.backend,
        "spopt_time_limit_s": None if args.no_spopt else args.spopt_time_limit,
    }
    print(json.dumps(header), flush=True)
    lines = [json.dumps(header)]
    rows: list[dict[str, Any]] = []
    t_all = time.perf_counter()
    for path in files:
        inst = read_pmed(path)
        res = solve(
            LocationProblem.from_cost_matrix(inst.cost),
            LocationOptions(
                p=inst.p, max_per_group=None, time_limit_s=args.time_limit, backend=args.backend
            ),
        )
        opt = optima.get(inst.name)
        row: dict[str, Any] = {
            "instance": inst.name,
            "n": inst.n,
            "p": inst.p,
            "published": opt,
            "objective": round(res.objective),
            "bound": round(res.bound),
            "optimal": res.optimal,
            "matches_published": opt is not None and round(res.objective) == opt,
            "seconds": round(res.seconds, 3),
            "solver_calls": res.iterations,
        }
        if not args.no_spopt:
            sp = _run_spopt(path, args.spopt_time_limit, args.spopt_grace)
            row["spopt"] = sp
            if sp.get("finished"):
                row["spopt_over_lastmile"] = round(sp["seconds"] / max(res.seconds, 1e-3), 1)
        rows.append(row)
        lines.append(json.dumps(row))
        print(json.dumps(row), flush=True)
    total = time.perf_counter() - t_all
    summary = {
        "instances": len(rows),
        "all_match_published": all(r["matches_published"] for r in rows),
        "all_proven_optimal": all(r["optimal"] for r in rows),
        "lastmile_total_seconds": round(sum(r["seconds"] for r in rows), 1),
        "wall_seconds_including_spopt": round(total, 1),
    }
    lines.append(json.dumps(summary))
    print(json.dumps(summary), flush=True)
    write_text(args.out, "\n".join(lines) + "\n")

    print("\n| instance | n | p | optimum | lastmile | proven | lastmile s | spopt s | ratio |")
    print("|---|---:|---:|---:|---:|:-:|---:|---:|---:|")
    for r in rows:
        spo: dict[str, Any] | None = r.get("spopt")
        if spo is None:
            sps, ratio = "not run", ""
        elif spo.get("finished"):
            sps, ratio = f"{spo['seconds']:.1f}", f"{r['spopt_over_lastmile']:.0f}x"
        else:
            sps, ratio = f"> {args.spopt_time_limit:.0f} (did not finish)", ""
        print(
            f"| {r['instance']} | {r['n']} | {r['p']} | {r['published']} | {r['objective']} | "
            f"{'yes' if r['optimal'] else 'no'} | {r['seconds']:.2f} | {sps} | {ratio} |"
        )
    return 0 if summary["all_match_published"] else 1


if __name__ == "__main__":
    sys.exit(main())

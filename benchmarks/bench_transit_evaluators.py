"""The time dimension's transit evaluator: OR-Tools' matrix against the two lastmile chooses from.

OR-Tools 9.15 copies a dimension's transit evaluator for every route its path-cumul filter checks;
one registered with ``RegisterTransitMatrix`` owns its matrix row by row, so each check copies the
whole matrix. lastmile registers the time dimension either through the model's callback cache
(one flat vector) or as a numpy bound method (nothing copied, one Python call per arc), chosen by
the model's shape (``lastmile.routing._caches_transits``). This benchmark routes the same models
with each evaluator at a fixed solution limit, in this process, one after the other, and reports
seconds and the ratio to the matrix; the routes must be identical (same km, same stops).

Models: the default Suichang stand-in day (the baseline's and the plan's models, the default
solution limit), and Solomon / Gehring-Homberger instances read in place from the reference data.

    python benchmarks/bench_transit_evaluators.py [--county] [--solomon R107,RC105]
        [--homberger r1_2_3,rc2_2_3] [--limit 1500] [--repeat 2]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import lastmile.routing as routing
from lastmile.config import reference_data_dir
from lastmile.instances import read_solomon, solomon_problem

RESULTS = Path(__file__).parent / "results" / "transit_evaluators.jsonl"
EVALUATORS = ("matrix", "cache", "python", "auto")


def _fingerprint(solution: routing.RoutingSolution) -> list[Any]:
    return [(r.vehicle_id, r.trip, [s.order_id for s in r.stops]) for r in solution.routes]


def county_runs(repeat: int) -> list[dict[str, Any]]:
    """The default day's baseline and plan models under each evaluator."""
    from lastmile.plan import place_hubs, prepare, route_baseline, route_plan
    from lastmile.scenario import load_scenario

    inputs = prepare(load_scenario(network="synthetic"))
    placement = place_hubs(inputs)
    rows = []
    for model in ("baseline", "plan"):
        seen: dict[str, Any] = {}
        for _ in range(repeat):
            for evaluator in EVALUATORS:
                routing._TRANSIT_EVALUATOR = evaluator  # type: ignore[assignment]
                t0 = time.perf_counter()
                if model == "baseline":
                    rp = route_baseline(inputs, placement)
                else:
                    rp = route_plan(inputs, placement)[0]
                seconds = time.perf_counter() - t0
                seen.setdefault(evaluator, _fingerprint(rp.solution))
                rows.append(
                    {
                        "set": "county",
                        "instance": model,
                        "evaluator": evaluator,
                        "seconds": round(seconds, 2),
                        "km": round(rp.solution.kpis.total_km, 1),
                        "solutions": rp.solution.solutions,
                        "validator_ok": rp.validation.ok,
                        "same_routes_as_matrix": seen[evaluator] == seen["matrix"],
                    }
                )
                print(json.dumps(rows[-1]), flush=True)
    return rows


def instance_runs(dataset: str, names: list[str], limit: int, repeat: int) -> list[dict[str, Any]]:
    """Solomon-format instances at a fixed solution limit under each evaluator."""
    from lastmile.validate import validate_routes

    rows = []
    root = reference_data_dir()
    assert root is not None  # required=True raises when it is missing
    folder = root / "benchmarks" / dataset
    for name in names:
        problem = solomon_problem(read_solomon(folder / f"{name}.txt"))
        options = routing.RoutingOptions(time_limit_s=600.0, solution_limit=limit)
        seen: dict[str, Any] = {}
        for _ in range(repeat):
            for evaluator in EVALUATORS:
                routing._TRANSIT_EVALUATOR = evaluator  # type: ignore[assignment]
                t0 = time.perf_counter()
                sol = routing.solve(problem, options)
                seconds = time.perf_counter() - t0
                seen.setdefault(evaluator, _fingerprint(sol))
                rows.append(
                    {
                        "set": dataset,
                        "instance": name,
                        "evaluator": evaluator,
                        "seconds": round(seconds, 2),
                        "km": round(sol.kpis.total_distance_m / 10, 1),
                        "solutions": sol.solutions,
                        "validator_ok": validate_routes(problem, sol).ok,
                        "same_routes_as_matrix": seen[evaluator] == seen["matrix"],
                    }
                )
                print(json.dumps(rows[-1]), flush=True)
    return rows


def summarize(rows: list[dict[str, Any]]) -> None:
    """Best of the repeats per model and evaluator, and its ratio to the matrix."""
    best: dict[tuple[str, str], dict[str, float]] = {}
    for r in rows:
        key = (r["set"], r["instance"])
        cur = best.setdefault(key, {})
        cur[r["evaluator"]] = min(cur.get(r["evaluator"], float("inf")), r["seconds"])
    print("\n| model | matrix s | cache s | python s | auto s | matrix / auto |")
    print("|---|---:|---:|---:|---:|---:|")
    for (dataset, name), s in best.items():
        print(
            f"| {dataset} {name} | {s['matrix']:.2f} | {s['cache']:.2f} | {s['python']:.2f} "
            f"| {s['auto']:.2f} | {s['matrix'] / s['auto']:.2f}x |"
        )
    same = all(r["same_routes_as_matrix"] and r["validator_ok"] for r in rows)
    print(f"\nevery run validated, same routes as the matrix: {same}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--county", action="store_true", help="the default stand-in day")
    parser.add_argument("--solomon", default="", help="comma list of Solomon instances")
    parser.add_argument("--homberger", default="", help="comma list of GH 200 instances")
    parser.add_argument("--limit", type=int, default=1500, help="solutions per instance run")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    if args.county:
        rows += county_runs(args.repeat)
    for dataset, names in (("solomon", args.solomon), ("homberger_200", args.homberger)):
        if names:
            rows += instance_runs(dataset, names.split(","), args.limit, args.repeat)
    stamp = {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": platform.processor()}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps({**stamp, **r}) + "\n")
    summarize(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())

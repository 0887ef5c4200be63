"""Routing on the default Suichang stand-in: the baseline and plan models under routing variants.

The inputs (network, orders, matrices, the 10 hubs) are prepared once; each variant then routes
the baseline (the whole fleet at the county centre) and the plan (centre + hubs) one after the
other in this process (one core each, timed alone). Every solution is checked by the validator.
One JSON line per variant and model goes to ``benchmarks/results/county_routing.jsonl``.

    python benchmarks/bench_routing_county.py --variants before,trips2 [--scale 1.0]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from lastmile.plan import PlanInputs, place_hubs, prepare, route_baseline, route_plan
from lastmile.scenario import load_scenario

RESULTS = Path(__file__).parent / "results" / "county_routing.jsonl"

#: name -> ([plan] overrides, [[fleet]] overrides applied to every vehicle type)
VARIANTS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "one_trip": ({}, {"max_trips": 1, "reload_s": 0}),
    "trips2": ({}, {"max_trips": 2, "reload_s": 1800}),
    "trips3": ({}, {"max_trips": 3, "reload_s": 1800}),
    "trips_fit": ({}, {"max_trips": None, "reload_s": 1800}),
    "default": ({}, {}),
    "joint": ({"routing_mode": "joint"}, {}),
    "per_depot": ({"routing_mode": "per_depot"}, {}),
    "deep300": ({"routing_solution_limit": 100_000, "routing_time_limit_s": 300.0}, {}),
    "deep600": ({"routing_solution_limit": 1_000_000, "routing_time_limit_s": 600.0}, {}),
    # the README's recipe for figures that must not depend on search depth
    "deep2000": ({"routing_solution_limit": 2000, "routing_time_limit_s": 3600.0}, {}),
}


def parse_variant(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A named variant, or ``key=value`` pairs joined by ``+``: ``trips`` (a number or ``fit``),
    ``reload`` (minutes), ``limit`` (solutions), ``cap`` (seconds), ``mode``, ``candidates``,
    ``search`` (``ils`` | ``gls``), ``baseline`` (``catchments`` | ``joint``)."""
    if name in VARIANTS:
        return VARIANTS[name]
    plan_over: dict[str, Any] = {}
    fleet_over: dict[str, Any] = {}
    for part in name.split("+"):
        key, value = part.split("=")
        if key == "trips":
            fleet_over["max_trips"] = None if value == "fit" else int(value)
        elif key == "reload":
            fleet_over["reload_s"] = round(float(value) * 60)
        elif key == "limit":
            plan_over["routing_solution_limit"] = int(value)
        elif key == "cap":
            plan_over["routing_time_limit_s"] = float(value)
        elif key == "mode":
            plan_over["routing_mode"] = value
        elif key == "lead":
            plan_over["delivery_hour_cost"] = float(value)
        elif key == "baseline":
            plan_over["baseline_routing"] = value
        elif key == "candidates":
            plan_over["routing_depot_candidates"] = int(value)
        elif key == "search":
            plan_over["routing_search"] = value
        else:
            raise SystemExit(f"unknown variant key {key!r}")
    return plan_over, fleet_over


def variant_inputs(inputs: PlanInputs, name: str) -> PlanInputs:
    plan_over, fleet_over = parse_variant(name)
    sc = inputs.scenario
    region = replace(sc.region, fleet=tuple(replace(f, **fleet_over) for f in sc.region.fleet))
    return replace(inputs, scenario=replace(sc, plan=replace(sc.plan, **plan_over), region=region))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default="default", help="comma list (see parse_variant)")
    parser.add_argument("--models", default="baseline,plan")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--label", default="")
    args = parser.parse_args()
    inputs = prepare(load_scenario(network="synthetic", standin_scale=args.scale))
    placement = place_hubs(inputs)
    for name in args.variants.split(","):
        inp = variant_inputs(inputs, name)
        for model in args.models.split(","):
            cutoff = inp.region.trunk.cutoff_s
            t0 = time.perf_counter()
            if model == "baseline":
                rp = route_baseline(inp, placement)
            else:
                rp = route_plan(inp, placement)[0]
            seconds = time.perf_counter() - t0
            sol, k = rp.solution, rp.solution.kpis
            row = {
                "date": time.strftime("%Y-%m-%d"), "machine": platform.machine(),
                "label": args.label, "variant": name, "model": model, "scale": args.scale,
                "plan": {key: getattr(inp.scenario.plan, key) for key in (
                    "routing_mode", "routing_search", "routing_solution_limit",
                    "routing_time_limit_s", "routing_depot_candidates", "baseline_routing",
                    "delivery_hour_cost")},
                "fleet": {f.id: {"max_trips": f.max_trips, "reload_s": f.reload_s}
                          for f in inp.region.fleet},
                "orders": len(inp.orders), "served": k.orders_served,
                "unassigned_by_reason": sol.unassigned_by_reason(),
                "fleet_bound": sol.fleet_bound.as_dict() if sol.fleet_bound else None,
                "km": round(k.total_km, 1), "cost": round(k.total_cost, 1),
                "vehicle_hours": round(k.vehicle_hours, 2),
                "vehicles_used": k.vehicles_used, "trips": len(sol.routes),
                # delivery stops: end of service after the cut-off (the parcel lead time when
                # the vans are ready at the cut-off / their hub's ready time), minutes
                "delivery_end_after_cutoff_min": round(float(np.mean(
                    [s.start_s + rp.problem.order(s.order_id).service_s - cutoff
                     for r in sol.routes for s in r.stops
                     if rp.problem.order(s.order_id).kind == "delivery"] or [0])) / 60, 1),
                "seconds": round(seconds, 1), "status": sol.status,
                "search_ended_by": sol.search_ended_by, "solutions": sol.solutions,
                "validator_ok": rp.validation.ok,
            }  # fmt: skip
            RESULTS.parent.mkdir(parents=True, exist_ok=True)
            with RESULTS.open("a", encoding="utf-8") as f:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
            print(json.dumps(row, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

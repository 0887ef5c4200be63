"""Solomon VRPTW benchmark: lastmile vs plain OR-Tools recipe vs PyVRP, distance-only convention.

Every solver gets the same instance, the same time limit and the same integer arcs
``floor(10 * euclid)`` (used for distance AND travel time, windows and service times scaled by 10).
Every solution is turned into a :class:`lastmile.routing.RoutingSolution` and checked by
:func:`lastmile.validate.validate_routes`; its distance / 10 is compared with
``dist_bks_distance_trunc1`` of ``benchmarks/solomon_bks.csv`` (reference data, read in place).

Solvers:

- ``lastmile``: :func:`lastmile.routing.solve` with its default options.
- ``ortools-plain``: the OR-Tools VRPTW example recipe, Python per-arc callbacks,
  PATH_CHEAPEST_ARC + GUIDED_LOCAL_SEARCH.
- ``pyvrp``: PyVRP ``Model`` with ``stop=MaxRuntime``.

Usage::

    python benchmarks/bench_solomon.py --time-limit 30 \
        --out benchmarks/results/solomon_30s.jsonl [--solvers lastmile,pyvrp] [INSTANCE ...]
    python benchmarks/bench_solomon.py --summarize benchmarks/results/solomon_30s.jsonl

Prints one row per instance and solver, mean gaps per solver, and appends JSON lines to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from lastmile.config import reference_data_dir
from lastmile.instances import (
    SolomonInstance,
    read_solomon,
    reference_values,
    solomon_problem,
)
from lastmile.io import write_text
from lastmile.routing import (
    PORTFOLIO,
    RoutingOptions,
    RoutingProblem,
    RoutingSolution,
    Unassigned,
    compute_kpis,
    route_schedule,
    solve,
    vehicles_of,
)
from lastmile.validate import validate_routes

SOLVERS = ("lastmile", "lastmile-2core", "ortools-plain", "pyvrp")


def solution_from_sequences(
    problem: RoutingProblem, sequences: Sequence[Sequence[str]], seconds: float, status: str
) -> RoutingSolution:
    """Build a solution from order-id sequences with the earliest-start schedule."""
    vehicles = vehicles_of(problem)
    orders = {o.id: o for o in problem.orders}
    routes = [
        route_schedule(problem, v, [orders[i] for i in seq])
        for v, seq in zip(vehicles, [s for s in sequences if s], strict=False)
    ]
    served = {i for s in sequences for i in s}
    un = tuple(Unassigned(o.id, "search") for o in problem.orders if o.id not in served)
    if sum(1 for s in sequences if s) > len(vehicles):
        status += " (more routes than vehicles)"
    return RoutingSolution(
        tuple(routes), un, compute_kpis(problem, routes, len(un)), status, seconds
    )


def run_lastmile(inst: SolomonInstance, problem: RoutingProblem, limit: float) -> RoutingSolution:
    return solve(problem, RoutingOptions(time_limit_s=limit))


def run_lastmile_2core(
    inst: SolomonInstance, problem: RoutingProblem, limit: float
) -> RoutingSolution:
    return solve(problem, RoutingOptions(time_limit_s=limit, portfolio=PORTFOLIO))


def run_ortools_plain(
    inst: SolomonInstance, problem: RoutingProblem, limit: float
) -> RoutingSolution:
    """The OR-Tools VRPTW example recipe: Python callbacks, PATH_CHEAPEST_ARC + GLS."""
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    t0 = time.perf_counter()
    dist = problem.distance_m.tolist()
    service = [0] + [o.service_s for o in problem.orders]
    demand = [0] + [o.quantity["q"] for o in problem.orders]
    windows = [(problem.vehicle_types[0].shift_start_s, problem.vehicle_types[0].shift_end_s)] + [
        o.time_window or (0, 0) for o in problem.orders
    ]
    n, nv = len(dist), inst.vehicles
    manager = pywrapcp.RoutingIndexManager(n, nv, 0)
    routing = pywrapcp.RoutingModel(manager)

    def distance_cb(i: int, j: int) -> int:
        return int(dist[manager.IndexToNode(i)][manager.IndexToNode(j)])

    def time_cb(i: int, j: int) -> int:
        a = manager.IndexToNode(i)
        return int(service[a] + dist[a][manager.IndexToNode(j)])

    def demand_cb(i: int) -> int:
        return int(demand[manager.IndexToNode(i)])

    routing.SetArcCostEvaluatorOfAllVehicles(routing.RegisterTransitCallback(distance_cb))
    horizon = windows[0][1]
    routing.AddDimension(routing.RegisterTransitCallback(time_cb), horizon, horizon, False, "Time")
    tdim = routing.GetDimensionOrDie("Time")
    for node in range(1, n):
        tdim.CumulVar(manager.NodeToIndex(node)).SetRange(*windows[node])
    for v in range(nv):
        tdim.CumulVar(routing.Start(v)).SetRange(*windows[0])
        routing.AddVariableMinimizedByFinalizer(tdim.CumulVar(routing.Start(v)))
        routing.AddVariableMinimizedByFinalizer(tdim.CumulVar(routing.End(v)))
    routing.AddDimensionWithVehicleCapacity(
        routing.RegisterUnaryTransitCallback(demand_cb), 0, [inst.capacity] * nv, True, "Capacity"
    )
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    params.time_limit.FromMilliseconds(int(limit * 1000))
    sol = routing.SolveWithParameters(params)
    seqs: list[list[str]] = []
    if sol is not None:
        for v in range(nv):
            idx = sol.Value(routing.NextVar(routing.Start(v)))
            seq = []
            while not routing.IsEnd(idx):
                seq.append(str(manager.IndexToNode(idx)))
                idx = sol.Value(routing.NextVar(idx))
            seqs.append(seq)
    status = routing_enums_pb2.RoutingSearchStatus.Value.Name(routing.status())
    return solution_from_sequences(problem, seqs, time.perf_counter() - t0, status)


def run_pyvrp(inst: SolomonInstance, problem: RoutingProblem, limit: float) -> RoutingSolution:
    """PyVRP 0.14 on the same integer arcs (distance = duration = floor(10 * euclid))."""
    from pyvrp import Model
    from pyvrp.stop import MaxRuntime

    t0 = time.perf_counter()
    m = Model()
    vt = problem.vehicle_types[0]
    locs = [m.add_location(float(x), float(y)) for x, y in zip(inst.x, inst.y, strict=True)]
    depot = m.add_depot(locs[0], tw_early=vt.shift_start_s, tw_late=vt.shift_end_s)
    m.add_vehicle_type(
        num_available=inst.vehicles,
        capacity=inst.capacity,
        tw_early=vt.shift_start_s,
        tw_late=vt.shift_end_s,
        start_depot=depot,
        end_depot=depot,
    )
    for o in problem.orders:
        tw = o.time_window or (0, vt.shift_end_s)
        m.add_client(
            locs[o.location],
            delivery=o.quantity["q"],
            service_duration=o.service_s,
            tw_early=tw[0],
            tw_late=tw[1],
        )
    dm = problem.distance_m
    for i, a in enumerate(locs):
        for j, b in enumerate(locs):
            m.add_edge(a, b, distance=int(dm[i, j]), duration=int(dm[i, j]))
    res = m.solve(stop=MaxRuntime(limit), seed=0, display=False)
    # route activities: depots and clients; client idx k (0-based) is Solomon customer k + 1
    seqs = [[str(a.idx + 1) for a in r if a.is_client()] for r in res.best.routes()]
    status = "feasible" if res.is_feasible() else "infeasible"
    status += f" (pyvrp distance {res.best.distance()})"
    return solution_from_sequences(problem, seqs, time.perf_counter() - t0, status)


RUNNERS: dict[str, Callable[[SolomonInstance, RoutingProblem, float], RoutingSolution]] = {
    "lastmile": run_lastmile,
    "lastmile-2core": run_lastmile_2core,
    "ortools-plain": run_ortools_plain,
    "pyvrp": run_pyvrp,
}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("instances", nargs="*", help="instance names (default: all in solomon/)")
    ap.add_argument("--time-limit", type=float, default=30.0, help="seconds per instance/solver")
    ap.add_argument("--solvers", default=",".join(SOLVERS), help=f"comma list of {SOLVERS}")
    ap.add_argument("--reference-data", default=None, help="reference-data directory")
    ap.add_argument(
        "--dataset",
        default="solomon",
        help="folder under benchmarks/ in the reference data (solomon, homberger_200)",
    )
    ap.add_argument(
        "--concurrent",
        action="store_true",
        help="run the solvers of one instance side by side, one forked process each "
        "(one core each)",
    )
    ap.add_argument("--out", type=Path, default=None, help="JSON-lines file (rewritten per row)")
    ap.add_argument(
        "--summarize",
        type=Path,
        default=None,
        metavar="JSONL",
        help="only print the Markdown summary of an earlier run's JSON lines",
    )
    args = ap.parse_args(argv)
    if args.summarize is not None:
        with open(args.summarize, encoding="utf-8") as f:
            old = [json.loads(line) for line in f if line.strip()]
        for r in old:  # runs written before infeasible gaps were blanked
            if not r["feasible"]:
                r["gap_pct"] = None
        print(markdown_summary(old))
        return 0
    root = reference_data_dir(args.reference_data)
    assert root is not None
    folder = root / "benchmarks" / args.dataset
    # solomon_bks.csv beside the dataset's folder, found as `lastmile bench solomon` finds it;
    # it holds no value for homberger_200
    bks = reference_values(folder, "solomon")
    names = args.instances or sorted(p.stem for p in folder.glob("*.txt"))
    solvers = [s.strip() for s in args.solvers.split(",") if s.strip()]
    unknown = [s for s in solvers if s not in RUNNERS]
    if unknown:
        ap.error(f"unknown solvers {unknown}; use {SOLVERS}")
    rows: list[dict[str, object]] = []
    print(
        f"{'instance':9} {'solver':14} {'distance':>9} {'bks':>8} {'gap%':>6} {'veh':>4} "
        f"{'feasible':>8} {'seconds':>7}",
        flush=True,
    )
    for name in names:
        inst = read_solomon(folder / f"{name}.txt")
        problem = solomon_problem(inst)
        ref = bks.get(name.upper())
        best = None if ref is None else ref.value
        sols = solve_all(solvers, inst, problem, args.time_limit, args.concurrent)
        for solver, sol in zip(solvers, sols, strict=True):
            rep = validate_routes(problem, sol)
            feasible = rep.ok and not sol.unassigned
            dist = sol.kpis.total_distance_m / 10.0
            row: dict[str, object] = {
                "instance": name,
                "solver": solver,
                "time_limit_s": args.time_limit,
                "distance": dist,
                "vehicles": sol.kpis.vehicles_used,
                "feasible": feasible,
                "bks_distance": best,
                "bks_vehicles": None if ref is None else ref.vehicles,
                "gap_pct": ref.gap_pct(dist) if feasible and ref is not None else None,
                "seconds": round(sol.solve_seconds, 2),
                "status": sol.status,
                "search_ended_by": sol.search_ended_by,
                "concurrent": args.concurrent,
            }
            if not feasible:
                row["violations"] = rep.summary(5)
            rows.append(row)
            gap = "-" if row["gap_pct"] is None else f"{row['gap_pct']:.2f}"
            shown = "-" if best is None else f"{best:.1f}"  # no BKS: no value, not 0.0
            print(
                f"{name:9} {solver:14} {dist:9.1f} {shown:>8} {gap:>6} "
                f"{row['vehicles']:>4} {feasible!s:>8} {row['seconds']:7.1f}",
                flush=True,
            )
            if args.out is not None:
                write_text(args.out, "".join(json.dumps(r) + "\n" for r in rows))
    print()
    print(markdown_summary(rows))
    for r in rows:
        print(json.dumps(r))
    return 0


_JOBS: list[tuple[str, SolomonInstance, RoutingProblem, float]] = []


def _run_job(k: int) -> RoutingSolution:
    solver, inst, problem, limit = _JOBS[k]
    return RUNNERS[solver](inst, problem, limit)


def solve_all(
    solvers: Sequence[str],
    inst: SolomonInstance,
    problem: RoutingProblem,
    limit: float,
    concurrent: bool,
) -> list[RoutingSolution]:
    """Each solver on the instance: in turn, or side by side in forked processes."""
    if not concurrent or len(solvers) < 2:
        return [RUNNERS[s](inst, problem, limit) for s in solvers]
    import multiprocessing as mp

    _JOBS[:] = [(s, inst, problem, limit) for s in solvers]
    try:
        with mp.get_context("fork").Pool(len(solvers)) as pool:
            return pool.map(_run_job, range(len(solvers)))
    finally:
        _JOBS.clear()


def versus(rows: Sequence[dict[str, object]], solver: str = "lastmile", peer: str = "pyvrp") -> str:
    """Mean and worst distance of ``solver`` against ``peer`` per instance (both feasible)."""
    cell = {(str(r["instance"]), str(r["solver"])): r for r in rows}
    diffs = []
    for name in dict.fromkeys(str(r["instance"]) for r in rows):
        a, b = cell.get((name, solver)), cell.get((name, peer))
        if a and b and a["feasible"] and b["feasible"]:
            ratio = float(str(a["distance"])) / float(str(b["distance"]))
            diffs.append((100.0 * (ratio - 1), name))
    if not diffs:
        return f"{solver} vs {peer}: no instance both feasible"
    mean = sum(d for d, _ in diffs) / len(diffs)
    worst = max(diffs)
    return (
        f"{solver} vs {peer}: mean distance {mean:+.2f} % over {len(diffs)} instances both "
        f"feasible (worst {worst[0]:+.2f} % on {worst[1]})"
    )


def markdown_summary(rows: Sequence[dict[str, object]]) -> str:
    """Markdown table (distance per instance and solver) and mean gaps to the distance-only BKS.

    Infeasible or missing results show as "—" and are left out of the mean gap of that solver;
    the last line gives the mean gaps over the instances every solver solved feasibly.
    """
    solvers = list(dict.fromkeys(str(r["solver"]) for r in rows))
    names = list(dict.fromkeys(str(r["instance"]) for r in rows))
    cell = {(str(r["instance"]), str(r["solver"])): r for r in rows}
    head = "| instance | BKS (distance-only) | " + " | ".join(solvers) + " |"
    lines = [head, "|---|---:|" + "---:|" * len(solvers)]
    for name in names:
        bks = next(r["bks_distance"] for r in rows if r["instance"] == name) or "—"
        parts = []
        for s in solvers:
            r = cell.get((name, s))
            if r is None or not r["feasible"]:
                parts.append("—")
            elif r["gap_pct"] is None:
                parts.append(f"{r['distance']:.1f} ({r['vehicles']} veh)")
            else:
                parts.append(f"{r['distance']:.1f} ({r['gap_pct']:+.2f} %, {r['vehicles']} veh)")
        lines.append(f"| {name} | {bks} | " + " | ".join(parts) + " |")
    common = [n for n in names if all((n, s) in cell and cell[(n, s)]["feasible"] for s in solvers)]
    means, common_means = [], []
    for s in solvers:
        ok = [
            float(str(cell[(n, s)]["gap_pct"]))
            for n in names
            if (n, s) in cell and cell[(n, s)]["feasible"] and cell[(n, s)]["gap_pct"] is not None
        ]
        total = sum(1 for n in names if (n, s) in cell)
        means.append(f"{sum(ok) / len(ok):.2f} % ({len(ok)}/{total} feasible)" if ok else "—")
        cg = [
            float(str(cell[(n, s)]["gap_pct"]))
            for n in common
            if cell[(n, s)]["gap_pct"] is not None
        ]
        common_means.append(f"{sum(cg) / len(cg):.2f} %" if cg else "—")
    lines.append("| **mean gap, feasible runs** | | " + " | ".join(means) + " |")
    lines.append(
        f"| **mean gap, {len(common)} instances all solved** | | " + " | ".join(common_means) + " |"
    )
    if "pyvrp" in solvers:
        lines += ["", *(versus(rows, s) for s in solvers if s != "pyvrp")]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())

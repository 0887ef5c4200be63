"""MIP plumbing shared by the models: pywraplp solvers, group constraints, the ladder (radius)
variables, runs under the time budget."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from lastmile.errors import InfeasibleError, InputError
from lastmile.location.heuristic import _evaluate
from lastmile.location.prep import _Prep

if TYPE_CHECKING:
    pass


# --------------------------------------------------------------------------- MIP plumbing


def _new_solver(prep: _Prep) -> Any:
    from ortools.linear_solver import pywraplp

    solver = pywraplp.Solver.CreateSolver(prep.options.backend)
    if solver is None:  # pragma: no cover - depends on the OR-Tools build
        raise InputError(
            f"OR-Tools backend {prep.options.backend} is not available", "use SCIP or CP_SAT"
        )
    if prep.options.backend == "SCIP":
        solver.SetSolverSpecificParametersAsString(
            f"randomization/randomseedshift = {prep.options.seed}\n"
        )
    else:
        solver.SetSolverSpecificParametersAsString(
            f"random_seed:{prep.options.seed},num_workers:{prep.options.num_workers}"
        )
    solver.SetNumThreads(prep.options.num_workers)
    return solver


def _y_constraints(prep: _Prep, solver: Any) -> list[Any]:
    nf = len(prep.free)
    y = [solver.BoolVar(f"y{i}") for i in range(nf)]
    for r in prep.forced_local:
        y[r].SetLb(1.0)
    card = solver.Constraint(prep.options.p, prep.options.p, "p")
    for v in y:
        card.SetCoefficient(v, 1.0)
    k = prep.options.max_per_group
    if k is not None:
        for rws in prep.group_rows.values():
            if len(rws) > k:
                c = solver.Constraint(0, k)
                for r in rws:
                    c.SetCoefficient(y[r], 1.0)
    # forced groups, and per demand point an open facility that reaches it (the pairs without a
    # path are forbidden: the nearest open facility is then always a reachable one)
    for rws in [*prep.need_groups, *prep.reach_sets]:
        c = solver.Constraint(1, solver.infinity())
        for r in rws:
            c.SetCoefficient(y[r], 1.0)
    return y


@dataclass
class _Solved:
    status: str  # "optimal" | "feasible" | "infeasible" | "timeout"
    value: float
    bound: float
    y: NDArray[np.int64] | None  # chosen local rows
    x: Any = None


def _run(
    prep: _Prep, solver: Any, y: list[Any], hint: NDArray[np.int64] | None, extra: Any = None
) -> _Solved:
    from ortools.linear_solver import pywraplp

    remaining = prep.deadline - time.perf_counter()
    if remaining <= 0.01:
        return _Solved("timeout", math.nan, -math.inf, None)
    solver.SetTimeLimit(max(1, int(remaining * 1000)))
    if hint is not None:
        vals = np.zeros(len(y))
        vals[hint] = 1.0
        solver.SetHint(y, vals.tolist())
    params = pywraplp.MPSolverParameters()
    params.SetDoubleParam(params.RELATIVE_MIP_GAP, 0.0)
    prep.calls += 1
    st = solver.Solve(params)
    if st in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
        chosen = np.array([r for r, v in enumerate(y) if v.solution_value() > 0.5], dtype=np.int64)
        val = solver.Objective().Value()
        bnd = solver.Objective().BestBound() if st == pywraplp.Solver.FEASIBLE else val
        x = extra() if extra is not None else None
        return _Solved(
            "optimal" if st == pywraplp.Solver.OPTIMAL else "feasible", val, bnd, chosen, x
        )
    if st == pywraplp.Solver.INFEASIBLE:
        return _Solved("infeasible", math.nan, math.inf, None)
    if st == pywraplp.Solver.NOT_SOLVED or time.perf_counter() >= prep.deadline - 0.05:
        bnd = float(solver.Objective().BestBound())
        return _Solved("timeout", math.nan, bnd, None)
    raise InfeasibleError(
        f"the {prep.options.backend} solver stopped abnormally (status {st})",
        "run again with a longer time limit or the other backend",
    )


def _build_ladder(
    prep: _Prep,
    caps: NDArray[np.int64],
    closed: NDArray[np.bool_] | None,
    tlevel: NDArray[np.int64] | None = None,
    uncovered_max: float | None = None,
) -> tuple[Any, list[Any], float]:
    """Radius model of the weighted cost. ``caps[j]`` = number of rungs with a ``z`` variable;
    ``closed[j]`` adds the covering constraint at rung ``caps[j]``; with ``uncovered_max`` the
    weight uncovered at rung ``tlevel[j]`` is bounded. Returns solver, y, objective offset."""
    solver = _new_solver(prep)
    y = _y_constraints(prep, solver)
    inf = solver.infinity()
    obj = solver.Objective()
    offset = 0.0
    unc = solver.Constraint(-inf, uncovered_max) if uncovered_max is not None else None
    for j in range(prep.problem.n_demand):
        wj = float(prep.w[j])
        lv = prep.levels[j]
        if wj <= 0 and (closed is None or not closed[j]):
            continue
        c = int(caps[j])
        t = int(tlevel[j]) if tlevel is not None else -2
        offset += wj * float(lv[0])
        if unc is not None and t == -1:
            unc.SetBounds(-inf, unc.ub() - wj)
        prev = None
        for k in range(c):
            z = solver.NumVar(0.0, 1.0, "")
            con = solver.Constraint(1.0 if prev is None else 0.0, inf)
            con.SetCoefficient(z, 1.0)
            if prev is not None:
                con.SetCoefficient(prev, -1.0)
            for r in prep.rung_rows[j][k]:
                con.SetCoefficient(y[r], 1.0)
            obj.SetCoefficient(z, wj * float(lv[k + 1] - lv[k]))
            if unc is not None and k == t:
                unc.SetCoefficient(z, wj)
            prev = z
        if closed is not None and closed[j] and c < len(lv) - 1:
            con = solver.Constraint(1.0 if prev is None else 0.0, inf)
            if prev is not None:
                con.SetCoefficient(prev, -1.0)
            for r in prep.rung_rows[j][c]:
                con.SetCoefficient(y[r], 1.0)
    obj.SetOffset(offset)
    obj.SetMinimization()
    return solver, y, offset


def _level_index(lv: NDArray[np.int64], value: float) -> int:
    """Index of the first rung >= value (capped at the last rung)."""
    return min(int(np.searchsorted(lv, value, side="left")), len(lv) - 1)


def _true_cost(prep: _Prep, chosen: NDArray[np.int64]) -> float:
    _, c = _evaluate(prep, chosen)
    return float(prep.w @ c)


def _round_lb(prep: _Prep, lb: float) -> float:
    if prep.integral and math.isfinite(lb):
        return float(math.ceil(lb - 1e-6))
    return lb

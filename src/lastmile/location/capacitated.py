"""The capacitated (single-source assignment) model for all three objectives."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from lastmile.errors import InfeasibleError
from lastmile.location.mip import _new_solver, _round_lb, _run, _Solved, _y_constraints
from lastmile.location.prep import _Prep
from lastmile.location.uncapacitated import _bisect

if TYPE_CHECKING:
    pass


# --------------------------------------------------------------------------- capacitated


def _assignment_model(
    prep: _Prep, mode: str, radius: int | None = None, uncovered_max: float | None = None
) -> tuple[Any, list[Any], Any]:
    """Single-source capacitated model over free + fixed facilities."""
    problem = prep.problem
    assert problem.capacities is not None and problem.quantities is not None
    solver = _new_solver(prep)
    y = _y_constraints(prep, solver)
    inf = solver.infinity()
    nf = len(prep.free)
    rows = np.concatenate([prep.free, prep.fixed])  # facility slots: free rows, then fixed
    caps = problem.capacities[rows]
    qty = problem.quantities
    T = prep.options.coverage_s
    x: dict[tuple[int, int], Any] = {}
    load = [solver.Constraint(-inf, 0.0 if s < nf else float(caps[s])) for s in range(len(rows))]
    for s in range(nf):
        load[s].SetCoefficient(y[s], -float(caps[s]))
    obj = solver.Objective()
    unc = solver.Constraint(-inf, uncovered_max) if uncovered_max is not None else None
    for j in range(problem.n_demand):
        one = solver.Constraint(1.0, 1.0)
        any_arc = False
        for s, i in enumerate(rows):
            dij = int(problem.cost[i, j])
            if radius is not None and dij > radius and prep.w[j] > 0:
                continue
            if problem.reachable is not None and not problem.reachable[i, j]:
                continue  # no path: no arc
            v = solver.BoolVar("")
            any_arc = True
            x[(s, j)] = v
            one.SetCoefficient(v, 1.0)
            load[s].SetCoefficient(v, float(qty[j]))
            if s < nf:
                link = solver.Constraint(-inf, 0.0)
                link.SetCoefficient(v, 1.0)
                link.SetCoefficient(y[s], -1.0)
            if mode == "cost":
                obj.SetCoefficient(v, float(prep.w[j]) * dij)
            elif mode == "cover" and T is not None and dij > T:
                obj.SetCoefficient(v, float(prep.w[j]))
            if unc is not None and T is not None and dij > T:
                unc.SetCoefficient(v, float(prep.w[j]))
        if not any_arc:
            return solver, y, None
    obj.SetMinimization()

    def extract() -> NDArray[np.int64]:
        a = np.empty(problem.n_demand, dtype=np.int64)
        for (s, j), v in x.items():
            if v.solution_value() > 0.5:
                a[j] = rows[s]
        return a

    return solver, y, extract


def _solve_capacitated(
    prep: _Prep,
) -> tuple[NDArray[np.int64], NDArray[np.int64], float, float, str]:
    """Returns chosen rows, assignment, objective, bound, status."""
    obj = prep.options.objective
    total = float(prep.w.sum())

    def solve_model(
        mode: str, radius: int | None = None, uncovered_max: float | None = None
    ) -> _Solved:
        solver, y, extract = _assignment_model(prep, mode, radius, uncovered_max)
        if extract is None:
            return _Solved("infeasible", math.nan, math.inf, None)
        return _run(prep, solver, y, None, extract)

    def cost_of(a: NDArray[np.int64]) -> float:
        return float(prep.w @ prep.problem.cost[a, np.arange(prep.problem.n_demand)])

    def fail(res: _Solved) -> InfeasibleError:
        return InfeasibleError(
            "no choice of facilities can serve every demand point within capacity"
            if res.status == "infeasible"
            else "the time limit ran out before any feasible solution was found",
            "raise p or the capacities" if res.status == "infeasible" else "raise time_limit_s",
        )

    if obj == "pmedian":
        res = solve_model("cost")
        if res.y is None:
            raise fail(res)
        ub = cost_of(res.x)
        lb = _round_lb(prep, res.bound)
        return res.y, res.x, ub, min(lb, ub), "optimal" if res.status == "optimal" else "time limit"
    if obj == "mclp":
        res = solve_model("cover")
        if res.y is None:
            raise fail(res)
        cov = total - res.value
        bound = total - _round_lb(prep, res.bound)
        if res.status != "optimal" or not prep.options.tie_break:
            return (
                res.y,
                res.x,
                cov,
                max(bound, cov),
                "optimal" if res.status == "optimal" else "time limit",
            )
        res2 = solve_model("cost", uncovered_max=total - cov + 1e-7 * max(1.0, total))
        if res2.y is None:
            return res.y, res.x, cov, cov, "optimal (tie-break stopped: time limit)"
        return (
            res2.y,
            res2.x,
            cov,
            cov,
            "optimal" if res2.status == "optimal" else "optimal (tie-break stopped: time limit)",
        )
    # p-center by bisection over the distinct costs
    first = solve_model("cost")
    if first.y is None:
        raise fail(first)
    m = prep.w > 0

    def radius_of(a: NDArray[np.int64]) -> int:
        c = prep.problem.cost[a, np.arange(prep.problem.n_demand)]
        return int(c[m].max()) if m.any() else 0

    def probe(radius: int, hint: Any) -> tuple[str, tuple[Any, int] | None]:
        res = solve_model("feasible", radius=radius)
        if res.y is None:
            return res.status, None
        return "feasible", ((res.y, res.x), radius_of(res.x))

    sol, r, lb, st = _bisect(prep, ((first.y, first.x), radius_of(first.x)), probe)
    if st == "optimal" and prep.options.tie_break:
        res2 = solve_model("cost", radius=r)
        if res2.y is not None and res2.status == "optimal":
            return res2.y, res2.x, float(r), float(r), "optimal"
        return sol[0], sol[1], float(r), float(r), "optimal (tie-break stopped: time limit)"
    return sol[0], sol[1], float(r), float(lb), st

"""Uncapacitated models: p-median (Lagrangean bounds, reductions, truncated radius formulation),
MCLP and p-center (bisection over covering probes)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from lastmile.errors import InfeasibleError
from lastmile.location.heuristic import NoReachingChoice, _evaluate, _local_search
from lastmile.location.mip import (
    _build_ladder,
    _level_index,
    _new_solver,
    _round_lb,
    _run,
    _Solved,
    _true_cost,
    _y_constraints,
)
from lastmile.location.prep import _ladders, _Prep, _prepare

if TYPE_CHECKING:
    pass


_EPS = 1e-6
_CAP_FACTOR = 1.25  # truncation caps start this far above the start solution cost
_STALL = 25  # subgradient: halve the step after this many non-improving iterations


# --------------------------------------------------------------------------- uncapacitated


def _pmedian_loop(
    prep: _Prep,
    start: NDArray[np.int64],
    *,
    closed_level: NDArray[np.int64] | None = None,
    tlevel: NDArray[np.int64] | None = None,
    uncovered_max: float | None = None,
) -> tuple[NDArray[np.int64], float, float, str]:
    """Truncated radius models until the relaxed optimum is exact. Returns chosen rows, true cost,
    lower bound, status. ``start`` must be feasible for the side constraints given."""
    nd = prep.problem.n_demand
    best, ub = start, _true_cost(prep, start)
    _, dist = _evaluate(prep, start)
    top = np.array([len(lv) - 1 for lv in prep.levels], dtype=np.int64)
    if closed_level is not None:
        top = np.minimum(top, closed_level)
    # start caps: beyond the cost to the second-nearest open facility of the start solution
    rows = np.concatenate([prep.d[start], prep.problem.cost[prep.fixed]])
    second = np.partition(rows, 1, axis=0)[1] if rows.shape[0] >= 2 else dist
    caps = np.empty(nd, dtype=np.int64)
    for j in range(nd):
        lv = prep.levels[j]
        target = max(float(dist[j]) * _CAP_FACTOR + 1.0, float(second[j]))
        caps[j] = min(int(top[j]), _level_index(lv, target))
    if tlevel is not None:  # the uncovered indicator must be in the model
        caps = np.maximum(caps, np.minimum(tlevel + 1, top))
    closed = None
    if closed_level is not None:  # radius constraint: full ladder up to it, no truncation
        caps, closed = top.copy(), prep.w > 0
    lb = -math.inf
    while True:
        solver, y, _ = _build_ladder(prep, caps, closed, tlevel, uncovered_max)
        res = _run(prep, solver, y, best)
        if res.status in ("timeout", "feasible"):
            lb = max(lb, _round_lb(prep, res.bound))
            if res.y is not None:
                v = _true_cost(prep, res.y)
                if v < ub - _EPS:
                    best, ub = res.y, v
            return best, ub, min(lb, ub), "time limit"
        if res.status == "infeasible" or res.y is None:
            raise InfeasibleError(
                "the solver proved the location model infeasible",
                "check forced candidates, group limits and forced groups",
            )
        lb = max(lb, _round_lb(prep, res.value))
        _, dist = _evaluate(prep, res.y)
        v = float(prep.w @ dist)
        if v < ub - _EPS:
            best, ub = res.y, v
        if ub - lb <= _EPS * max(1.0, abs(ub)):
            return best, ub, ub, "optimal"
        raised = False
        for j in range(nd):
            lv = prep.levels[j]
            c = int(caps[j])
            if c < top[j] and dist[j] > lv[c] and prep.w[j] > 0:
                caps[j] = min(int(top[j]), _level_index(lv, float(dist[j]) * _CAP_FACTOR + 1.0))
                raised = True
        if not raised:  # pragma: no cover - relaxation exact but bound rounding disagrees
            return best, ub, lb, "optimal" if ub - lb <= _EPS * max(1.0, abs(ub)) else "gap"


def _lagrangean(
    prep: _Prep, ub: float, lam0: NDArray[np.float64]
) -> tuple[float, NDArray[np.float64]]:
    """Lagrangean bound of the p-median (assignment constraints relaxed; group limits and forced
    groups dropped, so the bound stays valid). Subgradient ascent with Polyak steps.

    Returns the best bound ``L`` and the candidate reduced costs ``rho`` at the same multipliers.
    """
    w = prep.w
    C = prep.d.astype(np.float64) * w[None, :]
    Cfix = prep.problem.cost[prep.fixed].astype(np.float64) * w[None, :]
    p = prep.options.p
    nf = C.shape[0]
    forced = np.zeros(nf, dtype=bool)
    forced[prep.forced_local] = True
    others = np.flatnonzero(~forced)
    m = p - int(forced.sum())
    lam = lam0.copy()
    best, best_rho = -math.inf, np.zeros(nf)
    theta, stall = 2.0, 0
    budget = time.perf_counter() + 0.3 * max(0.0, prep.deadline - time.perf_counter())
    for _ in range(3000):
        rho = np.minimum(C - lam[None, :], 0.0).sum(axis=1)
        sel = np.flatnonzero(forced)
        if m > 0:
            pick = others[np.argpartition(rho[others], m - 1)[:m]]
            sel = np.concatenate([sel, pick])
        value = float(lam.sum() + rho[sel].sum() + np.minimum(Cfix - lam[None, :], 0.0).sum())
        if best == -math.inf or value > best + 1e-9 * max(1.0, abs(best)):
            best, best_rho, stall = value, rho, 0
        else:
            stall += 1
        if _round_lb(prep, best) >= ub - _EPS * max(1.0, abs(ub)) or time.perf_counter() > budget:
            break
        g = 1.0 - (C[sel] < lam[None, :]).sum(axis=0) - (Cfix < lam[None, :]).sum(axis=0)
        g[w <= 0] = 0.0
        norm = float(g @ g)
        if norm == 0.0:
            break
        lam = np.maximum(lam + theta * max(ub - value, 1e-3 * max(1.0, ub)) / norm * g, 0.0)
        if stall >= _STALL:
            theta, stall = theta / 2, 0
            if theta < 5e-4:
                break
    return best, best_rho


def _reductions(
    prep: _Prep, L: float, rho: NDArray[np.float64], ub: float
) -> tuple[list[int], list[int]]:
    """Candidates (local rows) that no solution cheaper than ``ub`` opens / leaves closed."""
    nf = len(rho)
    forced = np.zeros(nf, dtype=bool)
    forced[prep.forced_local] = True
    others = np.flatnonzero(~forced)
    m = prep.options.p - int(forced.sum())
    order = others[np.argsort(rho[others], kind="stable")]
    chosen, rest = order[:m], order[m:]
    last = float(rho[chosen[-1]]) if m > 0 else math.inf
    nxt = float(rho[rest[0]]) if len(rest) else math.inf

    def cannot_improve(bound: float) -> bool:
        return _round_lb(prep, bound) >= ub - _EPS * max(1.0, abs(ub))

    excl = [int(i) for i in rest if cannot_improve(L + float(rho[i]) - last)]
    force = [int(i) for i in chosen if cannot_improve(L - float(rho[i]) + nxt)]
    return excl, force


def _solve_pmedian(
    prep: _Prep,
    start: NDArray[np.int64] | None = None,
    *,
    coverage: tuple[int, float] | None = None,
    radius: int | None = None,
) -> tuple[NDArray[np.int64], float, float, str]:
    """Weighted p-median: local search (upper bound), Lagrangean bound and reductions, then the
    radius model on the reduced candidate set.

    As the tie-break stage of MCLP / p-center, ``start`` is the optimal solution of the first
    stage, and ``coverage`` = (threshold, most uncovered weight) or ``radius`` constrain the
    model. The Lagrangean bound ignores those constraints, which keeps it valid; the candidates
    of ``start`` are kept so that it stays feasible in the reduced model.
    """
    heur = _local_search(prep) if start is None else start
    _, dist = _evaluate(prep, heur)
    ub = float(prep.w @ dist)
    L, rho = _lagrangean(prep, ub, prep.w * dist.astype(np.float64))
    lb = _round_lb(prep, L)
    if lb >= ub - _EPS * max(1.0, abs(ub)):
        return heur, ub, ub, "optimal"
    excl, force = _reductions(prep, L, rho, ub)
    if start is not None:
        keep = set(start.tolist())
        excl, force = [r for r in excl if r not in keep], []
    problem = prep.problem
    sub_problem = replace(
        problem,
        excluded=tuple(sorted(set(problem.excluded) | {int(prep.free[r]) for r in excl})),
        forced=tuple(sorted(set(problem.forced) | {int(prep.free[r]) for r in force})),
    )
    try:
        sub = _prepare(sub_problem, prep.options, 0.0)
    except InfeasibleError:  # no solution cheaper than the local-search one exists
        return heur, ub, ub, "optimal"
    sub.deadline, sub.calls = prep.deadline, prep.calls
    _ladders(sub)
    local_sub = {int(i): r for r, i in enumerate(sub.free)}
    if start is None:
        try:
            sub_start = _local_search(sub)
        except NoReachingChoice:  # likewise: nothing cheaper reaches every point
            prep.calls = sub.calls
            return heur, ub, ub, "optimal"
    else:
        sub_start = np.array(sorted(local_sub[int(prep.free[r])] for r in start), dtype=np.int64)
    kwargs: dict[str, Any] = {}
    if coverage is not None:
        kwargs = {"tlevel": _coverage_levels(sub, coverage[0]), "uncovered_max": coverage[1]}
    if radius is not None:
        kwargs = {"closed_level": _radius_levels(sub, radius)}
    try:
        chosen, value, sub_lb, status = _pmedian_loop(sub, sub_start, **kwargs)
    except InfeasibleError:
        return heur, ub, ub, "optimal"
    finally:
        prep.calls = sub.calls
    local = {int(i): r for r, i in enumerate(prep.free)}
    mapped = np.array(sorted(local[int(sub.free[r])] for r in chosen), dtype=np.int64)
    if value < ub - _EPS * max(1.0, abs(ub)):
        heur, ub = mapped, value
    bound = max(lb, min(ub, sub_lb))
    if status == "optimal" or bound >= ub - _EPS * max(1.0, abs(ub)):
        return heur, ub, ub, "optimal"
    return heur, ub, bound, status


def _radius_levels(prep: _Prep, radius: int) -> NDArray[np.int64]:
    """Per demand point: last rung within ``radius`` (last rung for zero-weight points)."""
    return np.array(
        [
            int(np.searchsorted(lv, radius, side="right")) - 1 if prep.w[j] > 0 else len(lv) - 1
            for j, lv in enumerate(prep.levels)
        ],
        dtype=np.int64,
    )


def _coverage_levels(prep: _Prep, threshold: int) -> NDArray[np.int64]:
    """Per demand point: rung index of the uncovered indicator (-1 = never coverable,
    ``len-1`` = always covered)."""
    out = np.empty(prep.problem.n_demand, dtype=np.int64)
    for j, lv in enumerate(prep.levels):
        if lv[-1] <= threshold:
            out[j] = len(lv) - 1
        elif lv[0] > threshold:
            out[j] = -1
        else:
            out[j] = int(np.searchsorted(lv, threshold, side="right")) - 1
    return out


def _solve_mclp(prep: _Prep) -> tuple[NDArray[np.int64], float, float, str]:
    """Maximal covering: ``min sum_j w_j u_j`` s.t. ``u_j + sum_{i: d_ij <= T} y_i >= 1``, then
    the p-median tie-break with the uncovered weight held at its optimum."""
    T = int(prep.options.coverage_s or 0)
    solver = _new_solver(prep)
    y = _y_constraints(prep, solver)
    obj = solver.Objective()
    offset = 0.0
    for j in range(prep.problem.n_demand):
        wj = float(prep.w[j])
        if wj <= 0 or prep.ufix[j] <= T:
            continue
        rows = np.flatnonzero(prep.d[:, j] <= T)
        if len(rows) == 0:
            offset += wj  # never coverable
            continue
        u = solver.NumVar(0.0, 1.0, "")
        con = solver.Constraint(1.0, solver.infinity())
        con.SetCoefficient(u, 1.0)
        for r in rows:
            con.SetCoefficient(y[int(r)], 1.0)
        obj.SetCoefficient(u, wj)
    obj.SetOffset(offset)
    obj.SetMinimization()
    heur = _local_search(prep)
    res = _run(prep, solver, y, heur)
    total = float(prep.w.sum())

    def covered(chosen: NDArray[np.int64]) -> float:
        _, c = _evaluate(prep, chosen)
        return float(prep.w[c <= T].sum())

    if res.y is None:
        if res.status == "infeasible":
            raise InfeasibleError(
                "the solver proved the covering model infeasible",
                "check forced candidates, group limits and forced groups",
            )
        return heur, covered(heur), total - _round_lb(prep, res.bound), "time limit"
    chosen = res.y
    cov = covered(chosen)
    bound = total - _round_lb(prep, res.bound if res.status != "optimal" else res.value)
    if res.status != "optimal":
        return chosen, cov, max(bound, cov), "time limit"
    if not prep.options.tie_break:
        return chosen, cov, cov, "optimal"
    unc = total - cov
    best, _, _, st = _solve_pmedian(prep, chosen, coverage=(T, unc + 1e-7 * max(1.0, total)))
    if covered(best) < cov - 1e-7 * max(1.0, total):  # pragma: no cover - guarded by the constraint
        best = chosen
    return (
        best,
        covered(best),
        cov,
        "optimal" if st == "optimal" else "optimal (tie-break stopped: time limit)",
    )


def _cover_probe(prep: _Prep, radius: int, hint: NDArray[np.int64] | None) -> _Solved:
    """Is there a feasible choice serving every positive-weight point within ``radius``?"""
    solver = _new_solver(prep)
    y = _y_constraints(prep, solver)
    for j in range(prep.problem.n_demand):
        if prep.w[j] <= 0 or prep.ufix[j] <= radius:
            continue
        rows = np.flatnonzero(prep.d[:, j] <= radius)
        if len(rows) == 0:
            return _Solved("infeasible", math.nan, math.inf, None)
        con = solver.Constraint(1.0, solver.infinity())
        for r in rows:
            con.SetCoefficient(y[int(r)], 1.0)
    solver.Minimize(0)
    return _run(prep, solver, y, hint)


def _pcenter_radius(prep: _Prep, chosen: NDArray[np.int64]) -> int:
    _, c = _evaluate(prep, chosen)
    m = prep.w > 0
    return int(c[m].max()) if m.any() else 0


_Probe = Callable[[int, Any], "tuple[str, tuple[Any, int] | None]"]


def _bisect(prep: _Prep, start: tuple[Any, int], probe: _Probe) -> tuple[Any, int, int, str]:
    """Smallest feasible radius among the distinct costs, by bisection.

    ``start`` = (solution, its radius); ``probe(r, hint)`` returns ("feasible", (solution,
    radius)), ("infeasible", None) or ("timeout", None). Returns solution, radius, lower bound,
    status.
    """
    m = prep.w > 0
    nearest = np.minimum(prep.d.min(axis=0), prep.ufix)
    lo_val = int(nearest[m].max()) if m.any() else 0
    best, hi_val = start
    values = np.unique(np.concatenate([prep.d.ravel(), prep.ufix]))
    values = values[(values >= lo_val) & (values <= hi_val)]
    lo, hi = 0, len(values) - 1  # values[hi] is feasible; all below values[lo] are infeasible
    lb = lo_val
    while lo < hi:
        mid = (lo + hi) // 2
        status, found = probe(int(values[mid]), best)
        if status == "timeout":
            return best, hi_val, lb, "time limit"
        if found is not None:
            best, hi_val = found
            hi = int(np.searchsorted(values, hi_val))
        else:
            lo = mid + 1
            lb = int(values[lo])
    return best, hi_val, hi_val, "optimal"


def _solve_pcenter(prep: _Prep) -> tuple[NDArray[np.int64], float, float, str]:
    heur = _local_search(prep)

    def probe(radius: int, hint: Any) -> tuple[str, tuple[Any, int] | None]:
        res = _cover_probe(prep, radius, hint)
        if res.y is None:
            return res.status, None
        return "feasible", (res.y, _pcenter_radius(prep, res.y))

    best, r, lb, st = _bisect(prep, (heur, _pcenter_radius(prep, heur)), probe)
    if st != "optimal" or not prep.options.tie_break:
        return best, float(r), float(lb), st
    tied, _, _, st2 = _solve_pmedian(prep, best, radius=int(r))
    if _pcenter_radius(prep, tied) <= r:
        best = tied
    status = "optimal" if st2 == "optimal" else "optimal (tie-break stopped: time limit)"
    return best, float(r), float(r), status

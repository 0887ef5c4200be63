"""Checks and the solver-side view of a problem: infeasible requests named before solving,
fixed facilities folded in, the cost ladders of the radius formulation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from lastmile.errors import InfeasibleError
from lastmile.location.model import LocationOptions, LocationProblem

if TYPE_CHECKING:
    pass


# --------------------------------------------------------------------------- preparation


@dataclass
class _Prep:
    """Solver-side view: free candidates (rows of ``d``), fixed ones folded into ``ufix``."""

    problem: LocationProblem
    options: LocationOptions
    free: NDArray[np.int64]  # problem indices of free (openable) candidates
    fixed: NDArray[np.int64]
    d: NDArray[np.int64]  # cost[free]
    ufix: NDArray[np.int64]  # per demand: min cost to a fixed facility (BIG if none)
    w: NDArray[np.float64]
    forced_local: list[int]
    group_rows: dict[str, list[int]]  # group -> local rows (free candidates)
    need_groups: list[list[int]]  # local rows of forced groups still needing a new facility
    # per demand point no fixed facility reaches and some free candidate does not reach: the
    # local rows reaching it, one of which must open (deduplicated; empty when all reachable)
    reach_sets: list[list[int]]
    integral: bool
    deadline: float
    calls: int = 0
    big: int = 0
    levels: list[NDArray[np.int64]] = field(default_factory=list)
    rung_rows: list[list[NDArray[np.int64]]] = field(default_factory=list)


def _check_feasible(problem: LocationProblem, options: LocationOptions) -> None:
    p, k = options.p, options.max_per_group
    limit = options.group_limit_name
    ids = problem.candidate_ids
    free = [
        i
        for i in range(problem.n_candidates)
        if i not in set(problem.open_fixed) | set(problem.excluded)
    ]
    if p + len(problem.open_fixed) == 0:
        raise InfeasibleError(
            "p = 0 and no open_fixed facility: nothing would serve the demand",
            "set p >= 1 or give open_fixed",
        )
    if len(problem.forced) > p:
        raise InfeasibleError(
            f"{len(problem.forced)} forced candidates exceed p = {p}",
            "raise p or force fewer candidates",
        )
    if len(free) < p:
        raise InfeasibleError(
            f"p = {p} new facilities requested but only {len(free)} candidates are free "
            f"({problem.n_candidates} candidates, {len(problem.open_fixed)} fixed, "
            f"{len(problem.excluded)} excluded)",
            "lower p or add candidates",
        )
    groups = problem.groups or (None,) * problem.n_candidates
    if k is not None:
        per: dict[str | None, int] = {}
        for i in free:
            per[groups[i]] = per.get(groups[i], 0) + 1
        room = per.pop(None, 0) + sum(min(k, v) for v in per.values())
        if room < p:
            raise InfeasibleError(
                f"p = {p} new facilities requested but at most {room} fit with {limit} = {k} "
                f"({len(per)} groups have free candidates)",
                f"lower p, raise {limit} or add candidates in other groups",
            )
        fper: dict[str, list[str]] = {}
        for i in problem.forced:
            g = groups[i]
            if g is not None:
                fper.setdefault(g, []).append(ids[i])
        for g, lst in fper.items():
            if len(lst) > k:
                raise InfeasibleError(
                    f"group {g!r} has {len(lst)} forced candidates ({', '.join(lst)}) "
                    f"but {limit} = {k}",
                    f"force fewer candidates there or raise {limit}",
                )
    fixed_groups = {groups[i] for i in problem.open_fixed}
    forced_groups = {groups[i] for i in problem.forced}
    needing = [g for g in problem.forced_groups if g not in fixed_groups]
    for g in needing:
        if not any(groups[i] == g for i in free):
            raise InfeasibleError(
                f"forced group {g!r} has no free candidate (all excluded or none listed)",
                "add a candidate there or drop the group from forced_groups",
            )
    extra = [g for g in needing if g not in forced_groups]
    if len(extra) + len(problem.forced) > p:
        raise InfeasibleError(
            f"{len(needing)} forced groups without a fixed facility and "
            f"{len(problem.forced)} forced candidates need more than p = {p} new facilities",
            "raise p or force fewer groups",
        )
    if problem.reachable is not None:
        reach = problem.reachable
        by_fixed = reach[list(problem.open_fixed)].any(axis=0)
        by_free = reach[free].any(axis=0) if p > 0 else np.zeros(problem.n_demand, dtype=bool)
        lost = np.flatnonzero(~by_fixed & ~by_free)
        if lost.size:
            j = int(lost[0])
            who = [ids[i] for i in np.flatnonzero(reach[:, j])]
            raise InfeasibleError(
                f"demand point {problem.demand_ids[j]!r} ({lost.size} such point(s)) is reached "
                f"by no facility that may be open: only by {', '.join(who[:5])}, "
                + ("and p = 0" if p == 0 else "all excluded"),
                "allow one of those candidates, or drop the demand point",
            )
    if problem.capacities is not None and problem.quantities is not None:
        caps, qty = problem.capacities, problem.quantities
        active = np.array(sorted(set(free) | set(problem.open_fixed)), dtype=np.int64)
        biggest = int(caps[active].max())
        over = np.flatnonzero(qty > biggest)
        if len(over):
            j = int(over[0])
            raise InfeasibleError(
                f"demand point {problem.demand_ids[j]!r} needs {int(qty[j])} "
                f"but the largest capacity is {biggest}",
                "raise capacities or split that demand point",
            )
        best = int(caps[list(problem.open_fixed)].sum()) + int(np.sort(caps[free])[::-1][:p].sum())
        total = int(qty.sum())
        if best < total:
            raise InfeasibleError(
                f"total demand {total} exceeds the capacity of any choice of {p} new facilities "
                f"plus the fixed ones (at most {best})",
                "raise p or the capacities",
            )


def _prepare(problem: LocationProblem, options: LocationOptions, start: float) -> _Prep:
    _check_feasible(problem, options)
    fixed = np.array(problem.open_fixed, dtype=np.int64)
    skip = set(problem.open_fixed) | set(problem.excluded)
    free = np.array([i for i in range(problem.n_candidates) if i not in skip], dtype=np.int64)
    local = {int(g): r for r, g in enumerate(free)}
    d = np.ascontiguousarray(problem.cost[free])
    big = int(problem.cost.max()) + 1
    ufix = (
        problem.cost[fixed].min(axis=0)
        if len(fixed)
        else np.full(problem.n_demand, big, dtype=np.int64)
    )
    groups = problem.groups or (None,) * problem.n_candidates
    group_rows: dict[str, list[int]] = {}
    for r, i in enumerate(free):
        g = groups[int(i)]
        if g is not None:
            group_rows.setdefault(g, []).append(r)
    fixed_groups = {groups[int(i)] for i in fixed}
    need = [group_rows[g] for g in problem.forced_groups if g not in fixed_groups]
    reach_sets: list[list[int]] = []
    if problem.reachable is not None:
        reach = problem.reachable
        by_fixed = reach[fixed].any(axis=0) if len(fixed) else np.zeros(problem.n_demand, bool)
        rfree = reach[free]
        seen: set[tuple[int, ...]] = set()
        for j in np.flatnonzero(~by_fixed & ~rfree.all(axis=0)):
            rows = tuple(int(r) for r in np.flatnonzero(rfree[:, j]))
            if rows not in seen:
                seen.add(rows)
                reach_sets.append(list(rows))
    w = problem.weights
    return _Prep(
        problem=problem,
        options=options,
        free=free,
        fixed=fixed,
        d=d,
        ufix=ufix,
        w=np.asarray(w, dtype=np.float64),
        forced_local=[local[i] for i in problem.forced],
        group_rows=group_rows,
        need_groups=need,
        reach_sets=reach_sets,
        integral=bool((w == np.round(w)).all()),
        deadline=start + options.time_limit_s,
        big=big,
    )


def _ladders(prep: _Prep) -> None:
    """Per demand point: rung values and the free rows at each rung (reductions (a), (b))."""
    p = prep.options.p
    nf = len(prep.free)
    levels: list[NDArray[np.int64]] = []
    rows: list[list[NDArray[np.int64]]] = []
    for j in range(prep.problem.n_demand):
        col = prep.d[:, j]
        order = np.argsort(col, kind="stable")
        sc = col[order]
        hard = int(prep.ufix[j])
        if p >= 1:
            hard = min(hard, int(sc[nf - p]))
        vals, starts = np.unique(sc, return_index=True)
        keep = int(np.searchsorted(vals, hard, side="left"))  # rungs strictly below hard
        lv = np.append(vals[:keep], hard).astype(np.int64)
        bounds = np.append(starts[:keep], starts[keep] if keep < len(starts) else nf)
        rows.append([order[bounds[k] : bounds[k + 1]] for k in range(keep)])
        levels.append(lv)
    prep.levels = levels
    prep.rung_rows = rows

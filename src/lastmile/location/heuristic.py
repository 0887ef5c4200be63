"""Start solutions: greedy + best-improvement swaps (vectorised), and solution evaluation."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from lastmile.errors import InfeasibleError
from lastmile.location.prep import _Prep

if TYPE_CHECKING:
    pass


# --------------------------------------------------------------------------- heuristic


def _evaluate(
    prep: _Prep, chosen: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Nearest open facility per demand point: (problem index, cost). Ties: lowest index."""
    rows = np.concatenate([prep.fixed, prep.free[chosen]]) if len(chosen) else prep.fixed
    rows = np.sort(rows)
    sub = prep.problem.cost[rows]
    a = np.argmin(sub, axis=0)
    return rows[a], sub[a, np.arange(sub.shape[1])]


def _allowed(prep: _Prep, chosen: list[int]) -> NDArray[np.bool_]:
    nf = len(prep.free)
    ok = np.ones(nf, dtype=bool)
    ok[chosen] = False
    k = prep.options.max_per_group
    if k is not None:
        for rws in prep.group_rows.values():
            if sum(1 for r in chosen if r in set(rws)) >= k:
                ok[rws] = False
    return ok


def _local_search(prep: _Prep) -> NDArray[np.int64]:
    """Greedy add then best-improvement swaps for the weighted p-median cost, respecting groups,
    forced candidates and forced groups. Returns local rows of the chosen new facilities."""
    p = prep.options.p
    d = prep.d.astype(np.float64)
    w = prep.w
    cur = prep.ufix.astype(np.float64)
    chosen: list[int] = list(prep.forced_local)
    for r in chosen:
        cur = np.minimum(cur, d[r])
    # forced groups first (cheapest member), then greedy
    for rws in prep.need_groups:
        if any(r in rws for r in chosen):
            continue
        ok = _allowed(prep, chosen)
        cand = [r for r in rws if ok[r]]
        vals = np.minimum(d[cand], cur) @ w
        r = cand[int(np.argmin(vals))]
        chosen.append(r)
        cur = np.minimum(cur, d[r])
    if prep.reach_sets:
        chosen = _cover_reach_sets(prep, chosen, cur)
        cur = np.minimum(cur, d[chosen].min(axis=0)) if chosen else cur
    while len(chosen) < p:
        ok = _allowed(prep, chosen)
        vals = np.minimum(d, cur) @ w
        vals[~ok] = np.inf
        r = int(np.argmin(vals))
        chosen.append(r)
        cur = np.minimum(cur, d[r])
    if p == 0:
        return np.array([], dtype=np.int64)
    groups = prep.problem.groups or (None,) * prep.problem.n_candidates
    gof = [groups[int(i)] for i in prep.free]
    k = prep.options.max_per_group
    locked = set(prep.forced_local)
    need: list[set[int]] = [set(r) for r in [*prep.need_groups, *prep.reach_sets]]
    for _ in range(10_000):
        if time.perf_counter() > prep.deadline:
            break
        sub = d[chosen]  # p x nd
        if len(prep.fixed):
            allrows = np.vstack([sub, prep.ufix.astype(np.float64)[None, :]])
        else:
            allrows = sub
        if allrows.shape[0] >= 2:
            part = np.partition(allrows, 1, axis=0)
            d1, d2 = part[0], part[1]
        else:
            d1, d2 = allrows[0], np.full(allrows.shape[1], float(prep.big) * 4)
        a1 = np.argmin(allrows, axis=0)  # position in chosen (== p means fixed)
        gain = (np.minimum(d, d1[None, :]) - d1[None, :]) @ w  # adding i
        A = (np.minimum(d, d2[None, :]) - np.minimum(d, d1[None, :])) * w[None, :]
        onehot = np.zeros((d.shape[1], len(chosen)))
        mask = a1 < len(chosen)
        onehot[np.flatnonzero(mask), a1[mask]] = 1.0
        delta = gain[:, None] + A @ onehot  # nf x p
        delta[chosen, :] = np.inf
        for c, r in enumerate(chosen):
            if r in locked:
                delta[:, c] = np.inf
        if k is not None:
            cnt: dict[str | None, int] = {}
            for r in chosen:
                if gof[r] is not None:
                    cnt[gof[r]] = cnt.get(gof[r], 0) + 1
            full = np.array([g is not None and cnt.get(g, 0) >= k for g in gof])
            same = np.array(
                [[gof[i] is not None and gof[i] == gof[r] for r in chosen] for i in range(len(gof))]
            )
            delta[full[:, None] & ~same] = np.inf
        for members_of in need:
            members = [c for c, r in enumerate(chosen) if r in members_of]
            if len(members) == 1:
                c = members[0]
                outside = np.array([i not in members_of for i in range(len(gof))])
                delta[outside, c] = np.inf
        best = np.unravel_index(int(np.argmin(delta)), delta.shape)
        if not delta[best] < -1e-9 * max(1.0, float(w.sum())):
            break
        chosen[int(best[1])] = int(best[0])
    return np.array(sorted(chosen), dtype=np.int64)


def _cover_reach_sets(prep: _Prep, chosen: list[int], cur: NDArray[np.float64]) -> list[int]:
    """Add facilities until every demand point has an open one that reaches it.

    Greedy set cover: the candidate reaching the most uncovered points, ties by the weighted
    cost. When that would exceed ``p`` or the group limits, a feasibility MIP over all side
    constraints picks the ``p`` facilities instead (:class:`InfeasibleError` when none exist).
    """
    p = prep.options.p
    d = prep.d.astype(np.float64)
    out = list(chosen)
    todo = [rows for rows in prep.reach_sets if not set(rows) & set(out)]
    while todo:
        ok = _allowed(prep, out)
        count = np.zeros(len(prep.free))
        for rows in todo:
            count[rows] += 1
        count[~ok] = 0
        if len(out) >= p or count.max() == 0:
            return _feasible_choice(prep)
        best = np.flatnonzero(count == count.max())
        r = int(best[int(np.argmin(np.minimum(d[best], cur) @ prep.w))])
        out.append(r)
        cur = np.minimum(cur, d[r])
        todo = [rows for rows in todo if r not in rows]
    return out


def _feasible_choice(prep: _Prep) -> list[int]:
    """Any ``p`` new facilities meeting every side constraint, reachability included."""
    from lastmile.location.mip import _new_solver, _run, _y_constraints  # mip imports this module

    solver = _new_solver(prep)
    y = _y_constraints(prep, solver)
    solver.Minimize(0)
    res = _run(prep, solver, y, None)
    if res.status == "infeasible":
        raise NoReachingChoice(
            f"no choice of p = {prep.options.p} new facilities reaches every demand point "
            "within the group limits",
            f"raise p or {prep.options.group_limit_name}, or drop the demand points few "
            "candidates reach",
        )
    if res.y is None:
        raise InfeasibleError(
            "the time limit ran out before facilities reaching every demand point were found",
            "raise time_limit_s",
        )
    return [int(r) for r in res.y]


class NoReachingChoice(InfeasibleError):
    """Proven: no choice of facilities meets the side constraints and reaches every point."""

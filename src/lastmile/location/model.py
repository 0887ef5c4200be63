"""The modelling API: :class:`LocationProblem`, :class:`LocationOptions`, :class:`LocationResult`
and their weighted KPIs (mean, quantile, max, coverage)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from lastmile.errors import InputError
from lastmile.study import weighted_quantile

if TYPE_CHECKING:
    import geopandas as gpd

    from lastmile.network import RoadNetwork


Objective = Literal["pmedian", "mclp", "pcenter"]
Backend = Literal["SCIP", "CP_SAT"]
OBJECTIVES: tuple[str, ...] = ("pmedian", "mclp", "pcenter")
BACKENDS: tuple[str, ...] = ("SCIP", "CP_SAT")


def _frozen(a: NDArray[Any]) -> NDArray[Any]:
    a = np.array(a, copy=True)
    a.setflags(write=False)
    return a


def _int_array(
    values: ArrayLike, what: str, where: Callable[[int], str], shape: tuple[int, ...]
) -> NDArray[np.int64]:
    """Validate non-negative integers; ``where(k)`` names flat entry ``k`` in messages."""
    arr = np.asarray(values)
    if arr.shape != shape:
        raise InputError(
            f"{what} has shape {arr.shape}, expected {shape}", "give one value per entry"
        )
    if arr.dtype.kind not in "iuf":
        raise InputError(f"{what} must hold numbers, got dtype {arr.dtype}", "convert to integers")
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr) | (arr != np.round(arr))
        if bad.any():
            k = int(np.flatnonzero(bad.ravel())[0])
            raise InputError(
                f"{what} holds a non-integer value {arr.ravel()[k].item()!r} at {where(k)}",
                "round to integer seconds / units first (mark pairs without a path in `reachable`)",
            )
    out = arr.astype(np.int64)
    if (out < 0).any():
        k = int(np.flatnonzero(out.ravel() < 0)[0])
        raise InputError(
            f"{what} holds a negative value {out.ravel()[k]} at {where(k)}",
            "costs, capacities and quantities must be >= 0",
        )
    return out


def _ids(values: Sequence[Any] | None, n: int, what: str) -> tuple[str, ...]:
    if values is None:
        return tuple(str(i) for i in range(n))
    out = tuple(str(v) for v in values)
    if len(out) != n:
        raise InputError(f"{len(out)} {what} ids given for {n} {what}s", f"give one id per {what}")
    counts: dict[str, int] = {}
    for v in out:
        counts[v] = counts.get(v, 0) + 1
    dupes = sorted(v for v, c in counts.items() if c > 1)
    if dupes:
        raise InputError(
            f"duplicate {what} ids: {', '.join(dupes[:5])}", f"{what} ids must be unique"
        )
    return out


@dataclass(frozen=True)
class LocationProblem:
    """A facility-location instance: candidates x demand points, costs, weights, side constraints.

    Build it with :meth:`from_cost_matrix`, which validates everything.

    Attributes
    ----------
    cost
        ``(n_candidates, n_demand)`` int64 cost (travel seconds for road networks).
    weights
        ``(n_demand,)`` non-negative float demand weights.
    candidate_ids, demand_ids
        Unique string ids.
    groups
        Group (township code) per candidate, or ``None`` entries / ``None`` for no groups.
    open_fixed
        Indices of candidates already open that stay open (not counted in ``p``).
    forced, excluded
        Indices of candidates that must / must not be among the new facilities.
    forced_groups
        Groups that must hold at least one open facility (fixed or new).
    capacities, quantities
        Optional ``(n_candidates,)`` and ``(n_demand,)`` int64 arrays; when given, every demand
        point is served by exactly one open facility within capacity.
    reachable
        ``(n_candidates, n_demand)`` bool mask of the pairs with a road path, or ``None`` when
        every pair has one. A candidate never serves a demand point it does not reach: every
        model requires an open facility reaching each demand point, and ``cost`` holds
        :attr:`unreachable_cost` for those pairs so that the nearest open facility is always a
        reachable one.
    """

    cost: NDArray[np.int64]
    weights: NDArray[np.float64]
    candidate_ids: tuple[str, ...]
    demand_ids: tuple[str, ...]
    groups: tuple[str | None, ...] | None = None
    open_fixed: tuple[int, ...] = ()
    forced: tuple[int, ...] = ()
    excluded: tuple[int, ...] = ()
    forced_groups: tuple[str, ...] = ()
    capacities: NDArray[np.int64] | None = None
    quantities: NDArray[np.int64] | None = None
    reachable: NDArray[np.bool_] | None = None

    @property
    def n_unreachable(self) -> int:
        """Number of candidate-demand pairs without a path."""
        return 0 if self.reachable is None else int((~self.reachable).sum())

    @property
    def unreachable_cost(self) -> int | None:
        """The cost stored for unreachable pairs (``None`` when every pair is reachable).

        A big-M derived from the data: one more than the largest reachable cost, so that an
        unreachable pair is never the nearest open one while a reachable one is open. It is not a
        travel time and never enters an objective: the models forbid those pairs (each demand
        point needs an open facility that reaches it; the capacitated model has no arc for them).
        """
        if self.reachable is None:
            return None
        return int(self.cost[~self.reachable].max())

    @property
    def n_candidates(self) -> int:
        """Number of candidate sites."""
        return int(self.cost.shape[0])

    @property
    def n_demand(self) -> int:
        """Number of demand points."""
        return int(self.cost.shape[1])

    @property
    def capacitated(self) -> bool:
        """Whether capacities apply (single-source assignment)."""
        return self.capacities is not None

    @classmethod
    def from_cost_matrix(
        cls,
        cost: ArrayLike,
        weights: ArrayLike | None = None,
        *,
        candidate_ids: Sequence[Any] | None = None,
        demand_ids: Sequence[Any] | None = None,
        groups: Sequence[str | None] | None = None,
        open_fixed: Sequence[str | int] = (),
        forced: Sequence[str | int] = (),
        excluded: Sequence[str | int] = (),
        forced_groups: Sequence[str] = (),
        capacities: ArrayLike | None = None,
        quantities: ArrayLike | None = None,
        reachable: ArrayLike | None = None,
    ) -> LocationProblem:
        """Validate and build a problem from a candidate x demand cost matrix.

        Parameters
        ----------
        cost
            ``(n_candidates, n_demand)`` non-negative integer costs (seconds, or any integers).
        weights
            Demand weights (default 1 each); non-negative and finite.
        candidate_ids, demand_ids
            Ids (turned into strings); default ``"0" .. "n-1"``.
        groups
            Group per candidate (township code); ``None`` entries are ungrouped.
        open_fixed, forced, excluded
            Candidates given by id (``str``) or by position (``int``).
        forced_groups
            Groups that must hold at least one open facility.
        capacities, quantities
            Integer capacity per candidate and quantity per demand point (``quantities``
            defaults to ``weights`` when those are integers).
        reachable
            Bool mask (same shape as ``cost``) of the pairs with a path, e.g.
            :attr:`lastmile.matrix.TravelMatrix.reachable`; the costs of the other pairs are
            ignored (a sentinel or NaN is fine there) and those pairs are never assigned.

        Raises
        ------
        InputError
            On a wrong shape, a negative / non-integer cost, an unknown or duplicate id, a
            candidate both forced and excluded, a demand point no candidate reaches, etc.; the
            message names the bad entry.
        """
        for name, given in (
            ("candidate_ids", candidate_ids),
            ("demand_ids", demand_ids),
            ("groups", groups),
            ("open_fixed", open_fixed),
            ("forced", forced),
            ("excluded", excluded),
            ("forced_groups", forced_groups),
        ):
            if isinstance(given, str | bytes):  # iterated, "osm-1001" would be 8 one-letter ids
                raise InputError(
                    f"{name} = {given!r} is a string, not a list of ids", f"give {name}=[{given!r}]"
                )
        c = np.asarray(cost)
        if c.ndim != 2 or c.shape[0] == 0 or c.shape[1] == 0:
            raise InputError(
                f"cost matrix has shape {c.shape}",
                "give a 2-D (n_candidates x n_demand) matrix with at least one row and column",
            )
        nc, nd = c.shape
        cids = _ids(candidate_ids, nc, "candidate")
        dids = _ids(demand_ids, nd, "demand")
        reach: NDArray[np.bool_] | None = None
        if reachable is not None:
            reach = np.asarray(reachable)
            if reach.shape != (nc, nd) or reach.dtype != np.bool_:
                raise InputError(
                    f"reachable mask has shape {reach.shape} and dtype {reach.dtype}",
                    f"give a bool array of the cost matrix's shape {(nc, nd)}",
                )
            lost = np.flatnonzero(~reach.any(axis=0))
            if lost.size:
                raise InputError(
                    f"demand point {dids[int(lost[0])]!r} is reached by no candidate "
                    f"({lost.size} such point(s))",
                    "drop it or add a candidate that reaches it",
                )
            if reach.all():
                reach = None
            elif c.dtype.kind in "iuf":
                c = np.where(reach, c, 0)  # costs of unreachable pairs are not costs
        cmat = _int_array(
            c,
            "cost matrix",
            lambda k: f"candidate {cids[k // nd]!r}, demand {dids[k % nd]!r}",
            (nc, nd),
        )
        if reach is not None:
            # big-M from the data (see unreachable_cost): above every reachable cost
            cmat[~reach] = int(cmat[reach].max()) + 1
        w = np.ones(nd)
        if weights is not None:
            raw = np.asarray(weights)
            if raw.dtype.kind not in "iuf" or raw.shape != (nd,):
                raise InputError(
                    f"weights must be {nd} numbers (one per demand point), got shape {raw.shape}",
                    "check the weights array",
                )
            w = raw.astype(np.float64)
            bad = ~np.isfinite(w) | (w < 0)
            if bad.any():
                k = int(np.flatnonzero(bad)[0])
                raise InputError(
                    f"weight of demand point {dids[k]!r} is {w[k]}",
                    "weights must be finite and >= 0",
                )
        grp: tuple[str | None, ...] | None = None
        if groups is not None:
            grp = tuple(None if g is None else str(g) for g in groups)
            if len(grp) != nc:
                raise InputError(
                    f"{len(grp)} groups given for {nc} candidates", "give one group per candidate"
                )
        index = {cid: i for i, cid in enumerate(cids)}

        def resolve(items: Sequence[str | int], what: str) -> tuple[int, ...]:
            out: list[int] = []
            for it in items:
                if isinstance(it, (int, np.integer)) and not isinstance(it, bool):
                    if not 0 <= int(it) < nc:
                        raise InputError(f"{what} candidate index {it} is out of range 0..{nc - 1}")
                    out.append(int(it))
                elif str(it) in index:
                    out.append(index[str(it)])
                else:
                    raise InputError(
                        f"{what} candidate {it!r} is not a candidate id", "check the id"
                    )
            return tuple(sorted(set(out)))

        fixed = resolve(open_fixed, "open_fixed")
        forc = resolve(forced, "forced")
        excl = resolve(excluded, "excluded")
        for a, an, b, bn in (
            (forc, "forced", excl, "excluded"),
            (fixed, "open_fixed", excl, "excluded"),
            (forc, "forced", fixed, "open_fixed"),
        ):
            both = sorted(set(a) & set(b))
            if both:
                raise InputError(
                    f"candidate {cids[both[0]]!r} is both {an} and {bn}",
                    "list each candidate in one of them",
                )
        fg = tuple(dict.fromkeys(str(g) for g in forced_groups))
        if fg:
            known = set(grp or ())
            for g in fg:
                if g not in known:
                    raise InputError(
                        f"forced group {g!r} is not the group of any candidate",
                        "check the group code",
                    )
        caps: NDArray[np.int64] | None = None
        qty: NDArray[np.int64] | None = None
        if capacities is not None:
            caps = _int_array(
                capacities, "capacities array", lambda k: f"candidate {cids[k]!r}", (nc,)
            )
            if quantities is None:
                if (w != np.round(w)).any():
                    raise InputError(
                        "capacities given but no quantities, and weights are not integers",
                        "pass integer quantities per demand point",
                    )
                qty = w.astype(np.int64)
            else:
                qty = _int_array(
                    quantities, "quantities array", lambda k: f"demand {dids[k]!r}", (nd,)
                )
        elif quantities is not None:
            raise InputError(
                "quantities given without capacities", "pass capacities too, or drop quantities"
            )
        return cls(
            cost=_frozen(cmat),
            weights=_frozen(w),
            candidate_ids=cids,
            demand_ids=dids,
            groups=grp,
            open_fixed=fixed,
            forced=forc,
            excluded=excl,
            forced_groups=fg,
            capacities=None if caps is None else _frozen(caps),
            quantities=None if qty is None else _frozen(qty),
            reachable=None if reach is None else _frozen(reach),
        )

    @classmethod
    def from_geodataframe(
        cls,
        candidates: gpd.GeoDataFrame,
        demand: gpd.GeoDataFrame,
        network: RoadNetwork,
        *,
        weight_col: str | None = None,
        id_col: str = "id",
        group_col: str | None = None,
        max_snap_m: float = 1500.0,
        **kwargs: Any,
    ) -> LocationProblem:
        """Build a problem from point layers on the road graph: costs are road travel seconds.

        The matrix stage snaps both layers and routes between them
        (:func:`lastmile.matrix.points_travel_matrix`; a point farther than ``max_snap_m`` from the
        road is an error naming it). The matrix's ``reachable`` mask goes to
        :meth:`from_cost_matrix`: a demand point that no candidate reaches is an error naming it;
        other unreachable pairs are never assigned. Other keyword arguments go to
        :meth:`from_cost_matrix` (``open_fixed``, ``forced``, ``capacities`` ...).
        """
        from lastmile.matrix import points_travel_matrix

        mat = points_travel_matrix(
            network,
            candidates,
            demand,
            id_col=id_col,
            max_snap_m=max_snap_m,
            names=("candidate", "demand point"),
        )
        weights = None if weight_col is None else demand[weight_col].to_numpy(np.float64)
        groups = None if group_col is None else [str(g) for g in candidates[group_col]]
        return cls.from_cost_matrix(
            mat.seconds,
            weights,
            candidate_ids=list(mat.origins),
            demand_ids=list(mat.destinations),
            groups=groups,
            reachable=mat.reachable,
            **kwargs,
        )


@dataclass(frozen=True)
class LocationOptions:
    """How to solve a :class:`LocationProblem`.

    Attributes
    ----------
    objective
        ``"pmedian"``, ``"mclp"`` or ``"pcenter"``.
    p
        Number of *new* facilities (fixed ones come on top).
    max_per_group
        At most this many new facilities per group (township); ``None`` = unlimited. Candidates
        without a group are never limited.
    coverage_s
        MCLP coverage threshold (same unit as the costs); required for ``"mclp"``.
    time_limit_s
        Wall-clock limit for the whole solve (all stages and iterations).
    num_workers
        Solver threads (CP-SAT workers; SCIP is single-threaded).
    seed
        Solver random seed.
    backend
        ``"SCIP"`` (default) or ``"CP_SAT"``, both through OR-Tools' pywraplp.
    tie_break
        For MCLP / p-center, a second stage minimising weighted total cost at the optimum.
    group_limit_name
        What the messages call ``max_per_group``: the setting the user knows (``lastmile`` plans
        say ``[plan] max_per_township``).
    """

    objective: Objective = "pmedian"
    p: int = 10
    max_per_group: int | None = 1
    coverage_s: int | None = None
    time_limit_s: float = 60.0
    num_workers: int = 1
    seed: int = 0
    backend: Backend = "SCIP"
    tie_break: bool = True
    group_limit_name: str = "max_per_group"

    def __post_init__(self) -> None:
        if self.objective not in OBJECTIVES:
            raise InputError(
                f"unknown objective {self.objective!r}", f"use one of {', '.join(OBJECTIVES)}"
            )
        if isinstance(self.p, bool) or not isinstance(self.p, int) or self.p < 0:
            raise InputError(
                f"p = {self.p!r} must be a non-negative integer", "give the number of new hubs"
            )
        if self.max_per_group is not None and (
            not isinstance(self.max_per_group, int) or self.max_per_group < 1
        ):
            raise InputError(f"max_per_group = {self.max_per_group!r} must be >= 1 or None")
        if self.objective == "mclp" and (self.coverage_s is None or self.coverage_s < 0):
            raise InputError(
                "objective 'mclp' needs coverage_s >= 0", "give the coverage threshold in seconds"
            )
        if not (self.time_limit_s > 0 and math.isfinite(self.time_limit_s)):
            raise InputError(f"time_limit_s = {self.time_limit_s} must be positive")
        if self.num_workers < 1:
            raise InputError(f"num_workers = {self.num_workers} must be >= 1")
        if self.backend not in BACKENDS:
            raise InputError(
                f"unknown backend {self.backend!r}", f"use one of {', '.join(BACKENDS)}"
            )


@dataclass(frozen=True)
class LocationResult:
    """A solved location problem: open facilities, assignment, objective, bound, KPIs.

    Attributes
    ----------
    problem, options
        What was solved, how.
    open_indices
        All open candidates (fixed and new), sorted.
    new_indices
        The new facilities chosen, sorted.
    assignment
        Per demand point, the index of the candidate serving it.
    objective
        Objective value of this solution: weighted total cost (p-median), covered weight (MCLP)
        or largest cost (p-center).
    bound
        Proven bound on the optimum (lower for p-median / p-center, upper for MCLP).
    optimal
        Whether optimality is proven (objective equals bound).
    seconds
        Wall-clock solve time.
    status
        Short text: how the solve ended.
    iterations
        Solver calls made (truncation rounds, bisection probes, stages).
    """

    problem: LocationProblem
    options: LocationOptions
    open_indices: tuple[int, ...]
    new_indices: tuple[int, ...]
    assignment: NDArray[np.int64]
    objective: float
    bound: float
    optimal: bool
    seconds: float
    status: str
    iterations: int = 0

    @property
    def open_ids(self) -> tuple[str, ...]:
        """Ids of all open facilities."""
        return tuple(self.problem.candidate_ids[i] for i in self.open_indices)

    @property
    def new_ids(self) -> tuple[str, ...]:
        """Ids of the new facilities."""
        return tuple(self.problem.candidate_ids[i] for i in self.new_indices)

    @property
    def gap(self) -> float:
        """Relative gap ``|objective - bound| / |objective|`` (0 when proven optimal)."""
        if self.optimal:
            return 0.0
        return abs(self.objective - self.bound) / max(abs(self.objective), 1e-9)

    @property
    def assigned_cost(self) -> NDArray[np.int64]:
        """Per demand point, the cost to the facility serving it."""
        return self.problem.cost[self.assignment, np.arange(self.problem.n_demand)]

    def total_cost(self) -> float:
        """Weighted total of assigned cost (the p-median objective of this solution)."""
        return float(self.problem.weights @ self.assigned_cost)

    def weighted_mean_cost(self) -> float:
        """Weighted mean of assigned cost."""
        return _wmean(self.assigned_cost, self.problem.weights)

    def max_cost(self) -> int:
        """Largest assigned cost over demand points of positive weight."""
        return _wmax(self.assigned_cost, self.problem.weights)

    def p95_cost(self, q: float = 0.95) -> int:
        """Weighted quantile: the smallest cost within which a share ``q`` of the weight lies."""
        return _wquantile(self.assigned_cost, self.problem.weights, q)

    def coverage_share(self, threshold: int) -> float:
        """Share of the weight whose assigned cost is at most ``threshold``."""
        return _wcover(self.assigned_cost, self.problem.weights, threshold)

    def group_kpis(
        self, demand_groups: Sequence[str], threshold: int | None = None
    ) -> pd.DataFrame:
        """KPIs per demand group (township), one row each.

        Columns: ``group``, ``demand_points``, ``weight``, ``mean_cost``, ``p95_cost``,
        ``max_cost``, ``facilities`` (open facilities whose candidate group is this group) and,
        with ``threshold``, ``coverage_share``.
        """
        if len(demand_groups) != self.problem.n_demand:
            raise InputError(
                f"{len(demand_groups)} demand groups given for "
                f"{self.problem.n_demand} demand points",
                "give one group per demand point",
            )
        dg = np.array([str(g) for g in demand_groups])
        cost = self.assigned_cost
        w = self.problem.weights
        cgroups = self.problem.groups or (None,) * self.problem.n_candidates
        open_per: dict[str, int] = {}
        for i in self.open_indices:
            g = cgroups[i]
            if g is not None:
                open_per[g] = open_per.get(g, 0) + 1
        rows: list[dict[str, Any]] = []
        for g in dict.fromkeys(dg.tolist()):
            m = dg == g
            row: dict[str, Any] = {
                "group": g,
                "demand_points": int(m.sum()),
                "weight": float(w[m].sum()),
                "mean_cost": _wmean(cost[m], w[m]),
                "p95_cost": _wquantile(cost[m], w[m], 0.95),
                "max_cost": _wmax(cost[m], w[m]),
                "facilities": open_per.get(g, 0),
            }
            if threshold is not None:
                row["coverage_share"] = _wcover(cost[m], w[m], threshold)
            rows.append(row)
        return pd.DataFrame(rows)


def _wmean(cost: NDArray[np.int64], w: NDArray[np.float64]) -> float:
    tot = float(w.sum())
    return float(w @ cost) / tot if tot > 0 else math.nan


def _wmax(cost: NDArray[np.int64], w: NDArray[np.float64]) -> int:
    m = w > 0
    return int(cost[m].max()) if m.any() else 0


def _wquantile(cost: NDArray[np.int64], w: NDArray[np.float64], q: float) -> int:
    """Weighted ``q``-quantile of the costs (:func:`lastmile.study.weighted_quantile`); 0 when no
    demand has weight."""
    if not 0 < q <= 1:
        raise InputError(f"quantile {q} must be in (0, 1]")
    value = weighted_quantile(cost, w, q)
    return 0 if math.isnan(value) else int(value)


def _wcover(cost: NDArray[np.int64], w: NDArray[np.float64], threshold: int) -> float:
    tot = float(w.sum())
    return float(w[cost <= threshold].sum()) / tot if tot > 0 else math.nan

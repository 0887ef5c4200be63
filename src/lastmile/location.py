"""Facility location: choose ``p`` new hubs exactly with OR-Tools (SCIP or CP-SAT via pywraplp).

Three objectives share one API (shape after spopt's ``from_cost_matrix``):

``pmedian``
    minimise the weighted total cost ``sum_j w_j d(j)``, ``d(j)`` = cost from demand point ``j``
    to the open facility serving it (the nearest one when uncapacitated).
``mclp``
    maximal covering: maximise the weight within ``coverage_s`` of an open facility; ties are
    broken by the smallest weighted total cost (second stage, coverage held at its optimum).
``pcenter``
    minimise the largest cost ``max_j d(j)`` over demand points of positive weight (unweighted);
    ties are broken by the smallest weighted total cost (second stage, radius held at its optimum).

Side constraints, in every model
--------------------------------
- exactly ``p`` *new* facilities are opened among the free candidates;
- ``open_fixed`` candidates are open already and stay open; they do not count in ``p`` nor in the
  per-group limit (a county logistics centre does not use a township's slot);
- at most ``max_per_group`` new facilities per candidate group (township), ``None`` = no limit;
- ``forced`` candidates are among the ``p`` new ones; ``excluded`` candidates are never opened;
  every group in ``forced_groups`` holds at least one open facility (fixed or new);
- optional capacities: each demand point is served by exactly one open facility (single source)
  and the served quantity of a facility stays within its capacity.

Formulation (uncapacitated): radius formulation
-----------------------------------------------
Elloumi (2010, *J. Comb. Optim.* 19:69-83) / García, Labbé & Marín (2011, *INFORMS J. Comput.*
23:546-556). For demand point ``j`` let ``D_j^0 < D_j^1 < ... < D_j^{K_j}`` be the distinct costs
from ``j`` to the free candidates that can matter, and ``y_i`` in {0, 1} open candidate ``i``.
A variable ``z_jk`` in [0, 1] is 1 when ``j`` is served at a cost above ``D_j^k``::

    min  sum_j w_j (D_j^0 + sum_{k<K_j} (D_j^{k+1} - D_j^k) z_jk)
    s.t. z_j0 + sum_{i: d_ij = D_j^0} y_i >= 1
         z_jk - z_j,k-1 + sum_{i: d_ij = D_j^k} y_i >= 0        k = 1 .. K_j - 1
         sum_{i free} y_i = p,  group / forced constraints on y

Its LP bound equals that of the classic assignment formulation, with ``O(n)`` nonzeros per demand
point instead of ``O(n^2)`` for the covering form. Reductions: (a) a fixed open facility at cost
``u_j`` caps the ladder at ``u_j``; (b) with ``p`` facilities among ``n_f`` free candidates, the
``(n_f - p + 1)``-th smallest cost is always reached (pigeonhole), so higher rungs are dropped;
(c) *truncation*: rungs above a per-point cap ``c_j`` are left out, which makes each point pay
``min(d(j), D_j^{c_j})`` -- a relaxation, so its bound is a valid lower bound. Caps start at a
margin above the cost of a local-search solution (greedy + best-improvement swaps, vectorised);
when the relaxed optimum serves some point beyond its cap, those caps are raised and the model is
solved again. The loop ends when the relaxed optimum costs the same under the true costs
(proven optimal) or when the time limit is reached (best solution and best bound reported).
(d) Before any MIP: Lagrangean relaxation of the assignment constraints (Beasley 1985; subgradient
ascent, group limits dropped so the bound stays valid) gives a lower bound ``L`` and a reduced
cost ``rho_i`` per candidate. A candidate is excluded when even the cheapest relaxed solution
that opens it cannot beat the local-search cost (``L + rho_i - rho_last >= UB``), and forced
open when closing it cannot (``L - rho_i + rho_next >= UB``). On OR-Library instances this
removes 60-95 % of the candidates for small ``p``; when ``L`` meets ``UB`` no MIP is solved.

MCLP uses the same ladder: ``z_{j,t_j}`` (``t_j`` = last rung within the threshold) is the
uncovered indicator. p-center bisects over the distinct costs; each probe is a covering
feasibility model (every point within the radius).

Formulation (capacitated): single-source assignment
---------------------------------------------------
``x_ij`` in {0, 1} serves ``j`` from ``i``: ``sum_i x_ij = 1``, ``sum_j q_j x_ij <= C_i y_i``,
``x_ij <= y_i``; objective ``sum w_j d_ij x_ij`` (p-median), uncovered weight (MCLP), or a radius
restriction ``x_ij = 0`` for ``d_ij > r`` probed by bisection (p-center).

Units: costs are integers (seconds for the road network); weights are non-negative numbers
(population, parcels a day); capacities and quantities are integers.

Backends: SCIP (default) and CP-SAT through ``pywraplp``. On the OR-Library set the reduced
radius models solve fastest with SCIP; CP-SAT is far slower on them (pmed11's unreduced model did
not finish in 300 s). HiGHS ships in the ortools 9.15 wheel but is not offered: through pywraplp it
prints a banner on stdout (breaking JSON-lines output), ignores solver-specific parameters and
crashes on ``SetHint``.

A seam for geography: :meth:`LocationProblem.from_cost_matrix` takes any candidate x demand cost
matrix; a constructor from GeoDataFrames and the road travel-time matrix is meant to build that
matrix and call it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from lastmile.errors import InfeasibleError, InputError

if TYPE_CHECKING:
    import geopandas as gpd

    from lastmile.network import RoadNetwork

Objective = Literal["pmedian", "mclp", "pcenter"]
Backend = Literal["SCIP", "CP_SAT"]
OBJECTIVES: tuple[str, ...] = ("pmedian", "mclp", "pcenter")
BACKENDS: tuple[str, ...] = ("SCIP", "CP_SAT")

_EPS = 1e-6
_CAP_FACTOR = 1.25  # truncation caps start this far above the start solution cost
_STALL = 25  # subgradient: halve the step after this many non-improving iterations


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
                "round to integer seconds / units first (use a large finite value for unreachable)",
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

        Raises
        ------
        InputError
            On a wrong shape, a negative / non-integer cost, an unknown or duplicate id, a
            candidate both forced and excluded, etc.; the message names the bad entry.
        """
        c = np.asarray(cost)
        if c.ndim != 2 or c.shape[0] == 0 or c.shape[1] == 0:
            raise InputError(
                f"cost matrix has shape {c.shape}",
                "give a 2-D (n_candidates x n_demand) matrix with at least one row and column",
            )
        nc, nd = c.shape
        cids = _ids(candidate_ids, nc, "candidate")
        dids = _ids(demand_ids, nd, "demand")
        cmat = _int_array(
            c,
            "cost matrix",
            lambda k: f"candidate {cids[k // nd]!r}, demand {dids[k % nd]!r}",
            (nc, nd),
        )
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

        Both layers are snapped to the drive graph (:func:`lastmile.network.snap_points`); a point
        farther than ``max_snap_m`` is an error naming it. The matrix comes from
        :func:`lastmile.matrix.travel_matrix`; pairs without a road path cost
        :data:`lastmile.matrix.UNREACHABLE`. Other keyword arguments go to
        :meth:`from_cost_matrix` (``open_fixed``, ``forced``, ``capacities`` ...).
        """
        from lastmile.matrix import travel_matrix
        from lastmile.network import snap_points

        nodes = []
        for what, gdf in (("candidate", candidates), ("demand point", demand)):
            if gdf.crs is None:
                raise InputError(f"the {what} layer has no CRS", "set it (e.g. EPSG:4326)")
            if id_col not in gdf.columns:
                raise InputError(f"the {what} layer has no {id_col!r} column", "give ids")
            pts = gdf.to_crs(4326).geometry
            if not (pts.geom_type == "Point").all():
                raise InputError(f"every {what} must be a point", "use centroids for polygons")
            snap = snap_points(network, pts.x.to_numpy(), pts.y.to_numpy(), max_snap_m)
            if snap.n_too_far:
                bad = int(np.flatnonzero(snap.too_far)[0])
                raise InputError(
                    f"{what} {gdf[id_col].iloc[bad]!r} is {snap.distance_m[bad]:.0f} m from the "
                    f"road network (limit {max_snap_m:.0f} m)",
                    "move it, drop it, or raise max_snap_m",
                )
            nodes.append(snap.node)
        mat = travel_matrix(network, nodes[0], nodes[1])
        weights = None if weight_col is None else demand[weight_col].to_numpy(np.float64)
        groups = None if group_col is None else [str(g) for g in candidates[group_col]]
        return cls.from_cost_matrix(
            mat.seconds,
            weights,
            candidate_ids=[str(i) for i in candidates[id_col]],
            demand_ids=[str(i) for i in demand[id_col]],
            groups=groups,
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
    if not 0 < q <= 1:
        raise InputError(f"quantile {q} must be in (0, 1]")
    m = w > 0
    if not m.any():
        return 0
    order = np.argsort(cost[m], kind="stable")
    c, ww = cost[m][order], w[m][order]
    cum = np.cumsum(ww)
    k = int(np.searchsorted(cum, q * cum[-1] - 1e-9 * cum[-1]))
    return int(c[min(k, len(c) - 1)])


def _wcover(cost: NDArray[np.int64], w: NDArray[np.float64], threshold: int) -> float:
    tot = float(w.sum())
    return float(w[cost <= threshold].sum()) / tot if tot > 0 else math.nan


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
    integral: bool
    deadline: float
    calls: int = 0
    big: int = 0
    levels: list[NDArray[np.int64]] = field(default_factory=list)
    rung_rows: list[list[NDArray[np.int64]]] = field(default_factory=list)


def _check_feasible(problem: LocationProblem, options: LocationOptions) -> None:
    p, k = options.p, options.max_per_group
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
                f"p = {p} new facilities requested but at most {room} fit with max_per_group = {k} "
                f"({len(per)} groups have free candidates)",
                "lower p, raise max_per_group or add candidates in other groups",
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
                    f"but max_per_group = {k}",
                    "force fewer candidates there or raise max_per_group",
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
    need: list[set[int]] = [set(r) for r in prep.need_groups]
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
    for rws in prep.need_groups:
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
        sub_start = _local_search(sub)
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


# --------------------------------------------------------------------------- entry point


def solve(problem: LocationProblem, options: LocationOptions | None = None) -> LocationResult:
    """Choose ``options.p`` new facilities for ``problem``; exact up to the time limit.

    Raises
    ------
    InfeasibleError
        When the request cannot be met (p larger than the free candidates or the group room,
        too many forced candidates, a forced group without candidates, capacity below demand,
        or the solver proves infeasibility); the message names the cause.
    """
    options = options or LocationOptions()
    t0 = time.perf_counter()
    prep = _prepare(problem, options, t0)
    if problem.capacitated:
        chosen, assignment, value, bound, status = _solve_capacitated(prep)
    else:
        _ladders(prep)
        if options.objective == "pmedian":
            chosen, value, bound, status = _solve_pmedian(prep)
        elif options.objective == "mclp":
            chosen, value, bound, status = _solve_mclp(prep)
        else:
            chosen, value, bound, status = _solve_pcenter(prep)
        assignment, _ = _evaluate(prep, chosen)
    new = tuple(sorted(int(prep.free[r]) for r in chosen))
    optimal = status.startswith("optimal")
    return LocationResult(
        problem=problem,
        options=options,
        open_indices=tuple(sorted(new + tuple(int(i) for i in prep.fixed))),
        new_indices=new,
        assignment=_frozen(assignment.astype(np.int64)),
        objective=float(value),
        bound=float(value) if optimal else float(bound),
        optimal=optimal,
        seconds=time.perf_counter() - t0,
        status=status,
        iterations=prep.calls,
    )


def kpi_summary(
    result: LocationResult, thresholds: Mapping[str, int] | None = None
) -> dict[str, float]:
    """Headline KPIs of a result: weighted mean / p95 / max cost and coverage shares.

    ``thresholds`` maps a label to a cost threshold, e.g. ``{"within_30min": 1800}``.
    """
    out: dict[str, float] = {
        "weighted_mean_cost": result.weighted_mean_cost(),
        "p95_cost": float(result.p95_cost()),
        "max_cost": float(result.max_cost()),
    }
    for label, t in (thresholds or {}).items():
        out[f"coverage_{label}"] = result.coverage_share(t)
    return out

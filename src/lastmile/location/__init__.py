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
  and the served quantity of a facility stays within its capacity;
- optional ``reachable`` mask: a pair without a path is never assigned. Each demand point that
  no fixed facility reaches needs an open facility that does (a covering constraint on ``y``, in
  the start heuristic too); the capacitated model has no arc for the pair; its cost is a big-M
  just above every real cost, so the nearest open facility is always a reachable one.

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

from lastmile.location.model import (
    BACKENDS,
    OBJECTIVES,
    Backend,
    LocationOptions,
    LocationProblem,
    LocationResult,
    Objective,
)
from lastmile.location.solver import solve

__all__ = [
    "BACKENDS",
    "OBJECTIVES",
    "Backend",
    "LocationOptions",
    "LocationProblem",
    "LocationResult",
    "Objective",
    "solve",
]

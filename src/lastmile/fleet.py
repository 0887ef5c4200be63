"""The fleet each network needs: the smallest counts that serve every servable order (issue 10).

A search over routed, validated days. Depots are searched one at a time on their own orders
(orders pinned to the depot; with one depot, all orders), which is how ``per_depot`` routing runs
the day; the trunk fleet is searched on the trunk runs.

Search, per depot (reproducible: every step is a solve ended by the solution limit):

1. *Servable* orders are those the day at the starting fleet does not report infeasible
   (:func:`lastmile.endtoend.is_servable` on each unserved order's reason).
2. The starting counts are doubled (at most ``max_doublings`` times) until every servable order is
   served and the validator accepts the day; if that never happens the result says so
   (``reached = False``) and keeps the largest fleet tried.
3. Then each vehicle type in turn (refrigerated first) is bisected between 0 and its count with the
   other types at their current counts: the smallest count that still serves every servable
   order.

Bisection assumes that more vehicles never serve fewer orders, which a heuristic search does not
guarantee; the result is the smallest fleet *this search* found, and :class:`DepotFleet` records
the routed days it took and that one vehicle fewer of each type failed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from lastmile.endtoend import is_servable, unserved_reason
from lastmile.routing import RoutingProblem, RoutingSolution
from lastmile.validate import validate_routes

Solver = Callable[[RoutingProblem], RoutingSolution]


@dataclass(frozen=True)
class DepotFleet:
    """The fleet one depot needs.

    Attributes
    ----------
    depot
        Depot id.
    counts
        Vehicle type id -> vehicles needed.
    start
        The counts the search started from (the scenario's fleet at the depot).
    servable
        Orders of the depot that some vehicle could serve alone.
    reached
        Whether a tried fleet served every servable order (else ``counts`` is the largest tried).
    cost
        Cost of the routed day with ``counts`` (fixed + per km + per hour).
    steps
        Routed, validated days the search took.
    one_fewer_fails
        Type id -> whether one vehicle fewer of that type (others at ``counts``) failed; only
        for types with at least one vehicle.
    """

    depot: str
    counts: Mapping[str, int]
    start: Mapping[str, int]
    servable: int
    reached: bool
    cost: float
    steps: int
    one_fewer_fails: Mapping[str, bool] = field(default_factory=dict)

    @property
    def vehicles(self) -> int:
        """Total vehicles needed at the depot."""
        return sum(self.counts.values())


def depot_problem(problem: RoutingProblem, depot: str) -> RoutingProblem:
    """The orders and vehicle types of one depot (orders pinned to it; one depot: all orders)."""
    dep = next(d for d in problem.depots if d.id == depot)
    single = len(problem.depots) == 1
    orders = tuple(o for o in problem.orders if single or o.depot == depot)
    types = tuple(
        replace(vt, count_per_depot={depot: vt.count_at(depot)})
        for vt in problem.vehicle_types
        if vt.count_at(depot) > 0
    )
    return replace(
        problem,
        depots=(dep,),
        orders=orders,
        vehicle_types=types or (replace(problem.vehicle_types[0], count_per_depot=0),),
    )


def _with_counts(problem: RoutingProblem, depot: str, counts: Mapping[str, int]) -> RoutingProblem:
    types = tuple(
        replace(vt, count_per_depot={depot: int(counts[vt.id])}) for vt in problem.vehicle_types
    )
    return replace(problem, vehicle_types=types)


def search_depot(
    problem: RoutingProblem,
    depot: str,
    solver: Solver,
    *,
    max_doublings: int = 2,
) -> DepotFleet:
    """Smallest counts per vehicle type at ``depot`` serving every servable order of it."""
    sub = depot_problem(problem, depot)
    start = {vt.id: vt.count_at(depot) for vt in sub.vehicle_types}
    steps = 0
    cache: dict[tuple[int, ...], tuple[bool, float]] = {}
    ids = [vt.id for vt in sorted(sub.vehicle_types, key=lambda v: (not v.refrigerated, v.id))]

    first = solver(sub)
    steps += 1
    servable = {o.id for o in sub.orders} - {
        u.order_id for u in first.unassigned if not is_servable(unserved_reason(u))
    }

    def ok(counts: Mapping[str, int]) -> tuple[bool, float]:
        nonlocal steps
        key = tuple(int(counts[i]) for i in ids)
        if key not in cache:
            p = _with_counts(sub, depot, counts)
            if sum(key) == 0:
                cache[key] = (not servable, 0.0)
            else:
                sol = solver(p)
                steps += 1
                served = {s.order_id for r in sol.routes for s in r.stops}
                good = servable <= served and validate_routes(p, sol).ok
                cache[key] = (good, sol.kpis.total_cost)
        return cache[key]

    if not sub.orders:
        zero = dict.fromkeys(ids, 0)
        return DepotFleet(depot, zero, start, 0, True, 0.0, steps, {})
    served0 = {s.order_id for r in first.routes for s in r.stops}
    good0 = servable <= served0 and validate_routes(sub, first).ok
    cache[tuple(start[i] for i in ids)] = (good0, first.kpis.total_cost)
    counts = dict(start)
    reached = good0
    for _ in range(max_doublings):
        if reached:
            break
        counts = {i: 2 * n + 1 for i, n in counts.items()}
        reached = ok(counts)[0]
    if not reached:
        return DepotFleet(depot, counts, start, len(servable), False, ok(counts)[1], steps, {})
    for t in ids:
        lo, hi = 0, counts[t]  # hi serves all; find the smallest that does
        while lo < hi:
            mid = (lo + hi) // 2
            if ok({**counts, t: mid})[0]:
                hi = mid
            else:
                lo = mid + 1
        counts[t] = hi
    fewer = {t: not ok({**counts, t: counts[t] - 1})[0] for t in ids if counts[t] > 0}
    return DepotFleet(depot, counts, start, len(servable), True, ok(counts)[1], steps, fewer)


@dataclass(frozen=True)
class FleetNeeded:
    """The fleet one scenario needs: per depot, the trunk vehicles, and the cost of that day."""

    scenario: str
    depots: tuple[DepotFleet, ...]
    trunk_vehicles: int
    trunk_reached: bool
    trunk_cost: float
    fixed_daily_cost: float

    def summary(self) -> dict[str, object]:
        """JSON-ready: vehicles by depot and type (plain type names), totals and cost."""
        by_depot = {
            d.depot: {_strip(t, d.depot): n for t, n in d.counts.items()} for d in self.depots
        }
        by_type: dict[str, int] = {}
        for d in self.depots:
            for t, n in d.counts.items():
                by_type[_strip(t, d.depot)] = by_type.get(_strip(t, d.depot), 0) + n
        return {
            "vehicles": sum(d.vehicles for d in self.depots) + self.trunk_vehicles,
            "last_mile_by_type": by_type,
            "trunk_vehicles": self.trunk_vehicles,
            "by_depot": by_depot,
            "servable_orders": sum(d.servable for d in self.depots),
            "all_servable_served": all(d.reached for d in self.depots) and self.trunk_reached,
            "cost": round(
                sum(d.cost for d in self.depots) + self.trunk_cost + self.fixed_daily_cost, 1
            ),
            "routed_days": sum(d.steps for d in self.depots),
            "one_fewer_fails": all(all(d.one_fewer_fails.values()) for d in self.depots),
        }


def _strip(type_id: str, depot: str) -> str:
    suffix = f"@{depot}"
    return type_id[: -len(suffix)] if type_id.endswith(suffix) else type_id


def fleet_needed(
    scenario: str,
    problem: RoutingProblem,
    solver: Solver,
    *,
    trunk: Sequence[RoutingProblem] = (),
    fixed_daily_cost: float = 0.0,
    max_doublings: int = 2,
) -> FleetNeeded:
    """The smallest fleet of a scenario: each depot searched on its orders, then the trunk.

    Parameters
    ----------
    problem
        The scenario's last-mile day (orders pinned to depots when there are several).
    trunk
        The scenario's trunk runs; the trunk fleet is the largest of the runs' needs (the same
        vehicles run morning and evening).
    fixed_daily_cost
        Added to the cost (e.g. the hubs' daily cost).
    """
    depots = tuple(
        search_depot(problem, d.id, solver, max_doublings=max_doublings) for d in problem.depots
    )
    needs: list[int] = []
    trunk_reached = True
    cost = 0.0
    for tp in trunk:
        fleet = search_depot(tp, tp.depots[0].id, solver, max_doublings=max_doublings)
        trunk_reached &= fleet.reached
        needs.append(fleet.vehicles)
        cost += fleet.cost
    return FleetNeeded(
        scenario, depots, max(needs, default=0), trunk_reached, cost, fixed_daily_cost
    )

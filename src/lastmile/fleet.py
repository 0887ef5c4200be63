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
3. Every day that serves all servable orders is a *witness*: the vehicles it actually used, per
   type, serve them too (the idle ones can go). The search continues from the smallest witness:
   the day at the starting fleet, or the scenario's own routed day when given (``witness``). So
   the fleet found is never larger, per type, than what that day used.
4. Then each vehicle type in turn (refrigerated first: they can serve every order, so the other
   types are still there to take over what they leave) is bisected between 0 and its witness
   count with the other types at their current counts: the smallest count that still serves
   every servable order; the search then moves to that day's witness.

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


def _used(solution: RoutingSolution, depot: str, ids: Sequence[str]) -> dict[str, int]:
    """Vehicles of each type at ``depot`` that drive at least one route of ``solution``."""
    used: dict[str, set[str]] = {}
    for r in solution.routes:
        if r.depot == depot:
            used.setdefault(r.vehicle_type, set()).add(r.vehicle_id)
    return {i: len(used.get(i, ())) for i in ids}


def search_depot(
    problem: RoutingProblem,
    depot: str,
    solver: Solver,
    *,
    max_doublings: int = 2,
    witness: RoutingSolution | None = None,
) -> DepotFleet:
    """Smallest counts per vehicle type at ``depot`` serving every servable order of it.

    Parameters
    ----------
    witness
        A routed, validated day of ``problem`` (the scenario's own): when it serves every
        servable order of the depot, the vehicles it used there bound the search, so the fleet
        found is never larger than that day's.
    """
    sub = depot_problem(problem, depot)
    start = {vt.id: vt.count_at(depot) for vt in sub.vehicle_types}
    steps = 0
    # counts -> (serves every servable order, cost of that day, vehicles it used per type)
    cache: dict[tuple[int, ...], tuple[bool, float, dict[str, int]]] = {}
    ids = [vt.id for vt in sorted(sub.vehicle_types, key=lambda v: (not v.refrigerated, v.id))]

    first = solver(sub)
    steps += 1
    servable = {o.id for o in sub.orders} - {
        u.order_id for u in first.unassigned if not is_servable(unserved_reason(u))
    }

    def key(counts: Mapping[str, int]) -> tuple[int, ...]:
        return tuple(int(counts[i]) for i in ids)

    def remember(counts: Mapping[str, int], good: bool, cost: float, used: dict[str, int]) -> None:
        cache[key(counts)] = (good, cost, used)
        if good:  # the vehicles the day used serve it as well: a fleet of its own
            known = cache.get(key(used))
            if known is None or not known[0] or known[1] > cost:
                cache[key(used)] = (True, cost, used)

    def ok(counts: Mapping[str, int]) -> tuple[bool, float]:
        nonlocal steps
        if key(counts) not in cache:
            p = _with_counts(sub, depot, counts)
            if sum(key(counts)) == 0:
                remember(counts, not servable, 0.0, dict(counts))
            else:
                sol = solver(p)
                steps += 1
                served = {s.order_id for r in sol.routes for s in r.stops}
                good = servable <= served and validate_routes(p, sol).ok
                remember(counts, good, sol.kpis.total_cost, _used(sol, depot, ids))
        good, cost, _ = cache[key(counts)]
        return good, cost

    if not sub.orders:
        zero = dict.fromkeys(ids, 0)
        return DepotFleet(depot, zero, start, 0, True, 0.0, steps, {})
    served0 = {s.order_id for r in first.routes for s in r.stops}
    good0 = servable <= served0 and validate_routes(sub, first).ok
    remember(start, good0, first.kpis.total_cost, _used(first, depot, ids))
    if witness is not None:
        mine = [r for r in witness.routes if r.depot == depot]
        if servable <= {s.order_id for r in mine for s in r.stops}:
            used = _used(witness, depot, ids)
            remember(used, True, sum(r.cost for r in mine), used)
    counts = dict(start)
    reached = good0
    for _ in range(max_doublings):
        if reached:
            break
        counts = {i: 2 * n + 1 for i, n in counts.items()}
        reached = ok(counts)[0]
    if not reached:
        return DepotFleet(depot, counts, start, len(servable), False, ok(counts)[1], steps, {})

    def best_witness() -> dict[str, int]:
        """The good day with the fewest vehicles used (then the cheapest)."""
        good = [(sum(u.values()), c, key(u)) for g, c, u in cache.values() if g]
        return dict(zip(ids, min(good)[2], strict=True))

    counts = best_witness()
    for t in ids:
        lo, hi = 0, counts[t]  # hi serves all; find the smallest that does
        while lo < hi:
            mid = (lo + hi) // 2
            if ok({**counts, t: mid})[0]:
                hi = mid
            else:
                lo = mid + 1
        counts = dict(cache[key({**counts, t: hi})][2])  # that day's witness
    fewer = {t: not ok({**counts, t: counts[t] - 1})[0] for t in ids if counts[t] > 0}
    return DepotFleet(depot, counts, start, len(servable), True, ok(counts)[1], steps, fewer)


@dataclass(frozen=True)
class FleetNeeded:
    """The fleet one scenario needs: per depot, the trunk vehicles, and the cost of that day."""

    scenario: str
    depots: tuple[DepotFleet, ...]
    trunk_run_vehicles: int
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
            "vehicles": sum(d.vehicles for d in self.depots) + self.trunk_run_vehicles,
            "last_mile_by_type": by_type,
            "trunk_run_vehicles": self.trunk_run_vehicles,
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
    witness: RoutingSolution | None = None,
    trunk_witnesses: Sequence[RoutingSolution | None] = (),
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
    witness
        The scenario's routed, validated day of ``problem``: each depot's search starts from the
        vehicles that day used there (:func:`search_depot`), so the last-mile fleet found is never
        larger than the day's.
    trunk_witnesses
        The routed trunk runs, in the order of ``trunk`` (same use, per run).
    """
    depots = tuple(
        search_depot(problem, d.id, solver, max_doublings=max_doublings, witness=witness)
        for d in problem.depots
    )
    needs: list[int] = []
    trunk_reached = True
    cost = 0.0
    runs = list(trunk_witnesses) + [None] * (len(trunk) - len(trunk_witnesses))
    for tp, run in zip(trunk, runs, strict=True):
        fleet = search_depot(tp, tp.depots[0].id, solver, max_doublings=max_doublings, witness=run)
        trunk_reached &= fleet.reached
        needs.append(fleet.vehicles)
        cost += fleet.cost
    return FleetNeeded(
        scenario, depots, max(needs, default=0), trunk_reached, cost, fixed_daily_cost
    )

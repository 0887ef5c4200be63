"""Independent check of a routing solution against its problem (no OR-Tools).

:func:`validate_routes` recomputes every route from the problem's matrices and orders alone and
compares with what the solution reports: schedule (arrival = departure + travel, waiting allowed,
time windows, shifts, route duration), depot of every vehicle, loads per dimension along the route,
time in vehicle against each order's cold-chain limit (per trip: from the departure of the trip
that carries a delivery, to the return of the trip that carries a pickup), refrigeration,
several trips of one vehicle (numbered 1.., at most ``max_trips``, each leaving after the previous
is back and reloaded, the whole day within the duration limit), each order served exactly
once or reported unassigned, route distances and costs, and the KPIs. Every unassigned order's
reason is one of ``infeasible`` / ``fleet`` / ``search``, and an ``infeasible`` claim holds exactly
when no vehicle of the fleet can serve the order alone on a direct trip (recomputed here from the
matrices: paths both ways, refrigeration, capacity, cold-chain limit, time window, shift, duration).
The conventions are those of :mod:`lastmile.routing` (its module docstring); only its dataclasses
are used here. :func:`supply_violations` checks a plan's day against the morning trunk run that
supplied its hubs (no hub delivery leaves before its parcels arrived, nor more than arrived).
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from dataclasses import dataclass

from lastmile.routing import REASON_CODES, Kpis, Order, RoutingProblem, RoutingSolution, VehicleType


@dataclass(frozen=True)
class Violation:
    """One broken rule, with the vehicle and order concerned (when there is one)."""

    rule: str
    message: str
    vehicle_id: str | None = None
    order_id: str | None = None

    def __str__(self) -> str:
        where = ", ".join(
            x
            for x in (
                f"vehicle {self.vehicle_id}" if self.vehicle_id else "",
                f"order {self.order_id}" if self.order_id else "",
            )
            if x
        )
        return f"[{self.rule}] {where + ': ' if where else ''}{self.message}"


@dataclass(frozen=True)
class ValidationReport:
    """All violations found; ``ok`` when there are none. ``kpis`` are the recomputed ones."""

    violations: tuple[Violation, ...]
    kpis: Kpis

    @property
    def ok(self) -> bool:
        """True when the solution breaks no rule."""
        return not self.violations

    def rules(self) -> set[str]:
        """The names of the broken rules."""
        return {v.rule for v in self.violations}

    def summary(self, limit: int = 20) -> str:
        """Human-readable list of (at most ``limit``) violations."""
        if self.ok:
            return "valid"
        lines = [str(v) for v in self.violations[:limit]]
        more = len(self.violations) - limit
        return "\n".join(lines + ([f"... and {more} more"] if more > 0 else []))


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)


def validate_routes(problem: RoutingProblem, solution: RoutingSolution) -> ValidationReport:
    """Recompute ``solution`` from ``problem`` and list every violation."""
    out: list[Violation] = []

    def bad(rule: str, msg: str, vehicle: str | None = None, order: str | None = None) -> None:
        out.append(Violation(rule, msg, vehicle, order))

    t, d, reach = problem.time_s, problem.distance_m, problem.reachable
    assert reach is not None
    orders: dict[str, Order] = {o.id: o for o in problem.orders}
    types: dict[str, VehicleType] = {vt.id: vt for vt in problem.vehicle_types}
    depots = {dp.id: dp for dp in problem.depots}
    fleet: dict[str, tuple[str, str]] = {}
    for dp in problem.depots:
        for vt in problem.vehicle_types:
            n = (
                vt.count_per_depot.get(dp.id, 0)
                if not isinstance(vt.count_per_depot, int)
                else vt.count_per_depot
            )
            for num in range(1, n + 1):
                fleet[f"{dp.id}/{vt.id}/{num}"] = (dp.id, vt.id)
    dims = list(dict.fromkeys(k for vt in problem.vehicle_types for k in vt.capacity))

    served: Counter[str] = Counter()
    in_vehicle: list[tuple[int, int | None]] = []
    total_dist = total_dur = 0
    total_cost = 0.0
    used = Counter(r.vehicle_id for r in solution.routes)
    for vid, c in used.items():
        if vid not in fleet:
            continue
        vt = types[fleet[vid][1]]
        trips = sorted((r for r in solution.routes if r.vehicle_id == vid), key=lambda r: r.trip)
        if [r.trip for r in trips] != list(range(1, c + 1)):
            bad("trips", f"trips numbered {[r.trip for r in trips]}, expected 1..{c}", vid)
        if vt.max_trips is not None and c > vt.max_trips:
            bad("trips", f"{c} trips > max_trips {vt.max_trips}", vid)
        for a, b in itertools.pairwise(trips):
            if b.departure_s < a.arrival_s + vt.reload_s:
                bad(
                    "trips",
                    f"trip {b.trip} leaves at {b.departure_s} s, before trip {a.trip} is "
                    f"back ({a.arrival_s} s) and reloaded ({vt.reload_s} s)",
                    vid,
                )
        day_limit = vt.shift_end_s - vt.shift_start_s
        if vt.max_duration_s is not None:
            day_limit = min(day_limit, vt.max_duration_s)
        if c > 1 and trips[-1].arrival_s - trips[0].departure_s > day_limit:
            bad(
                "duration",
                f"day from first departure to last return lasts "
                f"{trips[-1].arrival_s - trips[0].departure_s} s > limit {day_limit} s",
                vid,
            )
    for r in solution.routes:
        vid = r.vehicle_id
        if vid not in fleet:
            bad("vehicle", "is not a vehicle of the problem", vid)
            continue
        dep_id, type_id = fleet[vid]
        if r.depot != dep_id:
            bad(
                "depot",
                f"route starts/ends at {r.depot!r}, the vehicle is based at {dep_id!r}",
                vid,
            )
        if r.vehicle_type != type_id:
            bad("vehicle", f"reported type {r.vehicle_type!r}, actual {type_id!r}", vid)
        if not r.stops:
            bad("vehicle", "used with no stops", vid)
        vt, depot_loc = types[type_id], depots[dep_id].location
        # loads
        load = {
            k: sum(
                orders[s.order_id].quantity.get(k, 0)
                for s in r.stops
                if s.order_id in orders and orders[s.order_id].kind == "delivery"
            )
            for k in dims
        }
        if any(r.load_at_start.get(k, 0) != load[k] for k in dims):
            bad("load", f"reported start load {dict(r.load_at_start)}, recomputed {load}", vid)
        for k in dims:
            if load[k] > vt.capacity.get(k, 0):
                bad(
                    "capacity",
                    f"{k}: leaves with {load[k]} > capacity {vt.capacity.get(k, 0)}",
                    vid,
                )
        # schedule
        if r.departure_s < vt.shift_start_s:
            bad("shift", f"departs at {r.departure_s} s before shift start {vt.shift_start_s}", vid)
        prev_loc, prev_dep, dist = depot_loc, r.departure_s, 0
        for s in r.stops:
            o = orders.get(s.order_id)
            if o is None:
                bad("order", "unknown order on route", vid, s.order_id)
                continue
            served[o.id] += 1
            if s.location != o.location:
                bad("location", f"stop at {s.location}, order is at {o.location}", vid, o.id)
            if o.depot is not None and o.depot != dep_id:
                bad(
                    "depot",
                    f"order belongs to depot {o.depot!r}, served from {dep_id!r}",
                    vid,
                    o.id,
                )
            if o.requires_refrigeration and not vt.refrigerated:
                bad(
                    "refrigeration",
                    f"needs refrigeration, vehicle type {vt.id!r} has none",
                    vid,
                    o.id,
                )
            if not reach[prev_loc, o.location]:
                bad("unreachable", f"no path from location {prev_loc} to {o.location}", vid, o.id)
            expected = prev_dep + int(t[prev_loc, o.location])
            if s.arrival_s != expected:
                bad("time", f"arrival {s.arrival_s} s, recomputed {expected} s", vid, o.id)
            if s.start_s < max(s.arrival_s, expected):
                bad(
                    "time",
                    f"service starts at {s.start_s} s before arrival {expected} s",
                    vid,
                    o.id,
                )
            if o.time_window is not None and not o.time_window[0] <= s.start_s <= o.time_window[1]:
                bad(
                    "time window",
                    f"service starts at {s.start_s} s outside {o.time_window}",
                    vid,
                    o.id,
                )
            if s.departure_s != s.start_s + o.service_s:
                bad(
                    "time",
                    f"departure {s.departure_s} s != start {s.start_s} + service {o.service_s}",
                    vid,
                    o.id,
                )
            dist += int(d[prev_loc, o.location])
            sign = -1 if o.kind == "delivery" else 1
            for k in dims:
                load[k] += sign * o.quantity.get(k, 0)
                if not 0 <= load[k] <= vt.capacity.get(k, 0):
                    bad(
                        "capacity",
                        f"{k}: load {load[k]} after the stop outside [0, {vt.capacity.get(k, 0)}]",
                        vid,
                        o.id,
                    )
            if any(s.load_after.get(k, 0) != load[k] for k in dims):
                bad(
                    "load",
                    f"reported load after stop {dict(s.load_after)}, recomputed {load}",
                    vid,
                    o.id,
                )
            prev_loc, prev_dep = o.location, s.start_s + o.service_s
        if not reach[prev_loc, depot_loc]:
            bad("unreachable", f"no path from location {prev_loc} back to the depot", vid)
        back = prev_dep + int(t[prev_loc, depot_loc])
        dist += int(d[prev_loc, depot_loc])
        if r.arrival_s != back:
            bad("time", f"returns at {r.arrival_s} s, recomputed {back} s", vid)
        if back > vt.shift_end_s:
            bad("shift", f"returns at {back} s after shift end {vt.shift_end_s}", vid)
        limit = vt.shift_end_s - vt.shift_start_s
        if vt.max_duration_s is not None:
            limit = min(limit, vt.max_duration_s)
        if back - r.departure_s > limit:
            bad("duration", f"route lasts {back - r.departure_s} s > limit {limit} s", vid)
        # time in vehicle
        for s in r.stops:
            o = orders.get(s.order_id)
            if o is None:
                continue
            if o.kind == "delivery":
                ivt = s.start_s + o.service_s - r.departure_s
            else:
                ivt = back - s.start_s
            in_vehicle.append((ivt, o.max_in_vehicle_s))
            if s.in_vehicle_s != ivt:
                bad("in-vehicle", f"reported {s.in_vehicle_s} s, recomputed {ivt} s", vid, o.id)
            if o.max_in_vehicle_s is not None and ivt > o.max_in_vehicle_s:
                bad("cold chain", f"{ivt} s in vehicle > limit {o.max_in_vehicle_s} s", vid, o.id)
        if r.distance_m != dist:
            bad("distance", f"reported {r.distance_m} m, recomputed {dist} m", vid)
        cost = (
            (vt.fixed_cost if r.trip == 1 else 0.0)
            + vt.cost_per_km * dist / 1000.0
            + vt.cost_per_hour * (back - r.departure_s) / 3600.0
        )
        if not _close(r.cost, cost):
            bad("cost", f"reported {r.cost}, recomputed {cost}", vid)
        total_dist += dist
        total_dur += back - r.departure_s
        total_cost += cost

    unassigned = Counter(u.order_id for u in solution.unassigned)
    for oid in sorted(set(unassigned) | set(served)):
        if oid not in orders:
            if oid in unassigned:
                bad("order", "reported unassigned but not in the problem", order=oid)
            continue
        n_served, n_un = served[oid], unassigned[oid]
        if n_served > 1:
            bad("order", f"served {n_served} times", order=oid)
        if n_served and n_un:
            bad("order", "both served and reported unassigned", order=oid)
        if n_un > 1:
            bad("order", f"reported unassigned {n_un} times", order=oid)
    for oid in orders:
        if not served[oid] and not unassigned[oid]:
            bad("order", "neither served nor reported unassigned", order=oid)
    for u in solution.unassigned:
        if u.reason not in REASON_CODES:
            bad("reason", f"reason {u.reason!r} is not one of {REASON_CODES}", order=u.order_id)
            continue
        o = orders.get(u.order_id)
        if o is None:
            continue
        servers = _alone(problem, o)
        if u.reason == "infeasible" and servers:
            bad(
                "reason",
                f"reported infeasible ({u.binding}), but vehicle {servers[0]} can serve it alone",
                order=o.id,
            )
        elif u.reason != "infeasible" and not servers:
            bad("reason", f"reported {u.reason}, but no vehicle can serve it alone", order=o.id)

    ivts = [v for v, _ in in_vehicle]
    limited = [(v, lim) for v, lim in in_vehicle if lim is not None]
    kpis = Kpis(
        vehicles_used=len(used),
        orders_served=len(ivts),
        unassigned=len(solution.unassigned),
        total_distance_m=total_dist,
        total_km=total_dist / 1000.0,
        total_duration_s=total_dur,
        vehicle_hours=total_dur / 3600.0,
        mean_in_vehicle_s=sum(ivts) / len(ivts) if ivts else 0.0,
        max_in_vehicle_s=max(ivts) if ivts else 0,
        cold_chain_compliance=(
            sum(1 for v, lim in limited if v <= lim) / len(limited) if limited else 1.0
        ),
        total_cost=total_cost,
    )
    rep = solution.kpis
    for name in Kpis.__dataclass_fields__:
        a, b = getattr(rep, name), getattr(kpis, name)
        if not _close(float(a), float(b)):
            bad("kpi", f"{name}: reported {a}, recomputed {b}")
    return ValidationReport(tuple(out), kpis)


def _alone(problem: RoutingProblem, o: Order) -> list[str]:
    """Ids of the vehicles that can serve ``o`` alone, depot -> village -> depot."""
    t, reach = problem.time_s, problem.reachable
    assert reach is not None
    out = []
    for dp in problem.depots:
        if o.depot is not None and o.depot != dp.id:
            continue
        a, loc = dp.location, o.location
        if not (reach[a, loc] and reach[loc, a]):
            continue
        go, back = int(t[a, loc]), int(t[loc, a])
        for vt in problem.vehicle_types:
            n = (
                vt.count_per_depot.get(dp.id, 0)
                if not isinstance(vt.count_per_depot, int)
                else vt.count_per_depot
            )
            if n < 1 or (o.requires_refrigeration and not vt.refrigerated):
                continue
            if any(q > vt.capacity.get(k, 0) for k, q in o.quantity.items()):
                continue
            held = (go if o.kind == "delivery" else back) + o.service_s
            if o.max_in_vehicle_s is not None and held > o.max_in_vehicle_s:
                continue
            early, late = o.time_window if o.time_window is not None else (0, vt.shift_end_s)
            start = max(vt.shift_start_s + go, early)
            limit = vt.shift_end_s - vt.shift_start_s
            if vt.max_duration_s is not None:
                limit = min(limit, vt.max_duration_s)
            if (
                start <= late
                and start + o.service_s + back <= vt.shift_end_s
                and go + o.service_s + back <= limit
            ):
                out.append(f"{dp.id}/{vt.id}/1")
    return out


#: A trunk stop's id is its hub's id, or ``hub#2`` when the hub's load was split over several
#: stops (:mod:`lastmile.trunk`'s convention).
TRUNK_PART = "#"


def hub_of(stop_id: str) -> str:
    """The hub id of a trunk stop id (``hub#2`` -> ``hub``)."""
    return stop_id.split(TRUNK_PART)[0]


def supply_violations(
    day: RoutingProblem,
    day_solution: RoutingSolution,
    morning: RoutingProblem,
    morning_solution: RoutingSolution,
    *,
    handling_s: int,
    cutoff_s: int,
) -> tuple[Violation, ...]:
    """A routed day's deliveries against the morning trunk run that supplied its hubs.

    The parcels of a delivery are at the county centre (the morning run's depot) from the
    cut-off, at a hub once the run has served all its stops there and ``handling_s`` has passed.
    Recomputed from both solutions: every trip that carries deliveries leaves the centre at or
    after ``cutoff_s``, and a hub at or after its trunk arrival (the latest start of service of
    its stops) + ``handling_s``; a hub no stop of the run reached carries no delivery; the
    deliveries a hub's vans carry add up to no more than what the run unloaded there, per
    dimension (rule ``supply``). A hub is not told apart from the centre by its vans' shift
    start, which is what went wrong (bb20 D12: vans of a hub no run reached left at 07:00 with a
    parcel still at the centre).
    """
    out: list[Violation] = []
    centre = morning.depots[0].id
    trunk_orders = {o.id: o for o in morning.orders}
    arrival: dict[str, int] = {}
    brought: dict[str, Counter[str]] = {}
    for r in morning_solution.routes:
        for s in r.stops:
            hub = hub_of(s.order_id)
            arrival[hub] = max(arrival.get(hub, s.start_s), s.start_s)
            o = trunk_orders.get(s.order_id)
            if o is not None:
                brought.setdefault(hub, Counter()).update(dict(o.quantity))
    orders = {o.id: o for o in day.orders}
    carried: dict[str, Counter[str]] = {}
    for r in day_solution.routes:
        deliveries = [
            s.order_id
            for s in r.stops
            if s.order_id in orders and orders[s.order_id].kind == "delivery"
        ]
        if not deliveries:
            continue
        named = ", ".join(deliveries[:3]) + (" ..." if len(deliveries) > 3 else "")
        if r.depot == centre:
            if r.departure_s < cutoff_s:
                out.append(
                    Violation(
                        "supply",
                        f"trip {r.trip} leaves the county centre at {r.departure_s} s with "
                        f"deliveries ({named}) before the cut-off at {cutoff_s} s",
                        r.vehicle_id,
                        deliveries[0],
                    )
                )
            continue
        for oid in deliveries:
            carried.setdefault(r.depot, Counter()).update(dict(orders[oid].quantity))
        if r.depot not in arrival:
            out.append(
                Violation(
                    "supply",
                    f"trip {r.trip} leaves hub {r.depot} with deliveries ({named}), but no "
                    "morning trunk run reached the hub: their parcels are at the county centre",
                    r.vehicle_id,
                    deliveries[0],
                )
            )
        elif r.departure_s < arrival[r.depot] + handling_s:
            out.append(
                Violation(
                    "supply",
                    f"trip {r.trip} leaves hub {r.depot} at {r.departure_s} s with deliveries "
                    f"({named}), before the trunk's arrival ({arrival[r.depot]} s) + handling "
                    f"({handling_s} s)",
                    r.vehicle_id,
                    deliveries[0],
                )
            )
    for hub, need in sorted(carried.items()):
        if hub not in arrival:
            continue  # reported per trip
        have = brought.get(hub, Counter())
        for dim, q in sorted(need.items()):
            if q > have.get(dim, 0):
                out.append(
                    Violation(
                        "supply",
                        f"hub {hub}'s vans deliver {q} {dim}, the morning trunk run brought it "
                        f"{have.get(dim, 0)} {dim}",
                    )
                )
    return tuple(out)

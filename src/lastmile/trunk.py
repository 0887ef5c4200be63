"""Trunk runs between the county centre and the hubs, routed and validated like last-mile days.

The second echelon of the network (issue 10): a morning run brings each hub the parcels of its
catchment from the county centre; an optional evening run collects the produce the hubs' vans
picked up (when hubs have a cold room) and takes it to the centre. Both are ordinary
:class:`~lastmile.routing.RoutingProblem` s over the centre (the depot) and the hubs (the stops),
so a hub may share a multi-stop trunk route, and :func:`~lastmile.validate.validate_routes` checks
them like any routed day.

Conventions
-----------
- A hub whose load exceeds one trunk vehicle's capacity is split into several stops (``hub#2``).
- The trunk *arrives* at a hub at the start of service of its stop (the latest one when split);
  the hub's last-mile vans may leave ``hub_handling_s`` later (:func:`hub_ready_times`).
- A run leaves at its departure time (the morning one at the cut-off) and reaches every hub, and
  the centre again, as early as its sequence of stops allows (:func:`earliest_schedule`); it
  leaves later only when it would otherwise wait at its first hub (an evening pickup window).
- Evening pickups at a hub may start only after the hub's last van is back (a time window), so
  every crate the vans brought is on board.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from lastmile.config import TrunkSettings
from lastmile.errors import InputError
from lastmile.route_tables import solution_frames
from lastmile.routing import (
    Depot,
    Order,
    Route,
    RoutingOptions,
    RoutingProblem,
    RoutingSolution,
    VehicleType,
    compute_kpis,
    route_schedule,
    solve,
    vehicles_of,
)
from lastmile.validate import TRUNK_PART, ValidationReport, hub_of, validate_routes

#: Separator between a hub id and the part number of a split trunk stop (the validator's
#: :func:`~lastmile.validate.supply_violations` reads stop ids the same way).
PART = TRUNK_PART


@dataclass(frozen=True)
class TrunkRun:
    """One routed, validated trunk run (``morning`` or ``evening``).

    Attributes
    ----------
    kind
        ``"morning"`` (centre -> hubs, deliveries) or ``"evening"`` (hubs -> centre, pickups).
    problem, solution, validation
        The routing problem (location 0 = county centre, then the hubs in the given order), the
        solver's answer and the independent check.
    hub_arrival_s
        Hub id -> time the trunk starts service there (the latest part when split); hubs the run
        does not reach are missing.
    hub_to_centre_s
        Evening run only: hub id -> arrival of its produce at the centre (the route's return).
    relaxed
        Morning run only: the hubs' latest arrival could not be met and was dropped.
    """

    kind: str
    problem: RoutingProblem
    solution: RoutingSolution
    validation: ValidationReport
    hub_arrival_s: Mapping[str, int]
    hub_to_centre_s: Mapping[str, int]
    relaxed: bool = False

    def frame(self) -> pd.DataFrame:
        """One row per trunk stop: ``run, vehicle_id, hub, order_id, arrival_s, start_s, ...``."""
        stops = solution_frames(self.problem, self.solution)["stops"].copy()
        stops.insert(0, "run", self.kind)
        stops.insert(2, "hub", [hub_of(o) for o in stops["order_id"].astype(str)])
        return stops


def trunk_vehicle(
    settings: TrunkSettings, *, start_s: int, count: int | None = None
) -> VehicleType:
    """The trunk vehicle type (``settings.vehicle``), available from ``start_s`` until the trunk
    shift ends; ``count`` vehicles instead of the settings' when given."""
    vt = settings.vehicle
    return replace(
        vt,
        count_per_depot=settings.count if count is None else count,
        shift_start_s=min(start_s, settings.shift_end_s),
        shift_end_s=settings.shift_end_s,
    )


def _split(load: Mapping[str, int], capacity: Mapping[str, int]) -> list[dict[str, int]]:
    """Split ``load`` into parts no larger than ``capacity`` on any dimension."""
    parts = max(1, *(-(-int(q) // max(1, int(capacity.get(k, 0)))) for k, q in load.items()))
    out = []
    for p in range(parts):
        out.append({k: int(q) // parts + (1 if p < int(q) % parts else 0) for k, q in load.items()})
    return out


def trunk_problem(
    time_s: NDArray[np.int64],
    distance_m: NDArray[np.int64],
    reachable: NDArray[np.bool_],
    hub_ids: Sequence[str],
    loads: Mapping[str, Mapping[str, int]],
    settings: TrunkSettings,
    kind: str,
    *,
    ready_s: Mapping[str, int] | None = None,
    refrigerated_hubs: Sequence[str] = (),
    centre_id: str = "county-centre",
    latest_s: int | None = None,
    arrival_hour_cost: float = 0.0,
) -> RoutingProblem:
    """The routing problem of one trunk run.

    Parameters
    ----------
    time_s, distance_m, reachable
        Matrices over the county centre (index 0) and the hubs (1..n, in ``hub_ids`` order).
    loads
        Hub id -> quantity per dimension (``kg``, ``parcels``); hubs with no load get no stop.
    kind
        ``"morning"`` (deliveries, leaving at ``morning_departure``) or ``"evening"`` (pickups,
        leaving at ``evening_departure``).
    ready_s
        Evening: hub id -> earliest start of the pickup (the hub's last van back).
    refrigerated_hubs
        Hubs whose load needs a refrigerated vehicle.
    latest_s
        Morning: latest start of service at a hub (``None``: the trunk shift end).
    arrival_hour_cost
        Morning: cost of an hour between the departure and a hub's start of service (the
        routing problem's ``delivery_hour_cost``), so that among routes of equal cost the run
        reaches its hubs early; 0 leaves the order of equal-cost routes to the solver.
    """
    if kind not in ("morning", "evening"):
        raise InputError(f"trunk run {kind!r} unknown", "use 'morning' or 'evening'")
    n = len(hub_ids) + 1
    if np.asarray(time_s).shape != (n, n):
        raise InputError(f"trunk problem: matrix shape {np.asarray(time_s).shape} != ({n}, {n})")
    if kind == "morning":
        start = settings.morning_departure_s
    else:
        if settings.evening_departure_s is None:
            raise InputError("no evening trunk run configured", "set [trunk] evening_departure")
        start = settings.evening_departure_s
    vt = trunk_vehicle(settings, start_s=start)
    orders: list[Order] = []
    for i, hub in enumerate(hub_ids, start=1):
        load = {k: int(v) for k, v in loads.get(hub, {}).items() if int(v) > 0}
        if not load:
            continue
        parts = _split(load, vt.capacity)
        for p, q in enumerate(parts, start=1):
            window = None if latest_s is None else (start, max(start, latest_s))
            if ready_s is not None and hub in ready_s:
                window = (max(start, int(ready_s[hub])), settings.shift_end_s)
            orders.append(
                Order(
                    id=hub if len(parts) == 1 else f"{hub}{PART}{p}",
                    kind="delivery" if kind == "morning" else "pickup",
                    location=i,
                    quantity=q,
                    service_s=settings.unload_s,
                    time_window=window,
                    product_class="parcel" if kind == "morning" else "produce",
                    requires_refrigeration=hub in refrigerated_hubs,
                )
            )
    return RoutingProblem(
        time_s=np.asarray(time_s, dtype=np.int64),
        distance_m=np.asarray(distance_m, dtype=np.int64),
        depots=(Depot(centre_id, 0),),
        vehicle_types=(vt,),
        orders=tuple(orders),
        reachable=np.asarray(reachable, dtype=bool),
        delivery_hour_cost=arrival_hour_cost if kind == "morning" else 0.0,
    )


def earliest_schedule(problem: RoutingProblem, solution: RoutingSolution) -> RoutingSolution:
    """The solver's routes, each re-timed to reach its stops and the centre as early as possible.

    The solver fixes the sequence of stops; the times within a route's slack are whatever its
    schedule optimiser returns, and with several trucks that is often the latest point (a truck
    waiting two hours at the centre to reach its hub exactly at ``hub_latest_arrival``). A hub's
    vans leave at its trunk arrival, so every minute of that slack is a minute on each parcel's
    lead time. Each route is therefore rebuilt by :func:`lastmile.routing.route_schedule` from the
    vehicle's shift start (the run's departure): every start of service is the arrival or the
    opening of the stop's window, whichever is later, and the truck leaves later than the
    departure only when it would otherwise wait at its first stop.

    The earliest schedule of a sequence starts no stop later than any feasible one, so every
    time window still holds; a route that would now exceed the vehicle's duration limit (a wait at
    a later stop) keeps the solver's times. Costs and KPIs are recomputed from the new times.
    """
    vehicles = {v.id: v for v in vehicles_of(problem)}
    by_id = {o.id: o for o in problem.orders}
    routes: list[Route] = []
    for r in solution.routes:
        v = vehicles[r.vehicle_id]
        if v.type.max_trips != 1:  # a later trip's departure hangs on the one before: keep
            routes.append(r)
            continue
        early = route_schedule(problem, v, [by_id[s.order_id] for s in r.stops])
        fits = early.duration_s <= v.type.duration_limit_s and early.arrival_s <= v.type.shift_end_s
        routes.append(early if fits else r)
    return replace(
        solution,
        routes=tuple(routes),
        kpis=compute_kpis(problem, routes, len(solution.unassigned)),
    )


def route_trunk(problem: RoutingProblem, options: RoutingOptions, kind: str) -> TrunkRun:
    """Solve and validate one trunk run; hub arrival (and, evening, centre arrival) per hub.

    The routes run on their earliest schedule (:func:`earliest_schedule`).
    """
    solution = earliest_schedule(problem, solve(problem, options))
    report = validate_routes(problem, solution)
    arrival: dict[str, int] = {}
    to_centre: dict[str, int] = {}
    for r in solution.routes:
        for s in r.stops:
            hub = hub_of(s.order_id)
            arrival[hub] = max(arrival.get(hub, s.start_s), s.start_s)
            to_centre[hub] = max(to_centre.get(hub, r.arrival_s), r.arrival_s)
    return TrunkRun(
        kind, problem, solution, report, arrival, to_centre if kind == "evening" else {}
    )


def hub_ready_times(morning: TrunkRun, settings: TrunkSettings, centre_id: str) -> dict[str, int]:
    """Depot id -> earliest departure of its last-mile vans.

    The county centre: the cut-off. A hub: its trunk arrival plus ``hub_handling_s``. A hub the
    morning run did not reach (no load, or the trunk could not serve it) is missing.
    """
    ready = {centre_id: settings.cutoff_s}
    for hub, t in morning.hub_arrival_s.items():
        ready[hub] = int(t) + settings.hub_handling_s
    return ready


def catchments(
    time_s: NDArray[np.int64], reachable: NDArray[np.bool_], n_depots: int
) -> NDArray[np.int64]:
    """Nearest depot of every order by the round trip (``-1`` when no depot reaches it).

    ``time_s``/``reachable`` are over depots (first ``n_depots`` rows) then orders, as in
    :func:`lastmile.plan.plan_routes`; ties go to the first depot.
    """
    t = np.asarray(time_s, dtype=np.float64)
    reach = np.asarray(reachable, dtype=bool)
    out_leg = np.where(reach[:n_depots, n_depots:], t[:n_depots, n_depots:], np.inf)
    back_leg = np.where(reach[n_depots:, :n_depots].T, t[n_depots:, :n_depots].T, np.inf)
    trip = out_leg + back_leg
    best = np.argmin(trip, axis=0)
    best[~np.isfinite(trip.min(axis=0))] = -1
    out: NDArray[np.int64] = best.astype(np.int64)
    return out


def pin_orders(
    order_ids: Sequence[str],
    kinds: Sequence[str],
    home: Sequence[int],
    depot_ids: Sequence[str],
    hub_cold_store: bool,
) -> dict[str, str]:
    """Order id -> the depot that must serve it.

    Every order goes to its catchment depot (``home``, an index into ``depot_ids``, ``-1`` for
    none: left unpinned), except produce pickups when hubs have no cold room: those go to the
    county centre (``depot_ids[0]``), so their cold-chain limit runs until the centre.
    """
    pins: dict[str, str] = {}
    for oid, kind, h in zip(order_ids, kinds, home, strict=True):
        if h < 0:
            continue
        pins[str(oid)] = (
            depot_ids[0] if kind == "pickup" and not hub_cold_store else depot_ids[int(h)]
        )
    return pins

"""Cold-chain routing on tiny hand-made problems: exact optima by brute force, every drop reason,
refrigeration, multi-depot, mixed pickups/deliveries on several capacity dimensions, bad input.

Every solution produced here is checked by the independent validator.
"""

from __future__ import annotations

import dataclasses
import itertools
import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from lastmile.errors import InputError
from lastmile.route_tables import solution_frames
from lastmile.routing import (
    FLEET,
    INFEASIBLE,
    REASON_CAPACITY,
    REASON_COLD_CHAIN,
    REASON_REFRIGERATION,
    REASON_UNREACHABLE,
    SEARCH,
    Depot,
    Order,
    RoutingOptions,
    RoutingProblem,
    RoutingSolution,
    VehicleType,
    compacted,
    relocated,
    solve,
)
from lastmile.validate import validate_routes

OPTS = RoutingOptions(time_limit_s=1.0)


def solved(problem: RoutingProblem, options: RoutingOptions = OPTS) -> RoutingSolution:
    """Solve and insist that the independent validator accepts the result."""
    sol = solve(problem, options)
    report = validate_routes(problem, sol)
    assert report.ok, report.summary()
    return sol


def preferred_tour_matrix(
    n: int, tour: Sequence[int], cheap: int = 1000, dear: int = 10_000
) -> np.ndarray:
    """Distances where the arcs of ``tour`` (closed) are cheap and every other arc is dear."""
    d = np.full((n, n), dear, dtype=np.int64)
    np.fill_diagonal(d, 0)
    for a, b in itertools.pairwise([*tour, tour[0]]):
        d[a, b] = cheap
    return d


def stop_ids(sol: RoutingSolution) -> list[list[str]]:
    return [[s.order_id for s in r.stops] for r in sol.routes]


def brute_force_single_vehicle(problem: RoutingProblem) -> int:
    """Cheapest feasible closed tour of one vehicle through all orders (no time windows, depot 0).

    Independent of the solver: loads start at the sum of deliveries; in-vehicle time per the
    documented convention (service included).
    """
    t, d = problem.time_s, problem.distance_m
    vt = problem.vehicle_types[0]
    best = None
    for perm in itertools.permutations(problem.orders):
        load = {
            k: sum(o.quantity.get(k, 0) for o in perm if o.kind == "delivery") for k in vt.capacity
        }
        ok = all(load[k] <= vt.capacity[k] for k in load)
        clock, prev, dist, starts = 0, 0, 0, []
        for o in perm:
            clock += int(t[prev, o.location])
            dist += int(d[prev, o.location])
            starts.append(clock)
            clock += o.service_s
            for k in load:
                load[k] += o.quantity.get(k, 0) * (1 if o.kind == "pickup" else -1)
                ok = ok and 0 <= load[k] <= vt.capacity[k]
            prev = o.location
        back = clock + int(t[prev, 0])
        dist += int(d[prev, 0])
        for o, st in zip(perm, starts, strict=True):
            ivt = st + o.service_s if o.kind == "delivery" else back - st
            ok = ok and (o.max_in_vehicle_s is None or ivt <= o.max_in_vehicle_s)
        if ok and (best is None or dist < best):
            best = dist
    assert best is not None
    return best


# --------------------------------------------------------------------------- cold chain


def cold_chain_problem(limit: int | None) -> RoutingProblem:
    """Depot 0; pickup P at 1, plain deliveries at 2 and 3, delivery D at 4; every leg 600 s.

    The cheap tour 0-1-2-3-4-0 carries P and D for 2400 s each (service 0).
    """
    d = preferred_tour_matrix(5, [0, 1, 2, 3, 4])
    t = np.full((5, 5), 600, dtype=np.int64)
    np.fill_diagonal(t, 0)
    van = VehicleType("van", refrigerated=True, capacity={"kg": 100}, count_per_depot=1)
    orders = (
        Order("P", "pickup", 1, {"kg": 10}, max_in_vehicle_s=limit),
        Order("X", "delivery", 2, {"kg": 10}),
        Order("Y", "delivery", 3, {"kg": 10}),
        Order("D", "delivery", 4, {"kg": 10}, max_in_vehicle_s=limit),
    )
    return RoutingProblem(t, d, (Depot("A", 0),), (van,), orders)


def test_cold_chain_limit_binds_in_both_directions() -> None:
    free = solved(cold_chain_problem(None))
    assert stop_ids(free) in ([["P", "X", "Y", "D"]],)
    ivt = {s.order_id: s.in_vehicle_s for s in free.routes[0].stops}
    assert ivt["P"] == 2400 and ivt["D"] == 2400  # what the limit must forbid
    assert free.routes[0].distance_m == 5000

    problem = cold_chain_problem(1800)
    sol = solved(problem)
    assert not sol.unassigned
    ivt = {s.order_id: s.in_vehicle_s for s in sol.routes[0].stops}
    assert ivt["P"] <= 1800 and ivt["D"] <= 1800
    assert sol.kpis.cold_chain_compliance == 1.0
    assert sol.routes[0].distance_m == brute_force_single_vehicle(problem)
    assert sol.routes[0].distance_m > 5000


def test_delivery_limit_counts_from_depot_departure_with_waiting() -> None:
    """D opens late: the van must leave late enough (not wait at the village with the goods)."""
    t = np.array([[0, 600, 600], [600, 0, 600], [600, 600, 0]], dtype=np.int64)
    van = VehicleType("van", True, {"kg": 50}, 1, shift_start_s=0, shift_end_s=20_000)
    orders = (
        Order("X", "delivery", 1, {"kg": 5}, time_window=(0, 20_000)),
        Order(
            "D",
            "delivery",
            2,
            {"kg": 5},
            time_window=(10_000, 10_100),
            service_s=120,
            max_in_vehicle_s=1500,
        ),
    )
    sol = solved(RoutingProblem(t, t, (Depot("A", 0),), (van,), orders))
    assert not sol.unassigned
    stops = {s.order_id: s for s in sol.routes[0].stops}
    assert stops["D"].in_vehicle_s <= 1500
    assert sol.routes[0].departure_s >= 10_000 + 120 - 1500


def test_pickup_limit_forces_a_drop_with_one_vehicle_and_two_routes_serve_both() -> None:
    """P must be picked up early and Y served late: on one van P would ride > limit."""
    t = np.array([[0, 600, 600], [600, 0, 600], [600, 600, 0]], dtype=np.int64)
    orders = (
        Order("P", "pickup", 1, {"kg": 5}, time_window=(600, 700), max_in_vehicle_s=1800),
        Order("Y", "delivery", 2, {"kg": 5}, time_window=(5000, 5100)),
    )

    def problem(vans: int, limit_on: bool = True) -> RoutingProblem:
        van = VehicleType("van", True, {"kg": 50}, vans, shift_end_s=10_000)
        os_ = (
            orders
            if limit_on
            else (Order("P", "pickup", 1, {"kg": 5}, time_window=(600, 700)), orders[1])
        )
        return RoutingProblem(t, t, (Depot("A", 0),), (van,), os_)

    one_route = solved(problem(1, limit_on=False))
    assert stop_ids(one_route) == [["P", "Y"]]
    dropped = solved(problem(1))
    # each is servable alone and one van has time for both: no bound proves the fleet short
    assert [(u.order_id, u.reason) for u in dropped.unassigned] in (
        [("P", SEARCH)],
        [("Y", SEARCH)],
    )
    both = solved(problem(2))
    assert not both.unassigned and len(both.routes) == 2


def test_multi_trip_serves_what_one_trip_cannot() -> None:
    """One van: P must be picked up early, Y (cold) delivered late; a second trip serves both."""
    t = np.array([[0, 600, 600], [600, 0, 600], [600, 600, 0]], dtype=np.int64)
    orders = (
        Order("P", "pickup", 1, {"kg": 5}, time_window=(600, 700), max_in_vehicle_s=1800),
        Order("Y", "delivery", 2, {"kg": 5}, time_window=(5000, 5100), max_in_vehicle_s=700),
    )
    one = VehicleType("van", True, {"kg": 50}, 1, shift_end_s=10_000, max_duration_s=6000)
    single = solved(RoutingProblem(t, t, (Depot("A", 0),), (one,), orders))
    assert single.kpis.orders_served == 1
    two = dataclasses.replace(one, max_trips=2, reload_s=900)
    sol = solved(RoutingProblem(t, t, (Depot("A", 0),), (two,), orders))
    assert not sol.unassigned and sol.kpis.vehicles_used == 1
    assert [(r.trip, [s.order_id for s in r.stops]) for r in sol.routes] == [(1, ["P"]), (2, ["Y"])]
    (trip1, trip2) = sol.routes
    assert sol.trips_by_vehicle() == {"A/van/1": (trip1, trip2)}
    assert trip2.departure_s >= trip1.arrival_s + 900
    ivt = {s.order_id: s.in_vehicle_s for r in sol.routes for s in r.stops}
    assert ivt == {"P": 600, "Y": 600}  # each from its own trip's departure / to its return
    assert sol.kpis.total_distance_m == 2400
    # the day must fit max_duration: P back at 1200 at the earliest, Y served from 5000 - 600
    tight = dataclasses.replace(two, max_duration_s=4000)
    sol = solved(RoutingProblem(t, t, (Depot("A", 0),), (tight,), orders))
    assert sol.kpis.orders_served == 1


def test_pickup_trips_reload_after_the_clock_stops_and_every_trip_counts() -> None:
    """Two cold pickups that cannot share a trip, one van with two trips.

    Each ride is 600 s service + 3000 s to the depot = 3600 s, exactly the limit; the 900 s reload
    at the depot comes after the arrival that stops the clock, so both are served, one per trip
    (before: the reload counted inside the limit and neither was served; a route whose last trip
    unloads pickups was allowed one trip fewer than ``max_trips``).
    """
    t = np.array([[0, 3000, 3000], [3000, 0, 9000], [3000, 9000, 0]], dtype=np.int64)
    orders = (
        Order("P", "pickup", 1, {"kg": 5}, service_s=600, max_in_vehicle_s=3600),
        Order("Q", "pickup", 2, {"kg": 5}, service_s=600, max_in_vehicle_s=3600),
    )
    van = VehicleType("van", True, {"kg": 50}, 1, max_trips=2, reload_s=900)
    sol = solved(RoutingProblem(t, t, (Depot("A", 0),), (van,), orders))
    assert not sol.unassigned and sol.kpis.vehicles_used == 1
    assert [len(r.stops) for r in sol.routes] == [1, 1]
    assert {s.in_vehicle_s for r in sol.routes for s in r.stops} == {3600}
    trip1, trip2 = sol.routes
    assert trip2.departure_s >= trip1.arrival_s + 900
    # one second tighter and no trip can carry either
    tight = tuple(dataclasses.replace(o, max_in_vehicle_s=3599) for o in orders)
    none = solved(RoutingProblem(t, t, (Depot("A", 0),), (van,), tight))
    assert {(u.order_id, u.reason) for u in none.unassigned} == {
        ("P", INFEASIBLE),
        ("Q", INFEASIBLE),
    }
    # three such pickups, max_trips = 2: exactly two served
    three = (*orders, Order("R", "pickup", 2, {"kg": 5}, service_s=600, max_in_vehicle_s=3600))
    sol3 = solved(RoutingProblem(t, t, (Depot("A", 0),), (van,), three))
    assert sol3.kpis.orders_served == 2 and len(sol3.routes) == 2


def test_delivery_hour_cost_trades_a_second_van_for_earlier_delivery() -> None:
    """Two 10 kg deliveries, 10 kg vans with two trips, fixed cost 100 a van.

    Vehicle costs alone: one van, two trips (the second delivery starts at 1800 s, 1200 s later
    than with a second van). Weighing delivery time at 600 per order-hour, the 1200 s delay costs
    200 > the second van's 100: two vans, both delivered at 600 s. The weight stays out of the
    reported cost.
    """
    t = np.array([[0, 600, 600], [600, 0, 600], [600, 600, 0]], dtype=np.int64)
    orders = (Order("a", "delivery", 1, {"kg": 10}), Order("b", "delivery", 2, {"kg": 10}))
    van = VehicleType("van", False, {"kg": 10}, 2, fixed_cost=100, max_trips=2)
    cheap = solved(RoutingProblem(t, t, (Depot("A", 0),), (van,), orders))
    assert cheap.kpis.vehicles_used == 1
    assert sorted(s.start_s for r in cheap.routes for s in r.stops) == [600, 1800]
    early = solved(RoutingProblem(t, t, (Depot("A", 0),), (van,), orders, delivery_hour_cost=600))
    assert early.kpis.vehicles_used == 2
    assert sorted(s.start_s for r in early.routes for s in r.stops) == [600, 600]
    assert early.kpis.total_cost == pytest.approx(200 + 2 * 1.2)  # fixed + 1 per km, no weight
    with pytest.raises(InputError, match="delivery_hour_cost"):
        RoutingProblem(t, t, (Depot("A", 0),), (van,), orders, delivery_hour_cost=-1)


def test_capacity_per_trip_and_as_many_trips_as_fit() -> None:
    t = np.array([[0, 600, 600], [600, 0, 600], [600, 600, 0]], dtype=np.int64)
    orders = (
        Order("a", "delivery", 1, {"kg": 10}),
        Order("b", "delivery", 2, {"kg": 10}),
        Order("c", "delivery", 1, {"kg": 10}),
    )
    van = VehicleType(
        "van", False, {"kg": 10}, 1, max_trips=None, reload_s=300, max_duration_s=4000
    )
    problem = RoutingProblem(t, t, (Depot("A", 0),), (van,), orders)
    from lastmile.routing import trips_of, vehicles_of

    # (4000 + 300) // (1200 + 300) = 2 trips fit the day: two of the three orders
    assert trips_of(problem, vehicles_of(problem)[0]) == 2
    sol = solved(problem)
    assert sol.kpis.orders_served == 2 and len(sol.routes) == 2
    assert all(max(r.load_at_start.values()) <= 10 for r in sol.routes)
    (u,) = sol.unassigned  # 30 kg to deliver, 2 trips x 10 kg
    assert (u.reason, u.binding, u.limit, u.best) == (FLEET, "capacity:kg:delivery", 20, 30)
    # a pickup at a delivered village rides back on the same trip: all three fit in two trips
    mixed = dataclasses.replace(problem, orders=(*orders[:2], Order("c", "pickup", 1, {"kg": 10})))
    assert not solved(mixed).unassigned


# --------------------------------------------------------------------------- capacity


def test_mixed_pickups_and_deliveries_on_two_dimensions_exact_optimum() -> None:
    """Cheap tour picks up first; with 90 kg of deliveries aboard that overloads kg and crates."""
    d = preferred_tour_matrix(5, [0, 1, 2, 3, 4])
    t = d // 10
    van = VehicleType("van", False, {"kg": 100, "crates": 5}, 1)
    orders = (
        Order("P1", "pickup", 1, {"kg": 50, "crates": 3}),
        Order("P2", "pickup", 2, {"kg": 10, "crates": 2}),
        Order("D1", "delivery", 3, {"kg": 60, "crates": 1}),
        Order("D2", "delivery", 4, {"kg": 30, "crates": 1}),
    )
    problem = RoutingProblem(t, d, (Depot("A", 0),), (van,), orders)
    sol = solved(problem)
    assert not sol.unassigned
    r = sol.routes[0]
    assert dict(r.load_at_start) == {"kg": 90, "crates": 2}
    assert dict(r.stops[-1].load_after) == {"kg": 60, "crates": 5}
    assert r.distance_m == brute_force_single_vehicle(problem)
    assert r.distance_m > 5000  # the cheap tour is infeasible
    assert max(s.load_after["kg"] for s in r.stops) <= 100


def test_capacity_splits_deliveries_over_two_vehicles() -> None:
    t = np.array([[0, 300, 300], [300, 0, 300], [300, 300, 0]], dtype=np.int64)
    van = VehicleType("van", False, {"kg": 100, "parcels": 10}, 2)
    orders = (
        Order("a", "delivery", 1, {"kg": 60, "parcels": 2}),
        Order("b", "delivery", 2, {"kg": 30, "parcels": 9}),
    )
    sol = solved(RoutingProblem(t, t, (Depot("A", 0),), (van,), orders))
    assert len(sol.routes) == 2 and not sol.unassigned


# --------------------------------------------------------------------------- refrigeration, depots


def test_refrigerated_order_goes_on_the_refrigerated_vehicle() -> None:
    t = np.array([[0, 600, 700], [600, 0, 200], [700, 200, 0]], dtype=np.int64)
    van = VehicleType("van", False, {"kg": 100}, 1, fixed_cost=10)
    cold = VehicleType("cold", True, {"kg": 100}, 1, fixed_cost=50)
    orders = (
        Order("tea", "pickup", 1, {"kg": 10}, requires_refrigeration=True),
        Order("box", "delivery", 2, {"kg": 10}),
    )
    sol = solved(RoutingProblem(t, t, (Depot("A", 0),), (van, cold), orders))
    assert not sol.unassigned
    by_order = {s.order_id: r.vehicle_type for r in sol.routes for s in r.stops}
    assert by_order["tea"] == "cold"
    # one refrigerated route serving both is cheapest (fixed 50 + 1.5 km)
    assert len(sol.routes) == 1
    assert sol.kpis.total_cost == pytest.approx(50 + 1.5)


def test_multi_depot_vehicles_return_home_and_orders_keep_their_depot() -> None:
    # locations on a line, 1 km apart: A=0, a1=1, a2=2, b1=3, B=4
    x = np.array([0, 1, 2, 3, 4])
    d = np.abs(x[:, None] - x[None, :]).astype(np.int64) * 1000
    t = d // 10
    van = VehicleType("van", False, {"kg": 100}, {"A": 1, "B": 1})
    orders = (
        Order("a1", "delivery", 1, {"kg": 1}),
        Order("b1", "pickup", 3, {"kg": 1}),
        Order("a2_from_B", "delivery", 2, {"kg": 1}, depot="B"),
    )
    problem = RoutingProblem(t, d, (Depot("A", 0), Depot("B", 4)), (van,), orders)
    sol = solved(problem)
    where = {s.order_id: r.depot for r in sol.routes for s in r.stops}
    assert where == {"a1": "A", "b1": "B", "a2_from_B": "B"}
    assert sol.kpis.total_distance_m == 2000 + 4000
    frames = solution_frames(problem, sol)
    assert len(frames["stops"]) == 3 and len(frames["routes"]) == 2
    assert frames["routes"]["distance_km"].sum() == pytest.approx(6.0)
    assert set(frames["stops"]["depot"]) == {"A", "B"}


def test_joint_model_chooses_the_depot_no_pre_assignment() -> None:
    """The cold pickup is nearest to A, but A's only van is full: the joint model serves it
    from B (a nearest-depot pre-assignment would leave it)."""
    x = np.array([0.0, 1.0, 1.5, 4.0])  # A=0, village 1, village 2, B=3 (km)
    d = np.rint(np.abs(x[:, None] - x[None, :]) * 1000).astype(np.int64)
    t = d * 60 // 1000  # 1 km per minute
    van = VehicleType("van", True, {"kg": 10}, {"A": 1, "B": 1}, shift_end_s=3600)
    orders = (
        Order("fixedA", "pickup", 1, {"kg": 10}, depot="A"),
        Order("cold", "pickup", 2, {"kg": 5}, max_in_vehicle_s=300),
    )
    problem = RoutingProblem(t, d, (Depot("A", 0), Depot("B", 3)), (van,), orders)
    sol = solved(problem)
    where = {s.order_id: r.depot for r in sol.routes for s in r.stops}
    assert where == {"fixedA": "A", "cold": "B"}
    assert sol.kpis.total_distance_m == 2000 + 5000
    near_only = solved(problem, RoutingOptions(1.0, depot_candidates=1))
    assert [(u.order_id, u.reason) for u in near_only.unassigned] == [("cold", SEARCH)]


# --------------------------------------------------------------------------- drop reasons


def test_every_precheck_reason() -> None:
    n = 8
    t = np.full((n, n), 600, dtype=np.int64)
    np.fill_diagonal(t, 0)
    t[0, 7] = 1500
    reach = np.ones((n, n), dtype=bool)
    reach[0, 1] = False
    van = VehicleType("van", False, {"kg": 100}, 1, shift_start_s=3600, shift_end_s=36_000)
    orders = (
        Order("far", "delivery", 1, {"kg": 1}),
        Order("frozen", "pickup", 2, {"kg": 1}, requires_refrigeration=True),
        Order("heavy", "delivery", 3, {"kg": 101}),
        Order("perishable", "pickup", 4, {"kg": 1}, service_s=300, max_in_vehicle_s=800),
        Order("too_early", "delivery", 5, {"kg": 1}, time_window=(0, 3600)),
        Order("ok", "delivery", 6, {"kg": 1}),
        Order("slow_leg", "delivery", 7, {"kg": 1}, service_s=0, max_in_vehicle_s=1400),
    )
    sol = solved(RoutingProblem(t, t, (Depot("A", 0),), (van,), orders, reachable=reach))
    assert {u.reason for u in sol.unassigned} == {INFEASIBLE}
    evidence = {u.order_id: (u.binding, u.limit, u.best, u.unit) for u in sol.unassigned}
    assert evidence == {
        "far": (REASON_UNREACHABLE, None, None, ""),
        "frozen": (REASON_REFRIGERATION, None, None, ""),
        "heavy": (REASON_CAPACITY, 100, 101, "kg"),
        "perishable": (REASON_COLD_CHAIN, 800, 600 + 300, "s"),  # leg back + service
        "too_early": ("time_window", 3600, 3600 + 600, "s"),  # shift start + leg
        "slow_leg": (REASON_COLD_CHAIN, 1400, 1500, "s"),
    }
    assert sol.unassigned_by_reason() == {INFEASIBLE: 6, FLEET: 0, SEARCH: 0}
    assert stop_ids(sol) == [["ok"]]
    assert sol.kpis.unassigned == 6


def test_negative_sentinel_marks_unreachable_and_duration_limit_drops() -> None:
    t = np.array([[0, -1, 600], [-1, 0, 600], [600, 600, 0]], dtype=np.int64)
    van = VehicleType("van", False, {"kg": 10}, 1, max_duration_s=1000)
    orders = (Order("cut_off", "delivery", 1, {"kg": 1}), Order("long", "delivery", 2, {"kg": 1}))
    sol = solved(RoutingProblem(t, t, (Depot("A", 0),), (van,), orders))
    assert {u.order_id: (u.reason, u.binding, u.limit, u.best) for u in sol.unassigned} == {
        "cut_off": (INFEASIBLE, REASON_UNREACHABLE, None, None),
        "long": (INFEASIBLE, "max_duration", 1000, 1200),
    }
    assert sol.routes == ()


def test_fleet_short_by_vehicle_time_and_by_capacity() -> None:
    # villages 1..3: 1000 s from the depot, 5000 s apart; each order needs >= 1000 + 1000 s of
    # vehicle time; one van of 3000 s: at most one fits, so at least two must go unserved
    t = np.full((4, 4), 5000, dtype=np.int64)
    np.fill_diagonal(t, 0)
    t[0, 1:] = t[1:, 0] = 1000
    van = VehicleType("van", False, {"kg": 100}, 1, max_duration_s=3000)
    orders = tuple(Order(f"o{i}", "delivery", i, {"kg": 1}, service_s=1000) for i in (1, 2, 3))
    sol = solved(RoutingProblem(t, t, (Depot("A", 0),), (van,), orders))
    assert sol.kpis.orders_served == 1
    assert sol.unassigned_by_reason() == {INFEASIBLE: 0, FLEET: 2, SEARCH: 0}
    assert {u.binding for u in sol.unassigned} == {"vehicle_time"}
    assert sol.fleet_bound is not None
    assert (sol.fleet_bound.short, sol.fleet_bound.needed, sol.fleet_bound.available) == (
        2,
        6000,
        3000,
    )
    # bb17 D6: which vehicles the bound is about, in the evidence and in kpis.json
    (vehicle,) = sol.fleet_bound.vehicles
    assert sol.fleet_bound.as_dict()["group_vehicles"] == [vehicle]
    assert sol.fleet_bound.as_dict()["group_depots"] == ["A"]
    assert all("the 1 vehicle(s) at depot A may serve" in u.detail for u in sol.unassigned)
    # bb23 D13: before a window's end. Orders due by 08:00, 1000 s from the depot and 5000 s
    # apart; one van from 07:00 with the whole day: by the day's time all fit, but before 08:00
    # it has 3600 s, and each order needs >= 1000 s of it: at most three of five fit
    early = tuple(
        Order(f"e{i}", "delivery", i, {"kg": 1}, time_window=(0, 8 * 3600)) for i in range(1, 6)
    )
    t6 = np.full((6, 6), 5000, dtype=np.int64)
    np.fill_diagonal(t6, 0)
    t6[0, 1:] = t6[1:, 0] = 1000
    day_van = VehicleType("van", False, {"kg": 100}, 1, shift_start_s=7 * 3600)
    sol = solved(RoutingProblem(t6, t6, (Depot("A", 0),), (day_van,), early))
    assert sol.kpis.orders_served == 1
    assert sol.fleet_bound is not None
    assert (sol.fleet_bound.resource, sol.fleet_bound.short) == ("vehicle_time_by_08:00", 2)
    assert (sol.fleet_bound.needed, sol.fleet_bound.available) == (5000, 3600)
    fleet = [u for u in sol.unassigned if u.reason == FLEET]
    assert len(fleet) == 2 and all(u.unit == "s" and u.limit == 3600 for u in fleet)
    assert sol.unassigned_by_reason() == {INFEASIBLE: 0, FLEET: 2, SEARCH: 2}
    left = [u for u in sol.unassigned if u.reason == SEARCH]
    assert all(
        "the fleet bound (vehicle_time_by_08:00) proves 2 of its group of 5 short, and this order "
        "is beyond them" in u.detail
        for u in left
    )
    # capacity: two 60 kg deliveries, one 100 kg van with all the time it needs
    roomy = VehicleType("van", False, {"kg": 100}, 1)
    heavy = (Order("h1", "delivery", 1, {"kg": 60}), Order("h2", "delivery", 2, {"kg": 60}))
    sol = solved(RoutingProblem(t, t, (Depot("A", 0),), (roomy,), heavy))
    (u,) = sol.unassigned
    assert (u.reason, u.binding, u.limit, u.best, u.unit) == (
        FLEET,
        "capacity:kg:delivery",
        100,
        120,
        "kg",
    )


def test_search_reason_and_what_ended_the_search() -> None:
    t = np.array([[0, 600, 600], [600, 0, 600], [600, 600, 0]], dtype=np.int64)
    van = VehicleType("van", False, {"kg": 100}, 2)
    orders = (Order("a", "delivery", 1, {"kg": 1}), Order("b", "pickup", 2, {"kg": 1}))
    problem = RoutingProblem(t, t, (Depot("A", 0),), (van,), orders)
    # the first solution serves nothing and the search may not improve it: both left by search
    idle = solved(
        problem, RoutingOptions(5.0, first_solution_strategy="ALL_UNPERFORMED", solution_limit=1)
    )
    assert idle.unassigned_by_reason() == {INFEASIBLE: 0, FLEET: 0, SEARCH: 2}
    assert idle.search_ended_by == "solution_limit" and idle.reproducible
    assert idle.solutions == 1 and idle.status.startswith("ROUTING_")
    assert all("servable alone" in u.detail and u.best == 1200 for u in idle.unassigned)
    full = solved(problem, RoutingOptions(5.0, solution_limit=3))
    assert not full.unassigned and full.search_ended_by in ("solution_limit", "local_optimum")
    capped = solved(problem, RoutingOptions(0.3))  # no solution limit: runs to the cap
    assert capped.search_ended_by == "time_cap" and not capped.reproducible


def test_iterated_and_guided_local_search_both_reach_the_optimum() -> None:
    x = np.array([0, 3, 1, 4, 2])
    d = (np.abs(x[:, None] - x[None, :]) * 1000).astype(np.int64)
    van = VehicleType("van", False, {"kg": 10}, 2)
    orders = tuple(Order(f"o{i}", "delivery", i, {"kg": 5}) for i in range(1, 5))
    problem = RoutingProblem(d, d, (Depot("A", 0),), (van,), orders)
    ils = solved(problem, RoutingOptions(5.0, solution_limit=200))
    assert ils.search_ended_by == "solution_limit" and ils.status == "ROUTING_SUCCESS"
    gls = solved(problem, RoutingOptions(5.0, solution_limit=200, iterated_local_search=False))
    for sol in (ils, gls):
        assert not sol.unassigned
        # two orders per van along a line: the far pair (3, 4 km) and the near pair (1, 2 km)
        assert sol.kpis.total_distance_m == 2 * 4000 + 2 * 2000
    again = solved(problem, RoutingOptions(5.0, solution_limit=200))
    assert [r.stops for r in again.routes] == [r.stops for r in ils.routes]


@pytest.mark.parametrize("field", ["ruin_visits", "ruin_max_sequence"])
@pytest.mark.parametrize("value", [0, -3, 2.5, True])
def test_ruin_options_are_checked(field: str, value: object) -> None:
    with pytest.raises(InputError, match=field):
        RoutingOptions(1.0, **{field: value})  # type: ignore[arg-type]


def test_unreachable_between_villages_is_never_driven() -> None:
    t = np.array([[0, 100, 100], [100, 0, 1], [100, 1, 0]], dtype=np.int64)
    reach = np.ones((3, 3), dtype=bool)
    reach[1, 2] = reach[2, 1] = False
    van = VehicleType("van", False, {"kg": 10}, 2, fixed_cost=0)
    orders = (Order("a", "delivery", 1, {"kg": 1}), Order("b", "delivery", 2, {"kg": 1}))
    sol = solved(RoutingProblem(t, t, (Depot("A", 0),), (van,), orders, reachable=reach))
    assert sorted(stop_ids(sol)) == [["a"], ["b"]]


# --------------------------------------------------------------------------- bad input


def _tiny(orders: Sequence[Order], t: np.ndarray | None = None) -> RoutingProblem:
    m = np.array([[0, 60], [60, 0]], dtype=np.int64) if t is None else t
    return RoutingProblem(
        m, m, (Depot("A", 0),), (VehicleType("van", False, {"kg": 5}),), tuple(orders)
    )


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda: Order("o-17", "delivery", 1, {"kg": -3}), "o-17"),
        (lambda: Order("o-18", "drop-off", 1, {"kg": 3}), "o-18"),  # type: ignore[arg-type]
        (lambda: Order("o-19", "pickup", 1, {"kg": 1}, time_window=(500, 100)), "o-19"),
        (lambda: _tiny([Order("o-20", "pickup", 9, {"kg": 1})]), "o-20"),
        (lambda: _tiny([Order("o-21", "pickup", 1, {"kg": 1}, depot="Z")]), "o-21"),
        (lambda: _tiny([Order("o-22", "pickup", 1, {"litre": 1})]), "o-22"),
        (lambda: _tiny([Order("o-23", "pickup", 1), Order("o-23", "delivery", 1)]), "o-23"),
        (lambda: _tiny([], t=np.array([[0.0, 1.5], [1.5, 0.0]])), "integers"),
        (lambda: _tiny([], t=np.zeros((2, 3), dtype=np.int64)), "square"),
        (lambda: RoutingOptions(time_limit_s=0), "time_limit_s"),
        (lambda: RoutingOptions(1.0, first_solution_strategy="FASTEST"), "FASTEST"),
        # bb23 D9: HH:MM in the lower-level API got "'<=' not supported between int and str"
        (
            lambda: Order("o-24", "delivery", 1, {"kg": 1}, time_window=("08:00", "12:00")),  # type: ignore[arg-type]
            r"order 'o-24': time window \('08:00', '12:00'\) is not two whole numbers of seconds",
        ),
        (lambda: solve({}, RoutingOptions(1.0)), "solve: problem is a dict, not a RoutingProblem"),  # type: ignore[arg-type]
    ],
)
def test_bad_input_raises_input_error_naming_it(make: object, needle: str) -> None:
    with pytest.raises(InputError, match=needle):
        make()  # type: ignore[operator]


def test_a_time_window_of_whole_floats_is_whole_seconds() -> None:
    """bb24 D8: a pandas window column with an empty cell holds floats (28800.0)."""
    o = Order("f", "delivery", 1, {"kg": 1}, time_window=(0.0, 28800.0))  # type: ignore[arg-type]
    assert o.time_window == (0, 28800) and all(type(t) is int for t in o.time_window)
    with pytest.raises(InputError, match="is not two whole numbers of seconds"):
        Order("g", "delivery", 1, {"kg": 1}, time_window=(0.5, 28800.0))  # type: ignore[arg-type]


def test_several_orders_at_one_village_are_separate_stops() -> None:
    t = np.array([[0, 900], [900, 0]], dtype=np.int64)
    van = VehicleType("van", False, {"kg": 100}, 1)
    orders = (
        Order("v-drop", "delivery", 1, {"kg": 20}, service_s=120),
        Order("v-collect", "pickup", 1, {"kg": 30}, service_s=60),
        Order("v-drop2", "delivery", 1, {"kg": 5}, service_s=0),
    )
    sol = solved(RoutingProblem(t, t * 10, (Depot("A", 0),), (van,), orders))
    (route,) = sol.routes
    assert len(route.stops) == 3 and route.distance_m == 18_000
    assert route.duration_s == 900 + 120 + 60 + 0 + 900
    assert dict(route.load_at_start) == {"kg": 25}
    assert dict(route.stops[-1].load_after) == {"kg": 30}


def test_cold_chain_order_without_depot_goes_to_the_nearest_depot() -> None:
    x = np.array([0, 1, 9, 10])  # A=0, village 1 near A, village 2 near B, B=3 (km)
    d = np.abs(x[:, None] - x[None, :]).astype(np.int64) * 1000
    t = d * 60 // 1000  # 1 km per minute
    van = VehicleType("van", True, {"kg": 100}, {"A": 1, "B": 1})
    orders = (
        Order("tea", "pickup", 2, {"kg": 5}, max_in_vehicle_s=300, service_s=60),
        Order("rice", "delivery", 1, {"kg": 5}, max_in_vehicle_s=300),
        Order("mail", "delivery", 2, {"kg": 5}),
    )
    sol = solved(RoutingProblem(t, d, (Depot("A", 0), Depot("B", 3)), (van,), orders))
    where = {s.order_id: r.depot for r in sol.routes for s in r.stops}
    assert where == {"tea": "B", "rice": "A", "mail": "B"}
    ivt = {s.order_id: s.in_vehicle_s for r in sol.routes for s in r.stops}
    assert ivt["tea"] == 60 + 60 and ivt["rice"] == 60  # service + 1 km; 1 km


# --------------------------------------------------------------------------- HH:MM windows


def _window_orders(
    small_cache: Path, tmp_path: Path, windows: Sequence[tuple[object, object]]
) -> Path:
    from lastmile.plan import prepare
    from lastmile.scenario import load_scenario
    from tests.conftest import TEST_SCALE

    scenario = load_scenario(network="synthetic", standin_scale=TEST_SCALE)
    inputs = prepare(scenario, cache=small_cache)
    rows = [
        {
            "id": f"W{i}",
            "kind": "delivery",
            "village": r.id,
            "lon": r.lon,
            "lat": r.lat,
            "kg": 10,
            "parcels": 2,
            "product_class": "parcel",
            "service_min": 5,
            "tw_start": a,
            "tw_end": b,
        }
        for i, (r, (a, b)) in enumerate(
            zip(inputs.villages.iloc[: len(windows)].itertuples(), windows, strict=True)
        )
    ]
    tmp_path.mkdir(parents=True, exist_ok=True)
    f = tmp_path / "orders.csv"
    pd.DataFrame(rows).to_csv(f, index=False)
    return f


WINDOWS = (("08:00", "09:30"), ("10:15", "11:00"), (600, 660))  # HH:MM, HH:MM, minutes
WINDOWS_S = {"W0": (28_800, 34_200), "W1": (36_900, 39_600), "W2": (36_000, 39_600)}


def test_hhmm_time_windows_through_plan_routes(small_cache: Path, tmp_path: Path) -> None:
    from lastmile.plan import _route_kpis, baseline_depots, plan_routes, prepare
    from lastmile.scenario import load_scenario
    from tests.conftest import TEST_SCALE

    f = _window_orders(small_cache, tmp_path, WINDOWS)
    inputs = prepare(
        load_scenario(
            network="synthetic", standin_scale=TEST_SCALE, orders=str(f), routing_time_limit_s=10.0
        ),
        cache=small_cache,
    )
    assert (
        dict(
            zip(
                inputs.orders["id"],
                zip(inputs.orders["tw_start_s"], inputs.orders["tw_end_s"], strict=True),
                strict=True,
            )
        )
        == WINDOWS_S
    )
    rp = plan_routes(inputs, baseline_depots(inputs), "baseline")
    assert rp.validation.ok, rp.validation.summary()
    assert {o.id: o.time_window for o in rp.problem.orders} == WINDOWS_S
    starts = {s.order_id: s.start_s for r in rp.solution.routes for s in r.stops}
    assert set(starts) == set(WINDOWS_S)
    assert all(WINDOWS_S[k][0] <= v <= WINDOWS_S[k][1] for k, v in starts.items())
    kpis = _route_kpis(rp)
    assert kpis["unassigned_by_reason"] == {"infeasible": 0, "fleet": 0, "search": 0}
    assert kpis["solver_status"].startswith("ROUTING_") and kpis["reproducible"]
    assert kpis["search_ended_by"] in ("solution_limit", "local_optimum")


def test_hhmm_time_windows_through_the_cli(
    small_cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from lastmile.cli import main
    from tests.conftest import TEST_SCALE

    f = _window_orders(small_cache, tmp_path, WINDOWS)
    common = [
        "--network",
        "synthetic",
        "--standin-scale",
        str(TEST_SCALE),
        "--cache-dir",
        str(small_cache),
        "--routing-time-limit",
        "10",
    ]
    out = tmp_path / "route"
    assert main(["route", *common, "--orders", str(f), "--out", str(out)]) == 0
    stops = pd.read_csv(out / "stops.csv")
    # from the centre (vans ready at the 07:00 cut-off) every window can be met
    base = stops[stops["scenario"] == "baseline"].set_index("order_id")
    assert set(base.index) == set(WINDOWS_S)
    assert all(WINDOWS_S[k][0] <= base.loc[k, "start_s"] <= WINDOWS_S[k][1] for k in WINDOWS_S)
    # a hub's vans leave after its trunk arrival + handling: a window that closes before they
    # can arrive is reported infeasible with the window as the binding limit, never violated
    plan = stops[stops["scenario"] == "plan"].set_index("order_id")
    un = pd.read_csv(out / "unassigned.csv")
    un = un[un["scenario"] == "plan"].set_index("order_id")
    assert set(plan.index) | set(un.index) == set(WINDOWS_S) and plan.index.size >= 2
    assert all(WINDOWS_S[k][0] <= plan.loc[k, "start_s"] <= WINDOWS_S[k][1] for k in plan.index)
    for k in un.index:
        assert (un.loc[k, "reason"], un.loc[k, "binding"]) == ("infeasible", "time_window")
        assert un.loc[k, "best"] > un.loc[k, "limit"] == WINDOWS_S[k][1]
    bad = _window_orders(small_cache, tmp_path / "bad", (("08:75", "09:00"),))
    capsys.readouterr()
    assert main(["route", *common, "--orders", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "W0" in err and "'08:75' is not a time" in err and "Traceback" not in err


# --------------------------------------------------------------------------- fleet settings


FLEET_TOML = """
[[fleet]]
id = "van"
capacity_kg = 800
capacity_parcels = 100
count_per_depot = 1
{extra}
"""


@pytest.mark.parametrize(
    ("extra", "trips", "reload"),
    [
        ("", 1, 0),
        ('max_trips = "fit"\nreload_min = 20', None, 1200),
        ("max_trips = 3\nreload_min = 7.5", 3, 450),
    ],
)
def test_fleet_trips_and_reload_from_the_scenario(
    tmp_path: Path, extra: str, trips: int | None, reload: int
) -> None:
    from lastmile.scenario import load_scenario

    f = tmp_path / "s.toml"
    f.write_text(FLEET_TOML.format(extra=extra), encoding="utf-8")
    (van,) = load_scenario(f).region.fleet
    assert (van.max_trips, van.reload_s) == (trips, reload)
    # the region's fleet entries are the routing vehicle types, built once by the parser
    assert isinstance(van, VehicleType) and dict(van.capacity) == {"kg": 800, "parcels": 100}
    shift = (van.count_at("any depot"), van.shift_start_s, van.duration_limit_s)
    assert shift == (1, 7 * 3600, 12 * 3600)


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        ("max_trips = 0", "max_trips = 0"),
        ('max_trips = "many"', "max_trips = 'many'"),
        ("reload_min = -5", "reload_min = -5"),
    ],
)
def test_bad_fleet_trip_settings_name_the_key(tmp_path: Path, extra: str, needle: str) -> None:
    from lastmile.scenario import load_scenario

    f = tmp_path / "s.toml"
    f.write_text(FLEET_TOML.format(extra=extra), encoding="utf-8")
    with pytest.raises(InputError, match=needle):
        load_scenario(f)


def test_routing_processes_setting_is_checked() -> None:
    from lastmile.scenario import load_scenario

    assert load_scenario(routing_processes=1).plan.routing_processes == 1
    with pytest.raises(InputError, match="routing_processes"):
        load_scenario(routing_processes=3)
    with pytest.raises(InputError, match="max_trips"):
        VehicleType("van", False, {"kg": 1}, max_trips=0)


def test_single_process_plan_equals_the_forked_one(small_cache: Path) -> None:
    from lastmile.plan import run_plan
    from lastmile.report import manifest
    from lastmile.scenario import load_scenario
    from tests.conftest import TEST_SCALE

    def routing(processes: int) -> tuple[dict[str, Any], dict[str, Any]]:
        sc = load_scenario(
            network="synthetic",
            standin_scale=TEST_SCALE,
            routing_processes=processes,
            routing_time_limit_s=120.0,
        )
        result = run_plan(sc, cache=small_cache)
        return result.kpis()["routing"], manifest(result)["routing_solver"]

    one, solver = routing(1)
    assert one == routing(2)[0]
    assert set(one["plan"]["unassigned_by_reason"]) == {"infeasible", "fleet", "search"}
    for name in ("baseline", "plan"):
        assert solver[name]["search_ended_by"] == one[name]["search_ended_by"] == "solution_limit"
        assert solver[name]["reproducible"] and solver[name]["status"] == one[name]["solver_status"]


def test_delivery_cold_chain_per_trip_with_and_without_time_windows() -> None:
    """Two deliveries 1800 s from the depot and from each other, limit 3000 s, one van, two trips.

    Together the second would ride 3600 s: one trip each (the trip clock restarts at the depot).
    Without time windows the limit is a bound on the trip clock; with (wide-open) windows it is a
    pickup-to-delivery limit on the time dimension. Both give the same answer, and one second
    under the shortest ride makes both deliveries infeasible alone.
    """
    t = np.array([[0, 1800, 1800], [1800, 0, 1800], [1800, 1800, 0]], dtype=np.int64)
    orders = (
        Order("a", "delivery", 1, {"kg": 5}, service_s=0, max_in_vehicle_s=3000),
        Order("b", "delivery", 2, {"kg": 5}, service_s=0, max_in_vehicle_s=3000),
    )
    van = VehicleType("van", True, {"kg": 50}, 1, max_trips=2, reload_s=600)
    windows = tuple(dataclasses.replace(o, time_window=(0, 86_400)) for o in orders)
    for case in (orders, windows):
        sol = solved(RoutingProblem(t, t, (Depot("A", 0),), (van,), case))
        assert not sol.unassigned
        assert sorted(len(r.stops) for r in sol.routes) == [1, 1]
        assert {s.in_vehicle_s for r in sol.routes for s in r.stops} == {1800}
    tight = tuple(dataclasses.replace(o, max_in_vehicle_s=1799) for o in orders)
    none = solved(RoutingProblem(t, t, (Depot("A", 0),), (van,), tight))
    assert {(u.order_id, u.reason) for u in none.unassigned} == {
        ("a", INFEASIBLE),
        ("b", INFEASIBLE),
    }
    # a window that makes the van wait at b counts in b's time in vehicle: still one trip each
    late = (orders[0], dataclasses.replace(orders[1], time_window=(5000, 86_400)))
    sol = solved(RoutingProblem(t, t, (Depot("A", 0),), (van,), late))
    assert not sol.unassigned and sorted(len(r.stops) for r in sol.routes) == [1, 1]


@pytest.mark.parametrize("with_windows", [False, True])
def test_every_transit_evaluator_gives_the_same_routes(
    monkeypatch: pytest.MonkeyPatch, with_windows: bool
) -> None:
    """The model's callback cache, the per-index Python evaluator and OR-Tools' transit matrix
    must be the same travel times: identical routes, validator-checked, on a multi-trip day with
    pickups, cold-chain limits and (in one case) time windows."""
    import lastmile.routing as routing_module

    rng = np.random.default_rng(7)
    xy = rng.uniform(0, 20_000, size=(13, 2))
    d = np.rint(np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))).astype(np.int64)
    t = d // 10  # 36 km/h
    orders = tuple(
        Order(
            f"o{i}",
            "pickup" if i % 4 == 0 else "delivery",
            i,
            {"kg": 40 + 10 * (i % 3)},
            service_s=120,
            max_in_vehicle_s=5400 if i % 3 == 0 else None,
            time_window=(0, 20_000) if with_windows and i % 5 == 0 else None,
        )
        for i in range(1, 13)
    )
    van = VehicleType("van", True, {"kg": 200}, 2, max_trips=3, reload_s=600)
    problem = RoutingProblem(t, d, (Depot("A", 0),), (van,), orders)
    routes = []
    for evaluator in ("cache", "python", "matrix", "auto"):
        monkeypatch.setattr(routing_module, "_TRANSIT_EVALUATOR", evaluator)
        sol = solved(problem, RoutingOptions(30.0, solution_limit=60))
        assert sol.search_ended_by == "solution_limit" and not sol.unassigned
        routes.append([(r.vehicle_id, r.trip, r.stops) for r in sol.routes])
    assert routes[1:] == routes[:1] * 3


def test_transit_evaluator_follows_the_model_shape() -> None:
    """Cache on depot-sized models with long routes; Python evaluator on VRPTW-like ones."""
    from lastmile.routing import _caches_transits

    # a county depot model: 71 orders with their depot nodes, one depot, 4 vehicles
    assert _caches_transits(indices=147, nodes=143, vehicles=4)
    # Solomon 100 (25 vehicles) and Gehring-Homberger 200 (50 vehicles)
    assert not _caches_transits(indices=151, nodes=101, vehicles=25)
    assert not _caches_transits(indices=301, nodes=201, vehicles=50)
    # the joint model of a whole county day: thousands of indices
    assert not _caches_transits(indices=2100, nodes=2000, vehicles=44)


def test_infeasible_evidence_names_the_shift_without_a_window_and_both_depots_of_a_pin() -> None:
    """bb17 D4: an order with no time window whose direct trip ends after the shift was
    reported binding ``time_window`` ("after the window's end 09:30": the shift end). bb17 D2:
    an order pinned to its hub that the centre cannot serve either gave the hub's figure alone
    (a 10:56 start where the centre's vans would start at 08:47)."""
    from lastmile.routing import infeasible_from, precheck

    # depots: hub H (node 0), centre C (node 1); villages X (2), W (3)
    t = np.array(
        [[0, 900, 2000, 1000], [900, 0, 1500, 2000], [2000, 1500, 0, 600], [1000, 2000, 600, 0]],
        dtype=np.int64,
    )
    hub_van = VehicleType("van@H", True, {"kg": 50}, {"H": 1}, shift_start_s=32_400,
                          shift_end_s=34_200)  # fmt: skip
    centre_van = VehicleType("van@C", True, {"kg": 50}, {"C": 1}, shift_start_s=25_200,
                             shift_end_s=34_200)  # fmt: skip
    orders = (
        Order("X", "delivery", 2, {"kg": 5}, service_s=300, depot="H"),  # no window
        Order("W", "delivery", 3, {"kg": 5}, time_window=(0, 27_000), depot="H"),
    )
    problem = RoutingProblem(t, t, (Depot("H", 0), Depot("C", 1)), (hub_van, centre_van), orders)
    _, dropped = precheck(problem)
    why = {u.order_id: u for u in dropped}
    assert why["X"].binding == "shift_end" and "after the shift end 09:30" in why["X"].detail
    assert (why["X"].limit, why["X"].best) == (34_200, 32_400 + 2000 + 300 + 2000)
    assert why["W"].binding == "time_window" and why["W"].best == 32_400 + 1000
    # over the hub and the centre: the centre's vans start W at 07:00 + 2000 s = 07:33
    both = infeasible_from(problem, "W", ("H", "C"))
    assert (both.reason, both.binding, both.best) == (INFEASIBLE, "time_window", 25_200 + 2000)
    assert "07:33 (from depot C)" in both.detail
    with pytest.raises(ValueError, match="can be served alone"):
        infeasible_from(problem, "X", ("H", "C"))  # the centre serves X


def test_a_compacted_problem_is_the_same_model() -> None:
    """``compacted`` keeps the locations the depot and orders use (an order pinned to the only
    depot unpinned): the search finds the same routes, ``relocated`` puts them back, and the same
    model embedded at other locations of a larger matrix compacts to an equal problem."""
    rng = np.random.default_rng(11)
    xy = rng.uniform(0, 3000, (12, 2))
    t = np.rint(np.hypot(*(xy[:, None, :] - xy[None, :, :]).T)).astype(np.int64)
    van = VehicleType("van", False, {"kg": 4}, 2, max_trips=None, reload_s=300, cost_per_hour=5)
    orders = (
        Order("a", "delivery", 5, {"kg": 2}, service_s=120, max_in_vehicle_s=2400),
        Order("b", "delivery", 7, {"kg": 1}, depot="D"),
        Order("c", "pickup", 7, {"kg": 2}, max_in_vehicle_s=3000),
        Order("d", "delivery", 9, {"kg": 3}),
        Order("e", "pickup", 11, {"kg": 1}),
        Order("f", "delivery", 2, {"kg": 2}),
    )
    problem = RoutingProblem(t, t, (Depot("D", 3),), (van,), orders)
    options = RoutingOptions(60.0, solution_limit=40)
    model, old = compacted(problem)
    assert old.tolist() == [3, 5, 7, 9, 11, 2] and model.time_s.shape == (6, 6)
    assert model.orders[1].depot is None and model.orders[1].location == 2
    direct = solved(problem, options)
    assert direct.search_ended_by == "solution_limit" and len(direct.routes) >= 2
    back = relocated(solve(model, options), old)
    assert back.routes == direct.routes and back.unassigned == direct.unassigned
    assert validate_routes(problem, back).ok
    # the same model at other locations: index 3 -> 10, 5 -> 0 ...
    moved = np.array([10, 0, 4, 1, 6, 8], dtype=np.int64)
    big = np.full((14, 14), 10**6, dtype=np.int64)
    big[np.ix_(moved, moved)] = t[np.ix_(old, old)]
    np.fill_diagonal(big, 0)
    where = dict(zip(old.tolist(), moved.tolist(), strict=True))
    elsewhere = RoutingProblem(
        big,
        big,
        (Depot("D", 10),),
        (van,),
        tuple(dataclasses.replace(o, location=where[o.location], depot=None) for o in orders),
    )
    assert pickle.dumps(compacted(elsewhere)[0]) == pickle.dumps(model)

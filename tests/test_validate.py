"""The independent validator: accepts a correct hand-made solution, catches hand-broken ones."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from collections.abc import Mapping, Sequence

import numpy as np
import pytest

from lastmile.errors import InputError
from lastmile.routing import (
    Depot,
    Kpis,
    Order,
    RoutingProblem,
    RoutingSolution,
    Unassigned,
    VehicleType,
    compute_kpis,
    route_schedule,
    vehicles_of,
)
from lastmile.validate import validate_routes


def problem() -> RoutingProblem:
    """Depot A at 0, villages 1..4 on a ring, every leg 600 s and 1 km; one van, one cold van."""
    n = 5
    t = np.full((n, n), 600, dtype=np.int64)
    np.fill_diagonal(t, 0)
    van = VehicleType(
        "van",
        False,
        {"kg": 100, "crates": 4},
        1,
        shift_start_s=0,
        shift_end_s=20_000,
        max_duration_s=10_000,
        cost_per_km=2.0,
    )
    cold = VehicleType(
        "cold", True, {"kg": 100, "crates": 4}, 1, fixed_cost=30.0, cost_per_hour=12.0
    )
    orders = (
        Order("d1", "delivery", 1, {"kg": 60, "crates": 1}, service_s=60, max_in_vehicle_s=1300),
        Order("d2", "delivery", 2, {"kg": 30, "crates": 1}, time_window=(1000, 5000)),
        Order("p1", "pickup", 3, {"kg": 50, "crates": 2}, service_s=30, max_in_vehicle_s=1300),
        Order("p2", "pickup", 4, {"kg": 20, "crates": 1}, requires_refrigeration=True),
    )
    return RoutingProblem(t, t * 10 // 6, (Depot("A", 0),), (van, cold), orders)


def make_solution(
    p: RoutingProblem,
    plan: Mapping[str, Sequence[str]],
    departures: Mapping[str, int] | None = None,
    unassigned: Sequence[str] = (),
    reason: str = "search",
) -> RoutingSolution:
    """Earliest-start schedule of hand-chosen sequences (:func:`route_schedule`).

    The KPIs are :func:`compute_kpis`' (the solver's, from the reported routes), not the
    validator's: the validator's KPI check compares two computations, and the tests below hold
    both to answers worked out by hand.
    """
    orders = {o.id: o for o in p.orders}
    vehicles = {v.id: v for v in vehicles_of(p)}
    routes = [
        route_schedule(p, vehicles[vid], [orders[i] for i in seq], (departures or {}).get(vid))
        for vid, seq in plan.items()
    ]
    return RoutingSolution(
        tuple(routes),
        tuple(Unassigned(u, reason) for u in unassigned),
        compute_kpis(p, routes, len(unassigned)),
        "hand-made",
        0.0,
    )


def assert_kpis(actual: Kpis, expected: Kpis) -> None:
    """Field by field, floats to 1e-9."""
    for name in Kpis.__dataclass_fields__:
        assert getattr(actual, name) == pytest.approx(getattr(expected, name), rel=1e-9), name


GOOD = {"A/van/1": ["d1", "d2", "p1"], "A/cold/1": ["p2"]}


def test_correct_hand_made_solution_is_valid_and_kpis_recomputed() -> None:
    p = problem()
    sol = make_solution(p, GOOD)
    rep = validate_routes(p, sol)
    assert rep.ok, rep.summary()
    # van: 0-1-2-3-0 = 4 legs of 600 s and 1 km; d1 starts 600, leaves 660; d2 arrives 1260
    # (inside its window 1000..5000, no service); p1 arrives 1860, leaves 1890; back 2490.
    # cold: 0-4-0, p2 at 600, back 1200.
    van = sol.routes[0]
    assert [(s.order_id, s.arrival_s, s.start_s, s.departure_s) for s in van.stops] == [
        ("d1", 600, 600, 660),
        ("d2", 1260, 1260, 1260),
        ("p1", 1860, 1860, 1890),
    ]
    assert (van.departure_s, van.arrival_s, van.distance_m) == (0, 2490, 4000)
    # loads: leaves with d1 + d2 (90 kg, 2 crates), -60/-1, -30/-1, +50/+2
    assert dict(van.load_at_start) == {"kg": 90, "crates": 2}
    assert [dict(s.load_after) for s in van.stops] == [
        {"kg": 30, "crates": 1},
        {"kg": 0, "crates": 0},
        {"kg": 50, "crates": 2},
    ]
    # in vehicle: d1 660 (0 .. end of service), d2 1260, p1 2490 - 1860 = 630, p2 1200 - 600
    # = 600; limits only on d1 and p1 (1300 s), both kept
    expected = Kpis(
        vehicles_used=2,
        orders_served=4,
        unassigned=0,
        total_distance_m=6000,
        total_km=6.0,
        total_duration_s=2490 + 1200,
        vehicle_hours=3690 / 3600,
        mean_in_vehicle_s=(660 + 1260 + 630 + 600) / 4,
        max_in_vehicle_s=1260,
        cold_chain_compliance=1.0,
        # van: 2.0 per km, 4 km; cold: fixed 30.0, 1.0 per km (default) x 2, 12.0 per hour x 1200 s
        total_cost=2.0 * 4 + 30.0 + 1.0 * 2 + 12.0 * 1200 / 3600,
    )
    assert_kpis(sol.kpis, expected)
    assert_kpis(rep.kpis, expected)


def test_tampered_arrival_is_caught() -> None:
    p = problem()
    sol = make_solution(p, GOOD)
    r = sol.routes[0]
    stops = list(r.stops)
    stops[1] = dataclasses.replace(stops[1], arrival_s=stops[1].arrival_s - 100)
    bad = dataclasses.replace(
        sol, routes=(dataclasses.replace(r, stops=tuple(stops)), *sol.routes[1:])
    )
    rep = validate_routes(p, bad)
    assert "time" in rep.rules()
    assert any(v.order_id == "d2" and v.vehicle_id == "A/van/1" for v in rep.violations)


def test_overload_is_caught() -> None:
    p = problem()
    # all four pickups/deliveries on the cold van: p1 + p2 pickups before deliveries
    sol = make_solution(p, {"A/cold/1": ["p1", "p2", "d1", "d2"]})
    rep = validate_routes(p, sol)
    assert "capacity" in rep.rules()
    over = [v for v in rep.violations if v.rule == "capacity"]
    assert over[0].order_id == "p1" and "kg" in over[0].message  # 90 + 50 kg > 100
    assert any("crates" in v.message for v in over)  # 2 + 2 + 1 > 4 after p2


def test_in_vehicle_overrun_is_caught() -> None:
    p = problem()
    # p1 first: its produce rides 3 more legs (> 1300 s); d1 last: delivered after 2400 s
    sol = make_solution(p, {"A/van/1": ["p1", "d2", "d1"], "A/cold/1": ["p2"]})
    rep = validate_routes(p, sol)
    cold = {v.order_id for v in rep.violations if v.rule == "cold chain"}
    assert cold == {"p1", "d1"}
    # van: p1 at 600 (leaves 630), d2 at 1230, d1 at 1830 (leaves 1890), back 2490; p2 as in GOOD
    # in vehicle: p1 2490 - 600 = 1890, d2 1230, d1 1890, p2 600; both limited orders broken
    expected = Kpis(
        vehicles_used=2,
        orders_served=4,
        unassigned=0,
        total_distance_m=6000,
        total_km=6.0,
        total_duration_s=2490 + 1200,
        vehicle_hours=3690 / 3600,
        mean_in_vehicle_s=(1890 + 1230 + 1890 + 600) / 4,
        max_in_vehicle_s=1890,
        cold_chain_compliance=0.0,
        total_cost=2.0 * 4 + 30.0 + 1.0 * 2 + 12.0 * 1200 / 3600,
    )
    assert_kpis(sol.kpis, expected)
    assert_kpis(rep.kpis, expected)


def test_missing_and_duplicated_orders_are_caught() -> None:
    p = problem()
    missing = make_solution(p, {"A/van/1": ["d1", "d2", "p1"]})
    rep = validate_routes(p, missing)
    assert [(v.rule, v.order_id) for v in rep.violations] == [("order", "p2")]
    ok = make_solution(p, {"A/van/1": ["d1", "d2", "p1"]}, unassigned=["p2"])
    assert validate_routes(p, ok).ok
    twice = make_solution(p, {"A/van/1": ["d1", "d2", "p1", "p2"], "A/cold/1": ["p2"]})
    assert any(
        v.rule == "order" and v.order_id == "p2" and "2 times" in v.message
        for v in validate_routes(p, twice).violations
    )


def test_refrigeration_window_shift_and_kpi_tampering_are_caught() -> None:
    p = problem()
    warm = make_solution(p, {"A/van/1": ["d1", "d2", "p1", "p2"]})
    assert {
        (v.rule, v.order_id)
        for v in validate_routes(p, warm).violations
        if v.rule == "refrigeration"
    } == {("refrigeration", "p2")}
    late = make_solution(p, GOOD, departures={"A/van/1": 19_000})
    rules = validate_routes(p, late).rules()
    assert {"time window", "shift"} <= rules  # d2 after 5000 s; back after 20000 s
    sol = make_solution(p, GOOD)
    fudged = dataclasses.replace(sol, kpis=dataclasses.replace(sol.kpis, total_km=1.0))
    assert validate_routes(p, fudged).rules() == {"kpi"}
    ghost = dataclasses.replace(
        sol, routes=(dataclasses.replace(sol.routes[0], vehicle_id="A/van/9"),)
    )
    assert "vehicle" in validate_routes(p, ghost).rules()


def test_reason_claims_are_checked_from_the_matrices() -> None:
    p = problem()
    plan = {"A/van/1": ["d1", "d2", "p1"]}
    # p2 needs refrigeration and the cold van can serve it alone: not infeasible
    false_claim = make_solution(p, plan, unassigned=["p2"], reason="infeasible")
    assert [(v.rule, v.order_id) for v in validate_routes(p, false_claim).violations] == [
        ("reason", "p2")
    ]
    unknown = make_solution(p, plan, unassigned=["p2"], reason="penalty")
    assert validate_routes(p, unknown).rules() == {"reason"}
    # with a 500 s cold-chain limit p1 (600 s leg back + 30 s service) is infeasible alone
    tight = dataclasses.replace(
        p,
        orders=tuple(
            dataclasses.replace(o, max_in_vehicle_s=500) if o.id == "p1" else o for o in p.orders
        ),
    )
    assert validate_routes(
        tight,
        make_solution(
            tight,
            {"A/van/1": ["d1", "d2"], "A/cold/1": ["p2"]},
            unassigned=["p1"],
            reason="infeasible",
        ),
    ).ok
    wrong = make_solution(
        tight, {"A/van/1": ["d1", "d2"], "A/cold/1": ["p2"]}, unassigned=["p1"], reason="search"
    )
    assert [(v.rule, v.order_id) for v in validate_routes(tight, wrong).violations] == [
        ("reason", "p1")
    ]
    # no cold van: p2 cannot be served by any vehicle alone
    warm_only = dataclasses.replace(p, vehicle_types=(p.vehicle_types[0],))
    assert validate_routes(
        warm_only, make_solution(warm_only, plan, unassigned=["p2"], reason="infeasible")
    ).ok


def _trips(
    p: RoutingProblem, trips: Sequence[tuple[int, Sequence[tuple[str, int]]]]
) -> RoutingSolution:
    """Trips of van A/van/1: (departure, [(order, start of service)]) each; p2 unassigned."""
    orders = {o.id: o for o in p.orders}
    van = vehicles_of(p)[0]
    assert van.id == "A/van/1"
    routes = [
        route_schedule(p, van, [orders[o] for o, _ in seq], dep, [st for _, st in seq], trip=n)
        for n, (dep, seq) in enumerate(trips, start=1)
    ]
    return RoutingSolution(
        tuple(routes), (Unassigned("p2", "search"),), compute_kpis(p, routes, 1), "hand-made", 0.0
    )


def test_multi_trip_and_per_trip_cold_chain_known_answers() -> None:
    base = problem()
    van = dataclasses.replace(base.vehicle_types[0], max_trips=2, reload_s=300)
    d2_cold = tuple(
        dataclasses.replace(o, max_in_vehicle_s=700) if o.id == "d2" else o for o in base.orders
    )
    p = dataclasses.replace(base, vehicle_types=(van, base.vehicle_types[1]), orders=d2_cold)
    # trip 1: d1 at 600, back 1260; reload 300; trip 2 leaves 1560: d2 at 2160, p1 at 2760,
    # back 3390. d2 rides 600 s from ITS trip's departure (2160 s from the first one)
    good = [(0, [("d1", 600)]), (1560, [("d2", 2160), ("p1", 2760)])]
    sol = _trips(p, good)
    rep = validate_routes(p, sol)
    assert rep.ok, rep.summary()
    ivt = {s.order_id: s.in_vehicle_s for r in sol.routes for s in r.stops}
    assert ivt == {"d1": 660, "d2": 600, "p1": 630}
    assert [(r.trip, r.departure_s, r.arrival_s) for r in sol.routes] == [
        (1, 0, 1260),
        (2, 1560, 3390),
    ]
    # 2 + 3 legs of 1 km at 2.0 per km; no fixed cost for the van; d2 and p1 on trip 2
    expected = Kpis(
        vehicles_used=1,
        orders_served=3,
        unassigned=1,
        total_distance_m=5000,
        total_km=5.0,
        total_duration_s=1260 + 1830,
        vehicle_hours=3090 / 3600,
        mean_in_vehicle_s=(660 + 600 + 630) / 3,
        max_in_vehicle_s=660,
        cold_chain_compliance=1.0,
        total_cost=2.0 * 5,
    )
    assert_kpis(sol.kpis, expected)
    assert_kpis(rep.kpis, expected)
    # trip 2 leaves before trip 1 is back and reloaded
    early = [(0, [("d1", 600)]), (1400, [("d2", 2000), ("p1", 2600)])]
    assert validate_routes(p, _trips(p, early)).rules() == {"trips"}
    # one trip allowed only
    one = dataclasses.replace(
        p, vehicle_types=(dataclasses.replace(van, max_trips=1), base.vehicle_types[1])
    )
    assert validate_routes(one, _trips(one, good)).rules() == {"trips"}
    # a 3000 s day: 0 .. 3390 is too long although each trip fits
    short = dataclasses.replace(
        p, vehicle_types=(dataclasses.replace(van, max_duration_s=3000), base.vehicle_types[1])
    )
    assert validate_routes(short, _trips(short, good)).rules() == {"duration"}
    # per-trip clock: a 500 s limit on d2 is broken (600 s), by d2 only
    strict = dataclasses.replace(
        p,
        orders=tuple(
            dataclasses.replace(o, max_in_vehicle_s=500) if o.id == "d2" else o for o in p.orders
        ),
    )
    assert [
        (v.rule, v.order_id)
        for v in validate_routes(strict, _trips(strict, good)).violations
        if v.rule != "kpi"
    ] == [("cold chain", "d2")]


def test_validator_does_not_import_ortools() -> None:
    code = "import sys, lastmile.validate; sys.exit('ortools' in ' '.join(sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_route_schedule_waits_for_windows_and_leaves_late_known_answers() -> None:
    p = problem()
    van, cold = vehicles_of(p)
    orders = {o.id: o for o in p.orders}
    # d2 opens at 1000: leave at 400 rather than wait; d1 at 1600, leaves 1660, back 2260
    r = route_schedule(p, van, [orders["d2"], orders["d1"]])
    assert (r.departure_s, r.arrival_s) == (400, 2260)
    assert [(s.arrival_s, s.start_s, s.departure_s, s.in_vehicle_s) for s in r.stops] == [
        (1000, 1000, 1000, 600),
        (1600, 1600, 1660, 1260),
    ]
    # given starts are kept (a wait of 200 s at d1); a second trip books no fixed cost
    r2 = route_schedule(p, cold, [orders["p2"], orders["d1"]], 100, [700, 1500], trip=2)
    assert r2.departure_s == 100 and [s.arrival_s for s in r2.stops] == [700, 1300]
    assert r2.arrival_s == 1500 + 60 + 600 and r2.stops[0].in_vehicle_s == 2160 - 700
    assert r2.cost == pytest.approx(1.0 * 3 + 12.0 * 2060 / 3600)
    with pytest.raises(InputError, match="start times"):
        route_schedule(p, van, [orders["d1"]], 0, [600, 700])

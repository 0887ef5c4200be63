"""Trunk runs, end-to-end lead times, equal service and cold rooms (issue 10), by hand."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from lastmile.config import load_region
from lastmile.endtoend import end_to_end, is_servable, order_table, unallocated_costs
from lastmile.errors import InputError
from lastmile.routing import (
    REASON_COLD_CHAIN,
    Depot,
    Order,
    RoutingOptions,
    RoutingProblem,
    RoutingSolution,
    VehicleType,
    compute_kpis,
    route_schedule,
    solve,
    vehicles_of,
)
from lastmile.scenario import load_scenario
from lastmile.trunk import (
    TrunkRun,
    catchments,
    hub_ready_times,
    pin_orders,
    route_trunk,
    trunk_problem,
    trunk_vehicle,
)
from lastmile.validate import supply_violations, validate_routes

OPTIONS = RoutingOptions(time_limit_s=10.0, solution_limit=20)
H = 3600
#: locations: 0 county centre, 1 hub, 2 village A (by the hub), 3 village B (by the centre),
#: 4 village C (by the hub)
T = np.array(
    [
        [0, H, H + 1200, 600, H + 900],
        [H, 0, 1200, H, 900],
        [H + 1200, 1200, 0, H, 1500],
        [600, H, H, 0, H],
        [H + 900, 900, 1500, H, 0],
    ],
    dtype=np.int64,
)
D = T * 10  # 36 km/h


def trunk_settings(**kw: object) -> object:
    base = load_region().trunk
    return replace(base, **{"cutoff_s": 7 * H, "morning_departure_s": 7 * H,
                            "hub_latest_arrival_s": 10 * H, "evening_departure_s": 19 * H + 1800,
                            "shift_end_s": 23 * H + 1800, "unload_s": 600,
                            "hub_handling_s": 1800, "hub_cold_store": True,
                            "hub_daily_cost": 100.0, **kw})  # fmt: skip


def van(depot: str, start: int) -> VehicleType:
    return VehicleType(id=f"van@{depot}", refrigerated=True, capacity={"kg": 1000, "parcels": 400},
                       count_per_depot={depot: 1}, shift_start_s=start, shift_end_s=19 * H,
                       fixed_cost=100, cost_per_km=2.0, cost_per_hour=30)  # fmt: skip


def test_lead_times_by_hand() -> None:
    s = trunk_settings()
    sub = np.ix_([0, 1], [0, 1])
    morning = route_trunk(
        trunk_problem(T[sub], D[sub], np.ones((2, 2), bool), ["hub"], {"hub": {"kg": 40,
                      "parcels": 20}}, s, "morning", centre_id="centre",
                      latest_s=s.hub_latest_arrival_s),
        OPTIONS, "morning")  # fmt: skip
    assert morning.validation.ok, morning.validation.summary()
    # the trunk leaves at the 07:00 cut-off, one hour to the hub
    assert morning.hub_arrival_s == {"hub": 8 * H}
    ready = hub_ready_times(morning, s, "centre")
    assert ready == {"centre": 7 * H, "hub": 8 * H + 1800}
    orders = (
        Order("dA", "delivery", 2, {"kg": 40, "parcels": 20}, depot="hub", service_s=300,
              max_in_vehicle_s=4 * H),
        Order("dB", "delivery", 3, {"kg": 2, "parcels": 1}, depot="centre", service_s=300,
              max_in_vehicle_s=4 * H),
        Order("pC", "pickup", 4, {"kg": 50}, depot="hub", service_s=600, product_class="produce",
              max_in_vehicle_s=2 * H, requires_refrigeration=True),
    )  # fmt: skip
    problem = RoutingProblem(
        T,
        D,
        (Depot("centre", 0), Depot("hub", 1)),
        (van("centre", ready["centre"]), van("hub", ready["hub"])),
        orders,
    )
    solution = solve(problem, OPTIONS)
    assert validate_routes(problem, solution).ok and not solution.unassigned
    back = max(r.arrival_s for r in solution.routes if r.depot == "hub")
    evening = route_trunk(
        trunk_problem(T[sub], D[sub], np.ones((2, 2), bool), ["hub"], {"hub": {"kg": 50}}, s,
                      "evening", ready_s={"hub": back}, refrigerated_hubs=["hub"],
                      centre_id="centre"),
        OPTIONS, "evening")  # fmt: skip
    assert evening.validation.ok
    # leaves 19:30, at the hub 20:30, 10 min loading, back at the centre 21:40
    assert evening.hub_to_centre_s == {"hub": 21 * H + 2400}
    info = pd.DataFrame({"id": ["dA", "dB", "pC"], "village": ["A", "B", "C"],
                         "township": ["t1", "t2", "t1"]})  # fmt: skip
    table = order_table("plan", problem, solution, info, centre_id="centre", cutoff_s=7 * H,
                        hub_cold_store=True, morning=morning, evening=evening,
                        hub_daily_cost=100.0).set_index("order_id")  # fmt: skip
    # the hub's van leaves at 08:30 (trunk 07:00-08:00, 30 min handling); A and C in either order
    hub_route = next(r for r in solution.routes if r.depot == "hub")
    assert hub_route.departure_s == 8 * H + 1800
    seq = tuple(st.order_id for st in hub_route.stops)
    # parcel A: cut-off 07:00, trunk 60 min, handling 30 min, van 20 min, service 5 min
    # (or, after C: 15 min to C, 10 min service, 25 min C -> A, 5 min service)
    lead_a = {("dA", "pC"): 60 + 30 + 20 + 5, ("pC", "dA"): 60 + 30 + 15 + 10 + 25 + 5}[seq]
    assert table.at["dA", "lead_min"] == pytest.approx(lead_a)
    # parcel B: from the centre at the cut-off, 10 min drive, 5 min service
    assert table.at["dB", "lead_min"] == pytest.approx(15)
    # pickup C: 10 min service + 15 min back to the hub's cold room (C last), or + 25 min to A,
    # 5 min service, 20 min back (C first)
    assert table.at["pC", "cold_room"] == "hub"
    to_cold = {("dA", "pC"): 10 + 15, ("pC", "dA"): 10 + 25 + 5 + 20}[seq]
    assert table.at["pC", "to_cold_room_min"] == pytest.approx(to_cold)
    start = table.at["pC", "start_s"]
    assert table.at["pC", "to_centre_min"] == pytest.approx((21 * H + 2400 - start) / 60)
    assert bool(table.at["pC", "cold_chain_ok"])
    # costs: the trunk and the hub's daily cost land on the hub's orders only
    assert table.at["dB", "trunk_cost"] == 0 and table.at["dB", "hub_cost"] == 0
    assert table.at["dA", "trunk_cost"] == pytest.approx(morning.solution.kpis.total_cost)
    assert table.at["pC", "trunk_cost"] == pytest.approx(evening.solution.kpis.total_cost)
    assert table[["hub_cost"]].sum().iloc[0] == pytest.approx(100.0)
    total = (
        solution.kpis.total_cost
        + morning.solution.kpis.total_cost
        + evening.solution.kpis.total_cost
        + 100.0
    )
    assert table["cost"].sum() == pytest.approx(total)
    kw = {"centre_id": "centre", "morning": morning, "evening": evening, "hub_daily_cost": 100.0}
    assert unallocated_costs(problem, solution, **kw)["cost"] == 0  # every cost on an order
    # bb17 D9: an open hub whose orders all go unserved (here: it has none) kept its daily cost
    # and its trunk runs' shares on no order, and routed_totals left them out
    only_b = replace(problem, orders=(orders[1],))
    served_b = solve(only_b, OPTIONS)
    idle = unallocated_costs(only_b, served_b, **kw)
    assert idle["hubs_without_orders"] == ["hub"] and idle["hub_cost"] == 100.0
    trunk_cost = morning.solution.kpis.total_cost + evening.solution.kpis.total_cost
    assert idle["trunk_cost"] == pytest.approx(trunk_cost)
    assert idle["cost"] == pytest.approx(100.0 + trunk_cost)
    rows = order_table("plan", only_b, served_b, info, cutoff_s=7 * H, hub_cold_store=True,
                       **kw)  # fmt: skip
    totals = end_to_end(rows, rows, None, {"plan": idle}).summary["totals"]
    assert totals["plan"]["cost"] == pytest.approx(served_b.kpis.total_cost + idle["cost"], abs=0.1)
    assert totals["plan"]["not_on_any_order"]["hubs_without_orders"] == ["hub"]
    assert "not_on_any_order" not in totals["baseline"]


def test_order_table_carries_each_orders_window_service_quantities_and_refrigeration() -> None:
    """bb17 D7: orders.csv lacked the per-order inputs the validator used, so windows, loads and
    refrigeration could not be audited from the outputs; they are now columns of the table, the
    values the order was routed with (no window: empty)."""
    orders = (
        Order("dA", "delivery", 2, {"kg": 40, "parcels": 20}, depot="centre", service_s=300,
              time_window=(8 * H, 9 * H + 900)),
        Order("pC", "pickup", 4, {"kg": 50}, depot="centre", service_s=720,
              product_class="produce", requires_refrigeration=True),
    )  # fmt: skip
    problem = RoutingProblem(T, D, (Depot("centre", 0),), (van("centre", 7 * H),), orders)
    solution = solve(problem, OPTIONS)
    assert validate_routes(problem, solution).ok and not solution.unassigned
    info = pd.DataFrame({"id": ["dA", "pC"], "village": ["A", "C"]})
    table = order_table("baseline", problem, solution, info, centre_id="centre", cutoff_s=7 * H,
                        hub_cold_store=True).set_index("order_id")  # fmt: skip
    assert table.at["dA", "tw_start_s"] == 8 * H and table.at["dA", "tw_end_s"] == 9 * H + 900
    assert table.at["dA", "start_s"] >= table.at["dA", "tw_start_s"]
    assert np.isnan(table.at["pC", "tw_start_s"]) and np.isnan(table.at["pC", "tw_end_s"])
    assert table["service_s"].to_dict() == {"dA": 300, "pC": 720}
    assert table["end_s"].to_dict() == (table["start_s"] + table["service_s"]).to_dict()
    assert table["kg"].to_dict() == {"dA": 40, "pC": 50}
    assert table["parcels"].to_dict() == {"dA": 20, "pC": 0}
    assert table["requires_refrigeration"].to_dict() == {"dA": False, "pC": True}
    # stops.csv repeats them, the same values (a route sheet needs no other table)
    from lastmile.route_tables import ORDER_INPUT_COLUMNS, solution_frames

    stops = solution_frames(problem, solution)["stops"].set_index("order_id")
    pd.testing.assert_frame_equal(
        stops[ORDER_INPUT_COLUMNS].sort_index(),
        table[ORDER_INPUT_COLUMNS].sort_index().astype(stops[ORDER_INPUT_COLUMNS].dtypes),
    )


def test_trunk_runs_leave_at_their_departure_and_arrive_as_early_as_possible() -> None:
    # centre, hubs A (40 min), B (15 min), C (20 min); A and B cannot share a 5 t truck, so two
    # trucks run and B's has two hours of slack before the 09:30 latest arrival: it used to leave
    # at 09:15 and reach B at exactly 09:30 (evening: leave 22:50, back at the 23:30 shift end)
    s = trunk_settings(hub_latest_arrival_s=9 * H + 1800)
    minutes = np.array([[0, 40, 15, 20], [40, 0, 50, 30], [15, 50, 0, 25], [20, 30, 25, 0]])
    t = (minutes * 60).astype(np.int64)
    loads = {"A": {"kg": 2700, "parcels": 300}, "B": {"kg": 2800, "parcels": 1000},
             "C": {"kg": 200, "parcels": 1200}}  # fmt: skip
    args = (t, t * 10, np.ones((4, 4), bool), ["A", "B", "C"], loads, s)
    morning = route_trunk(
        trunk_problem(*args, "morning", centre_id="c", latest_s=s.hub_latest_arrival_s),
        OPTIONS,
        "morning",
    )
    assert morning.validation.ok, morning.validation.summary()
    # every truck leaves at the 07:00 cut-off and drives on: B at 07:15; C at 07:20, 10 min
    # unloading, 30 min on to A at 08:00
    assert [r.departure_s for r in morning.solution.routes] == [7 * H, 7 * H]
    assert morning.hub_arrival_s == {"B": 7 * H + 900, "C": 7 * H + 1200, "A": 8 * H}
    assert hub_ready_times(morning, s, "c")["B"] == 7 * H + 900 + 1800
    assert sorted(r.arrival_s for r in morning.solution.routes) == [
        7 * H + 900 + 600 + 900,
        8 * H + 600 + 40 * 60,
    ]
    # hours (and cost) are those of the driving: no idle time at the centre
    assert (
        morning.solution.kpis.total_duration_s
        == (15 + 10 + 15) * 60 + (20 + 10 + 30 + 10 + 40) * 60
    )
    # evening, vans back by 18:00: leave at 19:30, back as early as the sequence allows
    evening = route_trunk(
        trunk_problem(*args, "evening", ready_s=dict.fromkeys("ABC", 18 * H), centre_id="c"),
        OPTIONS,
        "evening",
    )
    assert evening.validation.ok
    assert [r.departure_s for r in evening.solution.routes] == [19 * H + 1800] * 2
    assert evening.hub_to_centre_s["B"] == 19 * H + 1800 + (15 + 10 + 15) * 60
    # a hub whose vans come back after the evening departure: the truck reaches it when they are
    # back, and leaves the centre just in time rather than idling at the hub
    late = route_trunk(
        trunk_problem(*args[:3], ["A", "B", "C"], {"B": {"kg": 100}}, s, "evening",
                      ready_s={"B": 21 * H}, centre_id="c"),
        OPTIONS,
        "evening",
    )  # fmt: skip
    (route,) = late.solution.routes
    assert late.validation.ok
    assert (route.departure_s, late.hub_arrival_s["B"], route.arrival_s) == (
        21 * H - 900,
        21 * H,
        21 * H + 600 + 900,
    )


def test_a_morning_run_reaches_the_nearer_hub_first() -> None:
    # centre, hubs N (27 min) and F (60 min), N-F 70 min: centre-N-F-centre and its reverse have
    # the same km and hours, so only the arrival cost decides; N first reaches N at 07:27 and F at
    # 08:47, F first reaches F at 08:00 and N at 09:20. One truck carries both.
    s = trunk_settings(hub_latest_arrival_s=10 * H)
    minutes = np.array([[0, 27, 60], [27, 0, 70], [60, 70, 0]])
    t = (minutes * 60).astype(np.int64)
    loads = {"N": {"kg": 500, "parcels": 100}, "F": {"kg": 500, "parcels": 100}}
    args = (t, t * 10, np.ones((3, 3), bool), ["N", "F"], loads, s, "morning")
    # (without the arrival cost this search goes to F first: N at 09:20)
    run = route_trunk(
        trunk_problem(*args, centre_id="c", latest_s=s.hub_latest_arrival_s,
                      arrival_hour_cost=5.0 * 50),
        OPTIONS, "morning",
    )  # fmt: skip
    assert run.validation.ok
    assert run.hub_arrival_s == {"N": 7 * H + 27 * 60, "F": 7 * H + (27 + 10 + 70) * 60}
    assert run.solution.kpis.total_km == pytest.approx((27 + 70 + 60) * 600 / 1000)


def test_no_cold_room_makes_a_remote_pickup_bind_at_the_centre() -> None:
    # village C: 15 min from the hub, 75 min from the centre; produce limit 60 min
    pickup = Order("pC", "pickup", 4, {"kg": 50}, service_s=600, product_class="produce",
                   max_in_vehicle_s=H, requires_refrigeration=True)  # fmt: skip
    depots = ("centre", "hub")
    home = catchments(T[np.ix_([0, 1, 4], [0, 1, 4])], np.ones((3, 3), bool), 2)
    assert list(home) == [1]
    served_from = {}
    for cold_store in (True, False):
        pins = pin_orders(["pC"], ["pickup"], list(home), depots, cold_store)
        problem = RoutingProblem(T, D, (Depot("centre", 0), Depot("hub", 1)),
                                 (van("centre", 7 * H), van("hub", 8 * H)),
                                 (replace(pickup, depot=pins["pC"]),))  # fmt: skip
        sol = solve(problem, OPTIONS)
        assert validate_routes(problem, sol).ok
        served_from[cold_store] = [r.depot for r in sol.routes]
        if not cold_store:
            assert pins["pC"] == "centre"
            assert [(u.order_id, u.reason, u.binding) for u in sol.unassigned] == [
                ("pC", "infeasible", REASON_COLD_CHAIN)
            ]
            assert not is_servable(sol.unassigned[0].reason)
            table = order_table("plan", problem, sol, pd.DataFrame({"id": ["pC"],
                                "village": ["C"]}), centre_id="centre", cutoff_s=7 * H,
                                hub_cold_store=False)  # fmt: skip
            assert not table["served"].iloc[0] and table["reason"].iloc[0] == "infeasible"
    assert served_from[True] == ["hub"]


def _rows(name: str, served: dict[str, bool]) -> pd.DataFrame:
    rows = []
    for oid, ok in served.items():
        rows.append(
            {
                "scenario": name,
                "order_id": oid,
                "kind": "delivery",
                "product_class": "produce" if oid == "c" else "parcel",
                "village": oid,
                "township": "t",
                "served": ok,
                "reason": "" if ok else "search",
                "lead_min": 60.0 if ok else np.nan,
                "end_s": 30000.0 if ok else np.nan,
                "to_cold_room_min": np.nan,
                "to_centre_min": np.nan,
                "centre_arrival_s": np.nan,
                "start_s": np.nan,
                "perishable": oid == "c",
                "cold_chain_ok": ok,
                "km": 1.0 if ok else 0.0,
                "vehicle_h": 0.1,
                "cost": 10.0,
                "trunk_km": 0.0,
                "trunk_cost": 0.0,
                "hub_cost": 0.0,
            }
        )
    return pd.DataFrame(rows)


def test_orders_compared_is_the_intersection_and_unserved_count_against_compliance() -> None:
    base = _rows("baseline", {"a": True, "b": False, "c": True, "d": True})
    plan = _rows("plan", {"a": True, "b": True, "c": False, "d": True})
    study = end_to_end(base, plan)
    s = study.summary
    assert s["orders_compared"] == 2
    assert set(study.orders.loc[study.orders["compared"], "order_id"]) == {"a", "d"}
    assert s["routed"]["baseline"]["km"] == s["routed"]["plan"]["km"] == 2.0
    assert s["lead_time"]["plan"]["parcel"]["orders"] == 2
    # one perishable order (c): served and compliant in the baseline, unserved in the plan
    assert s["cold_chain"]["baseline"]["compliance"] == 1.0
    assert s["cold_chain"]["plan"] == {
        "perishable_orders": 1,
        "compliant": 0,
        "unserved": 1,
        "compliance": 0.0,
    }
    assert s["unserved"]["plan"]["list"] == [{"order_id": "c", "reason": "search"}]


def test_a_day_without_orders_gives_zero_tables_not_a_key_error() -> None:
    """bb21 D5: an order table of no row had ``object`` columns, so ``df[df["served"]]`` chose
    no column and the day's sums failed with "KeyError: 'km'"; now its figures are zero."""
    problem = RoutingProblem(T, D, (Depot("centre", 0),), (van("centre", 7 * H),), ())
    empty = order_table("plan", problem, solve(problem, OPTIONS), pd.DataFrame({"id": [],
                        "village": []}), centre_id="centre", cutoff_s=7 * H,
                        hub_cold_store=True)  # fmt: skip
    assert len(empty) == 0 and empty["served"].dtype == bool
    study = end_to_end(empty, empty)
    s = study.summary
    assert s["orders"] == s["orders_compared"] == 0
    assert s["totals"]["plan"]["km"] == 0.0 and s["totals"]["plan"]["cost_per_order"] == 0.0
    assert s["routed"]["baseline"]["orders"] == 0
    assert s["unserved"]["plan"] == {"orders": 0, "by_reason": {}, "list": []}
    assert list(study.townships.columns) == ["code", "name", "scenario"]


def test_trunk_load_split_and_bad_config(tmp_path: object) -> None:
    base = trunk_settings()
    s = replace(base, vehicle=replace(base.vehicle, capacity={"kg": 100, "parcels": 2500}))
    sub = np.ix_([0, 1], [0, 1])
    p = trunk_problem(
        T[sub], D[sub], np.ones((2, 2), bool), ["hub"], {"hub": {"kg": 250}}, s, "morning"
    )
    assert [o.id for o in p.orders] == ["hub#1", "hub#2", "hub#3"]
    assert sorted(o.quantity["kg"] for o in p.orders) == [83, 83, 84]
    with pytest.raises(InputError, match="unknown key"):
        load_scenario_with_trunk(tmp_path, "bogus = 1")
    with pytest.raises(InputError, match="cutoff"):
        load_scenario_with_trunk(tmp_path, 'cutoff = "7 am"')
    with pytest.raises(InputError, match="hub_cold_store"):
        load_scenario_with_trunk(tmp_path, 'hub_cold_store = "no"')
    sc = load_scenario_with_trunk(tmp_path, "hub_cold_store = false\nhub_handling_min = 45")
    assert not sc.region.trunk.hub_cold_store and sc.region.trunk.hub_handling_s == 2700
    # the [trunk] vehicle keys build one routing VehicleType; each run narrows its shift
    sc = load_scenario_with_trunk(tmp_path, 'count = 3\ncapacity_kg = 900\nshift_end = "22:00"')
    vt = sc.region.trunk.vehicle
    assert isinstance(vt, VehicleType) and sc.region.trunk.count == 3
    assert dict(vt.capacity) == {"kg": 900, "parcels": 2500}
    assert vt.refrigerated and vt.shift_end_s == 22 * H
    run = trunk_vehicle(sc.region.trunk, start_s=8 * H, count=1)
    assert (run.count_at("centre"), run.shift_start_s, run.shift_end_s) == (1, 8 * H, 22 * H)
    assert (run.id, run.fixed_cost, run.cost_per_km) == (vt.id, vt.fixed_cost, vt.cost_per_km)


def load_scenario_with_trunk(tmp_path: object, body: str) -> object:
    from pathlib import Path

    f = Path(str(tmp_path)) / "s.toml"
    f.write_text("[trunk]\n" + body + "\n", encoding="utf-8")
    return load_scenario(f)


def test_fleet_search_serves_all_and_one_fewer_does_not() -> None:
    from lastmile.fleet import fleet_needed, search_depot
    from lastmile.routing import REASON_CAPACITY

    # six villages, each order fills a vehicle; one order no vehicle can carry (infeasible)
    n = 8
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 20_000, size=(n, 2))
    d = np.rint(np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))).astype(np.int64)
    t = d // 10
    orders = [Order(f"o{i}", "delivery", i, {"kg": 100}, service_s=300) for i in range(2, 8)]
    orders.append(Order("big", "delivery", 2, {"kg": 500}))
    # depot "a" at 0 serves o2..o4 and big, depot "b" at 1 serves o5..o7
    orders = [replace(o, depot="a" if o.location <= 4 else "b") for o in orders]
    types = tuple(
        VehicleType(id=f"{k}@{dep}", refrigerated=k == "reefer", capacity={"kg": 100},
                    count_per_depot={dep: 1}, shift_start_s=7 * H, shift_end_s=19 * H,
                    fixed_cost=100 if k == "van" else 150, cost_per_km=1.0)
        for dep in ("a", "b") for k in ("reefer", "van")
    )  # fmt: skip
    problem = RoutingProblem(t, d, (Depot("a", 0), Depot("b", 1)), types, tuple(orders))

    def solver(p: RoutingProblem) -> object:
        return solve(p, OPTIONS)

    fleet = search_depot(problem, "a", solver)  # type: ignore[arg-type]
    assert fleet.reached and fleet.servable == 3 and fleet.vehicles == 3
    assert all(fleet.one_fewer_fails.values()) and fleet.one_fewer_fails
    # check it directly: the fleet serves all three servable orders, one fewer leaves one out
    from lastmile.fleet import _with_counts, depot_problem

    sub = depot_problem(problem, "a")
    full = solve(_with_counts(sub, "a", fleet.counts), OPTIONS)
    assert {s.order_id for r in full.routes for s in r.stops} == {"o2", "o3", "o4"}
    assert [(u.order_id, u.reason, u.binding) for u in full.unassigned] == [
        ("big", "infeasible", REASON_CAPACITY)
    ]
    t0 = next(k for k, v in fleet.counts.items() if v > 0)
    fewer = solve(_with_counts(sub, "a", {**fleet.counts, t0: fleet.counts[t0] - 1}), OPTIONS)
    assert len({s.order_id for r in fewer.routes for s in r.stops}) == 2
    both = fleet_needed("plan", problem, solver, fixed_daily_cost=50.0)  # type: ignore[arg-type]
    s = both.summary()
    assert s["vehicles"] == 6 and s["all_servable_served"] and s["servable_orders"] == 6
    assert s["one_fewer_fails"] and s["trunk_run_vehicles"] == 0


def test_fleet_needed_is_never_more_than_the_routed_day_used() -> None:
    from lastmile.fleet import fleet_needed

    # one depot; villages 1..6 each 80 min out and 160 min from one another, 100 kg per order and
    # per vehicle: one order per trip. Reefers and vans make two trips a day, the (refrigerated)
    # trunks one. Four cold orders, two plain ones.
    t = np.full((7, 7), 160 * 60, dtype=np.int64)
    t[0, :] = t[:, 0] = 80 * 60
    np.fill_diagonal(t, 0)
    orders = [
        Order(f"cold{i}", "delivery", i, {"kg": 100}, service_s=600, requires_refrigeration=True)
        for i in range(1, 5)
    ] + [Order(f"plain{i}", "delivery", i, {"kg": 100}, service_s=600) for i in (5, 6)]

    def vtype(name: str, cold: bool, count: int, trips: int, fixed: float) -> VehicleType:
        return VehicleType(id=name, refrigerated=cold, capacity={"kg": 100},
                           count_per_depot=count, shift_start_s=7 * H, shift_end_s=19 * H,
                           fixed_cost=fixed, cost_per_km=1.0, max_trips=trips)  # fmt: skip

    types = (vtype("reefer", True, 2, 2, 100), vtype("trunk", True, 4, 1, 500),
             vtype("van", False, 1, 2, 80))  # fmt: skip
    problem = RoutingProblem(t, t * 10, (Depot("c", 0),), types, tuple(orders))

    def solver(p: RoutingProblem) -> object:
        return solve(p, OPTIONS)

    day = solve(problem, OPTIONS)  # the routed day, whole fleet: 2 reefers, 1 van, no trunk
    assert validate_routes(problem, day).ok and not day.unassigned
    used = {(r.vehicle_type, r.vehicle_id) for r in day.routes}
    assert sorted(vt for vt, _ in used) == ["reefer", "reefer", "van"]

    # the greedy bisection used to take the reefers out first (the trunks took over their cold
    # orders, one a day each) and then needed all four trunks: 0 reefer + 4 trunk + 1 van = 5
    def check(s: dict[str, object]) -> None:
        assert s["last_mile_by_type"] == {"reefer": 2, "trunk": 0, "van": 1}
        assert s["vehicles"] == 3 == len(used) and s["all_servable_served"]
        assert s["cost"] == pytest.approx(day.kpis.total_cost)

    # the search's own whole-fleet day is the witness; then the scenario's routed day, given
    check(fleet_needed("baseline", problem, solver).summary())  # type: ignore[arg-type]
    check(fleet_needed("baseline", problem, solver, witness=day).summary())  # type: ignore[arg-type]


def test_pickups_that_never_reach_the_centre_count_as_not_arrived(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """bb17 D1: with one trunk truck the evening run skipped a hub; its pickups have no centre
    arrival and pickup_to_centre quietly covered 8 of the 10 compared pickups, with a 100 %
    same-day share. They now count in ``orders``, as ``not_arrived`` and as not within any
    bound; mean / p90 are over those that arrived, and the covers text and console say so."""
    from lastmile.cli import _lead_cell
    from lastmile.endtoend import lead_stats
    from lastmile.study import not_arrived_clause

    minutes = [60.0, 100.0, 300.0, np.nan, np.nan]
    arrival = [40_000.0, 45_000.0, 80_000.0, np.nan, np.nan]
    st = lead_stats(minutes, arrival)
    assert st["orders"] == 5 and st["not_arrived"] == 2
    assert st["mean_min"] == pytest.approx(153.3) and st["max_min"] == 300.0
    assert st["share_within_2h"] == 0.4 and st["share_within_4h"] == 0.4
    assert st["share_same_day"] == 0.6
    none = lead_stats([np.nan], [np.nan])
    assert none == {"orders": 1, "not_arrived": 1, "share_within_2h": 0.0,
                    "share_within_4h": 0.0, "share_same_day": 0.0}  # fmt: skip
    assert lead_stats([10.0], [100.0])["not_arrived"] == 0
    clause = not_arrived_clause({"baseline": {"pickup_to_centre": lead_stats([1.0], [1.0])},
                                  "plan": {"pickup_to_centre": st}})  # fmt: skip
    assert "plan pickup_to_centre: 2 of 5" in clause and "baseline" not in clause
    assert _lead_cell(st) == "153.3 / 300.0 (3 of 5 arrived this day)"
    assert _lead_cell(none) == "- (0 of 1 arrived this day)"


def test_a_trunk_run_off_its_schedule_is_a_warning() -> None:
    """bb17 D5: a hub reached after hub_latest_arrival (the relaxed morning run) or not reached
    by the evening run was in summary.md only; kpis.json's warnings were empty and the console
    said nothing, although the plan's lead times depend on it."""
    from types import SimpleNamespace

    from lastmile.plan import PlanResult

    def run(arrivals: dict[str, int], missed: list[str], relaxed: bool) -> SimpleNamespace:
        unassigned = [SimpleNamespace(order_id=m) for m in missed]
        used = SimpleNamespace(vehicles_used=1)
        solution = SimpleNamespace(unassigned=unassigned, kpis=used)
        return SimpleNamespace(hub_arrival_s=arrivals, relaxed=relaxed, solution=solution)

    trunk = SimpleNamespace(hub_latest_arrival_s=9 * 3600 + 1800, count=1)
    result = SimpleNamespace(
        inputs=SimpleNamespace(region=SimpleNamespace(trunk=trunk)),
        morning=run({"h1": 8 * 3600, "h2": 9 * 3600 + 3540}, [], relaxed=True),
        evening=run({"h1": 19 * 3600}, ["h2", "h3#2", "h3"], relaxed=False),
        planned=None,
    )
    warnings = PlanResult.trunk_warnings(result)  # type: ignore[arg-type]
    assert len(warnings) == 2
    assert warnings[0].startswith("morning trunk run: hub(s) h2 at 09:59 reached after "
                                  "hub_latest_arrival 09:30")  # fmt: skip
    assert warnings[1].startswith("evening trunk run: hub(s) h2, h3 not reached")
    assert "add trunk vehicles" in warnings[0]
    # bb20 D4: trucks stood idle: more would not help, the deadline must move
    idle = SimpleNamespace(**{**vars(result), "inputs": SimpleNamespace(region=SimpleNamespace(
        trunk=SimpleNamespace(hub_latest_arrival_s=9 * 3600 + 1800, count=4)))})  # fmt: skip
    first = PlanResult.trunk_warnings(idle)[0]  # type: ignore[arg-type]
    assert "move hub_latest_arrival (3 truck(s) stood idle" in first
    # bb19 D7: no evening run at all while hubs collected pickups
    kinds = {"p1": "pickup", "d1": "delivery", "d2": "delivery"}
    problem = SimpleNamespace(order=lambda oid: SimpleNamespace(kind=kinds[oid]))

    def day(routes: dict[str, list[str]]) -> SimpleNamespace:
        return SimpleNamespace(problem=problem, solution=SimpleNamespace(routes=[
            SimpleNamespace(depot=d, stops=[SimpleNamespace(order_id=o) for o in stops])
            for d, stops in routes.items()]))  # fmt: skip

    inputs = SimpleNamespace(region=SimpleNamespace(trunk=trunk), centre_id="C")
    no_evening = SimpleNamespace(
        inputs=inputs,
        morning=run({"h1": 8 * 3600}, [], False),
        evening=None,
        planned=day({"h1": ["d1", "p1"], "C": ["d2"]}),
    )
    (warning,) = PlanResult.trunk_warnings(no_evening)  # type: ignore[arg-type]
    assert warning.startswith("no evening trunk run: the pickups of hub(s) h1 stay")
    on_time = SimpleNamespace(**{**vars(no_evening), "planned": day({"h1": ["d1"], "C": ["p1"]})})
    assert PlanResult.trunk_warnings(on_time) == []  # type: ignore[arg-type]


def _hub_day(
    hub_departure: int, centre_departure: int = 7 * H
) -> tuple[RoutingProblem, RoutingSolution]:
    """The centre's van takes dB (1 parcel), the hub's van dA (20 parcels), each leaving at the
    time given (hand-made schedules, no solver)."""
    orders = (
        Order("dA", "delivery", 2, {"kg": 40, "parcels": 20}, depot="hub", service_s=300),
        Order("dB", "delivery", 3, {"kg": 2, "parcels": 1}, depot="centre", service_s=300),
    )
    problem = RoutingProblem(
        T, D, (Depot("centre", 0), Depot("hub", 1)),
        (van("centre", 6 * H), van("hub", 6 * H)), orders,
    )  # fmt: skip
    vehicles = {v.depot.id: v for v in vehicles_of(problem)}
    routes = [
        route_schedule(problem, vehicles["hub"], [orders[0]], hub_departure),
        route_schedule(problem, vehicles["centre"], [orders[1]], centre_departure),
    ]
    solution = RoutingSolution(
        tuple(routes), (), compute_kpis(problem, routes, 0), "hand-made", 0.0
    )
    return problem, solution


def test_the_validator_catches_a_hub_delivery_whose_parcel_never_reached_the_hub() -> None:
    """bb20 D12: the hub's van left at 07:00 with a parcel no morning trunk run brought; each
    route alone was valid, so the validator said ok. The day is now checked against the run:
    trunk 07:00-08:00 to the hub, 30 min handling, so the hub's vans leave from 08:30 with at most
    what the trunk unloaded, and the centre's from the 07:00 cut-off."""
    s = trunk_settings()
    sub = np.ix_([0, 1], [0, 1])

    def morning(parcels: int | None) -> TrunkRun:
        loads = {} if parcels is None else {"hub": {"kg": 40, "parcels": parcels}}
        return route_trunk(
            trunk_problem(T[sub], D[sub], np.ones((2, 2), bool), ["hub"], loads, s, "morning",
                          centre_id="centre", latest_s=s.hub_latest_arrival_s),
            OPTIONS, "morning")  # fmt: skip

    def check(run: TrunkRun, day: tuple[RoutingProblem, RoutingSolution]) -> list[str]:
        found = supply_violations(*day, run.problem, run.solution,
                                  handling_s=s.hub_handling_s, cutoff_s=s.cutoff_s)  # fmt: skip
        assert all(v.rule == "supply" for v in found)
        return [v.message for v in found]

    supplied = morning(20)
    assert supplied.hub_arrival_s == {"hub": 8 * H}
    assert check(supplied, _hub_day(8 * H + 1800)) == []
    # no trunk run reached the hub: the van at 07:00 is valid as a route, not as a supply
    at_seven = _hub_day(7 * H)
    assert validate_routes(*at_seven).ok
    assert check(morning(None), at_seven) == [
        "trip 1 leaves hub hub with deliveries (dA), but no morning trunk run reached the hub: "
        "their parcels are at the county centre"
    ]
    assert check(supplied, _hub_day(8 * H)) == [
        "trip 1 leaves hub hub at 28800 s with deliveries (dA), before the trunk's arrival "
        "(28800 s) + handling (1800 s)"
    ]
    assert check(morning(10), _hub_day(8 * H + 1800)) == [
        "hub hub's vans deliver 20 parcels, the morning trunk run brought it 10 parcels"
    ]
    assert check(supplied, _hub_day(8 * H + 1800, centre_departure=6 * H)) == [
        "trip 1 leaves the county centre at 21600 s with deliveries (dB) before the cut-off at "
        "25200 s"
    ]

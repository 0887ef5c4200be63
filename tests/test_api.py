"""The notebook API: Plan objects, hub changes by id or township, cold chain, compare, outputs."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import folium
import pandas as pd
import pytest

import lastmile
from lastmile.errors import InfeasibleError, InputError
from lastmile.plan import run_plan
from lastmile.scenario import load_scenario
from tests.conftest import TEST_SCALE

SETTINGS = dict(
    network="synthetic",
    standin_scale=TEST_SCALE,
    routing_time_limit_s=5.0,
    routing_solution_limit=3,
    location_time_limit_s=20.0,
    p=4,
)


@pytest.fixture(scope="module")
def plan(small_cache: Path) -> lastmile.Plan:
    return lastmile.Plan.load(cache=small_cache, **SETTINGS)


def test_load_equals_run_plan(plan: lastmile.Plan, small_cache: Path) -> None:
    alone = run_plan(load_scenario(**SETTINGS), cache=small_cache)
    assert json.dumps(plan.kpis, sort_keys=True) == json.dumps(alone.kpis(), sort_keys=True)
    hubs = plan.hubs
    assert list(hubs["role"]) == ["county centre"] + ["new hub"] * 4
    assert set(hubs["id"][1:]) <= set(plan.candidates["id"])


def test_swap_hub_by_township_names(plan: lastmile.Plan) -> None:
    old = plan.hubs.iloc[1]
    taken = set(plan.hubs["township"])
    new_code = next(
        t.code for t in plan.region.townships
        if t.code not in taken and t.code in set(plan.candidates["township"])
    )  # fmt: skip
    new_name = plan.region.township(new_code).name
    alt = plan.swap_hub(old["township_name"], new_name)
    assert old["id"] not in set(alt.hubs["id"])
    assert new_code in set(alt.hubs["township"])
    assert len(alt.hubs) == len(plan.hubs)
    # a township removes its every candidate: no hub is left there under another id
    assert old["township"] not in set(alt.hubs["township"])
    in_town = plan.candidates.loc[plan.candidates["township"] == old["township"], "id"]
    assert set(alt.excluded) == set(in_town) and old["id"] in alt.excluded
    # a one-for-one swap (bb23 D10): the other hubs stay where they were, forced
    others = set(plan.hubs["id"]) - {old["id"]}
    assert others <= set(alt.hubs["id"]) and len(set(alt.hubs["id"]) - others) == 1
    assert set(alt.forced) == set(alt.hubs.loc[alt.hubs["role"] == "new hub", "id"])
    assert alt.hub_changes[-1].endswith("; kept the other 3 hub(s) where they were")
    # the plan it came from is unchanged (immutable)
    assert old["id"] in set(plan.hubs["id"])
    # without the hub: the location model picks the replacement
    fewer = plan.without_hub(str(old["id"]))
    assert old["id"] not in set(fewer.hubs["id"]) and len(fewer.hubs) == len(plan.hubs)


def test_removed_hub_does_not_come_back_under_another_id(plan: lastmile.Plan) -> None:
    # a settlement and the main-road junction beside it can share a road node: removing one
    # must not reopen the same site as the other
    fac = plan.inputs.facilities
    node_of = dict(zip(fac["id"], fac["node"], strict=True))
    hubs = plan.hubs[plan.hubs["role"] == "new hub"]
    shared = [h for h in hubs["id"] if (fac["node"] == node_of[h]).sum() > 1]
    assert shared, "the small stand-in has hubs sharing their node with another candidate"
    for hub in shared[:2]:
        fewer = plan.without_hub(str(hub))
        assert node_of[hub] not in {node_of[h] for h in fewer.hubs["id"]}
        assert set(fac.loc[fac["node"] == node_of[hub], "id"]) <= set(fewer.excluded)


def test_kpis_edited_by_the_caller_leave_the_plan_unchanged(plan: lastmile.Plan) -> None:
    before = json.dumps(plan.kpis, sort_keys=True)
    figures = plan.kpis
    figures["lead_time"]["plan"]["parcel"]["mean_min"] = -1.0
    figures["routed_compared"]["plan"]["km"] = -1.0
    figures["hubs"][0]["id"] = "edited"
    assert json.dumps(plan.kpis, sort_keys=True) == before
    assert "-1.0" not in plan.summary()


def test_with_cold_chain_changes_the_orders_limits(plan: lastmile.Plan) -> None:
    tight = plan.with_cold_chain(produce_min=45)
    orders = tight.inputs.orders
    produce = orders[orders["product_class"] == "produce"]
    assert len(produce) > 0 and (produce["max_in_vehicle_s"] == 45 * 60).all()
    assert tight.region.cold_chain.produce_s == 45 * 60
    assert list(tight.hubs["id"]) == list(plan.hubs["id"])  # hubs do not depend on the limit


def test_changed_plans_record_their_change_in_the_manifest(plan: lastmile.Plan) -> None:
    from lastmile.report import manifest

    base = manifest(plan.result)
    assert base["forced_hub_sites"] == [] and base["excluded_hub_sites"] == []
    hub = str(plan.hubs["id"].iloc[1])
    fewer = plan.without_hub(hub)
    m = manifest(fewer.result)
    assert hub in m["excluded_hub_sites"] and m["excluded_hub_sites"] == list(fewer.excluded)
    assert f"forced none; excluded {', '.join(fewer.excluded)}." in fewer.summary()
    assert "Hub changes made through the Python API" not in plan.summary()
    tight = plan.with_cold_chain(produce_min=45)
    assert manifest(tight.result)["inputs"]["region"]["source"].endswith(
        " + Plan.with_cold_chain(produce_min=45)"
    )
    assert manifest(plan.with_settings(p=3).result)["scenario"].endswith(
        " + Plan.with_settings(p=3)"
    )


def test_compare_plans_table_and_map(plan: lastmile.Plan) -> None:
    fewer = plan.with_settings(p=2)
    # bb23 D11: other hubs, so each baseline routes other catchments from the centre: said
    with pytest.warns(UserWarning, match=r"each baseline \(the county centre alone\) is routed by"):
        table, dual = lastmile.compare_plans(plan, fewer, labels=("p4", "p2"))
    row = table.loc["access_time.after.mean_min"]
    assert row["difference"] == pytest.approx(row["p2"] - row["p4"])
    assert row["p2"] >= row["p4"]  # fewer hubs cannot bring villages closer
    html = dual.get_root().render()
    assert "p4 (left) vs p2 (right)" in html
    # each side's km with its trunk runs added (the last-mile km alone would not compare)
    trunk = sum(r["km"] for r in plan.kpis["trunk"]["runs"].values())
    assert trunk > 0 and f"+ trunk {trunk:,.0f} km" in html
    assert all(isinstance(d, float | int) for d in table["difference"].dropna())
    assert table.loc["orders", "difference"] == 0
    # another order day: the comparison says its routed figures are not like for like
    with pytest.warns(UserWarning, match=r"route different order days \(seed 2026 vs 7; "):
        other_day, _ = lastmile.compare_plans(
            plan, plan.with_settings(seed=7), labels=("s2026", "s7")
        )
    # bb23 D3: the compliance share covers each day's perishable orders: no difference; the
    # counts keep theirs
    compliance = other_day.loc["cold_chain.plan.compliance"]
    assert compliance["difference"] is None or pd.isna(compliance["difference"])
    counts = other_day.loc["cold_chain.plan.perishable_orders"]
    assert counts["difference"] == counts["s7"] - counts["s2026"]
    # bb24 D2: the trunk runs carry each day's parcels: no difference either
    trunk = [k for k in other_day.index if k.startswith("trunk.runs.") and k.endswith(".km")]
    assert trunk and all(pd.isna(other_day.loc[k, "difference"]) for k in trunk)


def test_explore_and_to_folder(plan: lastmile.Plan, tmp_path: Path) -> None:
    m = plan.explore()
    assert isinstance(m, folium.Map)
    assert "synthetic stand-in" in m.get_root().render()
    assert isinstance(plan.explore("baseline"), folium.Map)
    paths = plan.to_folder(tmp_path / "out", map_assets="cdn")
    written = json.loads(paths["kpis"].read_text(encoding="utf-8"))
    assert written == json.loads(json.dumps(plan.kpis))


def test_bad_changes_are_clear_errors(plan: lastmile.Plan) -> None:
    with pytest.raises(InputError, match="'Atlantis' is neither a new hub id of this plan"):
        plan.without_hub("Atlantis")
    centre = str(plan.hubs.loc[plan.hubs["role"] == "county centre", "id"].iloc[0])
    for change in (plan.without_hub, lambda c: plan.swap_hub(c, "Atlantis")):
        with pytest.raises(InputError, match=f"'{centre}' is the county centre") as e:
            change(centre)
        assert str(plan.hubs["id"].iloc[1]) in (e.value.hint or "")
    # a known site that is not a hub, and a township that has a hub already
    hub = str(plan.hubs["id"].iloc[1])
    spare = next(c for c in plan.candidates["id"] if c not in set(plan.hubs["id"]))
    with pytest.raises(InputError, match=f"'{spare}' is not a new hub of this plan"):
        plan.without_hub(spare)
    with pytest.raises(InputError, match=f"'{centre}' is the county centre"):
        plan.with_hub(centre)
    # changes that leave no room name themselves beside the location model's reason
    every = tuple(str(c) for c in plan.candidates["id"])
    with pytest.raises(InfeasibleError, match=f"hub changes force 0 and exclude {len(every)}"):
        lastmile.Plan._from_inputs(plan.inputs, (), every, False)
    taken = plan.region.township(str(plan.hubs["township"].iloc[2])).name
    with pytest.raises(InputError, match=f"township '{taken}' already has hub"):
        plan.swap_hub(hub, taken)
    # a candidate site id in that township too: forcing it would move the hub there unasked
    held = str(plan.hubs["id"].iloc[2])
    code = plan.hubs["township"].iloc[2]
    cands = plan.candidates
    site = next(
        str(c)
        for c, t in zip(cands["id"], cands["township"], strict=True)
        if t == code and c != held
    )
    with pytest.raises(
        InputError, match=f"site '{site}' is in township '{taken}', which already has hub '{held}'"
    ) as e:
        plan.with_hub(site)
    assert f"swap_hub('{held}', '{site}')" in (e.value.hint or "")
    with pytest.raises(InputError, match="unknown fleet type"):
        plan.with_fleet(spaceship=2)
    with pytest.raises(InputError, match="produce_min = 0 is not a finite number of minutes > 0"):
        plan.with_cold_chain(produce_min=0)
    with pytest.raises(InputError, match="unknown scenario"):
        plan.explore("tomorrow")


def test_bad_settings_are_refused_before_any_work() -> None:
    # Plan.load checks its keyword settings like [plan] keys, before the network is opened
    with pytest.raises(InputError, match=r"unknown setting\(s\) \['seeed'\]"):
        lastmile.Plan.load(seeed=3)
    with pytest.raises(InputError, match=r"\[plan\] seed = -1 is not a seed"):
        lastmile.Plan.load(seed=-1)
    with pytest.raises(InputError, match="routing_time_limit_s = inf must be positive and at most"):
        lastmile.Plan.load(routing_time_limit_s=float("inf"))
    with pytest.raises(InputError, match="routing_first_solution = 'bogus' unknown"):
        lastmile.Plan.load(routing_first_solution="bogus")


# ---------------------------------------------------------------------- bad arguments at the edge
# Every public entry point refuses a wrong type or value with an InputError naming the argument
# (never a TypeError / AttributeError / IndexError from deep inside), with the bounds the scenario
# and region file parser applies. The checks run before any work: these tests are fast.


@pytest.mark.parametrize(
    "value", ["60", [60], True, 0, -5, float("nan"), float("inf"), 1e12, 10081]
)
def test_with_cold_chain_refuses_what_region_files_refuse(
    plan: lastmile.Plan, value: object
) -> None:
    with pytest.raises(
        InputError, match=r"produce_min = .* is not a finite number of minutes"
    ) as e:
        plan.with_cold_chain(produce_min=value)
    assert "<= 10080 (one week)" in str(e.value) and e.value.hint


def test_with_cold_chain_accepts_a_week(plan: lastmile.Plan) -> None:
    # the upper bound itself is allowed (as in region files); only the limits change
    week = plan.with_cold_chain(tea_min=10080)
    assert week.region.cold_chain.tea_s == 10080 * 60


def test_with_fleet_refuses_what_region_files_refuse(plan: lastmile.Plan) -> None:
    ids = [f.id for f in plan.region.fleet]
    with pytest.raises(InputError, match="count_per_depot is 0 for every vehicle type"):
        plan.with_fleet(**dict.fromkeys(ids, 0))
    for bad in (10**12, 1001, -1, 2.0, True, "3", None):
        with pytest.raises(InputError, match=rf"fleet type '{ids[0]}': count .* must be a whole"):
            plan.with_fleet(**{ids[0]: bad})
    with pytest.raises(InputError, match=r"<= 1000 \(vehicles per depot\)"):
        plan.with_fleet(**{ids[0]: 10**12})


def test_load_refuses_non_path_arguments(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"Plan.load: config = 5 is not a file path \(int\)"):
        lastmile.Plan.load(5)
    with pytest.raises(InputError, match=r"Plan.load: cache = 5 is not a file path"):
        lastmile.Plan.load(cache=5)
    with pytest.raises(InputError, match=r"Plan.load: region = \['a.toml'\] is not a file path"):
        lastmile.Plan.load(region=["a.toml"])
    with pytest.raises(InputError, match="config = '' is an empty path"):
        lastmile.Plan.load("")
    with pytest.raises(InputError, match="is a directory"):
        lastmile.Plan.load(tmp_path)
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match=r"cache = .* is a file"):
        lastmile.Plan.load(cache=tmp_path / "file")
    with pytest.raises(InputError, match="parallel = 'no' is not True or False"):
        lastmile.Plan.load(parallel="no")


def test_hub_changes_refuse_non_strings(plan: lastmile.Plan) -> None:
    with pytest.raises(InputError, match="swap_hub: old = 5 is not a non-empty string") as e:
        plan.swap_hub(5, 6)
    assert "township" in (e.value.hint or "")
    hub = str(plan.hubs["id"].iloc[1])
    with pytest.raises(InputError, match="swap_hub: new = None is not a non-empty string"):
        plan.swap_hub(hub, None)
    with pytest.raises(InputError, match="without_hub: which = 5 is not a non-empty string"):
        plan.without_hub(5)
    with pytest.raises(InputError, match="with_hub: which = '' is not a non-empty string"):
        plan.with_hub("")


def test_compare_plans_refuses_bad_arguments(plan: lastmile.Plan) -> None:
    with pytest.raises(InputError, match="compare_plans: b = 'x' is not a Plan"):
        lastmile.compare_plans(plan, "x")
    with pytest.raises(InputError, match="compare_plans: a = None is not a Plan"):
        lastmile.compare_plans(None, plan)
    for labels in (("a",), ("a", "b", "c"), "ab", ("a", 2), ("a", "")):
        with pytest.raises(InputError, match=r"labels = .* is not a pair of two names"):
            lastmile.compare_plans(plan, plan, labels=labels)
    with pytest.raises(InputError, match="the two labels are the same"):
        lastmile.compare_plans(plan, plan, labels=("a", "a"))
    # bb23 D5: the table's own column would have overwritten plan a's
    with pytest.raises(InputError, match="'difference' is the table's column of b - a"):
        lastmile.compare_plans(plan, plan, labels=("difference", "b"))


def test_other_methods_refuse_bad_arguments(plan: lastmile.Plan, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="explore: unknown scenario 5"):
        plan.explore(5)
    with pytest.raises(InputError, match="to_folder: out = 5 is not a file path"):
        plan.to_folder(5)
    with pytest.raises(InputError, match="to_folder: out = None is not a folder path"):
        plan.to_folder(None)
    with pytest.raises(InputError, match="to_folder: unknown map assets mode 'offline'"):
        plan.to_folder(tmp_path / "out", map_assets="offline")
    assert not (tmp_path / "out").exists()  # refused before anything is written
    with pytest.raises(InputError, match=r"\[plan\] p = True should be int"):
        plan.with_settings(p=True)
    with pytest.raises(InputError, match=r"\[plan\] seed = -1 is not a seed"):
        plan.with_settings(seed=-1)
    with pytest.raises(InputError, match=r"with_settings: unknown setting\(s\) \['pp'\]"):
        plan.with_settings(pp=3)
    with pytest.raises(InfeasibleError, match="with_settings: p = 1000 new hubs, but at most"):
        plan.with_settings(p=1000)


# ---------------------------------------------------------------------- bb15 (session 11)


def _free_township_whose_seat_sorts_late(plan: lastmile.Plan) -> tuple[str, str]:
    """A township without a hub whose most populous candidate settlement is not its first
    candidate by id (the site the id order used to give), and that settlement."""
    fac, pop = plan.inputs.facilities, plan.inputs.villages.set_index("id")["population"]
    cands = fac[(fac["role"] == "candidate") & ~fac["township"].isin(set(plan.hubs["township"]))]
    for code, group in cands.groupby("township", sort=True):
        settlements = [str(i) for i in group["id"] if i in pop.index]
        best = max(settlements, key=lambda i: (pop[i], [-ord(c) for c in i]))
        if best != min(settlements):
            return plan.region.township(str(code)).name, best
    raise AssertionError("the small stand-in has such a township")


def test_with_hub_by_township_forces_its_most_populous_settlement(plan: lastmile.Plan) -> None:
    """bb15 D1: a township gave its first candidate in id order (a small village), not its most
    populous settlement as documented; the plan now says which site it chose and why."""
    from lastmile.report import manifest

    town, seat = _free_township_whose_seat_sorts_late(plan)
    alt = plan.with_hub(town)
    assert alt.forced == (seat,) and seat in set(alt.hubs["id"])
    people = int(plan.inputs.villages.set_index("id").at[seat, "population"])
    (change,) = alt.hub_changes
    assert change.startswith(f"with_hub({town!r}): forced {seat} (")
    assert f"most populous candidate settlement ({people:,} people)" in change
    assert manifest(alt.result)["hub_changes"] == [change] and f"- {change}" in alt.summary()
    assert manifest(plan.result)["hub_changes"] == [] and plan.hub_changes == ()
    # the change record carries over to plans derived further
    assert alt.without_hub(seat).hub_changes[0] == change


def test_derived_plans_ignore_edits_to_the_parents_tables(plan: lastmile.Plan) -> None:
    """bb15 D6: an in-place edit of plan.inputs.orders (a notebook habit) was routed by every
    plan derived later; derived plans now re-plan from the prepared inputs, not the shown ones."""
    orders, fac = plan.inputs.orders, plan.result.inputs.facilities
    kg, names = orders["kg"].copy(), fac["name"].copy()
    try:
        orders["kg"] = kg * 1000  # nothing could carry this: every order unserved
        fac["name"] = "edited"
        hub = str(plan.hubs["id"].iloc[1])
        fewer = plan.without_hub(hub)
    finally:
        orders["kg"], fac["name"] = kg, names
    assert list(fewer.inputs.orders["kg"]) == list(kg)
    assert fewer.kpis["unserved"]["plan"]["orders"] == plan.kpis["unserved"]["plan"]["orders"]
    assert "edited" not in set(fewer.hubs["name"])
    # the parent keeps what it computed
    assert plan.inputs.orders is plan.result.inputs.orders


@pytest.fixture(scope="module")
def tight(plan: lastmile.Plan) -> lastmile.Plan:
    """A tighter produce limit: the baseline leaves produce orders unserved, the plan not."""
    return plan.with_cold_chain(produce_min=60)


def test_compare_plans_compares_the_same_orders(plan: lastmile.Plan, tight: lastmile.Plan) -> None:
    """bb15 D3: lead-time and routed rows compared each plan over its own compared orders (50 vs
    46), so a cold-chain change looked 180 km cheaper on an unchanged plan day."""
    e2e_a, e2e_b = plan.result.end_to_end, tight.result.end_to_end
    assert e2e_a is not None and e2e_b is not None
    ka, kb = plan.kpis, tight.kpis
    assert ka["orders_compared"] != kb["orders_compared"]  # the case the defect needs
    with pytest.warns(UserWarning, match="cover different orders") as caught:
        table, _ = lastmile.compare_plans(plan, tight, labels=("p120", "p60"))
    assert not any("different order days" in str(w.message) for w in caught)
    assert table.columns.name == "difference = p60 - p120"
    for key in ("routed_compared.plan.km", "lead_time.plan.parcel.mean_min",
                "lead_time.baseline.pickup_to_cold_room.mean_min",
                "routed_totals.baseline.km"):  # fmt: skip
        assert pd.isna(table.loc[key, "difference"]), key
        assert table.loc[key, "p120"] is not None  # each plan's own figure is still shown
    # order counts keep theirs (how many fewer orders the figures cover), as do figures over the
    # same orders (b - a)
    assert (
        table.loc["orders_compared", "difference"] == kb["orders_compared"] - ka["orders_compared"]
    )
    row = table.loc["routed_totals.plan.km"]
    assert row["difference"] == pytest.approx(row["p60"] - row["p120"])
    # bb23 D3: a reason only the tight plan's kpis.json lists counts 0 for the other, not None
    unserved = kb["unserved"]["baseline"]["by_reason"]
    assert unserved and not ka["unserved"]["baseline"]["by_reason"]  # the case the defect needs
    for reason, n in unserved.items():
        row = table.loc[f"unserved.baseline.by_reason.{reason}"]
        assert (row["p120"], row["p60"], row["difference"]) == (0, n, n)
    # plan against plan over the orders both plans served on their plan day
    served = [
        e[(e["scenario"] == "plan") & e["served"]].set_index("order_id")
        for e in (e2e_a.orders, e2e_b.orders)
    ]
    both = sorted(set(served[0].index) & set(served[1].index))
    assert table.loc["same_orders.orders", "p120"] == len(both) == ka["orders"]
    km = [round(float(s.loc[both, "km"].sum()), 1) for s in served]
    assert list(table.loc["same_orders.routed.km", ["p120", "p60"]]) == km
    assert table.loc["same_orders.routed.km", "difference"] == pytest.approx(km[1] - km[0])
    parcels = [s.loc[both] for s in served]
    mean = [round(float(p.loc[p["kind"] == "delivery", "lead_min"].mean()), 1) for p in parcels]
    assert list(table.loc["same_orders.parcel.mean_min", ["p120", "p60"]]) == mean
    assert str(len(both)) in str(table.loc["covers.same_orders", "p120"])


def _pane(m: folium.Map) -> tuple[list[str], dict[str, str]]:
    """A map pane's hub marker tooltips and its township "minutes saved" labels by code."""
    tips: list[str] = []
    saved: dict[str, str] = {}
    for child in m._children.values():
        if not isinstance(child, folium.FeatureGroup):
            continue
        for item in child._children.values():
            if child.layer_name.startswith("Hubs ("):
                tips += [t.text for t in item._children.values() if isinstance(t, folium.Tooltip)]
            elif child.layer_name.startswith("Townships") and isinstance(item, folium.GeoJson):
                for f in item.data["features"]:
                    saved[f["properties"]["code"]] = f["properties"]["saved"]
    return tips, saved


def test_compare_plans_map_shows_each_plans_own_hubs_and_townships(plan: lastmile.Plan) -> None:
    """bb15 D2: both panes drew the union of the two plans' hubs (the removed hub on the
    alternative's pane) and plan A's township savings."""
    old = plan.hubs.iloc[1]
    town, seat = _free_township_whose_seat_sorts_late(plan)
    alt = plan.swap_hub(str(old["id"]), town)
    with pytest.warns(UserWarning, match="each baseline .* is routed by its own plan's"):
        _, dual = lastmile.compare_plans(plan, alt, labels=("optimal", "alternative"))
    for m, p in ((dual.m1, plan), (dual.m2, alt)):
        tips, saved = _pane(m)
        names = [f"New hub: {n}" for n in p.hubs.loc[p.hubs["role"] == "new hub", "name"]]
        assert sorted(t for t in tips if t.startswith("New hub")) == sorted(names)
        towns = p.result.study.townships.set_index("code")["minutes_saved"]
        assert {str(c): saved[str(c)] for c in towns.index} == {
            str(c): f"{v:.1f} min" for c, v in towns.items()
        }
    # the removed hub is on the left pane only, and the two panes' figures differ where it was
    assert f"New hub: {old['name']}" not in _pane(dual.m2)[0]
    code = str(old["township"])
    assert _pane(dual.m1)[1][code] != _pane(dual.m2)[1][code]
    # swap_hub resolves a township as with_hub does: its most populous settlement (bb15 D1)
    assert alt.forced[-1] == seat and "most populous candidate settlement" in alt.hub_changes[0]


def test_compare_plans_on_two_road_networks_names_them(plan: lastmile.Plan, tmp_path: Path) -> None:
    """bb23 D4: two stand-in scales were "different order days (seed 2026 vs 2026)", and the
    advice "compare access time" led to access-time differences over different settlements."""
    # the other stand-in goes to a cache of its own: the shared one keeps one stand-in file
    own = replace(plan, _prepared=replace(plan._source, cache=tmp_path / "cache"))
    other = own.with_settings(standin_scale=0.12)
    with pytest.warns(UserWarning) as caught:
        table, _ = lastmile.compare_plans(plan, other, labels=("a", "b"))
    (message,) = [str(w.message) for w in caught]
    assert "a and b come from different road networks (a: synthetic stand-in" in message
    assert "order days" not in message and "compare access time" not in message
    assert pd.isna(table.loc["access_time.after.mean_min", "difference"])
    villages = table.loc["villages"]
    assert villages["difference"] == villages["b"] - villages["a"] != 0
    # bb24 D1: "only counts keep a difference" held for location and trunk rows too
    kept = [k for k in table.index if pd.notna(table.loc[k, "difference"])]
    assert kept and all(lastmile.api._is_order_count(k) for k in kept), kept


def test_a_plan_whose_tables_were_edited_in_place_refuses_to_write_them(
    plan: lastmile.Plan, tmp_path: Path
) -> None:
    """bb23 D1: a notebook cell that edited plan.result's stops (or dropped orders from
    plan.inputs.orders) in place made to_folder write files that disagree with kpis.json, or
    fail with a pandas KeyError; compare_plans compared the edited figures."""
    plan.to_folder(tmp_path / "first")
    plan.to_folder(tmp_path / "again")  # writing does not count as an edit
    edited = replace(plan)  # the same tables (a shallow copy), fingerprinted as made
    stops = edited.result.planned.stops
    saved = stops["arrival_s"].copy()
    stops["arrival_s"] = stops["arrival_s"] / 60
    try:
        with pytest.raises(InputError) as e:
            edited.to_folder(tmp_path / "edited")
        assert e.value.message.startswith(
            "to_folder: plan.result.planned.stops was changed in place after the plan was made"
        )
        assert "edit a copy" in (e.value.hint or "")
        assert not (tmp_path / "edited").exists()
        for call in (lambda: edited.kpis, edited.summary, edited.explore,
                     lambda: lastmile.compare_plans(plan, edited)):  # fmt: skip
            with pytest.raises(InputError, match=r"plan\.result\.planned\.stops was changed"):
                call()
    finally:
        stops["arrival_s"] = saved
    edited.to_folder(tmp_path / "restored")  # the same values again: accepted
    orders = edited.inputs.orders
    kept = orders["kg"].copy()
    orders["kg"] = 0
    try:  # bb24 D5: named as the caller reaches it
        with pytest.raises(InputError, match=r"^to_folder: plan\.inputs\.orders was changed"):
            edited.to_folder(tmp_path / "orders")
    finally:
        orders["kg"] = kept


def test_summary_names_the_cold_chain_limits_and_fleet_it_routed_with(
    plan: lastmile.Plan,
) -> None:
    """bb23 D7: two summaries made with other cold-chain limits or fleets read alike but for
    their numbers; the API's setting changes were in manifest.json only."""
    default = plan.summary()
    cold = plan.region.cold_chain
    assert (
        f"Limits in vehicle by product class: produce {cold.produce_s / 60:g} min, tea "
        f"{cold.tea_s / 60:g} min, parcel {cold.parcel_s / 60:g} min" in default
    )
    assert "Settings changed through the Python API" not in default
    changed = plan.with_cold_chain(produce_min=60).with_fleet(van=1).summary()
    assert "Limits in vehicle by product class: produce 60 min" in changed
    assert (
        "Settings changed through the Python API (also in manifest.json): "
        "Plan.with_cold_chain(produce_min=60); Plan.with_fleet(van=1)." in changed
    )
    assert re.search(r"Fleet per depot \(the county centre and each hub\): .*van 1", changed)
    # bb24 D4: with_settings changes and the order day too
    other = plan.with_settings(seed=7).summary()
    assert "Plan.with_settings(seed=7)" in other
    n = len(plan.inputs.orders)
    assert f"Order day: generated from the settlements' demand, seed 2026 ({n} orders)." in default


def test_swap_hub_to_a_site_that_is_a_hub_already_is_refused(plan: lastmile.Plan) -> None:
    """bb24 D6: swap_hub(h1, h2) with h2 a hub acted as without_hub(h1), logged as a swap."""
    h1, h2 = (str(h) for h in plan.hubs["id"].iloc[1:3])
    with pytest.raises(InputError, match=f"gives the site '{h2}', which is already a hub"):
        plan.swap_hub(h1, h2)


def test_a_hub_change_can_be_undone_by_a_later_one(plan: lastmile.Plan) -> None:
    """bb23 D2: after without_hub(h), bringing h back (with_hub, or the swap_hub its refusal
    suggests) was refused as "both forced and excluded": the later change now wins."""
    hub = plan.hubs.iloc[1]
    fewer = plan.without_hub(str(hub["id"]))
    same_town = fewer.hubs[
        (fewer.hubs["township"] == hub["township"]) & (fewer.hubs["role"] == "new hub")
    ]
    if len(same_town):  # its replacement in the same township: swap it back
        with pytest.raises(InputError, match=r"swap_hub\("):
            fewer.with_hub(str(hub["id"]))
        back = fewer.swap_hub(str(same_town["id"].iloc[0]), str(hub["id"]))
    else:
        back = fewer.with_hub(str(hub["id"]))
    assert hub["id"] in set(back.hubs["id"]) and hub["id"] not in back.excluded


def test_a_hub_in_the_centres_township_is_refused_with_its_cause(plan: lastmile.Plan) -> None:
    """bb23 D6: "no candidate site in township '331123001'" and 20 of the ids: the township has
    sites, excluded by exclude_centre_township; the list now says it is cut."""
    with pytest.raises(InputError) as e:
        plan.with_hub("331123001")
    assert e.value.message == (
        "township 妙高街道 (331123001) is the county centre's, where no new hub goes ([plan] "
        "exclude_centre_township = true)"
    )
    assert "with_settings(exclude_centre_township=False)" in (e.value.hint or "")
    with pytest.raises(InputError) as e:
        plan.with_hub("osm-99")
    n = len(plan.candidates)
    assert n > 20 and f", ... (20 of {n}; all in plan.candidates)" in (e.value.hint or "")


def test_unknown_site_ids_are_named_as_such(plan: lastmile.Plan) -> None:
    """bb15 D8: a mistyped hub id was reported as an unknown township, listing townships only."""
    hub = str(plan.hubs["id"].iloc[1])
    with pytest.raises(
        InputError, match="'osm-9999999' is neither a new hub id of this plan nor a township"
    ) as e:
        plan.without_hub("osm-9999999")
    assert f"new hub ids: {hub}" in (e.value.hint or "") and "county-centre" not in (
        e.value.hint or ""
    )
    assert "townships (9-digit code, Chinese name or pinyin): 妙高街道 (331123001)" in (
        e.value.hint or ""
    )
    with pytest.raises(InputError, match=r"nor a township .*\(it has leading or trailing white"):
        plan.without_hub(f"{hub} ")
    with pytest.raises(
        InputError, match="'osm-99' is neither a candidate site id of this plan nor a township"
    ) as e:
        plan.with_hub("osm-99")
    assert f"this plan's hubs: {hub}" in (e.value.hint or "")
    with pytest.raises(InputError, match="'Atlantis' is neither a new hub id"):
        plan.swap_hub("Atlantis", "osm-99")


def test_empty_paths_are_refused(plan: lastmile.Plan, tmp_path: Path) -> None:
    """bb15 D9: Plan.load(orders="") planned a generated day without a word (and a scenario
    file's orders = "" read the file's folder)."""
    toml = tmp_path / "empty_orders.toml"
    toml.write_text('[plan]\norders = ""\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"empty_orders.toml \[plan\] orders = '' is an empty"):
        load_scenario(toml)
    for key in ("orders", "local_extract", "villages", "boundaries", "outline"):
        with pytest.raises(InputError, match=rf"\[plan\] {key} = ' ?' is an empty path") as e:
            lastmile.Plan.load(**{**SETTINGS, key: ""})
        assert "is a variable unset?" in (e.value.hint or "")
    with pytest.raises(InputError, match="orders = ' ' is an empty path") as e:
        plan.with_settings(orders=" ")
    assert "a generated day of orders" in (e.value.hint or "")


def test_cold_chain_limit_under_a_second_is_refused(plan: lastmile.Plan) -> None:
    """bb15 D10: 0.001 min passed the check, rounded to 0 s and failed deep in routing."""
    for value in (0.001, 0.008):
        with pytest.raises(
            InputError, match=rf"with_cold_chain: produce_min = {value} is less than one second"
        ):
            plan.with_cold_chain(produce_min=value)


def test_more_forced_hubs_than_p_says_raise_p(plan: lastmile.Plan) -> None:
    """bb15 D11: the hint said "lower p" when the forced hubs exceed p."""
    cands = plan.candidates.drop_duplicates("township")
    forced = tuple(str(c) for c in cands["id"][:5])
    assert plan.inputs.scenario.plan.p == 4
    with pytest.raises(InfeasibleError, match="5 forced candidates exceed p = 4") as e:
        lastmile.Plan._from_inputs(plan.inputs, forced, (), False)
    assert "raise p to at least 5 with with_settings(p=5)" in (e.value.hint or "")
    assert "lower p" not in (e.value.hint or "")


@pytest.mark.parametrize(
    ("variable", "text"),
    [("LASTMILE_STANDIN_SCALE", "0,1"), ("LASTMILE_ROUTING_SOLUTION_LIMIT", "1e3")],
)
def test_notebook_settings_name_a_mistyped_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, text: str
) -> None:
    """bb15 D12: a decimal comma in the notebooks' size knobs was a bare ValueError traceback."""
    from lastmile.api import notebook_settings

    monkeypatch.setenv("LASTMILE_STANDIN_SCALE", "0.1")
    monkeypatch.setenv("LASTMILE_ROUTING_SOLUTION_LIMIT", "20")
    assert notebook_settings()["standin_scale"] == 0.1
    assert notebook_settings()["routing_solution_limit"] == 20
    monkeypatch.setenv(variable, text)
    with pytest.raises(InputError, match=f"{variable} = '{re.escape(text)}' is not"):
        notebook_settings()


def test_settings_that_rebuild_the_network_after_hub_changes_say_so(
    plan: lastmile.Plan, tmp_path: Path
) -> None:
    """bb15 D11: another stand-in scale gives other candidate sites; the hub changes made before
    named sites that no longer exist, which was reported as an infeasible request ("lower p")."""
    hub = str(plan.hubs["id"].iloc[1])
    alt = plan.without_hub(hub)
    # the other stand-in goes to a cache of its own: the shared one keeps one stand-in file
    alt = replace(alt, _prepared=replace(alt._source, cache=tmp_path / "cache"))
    with pytest.raises(InputError, match="name sites that do not exist") as e:
        alt.with_settings(standin_scale=0.12)
    assert hub in e.value.message and "without_hub" in e.value.message
    assert "apply the settings first" in (e.value.hint or "")


def test_a_change_names_the_other_hubs_the_location_model_moved(
    plan: lastmile.Plan, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bb19 D8: swap_hub re-solves the placement, which also replaced a second hub, and
    hub_changes named only the two sites asked for."""
    hubs = plan.result.placement.hubs
    moved = str(hubs["id"].iloc[-1])
    other = hubs.assign(id=[*hubs["id"].iloc[:-1], "osm-elsewhere"])
    re_solved = replace(plan, result=replace(plan.result,
                        placement=replace(plan.result.placement, hubs=other)))  # fmt: skip
    monkeypatch.setattr(lastmile.Plan, "_from_inputs", lambda *args, **kwargs: re_solved)
    changed = plan._derived(plan.forced, plan.excluded, "swap_hub('a', 'b'): ...")
    assert changed.hub_changes[-1] == (
        f"swap_hub('a', 'b'): ...; the location model re-solved also closed {moved} and opened "
        "osm-elsewhere"
    )
    assert changed.result.placement.changes == changed.hub_changes  # manifest and summary.md

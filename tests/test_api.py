"""The notebook API: Plan objects, hub changes by id or township, cold chain, compare, outputs."""

from __future__ import annotations

import json
from pathlib import Path

import folium
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
    assert len(alt.forced) == 1
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
    with pytest.warns(UserWarning, match="route different order days"):
        lastmile.compare_plans(plan, plan.with_settings(seed=7), labels=("s2026", "s7"))


def test_explore_and_to_folder(plan: lastmile.Plan, tmp_path: Path) -> None:
    m = plan.explore()
    assert isinstance(m, folium.Map)
    assert "synthetic stand-in" in m.get_root().render()
    assert isinstance(plan.explore("baseline"), folium.Map)
    paths = plan.to_folder(tmp_path / "out", map_assets="cdn")
    written = json.loads(paths["kpis"].read_text(encoding="utf-8"))
    assert written == json.loads(json.dumps(plan.kpis))


def test_bad_changes_are_clear_errors(plan: lastmile.Plan) -> None:
    with pytest.raises(InputError, match="unknown township 'Atlantis'"):
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

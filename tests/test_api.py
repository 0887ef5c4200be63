"""The notebook API: Plan objects, hub changes by id or township, cold chain, compare, outputs."""

from __future__ import annotations

import json
from pathlib import Path

import folium
import pytest

import lastmile
from lastmile.errors import InputError
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
    assert alt.excluded == (old["id"],) and len(alt.forced) == 1
    # the plan it came from is unchanged (immutable)
    assert old["id"] in set(plan.hubs["id"])
    # without the hub: the location model picks the replacement
    fewer = plan.without_hub(str(old["id"]))
    assert old["id"] not in set(fewer.hubs["id"]) and len(fewer.hubs) == len(plan.hubs)


def test_with_cold_chain_changes_the_orders_limits(plan: lastmile.Plan) -> None:
    tight = plan.with_cold_chain(produce_min=45)
    orders = tight.inputs.orders
    produce = orders[orders["product_class"] == "produce"]
    assert len(produce) > 0 and (produce["max_in_vehicle_s"] == 45 * 60).all()
    assert tight.region.cold_chain.produce_s == 45 * 60
    assert list(tight.hubs["id"]) == list(plan.hubs["id"])  # hubs do not depend on the limit


def test_compare_plans_table_and_map(plan: lastmile.Plan) -> None:
    fewer = plan.with_settings(p=2)
    table, dual = lastmile.compare_plans(plan, fewer, labels=("p4", "p2"))
    row = table.loc["access_time.after.mean_min"]
    assert row["difference"] == pytest.approx(row["p2"] - row["p4"])
    assert row["p2"] >= row["p4"]  # fewer hubs cannot bring villages closer
    html = dual.get_root().render()
    assert "p4 (left) vs p2 (right)" in html


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
    with pytest.raises(InputError, match="unknown fleet type"):
        plan.with_fleet(spaceship=2)
    with pytest.raises(InputError, match="must be positive"):
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

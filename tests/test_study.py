"""The access study with pairs that have no road path: such villages are reported, not averaged."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from lastmile.cli import main
from lastmile.errors import InputError
from lastmile.matrix import TravelMatrix, travel_matrix
from lastmile.plan import PlanResult, run_plan
from lastmile.report import (
    scenario_map,
    study_markdown,
    summary_markdown,
    write_compare_outputs,
    write_outputs,
)
from lastmile.scenario import load_scenario
from lastmile.study import access_study, compare_plan_dirs, kpi_coverage, p_curve
from lastmile.sweep import flatten
from tests.conftest import TEST_SCALE
from tests.tiny_network import ONE_WAY_EDGES, tiny_network

# ONE_WAY_EDGES (centre C at node 0, hub B at node 2, villages v1 at 1 and v2 at 3), plus v3 at
# node 4 that only has a road out (4 -> 0), and a separate pair: hub H at node 6 and village v4
# at node 5, joined to each other only.
EDGES = [*ONE_WAY_EDGES, (4, 0, 30.0), (5, 6, 20.0), (6, 5, 20.0)]
VILLAGES = ["v1", "v2", "v3", "v4"]
TOWNSHIPS = ["t1", "t1", "t2", "t1"]
WEIGHTS = np.array([1.0, 3.0, 5.0, 2.0])


@pytest.fixture(scope="module")
def mat() -> TravelMatrix:
    net = tiny_network(7, EDGES)
    return travel_matrix(
        net, [0, 2, 6], [1, 3, 4, 5], origin_ids=["C", "B", "H"], destination_ids=VILLAGES
    )


def _study(seconds: np.ndarray, reach: np.ndarray, before: list[int], after: list[int]):  # type: ignore[no-untyped-def]
    return access_study(
        seconds, ["C", "B", "H"], VILLAGES, TOWNSHIPS, WEIGHTS, before, after, reachable=reach
    )


def test_unreachable_villages_are_counted_and_reported_not_averaged(mat: TravelMatrix) -> None:
    assert mat.reachable.tolist() == [
        [True, True, False, False],
        [False, True, False, False],
        [False, False, False, True],
    ]
    # the mask decides, not the stored value: zero seconds on the unreachable pairs change nothing
    for seconds in (mat.seconds, np.where(mat.reachable, mat.seconds, 0)):
        st = _study(seconds, mat.reachable, [0], [0, 1, 2])
        v = st.villages.set_index("village")
        assert v["facility_before"].tolist() == ["C", "C", "", ""]
        assert v["facility_after"].tolist() == ["C", "B", "", "H"]  # B cannot reach v1
        assert v.loc["v4", "minutes_after"] == pytest.approx(20 / 60, abs=0.01)
        assert v[["minutes_before", "minutes_after"]].isna().to_numpy().tolist() == [
            [False, False], [False, False], [True, True], [True, False]
        ]  # fmt: skip
        assert v["unreachable"].tolist() == ["", "", "before and after", "before"]
        s = st.summary
        # like for like: v1 and v2, the villages reached in both plans
        assert s["villages_compared"] == 2
        assert s["unreachable_villages"] == {"before": ["v3", "v4"], "after": ["v3"]}
        assert s["before"]["mean_min"] == pytest.approx((100 * 1 + 155 * 3) / 4 / 60, abs=0.01)
        assert s["after"]["mean_min"] == pytest.approx((100 * 1 + 50 * 3) / 4 / 60, abs=0.01)
        assert s["before"]["max_min"] == pytest.approx(155 / 60, abs=0.01)
        t = st.townships.set_index("code")
        assert t.loc["t1", "villages"] == 3 and t.loc["t1", "villages_unreachable"] == 1
        assert t.loc["t1", "weight"] == 4.0
        assert t.loc["t2", "villages_unreachable"] == 1
        assert math.isnan(t.loc["t2", "mean_min_after"])


def test_study_without_mask_is_unchanged_and_bad_mask_is_named(mat: TravelMatrix) -> None:
    seconds = np.array([[60, 120], [120, 60]])
    st = access_study(seconds, ["C", "B"], ["a", "b"], ["t", "t"], np.ones(2), [0], [0, 1])
    assert st.summary["villages_compared"] == 2 and st.summary["after"]["mean_min"] == 1.0
    assert (st.villages["unreachable"] == "").all()
    with pytest.raises(InputError, match="reachable mask shape"):
        _study(mat.seconds, mat.reachable[:, :2], [0], [0])
    with pytest.raises(InputError, match="no village has a road path from an open facility"):
        _study(mat.seconds, mat.reachable, [2], [1])  # H reaches only v4, B only v2


def _locate_folder(folder: Path, villages: pd.DataFrame) -> None:
    """A `lastmile locate`-like folder: assignments, and a manifest saying which command wrote it
    (no kpis.json: no routed day)."""
    folder.mkdir()
    villages.to_csv(folder / "assignments.csv", index=False)
    (folder / "manifest.json").write_text('{"command": "locate"}', encoding="utf-8")


def test_compare_leaves_out_villages_without_a_time(mat: TravelMatrix, tmp_path: Path) -> None:
    centre = _study(mat.seconds, mat.reachable, [0], [0])
    hubs = _study(mat.seconds, mat.reachable, [0], [0, 1, 2])
    for name, st in (("a", centre), ("b", hubs)):
        _locate_folder(tmp_path / name, st.villages)
    cmp = compare_plan_dirs(tmp_path / "a", tmp_path / "b")
    assert cmp.villages["village"].tolist() == ["v1", "v2"]
    assert cmp.villages["minutes_saved"].tolist() == pytest.approx([0.0, 105 / 60], abs=0.01)
    assert "2 village(s) without a road path" in cmp.markdown and "v3, v4" in cmp.markdown


@pytest.mark.parametrize(
    ("kpis", "message"),
    [('{"x":', "not readable as JSON"), ('{"x": 1}', "not the kpis.json of a lastmile plan")],
)
def test_compare_refuses_a_damaged_plan_folder(
    mat: TravelMatrix, tmp_path: Path, kpis: str, message: str
) -> None:
    st = _study(mat.seconds, mat.reachable, [0], [0])
    for name in ("a", "b"):
        _locate_folder(tmp_path / name, st.villages)
    (tmp_path / "b" / "kpis.json").write_text(kpis, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        compare_plan_dirs(tmp_path / "a", tmp_path / "b")


# ------------------------------------------------------------------------------------------
# real plan outputs on the small stand-in: what each routed figure covers, stand-in labels,
# two plan folders compared only when they route the same order day

SMALL = {
    "network": "synthetic",
    "standin_scale": TEST_SCALE,
    "p": 4,
    "routing_solution_limit": 20,
    "routing_time_limit_s": 60.0,
    "location_time_limit_s": 30.0,
}


@pytest.fixture(scope="module")
def plan_result(small_cache: Path) -> PlanResult:
    return run_plan(load_scenario(**SMALL), cache=small_cache)


@pytest.fixture(scope="module")
def plan_dirs(
    plan_result: PlanResult, small_cache: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """``a``: the small plan; ``same``: a copy of it; ``seed7``: the same plan on another day."""
    root = tmp_path_factory.mktemp("plans")
    write_outputs(plan_result, root / "a", map_assets="cdn")
    shutil.copytree(root / "a", root / "same")
    other = run_plan(load_scenario(**SMALL, seed=7), cache=small_cache)
    write_outputs(other, root / "seed7", map_assets="cdn")
    return {name: root / name for name in ("a", "same", "seed7")}


def test_routed_day_says_last_mile_only_and_names_the_trunk(plan_result: PlanResult) -> None:
    """bb11 defect 3: 'Routed day' set the plan's last-mile km beside the baseline's without a
    word that the trunk runs are left out (706 vs 1,261 km; 1,133 vs 1,261 like for like)."""
    k = plan_result.kpis()
    runs = k["trunk"]["runs"]
    trunk_km = sum(v["km"] for v in runs.values())
    assert trunk_km > 0
    summary = summary_markdown(plan_result)
    day = summary.split("## Routed day (last-mile vehicles only)", 1)[1].split("##", 1)[0]
    caveat = next(line for line in day.splitlines() if line.startswith("Last-mile vehicles only"))
    assert f"{trunk_km:,.1f} km in all" in caveat
    assert f"morning {runs['morning']['km']:,.1f} km by" in caveat
    served = ", ".join(f"{n} {r['orders_served']}" for n, r in k["routing"].items())
    assert f"each scenario's own served orders ({served})" in caveat
    assert f"'Routed figures over the same {k['orders_compared']} orders'" in caveat
    assert f"## Routed figures over the same {k['orders_compared']} orders" in summary
    # the plan map's title: last-mile routes and km, and the trunk it leaves out
    page = scenario_map(plan_result, "plan").get_root().render()
    routes = len(plan_result.planned.routes)
    assert (
        f"plan: {routes} last-mile routes, {k['routing']['plan']['km']:,.0f} km "
        f"(trunk: {len(runs)} runs, {_trunk_rows(plan_result)} truck routes, "
        f"{trunk_km:,.0f} km, not included)"
    ) in page
    base = scenario_map(plan_result, "baseline").get_root().render()
    assert f"baseline: {len(plan_result.baseline.routes)} last-mile routes" in base


def _trunk_rows(result: PlanResult) -> int:
    return sum(len(r.solution.routes) for r in (result.morning, result.evening) if r is not None)


def test_kpi_coverage_names_orders_and_legs(plan_result: PlanResult) -> None:
    """bb11 defect 13: only access_time said what it covers; kpi_coverage says it for every
    section, deterministic, and sweep's flattening takes the strings as columns."""
    k = plan_result.kpis()
    covers = kpi_coverage(k)
    assert k["covers"] == covers  # in kpis.json
    sections = {"access_time", "location", "reachability", "routing", "lead_time",
                "routed_compared", "routed_totals", "cold_chain", "unserved", "trunk"}  # fmt: skip
    assert set(covers) == sections and sections <= set(k)
    n = k["orders_compared"]
    assert covers["routing"].startswith("last-mile vehicles only, trunk runs excluded")
    assert f"the same {n} orders in both scenarios" in covers["routed_compared"]
    assert (
        "trunk runs" in covers["routed_compared"]
        and "hubs' daily cost" in covers["routed_compared"]
    )
    assert f"the {n} orders served in both scenarios" in covers["lead_time"]
    assert covers["access_time"] == k["access_time"]["covers"]
    assert kpi_coverage(plan_result.kpis()) == covers  # deterministic
    flat = flatten({**k, "covers": covers})
    assert flat["covers.routing"] == covers["routing"]
    assert flat["routing.plan.km"] == k["routing"]["plan"]["km"]


def test_compare_outputs_are_marked_stand_in(
    plan_result: PlanResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bb11 defect 7: `lastmile compare`'s tables had no network column, its p-curve title no
    stand-in flag and a y axis saying "delivery time" for access time."""
    import lastmile.report as report

    titles: dict[str, str] = {}
    for name in ("delivery_time_distribution", "minutes_saved_by_township", "plot_p_curve"):
        original = getattr(report, name)

        def record(*args: Any, _f: Any = original, _n: str = name, **kwargs: Any) -> Path:
            titles[_n] = kwargs["title"]
            return Path(_f(*args, **kwargs))

        monkeypatch.setattr(report, name, record)
    curve = p_curve(plan_result.inputs, [1])
    write_compare_outputs(plan_result, curve, tmp_path / "study")
    label = plan_result.inputs.source.label
    tables = sorted((tmp_path / "study").glob("*.csv"))
    expected = {"lead_time.csv", "orders.csv", "lead_time_townships.csv", "p_curve.csv",
                "townships.csv", "villages.csv", "unassigned.csv"}  # fmt: skip
    assert {t.name for t in tables} >= expected
    # the study keeps the evidence of the orders it leaves out, and says of how many
    k = plan_result.kpis()
    unserved = pd.read_csv(tmp_path / "study" / "unassigned.csv")
    assert len(unserved) == sum(u["orders"] for u in k["unserved"].values())
    assert {"reason", "binding", "limit", "best", "detail"} <= set(unserved.columns)
    md = (tmp_path / "study" / "study.md").read_text(encoding="utf-8")
    assert f"orders served in both (of {k['orders']})" in md
    assert "## Unserved orders by reason" in md and "unassigned.csv" in md
    for table in tables:
        frame = pd.read_csv(table)
        assert frame.columns[-1] == "network" and (frame["network"] == label).all(), table.name
    assert set(titles) == {"delivery_time_distribution", "minutes_saved_by_township",
                           "plot_p_curve"}  # fmt: skip
    for title in titles.values():
        assert title.endswith("— synthetic stand-in, NOT real OSM data"), title
    assert titles["plot_p_curve"].startswith("Mean access time vs number of hubs")


def test_orders_csv_keeps_each_orders_route_shares_to_sum_again(
    plan_result: PlanResult, plan_dirs: dict[str, Path]
) -> None:
    """bb12/bb16: `compare` sums these shares over the orders two plans both served; written to 3
    decimals, the sums drifted from kpis.json's routed figures by 0.01 h."""
    assert plan_result.end_to_end is not None
    want = plan_result.end_to_end.orders.set_index(["scenario", "order_id"])
    got = pd.read_csv(plan_dirs["a"] / "orders.csv", dtype={"order_id": str})
    got = got.set_index(["scenario", "order_id"]).loc[want.index]
    for col in ("km", "vehicle_h", "cost", "trunk_km", "trunk_cost", "hub_cost"):
        w = want[col].astype(float)
        error = ((got[col].astype(float) - w).abs() / w.abs().clip(lower=1.0)).max()
        assert error <= 1e-5, (col, error)  # the CSV's 6 significant digits, nothing coarser


def test_compare_plans_same_day_like_for_like(plan_dirs: dict[str, Path]) -> None:
    cmp = compare_plan_dirs(plan_dirs["a"], plan_dirs["same"])
    k = json.loads((plan_dirs["a"] / "kpis.json").read_text(encoding="utf-8"))
    assert cmp.warnings == ()
    md = cmp.markdown
    assert f"Data source: {k['data_source']}" in md and "synthetic stand-in" in md
    for table in (cmp.villages, cmp.townships):
        assert (table["network"] == k["data_source"]).all()
    # township names at hand in the plan folder's townships.csv
    towns = pd.read_csv(plan_dirs["a"] / "townships.csv", dtype={"code": str})
    assert cmp.townships["name"].tolist() == [
        dict(zip(towns["code"], towns["name"], strict=True))[c] for c in cmp.townships["code"]
    ]
    assert "minutes_saved` in every table is A - B" in md
    # the routed day: last-mile only, said; and the routed figures over the same orders, trunk
    # included, equal the plan's own like-for-like figures
    assert "## Routed day (last-mile vehicles only)" in md and "trunk runs excluded" in md
    rc = k["routed_compared"]["plan"]
    same = md.split("## Routed figures over the orders served in both plans", 1)[1]
    assert f"| A | {rc['orders']} | {rc['km']:.2f} |" in same
    assert f"Parcel lead time over the {k['orders_compared']} orders served in both" in md


def test_compare_plans_of_different_days_refuses_the_order_comparison(
    plan_dirs: dict[str, Path],
) -> None:
    """bb11 defect 8: seed 2026 against seed 7 was compared order by order (ids D-<village>)."""
    cmp = compare_plan_dirs(plan_dirs["a"], plan_dirs["seed7"])
    (warning,) = cmp.warnings
    assert "A and B route different order days (seed: 2026 vs 7" in warning
    assert f"**WARNING: {warning}.**" in cmp.markdown
    assert "## Parcel lead time: not compared (different order days)" in cmp.markdown
    assert "Parcel lead time over" not in cmp.markdown
    assert "Routed figures over the orders served in both plans" not in cmp.markdown
    assert "not a like-for-like comparison" in cmp.markdown
    assert "## Access time" in cmp.markdown  # the access comparison remains


def test_compare_plans_tells_two_road_network_files_of_one_name_apart(
    plan_dirs: dict[str, Path], tmp_path: Path
) -> None:
    """bb21 D19: two extracts of the same file name and date (a newer download saved under the
    old name) were compared as one road network, lead times and routed figures over the same
    orders included, although the manifests record different sha256; now the hashes decide."""
    same = compare_plan_dirs(plan_dirs["a"], plan_dirs["same"])
    assert not any("road network" in w for w in same.warnings)
    b = tmp_path / "otherFile"
    shutil.copytree(plan_dirs["a"], b)
    man = json.loads((b / "manifest.json").read_text(encoding="utf-8"))
    sha_a = man["inputs"]["osm"]["sha256"]
    man["inputs"]["osm"]["sha256"] = "5b6f5937dc15" + "0" * 52  # same path and label, other file
    (b / "manifest.json").write_text(json.dumps(man), encoding="utf-8")
    cmp = compare_plan_dirs(plan_dirs["a"], b)
    label = json.loads((b / "kpis.json").read_text(encoding="utf-8"))["data_source"]
    assert cmp.warnings[0] == (
        f"A and B come from different road networks: both are labelled {label!r}, but their "
        f"files differ (manifest.json inputs.osm sha256 A {sha_a[:12]}, B 5b6f5937dc15)"
    )
    assert f"Data source: A: {label}, sha256 {sha_a[:12]}; B: {label}, sha256 5b6f5937dc15" in (
        cmp.markdown
    )
    assert "## Parcel lead time: not compared (different order days)" in cmp.markdown
    assert any(w.startswith("A and B route different order days (road network: ") for w in
               cmp.warnings)  # fmt: skip


def _orders_file_copy(plan: Path, folder: Path, osm_sha256: str) -> Path:
    """A copy of ``plan`` as if its day came from an orders file (sha256 c...) and its road
    network from the file of ``osm_sha256``."""
    shutil.copytree(plan, folder)
    man = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    man["inputs"]["orders"] = {"path": "orders.csv", "sha256": "c" * 64}
    man["inputs"]["osm"]["sha256"] = osm_sha256
    (folder / "manifest.json").write_text(json.dumps(man), encoding="utf-8")
    return folder


def test_one_orders_file_with_two_parcel_rates_is_one_order_day(
    plan_dirs: dict[str, Path], tmp_path: Path
) -> None:
    """bb26 D4: the [demand] rates draw a generated day; two plans of one orders file were
    "different order days" because their parcel rates differed. D5: an unset setting read
    "None" in What differs."""
    man = json.loads((plan_dirs["a"] / "manifest.json").read_text(encoding="utf-8"))
    osm = man["inputs"]["osm"]["sha256"]
    a = _orders_file_copy(plan_dirs["a"], tmp_path / "rateA", osm)
    b = _orders_file_copy(plan_dirs["a"], tmp_path / "rateB", osm)
    man_b = json.loads((b / "manifest.json").read_text(encoding="utf-8"))
    man_b["region_config"]["demand"]["parcels_per_resident_per_day"] = 0.0
    man_b["plan"]["orders"] = "day.csv"
    (b / "manifest.json").write_text(json.dumps(man_b), encoding="utf-8")
    cmp = compare_plan_dirs(a, b)
    assert not any("different order days" in w for w in cmp.warnings), cmp.warnings
    assert "## Parcel lead time over the" in cmp.markdown
    rate = man["region_config"]["demand"]["parcels_per_resident_per_day"]
    assert f"`demand.parcels_per_resident_per_day` {rate} vs 0.0" in cmp.markdown
    assert "`plan.orders` unset vs day.csv" in cmp.markdown


def test_one_orders_file_on_two_road_networks_is_one_order_day(
    plan_dirs: dict[str, Path], tmp_path: Path
) -> None:
    """bb22 D6: two plans of one orders file on two road-network files were said to route
    'different order days' (generated-day advice); the network decides a generated day's
    orders, not an orders file's: the same orders are compared, the network warning stays."""
    folders = [
        _orders_file_copy(plan_dirs["a"], tmp_path / name, osm)
        for name, osm in (("fileA", "a" * 64), ("fileB", "b" * 64))
    ]
    cmp = compare_plan_dirs(*folders)
    assert cmp.warnings[0].startswith("A and B come from different road networks")
    assert not any("different order days" in w for w in cmp.warnings), cmp.warnings
    assert "## Parcel lead time over the" in cmp.markdown


def _on_other_network(plan: Path, folder: Path, *, rename: bool) -> Path:
    """A copy of ``plan`` as if made on another road network (another stand-in scale's label);
    ``rename``: its village ids changed too, so that the two plans share none."""
    shutil.copytree(plan, folder)
    kpis = json.loads((folder / "kpis.json").read_text(encoding="utf-8"))
    kpis["data_source"] = "synthetic stand-in, scale 0.5"
    (folder / "kpis.json").write_text(json.dumps(kpis), encoding="utf-8")
    if rename:
        table = pd.read_csv(folder / "assignments.csv", dtype={"village": str})
        table["village"] = "other-" + table["village"]
        table.to_csv(folder / "assignments.csv", index=False)
    return folder


def test_plans_on_two_networks_without_common_villages_get_their_own_access_figures(
    plan_dirs: dict[str, Path], tmp_path: Path
) -> None:
    """bb22 D3: plans on two stand-in scales share no village; the message said to 'compare
    plans of the same region', though both were Suichang: the road networks differ. Since bb25
    D25 the comparison is made with each plan's own access figures instead."""
    b = _on_other_network(plan_dirs["a"], tmp_path / "otherScale", rename=True)
    cmp = compare_plan_dirs(plan_dirs["a"], b)
    assert "Not compared village by village: A and B come from different road networks" in (
        cmp.markdown
    )
    assert "ids both have" not in cmp.markdown  # none do
    assert cmp.villages.empty and cmp.townships.empty


def test_two_osm_extracts_are_compared_village_by_village(
    plan_dirs: dict[str, Path], tmp_path: Path
) -> None:
    """Two OSM extracts (no stand-in) share OSM's village ids, one id one place: compared by
    village, with the different-networks warning (a stand-in's generated ids are not)."""
    folders = []
    for name, label in (
        ("extractA", "OSM extract a.osm.pbf"),
        ("extractB", "OSM extract b.osm.pbf"),
    ):
        d = tmp_path / name
        shutil.copytree(plan_dirs["a"], d)
        kpis = json.loads((d / "kpis.json").read_text(encoding="utf-8"))
        kpis.update(data_source=label, synthetic_standin=False)
        (d / "kpis.json").write_text(json.dumps(kpis), encoding="utf-8")
        folders.append(d)
    cmp = compare_plan_dirs(*folders)
    n = len(pd.read_csv(folders[0] / "assignments.csv"))
    assert any("different road networks" in w for w in cmp.warnings)
    assert f"over the {n} settlements both plans have, of {n} and {n})" in cmp.markdown
    assert len(cmp.villages) == n and "Not compared village by village" not in cmp.markdown


def test_compare_plans_says_how_many_settlements_the_access_table_covers(
    plan_dirs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """bb25 D25: across two stand-in seeds, the access table headed "every settlement" covered
    the 2 settlements whose ids happened to coincide. On one network it says how many it covers
    of each plan's; on two networks it gives each plan's own figures over its own settlements."""
    own = pd.read_csv(plan_dirs["a"] / "assignments.csv", dtype={"village": str})
    n = len(own)
    same = compare_plan_dirs(plan_dirs["a"], plan_dirs["same"]).markdown
    assert (
        "## Access time: road time from the nearest open facility (demand-weighted, over the "
        f"{n} settlements both plans have, of {n} and {n})\n"
    ) in same
    # B keeps 2 of A's ids (namesakes on its network), the others renamed, one settlement more
    b = _on_other_network(plan_dirs["a"], tmp_path / "otherSeed", rename=False)
    table = pd.read_csv(b / "assignments.csv", dtype={"village": str})
    table.loc[2:, "village"] = "other-" + table.loc[2:, "village"]
    table = pd.concat([table, table.iloc[[-1]].assign(village="extra")], ignore_index=True)
    table.to_csv(b / "assignments.csv", index=False)
    cmp = compare_plan_dirs(plan_dirs["a"], b)
    md = cmp.markdown
    assert "every settlement" not in md and "Mean minutes saved" not in md
    assert (
        "## Access time: road time from the nearest open facility (each plan over its own "
        "settlements, demand-weighted)"
    ) in md
    reached = own[own["minutes_after"].notna()]
    w = reached["weight"].to_numpy(np.float64)
    mean = (reached["minutes_after"] * w).sum() / w.sum()
    section = md.split("## Access time", 1)[1].split("\n## ", 1)[0]
    assert f"| A: {plan_dirs['a']} | {len(reached)} | {mean:.2f} |" in section
    assert f"| B: {b} | {len(reached) + 1} |" in section
    assert (
        "one of them a synthetic stand-in, whose village ids are generated: the 2 ids both "
        "have may name different places." in section
    )
    assert "## Townships (access time; minutes_saved = A - B)\n\nNot compared" in md
    assert cmp.villages.empty and cmp.townships.empty
    # the folder is written, its village and township tables without rows
    out = tmp_path / "cmp"
    assert main(["compare", "--plans", str(plan_dirs["a"]), str(b), "--out", str(out)]) == 0
    capsys.readouterr()
    villages = pd.read_csv(out / "compare_villages.csv")
    assert villages.empty and "minutes_saved" in villages.columns


def test_compare_plans_refuses_a_plan_folder_without_kpis(
    plan_dirs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """bb16 9: a plan folder without kpis.json was compared, its routed rows left out of
    compare.md without a word; it is refused naming the folder, before --out is written."""
    b = tmp_path / "noKpis"
    shutil.copytree(plan_dirs["a"], b)
    (b / "kpis.json").unlink()
    with pytest.raises(InputError, match=f"plan folder {b} has no kpis.json"):
        compare_plan_dirs(plan_dirs["a"], b)
    out = tmp_path / "o"
    code = main(["compare", "--plans", str(plan_dirs["a"]), str(b), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and f"plan folder {b} has no kpis.json" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and not out.exists()


def test_compare_plans_manifest_records_what_was_compared(
    plan_dirs: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """bb16 9: compare --plans' manifest.json held only the command, its files and the version:
    no compared folders, no hashes of their kpis.json / manifest.json, no commit."""
    from lastmile import __version__
    from lastmile.io import file_sha256, source_commit

    monkeypatch.chdir(plan_dirs["a"].parent)  # relative folders are recorded absolute
    out = tmp_path / "cmp"
    assert main(["compare", "--plans", "a", "seed7", "--out", str(out)]) == 0
    capsys.readouterr()
    man = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert man["command"] == "compare --plans" and man["lastmile"] == __version__
    assert man.get("lastmile_commit") == source_commit()
    assert "ortools" in man["versions"] and man["python"]
    for label, name, seed in (("A", "a", 2026), ("B", "seed7", 7)):
        plan = man["plans"][label]
        folder = plan_dirs[name]
        assert plan["path"] == str(folder.resolve()) and plan["seed"] == seed
        for file in ("kpis.json", "manifest.json", "assignments.csv", "orders.csv"):
            assert plan["sha256"][file] == file_sha256(folder / file), file
    assert man["plans"]["A"]["sha256"]["kpis.json"] != man["plans"]["B"]["sha256"]["kpis.json"]


def test_compare_plans_says_when_a_folder_has_no_orders(
    plan_dirs: dict[str, Path], tmp_path: Path
) -> None:
    b = tmp_path / "b"
    shutil.copytree(plan_dirs["a"], b)
    (b / "orders.csv").unlink()
    cmp = compare_plan_dirs(plan_dirs["a"], b)
    md = cmp.markdown
    assert "## Parcel lead time: not compared" in md and f"{b / 'orders.csv'} does not exist" in md
    # and on the console (the CLI prints the warnings on stderr)
    assert any(f"{b / 'orders.csv'} does not exist" in w for w in cmp.warnings)


def test_compare_plans_refuses_a_corrupt_orders_file(
    plan_dirs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """bb11 defect 16: a corrupt orders.csv was an internal UnicodeDecodeError (exit 1)."""
    b = tmp_path / "broken"
    shutil.copytree(plan_dirs["a"], b)
    (b / "orders.csv").write_bytes(b"x\x00\xff")
    with pytest.raises(InputError, match=r"orders.csv: not readable .*UnicodeDecodeError"):
        compare_plan_dirs(plan_dirs["a"], b)
    code = main(["compare", "--plans", str(plan_dirs["a"]), str(b), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and "UnicodeDecodeError" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


# ------------------------------------------------------------------------------------------
# bb25: what study.md and compare.md say about the search, the cold chain and the settings


def test_study_md_gives_the_search_depth_and_says_the_fleet_search_was_left_out(
    plan_result: PlanResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bb25 D5: study.md gave routed figures without the search depth or what ended each
    search, and said nothing of the fleet search `--skip-fleet-needed` left out."""
    curve = p_curve(plan_result.inputs, [1])
    md = study_markdown(plan_result, curve)
    k = plan_result.kpis()
    ended = ", ".join(f"{n}: {r['search_ended_by']}" for n, r in k["routing"].items())
    assert "## Search depth" in md
    assert "Routes from OR-Tools (ils), 20 solutions per model" in md
    assert f"each search ended by: {ended}." in md
    # the same section as `plan`'s summary.md, from the same code
    section = md.split("## Search depth", 1)[1].split("\n## ", 1)[0]
    assert section in summary_markdown(plan_result).split("## Search depth", 1)[1]
    assert "\nFleet needed: not computed (--skip-fleet-needed).\n" in md
    # with the fleet search, its table instead of the line
    fleet = {"vehicles": 3, "cost": 1.0, "last_mile_by_type": {"van": 3}}
    with_fleet = {**k, "fleet_needed": {"baseline": fleet, "plan": fleet}}
    monkeypatch.setattr(PlanResult, "kpis", lambda self: with_fleet)
    md = study_markdown(plan_result, curve)
    assert "## Fleet needed to serve every servable order" in md and "not computed" not in md
    assert "## Search depth" in md
    # bb25 D27: a sentence under the table says what its columns cover
    table = md.split("## Fleet needed to serve every servable order\n\n", 1)[1]
    below = table.split("|\n\n", 1)[1].split("\n", 1)[0]
    assert below.startswith(
        "Smallest vehicles per type and depot (+ trunk) with which every servable order "
        '(unserved reason not "infeasible") is served, by bisection over routed, validated days '
        "(at the routed days' search depth, below)"
    )
    for column in ("`vehicles` = all of them, trunk-run trucks included",
                   "`trunk_run_vehicles` = trucks on trunk runs",
                   "`vehicles_trunk`: trunk-type trucks the centre sends on last-mile routes",
                   "the plan's trunk runs and hubs' daily cost included), not the routed day's",
                   "`routed_days` = days the search routed", "`one_fewer_fails` = "):  # fmt: skip
        assert column in below, column


@pytest.fixture(scope="module")
def cold30_dir(
    small_cache: Path, plan_dirs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The small plan with 5 hubs and a 30-minute produce limit: it leaves produce pickups
    unserved (cold chain), which its served-only compliance does not show."""
    root = tmp_path_factory.mktemp("cold30")
    toml = root / "cold30.toml"
    toml.write_text("[cold_chain]\nproduce_max_in_vehicle_min = 30\n", encoding="utf-8")
    result = run_plan(load_scenario(toml, **{**SMALL, "p": 5}), cache=small_cache)
    write_outputs(result, root / "plan", map_assets="cdn")
    return root / "plan"


def test_compare_plans_shows_cold_chain_over_all_perishable_orders(
    plan_dirs: dict[str, Path], cold30_dir: Path
) -> None:
    """bb25 D6: compare.md's routed day read cold_chain_compliance 1.00 for a plan that left
    perishable orders unserved; the all-orders compliance was not shown."""
    k = json.loads((cold30_dir / "kpis.json").read_text(encoding="utf-8"))
    cold = k["cold_chain"]["plan"]
    assert k["routing"]["plan"]["cold_chain_compliance"] == 1.0 and cold["unserved"] > 0
    md = compare_plan_dirs(plan_dirs["a"], cold30_dir).markdown
    day = md.split("## Routed day (last-mile vehicles only)", 1)[1].split("\n## ", 1)[0]
    assert "| plan | cold_chain_compliance_served | km |" in day
    assert "| cold_chain_compliance |" not in md
    section = md.split("## Cold-chain compliance over all perishable orders", 1)[1]
    assert "| plan | compliant | perishable_orders | unserved | compliance |" in section
    assert (
        f"| B | {cold['compliant']} | {cold['perishable_orders']} | {cold['unserved']} | "
        f"{cold['compliance']:.2f} |"
    ) in section
    assert "unserved ones as not compliant" in section


def test_a_day_without_perishable_orders_has_no_compliance(
    small_cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """bb26 D3: a day without produce (produce_kg_per_resident = 0) read "cold-chain compliance
    1.00" over 0 perishable orders in kpis.json, compare.md and study.md; now the compliance is
    null in kpis.json and "n/a (no perishable order)" in every table and on the console."""
    from lastmile.cli import _print_like_for_like

    toml = tmp_path / "k0.toml"
    toml.write_text("[demand]\nproduce_kg_per_resident = 0\n", encoding="utf-8")
    result = run_plan(load_scenario(toml, **SMALL), cache=small_cache)
    write_outputs(result, tmp_path / "k0", map_assets="cdn")
    k = json.loads((tmp_path / "k0" / "kpis.json").read_text(encoding="utf-8"))
    none = {"compliance": None, "compliant": 0, "perishable_orders": 0, "unserved": 0}
    assert k["cold_chain"] == {"baseline": none, "plan": none}
    row = "| 0 | 0 | 0 | n/a (no perishable order) |"
    summary = (tmp_path / "k0" / "summary.md").read_text(encoding="utf-8")
    cold = summary.split("## Cold-chain compliance over all perishable orders", 1)[1]
    assert f"| baseline {row}" in cold and f"| plan {row}" in cold
    study = study_markdown(result, p_curve(result.inputs, [1]))
    cold = study.split("## Cold-chain compliance over all perishable orders", 1)[1]
    cold = cold.split("\n## ", 1)[0]
    assert f"| baseline {row}" in cold and f"| plan {row}" in cold and "1.00" not in cold
    md = compare_plan_dirs(tmp_path / "k0", tmp_path / "k0").markdown
    cold = md.split("## Cold-chain compliance over all perishable orders", 1)[1]
    assert f"| A {row}" in cold and f"| B {row}" in cold
    _print_like_for_like(k)
    assert (
        "cold-chain compliance, all perishable orders: baseline n/a (no perishable order), "
        "plan n/a (no perishable order)"
    ) in capsys.readouterr().out


def test_compare_plans_says_what_differs_and_counts_orders(
    plan_dirs: dict[str, Path], cold30_dir: Path
) -> None:
    """bb25 D7: compare.md did not say how the plans differ (p, cold-chain limit, search
    depth), and its lead-time column `parcels` counted delivery orders."""
    k = [json.loads((d / "kpis.json").read_text(encoding="utf-8"))
         for d in (plan_dirs["a"], cold30_dir)]  # fmt: skip
    ended = [
        ", ".join(f"{n}: {r['search_ended_by']}" for n, r in kk["routing"].items()) for kk in k
    ]
    md = compare_plan_dirs(plan_dirs["a"], cold30_dir).markdown
    # bb25 D18: the key and unit a scenario file has, not the manifest's produce_s 7200 vs 1800
    assert (
        "**What differs** (settings as a scenario file names them, in its units, from each "
        "plan's manifest.json; A vs B): `plan.p` 4 vs 5; "
        "`cold_chain.produce_max_in_vehicle_min` 120 vs 30. Search depth: A 20 solutions per "
        f"model (ils), each search ended by {ended[0]}; B 20 solutions per model (ils), each "
        f"search ended by {ended[1]} (routed figures depend on it).\n"
    ) in md
    same = compare_plan_dirs(plan_dirs["a"], plan_dirs["same"]).markdown
    assert "A vs B): no setting. Search depth:" in same and "Made by" not in same
    # the lead-time table counts delivery orders, and says so
    lead = same.split("## Parcel lead time over the", 1)[1].split("\n## ", 1)[0]
    assert "| plan | orders | mean_min | median_min | p90_min | max_min |" in lead
    deliveries = k[0]["lead_time"]["plan"]["parcel"]["orders"]
    assert f"| A | {deliveries} |" in lead and "parcels" not in lead
    assert "`orders`: the delivery orders among them" in lead


def test_compare_plans_names_only_the_differences_of_the_order_days(
    plan_dirs: dict[str, Path], tmp_path: Path
) -> None:
    """bb25 D11: a generated day against an orders file on the same road network was said to
    differ in "seed: 2026 vs (orders file)" and "road network: ... vs (orders file)"."""
    man_a = json.loads((plan_dirs["a"] / "manifest.json").read_text(encoding="utf-8"))
    sha_a, label = man_a["inputs"]["osm"]["sha256"], man_a["data_source"]
    folders = {
        name: _orders_file_copy(plan_dirs["a"], tmp_path / name, osm)
        for name, osm in (("sameNet", sha_a), ("otherNet", "b" * 64))
    }
    (warning,) = compare_plan_dirs(plan_dirs["a"], folders["sameNet"]).warnings
    assert warning.startswith(
        "A and B route different order days (orders file: none (generated) vs cccccccccccc): "
    )
    other = compare_plan_dirs(plan_dirs["a"], folders["otherNet"])
    day = next(w for w in other.warnings if "different order days" in w)
    assert day.startswith(
        "A and B route different order days (orders file: none (generated) vs cccccccccccc; "
        f"road network: {label} (sha256 {sha_a[:12]}) vs {label} (sha256 bbbbbbbbbbbb)): "
    )


def test_compare_plans_refuses_the_options_it_would_ignore(
    plan_dirs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """bb25 D15: `compare --plans A B --config X --p 7 --p-max 3 --skip-fleet-needed` ran the
    comparison as if none were given (exit 0, no word)."""
    config = tmp_path / "x.toml"
    config.write_text("[plan]\np = 7\n", encoding="utf-8")
    out = tmp_path / "o"
    plans = ["compare", "--plans", str(plan_dirs["a"]), str(plan_dirs["same"]), "--out", str(out)]
    code = main(
        [*plans, "--p", "7", "--p-max", "3", "--skip-fleet-needed", "--config", str(config)]
    )
    err = capsys.readouterr().err
    assert code == 2 and not out.exists()
    assert err.startswith(
        "lastmile: error: --config, --p, --p-max, --skip-fleet-needed have no effect with "
        "--plans: the plans' own settings are compared — leave them out"
    )
    assert len(err.strip().splitlines()) == 1
    assert main([*plans, "--seed", "0"]) == 2
    assert "lastmile: error: --seed has no effect with --plans" in capsys.readouterr().err
    assert main(plans) == 0 and (out / "compare.md").is_file()


def test_what_differs_names_scenario_file_keys_and_the_commits(
    plan_dirs: dict[str, Path], tmp_path: Path
) -> None:
    """bb25 D18: "What differs" named manifest keys in seconds (``region_config.cold_chain.
    produce_s``) and left out that the plans were made by different lastmile commits."""
    b = tmp_path / "b"
    shutil.copytree(plan_dirs["a"], b)
    man = json.loads((b / "manifest.json").read_text(encoding="utf-8"))
    a_commit = json.loads((plan_dirs["a"] / "manifest.json").read_text(encoding="utf-8")).get(
        "lastmile_commit"
    )
    man["lastmile_commit"] = "9341e1fc29" + "0" * 30
    region = man["region_config"]
    region["trunk"]["morning_departure_s"] = 8 * 3600  # and so the trunk vehicle's shift start
    region["trunk"]["vehicle"]["shift_start_s"] = 8 * 3600
    region["trunk"]["evening_departure_s"] = None
    region["trunk"]["vehicle"]["count_per_depot"] = 2
    region["trunk"]["vehicle"]["max_duration_s"] = 3600  # no scenario-file key: manifest name
    van = next(f for f in region["fleet"] if f["id"] == "van")
    van.update(reload_s=600, max_duration_s=30600, capacity={**van["capacity"], "kg": 900})
    region["fleet"].append({**van, "id": "bike"})
    region["demand"]["service_s_pickup"] = 450
    (b / "manifest.json").write_text(json.dumps(man), encoding="utf-8")
    md = compare_plan_dirs(plan_dirs["a"], b).markdown
    line = next(x for x in md.splitlines() if x.startswith("**What differs**"))
    assert line.split("A vs B): ", 1)[1].split(". Search depth:", 1)[0] == (
        "`[[fleet]] bike` none vs a vehicle type; `[[fleet]] van capacity_kg` 1000 vs 900; "
        "`[[fleet]] van max_duration_h` 10 vs 8.5; `[[fleet]] van reload_min` 30 vs 10; "
        "`demand.service_min_pickup` 10 vs 7.5; `trunk.count` 4 vs 2; "
        '`trunk.evening_departure` 19:30 vs ""; `trunk.morning_departure` 07:00 vs 08:00; '
        "`trunk.vehicle.max_duration_s` unset vs 3600. Made by lastmile commit "
        f"{str(a_commit)[:10] if a_commit else 'not recorded'} vs 9341e1fc29: a figure may "
        "differ by the code as well as by the settings"
    )

"""What the output folder says about itself (bb13): the manifest's inputs, what each figure covers,
the map title boxes, the fleet table and the access-time mean, on one small plan that leaves
villages out (snap limit), has no hub cold rooms and perishable orders the cold chain rules out."""

from __future__ import annotations

import copy
import hashlib
import html
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lastmile.cli import _print_like_for_like, _print_routes, _print_study
from lastmile.io import source_commit
from lastmile.plan import PlanResult, run_plan
from lastmile.plots import delivery_time_distribution
from lastmile.report import _fleet_table, manifest, scenario_map, summary_markdown
from lastmile.scenario import load_scenario
from lastmile.study import _order_day_differences, access_study, kpi_coverage
from tests.conftest import TEST_SCALE

#: bb13's scen/small.toml with [network] max_snap_m = 40 (7 villages left out) and
#: [trunk] hub_cold_store = false (no evening run)
SCENARIO = f"""
[plan]
network = "synthetic"
standin_scale = {TEST_SCALE}
p = 4
routing_solution_limit = 20
routing_time_limit_s = 60.0
location_time_limit_s = 30.0
seed = 7
delivery_hour_cost = 3

[cold_chain]
produce_max_in_vehicle_min = 60
tea_max_in_vehicle_min = 150

[trunk]
hub_handling_min = 45
count = 2
hub_cold_store = false

[network]
max_snap_m = 40
"""


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scenario") / "small_snap.toml"
    path.write_text(SCENARIO, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def result(small_cache: Path, scenario_file: Path) -> PlanResult:
    return run_plan(load_scenario(scenario_file), cache=small_cache, with_fleet_needed=True)


def test_a_local_extract_the_network_does_not_read_is_no_input(
    result: PlanResult, test_data: Path
) -> None:
    """bb21 D11: with network = "synthetic", a local_extract (another region's file) was listed
    among manifest.json's inputs with its hash, and a sweep re-ran the scenario when it changed,
    although only network = "auto" reads it; it is now recorded as not read, and not hashed."""
    from dataclasses import replace

    from lastmile.report import input_manifest
    from lastmile.sweep import input_files

    extract = str(test_data / "osm/samples/west-oakland.osm.bz2")
    sc = result.inputs.scenario
    assert sc.plan.network == "synthetic"
    unused = replace(result.inputs, scenario=replace(sc, plan=replace(sc.plan,
                     local_extract=extract)))  # fmt: skip
    files = input_manifest(unused)["inputs"]
    assert files["local_extract"] == {"path": extract, "sha256": None, "read": False}
    assert files["osm"]["path"] != extract  # the stand-in the plan was made from
    assert "local extract file" not in input_files(unused.scenario, "")
    auto = replace(sc, plan=replace(sc.plan, network="auto", local_extract=extract))
    assert input_files(auto, "")["local extract file"] == extract


def test_manifest_records_what_changes_the_inputs(result: PlanResult, scenario_file: Path) -> None:
    """bb13 defect 1: the manifest had no snap limit, no [standin] table and no hash of the
    scenario file, so two runs that differ by max_snap_m (61 against 54 villages) looked alike."""
    man = manifest(result)
    region = result.inputs.region
    assert man["region_config"]["network"] == {"max_snap_m": 40.0}
    standin = man["region_config"]["standin"]
    assert standin["seed"] == region.standin.seed
    assert list(standin["villages_per_township"]) == list(region.standin.villages_per_township)
    assert standin["node_spacing_m"] == region.standin.node_spacing_m
    assert man["inputs"]["scenario_file"] == {
        "path": str(scenario_file.resolve()),
        "sha256": hashlib.sha256(scenario_file.read_bytes()).hexdigest(),
    }
    assert "sha256" not in man["inputs"]["region"]  # the embedded region file: no file read
    # the commit of this checkout, read from its .git without running git
    commit = source_commit()
    assert commit is None or man["lastmile_commit"] == commit


def test_source_commit_of_a_worktree_and_of_a_bare_copy(tmp_path: Path) -> None:
    sha = "0123456789abcdef0123456789abcdef01234567"
    main = tmp_path / "repo"
    (main / ".git" / "refs" / "heads").mkdir(parents=True)
    (main / ".git" / "HEAD").write_text("ref: refs/heads/dev\n")
    (main / ".git" / "packed-refs").write_text(f"# pack-refs\n{sha} refs/heads/dev\n")
    (main / "pyproject.toml").write_text("")
    (main / "src" / "lastmile").mkdir(parents=True)
    assert source_commit(main / "src" / "lastmile") == sha
    # a worktree: .git is a file naming its folder, whose refs live in the main repository
    wt_git = main / ".git" / "worktrees" / "wt"
    wt_git.mkdir(parents=True)
    (wt_git / "HEAD").write_text("ref: refs/heads/feature\n")
    (wt_git / "commondir").write_text("../..\n")
    other = "fedcba9876543210fedcba9876543210fedcba98"
    (main / ".git" / "refs" / "heads" / "feature").write_text(other + "\n")
    wt = tmp_path / "wt"
    (wt / "src" / "lastmile").mkdir(parents=True)
    (wt / "pyproject.toml").write_text("")
    (wt / ".git").write_text(f"gitdir: {wt_git}\n")
    assert source_commit(wt / "src" / "lastmile") == other
    # an installed copy (no checkout around it): no commit
    site = tmp_path / "site-packages" / "lastmile"
    site.mkdir(parents=True)
    assert source_commit(site) is None


def test_settlements_beyond_the_snap_limit_are_counted_and_named(result: PlanResult) -> None:
    """bb13 defect 2: with max_snap_m = 40, 7 of 61 settlements were left out, yet kpis.json
    `covers.access_time` and summary.md said "every settlement" and summary.md named none."""
    k = result.kpis()
    beyond = k["reachability"]["villages_beyond_snap_limit"]
    left = len(beyond)
    assert left == len(result.inputs.villages_beyond_snap) == 7
    assert k["villages"] == 54 and k["reachability"]["snap_limit_m"] == 40.0
    assert all(v["snap_m"] > 40 and v["orders"] == 0 for v in beyond)  # generated day: none
    assert {v["id"] for v in beyond}.isdisjoint(result.inputs.villages["id"])
    covers = k["covers"]
    assert covers["access_time"].startswith(
        "every settlement within the snap limit (54 of 61, incl. the county and township seats)"
    )
    assert (
        "; 7 settlement(s) lie farther than the 40 m snap limit ([network] max_snap_m)"
        in covers["access_time"]
    )
    assert "the day has no orders for them" in covers["access_time"]
    assert "of every settlement within the snap limit (54 of 61, the others" in covers["location"]
    assert "7 settlement(s) beyond the 40 m snap limit" in covers["reachability"]
    summary = summary_markdown(result)
    assert "Covers every settlement within the snap limit (54 of 61, county and" in summary
    line = next(s for s in summary.splitlines() if s.startswith("Left out: 7 of 61 settlements"))
    assert "40 m snap limit" in line and f"{beyond[0]['name']} ({beyond[0]['id']})" in line
    assert f"the day's {k['orders']} orders include none for them" in line


def test_map_title_and_popups_say_what_the_cold_chain_figures_cover(result: PlanResult) -> None:
    """bb13 defect 3: the baseline map said "0 cold-chain violation(s)" while the cold-chain
    limit left perishable orders unserved (kpis: 8/15 compliant), and the unassigned-order popup
    gave the reason code alone, not the limit that binds."""
    k = result.kpis()
    una = result.baseline.unassigned
    ruled_out = una[una["binding"] == "cold_chain"]
    assert len(ruled_out) == 3
    cc = k["cold_chain"]["baseline"]
    assert (cc["compliant"], cc["perishable_orders"]) == (8, 11)
    page = scenario_map(result, "baseline").get_root().render()
    assert (
        f"{len(una)} unassigned order(s); cold chain: 0 violation(s) among served orders, "
        f"3 order(s) unserved by the cold-chain limit; all perishable orders: 8/11 compliant "
        f"(72.7%, unserved counted not compliant)"
    ) in page
    first = ruled_out.iloc[0]
    assert "Binding limit" in page and "cold_chain" in page
    limit, best = first["limit"] / 60, first["best"] / 60
    assert f"{limit:.1f} / {best:.1f} min" in page
    assert html.escape(str(first["detail"])) in page


def test_console_routed_day_says_its_cold_chain_row_covers_served_orders_only(
    result: PlanResult, capsys: pytest.CaptureFixture[str]
) -> None:
    _print_routes(result.baseline, result.planned)
    out = capsys.readouterr().out
    assert "cold chain, served only" in out and "cold-chain compliance" not in out


def test_fleet_needed_table_gives_whole_vehicles_and_0_for_a_type_not_used(
    result: PlanResult, capsys: pytest.CaptureFixture[str]
) -> None:
    """bb13 defect 4: the plan's last_mile_by_type has no 'trunk' key (its trucks run trunk
    runs), so the table's vehicles_trunk column read 'nan' for the plan and '0.00' for the
    baseline in summary.md and fleet_needed.csv."""
    k = result.kpis()
    fleet = k["fleet_needed"]
    assert "trunk" in fleet["baseline"]["last_mile_by_type"]
    assert "trunk" not in fleet["plan"]["last_mile_by_type"]
    table = _fleet_table(k).set_index("scenario")
    vehicle_columns = [c for c in table.columns if c.startswith("vehicles_")]
    assert "vehicles_trunk" in vehicle_columns
    for column in vehicle_columns:
        assert table[column].dtype.kind == "i", column
    assert table.loc["plan", "vehicles_trunk"] == 0
    section = summary_markdown(result).split("## Fleet needed", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| plan")]
    assert rows and "nan" not in section and "| 0.00 |" not in section
    _print_like_for_like(k)
    out = capsys.readouterr().out
    plan_line = next(line for line in out.splitlines() if "fleet needed, plan" in line)
    assert " 0 trunk" in plan_line
    # lead times as kpis.json has them (one decimal), not rounded a second time
    parcel = {n: k["lead_time"][n]["parcel"] for n in ("baseline", "plan")}
    lead_line = next(line for line in out.splitlines() if "cut-off -> delivered" in line)
    for p in parcel.values():
        assert f"{p['mean_min']:.1f} / {p['p90_min']:.1f}" in lead_line, lead_line


def test_map_title_counts_trunk_runs_as_kpis_do(result: PlanResult) -> None:
    """bb13 defect 5: the plan map's "trunk: 7 run(s)" counted truck routes, where kpis.json's
    trunk.runs and summary.md count 2 runs (morning, evening)."""
    k = result.kpis()
    runs = k["trunk"]["runs"]
    assert list(runs) == ["morning"]  # no hub cold rooms: no evening run
    routes = len(result.morning.solution.routes) if result.morning is not None else 0
    assert routes == 2
    km = sum(v["km"] for v in runs.values())
    page = scenario_map(result, "plan").get_root().render()
    assert f"(trunk: 1 run, 2 truck routes, {km:,.0f} km, not included)" in page


def test_without_hub_cold_rooms_no_evening_run_is_claimed(result: PlanResult) -> None:
    """bb13 defect 6: with hub_cold_store = false there is no evening run, yet kpis.json said
    evening_run: true and the covers texts spoke of evening pickups back and the evening run."""
    k = result.kpis()
    assert result.evening is None and list(k["trunk"]["runs"]) == ["morning"]
    assumptions = k["trunk"]["assumptions"]
    assert assumptions["hub_cold_store"] is False and assumptions["evening_run"] is False
    covers = k["covers"]
    assert "evening pickups back" not in covers["trunk"]
    assert "no evening run: without hub cold rooms the centre's vans collect" in covers["trunk"]
    assert "evening trunk run included" not in covers["lead_time"]
    assert "no evening trunk run took place" in covers["lead_time"]
    assert "pickups: the county centre's, the hubs having none" in covers["cold_chain"]
    # every pickup is collected from the centre: both pickup measures are one
    lt = k["lead_time"]["plan"]
    assert lt["pickup_to_cold_room"] == lt["pickup_to_centre"]
    # with cold rooms and an evening run, the texts name it
    ran = copy.deepcopy(k)
    ran["trunk"]["runs"]["evening"] = dict(ran["trunk"]["runs"]["morning"])
    ran["trunk"]["assumptions"]["hub_cold_store"] = True
    again = kpi_coverage(ran)
    assert "(morning parcels out, evening pickups back)" in again["trunk"]
    assert again["lead_time"].endswith("(evening trunk run included)")


def test_access_time_mean_is_rounded_once_from_the_unrounded_mean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """bb13 defect 7: kpis.json rounds the mean to 2 decimals (48.55) and the console rounded
    that again (48.5), while the plot rounded the unrounded mean (48.6). Each output now rounds
    the unrounded figure once."""
    # two villages at 2,913 s (48.55 min) and 2,914 s, weights 3 and 1: mean 48.554 min
    seconds = np.array([[2913, 2914], [600, 600]], dtype=np.int64)
    study = access_study(
        seconds, ["C", "H"], ["v1", "v2"], ["t", "t"], np.array([3.0, 1.0]), [0], [0, 1]
    )
    raw = study.unrounded["before"]["mean_min"]
    assert raw == pytest.approx(48.5542, abs=1e-4)
    assert study.summary["before"]["mean_min"] == 48.55  # kpis.json: 2 decimals
    _print_study(study)
    out = capsys.readouterr().out
    mean_row = next(line for line in out.splitlines() if "mean, min" in line)
    assert mean_row.split()[2:] == ["48.6", "10.0"]
    assert "mean minutes saved: 38.6 (79.4%)" in out
    # the summary's saving is the unrounded means' difference, rounded once
    assert study.summary["mean_minutes_saved"] == round(raw - 10.0, 2) == 38.55
    # the plot's legend gives the study's unrounded figures, rounded once
    figures: list[Any] = []
    monkeypatch.setattr("lastmile.plots._save", lambda fig, path: figures.append(fig) or path)
    minutes = study.villages
    delivery_time_distribution(
        minutes["minutes_before"], minutes["minutes_after"], minutes["weight"],
        tmp_path / "t.png", stats=(study.unrounded["before"], study.unrounded["after"]),
    )  # fmt: skip
    legend = [t.get_text() for t in figures[0].axes[1].get_legend().get_texts()]
    assert legend[0].startswith("centre only: mean 48.6,")


def test_two_plans_with_different_snap_limits_do_not_route_the_same_order_day() -> None:
    """bb13 defect 1, in `compare --plans`: a plan at max_snap_m = 40 (54 villages, 45 orders)
    was taken to route the same order day as one at 1,500 m (61 villages, 56 orders)."""
    base = {"seed": 7, "data_source": "stand-in", "inputs": {},
            "region_config": {"demand": {"a": 1}, "network": {"max_snap_m": 1500.0}}}  # fmt: skip
    snap = copy.deepcopy(base)
    snap["region_config"]["network"]["max_snap_m"] = 40.0
    assert _order_day_differences(base, snap) == ["snap limit (m): 1500.0 vs 40.0"]
    assert _order_day_differences(base, copy.deepcopy(base)) == []
    older = copy.deepcopy(base)
    del older["region_config"]["network"]  # a manifest from before the snap limit was recorded
    assert _order_day_differences(base, older) == []

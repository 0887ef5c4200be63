"""lastmile sweep on the small stand-in: expansion, a 2-worker LocalCluster, a killed worker,
Ctrl-C and --resume, failing scenarios, equality with `lastmile plan`, and a separately started
`dask scheduler` + `dask worker`."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import lastmile
from lastmile.cli import main
from lastmile.errors import InputError
from lastmile.io import source_commit
from lastmile.scenario import load_scenario
from lastmile.sweep import (
    HEADLINE,
    LEAD_TIME,
    NOT_RECORDED,
    ORDERS_SERVED,
    ROW_SETTINGS,
    ScenarioSpec,
    Sweep,
    _row,
    code_version,
    flatten,
    input_hashes,
    load_sweep,
    losing_scenarios,
    made_by,
    manifest_sha256,
    merged_text,
    plan_values,
    rows_equal_kpis,
    run_sweep,
    seed_changes_headline,
    sensitivity,
    write_summary,
)
from tests.conftest import TEST_SCALE

distributed = pytest.importorskip("distributed")

#: Tiny limits: the solution limit ends every search (deterministic), the time caps never bind.
SET = f"""
[set]
network = "synthetic"
standin_scale = {TEST_SCALE}
routing_solution_limit = 3
routing_time_limit_s = 60.0
location_time_limit_s = 30.0
"""

SWEEP = (
    SET
    + """
[grid]
p = [3, 6]
seed = [1, 2]

[[scenarios]]
name = "p too large"
p = 500
"""
)


def _write(tmp: Path, text: str, name: str = "sweep.toml") -> Path:
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    c = distributed.Client(cluster)
    try:
        yield c
    finally:
        c.close()
        cluster.close()


@pytest.fixture(scope="module")
def dirs(small_cache: Path) -> dict[str, Any]:
    return {"cache": small_cache, "progress_bar": False}


@pytest.fixture(scope="module")
def swept(
    client: Any, dirs: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Any, Any]:
    tmp = tmp_path_factory.mktemp("sweep")
    sweep = load_sweep(_write(tmp, SWEEP))
    return sweep, run_sweep(sweep, tmp / "out", client=client, **dirs)


# --------------------------------------------------------------------------- the sweep file


def test_expansion_keys_and_multipliers(tmp_path: Path) -> None:
    region = tmp_path / "r.toml"
    region.write_text(
        (Path(__file__).parents[1] / "src/lastmile/regions/suichang.toml").read_text("utf-8"),
        encoding="utf-8",
    )
    text = (
        SET
        + """
[grid]
p = [5, 8]
"cold_chain.produce_max_in_vehicle_min" = [90, 120, 180]
demand_multiplier = [0.5, 2]

[[scenarios]]
name = "slow tracks, double fleet, other region file"
"speed_multiplier.track" = 0.5
fleet_multiplier = 2
region = "r.toml"
"""
    )
    sweep = load_sweep(_write(tmp_path, text))
    assert len(sweep.scenarios) == 2 * 3 * 2 + 1
    assert sweep.keys[:3] == ("p", "cold_chain.produce_max_in_vehicle_min", "demand_multiplier")
    assert len({s.id for s in sweep.scenarios}) == len(sweep.scenarios)
    first = sweep.scenarios[0]
    assert dict(first.varied) == {
        "p": 5,
        "cold_chain.produce_max_in_vehicle_min": 90,
        "demand_multiplier": 0.5,
    }
    # each scenario is an ordinary scenario file: load it like `lastmile plan --config` does
    path = _write(tmp_path, first.toml, "first.toml")
    sc = load_scenario(path)
    base = load_scenario()
    assert sc.plan.p == 5 and sc.plan.standin_scale == TEST_SCALE
    assert sc.region.cold_chain.produce_s == 90 * 60
    d, d0 = sc.region.demand, base.region.demand
    assert d.parcels_per_resident_per_day == pytest.approx(d0.parcels_per_resident_per_day * 0.5)
    assert d.produce_kg_per_resident == pytest.approx(d0.produce_kg_per_resident * 0.5)
    assert d.tea_share_of_pickups == d0.tea_share_of_pickups  # untouched keys stay
    listed = sweep.scenarios[-1]
    assert listed.label == "slow tracks, double fleet, other region file"
    sc = load_scenario(_write(tmp_path, listed.toml, "listed.toml"))
    s0 = base.region.speeds_kmh
    assert sc.region.speeds_kmh["track"] == pytest.approx(s0["track"] * 0.5)
    assert all(sc.region.speeds_kmh[k] == v for k, v in s0.items() if k != "track")
    assert [f.count_per_depot for f in sc.region.fleet] == [
        2 * f.count_per_depot for f in base.region.fleet
    ]
    assert sc.region.source_file.startswith(str(region.resolve()))


def test_bad_values_refuse_the_sweep_file_before_any_task(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """bb16 D7: a bad key or value in [set], [grid] or a [[scenarios]] entry is an error of the
    sweep file (exit 2, one message naming the table, the scenario and the key), not N failed
    scenarios in a results table; nothing runs and no output folder is made."""
    cases = [
        ("[set]\nbanana = 1\n[grid]\np = [3, 4]\n",
         "[set] (2 of 2 scenarios): sweep scenario 'p=3': unknown key 'banana'"),
        ("[set]\np = 0\n[grid]\nseed = [1, 2]\n",
         "[set] (2 of 2 scenarios): sweep scenario 'seed=1' [plan] p = 0 must be at least 1"),
        ("[grid]\np = [3, 0]\n", "[grid]: sweep scenario 'p=0' [plan] p = 0 must be at least 1"),
        ("[grid]\nseed = [1, -1]\n", "[grid]: sweep scenario 'seed=-1' [plan] seed = -1 is not"),
        ('[grid]\n"speed_multiplier.primray" = [0.9]\n',
         "unknown road class in 'speed_multiplier.primray'"),
        ("[grid]\nspeed_multiplier = [0]\n", "motorway = 0.0 is not a plausible speed"),
        ('[grid]\n"trunk.cutoff" = ["25:00"]\n', "[trunk] cutoff: '25:00' is out of range"),
        ("[grid]\np = [3]\n[[scenarios]]\nname = \"quarter fleet\"\nfleet_multiplier = 0.25\n",
         "[[scenarios]]: sweep scenario 'quarter fleet': fleet_multiplier = 0.25 leaves no "
         "vehicle: every vehicle type's count_per_depot rounds to 0 (reefer 2 -> 0, van 2 -> 0)"),
    ]  # fmt: skip
    for text, message in cases:
        path = _write(tmp_path, SET + text.removeprefix("[set]\n"))  # SET ends in [set]
        with pytest.raises(InputError, match=re.escape(message)) as caught:
            load_sweep(path)
        assert "lastmile-sweep-" not in str(caught.value)  # not a worker's temporary file
        out = tmp_path / "o"
        assert main(["sweep", "--config", str(path), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"lastmile: error: sweep file {path}") and message in err
        assert err.count("\n") == 1 and not out.exists()
    # one vehicle type to zero is a valid scenario; more hubs than townships is a request that
    # cannot be met, not bad input: recorded for that scenario alone, the others run
    text = SET + "[grid]\np = [3, 500]\n"
    text += '[[scenarios]]\nname = "no vans"\n"fleet_multiplier.van" = 0\n'
    good, too_many, no_vans = load_sweep(_write(tmp_path, text)).scenarios
    assert good.error is None and no_vans.error is None and no_vans.toml
    assert too_many.error is not None and not too_many.bad_input and "500" in too_many.error


def test_speed_multipliers_compose_and_merged_grid_points_are_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """bb25 D12: speed_multiplier with speed_multiplier.CLASS dropped the all-class factor, so
    grid points merged silently under a label that was not applied. They compose now (class
    speed x all-class x class multiplier, as the fleet multipliers do), and grid points that
    are the same scenario are still run once but named on the console and in summary.md."""
    text = SET + '[grid]\nspeed_multiplier = [0.8, 1.0]\n"speed_multiplier.track" = [0.5, 1.0]\n'
    sweep = load_sweep(_write(tmp_path, text))
    assert [s.label for s in sweep.scenarios] == [
        "speed_multiplier=0.8 speed_multiplier.track=0.5",
        "speed_multiplier=0.8 speed_multiplier.track=1.0",
        "speed_multiplier=1.0 speed_multiplier.track=0.5",
        "speed_multiplier=1.0 speed_multiplier.track=1.0",
    ]
    assert sweep.merged == () and merged_text(sweep) is None
    s0 = load_scenario().region.speeds_kmh
    speeds = [
        load_scenario(_write(tmp_path, s.toml, f"s{i}.toml")).region.speeds_kmh
        for i, s in enumerate(sweep.scenarios)
    ]
    assert speeds[0]["track"] == pytest.approx(s0["track"] * 0.8 * 0.5)
    assert speeds[0]["motorway"] == pytest.approx(s0["motorway"] * 0.8)
    assert speeds[1]["track"] == pytest.approx(s0["track"] * 0.8)
    assert speeds[1]["primary"] == pytest.approx(s0["primary"] * 0.8)
    assert speeds[2]["track"] == pytest.approx(s0["track"] * 0.5)
    assert speeds[3] == s0
    # the order the keys are written in does not matter
    text = SET + '[grid]\n"speed_multiplier.primary" = [0.5]\nspeed_multiplier = [0.8]\n'
    (one,) = load_sweep(_write(tmp_path, text)).scenarios
    got = load_scenario(_write(tmp_path, one.toml, "one.toml")).region.speeds_kmh
    assert got["primary"] == pytest.approx(s0["primary"] * 0.4)
    assert got["motorway"] == pytest.approx(s0["motorway"] * 0.8)
    # p = [500, 500] and a listed copy: one scenario (it fails without a task: no cluster is
    # started), and the merge is said on the console and in summary.md
    text = SET + "[grid]\np = [500, 500]\n[[scenarios]]\np = 500\n"
    sweep = load_sweep(_write(tmp_path, text))
    assert len(sweep.scenarios) == 1 and sweep.scenarios[0].error is not None
    sid = sweep.scenarios[0].id
    line = (
        "2 grid point(s) or listed scenario(s) are the same scenario as an earlier one and run "
        f"once: grid point 2 'p=500' merged into 'p=500' ({sid}); [[scenarios]] entry 1 'p=500' "
        f"merged into 'p=500' ({sid})"
    )
    assert merged_text(sweep) == line
    same = load_sweep(_write(tmp_path, SET + "[grid]\np = [3, 3]\n", "same.toml"))
    assert len(same.scenarios) == 1
    assert same.merged == (("grid point 2 'p=3'", "p=3", same.scenarios[0].id),)
    logged: list[str] = []
    run_sweep(sweep, tmp_path / "out", log=logged.append, progress_bar=False)
    assert logged[0] == f"sweep: {line}"
    summary = (tmp_path / "out" / "summary.md").read_text(encoding="utf-8")
    assert f"\nMerged: {line}.\n" in summary
    index = json.loads((tmp_path / "out" / "sweep.json").read_text(encoding="utf-8"))
    assert index["merged"][0] == {"which": "grid point 2 'p=500'", "into": "p=500", "id": sid}
    # the command line prints it once, on stderr
    assert main(["sweep", "--config", str(tmp_path / "sweep.toml"), "--out",
                 str(tmp_path / "cli")]) == 5  # fmt: skip
    assert capsys.readouterr().err.count(f"sweep: {line}\n") == 1


def test_a_bad_key_in_the_base_file_names_the_base_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """bb25 D4: a bad key in the base scenario file was blamed on the sweep file's [grid]."""
    (tmp_path / "base_bad.toml").write_text("[plan]\nbanana = 1\n", encoding="utf-8")
    path = _write(tmp_path, 'base = "base_bad.toml"\n[grid]\np = [3]\n')
    message = (
        f"sweep file {path}: base scenario file {tmp_path / 'base_bad.toml'} [plan]: "
        "unknown key(s) ['banana']"
    )
    with pytest.raises(InputError, match=re.escape(message)):
        load_sweep(path)
    out = tmp_path / "o"
    assert main(["sweep", "--config", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"lastmile: error: {message} — known keys: [")
    assert "[grid]" not in err and err.count("\n") == 1 and not out.exists()
    # a bad value the base file sets but the sweep overrides is no error of the base
    (tmp_path / "base_p0.toml").write_text("[plan]\np = 0\n", encoding="utf-8")
    path = _write(tmp_path, 'base = "base_p0.toml"\n[grid]\np = [3, 4]\n')
    assert [s.error for s in load_sweep(path).scenarios] == [None, None]


def _refused(path: Path, message: str, capsys: pytest.CaptureFixture[str], *options: str) -> None:
    """``lastmile sweep`` on ``path`` exits 2 with ``message`` as its one line, no --out made."""
    out = path.parent / "refused"
    assert main(["sweep", "--config", str(path), "--out", str(out), *options]) == 2
    err = capsys.readouterr().err  # (after the sweep's "sweep: N scenario(s)" line, if read)
    assert err.endswith(f"lastmile: error: {message}\n") and err.count("lastmile: error") == 1
    assert not out.exists()


def _refused_file(path: Path, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The sweep file ``path`` is refused with ``message``: by ``load_sweep`` and by ``lastmile
    sweep`` (:func:`_refused`)."""
    with pytest.raises(InputError) as caught:
        load_sweep(path)
    assert str(caught.value) == message
    _refused(path, message, capsys)


def test_scenario_names_must_be_strings_used_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """bb25 D21: a number was accepted as a name, and two scenarios could share one (two rows
    labelled "a")."""
    text = SET + '[[scenarios]]\nname = "a"\np = 3\n[[scenarios]]\np = 4\n'
    path = _write(tmp_path, text + '[[scenarios]]\nname = "a"\np = 5\n')
    message = (
        f"sweep file {path}: [[scenarios]] entries 1 and 3 are both named 'a' — give each its "
        "own name"
    )
    _refused_file(path, message, capsys)
    path = _write(tmp_path, SET + "[[scenarios]]\nname = 5\np = 3\n")
    message = (
        f"sweep file {path}: [[scenarios]] entry 1: name = 5 is not a string — write it in "
        'quotes: name = "5"'
    )
    _refused_file(path, message, capsys)
    # bb26 D8: a name that is another scenario's generated label, or an empty name
    path = _write(tmp_path, SET + '[grid]\np = [3, 4]\n[[scenarios]]\nname = "p=3"\np = 5\n')
    message = (
        f"sweep file {path}: [[scenarios]] entry 1: name = 'p=3' is the label of grid point "
        "p=3 — give another name"
    )
    _refused_file(path, message, capsys)
    path = _write(tmp_path, SET + '[[scenarios]]\np = 5\n[[scenarios]]\nname = "p=5"\np = 6\n')
    message = (
        f"sweep file {path}: [[scenarios]] entry 2: name = 'p=5' is the label of [[scenarios]] "
        "entry 1 (p=5, unnamed) — give another name"
    )
    _refused_file(path, message, capsys)
    path = _write(tmp_path, SET + '[grid]\np = [3]\n[[scenarios]]\nname = ""\np = 5\n')
    message = (
        f"sweep file {path}: [[scenarios]] entry 1: name = '' is empty — give a name, or leave "
        "name out to label the entry by what it sets"
    )
    _refused_file(path, message, capsys)
    # a name with spaces at its ends read as the label it pads ("p=4 " beside p=4)
    path = _write(tmp_path, SET + '[grid]\np = [3, 4]\n[[scenarios]]\nname = "p=4 "\np = 5\n')
    message = (
        f"sweep file {path}: [[scenarios]] entry 1: name = 'p=4 ' has spaces at its ends — "
        "remove them"
    )
    _refused_file(path, message, capsys)
    path = _write(tmp_path, SET + '[[scenarios]]\nname = " a"\np = 5\n')
    message = (
        f"sweep file {path}: [[scenarios]] entry 1: name = ' a' has spaces at its ends — "
        "remove them"
    )
    _refused_file(path, message, capsys)
    # the same scenario as the grid point it names is merged into it, as before
    text_p3 = SET + '[grid]\np = [3, 4]\n[[scenarios]]\nname = "p=3"\np = 3\n'
    sweep = load_sweep(_write(tmp_path, text_p3))
    assert [s.label for s in sweep.scenarios] == ["p=3", "p=4"] and len(sweep.merged) == 1
    # distinct names, and unnamed entries (labelled by what they set), are fine
    sweep = load_sweep(_write(tmp_path, text + '[[scenarios]]\nname = "b"\np = 5\n'))
    assert [s.label for s in sweep.scenarios] == ["a", "p=4", "b"]


def test_a_key_in_both_set_and_grid_is_refused_and_a_listed_override_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """bb25 D17: a key in [set] and [grid] was accepted (the grid won) and summary.md listed the
    [set] value as fixed for every scenario; a [[scenarios]] entry overriding [set] was not
    said there either."""
    path = _write(tmp_path, SET + "p = 4\n[grid]\np = [3, 5]\n")
    message = (
        f"sweep file {path}: p is both in [set] (4) and [grid] ([3, 5]) — keep it in one table"
    )
    _refused_file(path, message, capsys)
    # the plan. prefix is the same key
    path = _write(tmp_path, SET + 'objective = "pmedian"\n[grid]\n"plan.objective" = ["mclp"]\n')
    with pytest.raises(InputError, match=re.escape(
            'objective is both in [set] ("pmedian") and [grid] (["mclp"])')):  # fmt: skip
        load_sweep(path)
    # a listed scenario may set a [set] key on top: summary.md names it
    text = SET + 'p = 4\n[grid]\nseed = [1]\n[[scenarios]]\nname = "six"\np = 6\n'
    sweep = load_sweep(_write(tmp_path, text))
    write_summary(sweep, pd.DataFrame([_row(s, _ran(s)) for s in sweep.scenarios]), tmp_path)
    summary = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert "`location_time_limit_s = 30.0`, `p = 4` (except where a scenario sets it: six).\n" \
        in summary  # fmt: skip
    assert "`routing_solution_limit = 3`, `routing_time_limit_s" in summary  # the others as were


def test_a_grid_key_the_other_settings_make_inert_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """bb25 D20: demand_multiplier with an orders file, and the ils ruin size with gls, changed
    nothing (identical kpis.json) and the summary reported a sensitivity of 0."""
    orders = SET + 'orders = "orders.csv"\n[grid]\n'
    for key in ("demand_multiplier", "demand.parcels_per_resident_per_day"):
        path = _write(tmp_path, orders + f'"{key}" = [0.5, 2]\n')
        message = (
            f"sweep file {path} [grid]: {key} scales the generated day of orders ([demand] "
            "rates); with [plan] orders = FILE in every scenario it changes nothing — vary the "
            "orders file instead (a [[scenarios]] entry per orders file), or drop orders to "
            "vary a generated day"
        )
        _refused_file(path, message, capsys)
    path = _write(tmp_path, SET + 'routing_search = "gls"\n[grid]\nrouting_ruin_visits = [5, 20]\n')
    message = (
        f'sweep file {path} [grid]: routing_ruin_visits sets the ruin of routing_search = "ils"; '
        'with routing_search = "gls" in every scenario it changes nothing — vary '
        'routing_solution_limit instead, or set routing_search = "ils"'
    )
    _refused_file(path, message, capsys)
    # bb26 D14: routing_processes gave the same figures at 1 and 2, a sensitivity of 0
    path = _write(tmp_path, SET + "[grid]\nrouting_processes = [1, 2]\n")
    message = (
        f"sweep file {path} [grid]: routing_processes changes how the days are routed, not "
        "their results — set it in [set]"
    )
    _refused_file(path, message, capsys)
    text = SET + "routing_processes = 1\n[grid]\np = [3]\n"
    assert len(load_sweep(_write(tmp_path, text)).scenarios) == 1  # in [set] it is fine
    # where some scenario makes the key count, the sweep runs
    text = SET + '[grid]\ndemand_multiplier = [0.5, 2]\n[[scenarios]]\norders = "orders.csv"\n'
    assert len(load_sweep(_write(tmp_path, text)).scenarios) == 3
    text = SET + '[grid]\nrouting_search = ["ils", "gls"]\nrouting_ruin_visits = [5, 20]\n'
    assert len(load_sweep(_write(tmp_path, text)).scenarios) == 4
    # a listed scenario that sets a demand key on its own orders file (bb25's residual of D20)
    text = SET + '[grid]\np = [3]\n[[scenarios]]\nname = "om"\norders = "orders.csv"\n'
    path = _write(tmp_path, text + "demand_multiplier = 2\n")
    message = (
        f"sweep file {path} [[scenarios]] 'om': demand_multiplier scales the generated day of "
        "orders ([demand] rates); with [plan] orders = FILE it changes nothing — drop it from "
        "that scenario, or drop orders to vary a generated day"
    )
    _refused_file(path, message, capsys)


def test_a_demand_multiplier_of_zero_is_refused_when_the_sweep_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """bb25 D2: a demand_multiplier of 0 gave every village its 1 parcel; once zero meant no
    orders, its scenario failed when it ran (exit 5) instead of the file being refused."""
    path = _write(tmp_path, SET + "[grid]\ndemand_multiplier = [0, 1]\n")
    with pytest.raises(InputError, match="demand_multiplier = 0 leaves a day without orders"):
        load_sweep(path)


def test_demand_rates_that_leave_a_day_without_orders_are_refused_when_the_sweep_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """bb26 D6: [demand] rates of 0 passed the read check; every task then failed with "no
    order to route" (exit 5) and --out was written."""
    text = SET + '"demand.parcels_per_resident_per_day" = 0\n"demand.produce_pickup_share" = 0\n'
    path = _write(tmp_path, text + "[grid]\np = [3, 4]\n")
    message = (
        f"sweep file {path} [set] (2 of 2 scenarios): sweep scenario 'p=3': [demand] "
        "parcels_per_resident_per_day = 0 and produce_pickup_share = 0 leave a day without "
        "orders — give parcels or produce pickups a rate above 0, or the day's orders with "
        "orders = FILE"
    )
    _refused_file(path, message, capsys)
    text = SET + '"demand.parcels_per_resident_per_day" = 0\n'
    path = _write(tmp_path, text + '[grid]\n"demand.produce_kg_per_resident" = [0, 0.1]\n')
    message = (
        f"sweep file {path} [grid]: sweep scenario 'demand.produce_kg_per_resident=0': [demand] "
        "parcels_per_resident_per_day = 0 and produce_kg_per_resident = 0 leave a day without"
    )
    with pytest.raises(InputError, match=re.escape(message)):
        load_sweep(path)
    # pickups alone, or parcels alone, are a day with orders; so is an orders file
    assert len(load_sweep(_write(tmp_path, text + "[grid]\np = [3]\n")).scenarios) == 1
    text = SET + '"demand.produce_kg_per_resident" = 0\n[grid]\np = [3]\n'
    assert len(load_sweep(_write(tmp_path, text)).scenarios) == 1
    text = SET + '"demand.parcels_per_resident_per_day" = 0\n"demand.produce_pickup_share" = 0\n'
    text += '[grid]\np = [3]\n[[scenarios]]\norders = "orders.csv"\n'
    with pytest.raises(InputError, match=re.escape("[grid]: sweep scenario 'p=3': [demand]")):
        load_sweep(_write(tmp_path, text))  # only the grid point is refused, not the listed one


def test_the_python_api_checks_its_arguments_before_the_output_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """bb25 D16: run_sweep(workers=-2) waited forever on a cluster of 0 workers, workers="two"
    raised a bare TypeError, both left an output folder; load_sweep(5) raised a TypeError."""
    sweep = load_sweep(_write(tmp_path, SET + "[grid]\np = [3]\n"))
    out = tmp_path / "out"
    for workers in (-2, 0, "two", 1.5, True):
        with pytest.raises(InputError) as caught:
            run_sweep(sweep, out, workers=workers, progress_bar=False)  # type: ignore[arg-type]
        assert str(caught.value) == (
            f"run_sweep: workers = {workers!r} must be a whole number >= 1 — or None for one "
            "worker per core"
        )
        assert not out.exists()
    # bb26 D9: workers=2**40 passed, made --out, then filled the memory (OOM-killed)
    too_many = (
        "workers = 1099511627776 is more than 256 — give at most 256 (or a --scheduler address "
        "for a larger cluster)"
    )
    with pytest.raises(InputError) as caught:
        run_sweep(sweep, out, workers=2**40, progress_bar=False)
    assert str(caught.value) == f"run_sweep: {too_many}" and not out.exists()
    with pytest.raises(InputError, match="workers = 257 is more than 256"):
        run_sweep(sweep, out, workers=257, progress_bar=False)
    assert not out.exists()
    path = tmp_path / "sweep.toml"
    with pytest.raises(SystemExit) as refused:  # argparse refuses the option
        main(["sweep", "--config", str(path), "--out", str(out), "--workers", "257"])
    assert refused.value.code == 2
    err = capsys.readouterr().err
    assert "argument --workers: workers = 257 is more than 256 — give at most 256" in err
    assert err.count("\n") == 1 and not out.exists()
    with pytest.raises(InputError, match=re.escape("run_sweep: out = 5 is not a folder path")):
        run_sweep(sweep, 5, progress_bar=False)  # type: ignore[arg-type]
    with pytest.raises(InputError, match=re.escape("run_sweep: cache = 7 is not a folder path")):
        run_sweep(sweep, out, cache=7, progress_bar=False)  # type: ignore[arg-type]
    message = "run_sweep: sweep = 'sweep.toml' is not a Sweep — read the sweep file with load_sweep"
    with pytest.raises(InputError, match=re.escape(message)):
        run_sweep("sweep.toml", out, progress_bar=False)  # type: ignore[arg-type]
    with pytest.raises(InputError) as caught:
        load_sweep(5)  # type: ignore[arg-type]
    assert (
        str(caught.value) == "load_sweep: path = 5 is not a file path — give the sweep file's path"
    )
    assert not out.exists()


def test_a_cache_or_reference_folder_the_local_workers_cannot_use_is_refused_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """bb25 D26: an unwritable --cache-dir or a missing --reference-data failed every scenario
    one by one (exit 5) and left a sweep folder of failures; `lastmile plan` refuses both
    before any work."""
    path = _write(tmp_path, SET + "[grid]\np = [3]\n")
    sweep = load_sweep(path)
    (tmp_path / "afile").write_text("", encoding="utf-8")
    cache = tmp_path / "afile" / "sub"
    message = (
        f"cache directory {cache} cannot be written: Not a directory — give --cache-dir DIR or "
        "set LASTMILE_CACHE_DIR to a folder you can write"
    )
    out = tmp_path / "out"
    with pytest.raises(InputError) as caught:
        run_sweep(sweep, out, cache=cache, progress_bar=False)
    assert str(caught.value) == message and not out.exists()
    _refused(path, message, capsys, "--cache-dir", str(cache))
    missing = tmp_path / "nonexistent"
    message = (
        f"reference-data directory not found (looked in {missing}) — pass --reference-data DIR "
        "or set LASTMILE_REFERENCE_DATA"
    )
    with pytest.raises(InputError) as caught:
        run_sweep(sweep, out, reference_dir=missing, progress_bar=False)
    assert str(caught.value) == message and not out.exists()
    _refused(path, message, capsys, "--reference-data", str(missing))


def test_a_kept_row_shows_the_search_settings_its_run_recorded(tmp_path: Path) -> None:
    """bb25 D19: --resume filled routing_time_limit_s (and summary's time cap) from today's
    default for results kept from older code that ran with another one."""
    sweep = load_sweep(_write(tmp_path, '[set]\nnetwork = "synthetic"\n[grid]\np = [3, 4]\n'))
    new, old = sweep.scenarios
    recorded = {"status": "ok", "routing_search": "ils", "routing_solution_limit": 750,
                "routing_time_limit_s": 300.0}  # fmt: skip
    rows = [_row(new, recorded), _row(old, {"status": "ok"})]  # old: recorded nothing
    assert [r["routing_time_limit_s"] for r in rows] == [300.0, NOT_RECORDED]
    assert [r["routing_solution_limit"] for r in rows] == [750, NOT_RECORDED]
    # a value the scenario's file states is what ran, whatever code ran it
    stated = load_sweep(_write(tmp_path, SET + "[grid]\np = [3]\n", "stated.toml"))
    assert _row(stated.scenarios[0], {"status": "ok"})["routing_time_limit_s"] == 60.0
    df = pd.DataFrame(rows)
    df[HEADLINE] = 0.6
    write_summary(sweep, df, tmp_path)
    depth = (tmp_path / "summary.md").read_text(encoding="utf-8").split("## Search depth\n\n")[1]
    assert depth.startswith(
        "Routes from OR-Tools (search ils in 1 scenarios, not recorded in 1 scenarios): 750 "
        "solutions per model in 1 scenarios, not recorded in 1 scenarios "
        "(`routing_solution_limit`, in each row of results.csv); a time cap: 300 s per routed "
        "day in 1 scenarios, not recorded in 1 scenarios (`routing_time_limit_s`). "
        '"not recorded": results kept by `--resume` from lastmile code that did not record its '
        "search settings, whose defaults may differ from today's."
    )
    # a scenario that never ran carries what it would run with
    assert (
        _row(old, {"status": "failed"})["routing_time_limit_s"]
        == plan_values(old)["routing_time_limit_s"]
    )


def test_a_key_whose_values_are_not_numbers_shows_every_value_in_both_tables(
    tmp_path: Path,
) -> None:
    """bb25 D24: for objective = ["pmedian", "pcenter", "mclp"] the tornado and the routed-day
    table named different values "low" and "high", without saying by what, and pcenter was in
    neither."""
    objectives = ["pmedian", "pcenter", "mclp"]
    df = pd.DataFrame({
        "scenario": ["a", "b", "c"], "label": [f"objective={o}" for o in objectives],
        "grid_point": True, "sets": '["objective"]', "status": "ok", "objective": objectives,
        HEADLINE: [0.6587, 0.612, 0.5966], "routed_compared.plan.km": [1093.7, 1150.0, 1283.4],
        "routed_compared.plan.orders": 50,
    })  # fmt: skip
    specs = tuple(ScenarioSpec(s, label, {}, "") for s, label in zip(df["scenario"], df["label"],
                                                                       strict=True))  # fmt: skip
    write_summary(Sweep("obj.toml", specs, ("objective",)), df, tmp_path)
    summary = (tmp_path / "summary.md").read_text(encoding="utf-8")
    tornado = summary.split("## Sensitivity (tornado)\n\n", 1)[1].split("\n## ", 1)[0]
    note = (
        "For a key whose values are not numbers (objective), `low_value` / `high_value` are the "
        "values at the lowest and highest mean of that row's figure (marked min / max, so rows "
        'of different figures may name different values; "(every value)" where all give the '
        "same mean), and `every_value` gives the mean at each of its values."
    )
    assert note in tornado
    assert "| objective | mclp (min) | pmedian (max) | 1 | 1 | 59.66 | 65.87 | " \
        "mclp 59.66; pcenter 61.20; pmedian 65.87 | 59.66 | 65.87 | 6.21 |" in tornado  # fmt: skip
    routed = summary.split("## Sensitivity of the routed day\n\n", 1)[1].split("\n## ", 1)[0]
    assert note in routed
    # the tornado plot's legend says the same (it read "at lowest value" for a name)
    import lastmile.sweep as sweep_module

    figures: list[Any] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sweep_module, "_save_png", lambda fig, path: figures.append(fig) or path)
        sweep_module.plot_tornado(sensitivity(df, ["objective"]), 0.62, tmp_path / "t.png")
    assert figures[0].axes[0].get_legend_handles_labels()[1] == [
        "at lowest value (a key of names: at its value of lowest mean)",
        "at highest value (a key of names: at its value of highest mean)",
    ]
    assert "| routed_compared.plan.km | objective | pmedian (min) | mclp (max) | 1 | 1 | " \
        "1093.70 | 1283.40 | 50.00 | 50.00 | same order count | " \
        "pmedian 1093.70; pcenter 1150.00; mclp 1283.40 |" in routed  # fmt: skip
    # a numeric key keeps its lowest and highest value, with no note
    df["objective"] = [1, 2, 3]
    write_summary(Sweep("obj.toml", specs, ("objective",)), df, tmp_path)
    summary = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert "every_value" not in summary and "| objective | 1 | 3 |" in summary


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[grid]\np = 5\n", "is not a non-empty list"),
        ("[grids]\np = [5]\n", "unknown key(s) or table(s) ['grids']"),
        ("[set]\np = 5\n", "nothing to run"),
        ("[grid\np = [5]\n", "is not valid TOML"),
        ('base = "missing.toml"\n[grid]\np = [5]\n', "does not exist"),
    ],
)
def test_bad_sweep_files(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(InputError, match=re.escape(message)):
        load_sweep(_write(tmp_path, text))


def test_cli_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sweep", "--config", str(tmp_path / "none.toml"), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "sweep file" in err and "does not exist" in err
    path = _write(tmp_path, SWEEP)
    args = ["sweep", "--config", str(path), "--out", str(tmp_path / "o")]
    assert main([*args, "--scheduler", "tcp://127.0.0.1:1", "--workers", "2"]) == 2
    assert "--workers applies to the local cluster only" in capsys.readouterr().err
    fresh = ["sweep", "--config", str(path), "--out", str(tmp_path / "o2")]
    for address in (
        "nonsense",
        "http://localhost:8786",
        "tcp://localhost",
        "tcp://127.0.0.1:99999",
    ):
        assert main([*fresh, "--scheduler", address]) == 2
        err = capsys.readouterr().err
        assert "is not a Dask scheduler address" in err and "tcp://HOST:8786" in err
        assert len([x for x in err.splitlines() if x.startswith("lastmile: error")]) == 1
        assert not (tmp_path / "o2").exists()  # --out untouched


def test_out_that_is_a_file_another_folder_or_another_sweep_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """bb16 D8: --out a file is one clear error (not "internal error: FileExistsError"); a
    folder of other files is not written into; --resume on another sweep's folder is refused
    rather than mixing the two sweeps' scenarios."""
    path = _write(tmp_path, SWEEP)
    afile = tmp_path / "afile"
    afile.write_text("x\n", encoding="utf-8")
    argv = ["sweep", "--config", str(path), "--out"]
    assert main([*argv, str(afile)]) == 2
    err = capsys.readouterr().err
    refused = f"lastmile: error: output folder {afile} is a file — give a folder path (--out DIR)"
    assert err.splitlines()[1:] == [refused]  # after the "sweep: 5 scenario(s)" line
    assert afile.read_text(encoding="utf-8") == "x\n"
    other = tmp_path / "other"
    other.mkdir()
    (other / "f.txt").write_text("mine", encoding="utf-8")
    for extra in ([], ["--resume"]):
        assert main([*argv, str(other), *extra]) == 2
        err = capsys.readouterr().err
        assert (
            f"output folder {other} holds files that are not a sweep output (no sweep.json)" in err
        )
        assert [p.name for p in other.iterdir()] == ["f.txt"]
    # a sweep folder of another sweep file: --resume refused, nothing written
    done = tmp_path / "done"
    (done / "scenarios" / "aa3c78df569f").mkdir(parents=True)
    index = {"source": "sweep8.toml", "keys": ["p"],
             "scenarios": [{"id": "aa3c78df569f", "label": "p=3", "varied": {"p": 3}}]}  # fmt: skip
    (done / "sweep.json").write_text(json.dumps(index), encoding="utf-8")
    assert main([*argv, str(done), "--resume"]) == 2
    err = capsys.readouterr().err
    refused = f"--resume: {done} holds another sweep (made from sweep8.toml, 1 scenarios): "
    assert (
        refused + "1 of its scenarios are not in this sweep and 5 of this sweep's are not in it"
        in err
    )
    assert json.loads((done / "sweep.json").read_text(encoding="utf-8")) == index
    assert [p.name for p in (done / "scenarios").iterdir()] == ["aa3c78df569f"]


def test_an_unreachable_scheduler_leaves_no_output_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import lastmile.sweep

    monkeypatch.setattr(lastmile.sweep, "_CONNECT_TIMEOUT", "1s")  # nothing listens on port 1
    out = tmp_path / "o"
    argv = ["sweep", "--config", str(_write(tmp_path, SWEEP)), "--out", str(out)]
    assert main([*argv, "--scheduler", "tcp://127.0.0.1:1"]) == 2
    err = capsys.readouterr().err
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:1" in err
    assert not out.exists()
    out.mkdir()  # an existing folder keeps what it held, and gets nothing new
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    assert main([*argv, "--scheduler", "tcp://127.0.0.1:1"]) == 2
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_a_scheduler_lost_mid_sweep_is_not_a_scenario_failure(
    small_cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sweep = load_sweep(_write(tmp_path, SET + "\n[grid]\np = [3]\nseed = [1, 2, 3, 4]\n"))
    cluster = distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
    )
    client = distributed.Client(cluster)
    logs: list[str] = []

    def stop_the_scheduler(_: dict[str, Any]) -> None:
        if cluster.status.name == "running":
            cluster.sync(cluster.scheduler.close)

    try:
        outcome = run_sweep(
            sweep,
            tmp_path / "out",
            client=client,
            cache=small_cache,
            progress_bar=False,
            log=logs.append,
            on_result=stop_the_scheduler,
        )
    finally:  # closing a cluster whose scheduler is gone times out: what matters is done
        with contextlib.suppress(Exception):
            client.close(timeout=5)
        with contextlib.suppress(Exception):
            cluster.close(timeout=5)
    assert outcome.cluster_lost is not None and not outcome.interrupted
    assert outcome.ran == 1 and outcome.failed == 0  # the rest are left to --resume
    lost = [line for line in logs if line.startswith("lost the Dask scheduler")]
    assert len(lost) == 1 and "run again with --resume" in lost[0]
    assert not any(line.startswith("failed") for line in logs)
    assert len(outcome.table) == 1 and (outcome.table["status"] == "ok").all()
    assert "Traceback" not in capsys.readouterr().err


def _manifest(tmp: Path, seconds: float, run: str) -> dict[str, Any]:
    """A plan manifest's shape (report.manifest): what one run of the same scenario records."""
    day = {"a": 20, "b": 21}[run]  # the extract copied again: same content, another file date
    return {
        "lastmile": "0.1.0",
        "platform": f"Linux-{run}",
        "scenario": f"scenario file {tmp}/lastmile-sweep-{run}/scenario.toml",
        "data_source": f"OpenStreetMap extract x.osm, file of 2026-11-{day} "
        "(© OpenStreetMap contributors, ODbL)",
        "plan": {"p": 4, "seed": 2026, "network": "synthetic", "orders": f"{tmp}/{run}/o.csv"},
        "inputs": {
            "county_outline": {"source": "file", "origin": f"{tmp}/{run}/outline.geojson",
                               "sha256": "5c19"},
            "osm": {"path": f"{tmp}/cache-{run}/standin.osm", "sha256": "6d8c"},
            "orders": {"path": f"{tmp}/{run}/o.csv", "sha256": "aa01"},
            "region": {"source": f"suichang (embedded) + scenario file {tmp}/{run}/s.toml"},
        },
        "timings_s": {"routing_s": seconds, "total_s": 2 * seconds},
        "routing_solver": {
            "plan": {"seconds": seconds, "solutions": 117, "status": "ROUTING_SUCCESS"},
        },
        "location_solver": {"seconds": seconds / 10, "status": "optimal"},
        "map_assets": None,
    }  # fmt: skip


def test_manifest_hash_ignores_timings_and_paths(tmp_path: Path) -> None:
    one = _manifest(tmp_path, 0.39, "a")
    again = _manifest(tmp_path, 5.02, "b")  # another run: other seconds, folders, machine
    assert manifest_sha256(one) == manifest_sha256(again)
    # a different result or input content changes it
    for path, value in [
        (("routing_solver", "plan", "solutions"), 118),
        (("inputs", "orders", "sha256"), "bb02"),
        (("plan", "p"), 5),
        (("inputs", "county_outline", "sha256"), "5c1a"),
    ]:
        changed = json.loads(json.dumps(one))
        target = changed
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        assert manifest_sha256(changed) != manifest_sha256(one), path


COLD = "cold_chain.produce_max_in_vehicle_min"


def _results() -> tuple[Sweep, pd.DataFrame]:
    """The tester's sweep as a results table: [grid] p = [3, 4], seed = [1, 2] (nothing
    unserved), a listed "tight produce" (p = 4 and a 20 min cold chain: 5 unserved, fewer km) and
    a listed "p=4 seed 3" that sets grid keys only."""
    columns = ["label", "grid_point", "sets", "p", "seed", COLD, "routing.plan.km",
               "routing.plan.unassigned", HEADLINE]  # fmt: skip
    grid = '["p", "seed"]'
    rows = [
        ("p=3 seed=1", True, grid, 3, 1, None, 770, 0, 0.58),
        ("p=3 seed=2", True, grid, 3, 2, None, 774, 0, 0.58),
        ("p=4 seed=1", True, grid, 4, 1, None, 716, 0, 0.66),
        ("p=4 seed=2", True, grid, 4, 2, None, 714, 0, 0.66),
        ("tight produce", False, f'["p", "{COLD}"]', 4, 2026, 20, 667, 5, 0.66),
        ("p=4 seed 3", False, grid, 4, 3, None, 718, 0, 0.66),
    ]
    df = pd.DataFrame(rows, columns=columns)
    df.insert(0, "scenario", [f"s{i}" for i in range(len(df))])
    df["status"] = "ok"
    df["synthetic_standin"] = True
    specs = tuple(
        ScenarioSpec(sid, label, {}, "")
        for sid, label in zip(df["scenario"], df["label"], strict=True)
    )
    return Sweep("sweep.toml", specs, ("p", "seed", COLD)), df


def test_sensitivity_leaves_out_scenarios_that_set_other_keys(tmp_path: Path) -> None:
    sweep, df = _results()
    un = sensitivity(df, sweep.keys, "routing.plan.unassigned").set_index("key")
    # the tight cold chain's 5 unserved orders are not an effect of p (it was 1.67 at p = 4)
    assert un.loc["p", "headline_at_low"] == 0 and un.loc["p", "headline_at_high"] == 0
    assert (un.loc["p", "n_low"], un.loc["p", "n_high"]) == (2, 3)
    assert un.loc["p", "averages"] == "4 grid + 1 listed setting only grid keys"
    km = sensitivity(df, sweep.keys, "routing.plan.km").set_index("key")
    assert km.loc["p", "headline_at_low"] == 772 and km.loc["p", "headline_at_high"] == 716
    assert COLD not in km.index  # one value among the scenarios that may show its effect
    grid_only = df[df["label"] != "p=4 seed 3"]
    assert sensitivity(grid_only, sweep.keys, "routing.plan.km").iloc[0]["averages"] == (
        "grid scenarios only (4)"
    )
    write_summary(sweep, df, tmp_path)
    summary = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert "| 4 | 3 | 66.00 |" in summary  # reduction against p at p = 4: 3 scenarios, not 4
    assert f"Left out of them, as they also set a key outside the grid (their results are in " \
        f"results.csv): tight produce (sets {COLD})." in summary  # fmt: skip
    # (no orders column in this table: the orders each mean covers are left blank)
    assert "| routing.plan.unassigned | p | 3 | 4 | 2 | 3 | 0.00 | 0.00 |  |  |  | 4 grid + 1 " \
        "listed" in summary  # fmt: skip
    assert "| routing.plan.km | p | 3 | 4 | 2 | 3 | 772.00 | 716.00 |" in summary


def test_summary_says_the_headline_does_not_change_with_the_seed(tmp_path: Path) -> None:
    """bb16 D3: the access-time headline is the same at every seed (the seed draws only the
    order day), so its "spread over seeds" is no robustness: summary.md says so."""
    sweep, df = _results()
    assert seed_changes_headline(df, sweep.keys) is False
    write_summary(sweep, df, tmp_path)
    summary = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert "## Reduction against p (spread over the other keys)\n" in summary
    assert "spread over the other keys and seeds" not in summary
    assert (
        "The headline is the same at every seed (min = max over seeds, other keys equal)" in summary
    )
    assert "seeds are left out (the headline is the same at every seed)" in summary
    # a headline that did move with the seed keeps the spread over seeds
    df.loc[df["label"] == "p=3 seed=2", HEADLINE] = 0.60
    assert seed_changes_headline(df, sweep.keys) is True
    write_summary(sweep, df, tmp_path)
    summary = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert "## Reduction against p (spread over the other keys and seeds)" in summary
    assert "same at every seed" not in summary
    # no two scenarios differing in the seed alone: nothing to say
    assert seed_changes_headline(df[df["seed"] == 1], sweep.keys) is None


def test_sweep_plots_give_the_standin_scale_and_the_tornado_its_scenario_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bb16 D13.2: the plots said "synthetic stand-in" without the scale summary.md gives, and
    the tornado gave no scenario count."""
    import lastmile.sweep

    sweep, df = _results()
    df["data_source"] = "synthetic stand-in (NOT real OpenStreetMap data), seed 331123, scale 0.1"
    titles: dict[str, str] = {}
    monkeypatch.setattr(
        lastmile.sweep, "plot_reduction_vs_p", lambda df, path, note="", **kw: titles.update(p=note)
    )
    monkeypatch.setattr(
        lastmile.sweep, "plot_tornado", lambda sens, overall, path, note="": titles.update(t=note)
    )
    write_summary(sweep, df, tmp_path)
    assert titles["p"] == " — synthetic stand-in, scale 0.1"
    # the tornado averages the 5 scenarios that set grid keys only (not "tight produce")
    assert titles["t"] == " (5 scenarios) — synthetic stand-in, scale 0.1"
    assert "seed 331123, scale 0.1" in (tmp_path / "summary.md").read_text(encoding="utf-8")


def test_routed_sensitivity_gives_the_orders_each_mean_covers(tmp_path: Path) -> None:
    """bb25 D3: the routed-day table set km over 43 orders beside km over 50 with no order
    count; each row now gives the orders its low and high means cover and flags a difference."""
    sweep, df = _results()
    df["routed_compared.plan.km"] = [900.0, 910.0, 700.0, 720.0, 600.0, 710.0]
    df["routed_compared.plan.orders"] = [50, 50, 43, 45, 40, 44]
    df["routed_compared.plan.km_per_order"] = df["routed_compared.plan.km"] / 50
    df["orders"] = 50
    km = sensitivity(df, sweep.keys, "routed_compared.plan.km", "routed_compared.plan.orders")
    row = km.set_index("key").loc["p"]
    # p = 4: the two grid points and "p=4 seed 3" (43, 45, 44), not "tight produce"
    assert (row["orders_at_low"], row["orders_at_high"]) == (50.0, 44.0)
    write_summary(sweep, df, tmp_path)
    summary = (tmp_path / "summary.md").read_text(encoding="utf-8")
    section = summary.split("## Sensitivity of the routed day", 1)[1].split("\n## ", 1)[0]
    assert "| kpi | key | low_value | high_value | n_low | n_high | at_low | at_high | " \
        "orders_low | orders_high | covers | averages |" in section  # fmt: skip
    assert "| routed_compared.plan.km | p | 3 | 4 | 2 | 3 | 905.00 | 710.00 | 50.00 | 44.00 | " \
        "**different orders** |" in section  # fmt: skip
    # unserved counts cover the day's orders: the same count at p = 3 and p = 4
    assert "| routing.plan.unassigned | p | 3 | 4 | 2 | 3 | 0.00 | 0.00 | 50.00 | 50.00 | " \
        "same order count |" in section  # fmt: skip
    assert "**2 of 4 rows compare different orders** (`orders_low` ≠ `orders_high`)" in section
    # no routing.plan.orders_served column in this table: those orders are left blank
    assert "| routing.plan.km | p | 3 | 4 | 2 | 3 | 772.00 | 716.00 |  |  |  | 4 grid" in section
    assert "`orders_low` / `orders_high`: the mean number of orders those figures cover" in section


def _ran(spec: ScenarioSpec) -> dict[str, Any]:
    """The record of a finished run of ``spec`` as far as its search settings go (what
    run_scenario records: the scenario's file, defaults where it is silent)."""
    return {"status": "ok", **{k: plan_values(spec)[k] for k in ROW_SETTINGS}}


def test_summary_states_the_fixed_settings_and_the_search_depth(tmp_path: Path) -> None:
    """bb25 D1: summary.md named neither the base file, nor [set], nor an orders file, nor the
    search depth; results.csv had no routing_solution_limit."""
    (tmp_path / "base1.toml").write_text("[plan]\np = 4\nseed = 7\n", encoding="utf-8")
    text = (
        'base = "base1.toml"\n[set]\nnetwork = "synthetic"\nrouting_solution_limit = 30\n'
        'orders = "orders.csv"\n[grid]\np = [3, 5]\n"plan.routing_time_limit_s" = [20, 40]\n'
    )
    sweep = load_sweep(_write(tmp_path, text))
    assert sweep.base == "base1.toml"
    assert dict(sweep.fixed) == {"network": "synthetic", "routing_solution_limit": 30,
                                 "orders": "orders.csv"}  # fmt: skip
    rows = [_row(s, _ran(s)) for s in sweep.scenarios]
    assert [r["routing_solution_limit"] for r in rows] == [30] * 4
    assert [r["routing_time_limit_s"] for r in rows] == [20, 40, 20, 40]
    df = pd.DataFrame(rows)
    df[HEADLINE] = [0.5, 0.5, 0.6, 0.6]
    df["routing.baseline.search_ended_by"] = "solution_limit"
    df["routing.plan.search_ended_by"] = ["solution_limit", "time_cap", "solution_limit",
                                          "solution_limit"]  # fmt: skip
    write_summary(sweep, df, tmp_path)
    summary = (tmp_path / "summary.md").read_text(encoding="utf-8")
    fixed = summary.split("## Settings fixed for every scenario\n\n", 1)[1].split("\n\n", 1)[0]
    assert fixed.splitlines() == [
        "- Base scenario file: `base1.toml` (from the sweep file's folder); every scenario "
        "starts from its settings.",
        '- `[set]`: `network = "synthetic"`, `routing_solution_limit = 30`, '
        '`orders = "orders.csv"`.',
        f"- Order day: the orders file `{tmp_path / 'orders.csv'}` in every scenario; no day "
        "is generated, so the seed draws nothing.",
    ]
    depth = summary.split("## Search depth\n\n", 1)[1]
    assert depth.startswith(
        "Routes from OR-Tools (ils in every scenario): 30 solutions per model in every scenario "
        "(`routing_solution_limit`, in each row of results.csv); a time cap of 20 s per routed "
        "day in 2 scenarios, 40 s per routed day in 2 scenarios (`routing_time_limit_s`); each "
        "routed day's search ended by: solution_limit in 7 of 8, time_cap in 1 of 8 (baseline "
        "and plan of 4 finished scenarios). Routed km, hours, costs, lead times and unserved "
        "orders depend on this depth."
    )
    # the base's seed is the one every generated day would use
    (tmp_path / "base1.toml").write_text("[plan]\nseed = 7\n", encoding="utf-8")
    sweep = load_sweep(_write(tmp_path, 'base = "base1.toml"\n[grid]\np = [3, 5]\n'))
    write_summary(sweep, pd.DataFrame([_row(s, _ran(s)) for s in sweep.scenarios]),
                  tmp_path)  # fmt: skip
    summary = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert "- `[set]`: none.\n" in summary
    assert "- Order day: generated from the settlements' demand, seed 7 in every scenario.\n" \
        in summary  # fmt: skip
    assert "850 solutions per model in every scenario" in summary  # the default depth


def test_a_sweep_of_listed_scenarios_only_compares_them_side_by_side(tmp_path: Path) -> None:
    """bb25 D14: a sweep of [[scenarios]] only said "(no key other than seed takes two values)"
    and compared the scenarios nowhere."""
    cols = ["scenario", "label", "grid_point", "sets", "status", "p", COLD, HEADLINE, "orders",
            "orders_compared", "routed_compared.plan.km", "routing.plan.orders_served"]  # fmt: skip
    sets = f'["p", "{COLD}"]'
    df = pd.DataFrame(
        [("a1", "cc60", False, sets, "ok", 4, 60, 0.6587, 50, 46, 1019.9, 50),
         ("b2", "cc240", False, sets, "ok", 4, 240, 0.6587, 50, 50, 1213.6, 50)],
        columns=cols,
    )  # fmt: skip
    specs = tuple(
        ScenarioSpec(s, label, {}, "") for s, label in zip(df["scenario"], df["label"], strict=True)
    )
    write_summary(Sweep("list.toml", specs, ("p", COLD)), df, tmp_path)
    summary = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert (
        "No means are formed (no reduction against p, no sensitivity): there is no [grid], and "
        "every scenario sets a key outside [grid]; compare the scenarios one by one in the table "
        '"Listed scenarios side by side" below.'
    ) in summary
    for absent in ("no key other than seed", "## Reduction against p", "## Sensitivity",
                   "Left out of them"):  # fmt: skip
        assert absent not in summary
    side = summary.split("## Listed scenarios side by side\n\n", 1)[1].split("\n## ", 1)[0]
    header = (
        "| scenario | label | sets | access_time.reduction_share % | orders | orders_compared | "
        "routed_compared.plan.km | routing.plan.orders_served |"
    )
    assert header in side
    assert f"| a1 | cc60 | p=4, {COLD}=60 | 65.87 | 50 | 46 | 1019.90 | 50 |" in side
    assert f"| b2 | cc240 | p=4, {COLD}=240 | 65.87 | 50 | 50 | 1213.60 | 50 |" in side
    assert "like for like within a row, and across rows only where `orders_compared` is the same" \
        in side  # fmt: skip


def test_losing_scenarios_flag_longer_lead_times_and_say_why(tmp_path: Path) -> None:
    """bb15 D4: a scenario that cuts access time but lengthens the routed parcel lead time, or
    serves fewer orders, is a losing one; each listed row says why."""
    sweep, df = _results()
    plan_lead, base_lead, plan_served, base_served = (*LEAD_TIME[::-1], *ORDERS_SERVED[::-1])
    df[base_lead] = [160.0, 161.4, 150.0, 150.0, 150.0, 150.0]
    df[plan_lead] = [150.0, 249.6, 150.0, 149.9, 180.0, 150.0]
    df[base_served] = [50, 50, 50, 50, 50, 50]
    df[plan_served] = [50, 50, 50, 50, 45, 50]
    df.loc[df["label"] == "p=4 seed=2", HEADLINE] = 0.0
    df["error"] = None
    df.loc[df["label"] == "p=4 seed 3", "status"] = "failed"  # not finished: never listed
    df.loc[df["label"] == "p=4 seed 3", plan_lead] = 300.0
    lose = losing_scenarios(df).set_index("label")
    assert list(lose.index) == ["p=3 seed=2", "p=4 seed=2", "tight produce"]
    assert lose.loc["p=3 seed=2", "why"] == "parcel lead time 161.4 → 249.6 min"
    assert lose.loc["p=4 seed=2", "why"] == "access time not reduced (0.0%)"
    assert lose.loc["tight produce", "why"] == (
        "parcel lead time 150.0 → 180.0 min; orders served 45 < 50 of the baseline"
    )
    # an older table without lead-time or served columns: access time alone decides
    bare = df.drop(columns=[plan_lead, base_lead, plan_served, base_served])
    assert list(losing_scenarios(bare)["label"]) == ["p=4 seed=2"]
    write_summary(sweep, df, tmp_path)
    summary = (tmp_path / "summary.md").read_text(encoding="utf-8")
    section = summary.split("## Scenarios where the plan loses", 1)[1].split("## Failed", 1)[0]
    assert "a longer mean parcel lead time" in section
    assert "| parcel lead time 161.4 → 249.6 min |" in section


# --------------------------------------------------------------------------- a local cluster


def test_two_worker_sweep(swept: tuple[Any, Any]) -> None:
    sweep, outcome = swept
    df = outcome.table
    assert outcome.total == 5 and outcome.ran == 5 and not outcome.interrupted
    assert list(df["scenario"]) == [s.id for s in sweep.scenarios]  # sweep order, not finish order
    ok = df[df["status"] == "ok"]
    assert len(ok) == 4 and outcome.failed == 1
    assert ok["worker"].nunique() == 2  # both workers took scenarios
    assert sorted(zip(ok["p"], ok["seed"], strict=True)) == [(3, 1), (3, 2), (6, 1), (6, 2)]
    # the failing scenario is recorded with its one-line error; the others completed
    assert df["grid_point"].tolist() == [True] * 4 + [False]  # the listed "p too large"
    assert df["sets"].tolist() == ['["p", "seed"]'] * 4 + ['["p"]']
    bad = df[df["status"] == "failed"].iloc[0]
    assert bad["label"] == "p too large" and "\n" not in bad["error"] and "500" in bad["error"]
    # every KPI of kpis.json is a column, with the same value
    for row in ok.to_dict("records"):
        kpis = json.loads((outcome.out / "scenarios" / row["scenario"] / "kpis.json").read_text())
        assert rows_equal_kpis(row, kpis) == []
        assert row["routing.plan.validator_ok"] and row["routing.baseline.validator_ok"]
        assert row["solver.location"] and row["solver.routing.plan"]
        assert len(row["manifest_sha256"]) == 64 and row["seconds.task"] > 0
    assert ok[HEADLINE].gt(0).all()
    assert (ok.groupby("p")[HEADLINE].mean().diff().dropna() > 0).all()  # more hubs, shorter
    # one table, two formats, same content
    pq = pd.read_parquet(outcome.out / "results.parquet")
    csv = pd.read_csv(outcome.out / "results.csv")
    assert len(pq) == len(csv) == 5
    assert pq[HEADLINE].round(4).tolist()[:4] == csv[HEADLINE].round(4).tolist()[:4]
    summary = (outcome.out / "summary.md").read_text(encoding="utf-8")
    assert "synthetic stand-in" in summary and "p too large" in summary
    assert "## Sensitivity of the routed day" in summary and "| routing.plan.km | p |" in summary
    # the like-for-like row (trunk included) beside the last-mile one, each saying what it covers
    assert "| routed_compared.plan.km | p |" in summary
    assert "last-mile vehicles only, trunk runs excluded" in summary
    for png in ("reduction_vs_p.png", "tornado.png"):
        assert (outcome.out / "plots" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # bb25 D1: the settings every scenario shares and the search depth are on the page, and
    # each row of the table carries its depth
    assert "- Base: lastmile's defaults (no `base` scenario file).\n" in summary
    assert (
        f'- `[set]`: `network = "synthetic"`, `standin_scale = {TEST_SCALE}`, '
        "`routing_solution_limit = 3`, `routing_time_limit_s = 60.0`, "
        "`location_time_limit_s = 30.0`.\n"
    ) in summary
    assert "- Order day: generated from the settlements' demand, seed 1 in 2 scenarios" in summary
    depth = summary.split("## Search depth\n\n", 1)[1]
    assert depth.startswith(
        "Routes from OR-Tools (ils in every scenario): 3 solutions per model in every scenario "
        "(`routing_solution_limit`, in each row of results.csv); a time cap of 60 s per routed "
        "day in every scenario (`routing_time_limit_s`); each routed day's search ended by: "
        "solution_limit in 8 of 8 (baseline and plan of 4 finished scenarios). Routed km"
    )
    assert ok["routing_solution_limit"].tolist() == [3] * 4
    assert ok["routing_time_limit_s"].tolist() == [60.0] * 4
    # bb25 D19: each run records what it searched with (a later --resume keeps it)
    for sid in ok["scenario"]:
        record = json.loads((outcome.out / "scenarios" / sid / "result.json").read_text())
        assert {k: record[k] for k in ROW_SETTINGS} == {
            "routing_search": "ils", "routing_solution_limit": 3, "routing_time_limit_s": 60.0
        }  # fmt: skip
    assert pq["routing_solution_limit"].tolist()[:4] == csv["routing_solution_limit"].tolist()[:4]
    sens = sensitivity(df, sweep.keys)
    assert list(sens["key"]) == ["p"]  # seed is spread, not a sensitivity
    # the hubs cut access time everywhere; a scenario is listed for a longer routed parcel lead
    # time or fewer orders served (bb15 D4), and says which
    lose = losing_scenarios(df)
    longer = pd.to_numeric(ok[LEAD_TIME[1]]) > pd.to_numeric(ok[LEAD_TIME[0]])
    fewer = pd.to_numeric(ok[ORDERS_SERVED[1]]) < pd.to_numeric(ok[ORDERS_SERVED[0]])
    assert set(lose["scenario"]) == set(ok.loc[longer | fewer, "scenario"])
    assert not lose["why"].str.contains("access time").any()
    assert all(f"| {why} |" in summary for why in lose["why"])


def test_row_equals_single_plan(swept: tuple[Any, Any], small_cache: Path, tmp_path: Path) -> None:
    _, outcome = swept
    row = outcome.table[outcome.table["status"] == "ok"].iloc[-1]
    folder = outcome.out / "scenarios" / row["scenario"]
    out = tmp_path / "plan"
    data = ["--cache-dir", str(small_cache)]
    argv = ["plan", "--config", str(folder / "scenario.toml"), "--out", str(out), *data]
    assert main(argv) == 0
    assert (out / "kpis.json").read_bytes() == (folder / "kpis.json").read_bytes()
    assert rows_equal_kpis(row.to_dict(), json.loads((out / "kpis.json").read_text())) == []


def test_killed_worker_and_resume(
    swept: tuple[Any, Any], client: Any, dirs: dict[str, Any], tmp_path: Path
) -> None:
    whole, reference = swept
    sweep = Sweep(whole.source, whole.scenarios[:4], whole.keys)  # the four that succeed
    ref = reference.table.set_index("scenario")[HEADLINE].iloc[:4]
    killed: list[str] = []

    def kill_busy_worker(_: dict[str, Any]) -> None:
        if killed:
            return
        busy = [w for w, keys in client.processing().items() if keys]
        pids = client.run(os.getpid, workers=busy[:1])
        for address, pid in pids.items():
            os.kill(pid, signal.SIGKILL)
            killed.append(address)

    outcome = run_sweep(sweep, tmp_path / "a", client=client, on_result=kill_busy_worker, **dirs)
    assert killed, "no worker was busy after the first result"
    df = outcome.table.set_index("scenario")
    assert len(df) == 4 and (df["status"] == "ok").all() and not outcome.interrupted
    assert df[HEADLINE].equals(ref)  # nothing lost, same results
    # a second run of the same scenarios (other folders, other seconds): the same manifests
    same = reference.table.set_index("scenario")["manifest_sha256"].iloc[:4]
    assert df["manifest_sha256"].equals(same)

    # Ctrl-C after the first result: what finished is kept; --resume runs only the rest
    def interrupt(_: dict[str, Any]) -> None:
        raise KeyboardInterrupt

    out = tmp_path / "b"
    first = run_sweep(sweep, out, client=client, on_result=interrupt, **dirs)
    assert first.interrupted and first.ran == 1 and len(first.table) == 1
    with pytest.raises(InputError, match="already holds sweep results"):
        run_sweep(sweep, out, client=client, **dirs)
    second = run_sweep(sweep, out, client=client, resume=True, **dirs)
    assert second.skipped == 1 and second.ran == 3 and not second.interrupted
    df = second.table.set_index("scenario")
    assert df[HEADLINE].equals(ref)


def test_sigterm_keeps_what_finished_as_ctrl_c_does(
    client: Any, dirs: dict[str, Any], small_cache: Path, tmp_path: Path
) -> None:
    """bb20 D13: SIGTERM (`kill`, a batch scheduler) ended `lastmile sweep` by its default action:
    no message, no results table for the scenarios that had finished, a multiprocessing warning.
    Now it stops as Ctrl-C does, with its own line and exit code 143, and --resume runs the rest."""
    path = _write(tmp_path, SET + "[grid]\nseed = [1, 2, 3]\n")
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "lastmile.cli", "sweep", "--config", str(path), "--out", str(out),
         "--scheduler", client.scheduler.address, "--cache-dir", str(small_cache)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    try:
        log = []
        for line in proc.stderr:  # until the first scenario has finished
            log.append(line)
            if line.startswith("done"):
                break
        assert log and log[-1].startswith("done"), "".join(log)
        proc.send_signal(signal.SIGTERM)
        stdout, rest = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    err = "".join(log) + rest
    assert proc.returncode == 143, err
    assert err.endswith("lastmile: terminated (SIGTERM); run again with --resume for the rest\n")
    assert "Traceback" not in err and "leaked" not in err, err
    kept = pd.read_csv(out / "results.csv")
    assert 1 <= len(kept) < 3 and (kept["status"] == "ok").all()
    assert (out / "summary.md").is_file() and "results.csv" in stdout
    resumed = run_sweep(load_sweep(path), out, client=client, resume=True, **dirs)
    assert (resumed.skipped, resumed.ran, len(resumed.table)) == (len(kept), 3 - len(kept), 3)


def test_resume_reruns_a_scenario_whose_orders_file_changed(
    client: Any, dirs: dict[str, Any], tmp_path: Path
) -> None:
    orders = tmp_path / "orders.csv"
    rows = [
        "A,delivery,119.25,28.60,1,2",
        "B,delivery,119.10,28.50,1,2",
        "C,delivery,119.30,28.70,1,2",
    ]
    orders.write_text("id,kind,lon,lat,parcels,kg\n" + "\n".join(rows) + "\n", encoding="utf-8")
    path = _write(tmp_path, SET + 'orders = "orders.csv"\n\n[grid]\np = [3, 4]\n')
    sweep = load_sweep(path)
    out = tmp_path / "out"
    first = run_sweep(sweep, out, client=client, **dirs)
    assert first.table["orders"].tolist() == [3, 3]
    record = json.loads((out / "scenarios" / sweep.scenarios[0].id / "result.json").read_text())
    assert record["inputs"] == {"orders file": hashlib.sha256(orders.read_bytes()).hexdigest()}
    # unchanged files: both kept
    logs: list[str] = []
    same = run_sweep(sweep, out, client=client, resume=True, log=logs.append, **dirs)
    assert (same.skipped, same.ran) == (2, 0) and not any("re-run" in x for x in logs)
    # the orders file edited between the runs: nothing made from the old day is kept
    orders.write_text("id,kind,lon,lat,parcels,kg\n" + "\n".join(rows[:2]) + "\n", encoding="utf-8")
    again = run_sweep(sweep, out, client=client, resume=True, log=logs.append, **dirs)
    assert (again.skipped, again.ran, again.failed) == (0, 2, 0)
    assert again.table["orders"].tolist() == [2, 2]
    for spec in sweep.scenarios:
        assert f"re-run  {spec.id} {spec.label}: orders file changed" in logs


def test_results_record_the_code_and_resume_says_when_it_mixes_versions(
    client: Any, dirs: dict[str, Any], tmp_path: Path
) -> None:
    """bb16 D5: sweep.json, each result.json and each row record the lastmile version and git
    commit; --resume over results of another commit says so in the log and in summary.md."""
    now = code_version()
    assert now["lastmile"] == lastmile.__version__ and now["lastmile_commit"] == source_commit()
    sweep = load_sweep(_write(tmp_path, SET + "\n[grid]\np = [3]\nseed = [1, 2]\n"))
    out = tmp_path / "out"
    first = run_sweep(sweep, out, client=client, **dirs)
    index = json.loads((out / "sweep.json").read_text(encoding="utf-8"))
    assert (index["lastmile"], index["lastmile_commit"]) == (
        now["lastmile"],
        now["lastmile_commit"],
    )
    assert first.table["lastmile_version"].tolist() == [now["lastmile"]] * 2
    assert first.table["lastmile_commit"].tolist() == [now["lastmile_commit"]] * 2
    this = made_by(now["lastmile"], now["lastmile_commit"])
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert f"Made by {this} (every result)." in summary
    # one result made by another commit (the project moved on between the run and --resume)
    path = out / "scenarios" / sweep.scenarios[0].id / "result.json"
    record = json.loads(path.read_text(encoding="utf-8"))
    assert record["lastmile_commit"] == now["lastmile_commit"]
    # ... which did not record its search settings (bb25 D19): the file states the limits, not
    # the search, so the kept row's search is "not recorded" rather than today's default
    older = {k: v for k, v in record.items() if k not in ROW_SETTINGS}
    path.write_text(json.dumps({**older, "lastmile_commit": "0" * 40}), encoding="utf-8")
    logs: list[str] = []
    again = run_sweep(sweep, out, client=client, resume=True, log=logs.append, **dirs)
    assert (again.skipped, again.ran) == (2, 0)
    warning = [x for x in logs if x.startswith("warning: resume:")]
    assert len(warning) == 1 and warning[0].startswith(
        f"warning: resume: 1 kept result(s) were made by other code than this run's {this} "
        f"(1 by lastmile {now['lastmile']} commit 0000000000)"
    )
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "**Results of 2 different lastmile versions or commits** (" in summary
    assert f"1 by lastmile {now['lastmile']} commit 0000000000" in summary
    assert f"1 by {this}" in summary and "(every result)" not in summary
    assert again.table["routing_search"].tolist() == [NOT_RECORDED, "ils"]
    assert again.table["routing_time_limit_s"].tolist() == [60.0, 60.0]
    assert "Routes from OR-Tools (search not recorded in 1 scenarios, ils in 1 scenarios)" \
        in summary  # fmt: skip


def test_a_routing_search_ended_by_the_time_cap_is_named_in_the_log_summary_and_kpis(
    client: Any, dirs: dict[str, Any], tmp_path: Path
) -> None:
    """bb16 D4: a scenario whose routing search the wall-clock cap ended (not reproducible)
    says so in its log line, in summary.md (count and label) and in its kpis.json warnings."""
    text = SET + "\n[grid]\np = [3]\n"
    text += '\n[[scenarios]]\nname = "capped"\np = 3\nrouting_solution_limit = 2147483647\n'
    text += "routing_time_limit_s = 0.3\n"
    sweep = load_sweep(_write(tmp_path, text))
    logs: list[str] = []
    outcome = run_sweep(sweep, tmp_path / "out", client=client, log=logs.append, **dirs)
    df = outcome.table.set_index("label")
    assert (df["status"] == "ok").all()
    assert df.loc["p=3", "routing.plan.search_ended_by"] != "time_cap"
    assert df.loc["capped", "routing.plan.search_ended_by"] == "time_cap"
    done = {line.split()[1]: line for line in logs if line.startswith("done")}
    capped_id = df.loc["capped", "scenario"]
    assert "routing search ended by the time cap: not reproducible" in done[capped_id]
    assert "time cap" not in done[df.loc["p=3", "scenario"]]
    summary = (outcome.out / "summary.md").read_text(encoding="utf-8")
    assert "**WARNING: the time cap (`routing_time_limit_s`) ended the routing search of 1 of 2 " \
        "finished scenarios**" in summary  # fmt: skip
    assert "the tables below include them: capped (" in summary
    # the plan's own kpis.json says it too (it was an empty list)
    kpis = json.loads((outcome.out / "scenarios" / capped_id / "kpis.json").read_text())
    capped_days = [
        d for d in ("baseline", "plan") if kpis["routing"][d]["search_ended_by"] == "time_cap"
    ]
    assert [w.split(" routing:")[0] for w in kpis["warnings"] if "time cap" in w] == capped_days
    assert all(
        "routing_time_limit_s = 0.3 s) ended the search" in w
        for w in kpis["warnings"]
        if "time cap" in w
    )
    plain = json.loads(
        (outcome.out / "scenarios" / df.loc["p=3", "scenario"] / "kpis.json").read_text()
    )
    assert not any("time cap" in w for w in plain["warnings"])


# --------------------------------------------------------------------------- a started cluster


def _wait_for(path: Path, procs: list[subprocess.Popen[bytes]], timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if path.is_file() and path.stat().st_size > 0:
            return
        if any(p.poll() is not None for p in procs):
            raise AssertionError("dask scheduler exited early")
        time.sleep(0.2)
    raise AssertionError(f"{path} not written within {timeout} s")


def test_separate_scheduler_and_worker(
    small_cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {
        **os.environ,
        "LASTMILE_CACHE_DIR": str(small_cache),
        "PYTHONPATH": os.pathsep.join(
            [str(Path(__file__).parents[1] / "src"), os.environ.get("PYTHONPATH", "")]
        ),
    }
    info = tmp_path / "scheduler.json"
    dask = [sys.executable, "-m", "dask"]
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs.append(
            subprocess.Popen(
                [*dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                 "--scheduler-file", str(info)],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
        )  # fmt: skip
        _wait_for(info, procs, 60)
        address = json.loads(info.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        procs.append(
            subprocess.Popen(
                [*dask, "worker", address, "--nworkers", "1", "--nthreads", "1",
                 "--no-dashboard", "--host", "127.0.0.1"],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
        )  # fmt: skip
        with distributed.Client(address, timeout="30s") as c:
            c.wait_for_workers(1, timeout=60)
        text = SET + "\n[grid]\np = [3]\nseed = [1, 2]\n"
        out = tmp_path / "out"
        argv = ["sweep", "--config", str(_write(tmp_path, text)), "--out", str(out)]
        assert main([*argv, "--scheduler", address, "--keep-plans"]) == 0
        df = pd.read_parquet(out / "results.parquet")
        assert len(df) == 2 and (df["status"] == "ok").all()
        assert df["worker"].nunique() == 1
        assert address in capsys.readouterr().err
        for sid in df["scenario"]:
            record = json.loads((out / "scenarios" / sid / "result.json").read_text())
            assert flatten(json.loads(record["kpis_json"]))[HEADLINE] > 0
            # --keep-plans: the worker wrote the whole plan folder, with the same kpis.json
            plan = out / "scenarios" / sid / "plan"
            assert (plan / "kpis.json").read_text() == record["kpis_json"]
            assert (plan / "maps" / "plan.html").is_file() and (plan / "lastmile.gpkg").is_file()
        assert len(json.loads((out / "sweep.json").read_text())["scenarios"]) == 2
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)


def test_an_imported_extract_counts_among_an_auto_scenarios_inputs(tmp_path: Path) -> None:
    """With network = "auto", the extract `fetch --extract` imported decides the roads: importing
    one, or another, must make `--resume` run the scenario again."""
    from lastmile.scenario import load_scenario

    scenario = load_scenario()  # network = "auto", no local_extract
    assert scenario.plan.network == "auto"
    cache = tmp_path / "cache"
    before = input_hashes(scenario, "", str(cache))
    assert before == {"imported extract": "none"}
    folder = cache / "extracts" / scenario.region.id
    folder.mkdir(parents=True)
    (folder / "a.osm").write_text("<osm/>", encoding="utf-8")
    first = input_hashes(scenario, "", str(cache))
    (folder / "a.osm").write_text("<osm></osm>", encoding="utf-8")
    second = input_hashes(scenario, "", str(cache))
    assert (
        len({before["imported extract"], first["imported extract"], second["imported extract"]})
        == 3
    )
    # a scenario that names its roads does not depend on the imported extract
    assert input_hashes(load_scenario(network="synthetic"), "", str(cache)) == {}


def test_a_key_without_effect_is_labelled_on_the_tornado(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bb19 D8: a key that did not move the headline was an empty row, with no bar and no word."""
    figures: list[Any] = []
    monkeypatch.setattr(lastmile.sweep, "_save_png", lambda fig, path: figures.append(fig) or path)
    sens = pd.DataFrame({
        "key": ["plan.p", "cold_chain.produce_max_in_vehicle_min"],
        "low_value": [5, 30], "high_value": [15, 120],
        "headline_at_low": [0.60, 0.70], "headline_at_high": [0.80, 0.70],
    })  # fmt: skip
    lastmile.sweep.plot_tornado(sens, 0.70, tmp_path / "tornado.png")
    notes = [t.get_text() for t in figures[0].axes[0].texts]
    assert notes == ["no effect"]


def test_sync_cancel_bug_of_distributed_stays_off_the_terminal(monkeypatch, caplog):
    """A stop that reaches ``distributed.utils.sync`` before its coroutine has made its future
    logs a NameError traceback from sync's ``cancel`` (distributed 2026.8.0; CI saw it under
    test_sigterm_keeps_what_finished_as_ctrl_c_does). The sweep's filter drops that record,
    and only it."""
    import asyncio
    import logging
    import threading

    import distributed.utils as dutils

    import lastmile.sweep

    class StoppedEvent(threading.Event):
        def wait(self, timeout=None):  # the stop arrives at sync's first wait
            raise KeyboardInterrupt

    runner = dutils.LoopRunner(asynchronous=False)
    runner.start()
    try:

        def stop_once():
            # The loop thread is held while sync queues its coroutine and then (on the stop) its
            # cancel callback, so both run in one loop pass: the coroutine reaches its first yield
            # and cancel runs before it has bound its future, as when a stop lands early. Without
            # the hold, a loaded machine could let the coroutine bind it first (CI saw that).
            held, release = threading.Event(), threading.Event()
            runner.loop.add_callback(lambda: (held.set(), release.wait(10)))
            assert held.wait(10)
            monkeypatch.setattr(dutils.threading, "Event", StoppedEvent)
            try:
                with pytest.raises(KeyboardInterrupt):
                    dutils.sync(runner.loop, asyncio.sleep, 0.5)
            finally:
                monkeypatch.undo()
                release.set()
            time.sleep(0.8)  # the loop thread runs sync's cancel callback, then the sleep ends

        def tracebacks():
            return [r for r in caplog.records if r.name == "tornado.application" and r.exc_info]

        with caplog.at_level(logging.ERROR, logger="tornado.application"):
            stop_once()
            assert [type(r.exc_info[1]) for r in tracebacks()] == [NameError]  # the bug is real
            caplog.clear()
            with lastmile.sweep._without_sync_cancel_bug():
                stop_once()
                logging.getLogger("tornado.application").error(
                    "another failure", exc_info=(NameError, NameError("x"), None)
                )
            assert [r.getMessage() for r in tracebacks()] == ["another failure"]
    finally:
        runner.stop()

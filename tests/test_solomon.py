"""Solomon VRPTW through lastmile: mapping, validator-checked solutions near the distance-only BKS,
and the ``lastmile bench solomon`` command."""

from __future__ import annotations

import csv
import itertools
import json
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

from lastmile.cli import main
from lastmile.errors import InputError
from lastmile.instances import read_solomon, solomon_problem
from lastmile.routing import RoutingOptions, solve
from lastmile.validate import validate_routes


def bks(test_data: Path, name: str) -> float:
    with open(test_data / "benchmarks" / "solomon_bks.csv", encoding="utf-8") as f:
        row = next(r for r in csv.DictReader(f) if r["instance"] == name)
    return float(row["dist_bks_distance_trunc1"])


def test_mapping_scales_times_by_ten(test_data: Path) -> None:
    inst = read_solomon(test_data / "benchmarks" / "solomon" / "R101.txt")
    p = solomon_problem(inst)
    assert len(p.orders) == 100 and p.vehicle_types[0].count_at("depot") == 25
    assert dict(p.vehicle_types[0].capacity) == {"q": 200}
    # R101 customer 1: (41, 49), demand 10, ready 161, due 171, service 10
    o = p.order("1")
    assert o.time_window == (1610, 1710) and o.service_s == 100 and dict(o.quantity) == {"q": 10}
    assert p.vehicle_types[0].shift_end_s == 2300
    # depot (35, 35) -> customer 1 (41, 49): euclid 15.23 -> 152 tenths, for time and distance
    assert p.distance_m[0, 1] == 152 and p.time_s[0, 1] == 152


@pytest.mark.parametrize(("name", "slack"), [("C101", 0.05), ("R101", 0.10)])
def test_short_solve_is_valid_and_near_the_bks(test_data: Path, name: str, slack: float) -> None:
    inst = read_solomon(test_data / "benchmarks" / "solomon" / f"{name}.txt")
    p = solomon_problem(inst)
    sol = solve(p, RoutingOptions(time_limit_s=2.0))
    report = validate_routes(p, sol)
    assert report.ok, report.summary()
    assert not sol.unassigned
    # recompute the objective straight from the instance, independently of the problem mapping
    d = inst.distance_trunc1()
    total = 0
    for r in sol.routes:
        seq = [0, *(int(s.order_id) for s in r.stops), 0]
        total += int(sum(d[a, b] for a, b in itertools.pairwise(seq)))
    assert total == sol.kpis.total_distance_m
    best = bks(test_data, name)
    assert best - 1e-6 <= total / 10 <= best * (1 + slack)
    assert sorted(int(s.order_id) for r in sol.routes for s in r.stops) == list(range(1, 101))
    assert np.isclose(report.kpis.total_km, total / 1000)


def test_cli_prints_one_json_line_per_instance(
    test_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = test_data / "benchmarks" / "solomon"
    code = main(
        [
            "bench",
            "solomon",
            str(folder / "C101.txt"),
            str(folder / "C201.txt"),
            "--time-limit",
            "1",
            "--json",
        ]
    )
    assert code == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [x["instance"] for x in lines] == ["C101", "C201"]
    for x in lines:
        assert set(x) == {"instance", "distance", "vehicles", "feasible", "seconds",
                          "bks_distance", "bks_vehicles", "gap_pct", "reference",
                          "search_ended_by", "reproducible", "time_limit_s", "workers",
                          "search"}  # fmt: skip
        assert x["feasible"] is True
        # bb25 D28: the line says what produced it, not only how long it took
        assert (x["time_limit_s"], x["workers"]) == (1.0, 1)
        assert x["search"] == "iterated local search from PARALLEL_CHEAPEST_INSERTION"
        assert x["distance"] >= bks(test_data, x["instance"]) - 1e-6
    assert lines[0]["distance"] <= 827.3 * 1.05


def test_cli_reports_the_bks_the_gap_and_what_ended_the_search(
    test_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """bb16 11: `lastmile bench solomon` gave no BKS, no gap and no stopping reason (the time cap
    had cut the search); without a reference it must say so, not print a BKS of 0."""
    c101 = test_data / "benchmarks" / "solomon" / "C101.txt"
    alone = tmp_path / "C101.txt"  # no solomon_bks.csv beside this copy
    alone.write_bytes(c101.read_bytes())
    assert main(["bench", "solomon", str(c101), str(alone), "--time-limit", "1"]) == 0
    found, lone = (json.loads(x) for x in capsys.readouterr().out.splitlines())
    table = test_data / "benchmarks" / "solomon_bks.csv"
    assert (found["bks_distance"], found["bks_vehicles"]) == (827.3, 10)
    assert found["gap_pct"] == round(100 * (found["distance"] - 827.3) / 827.3, 3)
    assert found["reference"] == f"best known (distance-only convention), {table}"
    for row in (found, lone):
        assert row["search_ended_by"] in {"time_cap", "local_optimum", "solution_limit"}
        assert row["reproducible"] is (row["search_ended_by"] != "time_cap")
    assert lone["bks_distance"] is None and lone["bks_vehicles"] is None
    assert lone["gap_pct"] is None
    assert lone["reference"] == f"no reference value (no solomon_bks.csv beside {alone})"


def test_cli_bad_file_is_one_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "R999.txt"
    assert main(["bench", "solomon", str(missing), "--time-limit", "1"]) == 2
    err = capsys.readouterr().err
    assert "R999.txt" in err and "does not exist" in err and "Traceback" not in err
    garbage = tmp_path / "junk.txt"
    garbage.write_text("hello\nworld\n", encoding="ascii")
    assert main(["bench", "solomon", str(garbage), "--time-limit", "1"]) == 2
    assert "not a Solomon instance (no VEHICLE / NUMBER CAPACITY section" in (
        capsys.readouterr().err
    )
    # the portfolio has two strategies: a third worker is refused, not silently ignored
    with pytest.raises(SystemExit) as refused:
        main(["bench", "solomon", str(garbage), "--workers", "3"])
    assert refused.value.code == 2
    assert "--workers: invalid choice: 3 (choose from 1, 2)" in capsys.readouterr().err


def test_a_damaged_or_cut_solomon_file_is_refused_naming_the_row(
    test_data: Path, tmp_path: Path
) -> None:
    """bb16 D-C: rows that were not 7 numbers were skipped, so a damaged C101 was solved without
    customer 50 (827.0, below the best known 827.3) and reported as C101."""
    lines = (test_data / "benchmarks/solomon/C101.txt").read_text(encoding="ascii").splitlines()
    at = next(i for i, line in enumerate(lines) if line.split()[:1] == ["50"])
    damaged = list(lines)
    damaged[at] = " ".join(lines[at].split()[:6])
    path = tmp_path / "C101_damaged.txt"
    path.write_text("\n".join(damaged) + "\n", encoding="ascii")
    with pytest.raises(InputError, match=f"line {at + 1} \\(customer 50\\): 6 fields, expected 7"):
        read_solomon(path)
    cut = tmp_path / "C101_cut.txt"
    cut.write_text("\n".join(lines[: at + 1])[:-12], encoding="ascii")  # ends mid-row
    with pytest.raises(InputError, match="fields, expected 7"):
        read_solomon(cut)
    skipped = list(lines)
    del skipped[at]  # customer 50 missing altogether
    path.write_text("\n".join(skipped) + "\n", encoding="ascii")
    with pytest.raises(
        InputError, match=re.escape("customer numbers must run 0, 1, 2 ... in order; expected 50")
    ):
        read_solomon(path)
    assert len(read_solomon(test_data / "benchmarks/solomon/C101.txt").x) == 101


def test_portfolio_keeps_the_best_of_its_searches(test_data: Path) -> None:
    """Two strategies side by side (forked processes): the result is the better of the two."""
    from lastmile.routing import PORTFOLIO

    problem = solomon_problem(read_solomon(test_data / "benchmarks/solomon/R211.txt"))
    # a solution limit makes every search deterministic, so the runs can be compared exactly
    alone = [
        solve(
            problem, RoutingOptions(time_limit_s=60, solution_limit=40, first_solution_strategy=fs)
        )
        for fs in PORTFOLIO
    ]
    both = solve(problem, RoutingOptions(time_limit_s=60, solution_limit=40, portfolio=PORTFOLIO))
    assert validate_routes(problem, both).ok
    best = min(a.kpis.total_distance_m for a in alone)
    assert both.kpis.total_distance_m == best
    with pytest.raises(InputError, match="unknown portfolio strategy 'FASTEST'"):
        RoutingOptions(time_limit_s=1, portfolio=("FASTEST",))


def test_bench_script_prints_no_bks_where_there_is_none(
    test_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """bb16 13.4: `benchmarks/bench_solomon.py --dataset homberger_200` printed "bks 0.0" for
    instances without a best-known value; it finds the table as `lastmile bench solomon` does."""
    import importlib.util

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_solomon.py"
    spec = importlib.util.spec_from_file_location("bench_solomon_script", script)
    assert spec is not None and spec.loader is not None
    bench_solomon = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench_solomon)
    root = tmp_path / "data"
    (root / "benchmarks" / "hom").mkdir(parents=True)
    table = test_data / "benchmarks" / "solomon_bks.csv"
    (root / "benchmarks" / "solomon_bks.csv").write_bytes(table.read_bytes())
    c101 = (test_data / "benchmarks" / "solomon" / "C101.txt").read_bytes()
    (root / "benchmarks" / "hom" / "c1_2_x.txt").write_bytes(c101)  # not in the table
    (root / "benchmarks" / "hom" / "C101.txt").write_bytes(c101)
    argv = ["--reference-data", str(root), "--dataset", "hom", "--solvers", "lastmile"]
    assert bench_solomon.main([*argv, "--time-limit", "0.5", "C101", "c1_2_x"]) == 0
    out = capsys.readouterr().out
    plain = {line.split()[0]: line.split() for line in out.splitlines()[1:3]}
    assert plain["C101"][3] == "827.3" and plain["c1_2_x"][3:5] == ["-", "-"]
    rows = {r["instance"]: r for r in map(json.loads, re.findall(r"^\{.*\}$", out, re.M))}
    assert rows["C101"]["bks_distance"] == 827.3 and rows["C101"]["bks_vehicles"] == 10
    assert rows["c1_2_x"]["bks_distance"] is None and rows["c1_2_x"]["gap_pct"] is None


def test_cli_refuses_a_folder_a_cut_file_and_a_bad_last_file_before_any_solve(
    test_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """bb25 D8: the instance folder was an internal error (IsADirectoryError), exit 1.
    bb25 D9: C101 cut after customer 38 (at a line end) was solved and printed a gap of -63.8 %
    to the full C101's proven optimum. bb25 D10: a missing last file was found only after the
    files before it had been solved."""
    folder = tmp_path / "solomon"
    folder.mkdir()
    assert main(["bench", "solomon", str(folder), "--time-limit", "1"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert (
        err == f"lastmile: error: {folder} is a folder — give the instance files ({folder}/*.txt)\n"
    )
    table = tmp_path / "solomon_bks.csv"
    table.write_bytes((test_data / "benchmarks" / "solomon_bks.csv").read_bytes())
    lines = (test_data / "benchmarks/solomon/C101.txt").read_text(encoding="ascii").splitlines()
    at = next(i for i, line in enumerate(lines) if line.split()[:1] == ["38"])
    cut = folder / "C101.txt"
    cut.write_text("\n".join(lines[: at + 1]) + "\n", encoding="ascii")
    assert read_solomon(cut).customers == 38  # a well-formed file: only the count gives it away
    c201 = test_data / "benchmarks" / "solomon" / "C201.txt"
    assert main(["bench", "solomon", str(c201), str(cut), "--time-limit", "1"]) == 2
    out, err = capsys.readouterr()
    assert out == ""  # C201 was not solved first
    assert err.startswith(
        f"lastmile: error: {cut} has 38 customers, {table}'s C101 has 100 customers — not that "
        "instance (truncated, renamed or mixed up?)"
    )
    for bad, message in [(folder / "nope.txt", "does not exist"), (folder, "is a folder")]:
        assert main(["bench", "solomon", str(c201), str(bad), "--time-limit", "1"]) == 2
        out, err = capsys.readouterr()
        assert out == "" and message in err and "Traceback" not in err
    # without a reference row the cut file is solved, with no reference value and no gap
    table.unlink()
    assert main(["bench", "solomon", str(cut), "--time-limit", "0.5"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["gap_pct"] is None and row["reference"].startswith("no reference value")


def test_cli_line_names_the_portfolio_that_ran(
    test_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """bb25 D28: `--workers 2` (two searches side by side) and `--workers 1` printed lines that
    differed only by their results."""
    c101 = test_data / "benchmarks" / "solomon" / "C101.txt"
    assert main(["bench", "solomon", str(c101), "--time-limit", "0.5", "--workers", "2"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert (row["time_limit_s"], row["workers"]) == (0.5, 2)
    assert row["search"] == (
        "portfolio: iterated local search from PARALLEL_CHEAPEST_INSERTION and from "
        "PATH_CHEAPEST_ARC, side by side, best kept"
    )


def _c101_with(test_data: Path, tmp_path: Path, column: int, value: str) -> Path:
    """C101 with customer 5's ``column`` (0: CUST NO. ... 6: SERVICE TIME) set to ``value``."""
    lines = (test_data / "benchmarks/solomon/C101.txt").read_text(encoding="ascii").splitlines()
    at = next(i for i, line in enumerate(lines) if line.split()[:1] == ["5"])
    fields = lines[at].split()
    fields[column] = value
    lines[at] = "  ".join(fields)
    path = tmp_path / "C101.txt"
    path.write_text("\n".join(lines) + "\n", encoding="ascii")
    assert at + 1 == 15  # the line the messages name
    return path


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        (4, "-5", "line 15 (customer 5): READY TIME -5 is negative (DUE DATE 67) — check the file"),
        (5, "10", "line 15 (customer 5): DUE DATE 10 is before READY TIME 15 — check the file"),
        (3, "-10", "line 15 (customer 5): DEMAND -10 is negative — check the file"),
        (6, "-90", "line 15 (customer 5): SERVICE TIME -90 is negative — check the file"),
        (4, "nan", "line 15 (customer 5): READY TIME nan is not a finite number within ±1e9"),
        # 1e300 came out as a numpy RuntimeWarning and a mangled time window (bb26 D12)
        (
            5,
            "1e300",
            "line 15 (customer 5): DUE DATE 1e300 is not a finite number within ±1e9 — check "
            "the file",
        ),
        (1, "1e300", "line 15 (customer 5): XCOORD. 1e300 is not a finite number within ±1e9"),
        (6, "1e20", "line 15 (customer 5): SERVICE TIME 1e20 is not a finite number within ±1e9"),
        (2, "-inf", "line 15 (customer 5): YCOORD. -inf is not a finite number within ±1e9"),
        (
            3,
            "500",
            "line 15 (customer 5): DEMAND 500 exceeds the VEHICLE CAPACITY 200 — no vehicle can "
            "serve it: check the file",
        ),
    ],
)
def test_cli_refuses_a_customer_no_route_can_serve_in_the_files_terms(
    test_data: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    column: int,
    value: str,
    message: str,
) -> None:
    """bb25 D22: READY TIME -5 came out as "order '5': time window (-50, 670) ... seconds",
    without file or line. bb25 D23: DEMAND 500 on a 200 vehicle was solved, printed
    "feasible": false with no reason and exit 0."""
    path = _c101_with(test_data, tmp_path, column, value)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy RuntimeWarning with a source path (bb26 D12)
        assert main(["bench", "solomon", str(path), "--time-limit", "0.5"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"lastmile: error: {path}, {message}")
    assert len(err.splitlines()) == 1 and "Traceback" not in err


def test_a_customer_at_the_vehicle_capacity_and_a_negative_fleet(
    test_data: Path, tmp_path: Path
) -> None:
    """The limits are the model's: DEMAND equal to the capacity is servable; a negative VEHICLE
    NUMBER is refused on its line."""
    at_capacity = read_solomon(_c101_with(test_data, tmp_path, 3, "200"))
    assert at_capacity.demand[5] == 200
    path = tmp_path / "C101.txt"
    text = path.read_text(encoding="ascii").replace("  25         200", "  -25         200")
    path.write_text(text, encoding="ascii")
    with pytest.raises(
        InputError, match=re.escape(f"{path}, line 5: VEHICLE NUMBER -25 is negative")
    ):
        read_solomon(path)


def test_a_file_without_vehicles_is_refused_on_its_line(
    test_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """bb26 D10: VEHICLE NUMBER 0 was solved as "nothing_to_route", distance 0.0, exit 0."""
    path = _c101_with(test_data, tmp_path, 3, "10")
    text = path.read_text(encoding="ascii").replace("  25         200", "  0         200")
    path.write_text(text, encoding="ascii")
    assert main(["bench", "solomon", str(path), "--time-limit", "0.5"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        f"lastmile: error: {path}, line 5: VEHICLE NUMBER 0: no vehicle to route — check the file\n"
    )

"""Readers of the OR-Library p-median and capacitated warehouse instances."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from lastmile.errors import InputError
from lastmile.instances import read_pmed, reference_table, reference_value, reference_values


def test_pmed1_header_and_matrix(test_data: Path) -> None:
    inst = read_pmed(test_data / "benchmarks" / "pmed" / "pmed1.txt")
    assert (inst.name, inst.n, inst.edges, inst.p) == ("pmed1", 100, 200, 5)
    assert inst.cost.shape == (100, 100)
    assert inst.cost.dtype == np.int64
    assert (inst.cost == inst.cost.T).all()
    assert (np.diag(inst.cost) == 0).all()
    assert (inst.cost[~np.eye(100, dtype=bool)] > 0).all()
    # the first edge of the file is "1 2 30"; a shortest path can only be shorter or equal
    assert inst.cost[0, 1] <= 30
    # shortest paths: no detour through any node is shorter (triangle inequality)
    for k in (0, 5, 57, 99):
        assert (inst.cost <= inst.cost[:, k][:, None] + inst.cost[k][None, :]).all()


def _write(tmp_path: Path, text: str, name: str = "tiny.txt") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="ascii")
    return path


def test_duplicate_edge_last_value_wins(tmp_path: Path) -> None:
    # edge 1-2 appears twice: 5 then 9; the last value (9) counts, not the smaller one
    path = _write(tmp_path, "3 3 1\n1 2 5\n2 3 4\n2 1 9\n")
    inst = read_pmed(path)
    assert inst.cost.tolist() == [[0, 9, 13], [9, 0, 4], [13, 4, 0]]


def test_duplicate_edge_last_value_wins_when_smaller(tmp_path: Path) -> None:
    inst = read_pmed(_write(tmp_path, "3 3 1\n1 2 9\n2 3 4\n1 2 2\n"))
    assert inst.cost[0, 1] == 2 and inst.cost[0, 2] == 6


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("3 3", "too short"),
        ("3 x 1\n1 2 3\n", "non-number"),
        ("3 5 1\n1 2 3\n2 3 4\n", "header says 5 edges"),
        # an edge line past the header's count was ignored without a word (bb16 13.5)
        ("3 2 1\n1 2 10\n2 3 10\n1 9 4\n", "header says 2 edges, file holds 3 "),
        ("3 2 1\n1 2 10\n2 3 10\n1 9\n", "header says 2 edges, file holds 2 and 2 more"),
        # the edge is named, as a negative cost's is (bb26 D13)
        ("3 2 1\n1 2 3\n2 4 4\n", "edge 2-4 \\(edge 2 of 2\\) names a node outside 1..3"),
        ("3 2 1\n1 2 3\n2 1e300 4\n", "edge 2-1e300 \\(edge 2 of 2\\) names a node outside"),
        # huge or infinite costs were an internal OverflowError (bb26 D12)
        ("3 2 1\n1 2 1e300\n2 3 4\n", "edge 1-2 \\(edge 1 of 2\\) has a cost 1e300 beyond ±1e9"),
        ("3 2 1\n1 2 3\n2 3 1e400\n", "edge 2-3 \\(edge 2 of 2\\) has a cost 1e400 beyond ±1e9"),
        ("3 2 1\n1 2 inf\n2 3 4\n", "edge 1-2 \\(edge 1 of 2\\) has a cost inf beyond ±1e9"),
        ("3 2 1\n1 2 nan\n2 3 4\n", "the edge list holds a non-number: 'nan'"),
        ("3 1e300 1\n1 2 3\n2 3 4\n", "the header 'n edges p' holds 1e300, not a finite number"),
        ("4 2 1\n1 2 3\n3 4 4\n", "not connected"),
        # a negative cost made Dijkstra loop, memory growing, until killed (bb16 D-D)
        ("4 3 2\n1 2 10\n2 3 10\n3 4 -5\n", "edge 3-4 \\(edge 3 of 3\\) has a negative cost -5"),
    ],
)
def test_bad_pmed_files(tmp_path: Path, text: str, needle: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy RuntimeWarning on the way (bb26 D12)
        with pytest.raises(InputError, match=needle):
            read_pmed(_write(tmp_path, text))


def test_missing_and_binary_pmed_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        read_pmed(tmp_path / "nope.txt")
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"\x89PNG\xff\xfe")
    with pytest.raises(InputError, match="not a text instance"):
        read_pmed(binary)
    # the instance folder given for its files (bb25 D8)
    with pytest.raises(InputError) as folder:
        read_pmed(tmp_path)
    assert (
        str(folder.value) == f"{tmp_path} is a folder — give the instance files ({tmp_path}/*.txt)"
    )


def test_unreadable_instance_file_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A permission error was an internal error (tests run as root: chmod would not stop them)."""
    path = _write(tmp_path, "3 2 1\n1 2 3\n2 3 4\n")

    def refuse(self: Path, *args: object, **kwargs: object) -> str:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_text", refuse)
    with pytest.raises(InputError) as refused:
        read_pmed(path)
    assert str(refused.value) == f"instance file {path} is not readable — check its permissions"


def test_reference_values_are_found_beside_the_instance_folder(
    test_data: Path, tmp_path: Path
) -> None:
    """One lookup for `lastmile bench` and the benchmark scripts (bb16 11): the table in the
    instance folder or its parent, values by instance name in any case."""
    folder = test_data / "benchmarks" / "solomon"
    assert reference_table(folder, "solomon") == test_data / "benchmarks" / "solomon_bks.csv"
    bks = reference_values(folder, "solomon")
    assert (bks["R101"].value, bks["R101"].vehicles) == (1637.7, 20)
    assert bks["C101"].gap_pct(835.573) == 1.0
    optima = reference_values(test_data / "benchmarks" / "pmed", "pmedian")
    assert optima["PMED1"].value == 5819 and optima["PMED1"].vehicles is None
    ref, note = reference_value(folder / "C101.txt", "solomon", "nope", "c101")
    assert ref is not None and ref.instance == "C101" and note.startswith("best known")
    assert reference_values(tmp_path, "solomon") == {}
    (tmp_path / "pmed_opt.csv").write_text("instance,opt\npmed1,5819\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"pmed_opt.csv: not a reference table .*optimal"):
        reference_values(tmp_path / "pmed", "pmedian")
    (tmp_path / "pmed_opt.csv").write_text("instance,optimal\npmed1,x\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"instance pmed1: not a number \(optimal 'x'\)"):
        reference_values(tmp_path, "pmedian")


def test_reference_rows_carry_the_instance_size_and_refuse_another_instance(
    test_data: Path, tmp_path: Path
) -> None:
    """bb25 D9 / D13: the tables' size columns (Solomon customers; p-median n, edges, p) are read,
    and a file whose counts differ is refused naming both, not scored against the row."""
    bks = reference_values(test_data / "benchmarks" / "solomon", "solomon")
    assert bks["C101"].size == {"customers": 100}
    bks["C101"].check_size("C101.txt", {"customers": 100})  # the same instance: no error
    with pytest.raises(InputError) as cut:
        bks["C101"].check_size("cut/C101.txt", {"customers": 38})
    table = test_data / "benchmarks" / "solomon_bks.csv"
    assert str(cut.value).startswith(
        f"cut/C101.txt has 38 customers, {table}'s C101 has 100 customers — not that instance "
        "(truncated, renamed or mixed up?)"
    )
    optima = reference_values(test_data / "benchmarks" / "pmed", "pmedian")
    assert optima["PMED3"].size == {"n": 100, "edges": 200, "p": 10}
    with pytest.raises(InputError) as mixed_up:
        optima["PMED3"].check_size("pmed3.txt", {"n": 100, "edges": 300, "p": 5})
    assert "pmed3.txt has 300 edges, p = 5, " in str(mixed_up.value)
    assert "'s pmed3 has 200 edges, p = 10 — not that instance" in str(mixed_up.value)
    # a table without the size columns is read as before: nothing to compare
    (tmp_path / "pmed_opt.csv").write_text("instance,optimal\npmed3,4250\n", encoding="utf-8")
    plain = reference_values(tmp_path, "pmedian")["PMED3"]
    assert plain.size == {}
    plain.check_size("pmed3.txt", {"n": 100, "edges": 200, "p": 5})
    (tmp_path / "pmed_opt.csv").write_text("instance,p,optimal\npmed3,ten,4250\n", encoding="utf-8")
    with pytest.raises(
        InputError, match=r"instance pmed3: not a number \(optimal '4250', p 'ten'\)"
    ):
        reference_values(tmp_path, "pmedian")


def test_bench_pmedian_refuses_a_file_that_is_not_the_tables_instance_before_any_solve(
    test_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """bb25 D13: pmed1 (p = 5) saved as pmed3.txt was solved "optimal" and printed 36.9 % above
    pmed3's p = 10 optimum; bb25 D10: a bad file after a good one is found before the first
    solve (nothing printed on stdout)."""
    from lastmile.cli import main

    (tmp_path / "pmed").mkdir()
    (tmp_path / "pmed_opt.csv").write_bytes(
        (test_data / "benchmarks" / "pmed_opt.csv").read_bytes()
    )
    mixed_up = tmp_path / "pmed" / "pmed3.txt"
    mixed_up.write_bytes((test_data / "benchmarks" / "pmed" / "pmed1.txt").read_bytes())
    good = test_data / "benchmarks" / "pmed" / "pmed1.txt"
    assert main(["bench", "pmedian", str(good), str(mixed_up), "--time-limit", "1"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(
        f"lastmile: error: {mixed_up} has p = 5, {tmp_path / 'pmed_opt.csv'}'s pmed3 has p = 10 "
        "— not that instance"
    )
    assert "Traceback" not in err and len(err.splitlines()) == 1
    for bad, message in [
        (tmp_path / "pmed", f"{tmp_path / 'pmed'} is a folder — give the instance files"),
        (tmp_path / "nope.txt", "does not exist"),
    ]:
        assert main(["bench", "pmedian", str(good), str(bad), "--time-limit", "1"]) == 2
        out, err = capsys.readouterr()
        assert out == "" and message in err


def test_bench_pmedian_line_records_the_time_limit_workers_and_solver(
    test_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """bb25 D28: a JSON line did not say the time limit, the workers or the solver behind it, so
    a 1-s line and a 60-s line differed only by "seconds"."""
    from lastmile.cli import main

    pmed1 = test_data / "benchmarks" / "pmed" / "pmed1.txt"
    assert main(["bench", "pmedian", str(pmed1), "--time-limit", "2.5"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert (row["instance"], row["objective"], row["optimal"]) == ("pmed1", 5819, True)
    assert row["time_limit_s"] == 2.5 and row["workers"] == 1
    assert row["solver"] == (
        "local search, Lagrangean bound and reductions, then the radius model in SCIP "
        "(OR-Tools) unless the bound proves the local search optimal"
    )

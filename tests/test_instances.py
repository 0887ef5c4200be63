"""Readers of the OR-Library p-median and capacitated warehouse instances."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lastmile.errors import InputError
from lastmile.instances import read_pmed, reference_table, reference_value, reference_values


def test_pmed1_header_and_matrix(test_data: Path) -> None:
    inst = read_pmed(test_data / "benchmarks" / "pmed" / "pmed1.txt")
    assert (inst.name, inst.n, inst.p) == ("pmed1", 100, 5)
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
        ("3 2 1\n1 2 3\n2 4 4\n", "outside 1..3"),
        ("4 2 1\n1 2 3\n3 4 4\n", "not connected"),
        # a negative cost made Dijkstra loop, memory growing, until killed (bb16 D-D)
        ("4 3 2\n1 2 10\n2 3 10\n3 4 -5\n", "edge 3-4 \\(edge 3 of 3\\) has a negative cost -5"),
    ],
)
def test_bad_pmed_files(tmp_path: Path, text: str, needle: str) -> None:
    with pytest.raises(InputError, match=needle):
        read_pmed(_write(tmp_path, text))


def test_missing_and_binary_pmed_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        read_pmed(tmp_path / "nope.txt")
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"\x89PNG\xff\xfe")
    with pytest.raises(InputError, match="not a text instance"):
        read_pmed(binary)
    with pytest.raises(InputError, match="not a text instance"):
        read_pmed(tmp_path)


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

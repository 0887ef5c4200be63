"""The notebooks run top to bottom offline (small stand-in, tiny time limits) through nbclient."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import TEST_SCALE

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(
    path: Path,
    small_cache: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LASTMILE_STANDIN_SCALE", str(TEST_SCALE))
    monkeypatch.setenv("LASTMILE_NETWORK", "synthetic")
    monkeypatch.setenv("LASTMILE_ROUTING_SOLUTION_LIMIT", "3")
    monkeypatch.setenv("LASTMILE_P_MAX", "3")
    monkeypatch.setenv("LASTMILE_CACHE_DIR", str(small_cache))
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute(env=dict(os.environ))  # raises CellExecutionError on any failing cell
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert any("synthetic stand-in" in str(o) for o in outputs)


def test_what_the_notebooks_write_stays_out_of_git() -> None:
    """bb15 D14: a notebook run from the checkout writes notebooks/notebook-output/."""
    root = Path(__file__).parents[1]
    if shutil.which("git") is None or not (root / ".git").exists():
        pytest.skip("not a git checkout")
    writers = [p.name for p in NOTEBOOKS if "notebook-output" in p.read_text("utf-8")]
    assert writers  # notebooks 02 and 04 write there
    for name in ("p_curve.png", "sweep/results.csv", "sweep.toml"):
        path = f"notebooks/notebook-output/{name}"
        done = subprocess.run(["git", "-C", str(root), "check-ignore", "-q", path], check=False)
        assert done.returncode == 0, f"{path} is not ignored by git"

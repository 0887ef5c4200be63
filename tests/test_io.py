"""Output files: what :func:`lastmile.io.write_csv` writes."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from lastmile.io import write_csv


def test_csv_coordinates_keep_six_decimals(tmp_path: Path) -> None:
    """lon/lat columns keep the WKT's 6 decimals; other floats keep 6 significant digits."""
    lon = [119.111412, 119.276, -0.0000001, np.nan]
    lat = [28.696188, 28.593, 28.5999999, np.nan]
    frame = gpd.GeoDataFrame(
        {
            "id": ["a", "b", "c", "d"],
            "lon": lon,
            "lat": lat,
            "hub_lon": lon,
            "minutes": [41.83333333, 1.0, 2.5, np.nan],
        },
        geometry=gpd.points_from_xy([119.111412, 119.276, 0.0, 1.0], [28.696188, 28.593, 28.6, 1]),
        crs="EPSG:4326",
    )
    path = write_csv(tmp_path / "hubs.csv", frame)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[1] == "a,119.111412,28.696188,119.111412,41.8333,POINT (119.111412 28.696188)"
    assert lines[2] == "b,119.276,28.593,119.276,1,POINT (119.276 28.593)"
    assert lines[3].startswith("c,0,28.6,0,2.5,")  # -0.0000001 rounds to 0, not "-0"
    assert lines[4].startswith("d,,,,,")  # missing stays empty
    back = pd.read_csv(path)
    assert np.allclose(back["lon"][:2], lon[:2], atol=1e-6, rtol=0)
    assert np.allclose(back["lat"][:2], lat[:2], atol=1e-6, rtol=0)


def test_the_same_layers_give_the_same_geopackage(tmp_path: Path) -> None:
    """GDAL stamped each layer with the time of writing, so two runs gave different files."""
    import time

    import pyogrio
    import shapely

    from lastmile.io import GEOPACKAGE_TIMESTAMP, write_geopackage

    layers = {"hubs": gpd.GeoDataFrame({"id": ["h1"]}, geometry=[shapely.Point(119.3, 28.6)],
                                       crs=4326)}  # fmt: skip
    first = write_geopackage(tmp_path / "a.gpkg", layers).read_bytes()
    time.sleep(1.1)  # an unfixed stamp would now differ
    second = write_geopackage(tmp_path / "b.gpkg", layers).read_bytes()
    assert first == second
    assert pyogrio.read_info(tmp_path / "a.gpkg", layer="hubs")["features"] == 1
    assert GEOPACKAGE_TIMESTAMP.encode() in first
    assert pyogrio.get_gdal_config_option("OGR_CURRENT_DATE") is None  # left as it was


def test_a_full_disk_while_the_geopackage_is_written_is_one_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bb18 D10: GDAL reports a full disk as 'Failed to commit transaction', which was an
    internal error (exit 1); it is now the documented 'cannot write …: No space left on device'."""
    import shutil

    import shapely
    from pyogrio.errors import DataSourceError

    from lastmile.errors import OutputError
    from lastmile.io import write_geopackage

    def full(*args: object, **kwargs: object) -> None:
        raise DataSourceError("Failed to commit transaction")

    monkeypatch.setattr(gpd.GeoDataFrame, "to_file", full)
    monkeypatch.setattr(shutil, "disk_usage", lambda _: shutil._ntuple_diskusage(10**9, 10**9, 0))
    layers = {"hubs": gpd.GeoDataFrame({"id": ["h1"]}, geometry=[shapely.Point(119.3, 28.6)],
                                       crs=4326)}  # fmt: skip
    target = tmp_path / "lastmile.gpkg"
    with pytest.raises(OutputError, match="No space left on device") as caught:
        write_geopackage(target, layers)
    assert f"cannot write {target}" in str(caught.value) and "free some space" in str(caught.value)
    assert list(tmp_path.iterdir()) == []  # no half-written file


def test_a_killed_runs_staging_folder_is_removed_by_the_next_run(tmp_path: Path) -> None:
    """A ``kill -9`` left ``.NAME.tmp-*`` beside ``--out`` for ever: a later run could not tell
    it from a running run's. Staging folders now name their process; a dead one's is removed, a
    live one's stays."""
    import subprocess
    import sys

    from lastmile.io import _staging_prefix, atomic_dir

    target = tmp_path / "out"
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    dead = tmp_path / (_staging_prefix(target, int(ended.stdout)) + "x1")
    dead.mkdir()
    (dead / "routes.csv").write_text("half", encoding="utf-8")
    live = tmp_path / (_staging_prefix(target) + "x2")  # this process: a run still writing
    live.mkdir()
    other = tmp_path / ".out.tmp-abc123"  # an older lastmile's name: whose it is is unknown
    other.mkdir()
    with atomic_dir(target) as staging:
        (staging / "a.txt").write_text("new", encoding="utf-8")
    assert not dead.exists()
    assert live.exists() and other.exists()
    assert (target / "a.txt").read_text(encoding="utf-8") == "new"


def test_csv_columns_given_decimals_keep_them(tmp_path: Path) -> None:
    """bb20 D7: an order's cost share of 1234.5678912 was written as 1234.57 (6 significant
    digits), so sums of orders.csv drifted from kpis.json's by 0.1 over a day."""
    frame = pd.DataFrame({"cost": [1234.5678912, 2.0, np.nan], "km": [1234.5678912, 0.5, 1.0]})
    path = write_csv(tmp_path / "orders.csv", frame, {"cost": 6})
    assert path.read_text(encoding="utf-8").splitlines() == [
        "cost,km",
        "1234.567891,1234.57",
        "2,0.5",
        ",1",
    ]

"""Reliability suite: bad and hostile input and faults at every entry point.

Every case checks what the user sees: one message that says what is wrong, where and what to do
(``lastmile: error: WHAT — HINT``), the documented exit code (2 bad input, 3 infeasible request,
4 validator violations), no traceback, no partial output or cache file, and nothing already
written lost. The README's "Reliability" table has one line per case.

Most cases call :func:`lastmile.cli.main` in-process (the same code path as the command, without
paying the interpreter start-up per case); a few run ``python -m lastmile.cli`` as a subprocess to
see what a real process prints. The plan output cases reuse one computed plan: ``run_plan`` is
replaced in the CLI by a function returning it, so only the writing is exercised.
"""

from __future__ import annotations

import bz2
import contextlib
import errno
import gzip
import json
import multiprocessing as mp
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import iterparse

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from scipy.spatial import cKDTree
from shapely.geometry import Polygon

from lastmile import io as lastmile_io
from lastmile import report
from lastmile.boundaries import county_outline, load_townships, townships_from_osm
from lastmile.cli import main
from lastmile.config import load_region
from lastmile.demand import read_orders, villages_from_file
from lastmile.errors import DataError, InputError, OutputError
from lastmile.gcj02 import geometry_wgs84_to_gcj02
from lastmile.matrix import TravelMatrix, cached_travel_matrix
from lastmile.network import check_covers, load_network, read_network
from lastmile.plan import PlanResult, run_plan
from lastmile.routing import REASON_CAPACITY, REASON_COLD_CHAIN, REASON_UNREACHABLE
from lastmile.scenario import load_scenario
from lastmile.validate import Violation
from tests.conftest import TEST_SCALE

REGION = load_region()
SRC = Path(__file__).parents[1] / "src"
LIMITS = ["--routing-time-limit", "2", "--location-time-limit", "5"]
PLAN_FILES = {
    ".lastmile-files",
    "assignments.csv",
    "orders.csv",
    "lead_time_townships.csv",
    "trunk_routes.csv",
    "hubs.csv",
    "kpis.json",
    "lastmile.gpkg",
    "manifest.json",
    "routes.csv",
    "stops.csv",
    "summary.md",
    "townships.csv",
    "unassigned.csv",
    "maps/plan.html",
    "maps/baseline.html",
    "plots/delivery_times.png",
    "plots/minutes_saved_by_township.png",
}


# --------------------------------------------------------------------------- helpers


def standin_args(cache: Path) -> list[str]:
    return ["--network", "synthetic", "--standin-scale", str(TEST_SCALE), "--cache-dir", str(cache)]


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the command in-process; (exit code, stdout, stderr). argparse errors exit too."""
    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse: usage error
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``python -m lastmile.cli`` from this checkout's src."""
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    return subprocess.run(
        [sys.executable, "-m", "lastmile.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def assert_error(code: int, err: str, expected: int, *fragments: str) -> str:
    """One error line, with a hint, the fragments, the exit code, and no traceback."""
    assert code == expected, err
    assert "Traceback" not in err and "internal error" not in err, err
    lines = [ln for ln in err.splitlines() if ln.startswith("lastmile: error")]
    assert len(lines) == 1, err
    line = lines[0]
    assert " — " in line, f"no hint (what to do) in: {line}"
    for f in fragments:
        assert f in line, f"{f!r} not in: {line}"
    return line


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` by relative path, with its bytes."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def no_debris(folder: Path) -> None:
    """No temporary file or staging folder of lastmile's atomic writers is left in ``folder``."""
    left = [p.name for p in folder.iterdir() if p.name.startswith(".")]
    assert not left, left


@pytest.fixture(scope="module")
def standin_osm(small_cache: Path) -> Path:
    return sorted(small_cache.glob("standin-*.osm"))[0]


@pytest.fixture(scope="module")
def outline(small_cache: Path) -> Any:
    return county_outline(REGION, cache=small_cache).geometry


@pytest.fixture(scope="module")
def towns(standin_osm: Path, outline: Any) -> gpd.GeoDataFrame:
    """The stand-in's 20 township polygons (WGS84): the good file the cases below damage."""
    gdf: gpd.GeoDataFrame = townships_from_osm(standin_osm, REGION, outline).gdf
    return gdf


# --------------------------------------------------------------------------- OSM files


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


OSM_CASES: dict[str, tuple[str, Callable[[bytes], bytes], str]] = {
    # name: (file name, content from the stand-in's bytes, message)
    "corrupt": ("corrupt.osm", lambda b: b[:200] + bytes(range(256)) * 4, "not a readable OSM XML"),
    "truncated": ("truncated.osm", lambda b: b[: len(b) // 3], "not a readable OSM XML"),
    "empty": ("empty.osm", lambda b: b"", "is empty"),
    "gzip named .bz2": ("roads.osm.bz2", gzip.compress, "not a valid bzip2 file"),
    "bz2 named .osm": ("roads.osm", bz2.compress, "not a readable OSM XML"),
    "garbage .pbf": ("roads.osm.pbf", lambda b: os.urandom(4096), "not a readable OSM PBF"),
    "no drivable road": (
        "rivers.osm",
        lambda b: (
            b'<?xml version="1.0"?><osm version="0.6">'
            b'<node id="1" lat="28.60" lon="119.10"/><node id="2" lat="28.61" lon="119.11"/>'
            b'<way id="5"><nd ref="1"/><nd ref="2"/><tag k="waterway" v="river"/></way></osm>'
        ),
        "holds no drivable road",
    ),
}


@pytest.mark.parametrize("case", list(OSM_CASES))
def test_bad_osm_file(
    case: str, standin_osm: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name, make, message = OSM_CASES[case]
    src = _write(tmp_path / name, make(standin_osm.read_bytes()[:400_000]))
    cache = tmp_path / "cache"
    code, _, err = cli(capsys, "network", "--network", str(src), "--cache-dir", str(cache))
    assert_error(code, err, 2, str(src), message)
    # no network cache written from a file that could not be read, no temporary file left
    assert not list(cache.glob("network-*")), list(cache.iterdir())
    no_debris(cache)


@pytest.mark.parametrize("case", ["missing", "corrupt"])
def test_fetch_a_bad_extract_copies_nothing(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "extract.osm"
    if case == "corrupt":
        src.write_bytes(b"<osm><way id='1'>")
    cache = tmp_path / "cache"
    code, _, err = cli(capsys, "fetch", "--extract", str(src), "--cache-dir", str(cache))
    message = "does not exist" if case == "missing" else "not a readable OSM XML file"
    assert_error(code, err, 2, f"{src}", message)  # the user's file, not a copy
    assert not (cache / "extracts").exists() and not list(cache.glob("network-*"))


def test_fetch_extract_checks_the_county_and_auto_then_uses_it(
    test_data: Path,
    standin_osm: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cache = tmp_path / "cache"
    oakland = test_data / "osm/samples/west-oakland.osm.bz2"
    code, _, err = cli(capsys, "fetch", "--extract", str(oakland), "--cache-dir", str(cache))
    assert_error(code, err, 2, str(oakland), "inside the Suichang County outline")
    assert not (cache / "extracts").exists()
    # lastmile's own stand-in is not imported as OSM data, and named as a file it stays labelled
    code, _, err = cli(capsys, "fetch", "--extract", str(standin_osm), "--cache-dir", str(cache))
    assert_error(code, err, 2, "is lastmile's synthetic stand-in (NOT real OpenStreetMap data)")
    assert not (cache / "extracts").exists()
    code, out, err = cli(
        capsys, "network", "--network", str(standin_osm), "--cache-dir", str(cache)
    )
    assert (
        code == 0
        and f"synthetic stand-in (NOT real OpenStreetMap data), file {standin_osm.name}" in out
    )
    # a copy rewritten by another tool (osmium: its own generator header) keeps the stand-in's
    # way tags, and still says so
    rewritten = tmp_path / "cut.osm"
    rewritten.write_bytes(
        standin_osm.read_bytes().replace(b"lastmile synthetic stand-in", b"libosmium/2.23.1", 1)
    )
    code, _, err = cli(capsys, "fetch", "--extract", str(rewritten), "--cache-dir", str(cache))
    assert_error(code, err, 2, "is lastmile's synthetic stand-in (NOT real OpenStreetMap data)")
    code, out, err = cli(capsys, "network", "--network", str(rewritten), "--cache-dir", str(cache))
    assert code == 0 and "synthetic stand-in (NOT real OpenStreetMap data), file cut.osm" in out
    # an extract that covers the county (here the stand-in's roads, every stand-in mark replaced)
    # is imported ...
    extract = tmp_path / "suichang.osm"
    extract.write_bytes(standin_osm.read_bytes().replace(b"lastmile synthetic stand-in", b"test"))
    code, out, err = cli(capsys, "fetch", "--extract", str(extract), "--cache-dir", str(cache))
    assert code == 0 and "warning" not in err, err  # its roads span the county
    imported = cache / "extracts" / REGION.id / extract.name
    assert imported.read_bytes() == extract.read_bytes()
    assert "`--network auto` (the default) now uses it" in out
    # ... and `auto` reads it (before any download or the stand-in)
    code, out, err = cli(capsys, "network", "--cache-dir", str(cache))
    assert code == 0, err
    assert f"OpenStreetMap extract {extract.name}" in out
    # an extract whose roads reach less of the county than the threshold is imported with a warning
    import lastmile.network

    monkeypatch.setattr(lastmile.network, "EXTRACT_SHARE_WARNING", 1.01)
    code, _, err = cli(capsys, "fetch", "--extract", str(extract), "--cache-dir", str(cache))
    assert code == 0 and f"warning: {extract.name}'s roads reach about" in err
    share = int(err.split("reach about ")[1].split("%")[0])
    assert 60 <= share <= 100
    # bb21 D6: `network` and `plan` on it say so too (the imported extract, --network FILE,
    # [plan] local_extract), not only `fetch --extract`
    for how in ([], ["--network", str(extract)]):
        code, _, err = cli(capsys, "network", *how, "--cache-dir", str(cache))
        assert code == 0 and f"warning: {extract.name}'s roads reach about {share}%" in err, how
    from lastmile.plan import prepare
    from lastmile.scenario import load_scenario

    inputs = prepare(load_scenario(local_extract=str(extract)), cache=cache)
    assert f"{extract.name}'s roads reach about {share}%" in " ".join(inputs.warnings)


def test_an_extract_that_misses_the_county_centre_is_refused(
    standin_osm: Path, outline: Any, tmp_path: Path
) -> None:
    # every plan starts at the centre (the baseline's depot, the trunk's origin): an extract cut
    # too small to reach it is refused when read, naming the file, not later as a wrong centre
    net = load_network(standin_osm, REGION, cache=tmp_path)
    check_covers(net, outline, REGION, standin_osm)  # the stand-in reaches it
    centre = REGION.county_centre  # the stand-in has a node on it: look 100 m away, 1 m limit
    tight = replace(REGION, max_snap_m=1.0, county_centre=replace(centre, lat=centre.lat + 0.001))
    with pytest.raises(DataError, match="its roads do not reach the county centre") as e:
        check_covers(net, outline, tight, standin_osm)
    assert str(standin_osm) in e.value.message and "covers the whole of" in (e.value.hint or "")


def test_osm_roads_outside_the_county(
    test_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    oakland = test_data / "osm/samples/west-oakland.osm.bz2"
    code, _, err = cli(capsys, "network", "--network", str(oakland), "--cache-dir", str(tmp_path))
    assert_error(code, err, 2, "inside the Suichang County outline", "-122.", "give an extract")
    # refused before it is cached: a later run reads the file again and refuses it again
    assert not list(tmp_path.glob("network-*.npz"))
    code, _, err = cli(capsys, "fetch", "--extract", str(oakland), "--cache-dir", str(tmp_path))
    assert_error(code, err, 2, "inside the Suichang County outline")
    assert not list(tmp_path.glob("network-*.npz")) and not (tmp_path / "extracts").exists()


def test_wrongly_compressed_osm_in_a_real_process(standin_osm: Path, tmp_path: Path) -> None:
    bad = _write(tmp_path / "roads.osm.bz2", gzip.compress(standin_osm.read_bytes()[:10_000]))
    r = run("network", "--network", str(bad), "--cache-dir", str(tmp_path / "cache"))
    assert_error(r.returncode, r.stderr, 2, "not a valid bzip2 file")
    assert r.stderr.strip().count("\n") == 0


# --------------------------------------------------------------------------- township boundaries


def _load(gdf: gpd.GeoDataFrame, path: Path, outline: Any, crs: str | None = None) -> Any:
    gdf.to_file(path)
    return load_townships(path, REGION, crs=crs, outline=outline)


def test_boundaries_projected_coordinates_declared_wgs84(
    towns: gpd.GeoDataFrame, outline: Any, tmp_path: Path
) -> None:
    bad = towns.to_crs(32650).set_crs(4326, allow_override=True)
    with pytest.raises(DataError, match="not lon/lat degrees") as e:
        _load(bad, tmp_path / "t.gpkg", outline)
    assert "EPSG:32650" in str(e.value.hint)


def test_boundaries_degrees_declared_web_mercator(
    towns: gpd.GeoDataFrame, outline: Any, tmp_path: Path
) -> None:
    bad = towns.set_crs(3857, allow_override=True)
    with pytest.raises(DataError, match=r"100% of the township area .* outside") as e:
        _load(bad, tmp_path / "t.gpkg", outline)
    assert "Pseudo-Mercator" in e.value.message and "--boundaries-crs" in str(e.value.hint)


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_boundaries_without_crs(towns: gpd.GeoDataFrame, outline: Any, tmp_path: Path) -> None:
    metres = np.asarray(towns.to_crs(32650).geometry.values)  # shapely objects, no CRS
    gpd.GeoDataFrame(towns.drop(columns="geometry"), geometry=list(metres)).to_file(
        tmp_path / "t.shp"
    )
    with pytest.raises(DataError, match="has no coordinate reference system"):
        load_townships(tmp_path / "t.shp", REGION, outline=outline)
    # with the CRS stated the same file loads, all 20 townships
    tb = load_townships(tmp_path / "t.shp", REGION, crs="EPSG:32650", outline=outline)
    assert len(tb.gdf) == 20


def test_boundaries_gcj02_offsets(
    towns: gpd.GeoDataFrame, outline: Any, tmp_path: Path, small_cache: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    shifted = towns.set_geometry(
        gpd.GeoSeries(geometry_wgs84_to_gcj02(np.asarray(towns.geometry.values)), crs=4326)
    )
    path = tmp_path / "amap.geojson"
    shifted.to_file(path)
    with pytest.raises(DataError, match="look like GCJ-02") as e:
        load_townships(path, REGION, outline=outline)
    assert "--boundaries-crs gcj02" in str(e.value.hint)
    # converted as the message says, they fit the outline again
    tb = load_townships(path, REGION, crs="gcj02", outline=outline)
    assert tb.report.outside_km2 < 1.0 and tb.report.coverage_share > 0.999
    # through the command line
    code, _, err = cli(capsys, "network", *standin_args(small_cache), "--boundaries", str(path))
    assert_error(code, err, 2, str(path), "GCJ-02")


def test_boundaries_invalid_polygon_is_repaired_and_reported(
    towns: gpd.GeoDataFrame, outline: Any, tmp_path: Path
) -> None:
    bad = towns.copy()
    bowtie = Polygon([(119.1, 28.6), (119.2, 28.7), (119.2, 28.6), (119.1, 28.7)])
    assert not bowtie.is_valid
    bad.loc[3, "geometry"] = bowtie
    tb = _load(bad, tmp_path / "t.geojson", outline)
    name = str(bad.loc[3, "name"])
    assert tb.report.repaired == (name,)
    assert f"repaired invalid geometry: {name}" in tb.report.warnings
    assert tb.gdf.geometry.is_valid.all()


def test_boundaries_unrepairable_polygon(
    towns: gpd.GeoDataFrame, outline: Any, tmp_path: Path
) -> None:
    bad = towns.copy()
    bad.loc[3, "geometry"] = Polygon([(119.1, 28.6), (119.2, 28.6), (119.3, 28.6)])
    with pytest.raises(DataError, match="cannot be repaired") as e:
        _load(bad, tmp_path / "t.geojson", outline)
    assert str(bad.loc[3, "code"]) in e.value.message and "QGIS" in str(e.value.hint)


def test_boundaries_empty_polygon(towns: gpd.GeoDataFrame, outline: Any, tmp_path: Path) -> None:
    bad = towns.copy()
    bad.loc[3, "geometry"] = Polygon()
    with pytest.raises(DataError, match="empty geometry") as e:
        _load(bad, tmp_path / "t.geojson", outline)
    assert str(bad.loc[3, "code"]) in e.value.message


def test_boundaries_file_without_features(outline: Any, tmp_path: Path) -> None:
    path = tmp_path / "t.geojson"
    path.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    with pytest.raises(DataError, match="has no features"):
        load_townships(path, REGION, outline=outline)


def test_boundaries_table_without_geometries(outline: Any, tmp_path: Path) -> None:
    path = tmp_path / "t.csv"  # GDAL reads it as a plain table
    path.write_text("name,code\n北界镇,331123101\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"has no geometries .* give township polygons"):
        load_townships(path, REGION, outline=outline)


def test_boundaries_overlapping_townships_are_reported(
    towns: gpd.GeoDataFrame, outline: Any, tmp_path: Path
) -> None:
    bad = towns.copy()
    bad.loc[3, "geometry"] = shapely.union(towns.geometry[3], towns.geometry[4])
    tb = _load(bad, tmp_path / "t.geojson", outline)
    expected = towns.to_crs(REGION.projected_crs).geometry[4].area / 1e6
    assert expected > 10 and tb.report.overlaps_km2 == pytest.approx(expected, rel=1e-3)
    assert f"townships overlap by {tb.report.overlaps_km2:.1f} km²" in tb.report.warnings


def test_boundaries_duplicate_townships(
    towns: gpd.GeoDataFrame, outline: Any, tmp_path: Path
) -> None:
    bad = towns.copy()
    bad.loc[4, ["code", "name", "pinyin"]] = bad.loc[3, ["code", "name", "pinyin"]].to_numpy()
    with pytest.raises(DataError, match="more than one feature") as e:
        _load(bad, tmp_path / "t.geojson", outline)
    assert "row 3" in e.value.message and "row 4" in e.value.message


def test_boundaries_unknown_township_names(
    towns: gpd.GeoDataFrame, outline: Any, tmp_path: Path
) -> None:
    bad = towns.drop(columns=["code"])
    bad.loc[4, ["name", "pinyin"]] = ["火星镇", "Huoxing"]
    with pytest.raises(DataError, match="match no township") as e:
        _load(bad, tmp_path / "t.geojson", outline)
    assert "row 4" in e.value.message and "火星镇" in e.value.message
    assert "妙高街道" in str(e.value.hint)  # the names it would accept


# --------------------------------------------------------------------------- orders


def _orders(rows: list[dict[str, Any]], path: Path) -> Path:
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _order(id_: str, lon: float, lat: float, **kw: Any) -> dict[str, Any]:
    row = {"id": id_, "kind": "delivery", "lon": lon, "lat": lat, "parcels": 2, "kg": 4}
    return row | {"product_class": "parcel", "requires_refrigeration": False} | kw


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"parcels": -3}, "parcels = -3 is not a valid number"),
        ({"kg": "nan"}, "the kg cell is empty (an empty cell is not read as 0)"),
        ({"kg": "lots"}, "kg = 'lots' is not a valid number"),
        ({"tw_start": "14:00", "tw_end": "09:00"}, "time window ends before it starts"),
        ({"lon": 250.0}, "out of range"),
    ],
    ids=["negative", "nan", "not a number", "window ends before start", "lon out of range"],
)
def test_bad_order_values(change: dict[str, Any], message: str, tmp_path: Path) -> None:
    rows = [_order("A", 119.1, 28.6), _order("B", 119.2, 28.6) | change]
    path = _orders(rows, tmp_path / "o.csv")
    with pytest.raises(InputError, match="order B: ") as e:
        read_orders(path)
    assert message in e.value.message and str(path) in e.value.message and e.value.hint


def test_order_with_unknown_village(
    small_cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _orders([_order("A", 119.1, 28.6, village="no-such-village")], tmp_path / "o.csv")
    code, _, err = cli(capsys, "route", *standin_args(small_cache), *LIMITS, "--orders", str(path))
    assert_error(code, err, 2, str(path), "first order A: village 'no-such-village'")


def test_negative_quantity_through_the_command(
    small_cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _orders([_order("A", 119.1, 28.6, parcels=-1)], tmp_path / "o.csv")
    code, _, err = cli(capsys, "route", *standin_args(small_cache), *LIMITS, "--orders", str(path))
    assert_error(code, err, 2, f"{path}, order A: parcels = -1", "give a finite number >= 0")


def test_order_time_window_in_hh_mm(
    small_cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    centre = REGION.county_centre
    row = _order("A", centre.lon + 0.01, centre.lat, tw_start="09:00", tw_end="14:00")
    path = _orders([row], tmp_path / "o.csv")
    code, _, err = cli(capsys, "route", *standin_args(small_cache), *LIMITS, "--orders", str(path))
    assert code == 0, err


@pytest.fixture(scope="module")
def township_boundaries(standin_osm: Path, outline: Any) -> Any:
    return townships_from_osm(standin_osm, REGION, outline)


@pytest.mark.parametrize("lon", ["abc", "", "400"], ids=["text", "empty", "out of range"])
def test_villages_with_a_bad_lon(lon: str, township_boundaries: Any, tmp_path: Path) -> None:
    path = tmp_path / "villages.csv"
    path.write_text(f"id,name,lon,lat\nv1,A,119.1,28.6\nv2,B,{lon},28.6\n", encoding="utf-8")
    with pytest.raises(InputError, match="village 'v2' has no valid lon/lat") as e:
        villages_from_file(path, REGION, township_boundaries)
    assert str(path) in e.value.message and "degrees" in str(e.value.hint)


@pytest.mark.parametrize("what", ["villages", "orders"])
def test_unreadable_point_file(what: str, township_boundaries: Any, tmp_path: Path) -> None:
    path = _write(tmp_path / f"{what}.geojson", b'{"type": "FeatureCollection", "feat')
    with pytest.raises(InputError, match=f"not a readable {what} file") as e:
        if what == "villages":
            villages_from_file(path, REGION, township_boundaries)
        else:
            read_orders(path)
    assert str(path) in e.value.message and "point layer" in str(e.value.hint)


def _island_point(standin_osm: Path, small_cache: Path) -> tuple[float, float, float]:
    """A road node of the stand-in that is not in the drive graph's strong component.

    Returns lon, lat and its distance (m) to the nearest node the graph kept.
    """
    net = load_network(standin_osm, REGION, cache=small_cache, synthetic=True)
    coords: dict[int, tuple[float, float]] = {}
    road_nodes: set[int] = set()
    for _, el in iterparse(standin_osm):
        if el.tag == "node":
            coords[int(el.get("id", "0"))] = (float(el.get("lon", 0)), float(el.get("lat", 0)))
        elif el.tag == "way":
            if any(t.get("k") == "highway" for t in el.iter("tag")):
                road_nodes.update(int(n.get("ref", "0")) for n in el.iter("nd"))
            el.clear()
    xy = np.array([coords[i] for i in sorted(road_nodes)])
    metres = np.array([111_320.0 * np.cos(np.radians(28.5)), 110_570.0])
    dist, _ = cKDTree(np.c_[net.node_lon, net.node_lat] * metres).query(xy * metres)
    far = int(np.argmax(dist))
    return float(xy[far, 0]), float(xy[far, 1]), float(dist[far])


def test_orders_that_cannot_be_served_get_their_true_reason(
    small_cache: Path, standin_osm: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Huge quantity, a point outside the county, a point on a road-graph island and an
    impossible cold-chain limit: served orders are routed, the others reported, exit 0."""
    lon, lat, gap_m = _island_point(standin_osm, small_cache)
    assert gap_m > REGION.max_snap_m  # a fragment of road far from the connected network
    centre = REGION.county_centre
    rows = [
        _order("OK1", centre.lon + 0.01, centre.lat),
        _order("OK2", centre.lon, centre.lat + 0.01),
        _order("HUGE", centre.lon + 0.01, centre.lat + 0.01, parcels=10**12, kg=10**12),
        _order("OUTSIDE", 121.47, 31.23),  # Shanghai
        _order("ISLAND", lon, lat),
        _order(
            "PRODUCE", centre.lon + 0.02, centre.lat, kind="pickup", parcels=0, kg=50,
            product_class="produce", requires_refrigeration=True,
        ),
    ]  # fmt: skip
    orders = _orders(rows, tmp_path / "orders.csv")
    scenario = tmp_path / "s.toml"
    scenario.write_text("[cold_chain]\nproduce_max_in_vehicle_min = 1\n", encoding="utf-8")
    out = tmp_path / "route"
    code, stdout, err = cli(
        capsys, "route", *standin_args(small_cache), *LIMITS, "--config", str(scenario),
        "--orders", str(orders), "--out", str(out),
    )  # fmt: skip
    assert code == 0, err
    assert "Traceback" not in err
    una = pd.read_csv(out / "unassigned.csv")
    # every one is infeasible alone, and the binding limit is the true cause
    assert set(una["reason"]) == {"infeasible"}
    binding = una.groupby("order_id")["binding"].agg(set).to_dict()
    assert binding == {
        "HUGE": {REASON_CAPACITY},
        "OUTSIDE": {REASON_UNREACHABLE},
        "ISLAND": {REASON_UNREACHABLE},
        "PRODUCE": {REASON_COLD_CHAIN},
    }
    assert set(pd.read_csv(out / "stops.csv")["order_id"]) == {"OK1", "OK2"}
    (validator,) = [ln.split() for ln in stdout.splitlines() if ln.strip().startswith("validator")]
    assert validator == ["validator", "ok", "ok"]


# --------------------------------------------------------------------------- fleet, scenario


@pytest.mark.parametrize(
    ("toml", "code", "message"),
    [
        (
            '[[fleet]]\nid = "van"\ncapacity_kg = 1000\ncapacity_parcels = 400\n'
            "count_per_depot = 0\n",
            2,
            "count_per_depot is 0 for every vehicle type",
        ),
        (
            '[[fleet]]\nid = "van"\ncapacity_kg = 0\ncapacity_parcels = 400\ncount_per_depot = 1\n',
            2,
            "capacity_kg = 0 must be at least 1",
        ),
        ("[cold_chain]\nproduce_max_in_vehicle_min = 0\n", 2, "produce_max_in_vehicle_min"),
        ("[plan]\nhubs = 3\n", 2, "unknown key(s) ['hubs']"),
        ("[hubs]\np = 3\n", 2, "unknown table(s) ['hubs']"),
        ('[plan]\np = "ten"\n', 2, "p = 'ten' should be int"),
        ("[plan]\np = true\n", 2, "p = True should be int"),
        ("[plan]\norders = 5\n", 2, "orders = 5 should be str"),
        ("[plan]\np = 0\n", 2, "p = 0 must be at least 1"),
        ("[plan]\nobjective = 'fastest'\n", 2, "objective = 'fastest' unknown"),
        ("[plan\np = 3\n", 2, "is not valid TOML"),
    ],
    ids=[
        "zero vehicles",
        "zero capacity",
        "zero cold-chain limit",
        "unknown key",
        "unknown table",
        "wrong type str",
        "wrong type bool",
        "wrong type for a path",
        "p = 0",
        "unknown objective",
        "malformed TOML",
    ],
)
def test_bad_scenario_file(
    toml: str, code: int, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "scenario.toml"
    path.write_text(toml, encoding="utf-8")
    got, _, err = cli(
        capsys, "route", "--config", str(path), "--network", "synthetic",
        "--cache-dir", str(tmp_path / "cache"),
    )  # fmt: skip
    assert_error(got, err, code, str(path), message)
    assert not (tmp_path / "cache").exists()  # refused before any work


def test_p_larger_than_the_townships(
    small_cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "scenario.toml"
    path.write_text("[plan]\np = 20\n", encoding="utf-8")
    code, _, err = cli(capsys, "locate", *standin_args(small_cache), *LIMITS, "--config", str(path))
    line = assert_error(code, err, 3, "p = 20", "at most 19 fit")
    assert str(path) in line and "raise max_per_township" in line  # the user's file and key


def test_p_zero_on_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "plan", "--out", "x", "--p", "0")
    assert code == 2 and "'0' must be a positive integer" in err and "Traceback" not in err


def test_wrong_type_in_a_real_process(tmp_path: Path) -> None:
    path = tmp_path / "scenario.toml"
    path.write_text("[plan]\norders = 5\n", encoding="utf-8")
    r = run("locate", "--config", str(path), "--cache-dir", str(tmp_path / "c"))
    assert_error(r.returncode, r.stderr, 2, "orders = 5 should be str")
    assert r.stderr.strip().count("\n") == 0


# --------------------------------------------------------------------------- caches


def test_truncated_network_cache_is_rebuilt(test_data: Path, tmp_path: Path) -> None:
    osm = test_data / "osm/samples/planet_10.068_48.135_10.071_48.137.osm"
    net = load_network(osm, REGION, cache=tmp_path)
    (cached,) = tmp_path.glob("network-*.npz")
    good = cached.read_bytes()
    cached.write_bytes(good[: len(good) // 2])
    with pytest.raises(InputError, match="not a lastmile network cache"):
        read_network(cached)
    again = load_network(osm, REGION, cache=tmp_path)
    assert np.array_equal(again.node_lon, net.node_lon) and again.n_edges == net.n_edges
    # rebuilt and written again, whole
    assert np.array_equal(read_network(cached).edge_u, net.edge_u)
    no_debris(tmp_path)


def test_network_cache_of_another_version_is_rebuilt(test_data: Path, tmp_path: Path) -> None:
    osm = test_data / "osm/samples/planet_10.068_48.135_10.071_48.137.osm"
    net = load_network(osm, REGION, cache=tmp_path)
    (cached,) = tmp_path.glob("network-*.npz")
    with np.load(cached) as data:
        arrays = {k: data[k] for k in data.files}
    header = json.loads(str(arrays.pop("header")))
    header["version"] = 999
    # a file of another version whose arrays would be wrong if trusted
    arrays["node_lon"] = arrays["node_lon"] + 1.0
    with open(cached, "wb") as f:
        np.savez(f, header=np.array(json.dumps(header)), **arrays)
    with pytest.raises(InputError, match="cache version 999 is outdated"):
        read_network(cached)
    again = load_network(osm, REGION, cache=tmp_path)
    assert np.array_equal(again.node_lon, net.node_lon)  # not the file's shifted values
    assert np.array_equal(read_network(cached).node_lon, net.node_lon)


def test_truncated_or_foreign_matrix_cache_is_recomputed(test_data: Path, tmp_path: Path) -> None:
    osm = test_data / "osm/samples/planet_10.068_48.135_10.071_48.137.osm"
    net = load_network(osm, REGION, cache=tmp_path)
    nodes = np.arange(min(5, net.n_nodes), dtype=np.int64)
    first = cached_travel_matrix(net, nodes, nodes, tmp_path)
    (cached,) = tmp_path.glob("matrix-*.npz")
    good = cached.read_bytes()
    middle = len(good) // 2
    for damaged in (
        good[:middle],  # truncated
        b"\x80\x05K\x01.",  # foreign: a pickled int
        good[:middle] + bytes(16) + good[middle + 16 :],  # bb18 D2: zeroed bytes, once trusted
        good[:20] + bytes(range(200, 256)) + good[76:],  # bb18 D3: garbage, once an internal error
    ):
        cached.write_bytes(damaged)
        again = cached_travel_matrix(net, nodes, nodes, tmp_path)
        assert isinstance(again, TravelMatrix)
        assert np.array_equal(again.seconds, first.seconds)
        assert np.array_equal(again.metres, first.metres) and again.origins == first.origins
        assert len(cached.read_bytes()) == len(good)  # written again
        assert np.array_equal(cached_travel_matrix(net, nodes, nodes, tmp_path).seconds,
                              first.seconds)  # fmt: skip


def test_truncated_standin_file_is_generated_again(
    small_cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = tmp_path / "cache"
    shutil.copytree(small_cache, cache)
    (standin,) = cache.glob("standin-*.osm")
    good = standin.read_bytes()
    standin.write_bytes(good[: len(good) // 2])
    code, out, err = cli(capsys, "network", *standin_args(cache))
    assert code == 0, err
    assert standin.read_bytes() == good and "20/20 townships" in out


# --------------------------------------------------------------------------- plan output folder


@pytest.fixture(scope="module")
def plan_result(small_cache: Path) -> PlanResult:
    scenario = load_scenario(
        network="synthetic",
        standin_scale=TEST_SCALE,
        routing_time_limit_s=2.0,
        location_time_limit_s=5.0,
    )
    return run_plan(scenario, cache=small_cache)


@pytest.fixture
def fast_plan(plan_result: PlanResult, monkeypatch: pytest.MonkeyPatch) -> PlanResult:
    """``lastmile plan`` without the computation: the CLI's run_plan returns the module's plan."""
    monkeypatch.setattr("lastmile.cli.run_plan", lambda *a, **k: plan_result)
    return plan_result


@pytest.fixture
def previous(
    fast_plan: PlanResult, small_cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> Iterator[tuple[Path, dict[str, bytes]]]:
    """An output folder holding a complete previous plan, and its files."""
    out = tmp_path / "out"
    code, printed, err = cli(capsys, *plan_args(small_cache, out))
    assert code == 0, err
    # bb18 D8: without a terminal (a log, CI) the bar is hidden: one line per stage instead
    steps = re.findall(r"^lastmile: \[(\d)/(\d)\] (.+) \(\d+ s\)$", printed, re.M)
    assert steps and steps[-1][2] == "writing outputs"  # (this fixture's plan is precomputed)
    listed = next(line for line in printed.splitlines() if line.startswith("outputs in"))
    assert "maps/plan.html" in listed and "plots/delivery_times.png" in listed  # bb18 D13
    before = tree(out)
    assert_complete(out)
    yield out, before


def plan_args(cache: Path, out: Path) -> list[str]:
    return ["plan", *standin_args(cache), "--map-assets", "cdn", "--out", str(out)]


def assert_complete(out: Path) -> None:
    """``out`` holds one whole plan: every file, each readable to its end."""
    files = tree(out)
    assert set(files) == PLAN_FILES
    manifest = json.loads(files["manifest.json"])
    kpis = json.loads(files["kpis.json"])
    assert manifest["plan"]["p"] == 10 and len(kpis["hubs"]) == 11
    for name in ("maps/plan.html", "maps/baseline.html"):
        assert files[name].rstrip().endswith(b"</html>"), name
    for name in ("plots/delivery_times.png", "plots/minutes_saved_by_township.png"):
        assert files[name].startswith(b"\x89PNG") and files[name].endswith(b"IEND\xaeB`\x82")
    assert len(gpd.read_file(out / "lastmile.gpkg", layer="routes")) == len(
        pd.read_csv(out / "routes.csv")
    )


def test_output_folder_is_a_file(
    small_cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    out.write_text("my notes", encoding="utf-8")
    code, _, err = cli(capsys, *plan_args(small_cache, out))  # fails before the run
    assert_error(code, err, 2, f"output folder {out} is a file")
    assert out.read_text(encoding="utf-8") == "my notes"


def test_output_folder_with_other_files_is_not_touched(
    small_cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "thesis"
    out.mkdir()
    (out / "chapter1.md").write_text("draft", encoding="utf-8")
    code, _, err = cli(capsys, *plan_args(small_cache, out))
    assert_error(code, err, 2, "not a lastmile output", "new or empty folder")
    assert tree(out) == {"chapter1.md": b"draft"}


def test_output_folder_is_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "manifest.json").write_text("{}", encoding="utf-8")  # even a previous plan
    code, _, err = cli(capsys, "plan", "--network", "synthetic", "--out", ".")
    assert_error(code, err, 2, "is the current folder or holds it", "give a sub-folder")
    assert tree(tmp_path) == {"manifest.json": b"{}"}


def test_output_folder_is_a_file_in_a_real_process(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.write_text("x", encoding="utf-8")
    r = run("plan", "--network", "synthetic", "--out", str(out), timeout=60)
    assert_error(r.returncode, r.stderr, 2, "is a file")


def test_output_folder_holding_a_previous_plan_is_replaced_whole(
    previous: tuple[Path, dict[str, bytes]],
    small_cache: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out, before = previous
    # a file an older run wrote (listed in the folder's index), no longer written
    (out / "maps" / "stale.html").write_text("from an older run", encoding="utf-8")
    with open(out / ".lastmile-files", "a", encoding="utf-8") as index:
        index.write("maps/stale.html\n")
    code, _, err = cli(capsys, *plan_args(small_cache, out))
    assert code == 0, err
    after = tree(out)
    assert set(after) == PLAN_FILES  # nothing stale left beside the new plan
    assert after["kpis.json"] == before["kpis.json"]
    no_debris(out.parent)


def test_an_empty_folder_of_the_user_in_a_previous_output_is_refused(tmp_path: Path) -> None:
    """bb20 D7: an empty folder the user made in a previous output folder was deleted with it
    (one holding a file was refused)."""
    from lastmile.errors import OutputError
    from lastmile.io import atomic_dir

    out = tmp_path / "out"
    with atomic_dir(out) as staging:
        (staging / "manifest.json").write_text("{}", encoding="utf-8")
    (out / "scratch").mkdir()
    refused = pytest.raises(OutputError, match="holds files lastmile did not write: scratch/")
    with refused, atomic_dir(out) as staging:
        (staging / "manifest.json").write_text("{}", encoding="utf-8")
    assert (out / "scratch").is_dir()
    (out / "scratch").rmdir()  # without it, the previous output is replaced as before
    with atomic_dir(out) as staging:
        (staging / "manifest.json").write_text('{"new": 1}', encoding="utf-8")
    assert sorted(p.name for p in out.iterdir()) == [".lastmile-files", "manifest.json"]
    assert (out / "manifest.json").read_text(encoding="utf-8") == '{"new": 1}'


def test_a_previous_plan_folder_with_the_users_own_files_is_refused(
    previous: tuple[Path, dict[str, bytes]],
    small_cache: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """bb18 D9: a previous plan's folder was replaced whole with the user's notes and analysis
    folder in it: both were deleted without a word."""
    out, before = previous
    (out / "my_notes.txt").write_text("my notes", encoding="utf-8")
    (out / "analysis").mkdir()
    (out / "analysis" / "fig.py").write_text("x", encoding="utf-8")
    code, _, err = cli(capsys, *plan_args(small_cache, out))
    assert_error(code, err, 2, "holds files lastmile did not write: analysis/fig.py, my_notes.txt",
                 "move them out")  # fmt: skip
    after = tree(out)
    assert after["my_notes.txt"] == b"my notes" and after["analysis/fig.py"] == b"x"
    assert after["kpis.json"] == before["kpis.json"]
    # a folder written before the list existed: judged by the names lastmile's outputs have
    (out / ".lastmile-files").unlink()
    (out / "analysis" / "fig.py").unlink()
    (out / "analysis").rmdir()
    code, _, err = cli(capsys, *plan_args(small_cache, out))
    assert_error(code, err, 2, "holds files lastmile did not write: my_notes.txt")
    (out / "my_notes.txt").unlink()
    code, _, err = cli(capsys, *plan_args(small_cache, out))
    assert code == 0, err
    assert set(tree(out)) == PLAN_FILES


def test_an_output_folder_that_cannot_be_renamed_is_refused_before_the_run(
    previous: tuple[Path, dict[str, bytes]],
    small_cache: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """bb18 D4: an existing --out that cannot be replaced (immutable, a mount point) was
    refused only after the whole run."""
    out, before = previous
    real_rename = os.rename

    def immutable(src: Any, dst: Any) -> None:
        if Path(src) == out:
            raise PermissionError(1, "Operation not permitted", str(src))
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", immutable)
    monkeypatch.setattr("lastmile.cli.prepare", lambda *a, **k: pytest.fail("the run started"))
    code, _, err = cli(capsys, *plan_args(small_cache, out))
    assert_error(code, err, 2, f"cannot write {out}")
    assert tree(out) == before


def test_read_only_output_folder(
    small_cache: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o555)
    if os.geteuid() == 0:  # root writes anyway: make the folder refuse as it would for a user
        real = tempfile.mkdtemp

        def refuse(*args: Any, **kwargs: Any) -> str:
            if Path(kwargs.get("dir", "")) == parent:
                raise PermissionError(errno.EACCES, "Permission denied")
            return str(real(*args, **kwargs))

        monkeypatch.setattr(tempfile, "mkdtemp", refuse)

    def must_not_run(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the plan ran although its output folder cannot be written")

    monkeypatch.setattr("lastmile.cli.run_plan", must_not_run)  # refused before the run
    try:
        for target in (parent / "out", parent / "deep" / "out"):  # also below a missing folder
            code, _, err = cli(capsys, *plan_args(small_cache, target))
            assert_error(code, err, 2, f"cannot write {target}", "make the folder writable")
    finally:
        parent.chmod(0o755)
    assert list(parent.iterdir()) == []


def test_output_folder_has_the_users_permissions(
    previous: tuple[Path, dict[str, bytes]],
) -> None:
    out, _ = previous
    mask = os.umask(0o022)
    os.umask(mask)
    # not the 0700 of the staging folder it was renamed from: others may read the results
    assert stat.S_IMODE(out.stat().st_mode) == 0o777 & ~mask
    assert stat.S_IMODE((out / "maps").stat().st_mode) == 0o777 & ~mask


def test_disk_full_while_writing_keeps_the_previous_plan(
    previous: tuple[Path, dict[str, bytes]],
    small_cache: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out, before = previous
    real_write_csv = lastmile_io.write_csv
    written: list[str] = []

    def disk_full(target: Path, df: Any, *options: Any) -> Path:
        if Path(target).name == "stops.csv":  # half way through the folder
            with lastmile_io.atomic_path(target) as tmp:
                tmp.write_bytes(b"vehicle_id,depot,seq")  # the part that fitted
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written.append(Path(target).name)
        return real_write_csv(target, df, *options)

    monkeypatch.setattr(report, "write_csv", disk_full)
    code, _, err = cli(capsys, *plan_args(small_cache, out))
    assert written  # some files were written before the disk filled up
    line = assert_error(code, err, 2, "No space left on device", "free some space")
    assert f"cannot write {out / 'stops.csv'}:" in line  # the file asked for, not a temporary
    assert tree(out) == before  # the previous plan, untouched
    no_debris(out.parent)


@pytest.mark.parametrize(
    "failing_rename",
    [
        "swap",  # the new folder cannot take the place of the previous one: put it back
        "move_aside",  # the previous folder cannot move (made immutable, chattr +i)
    ],
)
def test_failed_swap_puts_the_previous_plan_back(
    failing_rename: str,
    previous: tuple[Path, dict[str, bytes]],
    small_cache: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out, before = previous
    real = os.replace
    error = errno.EIO if failing_rename == "swap" else errno.EPERM

    def failing(src: Any, dst: Any) -> None:
        swap = Path(src).name.startswith(f".{out.name}.tmp-") and Path(dst) == out
        if (failing_rename == "swap" and swap) or (failing_rename != "swap" and Path(src) == out):
            raise OSError(error, os.strerror(error))
        real(src, dst)

    monkeypatch.setattr(os, "replace", failing)
    code, _, err = cli(capsys, *plan_args(small_cache, out))
    assert_error(code, err, 2, f"cannot write {out}: {os.strerror(error)}")
    assert tree(out) == before
    no_debris(out.parent)  # no staging folder, no empty hidden .old- folder


def test_an_output_folder_given_as_a_symbolic_link_is_replaced_where_it_points(
    previous: tuple[Path, dict[str, bytes]],
    small_cache: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """bb20 D9: ``--out`` a link to a previous output folder (kept on a bigger disk): the link
    was replaced by a real folder beside it, and the folder it pointed to kept the old plan."""
    out, before = previous
    disk = tmp_path / "disk"
    disk.mkdir()
    target = disk / "plan"
    os.replace(out, target)
    (target / "maps" / "stale.html").write_text("from an older run", encoding="utf-8")
    with open(target / ".lastmile-files", "a", encoding="utf-8") as index:
        index.write("maps/stale.html\n")
    link = tmp_path / "plan-link"
    link.symlink_to(target, target_is_directory=True)
    code, _, err = cli(capsys, *plan_args(small_cache, link))
    assert code == 0, err
    assert link.is_symlink() and link.resolve() == target.resolve()
    assert set(tree(target)) == PLAN_FILES  # the new plan, where the link points
    assert tree(target)["kpis.json"] == before["kpis.json"]
    no_debris(tmp_path)
    no_debris(disk)
    # a link that leads back to itself is refused before the run, and stays
    loop_a, loop_b = tmp_path / "loop-a", tmp_path / "loop-b"
    loop_a.symlink_to(loop_b)
    loop_b.symlink_to(loop_a)
    code, _, err = cli(capsys, *plan_args(small_cache, loop_a))
    assert_error(code, err, 2, f"output folder {loop_a} is a symbolic link that leads back")
    assert loop_a.is_symlink() and os.readlink(loop_a) == str(loop_b)


def test_a_previous_output_that_cannot_be_deleted_completely_is_named(
    previous: tuple[Path, dict[str, bytes]],
    small_cache: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """bb20 D3: one file of the previous output could not be deleted (chattr +i); the rest of
    that output stayed in a hidden ``.out.old-*`` folder without a word, one more each run."""
    out, _ = previous
    real_rmtree = shutil.rmtree

    def keeps_hubs_csv(path: Any, ignore_errors: bool = False, **kw: Any) -> None:
        folder = Path(path)
        if not folder.name.startswith(f".{out.name}.old-"):
            real_rmtree(path, ignore_errors=ignore_errors, **kw)
            return
        stuck = folder / "previous" / "hubs.csv"  # as an immutable file would
        for p in sorted(folder.rglob("*"), reverse=True):
            if p.is_dir() and not p.is_symlink():
                with contextlib.suppress(OSError):
                    p.rmdir()
            elif p != stuck:
                p.unlink()

    monkeypatch.setattr(shutil, "rmtree", keeps_hubs_csv)
    code, _, err = cli(capsys, *plan_args(small_cache, out))
    assert code == 0, err
    assert_complete(out)  # the new plan is whole
    (left,) = [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.old-")]
    assert [p.relative_to(left).as_posix() for p in left.rglob("*") if p.is_file()] == [
        "previous/hubs.csv"
    ]
    warned = [line for line in err.splitlines() if line.startswith("lastmile: warning:")]
    assert warned == [
        f"lastmile: warning: the previous output in {out} could not be deleted completely: what "
        f"is left of it (hubs.csv) stays in the hidden folder {left} - delete that folder (its "
        "files' permissions or attributes kept them)"
    ]


def test_disk_full_through_the_api_raises_output_error(
    plan_result: PlanResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(Path, "write_text", full)  # summary.md goes through write_text
    with pytest.raises(OutputError, match="No space left on device"):
        report.write_outputs(plan_result, tmp_path / "out", map_assets="cdn")
    assert not (tmp_path / "out").exists()
    no_debris(tmp_path)


def _plan_child(args: list[str], kill_on: str | None, log: str = os.devnull) -> None:
    """A forked ``lastmile plan``; with ``kill_on``, SIGKILLed while writing that file; its
    output goes to ``log``."""
    if kill_on is not None:
        real = lastmile_io.atomic_path

        def dying(target: Any, suffix: Any = None) -> Any:
            if Path(target).name == kill_on:
                os.kill(os.getpid(), signal.SIGKILL)
            return real(target, suffix)

        lastmile_io.atomic_path = dying
    sys.stdout = sys.stderr = open(log, "w")  # noqa: SIM115 - the child exits
    code = main(args)
    sys.stderr.flush()
    os._exit(code)


def _fork(args: list[str], kill_on: str | None = None, log: str = os.devnull) -> Any:
    proc = mp.get_context("fork").Process(target=_plan_child, args=(args, kill_on, log))
    proc.start()
    return proc


def test_run_killed_mid_write_leaves_the_previous_plan(
    previous: tuple[Path, dict[str, bytes]], small_cache: Path
) -> None:
    out, before = previous
    proc = _fork(plan_args(small_cache, out), kill_on="manifest.json")
    proc.join(120)
    assert proc.exitcode == -signal.SIGKILL
    assert tree(out) == before  # complete: the previous plan


def test_run_killed_mid_write_leaves_no_folder(fast_plan: PlanResult, small_cache: Path,
                                               tmp_path: Path) -> None:  # fmt: skip
    out = tmp_path / "fresh"
    proc = _fork(plan_args(small_cache, out), kill_on="kpis.json")
    proc.join(120)
    assert proc.exitcode == -signal.SIGKILL
    assert not out.exists()  # absent, not half-written


def test_two_plan_runs_into_the_same_folder(
    previous: tuple[Path, dict[str, bytes]], small_cache: Path
) -> None:
    out, before = previous
    logs = [out.parent / f"run{k}.log" for k in range(2)]
    procs = [_fork(plan_args(small_cache, out), log=str(log)) for log in logs]
    for p in procs:
        p.join(180)
    said = [log.read_text(encoding="utf-8") for log in logs]
    for log in logs:
        log.unlink()
    assert [p.exitcode for p in procs] == [0, 0], said
    assert_complete(out)  # one whole plan, not a mix of two half-written ones
    assert tree(out)["kpis.json"] == before["kpis.json"]
    no_debris(out.parent)


def test_the_output_folder_probe_holds_the_swap_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check before a run renames the previous output folder away and back (an immutable
    folder must fail at once). Done outside the lock of the swaps, a second run started beside
    the first (same --out) found the folder gone meanwhile, or could not rename its probe back
    after the first had swapped its output in: exit 2 in test_two_plan_runs_into_the_same_folder
    (seen once, in a loaded full suite). The probe now runs under that lock."""
    import fcntl

    target = tmp_path / "out"
    target.mkdir()
    (target / "manifest.json").write_text("{}", encoding="utf-8")
    locked_during_rename: list[bool] = []
    real_rename = os.rename

    def rename(src: Any, dst: Any) -> None:
        fd = os.open(tmp_path, os.O_RDONLY)  # another run's view of the lock
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            locked_during_rename.append(False)
        except BlockingIOError:
            locked_during_rename.append(True)
        finally:
            os.close(fd)
        real_rename(src, dst)

    monkeypatch.setattr(lastmile_io.os, "rename", rename)
    assert lastmile_io.check_output_dir(target) == target
    assert locked_during_rename == [True, True]  # away and back, both under the lock
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_validator_violations_exit_4(
    plan_result: PlanResult,
    small_cache: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    planned = plan_result.planned
    broken = replace(
        plan_result,
        planned=replace(
            planned,
            validation=replace(
                planned.validation,
                violations=(Violation("capacity", "q: leaves with 9 > capacity 8", "v1"),),
            ),
        ),
    )
    monkeypatch.setattr("lastmile.cli.run_plan", lambda *a, **k: broken)
    out = tmp_path / "out"
    code, _, err = cli(capsys, *plan_args(small_cache, out))
    assert code == 4
    assert "Traceback" not in err
    assert (
        "the independent validator found 1 violation(s), first: [capacity] vehicle v1: "
        "q: leaves with 9 > capacity 8" in err
    )
    assert_complete(out)  # the outputs are written, with the violations in them
    assert (
        json.loads((out / "kpis.json").read_text(encoding="utf-8"))["routing"]["plan"][
            "validator_ok"
        ]
        is False
    )
    assert json.loads((out / "kpis.json").read_text(encoding="utf-8"))["routing"]["plan"][
        "validator_messages"
    ] == ["[capacity] vehicle v1: q: leaves with 9 > capacity 8"]


# --------------------------------------------------------------------------- osmnx settings


def test_open_network_restores_osmnx_settings(
    outline: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A download (here failing half way) leaves osmnx's global settings as it found them."""
    import osmnx as ox

    from lastmile import network

    before = (ox.settings.cache_folder, ox.settings.use_cache, list(ox.settings.useful_tags_way))
    seen: dict[str, Any] = {}

    def failing_build(*args: Any, **kwargs: Any) -> Any:
        seen["cache_folder"] = ox.settings.cache_folder
        raise DataError("OSM download: no roads returned")

    monkeypatch.setattr(network, "overpass_reachable", lambda *a: True)
    monkeypatch.setattr(network, "build_network", failing_build)
    with pytest.raises(DataError, match="no roads returned"):
        network.open_network("osm", REGION, outline=outline, cache=tmp_path)
    assert seen["cache_folder"] == str(tmp_path / "osmnx-http")  # used during the download
    after = (ox.settings.cache_folder, ox.settings.use_cache, list(ox.settings.useful_tags_way))
    assert after == before


def test_reading_an_osm_file_restores_the_kept_tags(test_data: Path) -> None:
    import osmnx as ox

    from lastmile.network import build_network, osmnx_settings

    before = list(ox.settings.useful_tags_way)
    net = build_network(test_data / "osm/samples/planet_10.068_48.135_10.071_48.137.osm", REGION)
    assert net.n_edges > 0 and list(ox.settings.useful_tags_way) == before
    with pytest.raises(InputError, match="no attribute"), osmnx_settings(no_such_setting=1):
        pass


def test_a_cache_directory_that_cannot_be_written_is_named_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """bb18 D5: an unwritable cache failed part-way through a run ("cannot write
    .../matrix-....pkl") or doubled the error text, without saying it was the cache nor how
    to choose another."""
    import lastmile.config

    real = tempfile.mkdtemp
    locked = tmp_path / "locked-cache"

    def refuse(*args: Any, **kwargs: Any) -> str:
        if Path(kwargs.get("dir", "")) == locked:
            raise PermissionError(1, "Operation not permitted")
        return real(*args, **kwargs)

    monkeypatch.setattr(lastmile.config.tempfile, "mkdtemp", refuse)
    code, _, err = cli(capsys, "network", "--network", "synthetic", "--cache-dir", str(locked))
    assert_error(code, err, 2, f"cache directory {locked} cannot be written: Operation not "
                 "permitted", "--cache-dir DIR or set LASTMILE_CACHE_DIR")  # fmt: skip
    # bb18 (re-test): a read-only cache that already holds what a run needs still serves; a
    # file it then cannot take is named as the cache's
    (locked / "network-x.npz").write_bytes(b"x")
    assert lastmile.config.cache_dir(locked) == locked
    from lastmile.cli import _in_the_cache, build_parser
    from lastmile.errors import OutputError

    args = build_parser().parse_args(["network", "--cache-dir", str(locked)])
    failed = OutputError(f"cannot write {locked / 'matrix-1.npz'}: Permission denied", "x")
    told = _in_the_cache(failed, args)
    assert "(in the cache directory, which cannot be written)" in str(told)
    assert "--cache-dir DIR or set LASTMILE_CACHE_DIR" in str(told)
    elsewhere = OutputError(f"cannot write {tmp_path / 'out' / 'a.csv'}: Permission denied", "x")
    assert _in_the_cache(elsewhere, args) is elsewhere
    under_a_file = tmp_path / "file"
    under_a_file.write_text("x", encoding="utf-8")
    code, _, err = cli(capsys, "network", "--cache-dir", str(under_a_file / "cache"))
    assert_error(code, err, 2, f"cache directory {under_a_file / 'cache'} cannot be written: "
                 "Not a directory")  # fmt: skip
    assert "[Errno" not in err

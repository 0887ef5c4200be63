"""Folium plan maps: layers, labels, input checks, size on a county-sized case, and a real
headless-Chromium load with zero JavaScript errors (offline, assets inlined)."""

from __future__ import annotations

import itertools
import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from lastmile.errors import DataError, InputError
from lastmile.maps import (
    MAP_ASSETS,
    OFFLINE_NOTICE,
    compare_map,
    fetch_map_assets,
    map_assets_dir,
    missing_map_assets,
    plan_map,
    resolve_map_assets,
    save_map,
)

SYNTHETIC = "synthetic stand-in (NOT real OpenStreetMap data), seed 331123"
OSM = "OpenStreetMap extract suichang.osm.pbf (© OpenStreetMap contributors, ODbL)"
REPO = Path(__file__).resolve().parents[1]
SCREENSHOTS = REPO / "maps" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


@dataclass(frozen=True)
class Case:
    """The six frames plan_map takes."""

    townships: gpd.GeoDataFrame
    villages: gpd.GeoDataFrame
    hubs: gpd.GeoDataFrame
    routes: gpd.GeoDataFrame
    stops: gpd.GeoDataFrame
    unassigned: gpd.GeoDataFrame

    def frames(self) -> dict[str, gpd.GeoDataFrame]:
        return {
            "townships": self.townships, "villages": self.villages, "hubs": self.hubs,
            "routes": self.routes, "stops": self.stops, "unassigned": self.unassigned,
        }  # fmt: skip


def make_case(
    *,
    n_townships: int = 3,
    n_villages: int = 10,
    n_hubs: int = 3,
    routes_per_scenario: int = 2,
    stops_per_route: int = 3,
    vertices_per_route: int = 20,
    boundary_vertices: int = 4,
    minutes_saved: bool = True,
    seed: int = 7,
) -> Case:
    """Synthetic frames shaped like plan.py's: township squares near 119.2E 28.5N."""
    rng = np.random.default_rng(seed)
    cols = int(np.ceil(np.sqrt(n_townships)))
    size = 0.05
    squares = []
    for k in range(n_townships):
        x0, y0 = 119.2 + (k % cols) * size, 28.5 + (k // cols) * size
        t = np.linspace(0, 4, 4 * max(boundary_vertices // 4, 1), endpoint=False)
        # walk the square's edge (densified, slightly wiggly like a real boundary)
        edge = np.column_stack([np.clip(t, 0, 1) - np.clip(t - 2, 0, 1),
                                np.clip(t - 1, 0, 1) - np.clip(t - 3, 0, 1)])  # fmt: skip
        wiggle = rng.normal(0, 2e-5, edge.shape) if boundary_vertices > 4 else 0.0
        squares.append(shapely.Polygon(np.array([x0, y0]) + edge * size + wiggle))
    names = ["妙高街道", "云峰街道", "北界镇", "金竹镇", "大柘镇", "石练镇", "王村口镇"]
    townships = gpd.GeoDataFrame({
        "code": [f"3308230{k:02d}" for k in range(n_townships)],
        "name": [names[k % len(names)] + (str(k) if k >= len(names) else "")
                 for k in range(n_townships)],
        "pinyin": [f"Township{k}" for k in range(n_townships)],
        "kind": ["town"] * n_townships,
    }, geometry=squares, crs="EPSG:4326")  # fmt: skip
    if minutes_saved:
        townships["minutes_saved"] = np.round(rng.uniform(0, 40, n_townships), 1)
        townships["mean_min_before"] = np.round(rng.uniform(60, 120, n_townships), 1)
        townships["mean_min_after"] = townships["mean_min_before"] - townships["minutes_saved"]

    which = rng.integers(0, n_townships, n_villages)
    xy = np.array([[squares[w].bounds[0] + rng.uniform(0.005, size - 0.005),
                    squares[w].bounds[1] + rng.uniform(0.005, size - 0.005)]
                   for w in which])  # fmt: skip
    hub_xy = np.array([squares[k % n_townships].centroid.coords[0] for k in range(n_hubs)])
    hubs = gpd.GeoDataFrame({
        "id": [f"H{k}" for k in range(n_hubs)],
        "name": [f"枢纽{k}" for k in range(n_hubs)],
        "township": [townships["code"].iloc[k % n_townships] for k in range(n_hubs)],
        "role": ["county centre"] + ["new hub"] * (n_hubs - 1),
        "lon": hub_xy[:, 0], "lat": hub_xy[:, 1],
    }, geometry=gpd.points_from_xy(hub_xy[:, 0], hub_xy[:, 1]), crs="EPSG:4326")  # fmt: skip
    nearest = np.argmin(((xy[:, None, :] - hub_xy[None, :, :]) ** 2).sum(axis=2), axis=1)
    villages = gpd.GeoDataFrame({
        "id": [f"V{i:03d}" for i in range(n_villages)],
        "name": [f"村{i}" for i in range(n_villages)],
        "population": rng.integers(50, 3000, n_villages),
        "township": townships["code"].to_numpy()[which],
        "lon": xy[:, 0], "lat": xy[:, 1],
        "facility": [f"H{k}" for k in nearest],
        "minutes_before": np.round(rng.uniform(40, 150, n_villages), 1),
        "minutes_after": np.round(rng.uniform(20, 90, n_villages), 1),
    }, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs="EPSG:4326")  # fmt: skip

    route_rows: list[dict[str, Any]] = []
    stop_rows: list[dict[str, Any]] = []
    for scenario in ("baseline", "plan"):
        for r in range(routes_per_scenario):
            depot = 0 if scenario == "baseline" else r % n_hubs
            vid = f"{scenario[0].upper()}{r:02d}"
            chosen = rng.choice(n_villages, size=stops_per_route, replace=False)
            anchors = np.vstack([hub_xy[depot], xy[chosen], hub_xy[depot]])
            # a road-like polyline through the stops: interpolate and jitter
            pts = [anchors[0]]
            per_leg = max(vertices_per_route // (len(anchors) - 1), 1)
            for a, b in itertools.pairwise(anchors):
                for f in np.linspace(0, 1, per_leg + 1)[1:]:
                    pts.append(a + (b - a) * f + (rng.normal(0, 3e-4, 2) if f < 1 else 0))
            route_rows.append({
                "scenario": scenario, "vehicle_id": vid,
                "vehicle_type": "cold van" if r % 2 == 0 else "truck", "depot": f"H{depot}",
                "n_stops": stops_per_route, "km": float(rng.uniform(20, 120)),
                "hours": float(rng.uniform(1, 6)), "geometry": shapely.LineString(pts),
            })  # fmt: skip
            for s, v in enumerate(chosen, start=1):
                violated = scenario == "plan" and r == 0 and s == 1
                stop_rows.append({
                    "scenario": scenario, "vehicle_id": vid, "seq": s, "order_id": f"{vid}-O{s}",
                    "village": villages["name"].iloc[v],
                    "kind": "delivery" if s % 2 else "pickup",
                    "product_class": "chilled" if s % 2 else "ambient",
                    "arrival": f"{8 + s:02d}:{(7 * s) % 60:02d}",
                    "in_vehicle_min": 150.0 if violated else float(30 * s),
                    "limit_min": 120.0 if s % 2 else float("nan"),
                    "cold_chain_ok": not violated,
                    "geometry": shapely.Point(xy[v]),
                })  # fmt: skip
    routes = gpd.GeoDataFrame(route_rows, geometry="geometry", crs="EPSG:4326")
    stops = gpd.GeoDataFrame(stop_rows, geometry="geometry", crs="EPSG:4326")
    unassigned = gpd.GeoDataFrame({
        "scenario": ["plan"], "order_id": ["X-1"],
        "reason": ["cold-chain limit 45 min unreachable from any hub"],
    }, geometry=[shapely.Point(xy[0])], crs="EPSG:4326")  # fmt: skip
    return Case(townships, villages, hubs, routes, stops, unassigned)


def overlay_names(m: folium.Map) -> list[str]:
    """Names of the layers that appear as overlays in the layer control."""
    return [
        child.layer_name
        for child in m._children.values()
        if isinstance(child, folium.map.Layer) and child.overlay and child.control
    ]


def expected_overlays(case: Case, scenario: str) -> int:
    depots = int(case.routes.loc[case.routes["scenario"] == scenario, "depot"].nunique())
    catchments = 1 if "facility" in case.villages.columns else 0
    return 1 + catchments + 1 + 1 + depots + 1  # townships, villages, hubs, depots, unassigned


@pytest.fixture(scope="module")
def small() -> Case:
    return make_case()


@pytest.fixture(scope="module")
def county() -> Case:
    """County-sized: 20 townships (densified boundaries), 400 villages, 10 hubs, 40 routes per
    scenario with ~100 vertices each, 10 stops per route."""
    return make_case(n_townships=20, n_villages=400, n_hubs=10, routes_per_scenario=40,
                     stops_per_route=10, vertices_per_route=100, boundary_vertices=2000,
                     seed=11)  # fmt: skip


@pytest.fixture(scope="session")
def map_assets() -> Path:
    """Local Leaflet & co. for offline maps, fetched with npm on first use."""
    root = map_assets_dir()
    if missing_map_assets(root):
        if shutil.which("npm") is None:
            pytest.fail(f"map assets missing in {root} and npm is not installed: install npm "
                        "or run lastmile.maps.fetch_map_assets() where npm exists")  # fmt: skip
        fetch_map_assets(root)
    assert missing_map_assets(root) == []
    return root


# ------------------------------------------------------------------------------------------
# HTML content


def test_layers_legend_and_labels(small: Case) -> None:
    m = plan_map(**small.frames(), title="Suichang hubs", source_label=SYNTHETIC)
    names = overlay_names(m)
    assert len(names) == expected_overlays(small, "plan")
    depots = sorted(small.routes.loc[small.routes["scenario"] == "plan", "depot"].unique())
    assert [n for n in names if n.startswith("Routes from")] == [
        f"Routes from 枢纽{d[1:]} ({d}): 1 vehicle(s)" for d in depots
    ]
    assert {"Townships: minutes saved", "Hub catchments", "Villages (10)", "Hubs (3)",
            "Unassigned orders (1)"} <= set(names)  # fmt: skip
    page = m.get_root().render()
    assert "Minutes saved per delivery" in page  # the colormap legend caption
    assert SYNTHETIC in page
    assert "Suichang hubs — synthetic stand-in" in page
    assert "SYNTHETIC STAND-IN — not real data" in page
    assert "<title>Suichang hubs — synthetic stand-in</title>" in page
    # one polyline per plan route, tooltips naming vehicle and stops; the one violated stop
    assert page.count("L.polyline(") == 2
    assert "P00 (cold van): 3 stops" in page and "P01 (truck): 3 stops" in page
    assert page.count('"cold_chain": "VIOLATED"') == 1
    assert "cold-chain limit 45 min unreachable from any hub" in page
    assert "1 cold-chain violation(s), 1 unassigned order(s)" in page
    assert "control_scale" not in page or "L.control.scale" in page
    assert "L.control.scale" in page and "L.control.fullscreen" in page
    assert "OpenStreetMap\\u003c/a\\u003e contributors" in page  # tile attribution


def test_compare_map_baseline_left_plan_right(small: Case) -> None:
    baseline_villages = small.villages.assign(facility="H0")
    dual = compare_map(**small.frames(), title="Before and after", source_label=SYNTHETIC,
                       baseline_villages=baseline_villages)  # fmt: skip
    left, right = overlay_names(dual.m1), overlay_names(dual.m2)
    assert [n for n in left if n.startswith("Routes")] == ["Routes from 枢纽0 (H0): 2 vehicle(s)"]
    assert len(right) == expected_overlays(small, "plan")
    assert "Unassigned orders (0)" in left and "Unassigned orders (1)" in right
    page = dual.get_root().render()
    assert "left: baseline: 2 routes" in page and "right: plan: 2 routes" in page
    assert "Before and after — synthetic stand-in" in page and SYNTHETIC in page
    assert ".sync(" in page
    with pytest.raises(InputError, match=r"compare_map: scenario 'future' not in routes"):
        compare_map(**small.frames(), title="t", source_label=OSM, scenarios=("baseline", "future"))


def test_real_data_label_is_not_flagged_synthetic(small: Case) -> None:
    m = plan_map(**small.frames(), title="Suichang hubs", source_label=OSM)
    page = m.get_root().render()
    assert "synthetic" not in page.lower()
    assert "suichang.osm.pbf (© OpenStreetMap contributors, ODbL)" in page


def test_baseline_scenario_draws_baseline_routes_only(small: Case) -> None:
    m = plan_map(**small.frames(), title="t", source_label=OSM, scenario="baseline")
    names = overlay_names(m)
    assert [n for n in names if n.startswith("Routes")] == ["Routes from 枢纽0 (H0): 2 vehicle(s)"]
    assert "Unassigned orders (0)" in names
    page = m.get_root().render()
    assert "B00 (cold van)" in page and "P00 (cold van)" not in page
    assert '"cold_chain": "VIOLATED"' not in page


def test_plain_outlines_without_study_columns() -> None:
    case = make_case(minutes_saved=False)
    villages = case.villages.drop(columns=["facility", "minutes_before", "minutes_after"])
    frames = case.frames() | {"villages": villages}
    m = plan_map(**frames, title="t", source_label=OSM)
    names = overlay_names(m)
    assert "Townships" in names and "Hub catchments" not in names
    assert len(names) == expected_overlays(Case(**frames), "plan")
    page = m.get_root().render()
    assert "Minutes saved per delivery" not in page and "d3.min.js" not in page


def test_unserved_villages_and_no_routes(small: Case) -> None:
    villages = small.villages.copy()
    villages.loc[villages.index[:3], "facility"] = None
    plan_only = {
        "routes": small.routes[small.routes["scenario"] == "plan"].iloc[:0],
        "stops": small.stops.iloc[:0],
    }
    m = plan_map(**_with(small, villages=villages, **plan_only), title="t", source_label=OSM)
    assert overlay_names(m) == ["Townships: minutes saved", "Hub catchments", "Villages (10)",
                                "Hubs (3)", "Unassigned orders (1)"]  # fmt: skip
    page = m.get_root().render()
    assert "plan: 0 routes, 0 km, 0 cold-chain violation(s), 1 unassigned order(s)" in page
    fast = folium.plugins.FastMarkerCluster
    (cluster,) = [c for c in m._children.values() if isinstance(c, fast)]
    popups = [row[4] for row in cluster.data]
    assert sum("Served by</th><td>—</td>" in p for p in popups) == 3
    assert sum("Served by</th><td>枢纽" in p for p in popups) == 7
    catchments = next(c for c in m._children.values()
                      if isinstance(c, folium.FeatureGroup) and c.layer_name == "Hub catchments")
    geojson = next(c for c in catchments._children.values() if isinstance(c, folium.GeoJson))
    assert sum(f["properties"]["villages"] for f in geojson.data["features"]) == 7


def test_geometry_is_simplified_and_rounded(county: Case) -> None:
    m = plan_map(**county.frames(), title="County", source_label=SYNTHETIC)
    page = m.get_root().render()
    assert not re.search(r"119\.\d{6,}|\[28\.\d{6,}, 119", page)  # at most 5 decimals
    # the 2000-vertex wiggly boundaries collapse to a handful of vertices each
    group = next(c for c in m._children.values()
                 if isinstance(c, folium.FeatureGroup) and c.layer_name.startswith("Townships"))
    geojson = next(c for c in group._children.values() if isinstance(c, folium.GeoJson))
    rings = [f["geometry"]["coordinates"][0] for f in geojson.data["features"]]
    assert len(rings) == 20
    assert all(5 <= len(ring) <= 60 for ring in rings), [len(r) for r in rings]
    assert all(len(r.exterior.coords) > 1900 for r in county.townships.geometry)


def test_county_sized_map_is_well_under_5_mb(county: Case, tmp_path: Path,
                                             map_assets: Path) -> None:  # fmt: skip
    m = plan_map(**county.frames(), title="County", source_label=SYNTHETIC)
    cdn = save_map(m, tmp_path / "cdn.html")
    inline = save_map(m, tmp_path / "inline.html", assets="inline", assets_dir=map_assets)
    assert cdn.stat().st_size < 5_000_000
    assert inline.stat().st_size < 5_000_000
    assert len(overlay_names(m)) == expected_overlays(county, "plan")


# ------------------------------------------------------------------------------------------
# saving and assets


def test_save_map_cdn_links_and_inline_embeds(small: Case, tmp_path: Path,
                                              map_assets: Path) -> None:  # fmt: skip
    m = plan_map(**small.frames(), title="t", source_label=SYNTHETIC)
    cdn = save_map(m, tmp_path / "out" / "cdn.html", assets="cdn").read_text(encoding="utf-8")
    assert '<script src="https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js">' in cdn
    assert cdn.rstrip().endswith(OFFLINE_NOTICE.rstrip() + "\n</html>")
    inline = save_map(m, tmp_path / "inline.html", assets="inline", assets_dir=map_assets)
    text = inline.read_text(encoding="utf-8")
    assert "<script src=" not in text and 'rel="stylesheet"' not in text
    assert "lastmile-offline-notice" not in text
    assert "/* https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js */" in text
    assert "data:font/woff2;base64," in text  # Font Awesome icons embedded
    assert "data:image/png;base64," in text  # Leaflet / awesome-markers images embedded
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp left


def test_inline_without_local_assets_is_a_clear_error(small: Case, tmp_path: Path) -> None:
    m = plan_map(**small.frames(), title="t", source_label=SYNTHETIC)
    with pytest.raises(InputError, match=r"local map assets missing in .*leaflet@1\.9\.3"):
        save_map(m, tmp_path / "x.html", assets="inline", assets_dir=tmp_path / "empty")
    assert not (tmp_path / "x.html").exists()
    with pytest.raises(InputError, match="unknown map assets mode 'offline'"):
        save_map(m, tmp_path / "x.html", assets="offline")  # type: ignore[arg-type]


def test_inline_refuses_unknown_external_files(small: Case, map_assets: Path) -> None:
    from lastmile.maps import inline_map_assets

    page = '<script src="https://example.org/other.js"></script>'
    with pytest.raises(InputError, match=r"cannot inline: https://example\.org/other\.js"):
        inline_map_assets(page, map_assets)


def test_fetch_without_npm_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="`no-such-npm` is not installed"):
        fetch_map_assets(tmp_path / "assets", npm="no-such-npm")


def test_asset_manifest_covers_what_folium_links(small: Case) -> None:
    m = plan_map(**small.frames(), title="t", source_label=SYNTHETIC)
    dual = compare_map(**small.frames(), title="t", source_label=SYNTHETIC)
    page = m.get_root().render() + dual.get_root().render()
    linked = set(re.findall(r'<script src="(https?://[^"]+)"', page))
    linked |= set(re.findall(r'<link rel="stylesheet" href="(https?://[^"]+)"', page))
    known = {a.url for a in MAP_ASSETS}
    assert len(linked & known) == len(MAP_ASSETS)  # every manifest entry is used by the map


# ------------------------------------------------------------------------------------------
# bad input


def _with(case: Case, **changes: Any) -> dict[str, Any]:
    return case.frames() | changes


def test_bad_inputs_raise_clear_errors(small: Case) -> None:
    kw: dict[str, Any] = {"title": "t", "source_label": OSM}
    with pytest.raises(InputError, match=r"villages lacks column.*population"):
        plan_map(**_with(small, villages=small.villages.drop(columns="population")), **kw)
    with pytest.raises(InputError, match="hubs must be a GeoDataFrame, got DataFrame"):
        plan_map(**_with(small, hubs=pd.DataFrame(small.hubs.drop(columns="geometry"))), **kw)
    with pytest.raises(DataError, match="routes has no CRS"):
        plan_map(**_with(small, routes=small.routes.set_crs(None, allow_override=True)), **kw)
    with pytest.raises(InputError, match="townships has Point geometries"):
        bad = small.townships.set_geometry(small.townships.representative_point())
        plan_map(**_with(small, townships=bad), **kw)
    with pytest.raises(InputError, match=r"scenario 'future' not in routes.*baseline, plan"):
        plan_map(**small.frames(), scenario="future", **kw)
    with pytest.raises(InputError, match=r"vehicle.*P99 that have no route"):
        stops = small.stops.copy()
        stops.loc[stops.index[-1], "vehicle_id"] = "P99"
        plan_map(**_with(small, stops=stops), **kw)
    with pytest.raises(InputError, match=r"villages served by unknown hub.*H42"):
        villages = small.villages.copy()
        villages.loc[villages.index[0], "facility"] = "H42"
        plan_map(**_with(small, villages=villages), **kw)
    with pytest.raises(InputError, match=r"unknown depot.*H42"):
        routes = small.routes.copy()
        routes.loc[routes.index[-1], "depot"] = "H42"
        plan_map(**_with(small, routes=routes), **kw)
    with pytest.raises(InputError, match=r"unknown role.*warehouse"):
        hubs = small.hubs.copy()
        hubs.loc[hubs.index[1], "role"] = "warehouse"
        plan_map(**_with(small, hubs=hubs), **kw)
    with pytest.raises(DataError, match="townships is empty"):
        plan_map(**_with(small, townships=small.townships.iloc[:0]), **kw)
    with pytest.raises(DataError, match=r"stops row .* has no geometry"):
        stops = small.stops.copy()
        stops.loc[stops.index[0], "geometry"] = None
        plan_map(**_with(small, stops=stops), **kw)


def test_projected_input_is_reprojected(small: Case) -> None:
    frames = small.frames()
    frames["villages"] = small.villages.to_crs(32650)
    page = plan_map(**frames, title="t", source_label=OSM).get_root().render()
    lat, lon = float(small.villages["lat"].iloc[0]), float(small.villages["lon"].iloc[0])
    assert f"[{round(lat, 5)}, {round(lon, 5)}," in page


# ------------------------------------------------------------------------------------------
# real browser

_ALLOWED_NETWORK_HOSTS = ("tile.openstreetmap.org",)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    webdriver = pytest.importorskip("selenium.webdriver")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--disable-quic", "--window-size=1280,900",
                f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):  # fmt: skip
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options,
                              service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def _js_errors(driver: Any) -> list[str]:
    """SEVERE browser-log entries that are not failed tile downloads."""
    errors = []
    for entry in driver.get_log("browser"):
        if entry["level"] != "SEVERE":
            continue
        msg = entry["message"]
        if (entry.get("source") == "network"
                and any(f"://{h}" in msg or f".{h}" in msg for h in _ALLOWED_NETWORK_HOSTS)):
            continue  # tiles cannot load offline; that is not a JavaScript error
        errors.append(msg)
    return errors


_MARKERS = ".awesome-marker.leaflet-interactive"
_STATE_JS = """
const maps = Object.keys(window).filter(k => k.startsWith('map_') && window[k] instanceof L.Map);
const m = window[maps[0]];
return {
  leaflet: L.version, maps: maps.length, zoom: m.getZoom(),
  overlays: Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label'))
    .map(e => e.textContent.trim()),
  interactive: document.querySelectorAll('path.leaflet-interactive').length,
  markers: document.querySelectorAll('MARKERS').length,
  legend: document.querySelectorAll('.legend').length,
  attribution: Array.from(document.querySelectorAll('.leaflet-control-attribution'))
    .map(e => e.textContent).join(' | '),
  title: document.getElementById('lastmile-title').textContent,
  scale: document.querySelectorAll('.leaflet-control-scale').length,
  fullscreen: document.querySelectorAll('.leaflet-control-zoom-fullscreen').length,
};
""".replace("MARKERS", _MARKERS)


def _open(driver: Any, path: Path, markers: int) -> dict[str, Any]:
    """Open a map file, wait until Leaflet has drawn it (zoom animation over), read its state."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get_log("browser")  # drop entries of earlier pages
    driver.get(path.resolve().as_uri())
    try:
        WebDriverWait(driver, 30).until(lambda d: d.execute_script(
            "return typeof L !== 'undefined' && "
            "document.querySelectorAll('.leaflet-control-layers-overlays label').length > 0 && "
            "document.querySelector('.leaflet-zoom-anim') === null && "
            f"document.querySelectorAll('{_MARKERS}').length >= {markers}"))
    except TimeoutException:
        pytest.fail(f"Leaflet map did not come up in {path.name}; browser log: "
                    f"{json.dumps(driver.get_log('browser'), indent=1)}")
    state: dict[str, Any] = driver.execute_script(_STATE_JS)
    return state


@pytest.mark.browser
@pytest.mark.parametrize("which", ["small", "county", "baseline", "compare"])
def test_map_loads_in_headless_chromium_without_js_errors(
    which: str, small: Case, county: Case, browser: Any, map_assets: Path, tmp_path: Path
) -> None:
    case = county if which == "county" else small
    scenario = "baseline" if which == "baseline" else "plan"
    label = OSM if which == "baseline" else SYNTHETIC
    n_maps = 2 if which == "compare" else 1
    n_markers = len(case.hubs) + int((case.unassigned["scenario"] == scenario).sum())
    page_root: folium.Map | folium.plugins.DualMap
    if which == "compare":
        dual = compare_map(**case.frames(), title="Suichang before/after", source_label=label)
        maps, page_root = [dual.m1, dual.m2], dual
        n_markers = 2 * len(case.hubs) + len(case.unassigned)
    else:
        m = plan_map(**case.frames(), title=f"Suichang test map ({which})", source_label=label,
                     scenario=scenario)  # fmt: skip
        maps, page_root = [m], m
    path = save_map(page_root, tmp_path / f"{which}.html", assets="inline", assets_dir=map_assets)
    state = _open(browser, path, n_markers)
    errors = _js_errors(browser)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / f"test_map_{which}.png"))
    assert errors == [], json.dumps(errors, indent=1, ensure_ascii=False)
    assert state["leaflet"] == "1.9.3" and state["maps"] == n_maps
    assert 9 <= state["zoom"] <= 15  # fitted to the county, not the default world view
    assert state["overlays"] == [name for mm in maps for name in overlay_names(mm)]
    assert len(state["overlays"]) == sum(
        expected_overlays(case, s) for s in (["baseline", "plan"] if n_maps == 2 else [scenario]))
    shown = ["baseline", "plan"] if n_maps == 2 else [scenario]
    n_routes = int(case.routes["scenario"].isin(shown).sum())
    n_stops = int(case.stops["scenario"].isin(shown).sum())
    # SVG paths: township polygons, catchment lines, routes, stops (villages may be clustered)
    assert state["interactive"] >= n_maps * len(case.townships) + n_routes + n_stops
    assert state["markers"] == n_markers  # hubs and unassigned orders
    assert state["legend"] == 1  # compare_map: on the right map only
    assert state["attribution"].count("© OpenStreetMap contributors") == n_maps
    assert ("SYNTHETIC STAND-IN" in state["title"]) == (label == SYNTHETIC)
    assert state["scale"] == n_maps and state["fullscreen"] == (0 if n_maps == 2 else 1)


_POPUP_JS = """
const k = Object.keys(window).find(k => k.startsWith('map_') && window[k] instanceof L.Map);
const m = window[k];
let stop = null, route = null;
m.eachLayer(l => {
  if (l.feature && l.feature.properties.cold_chain === 'VIOLATED') stop = l;
  if (l instanceof L.Polyline && !(l instanceof L.Polygon) && l.getTooltip() && !route) route = l;
});
stop.fire('click', {latlng: stop.getLatLng()}, true);  // as a user's click on the stop
route.openTooltip();
const text = e => e.textContent.replace(/\\s+/g, ' ').trim();
return {
  popup: text(document.querySelector('.leaflet-popup-content')),
  tooltips: Array.from(document.querySelectorAll('.leaflet-tooltip')).map(text),
};
"""


@pytest.mark.browser
def test_stop_popup_and_route_tooltip_in_browser(
    small: Case, browser: Any, map_assets: Path, tmp_path: Path
) -> None:
    m = plan_map(**small.frames(), title="t", source_label=SYNTHETIC)
    path = save_map(m, tmp_path / "popups.html", assets="inline", assets_dir=map_assets)
    _open(browser, path, len(small.hubs) + 1)
    shown = browser.execute_script(_POPUP_JS)
    assert _js_errors(browser) == []
    bad = small.stops[~small.stops["cold_chain_ok"]].iloc[0]
    assert shown["popup"] == (
        f"Vehicle P00 Stop 1 Village {bad['village']} Order P00-O1 Kind delivery Product chilled "
        f"Arrival {bad['arrival']} Time in vehicle 150 min Limit 120 min Cold chain VIOLATED"
    )
    route = small.routes[small.routes["vehicle_id"] == "P00"].iloc[0]
    assert f"P00 (cold van): 3 stops, {route['km']:.1f} km, {route['hours']:.2f} h" in (
        shown["tooltips"])


def test_auto_mode_inlines_when_local_assets_exist(map_assets: Path, tmp_path: Path) -> None:
    assert resolve_map_assets("auto", map_assets) == "inline"
    assert resolve_map_assets("auto", tmp_path / "empty") == "cdn"
    assert resolve_map_assets("cdn", map_assets) == "cdn"
    with pytest.raises(InputError, match="unknown map assets mode 'offline'"):
        resolve_map_assets("offline")


@pytest.mark.browser
def test_cdn_map_offline_shows_a_notice_not_a_blank_page(
    small: Case, browser: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    m = plan_map(**small.frames(), title="t", source_label=SYNTHETIC)
    path = save_map(m, tmp_path / "cdn.html", assets="auto", assets_dir=tmp_path / "no-assets")
    assert 'src="https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js"' in path.read_text()
    browser.get(path.resolve().as_uri())
    WebDriverWait(browser, 60).until(lambda d: d.execute_script(
        "return document.readyState === 'complete'"))  # fmt: skip
    state = browser.execute_script(
        "const n = document.getElementById('lastmile-offline-notice');"
        "return {leaflet: typeof L !== 'undefined', notice: n ? n.textContent : null,"
        " drawn: document.querySelectorAll('path.leaflet-interactive').length};"
    )
    if state["leaflet"]:  # a machine with a connection: the CDN map draws its data
        assert state["drawn"] > 0 and state["notice"] is None
    else:  # offline (as on the build machines): a visible notice says why and what to do
        assert state["notice"].startswith("This map could not load its map library (Leaflet)")
        assert "lastmile plan --map-assets inline" in state["notice"]


_TRUNK_JS = """
const k = Object.keys(window).find(k => k.startsWith('map_') && window[k] instanceof L.Map);
const m = window[k];
let trunk = null, hub = null;
m.eachLayer(l => {
  if (l instanceof L.Polyline && l.options.dashArray === '12 8') trunk = l;
  if (l instanceof L.Marker && l.getPopup() && !hub
      && l.getTooltip() && String(l.getTooltip().getContent()).includes('New hub')) hub = l;
});
const labels = Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label'));
const checked = Object.fromEntries(labels.map(e => [e.textContent.trim(),
                                                    e.querySelector('input').checked]));
const b = L.latLngBounds(arguments[0]);
hub.openPopup();
const text = e => e.textContent.replace(/\\s+/g, ' ').trim();
return {
  trunk_colour: trunk && trunk.options.color, checked: checked,
  expanded: document.querySelectorAll('.leaflet-control-layers-expanded').length,
  county_in_view: m.getBounds().contains(b),
  hub_popup: text(document.querySelector('.leaflet-popup-content')),
};
"""


@pytest.mark.browser
def test_trunk_layer_collapsed_panel_and_catchments_off_in_browser(
    small: Case, browser: Any, map_assets: Path, tmp_path: Path
) -> None:
    hubs = small.hubs.assign(trunk_arrival=["", "07:40", "08:05"],
                             vans_leave=["07:00", "08:10", "08:35"])  # fmt: skip
    villages = small.villages.assign(lead_min_before=120.0, lead_min_after=95.0)
    h = hubs.geometry
    trunk = gpd.GeoDataFrame(
        {"run": ["morning"], "vehicle_id": ["centre/trunk/1"], "hub_names": ["枢纽1;枢纽2"],
         "departure": ["07:00"], "return": ["09:10"], "hub_arrivals": ["07:40;08:05"],
         "km": [61.2]},
        geometry=[shapely.LineString([h.iloc[0].coords[0], h.iloc[1].coords[0],
                                      h.iloc[2].coords[0], h.iloc[0].coords[0]])],
        crs="EPSG:4326")  # fmt: skip
    frames = {**small.frames(), "hubs": hubs, "villages": villages}
    m = plan_map(**frames, title="t", source_label=SYNTHETIC, trunk=trunk)
    path = save_map(m, tmp_path / "trunk.html", assets="inline", assets_dir=map_assets)
    _open(browser, path, len(small.hubs))
    x0, y0, x1, y1 = small.townships.total_bounds
    shown = browser.execute_script(_TRUNK_JS, [[y0, x0], [y1, x1]])
    assert _js_errors(browser) == []
    assert shown["trunk_colour"] == "#222222"
    assert shown["expanded"] == 0  # the layer panel starts collapsed
    assert shown["checked"]["Trunk runs (1)"] is True
    assert shown["checked"]["Hub catchments"] is False  # no spider lines until asked for
    assert shown["county_in_view"]
    assert "Rolenew hubTrunk arrives07:40Vans leave08:10" in shown["hub_popup"]
    assert "Parcel lead time, with hubs" in path.read_text(encoding="utf-8")

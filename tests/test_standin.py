"""The synthetic stand-in network: determinism, and that the ordinary osmnx loaders read it.

The file is generated once per module at a small scale (fast) and read back with the same osmnx
functions used for real OSM data.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx as ox
import pytest
import shapely
import shapely.affinity
from shapely.geometry import MultiPolygon, Point, Polygon

from lastmile.boundaries import county_outline
from lastmile.config import Region, load_region
from lastmile.errors import DataError, InputError
from lastmile.io import file_sha256
from lastmile.standin import GENERATOR, SOURCE_TAG, StandinSummary, write_standin

SCALE = 0.12
ROAD_CLASSES = {
    "trunk",
    "primary",
    "secondary",
    "tertiary",
    "unclassified",
    "residential",
    "service",
}
METRIC = "EPSG:32650"


@pytest.fixture(scope="module")
def region() -> Region:
    return load_region()


@pytest.fixture(scope="module")
def outline(region: Region, tmp_path_factory: pytest.TempPathFactory) -> Polygon | MultiPolygon:
    geom = county_outline(region, cache=tmp_path_factory.mktemp("outline")).geometry
    assert isinstance(geom, Polygon | MultiPolygon)
    return geom


@pytest.fixture(scope="module")
def standin(
    tmp_path_factory: pytest.TempPathFactory, region: Region, outline: Polygon | MultiPolygon
) -> tuple[StandinSummary, Path]:
    path = tmp_path_factory.mktemp("standin") / "suichang-standin.osm"
    return write_standin(region, outline, path, scale=SCALE), path


@pytest.fixture(scope="module")
def graph(standin: tuple[StandinSummary, Path]) -> nx.MultiDiGraph[int]:
    return ox.graph_from_xml(standin[1], simplify=True, retain_all=True)


@pytest.fixture(scope="module")
def roads(graph: nx.MultiDiGraph[int]) -> nx.MultiDiGraph[int]:
    """The drive part: edges with a highway tag (boundary member ways carry none)."""
    keep = [(u, v, k) for u, v, k, d in graph.edges(keys=True, data=True) if "highway" in d]
    return graph.edge_subgraph(keep).copy()  # type: ignore[arg-type]  # stubs: 2-tuples only


@pytest.fixture(scope="module")
def features(standin: tuple[StandinSummary, Path]) -> gpd.GeoDataFrame:
    return ox.features_from_xml(standin[1], tags={"boundary": "administrative", "place": True})


@pytest.fixture(scope="module")
def townships(features: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    rel = features.loc["relation"]
    return rel[rel["admin_level"] == "8"]


def _classes(g: nx.MultiDiGraph[int]) -> Counter[str]:
    out: Counter[str] = Counter()
    for _, _, d in g.edges(data=True):
        hw = d["highway"]
        out.update(hw if isinstance(hw, list) else [hw])
    return out


# --------------------------------------------------------------------------- determinism


def test_same_seed_gives_identical_bytes_other_seed_differs(
    standin: tuple[StandinSummary, Path],
    region: Region,
    outline: Polygon | MultiPolygon,
    tmp_path: Path,
) -> None:
    summary, path = standin
    again = write_standin(
        region, outline, tmp_path / "again.osm", seed=region.standin.seed, scale=SCALE
    )
    assert (tmp_path / "again.osm").read_bytes() == path.read_bytes()
    assert again.sha256 == summary.sha256 == file_sha256(path)
    assert summary.seed == region.standin.seed
    other = write_standin(region, outline, tmp_path / "other.osm", seed=7, scale=SCALE)
    assert other.sha256 != summary.sha256
    assert (
        other.seats[region.county_centre.township] == summary.seats[region.county_centre.township]
    )


def test_scale_changes_size_not_structure(
    standin: tuple[StandinSummary, Path],
    region: Region,
    outline: Polygon | MultiPolygon,
    tmp_path: Path,
) -> None:
    small = write_standin(region, outline, tmp_path / "small.osm", scale=0.05)
    big = standin[0]
    assert small.townships == big.townships == 20
    assert len(region.townships) <= small.villages < big.villages
    assert small.nodes < big.nodes
    assert set(small.road_km) == set(big.road_km) == ROAD_CLASSES


# --------------------------------------------------------------------------- the file itself


def test_file_is_labelled_synthetic_and_summary_counts_match(
    standin: tuple[StandinSummary, Path],
) -> None:
    summary, path = standin
    root = ET.parse(path).getroot()
    assert root.tag == "osm" and root.get("version") == "0.6"
    assert root.get("generator") == GENERATOR and "NOT real OpenStreetMap" in GENERATOR
    assert root.find("bounds") is not None
    nodes, ways, rels = root.findall("node"), root.findall("way"), root.findall("relation")
    assert (len(nodes), len(ways), len(rels)) == (summary.nodes, summary.ways, summary.relations)
    assert summary.relations == 21  # 20 townships + the county
    for node in nodes[:50]:
        lat = node.get("lat")
        assert lat is not None and len(lat.split(".")[1]) == 7
    # every element with tags says where it comes from
    for el in [*nodes, *ways, *rels]:
        tags = {t.get("k"): t.get("v") for t in el.findall("tag")}
        if tags:
            assert tags.get("source") == SOURCE_TAG, el.attrib
    road_ways = [w for w in ways if any(t.get("k") == "highway" for t in w.findall("tag"))]
    assert len(road_ways) == summary.road_ways
    oneway = [w for w in road_ways if any(t.get("k") == "oneway" for t in w.findall("tag"))]
    assert len(oneway) == summary.oneway_ways > 0
    bridges = [w for w in road_ways if any(t.get("k") == "bridge" for t in w.findall("tag"))]
    assert bridges
    # boundary member ways are untagged: they are not roads
    members = {int(m.get("ref", "0")) for r in rels for m in r.findall("member")}
    for w in ways:
        if int(w.get("id", "0")) in members:
            assert not w.findall("tag")


def test_raw_node_spacing_is_osm_like(standin: tuple[StandinSummary, Path], region: Region) -> None:
    raw = ox.graph_from_xml(standin[1], simplify=False, retain_all=True)
    lengths = np.array(
        [d["length"] for _, _, d in raw.edges(data=True) if "highway" in d], dtype=float
    )
    spacing = region.standin.node_spacing_m
    assert lengths.max() <= spacing + 1.0
    assert np.median(lengths) > 0.5 * spacing


# --------------------------------------------------------------------------- roads


def test_graph_loads_with_every_highway_class(roads: nx.MultiDiGraph[int]) -> None:
    assert isinstance(roads, nx.MultiDiGraph) and len(roads) > 1000
    counts = _classes(roads)
    assert set(counts) >= ROAD_CLASSES, counts
    # maxspeed only on main roads, including a value the loader must convert from mph
    speeds = {d.get("maxspeed") for _, _, d in roads.edges(data=True) if "maxspeed" in d}
    assert "60" in speeds
    for _, _, d in roads.edges(data=True):
        if d["highway"] in ("residential", "unclassified", "service", "tertiary"):
            assert "maxspeed" not in d


def test_one_way_streets_have_no_reverse_edge(roads: nx.MultiDiGraph[int]) -> None:
    oneway = [(u, v, d) for u, v, d in roads.edges(data=True) if d.get("oneway") is True]
    assert len(oneway) >= 10
    twoway = [(u, v) for u, v, d in roads.edges(data=True) if d.get("oneway") is False]
    assert all(roads.has_edge(v, u) for u, v in twoway)
    assert sum(1 for u, v, d in oneway if not roads.has_edge(v, u)) >= 10


def test_fragments_make_the_strong_component_smaller(
    roads: nx.MultiDiGraph[int], standin: tuple[StandinSummary, Path]
) -> None:
    summary = standin[0]
    weak = sorted((len(c) for c in nx.weakly_connected_components(roads)), reverse=True)
    assert summary.fragments == 4
    assert len(weak) == 1 + summary.fragments  # one network + the fragments
    assert all(size <= 5 for size in weak[1:])
    strong = max(nx.strongly_connected_components(roads), key=len)
    assert len(strong) < weak[0]  # the one-way dead end is not strongly connected
    assert len(strong) >= 0.98 * len(roads)


def test_roads_meet_where_they_cross(roads: nx.MultiDiGraph[int]) -> None:
    """No two road edges cross without a shared node, except bridges."""
    edges = ox.graph_to_gdfs(roads, nodes=False)
    edges = edges[edges["bridge"].isna()] if "bridge" in edges else edges
    geoms = edges.geometry.to_numpy()
    left, right = shapely.STRtree(geoms).query(geoms, predicate="crosses")
    assert int((left < right).sum()) == 0


def test_main_roads_wind_like_mountain_roads(
    roads: nx.MultiDiGraph[int], standin: tuple[StandinSummary, Path], region: Region
) -> None:
    """Seat-to-seat road distance is well above the crow-flight distance."""
    seats = standin[0].seats
    centre = seats[region.county_centre.township]
    nodes = ox.graph_to_gdfs(roads, edges=False)
    ratios = []
    for code, (lon, lat) in seats.items():
        if code == region.county_centre.township:
            continue
        a = ox.distance.nearest_nodes(roads, centre[0], centre[1])
        b = ox.distance.nearest_nodes(roads, lon, lat)
        road_m = nx.shortest_path_length(roads, a, b, weight="length")
        crow_m = ox.distance.great_circle(
            nodes.loc[a, "y"], nodes.loc[a, "x"], nodes.loc[b, "y"], nodes.loc[b, "x"]
        )
        ratios.append(road_m / crow_m)
    # a road squeezed through a narrow neck of the outline may run almost straight
    assert min(ratios) >= 1.0
    assert sum(r > 1.2 for r in ratios) >= 0.8 * len(ratios)
    assert 1.3 < float(np.median(ratios)) < 2.0


# --------------------------------------------------------------------------- areas and places


def test_townships_tile_the_outline_with_registry_names(
    townships: gpd.GeoDataFrame, features: gpd.GeoDataFrame, region: Region, outline: Polygon
) -> None:
    assert len(townships) == 20
    by_code = {t.code: t for t in region.townships}
    assert set(townships["ref"]) == set(by_code)
    kinds = {"街道": "Subdistrict", "镇": "Town", "乡": "Township"}
    for _, row in townships.iterrows():
        t = by_code[row["ref"]]
        assert row["name"] == row["name:zh"] == t.name
        assert row["name:en"] == f"{t.pinyin} {kinds[t.kind]}"
        assert row["type"] == "boundary" and row.geometry.is_valid and row.geometry.area > 0
    metric = townships.to_crs(METRIC)
    outline_km2 = gpd.GeoSeries([outline], crs="EPSG:4326").to_crs(METRIC).area.iloc[0] / 1e6
    union_km2 = metric.union_all().area / 1e6
    sum_km2 = metric.area.sum() / 1e6
    assert union_km2 == pytest.approx(outline_km2, rel=0.01)
    assert sum_km2 - union_km2 < 0.001 * outline_km2  # overlaps negligible
    rel = features.loc["relation"]
    county = rel[rel["admin_level"] == "6"]
    assert list(county["ref"]) == [region.code] and list(county["name"]) == ["遂昌县"]
    assert county.to_crs(METRIC).area.iloc[0] / 1e6 == pytest.approx(outline_km2, rel=1e-3)


def test_villages_inside_outline_and_in_every_township(
    features: gpd.GeoDataFrame,
    townships: gpd.GeoDataFrame,
    standin: tuple[StandinSummary, Path],
    outline: Polygon,
) -> None:
    places = features.loc["node"]
    villages = places[places["place"] == "village"]
    assert len(villages) == standin[0].villages
    assert villages["name"].is_unique and villages["name"].str.endswith("村").all()
    pops = villages["population"].astype(int)
    # villages of a few hundred to a few thousand people, of clearly different sizes (demand
    # and candidate sites follow population, so a flat distribution would hide both)
    assert 500 <= pops.median() <= 1500
    assert pops.quantile(0.9) / pops.quantile(0.1) > 2
    assert pops.min() > 0
    assert shapely.contains_xy(outline, villages.geometry.x, villages.geometry.y).all()
    joined = gpd.sjoin(villages[["geometry"]], townships[["ref", "geometry"]], predicate="within")
    assert len(joined) == len(villages)
    assert set(joined["ref"]) == set(townships["ref"])


def test_seats_sit_in_their_own_township_and_county_seat_on_centre(
    features: gpd.GeoDataFrame,
    townships: gpd.GeoDataFrame,
    standin: tuple[StandinSummary, Path],
    region: Region,
) -> None:
    places = features.loc["node"]
    seats = places[places["place"].isin(["town", "suburb"])]
    assert sorted(seats["name"]) == sorted(t.name for t in region.townships)
    polygons = dict(zip(townships["name"], townships.geometry, strict=True))
    for _, row in seats.iterrows():
        assert polygons[row["name"]].contains(row.geometry), row["name"]
    seat = region.township(region.county_centre.township)
    county_seat = seats[seats["name"] == seat.name].iloc[0]
    assert (county_seat.geometry.x, county_seat.geometry.y) == (
        region.county_centre.lon,
        region.county_centre.lat,
    )
    assert county_seat["place"] == "town" and county_seat["capital"] == "6"
    assert standin[0].seats[seat.code] == (region.county_centre.lon, region.county_centre.lat)
    # the other subdistrict is the county seat's neighbour, a few km away
    other = next(t for t in region.townships if t.kind == "街道" and t.code != seat.code)
    lon, lat = standin[0].seats[other.code]
    km = (
        ox.distance.great_circle(lat, lon, region.county_centre.lat, region.county_centre.lon)
        / 1000
    )
    assert 1.0 < km < 10.0
    assert polygons[seat.name].touches(polygons[other.name])


def test_every_township_has_roads_in_the_strong_component(
    roads: nx.MultiDiGraph[int],
    townships: gpd.GeoDataFrame,
    standin: tuple[StandinSummary, Path],
    region: Region,
) -> None:
    """A node inside each township polygon is reachable from the county seat and back."""
    strong = max(nx.strongly_connected_components(roads), key=len)
    nodes = ox.graph_to_gdfs(roads.subgraph(strong), edges=False)
    for _, row in townships.iterrows():
        inside = shapely.contains_xy(row.geometry, nodes["x"], nodes["y"])
        assert inside.sum() > 10, row["name"]


# --------------------------------------------------------------------------- bad input


def test_bad_inputs_raise_clear_errors(
    region: Region, outline: Polygon | MultiPolygon, tmp_path: Path
) -> None:
    target = tmp_path / "x.osm"
    for scale in (0.0, -1.0, math.nan, 100.0):
        with pytest.raises(InputError, match="scale"):
            write_standin(region, outline, target, scale=scale)
    with pytest.raises(InputError, match="Polygon"):
        write_standin(region, Point(119.2, 28.5), target)
    projected = gpd.GeoSeries([outline], crs="EPSG:4326").to_crs(METRIC).iloc[0]
    with pytest.raises(InputError, match="WGS84"):
        write_standin(region, projected, target)
    moved = shapely.affinity.translate(outline, xoff=3.0)
    with pytest.raises(DataError, match="county centre"):
        write_standin(region, moved, target)
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(InputError, match="cannot create directory"):
        write_standin(region, outline, blocker / "sub" / "x.osm", scale=0.05)
    assert not target.exists()

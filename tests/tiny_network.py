"""A hand-built drive graph with one-way roads, so that some pairs have no path.

Built directly as a :class:`~lastmile.network.RoadNetwork` (loading keeps only the largest strongly
connected component, where every pair is reachable). Nodes sit 0.01 degrees apart on a line near
Suichang; each edge is straight, 1 km long, and takes the given seconds.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lastmile.network import RoadNetwork


def tiny_network(n_nodes: int, edges: Sequence[tuple[int, int, float]]) -> RoadNetwork:
    """Nodes ``0..n_nodes-1``; directed ``edges`` as (from, to, seconds)."""
    lon = 119.20 + 0.01 * np.arange(n_nodes, dtype=np.float64)
    lat = np.full(n_nodes, 28.60)
    u = np.array([a for a, _, _ in edges], dtype=np.int32)
    v = np.array([b for _, b, _ in edges], dtype=np.int32)
    t = np.array([s for _, _, s in edges], dtype=np.float64)
    m = len(edges)
    return RoadNetwork(
        node_osmid=np.arange(1, n_nodes + 1, dtype=np.int64),
        node_lon=lon,
        node_lat=lat,
        node_x=1000.0 * np.arange(n_nodes, dtype=np.float64),
        node_y=np.zeros(n_nodes),
        edge_u=u,
        edge_v=v,
        edge_length_m=np.full(m, 1000.0),
        edge_time_s=t,
        edge_speed_kmh=3600.0 / t,
        edge_speed_imputed=np.zeros(m, dtype=bool),
        edge_highway=np.zeros(m, dtype=np.int16),
        edge_oneway=np.ones(m, dtype=bool),
        highway_classes=("residential",),
        geometry_offsets=np.arange(0, 2 * m + 1, 2, dtype=np.int64),
        geometry_lon=np.column_stack([lon[u], lon[v]]).ravel(),
        geometry_lat=np.column_stack([lat[u], lat[v]]).ravel(),
        projected_crs="EPSG:32650",
        source="hand-built test graph",
        synthetic=True,
        nodes_before_scc=n_nodes,
    )


#: Candidate A (node 0) reaches every village; candidate B (node 2) lies 5 s from village v1
#: (node 1) but only the road v1 -> B exists, so B cannot reach v1; B reaches v2 (node 3) in 50 s.
#: A -> v1 100 s, A -> v2 100 + 5 + 50 = 155 s.
ONE_WAY_EDGES = [(0, 1, 100.0), (1, 0, 100.0), (1, 2, 5.0), (2, 3, 50.0), (3, 2, 50.0)]

"""Measurements behind ``lastmile bench``: lastmile against a peer in the same process.

Only what needs the package's internals lives here; the peer solvers that are not dependencies
(spopt, PyVRP) are run by the scripts in ``benchmarks/``.
"""

from __future__ import annotations

import time
from typing import Any

import networkx as nx
import numpy as np

from lastmile.matrix import node_travel_times
from lastmile.network import RoadNetwork


def bench_matrix(
    network: RoadNetwork,
    *,
    sources: int = 300,
    nx_sample: int = 10,
    seed: int = 0,
    workers: int = 2,
) -> dict[str, Any]:
    """Time ``sources`` x all-nodes travel times: csgraph (lastmile) against networkx.

    networkx runs ``single_source_dijkstra_path_length`` per source on a DiGraph with the same
    weights (fastest parallel edge), timed on ``nx_sample`` of the sources and scaled to all of
    them; the first sampled rows are checked equal to lastmile's.
    """
    rng = np.random.default_rng(seed)
    src = rng.choice(network.n_nodes, size=min(sources, network.n_nodes), replace=False)
    network.csr("time")  # build the CSR export outside the timed region, as a cache would
    t0 = time.perf_counter()
    times = node_travel_times(network, src, workers=workers)
    lastmile_s = time.perf_counter() - t0

    g: nx.DiGraph[int] = nx.DiGraph()
    arcs = network.arc_edge
    g.add_weighted_edges_from(
        zip(
            network.edge_u[arcs].tolist(),
            network.edge_v[arcs].tolist(),
            network.edge_time_s[arcs].tolist(),
            strict=True,
        ),
        weight="travel_time",
    )
    sample = src[: min(nx_sample, src.size)]
    t0 = time.perf_counter()
    rows = [nx.single_source_dijkstra_path_length(g, int(s), weight="travel_time") for s in sample]
    nx_sample_s = time.perf_counter() - t0
    networkx_s = nx_sample_s * src.size / max(sample.size, 1)
    for i, row in enumerate(rows):
        ref = np.full(network.n_nodes, np.inf)
        ref[list(row)] = list(row.values())
        if not np.allclose(ref, times[i], rtol=0, atol=1e-6, equal_nan=False):
            raise AssertionError("csgraph and networkx disagree on a sampled source")
    return {
        "nodes": network.n_nodes,
        "edges": network.n_edges,
        "sources": int(src.size),
        "lastmile_s": round(lastmile_s, 4),
        "networkx_s": round(networkx_s, 4),
        "speedup": round(networkx_s / lastmile_s, 1) if lastmile_s > 0 else None,
        "networkx_sampled_sources": int(sample.size),
        "networkx_note": f"networkx timed on {sample.size} sources and scaled to {src.size}",
        "workers": workers,
        "network_source": network.source,
    }

"""Many-to-many travel times and distances on the drive graph, and the paths behind them.

Shortest paths are by travel time, computed with ``scipy.sparse.csgraph.dijkstra`` on the CSR export
of :class:`~lastmile.network.RoadNetwork` (one C-level multi-source call, not per-pair networkx
calls). The distance reported for a pair is the length of that fastest path, recovered from the
predecessor tree by pointer doubling (``log2(depth)`` vectorised passes).

Units: seconds and metres as integers (rounded once, at the end); unreachable pairs — beyond the
optional cut-off, or across one-way dead ends — are flagged in ``reachable`` and carry the sentinel
:data:`UNREACHABLE`, never an exception. The sentinel is no cost: consumers read the mask (routing,
the location models and the access study take it and report those pairs).
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing import shared_memory
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from numpy.typing import NDArray
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import LineString

from lastmile.errors import InputError
from lastmile.io import read_arrays, write_arrays
from lastmile.network import RoadNetwork, snap_points
from lastmile.parallel import can_fork, fork_pool, inherited, result_of

if TYPE_CHECKING:
    import geopandas as gpd

#: Seconds / metres stored for unreachable pairs (about 31 years; safe to add in int64 solvers).
#: A placeholder, not a cost: :attr:`TravelMatrix.reachable` says which pairs have a path.
UNREACHABLE = 10**9

T = TypeVar("T")

#: Sources per dijkstra call: bounds memory to chunk x nodes doubles.
_CHUNK = 64


@dataclass(frozen=True)
class TravelMatrix:
    """Travel times (s) and distances (m) from ``origins`` to ``destinations``.

    Attributes
    ----------
    seconds, metres
        ``int64`` arrays of shape (len(origins), len(destinations)); :data:`UNREACHABLE` where
        ``reachable`` is False.
    reachable
        Whether a path exists (within the cut-off, if one was given).
    origin_nodes, destination_nodes
        Graph node indices of the points.
    """

    origins: tuple[str, ...]
    destinations: tuple[str, ...]
    origin_nodes: NDArray[np.int64]
    destination_nodes: NDArray[np.int64]
    seconds: NDArray[np.int64]
    metres: NDArray[np.int64]
    reachable: NDArray[np.bool_]
    cutoff_s: float | None

    @property
    def n_unreachable(self) -> int:
        """Number of origin-destination pairs without a path."""
        return int((~self.reachable).sum())


def _check_nodes(
    network: RoadNetwork, nodes: Sequence[int] | NDArray[np.int64], what: str
) -> NDArray[np.int64]:
    arr = np.asarray(nodes, dtype=np.int64).ravel()
    if arr.size and (arr.min() < 0 or arr.max() >= network.n_nodes):
        raise InputError(
            f"{what}: node index outside 0..{network.n_nodes - 1}", "snap points first"
        )
    return arr


def _dijkstra_chunks(
    network: RoadNetwork,
    sources: NDArray[np.int64],
    cutoff_s: float | None,
    predecessors: bool,
) -> list[tuple[NDArray[np.float64], NDArray[np.int32] | None]]:
    """Dijkstra in chunks of sources, so predecessor arrays stay bounded in memory."""
    graph = network.csr("time")
    limit = np.inf if cutoff_s is None else float(cutoff_s)
    chunks = [sources[i : i + _CHUNK] for i in range(0, sources.size, _CHUNK)]

    def run(chunk: NDArray[np.int64]) -> tuple[NDArray[np.float64], NDArray[np.int32] | None]:
        if predecessors:
            dist, pred = dijkstra(
                graph, directed=True, indices=chunk, limit=limit, return_predecessors=True
            )
            return np.atleast_2d(dist), np.atleast_2d(pred).astype(np.int32)
        return np.atleast_2d(dijkstra(graph, directed=True, indices=chunk, limit=limit)), None

    return [run(c) for c in chunks]


def _fork_rows(job: tuple[str, tuple[int, int], int, NDArray[np.int64], float]) -> None:
    """Worker: dijkstra for some sources, written straight into the shared result block."""
    name, shape, start, chunk, limit = job
    shm = shared_memory.SharedMemory(name=name)
    try:
        out: NDArray[np.float64] = np.ndarray(shape, dtype=np.float64, buffer=shm.buf)
        out[start : start + chunk.size] = dijkstra(inherited("graph"), directed=True, indices=chunk,
                                                   limit=limit)  # fmt: skip
    finally:
        shm.close()


def node_travel_times(
    network: RoadNetwork,
    sources: Sequence[int] | NDArray[np.int64],
    *,
    cutoff_s: float | None = None,
    workers: int = 1,
) -> NDArray[np.float64]:
    """Float travel times (s) from each source node to every node (``inf`` if unreachable).

    With ``workers > 1`` (and the ``fork`` start method) the sources are split over worker
    processes that write into one shared-memory block: csgraph's dijkstra holds the GIL, so
    threads would not run in parallel, and pickling the rows back would cost more than it saves.
    """
    src = _check_nodes(network, sources, "sources")
    if src.size == 0:
        return np.empty((0, network.n_nodes))
    limit = np.inf if cutoff_s is None else float(cutoff_s)
    if workers <= 1 or src.size < 2 * workers or not can_fork():
        return np.atleast_2d(dijkstra(network.csr("time"), directed=True, indices=src, limit=limit))
    shape = (int(src.size), network.n_nodes)
    shm = shared_memory.SharedMemory(create=True, size=max(1, shape[0] * shape[1] * 8))
    try:
        bounds = np.linspace(0, src.size, workers + 1).astype(int)
        jobs = [(shm.name, shape, int(a), src[a:b], limit) for a, b in itertools.pairwise(bounds)]
        with fork_pool(workers, graph=network.csr("time")) as pool:
            result_of(pool.map_async(_fork_rows, jobs))
        result = np.ndarray(shape, dtype=np.float64, buffer=shm.buf).copy()
    finally:
        shm.close()
        shm.unlink()
    return result


def _arc_lengths(network: RoadNetwork, pred: NDArray[np.int32]) -> NDArray[np.float64]:
    """Length of the arc pred[s, n] -> n for every entry (0 where there is no predecessor)."""
    arcs = network.arc_edge  # sorted by (u, v), one per pair: the fastest parallel edge
    n = network.n_nodes
    keys = network.edge_u[arcs].astype(np.int64) * n + network.edge_v[arcs]
    col = np.broadcast_to(np.arange(n, dtype=np.int64), pred.shape)
    has = pred >= 0
    want = np.where(has, pred.astype(np.int64) * n + col, 0)
    pos = np.searchsorted(keys, want).clip(0, keys.size - 1)
    return np.where(has, network.edge_length_m[arcs][pos], 0.0)


def _path_lengths(network: RoadNetwork, pred: NDArray[np.int32]) -> NDArray[np.float64]:
    """Length of the tree path from the root to every node, by pointer doubling."""
    acc = _arc_lengths(network, pred)
    rows = np.arange(pred.shape[0])[:, None]
    ptr = np.where(pred >= 0, pred, np.arange(pred.shape[1])[None, :]).astype(np.int64)
    # After k passes acc[n] sums the first 2**k arcs above n and ptr[n] is the 2**k-th ancestor;
    # the root points at itself with acc 0, so extra passes change nothing.
    while True:
        nxt = ptr[rows, ptr]
        acc = acc + acc[rows, ptr]
        if np.array_equal(nxt, ptr):
            break
        ptr = nxt
    return acc


def _over_forked_blocks(
    network: RoadNetwork,
    sources: NDArray[np.int64],
    workers: int,
    worker: Callable[[Any], T],
    *args: Any,
) -> list[T] | None:
    """``worker((block, *args))`` for ``sources`` split into ``workers`` blocks, each in a forked
    process that inherits ``network`` (read there with ``inherited("network")``); ``None`` where
    that cannot or need not be done (no ``fork``, one worker, too few sources): the caller then
    does the work in this process."""
    if workers <= 1 or sources.size < 2 * workers or not can_fork():
        return None
    network.csr("time")  # built once here, inherited by the workers
    jobs = [(block, *args) for block in np.array_split(sources, workers)]
    with fork_pool(workers, network=network) as pool:
        return result_of(pool.map_async(worker, jobs))


def _fastest_rows(
    network: RoadNetwork,
    sources: NDArray[np.int64],
    dst: NDArray[np.int64],
    cutoff_s: float | None,
    distances: bool,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Float seconds and metres (0 without ``distances``) from each source to each of ``dst``."""
    secs = np.empty((sources.size, dst.size))
    mets = np.zeros((sources.size, dst.size))
    row = 0
    for dist, pred in _dijkstra_chunks(network, sources, cutoff_s, predecessors=distances):
        secs[row : row + dist.shape[0]] = dist[:, dst]
        if pred is not None:
            mets[row : row + dist.shape[0]] = _path_lengths(network, pred)[:, dst]
        row += dist.shape[0]
    return secs, mets


def _fork_fastest_rows(
    job: tuple[NDArray[np.int64], NDArray[np.int64], float | None, bool],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Worker of :func:`travel_matrix`: :func:`_fastest_rows` of a block of sources (the rows
    for the chosen destinations only are sent back: a few MB, not the whole trees)."""
    return _fastest_rows(inherited("network"), *job)


def travel_matrix(
    network: RoadNetwork,
    origin_nodes: Sequence[int] | NDArray[np.int64],
    destination_nodes: Sequence[int] | NDArray[np.int64],
    *,
    origin_ids: Sequence[str] | None = None,
    destination_ids: Sequence[str] | None = None,
    cutoff_s: float | None = None,
    distances: bool = True,
    workers: int = 1,
) -> TravelMatrix:
    """Travel times and distances between two node sets along fastest paths.

    Parameters
    ----------
    network
        The drive graph.
    origin_nodes, destination_nodes
        Node indices (e.g. ``snap_points(...).node``).
    origin_ids, destination_ids
        Labels of the points (default: their positions as strings).
    cutoff_s
        Stop searching beyond this travel time; farther pairs are unreachable.
    distances
        Also compute metres along the fastest path (a little extra work).
    workers
        Split the origins over this many forked processes (where ``fork`` exists): the same
        matrix, sooner on several cores.
    """
    org = _check_nodes(network, origin_nodes, "origin_nodes")
    dst = _check_nodes(network, destination_nodes, "destination_nodes")
    o_ids = tuple(origin_ids) if origin_ids is not None else tuple(map(str, range(org.size)))
    d_ids = (
        tuple(destination_ids) if destination_ids is not None else tuple(map(str, range(dst.size)))
    )
    if len(o_ids) != org.size or len(d_ids) != dst.size:
        raise InputError("travel_matrix: ids and nodes have different lengths")
    uniq, inverse = np.unique(org, return_inverse=True)
    blocks = _over_forked_blocks(
        network, uniq, workers, _fork_fastest_rows, dst, cutoff_s, distances
    )
    if blocks is not None:
        secs = np.vstack([b[0] for b in blocks])
        mets = np.vstack([b[1] for b in blocks])
    else:
        secs, mets = _fastest_rows(network, uniq, dst, cutoff_s, distances)
    secs, mets = secs[inverse], mets[inverse]
    reachable = np.isfinite(secs)
    return TravelMatrix(
        origins=o_ids,
        destinations=d_ids,
        origin_nodes=org,
        destination_nodes=dst,
        seconds=np.where(reachable, np.rint(np.where(reachable, secs, 0)), UNREACHABLE).astype(
            np.int64
        ),
        metres=np.where(reachable, np.rint(mets), UNREACHABLE).astype(np.int64),
        reachable=reachable,
        cutoff_s=cutoff_s,
    )


def points_travel_matrix(
    network: RoadNetwork,
    origins: gpd.GeoDataFrame,
    destinations: gpd.GeoDataFrame,
    *,
    id_col: str = "id",
    max_snap_m: float = 1500.0,
    cutoff_s: float | None = None,
    names: tuple[str, str] = ("origin", "destination"),
) -> TravelMatrix:
    """Travel matrix between two point layers: each point snapped to the drive graph first.

    Parameters
    ----------
    network
        The drive graph.
    origins, destinations
        Point layers with a CRS and an ``id_col`` column (the matrix's ids).
    max_snap_m
        A point farther than this from the road network is an error naming it.
    cutoff_s
        Optional travel-time cut-off (see :func:`travel_matrix`).
    names
        What the two layers are, for error messages (``("candidate", "demand point")``).

    Raises
    ------
    InputError
        If a layer has no CRS, no id column, a non-point geometry, or a point too far from the road.
    """
    nodes = []
    for what, gdf in zip(names, (origins, destinations), strict=True):
        if gdf.crs is None:
            raise InputError(f"the {what} layer has no CRS", "set it (e.g. EPSG:4326)")
        if id_col not in gdf.columns:
            raise InputError(f"the {what} layer has no {id_col!r} column", "give ids")
        pts = gdf.to_crs(4326).geometry
        if not (pts.geom_type == "Point").all():
            raise InputError(f"every {what} must be a point", "use centroids for polygons")
        snap = snap_points(network, pts.x.to_numpy(), pts.y.to_numpy(), max_snap_m)
        if snap.n_too_far:
            bad = int(np.flatnonzero(snap.too_far)[0])
            raise InputError(
                f"{what} {gdf[id_col].iloc[bad]!r} is {snap.distance_m[bad]:.0f} m from the "
                f"road network (limit {max_snap_m:.0f} m)",
                "move it, drop it, or raise max_snap_m",
            )
        nodes.append(snap.node)
    return travel_matrix(
        network,
        nodes[0],
        nodes[1],
        origin_ids=[str(i) for i in origins[id_col]],
        destination_ids=[str(i) for i in destinations[id_col]],
        cutoff_s=cutoff_s,
    )


def shortest_paths(
    network: RoadNetwork, origin: int, destinations: Sequence[int] | NDArray[np.int64]
) -> list[list[int] | None]:
    """Fastest node sequences from ``origin`` to each destination (``None`` if unreachable)."""
    org = int(_check_nodes(network, [origin], "origin")[0])
    dst = _check_nodes(network, destinations, "destinations")
    _, pred = dijkstra(network.csr("time"), directed=True, indices=org, return_predecessors=True)
    return [_tree_path(pred, org, d) for d in dst.tolist()]


def _tree_path(pred: NDArray[np.int32], origin: int, dest: int) -> list[int] | None:
    """Node sequence ``origin .. dest`` walked back along one row of scipy's predecessor array.

    Hand-written: ``scipy.sparse.csgraph.reconstruct_path`` gives the tree as a graph, not the
    node sequence to one destination.
    """
    if dest != origin and pred[dest] < 0:
        return None
    seq = [dest]
    while seq[-1] != origin:
        seq.append(int(pred[seq[-1]]))
    return seq[::-1]


def path_geometry(network: RoadNetwork, nodes: Sequence[int]) -> LineString | None:
    """Road geometry (WGS84) of a node sequence, following each arc's fastest edge."""
    if len(nodes) < 2:
        return None
    arcs = network.arc_edge
    n = network.n_nodes
    keys = network.edge_u[arcs].astype(np.int64) * n + network.edge_v[arcs]
    seq = np.asarray(nodes, dtype=np.int64)
    want = seq[:-1] * n + seq[1:]
    pos = np.searchsorted(keys, want).clip(0, keys.size - 1)
    if not np.array_equal(keys[pos], want):
        raise InputError("path_geometry: consecutive nodes are not joined by an edge")
    coords = [network.edge_coords(int(e)) for e in arcs[pos]]
    # drop each edge's first point after the first edge: it repeats the previous edge's last point
    stacked = np.vstack([coords[0], *[c[1:] for c in coords[1:]]])
    return LineString(stacked)


def leg_paths(
    network: RoadNetwork, legs: Sequence[tuple[int, int]], *, workers: int = 1
) -> list[list[int] | None]:
    """Fastest node sequences for many (origin, destination) legs, one dijkstra per distinct origin.

    Used to draw vehicle routes along the roads: a route's legs share origins with other routes'
    legs, and the predecessor trees are computed in chunks so memory stays bounded. ``workers``:
    the origins split over this many forked processes (where ``fork`` exists), the same paths.
    """
    if not legs:
        return []
    origins = _check_nodes(network, [a for a, _ in legs], "leg origins")
    dests = _check_nodes(network, [b for _, b in legs], "leg destinations")
    uniq = np.unique(origins)
    parts = _over_forked_blocks(network, uniq, workers, _fork_leg_paths, origins, dests)
    if parts is not None:
        found = {}
        for part in parts:
            found.update(part)
    else:
        found = _leg_paths_from(network, uniq, origins, dests)
    return [found[i] for i in range(len(legs))]


def _leg_paths_from(
    network: RoadNetwork,
    sources: NDArray[np.int64],
    origins: NDArray[np.int64],
    dests: NDArray[np.int64],
) -> dict[int, list[int] | None]:
    """Leg index -> path, for the legs leaving one of ``sources``."""
    by_origin: dict[int, list[int]] = {}
    for i, o in enumerate(origins.tolist()):
        by_origin.setdefault(o, []).append(i)
    out: dict[int, list[int] | None] = {}
    for start in range(0, sources.size, _CHUNK):
        chunk = sources[start : start + _CHUNK]
        [(_, pred)] = _dijkstra_chunks(network, chunk, None, predecessors=True)
        assert pred is not None
        for row, origin in enumerate(chunk.tolist()):
            for i in by_origin[origin]:
                out[i] = _tree_path(pred[row], origin, int(dests[i]))
    return out


def _fork_leg_paths(
    job: tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]],
) -> dict[int, list[int] | None]:
    """Worker of :func:`leg_paths`: the paths of the legs leaving a block of origins."""
    return _leg_paths_from(inherited("network"), *job)


def cached_travel_matrix(
    network: RoadNetwork,
    origin_nodes: NDArray[np.int64],
    destination_nodes: NDArray[np.int64],
    cache: Path | None,
    *,
    within: TravelMatrix | None = None,
    **kwargs: Any,
) -> TravelMatrix:
    """:func:`travel_matrix`, stored in ``cache`` keyed by the graph and the node lists.

    Only graphs that carry a :attr:`~lastmile.network.RoadNetwork.cache_key` (every graph
    :func:`~lastmile.network.load_network` returns) are cached; ids and options are part of the
    key (``workers`` is not: it changes how soon, not what). ``within``: a matrix of the same
    graph and options whose origins and destinations include these nodes; the entries are then
    taken from it (the same values: a row is one dijkstra from its node, whatever the others).
    """
    key = network.cache_key
    if cache is None or key is None:
        return _sub_or_new(network, origin_nodes, destination_nodes, within, kwargs)
    h = hashlib.sha256(str(key).encode())
    h.update(np.asarray(origin_nodes, dtype=np.int64).tobytes())
    h.update(b"|")
    h.update(np.asarray(destination_nodes, dtype=np.int64).tobytes())
    h.update(repr(sorted((k, v) for k, v in kwargs.items() if k != "workers")).encode())
    path = cache / f"matrix-{h.hexdigest()[:24]}.npz"
    if path.exists():
        hit = _read_matrix(path)
        if hit is not None:
            return hit
    mat = _sub_or_new(network, origin_nodes, destination_nodes, within, kwargs)
    _write_matrix(mat, path)
    return mat


def _sub_or_new(
    network: RoadNetwork,
    origin_nodes: NDArray[np.int64],
    destination_nodes: NDArray[np.int64],
    within: TravelMatrix | None,
    kwargs: dict[str, Any],
) -> TravelMatrix:
    """The part of ``within`` between these nodes, or (when it lacks one, or either matrix has
    options: a cut-off, ids, no distances) a new matrix."""
    if within is not None and within.cutoff_s is None and not set(kwargs) - {"workers"}:
        rows = _positions(within.origin_nodes, origin_nodes)
        cols = _positions(within.destination_nodes, destination_nodes)
        if rows is not None and cols is not None:
            org = _check_nodes(network, origin_nodes, "origin_nodes")
            dst = _check_nodes(network, destination_nodes, "destination_nodes")
            return TravelMatrix(
                origins=tuple(map(str, range(org.size))),
                destinations=tuple(map(str, range(dst.size))),
                origin_nodes=org,
                destination_nodes=dst,
                seconds=within.seconds[np.ix_(rows, cols)],
                metres=within.metres[np.ix_(rows, cols)],
                reachable=within.reachable[np.ix_(rows, cols)],
                cutoff_s=None,
            )
    return travel_matrix(network, origin_nodes, destination_nodes, **kwargs)


def _positions(have: NDArray[np.int64], want: NDArray[np.int64]) -> NDArray[np.int64] | None:
    """A position in ``have`` of each node of ``want`` (``None`` if one is missing)."""
    first = {int(n): i for i, n in reversed(list(enumerate(have.tolist())))}
    pos = [first.get(int(n), -1) for n in np.asarray(want).tolist()]
    return None if -1 in pos else np.asarray(pos, dtype=np.int64)


#: what a matrix cache file holds beside its header
_MATRIX_ARRAYS = ("origin_nodes", "destination_nodes", "seconds", "metres", "reachable")


def _write_matrix(mat: TravelMatrix, path: Path) -> None:
    """Write ``mat`` as a cache file (:func:`lastmile.io.write_arrays`)."""
    header = {"origins": list(mat.origins), "destinations": list(mat.destinations),
              "cutoff_s": mat.cutoff_s}  # fmt: skip
    write_arrays(path, header, {name: getattr(mat, name) for name in _MATRIX_ARRAYS})


def _read_matrix(path: Path) -> TravelMatrix | None:
    """The matrix cached in ``path``, or ``None`` when the file is truncated, damaged (a zip CRC
    that does not match: a pickle of damaged bytes was once read as a valid, wrong matrix) or
    foreign; the caller then recomputes it and writes it again."""
    try:
        header, arrays = read_arrays(path, _MATRIX_ARRAYS)
        mat = TravelMatrix(
            tuple(header["origins"]),
            tuple(header["destinations"]),
            cutoff_s=header["cutoff_s"],
            **arrays,
        )
    except Exception:  # any unreadable cache file is recomputed, never trusted
        return None
    shape = (len(mat.origins), len(mat.destinations))
    if any(getattr(mat, name).shape != shape for name in ("seconds", "metres", "reachable")):
        return None
    return mat

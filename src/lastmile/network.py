"""The drive graph: load from OSM (online, local extract, GraphML, stand-in), speeds, travel times.

Whatever the source, the graph goes through one path:

1. osmnx parses it (``graph_from_polygon`` online, ``graph_from_xml`` for .osm/.osm.bz2 —
   .osm.pbf is first converted to XML with pyosmium — or ``load_graphml``), keeping the roads of
   the region's drive filter (:func:`region_drive_filter`: osmnx's "drive" roads plus every class
   the region gives a speed for) whatever the source;
2. speeds, per way: a tagged ``maxspeed`` is used where osmnx can parse it (up to 200 km/h);
   elsewhere the region's default speed for the edge's highway class (``[speeds_kmh]`` in the
   region file). Every edge records whether its speed was tagged or imputed; osmnx then simplifies
   the graph, summing the travel times of the ways an edge joins;
3. travel times (``osmnx.add_edge_travel_times``), then the largest strongly connected component, so
   that every node can reach every other;
4. export to a compact, immutable :class:`RoadNetwork` of numpy arrays, cached as ``.npz`` under the
   cache directory (keyed by the source's content hash and the speed table) so a second load of the
   county takes a fraction of a second.
"""

from __future__ import annotations

import ast
import bz2
import contextlib
import datetime as _dt
import hashlib
import itertools
import json
import re
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any, Literal
from xml.etree.ElementTree import ParseError

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx as ox
import pandas as pd
import shapely
from numpy.typing import NDArray
from pyproj import Transformer
from scipy.sparse import csr_matrix
from scipy.spatial import cKDTree
from shapely.geometry.base import BaseGeometry

from lastmile.config import Region
from lastmile.errors import DataError, InputError
from lastmile.io import atomic_path, file_sha256, read_arrays, write_arrays

#: Bumped whenever the cache layout or the processing changes (2: merged highway tags resolved
#: independently of the hash seed; 3: the free ``meta`` dict replaced by the ``cache_key`` field;
#: 4: the classes the region gives a speed for routed, GraphML filtered, length-weighted speeds).
CACHE_VERSION = 4

GRAPH_SUFFIXES = (".osm", ".xml", ".osm.bz2", ".osm.pbf", ".pbf", ".graphml")


@dataclass(frozen=True)
class RoadNetwork:
    """An immutable drive graph (largest strongly connected component) as numpy arrays.

    Nodes are indexed ``0..n-1``; ``node_osmid`` keeps their OSM ids. Edges are directed; a two-way
    road is two edges. Per-edge ``geometry_offsets[e]:geometry_offsets[e+1]`` slices
    ``geometry_lon/lat`` to the edge's polyline (from ``u`` to ``v``).

    Attributes
    ----------
    source
        Human-readable description of where the graph came from.
    synthetic
        True for the synthetic stand-in: every output made from it must say so.
    nodes_before_scc
        Nodes of the parsed graph before the largest strongly connected component was kept.
    cache_key
        Content hash of what the graph was built from (the source file's sha256 or the download's
        outline and date, the speed table, the CRS and :data:`CACHE_VERSION`), set by
        :func:`load_network` / :func:`open_network`; later stages key their own caches (travel
        matrices) on it. ``None`` for a graph built without a cache: it is never cached.
    """

    node_osmid: NDArray[np.int64]
    node_lon: NDArray[np.float64]
    node_lat: NDArray[np.float64]
    node_x: NDArray[np.float64]
    node_y: NDArray[np.float64]
    edge_u: NDArray[np.int32]
    edge_v: NDArray[np.int32]
    edge_length_m: NDArray[np.float64]
    edge_time_s: NDArray[np.float64]
    edge_speed_kmh: NDArray[np.float64]
    edge_speed_imputed: NDArray[np.bool_]
    edge_highway: NDArray[np.int16]
    edge_oneway: NDArray[np.bool_]
    highway_classes: tuple[str, ...]
    geometry_offsets: NDArray[np.int64]
    geometry_lon: NDArray[np.float64]
    geometry_lat: NDArray[np.float64]
    projected_crs: str
    source: str
    synthetic: bool
    nodes_before_scc: int
    cache_key: str | None = None

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.node_osmid.size)

    @property
    def n_edges(self) -> int:
        """Number of directed edges."""
        return int(self.edge_u.size)

    @cached_property
    def arc_edge(self) -> NDArray[np.int64]:
        """Per distinct (u, v) pair, the index of its fastest parallel edge, sorted by (u, v)."""
        order = np.lexsort((self.edge_time_s, self.edge_v, self.edge_u))
        u, v = self.edge_u[order], self.edge_v[order]
        first = np.ones(order.size, dtype=bool)
        first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
        return order[first]

    def csr(self, weight: Literal["time", "length"] = "time") -> csr_matrix:
        """Sparse adjacency matrix (fastest parallel edge per pair) weighted by time or length."""
        return self._csr_time if weight == "time" else self._csr_length

    @cached_property
    def _csr_time(self) -> csr_matrix:
        return self._build_csr(self.edge_time_s)

    @cached_property
    def _csr_length(self) -> csr_matrix:
        return self._build_csr(self.edge_length_m)

    def _build_csr(self, values: NDArray[np.float64]) -> csr_matrix:
        arcs = self.arc_edge
        # csgraph treats explicit zeros as missing edges; keep zero-length arcs traversable
        w = np.maximum(values[arcs], 1e-9)
        n = self.n_nodes
        return csr_matrix((w, (self.edge_u[arcs], self.edge_v[arcs])), shape=(n, n))

    @cached_property
    def _kdtree(self) -> cKDTree:
        return cKDTree(np.column_stack([self.node_x, self.node_y]))

    @cached_property
    def _to_projected(self) -> Transformer:
        return Transformer.from_crs("EPSG:4326", self.projected_crs, always_xy=True)

    def project(
        self, lon: NDArray[np.float64], lat: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """WGS84 lon/lat to the network's metric CRS."""
        x, y = self._to_projected.transform(np.asarray(lon, float), np.asarray(lat, float))
        return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)

    def edge_coords(self, edge: int) -> NDArray[np.float64]:
        """The (lon, lat) polyline of one edge, from ``u`` to ``v``."""
        a, b = self.geometry_offsets[edge], self.geometry_offsets[edge + 1]
        return np.column_stack([self.geometry_lon[a:b], self.geometry_lat[a:b]])

    def summary(self) -> NetworkSummary:
        """Counts, km by highway class, share of imputed speeds, SCC share."""
        km: dict[str, float] = {}
        for code, cls in enumerate(self.highway_classes):
            mask = self.edge_highway == code
            # a two-way road is two directed edges: count its length once
            weight = np.where(self.edge_oneway[mask], 1.0, 0.5)
            km[cls] = round(float((self.edge_length_m[mask] * weight).sum()) / 1000.0, 1)
        total_len = float(self.edge_length_m.sum())
        imputed_len = float(self.edge_length_m[self.edge_speed_imputed].sum())
        return NetworkSummary(
            source=self.source,
            synthetic=self.synthetic,
            nodes=self.n_nodes,
            edges=self.n_edges,
            km_by_highway=dict(sorted(km.items(), key=lambda kv: -kv[1])),
            road_km=round(sum(km.values()), 1),
            imputed_speed_share=round(float(self.edge_speed_imputed.mean()), 4)
            if self.n_edges
            else 0.0,
            imputed_speed_length_share=round(imputed_len / total_len, 4) if total_len else 0.0,
            scc_node_share=round(self.n_nodes / self.nodes_before_scc, 4)
            if self.nodes_before_scc
            else 0.0,
        )


@dataclass(frozen=True)
class NetworkSummary:
    """What ``lastmile network`` prints."""

    source: str
    synthetic: bool
    nodes: int
    edges: int
    km_by_highway: dict[str, float]
    road_km: float
    imputed_speed_share: float
    imputed_speed_length_share: float
    scc_node_share: float


@dataclass(frozen=True)
class SnapResult:
    """Points snapped to their nearest graph node.

    ``too_far[i]`` is True when point ``i`` lies farther than the limit from the graph; its node is
    still the nearest one, but callers must report it rather than use it silently.
    """

    node: NDArray[np.int64]
    distance_m: NDArray[np.float64]
    too_far: NDArray[np.bool_]
    max_snap_m: float

    @property
    def n_too_far(self) -> int:
        """How many points exceeded the snap limit."""
        return int(self.too_far.sum())


def snap_points(
    network: RoadNetwork,
    lon: Sequence[float] | NDArray[np.float64],
    lat: Sequence[float] | NDArray[np.float64],
    max_snap_m: float,
) -> SnapResult:
    """Snap WGS84 points to the nearest node of the (strongly connected) drive graph.

    Parameters
    ----------
    network
        The drive graph; its nodes are all in the largest strongly connected component, so a point
        near a disconnected fragment snaps to the connected graph and reports the real distance.
    lon, lat
        Point coordinates (degrees).
    max_snap_m
        Points farther than this are flagged in ``too_far``.
    """
    lon_a = np.asarray(lon, dtype=np.float64)
    lat_a = np.asarray(lat, dtype=np.float64)
    if lon_a.shape != lat_a.shape:
        raise InputError("snap_points: lon and lat have different lengths")
    if not (np.isfinite(lon_a).all() and np.isfinite(lat_a).all()):
        raise InputError("snap_points: a coordinate is NaN or infinite", "drop or fix those points")
    if network.n_nodes == 0:
        raise DataError("the road graph has no nodes to snap to")
    x, y = network.project(lon_a, lat_a)
    dist, idx = network._kdtree.query(np.column_stack([x, y]))
    dist = np.asarray(dist, dtype=np.float64)
    return SnapResult(
        node=np.asarray(idx, dtype=np.int64),
        distance_m=dist,
        too_far=dist > max_snap_m,
        max_snap_m=float(max_snap_m),
    )


# --------------------------------------------------------------------------- loading


def _cache_key(parts: Sequence[str]) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:20]


def _speed_key(region: Region) -> str:
    return json.dumps(dict(sorted(region.speeds_kmh.items())))


def graph_file_kind(path: Path) -> str:
    """``xml``, ``pbf`` or ``graphml`` from the file name; InputError otherwise."""
    name = path.name.lower()
    if name.endswith((".osm", ".xml", ".osm.bz2", ".xml.bz2")):
        return "xml"
    if name.endswith(".pbf"):
        return "pbf"
    if name.endswith(".graphml"):
        return "graphml"
    raise InputError(
        f"{path}: unknown road-network file type",
        f"give one of {', '.join(GRAPH_SUFFIXES)}",
    )


def _pbf_to_xml(pbf: Path, out: Path) -> int:
    """Convert an .osm.pbf extract to OSM XML with pyosmium (osmnx reads XML only).

    Ways that reference nodes missing from the extract (a bbox cut without ``complete_ways``) are
    dropped, since osmnx cannot place them; the number dropped is returned.
    """
    import osmium

    try:
        node_ids = np.fromiter(
            (n.id for n in osmium.FileProcessor(str(pbf), osmium.osm.NODE)), dtype=np.int64
        )
        node_ids.sort()
        dropped = 0
        with atomic_path(out) as tmp, osmium.SimpleWriter(str(tmp)) as writer:
            for obj in osmium.FileProcessor(str(pbf)):
                if isinstance(obj, osmium.osm.Way):
                    refs = np.fromiter((n.ref for n in obj.nodes), dtype=np.int64)
                    pos = np.searchsorted(node_ids, refs).clip(0, max(node_ids.size - 1, 0))
                    if node_ids.size == 0 or not (node_ids[pos] == refs).all():
                        dropped += 1
                        continue
                writer.add(obj)
    except RuntimeError as exc:
        raise InputError(f"{pbf}: not a readable OSM PBF file ({exc})", "check the file") from exc
    return dropped


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise InputError(f"road-network file {path} does not exist", "check the path")
    if path.is_dir():
        raise InputError(f"{path} is a directory, not a road-network file")
    if path.stat().st_size == 0:
        raise InputError(f"road-network file {path} is empty", "download or export it again")


@contextlib.contextmanager
def osmnx_settings(**values: Any) -> Iterator[None]:
    """Set attributes of ``osmnx.settings`` for the duration of a block, then restore them.

    osmnx keeps its configuration in module-level globals; every lastmile call that needs other
    values (HTTP cache folder, kept way tags) goes through this one context manager, so no call
    leaves osmnx changed for the caller.
    """
    unknown = sorted(k for k in values if not hasattr(ox.settings, k))
    if unknown:
        raise InputError(f"osmnx.settings has no attribute(s) {unknown}")
    old = {k: getattr(ox.settings, k) for k in values}
    try:
        for k, v in values.items():
            setattr(ox.settings, k, v)
        yield
    finally:
        for k, v in old.items():
            setattr(ox.settings, k, v)


def _parse_osm_xml(path: Path, region: Region, shown: Path | None = None) -> nx.MultiDiGraph[Any]:
    name = shown or path
    # keep the tags the drive filter reads on the edges (osmnx keeps only "useful" tags)
    useful = list(dict.fromkeys([*ox.settings.useful_tags_way, *_FILTER_KEYS]))
    try:
        with osmnx_settings(useful_tags_way=useful), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            g = ox.graph_from_xml(path, simplify=False, retain_all=True, bidirectional=False)
    except (ParseError, EOFError, OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{name}: not a readable OSM XML file ({exc})", "check the file") from exc
    except ValueError as exc:  # osmnx: "No data elements in server response" (no node or way)
        root = _xml_root_tag(path)
        if root != "osm":
            raise InputError(
                f"{name}: not a readable OSM XML file (its root element is <{root}>, not <osm>: "
                "a web page or error message saved under an OSM file name?)",
                "download or export the extract again",
            ) from exc
        raise DataError(
            f"{name}: the file holds no drivable road (no OSM node or way at all)",
            "check the extract's area",
        ) from exc
    # simplified by _process, after each way's own speed is known
    return _drive_only(g, name, region)


def _xml_root_tag(path: Path) -> str:
    """The root element's name of the XML file ``path`` (bzip2 read through), ``"?"`` when
    unreadable."""
    from xml.etree.ElementTree import iterparse

    opener = bz2.open if path.name.lower().endswith(".bz2") else open
    try:
        with opener(path, "rb") as f:
            for _, el in iterparse(f, events=("start",)):
                return str(el.tag).rsplit("}", 1)[-1]
    except (ParseError, OSError, EOFError):
        pass
    return "?"


_FILTER_TERM = re.compile(r"""\[(["'])(.+?)\1(?:\s*(!~|~|!=|=)\s*(["'])(.*?)\4)?\]""")


def overpass_filter_matches(filter_str: str, tags: Mapping[str, Any]) -> bool:
    """Evaluate an Overpass tag filter such as ``["highway"]["area"!~"yes"]`` on a tag dict.

    Supports the forms osmnx's network filters use: ``[k]`` (key present), ``[k=v]``, ``[k!=v]``,
    ``[k~re]`` (present and matching) and ``[k!~re]`` (absent or not matching); regular
    expressions are unanchored, as in Overpass.
    """
    for _, key, op, _, value in _FILTER_TERM.findall(filter_str):
        have = tags.get(key)
        text = None if have is None else str(have)
        if not op:
            ok = text is not None
        elif op == "=":
            ok = text == value
        elif op == "!=":
            ok = text != value
        elif op == "~":
            ok = text is not None and re.search(value, text) is not None
        else:
            ok = text is None or re.search(value, text) is None
        if not ok:
            return False
    return True


#: The highway classes osmnx's "drive" network type leaves out (osmnx 2.x, documented with
#: ``network_type``). Written out here rather than read from osmnx's private module;
#: tests/test_online.py checks a download and a file give one graph.
DRIVE_EXCLUDED_CLASSES: tuple[str, ...] = (
    "abandoned", "bridleway", "bus_guideway", "construction", "corridor", "cycleway", "elevator",
    "escalator", "footway", "no", "path", "pedestrian", "planned", "platform", "proposed",
    "raceway", "razed", "rest_area", "service", "services", "steps", "track",
)  # fmt: skip


def drive_filter(routed_classes: Collection[str] = ()) -> str:
    """The Overpass tag filter of the drive graph: osmnx's "drive" filter, keeping
    ``routed_classes`` as well.

    A class of :data:`DRIVE_EXCLUDED_CLASSES` named in ``routed_classes`` (the region's
    ``[speeds_kmh]`` keys: ``service``, ``track`` ...) is kept. Private access, ``area=yes``,
    ``motor_vehicle``/``motorcar=no`` are refused whatever the class; with ``service`` routed, the
    ``service=*`` values refused are those of osmnx's "drive_service" plus ``driveway``
    (``emergency_access``, ``parking``, ``parking_aisle``, ``private``, ``driveway``: no through
    road for a van), else those of "drive" (which also refuses ``alley``).
    """
    excluded = "|".join(c for c in DRIVE_EXCLUDED_CLASSES if c not in routed_classes)
    refused_service = (
        "driveway|emergency_access|parking|parking_aisle|private"
        if "service" in routed_classes
        else "alley|driveway|emergency_access|parking|parking_aisle|private"
    )
    return (
        '["highway"]["area"!~"yes"]["access"!~"private"]'
        + (f'["highway"!~"{excluded}"]' if excluded else "")
        + '["motor_vehicle"!~"no"]["motorcar"!~"no"]'
        + f'["service"!~"{refused_service}"]'
    )


def region_drive_filter(region: Region) -> str:
    """The drive filter of ``region``: every class its ``[speeds_kmh]`` gives a speed for is
    routed (:func:`drive_filter`)."""
    return drive_filter(frozenset(region.speeds_kmh) - {"default"})


def routed_classes(region: Region) -> list[str]:
    """The OSM highway classes of :data:`lastmile.config.OSM_ROAD_CLASSES` the drive graph of
    ``region`` keeps (for messages and documentation)."""
    from lastmile.config import OSM_ROAD_CLASSES

    flt = region_drive_filter(region)
    return sorted(c for c in OSM_ROAD_CLASSES if overpass_filter_matches(flt, {"highway": c}))


#: osmnx's own "drive" filter (no extra class routed).
DRIVE_FILTER: str = drive_filter()


_FILTER_KEYS = tuple(dict.fromkeys(key for _, key, *_ in _FILTER_TERM.findall(DRIVE_FILTER)))


def _values(value: Any) -> list[Any]:
    """The values of a tag: osmnx merges the tags of the ways a simplified edge joins into a list
    (a GraphML keeps them as the text of a Python list)."""
    if isinstance(value, str) and value.startswith("[") and value.endswith("]"):
        with contextlib.suppress(ValueError, SyntaxError):
            parsed = ast.literal_eval(value)
            if isinstance(parsed, list):
                return parsed
    return value if isinstance(value, list) else [value]


def _is_drive(d: Mapping[str, Any], flt: str) -> bool:
    """Whether every way behind edge ``d`` passes ``flt`` (each value of a merged tag is tried)."""
    choices = [[(k, v) for v in _values(d.get(k))] for k in _FILTER_KEYS]
    for combo in itertools.product(*choices):
        tags = {k: v for k, v in combo if v is not None}
        if not (isinstance(tags.get("highway"), str) and overpass_filter_matches(flt, tags)):
            return False
    return True


def _drive_only(g: nx.MultiDiGraph[Any], where: Path | str, region: Region) -> nx.MultiDiGraph[Any]:
    """Keep the ways the region's drive filter keeps (graph_from_xml and a GraphML keep every
    way; :func:`region_drive_filter`).

    The filter reads only the tags in ``_FILTER_KEYS``, and a county has a few dozen distinct
    combinations of them among its hundreds of thousands of edges: each combination is evaluated
    once.
    """
    flt = region_drive_filter(region)
    verdict: dict[tuple[Any, ...], bool] = {}
    drop = []
    total = 0
    for u, v, k, d in g.edges(keys=True, data=True):
        total += 1
        key = tuple(d.get(t) for t in _FILTER_KEYS)
        try:
            keep = verdict[key]
        except KeyError:
            keep = verdict[key] = _is_drive(d, flt)
        except TypeError:  # an unhashable (list) tag value: evaluate this edge on its own
            keep = _is_drive(d, flt)
        if not keep:
            drop.append((u, v, k))
    g.remove_edges_from(drop)
    g.remove_nodes_from(list(nx.isolates(g)))
    if len(drop) == total:
        raise DataError(f"{where}: the file holds no drivable road", "check the extract's area")
    return g


def _first(value: Any) -> Any:
    """One value of a tag osmnx merged into a list when simplifying the graph.

    osmnx builds those lists from a set, whose order changes with the process's string-hash seed;
    taking the smallest keeps the network the same in every process (sweep workers included).
    """
    return min(str(v) for v in value) if isinstance(value, list) else value


def _load_raw(
    source: str | Path, region: Region, outline: BaseGeometry | None, shown: Path | None = None
) -> nx.MultiDiGraph[Any]:
    """The filtered, unsimplified graph of ``source`` (``shown``: the file messages name, the
    user's .osm.pbf for the XML converted from it)."""
    if str(source) == "osm":
        if outline is None:
            raise InputError("an online OSM download needs the region outline")
        try:
            g = ox.graph_from_polygon(
                outline,
                network_type="drive",  # one-way aware (not a bidirectional network type)
                custom_filter=region_drive_filter(region),
                simplify=False,  # simplified by _process, after each way's speed is known
                retain_all=True,
            )
        except ValueError as exc:  # osmnx's InsufficientResponseError: an empty answer
            raise DataError(f"OSM download for {region.name}: no roads returned ({exc})") from exc
        except Exception as exc:  # requests' ConnectionError and friends
            raise InputError(
                f"OSM download for {region.name} failed: {exc}",
                "check the network, or use --network synthetic or a local extract FILE",
            ) from exc
        return g
    path = Path(source)
    _check_readable(path)
    kind = graph_file_kind(path)
    if kind == "graphml":
        try:
            g = ox.load_graphml(path)
        except Exception as exc:
            raise InputError(f"{path}: not a readable GraphML graph ({exc})") from exc
        return _graphml_drive_graph(g, path, region)
    if path.name.lower().endswith(".bz2"):
        try:
            with bz2.open(path) as f:
                f.read(16)
        except OSError as exc:
            raise InputError(f"{path}: not a valid bzip2 file ({exc})", "check the file") from exc
        except EOFError as exc:  # cut inside its first (900 kB) bzip2 block
            raise InputError(
                f"{path}: the bzip2 data ends before its end-of-stream marker: the file is "
                "truncated (a download or copy broken off)",
                "download or export the extract again",
            ) from exc
    return _parse_osm_xml(path, region, shown)


def _graphml_drive_graph(
    g: nx.MultiDiGraph[Any], path: Path, region: Region
) -> nx.MultiDiGraph[Any]:
    """A GraphML graph filtered as an OSM file is (:func:`_drive_only`); :func:`_process`
    simplifies it if it was saved unsimplified: an osmnx graph saved with ``ox.save_graphml``
    gives the graph its OSM file gives, whatever network type it was made with (footways of
    ``graph_from_xml``'s "all" graph are no van roads)."""
    if g.number_of_edges() and not any("highway" in d for _, _, d in g.edges(data=True)):
        raise InputError(
            f"{path}: no edge of the GraphML graph has a highway class, so its roads cannot be "
            "told from footpaths",
            "give an OSM extract, or a graph made from OSM data with osmnx (ox.save_graphml)",
        )
    return _drive_only(g, path, region)  # simplified by _process unless saved simplified


#: Highest tagged ``maxspeed`` taken as the road's speed (km/h), the ceiling of ``[speeds_kmh]``:
#: a higher value (``maxspeed=300`` on a street) is a tagging error, and the edge takes its class's
#: speed instead (recorded as imputed).
MAX_TAGGED_SPEED_KMH = 200.0


def _process(
    g: nx.MultiDiGraph[Any], region: Region, where: str
) -> tuple[nx.MultiDiGraph[Any], int]:
    """Speeds (tagged or imputed), travel times, simplification, largest strong component.

    osmnx parses the ``maxspeed`` tags (``osmnx.add_edge_speeds``) on a graph of the tagged edges
    only; every other edge, and one tagged above :data:`MAX_TAGGED_SPEED_KMH`, gets its class's
    default speed. Speeds and travel times (the formula of ``osmnx.add_edge_travel_times``,
    length / speed) are set on every way's own segments *before* osmnx simplifies the graph, which
    sums the travel times of the segments it merges: an edge joining ways of different speeds
    takes the length-weighted travel time of its parts, and its speed is length / time (osmnx's
    ``add_edge_speeds`` on a simplified graph would take the plain mean of their maxspeeds). An
    edge counts as tagged when any part of it is. A GraphML saved simplified keeps osmnx's mean.
    The strong component is the one ``osmnx.truncate.largest_component`` would keep, with the
    other nodes removed in place: both osmnx functions convert or copy the whole graph, which
    costs seconds on a county.
    """
    if g.number_of_edges() == 0:
        raise DataError(f"{where}: the road graph has no edges", "check the extract's area")
    tagged = [(u, v, k, d) for u, v, k, d in g.edges(keys=True, data=True) if "maxspeed" in d]
    parsed: dict[tuple[Any, Any, Any], float] = {}
    if tagged:
        h: nx.MultiDiGraph[Any] = nx.MultiDiGraph(**g.graph)
        h.add_nodes_from((n, g.nodes[n]) for n in {x for u, v, _, _ in tagged for x in (u, v)})
        for u, v, k, d in tagged:
            h.add_edge(u, v, key=k, **d)
        classes = {str(_first(d.get("highway", "road"))) for _, _, d in h.edges(data=True)}
        # Sentinel -1 marks edges without a parsable maxspeed: osmnx fills every missing speed
        # with the hwy_speeds value of its class, and no real maxspeed parses to a negative number
        ox.add_edge_speeds(h, hwy_speeds=dict.fromkeys(classes, -1.0), fallback=-1.0)
        parsed = {(u, v, k): float(d["speed_kph"]) for u, v, k, d in h.edges(keys=True, data=True)}
    for u, v, k, d in g.edges(keys=True, data=True):
        speed = parsed.get((u, v, k), -1.0)
        imputed = not (np.isfinite(speed) and 0 < speed <= MAX_TAGGED_SPEED_KMH)
        d["speed_imputed"] = imputed
        hwy = str(_first(d.get("highway", "road")))
        d["speed_kph"] = region.speed_for(hwy) if imputed else speed
        # osmnx.add_edge_travel_times: km / (km per second)
        d["travel_time"] = (d["length"] / 1000) / (d["speed_kph"] / (60 * 60))
    if not g.graph.get("simplified"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # sums length and travel_time over the merged segments; other attributes become the
            # list of their distinct values, or the one value they all share
            g = ox.simplify_graph(g, edge_attr_aggs={"length": sum, "travel_time": sum})
        for _, _, d in g.edges(data=True):
            if isinstance(d["speed_kph"], list):  # parts of different speeds: time-weighted
                d["speed_kph"] = d["length"] / d["travel_time"] * 3.6
            else:  # one speed: the time from it, as for an unmerged edge
                d["travel_time"] = (d["length"] / 1000) / (d["speed_kph"] / (60 * 60))
            if isinstance(d["speed_imputed"], list):
                d["speed_imputed"] = False  # partly tagged: tagged, as osmnx's mean had it
    nodes_before = g.number_of_nodes()
    largest = max(nx.strongly_connected_components(g), key=len)
    if len(largest) < len(g):
        g.remove_nodes_from([n for n in g if n not in largest])
    if g.number_of_edges() == 0:
        raise DataError(
            f"{where}: its drivable roads form no network a vehicle can drive around and back "
            "(the largest part where every junction can be reached from every other has no "
            "road; e.g. one-way streets only, cut at the extract's edge)",
            "give an extract of a larger area, cut with complete ways "
            "(osmium extract --strategy complete_ways)",
        )
    return g, nodes_before


def _export(
    g: nx.MultiDiGraph[Any], region: Region, source: str, synthetic: bool, nodes_before: int
) -> RoadNetwork:
    osmids = np.fromiter(g.nodes, dtype=np.int64, count=g.number_of_nodes())
    index = {int(n): i for i, n in enumerate(osmids)}
    lon = np.array([g.nodes[n]["x"] for n in g.nodes], dtype=np.float64)
    lat = np.array([g.nodes[n]["y"] for n in g.nodes], dtype=np.float64)
    to_proj = Transformer.from_crs("EPSG:4326", region.projected_crs, always_xy=True)
    x, y = to_proj.transform(lon, lat)

    classes: dict[str, int] = {}
    rows: list[tuple[int, int, float, float, float, bool, int, bool]] = []
    # per edge its geometry, or else the straight segment between its nodes (indices of u, v)
    geoms: list[Any] = []
    has_geom: list[bool] = []
    for u, v, d in g.edges(data=True):
        hwy = str(_first(d.get("highway", "road")))
        code = classes.setdefault(hwy, len(classes))
        oneway = bool(d.get("oneway", False)) and str(d.get("oneway")) not in ("False", "no")
        rows.append(
            (
                index[int(u)],
                index[int(v)],
                float(d["length"]),
                float(d["travel_time"]),
                float(d["speed_kph"]),
                bool(d["speed_imputed"]),
                code,
                oneway,
            )
        )
        geom = d.get("geometry")
        has_geom.append(geom is not None)
        if geom is not None:
            geoms.append(geom)
    arr = pd.DataFrame(rows, columns=["u", "v", "len", "time", "speed", "imp", "hwy", "oneway"])
    glon, glat, offsets = _edge_polylines(
        np.asarray(geoms, dtype=object),
        np.asarray(has_geom, dtype=bool),
        arr["u"].to_numpy(np.int64),
        arr["v"].to_numpy(np.int64),
        lon,
        lat,
    )
    return RoadNetwork(
        node_osmid=osmids,
        node_lon=lon,
        node_lat=lat,
        node_x=np.asarray(x, dtype=np.float64),
        node_y=np.asarray(y, dtype=np.float64),
        edge_u=arr["u"].to_numpy(np.int32),
        edge_v=arr["v"].to_numpy(np.int32),
        edge_length_m=arr["len"].to_numpy(np.float64),
        edge_time_s=arr["time"].to_numpy(np.float64),
        edge_speed_kmh=arr["speed"].to_numpy(np.float64),
        edge_speed_imputed=arr["imp"].to_numpy(bool),
        edge_highway=arr["hwy"].to_numpy(np.int16),
        edge_oneway=arr["oneway"].to_numpy(bool),
        highway_classes=tuple(classes),
        geometry_offsets=offsets,
        geometry_lon=glon,
        geometry_lat=glat,
        projected_crs=region.projected_crs,
        source=source,
        synthetic=synthetic,
        nodes_before_scc=nodes_before,
    )


def _edge_polylines(
    geoms: NDArray[np.object_],
    has_geom: NDArray[np.bool_],
    u: NDArray[np.int64],
    v: NDArray[np.int64],
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]]:
    """Concatenated edge polylines (lon, lat) and per-edge offsets into them.

    An edge with a ``geometry`` (``geoms``, in edge order) keeps its coordinates; an edge without
    one is the straight segment from node ``u`` to node ``v``.
    """
    coords, which = shapely.get_coordinates(geoms, return_index=True)
    counts = np.full(has_geom.size, 2, dtype=np.int64)
    counts[has_geom] = np.bincount(which, minlength=geoms.size)
    offsets = np.zeros(has_geom.size + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(counts)
    glon = np.empty(int(offsets[-1]), dtype=np.float64)
    glat = np.empty_like(glon)
    # positions of the geometry edges' coordinates: each edge's start offset, then consecutive
    start = np.repeat(offsets[:-1][has_geom], counts[has_geom])
    first = np.repeat(np.cumsum(counts[has_geom]) - counts[has_geom], counts[has_geom])
    pos = start + np.arange(start.size) - first
    glon[pos], glat[pos] = coords[:, 0], coords[:, 1]
    plain = offsets[:-1][~has_geom]
    glon[plain], glat[plain] = lon[u[~has_geom]], lat[u[~has_geom]]
    glon[plain + 1], glat[plain + 1] = lon[v[~has_geom]], lat[v[~has_geom]]
    return glon, glat, offsets


def network_layers(network: RoadNetwork) -> dict[str, gpd.GeoDataFrame]:
    """The drive graph as two WGS84 layers, for GIS tools and independent checks of routes.

    ``nodes``: ``node`` (index used in lastmile's matrices), ``osmid``, points. ``edges``: one row
    per directed edge (a two-way road is two rows) with ``u`` / ``v`` (node indices), ``u_osmid`` /
    ``v_osmid``, ``length_m``, ``time_s`` (the travel time every matrix is built from),
    ``speed_kmh``, ``speed_imputed``, ``highway``, ``oneway`` and the road's polyline. Both
    carry ``network``, the source's label (the synthetic stand-in says so).
    """
    n = network.node_osmid.size
    nodes = gpd.GeoDataFrame(
        {"node": np.arange(n), "osmid": network.node_osmid, "network": network.source},
        geometry=gpd.points_from_xy(network.node_lon, network.node_lat),
        crs="EPSG:4326",
    )
    coords = np.column_stack([network.geometry_lon, network.geometry_lat])
    lines = shapely.linestrings(
        coords, indices=np.repeat(np.arange(network.edge_u.size), np.diff(network.geometry_offsets))
    )
    u, v = network.edge_u.astype(np.int64), network.edge_v.astype(np.int64)
    edges = gpd.GeoDataFrame(
        {
            "u": u,
            "v": v,
            "u_osmid": network.node_osmid[u],
            "v_osmid": network.node_osmid[v],
            "length_m": network.edge_length_m,
            "time_s": network.edge_time_s,
            "speed_kmh": network.edge_speed_kmh,
            "speed_imputed": network.edge_speed_imputed,
            "highway": np.asarray(network.highway_classes, dtype=object)[network.edge_highway],
            "oneway": network.edge_oneway,
            "network": network.source,
        },
        geometry=lines,
        crs="EPSG:4326",
    )
    return {"nodes": nodes, "edges": edges}


_ARRAY_FIELDS = (
    "node_osmid",
    "node_lon",
    "node_lat",
    "node_x",
    "node_y",
    "edge_u",
    "edge_v",
    "edge_length_m",
    "edge_time_s",
    "edge_speed_kmh",
    "edge_speed_imputed",
    "edge_highway",
    "edge_oneway",
    "geometry_offsets",
    "geometry_lon",
    "geometry_lat",
)


def save_network(network: RoadNetwork, path: Path) -> None:
    """Write the network to an ``.npz`` cache file atomically."""
    header = {
        "version": CACHE_VERSION,
        "highway_classes": list(network.highway_classes),
        "projected_crs": network.projected_crs,
        "source": network.source,
        "synthetic": network.synthetic,
        "nodes_before_scc": network.nodes_before_scc,
        "cache_key": network.cache_key,
    }
    write_arrays(path, header, {name: getattr(network, name) for name in _ARRAY_FIELDS})


def read_network(path: Path) -> RoadNetwork:
    """Read a network cache file written by :func:`save_network`."""
    try:
        header, arrays = read_arrays(path, _ARRAY_FIELDS)
        if header.get("version") != CACHE_VERSION:
            raise InputError(f"{path}: cache version {header.get('version')} is outdated")
        return RoadNetwork(
            **arrays,
            highway_classes=tuple(header["highway_classes"]),
            projected_crs=header["projected_crs"],
            source=header["source"],
            synthetic=bool(header["synthetic"]),
            nodes_before_scc=int(header["nodes_before_scc"]),
            cache_key=None if header["cache_key"] is None else str(header["cache_key"]),
        )
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as exc:
        raise InputError(f"{path}: not a lastmile network cache ({exc})", "delete it") from exc


def _read_cached(path: Path) -> RoadNetwork | None:
    """The network in cache file ``path``; ``None`` when absent, truncated or of another version.

    A cache file is never trusted over its source: one that cannot be read as this version's
    cache is rebuilt (and overwritten atomically) by the caller.
    """
    if not path.is_file():
        return None
    try:
        return read_network(path)
    except InputError:
        return None


def build_network(
    source: str | Path,
    region: Region,
    *,
    outline: BaseGeometry | None = None,
    synthetic: bool = False,
    description: str | None = None,
) -> RoadNetwork:
    """Load and process a road graph without any cache.

    Parameters
    ----------
    source
        ``"osm"`` for an online osmnx download of ``outline``; otherwise a path to .osm, .osm.bz2,
        .osm.pbf or .graphml.
    region
        Supplies the default speeds and the metric CRS.
    outline
        Region polygon (WGS84) for the online download.
    synthetic
        Mark the result as the synthetic stand-in.
    description
        Source description stored with the network (default: the path or "OpenStreetMap").
    """
    if str(source) != "osm" and graph_file_kind(Path(source)) == "pbf":
        pbf = Path(source)
        _check_readable(pbf)
        # osmnx reads XML only: convert into a private temporary directory, parse, discard
        with tempfile.TemporaryDirectory() as tmpdir:
            xml = Path(tmpdir) / (pbf.stem + ".osm")
            _pbf_to_xml(pbf, xml)
            g = _load_raw(xml, region, outline, shown=pbf)
    else:
        g = _load_raw(source, region, outline)
    where = f"OSM download for {region.name}" if str(source) == "osm" else str(source)
    g, before = _process(g, region, where)
    desc = description or ("OpenStreetMap (online)" if str(source) == "osm" else str(source))
    return _export(g, region, desc, synthetic, before)


def load_network(
    source: str | Path,
    region: Region,
    *,
    cache: Path | None,
    outline: BaseGeometry | None = None,
    synthetic: bool = False,
    description: str | None = None,
    accept: Callable[[RoadNetwork], None] | None = None,
) -> RoadNetwork:
    """Like :func:`build_network`, with a binary cache keyed by content hash and speed table.

    The cache is used for files (the key includes the file's sha256); online downloads rely on
    osmnx's own HTTP cache (``osmnx.settings.cache_folder``) and are then cached here by the date.
    ``accept`` (e.g. :func:`check_covers`) may refuse the graph by raising; it runs before the
    graph is cached, so a refused file leaves nothing in the cache.
    """
    if cache is None or str(source) == "osm":
        net = build_network(
            source, region, outline=outline, synthetic=synthetic, description=description
        )
        if accept is not None:
            accept(net)
        return net
    path = Path(source)
    _check_readable(path)
    key = _cache_key(
        [str(CACHE_VERSION), file_sha256(path), _speed_key(region), region.projected_crs]
    )
    cached = cache / f"network-{key}.npz"
    net_or_none = _read_cached(cached)
    if net_or_none is not None:
        net = net_or_none
        if description and net.source != description:
            net = _with_source(net, description, synthetic)
        if accept is not None:
            accept(net)
    else:
        net = build_network(path, region, synthetic=synthetic, description=description)
        net = replace(net, cache_key=key)
        if accept is not None:
            accept(net)
        save_network(net, cached)
    # the key of the file it was read from: later stages key their caches (matrices) on it
    return replace(net, cache_key=key)


def _with_source(net: RoadNetwork, source: str, synthetic: bool) -> RoadNetwork:
    return replace(net, source=source, synthetic=synthetic)


# --------------------------------------------------------------------------- source resolution


@dataclass(frozen=True)
class NetworkSource:
    """Where a drive graph came from, and the OSM file behind it (for villages and boundaries).

    Attributes
    ----------
    kind
        ``"synthetic"`` (the stand-in), ``"file"`` (a local extract) or ``"osm"`` (online download).
    osm_file
        The OSM XML/PBF file the graph was read from (``None`` for online and GraphML sources).
    label
        What every output states as its data source.
    """

    kind: Literal["synthetic", "file", "osm"]
    osm_file: Path | None
    label: str

    @property
    def synthetic(self) -> bool:
        """True for the synthetic stand-in."""
        return self.kind == "synthetic"


STANDIN_LABEL = "synthetic stand-in (NOT real OpenStreetMap data)"


def standin_file(
    region: Region, outline: BaseGeometry, cache: Path, *, scale: float = 1.0
) -> tuple[Path, str]:
    """The stand-in OSM XML for ``region`` in the cache, generated on first use.

    The file name carries a hash of the generator's source, the seed, the scale and the outline,
    so a changed generator or outline never reuses an old file.
    """
    from lastmile import standin

    generator = Path(standin.__file__).read_bytes()
    key = _cache_key(
        [
            hashlib.sha256(generator).hexdigest(),
            str(region.standin.seed),
            repr(region.standin),
            f"{scale:g}",
            outline.wkb_hex,
            ",".join(t.code for t in region.townships),
        ]
    )
    path = cache / f"standin-{region.id}-{key}.osm"
    if not path.exists():
        standin.write_standin(region, outline, path, scale=scale)
    label = f"{STANDIN_LABEL}, seed {region.standin.seed}"
    if scale != 1.0:
        label += f", scale {scale:g}"
    return path, label


def overpass_reachable(timeout_s: float = 3.0) -> bool:
    """Whether osmnx's Overpass endpoint answers within ``timeout_s``."""
    import requests

    try:
        r = requests.get(f"{ox.settings.overpass_url}/status", timeout=timeout_s)
    except requests.RequestException:
        return False
    return r.status_code < 500


def open_network(
    spec: str | Path,
    region: Region,
    *,
    outline: BaseGeometry,
    cache: Path,
    local_extract: Path | None = None,
    standin_scale: float = 1.0,
    osm_timeout_s: float = 3.0,
) -> tuple[RoadNetwork, NetworkSource]:
    """Resolve a network spec and load the drive graph.

    Parameters
    ----------
    spec
        ``"auto"``: ``local_extract`` if given, else the extract imported with
        ``lastmile fetch --extract`` (:func:`imported_extract`), else an OSM download when
        Overpass answers within ``osm_timeout_s``, else the synthetic stand-in. ``"synthetic"``,
        ``"osm"``, or a file path force one source.
    region
        Speeds, CRS, stand-in settings.
    outline
        County outline (WGS84): the download polygon and the stand-in's shape.
    cache
        Cache directory (stand-in file, network caches, osmnx HTTP cache).
    """
    choice = str(spec)
    if choice == "auto":
        if local_extract is not None and not Path(local_extract).is_file():
            raise InputError(
                f"local_extract {str(local_extract)!r} is not a file (no "
                f"{Path(local_extract).resolve()})",
                "give the path of an OSM extract (.osm, .osm.bz2, .osm.pbf, .graphml), or leave "
                "local_extract out: auto then takes the extract `lastmile fetch --extract` "
                "imported, else a download, else the synthetic stand-in",
            )
        if local_extract is None:  # an extract imported with `lastmile fetch --extract`
            local_extract = imported_extract(cache, region)
        if local_extract is not None:
            choice = str(local_extract)
        elif overpass_reachable(osm_timeout_s):
            choice = "osm"
        else:
            choice = "synthetic"
    if choice == "synthetic":
        path, label = standin_file(region, outline, cache, scale=standin_scale)
        try:
            net = load_network(path, region, cache=cache, synthetic=True, description=label)
        except InputError:
            # the cached stand-in file is damaged (truncated, overwritten): generate it again
            path.unlink()
            path, label = standin_file(region, outline, cache, scale=standin_scale)
            net = load_network(path, region, cache=cache, synthetic=True, description=label)
        return net, NetworkSource("synthetic", path, label)
    if choice == "osm":
        if str(spec) == "osm" and not overpass_reachable(osm_timeout_s):
            # fail at once: osmnx itself would wait out its status pause (60 s) before failing
            raise InputError(
                f"OpenStreetMap (Overpass at {ox.settings.overpass_url}) does not answer "
                f"within {osm_timeout_s:g} s",
                "check the connection, or use --network synthetic or a local extract FILE",
            )
        label = (
            f"OpenStreetMap via Overpass, downloaded {_today()} "
            "(© OpenStreetMap contributors, ODbL)"
        )
        key = _cache_key([str(CACHE_VERSION), outline.wkb_hex, _speed_key(region), _today()])
        cached = cache / f"network-osm-{key}.npz"
        net_or_none = _read_cached(cached)
        if net_or_none is None:
            with osmnx_settings(cache_folder=str(cache / "osmnx-http"), use_cache=True):
                net = build_network("osm", region, outline=outline, description=label)
            net = replace(net, cache_key=key)
            save_network(net, cached)
        else:
            net = replace(net_or_none, cache_key=key)
        return net, NetworkSource("osm", None, label)
    path = Path(choice)
    if is_standin_file(path):  # lastmile's own stand-in, copied or named as a file: still says so
        label = f"{STANDIN_LABEL}, file {path.name}"
        net = load_network(path, region, cache=cache, synthetic=True, description=label)
        return net, NetworkSource("synthetic", path, label)
    if not path.exists():  # a misspelt keyword reads as a file name: name both
        raise InputError(
            f"road-network source {choice!r} is not a file (no {path.resolve()})",
            "give the path of an OSM extract (.osm, .osm.bz2, .osm.pbf, .graphml), "
            "or one of auto, synthetic, osm",
        )
    _check_readable(path)
    kind = graph_file_kind(path)
    dated = _dt.date.fromtimestamp(path.stat().st_mtime).isoformat()
    label = (
        f"OpenStreetMap extract {path.name}, file of {dated} (© OpenStreetMap contributors, ODbL)"
    )
    net = load_extract(path, region, outline=outline, cache=cache, description=label)
    return net, NetworkSource("file", path if kind != "graphml" else None, label)


def load_extract(
    path: Path, region: Region, *, outline: BaseGeometry, cache: Path, description: str
) -> RoadNetwork:
    """A user's OSM extract as :func:`load_network` reads it, refused by :func:`check_covers`
    (before anything is cached) when its roads miss the county."""
    return load_network(
        path,
        region,
        cache=cache,
        description=description,
        accept=lambda net: check_covers(net, outline, region, path),
    )


def outline_share(net: RoadNetwork, outline: BaseGeometry) -> float:
    """Share of the county outline's area inside the convex hull of the network's nodes (0..1):
    a rough measure of how much of the county an extract's roads reach."""
    hull = shapely.MultiPoint(np.column_stack([net.node_lon, net.node_lat])).convex_hull
    return float(hull.intersection(outline).area / outline.area) if outline.area > 0 else 0.0


#: Below this share of the county outline reached by an extract's roads, every command that loads
#: it warns (:func:`coverage_warning`).
EXTRACT_SHARE_WARNING = 0.5


def coverage_warning(
    net: RoadNetwork, outline: BaseGeometry, region: Region, source: NetworkSource
) -> str | None:
    """The warning for a local extract whose roads reach less than
    :data:`EXTRACT_SHARE_WARNING` of the county outline (``None`` otherwise, and for the
    stand-in and a download, which cover the outline by construction).

    ``fetch --extract``, ``network`` and ``plan`` (``local_extract``, ``--network FILE`` or the
    imported extract) give the same text: settlements beyond the roads do not exist for a plan
    made on it, and nothing else would say so.
    """
    if source.kind != "file":
        return None
    share = outline_share(net, outline)
    if share >= EXTRACT_SHARE_WARNING:
        return None
    name = source.osm_file.name if source.osm_file is not None else "the GraphML road network"
    return (
        f"{name}'s roads reach about {share:.0%} of the {region.name} outline: villages "
        "beyond them are left out of every plan made on it (give an extract of the whole county)"
    )


def is_standin_file(path: Path) -> bool:
    """Whether ``path`` is an OSM XML file holding roads of lastmile's synthetic stand-in.

    The generator writes ``<osm generator=...>`` and tags every way ``source=`` with
    :data:`lastmile.standin.SOURCE_TAG`. A copy cut or rewritten by other tools (osmium, JOSM)
    loses the header but keeps the tags, so plain XML is scanned for the tag as well (a stream
    search: well under a second for a county extract). Outputs made from such a file must say
    "synthetic stand-in" even when it is given as an extract or imported with ``fetch --extract``.
    """
    from lastmile.standin import SOURCE_TAG

    if not path.is_file() or not path.name.lower().endswith((".osm", ".xml")):
        return False
    marker = SOURCE_TAG.encode("utf-8")  # a prefix of the generator attribute too
    tail = b""
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            if marker in tail + chunk:
                return True
            tail = chunk[-len(marker) :]
    return False


def imported_extracts_dir(cache: Path, region: Region) -> Path:
    """Where ``lastmile fetch --extract`` keeps the region's imported extract (one at a time)."""
    return cache / "extracts" / region.id


def imported_extract(cache: Path, region: Region) -> Path | None:
    """The extract imported for ``region`` with ``lastmile fetch --extract``, if any."""
    folder = imported_extracts_dir(cache, region)
    if not folder.is_dir():
        return None
    files = sorted(f for f in folder.iterdir() if f.is_file() and not f.name.startswith("."))
    return files[0] if files else None


def check_covers(net: RoadNetwork, outline: BaseGeometry, region: Region, path: Path) -> None:
    """DataError when the drive graph misses the county: no node inside the outline, or none
    within the snap limit of the county centre (every plan starts there: the baseline's depot
    and the trunk's origin)."""
    bounds = ", ".join(f"{v:.3f}" for v in outline.bounds)
    if not shapely.contains_xy(outline, net.node_lon, net.node_lat).any():
        raise DataError(
            f"road-network file {path}: none of its {net.n_nodes:,} drivable-road nodes lies "
            f"inside the {region.name} outline (the roads span lon {net.node_lon.min():.3f}.."
            f"{net.node_lon.max():.3f}, lat {net.node_lat.min():.3f}..{net.node_lat.max():.3f})",
            f"give an extract that covers {region.name} (outline bounds {bounds})",
        )
    centre = region.county_centre
    snap = snap_points(net, [centre.lon], [centre.lat], region.max_snap_m)
    if bool(snap.too_far[0]):
        raise DataError(
            f"road-network file {path}: its roads do not reach the county centre "
            f"{centre.name} ({centre.lon}, {centre.lat}): the nearest is "
            f"{snap.distance_m[0]:,.0f} m away, beyond the snap limit of "
            f"{region.max_snap_m:,.0f} m",
            f"give an extract that covers the whole of {region.name} (outline bounds {bounds})",
        )


def _today() -> str:
    return _dt.date.today().isoformat()

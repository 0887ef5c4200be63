"""Deterministic synthetic stand-in road network, written as OSM XML.

No OpenStreetMap data of the region can be reached offline, so lastmile can run on a *synthetic
stand-in*: a road network generated on the REAL county outline and the REAL township registry, and
written as an ordinary OSM XML file. The offline path then goes through the same loader as real data
(``osmnx.graph_from_xml`` for roads, ``osmnx.features_from_xml`` for place nodes and boundary
relations). Everything in the file apart from the outline and the registry names/codes is invented;
the file says so in its ``generator`` attribute and in a ``source`` tag on every object.

What is synthesised, layer by layer (one function each):

* seats: one point per township; the county seat at the region's county centre, the other
  subdistricts (街道) next to it, the rest spread over the outline by farthest-point seeding and
  Lloyd relaxation;
* areas: Voronoi cells of the seats clipped to the outline (they tile it), written as
  ``admin_level=8`` boundary relations, plus one ``admin_level=6`` relation for the county;
* street grids: a large grid with some one-way streets in the county seat, small grids in the other
  seats, each with a main street crossing it;
* trunk network: trunk/primary roads along a minimum spanning tree of the seats ("valleys") plus a
  couple of extra links, secondary roads between other neighbouring seats; all meander so they are
  1.25-1.6x longer than the crow flies, like mountain roads;
* villages: ``place=village`` nodes with a small street grid, a tertiary/unclassified access road
  joined to the nearest existing node (tree-like growth), a few hamlets and service spurs;
* crossings: where two roads cross, both get a shared node (a real junction);
* bridges, a one-way dead end and a few disconnected fragments, so the loader's cleaning steps have
  something to do.

All geometry is built in the region's metric CRS and every way is densified to
``region.standin.node_spacing_m``. The same seed, scale and inputs give a byte-identical file.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from xml.sax.saxutils import quoteattr

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import Transformer
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import minimum_spanning_tree, shortest_path
from scipy.spatial import Delaunay, cKDTree
from shapely.geometry import LineString, MultiPolygon, Point, Polygon

from lastmile.config import Region, Township
from lastmile.errors import DataError, InputError
from lastmile.io import atomic_path

__all__ = ["GENERATOR", "SOURCE_TAG", "StandinSummary", "write_standin"]

#: ``generator`` attribute of the ``<osm>`` element: every reader can tell this is not OSM data.
GENERATOR = "lastmile synthetic stand-in — NOT real OpenStreetMap data"
#: ``source`` tag value carried by every synthetic node/way/relation with tags.
SOURCE_TAG = "lastmile synthetic stand-in"

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# English unit names used in name:en (pinyin + unit), by registry kind.
_KIND_EN = {"街道": "Subdistrict", "镇": "Town", "乡": "Township"}
# Syllables of synthetic village names ("<first><second>村"); invented, not real village names.
_FIRST = "上下大小东西南北前后新高石黄白青金桃茶竹梅松杨柳龙凤双岩枫桂兰云湖溪里外"
_SECOND = "坑坞源岭口坪湾头岙垄田塘山畈岗洋庄埠桥坳坂垟塆寮铺"
_THIRD = "上下东西前后"


@dataclass(frozen=True)
class StandinSummary:
    """What :func:`write_standin` wrote.

    Attributes
    ----------
    path
        The OSM XML file.
    seed, scale
        The generator inputs.
    nodes, ways, relations
        Element counts in the file (all nodes, including boundary and place nodes).
    road_ways, oneway_ways
        Ways with a ``highway`` tag, and those of them tagged ``oneway=yes``.
    villages
        ``place=village`` nodes (township seats not included).
    townships
        ``admin_level=8`` boundary relations (one per registry township).
    fragments
        Small road pieces joined to nothing else.
    road_km
        Kilometres of road by ``highway`` class.
    seats
        Seat coordinates per 9-digit township code, ``(lon, lat)`` as written (7 decimals).
    sha256
        Content hash of the file.
    note
        Says the network is a synthetic stand-in, not OpenStreetMap data.
    """

    path: Path
    seed: int
    scale: float
    nodes: int
    ways: int
    relations: int
    road_ways: int
    oneway_ways: int
    villages: int
    townships: int
    fragments: int
    road_km: Mapping[str, float]
    seats: Mapping[str, tuple[float, float]]
    sha256: str
    note: str = GENERATOR


# --------------------------------------------------------------------------- builder


@dataclass
class _Way:
    """A way under construction (metric node ids into :class:`_Net`)."""

    nodes: list[int]
    tags: dict[str, str]


@dataclass
class _Net:
    """Mutable node/way store used only inside one :func:`write_standin` call."""

    spacing: float
    _buf: FloatArray = field(default_factory=lambda: np.zeros((1024, 2), np.float64))
    _n: int = 0
    ways: list[_Way] = field(default_factory=list)
    node_tags: dict[int, dict[str, str]] = field(default_factory=dict)

    def add_nodes(self, xy: FloatArray) -> IntArray:
        """Append metric points as new nodes; return their ids."""
        pts = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        need = self._n + len(pts)
        if need > len(self._buf):  # grow by doubling: appends stay amortised O(1)
            grown = np.zeros((max(need, 2 * len(self._buf)), 2), np.float64)
            grown[: self._n] = self._buf[: self._n]
            self._buf = grown
        self._buf[self._n : need] = pts
        ids = np.arange(self._n, need, dtype=np.int64)
        self._n = need
        return ids

    def xy(self) -> FloatArray:
        """All node coordinates so far, ``(n, 2)`` metric (a read-only view)."""
        view = self._buf[: self._n]
        view.flags.writeable = False
        return view

    def add_road(
        self, poly: FloatArray, start: int | None, end: int | None, tags: dict[str, str]
    ) -> list[int]:
        """Resample ``poly`` at the node spacing and add it as a way.

        ``start``/``end`` are existing node ids to join (a junction) or ``None`` for a new node.
        Intermediate nodes are always new: a way shares nodes only where roads meet.
        """
        pts = _resample(poly, self.spacing)
        ids: list[int] = []
        inner = self.add_nodes(pts[1:-1]).tolist() if len(pts) > 2 else []
        ids.append(start if start is not None else int(self.add_nodes(pts[:1])[0]))
        ids.extend(inner)
        ids.append(end if end is not None else int(self.add_nodes(pts[-1:])[0]))
        self.ways.append(_Way(ids, {**tags, "source": SOURCE_TAG}))
        return ids


def _resample(poly: FloatArray, spacing: float) -> FloatArray:
    """Points every ~``spacing`` metres along ``poly`` (first and last point kept exactly)."""
    if len(poly) == 2:  # fast path for straight pieces (grid blocks, lanes)
        d = poly[1] - poly[0]
        n2 = max(1, math.ceil(math.hypot(d[0], d[1]) / spacing))
        out2: FloatArray = poly[0] + np.outer(np.arange(n2 + 1) / n2, d)
        out2[-1] = poly[1]
        return out2
    seg = np.hypot(*np.diff(poly, axis=0).T)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    n = max(1, math.ceil(s[-1] / spacing))
    t = np.linspace(0.0, s[-1], n + 1)
    out = np.column_stack([np.interp(t, s, poly[:, 0]), np.interp(t, s, poly[:, 1])])
    out[0], out[-1] = poly[0], poly[-1]
    return out


def _meander(
    rng: np.random.Generator,
    a: FloatArray,
    b: FloatArray,
    ratio: float,
    wavelength: float,
    inside: Polygon | MultiPolygon,
) -> FloatArray:
    """A smooth winding line from ``a`` to ``b``, ``ratio`` times longer than the chord.

    The lateral offset is a sum of tapered sine waves, so the line never folds back on itself;
    its amplitude is found by bisection (length grows monotonically with it). If the line leaves
    ``inside`` it is redrawn with shorter waves (a smaller amplitude gives the same length) and
    then less winding; a straight line is the last resort.
    """
    d = b - a
    chord = float(np.hypot(*d))
    if chord < 1.0:
        return np.vstack([a, b])
    u = d / chord
    nrm = np.array([-u[1], u[0]])
    t = np.linspace(0.0, 1.0, max(16, int(chord / 15.0)))
    base = a + np.outer(t * chord, u)
    for attempt in range(8):
        waves = max(1.0, chord / wavelength) * (1.0 + 0.5 * attempt)
        shape = np.zeros_like(t)
        for k in (0.3, 0.6, 1.0, 1.7, 2.9, 4.6):  # a red-noise spectrum: big bends, small wiggles
            freq = waves * k * rng.uniform(0.7, 1.3)
            amp = rng.uniform(0.3, 1.0) / k**0.7
            shape += amp * np.sin(2 * np.pi * freq * t + rng.uniform(0, 2 * np.pi))
        shape *= np.sin(np.pi * t)  # taper: start and end exactly at a and b
        shape /= max(float(np.abs(shape).max()), 1e-9)
        target = 1.0 + (ratio - 1.0) * (1.0 - 0.08 * attempt)
        lo, hi = 0.0, chord
        for _ in range(40):
            mid = 0.5 * (lo + hi)
            pts = base + np.outer(mid * shape, nrm)
            if np.hypot(*np.diff(pts, axis=0).T).sum() < target * chord:
                lo = mid
            else:
                hi = mid
        pts = base + np.outer(lo * shape, nrm)
        if bool(shapely.contains_xy(inside, pts[:, 0], pts[:, 1]).all()):
            return pts
    return np.vstack([a, b])


# --------------------------------------------------------------------------- seats and areas


def _short_name(t: Township) -> str:
    """Township name without the unit suffix (王村口镇 -> 王村口, 三仁畲族乡 -> 三仁)."""
    for suffix in ("畲族乡", "街道", "镇", "乡"):
        if t.name.endswith(suffix) and len(t.name) > len(suffix):
            return t.name[: -len(suffix)]
    return t.name


def _grid_size(t: Township, seat_code: str, scale: float) -> tuple[int, float]:
    """Blocks per side and block length (m) of a seat's street grid."""
    if t.code == seat_code:
        n, block = 40, 160.0
    elif t.kind == "街道":
        n, block = 14, 140.0
    elif t.kind == "镇":
        n, block = 14, 120.0
    else:
        n, block = 8, 110.0
    return max(2, 2 * round(n * math.sqrt(scale) / 2)), block


def _place_seats(
    rng: np.random.Generator,
    region: Region,
    outline_m: Polygon | MultiPolygon,
    centre_m: FloatArray,
    radius: FloatArray,
) -> FloatArray:
    """One seat per township, in registry order (metric).

    The county seat sits on the county centre; the other subdistricts next to it (grids 800 m
    apart); the rest are spread by farthest-point seeding and Lloyd relaxation over random samples
    of the outline, kept clear of the county-seat grid and ~2.5 km inside the border.
    """
    seat_code = region.county_centre.township
    codes = [t.code for t in region.townships]
    seats = np.full((len(codes), 2), np.nan)
    ci = codes.index(seat_code)
    seats[ci] = centre_m
    fixed = [ci]

    # other subdistricts: first direction that fits inside the outline (east, then +-5, +-10 ...)
    inner = outline_m.buffer(-1500.0)
    for i, t in enumerate(region.townships):
        if t.kind != "街道" or i == ci:
            continue
        dist = radius[ci] + radius[i] + 800.0
        for k in range(36):
            ang = math.radians(-10.0 * k * (1 if k % 2 else -1) / 2)
            p = centre_m + dist * np.array([math.cos(ang), math.sin(ang)])
            clear = all(np.hypot(*(p - seats[j])) > radius[j] + radius[i] + 500 for j in fixed)
            if clear and inner.contains(Point(p)):
                break
        seats[i] = p
        fixed.append(i)

    # random samples of the outline: the "population" Lloyd relaxation balances
    minx, miny, maxx, maxy = outline_m.bounds
    cand = rng.uniform((minx, miny), (maxx, maxy), size=(30000, 2))
    cand = cand[shapely.contains_xy(outline_m, cand[:, 0], cand[:, 1])]
    deep = outline_m.buffer(-2500.0)
    ok = shapely.contains_xy(deep, cand[:, 0], cand[:, 1])
    for j in fixed:
        ok &= np.hypot(*(cand - seats[j]).T) > radius[j] + 3000.0
    valid = cand[ok]
    free_count = len(codes) - len(fixed)
    if len(valid) < 10 * free_count:
        raise DataError(
            f"the outline of region {region.id!r} is too small or thin to place {free_count} "
            "township seats 2.5 km inside it",
            "check the outline file (it should be the whole county, in WGS84)",
        )

    free = [i for i in range(len(codes)) if i not in fixed]
    # farthest-point seeding from the fixed seats
    chosen: list[FloatArray] = []
    dmin = np.min([np.hypot(*(valid - seats[j]).T) for j in fixed], axis=0)
    for _ in free:
        k = int(np.argmax(dmin))
        chosen.append(valid[k])
        dmin = np.minimum(dmin, np.hypot(*(valid - valid[k]).T))
    pts = np.array(chosen)
    valid_tree = cKDTree(valid)
    fixed_pts = seats[fixed]
    for _ in range(8):  # Lloyd: move each free seat to the centre of the samples nearest to it
        allp = np.vstack([fixed_pts, pts])
        _, owner = cKDTree(allp).query(cand)
        for k in range(len(pts)):
            mine = cand[owner == len(fixed_pts) + k]
            if len(mine):
                _, snap = valid_tree.query(mine.mean(axis=0))
                pts[k] = valid[int(snap)]
    # nearer seats go to towns (镇), farther ones to townships (乡): valleys first, remote last
    order = np.argsort(np.hypot(*(pts - centre_m).T), kind="stable")
    ranked = sorted(free, key=lambda i: (region.townships[i].kind != "镇", i))
    for i, k in zip(ranked, order, strict=True):
        seats[i] = pts[k]
    return seats


def _township_cells(
    seats_m: FloatArray,
    outline_m: Polygon | MultiPolygon,
    outline_ll: Polygon | MultiPolygon,
    to_ll: Transformer,
) -> tuple[list[Polygon | MultiPolygon], list[Polygon | MultiPolygon]]:
    """Voronoi cells of the seats clipped to the outline, metric and WGS84.

    The WGS84 cells are clipped by the WGS84 outline itself (not re-projected), so their outer
    edges are exactly the outline's vertices and the cells tile it.
    """
    vor = shapely.voronoi_polygons(
        shapely.MultiPoint(seats_m), extend_to=outline_m.buffer(20000.0), ordered=True
    )
    cells = list(shapely.get_parts(vor))
    cells_m = [shapely.intersection(c, outline_m) for c in cells]
    cells_ll = [
        shapely.intersection(shapely.transform(c, lambda xy: _tx(to_ll, xy)), outline_ll)
        for c in cells
    ]
    return cells_m, cells_ll


def _tx(t: Transformer, xy: FloatArray) -> FloatArray:
    x, y = t.transform(xy[:, 0], xy[:, 1])
    return np.column_stack([x, y])


# --------------------------------------------------------------------------- street grids


@dataclass(frozen=True)
class _Grid:
    """A street grid: node ids (``-1`` where the border cut it off) and its gate nodes."""

    ids: IntArray
    gates: tuple[int, ...]


def _street_grid(
    net: _Net,
    rng: np.random.Generator,
    centre: FloatArray,
    n: int,
    block: float,
    inside: Polygon | MultiPolygon,
    *,
    street: str,
    main: dict[str, str] | None = None,
    oneway_every: int = 0,
    drop: float = 0.15,
    jitter: float = 0.12,
) -> _Grid:
    """A jittered, slightly rotated ``n`` x ``n`` block grid centred on ``centre``.

    Rows and columns are ways spanning the grid (streets, not block edges) that share their
    crossing nodes. Some block edges are dropped to make dead ends and irregular blocks, but never
    one of a random spanning tree, so the grid stays connected. The middle row and column are the
    main streets (tagged ``main``); with ``oneway_every`` = k every k-th other street is one-way,
    directions alternating so the grid stays strongly connected.
    """
    m = n + 1
    mid = n // 2
    ang = rng.uniform(-0.35, 0.35)
    rot = np.array([[math.cos(ang), -math.sin(ang)], [math.sin(ang), math.cos(ang)]])
    ii, jj = np.meshgrid(np.arange(m), np.arange(m), indexing="ij")
    local = np.column_stack([(ii.ravel() - n / 2) * block, (jj.ravel() - n / 2) * block])
    local += rng.uniform(-jitter, jitter, size=local.shape) * block
    local[mid * m + mid] = (mid - n / 2) * block  # the centre crossing sits on the seat itself
    xy = centre + local @ rot.T
    present = shapely.contains_xy(inside, xy[:, 0], xy[:, 1]).reshape(m, m)
    ids = np.full((m, m), -1, dtype=np.int64)
    ids[present] = net.add_nodes(xy[present.ravel()])

    # block edges between neighbouring crossings; a random spanning tree of them is never dropped
    edges = [(i, j, i + 1, j) for i in range(n) for j in range(m)]
    edges += [(i, j, i, j + 1) for i in range(m) for j in range(n)]
    w = rng.uniform(size=len(edges))
    rows = np.array([a * m + b for a, b, _, _ in edges])
    cols = np.array([c * m + d for _, _, c, d in edges])
    mst = minimum_spanning_tree(coo_matrix((w + 1e-3, (rows, cols)), shape=(m * m, m * m))).tocoo()
    tree = {(int(r), int(c)) for r, c in zip(mst.row, mst.col, strict=True)}
    tree |= {(c, r) for r, c in tree}

    def special(k: int) -> bool:
        return k == mid or (oneway_every > 0 and k % oneway_every == 1)

    dropped = {
        e
        for e, we, r, c in zip(edges, w, rows.tolist(), cols.tolist(), strict=True)
        if we < drop
        and (r, c) not in tree
        and not (e[0] == e[2] and special(e[0]))
        and not (e[1] == e[3] and special(e[1]))
    }

    coords = net.xy()
    for axis in (0, 1):
        for k in range(m):
            cells = [(k, s) for s in range(m)] if axis == 0 else [(s, k) for s in range(m)]
            tags = {"highway": street}
            reverse = False
            if k == mid and main is not None:
                tags = dict(main)
            elif oneway_every > 0 and k % oneway_every == 1:
                tags["oneway"] = "yes"
                reverse = (k // oneway_every + axis) % 2 == 1
            for run in _runs(ids, cells, dropped):
                if reverse:
                    run = run[::-1]
                way = [run[0]]
                for a, b in itertools.pairwise(run):
                    way.extend(net.add_nodes(_resample(coords[[a, b]], net.spacing)[1:-1]).tolist())
                    way.append(b)
                net.ways.append(_Way(way, {**tags, "source": SOURCE_TAG}))

    gates: list[int] = []
    for line in (ids[mid, :], ids[:, mid]):  # the outermost crossings of the two main streets
        on = line[line >= 0]
        if len(on):
            gates.extend([int(on[0]), int(on[-1])])
    return _Grid(ids, tuple(dict.fromkeys(gates)))


def _runs(
    ids: IntArray, cells: list[tuple[int, int]], dropped: set[tuple[int, int, int, int]]
) -> list[list[int]]:
    """Split one grid street into runs of present nodes not separated by a dropped block edge."""
    runs: list[list[int]] = []
    run: list[int] = []
    prev: tuple[int, int] | None = None
    for cell in cells:
        node = int(ids[cell])
        if node < 0 or (prev is not None and (*prev, *cell) in dropped):
            if len(run) >= 2:
                runs.append(run)
            run = []
        if node >= 0:
            run.append(node)
        prev = cell if node >= 0 else None
    if len(run) >= 2:
        runs.append(run)
    return runs


# --------------------------------------------------------------------------- trunk network

# crow-flight -> road length ratios, by class (assumption: mountain roads wind 25-60 % longer)
_RATIO = {
    "trunk": (1.25, 1.4),
    "primary": (1.3, 1.5),
    "secondary": (1.35, 1.6),
    "tertiary": (1.15, 1.45),
    "unclassified": (1.1, 1.4),
}


def _trunk_network(
    net: _Net,
    rng: np.random.Generator,
    region: Region,
    seats_m: FloatArray,
    grids: list[_Grid],
    outline_m: Polygon | MultiPolygon,
    inside: Polygon | MultiPolygon,
) -> list[list[int]]:
    """Roads between township seats; returns the node-id lists of the new ways.

    Candidate links are the Delaunay edges of the seats (neighbouring seats). Their minimum
    spanning tree is the valley network: trunk within two links of the county seat, primary
    further out. Two more links that most shorten a detour on the tree are primary too; the other
    neighbour links up to 16 km become secondary roads. Links whose straight line leaves the
    county are avoided (weighted x3) so the roads stay inside the outline.
    """
    n = len(seats_m)
    ci = [t.code for t in region.townships].index(region.county_centre.township)
    pairs: set[tuple[int, int]] = set()
    for simplex in Delaunay(seats_m).simplices:
        for a in range(3):
            i, j = sorted((int(simplex[a]), int(simplex[(a + 1) % 3])))
            pairs.add((i, j))
    plist = sorted(pairs)
    chord = np.array([float(np.hypot(*(seats_m[i] - seats_m[j]))) for i, j in plist])
    ok = np.array([LineString(seats_m[[i, j]]).within(outline_m) for i, j in plist])
    weight = chord * np.where(ok, 1.0, 3.0)
    pi = np.array([p[0] for p in plist])
    pj = np.array([p[1] for p in plist])
    mst = minimum_spanning_tree(coo_matrix((weight, (pi, pj)), shape=(n, n))).tocoo()
    tree_pairs = {tuple(sorted((int(r), int(c)))) for r, c in zip(mst.row, mst.col, strict=True)}
    hops = shortest_path(mst, directed=False)
    cls: dict[tuple[int, int], str] = {}
    depth = shortest_path(mst, directed=False, unweighted=True)[ci]
    for i, j in plist:
        if (i, j) in tree_pairs:  # trunk: the tree within two links of the county seat
            cls[(i, j)] = "trunk" if max(depth[i], depth[j]) <= 2 else "primary"
    detour = [
        (hops[i, j] / c, (i, j))
        for (i, j), c, good in zip(plist, chord, ok, strict=True)
        if (i, j) not in cls and good and c < 25000
    ]
    for _, p in sorted(detour, reverse=True)[:2]:
        cls[p] = "primary"
    for p, c, good in zip(plist, chord, ok, strict=True):
        if p not in cls and good and c <= 16000:
            cls[p] = "secondary"

    coords = net.xy()
    names = [_short_name(t) for t in region.townships]
    odd_speeds = ["25 mph", "none"]  # odd but valid OSM values, for the loader's parser
    out: list[list[int]] = []
    for (i, j), kind in sorted(cls.items()):
        gi = _gate_towards(grids[i], coords, seats_m[i], seats_m[j])
        gj = _gate_towards(grids[j], coords, seats_m[j], seats_m[i])
        lo, hi = _RATIO[kind]
        poly = _meander(
            rng, coords[gi], coords[gj], rng.uniform(lo, hi), rng.uniform(1500, 4000), inside
        )
        tags = {"highway": kind, "name": f"{names[i]}至{names[j]}公路"}
        if kind in ("trunk", "primary"):
            tags["maxspeed"] = "60"
        elif odd_speeds and rng.uniform() < 0.5:
            tags["maxspeed"] = odd_speeds.pop(0)
        elif rng.uniform() < 0.4:
            tags["maxspeed"] = "40"
        out.append(net.add_road(poly, gi, gj, tags))
    return out


def _gate_towards(grid: _Grid, coords: FloatArray, seat: FloatArray, other: FloatArray) -> int:
    """The grid gate best facing ``other`` (main roads leave a town along its main street)."""
    d = (other - seat) / max(float(np.hypot(*(other - seat))), 1e-9)
    gates = np.array(grid.gates)
    return int(gates[int(np.argmax((coords[gates] - seat) @ d))])


# --------------------------------------------------------------------------- villages


@dataclass(frozen=True)
class _Village:
    name: str
    township: int
    xy: tuple[float, float]
    population: int


def _village_names(rng: np.random.Generator, count: int) -> list[str]:
    """``count`` unique invented names "<syllable><syllable>村" (three syllables if needed)."""
    two = [a + b for a in _FIRST for b in _SECOND]
    names = [two[k] + "村" for k in rng.permutation(len(two))]
    if count > len(names):
        three = [a + b + c for a in _FIRST for b in _SECOND for c in _THIRD]
        names += [three[k] + "村" for k in rng.permutation(len(three))]
    return names[:count]


#: The tags of the stand-in's service lanes: they lead to one farm yard or house, which OSM maps as
#: ``service=driveway``; the drive graph leaves driveways out (README, "Routed road classes"),
#: although the region routes plain ``service`` roads.
_DRIVEWAY = {"highway": "service", "service": "driveway"}


def _spurs(
    net: _Net,
    rng: np.random.Generator,
    way: list[int],
    every_m: float,
    inside: Polygon | MultiPolygon,
) -> None:
    """Short dead-end service lanes (farm yards, houses) leaving ``way`` every ~``every_m``."""
    coords = net.xy()
    step = max(2, round(every_m / net.spacing))
    k = int(rng.integers(2, step + 2))
    while k < len(way) - 2:
        a, b = coords[way[k - 1]], coords[way[k + 1]]
        tangent = (b - a) / max(float(np.hypot(*(b - a))), 1e-9)
        side = 1.0 if rng.uniform() < 0.5 else -1.0
        ang = side * (math.pi / 2 + rng.uniform(-0.5, 0.5))
        c, s = math.cos(ang), math.sin(ang)
        direction = np.array([c * tangent[0] - s * tangent[1], s * tangent[0] + c * tangent[1]])
        start = coords[way[k]]
        end = start + direction * rng.uniform(80, 250)
        if inside.contains(Point(end)):
            net.add_road(np.vstack([start, end]), way[k], None, dict(_DRIVEWAY))
        k += int(rng.integers(max(2, step // 2), step + step // 2 + 1))


def _hamlet(
    net: _Net, rng: np.random.Generator, root_xy: FloatArray, inside: Polygon | MultiPolygon
) -> list[int]:
    """A hamlet: 3-5 residential lanes from a root node, some with a branch; returns its nodes."""
    root = int(net.add_nodes(root_xy)[0])
    nodes = [root]
    for _ in range(int(rng.integers(3, 6))):
        ang = rng.uniform(0, 2 * math.pi)
        end = root_xy + rng.uniform(60, 200) * np.array([math.cos(ang), math.sin(ang)])
        if not inside.contains(Point(end)):
            continue
        lane = net.add_road(np.vstack([root_xy, end]), root, None, {"highway": "residential"})
        nodes += lane[1:]
        if len(lane) > 2 and rng.uniform() < 0.5:
            pivot = lane[len(lane) // 2]
            bang = ang + rng.choice([-1.0, 1.0]) * rng.uniform(0.8, 1.8)
            base = net.xy()[pivot]
            tip = base + rng.uniform(50, 150) * np.array([math.cos(bang), math.sin(bang)])
            if inside.contains(Point(tip)):
                # not returned: other roads join a hamlet's drivable lanes, never a driveway,
                # which the drive network leaves out
                net.add_road(np.vstack([base, tip]), pivot, None, dict(_DRIVEWAY))
    return nodes


def _sq_dist(points: FloatArray, p: FloatArray) -> FloatArray:
    """Squared distances from ``points`` (n, 2) to ``p``."""
    d = points - p
    out: FloatArray = np.einsum("ij,ij->i", d, d)
    return out


def _villages(
    net: _Net,
    rng: np.random.Generator,
    region: Region,
    ti: int,
    cell_m: Polygon | MultiPolygon,
    seat_m: FloatArray,
    seat_radius: float,
    anchors: IntArray,
    names: list[str],
    scale: float,
    inside: Polygon | MultiPolygon,
) -> list[_Village]:
    """Villages of township ``ti``, each joined to the network grown so far (tree-like).

    Villages are sampled in the township cell (>= 300 m from its edge, >= 700 m apart, clear of
    the seat grid) and connected nearest-first: each gets a small street grid and an access road
    from its grid to the nearest existing node of its township (the seat grid, a main road
    through the township, or an earlier village), then 1-3 hamlets joined the same way. Access
    roads carry service spurs. ``names`` is consumed from the front.
    """
    lo, hi = region.standin.villages_per_township
    count = max(1, round(int(rng.integers(lo, hi + 1)) * scale))
    area = cell_m.buffer(-300.0).difference(Point(seat_m).buffer(seat_radius + 400.0))
    if area.is_empty:
        area = cell_m.buffer(-100.0)
    minx, miny, maxx, maxy = area.bounds
    cand = rng.uniform((minx, miny), (maxx, maxy), size=(80 * count + 400, 2))
    cand = cand[shapely.contains_xy(area, cand[:, 0], cand[:, 1])]
    chosen: list[FloatArray] = []
    for p in cand:
        if all(np.hypot(*(p - q)) >= 700.0 for q in chosen):
            chosen.append(p)
            if len(chosen) == count:
                break
    chosen.sort(key=lambda p: float(np.hypot(*(p - seat_m))))
    hamlet_area = cell_m.buffer(-150.0)

    targets: list[IntArray] = [anchors]
    main_like = set(anchors.tolist())
    out: list[_Village] = []

    def join(node_ids: IntArray, centre: FloatArray, kind: str | None) -> None:
        """Road from the node of ``node_ids`` nearest the network to the nearest target."""
        coords = net.xy()
        pool = np.concatenate(targets)
        # one nearest-point query per tree: a linear scan beats building a k-d tree each time
        target = int(pool[int(np.argmin(_sq_dist(coords[pool], centre)))])
        gate = int(node_ids[int(np.argmin(_sq_dist(coords[node_ids], coords[target])))])
        highway = kind or ("tertiary" if target in main_like else "unclassified")
        lo_r, hi_r = _RATIO[highway]
        poly = _meander(
            rng,
            coords[gate],
            coords[target],
            rng.uniform(lo_r, hi_r),
            rng.uniform(500, 1200),
            inside,
        )
        road = net.add_road(poly, gate, target, {"highway": highway})
        _spurs(net, rng, road, 300.0, inside)
        targets.append(np.array(road, dtype=np.int64))

    for p in chosen:
        grid = _street_grid(
            net,
            rng,
            p,
            int(rng.integers(4, 10)),
            rng.uniform(65, 100),
            inside,
            street="residential",
            drop=0.25,
            jitter=0.2,
        )
        village_nodes = grid.ids[grid.ids >= 0]
        if len(village_nodes) == 0:
            continue
        join(village_nodes, p, None)
        targets.append(village_nodes)
        pop = int(np.clip(rng.lognormal(math.log(900), 0.6), 300, 3000))
        name = names.pop(0)
        out.append(_Village(name, ti, (float(p[0]) + 15.0, float(p[1]) + 15.0), pop))
        for _ in range(int(rng.integers(1, 5))):
            ang = rng.uniform(0, 2 * math.pi)
            h = p + rng.uniform(500, 1500) * np.array([math.cos(ang), math.sin(ang)])
            if not hamlet_area.contains(Point(h)):
                continue
            hamlet = np.array(_hamlet(net, rng, h, inside), dtype=np.int64)
            join(hamlet, h, "unclassified")
            targets.append(hamlet)
    return out


# --------------------------------------------------------------------------- crossings, bridges


def _node_crossings(net: _Net) -> int:
    """Give every pair of crossing roads a shared node; return how many junctions were added.

    Two ways that cross without a shared node would be a bridge in OSM; here roads meet where
    they cross, like level junctions. Crossings at an already shared node are left alone.
    """
    coords = net.xy()
    ways = net.ways
    lengths = np.array([len(w.nodes) for w in ways])
    flat = np.concatenate([np.array(w.nodes, dtype=np.int64) for w in ways])
    lines = shapely.linestrings(coords[flat], indices=np.repeat(np.arange(len(ways)), lengths))
    left, right = shapely.STRtree(lines).query(lines, predicate="crosses")
    keep = left < right
    left, right = left[keep], right[keep]
    hits = shapely.intersection(lines[left], lines[right])
    inserts: dict[int, list[tuple[int, float, int]]] = {}  # way -> (segment, t, node)
    # a long street crosses many others: compute its segment vectors once, not per crossing
    cache: dict[int, tuple[FloatArray, FloatArray, FloatArray]] = {}

    def segments(w: int) -> tuple[FloatArray, FloatArray, FloatArray]:
        if w not in cache:
            p = coords[ways[w].nodes]
            ab = p[1:] - p[:-1]
            cache[w] = (p[:-1], ab, np.maximum((ab * ab).sum(axis=1), 1e-12))
        return cache[w]

    added = 0
    for a, b, geom in zip(left.tolist(), right.tolist(), hits, strict=True):
        for pt in shapely.get_coordinates(shapely.get_parts(geom)):
            sa, ta, va = _locate(segments(a), ways[a].nodes, pt)
            sb, tb, vb = _locate(segments(b), ways[b].nodes, pt)
            if va is not None and vb is not None:
                continue  # already a shared node (or two nodes at one spot: leave them)
            if va is not None:
                inserts.setdefault(b, []).append((sb, tb, va))
            elif vb is not None:
                inserts.setdefault(a, []).append((sa, ta, vb))
            else:
                node = int(net.add_nodes(pt)[0])
                added += 1
                inserts.setdefault(a, []).append((sa, ta, node))
                inserts.setdefault(b, []).append((sb, tb, node))
    for wi in sorted(inserts):
        old = ways[wi].nodes
        extra = sorted(inserts[wi])
        new: list[int] = []
        e = 0
        for s, node in enumerate(old):
            new.append(node)
            while e < len(extra) and extra[e][0] == s:
                if extra[e][2] != new[-1]:
                    new.append(extra[e][2])
                e += 1
        ways[wi].nodes = new
    return added


def _locate(
    segments: tuple[FloatArray, FloatArray, FloatArray], nodes: list[int], pt: FloatArray
) -> tuple[int, float, int | None]:
    """Segment index and position of ``pt`` on a way, and the vertex it sits on (if within 5 cm).

    ``segments`` are the way's segment starts, vectors and squared lengths.
    """
    a, ab, ab2 = segments
    t = np.clip(((pt - a) * ab).sum(axis=1) / ab2, 0.0, 1.0)
    d = np.hypot(*(a + ab * t[:, None] - pt).T)
    s = int(np.argmin(d))
    seg_len = float(np.hypot(*ab[s]))
    if t[s] * seg_len < 0.05:
        return s, float(t[s]), nodes[s]
    if (1.0 - t[s]) * seg_len < 0.05:
        return s, float(t[s]), nodes[s + 1]
    return s, float(t[s]), None


def _bridges(net: _Net, rng: np.random.Generator, count: int) -> None:
    """Split ``count`` short stretches out of main/tertiary roads as ``bridge=yes`` ways."""
    usage = np.bincount(np.concatenate([np.array(w.nodes) for w in net.ways]))
    eligible = [
        k
        for k, w in enumerate(net.ways)
        if w.tags.get("highway") in ("trunk", "primary", "secondary", "tertiary")
        and len(w.nodes) > 12
    ]
    if not eligible:
        return
    picks = sorted(
        rng.choice(len(eligible), size=min(count, len(eligible)), replace=False).tolist()
    )
    for pick in picks:
        w = net.ways[eligible[pick]]
        k = int(rng.integers(3, len(w.nodes) - 5))
        if (usage[w.nodes[k + 1 : k + 3]] > 1).any():
            continue  # a junction on the bridge: skip rather than bridge over a crossing
        before, span, after = w.nodes[: k + 1], w.nodes[k : k + 4], w.nodes[k + 3 :]
        w.nodes = before
        net.ways.append(_Way(span, {**w.tags, "bridge": "yes", "layer": "1"}))
        net.ways.append(_Way(after, dict(w.tags)))


def _fragments(
    net: _Net, rng: np.random.Generator, outline_m: Polygon | MultiPolygon, count: int
) -> int:
    """Small road pieces joined to nothing (as in real extracts); returns how many were placed.

    Each is a short track-like Y of an unclassified road and two driveways, placed >= 1.5 km from
    every existing node (relaxed down to 300 m if the county is crowded).
    """
    coords = net.xy()
    tree = cKDTree(coords)
    deep = outline_m.buffer(-500.0)
    minx, miny, maxx, maxy = deep.bounds
    cand = rng.uniform((minx, miny), (maxx, maxy), size=(5000, 2))
    cand = cand[shapely.contains_xy(deep, cand[:, 0], cand[:, 1])]
    dist, _ = tree.query(cand)
    placed = 0
    clearance = 1500.0
    used: list[FloatArray] = []
    while placed < count and clearance >= 300.0:
        for p, d in zip(cand, dist, strict=True):
            if placed == count:
                break
            if d < clearance or any(np.hypot(*(p - q)) < 2 * clearance for q in used):
                continue
            used.append(p)
            hub = int(net.add_nodes(p)[0])
            for arm in range(3):
                ang = rng.uniform(0, 2 * math.pi)
                end = p + rng.uniform(100, 300) * np.array([math.cos(ang), math.sin(ang)])
                tags = {"highway": "unclassified"} if arm == 0 else _DRIVEWAY
                net.add_road(np.vstack([p, end]), hub, None, dict(tags))
            placed += 1
        clearance /= 2
    return placed


def _oneway_dead_end(net: _Net, rng: np.random.Generator, inside: Polygon | MultiPolygon) -> None:
    """A one-way service lane (a driveway) into a dead end: in the file's raw road graph its far
    nodes are outside the strong component; the drive graph leaves driveways out."""
    coords = net.xy()
    for k in rng.permutation(len(net.ways)).tolist():
        w = net.ways[k]
        if w.tags.get("highway") != "residential" or "oneway" in w.tags or len(w.nodes) < 4:
            continue
        start = coords[w.nodes[len(w.nodes) // 2]]
        end = start + np.array([120.0, 90.0])
        if inside.contains(Point(end)):
            net.add_road(
                np.vstack([start, end]),
                w.nodes[len(w.nodes) // 2],
                None,
                {**_DRIVEWAY, "oneway": "yes"},
            )
            return


# --------------------------------------------------------------------------- boundaries and XML


@dataclass
class _Boundaries:
    """Boundary nodes (WGS84, shared by coordinate), closed member ways and relations."""

    first_node: int
    first_way: int
    nodes: dict[tuple[str, str], int] = field(default_factory=dict)
    ways: list[list[int]] = field(default_factory=list)
    relations: list[tuple[list[tuple[int, str]], dict[str, str]]] = field(default_factory=list)

    def ring(self, coords: FloatArray) -> int | None:
        """Add a closed ring as an untagged way; return its way id (None if degenerate)."""
        ids: list[int] = []
        for lon, lat in coords:
            key = (f"{lon:.7f}", f"{lat:.7f}")
            node = self.nodes.setdefault(key, self.first_node + len(self.nodes))
            if not ids or ids[-1] != node:
                ids.append(node)
        if len(ids) < 4 or ids[0] != ids[-1]:
            return None
        self.ways.append(ids)
        return self.first_way + len(self.ways) - 1

    def area(self, geom: Polygon | MultiPolygon, tags: dict[str, str]) -> None:
        """Add a boundary relation: one outer way per shell, one inner way per hole."""
        members: list[tuple[int, str]] = []
        for poly in shapely.get_parts(geom):
            if not isinstance(poly, Polygon) or poly.is_empty:
                continue
            for ring, role in [(poly.exterior, "outer")] + [(r, "inner") for r in poly.interiors]:
                way = self.ring(np.asarray(ring.coords))
                if way is not None:
                    members.append((way, role))
        self.relations.append((members, {**tags, "source": SOURCE_TAG}))


def _township_tags(t: Township) -> dict[str, str]:
    return {
        "type": "boundary",
        "boundary": "administrative",
        "admin_level": "8",
        "name": t.name,
        "name:zh": t.name,
        "name:en": f"{t.pinyin} {_KIND_EN[t.kind]}",
        "ref": t.code,
    }


def _tag_lines(tags: Mapping[str, str]) -> list[str]:
    return [f"    <tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in sorted(tags.items())]


def _render_xml(
    lonlat: FloatArray, net: _Net, bnd: _Boundaries, bnd_lonlat: list[tuple[str, str]]
) -> bytes:
    """The OSM XML document: bounds, nodes, ways, relations, in id order; ids start at 1."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>']
    out.append(f'<osm version="0.6" generator={quoteattr(GENERATOR)}>')
    out.append(
        "  <!-- synthetic stand-in: invented roads and villages on the real county outline "
        "and township registry; NOT real OpenStreetMap data -->"
    )
    lon_all = np.concatenate([lonlat[:, 0], [float(a) for a, _ in bnd_lonlat]])
    lat_all = np.concatenate([lonlat[:, 1], [float(b) for _, b in bnd_lonlat]])
    out.append(
        f'  <bounds minlat="{lat_all.min():.7f}" minlon="{lon_all.min():.7f}" '
        f'maxlat="{lat_all.max():.7f}" maxlon="{lon_all.max():.7f}"/>'
    )
    for i, (lon, lat) in enumerate(lonlat.tolist()):
        head = f'  <node id="{i + 1}" version="1" lat="{lat:.7f}" lon="{lon:.7f}"'
        tags = net.node_tags.get(i)
        if tags:
            out.append(head + ">")
            out.extend(_tag_lines(tags))
            out.append("  </node>")
        else:
            out.append(head + "/>")
    for k, (lon_s, lat_s) in enumerate(bnd_lonlat):
        out.append(
            f'  <node id="{bnd.first_node + k + 1}" version="1" lat="{lat_s}" lon="{lon_s}"/>'
        )
    for wid, way in enumerate(net.ways):
        out.append(f'  <way id="{wid + 1}" version="1">')
        out.extend(f'    <nd ref="{n + 1}"/>' for n in way.nodes)
        out.extend(_tag_lines(way.tags))
        out.append("  </way>")
    for k, ids in enumerate(bnd.ways):
        out.append(f'  <way id="{bnd.first_way + k + 1}" version="1">')
        out.extend(f'    <nd ref="{n + 1}"/>' for n in ids)
        out.append("  </way>")
    for rid, (members, tags) in enumerate(bnd.relations):
        out.append(f'  <relation id="{rid + 1}" version="1">')
        out.extend(f'    <member type="way" ref="{m + 1}" role="{role}"/>' for m, role in members)
        out.extend(_tag_lines(tags))
        out.append("  </relation>")
    out.append("</osm>")
    return ("\n".join(out) + "\n").encode("utf-8")


# --------------------------------------------------------------------------- public API


def _check_inputs(
    region: Region, outline: Polygon | MultiPolygon, scale: float
) -> Polygon | MultiPolygon:
    if not isinstance(outline, Polygon | MultiPolygon) or outline.is_empty:
        raise InputError(
            f"stand-in outline must be a non-empty shapely Polygon or MultiPolygon, got "
            f"{type(outline).__name__}",
            "pass the county outline read from the reference data (WGS84)",
        )
    minx, miny, maxx, maxy = outline.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise InputError(
            f"stand-in outline bounds {outline.bounds} are not WGS84 longitude/latitude",
            "reproject the outline to EPSG:4326 first",
        )
    if not (math.isfinite(scale) and 0 < scale <= 10):
        raise InputError(f"stand-in scale {scale!r} must be in (0, 10]", "use e.g. 1.0 or 0.1")
    centre = Point(region.county_centre.lon, region.county_centre.lat)
    if not outline.contains(centre):
        raise DataError(
            f"county centre ({region.county_centre.lon}, {region.county_centre.lat}) of region "
            f"{region.id!r} is not inside the outline",
            "check [county_centre] in the region file and the outline file",
        )
    return shapely.make_valid(outline) if not outline.is_valid else outline


def write_standin(
    region: Region,
    outline: Polygon | MultiPolygon,
    path: Path,
    *,
    seed: int | None = None,
    scale: float = 1.0,
) -> StandinSummary:
    """Generate the synthetic stand-in network of ``region`` and write it as OSM XML.

    Parameters
    ----------
    region
        The region: its township registry (names, codes, kinds), county centre, metric CRS and
        stand-in settings (seed, villages per township, node spacing).
    outline
        The real county outline, WGS84 lon/lat.
    path
        Where to write the ``.osm`` file (written atomically).
    seed
        Random seed; default ``region.standin.seed``. Same seed and inputs, same bytes.
    scale
        Size factor: fewer villages (x ``scale``) and smaller seat grids (x sqrt(``scale``)) with
        the same structure; 0.1-0.2 makes a network small enough for tests.

    Returns
    -------
    StandinSummary
        Counts, road km by class, seat coordinates, seed and the file's sha256.

    Raises
    ------
    InputError
        If the outline is not a WGS84 polygon, ``scale`` is out of range or ``path`` cannot be
        written.
    DataError
        If the county centre lies outside the outline, or the outline is too small.

    Notes
    -----
    ``osmnx.graph_from_xml`` has no tag filter: it turns every way and node of the file into the
    graph, so the untagged boundary member ways (edges without ``highway``) and the place nodes
    (isolated nodes) come in too, as they would from a real extract. Keep the largest component
    (``retain_all=False``) or the edges with a ``highway`` tag.
    """
    outline = _check_inputs(region, outline, scale)
    try:  # fail before the generation work, not after it
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            f"cannot create directory {Path(path).parent}: {exc}", "pick a writable path"
        ) from exc
    seed = region.standin.seed if seed is None else int(seed)
    rng = np.random.default_rng(seed)
    to_m = Transformer.from_crs("EPSG:4326", region.projected_crs, always_xy=True)
    to_ll = Transformer.from_crs(region.projected_crs, "EPSG:4326", always_xy=True)
    outline_m = shapely.transform(outline, lambda xy: _tx(to_m, xy))
    inside = outline_m.buffer(-100.0)  # roads keep 100 m from the border
    # thousands of point-in-outline tests follow (meanders, spurs, hamlets): prepare it once
    shapely.prepare(inside)
    centre_m = _tx(to_m, np.array([[region.county_centre.lon, region.county_centre.lat]]))[0]
    net = _Net(spacing=region.standin.node_spacing_m)
    seat_code = region.county_centre.township

    # 1. seats and township areas
    sizes = [_grid_size(t, seat_code, scale) for t in region.townships]
    radius = np.array([n * block / 2 * math.sqrt(2) for n, block in sizes])
    seats_m = _place_seats(rng, region, outline_m, centre_m, radius)
    cells_m, cells_ll = _township_cells(seats_m, outline_m, outline, to_ll)

    # 2. seat street grids (one-way streets in the subdistricts) and seat place nodes
    names = [_short_name(t) for t in region.townships]
    grids: list[_Grid] = []
    seat_nodes: dict[str, int] = {}  # township code -> its place node
    for i, t in enumerate(region.townships):
        n, block = sizes[i]
        is_seat = t.code == seat_code
        main = {"highway": "primary" if is_seat else "secondary", "name": f"{names[i]}大街"}
        grids.append(
            _street_grid(
                net,
                rng,
                seats_m[i],
                n,
                block,
                inside,
                street="residential",
                main=main,
                oneway_every=4 if t.kind == "街道" else 0,
            )
        )
        place = "suburb" if t.kind == "街道" and not is_seat else "town"
        pop = (
            60000
            if is_seat
            else int(
                rng.integers(15000, 30000)
                if t.kind == "街道"
                else rng.integers(4000, 12000)
                if t.kind == "镇"
                else rng.integers(1500, 4000)
            )
        )
        node = int(net.add_nodes(seats_m[i])[0])
        tags = {
            "place": place,
            "name": t.name,
            "name:en": f"{t.pinyin} {_KIND_EN[t.kind]}",
            "population": str(pop),
            "source": SOURCE_TAG,
        }
        if is_seat:
            tags["capital"] = "6"
        net.node_tags[node] = tags
        seat_nodes[t.code] = node

    # 3. valley network between seats (with farm-road spurs)
    main_ways = _trunk_network(net, rng, region, seats_m, grids, outline_m, inside)
    for way in main_ways:
        _spurs(net, rng, way, 800.0, inside)

    # 4. villages, township by township
    coords = net.xy()
    main_nodes = np.unique(np.concatenate([np.array(w, dtype=np.int64) for w in main_ways]))
    total = sum(
        max(1, round(region.standin.villages_per_township[1] * scale)) for _ in region.townships
    )
    village_names = _village_names(rng, total)
    villages: list[_Village] = []
    for i in range(len(region.townships)):
        in_cell = main_nodes[
            shapely.contains_xy(cells_m[i], coords[main_nodes, 0], coords[main_nodes, 1])
        ]
        grid_nodes = grids[i].ids[grids[i].ids >= 0]
        anchors = np.concatenate([grid_nodes, in_cell]).astype(np.int64)
        villages += _villages(
            net,
            rng,
            region,
            i,
            cells_m[i],
            seats_m[i],
            float(radius[i]),
            anchors,
            village_names,
            scale,
            inside,
        )
    for v in villages:
        node = int(net.add_nodes(np.array(v.xy))[0])
        net.node_tags[node] = {
            "place": "village",
            "name": v.name,
            "population": str(v.population),
            "source": SOURCE_TAG,
        }

    # 5. junctions where roads cross, a few bridges, then pieces the loader has to clean away
    # (the dead end first: where it crosses a street it gets a junction; its tip stays a dead end)
    _oneway_dead_end(net, rng, inside)
    _node_crossings(net)
    _bridges(net, rng, 8)
    fragments = _fragments(net, rng, outline_m, 4)

    # 6. boundaries (WGS84) and the file
    n_nodes = len(net.xy())
    bnd = _Boundaries(first_node=n_nodes, first_way=len(net.ways))
    for i, t in enumerate(region.townships):
        bnd.area(cells_ll[i], _township_tags(t))
    bnd.area(
        outline,
        {
            "type": "boundary",
            "boundary": "administrative",
            "admin_level": "6",
            "name": region.name_local or region.name,
            "name:en": region.name,
            "ref": region.code,
        },
    )
    lonlat = _tx(to_ll, net.xy())
    # the county seat exactly on the configured centre, not off by the projection round trip
    lonlat[seat_nodes[seat_code]] = (region.county_centre.lon, region.county_centre.lat)
    bnd_lonlat = list(bnd.nodes)
    data = _render_xml(lonlat, net, bnd, bnd_lonlat)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)

    return StandinSummary(
        path=Path(path),
        seed=seed,
        scale=scale,
        nodes=len(lonlat) + len(bnd.nodes),
        ways=len(net.ways) + len(bnd.ways),
        relations=len(bnd.relations),
        road_ways=len(net.ways),
        oneway_ways=sum(1 for w in net.ways if w.tags.get("oneway") == "yes"),
        villages=len(villages),
        townships=len(region.townships),
        fragments=fragments,
        road_km=MappingProxyType(_road_km(net)),
        seats=MappingProxyType(
            {
                code: (round(float(lonlat[k, 0]), 7), round(float(lonlat[k, 1]), 7))
                for code, k in seat_nodes.items()
            }
        ),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def _road_km(net: _Net) -> dict[str, float]:
    """Kilometres of road by highway class (metric geometry as written)."""
    coords = net.xy()
    km: dict[str, float] = {}
    for w in net.ways:
        length = float(np.hypot(*np.diff(coords[w.nodes], axis=0).T).sum()) / 1000.0
        km[w.tags["highway"]] = km.get(w.tags["highway"], 0.0) + length
    return {k: round(v, 3) for k, v in sorted(km.items())}

"""Readers for published benchmark instances.

- OR-Library p-median (Beasley 1985): ``n edges p`` then ``i j cost`` per undirected edge; the cost
  matrix is all-pairs shortest paths on that graph, and when an edge appears twice the last value
  wins (OR-Library convention).
- Solomon (1987) VRPTW: vehicle number and capacity, then one line per node (depot first) with
  coordinates, demand, ready time, due date and service time; :func:`solomon_problem` turns one
  into a :class:`~lastmile.routing.RoutingProblem`.

The full sets are read where they are (``shared/data/benchmarks``); the few instances the tests
use are committed under ``tests/data`` (see its PROVENANCE.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import shortest_path

from lastmile.errors import InputError
from lastmile.routing import COST_SCALE, Depot, Order, RoutingProblem, VehicleType


def _numbers(path: Path) -> list[str]:
    try:
        text = Path(path).read_text(encoding="ascii", errors="strict")
    except FileNotFoundError as exc:
        raise InputError(f"instance file {path} does not exist", "check the path") from exc
    except (UnicodeDecodeError, IsADirectoryError) as exc:
        raise InputError(f"instance file {path} is not a text instance", "check the file") from exc
    return text.split()


def _ints(path: Path, tokens: list[str], what: str) -> list[int]:
    try:
        return [int(float(t)) for t in tokens]
    except ValueError as exc:
        raise InputError(
            f"{path}: {what} holds a non-number: {exc}", "check the file format"
        ) from exc


@dataclass(frozen=True)
class PMedianInstance:
    """An OR-Library p-median instance with its all-pairs shortest-path cost matrix."""

    name: str
    n: int
    p: int
    cost: NDArray[np.int64]


def read_pmed(path: str | Path) -> PMedianInstance:
    """Read an OR-Library ``pmedX.txt`` file and compute its shortest-path cost matrix."""
    p_ = Path(path)
    tokens = _numbers(p_)
    if len(tokens) < 3:
        raise InputError(f"{p_}: too short for a p-median instance", "expected 'n edges p' first")
    n, m, p = _ints(p_, tokens[:3], "the header")
    body = _ints(p_, tokens[3 : 3 + 3 * m], "the edge list")
    if len(body) != 3 * m:
        raise InputError(f"{p_}: header says {m} edges, file holds {len(body) // 3}", "truncated?")
    extra = len(tokens) - 3 - 3 * m
    if extra:  # lines past the header's count would be ignored without a word: which count is it?
        held = f"{m + extra // 3}" if extra % 3 == 0 else f"{m} and {extra} more number(s)"
        raise InputError(
            f"{p_}: header says {m} edges, file holds {held} (an edge is 'i j cost')",
            "fix the header's edge count or remove the extra lines",
        )
    edges = np.asarray(body, dtype=np.int64).reshape(m, 3)
    if edges[:, :2].min() < 1 or edges[:, :2].max() > n:
        raise InputError(f"{p_}: an edge names a node outside 1..{n}", "check the file")
    negative = np.flatnonzero(edges[:, 2] < 0)
    if negative.size:  # shortest paths are undefined (Dijkstra would loop on a negative cycle)
        i, j, c = edges[negative[0]].tolist()
        raise InputError(
            f"{p_}: edge {i}-{j} (edge {negative[0] + 1} of {m}) has a negative cost {c}",
            "edge costs are distances: give costs >= 0",
        )
    # last value wins for repeated edges: keep the last occurrence of each unordered pair
    weights: dict[tuple[int, int], int] = {}
    for i, j, c in edges.tolist():
        a, b = (i - 1, j - 1) if i <= j else (j - 1, i - 1)
        weights[(a, b)] = c
    rows = np.array([k[0] for k in weights] + [k[1] for k in weights])
    cols = np.array([k[1] for k in weights] + [k[0] for k in weights])
    vals = np.array(list(weights.values()) * 2, dtype=np.float64)
    graph = coo_matrix((vals, (rows, cols)), shape=(n, n)).tocsr()
    dist = shortest_path(graph, method="D", directed=False)
    if not np.isfinite(dist).all():
        raise InputError(f"{p_}: the graph is not connected", "check the file")
    return PMedianInstance(name=p_.stem, n=n, p=p, cost=dist.astype(np.int64))


@dataclass(frozen=True)
class SolomonInstance:
    """A Solomon VRPTW instance; row 0 is the depot. Times and coordinates as published."""

    name: str
    vehicles: int
    capacity: int
    x: NDArray[np.float64]
    y: NDArray[np.float64]
    demand: NDArray[np.int64]
    ready: NDArray[np.int64]
    due: NDArray[np.int64]
    service: NDArray[np.int64]

    def distance_trunc1(self) -> NDArray[np.int64]:
        """Integer arc lengths ``floor(10 * euclid)``: the distance-only convention, in tenths."""
        dx = self.x[:, None] - self.x[None, :]
        dy = self.y[:, None] - self.y[None, :]
        return np.floor(10.0 * np.hypot(dx, dy) + 1e-9).astype(np.int64)


def read_solomon(path: str | Path) -> SolomonInstance:
    """Read a Solomon instance file (original text format, CRLF or LF)."""
    p_ = Path(path)
    try:
        lines = p_.read_text(encoding="ascii").splitlines()
    except FileNotFoundError as exc:
        raise InputError(f"instance file {p_} does not exist", "check the path") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{p_} is not a Solomon text instance", "check the file") from exc
    try:
        vi = next(i for i, line in enumerate(lines) if line.strip().upper().startswith("NUMBER"))
        vehicles, capacity = (int(v) for v in lines[vi + 1].split()[:2])
        # the customer table follows its column header, "CUST NO.  XCOORD. ..."
        head = max(i for i, line in enumerate(lines) if line.strip().upper().startswith("CUST"))
    except (StopIteration, ValueError, IndexError):
        raise InputError(
            f"{p_}: not a Solomon instance (no VEHICLE / NUMBER CAPACITY section, or no "
            "CUST NO. column header)",
            "give a Solomon-format VRPTW file (C101.txt, R1_2_1.TXT ...)",
        ) from None
    # every row of the table counts: a damaged or cut row must not leave a smaller instance
    # that is then reported under the full one's name
    values: list[list[float]] = []
    for number, line in enumerate(lines[head + 1 :], start=head + 2):
        fields = line.split()
        if not fields:
            continue
        where = f"{p_}, line {number} (customer {fields[0]})"
        if len(fields) != 7:
            raise InputError(
                f"{where}: {len(fields)} fields, expected 7 (CUST NO., XCOORD., YCOORD., DEMAND, "
                "READY TIME, DUE DATE, SERVICE TIME)",
                "the file is damaged or cut short: take a fresh copy of the instance",
            )
        try:
            row = [float(v) for v in fields]
        except ValueError as exc:
            raise InputError(f"{where}: not a number ({exc})", "check the file") from None
        if row[0] != len(values):
            raise InputError(
                f"{where}: customer numbers must run 0, 1, 2 ... in order; expected {len(values)}",
                "the file is damaged or cut short: take a fresh copy of the instance",
            )
        values.append(row)
    if len(values) < 2:
        raise InputError(f"{p_}: no depot row (customer 0) or no customers", "check the file")
    data = np.array(values)
    return SolomonInstance(
        name=lines[0].strip() or p_.stem,
        vehicles=vehicles,
        capacity=capacity,
        x=data[:, 1],
        y=data[:, 2],
        demand=data[:, 3].astype(np.int64),
        ready=data[:, 4].astype(np.int64),
        due=data[:, 5].astype(np.int64),
        service=data[:, 6].astype(np.int64),
    )


def solomon_problem(instance: SolomonInstance) -> RoutingProblem:
    """Map a :class:`SolomonInstance` onto a :class:`~lastmile.routing.RoutingProblem`.

    Distance-only convention: arcs are ``floor(10 * euclid)`` (tenths, used as "metres"), travel
    times are the same integers, and ready/due/service times are scaled by 10. One depot, the
    published number of identical vehicles, capacity ``Q`` on dimension ``"q"``, cost 1 per unit of
    distance. ``route distance / 10`` compares with ``dist_bks_distance_trunc1``.
    """
    dist = instance.distance_trunc1()
    depot = Depot("depot", 0)
    vt = VehicleType(
        id="truck",
        refrigerated=False,
        capacity={"q": int(instance.capacity)},
        count_per_depot=int(instance.vehicles),
        shift_start_s=int(instance.ready[0]) * 10,
        shift_end_s=int(instance.due[0]) * 10,
        cost_per_km=1000.0 / COST_SCALE,
    )
    orders = tuple(
        Order(
            id=str(i),
            kind="delivery",
            location=i,
            quantity={"q": int(instance.demand[i])},
            service_s=int(instance.service[i]) * 10,
            time_window=(int(instance.ready[i]) * 10, int(instance.due[i]) * 10),
        )
        for i in range(1, len(dist))
    )
    return RoutingProblem(dist, dist, (depot,), (vt,), orders)

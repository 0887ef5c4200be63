"""Readers for published benchmark instances.

- OR-Library p-median (Beasley 1985): ``n edges p`` then ``i j cost`` per undirected edge; the cost
  matrix is all-pairs shortest paths on that graph, and when an edge appears twice the last value
  wins (OR-Library convention).
- Solomon (1987) VRPTW: vehicle number and capacity, then one line per node (depot first) with
  coordinates, demand, ready time, due date and service time; :func:`solomon_problem` turns one
  into a :class:`~lastmile.routing.RoutingProblem`.

The full sets are read where they are (``shared/data/benchmarks``); the few instances the tests
use are committed under ``tests/data`` (see its PROVENANCE.md). Their published values
(``solomon_bks.csv``, ``pmed_opt.csv``) lie beside the instance folders and are found by
:func:`reference_values`, for ``lastmile bench`` and the benchmark scripts alike.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import shortest_path

from lastmile.errors import InputError
from lastmile.routing import COST_SCALE, Depot, Order, RoutingProblem, VehicleType


def _instance_text(path: Path, what: str) -> str:
    """The text of an instance file; a missing, unreadable or non-text file, or a folder, is one
    clear error (``what`` names the format in the non-text message)."""
    try:
        return path.read_text(encoding="ascii", errors="strict")
    except FileNotFoundError as exc:
        raise InputError(f"instance file {path} does not exist", "check the path") from exc
    except IsADirectoryError as exc:  # the instance folder given for its files (bb25 D8)
        raise InputError(
            f"{path} is a folder", f"give the instance files ({path / '*.txt'})"
        ) from exc
    except PermissionError as exc:
        raise InputError(f"instance file {path} is not readable", "check its permissions") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"instance file {path} is not a {what}", "check the file") from exc
    except OSError as exc:
        raise InputError(f"instance file {path} is not readable ({exc})", "check the file") from exc


def _numbers(path: Path) -> list[str]:
    return _instance_text(path, "text instance").split()


#: The largest magnitude a number of an instance file may have (coordinates, times, demands,
#: counts, edge costs). Beyond it a value is a damaged file, not an instance: 1e300 overflowed the
#: int64 casts into an internal error, a numpy RuntimeWarning or a mangled time window (bb26 D12),
#: and scaled distances and path sums stay well inside int64 below it.
MAX_INSTANCE_NUMBER = 1e9
MAX_INSTANCE_NUMBER_TEXT = "1e9"


def _floats(path: Path, tokens: list[str], what: str) -> NDArray[np.float64]:
    """The tokens as numbers; a token that is not one (``nan`` included) is one clear error."""
    try:
        values = np.array([float(t) for t in tokens], dtype=np.float64)
    except ValueError as exc:
        raise InputError(
            f"{path}: {what} holds a non-number: {exc}", "check the file format"
        ) from exc
    if np.isnan(values).any():
        shown = tokens[int(np.flatnonzero(np.isnan(values))[0])]
        raise InputError(f"{path}: {what} holds a non-number: {shown!r}", "check the file format")
    return values


@dataclass(frozen=True)
class PMedianInstance:
    """An OR-Library p-median instance with its all-pairs shortest-path cost matrix."""

    name: str
    n: int
    edges: int
    p: int
    cost: NDArray[np.int64]


def read_pmed(path: str | Path) -> PMedianInstance:
    """Read an OR-Library ``pmedX.txt`` file and compute its shortest-path cost matrix."""
    p_ = Path(path)
    tokens = _numbers(p_)
    if len(tokens) < 3:
        raise InputError(f"{p_}: too short for a p-median instance", "expected 'n edges p' first")
    header = _floats(p_, tokens[:3], "the header")
    beyond = np.flatnonzero(~(np.abs(header) <= MAX_INSTANCE_NUMBER))
    if beyond.size:  # checked before the int cast: inf or 1e300 must not reach it (bb26 D12)
        raise InputError(
            f"{p_}: the header 'n edges p' holds {tokens[int(beyond[0])]}, not a finite number "
            f"within ±{MAX_INSTANCE_NUMBER_TEXT}",
            "check the file",
        )
    n, m, p = (int(v) for v in header)
    body = _floats(p_, tokens[3 : 3 + 3 * max(m, 0)], "the edge list")
    if len(body) != 3 * m:
        raise InputError(f"{p_}: header says {m} edges, file holds {len(body) // 3}", "truncated?")
    extra = len(tokens) - 3 - 3 * m
    if extra:  # lines past the header's count would be ignored without a word: which count is it?
        held = f"{m + extra // 3}" if extra % 3 == 0 else f"{m} and {extra} more number(s)"
        raise InputError(
            f"{p_}: header says {m} edges, file holds {held} (an edge is 'i j cost')",
            "fix the header's edge count or remove the extra lines",
        )
    numbers = body.reshape(m, 3)

    def edge_name(k: int) -> str:
        """Edge ``k`` (0-based) as the file writes it: ``edge 1-101 (edge 1 of 200)``."""
        i_text, j_text = tokens[3 + 3 * k : 5 + 3 * k]
        return f"edge {i_text}-{j_text} (edge {k + 1} of {m})"

    # both checks come before the int cast: inf or 1e300 must not reach it (bb26 D12)
    outside = np.flatnonzero(~((numbers[:, :2] >= 1) & (numbers[:, :2] <= n)).all(axis=1))
    if outside.size:  # the edge named, as the negative cost is (bb26 D13)
        raise InputError(
            f"{p_}: {edge_name(int(outside[0]))} names a node outside 1..{n}", "check the file"
        )
    huge = np.flatnonzero(~(np.abs(numbers[:, 2]) <= MAX_INSTANCE_NUMBER))
    if huge.size:
        k = int(huge[0])
        raise InputError(
            f"{p_}: {edge_name(k)} has a cost {tokens[5 + 3 * k]} beyond "
            f"±{MAX_INSTANCE_NUMBER_TEXT}",
            "check the file",
        )
    edges = numbers.astype(np.int64)
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
    return PMedianInstance(name=p_.stem, n=n, edges=m, p=p, cost=dist.astype(np.int64))


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

    @property
    def customers(self) -> int:
        """Number of customers (rows after the depot)."""
        return len(self.x) - 1

    def distance_trunc1(self) -> NDArray[np.int64]:
        """Integer arc lengths ``floor(10 * euclid)``: the distance-only convention, in tenths."""
        dx = self.x[:, None] - self.x[None, :]
        dy = self.y[:, None] - self.y[None, :]
        return np.floor(10.0 * np.hypot(dx, dy) + 1e-9).astype(np.int64)


#: The columns of a Solomon customer table, as its header names them.
SOLOMON_COLUMNS = (
    "CUST NO.",
    "XCOORD.",
    "YCOORD.",
    "DEMAND",
    "READY TIME",
    "DUE DATE",
    "SERVICE TIME",
)


def _solomon_number(value: float) -> str:
    """A value of a Solomon table as the file writes it (``15``, not ``15.0``)."""
    return str(int(value)) if value.is_integer() else str(value)


def _check_solomon_row(where: str, row: list[float], capacity: int) -> None:
    """Refuse a table row the routing model would refuse or could never serve, in the file's own
    terms: a negative value, a DUE DATE before the READY TIME, a DEMAND above the VEHICLE
    CAPACITY (row 0, the depot, carries no demand: its times are the vehicles' day).

    Caught later, a negative READY TIME came out as the model's "order '5': time window (-50,
    670) ... seconds" (times x 10) without file or line (bb25 D22), and a customer heavier than
    the vehicle as ``"feasible": false`` with no reason, exit 0 (bb25 D23).

    Raises
    ------
    InputError
        Naming ``where`` (file, line, customer) and the values.
    """
    demand, ready, due, service = row[3:7]
    shown = _solomon_number
    if ready < 0:
        raise InputError(
            f"{where}: READY TIME {shown(ready)} is negative (DUE DATE {shown(due)})",
            "check the file",
        )
    if due < ready:
        raise InputError(
            f"{where}: DUE DATE {shown(due)} is before READY TIME {shown(ready)}",
            "check the file",
        )
    for column, value in (("DEMAND", demand), ("SERVICE TIME", service)):
        if value < 0:
            raise InputError(f"{where}: {column} {shown(value)} is negative", "check the file")
    if row[0] > 0 and demand > capacity:
        raise InputError(
            f"{where}: DEMAND {shown(demand)} exceeds the VEHICLE CAPACITY {capacity}",
            "no vehicle can serve it: check the file",
        )


def read_solomon(path: str | Path) -> SolomonInstance:
    """Read a Solomon instance file (original text format, CRLF or LF).

    Raises
    ------
    InputError
        The file is missing, unreadable or not a Solomon instance; a row is damaged, out of
        order or holds a value no route can meet (a negative value, a DUE DATE before the READY
        TIME, a DEMAND above the VEHICLE CAPACITY, a number beyond ±1e9, no vehicle): the
        message names the file, the line and the
        customer, in the file's own column names.
    """
    p_ = Path(path)
    lines = _instance_text(p_, "Solomon text instance").splitlines()
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
    for heading, count in (("NUMBER", vehicles), ("CAPACITY", capacity)):
        if count < 0:  # the routing model refuses it in its own terms (a vehicle type's count)
            raise InputError(
                f"{p_}, line {vi + 2}: VEHICLE {heading} {count} is negative", "check the file"
            )
        if count > MAX_INSTANCE_NUMBER:  # beyond it the model's int64 sums overflow (bb26 D12)
            raise InputError(
                f"{p_}, line {vi + 2}: VEHICLE {heading} {count} is beyond "
                f"{MAX_INSTANCE_NUMBER_TEXT}",
                "check the file",
            )
    if vehicles == 0:  # was solved as "nothing_to_route", exit 0, with 100 customers (bb26 D10)
        raise InputError(
            f"{p_}, line {vi + 2}: VEHICLE NUMBER 0: no vehicle to route", "check the file"
        )
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
        # float() reads "nan", "inf" and 1e300; each is refused here, before the int64 casts
        # (1e300 came out as a numpy RuntimeWarning and a mangled time window, bb26 D12)
        for column, text, value in zip(SOLOMON_COLUMNS, fields, row, strict=True):
            if not abs(value) <= MAX_INSTANCE_NUMBER:
                raise InputError(
                    f"{where}: {column} {text} is not a finite number within "
                    f"±{MAX_INSTANCE_NUMBER_TEXT}",
                    "check the file",
                )
        if row[0] != len(values):
            raise InputError(
                f"{where}: customer numbers must run 0, 1, 2 ... in order; expected {len(values)}",
                "the file is damaged or cut short: take a fresh copy of the instance",
            )
        _check_solomon_row(where, row, capacity)
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


# --------------------------------------------------------------------------- published values

#: The reference table of each instance family, and its columns: name, value, vehicles (or None).
#: Solomon: the distance-only best known (``floor(10 * euclid)`` arcs, as :func:`solomon_problem`
#: routes); p-median: the proven optimum.
REFERENCE_TABLES: dict[str, tuple[str, str, str, str | None, str]] = {
    "solomon": (
        "solomon_bks.csv",
        "instance",
        "dist_bks_distance_trunc1",
        "dist_bks_vehicles",
        "best known (distance-only convention)",
    ),
    "pmedian": ("pmed_opt.csv", "instance", "optimal", None, "optimal"),
}

#: The columns of each reference table that give the instance's size, and how a count reads. A
#: file whose own counts differ is not the table's instance (cut short, renamed or mixed up) and
#: is not scored against its value: a truncated C101 came out 63.8 % below a proven optimum
#: (bb25 D9), a p = 5 file named pmed3 36.9 % above pmed3's p = 10 optimum (bb25 D13). A table
#: without these columns is read as before, without the check.
REFERENCE_SIZE_COLUMNS: dict[str, dict[str, str]] = {
    "solomon": {"customers": "{} customers"},
    "pmedian": {"n": "n = {}", "edges": "{} edges", "p": "p = {}"},
}


@dataclass(frozen=True)
class ReferenceValue:
    """The published value an instance's result is scored against.

    Attributes
    ----------
    instance
        The instance's name as the table spells it.
    value
        Best-known distance (Solomon, distance-only convention) or optimal objective (p-median).
    vehicles
        Vehicles of the best-known Solomon solution; ``None`` for p-median.
    kind
        What the value is: ``"optimal"`` or ``"best known (distance-only convention)"``.
    source
        The table it comes from.
    size
        The instance's size as the table gives it (:data:`REFERENCE_SIZE_COLUMNS`: Solomon
        ``customers``; p-median ``n``, ``edges``, ``p``); empty when the table has no such column.
    """

    instance: str
    value: float
    vehicles: int | None
    kind: str
    source: Path
    size: dict[str, int] = field(default_factory=dict)

    def check_size(self, instance_file: str | Path, held: dict[str, int]) -> None:
        """Refuse an instance file whose counts differ from the table's row.

        Parameters
        ----------
        instance_file
            The file, named in the message.
        held
            The file's own counts under the table's column names (``customers``; ``n``,
            ``edges``, ``p``); counts the table does not give are not compared.

        Raises
        ------
        InputError
            A count differs: the file is not the instance the value belongs to.
        """
        differ = [k for k in held if k in self.size and self.size[k] != held[k]]
        if not differ:
            return
        phrases = {k: v for family in REFERENCE_SIZE_COLUMNS.values() for k, v in family.items()}
        ours = ", ".join(phrases[k].format(held[k]) for k in differ)
        theirs = ", ".join(phrases[k].format(self.size[k]) for k in differ)
        raise InputError(
            f"{instance_file} has {ours}, {self.source}'s {self.instance} has {theirs}",
            "not that instance (truncated, renamed or mixed up?): take the published file, or "
            f"solve a copy where no {self.source.name} is in its folder or the folder above "
            "(then it has no reference value)",
        )

    def gap_pct(self, found: float) -> float | None:
        """``100 (found - value) / value``, rounded to 3 decimals; ``None`` when the value is 0."""
        if self.value == 0:
            return None
        return round(100.0 * (found - self.value) / self.value, 3)


def reference_table(instance_dir: str | Path, family: Literal["solomon", "pmedian"]) -> Path | None:
    """The reference table of ``family`` beside an instance folder, or ``None``.

    Looked for in the folder itself, then in its parent: the reference data keep
    ``benchmarks/solomon_bks.csv`` beside ``benchmarks/solomon/`` (and ``homberger_200/``), and
    ``benchmarks/pmed_opt.csv`` beside ``benchmarks/pmed/``.
    """
    name = REFERENCE_TABLES[family][0]
    folder = Path(instance_dir)
    for candidate in (folder / name, folder.parent / name):
        if candidate.is_file():
            return candidate
    return None


def reference_values(
    instance_dir: str | Path, family: Literal["solomon", "pmedian"]
) -> dict[str, ReferenceValue]:
    """The published values beside an instance folder (:func:`reference_table`), by instance name
    in upper case; empty when there is no table. Rows without a value are left out.

    Raises
    ------
    InputError
        The table lacks its columns or holds a value that is not a number.
    """
    path = reference_table(instance_dir, family)
    if path is None:
        return {}
    _, name_col, value_col, vehicles_col, kind = REFERENCE_TABLES[family]
    try:
        with open(path, encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not readable ({exc})", "check the reference table") from None
    needed = [c for c in (name_col, value_col, vehicles_col) if c is not None]
    missing = [c for c in needed if rows and c not in rows[0]]
    if missing or not rows:
        raise InputError(
            f"{path}: not a reference table (no rows, or missing column(s) {', '.join(missing)})",
            f"it needs the columns {', '.join(needed)}",
        )
    out: dict[str, ReferenceValue] = {}
    for row in rows:
        name, value = (row.get(name_col) or "").strip(), (row.get(value_col) or "").strip()
        if not name or not value:
            continue
        vehicles_text = (row.get(vehicles_col) or "").strip() if vehicles_col else ""
        size_text = {
            c: text for c in REFERENCE_SIZE_COLUMNS[family] if (text := (row.get(c) or "").strip())
        }
        try:
            out[name.upper()] = ReferenceValue(
                name,
                float(value),
                int(vehicles_text) if vehicles_text else None,
                kind,
                path,
                {c: int(text) for c, text in size_text.items()},
            )
        except ValueError:
            shown = f"{value_col} {value!r}" + (
                f", {vehicles_col} {vehicles_text!r}" if vehicles_col else ""
            )
            shown += "".join(f", {c} {text!r}" for c, text in size_text.items())
            raise InputError(
                f"{path}: instance {name}: not a number ({shown})", "check the reference table"
            ) from None
    return out


def reference_value(
    instance_file: str | Path, family: Literal["solomon", "pmedian"], *names: str
) -> tuple[ReferenceValue | None, str]:
    """The published value of the instance in ``instance_file`` under the first of ``names``
    the table beside it holds, and a note saying where it came from or why there is none."""
    path = Path(instance_file)
    table = reference_table(path.parent, family)
    if table is None:
        return None, f"no reference value (no {REFERENCE_TABLES[family][0]} beside {path})"
    values = reference_values(path.parent, family)
    for name in names:
        if name.upper() in values:
            ref = values[name.upper()]
            return ref, f"{ref.kind}, {table}"
    return None, f"no reference value ({' / '.join(dict.fromkeys(names))} not in {table})"

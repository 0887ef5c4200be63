"""Cold-chain vehicle routing on integer travel-time and distance matrices (OR-Tools).

A small modelling API over frozen dataclasses: :class:`Depot`, :class:`VehicleType`, :class:`Order`
and :class:`RoutingProblem` go in, :func:`solve` returns a :class:`RoutingSolution` with a full
schedule per route, the orders that were dropped with a reason, and KPIs. :func:`route_schedule`
turns any sequence of orders into such a route (the solver's, a benchmark peer's, a hand-made
one). Tables for reports: :mod:`lastmile.route_tables`; Solomon instances:
:func:`lastmile.instances.solomon_problem`.

Units inside the solver: integer seconds and integer metres. Costs are given in currency units
(``fixed_cost`` per used vehicle, ``cost_per_km``, ``cost_per_hour`` of route duration) and are
scaled to integer micro-units for OR-Tools only.

Conventions (checked independently by :mod:`lastmile.validate`):

- A route leaves its depot at ``departure_s`` and returns at ``arrival_s``; the depot has no
  service time. At a stop, ``arrival_s`` = previous departure + travel time; the vehicle may wait;
  ``start_s`` >= ``arrival_s`` and inside the order's time window; ``departure_s`` =
  ``start_s`` + service time.
- Delivery: goods travel from the vehicle's depot to the village. Pickup: produce travels from the
  village back to the depot. A route may mix both; the load when leaving the depot is the sum of the
  route's deliveries, each delivery lowers it, each pickup raises it, and every capacity dimension
  must stay within ``[0, capacity]`` all along the route.
- Time in vehicle (the cold-chain limit ``max_in_vehicle_s``) includes the service at the village:
  for a delivery, from the depot departure to the END of service at the village; for a pickup,
  from the START of service at the village to the arrival back at the depot. The limit is enforced
  exactly, on mixed routes too: a pickup's by a pickup-to-delivery limit between its node and an
  unloading node at the depot; a delivery's by a bound on a trip clock that restarts at the depot
  when no stop has a time window (nothing then waits at a village), else by a limit between a
  loading node at the depot and its node (see :func:`solve`).
- Unreachable pairs: give a boolean ``reachable`` matrix, or mark them with a negative sentinel in
  ``time_s`` or ``distance_m``.
- Trips: a vehicle with ``max_trips`` > 1 may come back to its depot and leave again; each trip is
  one :class:`Route` (``trip`` = 1, 2 ...) and all of the above holds per trip (load at the start
  of a trip, time in vehicle from that trip's departure / until its return). Trip r + 1 leaves at
  least ``reload_s`` after trip r is back; first departure to last return fits the duration limit.
- Unserved orders carry a reason code (``infeasible`` / ``fleet`` / ``search``) with evidence, see
  :class:`Unassigned` and :func:`explain_unassigned`.
"""

from __future__ import annotations

import copyreg
import math
import numbers
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from multiprocessing.reduction import ForkingPickler
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from lastmile.errors import InputError
from lastmile.parallel import can_fork, fork_pool, inherited, result_of
from lastmile.stopping import searching


def _frozen_mapping(d: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    return MappingProxyType(d)


def _reduce_mapping(m: MappingProxyType[Any, Any]) -> tuple[Any, tuple[dict[Any, Any]]]:
    return (_frozen_mapping, (dict(m),))


# Frozen mappings travel between processes (portfolio solves) as plain dicts.
copyreg.pickle(MappingProxyType, _reduce_mapping)
ForkingPickler.register(MappingProxyType, _reduce_mapping)

#: Integer cost units per currency unit inside the solver.
COST_SCALE = 1_000_000

#: Reason codes of an unserved order (:attr:`Unassigned.reason`), see :func:`explain_unassigned`.
INFEASIBLE = "infeasible"
FLEET = "fleet"
SEARCH = "search"
REASON_CODES = (INFEASIBLE, FLEET, SEARCH)
#: The reason codes in words (reports).
REASON_TEXT = {
    INFEASIBLE: "no allowed vehicle from any allowed depot can serve it alone",
    FLEET: "a lower bound proves the fleet cannot serve every servable order",
    SEARCH: "servable; the search left it",
}

# The limits that make an order infeasible alone (:attr:`Unassigned.binding`), in check order.
REASON_NO_VEHICLE = "no_vehicle"
REASON_UNREACHABLE = "unreachable"
REASON_REFRIGERATION = "refrigeration"
REASON_CAPACITY = "capacity"
REASON_COLD_CHAIN = "cold_chain"
REASON_SHIFT = "shift"  # time window, shift end or maximum duration on a direct trip
#: Bindings that hold whenever a depot's vans leave: no later or earlier departure (a hub's trunk
#: arrival) makes the order servable. A time window, the shift end and the maximum duration (the
#: shift's length) depend on it.
DEPARTURE_FREE_BINDINGS = frozenset(
    {
        REASON_NO_VEHICLE,
        REASON_UNREACHABLE,
        REASON_REFRIGERATION,
        REASON_CAPACITY,
        REASON_COLD_CHAIN,
    }
)
# Kept for callers of earlier versions: what the search left is now reason code ``search``.
REASON_PENALTY = SEARCH
REASON_NO_SOLUTION = SEARCH

OrderKind = Literal["delivery", "pickup"]

#: OR-Tools first-solution strategies :class:`RoutingOptions` accepts (by name)
FIRST_SOLUTION_STRATEGIES = (
    "AUTOMATIC",
    "PATH_CHEAPEST_ARC",
    "PATH_MOST_CONSTRAINED_ARC",
    "SAVINGS",
    "PARALLEL_SAVINGS",
    "SWEEP",
    "CHRISTOFIDES",
    "ALL_UNPERFORMED",
    "BEST_INSERTION",
    "PARALLEL_CHEAPEST_INSERTION",
    "SEQUENTIAL_CHEAPEST_INSERTION",
    "LOCAL_CHEAPEST_INSERTION",
    "LOCAL_CHEAPEST_COST_INSERTION",
    "GLOBAL_CHEAPEST_ARC",
    "LOCAL_CHEAPEST_ARC",
    "FIRST_UNBOUND_MIN_VALUE",
)
_METAHEURISTICS = (
    "AUTOMATIC",
    "GREEDY_DESCENT",
    "GUIDED_LOCAL_SEARCH",
    "SIMULATED_ANNEALING",
    "TABU_SEARCH",
    "GENERIC_TABU_SEARCH",
)


def _frozen_quantities(value: Mapping[str, int], where: str) -> Mapping[str, int]:
    if not isinstance(value, Mapping):
        raise InputError(f"{where}: quantities must be a mapping such as {{'kg': 20}}")
    out: dict[str, int] = {}
    for key, v in value.items():
        if not isinstance(key, str) or not key:
            raise InputError(f"{where}: dimension name {key!r} is not a non-empty string")
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or int(v) < 0:
            raise InputError(
                f"{where}: {key} = {v!r} is not a non-negative integer",
                "give whole units (kg, parcels ...)",
            )
        out[key] = int(v)
    return MappingProxyType(out)


@dataclass(frozen=True)
class Depot:
    """A depot (hub or county centre) at matrix index ``location``."""

    id: str
    location: int


@dataclass(frozen=True)
class VehicleType:
    """A vehicle type; each vehicle starts and ends at its depot.

    Attributes
    ----------
    id
        Type name (``"cold-van"``).
    refrigerated
        Whether it may carry orders that require refrigeration.
    capacity
        Capacity per dimension, e.g. ``{"kg": 800, "parcels": 120}``.
    count_per_depot
        Vehicles of this type at every depot (an int) or per depot id (a mapping; missing = 0).
    shift_start_s, shift_end_s
        Earliest departure and latest return, seconds from the planning day's start.
    max_duration_s
        Longest route (return minus departure), or ``None`` for the shift length.
    fixed_cost, cost_per_km, cost_per_hour
        Cost of using a vehicle, per km driven and per hour of route duration (currency units).
    max_trips
        Trips per day: the vehicle may come back to its depot, reload and leave again, the whole
        day within its shift and ``max_duration_s``; ``None``: as many as fit (see
        :func:`trips_of`). Capacity and the cold-chain clock apply per trip.
    reload_s
        Time at the depot between two trips (unloading pickups, loading deliveries).
    """

    id: str
    refrigerated: bool
    capacity: Mapping[str, int]
    count_per_depot: int | Mapping[str, int] = 1
    shift_start_s: int = 0
    shift_end_s: int = 86_400
    max_duration_s: int | None = None
    fixed_cost: float = 0.0
    cost_per_km: float = 1.0
    cost_per_hour: float = 0.0
    max_trips: int | None = 1
    reload_s: int = 0

    def __post_init__(self) -> None:
        where = f"vehicle type {self.id!r}"
        if self.max_trips is not None and (
            isinstance(self.max_trips, bool) or int(self.max_trips) < 1
        ):
            raise InputError(
                f"{where}: max_trips {self.max_trips!r} must be >= 1 or None",
                "None: as many trips as fit the day",
            )
        if isinstance(self.reload_s, bool) or int(self.reload_s) < 0:
            raise InputError(f"{where}: reload_s {self.reload_s!r} must be >= 0 seconds")
        object.__setattr__(self, "capacity", _frozen_quantities(self.capacity, where))
        if isinstance(self.count_per_depot, Mapping):
            counts = {str(k): int(v) for k, v in self.count_per_depot.items()}
            if any(v < 0 for v in counts.values()):
                raise InputError(f"{where}: negative vehicle count in {counts}")
            object.__setattr__(self, "count_per_depot", MappingProxyType(counts))
        elif int(self.count_per_depot) < 0:
            raise InputError(f"{where}: count_per_depot {self.count_per_depot} is negative")
        if not 0 <= self.shift_start_s <= self.shift_end_s:
            raise InputError(
                f"{where}: shift {self.shift_start_s}..{self.shift_end_s} s is empty or negative",
                "give 0 <= shift_start_s <= shift_end_s",
            )
        if self.max_duration_s is not None and self.max_duration_s < 0:
            raise InputError(f"{where}: max_duration_s {self.max_duration_s} is negative")
        for name in ("fixed_cost", "cost_per_km", "cost_per_hour"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise InputError(f"{where}: {name} = {v!r} must be a finite number >= 0")

    def count_at(self, depot_id: str) -> int:
        """Number of vehicles of this type based at ``depot_id``."""
        if isinstance(self.count_per_depot, Mapping):
            return int(self.count_per_depot.get(depot_id, 0))
        return int(self.count_per_depot)

    def times(self, factor: int) -> VehicleType:
        """The same type with ``factor`` times the vehicles at every depot."""
        c = self.count_per_depot
        counts = {k: v * factor for k, v in c.items()} if isinstance(c, Mapping) else c * factor
        return replace(self, count_per_depot=counts)

    @property
    def duration_limit_s(self) -> int:
        """Longest route: ``max_duration_s`` or the shift length."""
        shift = self.shift_end_s - self.shift_start_s
        return shift if self.max_duration_s is None else min(shift, self.max_duration_s)


@dataclass(frozen=True)
class Order:
    """A delivery to, or a pickup at, the village at matrix index ``location``.

    Attributes
    ----------
    id
        Unique order id.
    kind
        ``"delivery"`` (depot -> village) or ``"pickup"`` (village -> depot).
    location
        Matrix index of the village.
    depot
        Depot id that must serve it, or ``None`` for any depot.
    quantity
        Amount per capacity dimension (missing dimensions = 0).
    service_s
        Service (loading/unloading) time at the village.
    time_window
        ``(earliest, latest)`` start of service, or ``None``.
    product_class
        Free label (``produce``, ``tea``, ``parcel``) carried into reports.
    max_in_vehicle_s
        Cold-chain limit on time in vehicle (see the module conventions), or ``None``.
    requires_refrigeration
        Only refrigerated vehicle types may carry it.
    """

    id: str
    kind: OrderKind
    location: int
    quantity: Mapping[str, int] = field(default_factory=dict)
    depot: str | None = None
    service_s: int = 0
    time_window: tuple[int, int] | None = None
    product_class: str = "parcel"
    max_in_vehicle_s: int | None = None
    requires_refrigeration: bool = False

    def __post_init__(self) -> None:
        where = f"order {self.id!r}"
        if self.kind not in ("delivery", "pickup"):
            raise InputError(f"{where}: kind {self.kind!r} unknown", "use 'delivery' or 'pickup'")
        object.__setattr__(self, "quantity", _frozen_quantities(self.quantity, where))
        if isinstance(self.service_s, bool) or int(self.service_s) < 0:
            raise InputError(f"{where}: service_s {self.service_s!r} must be >= 0 seconds")
        if self.time_window is not None:
            a, b = self.time_window
            whole = all(
                isinstance(t, numbers.Real)
                and not isinstance(t, bool)
                and math.isfinite(t)
                and float(t).is_integer()
                for t in (a, b)
            )
            if not whole:
                raise InputError(
                    f"{where}: time window {self.time_window!r} is not two whole numbers of "
                    "seconds since midnight",
                    "convert HH:MM at the edge (08:00 is 28800), as check_orders does for files",
                )
            # a pandas column with an empty cell holds floats (28800.0): whole seconds all the same
            a, b = int(a), int(b)
            object.__setattr__(self, "time_window", (a, b))
            if not 0 <= a <= b:
                raise InputError(
                    f"{where}: time window {self.time_window} is empty or negative",
                    "give (earliest, latest) seconds with 0 <= earliest <= latest",
                )
        if self.max_in_vehicle_s is not None and self.max_in_vehicle_s <= 0:
            raise InputError(f"{where}: max_in_vehicle_s {self.max_in_vehicle_s} must be > 0")


def _int_matrix(value: Any, name: str) -> NDArray[np.int64]:
    arr = np.asarray(value)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] == 0:
        raise InputError(f"routing problem: {name} has shape {arr.shape}, expected square (n, n)")
    if arr.dtype.kind not in "iu":
        raise InputError(
            f"routing problem: {name} has dtype {arr.dtype}, expected integers",
            "round it first, e.g. np.rint(m).astype(np.int64) (seconds / metres)",
        )
    out = arr.astype(np.int64)
    out.setflags(write=False)
    return out


@dataclass(frozen=True)
class RoutingProblem:
    """Matrices, depots, vehicle types and orders. Validated on construction.

    ``time_s[i, j]`` (seconds) and ``distance_m[i, j]`` (metres) are indexed by location.
    ``reachable[i, j]`` False marks pairs without a path; when it is ``None`` any negative entry in
    either matrix marks the pair unreachable.

    ``delivery_hour_cost`` weighs early delivery in the objective: currency units per delivery
    order per hour from the earliest shift start of the fleet to the start of its service (0: the
    vehicles' costs alone). It is a weight of the search, not a cost of the day: KPIs and route
    costs leave it out.
    """

    time_s: NDArray[np.int64]
    distance_m: NDArray[np.int64]
    depots: tuple[Depot, ...]
    vehicle_types: tuple[VehicleType, ...]
    orders: tuple[Order, ...]
    reachable: NDArray[np.bool_] | None = None
    delivery_hour_cost: float = 0.0

    def __post_init__(self) -> None:
        c = self.delivery_hour_cost
        number = isinstance(c, (int, float)) and not isinstance(c, bool)
        if not (number and math.isfinite(c) and c >= 0):
            raise InputError(
                f"routing problem: delivery_hour_cost = {c!r} must be a finite number >= 0"
            )
        t = _int_matrix(self.time_s, "time_s")
        d = _int_matrix(self.distance_m, "distance_m")
        if t.shape != d.shape:
            raise InputError(f"routing problem: time_s {t.shape} and distance_m {d.shape} differ")
        if self.reachable is None:
            reach = (t >= 0) & (d >= 0)
        else:
            reach = np.asarray(self.reachable, dtype=bool)
            if reach.shape != t.shape:
                raise InputError(f"routing problem: reachable {reach.shape} != time_s {t.shape}")
            bad = reach & ((t < 0) | (d < 0))
            if bad.any():
                i, j = (int(x) for x in np.argwhere(bad)[0])
                raise InputError(
                    f"routing problem: negative time/distance for reachable pair ({i}, {j})",
                    "mark it unreachable or fix the matrix",
                )
        reach = reach.copy()
        reach.setflags(write=False)
        object.__setattr__(self, "time_s", t)
        object.__setattr__(self, "distance_m", d)
        object.__setattr__(self, "reachable", reach)
        object.__setattr__(self, "depots", tuple(self.depots))
        object.__setattr__(self, "vehicle_types", tuple(self.vehicle_types))
        object.__setattr__(self, "orders", tuple(self.orders))
        n = t.shape[0]
        if not self.depots:
            raise InputError("routing problem: no depots", "give at least one Depot")
        if not self.vehicle_types:
            raise InputError("routing problem: no vehicle types", "give at least one VehicleType")
        depot_ids = [dp.id for dp in self.depots]
        type_ids = [v.id for v in self.vehicle_types]
        for ids, what in (
            (depot_ids, "depot"),
            (type_ids, "vehicle type"),
            ([o.id for o in self.orders], "order"),
        ):
            dupes = sorted({x for x in ids if ids.count(x) > 1})
            if dupes:
                raise InputError(
                    f"routing problem: duplicate {what} ids {dupes}", "make ids unique"
                )
        for dp in self.depots:
            if not 0 <= dp.location < n:
                raise InputError(f"depot {dp.id!r}: location {dp.location} outside 0..{n - 1}")
        dims = self.dimensions
        for vt in self.vehicle_types:
            if isinstance(vt.count_per_depot, Mapping):
                unknown = sorted(set(vt.count_per_depot) - set(depot_ids))
                if unknown:
                    raise InputError(
                        f"vehicle type {vt.id!r}: unknown depots {unknown}",
                        f"use ids of {depot_ids}",
                    )
        for o in self.orders:
            if not 0 <= o.location < n:
                raise InputError(
                    f"order {o.id!r}: location {o.location} outside 0..{n - 1}",
                    "locations are indices into the matrices",
                )
            if o.depot is not None and o.depot not in depot_ids:
                raise InputError(
                    f"order {o.id!r}: unknown depot {o.depot!r}", f"use one of {depot_ids} or None"
                )
            extra = sorted(set(o.quantity) - set(dims))
            if extra:
                raise InputError(
                    f"order {o.id!r}: quantity dimensions {extra} are not a capacity "
                    "of any vehicle type",
                    f"known dimensions: {list(dims)}",
                )

    @property
    def dimensions(self) -> tuple[str, ...]:
        """Capacity dimensions (union over vehicle types, in first-seen order)."""
        seen: dict[str, None] = {}
        for vt in self.vehicle_types:
            for k in vt.capacity:
                seen[k] = None
        return tuple(seen)

    def order(self, order_id: str) -> Order:
        """Look an order up by id."""
        for o in self.orders:
            if o.id == order_id:
                return o
        raise InputError(f"unknown order {order_id!r}")


@dataclass(frozen=True)
class Vehicle:
    """One concrete vehicle: a type at a depot."""

    id: str
    type: VehicleType
    depot: Depot


def vehicles_of(problem: RoutingProblem) -> tuple[Vehicle, ...]:
    """All vehicles of a problem, depot by depot, type by type (``depot/type/k``)."""
    out: list[Vehicle] = []
    for dp in problem.depots:
        for vt in problem.vehicle_types:
            for k in range(vt.count_at(dp.id)):
                out.append(Vehicle(f"{dp.id}/{vt.id}/{k + 1}", vt, dp))
    return tuple(out)


def trips_of(problem: RoutingProblem, v: Vehicle) -> int:
    """Trips vehicle ``v`` may make: its type's ``max_trips``, or for ``None`` as many as fit.

    "As many as fit": the day (``duration_limit_s``) divided by the shortest direct round trip to
    any order its depot may serve plus ``reload_s``, at most one trip per such order.
    """
    vt = v.type
    if vt.max_trips is not None:
        return int(vt.max_trips)
    t, reach = problem.time_s, np.asarray(problem.reachable)
    dl = v.depot.location
    trips = [
        int(t[dl, o.location]) + o.service_s + int(t[o.location, dl])
        for o in problem.orders
        if (o.depot is None or o.depot == v.depot.id)
        and reach[dl, o.location]
        and reach[o.location, dl]
    ]
    if not trips:
        return 1
    fit = (vt.duration_limit_s + vt.reload_s) // max(1, min(trips) + vt.reload_s)
    return int(max(1, min(len(trips), fit)))


@dataclass(frozen=True)
class RoutingOptions:
    """Search settings. ``time_limit_s`` is required on every solve.

    The default search is OR-Tools' iterated local search: from the first solution (parallel
    cheapest insertion), each iteration ruins the current solution with SISR string removals
    (``ruin_visits`` visits on average, strings of at most ``ruin_max_sequence``), recreates it by
    local cheapest insertion, improves it by a greedy descent over light operators (relocate,
    exchange, cross, 2-opt, or-opt, Lin-Kernighan, light pair relocate) and accepts it as the
    reference by simulated annealing (automatic temperatures, exponential cooling as the search
    approaches its solution limit, or its time limit if it has none); the best solution is kept.
    Measured against guided local search on Solomon instances and the county models
    (BENCHMARKS.md): shorter routes at the same time on both, because the heavy pair operators
    (pair relocate and exchange over every pair of positions) that dominate guided local search on
    pickup-and-delivery models are left to the ruin and recreate step.

    Attributes
    ----------
    time_limit_s
        Wall-clock limit of the search, seconds.
    first_solution_strategy
        An OR-Tools ``FirstSolutionStrategy`` name.
    local_search_metaheuristic
        An OR-Tools ``LocalSearchMetaheuristic`` name, used when ``iterated_local_search`` is off
        (with it on, each improvement is a greedy descent).
    solution_limit
        Stop after this many solutions (reproducible runs regardless of machine speed), or
        ``None``. Guided local search counts improving solutions; iterated local search counts
        every solution it explores (the first descent's, each recreated and each improved one).
    gls_lambda
        Guided local search penalty coefficient (OR-Tools default 0.1), or ``None``.
    log
        Let OR-Tools log the search to stderr.
    portfolio
        First-solution strategies run side by side, one forked process each, with the same time
        limit; the best result is kept (fewest unassigned orders, then lowest cost). OR-Tools
        routing is single-threaded, so this is how a solve uses more than one core. Empty: one
        search with ``first_solution_strategy``.
    iterated_local_search
        Search by iterated local search (above); off: ``local_search_metaheuristic`` over OR-Tools'
        default operators.
    ruin_visits, ruin_max_sequence
        SISR ruin of iterated local search: visits removed on average, longest string removed.
    depot_candidates
        Joint multi-depot models: an order that needs a loading / unloading node at its depot
        (cold chain, mixed routes) may be served from this many of the depots able to serve it
        alone, nearest (round trip) first; ``None``: from every such depot.
    """

    time_limit_s: float
    first_solution_strategy: str = "PARALLEL_CHEAPEST_INSERTION"
    local_search_metaheuristic: str = "GUIDED_LOCAL_SEARCH"
    solution_limit: int | None = None
    gls_lambda: float | None = None
    log: bool = False
    portfolio: tuple[str, ...] = ()
    depot_candidates: int | None = None
    iterated_local_search: bool = True
    ruin_visits: int = 10
    ruin_max_sequence: int = 10

    def __post_init__(self) -> None:
        if self.depot_candidates is not None and self.depot_candidates < 1:
            raise InputError(
                f"routing options: depot_candidates {self.depot_candidates} must be >= 1 or None"
            )
        for strategy in self.portfolio:
            if strategy not in FIRST_SOLUTION_STRATEGIES:
                raise InputError(
                    f"routing options: unknown portfolio strategy {strategy!r}",
                    f"use names from {', '.join(FIRST_SOLUTION_STRATEGIES)}",
                )
        if not (
            isinstance(self.time_limit_s, (int, float))
            and self.time_limit_s > 0
            and math.isfinite(self.time_limit_s)
        ):
            raise InputError(f"routing options: time_limit_s {self.time_limit_s!r} must be > 0")
        if self.first_solution_strategy not in FIRST_SOLUTION_STRATEGIES:
            raise InputError(
                "routing options: unknown first_solution_strategy "
                f"{self.first_solution_strategy!r}",
                f"use one of {', '.join(FIRST_SOLUTION_STRATEGIES)}",
            )
        if self.local_search_metaheuristic not in _METAHEURISTICS:
            raise InputError(
                "routing options: unknown local_search_metaheuristic "
                f"{self.local_search_metaheuristic!r}",
                f"use one of {', '.join(_METAHEURISTICS)}",
            )
        if self.solution_limit is not None and self.solution_limit <= 0:
            raise InputError(f"routing options: solution_limit {self.solution_limit} must be > 0")
        for name in ("ruin_visits", "ruin_max_sequence"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InputError(f"routing options: {name} {value!r} must be an integer >= 1")


@dataclass(frozen=True)
class Stop:
    """One served order on a route; times in seconds, loads after the stop."""

    order_id: str
    location: int
    arrival_s: int
    start_s: int
    departure_s: int
    load_after: Mapping[str, int]
    in_vehicle_s: int


@dataclass(frozen=True)
class Route:
    """One trip of a used vehicle: depot -> stops -> depot.

    A vehicle with several trips (:attr:`VehicleType.max_trips`) has one :class:`Route` per trip,
    numbered ``trip`` = 1, 2 ... in time order; trip ``r + 1`` leaves at least ``reload_s`` after
    trip ``r`` is back. Capacity and the cold-chain clock apply per trip. ``cost`` holds the
    vehicle's fixed cost on trip 1 only.
    """

    vehicle_id: str
    vehicle_type: str
    depot: str
    departure_s: int
    arrival_s: int
    load_at_start: Mapping[str, int]
    stops: tuple[Stop, ...]
    distance_m: int
    cost: float
    trip: int = 1

    @property
    def duration_s(self) -> int:
        """Return time minus departure time."""
        return self.arrival_s - self.departure_s


@dataclass(frozen=True)
class Unassigned:
    """An order that is not served, why, and the evidence.

    Attributes
    ----------
    order_id
        The order.
    reason
        One of :data:`REASON_CODES`: ``infeasible`` (no allowed vehicle from any allowed depot can
        serve it alone), ``fleet`` (a lower bound, :class:`FleetBound`, proves the fleet cannot
        serve every servable order) or ``search`` (servable alone, no bound proves the fleet
        short: the search left it).
    binding
        For ``infeasible``: the limit that binds (``no_vehicle``, ``unreachable``,
        ``refrigeration``, ``capacity``, ``cold_chain``, ``time_window``, ``shift_end``,
        ``max_duration``); for ``fleet``: the bound's resource (``vehicle_time``, ``capacity:kg``
        ...); for ``search``: ``""``.
    detail
        The evidence in words.
    limit, best, unit
        The binding limit and the best direct-trip figure against it (``unit`` ``s`` or a capacity
        dimension); ``None`` where there is no figure (unreachable, refrigeration).
    """

    order_id: str
    reason: str
    binding: str = ""
    detail: str = ""
    limit: int | None = None
    best: int | None = None
    unit: str = ""


@dataclass(frozen=True)
class FleetBound:
    """A lower bound on how many servable orders the fleet must leave unserved.

    For every group of orders that only a given set of vehicles may serve (all orders and all
    vehicles, refrigerated orders and refrigerated vehicles, orders tied to one depot ...), at most
    as many orders can be served as fit, smallest first, into the group's resource: vehicle time
    (each order needs at least its service time plus its cheapest incoming leg; each vehicle offers
    its duration limit per day) or capacity per dimension, deliveries and pickups apart (each
    vehicle carries at most its capacity per trip times its trips). Vehicle time is also
    counted before each window end ``E`` (resource ``vehicle_time_by_HH:MM``): the group's orders
    whose windows close by ``E`` need their legs and services before it, and a vehicle offers the
    time from its shift start to ``E`` (at most its duration limit) plus one service that may run
    past ``E`` (bb23 D13: orders all due by 09:00 at a depot of four vans were left to the
    ``search``, the whole day's vehicle time being far more than enough). ``short`` is the largest
    shortfall over all groups and resources (0: no bound proves the fleet short).
    """

    servable: int
    short: int
    resource: str = ""
    needed: int = 0
    available: int = 0
    group_orders: int = 0
    #: the vehicles (ids) of the binding group and their depots
    vehicles: tuple[str, ...] = ()
    depots: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """Plain dict for kpis.json."""
        return {
            "servable_orders": self.servable,
            "at_least_unserved": self.short,
            "resource": self.resource,
            "group_orders": self.group_orders,
            "group_needs": self.needed,
            "fleet_offers": self.available,
            "group_depots": list(self.depots),
            "group_vehicles": list(self.vehicles),
        }


@dataclass(frozen=True)
class Kpis:
    """Headline figures of a solution (recomputed by the validator).

    ``vehicles_used`` counts vehicles (not trips); ``total_duration_s`` / ``vehicle_hours`` sum the
    trips' depot-to-depot durations (reload time at the depot between trips is not included).
    """

    vehicles_used: int
    orders_served: int
    unassigned: int
    total_distance_m: int
    total_km: float
    total_duration_s: int
    vehicle_hours: float
    mean_in_vehicle_s: float
    max_in_vehicle_s: int
    cold_chain_compliance: float
    total_cost: float


#: What ended a search (:attr:`RoutingSolution.search_ended_by`).
ENDED_SOLUTION_LIMIT = "solution_limit"
ENDED_TIME_CAP = "time_cap"
ENDED_LOCAL_OPTIMUM = "local_optimum"
ENDED_NO_SOLUTION = "no_solution"
ENDED_NOTHING = "nothing_to_route"


@dataclass(frozen=True)
class RoutingSolution:
    """Routes, unassigned orders with reasons, KPIs, solver status and time.

    Attributes
    ----------
    status
        OR-Tools' ``RoutingSearchStatus`` name (``per depot: ...`` lists each depot's).
    search_ended_by
        ``solution_limit`` (reproducible), ``time_cap`` (the wall-clock safety cap cut the search
        short: the routes may differ run to run), ``local_optimum``, ``no_solution`` or
        ``nothing_to_route``; ``""`` when unknown (solutions built outside :func:`solve`).
    solutions
        Improving solutions the search found.
    fleet_bound
        The bound behind ``fleet`` reasons (:class:`FleetBound`), when computed.
    """

    routes: tuple[Route, ...]
    unassigned: tuple[Unassigned, ...]
    kpis: Kpis
    status: str
    solve_seconds: float
    search_ended_by: str = ""
    solutions: int = 0
    fleet_bound: FleetBound | None = None

    @property
    def reproducible(self) -> bool:
        """False when the wall-clock cap ended the search."""
        return self.search_ended_by != ENDED_TIME_CAP

    def trips_by_vehicle(self) -> dict[str, tuple[Route, ...]]:
        """Each used vehicle's trips, in trip order (its day)."""
        out: dict[str, list[Route]] = {}
        for r in self.routes:
            out.setdefault(r.vehicle_id, []).append(r)
        return {v: tuple(sorted(rs, key=lambda r: r.trip)) for v, rs in out.items()}

    def unassigned_by_reason(self) -> dict[str, int]:
        """Counts per reason code, every code present."""
        out = dict.fromkeys(REASON_CODES, 0)
        for u in self.unassigned:
            out[u.reason] = out.get(u.reason, 0) + 1
        return out


# --------------------------------------------------------------------------- helpers


def in_vehicle_time(
    kind: str, departure_s: int, arrival_s: int, start_s: int, service_s: int
) -> int:
    """Time in vehicle of one order on a route leaving at ``departure_s``, back at ``arrival_s``."""
    if kind == "delivery":
        return start_s + service_s - departure_s
    return arrival_s - start_s


def route_cost(vt: VehicleType, distance_m: int, duration_s: int) -> float:
    """Fixed cost plus distance and duration costs of one used vehicle (its first trip)."""
    return (
        vt.fixed_cost
        + vt.cost_per_km * distance_m / 1000.0
        + vt.cost_per_hour * duration_s / 3600.0
    )


def compute_kpis(problem: RoutingProblem, routes: Sequence[Route], n_unassigned: int) -> Kpis:
    """KPIs of a set of routes (shared by :func:`solve`; the validator recomputes its own)."""
    limits = {o.id: o.max_in_vehicle_s for o in problem.orders}
    ivt = [s.in_vehicle_s for r in routes for s in r.stops]
    limited = [
        (s.in_vehicle_s, limits[s.order_id])
        for r in routes
        for s in r.stops
        if limits.get(s.order_id) is not None
    ]
    ok = sum(1 for v, lim in limited if lim is not None and v <= lim)
    dist = sum(r.distance_m for r in routes)
    dur = sum(r.duration_s for r in routes)
    return Kpis(
        vehicles_used=len({r.vehicle_id for r in routes}),
        orders_served=len(ivt),
        unassigned=n_unassigned,
        total_distance_m=dist,
        total_km=dist / 1000.0,
        total_duration_s=dur,
        vehicle_hours=dur / 3600.0,
        mean_in_vehicle_s=float(np.mean(ivt)) if ivt else 0.0,
        max_in_vehicle_s=max(ivt) if ivt else 0,
        cold_chain_compliance=ok / len(limited) if limited else 1.0,
        total_cost=sum(r.cost for r in routes),
    )


def _fits(o: Order, vt: VehicleType) -> bool:
    return all(q <= vt.capacity.get(k, 0) for k, q in o.quantity.items())


def _minutes(seconds: int) -> str:
    return f"{seconds / 60:.1f} min"


def _clock_s(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def direct_trip(problem: RoutingProblem, o: Order, v: Vehicle) -> dict[str, int]:
    """Figures of the best trip of vehicle ``v`` serving order ``o`` alone (seconds).

    ``in_vehicle`` (leg + service: the shortest possible time in vehicle), ``start`` (earliest
    start of service), ``back`` (earliest return), ``duration`` (depot to depot), with the limits
    ``window_end``, ``shift_end`` and ``max_duration``.
    """
    t = problem.time_s
    dl, loc, vt = v.depot.location, o.location, v.type
    a, b = o.time_window if o.time_window is not None else (0, vt.shift_end_s)
    out_leg, back_leg = int(t[dl, loc]), int(t[loc, dl])
    start = max(vt.shift_start_s + out_leg, a)
    return {
        "in_vehicle": (out_leg if o.kind == "delivery" else back_leg) + o.service_s,
        "start": start,
        "window_end": b,
        "back": start + o.service_s + back_leg,
        "shift_end": vt.shift_end_s,
        "duration": out_leg + o.service_s + back_leg,
        "max_duration": vt.duration_limit_s,
    }


def precheck(problem: RoutingProblem) -> tuple[dict[str, list[int]], list[Unassigned]]:
    """Orders no vehicle can serve even alone, with their evidence; allowed vehicles of the rest.

    Returns
    -------
    allowed, dropped
        ``allowed[order_id]`` lists indices into :func:`vehicles_of` able to serve the order on a
        direct trip; ``dropped`` lists the orders none can serve (reason ``infeasible``), binding on
        the first failing rule in the order: no vehicle, unreachable, refrigeration, capacity,
        cold-chain limit on a direct trip, time window / shift end / maximum duration.
    """
    vehicles = vehicles_of(problem)
    allowed: dict[str, list[int]] = {}
    dropped: list[Unassigned] = []
    for o in problem.orders:
        depots = None if o.depot is None else (o.depot,)
        cands, failed = _direct_servers(problem, vehicles, o, depots)
        if failed is None:
            allowed[o.id] = cands
        else:
            dropped.append(failed)
    return allowed, dropped


def infeasible_from(problem: RoutingProblem, order_id: str, depots: Sequence[str]) -> Unassigned:
    """Why no vehicle at any of ``depots`` can serve the order alone, with the best direct-trip
    figure among them: the evidence of an order pinned to one depot that another depot (a plan's
    county centre) could also have served, had it been able to."""
    vehicles = vehicles_of(problem)
    _, failed = _direct_servers(problem, vehicles, problem.order(order_id), tuple(depots))
    if failed is None:
        raise ValueError(f"order {order_id!r} can be served alone from {', '.join(depots)}")
    return failed


def _direct_servers(
    problem: RoutingProblem,
    vehicles: Sequence[Vehicle],
    o: Order,
    depots: tuple[str, ...] | None,
) -> tuple[list[int], Unassigned | None]:
    """The vehicles (indices) at ``depots`` (``None``: any) that can serve ``o`` alone, or the
    evidence of the first rule none of them passes."""
    cands = [k for k, v in enumerate(vehicles) if depots is None or v.depot.id in depots]
    if not cands:
        where = f"depot {', '.join(map(repr, depots))}" if depots is not None else "any depot"
        return [], Unassigned(o.id, INFEASIBLE, REASON_NO_VEHICLE, f"no vehicle at {where}")
    for rule in _RULES:
        ok = [k for k in cands if _rule_ok(rule, problem, o, vehicles[k])]
        if not ok:
            return [], _evidence(rule, problem, o, [vehicles[k] for k in cands])
        cands = ok
    return cands, None


_RULES = (
    REASON_UNREACHABLE,
    REASON_REFRIGERATION,
    REASON_CAPACITY,
    REASON_COLD_CHAIN,
    REASON_SHIFT,
)


def _evidence(rule: str, problem: RoutingProblem, o: Order, cands: Sequence[Vehicle]) -> Unassigned:
    """Why none of ``cands`` (which passed the earlier rules) passes ``rule`` for ``o``."""
    depots = sorted({v.depot.id for v in cands})
    if rule == REASON_UNREACHABLE:
        return Unassigned(
            o.id,
            INFEASIBLE,
            rule,
            f"no road path between depot(s) {', '.join(depots)} and the order's point, in "
            "either direction",
        )
    if rule == REASON_REFRIGERATION:
        return Unassigned(
            o.id,
            INFEASIBLE,
            rule,
            f"requires refrigeration; no refrigerated vehicle at {', '.join(depots)}",
        )
    if rule == REASON_CAPACITY:
        # the dimension that the largest vehicle misses by the most
        gaps = []
        for k, q in o.quantity.items():
            cap = max(v.type.capacity.get(k, 0) for v in cands)
            if q > cap:
                gaps.append((q - cap, k, q, cap))
        _, dim, q, cap = max(gaps) if gaps else (0, "", 0, 0)
        if not gaps:  # no single vehicle fits all dimensions at once
            dim = next(iter(o.quantity), "")
            q = o.quantity.get(dim, 0)
            cap = max(v.type.capacity.get(dim, 0) for v in cands)
        return Unassigned(
            o.id,
            INFEASIBLE,
            rule,
            f"{q} {dim} does not fit any vehicle in one trip (largest: {cap} {dim})",
            limit=cap,
            best=q,
            unit=dim,
        )
    trips = [(direct_trip(problem, o, v), v) for v in cands]
    if rule == REASON_COLD_CHAIN:
        assert o.max_in_vehicle_s is not None
        fig, v = min(trips, key=lambda x: (x[0]["in_vehicle"], x[1].id))
        return Unassigned(
            o.id,
            INFEASIBLE,
            rule,
            f"fastest direct trip keeps it {_minutes(fig['in_vehicle'])} in vehicle "
            f"(from depot {v.depot.id}) > cold-chain limit "
            f"{_minutes(o.max_in_vehicle_s)}",
            limit=o.max_in_vehicle_s,
            best=fig["in_vehicle"],
            unit="s",
        )
    # time window, shift end or duration: the vehicle that misses its limit by the least
    best: tuple[int, str, int, int, Vehicle] | None = None
    for fig, v in trips:
        for what, value, lim in (
            ("time_window", fig["start"], fig["window_end"]),
            ("shift_end", fig["back"], fig["shift_end"]),
            ("max_duration", fig["duration"], fig["max_duration"]),
        ):
            # an order without a window is bounded by the shift alone (its "window" then ends
            # at the shift end, which the return passes too)
            if what == "time_window" and o.time_window is None:
                continue
            if value > lim:
                cand = (value - lim, what, value, lim, v)
                if best is None or cand[:2] < best[:2]:
                    best = cand
                break
    assert best is not None
    _, what, value, lim, v = best
    text = {
        "time_window": f"earliest start of service {_clock_s(value)} (from depot {v.depot.id}) "
        f"after the window's end {_clock_s(lim)}",
        "shift_end": f"earliest return of a direct trip {_clock_s(value)} (from depot "
        f"{v.depot.id}) after the shift end {_clock_s(lim)}",
        "max_duration": f"direct round trip {_minutes(value)} (from depot {v.depot.id}) > "
        f"maximum duration {_minutes(lim)}",
    }[what]
    return Unassigned(o.id, INFEASIBLE, what, text, limit=lim, best=value, unit="s")


def _rule_ok(rule: str, problem: RoutingProblem, o: Order, v: Vehicle) -> bool:
    """Whether vehicle ``v`` passes pre-check ``rule`` for order ``o`` on a direct trip."""
    reach = problem.reachable
    assert reach is not None
    dl, loc = v.depot.location, o.location
    if rule == REASON_UNREACHABLE:
        return bool(reach[dl, loc] and reach[loc, dl])
    if rule == REASON_REFRIGERATION:
        return v.type.refrigerated or not o.requires_refrigeration
    if rule == REASON_CAPACITY:
        return _fits(o, v.type)
    fig = direct_trip(problem, o, v)
    if rule == REASON_COLD_CHAIN:
        return o.max_in_vehicle_s is None or fig["in_vehicle"] <= o.max_in_vehicle_s
    return (
        fig["start"] <= fig["window_end"]
        and fig["back"] <= fig["shift_end"]
        and fig["duration"] <= fig["max_duration"]
    )


def fleet_bound(
    problem: RoutingProblem, allowed: Mapping[str, Sequence[int]] | None = None
) -> tuple[FleetBound, dict[str, int]]:
    """The lower bound of :class:`FleetBound` and, per servable order, its ranking need.

    Returns
    -------
    bound, rank
        ``rank[order_id]`` orders the binding group's members, largest need first, for choosing
        which unserved orders the bound accounts for (deterministic).
    """
    if allowed is None:
        allowed, _ = precheck(problem)
    vehicles = vehicles_of(problem)
    orders = [o for o in problem.orders if o.id in allowed]
    if not orders:
        return FleetBound(0, 0), {}
    t, reach = problem.time_s, np.asarray(problem.reachable)
    locs = np.array([o.location for o in orders])
    big = np.iinfo(np.int64).max // 4
    inc = np.where(reach[np.ix_(locs, locs)], t[np.ix_(locs, locs)], big)
    np.fill_diagonal(inc, big)
    need: dict[str, int] = {}
    for j, o in enumerate(orders):
        from_depot = min(int(t[vehicles[k].depot.location, o.location]) for k in allowed[o.id])
        need[o.id] = o.service_s + min(from_depot, int(inc[:, j].min()))
    trips = {v.id: trips_of(problem, v) for v in vehicles}
    resources: list[tuple[str, Callable[[Order], int], Callable[[Vehicle], int]]] = [
        ("vehicle_time", lambda o: need[o.id], lambda v: v.type.duration_limit_s)
    ]
    for dim in problem.dimensions:
        for kind in ("delivery", "pickup"):
            resources.append(
                (f"capacity:{dim}:{kind}", _load_of(dim, kind), _capacity_of(trips, dim))
            )
    groups = sorted({tuple(sorted(set(allowed[o.id]))) for o in orders})
    best = FleetBound(len(orders), 0)
    best_rank: dict[str, int] = {}

    def consider(
        group: tuple[int, ...], members: list[Order], name: str, use: Callable[[Order], int],
        available: int,
    ) -> None:  # fmt: skip
        nonlocal best, best_rank
        uses = sorted(use(o) for o in members)
        fits, total = 0, 0
        for u in uses:
            if total + u > available:
                break
            total, fits = total + u, fits + 1
        short = len(members) - fits
        if short > best.short:
            ids = tuple(vehicles[k].id for k in group)
            depots = tuple(sorted({vehicles[k].depot.id for k in group}))
            best = FleetBound(
                len(orders), short, name, sum(uses), available, len(members), ids, depots
            )
            best_rank = {o.id: use(o) for o in members}

    for group in groups:
        members = [o for o in orders if set(allowed[o.id]) <= set(group)]
        for name, use, offer in resources:
            consider(group, members, name, use, sum(offer(vehicles[k]) for k in group))
        # vehicle time before each window end: the orders due by then against the time the
        # group's vehicles have before it
        for end in sorted({o.time_window[1] for o in members if o.time_window is not None}):
            due = [o for o in members if o.time_window is not None and o.time_window[1] <= end]
            last_service = max(o.service_s for o in due)
            available = sum(
                min(end - vehicles[k].type.shift_start_s, vehicles[k].type.duration_limit_s)
                + last_service
                for k in group
                if vehicles[k].type.shift_start_s <= end
            )
            name = f"vehicle_time_by_{_clock_s(end)}"
            consider(group, due, name, lambda o: need[o.id], available)
    return best, best_rank


def _load_of(dim: str, kind: str) -> Callable[[Order], int]:
    def load(o: Order) -> int:
        return o.quantity.get(dim, 0) if o.kind == kind else 0

    return load


def _capacity_of(trips: Mapping[str, int], dim: str) -> Callable[[Vehicle], int]:
    def capacity(v: Vehicle) -> int:  # per trip, times the trips
        return v.type.capacity.get(dim, 0) * trips[v.id]

    return capacity


def explain_unassigned(
    problem: RoutingProblem, served: set[str] | frozenset[str]
) -> tuple[tuple[Unassigned, ...], FleetBound]:
    """Reason code and evidence for every order of ``problem`` not in ``served``.

    ``infeasible`` orders come from :func:`precheck`. Of the servable orders left unserved, as many
    as the :class:`FleetBound` proves must be left get ``fleet`` (members of the bound's group,
    largest need first); the rest get ``search``.
    """
    allowed, dropped = precheck(problem)
    bound, rank = fleet_bound(problem, allowed)
    vehicles = vehicles_of(problem)
    missed = [o for o in problem.orders if o.id in allowed and o.id not in served]
    in_group = sorted((o for o in missed if o.id in rank), key=lambda o: (-rank[o.id], o.id))
    fleet_ids = {o.id for o in in_group[: min(bound.short, len(missed))]}
    out = [u for u in dropped if u.order_id not in served]
    for o in missed:
        if o.id in fleet_ids:
            out.append(
                Unassigned(
                    o.id,
                    FLEET,
                    bound.resource,
                    f"fleet bound ({bound.resource}): the {bound.group_orders} orders that only "
                    f"the {len(bound.vehicles)} vehicle(s) at "
                    f"{'depot' if len(bound.depots) == 1 else 'depots'} {', '.join(bound.depots)} "
                    f"may serve need {bound.needed}, those vehicles offer {bound.available}: at "
                    f"least {bound.short} must go unserved (group_vehicles of fleet_bound in "
                    "kpis.json)",
                    limit=bound.available,
                    best=bound.needed,
                    unit="s"
                    if bound.resource.startswith("vehicle_time")
                    else bound.resource.split(":")[1],
                )
            )
        else:
            fig, v = min(
                ((direct_trip(problem, o, vehicles[k]), vehicles[k]) for k in allowed[o.id]),
                key=lambda x: (x[0]["duration"], x[1].id),
            )
            # in the bound's group, beyond what it proves: the fleet may be short of it too
            beyond = (
                f"the fleet bound ({bound.resource}) proves {bound.short} of its group of "
                f"{bound.group_orders} short, and this order is beyond them: the search left it, "
                "or the fleet is shorter than the bound can prove"
                if o.id in rank and bound.short > 0
                else "no bound proves the fleet short: the search left it"
            )
            out.append(
                Unassigned(
                    o.id,
                    SEARCH,
                    "",
                    f"servable alone (direct trip from depot {v.depot.id}: "
                    f"{_minutes(fig['duration'])}); {beyond}",
                    best=fig["duration"],
                    unit="s",
                )
            )
    return tuple(out), bound


# --------------------------------------------------------------------------- solve


#: The first-solution strategies of a two-core portfolio, best alone first (BENCHMARKS.md).
PORTFOLIO = ("PARALLEL_CHEAPEST_INSERTION", "PATH_CHEAPEST_ARC")


def _solve_in_child(k: int) -> RoutingSolution:
    problem, options = inherited("routing_jobs")[k]
    return _solve_one(problem, options)


def _rank(solution: RoutingSolution) -> tuple[int, float]:
    return (solution.kpis.unassigned, solution.kpis.total_cost)


def compacted(problem: RoutingProblem) -> tuple[RoutingProblem, NDArray[np.int64]]:
    """``problem`` on the locations its depots and orders use, and each new location's old one.

    The locations are renumbered in the order the depots, then the orders, first use them; with
    one depot, an order pinned to it is unpinned (it has no other). The search reads the
    matrices at these locations only, so :func:`solve` builds the same model from either
    problem; two sub-problems of different days that are one model compact to equal problems.
    """
    used = [dp.location for dp in problem.depots] + [o.location for o in problem.orders]
    old = np.asarray(list(dict.fromkeys(used)), dtype=np.int64)
    new_of = {int(loc): i for i, loc in enumerate(old)}
    only = problem.depots[0].id if len(problem.depots) == 1 else None
    at = np.ix_(old, old)
    reachable = problem.reachable
    assert reachable is not None  # set by RoutingProblem.__post_init__
    model = replace(
        problem,
        time_s=problem.time_s[at],
        distance_m=problem.distance_m[at],
        reachable=reachable[at],
        depots=tuple(replace(dp, location=new_of[dp.location]) for dp in problem.depots),
        orders=tuple(
            replace(o, location=new_of[o.location], depot=None if o.depot == only else o.depot)
            for o in problem.orders
        ),
    )
    return model, old


def relocated(solution: RoutingSolution, old: NDArray[np.int64]) -> RoutingSolution:
    """A solution of a :func:`compacted` problem, its stops at the original problem's locations
    (``old``: what :func:`compacted` returned)."""
    routes = tuple(
        replace(r, stops=tuple(replace(s, location=int(old[s.location])) for s in r.stops))
        for r in solution.routes
    )
    return replace(solution, routes=routes)


def solve(problem: RoutingProblem, options: RoutingOptions) -> RoutingSolution:
    """Plan routes for ``problem`` within ``options.time_limit_s`` seconds.

    With ``options.portfolio`` the strategies run in parallel forked processes and the best
    solution is returned (see :class:`RoutingOptions`); otherwise one search runs here.
    """
    if not isinstance(problem, RoutingProblem):
        raise InputError(
            f"solve: problem is a {type(problem).__name__}, not a RoutingProblem",
            "build one with RoutingProblem(depots=..., orders=..., vehicle_types=..., ...)",
        )
    if not isinstance(options, RoutingOptions):
        raise InputError("solve: options must be a RoutingOptions", "pass RoutingOptions(...)")
    if len(options.portfolio) < 2 or not can_fork():
        return _solve_one(problem, options)
    jobs = [
        (problem, replace(options, first_solution_strategy=s, portfolio=()))
        for s in options.portfolio
    ]
    with fork_pool(len(jobs), routing_jobs=jobs) as pool:
        results = result_of(pool.map_async(_solve_in_child, range(len(jobs))))
    return min(results, key=_rank)


# local search operators kept for the descent after each ruin and recreate: the rest (pair
# relocate / exchange over all position pairs, sub-trips, LNS) cost tens of thousands of
# neighbours per improving move on pickup-and-delivery models (BENCHMARKS.md)
_ILS_OPERATORS = frozenset(
    {
        "use_relocate",
        "use_exchange",
        "use_cross",
        "use_two_opt",
        "use_or_opt",
        "use_lin_kernighan",
        "use_light_relocate_pair",
    }
)


# OR-Tools 9.15's path-cumul filter (the one for a dimension with span costs, span limits or soft
# bounds: here "time") copies the dimension's transit evaluator for every route it checks, and an
# evaluator from RegisterTransitMatrix owns its matrix as one vector per row: every check copied
# the whole matrix, row by row (46 % of a county search in malloc and memcpy, measured with perf).
# Two cheaper evaluators, chosen by the model's shape (BENCHMARKS.md, "The default plan,
# session 6"):
# - the model's callback cache (one flat vector per callback, one copy per check): best when the
#   routes are long against the model's size, as on the county's depot models;
# - a numpy bound method as a Python callback (nothing to copy, a call per arc): best when
#   routes are short against the model, as on Solomon and Gehring-Homberger instances.
# The bound below is the measured crossover of indices**2 * vehicles / nodes.
_TRANSIT_CACHE_BOUND = 1000
#: the time dimension's evaluator: "auto" (by the rule above), "cache", "python", or "matrix"
#: (RegisterTransitMatrix, the copied one: the peer of benchmarks/bench_transit_evaluators.py)
_TRANSIT_EVALUATOR: Literal["auto", "cache", "python", "matrix"] = "auto"


def _caches_transits(indices: int, nodes: int, vehicles: int) -> bool:
    """Whether the model should cache its callbacks (see the comment above)."""
    return indices * indices * vehicles <= _TRANSIT_CACHE_BOUND * max(1, nodes)


def _iterated_local_search(params: Any, options: RoutingOptions) -> None:
    """Set OR-Tools' search parameters for the iterated local search of :class:`RoutingOptions`."""
    from ortools.constraint_solver import (
        routing_enums_pb2,
        routing_heuristic_parameters_pb2,
        routing_ils_pb2,
    )
    from ortools.util import optional_boolean_pb2

    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GREEDY_DESCENT
    params.use_iterated_local_search = True
    ils = params.iterated_local_search_parameters
    ils.perturbation_strategy = routing_ils_pb2.PerturbationStrategy.RUIN_AND_RECREATE
    ruin_recreate = ils.ruin_recreate_parameters
    sisr = ruin_recreate.ruin_strategies.add().sisr
    sisr.avg_num_removed_visits = options.ruin_visits
    sisr.max_removed_sequence_size = options.ruin_max_sequence
    sisr.bypass_factor = 0.01
    recreate = ruin_recreate.recreate_strategy
    recreate.heuristic = routing_enums_pb2.FirstSolutionStrategy.LOCAL_CHEAPEST_INSERTION
    insertion = routing_heuristic_parameters_pb2.LocalCheapestInsertionParameters
    recreate_insertion = recreate.parameters.local_cheapest_insertion
    recreate_insertion.pickup_delivery_strategy = insertion.BEST_PICKUP_THEN_BEST_DELIVERY
    # in random order (seeded: runs repeat): a fixed order such as "fewest allowed vehicles
    # first" re-inserts the same way after every ruin, which on a joint multi-depot model kept an
    # order in a depot's full van (tests/test_routing.py)
    recreate_insertion.insertion_sorting_properties.append(insertion.SORTING_PROPERTY_RANDOM)
    ils.improve_perturbed_solution = True
    annealing = ils.reference_solution_acceptance_strategy.simulated_annealing
    annealing.cooling_schedule_strategy = routing_ils_pb2.CoolingScheduleStrategy.EXPONENTIAL
    annealing.automatic_temperatures = True
    ils.best_solution_acceptance_strategy.greedy_descent.SetInParent()
    operators = params.local_search_operators
    for operator in operators.DESCRIPTOR.fields:
        if operator.name not in _ILS_OPERATORS:
            setattr(operators, operator.name, optional_boolean_pb2.BOOL_FALSE)


def _solve_one(problem: RoutingProblem, options: RoutingOptions) -> RoutingSolution:
    """One search in this process (the model of :func:`solve`, described here).

    Orders that cannot be served by any vehicle (see :func:`precheck`) are reported ``infeasible``
    with their evidence and left out of the model; the others may still be dropped at a penalty far
    above any route cost, reported ``fleet`` or ``search`` (:func:`explain_unassigned`).

    Model (all constraints are native routing constraints that OR-Tools' first-solution
    heuristics and local-search filters understand; no side constraints through the CP solver):

    - one node per order (several orders at one village = several nodes), depots as route ends;
      travel times with the service time of the origin folded into the rows, one transit matrix;
    - mixed pickups and deliveries: each delivery gets a *loading node* at the depot, paired with
      it (pickup-and-delivery pair); loading nodes may only follow the route start or other
      loading nodes, so they form the head of the route and the load leaving the depot is the sum
      of the route's deliveries, exactly;
    - cold chain: a delivery's limit is a maximum on a "clock" dimension (travel and service
      since the trip left the depot; a depot node restarts it) when no order has a time window,
      with no waiting at villages; with time windows it is a pickup-to-delivery limit on
      (loading node, delivery), waits included. A pickup's limit is one on (pickup, *unloading
      node* at the depot), unloading nodes forming the tail of the route (only unloading nodes or
      the route end may follow them);
    - several depots (joint model): an order's loading / unloading node has one alternative per
      candidate depot (a disjunction of nodes, each allowed only on that depot's vehicles, paired
      with the order as pickup-and-delivery *sets*), so the solver chooses the depot; no
      pre-assignment. ``options.depot_candidates`` limits the alternatives to the nearest depots;
    - several trips per vehicle (any ``max_trips`` > 1): every order gets its loading /
      unloading node at the depot, and these may now be visited mid-route: a vehicle that goes
      from a village to a depot node has come back to the depot (the arc carries the type's
      ``reload_s``); a visit unloads before it loads. Loads are then physical, so capacity holds
      per trip, and each pair's time-in-vehicle limit runs per trip by construction. A ``trips``
      dimension counts the returns to the depot (at most ``max_trips``); the day stays within the
      span limit. All native constraints (measured against chained vehicle copies per trip with side
      constraints, which found no first solution on the county baseline in 120 s; BENCHMARKS.md).
    """
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    t0 = time.perf_counter()
    if not isinstance(options, RoutingOptions):
        raise InputError("solve: options must be a RoutingOptions", "pass RoutingOptions(...)")
    vehicles = vehicles_of(problem)
    allowed, _ = precheck(problem)
    orders = [o for o in problem.orders if o.id in allowed]
    if not vehicles or not orders:
        un, bound = explain_unassigned(problem, set())
        return RoutingSolution(
            (),
            un,
            compute_kpis(problem, (), len(un)),
            "no orders to route",
            time.perf_counter() - t0,
            ENDED_NOTHING,
            0,
            bound,
        )

    mixed = any(o.kind == "delivery" for o in orders) and any(o.kind == "pickup" for o in orders)
    trips = [trips_of(problem, v) for v in vehicles]
    multi = max(trips) > 1  # depot visits mid-route: every order gets its depot node
    heads = [
        i
        for i, o in enumerate(orders)
        if o.kind == "delivery" and (multi or mixed or o.max_in_vehicle_s is not None)
    ]
    tails = [
        i
        for i, o in enumerate(orders)
        if o.kind == "pickup" and (multi or o.max_in_vehicle_s is not None)
    ]
    t_full = problem.time_s
    # order position -> the depots of its loading / unloading node alternatives, nearest first
    home: dict[int, list[Depot]] = {}
    for i in heads + tails:
        o = orders[i]
        cands = {vehicles[k].depot.id: vehicles[k].depot for k in allowed[o.id]}
        ranked = sorted(
            cands.values(),
            key=lambda dp: (
                int(t_full[dp.location, o.location] + t_full[o.location, dp.location]),
                dp.id,
            ),
        )
        home[i] = ranked[: options.depot_candidates] if options.depot_candidates else ranked
        keep = {dp.id for dp in home[i]}
        allowed[o.id] = [k for k in allowed[o.id] if vehicles[k].depot.id in keep]

    fleet = list(vehicles)
    n_dep, n_ord = len(problem.depots), len(orders)
    dep_node = {dp.id: i for i, dp in enumerate(problem.depots)}
    aux_depot: list[Depot] = []  # depot of each loading node, then of each unloading node
    head_node: dict[int, list[int]] = {}
    tail_node: dict[int, list[int]] = {}
    for nodes, members in ((head_node, heads), (tail_node, tails)):
        for i in members:
            nodes[i] = list(
                range(n_dep + n_ord + len(aux_depot), n_dep + n_ord + len(aux_depot) + len(home[i]))
            )
            aux_depot += home[i]
    n_heads = sum(len(v) for v in head_node.values())
    loc = np.array(
        [dp.location for dp in problem.depots]
        + [o.location for o in orders]
        + [dp.location for dp in aux_depot]
    )
    service = np.zeros(len(loc), dtype=np.int64)
    service[n_dep : n_dep + n_ord] = [o.service_s for o in orders]
    n_nodes = len(loc)
    horizon = max(vt.shift_end_s for vt in problem.vehicle_types)
    reach = np.asarray(problem.reachable)[np.ix_(loc, loc)]
    tn = t_full[np.ix_(loc, loc)] + service[:, None]
    tn = np.where(reach, tn, horizon + 1)
    np.fill_diagonal(tn, 0)
    dn = np.where(reach, problem.distance_m[np.ix_(loc, loc)], 0)

    manager = pywrapcp.RoutingIndexManager(
        n_nodes,
        len(fleet),
        [dep_node[v.depot.id] for v in fleet],
        [dep_node[v.depot.id] for v in fleet],
    )
    cached = _TRANSIT_EVALUATOR == "cache" or (
        _TRANSIT_EVALUATOR == "auto"
        and _caches_transits(manager.GetNumberOfIndices(), n_nodes, len(fleet))
    )
    model_params = pywrapcp.DefaultRoutingModelParameters()
    if cached:
        model_params.max_callback_cache_size = manager.GetNumberOfIndices() + 1
    routing = pywrapcp.RoutingModel(manager, model_params)
    index_node = np.array([manager.IndexToNode(i) for i in range(manager.GetNumberOfIndices())])
    evaluators: list[NDArray[np.int64]] = []  # keep the callbacks' arrays alive while solving

    def register_time(matrix: NDArray[np.int64]) -> int:
        if cached or _TRANSIT_EVALUATOR == "matrix":  # with the cache on, kept as a flat vector
            return int(routing.RegisterTransitMatrix(matrix.tolist()))
        by_index = np.ascontiguousarray(matrix[np.ix_(index_node, index_node)], dtype=np.int64)
        evaluators.append(by_index)
        sign = (
            routing.kTransitEvaluatorSignPositiveOrZero
            if (by_index >= 0).all()
            else routing.kTransitEvaluatorSignUnknown
        )
        return int(routing.RegisterTransitCallback(by_index.item, sign))

    # arc costs per vehicle type (distance), fixed costs, span cost (duration)
    type_cb: dict[str, int] = {}
    max_arc = 0
    for vt in problem.vehicle_types:
        cost = np.rint(dn * (vt.cost_per_km * COST_SCALE / 1000.0)).astype(np.int64)
        max_arc = max(max_arc, int(cost.max()))
        type_cb[vt.id] = routing.RegisterTransitMatrix(cost.tolist())
    if not multi:
        routing.AddDimension(register_time(tn), horizon, horizon, False, "time")
    else:  # coming back from a village to a depot node: + the vehicle type's reload time
        aux = slice(n_dep + n_ord, n_nodes)
        time_cbs: dict[int, int] = {}
        for reload in sorted({v.type.reload_s for v in fleet}):
            tr = tn.copy()
            tr[n_dep : n_dep + n_ord, aux] += reload
            time_cbs[reload] = register_time(tr)
        routing.AddDimensionWithVehicleTransits(
            [time_cbs[v.type.reload_s] for v in fleet], horizon, horizon, False, "time"
        )
    tdim = routing.GetDimensionOrDie("time")
    max_fixed = max_span = 0
    for k, v in enumerate(fleet):
        vt = v.type
        routing.SetArcCostEvaluatorOfVehicle(type_cb[vt.id], k)
        fixed = round(vt.fixed_cost * COST_SCALE)
        routing.SetFixedCostOfVehicle(fixed, k)
        span = round(vt.cost_per_hour * COST_SCALE / 3600.0)
        if span > 0:
            tdim.SetSpanCostCoefficientForVehicle(span, k)
        max_fixed, max_span = max(max_fixed, fixed), max(max_span, span)
        start, end = routing.Start(k), routing.End(k)
        tdim.CumulVar(start).SetRange(vt.shift_start_s, vt.shift_end_s)
        tdim.CumulVar(end).SetRange(vt.shift_start_s, vt.shift_end_s)
        tdim.SetSpanUpperBoundForVehicle(vt.duration_limit_s, k)
        # leave as early as the constraints allow (cold-chain limits included), return early: a
        # parcel's lead time runs from the cut-off, so a route that waits at its depot delays
        # every delivery on it (leaving late would only shorten in-vehicle times already within
        # their limits)
        routing.AddVariableMinimizedByFinalizer(tdim.CumulVar(start))
        routing.AddVariableMinimizedByFinalizer(tdim.CumulVar(end))
    if multi and any(vt.max_trips is not None for vt in problem.vehicle_types):
        # trips: one at every arc from a village back to the depot (a depot node mid-route, or
        # the route end: a trip that ends with unloading pickups reaches the end from a depot
        # node and was counted on the way in), at most max_trips
        back = [[0] * n_nodes for _ in range(n_nodes)]
        for r in range(n_dep, n_dep + n_ord):
            back[r][:n_dep] = [1] * n_dep
            back[r][n_dep + n_ord :] = [1] * (n_nodes - n_dep - n_ord)
        routing.AddDimensionWithVehicleCapacity(
            routing.RegisterTransitMatrix(back), 0, list(trips), True, "trips"
        )

    # capacity: with loading nodes, +q when loading at the depot and -q at the village
    for dim in problem.dimensions:
        caps = [v.type.capacity.get(dim, 0) for v in fleet]
        demand = [0] * n_nodes
        for i, o in enumerate(orders):
            q = o.quantity.get(dim, 0)
            if (mixed or multi) and o.kind == "delivery":
                for h in head_node[i]:
                    demand[h] = q
                demand[n_dep + i] = -q
            else:
                demand[n_dep + i] = q
                if multi:  # unloaded at the depot node of a later visit
                    for u in tail_node[i]:
                        demand[u] = -q
        cb = routing.RegisterUnaryTransitVector(demand)
        routing.AddDimensionWithVehicleCapacity(cb, 0, caps, True, f"load:{dim}")

    # Cold-chain limits of deliveries. With no time window in the model nothing needs to wait at a
    # village, so village slack is fixed at 0 and a delivery's time in vehicle is the travel and
    # service since its trip left the depot: a "clock" dimension that restarts at every depot node
    # (a negative transit on the way in, absorbed by slack) bounds it by a cumul maximum, which the
    # local-search filters check natively. A pickup-to-delivery limit function would be a Python
    # callback called for every pair on every neighbour (measured: half of the search time on the
    # county plan). With time windows, waits are part of the time in vehicle: limit functions.
    body_idx = [manager.NodeToIndex(n_dep + i) for i in range(n_ord)]
    clock = None
    if not any(o.time_window is not None for o in orders) and any(
        o.kind == "delivery" and o.max_in_vehicle_s is not None for o in orders
    ):
        tc = tn.copy()
        if multi:
            tc[n_dep : n_dep + n_ord, n_dep + n_ord :] = -horizon
        routing.AddDimension(
            routing.RegisterTransitMatrix(tc.tolist()), horizon, horizon, True, "clock"
        )
        clock = routing.GetDimensionOrDie("clock")
        for idx in body_idx:
            tdim.SlackVar(idx).SetValue(0)

    # early delivery: cost per second from the fleet's first shift start to the start of service
    lead = round(problem.delivery_hour_cost * COST_SCALE / 3600.0)
    day_start = min(v.type.shift_start_s for v in fleet)
    penalty = 10 * (max_fixed + 2 * max_arc + (max_span + lead) * horizon) + COST_SCALE
    min_reload = min(v.type.reload_s for v in fleet)
    all_vehicles = set(range(len(fleet)))
    limits: list[Callable[[int, int], int]] = []  # keep the callbacks alive while solving
    n_pairs = 0
    head_idx = [manager.NodeToIndex(h) for i in heads for h in head_node[i]]
    for i, o in enumerate(orders):
        idx = manager.NodeToIndex(n_dep + i)
        d_order = routing.AddDisjunction([idx], penalty)
        extra: list[int] = []
        single: list[int] = []
        for nodes, is_head in ((head_node, True), (tail_node, False)):
            if i not in nodes:
                continue
            alts = [manager.NodeToIndex(h) for h in nodes[i]]
            extra += alts
            if len(alts) == 1:  # one depot: a plain pair
                single += alts
                if is_head:
                    routing.AddPickupAndDelivery(alts[0], idx)
                else:
                    routing.AddPickupAndDelivery(idx, alts[0])
            else:  # joint multi-depot: the solver picks the depot (one alternative)
                d_alt = routing.AddDisjunction(alts, 0, 1)
                if is_head:
                    routing.AddPickupAndDeliverySets(d_alt, d_order)
                else:
                    routing.AddPickupAndDeliverySets(d_order, d_alt)
            if is_head and o.max_in_vehicle_s is not None and clock is not None:
                clock.CumulVar(idx).SetMax(o.max_in_vehicle_s - o.service_s)
            elif is_head and o.max_in_vehicle_s is not None:
                # cumul(delivery) + service - cumul(loading) <= limit
                limits.append(_constant(o.max_in_vehicle_s - o.service_s))
                tdim.SetPickupToDeliveryLimitFunctionForPair(limits[-1], n_pairs)
            elif not is_head and o.max_in_vehicle_s is not None:
                # cumul(unloading) - cumul(pickup) <= limit; with trips the arc into the depot
                # node carries the reload time, which follows the arrival that stops the clock
                # (the smallest reload of the fleet: exact for one reload time, never too loose)
                limits.append(_constant(o.max_in_vehicle_s + (min_reload if multi else 0)))
                tdim.SetPickupToDeliveryLimitFunctionForPair(limits[-1], n_pairs)
            n_pairs += 1
        for e in single:
            routing.AddDisjunction([e], 0)
        # (SetAllowedVehiclesForIndex takes an absl::Span the Python wrapper cannot build)
        if set(allowed[o.id]) != all_vehicles:
            routing.VehicleVar(idx).SetValues([-1, *allowed[o.id]])
        for e in extra:  # an alternative at depot D: only D's vehicles
            at = aux_depot[manager.IndexToNode(e) - n_dep - n_ord].id
            mine = [c for c in allowed[o.id] if fleet[c].depot.id == at]
            if set(mine) != all_vehicles:
                routing.VehicleVar(e).SetValues([-1, *mine])
        if o.time_window is not None:
            tdim.CumulVar(idx).SetRange(*o.time_window)
        if lead > 0 and o.kind == "delivery":
            tdim.SetCumulVarSoftUpperBound(idx, day_start, lead)
        cut = np.flatnonzero(~reach[n_dep + i, n_dep : n_dep + n_ord])
        unreachable = [body_idx[int(j)] for j in cut]
        forbid = unreachable if multi else head_idx + unreachable
        if forbid:
            routing.NextVar(idx).RemoveValues(forbid)
    tail_idx = [manager.NodeToIndex(u) for i in tails for u in tail_node[i]]
    if not multi:  # one trip: loading nodes head the route, unloading nodes end it
        for u in tail_idx:
            routing.NextVar(u).RemoveValues(body_idx + head_idx)
    else:  # a depot visit unloads first, then loads
        for h in head_idx:
            routing.NextVar(h).RemoveValues(tail_idx)
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = getattr(
        routing_enums_pb2.FirstSolutionStrategy, options.first_solution_strategy
    )
    params.local_search_metaheuristic = getattr(
        routing_enums_pb2.LocalSearchMetaheuristic, options.local_search_metaheuristic
    )
    remaining = max(0.01, options.time_limit_s - (time.perf_counter() - t0))
    params.time_limit.FromMilliseconds(max(10, int(remaining * 1000)))
    if options.solution_limit is not None:
        params.solution_limit = options.solution_limit
    if options.gls_lambda is not None:
        params.guided_local_search_lambda_coefficient = options.gls_lambda
    if options.iterated_local_search:
        _iterated_local_search(params, options)
    params.log_search = options.log

    found = [0]

    def count() -> None:
        found[0] += 1

    routing.AddAtSolutionCallback(count)
    t_search = time.perf_counter()
    # Ctrl-C / SIGTERM during the search: KeyboardInterrupt when it returns (lastmile.stopping)
    with searching():
        if options.iterated_local_search:
            # OR-Tools 9.15 runs ILS only from this entry point (SolveWithParameters ignores it),
            # and that entry point leaves the model's status unset: name it from the result
            assignment = routing.SolveWithIteratedLocalSearch(params)
            status_name = "ROUTING_SUCCESS" if assignment is not None else "ROUTING_FAIL"
        else:
            assignment = routing.SolveWithParameters(params)
            status_name = routing_enums_pb2.RoutingSearchStatus.Value.Name(routing.status())
    searched = time.perf_counter() - t_search
    if options.solution_limit is not None and found[0] >= options.solution_limit:
        ended = ENDED_SOLUTION_LIMIT
    elif assignment is None:
        ended = ENDED_TIME_CAP if searched >= 0.99 * remaining else ENDED_NO_SOLUTION
    elif searched >= 0.99 * remaining or "TIMEOUT" in status_name:
        ended = ENDED_TIME_CAP
    else:
        ended = ENDED_LOCAL_OPTIMUM
    if assignment is None:
        un, bound = explain_unassigned(problem, set())
        return RoutingSolution(
            (),
            un,
            compute_kpis(problem, (), len(un)),
            status_name,
            time.perf_counter() - t0,
            ended,
            found[0],
            bound,
        )

    routes: list[Route] = []
    served: set[str] = set()
    for k, v in enumerate(fleet):
        if not routing.IsVehicleUsed(assignment, k):
            continue
        # trips: a depot node after a village ends a trip; the next leaves after the visit
        # (goods loaded earlier and delivered on a later trip are booked as reloaded at the visit
        # between: same loads on that trip, shorter times in vehicle - all within the model's)
        idx = assignment.Value(routing.NextVar(routing.Start(k)))
        legs: list[tuple[list[tuple[Order, int]], int]] = []
        seq: list[tuple[Order, int]] = []
        dep = int(assignment.Value(tdim.CumulVar(routing.Start(k))))
        while not routing.IsEnd(idx):
            node = manager.IndexToNode(idx)
            cumul = int(assignment.Value(tdim.CumulVar(idx)))
            if node < n_dep + n_ord:
                seq.append((orders[node - n_dep], cumul))
            elif seq:  # back at the depot
                legs.append((seq, dep))
                seq, dep = [], cumul
            elif node < n_dep + n_ord + n_heads or multi:  # at the depot: leave after it
                dep = max(dep, cumul)
            idx = assignment.Value(routing.NextVar(idx))
        if seq:
            legs.append((seq, dep))
        for n, (trip_seq, trip_dep) in enumerate(legs, start=1):
            routes.append(
                route_schedule(
                    problem,
                    v,
                    [o for o, _ in trip_seq],
                    trip_dep,
                    [st for _, st in trip_seq],
                    trip=n,
                )
            )
            served.update(o.id for o, _ in trip_seq)
    un, bound = explain_unassigned(problem, served)
    return RoutingSolution(
        routes=tuple(routes),
        unassigned=un,
        kpis=compute_kpis(problem, routes, len(un)),
        status=status_name,
        solve_seconds=time.perf_counter() - t0,
        search_ended_by=ended,
        solutions=found[0],
        fleet_bound=bound,
    )


def _constant(value: int) -> Callable[[int, int], int]:
    def limit(pickup_alternative: int, delivery_alternative: int) -> int:
        return value

    return limit


def route_schedule(
    problem: RoutingProblem,
    vehicle: Vehicle,
    orders: Sequence[Order],
    departure_s: int | None = None,
    starts: Sequence[int] | None = None,
    *,
    trip: int = 1,
) -> Route:
    """Schedule, loads, distance, cost and times in vehicle of one trip visiting ``orders``.

    Parameters
    ----------
    problem
        The problem whose matrices give the travel times and distances.
    vehicle
        The vehicle driving the trip (one of :func:`vehicles_of`).
    orders
        The orders in visiting order.
    departure_s
        Earliest departure from the depot; default the vehicle type's shift start. The vehicle
        leaves as late as the first stop allows (no waiting there).
    starts
        Start of service at each stop (the solver's); default the earliest start, i.e. the
        arrival or the opening of the order's time window, whichever is later.
    trip
        Trip number of the vehicle; the fixed cost is booked on trip 1 only.

    Returns
    -------
    Route
        With the conventions of this module's docstring. Nothing is checked here (no time
        window, capacity or cold-chain test): :func:`lastmile.validate.validate_routes` does that
        independently.
    """
    t, d = problem.time_s, problem.distance_m
    depot_loc = vehicle.depot.location
    departure = vehicle.type.shift_start_s if departure_s is None else departure_s
    if starts is not None and len(starts) != len(orders):
        raise InputError(
            f"{len(starts)} start times for {len(orders)} orders",
            "give one start time per order, or none",
        )
    if orders:  # leave as late as the first stop allows (no waiting there)
        first = orders[0]
        first_start = (
            starts[0]
            if starts is not None
            else max(
                departure + int(t[depot_loc, first.location]),
                first.time_window[0] if first.time_window is not None else 0,
            )
        )
        departure = max(departure, first_start - int(t[depot_loc, first.location]))
    dims = problem.dimensions
    load = {k: sum(o.quantity.get(k, 0) for o in orders if o.kind == "delivery") for k in dims}
    load_at_start = MappingProxyType(dict(load))
    prev_loc, prev_dep, dist = depot_loc, departure, 0
    rows: list[tuple[Order, int, int, Mapping[str, int]]] = []
    for i, o in enumerate(orders):
        arrival = prev_dep + int(t[prev_loc, o.location])
        if starts is not None:
            start = int(starts[i])
        else:
            start = max(arrival, o.time_window[0] if o.time_window is not None else 0)
        dist += int(d[prev_loc, o.location])
        sign = -1 if o.kind == "delivery" else 1
        for k in dims:
            load[k] += sign * o.quantity.get(k, 0)
        rows.append((o, arrival, start, MappingProxyType(dict(load))))
        prev_loc, prev_dep = o.location, start + o.service_s
    arrival_back = prev_dep + int(t[prev_loc, depot_loc])
    dist += int(d[prev_loc, depot_loc])
    stops = tuple(
        Stop(
            o.id,
            o.location,
            arr,
            st,
            st + o.service_s,
            ld,
            in_vehicle_time(o.kind, departure, arrival_back, st, o.service_s),
        )
        for o, arr, st, ld in rows
    )
    cost = route_cost(vehicle.type, dist, arrival_back - departure)
    if trip > 1:  # the fixed cost is the vehicle's, booked on its first trip
        cost -= vehicle.type.fixed_cost
    return Route(
        vehicle.id,
        vehicle.type.id,
        vehicle.depot.id,
        departure,
        arrival_back,
        load_at_start,
        stops,
        dist,
        cost,
        trip,
    )

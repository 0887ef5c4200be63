"""Region settings: parsed once, at the edge, into frozen dataclasses.

A region file (TOML) holds everything specific to a county: its township registry, the county
logistics centre, road speeds, cold-chain limits and the stand-in generator settings. The embedded
default is ``regions/suichang.toml``; other regions are added by writing another such file.

Paths to reference data (the county outline) and to the cache are resolved here too, from an
explicit argument, then an environment variable, then a default.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import math
import os
import re
import tempfile
import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from lastmile.errors import InputError
from lastmile.gcj02 import is_gcj02
from lastmile.routing import VehicleType

#: Environment variable naming the reference-data directory (holds ``boundaries/``, ``osm/`` ...).
REFERENCE_DATA_ENV = "LASTMILE_REFERENCE_DATA"
#: Environment variable naming the cache/data directory for fetched data and cached graphs.
CACHE_DIR_ENV = "LASTMILE_CACHE_DIR"

TOWNSHIP_KINDS = ("街道", "镇", "乡")
#: Seeds must fit numpy's and OR-Tools' unsigned 32-bit seeds (numpy refuses negative ones late).
SEED_LIMIT = 2**32
#: Longest duration a time setting may give (one week): a larger one is a typo, and OR-Tools
#: refuses durations beyond its int64 nanoseconds deep inside a solve.
MAX_DURATION_S = 7 * 24 * 3600
#: Most vehicles of one type at one depot ([[fleet]] count_per_depot, [trunk] count). Routing
#: builds one OR-Tools vehicle (and its dimensions) per unit, so a typo such as 1000000000000
#: would not fail but exhaust memory and hang; a county depot never runs anywhere near 1000.
MAX_VEHICLES_PER_DEPOT = 1000

#: A ``[region] id``: a plain name (it names folders in the cache), at most 64 characters.
REGION_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")

#: The keys of every region table; a key outside them is a typo and refused.
REGION_KEYS: dict[str, frozenset[str]] = {
    "region": frozenset(
        {"id", "name", "name_local", "code", "projected_crs", "area_km2", "outline"}
    ),
    "region.outline": frozenset({"path", "reference_file", "crs"}),
    "county_centre": frozenset({"id", "name", "township", "lon", "lat"}),
    "network": frozenset({"max_snap_m"}),
    "cold_chain": frozenset(
        {"produce_max_in_vehicle_min", "tea_max_in_vehicle_min", "parcel_max_in_vehicle_min"}
    ),
    "standin": frozenset({"seed", "villages_per_township", "node_spacing_m"}),
    "demand": frozenset(
        {
            "parcels_per_resident_per_day",
            "parcel_kg",
            "produce_pickup_share",
            "produce_kg_per_resident",
            "tea_share_of_pickups",
            "produce_requires_refrigeration",
            "tea_requires_refrigeration",
            "service_min_delivery",
            "service_min_pickup",
            "default_population",
            "candidates_per_township",
            "junctions_per_township",
            "seed",
        }
    ),
    "fleet": frozenset(
        {
            "id",
            "refrigerated",
            "capacity_kg",
            "capacity_parcels",
            "count_per_depot",
            "shift_start",
            "shift_end",
            "max_duration_h",
            "max_trips",
            "reload_min",
            "fixed_cost",
            "cost_per_km",
            "cost_per_hour",
        }
    ),
    "trunk": frozenset(
        {
            "cutoff",
            "vehicle_id",
            "refrigerated",
            "capacity_kg",
            "capacity_parcels",
            "count",
            "morning_departure",
            "hub_latest_arrival",
            "evening_departure",
            "shift_end",
            "fixed_cost",
            "cost_per_km",
            "cost_per_hour",
            "unload_min",
            "hub_handling_min",
            "hub_cold_store",
            "hub_daily_cost",
        }
    ),
    "townships": frozenset({"code", "code12", "name", "pinyin", "kind", "is_county_seat"}),
}
#: The top-level keys of a region file (``[speeds_kmh]`` holds any OSM highway class).
REGION_FILE_TABLES = frozenset({*REGION_KEYS, "speeds_kmh"} - {"region.outline"})


@dataclass(frozen=True)
class _Origin:
    """Which file gave each value of the region tables, so that a message names the file to edit.

    A scenario replaces ``[[fleet]]`` (and any table it gives as a non-table) whole: ``None`` in
    ``scenario_keys``; it merges the keys of its other tables over the region file's: the set of
    keys it gave.
    """

    region: str
    scenario: str | None = None
    scenario_keys: Mapping[str, frozenset[str] | None] = field(default_factory=dict)

    def file(self, table: str) -> str:
        """The file that gave ``table`` as a whole (the scenario only when it replaced it)."""
        replaced = table in self.scenario_keys and self.scenario_keys[table] is None
        return self.scenario if self.scenario is not None and replaced else self.region

    def of(self, table: str, key: str | None = None) -> str:
        """``'<file> [table]'`` for ``[table] key``, or for the table as a whole (``key`` None)."""
        label = f"[{table}]"
        given = self.scenario_keys.get(table, frozenset())
        if self.scenario is not None and table in self.scenario_keys:
            if given is None or (key is not None and key in given):
                return f"{self.scenario} {label}"
            if key is None and given:
                return f"{self.scenario} over {self.region} {label}"
        return f"{self.region} {label}"


def _vehicle_count(value: int, key: str, where: str) -> int:
    """A count of vehicles at one depot, at most ``MAX_VEHICLES_PER_DEPOT``."""
    if value > MAX_VEHICLES_PER_DEPOT:
        raise InputError(
            f"{where}: {key} = {value} is above {MAX_VEHICLES_PER_DEPOT} vehicles per depot, "
            "more than any depot runs (routing builds every vehicle and would run out of memory)",
            f"give the number of vehicles at one depot, at most {MAX_VEHICLES_PER_DEPOT}",
        )
    return value


def _table(value: Any, where: str, hint: str) -> Mapping[str, Any]:
    """``value`` as a TOML table, or an InputError naming ``where``."""
    if not isinstance(value, Mapping):
        raise InputError(f"{where}: not a table (got {type(value).__name__} {value!r})", hint)
    return value


def _known_keys(table: Mapping[str, Any], known: Collection[str], where: str) -> None:
    """Refuse keys outside ``known``: a typo would otherwise silently keep the default."""
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise InputError(f"{where}: unknown key(s) {unknown}", f"known keys: {sorted(known)}")


def _region_keys(table: Mapping[str, Any], name: str, origin: _Origin) -> None:
    """Refuse unknown keys of region table ``name``, naming the file that gave the first one."""
    unknown = sorted(set(table) - REGION_KEYS[name])
    _known_keys(table, REGION_KEYS[name], origin.of(name, unknown[0] if unknown else None))


def _number(
    value: Any, key: str, where: str, lo: float = 0.0, hi: float = math.inf, *, above: bool = False
) -> float:
    """``value`` as a finite number in ``[lo, hi]`` (``(lo, hi]`` with ``above``).

    TOML reads ``inf`` and ``nan`` as floats; both would pass a plain ``>= lo`` test (or none) and
    crash or mislead far from the file, so every number is checked to be finite here.
    """
    ok = (
        not isinstance(value, bool)
        and isinstance(value, int | float)
        and math.isfinite(value)
        and (value > lo if above else value >= lo)
        and value <= hi
    )
    if not ok:
        bound = f"> {lo:g}" if above else f">= {lo:g}"
        if hi != math.inf:
            bound += f" and <= {hi:g}"
        raise InputError(
            f"{where}: {key} = {value!r} is not a finite number {bound}", "fix the value"
        )
    return float(value)


def _whole(value: Any, key: str, where: str, lo: int = 0, hi: int | None = None) -> int:
    """``value`` as a whole number in ``[lo, hi]`` (a float such as ``4.0`` is accepted)."""
    whole = (
        not isinstance(value, bool)
        and isinstance(value, int | float)
        and math.isfinite(value)
        and float(value).is_integer()
    )
    if not whole or value < lo or (hi is not None and value > hi):
        bound = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
        raise InputError(
            f"{where}: {key} = {value!r} is not a whole number {bound}", "fix the value"
        )
    return int(value)


def _seed(value: Any, key: str, where: str) -> int:
    """A random seed: an integer in [0, 2**32), what numpy and OR-Tools accept."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < SEED_LIMIT:
        raise InputError(
            f"{where}: {key} = {value!r} is not a seed (an integer in [0, 2**32 - 1])",
            "give a non-negative integer such as 2026",
        )
    return value


def _flag(value: Any, key: str, where: str) -> bool:
    """A TOML boolean: a string ``"false"`` would be truthy under ``bool()``."""
    if not isinstance(value, bool):
        raise InputError(f"{where}: {key} = {value!r} must be true or false", "write true or false")
    return value


def check_crs(value: Any, key: str, where: str, *, projected: bool = False) -> str:
    """A CRS string pyproj understands (``projected``: in metres), or ``"gcj02"`` unless projected.

    Checked when the file is read: an unknown code would otherwise raise pyproj's ``CRSError``
    deep inside the network or outline steps.
    """
    # imported here: the CLI imports this module for every command, most never need PROJ
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{where}: {key} = {value!r} must be a CRS string such as 'EPSG:32650'")
    if not projected and is_gcj02(value):
        return value
    try:
        crs = CRS.from_user_input(value)
    except CRSError as exc:
        raise InputError(
            f"{where}: {key} = {value!r} is not a known CRS ({exc})",
            "give an EPSG code such as 'EPSG:32650' (UTM 50N)"
            + ("" if projected else " or 'gcj02'"),
        ) from None
    if projected and not crs.is_projected:
        raise InputError(
            f"{where}: {key} = {value!r} is not a projected (metric) CRS",
            "give the county's UTM zone, e.g. 'EPSG:32650' (UTM 50N)",
        )
    return value


@dataclass(frozen=True)
class Township:
    """One township-level unit of the region registry.

    Attributes
    ----------
    code
        The 9-digit township code, the key used everywhere in lastmile.
    code12
        The 12-digit statistical code.
    name
        The official Chinese name.
    pinyin
        Romanised name (without the unit type).
    kind
        ``"街道"`` (subdistrict), ``"镇"`` (town) or ``"乡"`` (township).
    is_county_seat
        Whether the county seat lies in this unit.
    """

    code: str
    code12: str
    name: str
    pinyin: str
    kind: str
    is_county_seat: bool = False


@dataclass(frozen=True)
class Site:
    """A named point (WGS84 lon/lat) inside a township."""

    id: str
    name: str
    township: str
    lon: float
    lat: float


@dataclass(frozen=True)
class ColdChainLimits:
    """Maximum time in vehicle per product class, in seconds."""

    produce_s: int
    tea_s: int
    parcel_s: int

    def for_class(self, product_class: str) -> int:
        """Return the limit of ``product_class`` (``produce``, ``tea`` or ``parcel``)."""
        limits = {"produce": self.produce_s, "tea": self.tea_s, "parcel": self.parcel_s}
        if product_class not in limits:
            raise InputError(
                f"unknown product class {product_class!r}",
                f"use one of {', '.join(sorted(limits))}",
            )
        return limits[product_class]


@dataclass(frozen=True)
class StandinSettings:
    """Settings of the deterministic synthetic stand-in network."""

    seed: int
    villages_per_township: tuple[int, int]
    node_spacing_m: float


@dataclass(frozen=True)
class DemandProfile:
    """Defaults for one modelled day of orders (see ``[demand]`` in the region file)."""

    parcels_per_resident_per_day: float
    parcel_kg: float
    produce_pickup_share: float
    produce_kg_per_resident: float
    tea_share_of_pickups: float
    produce_requires_refrigeration: bool
    tea_requires_refrigeration: bool
    service_s_delivery: int
    service_s_pickup: int
    default_population: int
    candidates_per_township: int
    junctions_per_township: int
    seed: int

    @property
    def draws_no_order(self) -> bool:
        """Whether a generated day has no order at all: no parcels, and no produce pickups (a
        rate of 0 means none; :func:`lastmile.demand.daily_orders`)."""
        no_pickups = self.produce_kg_per_resident <= 0 or self.produce_pickup_share <= 0
        return self.parcels_per_resident_per_day <= 0 and no_pickups


@dataclass(frozen=True)
class TrunkSettings:
    """The trunk runs from the county centre to the hubs and the hubs' handling (``[trunk]``).

    Times are seconds after midnight of the planning day; every default is an assumption (see the
    region file).

    Attributes
    ----------
    cutoff_s
        County-centre cut-off: the day's parcels are sorted and may leave the centre (last-mile
        vans at the centre and the morning trunk run alike); parcel lead times start here.
    vehicle
        The trunk vehicle type (region keys ``vehicle_id, refrigerated, capacity_kg,
        capacity_parcels, count, fixed_cost, cost_per_km, cost_per_hour``): ``count_per_depot``
        of them are based at the county centre, available from the morning departure until
        ``shift_end``; each run narrows its shift (:func:`lastmile.trunk.trunk_vehicle`).
    morning_departure_s
        Earliest departure of the morning run (hubs' parcels), not before the cut-off.
    hub_latest_arrival_s
        The morning run should reach every hub by then (a time window; the trunk routing is
        cost-driven and would otherwise chain all hubs on one truck). When the trunk fleet cannot
        meet it, the run is routed again without it and the report says so.
    evening_departure_s
        Earliest departure of the evening collection run (produce from the hubs' cold rooms to
        the centre), or ``None`` for no evening run.
    shift_end_s
        Latest return of a trunk vehicle to the centre (also the vehicle's ``shift_end_s``).
    unload_s
        Time a trunk vehicle stands at a hub (unload, or load produce in the evening).
    hub_handling_s
        From the trunk's arrival at a hub until its last-mile vans may leave (unload, sort, load).
    hub_cold_store
        Whether hubs have a cold room: with one, a pickup's cold-chain clock stops at the hub and
        the evening run takes the produce on; without, produce pickups are planned from the
        county centre so the limit runs until the centre.
    hub_daily_cost
        Running cost of one hub per day (rent, staff), added to the plan's cost.
    """

    cutoff_s: int
    vehicle: VehicleType
    morning_departure_s: int
    hub_latest_arrival_s: int
    evening_departure_s: int | None
    shift_end_s: int
    unload_s: int
    hub_handling_s: int
    hub_cold_store: bool
    hub_daily_cost: float

    @property
    def count(self) -> int:
        """Trunk vehicles based at the county centre."""
        c = self.vehicle.count_per_depot
        return sum(c.values()) if isinstance(c, Mapping) else int(c)


def _parse_trunk(raw: Any, origin: _Origin) -> TrunkSettings:
    w = origin.of("trunk")
    table = _table(raw, w, "write [trunk] with key = value lines")
    _region_keys(table, "trunk", origin)

    def num(key: str, default: float, lo: float = 0.0) -> float:
        return _number(table.get(key, default), key, origin.of("trunk", key), lo)

    def flag(key: str, default: bool) -> bool:
        return _flag(table.get(key, default), key, origin.of("trunk", key))

    def clock(key: str, default: str) -> int:
        return _clock(table.get(key, default), f"{origin.of('trunk', key)} {key}")

    cutoff = clock("cutoff", "07:00")
    morning = (
        clock("morning_departure", "07:00")
        if "morning_departure" in table
        else clock("cutoff", "07:00")
    )
    if morning < cutoff:
        raise InputError(
            f"{w}: morning_departure is before the cut-off",
            "the trunk leaves once the parcels are sorted",
        )
    latest = clock("hub_latest_arrival", "09:30")
    if latest < morning:
        raise InputError(f"{w}: hub_latest_arrival is before the morning departure")
    evening_raw = table.get("evening_departure", "19:30")
    evening = None if evening_raw == "" else clock("evening_departure", "19:30")
    end = clock("shift_end", "23:00")
    if end <= max(morning, evening or 0):
        raise InputError(f"{w}: shift_end is not after the departures", "give a later shift_end")
    count = _vehicle_count(
        _whole(table.get("count", 4), "count", origin.of("trunk", "count")),
        "count",
        origin.of("trunk", "count"),
    )
    cap_kg = _whole(
        table.get("capacity_kg", 5000), "capacity_kg", origin.of("trunk", "capacity_kg"), 1
    )
    cap_parcels = _whole(
        table.get("capacity_parcels", 2500),
        "capacity_parcels",
        origin.of("trunk", "capacity_parcels"),
        1,
    )
    vid = table.get("vehicle_id", "trunk")
    if not isinstance(vid, str) or not vid:
        raise InputError(
            f"{origin.of('trunk', 'vehicle_id')}: vehicle_id = {vid!r} must be a non-empty string"
        )
    vehicle = VehicleType(
        id=vid,
        refrigerated=flag("refrigerated", True),
        capacity={"kg": cap_kg, "parcels": cap_parcels},
        count_per_depot=count,
        shift_start_s=morning,
        shift_end_s=end,
        fixed_cost=num("fixed_cost", 400.0),
        cost_per_km=num("cost_per_km", 3.0),
        cost_per_hour=num("cost_per_hour", 50.0),
    )
    return TrunkSettings(
        cutoff_s=cutoff,
        vehicle=vehicle,
        morning_departure_s=morning,
        hub_latest_arrival_s=latest,
        evening_departure_s=evening,
        shift_end_s=end,
        unload_s=round(
            _minutes(table.get("unload_min", 15), "unload_min", origin.of("trunk", "unload_min"))
            * 60
        ),
        hub_handling_s=round(
            _minutes(
                table.get("hub_handling_min", 30),
                "hub_handling_min",
                origin.of("trunk", "hub_handling_min"),
            )
            * 60
        ),
        hub_cold_store=flag("hub_cold_store", True),
        hub_daily_cost=num("hub_daily_cost", 150.0),
    )


def parse_clock(value: object) -> int:
    """``'HH:MM'`` (or ``'HH:MM:SS'``) -> seconds after midnight, from 00:00 to 24:00 (the end of
    the day); minutes and seconds 0..59. The one HH:MM parser (region and scenario files, order
    time windows); seconds are accepted because GIS readers return a time field as
    ``HH:MM:SS`` (a GeoJSON ``"08:00"`` is read as ``08:00:00``).

    Raises
    ------
    ValueError
        When ``value`` is not such a time; callers turn it into an InputError naming the place.
    """
    bad = ValueError(f"{value!r} is not a time of day HH:MM from 00:00 to 24:00")
    texts = str(value).split(":")
    # int() would also take ' 7', '+7' or '٧': only plain ASCII digits are a clock
    if not all(t.isascii() and t.isdigit() for t in texts):
        raise bad
    parts = [int(t) for t in texts]
    if len(parts) == 2:
        parts.append(0)
    if len(parts) != 3:
        raise bad
    hours, minutes, seconds = parts
    if not 0 <= minutes < 60 or not 0 <= seconds < 60:
        raise bad
    # a planning day ends at 24:00; a later hour is a typo (the planner has no next-day times)
    if hours > 24 or (hours == 24 and (minutes or seconds)):
        raise bad
    return hours * 3600 + minutes * 60 + seconds


def format_clock(seconds: float) -> str:
    """Seconds after midnight -> ``'HH:MM'`` (rounded to the second, minutes truncated)."""
    s = round(seconds)
    return f"{s // 3600:02d}:{(s % 3600) // 60:02d}"


def _clock(value: Any, where: str) -> int:
    """'HH:MM' -> seconds after midnight, within 00:00..24:00."""
    try:
        return parse_clock(value)
    except ValueError:
        # a well-formed clock past 24:00 is out of range, anything else is not a time at all
        shape = re.fullmatch(r"\d+:[0-5]\d(:[0-5]\d)?", str(value))
        raise InputError(
            f"{where}: {value!r} is {'out of range' if shape else 'not a time of day'}",
            "write it as 'HH:MM', from 00:00 to 24:00",
        ) from None


def _minutes(value: Any, key: str, where: str) -> float:
    """A duration in minutes, finite, from 0 to one week."""
    return _number(value, key, where, 0.0, MAX_DURATION_S / 60)


def _parse_demand(raw: Any, origin: _Origin) -> DemandProfile:
    table = _table(raw, origin.of("demand"), "write [demand] with key = value lines")
    _region_keys(table, "demand", origin)

    def num(key: str, default: float, lo: float = 0.0, hi: float = math.inf) -> float:
        return _number(table.get(key, default), key, origin.of("demand", key), lo, hi)

    def whole(key: str, default: int, lo: int) -> int:
        return _whole(table.get(key, default), key, origin.of("demand", key), lo)

    def flag(key: str, default: bool) -> bool:
        return _flag(table.get(key, default), key, origin.of("demand", key))

    def minutes(key: str, default: float) -> int:
        return round(_minutes(table.get(key, default), key, origin.of("demand", key)) * 60)

    return DemandProfile(
        parcels_per_resident_per_day=num("parcels_per_resident_per_day", 0.03),
        parcel_kg=num("parcel_kg", 2.0),
        produce_pickup_share=num("produce_pickup_share", 0.35, 0, 1),
        produce_kg_per_resident=num("produce_kg_per_resident", 0.15),
        tea_share_of_pickups=num("tea_share_of_pickups", 0.4, 0, 1),
        produce_requires_refrigeration=flag("produce_requires_refrigeration", True),
        tea_requires_refrigeration=flag("tea_requires_refrigeration", False),
        service_s_delivery=minutes("service_min_delivery", 5),
        service_s_pickup=minutes("service_min_pickup", 10),
        default_population=whole("default_population", 400, 1),
        candidates_per_township=whole("candidates_per_township", 5, 1),
        junctions_per_township=whole("junctions_per_township", 2, 0),
        seed=_seed(table.get("seed", 0), "seed", origin.of("demand", "seed")),
    )


def _max_trips(value: Any, where: str) -> int | None:
    if value == "fit":
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(
            f'{where}: max_trips = {value!r} is not a whole number >= 1 or "fit"',
            'give e.g. max_trips = 2, or "fit" for as many trips as fit the day',
        )
    return value


def _reload_s(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 24 * 60:
        raise InputError(f"{where}: reload_min = {value!r} is not a number of minutes in [0, 1440]")
    return round(float(value) * 60)


def _parse_fleet(raw: Any, origin: _Origin) -> tuple[VehicleType, ...]:
    """The ``[[fleet]]`` tables as routing vehicle types (minutes and hours -> seconds, here once);
    each is stationed ``count_per_depot`` times at every depot."""
    where = origin.file("fleet")
    if not isinstance(raw, list):
        raise InputError(
            f"{where}: fleet = {raw!r} is not an array of tables",
            "write each vehicle type as a [[fleet]] table",
        )
    out: list[VehicleType] = []
    first_of: dict[str, int] = {}  # vehicle type id -> its [[fleet]] number
    for i, row in enumerate(raw):
        w = f"{where} [[fleet]] #{i + 1}"
        if not isinstance(row, dict):
            raise InputError(f"{w}: not a table", "write each vehicle type as a [[fleet]] table")
        _known_keys(row, REGION_KEYS["fleet"], w)
        vid = _require(row, "id", str, w)
        if vid in first_of:
            raise InputError(
                f"{w}: id {vid!r} repeats #{first_of[vid]}",
                "give each [[fleet]] vehicle type its own id, or merge the two into one entry",
            )
        first_of[vid] = i + 1
        count = _vehicle_count(int(_require(row, "count_per_depot", int, w)), "count_per_depot", w)
        cap_kg = int(_require(row, "capacity_kg", int, w))
        cap_parcels = int(_require(row, "capacity_parcels", int, w))
        for key, value, least in (
            ("count_per_depot", count, 0),
            ("capacity_kg", cap_kg, 1),
            ("capacity_parcels", cap_parcels, 1),
        ):
            if value < least:
                raise InputError(
                    f"{w}: {key} = {value} must be at least {least}",
                    "give the number of vehicles of this type at each depot (0 leaves the type "
                    "unused)"
                    if key == "count_per_depot"
                    else "vehicles need a positive capacity",
                )
        start = _clock(row.get("shift_start", "07:00"), f"{w} shift_start")
        end = _clock(row.get("shift_end", "19:00"), f"{w} shift_end")
        shift = f"shift_start = {format_clock(start)}, shift_end = {format_clock(end)}"
        if end <= start:
            raise InputError(
                f"{w}: shift_end is not after shift_start ({shift})",
                "give a shift_end later than shift_start (a shift ends by 24:00 on the same day)",
            )
        max_h = _number(
            row.get("max_duration_h", (end - start) / 3600), "max_duration_h", w, 0, 24, above=True
        )
        if round(max_h * 3600) > end - start:
            raise InputError(
                f"{w}: max_duration_h = {max_h:g} is longer than the shift ({shift}: "
                f"{(end - start) / 3600:g} h)",
                f"shorten max_duration_h to at most {(end - start) / 3600:g}, "
                "or widen the shift (an earlier shift_start or a later shift_end)",
            )
        out.append(
            VehicleType(
                id=vid,
                refrigerated=_flag(row.get("refrigerated", False), "refrigerated", w),
                capacity={"kg": cap_kg, "parcels": cap_parcels},
                count_per_depot=count,
                shift_start_s=start,
                shift_end_s=end,
                max_duration_s=round(max_h * 3600),
                fixed_cost=_number(row.get("fixed_cost", 0.0), "fixed_cost", w),
                cost_per_km=_number(row.get("cost_per_km", 1.0), "cost_per_km", w),
                cost_per_hour=_number(row.get("cost_per_hour", 0.0), "cost_per_hour", w),
                max_trips=_max_trips(row.get("max_trips", 1), w),
                reload_s=_reload_s(row.get("reload_min", 0), w),
            )
        )
    if not out:
        raise InputError(f"{where}: no [[fleet]] vehicle types", "add at least one")
    if not any(t.count_per_depot for t in out):
        raise InputError(
            f"{where} [[fleet]]: count_per_depot is 0 for every vehicle type: no vehicle to route",
            "give at least one vehicle type count_per_depot >= 1",
        )
    return tuple(out)


@dataclass(frozen=True)
class Region:
    """A region: registry, outline source, centre, speeds, limits.

    Build it with :func:`load_region`; every field is validated there.
    """

    id: str
    name: str
    name_local: str
    code: str
    projected_crs: str
    area_km2: float
    outline_path: str | None
    outline_reference_file: str | None
    outline_crs: str
    county_centre: Site
    townships: tuple[Township, ...]
    speeds_kmh: Mapping[str, float]
    max_snap_m: float
    cold_chain: ColdChainLimits
    standin: StandinSettings
    demand: DemandProfile
    fleet: tuple[VehicleType, ...]
    source_file: str
    trunk: TrunkSettings = field(default_factory=lambda: _parse_trunk({}, _Origin("defaults")))

    def township(self, key: str) -> Township:
        """Look a township up by 9-digit code, 12-digit code, Chinese name or pinyin."""
        for t in self.townships:
            if key in (t.code, t.code12, t.name, t.pinyin) or key.lower() == t.pinyin.lower():
                return t
        raise InputError(
            f"unknown township {key!r} in region {self.id!r}",
            "use a 9-digit code, the Chinese name or the pinyin of one of: "
            + ", ".join(f"{t.name} ({t.code})" for t in self.townships),
        )

    @property
    def township_names(self) -> dict[str, str]:
        """Township 9-digit code -> Chinese name."""
        return {t.code: t.name for t in self.townships}

    def speed_for(self, highway: str) -> float:
        """Default speed (km/h) for an OSM highway class."""
        return float(self.speeds_kmh.get(highway, self.speeds_kmh["default"]))


#: OSM ``highway`` values of roads (wiki "Key:highway", sections Roads, Link roads, Special road
#: types): the keys a ``[speeds_kmh]`` table may set besides ``default``. A key outside them (a
#: typo: ``primray``) would match no edge and change nothing without a word.
OSM_ROAD_CLASSES = frozenset(
    {
        *(f"{c}{link}" for c in ("motorway", "trunk", "primary", "secondary", "tertiary")
          for link in ("", "_link")),
        "unclassified", "residential", "living_street", "service", "pedestrian", "track",
        "bus_guideway", "escape", "raceway", "road", "busway",
    }
)  # fmt: skip


@functools.cache
def road_classes() -> frozenset[str]:
    """The keys ``[speeds_kmh]`` accepts: :data:`OSM_ROAD_CLASSES`, ``default`` and the keys of
    the embedded region file."""
    text = resources.files("lastmile").joinpath("regions/suichang.toml").read_text("utf-8")
    embedded = tomllib.loads(text).get("speeds_kmh", {})
    return frozenset({*OSM_ROAD_CLASSES, "default", *embedded})


def _require(table: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    if key not in table:
        raise InputError(f"{where}: missing key {key!r}", "add it; see regions/suichang.toml")
    value = table[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise InputError(
            f"{where}: {key!r} must be {kind.__name__}, got {type(value).__name__} {value!r}",
            "fix the value",
        )
    return value


def read_toml_text(path: Path, name: str) -> str:
    """The text of the TOML file ``path`` (see :func:`read_toml_source`)."""
    return read_toml_source(path, name)[0]


def read_toml_source(path: Path, name: str) -> tuple[str, str]:
    """The text of the TOML file ``path`` (``name``: how messages call it, e.g. "scenario file
    X"), a leading UTF-8 byte-order mark dropped (Windows Notepad writes one), and the sha256 of
    the bytes read (the manifest records what was parsed, not a second read of the file).

    The one reader of every TOML file a user gives (scenario, region, sweep).

    Raises
    ------
    InputError
        If the file does not exist, is a directory, or is not UTF-8 text.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{name} does not exist", "check the path") from None
    except IsADirectoryError:
        raise InputError(f"{name} is a directory", "give a TOML file") from None
    try:
        # universal newlines, as a text-mode read gives (tomllib refuses a bare carriage return)
        text = raw.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{name} is not UTF-8 text (byte {raw[exc.start]:#04x} at offset {exc.start})",
            "save it as UTF-8",
        ) from None
    return text, hashlib.sha256(raw).hexdigest()


def parse_toml(text: str, name: str) -> dict[str, Any]:
    """``text`` parsed as TOML; a syntax error is an InputError naming ``name``."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{name} is not valid TOML: {exc}", "fix the syntax") from exc


def read_toml(path: Path, name: str) -> dict[str, Any]:
    """The TOML file ``path`` parsed (:func:`read_toml_text`, then :func:`parse_toml`)."""
    return parse_toml(read_toml_text(path, name), name)


def _optional_str(table: Mapping[str, Any], key: str, where: str) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise InputError(f"{where}: {key!r} must be a non-empty string, got {value!r}")
    return value


def parse_region(
    data: Mapping[str, Any],
    source: str,
    region_dir: Path | None = None,
    *,
    scenario: str | None = None,
    scenario_keys: Mapping[str, Collection[str] | None] | None = None,
) -> Region:
    """Validate a parsed region table and build a :class:`Region`.

    Parameters
    ----------
    data
        The region file's tables, with a scenario's overrides already applied.
    source
        The region file (for messages and :attr:`Region.source_file`).
    region_dir
        Resolves a relative ``[region.outline] path`` (the region file's folder).
    scenario
        The scenario file that overrides region tables (``"scenario file PATH"``), if any.
    scenario_keys
        The tables the scenario gave: the keys it set in each, or ``None`` when it replaced the
        table whole (``[[fleet]]``). A message about a value names the file it came from.

    Raises
    ------
    InputError
        For a missing or unknown key or a bad value, naming the file, table and key.
    """
    origin = _Origin(
        f"region file {source}",
        scenario,
        {t: None if keys is None else frozenset(keys) for t, keys in (scenario_keys or {}).items()},
    )
    where = origin.region
    _known_keys(data, REGION_FILE_TABLES, where)

    def table(name: str, required: bool) -> Mapping[str, Any]:
        if name not in data and required:
            _require(data, name, dict, where)  # raises: missing key
        value = _table(
            data.get(name, {}), origin.of(name), f"write [{name}] with key = value lines"
        )
        if name in REGION_KEYS:
            _region_keys(value, name, origin)
        return value

    reg = table("region", True)
    region_code = _require(reg, "code", str, origin.of("region"))
    if not (region_code.isdigit() and len(region_code) == 6):
        raise InputError(
            f"{where} [region]: code {region_code!r} is not a 6-digit county code",
            "give the county's administrative division code, e.g. 331123 for Suichang",
        )
    outline = _table(
        reg.get("outline", {}), origin.of("region.outline"), "see regions/suichang.toml"
    )
    _known_keys(outline, REGION_KEYS["region.outline"], origin.of("region.outline"))
    outline_path = _optional_str(outline, "path", origin.of("region.outline"))
    if outline_path is not None and region_dir is not None and not Path(outline_path).is_absolute():
        outline_path = str((region_dir / outline_path).resolve())
    centre = table("county_centre", True)
    speeds = table("speeds_kmh", True)
    network = table("network", False)
    cold = table("cold_chain", True)
    standin = table("standin", False)
    rows = _require(data, "townships", list, where)

    townships: list[Township] = []
    for i, row in enumerate(rows):
        w = f"{where} [[townships]] #{i + 1}"
        if not isinstance(row, dict):
            raise InputError(f"{w}: not a table", "write each township as a [[townships]] table")
        _known_keys(row, REGION_KEYS["townships"], w)
        code = str(_require(row, "code", str, w))
        if not (code.isdigit() and len(code) == 9):
            raise InputError(f"{w}: code {code!r} is not a 9-digit township code", "fix the code")
        if not code.startswith(region_code):
            raise InputError(
                f"{w}: code {code!r} does not start with the county code {region_code!r} "
                "([region] code)",
                "a township code is the 6-digit county code and 3 more digits: fix the "
                "township's code, or [region] code if that is the wrong one",
            )
        kind = _require(row, "kind", str, w)
        if kind not in TOWNSHIP_KINDS:
            raise InputError(f"{w}: kind {kind!r} unknown", f"use one of {TOWNSHIP_KINDS}")
        code12 = row.get("code12", code + "000")
        if not (isinstance(code12, str) and code12.isdigit() and len(code12) == 12):
            raise InputError(
                f"{w}: code12 = {code12!r} is not a 12-digit statistical code",
                'write it as a string of 12 digits, e.g. "331123001000"',
            )
        townships.append(
            Township(
                code=code,
                code12=code12,
                name=_require(row, "name", str, w),
                pinyin=_require(row, "pinyin", str, w),
                kind=kind,
                is_county_seat=_flag(row.get("is_county_seat", False), "is_county_seat", w),
            )
        )
    if not townships:
        raise InputError(f"{where}: no townships", "list the region's townships as [[townships]]")
    codes = [t.code for t in townships]
    dupes = sorted({c for c in codes if codes.count(c) > 1})
    if dupes:
        raise InputError(f"{where}: duplicate township codes {dupes}", "each code once")
    # Region.township() looks a township up by name or pinyin (case-insensitive) too: a repeat
    # would make the lookup pick the first silently
    for key, norm in (("name", str), ("pinyin", str.casefold)):
        first: dict[str, int] = {}
        for i, t in enumerate(townships):
            value = getattr(t, key)
            if norm(value) in first:
                j = first[norm(value)]
                raise InputError(
                    f"{where} [[townships]] #{i + 1}: {key} {value!r} repeats #{j + 1} "
                    f"({townships[j].code}; this one is {t.code})",
                    f"give each township its own {key}; if both are one township, list it once",
                )
            first[norm(value)] = i
    # is_county_seat is informative only (nothing relies on a seat being marked), so a registry
    # without one is accepted; two seats in one county are a mistake
    seats = [i + 1 for i, t in enumerate(townships) if t.is_county_seat]
    if len(seats) > 1:
        raise InputError(
            f"{where} [[townships]]: is_county_seat = true for "
            + " and ".join(f"#{n} ({townships[n - 1].code})" for n in seats),
            "a county has one seat: keep is_county_seat = true on that township only",
        )

    speeds_kmh: dict[str, float] = {}
    known_classes = road_classes()
    for key, value in speeds.items():
        w = origin.of("speeds_kmh", key)
        if key not in known_classes:
            close = difflib.get_close_matches(key, sorted(known_classes), 1, 0.6)
            raise InputError(
                f"{w}: unknown road class {key!r}",
                (f"did you mean {close[0]!r}? " if close else "")
                + "[speeds_kmh] keys are OSM highway values (primary, secondary, tertiary, "
                "unclassified, residential, track, ...) or default",
            )
        v = _require(speeds, key, float, w)
        if not 0 < v <= 200:
            raise InputError(
                f"{w}: {key} = {value} is not a plausible speed", "give km/h between 1 and 200"
            )
        speeds_kmh[key] = v
    if "default" not in speeds_kmh:
        raise InputError(f"{origin.of('speeds_kmh')}: no 'default' speed", "add default = 20")

    def centre_value(key: str, kind: type) -> Any:
        return _require(centre, key, kind, origin.of("county_centre", key))

    centre_site = Site(
        id=centre_value("id", str),
        name=centre_value("name", str),
        township=centre_value("township", str),
        lon=centre_value("lon", float),
        lat=centre_value("lat", float),
    )
    for key, value, limit in (("lon", centre_site.lon, 180), ("lat", centre_site.lat, 90)):
        # far outside the county it would fail only at snapping, thousands of km from the roads
        if not -limit <= value <= limit:
            raise InputError(
                f"{origin.of('county_centre', key)}: {key} = {value!r} is not a WGS84 "
                f"{'longitude' if key == 'lon' else 'latitude'} in [-{limit}, {limit}]",
                "give decimal degrees (lon east, lat north), e.g. lon = 119.276, lat = 28.593",
            )
    if centre_site.township not in codes:
        raise InputError(
            f"{origin.of('county_centre', 'township')}: township {centre_site.township!r} is not "
            "in the registry",
            "use the 9-digit code of a listed township",
        )

    vpt_where = origin.of("standin", "villages_per_township")
    vpt_raw = standin.get("villages_per_township", [12, 30])
    if not (isinstance(vpt_raw, list) and len(vpt_raw) == 2):
        raise InputError(
            f"{vpt_where}: villages_per_township = {vpt_raw!r} is not a pair [least, most]",
            "give e.g. villages_per_township = [12, 30]",
        )
    vpt = tuple(_whole(v, "villages_per_township", vpt_where, 1) for v in vpt_raw)
    if vpt[0] > vpt[1]:
        raise InputError(
            f"{vpt_where}: villages_per_township = {vpt_raw!r}: least is above most",
            "give [least, most]",
        )

    def minutes(key: str) -> int:
        w = origin.of("cold_chain", key)
        v = _require(cold, key, float, w)
        if not (math.isfinite(v) and 0 < v <= MAX_DURATION_S / 60):
            raise InputError(
                f"{w}: {key} = {v!r} must be positive and finite",
                f"give minutes > 0 and <= {MAX_DURATION_S // 60} (one week)",
            )
        return round(float(v) * 60)

    region_id = _require(reg, "id", str, origin.of("region"))
    if not REGION_ID.fullmatch(region_id):
        # it names the region's folders in the cache (imported extracts): a path such as
        # "../../x" or "lishui/suichang" would write outside them (bb21 D13)
        raise InputError(
            f"{origin.of('region', 'id')}: id = {region_id!r} is not a plain name (it names the "
            "region's folders in the cache)",
            'use letters, digits, "-" and "_" only, e.g. id = "suichang"',
        )
    area = reg.get("area_km2")
    return Region(
        id=region_id,
        name=_require(reg, "name", str, origin.of("region")),
        name_local=_optional_str(reg, "name_local", origin.of("region")) or "",
        code=region_code,
        projected_crs=check_crs(
            _require(reg, "projected_crs", str, origin.of("region")),
            "projected_crs",
            origin.of("region"),
            projected=True,
        ),
        # 0: no published area to check the outline against
        area_km2=0.0
        if area is None
        else _number(area, "area_km2", origin.of("region"), 0, above=True),
        outline_path=outline_path,
        outline_reference_file=_optional_str(
            outline, "reference_file", origin.of("region.outline")
        ),
        outline_crs=check_crs(outline.get("crs", "EPSG:4326"), "crs", origin.of("region.outline")),
        county_centre=centre_site,
        townships=tuple(townships),
        speeds_kmh=MappingProxyType(speeds_kmh),
        max_snap_m=_number(
            network.get("max_snap_m", 1500),
            "max_snap_m",
            origin.of("network", "max_snap_m"),
            0,
            above=True,
        ),
        cold_chain=ColdChainLimits(
            produce_s=minutes("produce_max_in_vehicle_min"),
            tea_s=minutes("tea_max_in_vehicle_min"),
            parcel_s=minutes("parcel_max_in_vehicle_min"),
        ),
        demand=_parse_demand(data.get("demand", {}), origin),
        fleet=_parse_fleet(data.get("fleet", []), origin),
        standin=StandinSettings(
            seed=_seed(standin.get("seed", 0), "seed", origin.of("standin", "seed")),
            villages_per_township=(vpt[0], vpt[1]),
            node_spacing_m=_number(
                standin.get("node_spacing_m", 60.0),
                "node_spacing_m",
                origin.of("standin", "node_spacing_m"),
                0,
                above=True,
            ),
        ),
        source_file=source if scenario is None else f"{source} + {scenario}",
        trunk=_parse_trunk(data.get("trunk", {}), origin),
    )


def load_region(path: str | Path | None = None) -> Region:
    """Load a region file; ``None`` loads the embedded Suichang default.

    Raises
    ------
    InputError
        If the file is missing, not TOML, or a value is wrong (the message names the key).
    """
    if path is None:
        text = resources.files("lastmile").joinpath("regions/suichang.toml").read_text("utf-8")
        return parse_region(parse_toml(text, "region file"), "suichang (embedded)")
    p = Path(path)
    if p.is_dir():
        raise InputError(f"region file {p} is a directory", "give a region TOML file")
    return parse_region(read_toml(p, f"region file {p}"), str(p), p.parent)


def reference_data_dir(explicit: str | Path | None = None, *, required: bool = True) -> Path | None:
    """Locate the reference-data directory (county outline, OSM samples, benchmark instances).

    Order: ``explicit``, then ``$LASTMILE_REFERENCE_DATA``, then ``shared/data`` beside the current
    directory or beside the source checkout.
    """
    candidates: list[Path] = []
    if explicit is not None:
        candidates = [Path(explicit)]
    elif os.environ.get(REFERENCE_DATA_ENV):
        candidates = [Path(os.environ[REFERENCE_DATA_ENV])]
    else:
        here = Path(__file__).resolve()
        candidates = [Path.cwd().parent / "shared" / "data", here.parents[3] / "shared" / "data"]
    for c in candidates:
        if c.is_dir():
            return c
    if required:
        raise InputError(
            f"reference-data directory not found (looked in {', '.join(map(str, candidates))})",
            f"pass --reference-data DIR or set {REFERENCE_DATA_ENV}",
        )
    return None


def cache_dir(explicit: str | Path | None = None) -> Path:
    """The cache/data directory for fetched data and cached graphs (created on demand).

    Order: ``explicit``, ``$LASTMILE_CACHE_DIR``, ``$XDG_CACHE_HOME/lastmile``,
    ``~/.cache/lastmile``.
    """
    path = cache_path(explicit)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            f"cache directory {path} cannot be written: {exc.strerror or exc}", CACHE_DIR_HINT
        ) from exc
    try:
        os.rmdir(tempfile.mkdtemp(dir=path, prefix=".lastmile-probe-"))
    except OSError as exc:
        # a read-only cache that already holds what a run needs (a shared one) still serves;
        # an empty one cannot: it must fail now, naming itself, not part-way through a run
        if not any(path.iterdir()):
            raise InputError(
                f"cache directory {path} cannot be written: {exc.strerror or exc}",
                CACHE_DIR_HINT,
            ) from exc
    return path


#: what to do about a cache directory that cannot be written
CACHE_DIR_HINT = f"give --cache-dir DIR or set {CACHE_DIR_ENV} to a folder you can write"


def cache_path(explicit: str | Path | None = None) -> Path:
    """Where :func:`cache_dir` puts the cache (nothing created or checked)."""
    if explicit is not None:
        return Path(explicit)
    if os.environ.get(CACHE_DIR_ENV):
        return Path(os.environ[CACHE_DIR_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lastmile"

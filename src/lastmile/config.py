"""Region settings: parsed once, at the edge, into frozen dataclasses.

A region file (TOML) holds everything specific to a county: its township registry, the county
logistics centre, road speeds, cold-chain limits and the stand-in generator settings. The embedded
default is ``regions/suichang.toml``; other regions are added by writing another such file.

Paths to reference data (the county outline) and to the cache are resolved here too, from an
explicit argument, then an environment variable, then a default.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from lastmile.errors import InputError
from lastmile.routing import VehicleType

#: Environment variable naming the reference-data directory (holds ``boundaries/``, ``osm/`` ...).
REFERENCE_DATA_ENV = "LASTMILE_REFERENCE_DATA"
#: Environment variable naming the cache/data directory for fetched data and cached graphs.
CACHE_DIR_ENV = "LASTMILE_CACHE_DIR"

TOWNSHIP_KINDS = ("街道", "镇", "乡")


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


def _parse_trunk(table: Mapping[str, Any], where: str) -> TrunkSettings:
    w = f"{where} [trunk]"
    if not isinstance(table, Mapping):
        raise InputError(f"{w}: not a table", "write [trunk] with key = value lines")
    known = {
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
    unknown = sorted(set(table) - known)
    if unknown:
        raise InputError(f"{w}: unknown key(s) {unknown}", f"known keys: {sorted(known)}")

    def num(key: str, default: float, lo: float = 0.0) -> float:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not value >= lo:
            raise InputError(f"{w}: {key} = {value!r} is not a number >= {lo}", "fix the value")
        return float(value)

    def flag(key: str, default: bool) -> bool:
        value = table.get(key, default)
        if not isinstance(value, bool):
            raise InputError(f"{w}: {key} = {value!r} must be true or false")
        return value

    cutoff = _clock(table.get("cutoff", "07:00"), f"{w} cutoff")
    morning = _clock(
        table.get("morning_departure", table.get("cutoff", "07:00")), f"{w} morning_departure"
    )
    if morning < cutoff:
        raise InputError(
            f"{w}: morning_departure is before the cut-off",
            "the trunk leaves once the parcels are sorted",
        )
    latest = _clock(table.get("hub_latest_arrival", "09:30"), f"{w} hub_latest_arrival")
    if latest < morning:
        raise InputError(f"{w}: hub_latest_arrival is before the morning departure")
    evening_raw = table.get("evening_departure", "19:30")
    evening = None if evening_raw in ("", None) else _clock(evening_raw, f"{w} evening_departure")
    end = _clock(table.get("shift_end", "23:00"), f"{w} shift_end")
    if end <= max(morning, evening or 0):
        raise InputError(f"{w}: shift_end is not after the departures", "give a later shift_end")
    count = int(num("count", 4))
    cap_kg, cap_parcels = int(num("capacity_kg", 5000, 1)), int(num("capacity_parcels", 2500, 1))
    vid = table.get("vehicle_id", "trunk")
    if not isinstance(vid, str) or not vid:
        raise InputError(f"{w}: vehicle_id = {vid!r} must be a non-empty string")
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
        unload_s=round(num("unload_min", 15) * 60),
        hub_handling_s=round(num("hub_handling_min", 30) * 60),
        hub_cold_store=flag("hub_cold_store", True),
        hub_daily_cost=num("hub_daily_cost", 150.0),
    )


def parse_clock(value: object) -> int:
    """``'HH:MM'`` (or ``'HH:MM:SS'``) -> seconds after midnight; hours >= 0 (past 24 for the
    next day), minutes and seconds 0..59. The one HH:MM parser (region and scenario files, order
    time windows); seconds are accepted because GIS readers return a time field as
    ``HH:MM:SS`` (a GeoJSON ``"08:00"`` is read as ``08:00:00``).

    Raises
    ------
    ValueError
        When ``value`` is not such a time; callers turn it into an InputError naming the place.
    """
    parts = [int(x) for x in str(value).split(":")]
    if len(parts) == 2:
        parts.append(0)
    if len(parts) != 3:
        raise ValueError(f"{value!r} is not HH:MM")
    hours, minutes, seconds = parts
    if hours < 0 or not 0 <= minutes < 60 or not 0 <= seconds < 60:
        raise ValueError(f"{value!r} is not HH:MM")
    return hours * 3600 + minutes * 60 + seconds


def format_clock(seconds: float) -> str:
    """Seconds after midnight -> ``'HH:MM'`` (rounded to the second, minutes truncated)."""
    s = round(seconds)
    return f"{s // 3600:02d}:{(s % 3600) // 60:02d}"


def _clock(value: Any, where: str) -> int:
    """'HH:MM' -> seconds after midnight, within 00:00..48:00."""
    try:
        seconds = parse_clock(value)
    except ValueError:
        raise InputError(
            f"{where}: {value!r} is not a time of day", "write it as 'HH:MM'"
        ) from None
    if not 0 <= seconds <= 48 * 3600:
        raise InputError(f"{where}: {value!r} is out of range", "use 00:00..48:00")
    return seconds


def _parse_demand(table: Mapping[str, Any], where: str) -> DemandProfile:
    w = f"{where} [demand]"

    def num(key: str, default: float, lo: float = 0.0, hi: float = float("inf")) -> float:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
            raise InputError(f"{w}: {key} = {value!r} is not a number in [{lo}, {hi}]")
        return float(value)

    return DemandProfile(
        parcels_per_resident_per_day=num("parcels_per_resident_per_day", 0.03),
        parcel_kg=num("parcel_kg", 2.0),
        produce_pickup_share=num("produce_pickup_share", 0.35, 0, 1),
        produce_kg_per_resident=num("produce_kg_per_resident", 0.15),
        tea_share_of_pickups=num("tea_share_of_pickups", 0.4, 0, 1),
        produce_requires_refrigeration=bool(table.get("produce_requires_refrigeration", True)),
        tea_requires_refrigeration=bool(table.get("tea_requires_refrigeration", False)),
        service_s_delivery=round(num("service_min_delivery", 5) * 60),
        service_s_pickup=round(num("service_min_pickup", 10) * 60),
        default_population=int(num("default_population", 400, 1)),
        candidates_per_township=int(num("candidates_per_township", 5, 1)),
        junctions_per_township=int(num("junctions_per_township", 2, 0)),
        seed=int(num("seed", 0)),
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


def _parse_fleet(rows: list[Any], where: str) -> tuple[VehicleType, ...]:
    """The ``[[fleet]]`` tables as routing vehicle types (minutes and hours -> seconds, here once);
    each is stationed ``count_per_depot`` times at every depot."""
    out: list[VehicleType] = []
    for i, row in enumerate(rows):
        w = f"{where} [[fleet]] #{i + 1}"
        if not isinstance(row, dict):
            raise InputError(f"{w}: not a table")
        count = int(_require(row, "count_per_depot", int, w))
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
                    "vehicles need a positive capacity; count_per_depot 0 leaves a type unused",
                )
        start = _clock(row.get("shift_start", "07:00"), f"{w} shift_start")
        end = _clock(row.get("shift_end", "19:00"), f"{w} shift_end")
        if end <= start:
            raise InputError(f"{w}: shift_end is not after shift_start")
        out.append(
            VehicleType(
                id=_require(row, "id", str, w),
                refrigerated=bool(row.get("refrigerated", False)),
                capacity={"kg": cap_kg, "parcels": cap_parcels},
                count_per_depot=count,
                shift_start_s=start,
                shift_end_s=end,
                max_duration_s=round(float(row.get("max_duration_h", (end - start) / 3600)) * 3600),
                fixed_cost=float(row.get("fixed_cost", 0.0)),
                cost_per_km=float(row.get("cost_per_km", 1.0)),
                cost_per_hour=float(row.get("cost_per_hour", 0.0)),
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
    trunk: TrunkSettings = field(default_factory=lambda: _parse_trunk({}, "defaults"))

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

    def speed_for(self, highway: str) -> float:
        """Default speed (km/h) for an OSM highway class."""
        return float(self.speeds_kmh.get(highway, self.speeds_kmh["default"]))


def _require(table: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    if key not in table:
        raise InputError(f"{where}: missing key {key!r}", "add it; see regions/suichang.toml")
    value = table[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise InputError(
            f"{where}: {key!r} must be {kind.__name__}, got {type(value).__name__} {value!r}",
            "fix the value in the region file",
        )
    return value


def _read_toml(path: Path | None, text: str | None, what: str) -> dict[str, Any]:
    try:
        if text is None:
            assert path is not None
            text = path.read_text(encoding="utf-8")
        return tomllib.loads(text)
    except FileNotFoundError as exc:
        raise InputError(f"{what} {path} does not exist", "check the path") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{what} {path} is not UTF-8 text", "save it as UTF-8") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{what} {path} is not valid TOML: {exc}", "fix the syntax") from exc


def _optional_str(table: Mapping[str, Any], key: str, where: str) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise InputError(f"{where}: {key!r} must be a non-empty string, got {value!r}")
    return value


def parse_region(data: Mapping[str, Any], source: str, region_dir: Path | None = None) -> Region:
    """Validate a parsed region table and build a :class:`Region`.

    ``region_dir`` resolves a relative ``[region.outline] path`` (the region file's folder).
    """
    where = f"region file {source}"
    reg = _require(data, "region", dict, where)
    region_code = _require(reg, "code", str, f"{where} [region]")
    if not (region_code.isdigit() and len(region_code) == 6):
        raise InputError(
            f"{where} [region]: code {region_code!r} is not a 6-digit county code",
            "give the county's administrative division code, e.g. 331123 for Suichang",
        )
    outline = reg.get("outline", {})
    if not isinstance(outline, dict):
        raise InputError(f"{where}: [region.outline] must be a table", "see regions/suichang.toml")
    outline_path = _optional_str(outline, "path", f"{where} [region.outline]")
    if outline_path is not None and region_dir is not None and not Path(outline_path).is_absolute():
        outline_path = str((region_dir / outline_path).resolve())
    centre = _require(data, "county_centre", dict, where)
    speeds = _require(data, "speeds_kmh", dict, where)
    network = data.get("network", {})
    cold = _require(data, "cold_chain", dict, where)
    standin = data.get("standin", {})
    rows = _require(data, "townships", list, where)

    townships: list[Township] = []
    for i, row in enumerate(rows):
        w = f"{where} [[townships]] #{i + 1}"
        code = str(_require(row, "code", str, w))
        if not (code.isdigit() and len(code) == 9):
            raise InputError(f"{w}: code {code!r} is not a 9-digit township code", "fix the code")
        kind = _require(row, "kind", str, w)
        if kind not in TOWNSHIP_KINDS:
            raise InputError(f"{w}: kind {kind!r} unknown", f"use one of {TOWNSHIP_KINDS}")
        townships.append(
            Township(
                code=code,
                code12=str(row.get("code12", code + "000")),
                name=_require(row, "name", str, w),
                pinyin=_require(row, "pinyin", str, w),
                kind=kind,
                is_county_seat=bool(row.get("is_county_seat", False)),
            )
        )
    if not townships:
        raise InputError(f"{where}: no townships", "list the region's townships as [[townships]]")
    codes = [t.code for t in townships]
    dupes = sorted({c for c in codes if codes.count(c) > 1})
    if dupes:
        raise InputError(f"{where}: duplicate township codes {dupes}", "each code once")

    speeds_kmh: dict[str, float] = {}
    for key, value in speeds.items():
        v = _require(speeds, key, float, f"{where} [speeds_kmh]")
        if not 0 < v <= 200:
            raise InputError(
                f"{where} [speeds_kmh]: {key} = {value} is not a plausible speed",
                "give km/h between 1 and 200",
            )
        speeds_kmh[key] = v
    if "default" not in speeds_kmh:
        raise InputError(f"{where} [speeds_kmh]: no 'default' speed", "add default = 20")

    centre_site = Site(
        id=_require(centre, "id", str, f"{where} [county_centre]"),
        name=_require(centre, "name", str, f"{where} [county_centre]"),
        township=_require(centre, "township", str, f"{where} [county_centre]"),
        lon=_require(centre, "lon", float, f"{where} [county_centre]"),
        lat=_require(centre, "lat", float, f"{where} [county_centre]"),
    )
    if centre_site.township not in codes:
        raise InputError(
            f"{where} [county_centre]: township {centre_site.township!r} is not in the registry",
            "use the 9-digit code of a listed township",
        )

    vpt = tuple(int(v) for v in standin.get("villages_per_township", (12, 30)))

    def minutes(key: str) -> int:
        v = _require(cold, key, float, f"{where} [cold_chain]")
        if v <= 0:
            raise InputError(f"{where} [cold_chain]: {key} must be positive", "give minutes > 0")
        return round(float(v) * 60)

    return Region(
        id=_require(reg, "id", str, f"{where} [region]"),
        name=_require(reg, "name", str, f"{where} [region]"),
        name_local=str(reg.get("name_local", "")),
        code=region_code,
        projected_crs=_require(reg, "projected_crs", str, f"{where} [region]"),
        area_km2=float(reg.get("area_km2", 0.0)),
        outline_path=outline_path,
        outline_reference_file=_optional_str(
            outline, "reference_file", f"{where} [region.outline]"
        ),
        outline_crs=str(outline.get("crs", "EPSG:4326")),
        county_centre=centre_site,
        townships=tuple(townships),
        speeds_kmh=MappingProxyType(speeds_kmh),
        max_snap_m=float(network.get("max_snap_m", 1500)),
        cold_chain=ColdChainLimits(
            produce_s=minutes("produce_max_in_vehicle_min"),
            tea_s=minutes("tea_max_in_vehicle_min"),
            parcel_s=minutes("parcel_max_in_vehicle_min"),
        ),
        demand=_parse_demand(data.get("demand", {}), where),
        fleet=_parse_fleet(list(data.get("fleet", [])), where),
        standin=StandinSettings(
            seed=int(standin.get("seed", 0)),
            villages_per_township=(vpt[0], vpt[1]),
            node_spacing_m=float(standin.get("node_spacing_m", 60.0)),
        ),
        source_file=source,
        trunk=_parse_trunk(data.get("trunk", {}), where),
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
        return parse_region(_read_toml(None, text, "region file"), "suichang (embedded)")
    p = Path(path)
    if p.is_dir():
        raise InputError(f"region file {p} is a directory", "give a region TOML file")
    return parse_region(_read_toml(p, None, "region file"), str(p), p.parent)


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
    if explicit is not None:
        path = Path(explicit)
    elif os.environ.get(CACHE_DIR_ENV):
        path = Path(os.environ[CACHE_DIR_ENV])
    else:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        path = Path(base) / "lastmile"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            f"cannot create cache directory {path}: {exc}", "pick a writable path"
        ) from exc
    return path

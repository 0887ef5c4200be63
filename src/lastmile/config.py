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
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from lastmile.errors import InputError

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
class FleetType:
    """One vehicle type, stationed ``count_per_depot`` times at every depot."""

    id: str
    refrigerated: bool
    capacity_kg: int
    capacity_parcels: int
    count_per_depot: int
    shift_start_s: int
    shift_end_s: int
    max_duration_s: int
    fixed_cost: float
    cost_per_km: float
    cost_per_hour: float
    max_trips: int | None = 1
    reload_s: int = 0


def _clock(value: Any, where: str) -> int:
    """'HH:MM' -> seconds after midnight."""
    try:
        hh, mm = str(value).split(":")
        seconds = int(hh) * 3600 + int(mm) * 60
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
        raise InputError(f"{where}: max_trips = {value!r} is not a whole number >= 1 or \"fit\"",
                         'give e.g. max_trips = 2, or "fit" for as many trips as fit the day')
    return value


def _reload_s(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 24 * 60:
        raise InputError(f"{where}: reload_min = {value!r} is not a number of minutes in [0, 1440]")
    return round(float(value) * 60)


def _parse_fleet(rows: list[Any], where: str) -> tuple[FleetType, ...]:
    out: list[FleetType] = []
    for i, row in enumerate(rows):
        w = f"{where} [[fleet]] #{i + 1}"
        if not isinstance(row, dict):
            raise InputError(f"{w}: not a table")
        count = int(_require(row, "count_per_depot", int, w))
        cap_kg = int(_require(row, "capacity_kg", int, w))
        cap_parcels = int(_require(row, "capacity_parcels", int, w))
        if count < 0 or cap_kg <= 0 or cap_parcels <= 0:
            raise InputError(f"{w}: counts and capacities must be positive")
        start = _clock(row.get("shift_start", "07:00"), f"{w} shift_start")
        end = _clock(row.get("shift_end", "19:00"), f"{w} shift_end")
        if end <= start:
            raise InputError(f"{w}: shift_end is not after shift_start")
        out.append(
            FleetType(
                id=_require(row, "id", str, w),
                refrigerated=bool(row.get("refrigerated", False)),
                capacity_kg=cap_kg,
                capacity_parcels=cap_parcels,
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
    osm_bbox: tuple[float, float, float, float]
    osm_place_query: str
    outline_file: str
    outline_crs: str
    county_centre: Site
    townships: tuple[Township, ...]
    speeds_kmh: Mapping[str, float]
    max_snap_m: float
    matrix_cutoff_s: int | None
    cold_chain: ColdChainLimits
    standin: StandinSettings
    demand: DemandProfile
    fleet: tuple[FleetType, ...]
    source_file: str

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


def parse_region(data: Mapping[str, Any], source: str) -> Region:
    """Validate a parsed region table and build a :class:`Region`."""
    where = f"region file {source}"
    reg = _require(data, "region", dict, where)
    outline = _require(reg, "outline", dict, f"{where} [region]")
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

    bbox = tuple(float(v) for v in reg.get("osm_bbox", (0.0, 0.0, 0.0, 0.0)))
    if len(bbox) != 4:
        raise InputError(f"{where}: osm_bbox needs 4 numbers (west, south, east, north)")
    vpt = tuple(int(v) for v in standin.get("villages_per_township", (12, 30)))
    cutoff_min = float(network.get("matrix_cutoff_min", 0))

    def minutes(key: str) -> int:
        v = _require(cold, key, float, f"{where} [cold_chain]")
        if v <= 0:
            raise InputError(f"{where} [cold_chain]: {key} must be positive", "give minutes > 0")
        return round(float(v) * 60)

    return Region(
        id=_require(reg, "id", str, f"{where} [region]"),
        name=_require(reg, "name", str, f"{where} [region]"),
        name_local=str(reg.get("name_local", "")),
        code=str(_require(reg, "code", str, f"{where} [region]")),
        projected_crs=_require(reg, "projected_crs", str, f"{where} [region]"),
        area_km2=float(reg.get("area_km2", 0.0)),
        osm_bbox=(bbox[0], bbox[1], bbox[2], bbox[3]),
        osm_place_query=str(reg.get("osm_place_query", "")),
        outline_file=_require(outline, "file", str, f"{where} [region.outline]"),
        outline_crs=str(outline.get("crs", "EPSG:4326")),
        county_centre=centre_site,
        townships=tuple(townships),
        speeds_kmh=MappingProxyType(speeds_kmh),
        max_snap_m=float(network.get("max_snap_m", 1500)),
        matrix_cutoff_s=round(cutoff_min * 60) if cutoff_min > 0 else None,
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
    return parse_region(_read_toml(p, None, "region file"), str(p))


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

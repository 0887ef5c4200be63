"""Scenario settings for ``lastmile plan``: TOML parsed once, at the edge, into frozen dataclasses.

A scenario file names a region (default: the embedded Suichang file), a ``[plan]`` table with the
planning choices, and may override any region table (``[demand]``, ``[[fleet]]``, ``[trunk]``,
``[cold_chain]``, ``[speeds_kmh]``, ``[county_centre]``, ``[network]``) without copying the rest.
``lastmile config show`` prints every default.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import asdict, dataclass, fields, replace
from importlib import resources
from pathlib import Path
from typing import Any

from lastmile.config import Region, parse_region
from lastmile.errors import InputError
from lastmile.location import OBJECTIVES

DEMAND_WEIGHTS = ("population", "parcels")
REGION_TABLES = (
    "demand",
    "fleet",
    "cold_chain",
    "speeds_kmh",
    "county_centre",
    "network",
    "standin",
    "trunk",
)


@dataclass(frozen=True)
class PlanSettings:
    """The planning choices of a scenario (``[plan]``). Times in seconds, except where named.

    Attributes
    ----------
    network
        ``auto`` | ``synthetic`` | ``osm`` | a file path (:func:`lastmile.network.open_network`).
    local_extract
        A local OSM extract used by ``auto`` before trying a download.
    p
        Number of new hubs (the county centre stays open and is not counted).
    max_per_township
        At most this many new hubs per township ("across different townships": 1).
    exclude_centre_township
        No new hub in the county centre's township (it is served by the centre already).
    objective
        ``pmedian`` (demand-weighted mean time), ``mclp`` (demand within ``coverage_min``) or
        ``pcenter`` (worst time).
    demand_weight
        Village weight in the location model and the study: ``population`` or ``parcels``.
    routing_mode
        ``per_depot``: each order goes to its nearest depot (among those that can serve it alone)
        and each depot is routed alone (how hubs serve their catchments; small, fast models);
        ``joint``: one multi-depot model in which the solver chooses each order's depot.
    baseline_routing
        How the baseline day (the whole fleet at the county centre) is routed: ``catchments``
        (default): the plan's catchments one by one from the centre, each with the vans its hub
        has in the plan, then what they left in one model with the vehicles they did not use
        (:func:`lastmile.plan._solve_sectors`); ``joint``: the whole day in one model (minutes
        for a first solution on the county; measured in BENCHMARKS.md).
    delivery_hour_cost
        Weight of early delivery in the routing objective: currency units per delivery order per
        hour from the depot's ready time to its delivery (an assumption, a value of a parcel's
        time; 0: vehicle costs alone). Without it the cheapest day chains trips on few vans and
        delivers late. A weight of the search only: cost KPIs leave it out.
    routing_first_solution
        OR-Tools first-solution strategy, or ``auto``: cheapest insertion for models up to 150
        orders, PATH_CHEAPEST_ARC above (measured; see BENCHMARKS.md).
    outline, outline_crs
        An explicit county outline file (any vector format) and the CRS of its coordinates
        (default: the file's own; ``"gcj02"`` for Amap/DataV lon/lat); default: the region's
        outline sources (:func:`lastmile.boundaries.county_outline`).
    routing_search
        ``"ils"``: OR-Tools' iterated local search (ruin and recreate, simulated annealing; see
        :class:`lastmile.routing.RoutingOptions`); ``"gls"``: guided local search over OR-Tools'
        default operators (the search of earlier versions).
    routing_solution_limit
        Solutions each routing model's search may explore (``ils``: every recreated and improved
        solution; ``gls``: improving solutions); with the time limit as a safety cap this keeps
        the run deterministic (same inputs and seed, same routes) while the cap does not bind.
    routing_depot_candidates
        ``joint`` mode: the depots (nearest by round trip among those that can serve the order
        alone) the solver may choose from for an order with a loading / unloading node; bounds the
        model size (one node per candidate).
    routing_processes
        2: route the baseline in a forked process beside the plan (two cores); 1: everything in
        this process, no fork (inside Dask workers or other pools). Results are identical.
    """

    network: str = "auto"
    local_extract: str | None = None
    outline: str | None = None
    outline_crs: str | None = None
    boundaries: str | None = None
    boundaries_crs: str | None = None
    villages: str | None = None
    orders: str | None = None
    p: int = 10
    max_per_township: int = 1
    exclude_centre_township: bool = True
    objective: str = "pmedian"
    coverage_min: float = 30.0
    demand_weight: str = "population"
    candidates_per_township: int | None = None
    location_time_limit_s: float = 60.0
    routing_time_limit_s: float = 300.0
    routing_solution_limit: int = 80
    routing_search: str = "ils"
    routing_mode: str = "per_depot"
    baseline_routing: str = "catchments"
    delivery_hour_cost: float = 5.0
    routing_first_solution: str = "auto"
    routing_processes: int = 2
    routing_depot_candidates: int = 3
    seed: int = 2026
    standin_scale: float = 1.0
    p_curve_max: int = 15

    def __post_init__(self) -> None:
        where = "[plan]"
        if self.objective not in OBJECTIVES:
            raise InputError(
                f"{where} objective = {self.objective!r} unknown", f"use one of {OBJECTIVES}"
            )
        if self.routing_mode not in ("per_depot", "joint"):
            raise InputError(
                f"{where} routing_mode = {self.routing_mode!r} unknown",
                "use 'per_depot' or 'joint'",
            )
        if self.routing_search not in ("ils", "gls"):
            raise InputError(
                f"{where} routing_search = {self.routing_search!r} unknown",
                "use 'ils' (iterated local search) or 'gls' (guided local search)",
            )
        if self.baseline_routing not in ("catchments", "joint"):
            raise InputError(
                f"{where} baseline_routing = {self.baseline_routing!r} unknown",
                "use 'catchments' or 'joint'",
            )
        if self.demand_weight not in DEMAND_WEIGHTS:
            raise InputError(
                f"{where} demand_weight = {self.demand_weight!r} unknown",
                f"use one of {DEMAND_WEIGHTS}",
            )
        if self.routing_processes not in (1, 2):
            raise InputError(
                f"{where} routing_processes = {self.routing_processes!r} unknown",
                "use 1 (no forked process) or 2 (baseline and plan side by side)",
            )
        for name in (
            "p",
            "max_per_township",
            "routing_solution_limit",
            "p_curve_max",
            "routing_depot_candidates",
        ):
            if getattr(self, name) < 1:
                raise InputError(f"{where} {name} = {getattr(self, name)} must be at least 1")
        if not (math.isfinite(self.delivery_hour_cost) and self.delivery_hour_cost >= 0):
            raise InputError(f"{where} delivery_hour_cost = {self.delivery_hour_cost} must be >= 0")
        for name in (
            "location_time_limit_s",
            "routing_time_limit_s",
            "coverage_min",
            "standin_scale",
        ):
            if not getattr(self, name) > 0:
                raise InputError(f"{where} {name} = {getattr(self, name)} must be positive")


@dataclass(frozen=True)
class Scenario:
    """A region with overrides applied, and the planning settings."""

    region: Region
    plan: PlanSettings
    source: str


def _plan_settings(table: dict[str, Any], where: str) -> PlanSettings:
    known = {f.name: f for f in fields(PlanSettings)}
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise InputError(
            f"{where} [plan]: unknown key(s) {unknown}", f"known keys: {sorted(known)}"
        )
    values: dict[str, Any] = {}
    for key, value in table.items():
        expected = _PLAN_TYPES[key]
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        # bool is an int in Python, not in TOML: p = true is a wrong type, not p = 1
        if not isinstance(value, expected) or (expected is not bool and isinstance(value, bool)):
            raise InputError(
                f"{where} [plan]: {key} = {value!r} should be {expected.__name__}",
                "fix the value",
            )
        values[key] = value
    try:
        return PlanSettings(**values)
    except InputError as exc:
        raise InputError(f"{where} {exc.message}", exc.hint or "fix the value") from None


#: The TOML type of every ``[plan]`` key (keys whose default is None included).
_PLAN_TYPES: dict[str, type] = {
    **{f.name: type(getattr(PlanSettings(), f.name)) for f in fields(PlanSettings)},
    **{k: str for k in ("local_extract", "outline", "outline_crs", "boundaries")},
    **{k: str for k in ("boundaries_crs", "villages", "orders")},
    "candidates_per_township": int,
}


def _embedded_region_text() -> str:
    return resources.files("lastmile").joinpath("regions/suichang.toml").read_text("utf-8")


def load_scenario(
    path: str | Path | None = None, *, region: str | Path | None = None, **overrides: Any
) -> Scenario:
    """Read a scenario file (``None``: all defaults) and apply keyword overrides to ``[plan]``.

    ``region`` names a region file (``--region``) that replaces the scenario's ``region`` (a
    relative path is taken from the current directory); default: the scenario's ``region``, else
    the embedded Suichang file.

    Raises
    ------
    InputError
        For a missing/invalid file, an unknown key, or a bad value (the message names the key).
    """
    data: dict[str, Any] = {}
    where = "scenario (defaults)"
    base_dir = Path.cwd()
    if path is not None:
        p = Path(path)
        where = f"scenario file {p}"
        base_dir = p.parent
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"{where} does not exist", "check the path") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"{where} is not valid TOML: {exc}", "fix the syntax") from exc
    unknown = sorted(set(data) - {"region", "plan", *REGION_TABLES})
    if unknown:
        raise InputError(
            f"{where}: unknown table(s) {unknown}",
            f"use region, [plan] and region tables {REGION_TABLES}",
        )
    region_ref = data.get("region")
    region_dir: Path | None = None
    if region is not None:
        rp: Path | None = Path(region).resolve()
        asked = "--region"
    elif region_ref is not None:
        if not isinstance(region_ref, str):
            raise InputError(f"{where}: region = {region_ref!r} must be a file path string")
        rp, asked = (base_dir / region_ref).resolve(), f"{where}: region"
    else:
        rp, asked = None, ""
    if rp is None:
        region_text, region_source = _embedded_region_text(), "suichang (embedded)"
    else:
        region_dir, region_source = rp.parent, str(rp)
        try:
            region_text = rp.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InputError(
                f"{asked}: region file {rp} does not exist", "check the path"
            ) from None
        except IsADirectoryError:
            raise InputError(
                f"{asked}: region file {rp} is a directory", "give a TOML file"
            ) from None
        except UnicodeDecodeError:
            raise InputError(f"region file {rp} is not UTF-8 text", "save it as UTF-8") from None
    try:
        region_data = tomllib.loads(region_text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(
            f"region file {region_source} is not valid TOML: {exc}", "fix the syntax"
        ) from exc
    for table in REGION_TABLES:
        if table not in data:
            continue
        if table == "fleet" or not isinstance(data[table], dict):
            region_data[table] = data[table]
        else:
            region_data[table] = {**region_data.get(table, {}), **data[table]}
    parsed_region = parse_region(region_data, f"{region_source} + {where}", region_dir)
    plan = _plan_settings(dict(data.get("plan", {})), where)
    # file paths in [plan] are relative to the scenario file
    for key in ("local_extract", "outline", "boundaries", "villages", "orders"):
        value = getattr(plan, key)
        if value is not None and not Path(value).is_absolute():
            resolved: dict[str, Any] = {key: str((base_dir / value).resolve())}
            plan = replace(plan, **resolved)
    clean = {k: v for k, v in overrides.items() if v is not None}
    if clean:
        plan = replace(plan, **clean)
    return Scenario(region=parsed_region, plan=plan, source=where)


def defaults_toml() -> str:
    """Every default, as a scenario file: the ``[plan]`` table, then the embedded region file."""
    lines = [
        "# lastmile scenario defaults (`lastmile config show`).",
        "# [plan] defaults:",
        "[plan]",
    ]
    for key, value in asdict(PlanSettings()).items():
        if value is None:
            lines.append(f"# {key} = (unset)")
        elif isinstance(value, bool):
            lines.append(f"{key} = {str(value).lower()}")
        elif isinstance(value, str):
            lines.append(f'{key} = "{value}"')
        else:
            lines.append(f"{key} = {value}")
    lines += [
        "",
        "# Region defaults (embedded regions/suichang.toml); override any table here.",
        "",
    ]
    return "\n".join(lines) + _embedded_region_text()

"""Scenario settings for ``lastmile plan``: TOML parsed once, at the edge, into frozen dataclasses.

A scenario file names a region (default: the embedded Suichang file), a ``[plan]`` table with the
planning choices, and may override any region table (``[demand]``, ``[[fleet]]``, ``[trunk]``,
``[cold_chain]``, ``[speeds_kmh]``, ``[county_centre]``, ``[network]``) without copying the rest.
``lastmile config show`` prints every default.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
import tomllib
from dataclasses import asdict, dataclass, fields, replace
from importlib import resources
from pathlib import Path
from typing import Any

from lastmile.config import (
    MAX_DURATION_S,
    SEED_LIMIT,
    Region,
    check_crs,
    parse_region,
    parse_toml,
    read_toml_source,
    read_toml_text,
)
from lastmile.errors import InfeasibleError, InputError
from lastmile.location import OBJECTIVES
from lastmile.routing import FIRST_SOLUTION_STRATEGIES

#: ``routing_first_solution`` values: ``auto`` (chosen by model size, plan.py) or an OR-Tools
#: ``FirstSolutionStrategy`` name that :class:`lastmile.routing.RoutingOptions` accepts.
FIRST_SOLUTIONS = ("auto", *FIRST_SOLUTION_STRATEGIES)
#: Network specs that are not file paths (:func:`lastmile.network.open_network`).
NETWORK_SOURCES = ("auto", "synthetic", "osm")
#: ``[plan]`` keys holding file paths, relative to the scenario file that names them.
PLAN_PATH_KEYS = ("network", "local_extract", "outline", "boundaries", "villages", "orders")
#: What each path setting but ``network`` falls back to when left out (its empty-path message).
PATH_DEFAULTS = {
    "local_extract": "no local extract",
    "outline": "the region's outline sources",
    "boundaries": "the region's township sources",
    "villages": "the region's settlements",
    "orders": "a generated day of orders",
}
#: Most solutions a routing search may explore: OR-Tools keeps the limit in a signed 32-bit int.
MAX_SOLUTION_LIMIT = 2**31 - 1

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
        ``auto`` | ``synthetic`` | ``osm`` | a file path (:func:`lastmile.network.open_network`);
        in a scenario file, relative to its folder and checked to exist when the file is read.
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
    routing_ruin_visits, routing_ruin_max_sequence
        ``ils``: visits each ruin removes on average, and the longest string of them (OR-Tools'
        SISR ruin; :class:`lastmile.routing.RoutingOptions`). 10 and 10 by default (measured on
        Solomon and Gehring-Homberger instances, and on two county days: 40 and 20 routed the
        hubs shorter on one and longer on the other; BENCHMARKS.md, "Session 13" and "Session
        14").
    routing_depot_candidates
        ``joint`` mode: the depots (nearest by round trip among those that can serve the order
        alone) the solver may choose from for an order with a loading / unloading node; bounds the
        model size (one node per candidate).
    routing_processes
        2: two forked worker processes (two cores): the day's travel matrices split over both,
        then the baseline in one, the plan's hub models in both, largest first; 1: everything in
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
    routing_time_limit_s: float = 900.0
    routing_solution_limit: int = 850
    routing_search: str = "ils"
    routing_ruin_visits: int = 10
    routing_ruin_max_sequence: int = 10
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
        for key in PLAN_PATH_KEYS:
            # the API takes pathlib paths too; the settings hold (and print) strings
            value = getattr(self, key)
            if isinstance(value, os.PathLike):
                object.__setattr__(self, key, str(os.fspath(value)))
            # an empty path (an unset variable: orders=os.environ.get("ORDERS", "")) refused, as
            # the CLI does: dropped silently it would plan a generated day, or read a folder
            value = getattr(self, key)
            if key != "network" and isinstance(value, str) and not value.strip():
                raise InputError(
                    f"{where} {key} = {value!r} is an empty path",
                    "give a file (is a variable unset?), or leave the setting out for "
                    + PATH_DEFAULTS[key],
                )
        # the API and the CLI build settings without the file parser: check the types here too
        for f in fields(self):
            value = getattr(self, f.name)
            expected = _PLAN_TYPES[f.name]
            if value is None and f.default is None:
                continue
            ok = isinstance(value, expected) or (expected is float and isinstance(value, int))
            # bool is an int in Python, not in TOML: p = true is a wrong type, not p = 1
            if not ok or (expected is not bool and isinstance(value, bool)):
                raise InputError(
                    f"{where} {f.name} = {value!r} should be {expected.__name__}",
                    "fix the value",
                )
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
        if self.routing_first_solution not in FIRST_SOLUTIONS:
            raise InputError(
                f"{where} routing_first_solution = {self.routing_first_solution!r} unknown",
                f"use one of {', '.join(FIRST_SOLUTIONS)}",
            )
        if self.routing_processes not in (1, 2):
            raise InputError(
                f"{where} routing_processes = {self.routing_processes!r} unknown",
                "use 1 (no forked process) or 2 (baseline and plan side by side)",
            )
        if not 0 <= self.seed < SEED_LIMIT:
            raise InputError(
                f"{where} seed = {self.seed} is not a seed (an integer in [0, 2**32 - 1])",
                "give a non-negative integer such as 2026",
            )
        for name in (
            "p",
            "max_per_township",
            "routing_solution_limit",
            "p_curve_max",
            "routing_depot_candidates",
            "candidates_per_township",
            "routing_ruin_visits",
            "routing_ruin_max_sequence",
        ):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise InputError(f"{where} {name} = {value} must be at least 1")
        if self.routing_solution_limit > MAX_SOLUTION_LIMIT:
            raise InputError(
                f"{where} routing_solution_limit = {self.routing_solution_limit} is too large",
                f"give at most {MAX_SOLUTION_LIMIT} (2**31 - 1); 850 is the default, 2000 a deep "
                "search",
            )
        if not (math.isfinite(self.delivery_hour_cost) and self.delivery_hour_cost >= 0):
            raise InputError(
                f"{where} delivery_hour_cost = {self.delivery_hour_cost} must be >= 0 and finite"
            )
        for name in ("coverage_min", "standin_scale"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise InputError(f"{where} {name} = {value} must be positive and finite")
        for name in ("location_time_limit_s", "routing_time_limit_s"):
            # OR-Tools refuses a limit beyond its int64 nanoseconds deep inside a solve
            value = getattr(self, name)
            if not (math.isfinite(value) and 0 < value <= MAX_DURATION_S):
                raise InputError(
                    f"{where} {name} = {value} must be positive and at most {MAX_DURATION_S} s",
                    "give a time limit in seconds, at most one week",
                )
        for name in ("outline_crs", "boundaries_crs"):
            value = getattr(self, name)
            if value is not None:
                check_crs(value, name, where)
        if not self.network:
            raise InputError(
                f"{where} network = '' is empty",
                f"use one of {', '.join(NETWORK_SOURCES)} or a road-network file path",
            )


@dataclass(frozen=True)
class Scenario:
    """A region with overrides applied, and the planning settings."""

    region: Region
    plan: PlanSettings
    source: str
    #: the scenario file's absolute path and the sha256 of the bytes read (``None``: defaults)
    file: str | None = None
    file_sha256: str | None = None
    #: the sha256 of the region file read (``None``: the embedded region file)
    region_file_sha256: str | None = None


def _plan_settings(raw: Any, where: str, base_dir: Path) -> PlanSettings:
    """The ``[plan]`` table of the scenario file ``where`` as settings.

    File paths are taken relative to the scenario file (``base_dir``); a missing road-network
    file is reported here, naming the scenario file and key, not after the region is prepared.
    """
    if not isinstance(raw, dict):
        raise InputError(
            f"{where}: plan = {raw!r} is not a table", "write [plan] with key = value lines"
        )
    table: dict[str, Any] = raw
    known = {f.name: f for f in fields(PlanSettings)}
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise InputError(
            f"{where} [plan]: unknown key(s) {unknown}", f"known keys: {sorted(known)}"
        )
    values: dict[str, Any] = {}
    for key, value in table.items():
        # TOML writes 300 for a float key: the settings keep floats as floats
        if _PLAN_TYPES[key] is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        values[key] = value
    try:
        plan = PlanSettings(**values)
    except InputError as exc:
        raise InputError(f"{where} {exc.message}", exc.hint or "fix the value") from None
    # a road-network file is checked here, naming the scenario file and key; the other files are
    # opened (and reported) by their readers, and scenarios may name files written later
    network = plan.network if "network" in table else None
    if network is not None and network not in NETWORK_SOURCES:
        path = (base_dir / network).resolve()
        if not path.exists():
            raise InputError(
                f"{where} [plan]: network = {network!r}: road-network file {path} does not exist",
                f"check the path (relative to the scenario file's folder), or use one of "
                f"{', '.join(NETWORK_SOURCES)}",
            )
    extract = plan.local_extract if "local_extract" in table else None
    if extract is not None and not (base_dir / extract).is_file():
        raise InputError(
            f"{where} [plan]: local_extract = {extract!r}: no such file "
            f"{(base_dir / extract).resolve()}",
            "check the path (relative to the scenario file's folder), or leave local_extract "
            'out: network = "auto" then takes the extract `lastmile fetch --extract` imported, '
            "else a download, else the synthetic stand-in",
        )
    for key in PLAN_PATH_KEYS:
        value = getattr(plan, key)
        if key in table and value not in (None, *NETWORK_SOURCES) and not Path(value).is_absolute():
            resolved: dict[str, Any] = {key: str((base_dir / value).resolve())}
            plan = replace(plan, **resolved)
    return plan


#: What each ``[plan]`` key means, its unit and allowed values: the comment ``lastmile config
#: show`` writes after the key (the one description of the keys; a test checks that every
#: :class:`PlanSettings` field has one, so no key is added undocumented).
PLAN_KEY_DOCS: dict[str, str] = {
    "network": "auto | synthetic | osm | a road-network file: where the roads come from",
    "local_extract": "OSM extract file that `auto` tries first (default: the imported one)",
    "outline": "county outline file, any vector format (default: the region's sources)",
    "outline_crs": "CRS of outline, e.g. EPSG:4326 or gcj02 (default: the file's own)",
    "boundaries": "township polygons file (default: the region's township sources)",
    "boundaries_crs": "CRS of boundaries when the file has none, or gcj02",
    "villages": "villages CSV/GeoJSON (default: the region's settlements from the network)",
    "orders": "orders CSV/GeoJSON (default: a day generated from [demand] and seed)",
    "p": "new hubs, >= 1 (the county centre stays open and is not counted)",
    "max_per_township": "most new hubs in one township, >= 1",
    "exclude_centre_township": "true | false: no new hub in the county centre's township",
    "objective": "pmedian (mean access time) | mclp (demand within coverage_min) | pcenter (worst)",
    "coverage_min": "minutes, > 0: the access time mclp counts as covered",
    "demand_weight": "population | parcels: what weights a village in hub placement and study",
    "candidates_per_township": ">= 1 candidate sites per township (default: [demand]'s)",
    "location_time_limit_s": "seconds, > 0, at most a week: time limit of the hub location solve",
    "routing_time_limit_s": "seconds, > 0, at most a week: safety cap per routed day",
    "routing_solution_limit": "1 .. 2**31 - 1 solutions each routing search explores",
    "routing_search": "ils (iterated local search) | gls (guided local search)",
    "routing_ruin_visits": ">= 1: ils, visits each ruin removes on average (SISR)",
    "routing_ruin_max_sequence": ">= 1: ils, longest string of visits one ruin removes",
    "routing_mode": "per_depot (each order to its nearest depot) | joint (one model)",
    "baseline_routing": "catchments (the plan's catchments from the centre) | joint (one model)",
    "delivery_hour_cost": "CNY per delivery order-hour, >= 0: objective weight of early delivery",
    "routing_first_solution": "auto (cheapest insertion up to 150 orders, else PATH_CHEAPEST_ARC)"
    + "".join(f" | {name}" for name in FIRST_SOLUTION_STRATEGIES)
    + ": OR-Tools first-solution strategy",
    "routing_processes": "1 | 2: route baseline and plan in one process, or two side by side",
    "routing_depot_candidates": ">= 1: depots a joint-mode order may be routed from",
    "seed": "0 .. 2**32 - 1: seed of the generated order day",
    "standin_scale": "> 0: size of the synthetic stand-in network (1 = the full county)",
    "p_curve_max": ">= 1: `compare` computes the p-curve for p = 1 .. this (--p-max)",
}


#: The TOML type of every ``[plan]`` key (keys whose default is None included); from the field
#: defaults, as building PlanSettings() here would check itself against this very table.
_PLAN_TYPES: dict[str, type] = {
    **{f.name: type(f.default) for f in fields(PlanSettings)},
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
    scenario_sha256: str | None = None
    region_sha256: str | None = None
    where = "scenario (defaults)"
    base_dir = Path.cwd()
    if path is not None:
        p = Path(path)
        where = f"scenario file {p}"
        base_dir = p.parent
        text, scenario_sha256 = read_toml_source(p, where)
        data = parse_toml(text, where)
    unknown = sorted(set(data) - {"region", "plan", *REGION_TABLES})
    if unknown:
        known = sorted({"region", "plan", *REGION_TABLES})
        close = [difflib.get_close_matches(t.lower(), known, 1, 0.6) for t in unknown]
        guess = [f"[{c[0]}] for [{t}]" for t, c in zip(unknown, close, strict=True) if c]
        raise InputError(
            f"{where}: unknown table(s) {unknown}"
            + (f" (did you mean {', '.join(guess)}?)" if guess else ""),
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
        region_text, region_sha256 = read_toml_source(rp, f"{asked}: region file {rp}")
    region_data = parse_toml(region_text, f"region file {region_source}")
    # the scenario's region tables: [[fleet]] (and a non-table, refused by parse_region naming the
    # scenario) replaces the region file's; a table merges its keys over the region file's
    given: dict[str, frozenset[str] | None] = {}
    for table in REGION_TABLES:
        if table not in data:
            continue
        if table == "fleet" or not isinstance(data[table], dict):
            region_data[table] = data[table]
            given[table] = None
        else:
            base = region_data.get(table, {})
            if not isinstance(base, dict):
                raise InputError(
                    f"region file {region_source}: {table} = {base!r} is not a table",
                    f"write [{table}] with key = value lines",
                )
            region_data[table] = {**base, **data[table]}
            given[table] = frozenset(data[table])
    parsed_region = parse_region(
        region_data, region_source, region_dir, scenario=where, scenario_keys=given
    )
    plan = _plan_settings(data.get("plan", {}), where, base_dir)
    clean = {k: v for k, v in overrides.items() if v is not None}
    if "p" in clean and "p" in data.get("plan", {}):
        # the file's own p is checked too: it is used again as soon as the option is dropped
        check_hub_room(plan, parsed_region, f"{where} [plan]:")
    unknown = sorted(set(clean) - {f.name for f in fields(PlanSettings)})
    if unknown:
        # dataclasses.replace would raise a bare TypeError for an API keyword typo
        raise InputError(
            f"unknown setting(s) {unknown}",
            f"known [plan] settings: {sorted(f.name for f in fields(PlanSettings))}",
        )
    if clean:
        plan = replace(plan, **clean)
    # name where p came from: the CLI option / API argument, else the scenario file
    check_hub_room(plan, parsed_region, "setting" if "p" in clean else f"{where} [plan]:")
    return Scenario(
        region=parsed_region,
        plan=plan,
        source=where,
        file=None if path is None else str(Path(path).resolve()),
        file_sha256=scenario_sha256,
        region_file_sha256=region_sha256,
    )


def check_hub_room(plan: PlanSettings, region: Region, where: str) -> None:
    """Refuse a ``p`` that no choice of hubs can meet, before any network or location work.

    Hubs are grouped by township, at most ``max_per_township`` each: more townships (or a
    larger ``max_per_township``) is the only way to fit more hubs. The location model checks the
    candidates it actually has later; this bound needs only the registry. An InfeasibleError, as
    the location model's (exit code 3): the request, not a value, is wrong.
    """
    towns = len(region.townships) - (1 if plan.exclude_centre_township else 0)
    room = towns * plan.max_per_township
    if plan.p > room:
        excluded = " (the county centre's excluded)" if plan.exclude_centre_township else ""
        raise InfeasibleError(
            f"{where} p = {plan.p} new hubs, but at most {room} fit: {towns} townships"
            f"{excluded} x max_per_township = {plan.max_per_township}",
            f"lower p to {room} or less, or raise max_per_township",
        )


#: the column at which :func:`_plan_toml` starts a key's description
_DOC_COLUMN = 36


def _plan_entries(plan: PlanSettings) -> list[tuple[str, str]]:
    """Each ``[plan]`` key of ``plan`` and its TOML line without a comment (an unset key as the
    comment ``# key = (unset)``: TOML has no null)."""
    out = []
    for key, value in asdict(plan).items():
        if value is None:
            out.append((key, f"# {key} = (unset)"))
        else:  # JSON's strings, numbers and booleans are TOML's (ints and floats kept apart)
            out.append((key, f"{key} = {json.dumps(value, ensure_ascii=False)}"))
    return out


def _doc_comment(key: str) -> str:
    """The end-of-line comment describing ``[plan]`` key ``key`` (:data:`PLAN_KEY_DOCS`)."""
    return f"# {PLAN_KEY_DOCS[key]}"


def _with_doc(key: str, entry: str) -> str:
    """``entry`` (a key's line) followed by the key's description at :data:`_DOC_COLUMN`."""
    return f"{entry}{' ' * max(2, _DOC_COLUMN - len(entry))}{_doc_comment(key)}"


def _plan_toml(plan: PlanSettings) -> list[str]:
    """The ``[plan]`` table of ``plan`` as TOML lines (unset keys as comments), each key with its
    description as an end-of-line comment."""
    return ["[plan]", *(_with_doc(key, entry) for key, entry in _plan_entries(plan))]


#: tables of a region file that a scenario cannot override (`lastmile config show` comments them)
_REGION_ONLY = ("[region]", "[region.outline]", "[[townships]]")


def _sections(text: str) -> list[tuple[str, list[str]]]:
    """A TOML text cut at its table headers: (header, lines), the top-level lines first ("")."""
    out: list[tuple[str, list[str]]] = [("", [])]
    for line in text.splitlines():
        head = line.split("#", 1)[0].strip()
        if head.startswith("[") and head.endswith("]"):
            out.append((head, [line]))
        else:
            out[-1][1].append(line)
    return out


def defaults_toml() -> str:
    """Every default, as a scenario file: the ``[plan]`` table, then the embedded region file's
    tables (those only a region file may set, commented out). The text loads as a scenario."""
    lines = [
        "# lastmile scenario defaults (`lastmile config show`).",
        *_plan_toml(PlanSettings()),
        "",
        "# Region defaults (embedded regions/suichang.toml); override any table here. The tables",
        "# commented out ([region], [[townships]]) belong to a region file (--region FILE).",
    ]
    for header, body in _sections(_embedded_region_text()):
        region_only = header in _REGION_ONLY
        lines += [f"# {x}" if region_only and x.strip() else x for x in body]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class _Statement:
    """One statement of a TOML text: its lines, the table it opens ("" for a key line, a blank
    or a comment) and for a key line its top-level key."""

    lines: tuple[str, ...]
    header: str = ""
    key: str = ""

    @property
    def comment(self) -> bool:
        return not self.header and not self.key


def _statements(text: str) -> list[_Statement]:
    """``text`` (valid TOML) cut into statements; a statement spanning lines (a multi-line
    string or array) is one. Keys are read by the TOML parser, so any spelling counts
    (``[ plan ]``, ``["plan"]``, ``plan.p = 3``, ``plan = {p = 3}``)."""
    out: list[_Statement] = []
    pending: list[str] = []
    for line in text.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            out.append(_Statement((line,)))
            continue
        pending.append(line)
        try:
            parsed = tomllib.loads("\n".join(pending))
        except tomllib.TOMLDecodeError:
            continue  # the statement goes on on the next line
        name = next(iter(parsed), "")
        if pending[0].lstrip().startswith("["):
            out.append(_Statement(tuple(pending), header=name))
        else:
            out.append(_Statement(tuple(pending), key=name))
        pending = []
    if pending:  # not reached for a text that loads; kept as written
        out.append(_Statement(tuple(pending)))
    return out


def _trailing_comment(statement: _Statement) -> str:
    """The ``# ...`` comment ending a one-line key statement ("" if none)."""
    if len(statement.lines) != 1:
        return ""
    line = statement.lines[0]
    whole = tomllib.loads(line)
    for at in (i for i, c in enumerate(line) if c == "#"):
        try:
            if tomllib.loads(line[:at]) == whole:
                return line[at:]
        except tomllib.TOMLDecodeError:
            continue
    return ""


#: a top-level line giving the whole ``[plan]`` table as an inline table (not ``plan.KEY = ``)
_INLINE_PLAN = re.compile(r"""\s*(plan|"plan"|'plan')\s*=""")

#: the comment :func:`_plan_toml` writes for an unset key (dropped on reading: it is rewritten)
_UNSET = re.compile(r"#\s*(\w+)\s*=\s*\(unset\)\s*(#.*)?$")
_EFFECTIVE_HEADER = "# effective scenario "


def scenario_toml(path: str | Path) -> str:
    """The scenario file ``path`` with its ``[plan]`` table replaced by every effective
    ``[plan]`` setting (defaults filled in); its other lines as written. Loads as a scenario,
    and ``scenario_toml`` of that text gives the same text again (with the same header).

    However ``[plan]`` is spelt (``[ plan ]``, dotted ``plan.p = 3`` keys, an inline table), its
    keys are written once, as one ``[plan]`` table; the user's comments in it are kept: a key's
    end-of-line comment on that key's line, a comment line above a key above it, the comment
    lines after its last key after the table.
    """
    scenario = load_scenario(path)
    text = read_toml_text(Path(path), f"scenario file {path}")
    plan_keys = {f.name for f in fields(PlanSettings)}
    top: list[str] = []  # the top-level lines (region = ...): they must come before any table
    rest: list[str] = []  # the other tables' lines
    plan_at: int | None = None  # where in ``rest`` the [plan] table was
    header_comment = ""  # the end-of-line comment of the [plan] header
    head: list[str] = []  # comment lines between the [plan] header and its first key
    above: dict[str, list[str]] = {}  # [plan] key -> the comment lines above it
    after: dict[str, str] = {}  # [plan] key -> its end-of-line comment
    tail: list[str] = []  # comment lines after the last [plan] key
    waiting: list[str] = []  # comment and blank lines not yet placed
    section = ""  # the table the current line is in ("" = top level)
    plan_seen = False  # a key of the [plan] table read

    def place(lines: list[str]) -> None:
        (top if section == "" else rest).extend(lines)

    for st in _statements(text):
        if st.comment:
            line = st.lines[0]
            unset = _UNSET.match(line.strip())
            if (unset and unset.group(1) in plan_keys) or (
                line.startswith(_EFFECTIVE_HEADER) and not top and not waiting and not section
            ):
                continue  # written again below
            waiting.append(line)
        elif st.header:
            if section == "plan":
                tail = waiting
            else:
                place(waiting)
            waiting = []
            section = st.header
            if section == "plan":
                plan_at, header_comment = len(rest), _trailing_comment(st)
            else:
                rest.extend(st.lines)
        elif section == "plan" or (section == "" and st.key == "plan"):  # or plan.KEY = ...
            parsed = tomllib.loads("\n".join(st.lines))
            name = next(iter(parsed["plan"] if section == "" else parsed), "")
            if section == "":
                place(waiting)  # comments above a top-level plan.KEY stay where they were
            elif not plan_seen:
                head.extend(waiting)
            else:
                above.setdefault(name, []).extend(waiting)
            plan_seen = section == "plan"
            waiting = []
            # the key's description (written by config show) is written again, not kept
            comment = _trailing_comment(st)
            if comment and section == "" and _INLINE_PLAN.match(st.lines[0]):
                # ``plan = {...}  # note`` comments the whole table, not its first key (bb20 D7)
                header_comment = header_comment or comment
            elif comment and (name not in PLAN_KEY_DOCS or comment.rstrip() != _doc_comment(name)):
                after[name] = comment
        else:
            place([*waiting, *st.lines])
            waiting = []
    if section == "plan":
        tail = waiting
    else:
        place(waiting)
    plan_lines = [f"[plan] {header_comment}".rstrip(), *head]
    for key, entry in _plan_entries(scenario.plan):
        plan_lines += above.get(key, [])
        # the user's own comment on the key's line wins over the key's description
        plan_lines.append(f"{entry} {after[key]}" if key in after else _with_doc(key, entry))
    plan_lines += tail
    if plan_at is None:
        top += ["", *plan_lines, ""] if top else [*plan_lines, ""]
        body = rest
    else:
        body = [*rest[:plan_at], *plan_lines, *rest[plan_at:]]
    lines = [f"{_EFFECTIVE_HEADER}{path}: [plan] with every default filled in", *top, *body]
    return "\n".join(lines).rstrip("\n") + "\n"

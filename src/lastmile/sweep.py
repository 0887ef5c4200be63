"""Scenario sweeps on Dask: many whole plans as independent tasks, one tidy table, plots.

A sweep file (TOML) names a base scenario and what to vary::

    base = "scenario.toml"        # optional: a scenario file (relative to this file); else defaults

    [set]                         # optional: fixed for every scenario (same keys as [grid];
                                  # a key is in [set] or [grid], not both)
    network = "synthetic"

    [grid]                        # every combination, in the order written
    p = [5, 8, 10, 12, 15]
    "cold_chain.produce_max_in_vehicle_min" = [90, 120, 180]
    seed = [1, 2, 3]
    demand_multiplier = [0.8, 1.0, 1.25]

    [[scenarios]]                 # and/or an explicit list (each on top of base and [set])
    name = "tight cold chain"     # optional; a string, each name once
    p = 12
    "cold_chain.produce_max_in_vehicle_min" = 60

Keys
    a ``[plan]`` key (``p``, ``seed``, ``objective``, ``routing_solution_limit`` ...; ``plan.``
    prefix optional); ``TABLE.KEY`` for a region table (``demand``, ``cold_chain``,
    ``speeds_kmh``, ``network``, ``county_centre``, ``standin``); ``region`` (a region file, so
    several counties in one sweep); multipliers ``demand_multiplier`` (parcels and produce per
    resident), ``speed_multiplier`` (every road class) or ``speed_multiplier.CLASS`` (one class),
    ``fleet_multiplier`` (every vehicle type's ``count_per_depot``, rounded) or
    ``fleet_multiplier.TYPE``.

Every scenario is written out as an ordinary scenario file (``scenarios/<id>/scenario.toml``):
``lastmile plan --config`` on that file gives the same ``kpis.json``, byte for byte. The id is a
hash of that file, so ``--resume`` recognises finished scenarios whatever their order; it runs
one again when a file it reads (orders, region, extract ...) changed since (hashes in result.json).

Execution: a :class:`distributed.LocalCluster` in this process (one single-threaded worker process
per core) or a running scheduler (``tcp://host:8786``). Each distinct road network is loaded and
its facility-village matrix computed once, by one task, into the shared cache directory; the
scenario tasks are submitted once every network is cached, and read it from there. Inside workers
the plan runs single-process (``run_plan(parallel=False)``: daemonic Dask workers cannot fork).
OR-Tools models are built in the task, never shipped.

Output folder::

    sweep.json                    the expanded sweep (ids, labels, varied keys; the base file,
                                  [set], merged grid points), the lastmile version and git commit
                                  of the run
    scenarios/<id>/scenario.toml  the scenario as a plan input
    scenarios/<id>/result.json    status, one-line error, solver statuses, seconds, manifest hash,
                                  the lastmile version and commit that made it, the routing
                                  search settings it ran with
    scenarios/<id>/kpis.json      exactly what ``lastmile plan`` writes
    scenarios/<id>/plan/          the whole plan output folder (``--keep-plans``)
    results.parquet, results.csv  one row per scenario: varied keys, the search depth
                                  (routing_solution_limit, routing_time_limit_s), every KPI
                                  (nested keys flattened with "."), statuses, seconds
    summary.md, plots/*.png       the settings fixed for every scenario and the search depth;
                                  reduction against p with its spread over the other keys (the
                                  access-time headline does not change with the seed), tornado
                                  chart, the routed figures' sensitivity with the orders each
                                  mean covers, the listed scenarios side by side, the scenarios
                                  where the plan loses, failed scenarios
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import hashlib
import importlib.util
import itertools
import json
import logging
import math
import os
import re
import signal
import socket
import sys
import tempfile
import threading
import time
import tomllib
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lastmile.config import read_toml
from lastmile.errors import InfeasibleError, InputError, LastmileError
from lastmile.io import atomic_path, write_bytes, write_csv, write_json, write_text
from lastmile.scenario import NETWORK_SOURCES, PLAN_PATH_KEYS, REGION_TABLES, PlanSettings

#: The headline of the summary and the plots: share of the mean access time saved by the hubs.
HEADLINE = "access_time.reduction_share"
#: The routed parcel lead time, baseline and plan: mean minutes over the orders both days served.
LEAD_TIME = ("lead_time.baseline.parcel.mean_min", "lead_time.plan.parcel.mean_min")
#: Orders each routed day served, baseline and plan.
ORDERS_SERVED = ("routing.baseline.orders_served", "routing.plan.orders_served")
MULTIPLIERS = ("demand_multiplier", "speed_multiplier", "fleet_multiplier")
#: Routed figures whose sensitivity the summary tabulates beside the headline.
ROUTED = (
    "routed_compared.plan.km",
    "routed_compared.plan.cost",
    "routed_compared.plan.km_per_order",
    "routed_compared.plan.cost_per_order",
    "routing.plan.km",
    "routing.plan.unassigned",
    "routing.baseline.unassigned",
    "routing.plan.vehicle_hours",
)
#: The column counting the orders each of :data:`ROUTED` covers: the orders served in both
#: routed days (``routed_compared``), the plan's own served orders (``routing.plan`` km and
#: hours), the day's orders (unserved counts); the summary gives them at each low / high mean
ROUTED_ORDERS = {
    **{k: "routed_compared.plan.orders" for k in ROUTED if k.startswith("routed_compared.")},
    "routing.plan.km": "routing.plan.orders_served",
    "routing.plan.vehicle_hours": "routing.plan.orders_served",
    "routing.plan.unassigned": "orders",
    "routing.baseline.unassigned": "orders",
}
#: [plan] keys every row of the table carries, whether varied or not: the search, its depth and
#: time cap the routed figures were made at, as the scenario's run recorded them in result.json
ROW_SETTINGS = ("routing_search", "routing_solution_limit", "routing_time_limit_s")
#: a row's search setting that its run did not record (a result kept by ``--resume`` from code
#: that did not record it, and a default its scenario file does not state)
NOT_RECORDED = "not recorded"
#: [plan] keys holding file paths: resolved against the file that names them (as a scenario
#: file's own paths are; ``network`` may instead name a source such as "synthetic")
PATH_KEYS = PLAN_PATH_KEYS
_PLAN_KEYS = frozenset(f.name for f in fields(PlanSettings))
_TABLES = tuple(t for t in REGION_TABLES if t != "fleet")
_BARE = re.compile(r"^[A-Za-z0-9_-]+$")

Log = Callable[[str], None]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- the sweep file


@dataclass(frozen=True)
class ScenarioSpec:
    """One scenario of a sweep: its id, a readable label, the varied values, its scenario TOML.

    ``error`` is set (and ``toml`` empty) when the scenario could not be built; it is then
    recorded as failed without running. ``bad_input`` says the error is bad input (an unknown
    key, a value out of range: :func:`load_sweep` refuses the sweep file) rather than a request
    that cannot be met (an :class:`~lastmile.errors.InfeasibleError` such as more hubs than
    townships: recorded for that scenario alone). ``grid`` marks a point of the ``[grid]`` (else
    a ``[[scenarios]]`` entry): only scenarios that differ from the base in grid keys enter the
    summary's sensitivity means.
    """

    id: str
    label: str
    varied: Mapping[str, Any]
    toml: str
    error: str | None = None
    grid: bool = False
    bad_input: bool = False


@dataclass(frozen=True)
class Sweep:
    """An expanded sweep: the scenarios in file order, the names of the varied keys, what is
    fixed for every scenario, and which grid points or listed scenarios were merged."""

    source: str
    scenarios: tuple[ScenarioSpec, ...]
    keys: tuple[str, ...]
    #: the base scenario file as the sweep file names it (``base = "..."``), else None
    base: str | None = None
    #: the ``[set]`` table: the keys and values fixed for every scenario
    fixed: Mapping[str, Any] = field(default_factory=dict)
    #: grid points and listed scenarios that are the same scenario (same file) as an earlier
    #: one and run once: (which one, e.g. "grid point 2 'p=3'", the label kept, its id)
    merged: tuple[tuple[str, str, str], ...] = ()


def _toml_key(key: str) -> str:
    return key if _BARE.match(key) else json.dumps(key, ensure_ascii=False)


def _toml_value(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v, where) for v in value) + "]"
    raise InputError(f"{where}: value {value!r} cannot be written to a scenario file")


def dumps_toml(data: Mapping[str, Any]) -> str:
    """Write a scenario table as TOML: top-level values, tables of values, arrays of tables."""
    lines: list[str] = []
    tables: list[tuple[str, Mapping[str, Any]]] = []
    arrays: list[tuple[str, list[Mapping[str, Any]]]] = []
    for key, value in data.items():
        if isinstance(value, Mapping):
            tables.append((key, value))
        elif isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
            arrays.append((key, value))
        else:
            lines.append(f"{_toml_key(key)} = {_toml_value(value, key)}")
    for key, table in tables:
        lines += ["", f"[{_toml_key(key)}]"]
        lines += [f"{_toml_key(k)} = {_toml_value(v, f'[{key}] {k}')}" for k, v in table.items()]
    for key, rows in arrays:
        for row in rows:
            lines += ["", f"[[{_toml_key(key)}]]"]
            lines += [
                f"{_toml_key(k)} = {_toml_value(v, f'[[{key}]] {k}')}" for k, v in row.items()
            ]
    return "\n".join(lines).lstrip("\n") + "\n"


def _read_toml(path: Path, what: str) -> dict[str, Any]:
    return read_toml(path, f"{what} {path}")


def _absolute(value: Any, base: Path) -> Any:
    if (
        isinstance(value, str)
        and value not in ("", *NETWORK_SOURCES)
        and not Path(value).is_absolute()
    ):
        return str((base / value).resolve())
    return value


def _base_data(sweep_file: Path, base: Any) -> dict[str, Any]:
    """The base scenario as a raw table, with every relative path made absolute."""
    if base is None:
        return {}
    if not isinstance(base, str):
        raise InputError(f"sweep file {sweep_file}: base = {base!r} should be a file path")
    path = (sweep_file.parent / base).resolve()
    data = _read_toml(path, "base scenario file")
    if "region" in data:
        data["region"] = _absolute(data["region"], path.parent)
    plan = dict(data.get("plan", {}))
    for key in PATH_KEYS:
        if key in plan:
            plan[key] = _absolute(plan[key], path.parent)
    if plan:
        data["plan"] = plan
    return data


def _apply(data: dict[str, Any], key: str, value: Any, base_dir: Path) -> None:
    """Set one non-multiplier key in a raw scenario table (raises InputError on a bad key)."""
    if key == "region":
        data["region"] = _absolute(value, base_dir)
        return
    table, _, name = key.partition(".")
    if not name:
        table, name = "plan", key
    if table == "plan":
        if name not in _PLAN_KEYS:
            raise InputError(f"unknown key {key!r}", f"[plan] keys: {sorted(_PLAN_KEYS)}")
        data.setdefault("plan", {})[name] = (
            _absolute(value, base_dir) if name in PATH_KEYS else value
        )
        return
    if table not in _TABLES:
        raise InputError(
            f"unknown key {key!r}",
            f"use a [plan] key, TABLE.KEY with TABLE in {_TABLES}, region, or {MULTIPLIERS}",
        )
    data[table] = {**data.get(table, {}), name: value}


def _region_raw(data: Mapping[str, Any]) -> dict[str, Any]:
    ref = data.get("region")
    if ref is None:
        text = resources.files("lastmile").joinpath("regions/suichang.toml").read_text("utf-8")
        return tomllib.loads(text)
    return _read_toml(Path(str(ref)), "region file")


def _load_text(text: str, what: str = "sweep scenario") -> Any:
    """Parse a scenario TOML text with :func:`lastmile.scenario.load_scenario`; an error names
    ``what`` (the scenario), not the temporary file the text was parsed from."""
    from lastmile.scenario import load_scenario

    with tempfile.TemporaryDirectory(prefix="lastmile-sweep-") as tmp:
        path = Path(tmp) / "scenario.toml"
        path.write_text(text, encoding="utf-8")
        try:
            return load_scenario(path)
        except LastmileError as exc:
            # load_scenario names "scenario file <path>": the temporary file means nothing here
            message = exc.message.replace(f"scenario file {path}", what)
            raise type(exc)(message.replace(str(path), what), exc.hint) from None


def _multiply(
    data: dict[str, Any], mults: Mapping[str, float], what: str = "sweep scenario"
) -> None:
    """Apply demand / speed / fleet multipliers on the effective values of ``data``.

    Multipliers of one kind compose: ``speed_multiplier = 0.8`` with ``speed_multiplier.track
    = 0.5`` drives tracks at 0.4 and every other class at 0.8 of its speed, as
    ``fleet_multiplier`` and ``fleet_multiplier.TYPE`` multiply the counts (each rounded). A
    multiplier that leaves no vehicle of any type raises here, when the sweep file is read.
    """
    if not mults:
        return
    region = _load_text(dumps_toml(data), what).region
    # the speeds the multipliers so far left: each speed multiplier multiplies these, so that
    # speed_multiplier and speed_multiplier.CLASS compose (class speed x all-class x class
    # multiplier) as the fleet multipliers compose on the counts in data["fleet"] (bb25 D12)
    speeds = dict(region.speeds_kmh)
    for key, m in mults.items():
        if isinstance(m, bool) or not isinstance(m, int | float) or not m >= 0:
            raise InputError(f"{key} = {m!r} must be a number >= 0")
        kind, _, which = key.partition(".")
        if kind == "demand_multiplier":
            if which:
                raise InputError(f"unknown key {key!r}", "use demand_multiplier")
            if m == 0:  # (a scenario that would fail when it runs: "no order to route")
                raise InputError(
                    "demand_multiplier = 0 leaves a day without orders", "give a multiplier above 0"
                )
            d = region.demand
            data["demand"] = {
                **data.get("demand", {}),
                "parcels_per_resident_per_day": round(d.parcels_per_resident_per_day * m, 9),
                "produce_kg_per_resident": round(d.produce_kg_per_resident * m, 9),
            }
        elif kind == "speed_multiplier":
            if which and which not in speeds:
                raise InputError(f"unknown road class in {key!r}", f"classes: {sorted(speeds)}")
            speeds = {
                k: round(v * m, 6) if not which or k == which else v for k, v in speeds.items()
            }
            data["speeds_kmh"] = speeds
        else:
            fleet = [dict(f) for f in (data.get("fleet") or _region_raw(data).get("fleet", []))]
            ids = [str(f.get("id")) for f in fleet]
            if which and which not in ids:
                raise InputError(f"unknown vehicle type in {key!r}", f"types: {ids}")
            before = [int(f.get("count_per_depot", 0)) for f in fleet]
            for f in fleet:
                if not which or f.get("id") == which:
                    f["count_per_depot"] = round(int(f.get("count_per_depot", 0)) * m)
            after = [int(f["count_per_depot"]) for f in fleet]
            if any(before) and not any(after):
                change = ", ".join(
                    f"{i} {b} -> {a}" for i, b, a in zip(ids, before, after, strict=True)
                )
                raise InputError(
                    f"{key} = {m!r} leaves no vehicle: every vehicle type's count_per_depot "
                    f"rounds to 0 ({change})",
                    "use a larger multiplier, or fleet_multiplier.TYPE for one type",
                )
            data["fleet"] = fleet


def _refuse_a_day_without_demand(scenario: Any, what: str) -> None:
    """InputError for a scenario whose ``[demand]`` rates give a generated day no order: it
    would fail when it ran ("no order to route", :func:`lastmile.plan.check_day_has_orders`),
    so the sweep file is refused when it is read, as for ``demand_multiplier = 0`` (bb26 D6).
    An orders file brings its own orders, whatever the rates say."""
    demand = scenario.region.demand
    if demand.draws_no_order and not scenario.plan.orders:
        pickups = [
            f"{key} = {getattr(demand, key):g}"
            for key in ("produce_kg_per_resident", "produce_pickup_share")
            if getattr(demand, key) <= 0
        ]
        settings = [f"parcels_per_resident_per_day = {demand.parcels_per_resident_per_day:g}"]
        raise InputError(
            f"{what}: [demand] {' and '.join(settings + pickups)} leave a day without orders",
            "give parcels or produce pickups a rate above 0, or the day's orders with "
            "orders = FILE",
        )


def _label(values: Mapping[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in values.items()) or "base"


def build_scenario(
    base: Mapping[str, Any], values: Mapping[str, Any], base_dir: Path, name: str | None = None
) -> ScenarioSpec:
    """The scenario TOML for ``values`` on top of ``base``; a bad key gives a failed spec."""
    data = copy.deepcopy(dict(base))
    varied = dict(values)
    label = name or _label(varied)
    what = f"sweep scenario {label!r}"
    try:
        mults = {k: v for k, v in varied.items() if k.partition(".")[0] in MULTIPLIERS}
        for key, value in varied.items():
            if key not in mults:
                _apply(data, key, value, base_dir)
        _multiply(data, mults, what)
        text = dumps_toml(data)
        # every value checked now, as a scenario file's are: a bad one fails this scenario
        # before any task runs, naming it (not a worker's temporary file)
        _refuse_a_day_without_demand(_load_text(text, what), what)
    except LastmileError as exc:
        sid = hashlib.sha256(json.dumps([label, varied], default=str).encode()).hexdigest()
        error = _one_line(exc)
        error = error if error.startswith(what) else f"{what}: {error}"
        bad_input = not isinstance(exc, InfeasibleError)
        return ScenarioSpec("x" + sid[:11], label, varied, "", error, bad_input=bad_input)
    sid = hashlib.sha256(text.encode()).hexdigest()[:12]
    header = f"# lastmile sweep scenario {sid}: {label}\n"
    return ScenarioSpec(sid, label, varied, header + text)


def _norm_key(key: str) -> str:
    return key[len("plan.") :] if key.startswith("plan.") else key


def load_sweep(path: str | Path) -> Sweep:
    """Read and expand a sweep file.

    Raises
    ------
    InputError
        For a missing/invalid file, an unknown table, a grid entry that is not a list, no
        scenario at all, or a bad key or value in ``[set]``, ``[grid]`` or a ``[[scenarios]]``
        entry (an unknown key, ``p = 0``, a speed multiplier of 0 ...): every scenario is checked
        here, as a scenario file is, so nothing runs and no output folder is made. A request
        that is valid input but cannot be met (an
        :class:`~lastmile.errors.InfeasibleError`, e.g. more hubs than townships) does not
        raise: that scenario is recorded as failed with its one-line error and the others run.
    """
    if not isinstance(path, str | os.PathLike):
        raise InputError(
            f"load_sweep: path = {path!r} is not a file path", "give the sweep file's path"
        )
    sweep_file = Path(path)
    where = f"sweep file {sweep_file}"
    data = _read_toml(sweep_file, "sweep file")
    unknown = sorted(set(data) - {"base", "set", "grid", "scenarios"})
    if unknown:
        raise InputError(
            f"{where}: unknown key(s) or table(s) {unknown}",
            "use base = FILE, [set], [grid] and [[scenarios]]",
        )
    base = _base_data(sweep_file, data.get("base"))
    fixed = data.get("set", {})
    grid = data.get("grid", {})
    listed = data.get("scenarios", [])
    if not isinstance(fixed, dict) or not isinstance(grid, dict):
        raise InputError(f"{where}: [set] and [grid] must be tables")
    if not isinstance(listed, list) or not all(isinstance(s, dict) for s in listed):
        raise InputError(f"{where}: scenarios must be written as [[scenarios]] tables")
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise InputError(
                f"{where} [grid]: {key} = {values!r} is not a non-empty list",
                f"write {key} = [value, value, ...]",
            )
    if not grid and not listed:
        raise InputError(f"{where}: nothing to run", "add a [grid] table or [[scenarios]]")
    fixed = {_norm_key(k): v for k, v in fixed.items()}
    grid = {_norm_key(k): v for k, v in grid.items()}
    # a key in both tables: the grid would win silently and [set] would read as fixed (bb25 D17)
    for key in (k for k in grid if k in fixed):
        raise InputError(
            f"{where}: {key} is both in [set] ({_toml_value(fixed[key], key)}) and [grid] "
            f"({_toml_value(grid[key], key)})",
            "keep it in one table",
        )
    _check_names(where, listed)
    combos: list[tuple[dict[str, Any], str | None, bool]] = []
    if grid:
        for values in itertools.product(*grid.values()):
            combos.append((dict(zip(grid, values, strict=True)), None, True))
    for s in listed:
        own = {_norm_key(k): v for k, v in s.items() if k != "name"}
        combos.append((own, s.get("name"), False))
    keys: list[str] = list(grid)
    for own, _, _ in combos:
        keys += [k for k in own if k not in keys]
    specs: list[ScenarioSpec] = []
    seen: dict[str, ScenarioSpec] = {}
    merged: list[tuple[str, str, str]] = []
    counts = {True: 0, False: 0}
    #: (what it is, its generated label, its id, its name) of every grid point / listed entry
    labelled: list[tuple[str, str, str, str | None]] = []
    for own, name, on_grid in combos:
        counts[on_grid] += 1
        spec = build_scenario(base, {**fixed, **own}, sweep_file.parent, name or _label(own))
        spec = dataclasses.replace(spec, varied=own, grid=on_grid)
        which = "grid point" if on_grid else f"[[scenarios]] entry {counts[on_grid]}"
        labelled.append((which, _label(own), spec.id, name))
        if spec.id in seen:
            # the same scenario twice (p = [3, 3], a listed one equal to a grid point): run
            # once, and say so (bb25 D12: a merge must not pass unnoticed)
            which = "grid point" if on_grid else "[[scenarios]] entry"
            merged.append((f"{which} {counts[on_grid]} {spec.label!r}", seen[spec.id].label,
                           spec.id))  # fmt: skip
            continue
        seen[spec.id] = spec
        specs.append(spec)
    _refuse_names_of_other_labels(where, labelled)
    base_file = sweep_file.parent / data["base"] if isinstance(data.get("base"), str) else None
    _refuse_bad_input(where, base, fixed, sweep_file.parent, specs, base_file)
    _refuse_inert_grid_keys(where, grid, specs)
    return Sweep(
        str(sweep_file),
        tuple(specs),
        tuple(keys),
        base=None if base_file is None else str(data["base"]),
        fixed=dict(fixed),
        merged=tuple(merged),
    )


def _check_names(where: str, listed: Sequence[Mapping[str, Any]]) -> None:
    """InputError for a ``[[scenarios]]`` name that is not a string, is empty, has spaces at its
    ends or is used twice: the name is the label every table and figure goes by (bb25 D21)."""
    first: dict[str, int] = {}
    for number, entry in enumerate(listed, 1):
        if "name" not in entry:
            continue
        name = entry["name"]
        if not isinstance(name, str):
            raise InputError(
                f"{where}: [[scenarios]] entry {number}: name = {name!r} is not a string",
                f'write it in quotes: name = "{name}"',
            )
        if not name.strip():  # an empty label was replaced by the generated one (bb26 D8)
            raise InputError(
                f"{where}: [[scenarios]] entry {number}: name = {name!r} is empty",
                "give a name, or leave name out to label the entry by what it sets",
            )
        if name != name.strip():  # "p=4 " read as grid point p=4's label (bb26 D8)
            raise InputError(
                f"{where}: [[scenarios]] entry {number}: name = {name!r} has spaces at its ends",
                "remove them",
            )
        if name in first:
            raise InputError(
                f"{where}: [[scenarios]] entries {first[name]} and {number} are both named "
                f"{name!r}",
                "give each its own name",
            )
        first[name] = number


def _refuse_names_of_other_labels(
    where: str, labelled: Sequence[tuple[str, str, str, str | None]]
) -> None:
    """InputError for a ``[[scenarios]]`` name that is the generated label of another scenario
    (a grid point's "p=3", an unnamed entry's): two rows would read the same (bb26 D8). A named
    entry that is the same scenario as that grid point is merged into it, not refused."""
    for which, _, sid, name in labelled:
        if name is None:
            continue
        for other, label, other_id, other_name in labelled:
            if other_name is None and label == name and other_id != sid:
                of = f"{other} {label}" if other == "grid point" else f"{other} ({label}, unnamed)"
                raise InputError(
                    f"{where}: {which}: name = {name!r} is the label of {of}",
                    "give another name",
                )


#: ``[demand]`` keys that only shape a generated day of orders: an orders file's orders keep
#: their own quantities whatever these say
DEMAND_RATE_KEYS = (
    "parcels_per_resident_per_day",
    "produce_kg_per_resident",
    "produce_pickup_share",
    "tea_share_of_pickups",
)
#: [plan] keys that set the ruin of ``routing_search = "ils"`` (``gls`` has no ruin)
ILS_KEYS = ("routing_ruin_visits", "routing_ruin_max_sequence")


def _refuse_inert_grid_keys(
    where: str, grid: Mapping[str, Any], specs: Sequence[ScenarioSpec]
) -> None:
    """InputError for a ``[grid]`` key that the other settings of every scenario make inert: a
    sensitivity of 0 that measures nothing (bb25 D20). ``demand_multiplier`` and the ``[demand]``
    rates scale a generated day, not an orders file's orders; the ruin keys apply to ``ils``;
    ``routing_processes`` gives the same results at any value (bb26 D14)."""
    if "routing_processes" in grid:
        raise InputError(
            f"{where} [grid]: routing_processes changes how the days are routed, not their results",
            "set it in [set]",
        )
    plans = [plan_values(s) for s in specs if s.toml]
    if not plans:
        return
    demand_keys = {"demand_multiplier", *(f"demand.{r}" for r in DEMAND_RATE_KEYS)}
    for spec in specs:  # a listed scenario that sets a demand key on its own orders file
        sets = [k for k in spec.varied if k in demand_keys]
        if spec.toml and not spec.grid and sets and plan_values(spec).get("orders"):
            raise InputError(
                f"{where} [[scenarios]] {spec.label!r}: {sets[0]} scales the generated day of "
                "orders ([demand] rates); with [plan] orders = FILE it changes nothing",
                "drop it from that scenario, or drop orders to vary a generated day",
            )
    demand = [k for k in grid if k in demand_keys]
    if demand and all(p.get("orders") for p in plans):
        raise InputError(
            f"{where} [grid]: {demand[0]} scales the generated day of orders ([demand] rates); "
            "with [plan] orders = FILE in every scenario it changes nothing",
            "vary the orders file instead (a [[scenarios]] entry per orders file), or drop "
            "orders to vary a generated day",
        )
    ruin = [k for k in grid if k in ILS_KEYS]
    if ruin and all(p.get("routing_search") == "gls" for p in plans):
        raise InputError(
            f'{where} [grid]: {ruin[0]} sets the ruin of routing_search = "ils"; with '
            'routing_search = "gls" in every scenario it changes nothing',
            'vary routing_solution_limit instead, or set routing_search = "ils"',
        )


def merged_text(sweep: Sweep) -> str | None:
    """One line naming the grid points / listed scenarios that were the same scenario as an
    earlier one and run once (``None``: no merge)."""
    if not sweep.merged:
        return None
    each = "; ".join(f"{which} merged into {kept!r} ({sid})" for which, kept, sid in sweep.merged)
    return (
        f"{len(sweep.merged)} grid point(s) or listed scenario(s) are the same scenario as an "
        f"earlier one and run once: {each}"
    )


def _refuse_bad_input(
    where: str,
    base: Mapping[str, Any],
    fixed: Mapping[str, Any],
    base_dir: Path,
    specs: Sequence[ScenarioSpec],
    base_file: Path | None = None,
) -> None:
    """One InputError for the scenarios whose values are bad input, naming the table they come
    from, the first one's label and its key/value (the error of :func:`build_scenario`).

    When every scenario is bad and the base scenario file alone is refused, the error is the
    base file's, naming it (bb25 D4: a bad key there was blamed on ``[grid]``)."""
    bad = [s for s in specs if s.error is not None and s.bad_input]
    if not bad:
        return
    if base_file is not None and len(bad) == len(specs):
        from lastmile.scenario import load_scenario

        try:
            load_scenario(base_file)
        except InfeasibleError:
            pass
        except LastmileError as exc:
            message = exc.message.replace(
                f"scenario file {base_file}", f"base scenario file {base_file}", 1
            )
            raise InputError(f"{where}: {message}", exc.hint) from None
    first = bad[0]
    table = "[grid]" if first.grid else "[[scenarios]]"
    if fixed and len(bad) == len(specs):
        # every scenario is bad: blame [set] when base + [set] alone is already refused
        alone = build_scenario(base, fixed, base_dir, "set")
        if alone.error is not None and alone.bad_input:
            table = "[set]"
    count = f" ({len(bad)} of {len(specs)} scenarios)" if len(bad) > 1 else ""
    # the scenario's error already says what to do: nothing is added after it
    raise InputError(f"{where} {table}{count}: {first.error}")


# --------------------------------------------------------------------------- tasks


@dataclass(frozen=True)
class Task:
    """What a worker needs for one scenario (small and picklable; no models, no graphs)."""

    id: str
    label: str
    toml: str
    reference_dir: str | None = None
    cache: str | None = None
    plan_dir: str | None = None


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, LastmileError):
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def code_version() -> dict[str, str | None]:
    """The lastmile version and git commit of the code in this process, as a plan's
    ``manifest.json`` records them (``lastmile_commit`` is ``None`` for an installed copy)."""
    from lastmile import __version__
    from lastmile.io import source_commit

    return {"lastmile": __version__, "lastmile_commit": source_commit()}


def made_by(version: Any, commit: Any) -> str:
    """The code a result was made by, in words: ``lastmile 0.1.0 commit 71182a6b2c``."""
    if not isinstance(version, str) or not version:
        return "an unrecorded lastmile version"
    if not isinstance(commit, str) or not commit:
        return f"lastmile {version} (no git commit: an installed copy)"
    return f"lastmile {version} commit {commit[:10]}"


def kpis_text(kpis: Mapping[str, Any]) -> str:
    """The bytes of ``kpis.json`` exactly as :func:`lastmile.io.write_json` writes them."""
    return json.dumps(kpis, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n"


#: Manifest entries that change between identical runs or name where files are, not what they
#: hold: dropped at any depth before hashing (each input's content hash stays).
_RUN_DEPENDENT = frozenset({"timings_s", "seconds", "platform", "scenario", "map_assets", "path"})


def stable_manifest(man: Mapping[str, Any]) -> dict[str, Any]:
    """A plan manifest without timings and paths: what must agree between two identical runs.

    Dropped: wall-clock seconds (``timings_s``, each solver's ``seconds``), the platform, the
    scenario's source and every file path (``inputs.*.path``, a file outline's ``origin``, the
    region's ``source`` naming the scenario file, ``plan`` keys holding a file, an extract's file
    date in ``data_source``). Kept: results,
    settings, versions and each input file's ``sha256``, so a changed input still shows.
    """

    def strip(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {k: strip(v) for k, v in value.items() if k not in _RUN_DEPENDENT}
        if isinstance(value, list | tuple):
            return [strip(v) for v in value]
        return value

    out: dict[str, Any] = strip(man)
    inputs = out.get("inputs")
    if isinstance(inputs, dict):
        region = inputs.get("region")
        if isinstance(region, dict):
            region.pop("source", None)  # "<region file> + scenario file <path>"
        outline = inputs.get("county_outline")
        if isinstance(outline, dict) and outline.get("source") != "package":
            outline.pop("origin", None)  # the file's path (its sha256 stays)
    source = out.get("data_source")
    if isinstance(source, str):  # an extract's file date: a copy changes it, not the content
        out["data_source"] = re.sub(r", file of \d{4}-\d{2}-\d{2}", "", source)
    plan = out.get("plan")
    if isinstance(plan, dict):
        for key in PATH_KEYS:
            value = plan.get(key)
            if value is not None and value not in NETWORK_SOURCES:
                plan[key] = "file"  # its content hash is under inputs
    return out


def manifest_sha256(man: Mapping[str, Any]) -> str:
    """sha256 of :func:`stable_manifest` (equal for two identical runs; results.csv column)."""
    return hashlib.sha256(kpis_text(stable_manifest(man)).encode()).hexdigest()


def input_files(scenario: Any, toml_text: str, cache: str | None = None) -> dict[str, str]:
    """The files a scenario reads, by what each is ("orders file": path, ...).

    The region file, its outline file, each ``[plan]`` key naming a file (a road-network
    extract, outline, boundaries, villages, orders; ``local_extract`` only for ``network =
    "auto"``, the one source that reads it), and for ``network = "auto"`` without a
    ``local_extract`` the extract imported into ``cache`` with ``lastmile fetch --extract`` (``""``
    when there is none: importing one later counts as a change). The stand-in network is left
    out: it is generated from the settings, which the scenario id already covers.
    """
    from lastmile.config import cache_dir
    from lastmile.network import imported_extract

    files: dict[str, str] = {}
    if scenario.plan.network == "auto" and not scenario.plan.local_extract:
        found = imported_extract(cache_dir(cache), scenario.region)
        files["imported extract"] = str(found) if found is not None else ""
    region_ref = tomllib.loads(toml_text).get("region")
    if isinstance(region_ref, str):
        files["region file"] = region_ref
    if scenario.region.outline_path:
        files["region outline file"] = str(scenario.region.outline_path)
    for key in PATH_KEYS:
        value = getattr(scenario.plan, key, None)
        if key == "local_extract" and scenario.plan.network != "auto":
            continue  # only "auto" reads it: an edit to it changes no result (bb21 D11)
        if value and value not in NETWORK_SOURCES:
            files[f"{key.replace('_', ' ')} file"] = str(value)
    return files


def input_hashes(scenario: Any, toml_text: str, cache: str | None = None) -> dict[str, str]:
    """sha256 of each of :func:`input_files` (``"missing"`` for one that cannot be read)."""
    from lastmile.io import file_sha256

    out: dict[str, str] = {}
    for name, path in input_files(scenario, toml_text, cache).items():
        try:
            out[name] = file_sha256(path) if path else "none"
        except OSError:
            out[name] = "missing"
    return out


def changed_inputs(
    spec: ScenarioSpec, record: Mapping[str, Any], cache: str | None = None
) -> list[str]:
    """What changed in the files a finished scenario read, e.g. ``["orders file changed"]``.

    Compares the hashes recorded when it ran with the files now. A record without hashes (an
    older lastmile) counts as changed when the scenario reads any file: it cannot be checked.
    """
    try:
        now = input_hashes(_load_text(spec.toml), spec.toml, cache)
    except LastmileError as exc:  # e.g. the region file is gone: run it again, it will say
        return [f"scenario no longer loads ({_one_line(exc)})"]
    then = record.get("inputs")
    if not isinstance(then, Mapping):
        return ["input files not recorded by the run that made it"] if now else []
    changes = []
    for name in sorted(set(now) | set(then)):
        if now.get(name) == then.get(name):
            continue
        changes.append(f"{name} missing" if now.get(name) == "missing" else f"{name} changed")
    return changes


def network_key(scenario: Any) -> str:
    """What decides a scenario's road network and facility-village matrix (for sharing)."""
    r, p = scenario.region, scenario.plan
    parts = {
        "region": [
            r.id,
            r.code,
            r.outline_path,
            r.outline_reference_file,
            r.outline_crs,
            r.source_file.split(" + ")[0],
        ],
        "speeds": sorted(r.speeds_kmh.items()),
        "standin": [
            r.standin.seed,
            list(r.standin.villages_per_township),
            r.standin.node_spacing_m,
        ],
        "network": [r.max_snap_m],
        "plan": [
            p.network,
            p.local_extract,
            p.outline,
            p.outline_crs,
            p.standin_scale,
            p.boundaries,
            p.villages,
        ],
        "candidates": [p.candidates_per_township, p.exclude_centre_township],
    }
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:16]


def _scenario_of(task: Task) -> Any:
    """The task's scenario, read by :func:`lastmile.scenario.load_scenario` like a plan's."""
    from lastmile.scenario import load_scenario

    if task.plan_dir:
        path = Path(task.plan_dir).parent / "scenario.toml"
        write_text(path, task.toml)
        return load_scenario(path)
    return _load_text(task.toml)


def warm_network(task: Task) -> dict[str, Any]:
    """Load a scenario's network and build its facility-village matrix into the cache.

    Runs once per distinct network, before the scenarios that share it; they then read both from
    the cache. Errors are returned, not raised: the scenarios report their own.
    """
    from lastmile.plan import prepare

    t0 = time.perf_counter()
    try:
        scenario = _scenario_of(Task(task.id, task.label, task.toml))
        prepare(scenario, reference_dir=task.reference_dir, cache=task.cache)
    except Exception as exc:
        return {"ok": False, "error": _one_line(exc), "seconds": time.perf_counter() - t0}
    return {"ok": True, "error": None, "seconds": time.perf_counter() - t0}


def run_scenario(task: Task) -> dict[str, Any]:
    """Run one whole plan in this process and return its record (never raises on bad input)."""
    from lastmile.plan import run_plan
    from lastmile.report import manifest, write_outputs

    t0 = time.perf_counter()
    record: dict[str, Any] = {
        "id": task.id,
        "label": task.label,
        "worker": f"{socket.gethostname()}:{os.getpid()}",
        # the code this worker runs (what the plan's manifest.json records): a resumed sweep may
        # hold results of several versions, and each row says which
        **code_version(),
    }
    try:
        scenario = _scenario_of(task)
        # hashed before the run (a file edited during it then counts as changed on --resume)
        record["inputs"] = input_hashes(scenario, task.toml, task.cache)
        result = run_plan(
            scenario, reference_dir=task.reference_dir, cache=task.cache, parallel=False
        )
        kpis = kpis_text(result.kpis())
        man = manifest(result)
        if task.plan_dir:
            write_outputs(result, task.plan_dir)
    except Exception as exc:  # recorded with its one-line error; the sweep goes on
        record.update(status="failed", error=_one_line(exc))
        record["seconds"] = {"task": round(time.perf_counter() - t0, 3)}
        return record
    record.update(
        status="ok",
        error=None,
        kpis_json=kpis,
        p=scenario.plan.p,
        seed=scenario.plan.seed,
        solver={
            "location": result.placement.result.status,
            "routing.baseline": result.baseline.solution.status,
            "routing.plan": result.planned.solution.status,
        },
        manifest_sha256=manifest_sha256(man),
        # what this run searched with: a result kept by --resume keeps its own, whatever the
        # defaults of later code (bb25 D19)
        **{key: getattr(scenario.plan, key) for key in ROW_SETTINGS},
        seconds={
            **{k.removesuffix("_s"): round(v, 3) for k, v in result.timings.items()},
            "task": round(time.perf_counter() - t0, 3),
        },
    )
    return record


# --------------------------------------------------------------------------- the table


def flatten(obj: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts to ``a.b.c`` keys; lists become JSON text (hubs, warnings)."""
    out: dict[str, Any] = {}
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{name}."))
        elif isinstance(value, list | tuple):
            out[name] = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
        else:
            out[name] = value
    return out


_PLAN_DEFAULTS = {
    f.name: f.default for f in fields(PlanSettings) if f.default is not dataclasses.MISSING
}


def plan_values(spec: ScenarioSpec) -> dict[str, Any]:
    """The ``[plan]`` values of a scenario's file, defaults where it is silent (empty for a
    scenario that could not be built)."""
    if not spec.toml:
        return {}
    return {**_PLAN_DEFAULTS, **tomllib.loads(spec.toml).get("plan", {})}


def _row(spec: ScenarioSpec, rec: Mapping[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {
        "scenario": spec.id,
        "label": spec.label,
        # which keys this scenario sets on top of base and [set], and whether it is a grid
        # point: the summary's sensitivity means use only scenarios that set grid keys only
        "grid_point": spec.grid,
        "sets": json.dumps(list(spec.varied), ensure_ascii=False),
        "status": rec.get("status"),
        "error": rec.get("error"),
    }
    for key, value in spec.varied.items():
        row[key] = value if not isinstance(value, list) else json.dumps(value)
    for key in ("p", "seed"):
        if rec.get(key) is not None:
            row.setdefault(key, rec[key])
    stated = tomllib.loads(spec.toml).get("plan", {}) if spec.toml else {}
    for key in ROW_SETTINGS:  # a figure taken from the table can be quoted with its depth
        if key in rec:  # what the run recorded
            row.setdefault(key, rec[key])
        elif key in stated:  # the scenario's file states it: that is what ran, whatever code
            row.setdefault(key, stated[key])
        elif rec.get("status") == "ok":
            # kept from code that did not record it: today's default need not be what ran
            row.setdefault(key, NOT_RECORDED)
        elif spec.toml:  # not run: what it would run with
            row.setdefault(key, _PLAN_DEFAULTS[key])
    kpis = json.loads(rec["kpis_json"]) if rec.get("kpis_json") else {}
    for key, value in flatten(kpis).items():
        row[key if key not in row else f"kpi.{key}"] = value
    for key, value in (rec.get("solver") or {}).items():
        row[f"solver.{key}"] = value
    for key, value in (rec.get("seconds") or {}).items():
        row[f"seconds.{key}"] = value
    row["manifest_sha256"] = rec.get("manifest_sha256")
    row["lastmile_version"] = rec.get("lastmile")
    row["lastmile_commit"] = rec.get("lastmile_commit")
    row["worker"] = rec.get("worker")
    return row


def results_table(sweep: Sweep, out: str | Path) -> pd.DataFrame:
    """One row per scenario with a recorded result, in sweep order (not completion order)."""
    out = Path(out)
    rows = []
    for spec in sweep.scenarios:
        path = out / "scenarios" / spec.id / "result.json"
        if path.is_file():
            rows.append(_row(spec, json.loads(path.read_text(encoding="utf-8"))))
    return pd.DataFrame(rows)


def _for_parquet(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object:
            kinds = {type(v) for v in out[col] if v is not None and not _isnan(v)}
            if len(kinds) > 1 and not kinds <= {int, float}:
                out[col] = [None if v is None or _isnan(v) else str(v) for v in out[col]]
            else:
                out[col] = [None if _isnan(v) else v for v in out[col]]
    return out


def _isnan(v: Any) -> bool:
    return isinstance(v, float) and math.isnan(v)


def write_table(df: pd.DataFrame, out: str | Path) -> dict[str, Path]:
    """``results.parquet`` and ``results.csv``, atomically."""
    out = Path(out)
    with atomic_path(out / "results.parquet") as tmp:
        _for_parquet(df).to_parquet(tmp, index=False)
    return {"parquet": out / "results.parquet", "csv": write_csv(out / "results.csv", df)}


# --------------------------------------------------------------------------- summary and plots


def _ok(df: pd.DataFrame) -> pd.DataFrame:
    if df.empty or "status" not in df or HEADLINE not in df:
        return pd.DataFrame()
    ok = df[df["status"] == "ok"].copy()
    ok[HEADLINE] = pd.to_numeric(ok[HEADLINE], errors="coerce")
    return ok


def losing_scenarios(df: pd.DataFrame) -> pd.DataFrame:
    """Finished scenarios where the plan loses against the county centre alone, and why.

    A scenario is listed when any of these holds (each test only when the table has its
    columns):

    - the hubs do not reduce the mean access time (:data:`HEADLINE` ``<= 0``);
    - the routed parcel lead time got longer: :data:`LEAD_TIME` plan above baseline (the mean
      over the orders served in both routed days, so like for like);
    - the plan serves fewer orders than the baseline (:data:`ORDERS_SERVED`).

    Parameters
    ----------
    df
        A sweep's results table (:func:`results_table`); failed scenarios are left out.

    Returns
    -------
    pandas.DataFrame
        The listed rows, with a column ``why`` naming each test the scenario fails, with its
        figures (e.g. ``"parcel lead time 161.4 → 249.6 min"``); empty when the plan loses
        nowhere.
    """
    ok = _ok(df)
    if ok.empty:
        return ok
    reasons = pd.DataFrame(index=ok.index)
    reasons["access"] = [
        f"access time not reduced ({h:.1%})" if h <= 0 else "" for h in ok[HEADLINE]
    ]
    if all(c in ok for c in LEAD_TIME):
        before, after = (pd.to_numeric(ok[c], errors="coerce") for c in LEAD_TIME)
        reasons["lead_time"] = [
            f"parcel lead time {b:.1f} → {a:.1f} min" if a > b else ""
            for b, a in zip(before, after, strict=True)
        ]
    if all(c in ok for c in ORDERS_SERVED):
        before, after = (pd.to_numeric(ok[c], errors="coerce") for c in ORDERS_SERVED)
        reasons["served"] = [
            f"orders served {a:.0f} < {b:.0f} of the baseline" if a < b else ""
            for b, a in zip(before, after, strict=True)
        ]
    why = reasons.apply(lambda row: "; ".join(r for r in row if r), axis=1)
    return ok[why != ""].assign(why=why[why != ""])


def _sets(df: pd.DataFrame) -> list[frozenset[str]]:
    """Per row, the keys the scenario sets on top of base and [set] (column ``sets``)."""
    if "sets" not in df:
        return [frozenset()] * len(df)
    return [frozenset(json.loads(v)) if isinstance(v, str) else frozenset() for v in df["sets"]]


def grid_keys(df: pd.DataFrame) -> frozenset[str]:
    """The keys of the ``[grid]``: those the grid points of a results table set."""
    if "grid_point" not in df:
        return frozenset()
    points = df["grid_point"].astype(bool).to_numpy()
    return frozenset().union(*(s for s, g in zip(_sets(df), points, strict=True) if g))


def comparable(df: pd.DataFrame, key: str | None = None) -> pd.Series:
    """Rows that may enter a grid effect of ``key``: those setting no key outside the grid.

    A ``[[scenarios]]`` entry that also sets another key (a tighter cold chain at p = 4) would
    otherwise show up as an effect of p. Grid points always qualify; a listed scenario qualifies
    when every key it sets is a grid key (or ``key`` itself). A table without the ``sets`` and
    ``grid_point`` columns (an older sweep) keeps every row.
    """
    if "sets" not in df or "grid_point" not in df:
        return pd.Series(True, index=df.index)
    allowed = grid_keys(df) | ({key} if key else set())
    points = df["grid_point"].astype(bool).to_numpy()
    keep = [bool(g) or s <= allowed for s, g in zip(_sets(df), points, strict=True)]
    return pd.Series(keep, index=df.index)


def _averages(rows: pd.DataFrame) -> str:
    """Which scenarios a sensitivity row averages, e.g. "grid scenarios only (4)"."""
    on_grid = int(rows["grid_point"].astype(bool).sum()) if "grid_point" in rows else len(rows)
    listed = len(rows) - on_grid
    if not listed:
        return f"grid scenarios only ({on_grid})"
    if not on_grid:
        return f"listed scenarios setting only this key or grid keys ({listed})"
    return f"{on_grid} grid + {listed} listed setting only grid keys"


def sensitivity(
    df: pd.DataFrame, keys: Sequence[str], kpi: str = HEADLINE, orders: str | None = None
) -> pd.DataFrame:
    """Per varied key: ``kpi``'s mean over the other keys at each value; low/high/range.

    Each key's means use only the scenarios that differ from the base in grid keys (and that
    key): see :func:`comparable`. ``n_low`` / ``n_high`` count the scenarios averaged at the
    lowest / highest value and ``averages`` says which they are. ``seed`` is left out (it is
    noise: shown as the spread instead). Sorted by range.

    ``orders``: a column counting the orders ``kpi`` covers (e.g. ``routed_compared.plan.orders``,
    :data:`ROUTED_ORDERS`); its mean over the same scenarios is then given at the lowest and
    highest value (``orders_at_low`` / ``orders_at_high``): a sum such as km over 43 orders
    against one over 50 is mostly the 7 orders, not the key's effect.
    """
    ok = _ok(df)
    rows = []
    if kpi not in ok:
        return pd.DataFrame()
    ok[kpi] = pd.to_numeric(ok[kpi], errors="coerce")
    for key in keys:
        if key == "seed" or key not in ok:
            continue
        part = ok[comparable(ok, key) & ok[key].notna() & ok[kpi].notna()]
        if part[key].nunique() < 2:
            continue
        values = part[key].astype(str)
        means = part.groupby(values, sort=False)[kpi].mean()
        counts = part.groupby(values, sort=False)[kpi].count()
        try:
            order = sorted(means.index, key=float)
            numeric = True
        except ValueError:
            # a category (objective) has no low or high value: its values in the order of
            # ``kpi``'s mean, low and high being the values at the lowest and highest mean
            order = sorted(means.index, key=lambda v: float(means[v]))
            numeric = False
        lo, hi = order[0], order[-1]
        row = {
            "key": key,
            "low_value": lo,
            "high_value": hi,
            "numeric": numeric,
            # every value's mean (a category's third value is in neither low nor high)
            "means": {value: float(means[value]) for value in order},
            "n_low": int(counts[lo]),
            "n_high": int(counts[hi]),
            "headline_at_low": float(means[lo]),
            "headline_at_high": float(means[hi]),
            "min": float(means.min()),
            "max": float(means.max()),
            "range": float(means.max() - means.min()),
            "averages": _averages(part),
        }
        if orders is not None and orders in part:
            covered = pd.to_numeric(part[orders], errors="coerce").groupby(values, sort=False)
            row["orders_at_low"] = float(covered.mean()[lo])
            row["orders_at_high"] = float(covered.mean()[hi])
        rows.append(row)
    return pd.DataFrame(rows).sort_values("range", ascending=False) if rows else pd.DataFrame()


def _fig(size: tuple[float, float]) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save_png(fig: Any, path: Path) -> Path:
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return write_bytes(path, buf.getvalue())


def seed_changes_headline(df: pd.DataFrame, keys: Sequence[str]) -> bool | None:
    """Whether the headline differs between seeds with every other varied key the same.

    ``None`` when no two finished scenarios differ in ``seed`` alone. The headline is the access
    time over all settlements, no orders routed, and ``seed`` draws only the order day: it is
    expected not to change (``False``), and a spread "over seeds" is then no robustness.
    """
    ok = _ok(df)
    if ok.empty or "seed" not in ok:
        return None
    ok = ok[comparable(ok) & ok["seed"].notna()]
    others = [k for k in keys if k != "seed" and k in ok]
    # map(str), not astype(str): a key a scenario leaves unset (NaN) must be a group too
    by = [ok[k].map(str) for k in others] or [pd.Series("", index=ok.index)]
    groups = ok.groupby(by, sort=False)
    if not (groups["seed"].nunique() > 1).any():
        return None
    spread = groups[HEADLINE].agg(lambda h: float(h.max() - h.min()))
    return bool((spread > 1e-12).any())


def plot_reduction_vs_p(
    df: pd.DataFrame, path: str | Path, note: str = "", seed_flat: bool = False
) -> Path | None:
    """The headline (share of mean access time saved) against p: mean, and min-max over the rest
    (over the other keys only when ``seed_flat``: the headline does not change with the seed)."""
    ok = _ok(df)
    if ok.empty or "p" not in ok:
        return None
    ok = ok[comparable(ok, "p")]  # no scenario that also sets a key outside the grid
    if ok.empty:
        return None
    g = ok.groupby("p")[HEADLINE].agg(["mean", "min", "max", "count"]).sort_index()
    fig = _fig((7.5, 4.2))
    ax = fig.add_subplot()
    x = g.index.to_numpy(float)
    band = (
        "min-max over the other keys (same at every seed)"
        if seed_flat
        else "min-max over seeds/keys"
    )
    ax.fill_between(x, g["min"] * 100, g["max"] * 100, alpha=0.25, label=band)
    ax.plot(x, g["mean"] * 100, marker="o", label="mean")
    if "seed" in ok:
        ax.scatter(ok["p"], ok[HEADLINE] * 100, s=10, color="black", alpha=0.5, label="scenarios")
    ax.set_xlabel("new hubs p")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # p is a whole number
    ax.set_ylabel("mean access time saved, %")
    ax.set_title(f"Reduction against p ({len(ok)} scenarios){note}", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save_png(fig, Path(path))


#: the stand-in's scale in a ``data_source`` ("synthetic stand-in (...), seed 331123, scale 0.1")
_SCALE = re.compile(r"\bscale (\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)")


def standin_note(ok: pd.DataFrame) -> str:
    """ "synthetic stand-in, scale 0.1" for plot titles: the stand-in's scale(s), read from each
    finished scenario's ``data_source`` (as summary.md gives it)."""
    sources = ok["data_source"] if "data_source" in ok else pd.Series(dtype=object)
    scales = sorted(
        {m.group(1) for v in sources if isinstance(v, str) for m in [_SCALE.search(v)] if m},
        key=float,
    )
    if not scales:
        return "synthetic stand-in"
    return f"synthetic stand-in, scale{'s' if len(scales) > 1 else ''} {', '.join(scales)}"


def plot_tornado(
    sens: pd.DataFrame, overall: float, path: str | Path, note: str = ""
) -> Path | None:
    """Tornado chart: for each varied key, the headline at its lowest and highest value."""
    if sens.empty:
        return None
    s = sens.iloc[::-1]
    fig = _fig((7.5, 0.6 * len(s) + 1.6))
    ax = fig.add_subplot()
    y = np.arange(len(s))
    lo = s["headline_at_low"].to_numpy(float) * 100
    hi = s["headline_at_high"].to_numpy(float) * 100
    base = overall * 100
    # a key whose values are not numbers has no lowest value: its bars are at the values of the
    # lowest and highest mean (bb25 D24, the tables' convention)
    named = " (a key of names: at its value of lowest / highest mean)"
    categories = "numeric" in s and not s["numeric"].astype(bool).all()
    low = "at lowest value" + (named.replace(" / highest", "") if categories else "")
    high = "at highest value" + (named.replace("lowest / ", "") if categories else "")
    ax.barh(y, lo - base, left=base, color="#d62728", alpha=0.7, label=low)
    ax.barh(y, hi - base, left=base, color="#1f77b4", alpha=0.7, label=high)
    ax.axvline(base, color="black", lw=0.8)
    # a key that does not move the headline draws no bar: say so rather than leave a blank row
    for row, (a, b) in enumerate(zip(lo, hi, strict=True)):
        if abs(a - base) < 0.005 and abs(b - base) < 0.005:
            ax.annotate("no effect", (base, row), xytext=(6, 0), textcoords="offset points",
                        va="center", fontsize=8, color="#555555")  # fmt: skip
    ax.set_yticks(
        y,
        [
            f"{k}\n{a} → {b}"
            for k, a, b in zip(s["key"], s["low_value"], s["high_value"], strict=True)
        ],
        fontsize=8,
    )
    ax.set_xlabel("mean access time saved, % (mean over the other keys)")
    ax.set_title(f"Sensitivity of the reduction{note}", fontsize=10)
    ax.legend(fontsize=8)
    return _save_png(fig, Path(path))


#: what the tables say of a non-numeric key's low and high value
CATEGORY_NOTE = (
    "For a key whose values are not numbers ({keys}), `low_value` / `high_value` are the values "
    "at the lowest and highest mean of that row's figure (marked min / max, so rows of "
    'different figures may name different values; "(every value)" where all give the same '
    "mean), and `every_value` gives the mean at each of its values."
)


def _category_display(sens: pd.DataFrame, scale: float = 1.0) -> tuple[pd.DataFrame, str]:
    """``sens`` with each non-numeric key's low / high value marked "(min)" / "(max)" and an
    ``every_value`` column (each value's mean x ``scale``, 2 decimals), and the note saying so;
    unchanged, with no note, when every key is numeric (bb25 D24)."""
    if sens.empty or "numeric" not in sens or sens["numeric"].astype(bool).all():
        return sens.drop(columns=["numeric", "means"], errors="ignore"), ""
    out = sens.copy()
    category = ~out["numeric"].astype(bool)
    # every value at the same mean has no min or max value to name
    same = [max(m.values()) - min(m.values()) <= 1e-12 for m in out["means"]]
    out["low_value"] = [
        ("(every value)" if eq else f"{v} (min)") if c else v
        for v, c, eq in zip(out["low_value"], category, same, strict=True)
    ]
    out["high_value"] = [
        ("(every value)" if eq else f"{v} (max)") if c else v
        for v, c, eq in zip(out["high_value"], category, same, strict=True)
    ]
    out["every_value"] = [
        "; ".join(f"{v} {m * scale:.2f}" for v, m in means.items()) if c else ""
        for means, c in zip(out["means"], category, strict=True)
    ]
    keys = ", ".join(dict.fromkeys(out.loc[category, "key"]))
    return out.drop(columns=["numeric", "means"]), CATEGORY_NOTE.format(keys=keys)


def _md(df: pd.DataFrame) -> str:
    from lastmile.study import markdown_table

    return markdown_table(df) if not df.empty else "(none)\n"


#: the columns saying what ended each routed day's search (:mod:`lastmile.routing` ENDED_*)
SEARCH_ENDED_BY = ("routing.baseline.search_ended_by", "routing.plan.search_ended_by")


def time_capped(kpis: Mapping[str, Any]) -> list[str]:
    """The routed days (``baseline``, ``plan``) of a ``kpis.json`` whose search the wall-clock
    time cap ended: their routes may differ run to run."""
    from lastmile.routing import ENDED_TIME_CAP

    routing = kpis.get("routing", {})
    return [
        day
        for day in ("baseline", "plan")
        if isinstance(routing.get(day), Mapping)
        and routing[day].get("search_ended_by") == ENDED_TIME_CAP
    ]


def _time_cap_lines(ok: pd.DataFrame) -> list[str]:
    """A warning naming the finished scenarios whose routing search the time cap ended."""
    from lastmile.routing import ENDED_TIME_CAP

    cols = [c for c in SEARCH_ENDED_BY if c in ok]
    if ok.empty or not cols:
        return []
    capped = ok[(ok[cols] == ENDED_TIME_CAP).any(axis=1)]
    if capped.empty:
        return []
    return [
        f"**WARNING: the time cap (`routing_time_limit_s`) ended the routing search of "
        f"{len(capped)} of {len(ok)} finished scenarios**, so their routed figures (km, hours, "
        "costs, lead times, unserved orders) are not reproducible and may differ run to run; "
        "the tables below include them: "
        + "; ".join(
            f"{label} ({', '.join(c.split('.')[1] for c in cols if row[c] == ENDED_TIME_CAP)})"
            for label, (_, row) in zip(capped["label"], capped.iterrows(), strict=True)
        )
        + ". Raise `routing_time_limit_s` or lower `routing_solution_limit` so that the "
        "solution limit ends each search.",
        "",
    ]


def _code_lines(df: pd.DataFrame) -> list[str]:
    """Which lastmile made the results (version and commit), and a warning when several did."""
    if df.empty or "lastmile_version" not in df:
        return []
    commits = df["lastmile_commit"] if "lastmile_commit" in df else pd.Series(None, index=df.index)
    counts = pd.Series(
        [made_by(v, c) for v, c in zip(df["lastmile_version"], commits, strict=True)]
    ).value_counts(sort=False)
    if len(counts) == 1:
        return [f"Made by {counts.index[0]} (every result).", ""]
    each = "; ".join(f"{n} by {who}" for who, n in counts.items())
    return [
        f"**Results of {len(counts)} different lastmile versions or commits** ({each}): "
        "`--resume` kept results made by other code. Their figures may differ from what one "
        "version gives; run the sweep into a new `--out` for results of one version.",
        "",
    ]


def _in_every(values: Sequence[Any], unit: str = "") -> str:
    """``"30 solutions in every scenario"``, or ``"30 solutions in 2 scenarios, 300 solutions
    in 2"`` (``unit`` = ``" solutions"``)."""

    def text(value: Any) -> str:
        if value == NOT_RECORDED:
            return str(value)
        return (f"{value:g}" if isinstance(value, float) else str(value)) + unit

    counts = pd.Series([text(v) for v in values], dtype=object).value_counts(sort=False)
    if len(counts) == 1:
        return f"{counts.index[0]} in every scenario"
    return ", ".join(f"{v} in {n} scenarios" for v, n in counts.items())


def _order_day_line(plans: Sequence[Mapping[str, Any]]) -> str:
    """Which order day the routed figures cover: an orders file, or a day drawn by the seed."""
    files = [str(p["orders"]) for p in plans if p.get("orders")]
    seeds = [p.get("seed") for p in plans if not p.get("orders")]
    if files and not seeds:
        return (
            f"- Order day: the orders file {_in_every([f'`{f}`' for f in files])}; no day is "
            "generated, so the seed draws nothing."
        )
    line = f"- Order day: generated from the settlements' demand, seed {_in_every(seeds)}"
    if files:
        line += f"; the orders file in {len(files)} scenario(s) ({_in_every(files)})"
    return line + "."


def _fixed_lines(sweep: Sweep, plans: Sequence[Mapping[str, Any]]) -> list[str]:
    """What every scenario shares: the base scenario file, ``[set]`` and the order day."""
    base = (
        f"- Base scenario file: `{sweep.base}` (from the sweep file's folder); every scenario "
        "starts from its settings."
        if sweep.base
        else "- Base: lastmile's defaults (no `base` scenario file)."
    )
    parts = []
    for key, value in sweep.fixed.items():
        # a [[scenarios]] entry may set a [set] key on top: name it (bb25 D17)
        over = [s.label for s in sweep.scenarios if key in s.varied]
        part = f"`{key} = {_toml_value(value, key)}`"
        parts.append(f"{part} (except where a scenario sets it: {', '.join(over)})"
                     if over else part)  # fmt: skip
    fixed = ", ".join(parts)
    lines = [
        "## Settings fixed for every scenario",
        "",
        base,
        f"- `[set]`: {fixed or 'none'}.",
    ]
    if plans:
        lines.append(_order_day_line(plans))
    return [*lines, ""]


def _search_depth_lines(plans: Sequence[Mapping[str, Any]], ok: pd.DataFrame) -> list[str]:
    """The routing search depth of the scenarios, its time cap and what ended each search."""
    from lastmile.report import DEPTH_REFERENCE

    if not plans:
        return []

    def settings(key: str) -> list[Any]:
        """``key`` as each finished scenario's run recorded it (bb25 D19: not today's default
        for results kept by --resume); the scenarios' files when none finished."""
        if ok.empty:
            return [p[key] for p in plans]
        if key not in ok:
            return [NOT_RECORDED] * len(ok)
        return [NOT_RECORDED if v is None or _isnan(v) else v for v in ok[key]]

    cols = [ok[c] for c in SEARCH_ENDED_BY if c in ok]
    ended = pd.concat(cols, ignore_index=True).dropna() if cols else pd.Series(dtype=object)
    days = (
        "; each routed day's search ended by: "
        + ", ".join(f"{why} in {n} of {len(ended)}" for why, n in ended.value_counts().items())
        + f" (baseline and plan of {len(ok)} finished scenarios)"
        if len(ended)
        else ""
    )
    searched = {key: settings(key) for key in ROW_SETTINGS}

    def of(key: str, words: str, unrecorded: str, unit: str = "") -> str:
        """The values of ``key`` after ``words``, or after ``unrecorded`` where some are not
        recorded ("a time cap: not recorded in every scenario")."""
        values = searched[key]
        return (unrecorded if NOT_RECORDED in values else words) + _in_every(values, unit)

    unknown = (
        f' "{NOT_RECORDED}": results kept by `--resume` from lastmile code that did not record '
        "its search settings, whose defaults may differ from today's."
        if any(NOT_RECORDED in v for v in searched.values())
        else ""
    )
    return [
        "## Search depth",
        "",
        f"Routes from OR-Tools ({of('routing_search', '', 'search ')}): "
        f"{of('routing_solution_limit', '', '', ' solutions per model')} "
        "(`routing_solution_limit`, in each row of results.csv); a time cap"
        f"{of('routing_time_limit_s', ' of ', ': ', ' s per routed day')} "
        f"(`routing_time_limit_s`){days}.{unknown} Routed km, hours, costs, lead times and "
        "unserved orders depend on this depth. " + DEPTH_REFERENCE,
        "",
    ]


#: the columns of the listed scenarios' table: the headline and the routed figures, with the
#: orders each covers
SIDE_BY_SIDE = (
    HEADLINE,
    "orders",
    "orders_compared",
    "routed_compared.baseline.km",
    "routed_compared.plan.km",
    "routed_compared.baseline.cost",
    "routed_compared.plan.cost",
    *LEAD_TIME,
    *ORDERS_SERVED,
)


def _side_by_side_lines(ok: pd.DataFrame) -> list[str]:
    """The finished ``[[scenarios]]`` entries one by one: what each sets, the headline and the
    routed figures with the orders each covers (no means: each row is one scenario)."""
    listed = ok[~ok["grid_point"].astype(bool)] if "grid_point" in ok else ok.iloc[:0]
    if listed.empty:
        return []
    table = pd.DataFrame({"scenario": listed["scenario"], "label": listed["label"]})
    table["sets"] = [
        ", ".join(f"{k}={row[k]}" for k in json.loads(sets) if k in row) or "(nothing)"
        for sets, (_, row) in zip(listed["sets"], listed.iterrows(), strict=True)
    ]
    for col in SIDE_BY_SIDE:
        if col in listed:
            table[col] = listed[col]
    if HEADLINE in table:
        table[HEADLINE] = (pd.to_numeric(table[HEADLINE], errors="coerce") * 100).round(2)
        table = table.rename(columns={HEADLINE: f"{HEADLINE} %"})
    return [
        "## Listed scenarios side by side",
        "",
        "Each `[[scenarios]]` entry's own figures (no means). `orders`: the day's orders; "
        "`orders_compared`: the orders both routed days served, which `routed_compared.*` "
        "(trunk runs and hub cost included) and the parcel lead times cover — like for like "
        "within a row, and across rows only where `orders_compared` is the same; "
        "`routing.*.orders_served`: each day's own served orders.",
        "",
        _md(table),
    ]


def _blank_nan(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with its missing values as empty cells (not "nan")."""
    return table.astype(object).where(table.notna(), "")


def _routed_lines(sweep: Sweep, df: pd.DataFrame) -> list[str]:
    """The sensitivity of the routed figures, with the orders each low / high mean covers."""
    routed = []
    for kpi in ROUTED:
        part = sensitivity(df, sweep.keys, kpi, ROUTED_ORDERS.get(kpi))
        if not part.empty:
            cols = ["kpi", "key", "low_value", "high_value", "n_low", "n_high",
                    "headline_at_low", "headline_at_high", "orders_at_low", "orders_at_high",
                    "averages", "numeric", "means"]  # fmt: skip
            routed.append(part.assign(kpi=kpi).reindex(columns=cols))
    if not routed:
        return []
    table, category_note = _category_display(pd.concat(routed, ignore_index=True))
    table = table.rename(
        columns={"headline_at_low": "at_low", "headline_at_high": "at_high",
                 "orders_at_low": "orders_low", "orders_at_high": "orders_high"}
    )  # fmt: skip
    differ = (table["orders_low"] - table["orders_high"]).abs() > 1e-9
    known = table["orders_low"].notna() & table["orders_high"].notna()
    table.insert(
        len(table.columns) - 1,
        "covers",
        [
            ("**different orders**" if d else "same order count") if k else ""
            for d, k in zip(differ, known, strict=True)
        ],
    )
    # the values of a non-numeric key after the low / high means and their orders
    last = ["covers", *(["every_value"] if "every_value" in table else []), "averages"]
    table = table[[c for c in table.columns if c not in last] + last]
    lines = ["## Sensitivity of the routed day", "",
             "Mean over the other keys at each key's lowest and highest value, over "
             "`n_low` / `n_high` scenarios that set grid keys only (see above); `orders_low` / "
             "`orders_high`: the mean number of orders those figures cover "
             "(`routed_compared.plan.orders`, `routing.plan.orders_served`, or the day's "
             "`orders` for unserved counts). "
             "`routed_compared.plan.*`: the plan's day over the orders served in both "
             "days, trunk runs and hub cost included (like for like with the baseline within "
             "each scenario). "
             "`routing.plan.*`: the plan's last-mile vehicles only, trunk runs excluded, "
             "over each scenario's own served orders." + (f" {category_note}"
             if category_note else ""), "",
             _md(_blank_nan(table.round(2)))]  # fmt: skip
    if differ.any():
        lines += [
            f"**{int(differ.sum())} of {len(table)} rows compare different orders** "
            "(`orders_low` ≠ `orders_high`): their low and high means cover different order "
            "sets, so the change is partly orders dropped or added, not the key's effect on the "
            "same orders; the `*_per_order` rows divide by the orders each covers.",
            "",
        ]
    return lines


def write_summary(sweep: Sweep, df: pd.DataFrame, out: str | Path) -> dict[str, Path]:
    """``summary.md`` and ``plots/*.png`` of a sweep table."""
    out = Path(out)
    ok = _ok(df)
    n_failed = int((df["status"] != "ok").sum()) if not df.empty else 0
    sources = sorted(set(ok["data_source"])) if "data_source" in ok else []
    synthetic = bool(ok.get("synthetic_standin", pd.Series(dtype=bool)).astype(bool).any())
    note = f" — {standin_note(ok)}" if synthetic else ""
    plans = [plan_values(s) for s in sweep.scenarios if s.toml]
    paths: dict[str, Path] = {}
    sens = sensitivity(df, sweep.keys)
    # the tornado's centre: the mean over the scenarios its bars average (grid keys only)
    overall = float(ok[comparable(ok)][HEADLINE].mean()) if not ok.empty else float("nan")
    grid = sorted(grid_keys(df))
    apart = ok[~comparable(ok)] if not ok.empty else ok
    by_p = ok[comparable(ok, "p")] if "p" in ok else ok.iloc[:0]
    routed = _routed_lines(sweep, df)
    # no table of means has a row (a sweep of [[scenarios]] that set their own keys): say so
    # rather than print empty tables under headings that promise means (bb25 D14)
    means = not sens.empty or bool(routed) or not by_p.empty
    seeds = ok[comparable(ok)]["seed"].nunique() if "seed" in ok else 0
    scope = (
        "The tables of means below (reduction against p, sensitivity) average only the "
        "scenarios that differ from the base in grid keys "
        f"({', '.join(grid) or 'no [grid]'}): the grid points, and listed scenarios setting only "
        "grid keys."
    )
    if not means and not ok.empty:
        scope = (
            "No means are formed (no reduction against p, no sensitivity): "
            + ("there is no [grid], and every scenario sets a key outside [grid]"
               if not grid else "no finished scenario sets grid keys only")
            + "; compare the scenarios one by one in the table \"Listed scenarios side by "
            "side\" below."
        )  # fmt: skip
    if not apart.empty and means:
        others = [
            f"{label} (sets {', '.join(k for k in json.loads(sets) if k not in grid)})"
            for label, sets in zip(apart["label"], apart["sets"], strict=True)
        ]
        scope += (
            " Left out of them, as they also set a key outside the grid (their results are in "
            f"results.csv): {'; '.join(others)}."
        )
    seed_effect = seed_changes_headline(df, sweep.keys)
    p1 = plot_reduction_vs_p(
        df, out / "plots" / "reduction_vs_p.png", note, seed_flat=seed_effect is False
    )
    n_tornado = len(ok[comparable(ok)]) if not ok.empty else 0
    shown, category_note = _category_display(sens, 100)  # the headline in %, as the table
    p2 = plot_tornado(
        shown, overall, out / "plots" / "tornado.png", f" ({n_tornado} scenarios){note}"
    )
    lines = [
        f"# lastmile sweep: {Path(sweep.source).name}",
        "",
        f"{len(sweep.scenarios)} scenarios; {len(ok)} finished, {n_failed} failed, "
        f"{len(sweep.scenarios) - len(df)} not run.",
        "",
    ]
    merged = merged_text(sweep)
    if merged:
        lines += [f"Merged: {merged}.", ""]
    lines += _code_lines(df)
    lines += _time_cap_lines(ok)
    if sources:
        lines += ["Data source: " + "; ".join(f"**{s}**" for s in sources), ""]
    if synthetic:
        lines += ["*Made from the synthetic stand-in, NOT real OpenStreetMap data.*", ""]
    lines += _fixed_lines(sweep, plans)
    lines += _search_depth_lines(plans, ok)
    lines += [
        f"Headline: `{HEADLINE}`, the share of the demand-weighted mean access time (road travel "
        "time from the serving facility) saved by the hubs against the county centre alone; "
        "every scenario compares the same villages and orders on both sides.",
        "",
        scope,
        "",
    ]
    if not ok.empty:
        h = ok[HEADLINE]
        lines += [
            f"Across finished scenarios: min {h.min():.1%}, median {h.median():.1%}, "
            f"max {h.max():.1%}.",
            "",
        ]
        if not by_p.empty:
            g = by_p.groupby("p")[HEADLINE].agg(["count", "mean", "min", "max"])
            g[["mean", "min", "max"]] = (g[["mean", "min", "max"]] * 100).round(2)
            g = g.rename(columns={c: f"{c} %" for c in ("mean", "min", "max")}).reset_index()
            g["p"] = g["p"].astype(str)
            if seed_effect is False:
                lines += ["## Reduction against p (spread over the other keys)", "",
                          "Scenarios that set grid keys only (see above). The headline is the "
                          "same at every seed (min = max over seeds, other keys equal): `seed` "
                          "draws only the order day, and the access time is the road time from "
                          "the serving facility over all settlements, no orders routed. The "
                          "spread below is therefore no robustness over seeds; what the seed "
                          "changes is in the routed figures (results.csv).", "",
                          _md(g)]  # fmt: skip
            elif seeds < 2:
                lines += ["## Reduction against p (spread over the other keys)", "",
                          "Scenarios that set grid keys only (see above); the seed is not "
                          "varied.", "", _md(g)]  # fmt: skip
            else:
                lines += ["## Reduction against p (spread over the other keys and seeds)", "",
                          "Scenarios that set grid keys only (see above).", "", _md(g)]  # fmt: skip
    if p1 is not None:
        lines += ["![reduction against p](plots/reduction_vs_p.png)", ""]
    if means:
        lines += ["## Sensitivity (tornado)", ""]
        if sens.empty:
            lines += ["(no key other than seed takes two values among the scenarios that set "
                      "grid keys only)\n"]  # fmt: skip
        else:
            pct = shown.copy()
            for col in ("headline_at_low", "headline_at_high", "min", "max", "range"):
                pct[col] = (pct[col] * 100).round(2)
            if "every_value" in pct:  # beside the low / high means
                pct.insert(list(pct.columns).index("min"), "every_value", pct.pop("every_value"))
            if seed_effect is False:
                seed_text = "left out (the headline is the same at every seed)."
            elif seeds < 2:
                seed_text = "not varied."
            else:
                seed_text = "shown as spread, not here."
            lines += ["Headline in % (mean over the other keys) at each key's lowest and "
                      "highest value, over `n_low` / `n_high` scenarios that set grid keys only "
                      f"(see above); seeds are {seed_text}"
                      + (f" {category_note}" if category_note else ""), "", _md(pct)]  # fmt: skip
    if p2 is not None:
        lines += ["![tornado](plots/tornado.png)", ""]
    flat = list(sens.loc[sens["range"] == 0, "key"]) if not sens.empty else []
    if flat:
        lines += [f"The headline does not change with {', '.join(flat)} (it is the road time from "
                  "the serving facility; see the routed figures below).", ""]  # fmt: skip
    lines += routed
    lines += _side_by_side_lines(ok)
    lose = losing_scenarios(df)
    lines += [
        "## Scenarios where the plan loses",
        "",
        "No reduction of the mean access time, a longer mean parcel lead time (routed, over the "
        "orders served in both days) or fewer orders served than the baseline; `why` says which.",
        "",
    ]
    cols = [c for c in ("scenario", "label", "why", HEADLINE, *LEAD_TIME, *ORDERS_SERVED)
            if c in lose]  # fmt: skip
    lines += [_md(lose[cols]) if not lose.empty else "(none)\n"]
    failed = df[df["status"] != "ok"] if not df.empty else df
    lines += ["## Failed scenarios", ""]
    lines += [_md(failed[["scenario", "label", "error"]]) if not failed.empty else "(none)\n"]
    paths["summary"] = write_text(out / "summary.md", "\n".join(lines))
    if p1 is not None:
        paths["plot_p"] = p1
    if p2 is not None:
        paths["plot_tornado"] = p2
    return paths


# --------------------------------------------------------------------------- running


@dataclass(frozen=True)
class SweepOutcome:
    """What a sweep run did: counts, the table, where things are, whether it was interrupted."""

    out: Path
    total: int
    ran: int
    skipped: int
    failed: int
    interrupted: bool
    table: pd.DataFrame
    paths: dict[str, Path] = field(default_factory=dict)
    dashboard: str | None = None
    seconds: float = 0.0
    #: the scheduler's address and the error, when the connection to it was lost mid-sweep
    cluster_lost: str | None = None


def _write_record(out: Path, spec: ScenarioSpec, rec: dict[str, Any]) -> None:
    folder = out / "scenarios" / spec.id
    if rec.get("kpis_json"):
        write_text(folder / "kpis.json", rec["kpis_json"])
    if spec.toml and not (folder / "scenario.toml").is_file():
        write_text(folder / "scenario.toml", spec.toml)
    write_json(folder / "result.json", rec)  # last: its presence means "finished"


def _finished(out: Path, spec: ScenarioSpec) -> dict[str, Any] | None:
    """The record of a scenario that finished successfully in ``out``, else None."""
    path = out / "scenarios" / spec.id / "result.json"
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return record if isinstance(record, dict) and record.get("status") == "ok" else None


def _discard(out: Path, spec: ScenarioSpec) -> None:
    """Remove a stale result (result.json first: without it the scenario is not finished)."""
    folder = out / "scenarios" / spec.id
    for name in ("result.json", "kpis.json"):
        (folder / name).unlink(missing_ok=True)


def _check_address(scheduler: str) -> None:
    """InputError unless ``scheduler`` is a Dask address such as ``tcp://HOST:8786``."""
    from distributed.comm.addressing import parse_address, parse_host_port
    from distributed.comm.registry import backends

    try:
        scheme, location = parse_address(scheduler)
        if scheme not in backends:
            raise ValueError(f"unknown scheme {scheme!r}; Dask knows {', '.join(backends)}")
        if scheme in ("tcp", "tls"):
            _, port = parse_host_port(location)
            if not 0 < int(port) < 65536:
                raise ValueError(f"port {port} is outside 1..65535")
    except ValueError as exc:
        raise InputError(
            f"--scheduler {scheduler!r} is not a Dask scheduler address ({_one_line(exc)})",
            "give it as tcp://HOST:8786 (what `dask scheduler` prints)",
        ) from None


def _check_out(sweep: Sweep, out: Path, resume: bool) -> None:
    """Refuse an ``--out`` the sweep must not write into, before any work.

    A file; a folder holding other files but no ``sweep.json`` (not a sweep's output: the user's
    files stay untouched); with ``--resume``, a sweep folder made from another sweep (other
    scenarios: their results would be mixed into this sweep's folder).
    """
    if out.exists() and not out.is_dir():
        raise InputError(f"output folder {out} is a file", "give a folder path (--out DIR)")
    if not out.is_dir() or not any(out.iterdir()):
        return
    index = out / "sweep.json"
    if not index.is_file():
        raise InputError(
            f"output folder {out} holds files that are not a sweep output (no sweep.json)",
            "give a new or empty folder; lastmile writes only into its own previous sweep outputs",
        )
    if not resume:
        return
    try:
        before = json.loads(index.read_text(encoding="utf-8"))
        ids = {str(s["id"]) for s in before["scenarios"]}
    except (OSError, ValueError, KeyError, TypeError):
        raise InputError(
            f"{index} is not readable as a sweep index",
            "run without --resume into a new folder",
        ) from None
    now = {s.id for s in sweep.scenarios}
    if ids != now:
        raise InputError(
            f"--resume: {out} holds another sweep (made from {before.get('source')}, "
            f"{len(ids)} scenarios): {len(ids - now)} of its scenarios are not in this sweep "
            f"and {len(now - ids)} of this sweep's are not in it",
            "resume only the sweep that made the folder; give this one another --out",
        )


#: how long ``--scheduler`` may take to answer (a refused port is retried until then)
_CONNECT_TIMEOUT = "20s"


def _cluster_lost(client: Any, exc: BaseException) -> bool:
    """Whether a scenario's future failed because the cluster went away (its scheduler stopped or
    the connection broke), not because of the scenario: futures are cancelled then."""
    import asyncio
    import concurrent.futures

    from distributed.client import FutureCancelledError

    cancelled = (FutureCancelledError, asyncio.CancelledError, concurrent.futures.CancelledError)
    return isinstance(exc, cancelled) or getattr(client, "status", "running") != "running"


class _SyncCancelBug(logging.Filter):
    """Drops the one log record of a bug in ``distributed.utils.sync`` (2026.8.0): a Ctrl-C or
    SIGTERM that arrives before sync's coroutine has made its future makes sync's ``cancel``
    callback read that unassigned variable, and the ``NameError`` reaches the terminal as a
    traceback logged by ``tornado.application`` — after the sweep has already stopped cleanly."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if not isinstance(exc, NameError) or exc.__traceback__ is None:
            return True
        tb = exc.__traceback__
        while tb.tb_next is not None:
            tb = tb.tb_next
        code = tb.tb_frame.f_code
        return not (code.co_name == "cancel" and Path(code.co_filename).parts[-2:]
                    == ("distributed", "utils.py"))  # fmt: skip


@contextlib.contextmanager
def _without_sync_cancel_bug() -> Iterator[None]:
    """:class:`_SyncCancelBug` on ``tornado.application`` while a sweep's client lives."""
    logger, bug = logging.getLogger("tornado.application"), _SyncCancelBug()
    logger.addFilter(bug)
    try:
        yield
    finally:
        logger.removeFilter(bug)


@contextlib.contextmanager
def _quiet_distributed() -> Iterator[None]:
    """Keep distributed's own error logs (tracebacks of a lost connection) off the terminal
    while results are collected: every failure is reported once, in lastmile's words."""
    logger = logging.getLogger("distributed")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def _client(scheduler: str | None, workers: int | None) -> tuple[Any, Any]:
    from distributed import Client, LocalCluster

    if scheduler:
        if workers is not None:
            raise InputError(
                "--workers applies to the local cluster only",
                "start as many `dask worker` processes as you want on the cluster instead",
            )
        try:
            return Client(scheduler, timeout=_CONNECT_TIMEOUT), None  # type: ignore[no-untyped-call]
        # distributed fails on an unreachable address in many ways (OSError, TimeoutError,
        # ValueError for a bad address, even MemoryError on some unroutable hosts)
        except Exception as exc:
            raise InputError(
                f"cannot reach the Dask scheduler at {scheduler}: {_one_line(exc)}",
                "start it with `dask scheduler` and check the address (tcp://HOST:8786)",
            ) from None
    n = workers or os.cpu_count() or 1
    # Ctrl-C reaches every process of the terminal's group: the worker processes ignore it (they
    # inherit the ignored signal) and this process stops them cleanly instead.
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main_thread else None
    try:
        cluster = LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0" if importlib.util.find_spec("bokeh") else None,
            silence_logs=50,  # worker logs: CRITICAL only (task errors are in the records)
        )
    finally:
        if main_thread:
            signal.signal(signal.SIGINT, previous)
    return Client(cluster), cluster  # type: ignore[no-untyped-call]


#: The most local-cluster worker processes a sweep starts (``--workers``); more is refused
MAX_WORKERS = 256


def workers_too_many(workers: int) -> str:
    """The refusal of ``workers`` above :data:`MAX_WORKERS` (the API's and the CLI's)."""
    return (
        f"workers = {workers} is more than {MAX_WORKERS} — give at most {MAX_WORKERS} "
        "(or a --scheduler address for a larger cluster)"
    )


def _check_arguments(
    sweep: Any, out: Any, scheduler: Any, workers: Any, reference_dir: Any, cache: Any
) -> None:
    """InputError for an argument of :func:`run_sweep` the command line would refuse."""
    if not isinstance(sweep, Sweep):
        raise InputError(
            f"run_sweep: sweep = {sweep!r} is not a Sweep", "read the sweep file with load_sweep"
        )
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
    ):
        raise InputError(
            f"run_sweep: workers = {workers!r} must be a whole number >= 1",
            "or None for one worker per core",
        )
    if workers is not None and workers > MAX_WORKERS:
        # each worker is a process: 2**40 of them filled the memory and the kernel killed the
        # sweep after --out was made (bb26 D9)
        raise InputError(f"run_sweep: {workers_too_many(workers)}")
    for name, value in (("out", out), ("reference_dir", reference_dir), ("cache", cache)):
        if not isinstance(value, str | os.PathLike) and not (value is None and name != "out"):
            raise InputError(f"run_sweep: {name} = {value!r} is not a folder path")
    if scheduler is not None and not isinstance(scheduler, str):
        raise InputError(
            f"run_sweep: scheduler = {scheduler!r} is not a Dask scheduler address",
            "give it as tcp://HOST:8786, or None for a local cluster",
        )


def _check_local_paths(reference_dir: str | Path | None, cache: str | Path | None) -> None:
    """InputError for a cache directory that cannot be written or a reference-data directory
    that does not exist (the checks of ``lastmile plan``; the local workers share them)."""
    from lastmile.config import cache_dir, reference_data_dir

    cache_dir(cache)
    if reference_dir is not None:
        reference_data_dir(reference_dir)


def run_sweep(
    sweep: Sweep,
    out: str | Path,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    client: Any = None,
    resume: bool = False,
    keep_plans: bool = False,
    reference_dir: str | Path | None = None,
    cache: str | Path | None = None,
    log: Log = _stderr,
    on_result: Callable[[dict[str, Any]], None] | None = None,
    progress_bar: bool = True,
) -> SweepOutcome:
    """Run the scenarios of ``sweep`` as Dask tasks; write results as they finish; tabulate.

    Parameters
    ----------
    scheduler
        Address of a running Dask scheduler; default: a LocalCluster in this process.
    workers
        Worker processes of the LocalCluster (default: one per core), one thread each; at
        most :data:`MAX_WORKERS` (256).
    client
        An existing :class:`distributed.Client` to use instead (left open).
    resume
        Skip the scenarios already finished in ``out`` (failed ones run again), unless a file
        the scenario reads (orders, region, extract ...) changed since: that one runs again and
        the log says why (``re-run ...: orders file changed``).
    keep_plans
        Also write each scenario's whole plan folder to ``scenarios/<id>/plan`` (the workers
        write it: on a cluster, ``out`` must be a path the workers share).
    reference_dir, cache
        Passed to the workers (default: their own ``$LASTMILE_REFERENCE_DATA`` and
        ``$LASTMILE_CACHE_DIR``).
    on_result
        Called with each finished record (after it is written).

    Ctrl-C (KeyboardInterrupt) cancels what is running, keeps what finished, writes the table
    and returns with ``interrupted=True``.
    """
    t0 = time.perf_counter()
    # the CLI's checks, before the output folder is made (bb25 D16: workers=-2 waited forever
    # on a cluster of 0 workers, workers="two" raised a bare TypeError)
    _check_arguments(sweep, out, scheduler, workers, reference_dir, cache)
    if scheduler:
        _check_address(scheduler)  # a malformed address fails before --out is touched
    out = Path(out)
    _check_out(sweep, out, resume)
    if client is None and not scheduler:
        # the local workers read these paths: refused now, as `lastmile plan` does, rather
        # than failing every scenario one by one into a folder of failures (bb25 D26)
        _check_local_paths(reference_dir, cache)
    merged = merged_text(sweep)
    if merged:
        log(f"sweep: {merged}")
    own_client = None
    with _without_sync_cancel_bug():
        if client is None and scheduler:  # an unreachable scheduler fails before --out is touched
            client, _ = _client(scheduler, workers)
            own_client = client
        try:
            return _run_sweep(
                sweep, out, client, workers, resume, keep_plans, reference_dir, cache, log,
                on_result, progress_bar, t0,
            )  # fmt: skip
        finally:
            if own_client is not None:
                own_client.close()


def _run_sweep(
    sweep: Sweep,
    out: Path,
    client: Any,
    workers: int | None,
    resume: bool,
    keep_plans: bool,
    reference_dir: str | Path | None,
    cache: str | Path | None,
    log: Log,
    on_result: Callable[[dict[str, Any]], None] | None,
    progress_bar: bool,
    t0: float,
) -> SweepOutcome:
    """:func:`run_sweep` with its scheduler connected (``client``), or ``None`` for a local
    cluster started here when there is something to run."""
    from distributed import as_completed, wait

    out.mkdir(parents=True, exist_ok=True)
    index = out / "sweep.json"
    if not resume and any((out / "scenarios").glob("*/result.json")):
        raise InputError(
            f"{out} already holds sweep results",
            "pass --resume to run the rest, or choose another --out",
        )
    code = code_version()
    write_json(
        index,
        {
            "source": sweep.source,
            # the code of this run; each scenario's result.json records the code that made it
            **code,
            "keys": list(sweep.keys),
            # what every scenario shares, and the grid points merged as the same scenario
            "base": sweep.base,
            "set": dict(sweep.fixed),
            "merged": [
                {"which": which, "into": kept, "id": sid} for which, kept, sid in sweep.merged
            ],
            "scenarios": [
                {"id": s.id, "label": s.label, "varied": dict(s.varied)} for s in sweep.scenarios
            ],
        },
    )
    todo: list[ScenarioSpec] = []
    skipped = ran = failed = stale = 0
    now = made_by(code["lastmile"], code["lastmile_commit"])
    other_code: dict[str, int] = {}
    for spec in sweep.scenarios:
        kept = _finished(out, spec) if resume else None
        if kept is not None:
            # a kept result is reused only if the files it was made from are unchanged
            changes = changed_inputs(spec, kept, None if cache is None else str(cache))
            if not changes:
                skipped += 1
                then = made_by(kept.get("lastmile"), kept.get("lastmile_commit"))
                if then != now:
                    other_code[then] = other_code.get(then, 0) + 1
                continue
            log(f"re-run  {spec.id} {spec.label}: {', '.join(changes)}")
            _discard(out, spec)
            stale += 1
        if spec.error is not None:
            _write_record(out, spec, {"id": spec.id, "label": spec.label, "status": "failed",
                                      "error": spec.error, **code})  # fmt: skip
            log(f"failed  {spec.id} {spec.label}: {spec.error}")
            ran += 1
            failed += 1
        else:
            todo.append(spec)
    if skipped or stale:
        again = f" ({stale} of them again: input files changed)" if stale else ""
        log(f"resume: {skipped} finished scenario(s) kept, {len(todo)} to run{again}")
    if other_code:
        each = "; ".join(f"{n} by {who}" for who, n in other_code.items())
        log(f"warning: resume: {sum(other_code.values())} kept result(s) were made by other code "
            f"than this run's {now} ({each}); summary.md says so — for results of one version, "
            "run into a new --out")  # fmt: skip

    ref = str(reference_dir) if reference_dir is not None else None
    cache_s = str(cache) if cache is not None else None
    own_cluster = None
    dashboard = None
    interrupted = False
    cluster_lost: str | None = None
    if todo:
        from tqdm import tqdm

        if client is None:
            client, own_cluster = _client(None, workers)
            own_client = True
        else:
            own_client = False
        dashboard = client.dashboard_link if importlib.util.find_spec("bokeh") else None
        n_workers = len(client.scheduler_info().get("workers", {}))
        log(f"dask: {client.scheduler.address}, {n_workers} worker(s); dashboard: "
            f"{dashboard or 'not available (install bokeh)'}")  # fmt: skip
        token = uuid.uuid4().hex[:8]
        futures: list[Any] = []
        by_key: dict[str, ScenarioSpec] = {}
        warm: dict[str, Any] = {}
        try:
            tasks: list[Task] = []
            for spec in todo:
                try:
                    nkey = network_key(_load_text(spec.toml))
                except LastmileError:
                    nkey = None  # the task reports the error itself
                plan_dir = str(out / "scenarios" / spec.id / "plan") if keep_plans else None
                task = Task(spec.id, spec.label, spec.toml, ref, cache_s, plan_dir)
                tasks.append(task)
                if nkey is not None and nkey not in warm:
                    warm[nkey] = client.submit(
                        warm_network, task, key=f"lastmile-network-{nkey}-{token}", pure=False
                    )
            # Every network is cached before any scenario starts. The scenarios do not take the
            # network tasks as inputs: Dask runs a task where its inputs are, so all of them
            # would queue on the worker that built the network and only work stealing, when
            # it happens, would move some to the others.
            wait(list(warm.values()))  # type: ignore[no-untyped-call]
            for spec, task in zip(todo, tasks, strict=True):
                fut = client.submit(
                    run_scenario, task, key=f"lastmile-scenario-{spec.id}-{token}", pure=False
                )
                futures.append(fut)
                by_key[fut.key] = spec
            bar = tqdm(total=len(todo), unit="scenario", desc="sweep", file=sys.stderr,
                       disable=None if progress_bar else True, dynamic_ncols=True)  # fmt: skip
            with bar, _quiet_distributed():
                for fut in as_completed(futures):  # type: ignore[no-untyped-call]
                    spec = by_key[fut.key]
                    try:
                        rec = fut.result()
                    except Exception as exc:  # KilledWorker after retries, lost scheduler
                        if _cluster_lost(client, exc):
                            # not the scenario's failure: leave it (and the rest) to --resume
                            cluster_lost = f"{client.scheduler.address} ({_one_line(exc)})"
                            break
                        rec = {"id": spec.id, "label": spec.label, "status": "failed",
                               "error": _one_line(exc), **code}  # fmt: skip
                    _write_record(out, spec, rec)
                    ran += 1
                    bar.update()
                    if rec["status"] == "ok":
                        head = json.loads(rec["kpis_json"])
                        share = head.get("access_time", {}).get("reduction_share")
                        msg = f"done    {spec.id} {spec.label}: reduction {share:.1%} " \
                              f"({rec['seconds']['task']:.1f} s on {rec['worker']})"  # fmt: skip
                        capped = time_capped(head)
                        if capped:
                            msg += f"; {' and '.join(capped)} routing search ended by the " \
                                   "time cap: not reproducible"  # fmt: skip
                    else:
                        failed += 1
                        msg = f"failed  {spec.id} {spec.label}: {rec['error']}"
                    if log is _stderr:
                        bar.write(msg, file=sys.stderr)
                    else:
                        log(msg)
                    if on_result is not None:
                        on_result(rec)
            if cluster_lost is not None:  # (nothing to cancel on a scheduler that is gone)
                log(
                    f"lost the Dask scheduler at {cluster_lost}: {ran} of {len(todo)} "
                    "scenario(s) finished and kept; run again with --resume for the rest"
                )
        except KeyboardInterrupt:
            interrupted = True
            client.cancel([*futures, *warm.values()], force=True)
            log(f"interrupted: {ran} of {len(todo)} scenario(s) finished and kept; "
                "run again with --resume for the rest")  # fmt: skip
        finally:
            if own_client:
                client.close()
                if own_cluster is not None:
                    own_cluster.close()
    table = results_table(sweep, out)
    paths: dict[str, Path] = {}
    if not table.empty:
        paths.update(write_table(table, out))
        paths.update(write_summary(sweep, table, out))
    return SweepOutcome(
        out,
        len(sweep.scenarios),
        ran,
        skipped,
        failed,
        interrupted,
        table,
        paths,
        dashboard,
        time.perf_counter() - t0,
        cluster_lost,
    )


def rows_equal_kpis(row: Mapping[str, Any], kpis: Mapping[str, Any]) -> list[str]:
    """Names of the flattened KPIs where a table row differs from a ``kpis.json`` (for checks)."""
    diffs = []
    for key, value in flatten(kpis).items():
        got = row.get(key, row.get(f"kpi.{key}"))
        if not (got == value or (_isnan(got) and value is None)):
            diffs.append(key)
    return diffs


__all__ = [
    "HEADLINE",
    "LEAD_TIME",
    "ORDERS_SERVED",
    "SEARCH_ENDED_BY",
    "ScenarioSpec",
    "Sweep",
    "SweepOutcome",
    "Task",
    "build_scenario",
    "code_version",
    "comparable",
    "dumps_toml",
    "flatten",
    "grid_keys",
    "kpis_text",
    "load_sweep",
    "losing_scenarios",
    "made_by",
    "manifest_sha256",
    "merged_text",
    "plan_values",
    "results_table",
    "run_scenario",
    "run_sweep",
    "seed_changes_headline",
    "sensitivity",
    "stable_manifest",
    "time_capped",
    "write_summary",
    "write_table",
]

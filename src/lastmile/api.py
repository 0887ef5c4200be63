"""The notebook API: a :class:`Plan` object over the pipeline, and :func:`compare_plans`.

A small modelling surface in the spirit of PyVRP's ``Model`` and osmnx's top-level functions::

    import lastmile

    plan = lastmile.Plan.load(network="synthetic")        # the whole chain, default scenario
    plan.hubs                                              # a pandas DataFrame with lon/lat
    hub = plan.hubs.iloc[1]                                # the first new hub (row 0: the centre)
    alt = plan.without_hub(hub["id"])                      # by hub id or township
    tight = plan.with_cold_chain(produce_min=60)           # re-prepared orders, re-routed
    table, side_by_side = lastmile.compare_plans(plan, alt, labels=("optimal", "alternative"))
    plan.explore()                                         # folium map
    plan.to_folder("out/plan")                             # the output folder of `lastmile plan`

A :class:`Plan` is immutable: every change returns a new plan, which re-uses the loaded road
network and travel-time matrices (in memory, or from the cache for a changed scenario).
"""

from __future__ import annotations

import math
import numbers
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import folium
import folium.plugins
import geopandas as gpd
import pandas as pd

from lastmile.config import MAX_DURATION_S, MAX_VEHICLES_PER_DEPOT, Region
from lastmile.demand import CANDIDATE_ROLE, CENTRE_ROLE, HUB_ROLE
from lastmile.errors import InfeasibleError, InputError
from lastmile.maps import compare_map
from lastmile.plan import PlanInputs, PlanResult, plan_on, prepare
from lastmile.report import map_layers, scenario_map, summary_markdown, write_outputs
from lastmile.scenario import PlanSettings, check_hub_room, load_scenario
from lastmile.sweep import flatten

__all__ = ["Plan", "compare_plans", "notebook_settings"]

#: Longest cold-chain limit the API accepts, as region files do: one week, in minutes.
MAX_COLD_CHAIN_MIN = MAX_DURATION_S // 60
#: The map-assets modes of :meth:`Plan.to_folder` (:func:`lastmile.map_assets.resolve_map_assets`).
MAP_ASSETS_MODES = ("auto", "cdn", "inline")


# ---------------------------------------------------------------------- argument checks
# The API is called from notebooks without the file parser in between: every argument is checked
# here, with the bounds the scenario / region file parser applies, so that a wrong type or value
# is an InputError naming the argument, not a TypeError or AttributeError from deep inside.


def _path_arg(value: Any, name: str, where: str) -> None:
    """Refuse a ``value`` that is neither ``None``, a non-empty string nor a path object."""
    if value is None or isinstance(value, os.PathLike):
        return
    if not isinstance(value, str):
        raise InputError(
            f"{where}: {name} = {value!r} is not a file path ({type(value).__name__})",
            "give a str or pathlib.Path",
        )
    if not value.strip():
        raise InputError(
            f"{where}: {name} = {value!r} is an empty path", "give a str or pathlib.Path"
        )


def _text_arg(value: Any, name: str, where: str, hint: str) -> str:
    """``value`` as a non-empty string, else an InputError naming argument ``name``."""
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{where}: {name} = {value!r} is not a non-empty string", hint)
    return value


def _flag_arg(value: Any, name: str, where: str) -> bool:
    """``value`` as a bool (``"false"`` would be truthy under ``bool()``)."""
    if not isinstance(value, bool):
        raise InputError(f"{where}: {name} = {value!r} is not True or False", "give a bool")
    return value


def _site_arg(value: Any, name: str, where: str) -> str:
    """A hub / candidate site id or a township name: a non-empty string."""
    return _text_arg(
        value,
        name,
        where,
        "give a site id (see plan.hubs / plan.candidates) or a township (code, Chinese name or "
        "pinyin) as a string",
    )


def _plan_arg(value: Any, name: str, where: str) -> Plan:
    if not isinstance(value, Plan):
        raise InputError(
            f"{where}: {name} = {value!r} is not a Plan ({type(value).__name__})",
            "give a lastmile.Plan, e.g. from Plan.load() or one of its with_*/without_* methods",
        )
    return value


def notebook_settings() -> dict[str, Any]:
    """The ``[plan]`` settings the example notebooks run with.

    The whole county on the default network (``auto``: an extract, else OSM, else the synthetic
    stand-in) with the default search; the test suite shrinks them through the environment:
    ``LASTMILE_NETWORK``, ``LASTMILE_STANDIN_SCALE`` and ``LASTMILE_ROUTING_SOLUTION_LIMIT``.
    """
    import os

    settings: dict[str, Any] = {"network": os.environ.get("LASTMILE_NETWORK", "auto")}
    if "LASTMILE_STANDIN_SCALE" in os.environ:
        settings["standin_scale"] = float(os.environ["LASTMILE_STANDIN_SCALE"])
    if "LASTMILE_ROUTING_SOLUTION_LIMIT" in os.environ:
        settings["routing_solution_limit"] = int(os.environ["LASTMILE_ROUTING_SOLUTION_LIMIT"])
    return settings


@dataclass(frozen=True)
class Plan:
    """One scenario's plan: hubs, the routed days (county centre alone and with hubs), the study.

    Build it with :meth:`load`; change it with :meth:`without_hub`, :meth:`with_hub`,
    :meth:`swap_hub`, :meth:`with_cold_chain`, :meth:`with_fleet` or :meth:`with_settings`
    (each returns a new, fully re-planned :class:`Plan`).

    Attributes
    ----------
    result
        Everything ``lastmile plan`` computes (:class:`lastmile.plan.PlanResult`).
    forced, excluded
        Candidate site ids that this plan forces / excludes as hubs.
    parallel
        Route baseline and plan side by side in a forked process (``False`` inside Dask workers).
    """

    result: PlanResult
    forced: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    parallel: bool = True

    # ------------------------------------------------------------------ building

    @classmethod
    def load(
        cls,
        config: str | Path | None = None,
        *,
        region: str | Path | None = None,
        cache: str | Path | None = None,
        parallel: bool = True,
        **settings: Any,
    ) -> Plan:
        """Load a scenario (a TOML file, or the defaults) and plan it.

        ``settings`` override ``[plan]`` keys (``network="synthetic"``, ``p=8``,
        ``standin_scale=0.1``, ``routing_time_limit_s=5`` ...); ``region`` is another county's
        region file.
        """
        for name, value in (("config", config), ("region", region), ("cache", cache)):
            _path_arg(value, name, "Plan.load")
        for name, value in (("config", config), ("region", region)):
            if value is not None and Path(value).is_dir():
                raise InputError(
                    f"Plan.load: {name} = {str(value)!r} is a directory", "give a TOML file"
                )
        if cache is not None and Path(cache).exists() and not Path(cache).is_dir():
            raise InputError(
                f"Plan.load: cache = {str(cache)!r} is a file", "give a cache directory"
            )
        _flag_arg(parallel, "parallel", "Plan.load")
        scenario = load_scenario(config, region=region, **settings)
        return cls._from_inputs(prepare(scenario, cache=cache), (), (), parallel)

    @classmethod
    def _from_inputs(
        cls,
        inputs: PlanInputs,
        forced: tuple[str, ...],
        excluded: tuple[str, ...],
        parallel: bool,
    ) -> Plan:
        try:
            result = plan_on(inputs, forced=forced, excluded=excluded, parallel=parallel)
        except InfeasibleError as exc:
            if not forced and not excluded:
                raise
            # the hub changes may be what leaves no room: say so beside the model's own reason
            raise InfeasibleError(
                f"{exc.message}; this plan's hub changes force {len(forced)} and exclude "
                f"{len(excluded)} candidate site(s)",
                "undo some changes (start again from Plan.load), or lower p with with_settings",
            ) from None
        return cls(result, forced, excluded, parallel)

    # ------------------------------------------------------------------ reading

    @property
    def inputs(self) -> PlanInputs:
        """The prepared inputs: network, townships, villages, candidate sites, orders, matrices."""
        return self.result.inputs

    @property
    def region(self) -> Region:
        """The scenario's region."""
        return self.result.inputs.region

    @property
    def hubs(self) -> pd.DataFrame:
        """The open facilities (county centre first): id, name, township, role, location."""
        cols = ["id", "name", "township", "township_name", "role", "lon", "lat"]
        hubs = self.result.placement.hubs
        return pd.DataFrame(hubs[[c for c in cols if c in hubs.columns]]).reset_index(drop=True)

    @property
    def candidates(self) -> pd.DataFrame:
        """Every candidate hub site (id, name, township) the location model chose from."""
        fac = self.inputs.facilities
        sites = fac.loc[fac["role"] == CANDIDATE_ROLE, ["id", "name", "township"]]
        return pd.DataFrame(sites).reset_index(drop=True)

    @property
    def kpis(self) -> dict[str, Any]:
        """The figures of ``kpis.json`` (results only; identical run to run)."""
        return self.result.kpis()

    def summary(self) -> str:
        """The study as Markdown (the ``summary.md`` of the output folder)."""
        return summary_markdown(self.result)

    def explore(self, scenario: str = "plan") -> folium.Map:
        """An interactive folium map: ``"plan"`` (centre + hubs) or ``"baseline"``."""
        if not isinstance(scenario, str) or scenario not in ("plan", "baseline"):
            raise InputError(f"explore: unknown scenario {scenario!r}", "use 'plan' or 'baseline'")
        return scenario_map(self.result, scenario)

    def to_folder(self, out: str | Path, *, map_assets: str = "auto") -> dict[str, Path]:
        """Write the output folder of ``lastmile plan`` (maps, GeoPackage, CSV, KPIs, manifest)."""
        if out is None:
            raise InputError("to_folder: out = None is not a folder path", "give a str or Path")
        _path_arg(out, "out", "to_folder")
        if not isinstance(map_assets, str) or map_assets not in MAP_ASSETS_MODES:
            raise InputError(
                f"to_folder: unknown map assets mode {map_assets!r}",
                f"use one of {', '.join(map(repr, MAP_ASSETS_MODES))}",
            )
        return write_outputs(self.result, out, map_assets=map_assets)

    # ------------------------------------------------------------------ changing

    def _sites(self, which: str, among: pd.DataFrame, what: str) -> list[str]:
        """Site ids for ``which``: a site id of ``among``, or every site of a township there."""
        ids = list(among["id"])
        if which in ids:
            return [which]
        centre = self.hubs[self.hubs["role"] == CENTRE_ROLE]
        if which in set(centre["id"]):
            raise InputError(
                f"{which!r} is the county centre, which every plan keeps (it is the baseline's "
                "depot and the trunk runs' origin)",
                f"name a {what}: {', '.join(map(str, ids[:20]))}",
            )
        if which in set(self.inputs.facilities["id"]):  # a known site, not among these
            raise InputError(
                f"{which!r} is not a {what} of this plan"
                + (" (excluded by an earlier change)" if which in self.excluded else ""),
                f"choose among: {', '.join(map(str, ids[:20]))}",
            )
        township = self.region.township(which).code  # raises a clear error for unknown names
        found = list(among.loc[among["township"] == township, "id"])
        if not found:
            raise InputError(
                f"no {what} in township {which!r}",
                f"choose among: {', '.join(map(str, ids[:20]))}",
            )
        return found

    def _removed_sites(self, which: str) -> list[str]:
        """The candidate sites a removal of ``which`` excludes.

        A hub id removes its site: every candidate on the same road-graph node (a settlement and
        the main-road junction beside it can share one, and the location model would otherwise
        reopen the removed hub under the other id). A township removes every candidate of that
        township, so no hub is left there.
        """
        hubs = self.hubs[self.hubs["role"] == HUB_ROLE]
        gone = self._sites(which, hubs, HUB_ROLE)
        fac = self.inputs.facilities
        sites = fac[fac["role"] == CANDIDATE_ROLE]
        if which in set(hubs["id"]):
            nodes = set(fac.loc[fac["id"].isin(gone), "node"])
            alike = sites.loc[sites["node"].isin(nodes), "id"]
        else:
            towns = set(fac.loc[fac["id"].isin(gone), "township"])
            alike = sites.loc[sites["township"].isin(towns), "id"]
        return list(dict.fromkeys([*gone, *map(str, alike)]))

    def _refuse_taken_township(self, which: str, leaving: Sequence[str]) -> None:
        """The township of a new hub (named, or the township of a site id) must have room for it:
        fewer hubs than ``max_per_township`` besides those ``leaving``. Forcing one more there
        would make the location model silently drop or move a hub the user did not name."""
        fac = self.inputs.facilities
        if which in set(fac["id"]) and which not in set(self.candidates["id"]):
            return  # the county centre or an excluded site: _best_site names it
        is_site = which in set(fac["id"])
        if is_site:
            code = fac.loc[fac["id"] == which, "township"].iloc[0]
        else:
            code = self.region.township(which).code
        hubs = self.hubs[(self.hubs["role"] == HUB_ROLE) & (self.hubs["township"] == code)]
        held = [str(h) for h in hubs["id"] if h not in leaving and h != which]
        room = self.inputs.scenario.plan.max_per_township
        if len(held) >= room and which not in set(hubs["id"]):
            town = self.region.township(code).name
            place = (
                f"site {which!r} is in township {town!r}, which"
                if is_site
                else f"township {which!r}"
            )
            raise InputError(
                f"{place} already has hub {held[0]!r} ([plan] max_per_township = {room})",
                f"swap_hub({held[0]!r}, {which!r}) replaces that hub; or name a township "
                "without a hub, or raise max_per_township with with_settings",
            )

    def _best_site(self, which: str) -> str:
        """A candidate id, or a township's best candidate (most populous settlement first)."""
        sites = self._sites(which, self.candidates, "candidate site")
        # a township with room for another hub (max_per_township > 1): its best site not yet one
        fresh = [s for s in sites if s not in set(self.hubs["id"])]
        return (fresh or sites)[0]

    def without_hub(self, which: str) -> Plan:
        """Re-plan with the hub ``which`` removed; the location model then chooses the best
        replacement, and every day is routed again.

        ``which`` is a hub id (its site is excluded, with every candidate on the same road node)
        or a township (every candidate of that township is excluded).
        """
        _site_arg(which, "which", "without_hub")
        gone = self._removed_sites(which)
        excluded = tuple(dict.fromkeys((*self.excluded, *gone)))
        forced = tuple(f for f in self.forced if f not in gone)
        return self._from_inputs(self.inputs, forced, excluded, self.parallel)

    def with_hub(self, which: str) -> Plan:
        """Re-plan with a hub forced at ``which``: a candidate site id, or a township (its
        most populous candidate settlement)."""
        _site_arg(which, "which", "with_hub")
        self._refuse_taken_township(which, ())
        site = self._best_site(which)
        forced = tuple(dict.fromkeys((*self.forced, site)))
        excluded = tuple(e for e in self.excluded if e != site)
        return self._from_inputs(self.inputs, forced, excluded, self.parallel)

    def swap_hub(self, old: str, new: str) -> Plan:
        """Re-plan with the hub ``old`` excluded and a hub forced at ``new`` (ids or townships)."""
        _site_arg(old, "old", "swap_hub")
        _site_arg(new, "new", "swap_hub")
        gone = self._removed_sites(old)
        self._refuse_taken_township(new, gone)
        site = self._best_site(new)
        if site in gone:
            raise InputError(
                f"swap_hub: {new!r} gives the site {site!r}, which {old!r} removes",
                "name another township or candidate site id for the new hub",
            )
        excluded = tuple(dict.fromkeys((*self.excluded, *gone)))
        forced = tuple(dict.fromkeys((*(f for f in self.forced if f not in gone), site)))
        return self._from_inputs(self.inputs, forced, excluded, self.parallel)

    def _with_region(self, region: Region, change: str) -> Plan:
        # the manifest's region source names the change, so the folder says how it was made
        region = replace(region, source_file=f"{region.source_file} + {change}")
        scenario = replace(self.inputs.scenario, region=region)
        inputs = prepare(scenario, cache=self.inputs.cache)
        return self._from_inputs(inputs, self.forced, self.excluded, self.parallel)

    def with_cold_chain(
        self,
        *,
        produce_min: float | None = None,
        tea_min: float | None = None,
        parcel_min: float | None = None,
    ) -> Plan:
        """Re-plan with other cold-chain limits (minutes in vehicle); the day's orders carry the
        new limits and both days are routed again."""
        cold = self.region.cold_chain
        changes: dict[str, int] = {}
        for name, value in (
            ("produce_s", produce_min),
            ("tea_s", tea_min),
            ("parcel_s", parcel_min),
        ):
            if value is None:
                continue
            # the bounds of the region file's [cold_chain] *_max_in_vehicle_min (numbers, not
            # booleans or strings; finite; > 0; at most one week)
            ok = (
                not isinstance(value, bool)
                and isinstance(value, numbers.Real)
                and math.isfinite(value)
                and 0 < value <= MAX_COLD_CHAIN_MIN
            )
            if not ok:
                raise InputError(
                    f"with_cold_chain: {name[:-2]}_min = {value!r} is not a finite number of "
                    f"minutes > 0 and <= {MAX_COLD_CHAIN_MIN} (one week)",
                    "give minutes in vehicle, e.g. produce_min=120",
                )
            changes[name] = round(float(value) * 60)
        given = {"produce_min": produce_min, "tea_min": tea_min, "parcel_min": parcel_min}
        change = _call("with_cold_chain", {k: v for k, v in given.items() if v is not None})
        return self._with_region(replace(self.region, cold_chain=replace(cold, **changes)), change)

    def with_fleet(self, **count_per_depot: int) -> Plan:
        """Re-plan with other vehicle counts per depot, by fleet type id
        (e.g. ``with_fleet(reefer=2, van=3)``)."""
        known = {f.id: f for f in self.region.fleet}
        unknown = sorted(set(count_per_depot) - set(known))
        if unknown:
            raise InputError(f"unknown fleet type(s) {unknown}", f"known: {sorted(known)}")
        counts: dict[str, int] = {}
        for key, n in count_per_depot.items():
            # the bounds of the region file's [[fleet]] count_per_depot: a whole number (not a
            # bool or float) in [0, MAX_VEHICLES_PER_DEPOT]; routing builds every vehicle, so a
            # huge count would exhaust memory rather than fail
            if (
                isinstance(n, bool)
                or not isinstance(n, numbers.Integral)
                or not 0 <= n <= MAX_VEHICLES_PER_DEPOT
            ):
                raise InputError(
                    f"with_fleet: fleet type {key!r}: count {n!r} must be a whole number >= 0 "
                    f"and <= {MAX_VEHICLES_PER_DEPOT} (vehicles per depot)",
                    f"give the number of vehicles at each depot, 0 to {MAX_VEHICLES_PER_DEPOT}",
                )
            counts[key] = int(n)
        fleet = tuple(
            replace(f, count_per_depot=counts[f.id]) if f.id in counts else f
            for f in self.region.fleet
        )
        if not any(f.count_per_depot for f in fleet):
            # as the region file's [[fleet]]: no vehicle at all leaves nothing to route
            raise InputError(
                "with_fleet: count_per_depot is 0 for every vehicle type: no vehicle to route",
                "give at least one vehicle type a count >= 1",
            )
        return self._with_region(
            replace(self.region, fleet=fleet), _call("with_fleet", count_per_depot)
        )

    def with_settings(self, **settings: Any) -> Plan:
        """Re-plan with other ``[plan]`` settings (``p``, ``objective``, ``routing_mode`` ...)."""
        known = {f.name for f in fields(PlanSettings)}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise InputError(
                f"with_settings: unknown setting(s) {unknown}", f"[plan] keys: {sorted(known)}"
            )
        plan = replace(self.inputs.scenario.plan, **settings)
        # as Plan.load: refuse a p that no choice of hubs can meet, before any work
        check_hub_room(plan, self.region, "with_settings:")
        scenario = self.inputs.scenario
        source = f"{scenario.source} + {_call('with_settings', settings)}"
        inputs = prepare(replace(scenario, plan=plan, source=source), cache=self.inputs.cache)
        return self._from_inputs(inputs, self.forced, self.excluded, self.parallel)


def _call(method: str, arguments: Mapping[str, Any]) -> str:
    """``Plan.method(key=value, ...)`` as the manifest records a change made through the API."""
    return f"Plan.{method}({', '.join(f'{k}={v!r}' for k, v in arguments.items())})"


def compare_plans(
    a: Plan, b: Plan, labels: tuple[str, str] = ("A", "B")
) -> tuple[pd.DataFrame, folium.plugins.DualMap]:
    """Two plans side by side: a KPI table (one row per figure, a column per plan, and the
    difference) and a synchronised two-pane map (``a`` left, ``b`` right)."""
    _plan_arg(a, "a", "compare_plans")
    _plan_arg(b, "b", "compare_plans")
    if (
        not isinstance(labels, tuple | list)
        or len(labels) != 2
        or not all(isinstance(label, str) and label.strip() for label in labels)
    ):
        raise InputError(
            f"compare_plans: labels = {labels!r} is not a pair of two names (non-empty strings)",
            'give labels=("A", "B")',
        )
    if labels[0] == labels[1]:
        raise InputError("compare_plans: the two labels are the same", "give two names")
    labels = (labels[0], labels[1])
    kpis_a, kpis_b = a.kpis, b.kpis  # each a full (deep-copied) kpis.json: computed once
    ka, kb = flatten(kpis_a), flatten(kpis_b)
    rows = []
    for key in dict.fromkeys([*ka, *kb]):
        va, vb = ka.get(key), kb.get(key)
        # rounded: a difference of two rounded figures carries float noise (0.5399999999999991)
        diff = (
            round(vb - va, 6)
            if isinstance(va, int | float) and isinstance(vb, int | float)
            else None
        )
        if isinstance(va, bool) or isinstance(vb, bool):
            diff = None
        rows.append({"kpi": key, labels[0]: va, labels[1]: vb, "difference": diff})
    table = pd.DataFrame(rows).set_index("kpi")
    la, lb = map_layers(a.result), map_layers(b.result)

    def side(layers: Any, label: str, attr: str) -> pd.DataFrame:
        frame = getattr(layers, attr)
        if "scenario" in frame.columns:
            frame = frame[frame["scenario"] == "plan"]
        return pd.DataFrame(frame.assign(scenario=label))

    def both(attr: str) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame(
            pd.concat([side(la, labels[0], attr), side(lb, labels[1], attr)], ignore_index=True),
            geometry="geometry",
            crs="EPSG:4326",
        )

    hubs = gpd.GeoDataFrame(
        pd.concat([la.hubs, lb.hubs], ignore_index=True).drop_duplicates("id"),
        geometry="geometry",
        crs="EPSG:4326",
    )
    dual = compare_map(
        la.townships,
        lb.villages,
        hubs,
        both("routes"),
        both("stops"),
        both("unassigned"),
        title=f"{labels[0]} (left) vs {labels[1]} (right)",
        source_label=a.inputs.source.label,
        scenarios=labels,
        baseline_villages=la.villages,
        trunk_km={labels[0]: _trunk_km(kpis_a), labels[1]: _trunk_km(kpis_b)},
    )
    ids_a, ids_b = set(a.inputs.orders["id"]), set(b.inputs.orders["id"])
    seeds = (a.inputs.scenario.plan.seed, b.inputs.scenario.plan.seed)
    if ids_a != ids_b or seeds[0] != seeds[1]:
        warnings.warn(
            f"compare_plans: {labels[0]} and {labels[1]} route different order days (seed "
            f"{seeds[0]} vs {seeds[1]}; {len(ids_a - ids_b)} orders only in {labels[0]}, "
            f"{len(ids_b - ids_a)} only in {labels[1]}): their routed and lead-time figures are "
            "not like for like; compare access time, or plan both on the same day",
            stacklevel=2,
        )
    return table, dual


def _trunk_km(kpis: Mapping[str, Any]) -> float:
    """Km of a plan's trunk runs (morning and evening), which its last-mile routes leave out."""
    runs = kpis.get("trunk", {}).get("runs", {})
    return float(sum(run["km"] for run in runs.values()))

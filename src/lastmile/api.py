"""The notebook API: a :class:`Plan` object over the pipeline, and :func:`compare_plans`.

A small modelling surface in the spirit of PyVRP's ``Model`` and osmnx's top-level functions::

    import lastmile

    plan = lastmile.Plan.load(network="synthetic")        # the whole chain on the default
    plan.hubs                                              # the chosen hubs (GeoDataFrame)
    alt = plan.swap_hub("Wangcunkou", "Jiaotan")           # by hub id or township name
    tight = plan.with_cold_chain(produce_min=60)           # re-prepared orders, re-routed
    table, m = lastmile.compare_plans(plan, alt)           # KPI table + side-by-side map
    plan.explore()                                         # folium map
    plan.to_folder("out/plan")                             # the output folder of `lastmile plan`

A :class:`Plan` is immutable: every change returns a new plan, which re-uses the loaded road
network and travel-time matrices (in memory, or from the cache for a changed scenario).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import folium
import folium.plugins
import geopandas as gpd
import pandas as pd

from lastmile.config import Region
from lastmile.demand import CANDIDATE_ROLE, HUB_ROLE
from lastmile.errors import InputError
from lastmile.maps import compare_map
from lastmile.plan import PlanInputs, PlanResult, plan_on, prepare
from lastmile.report import map_layers, scenario_map, summary_markdown, write_outputs
from lastmile.scenario import PlanSettings, load_scenario
from lastmile.sweep import flatten

__all__ = ["Plan", "compare_plans", "notebook_settings"]


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
        result = plan_on(inputs, forced=forced, excluded=excluded, parallel=parallel)
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
        return scenario_map(self.result, scenario)

    def to_folder(self, out: str | Path, *, map_assets: str = "auto") -> dict[str, Path]:
        """Write the output folder of ``lastmile plan`` (maps, GeoPackage, CSV, KPIs, manifest)."""
        return write_outputs(self.result, out, map_assets=map_assets)

    # ------------------------------------------------------------------ changing

    def _sites(self, which: str, among: pd.DataFrame, what: str) -> list[str]:
        """Site ids for ``which``: a site id of ``among``, or every site of a township there."""
        ids = list(among["id"])
        if which in ids:
            return [which]
        township = self.region.township(which).code  # raises a clear error for unknown names
        found = list(among.loc[among["township"] == township, "id"])
        if not found:
            raise InputError(
                f"no {what} in township {which!r}",
                f"choose among: {', '.join(map(str, ids[:20]))}",
            )
        return found

    def _best_site(self, which: str) -> str:
        """A candidate id, or a township's best candidate (most populous settlement first)."""
        cands = self.candidates
        sites = self._sites(which, cands, "candidate site")
        return sites[0]

    def without_hub(self, which: str) -> Plan:
        """Re-plan with the hub ``which`` (a hub id or its township) excluded; the location model
        then chooses the best replacement, and every day is routed again."""
        hubs = self.hubs[self.hubs["role"] == HUB_ROLE]
        gone = self._sites(which, hubs, HUB_ROLE)
        excluded = tuple(dict.fromkeys((*self.excluded, *gone)))
        forced = tuple(f for f in self.forced if f not in gone)
        return self._from_inputs(self.inputs, forced, excluded, self.parallel)

    def with_hub(self, which: str) -> Plan:
        """Re-plan with a hub forced at ``which``: a candidate site id, or a township (its
        most populous candidate settlement)."""
        site = self._best_site(which)
        forced = tuple(dict.fromkeys((*self.forced, site)))
        excluded = tuple(e for e in self.excluded if e != site)
        return self._from_inputs(self.inputs, forced, excluded, self.parallel)

    def swap_hub(self, old: str, new: str) -> Plan:
        """Re-plan with the hub ``old`` excluded and a hub forced at ``new`` (ids or townships)."""
        hubs = self.hubs[self.hubs["role"] == HUB_ROLE]
        gone = self._sites(old, hubs, HUB_ROLE)
        site = self._best_site(new)
        excluded = tuple(dict.fromkeys((*self.excluded, *gone)))
        forced = tuple(dict.fromkeys((*(f for f in self.forced if f not in gone), site)))
        return self._from_inputs(self.inputs, forced, excluded, self.parallel)

    def _with_region(self, region: Region) -> Plan:
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
            if not (value > 0 and math.isfinite(value)):
                raise InputError(
                    f"with_cold_chain: {name[:-2]}_min = {value} must be positive and finite",
                    "give minutes in vehicle, e.g. produce_min=120",
                )
            changes[name] = round(value * 60)
        return self._with_region(replace(self.region, cold_chain=replace(cold, **changes)))

    def with_fleet(self, **count_per_depot: int) -> Plan:
        """Re-plan with other vehicle counts per depot, by fleet type id
        (e.g. ``with_fleet(**{"cold-van": 2, "van": 3})``)."""
        known = {f.id: f for f in self.region.fleet}
        unknown = sorted(set(count_per_depot) - set(known))
        if unknown:
            raise InputError(f"unknown fleet type(s) {unknown}", f"known: {sorted(known)}")
        for key, n in count_per_depot.items():
            if isinstance(n, bool) or not isinstance(n, int) or n < 0:
                raise InputError(f"fleet type {key!r}: count {n!r} must be a whole number >= 0")
        fleet = tuple(
            replace(f, count_per_depot=count_per_depot[f.id]) if f.id in count_per_depot else f
            for f in self.region.fleet
        )
        return self._with_region(replace(self.region, fleet=fleet))

    def with_settings(self, **settings: Any) -> Plan:
        """Re-plan with other ``[plan]`` settings (``p``, ``objective``, ``routing_mode`` ...)."""
        known = {f.name for f in fields(PlanSettings)}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise InputError(
                f"with_settings: unknown setting(s) {unknown}", f"[plan] keys: {sorted(known)}"
            )
        plan = replace(self.inputs.scenario.plan, **settings)
        inputs = prepare(replace(self.inputs.scenario, plan=plan), cache=self.inputs.cache)
        return self._from_inputs(inputs, self.forced, self.excluded, self.parallel)


def compare_plans(
    a: Plan, b: Plan, labels: tuple[str, str] = ("A", "B")
) -> tuple[pd.DataFrame, folium.plugins.DualMap]:
    """Two plans side by side: a KPI table (one row per figure, a column per plan, and the
    difference) and a synchronised two-pane map (``a`` left, ``b`` right)."""
    if labels[0] == labels[1]:
        raise InputError("compare_plans: the two labels are the same", "give two names")
    ka, kb = flatten(a.kpis), flatten(b.kpis)
    rows = []
    for key in dict.fromkeys([*ka, *kb]):
        va, vb = ka.get(key), kb.get(key)
        diff = vb - va if isinstance(va, int | float) and isinstance(vb, int | float) else None
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
    )
    return table, dual

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
network and travel-time matrices (in memory, or from the cache for a changed scenario). The tables
a plan shows (``plan.inputs``, ``plan.result``) are its own: editing one in place changes nothing
in a plan derived from it, which re-plans from a private copy of the prepared inputs. The road
network and travel-time matrices are shared arrays, not copied: do not edit those in place.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
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
from lastmile.study import same_orders
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
    knobs: tuple[tuple[str, str, type, str], ...] = (
        ("LASTMILE_STANDIN_SCALE", "standin_scale", float, "0.1"),
        ("LASTMILE_ROUTING_SOLUTION_LIMIT", "routing_solution_limit", int, "20"),
    )
    for variable, key, kind, example in knobs:
        if variable not in os.environ:
            continue
        text = os.environ[variable]
        try:
            settings[key] = kind(text.strip())
        except ValueError:
            what = "a number" if kind is float else "a whole number"
            raise InputError(
                f"environment variable {variable} = {text!r} is not {what}",
                f"set it like {variable}={example} (a decimal point, not a comma), or unset it",
            ) from None
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
    hub_changes
        What each hub change made through this API did, in order, e.g. ``"with_hub('王村口镇'):
        forced osm-937 (王村口镇), township 王村口镇's most populous candidate settlement (5,863
        people)"``; also in ``manifest.json`` (``hub_changes``) and ``summary.md``.

    The tables of :attr:`inputs` and :attr:`result` belong to this plan alone: a derived plan
    re-plans from a private copy of the prepared inputs, so editing them in place (a notebook
    habit) does not change any plan derived later. This plan's own outputs would then disagree
    with each other (stops.csv against routes.csv and kpis.json): :meth:`to_folder`,
    :meth:`summary`, :meth:`explore`, :attr:`kpis` and :func:`compare_plans` refuse a plan whose
    tables were edited in place, naming the table (bb23 D1). The road network and the
    travel-time matrices are shared between plans (not copied: they are large); do not edit their
    arrays in place.
    """

    result: PlanResult
    forced: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    parallel: bool = True
    hub_changes: tuple[str, ...] = ()
    #: the prepared inputs derived plans start from: never handed out (``result.inputs`` is a copy
    #: of their tables), so nothing a caller edits reaches a later plan
    _prepared: PlanInputs | None = field(default=None, repr=False, compare=False)
    #: a fingerprint of each table of :attr:`result` as made (:func:`_table_prints`)
    _prints: Mapping[str, int] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_prints", _table_prints(self.result))

    def _check_unedited(self, where: str) -> None:
        """InputError when a table of this plan was edited in place since it was made."""
        now = _table_prints(self.result)
        edited = [
            path.replace("result.inputs.", "inputs.", 1)  # as the caller reaches it
            for path, print_ in self._prints.items()
            if now.get(path) != print_
        ]
        if edited:
            raise InputError(
                f"{where}: plan.{edited[0]} was changed in place after the plan was made"
                + (f" (and {len(edited) - 1} more table(s))" if len(edited) > 1 else "")
                + ": its outputs would no longer agree with each other (stops.csv, routes.csv "
                "and kpis.json come from different tables)",
                "edit a copy (plan.<table>.copy()) in notebook cells; make the plan again (Plan."
                "load, or the change that made it) to write, compare or map it",
            )

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
        hub_changes: tuple[str, ...] = (),
    ) -> Plan:
        try:
            result = plan_on(inputs, forced=forced, excluded=excluded, parallel=parallel)
        except InfeasibleError as exc:
            if not forced and not excluded:
                raise
            # the hub changes may be what leaves no room: say so beside the model's own reason,
            # with the way out that fits (more forced sites than p: a larger p, not a smaller one)
            p = inputs.scenario.plan.p
            hint = (
                f"raise p to at least {len(forced)} with with_settings(p={len(forced)}), or undo "
                "forced hubs (start again from Plan.load)"
                if len(forced) > p
                else "undo some changes (start again from Plan.load), or lower p with with_settings"
            )
            raise InfeasibleError(
                f"{exc.message}; this plan's hub changes force {len(forced)} and exclude "
                f"{len(excluded)} candidate site(s)",
                hint,
            ) from None
        placement = replace(result.placement, changes=hub_changes)
        # the caller gets copies of the prepared tables (small); the network and matrices are
        # shared, as the docstring says
        shown = replace(
            inputs,
            villages=inputs.villages.copy(),
            facilities=inputs.facilities.copy(),
            orders=inputs.orders.copy(),
            timings=dict(inputs.timings),
        )
        result = replace(result, inputs=shown, placement=placement)
        return cls(result, forced, excluded, parallel, hub_changes, _prepared=inputs)

    # ------------------------------------------------------------------ reading

    @property
    def inputs(self) -> PlanInputs:
        """The prepared inputs: network, townships, villages, candidate sites, orders, matrices.

        This plan's own tables: editing them in place does not reach plans derived from it.
        """
        return self.result.inputs

    @property
    def _source(self) -> PlanInputs:
        """The prepared inputs a derived plan starts from (never handed to the caller)."""
        return self._prepared if self._prepared is not None else self.result.inputs

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
        fac = self._source.facilities
        sites = fac.loc[fac["role"] == CANDIDATE_ROLE, ["id", "name", "township"]]
        return pd.DataFrame(sites).reset_index(drop=True)

    @property
    def kpis(self) -> dict[str, Any]:
        """The figures of ``kpis.json`` (results only; identical run to run)."""
        self._check_unedited("kpis")
        return self.result.kpis()

    def summary(self) -> str:
        """The study as Markdown (the ``summary.md`` of the output folder)."""
        self._check_unedited("summary")
        return summary_markdown(self.result)

    def explore(self, scenario: str = "plan") -> folium.Map:
        """An interactive folium map: ``"plan"`` (centre + hubs) or ``"baseline"``."""
        if not isinstance(scenario, str) or scenario not in ("plan", "baseline"):
            raise InputError(f"explore: unknown scenario {scenario!r}", "use 'plan' or 'baseline'")
        self._check_unedited("explore")
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
        self._check_unedited("to_folder")
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
                f"name a {what}: {_listed(ids, what)}",
            )
        if which in set(self._source.facilities["id"]):  # a known site, not among these
            raise InputError(
                f"{which!r} is not a {what} of this plan"
                + (" (excluded by an earlier change)" if which in self.excluded else ""),
                f"choose among: {_listed(ids, what)}",
            )
        township = self._township_code(which, what, ids)
        found = list(among.loc[among["township"] == township, "id"])
        if not found:
            plan = self._source.scenario.plan
            centre_code = self._source.region.county_centre.township
            town = self.region.township(township)
            if what != HUB_ROLE and township == centre_code and plan.exclude_centre_township:
                raise InputError(
                    f"township {town.name} ({town.code}) is the county centre's, where no new hub "
                    "goes ([plan] exclude_centre_township = true)",
                    "name another township, or re-plan with "
                    "with_settings(exclude_centre_township=False) first",
                )
            raise InputError(
                f"no {what} in township {town.name} ({town.code})",
                f"choose among: {_listed(ids, what)}",
            )
        return found

    def _township_code(self, which: str, what: str, ids: Sequence[str]) -> str:
        """The code of township ``which``; a name that is neither a site id nor a township (a
        mistyped id, stray whitespace) is refused naming both kinds of name it could have been."""
        try:
            return self.region.township(which).code
        except InputError:
            stray = " (it has leading or trailing whitespace)" if which != which.strip() else ""
            towns = ", ".join(f"{t.name} ({t.code})" for t in self.region.townships)
            hubs = [str(h) for h in self.hubs.loc[self.hubs["role"] == HUB_ROLE, "id"]]
            raise InputError(
                f"{which!r} is neither a {what} id of this plan nor a township of region "
                f"{self.region.id!r}{stray}",
                f"{what} ids: {_listed(ids, what)}"
                + (f" (this plan's hubs: {', '.join(hubs)})" if what != HUB_ROLE else "")
                + f"; townships (9-digit code, Chinese name or pinyin): {towns}",
            ) from None

    def _removed_sites(self, which: str) -> list[str]:
        """The candidate sites a removal of ``which`` excludes.

        A hub id removes its site: every candidate on the same road-graph node (a settlement and
        the main-road junction beside it can share one, and the location model would otherwise
        reopen the removed hub under the other id). A township removes every candidate of that
        township, so no hub is left there.
        """
        hubs = self.hubs[self.hubs["role"] == HUB_ROLE]
        gone = self._sites(which, hubs, HUB_ROLE)
        fac = self._source.facilities
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
        fac = self._source.facilities
        if which in set(fac["id"]) and which not in set(self.candidates["id"]):
            return  # the county centre or an excluded site: _best_site names it
        is_site = which in set(fac["id"])
        if is_site:
            code = fac.loc[fac["id"] == which, "township"].iloc[0]
        else:
            code = self._township_code(which, "candidate site", list(self.candidates["id"]))
        hubs = self.hubs[(self.hubs["role"] == HUB_ROLE) & (self.hubs["township"] == code)]
        held = [str(h) for h in hubs["id"] if h not in leaving and h != which]
        room = self._source.scenario.plan.max_per_township
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

    def _best_site(self, which: str) -> tuple[str, str]:
        """The candidate site a new hub at ``which`` opens, and a note saying which and why.

        A candidate site id is itself; a township gives its most populous candidate settlement
        (the township seat, typically), then its other settlements by population, then its road
        junctions (no population), ties by id; with room for another hub there
        (``max_per_township`` > 1), the best not yet a hub. The one place a township's site is
        resolved: :meth:`with_hub` and :meth:`swap_hub` both call it.
        """
        sites = self._sites(which, self.candidates, "candidate site")
        fac = self._source.facilities.set_index("id")
        if sites == [which]:
            return which, f"{which} ({fac.at[which, 'name']}), named by its id"
        population = self._source.villages.set_index("id")["population"]
        ranked = pd.DataFrame(
            {
                "id": sites,
                "population": pd.to_numeric(population.reindex(sites), errors="coerce").to_numpy(),
            }
        ).sort_values(["population", "id"], ascending=[False, True], na_position="last")
        order = [str(s) for s in ranked["id"]]
        hubs = set(self.hubs["id"])
        site = next((s for s in order if s not in hubs), order[0])
        people = float(dict(zip(order, ranked["population"], strict=True))[site])
        if math.isnan(people):
            kind = "best road junction (none of its candidate settlements is free)"
        elif site == order[0]:
            kind = f"most populous candidate settlement ({int(people):,} people)"
        else:
            kind = f"most populous candidate settlement not yet a hub ({int(people):,} people)"
        town = self.region.township(str(fac.at[site, "township"])).name
        return site, f"{site} ({fac.at[site, 'name']}), township {town}'s {kind}"

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
        change = f"without_hub({which!r}): excluded {', '.join(gone)}"
        return self._derived(forced, excluded, change)

    def _derived(self, forced: tuple[str, ...], excluded: tuple[str, ...], change: str) -> Plan:
        """This plan re-planned with other forced / excluded sites, ``change`` recorded.

        The location model is solved again, so hubs other than the ones named may change too;
        the record names them (a swap_hub that also replaced a second hub said nothing of it).
        """
        plan = self._from_inputs(
            self._source, forced, excluded, self.parallel, (*self.hub_changes, change)
        )
        before, after = set(self.hubs["id"]), set(plan.hubs["id"])
        asked_out = set(excluded) - set(self.excluded)
        asked_in = set(forced) - set(self.forced)
        closed, opened = sorted(before - after - asked_out), sorted(after - before - asked_in)
        if not closed and not opened:
            return plan
        also = "; the location model re-solved also " + " and ".join(
            f"{what} {', '.join(sites)}" for what, sites in (("closed", closed), ("opened", opened))
            if sites
        )  # fmt: skip
        changes = (*self.hub_changes, change + also)
        placement = replace(plan.result.placement, changes=changes)
        return replace(plan, result=replace(plan.result, placement=placement), hub_changes=changes)

    def with_hub(self, which: str) -> Plan:
        """Re-plan with a hub forced at ``which``: a candidate site id, or a township (its
        most populous candidate settlement; its road junctions only after its settlements).

        The site chosen, and why, is in the new plan's :attr:`hub_changes` (and its manifest).
        """
        _site_arg(which, "which", "with_hub")
        self._refuse_taken_township(which, ())
        site, why = self._best_site(which)
        forced = tuple(dict.fromkeys((*self.forced, site)))
        excluded = tuple(e for e in self.excluded if e != site)
        return self._derived(forced, excluded, f"with_hub({which!r}): forced {why}")

    def swap_hub(self, old: str, new: str) -> Plan:
        """Re-plan with the hub ``old`` replaced by one at ``new``, the other hubs kept where
        they are (ids or townships; ``old`` as for :meth:`without_hub`, ``new`` as for
        :meth:`with_hub`: a township's most populous candidate settlement).

        A one-for-one swap: the other new hubs are forced too, so the before/after of the two
        plans is the effect of this one change (the location model re-solved freely moved other
        hubs as well: bb23 D10); :meth:`without_hub` is the change that lets the model re-place.
        A site an earlier change excluded may be named: the later change wins. The sites, and
        why, are in :attr:`hub_changes`.
        """
        _site_arg(old, "old", "swap_hub")
        _site_arg(new, "new", "swap_hub")
        gone = self._removed_sites(old)
        self._refuse_taken_township(new, gone)
        site, why = self._best_site(new)
        if site in gone:
            raise InputError(
                f"swap_hub: {new!r} gives the site {site!r}, which {old!r} removes",
                "name another township or candidate site id for the new hub",
            )
        hubs = self.hubs
        if site in set(hubs["id"]):  # bb24 D6: it acted as without_hub, the log said a swap
            raise InputError(
                f"swap_hub: {new!r} gives the site {site!r}, which is already a hub of this plan",
                f"name a site that is not a hub, or use without_hub({old!r}) to let the location "
                "model re-place it",
            )
        kept = [str(h) for h in hubs.loc[hubs["role"] == HUB_ROLE, "id"] if h not in gone]
        excluded = tuple(e for e in dict.fromkeys((*self.excluded, *gone)) if e != site)
        forced = tuple(dict.fromkeys((*(f for f in self.forced if f not in gone), *kept, site)))
        change = (
            f"swap_hub({old!r}, {new!r}): excluded {', '.join(gone)}; forced {why}; kept the "
            f"other {len(kept)} hub(s) where they were"
        )
        return self._derived(forced, excluded, change)

    def _with_region(self, region: Region, change: str) -> Plan:
        # the manifest's region source names the change, so the folder says how it was made
        region = replace(region, source_file=f"{region.source_file} + {change}")
        scenario = replace(self._source.scenario, region=region)
        inputs = prepare(scenario, cache=self._source.cache)
        return self._from_inputs(
            inputs, self.forced, self.excluded, self.parallel, self.hub_changes
        )

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
            seconds = round(float(value) * 60)
            if seconds < 1:  # the orders carry whole seconds: 0 s would fail deep in routing
                raise InputError(
                    f"with_cold_chain: {name[:-2]}_min = {value!r} is less than one second "
                    "(limits are kept in whole seconds)",
                    "give minutes in vehicle, e.g. produce_min=120",
                )
            changes[name] = seconds
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
        plan = replace(self._source.scenario.plan, **settings)
        # as Plan.load: refuse a p that no choice of hubs can meet, before any work
        check_hub_room(plan, self.region, "with_settings:")
        scenario = self._source.scenario
        source = f"{scenario.source} + {_call('with_settings', settings)}"
        inputs = prepare(replace(scenario, plan=plan, source=source), cache=self._source.cache)
        # settings that rebuild the network (stand-in scale, extract ...) give other candidate
        # sites: hub changes naming sites of the old one cannot apply, and that is the
        # caller's order of calls, not an infeasible request
        sites = set(inputs.facilities["id"])
        lost = [s for s in (*self.forced, *self.excluded) if s not in sites]
        if lost:
            raise InputError(
                f"with_settings({', '.join(sorted(settings))}=...) plans on other candidate "
                f"sites, where this plan's hub changes ({'; '.join(self.hub_changes)}) name "
                f"sites that do not exist: {', '.join(lost)}",
                "apply the settings first (Plan.load(..., setting=value) or with_settings on the "
                "plan before the hub changes), then the hub changes",
            )
        return self._from_inputs(
            inputs, self.forced, self.excluded, self.parallel, self.hub_changes
        )


def _table_prints(result: PlanResult) -> dict[str, int]:
    """A fingerprint of every table (DataFrame) the plan's result holds, by its path
    (``result.planned.stops``): its columns, index and values, geometry left out (WKB of every
    point and line would cost more than the tables' values; an edit that moves a geometry alone
    goes unseen). The road network and matrices are arrays, not tables: not covered."""
    prints: dict[str, int] = {}

    def walk(obj: Any, path: str, depth: int) -> None:
        if isinstance(obj, pd.DataFrame):
            values = obj.drop(columns=[c for c in obj.columns if obj[c].dtype == "geometry"])
            try:
                hashed = pd.util.hash_pandas_object(values, index=True)
            except TypeError:  # unhashable cells (lists, dicts): their text
                hashed = pd.util.hash_pandas_object(values.astype(str), index=True)
            prints[path] = hash((tuple(map(str, obj.columns)), len(obj), int(hashed.sum())))
        elif isinstance(obj, Mapping) and depth < 5:
            for key, value in obj.items():
                walk(value, f"{path}[{key!r}]", depth + 1)
        elif dataclasses.is_dataclass(obj) and not isinstance(obj, type) and depth < 5:
            for f in fields(obj):
                walk(getattr(obj, f.name), f"{path}.{f.name}", depth + 1)

    walk(result, "result", 0)
    return prints


def _listed(ids: Sequence[str], what: str, most: int = 20) -> str:
    """Ids for a message: all of them, or the first ``most`` and how many there are in all."""
    shown = ", ".join(map(str, ids[:most]))
    if len(ids) <= most:
        return shown
    table = "plan.hubs" if what == HUB_ROLE else "plan.candidates"
    return f"{shown}, ... ({most} of {len(ids)}; all in {table})"


def _call(method: str, arguments: Mapping[str, Any]) -> str:
    """``Plan.method(key=value, ...)`` as the manifest records a change made through the API."""
    return f"Plan.{method}({', '.join(f'{k}={v!r}' for k, v in arguments.items())})"


def compare_plans(
    a: Plan, b: Plan, labels: tuple[str, str] = ("A", "B")
) -> tuple[pd.DataFrame, folium.plugins.DualMap]:
    """Two plans side by side: a KPI table and a synchronised two-pane map.

    The table has one row per figure of ``kpis.json``, a column per plan (``labels``) and
    ``difference`` = ``b - a`` (right minus left: ``labels[1]`` - ``labels[0]``, as the table's
    column header says; negative where ``b`` has less). A figure's ``difference`` is left empty
    where the two plans' figures cover different orders (order counts keep theirs: how many
    more or fewer orders a figure covers): ``orders_compared``, ``lead_time.*`` and
    ``routed_compared.*`` cover the orders each plan served with and without its hubs,
    ``routed_totals.<scenario>.*`` and ``routing.<scenario>.*`` each plan's own served orders,
    and those sets can differ (a tighter cold-chain limit leaves orders unserved in one
    baseline). Plan against plan over the same orders are the ``same_orders.*`` rows: parcel
    lead times and routed figures (trunk and hub cost included) over the orders both plans
    served on their plan day, computed as ``lastmile compare --plans`` does
    (:func:`lastmile.study.same_orders`); a warning says when differences were left empty. Two
    plans of different order days (seed, orders) are warned about and have no ``same_orders``.

    The map shows ``a`` left and ``b`` right, each pane with its own hubs, routes, villages and
    township access-time savings only.
    """
    _plan_arg(a, "a", "compare_plans")
    _plan_arg(b, "b", "compare_plans")
    a._check_unedited("compare_plans (a)")
    b._check_unedited("compare_plans (b)")
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
    if "difference" in labels:  # the table's own column: a plan's column would be overwritten
        raise InputError(
            f"compare_plans: labels = {labels!r}: 'difference' is the table's column of b - a",
            "give the plans other names",
        )
    labels = (labels[0], labels[1])
    # each a full kpis.json, computed once (checked unedited above: not .kpis, which checks again)
    kpis_a, kpis_b = a.result.kpis(), b.result.kpis()
    ka, kb = flatten(kpis_a), flatten(kpis_b)
    ids_a, ids_b = set(a.inputs.orders["id"]), set(b.inputs.orders["id"])
    seeds = (a.inputs.scenario.plan.seed, b.inputs.scenario.plan.seed)
    networks = (a.inputs.source.label, b.inputs.source.label)
    keys = (a.inputs.network.cache_key, b.inputs.network.cache_key)
    same_network = networks[0] == networks[1] and (None in keys or keys[0] == keys[1])
    same_day = ids_a == ids_b and seeds[0] == seeds[1] and same_network
    villages_a = frozenset(a.inputs.villages["id"].astype(str))
    villages_b = frozenset(b.inputs.villages["id"].astype(str))
    orders_a, orders_b = _order_rows(a), _order_rows(b)
    rows = []
    blanked: list[str] = []
    for key in dict.fromkeys([*ka, *kb]):
        va, vb = ka.get(key), kb.get(key)
        if ".by_reason." in key:  # kpis.json lists the reasons that occur: absent is none
            va, vb = (0 if v is None else v for v in (va, vb))
        # rounded: a difference of two rounded figures carries float noise (0.5399999999999991)
        diff = (
            round(vb - va, 6)
            if isinstance(va, int | float) and isinstance(vb, int | float)
            else None
        )
        if isinstance(va, bool) or isinstance(vb, bool):
            diff = None
        covers_a, covers_b = _orders_of_row(orders_a, key), _orders_of_row(orders_b, key)
        differ = covers_a != covers_b or (covers_a is not None and not same_day)
        # access times are over each plan's settlements: other settlements, no difference
        differ |= _section_of(key) == "access_time" and villages_a != villages_b
        # the trunk runs carry each day's parcels; on other roads no figure is like for like
        differ |= _section_of(key) == "trunk" and not same_day
        differ |= not same_network
        if diff is not None and differ and not _is_order_count(key):
            diff = None  # the two figures cover different orders: no difference to take
            blanked.append(key)
        rows.append({"kpi": key, labels[0]: va, labels[1]: vb, "difference": diff})
    if same_day and orders_a is not None and orders_b is not None:
        rows += _same_order_rows(orders_a, orders_b, labels)
    table = pd.DataFrame(rows).set_index("kpi")
    table.columns.name = f"difference = {labels[1]} - {labels[0]}"
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

    # each pane its own plan's hubs and township figures: a hub removed in b is not on b's pane
    dual = compare_map(
        lb.townships,
        lb.villages,
        lb.hubs,
        both("routes"),
        both("stops"),
        both("unassigned"),
        title=f"{labels[0]} (left) vs {labels[1]} (right)",
        source_label=a.inputs.source.label,
        scenarios=labels,
        baseline_villages=la.villages,
        left_hubs=la.hubs,
        left_townships=la.townships,
        trunk_km={labels[0]: _trunk_km(kpis_a), labels[1]: _trunk_km(kpis_b)},
    )
    hubs_a = set(a.hubs.loc[a.hubs["role"] == HUB_ROLE, "id"])
    hubs_b = set(b.hubs.loc[b.hubs["role"] == HUB_ROLE, "id"])
    by_catchments = {p.inputs.scenario.plan.baseline_routing for p in (a, b)} == {"catchments"}
    if same_network and by_catchments and hubs_a != hubs_b:
        # bb23 D11: one swap moved the baseline by 500 km, read as part of the hubs' effect
        warnings.warn(
            f"compare_plans: {labels[0]} and {labels[1]} have other hubs, and each baseline (the "
            "county centre alone) is routed by its own plan's catchments ([plan] "
            "baseline_routing = 'catchments'): their baseline figures differ by that routing, "
            "not by any change at the centre; compare the plan rows (or same_orders), or route "
            "both baselines as one model (baseline_routing = 'joint')",
            stacklevel=2,
        )
    if not same_network:
        warnings.warn(
            f"compare_plans: {labels[0]} and {labels[1]} come from different road networks "
            f"({labels[0]}: {networks[0]}; {labels[1]}: {networks[1]}"
            + ("" if networks[0] != networks[1] else ", built from different data")
            + "): their roads, settlements and orders differ, so only counts keep a difference; "
            "plan both on the same road network to compare them",
            stacklevel=2,
        )
    elif not same_day:
        why = f"seed {seeds[0]} vs {seeds[1]}; " if seeds[0] != seeds[1] else ""
        warnings.warn(
            f"compare_plans: {labels[0]} and {labels[1]} route different order days ({why}"
            f"{len(ids_a - ids_b)} orders only in {labels[0]}, {len(ids_b - ids_a)} only in "
            f"{labels[1]}): their routed, lead-time and cold-chain figures are not like for "
            "like; compare access time, or plan both on the same day",
            stacklevel=2,
        )
    elif blanked:
        sections = sorted({_section_of(key) for key in blanked})
        warnings.warn(
            f"compare_plans: {labels[0]} and {labels[1]}'s {', '.join(sections)} figures cover "
            "different orders (each plan's orders served with and without its hubs, or each "
            "scenario's own served orders), so their difference is left empty; the same_orders "
            "rows compare the two plans over the orders both served",
            stacklevel=2,
        )
    return table, dual


#: kpis.json sections over the orders a plan served in both its scenarios ("compared")
_COMPARED_SECTIONS = ("orders_compared", "lead_time", "routed_compared")
#: kpis.json sections over each scenario's own served orders (``<section>.<scenario>.*``)
_SERVED_SECTIONS = ("routed_totals", "routing")


def _is_order_count(key: str) -> bool:
    """Whether a flattened kpis.json figure counts orders (``orders_compared``, ``*.orders``,
    ``*.unassigned_by_reason.*`` ...): a count's difference says how many more or fewer orders a
    figure covers, and is kept where the order sets differ."""
    parts = key.split(".")
    return (
        key in ("orders_compared", "villages")
        or parts[-1]
        in (
            "orders",
            "orders_served",
            "unassigned",
            "servable_orders",
            "perishable_orders",
            "compliant",
            "villages_compared",
            "at_least_unserved",
            "group_orders",
            "hubs_served",
            "unserved",
        )
        or "unassigned_by_reason" in parts
        or "by_reason" in parts
    )


def _section_of(key: str) -> str:
    return key.split(".", 1)[0]


def _order_rows(plan: Plan) -> pd.DataFrame | None:
    """The plan's order table (:attr:`lastmile.endtoend.EndToEnd.orders`), if it has one."""
    e2e = plan.result.end_to_end
    return None if e2e is None else e2e.orders


def _orders_of_row(orders: pd.DataFrame | None, key: str) -> frozenset[str] | None:
    """The order ids a flattened kpis.json figure ``key`` covers, for the sections over a set of
    orders that two plans can differ in; ``None`` for the others (and without an order table)."""
    if orders is None:
        return None
    section = _section_of(key)
    if section == "cold_chain":  # every perishable order of the day: the day's orders decide
        return frozenset(orders["order_id"].astype(str))
    if section in _COMPARED_SECTIONS:
        return frozenset(orders.loc[orders["compared"].astype(bool), "order_id"].astype(str))
    parts = key.split(".")
    if section in _SERVED_SECTIONS and len(parts) > 2:
        mine = orders[(orders["scenario"] == parts[1]) & orders["served"].astype(bool)]
        return frozenset(mine["order_id"].astype(str))
    return None


def _same_order_rows(
    orders_a: pd.DataFrame, orders_b: pd.DataFrame, labels: tuple[str, str]
) -> list[dict[str, Any]]:
    """The ``same_orders.*`` rows of :func:`compare_plans`: both plans' plan days over the
    orders both served (:func:`lastmile.study.same_orders`, as ``lastmile compare --plans``)."""
    same = same_orders(
        orders_a[orders_a["scenario"] == "plan"], orders_b[orders_b["scenario"] == "plan"]
    )
    rows: list[dict[str, Any]] = [
        {
            "kpi": "covers.same_orders",
            labels[0]: f"the {same.orders} orders (of {same.of}) both plans served with their "
            "hubs: parcel lead times, and routed figures with trunk and hub cost",
            labels[1]: f"the same {same.orders} orders",
            "difference": None,
        },
        {"kpi": "same_orders.orders", labels[0]: same.orders, labels[1]: same.orders,
         "difference": 0},
    ]  # fmt: skip
    for part, per_plan in (("parcel", same.parcel), ("routed", same.routed)):
        if len(per_plan) != 2:
            continue
        fa, fb = ({k: v for k, v in r.items() if k != "plan"} for r in per_plan)
        rows += [
            {
                "kpi": f"same_orders.{part}.{name}",
                labels[0]: fa[name],
                labels[1]: fb[name],
                "difference": round(fb[name] - fa[name], 6),
            }
            for name in fa
        ]
    return rows


def _trunk_km(kpis: Mapping[str, Any]) -> float:
    """Km of a plan's trunk runs (morning and evening), which its last-mile routes leave out."""
    runs = kpis.get("trunk", {}).get("runs", {})
    return float(sum(run["km"] for run in runs.values()))

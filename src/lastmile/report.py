"""The output folder of a plan: maps, plots, GeoPackage, CSV, kpis.json, summary, run manifest.

Layout of ``OUT``::

    maps/plan.html, maps/baseline.html   county maps (Folium)
    plots/*.png                          delivery-time distribution, minutes saved, p-curve
    lastmile.gpkg                        layers townships, villages, hubs, assignments, routes,
                                         stops, unassigned
    hubs.csv, assignments.csv, routes.csv, stops.csv, unassigned.csv, townships.csv
    kpis.json                            results only: identical between runs with the same inputs
    summary.md                           the study as Markdown tables
    manifest.json                        inputs with content hashes, config, versions, seed, timings

Every file is written atomically (:mod:`lastmile.io`).
"""

from __future__ import annotations

import hashlib
import platform
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from lastmile import __version__
from lastmile.config import format_clock
from lastmile.demand import CENTRE_ROLE
from lastmile.errors import InputError, OutputError
from lastmile.io import (
    atomic_dir,
    file_sha256,
    package_versions,
    source_commit,
    write_csv,
    write_geopackage,
    write_json,
    write_text,
)
from lastmile.map_assets import resolve_map_assets
from lastmile.maps import plan_map, save_map
from lastmile.plan import Placement, PlanInputs, PlanResult, RoutePlan, trunk_routes
from lastmile.plots import delivery_time_distribution, minutes_saved_by_township
from lastmile.plots import p_curve as plot_p_curve
from lastmile.study import (
    AccessStudy,
    PlanComparison,
    cold_chain_shown,
    markdown_table,
    not_arrived_clause,
)

VERSIONED = ("osmnx", "networkx", "scipy", "numpy", "geopandas", "shapely", "ortools", "folium")


def _townships_layer(result: PlanResult) -> gpd.GeoDataFrame:
    towns = result.inputs.townships.gdf.copy()
    study = result.study.townships.set_index("code")
    for col in ("mean_min_before", "mean_min_after", "minutes_saved", "villages"):
        towns[col] = towns["code"].map(study[col])
    return towns


def _villages_layer(result: PlanResult) -> gpd.GeoDataFrame:
    v = result.inputs.villages.drop(columns=["node"]).copy()
    s = result.study.villages.set_index("village")
    v["facility"] = v["id"].map(s["facility_after"])
    v["minutes_before"] = v["id"].map(s["minutes_before"])
    v["minutes_after"] = v["id"].map(s["minutes_after"])
    v["minutes_saved"] = v["id"].map(s["minutes_saved"])
    return v


def _stops_for_map(stops: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = stops.copy()
    if "arrival" not in out.columns and "arrival_s" in out.columns:
        out["arrival"] = [format_clock(int(s)) for s in out["arrival_s"]]
    return out


def write_outputs(
    result: PlanResult, out: str | Path, *, map_assets: str = "auto"
) -> dict[str, Path]:
    """Write the whole output folder; return the written paths by name.

    ``map_assets``: ``"auto"`` (embed Leaflet & co. when local copies exist, else link CDNs),
    ``"cdn"`` or ``"inline"``; the manifest says which the maps use. The folder is written
    beside ``out`` and swapped in when complete (:func:`lastmile.io.atomic_dir`): ``out`` holds
    either the complete new outputs or what it held before.
    """
    out = Path(out)
    with atomic_dir(out) as staging:
        paths = _write_folder(result, staging, map_assets=map_assets)
    return {name: out / path.relative_to(staging) for name, path in paths.items()}


@dataclass(frozen=True)
class MapLayers:
    """The layers the maps and the GeoPackage share (WGS84 GeoDataFrames)."""

    townships: gpd.GeoDataFrame
    villages: gpd.GeoDataFrame
    hubs: gpd.GeoDataFrame
    routes: gpd.GeoDataFrame
    stops: gpd.GeoDataFrame
    unassigned: gpd.GeoDataFrame
    trunk: gpd.GeoDataFrame
    orders: gpd.GeoDataFrame


def map_layers(result: PlanResult) -> MapLayers:
    """Townships, villages (with lead times), hubs (with trunk arrival), routes, stops, unserved
    orders, trunk routes and orders of both scenarios, as the maps and the GeoPackage show them."""
    routes = pd.concat([result.baseline.routes, result.planned.routes], ignore_index=True)
    stops = pd.concat([result.baseline.stops, result.planned.stops], ignore_index=True)
    una = pd.concat([result.baseline.unassigned, result.planned.unassigned], ignore_index=True)
    orders = _orders_layer(result)
    return MapLayers(
        townships=_townships_layer(result),
        villages=_with_lead_times(_villages_layer(result), orders),
        hubs=_with_trunk_arrival(result.placement.hubs.drop(columns=["node"]), result),
        routes=gpd.GeoDataFrame(routes, geometry="geometry", crs="EPSG:4326"),
        stops=gpd.GeoDataFrame(
            _stops_for_map(gpd.GeoDataFrame(stops, geometry="geometry", crs=4326)),
            geometry="geometry",
            crs="EPSG:4326",
        ),
        unassigned=gpd.GeoDataFrame(una, geometry="geometry", crs="EPSG:4326"),
        trunk=_trunk_layer(result),
        orders=orders,
    )


def scenario_map(
    result: PlanResult, scenario: str = "plan", layers: MapLayers | None = None
) -> folium.Map:
    """The folium map of one scenario (``"plan"``: centre + hubs with trunk runs; ``"baseline"``:
    the county centre alone), titled with the region and the data source."""
    if scenario not in ("plan", "baseline"):
        raise InputError(f"unknown scenario {scenario!r}", "use 'plan' or 'baseline'")
    lay = layers or map_layers(result)
    inp = result.inputs
    hubs = lay.hubs
    depots = hubs if scenario == "plan" else hubs[hubs["role"] == CENTRE_ROLE]
    synthetic = " — synthetic stand-in, NOT real OSM data" if inp.source.synthetic else ""
    what = (
        f"county centre + {len(hubs) - 1} hubs"
        if scenario == "plan"
        else "county centre only (baseline)"
    )
    title = f"{inp.region.name} ({inp.region.name_local}): {what}{synthetic}"
    villages = lay.villages
    centre = str(hubs.loc[hubs["role"] == CENTRE_ROLE, "id"].iloc[0])
    served = villages if scenario == "plan" else villages.assign(facility=centre)
    cold_chain = (
        result.end_to_end.summary["cold_chain"].get(scenario)
        if result.end_to_end is not None
        else None
    )
    return plan_map(
        lay.townships,
        served,
        depots,
        lay.routes[lay.routes["scenario"] == scenario],
        lay.stops[lay.stops["scenario"] == scenario],
        lay.unassigned[lay.unassigned["scenario"] == scenario],
        title=title,
        source_label=inp.source.label,
        scenario=scenario,
        trunk=lay.trunk if scenario == "plan" else None,
        cold_chain=cold_chain,
    )


def _write_folder(result: PlanResult, out: Path, *, map_assets: str) -> dict[str, Path]:
    """The files of :func:`write_outputs`, written into ``out``."""
    assets = resolve_map_assets(map_assets)
    inp = result.inputs
    lay = map_layers(result)
    towns, villages, hubs = lay.townships, lay.villages, lay.hubs
    routes, stops, una, trunk, orders = lay.routes, lay.stops, lay.unassigned, lay.trunk, lay.orders
    assignments = result.study.villages.copy()
    paths: dict[str, Path] = {}
    for scenario in ("plan", "baseline"):
        m = scenario_map(result, scenario, lay)
        paths[f"map_{scenario}"] = save_map(m, out / "maps" / f"{scenario}.html", assets=assets)

    # every file says which road network its figures come from (the stand-in is not real data):
    # plots in their title, tables in a last column ``network``
    flag = " — synthetic stand-in, NOT real OSM data" if inp.source.synthetic else ""

    def noted(table: pd.DataFrame) -> pd.DataFrame:
        return table.assign(network=inp.source.label)

    compared = assignments[assignments["unreachable"] == ""]  # villages with a time in both
    paths["plot_times"] = delivery_time_distribution(
        compared["minutes_before"],
        compared["minutes_after"],
        compared["weight"],
        out / "plots" / "delivery_times.png",
        title=f"Access time per village, weighted by demand{flag}",
        stats=_unrounded(result.study),
    )
    paths["plot_townships"] = minutes_saved_by_township(
        result.study.townships.dropna(subset=["minutes_saved"]).assign(
            pinyin=result.study.townships["code"].map(
                {t.code: t.pinyin for t in inp.region.townships}
            )
        ),
        out / "plots" / "minutes_saved_by_township.png",
        title=f"Access time saved by township (demand-weighted mean){flag}",
    )

    layers = {
        "townships": towns,
        "villages": villages,
        "hubs": hubs,
        "assignments": gpd.GeoDataFrame(
            assignments,
            geometry=villages.set_index("id").loc[assignments["village"]].geometry.to_numpy(),
            crs=4326,
        ),
        "routes": routes,
        "stops": stops,
        "unassigned": una,
    }
    if orders is not None:
        layers["orders"] = orders
    if trunk is not None and len(trunk):
        layers["trunk_routes"] = trunk
    layers = {name: noted(layer) for name, layer in layers.items()}
    paths["gpkg"] = write_geopackage(out / "lastmile.gpkg", layers)
    for name in ("hubs", "routes", "stops", "unassigned", "orders", "trunk_routes"):
        if name in layers:
            places = ORDER_DECIMALS if name == "orders" else None
            paths[f"csv_{name}"] = write_csv(out / f"{name}.csv", layers[name], places)
    if result.end_to_end is not None:
        paths["csv_lead_townships"] = write_csv(
            out / "lead_time_townships.csv", noted(result.end_to_end.townships)
        )
    paths["csv_assignments"] = write_csv(out / "assignments.csv", noted(assignments))
    paths["csv_townships"] = write_csv(out / "townships.csv", noted(result.study.townships))
    kpis = result.kpis()
    paths["kpis"] = write_json(out / "kpis.json", kpis)
    paths["summary"] = write_text(out / "summary.md", summary_markdown(result))
    paths["manifest"] = write_json(out / "manifest.json", manifest(result, map_assets=assets))
    return paths


def _unrounded(study: AccessStudy) -> tuple[Mapping[str, float], Mapping[str, float]] | None:
    """The study's unrounded statistics before and after, for the plot legend (``None``: a
    study built without them)."""
    if "before" in study.unrounded and "after" in study.unrounded:
        return study.unrounded["before"], study.unrounded["after"]
    return None


def _trunk_layer(result: PlanResult) -> gpd.GeoDataFrame | None:
    runs = [r for r in (result.morning, result.evening) if r is not None]
    if not runs:
        return None
    frames = [trunk_routes(result.inputs, result.placement.hubs, r) for r in runs]
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=4326)


def _orders_layer(result: PlanResult) -> gpd.GeoDataFrame | None:
    """Per order and scenario: service, lead times, cold chain, allocated km / hours / cost."""
    if result.end_to_end is None:
        return None
    df = result.end_to_end.orders.copy()
    pts = result.inputs.orders.set_index(result.inputs.orders["id"].astype(str)).geometry
    for col, places in ORDER_DECIMALS.items():
        df[col] = df[col].astype(float).round(places)
    return gpd.GeoDataFrame(df, geometry=pts.loc[df["order_id"]].to_numpy(), crs=4326)


#: Decimals of the figures of ``orders.csv`` (``lastmile plan`` and ``lastmile compare`` alike).
#: Each order's share of its routes (km, hours, cost) keeps 6: `lastmile compare --plans` sums
#: them again over the orders two plans both served, and at 3 decimals (or 6 significant digits,
#: 4 decimals of a cost in the hundreds) the sums drifted from kpis.json's over a day (bb20 D7).
ORDER_DECIMALS = {
    **dict.fromkeys(("lead_min", "to_cold_room_min", "to_centre_min", "limit_min"), 3),
    **dict.fromkeys(("km", "vehicle_h", "cost", "trunk_km", "trunk_cost", "hub_cost"), 6),
}


def _with_lead_times(villages: gpd.GeoDataFrame, orders: pd.DataFrame | None) -> gpd.GeoDataFrame:
    """Mean parcel lead time per village before/after (over the orders served in both)."""
    if orders is None:
        return villages
    deliveries = orders[orders["kind"] == "delivery"]
    par = deliveries[deliveries["compared"]]
    out = villages.copy()
    for name, col in (("baseline", "lead_min_before"), ("plan", "lead_min_after")):
        mean = par[par["scenario"] == name].groupby("village")["lead_min"].mean().round(1)
        out[col] = out["id"].map(mean)
    # why a village has no figure: a parcel served in one scenario only is not compared
    has_parcel = out["id"].isin(set(deliveries["village"]))
    out["lead_note"] = np.where(
        out["lead_min_before"].notna(),
        "",
        np.where(has_parcel, "not compared: its parcel was served in one scenario only",
                 "no parcel order"),
    )  # fmt: skip
    return out


def _with_trunk_arrival(hubs: gpd.GeoDataFrame, result: PlanResult) -> gpd.GeoDataFrame:
    if result.morning is None:
        return hubs
    trunk = result.inputs.region.trunk
    arrival = result.morning.hub_arrival_s
    out = hubs.copy()
    out["trunk_arrival"] = [
        format_clock(arrival[str(h)]) if str(h) in arrival else "" for h in out["id"]
    ]
    out["vans_leave"] = [
        format_clock(arrival[str(h)] + trunk.hub_handling_s)
        if str(h) in arrival
        else (format_clock(trunk.cutoff_s) if r == CENTRE_ROLE else "")
        for h, r in zip(out["id"], out["role"], strict=True)
    ]
    return out


def summary_markdown(result: PlanResult) -> str:
    """The study as Markdown: headline figures, hubs, townships, routing side by side."""
    k = result.kpis()
    d = k["access_time"]
    lines = [
        f"# lastmile plan: {result.inputs.region.name}",
        "",
        f"Data source: **{k['data_source']}**",
        "",
        *(
            [f"**WARNING: {result.inputs.extract_coverage}.**", ""]
            if result.inputs.extract_coverage
            else []
        ),
        *_left_out_markdown(k),
        *_like_for_like_markdown(k, _cold_chain_line(result)),
        "## Access time: road time from the nearest open facility (demand-weighted)",
        "",
        f"Covers {_settlements_phrase(k)}, weighted by its demand; no routed order, no trunk "
        "leg: an access measure, not a delivery time.",
        "",
        markdown_table(
            pd.DataFrame(
                [{"": "county centre only", **d["before"]}, {"": "centre + hubs", **d["after"]}]
            )
        ),
        f"Mean minutes saved: **{d['mean_minutes_saved']}** ({d['reduction_share']:.1%}).",
        "",
        "## Hubs",
        "",
        markdown_table(
            pd.DataFrame(k["hubs"])[["id", "name", "role", "township_name", "township_pinyin"]]
        ),
        *_hub_changes(result),
        "## Townships",
        "",
        markdown_table(result.study.townships),
        "## Routed day (last-mile vehicles only)",
        "",
        _order_day_line(result),
        _fleet_line(result),
        "",
        markdown_table(
            pd.DataFrame(
                [
                    {"": n, **{kk: vv for kk, vv in r.items() if not isinstance(vv, dict | None)}}
                    for n, r in k["routing"].items()
                ]
            )
        ),
        routed_day_caveat(k),
        "",
        *_fleet_needed_markdown(k),
        *_search_depth_markdown(result, k),
    ]
    return "\n".join(lines) + "\n"


def _settlements_phrase(k: Mapping[str, Any]) -> str:
    beyond = (k.get("reachability") or {}).get("villages_beyond_snap_limit") or []
    if not beyond:
        return "every settlement (county and township seats included)"
    return (
        f"every settlement within the snap limit ({k['villages']} of "
        f"{k['villages'] + len(beyond)}, county and township seats included)"
    )


def _names(villages: Sequence[Mapping[str, Any]], first: int = 10) -> str:
    names = ", ".join(f"{v['name']} ({v['id']})" for v in villages[:first])
    return names + (f" and {len(villages) - first} more" if len(villages) > first else "")


def _left_out_markdown(k: Mapping[str, Any]) -> list[str]:
    """Lines naming the settlements the access times leave out, and why (none: no lines)."""
    reach = k.get("reachability") or {}
    beyond = reach.get("villages_beyond_snap_limit") or []
    lines = []
    if beyond:
        orders = sum(int(v.get("orders", 0)) for v in beyond)
        day = (
            f"{orders} of the day's {k['orders']} orders are at them"
            if orders
            else f"the day's {k['orders']} orders include none for them"
        )
        lines.append(
            f"Left out: {len(beyond)} of {k['villages'] + len(beyond)} settlements lie farther "
            f"than the {float(reach['snap_limit_m']):,.0f} m snap limit from the road network "
            f"(`[network] max_snap_m`): {_names(beyond)}. They have no access time, no hub "
            f"and no place in the routed day ({day}); `kpis.json` lists them under "
            "`reachability.villages_beyond_snap_limit`."
        )
    lost = (k.get("access_time") or {}).get("unreachable_villages") or {}
    ids = sorted({*lost.get("before", []), *lost.get("after", [])})
    if ids:
        lines.append(
            f"Left out of the access times: {len(ids)} settlement(s) without a road path from an "
            f"open facility in either plan: {', '.join(ids[:10])}"
            + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")
            + " (`access_time.unreachable_villages`)."
        )
    return [part for line in lines for part in (line, "")]


def routed_day_caveat(k: Mapping[str, Any]) -> str:
    """The line under a "Routed day" table (``kpis["routing"]``): what its figures cover.

    Those figures are the last-mile vehicles' alone, over each scenario's own served orders: the
    plan's trunk runs are not in them, so its km, vehicles and hours side by side with the
    baseline's overstate what the hubs save (on the small stand-in, 706 against 1,261 km while
    the like-for-like figures, trunk included, are 1,133 against 1,261 km). The line names the
    trunk left out and where the like-for-like figures are.
    """
    runs = k.get("trunk", {}).get("runs", {})
    if runs:
        each = ", ".join(
            f"{run} {v['km']:,.1f} km by {v['vehicles_used']} vehicle(s)" for run, v in runs.items()
        )
        total = sum(float(v["km"]) for v in runs.values())
        trunk = f"trunk runs excluded (plan: {each}; {total:,.1f} km in all)"
    else:
        trunk = "trunk runs excluded"
    served = ", ".join(f"{n} {r['orders_served']}" for n, r in k["routing"].items())
    where = (
        f"compare like for like in 'Routed figures over the same {k['orders_compared']} orders' "
        "(trunk and hub cost included)"
        if "routed_compared" in k
        else "not comparable side by side"
    )
    return (
        f"Last-mile vehicles only: {trunk}; each scenario's own served orders ({served}) — {where}."
    )


def _fleet_needed_markdown(k: Mapping[str, Any]) -> list[str]:
    """The fleet search's table (``--fleet-needed``), as in ``study.md``; none without it."""
    if "fleet_needed" not in k:
        return []
    return [
        "## Fleet needed to serve every servable order",
        "",
        markdown_table(_fleet_table(k)),
        FLEET_NEEDED_COVERS,
    ]


#: what the "Fleet needed" table's columns cover (the README's KPI table, bb25 D27)
FLEET_NEEDED_COVERS = (
    "Smallest vehicles per type and depot (+ trunk) with which every servable order (unserved "
    'reason not "infeasible") is served, by bisection over routed, validated days (at the '
    "routed days' search depth, below) from the vehicles the routed day used: `vehicles` = all "
    "of them, trunk-run trucks included; `vehicles_<type>` = vehicles of that type on last-mile "
    "routes (`vehicles_trunk`: trunk-type trucks the centre sends on last-mile routes); "
    "`trunk_run_vehicles` = trucks on trunk runs; `all_servable_served` = whether that fleet "
    "serves all `servable_orders` (false: the largest fleet tried); `cost` = the cost of that "
    "fleet's day (fixed + per km + per hour, the plan's trunk runs and hubs' daily cost "
    "included), not the routed day's; `routed_days` = days the search routed; "
    "`one_fewer_fails` = at every depot, one vehicle fewer of any one type fails.\n"
)


def _fleet_line(result: PlanResult) -> str:
    """The fleet the routed days used: vehicles per depot by type (bb23 D7: two plans with other
    fleets had summaries alike but for their numbers)."""
    fleet = ", ".join(
        f"{vt.id} {vt.count_per_depot if isinstance(vt.count_per_depot, int) else 'per depot'}"
        for vt in result.inputs.region.fleet
    )
    return (
        f"Fleet per depot (the county centre and each hub): {fleet}; the baseline stations all "
        "of them, and the trunk vehicles, at the county centre."
    )


def _cold_chain_line(result: PlanResult) -> str:
    """The cold-chain limits the orders were routed under (their source: the region file)."""
    cold = result.inputs.region.cold_chain
    return (
        f"Limits in vehicle by product class: produce {cold.produce_s / 60:g} min, tea "
        f"{cold.tea_s / 60:g} min, parcel {cold.parcel_s / 60:g} min (region [cold_chain]; an "
        "orders file's max_in_vehicle_min sets its own orders')."
    )


def _api_settings(result: PlanResult) -> list[str]:
    """The settings changed through the Python API (``with_settings`` in the scenario's source,
    ``with_cold_chain`` / ``with_fleet`` in the region's), in the order they were made."""
    sources = (result.inputs.scenario.source, result.inputs.region.source_file)
    made = [part for src in sources for part in src.split(" + ") if part.startswith("Plan.")]
    if not made:
        return []
    return [
        f"Settings changed through the Python API (also in manifest.json): {'; '.join(made)}.",
        "",
    ]


def _order_day_line(result: PlanResult) -> str:
    """Which order day the routed figures cover: the orders file, or the generated day's seed."""
    plan = result.inputs.scenario.plan
    if plan.orders:
        return f"Order day: the orders file {plan.orders} ({len(result.inputs.orders)} orders)."
    return (
        f"Order day: generated from the settlements' demand, seed {plan.seed} "
        f"({len(result.inputs.orders)} orders)."
    )


def _hub_changes(result: PlanResult) -> list[str]:
    """Lines naming the sites a plan changed through the API forces or excludes (none: no lines)."""
    pl = result.placement
    if not pl.forced and not pl.excluded:
        return _api_settings(result)
    return [
        *_api_settings(result),
        "Hub changes made through the Python API (also in manifest.json): forced "
        f"{', '.join(pl.forced) or 'none'}; excluded {', '.join(pl.excluded) or 'none'}.",
        "",
        # which site each call chose (a township gives its most populous candidate settlement)
        *(f"- {change}" for change in pl.changes),
        *([""] if pl.changes else []),
    ]


#: what depth did to three Suichang days (BENCHMARKS.md, "Session 10", "Session 14" and
#: "Session 16"): the routes of every output depend on the search depth, so the summary says how
#: deep it went
DEPTH_REFERENCE = (
    "Measured on three generated Suichang days (seed 2026, the default day, 2027 and 2028; "
    "session 16): at the default 850 solutions per model the plan's km are 1.3 %, 1.7 % and "
    "2.7 % above a long search (on the default day a 10-minute search, on the others 2,000 "
    "solutions), the baseline's 0.0 %, 1.9 % and 8.6 %; on the default day the hubs' cost "
    "saving reads 25.1 % against 24.4 % at depth. For figures that must not depend on the "
    "depth, set `routing_solution_limit = 2000` and `routing_time_limit_s = 3600` (within 0.3 % "
    "of the 10-minute search on the default day). The long searches are not the best known: "
    "larger ruins routed the default day's hubs 1.9 % shorter still at 3,000 solutions "
    '(README, "Search"; BENCHMARKS.md, "Session 10", "Session 13", "Session 14" and '
    '"Session 16").'
)


def _search_depth_markdown(result: PlanResult, k: dict[str, Any]) -> list[str]:
    plan = result.inputs.scenario.plan
    ended = ", ".join(f"{n}: {r['search_ended_by']}" for n, r in k["routing"].items())
    ruins = (
        f", ruins of {plan.routing_ruin_visits} visits in strings of at most "
        f"{plan.routing_ruin_max_sequence} (`routing_ruin_visits`, `routing_ruin_max_sequence`)"
        if plan.routing_search == "ils"
        else ""
    )
    return [
        "## Search depth",
        "",
        f"Routes from OR-Tools ({plan.routing_search}), {plan.routing_solution_limit} solutions "
        f"per model (`[plan] routing_solution_limit`){ruins}, under a safety cap of "
        f"{plan.routing_time_limit_s:g} s per routed day shared among its models "
        f"(`routing_time_limit_s`); each search ended by: {ended}. "
        "Routed km, hours and costs depend on this depth. " + DEPTH_REFERENCE,
        "",
        *(f"**WARNING: {w}.**\n" for w in result.time_cap_warnings()),
    ]


def _like_for_like_markdown(k: dict[str, Any], cold_chain_line: str) -> list[str]:
    if "lead_time" not in k:
        return []
    n = k["orders_compared"]
    out = [
        f"## End-to-end lead time, over the {n} orders served in both scenarios (of {k['orders']})",
        "",
        "Parcel: county-centre cut-off -> end of service at the village (trunk run and hub "
        "handling included). Pickup: start of service -> cold room / county centre.",
        "",
    ]
    rows = []
    for scen, blocks in k["lead_time"].items():
        for what, st in blocks.items():
            rows.append({"scenario": scen, "measure": what, **st})
    out += [markdown_table(pd.DataFrame(rows).astype(object).fillna("")), ""]
    late = not_arrived_clause(k["lead_time"])
    if late:  # the clause starts "; did not arrive ..."
        out += [f"**Not every order arrived this day**: {late[2:]}.", ""]
    out += [f"## Routed figures over the same {n} orders (trunk and hub cost included)", ""]
    out += [
        markdown_table(pd.DataFrame([{"": s, **v} for s, v in k["routed_compared"].items()])),
        "",
    ]
    out += ["## Cold-chain compliance over all perishable orders (unserved = not compliant)", ""]
    out += [cold_chain_line, ""]
    cold = [{"": s, **cold_chain_shown(v)} for s, v in k["cold_chain"].items()]
    out += [markdown_table(pd.DataFrame(cold)), ""]
    out += _unserved_markdown(k)
    if "trunk" in k:
        out += ["## Trunk runs", ""]
        for run, v in k["trunk"]["runs"].items():
            out.append(
                f"- {run}: {v['vehicles_used']} vehicle(s), {v['hubs_served']} hubs, "
                f"{v['km']} km, validator {'ok' if v['validator_ok'] else 'FAILED'}"
                + (" (hub latest arrival relaxed)" if v["latest_arrival_relaxed"] else "")
                + (
                    f"; NOT served: {', '.join(v['stops_not_served'])}"
                    + (" (their parcels leave from the centre)" if run == "morning" else "")
                    if v["stops_not_served"]
                    else ""
                )
            )
        out += [
            "",
            "Assumptions: " + ", ".join(f"{a} = {b}" for a, b in k["trunk"]["assumptions"].items()),
            "",
        ]
    return out


def _hash_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def code_versions() -> dict[str, Any]:
    """The code a run used: lastmile's version, the git commit of its checkout
    (``lastmile_commit``, absent for an installed copy), Python, platform and the versions of
    the packages behind the figures; every command's ``manifest.json`` starts with it."""
    commit = source_commit()
    return {
        "lastmile": __version__,
        **({"lastmile_commit": commit} if commit is not None else {}),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "versions": package_versions(VERSIONED),
    }


def input_manifest(inputs: PlanInputs) -> dict[str, Any]:
    """What a run was made from: versions, data source, scenario, configuration, seed and the
    input files with their content hashes (every command's ``manifest.json`` starts with it).

    ``region_config`` holds every region table the run used, the scenario's overrides applied
    (``[network]`` snap limit and ``[standin]`` settings included); ``inputs.scenario_file`` the
    scenario file's absolute path and sha256; ``lastmile_commit`` the git commit of the checkout
    lastmile runs from (absent for an installed copy).
    """
    inp = inputs
    sc = inp.scenario
    files: dict[str, Any] = {"region": {"source": inp.region.source_file}}
    if sc.region_file_sha256 is not None:
        files["region"]["sha256"] = sc.region_file_sha256
    if sc.file is not None:
        # the scenario file as read: its tables override the region's (snap limit, stand-in, ...)
        files["scenario_file"] = {"path": sc.file, "sha256": sc.file_sha256}
    if inp.outline is not None:
        files["county_outline"] = inp.outline.describe()
    if inp.source.osm_file is not None:
        files["osm"] = {
            "path": str(inp.source.osm_file),
            "sha256": file_sha256(inp.source.osm_file),
        }
    for key in ("boundaries", "villages", "orders", "local_extract"):
        value = getattr(sc.plan, key)
        # a local_extract is read only by network = "auto"; "synthetic", "osm" or a file
        # override it, and it is then no input of the run (bb21 D11)
        used = key != "local_extract" or sc.plan.network == "auto"
        if value and used and Path(value).is_file():
            files[key] = {"path": value, "sha256": file_sha256(value)}
        elif value:  # named in the scenario but not read: no hash
            files[key] = {"path": value, "sha256": None, "read": False}
    return {
        **code_versions(),
        "data_source": inp.source.label,
        "synthetic_standin": inp.source.synthetic,
        "scenario": sc.source,
        "plan": asdict(sc.plan),
        "region_config": {
            "speeds_kmh": dict(inp.region.speeds_kmh),
            "cold_chain": asdict(inp.region.cold_chain),
            "demand": asdict(inp.region.demand),
            "fleet": [asdict(f) for f in inp.region.fleet],
            "trunk": asdict(inp.region.trunk),
            "county_centre": asdict(inp.region.county_centre),
            # both decide which villages and orders exist: the snap limit leaves villages out,
            # the stand-in's settings make its roads and villages
            "network": {"max_snap_m": inp.region.max_snap_m},
            "standin": asdict(inp.region.standin),
        },
        "seed": sc.plan.seed,
        "inputs": files,
    }


def routing_manifest(plans: Sequence[RoutePlan]) -> dict[str, Any]:
    """Each routed day's solver status, what ended its search and how many solutions it saw."""
    return {
        rp.name: {
            "status": rp.solution.status,
            "search_ended_by": rp.solution.search_ended_by,
            "reproducible": rp.solution.reproducible,
            "solutions": rp.solution.solutions,
            "seconds": round(rp.solution.solve_seconds, 2),
        }
        for rp in plans
    }


def manifest(result: PlanResult, *, map_assets: str | None = None) -> dict[str, Any]:
    """:func:`input_manifest`, the API's hub changes, timings and the solvers' ends."""
    base = input_manifest(result.inputs)
    files = base.pop("inputs")
    return {
        **base,
        # hub changes made through the API (Plan.with_hub / without_hub / swap_hub)
        "forced_hub_sites": list(result.placement.forced),
        "excluded_hub_sites": list(result.placement.excluded),
        "hub_changes": list(result.placement.changes),  # each API call, the site it chose
        "inputs": files,
        "timings_s": {k: round(v, 2) for k, v in result.timings.items()},
        "map_assets": map_assets,
        "routing_solver": routing_manifest((result.baseline, result.planned)),
        "location_solver": {
            "seconds": round(result.placement.result.seconds, 2),
            "status": result.placement.result.status,
        },
    }


# --------------------------------------------------------------------------- other commands


def _write_command_folder(
    out: str | Path,
    command: str,
    fill: Callable[[Path], dict[str, Path]],
    made_from: Mapping[str, Any] | None = None,
) -> dict[str, Path]:
    """Write a command's output folder atomically, as :func:`write_outputs` does.

    ``fill`` writes the files into the staging folder; ``manifest.json`` (command, the files,
    and ``made_from``: what the run was made from, :func:`input_manifest` and the solvers' ends)
    says how the folder was made, and marks it as a lastmile output that a later run may replace.
    """
    target = Path(out)
    with atomic_dir(target) as staging:
        paths = fill(staging)
        files = sorted(str(p.relative_to(staging)) for p in paths.values())
        man = {"command": command, **(made_from or {"lastmile": __version__}), "files": files}
        paths["manifest"] = write_json(staging / "manifest.json", man)
    return {name: target / path.relative_to(staging) for name, path in paths.items()}


def write_locate_outputs(
    inputs: PlanInputs, placement: Placement, study: AccessStudy, out: str | Path
) -> dict[str, Path]:
    """The folder of ``lastmile locate --out``: hubs and village assignments (GeoPackage layers
    ``hubs``, ``assignments``; ``hubs.geojson``; CSV) and the township table; atomic."""
    hubs = placement.hubs.drop(columns=["node"])
    assign = study.villages.merge(
        inputs.villages[["id", "geometry"]], left_on="village", right_on="id"
    )
    assign = gpd.GeoDataFrame(assign.drop(columns=["id"]), geometry="geometry", crs="EPSG:4326")
    # the road network every figure comes from, in a last column (the stand-in is not real data)
    hubs, assign = (
        hubs.assign(network=inputs.source.label),
        assign.assign(network=inputs.source.label),
    )
    townships = study.townships.assign(network=inputs.source.label)

    def fill(d: Path) -> dict[str, Path]:
        return {
            "gpkg": write_geopackage(d / "hubs.gpkg", {"hubs": hubs, "assignments": assign}),
            "geojson_hubs": write_text(d / "hubs.geojson", hubs.to_json(drop_id=True)),
            "csv_hubs": write_csv(d / "hubs.csv", hubs),
            "csv_assignments": write_csv(d / "assignments.csv", assign),
            "csv_townships": write_csv(d / "townships.csv", townships),
        }

    made_from = {
        **input_manifest(inputs),
        "location_solver": {
            "seconds": round(placement.result.seconds, 2),
            "status": placement.result.status,
        },
    }
    return _write_command_folder(out, "locate", fill, made_from)


def write_route_outputs(
    plans: Sequence[RoutePlan],
    out: str | Path,
    *,
    network: str = "",
    inputs: PlanInputs | None = None,
    warnings: Sequence[str] = (),
) -> dict[str, Path]:
    """The folder of ``lastmile route --out``: the routes, stops and unassigned orders of the
    routed days (GeoPackage layers and CSV, a ``scenario`` column each, and ``network``: the
    road network's label, e.g. the synthetic stand-in); atomic. ``warnings`` (e.g. the trunk
    runs' :func:`lastmile.plan.trunk_warnings`) go into ``manifest.json``."""
    layers = {
        name: gpd.GeoDataFrame(
            pd.concat([getattr(p, name) for p in plans], ignore_index=True),
            geometry="geometry",
            crs="EPSG:4326",
        ).assign(network=network)
        for name in ("routes", "stops", "unassigned")
    }

    def fill(d: Path) -> dict[str, Path]:
        paths = {"gpkg": write_geopackage(d / "routes.gpkg", layers)}
        for name, frame in layers.items():
            paths[f"csv_{name}"] = write_csv(d / f"{name}.csv", frame)
        return paths

    made_from = {
        **(input_manifest(inputs) if inputs is not None else {"lastmile": __version__}),
        "routing_solver": routing_manifest(plans),
        "warnings": list(warnings),
    }
    return _write_command_folder(out, "route", fill, made_from)


def write_plan_comparison(
    table: PlanComparison, out: str | Path, *, keep: Sequence[str | Path] = ()
) -> dict[str, Path]:
    """The folder of ``lastmile compare --plans A B --out``: village and township tables and the
    Markdown comparison; atomic. Its ``manifest.json`` records the code (:func:`code_versions`)
    and the compared plans (``plans``: each folder's absolute path, seed and the sha256 of the
    files read, :attr:`PlanComparison.plans`).

    ``keep``: folders the output must not replace (the compared plans): ``out`` may be inside
    them, not one of them or a folder holding one.
    """
    target = Path(out).resolve()
    for folder in keep:
        f = Path(folder).resolve()
        if target == f or target in f.parents:
            raise OutputError(
                f"output folder {out} would replace the compared plan folder {folder}",
                "give another --out folder",
            )

    def fill(d: Path) -> dict[str, Path]:
        return {
            "csv_villages": write_csv(d / "compare_villages.csv", table.villages),
            "csv_townships": write_csv(d / "compare_townships.csv", table.townships),
            "markdown": write_text(d / "compare.md", table.markdown),
        }

    made_from = {**code_versions(), "plans": dict(table.plans)}
    return _write_command_folder(out, "compare --plans", fill, made_from)


def _lead_rows(k: Mapping[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"scenario": scen, "measure": what, **st}
            for scen, blocks in k["lead_time"].items()
            for what, st in blocks.items()
        ]
    )


def fleet_types(fleet: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Every vehicle type on the last-mile routes of any scenario of ``kpis["fleet_needed"]``,
    in order of first appearance: each scenario's row lists them all, 0 where it has none."""
    return list(dict.fromkeys(t for f in fleet.values() for t in f["last_mile_by_type"]))


def _fleet_table(k: Mapping[str, Any]) -> pd.DataFrame:
    fleet = k["fleet_needed"]
    types = fleet_types(fleet)
    return pd.DataFrame(
        [
            {
                "scenario": n,
                **{kk: vv for kk, vv in f.items() if not isinstance(vv, dict)},
                # whole vehicles; a type the scenario does not use is 0, not a missing value
                **{f"vehicles_{t}": int(f["last_mile_by_type"].get(t, 0)) for t in types},
            }
            for n, f in fleet.items()
        ]
    )


def _unserved_markdown(k: dict[str, Any]) -> list[str]:
    """Each scenario's unserved orders by reason code (the evidence is in unassigned.csv)."""
    out = ["## Unserved orders by reason", ""]
    for s, u in k["unserved"].items():
        reasons = ", ".join(f"{r}: {c}" for r, c in u["by_reason"].items()) or "none"
        out.append(f"- {s}: {u['orders']} ({reasons})")
    evidence = "Each order's reason and evidence (binding limit, best figure): unassigned.csv."
    return [*out, "", evidence, ""]


def study_markdown(result: PlanResult, curve: pd.DataFrame) -> str:
    """``study.md`` of ``lastmile compare``: lead times, routed figures and cold chain over the
    orders served in both scenarios, the fleet needed (or a line saying it was not computed),
    the search depth of the routed days, township access times and the p-curve."""
    k = result.kpis()
    # without the fleet search (`--skip-fleet-needed`) a line says so: "not computed", not a
    # section that seems forgotten (bb25 D5)
    fleet_md = "\n".join(
        ["", *_fleet_needed_markdown(k)]
        if "fleet_needed" in k
        else ["", "Fleet needed: not computed (--skip-fleet-needed).", ""]
    )
    # the routed figures depend on the search depth: the same section as `plan`'s summary.md
    depth_md = "\n".join(["", *_search_depth_markdown(result, k)])
    return (
        "# The delivery study, like for like: county centre alone vs centre + hubs\n\n"
        f"Data source: {result.inputs.source.label}\n\n"
        f"## End-to-end lead time over the {k['orders_compared']} orders served in both "
        f"(of {k['orders']})\n\n"
        + markdown_table(_lead_rows(k).astype(object).fillna(""))
        + "\n## Routed figures over the same orders (trunk and hub cost included)\n\n"
        + markdown_table(pd.DataFrame([{"": n, **v} for n, v in k["routed_compared"].items()]))
        + "\n## Cold-chain compliance over all perishable orders\n\n"
        + markdown_table(
            pd.DataFrame([{"": n, **cold_chain_shown(v)} for n, v in k["cold_chain"].items()])
        )
        + "\n"
        + "\n".join(_unserved_markdown(k))
        + fleet_md
        + depth_md
        + "\n## Access time (nearest open facility, every settlement, demand-weighted)"
        "\n\n### Townships\n\n"
        + markdown_table(result.study.townships)
        + "\n## p-curve (access time)\n\n"
        + markdown_table(curve)
    )


def write_compare_outputs(
    result: PlanResult, curve: pd.DataFrame, out: str | Path
) -> dict[str, Path]:
    """The folder of ``lastmile compare --out``: the study tables (villages, townships, p-curve,
    lead times, orders, unserved orders with their evidence, fleet needed), ``study.md`` and the
    plots; atomic."""
    k = result.kpis()
    study = result.study
    pinyin = {t.code: t.pinyin for t in result.inputs.region.townships}
    # as in `plan`'s folder: every table says which road network its figures come from in a last
    # column ``network``, every plot in its title (the stand-in is not real data)
    source = result.inputs.source
    flag = " — synthetic stand-in, NOT real OSM data" if source.synthetic else ""

    def noted(table: pd.DataFrame) -> pd.DataFrame:
        return table.assign(network=source.label)

    def fill(d: Path) -> dict[str, Path]:
        paths = {
            "csv_villages": write_csv(d / "villages.csv", noted(study.villages)),
            "csv_townships": write_csv(d / "townships.csv", noted(study.townships)),
            "csv_p_curve": write_csv(d / "p_curve.csv", noted(curve)),
            "csv_lead_time": write_csv(d / "lead_time.csv", noted(_lead_rows(k))),
        }
        orders = _orders_layer(result)
        if orders is not None and result.end_to_end is not None:
            # the same table as `lastmile plan` writes (bb20 D7: other decimals here)
            paths["csv_orders"] = write_csv(d / "orders.csv", noted(orders), ORDER_DECIMALS)
            paths["csv_lead_townships"] = write_csv(
                d / "lead_time_townships.csv", noted(result.end_to_end.townships)
            )
        unserved = pd.concat(
            [result.baseline.unassigned, result.planned.unassigned], ignore_index=True
        )
        paths["csv_unassigned"] = write_csv(d / "unassigned.csv", noted(unserved))
        if "fleet_needed" in k:
            paths["csv_fleet_needed"] = write_csv(d / "fleet_needed.csv", noted(_fleet_table(k)))
        paths["study"] = write_text(d / "study.md", study_markdown(result, curve))
        compared = study.villages[study.villages["unreachable"] == ""]
        paths["plot_times"] = delivery_time_distribution(
            compared["minutes_before"],
            compared["minutes_after"],
            compared["weight"],
            d / "delivery_times.png",
            title=f"Access time per village, weighted by demand{flag}",
            stats=_unrounded(study),
        )
        paths["plot_townships"] = minutes_saved_by_township(
            study.townships.dropna(subset=["minutes_saved"]).assign(
                pinyin=study.townships["code"].map(pinyin)
            ),
            d / "minutes_saved_by_township.png",
            title=f"Access time saved by township (demand-weighted mean){flag}",
        )
        paths["plot_p_curve"] = plot_p_curve(
            curve, d / "p_curve.png", title=f"Mean access time vs number of hubs{flag}"
        )
        return paths

    return _write_command_folder(out, "compare", fill, manifest(result))

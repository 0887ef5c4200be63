"""The planner end to end: region and network -> demand -> hubs -> cold-chain routes -> study.

Each step is a public function taking the previous step's immutable result, so the CLI, the
notebooks and the tests run the same chain:

    inputs = prepare(scenario)                 # network, townships, villages, candidates, matrices
    placement = place_hubs(inputs)             # the p new hubs (+ the county centre)
    baseline = plan_routes(inputs, baseline_depots(inputs), "baseline")
    planned = plan_routes(inputs, placement.hubs, "plan")
    study = delivery_study(inputs, placement.open_rows)
    result = run_plan(scenario)                # all of the above
    write_outputs(result, out_dir)             # maps, GeoPackage, CSV, kpis.json, manifest

Fleet comparison rule (a decision, documented in the README): the baseline stations the SAME total
fleet at the county centre that the plan spreads over the centre and the hubs, so the comparison
measures the network, not a bigger fleet.
"""

from __future__ import annotations

import itertools
import multiprocessing as mp
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import LineString, Point

from lastmile.boundaries import (
    TownshipBoundaries,
    load_townships,
    read_outline,
    townships_from_osm,
    townships_from_osmnx_online,
)
from lastmile.config import Region, cache_dir
from lastmile.demand import (
    Villages,
    candidate_sites,
    county_centre_frame,
    daily_orders,
    junction_sites,
    read_orders,
    villages_from_file,
    villages_from_osm,
    villages_online,
)
from lastmile.errors import DataError, InfeasibleError
from lastmile.location import LocationOptions, LocationProblem, LocationResult, Objective
from lastmile.location import solve as solve_location
from lastmile.matrix import TravelMatrix, cached_travel_matrix, leg_paths, path_geometry
from lastmile.network import NetworkSource, RoadNetwork, open_network, snap_points
from lastmile.routing import (
    ENDED_LOCAL_OPTIMUM,
    ENDED_NO_SOLUTION,
    ENDED_NOTHING,
    ENDED_SOLUTION_LIMIT,
    ENDED_TIME_CAP,
    Depot,
    Order,
    RoutingOptions,
    RoutingProblem,
    RoutingSolution,
    VehicleType,
    compute_kpis,
    explain_unassigned,
    precheck,
    solution_frames,
    vehicles_of,
)
from lastmile.routing import solve as solve_routing
from lastmile.scenario import Scenario
from lastmile.study import AccessStudy, access_study
from lastmile.validate import ValidationReport, validate_routes

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class PlanInputs:
    """Everything the planning steps need, snapped to the drive graph.

    Attributes
    ----------
    villages
        Demand points: :class:`~lastmile.demand.Villages` columns plus ``node``, ``snap_m`` and
        ``weight`` (population or parcels); villages beyond the snap limit are left out and
        listed in ``warnings``.
    facilities
        Row 0 is the county centre, then the candidate hub sites (``id, name, township, role,
        lon, lat, node, snap_m, geometry``).
    orders
        One day of orders with ``node`` and ``snap_m``; orders beyond the snap limit stay in and
        are reported unreachable by routing.
    access
        Travel times facilities x villages.
    """

    scenario: Scenario
    network: RoadNetwork
    source: NetworkSource
    townships: TownshipBoundaries
    villages: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    orders: gpd.GeoDataFrame
    access: TravelMatrix
    warnings: tuple[str, ...]
    cache: Path | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def region(self) -> Region:
        """The scenario's region."""
        return self.scenario.region


def _townships(
    scenario: Scenario, source: NetworkSource, outline: Any, cache: Path
) -> TownshipBoundaries:
    plan, region = scenario.plan, scenario.region
    if plan.boundaries is not None:
        return load_townships(plan.boundaries, region, crs=plan.boundaries_crs, outline=outline)
    if source.osm_file is not None:
        return townships_from_osm(source.osm_file, region, outline)
    if source.kind == "osm":
        return townships_from_osmnx_online(region, outline, cache=cache)
    raise DataError(
        f"no township polygons for {source.label}",
        "give [plan] boundaries = FILE (GeoJSON/GPKG/SHP) or --boundaries FILE",
    )


def _villages(
    scenario: Scenario, source: NetworkSource, outline: Any, towns: TownshipBoundaries
) -> Villages:
    plan, region = scenario.plan, scenario.region
    if plan.villages is not None:
        return villages_from_file(plan.villages, region, towns)
    if source.osm_file is not None:
        return villages_from_osm(source.osm_file, region, towns)
    return villages_online(region, outline, towns)


def _snap(
    net: RoadNetwork, gdf: gpd.GeoDataFrame, max_snap_m: float
) -> tuple[gpd.GeoDataFrame, pd.Series]:
    snap = snap_points(net, gdf["lon"].to_numpy(), gdf["lat"].to_numpy(), max_snap_m)
    out = gdf.copy()
    out["node"] = snap.node
    out["snap_m"] = np.round(snap.distance_m, 1)
    return out, pd.Series(snap.too_far, index=gdf.index)


def prepare(
    scenario: Scenario,
    *,
    reference_dir: str | Path | None = None,
    cache: str | Path | None = None,
    progress: Progress = _quiet,
) -> PlanInputs:
    """Load region, network, townships, villages, candidates and orders; snap; build the matrix."""
    region, plan = scenario.region, scenario.plan
    timings: dict[str, float] = {}
    warnings: list[str] = []
    cache_path = cache_dir(cache)

    t = time.perf_counter()
    progress("road network")
    outline = read_outline(region, reference_dir)
    local = Path(plan.local_extract) if plan.local_extract else None
    net, source = open_network(
        plan.network,
        region,
        outline=outline,
        cache=cache_path,
        local_extract=local,
        standin_scale=plan.standin_scale,
    )
    timings["network_s"] = time.perf_counter() - t

    t = time.perf_counter()
    progress("townships and villages")
    towns = _townships(scenario, source, outline, cache_path)
    warnings += list(towns.report.warnings)
    villages = _villages(scenario, source, outline, towns)
    warnings += [f"settlement outside every township, ignored: {d}" for d in villages.dropped]
    vgdf, too_far = _snap(net, villages.gdf, region.max_snap_m)
    for row in vgdf[too_far].itertuples():
        warnings.append(
            f"village {row.name} ({row.id}) is {row.snap_m:.0f} m from the road "
            f"network (limit {region.max_snap_m:.0f} m): left out"
        )
    vgdf = vgdf[~too_far].reset_index(drop=True)
    if vgdf.empty:
        raise DataError(
            "no village lies within the snap limit of the road network",
            "check the network extract covers the region",
        )

    orders_df = (
        read_orders(plan.orders)
        if plan.orders
        else daily_orders(
            Villages(vgdf.drop(columns=["node", "snap_m"]), villages.source), region, seed=plan.seed
        )
    )
    parcels = orders_df[orders_df["kind"] == "delivery"].groupby("village")["parcels"].sum()
    vgdf["parcels"] = vgdf["id"].map(parcels).fillna(0).astype(int)
    vgdf["weight"] = vgdf["population"] if plan.demand_weight == "population" else vgdf["parcels"]
    if float(vgdf["weight"].sum()) <= 0:
        raise DataError(f"the demand weights ({plan.demand_weight}) sum to zero")

    centre = county_centre_frame(region)
    centre["role"] = "county centre"
    cands = candidate_sites(
        Villages(vgdf[list(villages.gdf.columns)], villages.source),
        region,
        per_township=plan.candidates_per_township,
    )
    junctions = junction_sites(net, towns, region.demand.junctions_per_township)
    cands = pd.concat([cands, junctions], ignore_index=True)
    if plan.exclude_centre_township:
        cands = cands[cands["township"] != region.county_centre.township]
    cands = cands.assign(role="candidate")
    cols = ["id", "name", "township", "role", "lon", "lat", "geometry"]
    fac = gpd.GeoDataFrame(
        pd.concat([centre[cols], cands[cols]], ignore_index=True),
        geometry="geometry",
        crs="EPSG:4326",
    )
    fac, fac_far = _snap(net, fac, region.max_snap_m)
    if bool(fac_far.iloc[0]):
        raise DataError(
            f"the county centre ({region.county_centre.lon}, {region.county_centre.lat}) is "
            f"{fac['snap_m'].iloc[0]:.0f} m from the road network",
            "fix [county_centre] lon/lat in the region file",
        )
    fac = fac[~fac_far].reset_index(drop=True)

    ogdf = gpd.GeoDataFrame(
        orders_df, geometry=gpd.points_from_xy(orders_df["lon"], orders_df["lat"]), crs="EPSG:4326"
    )
    ogdf, o_far = _snap(net, ogdf, region.max_snap_m)
    ogdf["too_far"] = o_far.to_numpy()
    timings["demand_s"] = time.perf_counter() - t

    t = time.perf_counter()
    progress("travel-time matrix")
    access = cached_travel_matrix(
        net,
        fac["node"].to_numpy(),
        vgdf["node"].to_numpy(),
        cache_path,
        origin_ids=list(fac["id"]),
        destination_ids=list(vgdf["id"]),
    )
    if access.n_unreachable:
        warnings.append(f"{access.n_unreachable} facility-village pairs have no road path")
    timings["matrix_s"] = time.perf_counter() - t
    return PlanInputs(
        scenario, net, source, towns, vgdf, fac, ogdf, access, tuple(warnings), cache_path, timings
    )


# --------------------------------------------------------------------------- hubs


@dataclass(frozen=True)
class Placement:
    """The chosen hubs (county centre first), the open facility rows, the solver result."""

    hubs: gpd.GeoDataFrame
    open_rows: tuple[int, ...]
    result: LocationResult


def place_hubs(
    inputs: PlanInputs,
    *,
    p: int | None = None,
    objective: str | None = None,
    forced: Sequence[str] = (),
    excluded: Sequence[str] = (),
    time_limit_s: float | None = None,
) -> Placement:
    """Choose ``p`` new hubs (default from the scenario), keeping the county centre open.

    Parameters
    ----------
    forced, excluded
        Candidate site ids that must / must not become hubs.
    """
    plan = inputs.scenario.plan
    fac = inputs.facilities
    ids = list(fac["id"])
    unknown = sorted((set(forced) | set(excluded)) - set(ids))
    if unknown:
        raise InfeasibleError(
            f"unknown candidate site id(s) {unknown}", "use ids from the facilities table"
        )
    problem = LocationProblem.from_cost_matrix(
        inputs.access.seconds,
        inputs.villages["weight"].to_numpy(np.float64),
        candidate_ids=ids,
        demand_ids=list(inputs.villages["id"]),
        groups=list(fac["township"]),
        open_fixed=[0],
        forced=[ids.index(f) for f in forced],
        excluded=[ids.index(e) for e in excluded],
    )
    options = LocationOptions(
        objective=cast(Objective, objective or plan.objective),
        p=p or plan.p,
        max_per_group=plan.max_per_township,
        coverage_s=round(plan.coverage_min * 60),
        time_limit_s=time_limit_s or plan.location_time_limit_s,
    )
    result = solve_location(problem, options)
    rows = tuple(sorted(int(i) for i in result.open_indices))
    hubs = fac.iloc[list(rows)].copy()
    hubs["role"] = ["county centre" if r == 0 else "new hub" for r in rows]
    names = {t.code: t.name for t in inputs.region.townships}
    hubs["township_name"] = hubs["township"].map(names)
    return Placement(hubs.reset_index(drop=True), rows, result)


def delivery_study(inputs: PlanInputs, open_rows: Sequence[int]) -> AccessStudy:
    """Delivery times from the county centre alone versus the open facility rows (centre + hubs)."""
    return access_study(
        inputs.access.seconds,
        list(inputs.facilities["id"]),
        list(inputs.villages["id"]),
        list(inputs.villages["township"]),
        inputs.villages["weight"].to_numpy(np.float64),
        before_open=[0],
        after_open=list(open_rows),
        township_names={t.code: t.name for t in inputs.region.townships},
    )


# --------------------------------------------------------------------------- routes


@dataclass(frozen=True)
class RoutePlan:
    """Routed day for one set of depots, validated independently, with road geometry."""

    name: str
    problem: RoutingProblem
    solution: RoutingSolution
    validation: ValidationReport
    routes: gpd.GeoDataFrame
    stops: gpd.GeoDataFrame
    unassigned: gpd.GeoDataFrame


def _clock(seconds: float) -> str:
    s = round(seconds)
    return f"{s // 3600:02d}:{(s % 3600) // 60:02d}"


def plan_routes(
    inputs: PlanInputs,
    depots: gpd.GeoDataFrame,
    name: str,
    *,
    fleet_depots: int | None = None,
    time_limit_s: float | None = None,
    solution_limit: int | None = None,
) -> RoutePlan:
    """Route one day of orders from ``depots`` (``id`` and ``node`` columns).

    Parameters
    ----------
    fleet_depots
        Station the fleet of this many depots in total, spread evenly (the baseline stations the
        plan's whole fleet at the one county centre).
    """
    plan, region = inputs.scenario.plan, inputs.region
    net = inputs.network
    orders = inputs.orders
    nodes = np.concatenate([depots["node"].to_numpy(np.int64), orders["node"].to_numpy(np.int64)])
    mat = cached_travel_matrix(net, nodes, nodes, inputs.cache)
    reachable = mat.reachable.copy()
    far = np.concatenate([np.zeros(len(depots), bool), orders["too_far"].to_numpy(bool)])
    reachable[far, :] = False
    reachable[:, far] = False
    np.fill_diagonal(reachable, True)

    n_dep = len(depots)
    factor = max(1, (fleet_depots or n_dep) // n_dep)
    vtypes = tuple(
        VehicleType(
            id=f.id,
            refrigerated=f.refrigerated,
            capacity={"kg": f.capacity_kg, "parcels": f.capacity_parcels},
            count_per_depot=f.count_per_depot * factor,
            shift_start_s=f.shift_start_s,
            shift_end_s=f.shift_end_s,
            max_duration_s=f.max_duration_s,
            fixed_cost=f.fixed_cost,
            cost_per_km=f.cost_per_km,
            cost_per_hour=f.cost_per_hour,
            max_trips=f.max_trips,
            reload_s=f.reload_s,
        )
        for f in region.fleet
    )
    dep = tuple(Depot(id=str(d), location=i) for i, d in enumerate(depots["id"]))
    order_objs = []
    for k, o in enumerate(orders.itertuples()):
        tw = None  # seconds, converted once by check_orders (HH:MM or minutes in the file)
        if pd.notna(o.tw_start_s) or pd.notna(o.tw_end_s):
            start = int(o.tw_start_s) if pd.notna(o.tw_start_s) else 0
            end = int(o.tw_end_s) if pd.notna(o.tw_end_s) else 48 * 3600
            tw = (start, end)
        limit = o.max_in_vehicle_min
        order_objs.append(
            Order(
                id=str(o.id),
                kind=o.kind,
                location=n_dep + k,
                quantity={"kg": int(o.kg), "parcels": int(o.parcels)},
                service_s=round(float(o.service_min) * 60),
                time_window=tw,
                product_class=str(o.product_class),
                max_in_vehicle_s=round(float(limit) * 60) if pd.notna(limit) else None,
                requires_refrigeration=bool(o.requires_refrigeration),
            )
        )
    problem = RoutingProblem(
        time_s=mat.seconds,
        distance_m=mat.metres,
        depots=dep,
        vehicle_types=vtypes,
        orders=tuple(order_objs),
        reachable=reachable,
    )
    options = RoutingOptions(
        time_limit_s=time_limit_s or plan.routing_time_limit_s,
        solution_limit=solution_limit or plan.routing_solution_limit,
        depot_candidates=plan.routing_depot_candidates,
    )
    if plan.routing_mode == "per_depot" and n_dep > 1:
        solution = _solve_per_depot(problem, options, plan.routing_first_solution)
    else:
        strategy = _first_solution(len(problem.orders), plan.routing_first_solution)
        solution = solve_routing(problem, replace(options, first_solution_strategy=strategy))
    report = validate_routes(problem, solution)
    frames = solution_frames(problem, solution)
    routes, stops, unassigned = _geo_frames(inputs, depots, problem, solution, frames, name)
    return RoutePlan(name, problem, solution, report, routes, stops, unassigned)


#: Above this many orders in one model, insertion heuristics spend the whole time limit building a
#: first solution; PATH_CHEAPEST_ARC finds one at once (measured on the county baseline, 505
#: orders at 20 s: 414 served against 58 with PARALLEL_CHEAPEST_INSERTION; on Solomon's 100
#: customers insertion is better, see BENCHMARKS.md).
LARGE_MODEL_ORDERS = 150


def _first_solution(n_orders: int, setting: str) -> str:
    if setting != "auto":
        return setting
    return "PATH_CHEAPEST_ARC" if n_orders > LARGE_MODEL_ORDERS else "PARALLEL_CHEAPEST_INSERTION"


def _solve_per_depot(
    problem: RoutingProblem, options: RoutingOptions, first_solution: str = "auto"
) -> RoutingSolution:
    """Cluster first, route second: orders go to their nearest depot, each depot routed alone.

    This is how hubs run in practice (each serves its catchment) and it keeps every OR-Tools model
    small; the merged solution is checked by the validator against the whole problem. An order
    goes to the nearest (by round trip) of the depots that can serve it alone; orders no depot can
    serve are reported ``infeasible`` without entering any model. Reasons are recomputed on the
    whole problem. Each depot gets an equal share of the time limit and the full solution limit.
    """
    n_dep = len(problem.depots)
    t0 = time.perf_counter()
    allowed, _ = precheck(problem)
    vehicles = vehicles_of(problem)
    depot_pos = {d.id: i for i, d in enumerate(problem.depots)}
    home: dict[int, list[Order]] = {i: [] for i in range(n_dep)}
    for o in problem.orders:
        if o.id not in allowed:
            continue
        cands = sorted({depot_pos[vehicles[k].depot.id] for k in allowed[o.id]})
        # nearest by the round trip, the cost a catchment assignment cares about
        trip = [
            int(problem.time_s[problem.depots[i].location, o.location])
            + int(problem.time_s[o.location, problem.depots[i].location])
            for i in cands
        ]
        home[cands[int(np.argmin(trip))]].append(o)
    share = replace(options, time_limit_s=max(1.0, options.time_limit_s / n_dep))
    routes: list[Any] = []
    status: list[str] = []
    ended: set[str] = set()
    found = 0
    for i, dep in enumerate(problem.depots):
        if not home[i]:
            continue
        sub = replace(problem, depots=(dep,), orders=tuple(home[i]))
        strategy = _first_solution(len(sub.orders), first_solution)
        sol = solve_routing(sub, replace(share, first_solution_strategy=strategy))
        routes += sol.routes
        status.append(sol.status)
        ended.add(sol.search_ended_by)
        found += sol.solutions
    unassigned, bound = explain_unassigned(
        problem, {s.order_id for r in routes for s in r.stops}
    )
    kpis = compute_kpis(problem, routes, len(unassigned))
    order = (ENDED_TIME_CAP, ENDED_NO_SOLUTION, ENDED_SOLUTION_LIMIT, ENDED_LOCAL_OPTIMUM)
    return RoutingSolution(
        tuple(routes),
        unassigned,
        kpis,
        "per depot: " + ", ".join(sorted(set(status))),
        time.perf_counter() - t0,
        search_ended_by=next((e for e in order if e in ended), ENDED_NOTHING),
        solutions=found,
        fleet_bound=bound,
    )


def _geo_frames(
    inputs: PlanInputs,
    depots: gpd.GeoDataFrame,
    problem: RoutingProblem,
    solution: RoutingSolution,
    frames: dict[str, pd.DataFrame],
    name: str,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    net = inputs.network
    loc_node = np.concatenate(
        [depots["node"].to_numpy(np.int64), inputs.orders["node"].to_numpy(np.int64)]
    )
    order_row = {str(o): i for i, o in enumerate(inputs.orders["id"])}
    depot_loc = {d.id: d.location for d in problem.depots}
    legs: list[tuple[int, int]] = []
    spans: list[tuple[int, int]] = []
    for r in solution.routes:
        seq = [depot_loc[r.depot], *[s.location for s in r.stops], depot_loc[r.depot]]
        start = len(legs)
        legs += [(int(loc_node[a]), int(loc_node[b])) for a, b in itertools.pairwise(seq)]
        spans.append((start, len(legs)))
    paths = leg_paths(net, legs)
    geoms: list[LineString | None] = []
    for (a, b), r in zip(spans, solution.routes, strict=True):
        nodes: list[int] = []
        for path in paths[a:b]:
            if path:
                nodes += path if not nodes else path[1:]
        geom = path_geometry(net, nodes) if len(set(nodes)) > 1 else None
        if geom is None:
            # every stop snaps to the depot's own node: draw depot -> villages -> depot directly
            d = int(loc_node[depot_loc[r.depot]])
            home = (float(net.node_lon[d]), float(net.node_lat[d]))
            pts = [
                home,
                *[
                    tuple(inputs.orders.iloc[order_row[s.order_id]][["lon", "lat"]])
                    for s in r.stops
                ],
                home,
            ]
            if len(set(pts)) < 2:
                pts[1] = (home[0] + 1e-5, home[1])  # a visible stub, about a metre long
            geom = LineString(pts)
        geoms.append(geom)
    routes = frames["routes"].copy()
    routes.insert(0, "scenario", name)
    # the columns the maps and exports read, in planners' units
    routes["n_stops"] = routes["stops"]
    routes["km"] = routes["distance_km"].round(2)
    routes["hours"] = (routes["duration_s"] / 3600).round(2)
    routes["departure"] = routes["departure_s"].map(_clock)
    routes["return"] = routes["arrival_s"].map(_clock)
    routes = gpd.GeoDataFrame(routes, geometry=geoms, crs="EPSG:4326")

    stops = frames["stops"].copy()
    stops.insert(0, "scenario", name)
    stops["seq"] = stops["sequence"]
    stops["arrival"] = stops["arrival_s"].map(_clock)
    stops["in_vehicle_min"] = stops["in_vehicle_min"].round(1)
    stops["limit_min"] = (stops["max_in_vehicle_s"].astype(float) / 60).round(1)
    stops["cold_chain_ok"] = stops["within_limit"].astype(bool)
    stops["village"] = [
        str(inputs.orders.iloc[order_row[str(o)]]["village"]) for o in stops["order_id"]
    ]
    pts = []
    for oid in stops["order_id"].astype(str):
        o = inputs.orders.iloc[order_row[oid]]
        pts.append(Point(o["lon"], o["lat"]))
    stops = gpd.GeoDataFrame(stops, geometry=pts, crs="EPSG:4326")
    una = frames["unassigned"].copy()
    una.insert(0, "scenario", name)
    una["village"] = [
        str(inputs.orders.iloc[order_row[str(o)]]["village"]) for o in una["order_id"]
    ]
    upts = [
        Point(inputs.orders.iloc[order_row[str(o)]][["lon", "lat"]].to_numpy(float))
        for o in una["order_id"]
    ]
    return routes, stops, gpd.GeoDataFrame(una, geometry=upts, crs="EPSG:4326")


# --------------------------------------------------------------------------- the whole chain


@dataclass(frozen=True)
class PlanResult:
    """Everything ``lastmile plan`` computes."""

    inputs: PlanInputs
    placement: Placement
    study: AccessStudy
    baseline: RoutePlan
    planned: RoutePlan
    timings: dict[str, float]

    def kpis(self) -> dict[str, Any]:
        """Results only (no timings, no paths): identical between two runs with the same inputs."""
        inp, pl = self.inputs, self.placement
        names = {t.code: (t.name, t.pinyin) for t in inp.region.townships}
        res = pl.result
        return {
            "data_source": inp.source.label,
            "synthetic_standin": inp.source.synthetic,
            "region": inp.region.name,
            "network": {"nodes": inp.network.n_nodes, "edges": inp.network.n_edges},
            "villages": len(inp.villages),
            "orders": len(inp.orders),
            "hubs": [
                {
                    "id": h.id,
                    "name": h.name,
                    "role": h.role,
                    "township": h.township,
                    "township_name": names.get(h.township, ("", ""))[0],
                    "township_pinyin": names.get(h.township, ("", ""))[1],
                    "lon": round(float(h.lon), 6),
                    "lat": round(float(h.lat), 6),
                }
                for h in pl.hubs.itertuples()
            ],
            "location": {
                "objective_kind": inp.scenario.plan.objective,
                "objective": res.objective,
                "bound": res.bound,
                "optimal": res.optimal,
            },
            "delivery_time": dict(self.study.summary),
            "routing": {
                "baseline": _route_kpis(self.baseline),
                "plan": _route_kpis(self.planned),
            },
            "warnings": list(inp.warnings),
        }


def _route_kpis(rp: RoutePlan) -> dict[str, Any]:
    sol = rp.solution
    k = sol.kpis
    return {
        "vehicles_used": k.vehicles_used,
        "orders_served": k.orders_served,
        "unassigned": k.unassigned,
        "unassigned_by_reason": sol.unassigned_by_reason(),
        "fleet_bound": sol.fleet_bound.as_dict() if sol.fleet_bound is not None else None,
        "solver_status": sol.status,
        "search_ended_by": sol.search_ended_by,
        "reproducible": sol.reproducible,
        "km": round(k.total_km, 1),
        "vehicle_hours": round(k.vehicle_hours, 2),
        "mean_in_vehicle_min": round(k.mean_in_vehicle_s / 60, 1),
        "max_in_vehicle_min": round(k.max_in_vehicle_s / 60, 1),
        "cold_chain_compliance": round(k.cold_chain_compliance, 4),
        "validator_ok": rp.validation.ok,
        "validator_violations": len(rp.validation.violations),
    }


def baseline_depots(inputs: PlanInputs) -> gpd.GeoDataFrame:
    """The county centre alone."""
    return inputs.facilities.iloc[[0]].assign(role="county centre").reset_index(drop=True)


#: What the forked baseline worker of :func:`_route_both` reads (inherited, never pickled).
_FORK_STATE: dict[str, Any] = {}


def _route_baseline_in_child() -> RoutePlan:
    inputs, placement = _FORK_STATE["inputs"], _FORK_STATE["placement"]
    return plan_routes(
        inputs, baseline_depots(inputs), "baseline", fleet_depots=len(placement.hubs)
    )


def _route_both(inputs: PlanInputs, placement: Placement) -> tuple[RoutePlan, RoutePlan]:
    """Route the baseline and the plan, side by side on two cores where ``fork`` exists.

    OR-Tools routing is single-threaded; the two days are independent, so the baseline runs in a
    forked process while this one routes the plan. Results are identical to running them in turn,
    which is what ``[plan] routing_processes = 1`` does (no fork: inside Dask workers).
    """
    n_depots = len(placement.hubs)
    if (
        inputs.scenario.plan.routing_processes < 2
        or "fork" not in mp.get_all_start_methods()
        or (os.cpu_count() or 1) < 2
    ):
        baseline = plan_routes(inputs, baseline_depots(inputs), "baseline", fleet_depots=n_depots)
        return baseline, plan_routes(inputs, placement.hubs, "plan")
    _FORK_STATE.update(inputs=inputs, placement=placement)
    try:
        with mp.get_context("fork").Pool(1) as pool:
            pending = pool.apply_async(_route_baseline_in_child)
            planned = plan_routes(inputs, placement.hubs, "plan")
            baseline = pending.get()
    finally:
        _FORK_STATE.clear()
    return baseline, planned


def run_plan(
    scenario: Scenario,
    *,
    reference_dir: str | Path | None = None,
    cache: str | Path | None = None,
    progress: Progress = _quiet,
) -> PlanResult:
    """The whole chain on one scenario."""
    t0 = time.perf_counter()
    inputs = prepare(scenario, reference_dir=reference_dir, cache=cache, progress=progress)
    timings = dict(inputs.timings)
    t = time.perf_counter()
    progress("hub placement")
    placement = place_hubs(inputs)
    study = delivery_study(inputs, placement.open_rows)
    timings["location_s"] = time.perf_counter() - t
    t = time.perf_counter()
    progress("routes: baseline and plan")
    baseline, planned = _route_both(inputs, placement)
    timings["routing_s"] = time.perf_counter() - t
    timings["total_s"] = time.perf_counter() - t0
    return PlanResult(inputs, placement, study, baseline, planned, timings)


def p_curve(
    inputs: PlanInputs, p_values: Sequence[int], *, progress: Progress = _quiet
) -> pd.DataFrame:
    """The study for each number of hubs: mean / p95 delivery time and coverage against p.

    Row ``p = 0`` is the county centre alone. Each p is solved with the scenario's objective and
    limits; ``optimal`` says whether the solver proved it.
    """
    base = delivery_study(inputs, [0])
    rows = [{"p": 0, **_curve_row(base.summary["after"]), "optimal": True, "hubs": ""}]
    for p in p_values:
        progress(f"p-curve: {p} hubs")
        placement = place_hubs(inputs, p=p)
        s = delivery_study(inputs, placement.open_rows).summary["after"]
        hubs = ";".join(sorted(placement.hubs.loc[placement.hubs["role"] == "new hub", "township"]))
        rows.append({"p": p, **_curve_row(s), "optimal": placement.result.optimal, "hubs": hubs})
    return pd.DataFrame(rows)


def _curve_row(stats: dict[str, float]) -> dict[str, float]:
    return {
        "mean_min": stats["mean_min"],
        "p95_min": stats["p95_min"],
        "max_min": stats["max_min"],
        "share_30": stats["share_within_30_min"],
        "share_60": stats["share_within_60_min"],
    }

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

import copy
import hashlib
import itertools
import os
import pickle
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from multiprocessing.pool import Pool
from pathlib import Path
from typing import Any, cast

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray
from shapely.geometry import LineString, Point

from lastmile.boundaries import (
    CountyOutline,
    TownshipBoundaries,
    county_outline,
    load_townships,
    township_of,
    townships_from_osm,
    townships_from_osmnx_online,
)
from lastmile.config import Region, cache_dir, format_clock
from lastmile.demand import (
    CANDIDATE_ROLE,
    CENTRE_ROLE,
    HUB_ROLE,
    ORDERS_TABLE,
    RURAL_PLACES,
    Villages,
    candidate_sites,
    check_order_villages,
    county_centre_frame,
    daily_orders,
    junction_sites,
    read_orders,
    villages_from_file,
    villages_from_osm,
    villages_online,
    with_cold_chain_limits,
)
from lastmile.endtoend import EndToEnd, end_to_end, order_table, unallocated_costs
from lastmile.errors import DataError, InfeasibleError
from lastmile.fleet import FleetNeeded, fleet_needed
from lastmile.io import atomic_path
from lastmile.location import LocationOptions, LocationProblem, LocationResult, Objective
from lastmile.location import solve as solve_location
from lastmile.matrix import TravelMatrix, cached_travel_matrix, leg_paths, path_geometry
from lastmile.network import (
    NetworkSource,
    RoadNetwork,
    coverage_warning,
    open_network,
    snap_points,
)
from lastmile.parallel import can_fork, fork_pool, inherited, result_of
from lastmile.route_tables import solution_frames
from lastmile.routing import (
    DEPARTURE_FREE_BINDINGS,
    ENDED_LOCAL_OPTIMUM,
    ENDED_NO_SOLUTION,
    ENDED_NOTHING,
    ENDED_SOLUTION_LIMIT,
    ENDED_TIME_CAP,
    INFEASIBLE,
    REASON_UNREACHABLE,
    Depot,
    Order,
    RoutingOptions,
    RoutingProblem,
    RoutingSolution,
    VehicleType,
    compacted,
    compute_kpis,
    explain_unassigned,
    infeasible_from,
    precheck,
    relocated,
    vehicles_of,
)
from lastmile.routing import solve as solve_routing
from lastmile.scenario import PlanSettings, Scenario
from lastmile.study import AccessStudy, access_study, kpi_coverage
from lastmile.trunk import (
    TrunkRun,
    catchments,
    hub_ready_times,
    pin_orders,
    route_trunk,
    trunk_problem,
    trunk_vehicle,
)
from lastmile.validate import ValidationReport, hub_of, supply_violations, validate_routes

Progress = Callable[[str], None]

#: Why a village gets no hub and no access time: the matrix has no road path to it from any
#: facility (the county centre or a candidate site).
NO_FACILITY_REACHES = (
    "no road path from any facility (county centre or candidate site): left out of hub "
    "placement and the access study"
)


def _quiet(_: str) -> None:
    return None


# --------------------------------------------------------------------------- inputs


#: The columns each stage reads from :class:`PlanInputs`' tables (checked on construction).
VILLAGE_COLUMNS = (
    *("id", "name", "place", "population", "township", "lon", "lat", "geometry"),
    *("node", "snap_m", "parcels", "weight"),
)
FACILITY_COLUMNS = ("id", "name", "township", "role", "lon", "lat", "node", "snap_m", "geometry")
ORDER_COLUMNS_SNAPPED = (*ORDERS_TABLE, "geometry", "node", "snap_m", "too_far")


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
        The county centre (``role`` "county centre", see :attr:`centre_row`) and the candidate
        hub sites (``role`` "candidate"): ``id, name, township, role, lon, lat, node, snap_m,
        geometry``.
    orders
        One day of orders, the :data:`~lastmile.demand.ORDERS_TABLE` columns (times in seconds)
        with ``geometry``, ``node``, ``snap_m`` and ``too_far``; orders beyond the snap limit stay
        in and are reported unreachable by routing.
    access
        Travel times facilities x villages; pairs without a road path are flagged in its
        ``reachable`` mask (their ``seconds`` are no cost), villages no facility reaches are
        listed in ``warnings``.
    villages_beyond_snap
        The settlements left out of :attr:`villages` because they lie farther from the road
        network than the snap limit: ``id, name, township, snap_m`` each, and ``orders``, the
        day's orders at it (an orders file; a generated day has none for them).
    extract_coverage
        :func:`~lastmile.network.coverage_warning` for a local extract that reaches less than
        half the county (also in ``warnings``), for ``summary.md``; ``None`` otherwise.
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
    outline: CountyOutline | None = None
    villages_beyond_snap: tuple[Mapping[str, Any], ...] = ()
    extract_coverage: str | None = None

    def __post_init__(self) -> None:
        for what, frame, columns in (
            ("villages", self.villages, VILLAGE_COLUMNS),
            ("facilities", self.facilities, FACILITY_COLUMNS),
            ("orders", self.orders, ORDER_COLUMNS_SNAPPED),
        ):
            missing = [c for c in columns if c not in frame.columns]
            if missing:
                raise DataError(
                    f"plan inputs: the {what} table lacks column(s) {missing}",
                    f"build it with lastmile.plan.prepare (columns: {', '.join(columns)})",
                )
        centre_row(self.facilities)

    @property
    def region(self) -> Region:
        """The scenario's region."""
        return self.scenario.region

    @property
    def centre_row(self) -> int:
        """Row of the county centre in :attr:`facilities` (by its role, not its position)."""
        return centre_row(self.facilities)

    @property
    def centre_id(self) -> str:
        """Id of the county centre."""
        return str(self.facilities["id"].iloc[self.centre_row])


def centre_row(facilities: pd.DataFrame) -> int:
    """The one row of ``facilities`` whose ``role`` is the county centre.

    Raises
    ------
    DataError
        When no row or several rows have that role.
    """
    rows = np.flatnonzero((facilities["role"] == CENTRE_ROLE).to_numpy())
    if len(rows) != 1:
        raise DataError(
            f"facilities: {len(rows)} rows have role {CENTRE_ROLE!r}, expected exactly one",
            "keep the county centre row from prepare() in the facilities table",
        )
    return int(rows[0])


def _hubs_centre_id(hubs: pd.DataFrame) -> str:
    """The county centre's id among open ``hubs``, which must be their first row (as
    :attr:`Placement.hubs`; trunk problems put the centre at location 0)."""
    row = centre_row(hubs)
    if row != 0:
        raise DataError(
            "hubs: the county centre is not the first row", "pass Placement.hubs (centre first)"
        )
    return str(hubs["id"].iloc[0])


def township_boundaries(
    region: Region,
    source: NetworkSource,
    outline: Any,
    cache: Path,
    *,
    boundaries: str | Path | None = None,
    boundaries_crs: str | None = None,
) -> TownshipBoundaries | None:
    """The township polygons: from ``boundaries`` (a file) when given, else from the network's
    OpenStreetMap source (its extract, or the Overpass API); ``None`` when that source has none
    (a graph file, the stand-in without an extract)."""
    if boundaries is not None:
        return load_townships(boundaries, region, crs=boundaries_crs, outline=outline)
    if source.osm_file is not None:
        return townships_from_osm(source.osm_file, region, outline)
    if source.kind == "osm":
        return townships_from_osmnx_online(region, outline, cache=cache)
    return None


def _townships(
    scenario: Scenario, source: NetworkSource, outline: Any, cache: Path
) -> TownshipBoundaries:
    plan = scenario.plan
    towns = township_boundaries(
        scenario.region,
        source,
        outline,
        cache,
        boundaries=plan.boundaries,
        boundaries_crs=plan.boundaries_crs,
    )
    if towns is None:
        raise DataError(
            f"no township polygons for {source.label}",
            "give [plan] boundaries = FILE (GeoJSON/GPKG/SHP) or --boundaries FILE",
        )
    return towns


def check_centre_township(region: Region, towns: TownshipBoundaries) -> None:
    """DataError when ``[county_centre] lon/lat`` lie in another township than its ``township``.

    The code decides which township gets no new hub (``exclude_centre_township``) and labels the
    depot in every output; a depot moved to its real site with the old code kept was reported in
    the wrong township, and the wrong one was kept free of hubs (bb21 D16). A point outside every
    township is left to the other checks (the road network must reach it).
    """
    cc = region.county_centre
    point = gpd.GeoDataFrame(geometry=gpd.points_from_xy([cc.lon], [cc.lat]), crs="EPSG:4326")
    own = towns.gdf[towns.gdf["code"].astype(str) == str(cc.township)]
    if own.empty:
        return
    utm = point.estimate_utm_crs()
    # a site on (or a few metres across) its township's border is its township's
    if float(own.to_crs(utm).distance(point.to_crs(utm).geometry.iloc[0]).min()) <= 100.0:
        return
    found = township_of(point, towns, max_distance_m=0.0).iloc[0]
    if pd.isna(found):
        return
    names = region.township_names
    raise DataError(
        f"{region.source_file} [county_centre]: lon/lat ({cc.lon}, {cc.lat}) lie in township "
        f"{names.get(str(found), '?')} ({found}), not in its township {cc.township} "
        f"({names.get(str(cc.township), '?')})",
        f'fix one of them: township = "{found}" if the depot is where lon/lat say, else its '
        "lon/lat",
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


def _name_junctions(
    junctions: gpd.GeoDataFrame, villages: gpd.GeoDataFrame, net: RoadNetwork
) -> gpd.GeoDataFrame:
    """Name a junction for where it is: nearest settlement and the main road through it."""
    if junctions.empty or villages.empty:
        return junctions
    snap = snap_points(net, junctions["lon"].to_numpy(), junctions["lat"].to_numpy(), 1e9)
    classes = np.asarray(net.highway_classes, dtype=object)
    rank = {c: i for i, c in enumerate(("motorway", "trunk", "primary", "secondary", "tertiary"))}
    vx, vy = villages["lon"].to_numpy(float), villages["lat"].to_numpy(float)
    names = []
    for j, node in zip(junctions.itertuples(), snap.node, strict=True):
        near = int(np.argmin((vx - j.lon) ** 2 + ((vy - j.lat) * 1.0) ** 2))
        at = (net.edge_u == node) | (net.edge_v == node)
        roads = sorted(
            {str(classes[h]) for h in net.edge_highway[at]}, key=lambda c: rank.get(c, 99)
        )
        road = f"{roads[0]} road" if roads else "road"
        names.append(f"{villages['name'].iloc[near]}, {road} junction")
    return junctions.assign(name=names)


#: an order routed from a road node farther than this (metres, within ``max_snap_m``) is named
#: in a warning: the walk or drive from the road to the point is in no route
SNAP_WARNING_M = 500.0


def _no_demand_weight(plan: PlanSettings, region: Region) -> DataError:
    """The refusal of a placement whose village weights are all 0, naming the settings (bb26 D1).

    With ``demand_weight = "parcels"`` a village weighs its delivery parcels of the day, so a day
    without deliveries (a parcel rate of 0, or an orders file of pickups only) weighs nothing.
    """
    if plan.demand_weight == "parcels":
        weighs = '[plan] demand_weight = "parcels" weights each village by its parcels of the day'
        if plan.orders:
            return DataError(
                f"{weighs}, but the orders file {plan.orders} has no delivery parcels",
                'use demand_weight = "population", or an orders file with deliveries',
            )
        rate = region.demand.parcels_per_resident_per_day
        return DataError(
            f"{weighs}, but [demand] parcels_per_resident_per_day = {rate:g} gives none",
            'use demand_weight = "population", or a parcel rate above 0',
        )
    return DataError(
        f"[plan] demand_weight = {plan.demand_weight!r}: the population of every village is 0",
        "give the villages' population (a villages file's population column)",
    )


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
    county = county_outline(
        region,
        path=plan.outline,
        crs=plan.outline_crs,
        reference_dir=reference_dir,
        cache=cache_path,
    )
    outline = county.geometry
    local = Path(plan.local_extract) if plan.local_extract else None
    net, source = open_network(
        plan.network,
        region,
        outline=outline,
        cache=cache_path,
        local_extract=local,
        standin_scale=plan.standin_scale,
    )
    covers = coverage_warning(net, outline, region, source)
    if covers is not None:  # bb21 D6: said by `fetch --extract` only
        warnings.append(covers)
    timings["network_s"] = time.perf_counter() - t

    t = time.perf_counter()
    progress("townships and villages")
    towns = _townships(scenario, source, outline, cache_path)
    check_centre_township(region, towns)
    warnings += list(towns.report.warnings)
    villages = _villages(scenario, source, outline, towns)
    warnings += [f"settlement outside every township, ignored: {d}" for d in villages.dropped]
    vgdf, too_far = _snap(net, villages.gdf, region.max_snap_m)
    for row in vgdf[too_far].itertuples():
        warnings.append(
            f"village {row.name} ({row.id}) is {row.snap_m:.0f} m from the road "
            f"network (limit {region.max_snap_m:.0f} m): left out"
        )
    beyond_snap = vgdf[too_far]
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
    if plan.orders:
        check_order_villages(
            orders_df,
            villages.gdf,
            plan.orders,
            left_out=villages.dropped_ids,
            villages_source=villages.source,
        )
        orders_df = with_cold_chain_limits(orders_df, region.cold_chain)
    # the day's orders at the villages left out: only an orders file has any (reported unreachable)
    at_village = orders_df["village"].astype(str).value_counts()
    left_out = tuple(
        {
            "id": str(row.id),
            "name": str(row.name),
            "township": str(row.township),
            "snap_m": float(row.snap_m),
            "orders": int(at_village.get(str(row.id), 0)),
        }
        for row in beyond_snap.itertuples()
    )
    parcels = orders_df[orders_df["kind"] == "delivery"].groupby("village")["parcels"].sum()
    vgdf["parcels"] = vgdf["id"].map(parcels).fillna(0).astype(int)
    vgdf["weight"] = vgdf["population"] if plan.demand_weight == "population" else vgdf["parcels"]
    if float(vgdf["weight"].sum()) <= 0:
        raise _no_demand_weight(plan, region)

    centre = county_centre_frame(region)
    cands = candidate_sites(
        Villages(vgdf[list(villages.gdf.columns)], villages.source),
        region,
        per_township=plan.candidates_per_township,
    )
    junctions = _name_junctions(
        junction_sites(net, towns, region.demand.junctions_per_township), vgdf, net
    )
    cands = pd.concat([cands, junctions], ignore_index=True)
    if plan.exclude_centre_township:
        cands = cands[cands["township"] != region.county_centre.township]
    cands = cands.assign(role=CANDIDATE_ROLE)
    cols = ["id", "name", "township", "role", "lon", "lat", "geometry"]
    fac = gpd.GeoDataFrame(
        pd.concat([centre[cols], cands[cols]], ignore_index=True),
        geometry="geometry",
        crs="EPSG:4326",
    )
    fac, fac_far = _snap(net, fac, region.max_snap_m)
    c = centre_row(fac)
    if bool(fac_far.iloc[c]):
        raise DataError(
            f"the county centre ({region.county_centre.lon}, {region.county_centre.lat}) is "
            f"{fac['snap_m'].iloc[c]:.0f} m from the road network ({net.source}; snap limit "
            f"{region.max_snap_m:.0f} m)",
            "give a road network that reaches the county centre (an extract cut to cover the "
            "whole county), or fix [county_centre] lon/lat if they are wrong",
        )
    fac = fac[~fac_far].reset_index(drop=True)

    ogdf = gpd.GeoDataFrame(
        orders_df, geometry=gpd.points_from_xy(orders_df["lon"], orders_df["lat"]), crs="EPSG:4326"
    )
    ogdf, o_far = _snap(net, ogdf, region.max_snap_m)
    ogdf["too_far"] = o_far.to_numpy()
    loose = ogdf[~o_far.to_numpy() & (ogdf["snap_m"] > SNAP_WARNING_M).to_numpy()]
    if len(loose):  # routed, but from a road node no route reaches the point from (bb21 D10)
        worst = loose.loc[loose["snap_m"].idxmax()]
        warnings.append(
            f"{len(loose)} order(s) lie more than {SNAP_WARNING_M:.0f} m from the road node they "
            f"are routed from (up to {worst['snap_m']:.0f} m, order {worst['id']}): that gap is "
            "in no route's km or time; check their lon/lat, or the extract's roads near them "
            "(orders.csv snap_m)"
        )
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
        workers=_side_by_side(plan),
    )
    if access.n_unreachable:
        warnings.append(f"{access.n_unreachable} facility-village pairs have no road path")
    for j in np.flatnonzero(~access.reachable.any(axis=0)):
        v = vgdf.iloc[int(j)]
        warnings.append(f"village {v['name']} ({v['id']}): {NO_FACILITY_REACHES}")
    timings["matrix_s"] = time.perf_counter() - t
    return PlanInputs(
        scenario,
        net,
        source,
        towns,
        vgdf,
        fac,
        ogdf,
        access,
        tuple(warnings),
        cache_path,
        timings,
        county,
        villages_beyond_snap=left_out,
        extract_coverage=covers,
    )


# --------------------------------------------------------------------------- hubs


@dataclass(frozen=True)
class Placement:
    """The chosen hubs (county centre first, ``role`` "county centre" / "new hub"), the open
    facility rows (the centre's first), the solver result, the candidate site ids the request
    forced or excluded (the API's hub changes), and ``changes``: what each of those API calls
    did, in words (which site a township gave, and why; see :attr:`lastmile.api.Plan.hub_changes`).
    """

    hubs: gpd.GeoDataFrame
    open_rows: tuple[int, ...]
    result: LocationResult
    forced: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    changes: tuple[str, ...] = ()


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
    centre = inputs.centre_row
    ids = list(fac["id"])
    unknown = sorted((set(forced) | set(excluded)) - set(ids))
    if unknown:
        raise InfeasibleError(
            f"unknown candidate site id(s) {unknown}", "use ids from the facilities table"
        )
    _check_room_for_hubs(inputs, p or plan.p, excluded)
    # a village no facility reaches cannot be served by any choice: left out (reported in kpis)
    reached = inputs.access.reachable.any(axis=0)
    problem = LocationProblem.from_cost_matrix(
        inputs.access.seconds[:, reached],
        inputs.villages["weight"].to_numpy(np.float64)[reached],
        candidate_ids=ids,
        demand_ids=list(inputs.villages["id"][reached]),
        reachable=inputs.access.reachable[:, reached],
        groups=list(fac["township"]),
        open_fixed=[centre],
        forced=[ids.index(f) for f in forced],
        excluded=[ids.index(e) for e in excluded],
    )
    options = LocationOptions(
        objective=cast(Objective, objective or plan.objective),
        p=p or plan.p,
        max_per_group=plan.max_per_township,
        group_limit_name="[plan] max_per_township",
        coverage_s=round(plan.coverage_min * 60),
        time_limit_s=time_limit_s or plan.location_time_limit_s,
    )
    result = solve_location(problem, options)
    rows = (centre, *sorted(int(i) for i in result.open_indices if int(i) != centre))
    hubs = fac.iloc[list(rows)].copy()
    hubs["role"] = [CENTRE_ROLE if r == centre else HUB_ROLE for r in rows]
    names = inputs.region.township_names
    hubs["township_name"] = hubs["township"].map(names)
    return Placement(hubs.reset_index(drop=True), rows, result, tuple(forced), tuple(excluded))


def _check_room_for_hubs(inputs: PlanInputs, p: int, excluded: Sequence[str] = ()) -> None:
    """InfeasibleError when ``p`` new hubs do not fit the candidate sites, naming the townships
    without one (bb21 D9: the location model's message spoke of "groups" and named none).

    At most ``max_per_township`` hubs go into a township, and only onto its candidate sites
    (its settlements on the road graph, its main-road junctions): a township without any takes
    no hub.
    """
    plan, region = inputs.scenario.plan, inputs.region
    per_township = _candidates_per_township(inputs, excluded)
    fit = most_new_hubs(inputs, excluded)
    if p <= fit:
        return
    centre_town = region.county_centre.township
    skipped = centre_town if plan.exclude_centre_township else None
    empty = [t for t in region.townships if t.code not in per_township.index and t.code != skipped]
    named = ", ".join(f"{t.name} ({t.code})" for t in empty[:5]) + (
        f" and {len(empty) - 5} more" if len(empty) > 5 else ""
    )
    why = (
        f"; {len(empty)} township(s) have no candidate site (no settlement within the snap limit "
        f"of the road graph, no main-road junction{', or all excluded' if excluded else ''}): "
        f"{named}"
        if empty
        else ""
    )
    names = region.township_names
    centre_note = (
        f"; the county centre's township {names.get(centre_town, centre_town)} ({centre_town}) "
        "takes none ([plan] exclude_centre_township)"
        if skipped
        else ""
    )
    raise InfeasibleError(
        f"p = {p} new hubs requested but at most {fit} fit with [plan] max_per_township = "
        f"{plan.max_per_township} in the {len(per_township)} township(s) that have candidate "
        f"sites{centre_note}{why}",
        f"lower p to {fit}, raise [plan] max_per_township"
        + (", or give a villages file with settlements in those townships" if empty else ""),
    )


def _candidates_per_township(inputs: PlanInputs, excluded: Sequence[str] = ()) -> pd.Series:
    """Candidate hub sites per township code (the county centre's own site and ``excluded``
    sites aside); townships without one are absent."""
    fac = inputs.facilities.drop(index=inputs.facilities.index[inputs.centre_row])
    counts: pd.Series = fac[~fac["id"].isin(list(excluded))].groupby("township").size()
    return counts


def most_new_hubs(inputs: PlanInputs, excluded: Sequence[str] = ()) -> int:
    """The most new hubs the candidate sites allow: ``max_per_township`` per township that has
    candidates (the county centre's own site and ``excluded`` sites aside); a larger p is
    infeasible."""
    per_township = _candidates_per_township(inputs, excluded)
    return int(np.minimum(per_township, inputs.scenario.plan.max_per_township).sum())


def delivery_study(inputs: PlanInputs, open_rows: Sequence[int]) -> AccessStudy:
    """Delivery times from the county centre alone versus the open facility rows (centre + hubs)."""
    return access_study(
        inputs.access.seconds,
        list(inputs.facilities["id"]),
        list(inputs.villages["id"]),
        list(inputs.villages["township"]),
        inputs.villages["weight"].to_numpy(np.float64),
        before_open=[inputs.centre_row],
        after_open=list(open_rows),
        township_names=inputs.region.township_names,
        reachable=inputs.access.reachable,
    )


# --------------------------------------------------------------------------- routes


@dataclass(frozen=True)
class DepotSupply:
    """How the depots of a routed day are supplied (issue 10).

    Attributes
    ----------
    ready_s
        Depot id -> earliest departure of its last-mile vans (the cut-off at the county centre,
        trunk arrival + handling at a hub); depots not listed keep the fleet's shift start.
    order_depot
        Order id -> the depot that must serve it (the hub the trunk brought its parcels to, or
        the county centre for produce when hubs have no cold room).
    extra_types
        Vehicle types added at every depot (the baseline's trunk vehicles at the centre).
    """

    ready_s: Mapping[str, int] = field(default_factory=dict)
    order_depot: Mapping[str, str] = field(default_factory=dict)
    extra_types: tuple[VehicleType, ...] = ()


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


def day_problem(
    inputs: PlanInputs,
    depots: gpd.GeoDataFrame,
    *,
    fleet_depots: int | None = None,
    supply: DepotSupply | None = None,
) -> RoutingProblem:
    """The routing problem of one day of orders from ``depots`` (see :func:`plan_routes`)."""
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
    vtypes = tuple(vt.times(factor) for vt in region.fleet)
    if supply is not None:
        vtypes = _supplied_types(vtypes, [str(d) for d in depots["id"]], supply)
    dep = tuple(Depot(id=str(d), location=i) for i, d in enumerate(depots["id"]))
    order_objs = []
    for k, o in enumerate(orders.itertuples()):
        tw = None  # the orders table is in seconds (demand.ORDERS_TABLE)
        if pd.notna(o.tw_start_s) or pd.notna(o.tw_end_s):
            start = int(o.tw_start_s) if pd.notna(o.tw_start_s) else 0
            end = int(o.tw_end_s) if pd.notna(o.tw_end_s) else 48 * 3600
            tw = (start, end)
        order_objs.append(
            Order(
                id=str(o.id),
                kind=o.kind,
                location=n_dep + k,
                quantity={"kg": int(o.kg), "parcels": int(o.parcels)},
                service_s=int(o.service_s),
                time_window=tw,
                product_class=str(o.product_class),
                max_in_vehicle_s=int(o.max_in_vehicle_s) if pd.notna(o.max_in_vehicle_s) else None,
                requires_refrigeration=bool(o.requires_refrigeration),
                depot=None if supply is None else supply.order_depot.get(str(o.id)),
            )
        )
    return RoutingProblem(
        time_s=mat.seconds,
        distance_m=mat.metres,
        depots=dep,
        vehicle_types=vtypes,
        orders=tuple(order_objs),
        reachable=reachable,
        delivery_hour_cost=plan.delivery_hour_cost,
    )


def plan_routes(
    inputs: PlanInputs,
    depots: gpd.GeoDataFrame,
    name: str,
    *,
    fleet_depots: int | None = None,
    time_limit_s: float | None = None,
    solution_limit: int | None = None,
    supply: DepotSupply | None = None,
    sectors: Mapping[str, str] | None = None,
    fallback_depot: str | None = None,
    pool: Pool | None = None,
    solved: Path | None = None,
) -> RoutePlan:
    """Route one day of orders from ``depots`` (``id`` and ``node`` columns).

    Parameters
    ----------
    fleet_depots
        Station the fleet of this many depots in total, spread evenly (the baseline stations the
        plan's whole fleet at the one county centre).
    supply
        Per-depot van departure times, order-to-depot pins and extra vehicle types; with it each
        fleet type becomes one vehicle type per depot (``van@<depot>``) starting at that depot's
        ready time.
    sectors
        One depot only: order id -> sector; route sector by sector (:func:`_solve_sectors`).
    fallback_depot
        A depot that may serve an order pinned elsewhere when its own depot cannot (the plan's
        county centre, :func:`centre_fallbacks`): an ``infeasible`` order's evidence is then the
        best direct trip of both.
    pool
        ``per_depot`` mode: route the depots' models in this pool's workers (:func:`_route_both`);
        the same routes as in this process.
    solved
        The run's folder of solved models (:func:`_solved_once`): a model the run has searched
        already (the other day's) is not searched again.
    """
    plan, region = inputs.scenario.plan, inputs.region
    orders = inputs.orders
    n_dep = len(depots)
    problem = day_problem(inputs, depots, fleet_depots=fleet_depots, supply=supply)
    options = replace(
        _routing_options(inputs),
        time_limit_s=time_limit_s or plan.routing_time_limit_s,
        solution_limit=solution_limit or plan.routing_solution_limit,
        depot_candidates=plan.routing_depot_candidates,
    )
    if plan.routing_mode == "per_depot" and n_dep > 1:
        solution = _solve_per_depot(problem, options, plan.routing_first_solution, pool, solved)
    elif sectors is not None and n_dep == 1:
        solution = _solve_sectors(problem, options, sectors, plan.routing_first_solution, solved)
    else:
        strategy = _first_solution(len(problem.orders), plan.routing_first_solution)
        solution = solve_routing(problem, replace(options, first_solution_strategy=strategy))
    if fallback_depot is not None:
        solution = _fallback_evidence(problem, solution, fallback_depot)
    solution = _snap_evidence(solution, orders, region.max_snap_m)
    report = validate_routes(problem, solution)
    frames = solution_frames(problem, solution)
    routes, stops, unassigned = _geo_frames(inputs, depots, problem, solution, frames, name)
    return RoutePlan(name, problem, solution, report, routes, stops, unassigned)


def _fallback_evidence(
    problem: RoutingProblem, solution: RoutingSolution, fallback: str
) -> RoutingSolution:
    """Infeasible orders pinned to a depot other than ``fallback``: evidence over both depots.

    Such an order stayed at its hub because the centre cannot serve it alone either; the hub's
    figure alone overstated how far it is from being served (a 10:56 start from the hub where
    the centre's vans would start at 08:47).
    """
    pinned = {o.id: o.depot for o in problem.orders if o.depot not in (None, fallback)}
    unassigned = tuple(
        infeasible_from(problem, u.order_id, (str(pinned[u.order_id]), fallback))
        if u.reason == INFEASIBLE and u.order_id in pinned
        else u
        for u in solution.unassigned
    )
    return replace(solution, unassigned=unassigned)


def _snap_evidence(
    solution: RoutingSolution, orders: pd.DataFrame, max_snap_m: float
) -> RoutingSolution:
    """An order unreachable because its point lies beyond the snap limit says so, with figures.

    The routing layer sees only the matrix (no road path either way); the distance to the road
    network is what the user can check and fix.
    """
    far = orders.loc[orders["too_far"].to_numpy(bool)].set_index("id")["snap_m"]
    if far.empty:
        return solution
    unassigned = tuple(
        replace(
            u,
            detail=f"its point is {far[u.order_id]:,.0f} m from the nearest road of the "
            f"network, beyond the snap limit of {max_snap_m:,.0f} m (outside the area the "
            "network covers, or a wrong lon/lat)",
            limit=round(max_snap_m),
            best=round(float(far[u.order_id])),
            unit="m",
        )
        if u.binding == REASON_UNREACHABLE and u.order_id in far.index
        else u
        for u in solution.unassigned
    )
    return replace(solution, unassigned=unassigned)


def _supplied_types(
    vtypes: tuple[VehicleType, ...], depot_ids: Sequence[str], supply: DepotSupply
) -> tuple[VehicleType, ...]:
    """One vehicle type per fleet type and depot, leaving at the depot's ready time."""
    out: list[VehicleType] = []
    for vt in vtypes:
        for d in depot_ids:
            start = vt.shift_start_s
            if d in supply.ready_s:
                start = min(max(start, int(supply.ready_s[d])), vt.shift_end_s)
            out.append(
                replace(
                    vt, id=f"{vt.id}@{d}", count_per_depot={d: vt.count_at(d)}, shift_start_s=start
                )
            )
    return (*out, *supply.extra_types)


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
    problem: RoutingProblem,
    options: RoutingOptions,
    first_solution: str = "auto",
    pool: Pool | None = None,
    solved: Path | None = None,
) -> RoutingSolution:
    """Cluster first, route second: orders go to their nearest depot, each depot routed alone.

    This is how hubs run in practice (each serves its catchment) and it keeps every OR-Tools model
    small; the merged solution is checked by the validator against the whole problem. An order
    goes to the nearest (by round trip) of the depots that can serve it alone; orders no depot can
    serve are reported ``infeasible`` without entering any model. Reasons are recomputed on the
    whole problem. Each depot gets an equal share of the time limit and the full solution limit.
    With ``pool`` the depots' models are solved in its workers (each search is the same there).
    """
    t0 = time.perf_counter()
    allowed, _ = precheck(problem)
    vehicles = vehicles_of(problem)
    depot_pos = {d.id: i for i, d in enumerate(problem.depots)}
    home: dict[int, list[Order]] = {i: [] for i in range(len(problem.depots))}
    for o in problem.orders:
        if o.depot is not None:  # pinned (supplied by the trunk to that depot)
            home[depot_pos[o.depot]].append(o)
            continue
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
    parts = [
        replace(problem, depots=(dep,), orders=tuple(home[i]),
                vehicle_types=_types_at(problem.vehicle_types, dep.id))
        for i, dep in enumerate(problem.depots) if home[i]
    ]  # fmt: skip
    share = replace(options, time_limit_s=max(1.0, options.time_limit_s / len(problem.depots)))
    if pool is None:
        done = [_solve_part(part, share, first_solution, None, solved) for part in parts]
    else:
        # the largest models first, so that none starts last on an otherwise idle pool
        largest_first = sorted(range(len(parts)), key=lambda k: -len(parts[k].orders))
        pending = {
            k: pool.apply_async(_solve_part, (parts[k], share, first_solution, None, solved))
            for k in largest_first
        }
        done = [result_of(pending[k]) for k in range(len(parts))]
    return _merged(problem, done, "per depot", t0)


#: A sub-problem's solution and how its vehicle ids map onto the whole problem's.
_Part = tuple[RoutingSolution, Mapping[str, str]]


def _solve_part(
    part: RoutingProblem,
    options: RoutingOptions,
    first_solution: str,
    vehicle_ids: Mapping[str, str] | None = None,
    solved: Path | None = None,
) -> _Part:
    """One sub-problem's search, on the sub-problem :func:`~lastmile.routing.compacted` (the same
    model); with ``solved``, one search per model in the run (:func:`_solved_once`)."""
    strategy = _first_solution(len(part.orders), first_solution)
    model, old = compacted(part)
    solution = _solved_once(model, replace(options, first_solution_strategy=strategy), solved)
    return relocated(solution, old), vehicle_ids or {}


def _solved_once(
    model: RoutingProblem, options: RoutingOptions, solved: Path | None
) -> RoutingSolution:
    """The model's solution, searched once per run: ``solved`` is the run's folder of solutions,
    shared by its processes and keyed by the model and the search options.

    The baseline's sector of the centre's catchment is the plan's centre model (the same orders,
    vehicles and departures from the same depot): on the default day a 5.5 s search done twice
    (BENCHMARKS.md, "Session 16"). A search the time cap ended is not kept (it is not
    reproducible); any other ends the same under every cap, so the cap is not in the key.
    """
    if solved is None:
        return solve_routing(model, options)
    key = hashlib.sha256(pickle.dumps((model, replace(options, time_limit_s=1.0)))).hexdigest()
    path = solved / f"model-{key[:32]}.pickle"
    if path.exists():  # written by this run (atomically), never by anyone else
        kept: RoutingSolution = pickle.loads(path.read_bytes())
        return kept
    solution = solve_routing(model, options)
    if solution.reproducible:
        with atomic_path(path) as tmp:
            tmp.write_bytes(pickle.dumps(solution))
    return solution


def _merged(
    problem: RoutingProblem, done: Sequence[_Part], label: str, t0: float
) -> RoutingSolution:
    """The sub-problems' routes as one solution of ``problem``, reasons recomputed on it."""
    routes = [
        replace(r, vehicle_id=ids.get(r.vehicle_id, r.vehicle_id))
        for sol, ids in done for r in sol.routes
    ]  # fmt: skip
    unassigned, bound = explain_unassigned(problem, {s.order_id for r in routes for s in r.stops})
    ended = {sol.search_ended_by for sol, _ in done}
    order = (ENDED_TIME_CAP, ENDED_NO_SOLUTION, ENDED_SOLUTION_LIMIT, ENDED_LOCAL_OPTIMUM)
    return RoutingSolution(
        tuple(routes),
        unassigned,
        compute_kpis(problem, routes, len(unassigned)),
        f"{label}: " + ", ".join(sorted({sol.status for sol, _ in done})),
        time.perf_counter() - t0,
        search_ended_by=next((e for e in order if e in ended), ENDED_NOTHING),
        solutions=sum(sol.solutions for sol, _ in done),
        fleet_bound=bound,
    )


def _solve_sectors(
    problem: RoutingProblem,
    options: RoutingOptions,
    sector_of: Mapping[str, str],
    first_solution: str = "auto",
    solved: Path | None = None,
) -> RoutingSolution:
    """One depot's day routed sector by sector, then what is left in one model.

    The baseline of the study: the whole fleet at the county centre serves the plan's catchments
    (``sector_of``: order id -> sector, the catchment's hub), each sector routed on its own with an
    equal share of every vehicle type the sectors can share (the vans its hub has in the plan);
    types with fewer vehicles than sectors (the trunk vehicles), the vehicles no sector used, and
    the orders the sectors left (servable ones only) then go into one more model. One model of the
    whole day from the centre gives a first solution only after minutes on the county (measured:
    BENCHMARKS.md); the sectors keep every model as small as the plan's. Vehicle ids are those of
    the whole problem (``depot/type/k``); each sector gets its own block of ``k``.
    """
    t0 = time.perf_counter()
    (depot,) = problem.depots
    allowed, _ = precheck(problem)
    names = sorted({sector_of.get(o.id, "") for o in problem.orders if o.id in allowed})
    members: dict[str, list[Order]] = {name: [] for name in names}
    for o in problem.orders:
        if o.id in allowed:
            members[sector_of.get(o.id, "")].append(o)
    counts = {vt.id: vt.count_at(depot.id) for vt in problem.vehicle_types}
    shared = [vt for vt in problem.vehicle_types if counts[vt.id] >= len(names)]
    if len(names) < 2 or not shared:
        one = _solve_part(problem, options, first_solution, None, solved)
        return _merged(problem, [one], "one model", t0)
    next_k = dict.fromkeys(counts, 0)  # vehicles of each type handed out so far
    share = replace(options, time_limit_s=max(1.0, options.time_limit_s / (len(names) + 1)))
    done: list[_Part] = []
    for j, name in enumerate(names):
        types, ids = [], {}
        for vt in shared:
            n = counts[vt.id] // len(names) + (1 if j < counts[vt.id] % len(names) else 0)
            types.append(replace(vt, count_per_depot={depot.id: n}))
            for k in range(n):
                ids[f"{depot.id}/{vt.id}/{k + 1}"] = f"{depot.id}/{vt.id}/{next_k[vt.id] + k + 1}"
            next_k[vt.id] += n
        part = replace(problem, orders=tuple(members[name]), vehicle_types=tuple(types))
        done.append(_solve_part(part, share, first_solution, ids, solved))
    served = {s.order_id for sol, _ in done for r in sol.routes for s in r.stops}
    left = tuple(o for o in problem.orders if o.id in allowed and o.id not in served)
    used = {ids.get(r.vehicle_id, r.vehicle_id) for sol, ids in done for r in sol.routes}
    free_types, free_ids = [], {}
    for vt in problem.vehicle_types:
        free = [k for k in range(1, counts[vt.id] + 1) if f"{depot.id}/{vt.id}/{k}" not in used]
        if free:
            free_types.append(replace(vt, count_per_depot={depot.id: len(free)}))
            for local, k in enumerate(free, start=1):
                free_ids[f"{depot.id}/{vt.id}/{local}"] = f"{depot.id}/{vt.id}/{k}"
    if left and free_types:
        part = replace(problem, orders=left, vehicle_types=tuple(free_types))
        done.append(_solve_part(part, share, first_solution, free_ids, solved))
    return _merged(problem, done, "per sector", t0)


def _types_at(vtypes: Sequence[VehicleType], depot_id: str) -> tuple[VehicleType, ...]:
    """The vehicle types of one depot's sub-problem (per-depot counts narrowed to that depot)."""
    out = []
    for vt in vtypes:
        if isinstance(vt.count_per_depot, Mapping):
            n = vt.count_at(depot_id)
            if n > 0:
                out.append(replace(vt, count_per_depot={depot_id: n}))
        else:
            out.append(vt)
    return tuple(out) or (replace(vtypes[0], count_per_depot=0),)


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
    paths = leg_paths(net, legs, workers=_side_by_side(inputs.scenario.plan))
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
    routes["departure"] = routes["departure_s"].map(format_clock)
    routes["return"] = routes["arrival_s"].map(format_clock)
    routes = gpd.GeoDataFrame(routes, geometry=geoms, crs="EPSG:4326")

    stops = frames["stops"].copy()
    stops.insert(0, "scenario", name)
    stops["seq"] = stops["sequence"]
    stops["arrival"] = stops["arrival_s"].map(format_clock)
    stops["in_vehicle_min"] = stops["in_vehicle_min"].round(1)
    stops["limit_min"] = (stops["max_in_vehicle_s"].astype(float) / 60).round(1)
    stops["cold_chain_ok"] = stops["within_limit"].astype(bool)
    stops["village"] = [
        str(inputs.orders.iloc[order_row[str(o)]]["village"]) for o in stops["order_id"]
    ]
    # the gap between the village and the road node its stop is routed to (as in orders.csv)
    snap_m = inputs.orders["snap_m"].to_numpy(float)
    stops["snap_m"] = [snap_m[order_row[str(o)]] for o in stops["order_id"]]
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
    morning: TrunkRun | None = None
    evening: TrunkRun | None = None
    end_to_end: EndToEnd | None = None
    fleet: Mapping[str, FleetNeeded] | None = None

    def kpis(self) -> dict[str, Any]:
        """Results only (no timings, no paths): identical between two runs with the same inputs."""
        inp, pl = self.inputs, self.placement
        names = {t.code: (t.name, t.pinyin) for t in inp.region.townships}
        res = pl.result
        figures = {
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
            "access_time": {
                **dict(self.study.summary),
                "covers": f"{_settlements_covered(inp)}, weighted by its demand weight; road "
                "time from the nearest open facility, no orders routed"
                + (
                    "; settlements without a road path from an open facility in either plan "
                    "are left out and listed in unreachable_villages"
                    if self.study.summary["villages_compared"] < len(inp.villages)
                    else ""
                )
                + _beyond_snap_clause(inp),
            },
            "reachability": _reachability(inp),
            "routing": {
                "baseline": _route_kpis(self.baseline),
                "plan": _route_kpis(self.planned),
            },
            **self._like_for_like(),
            **(
                {"fleet_needed": {n: f.summary() for n, f in self.fleet.items()}}
                if self.fleet is not None
                else {}
            ),
            "warnings": [*inp.warnings, *self.time_cap_warnings(), *self.trunk_warnings()],
        }
        figures["covers"] = kpi_coverage(figures)  # which orders and legs each section covers
        # a deep copy: the sections reuse the study's own dicts, which a caller must not change
        return copy.deepcopy(figures)

    def time_cap_warnings(self) -> list[str]:
        """One warning per routed day whose search the wall-clock time cap ended (its routes
        may differ run to run), for ``kpis.json`` ``warnings``; empty when every search ended by
        a reproducible limit."""
        limit = self.inputs.scenario.plan.routing_time_limit_s
        return [
            f"{name} routing: the time cap (routing_time_limit_s = {limit:g} s) ended the search "
            "before routing_solution_limit; its routes and routed figures may differ run to run "
            "— raise routing_time_limit_s or lower routing_solution_limit"
            for name, rp in (("baseline", self.baseline), ("plan", self.planned))
            if rp.solution.search_ended_by == ENDED_TIME_CAP
        ]

    def trunk_warnings(self) -> list[str]:
        """One warning per trunk run that missed its schedule (:func:`trunk_warnings`)."""
        return trunk_warnings(self.inputs, self.planned, self.morning, self.evening)

    def _like_for_like(self) -> dict[str, Any]:
        if self.end_to_end is None:
            return {}
        trunk = self.inputs.region.trunk
        hub_names = dict(zip(self.placement.hubs["id"], self.placement.hubs["name"], strict=True))
        runs: dict[str, Any] = {}
        for run in (self.morning, self.evening):
            if run is None:
                continue
            k = run.solution.kpis
            runs[run.kind] = {
                "vehicles_used": k.vehicles_used,
                "hubs_served": len(run.hub_arrival_s),
                "latest_arrival_relaxed": run.relaxed,
                "km": round(k.total_km, 1),
                "vehicle_hours": round(k.vehicle_hours, 2),
                "cost": round(k.total_cost, 1),
                "validator_ok": run.validation.ok,
                "stops_not_served": [u.order_id for u in run.solution.unassigned],
                "hub_arrival": {h: format_clock(t) for h, t in sorted(run.hub_arrival_s.items())},
            }
        s = self.end_to_end.summary
        return {
            "trunk": {
                "assumptions": {
                    "cutoff": format_clock(trunk.cutoff_s),
                    "vehicles": trunk.count,
                    "capacity_kg": trunk.vehicle.capacity["kg"],
                    "hub_latest_arrival": format_clock(trunk.hub_latest_arrival_s),
                    "hub_handling_min": trunk.hub_handling_s / 60,
                    "hub_cold_store": trunk.hub_cold_store,
                    "hub_daily_cost": trunk.hub_daily_cost,
                    # whether an evening run took place (it needs hub cold rooms, an
                    # evening_departure and pickups at a hub), as trunk.runs shows it
                    "evening_run": self.evening is not None,
                },
                "runs": runs,
                "hub_names": {str(k): str(v) for k, v in hub_names.items()},
            },
            "orders_compared": s["orders_compared"],
            "lead_time": s["lead_time"],
            "routed_compared": s["routed"],
            "routed_totals": s["totals"],
            "cold_chain": s["cold_chain"],
            "unserved": {
                n: {"orders": u["orders"], "by_reason": u["by_reason"]}
                for n, u in s["unserved"].items()
            },
        }


def trunk_warnings(
    inputs: PlanInputs, planned: RoutePlan, morning: TrunkRun | None, evening: TrunkRun | None
) -> list[str]:
    """One warning per trunk run that missed its schedule: hubs reached after
    ``hub_latest_arrival`` (the relaxed run), hubs a run did not reach at all, no evening run
    while hubs collected pickups. Each changes the plan's routes and lead times, so
    ``kpis.json``, summary.md and the console of ``plan``, ``route`` and ``compare`` name them."""
    trunk = inputs.region.trunk
    latest = trunk.hub_latest_arrival_s
    more = "add trunk vehicles ([trunk] count)"
    out: list[str] = []
    if morning is not None:
        late = sorted((h, t) for h, t in morning.hub_arrival_s.items() if t > latest)
        if morning.relaxed and late:
            idle = trunk.count - morning.solution.kpis.vehicles_used
            out.append(
                "morning trunk run: hub(s) "
                + ", ".join(f"{h} at {format_clock(t)}" for h, t in late)
                + f" reached after hub_latest_arrival {format_clock(latest)}; their vans "
                "leave later - "
                + (
                    f"move hub_latest_arrival ({idle} truck(s) stood idle: more would not "
                    "reach them sooner)"
                    if idle > 0
                    else f"{more} or move hub_latest_arrival"
                )
            )
        missed = sorted({hub_of(u.order_id) for u in morning.solution.unassigned})
        if missed:
            out.append(
                f"morning trunk run: hub(s) {', '.join(missed)} not reached; their parcels "
                f"leave from the county centre - {more}"
            )
    if evening is not None:
        missed = sorted({hub_of(u.order_id) for u in evening.solution.unassigned})
        if missed:
            out.append(
                f"evening trunk run: hub(s) {', '.join(missed)} not reached; their pickups "
                "do not reach the county centre this day (lead_time pickup_to_centre "
                f"not_arrived) - {more}"
            )
    else:
        problem, centre = planned.problem, inputs.centre_id
        kept = sorted(
            {
                r.depot
                for r in planned.solution.routes
                if r.depot != centre
                and any(problem.order(s.order_id).kind == "pickup" for s in r.stops)
            }
        )
        if kept:
            out.append(
                f"no evening trunk run: the pickups of hub(s) {', '.join(kept)} stay in "
                "their cold rooms and do not reach the county centre this day (lead_time "
                "pickup_to_centre not_arrived) - set [trunk] evening_departure for a run"
            )
    return out


def _reachability(inp: PlanInputs) -> dict[str, Any]:
    """Facility-village pairs without a road path, the villages no facility reaches, and the
    settlements left out before the matrix: beyond the snap limit of the road network."""
    reach = inp.access.reachable
    lost = inp.villages.iloc[np.flatnonzero(~reach.any(axis=0))]
    return {
        "facility_village_pairs": int(reach.size),
        "facility_village_pairs_unreachable": inp.access.n_unreachable,
        "villages_no_facility_reaches": [
            {"id": str(v.id), "name": str(v.name), "township": str(v.township)}
            | {"reason": NO_FACILITY_REACHES}
            for v in lost.itertuples()
        ],
        "snap_limit_m": inp.region.max_snap_m,
        "villages_beyond_snap_limit": [dict(v) for v in inp.villages_beyond_snap],
    }


def _settlements_covered(inp: PlanInputs) -> str:
    """ "every settlement", or, when the snap limit left some out, how many of them remain."""
    left = len(inp.villages_beyond_snap)
    if not left:
        return "every settlement (incl. the county and township seats)"
    total = len(inp.villages) + left
    return (
        f"every settlement within the snap limit ({len(inp.villages)} of {total}, incl. the "
        "county and township seats)"
    )


def _beyond_snap_clause(inp: PlanInputs) -> str:
    """The settlements the snap limit left out, why, and their orders ("" when none)."""
    left = inp.villages_beyond_snap
    if not left:
        return ""
    orders = sum(int(v["orders"]) for v in left)
    day = (
        f"{orders} of the day's orders are at them" if orders else "the day has no orders for them"
    )
    return (
        f"; {len(left)} settlement(s) lie farther than the {inp.region.max_snap_m:,.0f} m snap "
        f"limit ([network] max_snap_m) from the road network and are left out of the access "
        f"times, the hub placement and the routed day ({day}): listed in "
        "reachability.villages_beyond_snap_limit"
    )


#: violations named in kpis.json per routed day (all are counted)
VIOLATIONS_LISTED = 20


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
        # the first of them in words (a planner must see what broke, not only how many)
        "validator_messages": [str(v) for v in rp.validation.violations[:VIOLATIONS_LISTED]],
    }


# --------------------------------------------------------------------------- trunk (issue 10)


def _trunk_matrix(inputs: PlanInputs, hubs: gpd.GeoDataFrame) -> Any:
    nodes = hubs["node"].to_numpy(np.int64)
    return cached_travel_matrix(inputs.network, nodes, nodes, inputs.cache)


def _routing_options(inputs: PlanInputs) -> RoutingOptions:
    """The search options of ``[plan]`` (every routed problem of a run: days and trunk runs)."""
    plan = inputs.scenario.plan
    return RoutingOptions(
        time_limit_s=plan.routing_time_limit_s,
        solution_limit=plan.routing_solution_limit,
        iterated_local_search=plan.routing_search == "ils",
        ruin_visits=plan.routing_ruin_visits,
        ruin_max_sequence=plan.routing_ruin_max_sequence,
    )


def _catchment_index(inputs: PlanInputs, hubs: gpd.GeoDataFrame) -> NDArray[np.int64]:
    """Each order's catchment: the row in ``hubs`` nearest by round trip (``-1``: none reaches)."""
    orders = inputs.orders
    nodes = np.concatenate([hubs["node"].to_numpy(np.int64), orders["node"].to_numpy(np.int64)])
    mat = cached_travel_matrix(inputs.network, nodes, nodes, inputs.cache)
    reach = mat.reachable.copy()
    far = np.concatenate([np.zeros(len(hubs), bool), orders["too_far"].to_numpy(bool)])
    reach[far, :] = False
    reach[:, far] = False
    return catchments(mat.seconds, reach, len(hubs))


def _catchment_pins(inputs: PlanInputs, hubs: gpd.GeoDataFrame) -> dict[str, str]:
    """Order id -> its catchment depot (:func:`lastmile.trunk.pin_orders`)."""
    orders = inputs.orders
    return pin_orders(
        list(orders["id"].astype(str)),
        list(orders["kind"]),
        list(_catchment_index(inputs, hubs)),
        [str(h) for h in hubs["id"]],
        inputs.region.trunk.hub_cold_store,
    )


#: a ``hub_latest_arrival`` the trunk fleet cannot meet is widened in steps of this many
#: minutes, at most this many steps (8 h), to the earliest one it can meet
RELAXED_ARRIVAL_STEP_MIN = 15
RELAXED_ARRIVAL_MAX_STEPS = 32


def supply_hubs(
    inputs: PlanInputs,
    hubs: gpd.GeoDataFrame,
    to_centre: frozenset[str] = frozenset(),
    unservable: frozenset[str] = frozenset(),
) -> tuple[DepotSupply, TrunkRun]:
    """Catchments, the routed morning trunk run and the depots' van departure times.

    Each order is pinned to its catchment depot (nearest by the round trip); the morning run
    brings each hub its catchment's deliveries; hub vans leave at trunk arrival + handling, the
    centre's at the cut-off. Without hub cold rooms, produce pickups are pinned to the centre so
    their cold-chain limit runs until the centre. Deliveries of a hub the trunk fleet cannot
    supply (``morning.solution.unassigned``, reported in kpis) are served from the centre,
    and so are the orders in ``to_centre`` (see :func:`centre_fallbacks`): a hub's vans carry
    only parcels the trunk brought, all of the hub's load or none of it. Orders in
    ``unservable`` (no vehicle of their hub or of the centre can serve them alone, whenever the
    hub's vans leave: :func:`unservable_deliveries`) stay pinned to their hub, reported
    ``infeasible`` with its evidence, but the trunk does not carry their parcels.
    """
    trunk = inputs.region.trunk
    orders = inputs.orders
    ids = [str(h) for h in hubs["id"]]
    centre = _hubs_centre_id(hubs)
    pins = _catchment_pins(inputs, hubs)
    pins.update(dict.fromkeys(to_centre, centre))
    loads: dict[str, dict[str, int]] = {}
    cold: set[str] = set()
    for o in orders.itertuples():
        depot = pins.get(str(o.id))
        if depot is None:
            continue
        if o.kind == "delivery" and depot != centre and str(o.id) not in unservable:
            q = loads.setdefault(depot, {"kg": 0, "parcels": 0})
            q["kg"] += int(o.kg)
            q["parcels"] += int(o.parcels)
            if bool(o.requires_refrigeration):
                cold.add(depot)
    tm = _trunk_matrix(inputs, hubs)
    args = (tm.seconds, tm.metres, tm.reachable, ids[1:], loads, trunk, "morning")
    # a hub's trunk arrival delays every delivery of its catchment: an hour of it costs the
    # scenario's delivery_hour_cost times the hubs' mean number of deliveries, so among routes of
    # equal km the run reaches its hubs early (the nearer hub first, not either way round)
    deliveries = sum(
        1
        for o in orders.itertuples()
        if o.kind == "delivery" and pins.get(str(o.id)) in loads and str(o.id) not in unservable
    )
    arrival = inputs.scenario.plan.delivery_hour_cost * deliveries / max(1, len(loads))
    problem = trunk_problem(
        *args,
        refrigerated_hubs=sorted(cold),
        centre_id=centre,
        latest_s=trunk.hub_latest_arrival_s,
        arrival_hour_cost=arrival,
    )
    morning = route_trunk(problem, _routing_options(inputs), "morning")
    if morning.solution.unassigned:
        # the trunk fleet cannot meet the latest arrival: the earliest deadline it can meet,
        # to RELAXED_ARRIVAL_STEP_MIN (dropped at once, one truck did a cheaper, far later tour:
        # a deadline 10 min too tight gave later hubs than a looser one); else none at all

        def run_by(extra_steps: int | None) -> TrunkRun:
            latest = (
                None
                if extra_steps is None
                else trunk.hub_latest_arrival_s + extra_steps * RELAXED_ARRIVAL_STEP_MIN * 60
            )
            relaxed = trunk_problem(*args, refrigerated_hubs=sorted(cold), centre_id=centre,
                                    latest_s=latest, arrival_hour_cost=arrival)  # fmt: skip
            return replace(route_trunk(relaxed, _routing_options(inputs), "morning"), relaxed=True)

        failed, met, steps = 0, None, 1
        while steps <= RELAXED_ARRIVAL_MAX_STEPS:  # doubling, then halving the interval
            found = run_by(steps)
            if not found.solution.unassigned:
                met, morning = steps, found
                break
            failed, steps = steps, steps * 2
        if met is None:
            morning = run_by(None)
        else:
            while met - failed > 1:
                middle = (failed + met) // 2
                found = run_by(middle)
                if found.solution.unassigned:
                    failed = middle
                else:
                    met, morning = middle, found
    ready = hub_ready_times(morning, trunk, centre)
    # a hub's vans deliver only what the trunk brought: a hub it did not reach, or reached with
    # part of its load (which orders' parcels came is not known), has its deliveries leave from
    # the centre (bb20 D12: a hub no run reached let its vans leave at their shift start, 07:00,
    # with a parcel still at the centre). Unservable orders stay: no vehicle serves them anyway.
    short = {hub_of(u.order_id) for u in morning.solution.unassigned}
    for o in orders.itertuples():
        oid, depot = str(o.id), pins.get(str(o.id))
        if o.kind != "delivery" or depot in (None, centre) or oid in unservable:
            continue
        if depot not in ready or depot in short:
            pins[oid] = centre
    return DepotSupply(ready_s=ready, order_depot=pins), morning


def evening_run(inputs: PlanInputs, hubs: gpd.GeoDataFrame, planned: RoutePlan) -> TrunkRun | None:
    """The evening collection run: produce the hubs' vans picked up, taken to the centre.

    Only with hub cold rooms and an ``evening_departure``; each hub's pickup may start once its
    last van is back.
    """
    trunk = inputs.region.trunk
    if not trunk.hub_cold_store or trunk.evening_departure_s is None:
        return None
    ids = [str(h) for h in hubs["id"]]
    centre = _hubs_centre_id(hubs)
    kinds = {o.id: o for o in planned.problem.orders}
    loads: dict[str, dict[str, int]] = {}
    back: dict[str, int] = {}
    cold: set[str] = set()
    for r in planned.solution.routes:
        if r.depot == centre:
            continue
        back[r.depot] = max(back.get(r.depot, 0), r.arrival_s)
        for st in r.stops:
            o = kinds[st.order_id]
            if o.kind != "pickup":
                continue
            q = loads.setdefault(r.depot, {"kg": 0, "parcels": 0})
            for k in ("kg", "parcels"):
                q[k] += int(o.quantity.get(k, 0))
            if o.requires_refrigeration:
                cold.add(r.depot)
    if not loads:
        return None
    tm = _trunk_matrix(inputs, hubs)
    problem = trunk_problem(
        tm.seconds,
        tm.metres,
        tm.reachable,
        ids[1:],
        loads,
        trunk,
        "evening",
        ready_s=back,
        refrigerated_hubs=sorted(cold),
        centre_id=centre,
    )
    return route_trunk(problem, _routing_options(inputs), "evening")


def trunk_routes(inputs: PlanInputs, hubs: gpd.GeoDataFrame, run: TrunkRun) -> gpd.GeoDataFrame:
    """One row per trunk route with its road geometry (``run, vehicle_id, hubs, km, ...``).

    Times are given twice: ``HH:MM`` (floored, to read) and whole seconds since midnight
    (``departure_s``, ``return_s``, ``hub_arrivals_s``: the start of service at each stop, in
    the order of ``hubs``), the values the lead times and ready times were computed from.
    ``kg`` and ``parcels`` are the load the route carries (the sum of its stops' quantities).
    """
    net = inputs.network
    node = hubs["node"].to_numpy(np.int64)
    names = dict(zip(hubs["id"].astype(str), hubs["name"].astype(str), strict=True))
    kinds = {o.id: o for o in run.problem.orders}
    rows, geoms = [], []
    for r in run.solution.routes:
        seq = [0, *[s.location for s in r.stops], 0]
        legs = [(int(node[a]), int(node[b])) for a, b in itertools.pairwise(seq)]
        nodes: list[int] = []
        for path in leg_paths(net, legs):
            if path:
                nodes += path if not nodes else path[1:]
        geom = path_geometry(net, nodes) if len(set(nodes)) > 1 else None
        if geom is None:
            pts = [(float(net.node_lon[node[i]]), float(net.node_lat[node[i]])) for i in seq]
            geom = LineString(pts if len(set(pts)) > 1 else [pts[0], (pts[0][0] + 1e-5, pts[0][1])])
        hub_ids = [hub_of(s.order_id) for s in r.stops]
        quantities = [kinds[s.order_id].quantity for s in r.stops]
        rows.append(
            {
                "scenario": "plan",
                "run": run.kind,
                "vehicle_id": r.vehicle_id,
                "vehicle_type": r.vehicle_type,
                "hubs": ";".join(hub_ids),
                "hub_names": ";".join(names.get(h, h) for h in hub_ids),
                "n_stops": len(r.stops),
                "departure": format_clock(r.departure_s),
                "return": format_clock(r.arrival_s),
                "hub_arrivals": ";".join(format_clock(s.start_s) for s in r.stops),
                "departure_s": int(r.departure_s),
                "return_s": int(r.arrival_s),
                "hub_arrivals_s": ";".join(str(int(s.start_s)) for s in r.stops),
                "kg": sum(int(q.get("kg", 0)) for q in quantities),
                "parcels": sum(int(q.get("parcels", 0)) for q in quantities),
                "km": round(r.distance_m / 1000, 2),
                "hours": round(r.duration_s / 3600, 2),
                "cost": round(r.cost, 2),
            }
        )
        geoms.append(geom)
    cols = [
        "scenario",
        "run",
        "vehicle_id",
        "vehicle_type",
        "hubs",
        "hub_names",
        "n_stops",
        "departure",
        "return",
        "hub_arrivals",
        "departure_s",
        "return_s",
        "hub_arrivals_s",
        "kg",
        "parcels",
        "km",
        "hours",
        "cost",
    ]
    return gpd.GeoDataFrame(pd.DataFrame(rows, columns=cols), geometry=geoms, crs="EPSG:4326")


def baseline_supply(inputs: PlanInputs) -> DepotSupply:
    """The baseline: the centre's vans and the trunk vehicles leave the centre at the cut-off."""
    trunk = inputs.region.trunk
    centre = inputs.centre_id
    start = max(trunk.cutoff_s, trunk.morning_departure_s)
    return DepotSupply(
        ready_s={centre: trunk.cutoff_s},
        extra_types=(trunk_vehicle(trunk, start_s=start),) if trunk.count else (),
    )


def order_tables(
    inputs: PlanInputs,
    baseline: RoutePlan,
    planned: RoutePlan,
    morning: TrunkRun | None,
    evening: TrunkRun | None,
) -> EndToEnd:
    """The like-for-like study of the two routed days (:mod:`lastmile.endtoend`)."""
    trunk = inputs.region.trunk
    town = inputs.villages.set_index("id")["township"]
    info = inputs.orders[["id", "village", "snap_m"]].assign(
        township=inputs.orders["village"].map(town).fillna("")
    )
    centre = inputs.centre_id
    base = order_table(
        "baseline",
        baseline.problem,
        baseline.solution,
        info,
        centre_id=centre,
        cutoff_s=trunk.cutoff_s,
        hub_cold_store=trunk.hub_cold_store,
    )
    plan = order_table(
        "plan",
        planned.problem,
        planned.solution,
        info,
        centre_id=centre,
        cutoff_s=trunk.cutoff_s,
        hub_cold_store=trunk.hub_cold_store,
        morning=morning,
        evening=evening,
        hub_daily_cost=trunk.hub_daily_cost,
    )
    idle = unallocated_costs(
        planned.problem,
        planned.solution,
        centre_id=centre,
        morning=morning,
        evening=evening,
        hub_daily_cost=trunk.hub_daily_cost,
    )
    # the baseline has no hubs and no trunk runs: its figures (zeros) keep the keys the same
    none = unallocated_costs(baseline.problem, baseline.solution, centre_id=centre)
    names = inputs.region.township_names
    return end_to_end(base, plan, names, {"baseline": none, "plan": idle})


def baseline_depots(inputs: PlanInputs) -> gpd.GeoDataFrame:
    """The county centre alone."""
    fac = inputs.facilities
    return fac[fac["role"] == CENTRE_ROLE].reset_index(drop=True)


def _route_baseline_in_child() -> RoutePlan:
    return route_baseline(inherited("plan_inputs"), inherited("placement"), inherited("solved"))


def baseline_sectors(inputs: PlanInputs, placement: Placement) -> dict[str, str] | None:
    """Order id -> the plan's catchment (hub id) it lies in, when the baseline is routed by
    catchments (``[plan] baseline_routing``); ``None`` for one model."""
    if inputs.scenario.plan.baseline_routing != "catchments":
        return None
    hub_ids = [str(h) for h in placement.hubs["id"]]
    home = _catchment_index(inputs, placement.hubs)
    return {
        str(o): hub_ids[int(h)] if h >= 0 else ""
        for o, h in zip(inputs.orders["id"], home, strict=True)
    }


def route_baseline(
    inputs: PlanInputs, placement: Placement, solved: Path | None = None
) -> RoutePlan:
    """The baseline day: the whole fleet (the plan's vans and trunk vehicles) at the centre
    (``solved``: see :func:`plan_routes`)."""
    sectors = baseline_sectors(inputs, placement)
    return plan_routes(
        inputs,
        baseline_depots(inputs),
        "baseline",
        fleet_depots=len(placement.hubs),
        supply=baseline_supply(inputs),
        sectors=sectors,
        solved=solved,
    )


def centre_fallbacks(
    inputs: PlanInputs, hubs: gpd.GeoDataFrame, supply: DepotSupply
) -> frozenset[str]:
    """Orders pinned to a hub that cannot serve them alone, while the county centre can.

    A catchment is the nearest depot by road, but a hub's vans leave only after the morning trunk
    run and its handling: an order with an early time window (or a tight shift) may then be out of
    the hub's reach and within the centre's, whose vans leave at the cut-off. Such an order is
    served from the centre (its parcels never ride the trunk) rather than reported ``infeasible``
    from the hub. Checked by :func:`lastmile.routing.precheck`, on the day's own problem.
    """
    problem = day_problem(inputs, hubs, supply=supply)
    centre = _hubs_centre_id(hubs)
    allowed, _ = precheck(problem)
    stuck = {o.id for o in problem.orders if o.depot not in (None, centre) and o.id not in allowed}
    return frozenset(stuck & _servable_from(problem, stuck, centre))


def unservable_deliveries(inputs: PlanInputs, hubs: gpd.GeoDataFrame) -> frozenset[str]:
    """Deliveries no vehicle of their catchment hub or of the county centre can serve alone,
    whenever the hub's vans leave; known before the trunk is routed.

    Their hub fails them on a limit no departure time changes
    (:data:`lastmile.routing.DEPARTURE_FREE_BINDINGS`: 100,000 parcels fit no vehicle) and the
    centre, whose vans leave at the cut-off in every supply, cannot serve them either. They are
    ``infeasible`` whatever the trunk does, so it does not carry them (bb20 D5: four trucks
    hauled such an order to its hub, left the hub 'not reached' and asked for more trucks); nor
    does one whose window closes before the cut-off, when the first vans leave (bb22 D7). An
    order its hub misses by a later window still rides the trunk: the trunk's arrival decides
    whether the hub's vans make it (bb20 D12).
    """
    centre = _hubs_centre_id(hubs)
    supply = DepotSupply(
        ready_s={centre: inputs.region.trunk.cutoff_s}, order_depot=_catchment_pins(inputs, hubs)
    )
    problem = day_problem(inputs, hubs, supply=supply)
    by_id = {o.id: o for o in problem.orders}
    _, dropped = precheck(problem)
    fixed = {u.order_id for u in dropped if u.binding in DEPARTURE_FREE_BINDINGS}
    # a window closed before the cut-off, when the first vans (the centre's) leave, is missed
    # whenever a hub's vans leave too (bb22 D7: 123 parcels rode the trunk for nobody)
    cutoff = inputs.region.trunk.cutoff_s
    fixed |= {
        u.order_id
        for u, o in ((u, by_id[u.order_id]) for u in dropped if u.binding == "time_window")
        if o.time_window is not None and o.time_window[1] < cutoff
    }
    at_hub = {
        o.id
        for o in problem.orders
        if o.kind == "delivery" and o.depot not in (None, centre) and o.id in fixed
    }
    return frozenset(at_hub - _servable_from(problem, at_hub, centre))


def _servable_from(problem: RoutingProblem, ids: set[str], depot: str) -> set[str]:
    """Which of the orders ``ids`` a vehicle of ``depot`` can serve alone (:func:`precheck`)."""
    if not ids:
        return set()
    moved = replace(
        problem,
        orders=tuple(replace(o, depot=depot) if o.id in ids else o for o in problem.orders),
    )
    allowed, _ = precheck(moved)
    return set(allowed) & ids


def route_plan(
    inputs: PlanInputs,
    placement: Placement,
    pool: Pool | None = None,
    solved: Path | None = None,
) -> tuple[RoutePlan, TrunkRun, TrunkRun | None]:
    """The plan's day: the morning trunk run, the hubs' routes (in ``pool``'s workers when given,
    ``solved``: see :func:`plan_routes`), the evening run."""
    unservable = unservable_deliveries(inputs, placement.hubs)
    supply, morning = supply_hubs(inputs, placement.hubs, unservable=unservable)
    to_centre: frozenset[str] = frozenset()
    # the trunk no longer carries the parcels of orders sent to the centre: its run, and so the
    # hubs' departure times, change, which can leave more orders out of their hub's reach (bb23
    # D12: all windows closing at 10:00, an order its hub could serve at the first trunk run and
    # not at the second crashed the plan). Repeated until no more order moves; the set only grows.
    for _ in range(len(inputs.orders) + 1):
        more = centre_fallbacks(inputs, placement.hubs, supply) - to_centre
        if not more:
            break
        to_centre |= more
        supply, morning = supply_hubs(inputs, placement.hubs, to_centre, unservable)
    planned = plan_routes(
        inputs,
        placement.hubs,
        "plan",
        supply=supply,
        fallback_depot=_hubs_centre_id(placement.hubs),
        pool=pool,
        solved=solved,
    )
    trunk = inputs.region.trunk
    unsupplied = supply_violations(
        planned.problem,
        planned.solution,
        morning.problem,
        morning.solution,
        handling_s=trunk.hub_handling_s,
        cutoff_s=trunk.cutoff_s,
    )
    if unsupplied:  # the day's routes and the trunk run are checked together
        report = planned.validation
        planned = replace(
            planned, validation=replace(report, violations=(*report.violations, *unsupplied))
        )
    return planned, morning, evening_run(inputs, placement.hubs, planned)


def check_day_has_orders(inputs: PlanInputs) -> None:
    """DataError when the day to route has no order, before any routing (bb21 D5).

    An orders file with no rows is refused when it is read, so an empty day is a generated one
    whose settlements hold no village: :func:`~lastmile.demand.daily_orders` gives orders to
    ``place=village/hamlet/isolated_dwelling`` only (towns and suburbs are served at the centre or
    a hub itself), which a town's or a suburb's OSM extract may not have at all.
    """
    if len(inputs.orders):
        return
    demand = inputs.region.demand
    if demand.draws_no_order and not inputs.scenario.plan.orders:
        raise DataError(
            "no order to route: the generated day has no demand ([demand] "
            f"parcels_per_resident_per_day = {demand.parcels_per_resident_per_day:g}, "
            f"produce_kg_per_resident = {demand.produce_kg_per_resident:g}, "
            f"produce_pickup_share = {demand.produce_pickup_share:g})",
            "give a demand above 0, or the day's orders with [plan] orders = FILE",
        )
    places = inputs.villages["place"].astype(str).value_counts()
    found = ", ".join(f"{n} {place}" for place, n in places.items()) or "none"
    raise DataError(
        f"no order to route: a generated day has orders only at settlements tagged "
        f"place={'/'.join(RURAL_PLACES)}, and none of the {len(inputs.villages)} settlement(s) "
        f"used from {inputs.source.label} is one (place: {found})",
        "give the day's orders with [plan] orders = FILE (or --orders FILE), or the villages "
        "with [plan] villages = FILE (or --villages FILE): each village of a villages file gets "
        "a generated day's orders",
    )


def route_days(
    inputs: PlanInputs, placement: Placement, *, parallel: bool = True
) -> tuple[RoutePlan, RoutePlan, TrunkRun, TrunkRun | None]:
    """The baseline day and the plan's day with its trunk runs: ``(baseline, plan, morning,
    evening)``."""
    baseline, (planned, morning, evening) = _route_both(inputs, placement, parallel=parallel)
    return baseline, planned, morning, evening


def _side_by_side(plan: PlanSettings) -> int:
    """Processes a run's matrices and routed days use: 2 where it may fork and has two cores
    (``[plan] routing_processes = 1``: one)."""
    if plan.routing_processes < 2 or not can_fork() or (os.cpu_count() or 1) < 2:
        return 1
    return 2


def _cache_day_matrices(inputs: PlanInputs, placement: Placement, workers: int) -> None:
    """Put both days' travel matrices in the cache before the days are routed: the plan's
    (hubs and orders, on ``workers`` cores) and the baseline's (centre and orders), taken from it.

    Routed side by side on a cold cache, each process computed its own, and the plan's twice
    (5 s of a cold run on the county, BENCHMARKS.md "Session 16"). Without a cache, nothing.
    """
    if inputs.cache is None or inputs.network.cache_key is None:
        return
    orders = inputs.orders["node"].to_numpy(np.int64)

    def nodes(depots: gpd.GeoDataFrame) -> NDArray[np.int64]:  # as day_problem orders them
        return np.concatenate([depots["node"].to_numpy(np.int64), orders])

    net, cache = inputs.network, inputs.cache
    day = cached_travel_matrix(
        net, nodes(placement.hubs), nodes(placement.hubs), cache, workers=workers
    )
    baseline = nodes(baseline_depots(inputs))
    cached_travel_matrix(net, baseline, baseline, cache, within=day)


def _route_both(
    inputs: PlanInputs, placement: Placement, *, parallel: bool = True
) -> tuple[RoutePlan, tuple[RoutePlan, TrunkRun, TrunkRun | None]]:
    """Route the baseline and the plan (trunk runs included), side by side where ``fork`` exists.

    OR-Tools routing is single-threaded; the two days are independent, so the baseline runs in
    one worker of a two-process pool while this process routes the plan's trunk runs and sends
    the hubs' models to the pool: the other worker starts on them at once, and the first joins it
    when the baseline is done (the plan's day is the longer: 64.7 s of CPU against 48.6 at the
    default depth, BENCHMARKS.md "Session 14"). Results are identical to running them in turn,
    which is what ``parallel=False`` or ``[plan] routing_processes = 1`` does (no fork: inside a
    Dask worker, a daemonic process that cannot fork children). Both days' travel matrices are
    computed first, once (:func:`_cache_day_matrices`), and a model both days have is searched
    once (:func:`_solved_once`).
    """
    check_day_has_orders(inputs)
    workers = _side_by_side(inputs.scenario.plan) if parallel else 1
    _cache_day_matrices(inputs, placement, workers)
    with tempfile.TemporaryDirectory(prefix="lastmile-models-") as folder:
        solved = Path(folder)  # models solved in this run (_solved_once)
        if workers < 2:
            return route_baseline(inputs, placement, solved), route_plan(
                inputs, placement, solved=solved
            )
        with fork_pool(2, plan_inputs=inputs, placement=placement, solved=solved) as pool:
            pending = pool.apply_async(_route_baseline_in_child)
            planned = route_plan(inputs, placement, pool, solved)
            baseline = result_of(pending)
    return baseline, planned


def search_fleet_needed(
    inputs: PlanInputs,
    placement: Placement,
    baseline: RoutePlan,
    planned: RoutePlan,
    morning: TrunkRun | None,
    evening: TrunkRun | None,
) -> dict[str, FleetNeeded]:
    """The smallest fleet of each scenario serving every servable order (:mod:`lastmile.fleet`).

    Each step is a routed, validated day with the scenario's solver settings, routed as the day
    itself is (the baseline by catchments when ``baseline_routing`` says so); the plan's cost
    includes the trunk runs and the hubs' daily cost. Each search starts from the vehicles the
    routed day (and its trunk runs) used, so the fleet needed is never more than that day's.
    """
    plan = inputs.scenario.plan
    options = _routing_options(inputs)
    sectors = baseline_sectors(inputs, placement)

    def solver(problem: RoutingProblem) -> RoutingSolution:
        strategy = _first_solution(len(problem.orders), plan.routing_first_solution)
        return solve_routing(problem, replace(options, first_solution_strategy=strategy))

    def baseline_solver(problem: RoutingProblem) -> RoutingSolution:
        if sectors is None:
            return solver(problem)
        return _solve_sectors(problem, options, sectors, plan.routing_first_solution)

    n_hubs = len(planned.problem.depots) - 1
    runs = [r for r in (morning, evening) if r is not None]
    return {
        "baseline": fleet_needed(
            "baseline",
            baseline.problem,
            baseline_solver,
            witness=baseline.solution if baseline.validation.ok else None,
        ),
        "plan": fleet_needed(
            "plan",
            planned.problem,
            solver,
            trunk=[r.problem for r in runs],
            fixed_daily_cost=inputs.region.trunk.hub_daily_cost * n_hubs,
            witness=planned.solution if planned.validation.ok else None,
            trunk_witnesses=[r.solution if r.validation.ok else None for r in runs],
        ),
    }


def run_plan(
    scenario: Scenario,
    *,
    reference_dir: str | Path | None = None,
    cache: str | Path | None = None,
    progress: Progress = _quiet,
    with_fleet_needed: bool = False,
    parallel: bool = True,
    on_prepared: Callable[[PlanInputs], None] | None = None,
) -> PlanResult:
    """The whole chain on one scenario.

    Parameters
    ----------
    with_fleet_needed
        Add the fleet search (:func:`search_fleet_needed`; several routed days).
    parallel
        Route the baseline and the plan side by side in a forked process (default); ``False``
        runs everything in this process, as :mod:`lastmile.sweep` does inside Dask workers
        (daemonic processes cannot fork). The results are identical either way.
    on_prepared
        Called with the prepared inputs before the hubs are placed (the command line says then
        whether the network is the synthetic stand-in, not a minute later).
    """
    inputs = prepare(scenario, reference_dir=reference_dir, cache=cache, progress=progress)
    if on_prepared is not None:
        on_prepared(inputs)
    return plan_on(
        inputs, progress=progress, with_fleet_needed=with_fleet_needed, parallel=parallel
    )


def plan_on(
    inputs: PlanInputs,
    *,
    forced: Sequence[str] = (),
    excluded: Sequence[str] = (),
    progress: Progress = _quiet,
    with_fleet_needed: bool = False,
    parallel: bool = True,
) -> PlanResult:
    """Hubs, the routed days (baseline and plan, trunk runs included) and the study on prepared
    inputs: :func:`run_plan` after :func:`prepare`.

    ``forced`` / ``excluded`` are candidate site ids that must / must not be hubs (see
    :func:`place_hubs`); the other arguments as for :func:`run_plan`.
    """
    t0 = time.perf_counter()
    check_day_has_orders(inputs)  # before the hubs: a day without orders cannot be planned
    timings = dict(inputs.timings)
    t = time.perf_counter()
    progress("hub placement")
    placement = place_hubs(inputs, forced=forced, excluded=excluded)
    study = delivery_study(inputs, placement.open_rows)
    timings["location_s"] = time.perf_counter() - t
    t = time.perf_counter()
    progress("routes: baseline and plan")
    baseline, (planned, morning, evening) = _route_both(inputs, placement, parallel=parallel)
    e2e = order_tables(inputs, baseline, planned, morning, evening)
    timings["routing_s"] = time.perf_counter() - t
    fleet = None
    if with_fleet_needed:
        t = time.perf_counter()
        progress("fleet needed (routed days)")
        fleet = search_fleet_needed(inputs, placement, baseline, planned, morning, evening)
        timings["fleet_needed_s"] = time.perf_counter() - t
    timings["total_s"] = sum(inputs.timings.values()) + time.perf_counter() - t0
    return PlanResult(
        inputs, placement, study, baseline, planned, timings, morning, evening, e2e, fleet
    )

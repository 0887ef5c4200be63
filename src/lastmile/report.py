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
from dataclasses import asdict
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from lastmile import __version__
from lastmile.config import reference_data_dir
from lastmile.io import (
    file_sha256,
    package_versions,
    write_csv,
    write_geopackage,
    write_json,
    write_text,
)
from lastmile.maps import plan_map, save_map
from lastmile.plan import PlanResult
from lastmile.plots import delivery_time_distribution, minutes_saved_by_township
from lastmile.study import markdown_table

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
        out["arrival"] = [
            f"{int(s) // 3600:02d}:{(int(s) % 3600) // 60:02d}" for s in out["arrival_s"]
        ]
    return out


def write_outputs(
    result: PlanResult, out: str | Path, *, map_assets: str = "cdn"
) -> dict[str, Path]:
    """Write the whole output folder; return the written paths by name."""
    out = Path(out)
    inp = result.inputs
    label = inp.source.label
    towns = _townships_layer(result)
    villages = _villages_layer(result)
    hubs = result.placement.hubs.drop(columns=["node"])
    routes = pd.concat([result.baseline.routes, result.planned.routes], ignore_index=True)
    stops = pd.concat([result.baseline.stops, result.planned.stops], ignore_index=True)
    una = pd.concat([result.baseline.unassigned, result.planned.unassigned], ignore_index=True)
    routes = gpd.GeoDataFrame(routes, geometry="geometry", crs="EPSG:4326")
    stops = gpd.GeoDataFrame(
        _stops_for_map(gpd.GeoDataFrame(stops, geometry="geometry", crs=4326)),
        geometry="geometry",
        crs="EPSG:4326",
    )
    una = gpd.GeoDataFrame(una, geometry="geometry", crs="EPSG:4326")
    assignments = result.study.villages.copy()
    paths: dict[str, Path] = {}

    synthetic = " — synthetic stand-in, NOT real OSM data" if inp.source.synthetic else ""
    for scenario, depots in (("plan", hubs), ("baseline", hubs[hubs["role"] == "county centre"])):
        what = (
            f"county centre + {len(hubs) - 1} hubs"
            if scenario == "plan"
            else "county centre only (baseline)"
        )
        title = f"{inp.region.name} ({inp.region.name_local}): {what}{synthetic}"
        served = villages if scenario == "plan" else villages.assign(facility=hubs["id"].iloc[0])
        m = plan_map(
            towns,
            served,
            depots,
            routes[routes["scenario"] == scenario],
            stops[stops["scenario"] == scenario],
            una[una["scenario"] == scenario],
            title=title,
            source_label=label,
            scenario=scenario,
        )
        paths[f"map_{scenario}"] = save_map(m, out / "maps" / f"{scenario}.html", assets=map_assets)  # type: ignore[arg-type]

    paths["plot_times"] = delivery_time_distribution(
        assignments["minutes_before"],
        assignments["minutes_after"],
        assignments["weight"],
        out / "plots" / "delivery_times.png",
    )
    paths["plot_townships"] = minutes_saved_by_township(
        result.study.townships.assign(
            pinyin=result.study.townships["code"].map(
                {t.code: t.pinyin for t in inp.region.townships}
            )
        ),
        out / "plots" / "minutes_saved_by_township.png",
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
    paths["gpkg"] = write_geopackage(out / "lastmile.gpkg", layers)
    for name in ("hubs", "routes", "stops", "unassigned"):
        paths[f"csv_{name}"] = write_csv(out / f"{name}.csv", layers[name])
    paths["csv_assignments"] = write_csv(out / "assignments.csv", assignments)
    paths["csv_townships"] = write_csv(out / "townships.csv", result.study.townships)
    kpis = result.kpis()
    paths["kpis"] = write_json(out / "kpis.json", kpis)
    paths["summary"] = write_text(out / "summary.md", summary_markdown(result))
    paths["manifest"] = write_json(out / "manifest.json", manifest(result))
    return paths


def summary_markdown(result: PlanResult) -> str:
    """The study as Markdown: headline figures, hubs, townships, routing side by side."""
    k = result.kpis()
    d = k["delivery_time"]
    lines = [
        f"# lastmile plan: {result.inputs.region.name}",
        "",
        f"Data source: **{k['data_source']}**",
        "",
        "## Delivery time from the serving facility (demand-weighted)",
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
        "## Townships",
        "",
        markdown_table(result.study.townships),
        "## Routed day",
        "",
        markdown_table(
            pd.DataFrame(
                [
                    {"": n, **{kk: vv for kk, vv in r.items() if not isinstance(vv, dict | None)}}
                    for n, r in k["routing"].items()
                ]
            )
        ),
    ]
    return "\n".join(lines) + "\n"


def _hash_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def manifest(result: PlanResult) -> dict[str, Any]:
    """Inputs with content hashes, configuration, versions, seed and timings."""
    inp = result.inputs
    sc = inp.scenario
    inputs: dict[str, Any] = {"region": {"source": inp.region.source_file}}
    ref = reference_data_dir(required=False)
    if ref is not None and (ref / inp.region.outline_file).is_file():
        outline = ref / inp.region.outline_file
        inputs["county_outline"] = {"path": str(outline), "sha256": file_sha256(outline)}
    if inp.source.osm_file is not None:
        inputs["osm"] = {
            "path": str(inp.source.osm_file),
            "sha256": file_sha256(inp.source.osm_file),
        }
    for key in ("boundaries", "villages", "orders", "local_extract"):
        value = getattr(sc.plan, key)
        if value:
            inputs[key] = {"path": value, "sha256": file_sha256(value)}
    return {
        "lastmile": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "versions": package_versions(VERSIONED),
        "data_source": inp.source.label,
        "synthetic_standin": inp.source.synthetic,
        "scenario": sc.source,
        "plan": asdict(sc.plan),
        "region_config": {
            "speeds_kmh": dict(inp.region.speeds_kmh),
            "cold_chain": asdict(inp.region.cold_chain),
            "demand": asdict(inp.region.demand),
            "fleet": [asdict(f) for f in inp.region.fleet],
            "county_centre": asdict(inp.region.county_centre),
        },
        "seed": sc.plan.seed,
        "inputs": inputs,
        "timings_s": {k: round(v, 2) for k, v in result.timings.items()},
        "routing_solver": {
            rp.name: {
                "status": rp.solution.status,
                "search_ended_by": rp.solution.search_ended_by,
                "reproducible": rp.solution.reproducible,
                "solutions": rp.solution.solutions,
                "seconds": round(rp.solution.solve_seconds, 2),
            }
            for rp in (result.baseline, result.planned)
        },
        "location_solver": {
            "seconds": round(result.placement.result.seconds, 2),
            "status": result.placement.result.status,
        },
    }

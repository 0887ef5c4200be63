"""Synthetic plan frames for the map tests: township squares, villages, hubs, routes, stops."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

SYNTHETIC = "synthetic stand-in (NOT real OpenStreetMap data), seed 331123"
OSM = "OpenStreetMap extract suichang.osm.pbf (© OpenStreetMap contributors, ODbL)"


@dataclass(frozen=True)
class Case:
    """The six frames plan_map takes."""

    townships: gpd.GeoDataFrame
    villages: gpd.GeoDataFrame
    hubs: gpd.GeoDataFrame
    routes: gpd.GeoDataFrame
    stops: gpd.GeoDataFrame
    unassigned: gpd.GeoDataFrame

    def frames(self) -> dict[str, gpd.GeoDataFrame]:
        return {
            "townships": self.townships, "villages": self.villages, "hubs": self.hubs,
            "routes": self.routes, "stops": self.stops, "unassigned": self.unassigned,
        }  # fmt: skip


def make_case(
    *,
    n_townships: int = 3,
    n_villages: int = 10,
    n_hubs: int = 3,
    routes_per_scenario: int = 2,
    stops_per_route: int = 3,
    vertices_per_route: int = 20,
    boundary_vertices: int = 4,
    minutes_saved: bool = True,
    seed: int = 7,
) -> Case:
    """Synthetic frames shaped like plan.py's: township squares near 119.2E 28.5N."""
    rng = np.random.default_rng(seed)
    cols = int(np.ceil(np.sqrt(n_townships)))
    size = 0.05
    squares = []
    for k in range(n_townships):
        x0, y0 = 119.2 + (k % cols) * size, 28.5 + (k // cols) * size
        t = np.linspace(0, 4, 4 * max(boundary_vertices // 4, 1), endpoint=False)
        # walk the square's edge (densified, slightly wiggly like a real boundary)
        edge = np.column_stack([np.clip(t, 0, 1) - np.clip(t - 2, 0, 1),
                                np.clip(t - 1, 0, 1) - np.clip(t - 3, 0, 1)])  # fmt: skip
        wiggle = rng.normal(0, 2e-5, edge.shape) if boundary_vertices > 4 else 0.0
        squares.append(shapely.Polygon(np.array([x0, y0]) + edge * size + wiggle))
    names = ["妙高街道", "云峰街道", "北界镇", "金竹镇", "大柘镇", "石练镇", "王村口镇"]
    townships = gpd.GeoDataFrame({
        "code": [f"3308230{k:02d}" for k in range(n_townships)],
        "name": [names[k % len(names)] + (str(k) if k >= len(names) else "")
                 for k in range(n_townships)],
        "pinyin": [f"Township{k}" for k in range(n_townships)],
        "kind": ["town"] * n_townships,
    }, geometry=squares, crs="EPSG:4326")  # fmt: skip
    if minutes_saved:
        townships["minutes_saved"] = np.round(rng.uniform(0, 40, n_townships), 1)
        townships["mean_min_before"] = np.round(rng.uniform(60, 120, n_townships), 1)
        townships["mean_min_after"] = townships["mean_min_before"] - townships["minutes_saved"]

    which = rng.integers(0, n_townships, n_villages)
    xy = np.array([[squares[w].bounds[0] + rng.uniform(0.005, size - 0.005),
                    squares[w].bounds[1] + rng.uniform(0.005, size - 0.005)]
                   for w in which])  # fmt: skip
    hub_xy = np.array([squares[k % n_townships].centroid.coords[0] for k in range(n_hubs)])
    hubs = gpd.GeoDataFrame({
        "id": [f"H{k}" for k in range(n_hubs)],
        "name": [f"枢纽{k}" for k in range(n_hubs)],
        "township": [townships["code"].iloc[k % n_townships] for k in range(n_hubs)],
        "role": ["county centre"] + ["new hub"] * (n_hubs - 1),
        "lon": hub_xy[:, 0], "lat": hub_xy[:, 1],
    }, geometry=gpd.points_from_xy(hub_xy[:, 0], hub_xy[:, 1]), crs="EPSG:4326")  # fmt: skip
    nearest = np.argmin(((xy[:, None, :] - hub_xy[None, :, :]) ** 2).sum(axis=2), axis=1)
    villages = gpd.GeoDataFrame({
        "id": [f"V{i:03d}" for i in range(n_villages)],
        "name": [f"村{i}" for i in range(n_villages)],
        "population": rng.integers(50, 3000, n_villages),
        "township": townships["code"].to_numpy()[which],
        "lon": xy[:, 0], "lat": xy[:, 1],
        "facility": [f"H{k}" for k in nearest],
        "minutes_before": np.round(rng.uniform(40, 150, n_villages), 1),
        "minutes_after": np.round(rng.uniform(20, 90, n_villages), 1),
    }, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs="EPSG:4326")  # fmt: skip

    route_rows: list[dict[str, Any]] = []
    stop_rows: list[dict[str, Any]] = []
    for scenario in ("baseline", "plan"):
        for r in range(routes_per_scenario):
            depot = 0 if scenario == "baseline" else r % n_hubs
            vid = f"{scenario[0].upper()}{r:02d}"
            chosen = rng.choice(n_villages, size=stops_per_route, replace=False)
            anchors = np.vstack([hub_xy[depot], xy[chosen], hub_xy[depot]])
            # a road-like polyline through the stops: interpolate and jitter
            pts = [anchors[0]]
            per_leg = max(vertices_per_route // (len(anchors) - 1), 1)
            for a, b in itertools.pairwise(anchors):
                for f in np.linspace(0, 1, per_leg + 1)[1:]:
                    pts.append(a + (b - a) * f + (rng.normal(0, 3e-4, 2) if f < 1 else 0))
            route_rows.append({
                "scenario": scenario, "vehicle_id": vid,
                "vehicle_type": "cold van" if r % 2 == 0 else "truck", "depot": f"H{depot}",
                "n_stops": stops_per_route, "km": float(rng.uniform(20, 120)),
                "hours": float(rng.uniform(1, 6)), "geometry": shapely.LineString(pts),
            })  # fmt: skip
            for s, v in enumerate(chosen, start=1):
                violated = scenario == "plan" and r == 0 and s == 1
                stop_rows.append({
                    "scenario": scenario, "vehicle_id": vid, "seq": s, "order_id": f"{vid}-O{s}",
                    "village": villages["name"].iloc[v],
                    "kind": "delivery" if s % 2 else "pickup",
                    "product_class": "chilled" if s % 2 else "ambient",
                    "arrival": f"{8 + s:02d}:{(7 * s) % 60:02d}",
                    "in_vehicle_min": 150.0 if violated else float(30 * s),
                    "limit_min": 120.0 if s % 2 else float("nan"),
                    "cold_chain_ok": not violated,
                    "geometry": shapely.Point(xy[v]),
                })  # fmt: skip
    routes = gpd.GeoDataFrame(route_rows, geometry="geometry", crs="EPSG:4326")
    stops = gpd.GeoDataFrame(stop_rows, geometry="geometry", crs="EPSG:4326")
    unassigned = gpd.GeoDataFrame({
        "scenario": ["plan"], "order_id": ["X-1"],
        "reason": ["cold-chain limit 45 min unreachable from any hub"],
    }, geometry=[shapely.Point(xy[0])], crs="EPSG:4326")  # fmt: skip
    return Case(townships, villages, hubs, routes, stops, unassigned)

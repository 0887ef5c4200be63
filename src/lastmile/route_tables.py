"""Route tables: a :class:`~lastmile.routing.RoutingSolution` as pandas frames for reports.

``routes`` (one row per vehicle trip), ``stops`` (one row per served order, in visiting order) and
``unassigned`` (one row per unserved order with its reason and evidence). Times stay in integer
seconds and distances in metres; ``*_min`` and ``*_km`` columns are added for reading. A stop
repeats its order's window, service time, quantities and refrigeration
(:data:`ORDER_INPUT_COLUMNS`), so that a route sheet needs no other table.
"""

from __future__ import annotations

import pandas as pd

from lastmile.routing import RoutingProblem, RoutingSolution

#: The order's own inputs that each ``stops`` row repeats (as ``orders.csv`` has them).
ORDER_INPUT_COLUMNS = ["tw_start_s", "tw_end_s", "service_s", "kg", "parcels",
                       "requires_refrigeration"]  # fmt: skip

#: Columns of the ``unassigned`` table (``reason``: one of :data:`REASON_CODES`).
UNASSIGNED_COLUMNS = ["order_id", "reason", "binding", "limit", "best", "unit", "detail"]


def solution_frames(problem: RoutingProblem, solution: RoutingSolution) -> dict[str, pd.DataFrame]:
    """Tables of a solution, without geometry: ``routes``, ``stops`` and ``unassigned``.

    Times stay in seconds; ``*_min`` and ``*_km`` columns are added for reports.
    """
    orders = {o.id: o for o in problem.orders}
    dims = problem.dimensions
    route_rows = [
        {
            "vehicle_id": r.vehicle_id,
            "trip": r.trip,
            "vehicle_type": r.vehicle_type,
            "depot": r.depot,
            "stops": len(r.stops),
            "departure_s": r.departure_s,
            "arrival_s": r.arrival_s,
            "duration_s": r.duration_s,
            "duration_min": r.duration_s / 60.0,
            "distance_m": r.distance_m,
            "distance_km": r.distance_m / 1000.0,
            "cost": r.cost,
            **{f"load_at_start_{k}": r.load_at_start.get(k, 0) for k in dims},
        }
        for r in solution.routes
    ]
    stop_rows = []
    for r in solution.routes:
        prev = problem.depots[[dp.id for dp in problem.depots].index(r.depot)].location
        for seq, s in enumerate(r.stops, start=1):
            o = orders[s.order_id]
            stop_rows.append(
                {
                    "vehicle_id": r.vehicle_id,
                    "trip": r.trip,
                    "depot": r.depot,
                    "sequence": seq,
                    "order_id": s.order_id,
                    "kind": o.kind,
                    "product_class": o.product_class,
                    # the order's own inputs, as orders.csv gives them: a route sheet reads its
                    # windows, loads and refrigeration from this table alone
                    "tw_start_s": o.time_window[0] if o.time_window is not None else float("nan"),
                    "tw_end_s": o.time_window[1] if o.time_window is not None else float("nan"),
                    "service_s": o.service_s,
                    "kg": int(o.quantity.get("kg", 0)),
                    "parcels": int(o.quantity.get("parcels", 0)),
                    "requires_refrigeration": o.requires_refrigeration,
                    "location": s.location,
                    "from_location": prev,
                    "arrival_s": s.arrival_s,
                    "start_s": s.start_s,
                    "departure_s": s.departure_s,
                    "wait_s": s.start_s - s.arrival_s,
                    "in_vehicle_s": s.in_vehicle_s,
                    "in_vehicle_min": s.in_vehicle_s / 60.0,
                    "max_in_vehicle_s": o.max_in_vehicle_s,
                    "within_limit": o.max_in_vehicle_s is None
                    or s.in_vehicle_s <= o.max_in_vehicle_s,
                    **{f"load_after_{k}": s.load_after.get(k, 0) for k in dims},
                }
            )
            prev = s.location
    route_cols = [
        "vehicle_id",
        "trip",
        "vehicle_type",
        "depot",
        "stops",
        "departure_s",
        "arrival_s",
        "duration_s",
        "duration_min",
        "distance_m",
        "distance_km",
        "cost",
        *[f"load_at_start_{k}" for k in dims],
    ]
    stop_cols = [
        "vehicle_id",
        "trip",
        "depot",
        "sequence",
        "order_id",
        "kind",
        "product_class",
        *ORDER_INPUT_COLUMNS,
        "location",
        "from_location",
        "arrival_s",
        "start_s",
        "departure_s",
        "wait_s",
        "in_vehicle_s",
        "in_vehicle_min",
        "max_in_vehicle_s",
        "within_limit",
        *[f"load_after_{k}" for k in dims],
    ]
    return {
        "routes": pd.DataFrame(route_rows, columns=route_cols),
        "stops": pd.DataFrame(stop_rows, columns=stop_cols),
        "unassigned": pd.DataFrame(
            [
                {
                    "order_id": u.order_id,
                    "reason": u.reason,
                    "binding": u.binding,
                    "limit": u.limit,
                    "best": u.best,
                    "unit": u.unit,
                    "detail": u.detail,
                }
                for u in solution.unassigned
            ],
            columns=UNASSIGNED_COLUMNS,
        ).astype({"limit": "Int64", "best": "Int64"}),
    }

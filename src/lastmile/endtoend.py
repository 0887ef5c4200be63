"""The like-for-like study (issue 10): end-to-end lead time, equal service, per-order cost.

Every routed figure here is per order, so two scenarios are compared over the SAME orders: those
served in both (``orders_compared``); each scenario's unserved orders are listed with their
reason beside it.

Definitions (README, "KPIs"):

- **Lead time of a parcel** (a delivery): from the county-centre cut-off to the end of its service
  at the village. In the plan this includes the trunk run to the hub and the hub's handling,
  because the hub's vans leave only after both.
- **Pickup to cold room**: from the start of service at the village to the produce's arrival in a
  cold room — the hub when hubs have one (``hub_cold_store``), else the county centre.
- **Pickup to centre**: from the start of service to arrival at the county centre (by the evening
  trunk run when collected by a hub).
- **Cold-chain compliance**: over ALL perishable orders (product class other than ``parcel``),
  served or not; compliant = served and time to cold room within its limit. Unserved orders
  count as not compliant.
- **Per-order km, vehicle-hours and cost**: each route's km, hours and cost (fixed + per km + per
  hour) split equally over its stops; a trunk route's split equally over the hubs it serves,
  then over the orders those hubs served on that echelon (deliveries for the morning run,
  pickups for the evening run); a hub's daily cost (an assumption) over the orders it served.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from lastmile.routing import INFEASIBLE, RoutingProblem, RoutingSolution
from lastmile.study import weighted_quantile
from lastmile.trunk import TrunkRun
from lastmile.validate import hub_of

DAY_S = 86_400

ORDER_COLUMNS = [
    "scenario",
    "order_id",
    "kind",
    "product_class",
    "village",
    "township",
    "tw_start_s",
    "tw_end_s",
    "service_s",
    "kg",
    "parcels",
    "requires_refrigeration",
    "snap_m",
    "served",
    "depot",
    "vehicle_id",
    "reason",
    "start_s",
    "end_s",
    "lead_min",
    "cold_room",
    "to_cold_room_min",
    "to_centre_min",
    "centre_arrival_s",
    "limit_min",
    "perishable",
    "cold_chain_ok",
    "km",
    "vehicle_h",
    "cost",
    "trunk_km",
    "trunk_cost",
    "hub_cost",
]


def unserved_reason(unassigned: Any) -> str:
    """The reason of an unassigned order: issue 9's ``code`` when present, else ``reason``."""
    code = getattr(unassigned, "code", None)
    return str(code) if code else str(getattr(unassigned, "reason", ""))


def is_servable(reason: str) -> bool:
    """Whether an unserved order could be served by some vehicle alone (not infeasible)."""
    return reason != INFEASIBLE


def order_table(
    name: str,
    problem: RoutingProblem,
    solution: RoutingSolution,
    orders: pd.DataFrame,
    *,
    centre_id: str,
    cutoff_s: int,
    hub_cold_store: bool,
    morning: TrunkRun | None = None,
    evening: TrunkRun | None = None,
    hub_daily_cost: float = 0.0,
) -> pd.DataFrame:
    """One row per order of one scenario: service, lead times, cold chain, allocated cost.

    Parameters
    ----------
    orders
        ``id, village, township`` of every order, and ``snap_m`` (its point's distance to the
        road node it is routed from) when known (extra columns ignored).
    centre_id
        Depot id of the county centre.
    morning, evening
        The scenario's trunk runs (``None``: no trunk, e.g. the baseline).
    hub_daily_cost
        Per hub other than the centre, allocated over the orders it served.
    """
    info = orders.set_index(orders["id"].astype(str))
    snap_m = (
        dict(zip(info.index, info["snap_m"].astype(float), strict=True))
        if "snap_m" in info.columns
        else {}
    )
    rows: dict[str, dict[str, Any]] = {}
    for o in problem.orders:
        rows[o.id] = {
            "scenario": name,
            "order_id": o.id,
            "kind": o.kind,
            "product_class": o.product_class,
            "village": str(info.at[o.id, "village"]) if o.id in info.index else "",
            "township": str(info.at[o.id, "township"])
            if o.id in info.index and "township" in info.columns
            else "",
            # the order's own inputs, as routed, so windows, loads and refrigeration can be
            # checked from the table alone (bb17 D7); no window: empty
            "tw_start_s": o.time_window[0] if o.time_window is not None else np.nan,
            "tw_end_s": o.time_window[1] if o.time_window is not None else np.nan,
            "service_s": o.service_s,
            "kg": int(o.quantity.get("kg", 0)),
            "parcels": int(o.quantity.get("parcels", 0)),
            "requires_refrigeration": o.requires_refrigeration,
            # the gap from the order's point to the road node it is routed from (bb21 D10): no
            # route covers it, so a large one shows an order planned on another road
            "snap_m": snap_m.get(o.id, np.nan),
            "served": False,
            "depot": None,
            "vehicle_id": None,
            "reason": "",
            "start_s": np.nan,
            "end_s": np.nan,
            "lead_min": np.nan,
            "cold_room": None,
            "to_cold_room_min": np.nan,
            "to_centre_min": np.nan,
            "centre_arrival_s": np.nan,
            "limit_min": o.max_in_vehicle_s / 60 if o.max_in_vehicle_s is not None else np.nan,
            "perishable": o.product_class != "parcel",
            "cold_chain_ok": False,
            "km": 0.0,
            "vehicle_h": 0.0,
            "cost": 0.0,
            "trunk_km": 0.0,
            "trunk_cost": 0.0,
            "hub_cost": 0.0,
        }
    kinds = {o.id: o for o in problem.orders}
    to_centre = dict(evening.hub_to_centre_s) if evening is not None else {}
    for r in solution.routes:
        share = 1.0 / max(1, len(r.stops))
        for s in r.stops:
            o = kinds[s.order_id]
            row = rows[o.id]
            row.update(
                served=True,
                depot=r.depot,
                vehicle_id=r.vehicle_id,
                start_s=s.start_s,
                end_s=s.start_s + o.service_s,
            )
            row["km"] = r.distance_m / 1000.0 * share
            row["vehicle_h"] = r.duration_s / 3600.0 * share
            row["cost"] = r.cost * share
            if o.kind == "delivery":
                row["lead_min"] = (s.start_s + o.service_s - cutoff_s) / 60.0
                row["cold_chain_ok"] = (
                    o.max_in_vehicle_s is None or s.in_vehicle_s <= o.max_in_vehicle_s
                )
                continue
            at_depot = s.start_s + s.in_vehicle_s  # pickups: in-vehicle ends back at the depot
            if r.depot == centre_id:
                centre_at: float = at_depot
            else:
                centre_at = float(to_centre.get(r.depot, np.nan))
            if r.depot == centre_id or hub_cold_store:
                row["cold_room"], cold_at = r.depot, float(at_depot)
            else:
                row["cold_room"], cold_at = centre_id, centre_at
            row["to_cold_room_min"] = (cold_at - s.start_s) / 60.0
            row["to_centre_min"] = (centre_at - s.start_s) / 60.0
            row["centre_arrival_s"] = centre_at
            row["cold_chain_ok"] = bool(
                o.max_in_vehicle_s is None
                or (np.isfinite(cold_at) and cold_at - s.start_s <= o.max_in_vehicle_s)
            )
    for u in solution.unassigned:
        rows[u.order_id]["reason"] = unserved_reason(u)
    # trunk runs: split over their hubs, then over the orders each hub served on that echelon
    for kind, hub, parts in _trunk_shares(morning, evening):
        served = [
            k for k, v in rows.items() if v["served"] and v["depot"] == hub and v["kind"] == kind
        ]
        for k in served:
            for column, value in parts.items():
                rows[k][column] += value / len(served)
    if hub_daily_cost > 0:
        depots = {d.id for d in problem.depots} - {centre_id}
        for hub in depots:
            served = [k for k, v in rows.items() if v["served"] and v["depot"] == hub]
            for k in served:
                rows[k]["hub_cost"] += hub_daily_cost / len(served)
                rows[k]["cost"] += hub_daily_cost / len(served)
    return _typed(pd.DataFrame(list(rows.values()), columns=ORDER_COLUMNS))


#: Columns of an :func:`order_table` that are flags and that are summed (km, cost ...).
_FLAG_COLUMNS = ("served", "requires_refrigeration", "perishable", "cold_chain_ok")
_FLOAT_COLUMNS = ("km", "vehicle_h", "cost", "trunk_km", "trunk_cost", "hub_cost")


def _typed(table: pd.DataFrame) -> pd.DataFrame:
    """An order table with bool flags and float sums even when it has no row.

    Built from no row, every column is ``object``, and ``df[df["served"]]`` then selects
    COLUMNS (none) instead of rows: the day's sums failed with ``KeyError: 'km'`` (bb21 D5).
    """
    flags = {c: bool for c in _FLAG_COLUMNS if c in table.columns}
    sums = {c: np.float64 for c in _FLOAT_COLUMNS if c in table.columns}
    return table.astype({**flags, **sums})


def unallocated_costs(
    problem: RoutingProblem,
    solution: RoutingSolution,
    *,
    centre_id: str,
    morning: TrunkRun | None = None,
    evening: TrunkRun | None = None,
    hub_daily_cost: float = 0.0,
) -> dict[str, Any]:
    """What :func:`order_table` cannot put on any order: the daily cost of an open hub that
    served no order, and a trunk run's share for a hub none of whose orders of that run's kind
    was served. ``routed_totals`` adds it, so that the day's totals hold every cost incurred.
    """
    served = {(r.depot, kind) for r in solution.routes for kind in _kinds(problem, r)}
    idle = sorted(
        d.id
        for d in problem.depots
        if d.id != centre_id and not any((d.id, k) in served for k in ("delivery", "pickup"))
    )
    costs = dict.fromkeys(ORDER_SUMS, 0.0)
    costs["hub_cost"] = costs["cost"] = hub_daily_cost * len(idle)
    for kind, hub, parts in _trunk_shares(morning, evening):
        if (hub, kind) not in served:
            for column, value in parts.items():
                costs[column] += value
    return {"hubs_without_orders": idle, **costs}


def _trunk_shares(
    morning: TrunkRun | None, evening: TrunkRun | None
) -> Iterator[tuple[str, str, dict[str, float]]]:
    """Each trunk route's km, hours and cost split equally over the hubs it serves: ``(kind of
    the hub's orders that route carries, hub, {order-table column: share})``."""
    for run, kind in ((morning, "delivery"), (evening, "pickup")):
        if run is None:
            continue
        for r in run.solution.routes:
            hubs = sorted({hub_of(s.order_id) for s in r.stops})
            km, cost = r.distance_m / 1000.0 / len(hubs), r.cost / len(hubs)
            for hub in hubs:
                yield kind, hub, {"km": km, "trunk_km": km, "cost": cost, "trunk_cost": cost,
                                  "vehicle_h": r.duration_s / 3600.0 / len(hubs)}  # fmt: skip


def _kinds(problem: RoutingProblem, route: Any) -> set[str]:
    """The kinds of order (delivery, pickup) a route served."""
    return {problem.order(s.order_id).kind for s in route.stops}


def lead_stats(
    minutes: Sequence[float] | pd.Series, end_s: Sequence[float] | pd.Series
) -> dict[str, float | int]:
    """Mean, median, p90, max (min) and shares within 2 h / 4 h / the same day, per order.

    ``orders`` counts every order given. An order with no time (NaN: a pickup whose hub the
    evening trunk run did not reach has not arrived at the centre this day) is counted in
    ``not_arrived`` and as not within 2 h / 4 h / the same day; mean, median, p90 and max are
    over the orders that arrived.
    """
    m = np.asarray(minutes, dtype=np.float64)
    e = np.asarray(end_s, dtype=np.float64)
    n = int(m.size)
    if n == 0:
        return {"orders": 0}
    ok = np.isfinite(m)
    out: dict[str, float | int] = {"orders": n, "not_arrived": int(n - ok.sum())}
    if ok.any():
        arrived = m[ok]
        out |= {
            "mean_min": round(float(arrived.mean()), 1),
            "median_min": round(float(np.median(arrived)), 1),
            "p90_min": round(weighted_quantile(arrived, None, 0.9), 1),
            "max_min": round(float(arrived.max()), 1),
        }
    with np.errstate(invalid="ignore"):
        out |= {
            "share_within_2h": round(float((ok & (m <= 120)).sum()) / n, 4),
            "share_within_4h": round(float((ok & (m <= 240)).sum()) / n, 4),
            "share_same_day": round(float((np.isfinite(e) & (e <= DAY_S)).sum()) / n, 4),
        }
    return out


def _lead_block(df: pd.DataFrame) -> dict[str, Any]:
    par = df[df["kind"] == "delivery"]
    pick = df[df["kind"] == "pickup"]
    start = pick["start_s"].to_numpy(np.float64)
    return {
        "parcel": lead_stats(par["lead_min"], par["end_s"]),
        "pickup_to_cold_room": lead_stats(
            pick["to_cold_room_min"], start + pick["to_cold_room_min"].to_numpy(np.float64) * 60
        ),
        "pickup_to_centre": lead_stats(pick["to_centre_min"], pick["centre_arrival_s"]),
    }


def _routed_block(df: pd.DataFrame, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Sums over the orders of ``df``, plus ``extra`` (:func:`unallocated_costs`) when any."""
    n = max(1, len(df))
    add = {k: float((extra or {}).get(k, 0.0)) for k in ORDER_SUMS}
    sums = {k: float(df[k].sum()) + add[k] for k in ORDER_SUMS}
    block: dict[str, Any] = {
        "orders": len(df),
        "km": round(sums["km"], 1),
        "vehicle_hours": round(sums["vehicle_h"], 2),
        "cost": round(sums["cost"], 1),
        "trunk_km": round(sums["trunk_km"], 1),
        "hub_cost": round(sums["hub_cost"], 1),
        "km_per_order": round(sums["km"] / n, 2),
        "vehicle_hours_per_order": round(sums["vehicle_h"] / n, 3),
        "cost_per_order": round(sums["cost"] / n, 2),
    }
    if extra is not None:  # always there when costs can lie on no order (0 and [] when none)
        block["not_on_any_order"] = {
            "hubs_without_orders": list(extra["hubs_without_orders"]),
            **{k: round(v, 2) for k, v in add.items()},
        }
    return block


#: the per-order columns that :func:`_routed_block` sums
ORDER_SUMS = ("km", "vehicle_h", "cost", "trunk_km", "trunk_cost", "hub_cost")


def cold_chain_block(df: pd.DataFrame) -> dict[str, Any]:
    """Compliance over all perishable orders of one scenario, unserved counted as not compliant.

    ``compliance`` is ``None`` for a day without a perishable order (``produce_kg_per_resident =
    0``): a share of nothing is not a number, and 1.0 would read as full compliance (bb26 D3).
    """
    per = df[df["perishable"]]
    ok = int((per["served"] & per["cold_chain_ok"]).sum())
    return {
        "perishable_orders": len(per),
        "compliant": ok,
        "unserved": int((~per["served"]).sum()),
        "compliance": round(ok / len(per), 4) if len(per) else None,
    }


@dataclass(frozen=True)
class EndToEnd:
    """The like-for-like study of a baseline and a plan.

    Attributes
    ----------
    orders
        Both scenarios' :func:`order_table` rows, plus ``compared`` (served in both).
    townships
        Per township and scenario: parcel lead-time stats over the compared orders.
    summary
        ``orders_compared``, ``lead_time``, ``routed`` (over compared orders), ``totals`` (over
        each scenario's served orders), ``cold_chain``, ``unserved`` (order id, reason).
    """

    orders: pd.DataFrame
    townships: pd.DataFrame
    summary: Mapping[str, Any]


def end_to_end(
    baseline: pd.DataFrame,
    plan: pd.DataFrame,
    township_names: Mapping[str, str] | None = None,
    unallocated: Mapping[str, Mapping[str, Any]] | None = None,
) -> EndToEnd:
    """Compare two :func:`order_table` s over the orders served in both.

    ``unallocated`` (per scenario, :func:`unallocated_costs`) is added to ``totals`` only: it
    belongs to no order, so no per-order comparison can hold it.
    """
    baseline, plan = _typed(baseline), _typed(plan)
    both = set(baseline.loc[baseline["served"], "order_id"]) & set(
        plan.loc[plan["served"], "order_id"]
    )
    frames = []
    for df in (baseline, plan):
        frames.append(df.assign(compared=df["order_id"].isin(both)))
    orders = pd.concat(frames, ignore_index=True)
    summary: dict[str, Any] = {
        "orders": len(plan),
        "orders_compared": len(both),
        "lead_time": {},
        "routed": {},
        "totals": {},
        "cold_chain": {},
        "unserved": {},
    }
    rows = []
    for name, df in (("baseline", frames[0]), ("plan", frames[1])):
        cmp = df[df["compared"]]
        summary["lead_time"][name] = _lead_block(cmp)
        summary["routed"][name] = _routed_block(cmp)
        summary["totals"][name] = _routed_block(df[df["served"]], (unallocated or {}).get(name))
        summary["cold_chain"][name] = cold_chain_block(df)
        un = df[~df["served"]]
        summary["unserved"][name] = {
            "orders": len(un),
            "by_reason": {
                str(k): int(v) for k, v in un["reason"].value_counts().sort_index().items()
            },
            "list": [
                {"order_id": o, "reason": r}
                for o, r in zip(un["order_id"], un["reason"], strict=True)
            ],
        }
        par = cmp[cmp["kind"] == "delivery"]
        for code, grp in par.groupby("township", sort=True):
            st = lead_stats(grp["lead_min"], grp["end_s"])
            rows.append(
                {
                    "code": code,
                    "name": (township_names or {}).get(str(code), str(code)),
                    "scenario": name,
                    **st,
                }
            )
    # no parcel compared (a day of pickups only): the columns stay, for the CSV's header
    towns = pd.DataFrame(rows) if rows else pd.DataFrame(columns=["code", "name", "scenario"])
    return EndToEnd(orders, towns, summary)

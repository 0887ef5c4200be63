"""The before/after study: delivery times from the serving facility, per village and township.

"Delivery time" here is the road travel time from the facility serving a village to the village
(the last leg every parcel and pickup makes); routed KPIs (km, vehicle-hours, in-vehicle times,
cold-chain compliance) come from the routing results and are compared side by side.

All statistics are demand-weighted (weight = the village's demand, e.g. population or parcels).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from lastmile.errors import InputError

if TYPE_CHECKING:
    from lastmile.plan import PlanInputs


def weighted_quantile(values: ArrayLike, weights: ArrayLike | None, q: float) -> float:
    """Weighted ``q``-quantile: the smallest value whose cumulative weight reaches ``q``.

    The one weighted quantile of lastmile (study tables, plots, location KPIs, lead times):
    numpy's inverted-CDF quantile. Values of zero weight are left out; ``weights=None`` weighs
    every value 1. NaN when no value has positive weight.
    """
    v = np.asarray(values, dtype=np.float64)
    w = np.ones_like(v) if weights is None else np.asarray(weights, dtype=np.float64)
    keep = w > 0
    if not keep.any():
        return float("nan")
    return float(np.quantile(v[keep], q, weights=w[keep], method="inverted_cdf"))


def time_stats(minutes: NDArray[np.float64], weights: NDArray[np.float64]) -> dict[str, float]:
    """Demand-weighted mean, median, p95, max and shares within 30 / 60 minutes."""
    w = np.asarray(weights, dtype=np.float64)
    m = np.asarray(minutes, dtype=np.float64)
    total = float(w.sum())
    if total <= 0:
        raise InputError("time_stats: the demand weights sum to zero", "give positive demand")
    return {
        "mean_min": round(float((m * w).sum() / total), 2),
        "median_min": round(weighted_quantile(m, w, 0.5), 2),
        "p95_min": round(weighted_quantile(m, w, 0.95), 2),
        "max_min": round(float(m.max()), 2),
        "share_within_30_min": round(float(w[m <= 30].sum() / total), 4),
        "share_within_60_min": round(float(w[m <= 60].sum() / total), 4),
    }


@dataclass(frozen=True)
class AccessStudy:
    """Per-village and per-township delivery times before and after.

    A village without a road path from any open facility of a plan is not given a time: its
    minutes are NaN, its facility is empty and ``unreachable`` names the plan(s). The statistics
    cover the villages reached in both plans, so that before and after compare the same villages.

    Attributes
    ----------
    villages
        One row per village: ``village, township, weight, facility_before, minutes_before,
        facility_after, minutes_after, minutes_saved, unreachable`` (``""``, ``"before"``,
        ``"after"`` or ``"before and after"``).
    townships
        One row per township: demand-weighted ``mean_min_before/after``, ``minutes_saved``,
        ``p95_min_before/after``, ``weight`` over its compared villages (NaN when it has none),
        and ``villages_unreachable``.
    summary
        ``{"before": stats, "after": stats, "mean_minutes_saved": ..., "reduction_share": ...,
        "villages_compared": n, "unreachable_villages": {"before": [ids], "after": [ids]}}``.
    """

    villages: pd.DataFrame
    townships: pd.DataFrame
    summary: Mapping[str, Any]


def access_study(
    seconds: NDArray[np.int64],
    facility_ids: Sequence[str],
    village_ids: Sequence[str],
    village_townships: Sequence[str],
    weights: NDArray[np.float64],
    before_open: Sequence[int],
    after_open: Sequence[int],
    township_names: Mapping[str, str] | None = None,
    reachable: NDArray[np.bool_] | None = None,
) -> AccessStudy:
    """Compare delivery times with two sets of open facilities (each village served by its nearest).

    Parameters
    ----------
    seconds
        Travel times (facilities x villages); entries where ``reachable`` is False are ignored.
    before_open, after_open
        Row indices of the open facilities in each plan (e.g. the county centre alone, and the
        centre plus the new hubs).
    reachable
        Whether a road path exists, per facility and village
        (:attr:`lastmile.matrix.TravelMatrix.reachable`); ``None``: every pair. A facility serves
        only villages it reaches; a village no open facility reaches is reported, not averaged.

    Raises
    ------
    InputError
        On a shape mismatch, a plan without open facility, or when no village is reached in both
        plans.
    """
    s = np.asarray(seconds)
    if s.shape != (len(facility_ids), len(village_ids)):
        raise InputError(f"access_study: matrix shape {s.shape} does not match the ids")
    reach = np.ones(s.shape, dtype=bool) if reachable is None else np.asarray(reachable, bool)
    if reach.shape != s.shape:
        raise InputError(
            f"access_study: reachable mask shape {reach.shape} != matrix shape {s.shape}"
        )
    if not before_open or not after_open:
        raise InputError("access_study: each plan needs at least one open facility")
    w = np.asarray(weights, dtype=np.float64)
    cols = np.arange(s.shape[1])

    def nearest(open_rows: Sequence[int]) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """Nearest reachable open facility per village; -1 and NaN where there is none."""
        rows = np.asarray(open_rows, dtype=np.int64)
        sub = np.where(reach[rows], s[rows].astype(np.float64), np.inf)
        best = sub.argmin(axis=0)
        minutes = sub[best, cols] / 60.0
        found = np.isfinite(minutes)
        return np.where(found, rows[best], -1), np.where(found, minutes, np.nan)

    fb, mb = nearest(before_open)
    fa, ma = nearest(after_open)
    lost_b, lost_a = fb < 0, fa < 0
    both = ~(lost_b | lost_a)
    fac = np.append(np.asarray(facility_ids, dtype=object), "")  # index -1: no facility
    unreachable = np.select(
        [lost_b & lost_a, lost_b, lost_a], ["before and after", "before", "after"], ""
    )
    villages = pd.DataFrame(
        {
            "village": list(village_ids),
            "township": list(village_townships),
            "weight": w,
            "facility_before": fac[fb],
            "minutes_before": np.round(mb, 2),
            "facility_after": fac[fa],
            "minutes_after": np.round(ma, 2),
            "minutes_saved": np.round(mb - ma, 2),
            "unreachable": unreachable,
        }
    )
    if not both.any():
        raise InputError(
            "access_study: no village has a road path from an open facility in both plans",
            "check the travel-time matrix and the open facilities",
        )
    rows = []
    for code, grp in villages.groupby("township", sort=True):
        cmp = grp[both[grp.index.to_numpy()]]
        gw = cmp["weight"].to_numpy(np.float64)
        stats = (
            (time_stats(cmp["minutes_before"].to_numpy(np.float64), gw),
             time_stats(cmp["minutes_after"].to_numpy(np.float64), gw))
            if gw.sum() > 0
            else None
        )  # fmt: skip
        before, after = stats or ({}, {})
        nan = float("nan")
        rows.append(
            {
                "code": code,
                "name": (township_names or {}).get(str(code), str(code)),
                "villages": len(grp),
                "weight": float(gw.sum()),
                "mean_min_before": before.get("mean_min", nan),
                "mean_min_after": after.get("mean_min", nan),
                "minutes_saved": round(before["mean_min"] - after["mean_min"], 2) if stats else nan,
                "p95_min_before": before.get("p95_min", nan),
                "p95_min_after": after.get("p95_min", nan),
                "villages_unreachable": len(grp) - len(cmp),
            }
        )
    before_all = time_stats(mb[both], w[both])
    after_all = time_stats(ma[both], w[both])
    ids = np.asarray(village_ids, dtype=object)
    summary = {
        "before": before_all,
        "after": after_all,
        "mean_minutes_saved": round(before_all["mean_min"] - after_all["mean_min"], 2),
        "reduction_share": round(1 - after_all["mean_min"] / before_all["mean_min"], 4)
        if before_all["mean_min"] > 0
        else 0.0,
        "villages_compared": int(both.sum()),
        "unreachable_villages": {
            "before": [str(v) for v in ids[lost_b]],
            "after": [str(v) for v in ids[lost_a]],
        },
    }
    return AccessStudy(villages, pd.DataFrame(rows), summary)


def markdown_table(df: pd.DataFrame, floatfmt: str = ".2f") -> str:
    """A GitHub-flavoured Markdown table (no extra dependency on tabulate)."""
    cols = [str(c) for c in df.columns]

    def fmt(v: Any) -> str:
        if isinstance(v, float | np.floating):
            return format(float(v), floatfmt)
        return str(v)

    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class PlanComparison:
    """Two plans side by side: per village, per township, and a Markdown summary."""

    villages: pd.DataFrame
    townships: pd.DataFrame
    markdown: str


def compare_plan_dirs(a: Path, b: Path) -> PlanComparison:
    """Compare two ``lastmile plan`` output folders (their ``assignments.csv`` and ``kpis.json``).

    Villages are matched by id; the delivery time of each plan is its ``minutes_after`` (time from
    the facility serving the village in that plan). A village without a time in either plan (no
    road path from an open facility) is left out and named in the Markdown.
    """
    frames = []
    kpis: list[dict[str, Any]] = []
    for d in (a, b):
        path = d / "assignments.csv"
        if not path.is_file():
            raise InputError(
                f"{path} does not exist", "give two folders written by `lastmile plan`"
            )
        df = pd.read_csv(path, dtype={"village": str, "township": str})
        missing = {"village", "township", "weight", "minutes_after"} - set(df.columns)
        if missing:
            raise InputError(
                f"{path}: missing column(s) {sorted(missing)}", "not a lastmile plan folder?"
            )
        frames.append(df)
        # a `locate` folder has no kpis.json (no routed day): compared on access times only; a
        # damaged one is refused rather than compared as if it held no routed day
        kpis_path = d / "kpis.json"
        if not kpis_path.is_file():
            kpis.append({})
            continue
        try:
            k = json.loads(kpis_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(
                f"{kpis_path}: not readable as JSON ({type(exc).__name__})",
                "run `lastmile plan` again for that folder",
            ) from None
        if not isinstance(k, dict) or "routing" not in k:
            raise InputError(
                f"{kpis_path}: not the kpis.json of a lastmile plan (no routing section)",
                "give two folders written by `lastmile plan`",
            )
        kpis.append(k)
    va, vb = frames
    merged = va[["village", "township", "weight", "minutes_after"]].merge(
        vb[["village", "minutes_after"]], on="village", suffixes=("_a", "_b"), how="inner"
    )
    if merged.empty:
        raise InputError(f"{a} and {b} share no village ids", "compare plans of the same region")
    merged = merged.rename(columns={"minutes_after_a": "minutes_a", "minutes_after_b": "minutes_b"})
    # a village without a road path from an open facility has no time (NaN): reported, not compared
    lost = merged[["minutes_a", "minutes_b"]].isna().any(axis=1)
    unreachable = sorted(str(v) for v in merged.loc[lost, "village"])
    merged = merged[~lost].reset_index(drop=True)
    if merged.empty:
        raise InputError(
            f"{a} and {b} share no village reached by an open facility in both plans",
            "compare plans of the same region",
        )
    merged["minutes_saved"] = (merged["minutes_a"] - merged["minutes_b"]).round(2)
    rows = []
    for code, grp in merged.groupby("township", sort=True):
        w = grp["weight"].to_numpy(np.float64)
        ma = time_stats(grp["minutes_a"].to_numpy(np.float64), w)["mean_min"]
        mb = time_stats(grp["minutes_b"].to_numpy(np.float64), w)["mean_min"]
        rows.append(
            {
                "code": code,
                "villages": len(grp),
                "mean_min_a": ma,
                "mean_min_b": mb,
                "minutes_saved": round(ma - mb, 2),
            }
        )
    towns = pd.DataFrame(rows)
    w = merged["weight"].to_numpy(np.float64)
    sa = time_stats(merged["minutes_a"].to_numpy(np.float64), w)
    sb = time_stats(merged["minutes_b"].to_numpy(np.float64), w)
    head = pd.DataFrame([{"plan": f"A: {a}", **sa}, {"plan": f"B: {b}", **sb}])
    routing = []
    for name, k in (("A", kpis[0]), ("B", kpis[1])):
        r = k.get("routing", {}).get("plan", {})
        if r:
            routing.append(
                {"plan": name, **{kk: vv for kk, vv in r.items() if not isinstance(vv, dict)}}
            )
    md = (
        "# Plan comparison\n\n## Access time: road time from the nearest open facility "
        "(every settlement, demand-weighted)\n\n" + markdown_table(head)
    )
    if unreachable:
        md += (
            f"\n{len(unreachable)} village(s) without a road path from an open facility in one "
            f"of the plans are left out: {', '.join(unreachable)}\n"
        )
    if routing:
        md += "\n## Routed day\n\n" + markdown_table(pd.DataFrame(routing))
    lead = _lead_time_both(a, b)
    if lead is not None:
        md += lead
    md += "\n## Townships (access time)\n\n" + markdown_table(towns)
    return PlanComparison(merged, towns, md)


def _lead_time_both(a: Path, b: Path) -> str | None:
    """Parcel lead times of two plans over the orders both plans served (their ``orders.csv``)."""
    frames = []
    for d in (a, b):
        path = d / "orders.csv"
        if not path.is_file():
            return None
        df = pd.read_csv(path, dtype={"order_id": str})
        if not {"scenario", "order_id", "served", "kind", "lead_min"} <= set(df.columns):
            return None
        frames.append(df[(df["scenario"] == "plan") & df["served"].astype(bool)])
    both = set(frames[0]["order_id"]) & set(frames[1]["order_id"])
    rows = []
    for name, df in (("A", frames[0]), ("B", frames[1])):
        par = df[df["order_id"].isin(both) & (df["kind"] == "delivery")]["lead_min"]
        if par.empty:
            return None
        rows.append(
            {
                "plan": name,
                "parcels": len(par),
                "mean_min": round(float(par.mean()), 1),
                "median_min": round(float(par.median()), 1),
                "p90_min": round(weighted_quantile(par, None, 0.9), 1),
                "max_min": round(float(par.max()), 1),
            }
        )
    return (
        f"\n## Parcel lead time over the {len(both)} orders served in both plans\n\n"
        + markdown_table(pd.DataFrame(rows))
    )


def p_curve(
    inputs: PlanInputs, p_values: Sequence[int], *, progress: Callable[[str], None] | None = None
) -> pd.DataFrame:
    """The study for each number of hubs: mean / p95 delivery time and coverage against p.

    Row ``p = 0`` is the county centre alone. Each p is solved with the scenario's objective and
    limits (:func:`lastmile.plan.place_hubs`); ``optimal`` says whether the solver proved it.
    """
    # placed here, beside the study it tabulates; the hub placement it repeats lives in plan,
    # which imports this module, hence the import at call time
    from lastmile.demand import HUB_ROLE
    from lastmile.plan import delivery_study, place_hubs

    base = delivery_study(inputs, [inputs.centre_row])
    rows = [{"p": 0, **_curve_row(base.summary["after"]), "optimal": True, "hubs": ""}]
    for p in p_values:
        if progress is not None:
            progress(f"p-curve: {p} hubs")
        placement = place_hubs(inputs, p=p)
        s = delivery_study(inputs, placement.open_rows).summary["after"]
        hubs = ";".join(sorted(placement.hubs.loc[placement.hubs["role"] == HUB_ROLE, "township"]))
        rows.append({"p": p, **_curve_row(s), "optimal": placement.result.optimal, "hubs": hubs})
    return pd.DataFrame(rows)


def _curve_row(stats: Mapping[str, float]) -> dict[str, float]:
    return {
        "mean_min": stats["mean_min"],
        "p95_min": stats["p95_min"],
        "max_min": stats["max_min"],
        "share_30": stats["share_within_30_min"],
        "share_60": stats["share_within_60_min"],
    }

"""The before/after study: access times from the serving facility, per village and township.

"Access time" is the road travel time from the facility serving a village to the village (the
last leg every parcel and pickup makes), not a delivery's lead time; routed KPIs (lead times, km,
vehicle-hours, in-vehicle times, cold-chain compliance) come from the routing results and are
compared side by side.

All statistics are demand-weighted (weight = the village's demand, e.g. population or parcels).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from lastmile.config import format_clock
from lastmile.errors import InputError
from lastmile.io import file_sha256

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


def time_stats(
    minutes: NDArray[np.float64], weights: NDArray[np.float64], *, rounded: bool = True
) -> dict[str, float]:
    """Demand-weighted mean, median, p95, max and shares within 30 / 60 minutes.

    ``rounded``: minutes to 2 decimals and shares to 4, as ``kpis.json`` gives them
    (:func:`rounded_stats`); ``False`` keeps every figure unrounded, for text that rounds it once
    to fewer decimals (a mean of 48.5506 is 48.55 in kpis.json and 48.6 on the console, never 48.5
    from 48.55).
    """
    w = np.asarray(weights, dtype=np.float64)
    m = np.asarray(minutes, dtype=np.float64)
    total = float(w.sum())
    if total <= 0:
        raise InputError("time_stats: the demand weights sum to zero", "give positive demand")
    raw = {
        "mean_min": float((m * w).sum() / total),
        "median_min": weighted_quantile(m, w, 0.5),
        "p95_min": weighted_quantile(m, w, 0.95),
        "max_min": float(m.max()),
        "share_within_30_min": float(w[m <= 30].sum() / total),
        "share_within_60_min": float(w[m <= 60].sum() / total),
    }
    return rounded_stats(raw) if rounded else raw


def rounded_stats(raw: Mapping[str, float]) -> dict[str, float]:
    """:func:`time_stats` figures as ``kpis.json`` gives them: minutes to 2 decimals, shares 4."""
    return {k: round(v, 4 if k.startswith("share") else 2) for k, v in raw.items()}


@dataclass(frozen=True)
class AccessStudy:
    """Per-village and per-township access times before and after.

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
    unrounded
        ``{"before": stats, "after": stats}`` of :func:`time_stats` unrounded: what the console
        and the plots round once to their own decimals.
    """

    villages: pd.DataFrame
    townships: pd.DataFrame
    summary: Mapping[str, Any]
    unrounded: Mapping[str, Mapping[str, float]] = field(default_factory=dict)


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
    """Compare access times with two sets of open facilities (each village served by its nearest).

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
        # from the villages' unrounded minutes; minutes_saved from the unrounded means
        rows_in = grp.index.to_numpy()[both[grp.index.to_numpy()]]
        raw_b = time_stats(mb[rows_in], gw, rounded=False) if gw.sum() > 0 else {}
        raw_a = time_stats(ma[rows_in], gw, rounded=False) if gw.sum() > 0 else {}
        before, after = rounded_stats(raw_b), rounded_stats(raw_a)
        saved = round(raw_b["mean_min"] - raw_a["mean_min"], 2) if raw_b else float("nan")
        nan = float("nan")
        rows.append(
            {
                "code": code,
                "name": (township_names or {}).get(str(code), str(code)),
                "villages": len(grp),
                "weight": float(gw.sum()),
                "mean_min_before": before.get("mean_min", nan),
                "mean_min_after": after.get("mean_min", nan),
                "minutes_saved": saved,
                "p95_min_before": before.get("p95_min", nan),
                "p95_min_after": after.get("p95_min", nan),
                "villages_unreachable": len(grp) - len(cmp),
            }
        )
    # every figure rounded once, from the unrounded means (not a difference of rounded ones)
    raw_before = time_stats(mb[both], w[both], rounded=False)
    raw_after = time_stats(ma[both], w[both], rounded=False)
    before_all, after_all = rounded_stats(raw_before), rounded_stats(raw_after)
    ids = np.asarray(village_ids, dtype=object)
    summary = {
        "before": before_all,
        "after": after_all,
        "mean_minutes_saved": round(raw_before["mean_min"] - raw_after["mean_min"], 2),
        "reduction_share": round(1 - raw_after["mean_min"] / raw_before["mean_min"], 4)
        if raw_before["mean_min"] > 0
        else 0.0,
        "villages_compared": int(both.sum()),
        "unreachable_villages": {
            "before": [str(v) for v in ids[lost_b]],
            "after": [str(v) for v in ids[lost_a]],
        },
    }
    return AccessStudy(
        villages, pd.DataFrame(rows), summary, {"before": raw_before, "after": raw_after}
    )


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


#: how tables and the console give the cold-chain compliance of a day without a perishable
#: order (kpis.json ``cold_chain`` writes its ``compliance`` ``null``; bb26 D3)
NO_PERISHABLE_ORDER = "n/a (no perishable order)"


def cold_chain_shown(block: Mapping[str, Any]) -> dict[str, Any]:
    """A kpis.json ``cold_chain`` block for a table: a ``compliance`` of ``None`` (no perishable
    order in the day) written :data:`NO_PERISHABLE_ORDER` rather than a number."""
    if "compliance" in block and block["compliance"] is None:
        return {**block, "compliance": NO_PERISHABLE_ORDER}
    return dict(block)


@dataclass(frozen=True)
class PlanComparison:
    """Two plans side by side: per village, per township, and a Markdown summary.

    ``warnings``: what makes the comparison less than like for like (the two plans route
    different order days, come from different road networks, or cannot be checked); each is also
    in ``markdown``. The command line prints them on stderr.
    """

    villages: pd.DataFrame
    townships: pd.DataFrame
    markdown: str
    warnings: tuple[str, ...] = ()
    #: what was compared (:func:`compared_plan`): per plan ("A", "B") its folder, its seed and
    #: the sha256 of each file the comparison read
    plans: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


def _read_table(path: Path, dtype: Mapping[str, Any]) -> pd.DataFrame:
    """A CSV of a plan folder; a damaged one is one clear error, not a decoder's traceback."""
    try:
        return pd.read_csv(path, dtype=dict(dtype))
    except (OSError, ValueError) as exc:  # UnicodeDecodeError, ParserError, EmptyDataError
        raise InputError(
            f"{path}: not readable as a table of a lastmile plan ({type(exc).__name__})",
            "run `lastmile plan` again for that folder",
        ) from None


def _read_json(path: Path, what: str) -> dict[str, Any] | None:
    """``path`` as a JSON object; ``None`` when absent; a damaged one is refused."""
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(
            f"{path}: not readable as JSON ({type(exc).__name__})",
            "run `lastmile plan` again for that folder",
        ) from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: not the {what} of a lastmile plan", "give two plan folders")
    return data


#: the "orders file" of a plan whose orders were generated (:func:`_order_day`)
GENERATED = "none (generated)"


def _order_day(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """What decides a plan's orders, from its ``manifest.json``: two plans with the same values
    route the same order day (order ids are ``D-<village>`` / ``P-<village>``, so ids alone match
    the same village on two different generated days)."""
    inputs = manifest.get("inputs") or {}

    def sha(key: str) -> str | None:
        entry = inputs.get(key)
        return str(entry.get("sha256")) if isinstance(entry, dict) else None

    orders = sha("orders")
    network = (manifest.get("region_config") or {}).get("network")
    return {
        # the seed draws the generated orders; an orders file replaces them, so a plan of an
        # orders file has no seed to compare (None; bb25 D11: "seed: 2026 vs (orders file)")
        "seed": manifest.get("seed", "not recorded") if orders is None else None,
        "orders file": orders[:12] if orders else GENERATED,
        "villages file": sha("villages") or "none",
        # the [demand] rates draw a generated day; an orders file's orders are the file's
        # (bb26 D4: one orders file, two parcel rates, "different order days")
        "demand settings": (
            (manifest.get("region_config") or {}).get("demand") if orders is None else None
        ),
        # which villages exist (hence which orders): recorded since session 10, None before
        "snap limit (m)": network.get("max_snap_m") if isinstance(network, dict) else None,
    }


#: order-day keys compared only when both plans have a value: a seed and the demand settings
#: only between two generated days, a snap limit only when both manifests record it (since
#: session 10)
_COMPARED_WHEN_BOTH_HAVE_ONE = frozenset({"seed", "demand settings", "snap limit (m)"})


def _network_name(manifest: Mapping[str, Any]) -> str:
    """A plan's road network as a difference names it: its label and its file's sha256."""
    sha = network_file_sha256(manifest)
    label = manifest.get("data_source")
    return f"{label} (sha256 {sha[:12]})" if sha else str(label)


def _network_difference(ma: Mapping[str, Any], mb: Mapping[str, Any]) -> str | None:
    """How two plans' road networks differ for their order days; ``None`` when they do not.

    A generated day's villages (hence its orders) come from the road network; an orders file's
    orders do not (bb22 D6: two networks, one orders file, "different order days"). The label
    names the file, not its contents: two extracts of one name and date differ by their hash
    (bb21 D19), and one file is one network whatever else differs (bb25 D11: a generated day
    and an orders file on the same stand-in were said to be on different networks). A manifest
    without the hash (an Overpass download) is compared by its label.
    """
    if all(_order_day(m)["orders file"] != GENERATED for m in (ma, mb)):
        return None
    ha, hb = network_file_sha256(ma), network_file_sha256(mb)
    same = ha == hb if ha and hb else ma.get("data_source") == mb.get("data_source")
    return None if same else f"road network: {_network_name(ma)} vs {_network_name(mb)}"


def _order_day_differences(ma: Mapping[str, Any], mb: Mapping[str, Any]) -> list[str]:
    """What differs between two plans' order days (:func:`_order_day` and the road network),
    one phrase per difference that exists; empty: the same order day."""
    da, db = _order_day(ma), _order_day(mb)
    out = []
    for key, va in da.items():
        vb = db[key]
        if va == vb or (key in _COMPARED_WHEN_BOTH_HAVE_ONE and (va is None or vb is None)):
            continue
        if isinstance(va, dict) and isinstance(vb, dict):
            keys = sorted(k for k in {*va, *vb} if va.get(k) != vb.get(k))
            out.append(f"{key}: " + ", ".join(f"{k} {va.get(k)} vs {vb.get(k)}" for k in keys))
        else:
            out.append(f"{key}: {va} vs {vb}")
    network = _network_difference(ma, mb)
    return out if network is None else [*out, network]


def network_file_sha256(manifest: Mapping[str, Any] | None) -> str | None:
    """The sha256 of the road-network file a plan was made from (``inputs.osm`` of its
    ``manifest.json``), ``None`` when the manifest does not record one."""
    entry = ((manifest or {}).get("inputs") or {}).get("osm")
    sha = entry.get("sha256") if isinstance(entry, dict) else None
    return str(sha) if sha else None


def _network_label(frame: pd.DataFrame, kpis: Mapping[str, Any]) -> str:
    if "data_source" in kpis:
        return str(kpis["data_source"])
    if "network" in frame.columns and len(frame):
        return str(frame["network"].iloc[0])
    return "unknown (the folder does not say)"


#: the files of a plan folder :func:`compare_plan_dirs` reads (their sha256 go to its manifest)
COMPARED_FILES = ("assignments.csv", "kpis.json", "manifest.json", "orders.csv", "townships.csv")


def compared_plan(folder: Path, manifest: Mapping[str, Any] | None) -> dict[str, Any]:
    """What of a plan folder a comparison read: the folder (absolute), its seed and the sha256
    of each of :data:`COMPARED_FILES` (``None`` when absent), so a comparison can be traced to
    the exact plans it compared."""
    return {
        "path": str(folder.resolve()),
        "seed": (manifest or {}).get("seed"),
        "sha256": {
            name: file_sha256(folder / name) if (folder / name).is_file() else None
            for name in COMPARED_FILES
        },
    }


def compare_plan_dirs(a: Path, b: Path) -> PlanComparison:
    """Compare two ``lastmile plan`` output folders.

    Access times (``assignments.csv``): villages are matched by id; the time of each plan is its
    ``minutes_after`` (time from the facility serving the village in that plan); ``minutes_saved``
    is A - B (positive: B is faster). A village without a time in either plan (no road path from
    an open facility) is left out and named in the Markdown, which says how many settlements the
    comparison covers of each plan's. Plans on two road networks (label or file sha256) are not
    compared village by village (their villages differ; an id both have may name two places):
    the Markdown gives each plan's own access figures over its own settlements, and ``villages``
    and ``townships`` have no rows.

    Orders (``orders.csv``, ``kpis.json``, ``manifest.json``): parcel lead times and routed
    figures (trunk and hub cost included) over the orders served in both plans, only when both
    plans route the same order day (same seed or orders file, demand settings, road network).
    When they do not, the order-level comparison is refused, not made: the Markdown and
    ``warnings`` say why, and the access comparison and each plan's own routed figures remain.
    A folder without ``orders.csv`` (a ``locate`` folder) gets a note instead of that section.
    Each plan's cold-chain compliance over all perishable orders of its day (``kpis.json``
    ``cold_chain``) stands beside its routed day, whose compliance counts served orders alone. A
    "What differs" line names the settings whose values differ between the two
    ``manifest.json``, as a scenario file names them and in its units (:func:`_settings`), the
    lastmile commits when they differ, and each plan's search depth and what ended each search.
    ``plans`` records what was compared (:func:`compared_plan`).

    Raises
    ------
    InputError
        A folder lacks ``assignments.csv``, or ``kpis.json`` (unless its ``manifest.json`` says
        ``lastmile locate`` wrote it: no routed day), or one of its files is damaged (not
        readable, or not the file of a lastmile plan); plans on one road network share no
        village reached in both.
    """
    frames = []
    kpis: list[dict[str, Any]] = []
    manifests: list[dict[str, Any] | None] = []
    for d in (a, b):
        path = d / "assignments.csv"
        if not path.is_file():
            raise InputError(
                f"{path} does not exist", "give two folders written by `lastmile plan`"
            )
        df = _read_table(path, {"village": str, "township": str})
        missing = {"village", "township", "weight", "minutes_after"} - set(df.columns)
        if missing:
            raise InputError(
                f"{path}: missing column(s) {sorted(missing)}", "not a lastmile plan folder?"
            )
        frames.append(df)
        # a `locate` folder has no kpis.json (no routed day): compared on access times only; a
        # damaged one is refused rather than compared as if it held no routed day
        k = _read_json(d / "kpis.json", "kpis.json")
        if k is not None and "routing" not in k:
            raise InputError(
                f"{d / 'kpis.json'}: not the kpis.json of a lastmile plan (no routing section)",
                "give two folders written by `lastmile plan`",
            )
        man = _read_json(d / "manifest.json", "manifest.json")
        if k is None and (man or {}).get("command") != "locate":
            # a plan folder without its kpis.json would be compared with its routed rows left
            # out of compare.md and nothing said (bb16 9)
            raise InputError(
                f"plan folder {d} has no kpis.json (its routed day's figures): it is not a "
                "complete `lastmile plan` folder",
                "run `lastmile plan` again for that folder (a `lastmile locate` folder, "
                "compared on access times only, says so in its manifest.json)",
            )
        kpis.append(k or {})
        manifests.append(man)
    va, vb = frames
    networks = (_network_label(va, kpis[0]), _network_label(vb, kpis[1]))
    hashes = (network_file_sha256(manifests[0]), network_file_sha256(manifests[1]))
    warnings: list[str] = []
    if networks[0] != networks[1]:
        network = f"A: {networks[0]}; B: {networks[1]}"
        warnings.append(f"A and B come from different road networks ({network})")
    elif None not in hashes and hashes[0] != hashes[1]:
        # one label (file name and date), two files: the manifests' hashes tell (bb21 D19)
        network = (
            f"A: {networks[0]}, sha256 {str(hashes[0])[:12]}; "
            f"B: {networks[1]}, sha256 {str(hashes[1])[:12]}"
        )
        warnings.append(
            f"A and B come from different road networks: both are labelled {networks[0]!r}, "
            f"but their files differ (manifest.json inputs.osm sha256 A {str(hashes[0])[:12]}, "
            f"B {str(hashes[1])[:12]})"
        )
    else:
        network = networks[0]
    if network != networks[0] and any(k.get("synthetic_standin") for k in kpis):
        # two road networks, one a stand-in: its village ids are generated, so an id both have
        # may name two places (bb25 D25: two stand-in seeds, 2 namesake ids compared as "every
        # settlement"); two OSM extracts share OSM's ids, one id one place, compared by village
        merged, towns = _VILLAGE_COLUMNS.copy(), _TOWNSHIP_COLUMNS.copy()
        access_md = _own_access_markdown((a, b), (va, vb), network)
    else:
        merged, towns, access_md = _access_by_village(a, b, va, vb)
    orders_md = _orders_both(a, b, manifests, warnings)
    md = "# Plan comparison\n\n" + f"Data source: {network}\n\n"
    if warnings:
        md += "".join(f"**WARNING: {w}.**\n\n" for w in warnings)
    md += _what_differs((a, b), manifests, kpis) + "\n" + access_md
    md += _routed_day_both(kpis, like_for_like=SAME_ORDERS_ROUTED in orders_md)
    md += orders_md
    md += "\n## Townships (access time; minutes_saved = A - B)\n\n" + (
        markdown_table(towns)
        if len(towns)
        else "Not compared (different road networks: see Access time above).\n"
    )
    return PlanComparison(
        merged.assign(network=network),
        towns.assign(network=network),
        md,
        tuple(warnings),
        {name: compared_plan(d, m) for name, d, m in zip("AB", (a, b), manifests, strict=True)},
    )


#: compare_villages.csv and compare_townships.csv without rows (plans on two road networks)
_VILLAGE_COLUMNS = pd.DataFrame(
    columns=["village", "township", "weight", "minutes_a", "minutes_b", "minutes_saved"]
)
_TOWNSHIP_COLUMNS = pd.DataFrame(
    columns=["code", "name", "villages", "mean_min_a", "mean_min_b", "minutes_saved"]
)

#: compare.md's heading of the access-time comparison
ACCESS_HEADING = "## Access time: road time from the nearest open facility"


def _access_by_village(
    a: Path, b: Path, va: pd.DataFrame, vb: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """Access times of two plans on one road network, village by village (matched by id): the
    villages, the townships and compare.md's section, which says how many settlements it covers
    of each plan's (bb25 D25).

    Raises
    ------
    InputError
        The plans share no village id, or no village reached in both.
    """
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
    names = _township_names(a, b)
    rows = []
    for code, grp in merged.groupby("township", sort=True):
        w = grp["weight"].to_numpy(np.float64)
        ma = time_stats(grp["minutes_a"].to_numpy(np.float64), w)["mean_min"]
        mb = time_stats(grp["minutes_b"].to_numpy(np.float64), w)["mean_min"]
        rows.append(
            {
                "code": code,
                "name": names.get(str(code), ""),
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
    reach = " and reach" if unreachable else ""
    md = (
        f"{ACCESS_HEADING} (demand-weighted, over the {len(merged)} settlements both plans "
        f"have{reach}, of {len(va)} and {len(vb)})\n\n"
        + markdown_table(head)
        + f"\nMean minutes saved, A - B: {round(sa['mean_min'] - sb['mean_min'], 2):.2f} "
        "(`minutes_saved` in every table is A - B: positive where B is faster).\n"
    )
    if unreachable:
        md += (
            f"\n{len(unreachable)} village(s) without a road path from an open facility in one "
            f"of the plans are left out: {', '.join(unreachable)}\n"
        )
    return merged, towns, md


def _own_access_markdown(
    folders: Sequence[Path], frames: Sequence[pd.DataFrame], network: str
) -> str:
    """compare.md's access section for plans on two road networks, one a synthetic stand-in:
    each plan's own access figures over its own settlements, and why the villages are not
    compared one by one (two OSM extracts share OSM's ids and are compared by village)."""
    rows, left_out = [], []
    for name, folder, frame in zip("AB", folders, frames, strict=True):
        reached = frame[frame["minutes_after"].notna()]
        if len(reached) < len(frame):
            left_out.append(
                f"{name}: {len(frame) - len(reached)} of its {len(frame)} without a road path "
                "from an open facility"
            )
        stats = (
            time_stats(
                reached["minutes_after"].to_numpy(np.float64),
                reached["weight"].to_numpy(np.float64),
            )
            if len(reached)
            else {}
        )
        rows.append({"plan": f"{name}: {folder}", "settlements": len(reached), **stats})
    shared = len(set(frames[0]["village"].astype(str)) & set(frames[1]["village"].astype(str)))
    md = (
        f"{ACCESS_HEADING} (each plan over its own settlements, demand-weighted)\n\n"
        + markdown_table(pd.DataFrame(rows))
        + f"\nNot compared village by village: A and B come from different road networks "
        f"({network}), one of them a synthetic stand-in, whose village ids are generated"
        + (f": the {shared} ids both have may name different places" if shared else "")
        + ". compare_villages.csv and compare_townships.csv have no rows.\n"
    )
    if left_out:
        md += f"\nLeft out: {'; '.join(left_out)}.\n"
    return md


#: ``region_config`` keys of a plan's manifest.json (seconds, nested) whose scenario-file key
#: differs: the key a scenario file gives (``[TABLE] key`` as ``TABLE.key``) and how its value
#: is written there (:func:`_file_value`)
FILE_KEYS: dict[str, tuple[str, str]] = {
    "cold_chain.produce_s": ("cold_chain.produce_max_in_vehicle_min", "min"),
    "cold_chain.tea_s": ("cold_chain.tea_max_in_vehicle_min", "min"),
    "cold_chain.parcel_s": ("cold_chain.parcel_max_in_vehicle_min", "min"),
    "demand.service_s_delivery": ("demand.service_min_delivery", "min"),
    "demand.service_s_pickup": ("demand.service_min_pickup", "min"),
    "trunk.cutoff_s": ("trunk.cutoff", "clock"),
    "trunk.morning_departure_s": ("trunk.morning_departure", "clock"),
    "trunk.hub_latest_arrival_s": ("trunk.hub_latest_arrival", "clock"),
    "trunk.evening_departure_s": ("trunk.evening_departure", "clock"),
    "trunk.shift_end_s": ("trunk.shift_end", "clock"),
    "trunk.unload_s": ("trunk.unload_min", "min"),
    "trunk.hub_handling_s": ("trunk.hub_handling_min", "min"),
    "trunk.vehicle.id": ("trunk.vehicle_id", ""),
    "trunk.vehicle.refrigerated": ("trunk.refrigerated", ""),
    "trunk.vehicle.count_per_depot": ("trunk.count", ""),
    "trunk.vehicle.capacity.kg": ("trunk.capacity_kg", ""),
    "trunk.vehicle.capacity.parcels": ("trunk.capacity_parcels", ""),
    "trunk.vehicle.fixed_cost": ("trunk.fixed_cost", ""),
    "trunk.vehicle.cost_per_km": ("trunk.cost_per_km", ""),
    "trunk.vehicle.cost_per_hour": ("trunk.cost_per_hour", ""),
}
#: the trunk vehicle's shift, which a scenario does not set: it is ``[trunk]
#: morning_departure`` to ``shift_end`` (listed under those names)
DERIVED_KEYS = frozenset({"trunk.vehicle.shift_start_s", "trunk.vehicle.shift_end_s"})
#: the keys of a ``[[fleet]]`` entry in manifest.json whose scenario-file key differs
FLEET_FILE_KEYS: dict[str, tuple[str, str]] = {
    "capacity.kg": ("capacity_kg", ""),
    "capacity.parcels": ("capacity_parcels", ""),
    "shift_start_s": ("shift_start", "clock"),
    "shift_end_s": ("shift_end", "clock"),
    "max_duration_s": ("max_duration_h", "h"),
    "reload_s": ("reload_min", "min"),
    "max_trips": ("max_trips", "trips"),
}


#: the value of a ``[[fleet]] ID`` entry in :func:`_settings`
VEHICLE_TYPE = "a vehicle type"


def _file_value(value: Any, unit: str) -> Any:
    """A manifest.json value as a scenario file writes it: seconds as minutes (``min``), hours
    (``h``) or ``HH:MM`` (``clock``; ``""`` for none), ``max_trips`` ``None`` as ``"fit"``."""
    if unit == "clock":
        return '""' if value is None else format_clock(value)
    if unit == "trips":
        return '"fit"' if value is None else value
    if unit in ("min", "h") and isinstance(value, int | float) and not isinstance(value, bool):
        amount = value / (60 if unit == "min" else 3600)
        return int(amount) if float(amount).is_integer() else round(amount, 2)
    return value


def _flat(prefix: str, value: Any, out: dict[str, Any]) -> None:
    """``value``'s leaves into ``out`` under dotted keys (``trunk.vehicle.capacity.kg``)."""
    if isinstance(value, dict):
        for k, v in value.items():
            _flat(f"{prefix}.{k}" if prefix else str(k), v, out)
    else:
        out[prefix] = value


def _settings(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """A plan's settings from its manifest.json, flat and named as a scenario file names them,
    in its units (bb25 D18: ``region_config.cold_chain.produce_s`` 7200 was the user's
    ``cold_chain.produce_max_in_vehicle_min`` 120): ``plan.p``, ``cold_chain.
    produce_max_in_vehicle_min``, ``trunk.cutoff`` ``07:00``; a ``[[fleet]]`` entry's keys as
    ``[[fleet]] ID key``, and the entry itself as ``[[fleet]] ID`` (so that a vehicle type one
    plan lacks is one difference). A key without a scenario-file name keeps its manifest name.
    """
    flat: dict[str, Any] = {}
    _flat("plan", dict(manifest.get("plan") or {}), flat)
    region = dict(manifest.get("region_config") or {})
    fleet = region.pop("fleet", None) or []
    manifest_keys: dict[str, Any] = {}
    _flat("", region, manifest_keys)
    for key, value in manifest_keys.items():
        if key in DERIVED_KEYS:
            continue
        name, unit = FILE_KEYS.get(key, (key, ""))
        flat[name] = _file_value(value, unit)
    for i, entry in enumerate(fleet if isinstance(fleet, list) else []):
        if not isinstance(entry, dict):
            continue
        vehicle = f"[[fleet]] {entry.get('id', f'#{i + 1}')}"
        flat[vehicle] = VEHICLE_TYPE
        fields: dict[str, Any] = {}
        _flat("", {k: v for k, v in entry.items() if k != "id"}, fields)
        for key, value in fields.items():
            name, unit = FLEET_FILE_KEYS.get(key, (key, ""))
            flat[f"{vehicle} {name}"] = _file_value(value, unit)
    return flat


def _search_phrase(manifest: Mapping[str, Any] | None, kpis: Mapping[str, Any]) -> str:
    """A plan's search depth and what ended each of its searches (``kpis.json`` routing)."""
    routing = kpis.get("routing") or {}
    if not routing:
        return "no routed day"
    plan = (manifest or {}).get("plan") or {}
    limit = plan.get("routing_solution_limit")
    depth = (
        f"{limit} solutions per model ({plan.get('routing_search', 'search unknown')})"
        if limit is not None
        else "depth not recorded"
    )
    ended = ", ".join(f"{n}: {r.get('search_ended_by', '?')}" for n, r in routing.items())
    return f"{depth}, each search ended by {ended}"


#: settings a "What differs" line names at most (two regions differ in many)
DIFFERENCES_SHOWN = 12


def _what_differs(
    folders: Sequence[Path],
    manifests: Sequence[Mapping[str, Any] | None],
    kpis: Sequence[Mapping[str, Any]],
) -> str:
    """compare.md's "What differs" line: the settings whose values differ between the two
    manifests (:func:`_settings`), the lastmile commits that made the plans when they differ
    (:func:`_made_by`), and each plan's search depth and what ended each search (bb25 D7: a
    comparison of p = 10 against p = 5, or of two search depths, did not say what set the plans
    apart)."""
    search = "; ".join(
        f"{name} {_search_phrase(m, k)}" for name, m, k in zip("AB", manifests, kpis, strict=True)
    )
    search = f"Search depth: {search} (routed figures depend on it)."
    missing = [f for f, m in zip(folders, manifests, strict=True) if m is None]
    if missing:
        return (
            f"**What differs**: not known ({missing[0] / 'manifest.json'} does not exist). "
            f"{search}\n"
        )
    sa, sb = _settings(manifests[0] or {}), _settings(manifests[1] or {})
    # a vehicle type only one plan has is one difference, not one per key of it
    alone = {
        k for k, v in (*sa.items(), *sb.items()) if v == VEHICLE_TYPE and (k in sa) != (k in sb)
    }

    def shown(settings: Mapping[str, Any], key: str) -> Any:
        if key in settings:
            # a setting left unset (no orders file, no max duration) as a scenario file has it:
            # not written (bb26 D5: "`plan.orders` None vs day.csv")
            return "unset" if settings[key] is None else settings[key]
        return "none" if key in alone else "not recorded"

    differ = [
        f"`{key}` {shown(sa, key)} vs {shown(sb, key)}"
        # the scenario's [plan] first, then the region tables
        for key in sorted({*sa, *sb}, key=lambda k: (not k.startswith("plan."), k))
        if sa.get(key) != sb.get(key) or (key in sa) != (key in sb)
        if key in alone or not any(key.startswith(f"{v} ") for v in alone)
    ]
    more = len(differ) - DIFFERENCES_SHOWN
    listed = (
        "; ".join(differ[:DIFFERENCES_SHOWN]) + (f"; and {more} more" if more > 0 else "")
        if differ
        else "no setting"
    )
    return (
        "**What differs** (settings as a scenario file names them, in its units, from each "
        f"plan's manifest.json; A vs B): {listed}.{_made_by(manifests)} {search}\n"
    )


def _made_by(manifests: Sequence[Mapping[str, Any] | None]) -> str:
    """`` Made by lastmile commit X vs Y: ...`` when the two plans were made by different code
    (bb25 D18: a figure may differ by the code, not by the settings); empty otherwise."""
    commits = [(m or {}).get("lastmile_commit") for m in manifests]
    versions = [(m or {}).get("lastmile") for m in manifests]
    if commits[0] != commits[1]:
        made = "lastmile commit " + " vs ".join(
            str(c)[:10] if c else "not recorded" for c in commits
        )
    elif versions[0] != versions[1]:
        made = "lastmile " + " vs ".join(str(v) if v else "not recorded" for v in versions)
    else:
        return ""
    return f" Made by {made}: a figure may differ by the code as well as by the settings."


def _township_names(a: Path, b: Path) -> dict[str, str]:
    """Township names by code from the folders' ``townships.csv`` (empty where there is none)."""
    for d in (a, b):
        path = d / "townships.csv"
        if path.is_file():
            t = _read_table(path, {"code": str, "name": str})
            if {"code", "name"} <= set(t.columns):
                return dict(
                    zip(t["code"].astype(str), t["name"].fillna("").astype(str), strict=True)
                )
    return {}


#: heading of compare.md's like-for-like routed figures, which the "Routed day" caveat names
SAME_ORDERS_ROUTED = "Routed figures over the orders served in both plans"

#: compare.md's names of the routed day's figures that cover served orders alone
SERVED_ONLY = {"cold_chain_compliance": "cold_chain_compliance_served"}


def _routed_day_both(kpis: Sequence[Mapping[str, Any]], *, like_for_like: bool) -> str:
    """Each plan's own routed day (last-mile vehicles only), and its totals with the trunk;
    ``like_for_like``: whether compare.md has the routed figures over the same orders."""
    rows, totals, cold = [], [], []
    for name, k in zip(("A", "B"), kpis, strict=True):
        r = k.get("routing", {}).get("plan", {})
        if r:
            rows.append(
                {
                    "plan": name,
                    # the solver's compliance counts served orders alone: 1.00 for a plan that
                    # leaves perishable orders unserved (bb25 D6), so its name says so
                    **{
                        SERVED_ONLY.get(kk, kk): vv
                        for kk, vv in r.items()
                        if not isinstance(vv, dict)
                    },
                }
            )
        c = k.get("cold_chain", {}).get("plan")
        if c:
            order = ("compliant", "perishable_orders", "unserved", "compliance")
            shown = cold_chain_shown(c)
            cold.append({"plan": name, **{kk: shown[kk] for kk in order if kk in shown}})
        t = k.get("routed_totals", {}).get("plan")
        if t:
            totals.append(
                {"plan": name, **{kk: vv for kk, vv in t.items() if kk != "not_on_any_order"}}
            )
    if not rows:
        return ""
    served = ", ".join(f"{r['plan']} {r.get('orders_served', '?')}" for r in rows)
    md = (
        "\n## Routed day (last-mile vehicles only)\n\n"
        + markdown_table(pd.DataFrame(rows))
        + f"\nLast-mile vehicles only: trunk runs excluded; each plan's own served orders "
        f"({served}) — "
        + (
            f"compare like for like in '{SAME_ORDERS_ROUTED}' (trunk and hub cost included).\n"
            if like_for_like
            else "not a like-for-like comparison, and none over the same orders is possible "
            "here (see below).\n"
        )
    )
    if totals:
        md += (
            "\n## Routed day with the trunk (trunk km and hub cost included; each plan's own "
            "served orders)\n\n" + markdown_table(pd.DataFrame(totals))
        )
    if cold:
        md += (
            "\n## Cold-chain compliance over all perishable orders (unserved = not compliant; "
            "each plan's own day)\n\n"
            + markdown_table(pd.DataFrame(cold))
            + "\n`compliance` = compliant / perishable_orders, every perishable order of the "
            "plan's day counted, its unserved ones as not compliant (kpis.json `cold_chain`); "
            "`cold_chain_compliance_served` above counts its served orders alone.\n"
        )
    return md


ORDER_COLUMNS = ("scenario", "order_id", "served", "kind", "lead_min", "km", "vehicle_h", "cost")


def _orders_both(
    a: Path, b: Path, manifests: Sequence[Mapping[str, Any] | None], warnings: list[str]
) -> str:
    """Parcel lead times and routed figures over the orders both plans served (``orders.csv``),
    or a note saying why they are not compared; appends to ``warnings``."""
    frames = []
    for d in (a, b):
        path = d / "orders.csv"
        if not path.is_file():
            warnings.append(
                f"parcel lead times and routed figures over the same orders are not compared: "
                f"{path} does not exist"
            )
            return (
                "\n## Parcel lead time: not compared\n\n"
                f"{path} does not exist (a `locate` folder, or a plan folder from an older "
                "lastmile): lead times and routed figures over the same orders need the "
                "orders.csv of both plans.\n"
            )
        df = _read_table(path, {"order_id": str})
        missing = sorted(set(ORDER_COLUMNS) - set(df.columns))
        if missing:
            raise InputError(
                f"{path}: not the orders.csv of a lastmile plan (missing column(s) "
                f"{', '.join(missing)})",
                "run `lastmile plan` again for that folder",
            )
        frames.append(df[df["scenario"] == "plan"])
    differ: list[str] = []
    if manifests[0] is None or manifests[1] is None:
        lacking = a if manifests[0] is None else b
        warnings.append(
            f"could not check that A and B route the same order day: {lacking / 'manifest.json'} "
            "does not exist"
        )
    else:
        differ = _order_day_differences(manifests[0], manifests[1])
    ids_a, ids_b = set(frames[0]["order_id"]), set(frames[1]["order_id"])
    if ids_a != ids_b:
        differ.append(
            f"orders: {len(ids_a - ids_b)} only in A, {len(ids_b - ids_a)} only in B "
            f"(of {len(ids_a)} and {len(ids_b)})"
        )
    if differ:
        warnings.append(
            "A and B route different order days (" + "; ".join(differ) + "): their order ids "
            "(D-<village>, P-<village>) name the same villages, not the same orders, so parcel "
            "lead times and routed figures over the same orders are not compared"
        )
        return (
            "\n## Parcel lead time: not compared (different order days)\n\n"
            + "; ".join(differ)
            + ".\nGive two plans of the same seed, orders file and demand settings to compare "
            "lead times.\n"
        )
    same = same_orders(frames[0], frames[1])
    n = f"{same.orders} orders served in both plans (of {same.of})"
    md = ""
    if len(same.parcel) == 2:
        md += (
            f"\n## Parcel lead time over the {n}\n\n"
            + markdown_table(pd.DataFrame(same.parcel))
            + "\n`orders`: the delivery orders among them (a pickup has no parcel lead time).\n"
        )
    md += (
        f"\n## {SAME_ORDERS_ROUTED} ({same.orders} of {same.of}; trunk and hub cost "
        "included)\n\n" + markdown_table(pd.DataFrame(same.routed))
    )
    return md


@dataclass(frozen=True)
class SameOrders:
    """Two plans' parcel lead times and routed figures over the orders both plans served.

    Attributes
    ----------
    orders, of
        Orders served in both plans, of the orders of plan A's day.
    parcel
        Per plan (``plan`` "A", "B"): ``orders, mean_min, median_min, p90_min, max_min`` of the
        parcel lead times of the delivery orders among those orders (``orders``: how many; no
        row for a plan without such deliveries).
    routed
        Per plan: ``orders, km, vehicle_hours, cost`` allocated to those orders (trunk and hub
        cost included).
    """

    orders: int
    of: int
    parcel: list[dict[str, Any]]
    routed: list[dict[str, Any]]


def same_orders(a: pd.DataFrame, b: pd.DataFrame) -> SameOrders:
    """:class:`SameOrders` of two plans from their order tables' plan rows.

    ``a`` and ``b`` are the ``scenario == "plan"`` rows of two plans' order tables
    (``orders.csv``, :attr:`lastmile.endtoend.EndToEnd.orders`) of the same order day, with the
    :data:`ORDER_COLUMNS`. Used by ``lastmile compare --plans`` and
    :func:`lastmile.api.compare_plans`, so both compare the same orders the same way.
    """
    served = [df[df["served"].astype(bool)] for df in (a, b)]
    both = set(served[0]["order_id"]) & set(served[1]["order_id"])
    rows, routed = [], []
    for name, df in (("A", served[0]), ("B", served[1])):
        cmp = df[df["order_id"].isin(both)]
        par = cmp[cmp["kind"] == "delivery"]["lead_min"]
        if not par.empty:
            rows.append(
                {
                    "plan": name,
                    # delivery orders, not parcels (bb25 D7: an order holds several parcels)
                    "orders": len(par),
                    "mean_min": round(float(par.mean()), 1),
                    "median_min": round(float(par.median()), 1),
                    "p90_min": round(weighted_quantile(par, None, 0.9), 1),
                    "max_min": round(float(par.max()), 1),
                }
            )
        routed.append(
            {
                "plan": name,
                "orders": len(cmp),
                "km": round(float(cmp["km"].sum()), 1),
                "vehicle_hours": round(float(cmp["vehicle_h"].sum()), 2),
                "cost": round(float(cmp["cost"].sum()), 1),
            }
        )
    return SameOrders(len(both), len(set(a["order_id"])), rows, routed)


def p_curve(
    inputs: PlanInputs, p_values: Sequence[int], *, progress: Callable[[str], None] | None = None
) -> pd.DataFrame:
    """The access-time study for each number of hubs: mean / p95 access time and coverage.

    Access time is the road time from the nearest open facility to each village, weighted by
    demand (as ``access_time`` in ``kpis.json``); no day is routed, so it is not a delivery's
    lead time. Row ``p = 0`` is the county centre alone. Each p is solved with the scenario's
    objective and limits (:func:`lastmile.plan.place_hubs`).

    Parameters
    ----------
    inputs
        The prepared scenario (:func:`lastmile.plan.prepare`).
    p_values
        The numbers of new hubs to place, one row each.
    progress
        Called with a line per p before it is solved (``None``: silent).

    Returns
    -------
    pandas.DataFrame
        One row per p: ``p``, ``mean_min``, ``p95_min``, ``max_min`` (access time, min),
        ``share_30`` / ``share_60`` (share of demand within 30 / 60 min), ``optimal`` (whether
        the solver proved the placement optimal) and ``hubs`` (the hubs' township codes, ``;``
        separated).
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


def not_arrived_clause(lead_time: Mapping[str, Any]) -> str:
    """The orders of the lead-time blocks with no arrival this day, named per scenario."""
    parts = [
        f"{scen} {what}: {st['not_arrived']} of {st['orders']}"
        for scen, blocks in lead_time.items()
        for what, st in blocks.items()
        if st.get("not_arrived")
    ]
    if not parts:
        return ""
    return (
        "; did not arrive this day (collected by a hub that no evening trunk run reached): "
        + ", ".join(parts)
        + " - counted as not within 2 h / 4 h / the same day; mean, median, p90 and max are over "
        "the orders that arrived (not_arrived)"
    )


def kpi_coverage(kpis: Mapping[str, Any]) -> dict[str, str]:
    """What each section of ``kpis.json`` covers: which orders, which legs (``kpis["covers"]``).

    One sentence per top-level section present in ``kpis`` (``lead_time``, ``routed_compared``,
    ``routed_totals``, ``cold_chain``, ``routing``, ``unserved``, ``trunk``, ``fleet_needed``,
    ``access_time``, ``location``, ``reachability``), keyed by the section's name, with the
    order counts of this plan. A mapping of its own beside the sections, not a key inside them:
    ``routing``, ``routed_compared`` & co. map scenario names to figures, and code that loops over
    their scenarios would meet a string among them. Deterministic: built from ``kpis`` alone.
    """
    routing = kpis.get("routing") or {}
    served = ", ".join(f"{n} {r.get('orders_served')}" for n, r in routing.items())
    n, total = kpis.get("orders_compared"), kpis.get("orders")
    trunk = kpis.get("trunk") or {}
    evening = "evening" in (trunk.get("runs") or {})
    # the trunk as it ran: pickups reach the centre by the evening run only when hubs keep them
    # in cold rooms and one took place; without hub cold rooms the centre's vans collect them
    cold_rooms = bool((trunk.get("assumptions") or {}).get("hub_cold_store", True))
    out: dict[str, str] = {}
    if "access_time" in kpis:
        out["access_time"] = str(
            (kpis["access_time"] or {}).get("covers")
            or "every settlement, demand-weighted; road time from the nearest open facility"
        )
    reach = kpis.get("reachability") or {}
    beyond = reach.get("villages_beyond_snap_limit") or []
    if "location" in kpis:
        whose = (
            f"every settlement within the snap limit ({kpis.get('villages')} of "
            f"{int(kpis.get('villages') or 0) + len(beyond)}, the others named in reachability."
            "villages_beyond_snap_limit; "
            if beyond
            else "every settlement ("
        )
        out["location"] = (
            f"the hub placement model's objective and its proven bound, over the demand weight "
            f"of {whose}road times from the candidate sites; no orders routed)"
        )
    if "reachability" in kpis:
        out["reachability"] = "every facility-settlement pair of the travel-time matrix" + (
            f"; {len(beyond)} settlement(s) beyond the {float(reach.get('snap_limit_m', 0)):,.0f}"
            " m snap limit are not in it (villages_beyond_snap_limit)"
            if beyond
            else ""
        )
    if routing:
        out["routing"] = (
            "last-mile vehicles only, trunk runs excluded; each scenario's own served orders "
            f"({served}); the routing solver's own figures, not comparable across scenarios: "
            "compare routed_compared"
        )
    if "lead_time" in kpis:
        out["lead_time"] = (
            f"the {n} orders served in both scenarios (of {total}), per order, unweighted; parcel: "
            "county-centre cut-off -> end of service at the village, trunk run and hub handling "
            "included; pickup_to_cold_room / pickup_to_centre: start of service at the village "
            + (
                "-> cold room / county centre (evening trunk run included)"
                if evening
                else "-> cold room / county centre (no evening trunk run took place"
                + (
                    ": without hub cold rooms the centre's vans collect every pickup, so the cold "
                    "room is the county centre's and both measures are equal)"
                    if not cold_rooms
                    else ")"
                )
            )
            + not_arrived_clause(kpis["lead_time"])
        )
    if "routed_compared" in kpis:
        out["routed_compared"] = (
            f"the same {n} orders in both scenarios (served in both, of {total}); per-order "
            "shares of the last-mile routes plus, for the plan, the trunk runs (km, hours, cost) "
            "and the hubs' daily cost: the like-for-like comparison"
        )
    if "routed_totals" in kpis:
        out["routed_totals"] = (
            f"each scenario's own served orders ({served}); last-mile routes plus trunk runs "
            "and hub cost, as routed_compared; not like for like when the served orders differ"
            + "".join(
                f"; {scen} also holds costs on no served order (not_on_any_order: open hubs "
                "without orders "
                + (", ".join(t["not_on_any_order"]["hubs_without_orders"]) or "none")
                + ", trunk runs' shares for hubs whose orders of that run went unserved)"
                for scen, t in kpis["routed_totals"].items()
                if (t.get("not_on_any_order") or {}).get("hubs_without_orders")
                or (t.get("not_on_any_order") or {}).get("cost")
            )
        )
    if "cold_chain" in kpis:
        out["cold_chain"] = (
            f"every perishable order of the day (of {total} orders), served or not: unserved "
            "ones count as not compliant; time to the cold room (pickups: "
            + (
                "the collecting hub's or the county centre's"
                if cold_rooms
                else "the county centre's, the hubs having none"
            )
            + ") or in the last-mile vehicle (deliveries)"
        )
    if "unserved" in kpis:
        out["unserved"] = (
            f"every order of the day ({total}) the scenario's last-mile routing left unserved, "
            "by reason code"
        )
    if "trunk" in kpis:
        what = (
            "morning parcels out, evening pickups back"
            if evening
            else "morning parcels out; no evening run: "
            + (
                "without hub cold rooms the centre's vans collect the pickups"
                if not cold_rooms
                else "no hub collected pickups"
            )
        )
        out["trunk"] = (
            f"the plan's trunk runs between the county centre and the hubs ({what}), not in "
            "routing; their km, hours and cost are shared over the orders in routed_compared "
            "and routed_totals"
        )
    if "fleet_needed" in kpis:
        out["fleet_needed"] = (
            "each scenario's servable orders (unserved reason not infeasible): the smallest "
            "last-mile vehicles per type and depot, plus trunk_run_vehicles (the plan's trunk "
            "runs), "
            "with which all are served on a routed, validated day"
        )
    return out

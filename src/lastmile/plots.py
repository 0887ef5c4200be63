"""Static PNG charts of a study: access-time distributions, minutes saved per township, p-curve.

Every chart is drawn on its own :class:`matplotlib.figure.Figure` (Agg canvas, no pyplot state),
rendered to PNG bytes in memory and written atomically with :func:`lastmile.io.write_bytes`. The
figure size is fixed (``size`` inches at ``dpi``), so the PNG is exactly
``size[0] * dpi`` x ``size[1] * dpi`` pixels. Township labels use pinyin: Chinese glyphs need a CJK
font that many machines (and CI) lack; without pinyin the ``name`` column is used, with a CJK font
when one is installed.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from lastmile.errors import InputError
from lastmile.io import write_bytes
from lastmile.study import weighted_quantile

__all__ = ["delivery_time_distribution", "minutes_saved_by_township", "p_curve"]

BEFORE_COLOUR = "#9e9e9e"
AFTER_COLOUR = "#1f77b4"
SIZE = (9.0, 4.5)
DPI = 100


_CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei",
              "WenQuanYi Micro Hei", "SimHei", "Microsoft YaHei", "PingFang SC",
              "Hiragino Sans GB", "AR PL UMing CN")  # fmt: skip


def _cjk_font() -> str | None:
    """An installed font with Chinese glyphs, or ``None`` (labels then show as boxes)."""
    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in _CJK_FONTS if name in installed), None)


def _figure(size: tuple[float, float], dpi: int) -> Figure:
    """A figure of ``size`` inches at ``dpi``; its PNG (:func:`_save`) is ``size * dpi`` pixels."""
    if dpi <= 0 or min(size) <= 0:
        raise InputError(f"bad figure size {size} in at {dpi} dpi", "use positive size and dpi")
    fig = Figure(figsize=size, dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


#: title font size in points (matplotlib's "large" at the default 10 pt)
TITLE_PT = 12.0


def wrap_title(title: str, width_in: float, fontsize_pt: float = TITLE_PT) -> str:
    """``title`` broken into lines that fit ``width_in`` inches at ``fontsize_pt``.

    A long title is broken first before its " — " clause (the stand-in disclaimer goes on a line
    of its own), then at spaces. Without it, a long title is cut off by the figure's edge, and the
    cut-off part is the disclaimer.
    """
    # about 0.55 em per character in DejaVu Sans; 90 % of the width leaves room for the margins
    chars = max(20, int(width_in * 72 * 0.9 / (fontsize_pt * 0.55)))
    if len(title) <= chars:
        return title
    head, sep, tail = title.partition(" — ")
    parts = [head, f"— {tail}"] if sep else [title]
    return "\n".join(line for part in parts for line in textwrap.wrap(part, chars))


def _save(fig: Figure, path: str | Path) -> Path:
    """Render ``fig`` to PNG at its own resolution and write it atomically."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=fig.dpi)
    return write_bytes(path, buf.getvalue())


def _vector(values: Sequence[float] | npt.ArrayLike, what: str) -> npt.NDArray[np.float64]:
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{what} must be numbers: {exc}", "pass a 1-d array of minutes") from exc
    if arr.ndim != 1:
        raise InputError(f"{what} must be 1-d, got shape {arr.shape}", "pass a flat array")
    if arr.size == 0:
        raise InputError(f"{what} is empty", "pass at least one value")
    if not np.isfinite(arr).all():
        bad = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise InputError(f"{what}[{bad}] is {arr[bad]} (not finite)",
                         "drop unreachable villages or fill them before plotting")  # fmt: skip
    return arr


def delivery_time_distribution(
    minutes_before: Sequence[float] | npt.ArrayLike,
    minutes_after: Sequence[float] | npt.ArrayLike,
    weights: Sequence[float] | npt.ArrayLike | None,
    path: str | Path,
    *,
    title: str = "Access time per village, weighted by demand",
    size: tuple[float, float] = SIZE,
    dpi: int = DPI,
    stats: tuple[Mapping[str, float], Mapping[str, float]] | None = None,
    labels: tuple[str, str] = ("centre only", "centre + hubs"),
) -> Path:
    """Weighted histogram and ECDF of access minutes before vs after the plan.

    Parameters
    ----------
    minutes_before, minutes_after
        Minutes per village (same order, same length, finite).
    weights
        Demand (or population) per village, non-negative with a positive sum; ``None``: equal.
    path, title, size, dpi
        Target PNG, figure title, figure size in inches and resolution (``size * dpi`` pixels).
    stats
        The study's unrounded ``mean_min`` and ``median_min`` before and after
        (:attr:`lastmile.study.AccessStudy.unrounded`) for the legend and the mean lines, so
        that they round the figures the console and ``kpis.json`` give, not means of minutes
        already rounded per village; ``None``: computed from the minutes.
    labels
        The two networks' names in the legends (default: the county centre alone, then with
        its hubs).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    InputError
        Empty or mismatched inputs, non-finite minutes, negative or all-zero weights.
    """
    before = _vector(minutes_before, "minutes_before")
    after = _vector(minutes_after, "minutes_after")
    w = np.ones_like(before) if weights is None else _vector(weights, "weights")
    if not before.size == after.size == w.size:
        raise InputError(
            f"lengths differ: minutes_before {before.size}, minutes_after {after.size}, "
            f"weights {w.size}", "pass one value per village in each")  # fmt: skip
    if (w < 0).any() or w.sum() <= 0:
        raise InputError("weights must be non-negative with a positive sum",
                         "use demand or population per village")  # fmt: skip
    share = w / w.sum() * 100.0
    hi = float(max(before.max(), after.max()))
    bins = np.linspace(0.0, max(hi, 1.0) * 1.0001, 31)

    fig = _figure(size, dpi)
    ax_hist, ax_cdf = fig.subplots(1, 2)
    ax_hist.hist([before, after], bins=bins, weights=[share, share],
                 color=[BEFORE_COLOUR, AFTER_COLOUR], label=list(labels))  # fmt: skip
    ax_hist.set_xlabel("access time (min)")
    ax_hist.set_ylabel("share of demand (%)")
    ax_hist.legend()
    series = ((before, BEFORE_COLOUR, labels[0]), (after, AFTER_COLOUR, labels[1]))
    for i, (values, colour, label) in enumerate(series):
        order = np.argsort(values, kind="stable")
        xs = np.concatenate([[0.0], values[order]])
        ys = np.concatenate([[0.0], np.cumsum(share[order])])
        if stats is not None:
            mean, median = float(stats[i]["mean_min"]), float(stats[i]["median_min"])
        else:
            mean = float(np.average(values, weights=w))
            median = weighted_quantile(values, w, 0.5)
        ax_cdf.step(xs, ys, where="post", color=colour,
                    label=f"{label}: mean {mean:.1f}, median {median:.1f} min")  # fmt: skip
        ax_cdf.axvline(mean, color=colour, linestyle=":", linewidth=1)
    ax_cdf.set_xlabel("access time (min)")
    ax_cdf.set_ylabel("cumulative share of demand (%)")
    ax_cdf.set_ylim(0, 101)
    ax_cdf.set_xlim(left=0)
    ax_cdf.grid(alpha=0.3)
    ax_cdf.legend(loc="lower right", fontsize="small")
    fig.suptitle(wrap_title(title, size[0]), fontsize=TITLE_PT)
    return _save(fig, path)


def _table(table: pd.DataFrame, what: str, required: Sequence[str]) -> pd.DataFrame:
    if not isinstance(table, pd.DataFrame):
        raise InputError(f"{what}: table must be a DataFrame, got {type(table).__name__}",
                         f"pass a DataFrame with columns {', '.join(required)}")  # fmt: skip
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise InputError(f"{what}: table lacks column(s) {', '.join(missing)}",
                         f"pass a DataFrame with columns {', '.join(required)}")  # fmt: skip
    if table.empty:
        raise InputError(f"{what}: table is empty", "pass at least one row")
    return table


def _numeric(table: pd.DataFrame, column: str, what: str) -> npt.NDArray[np.float64]:
    values = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=float)
    if not np.isfinite(values).all():
        row = table.index[~np.isfinite(values)][0]
        raise InputError(f"{what}: column {column} of row {row!r} is {table[column].loc[row]!r}",
                         f"{column} must be a finite number in every row")  # fmt: skip
    return values


def minutes_saved_by_township(
    table: pd.DataFrame,
    path: str | Path,
    *,
    title: str = "Access time saved by township (demand-weighted mean)",
    size: tuple[float, float] = SIZE,
    dpi: int = DPI,
) -> Path:
    """Horizontal bar chart of access-time minutes saved per township, largest saving on top.

    The minutes are access time (road time from the nearest open facility, before - after), not
    a delivery's lead time: the axis and the default title say so.

    Parameters
    ----------
    table
        One row per township: ``minutes_saved`` and ``pinyin`` (used as label) or ``name``.
    path, title, size, dpi
        Target PNG, figure title, figure size in inches and resolution (``size * dpi`` pixels).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    InputError
        Not a DataFrame, empty, no label column, missing or non-numeric ``minutes_saved``.
    """
    return _save(_minutes_saved_figure(table, title=title, size=size, dpi=dpi), path)


def _minutes_saved_figure(
    table: pd.DataFrame, *, title: str, size: tuple[float, float], dpi: int
) -> Figure:
    """The figure of :func:`minutes_saved_by_township` (drawn, not saved)."""
    label_col = "pinyin" if isinstance(table, pd.DataFrame) and "pinyin" in table else "name"
    tab = _table(table, "minutes_saved_by_township", (label_col, "minutes_saved"))
    saved = _numeric(tab, "minutes_saved", "minutes_saved_by_township")
    labels = tab[label_col].astype(str).to_numpy()
    font = _cjk_font() if any(not str(x).isascii() for x in labels) else None
    order = np.argsort(saved, kind="stable")
    fig = _figure(size, dpi)
    ax = fig.subplots()
    colours = [AFTER_COLOUR if s >= 0 else "#d62728" for s in saved[order]]
    bars = ax.barh(np.arange(len(order)), saved[order], color=colours)
    ax.bar_label(bars, labels=[f"{s:.1f}" for s in saved[order]], padding=2, fontsize="small")
    ax.set_yticks(np.arange(len(order)), labels=labels[order])
    if font is not None:
        for tick in ax.get_yticklabels():
            tick.set_fontfamily(font)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel(
        "access time saved, min (centre only - centre + hubs; road time from the nearest facility)"
    )
    ax.margins(x=0.12)
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(wrap_title(title, size[0]), fontsize=TITLE_PT)
    return fig


def p_curve(
    table: pd.DataFrame,
    path: str | Path,
    *,
    title: str = "Mean access time vs number of hubs",
    size: tuple[float, float] = SIZE,
    dpi: int = DPI,
) -> Path:
    """Mean (and optionally 95th-percentile) access time against the number of hubs ``p``.

    Parameters
    ----------
    table
        One row per ``p``: ``p``, ``mean_min``, optional ``p95_min`` (same axis) and ``share_30``
        (share of demand within 30 min, 0-1, on a second axis).
    path, title, size, dpi
        Target PNG, figure title, figure size in inches and resolution (``size * dpi`` pixels).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    InputError
        Not a DataFrame, empty, missing columns, non-numeric values, duplicate ``p``.
    """
    tab = _table(table, "p_curve", ("p", "mean_min"))
    p = _numeric(tab, "p", "p_curve")
    if len(np.unique(p)) != len(p):
        raise InputError("p_curve: duplicate values of p", "pass one row per number of hubs")
    order = np.argsort(p)
    fig = _figure(size, dpi)
    ax = fig.subplots()
    ax.plot(p[order], _numeric(tab, "mean_min", "p_curve")[order], marker="o",
            color=AFTER_COLOUR, label="mean access time")  # fmt: skip
    if "p95_min" in tab.columns:
        ax.plot(p[order], _numeric(tab, "p95_min", "p_curve")[order], marker="s",
                linestyle="--", color="#ff7f0e", label="95th percentile")  # fmt: skip
    ax.set_xlabel("number of hubs p")
    ax.set_ylabel("access time (min)")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    if "share_30" in tab.columns:
        twin = ax.twinx()
        share = _numeric(tab, "share_30", "p_curve") * 100.0
        twin.plot(p[order], share[order], marker="^", linestyle=":", color="#2ca02c",
                  label="demand within 30 min (%)")  # fmt: skip
        twin.set_ylabel("demand within 30 min (%)")
        twin.set_ylim(0, 105)
        h2, l2 = twin.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
    if np.allclose(p, np.round(p)):
        ax.set_xticks(np.unique(p))
    # below the axes: "best" placement sees one axis only, and sat on the share curve
    ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3,
              fontsize="small", frameon=False)  # fmt: skip
    ax.set_title(wrap_title(title, size[0]), fontsize=TITLE_PT)
    return _save(fig, path)

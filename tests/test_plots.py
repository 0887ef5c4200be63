"""PNG charts: each writes a readable PNG of the requested pixel size; bad input -> InputError."""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread

from lastmile.errors import InputError
from lastmile.plots import (
    _minutes_saved_figure,
    delivery_time_distribution,
    minutes_saved_by_township,
    p_curve,
    wrap_title,
)

#: the stand-in flag `lastmile plan` puts in every plot title
FLAG = " — synthetic stand-in, NOT real OSM data"


def _png_shape(path: Path) -> tuple[int, int]:
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = imread(path)
    assert image.ndim == 3 and image.shape[2] in (3, 4)
    # a real chart, not a blank canvas: many distinct colours
    assert len(np.unique(image.reshape(-1, image.shape[2]), axis=0)) > 20
    return int(image.shape[0]), int(image.shape[1])


def test_delivery_time_distribution_png(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    before = rng.uniform(30, 150, 200)
    after = before * rng.uniform(0.4, 1.0, 200)
    weights = rng.integers(1, 500, 200)
    out = delivery_time_distribution(before, after, weights, tmp_path / "dist" / "d.png")
    assert out == tmp_path / "dist" / "d.png"
    assert _png_shape(out) == (450, 900)
    small = delivery_time_distribution(list(before[:5]), list(after[:5]), None,
                                       tmp_path / "s.png", size=(4.0, 3.0), dpi=50)  # fmt: skip
    assert _png_shape(small) == (150, 200)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dist", "s.png"]  # no temp files


def test_delivery_time_distribution_bad_input(tmp_path: Path) -> None:
    target = tmp_path / "x.png"
    with pytest.raises(InputError, match="lengths differ: minutes_before 3, minutes_after 2"):
        delivery_time_distribution([1, 2, 3], [1, 2], [1, 1, 1], target)
    with pytest.raises(InputError, match="minutes_before is empty"):
        delivery_time_distribution([], [], [], target)
    with pytest.raises(InputError, match=r"minutes_after\[1\] is inf"):
        delivery_time_distribution([1, 2], [1, np.inf], None, target)
    with pytest.raises(InputError, match="weights must be non-negative"):
        delivery_time_distribution([1, 2], [1, 2], [0, 0], target)
    with pytest.raises(InputError, match="minutes_before must be numbers"):
        delivery_time_distribution(["a", "b"], [1, 2], None, target)
    assert not target.exists()


def test_minutes_saved_by_township_png(tmp_path: Path) -> None:
    table = pd.DataFrame({
        "name": ["妙高街道", "云峰街道", "北界镇", "金竹镇"],
        "pinyin": ["Miaogao", "Yunfeng", "Beijie", "Jinzhu"],
        "minutes_saved": [12.5, 0.0, 31.2, -2.0],
    })  # fmt: skip
    out = minutes_saved_by_township(table, tmp_path / "t.png", dpi=80)
    assert _png_shape(out) == (360, 720)
    # without pinyin the name column is the label
    ascii_names = table.drop(columns="name").rename(columns={"pinyin": "name"})
    out2 = minutes_saved_by_township(ascii_names, tmp_path / "t2.png")
    assert _png_shape(out2) == (450, 900)


def test_minutes_saved_title_shows_the_whole_disclaimer_and_names_access_time() -> None:
    """The plan's title once ran off the figure's edge ("… NOT real OS") and said "per delivery"
    for access-time minutes (the lead time per delivery may well grow with the hubs)."""
    table = pd.DataFrame({"pinyin": ["Miaogao", "Beijie"], "minutes_saved": [12.5, 31.2]})
    title = f"Access time saved by township (demand-weighted mean){FLAG}"
    for size, dpi in (((9.0, 4.5), 100), ((6.0, 3.5), 80)):
        fig = _minutes_saved_figure(table, title=title, size=size, dpi=dpi)
        ax = fig.axes[0]
        shown = ax.get_title()
        assert " ".join(shown.split()) == title  # every word, the disclaimer whole
        assert "\n— synthetic stand-in" in shown  # the disclaimer starts a line of its own
        assert "access time saved" in ax.get_xlabel() and "delivery" not in ax.get_xlabel()
        fig.canvas.draw()
        box = ax.title.get_window_extent()
        width, height = fig.bbox.width, fig.bbox.height
        assert box.x0 >= 0 and box.x1 <= width and box.y0 >= 0 and box.y1 <= height, (size, box)
    # the default title is the access-time wording too
    default = inspect.signature(minutes_saved_by_township).parameters["title"].default
    assert default.startswith("Access time saved") and "delivery" not in default
    # a short title stays on one line
    assert wrap_title("Mean access time vs number of hubs", 9.0) == (
        "Mean access time vs number of hubs"
    )


def test_minutes_saved_by_township_bad_input(tmp_path: Path) -> None:
    target = tmp_path / "x.png"
    with pytest.raises(InputError, match="table is empty"):
        minutes_saved_by_township(pd.DataFrame({"pinyin": [], "minutes_saved": []}), target)
    with pytest.raises(InputError, match=r"lacks column\(s\) minutes_saved"):
        minutes_saved_by_township(pd.DataFrame({"pinyin": ["A"]}), target)
    with pytest.raises(InputError, match="column minutes_saved of row 1 is 'n/a'"):
        minutes_saved_by_township(
            pd.DataFrame({"pinyin": ["A", "B"], "minutes_saved": [1.0, "n/a"]}), target
        )
    with pytest.raises(InputError, match="table must be a DataFrame, got dict"):
        minutes_saved_by_township({"pinyin": ["A"], "minutes_saved": [1]}, target)  # type: ignore[arg-type]
    assert not target.exists()


def test_p_curve_png(tmp_path: Path) -> None:
    table = pd.DataFrame({
        "p": [10, 2, 4, 6, 8],
        "mean_min": [38.0, 80.5, 61.0, 50.2, 43.1],
        "p95_min": [70.0, 150.0, 120.0, 95.0, 80.0],
        "share_30": [0.55, 0.10, 0.25, 0.38, 0.47],
    })  # fmt: skip
    assert _png_shape(p_curve(table, tmp_path / "p.png")) == (450, 900)
    assert _png_shape(p_curve(table[["p", "mean_min"]], tmp_path / "p2.png")) == (450, 900)


def test_p_curve_bad_input(tmp_path: Path) -> None:
    target = tmp_path / "x.png"
    with pytest.raises(InputError, match="p_curve: table is empty"):
        p_curve(pd.DataFrame({"p": [], "mean_min": []}), target)
    with pytest.raises(InputError, match=r"lacks column\(s\) mean_min"):
        p_curve(pd.DataFrame({"p": [1, 2]}), target)
    with pytest.raises(InputError, match="duplicate values of p"):
        p_curve(pd.DataFrame({"p": [2, 2], "mean_min": [1.0, 2.0]}), target)
    with pytest.raises(InputError, match="bad figure size"):
        p_curve(pd.DataFrame({"p": [2], "mean_min": [1.0]}), target, dpi=0)
    assert not target.exists()

"""Interactive Folium maps of a plan: hubs, catchments, cold-chain routes, township study results.

:func:`plan_map` draws one scenario of a plan on a county map, :func:`compare_map` two scenarios
side by side (synchronised); :func:`save_map` writes either atomically. Folium loads Leaflet,
jQuery, Bootstrap and the plugins from public CDNs; a map saved with ``assets="inline"`` embeds
local copies of those files instead, so the HTML opens offline (the basemap tiles still need a
connection). Fetching and embedding those copies lives in :mod:`lastmile.map_assets`.

Every input is an EPSG:4326 GeoDataFrame (see :func:`plan_map` for the columns). Geometries are
simplified (``simplify_tolerance`` degrees) and coordinates rounded (``precision`` decimals) before
they are written, so a whole-county map stays a few MB.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import branca.colormap
import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from jinja2 import Template
from shapely.geometry.base import BaseGeometry

from lastmile.errors import DataError, InputError
from lastmile.io import write_text
from lastmile.map_assets import (
    OFFLINE_NOTICE,
    AssetMode,
    inline_map_assets,
    resolve_map_assets,
)

__all__ = ["compare_map", "plan_map", "save_map"]

OSM_ATTRIBUTION = (
    '© <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
)

# Two palettes that never meet: hub catchments (village dots, catchment lines) in light colours
# (CIELAB lightness 73-91), vehicles' routes in dark ones (25-44), so that a route never has the
# colour of a catchment it crosses (bb19 D8: both came from one palette, and a red route through
# red villages read as that hub's route). Any route colour is >= 40 CIELAB units from any
# catchment colour; none is the red of a cold-chain violation.
CATCHMENT_PALETTE: tuple[str, ...] = (
    "#a6cee3", "#fdbf6f", "#b2df8a", "#cab2d6", "#fb9a99", "#ffe680",
    "#9ee0d6", "#f2b6dd", "#d9c3a5", "#c7c7c7", "#ccebc5",
)  # fmt: skip
ROUTE_PALETTE: tuple[str, ...] = (
    "#1f4e9c", "#a6500c", "#1d6b2a", "#6a3d9a", "#00727a",
    "#8e1f5f", "#5a5a00", "#7b3f2a", "#2b3a67", "#4a4a4a",
)  # fmt: skip
VIOLATION_COLOUR = "#d00000"
#: the outline of a village dot: dark, so a light catchment colour shows on a light township
VILLAGE_OUTLINE = "#444444"
#: what the colours mean, in the title box (the layers have no legend of their own)
COLOUR_KEY = (
    "Colours: villages and catchment lines, light, by serving hub; routes and stop rings, dark, "
    "by vehicle"
)


def save_map(
    m: folium.Map | folium.plugins.DualMap | folium.Figure,
    path: str | Path,
    *,
    assets: AssetMode = "auto",
    assets_dir: str | Path | None = None,
) -> Path:
    """Render a map to HTML and write it atomically.

    Parameters
    ----------
    m
        The map (or its figure).
    path
        Target ``.html`` file; parent folders are created.
    assets
        ``"cdn"``: link Leaflet & co. from public CDNs (small file, needs a connection).
        ``"inline"``: embed local copies (about 1.2 MB more; opens offline).
        ``"auto"``: inline when the local copies exist (:func:`resolve_map_assets`).
    assets_dir
        Local assets for ``"inline"`` (default :func:`map_assets_dir`).

    Returns
    -------
    Path
        ``path``.
    """
    if not isinstance(m, folium.Map | folium.plugins.DualMap | folium.Figure):
        raise InputError(
            f"save_map: m = {m!r:.60} is not a folium map",
            "give plan.explore(), the map of compare_plans(...), or another folium Map",
        )
    if not isinstance(path, str | Path) or not str(path).strip():
        raise InputError(
            f"save_map: path = {path!r} is not a file name", "give a file name such as map.html"
        )
    if str(path).endswith(("/", "\\")) or Path(path).is_dir():
        raise InputError(
            f"save_map: path {str(path)!r} is a folder", "give an .html file name in it (map.html)"
        )
    if Path(path).suffix.lower() not in (".html", ".htm"):  # bb24 D9: a browser would not open it
        raise InputError(
            f"save_map: path {str(path)!r} does not end in .html",
            f"give a file name such as {Path(path).stem or 'map'}.html",
        )
    mode = resolve_map_assets(assets, assets_dir)
    page = _numbered_ids(m.get_root().render())
    if mode == "inline":
        page = inline_map_assets(page, assets_dir)
    else:
        head, sep, tail = page.rpartition("</html>")
        page = head + OFFLINE_NOTICE + sep + tail if sep else page + OFFLINE_NOTICE
    return write_text(path, page)


# the id branca gives every element (its JavaScript variable is ``<kind>_<id>``): 32 hex
# digits from os.urandom, so two renders of one map differed in every name
_ELEMENT_ID = re.compile(r"(?<=_)[0-9a-f]{32}(?![0-9a-zA-Z])")


def _numbered_ids(page: str) -> str:
    """``page`` with each element id replaced by its number in order of first appearance: the
    same map gives the same file (DualMap copies its right pane's elements while rendering, so
    the ids are only final in the rendered page)."""
    numbers: dict[str, str] = {}

    def number(match: re.Match[str]) -> str:
        return numbers.setdefault(match.group(0), f"{len(numbers):032x}")

    return _ELEMENT_ID.sub(number, page)


# --------------------------------------------------------------------------------------------
# input checks and geometry preparation

_TOWNSHIP_COLS = ("code", "name", "pinyin", "geometry")
_VILLAGE_COLS = ("id", "name", "population", "township", "geometry")
_HUB_COLS = ("id", "name", "township", "role", "geometry")
_ROUTE_COLS = ("scenario", "vehicle_id", "vehicle_type", "depot", "n_stops", "km", "hours",
               "geometry")  # fmt: skip
_STOP_COLS = ("scenario", "vehicle_id", "seq", "order_id", "village", "kind", "product_class",
              "arrival", "in_vehicle_min", "limit_min", "cold_chain_ok", "geometry")  # fmt: skip
_UNASSIGNED_COLS = ("scenario", "order_id", "reason", "geometry")
_HUB_ROLES = ("county centre", "new hub")


def _checked(
    frame: Any, what: str, columns: Sequence[str], geom_types: Iterable[str]
) -> gpd.GeoDataFrame:
    """``frame`` as an EPSG:4326 GeoDataFrame with ``columns`` and the allowed geometry types."""
    if not isinstance(frame, gpd.GeoDataFrame):
        raise InputError(
            f"plan_map: {what} must be a GeoDataFrame, got {type(frame).__name__}",
            "build it with geopandas.GeoDataFrame(..., crs='EPSG:4326')",
        )
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(
            f"plan_map: {what} lacks column(s) {', '.join(missing)}",
            f"{what} needs columns {', '.join(columns)}",
        )
    if len(frame) and frame.crs is None:
        raise DataError(f"plan_map: {what} has no CRS", "set it with .set_crs('EPSG:4326')")
    out = frame.to_crs(4326) if frame.crs is not None and frame.crs.to_epsg() != 4326 else frame
    geoms = out.geometry
    if geoms.isna().any() or geoms.is_empty.any():
        bad = out.index[geoms.isna() | geoms.is_empty][0]
        raise DataError(
            f"plan_map: {what} row {bad!r} has no geometry", "drop the row or give it a geometry"
        )
    allowed = set(geom_types)
    wrong = sorted(set(geoms.geom_type) - allowed)
    if wrong:
        raise InputError(
            f"plan_map: {what} has {', '.join(wrong)} geometries",
            f"{what} geometries must be {' or '.join(sorted(allowed))}",
        )
    return out


def _prepare(
    geoms: gpd.GeoSeries, tolerance: float, precision: int, preserve_topology: bool = True
) -> list[BaseGeometry]:
    """Simplify and round geometries for the map."""
    arr = np.asarray(geoms.values, dtype=object)
    if tolerance > 0:
        arr = shapely.simplify(arr, tolerance, preserve_topology=preserve_topology)
    out = shapely.transform(arr, lambda xy: np.round(xy, precision))
    return list(out)


def _fmt(value: Any, spec: str = ".1f", unit: str = "", missing: str = "—") -> str:
    """Format a number for a popup; NaN/None become ``missing``."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return missing
    try:
        return f"{float(value):{spec}}{unit}"
    except (TypeError, ValueError):
        return html.escape(str(value))


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _table(rows: Sequence[tuple[str, str]], heading: str | None = None) -> str:
    """A small HTML table for popups (values already escaped)."""
    head = f"<b>{heading}</b><br>" if heading else ""
    body = "".join(f"<tr><th style='padding-right:6px'>{k}</th><td>{v}</td></tr>" for k, v in rows)
    return f"{head}<table style='font-size:12px'>{body}</table>"


def _colour_of(keys: Iterable[Any], palette: Sequence[str]) -> dict[str, str]:
    """A colour of ``palette`` for each distinct key, in order of first appearance."""
    distinct = dict.fromkeys(str(k) for k in keys)
    return {k: palette[i % len(palette)] for i, k in enumerate(distinct)}


# --------------------------------------------------------------------------------------------
# the map


def plan_map(
    townships: gpd.GeoDataFrame,
    villages: gpd.GeoDataFrame,
    hubs: gpd.GeoDataFrame,
    routes: gpd.GeoDataFrame,
    stops: gpd.GeoDataFrame,
    unassigned: gpd.GeoDataFrame,
    *,
    title: str,
    source_label: str,
    scenario: str = "plan",
    simplify_tolerance: float = 1e-4,
    precision: int = 5,
    disable_clustering_at_zoom: int = 13,
    trunk: gpd.GeoDataFrame | None = None,
    cold_chain: Mapping[str, Any] | None = None,
) -> folium.Map:
    """County map of one scenario of a plan.

    Layers (each can be switched in the layer control): township choropleth of
    ``minutes_saved`` with a legend (plain outlines when the column is absent or all NaN); hub
    catchments (a thin line from each village to its serving hub, when ``villages`` has
    ``facility``); villages as clustered circles sized by population; hubs (county centre and new
    hubs as distinct markers); one layer per depot with its vehicles' routes drawn along the road
    geometry and their stops (popups with stop order, arrival, time in vehicle, cold-chain
    OK/VIOLATED); unassigned orders. A title box states the data source; a synthetic source is
    flagged as "synthetic stand-in".

    Parameters
    ----------
    townships
        ``code, name, pinyin, geometry`` (Polygon/MultiPolygon), optional ``kind``,
        ``minutes_saved``, ``mean_min_before``, ``mean_min_after``.
    villages
        ``id, name, population, township, geometry`` (Point), optional ``facility`` (serving hub
        id), ``minutes_before``, ``minutes_after``.
    hubs
        ``id, name, township, role`` ("county centre" or "new hub"), ``geometry`` (Point).
    routes
        ``scenario, vehicle_id, vehicle_type, depot`` (hub id), ``n_stops, km, hours, geometry``
        (LineString along the roads).
    stops
        ``scenario, vehicle_id, seq, order_id, village, kind, product_class, arrival`` ("HH:MM"),
        ``in_vehicle_min, limit_min`` (NaN: no limit), ``cold_chain_ok, geometry`` (Point).
    unassigned
        ``scenario, order_id, reason, geometry`` (Point), optional ``binding, limit, best, unit,
        detail`` (the limit that rules the order out, as ``unassigned.csv``); may be empty.
    trunk
        Trunk routes (``run, vehicle_id, hub_names, departure, return, hub_arrivals, km,
        geometry``), drawn dashed and dark in their own layer; ``None``: none.
    cold_chain
        The scenario's cold-chain compliance over all its perishable orders (``kpis.json``
        ``cold_chain[scenario]``: ``compliant, perishable_orders``), stated in the title box
        beside the violations among served orders; ``None``: not stated.
    title
        Heading of the title box.
    source_label
        Where the data comes from; shown verbatim in the title box.
    scenario
        Which scenario of ``routes``/``stops``/``unassigned`` to draw.
    simplify_tolerance
        Douglas-Peucker tolerance in degrees for polygons and routes (0 keeps every vertex).
    precision
        Decimals kept in coordinates.
    disable_clustering_at_zoom
        Zoom level from which villages are drawn unclustered.

    Returns
    -------
    folium.Map

    Raises
    ------
    InputError
        A frame is not a GeoDataFrame, lacks columns, has wrong geometry types, or refers to
        unknown hubs/vehicles; the scenario is absent from non-empty ``routes``.
    DataError
        A frame has no CRS or a row has no geometry; ``townships`` is empty.
    """
    tw, vil, hb, rt, st, un = _check_frames(townships, villages, hubs, routes, stops, unassigned)
    m = folium.Map(location=_centre(tw, precision), tiles=None, control_scale=True)
    synthetic, full_title = _full_title(title, source_label)
    m.get_root().title = full_title  # type: ignore[attr-defined]
    # the title's km are the last-mile vehicles'; the trunk runs drawn beside them are not in them
    note = ""
    if trunk is not None and len(trunk):
        note = f" ({_trunk_note(trunk)})"
    summary = _draw_scenario(m, tw, vil, hb, rt, st, un, scenario, simplify_tolerance, precision,
                             disable_clustering_at_zoom, km_note=note,
                             cold_chain=cold_chain)  # fmt: skip
    if trunk is not None and len(trunk):
        _add_trunk(m, trunk, simplify_tolerance, precision)
    legend = bool(_minutes_saved(tw).notna().any())  # _add_townships drew the colour scale
    key = COLOUR_KEY + ("; trunk runs dark dashed" if trunk is not None and len(trunk) else "")
    _add_title_box(m, full_title, source_label, synthetic, [summary], beside_legend=legend,
                   colour_key=key)  # fmt: skip
    folium.plugins.Fullscreen(position="topleft").add_to(m)  # type: ignore[no-untyped-call]
    folium.LayerControl(collapsed=True).add_to(m)
    # the county beside the title box (top left) and below the legend, not under them
    _FitClearOfBoxes(_bounds(tw, vil, hb, precision), title="left", legend=legend).add_to(m)
    return m


#: width of the township colour scale (branca's default, 450 px, met the title box in an
#: 800 px window: bb19 D8)
LEGEND_WIDTH_PX = 340
#: the padding (px) kept around the county when a map is fitted
_FIT_PAD_PX = 12
#: the height (px) of the colour scale at the top right, with its margin
_LEGEND_HEIGHT_PX = 56


class _FitClearOfBoxes(MacroElement):
    """Fit the map to ``bounds`` leaving out the parts of it under the title box and the colour
    scale, measured in the page as it opens (the title box's size follows the window).

    ``title``: where the title box is, ``"left"`` (top left: the county goes to its right) or
    ``"bottom"`` (bottom centre, over both panes of a side-by-side map: the county goes above
    it). ``legend``: a colour scale at the top right (the county goes below it).
    """

    _template = Template("""
{% macro script(this, kwargs) %}
(function () {
    var map = {{ this._parent.get_name() }};
    var pane = map.getContainer().getBoundingClientRect();
    var title = document.getElementById("lastmile-title");
    var box = title ? title.getBoundingClientRect() : null;
    var pad = {{ this.pad }};
    var left = pad, top = {{ this.top }}, right = pad, bottom = pad;
    if (box && box.width > 0) {
        {% if this.title == "left" -%}
        left = Math.max(left, box.right - pane.left + pad);
        {%- else -%}
        bottom = Math.max(bottom, pane.bottom - box.top + pad);
        {%- endif %}
    }
    // a window too small for both: the county stays visible, partly under the boxes
    left = Math.min(left, 0.6 * pane.width);
    bottom = Math.min(bottom, 0.6 * pane.height);
    // not animated: a pan still under way when the panes are synchronised stops where it began
    map.fitBounds({{ this.bounds|tojson }}, {paddingTopLeft: [left, top],
                  paddingBottomRight: [right, bottom], animate: false});
})();
{% endmacro %}
""")

    def __init__(self, bounds: list[list[float]], *, title: str, legend: bool) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "FitClearOfBoxes"
        self.bounds = bounds
        self.title = title
        self.pad = _FIT_PAD_PX
        self.top = _LEGEND_HEIGHT_PX if legend else _FIT_PAD_PX


TRUNK_COLOUR = "#222222"


def _trunk_note(trunk: gpd.GeoDataFrame) -> str:
    """What the last-mile figures of a title leave out: the trunk runs, with their km.

    A run is one departure (morning, evening; ``run``), as in ``kpis.json`` ``trunk.runs``; each
    row of ``trunk`` is one truck's route on a run.
    """
    runs, routes = int(trunk["run"].nunique()), len(trunk)
    return (
        f"trunk: {runs} run{'s' if runs != 1 else ''}, {routes} truck "
        f"route{'s' if routes != 1 else ''}, {float(trunk['km'].sum()):,.0f} km, not included"
    )


def _add_trunk(m: folium.Map, trunk: gpd.GeoDataFrame, tol: float, precision: int) -> None:
    """Trunk routes: thick dark dashed lines, one layer, styled apart from last-mile routes."""
    geoms = _prepare(trunk.geometry, tol, precision, preserve_topology=False)
    group = folium.FeatureGroup(name=f"Trunk runs ({len(trunk)})", show=True)
    for (_, r), g in zip(trunk.iterrows(), geoms, strict=True):
        info = [("Trunk run", _esc(r["run"])), ("Vehicle", _esc(r["vehicle_id"])),
                ("Hubs", _esc(r["hub_names"])), ("Leaves centre", _esc(r["departure"])),
                ("Hub arrivals", _esc(r["hub_arrivals"])), ("Back at centre", _esc(r["return"])),
                ("Distance", _fmt(r["km"], ".1f", " km"))]  # fmt: skip
        lines = g.geoms if g.geom_type == "MultiLineString" else [g]
        locations = [[[y, x] for x, y in line.coords] for line in lines]
        folium.PolyLine(  # type: ignore[no-untyped-call]
            locations if len(locations) > 1 else locations[0],
            color=TRUNK_COLOUR, weight=6, opacity=0.8, dash_array="12 8",
            tooltip=f"Trunk ({_esc(r['run'])}): {_esc(r['vehicle_id'])}, {_fmt(r['km'])} km",
            popup=folium.Popup(_table(info), max_width=360),
        ).add_to(group)  # fmt: skip
    group.add_to(m)


def compare_map(
    townships: gpd.GeoDataFrame,
    villages: gpd.GeoDataFrame,
    hubs: gpd.GeoDataFrame,
    routes: gpd.GeoDataFrame,
    stops: gpd.GeoDataFrame,
    unassigned: gpd.GeoDataFrame,
    *,
    title: str,
    source_label: str,
    scenarios: tuple[str, str] = ("baseline", "plan"),
    baseline_villages: gpd.GeoDataFrame | None = None,
    left_hubs: gpd.GeoDataFrame | None = None,
    left_townships: gpd.GeoDataFrame | None = None,
    trunk_km: Mapping[str, float] | None = None,
    simplify_tolerance: float = 1e-4,
    precision: int = 5,
    disable_clustering_at_zoom: int = 13,
) -> folium.plugins.DualMap:
    """Two synchronised maps side by side: ``scenarios[0]`` left, ``scenarios[1]`` right.

    Same inputs and layers as :func:`plan_map` (each map has its own layer control). Both
    scenarios must be present in ``routes``. ``townships``, ``villages`` and ``hubs`` are the
    right map's; the left map takes ``baseline_villages``, ``left_hubs`` and ``left_townships``
    where given (two plans with different hubs: each pane shows only its own hubs and its own
    township figures), else the same frames.

    Parameters
    ----------
    townships, villages, hubs, routes, stops, unassigned, title, source_label
        As for :func:`plan_map`; ``villages.facility`` is the serving hub in ``scenarios[1]``.
    scenarios
        Left and right scenario.
    baseline_villages
        Villages for the left map (its ``facility`` = serving hub in ``scenarios[0]``); default
        ``villages``.
    left_hubs, left_townships
        Hubs and townships (with their ``minutes_saved``) for the left map; default ``hubs`` and
        ``townships``.
    trunk_km
        Trunk-run km per scenario (e.g. the plans' ``kpis["trunk"]["runs"]`` summed; 0 for a
        scenario without trunk). Given, each side's line adds them to its last-mile km, so that
        two plans are compared on their whole distance; ``None``: the lines say the trunk is
        not included.
    simplify_tolerance, precision, disable_clustering_at_zoom
        As for :func:`plan_map`.

    Returns
    -------
    folium.plugins.DualMap
        Save it with :func:`save_map`.
    """
    tw, vil, hb, rt, st, un = _check_frames(townships, villages, hubs, routes, stops, unassigned)
    left_vil = (
        vil
        if baseline_villages is None
        else _checked(baseline_villages, "baseline_villages", _VILLAGE_COLS, ("Point",))
    )
    left_tw = tw if left_townships is None else _checked_townships(left_townships, "left_townships")
    left_hb = hb if left_hubs is None else _checked_hubs(left_hubs, "left_hubs")
    # one colour scale for both panes: the legend (right map only) reads for the left too
    saved_range = _saved_range(pd.concat([_minutes_saved(tw), _minutes_saved(left_tw)]))
    present = set(rt["scenario"].astype(str))
    for scenario in scenarios:
        if scenario not in present:
            raise InputError(
                f"compare_map: scenario {scenario!r} not in routes",
                f"choose from {', '.join(sorted(present)) or '(no routes)'}",
            )
    dual = folium.plugins.DualMap(location=_centre(tw, precision), tiles=None, control_scale=True)  # type: ignore[no-untyped-call]
    synthetic, full_title = _full_title(title, source_label)
    dual.get_root().title = full_title  # type: ignore[attr-defined]
    summaries = []
    right_legend = saved_range is not None and bool(_minutes_saved(tw).notna().any())
    for side, scenario, side_tw, side_vil, side_hb in (
        (dual.m1, scenarios[0], left_tw, left_vil, left_hb),
        (dual.m2, scenarios[1], tw, vil, hb),
    ):
        # last-mile km alone can rank two plans the wrong way round (a plan with more hubs has
        # shorter vans' routes and longer trunk runs): the line adds the trunk, or says it lacks it
        last_mile = float(rt.loc[rt["scenario"].astype(str) == scenario, "km"].sum())
        if trunk_km is None or scenario not in trunk_km:
            note = " (trunk runs not included)"
        else:
            extra = float(trunk_km[scenario])
            note = f" + trunk {extra:,.0f} km = {last_mile + extra:,.0f} km"
        line = _draw_scenario(side, side_tw, side_vil, side_hb, rt, st, un, scenario,
                              simplify_tolerance,
                              precision, disable_clustering_at_zoom,
                              legend=side is dual.m2, km_note=note,
                              saved_range=saved_range)  # fmt: skip
        summaries.append(f"{'left' if side is dual.m1 else 'right'}: {line}")
        folium.LayerControl(collapsed=True).add_to(side)
        # the same padding in both panes (they are synchronised): the county above the title
        # box (bb19 D8: it hid the southern townships of both) and below the right's legend
        _FitClearOfBoxes(_bounds(side_tw, side_vil, side_hb, precision), title="bottom",
                         legend=right_legend).add_to(side)  # fmt: skip
    # branca legends select the page's first legend box, so only the right map gets one
    _add_title_box(dual, full_title, source_label, synthetic, summaries,
                   position="bottom:52px;left:50%;transform:translateX(-50%)",
                   max_width="min(70%, 760px)")  # fmt: skip
    return dual


def _check_frames(
    townships: Any, villages: Any, hubs: Any, routes: Any, stops: Any, unassigned: Any
) -> tuple[gpd.GeoDataFrame, ...]:
    """Check the six input frames (columns, CRS, geometry types, hub roles)."""
    tw = _checked_townships(townships, "townships")
    vil = _checked(villages, "villages", _VILLAGE_COLS, ("Point",))
    hb = _checked_hubs(hubs, "hubs")
    rt = _checked(routes, "routes", _ROUTE_COLS, ("LineString", "MultiLineString"))
    st = _checked(stops, "stops", _STOP_COLS, ("Point",))
    un = _checked(unassigned, "unassigned", _UNASSIGNED_COLS, ("Point",))
    return tw, vil, hb, rt, st, un


def _checked_townships(frame: Any, what: str) -> gpd.GeoDataFrame:
    tw = _checked(frame, what, _TOWNSHIP_COLS, ("Polygon", "MultiPolygon"))
    if tw.empty:
        raise DataError(f"plan_map: {what} is empty", "pass the county's township polygons")
    return tw


def _checked_hubs(frame: Any, what: str) -> gpd.GeoDataFrame:
    hb = _checked(frame, what, _HUB_COLS, ("Point",))
    bad_roles = sorted(set(hb["role"].astype(str)) - set(_HUB_ROLES))
    if bad_roles:
        raise InputError(
            f"plan_map: {what} have unknown role(s) {', '.join(bad_roles)}",
            f"role must be one of {', '.join(_HUB_ROLES)}",
        )
    return hb


def _minutes_saved(tw: gpd.GeoDataFrame) -> pd.Series:
    """The townships' ``minutes_saved`` as numbers (NaN where missing or without the column)."""
    if "minutes_saved" not in tw.columns:
        return pd.Series(np.nan, index=tw.index)
    saved: pd.Series = pd.to_numeric(tw["minutes_saved"], errors="coerce")
    return saved


def _saved_range(saved: pd.Series) -> tuple[float, float] | None:
    """The colour scale's ends for ``saved`` (widened when flat); ``None`` with no figure."""
    if not saved.notna().any():
        return None
    lo, hi = float(saved.min()), float(saved.max())
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    return lo, hi


def _centre(tw: gpd.GeoDataFrame, precision: int) -> list[float]:
    minx, miny, maxx, maxy = tw.total_bounds
    return [round((miny + maxy) / 2, precision), round((minx + maxx) / 2, precision)]


def _bounds(
    tw: gpd.GeoDataFrame, vil: gpd.GeoDataFrame, hb: gpd.GeoDataFrame, precision: int
) -> list[list[float]]:
    b = np.vstack([tw.total_bounds, *(f.total_bounds for f in (vil, hb) if len(f))])
    return [
        [round(float(b[:, 1].min()), precision), round(float(b[:, 0].min()), precision)],
        [round(float(b[:, 3].max()), precision), round(float(b[:, 2].max()), precision)],
    ]


def _full_title(title: str, source_label: str) -> tuple[bool, str]:
    """Whether the source is synthetic, and the title (flagged "synthetic stand-in" if so)."""
    synthetic = "synthetic" in source_label.lower()
    if synthetic and "synthetic stand-in" not in title.lower():
        return True, f"{title} — synthetic stand-in"
    return synthetic, title


def _draw_scenario(
    m: folium.Map, tw: gpd.GeoDataFrame, vil: gpd.GeoDataFrame, hb: gpd.GeoDataFrame,
    rt: gpd.GeoDataFrame, st: gpd.GeoDataFrame, un: gpd.GeoDataFrame, scenario: str,
    tol: float, precision: int, disable_clustering_at_zoom: int, legend: bool = True,
    km_note: str = "", cold_chain: Mapping[str, Any] | None = None,
    saved_range: tuple[float, float] | None = None,
) -> str:  # fmt: skip
    """Add every layer of one scenario to ``m``; return the one-line summary (HTML).

    The summary's routes and km are the last-mile vehicles' and say so; ``km_note`` follows the
    km (what the trunk adds, or that it is left out). Its cold-chain violations are the served
    orders'; it adds the orders the cold-chain limit left unserved (``binding`` of
    ``unassigned``) and, given ``cold_chain``, the compliance over all perishable orders.
    ``saved_range``: the township colour scale's ends (default: this map's own figures).
    """
    scenarios = sorted(set(rt["scenario"].astype(str)))
    if len(rt) and scenario not in scenarios:
        raise InputError(
            f"plan_map: scenario {scenario!r} not in routes",
            f"choose one of {', '.join(scenarios)}",
        )
    rt = rt[rt["scenario"].astype(str) == scenario]
    st = st[st["scenario"].astype(str) == scenario]
    un = un[un["scenario"].astype(str) == scenario]
    hub_ids = [str(h) for h in hb["id"]]
    hub_name = dict(zip(hub_ids, hb["name"].astype(str), strict=True))
    unknown_depots = sorted(set(rt["depot"].astype(str)) - set(hub_ids))
    if unknown_depots:
        raise InputError(
            f"plan_map: routes start at unknown depot(s) {', '.join(unknown_depots)}",
            "every route depot must be a hub id",
        )
    stray = sorted(set(st["vehicle_id"].astype(str)) - set(rt["vehicle_id"].astype(str)))
    if stray:
        raise InputError(
            f"plan_map: stops of scenario {scenario!r} name vehicle(s) "
            f"{', '.join(stray[:5])} that have no route",
            "pass the routes and stops of the same plan",
        )
    if "facility" in vil.columns:
        unknown = sorted(set(vil["facility"].dropna().astype(str)) - set(hub_ids))
        if unknown:
            raise InputError(
                f"plan_map: villages served by unknown hub(s) {', '.join(unknown)}",
                "villages.facility must be a hub id",
            )

    folium.TileLayer("OpenStreetMap", attr=OSM_ATTRIBUTION, name="OpenStreetMap",
                     control=True).add_to(m)  # fmt: skip
    _add_townships(m, tw, tol, precision, legend, saved_range)
    colours = _colour_of(hub_ids, CATCHMENT_PALETTE)
    if "facility" in vil.columns:
        _add_catchments(m, vil, hb, colours, precision)
    _add_villages(m, vil, colours, hub_name, precision, disable_clustering_at_zoom)
    _add_hubs(m, hb, vil, precision)
    # a stop names its village as the village popups do: name and id (stops.csv has the id)
    names = dict(zip(vil["id"].astype(str), vil["name"].astype(str), strict=True))
    st = st.assign(village=[f"{names[v]} ({v})" if v in names else v
                            for v in st["village"].astype(str)])  # fmt: skip
    _add_routes(m, rt, st, hub_ids, hub_name, tol, precision)
    _add_unassigned(m, un, precision)
    return (
        f"{_esc(scenario)}: {len(rt)} last-mile routes, {_fmt(rt['km'].sum(), ',.0f')} km"
        f"{_esc(km_note)}, {len(un)} unassigned order(s); {_cold_chain_note(st, un, cold_chain)}"
    )


def _cold_chain_note(
    st: gpd.GeoDataFrame, un: gpd.GeoDataFrame, cold_chain: Mapping[str, Any] | None
) -> str:
    """The title box's cold-chain figures, each with the orders it covers: violations among the
    served orders, orders unserved because of the limit, compliance over all perishable orders
    (a centre-only network may violate nothing it serves and still leave half its produce)."""
    violations = int((~st["cold_chain_ok"].astype(bool)).sum())
    note = f"cold chain: {violations} violation(s) among served orders"
    if "binding" in un.columns:
        ruled_out = int((un["binding"].astype(str) == "cold_chain").sum())
        note += f", {ruled_out} order(s) unserved by the cold-chain limit"
    if cold_chain is not None and int(cold_chain.get("perishable_orders", 0)):
        compliant, perishable = int(cold_chain["compliant"]), int(cold_chain["perishable_orders"])
        note += (
            f"; all perishable orders: {compliant}/{perishable} compliant "
            f"({compliant / perishable:.1%}, unserved counted not compliant)"
        )
    return note


def _add_townships(
    m: folium.Map, tw: gpd.GeoDataFrame, tol: float, precision: int, legend: bool = True,
    saved_range: tuple[float, float] | None = None,
) -> None:  # fmt: skip
    saved = _minutes_saved(tw)
    geoms = _prepare(tw.geometry, tol, precision)
    colormap: branca.colormap.LinearColormap | None = None
    scale = saved_range or _saved_range(saved)
    if saved.notna().any() and scale is not None:
        lo, hi = scale
        colormap = branca.colormap.LinearColormap(
            ["#fff7ec", "#fdbb84", "#ef6548", "#990000"], vmin=lo, vmax=hi,
            caption="Access time saved, min (nearest facility, baseline - plan)",
        )  # fmt: skip
        colormap.width = LEGEND_WIDTH_PX
    coloured = saved.notna() & (colormap is not None)
    nothing = pd.Series(None, index=tw.index, dtype=object)
    features = gpd.GeoDataFrame({
        "name": tw["name"].astype(str), "pinyin": tw["pinyin"].astype(str),
        "code": tw["code"].astype(str),
        "saved": [_fmt(v, ".1f", " min") for v in saved],
        "before": [_fmt(v, ".1f", " min") for v in tw.get("mean_min_before", nothing)],
        "after": [_fmt(v, ".1f", " min") for v in tw.get("mean_min_after", nothing)],
        "fill": [colormap(v) if colormap is not None and c else "#cccccc"
                 for v, c in zip(saved, coloured, strict=True)],
        "fillOpacity": np.where(coloured, 0.55, 0.05),
    }, geometry=geoms, crs="EPSG:4326")  # fmt: skip

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        p = feature["properties"]
        return {"color": "#444444", "weight": 1.2, "fillColor": p["fill"],
                "fillOpacity": p["fillOpacity"]}  # fmt: skip

    layer_name = "Townships: minutes saved" if colormap is not None else "Townships"
    group = folium.FeatureGroup(name=layer_name, show=True)
    folium.GeoJson(
        features,
        style_function=style,
        highlight_function=lambda _f: {"weight": 3, "color": "#000000"},
        tooltip=folium.GeoJsonTooltip(
            fields=["name", "pinyin", "code", "saved", "before", "after"],
            aliases=["Township", "Pinyin", "Code", "Minutes saved", "Mean before", "Mean after"],
        ),
    ).add_to(group)
    group.add_to(m)
    if colormap is not None and legend:
        colormap.add_to(m)


def _point_xy(geom: BaseGeometry, precision: int) -> tuple[float, float]:
    return round(float(geom.x), precision), round(float(geom.y), precision)


def _add_catchments(
    m: folium.Map, vil: gpd.GeoDataFrame, hb: gpd.GeoDataFrame, colours: Mapping[str, str],
    precision: int,
) -> None:  # fmt: skip
    hub_xy = {str(h): _point_xy(g, precision) for h, g in zip(hb["id"], hb.geometry, strict=True)}
    hub_name = dict(zip(hb["id"].astype(str), hb["name"].astype(str), strict=True))
    served = vil[vil["facility"].notna()]
    rows = []
    for hub, part in served.groupby(served["facility"].astype(str), sort=True):
        hx, hy = hub_xy[str(hub)]
        lines = [((hx, hy), _point_xy(g, precision)) for g in part.geometry]
        pop = int(pd.to_numeric(part["population"], errors="coerce").fillna(0).sum())
        rows.append({
            "hub": f"{hub_name[str(hub)]} ({hub})", "villages": len(part), "population": pop,
            "colour": colours[str(hub)], "geometry": shapely.MultiLineString(lines),
        })  # fmt: skip
    group = folium.FeatureGroup(name="Hub catchments", show=False)
    group.add_to(m)
    if not rows:  # no village served: an empty layer (folium's tooltip needs a feature)
        return
    folium.GeoJson(
        gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326"),
        style_function=lambda f: {"color": f["properties"]["colour"], "weight": 2, "opacity": 0.9},
        tooltip=folium.GeoJsonTooltip(fields=["hub", "villages", "population"],
                                      aliases=["Hub", "Villages", "Population"]),
    ).add_to(group)  # fmt: skip


_VILLAGE_CALLBACK = """function (row) {
    var marker = L.circleMarker(new L.LatLng(row[0], row[1]), {
        radius: row[2], color: "VILLAGE_OUTLINE", fillColor: row[3], fillOpacity: 0.85,
        weight: 1});
    marker.bindPopup(row[4]);
    marker.bindTooltip(row[5]);
    return marker;
}""".replace("VILLAGE_OUTLINE", VILLAGE_OUTLINE)


def _add_villages(
    m: folium.Map, vil: gpd.GeoDataFrame, colours: Mapping[str, str], hub_name: Mapping[str, str],
    precision: int, disable_clustering_at_zoom: int,
) -> None:  # fmt: skip
    pop = pd.to_numeric(vil["population"], errors="coerce").fillna(0).clip(lower=0)
    top = float(pop.max()) if len(pop) and pop.max() > 0 else 1.0
    has_facility = "facility" in vil.columns
    rows: list[list[Any]] = []
    for (_, v), p in zip(vil.iterrows(), pop, strict=True):
        x, y = _point_xy(v.geometry, precision)
        fac = v["facility"] if has_facility else None
        served = fac is not None and not (isinstance(fac, float) and math.isnan(fac))
        colour = colours.get(str(fac), "#555555") if served else "#555555"
        info = [("Village", _esc(f"{v['name']} ({v['id']})")), ("Township", _esc(v["township"])),
                ("Population", f"{int(p):,}")]  # fmt: skip
        if has_facility:
            info.append(("Served by", _esc(f"{hub_name.get(str(fac), fac)} ({fac})")
                         if served else "—"))  # fmt: skip
        if "minutes_before" in vil.columns:
            info.append(("Access time, centre only", _fmt(v["minutes_before"], ".1f", " min")))
        if "minutes_after" in vil.columns:
            info.append(("Access time, with hubs", _fmt(v["minutes_after"], ".1f", " min")))
        # a missing lead time says why (no parcel, or served in one scenario only)
        note = v.get("lead_note")
        why = note if isinstance(note, str) and note else "—"
        if "lead_min_before" in vil.columns:
            info.append(("Parcel lead time, centre only",
                         _fmt(v["lead_min_before"], ".0f", " min", missing=why)))  # fmt: skip
        if "lead_min_after" in vil.columns:
            info.append(("Parcel lead time, with hubs",
                         _fmt(v["lead_min_after"], ".0f", " min", missing=why)))  # fmt: skip
        radius = round(3.0 + 9.0 * math.sqrt(float(p) / top), 1)
        rows.append([y, x, radius, colour, _table(info), _esc(v["name"])])
    folium.plugins.FastMarkerCluster(  # type: ignore[no-untyped-call]
        rows, callback=_VILLAGE_CALLBACK, name=f"Villages ({len(rows)})",
        disableClusteringAtZoom=disable_clustering_at_zoom, showCoverageOnHover=False,
    ).add_to(m)  # fmt: skip


def _add_hubs(m: folium.Map, hb: gpd.GeoDataFrame, vil: gpd.GeoDataFrame, precision: int) -> None:
    group = folium.FeatureGroup(name=f"Hubs ({len(hb)})", show=True)
    has_facility = "facility" in vil.columns
    pop = pd.to_numeric(vil["population"], errors="coerce").fillna(0)
    for _, h in hb.iterrows():
        centre = str(h["role"]) == "county centre"
        info = [("Hub", _esc(h["name"])), ("Id", _esc(h["id"])),
                ("Township", _esc(h["township"])), ("Role", _esc(h["role"]))]  # fmt: skip
        for col, label in (("trunk_arrival", "Trunk arrives"), ("vans_leave", "Vans leave")):
            if col in hb.columns and str(h[col]):
                info.append((label, _esc(h[col])))
        if has_facility:
            mask = vil["facility"].astype(str) == str(h["id"])
            info += [("Villages served", str(int(mask.sum()))),
                     ("Population served", f"{int(pop[mask].sum()):,}")]  # fmt: skip
        x, y = _point_xy(h.geometry, precision)
        folium.Marker(
            [y, x],
            popup=folium.Popup(_table(info), max_width=320),
            tooltip=f"{'County centre' if centre else 'New hub'}: {_esc(h['name'])}",
            icon=folium.Icon(color="red" if centre else "blue",
                             icon="star" if centre else "warehouse", prefix="fa"),
        ).add_to(group)  # fmt: skip
    group.add_to(m)


def _add_routes(
    m: folium.Map, rt: gpd.GeoDataFrame, st: gpd.GeoDataFrame, hub_ids: Sequence[str],
    hub_name: Mapping[str, str], tol: float, precision: int,
) -> None:  # fmt: skip
    geoms = _prepare(rt.geometry, tol, precision, preserve_topology=False)
    # a row is one trip of a vehicle (multi-trip days): trip 1 where the frames have no trips
    trip_of = (lambda f: f["trip"].astype(int)) if "trip" in rt.columns else (lambda f: 1)
    rt = rt.assign(_geom=geoms, _depot=rt["depot"].astype(str), _veh=rt["vehicle_id"].astype(str),
                   _trip=trip_of(rt))  # fmt: skip
    st = st.assign(_veh=st["vehicle_id"].astype(str),
                   _trip=st["trip"].astype(int) if "trip" in st.columns else 1)  # fmt: skip
    # one colour per vehicle across the whole map, never a catchment's
    colours = _colour_of(rt["_veh"], ROUTE_PALETTE)
    for depot in [h for h in hub_ids if h in set(rt["_depot"])]:
        part = rt[rt["_depot"] == depot]
        group = folium.FeatureGroup(
            name=f"Routes from {_esc(hub_name[depot])} ({depot}): "
                 f"{part['_veh'].nunique()} vehicle(s), {len(part)} trip(s)",
            show=True)  # fmt: skip
        for _, r in part.iterrows():
            vstops = st[(st["_veh"] == r["_veh"]) & (st["_trip"] == r["_trip"])]
            viol = int((~vstops["cold_chain_ok"].astype(bool)).sum())
            label = (f"{_esc(r['vehicle_id'])} trip {r['_trip']} ({_esc(r['vehicle_type'])}): "
                     f"{int(r['n_stops'])} stops, {_fmt(r['km'])} km, "
                     f"{_fmt(r['hours'], '.2f')} h")  # fmt: skip
            info = [
                ("Vehicle", _esc(r["vehicle_id"])),
                ("Trip", str(r["_trip"])),
                ("Type", _esc(r["vehicle_type"])),
                ("Depot", _esc(f"{hub_name[depot]} ({depot})")),
                ("Stops", str(int(r["n_stops"]))),
                ("Distance", _fmt(r["km"], ".1f", " km")),
                ("Duration", _fmt(r["hours"], ".2f", " h")),
                ("Cold chain", "OK" if viol == 0 else f"VIOLATED at {viol} stop(s)"),
            ]
            lines = r["_geom"].geoms if r["_geom"].geom_type == "MultiLineString" else [r["_geom"]]
            locations = [[[y, x] for x, y in line.coords] for line in lines]
            folium.PolyLine(  # type: ignore[no-untyped-call]
                locations if len(locations) > 1 else locations[0],
                color=colours[r["_veh"]], weight=4, opacity=0.85,
                tooltip=label, popup=folium.Popup(_table(info), max_width=320),
            ).add_to(group)  # fmt: skip
        _add_stops(group, st[st["_veh"].isin(set(part["_veh"]))], colours, precision)
        group.add_to(m)


def _add_stops(
    group: folium.FeatureGroup, st: gpd.GeoDataFrame, colours: Mapping[str, str], precision: int
) -> None:
    if st.empty:
        return
    st = st.sort_values(["_veh", "_trip", "seq"])
    ok = st["cold_chain_ok"].astype(bool)
    features = gpd.GeoDataFrame({
        "vehicle": st["vehicle_id"].astype(str), "trip": st["_trip"].astype(int),
        "seq": st["seq"].astype(int),
        "village": st["village"].astype(str), "order": st["order_id"].astype(str),
        "kind": st["kind"].astype(str), "product": st["product_class"].astype(str),
        "arrival": st["arrival"].astype(str),
        "in_vehicle": [_fmt(v, ".0f", " min") for v in st["in_vehicle_min"]],
        "limit": [_fmt(v, ".0f", " min", missing="none") for v in st["limit_min"]],
        "cold_chain": np.where(ok, "OK", "VIOLATED"),
        "colour": [colours[v] if k else VIOLATION_COLOUR for v, k in zip(st["_veh"], ok,
                                                                          strict=True)],
    }, geometry=_prepare(st.geometry, 0.0, precision), crs="EPSG:4326")  # fmt: skip
    fields = ["vehicle", "trip", "seq", "village", "order", "kind", "product", "arrival",
              "in_vehicle", "limit", "cold_chain"]  # fmt: skip
    aliases = ["Vehicle", "Trip", "Stop", "Village", "Order", "Kind", "Product", "Arrival",
               "Time in vehicle", "Limit", "Cold chain"]  # fmt: skip
    folium.GeoJson(
        features,
        marker=folium.CircleMarker(radius=5, weight=2, fill=True, fill_opacity=0.9),
        style_function=lambda f: {"color": f["properties"]["colour"],
                                  "fillColor": "#ffffff" if f["properties"]["cold_chain"] == "OK"
                                  else VIOLATION_COLOUR},
        tooltip=folium.GeoJsonTooltip(fields=["vehicle", "trip", "seq", "village", "arrival",
                                              "cold_chain"],
                                      aliases=["Vehicle", "Trip", "Stop", "Village", "Arrival",
                                               "Cold chain"]),
        popup=folium.GeoJsonPopup(fields=fields, aliases=aliases),
    ).add_to(group)  # fmt: skip


def _add_unassigned(m: folium.Map, un: gpd.GeoDataFrame, precision: int) -> None:
    group = folium.FeatureGroup(name=f"Unassigned orders ({len(un)})", show=True)
    for _, u in un.iterrows():
        info = [("Unassigned order", _esc(u["order_id"])), ("Reason", _esc(u["reason"])),
                *_binding_rows(u)]  # fmt: skip
        x, y = _point_xy(u.geometry, precision)
        folium.Marker(
            [y, x],
            popup=folium.Popup(_table(info), max_width=320),
            tooltip=f"Unassigned: {_esc(u['order_id'])}",
            icon=folium.Icon(color="black", icon="triangle-exclamation", prefix="fa"),
        ).add_to(group)  # fmt: skip
    group.add_to(m)


def _binding_rows(u: pd.Series) -> list[tuple[str, str]]:
    """The limit that rules an order out and the figures against it, and the evidence, as
    ``unassigned.csv`` gives them (what the frame and the order have of them)."""
    binding = u.get("binding")
    rows: list[tuple[str, str]] = []
    if isinstance(binding, str) and binding:
        rows.append(("Binding limit", _esc(binding)))
        limit, best, unit = u.get("limit"), u.get("best"), u.get("unit")
        if pd.notna(limit) and pd.notna(best):
            if unit == "s":  # times read in minutes, as the detail text gives them
                rows.append(
                    ("Limit / best", f"{float(limit) / 60:.1f} / {float(best) / 60:.1f} min")
                )
            else:
                rows.append(("Limit / best", f"{_esc(limit)} / {_esc(best)} {_esc(unit or '')}"))
    # the evidence of every reason, a `search` order's (no binding limit) too
    detail = u.get("detail")
    if isinstance(detail, str) and detail:
        rows.append(("Detail", _esc(detail)))
    return rows


def _add_title_box(
    m: folium.Map | folium.plugins.DualMap,
    title: str,
    source_label: str,
    synthetic: bool,
    summaries: Sequence[str],
    position: str = "top:10px;left:56px",
    max_width: str = "min(42%, 520px)",
    beside_legend: bool = False,
    colour_key: str = COLOUR_KEY,
) -> None:
    """The title box: banner (stand-in), title, one line per scenario, the colour key and the
    data source. ``beside_legend``: the box shares the top of the window with the colour scale
    (top right) and stays narrow enough to leave it room."""
    if beside_legend:
        # left 56 px, padding and border 26 px, the scale and its margins LEGEND_WIDTH_PX + 20
        max_width = f"min(42%, 520px, calc(100% - {56 + 26 + LEGEND_WIDTH_PX + 20 + 10}px))"
    banner = (
        "<div style='color:#b00000;font-weight:bold;font-size:15px'>"
        "SYNTHETIC STAND-IN — not real data</div>"
        if synthetic
        else ""
    )
    box = f"""
<div id="lastmile-title" style="position:fixed;{position};z-index:1000;
 background:rgba(255,255,255,0.92);padding:6px 12px;border:1px solid #888;border-radius:4px;
 font-family:sans-serif;max-width:{max_width};text-align:left">
 {banner}<div style="font-size:16px;font-weight:bold">{_esc(title)}</div>
 {"".join(f'<div style="font-size:12px">{line}</div>' for line in summaries)}
 <div style="font-size:11px;color:#333">{_esc(colour_key)}</div>
 <div style="font-size:11px;color:#333">Data: {_esc(source_label)} ·
 Basemap {OSM_ATTRIBUTION}</div>
</div>
<style>
/* the township colour scale: narrower than branca's default, readable over the map */
.legend.leaflet-control {{background:rgba(255,255,255,0.85);border-radius:4px;}}
.legend.leaflet-control text.caption {{font-size:11px;}}
</style>"""
    m.get_root().html.add_child(folium.Element(box))  # type: ignore[attr-defined]

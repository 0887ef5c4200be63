"""Demand: villages (settlements with population), candidate hub sites, one day of orders.

- Villages come from OSM ``place`` nodes (the same OSM file as the road graph, or an online query),
  or from a user file (CSV with ``id, name, lon, lat[, population]`` or any point layer).
- Candidate hub sites: the ``candidates_per_township`` most populous settlements of each township
  (``[demand]`` in the region file), plus any user-given sites.
- Orders: one modelled day, generated deterministically from the ``[demand]`` profile (parcel
  deliveries to every village, produce/tea pickups from a seeded share of villages), or read from a
  user CSV/GeoJSON.

Every quantity default is an assumption stated in the region file.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import geopandas as gpd
import numpy as np
import osmnx as ox
import pandas as pd
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from lastmile.boundaries import TownshipBoundaries, township_of
from lastmile.config import ColdChainLimits, DemandProfile, Region, parse_clock
from lastmile.errors import DataError, InputError
from lastmile.network import RoadNetwork

#: OSM place values treated as settlements.
SETTLEMENT_PLACES = (
    "city",
    "town",
    "suburb",
    "village",
    "hamlet",
    "isolated_dwelling",
    "neighbourhood",
)

#: Settlements that get routed orders; towns and seats are served at the centre / hub itself.
RURAL_PLACES = ("village", "hamlet", "isolated_dwelling")

#: The ``role`` of a facility (``PlanInputs.facilities``, ``Placement.hubs``): the county centre
#: (exactly one, selected by this role, never by position), a candidate hub site, an opened hub.
CENTRE_ROLE = "county centre"
CANDIDATE_ROLE = "candidate"
HUB_ROLE = "new hub"

#: Columns of an orders FILE (CSV or point layer), in the units people write: ``service_min`` and
#: ``max_in_vehicle_min`` in minutes, ``tw_start`` / ``tw_end`` as ``HH:MM`` (``HH:MM:SS``) or
#: whole minutes from the day's start (:func:`_clock_s`). Only ``id, kind, lon, lat, parcels,
#: kg`` are required; :func:`check_orders` converts once.
ORDER_COLUMNS = (
    "id",
    "kind",
    "village",
    "lon",
    "lat",
    "parcels",
    "kg",
    "product_class",
    "service_min",
    "tw_start",
    "tw_end",
    "max_in_vehicle_min",
    "requires_refrigeration",
)
#: The columns an orders file cannot do without (a point layer gives ``lon`` / ``lat`` itself).
REQUIRED_ORDER_COLUMNS = ("id", "kind", "lon", "lat", "parcels", "kg")
#: The quantity columns: required, every cell a number (0 for none). A missing column or an empty
#: cell read as 0 left a vehicle's capacity never binding without a word (bb21 D7).
QUANTITY_COLUMNS = {
    "parcels": "the number of parcels (a whole number; 0 for a pickup of produce or tea)",
    "kg": "the weight in kg (0 only if the order weighs nothing)",
}
#: Spellings of ``requires_refrigeration`` (case-insensitive, surrounding blanks ignored); an empty
#: cell is ``False``, the default of a missing column.
_TRUE_WORDS = ("true", "yes", "1", "y", "t")
_FALSE_WORDS = ("false", "no", "0", "n", "f")
#: What a readable file of each kind looks like: the "what to do" of an unreadable file.
_FILE_SHAPES: Mapping[str, str] = MappingProxyType(
    {
        "orders": "give a UTF-8 CSV with a header line id,kind,lon,lat,parcels,kg (optional: "
        + ",".join(c for c in ORDER_COLUMNS if c not in REQUIRED_ORDER_COLUMNS)
        + ") and one order per line, or a point layer (GeoJSON, GeoPackage)",
        "villages": "give a UTF-8 CSV with a header line id,name,lon,lat,population and one "
        "village per line, or a point layer (GeoJSON, GeoPackage)",
    }
)

#: The orders table between stages (:func:`check_orders`, :func:`daily_orders` ->
#: :func:`lastmile.plan.prepare` -> :func:`lastmile.plan.plan_routes`): column -> meaning. Times
#: are whole seconds (nullable ``Int64``; empty = none); minutes exist only in the files.
ORDERS_TABLE: Mapping[str, str] = MappingProxyType(
    {
        "id": "unique order id (str)",
        "kind": "'delivery' (centre or hub -> village) or 'pickup' (village -> depot)",
        "village": "village id the order belongs to ('': routed by its lon/lat alone)",
        "lon": "WGS84 longitude, degrees",
        "lat": "WGS84 latitude, degrees",
        "parcels": "parcels (deliveries)",
        "kg": "weight, kg",
        "product_class": "'parcel', 'produce' or 'tea'",
        "service_s": "service time at the village, s",
        "tw_start_s": "earliest start of service, s after the day's start (empty: none)",
        "tw_end_s": "latest start of service, s after the day's start (empty: none)",
        "max_in_vehicle_s": "cold-chain limit on time in vehicle, s (empty: the class default)",
        "requires_refrigeration": "only refrigerated vehicles may carry it (bool)",
    }
)
_SECONDS_COLUMNS = ("service_s", "tw_start_s", "tw_end_s", "max_in_vehicle_s")


def orders_table(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` reduced to the :data:`ORDERS_TABLE` columns, in order, seconds as ``Int64``."""
    out = df[list(ORDERS_TABLE)].reset_index(drop=True)
    return out.astype({c: "Int64" for c in _SECONDS_COLUMNS})


@dataclass(frozen=True)
class Villages:
    """Settlements with population, each in a township.

    ``gdf`` columns: ``id, name, place, population, township, lon, lat, geometry`` (EPSG:4326),
    sorted by id. ``dropped`` lists settlements outside every township (ignored, reported) as
    "name (id)"; ``dropped_ids`` their ids.
    """

    gdf: gpd.GeoDataFrame
    source: str
    dropped: tuple[str, ...] = ()
    dropped_ids: tuple[str, ...] = ()


def _finish(gdf: gpd.GeoDataFrame, townships: TownshipBoundaries, source: str) -> Villages:
    gdf = gdf.copy()
    gdf["township"] = township_of(gdf, townships).to_numpy()
    outside = gdf["township"].isna()
    swapped_into = _township_if_swapped(gdf[outside], townships)
    dropped = tuple(
        f"{r.name} ({r.id})"
        + (
            f": at lon {r.geometry.x:.4f}, lat {r.geometry.y:.4f}; with lon and lat swapped it "
            f"would lie in {swapped_into[r.Index]}: swap them in its row"
            if r.Index in swapped_into
            else ""
        )
        for r in gdf[outside].itertuples()
    )
    dropped_ids = tuple(str(i) for i in gdf.loc[outside, "id"])
    if outside.all():
        _refuse_all_outside(gdf, townships, source)
    gdf = gdf[~outside].copy()
    gdf["lon"] = gdf.geometry.x
    gdf["lat"] = gdf.geometry.y
    gdf = gdf.sort_values("id").reset_index(drop=True)
    cols = ["id", "name", "place", "population", "township", "lon", "lat", "geometry"]
    return Villages(
        gpd.GeoDataFrame(gdf[cols], geometry="geometry", crs="EPSG:4326"),
        source,
        dropped,
        dropped_ids,
    )


def _township_if_swapped(
    points: gpd.GeoDataFrame, townships: TownshipBoundaries
) -> dict[object, str]:
    """For points outside every township: the township ("name (code)") each would lie in with
    its lon and lat exchanged, by the points' index; those that would lie in none are left out.
    One row typed the wrong way round among good ones was only "outside every township"."""
    x, y = points.geometry.x, points.geometry.y
    valid = ((y.abs() <= 180) & (x.abs() <= 90)).to_numpy()
    if not valid.any():
        return {}
    swapped = gpd.GeoDataFrame(
        geometry=gpd.points_from_xy(y[valid], x[valid]), index=points.index[valid], crs="EPSG:4326"
    )
    codes = township_of(swapped, townships, max_distance_m=0.0).dropna()
    names = dict(zip(townships.gdf["code"], townships.gdf["name"], strict=True))
    return {i: f"{names.get(c, c)} ({c})" for i, c in codes.items()}


def _refuse_all_outside(gdf: gpd.GeoDataFrame, townships: TownshipBoundaries, source: str) -> None:
    """DataError for settlements none of which lies in a township: where the points and the
    townships are, and whether lon and lat swapped would put them inside (bb21 D15: "no
    settlement lies inside the townships — check the inputs" said neither)."""
    x, y = gdf.geometry.x, gdf.geometry.y
    west, south, east, north = townships.gdf.to_crs(4326).total_bounds
    where = (
        f"the points span lon {x.min():.4f}..{x.max():.4f}, lat {y.min():.4f}..{y.max():.4f}; "
        f"the townships lon {west:.4f}..{east:.4f}, lat {south:.4f}..{north:.4f}"
    )
    inside = len(_township_if_swapped(gdf, townships))
    if inside:
        raise DataError(
            f"{source}: none of the {len(gdf)} settlements lies inside the townships ({where}); "
            f"with lon and lat swapped, {inside} of them would",
            "the lon and lat columns are exchanged: swap them (lon is east-west, here about "
            f"{(west + east) / 2:.2f}; lat north-south, about {(south + north) / 2:.2f})",
        )
    raise DataError(
        f"{source}: none of the {len(gdf)} settlements lies inside the townships ({where})",
        "give the settlements of this region in WGS84 lon/lat, or the townships that hold them "
        "(--boundaries)",
    )


def id_text(values: pd.Series) -> pd.Series:
    """Ids (village, order) as the user wrote them: text stripped of blanks, a whole number
    as its digits. A GeoJSON reads numeric ids as numbers, and as floats once one is null:
    ``1`` and ``1.0`` are both ``"1"``, so numeric ids match across files. Empty -> ``""``."""

    def one(value: object) -> str:
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return ""
        if isinstance(value, float | np.floating) and float(value).is_integer():
            return str(int(value))
        return str(value).strip()

    return pd.Series([one(v) for v in values], index=values.index, dtype=object)


def _check_population(pop: pd.Series, ids: pd.Series, where: str, fix: str) -> None:
    """InputError for a negative or infinite population: it would become a negative demand
    weight, refused much later by the location model without naming the file. Empty or text
    populations are not errors: they take the region's default population."""
    bad = (pop < 0) | np.isinf(pop)
    if bad.any():
        k = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"{where}: village {str(ids.iloc[k])!r}: population = {pop.iloc[k]:g} is not valid",
            f"{fix} (a number >= 0, or empty for the region's default population)",
        )


def _from_features(feat: gpd.GeoDataFrame, profile: DemandProfile, where: str) -> gpd.GeoDataFrame:
    feat = feat.reset_index()
    feat = feat[feat.geometry.geom_type == "Point"]
    feat = feat[feat["place"].isin(SETTLEMENT_PLACES)]
    pop = pd.to_numeric(
        feat.get("population", pd.Series(index=feat.index, dtype=float)), errors="coerce"
    )
    _check_population(
        pop,
        "osm-" + feat["id"].astype(str),
        where,
        "fix its population tag in the OSM data, or give a villages file with --villages",
    )
    names = feat["name"] if "name" in feat.columns else pd.Series("", index=feat.index)
    return gpd.GeoDataFrame(
        {
            "id": "osm-" + feat["id"].astype(str),
            "name": names.fillna("").astype(str).to_numpy(),
            "place": feat["place"].astype(str).to_numpy(),
            "population": pop.fillna(profile.default_population).round().astype(int).to_numpy(),
        },
        geometry=feat.geometry.to_numpy(),
        crs="EPSG:4326",
    )


def villages_from_osm(
    osm_file: str | Path, region: Region, townships: TownshipBoundaries
) -> Villages:
    """Settlements from the ``place`` nodes of an OSM file (.osm, .osm.bz2, .osm.pbf).

    Read with pyosmium (a tag-filtered pass in C++): osmnx's pure-Python XML parser takes several
    seconds on a county extract.
    """
    import osmium

    path = Path(osm_file)
    try:
        places = osmium.FileProcessor(str(path), osmium.osm.NODE).with_filter(
            osmium.filter.KeyFilter("place")
        )
        nodes = [
            (n.id, n.location.lon, n.location.lat, dict(n.tags))
            for n in places
            if isinstance(n, osmium.osm.Node)
        ]
    except RuntimeError as exc:
        raise InputError(f"{path}: not a readable OSM file ({exc})", "check the file") from exc
    rows = [(i, lon, lat, t) for i, lon, lat, t in nodes if t.get("place") in SETTLEMENT_PLACES]
    if not rows:
        raise DataError(
            f"{path}: no place nodes (villages) in the file", "give a villages file with --villages"
        )
    feat = gpd.GeoDataFrame(
        {
            "element": "node",
            "id": [r[0] for r in rows],
            "place": [r[3]["place"] for r in rows],
            "name": [r[3].get("name", "") for r in rows],
            "population": [r[3].get("population") for r in rows],
        },
        geometry=gpd.points_from_xy([r[1] for r in rows], [r[2] for r in rows]),
        crs="EPSG:4326",
    ).set_index(["element", "id"])
    return _finish(_from_features(feat, region.demand, str(path)), townships, f"osm:{path.name}")


def villages_online(
    region: Region, outline: BaseGeometry, townships: TownshipBoundaries
) -> Villages:
    """Settlements from OSM over the outline, through osmnx (Overpass)."""
    feat = ox.features_from_polygon(outline, tags={"place": list(SETTLEMENT_PLACES)})
    return _finish(_from_features(feat, region.demand, "OSM (Overpass)"), townships, "overpass")


def read_point_file(
    path: str | Path, what: str, dtype: Mapping[str, type]
) -> tuple[Path, pd.DataFrame]:
    """A table of points: a CSV as it is (``dtype`` for its columns; its ``lon`` / ``lat``, if
    any, are checked by the caller), or a point layer (GeoJSON, GeoPackage ...) with its points
    as WGS84 ``lon`` / ``lat`` columns. The one reader of the villages and orders files.

    Raises
    ------
    InputError
        The file is missing, unreadable, or a layer row is not a point.
    DataError
        A layer has no CRS.
    """
    p = Path(path)
    if p.is_dir():
        raise InputError(f"{what} file {p} is a folder", f"give the {what} file in it")
    if not p.is_file():
        raise InputError(f"{what} file {p} does not exist", "check the path")
    shape = _FILE_SHAPES.get(
        what, "give a CSV with lon/lat columns, or a point layer (GeoJSON, GeoPackage)"
    )
    try:
        if p.suffix.lower() == ".csv":
            # hand-typed files put a blank after the commas ("id, kind"): not part of the names
            # or the values (" kind" would be an unknown column, " 09:00" not a time of day)
            table = pd.read_csv(p, dtype=dict(dtype), skipinitialspace=True)
            table.columns = [str(c).strip() for c in table.columns]
            for col in table.columns:
                if not pd.api.types.is_numeric_dtype(table[col]):
                    table[col] = table[col].map(lambda v: v.strip() if isinstance(v, str) else v)
            return p, table
        gdf = gpd.read_file(p)
    except pd.errors.EmptyDataError as exc:
        raise InputError(f"{p}: not a readable {what} file (it is empty)", shape) from exc
    except UnicodeDecodeError as exc:
        # a binary file (or a CSV saved in a legacy code page such as GBK) lands here
        raise InputError(
            f"{p}: not a readable {what} file (not UTF-8 text: byte {exc.object[exc.start]:#04x} "
            f"at offset {exc.start})",
            shape,
        ) from exc
    except Exception as exc:  # pandas ParserError, OSError; pyogrio DataSourceError / others
        # pandas and GDAL messages span lines; the command prints one line per error
        detail = " ".join(str(exc).split())
        raise InputError(
            f"{p}: not a readable {what} file ({type(exc).__name__}: {detail})", shape
        ) from exc
    if gdf.crs is None:
        raise DataError(f"{p}: the file has no CRS", "save it with a CRS (EPSG:4326)")
    gdf = gdf.to_crs(4326)
    geom = gdf.geometry
    bad = geom.isna() | geom.is_empty | (geom.geom_type != "Point")
    if bad.any():
        row = gdf[bad].iloc[0]
        name = row["id"] if "id" in gdf.columns else f"row {int(bad.to_numpy().argmax()) + 1}"
        one = {"villages": "village", "orders": "order"}.get(what, what)
        raise InputError(f"{p}: {one} {name!r} has no valid point", "give one point per row")
    df = pd.DataFrame(gdf.drop(columns=geom.name))
    df["lon"], df["lat"] = geom.x, geom.y
    return p, df


#: Column names that mean a village's population but are not ``population`` (compared in lower
#: case): refused with "rename it to population" (ignored, every village got the default).
_POPULATION_NAMES = ("population", "pop", "人口", "popul", "inhabitants", "residents")


def _check_separator(columns: Iterable[object], where: str) -> None:
    """InputError for a CSV header read as one column holding ``;`` or tabs (Excel in a locale
    with decimal commas saves ``;``-separated "CSV"): every column would be reported missing."""
    names = [str(c) for c in columns]
    if len(names) != 1:
        return
    for sep, called in ((";", "';'"), ("\t", "tabs")):
        if sep in names[0]:
            raise InputError(
                f"{where}: the header is one column {names[0]!r}: the file separates its columns "
                f"with {called}, not commas",
                "save it as comma-separated CSV (Excel: 'CSV UTF-8 (comma delimited)'), "
                "with '.' as the decimal point",
            )


def _rename_hint(missing: Iterable[str], columns: Iterable[object]) -> str:
    """'did you mean' for each missing column that a present one spells in another case or
    nearly ("rename 'ID' to 'id'"); "" when none."""
    names = [str(c) for c in columns]
    lower = {n.strip().lower(): n for n in names}
    pairs = []
    for want in missing:
        close = difflib.get_close_matches(want, list(lower), 1, 0.8)
        if close:
            pairs.append(f"did you mean {want!r}? Rename {lower[close[0]]!r} to {want!r}; ")
    return "".join(pairs)


def _village_population(df: pd.DataFrame, ids: pd.Series, where: str) -> pd.Series:
    """The population column as numbers (NaN = empty cell: the region's default).

    Raises
    ------
    InputError
        No ``population`` column while one is spelt like it (``Population``, ``pop``, ``人口``),
        or a non-empty cell that is not a finite number >= 0 (``5,990``, ``599 人``): either
        would give every such village the default population without a word.
    """
    if "population" not in df.columns:
        for col in df.columns:
            name = str(col).strip().lower()
            if name in _POPULATION_NAMES or difflib.get_close_matches(name, ["population"], 1, 0.8):
                raise InputError(
                    f"{where}: no 'population' column, but a column {str(col)!r}",
                    "did you mean 'population'? Rename it to population (without it every "
                    "village gets the region's default population)",
                )
        return pd.Series(np.nan, index=df.index, dtype=float)
    raw = df["population"]
    pop = pd.to_numeric(raw, errors="coerce")
    given = raw.notna() & raw.astype(str).str.strip().ne("")
    unreadable = given & pop.isna()
    if unreadable.any():
        k = int(np.flatnonzero(unreadable.to_numpy())[0])
        value = str(raw.iloc[k])
        digits = re.sub(r"[^0-9.]", "", value)
        fix = f"write {digits}" if re.fullmatch(r"\d+(\.\d+)?", digits) else "write a number"
        raise InputError(
            f"{where}: village {str(ids.iloc[k])!r}: population = {value!r} is not a number "
            f"({int(unreadable.sum())} such village(s))",
            f"{fix} (digits only, no thousands separator or unit; empty for the region's "
            "default population)",
        )
    _check_population(pop, ids, where, "fix its population column")
    return pop


def _refuse_missing_ids(ids: pd.Series, where: str, what: str) -> None:
    """InputError naming the first data row whose id is empty (``what``: village / order)."""
    no_id = (ids.isna() | ids.astype(str).str.strip().eq("")).to_numpy()
    if no_id.any():
        rows = np.flatnonzero(no_id) + 1
        raise InputError(
            f"{where}: {len(rows)} {what}(s) without an id, first in data row {rows[0]} "
            "(rows counted from 1 below the header)",
            f"give every {what} a unique id",
        )


#: the advice for a point whose lon and lat were typed the wrong way round (:func:`_exchanged`)
_LON_LAT_HINT = (
    "lon and lat look exchanged in its row or feature (lat is beyond 90 degrees, lon would be a "
    "latitude): swap them"
)


def _exchanged(lon: float, lat: float) -> bool:
    """Whether an out-of-range point reads as lon and lat typed the wrong way round: its latitude
    is beyond 90 degrees but a valid longitude, and its longitude a valid latitude."""
    return 90 < abs(lat) <= 180 and abs(lon) <= 90


def villages_from_file(path: str | Path, region: Region, townships: TownshipBoundaries) -> Villages:
    """Settlements from a CSV (``id, name, lon, lat[, population]``) or a point layer."""
    p, df = read_point_file(path, "villages", {"id": str, "population": str})
    if df.empty:
        raise InputError(f"{p}: no villages (the file has no rows)", _FILE_SHAPES["villages"])
    _check_separator(df.columns, str(p))
    missing = sorted({"id", "lon", "lat"} - set(df.columns))
    if missing:
        found = [str(c) for c in df.columns if c not in ("geometry",)]
        raise InputError(
            f"{p}: missing column(s) {missing} (the columns found: {found})",
            f"{_rename_hint(missing, found)}a villages file needs the columns id, lon, lat "
            "(optional: name, population)",
        )
    _refuse_missing_ids(df["id"], str(p), "village")
    lon = pd.to_numeric(df["lon"], errors="coerce")
    lat = pd.to_numeric(df["lat"], errors="coerce")
    bad_xy = ~(lon.between(-180, 180) & lat.between(-90, 90))  # NaN is not between
    if bad_xy.any():
        rows = df[bad_xy]
        row = rows.iloc[0]
        more = ""
        if len(rows) > 1:
            listed = ", ".join(repr(str(i)) for i in rows["id"].iloc[1:6])
            more = f" (and {len(rows) - 1} more: {listed}{', ...' if len(rows) > 6 else ''})"
        raise InputError(
            f"{p}: village {row['id']!r} has no valid lon/lat ({row['lon']}, {row['lat']}){more}",
            _LON_LAT_HINT
            if _exchanged(float(lon[bad_xy].iloc[0]), float(lat[bad_xy].iloc[0]))
            else "give WGS84 longitude and latitude in degrees",
        )
    gdf = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(lon, lat), crs=4326)
    if "id" not in gdf.columns:
        raise InputError(f"{p}: no 'id' column", "give each village a stable id")
    ids = id_text(gdf["id"])
    dupes = sorted(set(ids[ids.duplicated()]))
    if dupes:
        raise InputError(f"{p}: duplicate village ids {dupes[:5]}", "make ids unique")
    bad = ~gdf.geometry.is_valid | gdf.geometry.is_empty | (gdf.geometry.geom_type != "Point")
    if bad.any():
        raise InputError(f"{p}: village {ids[bad].iloc[0]!r} has no valid point", "fix its lon/lat")
    pop = _village_population(gdf, ids, str(p))
    out = gpd.GeoDataFrame(
        {
            "id": ids.to_numpy(),
            "name": gdf.get("name", ids).astype(str).to_numpy(),
            "place": "village",
            "population": pop.fillna(region.demand.default_population)
            .round()
            .astype(int)
            .to_numpy(),
        },
        geometry=gdf.geometry.to_numpy(),
        crs="EPSG:4326",
    )
    return _finish(out, townships, str(p))


def candidate_sites(
    villages: Villages, region: Region, per_township: int | None = None
) -> gpd.GeoDataFrame:
    """Candidate hub sites: the most populous settlements of each township.

    The county centre is not a candidate: it is open already. Columns as :class:`Villages`.
    """
    k = per_township or region.demand.candidates_per_township
    gdf = villages.gdf.sort_values(["township", "population", "id"], ascending=[True, False, True])
    picked = gdf.groupby("township", sort=True).head(k)
    return picked.sort_values("id").reset_index(drop=True)


#: Road classes whose junctions are candidate hub sites (a hub wants a main-road junction).
MAIN_ROADS = ("motorway", "trunk", "primary", "secondary", "tertiary")


def junction_sites(
    network: RoadNetwork, townships: TownshipBoundaries, per_township: int
) -> gpd.GeoDataFrame:
    """Candidate hub sites on the road graph: each township's busiest main-road junctions.

    A node's score is the number of main-road edges (``MAIN_ROADS``) meeting there; nodes with at
    least three are junctions. The ``per_township`` best of each township are returned (ties by
    node id), with the columns of :class:`Villages` (``place = "junction"``, population 0).
    """
    cols = ["id", "name", "place", "population", "township", "lon", "lat", "geometry"]
    if per_township <= 0:
        return gpd.GeoDataFrame(columns=cols, geometry="geometry", crs="EPSG:4326")
    main = np.isin(
        np.asarray(network.highway_classes, dtype=object)[network.edge_highway], MAIN_ROADS
    )
    score = np.bincount(network.edge_u[main], minlength=network.n_nodes) + np.bincount(
        network.edge_v[main], minlength=network.n_nodes
    )
    nodes = np.flatnonzero(score >= 3)
    pts = gpd.GeoDataFrame(
        {"node": nodes, "score": score[nodes]},
        geometry=gpd.points_from_xy(network.node_lon[nodes], network.node_lat[nodes]),
        crs="EPSG:4326",
    )
    pts["township"] = township_of(pts, townships, max_distance_m=0.0).to_numpy()
    pts = pts[pts["township"].notna()]
    pts["osmid"] = network.node_osmid[pts["node"].to_numpy()]
    pts = pts.sort_values(["township", "score", "osmid"], ascending=[True, False, True])
    best = pts.groupby("township", sort=True).head(per_township)
    return gpd.GeoDataFrame(
        {
            "id": [f"junction-{o}" for o in best["osmid"]],
            "name": [f"road junction {o}" for o in best["osmid"]],
            "place": "junction",
            "population": 0,
            "township": best["township"].astype(str).to_numpy(),
            "lon": best.geometry.x.to_numpy(),
            "lat": best.geometry.y.to_numpy(),
        },
        geometry=best.geometry.to_numpy(),
        crs="EPSG:4326",
    )[cols].reset_index(drop=True)


def county_centre_frame(region: Region) -> gpd.GeoDataFrame:
    """The existing county logistics centre as a one-row GeoDataFrame."""
    c = region.county_centre
    return gpd.GeoDataFrame(
        {
            "id": [c.id],
            "role": [CENTRE_ROLE],
            "name": [c.name],
            "place": ["depot"],
            "population": [0],
            "township": [c.township],
            "lon": [c.lon],
            "lat": [c.lat],
        },
        geometry=[Point(c.lon, c.lat)],
        crs="EPSG:4326",
    )


# --------------------------------------------------------------------------- orders


#: The smallest produce pickup a generated day holds (kg): a van does not call for less
#: (assumption; applies only when ``produce_kg_per_resident`` > 0).
MIN_PICKUP_KG = 10


def daily_orders(villages: Villages, region: Region, *, seed: int | None = None) -> pd.DataFrame:
    """One modelled day of orders from the ``[demand]`` profile (deterministic for a seed).

    Each rural settlement (:data:`RURAL_PLACES`) gets one parcel delivery (parcels = population x
    rate, at least 1: a settlement on the list orders something); a seeded share of them gets one
    produce pickup (kg = population x rate, at least :data:`MIN_PICKUP_KG`), tea leaves or fresh
    produce. A rate of 0 means none (no deliveries, or no pickups; bb25 D2: a zero rate gave
    every village its 1 parcel). Loads larger than the smallest vehicle are split.
    Cold-chain limits come from ``[cold_chain]``. Columns: :data:`ORDERS_TABLE` (seconds).
    """
    prof = region.demand
    limits: ColdChainLimits = region.cold_chain
    rng = np.random.default_rng(prof.seed if seed is None else seed)
    rows: list[dict[str, object]] = []
    v = villages.gdf[villages.gdf["place"].isin(RURAL_PLACES)]
    # a village's day of parcels or produce larger than a vehicle load is split into loads
    max_parcels = min(
        min(f.capacity["parcels"] for f in region.fleet),
        int(min(f.capacity["kg"] for f in region.fleet) // max(prof.parcel_kg, 1e-9)),
    )
    max_kg = min(f.capacity["kg"] for f in region.fleet)

    def add(prefix: str, r: Any, total: int, most: int, **fields: Any) -> None:
        """One order per vehicle load of ``total`` (parcels or kg), ids ``P-v``, ``P-v-2`` ..."""
        parts = _split(total, most)
        for part, n in enumerate(parts):
            oid = f"{prefix}-{r.id}" + (f"-{part + 1}" if len(parts) > 1 else "")
            rows.append(
                {
                    "id": oid,
                    "village": r.id,
                    "lon": r.lon,
                    "lat": r.lat,
                    "tw_start_s": None,
                    "tw_end_s": None,
                    **{k: (v(n) if callable(v) else v) for k, v in fields.items()},
                }
            )

    for r in v.itertuples() if prof.parcels_per_resident_per_day > 0 else ():
        parcels = max(1, round(r.population * prof.parcels_per_resident_per_day))
        add(
            "D",
            r,
            parcels,
            max_parcels,
            kind="delivery",
            parcels=lambda n: n,
            kg=lambda n: round(n * prof.parcel_kg),
            product_class="parcel",
            service_s=prof.service_s_delivery,
            max_in_vehicle_s=limits.parcel_s,
            requires_refrigeration=False,
        )
    pickup = rng.random(len(v)) < prof.produce_pickup_share
    tea = rng.random(len(v)) < prof.tea_share_of_pickups
    for r, is_pickup, is_tea in zip(v.itertuples(), pickup, tea, strict=True):
        if not is_pickup or prof.produce_kg_per_resident <= 0:
            continue
        cls = "tea" if is_tea else "produce"
        kg = max(MIN_PICKUP_KG, round(r.population * prof.produce_kg_per_resident))
        reefer = prof.tea_requires_refrigeration if is_tea else prof.produce_requires_refrigeration
        add(
            "P",
            r,
            kg,
            max_kg,
            kind="pickup",
            parcels=0,
            kg=lambda n: n,
            product_class=cls,
            service_s=prof.service_s_pickup,
            max_in_vehicle_s=limits.for_class(cls),
            requires_refrigeration=reefer,
        )
    return orders_table(pd.DataFrame(rows, columns=list(ORDERS_TABLE)))


def _split(total: int, most: int) -> list[int]:
    """Split ``total`` into near-equal parts of at most ``most``."""
    parts = max(1, -(-total // max(most, 1)))
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def _clock_s(value: object, where: str, column: str) -> int | None:
    """A time-window bound of an orders file -> seconds after midnight, or ``None`` (empty).

    Accepted: ``HH:MM`` or ``HH:MM:SS`` from 00:00 to 24:00, or minutes after midnight as a whole
    number from 0 to 1440. Refused as ambiguous (bb21 D12): a time of day written with a dot or
    a comma (``07.30``, the Finnish and German way), which read as minutes gave 00:07, and a
    number with a leading zero (``0730``, ``07``), a clock time without its colon, which read as
    minutes gave 12:10.
    """
    if value is None or (isinstance(value, float) and np.isnan(value)) or value == "":
        return None
    text = str(value).strip()
    cell = f"{where}: {column} = {text!r}"
    if "：" in text:  # typed with a Chinese input method
        raise InputError(
            f"{cell} has a full-width colon '：'",
            f"write it with the ASCII colon ':' ({text.replace('：', ':')})",
        )
    if ":" in text:
        try:
            return parse_clock(text)
        except ValueError:
            raise InputError(f"{cell} is not a time of day", _TIME_OF_DAY) from None
    if isinstance(value, str):
        clock = re.fullmatch(r"(\d{1,2})[.,](\d{1,2})", text)
        if clock:
            hh, mm = clock.groups()
            # 07.30 is 07:30; 7.5 may be 07:50 or 7½ hours: no guess
            hhmm = f"{int(hh):02d}:{mm}" if len(mm) == 2 and int(mm) < 60 else ""
            raise InputError(
                f"{cell} is ambiguous: a time of day written with {text[len(hh)]!r}"
                f"{f' ({hhmm}?)' if hhmm else ''} or a fraction of a minute",
                (f"write the time of day as {hhmm}; " if hhmm else "") + _TIME_OF_DAY,
            )
        if re.fullmatch(r"0\d+", text):
            hhmm = f"{text[:2]}:{text[2:]}" if len(text) == 4 else ""
            raise InputError(
                f"{cell} is ambiguous: a number with a leading zero reads as a time of day "
                f"without its colon{f' ({hhmm}?)' if hhmm else ''} or as minutes",
                (f"write the time of day as {hhmm}; " if hhmm else "") + _TIME_OF_DAY,
            )
    minutes = _number(value)
    if np.isnan(minutes):
        raise InputError(f"{cell} is not a time of day", _TIME_OF_DAY)
    if not (np.isfinite(minutes) and 0 <= minutes <= 24 * 60):
        raise InputError(
            f"{cell} is not a time of day ({text} min is not from 0 to 1440)", _TIME_OF_DAY
        )
    if not float(minutes).is_integer():
        raise InputError(f"{cell} is not a whole number of minutes", _TIME_OF_DAY)
    return round(minutes * 60)


_TIME_OF_DAY = (
    "use HH:MM (or HH:MM:SS) from 00:00 to 24:00, or minutes after midnight as a whole number "
    "from 0 to 1440 without leading zeros"
)


def _is_empty(value: object) -> bool:
    """Whether a table cell is empty: NaN or ``None`` as a CSV or a layer reads it, or blank."""
    if value is None or value is pd.NA:
        return True
    if isinstance(value, float):
        return bool(np.isnan(value))
    return isinstance(value, str) and not value.strip()


def _number(value: object) -> float:
    """A table cell as a float; NaN when it is empty or not a number."""
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")


def _flag(value: object, where: str) -> bool:
    """A ``requires_refrigeration`` cell as a bool; empty is ``False`` (the column's default).

    Strict, because ``bool("no")`` is ``True``: a word the table does not know is refused rather
    than guessed.
    """
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return False
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float, np.integer, np.floating)) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in ("", *_FALSE_WORDS):
        return False
    if text in _TRUE_WORDS:
        return True
    raise InputError(
        f"{where}: requires_refrigeration = {value!r} is not a yes/no value",
        "use true/false, yes/no, 1/0, y/n or t/f (any case), or leave it empty for false",
    )


def _check_columns(df: pd.DataFrame, where: str) -> None:
    """InputError for a misspelt or a missing column of an orders table.

    A column that is not in :data:`ORDER_COLUMNS` but is a close match to one the table lacks
    (``tw_strat`` for ``tw_start``, ``Kind`` for ``kind``) is refused: ignored, it would drop the
    time windows or quantities without a word. Other extra columns (notes, names) are ignored.
    """
    _check_separator(df.columns, where)
    absent = [c for c in ORDER_COLUMNS if c not in df.columns]
    for col in df.columns:
        if col in ORDER_COLUMNS:
            continue
        name = str(col).strip().lower()
        close = [name] if name in absent else difflib.get_close_matches(name, absent, 1, 0.8)
        if close:
            hint = f"did you mean {close[0]!r}? Rename the column to {close[0]!r}"
            if col in _SECONDS_COLUMNS:
                # the orders table (seconds) written out and read back as an orders file
                hint += "; orders files give times in minutes (tw_start / tw_end also HH:MM)"
            raise InputError(f"unknown column {str(col)!r} in {where}", hint)
    missing = [c for c in REQUIRED_ORDER_COLUMNS if c not in df.columns]
    if missing:
        optional = [c for c in ORDER_COLUMNS if c not in REQUIRED_ORDER_COLUMNS]
        quantities = [c for c in missing if c in QUANTITY_COLUMNS]
        why = (
            f"; every order needs {' and '.join(QUANTITY_COLUMNS[c] for c in quantities)}: "
            "a missing quantity is not read as 0"
            if quantities
            else ""
        )
        raise InputError(
            f"{where}: missing required column(s) {missing} (the columns found: "
            f"{[str(c) for c in df.columns]}){why}",
            f"an orders file needs the columns {', '.join(REQUIRED_ORDER_COLUMNS)} (a header "
            f"line); optional columns: {', '.join(optional)}",
        )


def check_orders(df: pd.DataFrame, where: str) -> pd.DataFrame:
    """Validate an orders table in file units (:data:`ORDER_COLUMNS`).

    Converted once, here: ``service_min`` and ``max_in_vehicle_min`` (minutes), ``tw_start`` /
    ``tw_end`` (``HH:MM``, ``HH:MM:SS`` or whole minutes from the day's start; empty: no bound) and
    ``requires_refrigeration`` (true/false, yes/no, 1/0, y/n, t/f in any case; empty: false).
    Only :data:`REQUIRED_ORDER_COLUMNS` must be present; a column outside :data:`ORDER_COLUMNS`
    is ignored unless it looks like a misspelt missing one (``tw_strat``), which is refused.

    Parameters
    ----------
    df
        The orders, one row per order, as read from the file.
    where
        The file (or other source) named in every message.

    Returns
    -------
    pandas.DataFrame
        The :data:`ORDERS_TABLE` (whole seconds).

    Raises
    ------
    InputError
        A misspelt or missing column, an empty or duplicate id, or a bad value; every message
        names ``where`` and the order id (or the row of an order without an id).
    """
    _check_columns(df, where)
    _refuse_missing_ids(df["id"], where, "order")
    df = df.copy()
    for col, default in (
        ("product_class", "parcel"),
        ("service_min", 5),
        ("tw_start", None),
        ("tw_end", None),
        ("max_in_vehicle_min", None),
        ("requires_refrigeration", False),
        ("village", ""),
    ):
        if col not in df.columns:
            df[col] = default
    for col, default in (("product_class", "parcel"), ("service_min", 5)):
        # an empty cell takes the column's default, as a missing column does (README)
        df[col] = [default if _is_empty(v) else v for v in df[col]]
    df["id"] = id_text(df["id"])
    # an empty cell is read as NaN (CSV) or None (GeoJSON): both are "no village", written ""
    df["village"] = id_text(df["village"])
    dupes = sorted(set(df["id"][df["id"].duplicated()]))
    if dupes:
        raise InputError(f"{where}: duplicate order ids {dupes[:5]}", "make order ids unique")
    seconds: dict[str, list[int | None]] = {c: [] for c in _SECONDS_COLUMNS}
    flags: list[bool] = []
    for row in df.to_dict("records"):
        w = f"{where}, order {row['id']}"
        if row["kind"] not in ("delivery", "pickup"):
            raise InputError(f"{w}: kind {row['kind']!r} unknown", "use 'delivery' or 'pickup'")
        for col, what in QUANTITY_COLUMNS.items():
            if _is_empty(row[col]):
                raise InputError(
                    f"{w}: the {col} cell is empty (an empty cell is not read as 0)",
                    f"give {what}",
                )
        for col in ("lon", "lat", "parcels", "kg", "service_min"):
            value = _number(row[col])
            if not np.isfinite(value) or (col not in ("lon", "lat") and value < 0):
                raise InputError(
                    f"{w}: {col} = {row[col]!r} is not a valid number",
                    "give a finite number" + ("" if col in ("lon", "lat") else " >= 0"),
                )
        if not float(_number(row["parcels"])).is_integer():
            raise InputError(
                f"{w}: parcels = {row['parcels']!r} is not a whole number",
                "give whole parcels (the weight goes in kg)",
            )
        if not (-180 <= _number(row["lon"]) <= 180 and -90 <= _number(row["lat"]) <= 90):
            lon = pd.to_numeric(df["lon"], errors="coerce")
            lat = pd.to_numeric(df["lat"], errors="coerce")
            bad = df.loc[~(lon.between(-180, 180) & lat.between(-90, 90)), "id"]
            others = [str(i) for i in bad if i != row["id"]]
            more = (
                f" (and {len(others)} more: {', '.join(map(repr, others[:5]))}"
                f"{', ...' if len(others) > 5 else ''})"
                if others
                else ""
            )
            raise InputError(
                f"{w}: lon/lat ({row['lon']}, {row['lat']}) out of range{more}",
                _LON_LAT_HINT
                if _exchanged(_number(row["lon"]), _number(row["lat"]))
                else "give WGS84 longitude and latitude in degrees",
            )
        if row["product_class"] not in ("parcel", "produce", "tea"):
            raise InputError(
                f"{w}: product_class {row['product_class']!r} unknown", "use parcel, produce or tea"
            )
        start = _clock_s(row["tw_start"], w, "tw_start")
        end = _clock_s(row["tw_end"], w, "tw_end")
        if start is not None and end is not None and end < start:
            raise InputError(
                f"{w}: time window ends before it starts ({row['tw_start']} .. {row['tw_end']})",
                "swap tw_start and tw_end, or leave them empty",
            )
        limit = _number(row["max_in_vehicle_min"])
        if np.isfinite(limit) and limit <= 0:
            raise InputError(
                f"{w}: max_in_vehicle_min must be positive",
                "give minutes > 0, or leave it empty for the product's default",
            )
        flags.append(_flag(row["requires_refrigeration"], w))
        seconds["service_s"].append(round(_number(row["service_min"]) * 60))
        seconds["tw_start_s"].append(start)
        seconds["tw_end_s"].append(end)
        seconds["max_in_vehicle_s"].append(round(limit * 60) if np.isfinite(limit) else None)
    for col, values in seconds.items():
        df[col] = pd.Series([pd.NA if v is None else v for v in values], index=df.index,
                            dtype="Int64")  # fmt: skip
    df["requires_refrigeration"] = pd.Series(flags, index=df.index, dtype=bool)
    return orders_table(df)


def with_cold_chain_limits(orders: pd.DataFrame, limits: ColdChainLimits) -> pd.DataFrame:
    """Orders whose ``max_in_vehicle_s`` is empty get the ``[cold_chain]`` limit of their class.

    A limit given in the orders file wins; generated orders carry the limits already.
    """
    default = orders["product_class"].map(lambda c: limits.for_class(str(c)))
    return orders.assign(max_in_vehicle_s=orders["max_in_vehicle_s"].fillna(default))


#: An order naming a village must lie within this distance of it (metres, great circle): its
#: parcels count in that village's weight and its lead time in that village's township, while it is
#: routed at its own lon/lat. Farther, the village or the point is wrong (README, orders files).
ORDER_VILLAGE_MAX_M = 5_000.0


def _great_circle_m(lon1: Any, lat1: Any, lon2: Any, lat2: Any) -> Any:
    """Haversine distance in metres between WGS84 points (arrays or scalars, degrees)."""
    lon1, lat1, lon2, lat2 = (
        np.radians(np.asarray(x, dtype=float)) for x in (lon1, lat1, lon2, lat2)
    )
    h = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6_371_008.8 * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def check_order_villages(
    orders: pd.DataFrame,
    villages: pd.DataFrame,
    where: str,
    *,
    left_out: Iterable[str] = (),
    villages_source: str = "the villages table",
) -> None:
    """InputError when an order names a village that is not among ``villages`` (one of
    ``left_out``, the villages of ``villages_source`` outside every township, is named as such),
    or lies more than :data:`ORDER_VILLAGE_MAX_M` from the village it names.

    An order's ``village`` links it to the village table (its parcels count in the village's
    weight, its lead time in the village's township); an empty ``village`` leaves the order
    routed by its lon/lat alone. ``villages`` has the columns ``id``, ``lon``, ``lat``.
    """
    places = villages.assign(id=id_text(villages["id"])).drop_duplicates("id").set_index("id")
    known = set(places.index)
    named = id_text(orders["village"])
    unknown = orders[(named != "") & ~named.isin(known)]
    outside = unknown[named[unknown.index].isin({str(v) for v in left_out})]
    if len(outside):
        first = outside.iloc[0]
        raise InputError(
            f"{where}: {len(outside)} order(s) name a village that lies outside every township "
            f"and was left out, first order {first['id']}: village {named[outside.index[0]]!r} "
            f"({villages_source})",
            "fix the village's lon/lat in the villages file, or leave the order's village empty "
            "to route the order by its lon/lat",
        )
    if len(unknown):
        first = unknown.iloc[0]
        raise InputError(
            f"{where}: {len(unknown)} order(s) name a village that is not among the "
            f"{len(known)} villages, first order {first['id']}: village "
            f"{named[unknown.index[0]]!r}",
            "use the village ids of the villages table (--villages), or leave village empty to "
            "route the order by its lon/lat",
        )
    linked = named != ""
    if not linked.any():
        return
    at = places.loc[list(named[linked])]
    apart = _great_circle_m(
        orders.loc[linked, "lon"], orders.loc[linked, "lat"], at["lon"], at["lat"]
    )
    far = np.flatnonzero(apart > ORDER_VILLAGE_MAX_M)
    if len(far):
        k = int(far[0])
        order = orders[linked].iloc[k]
        village = at.iloc[k]
        raise InputError(
            f"{where}: {len(far)} order(s) lie more than {ORDER_VILLAGE_MAX_M / 1000:g} km from "
            f"the village they name, first order {order['id']}: its lon/lat ({order['lon']}, "
            f"{order['lat']}) is {apart[k] / 1000:.1f} km from village {at.index[k]} "
            f"({village['lon']:.6f}, {village['lat']:.6f})",
            "fix lon/lat or village, or leave village empty to route the order by its lon/lat "
            "alone",
        )


def read_orders(path: str | Path) -> pd.DataFrame:
    """Orders from a CSV or a point layer (GeoJSON/GeoPackage) with the :data:`ORDER_COLUMNS`
    (minutes), as the :data:`ORDERS_TABLE` (seconds)."""
    # time windows as typed: read as numbers, 07.30 became 7.3 and 0730 became 730 (bb21 D12)
    p, df = read_point_file(
        path, "orders", {"id": str, "village": str, "tw_start": str, "tw_end": str}
    )
    if df.empty:
        raise InputError(f"{p}: no orders (the file has no rows)", _FILE_SHAPES["orders"])
    return check_orders(df, str(p))

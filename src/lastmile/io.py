"""Writing outputs: atomic file writes, exports, the run manifest.

Every file lastmile writes goes through :func:`atomic_path`: the content is written to a temporary
file in the same directory and renamed over the target only when complete, so an interrupted run
leaves either the old file or the new one, never a half-written file.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import json
import os
import re
import shutil
import socket
import tempfile
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from lastmile.errors import LastmileWarning, OutputError


def _write_failed(what: Path, exc: OSError) -> OutputError:
    reason = exc.strerror or str(exc)
    if exc.errno == errno.ENOSPC:
        hint = "free some space on that disk, or write to another folder"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        hint = "make the folder writable, or write to another folder"
    else:
        hint = "pick a writable folder"
    return OutputError(f"cannot write {what}: {reason}", hint)


@contextlib.contextmanager
def atomic_path(target: str | Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` on success.

    On any exception the temporary file is removed and ``target`` is left untouched. An
    :class:`OSError` while creating, writing or renaming (read-only folder, disk full) becomes an
    :class:`~lastmile.errors.OutputError` naming ``target``.
    """
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"cannot create directory {target.parent}: {exc.strerror or exc}",
            "pick a writable path",
        ) from exc
    try:
        fd, tmp = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=suffix or target.suffix or ".tmp"
        )
    except OSError as exc:
        raise _write_failed(target, exc) from exc
    os.close(fd)
    tmp_path = Path(tmp)
    tmp_path.unlink()  # let writers that refuse existing files (GDAL) create it themselves
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    except OSError as exc:
        raise _write_failed(target, exc) from exc
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def check_output_dir(target: str | Path) -> Path:
    """Refuse an output folder that :func:`atomic_dir` would not replace; return it as a Path.

    Call it before a long computation so that a wrong ``--out`` fails at once. A symbolic link
    stands for the folder it points to (:func:`_through_link`), which is returned.
    """
    target = _through_link(Path(target))
    if target.exists() and not target.is_dir():
        raise OutputError(f"output folder {target} is a file", "give a folder path (--out DIR)")
    here = Path.cwd()
    if Path(os.path.abspath(target)) in (here, *here.parents):
        raise OutputError(
            f"output folder {target} is the current folder or holds it",
            "give a sub-folder, e.g. --out out/plan (the output folder is replaced as a whole)",
        )
    if target.is_dir() and any(target.iterdir()) and not (target / "manifest.json").is_file():
        raise OutputError(
            f"output folder {target} holds files that are not a lastmile output (no manifest.json)",
            "give a new or empty folder; lastmile replaces only its own previous outputs",
        )
    _refuse_foreign_files(target)
    if target.is_dir() and os.path.ismount(target):
        raise OutputError(
            f"output folder {target} is a mount point, which cannot be replaced",
            "give a folder inside it, e.g. --out " + str(target / "plan"),
        )
    if target.is_dir():  # replaced by renaming: an immutable folder must fail now
        # under the lock of the swaps: a run starting beside another (the same --out) found the
        # folder gone while the other probed it, or could not rename its probe back after the
        # other swapped its output in (a flaky test_two_plan_runs_into_the_same_folder)
        with _locked(target.parent):
            if target.is_dir():
                probe = target.parent / f".{target.name}.probe-{os.getpid()}"
                try:
                    os.rename(target, probe)
                except OSError as exc:
                    raise _write_failed(target, exc) from exc
                os.rename(probe, target)
    # the outputs are staged beside the target: a folder that cannot be written there must fail
    # now, not after the run (probed by creating and removing a hidden folder)
    existing = Path(os.path.abspath(target)).parent
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(
            f"output folder {target} lies under {existing}, which is a file",
            "give a folder path (--out DIR)",
        )
    try:
        os.rmdir(tempfile.mkdtemp(dir=existing, prefix=".lastmile-probe-"))
    except OSError as exc:
        raise _write_failed(target, exc) from exc
    return target


def _through_link(target: Path) -> Path:
    """``target``, or the folder a symbolic link ``target`` points to (however many links deep).

    An output folder kept elsewhere (a bigger disk) through a link is replaced there and the
    link stays (bb20 D9: the link was replaced by a real folder beside it, and the folder it
    pointed to kept the previous outputs). A link that leads to itself is refused.
    """
    if not target.is_symlink():
        return target
    resolved = Path(os.path.realpath(target))
    if resolved.is_symlink():
        raise OutputError(
            f"output folder {target} is a symbolic link that leads back to itself",
            "give a folder path (--out DIR), or a link to a folder",
        )
    return resolved


#: the list of the files a lastmile output folder holds, written beside them by
#: :func:`atomic_dir`: a later run replaces the folder only if it holds nothing else
OUTPUT_INDEX = ".lastmile-files"


def _files_under(folder: Path) -> set[str]:
    """The files under ``folder`` (POSIX paths relative to it), and each empty folder as
    ``NAME/``: a folder the user made there is theirs too (bb20 D7: an empty one was deleted
    with the previous output, one holding a file refused)."""
    found = set()
    for p in folder.rglob("*"):
        if p.is_dir() and not p.is_symlink():
            if not any(p.iterdir()):
                found.add(p.relative_to(folder).as_posix() + "/")
        elif p.name != OUTPUT_INDEX:
            found.add(p.relative_to(folder).as_posix())
    return found


#: the files an output folder written before :data:`OUTPUT_INDEX` may hold: tables, reports,
#: GeoPackage / GeoJSON, maps and plots at its top or in maps/ and plots/ (a user's own file of
#: such a name cannot be told apart there; folders with the index can)
_LEGACY_OUTPUT = re.compile(
    r"[^/]+\.(csv|json|md|gpkg|geojson|png|html)|(maps|plots)/[^/]+\.(html|png)"
)


def _refuse_foreign_files(target: Path) -> None:
    """Refuse a previous output folder that holds files lastmile did not write there (notes, an
    analysis folder): replacing the folder as a whole would delete them."""
    index = target / OUTPUT_INDEX
    if index.is_file():
        ours = set(index.read_text(encoding="utf-8").splitlines())
        foreign = sorted(_files_under(target) - ours)
    elif (target / "manifest.json").is_file():  # written before the index: by the names it has
        foreign = sorted(f for f in _files_under(target) if not _LEGACY_OUTPUT.fullmatch(f))
    else:
        return
    if foreign:
        shown = ", ".join(foreign[:3]) + (
            f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
        )
        raise OutputError(
            f"output folder {target} holds files lastmile did not write: {shown}",
            "move them out, or give another folder; lastmile replaces its previous output "
            "folder as a whole",
        )


def _umask() -> int:
    """The process's umask (read by setting it, then restoring it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_dir(target: str | Path) -> Iterator[Path]:
    """Yield an empty staging folder beside ``target``; swap it in as ``target`` on success.

    A folder of outputs is then either complete or absent: an interrupted or failed run leaves
    ``target`` as it was (a previous complete output stays), and two runs writing the same
    ``target`` leave the complete output of one of them. An existing ``target`` is replaced only
    if it holds a previous output (``manifest.json``) or nothing; a file, or a folder holding
    other files, is refused so that nothing the user wrote is lost. A symbolic link ``target``
    keeps pointing to its folder, whose contents are replaced in the same way. A previous output
    that cannot be deleted completely is left in a hidden ``.NAME.old-*`` folder beside it, with
    a :class:`~lastmile.errors.LastmileWarning` naming it.
    """
    target = Path(os.path.abspath(check_output_dir(target)))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_staging(target)
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=_staging_prefix(target)))
        # mkdtemp makes the folder private (0700); the outputs keep the user's usual permissions
        staging.chmod(0o777 & ~_umask())
    except OSError as exc:
        raise _write_failed(target, exc) from exc
    try:
        try:
            yield staging
        except OutputError as exc:  # name the file the user asked for, not the staging copy
            raise OutputError(exc.message.replace(str(staging), str(target)), exc.hint) from exc
        listed = "".join(f"{name}\n" for name in sorted(_files_under(staging)))
        (staging / OUTPUT_INDEX).write_text(listed, encoding="utf-8")
        _swap_in(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _staging_prefix(target: Path, pid: int | None = None) -> str:
    """``.NAME.tmp-PID@HOST-``: the staging folder names the process that writes it, so that a
    later run can tell one a killed run left (``kill -9``) from one a running run still fills."""
    return f".{target.name}.tmp-{os.getpid() if pid is None else pid}@{_host_tag()}-"


def _host_tag() -> str:
    """This machine's name as staging folders carry it (letters, digits and dashes)."""
    return re.sub(r"[^A-Za-z0-9-]", "", socket.gethostname())[:32] or "host"


def _remove_stale_staging(target: Path) -> None:
    """Delete staging folders beside ``target`` whose process (on this machine) has ended."""
    pattern = re.compile(rf"^\.{re.escape(target.name)}\.tmp-(\d+)@{re.escape(_host_tag())}-")
    for entry in target.parent.iterdir():
        found = pattern.match(entry.name)
        if found is None or not entry.is_dir() or entry.is_symlink():
            continue
        try:
            os.kill(int(found.group(1)), 0)
        except ProcessLookupError:  # its run was killed: nothing will ever swap it in
            shutil.rmtree(entry, ignore_errors=True)
        except (PermissionError, OverflowError):  # alive (another user's), or not a pid
            continue


def _swap_in(staging: Path, target: Path) -> None:
    """Rename ``staging`` to ``target``, moving a previous ``target`` aside and deleting it.

    Runs under an exclusive lock on the parent folder, so concurrent swaps are serialised.
    """
    old = None
    try:
        with _locked(target.parent):
            _refuse_foreign_files(target)  # a file added to it while this run computed
            if target.exists():
                old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.old-"))
                try:
                    os.replace(target, old / "previous")
                except OSError:  # the previous output cannot move: leave no empty .old- folder
                    shutil.rmtree(old, ignore_errors=True)
                    old = None
                    raise
            try:
                os.replace(staging, target)
            except OSError:
                if old is not None:  # put the previous output back (if that fails, it stays
                    os.replace(old / "previous", target)  # in the hidden .old- folder)
                    shutil.rmtree(old, ignore_errors=True)
                    old = None
                raise
    except OSError as exc:
        raise _write_failed(target, exc) from exc
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
        if old.exists():  # bb20 D3: a file it could not delete kept it, silently
            left = sorted(p for p in old.rglob("*") if not p.is_dir())
            shown = f" ({left[0].relative_to(old / 'previous')}" if left else ""
            more = f" and {len(left) - 1} more)" if len(left) > 1 else (")" if left else "")
            warnings.warn(
                LastmileWarning(
                    f"the previous output in {target} could not be deleted completely: what is "
                    f"left of it{shown}{more} stays in the hidden folder {old} - delete that "
                    "folder (its files' permissions or attributes kept them)"
                ),
                stacklevel=2,
            )


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``folder`` (POSIX; no lock where ``fcntl`` is missing)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def write_text(target: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``target`` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(target)


def write_bytes(target: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``target`` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def _json_default(value: Any) -> Any:
    """Frozen mappings (vehicle capacities) as objects, anything else JSON cannot hold as text."""
    return dict(value) if isinstance(value, Mapping) else str(value)


def write_json(target: str | Path, obj: Any) -> Path:
    """Write ``obj`` as stable, sorted, indented JSON atomically."""
    text = json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, default=_json_default)
    return write_text(target, text + "\n")


def file_sha256(path: str | Path) -> str:
    """Content hash of a file, for manifests and cache keys."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


#: Decimals of coordinates in CSV files: those of the WKT geometry and of ``kpis.json`` (0.1 m).
COORDINATE_DECIMALS = 6
#: Column names (lower case) holding degrees, and suffixes such as ``hub_lat`` or, in a sweep
#: table, ``county_centre.lon``.
_COORDINATE_NAMES = ("lon", "lat", "longitude", "latitude")
_COORDINATE_SUFFIXES = ("_lon", "_lat", ".lon", ".lat")


def is_coordinate_column(name: Any) -> bool:
    """Whether a column holds longitudes or latitudes in degrees, by its name."""
    if not isinstance(name, str):
        return False
    key = name.lower()
    return key in _COORDINATE_NAMES or key.endswith(_COORDINATE_SUFFIXES)


def _decimal_text(value: Any, places: int) -> str | None:
    """A number with at most ``places`` decimals, trailing zeros dropped (NaN: empty)."""
    import numpy as np

    if value is None or not np.isfinite(value):
        return None
    # + 0.0: a value that rounds to -0 is written as 0 (a coordinate: as the WKT writes it)
    return np.format_float_positional(round(float(value), places) + 0.0, trim="-")


def write_csv(target: str | Path, df: Any, decimals: Mapping[str, int] | None = None) -> Path:
    """Write a (Geo)DataFrame as UTF-8 CSV atomically; geometry is written as WKT.

    Floats are written with 6 significant digits, except coordinate columns (see
    :func:`is_coordinate_column`): those keep :data:`COORDINATE_DECIMALS` decimals, the precision
    of the WKT geometry on the same row, since 6 significant digits of a longitude such as
    119.111412 would move the point some 40 m. ``decimals`` names other float columns written
    with (at most) that many decimals instead, trailing zeros dropped: figures that readers sum
    again, which 6 significant digits would cut to 3 or 4 decimals.
    """
    import geopandas as gpd
    import pandas as pd

    frame = pd.DataFrame(df).copy()
    if isinstance(df, gpd.GeoDataFrame):
        geom = df.geometry.name
        frame[geom] = df.geometry.to_wkt(rounding_precision=COORDINATE_DECIMALS)
    places = dict(decimals or {})
    for col in frame.columns:
        if not pd.api.types.is_float_dtype(frame[col]):
            continue
        n = COORDINATE_DECIMALS if is_coordinate_column(col) else places.get(col)
        if n is not None:
            frame[col] = frame[col].map(functools.partial(_decimal_text, places=n)).astype(object)
    with atomic_path(target) as tmp:
        frame.to_csv(tmp, index=False, encoding="utf-8", lineterminator="\n", float_format="%.6g")
    return Path(target)


def write_arrays(path: str | Path, header: dict[str, Any], arrays: dict[str, Any]) -> Path:
    """Write numpy arrays and a JSON ``header`` as one ``.npz`` file, atomically: plain arrays,
    no pickle, each with the zip CRC that :func:`read_arrays` checks (the caches' format)."""
    import numpy as np

    with atomic_path(path, suffix=".npz") as tmp, open(tmp, "wb") as f:
        np.savez(f, header=np.array(json.dumps(header)), **arrays)
    return Path(path)


def read_arrays(path: str | Path, names: Sequence[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``header`` and the arrays ``names`` of a file of :func:`write_arrays`; a damaged
    file (a CRC that does not match), a truncated or foreign one raises (OSError, ValueError,
    KeyError, zipfile.BadZipFile ...): the caller decides what that means."""
    import numpy as np

    with np.load(path, allow_pickle=False) as data:
        header = json.loads(str(data["header"]))
        arrays = {name: np.array(data[name]) for name in names}
    return header, arrays


def _cell(value: Any) -> Any:
    """GeoPackage columns hold scalars: nested values become JSON text."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, default=str, ensure_ascii=False, sort_keys=True)
    return str(value)


def write_geopackage(target: str | Path, layers: dict[str, Any]) -> Path:
    """Write several GeoDataFrames as layers of one GeoPackage, atomically (all or nothing).

    GDAL stamps each layer's ``last_change`` with the current time; it is fixed to
    :data:`GEOPACKAGE_TIMESTAMP` so that the same tables give the same file (the run's own time is
    in manifest.json).
    """
    import pyogrio

    before = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": GEOPACKAGE_TIMESTAMP})
    try:
        _write_layers(target, layers)
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": before})
    return Path(target)


#: the ``last_change`` of every layer lastmile writes (see :func:`write_geopackage`)
GEOPACKAGE_TIMESTAMP = "2000-01-01T00:00:00.000Z"


def _write_layers(target: str | Path, layers: dict[str, Any]) -> None:
    from pyogrio.errors import DataLayerError, DataSourceError

    with atomic_path(target, suffix=".gpkg") as tmp:
        for name, gdf in layers.items():
            frame = gdf.copy()
            for col in frame.columns:
                if col != frame.geometry.name and frame[col].dtype == object:
                    frame[col] = frame[col].map(_cell)
            try:
                frame.to_file(tmp, layer=name, driver="GPKG", engine="pyogrio")
            except (DataSourceError, DataLayerError) as exc:
                # GDAL reports a full disk as a failed commit ("Failed to commit transaction"):
                # an OSError here becomes atomic_path's "cannot write <target>: ..." message
                if shutil.disk_usage(tmp.parent).free < _FULL_DISK_BYTES:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp)) from exc
                raise OSError(errno.EIO, f"GDAL: {exc}", str(tmp)) from exc


#: free space below which a failed GeoPackage write is put down to a full disk
_FULL_DISK_BYTES = 1 << 20


def package_versions(names: tuple[str, ...]) -> dict[str, str]:
    """Installed versions of the named distributions (``"not installed"`` when missing)."""
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str] = {}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def source_commit(package_dir: str | Path | None = None) -> str | None:
    """The git commit of the checkout lastmile runs from (an editable install), else ``None``.

    Read from the repository's files (``.git/HEAD``, the branch's ref or ``packed-refs``; a
    worktree's ``.git`` file points to its folder), not by running git: the manifest must not
    depend on a git executable or spawn a process. Only the checkout holding the package (its
    ``src/`` layout's root, with ``pyproject.toml``) counts, never a repository around an
    installed copy. Uncommitted changes are not detected.
    """
    pkg = Path(package_dir) if package_dir is not None else Path(__file__).resolve().parent
    root = pkg.parent.parent
    dot_git = root / ".git"
    try:
        if not (root / "pyproject.toml").is_file() or not dot_git.exists():
            return None
        if dot_git.is_file():  # a worktree or submodule: "gitdir: PATH"
            text = dot_git.read_text(encoding="utf-8").strip()
            if not text.startswith("gitdir:"):
                return None
            git_dir = (root / text.removeprefix("gitdir:").strip()).resolve()
        else:
            git_dir = dot_git
        head = (git_dir / "HEAD").read_text(encoding="utf-8").strip()
        if not head.startswith("ref:"):
            return head if _is_sha(head) else None  # a detached HEAD holds the commit itself
        ref = head.removeprefix("ref:").strip()
        common = git_dir
        if (git_dir / "commondir").is_file():  # a worktree's refs live in the main repository
            common = git_dir / (git_dir / "commondir").read_text(encoding="utf-8").strip()
        for folder in dict.fromkeys((git_dir, common)):
            ref_file = folder / ref
            if ref_file.is_file():
                sha = ref_file.read_text(encoding="utf-8").strip()
                return sha if _is_sha(sha) else None
        packed = common / "packed-refs"
        if packed.is_file():
            for line in packed.read_text(encoding="utf-8").splitlines():
                sha, _, name = line.partition(" ")
                if name.strip() == ref and _is_sha(sha):
                    return sha
    except (OSError, UnicodeDecodeError):
        return None
    return None


def _is_sha(text: str) -> bool:
    return len(text) in (40, 64) and all(c in "0123456789abcdef" for c in text)

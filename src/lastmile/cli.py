"""The ``lastmile`` command: parse options, call the public API, print. Nothing else.

Errors raised on purpose (:class:`lastmile.errors.LastmileError`) are printed as one message and a
non-zero exit code; a traceback is shown only with ``--debug``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from typing import Any

from lastmile import __version__
from lastmile.bench import bench_matrix
from lastmile.boundaries import (
    TownshipBoundaries,
    load_townships,
    read_outline,
    save_townships,
    townships_from_osm,
    townships_from_osmnx_online,
)
from lastmile.config import Region, cache_dir, load_region
from lastmile.errors import DataError, InputError, LastmileError
from lastmile.io import write_bytes
from lastmile.network import NetworkSource, RoadNetwork, graph_file_kind, load_network, open_network

Handler = Callable[[argparse.Namespace], int]


def _emit_json(obj: object) -> None:
    print(json.dumps(obj, ensure_ascii=False, sort_keys=False), flush=True)


# --------------------------------------------------------------------------- shared steps


def _progress(total: int, desc: str) -> Any:
    """A progress bar on stderr (hidden when stderr is not a terminal and CI is quiet)."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="step", file=sys.stderr, leave=False,
                disable=None, bar_format="{desc}: {n_fmt}/{total_fmt} {bar} {elapsed}")  # fmt: skip


def _region(args: argparse.Namespace) -> Region:
    return load_region(getattr(args, "region", None))


def _open_network(args: argparse.Namespace, region: Region) -> tuple[RoadNetwork, NetworkSource]:
    outline = read_outline(region, args.reference_data)
    cache = cache_dir(args.cache_dir)
    net, source = open_network(
        args.network, region, outline=outline, cache=cache, standin_scale=args.standin_scale
    )
    if source.synthetic:
        print(f"*** {source.label}: every output made from it says so ***", file=sys.stderr)
    return net, source


def _townships(
    args: argparse.Namespace, region: Region, source: NetworkSource
) -> TownshipBoundaries | None:
    outline = read_outline(region, args.reference_data)
    if getattr(args, "boundaries", None):
        return load_townships(args.boundaries, region, crs=args.boundaries_crs, outline=outline)
    try:
        if source.osm_file is not None:
            return townships_from_osm(source.osm_file, region, outline)
        if source.kind == "osm":
            return townships_from_osmnx_online(region, outline, cache=cache_dir(args.cache_dir))
    except DataError as exc:
        print(f"lastmile: warning: no township polygons from {source.label}: {exc}", file=sys.stderr)
    return None


def _cmd_network(args: argparse.Namespace) -> int:
    region = _region(args)
    with _progress(2, "network") as bar:
        bar.set_description("loading road network")
        net, source = _open_network(args, region)
        bar.update()
        bar.set_description("matching townships")
        townships = _townships(args, region, source)
        bar.update()
    s = net.summary()
    print(f"source:            {source.label}")
    print(f"nodes / edges:     {s.nodes:,} / {s.edges:,}")
    print(f"road length:       {s.road_km:,.1f} km")
    for cls, km in s.km_by_highway.items():
        print(f"  {cls:<16} {km:>10,.1f} km")
    print(f"imputed speeds:    {s.imputed_speed_share:.1%} of edges, "
          f"{s.imputed_speed_length_share:.1%} of length")  # fmt: skip
    print(f"largest SCC:       {s.scc_node_share:.1%} of nodes kept")
    if townships is None:
        print("townships:         no township polygons (pass --boundaries FILE)")
    else:
        print(f"townships:         {townships.report.summary()}")
    return 0


def _cmd_fetch(args: argparse.Namespace) -> int:
    region = _region(args)
    cache = cache_dir(args.cache_dir)
    outline = read_outline(region, args.reference_data)
    if args.extract is None and args.boundaries is None and args.network is None:
        raise InputError(
            "nothing to fetch", "give --network osm, --extract FILE and/or --boundaries FILE"
        )
    if args.extract is not None:
        src = Path(args.extract)
        kind = graph_file_kind(src)
        target = cache / "extracts" / src.name
        write_bytes(target, src.read_bytes())
        net = load_network(target, region, cache=cache,
                           description=f"OpenStreetMap extract {src.name}")  # fmt: skip
        print(f"imported {kind} extract {src} -> {target} ({net.n_nodes:,} nodes)")
    if args.network is not None:
        net, source = open_network(args.network, region, outline=outline, cache=cache,
                                   standin_scale=args.standin_scale)  # fmt: skip
        print(f"cached {source.label}: {net.n_nodes:,} nodes in {cache}")
    if args.boundaries is not None:
        tb = load_townships(args.boundaries, region, crs=args.boundaries_crs, outline=outline)
        target = save_townships(tb, cache / "boundaries" / f"{region.id}-townships.gpkg")
        print(f"imported township boundaries -> {target}\n{tb.report.summary()}")
    return 0


def _cmd_bench_matrix(args: argparse.Namespace) -> int:
    region = _region(args)
    net, _ = _open_network(args, region)
    result = bench_matrix(net, sources=args.sources, nx_sample=args.nx_sample, seed=args.seed,
                          workers=args.workers)  # fmt: skip
    if args.json:
        _emit_json(result)
    else:
        for key, value in result.items():
            print(f"{key:<26} {value}")
    return 0


# --------------------------------------------------------------------------- benchmarks


def _cmd_bench_pmedian(args: argparse.Namespace) -> int:
    raise InputError("`lastmile bench pmedian` is not available yet")


def _cmd_bench_solomon(args: argparse.Namespace) -> int:
    raise InputError("`lastmile bench solomon` is not available yet")


# --------------------------------------------------------------------------- parser


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be positive")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive integer")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``lastmile`` command."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show tracebacks on errors")

    parser = argparse.ArgumentParser(
        prog="lastmile",
        description="Plan rural last-mile logistics networks: hubs, cold-chain routes, studies.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"lastmile {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    data = argparse.ArgumentParser(add_help=False, parents=[common])
    data.add_argument("--region", metavar="FILE", help="region file (default: embedded Suichang)")
    data.add_argument("--reference-data", metavar="DIR",
                      help="reference data (county outline); default $LASTMILE_REFERENCE_DATA "
                      "or ../shared/data")  # fmt: skip
    data.add_argument("--cache-dir", metavar="DIR",
                      help="cache/data directory; default $LASTMILE_CACHE_DIR or ~/.cache/lastmile")  # fmt: skip
    data.add_argument("--standin-scale", type=_positive_float, default=1.0, metavar="X",
                      help="size of the synthetic stand-in (1 = full county; smaller for tests)")  # fmt: skip

    net_opts = argparse.ArgumentParser(add_help=False, parents=[data])
    net_opts.add_argument("--network", default="auto", metavar="auto|synthetic|osm|FILE",
                          help="road network source (default auto: extract, else OSM if "
                          "reachable, else the synthetic stand-in)")  # fmt: skip
    net_opts.add_argument("--boundaries", metavar="FILE", help="township polygons (GeoJSON/GPKG/SHP)")
    net_opts.add_argument("--boundaries-crs", metavar="CRS",
                          help="CRS of --boundaries when the file has none, or 'gcj02'")  # fmt: skip

    c = sub.add_parser("network", parents=[net_opts], help="load the road network; print a summary")
    c.set_defaults(handler=_cmd_network)

    c = sub.add_parser("fetch", parents=[data],
                       help="download from OSM or import a local extract / boundaries into the "
                       "data directory")  # fmt: skip
    c.add_argument("--network", metavar="osm|synthetic", help="download (osm) or build (synthetic)")
    c.add_argument("--extract", metavar="FILE", help="a local .osm/.osm.bz2/.osm.pbf/.graphml extract")
    c.add_argument("--boundaries", metavar="FILE", help="township polygons to import")
    c.add_argument("--boundaries-crs", metavar="CRS", help="their CRS if the file has none, or 'gcj02'")
    c.set_defaults(handler=_cmd_fetch)

    bench = sub.add_parser("bench", help="benchmarks against published instances and peers")
    bench_sub = bench.add_subparsers(dest="bench_command", metavar="BENCHMARK")

    b = bench_sub.add_parser("matrix", parents=[net_opts],
                             help="travel-time matrix: csgraph against networkx on the county graph")  # fmt: skip
    b.add_argument("--sources", type=_positive_int, default=300, help="number of source nodes")
    b.add_argument("--nx-sample", type=_positive_int, default=10,
                   help="sources networkx is timed on (scaled to all)")  # fmt: skip
    b.add_argument("--workers", type=_positive_int, default=2, help="threads for csgraph")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--json", action="store_true", help="print one JSON object")
    b.set_defaults(handler=_cmd_bench_matrix)

    b = bench_sub.add_parser(
        "pmedian", parents=[common], help="solve OR-Library p-median files; one JSON line each"
    )
    b.add_argument("files", nargs="+", type=Path, metavar="FILE")
    b.add_argument("--time-limit", type=_positive_float, default=60.0, help="seconds per instance")
    b.add_argument("--json", action="store_true", help="print JSON lines (default)")
    b.set_defaults(handler=_cmd_bench_pmedian)

    b = bench_sub.add_parser(
        "solomon", parents=[common], help="solve Solomon VRPTW files; one JSON line each"
    )
    b.add_argument("files", nargs="+", type=Path, metavar="FILE")
    b.add_argument("--time-limit", type=_positive_float, default=30.0, help="seconds per instance")
    b.add_argument("--json", action="store_true", help="print JSON lines (default)")
    b.set_defaults(handler=_cmd_bench_solomon)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 0 if args.command is None else 2
    try:
        return handler(args)
    except LastmileError as exc:
        if args.debug:
            raise
        print(f"lastmile: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("lastmile: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # an internal bug: one line, traceback only on request
        if args.debug:
            raise
        print(
            f"lastmile: internal error: {type(exc).__name__}: {exc} (run again with --debug "
            "for the traceback and report it)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

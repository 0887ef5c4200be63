"""Cold network preparation of the default stand-in, step by step (issue 9, session 3).

Runs ``lastmile.plan.prepare`` twice on the default scenario (``--network synthetic``): first with
an empty cache directory (cold: the stand-in OSM XML is generated, parsed, simplified, processed
and cached), then again on the same cache (warm). The steps of the cold run are timed by wrapping
the functions that do them (stand-in writer, osmnx parser, drive filter, simplification, speeds
and strong component, export). Appends one JSON line to ``benchmarks/results/network_cold.jsonl``.

    python benchmarks/bench_network_cold.py [--label TEXT] [--no-save]
"""

from __future__ import annotations

import argparse
import functools
import json
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results" / "network_cold.jsonl"

#: (step name, module, attribute): the functions whose cumulative time is a step of the cold run.
STEPS = (
    ("write_standin", "lastmile.standin", "write_standin"),
    ("standin._villages", "lastmile.standin", "_villages"),
    ("standin._node_crossings", "lastmile.standin", "_node_crossings"),
    ("standin._render_xml", "lastmile.standin", "_render_xml"),
    ("osmnx.graph_from_xml", "osmnx", "graph_from_xml"),
    ("_drive_only", "lastmile.network", "_drive_only"),
    ("osmnx.simplify_graph", "osmnx", "simplify_graph"),
    ("_process", "lastmile.network", "_process"),
    ("_export", "lastmile.network", "_export"),
    ("build_network", "lastmile.network", "build_network"),
)


def _wrap(times: dict[str, float], name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def timed(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            times[name] = times.get(name, 0.0) + time.perf_counter() - t

    return timed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", default="", help="free text stored with the row")
    parser.add_argument("--no-save", action="store_true", help="print only")
    args = parser.parse_args()

    import importlib

    from lastmile.plan import prepare
    from lastmile.scenario import load_scenario

    times: dict[str, float] = {}
    for name, module, attr in STEPS:
        mod = importlib.import_module(module)
        if hasattr(mod, attr):
            setattr(mod, attr, _wrap(times, name, getattr(mod, attr)))

    scenario = load_scenario(network="synthetic")
    with tempfile.TemporaryDirectory(prefix="lastmile-cold-") as cache:
        t = time.perf_counter()
        inputs = prepare(scenario, cache=cache)
        cold = time.perf_counter() - t
        t = time.perf_counter()
        warm_inputs = prepare(scenario, cache=cache)
        warm = time.perf_counter() - t
        osm = sorted(Path(cache).glob("standin-*.osm"))[0]
        text = osm.read_text(encoding="utf-8")
        osm_nodes, osm_ways = text.count("<node "), text.count("<way ")
    net = inputs.network
    summary = net.summary()
    row = {
        "bench": "network_cold",
        "label": args.label,
        "date": time.strftime("%Y-%m-%d"),
        "machine": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "cold_network_s": round(inputs.timings["network_s"], 2),
        "cold_prepare_s": round(cold, 2),
        "warm_network_s": round(warm_inputs.timings["network_s"], 2),
        "warm_prepare_s": round(warm, 2),
        "steps_s": {k: round(v, 2) for k, v in times.items()},
        "standin_osm_nodes": osm_nodes,
        "standin_osm_ways": osm_ways,
        "nodes": net.n_nodes,
        "edges": net.n_edges,
        "nodes_before_scc": net.nodes_before_scc,
        "road_km": summary.road_km,
        "km_by_highway": summary.km_by_highway,
        "prepare_timings_s": {k: round(v, 2) for k, v in inputs.timings.items()},
    }
    print(json.dumps(row, ensure_ascii=False))
    if not args.no_save:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        with RESULTS.open("a", encoding="utf-8") as f:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

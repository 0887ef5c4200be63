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

from lastmile import __version__
from lastmile.errors import InputError, LastmileError

Handler = Callable[[argparse.Namespace], int]


def _emit_json(obj: object) -> None:
    print(json.dumps(obj, ensure_ascii=False, sort_keys=False), flush=True)


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

    bench = sub.add_parser("bench", help="benchmarks against published instances and peers")
    bench_sub = bench.add_subparsers(dest="bench_command", metavar="BENCHMARK")

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

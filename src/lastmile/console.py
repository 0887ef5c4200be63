"""The ``lastmile`` console command: :func:`lastmile.cli.main`, with Ctrl-C during start-up.

The CLI's modules import the geospatial and solver stack, which takes seconds; a Ctrl-C in that
time would otherwise end in Python's KeyboardInterrupt traceback, before the CLI can handle it.
"""

from __future__ import annotations

import sys


def main() -> int:
    """Import the CLI and run it; exit 130 quietly when interrupted while importing."""
    try:
        from lastmile.cli import main as cli_main
    except KeyboardInterrupt:
        print("lastmile: interrupted", file=sys.stderr)
        return 130
    return cli_main()

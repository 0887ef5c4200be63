"""The ``lastmile`` console command: :func:`lastmile.cli.main`, with Ctrl-C during start-up.

The CLI's modules import the geospatial and solver stack, which takes seconds. A Ctrl-C in that
time would end in Python's KeyboardInterrupt traceback, before the CLI can handle it, or be lost:
raised inside one of importlib's weakref callbacks, it is printed as "Exception ignored" and the
import, then the command, go on. Until the CLI is imported, SIGINT therefore ends the process
directly (nothing has been written yet).
"""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType


def _interrupted_while_starting(signum: int, frame: FrameType | None) -> None:
    sys.stderr.write("lastmile: interrupted\n")
    sys.stderr.flush()
    os._exit(130)


def main() -> int:
    """Import the CLI and run it; exit 130 quietly when interrupted while importing."""
    previous = signal.signal(signal.SIGINT, _interrupted_while_starting)
    from lastmile.cli import main as cli_main

    signal.signal(signal.SIGINT, previous)  # the CLI handles Ctrl-C from here on
    return cli_main()

"""A stop asked for by Ctrl-C or SIGTERM, as the code that runs OR-Tools searches sees it.

The command line (:mod:`lastmile.cli`) turns SIGINT and SIGTERM into ``KeyboardInterrupt`` in the
main thread. An OR-Tools routing search holds the interpreter while it runs and calls back into
Python only now and then (at each solution, for some transit and limit functions); the handler
runs inside one of those callbacks, and an exception raised there is lost: the search went on to
its limit and the command ended with exit 0 as if nothing had happened (bb20 D14). So while the
main thread is inside a search (:func:`searching`), the handler only records the request
(:func:`request_stop` returns False); the search raises ``KeyboardInterrupt`` when it returns, and
the command's watcher thread ends the process if it does not return within a grace period (an
iterated local search runs to its own limit whatever a callback asks).

Nothing here touches signals: without the command line (the Python API, Dask workers, forked
pool workers) no stop is ever requested and :func:`searching` only counts.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

#: OR-Tools searches the main thread is inside (nested: a search's callback never starts one)
_SEARCHES = 0
#: the signals that asked this process to stop, in order
_REQUESTED: list[int] = []


def request_stop(signum: int) -> bool:
    """Record that ``signum`` asked the command to stop; whether the caller (the signal handler,
    in the main thread) should raise ``KeyboardInterrupt`` now: not inside a search, where the
    exception would be lost."""
    _REQUESTED.append(signum)
    return _SEARCHES == 0


def stop_requested() -> bool:
    """Whether a signal asked the command to stop."""
    return bool(_REQUESTED)


def in_search() -> bool:
    """Whether the main thread is inside an OR-Tools search."""
    return _SEARCHES > 0


def reset() -> None:
    """Forget earlier requests (a new command starts in this process)."""
    global _SEARCHES
    _REQUESTED.clear()
    _SEARCHES = 0


@contextlib.contextmanager
def searching() -> Iterator[None]:
    """Run an OR-Tools search inside: a stop asked for meanwhile raises ``KeyboardInterrupt`` when
    it returns (and one asked for before, whose exception something swallowed, before it starts).
    Outside the main thread it does nothing: signal handlers run in the main thread only."""
    global _SEARCHES
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if _REQUESTED:
        raise KeyboardInterrupt
    _SEARCHES += 1
    try:
        yield
    finally:
        _SEARCHES -= 1
    if _REQUESTED and _SEARCHES == 0:
        raise KeyboardInterrupt

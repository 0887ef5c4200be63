"""Fork pools whose workers inherit their inputs instead of receiving them pickled.

Three stages run work side by side in forked processes: the travel-time matrix (rows of
dijkstra written into shared memory), the routing portfolio (one search per first-solution
strategy) and the plan (the baseline day routed beside the plan's day). Each hands the children
large inputs (a CSR graph, routing problems, the plan inputs) that are cheap to inherit at the
fork and costly to pickle. :func:`fork_pool` does that set-up once: it publishes the inputs
under names the child reads with :func:`inherited`, opens a ``fork`` pool and withdraws the
inputs afterwards (restoring any outer pool's).

Without ``fork`` (:func:`can_fork` is false, e.g. on Windows) the callers run the work in this
process; so do they when told not to fork (``parallel=False``, ``routing_processes = 1``): the
daemonic workers of a Dask cluster cannot fork children.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
from collections.abc import Iterator
from multiprocessing.pool import Pool
from typing import Any

#: Inputs of the current fork pool, read by its children (copied at the fork, never pickled).
_INHERITED: dict[str, Any] = {}


def can_fork() -> bool:
    """Whether this process may fork a pool: the platform offers ``fork`` and this process is not
    a daemon (pool workers and Dask workers are; they cannot have children)."""
    return "fork" in mp.get_all_start_methods() and not mp.current_process().daemon


@contextlib.contextmanager
def fork_pool(processes: int, **inputs: Any) -> Iterator[Pool]:
    """A ``fork`` pool of ``processes`` workers that see ``inputs`` through :func:`inherited`.

    Parameters
    ----------
    processes
        Worker processes of the pool.
    **inputs
        Values the workers read by name; they are published before the pool forks and withdrawn
        when the ``with`` block ends (the pool is terminated then, as ``Pool``'s own context
        manager does).
    """
    saved = dict(_INHERITED)
    _INHERITED.update(inputs)
    try:
        with mp.get_context("fork").Pool(processes) as pool:
            yield pool
    finally:
        _INHERITED.clear()
        _INHERITED.update(saved)


def inherited(name: str) -> Any:
    """In a worker of :func:`fork_pool`: the input published under ``name``."""
    return _INHERITED[name]

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
import ctypes
import multiprocessing as mp
import os
import signal
import sys
from collections.abc import Iterator
from multiprocessing.pool import AsyncResult, Pool
from typing import Any, TypeVar

T = TypeVar("T")

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
        pool_of = mp.get_context("fork").Pool
        with pool_of(processes, initializer=_end_with_parent, initargs=(os.getpid(),)) as pool:
            yield pool
    finally:
        _INHERITED.clear()
        _INHERITED.update(saved)


#: Linux's prctl option: the signal a process gets when its parent ends
_PR_SET_PDEATHSIG = 1


def _end_with_parent(parent_pid: int) -> None:
    """In a new worker: end when the process that forked it ends.

    A pool's workers outlived a ``lastmile plan`` killed with SIGKILL (its pool could not
    terminate them): they kept a core busy and later printed a BrokenPipeError traceback into
    the killed run's log. On Linux the kernel now sends them SIGTERM when their parent ends;
    a parent that ended before this ran is caught by its changed pid.
    """
    # a worker must die of SIGTERM (terminate(), its parent's death), by the default action:
    # the command blocks it in its main thread (lastmile.cli._interruptible) and its handler
    # would raise KeyboardInterrupt inside the pool's worker loop; and the command's wake-up
    # pipe, inherited, is the parent's alone (SIGINT stays blocked: the parent ends the pool)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    with contextlib.suppress(ValueError):  # (raised outside the main thread, which set none)
        signal.set_wakeup_fd(-1)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM))
    if os.getppid() != parent_pid:
        os._exit(1)


def inherited(name: str) -> Any:
    """In a worker of :func:`fork_pool`: the input published under ``name``."""
    return _INHERITED[name]


#: seconds between two looks at a pool's pending result (see :func:`result_of`)
_POLL_S = 0.1


def result_of(pending: AsyncResult[T]) -> T:
    """The value of a pool's ``pending`` result, waited for in short slices.

    A wait without a timeout blocks the main thread in C until the workers answer, and the
    command's Ctrl-C / SIGTERM handler runs only when it returns: ``route`` went on waiting for
    its forked search ~30 s after the signal (bb20 D15). Between two slices the handler raises
    ``KeyboardInterrupt`` here, and the pool's ``with`` block ends the workers.
    """
    while not pending.ready():
        pending.wait(_POLL_S)
    return pending.get()

"""The fork-pool helper: workers read the published inputs; the inputs are withdrawn after."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from lastmile.parallel import can_fork, fork_pool, inherited

pytestmark = pytest.mark.skipif(not can_fork(), reason="no fork start method here")


def _read(name: str) -> Any:
    return inherited(name)


def test_workers_inherit_the_inputs_and_they_are_withdrawn_after() -> None:
    with fork_pool(2, a=1, b=[2, 3]) as pool:
        assert pool.map(_read, ["a", "b", "a"]) == [1, [2, 3], 1]
    with pytest.raises(KeyError):
        inherited("a")


def test_an_inner_pool_restores_the_outer_inputs() -> None:
    with fork_pool(1, a=1, b=2) as outer:
        with fork_pool(1, b=20, c=30) as inner:
            assert inner.map(_read, ["a", "b", "c"]) == [1, 20, 30]
        assert outer.map(_read, ["a", "b"]) == [1, 2]
        with pytest.raises(KeyError):
            inherited("c")


def test_workers_end_when_their_parent_is_killed(tmp_path: Path) -> None:
    """bb18 D1: a run killed with SIGKILL left its pool's workers running (a core busy, and a
    BrokenPipeError traceback in the killed run's log when they finished)."""
    pid_file = tmp_path / "worker.pid"
    script = f"""
import os, time
from lastmile.parallel import fork_pool

def work(_):
    open({str(pid_file)!r}, "w").write(str(os.getpid()))
    time.sleep(60)

with fork_pool(1) as pool:
    pool.apply_async(work, (0,))
    time.sleep(60)
"""
    parent = subprocess.Popen([sys.executable, "-c", script])
    try:
        for _ in range(200):
            if pid_file.exists() and pid_file.read_text():
                break
            time.sleep(0.05)
        worker = int(pid_file.read_text())
        parent.kill()
        parent.wait()
        for _ in range(100):
            if not _alive(worker):
                break
            time.sleep(0.05)
        assert not _alive(worker), "the worker outlived its killed parent"
    finally:
        parent.kill()
        if pid_file.exists() and pid_file.read_text() and _alive(int(pid_file.read_text())):
            os.kill(int(pid_file.read_text()), signal.SIGKILL)


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, ended but not yet reaped by init, counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False

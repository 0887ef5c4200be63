"""The fork-pool helper: workers read the published inputs; the inputs are withdrawn after."""

from __future__ import annotations

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

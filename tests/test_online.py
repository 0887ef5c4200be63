"""The online path for real: osmnx downloads from a loopback Overpass stub serving the stand-in."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lastmile.boundaries import read_outline, townships_from_osmnx_online
from lastmile.config import load_region
from lastmile.network import load_network, open_network, overpass_reachable, standin_file
from tests.overpass_stub import overpass_stub

REGION = load_region()


@pytest.fixture(scope="module")
def standin_small(tmp_path_factory: pytest.TempPathFactory, test_data: Path) -> tuple[Path, Path]:
    cache = tmp_path_factory.mktemp("cache")
    outline = read_outline(REGION, test_data)
    path, _ = standin_file(REGION, outline, cache, scale=0.1)
    return path, cache


def test_online_download_equals_file_load(
    standin_small: tuple[Path, Path], test_data: Path, tmp_path: Path
) -> None:
    osm_file, _ = standin_small
    outline = read_outline(REGION, test_data)
    with overpass_stub(osm_file, tmp_path / "http") as counts:
        assert overpass_reachable(timeout_s=5)
        online, source = open_network("osm", REGION, outline=outline, cache=tmp_path / "c1")
        assert counts["interpreter"] >= 1 and counts["status"] >= 1
        assert source.kind == "osm" and "OpenStreetMap via Overpass" in source.label
        # second load: lastmile's processed cache, no request
        before = counts["interpreter"]
        again, _ = open_network("osm", REGION, outline=outline, cache=tmp_path / "c1")
        assert counts["interpreter"] == before and again.n_nodes == online.n_nodes
        # without it, osmnx's own HTTP cache answers: still no new request to the server
        for cached in (tmp_path / "c1").glob("network-osm-*.npz"):
            cached.unlink()
        again, _ = open_network("osm", REGION, outline=outline, cache=tmp_path / "c1")
        assert counts["interpreter"] == before and again.n_nodes == online.n_nodes
        # township boundaries through osmnx's features download
        towns = townships_from_osmnx_online(REGION, outline, cache=tmp_path / "c3")
        assert len(towns.gdf) == 20 and not towns.report.missing
    from_file = load_network(osm_file, REGION, cache=None)
    # osmnx's 'drive' query filter (online) and lastmile's file filter keep the same roads
    assert online.n_nodes == from_file.n_nodes
    assert online.n_edges == from_file.n_edges
    assert np.isclose(online.edge_length_m.sum(), from_file.edge_length_m.sum(), rtol=1e-6)


def test_auto_falls_back_to_standin_when_osm_unreachable(
    standin_small: tuple[Path, Path], test_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import osmnx as ox

    _, cache = standin_small
    # a closed loopback port: refused at once, nothing leaves the machine
    monkeypatch.setattr(ox.settings, "overpass_url", "http://127.0.0.1:9/api")
    outline = read_outline(REGION, test_data)
    net, source = open_network(
        "auto", REGION, outline=outline, cache=cache, standin_scale=0.1, osm_timeout_s=1
    )
    assert source.synthetic and "synthetic stand-in" in source.label and net.synthetic


def test_forced_osm_download_fails_fast_when_unreachable(
    test_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import osmnx as ox

    from lastmile.errors import InputError

    monkeypatch.setattr(ox.settings, "overpass_url", "http://127.0.0.1:9/api")  # closed port
    outline = read_outline(REGION, test_data)
    with pytest.raises(InputError, match="does not answer within 1 s"):
        open_network("osm", REGION, outline=outline, cache=tmp_path, osm_timeout_s=1)

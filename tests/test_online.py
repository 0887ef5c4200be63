"""The online path for real: osmnx downloads from a loopback Overpass stub serving the stand-in."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lastmile.boundaries import county_outline, townships_from_osmnx_online
from lastmile.config import load_region
from lastmile.network import load_network, open_network, overpass_reachable, standin_file
from tests.overpass_stub import answer, osm_xml_to_overpass_json, overpass_stub

REGION = load_region()


@pytest.fixture(scope="module")
def standin_small(tmp_path_factory: pytest.TempPathFactory, test_data: Path) -> tuple[Path, Path]:
    cache = tmp_path_factory.mktemp("cache")
    outline = county_outline(REGION).geometry
    path, _ = standin_file(REGION, outline, cache, scale=0.1)
    return path, cache


def test_online_download_equals_file_load(
    standin_small: tuple[Path, Path], test_data: Path, tmp_path: Path
) -> None:
    osm_file, _ = standin_small
    outline = county_outline(REGION).geometry
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
    outline = county_outline(REGION).geometry
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
    outline = county_outline(REGION).geometry
    with pytest.raises(InputError, match="does not answer within 1 s"):
        open_network("osm", REGION, outline=outline, cache=tmp_path, osm_timeout_s=1)


# Hand-written expectations for the drive filter of the default region: osmnx's "drive" filter
# (osmnx documents it as: highway present, not area=yes, not access=private, not a non-motor
# class, not motor_vehicle/motorcar=no, no parking/driveway service roads), keeping the classes
# the region gives a speed for (service, track), without parking aisles and driveways.
_BRANCHES = (  # way id, tags, kept
    (11, {"highway": "tertiary"}, True),
    (12, {"highway": "primary_link"}, True),
    (13, {"highway": "unclassified"}, True),
    (14, {"highway": "service"}, True),
    (15, {"highway": "track"}, True),
    (16, {"highway": "footway"}, False),
    (17, {"highway": "residential", "access": "private"}, False),
    (18, {"highway": "tertiary", "motor_vehicle": "no"}, False),
    (19, {"highway": "unclassified", "area": "yes"}, False),
    (20, {"highway": "secondary", "motorcar": "no"}, False),
    (21, {"highway": "service", "service": "parking_aisle"}, False),
    (22, {"highway": "service", "service": "driveway"}, False),
    (23, {"highway": "track", "access": "private"}, False),
    (24, {"highway": "service", "service": "alley"}, True),
)


def _hand_made_osm(path: Path) -> Path:
    """A residential spine with one branch per case of _BRANCHES, near Suichang."""
    nodes, ways = [], []
    spine = list(range(1, len(_BRANCHES) + 3))
    for i, n in enumerate(spine):
        nodes.append(f'<node id="{n}" lat="28.5" lon="{119.2 + 0.002 * i:.4f}"/>')
    nds = "".join(f'<nd ref="{n}"/>' for n in spine)
    ways.append(f'<way id="1">{nds}<tag k="highway" v="residential"/></way>')
    for i, (wid, tags, _) in enumerate(_BRANCHES):
        end = 100 + i
        nodes.append(f'<node id="{end}" lat="28.502" lon="{119.2 + 0.002 * (i + 1):.4f}"/>')
        tag_xml = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        ways.append(f'<way id="{wid}"><nd ref="{spine[i + 1]}"/><nd ref="{end}"/>{tag_xml}</way>')
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><osm version="0.6">'
        + "".join(nodes) + "".join(ways) + "</osm>",
        encoding="utf-8",
    )  # fmt: skip
    return path


def test_stub_and_file_loader_keep_exactly_the_drive_roads(tmp_path: Path) -> None:

    osm = _hand_made_osm(tmp_path / "cases.osm")
    kept = {1} | {wid for wid, _, keep in _BRANCHES if keep}
    # the stub, answering the region's drive query (as osmnx sends it), returns exactly the
    # expected ways
    from lastmile.network import region_drive_filter

    flt = region_drive_filter(REGION)
    query = f'[out:json];(way{flt}(poly:"28.4 119.1 28.6 119.1 28.6 119.3");>;);out;'
    got = answer(query, osm_xml_to_overpass_json(osm))
    assert {e["id"] for e in got["elements"] if e["type"] == "way"} == kept
    # the file loader keeps the same roads: its classes are the kept ways' classes
    net = load_network(osm, REGION, cache=None)
    classes = {c for c, km in net.summary().km_by_highway.items() if km > 0}
    main = {"residential", "tertiary", "primary_link", "unclassified"}
    assert classes == main | {"service", "track"}
    # after osmnx's simplification: the spine's two ends, its six junctions with kept branches
    # and the six kept branch ends; the dropped branches leave no node behind
    assert sorted(net.node_osmid.tolist()) == [1, 2, 3, 4, 5, 6, 15, 16, *range(100, 105), 113]

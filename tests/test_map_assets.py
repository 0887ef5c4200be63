"""Local map assets: fetching with npm, embedding into a saved map, choosing CDN or inline."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lastmile.errors import InputError
from lastmile.map_assets import (
    DROPPED_WHEN_INLINE,
    MAP_ASSETS,
    OFFLINE_NOTICE,
    fetch_map_assets,
    inline_map_assets,
    resolve_map_assets,
)
from lastmile.maps import compare_map, plan_map, save_map
from tests.map_cases import SYNTHETIC, Case, make_case


@pytest.fixture(scope="module")
def small() -> Case:
    return make_case()


def test_save_map_cdn_links_and_inline_embeds(small: Case, tmp_path: Path,
                                              map_assets: Path) -> None:  # fmt: skip
    m = plan_map(**small.frames(), title="t", source_label=SYNTHETIC)
    cdn = save_map(m, tmp_path / "out" / "cdn.html", assets="cdn").read_text(encoding="utf-8")
    assert '<script src="https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js">' in cdn
    assert cdn.rstrip().endswith(OFFLINE_NOTICE.rstrip() + "\n</html>")
    inline = save_map(m, tmp_path / "inline.html", assets="inline", assets_dir=map_assets)
    text = inline.read_text(encoding="utf-8")
    assert "<script src=" not in text and 'rel="stylesheet"' not in text
    assert "lastmile-offline-notice" not in text
    assert "/* https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js */" in text
    assert "data:font/woff2;base64," in text  # Font Awesome icons embedded
    assert "data:image/png;base64," in text  # Leaflet / awesome-markers images embedded
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp left


def test_inline_without_local_assets_is_a_clear_error(small: Case, tmp_path: Path) -> None:
    m = plan_map(**small.frames(), title="t", source_label=SYNTHETIC)
    with pytest.raises(InputError, match=r"local map assets missing in .*leaflet@1\.9\.3"):
        save_map(m, tmp_path / "x.html", assets="inline", assets_dir=tmp_path / "empty")
    assert not (tmp_path / "x.html").exists()
    with pytest.raises(InputError, match="unknown map assets mode 'offline'"):
        save_map(m, tmp_path / "x.html", assets="offline")  # type: ignore[arg-type]


def test_inline_refuses_unknown_external_files(small: Case, map_assets: Path) -> None:
    page = '<script src="https://example.org/other.js"></script>'
    with pytest.raises(InputError, match=r"cannot inline: https://example\.org/other\.js"):
        inline_map_assets(page, map_assets)


def test_fetch_without_npm_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="`no-such-npm` is not installed"):
        fetch_map_assets(tmp_path / "assets", npm="no-such-npm")


def test_asset_manifest_covers_what_folium_links(small: Case) -> None:
    m = plan_map(**small.frames(), title="t", source_label=SYNTHETIC)
    dual = compare_map(**small.frames(), title="t", source_label=SYNTHETIC)
    page = m.get_root().render() + dual.get_root().render()
    linked = set(re.findall(r'<script src="(https?://[^"]+)"', page))
    linked |= set(re.findall(r'<link rel="stylesheet" href="(https?://[^"]+)"', page))
    known = {a.url for a in MAP_ASSETS}
    assert linked - known - DROPPED_WHEN_INLINE == set()  # every linked file can be inlined
    assert known - linked == set()  # every manifest entry is used by the maps


def test_auto_mode_inlines_when_local_assets_exist(map_assets: Path, tmp_path: Path) -> None:
    assert resolve_map_assets("auto", map_assets) == "inline"
    assert resolve_map_assets("auto", tmp_path / "empty") == "cdn"
    assert resolve_map_assets("cdn", map_assets) == "cdn"
    with pytest.raises(InputError, match="unknown map assets mode 'offline'"):
        resolve_map_assets("offline")

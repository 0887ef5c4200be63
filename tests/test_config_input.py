"""Bad scenario and region files: one clear InputError at parse time, naming the file and key."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from lastmile.config import load_region, parse_clock, road_classes
from lastmile.errors import InfeasibleError, InputError
from lastmile.location import OBJECTIVES
from lastmile.scenario import (
    DEMAND_WEIGHTS,
    FIRST_SOLUTIONS,
    NETWORK_SOURCES,
    PLAN_KEY_DOCS,
    PlanSettings,
    defaults_toml,
    load_scenario,
    scenario_toml,
)
from lastmile.sweep import load_sweep

SUICHANG = Path(__file__).parents[1] / "src/lastmile/regions/suichang.toml"


def _scenario_error(tmp_path: Path, body: str) -> str:
    """The message of loading a scenario file holding ``body`` (it must be refused)."""
    f = tmp_path / "bad.toml"
    f.write_text(body, encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_scenario(f)
    message = str(info.value)
    assert f"scenario file {f}" in message  # names the file the value came from
    return message


def _region_error(tmp_path: Path, old: str, new: str) -> str:
    """The message of loading the Suichang region file with ``old`` replaced by ``new``."""
    text = SUICHANG.read_text(encoding="utf-8")
    assert old in text
    f = tmp_path / "region.toml"
    f.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_region(f)
    message = str(info.value)
    assert f"region file {f}" in message
    return message


@pytest.mark.parametrize("seed", ["-1", "4294967296"])
def test_plan_seed_out_of_range(tmp_path: Path, seed: str) -> None:
    message = _scenario_error(tmp_path, f"[plan]\nseed = {seed}\n")
    assert f"[plan] seed = {seed} is not a seed" in message


@pytest.mark.parametrize(("table", "seed"), [("demand", -1), ("standin", 2**32)])
def test_region_table_seeds_out_of_range(tmp_path: Path, table: str, seed: int) -> None:
    message = _scenario_error(tmp_path, f"[{table}]\nseed = {seed}\n")
    assert f"[{table}]: seed = {seed} is not a seed" in message


def test_api_seed_and_unknown_setting() -> None:
    with pytest.raises(InputError, match=r"\[plan\] seed = -1 is not a seed"):
        load_scenario(seed=-1)
    with pytest.raises(InputError, match=r"unknown setting\(s\) \['sede'\]"):
        load_scenario(sede=1)
    with pytest.raises(InputError, match=r"\[plan\] p = 'ten' should be int"):
        load_scenario(p="ten")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("plan = 5\n", "plan = 5 is not a table"),
        ("cold_chain = 5\n", "[cold_chain]: not a table"),
        ("demand = 'x'\n", "[demand]: not a table"),
        ("network = [1]\n", "[network]: not a table"),
        ("standin = 1\n", "[standin]: not a table"),
        ("trunk = 1\n", "[trunk]: not a table"),
        ("county_centre = 1\n", "[county_centre]: not a table"),
        ("speeds_kmh = 1\n", "[speeds_kmh]: not a table"),
        ("fleet = 5\n", "fleet = 5 is not an array of tables"),
        ("[fleet]\nid = 'x'\n", "is not an array of tables"),
    ],
)
def test_tables_must_be_tables(tmp_path: Path, body: str, expected: str) -> None:
    assert expected in _scenario_error(tmp_path, body)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "routing_time_limit_s = 1e30",
            "routing_time_limit_s = 1e+30 must be positive and at most 604800 s",
        ),
        (
            "routing_time_limit_s = inf",
            "routing_time_limit_s = inf must be positive and at most 604800 s",
        ),
        (
            "routing_time_limit_s = nan",
            "routing_time_limit_s = nan must be positive and at most 604800 s",
        ),
        (
            "location_time_limit_s = 1e30",
            "location_time_limit_s = 1e+30 must be positive and at most 604800 s",
        ),
        ("routing_solution_limit = 9223372036854775807", "routing_solution_limit = 9223"),
        ("routing_solution_limit = 2147483648", "routing_solution_limit = 2147483648 is too"),
        ("coverage_min = inf", "coverage_min = inf must be positive and finite"),
        ("standin_scale = nan", "standin_scale = nan must be positive and finite"),
    ],
)
def test_plan_numbers_finite_and_bounded(tmp_path: Path, line: str, expected: str) -> None:
    message = _scenario_error(tmp_path, f"[plan]\n{line}\n")
    assert f"[plan] {expected}" in message


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("[trunk]\nfixed_cost = inf\n", "[trunk]: fixed_cost = inf is not a finite number"),
        ("[trunk]\nunload_min = nan\n", "[trunk]: unload_min = nan is not a finite number"),
        ("[demand]\nparcel_kg = inf\n", "[demand]: parcel_kg = inf is not a finite number"),
        ("[network]\nmax_snap_m = inf\n", "[network]: max_snap_m = inf is not a finite number"),
        (
            "[standin]\nnode_spacing_m = nan\n",
            "[standin]: node_spacing_m = nan is not a finite number",
        ),
        (
            "[cold_chain]\nproduce_max_in_vehicle_min = inf\n",
            "[cold_chain]: produce_max_in_vehicle_min = inf must be positive",
        ),
        (
            "[[fleet]]\nid = 'x'\ncount_per_depot = 1\ncapacity_kg = 1\ncapacity_parcels = 1\n"
            "cost_per_km = inf\n",
            "[[fleet]] #1: cost_per_km = inf is not a finite number",
        ),
        (
            "[[fleet]]\nid = 'x'\ncount_per_depot = 1\ncapacity_kg = 1\ncapacity_parcels = 1\n"
            "max_duration_h = 'ten'\n",
            "[[fleet]] #1: max_duration_h = 'ten' is not a finite number",
        ),
    ],
)
def test_region_numbers_finite(tmp_path: Path, body: str, expected: str) -> None:
    assert expected in _scenario_error(tmp_path, body)


def test_first_solution_validated_at_parse(tmp_path: Path) -> None:
    message = _scenario_error(tmp_path, '[plan]\nrouting_first_solution = "bogus"\n')
    assert "[plan] routing_first_solution = 'bogus' unknown" in message
    assert "auto" in message and "PATH_CHEAPEST_ARC" in message
    f = tmp_path / "good.toml"
    f.write_text('[plan]\nrouting_first_solution = "SAVINGS"\n', encoding="utf-8")
    assert load_scenario(f).plan.routing_first_solution == "SAVINGS"


@pytest.mark.parametrize(
    ("body", "table"),
    [
        ("[cold_chain]\nbanana_max = 3\n", "[cold_chain]"),
        ("[demand]\nparcels_per_resident = 0.1\n", "[demand]"),
        ("[network]\nmax_snap = 10\n", "[network]"),
        ("[standin]\nvillages = [1, 2]\n", "[standin]"),
        ("[county_centre]\nlongitude = 119.3\n", "[county_centre]"),
        (
            "[[fleet]]\nid = 'x'\ncount_per_depot = 1\ncapacity_kg = 1\ncapacity_parcels = 1\n"
            "colour = 'red'\n",
            "[[fleet]] #1",
        ),
    ],
)
def test_unknown_keys_in_scenario_tables(tmp_path: Path, body: str, table: str) -> None:
    message = _scenario_error(tmp_path, body)
    assert re.search(re.escape(table) + r": unknown key\(s\) \['\w+'\]", message)
    # the key came from the scenario: the message does not send the user to the region file
    assert "region file" not in message


@pytest.mark.parametrize(
    ("old", "new", "table"),
    [
        ('code = "331123"\n', 'code = "331123"\nbogus_key = 1\n', "[region]"),
        ('crs = "EPSG:4326"\n', 'crs = "EPSG:4326"\nbogus_key = 1\n', "[region.outline]"),
        ("lat = 28.593\n", "lat = 28.593\nbogus_key = 1\n", "[county_centre]"),
        ("max_snap_m = 1500\n", "max_snap_m = 1500\nbogus_key = 1\n", "[network]"),
        ("node_spacing_m = 100\n", "node_spacing_m = 100\nbogus_key = 1\n", "[standin]"),
        ("seed = 2026\n", "seed = 2026\nbogus_key = 1\n", "[demand]"),
        ('kind = "街道"\n', 'kind = "街道"\nbogus_key = 1\n', "[[townships]] #1"),
        ("[standin]\n", "[weather]\nrain = 1\n[standin]\n", ""),
    ],
)
def test_unknown_keys_in_region_file(tmp_path: Path, old: str, new: str, table: str) -> None:
    message = _region_error(tmp_path, old, new)
    assert re.search(re.escape(table) + r": unknown key\(s\) \['(bogus_key|weather)'\]", message)


@pytest.mark.parametrize("area", ["-5", "0", "inf", "'big'"])
def test_region_area_must_be_positive(tmp_path: Path, area: str) -> None:
    message = _region_error(tmp_path, "area_km2 = 2539.56", f"area_km2 = {area}")
    assert "[region]: area_km2 = " in message


@pytest.mark.parametrize(
    ("crs", "expected"),
    [("EPSG:99999", "is not a known CRS"), ("EPSG:4326", "is not a projected (metric) CRS")],
)
def test_region_projected_crs_checked(tmp_path: Path, crs: str, expected: str) -> None:
    message = _region_error(tmp_path, 'projected_crs = "EPSG:32650"', f'projected_crs = "{crs}"')
    assert f"[region]: projected_crs = '{crs}' {expected}" in message


@pytest.mark.parametrize("region_id", ["../../escaped", "lishui/suichang", "C:foo", "", "a b"])
def test_region_id_is_a_plain_name(tmp_path: Path, region_id: str) -> None:
    """bb21 D13: the id named a cache folder unchecked (fetch --extract wrote outside it)."""
    message = _region_error(tmp_path, 'id = "suichang"', f'id = "{region_id}"')
    assert f"[region]: id = {region_id!r} is not a plain name" in message


def test_region_outline_crs_checked(tmp_path: Path) -> None:
    message = _region_error(tmp_path, 'crs = "EPSG:4326"', 'crs = "EPSG:99999"')
    assert "[region.outline]: crs = 'EPSG:99999' is not a known CRS" in message


def test_plan_outline_crs_checked(tmp_path: Path) -> None:
    message = _scenario_error(tmp_path, '[plan]\nboundaries_crs = "EPSG:99999"\n')
    assert "boundaries_crs = 'EPSG:99999' is not a known CRS" in message


@pytest.mark.parametrize(("p", "k", "room"), [(25, 1, 19), (39, 2, 38)])
def test_too_many_hubs_names_max_per_township(tmp_path: Path, p: int, k: int, room: int) -> None:
    f = tmp_path / "many.toml"
    f.write_text(f"[plan]\np = {p}\nmax_per_township = {k}\n", encoding="utf-8")
    with pytest.raises(InfeasibleError) as info:
        load_scenario(f)
    message = str(info.value)
    assert f"scenario file {f} [plan]: p = {p} new hubs, but at most {room} fit" in message
    assert "max_per_township" in message and "max_per_group" not in message
    with pytest.raises(InfeasibleError, match="setting p = 25 new hubs, but at most 19 fit"):
        load_scenario(p=25)
    # the file's own p is checked when an option overrides it (and a fitting file p passes)
    with pytest.raises(InfeasibleError, match=rf"\[plan\]: p = {p} new hubs, but at most {room}"):
        load_scenario(f, p=5)
    f.write_text(f"[plan]\np = {room}\nmax_per_township = {k}\n", encoding="utf-8")
    assert load_scenario(f, p=5).plan.p == 5


def test_scenario_value_names_the_scenario_file(tmp_path: Path) -> None:
    message = _scenario_error(tmp_path, '[cold_chain]\nproduce_max_in_vehicle_min = "two hours"\n')
    assert "[cold_chain]: 'produce_max_in_vehicle_min' must be float" in message
    assert "region file" not in message


def test_region_value_names_the_region_file(tmp_path: Path) -> None:
    text = SUICHANG.read_text(encoding="utf-8").replace(
        "tea_max_in_vehicle_min = 240", 'tea_max_in_vehicle_min = "four hours"'
    )
    region = tmp_path / "r.toml"
    region.write_text(text, encoding="utf-8")
    f = tmp_path / "s.toml"
    f.write_text(
        'region = "r.toml"\n[cold_chain]\nproduce_max_in_vehicle_min = 90\n', encoding="utf-8"
    )
    with pytest.raises(InputError) as info:
        load_scenario(f)
    message = str(info.value)
    assert f"region file {region} [cold_chain]: 'tea_max_in_vehicle_min'" in message
    assert "scenario file" not in message


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("lon", "200", "lon = 200.0 is not a WGS84 longitude in [-180, 180]"),
        ("lon", "-180.5", "lon = -180.5 is not a WGS84 longitude"),
        ("lat", "91", "lat = 91.0 is not a WGS84 latitude in [-90, 90]"),
        ("lat", "nan", "lat = nan is not a WGS84 latitude"),
    ],
)
def test_centre_lon_lat_ranges(tmp_path: Path, key: str, value: str, expected: str) -> None:
    message = _scenario_error(tmp_path, f"[county_centre]\n{key} = {value}\n")
    assert f"[county_centre]: {expected}" in message


def test_missing_network_file_names_scenario_and_key(tmp_path: Path) -> None:
    message = _scenario_error(tmp_path, '[plan]\nnetwork = "nonexistent.osm.pbf"\n')
    assert "[plan]: network = 'nonexistent.osm.pbf'" in message
    assert str(tmp_path / "nonexistent.osm.pbf") in message  # relative to the scenario file
    assert "synthetic" in message


def test_missing_local_extract_names_scenario_and_key(tmp_path: Path) -> None:
    """bb18 D12: the README's own example line named a file that did not exist: with
    --network synthetic the whole plan ran, then an internal FileNotFoundError; without, the
    error spoke of the road-network source and offered values local_extract cannot take."""
    message = _scenario_error(tmp_path, '[plan]\nlocal_extract = "suichang.osm.pbf"\n')
    assert "[plan]: local_extract = 'suichang.osm.pbf': no such file" in message
    assert str(tmp_path / "suichang.osm.pbf") in message and "leave local_extract out" in message
    (tmp_path / "suichang.osm.pbf").write_bytes(b"x")
    assert load_scenario(tmp_path / "bad.toml").plan.local_extract == str(
        tmp_path / "suichang.osm.pbf"
    )


def test_missing_local_extract_through_the_api_names_it(small_cache: Path) -> None:
    from lastmile.boundaries import county_outline
    from lastmile.config import load_region
    from lastmile.network import open_network

    region = load_region()
    outline = county_outline(region, cache=small_cache).geometry
    with pytest.raises(InputError, match=r"local_extract 'nowhere\.osm\.pbf' is not a file"):
        open_network("auto", region, outline=outline, cache=small_cache,
                     local_extract=Path("nowhere.osm.pbf"))  # fmt: skip


def test_network_file_relative_to_scenario(tmp_path: Path) -> None:
    (tmp_path / "roads.osm.pbf").write_bytes(b"x")
    f = tmp_path / "s.toml"
    f.write_text('[plan]\nnetwork = "roads.osm.pbf"\n', encoding="utf-8")
    assert load_scenario(f).plan.network == str(tmp_path / "roads.osm.pbf")
    f.write_text('[plan]\nnetwork = "synthetic"\n', encoding="utf-8")
    assert load_scenario(f).plan.network == "synthetic"


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ('[demand]\nproduce_requires_refrigeration = "false"\n', "produce_requires_refrigeration"),
        ("[demand]\ntea_requires_refrigeration = 0\n", "tea_requires_refrigeration"),
        ('[trunk]\nhub_cold_store = "no"\n', "hub_cold_store"),
        (
            "[[fleet]]\nid = 'x'\ncount_per_depot = 1\ncapacity_kg = 1\ncapacity_parcels = 1\n"
            'refrigerated = "false"\n',
            "refrigerated",
        ),
    ],
)
def test_flags_must_be_booleans(tmp_path: Path, body: str, key: str) -> None:
    message = _scenario_error(tmp_path, body)
    assert re.search(re.escape(key) + r" = .* must be true or false", message)


def test_township_flag_must_be_boolean(tmp_path: Path) -> None:
    message = _region_error(tmp_path, "is_county_seat = true", 'is_county_seat = "yes"')
    assert "[[townships]] #1: is_county_seat = 'yes' must be true or false" in message


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("00:00", 0), ("07:30", 27000), ("23:59:59", 86399), ("24:00", 86400), ("24:00:00", 86400)],
)
def test_parse_clock_accepts_the_day(text: str, seconds: int) -> None:
    assert parse_clock(text) == seconds


@pytest.mark.parametrize(
    "text",
    ["24:01", "24:00:01", "25:00", "26:00", "48:00", "-1:00", "7", "07:60", " 7:00", "+7:00"],
)
def test_parse_clock_refuses_other_times(text: str) -> None:
    with pytest.raises(ValueError, match="00:00 to 24:00"):
        parse_clock(text)


@pytest.mark.parametrize(("value", "word"), [("25:00", "out of range"), ("24:30", "out of range")])
def test_clock_past_midnight_refused_in_scenario(tmp_path: Path, value: str, word: str) -> None:
    message = _scenario_error(tmp_path, f'[trunk]\nshift_end = "{value}"\n')
    assert f"[trunk] shift_end: '{value}' is {word}" in message
    assert "00:00 to 24:00" in message
    f = tmp_path / "ok.toml"
    f.write_text('[trunk]\nshift_end = "24:00"\n', encoding="utf-8")
    assert load_scenario(f).region.trunk.shift_end_s == 24 * 3600


_FLEET = "[[fleet]]\nid = '{id}'\ncount_per_depot = {n}\ncapacity_kg = 10\ncapacity_parcels = 5\n"


@pytest.mark.parametrize(
    "body",
    [
        _FLEET.format(id="van", n=1000000000000),
        # the inline-table form of [[fleet]]
        "fleet = [{id = 'van', count_per_depot = 1001, capacity_kg = 10, capacity_parcels = 5}]\n",
    ],
)
def test_fleet_count_per_depot_bounded(tmp_path: Path, body: str) -> None:
    message = _scenario_error(tmp_path, body)
    assert "[[fleet]] #1: count_per_depot = " in message
    assert "is above 1000 vehicles per depot" in message
    assert "at most 1000" in message  # what to do


def test_fleet_count_per_depot_at_bound_accepted(tmp_path: Path) -> None:
    f = tmp_path / "ok.toml"
    f.write_text(_FLEET.format(id="van", n=1000), encoding="utf-8")
    assert load_scenario(f).region.fleet[0].count_per_depot == 1000


def test_trunk_count_bounded(tmp_path: Path) -> None:
    message = _scenario_error(tmp_path, "[trunk]\ncount = 1000000000000\n")
    assert "[trunk]: count = 1000000000000 is above 1000 vehicles per depot" in message
    message = _region_error(tmp_path, "count = 4 ", "count = 5000 ")
    assert "[trunk]: count = 5000 is above 1000" in message


def test_fleet_duplicate_id_refused_at_parse(tmp_path: Path) -> None:
    body = _FLEET.format(id="reefer", n=1) + _FLEET.format(id="reefer", n=2)
    message = _scenario_error(tmp_path, body)
    assert "[[fleet]] #2: id 'reefer' repeats #1" in message
    assert "own id" in message
    message = _region_error(tmp_path, 'id = "van"', 'id = "reefer"')
    assert "[[fleet]] #2: id 'reefer' repeats #1" in message


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('name = "云峰街道"', 'name = "妙高街道"', "name '妙高街道' repeats #1"),
        ('pinyin = "Yunfeng"', 'pinyin = "Miaogao"', "pinyin 'Miaogao' repeats #1"),
        # lookups by pinyin ignore case, so do repeats
        ('pinyin = "Yunfeng"', 'pinyin = "MIAOGAO"', "pinyin 'MIAOGAO' repeats #1"),
    ],
)
def test_township_duplicate_name_or_pinyin(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    message = _region_error(tmp_path, old, new)
    assert f"[[townships]] #2: {expected} (331123001; this one is 331123002)" in message


def test_fleet_max_duration_longer_than_shift(tmp_path: Path) -> None:
    body = _FLEET.format(id="van", n=1) + "shift_start = '07:00'\nshift_end = '19:00'\n"
    message = _scenario_error(tmp_path, body + "max_duration_h = 20\n")
    assert (
        "[[fleet]] #1: max_duration_h = 20 is longer than the shift "
        "(shift_start = 07:00, shift_end = 19:00: 12 h)"
    ) in message
    assert "shorten max_duration_h to at most 12" in message
    assert "widen the shift" in message
    message = _region_error(tmp_path, "max_duration_h = 10", "max_duration_h = 12.5")
    assert "[[fleet]] #1: max_duration_h = 12.5 is longer than the shift" in message
    f = tmp_path / "ok.toml"
    f.write_text(body + "max_duration_h = 12\n", encoding="utf-8")
    assert load_scenario(f).region.fleet[0].max_duration_s == 12 * 3600


def test_township_two_county_seats(tmp_path: Path) -> None:
    message = _region_error(
        tmp_path,
        'pinyin = "Yunfeng"\nkind = "街道"\n',
        'pinyin = "Yunfeng"\nkind = "街道"\nis_county_seat = true\n',
    )
    assert "[[townships]]: is_county_seat = true for #1 (331123001) and #2 (331123002)" in message
    assert "one seat" in message


def test_township_without_county_seat_accepted(tmp_path: Path) -> None:
    # nothing relies on a marked seat: a registry without one is accepted
    text = SUICHANG.read_text(encoding="utf-8").replace("is_county_seat = true\n", "")
    f = tmp_path / "region.toml"
    f.write_text(text, encoding="utf-8")
    assert not any(t.is_county_seat for t in load_region(f).townships)


def test_township_code_outside_county(tmp_path: Path) -> None:
    message = _region_error(
        tmp_path,
        'code = "331123002"\ncode12 = "331123002000"',
        'code = "331102001"\ncode12 = "331102001000"',
    )
    assert (
        "[[townships]] #2: code '331102001' does not start with the county code '331123'" in message
    )
    assert "[region] code" in message


def test_fleet_shift_end_before_start_names_values(tmp_path: Path) -> None:
    body = _FLEET.format(id="van", n=1) + "shift_start = '19:00'\nshift_end = '07:30'\n"
    message = _scenario_error(tmp_path, body)
    assert (
        "[[fleet]] #1: shift_end is not after shift_start (shift_start = 19:00, shift_end = 07:30)"
    ) in message
    assert "give a shift_end later than shift_start" in message


GBK_COMMENT = "# 中文\n".encode("gbk")


def test_scenario_with_byte_order_mark_loads(tmp_path: Path) -> None:
    f = tmp_path / "bom.toml"
    f.write_bytes(b"\xef\xbb\xbf[plan]\np = 3\n")  # Windows Notepad's "UTF-8 with BOM"
    assert load_scenario(f).plan.p == 3
    assert scenario_toml(f).count("\ufeff") == 0


@pytest.mark.parametrize("kind", ["scenario", "region", "sweep", "base"])
def test_toml_file_not_utf8_says_so(tmp_path: Path, kind: str) -> None:
    gbk = tmp_path / "gbk.toml"
    gbk.write_bytes(GBK_COMMENT + b"[plan]\np = 3\n")
    if kind == "region":
        gbk.write_bytes(GBK_COMMENT + SUICHANG.read_bytes())
    with pytest.raises(InputError) as info:
        if kind == "scenario":
            load_scenario(gbk)
        elif kind == "region":
            load_region(gbk)
        else:
            sweep = tmp_path / "sweep.toml"
            if kind == "sweep":
                sweep.write_bytes(GBK_COMMENT + b"[set]\np = 3\n")
                load_sweep(sweep)
            else:
                sweep.write_text('base = "gbk.toml"\n[set]\np = 3\n', encoding="utf-8")
                load_sweep(sweep)
    message = str(info.value)
    bad = gbk if kind != "sweep" else tmp_path / "sweep.toml"
    assert f"{bad.name} is not UTF-8 text (byte 0xd6 at offset 2)" in message
    assert "save it as UTF-8" in message and "TOML" not in message


def test_sweep_and_region_with_byte_order_mark_load(tmp_path: Path) -> None:
    region = tmp_path / "region.toml"
    region.write_bytes(b"\xef\xbb\xbf" + SUICHANG.read_bytes())
    assert load_region(region).name == load_region().name
    sweep = tmp_path / "sweep.toml"
    sweep.write_bytes(b"\xef\xbb\xbf[grid]\np = [3]\n")
    assert [s.error for s in load_sweep(sweep).scenarios] == [None]


@pytest.mark.parametrize(
    "body",
    [
        "[ plan ]\np = 3\nstandin_scale = 0.1\n",
        '[ "plan" ]  # my plan\np = 3\nstandin_scale = 0.1\n',
        "plan.p = 3\nplan.standin_scale = 0.1\n[cold_chain]\nproduce_max_in_vehicle_min = 90\n",
        "plan = { p = 3, standin_scale = 0.1 }\n",
    ],
)
def test_config_show_round_trips_any_plan_spelling(tmp_path: Path, body: str) -> None:
    given = tmp_path / "given.toml"
    given.write_text(body, encoding="utf-8")
    first = tmp_path / "first.toml"
    first.write_text(scenario_toml(given), encoding="utf-8")
    second = tmp_path / "second.toml"
    second.write_text(scenario_toml(first), encoding="utf-8")  # was: plan declared twice
    loaded = [load_scenario(f) for f in (given, first, second)]
    assert loaded[0].plan == loaded[1].plan == loaded[2].plan
    assert loaded[0].region.cold_chain == loaded[2].region.cold_chain
    assert load_scenario(second).plan.p == 3 and load_scenario(second).plan.standin_scale == 0.1
    one, two = first.read_text("utf-8").splitlines(), second.read_text("utf-8").splitlines()
    assert one[1:] == two[1:]  # only the header's file name differs
    assert sum(line.startswith("# effective scenario") for line in two) == 1
    assert sum(line.startswith("[plan]") for line in two) == 1


def test_config_show_puts_an_inline_plan_tables_comment_on_the_table(tmp_path: Path) -> None:
    """bb20 D7: the comment of ``plan = { p = 8, ... }  # inline`` landed on ``p = 8``."""
    given = tmp_path / "given.toml"
    given.write_text("plan = { p = 8, standin_scale = 0.2 }  # inline\n", encoding="utf-8")
    lines = scenario_toml(given).splitlines()
    assert "[plan] # inline" in lines
    p_line = lines[_line_of(lines, "p = 8")]
    assert "inline" not in p_line and "# new hubs" in p_line
    again = tmp_path / "again.toml"
    again.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert scenario_toml(again).splitlines()[1:] == lines[1:]
    # a dotted key's comment stays the key's
    given.write_text("plan.p = 8  # agreed\n", encoding="utf-8")
    assert "p = 8 # agreed" in scenario_toml(given).splitlines()


def test_config_show_keeps_the_comments_of_plan(tmp_path: Path) -> None:
    given = tmp_path / "given.toml"
    given.write_text(
        "# her scenario\n[plan]\n# first the hubs\nseed = 5\n# about p\n"
        "p = 3 # agreed with the county\n"
        "# small\nstandin_scale = 0.1\n\n# the region's notes\n# [region] name = x\n"
        "[trunk]\ncount = 2\n",
        encoding="utf-8",
    )
    lines = scenario_toml(given).splitlines()
    assert lines[1:4] == ["# her scenario", "[plan]", "# first the hubs"]
    assert lines[lines.index("p = 3 # agreed with the county") - 1] == "# about p"
    small = _line_of(lines, "standin_scale = 0.1")
    assert lines[small - 1] == "# small"
    notes = lines.index("# the region's notes")
    assert lines[notes + 1 : notes + 4] == ["# [region] name = x", "[trunk]", "count = 2"]
    assert _line_of(lines, "p_curve_max = 15") < notes
    # a key without the user's comment gets its description; the user's comment wins over it
    assert lines[small].endswith(f"# {PLAN_KEY_DOCS['standin_scale']}")
    assert PLAN_KEY_DOCS["p"] not in "\n".join(lines)


def _line_of(lines: list[str], entry: str) -> int:
    """The number of the line holding the TOML statement ``entry`` (whatever its comment)."""
    found = [i for i, line in enumerate(lines) if line.split("#", 1)[0].strip() == entry]
    assert len(found) == 1, (entry, found)
    return found[0]


def test_every_plan_key_has_a_description() -> None:
    """bb18 D7: the [plan] keys were printed bare; each accepted key now has a description (so a
    new PlanSettings field without one fails here) that names its allowed values."""
    assert set(PLAN_KEY_DOCS) == {f.name for f in fields(PlanSettings)}
    assert all(doc.strip() for doc in PLAN_KEY_DOCS.values())
    choices = {
        "network": NETWORK_SOURCES,
        "objective": OBJECTIVES,
        "demand_weight": DEMAND_WEIGHTS,
        "routing_first_solution": FIRST_SOLUTIONS,
        "routing_search": ("ils", "gls"),
        "routing_mode": ("per_depot", "joint"),
        "baseline_routing": ("catchments", "joint"),
        "routing_processes": ("1", "2"),
        "exclude_centre_township": ("true", "false"),
    }
    for key, values in choices.items():
        named = set(re.findall(r"\b\w+\b", PLAN_KEY_DOCS[key]))
        assert set(values) <= named, (key, set(values) - named)


def test_config_show_comments_every_plan_key(tmp_path: Path) -> None:
    """Every [plan] line of `config show` (set or unset) ends with its key's description, and
    the commented text still loads as the defaults and shows itself again."""
    text = defaults_toml()
    table = text.split("[plan]\n", 1)[1].split("\n\n", 1)[0].splitlines()
    described = {}
    for line in table:
        key = line.lstrip("# ").split(" ", 1)[0]
        described[key] = line.split("  # ", 1)[1]
    assert described == PLAN_KEY_DOCS
    assert 'demand_weight = "population"' in text
    shown = tmp_path / "defaults.toml"
    shown.write_text(text, encoding="utf-8")
    assert load_scenario(shown).plan == PlanSettings()
    assert scenario_toml(shown).splitlines()[1:] == text.splitlines()


def test_config_show_of_the_defaults_keeps_the_region_notes(tmp_path: Path) -> None:
    shown = tmp_path / "defaults.toml"
    shown.write_text(defaults_toml(), encoding="utf-8")
    assert scenario_toml(shown).splitlines()[1:] == defaults_toml().splitlines()


@pytest.mark.parametrize(
    ("key", "hint"),
    [("primray", "did you mean 'primary'? "), ("Tertiary", "did you mean 'tertiary'? "),
     ("motorway_lnk", "did you mean 'motorway_link'? "), ("dirt", "")],
)  # fmt: skip
def test_speeds_kmh_key_must_be_a_road_class(tmp_path: Path, key: str, hint: str) -> None:
    f = tmp_path / "s.toml"
    f.write_text(f"[speeds_kmh]\nprimary = 10\n{key} = 10\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_scenario(f)
    assert info.value.message == f"scenario file {f} [speeds_kmh]: unknown road class {key!r}"
    assert str(info.value.hint).startswith(f"{hint}[speeds_kmh] keys are OSM highway values")


def test_speeds_kmh_accepts_osm_road_classes(tmp_path: Path) -> None:
    f = tmp_path / "s.toml"
    f.write_text("[speeds_kmh]\nbusway = 30\nliving_street = 8\ndefault = 15\n", encoding="utf-8")
    speeds = load_scenario(f).region.speeds_kmh
    assert (speeds["busway"], speeds["living_street"], speeds["default"]) == (30, 8, 15)
    assert set(load_region().speeds_kmh) <= road_classes()


@pytest.mark.parametrize(
    ("key", "hint"),
    [("count_per_depot", "the number of vehicles"), ("capacity_kg", "positive capacity")],
)
def test_fleet_negative_value_hint_is_about_the_key(tmp_path: Path, key: str, hint: str) -> None:
    row = {"count_per_depot": 1, "capacity_kg": 100, "capacity_parcels": 10, key: -1}
    body = "[[fleet]]\nid = 'van'\n" + "".join(f"{k} = {v}\n" for k, v in row.items())
    f = tmp_path / "s.toml"
    f.write_text(body, encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_scenario(f)
    assert info.value.message.endswith(
        f"[[fleet]] #1: {key} = -1 must be at least {int(key != 'count_per_depot')}"
    )
    assert hint in str(info.value.hint)
    assert ("capacity" in str(info.value.hint)) == (key != "count_per_depot")

"""Scenario files, region overrides, villages and orders: values and bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, box

from lastmile.boundaries import TownshipBoundaries
from lastmile.config import ColdChainLimits, load_region
from lastmile.demand import (
    ORDER_VILLAGE_MAX_M,
    ORDERS_TABLE,
    _split,
    check_order_villages,
    check_orders,
    read_orders,
    read_point_file,
    villages_from_file,
    villages_from_osm,
    with_cold_chain_limits,
)
from lastmile.errors import DataError, InputError
from lastmile.routing import (
    REASON_REFRIGERATION,
    Depot,
    Order,
    RoutingProblem,
    VehicleType,
    precheck,
)
from lastmile.scenario import PlanSettings, defaults_toml, load_scenario


def test_region_registry_matches_official_list(test_data: Path) -> None:
    region = load_region()
    official = pd.read_csv(test_data / "boundaries/suichang_townships.csv", dtype=str)
    assert [(t.code, t.code12, t.name, t.kind) for t in region.townships] == list(
        official[["code9", "code12", "name", "type"]].itertuples(index=False, name=None)
    )
    assert region.township("Miaogao").is_county_seat
    assert region.cold_chain.produce_s == 7200
    with pytest.raises(InputError, match="unknown township 'Nowhere'"):
        region.township("Nowhere")


def test_defaults_and_overrides(tmp_path: Path) -> None:
    sc = load_scenario()
    assert sc.plan == PlanSettings() and sc.plan.p == 10 and sc.plan.max_per_township == 1
    f = tmp_path / "s.toml"
    f.write_text(
        '[plan]\np = 4\nobjective = "pcenter"\norders = "orders.csv"\n'
        "[cold_chain]\nproduce_max_in_vehicle_min = 90\n",
        encoding="utf-8",
    )
    sc = load_scenario(f, seed=7)
    assert sc.plan.p == 4 and sc.plan.objective == "pcenter" and sc.plan.seed == 7
    assert sc.plan.orders == str(tmp_path / "orders.csv")  # relative to the scenario file
    assert sc.region.cold_chain.produce_s == 90 * 60
    assert sc.region.cold_chain.tea_s == 240 * 60  # untouched keys keep the region default
    text = defaults_toml()
    assert "[plan]" in text and "p = 10" in text and "[speeds_kmh]" in text


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[plan]\np = 0\n", "p = 0 must be at least 1"),
        ("[plan]\nobjective = 'fastest'\n", "objective = 'fastest' unknown"),
        ("[plan]\nhubs = 3\n", r"unknown key\(s\) \['hubs'\]"),
        ("[plan]\np = 'ten'\n", "p = 'ten' should be int"),
        ("[plan]\ndelivery_hour_cost = -1\n", "delivery_hour_cost = -1.0 must be >= 0"),
        ("[plan]\nbaseline_routing = 'ring'\n", "baseline_routing = 'ring' unknown"),
        ("[plan]\nrouting_search = 'tabu'\n", "routing_search = 'tabu' unknown"),
        ("[plan]\nrouting_ruin_visits = 0\n", "routing_ruin_visits = 0 must be at least 1"),
        (
            "[plan]\nrouting_ruin_max_sequence = 2.5\n",
            "routing_ruin_max_sequence = 2.5 should be int",
        ),
        ("[weather]\nrain = 1\n", r"unknown table\(s\) \['weather'\]"),
        ("[Plan]\np = 3\n", r"\['Plan'\] \(did you mean \[plan\] for \[Plan\]\?\)"),
        ("[cold_chain]\nproduce_max_in_vehicle_min = -5\n", "must be positive"),
        (
            "[[fleet]]\nid = 'x'\ncount_per_depot = 1\ncapacity_kg = 10\ncapacity_parcels = 5\n"
            "shift_start = '19:00'\nshift_end = '07:00'\n",
            "shift_end is not after shift_start",
        ),
        ("[speeds_kmh]\nprimary = 900\n", "not a plausible speed"),
        ("[trunk]\ncutoff = '07:75'\n", "cutoff: '07:75' is not a time of day"),
        ("[trunk]\ncutoff = 'seven'\n", "cutoff: 'seven' is not a time of day"),
        ("[trunk]\nshift_end = '49:00'\n", "shift_end: '49:00' is out of range"),
        ("[plan\n", "not valid TOML"),
    ],
)
def test_bad_scenarios(tmp_path: Path, body: str, message: str) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(body, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        load_scenario(f)


def test_missing_scenario_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        load_scenario(tmp_path / "nope.toml")


def test_split_loads() -> None:
    assert _split(450, 200) == [150, 150, 150]
    assert _split(200, 200) == [200]
    assert sum(_split(1001, 120)) == 1001 and max(_split(1001, 120)) <= 120


def _orders(**changes: object) -> pd.DataFrame:
    row = {
        "id": "A1",
        "kind": "pickup",
        "village": "v1",
        "lon": 119.2,
        "lat": 28.5,
        "parcels": 0,
        "kg": 50,
        "product_class": "produce",
        "service_min": 10,
        "tw_start": "08:00",
        "tw_end": "11:30",
        "max_in_vehicle_min": 120,
        "requires_refrigeration": True,
    }
    row.update(changes)
    return pd.DataFrame([row])


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"kind": "return"}, "order A1: kind 'return' unknown"),
        ({"kg": -3}, "order A1: kg = -3 is not a valid number"),
        ({"lat": 128.5}, "order A1: lon/lat .* out of range"),
        ({"product_class": "fish"}, "order A1: product_class 'fish' unknown"),
        ({"tw_start": "12:00"}, "order A1: time window ends before it starts"),
        ({"tw_end": "noon"}, "order A1: tw_end = 'noon' is not a time"),
        ({"tw_end": "16:60"}, "order A1: tw_end = '16:60' is not a time"),
        ({"tw_start": "-1:00"}, "order A1: tw_start = '-1:00' is not a time"),
        ({"tw_start": "25:00", "tw_end": "26:00"}, "order A1: tw_start = '25:00' is not a time"),
        ({"tw_end": "2000"}, r"order A1: tw_end = '2000' is not a time of day \(2000 min is not"),
        ({"max_in_vehicle_min": 0}, "order A1: max_in_vehicle_min must be positive"),
    ],
)
def test_bad_orders_name_the_order(changes: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        check_orders(_orders(**changes), "orders.csv")


def test_an_order_with_lon_and_lat_exchanged_is_told_to_swap_them() -> None:
    with pytest.raises(InputError) as e:
        check_orders(_orders(lon=28.5, lat=119.2), "orders.csv")
    assert str(e.value.hint).startswith("lon and lat look exchanged in its row")
    with pytest.raises(InputError) as e:  # beyond any latitude either way: just out of range
        check_orders(_orders(lon=119.2, lat=128.5), "orders.csv")
    assert e.value.hint == "give WGS84 longitude and latitude in degrees"
    # bb24 D3: every row exchanged was named one run at a time; the others are counted
    rows = pd.concat([_orders(id=f"A{k}", lon=28.5, lat=119.2) for k in range(1, 9)])
    with pytest.raises(InputError) as e:
        check_orders(rows.reset_index(drop=True), "orders.csv")
    assert e.value.message.endswith("out of range (and 7 more: 'A2', 'A3', 'A4', 'A5', 'A6', ...)")


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("07.30", r"tw_start = '07\.30' is ambiguous: a time of day written with '\.' \(07:30\?\)"),
        ("7.30", r"tw_start = '7\.30' is ambiguous: .* \(07:30\?\)"),
        ('"9,00"', r"tw_start = '9,00' is ambiguous: a time of day written with ',' \(09:00\?\)"),
        ("7.5", r"tw_start = '7\.5' is ambiguous: a time of day written with '\.' or a fraction"),
        ("0730", r"tw_start = '0730' is ambiguous: a number with a leading zero .* \(07:30\?\)"),
        ("07", r"tw_start = '07' is ambiguous: a number with a leading zero"),
    ],
)
def test_a_time_window_with_a_dot_or_a_leading_zero_is_refused(
    typed: str, message: str, tmp_path: Path
) -> None:
    """bb21 D12: ``07.30`` (the Finnish/German way) was read as 7.3 minutes after midnight and
    ``0730`` as 730 minutes (12:10), without a word; both are refused, naming file, order and
    column, with the accepted forms. ``HH:MM``, ``HH:MM:SS`` and whole minutes still read."""
    header = "id,kind,lon,lat,parcels,kg,tw_start,tw_end\n"
    rows = f"A1,pickup,119.2,28.5,0,5,09:00,10:00\nTW1,delivery,119.2,28.5,3,6,{typed},\n"
    f = _csv(tmp_path / "o.csv", header + rows)
    with pytest.raises(InputError, match=message) as err:
        read_orders(f)
    assert err.value.message.startswith(f"{f}, order TW1: tw_start = ")
    assert "HH:MM (or HH:MM:SS)" in str(err.value.hint) and "whole number" in str(err.value.hint)
    _csv(f, "id,kind,lon,lat,parcels,kg,tw_start,tw_end\nA,pickup,119.2,28.5,0,5,7:30,09:00:00\n"
         "B,pickup,119.2,28.5,0,5,450,540\nC,pickup,119.2,28.5,0,5,0,1440\n")  # fmt: skip
    df = read_orders(f)
    assert list(df["tw_start_s"]) == [27_000, 27_000, 0]
    assert list(df["tw_end_s"]) == [32_400, 32_400, 86_400]


def test_orders_file_roundtrip_and_errors(tmp_path: Path) -> None:
    f = tmp_path / "orders.csv"
    pd.concat(
        [_orders(), _orders(id="A2", kind="delivery", parcels=3, kg=6, product_class="parcel")]
    ).to_csv(f, index=False)
    df = read_orders(f)
    assert list(df["id"]) == ["A1", "A2"]
    # minutes and HH:MM in the file, whole seconds in the table (the declared columns only)
    assert list(df.columns) == list(ORDERS_TABLE)
    a1 = df.iloc[0]
    times = (a1["service_s"], a1["tw_start_s"], a1["tw_end_s"], a1["max_in_vehicle_s"])
    assert times == (600, 8 * 3600, 11 * 3600 + 1800, 7200)
    f.write_text("id,kind,lon,lat,parcels,kg,product_class,tw_end,max_in_vehicle_min\n"
                 "B1,pickup,119.2,28.5,0,5,tea,630,\nB2,pickup,119.2,28.5,0,5,produce,,45.5\n",
                 encoding="utf-8")  # fmt: skip
    b = with_cold_chain_limits(read_orders(f), ColdChainLimits(7200, 14400, 14400))
    assert list(b["service_s"]) == [300, 300] and list(b["tw_end_s"].fillna(-1)) == [37_800, -1]
    assert b["tw_start_s"].isna().all() and list(b["max_in_vehicle_s"]) == [14_400, 2730]
    # bb22 D1: empty service_min / product_class cells take the defaults a missing column has
    f.write_text("id,kind,lon,lat,parcels,kg,product_class,service_min\n"
                 "C1,delivery,119.2,28.5,2,4,,\nC2,pickup,119.2,28.5,0,5,tea,7\n",
                 encoding="utf-8")  # fmt: skip
    c = read_orders(f)
    assert list(c["product_class"]) == ["parcel", "tea"] and list(c["service_s"]) == [300, 420]
    pd.concat([_orders(), _orders()]).to_csv(f, index=False)
    with pytest.raises(InputError, match=r"duplicate order ids \['A1'\]"):
        read_orders(f)
    f.write_text("", encoding="utf-8")
    with pytest.raises(InputError, match="not a readable orders file"):
        read_orders(f)
    f.write_text("id,kind\nA1,pickup\n", encoding="utf-8")
    with pytest.raises(
        InputError, match=r"missing required column\(s\) \['lon', 'lat', 'parcels', 'kg'\]"
    ):
        read_orders(f)


def test_point_layers_and_their_errors(tmp_path: Path) -> None:
    """Villages and orders files as point layers: one reader, one set of messages."""
    good = _orders()
    pts = gpd.GeoDataFrame(
        good.drop(columns=["lon", "lat"]),
        geometry=gpd.points_from_xy(good["lon"], good["lat"]),
        crs=4326,
    )
    f = tmp_path / "orders.geojson"
    pts.to_file(f, driver="GeoJSON")
    df = read_orders(f)
    assert list(df["id"]) == ["A1"]
    assert (df["lon"].iloc[0], df["lat"].iloc[0]) == pytest.approx((good["lon"][0], good["lat"][0]))
    # in UTM: converted to WGS84 lon/lat
    pts.to_crs(32650).to_file(tmp_path / "utm.gpkg", driver="GPKG")
    assert read_orders(tmp_path / "utm.gpkg")["lon"].iloc[0] == pytest.approx(good["lon"][0])
    line = pts.set_geometry([LineString([(119.0, 28.5), (119.1, 28.6)])], crs=4326)
    line.to_file(tmp_path / "line.geojson", driver="GeoJSON")
    with pytest.raises(InputError, match="order 'A1' has no valid point"):
        read_orders(tmp_path / "line.geojson")
    with pytest.raises(InputError, match=": village 'A1' has no valid point"):
        read_point_file(tmp_path / "line.geojson", "villages", {"id": str})
    (tmp_path / "junk.geojson").write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="not a readable villages file"):
        read_point_file(tmp_path / "junk.geojson", "villages", {"id": str})
    with pytest.raises(InputError, match=r"villages file .* does not exist"):
        read_point_file(tmp_path / "nope.csv", "villages", {"id": str})
    with pytest.raises(InputError, match=r"villages file .* is a folder — give the villages file"):
        read_point_file(tmp_path, "villages", {"id": str})


# --------------------------------------------------------------------------- orders file: bad input


def _csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_requires_refrigeration_is_parsed_strictly(tmp_path: Path) -> None:
    """``bool("no")`` is True: every spelling of no / an empty cell must stay unrefrigerated."""
    rows = {
        "N1": "no", "N2": "0", "N3": "", "N4": "False", "N5": " N ", "N6": "f",
        "Y1": "yes", "Y2": "1", "Y3": "TRUE", "Y4": " y", "Y5": "t",
    }  # fmt: skip
    body = "".join(f"{i},pickup,119.2,28.5,0,5,{v}\n" for i, v in rows.items())
    f = _csv(tmp_path / "o.csv", "id,kind,lon,lat,parcels,kg,requires_refrigeration\n" + body)
    df = read_orders(f)
    assert df["requires_refrigeration"].dtype == bool
    assert dict(zip(df["id"], df["requires_refrigeration"], strict=True)) == {
        i: i.startswith("Y") for i in rows
    }
    # pandas reads an all-True/False column as bools and a 0/1/empty column as floats
    _csv(
        f,
        "id,kind,lon,lat,parcels,kg,requires_refrigeration\nA,pickup,119,28,0,5,False\nB,pickup,119,28,0,5,True\n",
    )
    assert list(read_orders(f)["requires_refrigeration"]) == [False, True]
    _csv(
        f,
        "id,kind,lon,lat,parcels,kg,requires_refrigeration\nA,pickup,119,28,0,5,0\nB,pickup,119,28,0,5,\n",
    )
    assert list(read_orders(f)["requires_refrigeration"]) == [False, False]
    # an unrefrigerated van may carry the "no" orders; only the "yes" ones are refused
    df = read_orders(_csv(f, "id,kind,lon,lat,parcels,kg,requires_refrigeration\n" + body))
    van = VehicleType("van", False, {"kg": 100}, 1)
    t = np.zeros((len(df) + 1, len(df) + 1), dtype=np.int64)
    orders = tuple(
        Order(o.id, o.kind, k + 1, {"kg": 1}, requires_refrigeration=bool(o.requires_refrigeration))
        for k, o in enumerate(df.itertuples())
    )
    _, dropped = precheck(RoutingProblem(t, t, (Depot("A", 0),), (van,), orders))
    assert {(u.order_id, u.binding) for u in dropped} == {
        (i, REASON_REFRIGERATION) for i in rows if i.startswith("Y")
    }


@pytest.mark.parametrize("value", ["maybe", "2", "-1", "nein"])
def test_bad_requires_refrigeration_names_the_order(value: str, tmp_path: Path) -> None:
    f = _csv(
        tmp_path / "o.csv",
        f"id,kind,lon,lat,parcels,kg,requires_refrigeration\nA,pickup,119,28,0,5,yes\nB7,pickup,119,28,0,5,{value}\n",
    )
    with pytest.raises(InputError) as e:
        read_orders(f)
    assert f"{f}, order B7: requires_refrigeration = " in e.value.message
    assert value in e.value.message and "yes/no" in str(e.value.hint)
    with pytest.raises(InputError, match="order A1: requires_refrigeration = 'maybe'"):
        check_orders(_orders(requires_refrigeration="maybe"), "orders.csv")


@pytest.mark.parametrize(
    ("header", "wrong", "meant"),
    [
        ("id,kind,lon,lat,parcels,kg,tw_strat,tw_end", "tw_strat", "tw_start"),
        ("id,kind,lon,lat,parcels,kg,tw_start,tw_ned", "tw_ned", "tw_end"),
        ("id,Kind,lon,lat,tw_start,tw_end", "Kind", "kind"),
        ("id,kind,lon,lat,parcels,tw_start,tw_end,kgs", "kgs", "kg"),
        ("id,kind,lon,lat,parcels,kg,tw_start,tw_end,service_s", "service_s", "service_min"),
    ],
)
def test_misspelt_column_is_refused(header: str, wrong: str, meant: str, tmp_path: Path) -> None:
    row = ",".join(["A", "pickup", "119", "28"] + ["1"] * (header.count(",") - 3))
    f = _csv(tmp_path / "o.csv", f"{header}\n{row}\n")
    with pytest.raises(InputError) as e:
        read_orders(f)
    assert str(e.value).startswith(f"unknown column {wrong!r} in {f} — did you mean {meant!r}?")


def test_unrelated_extra_columns_are_ignored(tmp_path: Path) -> None:
    f = _csv(
        tmp_path / "o.csv",
        "id,kind,lon,lat,parcels,kg,note,tw_start\nA,pickup,119,28,0,5,gate 2,08:00\n",
    )
    df = read_orders(f)
    assert list(df.columns) == list(ORDERS_TABLE) and df["tw_start_s"].iloc[0] == 8 * 3600
    # a close spelling next to the real column is not a lost column: ignored too
    _csv(f, "id,kind,lon,lat,parcels,kg,tw_start,tw_strat\nA,pickup,119,28,0,5,08:00,x\n")
    assert read_orders(f)["tw_start_s"].iloc[0] == 8 * 3600


def test_empty_order_ids_are_refused_with_their_row(tmp_path: Path) -> None:
    f = _csv(
        tmp_path / "o.csv",
        "id,kind,lon,lat,parcels,kg\nA,pickup,119,28,0,5\n,pickup,119,28,0,5\n,pickup,119,28,0,5\n",
    )
    with pytest.raises(InputError) as e:
        read_orders(f)
    assert e.value.message.startswith(f"{f}: 2 order(s) without an id, first in data row 2 ")
    assert "nan" not in str(e.value) and "unique id" in str(e.value.hint)
    with pytest.raises(InputError, match="without an id, first in data row 1"):
        check_orders(_orders(id="  "), "orders.csv")


def test_missing_columns_say_which_are_required(tmp_path: Path) -> None:
    f = _csv(tmp_path / "o.csv", "id,lon,village,parcels,kg\nA,119,v1,1,2\n")
    with pytest.raises(InputError) as e:
        read_orders(f)
    assert e.value.message == (
        f"{f}: missing required column(s) ['kind', 'lat'] (the columns found: "
        "['id', 'lon', 'village', 'parcels', 'kg'])"
    )
    hint = str(e.value.hint)
    assert "needs the columns id, kind, lon, lat, parcels, kg" in hint
    assert "optional columns: village, product_class," in hint and "requires_refrigeration" in hint
    # the six required columns alone are a valid file
    _csv(f, "id,kind,lon,lat,parcels,kg\nA,pickup,119,28,0,5\n")
    assert list(read_orders(f)["id"]) == ["A"]


@pytest.mark.parametrize(
    ("content", "detail"),
    [
        (b"", "it is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "not UTF-8 text: byte 0x89 at offset 0"),
        (b'a,b\n1,2\n"x\n', "ParserError"),
    ],
    ids=["empty", "binary", "unclosed quote"],
)
def test_unreadable_orders_file_one_line_with_what_to_do(
    content: bytes, detail: str, tmp_path: Path
) -> None:
    f = tmp_path / "o.csv"
    f.write_bytes(content)
    with pytest.raises(InputError) as e:
        read_orders(f)
    text = str(e.value)
    assert "\n" not in text and f"{f}: not a readable orders file" in text and detail in text
    assert "header line id,kind,lon,lat,parcels,kg" in str(e.value.hint)


def _townships() -> TownshipBoundaries:
    """One square township around the test points (the coverage report is not used here)."""
    gdf = gpd.GeoDataFrame(
        {"code": ["331123100"], "name": ["T"], "pinyin": ["T"], "kind": ["town"]},
        geometry=[box(118.0, 27.0, 120.0, 29.0)],
        crs="EPSG:4326",
    )
    return TownshipBoundaries(gdf, cast(Any, None), "test")


def test_villages_with_lon_and_lat_swapped_are_named_so(tmp_path: Path) -> None:
    """bb21 D15: a villages file with lon and lat exchanged got "no settlement lies inside the
    townships — check the inputs": not which inputs, nor where the points lie. The message now
    gives both extents and says that swapping lon and lat puts the points inside."""
    helsinki = gpd.GeoDataFrame(
        {"code": ["999001001"], "name": ["Kamppi"], "pinyin": ["Kamppi"], "kind": ["town"]},
        geometry=[box(24.934, 60.162, 24.956, 60.181)],
        crs="EPSG:4326",
    )
    towns = TownshipBoundaries(helsinki, cast(Any, None), "test")
    f = _csv(tmp_path / "v.csv", "id,name,lon,lat,population\n"
             "v1,A,60.1644,24.9364,300\nv2,B,60.1775,24.9534,200\n")  # fmt: skip
    with pytest.raises(DataError) as e:
        villages_from_file(f, load_region(), towns)
    assert e.value.message == (
        f"{f}: none of the 2 settlements lies inside the townships (the points span lon "
        "60.1644..60.1775, lat 24.9364..24.9534; the townships lon 24.9340..24.9560, lat "
        "60.1620..60.1810); with lon and lat swapped, 2 of them would"
    )
    assert str(e.value.hint).startswith("the lon and lat columns are exchanged: swap them")
    _csv(f, "id,name,lon,lat,population\nv1,A,119.1,28.5,300\n")  # another region: no swap
    with pytest.raises(DataError) as e:
        villages_from_file(f, load_region(), towns)
    assert "swapped" not in str(e.value) and "the points span lon 119.1000..119.1000" in str(
        e.value
    )


def test_one_village_with_lon_and_lat_swapped_among_good_ones_is_named_so(tmp_path: Path) -> None:
    """A single row typed the wrong way round was dropped as "outside every township" only; its
    entry now says where it lies and which township the swapped point falls in."""
    # Suichang's lat/lon typed the wrong way round: a latitude of 119 is refused by the row
    f = _csv(tmp_path / "v.csv", "id,name,lon,lat,population\n"
             "v1,A,119.1,28.5,300\nv2,B,28.5,119.2,200\nv3,C,28.6,119.3,100\n")  # fmt: skip
    with pytest.raises(InputError) as e:
        villages_from_file(f, load_region(), _townships())
    assert (
        e.value.message
        == f"{f}: village 'v2' has no valid lon/lat (28.5, 119.2) (and 1 more: 'v3')"
    )
    assert e.value.hint == (
        "lon and lat look exchanged in its row or feature (lat is beyond 90 degrees, lon would "
        "be a latitude): swap them"
    )
    # where both orders are valid degrees (Helsinki: lon 25, lat 60) the row is dropped as outside
    # every township, and its entry says where the swapped point lies
    helsinki = gpd.GeoDataFrame(
        {"code": ["999001001"], "name": ["Kamppi"], "pinyin": ["Kamppi"], "kind": ["town"]},
        geometry=[box(24.934, 60.162, 24.956, 60.181)],
        crs="EPSG:4326",
    )
    towns = TownshipBoundaries(helsinki, cast(Any, None), "test")
    _csv(f, "id,name,lon,lat,population\n"
         "v1,A,24.9364,60.1644,300\nv2,B,60.1775,24.9534,200\nv3,C,10.0,50.0,100\n")  # fmt: skip
    villages = villages_from_file(f, load_region(), towns)
    assert list(villages.gdf["id"]) == ["v1"]
    assert villages.dropped_ids == ("v2", "v3")
    assert villages.dropped == (
        "B (v2): at lon 60.1775, lat 24.9534; with lon and lat swapped it would lie in "
        "Kamppi (999001001): swap them in its row",
        "C (v3)",  # swapped it lies in no township either: no such advice
    )


def test_negative_population_names_file_village_and_column(tmp_path: Path) -> None:
    region = load_region()
    f = _csv(
        tmp_path / "v.csv", "id,name,lon,lat,population\nv1,A,119.1,28.5,300\nv2,B,119.2,28.5,-50\n"
    )
    with pytest.raises(InputError) as e:
        villages_from_file(f, region, _townships())
    assert e.value.message == f"{f}: village 'v2': population = -50 is not valid"
    assert "population column" in str(e.value.hint) and ">= 0" in str(e.value.hint)
    _csv(f, "id,name,lon,lat,population\nv1,A,119.1,28.5,300\nv2,B,119.2,28.5,\n")
    pop = villages_from_file(f, region, _townships()).gdf["population"]
    assert list(pop) == [300, region.demand.default_population]
    osm = _csv(
        tmp_path / "places.osm",
        "<?xml version='1.0' encoding='UTF-8'?>\n<osm version='0.6'>\n"
        "<node id='1061' lat='28.5' lon='119.1' version='1'>"
        "<tag k='place' v='village'/><tag k='population' v='-50'/></node>\n</osm>\n",
    )
    with pytest.raises(InputError) as e:
        villages_from_osm(osm, region, _townships())
    assert e.value.message == f"{osm}: village 'osm-1061': population = -50 is not valid"
    assert "population tag" in str(e.value.hint)


VILLAGES_HEADER = "id,name,lon,lat,population\n"


def _village_error(tmp_path: Path, text: str, name: str = "v.csv") -> InputError:
    f = _csv(tmp_path / name, text)
    with pytest.raises(InputError) as e:
        villages_from_file(f, load_region(), _townships())
    assert e.value.message.startswith(f"{f}: ")
    return e.value


def test_villages_file_without_rows(tmp_path: Path) -> None:
    e = _village_error(tmp_path, VILLAGES_HEADER)
    assert e.message.endswith(": no villages (the file has no rows)")
    empty = gpd.GeoDataFrame({"id": [], "population": []}, geometry=[], crs=4326)
    empty.to_file(tmp_path / "v.geojson", driver="GeoJSON")
    with pytest.raises(InputError, match=r"v\.geojson: no villages \(the file has no rows\)"):
        villages_from_file(tmp_path / "v.geojson", load_region(), _townships())


def test_village_without_id_refused(tmp_path: Path) -> None:
    e = _village_error(
        tmp_path, VILLAGES_HEADER + "v1,A,119.1,28.5,300\n,B,119.2,28.5,10\n  ,C,119.2,28.4,\n"
    )
    assert e.message.endswith(
        ": 2 village(s) without an id, first in data row 2 (rows counted from 1 below the header)"
    )


@pytest.mark.parametrize("sep", [";", "\t"])
def test_semicolon_or_tab_separated_file_says_so(tmp_path: Path, sep: str) -> None:
    header = sep.join(["id", "name", "lon", "lat", "population"])
    e = _village_error(tmp_path, f"{header}\nv1{sep}A{sep}119,1{sep}28,5{sep}300\n")
    assert f"the header is one column {header!r}" in e.message and "not commas" in e.message
    assert "comma-separated" in str(e.hint)
    orders = _csv(tmp_path / "o.csv", f"id{sep}kind{sep}lon{sep}lat\nA{sep}pickup{sep}119{sep}28\n")
    with pytest.raises(InputError, match="the header is one column") as o:
        read_orders(orders)
    assert "comma-separated" in str(o.value.hint)


def test_villages_missing_columns_quote_the_header_and_did_you_mean(tmp_path: Path) -> None:
    e = _village_error(tmp_path, "ID,Name,Longitude,Latitude,Pop\nv1,A,119.1,28.5,3\n")
    assert e.message.endswith(
        ": missing column(s) ['id', 'lat', 'lon'] (the columns found: "
        "['ID', 'Name', 'Longitude', 'Latitude', 'Pop'])"
    )
    assert str(e.hint).startswith("did you mean 'id'? Rename 'ID' to 'id'; ")


@pytest.mark.parametrize(
    ("cell", "fix"),
    [('"5,990"', "write 5990"), ("599 人", "write 599"), ("many", "write a number")],
)
def test_unreadable_population_refused(tmp_path: Path, cell: str, fix: str) -> None:
    e = _village_error(tmp_path, VILLAGES_HEADER + f"v1,A,119.1,28.5,300\nv2,B,119.2,28.5,{cell}\n")
    shown = cell.strip('"')
    assert e.message.endswith(
        f": village 'v2': population = {shown!r} is not a number (1 such village(s))"
    )
    assert str(e.hint).startswith(fix)


@pytest.mark.parametrize("column", ["Population", "pop", "人口", "POPULATION", "populaton"])
def test_population_column_spelt_otherwise_refused(tmp_path: Path, column: str) -> None:
    e = _village_error(tmp_path, f"id,name,lon,lat,{column}\nv1,A,119.1,28.5,300\n")
    assert e.message.endswith(f": no 'population' column, but a column {column!r}")
    assert "Rename it to population" in str(e.hint)
    # without any population column every village gets the default, as documented
    _csv(tmp_path / "v.csv", "id,name,lon,lat\nv1,A,119.1,28.5\n")
    pop = villages_from_file(tmp_path / "v.csv", load_region(), _townships()).gdf["population"]
    assert list(pop) == [load_region().demand.default_population]


def test_empty_village_cell_is_an_empty_string(tmp_path: Path) -> None:
    """An order without a village is written with an empty village field, never 'nan'."""
    f = _csv(
        tmp_path / "o.csv",
        "id,kind,village,lon,lat,parcels,kg\nA,pickup,,119,28,0,5\nB,pickup, v1 ,119,28,0,5\n",
    )
    assert read_orders(f)["village"].tolist() == ["", "v1"]
    pts = gpd.GeoDataFrame(
        {"id": ["A"], "kind": ["pickup"], "village": [None], "parcels": [0], "kg": [5]},
        geometry=gpd.points_from_xy([119.0], [28.0]),
        crs=4326,
    )
    pts.to_file(tmp_path / "o.geojson", driver="GeoJSON")
    assert read_orders(tmp_path / "o.geojson")["village"].tolist() == [""]


def test_order_far_from_its_village_refused(tmp_path: Path) -> None:
    villages = pd.DataFrame({"id": ["V001", "V041"], "lon": [119.256651, 118.735163],
                             "lat": [28.559177, 28.348514]})  # fmt: skip
    lat_per_m = 1 / 111_195  # degrees of latitude per metre (mean Earth radius)
    text = (
        "id,kind,village,lon,lat,parcels,kg\n"
        f"A,pickup,V001,119.256651,{28.559177 + (ORDER_VILLAGE_MAX_M - 100) * lat_per_m},0,5\n"
        "B,pickup,,118.735163,28.348514,0,5\n"  # no village: routed by lon/lat alone
        "C,pickup,V041,118.735163,28.348514,0,5\n"
    )
    f = _csv(tmp_path / "o.csv", text)
    check_order_villages(read_orders(f), villages, str(f))  # 4.9 km: accepted
    _csv(f, text + "D-V001,delivery,V001,118.735163,28.348514,0,5\n")
    with pytest.raises(InputError) as e:
        check_order_villages(read_orders(f), villages, str(f))
    assert e.value.message == (
        f"{f}: 1 order(s) lie more than 5 km from the village they name, first order D-V001: "
        "its lon/lat (118.735163, 28.348514) is 56.1 km from village V001 (119.256651, 28.559177)"
    )
    assert "fix lon/lat or village, or leave village empty" in str(e.value.hint)
    _csv(
        f,
        text
        + f"E,pickup,V001,119.256651,{28.559177 + (ORDER_VILLAGE_MAX_M + 100) * lat_per_m},0,5\n",
    )
    with pytest.raises(InputError, match=r"first order E: .* is 5\.1 km from village V001"):
        check_order_villages(read_orders(f), villages, str(f))


def test_numeric_village_ids_match_across_geojson_files(tmp_path: Path) -> None:
    """Village ids written as JSON numbers: a null village among the orders makes the column
    floats; 1.0 is still village 1 (it was '1.0', and every order was refused)."""
    points = gpd.points_from_xy([119.1, 119.2], [28.5, 28.5])
    villages = gpd.GeoDataFrame({"id": [1, 2], "population": [300, 200]}, geometry=points, crs=4326)
    villages.to_file(tmp_path / "v.geojson", driver="GeoJSON")
    orders = gpd.GeoDataFrame(
        {
            "id": [10, 11, 12],
            "kind": ["pickup"] * 3,
            "village": [1, 2, None],
            "parcels": 0,
            "kg": 5,
        },
        geometry=gpd.points_from_xy([119.1, 119.2, 119.3], [28.5, 28.5, 28.5]),
        crs=4326,
    )
    orders.to_file(tmp_path / "o.geojson", driver="GeoJSON")
    read = read_orders(tmp_path / "o.geojson")
    assert read["id"].tolist() == ["10", "11", "12"] and read["village"].tolist() == ["1", "2", ""]
    table = villages_from_file(tmp_path / "v.geojson", load_region(), _townships()).gdf
    assert table["id"].tolist() == ["1", "2"]
    check_order_villages(read, table, "o.geojson")  # no error
    with pytest.raises(InputError) as e:
        check_order_villages(read.assign(village=["1", "3", ""]), table, "o.geojson")
    assert e.value.message.endswith("first order 11: village '3'")


def test_order_naming_a_village_left_out_says_so(tmp_path: Path) -> None:
    f = _csv(
        tmp_path / "v.csv", VILLAGES_HEADER + "V1,A,119.1,28.5,3\nV900,杭州,120.155,30.274,9\n"
    )
    villages = villages_from_file(f, load_region(), _townships())
    assert villages.dropped_ids == ("V900",) and villages.gdf["id"].tolist() == ["V1"]
    o = _csv(tmp_path / "o.csv", "id,kind,village,lon,lat,parcels,kg\nA,pickup,V1,119.1,28.5,0,5\n"
             "B,pickup,V900,120.155,30.274,0,5\n")  # fmt: skip
    with pytest.raises(InputError) as e:
        check_order_villages(
            read_orders(o), villages.gdf, str(o),
            left_out=villages.dropped_ids, villages_source=villages.source,
        )  # fmt: skip
    assert e.value.message == (
        f"{o}: 1 order(s) name a village that lies outside every township and was left out, "
        f"first order B: village 'V900' ({f})"
    )
    assert "leave the order's village empty" in str(e.value.hint)


def test_blanks_after_commas_and_full_width_colon(tmp_path: Path) -> None:
    f = _csv(
        tmp_path / "o.csv",
        "id, kind, village, lon, lat, parcels, kg, tw_start, tw_end\n"
        "A1, delivery, V001 , 119.25, 28.55, 3, 6, 09:00 , 12:00\n",
    )
    row = read_orders(f).iloc[0]
    assert (row["id"], row["kind"], row["village"], row["parcels"]) == ("A1", "delivery", "V001", 3)
    assert (row["tw_start_s"], row["tw_end_s"]) == (9 * 3600, 12 * 3600)
    _csv(f, "id,kind,lon,lat,parcels,kg,tw_start\nA1,delivery,119.25,28.55,0,5,08：00\n")
    with pytest.raises(InputError) as e:
        read_orders(f)
    assert e.value.message == f"{f}, order A1: tw_start = '08：00' has a full-width colon '：'"
    assert str(e.value.hint) == "write it with the ASCII colon ':' (08:00)"


def test_an_empty_or_missing_quantity_is_refused_not_read_as_zero(tmp_path: Path) -> None:
    """bb21 D7: an empty kg cell was refused as "kg = nan" (the user typed nothing), and a file
    without a kg or parcels column was read as 0 kg / 0 parcels for every order, so vehicle
    capacity never bound, without a word. Both are refused: the cell is named empty, the order
    and what to give; a missing column is a missing required column that says why."""
    f = _csv(tmp_path / "o.csv", "id,kind,lon,lat,parcels,kg\nD1,delivery,119,28,10,20\n"
             "E1,delivery,119,28,10,\n")  # fmt: skip
    with pytest.raises(InputError) as e:
        read_orders(f)
    assert (
        e.value.message == f"{f}, order E1: the kg cell is empty (an empty cell is not read as 0)"
    )
    assert e.value.hint == "give the weight in kg (0 only if the order weighs nothing)"
    _csv(f, "id,kind,lon,lat,parcels,kg\nP1,pickup,119,28, ,50\n")
    with pytest.raises(InputError, match=r"order P1: the parcels cell is empty") as e:
        read_orders(f)
    assert "0 for a pickup of produce or tea" in str(e.value.hint)
    for header, row, missing in (
        ("id,kind,lon,lat,parcels", "A,delivery,119,28,3", "['kg']"),
        ("id,kind,lon,lat,kg", "A,delivery,119,28,6", "['parcels']"),
        ("id,kind,lon,lat", "A,delivery,119,28", "['parcels', 'kg']"),
    ):
        _csv(f, f"{header}\n{row}\n")
        with pytest.raises(InputError) as e:
            read_orders(f)
        assert e.value.message.startswith(f"{f}: missing required column(s) {missing}")
        assert "a missing quantity is not read as 0" in e.value.message
    _csv(f, "id,kind,lon,lat,parcels,kg\nP1,pickup,119,28,0,50\n")  # zeros are quantities
    assert read_orders(f)[["parcels", "kg"]].iloc[0].tolist() == [0, 50]


def test_fractional_parcels_refused(tmp_path: Path) -> None:
    f = _csv(
        tmp_path / "o.csv",
        "id,kind,lon,lat,parcels,kg\nA,delivery,119,28,2,4\nB,delivery,119,28,2.5,5\n",
    )
    with pytest.raises(InputError) as e:
        read_orders(f)
    assert e.value.message == f"{f}, order B: parcels = 2.5 is not a whole number"

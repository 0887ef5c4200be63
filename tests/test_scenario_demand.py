"""Scenario files, region overrides, villages and orders: values and bad input."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString

from lastmile.config import ColdChainLimits, load_region
from lastmile.demand import (
    ORDERS_TABLE,
    _split,
    check_orders,
    read_orders,
    read_point_file,
    with_cold_chain_limits,
)
from lastmile.errors import InputError
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
        ("[weather]\nrain = 1\n", r"unknown table\(s\) \['weather'\]"),
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
        ({"tw_end": "noon"}, "order A1: 'noon' is not a time"),
        ({"tw_end": "16:60"}, "order A1: '16:60' is not a time"),
        ({"tw_start": "-1:00"}, "order A1: '-1:00' is not a time"),
        ({"max_in_vehicle_min": 0}, "order A1: max_in_vehicle_min must be positive"),
    ],
)
def test_bad_orders_name_the_order(changes: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        check_orders(_orders(**changes), "orders.csv")


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
    f.write_text("id,kind,lon,lat,product_class,tw_end,max_in_vehicle_min\n"
                 "B1,pickup,119.2,28.5,tea,630,\nB2,pickup,119.2,28.5,produce,,45.5\n",
                 encoding="utf-8")  # fmt: skip
    b = with_cold_chain_limits(read_orders(f), ColdChainLimits(7200, 14400, 14400))
    assert list(b["service_s"]) == [300, 300] and list(b["tw_end_s"].fillna(-1)) == [37_800, -1]
    assert b["tw_start_s"].isna().all() and list(b["max_in_vehicle_s"]) == [14_400, 2730]
    pd.concat([_orders(), _orders()]).to_csv(f, index=False)
    with pytest.raises(InputError, match=r"duplicate order ids \['A1'\]"):
        read_orders(f)
    f.write_text("", encoding="utf-8")
    with pytest.raises(InputError, match="not a readable orders file"):
        read_orders(f)
    f.write_text("id,kind\nA1,pickup\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"missing column\(s\) \['lat', 'lon'\]"):
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
    with pytest.raises(InputError, match="orders 'A1' has no valid point"):
        read_orders(tmp_path / "line.geojson")
    with pytest.raises(InputError, match="villages 'A1' has no valid point"):
        read_point_file(tmp_path / "line.geojson", "villages", {"id": str})
    (tmp_path / "junk.geojson").write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="not a readable villages file"):
        read_point_file(tmp_path / "junk.geojson", "villages", {"id": str})
    with pytest.raises(InputError, match=r"villages file .* does not exist"):
        read_point_file(tmp_path / "nope.csv", "villages", {"id": str})

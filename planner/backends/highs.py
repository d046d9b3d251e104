"""HiGHS backend: the model goes in as arrays, LP bound and core MIP first.

The constraint matrix from :func:`to_matrix` is handed over column-wise (CSC
start/index/value) in a ``HighsLp`` with every column in [0, 1]; no
per-variable or per-expression API is used, so building costs one numpy pass.
A solve is up to three HiGHS runs of that one model (see :func:`solve`): its
LP relaxation (the bound), a MIP over the core arcs (the plan), and the full
MIP only when the core plan is not yet within --gap of the bound.

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
from planner.backends.base import BackendSolution, SolveOptions, relative_gap
from planner.models.core import AssignmentProblem, restrict_arcs, to_matrix

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


def _warm_start(h: highspy._Highs, problem: AssignmentProblem, options: SolveOptions, start: np.ndarray | None) -> str:
    """Pass a complete start (the core-MIP plan, else ``problem.start``) as the MIP start."""
    start = start if start is not None else complete_start(problem, options)
    if start is None:
        return ""
    solution = highspy.HighsSolution()
    solution.col_value = problem.choice_to_x(start)
    return "HiGHS rejected the warm start" if h.setSolution(solution) == highspy.HighsStatus.kError else ""


def _left(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.perf_counter())


def _run(
    lp: highspy.HighsLp, options: SolveOptions, time_left: float | None, integer: bool, problem=None, start=None,
    objective_target: float | None = None,
):
    """One HiGHS run of `lp` (as a MIP or as its LP relaxation); returns (highs, model status, note)."""
    h = highspy._Highs()
    run_opts = SolveOptions(
        time_limit=time_left, gap=options.gap, threads=options.threads, seed=options.seed, verbose=options.verbose
    )
    _set_options(h, run_opts)
    if objective_target is not None:
        h.setOptionValue("objective_target", float(objective_target))
    if not integer:
        h.setOptionValue("solver", "simplex")  # deterministic, and far faster than IPM on these LPs
    lp.integrality_ = [highspy.HighsVarType.kInteger if integer else highspy.HighsVarType.kContinuous] * lp.num_col_
    if h.passModel(lp) == highspy.HighsStatus.kError:
        raise RuntimeError("HiGHS rejected the model passed by passModel")
    note = _warm_start(h, problem, options, start) if integer and problem is not None else ""
    highspy._Highs.resetGlobalScheduler(True)  # so that our "threads" option takes effect
    try:
        run_status = h.run()
    finally:
        highspy._Highs.resetGlobalScheduler(True)  # and the next HiGHS user (e.g. PuLP's) can set its own
    model_status = h.getModelStatus()
    if run_status == highspy.HighsStatus.kError and model_status not in _INFEASIBLE:
        raise RuntimeError(f"HiGHS failed: {h.modelStatusToString(model_status)}")
    return h, model_status, note


_INFEASIBLE = (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kUnboundedOrInfeasible)


def _solution(h: highspy._Highs) -> np.ndarray | None:
    info = h.getInfo()
    return np.asarray(h.getSolution().col_value) if info.primal_solution_status == highspy.kSolutionStatusFeasible else None


CORE_ARCS_PER_ITEM = 2  # arcs per item kept by smallest reduced cost, besides those the LP uses
CORE_TIME_SHARE = 0.8  # share of the time left that the core MIP may use
CORE_TIME_DEFAULT = 120.0  # seconds for the core MIP when the run has no time limit
CORE_MIN_GAP = 1e-3  # the core MIP's own gap never below this


def lp_and_core(problem: AssignmentProblem, lp: highspy.HighsLp, options: SolveOptions, deadline: float | None):
    """The LP bound, and a plan from the *core problem* (a standard GAP matheuristic).

    Returns (plan or None, LP bound or None, LP proven infeasible). The LP
    relaxation's value is a valid bound on every plan. On assignment models
    its optimum is nearly integral, and the arcs a good plan uses are the
    ones with small reduced cost; so a MIP over the *core* arcs (those the LP
    uses, each item's CORE_ARCS_PER_ITEM smallest reduced costs, and the
    current owners') is far smaller than the full one and still contains
    near-optimal plans. Its plan is measured against the full LP bound, so
    a small gap is a proof for the full model, not just for the core.
    """
    h, status, _ = _run(lp, options, _left(deadline), integer=False)
    if status in _INFEASIBLE:
        return None, None, True
    x = _solution(h)
    if status != highspy.HighsModelStatus.kOptimal or x is None:
        return None, None, False
    bound = float(h.getInfo().objective_function_value)
    keep = (x > 1e-9) | (_rank_within_item(problem.arc_item, np.asarray(h.getSolution().col_dual)) < CORE_ARCS_PER_ITEM)
    if options.warm_start and problem.start is not None:  # current owners stay reachable
        start = np.asarray(problem.start)
        keep[start[start >= 0]] = True
    core, arcs = restrict_arcs(problem, np.flatnonzero(keep))
    left = _left(deadline)
    budget = CORE_TIME_DEFAULT if left is None else CORE_TIME_SHARE * left
    # A core plan within 0.1% is start enough when the run must prove optimality (--gap 0).
    core_gap = max(options.gap, CORE_MIN_GAP)
    core_options = SolveOptions(gap=core_gap, threads=options.threads, seed=options.seed, verbose=options.verbose)
    # Stop the core search as soon as its plan is within --gap of the *full* LP bound.
    target = bound + options.gap * abs(bound) / max(1e-12, 1.0 - options.gap) if options.gap > 0 else None
    h2, _, _ = _run(build_lp(core), core_options, budget, integer=True, objective_target=target)
    y = _solution(h2)
    if y is None:
        return None, bound, False
    plan = arcs[core.x_to_choice(y)]
    return (plan if np.all(plan >= 0) and not problem.violations(plan) else None), bound, False


def _rank_within_item(arc_item: np.ndarray, key: np.ndarray) -> np.ndarray:
    """0 for each item's arc with the smallest key, 1 for the next, ... (ties by arc index)."""
    order = np.lexsort((key, arc_item))
    first = np.r_[True, arc_item[order][1:] != arc_item[order][:-1]]
    group_start = np.maximum.accumulate(np.where(first, np.arange(len(order)), 0))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order)) - group_start
    return rank


def solve(problem: AssignmentProblem, options: SolveOptions) -> BackendSolution:
    """Solve with HiGHS: the core-MIP plan when it is already within --gap of the LP bound, else the full MIP from it.

    ``options.extra["core"] = False`` skips the LP-and-core step (the full
    MIP alone, e.g. to compare). The bound is the better of the LP bound and
    HiGHS's MIP dual bound; ``offset`` is included via the LP offset.
    """
    t0 = time.perf_counter()
    deadline = None if options.time_limit is None else t0 + options.time_limit
    lp = build_lp(problem)
    t1 = time.perf_counter()
    start, lp_bound, notes = None, None, []
    if options.extra.get("core", True) and problem.n_items and problem.n_arcs:
        start, lp_bound, lp_infeasible = lp_and_core(problem, lp, options, deadline)
        if lp_infeasible:
            return finish(problem, options, NAME, None, proven_optimal=False, infeasible=True, bound=None,
                          build_s=t1 - t0, solve_s=time.perf_counter() - t1, message="Infeasible (LP relaxation)")  # fmt: skip
        if start is not None:
            notes.append("start from the core MIP")
            gap = relative_gap(problem.objective(start), lp_bound)
            if gap is not None and gap <= options.gap + 1e-12:
                return finish(problem, options, NAME, problem.choice_to_x(start), proven_optimal=False, infeasible=False,
                              bound=lp_bound, build_s=t1 - t0, solve_s=time.perf_counter() - t1,
                              message="core-MIP plan within the requested gap of the LP bound")  # fmt: skip
    h, model_status, note = _run(lp, options, _left(deadline), integer=True, problem=problem, start=start)
    t2 = time.perf_counter()
    if model_status == highspy.HighsModelStatus.kModelEmpty:
        return _no_columns(problem, options, lp, t1 - t0, t2 - t1, h.modelStatusToString(model_status))
    info = h.getInfo()
    x = _solution(h)
    bound = float(info.mip_dual_bound) if np.isfinite(info.mip_dual_bound) else None
    if lp_bound is not None:
        bound = lp_bound if bound is None else max(bound, lp_bound)
    message = "; ".join(filter(None, [h.modelStatusToString(model_status), note, *notes]))
    return finish(
        problem,
        options,
        NAME,
        x,
        proven_optimal=model_status == highspy.HighsModelStatus.kOptimal,
        infeasible=model_status in _INFEASIBLE,
        bound=bound,
        build_s=t1 - t0,
        solve_s=t2 - t1,
        solver_objective=float(info.objective_function_value) if x is not None else None,
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

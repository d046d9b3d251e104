"""HiGHS backend: the model goes in as arrays, LP bound and core MIP first.

The constraint matrix from :func:`to_matrix` is handed over column-wise (CSC
start/index/value) in a ``HighsLp`` with every column in [0, 1]; no
per-variable or per-expression API is used, so building costs one numpy pass.
A solve is up to four steps (see :func:`solve`): the LP relaxation (the
bound), a first plan (the LP rounded and repaired, else a MIP over the core
arcs), the LNS of :mod:`planner.backends.lns`, and the full MIP only when the
plan is not yet within --gap of the bound.

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

Threads
-------
``--threads 1`` (the default) is the fastest on a 2-core machine. HiGHS's
MIP gains nothing from a second thread here (the full MIP of the 2,000-
account / 40-CSM book: 3.4 s and the same plan and bound with 1 or 2); what
``threads`` changes is the LNS, which solves that many sub-MIPs side by side
(they do run concurrently: HiGHS releases the GIL). It used to count its
stall in rounds, so two workers ran twice the sub-MIPs before giving up:
that book took 6.1 s with --threads 2 against 2.6 s with 1 (the issue's
78.4 s against 23.6 s was the same effect before the neighbourhood fixes).
Counted in sub-MIPs it is 3.6 s against 2.5 s: on 2 cores shared with the
process's own Python work (building neighbourhoods, scoring agents) and with
anything else running, two sub-MIPs at once barely beat one after the other.
More threads pay only on more cores.

MIP presolve
------------
Every MIP run (the full MIP, the core MIP, the LNS sub-MIPs) has HiGHS's
presolve off. On these models it removes little (the assign rows of items
with two arcs, by substitution) and what it leaves makes the root's cut
separation slow: the full MIP of the 2,000-account / 40-CSM book proved
0.18% in 19.0 s with presolve and 0.14% in 4.1 s without; its core MIP found
the same plan in 7.6 s with and 1.2 s without; one LNS sub-MIP (~150 items,
12 agents) hit its 2 s safety cap at the root with presolve and made its
first improving plan in 0.4 s without. LP runs keep it (it helps the simplex),
and so do MIPs with a row scaled for huge values (see "Numerics"): there an
x[e] of 1 − 1e-9, integral to HiGHS's tolerance, leaves 1,000 units of slack
in a $1e12 ARR cap, and without presolve's coefficient tightening HiGHS
called a plan 2 units over such a cap optimal (tests/test_numerics.py).

Numerics (see :mod:`planner.backends.numerics`)
-----------------------------------------------
HiGHS's tolerances are absolute (primal feasibility 1e-7, dual 1e-7, on the
model as given), |cost| >= 1e20 counts as infinite, and its dual simplex
fails ("excessive dual values", model status "Not Set") once costs are large
in absolute terms: the elastic diagnosis model, costs ~1e2 and 5e10, did.
So the model HiGHS sees is scaled by powers of two, which is exact:

* objective: every cost and the offset times s = 2^-k, the smallest k >= 0
  with max|c|·s <= OBJECTIVE_MAX (2^20). Books with costs below ~$1M
  (every ordinary book) have s = 1 and are passed unchanged; an account of
  ARR 1e12 (revenue at risk 3e10) gets s = 2^-15, so a $1 difference is
  still 3e-5 in HiGHS's units, far above its 1e-7 tolerance;
* rows (:func:`numerics.row_factors`): a row whose largest |coefficient|
  exceeds 2^30 is multiplied, coefficients and both sides, by t = 2^-k
  that brings that coefficient to at most 2^20. An ARR row of a $1e12 account then
  carries values ~1e6, whose double-precision rounding (~1e-10 per term) is
  below the 1e-7 tolerance; unscaled, a row activity of 1e12 has rounding
  noise ~1e-4 and the tolerance could not be met or checked. Rows below
  2^30 (ARR up to ~$1.07B) are passed unchanged.

Every number read back is unscaled: objective values and bounds divided by
s, reduced costs divided by s, row duals times t / s (a row scaled by t has a
dual 1/t as large). The ``objective_target`` given to the core MIP is
multiplied by s. Plans are 0/1 choices, so they need no unscaling; their
objective is recomputed from the unscaled problem by :func:`finish`.

A model with a cost or coefficient that is not finite or is at least
``numerics.MAX_VALUE`` (1e15) is not given to HiGHS at all (NO_SOLUTION,
saying which value), and a HiGHS run that ends in an error raises
:class:`numerics.SolverError`; :func:`solve` catches it in each step (the
step is skipped) and answers NO_SOLUTION with HiGHS's own words when no step
produced a plan. No HiGHS failure reaches the user as a traceback.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace

import highspy
import numpy as np
import scipy.sparse as sp

from planner.backends import complete_start, finish, lns
from planner.backends.base import MAX_SEED, BackendSolution, SolveOptions, relative_gap
from planner.backends.numerics import SolverError, pow2_down, row_factors, unrepresentable
from planner.models.core import AssignmentProblem, rank_within_item, restrict_arcs, to_matrix

NAME = "highs"
OBJECTIVE_MAX = 2.0**20  # largest |cost| HiGHS is given (module docstring, "Numerics")


class ScaledLp(highspy.HighsLp):
    """A HighsLp that remembers its power-of-two scaling (HiGHS sees s·c and t_r·(row r)) and its integer columns."""

    cost_scale: float = 1.0
    row_scale: np.ndarray | None = None  # t per row (None: all 1)
    integer: np.ndarray | None = None  # bool per column: integer in a MIP run (None: every column)

    def objective(self, scaled: float) -> float:
        """An objective value or bound read from HiGHS, in the problem's units."""
        return float(scaled) / self.cost_scale

    def row_duals(self, scaled: np.ndarray) -> np.ndarray:
        y = np.asarray(scaled, dtype=float) / self.cost_scale
        return y if self.row_scale is None else y * self.row_scale


def objective_scale(problem: AssignmentProblem) -> float:
    """s = 2^-k that brings the largest |cost| (arc costs and load-cost prices) to at most OBJECTIVE_MAX."""
    costs = [np.abs(np.asarray(problem.arc_cost, dtype=float))]
    for q in problem.load_costs:  # the load columns' costs (module docstring of models.core, "Load costs")
        costs += [q.under_price] + [price for _, price in q.steps]
    largest = max((float(c.max()) for c in costs if len(c)), default=0.0)
    return pow2_down(largest, OBJECTIVE_MAX)


def build_lp(problem: AssignmentProblem) -> ScaledLp:
    """The model as a HighsLp: min c x (+ offset), row_lo <= A x <= row_hi, arcs integer in [0, 1] (scaled, see above).

    The load columns of :func:`to_matrix` (continuous, in [0, upper]) follow the arcs.
    """
    m = to_matrix(problem)
    A = m.A.tocsc()
    A.sort_indices()
    lp = _columns_lp(A, m.cost, m.row_lo, m.row_hi, problem.offset, objective_scale(problem), m.col_hi)
    lp.integer = None if m.integer.all() else m.integer
    lp.integrality_ = _integrality(lp, True)
    return lp


def _integrality(lp: ScaledLp, integer: bool) -> list:
    """HiGHS's integrality list: the integer columns integer in a MIP run, every column continuous in an LP run."""
    if not integer:
        return [highspy.HighsVarType.kContinuous] * lp.num_col_
    if lp.integer is None:
        return [highspy.HighsVarType.kInteger] * lp.num_col_
    kinds = np.array([highspy.HighsVarType.kContinuous, highspy.HighsVarType.kInteger], dtype=object)
    return kinds[lp.integer.astype(np.int64)].tolist()


def _columns_lp(A, cost: np.ndarray, row_lo: np.ndarray, row_hi: np.ndarray, offset: float,
                cost_scale: float = 1.0, col_hi: np.ndarray | None = None) -> ScaledLp:  # fmt: skip
    """A HighsLp over the columns of the CSC matrix ``A``, columns in [0, col_hi] (default 1), costs times ``cost_scale``."""
    n = A.shape[1]
    t = row_factors(A)
    if t is not None:
        A = (sp.diags(t) @ A).tocsc()
        A.sort_indices()
        row_lo, row_hi = row_lo * t, row_hi * t
    lp = ScaledLp()
    lp.cost_scale, lp.row_scale = cost_scale, t
    lp.num_col_ = n
    lp.num_row_ = A.shape[0]
    lp.offset_ = float(offset) * cost_scale
    lp.col_cost_ = np.asarray(cost, dtype=float) * cost_scale
    lp.col_lower_ = np.zeros(n)
    lp.col_upper_ = np.ones(n) if col_hi is None else np.asarray(col_hi, dtype=float)
    lp.row_lower_ = np.where(np.isfinite(row_lo), row_lo, -highspy.kHighsInf)
    lp.row_upper_ = np.where(np.isfinite(row_hi), row_hi, highspy.kHighsInf)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_ = n
    lp.a_matrix_.num_row_ = A.shape[0]
    lp.a_matrix_.start_ = A.indptr.astype(np.int32)
    lp.a_matrix_.index_ = A.indices.astype(np.int32)
    lp.a_matrix_.value_ = A.data.astype(float)
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
            raise SolverError(f"HiGHS rejected option {key}={value!r}")


def _warm_start(h: highspy._Highs, problem: AssignmentProblem, options: SolveOptions, start: np.ndarray | None) -> str:
    """Pass a complete start (the core-MIP plan, else ``problem.start``) as the MIP start."""
    start = start if start is not None else complete_start(problem, options)
    if start is None:
        return ""
    solution = highspy.HighsSolution()
    solution.col_value = problem.full_x(start)  # the load columns at their best values, too
    return "HiGHS rejected the warm start" if h.setSolution(solution) == highspy.HighsStatus.kError else ""


def _left(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.perf_counter())


def _run(
    lp: highspy.HighsLp,
    options: SolveOptions,
    time_left: float | None,
    integer: bool,
    problem=None,
    start=None,
    extra: dict | None = None,
    reset_scheduler: bool = True,
    watch: str | None = None,
    on_plan=None,
):
    """One HiGHS run of `lp` (as a MIP or as its LP relaxation); returns (highs, model status, note).

    Raises :class:`SolverError` when HiGHS rejects an option or the model, or ends the run in an error.

    ``extra`` holds further HiGHS options (e.g. ``objective_target``, ``mip_max_nodes``).
    ``reset_scheduler=False`` is for runs made concurrently from several
    threads (the LNS): they must not reset the scheduler under each other,
    so the caller resets it around the whole batch and all use one thread count.
    ``watch`` (a MIP run's stage name: "core MIP", "full MIP") installs
    :func:`_watch`: the run stops at its time limit and tells
    ``options.progress`` of its plans (and, for the full MIP, its bound).
    """
    h = highspy._Highs()
    run_opts = SolveOptions(
        time_limit=time_left, gap=options.gap, threads=options.threads, seed=options.seed, verbose=options.verbose
    )
    _set_options(h, run_opts)
    for key, value in (extra or {}).items():
        if h.setOptionValue(key, value) == highspy.HighsStatus.kError:
            raise SolverError(f"HiGHS rejected option {key}={value!r}")
    if not integer:
        h.setOptionValue("solver", "simplex")  # deterministic, and far faster than IPM on these LPs
    elif "presolve" not in (extra or {}):  # module docstring, "MIP presolve" (kept on for rows with huge values)
        h.setOptionValue("presolve", MIP_PRESOLVE if getattr(lp, "row_scale", None) is None else "on")
    lp.integrality_ = _integrality(lp, integer) if isinstance(lp, ScaledLp) else (
        [highspy.HighsVarType.kInteger if integer else highspy.HighsVarType.kContinuous] * lp.num_col_)  # fmt: skip
    if h.passModel(lp) == highspy.HighsStatus.kError:
        raise SolverError("HiGHS rejected the model (passModel): a value out of its range")
    note = _warm_start(h, problem, options, start) if integer and problem is not None else ""
    if integer and watch is not None:
        _watch(h, lp, options, None if time_left is None else time.perf_counter() + time_left, watch, on_plan)
    if reset_scheduler:
        highspy._Highs.resetGlobalScheduler(True)  # so that our "threads" option takes effect
    try:
        run_status = h.run()
    finally:
        if reset_scheduler:
            highspy._Highs.resetGlobalScheduler(True)  # and the next HiGHS user (e.g. PuLP's) can set its own
    model_status = h.getModelStatus()
    if run_status == highspy.HighsStatus.kError and model_status not in _INFEASIBLE:
        raise SolverError(
            f"HiGHS stopped with an error (model status {h.modelStatusToString(model_status)!r}), "
            "usually numerical trouble with very large or very unequal numbers"
        )
    return h, model_status, note


def _watch(h: highspy._Highs, lp: ScaledLp, options: SolveOptions, deadline: float | None, stage: str,
           on_plan=None) -> None:  # fmt: skip
    """HiGHS callbacks for one MIP run: stop it at ``deadline``, and report its progress.

    HiGHS checks its own time limit too rarely at the root: on the 10k book a
    full MIP given 16 s ran 74 s (a root cut round or the central rounding
    heuristic took 5-17 s each). Its MIP and simplex interrupt callbacks are
    called many times a second in most of the search, and the run then stops
    within a fraction of a second of the deadline (model status "Interrupted
    by user", read as the time limit). Not everywhere: a cut separation round
    calls neither, so the run can still end a round late (given 15 s from the
    rounded plan: 17.7-21 s; given 18 s from the LNS plan in a 120 s CLI run:
    about 50 s; the cause of the longest overruns is the analytic centre HiGHS
    computes at the root, see planner/backends/fence.py). So from
    FENCE_MIN_ARCS arcs on a time-limited full MIP runs in a child process
    killed at the deadline, which then binds (the 10k book's 120 s run: 154 s
    before, 120.8 s after); below it, FULL_MIP_S_PER_ARC keeps time back.
    The full MIP's dual bound is valid for the problem; the core MIP's (over
    some arcs only) is not, so only the full MIP reports one. ``on_plan`` is
    given each improving plan's column vector (the fenced full MIP sends it to
    its parent, see :func:`_full_mip_child`).
    """
    kinds = highspy.cb.HighsCallbackType
    interrupts = (kinds.kCallbackMipInterrupt, kinds.kCallbackSimplexInterrupt)
    improving = kinds.kCallbackMipImprovingSolution
    with_bound = stage == "full MIP"

    def callback(kind, message, out, into, data):
        if kind in interrupts:
            if deadline is not None and time.perf_counter() >= deadline:
                into.user_interrupt = True
            if kind != interrupts[0]:
                return  # the simplex's interrupt says nothing about the MIP's plans and bound
        if kind == improving and on_plan is not None:
            on_plan(np.array(out.mip_solution, dtype=float))
        if options.progress is not None:
            best, bound = float(out.mip_primal_bound), float(out.mip_dual_bound)
            options.tell(stage, lp.objective(best) if abs(best) < highspy.kHighsInf else None,
                         lp.objective(bound) if with_bound and abs(bound) < highspy.kHighsInf else None)  # fmt: skip

    h.setCallback(callback, None)
    for kind in interrupts:
        h.startCallback(kind)
    if options.progress is not None or on_plan is not None:
        h.startCallback(improving)


# Every column is bounded, so "unbounded or infeasible" can only mean infeasible.
_INFEASIBLE = (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kUnboundedOrInfeasible)


def _solution(h: highspy._Highs) -> np.ndarray | None:
    info = h.getInfo()
    return (
        np.asarray(h.getSolution().col_value)
        if info.primal_solution_status == highspy.kSolutionStatusFeasible
        else None
    )


MIP_PRESOLVE = "off"  # HiGHS's presolve in MIP runs (module docstring, "MIP presolve")
CORE_ARCS_PER_ITEM = 2  # arcs per item kept by smallest reduced cost, besides those the LP uses
CORE_TIME_SHARE = 0.35  # share of the time left that the core MIP may use
LNS_TIME_SHARE = 0.85  # share of the time left after the core MIP that the LNS may use (the rest: full MIP)
FULL_MIP_MAX_ARCS = 1_000_000  # from this many arcs a time-limited solve ends with the LNS (no full MIP)
# Seconds per arc the full MIP needs for a first round of root cuts (its bound), and that HiGHS may run past a
# deadline without calling back: on the 10k book (176k arcs) its root LP and first cut round took 11 s, and a
# separation round or heuristic then ran 10 s without an interrupt callback (see _watch).
FULL_MIP_S_PER_ARC = 2e-4
CORE_TIME_DEFAULT = 120.0  # seconds for the core MIP when the run has no time limit
CORE_MIN_GAP = 1e-3  # the core MIP's own gap never below this
SHIFT_TIME_SHARE = 0.2  # share of the time left that lns.polish (single moves, pairs) may use after the rounded LP


@dataclass(frozen=True)
class Relaxation:
    """The LP relaxation's optimum: its value (a bound on every plan), primal values and duals.

    ``x`` and ``col_dual`` are the arcs' (the first n_arcs columns); the load
    columns' values are ``load_x`` (their reduced costs follow from the row
    duals, see :class:`planner.backends.lns.LpGuide`).
    """

    bound: float
    x: np.ndarray
    col_dual: np.ndarray  # reduced costs
    row_dual: np.ndarray
    load_x: np.ndarray | None = None


def lp_relaxation(lp: ScaledLp, options: SolveOptions, deadline: float | None) -> tuple[Relaxation | None, bool]:
    """(the relaxation or None when it did not finish, whether the LP is proven infeasible), in the problem's units.

    Raises :class:`SolverError` when HiGHS fails on the LP.
    """
    h, status, _ = _run(lp, options, _left(deadline), integer=False)
    if status in _INFEASIBLE:
        return None, True
    x = _solution(h)
    if status != highspy.HighsModelStatus.kOptimal or x is None:
        return None, False
    solution = h.getSolution()
    n = len(x) if lp.integer is None else int(lp.integer.sum())  # the arcs come first
    relax = Relaxation(
        lp.objective(h.getInfo().objective_function_value), x[:n], np.asarray(solution.col_dual)[:n] / lp.cost_scale,
        lp.row_duals(solution.row_dual), x[n:],
    )  # fmt: skip
    return relax, False


CG_MIN_ARCS = 100_000  # from this many arcs the LP is solved by column generation
CG_FIRST = 6  # arcs per item in the first restricted LP (cheapest first, and the current owner's)
CG_ADD = 8  # arcs per item added each round (most negative reduced cost first)


def lp_by_columns(problem: AssignmentProblem, options: SolveOptions, deadline: float | None,
                  plan: np.ndarray | None = None) -> Relaxation | None:  # fmt: skip
    """The LP relaxation by column generation (pricing), for books with millions of arcs.

    The restricted LP starts from each item's CG_FIRST cheapest arcs (its
    current owner's, and its arc in ``plan``, a plan that keeps every row, when
    given) plus one artificial column per assign row at a prohibitive cost, so
    it is always feasible; with ``plan`` it is feasible without them from the
    first round (on the 50k book the first rounds otherwise only price out the
    artificials). Each round prices every arc at once,
    rc = c − Aᵀy (one sparse product), and adds each item's CG_ADD most negative
    ones, warm-starting the simplex from the last basis. The bound returned is
    the Lagrangian bound at the duals y,  z_restricted + Σ_{e not in the LP} min(0, rc[e]),
    valid whatever the state of the pricing, and equal to the LP optimum once no
    arc prices out. Returns None when the time runs out or an artificial column
    is still used at the end (then the whole LP decides feasibility).

    Load costs: their continuous columns (models.core, "Load costs") are in the
    restricted LP from the start and never priced out, so only arcs are
    priced. The bound stays valid: for any y (the restricted LP's row duals,
    of the right signs) and any x, z within their column bounds that keep the
    rows, weak duality gives  c x + d z >= Σ_rows y·side + Σ_cols rc·x  with each
    column's term at its worst bound, min(0, rc)·upper (its lower bound is 0).
    The restricted optimum is exactly that sum over the artificial, load and
    chosen arc columns (simplex optimality: each sits at the bound its rc
    picks, or is basic with rc = 0); the artificials, unused at the end, add
    0; an arc left out adds min(0, rc[e])·1. So z_restricted + Σ_{e not in
    the LP} min(0, rc[e]) bounds the whole LP from below, load columns included.
    """
    m = to_matrix(problem)
    A = m.A.tocsc()
    A.sort_indices()
    n_items, n_arcs = problem.n_items, problem.n_arcs
    A_load, A = A[:, n_arcs:], A[:, :n_arcs]  # the load columns, always in the restricted LP; the arcs, priced
    n_load = A_load.shape[1]
    cost, load_cost = m.cost[:n_arcs], m.cost[n_arcs:]
    chosen = rank_within_item(problem.arc_item, cost) < CG_FIRST
    for given in (problem.start, plan):
        if given is not None:
            given = np.asarray(given)
            chosen[given[given >= 0]] = True
    # Prohibitive next to any arc's cost with what it can add to load costs; larger values only make the simplex struggle.
    worst = np.abs(cost) + sum(float(np.max(load_cost[m.load.which == qi], initial=0.0)) * np.abs(problem.resource(q.resource).weight)
                               for qi, q in enumerate(problem.load_costs))  # fmt: skip
    artificial_cost = 10.0 * (float(np.max(worst, initial=0.0)) + 1.0)
    artificial = sp.csc_matrix(
        (np.ones(n_items), (np.arange(n_items), np.arange(n_items))), shape=(A.shape[0], n_items)
    )
    columns = np.flatnonzero(chosen)
    lp = _columns_lp(sp.hstack([artificial, A_load, A[:, columns]], format="csc"),
                     np.r_[np.full(n_items, artificial_cost), load_cost, cost[columns]], m.row_lo, m.row_hi,
                     problem.offset, objective_scale(problem), np.r_[np.ones(n_items), m.col_hi[n_arcs:], np.ones(len(columns))])  # fmt: skip
    # Columns added later are scaled like the first ones: by s, and their rows by t.
    s, t = lp.cost_scale, lp.row_scale
    A_hi = A if t is None else (sp.diags(t) @ A).tocsc()
    h = highspy._Highs()
    _set_options(h, SolveOptions(threads=options.threads, seed=options.seed, verbose=options.verbose))
    h.setOptionValue("solver", "simplex")
    if h.passModel(lp) == highspy.HighsStatus.kError:
        return None
    tol = 1e-9 * max(1.0, float(np.abs(cost).max()))
    while True:
        left = _left(deadline)
        if left is not None:
            if left <= 0:
                return None
            h.setOptionValue("time_limit", float(h.getRunTime() + left))  # HiGHS's clock runs across runs
        highspy._Highs.resetGlobalScheduler(True)
        try:
            h.run()
        finally:
            highspy._Highs.resetGlobalScheduler(True)
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        y = lp.row_duals(h.getSolution().row_dual)  # in the problem's units
        rc = cost - A.T @ y
        price = ~chosen & (rc < -tol)
        if not price.any():
            break
        new = np.flatnonzero(price & (rank_within_item(problem.arc_item, np.where(price, rc, np.inf)) < CG_ADD))
        block = A_hi[:, new]
        h.addCols(len(new), cost[new] * s, np.zeros(len(new)), np.ones(len(new)), block.nnz,
                  block.indptr[:-1].astype(np.int32), block.indices.astype(np.int32), block.data.astype(float))  # fmt: skip
        chosen[new] = True
        columns = np.r_[columns, new]
    values = np.asarray(h.getSolution().col_value)
    if np.any(values[:n_items] > 1e-9):
        return None
    x = np.zeros(problem.n_arcs)
    x[columns] = values[n_items + n_load :]
    # Lagrangian bound at y: the restricted optimum plus what the arcs left out could still gain.
    bound = lp.objective(h.getInfo().objective_function_value) + float(np.minimum(rc[~chosen], 0.0).sum())
    return Relaxation(bound, x, rc, y, values[n_items : n_items + n_load])


def target_objective(bound: float, gap: float) -> float:
    """The largest cost whose relative gap to ``bound`` is within ``gap`` (see base.relative_gap)."""
    return bound + gap * abs(bound) / max(1e-12, 1.0 - gap)


def core_plan(problem: AssignmentProblem, relax: Relaxation, options: SolveOptions, deadline: float | None):
    """A plan from the *core problem* (a standard GAP matheuristic), or None.

    On assignment models the LP optimum is nearly integral, and the arcs a
    good plan uses are the ones with small reduced cost; so a MIP over the
    *core* arcs (those the LP uses, each item's CORE_ARCS_PER_ITEM smallest
    reduced costs, and the current owners') is far smaller than the full one
    and still contains near-optimal plans. It stops as soon as its plan is
    within --gap of the *full* LP bound, so that gap is a proof for the full
    model, not just for the core.
    """
    keep = (relax.x > 1e-9) | (rank_within_item(problem.arc_item, relax.col_dual) < CORE_ARCS_PER_ITEM)
    if options.warm_start and problem.start is not None:  # current owners stay reachable
        start = np.asarray(problem.start)
        keep[start[start >= 0]] = True
    core, arcs = restrict_arcs(problem, np.flatnonzero(keep))
    left = _left(deadline)
    budget = CORE_TIME_DEFAULT if left is None else CORE_TIME_SHARE * left
    # A core plan within 0.1% is start enough when the run must prove optimality (--gap 0).
    core_options = SolveOptions(gap=max(options.gap, CORE_MIN_GAP), threads=options.threads, seed=options.seed,
                                verbose=options.verbose)  # fmt: skip
    lp = build_lp(core)
    extra = (
        {"objective_target": target_objective(relax.bound, options.gap) * lp.cost_scale} if options.gap > 0 else None
    )
    try:
        h, _, _ = _run(lp, replace(core_options, progress=options.progress), budget, integer=True, extra=extra,
                       watch="core MIP")  # fmt: skip
    except SolverError:
        return None  # the caller goes on to its next start
    y = _solution(h)
    if y is None:
        return None
    plan = arcs[core.x_to_choice(y)]
    return plan if np.all(plan >= 0) and not problem.violations(plan) else None


def _solve_sub(sub: AssignmentProblem, time_cap: float, seed: int, gap: float = lns.SUB_GAP) -> np.ndarray | None:
    """One LNS or repair sub-MIP: one thread, stopped by counts (lns.SUB_LIMITS) or ``gap``; inside _sub_mips only."""
    # The LNS derives sub-seeds as seed + step: wrap them into HiGHS's 32-bit range (identity below it).
    sub_options = SolveOptions(gap=gap, threads=1, seed=seed % (MAX_SEED + 1))
    try:
        h, _, _ = _run(build_lp(sub), sub_options, time_cap, integer=True, problem=sub, start=sub.start,
                       extra=lns.SUB_LIMITS, reset_scheduler=False)  # fmt: skip
    except SolverError:
        return None  # as a sub-MIP without a plan: the neighbourhood is left as it was
    y = _solution(h)
    return None if y is None else sub.x_to_choice(y)


@contextmanager
def _sub_mips():
    """A one-thread scheduler for sub-MIPs, set up before they start (they may run concurrently)."""
    highspy._Highs.resetGlobalScheduler(True)
    try:
        _run(_one_column_lp(), SolveOptions(threads=1), None, integer=False, reset_scheduler=False)
    except SolverError:
        pass  # only sets the scheduler up; a sub-MIP that then fails is caught in _solve_sub
    try:
        yield
    finally:
        highspy._Highs.resetGlobalScheduler(True)


def rounded_plan(problem: AssignmentProblem, relax: Relaxation, options: SolveOptions,
                 deadline: float | None) -> np.ndarray | None:  # fmt: skip
    """The LP optimum rounded and repaired (lns.lp_rounding, lns.repair); None unless it keeps every row.

    When it is not yet within --gap of the bound, single moves and pairs of moves (lns.polish) improve it
    first: with load costs the rounding leaves many agents a few hours off their band, which single moves fix
    in about a second and pairs (swaps, ejection chains) further in a few seconds more.
    """
    with _sub_mips():
        plan = lns.repair(problem, lns.lp_rounding(problem, relax.x), _solve_sub, seed=options.seed, deadline=deadline)
    if not (np.all(plan >= 0) and not problem.violations(plan)):
        return None
    if relative_gap(problem.objective(plan), relax.bound) > options.gap:
        left = _left(deadline)  # the moves may use a share of the time left; the LNS needs the rest
        plan, _ = lns.polish(
            problem, plan, deadline=None if left is None else time.perf_counter() + SHIFT_TIME_SHARE * left
        )
    return plan


def improve_plan(problem: AssignmentProblem, plan: np.ndarray, relax: Relaxation, options: SolveOptions,
                 deadline: float | None, beside: bool = False) -> tuple[np.ndarray, dict]:  # fmt: skip
    """The LNS of :mod:`planner.backends.lns` from ``plan``, each sub-MIP solved by HiGHS.

    ``beside``: the full MIP already runs on one of the threads (:func:`_beside_worthwhile`), so the LNS has
    one thread fewer and all the time left.
    """
    left = _left(deadline)
    lns_deadline = None if left is None else time.perf_counter() + (left if beside else _lns_seconds(problem, left))
    workers = max(1, int(options.threads) - (1 if beside else 0))
    guide = lns.LpGuide.from_lp(problem, relax.col_dual, relax.row_dual)
    target = target_objective(relax.bound, options.gap)
    # Pairs of moves between sub-MIPs, where load costs make them pay (lns.improve, polish).
    polish = (lambda choice: lns.polish(problem, choice, deadline=lns_deadline)[0]) if problem.load_costs else None
    with _sub_mips():  # one sub-MIP per thread at a time
        return lns.improve(problem, plan, guide, _solve_sub, target=target, deadline=lns_deadline, seed=options.seed,
                           workers=workers, sub_gap=min(lns.SUB_GAP, options.gap), polish=polish,
                           on_improve=None if options.progress is None else lambda cost: options.tell("LNS", cost))  # fmt: skip


def _best_bound(*bounds: float | None) -> float | None:
    """The highest of the proven bounds given (None among them: no bound from that source)."""
    return max((b for b in bounds if b is not None), default=None)


def _beside_worthwhile(problem: AssignmentProblem, options: SolveOptions, deadline: float | None) -> bool:
    """With 2+ threads on a big time-limited model, the full MIP runs beside the LNS from the first plan.

    Its root needs over a minute on the 10k book to raise the bound past the LP's (module docstring of
    fence.py: the analytic centre alone takes ~60 s), more than it gets after the LNS; on its own core from
    the start it gets the whole time limit, and the LNS runs its sub-MIPs one at a time on the other (two at
    once barely beat one after the other here, see "Threads" above).
    """
    return bool(options.threads >= 2 and deadline is not None and FENCE_MIN_ARCS <= problem.n_arcs < FULL_MIP_MAX_ARCS
                and options.extra.get("fence", True))  # fmt: skip


def _with_beside(problem: AssignmentProblem, options: SolveOptions, beside: _FencedMip, plan: np.ndarray,
                 lp_bound: float | None, deadline: float, notes: list[str], build_s: float,
                 t1: float) -> BackendSolution:  # fmt: skip
    """The LNS's plan and the full MIP run beside it, joined: the better plan, the better bound.

    The full MIP is stopped at once when the LNS's plan is already within --gap of the best bound so far,
    else it runs on to the deadline.
    """
    within = relative_gap(problem.objective(plan), _best_bound(lp_bound, beside.bound))
    try:
        answer = beside.finish(time.perf_counter() if within is not None and within <= options.gap else deadline)
    except SolverError as exc:
        notes.append(f"the full MIP failed: {exc}")
        answer = MipAnswer(choice=None, finished=False, infeasible=False, empty=False, bound=None,
                           solver_objective=None, words="")  # fmt: skip
    choice = plan
    if answer.choice is not None and np.all(answer.choice >= 0) and not problem.violations(answer.choice):
        if problem.objective(answer.choice) < problem.objective(plan):
            choice = answer.choice
    return finish(problem, options, NAME, problem.choice_to_x(choice), finished=answer.finished, infeasible=False,
                  bound=_best_bound(lp_bound, answer.bound), build_s=build_s, solve_s=time.perf_counter() - t1,
                  message="; ".join(filter(None, [answer.words, answer.note, *notes])))  # fmt: skip


def _full_mip_seconds(problem: AssignmentProblem) -> float:
    """The least time worth giving the full MIP (FULL_MIP_S_PER_ARC): with less it proves nothing and overruns."""
    return FULL_MIP_S_PER_ARC * problem.n_arcs


def _lns_seconds(problem: AssignmentProblem, left: float) -> float:
    """The LNS's share of ``left``: LNS_TIME_SHARE, leaving the full MIP at least its _full_mip_seconds.

    When that would leave the LNS under a third of the time, the LNS takes it all and no full MIP follows
    (as from FULL_MIP_MAX_ARCS arcs on).
    """
    if problem.n_arcs >= FULL_MIP_MAX_ARCS:
        return left
    lns_s = left - max((1.0 - LNS_TIME_SHARE) * left, _full_mip_seconds(problem))
    return lns_s if lns_s >= left / 3 else left


def _one_column_lp() -> highspy.HighsLp:
    """min x, 0 <= x <= 1, no rows: the cheapest HiGHS run there is."""
    lp = highspy.HighsLp()
    lp.num_col_ = 1
    lp.col_cost_ = np.ones(1)
    lp.col_lower_ = np.zeros(1)
    lp.col_upper_ = np.ones(1)
    return lp


def _greedy_start(problem: AssignmentProblem, options: SolveOptions) -> np.ndarray | None:
    """The rule-based plan, when it keeps every row: CG's first columns, and a start when the core MIP found none."""
    from planner.backends import greedy

    plan = greedy.solve(problem, options).choice
    return plan if np.all(plan >= 0) and not problem.violations(plan) else None


def _lns_worthwhile(problem: AssignmentProblem, options: SolveOptions) -> bool:
    """The LNS only pays when one neighbourhood is a small part of the problem; else the full MIP is as quick."""
    return bool(options.extra.get("lns", True)) and problem.n_agents > lns.MAX_AGENTS and problem.n_items > lns.MAX_FREE


def solve(problem: AssignmentProblem, options: SolveOptions) -> BackendSolution:
    """Solve with HiGHS in up to four steps, each only when the plan is not yet within --gap of the bound.

    1. the LP relaxation (by column generation on large books): the bound, and the duals that guide 2-3;
    2. a first plan: the LP rounded and repaired (:func:`rounded_plan`) on models big enough for the
       LNS; else, or when that fails, the core MIP (:func:`core_plan`); else the greedy plan;
    3. the LNS (:func:`improve_plan`): better plans, by exact sub-MIPs over a few agents at a time;
    4. the full MIP, warm-started from the best plan so far: proof, or more improvement.

    ``options.extra["core"] = False`` skips steps 1-3 (the full MIP alone,
    e.g. to compare); ``options.extra["lns"] = False`` skips step 3;
    ``options.extra["columns"] = False`` solves the LP whole even on large
    models (the elastic diagnosis models: their LP is quick whole and slow
    by columns). The bound is the better of the LP bound and HiGHS's MIP
    dual bound.
    """
    t0 = time.perf_counter()
    reason = unrepresentable(problem)
    if reason is not None:
        return finish(problem, options, NAME, None, finished=False, infeasible=False, bound=None, build_s=0.0,
                      solve_s=time.perf_counter() - t0, message=f"HiGHS was not run: {reason}")  # fmt: skip
    deadline = None if options.time_limit is None else t0 + options.time_limit
    steps = options.extra.get("core", True) and problem.n_items and problem.n_arcs
    lns_ok = _lns_worthwhile(problem, options)
    by_columns = steps and problem.n_arcs >= CG_MIN_ARCS and options.extra.get("columns", True)
    lp = None if by_columns else build_lp(problem)  # the whole model is built only when a step needs it
    t1 = time.perf_counter()
    start, lp_bound, notes = None, None, []
    if steps:
        relax, lp_infeasible = None, False
        # The greedy plan (when it keeps every row) seeds the column generation with feasible columns.
        greedy = _greedy_start(problem, options) if by_columns else None
        if by_columns:
            relax = lp_by_columns(problem, options, deadline, plan=greedy)
            notes.append("LP by column generation" if relax is not None else "")
        if relax is None and (_left(deadline) is None or _left(deadline) > 0):
            lp = lp if lp is not None else build_lp(problem)
            try:
                relax, lp_infeasible = lp_relaxation(lp, options, deadline)
            except SolverError as exc:  # no bound and no guide: the full MIP below is the last word
                notes.append(f"the LP relaxation failed: {exc}")
        if lp_infeasible:
            return finish(problem, options, NAME, None, finished=False, infeasible=True, bound=None,
                          build_s=t1 - t0, solve_s=time.perf_counter() - t1, message="Infeasible (LP relaxation)")  # fmt: skip
        if relax is not None:
            lp_bound = relax.bound
            options.tell("LP", None, lp_bound)
            # On models too small for the LNS, a repair sub-MIP would be the whole model: the core MIP is quicker.
            start = rounded_plan(problem, relax, options, deadline) if lns_ok else None
            notes.append("start from the rounded LP" if start is not None else "")
            if start is None:
                start = core_plan(problem, relax, options, deadline)
                notes.append("start from the core MIP" if start is not None else "")
            if start is None and lns_ok:
                start = greedy if by_columns else _greedy_start(problem, options)
                notes.append("start from the greedy plan" if start is not None else "")
        if start is not None:
            options.tell("first plan", problem.objective(start), None)
            beside = None
            if lns_ok and relative_gap(problem.objective(start), lp_bound) > options.gap:
                if _beside_worthwhile(problem, options, deadline):
                    beside = _FencedMip(problem, options, deadline, start)
                    notes.append("the full MIP beside the LNS")
                start, stats = improve_plan(problem, start, relax, options, deadline, beside=beside is not None)
                notes.append(
                    f"LNS: {stats['improvements']} improving moves in {stats['steps']} steps, {stats['seconds']:.1f} s"
                )
            if beside is not None:
                return _with_beside(problem, options, beside, start, lp_bound, deadline, notes, t1 - t0, t1)
            gap = relative_gap(problem.objective(start), lp_bound)
            if gap is not None and gap <= options.gap + 1e-12:
                return finish(problem, options, NAME, problem.choice_to_x(start), finished=False, infeasible=False,
                              bound=lp_bound, build_s=t1 - t0, solve_s=time.perf_counter() - t1,
                              message="; ".join(filter(None, ["plan within the requested gap of the LP bound", *notes])))  # fmt: skip
    left = _left(deadline)
    # No full MIP without time to build and run it, nor on millions of arcs (building it alone overruns).
    too_late = left is not None and (left < max(1.0, 0.5 * _full_mip_seconds(problem))
                                     or problem.n_arcs >= FULL_MIP_MAX_ARCS)  # fmt: skip
    if start is not None and too_late:
        return finish(problem, options, NAME, problem.choice_to_x(start), finished=False, infeasible=False,
                      bound=lp_bound, build_s=t1 - t0, solve_s=time.perf_counter() - t1,
                      message="; ".join(filter(None, ["Time limit reached", *notes])))  # fmt: skip
    fenced = left is not None and problem.n_arcs >= FENCE_MIN_ARCS and options.extra.get("fence", True)
    try:
        if fenced:  # HiGHS cannot overrun the deadline (planner/backends/fence.py)
            deadline_mip = time.perf_counter() + left
            answer = _FencedMip(problem, options, deadline_mip, start).finish(deadline_mip)
        else:
            lp = lp if lp is not None else build_lp(problem)
            # HiGHS may run past its deadline by about half of _full_mip_seconds (FULL_MIP_S_PER_ARC): keep that back.
            mip_left = None if left is None else max(0.5, left - min(0.5 * _full_mip_seconds(problem), 0.5 * left))
            answer = _full_mip(lp, problem, options, mip_left, start)
    except SolverError as exc:  # the best plan so far (if any) stands, with the LP bound
        return finish(problem, options, NAME, None if start is None else problem.choice_to_x(start), finished=False,
                      infeasible=False, bound=lp_bound, build_s=t1 - t0, solve_s=time.perf_counter() - t1,
                      message="; ".join(filter(None, [f"the full MIP failed: {exc}", *notes])))  # fmt: skip
    t2 = time.perf_counter()
    if answer.empty:
        lp = lp if lp is not None else build_lp(problem)
        return _no_columns(problem, options, lp, t1 - t0, t2 - t1, answer.words)
    bound = _best_bound(lp_bound, answer.bound)
    return finish(
        problem,
        options,
        NAME,
        None if answer.choice is None else problem.choice_to_x(answer.choice),
        finished=answer.finished,
        infeasible=answer.infeasible,
        bound=bound,
        build_s=t1 - t0,
        solve_s=t2 - t1,
        solver_objective=answer.solver_objective,
        message="; ".join(filter(None, [answer.words, answer.note, *notes])),
    )


# From this many arcs a time-limited full MIP runs in a child process (planner/backends/fence.py).
FENCE_MIN_ARCS = 50_000


@dataclass(frozen=True)
class MipAnswer:
    """What a full-MIP run ended with (picklable: the fenced run sends it from its child)."""

    choice: np.ndarray | None  # the plan (an arc per item), None without one
    finished: bool  # proven optimal within --gap
    infeasible: bool
    empty: bool  # HiGHS's "model empty" (no columns): decided by _no_columns
    bound: float | None  # HiGHS's dual bound, in the problem's units
    solver_objective: float | None
    words: str  # the model status, said plainly
    note: str = ""  # e.g. a rejected warm start


def _full_mip(lp: ScaledLp, problem: AssignmentProblem, options: SolveOptions, time_left: float | None,
              start: np.ndarray | None, on_plan=None) -> MipAnswer:  # fmt: skip
    """The full MIP, warm-started from ``start``, in this process. Raises :class:`SolverError` as :func:`_run`."""
    h, status, note = _run(lp, options, time_left, integer=True, problem=problem, start=start, watch="full MIP",
                           on_plan=on_plan)  # fmt: skip
    info = h.getInfo()
    x = _solution(h)
    return MipAnswer(
        choice=None if x is None else problem.x_to_choice(x),
        finished=status == highspy.HighsModelStatus.kOptimal,
        infeasible=status in _INFEASIBLE,
        empty=status == highspy.HighsModelStatus.kModelEmpty,
        bound=lp.objective(info.mip_dual_bound) if np.isfinite(info.mip_dual_bound) else None,
        solver_objective=lp.objective(info.objective_function_value) if x is not None else None,
        words=h.modelStatusToString(status) if status == highspy.HighsModelStatus.kModelEmpty
        else _status_words(h, status, x is not None, options),
        note=note,
    )  # fmt: skip


def _full_mip_child(problem: AssignmentProblem, options: SolveOptions, time_left: float, start, report) -> MipAnswer:
    """The full MIP in the fenced child: each improving plan and each better bound is reported as it comes."""
    sent = [None]

    def tell(stage, best, bound):  # the callbacks call this many times a second: send only what changed
        if (best, bound) != sent[0]:
            sent[0] = (best, bound)
            report(("tell", stage, best, bound))

    def on_plan(x):
        report(("plan", problem.x_to_choice(x)))

    lp = build_lp(problem)
    return _full_mip(lp, problem, replace(options, progress=tell), time_left, start, on_plan)


FENCE_START_S = 1.0  # seconds kept back for starting the fenced child and reading its answer


class _FencedMip:
    """The full MIP in a child process (fence.Fenced), started now: it keeps the best plan and bound it is told."""

    def __init__(self, problem: AssignmentProblem, options: SolveOptions, deadline: float, start: np.ndarray | None):
        from planner.backends import fence

        self.problem, self.options = problem, options
        self.best = {"choice": start, "objective": None if start is None else problem.objective(start), "bound": None}
        self._lock = threading.Lock()
        time_left = max(0.5, deadline - time.perf_counter() - FENCE_START_S)
        child_options = replace(options, progress=None, threads=1)
        self._child = fence.Fenced(_full_mip_child, (problem, child_options, time_left, start), self._on_report)

    def _on_report(self, payload) -> None:  # in the fence's reader thread
        if payload[0] == "tell":
            _, stage, cost, bound = payload
            with self._lock:
                if bound is not None and (self.best["bound"] is None or bound > self.best["bound"]):
                    self.best["bound"] = bound
            self.options.tell(stage, cost, bound)
            return
        choice = payload[1]
        if np.all(choice >= 0) and not self.problem.violations(choice):
            cost = self.problem.objective(choice)
            with self._lock:
                if self.best["objective"] is None or cost < self.best["objective"]:
                    self.best.update(choice=choice, objective=cost)

    @property
    def bound(self) -> float | None:
        with self._lock:
            return self.best["bound"]

    def finish(self, deadline: float) -> MipAnswer:
        """Its answer when it ends before ``deadline``, else (killed then) the best plan and bound it told."""
        from planner.backends import fence

        try:
            done, answer = self._child.wait(deadline)
        except fence.FenceError as exc:
            raise SolverError(str(exc).splitlines()[0]) from None
        if done:
            return answer
        with self._lock:
            best = dict(self.best)
        return MipAnswer(
            choice=best["choice"], finished=False, infeasible=False, empty=False, bound=best["bound"],
            solver_objective=None, words="Time limit reached",
        )  # fmt: skip


def _status_words(h: highspy._Highs, status, has_plan: bool, options: SolveOptions) -> str:
    """HiGHS's model status, said plainly when the run ended without a plan for a reason other than a proof."""
    if status == highspy.HighsModelStatus.kInterrupt:  # by _watch, at the deadline
        status = highspy.HighsModelStatus.kTimeLimit
    words = h.modelStatusToString(status)
    if has_plan or status in _INFEASIBLE:
        return words
    if status == highspy.HighsModelStatus.kTimeLimit and options.time_limit is not None:
        return f"{words} ({options.time_limit:g} s) before any plan was found"
    return f"HiGHS stopped without a plan (model status {words!r})"


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
        finished=feasible,
        infeasible=not feasible,
        bound=problem.offset if feasible else None,
        build_s=build_s,
        solve_s=solve_s,
        message=message,
    )

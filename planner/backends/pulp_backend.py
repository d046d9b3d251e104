"""PuLP backend: the same matrix as the other backends, any solver PuLP drives.

Rows come from :func:`to_matrix` and each becomes one ``LpAffineExpression``
built from a ``(variable, coefficient)`` list (a ranged row becomes two
constraints: PuLP has no ranged rows). The default solver is the CBC binary
bundled with PuLP 3.x (``PULP_CBC_CMD``), so this backend works out of the
box; ``options.extra["pulp_solver"]`` names any other available PuLP solver
(``"GUROBI_CMD"``, ``"CPLEX_CMD"``, ``"HiGHS_CMD"``, ...).

PuLP does not expose the best bound. For CBC we send the solver log to a
temporary file and read CBC's final summary ("Result - ...", "Objective
value:", "Lower bound:"); CBC prints the bound with 3 decimals. For other
solvers, and when the log has no bound, the bound is None unless the solver
reports optimality, in which case it is the objective (optimal within the
solver's gap tolerance, which is ``options.gap``).

PuLP maps CBC's "stopped on time with a plan" to ``LpStatusOptimal``, so the
solution status (``sol_status``) is what tells a proven optimum
(``LpSolutionOptimal``) from a plan (``LpSolutionIntegerFeasible``), and a
proven infeasibility (``LpStatusInfeasible``) from stopping without a plan.

CBC 2.10 (the bundled binary) can also answer "Integer infeasible" when the
time limit expires inside its preprocessing ("Pre-processing says infeasible
or unbounded"), on perfectly feasible models. So a CBC infeasibility counts as
a proof only when CBC's own wall clock stayed below the time limit; otherwise
the result is NO_SOLUTION and the message says why.

Numerics: a row whose largest |coefficient| exceeds 2^30 (an ARR row with a
$1e12 account) is multiplied, coefficients and both sides, by the power of
ten :func:`numerics.row_factors` gives, bringing it to at most 2^20 (the row
has the same 0/1 solutions; ten, not two, because PuLP hands the model over
as decimal text with 13 significant digits). Unscaled, CBC called a feasible
model with such a row infeasible.

PuLP writes the model with 13 significant digits (``% .12e``). A value with
more digits reaches the solver rounded: an ARR of $999,998,081,857.56 next
to a cap of exactly $1e12 made CBC cut off the plans that fill that cap, and
report a worse plan as optimal with a bound above a plan HiGHS had found.
So :func:`build_model` says whether every row value and side went over
exactly (:class:`Fidelity`). When one did not, the solver solved a slightly
different model: its bound, its "infeasible" and its "optimal" are no
proof and are dropped (a plan solved to the end is then "feasible" with no
bound), and its plan counts only if :func:```AssignmentProblem.violations``` finds it
within every cap. Costs that lose digits only shift the bound, and by a
known amount: the bound gets Σ_i min_{e ∈ E(i)} (c_e − written c_e) added,
as CP-SAT does for its rounded costs.

A model with a cost or coefficient that is not finite or is at least
``numerics.MAX_VALUE`` is not sent (NO_SOLUTION, naming the value), and a
solver that fails (PuLP's ``PulpSolverError``, a crashed binary) gives
NO_SOLUTION with its words: never an exception.
"""

from __future__ import annotations

import inspect
import re
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pulp
import scipy.sparse as sp

from planner.backends import complete_start, finish
from planner.backends.base import BackendSolution, SolveOptions
from planner.backends.numerics import row_factors, unrepresentable
from planner.errors import UsageError
from planner.models.core import AssignmentProblem, to_matrix

NAME = "pulp"
DEFAULT_SOLVER = "PULP_CBC_CMD"
_CBC_SOLVERS = ("PULP_CBC_CMD", "COIN_CMD")


@dataclass(frozen=True)
class CbcSummary:
    """What CBC's final summary says; any field may be missing from the log."""

    result: str | None  # the text after "Result - ", e.g. "Stopped on time limit"
    objective: float | None
    lower_bound: float | None
    wall_seconds: float | None  # CBC's "Total time ... (Wallclock seconds):"


def parse_cbc_log(text: str) -> CbcSummary:
    """Read the final summary of a CBC log (the last match of each line wins)."""

    def last(pattern: str) -> str | None:
        found = re.findall(pattern, text, flags=re.MULTILINE)
        return found[-1].strip() if found else None

    def number(pattern: str) -> float | None:
        found = last(pattern)
        return float(found) if found is not None else None

    return CbcSummary(
        result=last(r"^Result - (.*)$"),
        objective=number(r"^Objective value:\s+(\S+)"),
        lower_bound=number(r"^Lower bound:\s+(\S+)"),
        wall_seconds=number(r"^Total time.*\(Wallclock seconds\):\s+(\S+)"),
    )


@dataclass(frozen=True)
class Fidelity:
    """Whether the model PuLP writes is the model: rows exactly, and the bound correction for rounded costs."""

    rows_exact: bool
    cost_correction: float  # Σ_i min_e (c_e − written c_e), <= 0 when costs lost digits; 0 when exact


def as_written(values: np.ndarray) -> np.ndarray:
    """What PuLP's model file makes of each value: 13 significant digits."""
    return np.array([float(f"{v:.12e}") for v in np.asarray(values, dtype=float).tolist()])


def _exact(values: np.ndarray) -> bool:
    """Whether each value survives 13 significant digits (to a few units in the last place)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return bool(np.all(np.abs(as_written(v) - v) <= 4 * np.spacing(np.abs(v))))


def _fidelity(problem: AssignmentProblem, A, row_lo: np.ndarray, row_hi: np.ndarray, m=None) -> Fidelity:
    """Rows (and the load columns' upper bounds) written exactly?  The cost correction for what is not."""
    n = problem.n_arcs
    load_hi = np.zeros(0) if m is None or m.load is None else m.col_hi[n:]
    widths = load_hi[m.load.shapes] if len(load_hi) else load_hi  # the bounds that shape a cost must go over exactly
    rows_exact = _exact(A.data) and _exact(row_lo) and _exact(row_hi) and _exact(widths)
    cost = np.asarray(problem.arc_cost, dtype=float)
    err = cost - as_written(cost)
    # A load column z in [0, upper] whose cost lost digits moves a plan's cost by err·z: at worst min(0, err·upper).
    load_cost = np.zeros(0) if m is None else m.cost[n:]
    load_err = float(np.sum(np.minimum((load_cost - as_written(load_cost)) * load_hi, 0.0)))
    if not np.any(err):
        return Fidelity(rows_exact, load_err)
    least = np.full(problem.n_items, np.inf)
    np.minimum.at(least, problem.arc_item, err)
    return Fidelity(rows_exact, float(np.sum(least[np.isfinite(least)])) + load_err)


def build_model(problem: AssignmentProblem) -> tuple[pulp.LpProblem, list[pulp.LpVariable], Fidelity]:
    """min c x subject to the rows of ``to_matrix``; and how exactly PuLP writes it.

    One variable per column of ``to_matrix``: a binary per arc, then a
    continuous one per load column (models.core, "Load costs") in [0, upper].
    """
    m = to_matrix(problem)
    prob = pulp.LpProblem(_safe_name(problem.name), pulp.LpMinimize)
    # PuLP writes columns sorted by name; zero-padding keeps them in arc order (and "z" after "x").
    x = [prob.add_variable(f"x{e:07d}", 0, 1, pulp.LpBinary) for e in range(problem.n_arcs)]
    x += [
        prob.add_variable(f"z{j:07d}", 0, float(hi), pulp.LpContinuous) for j, hi in enumerate(_load_uppers(m).tolist())
    ]
    prob.setObjective(pulp.LpAffineExpression(list(zip(x, m.cost.tolist(), strict=True))))
    A = m.A
    t = row_factors(A, decimal=True)
    row_lo, row_hi = (m.row_lo, m.row_hi) if t is None else (m.row_lo * t, m.row_hi * t)
    if t is not None:
        A = (sp.diags(t) @ A).tocsr()
    for row in range(A.shape[0]):
        span = slice(A.indptr[row], A.indptr[row + 1])
        terms = list(zip([x[e] for e in A.indices[span]], A.data[span].tolist(), strict=True))
        for sense, rhs, suffix in _sides(float(row_lo[row]), float(row_hi[row])):
            prob.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression(terms), sense, f"r{row}{suffix}", rhs))
    return prob, x, _fidelity(problem, A, row_lo, row_hi, m)


def _load_uppers(m) -> np.ndarray:
    """The load columns' upper bounds as PuLP should write them.

    A bound that only keeps a column finite (``LoadColumns.shapes`` False:
    no plan reaches it) is nudged up so that its 13-digit text is never
    below it (written below, the plan that reaches it would break its row by
    a rounding); a step width goes as it is (and is checked by _fidelity).
    """
    if m.load is None:
        return np.zeros(0)
    upper = m.col_hi[m.n_arcs :]
    return np.where(m.load.shapes, upper, upper * (1 + 1e-11) + 1e-11)


def _sides(lo: float, hi: float) -> list[tuple[int, float, str]]:
    """(sense, rhs, name suffix) of the constraints for lo <= row <= hi."""
    if lo == hi:
        return [(pulp.LpConstraintEQ, lo, "")]
    sides = []
    if np.isfinite(lo):
        sides.append((pulp.LpConstraintGE, lo, "_lo"))
    if np.isfinite(hi):
        sides.append((pulp.LpConstraintLE, hi, "_hi"))
    return sides


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", name) or "assignment"


def check_solver_name(name: str) -> None:
    """A UsageError (exit 2) unless ``name`` is a PuLP solver available on this machine."""
    available = pulp.listSolvers(onlyAvailable=True)
    if name not in available:
        raise UsageError(
            f"Expected --pulp-solver to be one of the PuLP solvers available here: {', '.join(available)}; got {name!r}"
        )


def make_solver(name: str, options: SolveOptions, warm_start: bool, log_path: Path | None) -> pulp.LpSolver:
    """Instantiate PuLP solver ``name`` with the options it accepts.

    Solvers differ in which keyword arguments they take, and some pass unknown
    ones straight to the solver as options, so only the ones named in the
    solver's signature are given.
    """
    check_solver_name(name)
    wanted = {
        "msg": bool(options.verbose) and log_path is None,
        "timeLimit": options.time_limit,
        "gapRel": float(options.gap),
        "threads": int(options.threads),
        "warmStart": warm_start,
        "logPath": str(log_path) if log_path is not None else None,
    }
    with warnings.catch_warnings():
        # PuLP 3.x flags PULP_CBC_CMD as going away in 4.0; pyproject pins pulp<4.
        warnings.simplefilter("ignore", DeprecationWarning)
        accepted = inspect.signature(type(pulp.getSolver(name, msg=False)).__init__).parameters
        kwargs = {k: v for k, v in wanted.items() if k in accepted and v is not None}
        return pulp.getSolver(name, **kwargs)


def solve(problem: AssignmentProblem, options: SolveOptions) -> BackendSolution:
    """Solve with PuLP (CBC unless ``options.extra["pulp_solver"]`` says otherwise)."""
    solver_name = options.extra.get("pulp_solver", DEFAULT_SOLVER)
    t0 = time.perf_counter()
    reason = unrepresentable(problem)
    if reason is not None:
        return _no_plan(problem, options, f"{solver_name} was not run: {reason}", time.perf_counter() - t0, 0.0)
    prob, x, fidelity = build_model(problem)
    start = complete_start(problem, options)
    if start is not None:
        for var, value in zip(x, problem.full_x(start), strict=True):
            var.setInitialValue(value)
    with tempfile.TemporaryDirectory(prefix="planner-pulp-") as tmp:
        log_path = Path(tmp) / "solver.log" if solver_name in _CBC_SOLVERS else None
        solver = make_solver(solver_name, options, start is not None, log_path)
        t1 = time.perf_counter()
        try:
            prob.solve(solver)
        except (pulp.PulpSolverError, OSError) as exc:  # the solver crashed or could not be started
            return _no_plan(problem, options, f"{solver_name} failed: {exc}", t1 - t0, time.perf_counter() - t1)
        t2 = time.perf_counter()
        log = log_path.read_text() if log_path is not None and log_path.exists() else None
    if options.verbose and log is not None:
        print(log)  # msg=True and logPath exclude each other in PuLP, so echo the log
    summary = parse_cbc_log(log) if log is not None else None
    has_x = prob.sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible)
    values = np.array([v.varValue if v.varValue is not None else 0.0 for v in x]) if has_x else None
    optimal = prob.sol_status == pulp.LpSolutionOptimal
    solver_objective = pulp.value(prob.objective) if has_x else None
    infeasible, note = _infeasible(prob, summary, options.time_limit, t2 - t1)
    message = f"{solver_name}: {pulp.LpSolution[prob.sol_status]}"
    if summary is not None and summary.result:
        message += f" ({summary.result})"
    notes = [message, note]
    bound = _bound(summary, optimal, solver_objective, problem.offset, float(options.gap))
    if bound is not None:
        bound += fidelity.cost_correction
    if not fidelity.rows_exact:
        notes.append("some row values have more than the 13 significant digits PuLP writes, so the solver saw them "
                     "rounded: its bound and any proof are not reported")  # fmt: skip
        bound, infeasible = None, False
        if values is not None and problem.violations(problem.x_to_choice(values)):
            notes.append(
                f"its plan breaks a cap of the unrounded model: {problem.violations(problem.x_to_choice(values))[0]}"
            )
            values = None
    return finish(
        problem,
        options,
        NAME,
        values,
        finished=optimal,  # CBC ended its search; only a bound it printed makes the plan optimal
        infeasible=infeasible,
        bound=bound,
        build_s=t1 - t0,
        solve_s=t2 - t1,
        solver_objective=solver_objective + problem.offset if solver_objective is not None else None,
        message="; ".join(filter(None, notes)),
    )


def _no_plan(
    problem: AssignmentProblem, options: SolveOptions, message: str, build_s: float, solve_s: float
) -> BackendSolution:
    return finish(problem, options, NAME, None, finished=False, infeasible=False, bound=None, build_s=build_s,
                  solve_s=solve_s, message=message)  # fmt: skip


def _infeasible(
    prob: pulp.LpProblem, summary: CbcSummary | None, time_limit: float | None, solve_s: float
) -> tuple[bool, str]:
    """Whether the solver proved infeasibility, and a note when a CBC claim is not taken as proof."""
    if prob.status != pulp.LpStatusInfeasible:
        return False, ""
    if summary is None or time_limit is None:
        return True, ""
    wall = summary.wall_seconds if summary.wall_seconds is not None else solve_s
    if wall < time_limit:
        return True, ""
    return (
        False,
        "CBC said infeasible after reaching its time limit (it does when the limit cuts preprocessing); not a proof",
    )


def _bound(
    summary: CbcSummary | None, optimal: bool, objective: float | None, offset: float, gap: float
) -> float | None:
    """The bound the solver proved: CBC's "Lower bound:" from its log; else what its stopping rule proves; else None.

    A solver that reports "optimal" stopped because its relative gap reached
    ``gap`` (PuLP passes --gap as gapRel: CBC's ratioGap stops once
    (objective - best possible) <= gap * |objective|), so the best possible is
    at least objective - gap * |objective|: that, not the objective itself, is
    proven. CBC prints no "Lower bound:" line when it stops this way; taking
    the objective as the bound claimed a 0% gap for a plan HiGHS then beat.
    With gap 0 the search was exhaustive and the objective is the bound.
    """
    if summary is not None and summary.lower_bound is not None:
        return summary.lower_bound + offset
    if optimal and objective is not None:
        return objective - gap * abs(objective) + offset
    return None

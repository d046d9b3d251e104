r"""What the solvers can carry, and the exact power-of-two scaling that keeps a model in their range.

Why: the book's numbers reach the solvers unchanged (an account's ARR is a
coefficient of its owner's ARR row and, through revenue at risk and
disruption, part of its arcs' costs), and the solvers work in double
precision with *absolute* tolerances:

* HiGHS treats any |cost| >= 1e20 (``infinite_cost``) and |bound| >= 1e20 as
  infinite, rejects matrix values above 1e15 (``large_matrix_value``), and its
  dual simplex gives up ("excessive dual values", model status "Not Set")
  when costs are large in absolute terms, e.g. costs of 5e10;
* CP-SAT needs every scaled coefficient, and every sum of them, in int64
  (|v| < 9.2e18);
* CBC declares models with huge values infeasible.

Tolerance. A cap or side row is kept when the plan's load exceeds it by at
most ``planner.models.core.tolerance``: 1e-6 relative, but never more than
one unit (an hour, an account, a dollar). A plain 1e-6 relative tolerance
at a $1e12 ARR cap is $1M: the greedy rule called a plan $461,950 over such
a cap feasible while every exact backend proved the book infeasible. The
backends check plans with ``AssignmentProblem.violations`` (this
tolerance), so every plan they hand back keeps every cap to within a unit; HiGHS's own
tolerance on the scaled rows below (1e-6 on values up to 2^20) is ~$1 at a
$1e12 cap, the same.

So every backend first asks :func:`unrepresentable` whether some cost or row
coefficient (a load cost's prices, floor and finite ceiling included) is not a
finite number below ``MAX_VALUE`` (1e15, a thousand
times the ARR the loader accepts, 1e12, times any cost share); when one is, the
backend answers NO_SOLUTION with that sentence instead of a wrong answer.

Scaling by a power of two is exact in floating point: for s = 2^-k,
(s·c)/s == c bit for bit (no rounding unless the numbers underflow, which at
these magnitudes they do not). A backend that scales its objective by s
solves  min s·(Σ c x + offset)  over the same feasible set (same optimal
plans), and divides every objective value and bound it reads back by s; a
row scaled by t (coefficients and both sides) has the same solutions, and
its dual is t times smaller. :func:`pow2_down` picks such a factor.
"""

from __future__ import annotations

import math

import numpy as np

from planner.errors import EXIT_NO_PLAN, PlannerError
from planner.models.core import tolerance  # noqa: F401  (the one cap tolerance; re-exported for the backends)

MAX_VALUE = 1e15  # largest |cost| or |row coefficient| any backend is given
ROW_TRIGGER = 2.0**30  # a row with a larger |coefficient| is scaled (row_factors) ...
ROW_MAX = 2.0**20  # ... so that its largest |coefficient| is at most this


class SolverError(PlannerError):
    """A solver could not solve the model (numerical trouble, an error status): the message says what happened."""

    exit_code = EXIT_NO_PLAN


def pow2_down(largest: float, target: float) -> float:
    """The factor 2^-k (k >= 0, the smallest) that brings ``largest`` to at most ``target``; 1.0 when it already is."""
    if not np.isfinite(largest) or largest <= target:
        return 1.0
    return 2.0 ** -math.ceil(math.log2(largest / target))


def pow10_down(largest: float, target: float) -> float:
    """The factor 10^-k (k >= 0, the smallest) that brings ``largest`` to at most ``target``; 1.0 when it already is."""
    if not np.isfinite(largest) or largest <= target:
        return 1.0
    return 10.0 ** -math.ceil(math.log10(largest / target))


def row_factors(A, decimal: bool = False) -> np.ndarray | None:
    """Per row of the sparse matrix ``A``, t = 2^-k bringing its largest |coefficient| to ROW_MAX when above ROW_TRIGGER.

    ``decimal``: t = 10^-k instead, for a solver that reads the model as
    decimal text (PuLP writes 13 significant digits): whole-dollar ARR then
    stays a short decimal (999998081850 -> 999998.08185), where 2^-20 made
    it 953672.5235462188..., rounded in the file, and the rounding of a
    tight cap's terms was enough for CBC to cut off the best plan.

    None when no row is that large (ordinary books: ARR below ~$1.07B), so
    those models go to the solver exactly as before. A row of a $1e12
    account then carries values ~1e6: with absolute tolerances of 1e-7 to
    1e-6, double-precision rounding of the row activity (~1e-10) stays far
    below them, where at 1e12 it (~1e-4) is far above and a tight cap can be
    neither met nor checked (CBC called a feasible model infeasible).
    """
    if A.nnz == 0:
        return None
    largest = np.asarray(abs(A).max(axis=1).todense()).ravel()
    if not np.any(largest > ROW_TRIGGER):
        return None
    down = pow10_down if decimal else pow2_down
    return np.array([down(v, ROW_MAX) if v > ROW_TRIGGER else 1.0 for v in largest])


def unrepresentable(problem, limit: float = MAX_VALUE) -> str | None:
    """Why the model's numbers cannot go to a solver, naming the first offender; None when they can.

    Costs and row coefficients must be finite and below ``limit`` in
    absolute value. Capacities and side-row bounds may be larger (or
    infinite): a side no plan can reach is no constraint, and the backends
    drop or clamp it.
    """
    for label, values, where in _numbers(problem):
        bad = np.flatnonzero(~np.isfinite(values) | (np.abs(values) >= limit))
        if len(bad):
            e = int(bad[0])
            more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
            return (
                f"{label} {values[e]:.6g} {where(e)}{more} is beyond what the solvers carry "
                f"(expected a finite value below {limit:.0e}; check the book's ARR and cost columns)"
            )
    return None


def _numbers(p):
    """(label, values, arc or position -> words) for the costs and every row's coefficients."""

    def arc(e: int) -> str:
        item = p.item_names[p.arc_item[e]] if p.item_names else str(p.arc_item[e])
        agent = p.agent_names[p.arc_agent[e]] if p.agent_names else str(p.arc_agent[e])
        return f"on the arc {item} -> {agent}"

    yield "cost", np.asarray(p.arc_cost, dtype=float), arc
    for r in p.resources:
        yield f"{r.name} use", np.asarray(r.weight, dtype=float), arc
    for s in p.side_rows:
        yield f"{s.name} coefficient", np.asarray(s.coef, dtype=float), (lambda j, s=s: arc(int(s.arcs[j])))

    def agent(k: int) -> str:
        return f"for {p.agent_names[k] if p.agent_names else k}"

    # Load costs: their prices are costs; floors and finite ceilings are row sides that plans reach.
    for q in p.load_costs:
        yield f"{q.resource} under price", q.under_price, agent
        for j, (_, price) in enumerate(q.steps):
            yield f"{q.resource} step {j + 1} price", price, agent
        yield f"{q.resource} floor", q.floor, agent
        yield f"{q.resource} ceiling", np.where(np.isfinite(q.ceiling), q.ceiling, 0.0), agent


def reachable_sides(coef: np.ndarray, lo: float, hi: float) -> tuple[float, float]:
    """(lo, hi) with each side that no 0/1 solution can violate replaced by -inf / +inf.

    With x in {0, 1}, the row's activity lies in [Σ min(coef, 0), Σ max(coef, 0)];
    a ``hi`` at or above the top (a ``lo`` at or below the bottom) binds no plan.
    """
    coef = np.asarray(coef, dtype=float)
    top, bottom = float(np.maximum(coef, 0).sum()), float(np.minimum(coef, 0).sum())
    return (-np.inf if lo <= bottom else lo), (np.inf if hi >= top else hi)

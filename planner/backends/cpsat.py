"""OR-Tools CP-SAT backend: the model in integers, never looser than the original.

CP-SAT accepts integer coefficients only, so the float model is scaled:

* costs are multiplied by ``COST_SCALE`` (100) and rounded to the nearest
  integer. Exact when every cost has at most 2 decimals. When some cost is
  not, the reported bound is corrected by the worst rounding error each item
  can carry (Σ_i min_{e∈E(i)} (c_e - round(c_e·100)/100)), so it stays a valid
  bound on the true objective, and CP-SAT's "optimal" is not reported as
  proven (the rounded model's optimum may not be the true one).
* each row (resource or side row) is multiplied by the smallest power of
  ten, 10^0 .. 10^``MAX_ROW_DIGITS`` (10^7), that makes all its values
  integers (within 1e-9 relative): workload hours are products of the
  policy's 1-2 decimal multipliers, so they need up to about 7 digits, and
  such rows are exact. A row that no power up to 10^7 makes exact is scaled
  by ``ROW_SCALE`` (1000) and rounded *conservatively*: ceil for the coefficients and floor for the right-hand
  side of a ``<=`` side, floor for the coefficients and ceil for the
  right-hand side of a ``>=`` side (a ranged side row with inexact
  coefficients becomes two rows). Every integer plan is then feasible for
  the float model, never the other way round.

When any row had to be rounded conservatively, the integer model is a
restriction of the original: its plans are valid, but its bound and an
INFEASIBLE answer prove nothing about the original, so the bound is dropped
(None) and INFEASIBLE becomes NO_SOLUTION, with a message saying why.

CP-SAT stops with OPTIMAL also when ``relative_gap_limit`` is reached, like
HiGHS's ``mip_rel_gap``; FEASIBLE (time limit) goes through :func:`classify`
on the recomputed gap. Runs with one worker are deterministic for a seed.
"""

from __future__ import annotations

import time

import numpy as np
from ortools.sat.python import cp_model

from planner.backends import finish
from planner.backends.base import BackendSolution, SolveOptions
from planner.models.core import AssignmentProblem, to_matrix

NAME = "cpsat"
COST_SCALE = 100
ROW_SCALE = 1000
MAX_ROW_DIGITS = 7
_EXACT_TOL = 1e-9


def row_scale(vals: np.ndarray, lo: float, hi: float) -> int:
    """The smallest 10^k (k <= MAX_ROW_DIGITS) that makes the row's values and finite sides integers, else ROW_SCALE."""
    values = np.concatenate([np.asarray(vals, dtype=float), [v for v in (lo, hi) if np.isfinite(v)]])
    for k in range(MAX_ROW_DIGITS + 1):
        y = values * 10**k
        if np.all(np.abs(y - np.round(y)) <= _EXACT_TOL * np.maximum(1.0, np.abs(y))):
            return 10**k
    return ROW_SCALE


def to_int(values: np.ndarray, scale: int, direction: str) -> tuple[np.ndarray, bool]:
    """``values * scale`` as integers and whether that was exact.

    Near-integers (relative 1e-9) are rounded; the rest go ``"up"`` (ceil),
    ``"down"`` (floor) or ``"nearest"``.
    """
    y = np.asarray(values, dtype=float) * scale
    nearest = np.round(y)
    near = np.abs(y - nearest) <= _EXACT_TOL * np.maximum(1.0, np.abs(y))
    if direction == "up":
        other = np.ceil(y)
    elif direction == "down":
        other = np.floor(y)
    elif direction == "nearest":
        other = nearest
    else:
        raise ValueError(f"Expected direction 'up', 'down' or 'nearest', got {direction!r}")
    return np.where(near, nearest, other).astype(np.int64), bool(near.all())


def _scaled_side(value: float, scale: int, direction: str, unbounded: int) -> tuple[int, bool]:
    """A row side times `scale` as an integer, and whether exact; ``unbounded`` for an infinite side."""
    if not np.isfinite(value):
        return unbounded, True
    ints, exact = to_int(np.array([value]), scale, direction)
    return int(ints[0]), exact


class _Builder:
    """Builds the CP-SAT model and remembers whether the scaling was exact."""

    def __init__(self, problem: AssignmentProblem):
        self.problem = problem
        self.model = cp_model.CpModel()
        self.x = [self.model.new_bool_var(f"x{e}") for e in range(problem.n_arcs)]
        self.rows_exact = True
        self.cost_int, self.costs_exact = to_int(problem.arc_cost, COST_SCALE, "nearest")

    def build(self) -> cp_model.CpModel:
        m = to_matrix(self.problem)
        A = m.A
        for row in range(A.shape[0]):
            cols = A.indices[A.indptr[row] : A.indptr[row + 1]]
            vals = A.data[A.indptr[row] : A.indptr[row + 1]]
            if row < self.problem.n_items:
                self.model.add_exactly_one([self.x[e] for e in cols])
            else:
                self._add_row(cols, vals, m.row_lo[row], m.row_hi[row])
        self.model.minimize(cp_model.LinearExpr.weighted_sum(self.x, self.cost_int))
        return self.model

    def _add_row(self, cols: np.ndarray, vals: np.ndarray, lo: float, hi: float) -> None:
        """lo <= Σ vals x[cols] <= hi, scaled so that the integer row is never looser."""
        xs = [self.x[e] for e in cols]
        scale = row_scale(vals, lo, hi)
        up, vals_exact = to_int(vals, scale, "up")
        lower, lo_exact = _scaled_side(lo, scale, "up", cp_model.INT_MIN)
        upper, hi_exact = _scaled_side(hi, scale, "down", cp_model.INT_MAX)
        self.rows_exact &= vals_exact and lo_exact and hi_exact
        if vals_exact:  # the same coefficients serve both sides: one row
            self.model.add_linear_constraint(cp_model.LinearExpr.weighted_sum(xs, up), lower, upper)
            return
        if np.isfinite(hi):
            self.model.add(cp_model.LinearExpr.weighted_sum(xs, up) <= upper)
        if np.isfinite(lo):
            down, _ = to_int(vals, scale, "down")
            self.model.add(cp_model.LinearExpr.weighted_sum(xs, down) >= lower)

    def add_hints(self, options: SolveOptions) -> None:
        """Hint every arc of each item that ``problem.start`` assigns to one of its own arcs."""
        p = self.problem
        if not options.warm_start or p.start is None or len(p.start) != p.n_items:
            return
        start = np.asarray(p.start, dtype=np.int64)
        in_range = (start >= 0) & (start < p.n_arcs)
        own_arc = np.zeros(p.n_items, dtype=bool)
        own_arc[in_range] = p.arc_item[start[in_range]] == np.flatnonzero(in_range)
        for e in np.flatnonzero(own_arc[p.arc_item]):
            self.model.add_hint(self.x[e], int(start[p.arc_item[e]] == e))

    def cost_error_bound(self) -> float:
        """Σ_i min_{e∈E(i)} (c_e - c_int_e / scale): added to the rounded model's bound, a bound on Σ c x.

        Any plan's true cost is its rounded cost plus one rounding error per item,
        and each of those is at least the item's smallest error.
        """
        p = self.problem
        if self.costs_exact:
            return 0.0
        err = np.full(p.n_items, np.inf)
        np.minimum.at(err, p.arc_item, p.arc_cost - self.cost_int / COST_SCALE)
        return float(np.sum(err[np.isfinite(err)]))


def _parameters(solver: cp_model.CpSolver, options: SolveOptions) -> None:
    params = solver.parameters
    params.num_workers = int(options.threads)
    params.random_seed = int(options.seed)
    params.relative_gap_limit = float(options.gap)
    params.log_search_progress = bool(options.verbose)
    if options.time_limit is not None:
        params.max_time_in_seconds = float(options.time_limit)


def solve(problem: AssignmentProblem, options: SolveOptions) -> BackendSolution:
    """Solve with CP-SAT; see the module docstring for what scaling does to bound and status."""
    t0 = time.perf_counter()
    builder = _Builder(problem)
    model = builder.build()
    builder.add_hints(options)
    solver = cp_model.CpSolver()
    _parameters(solver, options)
    t1 = time.perf_counter()
    status = solver.solve(model)
    t2 = time.perf_counter()
    if status == cp_model.MODEL_INVALID:
        raise RuntimeError(f"CP-SAT rejected the model: {model.validate()}")
    has_x = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    x = np.array(list(solver.response_proto.solution)[: problem.n_arcs], dtype=float) if has_x else None
    raw_bound = solver.best_objective_bound
    bound = None
    if builder.rows_exact and np.isfinite(raw_bound) and status != cp_model.INFEASIBLE:
        bound = raw_bound / COST_SCALE + builder.cost_error_bound() + problem.offset
    notes = [solver.status_name(status)]
    if not builder.rows_exact:
        notes.append(
            f"some row values have more than {MAX_ROW_DIGITS} decimals and were rounded conservatively (x{ROW_SCALE}); "
            "the integer model is a restriction, so no bound or infeasibility proof is reported"
        )
    if not builder.costs_exact:
        notes.append(f"some costs have more than 2 decimals and were rounded (x{COST_SCALE}); the bound accounts for it")
    exact = builder.rows_exact and builder.costs_exact
    return finish(
        problem,
        options,
        NAME,
        x,
        proven_optimal=status == cp_model.OPTIMAL and exact,
        infeasible=status == cp_model.INFEASIBLE and builder.rows_exact,
        bound=bound,
        build_s=t1 - t0,
        solve_s=t2 - t1,
        solver_objective=solver.objective_value / COST_SCALE + problem.offset if has_x else None,
        message="; ".join(notes),
    )

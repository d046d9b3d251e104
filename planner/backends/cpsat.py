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
  integers (within float rounding noise, see :func:`near_integer`): workload hours are products of the
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

Load costs
----------
The continuous load columns z of :func:`to_matrix` (models.core, "Load
costs") each sit in one row, with coefficient ±1. With that row scaled by
S (a power of ten chosen as above from its arc weights, its side and the
step widths among the columns' upper bounds), the column becomes the integer variable z' = S·z,
coefficient ±1, domain [0, ceil(S·upper)], cost d/S per unit of z'. When the
row is exact at S, every load S·L, the side S·f or S·g and every step width
S·W are integers, so the best completion of a plan (models.core: z_u =
max(0, f − L), the steps filled in order) is an integer z': the integer
model prices every plan exactly as the float model does. (Rounding a
domain *up* never changes that: an upper bound that reaches the plans'
largest load never binds, and one that is a step width is exact whenever
the row is.) When the row is not exact it is rounded conservatively like
any other (then no bound; the plan's objective is recomputed anyway).

The objective scale M is COST_SCALE·max S over the load rows, so that a
price with 2 decimals, d·M/S, is still an integer (d/S would be rounded
away at S = 10^7 and COST_SCALE alone), unless that does not fit
INT_LIMIT (then the largest 10^k that does). A load column whose cost is
rounded (δ = d/S − round(d·M/S)/M per unit of z') moves a plan's true cost
by δ·z' with 0 <= z' <= its domain's top U, so the bound gets Σ min(0, δ·U)
added, next to the arcs' correction.

64-bit integers
---------------
CP-SAT refuses a model in which a sum of |coefficients| (of the objective, or
of one row with its sides) could overflow int64 ("possible integer
overflow"). Under the loader's maxima that happens: an ARR of 1e12 times a
row scale of 10^7 is 1e19 > 9.2e18. And before that, a scaled value above
2^53 is no longer an exact integer in double precision, so "exact" and
"conservative" rounding stop meaning anything: at 10^5, an ARR row with
1e12 and 1234.5678901 and its cap came out 5 units too tight, and CP-SAT
called the restriction's optimum (7) optimal for a model whose optimum is 4.
So:

* a row side that no 0/1 plan can reach (hi >= Σ max(coef, 0), lo <=
  Σ min(coef, 0)) binds nothing and is dropped before scaling, so huge caps
  cost no digits;
* a row uses its exact power of ten only while Σ|coef|·10^k + |side|·10^k
  stays within ``ROW_LIMIT`` (2^50, where a double still holds every
  integer with room for the product's rounding, below 1/8); else the
  largest 10^k (k may be negative) that fits, rounded conservatively as
  above (a restriction: no bound). An ARR row with a $1e12 account and
  whole-dollar ARR needs 10^0 and fits; with cents, 10^2 still fits;
* the objective uses COST_SCALE (100) while Σ|c|·100 fits ``INT_LIMIT``
  (2^62, half of int64's range, for CP-SAT's own sums), else the largest
  10^k that does; rounding to nearest, with the bound corrected by the worst
  rounding error per item, as above.
* a value counts as an integer when it is within float rounding noise of
  one (:func:`near_integer`: 1e-9, or 64 units in the last place of a large
  value), not within 1e-9 *relative*, which at 1e8 already let 0.1 pass.

A model with a value that is not finite or at least ``numerics.MAX_VALUE``
(1e15) is not built at all, and a model CP-SAT still rejects
(MODEL_INVALID) gives NO_SOLUTION with CP-SAT's first words: never an
exception.

CP-SAT stops with OPTIMAL also when ``relative_gap_limit`` is reached, like
HiGHS's ``mip_rel_gap``; FEASIBLE (time limit) goes through :func:`classify`
on the recomputed gap. Runs with one worker are deterministic for a seed.
"""

from __future__ import annotations

import math
import time

import numpy as np
from ortools.sat.python import cp_model

from planner.backends import finish
from planner.backends.base import BackendSolution, SolveOptions
from planner.backends.numerics import reachable_sides, unrepresentable
from planner.models.core import AssignmentProblem, to_matrix

NAME = "cpsat"
COST_SCALE = 100
ROW_SCALE = 1000
MAX_ROW_DIGITS = 7
INT_LIMIT = 2**62  # largest sum of |scaled costs| given to CP-SAT (module docstring, "64-bit integers")
ROW_LIMIT = 2**50  # largest sum of |scaled values| of one row (exact integers in a double, with room)
_EXACT_TOL = 1e-9
_NOISE = 2.0**-46  # 64 units in the last place, relative


def near_integer(y: np.ndarray) -> np.ndarray:
    """Whether each value is an integer up to float rounding noise (1e-9, or 64 ulps of a large value)."""
    y = np.asarray(y, dtype=float)
    return np.abs(y - np.round(y)) <= np.maximum(_EXACT_TOL, np.abs(y) * _NOISE)


def _fits(values: np.ndarray, scale: float, limit: int = ROW_LIMIT) -> bool:
    """Whether Σ|values|·scale (plus one per value for rounding up) stays within ``limit``."""
    return float(np.abs(values).sum()) * scale + len(values) <= limit


def _largest_fitting(values: np.ndarray, top: int, limit: int = ROW_LIMIT) -> int | float:
    """The largest 10^k, k <= top (k may be negative), at which ``values`` fit ``limit``."""
    total = float(np.abs(values).sum()) + 1.0
    k = min(top, math.floor(math.log10((limit - len(values)) / total)))
    return 10.0**k if k < 0 else 10**k


def row_scale(vals: np.ndarray, lo: float, hi: float) -> int | float:
    """The smallest 10^k (k <= MAX_ROW_DIGITS) that makes the row's values and finite sides integers, else ROW_SCALE.

    Capped so the scaled row fits INT_LIMIT: when the exact scale (or
    ROW_SCALE) does not fit, the largest 10^k that does (then inexact,
    rounded conservatively by the caller).
    """
    values = np.concatenate([np.asarray(vals, dtype=float), [v for v in (lo, hi) if np.isfinite(v)]])
    for k in range(MAX_ROW_DIGITS + 1):
        if np.all(near_integer(values * 10**k)):
            return 10**k if _fits(values, 10**k) else _largest_fitting(values, k)
    return ROW_SCALE if _fits(values, ROW_SCALE) else _largest_fitting(values, 3)


def cost_scale(cost: np.ndarray) -> int | float:
    """COST_SCALE (100) when Σ|c|·100 fits INT_LIMIT, else the largest 10^k that does."""
    cost = np.asarray(cost, dtype=float)
    return COST_SCALE if _fits(cost, COST_SCALE, INT_LIMIT) else _largest_fitting(cost, 2, INT_LIMIT)


def to_int(values: np.ndarray, scale: int, direction: str) -> tuple[np.ndarray, bool]:
    """``values * scale`` as integers and whether that was exact.

    Near-integers (:func:`near_integer`) are rounded; the rest go ``"up"`` (ceil),
    ``"down"`` (floor) or ``"nearest"``.
    """
    y = np.asarray(values, dtype=float) * scale
    nearest = np.round(y)
    near = near_integer(y)
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
        self.x = [self.model.new_bool_var(f"x{e}") for e in range(problem.n_arcs)]  # first: the solution's head
        self.rows_exact = True
        self.rounded_scales: set = set()  # scales of the rows rounded conservatively
        self.matrix = to_matrix(problem)
        n_load = self.matrix.n_columns - problem.n_arcs
        self.z: list = [None] * n_load  # z' = S·z per load column, made with its row
        self.z_scale = np.ones(n_load)  # S of its row
        self.z_top = np.zeros(n_load, dtype=np.int64)  # top of its domain
        self.cost_scale = cost_scale(problem.arc_cost)
        self.cost_int, self.costs_exact = to_int(problem.arc_cost, self.cost_scale, "nearest")
        self.z_cost_int = np.zeros(n_load, dtype=np.int64)

    def build(self) -> cp_model.CpModel:
        m, n = self.matrix, self.problem.n_arcs
        A = m.A
        for row in range(A.shape[0]):
            cols = A.indices[A.indptr[row] : A.indptr[row + 1]]
            vals = A.data[A.indptr[row] : A.indptr[row + 1]]
            if row < self.problem.n_items:
                self.model.add_exactly_one([self.x[e] for e in cols])
            else:
                arc = cols < n
                self._add_row(cols[arc], vals[arc], m.row_lo[row], m.row_hi[row], cols[~arc] - n, vals[~arc])
        for j in np.flatnonzero([z is None for z in self.z]):  # a load column whose row binds no plan: it stays 0
            self.z[j] = self.model.new_int_var(0, 0, f"z{j}")
        self._objective()
        self.model.minimize(
            cp_model.LinearExpr.weighted_sum(self.x + self.z, np.r_[self.cost_int, self.z_cost_int].tolist())
        )
        return self.model

    def _objective(self) -> None:
        """The objective scale M and the integer costs of arcs and load columns (module docstring, "Load costs")."""
        if not self.z:
            return
        p, m = self.problem, self.matrix
        d, upper = m.cost[p.n_arcs :], m.col_hi[p.n_arcs :]
        k = round(math.log10(COST_SCALE * float(self.z_scale.max())))  # the scales are powers of ten
        values = np.r_[np.abs(p.arc_cost), np.abs(d) * upper]  # Σ|cost|·|domain|, what CP-SAT sums
        if _fits(values, 10.0**k, INT_LIMIT):
            self.cost_scale = 10**k if k >= 0 else 10.0**k
        else:
            self.cost_scale = _largest_fitting(values, k, INT_LIMIT)
        self.cost_int, arcs_exact = to_int(p.arc_cost, self.cost_scale, "nearest")
        self.z_cost_int, z_exact = to_int(d, self.cost_scale / self.z_scale, "nearest")
        self.costs_exact = arcs_exact and z_exact

    def _add_row(self, cols: np.ndarray, vals: np.ndarray, lo: float, hi: float,
                 zcols: np.ndarray | None = None, zvals: np.ndarray | None = None) -> None:  # fmt: skip
        """lo <= Σ vals x[cols] + Σ zvals z[zcols] <= hi, scaled so that the integer row is never looser.

        ``zcols``: load columns (0-based among them), each only in this row; they become z' = S·z.
        """
        zcols = np.zeros(0, dtype=np.int64) if zcols is None else zcols
        zvals = np.zeros(0) if zvals is None else zvals
        zupper = self.matrix.col_hi[self.problem.n_arcs + zcols]
        shapes = self.matrix.load.shapes[zcols] if len(zcols) else np.zeros(0, dtype=bool)
        xs = [self.x[e] for e in cols]
        # A side no plan reaches is no constraint (and may not fit int64); a load column spans zvals·[0, upper].
        lo, hi = reachable_sides(np.r_[vals, zvals * zupper], lo, hi)
        if not np.isfinite(lo) and not np.isfinite(hi):
            return
        # Step widths must be exact at the row's scale; the other bounds are never reached (rounded up below).
        scale = row_scale(np.r_[vals, zupper[shapes]], lo, hi)
        up, vals_exact = to_int(vals, scale, "up")
        lower, lo_exact = _scaled_side(lo, scale, "up", cp_model.INT_MIN)
        upper, hi_exact = _scaled_side(hi, scale, "down", cp_model.INT_MAX)
        zs, zcoef = [], np.zeros(0, dtype=np.int64)
        if len(zcols):
            tops, _ = to_int(zupper, scale, "up")
            vals_exact &= bool(np.all(near_integer(zupper[shapes] * scale)))
            if not vals_exact:  # rounded coefficients may need a little more room than S·upper
                tops = tops + len(cols) + 1
            for j, t in zip(zcols.tolist(), tops.tolist(), strict=True):
                self.z[j] = self.model.new_int_var(0, int(t), f"z{j}")
                self.z_scale[j], self.z_top[j] = scale, t
                zs.append(self.z[j])
            zcoef = np.round(zvals).astype(np.int64)  # ±1
        self.rows_exact &= vals_exact and lo_exact and hi_exact
        if not (vals_exact and lo_exact and hi_exact):
            self.rounded_scales.add(scale)
        terms = xs + zs
        if vals_exact:  # the same coefficients serve both sides: one row
            self.model.add_linear_constraint(
                cp_model.LinearExpr.weighted_sum(terms, np.r_[up, zcoef].tolist()), lower, upper
            )
            return
        if np.isfinite(hi):
            self.model.add(cp_model.LinearExpr.weighted_sum(terms, np.r_[up, zcoef].tolist()) <= upper)
        if np.isfinite(lo):
            down, _ = to_int(vals, scale, "down")
            self.model.add(cp_model.LinearExpr.weighted_sum(terms, np.r_[down, zcoef].tolist()) >= lower)

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
        if self.z and own_arc.all():  # a complete start: its load columns too (their best values, in z' units)
            z = np.round(p.full_x(start)[p.n_arcs :] * self.z_scale).astype(np.int64)
            for var, value, top in zip(self.z, z.tolist(), self.z_top.tolist(), strict=True):
                self.model.add_hint(var, int(min(max(value, 0), top)))

    def cost_error_bound(self) -> float:
        """Σ_i min_{e∈E(i)} (c_e - c_int_e / scale): added to the rounded model's bound, a bound on Σ c x.

        Any plan's true cost is its rounded cost plus one rounding error per item,
        and each of those is at least the item's smallest error.
        """
        p = self.problem
        if self.costs_exact:
            return 0.0
        err = np.full(p.n_items, np.inf)
        np.minimum.at(err, p.arc_item, p.arc_cost - self.cost_int / self.cost_scale)
        arcs = float(np.sum(err[np.isfinite(err)]))
        if not self.z:
            return arcs
        # A load column's true cost per unit of z' is d/S; the model charges z_cost_int/M: at worst δ·top.
        d = self.matrix.cost[p.n_arcs :]
        delta_m = d * (self.cost_scale / self.z_scale) - self.z_cost_int  # M·δ, exact for powers of ten
        return arcs + float(np.sum(np.minimum(delta_m * self.z_top, 0.0))) / self.cost_scale


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
    reason = unrepresentable(problem)
    if reason is not None:
        return _no_plan(problem, options, f"CP-SAT was not run: {reason}", time.perf_counter() - t0, 0.0)
    builder = _Builder(problem)
    model = builder.build()
    builder.add_hints(options)
    solver = cp_model.CpSolver()
    _parameters(solver, options)
    t1 = time.perf_counter()
    status = solver.solve(model)
    t2 = time.perf_counter()
    if status == cp_model.MODEL_INVALID:
        first = (model.validate() or "no reason given").splitlines()[0][:200]
        return _no_plan(problem, options, f"CP-SAT rejected the model as invalid ({first})", t1 - t0, t2 - t1)
    has_x = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    x = np.array(list(solver.response_proto.solution)[: problem.n_arcs], dtype=float) if has_x else None
    raw_bound = solver.best_objective_bound
    bound = None
    if builder.rows_exact and np.isfinite(raw_bound) and status != cp_model.INFEASIBLE:
        bound = raw_bound / builder.cost_scale + builder.cost_error_bound() + problem.offset
    notes = [_status_words(solver, status, options)]
    if not builder.rows_exact:
        scales = ", ".join(f"x{v:g}" for v in sorted(builder.rounded_scales))
        notes.append(
            f"some rows have values with more than {MAX_ROW_DIGITS} decimals, or too large to scale exactly within "
            f"64-bit integers, and were rounded conservatively ({scales}); the integer model is a restriction, "
            "so no bound or infeasibility proof is reported"
        )
    if not builder.costs_exact:
        notes.append(f"some costs were rounded (x{builder.cost_scale:g}); the bound accounts for it")
    return finish(
        problem,
        options,
        NAME,
        x,
        finished=status
        == cp_model.OPTIMAL,  # the search ended; without exact rows there is no bound to call it optimal
        infeasible=status == cp_model.INFEASIBLE and builder.rows_exact,
        bound=bound,
        build_s=t1 - t0,
        solve_s=t2 - t1,
        solver_objective=solver.objective_value / builder.cost_scale + problem.offset if has_x else None,
        message="; ".join(notes),
    )


def _status_words(solver: cp_model.CpSolver, status, options: SolveOptions) -> str:
    """CP-SAT's status name, said plainly when it stopped without a plan and without a proof."""
    name = solver.status_name(status)
    if status != cp_model.UNKNOWN:
        return name
    if options.time_limit is not None and solver.wall_time >= 0.9 * options.time_limit:
        return f"{name}: the time limit ({options.time_limit:g} s) was reached before any plan was found"
    return f"{name}: CP-SAT stopped without a plan or a proof"


def _no_plan(
    problem: AssignmentProblem, options: SolveOptions, message: str, build_s: float, solve_s: float
) -> BackendSolution:
    return finish(problem, options, NAME, None, finished=False, infeasible=False, bound=None, build_s=build_s,
                  solve_s=solve_s, message=message)  # fmt: skip

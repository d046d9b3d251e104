"""What every backend shares: one status vocabulary, the options, the answer.

A backend is a module in this package with a ``solve(problem, options)``
function taking a :class:`planner.models.core.AssignmentProblem` and returning
a :class:`BackendSolution`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from planner.errors import UsageError


class Status(str, Enum):
    """The one status vocabulary of every backend and of the plan."""

    OPTIMAL = "optimal"  # proven optimal: a proven bound within 0.01% of the plan (never without a bound)
    FEASIBLE = (
        "feasible"  # a plan whose proven gap is within --gap, or a plan without any bound that no clock cut short
    )
    TIME_LIMITED = "time_limited"  # the time limit stopped the search with a plan whose gap is above --gap (or unknown)
    INFEASIBLE = "infeasible"  # proven: no plan satisfies every constraint
    NO_SOLUTION = "no_solution"  # stopped (time limit, heuristic failure) without any plan

    @property
    def has_plan(self) -> bool:
        return self in (Status.OPTIMAL, Status.FEASIBLE, Status.TIME_LIMITED)


@dataclass(frozen=True)
class SolveOptions:
    time_limit: float | None = None  # seconds; None = no limit
    gap: float = 1e-4  # relative MIP gap at which to stop
    threads: int = 1
    seed: int = 0
    verbose: bool = False
    warm_start: bool = True  # use problem.start where the backend supports it
    extra: dict = field(default_factory=dict)  # backend-specific, e.g. {"pulp_solver": "GUROBI_CMD"}
    # progress(stage, best, bound): told of each better plan (its cost) or better bound while solving (None:
    # unchanged); planner/cli/progress.py shows it on a terminal. Never changes the plan.
    progress: Callable[[str, float | None, float | None], None] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self):
        """No backend ever gets a value its solver rejects: a UsageError (a ValueError) says what was expected.

        The command line asks for a time limit > 0; 0 is allowed here because a
        backend passes on what is left of its budget, which can reach 0.
        """
        t = self.time_limit
        if t is not None and not (_is_number(t) and math.isfinite(t) and t >= 0):
            raise UsageError(f"Expected time_limit to be None or a finite number of seconds >= 0, got {t!r}")
        if not (_is_number(self.gap) and math.isfinite(self.gap) and 0 <= self.gap < 1):
            raise UsageError(f"Expected gap to be a finite number with 0 <= gap < 1, got {self.gap!r}")
        if not (_is_whole(self.threads) and 1 <= self.threads <= MAX_THREADS):
            raise UsageError(f"Expected threads to be a whole number from 1 to {MAX_THREADS}, got {self.threads!r}")
        if not (_is_whole(self.seed) and 0 <= self.seed <= MAX_SEED):
            raise UsageError(f"Expected seed to be a whole number from 0 to {MAX_SEED}, got {self.seed!r}")
        if not isinstance(self.extra, dict):
            raise UsageError(f"Expected extra to be a dict, got {self.extra!r}")
        if self.progress is not None and not callable(self.progress):
            raise UsageError(f"Expected progress to be None or a function, got {self.progress!r}")

    def tell(self, stage: str, best: float | None = None, bound: float | None = None) -> None:
        """Report progress (see ``progress``), if anyone listens."""
        if self.progress is not None:
            self.progress(stage, best, bound)


# What HiGHS and CP-SAT accept: their random seeds are 32-bit signed integers.
MAX_SEED = 2**31 - 1
MAX_THREADS = 256


def _is_number(x) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, (bool, np.bool_))


def _is_whole(x) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


@dataclass
class BackendSolution:
    status: Status
    choice: np.ndarray  # chosen arc per item, -1 where none
    objective: float | None  # Σ c x + offset of `choice`, recomputed from the problem
    bound: float | None  # best proven lower bound on the objective (incl. offset)
    backend: str
    build_s: float = 0.0
    solve_s: float = 0.0
    message: str = ""
    solver_objective: float | None = None  # what the solver itself reported

    @property
    def gap(self) -> float | None:
        """Relative gap (objective - bound) / max(|objective|, 1e-9); 0 when optimal."""
        return relative_gap(self.objective, self.bound)


def relative_gap(objective: float | None, bound: float | None) -> float | None:
    if objective is None or bound is None or not np.isfinite(bound):
        return None
    g = (objective - bound) / max(abs(objective), 1e-9)
    return max(0.0, float(g))


# A plan is called optimal when its proven gap is at most this (HiGHS's and
# CBC's default relative MIP gap); a looser --gap gives "feasible" plans.
OPTIMAL_GAP = 1e-4


def classify(has_solution: bool, finished: bool, infeasible: bool, gap: float | None, options: SolveOptions) -> Status:
    """Map a solver's outcome onto the shared vocabulary, trusting the measured gap over the solver's word.

    Solvers report "optimal" once they reach *their* gap tolerance (which is
    our --gap), so a run stopped at 0.4% would otherwise be called optimal.
    Without a bound (``gap`` None) nothing is proven: the plan is FEASIBLE
    when the solver finished its search or no time limit was set (nothing
    could cut it short), TIME_LIMITED when a time limit may have stopped it.
    """
    if infeasible:
        return Status.INFEASIBLE
    if not has_solution:
        return Status.NO_SOLUTION
    if gap is None:
        return Status.FEASIBLE if finished or options.time_limit is None else Status.TIME_LIMITED
    if gap <= OPTIMAL_GAP + 1e-12:
        return Status.OPTIMAL
    if gap <= options.gap + 1e-12:
        return Status.FEASIBLE
    return Status.TIME_LIMITED

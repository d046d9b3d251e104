"""Book -> solve() -> PlanResult: planning a book of business.

Builds the coverage model (models/coverage.py) of the book and runs it
through the one pipeline (planner/planning/pipeline.py): the backend, the
fall-back to the rule-based plan, the plan's tables, the independent
evaluator, the greedy baseline. An infeasible book comes back with a
diagnosis in words instead of a plan.
"""

from __future__ import annotations

import time

from planner.backends.base import SolveOptions, Status
from planner.book import Book
from planner.planning.pipeline import Clock, Job, run
from planner.planning.result import PlanResult


class CoverageJob(Job):
    """The coverage model of a book: every account gets an owner."""

    kind = "solve"

    def __init__(self, book: Book, coverage, build_s: float, caps: dict | None = None):
        super().__init__(book, coverage, build_s)
        self.caps = {k: v for k, v in (caps or {}).items() if v is not None}  # --max-moves, --max-moved-arr

    def identity(self) -> dict:
        """The book's identity, and the continuity caps the plan was made under (they change the model)."""
        return {**super().identity(), **self.caps}

    def details(self, sol, assignments, result):
        return {"continuity_caps": self.caps, "forced_moves": self.coverage.forced_moves}, {}, {}

    def diagnose(self, sol) -> tuple[str, ...]:
        from planner.planning.diagnose import diagnose

        if sol is None or sol.status == Status.INFEASIBLE:
            return tuple(diagnose(self.book, self.coverage))
        # No plan found, none proven impossible: what the solver said, then what the checks can tell.
        return (sol.message or "the solver stopped without a plan", *diagnose(self.book, self.coverage, proven=False))


def coverage_job(book: Book, max_moves: int | None = None, max_moved_arr: float | None = None) -> CoverageJob:
    """The coverage model of `book` as a pipeline job; `max_moves` / `max_moved_arr` cap the changes of owner."""
    from planner.models.coverage import build_coverage

    t0 = time.perf_counter()
    model = build_coverage(book, max_moves=max_moves, max_moved_arr=max_moved_arr)
    caps = {"max_moves": max_moves, "max_moved_arr": max_moved_arr}
    return CoverageJob(book, model, time.perf_counter() - t0, caps)


def solve(
    book: Book,
    backend: str = "highs",
    *,
    time_limit: float | None = None,
    gap: float = 1e-4,
    threads: int = 1,
    seed: int = 0,
    warm_start: bool = True,
    baseline: bool = True,
    verbose: bool = False,
    pulp_solver: str | None = None,
    load_s: float = 0.0,
    started: float | None = None,
    max_moves: int | None = None,
    max_moved_arr: float | None = None,
) -> PlanResult:
    """The optimal coverage plan of `book`, with its proof (or the reasons there is none).

    `max_moves` caps how many accounts change owner (forced moves included);
    `max_moved_arr` the share of today's owned ARR that does (default: the
    policy's continuity.max_changed_arr_share).

    `started` (a time.perf_counter() reading) is when the command began:
    `time_limit` counts from then, so it binds the load, the build and
    everything after the solver too.
    """
    options = SolveOptions(
        time_limit=time_limit, gap=gap, threads=threads, seed=seed, verbose=verbose, warm_start=warm_start,
        extra={"pulp_solver": pulp_solver} if pulp_solver else {},
    )  # fmt: skip
    clock = Clock.start(time_limit, started)
    job = coverage_job(book, max_moves, max_moved_arr)
    return run(job, backend, options, baseline=baseline, load_s=load_s, clock=clock)

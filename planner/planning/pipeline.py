"""The one pipeline every solving command goes through: a job in, options in, a PlanResult out.

A *job* (:class:`Job`) is one model of one book: the coverage model of
``planner solve``, the reassignment model of ``planner reassign``, and
later the frontier's, sizing's and scenarios' variants. It says what only
it knows (its problem, how a solution maps back to one arc per account,
what it reports besides the common fields, how its plan is checked, why it
may have no plan); :func:`run` does everything else, the same way for all:

1. solve the job's problem with the chosen backend, within what is left of
   the run's time limit (:class:`Clock`: the limit binds the whole command);
2. if the backend stopped without any plan, fall back to the greedy rule's
   plan when it keeps every rule, saying so (never less than the rules give);
3. no plan: the job's diagnosis, in words;
4. a plan: its tables (planner/planning/tables.py), its cost terms and
   counts, the job's own details, the independent evaluator's verdict, the
   greedy baseline, and its plan_id.

Many runs (a frontier's points, a sweep) go through :func:`run` each;
running them side by side is planner/planning/runner.py's job.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from planner.backends.base import BackendSolution, SolveOptions, Status
from planner.book import Book
from planner.planning.result import Baseline, Counts, PlanResult, Timings, Verdict
from planner.planning.scorecard import score, score_today
from planner.planning.tables import exceptions, owner_term_totals, plan_tables, term_totals

# Seconds of a time limit kept back for the work after the solver (tables, evaluator, baseline, writing).
AFTER_SOLVE_RESERVE_S = 1.0
AFTER_SOLVE_RESERVE_SHARE = 0.05


@dataclass(frozen=True)
class Clock:
    """The run's time limit, counted from when the command started (None: no limit)."""

    started: float
    limit: float | None = None

    @classmethod
    def start(cls, limit: float | None, started: float | None = None) -> Clock:
        return cls(time.perf_counter() if started is None else started, limit)

    def left(self) -> float | None:
        return None if self.limit is None else max(0.0, self.limit - (time.perf_counter() - self.started))

    def for_solver(self) -> float | None:
        """What the solver may use: what is left, less a reserve for the work after it (at least 0.1 s)."""
        left = self.left()
        if left is None:
            return None
        reserve = min(AFTER_SOLVE_RESERVE_S, AFTER_SOLVE_RESERVE_SHARE * self.limit)
        return max(0.1, left - reserve)


class Job:
    """One model of one book, as the pipeline sees it. Subclasses fill in what differs."""

    kind = "plan"

    def __init__(self, book: Book, coverage, build_s: float):
        self.book = book  # the book the plan is about
        self.coverage = coverage  # the CoverageModel whose arcs become the plan's tables
        self.build_s = build_s

    @property
    def model(self):
        """The built model (what PlanResult.model holds for reports and tests)."""
        return self.coverage

    @property
    def problem(self):
        """The AssignmentProblem the backend solves."""
        return self.model.problem

    def model_size(self) -> dict:
        p = self.problem
        return {"accounts": p.n_items, "owners": p.n_agents, "arcs": p.n_arcs}

    def identity(self) -> dict:
        """What, besides who owns what, makes a plan of this job this plan (summary.json "identity")."""
        b = self.book
        return {"inputs": [s.sha256 for s in b.sources], "policy": b.policy.digest(), "as_of": b.as_of.isoformat()}

    def full_choice(self, choice: np.ndarray) -> np.ndarray:
        """The coverage arc of every account of the book (-1: unplaced) from the problem's choice."""
        return choice

    def cost(self, sol: BackendSolution) -> float:
        """The plan's real cost (the solver's objective unless the job prices something that is not a cost)."""
        return sol.objective

    def bound(self, sol: BackendSolution) -> float | None:
        return sol.bound

    def details(self, sol: BackendSolution, assignments, result: dict) -> tuple[dict, dict, dict]:
        """(summary fields only this job reports, extra cost terms, extra tables) for a plan."""
        return {}, {}, {}

    def verdict(self, card, assignments, objective: float, extra_terms: dict) -> Verdict:
        """The independent evaluator's verdict on the plan, from its scorecard (planner/planning/scorecard.py).

        A cap overload the plan kept from today's owners without making it
        worse is inherited: an exception the plan lists, not a rule it breaks.
        """
        agrees = _close(card.objective, objective - sum(extra_terms.values())) and not card.violations
        return Verdict(card.objective, agrees, card.violations, card.inherited)

    def unplaced(self) -> dict[int, tuple[str, str]]:
        """Book row -> (reason, detail) of the accounts the job leaves without an owner whatever the solver does."""
        return {}

    def diagnose(self, sol: BackendSolution | None) -> tuple[str, ...]:
        """Why there is no plan: proven infeasible (sol None or INFEASIBLE), or the solver stopped without one."""
        return ()

    def no_plan_details(self) -> dict:
        return {}


def _close(a: float, b: float) -> bool:
    return bool(abs(a - b) <= 1e-6 * max(1.0, abs(a)))


def run(
    job: Job,
    backend: str = "highs",
    options: SolveOptions | None = None,
    *,
    baseline: bool = True,
    load_s: float = 0.0,
    clock: Clock | None = None,
) -> PlanResult:
    """Solve `job` with `backend` and return the plan with its proof, or the reasons there is none."""
    from planner import backends

    options = options or SolveOptions()
    clock = clock or Clock.start(options.time_limit)
    problem = job.problem
    greedy = None  # the greedy plan, computed at most once (fall-back and baseline)
    if len(problem.items_without_arcs()):
        sol = None
    else:
        limit = clock.for_solver()
        sol = backends.solve(problem, backend, replace(options, time_limit=limit))
        if sol.status == Status.NO_SOLUTION and backend != "greedy":
            greedy = backends.solve(problem, "greedy", options)
            sol = fall_back_to_greedy(sol, greedy, options.time_limit, limit)
    status = Status.INFEASIBLE if sol is None else sol.status
    timings = Timings(load_s, job.build_s + (sol.build_s if sol else 0.0), sol.solve_s if sol else 0.0)
    common = dict(kind=job.kind, book=job.book, backend=backend, options=options, status=status, timings=timings,
                  identity=job.identity(), model_size=job.model_size(), model=job.model)  # fmt: skip
    if not status.has_plan:
        return PlanResult(**common, diagnosis=job.diagnose(sol), details=job.no_plan_details())

    assignments, owners = plan_tables(job.book, job.coverage, job.full_choice(sol.choice), job.unplaced())
    placed = assignments["owner_id"] != ""
    card = score(job.book, dict(zip(assignments["account_id"][placed], assignments["owner_id"][placed], strict=True)),
                 "this plan")  # fmt: skip
    details, extra_terms, extra_tables = job.details(sol, assignments, {})
    objective = job.cost(sol)
    bound = job.bound(sol)
    gap = sol.gap if bound is not None else None
    from planner.plans import compute_plan_id

    identity = common["identity"]
    return PlanResult(
        **common,
        plan_id=compute_plan_id(identity, zip(assignments["account_id"], assignments["owner_id"], strict=True)),
        objective=objective,
        bound=bound,
        gap=gap,
        terms={**term_totals(assignments), **owner_term_totals(owners), **extra_terms},
        counts=Counts.of(assignments),
        exceptions=exceptions(assignments),
        evaluation=job.verdict(card, assignments, objective, extra_terms),
        scorecard=card,
        today=score_today(job.book) if baseline else None,
        baseline=_greedy_baseline(problem, options, greedy) if baseline and backend != "greedy" else None,
        solver_message=sol.message,
        details=details,
        assignments=assignments,
        owners=owners,
        extra_tables=extra_tables,
    )


def _greedy_baseline(problem, options: SolveOptions, greedy: BackendSolution | None) -> Baseline:
    """The rule-based plan of the same problem, priced by the same model (a plan that breaks caps still has a cost)."""
    from planner import backends

    greedy = greedy or backends.solve(problem, "greedy", options)
    complete = bool((greedy.choice >= 0).all())
    return Baseline(
        "greedy",
        greedy.status.value,
        problem.objective(greedy.choice) if complete else None,
        len(problem.violations(greedy.choice)) if complete else None,
        greedy.message,
    )


def fall_back_to_greedy(sol: BackendSolution, base: BackendSolution, time_limit: float | None = None,
                        solver_limit: float | None = None) -> BackendSolution:  # fmt: skip
    """The solver stopped without a plan: never hand back less than the rule-based plan.

    The greedy plan `base`, when it breaks no rule, is returned instead, and
    the message says what stopped the solver. Stopped by the time limit
    (one was set, and the solver used it up or says so): a time-limited plan
    with the solver's bound, if any. Stopped for any other reason (a solver
    error, numbers it cannot carry): the greedy plan as greedy reports it,
    feasible with no bound, since a bound from a failed run proves nothing.
    Otherwise the solver's answer stands. `time_limit` is the run's (what
    the user set), `solver_limit` what the solver was given of it (default: all).
    """
    if not base.status.has_plan:
        return sol
    said = f" ({sol.message})" if sol.message else ""
    if _stopped_by_time(sol, time_limit if solver_limit is None else solver_limit):
        status, bound = Status.TIME_LIMITED, sol.bound
        message = f"{sol.backend} found no plan within the time limit of {time_limit:g} s{said}; this is the greedy baseline's plan"
    else:
        status, bound = base.status, None
        message = f"{sol.backend} stopped without a plan{said}; this is the greedy baseline's plan, with no bound"
    return replace(base, status=status, bound=bound, backend=sol.backend, build_s=sol.build_s,
                   solve_s=sol.solve_s + base.solve_s, message=message)  # fmt: skip


def _stopped_by_time(sol: BackendSolution, time_limit: float | None) -> bool:
    """A time limit was set and the solver used (nearly) all of it or says it reached it."""
    if time_limit is None:
        return False
    return sol.build_s + sol.solve_s >= 0.9 * time_limit or "time limit" in (sol.message or "").lower()

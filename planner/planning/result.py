"""The typed result of every planning run, and the one place summary.json is made from it.

A :class:`PlanResult` is what the pipeline (planner/planning/pipeline.py)
hands back for any kind of plan (a solve, a reassignment): the plan's tables
or the reasons there is none, and the proof of how good the plan is, as
fields. ``summary`` turns it into summary.json (planner/plan_contract.md);
nothing else builds that dict.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property

import pandas as pd

from planner.backends.base import SolveOptions, Status
from planner.book import Book


def _round(v: float | None, nd: int = 4) -> float | None:
    return None if v is None else round(float(v), nd)


def utc_stamp() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Timings:
    """Seconds spent loading the book, building (our model and the backend's) and solving."""

    load_s: float = 0.0
    build_s: float = 0.0
    solve_s: float = 0.0

    def as_dict(self) -> dict:
        return {"load_s": round(self.load_s, 4), "build_s": round(self.build_s, 4), "solve_s": round(self.solve_s, 4)}


@dataclass(frozen=True)
class Counts:
    """How many accounts the plan has, moves and keeps.

    Each account is counted once, as what it is: moved (an owner today,
    another one in the plan), new (no owner today), or left without an
    owner (an owner today, none in the plan: nobody may take it, nobody has
    room, or a reassignment leaves an ex-employee's account to `planner solve`).
    """

    accounts: int
    arr: float
    moved: int  # accounts that had an owner and get another one
    new_accounts: int  # accounts with no owner today
    arr_moved: float
    by_owner_type: dict[str, int]
    by_reason: dict[str, int]
    left_without_owner: int = 0  # accounts that had an owner and have none in this plan

    @classmethod
    def of(cls, assignments: pd.DataFrame) -> Counts:
        had = assignments["previous_owner"] != ""
        placed = assignments["owner_id"] != ""
        moved = assignments["changed"] & had & placed
        return cls(
            accounts=int(len(assignments)),
            arr=float(assignments["arr"].sum()),
            moved=int(moved.sum()),
            new_accounts=int((~had).sum()),
            arr_moved=float(assignments.loc[moved, "arr"].sum()),
            by_owner_type={k: int(v) for k, v in assignments["owner_type"].value_counts().sort_index().items()},
            by_reason={k: int(v) for k, v in assignments["reason"].value_counts().sort_index().items()},
            left_without_owner=int((had & ~placed).sum()),
        )

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Verdict:
    """The independent evaluator's word on a plan: its own cost, whether it agrees with the solver, what is broken."""

    objective: float
    agrees_with_solver: bool  # the evaluator's cost equals the solver's, and it finds no rule the plan breaks
    violations: tuple[str, ...] = ()  # rules the plan breaks
    inherited: tuple[str, ...] = ()  # cap overloads kept from today's owners, not made worse: exceptions, not breaks

    @property
    def ok(self) -> bool:
        return self.agrees_with_solver and not self.violations

    def as_dict(self) -> dict:
        return {"objective": _round(self.objective), "agrees_with_solver": self.agrees_with_solver,
                "violations": list(self.violations), "inherited": list(self.inherited)}  # fmt: skip


@dataclass(frozen=True)
class Baseline:
    """Another plan of the same book to compare with (the greedy rule), priced by the same model."""

    name: str
    status: str
    objective: float | None  # None when the rule could not place every account
    broken_caps: int | None  # caps its plan breaks (a rule-based plan may)
    message: str = ""

    def as_dict(self) -> dict:
        return {"backend": self.name, "status": self.status, "objective": _round(self.objective),
                "broken_caps": self.broken_caps, "message": self.message}  # fmt: skip


@dataclass(frozen=True)
class PlanResult:
    """A plan (or the reasons there is none) and the proof of how good it is."""

    kind: str  # "solve" | "reassign"
    book: Book  # the book the plan is about (for a reassignment: leavers inactive, as of the effective date)
    backend: str
    options: SolveOptions
    status: Status
    timings: Timings
    identity: dict  # what, besides who owns what, makes this plan (planner.plans.identity)
    model_size: dict = field(default_factory=dict)
    plan_id: str | None = None
    objective: float | None = None
    bound: float | None = None
    gap: float | None = None
    terms: dict[str, float] = field(default_factory=dict)  # the cost terms, summing to the objective
    counts: Counts | None = None
    exceptions: tuple[dict, ...] = ()  # accounts kept against today's rules (pins, current CSMs)
    evaluation: Verdict | None = None
    scorecard: object = None  # planner.planning.scorecard.Scorecard of this plan (its KPIs)
    today: object = None  # the Scorecard of today's plan (the book's current owners), to compare with
    baseline: Baseline | None = None
    diagnosis: tuple[str, ...] = ()  # why there is no plan, in words
    solver_message: str = ""
    details: dict = field(
        default_factory=dict
    )  # what only this kind of plan reports (a reassignment's leavers, moves...)
    assignments: pd.DataFrame | None = field(default=None, repr=False)  # PLAN/assignments.csv
    owners: pd.DataFrame | None = field(default=None, repr=False)  # PLAN/owners.csv
    extra_tables: dict = field(default_factory=dict, repr=False)  # file name -> DataFrame (e.g. handoffs.csv)
    model: object = field(default=None, repr=False, compare=False)
    created_at: str = field(default_factory=utc_stamp)
    ledger: str = ""  # the ledger the CLI records the plan in (absolute path), so the folder finds it from anywhere

    @property
    def has_plan(self) -> bool:
        return self.assignments is not None

    def plan(self) -> dict[str, str]:
        """account_id -> owner_id."""
        if self.assignments is None:
            return {}
        return dict(zip(self.assignments["account_id"], self.assignments["owner_id"], strict=True))

    @cached_property
    def fixed_costs(self) -> dict:
        """The costs every plan of the book pays (planner.planning.kpis.fixed_costs)."""
        from planner.planning.kpis import fixed_costs

        return fixed_costs(self.book)

    @cached_property
    def summary(self) -> dict:
        """summary.json (planner/plan_contract.md): made here and nowhere else."""
        book, options = self.book, self.options
        out = {
            "plan_id": self.plan_id,
            "kind": self.kind,
            "created_at": self.created_at,
            "book": book.name,
            "as_of": book.as_of.isoformat(),
            "status": self.status.value,
            "backend": self.backend,
            "options": {
                "time_limit": options.time_limit,
                "gap": options.gap,
                "threads": options.threads,
                "seed": options.seed,
                "warm_start": options.warm_start,
                **options.extra,
            },  # fmt: skip
            "timings": self.timings.as_dict(),
            "policy_source": book.policy.source,
            "policy": book.policy.as_dict(),
            "inputs": [{"table": s.table, "path": s.path, "sha256": s.sha256, "rows": s.rows} for s in book.sources],
            "identity": self.identity,  # with the assignments, what plan_id hashes
            "warnings": [str(w) for w in book.warnings],
            "model": self.model_size,
            "objective": _round(self.objective),
            "bound": _round(self.bound),
            "gap": self.gap,
        }
        if self.ledger:
            out["ledger"] = self.ledger
        if not self.has_plan:
            out["diagnosis"] = list(self.diagnosis)
            return out | self.details
        out.update(
            objective_terms={k: _round(v) for k, v in self.terms.items()},
            counts=self.counts.as_dict() if self.counts else None,
            exceptions=list(self.exceptions),
            evaluation=self.evaluation.as_dict() if self.evaluation else None,
        )
        if self.solver_message:
            out["solver_message"] = self.solver_message
        if self.scorecard is not None:
            out["kpis"] = self.scorecard.kpis
        out["fixed_costs"] = self.fixed_costs
        spend = self.terms.get("serving", 0.0) + self.terms.get("digital", 0.0)
        out["total_cost_of_coverage"] = round(self.fixed_costs["total"] + spend, 2)
        if self.today is not None:
            from planner.planning.scorecard import fixes

            out["today"] = self.today.as_dict()
            out["fixes"] = fixes(self.today, self.scorecard) if self.scorecard is not None else {}
        if self.baseline is not None:
            out["baseline"] = self.baseline.as_dict()
        return out | self.details

    def write(self, out, force: bool = False):
        from planner.io.plan_writer import write_plan

        return write_plan(self, out, force=force)

"""Score any plan of a book: its cost terms, the rules it breaks (and which it only inherited), its KPIs.

The same independent evaluator (planner/planning/evaluate.py) scores a
solver's plan, today's plan (the book's current owners), and a plan a user
made in a spreadsheet, so the three can be put side by side. This is what
``planner evaluate`` prints and what every solve shows as "today's plan".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Scorecard:
    """One plan, scored: what it costs, what it breaks, how the work is spread."""

    name: str  # "today's plan", a plan id, a file name
    accounts: int  # accounts of the book
    assigned: int  # accounts the plan gives an owner on the roster
    terms: dict[str, float]
    violations: tuple[str, ...]  # rules the plan breaks (introduced, when scored against today)
    inherited: tuple[str, ...] = ()  # cap overloads today's owners already had and the plan did not make worse
    exceptions: tuple[str, ...] = ()  # eligibility rules waived by a pin or a kept current CSM
    kpis: dict = field(default_factory=dict)

    @property
    def objective(self) -> float:
        return float(sum(self.terms.values()))

    @property
    def unassigned(self) -> int:
        return self.accounts - self.assigned

    def broken_by_rule(self) -> dict[str, int]:
        return dict(Counter(v.split(":", 1)[0] for v in self.violations))

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "objective": round(self.objective, 4),
            "objective_terms": {k: round(v, 4) for k, v in self.terms.items()},
            "accounts": self.accounts,
            "assigned": self.assigned,
            "unassigned": self.unassigned,
            "broken_rules": self.broken_by_rule(),
            "violations": list(self.violations),
            "inherited": list(self.inherited),
            "exceptions": list(self.exceptions),
            "kpis": self.kpis,
        }


def score(book, plan: Mapping[str, str], name: str, against_today: bool = True) -> Scorecard:
    """`plan` (account_id -> owner_id) scored on `book`; `against_today` splits off overloads it only inherited."""
    from planner.planning.evaluate import evaluate, split_inherited
    from planner.planning.kpis import plan_kpis

    ev = evaluate(book, plan)
    broken = [v for v in ev.violations if not _unassigned(v)]  # an account without an owner is counted, not a rule
    violations, inherited = split_inherited(book, plan, broken) if against_today else (broken, [])
    return Scorecard(
        name=name,
        accounts=len(book.accounts),
        assigned=len(ev.costs),
        terms=ev.terms,
        violations=tuple(map(str, violations)),
        inherited=tuple(map(str, inherited)),
        exceptions=tuple(map(str, ev.exceptions)),
        kpis=plan_kpis(book, plan),
    )


def _unassigned(v) -> bool:
    return v.rule == "every_account_assigned_once" and v.detail == "has no owner in the plan"


def score_today(book) -> Scorecard:
    """Today's plan: every account with its current owner (an account with none, or an unknown one, is unassigned)."""
    from planner.planning.evaluate import current_plan

    return score(book, current_plan(book), "today's plan", against_today=False)


def fixes(today: Scorecard, plan: Scorecard) -> dict[str, int]:
    """Rule -> how many of today's broken rules the plan no longer breaks."""
    now = set(plan.violations) | set(plan.inherited)
    fixed = [v for v in today.violations if v not in now]
    return dict(Counter(v.split(":", 1)[0] for v in fixed))

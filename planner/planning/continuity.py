r"""The least change a book allows: how few accounts (or how little ARR) must change owner to keep every cap.

Some changes are forced whatever the plan: an owner who is leaving, on
leave, on no roster, or no longer allowed to cover the account. Others are
forced by the caps: a CSM or pool over a cap today must shed accounts. The
fewest changes is a small MIP over the coverage model's own arcs and caps:

    min  Σ_{a ∈ A_had} w[a] (1 − x[a,cur[a]]) + ε · c(x)        (w = 1 for moves, arr[a] for moved ARR)
    s.t. the coverage model's rows, except the continuity row being measured

where ε · c(x) is the plan's own cost scaled to break ties only (below a
quarter of one unit of w in all), so that among the plans with the fewest
changes the cheapest is found. The frontier (planner/planning/frontier.py)
starts from this point; the diagnosis of a too-tight --max-moves
(planner/planning/diagnose.py) quotes its proven bound.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

TIE_BREAK = 0.25  # all tie-breaking costs together stay below this many units of what is counted


@dataclass(frozen=True)
class LeastChange:
    """The fewest changes of owner the caps allow: a plan that achieves `found`, and a proven lower bound."""

    measure: str  # "moves" | "arr"
    found: float | None  # what the best plan found changes (None: no plan found)
    bound: float | None  # proven: no plan keeping every cap changes less
    choice: np.ndarray | None  # that plan's arc per account


def least_change(book, model, measure: str = "moves", time_limit: float = 10.0) -> LeastChange:
    """Minimize the accounts (measure "moves") or ARR ("arr") of `book` that change owner, over `model`'s caps."""
    from planner import backends
    from planner.backends.base import SolveOptions
    from planner.planning.diagnose import _tie_break

    p = model.problem
    book_arr = book.accounts["arr"].to_numpy(float)
    what = np.ones(p.n_items) if measure == "moves" else book_arr
    stays = p.arc_agent == model.current[p.arc_item]
    counted = np.where(stays | ~model.had_owner[p.arc_item], 0.0, what[p.arc_item])
    forced = float(
        what[model.had_owner & ~model.can_stay].sum()
    )  # changes no plan avoids (no arc to stay), counted by `counted`
    unit = 1.0 if measure == "moves" else float(np.min(book_arr[book_arr > 0], initial=1.0))
    rows = tuple(r for r in p.side_rows if r.name not in ("moves", "changed_arr"))
    least = replace(p, arc_cost=counted + unit * _tie_break(p).arc_cost, side_rows=rows, offset=0.0, start=None)
    sol = backends.solve(least, "highs", SolveOptions(time_limit=time_limit, gap=1e-6, extra={"columns": False}))
    if not sol.status.has_plan:
        return LeastChange(measure, None, None if sol.bound is None else sol.bound - TIE_BREAK * unit, None)
    found = float(counted[sol.choice].sum())
    bound = None if sol.bound is None else max(forced, sol.bound - TIE_BREAK * unit)
    return LeastChange(measure, found, bound, sol.choice)

"""The rule-based baseline: how CS platforms assign accounts today, as a backend.

Rule, one item at a time in ``problem.item_priority`` order (item order when
None):

1. Look at the item's arcs of its lowest ``arc_tier`` (all arcs are tier 0
   when ``arc_tier`` is None) that still fit every resource capacity.
2. Among those, take the agent that is least loaded after taking the item:
   least max-utilisation (load / capacity) over its finite resources; ties go
   to the cheaper arc, then to the lower agent index. Deterministic.
3. If no arc of that tier fits, try the next tier.
4. If nothing fits in any tier, take the arc that overflows least (smallest
   relative excess over capacity; ties by cost, then agent index) and mark
   the result NO_SOLUTION naming the item.

Side rows are not looked at while assigning (the rule does not know them);
the finished plan is checked with ````AssignmentProblem.violations```` and any broken side
row makes the result NO_SOLUTION with the violation in the message. An item
without arcs is a proof that no plan exists: INFEASIBLE.

A plan that breaks nothing is reported FEASIBLE with ``bound=None``: it is a
heuristic, so there is no bound and no claim about its gap to the optimum.

Load costs (models.core, "Load costs") are not looked at while assigning
either (rule-based tools balance load by utilisation, as step 2 does), but
the objective reported is ``AssignmentProblem.objective`` of the plan, so it
includes them and compares with the exact backends' objectives.

The rule compares and adds plain doubles, so it carries any finite numbers;
a cost or resource use that is not finite (NaN, inf) makes the answer
NO_SOLUTION with a message naming it, never an exception or a NaN objective.
"""

from __future__ import annotations

import time

import numpy as np

from planner.backends.base import BackendSolution, SolveOptions, Status
from planner.models.core import AssignmentProblem, arcs_by_item, tolerance

NAME = "greedy"


class _Loads:
    """Per-agent resource loads, and what taking an arc would do to them."""

    def __init__(self, problem: AssignmentProblem):
        self.agent = problem.arc_agent
        self.weight = np.array([r.weight for r in problem.resources]).reshape(len(problem.resources), problem.n_arcs)
        self.capacity = np.array([r.capacity for r in problem.resources]).reshape(
            len(problem.resources), problem.n_agents
        )
        self.load = np.zeros_like(self.capacity)

    def after(self, arcs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(load after taking each arc, its agent's capacity): both shaped (resources, arcs)."""
        agents = self.agent[arcs]
        return self.load[:, agents] + self.weight[:, arcs], self.capacity[:, agents]

    def take(self, arc: int) -> None:
        self.load[:, self.agent[arc]] += self.weight[:, arc]


def _fits(after: np.ndarray, cap: np.ndarray) -> np.ndarray:
    return np.all(after <= cap + tolerance(cap), axis=0)  # the backends' tolerance: 1e-6 relative, at most 1 unit


def _max_ratio(after: np.ndarray, cap: np.ndarray, excess: bool) -> np.ndarray:
    """Per arc, the max over finite resources of load/capacity (``excess``: of the overflow/capacity)."""
    finite = np.isfinite(cap)
    num = np.where(finite, after - cap if excess else after, 0.0)
    den = np.where(finite, np.maximum(np.abs(cap), 1e-9), 1.0)
    ratio = num / den
    if excess:
        ratio = np.maximum(ratio, 0.0)
    return ratio.max(axis=0, initial=0.0)


def _pick(arcs: np.ndarray, tier: np.ndarray, cost: np.ndarray, loads: _Loads) -> tuple[int, bool]:
    """The arc the rule takes for one item, and whether it fits every capacity."""
    after, cap = loads.after(arcs)
    fits = _fits(after, cap)
    agents = loads.agent[arcs]
    if fits.any():
        lowest = tier[arcs][fits].min()
        cand = fits & (tier[arcs] == lowest)
        util = _max_ratio(after, cap, excess=False)
        keys = (agents[cand], cost[arcs][cand], util[cand])  # lexsort: last key is primary
        return int(arcs[cand][np.lexsort(keys)[0]]), True
    overflow = _max_ratio(after, cap, excess=True)
    return int(arcs[np.lexsort((agents, cost[arcs], overflow))[0]]), False


def visit_order(problem: AssignmentProblem) -> np.ndarray:
    """``problem.item_priority`` (checked to be a permutation of the items), else item order."""
    if problem.item_priority is None:
        return np.arange(problem.n_items)
    order = np.asarray(problem.item_priority, dtype=np.int64)
    if len(order) != problem.n_items or not np.array_equal(np.sort(order), np.arange(problem.n_items)):
        raise ValueError(f"Expected item_priority to list each of the {problem.n_items} items exactly once")
    return order


def solve(problem: AssignmentProblem, options: SolveOptions) -> BackendSolution:
    """Run the rule (``options`` are accepted for the common signature; the rule needs none)."""
    t0 = time.perf_counter()
    broken = _not_finite(problem)
    if broken:
        return BackendSolution(Status.NO_SOLUTION, np.full(problem.n_items, -1, dtype=np.int64), None, None, NAME,
                               solve_s=time.perf_counter() - t0, message=f"greedy: {broken}")  # fmt: skip
    tier = problem.arc_tier if problem.arc_tier is not None else np.zeros(problem.n_arcs, dtype=np.int64)
    arcs_of = arcs_by_item(problem.arc_item, problem.n_items)
    loads = _Loads(problem)
    choice = np.full(problem.n_items, -1, dtype=np.int64)
    overflowing: list[int] = []
    for i in visit_order(problem):
        if len(arcs_of[i]) == 0:
            continue
        arc, fits = _pick(arcs_of[i], tier, problem.arc_cost, loads)
        choice[i] = arc
        loads.take(arc)
        if not fits:
            overflowing.append(int(i))
    status, message = _verdict(problem, choice, overflowing)
    return BackendSolution(
        status=status,
        choice=choice,  # kept even when it breaks a row, to show where the rule got stuck
        objective=problem.objective(choice) if status.has_plan else None,
        bound=None,
        backend=NAME,
        build_s=0.0,
        solve_s=time.perf_counter() - t0,
        message=message,
    )


def _not_finite(problem: AssignmentProblem) -> str:
    """'cost of arc ... is nan' for the first cost or resource use that is not a finite number; '' when all are."""
    for label, values in [("cost", problem.arc_cost)] + [(f"{r.name} use", r.weight) for r in problem.resources]:
        bad = np.flatnonzero(~np.isfinite(np.asarray(values, dtype=float)))
        if len(bad):
            item = _names(problem, [problem.arc_item[bad[0]]])
            return f"the {label} of an arc of item {item} is {values[bad[0]]}; expected a finite number"
    return ""


def _verdict(problem: AssignmentProblem, choice: np.ndarray, overflowing: list[int]) -> tuple[Status, str]:
    """Status and message of the finished greedy plan."""
    missing = problem.items_without_arcs()
    if len(missing):
        return Status.INFEASIBLE, f"greedy: item {_names(problem, missing)} has no eligible agent"
    if overflowing:
        return (
            Status.NO_SOLUTION,
            f"greedy: no agent had room for item {_names(problem, overflowing)}; placed where it overflows least",
        )
    broken = problem.violations(choice)
    if broken:
        return Status.NO_SOLUTION, "greedy: plan breaks " + "; ".join(broken)
    return Status.FEASIBLE, "greedy: heuristic plan, no bound"


def _names(problem: AssignmentProblem, items) -> str:
    """The first item's name, plus how many more there are."""
    items = list(items)
    first = problem.item_names[items[0]] if problem.item_names else str(items[0])
    return f"{first!r}" + (f" (and {len(items) - 1} more)" if len(items) > 1 else "")

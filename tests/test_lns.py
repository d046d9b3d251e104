"""The large-neighbourhood search (planner/backends/lns.py) and its use by the HiGHS backend."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

pytest.importorskip("highspy")

from planner.backends import highs, lns  # noqa: E402
from planner.backends.base import SolveOptions, Status  # noqa: E402
from planner.models.core import AssignmentProblem, Resource, SideRow  # noqa: E402


def gap_with_fallback(n_items: int = 300, n_agents: int = 60, seed: int = 0) -> AssignmentProblem:
    """A tight GAP (independent costs: quick to solve) plus one uncapacitated, expensive fallback agent.

    Everything on the fallback agent (like digital) is a feasible and very poor plan to start from.
    """
    rng = np.random.default_rng(seed)
    weight = rng.integers(5, 26, size=(n_items, n_agents)).astype(float)
    cost = rng.integers(10, 50, size=(n_items, n_agents)).astype(float)
    capacity = 0.8 * weight.sum() / n_agents / n_agents
    items = np.repeat(np.arange(n_items), n_agents + 1)
    agents = np.tile(np.arange(n_agents + 1), n_items)
    arc_cost = np.column_stack([cost, np.full(n_items, 1000.0)]).ravel()
    arc_weight = np.column_stack([weight, np.zeros(n_items)]).ravel()
    caps = np.r_[np.full(n_agents, capacity), np.inf]
    return AssignmentProblem(
        n_items=n_items,
        n_agents=n_agents + 1,
        arc_item=items,
        arc_agent=agents,
        arc_cost=arc_cost,
        resources=(Resource("w", arc_weight, caps),),
    )


def fallback_plan(problem: AssignmentProblem) -> np.ndarray:
    fallback = problem.n_agents - 1
    return np.flatnonzero(problem.arc_agent == fallback)  # one arc per item, in item order


def relaxation(problem: AssignmentProblem) -> highs.Relaxation:
    relax, infeasible = highs.lp_relaxation(highs.build_lp(problem), SolveOptions(), None)
    assert relax is not None and not infeasible
    return relax


def sub_solver(sub: AssignmentProblem, time_cap: float, seed: int) -> np.ndarray | None:
    h, _, _ = highs._run(highs.build_lp(sub), SolveOptions(gap=lns.SUB_GAP, seed=seed), time_cap, integer=True,
                         problem=sub, start=sub.start, extra=lns.SUB_LIMITS, reset_scheduler=False)  # fmt: skip
    y = highs._solution(h)
    return None if y is None else sub.x_to_choice(y)


def test_neighbourhood_frees_only_items_that_can_move_and_its_start_is_the_plan():
    problem = gap_with_fallback(60, 6)
    plan = fallback_plan(problem)
    plan[:3] = [np.flatnonzero((problem.arc_item == i) & (problem.arc_agent == 0))[0] for i in range(3)]
    hood = lns.neighbourhood(problem, plan, np.array([0, 1]))
    # Items held by agent 0 (0..2) can move to agent 1; items held by the fallback are not freed.
    assert hood.items.tolist() == [0, 1, 2]
    assert set(problem.arc_agent[hood.arcs]) == {0, 1}
    sub = hood.problem
    assert sub.violations(sub.start) == []
    assert np.array_equal(hood.arcs[sub.start], plan[hood.items])
    # Residual capacity: the fixed items use none of agent 0's or 1's, so the caps are unchanged.
    assert sub.resources[0].capacity[0] == problem.resources[0].capacity[0]
    assert lns.neighbourhood(problem, plan, np.array([2])) is None  # agent 2 holds nothing


def test_lp_guide_splits_the_gap_exactly_into_item_loss_and_priced_slack():
    problem = gap_with_fallback(80, 6, seed=2)
    relax = relaxation(problem)
    guide = lns.LpGuide.from_lp(problem, relax.col_dual, relax.row_dual)
    plan = fallback_plan(problem)  # every capped agent is idle: its slack is its whole capacity
    item_loss = np.sum(guide.rc[plan] - guide.item_loss_base)
    priced_slack = np.sum(guide.row_price[0] * np.where(np.isfinite(problem.resources[0].capacity),
                                                         problem.resources[0].capacity, 0.0))  # fmt: skip
    assert item_loss + priced_slack == pytest.approx(problem.objective(plan) - relax.bound, rel=1e-6)
    # Agent scores count each item's loss twice (where it is, and where the LP wants it) and the slack once.
    assert guide.agent_scores(problem, plan).sum() == pytest.approx(2 * item_loss + priced_slack, rel=1e-9)


@pytest.mark.parametrize("workers", [1, 2])
def test_improve_never_worsens_stays_feasible_and_is_deterministic(workers):
    problem = gap_with_fallback()
    relax = relaxation(problem)
    guide = lns.LpGuide.from_lp(problem, relax.col_dual, relax.row_dual)
    start = fallback_plan(problem)
    runs = [
        lns.improve(problem, start, guide, sub_solver, target=None, deadline=None, seed=3, workers=workers)
        for _ in range(2)
    ]
    (plan, stats), (again, _) = runs
    assert problem.violations(plan) == []
    assert stats["improvements"] > 0
    assert problem.objective(plan) < 0.5 * problem.objective(start)
    assert problem.objective(plan) >= relax.bound - 1e-6
    assert np.array_equal(plan, again)


def test_improve_stops_at_the_target():
    problem = gap_with_fallback()
    relax = relaxation(problem)
    guide = lns.LpGuide.from_lp(problem, relax.col_dual, relax.row_dual)
    start = fallback_plan(problem)
    target = 0.9 * problem.objective(start)
    plan, stats = lns.improve(problem, start, guide, sub_solver, target=target, deadline=None)
    assert problem.objective(plan) <= target
    assert stats["improvements"] == stats["steps"] == 1


def test_improve_keeps_side_rows():
    problem = gap_with_fallback()
    fallback_arcs = fallback_plan(problem)
    # At least 100 of the 300 items stay on the fallback agent.
    problem = replace(problem, side_rows=(SideRow("keep_fallback", fallback_arcs, np.ones(len(fallback_arcs)), lo=100),))
    relax = relaxation(problem)
    guide = lns.LpGuide.from_lp(problem, relax.col_dual, relax.row_dual)
    for workers in (1, 2):
        plan, stats = lns.improve(problem, fallback_arcs, guide, sub_solver, target=None, deadline=None, workers=workers)
        assert stats["improvements"] > 0
        assert problem.violations(plan) == []
        assert np.sum(problem.arc_agent[plan] == problem.n_agents - 1) >= 100


@pytest.mark.parametrize("threads", [1, 2])
def test_highs_uses_the_lns_on_large_problems_and_reports_it(threads):
    problem = gap_with_fallback(900, 30, seed=5)
    # The time limit only keeps the test short; the assertions hold whenever it stops.
    result = highs.solve(problem, SolveOptions(gap=1e-4, time_limit=8, threads=threads, seed=1))
    assert result.status.has_plan
    assert problem.violations(result.choice) == []
    assert "LNS" in result.message
    assert result.bound <= result.objective
    small = gap_with_fallback(40, 6, seed=5)  # one neighbourhood would be the whole problem: no LNS
    result = highs.solve(small, SolveOptions(gap=1e-4, threads=threads))
    assert result.status == Status.OPTIMAL and "LNS" not in result.message


def test_column_generation_reaches_the_whole_lp_bound():
    problem = gap_with_fallback(300, 60, seed=4)
    whole = relaxation(problem)
    priced = highs.lp_by_columns(problem, SolveOptions(), None)
    assert priced.bound == pytest.approx(whole.bound, rel=1e-9)
    assert problem.arc_cost @ priced.x + problem.offset == pytest.approx(whole.bound, rel=1e-9)
    # Every arc is priced: none left out could still lower the LP.
    assert np.all(priced.col_dual[priced.x == 0] >= -1e-6)


def test_column_generation_leaves_an_infeasible_lp_to_the_whole_model():
    from planner.models.core import restrict_arcs

    problem = gap_with_fallback(100, 20, seed=4)
    problem, _ = restrict_arcs(problem, np.flatnonzero(problem.arc_agent < 20))  # no fallback agent
    r = problem.resources[0]
    problem = replace(problem, resources=(Resource(r.name, r.weight, r.capacity * 0.2),))  # far too little room
    assert highs.lp_by_columns(problem, SolveOptions(), None) is None
    assert highs.solve(problem, SolveOptions()).status == Status.INFEASIBLE

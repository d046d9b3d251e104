"""The large-neighbourhood search (planner/backends/lns.py) and its use by the HiGHS backend."""

from __future__ import annotations

import time
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


# The backend's own sub-MIP solver (one thread, stopped by counts), as the LNS and the repair use it.
sub_solver = highs._solve_sub


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


def test_improve_polishes_after_every_few_improvements_and_keeps_only_a_better_plan():
    problem = gap_with_fallback()
    relax = relaxation(problem)
    guide = lns.LpGuide.from_lp(problem, relax.col_dual, relax.row_dual)
    start = fallback_plan(problem)
    seen = []

    def worse(choice):  # a "polish" that would put item 0 back on the fallback agent: never kept
        seen.append(problem.objective(choice))
        out = choice.copy()
        out[0] = start[0]
        return out

    plan, stats = lns.improve(problem, start, guide, sub_solver, target=None, deadline=None, seed=3,
                              polish=worse, polish_every=2)  # fmt: skip
    plain, _ = lns.improve(problem, start, guide, sub_solver, target=None, deadline=None, seed=3)
    assert len(seen) == stats["improvements"] // 2 > 0
    assert np.array_equal(plan, plain)  # nothing worse was kept, so the search went as without polish

    def better(choice):  # one improving single move, when there is one
        return lns.shift_moves(problem, choice, max_rounds=1)[0]

    polished, _ = lns.improve(problem, start, guide, sub_solver, target=None, deadline=None, seed=3,
                              polish=better, polish_every=2)  # fmt: skip
    assert problem.violations(polished) == []
    assert not np.array_equal(polished, plain)


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
    problem = replace(
        problem, side_rows=(SideRow("keep_fallback", fallback_arcs, np.ones(len(fallback_arcs)), lo=100),)
    )
    relax = relaxation(problem)
    guide = lns.LpGuide.from_lp(problem, relax.col_dual, relax.row_dual)
    for workers in (1, 2):
        plan, stats = lns.improve(
            problem, fallback_arcs, guide, sub_solver, target=None, deadline=None, workers=workers
        )
        assert stats["improvements"] > 0
        assert problem.violations(plan) == []
        assert np.sum(problem.arc_agent[plan] == problem.n_agents - 1) >= 100


@pytest.mark.parametrize(("gap", "sub_gap"), [(0.0, 0.0), (0.05, lns.SUB_GAP)])
def test_sub_mips_never_stop_at_a_gap_looser_than_the_run(monkeypatch, gap, sub_gap):
    # With the default sub-MIP gap (0.1%) an exact run (--gap 0) would take a neighbourhood's
    # start as good enough whenever it is within 0.1% of the sub-MIP's bound.
    problem = gap_with_fallback()
    relax = relaxation(problem)
    seen, solve_sub = [], highs._solve_sub

    def recording(sub, time_cap, seed, gap=lns.SUB_GAP):
        seen.append(gap)
        return solve_sub(sub, time_cap, seed, gap)

    monkeypatch.setattr(highs, "_solve_sub", recording)
    deadline = time.perf_counter() + 1.0  # a few sub-MIPs are enough to see what they are given
    highs.improve_plan(problem, fallback_plan(problem), relax, SolveOptions(gap=gap, seed=1), deadline=deadline)
    assert seen and set(seen) == {sub_gap}


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
    # Seeded with a plan's arcs (feasible columns from the first round), it ends at the same bound.
    seeded = highs.lp_by_columns(problem, SolveOptions(), None, plan=fallback_plan(problem))
    assert seeded.bound == pytest.approx(whole.bound, rel=1e-9)


def test_column_generation_leaves_an_infeasible_lp_to_the_whole_model():
    from planner.models.core import restrict_arcs

    problem = gap_with_fallback(100, 20, seed=4)
    problem, _ = restrict_arcs(problem, np.flatnonzero(problem.arc_agent < 20))  # no fallback agent
    r = problem.resources[0]
    problem = replace(problem, resources=(Resource(r.name, r.weight, r.capacity * 0.2),))  # far too little room
    assert highs.lp_by_columns(problem, SolveOptions(), None) is None
    assert highs.solve(problem, SolveOptions()).status == Status.INFEASIBLE


def small_problem(arcs: list[tuple[int, int, float, float]], caps: list[float]) -> AssignmentProblem:
    """From (item, agent, cost, weight) rows and one capacity per agent."""
    item, agent, cost, weight = (np.array(c) for c in zip(*arcs, strict=True))
    return AssignmentProblem(
        n_items=int(item.max()) + 1,
        n_agents=len(caps),
        arc_item=item.astype(np.int64),
        arc_agent=agent.astype(np.int64),
        arc_cost=cost.astype(float),
        resources=(Resource("hours", weight.astype(float), np.array(caps, dtype=float)),),
    )


def test_lp_rounding_takes_each_items_largest_lp_value_then_the_cheaper_arc():
    problem = small_problem([(0, 0, 5, 1), (0, 1, 3, 1), (1, 0, 2, 1), (1, 1, 2, 1)], [10, 10])
    x = np.array([0.7, 0.3, 0.5, 0.5])
    assert lns.lp_rounding(problem, x).tolist() == [0, 2]  # item 1: a tie at 0.5 and equal cost: lower index
    assert lns.lp_rounding(problem, np.array([0.4, 0.6, 0.5, 0.5])).tolist() == [1, 2]


def test_repair_moves_the_item_that_costs_least_to_move_off_an_over_cap_agent():
    #   item 0: agent 0 (cost 1) or agent 1 (cost 4); item 1: agent 0 (cost 1) or agent 1 (cost 2); weight 6 each
    problem = small_problem([(0, 0, 1, 6), (0, 1, 4, 6), (1, 0, 1, 6), (1, 1, 2, 6)], [10, 6])
    over = np.array([0, 2])  # both on agent 0: 12 h > 10 h
    assert problem.violations(over) != []
    plan = lns.repair(problem, over, sub_solver)
    assert plan.tolist() == [0, 3]  # moving item 1 costs +1, item 0 would cost +3
    assert problem.violations(plan) == []


def test_repair_finds_a_chain_of_moves_by_sub_mip_where_no_single_move_fits():
    # Agent 0 holds items 0 and 1 (12 h > 10 h). They can only go to agent 1, which is full with item 2;
    # item 2 can go to agent 2. No single move fits; the chain item 2 -> agent 2, item 1 -> agent 1 does.
    problem = small_problem(
        [(0, 0, 1, 6), (0, 1, 3, 6), (1, 0, 1, 6), (1, 1, 3, 6), (2, 1, 1, 6), (2, 2, 5, 6)], [10, 6, 6]
    )
    start = np.array([0, 2, 4])
    assert problem.violations(start) != []
    plan = lns.repair(problem, start, sub_solver)
    assert problem.violations(plan) == []
    assert problem.arc_agent[plan].tolist() in ([0, 1, 2], [1, 0, 2])
    assert problem.objective(plan) == 1 + 3 + 5


def test_repair_returns_the_plan_unrepaired_when_no_repair_exists():
    problem = small_problem([(0, 0, 1, 6), (1, 0, 1, 6), (1, 1, 1, 9)], [10, 6])
    plan = lns.repair(problem, np.array([0, 1]), sub_solver)
    assert plan.tolist() == [0, 1] and problem.violations(plan) != []


def test_highs_starts_from_the_rounded_lp_on_a_coverage_book(tmp_path):
    import datetime as dt

    from planner.generate import generate_book, write_book
    from planner.io import load_book
    from planner.models.coverage import build_coverage

    as_of = dt.date(2026, 11, 1)
    write_book(generate_book(3000, 60, pools=3, seed=2, as_of=as_of), tmp_path / "book")
    problem = build_coverage(load_book(tmp_path / "book", as_of=as_of)).problem
    result = highs.solve(problem, SolveOptions(gap=0.01, seed=1))
    assert "start from the rounded LP" in result.message
    assert "core MIP" not in result.message  # the rounded LP was good enough
    assert result.gap <= 0.01 and problem.violations(result.choice) == []


def test_a_big_agent_joins_a_neighbourhood_with_its_cheapest_share_of_items():
    # Every item on the fallback (a pool, digital): without a share it frees all 60 and could join no
    # neighbourhood of MAX_FREE items; with max_share=5 it frees the 5 whose move into S costs least extra.
    problem = gap_with_fallback(60, 6)
    plan = fallback_plan(problem)
    fallback = problem.n_agents - 1
    everything = lns.neighbourhood(problem, plan, np.array([0, fallback]))
    assert len(everything.items) == 60
    hood = lns.neighbourhood(problem, plan, np.array([0, fallback]), max_share=5)
    to_0 = problem.arc_cost[(problem.arc_agent == 0)]  # item i's arc to agent 0 (arcs in item order)
    assert hood.items.tolist() == sorted(np.lexsort((np.arange(60), to_0))[:5].tolist())
    assert hood.problem.violations(hood.problem.start) == []
    # A CSM's neighbourhood may take the big agent in: it counts as its share, not as all it holds.
    plan[:3] = [np.flatnonzero((problem.arc_item == i) & (problem.arc_agent == 0))[0] for i in range(3)]
    assert fallback not in lns.grow(problem, plan, 0, np.random.default_rng(0), max_free=20)
    assert fallback in lns.grow(problem, plan, 0, np.random.default_rng(0), max_free=20, max_share=5)


@pytest.mark.parametrize("workers", [1, 2])
def test_the_stall_is_counted_in_sub_mips_whatever_the_workers(workers):
    # Counted in rounds, two workers ran twice the sub-MIPs before stopping: --threads 2 was slower than 1.
    problem = gap_with_fallback(200, 40, seed=4)
    relax = relaxation(problem)
    guide = lns.LpGuide.from_lp(problem, relax.col_dual, relax.row_dual)
    calls = []

    def never_better(sub, time_cap, seed, gap=lns.SUB_GAP):
        calls.append(seed)
        return None

    start = highs.solve(problem, SolveOptions(gap=0.01)).choice  # a plan that spreads the items over the agents
    plan, stats = lns.improve(problem, start, guide, never_better, target=None, deadline=None, workers=workers,
                              stall_steps=10)  # fmt: skip
    assert len(calls) == 10 and stats["improvements"] == 0 and stats["steps"] == 10 // workers

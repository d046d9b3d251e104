"""Load costs: a convex piecewise-linear price of an agent's load, in the core and in every backend."""

from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from planner import backends
from planner.backends import numerics
from planner.backends.base import SolveOptions, Status
from planner.models.core import AssignmentProblem, LoadCost, Resource, load_columns, restrict_arcs, to_matrix

EXACT = [name for name in backends.available() if name != "greedy"]
EXACT_OPTIONS = SolveOptions(gap=0.0, threads=1, time_limit=30)
INF = np.inf


def band(floor, under, ceiling, steps, n: int | None = None, resource: str = "hours") -> LoadCost:
    """A LoadCost from scalars or per-agent lists (scalars broadcast to ``n`` agents)."""

    def arr(v):
        return np.full(n, float(v)) if n is not None and np.ndim(v) == 0 else np.asarray(v, dtype=float)

    return LoadCost(resource, arr(floor), arr(under), arr(ceiling), tuple((arr(w), arr(p)) for w, p in steps))


def tiny_problem(seed: int) -> AssignmentProblem:
    """6 items, 3 agents, every arc, integer hours and costs; an hours band with an under term and two steps."""
    rng = np.random.default_rng(seed)
    n, k = 6, 3
    hours = rng.integers(1, 7, n * k).astype(float)
    lc = band(
        floor=rng.integers(4, 10, k),
        under=rng.integers(1, 6, k),
        ceiling=rng.integers(6, 12, k),
        steps=[(rng.integers(1, 4, k), rng.integers(1, 4, k)), (INF, rng.integers(4, 9, k))],
    )
    return AssignmentProblem(
        n_items=n,
        n_agents=k,
        arc_item=np.repeat(np.arange(n), k),
        arc_agent=np.tile(np.arange(k), n),
        arc_cost=rng.integers(0, 15, n * k).astype(float),
        resources=(Resource("hours", hours, np.full(k, 18.0)), Resource("count", np.ones(n * k), np.full(k, 3.0))),
        load_costs=(lc,),
        offset=2.5,
    )


def brute_force(problem: AssignmentProblem) -> tuple[float, np.ndarray]:
    arcs_of = [np.flatnonzero(problem.arc_item == i) for i in range(problem.n_items)]
    best, best_choice = np.inf, None
    for combo in itertools.product(*arcs_of):
        choice = np.array(combo, dtype=np.int64)
        if not problem.violations(choice) and problem.objective(choice) < best - 1e-12:
            best, best_choice = problem.objective(choice), choice
    return best, best_choice


# --------------------------------------------------------------------------- the cost itself


def test_penalty_follows_the_formula_by_hand():
    # floor 10 at 2 per unit below; ceiling 20, then 5 units at 3, the rest at 7.
    q = band(10, 2, 20, [(5, 3), (INF, 7)], n=1)
    loads = np.array([0.0, 4.0, 10.0, 15.0, 20.0, 23.0, 25.0, 30.0])
    expected = [20, 12, 0, 0, 0, 9, 15, 15 + 35]
    assert [float(q.penalty(np.array([v]))[0]) for v in loads] == expected


def test_objective_adds_every_agents_load_cost_to_the_arc_costs():
    problem = tiny_problem(0)
    choice = np.array([3 * i + (i % 3) for i in range(6)])  # items 0..5 to agents 0, 1, 2, 0, 1, 2
    q = problem.load_costs[0]
    hours = problem.resources[0].weight
    load = np.array([hours[choice][problem.arc_agent[choice] == k].sum() for k in range(3)])
    by_hand = 0.0
    for k in range(3):
        by_hand += q.under_price[k] * max(0.0, q.floor[k] - load[k])
        above = load[k] - q.ceiling[k]
        (w1, p1), (_, p2) = q.steps
        by_hand += p1[k] * min(max(above, 0.0), w1[k]) + p2[k] * max(above - w1[k], 0.0)
    assert problem.load_cost(choice).sum() == pytest.approx(by_hand)
    assert problem.objective(choice) == pytest.approx(problem.arc_cost[choice].sum() + 2.5 + by_hand)
    assert np.array_equal(problem.load("hours", choice), load)


def test_matrix_prices_each_plans_best_completion_at_its_objective():
    problem = tiny_problem(1)
    m = to_matrix(problem)
    load = load_columns(problem)
    n = problem.n_arcs
    assert m.n_columns == n + load.n_columns and m.n_arcs == n
    assert m.integer[:n].all() and not m.integer[n:].any()
    assert np.all(np.isfinite(m.col_hi)) and np.all(m.col_lo == 0)
    assert m.A.shape[0] == problem.n_items + 3 + 3 + load.n_rows  # assign, hours caps, count caps, (4)-(5)
    checked = 0
    for choice in itertools.islice(itertools.product(*[range(3 * i, 3 * i + 3) for i in range(6)]), 0, 729, 7):
        if problem.violations(np.array(choice)):
            continue  # the load columns are bounded by the caps: they price the plans that keep them
        checked += 1
        x = problem.full_x(np.array(choice))
        activity = m.A @ x
        assert np.all(activity >= m.row_lo - 1e-9) and np.all(activity <= m.row_hi + 1e-9)
        assert m.cost @ x + problem.offset == pytest.approx(problem.objective(np.array(choice)))
    assert checked >= 20


def test_a_ceiling_at_the_cap_gets_no_load_rows_or_columns():
    # Above the cap no plan can go, so a price there (the coverage model's over-cap price where no commitment
    # raised the cap) needs no column; a step that starts below the cap keeps its column, bounded by the cap.
    problem = replace(tiny_problem(3), load_costs=(band(0, 0, [18, 18, 15], [(INF, 5)]),))
    load = load_columns(problem)
    assert load.agent.tolist() == [2] and load.upper.tolist() == [3.0]
    m = to_matrix(problem)
    assert m.A.shape[0] == problem.n_items + 6 + 1 and m.n_columns == problem.n_arcs + 1


def test_restrict_arcs_and_replace_keep_the_load_costs():
    problem = tiny_problem(2)
    core, arcs = restrict_arcs(problem, np.flatnonzero(problem.arc_agent != 2))
    choice = np.array([3 * i for i in range(6)])
    assert len(core.load_costs) == 1 and core.load_costs[0] is problem.load_costs[0]
    assert core.objective(np.searchsorted(arcs, choice)) == pytest.approx(problem.objective(choice))


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda: band(0, 0, 5, [(1, 3), (INF, 2)], n=2), "non-decreasing"),
        (lambda: band(0, 0, 5, [(1, 3), (4, 5)], n=2), "last step's width"),
        (lambda: band(0, -1, 5, [(INF, 1)], n=2), "under_price"),
        (lambda: band(0, 1, 5, [(INF, -1)], n=2), "step prices"),
        (lambda: band(0, 1, 5, [(-1, 1), (INF, 2)], n=2), "step widths"),
        (lambda: band(np.nan, 1, 5, [(INF, 1)], n=2), "floor"),
        (lambda: band(0, 1, -INF, [(INF, 1)], n=2), "ceiling"),
        (lambda: band([0, 0, 0], [1, 1], 5, [(INF, 1)]), "same length"),
    ],
)
def test_a_load_cost_that_is_not_convex_or_malformed_is_rejected_naming_the_field(make, words):
    with pytest.raises(ValueError, match=words):
        make()


def test_the_problem_checks_its_load_costs_against_agents_and_resources():
    problem = tiny_problem(0)
    with pytest.raises(ValueError, match="3 values per field"):
        replace(problem, load_costs=(band(0, 1, 5, [(INF, 1)], n=4),))
    with pytest.raises(ValueError, match="one of the resources"):
        replace(problem, load_costs=(band(0, 1, 5, [(INF, 1)], n=3, resource="arr"),))
    with pytest.raises(ValueError, match="at most one load cost per resource"):
        replace(problem, load_costs=(problem.load_costs[0], problem.load_costs[0]))


def test_a_price_beyond_what_the_solvers_carry_is_named():
    problem = tiny_problem(0)
    huge = replace(problem, load_costs=(band(5, 1e16, 8, [(INF, 1)], n=3),))
    assert "hours under price" in numerics.unrepresentable(huge)
    result = backends.solve(huge, "highs", EXACT_OPTIONS)
    assert result.status == Status.NO_SOLUTION and "under price" in result.message


# --------------------------------------------------------------------------- every backend, exactly


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("backend", EXACT)
def test_exact_backends_find_the_brute_force_optimum_with_load_costs(backend, seed):
    problem = tiny_problem(seed)
    best, _ = brute_force(problem)
    result = backends.solve(problem, backend, EXACT_OPTIONS)
    assert result.status == Status.OPTIMAL, result.message
    assert result.objective == pytest.approx(best, abs=1e-9)
    assert result.objective == pytest.approx(problem.objective(result.choice), abs=1e-9)
    assert result.bound is not None and result.bound <= result.objective + 1e-9
    assert problem.violations(result.choice) == []


def test_the_load_cost_changes_which_plan_is_optimal():
    # Without the band the brute-force optimum of these instances differs: the tests above see the band.
    moved = 0
    for seed in range(6):
        problem = tiny_problem(seed)
        with_band, _ = brute_force(problem)
        _, plain_choice = brute_force(replace(problem, load_costs=()))
        moved += problem.objective(plain_choice) > with_band + 1e-9
    assert moved >= 3


def test_greedy_ignores_load_costs_while_choosing_but_reports_them():
    problem = tiny_problem(3)
    result = backends.solve(problem, "greedy")
    plain = backends.solve(replace(problem, load_costs=()), "greedy")
    assert np.array_equal(result.choice, plain.choice)
    assert result.status.has_plan and result.bound is None
    assert result.objective == pytest.approx(problem.objective(result.choice))
    assert result.objective > plain.objective  # the band is priced


@pytest.mark.skipif("cpsat" not in EXACT, reason="ortools is not installed")
def test_cpsat_rounds_inexact_prices_with_a_valid_bound_and_drops_it_for_inexact_floors():
    from planner.backends import cpsat

    problem = tiny_problem(4)
    best, _ = brute_force(problem)
    q = problem.load_costs[0]
    pricey = replace(problem, load_costs=(replace(q, under_price=q.under_price + 0.0001234),))
    best_pricey, _ = brute_force(pricey)
    result = cpsat.solve(pricey, EXACT_OPTIONS)
    assert result.bound is not None and result.bound <= best_pricey + 1e-9
    assert result.objective == pytest.approx(pricey.objective(result.choice))
    # A floor with 9 decimals cannot be scaled exactly within 10^7: the integer model is a restriction, no bound.
    odd = replace(problem, load_costs=(replace(q, floor=q.floor + 0.123456789),))
    result = cpsat.solve(odd, EXACT_OPTIONS)
    assert result.status.has_plan and result.bound is None and "rounded conservatively" in result.message
    assert odd.violations(result.choice) == []


@pytest.mark.skipif("pulp" not in EXACT, reason="pulp is not installed")
def test_pulp_keeps_its_bound_when_only_a_bound_no_plan_reaches_has_many_digits():
    # Agent 0's load can reach 1000.1 + 0.2: its last step's column bound (Lmax - ceiling 1000) is
    # 0.30000000000006821, which 13 digits cannot write. No plan goes beyond it, so it is written rounded
    # up and the bound stands (written as it was, PuLP's bound and proof were dropped).
    problem = AssignmentProblem(
        n_items=2,
        n_agents=2,
        arc_item=np.array([0, 0, 1, 1]),
        arc_agent=np.array([0, 1, 0, 1]),
        arc_cost=np.array([1.0, 2.0, 1.0, 2.0]),
        resources=(Resource("hours", np.array([1000.1, 1000.1, 0.2, 0.2]), np.array([2000.0, 2000.0])),),
        load_costs=(band(0, 0, 1000.0, [(INF, 20)], n=2),),
    )
    assert not load_columns(problem).shapes.any()
    best, _ = brute_force(problem)
    result = backends.solve(problem, "pulp", EXACT_OPTIONS)
    assert result.status == Status.OPTIMAL and result.bound is not None, result.message
    assert result.objective == pytest.approx(best)


# --------------------------------------------------------------------------- GAP benchmark instances


def _gap_dir() -> Path | None:
    here = Path(__file__).resolve()
    for root in (here.parents[1].parent, here.parents[2].parent):  # beside the repository, or beside a worktree folder
        candidate = root / "shared" / "benchmarks" / "gap"
        if (candidate / "gap1-0").is_file():
            return candidate
    return None


@pytest.mark.skipif(_gap_dir() is None, reason="GAP benchmark files not found")
@pytest.mark.parametrize("instance", ["gap4-0", "gap8-0"])
def test_exact_backends_agree_on_a_gap_instance_with_a_load_cost(instance):
    from planner.models.gap import read_gap

    problem = read_gap(_gap_dir() / instance)
    r = problem.resources[0]
    cap = r.capacity
    q = LoadCost(r.name, floor=0.7 * cap, under_price=2.0, ceiling=0.8 * cap, steps=((0.1 * cap, 3.0), (INF, 10.0)))
    problem = replace(problem, load_costs=(q,))
    results = {name: backends.solve(problem, name, EXACT_OPTIONS) for name in EXACT}
    optimum = results["highs"].objective
    for name, result in results.items():
        assert result.status == Status.OPTIMAL, (name, result.message)
        assert result.objective == pytest.approx(optimum, abs=1e-6), name
        assert result.bound <= result.objective + 1e-9
        assert problem.violations(result.choice) == []
    assert problem.load_cost(results["highs"].choice).sum() > 0  # the band binds
    greedy = backends.solve(problem, "greedy")
    if greedy.status.has_plan:
        assert greedy.objective == pytest.approx(problem.objective(greedy.choice))
        assert greedy.objective >= optimum - 1e-9


# --------------------------------------------------------------------------- HiGHS: LP, column generation, LNS


def banded_gap(n_items: int = 900, n_agents: int = 30, seed: int = 5) -> AssignmentProblem:
    """test_lns's GAP with a fallback agent, plus a band on "w" per capped agent (floors 60-95% of its cap)."""
    from test_lns import gap_with_fallback

    problem = gap_with_fallback(n_items, n_agents, seed=seed)
    cap = problem.resources[0].capacity
    capped = np.isfinite(cap)
    c = np.where(capped, cap, 0.0)
    floor = np.round(c * np.random.default_rng(seed).uniform(0.6, 0.95, len(c)))
    q = LoadCost("w", floor=floor, under_price=np.where(capped, 6.0, 0.0), ceiling=np.where(capped, floor + np.round(0.03 * c), INF),
                 steps=((np.round(0.03 * c), 4.0), (INF, 15.0)))  # fmt: skip
    return replace(problem, load_costs=(q,))


pytest.importorskip("highspy")


def whole_lp(problem: AssignmentProblem):
    from planner.backends import highs

    relax, infeasible = highs.lp_relaxation(highs.build_lp(problem), SolveOptions(), None)
    assert relax is not None and not infeasible
    return relax


def test_the_lp_gap_of_a_plan_splits_exactly_into_losses_and_priced_slack_with_load_rows():
    from test_lns import fallback_plan

    from planner.backends import lns

    problem = banded_gap(80, 6, seed=2)
    relax = whole_lp(problem)
    guide = lns.LpGuide.from_lp(problem, relax.col_dual, relax.row_dual)
    for plan in (fallback_plan(problem), backends.solve(problem, "highs", EXACT_OPTIONS).choice):
        parts = guide.agent_parts(problem, plan)
        assert all(np.all(v >= -1e-9) for v in parts.values())
        gap = sum(v.sum() for k, v in parts.items() if k != "wanted")
        assert gap == pytest.approx(problem.objective(plan) - relax.bound, rel=1e-6, abs=1e-6)
    # On the fallback plan every capped agent is empty: its floor is unmet and its load rows carry the gap.
    parts = guide.agent_parts(problem, fallback_plan(problem))
    assert parts["load_rows"].sum() + parts["load_columns"].sum() > 0
    assert guide.agent_scores(problem, plan).sum() == pytest.approx(
        sum(v.sum() for v in guide.agent_parts(problem, plan).values())
    )


def test_column_generation_gives_the_whole_lp_bound_with_load_costs():
    from test_lns import fallback_plan

    from planner.backends import highs

    problem = banded_gap(300, 60, seed=4)
    whole = whole_lp(problem)
    priced = highs.lp_by_columns(problem, SolveOptions(), None)
    assert priced.bound == pytest.approx(whole.bound, rel=1e-9)
    m = to_matrix(problem)
    assert m.cost @ np.r_[priced.x, priced.load_x] + problem.offset == pytest.approx(whole.bound, rel=1e-9)
    assert np.all(priced.col_dual[priced.x == 0] >= -1e-6)
    seeded = highs.lp_by_columns(problem, SolveOptions(), None, plan=fallback_plan(problem))
    assert seeded.bound == pytest.approx(whole.bound, rel=1e-9)
    # The LP pays for the band (else this would not test the load columns).
    assert m.cost[problem.n_arcs :] @ whole.load_x > 0 or problem.load_cost(fallback_plan(problem)).sum() > 0


def test_a_neighbourhood_carries_its_agents_load_costs_shifted_by_the_fixed_load():
    from planner.backends import highs, lns

    problem = banded_gap(120, 8, seed=3)
    plan = backends.solve(problem, "highs", SolveOptions(gap=0.05)).choice  # items on every agent
    assert problem.violations(plan) == []
    agents = np.array([0, 1, 2])
    hood = lns.neighbourhood(problem, plan, agents)
    sub = hood.problem
    q, sq = problem.load_costs[0], sub.load_costs[0]
    fixed = np.setdiff1d(np.arange(problem.n_items), hood.items)
    fixed_load = problem.load("w", np.where(np.isin(np.arange(problem.n_items), fixed), plan, -1))
    assert np.allclose(sq.floor[agents], q.floor[agents] - fixed_load[agents])
    assert np.allclose(sq.ceiling[agents], q.ceiling[agents] - fixed_load[agents])
    assert np.all(sq.under_price[3:] == 0) and np.all(sq.ceiling[3:] == INF)  # outside S: constant, dropped
    # Any two sub-plans differ in sub objective exactly as the full plans do.
    better = highs._solve_sub(sub, 5.0, 0, 0.0)
    full = plan.copy()
    full[hood.items] = hood.arcs[better]
    assert sub.objective(sub.start) - sub.objective(better) == pytest.approx(
        problem.objective(plan) - problem.objective(full), abs=1e-6
    )
    assert problem.violations(full) == []


def test_lns_steps_never_increase_the_objective_with_load_costs():
    import time

    from test_lns import fallback_plan

    from planner.backends import highs, lns

    problem = banded_gap(300, 40, seed=1)
    relax = whole_lp(problem)
    guide = lns.LpGuide.from_lp(problem, relax.col_dual, relax.row_dual)
    seen: list[float] = []

    def recording(sub, time_cap, seed, gap=lns.SUB_GAP):
        answer = highs._solve_sub(sub, time_cap, seed, gap)
        if answer is not None:
            seen.append(sub.objective(sub.start) - sub.objective(answer))
        return answer

    start = fallback_plan(problem)
    with highs._sub_mips():
        # The deadline only keeps the test short; the assertions hold whenever it stops.
        plan, stats = lns.improve(
            problem, start, guide, recording, target=None, deadline=time.perf_counter() + 3, seed=2
        )
    assert stats["improvements"] > 0 and seen
    assert min(seen) >= -1e-9  # no sub-MIP answer is worse than its start, load costs included
    assert problem.violations(plan) == [] and problem.objective(plan) < problem.objective(start)
    assert problem.objective(plan) >= relax.bound - 1e-6


def test_highs_reaches_half_a_percent_through_the_rounded_lp_and_the_lns():
    from planner.backends import highs

    problem = banded_gap(900, 30, seed=5)
    assert highs._lns_worthwhile(problem, SolveOptions())
    result = highs.solve(problem, SolveOptions(gap=0.005, time_limit=20, seed=1))
    assert result.status.has_plan and problem.violations(result.choice) == []
    assert result.gap <= 0.005 and result.bound <= result.objective
    assert "start from the rounded LP" in result.message and "LNS" in result.message
    assert result.objective == pytest.approx(problem.objective(result.choice))


def test_shift_moves_lower_the_true_objective_and_keep_every_cap():
    from planner.backends import lns

    problem = banded_gap(300, 20, seed=6)
    start = backends.solve(problem, "greedy").choice  # all on the fallback agent: far from every floor
    assert problem.violations(start) == []
    plan, moves = lns.shift_moves(problem, start)
    assert moves > 0 and problem.violations(plan) == []
    assert problem.objective(plan) < problem.objective(start)
    again, _ = lns.shift_moves(problem, start)
    assert np.array_equal(plan, again)
    assert lns.shift_moves(problem, plan)[1] == 0  # no single improving move is left


def test_pair_moves_swap_two_items_where_no_single_move_keeps_the_caps():
    from planner.backends import lns

    # Agent 0 holds item 0 (4 h), agent 1 item 1 (6 h); floors 6 and 4 at 10 per idle hour, caps 6 h each.
    # Either single move breaks a cap; the swap fills both floors exactly (20 -> 0 of load cost).
    problem = AssignmentProblem(
        n_items=2,
        n_agents=2,
        arc_item=np.array([0, 0, 1, 1]),
        arc_agent=np.array([0, 1, 0, 1]),
        arc_cost=np.array([1.0, 1.0, 1.0, 1.0]),
        resources=(Resource("hours", np.array([4.0, 4.0, 6.0, 6.0]), np.array([6.0, 6.0])),),
        load_costs=(band([6, 4], 10, INF, [(INF, 0)], n=2),),
    )
    start = np.array([0, 3])
    assert problem.objective(start) == pytest.approx(2.0 + 20.0)
    assert lns.shift_moves(problem, start)[1] == 0
    plan, pairs = lns.pair_moves(problem, start)
    assert pairs == 1 and plan.tolist() == [1, 2]
    assert problem.violations(plan) == [] and problem.objective(plan) == pytest.approx(2.0)


def test_pair_moves_make_an_ejection_chain_through_a_full_agent():
    from planner.backends import lns

    # Item 0 (on agent 0) is 5 cheaper on agent 1, but agent 1 is full with item 1, which agent 2 takes at +1;
    # agent 0 has a floor of 0, agent 2 is priced only above 20 h: the chain 0 -> 1, 1 -> 2 gains 4.
    problem = AssignmentProblem(
        n_items=2,
        n_agents=3,
        arc_item=np.array([0, 0, 1, 1]),
        arc_agent=np.array([0, 1, 1, 2]),
        arc_cost=np.array([6.0, 1.0, 1.0, 2.0]),
        resources=(Resource("hours", np.full(4, 6.0), np.array([10.0, 6.0, 10.0])),),
        load_costs=(band(0, 0, [INF, INF, 20], [(INF, 3)], n=3),),
    )
    start = np.array([0, 2])
    assert lns.shift_moves(problem, start)[1] == 0
    plan, pairs = lns.pair_moves(problem, start)
    assert pairs == 1 and plan.tolist() == [1, 3]
    assert problem.objective(start) - problem.objective(plan) == pytest.approx(4.0)


@pytest.mark.parametrize("seed", range(6))
def test_pair_moves_never_worsen_keep_every_cap_and_are_deterministic(seed):
    from planner.backends import lns

    problem = tiny_problem(seed)
    arcs_of = [np.flatnonzero(problem.arc_item == i) for i in range(problem.n_items)]
    feasible = [np.array(c) for c in itertools.product(*arcs_of) if not problem.violations(np.array(c))]
    best, _ = brute_force(problem)
    for start in feasible[:: max(1, len(feasible) // 25)]:
        plan, pairs = lns.pair_moves(problem, start)
        assert problem.violations(plan) == []
        assert problem.objective(plan) <= problem.objective(start) + 1e-9
        assert (pairs > 0) == (problem.objective(plan) < problem.objective(start) - 1e-9)
        assert problem.objective(plan) >= best - 1e-9
        assert np.array_equal(plan, lns.pair_moves(problem, start)[0])


def test_polish_leaves_no_improving_single_move_or_pair_on_a_banded_book():
    from planner.backends import lns

    problem = banded_gap(300, 20, seed=6)
    start = backends.solve(problem, "greedy").choice
    shifted, _ = lns.shift_moves(problem, start)
    plan, moves = lns.polish(problem, start)
    assert problem.violations(plan) == [] and problem.objective(plan) < problem.objective(shifted)
    assert lns.shift_moves(problem, plan)[1] == 0 and lns.pair_moves(problem, plan)[1] == 0
    assert np.array_equal(plan, lns.polish(problem, start)[0])


def test_repair_moves_the_item_whose_move_costs_least_with_load_costs():
    from planner.backends import highs, lns

    # Agent 0 holds items 0 and 1 (12 h > 10 h). Moving item 0 to agent 1 is the cheaper arc (+1 vs +2), but
    # it puts agent 1 six hours above its ceiling at 5 per hour; moving item 1 to agent 2 costs nothing more.
    problem = AssignmentProblem(
        n_items=2,
        n_agents=3,
        arc_item=np.array([0, 0, 1, 1]),
        arc_agent=np.array([0, 1, 0, 2]),
        arc_cost=np.array([1.0, 2.0, 1.0, 3.0]),
        resources=(Resource("hours", np.full(4, 6.0), np.array([10.0, 10.0, 10.0])),),
        load_costs=(band(0, 0, [INF, 0, INF], [(INF, 5)], n=3),),
    )
    plan = lns.repair(problem, np.array([0, 2]), highs._solve_sub)
    assert plan.tolist() == [0, 3]
    assert problem.objective(plan) == 4.0 < problem.objective(np.array([1, 2]))

"""OR-Library GAP: parsing, senses, and that the backends reach the published optima."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from planner import backends
from planner.backends.base import SolveOptions, Status
from planner.models.gap import in_sense, load_optima, parse_gap_data, read_gap, to_problem

GAP_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "benchmarks" / "gap"

needs_data = pytest.mark.skipif(
    not (GAP_DIR / "gap1-0").is_file(), reason=f"GAP benchmark files not found in {GAP_DIR}"
)
OPTIONS = SolveOptions(gap=0.0, threads=1, time_limit=30)


def needs_backend(name: str):
    return pytest.mark.skipif(name not in backends.available(), reason=f"backend {name} is not installed")


def test_parse_small_instance_by_hand():
    # 2 agents, 3 jobs: c, a, b.
    data = parse_gap_data("2 3  1 2 3  4 5 6   7 8 9  10 11 12   20 30")
    problem = to_problem(data, name="tiny")
    assert (problem.n_agents, problem.n_items, problem.n_arcs) == (2, 3, 6)
    # Arc j*m + i is (job j, agent i): arc 3 is job 1, agent 1 -> cost c[1][1] = 5, use a[1][1] = 11.
    assert (problem.arc_item[3], problem.arc_agent[3], problem.arc_cost[3]) == (1, 1, 5.0)
    assert problem.resources[0].weight[3] == 11.0
    assert problem.resources[0].capacity.tolist() == [20.0, 30.0]
    assert to_problem(data, sense="max").arc_cost[3] == -5.0


def test_parse_rejects_wrong_token_count():
    with pytest.raises(ValueError, match="Expected 16 integers"):
        parse_gap_data("2 3 1 2 3", name="short")


def test_in_sense_converts_max_back():
    assert in_sense(-336.0, "max") == 336.0
    assert in_sense(261.0, "min") == 261.0
    assert in_sense(None, "max") is None


@needs_data
def test_gap1_0_sizes_and_optima_table():
    problem = read_gap(GAP_DIR / "gap1-0")
    assert (problem.n_agents, problem.n_items, problem.n_arcs) == (5, 15, 75)
    assert problem.name == "gap1-0" and problem.meta["sense"] == "min"
    assert np.array_equal(np.bincount(problem.arc_item), np.full(15, 5))
    optima = load_optima(GAP_DIR / "optima.csv")
    assert optima[("gap1-0", "min")].objective == 261 and optima[("gap1-0", "max")].objective == 336
    assert optima[("a05100", "min")].status == "optimal"
    assert len(optima) == 177


@needs_data
@needs_backend("highs")
@pytest.mark.parametrize(
    ("instance", "sense", "optimum"), [("gap1-0", "min", 261), ("gap1-0", "max", 336), ("a05100", "min", 1698)]
)
def test_highs_reaches_known_optimum(instance, sense, optimum):
    problem = read_gap(GAP_DIR / instance, sense=sense)
    result = backends.solve(problem, "highs", OPTIONS)
    assert result.status == Status.OPTIMAL
    assert in_sense(result.objective, sense) == pytest.approx(optimum)
    assert in_sense(result.bound, sense) == pytest.approx(optimum)
    assert problem.violations(result.choice) == []
    assert result.build_s + result.solve_s < 10


@needs_data
@pytest.mark.parametrize("backend", [pytest.param(b, marks=needs_backend(b)) for b in ("pulp", "cpsat")])
def test_other_exact_backends_reach_gap1_0_optimum(backend):
    problem = read_gap(GAP_DIR / "gap1-0")
    result = backends.solve(problem, backend, OPTIONS)
    assert result.status == Status.OPTIMAL
    assert result.objective == pytest.approx(261)
    assert problem.violations(result.choice) == []


@needs_data
def test_greedy_on_a05100_is_a_valid_but_worse_plan():
    problem = read_gap(GAP_DIR / "a05100")
    result = backends.solve(problem, "greedy")
    assert result.status == Status.FEASIBLE and result.bound is None
    assert problem.violations(result.choice) == []
    assert result.objective > 1698

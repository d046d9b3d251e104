"""The fenced child process (planner/backends/fence.py) and the HiGHS full MIP run in it."""

from __future__ import annotations

import time

import numpy as np
import pytest

from planner.backends import fence


def _reports_then_hangs(n: int, report):
    for i in range(n):
        report(("step", i))
    time.sleep(600)


def _returns(value, report):
    report("working")
    return value


def _raises(report):
    raise ValueError("bad model")


def test_a_child_that_never_ends_is_stopped_at_the_deadline_and_its_reports_kept():
    got = []
    t0 = time.perf_counter()
    done, value = fence.Fenced(_reports_then_hangs, (3,), got.append).wait(t0 + 3.0)
    took = time.perf_counter() - t0
    assert (done, value) == (False, None)
    assert got == [("step", 0), ("step", 1), ("step", 2)]
    assert 3.0 <= took < 5.0  # the deadline binds (start-up of the child included)


def test_a_child_that_ends_in_time_returns_its_value_after_its_reports():
    got = []
    done, value = fence.Fenced(_returns, ({"plan": np.arange(3)},), got.append).wait(time.perf_counter() + 30.0)
    assert done and got == ["working"]
    assert value["plan"].tolist() == [0, 1, 2]


def test_a_child_that_fails_says_why():
    with pytest.raises(fence.FenceError, match="ValueError: bad model"):
        fence.Fenced(_raises, (), lambda _: None).wait(time.perf_counter() + 30.0)


def test_the_fenced_full_mip_gives_the_plan_and_bound_of_the_full_mip_in_process(monkeypatch):
    pytest.importorskip("highspy")
    from test_lns import gap_with_fallback

    from planner.backends import highs
    from planner.backends.base import SolveOptions

    problem = gap_with_fallback(n_items=120, n_agents=12, seed=3)
    options = SolveOptions(time_limit=60.0, gap=1e-4, seed=1, extra={"core": False})
    inside = highs.solve(problem, options)
    told = []
    monkeypatch.setattr(highs, "FENCE_MIN_ARCS", 0)
    fenced = highs.solve(problem, SolveOptions(time_limit=60.0, gap=1e-4, seed=1, extra={"core": False},
                                               progress=lambda *a: told.append(a)))  # fmt: skip
    assert fenced.status == inside.status
    assert fenced.objective == pytest.approx(inside.objective)
    assert fenced.bound == pytest.approx(inside.bound)
    assert np.array_equal(fenced.choice, inside.choice)
    assert told and all(stage == "full MIP" for stage, _, _ in told)  # the child's progress reaches the parent


def test_a_fenced_full_mip_cut_short_keeps_the_best_plan_it_reported(monkeypatch):
    pytest.importorskip("highspy")
    from test_lns import gap_with_fallback

    from planner.backends import highs
    from planner.backends.base import SolveOptions, Status

    problem = gap_with_fallback(n_items=400, n_agents=40, seed=4)
    monkeypatch.setattr(highs, "FENCE_MIN_ARCS", 0)
    monkeypatch.setattr(highs, "FENCE_START_S", 0.0)
    t0 = time.perf_counter()
    sol = highs.solve(problem, SolveOptions(time_limit=4.0, gap=0.0, seed=1, extra={"core": False}))
    assert time.perf_counter() - t0 < 6.0
    assert sol.status in (Status.TIME_LIMITED, Status.OPTIMAL, Status.FEASIBLE)
    assert np.all(sol.choice >= 0) and not problem.violations(sol.choice)
    assert sol.objective == pytest.approx(problem.objective(sol.choice))


def test_with_two_threads_the_full_mip_runs_beside_the_lns_and_the_better_plan_and_bound_are_kept(monkeypatch):
    pytest.importorskip("highspy")
    from test_lns import gap_with_fallback

    from planner.backends import highs
    from planner.backends.base import SolveOptions

    problem = gap_with_fallback(n_items=600, n_agents=30, seed=5)
    monkeypatch.setattr(highs, "FENCE_MIN_ARCS", 0)
    t0 = time.perf_counter()
    sol = highs.solve(problem, SolveOptions(time_limit=5.0, gap=0.0, threads=2, seed=1))
    assert time.perf_counter() - t0 < 7.0  # the deadline binds the full MIP beside the LNS
    assert "the full MIP beside the LNS" in sol.message
    assert np.all(sol.choice >= 0) and not problem.violations(sol.choice)
    assert sol.objective == pytest.approx(problem.objective(sol.choice))
    assert sol.bound is not None and sol.bound <= sol.objective + 1e-6
    alone = highs.solve(problem, SolveOptions(time_limit=3.0, gap=0.0, threads=1, seed=1))
    assert "beside" not in alone.message  # one thread: the LNS, then the full MIP, as before

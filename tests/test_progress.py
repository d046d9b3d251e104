"""Progress while solving (planner/cli/progress.py, SolveOptions.progress): what is shown and what the backend tells."""

from __future__ import annotations

import numpy as np
import pytest

from planner.backends.base import SolveOptions
from planner.cli.progress import SolveProgress


class FakeStatus:
    def __init__(self):
        self.shown: list[str] = []

    def update(self, text: str) -> None:
        self.shown.append(text)


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_progress_shows_elapsed_best_bound_and_gap_and_never_gets_worse():
    status, clock = FakeStatus(), FakeClock()
    progress = SolveProgress(status, "Solving 10 accounts with highs", started=90.0, clock=clock)
    progress("LP", None, 900.0)
    assert status.shown == ["Solving 10 accounts with highs: 10.0 s, bound $900 (LP)"]
    clock.now += 1
    progress("LNS", 1000.0, None)
    assert status.shown[-1] == "Solving 10 accounts with highs: 11.0 s, best $1,000, bound $900, gap 10.00% (LNS)"
    clock.now += 1
    progress("LNS", 1200.0, 800.0)  # a worse plan and a worse bound change nothing
    assert len(status.shown) == 2 and progress.best == 1000.0 and progress.bound == 900.0


def test_progress_is_throttled():
    status, clock = FakeStatus(), FakeClock()
    progress = SolveProgress(status, "x", clock=clock)
    for k in range(100):  # HiGHS's callbacks come far more often than a line is worth redrawing
        clock.now += 0.01
        progress("full MIP", 1000.0 - k, None)
    assert 3 <= len(status.shown) <= 5 and progress.best == 901.0


def test_highs_tells_progress_and_the_plan_is_the_same_without_it():
    pytest.importorskip("highspy")
    from test_lns import gap_with_fallback

    from planner.backends import highs

    problem = gap_with_fallback(60, 14, seed=3)
    told: list[tuple] = []
    with_progress = highs.solve(problem, SolveOptions(gap=0.0, seed=1, progress=lambda *a: told.append(a)))
    without = highs.solve(problem, SolveOptions(gap=0.0, seed=1))
    assert np.array_equal(with_progress.choice, without.choice)
    stages = [stage for stage, _, _ in told]
    assert stages[0] == "LP" and "first plan" in stages and "full MIP" in stages
    bests = [b for _, b, _ in told if b is not None]
    bounds = [b for _, _, b in told if b is not None]
    assert min(bests) == pytest.approx(with_progress.objective)
    assert max(bounds) <= with_progress.bound + 1e-6  # every bound told is a bound (the last may come after)


def test_a_mip_run_stops_at_its_deadline_even_when_highs_would_not():
    pytest.importorskip("highspy")
    import time

    import highspy
    from test_lns import gap_with_fallback

    from planner.backends import highs

    problem = gap_with_fallback(300, 30, seed=2)
    lp = highs.build_lp(problem)
    h = highspy._Highs()
    h.setOptionValue("output_flag", False)
    lp.integrality_ = highs._integrality(lp, True)
    h.passModel(lp)
    highs._watch(h, lp, SolveOptions(), time.perf_counter() - 1.0, "full MIP")  # HiGHS has no time limit of its own
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kInterrupt

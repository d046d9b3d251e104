"""The one pipeline: solve and reassign go through planner.planning.pipeline.run and get the same treatment."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import numpy as np
import pytest

from planner import backends
from planner.backends.base import BackendSolution, Status
from planner.io import load_book
from planner.planning import pipeline
from planner.planning.reassign import reassign
from planner.planning.solve import solve

FIX = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.fixture(scope="module")
def handoff():
    return load_book(FIX / "handoff", as_of=dt.date(2027, 6, 1))


@pytest.fixture(scope="module")
def tiny():
    return load_book(FIX / "tiny", as_of=dt.date(2026, 11, 1))


def test_two_different_reassignments_never_share_a_plan_id(handoff):
    leaving = reassign(handoff, ["csm_leo"])
    on_leave = reassign(handoff, (), ["csm_leo"], until=dt.date(2027, 9, 1))
    later = reassign(handoff, ["csm_leo"], effective=dt.date(2027, 6, 15))
    assert leaving.plan() == on_leave.plan()  # who covers what is the same ...
    assert len({leaving.plan_id, on_leave.plan_id, later.plan_id}) == 3  # ... but they are three different plans
    assert reassign(handoff, ["csm_leo"]).plan_id == leaving.plan_id  # and the same one twice is the same plan
    assert on_leave.summary["identity"]["leavers"] == [
        {"csm_id": "csm_leo", "mode": "on_leave", "temporary_until": "2027-09-01"}
    ]


def _no_plan_unless_greedy(monkeypatch):
    real = backends.solve

    def stopped(problem, backend="highs", options=None):
        if backend == "greedy":
            return real(problem, backend, options)
        none = np.full(problem.n_items, -1, dtype=np.int64)
        return BackendSolution(Status.NO_SOLUTION, none, None, None, backend, message="solver crashed")

    monkeypatch.setattr(backends, "solve", stopped)


def test_reassign_falls_back_to_the_rule_based_plan_like_solve(handoff, tiny, monkeypatch):
    """Both commands share the fall-back: a backend that stops without a plan still hands back the greedy plan."""
    _no_plan_unless_greedy(monkeypatch)
    for result in (solve(tiny, "highs"), reassign(handoff, ["csm_leo"])):
        assert result.has_plan and result.status == Status.FEASIBLE, result.kind
        assert result.solver_message.startswith("highs stopped without a plan (solver crashed)"), result.kind
        assert result.bound is None and result.gap is None


def test_the_time_limit_counts_from_when_the_command_started(tiny, monkeypatch):
    """--time-limit binds the whole command: what loading and building used is not given to the solver again."""
    given = []
    real = backends.solve

    def spy(problem, backend="highs", options=None):
        given.append(options.time_limit)
        return real(problem, backend, options)

    monkeypatch.setattr(backends, "solve", spy)
    solve(tiny, "highs", time_limit=12, started=time.perf_counter() - 10)  # 10 s already spent loading
    assert given[0] is not None and given[0] <= 2.0
    given.clear()
    solve(tiny, "highs")
    assert given[0] is None


def test_the_clock_keeps_a_reserve_for_the_work_after_the_solver():
    clock = pipeline.Clock(time.perf_counter(), 60.0)
    assert 58.0 <= clock.for_solver() <= 59.0
    assert (
        pipeline.Clock(time.perf_counter() - 100, 60.0).for_solver() == 0.1
    )  # out of time: the solver still gets a moment
    assert pipeline.Clock(time.perf_counter(), None).for_solver() is None


def test_summary_json_is_the_results_summary(tiny, tmp_path):
    """summary.json is written from the typed result in one place: the file says what the fields say."""
    result = solve(tiny, "highs")
    result.write(tmp_path / "plan")
    written = json.loads((tmp_path / "plan" / "summary.json").read_text())
    assert written == json.loads(json.dumps(result.summary))
    assert written["objective"] == pytest.approx(result.objective) and written["status"] == result.status.value
    assert written["objective_terms"] == pytest.approx(result.terms)
    assert written["counts"]["moved"] == result.counts.moved and written["baseline"]["backend"] == "greedy"
    assert written["options"]["gap"] == result.options.gap

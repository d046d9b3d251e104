"""Why a book has no plan: the diagnosis never crashes, and says what it can (issue 11, item 5).

The item-5 book is the generated 500-account book with every CSM at 5 h/month
and every pool at 1 h/month: infeasible because CSM *and* pool capacity are
both tight. Its diagnosis used to crash with "HiGHS failed: Not Set" (exit 70)
whatever the backend: the elastic re-solve priced an uncovered account at
1e3·(1 + Σ|c|) = 5e10 next to costs of 1e2, and HiGHS's dual simplex gave up.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from planner import backends
from planner.backends.base import BackendSolution, Status
from planner.cli import app
from planner.generate import generate_book, write_book
from planner.io import load_book
from planner.models.coverage import build_coverage
from planner.planning import diagnose as D

AS_OF = dt.date(2026, 11, 1)
FIX = Path(__file__).resolve().parent.parent / "fixtures"
runner = CliRunner()


def tight_book(folder: Path, accounts: int, csms: int) -> Path:
    """A generated book (seed 3) with every CSM at 5 h/month and every pool at 1 h/month."""
    write_book(generate_book(accounts, csms, seed=3, as_of=AS_OF), folder)
    for table, hours in (("csms", "5"), ("pools", "1")):
        path = folder / f"{table}.csv"
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
        df["capacity_hours"] = hours
        df.to_csv(path, index=False)
    return folder


@pytest.fixture(scope="module")
def item5(tmp_path_factory) -> Path:
    return tight_book(tmp_path_factory.mktemp("item5") / "book", 500, 12)


@pytest.mark.parametrize("backend", ["highs", "cpsat", "pulp", "greedy"])
def test_both_capacities_tight_give_the_reasons_and_a_plan_of_what_fits(item5, tmp_path, backend):
    out = tmp_path / "plan"
    r = runner.invoke(app, ["solve", str(item5), "--as-of", AS_OF.isoformat(), "--backend", backend, "--out", str(out),
                            "--no-baseline"])  # fmt: skip
    assert "internal error" not in r.output and "Traceback" not in r.output
    # Renewal-freeze loads over the 5 h caps no longer sink the book (the caps are raised to what they need,
    # priced, and listed); what does is the demand of the rest against the owners' supply:
    assert "must keep" not in r.output
    assert "h/month in all" in r.output  # a region's demand against its owners' supply
    assert "cannot be covered within the caps" in r.output  # the elastic re-solve's count
    if backend == "greedy":  # no proof from the rule: what it hit, then what the checks prove; no plan
        assert r.exit_code == 3, r.output
        assert "No plan (" in r.output and not out.exists()
        assert "greedy: no agent had room for item" in r.output
        return
    # A proof of infeasibility: the fewest accounts that do not fit are left unplaced, the rest is planned (exit 5).
    assert r.exit_code == 5, r.output
    assert "The caps cannot hold every account, so the fewest that do not fit are left unplaced" in r.output
    a = pd.read_csv(out / "assignments.csv", dtype=str, keep_default_na=False)
    short = a[a["owner_type"] == "unassigned"]
    assert len(short) and set(short["reason"]) == {"not placed"} and (a["owner_id"] != "").sum() > 0
    assert short["reason_detail"].str.startswith("every eligible owner is full: ").all()
    summary = json.loads((out / "summary.json").read_text())
    assert len(summary["unplaced"]) == len(short) and summary["evaluation"]["agrees_with_solver"]


def test_with_strict_the_commitments_over_a_cap_are_a_cause(item5, tmp_path):
    r = runner.invoke(app, ["solve", str(item5), "--as-of", AS_OF.isoformat(), "--out", str(tmp_path / "p"), "--no-baseline",
                            "--strict"])  # fmt: skip
    assert r.exit_code == 3 and "No plan (" in r.output and not (tmp_path / "p").exists()
    assert "must keep" in r.output  # renewal-freeze loads over 5 h caps: a proof in words


def test_the_elastic_model_has_small_costs_and_proves_its_count(item5, monkeypatch):
    book = load_book(item5, as_of=AS_OF)
    model = build_coverage(book)
    seen = []
    real = backends.solve

    def spy(problem, backend, options):
        sol = real(problem, backend, options)
        seen.append((problem, backend, sol))
        return sol

    monkeypatch.setattr(backends, "solve", spy)
    said = list(D.uncovered_at_best(book, model))
    elastic, _, sol = [s for s in seen if s[1] == "highs"][-1]
    # Levels 1 (uncovered) and tie-breaks below 1/2, instead of a big-M of 5e10.
    assert float(np.abs(elastic.arc_cost).max()) <= 1.25
    n_out = int(np.sum(elastic.arc_agent[sol.choice] == model.problem.n_agents))
    assert n_out > 0 and sol.bound is not None
    assert said[0].startswith(f"at best {n_out} accounts (")  # the bound meets the plan: proven fewest
    assert "; it needs about" in said[1] and ": no room for its" in said[1]


def test_a_check_that_fails_is_named_and_the_other_reasons_stand(item5, monkeypatch):
    book = load_book(item5, as_of=AS_OF)
    model = build_coverage(book)

    def broken(book, model):
        raise RuntimeError("boom")
        yield  # a generator, like the real checks

    broken.label = "renewal-freeze and pinned loads over caps"
    checks = tuple(broken if fn is D.forced_loads_over_caps else fn for fn in D.CHECKS)
    monkeypatch.setattr(D, "CHECKS", checks)
    reasons = D.diagnose(book, model)
    assert "the check of renewal-freeze and pinned loads over caps could not finish (RuntimeError: boom)" in reasons[0]
    assert any("h/month in all" in s for s in reasons)  # demand against supply still says its part
    assert any("cannot be covered within the caps" in s for s in reasons)


def test_a_solver_error_in_the_elastic_re_solve_is_a_reason_not_a_crash(item5, monkeypatch):
    from planner.backends.numerics import SolverError

    book = load_book(item5, as_of=AS_OF)
    model = build_coverage(book)

    def failing(problem, backend, options):
        raise SolverError("HiGHS stopped with an error (model status 'Not Set')")

    monkeypatch.setattr(backends, "solve", failing)
    reasons = D.diagnose(book, model)
    assert any("h/month in all" in s for s in reasons)  # the checks that need no solver still speak
    assert reasons[-1].startswith(
        "the elastic re-solve (accounts may stay uncovered) found no plan in 10 s: HiGHS stopped"
    )


def test_a_reassignment_short_of_capacity_with_cascades_is_explained(tmp_path):
    """2,000 accounts at 5 h per CSM, cascades allowed: the overflow search used to crash ('Not Set').

    The plan is written with the accounts that do not fit unplaced, and the options say why."""
    from planner.planning.reassign import reassign

    book = load_book(tight_book(tmp_path / "book", 2000, 40), as_of=AS_OF)
    r = reassign(book, max_moves=50)
    assert r.status.has_plan and r.summary["unplaced"]
    said = r.summary["shortage"]
    assert said and said[0].startswith("capacity is short") and all("could not finish" not in s for s in said)


def test_shortage_options_says_why_when_its_search_fails(monkeypatch):
    from planner.models.reassign import build_reassign
    from planner.planning.reassign import knowledge_scorer, resolve_leaves

    book = load_book(FIX / "handoff", as_of=dt.date(2027, 6, 1))
    leaves = resolve_leaves(book, ["csm_leo"], (), None)
    model = build_reassign(book, leaves, book.as_of, 0, knowledge_scorer(book)[1])

    def failing(problem, backend, options):
        raise RuntimeError("solver exploded")

    monkeypatch.setattr(backends, "solve", failing)
    said = list(D.shortage_options(model.book, model))
    assert said[-1].startswith("the search for overflow options")
    assert "solver exploded" in said[-1]


def test_the_fallback_without_a_time_limit_does_not_mention_one(monkeypatch):
    """A solver that stops without a plan, no time limit set: the greedy plan, and what really happened."""
    from planner.planning.solve import solve

    tiny = load_book(FIX / "tiny", as_of=AS_OF)
    real = backends.solve

    def no_plan(problem, backend, options):
        if backend == "greedy":
            return real(problem, backend, options)
        return BackendSolution(Status.NO_SOLUTION, np.full(problem.n_items, -1), None, 123.0, backend, solve_s=0.03,
                               message="HiGHS stopped without a plan (model status 'Unknown')")  # fmt: skip

    monkeypatch.setattr(backends, "solve", no_plan)
    r = solve(tiny, "highs")
    message = r.summary["solver_message"]
    assert "time limit" not in message
    assert message.startswith("highs stopped without a plan (HiGHS stopped without a plan (model status 'Unknown'))")
    assert r.status == Status.FEASIBLE and r.summary["bound"] is None  # the greedy plan as greedy reports it
    assert r.summary["evaluation"]["violations"] == []


def test_the_fallback_after_the_time_limit_says_so(monkeypatch):
    from planner.planning.solve import solve

    tiny = load_book(FIX / "tiny", as_of=AS_OF)
    real = backends.solve

    def timed_out(problem, backend, options):
        if backend == "greedy":
            return real(problem, backend, options)
        return BackendSolution(Status.NO_SOLUTION, np.full(problem.n_items, -1), None, None, backend, solve_s=5.0,
                               message="Time limit reached")  # fmt: skip

    monkeypatch.setattr(backends, "solve", timed_out)
    r = solve(tiny, "highs", time_limit=5)
    assert r.status == Status.TIME_LIMITED
    assert r.summary["solver_message"].startswith(
        "highs found no plan within the time limit of 5 s (Time limit reached)"
    )


def test_a_book_without_pools_names_the_empty_funnel(tmp_path):
    """No pools table: the funnel of an account nobody may cover says '0 pools' (it raised KeyError: 'languages')."""
    import shutil

    book = tmp_path / "book"
    shutil.copytree(FIX / "small", book)
    (book / "pools.csv").unlink()
    r = runner.invoke(app, ["solve", str(book), "--out", str(tmp_path / "plan"), "--as-of", "2026-11-01", "--strict"])
    assert r.exit_code == 3, r.output
    assert "could not finish" not in r.output
    assert "mid_market accounts may use csm, pool, but" in r.output and "; 0 pools" in r.output
    # Without --strict the rest of the book is planned and those accounts are left unassigned (exit 5).
    r = runner.invoke(app, ["solve", str(book), "--out", str(tmp_path / "plan"), "--as-of", "2026-11-01"])
    assert r.exit_code == 5, r.output
    assert "0 pools; to fix: hire or train a mid-market CSM" in r.output

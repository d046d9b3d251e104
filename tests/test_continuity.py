"""Continuity: --max-moves and --max-moved-arr cap the changes of owner, and say why when they cannot be met."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planner.backends.base import Status
from planner.cli import app
from planner.generate import generate_book, write_book
from planner.io import load_book
from planner.planning.solve import solve

AS_OF = dt.date(2026, 11, 1)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("continuity") / "book"
    write_book(generate_book(300, 8, pools=2, seed=3, as_of=AS_OF), path)
    return path


@pytest.fixture(scope="module")
def book(folder):
    return load_book(folder, as_of=AS_OF)


@pytest.fixture(scope="module")
def free(book):
    return solve(book, "highs", gap=1e-3)


def test_max_moves_caps_the_accounts_that_change_owner(book, free):
    cap = free.counts.moved // 2
    capped = solve(book, "highs", gap=1e-3, max_moves=cap)
    assert capped.status.has_plan and capped.counts.moved <= cap < free.counts.moved
    assert capped.objective >= free.objective - 1e-6 * free.objective * 10  # fewer moves never cost less (within gaps)
    assert capped.summary["identity"]["max_moves"] == cap and "max_moves" not in free.summary["identity"]
    assert capped.plan_id != free.plan_id


def test_max_moved_arr_caps_the_arr_that_changes_owner(book, free):
    from planner.models.coverage import build_coverage
    from planner.planning.continuity import least_change

    owned = float(book.accounts.loc[book.accounts["current_owner"] != "", "arr"].sum())
    least = least_change(book, build_coverage(book), "arr").found  # the least ARR the caps let change owner
    assert least < free.counts.arr_moved
    share = 0.5 * (least + free.counts.arr_moved) / owned
    capped = solve(book, "highs", gap=1e-3, max_moved_arr=share)
    assert capped.status.has_plan and capped.counts.arr_moved <= share * owned * (1 + 1e-6)


def test_a_moves_cap_below_what_the_caps_need_says_so(book, free):
    """Today's overloads must be relieved: a cap on moves below that is no plan, with the least the caps need."""
    r = solve(book, "highs", max_moves=0)
    assert r.status == Status.INFEASIBLE
    text = " ".join(r.diagnosis)
    assert "--max-moves 0 is below the" in text or "keeping every cap needs at least" in text
    least = next(line for line in r.diagnosis if "needs at least" in line or "is below the" in line)
    assert "expected" in least


def test_the_flags_on_the_command_line(folder, tmp_path):
    runner = CliRunner()
    r = runner.invoke(
        app, ["solve", str(folder), "--as-of", AS_OF.isoformat(), "--out", str(tmp_path / "p"), "--max-moves", "0"]
    )
    assert r.exit_code == 3 and "--max-moves" in r.output and not (tmp_path / "p").exists()
    r = runner.invoke(
        app,
        ["solve", str(folder), "--as-of", AS_OF.isoformat(), "--out", str(tmp_path / "p"), "--max-moved-arr", "1.5"],
    )
    assert r.exit_code == 2 and "Expected a share of ARR from 0 to 1" in r.output


def test_every_move_names_its_reason_in_words_and_dollars(free):
    """No move without a reason: leaving owners, rules broken today, overloads, or a saving priced in the row."""
    from planner.planning.tables import REASONS

    a = free.assignments
    moved = a[a["changed"] & (a["previous_owner"] != "")]
    assert len(moved) and set(moved["reason"]) <= set(REASONS) - {"kept", "new account"}
    assert "rebalanced" not in set(a["reason"])
    priced = moved[moved["reason"].isin(["lower cost", "overload relief", "makes room"])]
    assert (priced["reason_detail"].str.contains(r"\$")).all() and priced["stay_cost"].notna().all()
    cheaper = moved[moved["reason"] == "lower cost"]
    assert (cheaper["stay_cost"] > cheaper["annual_cost"]).all()  # it saves, disruption included


def test_commitments_over_a_cap_give_a_plan_that_lists_the_overload(folder, tmp_path):
    """A CSM whose renewal-frozen accounts alone exceed the ARR cap: a plan, the cap exceeded by exactly that, listed."""
    import shutil

    import numpy as np
    import pandas as pd

    from planner.models.coverage import build_coverage

    book = load_book(folder, as_of=AS_OF)
    model = build_coverage(book)
    frozen = np.flatnonzero(model.arc_rule == "freeze")
    held = np.bincount(model.problem.arc_agent[frozen], weights=book.accounts["arr"].to_numpy(float)[model.problem.arc_item[frozen]],
                       minlength=model.problem.n_agents)  # fmt: skip
    k = int(np.argmax(held))
    csm = model.owners.ids[k]
    edited = tmp_path / "book"
    shutil.copytree(folder, edited)
    csms = pd.read_csv(edited / "csms.csv", dtype=str, keep_default_na=False)
    csms.loc[csms["csm_id"] == csm, "max_arr"] = str(int(held[k] // 2))
    csms.to_csv(edited / "csms.csv", index=False)

    result = solve(load_book(edited, as_of=AS_OF), "highs", gap=1e-3)
    assert result.status.has_plan and result.evaluation.ok  # the overload is inherited: an exception, not a break
    (row,) = [r for r in result.details["over_caps"] if r["owner_id"] == csm]
    assert row["resource"] == "arr" and row["over"] == pytest.approx(held[k] - held[k] // 2)
    assert "renewing by" in row["detail"] and "keep their owner" in row["detail"] and row["annual_cost"] > 0
    owned = result.assignments[result.assignments["owner_id"] == csm]
    assert set(owned["reason"]) == {"renewal freeze"}  # nothing else is added to the over-cap CSM
    r = CliRunner().invoke(
        app, ["solve", str(edited), "--as-of", AS_OF.isoformat(), "--out", str(tmp_path / "p"), "--strict"]
    )
    assert r.exit_code == 3 and "must keep" in r.output

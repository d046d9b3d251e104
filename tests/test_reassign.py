"""Reassignment when a CSM leaves, on the hand-checked fixtures/handoff book (see its README)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from planner.backends.base import Status
from planner.io import load_book
from planner.planning.evaluate import evaluate
from planner.planning.reassign import LeaverError, reassign

FIX = Path(__file__).resolve().parent.parent / "fixtures"
AS_OF = dt.date(2027, 6, 1)
LEO = ["acc_alpha", "acc_beta", "acc_gamma", "acc_delta", "acc_epsilon"]


@pytest.fixture(scope="module")
def book():
    return load_book(FIX / "handoff", as_of=AS_OF)


def edit(book, table: str, key: str, row_id: str, **values):
    """A copy of `book` with some cells of one row changed (any value, tuples included)."""
    df = getattr(book, table).copy()
    hit = df[key] == row_id
    for col, v in values.items():
        df[col] = [v if h else old for h, old in zip(hit, df[col], strict=True)]
    return book.with_(**{table: df})


def handoffs(result) -> dict[str, tuple[str, float, str]]:
    h = result.extra_tables["handoffs.csv"]
    return {r["account_id"]: (r["to"], r["knowledge_score"], r["explanation"]) for r in h.to_dict("records")}


def test_each_account_goes_to_the_successor_who_knows_it_best(book):
    r = reassign(book)  # the leaver comes from status = leaving in the roster
    assert r.status == Status.OPTIMAL
    assert handoffs(r) == {
        "acc_alpha": ("csm_ann", 0.4, "former owner until 2025-06"),
        "acc_beta": ("csm_bea", 0.7, "backup"),
        "acc_gamma": ("csm_cal", 0.4, "knows 2 of its 3 contacts"),
        "acc_delta": ("csm_dan", 0.405, "expert in 2 of its 2 products; same pod as the leaver (csm_leo)"),
        "acc_epsilon": ("csm_dan", 0.15, "same pod as the leaver (csm_leo)"),
    }
    h = r.extra_tables["handoffs.csv"].set_index("account_id")
    assert set(h["introducer"]) == {"csm_leo"}  # still there to introduce every successor
    assert not h.loc["acc_epsilon", "warm"] and h.loc["acc_alpha", "warm"]
    # Priority: soonest renewal first (epsilon renews 2027-11-30, alpha 2028-03-31).
    assert list(r.extra_tables["handoffs.csv"]["account_id"]) == [
        "acc_epsilon",
        "acc_delta",
        "acc_gamma",
        "acc_beta",
        "acc_alpha",
    ]
    s = r.summary
    assert s["moves"] == 5 and s["cascade_moves"] == 0
    assert s["arr_moved"] == 910_000
    assert s["warm_arr_share"] == pytest.approx(850_000 / 910_000, abs=1e-4)


def test_the_leaver_owns_nothing_nobody_is_over_a_cap_and_the_evaluator_agrees(book):
    r = reassign(book, leaving=["csm_leo"])
    plan = r.plan()
    assert not {a for a, o in plan.items() if o == "csm_leo"}
    ev = evaluate(r.book, plan)
    assert ev.violations == []
    assert r.summary["evaluation"]["agrees_with_solver"] and r.summary["evaluation"]["violations"] == []


def test_with_max_moves_0_nothing_else_moves(book):
    r = reassign(book, leaving=["csm_leo"], max_moves=0)
    before = dict(zip(book.accounts["account_id"], book.accounts["current_owner"], strict=True))
    after = r.plan()
    assert {a for a in after if after[a] != before[a]} == set(LEO)


def gamma_needs_a_german_speaker(book):
    """Only csm_cal speaks German, and cal's single account slot is taken by acc_theta."""
    b = edit(book, "accounts", "account_id", "acc_gamma", language="de")
    return edit(b, "csms", "csm_id", "csm_cal", languages=("en", "de"), max_accounts=1)


def test_short_capacity_still_gives_a_plan_with_the_account_unplaced_and_the_options(book):
    r = reassign(gamma_needs_a_german_speaker(book), leaving=["csm_leo"], max_moves=0)
    assert r.status.has_plan and r.evaluation.ok
    a = r.assignments.set_index("account_id")
    assert (a.loc["acc_gamma", "owner_type"], a.loc["acc_gamma", "owner_id"]) == ("unassigned", "")
    assert a.loc["acc_gamma", "reason"] == "not placed"
    detail = a.loc["acc_gamma", "reason_detail"]
    assert "every eligible owner is full: csm_cal (2.0 of 120.0 h, 1 of 1 accounts" in detail
    assert "options: hand it to digital outside its segment's coverage" in detail
    assert "a larger --max-moves" in detail
    assert set(r.plan()) - {"acc_gamma"} and all(o for k, o in r.plan().items() if k != "acc_gamma")
    assert [u["account_id"] for u in r.summary["unplaced"]] == ["acc_gamma"]
    text = "\n".join(r.summary["shortage"])
    assert "capacity is short: 1 of the 5 accounts to place do not fit" in text
    assert "option: overflow 1 accounts outside their segment's coverage (digital: acc_gamma)" in text
    assert "acc_gamma" not in handoffs(r) and r.summary["moves"] == r.counts.moved == 4
    assert r.counts.left_without_owner == 1


def test_an_account_nobody_may_take_is_unplaced_with_its_fix(book):
    r = reassign(edit(book, "accounts", "account_id", "acc_beta", language="ja"), leaving=["csm_leo"])
    assert r.status.has_plan and r.evaluation.ok
    a = r.assignments.set_index("account_id")
    assert (a.loc["acc_beta", "owner_type"], a.loc["acc_beta", "reason"]) == ("unassigned", "no eligible owner")
    assert "0 speaking 'ja'" in a.loc["acc_beta", "reason_detail"]
    assert "to fix: hire or train a mid-market CSM who speaks 'ja'" in a.loc["acc_beta", "reason_detail"]
    assert set(handoffs(r)) == set(LEO) - {"acc_beta"}
    assert r.summary["shortage"] == []  # nobody is short of room: the fix is the account's own


def test_renewing_accounts_never_take_the_room_a_cascade_needs(book):
    """Only dan speaks German and has one free slot; iota (German) is his. The renewal rule used to fill dan
    with delta and epsilon before the model ran, so iota had to move and could not: infeasible at any --max-moves."""
    b = edit(book, "accounts", "account_id", "acc_iota", language="de")
    b = edit(b, "csms", "csm_id", "csm_dan", languages=("en", "de"), max_accounts=2)
    for max_moves in (0, 1, 5):
        r = reassign(b, leaving=["csm_leo"], effective=dt.date(2027, 10, 15), max_moves=max_moves)
        assert r.status == Status.OPTIMAL and r.summary["unplaced"] == []
        plan = r.plan()
        # iota stays; dan's one free slot goes to the renewal that loses most knowledge elsewhere (delta, 0.405).
        assert (plan["acc_iota"], plan["acc_delta"]) == ("csm_dan", "csm_dan")
        assert plan["acc_epsilon"] not in ("csm_dan", "csm_leo")
        assert evaluate(r.book, plan).violations == []


def test_a_cascade_makes_room_when_max_moves_allows(book):
    r = reassign(gamma_needs_a_german_speaker(book), leaving=["csm_leo"], max_moves=1)
    assert r.status == Status.OPTIMAL
    plan = r.plan()
    assert plan["acc_gamma"] == "csm_cal" and plan["acc_theta"] != "csm_cal"
    h = r.extra_tables["handoffs.csv"].set_index("account_id")
    assert h.loc["acc_theta", "reason"] == "cascade" and h.loc["acc_theta", "from"] == "csm_cal"
    assert r.summary["moves"] == 6 and r.summary["cascade_moves"] == 1
    assert evaluate(r.book, plan).violations == []


def test_renewal_freeze_sends_the_account_to_the_strongest_knowledge_with_room(book):
    effective = dt.date(2027, 10, 15)  # delta renews 2027-12-31: inside the 90-day window
    r = reassign(book, leaving=["csm_leo"], effective=effective)
    assert r.plan()["acc_delta"] == "csm_dan" and r.summary["model"]["renewing"] == 2  # delta, epsilon
    full = edit(book, "csms", "csm_id", "csm_dan", max_accounts=1)  # dan keeps only iota
    r = reassign(full, leaving=["csm_leo"], effective=effective)
    assert r.plan()["acc_delta"] == "csm_cal"  # next strongest: expert in 1 of its 2 products (0.15)


def test_on_leave_cover_is_temporary_and_keeps_the_original_owner(book):
    staying = edit(book, "csms", "csm_id", "csm_leo", status="active")
    r = reassign(staying, on_leave=["csm_ann"], until=dt.date(2027, 9, 1))
    h = r.extra_tables["handoffs.csv"]
    assert list(h["account_id"]) == ["acc_zeta"]
    row = h.iloc[0]
    assert row["from"] == "csm_ann" and row["temporary_until"] == "2027-09-01"
    assert row["to"] == "csm_bea" and row["reason"] == "on leave"  # zeta's backup
    a = r.assignments.set_index("account_id")
    assert a.loc["acc_zeta", "previous_owner"] == "csm_ann"
    assert r.summary["leavers"] == [{"csm_id": "csm_ann", "mode": "on_leave", "temporary_until": "2027-09-01"}]


def test_accounts_of_other_inactive_csms_move_too(book):
    r = reassign(book, on_leave=["csm_ann"], until=dt.date(2027, 9, 1))  # csm_leo is still leaving
    h = r.extra_tables["handoffs.csv"].set_index("account_id")
    assert set(h.index) == set(LEO) | {"acc_zeta"}
    assert set(h.loc[LEO, "reason"]) == {"leaving"} and set(h.loc[LEO, "temporary_until"]) == {""}


def test_unknown_leaver_is_refused(book):
    with pytest.raises(LeaverError, match="csm_nobody: expected a csm_id from the roster"):
        reassign(book, leaving=["csm_nobody"])


def test_reassign_plan_folder_has_handoffs(book, tmp_path):
    r = reassign(book)
    out = r.write(tmp_path / "plan")
    h = pd.read_csv(out / "handoffs.csv", dtype=str, keep_default_na=False)
    assert list(h.columns[:8]) == [
        "account_id",
        "from",
        "to",
        "knowledge_score",
        "explanation",
        "introducer",
        "priority",
        "temporary_until",
    ]
    assert {p.name for p in out.iterdir()} - {".planner-output.json"} == {
        "assignments.csv",
        "owners.csv",
        "handoffs.csv",
        "summary.json",
    }


def test_accounts_without_an_owner_are_left_to_solve():
    tiny = load_book(FIX / "tiny", as_of=dt.date(2026, 11, 1))
    r = reassign(tiny, leaving=["csm_b"])
    a = r.assignments.set_index("account_id")
    assert a.loc["acc_2", "owner_id"] not in ("", "csm_b")  # the leaver's account moves
    for new in ("acc_3", "acc_6"):  # new accounts: no owner today, not part of a handoff
        assert (a.loc[new, "owner_type"], a.loc[new, "owner_id"]) == ("unassigned", "")
        assert a.loc[new, "reason"] == "not in this plan (no owner today)"
    assert r.summary["left_unassigned"] == 2 and r.summary["moves"] == 1
    assert r.summary["evaluation"]["violations"] == []

"""The plan ledger: recording, lifecycle transitions and refusals, schema, transactions."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from plan_folders import standard_accounts, standard_owners, write_plan
from planner.ledger import LEDGER_NAME, SCHEMA_VERSION, Ledger, LedgerError, resolve_ledger_path

PLAN_ID = "plan-0000000000aa"


@pytest.fixture(autouse=True)
def _no_ledger_env(monkeypatch):
    monkeypatch.delenv("PLANNER_LEDGER", raising=False)


@pytest.fixture
def plan(tmp_path) -> Path:
    return write_plan(tmp_path / "plans" / "p1", standard_accounts(), standard_owners(), plan_id=PLAN_ID)


@pytest.fixture
def ledger(tmp_path):
    with Ledger(tmp_path / "plans" / LEDGER_NAME) as led:
        yield led


def test_record_plan_keeps_what_summary_json_says(ledger, plan):
    assert ledger.record_plan(plan, by="solver") == PLAN_ID
    record = ledger.get(PLAN_ID)
    assert (record.state, record.status, record.backend, record.objective, record.gap) == ("draft", "optimal", "highs", 123.4, 0.0)
    assert record.path == str(plan.resolve())
    assert record.inputs == [{"table": "accounts", "path": "accounts.csv", "sha256": "ab" * 32, "rows": 6}]
    assert record.policy == {"digital": {"owner_id": "digital"}} and len(record.policy_sha256) == 64
    assert set(record.files) == {"assignments.csv", "owners.csv"}
    assert [(e.action, e.to_state, e.by) for e in ledger.events(PLAN_ID)] == [("recorded", "draft", "solver")]


def test_record_plan_is_idempotent_and_follows_a_moved_folder(ledger, plan, tmp_path):
    ledger.record_plan(plan)
    ledger.record_plan(plan)
    assert len(ledger.list()) == 1 and len(ledger.events(PLAN_ID)) == 1

    moved = plan.rename(tmp_path / "plans" / "moved")
    ledger.record_plan(moved)
    assert ledger.get(PLAN_ID).path == str(moved.resolve())
    assert [e.action for e in ledger.events(PLAN_ID)] == ["recorded", "relocated"]


def test_solving_the_same_plan_again_is_still_the_same_plan(ledger, plan):
    ledger.record_plan(plan)
    ledger.transition(PLAN_ID, "approved", "alice")
    summary = (plan / "summary.json").read_text()
    (plan / "summary.json").write_text(summary.replace("2026-11-24T10:00:00Z", "2026-11-25T09:00:00Z"))  # a new run
    assert ledger.record_plan(plan) == PLAN_ID
    assert ledger.get(PLAN_ID).state == "approved"


def test_a_changed_plan_under_a_known_id_is_refused(ledger, plan):
    ledger.record_plan(plan)
    (plan / "owners.csv").write_text((plan / "owners.csv").read_text() + "c9,csm,C9,,,,,,,,,,,,,,\n")
    with pytest.raises(LedgerError, match="owners.csv differ from what the ledger recorded"):
        ledger.record_plan(plan)


def test_the_whole_lifecycle(ledger, plan):
    ledger.record_plan(plan)
    assert ledger.transition(PLAN_ID, "approved", "alice", "ticket 12").state == "approved"
    assert ledger.transition(PLAN_ID, "exported", "bob").state == "exported"
    assert ledger.transition(PLAN_ID, "applied", "bob", "job 7").state == "applied"
    assert ledger.transition(PLAN_ID, "rolled_back", "carol").state == "rolled_back"
    moves = [(e.from_state, e.to_state, e.by, e.note) for e in ledger.events(PLAN_ID) if e.action == "transition"]
    assert moves == [
        ("draft", "approved", "alice", "ticket 12"),
        ("approved", "exported", "bob", ""),
        ("exported", "applied", "bob", "job 7"),
        ("applied", "rolled_back", "carol", ""),
    ]
    assert all(e.at.endswith("Z") for e in ledger.events(PLAN_ID))


@pytest.mark.parametrize(
    "path, to_state, message",
    [
        ([], "exported", "Expected plan plan-0000000000aa to be approved, it is draft"),
        (["approved"], "approved", "Expected plan plan-0000000000aa to be draft, it is approved"),
        (["approved"], "applied", "Expected plan plan-0000000000aa to be exported, it is approved"),
        (["approved"], "rolled_back", "Expected plan plan-0000000000aa to be exported or applied, it is approved"),
        (["approved", "exported", "rolled_back"], "applied", "to be exported, it is rolled_back"),
        (["approved", "exported", "applied"], "exported", "to be approved, it is applied"),
    ],
)
def test_refused_transitions_change_nothing(ledger, plan, path, to_state, message):
    ledger.record_plan(plan)
    for step in path:
        ledger.transition(PLAN_ID, step, "alice")
    before = ledger.events(PLAN_ID)
    with pytest.raises(LedgerError, match=message):
        ledger.transition(PLAN_ID, to_state, "alice")
    assert ledger.get(PLAN_ID).state == (path[-1] if path else "draft")
    assert ledger.events(PLAN_ID) == before


def test_approval_needs_a_name_and_a_solved_plan(ledger, tmp_path):
    infeasible = write_plan(tmp_path / "plans" / "bad", standard_accounts(), standard_owners(), plan_id="plan-0000000000bb", status="infeasible")
    ledger.record_plan(infeasible)
    with pytest.raises(LedgerError, match="--by NAME"):
        ledger.transition("plan-0000000000bb", "approved", "  ")
    with pytest.raises(LedgerError, match="its solve status is infeasible"):
        ledger.transition("plan-0000000000bb", "approved", "alice")


def test_unknown_plan_and_state(ledger, plan):
    with pytest.raises(LedgerError, match="plan-ffffffffffff is not in the ledger"):
        ledger.transition("plan-ffffffffffff", "approved", "alice")
    ledger.record_plan(plan)
    with pytest.raises(LedgerError, match="Expected a state from"):
        ledger.transition(PLAN_ID, "shipped", "alice")


def test_record_export_keeps_files_counts_and_options(ledger, plan):
    ledger.record_plan(plan)
    files = [{"name": "a.csv", "role": "export", "rows": 3, "bytes": 40, "sha256": "c" * 64}]
    export_id = ledger.record_export(
        PLAN_ID, kind="export", fmt="salesforce", out_dir=plan.parent / "out", files=files,
        counts={"exported": 3}, options={"only_changes": True}, checksum="d" * 64, by="bob",
    )  # fmt: skip
    (record,) = ledger.exports(PLAN_ID)
    assert record.id == export_id
    assert (record.kind, record.format, record.by, record.draft) == ("export", "salesforce", "bob", False)
    assert (record.files, record.counts, record.options, record.checksum) == (files, {"exported": 3}, {"only_changes": True}, "d" * 64)
    assert record.out_dir == str((plan.parent / "out").resolve())
    assert ledger.events(PLAN_ID)[-1].action == "export"


def test_a_failed_transaction_leaves_the_ledger_as_it_was(ledger, plan):
    ledger.record_plan(plan)
    with pytest.raises(RuntimeError), ledger.transaction():
        ledger.transition(PLAN_ID, "approved", "alice")
        raise RuntimeError("the export folder could not be written")
    assert ledger.get(PLAN_ID).state == "draft"
    assert [e.action for e in ledger.events(PLAN_ID)] == ["recorded"]


def test_the_ledger_persists_and_is_versioned(tmp_path, plan):
    path = tmp_path / "plans" / LEDGER_NAME
    with Ledger(path) as led:
        led.record_plan(plan)
        led.transition(PLAN_ID, "approved", "alice")
    with Ledger(path, create=False) as led:
        assert led.get(PLAN_ID).state == "approved"
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_ledger_from_a_newer_planner_is_refused(tmp_path):
    path = tmp_path / LEDGER_NAME
    Ledger(path).close()
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(LedgerError, match="newer planner"):
        Ledger(path)


def test_a_missing_or_foreign_ledger_is_refused(tmp_path):
    with pytest.raises(LedgerError, match="No ledger at"):
        Ledger(tmp_path / "none.sqlite", create=False)
    assert not (tmp_path / "none.sqlite").exists()
    (tmp_path / "notes.sqlite").write_text("not a database, just text that is long enough to have a header" * 20)
    with pytest.raises(LedgerError, match="expected a planner ledger"):
        Ledger(tmp_path / "notes.sqlite")


def test_ledger_location(tmp_path, monkeypatch):
    plan_dir = tmp_path / "plans" / "p1"
    assert resolve_ledger_path(None, plan_dir) == tmp_path / "plans" / LEDGER_NAME
    assert resolve_ledger_path(None) == Path(LEDGER_NAME)
    monkeypatch.setenv("PLANNER_LEDGER", str(tmp_path / "env.sqlite"))
    assert resolve_ledger_path(None, plan_dir) == tmp_path / "env.sqlite"
    assert resolve_ledger_path(tmp_path / "given.sqlite", plan_dir) == tmp_path / "given.sqlite"

"""The plan ledger: recording, lifecycle transitions and refusals, schema, transactions."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from plan_folders import standard_accounts, standard_owners, write_plan
from typer.testing import CliRunner

from planner.plans.ledger import (
    APPLICATION_ID,
    LEDGER_NAME,
    SCHEMA_VERSION,
    Ledger,
    LedgerError,
    LedgerNotWritableError,
    resolve_ledger_path,
)

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
    assert (record.state, record.status, record.backend, record.objective, record.gap) == (
        "draft",
        "optimal",
        "highs",
        123.4,
        0.0,
    )
    assert record.path == str(plan.resolve())
    assert record.inputs == [{"table": "accounts", "path": "accounts.csv", "sha256": "ab" * 32, "rows": 6}]
    assert record.policy == {"digital": {"owner_id": "digital"}} and len(record.policy_sha256) == 64
    assert set(record.files) == {"assignments.csv", "owners.csv"}
    assert [(e.action, e.to_state, e.by) for e in ledger.events(PLAN_ID)] == [("recorded", "draft", "solver")]


def test_record_plan_is_idempotent_and_never_repoints_an_entry(ledger, plan, tmp_path):
    ledger.record_plan(plan)
    ledger.record_plan(plan)
    assert len(ledger.list()) == 1 and len(ledger.events(PLAN_ID)) == 1

    # The same plan written to a second folder: a copy, noted once; the entry keeps its first folder.
    copy = Path(shutil.copytree(plan, tmp_path / "plans" / "copy"))
    ledger.transition(PLAN_ID, "approved", "alice")
    ledger.record_plan(copy)
    ledger.record_plan(copy)
    assert ledger.get(PLAN_ID).path == str(plan.resolve()) and ledger.get(PLAN_ID).state == "approved"
    assert ledger.copies(PLAN_ID) == [str(copy.resolve())]
    events = ledger.events(PLAN_ID)
    assert [e.action for e in events] == ["recorded", "transition", "recorded"]
    assert events[-1].note.startswith(
        f"copy: {copy.resolve()} (the same plan; the ledger keeps pointing at {plan.resolve()}"
    )
    assert ledger.folder(PLAN_ID) == plan.resolve()

    # The first folder moved away: the entry still names it, and the plan is found in its copy.
    shutil.rmtree(plan)
    assert ledger.get(PLAN_ID).path == str(plan.resolve()) and ledger.folder(PLAN_ID) == copy.resolve()


def test_a_plan_id_is_found_in_the_ledger_below_the_current_folder(tmp_path, monkeypatch):
    """`solve --out sub/dir` records in sub/planner-ledger.sqlite; the id alone is found from the folder above."""
    from planner.plans.ledger import locate_ledger

    plan = write_plan(tmp_path / "sub" / "dir", standard_accounts(), standard_owners(), plan_id=PLAN_ID)
    with Ledger(tmp_path / "sub" / LEDGER_NAME) as led:
        led.record_plan(plan)
    monkeypatch.chdir(tmp_path)
    assert locate_ledger(PLAN_ID).resolve() == (tmp_path / "sub" / LEDGER_NAME).resolve()
    assert locate_ledger("plan-0000000000bb") == Path(LEDGER_NAME)  # held nowhere: the default, which says so

    # A folder brought elsewhere starts its own ledger: it is never sent to one of some other folder's plans.
    moved = Path(shutil.copytree(plan, tmp_path / "new" / "dir"))
    assert locate_ledger(PLAN_ID, plan_dir=moved) == tmp_path / "new" / LEDGER_NAME

    # The same id in two ledgers below: ambiguous, both named, never a guess.
    with Ledger(tmp_path / "other" / LEDGER_NAME) as led:
        led.record_plan(moved)
    with pytest.raises(
        LedgerError, match="in more than one ledger: .*other.*sub|in more than one ledger: .*sub.*other"
    ):
        locate_ledger(PLAN_ID)


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
    infeasible = write_plan(
        tmp_path / "plans" / "bad",
        standard_accounts(),
        standard_owners(),
        plan_id="plan-0000000000bb",
        status="infeasible",
    )
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
    assert (record.files, record.counts, record.options, record.checksum) == (
        files,
        {"exported": 3},
        {"only_changes": True},
        "d" * 64,
    )
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
    with pytest.raises(LedgerError, match="No ledger at .*give the plan.s folder instead of its id"):
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


# -- the file: application id, schema v2, migration, foreign files --------------------------------

# The version-1 schema exactly as planners before schema version 2 wrote it (kept here, frozen, to build old ledgers).
V1_SCHEMA = """
CREATE TABLE plans (plan_id TEXT PRIMARY KEY, path TEXT NOT NULL, state TEXT NOT NULL, created_at TEXT,
    recorded_at TEXT NOT NULL, kind TEXT, book TEXT, as_of TEXT, status TEXT, backend TEXT, objective REAL, gap REAL,
    policy_source TEXT, policy_sha256 TEXT, policy_json TEXT, inputs_json TEXT NOT NULL, counts_json TEXT NOT NULL,
    files_json TEXT NOT NULL);
CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, plan_id TEXT NOT NULL REFERENCES plans(plan_id),
    at TEXT NOT NULL, action TEXT NOT NULL, from_state TEXT, to_state TEXT, by TEXT NOT NULL, note TEXT NOT NULL);
CREATE TABLE exports (id INTEGER PRIMARY KEY AUTOINCREMENT, plan_id TEXT NOT NULL REFERENCES plans(plan_id),
    at TEXT NOT NULL, by TEXT NOT NULL, kind TEXT NOT NULL, format TEXT NOT NULL, out_dir TEXT NOT NULL,
    draft INTEGER NOT NULL, checksum TEXT NOT NULL, options_json TEXT NOT NULL, counts_json TEXT NOT NULL,
    files_json TEXT NOT NULL);
CREATE INDEX events_plan ON events(plan_id, id);
CREATE INDEX exports_plan ON exports(plan_id, id);
PRAGMA user_version = 1;
"""


def v1_ledger(path: Path, plan: Path, counts_json: str = '{"accounts": 6}') -> Path:
    """A ledger as a version-1 planner left it: one approved and exported plan, and a second draft."""
    from planner.plans import read_summary_and_hashes

    _, files = read_summary_and_hashes(plan)
    with sqlite3.connect(path) as db:
        db.executescript(V1_SCHEMA)
        for plan_id, state, counts in (
            (PLAN_ID, "exported", '{"moved": 3}'),
            ("plan-0000000000cc", "draft", counts_json),
        ):
            db.execute(
                "INSERT INTO plans VALUES (?, ?, ?, '2026-11-24T10:00:00Z', '2026-11-24T10:00:01Z', 'solve', 'test',"
                " '2026-11-24', 'optimal', 'highs', 123.4, 0.0, 'default', 'ff', '{}', '[]', ?, ?)",
                (plan_id, str(plan.resolve()), state, counts, json.dumps(files)),
            )
        db.execute(
            "INSERT INTO events (plan_id, at, action, from_state, to_state, by, note) VALUES (?, 'now', 'recorded', NULL, 'draft', 'solver', '')",
            (PLAN_ID,),
        )
        db.execute(
            "INSERT INTO exports (plan_id, at, by, kind, format, out_dir, draft, checksum, options_json, counts_json, files_json)"
            " VALUES (?, 'now', 'bob', 'export', 'csv', '/out', 0, 'c0ffee', '{}', '{}', ?)",
            (PLAN_ID, json.dumps([{"name": "a.csv", "role": "export", "rows": 3, "bytes": 9, "sha256": "ab"}])),
        )
    return path


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_new_ledger_carries_the_application_id_and_schema_version(tmp_path):
    Ledger(tmp_path / LEDGER_NAME).close()
    with sqlite3.connect(tmp_path / LEDGER_NAME) as db:
        assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID == 0x504C4E52
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3


def test_an_unrelated_sqlite_database_is_refused_and_left_unchanged(tmp_path, plan):
    other = tmp_path / "crm-cache.db"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE contacts (id INTEGER PRIMARY KEY, email TEXT)")
        db.execute("INSERT INTO contacts (email) VALUES ('a@example.com')")
    before = sha(other)
    with pytest.raises(
        LedgerError,
        match=r"crm-cache.db: not a planner ledger; expected a planner ledger .* got tables contacts .*pass another --ledger",
    ):
        Ledger(other)
    with sqlite3.connect(tmp_path / "app.db") as db:  # another application's id
        db.execute("PRAGMA application_id = 42")
        db.execute("CREATE TABLE plans (x)")
    with pytest.raises(LedgerError, match="got application id 0x0000002a"):
        Ledger(tmp_path / "app.db")
    runner = CliRunner()
    from planner.cli import app

    result = runner.invoke(app, ["plans", "approve", str(plan), "--by", "alice", "--ledger", str(other)])
    assert result.exit_code == 1 and "not a planner ledger" in result.output
    assert sha(other) == before
    with sqlite3.connect(other) as db:
        assert [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")] == ["contacts"]


def test_an_empty_file_becomes_a_ledger(tmp_path, plan):
    (tmp_path / "empty.sqlite").write_bytes(b"")
    with Ledger(tmp_path / "empty.sqlite") as led:
        assert led.record_plan(plan) == PLAN_ID


def test_a_version_1_ledger_is_migrated_in_place_keeping_every_row(tmp_path, plan):
    path = v1_ledger(tmp_path / LEDGER_NAME, plan)
    with Ledger(path, readonly=True) as led:  # reading does not migrate
        assert [r.plan_id for r in led.list()] == [PLAN_ID, "plan-0000000000cc"]
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 1
    with Ledger(path) as led:
        assert [(r.plan_id, r.state, r.counts, r.checked) for r in led.list()] == [
            (PLAN_ID, "exported", {"moved": 3}, None), ("plan-0000000000cc", "draft", {"accounts": 6}, None)]  # fmt: skip
        assert [e.action for e in led.events(PLAN_ID)] == ["recorded"]
        (export,) = led.exports(PLAN_ID)
        assert (export.id, export.format, export.files[0]["rows"]) == (1, "csv", 3)
        led.transition(PLAN_ID, "applied", "bob")  # the migrated ledger takes new rows
        assert led.record_export(PLAN_ID, kind="rollback", fmt="csv", out_dir=tmp_path, files=[], counts={}, options={},
                                 checksum="x", by="bob") == 2  # fmt: skip
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
            db.execute("UPDATE plans SET state = 'bogus'")
        assert db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()[0] >= 2


def test_a_damaged_version_1_row_survives_the_migration_and_is_flagged(tmp_path, plan):
    path = v1_ledger(tmp_path / LEDGER_NAME, plan, counts_json="{not json")
    with Ledger(path) as led:
        records, damaged = led.scan()
    assert [r.plan_id for r in records] == [PLAN_ID]
    assert [(d.plan_id, d.problems[0][:34]) for d in damaged] == [
        ("plan-0000000000cc", "counts_json is not valid JSON (Exp")
    ]
    with sqlite3.connect(path) as db:  # kept exactly as it was: nothing of the user's is lost
        assert (
            db.execute("SELECT counts_json FROM plans WHERE plan_id = 'plan-0000000000cc'").fetchone()[0] == "{not json"
        )


def test_the_schema_refuses_what_the_planner_would_never_write(ledger, plan):
    ledger.record_plan(plan)
    ledger.record_export(
        PLAN_ID, kind="export", fmt="csv", out_dir=plan, files=[], counts={}, options={}, checksum="x", by="b"
    )
    ledger.close()
    with sqlite3.connect(ledger.path) as db:
        for statement in (
            "UPDATE plans SET state = 'bogus'",
            "UPDATE plans SET counts_json = '{broken'",
            "UPDATE plans SET inputs_json = '{}'",  # an object where a list belongs
            "UPDATE plans SET objective = 'cheap'",
            "UPDATE plans SET checked = 'trust me'",
            "UPDATE events SET action = 'deleted'",
            "UPDATE exports SET kind = 'import'",
            "UPDATE exports SET draft = 2",
            "UPDATE exports SET files_json = 'x'",
        ):
            with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
                db.execute(statement)


def tamper(path: Path, statement: str) -> None:
    """What some other tool might do: write past the CHECK constraints."""
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA ignore_check_constraints = ON")
        db.execute(statement)


def test_a_tampered_row_is_flagged_by_list_and_explained_by_show(tmp_path, plan):
    from planner.cli import app

    other = write_plan(
        tmp_path / "plans" / "p2", standard_accounts()[:3], standard_owners(), plan_id="plan-0000000000bb"
    )
    path = tmp_path / "plans" / LEDGER_NAME
    with Ledger(path) as led:
        led.record_plan(plan)
        led.record_plan(other)
    tamper(path, f"UPDATE plans SET counts_json = '{{not json', state = 'bogus' WHERE plan_id = '{PLAN_ID}'")
    runner = CliRunner()
    listed = runner.invoke(app, ["plans", "list", "--ledger", str(path)])
    assert listed.exit_code == 0, listed.output
    assert "plan-0000000000bb" in listed.output and "DAMAGED" in listed.output
    assert f"plan {PLAN_ID}: its ledger row is damaged (state 'bogus' is not one of draft, approved" in listed.output
    assert "counts_json is not valid JSON" in listed.output
    shown = runner.invoke(app, ["plans", "show", PLAN_ID, "--ledger", str(path)])
    assert shown.exit_code == 1
    assert f"the ledger row of plan {PLAN_ID} is damaged: state 'bogus' is not one of" in shown.output
    assert "Traceback" not in shown.output and "internal error" not in shown.output
    assert runner.invoke(app, ["plans", "show", "plan-0000000000bb", "--ledger", str(path)]).exit_code == 0
    approve = runner.invoke(app, ["plans", "approve", PLAN_ID, "--by", "alice", "--ledger", str(path)])
    assert approve.exit_code == 1 and "is damaged" in approve.output


def test_damaged_events_and_exports_are_explained(ledger, plan):
    ledger.record_plan(plan)
    ledger.record_export(
        PLAN_ID, kind="export", fmt="csv", out_dir=plan, files=[], counts={}, options={}, checksum="x", by="b"
    )
    tamper(ledger.path, "UPDATE exports SET options_json = '[1'")
    with pytest.raises(
        LedgerError, match=r"export #1 of plan plan-0000000000aa is damaged: options_json is not valid JSON"
    ):
        ledger.exports(PLAN_ID)
    tamper(ledger.path, "UPDATE events SET by = x'2a'")  # a blob: TEXT affinity would turn a number into text
    with pytest.raises(LedgerError, match=r"event #1 of plan plan-0000000000aa is damaged: by is not text \(b'\*'\)"):
        ledger.events(PLAN_ID)


def test_a_structurally_damaged_file_is_refused_and_left_as_it_is(tmp_path, plan):
    path = tmp_path / LEDGER_NAME
    with Ledger(path) as led:
        led.record_plan(plan)
    data = bytearray(path.read_bytes())
    page = 4096
    data[page + 8 : page + 40] = b"\xff" * 32  # the plans table's first page: cell pointers destroyed
    path.write_bytes(bytes(data))
    before = sha(path)
    # quick_check either lists the damage or stops at it (which depends on where the bytes fall): the same refusal
    with pytest.raises(
        LedgerError,
        match=r"the ledger file is damaged \((SQLite quick_check: On tree page 2|database disk image is malformed).*restore it from a backup",
    ):
        Ledger(path)
    with pytest.raises(LedgerError, match="the ledger file is damaged"):
        Ledger(path, readonly=True)
    assert sha(path) == before


# -- read-only ledgers ---------------------------------------------------------------------------


@pytest.fixture
def read_only(monkeypatch):
    """Every ledger connection opens read-only (mode=ro), as a file the user cannot write does (root can write any file)."""
    import planner.plans.ledger as ledger_module

    real = ledger_module._connect
    monkeypatch.setattr(ledger_module, "_connect", lambda path, readonly: real(path, True))


def test_a_read_only_ledger_is_a_clear_refusal(tmp_path, plan, read_only):
    from planner.plans.ledger import require_writable

    path = tmp_path / LEDGER_NAME
    path.write_bytes(b"")  # a new, empty ledger: opening it must create the tables
    with pytest.raises(LedgerNotWritableError, match="expected a writable ledger, but it can only be read") as info:
        Ledger(path)
    assert info.value.exit_code == 4 and "readonly database" in str(info.value)
    assert path.read_bytes() == b""
    with pytest.raises(LedgerNotWritableError, match="expected a writable ledger"):
        require_writable(path)


def test_writes_to_a_read_only_ledger_are_refused(tmp_path, plan, monkeypatch):
    path = tmp_path / LEDGER_NAME
    with Ledger(path) as led:
        led.record_plan(plan)
    before = sha(path)
    import planner.plans.ledger as ledger_module

    real = ledger_module._connect
    monkeypatch.setattr(ledger_module, "_connect", lambda p, readonly: real(p, True))
    with Ledger(path) as led:
        assert led.get(PLAN_ID).state == "draft"  # reading works
        with pytest.raises(
            LedgerNotWritableError, match=f"{path}: expected a writable ledger, but it can only be read"
        ):
            led.transition(PLAN_ID, "approved", "alice")
    assert sha(path) == before


# -- solve and reassign check the ledger before any work -------------------------------------------

FIX = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.fixture
def no_solving(monkeypatch):
    """Fail the test if a solver runs: the ledger check must come first."""
    import planner.planning.reassign
    import planner.planning.solve

    def refuse(*args, **kwargs):
        raise AssertionError("the solver ran although the ledger cannot be written")

    monkeypatch.setattr(planner.planning.solve, "solve", refuse)
    monkeypatch.setattr(planner.planning.reassign, "reassign", refuse)


@pytest.mark.parametrize(
    "command",
    [["solve", FIX / "tiny", "--as-of", "2026-11-01"], ["reassign", FIX / "handoff", "--as-of", "2027-06-01"]],
)
def test_a_read_only_ledger_stops_solve_and_reassign_before_any_work(tmp_path, plan, read_only, no_solving, command):
    from planner.cli import app

    path = tmp_path / "plans" / LEDGER_NAME
    path.parent.mkdir(exist_ok=True)
    with sqlite3.connect(path) as db:  # an existing ledger (as a version-1 planner left it: not even migrated)
        db.executescript(V1_SCHEMA)
    before = sha(path)
    result = CliRunner().invoke(app, [str(a) for a in command] + ["--out", str(tmp_path / "plans" / "new")])
    assert result.exit_code == 4, result.output
    assert f"{path}: expected a writable ledger, but it can only be read" in result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    assert not (tmp_path / "plans" / "new").exists() and sha(path) == before


def test_a_ledger_that_cannot_be_created_stops_solve_before_any_work(tmp_path, no_solving):
    from planner.cli import app

    (tmp_path / "notes.txt").write_text("a file, not a folder")
    ledger = tmp_path / "notes.txt" / "ledger.sqlite"
    result = CliRunner().invoke(
        app, ["solve", str(FIX / "tiny"), "--out", str(tmp_path / "plan"), "--ledger", str(ledger)]
    )
    assert result.exit_code == 4, result.output
    assert f"{ledger}: expected a writable ledger, but {tmp_path / 'notes.txt'} is not a folder" in result.output
    assert not (tmp_path / "plan").exists() and (tmp_path / "notes.txt").read_text() == "a file, not a folder"


def test_a_folder_that_cannot_be_written_stops_solve_and_creates_no_ledger(tmp_path, monkeypatch, no_solving):
    import tempfile

    from planner.cli import app

    def read_only_folder(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", read_only_folder)
    result = CliRunner().invoke(app, ["solve", str(FIX / "tiny"), "--out", str(tmp_path / "plan")])
    assert result.exit_code == 4, result.output
    assert (
        f"{tmp_path / LEDGER_NAME}: expected a writable ledger, but its folder {tmp_path} cannot be written (Permission denied)"
        in result.output
    )
    assert list(tmp_path.iterdir()) == []


def test_a_foreign_database_as_ledger_stops_solve_before_any_work(tmp_path, no_solving):
    from planner.cli import app

    other = tmp_path / "notes.db"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE notes (text TEXT)")
    before = sha(other)
    result = CliRunner().invoke(
        app, ["solve", str(FIX / "tiny"), "--out", str(tmp_path / "plan"), "--ledger", str(other)]
    )
    assert result.exit_code == 1 and "not a planner ledger" in result.output
    assert not (tmp_path / "plan").exists() and sha(other) == before


def test_a_writable_ledger_is_probed_without_a_trace(tmp_path, plan):
    from planner.plans.ledger import require_writable

    path = tmp_path / LEDGER_NAME
    require_writable(path)
    assert not path.exists() and list(tmp_path.iterdir()) == [tmp_path / "plans"]
    with Ledger(path) as led:
        led.record_plan(plan)
    before = sha(path)
    require_writable(path)
    assert sha(path) == before


# -- version 3: which export was applied ----------------------------------------------------------

# The version-2 schema exactly as planners before schema version 3 wrote it (frozen, to build old ledgers).
V2_SCHEMA = """
CREATE TABLE plans (plan_id TEXT PRIMARY KEY NOT NULL, path TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('draft', 'approved', 'exported', 'applied', 'rolled_back')),
    created_at TEXT, recorded_at TEXT NOT NULL, kind TEXT, book TEXT, as_of TEXT, status TEXT, backend TEXT,
    objective REAL CHECK (typeof(objective) IN ('integer', 'real', 'null')),
    gap REAL CHECK (typeof(gap) IN ('integer', 'real', 'null')), policy_source TEXT, policy_sha256 TEXT,
    policy_json TEXT CHECK (policy_json IS NULL OR CASE WHEN json_valid(policy_json) THEN json_type(policy_json) = 'object' ELSE 0 END),
    inputs_json TEXT NOT NULL CHECK (CASE WHEN json_valid(inputs_json) THEN json_type(inputs_json) = 'array' ELSE 0 END),
    counts_json TEXT NOT NULL CHECK (CASE WHEN json_valid(counts_json) THEN json_type(counts_json) = 'object' ELSE 0 END),
    files_json TEXT NOT NULL CHECK (CASE WHEN json_valid(files_json) THEN json_type(files_json) = 'object' ELSE 0 END),
    checked TEXT CHECK (checked IS NULL OR checked IN ('solve', 'evaluator')));
CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, plan_id TEXT NOT NULL REFERENCES plans(plan_id),
    at TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('recorded', 'transition', 'export', 'rollback', 'relocated', 'checked')),
    from_state TEXT CHECK (from_state IS NULL OR from_state IN ('draft', 'approved', 'exported', 'applied', 'rolled_back')),
    to_state TEXT CHECK (to_state IS NULL OR to_state IN ('draft', 'approved', 'exported', 'applied', 'rolled_back')),
    by TEXT NOT NULL, note TEXT NOT NULL);
CREATE TABLE exports (id INTEGER PRIMARY KEY AUTOINCREMENT, plan_id TEXT NOT NULL REFERENCES plans(plan_id),
    at TEXT NOT NULL, by TEXT NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('export', 'rollback')),
    format TEXT NOT NULL, out_dir TEXT NOT NULL, draft INTEGER NOT NULL CHECK (draft IN (0, 1)),
    checksum TEXT NOT NULL,
    options_json TEXT NOT NULL CHECK (CASE WHEN json_valid(options_json) THEN json_type(options_json) = 'object' ELSE 0 END),
    counts_json TEXT NOT NULL CHECK (CASE WHEN json_valid(counts_json) THEN json_type(counts_json) = 'object' ELSE 0 END),
    files_json TEXT NOT NULL CHECK (CASE WHEN json_valid(files_json) THEN json_type(files_json) = 'array' ELSE 0 END));
CREATE INDEX events_plan ON events(plan_id, id);
CREATE INDEX exports_plan ON exports(plan_id, id);
"""


def v2_ledger(path: Path, plan: Path) -> Path:
    """A ledger as a version-2 planner left it: one plan exported twice (csv, then salesforce)."""
    from planner.plans import read_summary_and_hashes

    _, files = read_summary_and_hashes(plan)
    with sqlite3.connect(path) as db:
        db.executescript(V2_SCHEMA)
        db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        db.execute("PRAGMA user_version = 2")
        db.execute(
            "INSERT INTO plans VALUES (?, ?, 'exported', '2026-11-24T10:00:00Z', '2026-11-24T10:00:01Z', 'solve', 'test',"
            " '2026-11-24', 'optimal', 'highs', 123.4, 0.0, 'default', 'ff', '{}', '[]', '{\"moved\": 3}', ?, 'solve')",
            (PLAN_ID, str(plan.resolve()), json.dumps(files)),
        )
        db.execute(
            "INSERT INTO events (plan_id, at, action, from_state, to_state, by, note) VALUES (?, 'now', 'recorded', NULL, 'draft', 'solver', '')",
            (PLAN_ID,),
        )
        for fmt, checksum in (("csv", "c0ffee"), ("salesforce", "beef")):
            db.execute(
                "INSERT INTO exports (plan_id, at, by, kind, format, out_dir, draft, checksum, options_json, counts_json, files_json)"
                " VALUES (?, 'now', 'bob', 'export', ?, ?, 0, ?, '{}', '{}', ?)",
                (PLAN_ID, fmt, f"/out/{fmt}", checksum,
                 json.dumps([{"name": "a.csv", "role": "export", "rows": 3, "bytes": 9, "sha256": "ab"}])),
            )  # fmt: skip
    return path


def test_a_version_2_ledger_gains_the_applied_columns_keeping_every_row(tmp_path, plan):
    path = v2_ledger(tmp_path / LEDGER_NAME, plan)
    with Ledger(path, readonly=True) as led:  # read as it is: no export is applied
        assert [(e.id, e.format, e.applied_at) for e in led.exports(PLAN_ID)] == [
            (1, "csv", None),
            (2, "salesforce", None),
        ]
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 2
    with Ledger(path) as led:
        (record,) = led.list()
        assert (record.plan_id, record.state, record.counts, record.checked) == (
            PLAN_ID,
            "exported",
            {"moved": 3},
            "solve",
        )
        assert [e.action for e in led.events(PLAN_ID)] == ["recorded"]
        assert [(e.id, e.format, e.checksum, e.applied_at) for e in led.exports(PLAN_ID)] == [
            (1, "csv", "c0ffee", None), (2, "salesforce", "beef", None)]  # fmt: skip
        with pytest.raises(LedgerError, match="2 different exports .*#1 csv -> /out/csv; #2 salesforce.*--export N"):
            led.mark_applied(PLAN_ID, "bob")
        record, applied = led.mark_applied(PLAN_ID, "bob", "job 7", export_id=2)
        assert record.state == "applied" and (applied.id, applied.applied_by) == (2, "bob")
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
        with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):  # only an export can be applied
            db.execute("UPDATE exports SET kind = 'rollback' WHERE id = 2")


def test_a_version_1_ledger_migrates_to_the_applied_columns_too(tmp_path, plan):
    path = v1_ledger(tmp_path / LEDGER_NAME, plan)
    with Ledger(path) as led:
        record, applied = led.mark_applied(PLAN_ID, "bob")  # its only export
        assert (record.state, applied.id, applied.format) == ("applied", 1, "csv")
        assert led.applied_export(PLAN_ID).id == 1


def _export(led: Ledger, fmt: str, checksum: str, kind: str = "export") -> int:
    return led.record_export(PLAN_ID, kind=kind, fmt=fmt, out_dir=f"/out/{fmt}-{checksum}", files=[], counts={},
                             options={}, checksum=checksum, by="bob")  # fmt: skip


def test_pick_export_defaults_to_the_applied_one_then_the_only_one(ledger, plan):
    ledger.record_plan(plan)
    ledger.transition(PLAN_ID, "approved", "alice")
    ledger.transition(PLAN_ID, "exported", "bob")
    first = _export(ledger, "salesforce", "aa")
    again = _export(ledger, "salesforce", "aa")  # the same files into another folder: not ambiguous, the last one
    assert ledger.pick_export(PLAN_ID)[0].id == again
    second = _export(ledger, "json", "bb")
    with pytest.raises(LedgerError, match="3 different exports|different exports"):
        ledger.pick_export(PLAN_ID, purpose="roll back")
    assert ledger.pick_export(PLAN_ID, fmt="json")[0].id == second
    with pytest.raises(LedgerError, match="got #99"):
        ledger.pick_export(PLAN_ID, export_id=99)
    _, applied = ledger.mark_applied(PLAN_ID, "carol", export_id=first)
    assert (applied.id, applied.applied_by) == (first, "carol") and applied.applied_at
    assert ledger.pick_export(PLAN_ID)[0].id == first  # the applied one, though later exports exist
    chosen, notes = ledger.pick_export(PLAN_ID, export_id=second)
    assert chosen.id == second and notes == [
        f"Export #{second} is not the one recorded as applied (#{first} salesforce -> /out/salesforce-aa (applied))"
    ]
    note = [e.note for e in ledger.events(PLAN_ID) if e.to_state == "applied"]
    assert note == [f"export #{first} (salesforce -> /out/salesforce-aa)"]

"""The plan ledger: which plans exist, who approved them, what was sent to the CRM.

One SQLite file (``planner-ledger.sqlite``, by default in the folder that
holds the plan folders) records every plan with its inputs' hashes, policy,
backend and solve result; its lifecycle

    draft -> approved -> exported -> applied
                                  \\-> rolled_back   (also from applied)

with who moved it and when; and every export with its files' checksums and
counts. Owner changes reach customers, so the ledger is the audit trail: an
export refuses a plan nobody approved, and a plan whose files changed after
it was recorded is refused rather than exported under an approval it never
got.

stdlib ``sqlite3`` only; the schema version is ``PRAGMA user_version``; every
write runs in one ``BEGIN IMMEDIATE`` transaction, and :meth:`Ledger.transaction`
lets a caller group several writes with its own work (export writes its
folder and its ledger rows together).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import hashlib
import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping

from planner.errors import PlannerError
from planner.plans import read_summary_and_hashes

LEDGER_NAME = "planner-ledger.sqlite"
LEDGER_ENV = "PLANNER_LEDGER"
SCHEMA_VERSION = 1
STATES = ("draft", "approved", "exported", "applied", "rolled_back")
# state -> the states it may move to. Rolling back an applied plan is the
# usual case (the load went in, then something was wrong), so applied may
# still move to rolled_back.
NEXT_STATES = {
    "draft": ("approved",),
    "approved": ("exported",),
    "exported": ("applied", "rolled_back"),
    "applied": ("rolled_back",),
}
SOLVED = ("optimal", "feasible", "time_limited")  # solve statuses that carry a plan

_SCHEMA_V1 = """
CREATE TABLE plans (
    plan_id TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at TEXT,
    recorded_at TEXT NOT NULL,
    kind TEXT,
    book TEXT,
    as_of TEXT,
    status TEXT,
    backend TEXT,
    objective REAL,
    gap REAL,
    policy_source TEXT,
    policy_sha256 TEXT,
    policy_json TEXT,
    inputs_json TEXT NOT NULL,
    counts_json TEXT NOT NULL,
    files_json TEXT NOT NULL
);
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    plan_id TEXT NOT NULL REFERENCES plans(plan_id),
    at TEXT NOT NULL,
    action TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT,
    by TEXT NOT NULL,
    note TEXT NOT NULL
);
CREATE TABLE exports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    plan_id TEXT NOT NULL REFERENCES plans(plan_id),
    at TEXT NOT NULL,
    by TEXT NOT NULL,
    kind TEXT NOT NULL,
    format TEXT NOT NULL,
    out_dir TEXT NOT NULL,
    draft INTEGER NOT NULL,
    checksum TEXT NOT NULL,
    options_json TEXT NOT NULL,
    counts_json TEXT NOT NULL,
    files_json TEXT NOT NULL
);
CREATE INDEX events_plan ON events(plan_id, id);
CREATE INDEX exports_plan ON exports(plan_id, id);
"""
_MIGRATIONS = {1: _SCHEMA_V1}  # version -> SQL that brings version-1 up to it


class LedgerError(PlannerError, ValueError):
    """A refused ledger operation; the message says what was expected."""


@dataclass(frozen=True)
class PlanRecord:
    plan_id: str
    path: str
    state: str  # lifecycle: draft | approved | exported | applied | rolled_back
    created_at: str | None
    recorded_at: str
    kind: str | None
    book: str | None
    as_of: str | None
    status: str | None  # the solve status (optimal, feasible, ...)
    backend: str | None
    objective: float | None
    gap: float | None
    policy_source: str | None
    policy_sha256: str | None
    policy: dict | None
    inputs: list
    counts: dict
    files: dict  # plan file name -> sha256 when recorded


@dataclass(frozen=True)
class Event:
    plan_id: str
    at: str
    action: str  # recorded | transition | export | relocated
    from_state: str | None
    to_state: str | None
    by: str
    note: str


@dataclass(frozen=True)
class ExportRecord:
    id: int
    plan_id: str
    at: str
    by: str
    kind: str  # export | rollback
    format: str
    out_dir: str
    draft: bool
    checksum: str
    options: dict
    counts: dict
    files: list  # [{name, role, rows, bytes, sha256}]


def resolve_ledger_path(explicit: str | Path | None = None, plan_dir: str | Path | None = None) -> Path:
    """--ledger, else $PLANNER_LEDGER, else next to the plan folder, else the current folder."""
    if explicit:
        return Path(explicit)
    if os.environ.get(LEDGER_ENV):
        return Path(os.environ[LEDGER_ENV])
    if plan_dir is not None:
        return Path(plan_dir).resolve().parent / LEDGER_NAME
    return Path(LEDGER_NAME)


def current_user() -> str:
    """The OS user name: the default "who" of ledger events when --by is not given."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _json(value) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _either(states: tuple[str, ...] | list[str]) -> str:
    """'a', 'a or b', 'a, b or c'."""
    return states[0] if len(states) == 1 else f"{', '.join(states[:-1])} or {states[-1]}"


def _expected_states(to_state: str) -> list[str]:
    return [s for s, nexts in NEXT_STATES.items() if to_state in nexts]


class Ledger:
    """The ledger file; use as a context manager or call close()."""

    def __init__(self, path: str | Path, create: bool = True):
        self.path = Path(path)
        if not create and not self.path.is_file():
            raise LedgerError(f"No ledger at {self.path}. Expected {LEDGER_NAME} next to the plan folders, or pass --ledger PATH.")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._depth = 0
        try:
            self._db.execute("PRAGMA foreign_keys = ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise LedgerError(f"{self.path}: expected a planner ledger (SQLite): {exc}") from None
        except BaseException:
            self._db.close()
            raise

    def __enter__(self) -> "Ledger":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    def _version(self) -> int:
        return self._db.execute("PRAGMA user_version").fetchone()[0]

    def _migrate(self) -> None:
        """Bring the schema to SCHEMA_VERSION, one version per step, all in one transaction."""
        if self._version() == SCHEMA_VERSION:
            return
        with self.transaction():
            version = self._version()  # again, under the write lock: another process may have migrated
            if version > SCHEMA_VERSION:
                raise LedgerError(
                    f"{self.path}: ledger schema version {version} was written by a newer planner; expected at most {SCHEMA_VERSION}"
                )
            for target in range(version + 1, SCHEMA_VERSION + 1):
                # statement by statement: executescript() would commit the transaction
                for statement in filter(str.strip, _MIGRATIONS[target].split(";")):
                    self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {target}")

    @contextlib.contextmanager
    def transaction(self) -> Iterator["Ledger"]:
        """One write transaction; nested uses join the outermost one."""
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        self._db.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield self
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise
        finally:
            self._depth = 0

    # -- plans -------------------------------------------------------------
    def record_plan(self, plan_dir: str | Path, by: str | None = None) -> str:
        """Record the plan in `plan_dir` as a draft; returns its plan_id.

        Idempotent: recording the same plan again changes nothing; the same
        plan found in another folder updates the path (an event says so). A
        plan whose files differ from what was recorded under its id is
        refused: its approval would no longer describe what gets exported.
        """
        plan_dir = Path(plan_dir).resolve()
        summary, files = read_summary_and_hashes(plan_dir)
        plan_id = summary["plan_id"]
        by = by or current_user()
        with self.transaction():
            known = self.find(plan_id)
            if known is not None:
                self._check_files(known, files, plan_dir)
                if known.path != str(plan_dir):
                    self._db.execute("UPDATE plans SET path = ? WHERE plan_id = ?", (str(plan_dir), plan_id))
                    self._event(plan_id, "relocated", known.state, known.state, by, f"{known.path} -> {plan_dir}")
                return plan_id
            policy = summary.get("policy")
            self._db.execute(
                "INSERT INTO plans (plan_id, path, state, created_at, recorded_at, kind, book, as_of, status, backend,"
                " objective, gap, policy_source, policy_sha256, policy_json, inputs_json, counts_json, files_json)"
                " VALUES (?, ?, 'draft', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    plan_id, str(plan_dir), summary.get("created_at"), utc_now(), summary.get("kind"),
                    summary.get("book"), summary.get("as_of"), summary.get("status"), summary.get("backend"),
                    summary.get("objective"), summary.get("gap"), summary.get("policy_source"),
                    hashlib.sha256(_json(policy).encode()).hexdigest() if policy is not None else None,
                    _json(policy) if policy is not None else None,
                    _json(summary.get("inputs", [])), _json(summary.get("counts", {})), _json(files),
                ),
            )  # fmt: skip
            self._event(plan_id, "recorded", None, "draft", by, str(plan_dir))
        return plan_id

    def _check_files(self, record: PlanRecord, files: Mapping[str, str], plan_dir: Path) -> None:
        changed = sorted(name for name, sha in files.items() if record.files.get(name) != sha)
        if changed:
            raise LedgerError(
                f"{plan_dir}: {', '.join(changed)} differ from what the ledger recorded for plan {record.plan_id}; "
                "expected the plan files unchanged since they were recorded (solve again to get a new plan)"
            )

    def verify_files(self, plan_id: str, hashes: Mapping[str, str], plan_dir: str | Path) -> None:
        """Raise LedgerError unless the plan files' `hashes` are those recorded for `plan_id`."""
        self._check_files(self.get(plan_id), hashes, Path(plan_dir))

    def find(self, plan_id: str) -> PlanRecord | None:
        row = self._db.execute("SELECT * FROM plans WHERE plan_id = ?", (plan_id,)).fetchone()
        return None if row is None else _plan_record(row)

    def get(self, plan_id: str) -> PlanRecord:
        record = self.find(plan_id)
        if record is None:
            raise LedgerError(
                f"Plan {plan_id} is not in the ledger {self.path}; expected a recorded plan "
                "(`planner plans approve PLAN_FOLDER --by NAME` records and approves one)"
            )
        return record

    def list(self) -> list[PlanRecord]:
        """Every plan, oldest first."""
        rows = self._db.execute("SELECT * FROM plans ORDER BY recorded_at, plan_id").fetchall()
        return [_plan_record(r) for r in rows]

    # -- lifecycle -----------------------------------------------------------
    def require_state(self, plan_id: str, *states: str) -> PlanRecord:
        """The plan's record if its state is one of `states`, else the refusal message as LedgerError."""
        record = self.get(plan_id)
        if record.state not in states:
            raise LedgerError(f"Expected plan {plan_id} to be {_either(states)}, it is {record.state}")
        return record

    def transition(self, plan_id: str, to_state: str, by: str, note: str = "") -> PlanRecord:
        """Move the plan to `to_state` along the lifecycle, recording who and when."""
        if to_state not in STATES:
            raise LedgerError(f"Expected a state from {list(STATES)}, got {to_state!r}")
        if not by.strip():
            raise LedgerError("Expected the name of who makes this change (--by NAME)")
        with self.transaction():
            record = self.require_state(plan_id, *_expected_states(to_state))
            if to_state == "approved" and record.status not in SOLVED:
                raise LedgerError(f"Expected plan {plan_id} to have a solution ({', '.join(SOLVED)}) to approve it, its solve status is {record.status}")
            self._db.execute("UPDATE plans SET state = ? WHERE plan_id = ?", (to_state, plan_id))
            self._event(plan_id, "transition", record.state, to_state, by, note)
        return self.get(plan_id)

    def _event(self, plan_id: str, action: str, from_state: str | None, to_state: str | None, by: str, note: str) -> None:
        self._db.execute(
            "INSERT INTO events (plan_id, at, action, from_state, to_state, by, note) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (plan_id, utc_now(), action, from_state, to_state, by, note),
        )

    def events(self, plan_id: str) -> list[Event]:
        rows = self._db.execute(
            "SELECT plan_id, at, action, from_state, to_state, by, note FROM events WHERE plan_id = ? ORDER BY id", (plan_id,)
        ).fetchall()
        return [Event(**dict(r)) for r in rows]

    # -- exports -------------------------------------------------------------
    def record_export(
        self,
        plan_id: str,
        *,
        kind: str,
        fmt: str,
        out_dir: str | Path,
        files: list[dict],
        counts: Mapping,
        options: Mapping,
        checksum: str,
        by: str,
        draft: bool = False,
    ) -> int:
        """Record one export (or rollback) folder; returns its id. State changes are the caller's transition()."""
        with self.transaction():
            self.get(plan_id)
            cur = self._db.execute(
                "INSERT INTO exports (plan_id, at, by, kind, format, out_dir, draft, checksum, options_json, counts_json, files_json)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (plan_id, utc_now(), by, kind, fmt, str(Path(out_dir).resolve()), int(draft), checksum,
                 _json(dict(options)), _json(dict(counts)), _json(files)),
            )  # fmt: skip
            self._event(plan_id, kind, None, None, by, f"{fmt} -> {Path(out_dir).resolve()} ({checksum[:12]})")
            return int(cur.lastrowid)

    def exports(self, plan_id: str) -> list[ExportRecord]:
        rows = self._db.execute("SELECT * FROM exports WHERE plan_id = ? ORDER BY id", (plan_id,)).fetchall()
        return [
            ExportRecord(
                id=r["id"], plan_id=r["plan_id"], at=r["at"], by=r["by"], kind=r["kind"], format=r["format"],
                out_dir=r["out_dir"], draft=bool(r["draft"]), checksum=r["checksum"], options=json.loads(r["options_json"]),
                counts=json.loads(r["counts_json"]), files=json.loads(r["files_json"]),
            )  # fmt: skip
            for r in rows
        ]


def _plan_record(row: sqlite3.Row) -> PlanRecord:
    return PlanRecord(
        plan_id=row["plan_id"], path=row["path"], state=row["state"], created_at=row["created_at"],
        recorded_at=row["recorded_at"], kind=row["kind"], book=row["book"], as_of=row["as_of"],
        status=row["status"], backend=row["backend"], objective=row["objective"], gap=row["gap"],
        policy_source=row["policy_source"], policy_sha256=row["policy_sha256"],
        policy=json.loads(row["policy_json"]) if row["policy_json"] is not None else None,
        inputs=json.loads(row["inputs_json"]), counts=json.loads(row["counts_json"]), files=json.loads(row["files_json"]),
    )  # fmt: skip

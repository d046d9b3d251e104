"""The plan ledger: which plans exist, who approved them, what was sent to the CRM.

One SQLite file (``planner-ledger.sqlite``, by default in the folder that
holds the plan folders) records every plan with its inputs' hashes, policy,
backend and solve result; its lifecycle

    draft -> approved -> exported -> applied
                                  \\-> rolled_back   (also from applied)

with who moved it and when; and every export with its files' checksums and
counts, and which export was loaded into the CRM (``mark-applied``), so a
rollback undoes that one. Owner changes reach customers, so the ledger is the audit trail: an
export refuses a plan nobody approved, and a plan whose files changed after
it was recorded is refused rather than exported under an approval it never
got. A plan enters a ledger only as what it claims to be (:func:`vet_plan`):
its ``plan_id`` is recomputed from its folder, and a plan the ledger did not
get from ``planner solve`` is re-checked by the independent evaluator
against the book it was made from.

The file: stdlib ``sqlite3`` only. ``PRAGMA application_id`` is
:data:`APPLICATION_ID` ("PLNR"), ``PRAGMA user_version`` the schema version.
A file that is neither a planner ledger nor empty is refused and left
untouched (a version-1 ledger, written before the application id existed, is
recognised by its tables and migrated; a version-2 one gains the columns
that say which export was applied). The tables carry CHECK constraints
(known states, actions and export kinds; valid JSON), and a row damaged by
some other tool is reported as damaged, never a crash. Every write runs in
one ``BEGIN IMMEDIATE`` transaction, and :meth:`Ledger.transaction` lets a
caller group several writes with its own work (export writes its folder and
its ledger rows together). A ledger that cannot be written is a
:class:`LedgerNotWritableError` (exit 4), never sqlite3's own text alone.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import hashlib
import json
import os
import sqlite3
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from planner.errors import EXIT_OUTPUT, PlannerError
from planner.faults import crash_point
from planner.plans import BookUnavailableError, Plan, check_plan_id, read_summary_and_hashes, recheck_plan

LEDGER_NAME = "planner-ledger.sqlite"
COPY_NOTE = "copy: "  # how a "recorded" event names another folder holding the same plan (Ledger.copies)
SEARCH_DEPTH = 2  # folders below the current one searched for a ledger holding a plan id (locate_ledger)
LEDGER_ENV = "PLANNER_LEDGER"
APPLICATION_ID = 0x504C4E52  # b"PLNR": PRAGMA application_id of every planner ledger
SCHEMA_VERSION = 3
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
ACTIONS = ("recorded", "transition", "export", "rollback", "relocated", "checked")
EXPORT_KINDS = ("export", "rollback")
# How a recorded plan is vouched for: "solve" (recorded by solve/reassign right after their
# evaluator ran), "evaluator" (re-checked against its book when it was approved or exported),
# NULL (never checked: recorded by a draft export whose book could not be read, or by a
# planner older than schema version 2). `plans approve` re-checks a draft that is not vouched for.
CHECKED = ("solve", "evaluator")

_PLAN_TABLES = ("plans", "events", "exports")

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


# Version 3: which export was loaded into the CRM (plans mark-applied), when and by whom; NULL for the others.
# An applied row is an export, never a rollback, and has both.
_APPLIED_COLUMNS = (
    "applied_at TEXT CHECK (applied_at IS NULL OR kind = 'export'),\n"
    "    applied_by TEXT CHECK ((applied_by IS NULL) = (applied_at IS NULL))"
)
_EXPORT_COLUMNS_V2 = (
    "id", "plan_id", "at", "by", "kind", "format", "out_dir", "draft", "checksum", "options_json", "counts_json",
    "files_json",
)  # fmt: skip


def _one_of(column: str, values: tuple[str, ...], nullable: bool = False) -> str:
    listed = ", ".join(f"'{v}'" for v in values)
    check = f"{column} IN ({listed})"
    return f"CHECK ({column} IS NULL OR {check})" if nullable else f"CHECK ({check})"


def _json_of(column: str, json_type: str, nullable: bool = False) -> str:
    check = f"CASE WHEN json_valid({column}) THEN json_type({column}) = '{json_type}' ELSE 0 END"
    return f"CHECK ({column} IS NULL OR {check})" if nullable else f"CHECK ({check})"


def _number(column: str) -> str:
    return f"CHECK (typeof({column}) IN ('integer', 'real', 'null'))"


def _schema(suffix: str = "") -> list[str]:
    """The current tables (named with `suffix` while a migration builds them), then their indexes."""
    plans, events, exports = (f"{t}{suffix}" for t in _PLAN_TABLES)
    tables = [
        f"""CREATE TABLE {plans} (
    plan_id TEXT PRIMARY KEY NOT NULL,
    path TEXT NOT NULL,
    state TEXT NOT NULL {_one_of("state", STATES)},
    created_at TEXT,
    recorded_at TEXT NOT NULL,
    kind TEXT,
    book TEXT,
    as_of TEXT,
    status TEXT,
    backend TEXT,
    objective REAL {_number("objective")},
    gap REAL {_number("gap")},
    policy_source TEXT,
    policy_sha256 TEXT,
    policy_json TEXT {_json_of("policy_json", "object", nullable=True)},
    inputs_json TEXT NOT NULL {_json_of("inputs_json", "array")},
    counts_json TEXT NOT NULL {_json_of("counts_json", "object")},
    files_json TEXT NOT NULL {_json_of("files_json", "object")},
    checked TEXT {_one_of("checked", CHECKED, nullable=True)}
)""",
        f"""CREATE TABLE {events} (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    plan_id TEXT NOT NULL REFERENCES plans(plan_id),
    at TEXT NOT NULL,
    action TEXT NOT NULL {_one_of("action", ACTIONS)},
    from_state TEXT {_one_of("from_state", STATES, nullable=True)},
    to_state TEXT {_one_of("to_state", STATES, nullable=True)},
    by TEXT NOT NULL,
    note TEXT NOT NULL
)""",
        f"""CREATE TABLE {exports} (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    plan_id TEXT NOT NULL REFERENCES plans(plan_id),
    at TEXT NOT NULL,
    by TEXT NOT NULL,
    kind TEXT NOT NULL {_one_of("kind", EXPORT_KINDS)},
    format TEXT NOT NULL,
    out_dir TEXT NOT NULL,
    draft INTEGER NOT NULL CHECK (draft IN (0, 1)),
    checksum TEXT NOT NULL,
    options_json TEXT NOT NULL {_json_of("options_json", "object")},
    counts_json TEXT NOT NULL {_json_of("counts_json", "object")},
    files_json TEXT NOT NULL {_json_of("files_json", "array")},
    {_APPLIED_COLUMNS}
)""",
    ]
    return tables


_INDEXES = ("CREATE INDEX events_plan ON events(plan_id, id)", "CREATE INDEX exports_plan ON exports(plan_id, id)")
_PLAN_COLUMNS_V1 = (
    "plan_id", "path", "state", "created_at", "recorded_at", "kind", "book", "as_of", "status", "backend",
    "objective", "gap", "policy_source", "policy_sha256", "policy_json", "inputs_json", "counts_json", "files_json",
)  # fmt: skip


class LedgerError(PlannerError, ValueError):
    """A refused ledger operation; the message says what was expected."""


class LedgerNotWritableError(LedgerError):
    """The ledger file (or the folder it goes in) cannot be written: exit 4, like any output that cannot be written."""

    exit_code = EXIT_OUTPUT


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
    checked: str | None = None  # how the plan is vouched for: see CHECKED


@dataclass(frozen=True)
class DamagedPlan:
    """A plans row that does not read as a plan (written by some other tool): what is wrong with it."""

    plan_id: str
    problems: tuple[str, ...]


@dataclass(frozen=True)
class Event:
    plan_id: str
    at: str
    action: str  # recorded | transition | export | rollback | relocated | checked
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
    files: list  # [{name, role, rows, bytes, sha256, how?}]
    applied_at: str | None = None  # when `plans mark-applied` recorded that this export was loaded (else None)
    applied_by: str | None = None

    def label(self) -> str:
        """'#2 salesforce -> /exports/sf (applied)': how messages name an export."""
        return f"#{self.id} {self.format} -> {self.out_dir}" + (" (applied)" if self.applied_at else "")


@dataclass(frozen=True)
class Vetting:
    """What :func:`vet_plan` found: how the plan is vouched for, and what the user should hear about it."""

    checked: str | None  # "solve" / "evaluator" (see CHECKED), or None: not re-checked (a draft only)
    rechecked: bool  # the evaluator re-ran against the book just now
    inherited: tuple[str, ...] = ()  # cap overloads the plan kept from today's owners (not refused)
    unchecked_reason: str = ""  # why a draft could not be re-checked


def resolve_ledger_path(explicit: str | Path | None = None, plan_dir: str | Path | None = None) -> Path:
    """--ledger, else $PLANNER_LEDGER, else next to the plan folder, else the current folder."""
    if explicit:
        return Path(explicit)
    if os.environ.get(LEDGER_ENV):
        return Path(os.environ[LEDGER_ENV])
    if plan_dir is not None:
        return Path(plan_dir).resolve().parent / LEDGER_NAME
    return Path(LEDGER_NAME)


def locate_ledger(plan_id: str, explicit: str | Path | None = None, plan_dir: str | Path | None = None) -> Path:
    """The ledger that holds `plan_id`, found wherever the user stands.

    --ledger or $PLANNER_LEDGER, when given, is the answer. Otherwise the
    ledger the folder's summary.json names (where solve recorded it), the
    ledger next to the plan folder (`plan_dir`) or in the current folder,
    whichever holds the plan (neither: the one next to the folder, which a
    folder brought to a new place starts). For a plan id alone, the
    current folder's ledger, else the one ledger (planner-ledger.sqlite) in
    the folders up to SEARCH_DEPTH below the current one that holds it (a
    plan solved with `--out sub/dir` from here was recorded in
    sub/planner-ledger.sqlite). Two such ledgers holding the same id are
    ambiguous (LedgerError naming both). Holding it nowhere: the default of
    :func:`resolve_ledger_path`, whose error then says it is not there.
    """
    default = resolve_ledger_path(explicit, plan_dir)
    if explicit or os.environ.get(LEDGER_ENV):
        return default
    near = [default] + ([Path(LEDGER_NAME)] if plan_dir is not None else [])
    if plan_dir is not None:
        named = _named_ledger(Path(plan_dir))
        if named is not None:
            near.insert(0, named)  # the ledger the plan was recorded in, named in its summary.json
    for path in near:
        if _holds(path, plan_id):
            return path
    if plan_dir is not None:
        return default  # a folder names its ledger: never one of some other folder's plans
    here = Path.cwd()
    found = []
    for depth in range(1, SEARCH_DEPTH + 1):
        for path in sorted(here.glob("/".join(["*"] * depth) + "/" + LEDGER_NAME)):
            if any(part.startswith(".") for part in path.relative_to(here).parts[:-1]):
                continue  # hidden folders (.git, .venv) hold no plans
            if path.resolve() not in {p.resolve() for p in near} and _holds(path, plan_id):
                found.append(path)
    if len(found) > 1:
        raise LedgerError(
            f"Plan {plan_id} is in more than one ledger: {', '.join(str(p) for p in found)}; expected one. "
            "Pass --ledger PATH to say which"
        )
    return found[0] if found else default


def _named_ledger(plan_dir: Path) -> Path | None:
    """The ledger a plan folder's summary.json names (where `planner solve` recorded it), if any."""
    try:
        named = json.loads((plan_dir / "summary.json").read_text(encoding="utf-8")).get("ledger")
    except (OSError, ValueError, AttributeError):
        return None
    return Path(named) if isinstance(named, str) and named else None


def _holds(path: Path, plan_id: str) -> bool:
    """The file at `path` is a ledger that records `plan_id` (read only; anything that is not a ledger does not)."""
    if not path.is_file():
        return False
    try:
        with Ledger(path, create=False, readonly=True) as led:
            return bool(led._query("SELECT 1 FROM plans WHERE plan_id = ?", (plan_id,)))
    except (LedgerError, sqlite3.Error, OSError):
        return False


def current_user() -> str:
    """The OS user name: the default "who" of ledger events when --by is not given."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _json(value) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _either(states: tuple[str, ...] | list[str]) -> str:
    """'a', 'a or b', 'a, b or c'."""
    return states[0] if len(states) == 1 else f"{', '.join(states[:-1])} or {states[-1]}"


def _expected_states(to_state: str) -> list[str]:
    return [s for s, nexts in NEXT_STATES.items() if to_state in nexts]


# -- sqlite errors in the user's words -------------------------------------------

_READONLY, _CANTOPEN, _BUSY, _LOCKED, _FULL, _NOTADB, _CORRUPT = 8, 14, 5, 6, 13, 26, 11


def _not_writable(path: Path, why: str) -> LedgerNotWritableError:
    return LedgerNotWritableError(
        f"{path}: expected a writable ledger, but {why}. Nothing was recorded; make the file and its folder writable, "
        "or pass another --ledger PATH"
    )


def _ledger_error(path: Path, exc: sqlite3.Error) -> LedgerError:
    """The LedgerError for a sqlite3 error on `path`: what it means for the user, sqlite's words in brackets."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    text = str(exc)
    if primary == _READONLY or "readonly" in text:
        return _not_writable(path, f"it can only be read ({text})")
    if primary == _CANTOPEN:
        return _not_writable(path, f"it cannot be opened or its journal cannot be created next to it ({text})")
    if primary == _FULL:
        return _not_writable(path, f"the disk is full ({text})")
    if primary in (_BUSY, _LOCKED):
        return LedgerError(
            f"{path}: the ledger is locked by another planner command ({text}); expected it free within 30 s. Try again."
        )
    if primary == _CORRUPT:
        return LedgerError(
            f"{path}: the ledger file is damaged ({text}); expected an intact ledger. It was left as it is: restore it "
            "from a backup, or pass another --ledger"
        )
    if primary == _NOTADB:
        return LedgerError(
            f"{path}: not a planner ledger; expected a planner ledger (an SQLite file) ({text}). It was left as it is; pass another --ledger."
        )
    return LedgerError(f"{path}: the ledger could not be read or written ({type(exc).__name__}: {text})")


def _connect(path: Path, readonly: bool) -> sqlite3.Connection:
    """A connection to the ledger file; `readonly` opens it so that nothing can be written (mode=ro)."""
    if readonly:
        return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30, isolation_level=None)
    return sqlite3.connect(path, timeout=30, isolation_level=None)


def _check_folder_writable(path: Path) -> None:
    """The folder a new ledger at `path` goes in can be written (probed with a temporary file, as root too)."""
    folder = path.parent.resolve()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise _not_writable(path, f"{folder} is not a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=".planner-ledger-probe-", dir=folder)
    except OSError as exc:
        raise _not_writable(path, f"its folder {folder} cannot be written ({exc.strerror or exc})") from None
    os.close(fd)
    os.unlink(probe)


def require_writable(path: str | Path) -> None:
    """Raise unless a plan can be recorded in the ledger at `path`, creating and changing nothing.

    An existing file must be a planner ledger (LedgerError, exit 1, otherwise)
    that this process can write: a write is tried inside a transaction that
    is rolled back. A missing file needs a writable folder.
    LedgerNotWritableError (exit 4) says what cannot be written.
    """
    path = Path(path)
    if path.is_dir():
        raise LedgerError(f"{path} is a folder; expected a ledger file (e.g. {path / LEDGER_NAME}), pass --ledger FILE")
    if not path.exists():
        _check_folder_writable(path)
        return
    try:
        db = _connect(path, readonly=False)
    except sqlite3.Error as exc:
        raise _ledger_error(path, exc) from None
    try:
        if _inspect(db, path) != "empty":
            _quick_check(db, path)
        db.execute("BEGIN IMMEDIATE")
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            db.execute(f"PRAGMA user_version = {int(version)}")  # a real write, undone below
        finally:
            if db.in_transaction:
                db.execute("ROLLBACK")
    except sqlite3.Error as exc:
        raise _ledger_error(path, exc) from None
    finally:
        db.close()


def _inspect(db: sqlite3.Connection, path: Path) -> str:
    """What the file is: 'empty', 'current' (a planner ledger at SCHEMA_VERSION), 'v1' or 'v2'; anything else is refused."""
    app = db.execute("PRAGMA application_id").fetchone()[0]
    version = db.execute("PRAGMA user_version").fetchone()[0]
    objects = db.execute("SELECT type, name FROM sqlite_master").fetchall()
    tables = {name for kind, name in objects if kind == "table" and not name.startswith("sqlite_")}
    if app == APPLICATION_ID:
        if version > SCHEMA_VERSION:
            raise LedgerError(
                f"{path}: ledger schema version {version} was written by a newer planner; expected at most {SCHEMA_VERSION}. "
                "It was left as it is; use a newer planner, or pass another --ledger"
            )
        return "current" if version == SCHEMA_VERSION else {1: "v1", 2: "v2"}.get(version, "empty")
    if app == 0 and not objects and version == 0:
        return "empty"
    if app == 0 and version == 1 and tables == set(_PLAN_TABLES):
        return "v1"  # written before the application id: recognised by its tables
    got = (
        f"application id {app:#010x}"
        if app
        else f"tables {', '.join(sorted(tables)) or '(none)'} (user_version {version})"
    )
    raise LedgerError(
        f"{path}: not a planner ledger; expected a planner ledger (SQLite application id {APPLICATION_ID:#010x}, or a "
        f"version-1 ledger with the tables {', '.join(_PLAN_TABLES)}), got {got}. It was left as it is; pass another --ledger"
    )


# Row-level damage that PRAGMA quick_check reports; the rows are flagged when read, the rest of the ledger stays usable.
_ROW_DAMAGE = ("CHECK constraint failed", "NULL value in")


def _quick_check(db: sqlite3.Connection, path: Path) -> None:
    """PRAGMA quick_check (milliseconds for thousands of plans): refuse a structurally damaged file.

    Rows that only fail a CHECK constraint (written by some other tool) are
    not refused here: they are flagged when read, and the rest stays usable.
    """
    problems = [
        " ".join(str(r[0]).replace("*** in database main ***", "").split())
        for r in db.execute("PRAGMA quick_check(20)")
    ]
    broken = [p for p in problems if p != "ok" and not p.startswith(_ROW_DAMAGE)]
    if broken:
        raise LedgerError(
            f"{path}: the ledger file is damaged (SQLite quick_check: {'; '.join(broken[:3])}); expected an intact "
            "ledger. It was left as it is: restore it from a backup, or pass another --ledger"
        )


class Ledger:
    """The ledger file; use as a context manager or call close().

    `create`: make the file when it does not exist. `readonly`: open it so that
    nothing is written -- no migration, no lock (list, show).
    """

    def __init__(self, path: str | Path, create: bool = True, readonly: bool = False):
        self.path = Path(path)
        self.readonly = readonly
        if self.path.is_dir():
            raise LedgerError(
                f"{self.path} is a folder; expected a ledger file (e.g. {self.path / LEDGER_NAME}), pass --ledger FILE"
            )
        existed = self.path.exists()
        if not existed and (readonly or not create):
            raise LedgerError(
                f"No ledger at {self.path}. Expected {LEDGER_NAME} next to the plan folders: give the plan's folder "
                "instead of its id (its ledger is found beside it), run from the folder that holds the ledger, or "
                "pass --ledger PATH."
            )
        if not existed:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise _not_writable(self.path, f"its folder cannot be created ({exc.strerror or exc})") from None
        try:
            self._db = _connect(self.path, readonly)
        except sqlite3.Error as exc:
            raise _ledger_error(self.path, exc) from None
        self._db.row_factory = sqlite3.Row
        self._depth = 0
        self._empty = False
        try:
            self._open()
        except BaseException as exc:
            self._db.close()
            if not existed:  # a ledger this call created and could not set up: leave nothing behind
                with contextlib.suppress(OSError):
                    self.path.unlink()
            if isinstance(exc, sqlite3.Error):
                raise _ledger_error(self.path, exc) from None
            raise

    def _open(self) -> None:
        kind = _inspect(self._db, self.path)
        if kind != "empty":
            _quick_check(self._db, self.path)
        self._empty = (
            self.readonly and kind == "empty"
        )  # read-only, nothing to create: it reads as a ledger with no plans
        if not self.readonly and kind != "current":
            self._migrate()
        # After the migration: SQLite ignores foreign_keys inside a transaction, and a table rebuild needs it off.
        self._db.execute("PRAGMA foreign_keys = ON")

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    def _version(self) -> int:
        return self._db.execute("PRAGMA user_version").fetchone()[0]

    def _migrate(self) -> None:
        """Create the schema, or bring a version-1 or -2 ledger to SCHEMA_VERSION; one transaction, stamped with APPLICATION_ID."""
        with self.transaction():
            kind = _inspect(self._db, self.path)  # again, under the write lock: another process may have done it
            if kind == "empty":
                for statement in (*_schema(), *_INDEXES):
                    self._db.execute(statement)
            elif kind == "v1":
                self._rebuild_v1()
            elif kind == "v2":
                self._add_applied_columns()
            self._db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _add_applied_columns(self) -> None:
        """Version 2 -> 3: the exports table gains applied_at / applied_by (NULL: no export was marked applied).

        Adding columns keeps every row as it is; a plan applied before version
        3 has no applied export, and its rollback picks an export the way it
        always did (the only one, or the one named).
        """
        for column in _APPLIED_COLUMNS.split(",\n"):
            self._db.execute(f"ALTER TABLE exports ADD COLUMN {column.strip()}")

    def _rebuild_v1(self) -> None:
        """Version 1 -> current: SQLite cannot add CHECK constraints to a table, so each table is rebuilt.

        Rows are copied exactly as they are -- a row some other tool damaged
        included (checks are off for the copy), so nothing is lost; reading
        such a row reports it as damaged. Plans recorded before version 2 were
        never re-checked: `checked` is NULL; no export was marked applied.
        """
        for statement in _schema(suffix="_v2"):
            self._db.execute(statement)
        cols = ", ".join(_PLAN_COLUMNS_V1)
        self._db.execute("PRAGMA ignore_check_constraints = ON")
        try:
            self._db.execute(f"INSERT INTO plans_v2 ({cols}, checked) SELECT {cols}, NULL FROM plans")
            self._db.execute(
                "INSERT INTO events_v2 SELECT id, plan_id, at, action, from_state, to_state, by, note FROM events"
            )
            export_cols = ", ".join(_EXPORT_COLUMNS_V2)
            self._db.execute(f"INSERT INTO exports_v2 ({export_cols}) SELECT {export_cols} FROM exports")
        finally:
            self._db.execute("PRAGMA ignore_check_constraints = OFF")
        for table in ("events", "exports", "plans"):
            self._db.execute(f"DROP TABLE {table}")
        for table in _PLAN_TABLES:
            self._db.execute(f"ALTER TABLE {table}_v2 RENAME TO {table}")
        for statement in _INDEXES:
            self._db.execute(statement)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Ledger]:
        """One write transaction; nested uses join the outermost one."""
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        if self.readonly:
            raise LedgerError(f"{self.path}: opened read-only; expected a writable ledger for this command")
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise _ledger_error(self.path, exc) from None
        self._depth = 1
        try:
            yield self
            crash_point("ledger.commit")
            self._db.execute("COMMIT")
        except BaseException as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.OperationalError):  # read-only, locked, disk full: the user's, not a bug
                raise _ledger_error(self.path, exc) from None
            raise
        finally:
            self._depth = 0

    def _query(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        if self._empty:
            return []
        try:
            return self._db.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            raise _ledger_error(self.path, exc) from None

    # -- plans -------------------------------------------------------------
    def record_plan(self, plan_dir: str | Path, by: str | None = None, *, checked: str | None = None) -> str:
        """Record the plan in `plan_dir` as a draft; returns its plan_id (see :meth:`record`)."""
        plan_dir = Path(plan_dir).resolve()
        summary, files = read_summary_and_hashes(plan_dir)
        return self.record(summary, files, plan_dir, by, checked=checked)

    def record(
        self,
        summary: Mapping,
        files: Mapping[str, str],
        plan_dir: str | Path,
        by: str | None = None,
        *,
        checked: str | None = None,
    ) -> str:
        """Record a plan (its summary.json and content-file hashes) as a draft; returns its plan_id.

        Idempotent: recording the same plan again changes nothing. A ledger
        entry never changes the folder it points to: the same plan (same id,
        same files) recorded from another folder is a copy of it, noted once
        in a "recorded" event (:meth:`copies` lists them) while the entry
        keeps its first folder -- whatever was approved or exported stays
        tied to the folder it was approved from, and nobody's later run can
        quietly repoint it. A plan whose files differ from what was recorded
        under its id is refused: its approval would no longer describe what
        gets exported.
        `checked` (see CHECKED) says how the caller vouched for the plan; a
        record not vouched for yet takes it (a "checked" event says so).
        """
        if checked is not None and checked not in CHECKED:
            raise ValueError(f"checked must be one of {CHECKED} or None, got {checked!r}")
        plan_dir = Path(plan_dir).resolve()
        plan_id = summary["plan_id"]
        by = by or current_user()
        with self.transaction():
            known = self.find(plan_id)
            if known is not None:
                _check_files(known, files, plan_dir)
                if known.path != str(plan_dir) and str(plan_dir) not in self.copies(plan_id):
                    self._event(plan_id, "recorded", known.state, known.state, by,
                                f"{COPY_NOTE}{plan_dir} (the same plan; the ledger keeps pointing at {known.path})")  # fmt: skip
                if checked and not known.checked:
                    self._db.execute("UPDATE plans SET checked = ? WHERE plan_id = ?", (checked, plan_id))
                    self._event(plan_id, "checked", known.state, known.state, by, f"re-checked by the {checked}")
                return plan_id
            policy = summary.get("policy")
            self._db.execute(
                "INSERT INTO plans (plan_id, path, state, created_at, recorded_at, kind, book, as_of, status, backend,"
                " objective, gap, policy_source, policy_sha256, policy_json, inputs_json, counts_json, files_json, checked)"
                " VALUES (?, ?, 'draft', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    plan_id, str(plan_dir), summary.get("created_at"), utc_now(), summary.get("kind"),
                    summary.get("book"), summary.get("as_of"), summary.get("status"), summary.get("backend"),
                    summary.get("objective"), summary.get("gap"), summary.get("policy_source"),
                    hashlib.sha256(_json(policy).encode()).hexdigest() if policy is not None else None,
                    _json(policy) if policy is not None else None,
                    _json(summary.get("inputs", [])), _json(summary.get("counts", {})), _json(dict(files)), checked,
                ),
            )  # fmt: skip
            self._event(plan_id, "recorded", None, "draft", by, str(plan_dir))
        return plan_id

    def copies(self, plan_id: str) -> list[str]:
        """The other folders the plan was recorded from (identical copies), oldest first; the entry's path is not one."""
        rows = self._query(
            "SELECT note FROM events WHERE plan_id = ? AND action = 'recorded' AND from_state IS NOT NULL ORDER BY id",
            (plan_id,),
        )
        out = []
        for (note,) in rows:
            if isinstance(note, str) and note.startswith(COPY_NOTE):
                out.append(note[len(COPY_NOTE) :].split(" (the same plan;", 1)[0])
        return out

    def folder(self, plan_id: str) -> Path:
        """The folder of a recorded plan: its entry's path, or, when that folder is gone, the first copy still there."""
        record = self.get(plan_id)
        if Path(record.path).is_dir():
            return Path(record.path)
        for copy in self.copies(plan_id):
            if Path(copy).is_dir():
                return Path(copy)
        return Path(record.path)  # gone: loading it says so

    def verify_files(self, plan_id: str, hashes: Mapping[str, str], plan_dir: str | Path) -> None:
        """Raise LedgerError unless the plan files' `hashes` are those recorded for `plan_id`."""
        _check_files(self.get(plan_id), hashes, Path(plan_dir))

    def find(self, plan_id: str) -> PlanRecord | None:
        """The plan's record, None if the ledger has none; LedgerError if its row is damaged."""
        rows = self._query("SELECT * FROM plans WHERE plan_id = ?", (plan_id,))
        if not rows:
            return None
        record = _plan_record(rows[0])
        if isinstance(record, DamagedPlan):
            raise LedgerError(_damage_message(self.path, record))
        return record

    def get(self, plan_id: str) -> PlanRecord:
        record = self.find(plan_id)
        if record is None:
            raise LedgerError(
                f"Plan {plan_id} is not in the ledger {self.path}; expected a recorded plan "
                "(`planner plans approve PLAN_FOLDER --by NAME` records and approves one)"
            )
        return record

    def scan(self) -> tuple[list[PlanRecord], list[DamagedPlan]]:
        """Every plan, oldest first, and every plans row that is damaged (so one bad row never hides the others)."""
        rows = self._query("SELECT * FROM plans ORDER BY recorded_at, plan_id")
        read = [_plan_record(r) for r in rows]
        return [r for r in read if isinstance(r, PlanRecord)], [r for r in read if isinstance(r, DamagedPlan)]

    def list(self) -> list[PlanRecord]:
        """Every plan, oldest first; LedgerError if a row is damaged (:meth:`scan` reports those instead)."""
        records, damaged = self.scan()
        if damaged:
            raise LedgerError(_damage_message(self.path, damaged[0]))
        return records

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
                raise LedgerError(
                    f"Expected plan {plan_id} to have a solution ({', '.join(SOLVED)}) to approve it, its solve status is {record.status}"
                )
            self._db.execute("UPDATE plans SET state = ? WHERE plan_id = ?", (to_state, plan_id))
            self._event(plan_id, "transition", record.state, to_state, by, note)
        return self.get(plan_id)

    def _event(
        self, plan_id: str, action: str, from_state: str | None, to_state: str | None, by: str, note: str
    ) -> None:
        self._db.execute(
            "INSERT INTO events (plan_id, at, action, from_state, to_state, by, note) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (plan_id, utc_now(), action, from_state, to_state, by, note),
        )

    def events(self, plan_id: str) -> list[Event]:
        rows = self._query(
            "SELECT id, plan_id, at, action, from_state, to_state, by, note FROM events WHERE plan_id = ? ORDER BY id",
            (plan_id,),
        )
        return [_event_record(self.path, r) for r in rows]

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
        rows = self._query("SELECT * FROM exports WHERE plan_id = ? ORDER BY id", (plan_id,))
        return [_export_record(self.path, r) for r in rows]

    def pick_export(
        self, plan_id: str, *, export_id: int | None = None, fmt: str | None = None, purpose: str = "use"
    ) -> tuple[ExportRecord, list[str]]:
        """The plan's export that `purpose` (mark applied, roll back) means, and notes to show the user.

        `export_id` names it; otherwise the export recorded as applied, else the
        only export (of format `fmt` when given) -- or the last one when every
        candidate wrote the same files (the same export into another folder).
        Exports that differ are ambiguous: refused, listing them. Rollback files
        are never picked: only an export can be loaded or undone.
        """
        exports = [e for e in self.exports(plan_id) if e.kind == "export"]
        applied = [e for e in exports if e.applied_at]
        if export_id is not None:
            chosen = next((e for e in exports if e.id == export_id), None)
            if chosen is None:
                listed = "; ".join(e.label() for e in exports) or "none"
                raise LedgerError(
                    f"Expected --export to name one of plan {plan_id}'s exports ({listed}), got #{export_id}"
                )
            notes = [f"Export #{chosen.id} is not the one recorded as applied ({applied[-1].label()})"] if (
                applied and applied[-1].id != chosen.id) else []  # fmt: skip
            return chosen, notes
        candidates = [e for e in exports if fmt is None or e.format == fmt]
        if applied and applied[-1] in candidates:
            return applied[-1], []
        if not candidates:
            what = f"{fmt} export" if fmt else "export"
            raise LedgerError(f"Expected plan {plan_id} to have a recorded {what} to {purpose}, it has none")
        if len({(e.format, e.checksum) for e in candidates}) > 1:
            listed = "; ".join(e.label() for e in candidates)
            raise LedgerError(
                f"Plan {plan_id} has {len(candidates)} different exports ({listed}); expected --export N to say which "
                f"one to {purpose}"
            )
        return candidates[-1], []

    def mark_applied(
        self, plan_id: str, by: str, note: str = "", *, export_id: int | None = None
    ) -> tuple[PlanRecord, ExportRecord]:
        """Record that one export of the plan was loaded into the CRM (see :meth:`pick_export`); the plan is then applied."""
        with self.transaction():
            chosen, _ = self.pick_export(plan_id, export_id=export_id, purpose="mark applied")
            what = f"export #{chosen.id} ({chosen.format} -> {chosen.out_dir})"
            record = self.transition(plan_id, "applied", by, f"{what}; {note}" if note else what)
            self._db.execute(
                "UPDATE exports SET applied_at = ?, applied_by = ? WHERE id = ?", (utc_now(), by, chosen.id)
            )
            return record, next(e for e in self.exports(plan_id) if e.id == chosen.id)

    def applied_export(self, plan_id: str) -> ExportRecord | None:
        """The export recorded as loaded into the CRM, if any."""
        applied = [e for e in self.exports(plan_id) if e.applied_at]
        return applied[-1] if applied else None


# -- reading rows: a damaged row says what is wrong, it never crashes a reader ----------------------


def _damage_message(path: Path, damaged: DamagedPlan) -> str:
    return (
        f"{path}: the ledger row of plan {damaged.plan_id} is damaged: {'; '.join(damaged.problems)}. Expected a row "
        "written by the planner (some other tool changed it). Nothing was changed; restore the ledger from a backup, "
        "or record the plan in another ledger (--ledger)"
    )


class _Reader:
    """Typed access to one row, collecting what is wrong instead of raising at the first problem."""

    def __init__(self, row: sqlite3.Row):
        self.row = row
        self.keys = set(row.keys())
        self.problems: list[str] = []

    def text(self, column: str, nullable: bool = True) -> str | None:
        value = self.row[column] if column in self.keys else None
        if value is None and nullable:
            return None
        if not isinstance(value, str):
            self.problems.append(f"{column} is {'missing' if value is None else f'not text ({value!r})'}")
            return None if nullable else ""
        return value

    def number(self, column: str) -> float | None:
        value = self.row[column]
        if value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)):
            return value
        self.problems.append(f"{column} is not a number ({value!r})")
        return None

    def one_of(self, column: str, allowed: tuple[str, ...], nullable: bool = False) -> str | None:
        value = self.text(column, nullable)
        if value is not None and value not in allowed:
            self.problems.append(f"{column} {value!r} is not one of {', '.join(allowed)}")
        return value

    def json(self, column: str, kind: type, nullable: bool = False):
        raw = self.row[column]
        if raw is None and nullable:
            return None
        try:
            value = json.loads(raw)
        except (TypeError, ValueError) as exc:
            self.problems.append(f"{column} is not valid JSON ({exc})")
            return kind()
        if not isinstance(value, kind):
            self.problems.append(f"{column} is not a JSON {'object' if kind is dict else 'array'}")
            return kind()
        return value


def _plan_record(row: sqlite3.Row) -> PlanRecord | DamagedPlan:
    r = _Reader(row)
    plan_id = row["plan_id"]
    record = PlanRecord(
        plan_id=r.text("plan_id", nullable=False), path=r.text("path", nullable=False), state=r.one_of("state", STATES),
        created_at=r.text("created_at"), recorded_at=r.text("recorded_at", nullable=False), kind=r.text("kind"),
        book=r.text("book"), as_of=r.text("as_of"), status=r.text("status"), backend=r.text("backend"),
        objective=r.number("objective"), gap=r.number("gap"), policy_source=r.text("policy_source"),
        policy_sha256=r.text("policy_sha256"), policy=r.json("policy_json", dict, nullable=True),
        inputs=r.json("inputs_json", list), counts=r.json("counts_json", dict), files=r.json("files_json", dict),
        checked=r.one_of("checked", CHECKED, nullable=True),
    )  # fmt: skip
    if r.problems:
        return DamagedPlan(str(plan_id), tuple(r.problems))
    return record


def _event_record(path: Path, row: sqlite3.Row) -> Event:
    r = _Reader(row)
    event = Event(
        plan_id=r.text("plan_id", nullable=False), at=r.text("at", nullable=False), action=r.one_of("action", ACTIONS),
        from_state=r.one_of("from_state", STATES, nullable=True), to_state=r.one_of("to_state", STATES, nullable=True),
        by=r.text("by", nullable=False), note=r.text("note", nullable=False),
    )  # fmt: skip
    if r.problems:
        raise LedgerError(
            f"{path}: event #{row['id']} of plan {row['plan_id']} is damaged: {'; '.join(r.problems)}. Expected a row written by the planner; nothing was changed"
        )
    return event


def _export_record(path: Path, row: sqlite3.Row) -> ExportRecord:
    r = _Reader(row)
    draft = row["draft"]
    if draft not in (0, 1):
        r.problems.append(f"draft is {draft!r}, expected 0 or 1")
    record = ExportRecord(
        id=row["id"], plan_id=r.text("plan_id", nullable=False), at=r.text("at", nullable=False), by=r.text("by", nullable=False),
        kind=r.one_of("kind", EXPORT_KINDS), format=r.text("format", nullable=False), out_dir=r.text("out_dir", nullable=False),
        draft=bool(draft), checksum=r.text("checksum", nullable=False), options=r.json("options_json", dict),
        counts=r.json("counts_json", dict), files=r.json("files_json", list),
        applied_at=r.text("applied_at"), applied_by=r.text("applied_by"),  # absent in a version-2 ledger read as is
    )  # fmt: skip
    files_ok = all(isinstance(f, dict) and {"name", "role", "rows"} <= f.keys() for f in record.files)
    if not files_ok:
        r.problems.append("files_json is not a list of {name, role, rows, ...} objects")
    if r.problems:
        raise LedgerError(
            f"{path}: export #{row['id']} of plan {row['plan_id']} is damaged: {'; '.join(r.problems)}. Expected a row written by the planner; nothing was changed"
        )
    return record


# -- admitting a plan: is it what it claims to be? -----------------------------------------------


def _check_files(record: PlanRecord, files: Mapping[str, str], plan_dir: Path) -> None:
    changed = sorted(name for name, sha in files.items() if record.files.get(name) != sha)
    if changed:
        raise LedgerError(
            f"{plan_dir}: {', '.join(changed)} differ from what the ledger recorded for plan {record.plan_id}; "
            "expected the plan files unchanged since they were recorded (solve again to get a new plan)"
        )


def needs_recheck(record: PlanRecord | None) -> bool:
    """A plan the ledger does not vouch for: not recorded, or a draft nobody checked (see CHECKED)."""
    return record is None or (record.state == "draft" and record.checked is None)


def vet_plan(plan: Plan, record: PlanRecord | None, *, recheck: bool = True, draft: bool = False) -> Vetting:
    """Check that `plan` is what it claims to be before it is approved or exported; raises what is wrong.

    (a) its plan_id, recomputed from the folder (summary.json's identity and
        assignments.csv), is the one summary.json states (PlanError);
    (b) if the ledger has `record` of it, its content files are the ones
        recorded (LedgerError);
    (c) if `recheck` and the ledger does not vouch for it (:func:`needs_recheck`),
        the independent evaluator re-runs against the book it was made from
        and a rule the plan breaks -- and today's owners did not already break --
        refuses it (PlanError naming the rule and the owner). A book that is
        missing or changed refuses it too (BookUnavailableError), except for a
        `draft` export, which goes ahead unchecked and says why.
    """
    check_plan_id(plan)
    if record is not None:
        _check_files(record, plan.file_sha256, plan.path)
    if not recheck or not needs_recheck(record):
        return Vetting(record.checked if record is not None else None, False)
    try:
        result = recheck_plan(plan)
    except BookUnavailableError as exc:
        if not draft:
            raise
        return Vetting(None, False, (), str(exc))
    return Vetting("evaluator", True, tuple(str(v) for v in result.inherited))


def find_plan(path: str | Path, plan_id: str) -> PlanRecord | None:
    """The record of `plan_id` in the ledger at `path`, read without writing anything (None: no ledger, or not in it)."""
    path = Path(path)
    if not path.is_file():
        return None
    with Ledger(path, readonly=True) as led:
        return led.find(plan_id)

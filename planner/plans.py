"""Reading plan folders, and comparing two plans.

A plan folder is the output contract of ``planner solve`` (see
``planner/plan_contract.md``). Export and ``plans diff`` read it as text,
exactly as written -- ids are never parsed as numbers, so ``00123`` stays
``00123`` -- and check the few facts they rely on up front, so a damaged or
hand-edited plan fails with a clear message instead of producing a wrong
CRM load.

A plan's ``plan_id`` is a content hash of its identity (summary.json's
``identity``: the inputs' sha256, the policy digest, the plan date) and its
account -> owner pairs (:func:`compute_plan_id`, which solve and reassign use
too), so a folder's id can be recomputed from the folder alone
(:func:`check_plan_id`). :func:`recheck_plan` re-runs the independent
evaluator on a plan against the book it was made from.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Mapping

from planner.csvsafe import restore
from planner.errors import PlannerError

PLAN_FILES = ("assignments.csv", "owners.csv", "summary.json")
# What an approval covers: who owns what. summary.json is left out -- it holds
# the run's timestamp and timings, which differ between two solves of the same
# plan (same plan_id), and nothing in it is exported.
CONTENT_FILES = ("assignments.csv", "owners.csv")
ASSIGNMENT_COLUMNS = (
    "account_id", "owner_type", "owner_id", "previous_owner", "previous_owner_type",
    "changed", "reason", "workload_hours", "arr", "crm_id",
)  # fmt: skip
OWNER_COLUMNS = ("owner_id", "owner_type", "name", "email", "crm_user_id")


class PlanError(PlannerError, ValueError):
    """A plan folder that cannot be used; the message says where and what was expected."""


class BookUnavailableError(PlanError):
    """The book a plan was made from is missing or changed, so the plan cannot be re-checked against it."""


@dataclass(frozen=True)
class Plan:
    """A plan folder as read: rows are dicts of text, in the file's order."""

    path: Path
    summary: Mapping
    assignments: tuple[Mapping[str, str], ...]
    owners: Mapping[str, Mapping[str, str]]  # owner_id -> owners.csv row
    file_sha256: Mapping[str, str]  # CONTENT_FILES name -> sha256 of its bytes

    @property
    def plan_id(self) -> str:
        return self.summary["plan_id"]


def _parse_summary(path: Path, data: bytes) -> dict:
    try:
        summary = json.loads(data.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PlanError(f"{path}: expected valid JSON: {exc}") from None
    plan_id = summary.get("plan_id") if isinstance(summary, dict) else None
    if not isinstance(plan_id, str) or not plan_id:
        raise PlanError(f"{path}: expected a non-empty \"plan_id\"")
    return summary


def _read_plan_files(plan_dir: Path) -> dict[str, bytes]:
    """The plan files' bytes, read once: what is hashed is exactly what is parsed."""
    if not plan_dir.is_dir():
        raise PlanError(f"{plan_dir}: expected a plan folder (written by planner solve), but it is not a folder")
    data = {}
    for name in PLAN_FILES:
        try:
            data[name] = (plan_dir / name).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise PlanError(f"{plan_dir}: expected a plan folder with {', '.join(PLAN_FILES)}; {name} is missing") from None
    return data


def _content_hashes(data: Mapping[str, bytes]) -> dict[str, str]:
    return {name: hashlib.sha256(data[name]).hexdigest() for name in CONTENT_FILES}


def read_summary_and_hashes(plan_dir: str | Path) -> tuple[dict, dict[str, str]]:
    """summary.json and the sha256 of the content files, from one read (for the ledger)."""
    plan_dir = Path(plan_dir)
    data = _read_plan_files(plan_dir)
    return _parse_summary(plan_dir / "summary.json", data["summary.json"]), _content_hashes(data)


def _restored(value):
    """A parsed cell with the writer's formula neutralization undone (None / lists of a ragged row kept as such)."""
    if isinstance(value, str):
        return restore(value)
    if isinstance(value, list):
        return [restore(v) for v in value]
    return value


def _parse_csv(path: Path, data: bytes, required: tuple[str, ...]) -> list[dict[str, str]]:
    """The rows of a plan CSV as the text the planner had before writing it.

    The plan writer neutralizes every text cell against spreadsheet formulas
    (one more leading quote, planner.io.csvtext); that is undone here, header
    included, so export and plans diff see the original ids and names
    (``=HYPERLINK(...)``, not ``'=HYPERLINK(...)``). Numbers never start with
    a quote, so they are untouched.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PlanError(f"{path}: expected UTF-8 text: {exc}") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if reader.fieldnames is not None:
        reader.fieldnames = [restore(c) for c in reader.fieldnames]
    missing = [c for c in required if c not in (reader.fieldnames or ())]
    if missing:
        raise PlanError(f"{path}: expected columns {list(required)}; missing {missing}")
    return [{k: _restored(v) for k, v in row.items()} for row in reader]


def _check_number(path: Path, line: int, column: str, text: str) -> None:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise PlanError(f"{path}, row {line}, column {column!r}: expected a number, got {text!r}")


def _check_assignments(path: Path, rows: list[dict[str, str]], owners: Mapping[str, Mapping[str, str]]) -> None:
    """The facts export relies on: unique ids, known owners, and `changed` agreeing with the owners."""
    seen: dict[str, int] = {}
    for line, row in enumerate(rows, start=2):
        account = row["account_id"]
        if not account:
            raise PlanError(f"{path}, row {line}: expected an account_id, got a blank")
        if account in seen:
            raise PlanError(f"{path}, row {line}: account_id {account!r} repeats row {seen[account]}; expected one row per account")
        seen[account] = line
        unassigned = row["owner_type"] == "unassigned" and not row["owner_id"]  # a reassignment left it unplaced
        if row["owner_id"] not in owners and not unassigned:
            raise PlanError(f"{path}, row {line}: owner_id {row['owner_id']!r} is not in owners.csv; expected every owner listed there")
        if row["changed"] not in ("true", "false"):
            raise PlanError(f"{path}, row {line}, column 'changed': expected true or false, got {row['changed']!r}")
        if (row["changed"] == "true") != (row["owner_id"] != row["previous_owner"]):
            raise PlanError(
                f"{path}, row {line}: changed={row['changed']} disagrees with owner_id {row['owner_id']!r} "
                f"and previous_owner {row['previous_owner']!r}; expected changed=true exactly when they differ"
            )
        for column in ("arr", "workload_hours"):
            _check_number(path, line, column, row[column])


def load_plan(plan_dir: str | Path) -> Plan:
    """Read and check a plan folder (raises PlanError saying what is wrong)."""
    plan_dir = Path(plan_dir)
    data = _read_plan_files(plan_dir)
    summary = _parse_summary(plan_dir / "summary.json", data["summary.json"])
    owners: dict[str, dict[str, str]] = {}
    for line, row in enumerate(_parse_csv(plan_dir / "owners.csv", data["owners.csv"], OWNER_COLUMNS), start=2):
        if row["owner_id"] in owners:
            raise PlanError(f"{plan_dir / 'owners.csv'}, row {line}: owner_id {row['owner_id']!r} repeats; expected one row per owner")
        owners[row["owner_id"]] = row
    assignments = _parse_csv(plan_dir / "assignments.csv", data["assignments.csv"], ASSIGNMENT_COLUMNS)
    _check_assignments(plan_dir / "assignments.csv", assignments, owners)
    return Plan(plan_dir, summary, tuple(assignments), owners, _content_hashes(data))


# -- identity: the plan_id recomputed from the folder ---------------------------

IDENTITY_PARTS = ("inputs", "policy", "as_of")  # what every plan's identity holds; more parts may follow


def policy_digest(policy: Mapping) -> str:
    """The sha256 of a policy as summary.json records it (the same as planner.policy.Policy.digest)."""
    return hashlib.sha256(json.dumps(policy, sort_keys=True).encode()).hexdigest()


def compute_plan_id(identity: Mapping, pairs: Iterable[tuple[str, str]]) -> str:
    """The plan_id: a hash of the plan's identity and its (account_id, owner_id) pairs in plan order.

    `identity` is summary.json's "identity": {"inputs": [sha256 per input
    table], "policy": policy digest, "as_of": "YYYY-MM-DD"}, and any further
    parts (e.g. who leaves); further parts are hashed after the pairs, so a
    plan without them keeps the id it always had.
    """
    h = hashlib.sha256()
    h.update(json.dumps(list(identity["inputs"])).encode())
    h.update(str(identity["policy"]).encode())
    h.update(str(identity["as_of"]).encode())
    h.update("\n".join(f"{a},{o}" for a, o in pairs).encode())
    extra = {k: v for k, v in identity.items() if k not in IDENTITY_PARTS}
    if extra:
        h.update(("\n" + json.dumps(extra, sort_keys=True)).encode())
    return "plan-" + h.hexdigest()[:12]


def summary_identity(summary: Mapping, where: Path) -> dict:
    """The identity summary.json records, checked against its inputs, policy and as_of (which say the same).

    A summary written before "identity" existed gets the identity those
    three fields make. `where` names summary.json in messages.
    """
    inputs, policy, as_of = summary.get("inputs"), summary.get("policy"), summary.get("as_of")
    if not isinstance(inputs, list) or not all(isinstance(i, dict) and isinstance(i.get("sha256"), str) for i in inputs):
        raise PlanError(f"{where}: expected \"inputs\" to be a list of {{table, path, sha256, rows}}")
    if not isinstance(policy, dict) or not isinstance(as_of, str):
        raise PlanError(f"{where}: expected \"policy\" (the merged policy) and \"as_of\" (the plan date)")
    derived = {"inputs": [i["sha256"] for i in inputs], "policy": policy_digest(policy), "as_of": as_of}
    recorded = summary.get("identity")
    if recorded is None:
        return derived
    if not isinstance(recorded, dict) or any(k not in recorded for k in IDENTITY_PARTS):
        raise PlanError(f"{where}: expected \"identity\" to hold {', '.join(IDENTITY_PARTS)}")
    differ = [k for k in IDENTITY_PARTS if recorded[k] != derived[k]]
    if differ:
        raise PlanError(
            f"{where}: \"identity\" disagrees with the {', '.join(differ)} recorded beside it; expected summary.json "
            "unchanged since the plan was written (solve again to get a new plan)"
        )
    return dict(recorded)


def check_plan_id(plan: Plan) -> None:
    """Raise PlanError unless the plan's id, recomputed from its folder, is the one summary.json states."""
    identity = summary_identity(plan.summary, plan.path / "summary.json")
    recomputed = compute_plan_id(identity, ((r["account_id"], r["owner_id"]) for r in plan.assignments))
    if recomputed != plan.plan_id:
        raise PlanError(
            f"{plan.path}: summary.json says {plan.plan_id}, but its assignments.csv and identity make {recomputed}: the "
            "plan was changed after it was written. Expected an unchanged plan folder: a plan is approved and exported "
            "only under its own id, so change the book or the policy and solve again instead"
        )


# -- re-checking a plan against the book it was made from -----------------------


@dataclass(frozen=True)
class Recheck:
    """A plan the independent evaluator accepts again; what it kept from today's owners (not refused)."""

    book: str
    inherited: tuple  # evaluate.Violation: cap overloads today's owners already had, not made worse


def _cannot(plan: Plan, why: str) -> BookUnavailableError:
    return BookUnavailableError(
        f"{plan.path}: plan {plan.plan_id} cannot be re-checked against the book it was made from: {why}. Expected "
        "the book's files as they were when the plan was solved (summary.json \"inputs\"); put them back, or solve "
        "the current book again (planner solve BOOK --out NEW_PLAN) and approve that plan"
    )


def _base(paths: Iterable[Path], plan: Plan) -> Path:
    """Where relative input paths start: the current folder, else the nearest folder above the plan holding them all.

    solve records the paths as it was given them; a plan approved from
    another folder still finds a book that sits near it (each file's sha256
    is checked, so a file found this way is the one the plan was made from).
    """
    relative = [p for p in paths if not p.is_absolute()]
    for base in (Path.cwd(), *plan.path.resolve().parents):
        if all((base / p).is_file() for p in relative):
            return base
    return Path.cwd()


def _book_root(plan: Plan, inputs: list) -> Path:
    """The book (folder or .xlsx) the input files are, each checked against the sha256 the plan recorded."""
    paths: dict[Path, str] = {}
    for source in inputs:
        if not isinstance(source.get("path"), str) or not isinstance(source.get("table"), str):
            raise _cannot(plan, "summary.json \"inputs\" does not say where each table was read from")
        paths.setdefault(Path(source["path"]), source["sha256"])
    base = _base(paths, plan)
    paths = {p if p.is_absolute() or base == Path.cwd() else base / p: sha for p, sha in paths.items()}
    for path, sha in paths.items():
        relative = "" if path.is_absolute() else " (relative to the folder planner solve ran in)"
        try:
            data = path.read_bytes()
        except OSError:
            raise _cannot(plan, f"{path}{relative} is missing") from None
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha:
            raise _cannot(plan, f"{path} has changed since the plan was made (sha256 {actual[:12]}..., the plan recorded {sha[:12]}...)")
    if len(paths) == 1 and next(iter(paths)).suffix.lower() == ".xlsx":
        return next(iter(paths))
    folders = {p.parent for p in paths}
    if len(folders) != 1:
        raise _cannot(plan, f"its input files are in {len(folders)} folders, expected one book folder")
    return folders.pop()


def _book_of(plan: Plan):
    """The Book the plan was made from, as the plan saw it (a reassignment's: leavers inactive, as of the effective date)."""
    from planner.errors import BookError
    from planner.io import load_book
    from planner.policy import PolicyError, policy_from_dict

    summary, where = plan.summary, plan.path / "summary.json"
    inputs = summary.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise _cannot(plan, "summary.json records no input files (\"inputs\")")
    root = _book_root(plan, inputs)
    try:
        policy = policy_from_dict(summary["policy"], source=str(summary.get("policy_source") or "summary.json"))
        as_of = dt.date.fromisoformat(summary["as_of"])
    except (PolicyError, KeyError, TypeError, ValueError) as exc:
        raise PlanError(f"{where}: expected the policy and plan date (as_of) the plan was solved with: {exc}") from None
    try:
        book = load_book(root, policy, as_of)
    except BookError as exc:
        first = next((f for f in exc.findings if f.severity == "error"), None)
        raise _cannot(plan, f"{root} no longer loads ({first})") from None
    now = [(s.table, s.sha256) for s in book.sources]
    then = [(i["table"], i["sha256"]) for i in inputs]
    if now != then:
        raise _cannot(plan, f"{root} now holds the tables {[t for t, _ in now]}, the plan was made from {[t for t, _ in then]}")
    if summary.get("kind") == "reassign":
        from planner.models.reassign import Leave, book_without

        try:
            leaves = tuple(
                Leave(l["csm_id"], dt.date.fromisoformat(l["temporary_until"]) if l.get("temporary_until") else None)
                for l in summary["leavers"]
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise PlanError(f"{where}: expected \"leavers\" as [{{csm_id, temporary_until}}]: {exc}") from None
        book = book_without(book, leaves, as_of)
    return book


def _text(value) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def plan_matches_book(plan: Plan, book) -> list:
    """Violations where the plan's copy of what export sends (CRM ids, emails, previous owners) is not the book's.

    The evaluator checks who owns what; an export also reads each account's
    crm_id (and gainsight_id) and previous owner from assignments.csv and each
    owner's email and CRM user ids from owners.csv, so a hand edit there would
    send accounts to another CRM record or user under an unchanged plan_id.
    """
    from planner.evaluate import Violation

    out = []
    accounts = {r["account_id"]: r for r in book.accounts.to_dict("records")}
    columns = [c for c in ("crm_id", "gainsight_id") if c in book.accounts.columns]
    for row in plan.assignments:
        a = accounts.get(row["account_id"])
        if a is None:
            continue  # every_account_assigned_once reports it
        for column, book_column in [(c, c) for c in columns] + [("previous_owner", "current_owner")]:
            if column in row and row[column] != _text(a[book_column]):
                out.append(Violation("plan_matches_book", row["account_id"], f"{column} {row[column]!r}, the book has {_text(a[book_column])!r}"))
    roster = {r["csm_id"]: r for r in book.csms.to_dict("records")} | {r["pool_id"]: r for r in book.pools.to_dict("records")}
    for owner_id, o in plan.owners.items():
        r = roster.get(owner_id)
        if r is None:
            continue
        for column in ("email", "crm_user_id", "hubspot_owner_id"):
            if column in o and column in r and o[column] != _text(r[column]):
                out.append(Violation("plan_matches_book", owner_id, f"owners.csv {column} {o[column]!r}, the book has {_text(r[column])!r}"))
    return out


def _by_rule(violations: list, per_rule: int = 2) -> str:
    """Every rule broken, each with its first few cases: "rule: subject: detail; ... (and 40 more rule: ...)"."""
    rules: dict[str, list] = {}
    for v in violations:
        rules.setdefault(v.rule, []).append(v)
    parts = []
    for rule, cases in rules.items():
        text = "; ".join(str(v) for v in cases[:per_rule])
        parts.append(text + (f" (and {len(cases) - per_rule} more {rule})" if len(cases) > per_rule else ""))
    return "; ".join(parts)


def recheck_plan(plan: Plan) -> Recheck:
    """Re-run the independent evaluator on `plan` against the book it was made from; PlanError names what it breaks.

    The book is read from summary.json's inputs (each file's sha256 checked:
    BookUnavailableError when one is missing or changed) with the policy and
    plan date summary.json records. Refused: every rule the evaluator finds
    broken, except what the plan inherited (a cap today's owners already
    break, with no more load than today: planner.evaluate.split_inherited) and,
    for a reassignment, the accounts it leaves unassigned and the changed-ARR
    cap (a leaver's accounts must move whatever it says), as the reassign
    verdict treats them; and every account or owner whose CRM fields differ
    from the book's (:func:`plan_matches_book`).
    """
    from planner.evaluate import evaluate, split_inherited

    book = _book_of(plan)
    reassign = plan.summary.get("kind") == "reassign"
    left = {r["account_id"] for r in plan.assignments if reassign and r["owner_type"] == "unassigned"}
    placement = {r["account_id"]: r["owner_id"] for r in plan.assignments if r["account_id"] not in left}
    ev = evaluate(book, placement)
    violations = [
        v for v in ev.violations
        if not (v.rule == "every_account_assigned_once" and v.subject in left)
        and not (reassign and v.rule == "changed_arr_within_cap")
    ]  # fmt: skip
    introduced, inherited = split_inherited(book, placement, violations)
    introduced += plan_matches_book(plan, book)
    if introduced:
        shown = _by_rule(introduced)
        raise PlanError(
            f"{plan.path}: plan {plan.plan_id} breaks {len(introduced)} rule check(s) when re-checked against the book "
            f"it was made from ({book.name}): {shown}. Expected a plan the independent evaluator accepts; a plan folder is not edited by "
            "hand -- change the book or the policy and solve again"
        )
    return Recheck(book.name, tuple(inherited))


# -- diff --------------------------------------------------------------------


@dataclass(frozen=True)
class Move:
    """An account whose owner differs between the two plans (ARR as plan B has it)."""

    account_id: str
    arr: float
    from_owner: str
    to_owner: str


@dataclass(frozen=True)
class OwnerDelta:
    """One owner's load in plan A and plan B."""

    owner_id: str
    owner_type: str
    name: str
    accounts_a: int
    accounts_b: int
    arr_a: float
    arr_b: float
    hours_a: float
    hours_b: float

    @property
    def accounts_delta(self) -> int:
        return self.accounts_b - self.accounts_a

    @property
    def arr_delta(self) -> float:
        return self.arr_b - self.arr_a

    @property
    def hours_delta(self) -> float:
        return self.hours_b - self.hours_a


@dataclass(frozen=True)
class PlanDiff:
    plan_a: str
    plan_b: str
    moved: tuple[Move, ...]  # in plan B's account order
    arr_moved: float
    only_in_a: tuple[str, ...]  # account ids plan B does not have
    only_in_b: tuple[str, ...]
    owners: tuple[OwnerDelta, ...]  # owners whose load changed, by owner_id

    def as_dict(self) -> dict:
        """Plain data (for --json output), deltas included."""
        out = asdict(self)
        for row, delta in zip(out["owners"], self.owners, strict=True):
            row.update(accounts_delta=delta.accounts_delta, arr_delta=delta.arr_delta, hours_delta=delta.hours_delta)
        return out


def _loads(plan: Plan) -> dict[str, tuple[int, float, float]]:
    """owner_id -> (accounts, ARR, hours) summed over the plan's assignments."""
    loads: dict[str, tuple[int, float, float]] = {}
    for row in plan.assignments:
        n, arr, hours = loads.get(row["owner_id"], (0, 0.0, 0.0))
        loads[row["owner_id"]] = (n + 1, arr + float(row["arr"]), hours + float(row["workload_hours"]))
    return loads


def _load_changed(a: tuple[int, float, float], b: tuple[int, float, float]) -> bool:
    """True when accounts differ, or ARR / hours differ by more than float summation noise."""
    return a[0] != b[0] or not math.isclose(a[1], b[1], abs_tol=1e-6) or not math.isclose(a[2], b[2], abs_tol=1e-6)


def _owner_label(owner_id: str, a: Plan, b: Plan) -> tuple[str, str]:
    row = b.owners.get(owner_id) or a.owners.get(owner_id) or {}
    return row.get("owner_type", ""), row.get("name", "")


def diff_plans(plan_a_dir: str | Path, plan_b_dir: str | Path) -> PlanDiff:
    """What changes when plan B replaces plan A: moved accounts, ARR moved, per-owner load deltas.

    Loads are summed from the assignments (not read from owners.csv) so the
    deltas always add up to the moves shown; hours are each plan's own
    workload estimate, which depends on the owner (pools work faster).
    """
    a, b = load_plan(plan_a_dir), load_plan(plan_b_dir)
    owner_in_a = {row["account_id"]: row["owner_id"] for row in a.assignments}
    ids_b = {row["account_id"] for row in b.assignments}
    moved = tuple(
        Move(row["account_id"], float(row["arr"]), owner_in_a[row["account_id"]], row["owner_id"])
        for row in b.assignments
        if row["account_id"] in owner_in_a and owner_in_a[row["account_id"]] != row["owner_id"]
    )
    loads_a, loads_b = _loads(a), _loads(b)
    owners = []
    for owner_id in sorted(loads_a.keys() | loads_b.keys()):
        la, lb = loads_a.get(owner_id, (0, 0.0, 0.0)), loads_b.get(owner_id, (0, 0.0, 0.0))
        if _load_changed(la, lb):
            owners.append(OwnerDelta(owner_id, *_owner_label(owner_id, a, b), la[0], lb[0], la[1], lb[1], la[2], lb[2]))
    return PlanDiff(
        plan_a=a.plan_id,
        plan_b=b.plan_id,
        moved=moved,
        arr_moved=sum(m.arr for m in moved),
        only_in_a=tuple(row["account_id"] for row in a.assignments if row["account_id"] not in ids_b),
        only_in_b=tuple(row["account_id"] for row in b.assignments if row["account_id"] not in owner_in_a),
        owners=tuple(owners),
    )

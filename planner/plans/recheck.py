"""Re-checking a plan folder against the book it was made from, with the independent evaluator.

Used when the ledger cannot vouch for a plan (a folder brought to a new
ledger, a draft export): the book is read again from summary.json's
``inputs`` (each file's sha256 checked), with the recorded policy and plan
date, and a plan that breaks a rule it did not inherit is refused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from planner.plans.folder import BookUnavailableError, Plan, PlanError


@dataclass(frozen=True)
class Recheck:
    """A plan the independent evaluator accepts again; what it kept from today's owners (not refused)."""

    book: str
    inherited: tuple  # evaluate.Violation: cap overloads today's owners already had, not made worse


def _cannot(plan: Plan, why: str) -> BookUnavailableError:
    return BookUnavailableError(
        f"{plan.path}: plan {plan.plan_id} cannot be re-checked against the book it was made from: {why}. Expected "
        'the book\'s files as they were when the plan was solved (summary.json "inputs"); put them back, or solve '
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
            raise _cannot(plan, 'summary.json "inputs" does not say where each table was read from')
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
            raise _cannot(
                plan,
                f"{path} has changed since the plan was made (sha256 {actual[:12]}..., the plan recorded {sha[:12]}...)",
            )
    if len(paths) == 1 and next(iter(paths)).suffix.lower() == ".xlsx":
        return next(iter(paths))
    folders = {p.parent for p in paths}
    if len(folders) != 1:
        raise _cannot(plan, f"its input files are in {len(folders)} folders, expected one book folder")
    return folders.pop()


def _map_file(plan: Plan, source: dict) -> Path:
    """The column map the plan's book was read through (--map), checked against the sha256 the plan recorded."""
    if not isinstance(source.get("path"), str):
        raise _cannot(plan, 'summary.json "inputs" does not say where the column map was read from')
    path = Path(source["path"])
    base = _base([path], plan)
    path = path if path.is_absolute() or base == Path.cwd() else base / path
    try:
        data = path.read_bytes()
    except OSError:
        raise _cannot(plan, f"the column map {path} is missing") from None
    if hashlib.sha256(data).hexdigest() != source.get("sha256"):
        raise _cannot(plan, f"the column map {path} has changed since the plan was made")
    return path


def _book_of(plan: Plan):
    """The Book the plan was made from, as the plan saw it (a reassignment's: leavers inactive, as of the effective date)."""
    from planner.errors import BookError
    from planner.io import load_book
    from planner.policy import PolicyError, policy_from_dict

    summary, where = plan.summary, plan.path / "summary.json"
    inputs = summary.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise _cannot(plan, 'summary.json records no input files ("inputs")')
    from planner.io import MAP_SOURCE

    maps = [i for i in inputs if isinstance(i, dict) and i.get("table") == MAP_SOURCE]
    root = _book_root(plan, [i for i in inputs if i not in maps])
    column_map = _map_file(plan, maps[0]) if maps else None
    try:
        policy = policy_from_dict(summary["policy"], source=str(summary.get("policy_source") or "summary.json"))
        as_of = dt.date.fromisoformat(summary["as_of"])
    except (PolicyError, KeyError, TypeError, ValueError) as exc:
        raise PlanError(f"{where}: expected the policy and plan date (as_of) the plan was solved with: {exc}") from None
    try:
        book = load_book(root, policy, as_of, column_map=column_map)
    except BookError as exc:
        first = next((f for f in exc.findings if f.severity == "error"), None)
        raise _cannot(plan, f"{root} no longer loads ({first})") from None
    now = [(s.table, s.sha256) for s in book.sources]
    then = [(i["table"], i["sha256"]) for i in inputs]
    if now != then:
        raise _cannot(
            plan, f"{root} now holds the tables {[t for t, _ in now]}, the plan was made from {[t for t, _ in then]}"
        )
    if summary.get("kind") == "reassign":
        from planner.models.reassign import Leave, book_without

        try:
            leaves = tuple(
                Leave(l["csm_id"], dt.date.fromisoformat(l["temporary_until"]) if l.get("temporary_until") else None)
                for l in summary["leavers"]
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise PlanError(f'{where}: expected "leavers" as [{{csm_id, temporary_until}}]: {exc}') from None
        book = book_without(book, leaves, as_of)
    return book


def _text(value) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def plan_matches_book(plan: Plan, book) -> list:
    """Violations where the plan's copy of what export sends (CRM ids, emails, previous owners) is not the book's.

    The evaluator checks who owns what; an export also reads each account's
    crm_id (and gainsight_id, hubspot_id) and previous owner from assignments.csv and each
    owner's email and CRM user ids from owners.csv, so a hand edit there would
    send accounts to another CRM record or user under an unchanged plan_id.
    """
    from planner.planning.evaluate import Violation

    out = []
    accounts = {r["account_id"]: r for r in book.accounts.to_dict("records")}
    columns = [c for c in ("crm_id", "gainsight_id", "hubspot_id") if c in book.accounts.columns]
    for row in plan.assignments:
        a = accounts.get(row["account_id"])
        if a is None:
            continue  # every_account_assigned_once reports it
        for column, book_column in [(c, c) for c in columns] + [("previous_owner", "current_owner")]:
            if column in row and row[column] != _text(a[book_column]):
                out.append(
                    Violation(
                        "plan_matches_book",
                        row["account_id"],
                        f"{column} {row[column]!r}, the book has {_text(a[book_column])!r}",
                    )
                )
    roster = (
        {r["csm_id"]: r for r in book.csms.to_dict("records")}
        | {r["pool_id"]: r for r in book.pools.to_dict("records")}
        | {r["program_id"]: r for r in book.programs.to_dict("records")}  # the digital program's CRM identity
    )
    for owner_id, o in plan.owners.items():
        r = roster.get(owner_id)
        if r is None:
            continue
        for column in ("email", "crm_user_id", "hubspot_owner_id"):
            if column in o and column in r and o[column] != _text(r[column]):
                out.append(
                    Violation(
                        "plan_matches_book",
                        owner_id,
                        f"owners.csv {column} {o[column]!r}, the book has {_text(r[column])!r}",
                    )
                )
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
    break, with no more load than today: planner.planning.evaluate.split_inherited),
    the accounts it leaves unassigned (a plan lists them with their reason: an
    account no owner may take, a reassignment's accounts nobody has room for)
    and, for a reassignment, the changed-ARR cap (a leaver's accounts must move
    whatever it says), as the plan's own verdict treats them; and every account or owner whose CRM fields differ
    from the book's (:func:`plan_matches_book`).
    """
    from planner.planning.evaluate import evaluate, split_inherited

    book = _book_of(plan)
    reassign = plan.summary.get("kind") == "reassign"
    left = {r["account_id"] for r in plan.assignments if r["owner_type"] == "unassigned"}
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

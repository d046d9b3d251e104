"""Reading a plan folder: its files, parsed and checked.

A plan folder is the output contract of ``planner solve`` (see
``planner/plan_contract.md``). Export and ``plans diff`` read it as text,
exactly as written -- ids are never parsed as numbers, so ``00123`` stays
``00123`` -- and check the few facts they rely on up front, so a damaged or
hand-edited plan fails with a clear message instead of producing a wrong
CRM load.

The rest of the plan's lifecycle lives beside this module: its id
(planner.plans.identity), re-checking it against its book
(planner.plans.recheck), comparing two plans (planner.plans.diff), and the
ledger (planner.plans.ledger).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

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
        raise PlanError(f'{path}: expected a non-empty "plan_id"')
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
            raise PlanError(
                f"{plan_dir}: expected a plan folder with {', '.join(PLAN_FILES)}; {name} is missing"
            ) from None
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
            raise PlanError(
                f"{path}, row {line}: account_id {account!r} repeats row {seen[account]}; expected one row per account"
            )
        seen[account] = line
        unassigned = row["owner_type"] == "unassigned" and not row["owner_id"]  # a reassignment left it unplaced
        if row["owner_id"] not in owners and not unassigned:
            raise PlanError(
                f"{path}, row {line}: owner_id {row['owner_id']!r} is not in owners.csv; expected every owner listed there"
            )
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
            raise PlanError(
                f"{plan_dir / 'owners.csv'}, row {line}: owner_id {row['owner_id']!r} repeats; expected one row per owner"
            )
        owners[row["owner_id"]] = row
    assignments = _parse_csv(plan_dir / "assignments.csv", data["assignments.csv"], ASSIGNMENT_COLUMNS)
    _check_assignments(plan_dir / "assignments.csv", assignments, owners)
    return Plan(plan_dir, summary, tuple(assignments), owners, _content_hashes(data))

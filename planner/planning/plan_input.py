"""A plan as a user gives it to be scored: a plan folder, or a spreadsheet with account_id and owner_id.

``planner evaluate BOOK PLAN`` scores any plan with the independent
evaluator. PLAN is either a folder written by ``planner solve`` /
``planner reassign`` (read with planner.plans.load_plan, which checks it), or
one table -- a .csv file or an .xlsx workbook (its sheet ``plan`` or
``assignments``, else its first sheet) -- whose columns ``account_id`` and
``owner_id`` say who owns what; other columns are ignored. A blank owner
leaves the account unassigned. Every problem is reported at once, naming
the file (and sheet), row and column, and nothing is guessed: an account
listed twice, or an id the book does not have, is an error.
"""

from __future__ import annotations

from pathlib import Path

from planner.errors import BookError, Finding

COLUMNS = ("account_id", "owner_id")
SHEETS = ("plan", "assignments")


def read_plan_input(path: str | Path, book) -> tuple[dict[str, str], str]:
    """(account_id -> owner_id for the accounts the plan gives an owner, a name for the plan)."""
    path = Path(path)
    if path.is_dir():
        from planner.plans import load_plan

        plan = load_plan(path)
        owners = {r["account_id"]: r["owner_id"] for r in plan.assignments if r["owner_id"]}
        return owners, plan.plan_id
    return _read_table(path, book), path.name


def _read_table(path: Path, book) -> dict[str, str]:
    from planner.io.read import read_table_file
    from planner.io.schema import probable_name

    label, rows = read_table_file(path, SHEETS)
    header = [h.strip() for h in rows[0]] if rows else []
    findings = []
    for name in COLUMNS:
        if name not in header:
            near = next((h for h in header if probable_name(h, COLUMNS) == name), None)
            got = f"got {near!r}; rename it to {name!r}" if near else "but the header row has no such column"
            findings.append(
                Finding("error", label, 1, name, f"Expected a column named {name!r}, {got}", "missing_column")
            )
    if findings:
        raise BookError(findings)
    a, o = header.index("account_id"), header.index("owner_id")
    known = set(book.accounts["account_id"])
    plan: dict[str, str] = {}
    first: dict[str, int] = {}
    for number, cells in enumerate(rows[1:], start=2):
        cells = cells + [""] * (len(header) - len(cells))
        account, owner = cells[a].strip(), cells[o].strip()
        if not account and not owner:
            continue
        if not account:
            findings.append(
                Finding(
                    "error", label, number, "account_id", "Expected an account id, got a blank cell", "missing_value"
                )
            )
        elif account not in known:
            findings.append(Finding("error", label, number, "account_id",
                                    f"Expected an account_id of the book, got {account!r}", "unknown_account"))  # fmt: skip
        elif account in first:
            findings.append(Finding("error", label, number, "account_id",
                                    f"Expected each account once, got {account!r} again (first in row {first[account]})",
                                    "duplicate_id"))  # fmt: skip
        else:
            first[account] = number
            if owner:
                plan[account] = owner
    if findings:
        raise BookError(findings)
    return plan

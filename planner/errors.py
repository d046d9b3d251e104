"""The planner's user-facing errors, and the findings about a user's input.

Every error a user can cause is a :class:`PlannerError`: its message says
what was expected, and its ``exit_code`` is how the command ends (the CLI
prints the message, never a traceback). The exit codes are the README's:

    0  the plan (or report, export, book) was written
    1  invalid input: book, policy, plan folder or ledger (nothing written)
    2  wrong command-line usage (nothing written)
    3  no plan: infeasible, with the reasons printed (nothing written)
    4  the output exists (use --force), overlaps an input, or cannot be written
    5  a plan was written, but some accounts have no owner in it (each listed with why and what would fix it)
    70 internal error: a bug in the planner (the traceback goes to a file)

Every finding names where it is (file, row, column) and what was expected, so
`planner validate` can print all of them at once.
"""

from __future__ import annotations

from dataclasses import dataclass

EXIT_OK = 0
EXIT_INPUT = 1
EXIT_USAGE = 2
EXIT_NO_PLAN = 3
EXIT_OUTPUT = 4
EXIT_UNPLACED = 5
EXIT_INTERNAL = 70


class PlannerError(Exception):
    """Base of every error the planner reports to a user: a message saying what was expected, and an exit code."""

    exit_code = EXIT_INPUT


class UsageError(PlannerError, ValueError):
    """Options that cannot be used together or take impossible values (exit 2)."""

    exit_code = EXIT_USAGE


class OutputError(PlannerError, OSError):
    """An output that cannot be written where asked: it overlaps an input, or the folder is not writable (exit 4)."""

    exit_code = EXIT_OUTPUT

    def __str__(self) -> str:  # OSError's own __str__ would print the errno tuple
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class Finding:
    severity: str  # "error" | "warning"
    file: str  # file name (accounts.csv) or workbook sheet (book.xlsx, sheet 'accounts'): see sheet_label
    row: int | None  # the row number a spreadsheet shows: header = 1, first record = 2
    column: str | None
    message: str  # "Expected ..., got ..." where it applies
    rule: str = ""  # short name of the check that fired (e.g. "duplicate_id")

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column:
            where += f", column {self.column!r}"
        return f"{self.severity}: {where}: {self.message}"


def sheet_label(workbook: str, sheet: str) -> str:
    """How a finding names one sheet of a workbook: ``book.xlsx, sheet 'accounts'``.

    In words, so that two tables of one workbook with the same columns (both have
    'region') never read alike, and nothing in it looks like markup.
    """
    return f"{workbook}, sheet {sheet!r}"


class BookError(PlannerError, ValueError):
    """The book cannot be planned; `findings` lists every problem found."""

    def __init__(self, findings: list[Finding]):
        self.findings = list(findings)
        errors = [f for f in self.findings if f.severity == "error"]
        head = f"{len(errors)} error(s) in the book"
        super().__init__(head + ":\n" + "\n".join(str(f) for f in errors))

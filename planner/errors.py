"""Findings about a user's input, and the error that carries them.

Every finding names where it is (file, row, column) and what was expected, so
`planner validate` can print all of them at once.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    severity: str  # "error" | "warning"
    file: str  # file name (accounts.csv) or workbook sheet (book.xlsx[accounts])
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


class BookError(ValueError):
    """The book cannot be planned; `findings` lists every problem found."""

    def __init__(self, findings: list[Finding]):
        self.findings = list(findings)
        errors = [f for f in self.findings if f.severity == "error"]
        head = f"{len(errors)} error(s) in the book"
        super().__init__(head + ":\n" + "\n".join(str(f) for f in errors))

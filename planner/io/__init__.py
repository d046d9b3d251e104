"""Load a book of business: read the tables, check them, build the Book.

A book is a folder of CSV files (accounts.csv, csms.csv, pools.csv,
locations.csv, relationships.csv), a folder of Parquet files with the same
stems, or one .xlsx workbook with a sheet per table. Only accounts and csms
are required. The columns each table takes, with their defaults, are listed
in planner.io.schema.TABLE_SPECS.

Every problem is collected before anything is refused, so a user fixes their
book in one pass instead of one error at a time: the checks that need typed
tables (the relationship graph's, the pins') also run on a book with errors,
on a best-effort copy of it (see best_effort), and report what they find there
unless a bad cell could be its cause.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

from planner.book import Book, Source
from planner.errors import BookError, Finding
from planner.io.normalize import normalize
from planner.io.read import RawBook, read_book
from planner.io.schema import TABLE_SPECS, clean_text
from planner.io.validate import bad_cells, pin_findings, validate_tables
from planner.policy import Policy, load_policy
from planner.team.graph import relationship_findings

__all__ = ["load_book", "validate_book"]


def validate_book(
    path: str | Path, policy: Policy | None = None, as_of: dt.date | None = None
) -> tuple[Book | None, list[Finding]]:
    """Every finding (errors and warnings) about the book at `path`, and the Book when there is no error.

    `policy` defaults to the default policy; `as_of`, the plan date, to today.
    """
    policy = load_policy() if policy is None else policy
    as_of = dt.date.today() if as_of is None else as_of
    raw, findings = read_book(path)
    findings += validate_tables(raw, policy)
    if not _has_error(findings):
        book = _build(raw, policy, as_of)
        # The relationship graph's and the pins' checks need the typed roster.
        findings += relationship_findings(book) + pin_findings(book)
        if not _has_error(findings):
            return book.with_(warnings=tuple(f for f in findings if f.severity == "warning")), findings
        return None, findings
    typed, whole = best_effort(raw, findings)
    book = _build(typed, policy, as_of)
    later = relationship_findings(book) + pin_findings(book)
    return None, findings + _not_caused_by_errors(later, findings, raw, whole)


def _has_error(findings: list[Finding]) -> bool:
    return any(f.severity == "error" for f in findings)


def _build(raw: RawBook, policy: Policy, as_of: dt.date) -> Book:
    frames, extras = normalize(raw, policy)
    return Book(
        **frames,
        policy=policy,
        as_of=as_of,
        sources=_sources(raw),
        extra_columns=extras,
        row_numbers={name: tuple(t.frame.index) for name, t in raw.tables.items()},
        name=raw.name,
    )


def best_effort(raw: RawBook, findings: list[Finding]) -> tuple[RawBook, set[str]]:
    """A copy of a book with errors that normalizes: only for running the checks on typed tables.

    Each cell an error points at is made blank (so it takes its default), except
    an id with a control character, which is cleaned (the id it probably is);
    a row left without its id is left out. Also returns the tables that are
    whole: read in full with their id column, or optional and absent. The Book
    itself is only ever built from a book without errors.
    """
    bad = bad_cells(findings)
    tables = {}
    for name, table in raw.tables.items():
        frame = table.frame.copy()
        for file, row, column in bad:
            if file == table.label and row in frame.index and column in frame.columns:
                frame.at[row, column] = ""
        for f in findings:
            if f.rule == "control_character" and f.severity == "error" and f.file == table.label:
                frame.at[f.row, f.column] = clean_text(table.frame.at[f.row, f.column])
        id_column = TABLE_SPECS[name].id_column
        if id_column:
            frame = frame[frame[id_column] != ""] if id_column in frame else frame.iloc[0:0]
        tables[name] = replace(table, frame=frame)
    whole = {
        name
        for name, spec in TABLE_SPECS.items()
        if name not in raw.incomplete
        and (
            name in raw.tables
            and (not spec.id_column or spec.id_column in raw.tables[name].frame)
            or name not in raw.tables
            and not spec.required
        )
    }
    return RawBook(raw.name, tables, raw.incomplete), whole


# The checks on typed tables that look up these tables: they need them whole (ids)
# or, for a pin's rules, without any error (every attribute of the owner counts).
NEEDS_WHOLE = {
    rule: ("accounts", "csms", "pools") for rule in ("dangling_id", "endpoint_mismatch", "owner_not_current")
}
NEEDS_CLEAN = {"pin_breaks_rules": ("csms", "pools", "locations")}


def _not_caused_by_errors(
    later: list[Finding], findings: list[Finding], raw: RawBook, whole: set[str]
) -> list[Finding]:
    """The findings of the checks on a best-effort book that no error already found could have caused.

    Left out: a finding on a cell that already has an error (blanking it caused
    it); a lookup in a table that is not whole, or not clean where it must be;
    a pin finding on an account row with an error.
    """
    bad = bad_cells(findings)
    errors = [f for f in findings if f.severity == "error"]
    erring_rows = {(f.file, f.row) for f in errors}
    labels = {name: t.label for name, t in raw.tables.items()}
    clean = {name for name in whole if not any(f.file == labels.get(name) for f in errors)}
    return [
        f
        for f in later
        if (f.file, f.row, f.column) not in bad
        and all(t in whole for t in NEEDS_WHOLE.get(f.rule, ()))
        and all(t in clean for t in NEEDS_CLEAN.get(f.rule, ()))
        and not (f.rule in NEEDS_CLEAN and (f.file, f.row) in erring_rows)
    ]


def load_book(path: str | Path, policy: Policy | None = None, as_of: dt.date | None = None) -> Book:
    """The Book at `path`; raises BookError carrying every finding when any of them is an error."""
    book, findings = validate_book(path, policy, as_of)
    if book is None:
        raise BookError(findings)
    return book


def _sources(raw: RawBook) -> tuple[Source, ...]:
    """One Source per table read, with the hash of its file (of the whole workbook for .xlsx)."""
    return tuple(Source(t.name, str(t.path), t.sha256, len(t.frame)) for t in raw.tables.values())

"""Load a book of business: read the tables, check them, build the Book.

A book is a folder of CSV files (accounts.csv, csms.csv, pools.csv,
locations.csv, relationships.csv), a folder of Parquet files with the same
stems, or one .xlsx workbook with a sheet per table. Only accounts and csms
are required. The columns each table takes, with their defaults, are listed
in planner.io.schema.TABLE_SPECS.

Every problem is collected before anything is refused, so a user fixes their
book in one pass instead of one error at a time.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from planner.book import Book, Source
from planner.errors import BookError, Finding
from planner.graph import relationship_findings
from planner.io.normalize import normalize
from planner.io.read import RawBook, read_book
from planner.io.validate import validate_tables
from planner.policy import Policy, load_policy

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
    if any(f.severity == "error" for f in findings):
        return None, findings
    frames, extras = normalize(raw, policy)
    book = Book(
        **frames,
        policy=policy,
        as_of=as_of,
        sources=_sources(raw),
        extra_columns=extras,
        row_numbers={name: tuple(t.frame.index) for name, t in raw.tables.items()},
        name=raw.name,
    )
    # The relationship graph's checks need the typed roster (which ids are CSMs, accounts).
    findings += relationship_findings(book)
    if any(f.severity == "error" for f in findings):
        return None, findings
    return book.with_(warnings=tuple(f for f in findings if f.severity == "warning")), findings


def load_book(path: str | Path, policy: Policy | None = None, as_of: dt.date | None = None) -> Book:
    """The Book at `path`; raises BookError carrying every finding when any of them is an error."""
    book, findings = validate_book(path, policy, as_of)
    if book is None:
        raise BookError(findings)
    return book


def _sources(raw: RawBook) -> tuple[Source, ...]:
    """One Source per table read, with the hash of its file (of the whole workbook for .xlsx)."""
    return tuple(Source(t.name, str(t.path), t.sha256, len(t.frame)) for t in raw.tables.values())

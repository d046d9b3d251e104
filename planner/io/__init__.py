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
from planner.io.colmap import EMPTY, ColumnMap, apply_columns, load_map
from planner.io.normalize import normalize
from planner.io.owners import match_owners
from planner.io.read import RawBook, read_book
from planner.io.schema import TABLE_SPECS, clean_text
from planner.io.validate import bad_cells, pin_findings, validate_tables
from planner.io.values import convert_values
from planner.policy import Policy, load_policy
from planner.team.graph import relationship_findings

__all__ = ["MAP_SOURCE", "ColumnMap", "load_book", "load_map", "validate_book", "validate_raw"]


def validate_book(
    path: str | Path,
    policy: Policy | None = None,
    as_of: dt.date | None = None,
    column_map: ColumnMap | str | Path | None = None,
) -> tuple[Book | None, list[Finding]]:
    """Every finding (errors, warnings and notes) about the book at `path`, and the Book when there is no error.

    `policy` defaults to the default policy; `as_of`, the plan date, to today.
    `column_map` (a ColumnMap or a map file, see planner.io.colmap) is applied
    to the tables as they are read: columns renamed, amounts and dates read
    under its settings; owners named by crm_user_id, email or name are matched
    to their ids with or without a map (planner.io.owners). A map file is one
    of the book's sources (so a plan records it, and its plan_id covers it).
    Findings on a mapped column name the file's column.
    """
    policy = load_policy() if policy is None else policy
    as_of = dt.date.today() if as_of is None else as_of
    cmap = _column_map(column_map)
    raw, findings = read_book(path)
    return validate_raw(raw, findings, policy, as_of, cmap)


def validate_raw(
    raw: RawBook, findings: list[Finding], policy: Policy, as_of: dt.date, cmap: ColumnMap = EMPTY
) -> tuple[Book | None, list[Finding]]:
    """validate_book on tables already read (`findings`: what reading them found), e.g. by `planner import`."""
    findings = list(findings)
    raw, more = map_tables(raw, cmap)
    findings += more
    raw, more = convert_values(raw, cmap)
    findings += more
    raw, more = match_owners(raw, cmap, policy)
    findings += more
    early = bad_cells(findings)
    findings += [f for f in validate_tables(raw, policy) if (f.file, f.row, f.column) not in early]
    if not _has_error(findings):
        book = _build(raw, policy, as_of, cmap)
        # The relationship graph's and the pins' checks need the typed roster.
        findings += relationship_findings(book) + pin_findings(book)
        if not _has_error(findings):
            shown = _file_columns(findings, raw)
            return book.with_(warnings=tuple(f for f in shown if f.severity != "error")), shown
        return None, _file_columns(findings, raw)
    typed, whole = best_effort(raw, findings)
    book = _build(typed, policy, as_of, cmap)
    later = relationship_findings(book) + pin_findings(book)
    return None, _file_columns(findings + _not_caused_by_errors(later, findings, raw, whole), raw)


def _column_map(column_map: ColumnMap | str | Path | None) -> ColumnMap:
    if column_map is None:
        return EMPTY
    return column_map if isinstance(column_map, ColumnMap) else load_map(column_map)


def map_tables(raw: RawBook, cmap: ColumnMap) -> tuple[RawBook, list[Finding]]:
    """Each table with the map's columns under the planner's names (a no-op without a map)."""
    if not cmap.tables:
        return raw, []
    tables, findings = {}, []
    for name, table in raw.tables.items():
        applied = apply_columns(table.frame, name, table.label, cmap, TABLE_SPECS[name].names)
        findings += applied.findings
        tables[name] = replace(table, frame=applied.frame, mapped=tuple(applied.sources.items()))
    return RawBook(raw.name, tables, raw.incomplete), findings


def _file_columns(findings: list[Finding], raw: RawBook) -> list[Finding]:
    """Findings on a mapped column name the file's column, as the user sees it ('AnnualRevenue', not 'arr')."""
    renamed = {(t.label, target): source for t in raw.tables.values() for target, source in t.mapped}
    if not renamed:
        return findings
    return [replace(f, column=renamed.get((f.file, f.column), f.column)) if f.column else f for f in findings]


def _has_error(findings: list[Finding]) -> bool:
    return any(f.severity == "error" for f in findings)


def _build(raw: RawBook, policy: Policy, as_of: dt.date, cmap: ColumnMap = EMPTY) -> Book:
    frames, extras = normalize(raw, policy)
    return Book(
        **frames,
        policy=policy,
        as_of=as_of,
        sources=_sources(raw) + _map_source(cmap),
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


def load_book(
    path: str | Path,
    policy: Policy | None = None,
    as_of: dt.date | None = None,
    column_map: ColumnMap | str | Path | None = None,
) -> Book:
    """The Book at `path` (read through `column_map`); raises BookError carrying every finding when any is an error."""
    book, findings = validate_book(path, policy, as_of, column_map)
    if book is None:
        raise BookError(findings)
    return book


def _sources(raw: RawBook) -> tuple[Source, ...]:
    """One Source per table read, with the hash of its file (of the whole workbook for .xlsx)."""
    return tuple(Source(t.name, str(t.path), t.sha256, len(t.frame)) for t in raw.tables.values())


MAP_SOURCE = "column_map"  # the Source.table of a map file: a plan's inputs hold it beside the tables


def _map_source(cmap: ColumnMap) -> tuple[Source, ...]:
    """The map file as one of the book's sources (rows: the columns it maps), when a file was used."""
    if not cmap.path or not cmap.sha256:
        return ()
    return (Source(MAP_SOURCE, str(cmap.path), cmap.sha256, sum(len(e) for e in cmap.tables.values())),)

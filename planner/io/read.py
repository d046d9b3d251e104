"""Read a book's tables as text, exactly as the user wrote them.

Nothing is typed here: "NA" stays the region NA (not a missing value), "00123"
keeps its zeros, and every cell is a string ('' when blank). Typed cells of an
.xlsx workbook or a Parquet file are turned into the text a user would have
typed in a CSV, so the three formats then go through the same checks.

Every problem that stops a table from being read becomes a Finding naming the
file and, where there is one, the row a spreadsheet shows (header = 1, first
record = 2). A frame's index *is* that row number, so later checks can name
rows without bookkeeping. Surrounding spaces are dropped from the columns the
planner reads; extra columns are carried exactly.

CSV files are parsed with the csv module rather than pandas.read_csv because
read_csv stops at the first over-long row, silently pads short ones and drops
blank lines (shifting every later row number); here each ragged row is
reported with its own row number and the text still reaches pandas unchanged
(dtype=str, blanks as '').
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import math
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pyarrow
import pyarrow.parquet as pq
from openpyxl.utils.exceptions import InvalidFileException

from planner.errors import Finding, sheet_label
from planner.io.schema import TABLE_SPECS, probable_name

DELIMITER_NAMES = {";": "';'-separated", "\t": "tab-separated", "|": "'|'-separated"}
FOLDER_SUFFIXES = (".csv", ".parquet")
# Files in a book folder that look like a table someone meant the planner to read.
TABLE_LIKE_SUFFIXES = (".csv", ".parquet", ".pq", ".tsv", ".txt", ".xlsx", ".xls")


@dataclass(frozen=True)
class RawTable:
    """One table as read: text cells ('' = blank), index = spreadsheet row number."""

    name: str
    label: str  # how findings name it: accounts.csv, book.xlsx, sheet 'accounts' (see sheet_label)
    path: Path
    sha256: str
    frame: pd.DataFrame
    mapped: tuple[tuple[str, str], ...] = ()  # (planner column, the file's column) read through a column map


@dataclass(frozen=True)
class RawBook:
    """The tables that could be read, and which tables are present but not read in full.

    A table in `incomplete` (unreadable, or rows dropped as ragged) cannot serve as
    a reference: checking owners against half a roster would only add false findings.
    """

    name: str
    tables: dict[str, RawTable]
    incomplete: frozenset[str]


class _Unreadable(Exception):
    """A table that cannot be read at all; carries the one finding that says why."""

    def __init__(self, finding: Finding):
        super().__init__(finding.message)
        self.finding = finding


def read_book(path: str | Path) -> tuple[RawBook, list[Finding]]:
    """Read every table of the book at `path` (a folder or an .xlsx workbook)."""
    path = Path(path)
    try:
        if path.is_dir():
            return _read_folder(path)
        if path.suffix.lower() == ".xlsx" and path.is_file():
            return _read_workbook(path)
    except _Unreadable as exc:
        return RawBook(path.stem or "book", {}, frozenset()), [exc.finding]
    except OSError as exc:  # e.g. no permission to look into the folder
        return RawBook(path.stem or "book", {}, frozenset()), [_unreadable(str(path), exc)]
    return RawBook(path.stem or "book", {}, frozenset()), [_not_a_book(path)]


def _unreadable(label: str, exc: OSError) -> Finding:
    """The error for a file the system would not let us read, with the system's reason."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    message = f"Expected a file the planner can read, but reading it failed: {reason}"
    return Finding("error", label, None, None, message, "unreadable_file")


def _read_bytes(file: Path, label: str) -> bytes:
    """The bytes of one table file; a folder or an unreadable file raises _Unreadable naming it."""
    try:
        if file.is_dir():
            message = f"Expected a file, got a folder named {file.name!r}"
            raise _Unreadable(Finding("error", label, None, None, message, "unreadable_file"))
        return file.read_bytes()
    except OSError as exc:
        raise _Unreadable(_unreadable(label, exc)) from None


def _not_a_book(path: Path) -> Finding:
    if not path.exists():
        got = "but it does not exist"
    elif path.suffix.lower() in FOLDER_SUFFIXES:
        got = f"got a single {path.suffix} file; put it in a folder as {path.parent.name or '.'}/accounts{path.suffix.lower()} etc."
    else:
        got = f"got {path.name!r}"
    message = f"Expected a folder of CSV or Parquet files, or an .xlsx workbook, {got}"
    return Finding("error", str(path), None, None, message, "not_a_book")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- a folder of CSV / Parquet files ---------------------------------------------


def _read_folder(folder: Path) -> tuple[RawBook, list[Finding]]:
    tables: dict[str, RawTable] = {}
    incomplete: set[str] = set()
    findings: list[Finding] = []
    entries = {p.name: p for p in folder.iterdir()}
    read_names = {f"{name}{suffix}" for name in TABLE_SPECS for suffix in FOLDER_SUFFIXES}
    strays = _near_misses({n: Path(n).stem for n in entries if _looks_like_a_table(n) and n not in read_names})
    for name, spec in TABLE_SPECS.items():
        files = [entries[f"{name}{suffix}"] for suffix in FOLDER_SUFFIXES if f"{name}{suffix}" in entries]
        if not files:
            if spec.required:
                message = f"Expected {name}.csv (or {name}.parquet) in the folder {folder.name!r}, but there is none"
                findings.append(
                    Finding("error", f"{name}.csv", None, None, message + _meant(strays, name), "missing_table")
                )
            continue
        if len(files) > 1:
            message = f"Expected one file for the {name} table, found {files[0].name} and {files[1].name}"
            findings.append(Finding("error", files[0].name, None, None, message, "ambiguous_table"))
            incomplete.add(name)
            continue
        file = files[0]
        try:
            data = _read_bytes(file, file.name)
            if not spec.required and _blank(data):
                findings.append(_absent_note(name, file.name, "is empty (0 bytes)" if not data else "holds no text"))
                continue
            rows = _csv_rows(data, file.name) if file.suffix == ".csv" else _parquet_rows(data, file.name)
        except _Unreadable as exc:
            findings.append(exc.finding)
            incomplete.add(name)
            continue
        frame, table_findings = table_from_rows(name, file.name, rows)
        findings += table_findings
        if frame is None or any(f.severity == "error" for f in table_findings):
            incomplete.add(name)
        if frame is not None:
            tables[name] = RawTable(name, file.name, file, sha256(data), frame)
    present = {n for n in TABLE_SPECS if any(f"{n}{s}" in entries for s in FOLDER_SUFFIXES)}
    for stray, table in strays.items():
        if table in present or TABLE_SPECS[table].required:  # a required table's error already names it
            continue
        expected = f"Expected the {table} table in {table}.csv (or {table}.parquet)"
        message = f"{expected}, got {stray!r}, which is NOT read; rename it to {table}.csv if it is that table"
        findings.append(Finding("warning", stray, None, None, message, "near_miss_name"))
    return RawBook(folder.name, tables, frozenset(incomplete)), findings


def _blank(data: bytes) -> bool:
    """A file with no text at all: 0 bytes, or only a byte-order mark and white space."""
    body = data[len(codecs.BOM_UTF8) :] if data.startswith(codecs.BOM_UTF8) else data
    return not body.strip()


def _absent_note(table: str, label: str, why: str) -> Finding:
    """An optional table given as an empty file is no table: read as absent, and said once."""
    message = f"The optional {table} table {why}: read as absent (the book has no {table})"
    return Finding("note", label, None, None, message, "empty_optional_table")


def _looks_like_a_table(name: str) -> bool:
    """A file name that may hold a table (not a lock or temp file of a spreadsheet program)."""
    return not name.startswith((".", "~$")) and Path(name).suffix.lower() in TABLE_LIKE_SUFFIXES


def _near_misses(keys: dict[str, str]) -> dict[str, str]:
    """Each name that probably means a table of the book -> that table; `keys` maps a name to the part compared.

    The compared part is a file's stem or a sheet's title: 'relationship.csv' and a
    sheet 'Relationship' both mean relationships; 'notes.csv' means nothing.
    """
    tables = list(TABLE_SPECS)
    out = {}
    for name, key in sorted(keys.items()):
        table = key if key in TABLE_SPECS else probable_name(key, tables)
        if table is not None:
            out[name] = table
    return out


def _meant(strays: dict[str, str], table: str) -> str:
    """ " (got 'account.csv', ...)" for a missing table that a near-miss file name probably is, else ''."""
    names = [n for n, t in strays.items() if t == table]
    return f" (got {names[0]!r}, which is NOT read; rename it to {table}.csv if it is that table)" if names else ""


def _csv_rows(data: bytes, label: str) -> list[list[str]]:
    text = _decode(data, label)
    reader = csv.reader(io.StringIO(text, newline=""))
    # No cell can be longer than the file, so the csv module's own cap (128 KiB,
    # reported as a parse error of the whole line) never applies; the loader's
    # documented maximum (schema.MAX_CELL_CHARS) names the row and the column.
    limit = csv.field_size_limit()
    csv.field_size_limit(min(max(limit, len(text) + 1), 2**31 - 1))
    try:
        return list(reader)
    except csv.Error as exc:
        message = f"Expected readable CSV text; line {reader.line_num} could not be parsed ({exc})"
        raise _Unreadable(Finding("error", label, reader.line_num, None, message, "unreadable_file")) from None
    finally:
        csv.field_size_limit(limit)


def _decode(data: bytes, label: str) -> str:
    """UTF-8 text with or without a byte-order mark; anything else names the line with bad bytes."""
    body = data[len(codecs.BOM_UTF8) :] if data.startswith(codecs.BOM_UTF8) else data
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = body.count(b"\n", 0, exc.start) + 1
        bad = body[exc.start : exc.end]
        shown = bad.decode("cp1252", errors="replace")
        message = (
            f"Expected UTF-8 text, e.g. re-save as 'CSV UTF-8'; line {line} has bytes that are not UTF-8: "
            f"{bad.hex(' ').upper()} (Windows-1252 would read them as {shown!r})"
        )
        raise _Unreadable(Finding("error", label, line, None, message, "bad_encoding")) from None


def _parquet_rows(data: bytes, label: str) -> list[list[str]]:
    try:
        table = pq.read_table(io.BytesIO(data))
    except (pyarrow.ArrowException, OSError) as exc:
        message = f"Expected a Parquet file, but it could not be read ({exc})"
        raise _Unreadable(Finding("error", label, None, None, message, "unreadable_file")) from None
    index_columns = _pandas_index_columns(table)
    keep = [i for i, n in enumerate(table.column_names) if n not in index_columns]
    header = [str(table.column_names[i]) for i in keep]
    columns = [table.column(i).to_pylist() for i in keep]
    return [header] + [[cell_text(v) for v in record] for record in zip(*columns)]


def _pandas_index_columns(table: pyarrow.Table) -> set[str]:
    """Columns pandas stored only to rebuild a DataFrame index (not user data)."""
    meta = table.schema.pandas_metadata or {}
    return {c for c in meta.get("index_columns", []) if isinstance(c, str)}


# -- an .xlsx workbook -------------------------------------------------------------


def _read_workbook(path: Path) -> tuple[RawBook, list[Finding]]:
    data = _read_bytes(path, path.name)
    digest = sha256(data)
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        message = f"Expected an Excel .xlsx workbook, but it could not be opened ({exc})"
        return RawBook(path.stem, {}, frozenset()), [
            Finding("error", path.name, None, None, message, "unreadable_file")
        ]
    try:
        sheets = {ws.title.strip().lower(): ws for ws in workbook.worksheets}
        titles = {ws.title.strip().lower(): ws.title for ws in workbook.worksheets}
        strays = _near_misses({key: key for key in sheets if key not in TABLE_SPECS})
        tables: dict[str, RawTable] = {}
        incomplete: set[str] = set()
        findings: list[Finding] = []
        for name, spec in TABLE_SPECS.items():
            label = sheet_label(path.name, name)
            if name not in sheets:
                if spec.required:
                    message = f"Expected a sheet named {name!r} in {path.name}, but there is none"
                    meant = [titles[t] for t, table in strays.items() if table == name]
                    if meant:
                        message += (
                            f" (got a sheet {meant[0]!r}, which is NOT read; rename it to {name!r} if it is that table)"
                        )
                    findings.append(Finding("error", label, None, None, message, "missing_table"))
                continue
            rows = [[cell_text(v) for v in row] for row in sheets[name].iter_rows(min_row=1, values_only=True)]
            if not spec.required and not any(c.strip() for r in rows for c in r):
                findings.append(_absent_note(name, label, "is empty"))
                continue
            frame, table_findings = table_from_rows(name, label, rows)
            findings += table_findings
            if frame is None or any(f.severity == "error" for f in table_findings):
                incomplete.add(name)
            if frame is not None:
                tables[name] = RawTable(name, label, path, digest, frame)
        for stray, table in strays.items():
            if table in sheets or TABLE_SPECS[table].required:  # a required table's error already names it
                continue
            message = (
                f"Expected the {table} table in a sheet named {table!r}, got a sheet {titles[stray]!r}, "
                f"which is NOT read; rename it to {table!r} if it is that table"
            )
            findings.append(
                Finding("warning", sheet_label(path.name, titles[stray]), None, None, message, "near_miss_name")
            )
    finally:
        workbook.close()
    return RawBook(path.stem, tables, frozenset(incomplete)), findings


def read_table_file(path: str | Path, sheets: tuple[str, ...] = ()) -> tuple[str, list[list[str]]]:
    """(label, rows of text) of one table given on its own: a CSV file, or one sheet of an .xlsx workbook.

    For a workbook, the first sheet whose name is in `sheets` (case-insensitive),
    else the first sheet. Used for inputs that are one table, such as a plan
    made in a spreadsheet (``planner evaluate BOOK PLAN``). Raises BookError
    with the one finding that says why it cannot be read.
    """
    from planner.errors import BookError

    path = Path(path)
    try:
        data = _read_bytes(path, path.name)
        if path.suffix.lower() == ".xlsx":
            return _one_sheet(path, data, sheets)
        if path.suffix.lower() in (".csv", ".txt"):
            return path.name, _csv_rows(data, path.name)
    except _Unreadable as exc:
        raise BookError([exc.finding]) from None
    message = f"Expected a .csv file or an .xlsx workbook, got {path.name!r}"
    raise BookError([Finding("error", path.name, None, None, message, "not_a_table")])


def _one_sheet(path: Path, data: bytes, sheets: tuple[str, ...]) -> tuple[str, list[list[str]]]:
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        message = f"Expected an Excel .xlsx workbook, but it could not be opened ({exc})"
        raise _Unreadable(Finding("error", path.name, None, None, message, "unreadable_file")) from None
    try:
        by_name = {ws.title.strip().lower(): ws for ws in workbook.worksheets}
        ws = next((by_name[s] for s in sheets if s in by_name), workbook.worksheets[0] if workbook.worksheets else None)
        if ws is None:
            raise _Unreadable(
                Finding("error", path.name, None, None, "Expected a workbook with a sheet, got none", "empty_file")
            )
        return sheet_label(path.name, ws.title), [[cell_text(v) for v in row] for row in ws.iter_rows(values_only=True)]
    finally:
        workbook.close()


def cell_text(value: Any) -> str:
    """The text a user would have typed for a typed cell (xlsx, Parquet): 1200.0 -> '1200', dates ISO."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        midnight = value.time() == dt.time() and value.tzinfo is None
        return value.date().isoformat() if midnight else value.isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


# -- rows of text -> a frame --------------------------------------------------------


def table_from_rows(table: str, label: str, rows: list[list[str]]) -> tuple[pd.DataFrame | None, list[Finding]]:
    """A text frame from a header row and records; None when there is no usable header."""
    header = [h.strip() for h in rows[0]] if rows else []
    while header and not header[-1]:
        header.pop()
    if not header:
        return None, [_empty_file(table, label, bool(rows))]
    if len(header) == 1:
        delimiter = next((d for d in DELIMITER_NAMES if d in header[0]), None)
        if delimiter:
            message = (
                f"Expected comma-separated values; this file looks {DELIMITER_NAMES[delimiter]} "
                "(re-save it as 'CSV UTF-8 (Comma delimited)')"
            )
            return None, [Finding("error", label, 1, None, message, "wrong_delimiter")]
    keep = _kept_positions(header)
    records, numbers, ragged = [], [], []
    for number, cells in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in cells):
            continue
        got = _ragged_width(cells, len(header))
        if got is not None:
            message = f"Expected {len(header)} values (one per header column), got {got}"
            ragged.append(Finding("error", label, number, None, message, "ragged_row"))
            continue
        records.append([cells[i] for i in keep])
        numbers.append(number)
    findings = _header_findings(label, header) + ragged
    spec = TABLE_SPECS[table]
    if spec.required and not records and not ragged:
        message = f"Expected at least one {spec.noun}, got only a header row"
        findings.append(Finding("error", label, None, None, message, "no_records"))
    elif not records and not ragged:
        message = f"The optional {table} table has a header row but no rows: the book has no {table}"
        findings.append(Finding("note", label, None, None, message, "header_only_table"))
    frame = pd.DataFrame(records, columns=[header[i] for i in keep], index=pd.Index(numbers, name="row"), dtype=str)
    return _strip_spec_columns(table, frame), findings


def _strip_spec_columns(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Drop surrounding spaces in the columns the planner reads (' csm_1' is csm_1); extras stay exact."""
    known = [c for c in frame.columns if c in TABLE_SPECS[table].names]
    return frame.assign(**{c: frame[c].str.strip() for c in known})


def _ragged_width(cells: list[str], expected: int) -> int | None:
    """The value count to report when a row does not fit the header, else None.

    Blank cells beyond the header are padding (spreadsheets export them), not data.
    """
    if len(cells) < expected:
        return len(cells)
    width = len(cells)
    while width > expected and not cells[width - 1].strip():
        width -= 1
    return width if width > expected else None


def _empty_file(table: str, label: str, has_rows: bool) -> Finding:
    example = ", ".join(c.name for c in TABLE_SPECS[table].columns if c.required)
    got = "got a blank first row" if has_rows else "got an empty file"
    message = f"Expected a header row naming the columns (e.g. {example}), {got}"
    return Finding("error", label, 1 if has_rows else None, None, message, "empty_file")


def _header_findings(label: str, header: list[str]) -> list[Finding]:
    """Blank and repeated column names; the frame keeps only the first of each name."""
    findings = []
    seen: dict[str, int] = {}
    for position, name in enumerate(header, start=1):
        if not name:
            message = f"Expected a name in every header cell, got a blank one in column {position}"
            findings.append(Finding("error", label, 1, None, message, "blank_column_name"))
        elif name in seen:
            message = f"Expected each column name once, got {name!r} in columns {seen[name]} and {position}"
            findings.append(Finding("error", label, 1, name, message, "duplicate_column"))
        else:
            seen[name] = position
    return findings


def _kept_positions(header: list[str]) -> list[int]:
    first: dict[str, int] = {}
    for position, name in enumerate(header):
        if name:
            first.setdefault(name, position)
    return sorted(first.values())

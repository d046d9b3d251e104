"""Check a book's text tables against the column specs and against each other.

Per-column checks run in pandera on the raw text (every check is a test of a
string, e.g. "parses as a number >= 0"), so one bad cell gives one finding
instead of a coercion error that hides the rest; ``lazy=True`` collects them
all. Checks that look across rows or tables are small functions below, one
per rule, each skipping quietly when the table or column it needs is absent
(that absence is already a finding of its own).
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pandera.pandas as pa

from planner.errors import Finding
from planner.io.colmap import map_line
from planner.io.read import RawBook, RawTable
from planner.io.schema import (
    CONTROL_PATTERN,
    CRM_ALIASES,
    IMPORT_ONLY,
    MAX_CELL_CHARS,
    READ_EXTRAS,
    TABLE_SPECS,
    ColumnSpec,
    ListOf,
    Text,
    clean_text,
    control_characters,
    control_name,
    name_key,
    parse_number,
    probable_name,
)
from planner.policy import Policy

SHOWN_CHARS = 60  # a longer cell is quoted in a message by its first characters and its length


def validate_tables(raw: RawBook, policy: Policy) -> list[Finding]:
    """Every finding about the tables that could be read: column checks first, then cross checks.

    A cross check sees a cell that failed its column check as it is; what it
    would say about that cell is left out (the cell already has its finding).
    """
    findings: list[Finding] = []
    for table in raw.tables.values():
        findings += column_findings(table, policy) + near_miss_columns(table)
    bad = bad_cells(findings)
    for check in CROSS_CHECKS:
        findings += [f for f in check(raw, policy) if (f.file, f.row, f.column) not in bad]
    return findings


def bad_cells(findings: list[Finding]) -> set[tuple[str, int | None, str | None]]:
    """(file, row, column) of every cell an error finding points at."""
    return {(f.file, f.row, f.column) for f in findings if f.severity == "error" and f.row and f.column}


# -- per-column checks (pandera) -----------------------------------------------------


def table_schema(table: str, policy: Policy) -> pa.DataFrameSchema:
    """The pandera schema of one table's text: required columns, blanks, and each column's kind."""
    columns = {
        c.name: pa.Column(checks=_column_checks(c, policy), required=c.required) for c in TABLE_SPECS[table].columns
    }
    return pa.DataFrameSchema(columns, name=table, strict=False)


def _column_checks(spec: ColumnSpec, policy: Policy) -> list[pa.Check]:
    checks = []
    if spec.required:
        checks.append(
            pa.Check(lambda text: text != "", element_wise=True, name=spec.blank_rule, error=spec.blank_expected)
        )
    for check in spec.kind.checks(policy):
        checks.append(pa.Check(_blank_or(check.accepts), element_wise=True, name=check.rule, error=check.expected))
    return checks


def _blank_or(accepts: Callable[[str], bool]) -> Callable[[str], bool]:
    """A blank cell is the default's business (or the required check's), never a format error;
    an over-long cell has its one finding from cell_findings."""
    return lambda text: text == "" or len(text) > MAX_CELL_CHARS or accepts(text)


def column_findings(table: RawTable, policy: Policy) -> list[Finding]:
    """One finding per failing cell or missing column of `table`, in row order."""
    schema = table_schema(table.name, policy)
    findings = cell_findings(table)
    try:
        schema.validate(table.frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        findings += [_finding(table, schema, case) for case in exc.failure_cases.itertuples(index=False)]
    names = TABLE_SPECS[table.name].names
    order = {name: i for i, name in enumerate(names)}
    return sorted(findings, key=lambda f: (f.row or 0, order.get(f.column, len(names))))


def _is_text(spec: ColumnSpec) -> bool:
    """A column of free text (or a list of it): the only kind whose check accepts control characters."""
    return isinstance(spec.kind, Text) or (isinstance(spec.kind, ListOf) and isinstance(spec.kind.item, Text))


def cell_findings(table: RawTable) -> list[Finding]:
    """Checks of any cell, whatever its column's kind: its length, and control characters in text.

    A cell of a column the planner reads holds at most MAX_CELL_CHARS characters.
    A control character (a NUL, a line break, ...) is an error in an id, and a
    warning in text, which the plan gets without it (see schema.clean_text). In
    an extra column it is a warning too, but the column is kept exactly as given
    (a line break there is no finding: notes have them). Other kinds (numbers,
    dates, ...) report such a cell through their own check.
    """
    specs = {c.name: c for c in TABLE_SPECS[table.name].columns}
    findings = []
    for column in table.frame.columns:
        spec, cells = specs.get(column), table.frame[column]
        if spec is not None:
            lengths = cells.str.len()
            for row, text in cells[lengths > MAX_CELL_CHARS].items():
                message = (
                    f"Expected at most {MAX_CELL_CHARS:,} characters in a cell (Excel's limit for one cell), "
                    f"got {len(text):,} characters starting {text[:SHOWN_CHARS]!r}"
                )
                findings.append(Finding("error", table.label, int(row), column, message, "too_long"))
            cells = cells[lengths <= MAX_CELL_CHARS]
            if not _is_text(spec):
                continue
        suspects = cells[cells.str.contains(CONTROL_PATTERN, regex=True)]
        for row, text in suspects.items():
            chars = control_characters(text)
            if spec is None:
                chars = [c for c in chars if c not in "\r\n"]
                if not chars:
                    continue
            what = ", ".join(control_name(c) for c in chars)
            if spec is None:
                severity, expected, after = "warning", "text", "; the extra column is kept exactly as given"
            elif spec.identifier:
                severity, expected, after = "error", "an id", ""
            else:
                severity, expected = "warning", "text"
                after = "; the plan gets the text without them" + (
                    " (a line break becomes a space)" if {"\n", "\r"} & set(chars) else ""
                )
            message = f"Expected {expected} without control characters, got {shown(text)} with {what}{after}"
            findings.append(Finding(severity, table.label, int(row), column, message, "control_character"))
    return findings


def near_miss_columns(table: RawTable) -> list[Finding]:
    """A column whose name is a near miss of one the planner reads is NOT read: say which it probably is.

    A near miss is a misspelling ('pin_ownr') or a CRM's name for the column
    ('OwnerId', 'Health Score': schema.CRM_ALIASES); the warning names the
    column and the map line that would read it. A near miss of a required
    column is left to its missing_column error (which names it); a column
    with no documented name close to it is the user's own. A CRM field that
    only ``planner import`` reads (a country, a time zone) gets a note.
    """
    spec = TABLE_SPECS[table.name]
    known = spec.names + READ_EXTRAS.get(table.name, ())
    required = {c.name for c in spec.columns if c.required}
    header = list(table.frame.columns)
    mapped = {target for target, _ in table.mapped}
    findings = []
    for column in header:
        if column in mapped:
            continue
        meant = probable_name(column, known, CRM_ALIASES.get(table.name))
        if meant is None:
            if name_key(column) in {name_key(n) for n in IMPORT_ONLY.get(table.name, ())}:
                message = (
                    f"The column {column!r} is carried as an extra text column; the planner reads such CRM fields "
                    "(country, state, time zone, locale) only through `planner import`, which turns them into region, "
                    "utc_offset and language"
                )
                findings.append(Finding("note", table.label, 1, column, message, "import_only_column"))
            continue
        if meant in header or meant in required:
            continue
        message = (
            f"Expected a column named {meant!r}, got {column!r}, which is NOT read (it is kept as an extra "
            f"text column); rename it to {meant!r}, or read it through a map: {map_line(table.name, meant, column)} "
            "in MAP.toml, passed with --map MAP.toml"
        )
        findings.append(Finding("warning", table.label, 1, column, message, "near_miss_name"))
    return findings


def _finding(table: RawTable, schema: pa.DataFrameSchema, case) -> Finding:
    """A pandera failure case as a Finding: a missing column, or one cell that failed one check."""
    if case.check == "column_in_dataframe":
        name = case.failure_case
        message = f"Expected a column named {name!r} (it is required), {_header_got(table, name)}"
        return Finding("error", table.label, 1, name, message, "missing_column")
    check = schema.columns[case.column].checks[int(case.check_number)]
    message = f"{check.error}, {got_text(case.failure_case)}"
    return Finding("error", table.label, int(case.index), case.column, message, check.name)


def _header_got(table: RawTable, name: str) -> str:
    """Point at a near miss ('ARR', 'Account ID') if the header has one; names must match exactly."""
    known = TABLE_SPECS[table.name].names + READ_EXTRAS.get(table.name, ())
    near = [h for h in table.frame.columns if probable_name(h, known, CRM_ALIASES.get(table.name)) == name]
    if not near:
        return "but the header row has no such column"
    return (
        f"got {near[0]!r}, which is NOT read (names must match): rename it to {name!r}, or read it through a map: "
        f"{map_line(table.name, name, near[0])} in MAP.toml, passed with --map MAP.toml"
    )


def shown(value: str) -> str:
    """The user's text quoted for a message: in full, or its first characters and its length when long."""
    if len(value) > SHOWN_CHARS:
        return f"{value[:SHOWN_CHARS]!r}... ({len(value):,} characters)"
    return repr(value)


def got_text(value: str) -> str:
    """The 'got ...' half of a message, quoting the user's text."""
    return f"got {shown(value)}" if value != "" else "got a blank cell"


# -- cross checks: one function per rule ---------------------------------------------


def _column(raw: RawBook, table: str, column: str) -> pd.Series | None:
    """A readable table's column (index = spreadsheet row), or None when either is absent."""
    t = raw.tables.get(table)
    return t.frame[column] if t is not None and column in t.frame else None


def _cell_or_blank(raw: RawBook, table: str, column: str) -> pd.Series:
    """A column of a readable table, with blanks standing in for an absent optional column."""
    frame = raw.tables[table].frame
    return frame[column] if column in frame else pd.Series("", index=frame.index, dtype=str)


def duplicate_ids(raw: RawBook, policy: Policy) -> list[Finding]:
    """Each id names one row; a repeat names both rows so the user can pick which to keep."""
    findings = []
    for name, spec in TABLE_SPECS.items():
        ids = _column(raw, name, spec.id_column) if spec.id_column else None
        if ids is None:
            continue
        first: dict[str, int] = {}
        for row, value in ids.items():
            if value == "":
                continue
            if value in first:
                message = f"Expected each {spec.id_column} once, got {value!r} again (first in row {first[value]})"
                findings.append(Finding("error", raw.tables[name].label, row, spec.id_column, message, "duplicate_id"))
            else:
                first[value] = row
    return findings


def owner_id_collisions(raw: RawBook, policy: Policy) -> list[Finding]:
    """current_owner and pin_owner name an owner by id alone, so CSMs, pools and digital must not share one."""
    csm_ids, pool_ids = _column(raw, "csms", "csm_id"), _column(raw, "pools", "pool_id")
    csm_rows = {v: r for r, v in csm_ids.items()} if csm_ids is not None else {}
    findings = []
    for table, column, ids in (("csms", "csm_id", csm_ids), ("pools", "pool_id", pool_ids)):
        if ids is None:
            continue
        for row, value in ids.items():
            if value == policy.digital_owner_id:
                clash = "the digital owner's id (policy digital.owner_id)"
            elif table == "pools" and value in csm_rows:
                clash = f"also a csm_id ({raw.tables['csms'].label} row {csm_rows[value]})"
            else:
                continue
            message = (
                f"Expected owner ids unique across CSMs, pools and the digital owner, got {value!r}, which is {clash}"
            )
            findings.append(Finding("error", raw.tables[table].label, row, column, message, "owner_id_collision"))
    return findings


def _roster(raw: RawBook, policy: Policy) -> frozenset[str] | None:
    """Every owner id, or None when a roster was not read in full (owner checks would only guess)."""
    if "csms" in raw.incomplete or "pools" in raw.incomplete:
        return None
    csm_ids, pool_ids = _column(raw, "csms", "csm_id"), _column(raw, "pools", "pool_id")
    if csm_ids is None or (pool_ids is None and "pools" in raw.tables):
        return None
    pools = set(pool_ids) if pool_ids is not None else set()
    # An id with a control character is its own error; here it stands for the id it probably is.
    return (frozenset(map(clean_text, set(csm_ids) | pools)) | {policy.digital_owner_id}) - {""}


def _owner_expected(policy: Policy) -> str:
    return f"Expected a csm_id, a pool_id or the digital owner {policy.digital_owner_id!r}"


def unknown_current_owners(raw: RawBook, policy: Policy) -> list[Finding]:
    """A stale owner id is common (people leave); plan the account as new rather than refuse the book."""
    owners, roster = _column(raw, "accounts", "current_owner"), _roster(raw, policy)
    if owners is None or roster is None:
        return []
    label = raw.tables["accounts"].label
    return [
        Finding(
            "warning",
            label,
            row,
            "current_owner",
            f"{_owner_expected(policy)}, got {value!r}, which is on no roster; the account is treated as unassigned",
            "unknown_current_owner",
        )
        for row, value in owners.items()
        if value and value not in roster
    ]


def unknown_pin_owners(raw: RawBook, policy: Policy) -> list[Finding]:
    """A pin is an order the plan must obey, so pinning to nobody is an error, not a guess."""
    pins, roster = _column(raw, "accounts", "pin_owner"), _roster(raw, policy)
    if pins is None or roster is None:
        return []
    label = raw.tables["accounts"].label
    return [
        Finding(
            "error",
            label,
            row,
            "pin_owner",
            f"{_owner_expected(policy)} to pin the account to, got {value!r}",
            "unknown_pin_owner",
        )
        for row, value in pins.items()
        if value and value not in roster
    ]


def csm_zero_capacity(raw: RawBook, policy: Policy) -> list[Finding]:
    """An active CSM with no hours can own nothing; almost always a typo or a leaver not marked as such."""
    if _column(raw, "csms", "csm_id") is None:
        return []
    label = raw.tables["csms"].label
    status = _cell_or_blank(raw, "csms", "status").str.lower()
    findings = []
    for row, text in _cell_or_blank(raw, "csms", "capacity_hours").items():
        hours = parse_number(text) if text else policy.csm_default_capacity_hours
        if hours == 0 and status[row] in ("", "active"):
            message = (
                f"Expected capacity_hours > 0 for an active CSM, {got_text(text)}; "
                "give their monthly hours, or set status to leaving or on_leave"
            )
            findings.append(Finding("error", label, row, "capacity_hours", message, "csm_zero_capacity"))
    return findings


def pool_without_capacity(raw: RawBook, policy: Policy) -> list[Finding]:
    """A pool's hours come from capacity_hours or from fte; with neither there is nothing to plan with."""
    if _column(raw, "pools", "pool_id") is None:
        return []
    label = raw.tables["pools"].label
    fte = _cell_or_blank(raw, "pools", "fte")
    return [
        Finding(
            "error",
            label,
            row,
            "capacity_hours",
            "Expected capacity_hours (total hours a month) or fte, got both blank",
            "pool_without_capacity",
        )
        for row, hours in _cell_or_blank(raw, "pools", "capacity_hours").items()
        if hours == "" and fte[row] == ""
    ]


def unknown_locations(raw: RawBook, policy: Policy) -> list[Finding]:
    """A location missing from locations.csv silently loses its cost_index and UTC offset; say so."""
    listed = _column(raw, "locations", "location")
    if listed is None or "locations" in raw.incomplete:
        return []
    known = set(map(clean_text, listed))
    where = raw.tables["locations"].label
    fallback = {"csms": "cost_index 1.0 and the region's default UTC offset apply", "pools": "cost_index 1.0 applies"}
    findings = []
    for table, consequence in fallback.items():
        locations = _column(raw, table, "location")
        if locations is None:
            continue
        findings += [
            Finding(
                "warning",
                raw.tables[table].label,
                row,
                "location",
                f"Expected a location listed in {where}, got {value!r}; {consequence}",
                "unknown_location",
            )
            for row, value in locations.items()
            if value and value not in known
        ]
    return findings


CROSS_CHECKS: tuple[Callable[[RawBook, Policy], list[Finding]], ...] = (
    duplicate_ids,
    owner_id_collisions,
    unknown_current_owners,
    unknown_pin_owners,
    csm_zero_capacity,
    pool_without_capacity,
    unknown_locations,
)


# -- checks on the typed book ---------------------------------------------------------


def pin_findings(book) -> list[Finding]:
    """A pin that breaks the account's segment modes or an eligibility rule: kept (a pin is an order), but said.

    The reasons are the plan's own: they are the pinned account's ``exception``
    in assignments.csv (models/coverage.py pin_rule_breaks).
    """
    from planner.models.coverage import pin_rule_breaks
    from planner.team.graph import spreadsheet_rows, table_file

    rows = spreadsheet_rows(book, "accounts")
    label = table_file(book, "accounts")
    pins = book.accounts["pin_owner"]
    return [
        Finding(
            "warning",
            label,
            rows[a],
            "pin_owner",
            f"Expected a pin to an owner the rules allow for this account, got {pins.iat[a]!r} although "
            f"{'; '.join(why)}; the plan keeps the pin (a pin is an order) and lists it as an exception",
            "pin_breaks_rules",
        )
        for a, why in sorted(pin_rule_breaks(book).items())
    ]

"""Column maps: a book (or a CRM export) in someone else's column names, read as the planner's.

A map is a TOML file (``--map MAP.toml`` on validate, solve, reassign,
evaluate and import; the standard maps of ``planner import`` are the same
format, kept in planner/crm/imports/)::

    [options]
    locale = "de-DE"              # how numbers and money are written (default: plain numbers, 1234.5)
    date_format = "%d.%m.%Y"      # or a list of formats; ISO dates (2026-03-31) always work
    owner_by = "auto"             # what current_owner / pin_owner hold: auto (any of the next),
                                  # csm_id, crm_user_id, email or name

    [accounts]
    account_id = "Id"                        # the planner's account_id is the file's column Id
    arr = "AnnualRevenue"
    current_owner = ["CSM__c", "OwnerId"]    # the first of these columns the file has
    renewal_date = { column = "Renewal", date_format = "%m/%d/%Y" }
    lifecycle_stage = { column = "Stage", values = { "Kick Off" = "onboarding" } }

    [csms]
    csm_id = "Id"

A key of a table section is the planner's column (or, for a name the
planner does not read, the name of an extra column the book then carries,
e.g. ``gainsight_id = "GSID"``); its value says where it comes from: a column
name, a list of names (the first one present is read), or an inline table
with ``column`` and the per-column settings ``locale``, ``date_format`` and
``values`` (a translation of cell values, matched case-insensitively).

Applying a map renames columns before anything is checked, so every check,
default and message of the loader works on the planner's names; findings on
a mapped column name the file's column. A column the map reads is no extra
column any more; every other column is carried as before.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from planner.errors import BookError, Finding

OWNER_BY = ("auto", "csm_id", "crm_user_id", "email", "name")
OPTION_KEYS = ("locale", "date_format", "owner_by")
ENTRY_KEYS = ("column", "locale", "date_format", "values")


class MapError(BookError):
    """A map file that cannot be used: the findings name the file and the key (exit 1)."""


@dataclass(frozen=True)
class Entry:
    """Where one of the planner's columns comes from, and how its cells are written."""

    columns: tuple[str, ...]  # candidate source columns, the first one present is read
    locale: str | None = None
    date_format: tuple[str, ...] = ()
    values: tuple[tuple[str, str], ...] = ()  # (as written, lower case) -> the planner's value
    required: bool = False  # the user's map names one column: it must be there

    def translate(self) -> dict[str, str]:
        return dict(self.values)


@dataclass(frozen=True)
class ColumnMap:
    """A parsed map: per table, target column -> Entry; the options; where it came from."""

    tables: Mapping[str, Mapping[str, Entry]] = field(default_factory=dict)
    locale: str | None = None
    date_format: tuple[str, ...] = ()
    owner_by: str = "auto"
    path: str | None = None  # the file, for findings and the plan's inputs
    sha256: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)  # other sections (the import's [roster], [regions]...)

    @property
    def label(self) -> str:
        return Path(self.path).name if self.path else "the map"

    def entries(self, table: str) -> Mapping[str, Entry]:
        return self.tables.get(table, {})

    def locale_for(self, table: str, column: str) -> str | None:
        entry = self.entries(table).get(column)
        return entry.locale if entry is not None and entry.locale else self.locale

    def date_formats_for(self, table: str, column: str) -> tuple[str, ...]:
        entry = self.entries(table).get(column)
        return entry.date_format if entry is not None and entry.date_format else self.date_format

    def over(self, base: ColumnMap) -> ColumnMap:
        """This map laid over `base`: each column this map names replaces base's entry, options likewise."""
        tables = {name: dict(entries) for name, entries in base.tables.items()}
        for name, entries in self.tables.items():
            tables.setdefault(name, {}).update(entries)
        extra = {k: dict(v) if isinstance(v, dict) else v for k, v in base.extra.items()}
        for key, value in self.extra.items():
            if isinstance(value, dict) and isinstance(extra.get(key), dict):
                extra[key] = {**extra[key], **value}
            else:
                extra[key] = value
        return ColumnMap(
            tables=tables,
            locale=self.locale or base.locale,
            date_format=self.date_format or base.date_format,
            owner_by=self.owner_by if self.owner_by != "auto" else base.owner_by,
            path=self.path or base.path,
            sha256=self.sha256 or base.sha256,
            extra=extra,
        )

    def with_locale(self, locale: str | None) -> ColumnMap:
        return self if not locale else replace(self, locale=check_locale(locale, "--locale"))


EMPTY = ColumnMap()


def _problem(label: str, where: str, message: str) -> Finding:
    return Finding("error", label, None, where, message, "bad_map")


def check_locale(text: str, where: str) -> str:
    """A locale babel knows (en-US, de_DE, fr-FR, de), as babel writes it (de_DE); else MapError."""
    from babel import Locale, UnknownLocaleError

    try:
        return str(Locale.parse(text.replace("-", "_")))
    except (UnknownLocaleError, ValueError, TypeError):
        message = f"Expected a locale such as en-US, de-DE or fr-FR, got {text!r}"
        raise MapError([_problem(where, where, message)]) from None


def load_map(path: str | Path, tables: tuple[str, ...] | None = None, sections: tuple[str, ...] = ()) -> ColumnMap:
    """The ColumnMap in the TOML file at `path`; a problem anywhere in it raises MapError naming the key.

    `tables` limits the table sections (default: the book's tables); `sections`
    are other sections the caller reads itself (kept in ``extra``).
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        message = f"Expected a readable map file, but reading it failed: {exc.strerror or exc}"
        raise MapError([_problem(path.name, None, message)]) from None
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise MapError([_problem(path.name, None, f"Expected a TOML file, but it could not be read: {exc}")]) from None
    cmap = map_from_dict(doc, path.name, tables, sections)
    return replace(cmap, path=str(path), sha256=hashlib.sha256(data).hexdigest())


def map_from_dict(
    doc: Mapping[str, Any], label: str, tables: tuple[str, ...] | None = None, sections: tuple[str, ...] = ()
) -> ColumnMap:
    """A ColumnMap from parsed TOML; every problem is collected, then raised together as MapError."""
    from planner.io.schema import TABLE_SPECS

    tables = tuple(TABLE_SPECS) if tables is None else tables
    problems: list[Finding] = []
    options = doc.get("options", {})
    if not isinstance(options, dict):
        problems.append(_problem(label, "[options]", "Expected [options] to be a table"))
        options = {}
    for key in options:
        if key not in OPTION_KEYS:
            problems.append(_problem(label, f"[options] {key}", f"Expected one of {list(OPTION_KEYS)}, got {key!r}"))
    locale = _locale(options.get("locale"), label, "[options] locale", problems)
    dates = _formats(options.get("date_format"), label, "[options] date_format", problems)
    owner_by = options.get("owner_by", "auto")
    if owner_by not in OWNER_BY:
        problems.append(_problem(label, "[options] owner_by", f"Expected one of {list(OWNER_BY)}, got {owner_by!r}"))
        owner_by = "auto"
    parsed: dict[str, dict[str, Entry]] = {}
    extra: dict[str, Any] = {}
    for section, body in doc.items():
        if section == "options":
            continue
        if section in sections:
            extra[section] = body
            continue
        if section not in tables:
            known = ["options", *tables, *sections]
            message = f"Expected a section named one of {known}, got [{section}]"
            problems.append(_problem(label, f"[{section}]", message))
            continue
        if not isinstance(body, dict):
            problems.append(_problem(label, f"[{section}]", f"Expected [{section}] to be a table of columns"))
            continue
        parsed[section] = {}
        for target, value in body.items():
            entry = _entry(value, label, f"[{section}] {target}", problems)
            if entry is not None:
                parsed[section][target] = entry
    if problems:
        raise MapError(problems)
    return ColumnMap(tables=parsed, locale=locale, date_format=dates, owner_by=owner_by, extra=extra)


def _locale(value: Any, label: str, where: str, problems: list[Finding]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append(_problem(label, where, f'Expected a locale such as "de-DE", got {value!r}'))
        return None
    try:
        return check_locale(value, where)
    except MapError as exc:
        problems += [replace(f, file=label) for f in exc.findings]
        return None


def _formats(value: Any, label: str, where: str, problems: list[Finding]) -> tuple[str, ...]:
    if value is None:
        return ()
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) and "%" in v for v in values) or not values:
        message = f'Expected a date format such as "%d.%m.%Y" (Python strptime codes) or a list of them, got {value!r}'
        problems.append(_problem(label, where, message))
        return ()
    return tuple(values)


def _entry(value: Any, label: str, where: str, problems: list[Finding]) -> Entry | None:
    if isinstance(value, str | list):
        columns = _columns(value, label, where, problems)
        return Entry(columns, required=isinstance(value, str)) if columns else None
    if not isinstance(value, dict):
        message = f"Expected a column name, a list of names or {{ column = ... }}, got {value!r}"
        problems.append(_problem(label, where, message))
        return None
    for key in value:
        if key not in ENTRY_KEYS:
            problems.append(_problem(label, f"{where}.{key}", f"Expected one of {list(ENTRY_KEYS)}, got {key!r}"))
    columns = _columns(value.get("column"), label, f"{where}.column", problems)
    translations = value.get("values", {})
    if not isinstance(translations, dict) or not all(isinstance(v, str) for v in translations.values()):
        problems.append(_problem(label, f"{where}.values", 'Expected a table of value = "planner value" pairs'))
        translations = {}
    if not columns:
        return None
    return Entry(
        columns,
        locale=_locale(value.get("locale"), label, f"{where}.locale", problems),
        date_format=_formats(value.get("date_format"), label, f"{where}.date_format", problems),
        values=tuple((str(k).strip().lower(), v) for k, v in translations.items()),
        required=isinstance(value.get("column"), str),
    )


def _columns(value: Any, label: str, where: str, problems: list[Finding]) -> tuple[str, ...]:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n.strip() for n in names):
        problems.append(_problem(label, where, f"Expected a column name or a list of names, got {value!r}"))
        return ()
    return tuple(n.strip() for n in names)


def map_line(table: str, target: str, column: str) -> str:
    """The line of a map file that reads `column` as `target`: ``[accounts] current_owner = "OwnerId"``."""
    return f'[{table}] {target} = "{column}"'


# -- applying a map to one table's text -------------------------------------------------


@dataclass(frozen=True)
class Applied:
    frame: pd.DataFrame
    sources: dict[str, str]  # target -> the file's column it was read from
    findings: list[Finding]


def find_column(header: list[str], name: str) -> str | None:
    """The header's column called `name`: exactly, else the only one equal ignoring case and surrounding space."""
    if name in header:
        return name
    folded = [h for h in header if h.strip().casefold() == name.strip().casefold()]
    return folded[0] if len(folded) == 1 else None


def apply_columns(frame: pd.DataFrame, table: str, label: str, cmap: ColumnMap, specs: tuple[str, ...]) -> Applied:
    """`frame` with the map's columns under the planner's names, in the file's column order.

    A target the map names but the file lacks is an error when the user's map
    named exactly one column for it (a typo in the map would otherwise drop
    the column silently); a list of candidates may all be absent. A column
    of the file already named like a target the map reads from elsewhere is
    not read (the map wins), with a warning.
    """
    entries = cmap.entries(table)
    header = list(frame.columns)
    sources: dict[str, str] = {}
    findings: list[Finding] = []
    for target, entry in entries.items():
        found = next((c for c in (find_column(header, n) for n in entry.columns) if c is not None), None)
        if found is None:
            if entry.required:
                from planner.io.schema import probable_name

                near = [h for h in header if probable_name(h, list(entry.columns)) is not None]
                got = f"got {near[0]!r}, which is not the same name" if near else "but the header has no such column"
                message = (
                    f"Expected a column named {entry.columns[0]!r} ({cmap.label} reads it as {target}: "
                    f"{map_line(table, target, entry.columns[0])}), {got}"
                )
                findings.append(Finding("error", label, 1, entry.columns[0], message, "mapped_column_missing"))
            continue
        sources[target] = found
    if not sources:
        return Applied(frame, {}, findings)
    used = set(sources.values())
    by_source: dict[str, list[str]] = {}
    for target, source in sources.items():
        by_source.setdefault(source, []).append(target)
    columns: dict[str, pd.Series] = {}
    for column in header:
        if column in by_source:
            for target in by_source[column]:
                cells = frame[column]
                columns[target] = cells.str.strip() if target in specs else cells
        if column in sources and sources[column] != column:
            message = (
                f"Expected one source for {column}: {cmap.label} reads it from {sources[column]!r}, so this "
                f"file's own {column!r} column is NOT read"
            )
            findings.append(Finding("warning", label, 1, column, message, "mapped_over"))
            continue
        if column in used and column not in sources:
            continue  # read under its target's name
        if column not in columns:
            columns[column] = frame[column]
    return Applied(pd.DataFrame(columns, index=frame.index), sources, findings)

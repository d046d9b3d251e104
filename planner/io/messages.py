"""Findings as people read them: the same finding on many rows is one line; the full list goes to a CSV.

Findings of one kind (severity, file, column, rule and what was expected:
the message up to ", got") on GROUP_AT or more rows print as one line: the
count, the first few rows, the values found most often, and where the full
list is (``planner validate BOOK --report FILE.csv``). Fewer print one by
one, as before. A finding without a row (a file, a whole table) always
prints on its own.

The report CSV has one row per finding: severity, file, row, column, rule,
message; written through the planner's one CSV writer (formula-safe) and
atomically.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from planner.errors import Finding

GROUP_AT = 3  # this many rows with one finding print as one line
SHOWN_ROWS = 5
SHOWN_VALUES = 3
REPORT_COLUMNS = ("severity", "file", "row", "column", "rule", "message")
SEVERITY_ORDER = {"error": 0, "warning": 1, "note": 2}


def _split(message: str) -> tuple[str, str]:
    """(what was expected, what was found): 'Expected a number', "got '$30,950'"."""
    head, sep, tail = message.partition(", got ")
    return (head, "got " + tail) if sep else (message, "")


@dataclass(frozen=True)
class Group:
    severity: str
    file: str
    column: str | None
    rule: str
    expected: str
    findings: tuple[Finding, ...]

    @property
    def rows(self) -> list[int]:
        return sorted({f.row for f in self.findings if f.row is not None})

    def line(self, report_hint: str) -> str:
        if len(self.findings) < GROUP_AT or not self.rows:
            return "\n".join(one_line(f) for f in self.findings)
        where = self.file + (f", column {self.column!r}" if self.column else "")
        rows = self.rows
        shown = ", ".join(str(r) for r in rows[:SHOWN_ROWS]) + (", ..." if len(rows) > SHOWN_ROWS else "")
        values: Counter[str] = Counter()
        tails: Counter[str] = Counter()
        for f in self.findings:
            value, tail = _value(_split(f.message)[1])
            values[value] += 1
            tails[tail] += 1
        text = f"{self.severity}: {where}: {len(rows):,} rows (rows {shown}): {self.expected}"
        if values and any(values):
            listed = [f"{v} ({n:,} rows)" if n > 1 else v for v, n in values.most_common(SHOWN_VALUES) if v]
            more = len(values) - len(listed)
            text += ", got " + ", ".join(listed) + (f" and {more:,} other value(s)" if more > 0 else "")
            if len(tails) == 1 and next(iter(tails)):
                text += next(iter(tails))
        return text + (f". {report_hint}" if report_hint else "")


_VALUE = re.compile(r"got (?P<value>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|a blank cell)(?P<tail>.*)", re.S)


def _value(got: str) -> tuple[str, str]:
    """("'$30,950'", ", an amount written for a locale: ...") from "got '$30,950', an amount ..."."""
    match = _VALUE.fullmatch(got)
    if match is None:
        return got.removeprefix("got "), ""
    return match["value"], match["tail"]


def one_line(f: Finding) -> str:
    return str(f)


def group(findings: Iterable[Finding]) -> list[Group]:
    """The findings in groups of one kind, errors first, each group where its first finding was."""
    groups: dict[tuple, list[Finding]] = {}
    for f in findings:
        key = (f.severity, f.file, f.column, f.rule, _split(f.message)[0]) if f.row is not None else (id(f),)
        groups.setdefault(key, []).append(f)
    out = [
        Group(fs[0].severity, fs[0].file, fs[0].column, fs[0].rule, _split(fs[0].message)[0], tuple(fs))
        for fs in groups.values()
    ]
    return sorted(out, key=lambda g: SEVERITY_ORDER.get(g.severity, 3))


def grouped_lines(findings: Iterable[Finding], report_hint: str = "") -> list[tuple[str, str]]:
    """(severity, text) per line to print; `report_hint` ends each grouped line (where the full list is)."""
    lines = []
    for g in group(findings):
        for text in g.line(report_hint if len(g.findings) >= GROUP_AT else "").split("\n"):
            lines.append((g.severity, text))
    return lines


def report_csv(findings: Iterable[Finding]) -> str:
    """Every finding, one CSV row each (formula-safe text)."""
    from planner.io.csvtext import csv_text

    rows = [[f.severity, f.file, f.row, f.column or "", f.rule, f.message] for f in findings]
    return csv_text(REPORT_COLUMNS, rows)


def write_report(findings: Iterable[Finding], path: str | Path, force: bool = False) -> Path:
    from planner.io.atomic import atomic_write_text

    return atomic_write_text(path, report_csv(findings), force=force)

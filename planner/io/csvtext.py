"""The one CSV writer: every CSV the planner writes goes through here.

Cells. A value is written by its type (:func:`cell_text`):

* numbers (int, float, numpy numbers; not bool) as numbers, never quoted or
  neutralized: a utc_offset of -5.0 is ``-5``, so spreadsheets and our own
  readers see a number. Floats use ``float_format`` (``.10g`` by default;
  ``None`` is Python's shortest round-trip ``repr``). A non-finite float is not
  a number to a spreadsheet, so ``-inf`` is treated as text;
* booleans as ``true`` / ``false``; None, NaN, NA and NaT as a blank;
  timestamps and dates as ISO dates (``2026-01-15``); tuples ``;``-joined;
* everything else as text, *neutralized* against spreadsheet formulas by the
  rule below (:func:`neutralize`; why: planner.crm.safety). Header cells
  are text too (a book's extra column may be named ``=x``).

The rule (planner.csvsafe, re-exported here). A text cell starting with ``=``
``+`` ``-`` ``@``, tab or CR (what spreadsheets run as a formula), or with a
single quote, is written with one more single quote in front. Spreadsheets
show a leading quote as "this is text" and hide it; because a cell that
already started with a quote also gets one, :func:`restore` (strip one
leading quote) is its exact inverse.

A text cell that merely looks like a negative number (an extra column holding
``-5``: the loader reads every cell of a book as text) is text and is
neutralized like any other, to ``'-5``. Only a cell's type says "number",
never its look: there is no second rule to get wrong (is ``-5e3`` a number,
``-5+cmd|' /C calc'!A0``?), a text cell of the book stays text in every
output, and our readers give back ``-5``. A spreadsheet shows it as the text
-5.

Readers of these files strip one leading quote from every cell that starts
with one (:func:`restore`; planner.plans does). See planner/plan_contract.md
and docs/crm_export.md.

``safe=False`` writes text cells verbatim. Only the generated book uses
it (planner.generate.write_book): a book is *input*, read back by the loader,
which takes every cell literally and must not strip quotes (a user's own cell
``'abc`` is the text 'abc), so a neutralized book cell would read back
changed.

Records. Python 3.11's csv writer quotes a field containing a line-break
character only when that character is in its line terminator, so with "\\n" a
bare "\\r" inside a cell is left unquoted and splits the record for other
readers. Each record is therefore written with a CRLF terminator (which quotes
both) and given a plain LF afterwards.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import numbers
from collections.abc import Iterable
from pathlib import Path

from planner.csvsafe import FORMULA_TRIGGERS, QUOTE, needs_neutralizing, neutralize, restore

__all__ = [
    "FORMULA_TRIGGERS",
    "QUOTE",
    "needs_neutralizing",
    "neutralize",
    "restore",
    "cell_text",
    "csv_record",
    "csv_text",
    "frame_csv",
    "write_frame",
]

# numpy and pandas are not imported (callers have them already); their
# scalars are recognised by the number ABCs they register with, their dtype,
# or their type's name.
DEFAULT_FLOAT_FORMAT = ".10g"
_BLANK_TYPES = ("NAType", "NaTType")  # pandas.NA, pandas.NaT


def cell_text(value, safe: bool = True, float_format: str | None = DEFAULT_FLOAT_FORMAT) -> str:
    """`value` as the text of one CSV cell (see the module docstring); `safe` neutralizes text."""
    kind = type(value)
    if kind is str:  # most cells: the fast path
        return neutralize(value) if safe else value
    if kind is float and math.isfinite(value):  # the next most common
        return repr(value) if float_format is None else format(value, float_format)
    if kind is bool or getattr(getattr(value, "dtype", None), "kind", None) == "b":
        return "true" if value else "false"
    if value is None or kind.__name__ in _BLANK_TYPES:
        return ""
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        number = float(value)
        if math.isnan(number):
            return ""
        text = repr(number) if float_format is None else format(number, float_format)
        if math.isfinite(number):
            return text
    elif isinstance(value, dt.datetime):  # pandas.Timestamp too
        text = value.strftime("%Y-%m-%d")
    elif isinstance(value, dt.date):
        text = value.isoformat()
    elif isinstance(value, tuple):
        text = ";".join(str(v) for v in value)
    else:
        text = str(value)
    return neutralize(text) if safe else text


def csv_record(cells: Iterable, safe: bool = True, float_format: str | None = DEFAULT_FLOAT_FORMAT) -> str:
    """One CSV record ending in LF, each cell by :func:`cell_text`."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow([cell_text(c, safe, float_format) for c in cells])
    return buf.getvalue()[:-2] + "\n"


def csv_text(
    header: Iterable, rows: Iterable[Iterable], safe: bool = True, float_format: str | None = DEFAULT_FLOAT_FORMAT
) -> str:
    """A whole CSV file: the header record, then one record per row."""
    return csv_record(header, safe, float_format) + "".join(csv_record(r, safe, float_format) for r in rows)


def frame_csv(df, safe: bool = True, float_format: str | None = DEFAULT_FLOAT_FORMAT) -> str:
    """A pandas DataFrame as CSV text (no index), by the rules above."""
    return csv_text([str(c) for c in df.columns], df.itertuples(index=False, name=None), safe, float_format)


def write_frame(df, path: str | Path, safe: bool = True, float_format: str | None = DEFAULT_FLOAT_FORMAT) -> None:
    """Write `df` as a UTF-8 (no BOM) CSV file at `path` (callers write inside an atomic folder)."""
    from planner.faults import crash_point

    Path(path).write_text(frame_csv(df, safe, float_format), encoding="utf-8", newline="")
    crash_point("csv.written")

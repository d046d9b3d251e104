"""Spreadsheet formula neutralization for every CSV the planner writes.

Export files are opened in Excel, Google Sheets or LibreOffice before they are
loaded (ops review them), and a spreadsheet runs a cell that starts with
``=``, ``+``, ``-`` or ``@`` as a formula -- including ones that fetch URLs or
run commands (CSV injection). A leading tab or carriage return is also treated
as a formula trigger by some spreadsheets.

Rule (documented in docs/crm_export.md): a text cell that starts with one of
those characters, or with a single quote, is written with one more single
quote in front. Spreadsheets show a leading single quote as "this is text" and
hide it, so the cell displays its original value and never runs; and because a
value that already started with a quote also gets one, :func:`restore` is an
exact inverse for programs that read the files back.

Key cells of CRM load files (record ids, owner ids, emails) are never altered
this way: altering them would make the load miss its record, so a key that
would need neutralizing sends its row to the exceptions file instead
(:func:`needs_neutralizing`).
"""

from __future__ import annotations

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def needs_neutralizing(text: str) -> bool:
    """True when a spreadsheet could read `text` as a formula (or it starts with a quote)."""
    return text.startswith(FORMULA_TRIGGERS) or text.startswith(QUOTE)


def neutralize(text: str) -> str:
    """`text` made safe to open in a spreadsheet (see the module docstring)."""
    return QUOTE + text if needs_neutralizing(text) else text


def restore(text: str) -> str:
    """The value :func:`neutralize` was given (exact inverse)."""
    return text[1:] if text.startswith(QUOTE) else text

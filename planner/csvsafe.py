"""The formula-neutralization rule shared by every CSV the planner writes and reads back.

A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return (what spreadsheets run as a formula), or with a single quote, is
written with one more single quote in front. Spreadsheets show a leading
quote as "this is text" and hide it, so the cell displays its original value
and never runs; because a cell that already started with a quote also gets
one, :func:`restore` (remove one leading quote) is the exact inverse.

Why (CSV injection) and where keys are refused instead: planner.crm.safety.
Who applies it: the one CSV writer, planner.io.csvtext. Who undoes it:
planner.plans (reading a plan folder back).

This module imports nothing, on purpose: planner.plans reads plans with the
standard library only (``plans diff`` starts in a fraction of a second), and
the ``planner.io`` and ``planner.crm`` packages both load pandas and each
other on import.
"""

from __future__ import annotations

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def needs_neutralizing(text: str) -> bool:
    """True when a spreadsheet could read `text` as a formula (or it starts with a quote)."""
    return text.startswith(FORMULA_TRIGGERS) or text.startswith(QUOTE)


def neutralize(text: str) -> str:
    """`text` made safe to open in a spreadsheet: one more leading quote when it needs it."""
    return QUOTE + text if needs_neutralizing(text) else text


def restore(text: str) -> str:
    """The value :func:`neutralize` was given (exact inverse): one leading quote removed."""
    return text[1:] if text.startswith(QUOTE) else text

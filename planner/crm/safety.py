"""Spreadsheet formula neutralization for every CSV the planner writes.

Plan folders, coverage reports and export files are opened in Excel, Google
Sheets or LibreOffice (ops review them before loading), and a spreadsheet runs
a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula -- including
ones that fetch URLs or run commands (CSV injection). A leading tab or
carriage return is also treated as a formula trigger by some spreadsheets.

Rule (documented in docs/crm_export.md and planner/plan_contract.md): a text
cell that starts with one of those characters, or with a single quote, is
written with one more single quote in front. Spreadsheets show a leading
single quote as "this is text" and hide it, so the cell displays its original
value and never runs; and because a value that already started with a quote
also gets one, :func:`restore` is an exact inverse for programs that read the
files back. Numbers are written as numbers and never altered.

The rule itself lives in planner.csvsafe (a module with no imports, so the
plan writer, the plan reader and the export share it without import cycles
or loading pandas); the one CSV writer that applies it to every cell is
planner.io.csvtext. The names are re-exported here.

Key cells of CRM load files (record ids, owner ids, emails) are never altered
this way: altering them would make the load miss its record, so a key that
would need neutralizing sends its row to the exceptions file instead
(:func:`needs_neutralizing`, planner.crm.model.require_key_text).
"""

from __future__ import annotations

from planner.csvsafe import FORMULA_TRIGGERS, QUOTE, needs_neutralizing, neutralize, restore

__all__ = ["FORMULA_TRIGGERS", "QUOTE", "needs_neutralizing", "neutralize", "restore"]

"""Owner matching: current_owner and pin_owner may name an owner the way a CRM export does.

A cell of ``accounts.current_owner`` or ``accounts.pin_owner`` may hold an
owner's id (csm_id, pool_id or the digital owner's id, as always), or one of
the roster's other keys: ``crm_user_id`` (a Salesforce User id may be given
in its 15- or 18-character form), ``email`` or ``name`` (of csms, pools, and
the programs table's digital program). Emails and names
match ignoring case and spacing (``Jane  DOE`` is ``Jane Doe``); ids match
exactly (a 15-character Salesforce id is case-sensitive: ``005A`` and
``005a`` are two users). The map's ``[options] owner_by`` limits which keys
are tried (default ``auto``: all of them).

A matched cell is replaced by the owner's id before anything is checked, so
the rest of the planner only ever sees ids; a note says how many cells were
matched by which key. A value that matches two owners (two CSMs called Alex
Kim, or one's email and another's name) is an error naming both, since
either guess could hand an account to the wrong person. A value that
matches nobody is left as it is: the unknown-owner warning (or, for a pin,
the error) of planner.io.validate reports it.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace

import pandas as pd

from planner.errors import Finding
from planner.io.colmap import ColumnMap
from planner.io.read import RawBook
from planner.io.schema import clean_text
from planner.policy import Policy

OWNER_COLUMNS = ("current_owner", "pin_owner")
KEYS = ("crm_user_id", "email", "name")


def fold(text: str) -> str:
    """A name or email as compared: case-folded, spaces collapsed."""
    return re.sub(r"\s+", " ", text.strip()).casefold()


def _crm_forms(value: str) -> set[str]:
    """A CRM user id and, for a Salesforce id, its other form (15 <-> 18 characters)."""
    from planner.crm.ids import SalesforceIdError, to18

    forms = {value}
    try:
        long = to18(value)
    except SalesforceIdError:
        return forms
    return forms | {long, long[:15]}


class Roster:
    """Every owner of a book by each key: id -> owner, and key value -> owners (with the row that says so)."""

    def __init__(self, raw: RawBook, policy: Policy):
        self.ids: set[str] = {policy.digital_owner_id}
        self.by: dict[str, dict[str, list[tuple[str, str, int]]]] = {k: {} for k in KEYS}
        for table, id_column in (("csms", "csm_id"), ("pools", "pool_id"), ("programs", "program_id")):
            t = raw.tables.get(table)
            if t is None or id_column not in t.frame:
                continue
            frame = t.frame
            for row, owner in frame[id_column].items():
                owner = clean_text(owner)
                if not owner:
                    continue
                self.ids.add(owner)
                for key in KEYS:
                    if key not in frame:
                        continue
                    value = frame.at[row, key].strip()
                    if not value:
                        continue
                    forms = _crm_forms(value) if key == "crm_user_id" else {fold(value)}
                    for form in forms:
                        hits = self.by[key].setdefault(form, [])
                        if owner not in [h[0] for h in hits]:
                            hits.append((owner, t.label, int(row)))

    def match(self, value: str, keys: tuple[str, ...]) -> tuple[str | None, str | None, list]:
        """(owner id, key it matched by, []) or (None, None, candidates) when ambiguous or unknown."""
        if value in self.ids:
            return value, None, []
        found: dict[str, tuple[str, str, int, str]] = {}
        for key in keys:
            forms = _crm_forms(value) if key == "crm_user_id" else {fold(value)}
            for form in forms:
                for owner, label, row in self.by[key].get(form, []):
                    found.setdefault(owner, (owner, label, row, key))
        if len(found) == 1:
            ((owner, _, _, key),) = found.values()
            return owner, key, []
        return None, None, sorted(found.values(), key=lambda h: (h[1], h[2]))


def match_owners(raw: RawBook, cmap: ColumnMap, policy: Policy) -> tuple[RawBook, list[Finding]]:
    """The accounts table with owners named by crm_user_id, email or name replaced by their ids."""
    accounts = raw.tables.get("accounts")
    if accounts is None or not any(c in accounts.frame for c in OWNER_COLUMNS):
        return raw, []
    keys = KEYS if cmap.owner_by == "auto" else tuple(k for k in KEYS if k == cmap.owner_by)
    if not keys:
        return raw, []
    roster = Roster(raw, policy)
    frame = accounts.frame.copy()
    findings: list[Finding] = []
    for column in OWNER_COLUMNS:
        if column not in frame:
            continue
        matched: Counter[str] = Counter()
        cache: dict[str, tuple] = {}
        out = frame[column].copy()
        for row, value in frame[column].items():
            if not value:
                continue
            if value not in cache:
                cache[value] = roster.match(value, keys)
            owner, key, candidates = cache[value]
            if owner is not None:
                if key is not None:
                    out[row] = owner
                    matched[key] += 1
            elif len(candidates) > 1:
                named = "; ".join(f"{o} ({label} row {r}, by {k})" for o, label, r, k in candidates)
                message = (
                    f"Expected {column} to name one owner, got {value!r}, which matches {len(candidates)}: {named}; "
                    "write the csm_id (or an email only one of them has) instead"
                )
                findings.append(Finding("error", accounts.label, int(row), column, message, "ambiguous_owner"))
        frame[column] = out
        if matched:
            how = ", ".join(f"{n:,} by {k}" for k, n in matched.most_common())
            message = f"Matched {column} to the roster's owner ids: {how} (owner_by = {cmap.owner_by})"
            findings.append(Finding("note", accounts.label, None, column, message, "owner_matched"))
    tables = dict(raw.tables)
    tables["accounts"] = replace(accounts, frame=pd.DataFrame(frame))
    return RawBook(raw.name, tables, raw.incomplete), findings

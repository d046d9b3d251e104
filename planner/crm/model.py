"""What every export format shares: the change rows, and what a format must provide.

A format decides how an account's CRM id becomes the record key of its load
file, how an owner becomes the CRM identity the file sets (a Salesforce user
id, a HubSpot owner id, an email), and which files the changes make: most
formats write one update file (and one rollback file) with a row per account;
a Salesforce account-team export writes an insert and a delete file for each.
Everything else -- choosing rows, exceptions, splitting, checksums, the
ledger -- is the same for every format and lives in the package.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from planner.crm.safety import needs_neutralizing
from planner.errors import PlannerError

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ExportError(PlannerError, ValueError):
    """An export that cannot be written at all (bad option, bad configuration)."""


class RowSkipped(Exception):
    """This row cannot go into the load file; `reason` goes to exceptions.csv."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Party:
    """An owner as one side of a change: who in the planner, and who in the CRM.

    `key` is the CRM identity the format loads (None when the owner has none,
    and `problem` says why).
    """

    owner_id: str
    owner_type: str
    email: str
    crm_user_id: str
    key: str | None
    problem: str = ""


@dataclass(frozen=True)
class Change:
    """One account's row of a load file: set owner `new`, replacing `old`."""

    account_id: str
    record_key: str  # the account's CRM record id, as the format loads it
    new: Party
    old: Party
    changed: bool
    reason: str
    plan_id: str

    def reversed(self) -> Change:
        """The row that undoes this one (for rollback files)."""
        return replace(self, new=self.old, old=self.new, reason="rollback")


def key_pair(change: Change) -> tuple[str, str]:
    """The usual two-column load row: the record's key, the new owner's key."""
    return change.record_key, change.new.key


@dataclass(frozen=True)
class LoadFile:
    """One file of an export or of its rollback, before it is split: its rows and how the CRM's tool loads it."""

    stem: str  # file name without extension
    header: tuple[str, ...]
    rows: tuple[tuple, ...]
    how: str = ""  # what to run it as, e.g. "Account update", "AccountTeamMember insert"


@dataclass(frozen=True)
class CrmFormat:
    """One export format. The key functions raise RowSkipped with a reason.

    `loads` makes the files of an export ("export") or of its rollback
    ("rollback") from the exported changes; by default one file each (the
    load, and the same columns setting the previous owners back), rows in
    plan order.
    """

    name: str
    stem: str  # file name of the export, without extension
    extension: str  # "csv" or "json"
    header: tuple[str, ...]
    record_key: Callable[[Mapping[str, str]], str]  # assignments row -> record key
    owner_key: Callable[[Mapping[str, str]], str]  # owners.csv row -> CRM owner identity
    cells: Callable[[Change], tuple] = key_pair
    warnings: tuple[str, ...] = ()
    how: str = ""  # how the update file is loaded (the summary and the CLI say it)
    target: str = ""  # what the load sets in the CRM, e.g. "Account.OwnerId"
    loads: Callable[[CrmFormat, str, Sequence[Change]], tuple[LoadFile, ...]] | None = None

    def files_for(self, kind: str, changes: Sequence[Change]) -> tuple[LoadFile, ...]:
        """The load files of `kind` ("export" or "rollback") for the exported `changes`."""
        if self.loads is not None:
            return self.loads(self, kind, changes)
        if kind == "export":
            return (LoadFile(self.stem, self.header, tuple(self.cells(c) for c in changes), self.how),)
        undo = [c.reversed() for c in changes if c.old.key is not None]
        return (LoadFile("rollback", self.header, tuple(self.cells(c) for c in undo), self.how),)


def require_key_text(value: str, what: str) -> str:
    """`value` stripped, if it can be a load-file key: not blank, nothing a spreadsheet would run.

    Keys are never neutralized (that would change them), so a key that would
    need it is refused instead.
    """
    value = value.strip()
    if not value:
        raise RowSkipped(f"no {what}")
    if needs_neutralizing(value):
        raise RowSkipped(f"{what} {value!r} starts with a character a spreadsheet reads as a formula")
    return value


def require_email(value: str, what: str) -> str:
    value = require_key_text(value, what)
    if not _EMAIL.match(value):
        raise RowSkipped(f"{what} {value!r} is not an email address")
    return value


def require_digits(value: str, what: str) -> str:
    value = require_key_text(value, what)
    if not value.isascii() or not value.isdigit():
        raise RowSkipped(f"{what} {value!r} is not numeric")
    return value


# Where each kind of owner's CRM identity is kept, so a message can name the cell to fill in.
IDENTITY_SOURCE = {"csm": "csms.csv", "pool": "pools.csv", "digital": "programs.csv, or --digital-owner"}


def owner_label(owner: Mapping[str, str]) -> str:
    """'pool pool_01 (pools.csv)': the owner, and the table its CRM identity comes from."""
    kind = owner.get("owner_type") or "owner"
    where = IDENTITY_SOURCE.get(kind)
    label = f"the digital program {owner['owner_id']}" if kind == "digital" else f"{kind} {owner['owner_id']}"
    return f"{label} ({where})" if where else label

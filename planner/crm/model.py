"""What every export format shares: the change rows, and what a format must provide.

A format decides three things: how an account's CRM id becomes the record key
of its load file, how an owner becomes the CRM identity the file sets (a
Salesforce user id, a HubSpot owner id, an email), and which cells a row has.
Everything else -- choosing rows, exceptions, rollback, splitting, checksums,
the ledger -- is the same for every format and lives in the package.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
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
class CrmFormat:
    """One export format. The key functions raise RowSkipped with a reason."""

    name: str
    stem: str  # file name of the export, without extension
    extension: str  # "csv" or "json"
    header: tuple[str, ...]
    record_key: Callable[[Mapping[str, str]], str]  # assignments row -> record key
    owner_key: Callable[[Mapping[str, str]], str]  # owners.csv row -> CRM owner identity
    cells: Callable[[Change], tuple] = key_pair
    warnings: tuple[str, ...] = ()


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


def owner_label(owner: Mapping[str, str]) -> str:
    return f"{owner.get('owner_type') or 'owner'} {owner['owner_id']}"

"""From a plan to load rows: which accounts go in, which become exceptions, and the rollback.

Every selected account ends up exactly once: either as a row of the load
file or as a line of exceptions.csv -- never silently dropped. An exported row
whose previous owner cannot be set back in the CRM (a new account, an owner on
no roster, an owner with no CRM user) is in the load file but its rollback is
an exception, so the user sees what a rollback could not undo.

Owners' CRM identities come from the plan's owners.csv (the book's csms,
pools and programs tables); the digital program's can be overridden for one
export (--digital-owner or the export config's digital_owner).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from planner.crm.model import Change, CrmFormat, ExportError, Party, RowSkipped
from planner.plans import Plan

NO_PREVIOUS_OWNER = "new account: no previous owner to restore"


@dataclass(frozen=True)
class ExceptionRow:
    account_id: str
    crm_id: str
    owner_type: str
    owner_id: str
    previous_owner: str
    file: str  # "export" (not in the load file) or "rollback" (not in the rollback file)
    reason: str


EXCEPTION_COLUMNS = ("account_id", "crm_id", "owner_type", "owner_id", "previous_owner", "file", "reason")


@dataclass(frozen=True)
class Built:
    selected: tuple[str, ...]  # account ids chosen for the export, in plan order
    export: tuple[Change, ...]  # the exported accounts' changes; their rollback undoes the ones whose old.key is known
    exceptions: tuple[ExceptionRow, ...]


def digital_owner_row(value: str, digital_id: str) -> dict[str, str]:
    """An owners.csv-like row for a digital owner given for one export: an email, or an id (CRM user or HubSpot owner)."""
    is_email = "@" in value
    return {
        "owner_id": digital_id,
        "owner_type": "digital",
        "name": "digital owner",
        "email": value if is_email else "",
        "crm_user_id": "" if is_email else value,
        "hubspot_owner_id": "" if is_email else value,
    }


class _Owners:
    """Resolves planner owner ids to Parties for one format, once per owner."""

    def __init__(self, owners: Mapping[str, Mapping[str, str]], fmt: CrmFormat, digital_owner: str | None):
        self._owners = owners
        self._fmt = fmt
        self._digital = digital_owner
        self._cache: dict[str, Party] = {}
        if digital_owner is not None:
            self._check_digital(digital_owner)

    def _check_digital(self, value: str) -> None:
        """A digital owner that does not fit the format is a configuration error, not a row exception."""
        try:
            self._fmt.owner_key(digital_owner_row(value, "digital"))
        except RowSkipped as exc:
            raise ExportError(
                f"--digital-owner {value!r} does not fit the {self._fmt.name} format: {exc.reason}"
            ) from None

    def party(self, owner_id: str) -> Party:
        if owner_id not in self._cache:
            self._cache[owner_id] = self._resolve(owner_id)
        return self._cache[owner_id]

    def _resolve(self, owner_id: str) -> Party:
        if not owner_id:
            return Party("", "", "", "", None, NO_PREVIOUS_OWNER)
        row = self._owners.get(owner_id)
        if row is None:
            return Party(
                owner_id, "unknown", "", "", None, f"owner {owner_id!r} is on no roster, so its CRM user is unknown"
            )
        if row["owner_type"] == "digital" and self._digital is not None:  # given for this export: it wins
            row = digital_owner_row(self._digital, owner_id)
        try:
            key, problem = self._fmt.owner_key(row), ""
        except RowSkipped as exc:
            key, problem = None, exc.reason
        return Party(owner_id, row["owner_type"], row["email"], row["crm_user_id"], key, problem)


def _exception(row: Mapping[str, str], file: str, reason: str) -> ExceptionRow:
    return ExceptionRow(
        row["account_id"], row["crm_id"], row["owner_type"], row["owner_id"], row["previous_owner"], file, reason
    )


def _change(row: Mapping[str, str], fmt: CrmFormat, owners: _Owners, plan_id: str) -> Change:
    """The account's load row; RowSkipped when it cannot be loaded."""
    if row["owner_type"] == "unassigned":  # the plan gives it no owner: nothing to load, and the plan says why
        said = row.get("reason_detail") or ""
        raise RowSkipped(f"the plan leaves it without an owner ({row['reason']}{': ' + said if said else ''})")
    record_key = fmt.record_key(row)
    new = owners.party(row["owner_id"])
    if new.key is None:
        raise RowSkipped(new.problem)
    return Change(
        row["account_id"],
        record_key,
        new,
        owners.party(row["previous_owner"]),
        row["changed"] == "true",
        row["reason"],
        plan_id,
    )


def _shared_keys(changes: list[Change]) -> dict[str, list[str]]:
    """record key -> account ids, for keys more than one account maps to."""
    accounts = defaultdict(list)
    for change in changes:
        accounts[change.record_key].append(change.account_id)
    return {key: ids for key, ids in accounts.items() if len(ids) > 1}


def build(plan: Plan, fmt: CrmFormat, only_changes: bool, digital_owner: str | None) -> Built:
    """The load rows, rollback rows and exceptions of `plan` in format `fmt`."""
    owners = _Owners(plan.owners, fmt, digital_owner)
    rows = [r for r in plan.assignments if r["changed"] == "true" or not only_changes]
    by_account = {r["account_id"]: r for r in rows}
    changes: list[Change] = []
    skipped: dict[str, str] = {}
    for row in rows:
        try:
            changes.append(_change(row, fmt, owners, plan.plan_id))
        except RowSkipped as exc:
            skipped[row["account_id"]] = exc.reason
    for key, ids in _shared_keys(changes).items():
        for account_id in ids:
            skipped[account_id] = (
                f"CRM record {key} is shared by accounts {', '.join(ids)}; a load would update it more than once"
            )
    changes = [c for c in changes if c.account_id not in skipped]

    exceptions = [_exception(by_account[a], "export", reason) for a, reason in skipped.items()]
    exceptions += [
        _exception(by_account[c.account_id], "rollback", c.old.problem) for c in changes if c.old.key is None
    ]
    order = {r["account_id"]: i for i, r in enumerate(rows)}
    exceptions.sort(key=lambda e: (order[e.account_id], e.file))
    return Built(selected=tuple(r["account_id"] for r in rows), export=tuple(changes), exceptions=tuple(exceptions))

"""Generic CSV and JSON: the whole change, for any other CRM or an integration.

One row per account: the account and CRM ids, the new owner (planner id,
email, CRM user id, type), the previous owner (same), whether it changed, the
plan's reason and the plan id. Every text cell of the CSV is neutralized
against spreadsheet formulas (a leading ``'``, see safety.py); JSON is not
opened by spreadsheets and carries the values as they are, with ``changed``
as a boolean.
"""

from __future__ import annotations

from collections.abc import Mapping

from planner.crm.model import Change, CrmFormat, RowSkipped, owner_label

COLUMNS = (
    "account_id", "crm_id", "owner_type", "new_owner_id", "new_owner_email", "new_owner_crm_user_id",
    "previous_owner_id", "previous_owner_type", "previous_owner_email", "previous_owner_crm_user_id",
    "changed", "reason", "plan_id",
)  # fmt: skip


def record_key(account: Mapping[str, str]) -> str:
    value = account["crm_id"].strip()
    if not value:
        raise RowSkipped("no CRM id (crm_id)")
    return value


def owner_key(owner: Mapping[str, str]) -> str:
    value = owner["crm_user_id"].strip()
    if not value:
        raise RowSkipped(f"no CRM user id (crm_user_id) for {owner_label(owner)}")
    return value


def cells(change: Change) -> tuple:
    new, old = change.new, change.old
    return (
        change.account_id, change.record_key, new.owner_type, new.owner_id, new.email, new.key or "",
        old.owner_id, old.owner_type, old.email, old.key or "",
        change.changed, change.reason, change.plan_id,
    )  # fmt: skip


def make(extension: str) -> CrmFormat:
    return CrmFormat(
        name=extension,
        stem="owner_changes",
        extension=extension,
        header=COLUMNS,
        record_key=record_key,
        owner_key=owner_key,
        cells=cells,
    )

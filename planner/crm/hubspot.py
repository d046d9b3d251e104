"""HubSpot: a company import file that updates the owner of existing companies.

Columns: ``Record ID`` (HubSpot's numeric company id, from the account's
crm_id) and either ``hubspot_owner_id`` -- the *owner* id, which is not the
user id -- or, with ``hubspot_owner_by="email"``, ``Company owner`` holding
the owner's email, which the import matches to a HubSpot user.

The owner id comes from a ``hubspot_owner_id`` column of the roster when the
plan carries one, else from ``crm_user_id``.
"""

from __future__ import annotations

from collections.abc import Mapping

from planner.crm.model import CrmFormat, ExportError, owner_label, require_digits, require_email

OWNER_BY = ("id", "email")


def record_key(account: Mapping[str, str]) -> str:
    return require_digits(account["crm_id"], "HubSpot company Record ID (crm_id)")


def owner_id_key(owner: Mapping[str, str]) -> str:
    value = owner.get("hubspot_owner_id", "").strip() or owner["crm_user_id"]
    return require_digits(value, f"HubSpot owner id (hubspot_owner_id, else crm_user_id) for {owner_label(owner)}")


def owner_email_key(owner: Mapping[str, str]) -> str:
    return require_email(owner["email"], f"email for {owner_label(owner)}")


def make(owner_by: str = "id") -> CrmFormat:
    if owner_by not in OWNER_BY:
        raise ExportError(f"Expected --hubspot-owner-by to be one of {list(OWNER_BY)}, got {owner_by!r}")
    by_email = owner_by == "email"
    return CrmFormat(
        name="hubspot",
        stem="hubspot_company_owners",
        extension="csv",
        header=("Record ID", "Company owner" if by_email else "hubspot_owner_id"),
        record_key=record_key,
        owner_key=owner_email_key if by_email else owner_id_key,
    )

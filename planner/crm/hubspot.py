"""HubSpot: a company import file that sets an owner property of existing companies.

Columns: ``Record ID`` (HubSpot's numeric company id: the account's
``hubspot_id`` column when the book has one, else its crm_id) and the owner
property. By default that is ``hubspot_owner_id``, the Company owner -- in
most portals the sales owner, so the export warns; CS teams keep the CSM in a
custom property of field type "HubSpot user" (``--property NAME``, its
internal name). Its values are the HubSpot *owner* id, which is not the user
id, or with ``hubspot_owner_by="email"`` the owner's email, which the import
matches to a HubSpot user (the default property's column is then headed
``Company owner``, as HubSpot's import expects).

The owner id comes from a ``hubspot_owner_id`` column of the roster when the
plan carries one, else from ``crm_user_id``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from planner.crm.model import CrmFormat, ExportError, owner_label, require_digits, require_email

OWNER_BY = ("id", "email")
DEFAULT_PROPERTY = "hubspot_owner_id"
_INTERNAL_NAME = re.compile(r"[a-z][a-z0-9_]{0,99}")  # HubSpot property internal names: lower case, digits, _

SALES_OWNER_WARNING = (
    "HubSpot: hubspot_owner_id is the Company owner, in most portals the sales owner: this import replaces it with "
    "each company's CSM. If your CSMs live in a custom HubSpot user property, export with --property NAME (its "
    "internal name) instead."
)


def record_key(account: Mapping[str, str]) -> str:
    given = account.get("hubspot_id", "").strip()
    value, where = (given, "hubspot_id") if given else (account["crm_id"], "hubspot_id, else crm_id")
    return require_digits(value, f"HubSpot company Record ID ({where})")


def owner_id_key(owner: Mapping[str, str]) -> str:
    value = owner.get("hubspot_owner_id", "").strip() or owner["crm_user_id"]
    return require_digits(value, f"HubSpot owner id (hubspot_owner_id, else crm_user_id) for {owner_label(owner)}")


def owner_email_key(owner: Mapping[str, str]) -> str:
    return require_email(owner["email"], f"email for {owner_label(owner)}")


def make(owner_by: str = "id", prop: str | None = None) -> CrmFormat:
    if owner_by not in OWNER_BY:
        raise ExportError(f"Expected --hubspot-owner-by to be one of {list(OWNER_BY)}, got {owner_by!r}")
    prop = (prop or DEFAULT_PROPERTY).strip()
    if not _INTERNAL_NAME.fullmatch(prop):
        raise ExportError(
            f"Expected --property to be a HubSpot property's internal name (lower case letters, digits and _, "
            f"e.g. customer_success_manager), got {prop!r}"
        )
    by_email = owner_by == "email"
    default = prop == DEFAULT_PROPERTY
    return CrmFormat(
        name="hubspot",
        stem="hubspot_company_owners" if default else f"hubspot_company_{prop}",
        extension="csv",
        header=("Record ID", "Company owner" if by_email and default else prop),
        record_key=record_key,
        owner_key=owner_email_key if by_email else owner_id_key,
        how="Companies import (update existing records by Record ID)",
        target=f"Company {prop}",
        warnings=(SALES_OWNER_WARNING,) if default else (),
    )

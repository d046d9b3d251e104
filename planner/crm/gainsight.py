"""Gainsight: a Company update for a bulk job or a rules/data-designer load.

Columns: ``Company External ID`` (the account's ``gainsight_id`` column when
the book has one, else its crm_id) and ``CSM Email``; map ``CSM Email`` to the
Company's CSM field with a lookup on the GS User email.
"""

from __future__ import annotations

from collections.abc import Mapping

from planner.crm.model import CrmFormat, owner_label, require_email, require_key_text


def record_key(account: Mapping[str, str]) -> str:
    value = account.get("gainsight_id", "").strip() or account["crm_id"]
    return require_key_text(value, "Gainsight Company External ID (gainsight_id, else crm_id)")


def owner_key(owner: Mapping[str, str]) -> str:
    return require_email(owner["email"], f"email for {owner_label(owner)}")


def make() -> CrmFormat:
    return CrmFormat(
        name="gainsight",
        stem="gainsight_company_csm",
        extension="csv",
        header=("Company External ID", "CSM Email"),
        record_key=record_key,
        owner_key=owner_key,
        how="Company update (bulk job or rules load; CSM looked up by GS User email)",
        target="Company CSM",
    )

"""Salesforce: an Account update file for Data Loader or Bulk API 2.0.

``Id,OwnerId`` with 18-character ids (15-character ids are converted with the
documented checksum; anything else goes to the exceptions file), UTF-8
without BOM, LF line endings -- Bulk API 2.0's default ``lineEnding`` -- and
parts below 100 MB (the upload limit) and, when asked, at most N records each
(Data Loader's Bulk API batch size is at most 10,000).

Account owners must be Users (key prefix 005): an account cannot be owned by
a queue, so a pool maps to its pool user, and a queue id (00G) on the roster
is reported as an exception rather than sent to fail in the load.
"""

from __future__ import annotations

from collections.abc import Mapping

from planner.crm.ids import ACCOUNT_PREFIX, USER_PREFIX, SalesforceIdError, require_prefix, to18
from planner.crm.model import CrmFormat, RowSkipped, owner_label

ACCOUNT_TEAM_WARNING = (
    "Salesforce: changing Account owner through the API (Data Loader, Bulk API 2.0) deletes the account team "
    "and its sharing by default. To keep it, load through the SOAP API with the OwnerChangeOptions header "
    "KeepAccountTeam=true (API 45.0+), or export AccountTeamMember before the load and re-insert it after."
)


def _sf_id(value: str, prefix: str, what: str) -> str:
    value = value.strip()
    if not value:
        raise RowSkipped(f"no {what}")
    try:
        return require_prefix(to18(value), prefix, what)
    except SalesforceIdError as exc:
        raise RowSkipped(f"{what}: {exc}") from None


def record_key(account: Mapping[str, str]) -> str:
    return _sf_id(account["crm_id"], ACCOUNT_PREFIX, "Salesforce Account id (crm_id)")


def owner_key(owner: Mapping[str, str]) -> str:
    return _sf_id(owner["crm_user_id"], USER_PREFIX, f"Salesforce User id (crm_user_id) for {owner_label(owner)}")


def make() -> CrmFormat:
    return CrmFormat(
        name="salesforce",
        stem="salesforce_account_owners",
        extension="csv",
        header=("Id", "OwnerId"),
        record_key=record_key,
        owner_key=owner_key,
        warnings=(ACCOUNT_TEAM_WARNING,),
    )

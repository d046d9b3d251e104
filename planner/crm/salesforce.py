"""Salesforce: files for Data Loader or Bulk API 2.0 that set who covers each Account.

Three targets (``--target``), because the CSM is kept in different places in
different orgs:

- ``owner``: an Account update file ``Id,OwnerId``. OwnerId is the Account
  *owner* -- in most orgs the account executive -- so this replaces the sales
  owner; the export says so every time.
- ``field:NAME``: an Account update file ``Id,NAME`` for a custom user lookup
  such as ``CSM__c`` (the usual home of the CSM).
- ``account-team:ROLE``: the account team, ``AccountTeamMember`` with
  ``AccountId,UserId,TeamMemberRole``: an insert file with the new members
  and a delete file with the old members of that role. The planner does not
  know the old members' AccountTeamMember record ids, which a delete needs,
  so the delete file names each member by AccountId, UserId and
  TeamMemberRole and the summary says how to look the ids up. The rollback is
  the pair the other way round: delete the new members, insert the old ones.

Ids are 18 characters (15-character ids are converted with the documented
checksum; anything else goes to the exceptions file), files UTF-8 without
BOM with LF line endings -- Bulk API 2.0's default ``lineEnding`` -- in
parts below 100 MB (the upload limit) and, when asked, at most N records each
(Data Loader's Bulk API batch size is at most 10,000).

Accounts can only be owned by Users (key prefix 005), and user lookups and
team members are Users too: a pool maps to its pool user, and a queue id (00G)
on the roster is reported as an exception rather than sent to fail in the load.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import partial

from planner.crm.ids import ACCOUNT_PREFIX, USER_PREFIX, SalesforceIdError, require_prefix, to18
from planner.crm.model import Change, CrmFormat, ExportError, LoadFile, RowSkipped, owner_label
from planner.crm.safety import needs_neutralizing
from planner.io.schema import control_characters

TARGETS = ("owner", "field:NAME", "account-team:ROLE")
OWNER_FIELD = "OwnerId"
TEAM_HEADER = ("AccountId", "UserId", "TeamMemberRole")
MAX_ROLE_CHARS = 40  # AccountTeamMember.TeamMemberRole: a picklist of length 40 (Salesforce field reference)
_API_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,79}")  # an Account field's API name, e.g. CSM__c, ns__CSM__c

ACCOUNT_TEAM_WARNING = (
    "Salesforce: changing Account owner through the API (Data Loader, Bulk API 2.0) deletes the account team "
    "and its sharing by default. To keep it, load through the SOAP API with the OwnerChangeOptions header "
    "KeepAccountTeam=true (API 45.0+), or export AccountTeamMember before the load and re-insert it after."
)
OWNER_WARNING = (
    "Salesforce --target owner sets Account.OwnerId: it replaces each account's owner, in most orgs the account "
    "executive, with its CSM. If your CSMs live in a user lookup field or the account team, export with "
    "--target field:CSM__c or --target 'account-team:Customer Success Manager' instead."
)


def team_delete_note(role: str) -> str:
    return (
        f"Salesforce account team: the delete files name each {role!r} member by AccountId, UserId and TeamMemberRole, "
        "because the planner does not know their AccountTeamMember record ids and a Data Loader delete needs them. "
        "Before a delete, export AccountTeamMember (SELECT Id, AccountId, UserId, TeamMemberRole FROM "
        f"AccountTeamMember WHERE TeamMemberRole = '{role}'), match it on those three columns to get each Id, and "
        "delete by Id. An account whose previous owner has no Salesforce user (exceptions.csv, file = rollback) may "
        "keep an old member of this role: remove it by hand."
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


def parse_target(text: str) -> tuple[str, str]:
    """('owner', 'OwnerId'), ('field', NAME) or ('account-team', ROLE) from a --target value; ExportError if none."""
    kind, _, arg = text.strip().partition(":")
    kind, arg = kind.strip().lower(), arg.strip()
    if kind == "owner" and not arg:
        return "owner", OWNER_FIELD
    if kind == "field" and arg:
        if not _API_NAME.fullmatch(arg) or arg.lower() == "id":
            raise ExportError(
                f"Expected --target field:NAME to name an Account user lookup field by its API name (e.g. CSM__c), "
                f"got {arg!r}"
            )
        return ("owner", OWNER_FIELD) if arg == OWNER_FIELD else ("field", arg)
    if kind == "account-team" and arg:
        if len(arg) > MAX_ROLE_CHARS or needs_neutralizing(arg) or control_characters(arg):
            raise ExportError(
                f"Expected --target account-team:ROLE to name a Team Role as Salesforce lists it (at most "
                f"{MAX_ROLE_CHARS} characters, no leading =, +, -, @), got {arg!r}"
            )
        return "account-team", arg
    raise ExportError(f"Expected --target to be one of {', '.join(TARGETS)}, got {text!r}")


def _team_rows(changes: Sequence[Change], role: str, side: str, only_moves: bool) -> tuple[tuple, ...]:
    """(AccountId, UserId, role) of each change's `side` owner; `only_moves`: where the CRM user changes."""
    out = []
    for c in changes:
        party = c.new if side == "new" else c.old
        if party.key is None or (only_moves and c.new.key == c.old.key):
            continue
        out.append((c.record_key, party.key, role))
    return tuple(out)


def _team_loads(role: str, fmt: CrmFormat, kind: str, changes: Sequence[Change]) -> tuple[LoadFile, ...]:
    """Insert the new members and delete the old ones (the rollback: delete the new, insert the old).

    The export's insert file has every exported account, so the team ends with
    the planned CSM even where that member was missing; the delete files only
    name members that leave an account (a CSM who stays is never deleted).
    """
    insert, delete = "AccountTeamMember insert", "AccountTeamMember delete (look up each member's Id first)"
    if kind == "export":
        return (
            LoadFile("salesforce_account_team_insert", TEAM_HEADER, _team_rows(changes, role, "new", False), insert),
            LoadFile("salesforce_account_team_delete", TEAM_HEADER, _team_rows(changes, role, "old", True), delete),
        )
    return (
        LoadFile("rollback_account_team_delete", TEAM_HEADER, _team_rows(changes, role, "new", True), delete),
        LoadFile("rollback_account_team_insert", TEAM_HEADER, _team_rows(changes, role, "old", True), insert),
    )


def make(target: str = "owner") -> CrmFormat:
    kind, arg = parse_target(target)
    common = dict(name="salesforce", extension="csv", record_key=record_key, owner_key=owner_key)
    if kind == "owner":
        return CrmFormat(
            stem="salesforce_account_owners", header=("Id", OWNER_FIELD), how="Account update",
            target="Account.OwnerId", warnings=(OWNER_WARNING, ACCOUNT_TEAM_WARNING), **common,
        )  # fmt: skip
    if kind == "field":
        return CrmFormat(
            stem=f"salesforce_account_{arg}", header=("Id", arg), how="Account update", target=f"Account.{arg}",
            **common,
        )  # fmt: skip
    return CrmFormat(
        stem="salesforce_account_team", header=TEAM_HEADER, how="AccountTeamMember insert",
        target=f"AccountTeamMember ({arg})", warnings=(team_delete_note(arg),), loads=partial(_team_loads, arg),
        **common,
    )  # fmt: skip

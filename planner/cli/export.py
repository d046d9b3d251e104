"""`planner export PLAN --format F --out DIR`: CRM load files, rollback, exceptions, ledger record.

Heavy imports happen inside the command so `planner --help` stays fast.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Optional

import typer

from planner.cli.common import ledger_input, out, prepare_output
from planner.cli.common import warning as warning_line
from planner.cli.options import ForceOption, LedgerOption


class ExportFormat(StrEnum):
    salesforce = "salesforce"
    hubspot = "hubspot"
    gainsight = "gainsight"
    csv = "csv"
    json = "json"


class HubspotOwnerBy(StrEnum):
    id = "id"
    email = "email"


def print_result(result) -> None:
    """The export (or rollback) folder's files (how each is loaded), counts and warnings."""
    from rich.table import Table

    console = out
    table = Table(
        title=f"{result.kind} of {result.plan_id} ({result.format}) -> {result.out_dir}", title_justify="left"
    )
    for column in ("file", "role", "rows", "load as", "sha256"):
        table.add_column(column, justify="right" if column == "rows" else "left", overflow="fold")
    for f in result.files:
        table.add_row(f["name"], f["role"], f"{f['rows']:,}", f.get("how", ""), f["sha256"][:16])
    console.print(table)
    console.print(", ".join(f"{k}={v:,}" for k, v in result.counts.items()))
    for note in result.notes:
        console.print(note)
    for warning in result.warnings:
        warning_line(warning)
    console.print(f"checksum {result.checksum}; ledger export #{result.export_id}; plan is now {result.state}")


def export(
    plan: Annotated[Path, typer.Argument(help="Plan folder written by `planner solve`.")],
    format: Annotated[ExportFormat, typer.Option("--format", "--to", "-f", help="Target CRM format.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Export folder to create.")],
    target: Annotated[
        Optional[str],
        typer.Option(
            "--target",
            help="Salesforce: what holds the CSM: owner (Account.OwnerId, the default; replaces the account owner), "
            "field:NAME (a user lookup such as CSM__c) or account-team:ROLE (AccountTeamMember insert + delete).",
        ),
    ] = None,
    prop: Annotated[
        Optional[str],
        typer.Option(
            "--property", help="HubSpot: the owner property to set (default hubspot_owner_id, the Company owner)."
        ),
    ] = None,
    only_changes: Annotated[bool, typer.Option("--only-changes", help="Only accounts whose owner changed.")] = False,
    force: ForceOption = False,
    allow_draft: Annotated[bool, typer.Option("--allow-draft", help="Export a plan nobody approved.")] = False,
    digital_owner: Annotated[
        Optional[str], typer.Option("--digital-owner", help="CRM user id or email that owns digital-touch accounts.")
    ] = None,
    hubspot_owner_by: Annotated[
        Optional[HubspotOwnerBy],
        typer.Option("--hubspot-owner-by", help="HubSpot: set the owner by owner id (default) or email."),
    ] = None,
    max_records: Annotated[
        Optional[int], typer.Option("--max-records", min=1, help="Split load files at this many records (e.g. 10000).")
    ] = None,
    max_bytes: Annotated[
        Optional[int], typer.Option("--max-bytes", min=1, help="Split load files below this size (default 100 MB).")
    ] = None,
    config: Annotated[
        Optional[Path], typer.Option("--config", help="Export config TOML file (its export table sets defaults).")
    ] = None,
    ledger: LedgerOption = None,
    by: Annotated[Optional[str], typer.Option("--by", help="Who exports (default: your user name).")] = None,
) -> None:
    """Write CRM load files for a plan, with a rollback file and an exceptions list."""
    from planner.crm import DEFAULT_MAX_BYTES, export_plan
    from planner.crm.config import load_export_config
    from planner.errors import UsageError

    # A flag of another format is a mistake in the command (exit 2), found before anything is read or written.
    if target is not None and format is not ExportFormat.salesforce:
        raise UsageError(f"Expected --target only with --format salesforce, got it with --format {format.value}")
    if prop is not None and format is not ExportFormat.hubspot:
        raise UsageError(f"Expected --property only with --format hubspot, got it with --format {format.value}")
    prepare_output(
        out, force, {"the plan folder": plan, "the config file": config, "the ledger": ledger_input(ledger, plan)}
    )
    settings = load_export_config(config, format.value) if config else {}
    # The config's target and property are defaults for their own format; on the command line they must fit --format.
    if format is ExportFormat.salesforce:
        target = target or settings.get("salesforce_target")
    if format is ExportFormat.hubspot:
        prop = prop or settings.get("hubspot_property")
    result = export_plan(
        plan, format.value, out, only_changes=only_changes, force=force, allow_draft=allow_draft, ledger=ledger,
        digital_owner=digital_owner or settings.get("digital_owner"),
        hubspot_owner_by=hubspot_owner_by.value if hubspot_owner_by else settings.get("hubspot_owner_by", "id"),
        max_records=max_records or settings.get("max_records"),
        max_bytes=max_bytes or settings.get("max_bytes", DEFAULT_MAX_BYTES),
        by=by, salesforce_target=target, hubspot_property=prop,
    )  # fmt: skip
    print_result(result)

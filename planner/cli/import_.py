"""planner import salesforce|hubspot|gainsight ACCOUNTS --users USERS --out BOOK [--map MAP.toml] [--locale L]"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from planner.cli.common import (
    EXIT_INPUT,
    err,
    fail,
    load_policy_or_exit,
    out,
    parse_date,
    prepare_output,
    report_findings,
    styled,
)
from planner.cli.options import AsOfOption, ForceOption, LocaleOption, MapOption, PolicyOption, ReportOption


class Crm(StrEnum):
    salesforce = "salesforce"
    hubspot = "hubspot"
    gainsight = "gainsight"


def import_(
    crm: Annotated[Crm, typer.Argument(help="The CRM the exports come from.")],
    accounts: Annotated[
        Path, typer.Argument(help="Accounts / companies export: a .csv file or an .xlsx workbook.", metavar="ACCOUNTS")
    ],
    users: Annotated[Path, typer.Option("--users", help="Users / owners export (.csv or .xlsx): the roster.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Book folder to create (accounts.csv, csms.csv).")],
    column_map: MapOption = None,
    locale: LocaleOption = None,
    policy: PolicyOption = None,
    as_of: AsOfOption = None,
    report: ReportOption = None,
    force: ForceOption = False,
) -> None:
    """Turn a CRM's accounts and users exports into a book (docs/crm_import.md).

    The CRM's standard map (its export's column names) reads the files;
    --map MAP.toml replaces any entry of it. Region, UTC offset and language
    come from the country, state and time zone columns. Every value that
    cannot be read is reported with its row and column, grouped; the book is
    written only when it has no error.
    """
    from planner.cli.common import print_findings
    from planner.crm.imports.book import import_book, import_map, write_imported
    from planner.errors import BookError, PlannerError
    from planner.io.outputs import check_overlap

    inputs = {"the accounts file": accounts, "the users file": users, "the map file": column_map, "the policy": policy}
    prepare_output(out_dir, force, inputs)
    if report is not None:
        try:
            check_overlap(report, {**inputs, "the book": out_dir})
        except PlannerError as exc:
            fail(str(exc), exc.exit_code)
    pol = load_policy_or_exit(policy)
    try:
        cmap = import_map(crm.value, column_map, locale)
        imported = import_book(crm.value, accounts, users, cmap, pol, parse_date(as_of) or _today())
    except BookError as exc:
        print_findings(exc.findings, report_hint="")
        raise typer.Exit(EXIT_INPUT) from None
    findings = imported.findings
    errors, warnings, _ = report_findings(findings, report, force)
    if imported.book is None:
        err.print(styled(f"{errors} error(s)", "red"), f", {warnings} warning(s); no book was written.", sep="")
        raise typer.Exit(EXIT_INPUT)
    write_imported(imported, out_dir, force=force)
    b = imported.book
    owned = int((b.accounts["current_owner"] != "").sum()) if "current_owner" in b.accounts else 0
    out.print(
        styled("OK", "green"),
        f"Book written to {out_dir}/: {len(b.accounts):,} accounts ({owned:,} with a current owner), "
        f"{len(b.csms):,} CSMs{_others(b, pol)}; {warnings} warning(s). Next: planner solve {out_dir} --out PLAN",
    )


def _others(book, policy) -> str:
    """The book's pools and digital program: ', 2 pool(s) (310 accounts), the digital program (620 accounts)'."""
    parts = []
    if len(book.pools):
        pooled = int(book.accounts["current_owner"].isin(set(book.pools["pool_id"])).sum())
        parts.append(f"{len(book.pools):,} pool(s) ({pooled:,} accounts)")
    if len(book.programs):
        digital = int((book.accounts["current_owner"] == policy.digital_owner_id).sum())
        parts.append(f"the digital program ({digital:,} accounts)")
    return "".join(f", {p}" for p in parts)


def _today():
    import datetime as dt

    return dt.date.today()

"""planner validate BOOK [--map MAP.toml] [--locale L] [--report FILE.csv]"""

from __future__ import annotations

from typing import Annotated

import typer

from planner.cli.common import (
    EXIT_INPUT,
    err,
    fail,
    load_policy_or_exit,
    out,
    parse_date,
    print_findings,
    report_findings,
    styled,
)
from planner.cli.options import AsOfOption, BookArg, LocaleOption, MapOption, PolicyOption, ReportOption


def validate(
    book: BookArg,
    policy: PolicyOption = None,
    as_of: AsOfOption = None,
    column_map: MapOption = None,
    locale: LocaleOption = None,
    report: ReportOption = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing --report file.")] = False,
) -> None:
    """Check a book and print every problem at once (file, row, column, what was expected).

    The same finding on many rows prints as one line (the count, the first
    rows, what was expected); --report FILE.csv writes every finding, one row
    each.
    """
    from planner.errors import BookError, PlannerError
    from planner.io import ColumnMap, load_map, validate_book
    from planner.io.colmap import EMPTY
    from planner.io.outputs import check_overlap

    if report is not None:
        try:
            check_overlap(report, {"the book": book, "the policy file": policy, "the map file": column_map})
        except PlannerError as exc:
            fail(str(exc), exc.exit_code)
    try:
        cmap: ColumnMap = load_map(column_map) if column_map else EMPTY
        cmap = cmap.with_locale(locale)
    except BookError as exc:
        print_findings(exc.findings, report_hint="")
        raise typer.Exit(EXIT_INPUT) from None
    b, findings = validate_book(book, policy=load_policy_or_exit(policy), as_of=parse_date(as_of), column_map=cmap)
    errors, warnings, notes = report_findings(findings, report, force)
    tail = f", {notes} note(s)" if notes else ""
    if errors:
        err.print(styled(f"{errors} error(s)", "red"), f", {warnings} warning(s){tail} in {book}", sep="")
        raise typer.Exit(EXIT_INPUT)
    seg = b.accounts["segment"].value_counts().to_dict()
    out.print(
        styled("OK", "green"),
        f"{book}: {len(b.accounts):,} accounts ({', '.join(f'{k} {v:,}' for k, v in seg.items())}), "
        f"{len(b.csms):,} CSMs, {len(b.pools):,} pools, {len(b.relationships):,} relationships; "
        f"{warnings} warning(s){tail}",
    )

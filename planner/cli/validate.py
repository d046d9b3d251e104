"""planner validate BOOK"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from planner.cli.common import EXIT_INPUT, err, load_policy_or_exit, out, parse_date, print_findings, styled


def validate(
    book: Path = typer.Argument(..., help="Folder of CSV/Parquet files, or one .xlsx workbook."),
    policy: Optional[Path] = typer.Option(None, "--policy", help="TOML file merged over the default policy."),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="Plan date (ISO), default today."),
) -> None:
    """Check a book and print every problem at once (file, row, column, what was expected)."""
    from planner.io import validate_book

    b, findings = validate_book(book, policy=load_policy_or_exit(policy), as_of=parse_date(as_of))
    print_findings(findings)
    errors = sum(f.severity == "error" for f in findings)
    warnings = len(findings) - errors
    if errors:
        err.print(styled(f"{errors} error(s)", "red"), f", {warnings} warning(s) in {book}", sep="")
        raise typer.Exit(EXIT_INPUT)
    seg = b.accounts["segment"].value_counts().to_dict()
    out.print(
        styled("OK", "green"),
        f" {book}: {len(b.accounts):,} accounts ({', '.join(f'{k} {v:,}' for k, v in seg.items())}), "
        f"{len(b.csms):,} CSMs, {len(b.pools):,} pools, {len(b.relationships):,} relationships; {warnings} warning(s)"
    )

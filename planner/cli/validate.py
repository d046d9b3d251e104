"""planner validate BOOK"""

from __future__ import annotations

import typer

from planner.cli.common import EXIT_INPUT, err, load_policy_or_exit, out, parse_date, print_findings, styled
from planner.cli.options import AsOfOption, BookArg, PolicyOption


def validate(book: BookArg, policy: PolicyOption = None, as_of: AsOfOption = None) -> None:
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
        f"{book}: {len(b.accounts):,} accounts ({', '.join(f'{k} {v:,}' for k, v in seg.items())}), "
        f"{len(b.csms):,} CSMs, {len(b.pools):,} pools, {len(b.relationships):,} relationships; {warnings} warning(s)",
    )

"""planner evaluate BOOK [PLAN]"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from planner.cli.common import load_book_or_exit, out
from planner.cli.options import AsOfOption, BookArg, MapOption, PolicyOption


def evaluate(
    book: BookArg,
    plan: Annotated[
        Optional[Path],
        typer.Argument(
            help="A plan folder, or a .csv/.xlsx with account_id and owner_id columns. Default: today's owners."
        ),
    ] = None,
    policy: PolicyOption = None,
    as_of: AsOfOption = None,
    column_map: MapOption = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the scorecard(s) as JSON.")] = False,
) -> None:
    """Score a plan with the independent evaluator: each cost term, every broken rule, utilization and balance.

    Without PLAN it scores today's plan (the book's current owners). With PLAN
    it puts today's plan beside it, and splits off the cap overloads PLAN only
    kept from today's owners.
    """
    from planner.cli.report import scorecard_table
    from planner.planning.plan_input import read_plan_input
    from planner.planning.scorecard import fixes, score, score_today

    b = load_book_or_exit(book, policy, as_of, column_map)
    today = score_today(b)
    cards = [today]
    if plan is not None:
        owners, name = read_plan_input(plan, b)
        cards.append(score(b, owners, name))
    if json_out:
        import json

        doc = {"book": b.name, "as_of": b.as_of.isoformat(), "plans": [c.as_dict() for c in cards]}
        if len(cards) == 2:
            doc["fixes"] = fixes(today, cards[1])
        typer.echo(json.dumps(doc, indent=2))
        return
    out.print(scorecard_table(cards))
    for card in cards:
        shown = card.violations[:10]
        if shown:
            out.print(
                f"{card.name}: {len(card.violations):,} rule(s) broken"
                + (", the first 10:" if len(card.violations) > 10 else ":")
            )
            for v in shown:
                out.print(f"  - {v}")
        if card.inherited:
            out.print(
                f"{card.name}: {len(card.inherited):,} overload(s) kept from today's owners, not made worse (exceptions)"
            )
    if len(cards) == 2:
        fixed = fixes(today, cards[1])
        if fixed:
            out.print(f"{cards[1].name} fixes {sum(fixed.values()):,} of today's broken rules: "
                      + ", ".join(f"{k} {v:,}" for k, v in sorted(fixed.items())))  # fmt: skip

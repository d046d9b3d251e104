"""planner reassign BOOK --leaving CSM_ID --out PLAN"""

from __future__ import annotations

import time
from pathlib import Path
from typing import List, Optional

import typer

from planner.cli.common import (
    EXIT_INPUT, LedgerOption, err, fail, ledger_input, load_book_or_exit, money, out, parse_date, prepare_output,
    record_in_ledger, summary_table, write_or_exit,
)


def reassign(
    book: Path = typer.Argument(..., help="Folder of CSV/Parquet files, or one .xlsx workbook."),
    out_dir: Path = typer.Option(..., "--out", help="Plan folder to write (must not exist unless --force)."),
    leaving: Optional[List[str]] = typer.Option(None, "--leaving", help="CSM leaving for good (repeatable). Default: roster status leaving/on_leave."),
    on_leave: Optional[List[str]] = typer.Option(None, "--on-leave", help="CSM on leave: temporary cover (repeatable)."),
    until: Optional[str] = typer.Option(None, "--until", help="Return date for --on-leave (default: the roster's return_date)."),
    effective: Optional[str] = typer.Option(None, "--effective", help="Date the handoffs take effect (ISO); default the plan date."),
    max_moves: int = typer.Option(0, "--max-moves", min=0, help="Other accounts that may move to make room (cascades)."),
    policy: Optional[Path] = typer.Option(None, "--policy", help="TOML file merged over the default policy."),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="Plan date (ISO), default today."),
    backend: str = typer.Option("highs", "--backend"),
    time_limit: Optional[float] = typer.Option(None, "--time-limit", help="Seconds."),
    force: bool = typer.Option(False, "--force", help="Replace an existing plan folder."),
    ledger: LedgerOption = None,
) -> None:
    """When a CSM leaves: who inherits each account, with warm handoffs where someone already knows the customer."""
    from planner.reassign import LeaverError, reassign as run

    prepare_output(out_dir, force, {"the book": book, "the policy file": policy, "the ledger": ledger_input(ledger, out_dir)})
    t0 = time.perf_counter()
    b = load_book_or_exit(book, policy, as_of)
    load_s = time.perf_counter() - t0
    try:
        with err.status("Scoring successors and solving..."):
            result = run(
                b, leaving or (), on_leave or (), until=parse_date(until), effective=parse_date(effective),
                max_moves=max_moves, backend=backend, time_limit=time_limit, load_s=load_s,
            )
    except LeaverError as exc:
        fail(str(exc), EXIT_INPUT)
    write_or_exit(result, out_dir, force, what="reassignment plan")
    out.print(handoff_table(result.extra_tables["handoffs.csv"]))
    out.print(summary_table(result.summary))
    s = result.summary
    share = s["warm_arr_share"]
    out.print(
        f"{s['moves']} accounts move ({s['cascade_moves']} cascades), {money(s['arr_moved'])} ARR; "
        f"{'-' if share is None else f'{share:.0%}'} of it with a warm handoff. "
        f"Plan written to {out_dir}/ (handoffs.csv, assignments.csv, owners.csv, summary.json)"
    )
    record_in_ledger(out_dir, ledger)


def handoff_table(h, limit: int = 20):
    """The first handoffs by priority; handoffs.csv has every column."""
    from rich.table import Table

    t = Table(title=f"handoffs (first {min(limit, len(h))} of {len(h)}, by priority)", title_justify="left")
    for col in ("#", "account", "ARR", "renews", "to", "score", "why"):
        t.add_column(col, no_wrap=col != "why")
    for r in h.head(limit).to_dict("records"):
        renews = "" if pd_isna(r["renewal_date"]) else str(r["renewal_date"])[:10]
        why = r["explanation"] + (f" (intro: {r['introducer']})" if r["introducer"] else "")
        t.add_row(str(r["priority"]), r["account_id"], money(r["arr"]), renews, r["to"], f"{r['knowledge_score']:.2f}", why)
    return t


def pd_isna(v) -> bool:
    import pandas as pd

    return v is None or v == "" or bool(pd.isna(v))

"""planner reassign BOOK --leaving CSM_ID --out PLAN"""

from __future__ import annotations

import time
from typing import Annotated, Optional

import typer

from planner.cli.common import (
    end_with_unplaced,
    err,
    fail,
    load_book_or_exit,
    out,
    parse_date,
    preflight_solve,
    record_in_ledger,
    write_or_exit,
)
from planner.cli.options import (
    DEFAULT_GAP,
    DEFAULT_TIME_LIMIT,
    AsOfOption,
    Backend,
    BackendOption,
    BookArg,
    ForceOption,
    GapOption,
    LedgerOption,
    MapOption,
    PlanOutOption,
    PolicyOption,
    PulpSolverOption,
    SeedOption,
    ThreadsOption,
    TimeLimitOption,
    date_option,
)
from planner.cli.report import money, summary_table

UntilOption = date_option("--until", "Return date for --on-leave (default: the roster's return_date).")
EffectiveOption = date_option("--effective", "Date the handoffs take effect (ISO); default the plan date.")


def reassign(
    book: BookArg,
    out_dir: PlanOutOption,
    leaving: Annotated[
        Optional[list[str]],
        typer.Option("--leaving", help="CSM leaving for good (repeatable). Default: roster status leaving/on_leave."),
    ] = None,
    on_leave: Annotated[
        Optional[list[str]], typer.Option("--on-leave", help="CSM on leave: temporary cover (repeatable).")
    ] = None,
    until: UntilOption = None,
    effective: EffectiveOption = None,
    max_moves: Annotated[
        int, typer.Option("--max-moves", min=0, help="Other accounts that may move to make room (cascades).")
    ] = 0,
    policy: PolicyOption = None,
    as_of: AsOfOption = None,
    column_map: MapOption = None,
    backend: BackendOption = Backend.highs,
    pulp_solver: PulpSolverOption = None,
    time_limit: TimeLimitOption = DEFAULT_TIME_LIMIT,
    gap: GapOption = DEFAULT_GAP,
    threads: ThreadsOption = 1,
    seed: SeedOption = 0,
    force: ForceOption = False,
    ledger: LedgerOption = None,
) -> None:
    """When a CSM leaves: who inherits each account, with warm handoffs where someone already knows the customer."""
    from planner.planning.reassign import LeaverError
    from planner.planning.reassign import reassign as run

    started = time.perf_counter()  # --time-limit binds the whole command, from here
    preflight_solve(
        out_dir, force, book, policy, column_map, ledger, backend, pulp_solver
    )  # nothing written on failure
    b = load_book_or_exit(book, policy, as_of, column_map)
    load_s = time.perf_counter() - started
    try:
        with err.status("Scoring successors and solving..."):
            result = run(
                b,
                leaving or (),
                on_leave or (),
                until=parse_date(until),
                effective=parse_date(effective),
                max_moves=max_moves,
                backend=backend,
                time_limit=time_limit,
                gap=gap,
                threads=threads,
                seed=seed,
                pulp_solver=pulp_solver,
                load_s=load_s,
                started=started,
            )
    except LeaverError as exc:
        fail(str(exc), exc.exit_code)
    write_or_exit(result, out_dir, force, what="reassignment plan", ledger=ledger)
    out.print(handoff_table(result.extra_tables["handoffs.csv"]))
    out.print(summary_table(result))
    out.print(
        moves_line(result) + f" Plan written to {out_dir}/ (handoffs.csv, assignments.csv, owners.csv, summary.json)"
    )
    shortage = result.details.get("shortage") or ()
    if shortage:
        err.print("Some accounts that must move have no room; why, and the options:")
        for line in shortage:
            err.print(f"  - {line}")
    record_in_ledger(out_dir, ledger)
    end_with_unplaced(result)


def moves_line(result) -> str:
    """The one count of moves, in words: who changes owner and why, then the accounts this plan leaves without one.

    It agrees with the summary table's "moved" (summary.json counts.moved):
    an account that changes owner is counted once, by why; an account left
    without an owner is no move (counts.left_without_owner), and it is said
    what it is: no eligible owner or no room (listed after), or the account of
    an owner no longer on the roster, left to `planner solve`.
    """
    s = result.details
    c = result.counts
    by = s.get("moves_by_reason", {})
    leavers = ", ".join(l["csm_id"] for l in s["leavers"])
    parts = [f"{by['from_leavers']:,} from {leavers}"] if by.get("from_leavers") else []
    for key, words in (("from_other_inactive", "from other CSMs leaving or on leave"),
                       ("owner_may_no_longer_cover", "from owners who may no longer cover them"),
                       ("cascade", "cascades to make room")):  # fmt: skip
        if by.get(key):
            parts.append(f"{by[key]:,} {words}")
    share = s["warm_arr_share"]
    line = (
        f"{c.moved:,} accounts change owner{': ' + ', '.join(parts) if parts else ''}; {money(c.arr_moved)} ARR, "
        f"{'-' if share is None else f'{share:.0%}'} of it with a warm handoff."
    )
    unplaced = len(s.get("unplaced") or ())
    if unplaced:
        line += f" {unplaced:,} accounts that must move have no owner in this plan (listed below, with why)."
    a = result.assignments
    outside = (a["previous_owner_type"] == "unknown") & (a["owner_type"] == "unassigned")
    new = (a["previous_owner"] == "") & (a["owner_type"] == "unassigned")
    if outside.any():
        line += f" {int(outside.sum()):,} accounts of owners no longer on the roster are left to `planner solve`."
    if new.any():
        line += f" {int(new.sum()):,} new accounts (no owner today) are left to `planner solve`."
    return line


def handoff_table(h, limit: int = 20):
    """The first handoffs by priority, with names beside ids; handoffs.csv has every column."""
    from rich.table import Table

    t = Table(title=f"handoffs (first {min(limit, len(h))} of {len(h)}, by priority)", title_justify="left")
    for col in ("#", "account", "ARR", "renews", "from", "to", "score", "why"):
        t.add_column(col, no_wrap=col != "why")
    for r in h.head(limit).to_dict("records"):
        renews = "" if pd_isna(r["renewal_date"]) else str(r["renewal_date"])[:10]
        intro = named(r["introducer"], r.get("introducer_name"))
        why = r["explanation"] + (f" (intro: {intro})" if r["introducer"] else "")
        account = f"{r['account_id']} {r['account_name']}" if r.get("account_name") else r["account_id"]
        t.add_row(
            str(r["priority"]), account, money(r["arr"]), renews, named(r["from"], r.get("from_name")),
            named(r["to"], r.get("to_name")), f"{r['knowledge_score']:.2f}", why,
        )  # fmt: skip
    return t


def named(owner_id: str, name) -> str:
    """'csm_dan (Dan Diaz)': an id with its name beside it, the id alone when there is none."""
    return f"{owner_id} ({name})" if isinstance(name, str) and name and name != owner_id else owner_id


def pd_isna(v) -> bool:
    import pandas as pd

    return v is None or v == "" or bool(pd.isna(v))

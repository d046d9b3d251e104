"""planner solve BOOK --out PLAN"""

from __future__ import annotations

import time
from typing import Annotated

import typer

from planner.cli.common import (
    end_with_unplaced,
    err,
    load_book_or_exit,
    out,
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
    MaxMovedArrOption,
    MaxMovesOption,
    PlanOutOption,
    PolicyOption,
    PulpSolverOption,
    SeedOption,
    ThreadsOption,
    TimeLimitOption,
    VerboseOption,
)
from planner.cli.report import summary_table


def solve(
    book: BookArg,
    out_dir: PlanOutOption,
    policy: PolicyOption = None,
    as_of: AsOfOption = None,
    column_map: MapOption = None,
    backend: BackendOption = Backend.highs,
    pulp_solver: PulpSolverOption = None,
    time_limit: TimeLimitOption = DEFAULT_TIME_LIMIT,
    gap: GapOption = DEFAULT_GAP,
    threads: ThreadsOption = 1,
    seed: SeedOption = 0,
    warm_start: Annotated[
        bool, typer.Option("--warm-start/--no-warm-start", help="Start from the current owners.")
    ] = True,
    max_moves: MaxMovesOption = None,
    max_moved_arr: MaxMovedArrOption = None,
    baseline: Annotated[
        bool, typer.Option("--baseline/--no-baseline", help="Also run the greedy baseline for comparison.")
    ] = True,
    force: ForceOption = False,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="No plan (exit 3) rather than an account left unassigned (exit 5) or a cap exceeded by commitments.",
        ),
    ] = False,
    verbose: VerboseOption = False,
    ledger: LedgerOption = None,
) -> None:
    """Solve a book of business: the optimal coverage plan, with its proof."""
    from planner.planning.solve import solve as run

    started = time.perf_counter()  # --time-limit binds the whole command, from here
    preflight_solve(
        out_dir, force, book, policy, column_map, ledger, backend, pulp_solver
    )  # nothing written on failure
    with err.status("Loading and validating the book..."):
        b = load_book_or_exit(book, policy, as_of, column_map)
    load_s = time.perf_counter() - started
    with err.status(f"Building and solving {len(b.accounts):,} accounts with {backend}...") as status:
        from planner.cli.progress import SolveProgress

        progress = SolveProgress(status, f"Solving {len(b.accounts):,} accounts with {backend}", started)
        result = run(
            b,
            backend,
            time_limit=time_limit,
            gap=gap,
            threads=threads,
            seed=seed,
            warm_start=warm_start,
            baseline=baseline,
            verbose=verbose,
            pulp_solver=pulp_solver,
            load_s=load_s,
            started=started,
            max_moves=max_moves,
            max_moved_arr=max_moved_arr,
            strict=strict,
            progress=progress,
        )
    write_or_exit(result, out_dir, force, ledger=ledger)
    out.print(summary_table(result))
    out.print(f"Plan written to {out_dir}/ (assignments.csv, owners.csv, summary.json)")
    shortage = result.details.get("shortage") or ()
    if shortage:
        err.print("The caps cannot hold every account, so the fewest that do not fit are left unplaced. Why:")
        for line in shortage:
            err.print(f"  - {line}")
    record_in_ledger(out_dir, ledger)
    end_with_unplaced(result)

"""planner solve BOOK --out PLAN"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer

from planner.cli.common import (
    LedgerOption, err, ledger_input, load_book_or_exit, out, prepare_output, record_in_ledger, summary_table, write_or_exit,
)

BACKEND_HELP = "highs (default), cpsat, pulp (CBC, or --pulp-solver), greedy (today's rule-based baseline)"


def solve(
    book: Path = typer.Argument(..., help="Folder of CSV/Parquet files, or one .xlsx workbook."),
    out_dir: Path = typer.Option(..., "--out", help="Plan folder to write (must not exist unless --force)."),
    policy: Optional[Path] = typer.Option(None, "--policy", help="TOML file merged over the default policy."),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="Plan date (ISO), default today; drives the renewal freeze."),
    backend: str = typer.Option("highs", "--backend", help=BACKEND_HELP),
    pulp_solver: Optional[str] = typer.Option(None, "--pulp-solver", help="With --backend pulp: e.g. GUROBI_CMD, CPLEX_CMD."),
    time_limit: Optional[float] = typer.Option(None, "--time-limit", help="Seconds."),
    gap: float = typer.Option(1e-4, "--gap", help="Relative optimality gap at which to stop."),
    threads: int = typer.Option(1, "--threads"),
    seed: int = typer.Option(0, "--seed"),
    warm_start: bool = typer.Option(True, "--warm-start/--no-warm-start", help="Start from the current owners."),
    baseline: bool = typer.Option(True, "--baseline/--no-baseline", help="Also run the greedy baseline for comparison."),
    force: bool = typer.Option(False, "--force", help="Replace an existing plan folder."),
    verbose: bool = typer.Option(False, "--verbose", help="Show the solver's log."),
    ledger: LedgerOption = None,
) -> None:
    """Solve a book of business: the optimal coverage plan, with its proof."""
    from planner.solve import solve as run

    prepare_output(out_dir, force, {"the book": book, "the policy file": policy, "the ledger": ledger_input(ledger, out_dir)})
    t0 = time.perf_counter()
    with err.status("Loading and validating the book..."):
        b = load_book_or_exit(book, policy, as_of)
    load_s = time.perf_counter() - t0
    with err.status(f"Building and solving {len(b.accounts):,} accounts with {backend}..."):
        result = run(
            b, backend, time_limit=time_limit, gap=gap, threads=threads, seed=seed, warm_start=warm_start,
            baseline=baseline, verbose=verbose, pulp_solver=pulp_solver, load_s=load_s,
        )
    write_or_exit(result, out_dir, force)
    out.print(summary_table(result.summary))
    out.print(f"Plan written to {out_dir}/ (assignments.csv, owners.csv, summary.json)")
    record_in_ledger(out_dir, ledger)

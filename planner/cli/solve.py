"""planner solve BOOK --out PLAN"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer

from planner.cli.common import LedgerOption, record_in_ledger, EXIT_NO_PLAN, EXIT_OUTPUT, err, load_book_or_exit, out, summary_table

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
    from planner.io.atomic import OutputExistsError
    from planner.solve import solve as run

    if out_dir.exists() and not force:
        err.print(f"[red]error:[/red] {out_dir} already exists. Expected a new path, or pass --force.")
        raise typer.Exit(EXIT_OUTPUT)
    t0 = time.perf_counter()
    with err.status("Loading and validating the book..."):
        b = load_book_or_exit(book, policy, as_of)
    load_s = time.perf_counter() - t0
    with err.status(f"Building and solving {len(b.accounts):,} accounts with {backend}..."):
        result = run(
            b, backend, time_limit=time_limit, gap=gap, threads=threads, seed=seed, warm_start=warm_start,
            baseline=baseline, verbose=verbose, pulp_solver=pulp_solver, load_s=load_s,
        )
    if result.assignments is None:
        err.print(f"[red]No plan[/red] ({result.status.value}). Why:")
        for reason in result.diagnosis:
            err.print(f"  - {reason}", highlight=False)
        err.print("Nothing was written.")
        raise typer.Exit(EXIT_NO_PLAN)
    try:
        result.write(out_dir, force=force)
    except OutputExistsError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(EXIT_OUTPUT) from None
    out.print(summary_table(result.summary))
    out.print(f"Plan written to {out_dir}/ (assignments.csv, owners.csv, summary.json)")
    record_in_ledger(out_dir, ledger)

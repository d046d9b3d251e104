"""planner demo: generate the built-in demo book, solve it, print a summary."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Annotated

import typer

from planner.cli.common import EXIT_NO_PLAN, err, out, prepare_output, record_in_ledger
from planner.cli.options import Backend, BackendOption, ForceOption
from planner.cli.report import summary_table

DEMO = {"accounts": 600, "csms": 14, "pools": 2, "seed": 42}


def demo(
    out_dir: Annotated[Path, typer.Option("--out", help="Where the demo book and plan go.")] = Path("demo-out"),
    backend: BackendOption = Backend.highs,
    force: ForceOption = False,
) -> None:
    """Generate the built-in demo book, solve it, and print the plan's summary."""
    from planner.generate import generate_book, write_book
    from planner.io import load_book
    from planner.io.atomic import atomic_dir
    from planner.planning.solve import solve

    prepare_output(out_dir, force)
    as_of = dt.date.today()
    with atomic_dir(out_dir, force=force, kind="demo") as tmp:
        err.print(
            f"Generating the demo book: {DEMO['accounts']} accounts, {DEMO['csms']} CSMs, {DEMO['pools']} pools (seed {DEMO['seed']})"
        )
        write_book(generate_book(**DEMO, as_of=as_of), tmp / "book")
        t0 = time.perf_counter()
        book = load_book(tmp / "book", as_of=as_of)
        load_s = time.perf_counter() - t0
        with err.status(f"Solving with {backend}..."):
            result = solve(book, backend, time_limit=60, load_s=load_s)
        if result.assignments is None:
            for reason in result.diagnosis:
                err.print(f"  - {reason}")
            raise typer.Exit(EXIT_NO_PLAN)
        result.write(tmp / "plan")
    out.print(summary_table(result))
    out.print(f"Demo book in {out_dir}/book/, plan in {out_dir}/plan/.")
    record_in_ledger(out_dir / "plan", None)
    out.print(
        f"Next: planner plans list --ledger {out_dir}/planner-ledger.sqlite; planner export {out_dir}/plan --format salesforce --allow-draft --out {out_dir}/export"
    )

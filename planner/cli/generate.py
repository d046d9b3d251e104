"""planner generate --accounts N --csms M --seed S --out DIR"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from planner.cli.common import out, parse_date, prepare_output


def generate(
    accounts: int = typer.Option(..., "--accounts", min=1, help="Number of accounts."),
    csms: int = typer.Option(..., "--csms", min=1, help="Number of CSMs."),
    pools: Optional[int] = typer.Option(None, "--pools", min=0, help="Number of pools (default scales with the book)."),
    seed: int = typer.Option(0, "--seed"),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="Date the book is generated around (ISO), default today."),
    out_dir: Path = typer.Option(..., "--out", help="Folder to write the CSV book into."),
    force: bool = typer.Option(False, "--force", help="Replace an existing folder."),
) -> None:
    """Generate a realistic synthetic book of business (seeded, reproducible)."""
    from planner.generate import generate_book, write_book

    prepare_output(out_dir, force)
    tables = generate_book(accounts, csms, pools=pools, seed=seed, as_of=parse_date(as_of))
    write_book(tables, out_dir, force=force)
    sizes = ", ".join(f"{name} {len(df):,}" for name, df in tables.items())
    out.print(f"Book written to {out_dir}/ ({sizes})")

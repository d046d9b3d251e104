"""planner generate --accounts N --csms M --seed S --out DIR"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from planner.cli.common import out, parse_date, prepare_output
from planner.cli.options import AccountsOption, CsmsOption, ForceOption, PoolsOption, SeedOption, date_option

GenerateAsOfOption = date_option("--as-of", "Date the book is generated around (ISO), default today.")


def generate(
    accounts: AccountsOption,
    csms: CsmsOption,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write the CSV book into.")],
    pools: PoolsOption = None,
    seed: SeedOption = 0,
    as_of: GenerateAsOfOption = None,
    force: ForceOption = False,
) -> None:
    """Generate a realistic synthetic book of business (seeded, reproducible)."""
    from planner.generate import generate_book, write_book

    prepare_output(out_dir, force)
    tables = generate_book(accounts, csms, pools=pools, seed=seed, as_of=parse_date(as_of))
    write_book(tables, out_dir, force=force)
    sizes = ", ".join(f"{name} {len(df):,}" for name, df in tables.items())
    out.print(f"Book written to {out_dir}/ ({sizes})")

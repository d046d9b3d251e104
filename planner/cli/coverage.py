"""planner coverage BOOK [--out DIR]"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from planner.cli.common import EXIT_INPUT, err, fail, load_book_or_exit, out, prepare_output, styled, warning
from planner.cli.options import BookArg, ForceOption, PolicyOption, check_finite, date_option
from planner.cli.report import money

SHOWN = 15  # rows of each table printed; --out has them all

CoverageAsOfOption = date_option("--as-of", "Plan date (ISO), default today; dates former roles.")


def coverage(
    book: BookArg,
    policy: PolicyOption = None,
    as_of: CoverageAsOfOption = None,
    min_arr: Annotated[
        float,
        typer.Option(
            "--min-arr",
            min=0.0,
            callback=check_finite,
            help="Suggest backups for single-threaded accounts from this ARR up.",
        ),
    ] = 0.0,
    threshold: Annotated[
        float,
        typer.Option(
            "--threshold",
            min=0.0,
            max=1.0,
            callback=check_finite,
            help="Knowledge score that makes someone a holder (0 < t <= 1).",
        ),
    ] = 0.5,
    pairs: Annotated[
        int,
        typer.Option(
            "--pairs", min=0, help="Two-departure scenarios: every pair among this many CSMs with the most hours."
        ),
    ] = 10,
    out_dir: Annotated[
        Optional[Path],
        typer.Option("--out", help="Folder to write bus_factor.csv, csm_risk.csv, backups.csv, floaters.json."),
    ] = None,
    force: ForceOption = False,
) -> None:
    """Who holds each customer's knowledge, where it rests on one person, and how many floaters departures need."""
    from planner.team.coverage import coverage_report

    if out_dir is not None:
        prepare_output(out_dir, force, {"the book": book, "the policy file": policy})
    b = load_book_or_exit(book, policy, as_of)
    try:
        with err.status(f"Scoring knowledge on {len(b.accounts):,} accounts..."):
            report = coverage_report(b, min_arr=min_arr, threshold=threshold, pair_limit=pairs)
    except ValueError as exc:  # a threshold of 0, or a bad [knowledge] table in the policy
        fail(str(exc), EXIT_INPUT)
    print_report(report, b)
    if out_dir is not None:
        write_report(report, out_dir, force)
        out.print(f"Report written to {out_dir}/ (bus_factor.csv, csm_risk.csv, backups.csv, floaters.json)")


def write_report(report, out_dir: Path, force: bool) -> None:
    """The report's CSVs and floaters.json, all or nothing."""
    import json

    from planner.io.atomic import atomic_dir
    from planner.io.csvtext import write_frame

    frames = report.to_frames()
    with atomic_dir(out_dir, force=force, kind="coverage") as tmp:
        for name in ("bus_factor", "csm_risk", "backups"):
            # The one CSV writer: text neutralized against formulas; floats as Python writes them (as before).
            write_frame(frames[name], tmp / f"{name}.csv", float_format=None)
        (tmp / "floaters.json").write_text(json.dumps(report.to_dict()["floaters"], indent=2) + "\n", encoding="utf-8")


def print_report(report, book=None) -> None:
    """The report's tables; with the `book`, accounts and CSMs are named beside their ids."""
    from rich.table import Table
    from rich.text import Text

    from planner.cli.report import account_label, owner_label

    people = {} if book is None else dict(zip(book.csms["csm_id"], book.csms["name"], strict=True))
    accounts = {}
    if book is not None and "account_name" in book.accounts:
        accounts = dict(zip(book.accounts["account_id"], book.accounts["account_name"], strict=True))

    def who(ids: str) -> str:  # one id, or several joined by ';'
        return "; ".join(owner_label(i.strip(), people) for i in str(ids).split(";") if i.strip())

    single = report.single_threaded
    out.print(
        f"{len(single):,} single-threaded accounts ({money(single['arr'].sum())} ARR): "
        f"one person with knowledge score >= {report.threshold:g}."
    )
    if len(single):
        t = Table(title="Single-threaded accounts, largest ARR first", title_justify="left")
        for col in ("account", "ARR", "only holder"):
            t.add_column(col)
        for r in single.head(SHOWN).itertuples():
            t.add_row(account_label(r.account_id, accounts), money(r.arr), who(r.holders))
        out.print(t)

    risk = report.csm_risk[report.csm_risk["accounts_alone"] > 0]
    if len(risk):
        t = Table(title="ARR that loses all knowledge if the CSM leaves", title_justify="left")
        for col in ("CSM", "status", "accounts", "ARR"):
            t.add_column(col)
        for r in risk.head(SHOWN).itertuples():
            t.add_row(owner_label(r.csm_id, people), r.status, f"{r.accounts_alone:,}", money(r.arr_alone))
        out.print(t)

    b = report.backups
    if len(b):
        t = Table(title=f"Suggested backups (ARR >= {money(report.min_arr)})", title_justify="left")
        for col in ("account", "ARR", "holder", "backup", "score", "why"):
            t.add_column(col)
        for r in b.head(SHOWN).itertuples():
            why = r.explanation if r.backup else styled(r.note, "yellow")
            t.add_row(account_label(r.account_id, accounts), money(r.arr), who(r.holder), who(r.backup) or "-",
                      f"{r.knowledge_score:.2f}", why)  # fmt: skip
        out.print(t)
        missing = int((b["backup"] == "").sum())
        if missing:
            warning(f"{missing:,} account(s) have no backup with spare hours.")

    d = report.departures
    for size, figure in ((1, report.floaters_one), (2, report.floaters_two)):
        worst = d[d["size"] == size].head(1)
        detail = ""
        if len(worst):
            w = worst.iloc[0]
            detail = f"; worst: {w['departed'].replace(';', ' + ')}, {w['overflow_hours']:,.1f} h of {w['hours']:,.1f} h unabsorbed"
        out.print(
            Text.assemble(
                f"Floating CSMs to absorb {'one departure' if size == 1 else 'two departures'}: ",
                (str(figure), "bold"),
                detail,
            )
        )
    out.print(
        f"(fractional bound: hours may split across CSMs; one floater = {report.floater_hours:g} h; "
        f"pairs among the {report.pair_limit} CSMs with the most hours)"
    )

"""What every command shares: the console, exit codes, loading a book, the summary table.

Heavy libraries (pandas, solvers) are imported inside functions so that
`planner --help` stays instant.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

out = Console()
err = Console(stderr=True)

EXIT_INPUT = 1  # the book or policy is invalid
EXIT_NO_PLAN = 3  # infeasible, or the solver stopped without a plan
EXIT_OUTPUT = 4  # the output exists (use --force) or cannot be written


LedgerOption = Annotated[
    Optional[Path],
    typer.Option("--ledger", envvar="PLANNER_LEDGER", help="Ledger file (default: planner-ledger.sqlite next to the plan folders)."),
]


def record_in_ledger(plan_dir: Path, ledger: Path | None) -> None:
    """Record a freshly written plan as a draft in the ledger, and say where."""
    from planner.ledger import Ledger, LedgerError, resolve_ledger_path

    path = resolve_ledger_path(ledger, plan_dir)
    try:
        with Ledger(path) as book_of_plans:
            plan_id = book_of_plans.record_plan(plan_dir)
    except LedgerError as exc:
        err.print(f"[yellow]warning:[/yellow] the plan was written but not recorded in {path}: {exc}")
        return
    out.print(f"Recorded {plan_id} as a draft in {path} (approve with: planner plans approve {plan_id} --by NAME)")


def refuse_existing(out_dir: Path, force: bool) -> None:
    """Exit 4 before any work when the output exists and --force was not given."""
    if out_dir.exists() and not force:
        err.print(f"[red]error:[/red] {out_dir} already exists. Expected a new path, or pass --force.")
        raise typer.Exit(EXIT_OUTPUT)


def write_or_exit(result, out_dir: Path, force: bool, what: str = "plan") -> None:
    """Print the reasons and exit 3 when there is no plan; else write it atomically (exit 4 if it appeared meanwhile)."""
    from planner.io.atomic import OutputExistsError

    if result.assignments is None:
        err.print(f"[red]No {what}[/red] ({result.status.value}). Why:")
        for reason in result.diagnosis:
            err.print(f"  - {reason}", highlight=False)
        err.print("Nothing was written.")
        raise typer.Exit(EXIT_NO_PLAN)
    try:
        result.write(out_dir, force=force)
    except OutputExistsError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(EXIT_OUTPUT) from None


def parse_date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"Expected an ISO date like 2026-12-15, got {value!r}") from None


def load_policy_or_exit(policy: Path | None):
    from planner.policy import PolicyError, load_policy

    try:
        return load_policy(policy)
    except PolicyError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(EXIT_INPUT) from None


def print_findings(findings) -> None:
    for f in findings:
        color = "red" if f.severity == "error" else "yellow"
        err.print(f"[{color}]{f.severity}[/{color}]: {_where(f)}{f.message}", highlight=False)


def _where(f) -> str:
    where = f.file
    if f.row is not None:
        where += f", row {f.row}"
    if f.column:
        where += f", column {f.column!r}"
    return where + ": "


def load_book_or_exit(book: Path, policy: Path | None, as_of: str | None):
    """The validated Book, or every finding printed and exit 1."""
    from planner.errors import BookError
    from planner.io import load_book

    pol = load_policy_or_exit(policy)
    try:
        b = load_book(book, policy=pol, as_of=parse_date(as_of))
    except BookError as exc:
        print_findings(exc.findings)
        n = sum(f.severity == "error" for f in exc.findings)
        err.print(f"[red]{n} error(s)[/red] in {book}; nothing was written.")
        raise typer.Exit(EXIT_INPUT) from None
    print_findings(b.warnings)
    return b


def money(x) -> str:
    return "-" if x is None else f"${x:,.0f}"


def summary_table(summary: dict) -> Table:
    """The short table the CLI prints after a solve."""
    t = Table(title=f"plan {summary.get('plan_id') or '(none)'}", show_header=False, title_justify="left")
    t.add_column(style="bold")
    t.add_column()
    gap = summary.get("gap")
    t.add_row("status", str(summary["status"]))
    t.add_row("backend", summary["backend"])
    t.add_row("annual cost", money(summary.get("objective")))
    t.add_row("proven bound", money(summary.get("bound")))
    t.add_row("gap", "-" if gap is None else f"{gap:.4%}")
    for k, v in (summary.get("objective_terms") or {}).items():
        t.add_row(f"  {k.replace('_', ' ')}", money(v))
    base = summary.get("baseline")
    if base and base.get("objective") is not None and summary.get("objective"):
        saving = base["objective"] - summary["objective"]
        broken = f"; breaks {base['broken_caps']} caps" if base.get("broken_caps") else ""
        t.add_row("greedy baseline", f"{money(base['objective'])} (optimum saves {money(saving)}, {saving / base['objective']:.1%}{broken})")
    c = summary.get("counts") or {}
    if c:
        t.add_row("accounts", f"{c['accounts']:,} ({', '.join(f'{k} {v:,}' for k, v in c['by_owner_type'].items())})")
        t.add_row("moved", f"{c['moved']:,} accounts, {money(c['arr_moved'])} ARR; {c['new_accounts']:,} new")
    if summary.get("exceptions"):
        t.add_row("exceptions", f"{len(summary['exceptions'])} (current CSM kept against today's rules)")
    tm = summary.get("timings") or {}
    t.add_row("time", f"load {tm.get('load_s', 0):.2f}s, build {tm.get('build_s', 0):.2f}s, solve {tm.get('solve_s', 0):.2f}s")
    ev = summary.get("evaluation") or {}
    if ev:
        ok = ev["agrees_with_solver"] and not ev["violations"]
        t.add_row("evaluator", "agrees, no rule broken" if ok else f"[red]DISAGREES[/red]: {ev['violations'][:3]}")
    return t

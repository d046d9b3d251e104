"""What every command shares: the consoles, messages, exit codes, loading a book, the summary table.

Heavy libraries (pandas, solvers) are imported inside functions so that
`planner --help` stays instant.

Everything printed goes through :data:`out` (results, stdout) or :data:`err`
(progress, warnings, errors; stderr). Both take text literally (no rich
markup or emoji codes, so an account called ``[/b] :x:`` prints as written),
and off a terminal they never wrap: a pipe or a log gets each line whole.
Colour comes from :func:`error`, :func:`warning` and :func:`styled`.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
import traceback
from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console, ConsoleDimensions
from rich.text import Text
from typer.core import TyperGroup

from planner.cli.options import LedgerOption  # noqa: F401  (moved to options.py; re-exported for old imports)
from planner.errors import EXIT_INPUT, EXIT_INTERNAL, EXIT_NO_PLAN, EXIT_OUTPUT, EXIT_UNPLACED, EXIT_USAGE, PlannerError

__all__ = ["EXIT_INPUT", "EXIT_NO_PLAN", "EXIT_OUTPUT", "EXIT_UNPLACED", "EXIT_USAGE", "EXIT_INTERNAL"]

PIPE_WIDTH = 100_000  # off a terminal: wide enough that no table or line is ever wrapped


class _Console(Console):
    """A rich Console that wraps at the terminal's width on a terminal, and never elsewhere."""

    @property
    def size(self) -> ConsoleDimensions:
        if self.is_terminal:
            return super().size
        return ConsoleDimensions(PIPE_WIDTH, 25)


def _console(stderr: bool) -> Console:
    return _Console(stderr=stderr, markup=False, emoji=False, highlight=False)


out = _console(stderr=False)
err = _console(stderr=True)


def styled(text: str, style: str) -> Text:
    return Text(text, style=style)


def error(message: str) -> None:
    """`error: message` on stderr (the message printed literally)."""
    err.print(Text.assemble(("error:", "bold red"), " ", str(message)))


def warning(message: str) -> None:
    err.print(Text.assemble(("warning:", "yellow"), " ", str(message)))


def fail(message: str, code: int) -> NoReturn:
    """Print `error: message` and end the command with `code`."""
    error(message)
    raise typer.Exit(code)


class GuardedGroup(TyperGroup):
    """The `planner` command group: no command ever ends in a traceback.

    A PlannerError (the user's input, options or output folder) prints its
    message and exits with its own code. Anything else is a bug: one line
    says so and where its traceback was saved, and the exit code is 70.
    PLANNER_DEBUG=1 lets the exception through, for developers.
    """

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except PlannerError as exc:
            fail(str(exc), exc.exit_code)
        except (typer.Exit, typer.Abort, typer._click.exceptions.ClickException):
            raise
        except Exception as exc:
            if os.environ.get("PLANNER_DEBUG"):
                raise
            where = _save_traceback()
            fail(
                f"internal error ({type(exc).__name__}: {exc}). This is a bug in the planner, not in your input; "
                f"please report it with the traceback saved in {where}. Outputs are written atomically, so nothing "
                "half-written was left behind.",
                EXIT_INTERNAL,
            )


def _save_traceback() -> str:
    try:
        fd, path = tempfile.mkstemp(prefix="planner-crash-", suffix=".txt")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write("planner " + " ".join(sys.argv[1:]) + "\n\n" + traceback.format_exc())
        return path
    except OSError:
        return "(no file: the temporary folder is not writable)"


def require_writable_ledger(ledger: Path | None, plan_dir: Path) -> None:
    """Before any work: the ledger record_in_ledger will write can be written (exit 4), and is a planner ledger (exit 1).

    Resolved exactly as record_in_ledger resolves it; nothing is created or
    changed, so a solve that fails afterwards leaves nothing behind.
    """
    from planner.plans.ledger import require_writable, resolve_ledger_path

    require_writable(resolve_ledger_path(ledger, plan_dir))


def record_in_ledger(plan_dir: Path, ledger: Path | None) -> None:
    """Record a freshly written plan as a draft in the ledger, and say where and how to approve it.

    The plan was just made and checked by the evaluator, so the ledger vouches
    for it ("solve"). The ledger was checked before the solve
    (require_writable_ledger); should recording still fail, the plan stays
    written and a warning says how to record it. The approve command printed
    works when copied from any folder: it names the plan folder by its full
    path (the folder finds the ledger next to it), and --ledger when the
    ledger is elsewhere. The same plan already recorded from another folder
    keeps its entry; this folder is noted as a copy (Ledger.record).
    """
    import shlex

    from planner.plans.ledger import Ledger, LedgerError, resolve_ledger_path

    path = resolve_ledger_path(ledger, plan_dir)
    try:
        with Ledger(path) as book_of_plans:
            plan_id = book_of_plans.record_plan(plan_dir, checked="solve")
            first = book_of_plans.get(plan_id).path
    except LedgerError as exc:
        warning(
            f"the plan was written to {plan_dir} but not recorded in {path}: {exc}. Record it with: "
            f"planner plans approve {shlex.quote(str(Path(plan_dir).resolve()))} --by NAME --ledger LEDGER "
            "(it is then re-checked against its book)"
        )
        return
    if first != str(Path(plan_dir).resolve()):
        out.print(f"{plan_id} is already in {path}, recorded from {first}; {plan_dir} holds the same plan and is "
                  f"noted as a copy (approve with: {approve_command(first, path)})")  # fmt: skip
        return
    out.print(f"Recorded {plan_id} as a draft in {path} (approve with: {approve_command(plan_dir, path)})")


def approve_command(plan_dir: str | Path, ledger: Path) -> str:
    """`planner plans approve /full/path/to/plan --by NAME [--ledger PATH]`: runs as printed from any folder."""
    import shlex

    from planner.plans.ledger import LEDGER_NAME

    folder = Path(plan_dir).resolve()
    command = f"planner plans approve {shlex.quote(str(folder))} --by NAME"
    if Path(ledger).resolve() != folder.parent / LEDGER_NAME:
        command += f" --ledger {shlex.quote(str(Path(ledger).resolve()))}"
    return command


def prepare_output(out_dir: Path, force: bool, inputs: dict[str, Path | None] | None = None) -> None:
    """Before any work, everything about --out that can be checked (planner/io/outputs.py), or exit 2/4 saying why.

    `inputs` maps what each input is ("the book") to its path: --out may not
    be, contain or lie inside any of them, --force or not. An existing --out
    needs --force, and --force replaces only the planner's own earlier
    output. The leftovers of killed runs next to --out are removed, in one
    warning line.
    """
    from planner.io.outputs import preflight

    try:
        notes = preflight(out_dir, force, inputs or {})
    except PlannerError as exc:
        fail(str(exc), exc.exit_code)
    for note in notes:
        warning(note)


def ledger_input(ledger: Path | None, plan_dir: Path | None = None) -> Path:
    """The ledger a command will read and write (an input --out must not overlap)."""
    from planner.plans.ledger import resolve_ledger_path

    return resolve_ledger_path(ledger, plan_dir)


def write_or_exit(result, out_dir: Path, force: bool, what: str = "plan", ledger: Path | None = None) -> None:
    """Print the reasons and exit 3 when there is no plan; else write it atomically.

    The write fails (exit 4, nothing replaced) if --out appeared meanwhile, or
    with --force if what is there now is not the planner's own output.
    summary.json names the ledger the plan is about to be recorded in (the
    --ledger given, else the default), so the folder finds it from anywhere.
    """
    from dataclasses import replace

    from planner.plans.ledger import resolve_ledger_path

    if result.assignments is None:
        err.print(Text.assemble((f"No {what}", "bold red"), f" ({result.status.value}). Why:"))
        for reason in result.diagnosis:
            err.print(f"  - {reason}")
        err.print("Nothing was written.")
        raise typer.Exit(EXIT_NO_PLAN)
    replace(result, ledger=str(resolve_ledger_path(ledger, out_dir).resolve())).write(out_dir, force=force)


def end_with_unplaced(result) -> None:
    """A plan with accounts left unassigned: say which, why and what would fix it, then exit 5 (the plan is written)."""
    from planner.cli.report import account_label, owner_label

    left = result.details.get("unplaced") or []
    if not left:
        return
    a = result.assignments
    names = {} if a is None or "account_name" not in a else dict(zip(a["account_id"], a["account_name"], strict=True))
    known = a is not None and "previous_owner_name" in a
    owners = dict(zip(a["previous_owner"], a["previous_owner_name"], strict=True)) if known else {}
    warning(f"{len(left):,} account(s) have no owner in this plan (assignments.csv lists them with the reason):")
    for row in left[:15]:
        today = f", today {owner_label(row['current_owner'], owners)}" if row.get("current_owner") else ""
        err.print(
            f"  - {account_label(row['account_id'], names)} (${row['arr']:,.0f} ARR{today}): "
            f"{row.get('reason', 'not placed')}: {row['detail']}"
        )
    if len(left) > 15:
        err.print(f"  ... and {len(left) - 15:,} more (summary.json unplaced)")
    raise typer.Exit(EXIT_UNPLACED)


def parse_date(value: str | dt.date | None) -> dt.date | None:
    if value is None or isinstance(value, dt.date):  # the date options arrive parsed (planner/cli/options.py)
        return value
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"Expected an ISO date like 2026-12-15, got {value!r}") from None


def load_policy_or_exit(policy: Path | None):
    from planner.policy import load_policy

    return load_policy(policy)


SEVERITY_COLORS = {"error": "red", "warning": "yellow", "note": "cyan"}


def print_findings(findings, report_hint: str | None = None) -> None:
    """Every finding on stderr; the same finding on many rows as one line (planner.io.messages)."""
    from planner.io.messages import grouped_lines

    hint = "Every row: planner validate BOOK --report FINDINGS.csv" if report_hint is None else report_hint
    for severity, text in grouped_lines(findings, hint):
        head, _, rest = text.partition(": ")
        err.print(Text.assemble((head, SEVERITY_COLORS.get(severity, "yellow")), f": {rest}"))


def report_findings(findings, report: Path | None, force: bool) -> tuple[int, int, int]:
    """Print the findings (grouped), write them all to `report` when given; (errors, warnings, notes)."""
    from planner.io.messages import write_report

    print_findings(findings, report_hint=f"Every row: {report}" if report else "Every row: add --report FINDINGS.csv")
    if report is not None:
        try:
            write_report(findings, report, force=force)
        except PlannerError as exc:
            fail(str(exc), exc.exit_code)
        err.print(f"Wrote {len(findings):,} finding(s) to {report}")
    errors = sum(f.severity == "error" for f in findings)
    warnings = sum(f.severity == "warning" for f in findings)
    return errors, warnings, len(findings) - errors - warnings


def preflight_solve(out_dir: Path, force: bool, book: Path, policy: Path | None, column_map: Path | None,
                    ledger: Path | None, backend: str, pulp_solver: str | None) -> None:  # fmt: skip
    """Before any work of a solving command: the options that only make sense together, an --out that overlaps
    no input (the book, the policy, the map, the ledger), and a ledger that can be written (exit 4, nothing written)."""
    from planner.cli.options import check_pulp_solver

    check_pulp_solver(backend, pulp_solver)
    inputs = {"the book": book, "the policy file": policy, "the map file": column_map,
              "the ledger": ledger_input(ledger, out_dir)}  # fmt: skip
    prepare_output(out_dir, force, inputs)
    require_writable_ledger(ledger, out_dir)


def _where(f) -> str:
    where = f.file
    if f.row is not None:
        where += f", row {f.row}"
    if f.column:
        where += f", column {f.column!r}"
    return where + ": "


def load_book_or_exit(book: Path, policy: Path | None, as_of: str | None, column_map: Path | None = None):
    """The validated Book (read through the --map file, if any), or every finding printed and exit 1."""
    from planner.errors import BookError
    from planner.io import load_book

    pol = load_policy_or_exit(policy)
    try:
        b = load_book(book, policy=pol, as_of=parse_date(as_of), column_map=column_map)
    except BookError as exc:
        print_findings(exc.findings)
        n = sum(f.severity == "error" for f in exc.findings)
        err.print(Text.assemble((f"{n} error(s)", "red"), f" in {book}; nothing was written."))
        raise typer.Exit(EXIT_INPUT) from None
    print_findings(b.warnings)
    return b

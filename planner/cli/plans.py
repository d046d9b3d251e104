"""`planner plans ...`: the plan ledger -- list, show, diff, approve, roll back, mark applied.

PLAN arguments take a plan folder or a plan id. A folder also locates the
default ledger (next to it) and, for approve, records the plan if the ledger
does not have it yet; an id is looked up in --ledger / $PLANNER_LEDGER /
./planner-ledger.sqlite. Reading commands (list, show, diff) open the ledger
read-only: they never write, migrate or lock it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from planner.cli.common import out, prepare_output, warning
from planner.cli.export import print_result
from planner.cli.options import LedgerOption

plans_app = typer.Typer(
    help="The plan ledger: list, show, diff, approve, roll back, mark applied.", no_args_is_help=True
)

PlanArg = Annotated[str, typer.Argument(help="Plan folder or plan id.", metavar="PLAN")]


def _locate(plan: str, ledger: Optional[Path]) -> tuple[Path, str, Optional[Path]]:
    """(ledger path, plan id, plan folder or None) for a PLAN argument, wherever the user stands.

    The ledger: --ledger / $PLANNER_LEDGER, else the one that holds the plan
    among the one next to the folder, the current folder's and those below
    it (planner.plans.ledger.locate_ledger). The folder: the argument itself,
    or for an id the folder its ledger entry points to (or a recorded copy,
    should that one be gone); None for an id the ledger does not hold.
    """
    from planner.plans import read_summary_and_hashes
    from planner.plans.ledger import Ledger, locate_ledger

    folder = Path(plan)
    if folder.is_dir():
        summary, _ = read_summary_and_hashes(folder)
        return locate_ledger(summary["plan_id"], ledger, folder), summary["plan_id"], folder
    path = locate_ledger(plan, ledger)
    if not path.is_file():
        return path, plan, None
    with Ledger(path, create=False, readonly=True) as led:
        return path, plan, led.folder(plan) if led.find(plan) is not None else None


def _plan_dir(plan: str, ledger: Optional[Path]) -> Path:
    """The folder of a PLAN argument: itself, or the folder the ledger recorded for the id."""
    from planner.plans.ledger import Ledger

    ledger_path, plan_id, folder = _locate(plan, ledger)
    if folder is not None:
        return folder
    with Ledger(ledger_path, create=False, readonly=True) as led:
        return led.folder(plan_id)  # not in the ledger (or no ledger): says so


def _fmt(value: float | None, digits: int = 2) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def _moved(counts: dict) -> str:
    """Accounts that move to another owner: summary.json's counts.moved."""
    moved = counts.get("moved", "")
    return f"{moved:,}" if isinstance(moved, int) else str(moved)


def _value(value) -> str:
    """A number with thousands separators (money with cents), anything else as text."""
    if isinstance(value, bool) or value is None:
        return {True: "yes", False: "no", None: ""}[value]
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() else f"{value:,.2f}"
    return str(value)


def _flat(counts: dict, prefix: str = "") -> list[tuple[str, str]]:
    """summary.json's counts as (name, value) lines: nested tables as 'by_owner_type: csm'."""
    out = []
    for key, value in counts.items():
        if isinstance(value, dict):
            out += _flat(value, f"{prefix}{key}: ")
        else:
            out.append((f"{prefix}{key}", _value(value)))
    return out


def print_rows(title: str, columns: list[str], rows: list[list[str]], right: tuple[str, ...] = ()) -> None:
    """A table, or -- when the terminal is too narrow for it -- one block of `column: value` lines per row.

    No id, number or path is ever cut: cells fold rather than end in an
    ellipsis, and where even that would squeeze columns to a few letters each
    (a narrow terminal), each row is printed as lines that wrap whole. Off a
    terminal the console never wraps (planner/cli/common.py), so a pipe always
    gets the table, each line whole.
    """
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, justify="right" if column in right else "left", overflow="fold")
    for row in rows:
        table.add_row(*row)
    # Console.measure clamps to the console's width: measure unbounded to learn whether the table fits whole.
    if out.measure(table, options=out.options.update_width(1_000_000)).maximum <= out.width:
        out.print(table)
        return
    out.print(Text(title, style="italic"))
    for row in rows:
        first, *rest = row
        out.print(Text(f"{columns[0]} {first}", style="bold"))
        for column, value in zip(columns[1:], rest, strict=True):
            if value:
                out.print(Text(f"  {column}: {value}"))
    if not rows:
        out.print("  (none)")


@plans_app.command("list")
def list_plans(ledger: LedgerOption = None) -> None:
    """Every plan in the ledger, oldest first."""
    from planner.plans.ledger import Ledger, resolve_ledger_path

    with Ledger(resolve_ledger_path(ledger), create=False, readonly=True) as led:
        records, damaged = led.scan()
    rows = [[r.plan_id, r.state, (r.created_at or "")[:10], r.kind or "", r.book or "", r.status or "",
             _fmt(r.objective), _moved(r.counts)] for r in records]  # fmt: skip
    rows += [[d.plan_id, "DAMAGED", "", "", "", "", "", ""] for d in damaged]
    columns = ["plan_id", "state", "created", "kind", "book", "status", "cost", "moved"]
    print_rows("plans (planner plans show ID for details)", columns, rows, right=("cost", "moved"))
    for d in damaged:
        warning(
            f"plan {d.plan_id}: its ledger row is damaged ({'; '.join(d.problems)}); it cannot be approved, exported or rolled back"
        )


# What an export without a recorded --target / --property set: the format's default.
_DEFAULT_TARGET = {"salesforce": "owner", "hubspot": "hubspot_owner_id", "gainsight": "CSM"}

_CHECKED = {
    "solve": "by the evaluator when solved",
    "evaluator": "re-checked against its book by the evaluator",
    None: "not re-checked yet (approval re-checks it against its book)",
}


@plans_app.command("show")
def show(plan: PlanArg, ledger: LedgerOption = None) -> None:
    """One plan: its record, counts, inputs, lifecycle events and exports (which one was applied)."""
    from planner.plans.ledger import Ledger

    ledger_path, plan_id, _ = _locate(plan, ledger)
    with Ledger(ledger_path, create=False, readonly=True) as led:
        record, events, exports = led.get(plan_id), led.events(plan_id), led.exports(plan_id)
    record_rows = [
        ["state", record.state], ["path", record.path], ["created at", record.created_at or ""],
        ["book", f"{record.book} as of {record.as_of}"], ["status", f"{record.status} by {record.backend}"],
        ["objective", _fmt(record.objective)], ["gap", _fmt(record.gap, 6)],
        ["policy", f"{record.policy_source} (sha256 {record.policy_sha256})"], ["checked", _CHECKED[record.checked]],
    ]  # fmt: skip
    print_rows(f"plan {record.plan_id}", ["field", "value"], record_rows)
    print_rows("counts", ["count", "value"], [list(r) for r in _flat(record.counts)], right=("value",))
    inputs = [[str(i.get("table", "")), str(i.get("path", "")), _value(i.get("rows")), str(i.get("sha256", ""))]
              for i in record.inputs]  # fmt: skip
    print_rows("inputs", ["table", "path", "rows", "sha256"], inputs, right=("rows",))
    print_rows("events", ["at", "action", "from", "to", "by", "note"],
               [[e.at, e.action, e.from_state or "", e.to_state or "", e.by, e.note] for e in events])  # fmt: skip
    rows = []
    for x in exports:
        loaded = sum(f["rows"] for f in x.files if f["role"] == x.kind)
        exceptions = sum(f["rows"] for f in x.files if f["role"] == "exceptions")
        target = (
            x.options.get("salesforce_target") or x.options.get("hubspot_property") or _DEFAULT_TARGET.get(x.format, "")
        )
        applied = f"{x.applied_at} by {x.applied_by}" if x.applied_at else ""
        if x.kind == "rollback" and x.options.get("rolls_back"):
            applied = f"undoes #{x.options['rolls_back']}"
        rows.append([str(x.id), x.at, x.kind, x.format, target, x.by, "yes" if x.draft else "", applied,
                     f"{loaded:,}", f"{exceptions:,}", x.checksum, x.out_dir])  # fmt: skip
    columns = ["#", "at", "kind", "format", "target", "by", "draft", "applied", "rows", "exceptions", "checksum",
               "folder"]  # fmt: skip
    print_rows("exports", columns, rows, right=("#", "rows", "exceptions"))


@plans_app.command("diff")
def diff(
    plan_a: Annotated[str, typer.Argument(help="The plan in place (folder or id).")],
    plan_b: Annotated[str, typer.Argument(help="The plan that would replace it (folder or id).")],
    ledger: LedgerOption = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the diff as JSON.")] = False,
) -> None:
    """Moved accounts, ARR moved and per-owner load changes from PLAN_A to PLAN_B."""
    from planner.plans import diff_plans

    result = diff_plans(_plan_dir(plan_a, ledger), _plan_dir(plan_b, ledger))
    if json_out:
        import json

        typer.echo(json.dumps(result.as_dict(), indent=2))
        return
    from rich.table import Table

    console = out
    console.print(
        f"{result.plan_a} -> {result.plan_b}: {len(result.moved)} account(s) moved, ARR moved {_fmt(result.arr_moved)}"
    )
    if result.only_in_a or result.only_in_b:
        console.print(
            f"only in {result.plan_a}: {len(result.only_in_a)}; only in {result.plan_b}: {len(result.only_in_b)}"
        )
    table = Table(title="owner load changes (B - A)")
    for column in ("owner", "type", "name", "accounts", "Δ accounts", "ARR", "Δ ARR", "hours", "Δ hours"):
        table.add_column(column, justify="left" if column in ("owner", "type", "name") else "right")
    for o in result.owners:
        table.add_row(o.owner_id, o.owner_type, o.name, str(o.accounts_b), f"{o.accounts_delta:+d}", _fmt(o.arr_b),
                      f"{o.arr_delta:+,.2f}", _fmt(o.hours_b), f"{o.hours_delta:+,.2f}")  # fmt: skip
    console.print(table)
    from planner.cli.report import owner_label

    names = {o.owner_id: o.name for o in result.owners}  # both plans' owners: the table above names them
    moves = Table(title="moved accounts")
    for column in ("account", "ARR", "from", "to"):
        moves.add_column(column)
    for m in result.moved:
        moves.add_row(m.account_id, _fmt(m.arr), owner_label(m.from_owner, names), owner_label(m.to_owner, names))
    console.print(moves)


@plans_app.command("approve")
def approve(
    plan: PlanArg,
    by: Annotated[str, typer.Option("--by", help="Who approves.")],
    note: Annotated[str, typer.Option("--note", help="Why, or a ticket reference.")] = "",
    ledger: LedgerOption = None,
) -> None:
    """Approve a draft plan so it can be exported.

    The plan folder is checked first: its plan_id is recomputed from it, its
    files must be the ones the ledger recorded, and a plan the ledger did not
    get from `planner solve` is re-checked by the evaluator against its book.
    """
    from planner.plans import load_plan
    from planner.plans.ledger import Ledger, find_plan, vet_plan

    ledger_path, plan_id, folder = _locate(plan, ledger)
    record = find_plan(ledger_path, plan_id)
    if folder is None:  # an id: the folder the ledger recorded
        if record is None:
            with Ledger(ledger_path, create=False, readonly=True) as led:
                led.get(plan_id)  # says it is not in the ledger (or that there is no ledger)
        folder = Path(record.path)
    loaded = load_plan(folder)
    vetted = vet_plan(loaded, record)  # before the ledger is opened for writing: a refusal creates nothing
    with Ledger(ledger_path) as led, led.transaction():
        led.record(loaded.summary, loaded.file_sha256, loaded.path, by, checked=vetted.checked)
        result = led.transition(plan_id, "approved", by, note)
    if vetted.rechecked:
        out.print(f"{plan_id}: re-checked against its book by the independent evaluator; no rule broken")
    for kept in vetted.inherited:
        warning(f"kept from today's owners, not made worse by the plan: {kept}")
    typer.echo(f"{result.plan_id} approved by {by} ({ledger_path})")


@plans_app.command("mark-applied")
def mark_applied(
    plan: PlanArg,
    export: Annotated[
        Optional[int],
        typer.Option("--export", min=1, help="Which export was loaded: its # in `plans show` (default: the only one)."),
    ] = None,
    by: Annotated[Optional[str], typer.Option("--by", help="Who loaded it (default: your user name).")] = None,
    note: Annotated[str, typer.Option("--note", help="e.g. the CRM job id.")] = "",
    ledger: LedgerOption = None,
) -> None:
    """Record that an exported plan was loaded into the CRM, and which export folder was loaded."""
    from planner.plans.ledger import Ledger, current_user

    ledger_path, plan_id, _ = _locate(plan, ledger)
    with Ledger(ledger_path, create=False) as led:
        record, applied = led.mark_applied(plan_id, by or current_user(), note, export_id=export)
    typer.echo(f"{record.plan_id} marked applied: export {applied.label()} ({ledger_path})")


@plans_app.command("rollback")
def rollback(
    plan: PlanArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the rollback file(s) into.")],
    export: Annotated[
        Optional[int],
        typer.Option("--export", min=1, help="Which export to undo: its # in `plans show` (default: the applied one)."),
    ] = None,
    format: Annotated[
        Optional[str], typer.Option("--format", "-f", help="Undo the export of this format (when not --export).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing folder.")] = False,
    by: Annotated[Optional[str], typer.Option("--by", help="Who rolls back (default: your user name).")] = None,
    ledger: LedgerOption = None,
) -> None:
    """Write the load file(s) that restore the previous owners, and mark the plan rolled back.

    The export undone is --export N, else the one recorded as applied
    (`plans mark-applied`), else the plan's only export.
    """
    from planner.crm import rollback_plan
    from planner.errors import UsageError

    if export is not None and format is not None:  # --export names one export; a format would only second-guess it
        raise UsageError(
            f"Expected --export N or --format F to say which export to undo, got both (--export {export}, "
            f"--format {format})"
        )
    ledger_path, plan_id, _ = _locate(plan, ledger)
    prepare_output(out, force, {"the ledger": ledger_path, "the plan folder": _plan_dir(plan, ledger)})
    result = rollback_plan(plan_id, out, ledger_path, fmt=format, export_id=export, force=force, by=by)
    print_result(result)

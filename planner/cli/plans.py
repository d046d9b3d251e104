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
    return str(counts.get("moved", ""))


@plans_app.command("list")
def list_plans(ledger: LedgerOption = None) -> None:
    """Every plan in the ledger, oldest first."""
    from planner.plans.ledger import Ledger, resolve_ledger_path

    with Ledger(resolve_ledger_path(ledger), create=False, readonly=True) as led:
        records, damaged = led.scan()
    from rich.table import Table

    # The id is what users copy into approve/export, so it never wraps; `plans show` has the path.
    table = Table(title="plans (planner plans show ID for details)", title_justify="left")
    table.add_column("plan_id", no_wrap=True)
    for column in ("state", "created", "kind", "book", "status", "cost", "moved"):
        table.add_column(column)
    for r in records:
        table.add_row(r.plan_id, r.state, (r.created_at or "")[:10], r.kind or "", r.book or "", r.status or "",
                      _fmt(r.objective), _moved(r.counts))  # fmt: skip
    for d in damaged:
        table.add_row(d.plan_id, "DAMAGED", "", "", "", "", "", "")
    out.print(table)
    for d in damaged:
        warning(
            f"plan {d.plan_id}: its ledger row is damaged ({'; '.join(d.problems)}); it cannot be approved, exported or rolled back"
        )


@plans_app.command("show")
def show(plan: PlanArg, ledger: LedgerOption = None) -> None:
    """One plan: its record, lifecycle events and exports."""
    from planner.plans.ledger import Ledger

    ledger_path, plan_id, _ = _locate(plan, ledger)
    with Ledger(ledger_path, create=False, readonly=True) as led:
        record, events, exports = led.get(plan_id), led.events(plan_id), led.exports(plan_id)
    from rich.table import Table

    console = out
    console.print(f"{record.plan_id}  state: {record.state}", style="bold")
    for label, value in (
        ("path", record.path), ("created at", record.created_at), ("book", f"{record.book} as of {record.as_of}"),
        ("solve", f"{record.status} by {record.backend}, objective {_fmt(record.objective)}, gap {_fmt(record.gap, 6)}"),
        ("policy", f"{record.policy_source} (sha256 {record.policy_sha256})"), ("counts", record.counts),
        ("checked", {"solve": "by the evaluator when solved", "evaluator": "re-checked against its book by the evaluator",
                     None: "not re-checked yet (approval re-checks it against its book)"}[record.checked]),
    ):  # fmt: skip
        console.print(f"  {label}: {value}")
    for source in record.inputs:
        console.print(
            f"  input {source.get('table')}: {source.get('path')} sha256 {source.get('sha256')} rows {source.get('rows')}"
        )
    table = Table(title="events")
    for column in ("at", "action", "from", "to", "by", "note"):
        table.add_column(column)
    for e in events:
        table.add_row(e.at, e.action, e.from_state or "", e.to_state or "", e.by, e.note)
    console.print(table)
    table = Table(title="exports")
    for column in ("#", "at", "kind", "format", "by", "draft", "rows", "exceptions", "checksum", "folder"):
        table.add_column(column)
    for x in exports:
        rows = sum(f["rows"] for f in x.files if f["role"] == x.kind)
        exceptions = sum(f["rows"] for f in x.files if f["role"] == "exceptions")
        table.add_row(
            str(x.id),
            x.at,
            x.kind,
            x.format,
            x.by,
            "yes" if x.draft else "",
            str(rows),
            str(exceptions),
            x.checksum[:16],
            x.out_dir,
        )
    console.print(table)


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
    moves = Table(title="moved accounts")
    for column in ("account", "ARR", "from", "to"):
        moves.add_column(column)
    for m in result.moved:
        moves.add_row(m.account_id, _fmt(m.arr), m.from_owner, m.to_owner)
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
    by: Annotated[Optional[str], typer.Option("--by", help="Who loaded it (default: your user name).")] = None,
    note: Annotated[str, typer.Option("--note", help="e.g. the CRM job id.")] = "",
    ledger: LedgerOption = None,
) -> None:
    """Record that an exported plan was loaded into the CRM."""
    from planner.plans.ledger import Ledger, current_user

    ledger_path, plan_id, _ = _locate(plan, ledger)
    with Ledger(ledger_path, create=False) as led:
        record = led.transition(plan_id, "applied", by or current_user(), note)
    typer.echo(f"{record.plan_id} marked applied ({ledger_path})")


@plans_app.command("rollback")
def rollback(
    plan: PlanArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the rollback file(s) into.")],
    format: Annotated[
        Optional[str], typer.Option("--format", "-f", help="Which export to undo (default: the last one).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing folder.")] = False,
    by: Annotated[Optional[str], typer.Option("--by", help="Who rolls back (default: your user name).")] = None,
    ledger: LedgerOption = None,
) -> None:
    """Write the load file that restores the previous owners, and mark the plan rolled back."""
    from planner.crm import rollback_plan

    ledger_path, plan_id, _ = _locate(plan, ledger)
    prepare_output(out, force, {"the ledger": ledger_path, "the plan folder": _plan_dir(plan, ledger)})
    result = rollback_plan(plan_id, out, ledger_path, fmt=format, force=force, by=by)
    print_result(result)

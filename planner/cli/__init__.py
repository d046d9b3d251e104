"""The `planner` command: one file per command, heavy imports inside them."""

from __future__ import annotations

import sys

import typer

from planner.cli.common import PIPE_WIDTH, GuardedGroup
from planner.cli.coverage import coverage
from planner.cli.demo import demo
from planner.cli.evaluate import evaluate
from planner.cli.export import export
from planner.cli.frontier import frontier
from planner.cli.generate import generate
from planner.cli.import_ import import_
from planner.cli.plans import plans_app
from planner.cli.reassign import reassign
from planner.cli.solve import solve
from planner.cli.validate import validate

app = typer.Typer(
    name="planner",
    help="Territory planner for Customer Success teams: optimal account coverage plans.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=GuardedGroup,  # no traceback ever: PlannerErrors exit with their code, bugs with 70
    # Plain click help and usage errors: rich's panels hard-wrap at 80 columns off a terminal.
    rich_markup_mode=None,
    # Help fills a terminal up to 100 columns; in a pipe or a log no line is wrapped.
    context_settings={
        "max_content_width": 100 if sys.stdout.isatty() else PIPE_WIDTH,
        "terminal_width": None if sys.stdout.isatty() else PIPE_WIDTH,
    },
)
app.command()(demo)
app.command()(validate)
app.command()(solve)
app.command()(evaluate)
app.command()(frontier)
app.command()(generate)
app.command("import")(import_)
app.command()(reassign)
app.command()(coverage)
app.command()(export)
app.add_typer(plans_app, name="plans", help="The plan ledger: list, show, diff, approve, mark applied, roll back.")


def main() -> None:
    app()

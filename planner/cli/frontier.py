"""planner frontier BOOK --out DIR [--points 8]"""

from __future__ import annotations

import time
from typing import Annotated, Optional

import typer

from planner.cli.common import err, ledger_input, load_book_or_exit, out, prepare_output, record_in_ledger
from planner.cli.options import (
    DEFAULT_GAP,
    AsOfOption,
    Backend,
    BackendOption,
    BookArg,
    ForceOption,
    GapOption,
    LedgerOption,
    PlanOutOption,
    PolicyOption,
    SeedOption,
    ThreadsOption,
    TimeLimitOption,
    whole_range,
)  # fmt: skip

PointsOption = Annotated[
    int, typer.Option("--points", callback=whole_range(2, 50), metavar="N", help="Plans on the frontier (2 to 50).")
]
WorkersOption = Annotated[
    Optional[int],
    typer.Option("--workers", callback=whole_range(1, 256), metavar="N",
                 help="Points solved at once, one process each (default: the cores here)."),
]  # fmt: skip


FRONTIER_TIME_LIMIT = 170.0  # seconds for the whole frontier by default (issue 12: 8 points on 10k under 3 min)


def frontier(
    book: BookArg,
    out_dir: PlanOutOption,
    points: PointsOption = 8,
    policy: PolicyOption = None,
    as_of: AsOfOption = None,
    backend: BackendOption = Backend.highs,
    time_limit: TimeLimitOption = FRONTIER_TIME_LIMIT,
    gap: GapOption = DEFAULT_GAP,
    threads: ThreadsOption = 1,
    workers: WorkersOption = None,
    seed: SeedOption = 0,
    force: ForceOption = False,
    ledger: LedgerOption = None,
) -> None:
    """The trade-off between cost and change: plans from the fewest moves the caps allow to the cheapest plan.

    DIR gets frontier.csv and one plan folder per point (NN-moves-M), each
    recorded as a draft: approve and export any of them like a solve's plan.
    --time-limit binds the whole frontier (default 170 s: the 8 points of a
    10,000-account book in under 3 minutes on 2 cores); --threads is per point.
    """
    from planner.cli.common import require_writable_ledger
    from planner.cli.report import frontier_table
    from planner.io.atomic import atomic_dir
    from planner.io.csvtext import write_frame
    from planner.planning.frontier import plan_frontier
    from planner.planning.runner import BookSpec, remember

    started = time.perf_counter()
    ledger_path = ledger_input(ledger, out_dir)
    prepare_output(out_dir, force, {"the book": book, "the policy file": policy, "the ledger": ledger_path})
    require_writable_ledger(ledger, out_dir)
    b = load_book_or_exit(book, policy, as_of)
    spec = BookSpec(str(book.resolve()), None if policy is None else str(policy.resolve()), b.as_of)
    remember(spec, b)
    options = {"gap": gap, "threads": threads, "seed": seed}
    with atomic_dir(out_dir, force=force, kind="frontier") as tmp:
        with err.status(f"Solving {points} points of the frontier on {len(b.accounts):,} accounts..."):
            found = plan_frontier(spec, tmp, points, backend.value if hasattr(backend, "value") else backend,
                                  options=options, workers=workers, time_limit=time_limit, started=started,
                                  ledger=str(ledger_path.resolve()))  # fmt: skip
        import pandas as pd

        write_frame(pd.DataFrame([p.row() for p in found]), tmp / "frontier.csv")
    out.print(frontier_table(found))
    for p in found:
        if p.folder is not None:
            record_in_ledger(out_dir / p.folder, ledger_path)
        else:
            err.print(f"point {p.point} (at most {p.max_moves} moves): no plan; " + "; ".join(p.diagnosis[:2]))
    out.print(
        f"Frontier written to {out_dir}/ (frontier.csv and {sum(p.folder is not None for p in found)} plan folders)"
    )

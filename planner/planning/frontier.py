r"""The trade-off between cost and change: plans from "the fewest moves the caps allow" to "moves as the cost says".

Epsilon-constraint on the number of accounts that change owner:

    L = the fewest changes of owner that keep every cap (planner/planning/continuity.py);
        an account whose owner cannot keep it counts, as in --max-moves
    F = the changes of the plan with no cap on moves (the plain solve)
    for each m in P points spread evenly over [L, F]:   solve the coverage model with  moves <= m

Each point is a whole plan (a plan folder that can be recorded, approved and
exported); its cost terms say what the extra moves buy. The points are
independent solves, run side by side by planner/planning/runner.py: first
the two ends (the plain solve gives F; the point at L), then the points in
between. Same book, options and seed: the same frontier.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from planner.planning.runner import BookSpec, Runner, cached_book


@dataclass(frozen=True)
class FrontierPoint:
    """One plan on the frontier: the cap it was solved under and what it achieves."""

    point: int
    max_moves: int | None  # None: no cap (the plain solve)
    status: str
    plan_id: str | None
    folder: str | None  # the plan folder's name inside the frontier folder
    moves: int | None
    moved_arr: float | None
    objective: float | None
    bound: float | None
    gap: float | None
    terms: dict
    seconds: float
    diagnosis: tuple[str, ...] = ()

    def row(self) -> dict:
        out = asdict(self)
        out.pop("terms")
        out.pop("diagnosis")
        return {**out, **{f"{k}_cost" if k != "revenue_at_risk" else k: v for k, v in self.terms.items()}}


def solve_point(
    spec: BookSpec,
    backend: str,
    options: dict,
    max_moves: int | None,
    out: str,
    name: str,
    point: int,
    ledger: str = "",
) -> FrontierPoint:
    """Solve the book under a cap on moves and write its plan folder to `out`/`name` (runs in a worker process)."""
    from dataclasses import replace

    from planner.planning.solve import solve

    t0 = time.perf_counter()
    result = solve(cached_book(spec), backend, max_moves=max_moves, **options)
    folder = None
    if result.has_plan:
        folder = name  # renamed NN-moves-M once every point is known (_numbered)
        replace(result, ledger=ledger).write(Path(out) / folder)  # summary.json names the ledger it goes to
    return FrontierPoint(
        point=point, max_moves=max_moves, status=result.status.value, plan_id=result.plan_id, folder=folder,
        moves=result.counts.moved if result.counts else None,
        moved_arr=result.counts.arr_moved if result.counts else None,
        objective=result.objective, bound=result.bound, gap=result.gap, terms=dict(result.terms),
        seconds=time.perf_counter() - t0, diagnosis=tuple(result.diagnosis),
    )  # fmt: skip


def caps_between(least: int, free: int, points: int) -> list[int]:
    """Up to `points` caps on moves spread evenly from `least` to `free` (both included), whole and distinct."""
    if free <= least:
        return [least]
    return sorted({int(round(v)) for v in np.linspace(least, free, max(2, points))})


def plan_frontier(spec: BookSpec, out: Path, points: int = 8, backend: str = "highs", *, options: dict | None = None,
                  workers: int | None = None, time_limit: float | None = None, started: float | None = None,
                  ledger: str = "") -> list[FrontierPoint]:  # fmt: skip
    """The frontier's points, each plan folder written under `out` (a folder that exists); cheapest-change first.

    `options` are solve()'s (gap, threads, seed, ...); `time_limit` binds the
    whole frontier: each point gets an equal share of what is left, by rounds
    of `workers` points at a time.
    """
    from planner.models.coverage import build_coverage
    from planner.planning.continuity import least_change
    from planner.planning.runner import default_workers

    started = time.perf_counter() if started is None else started
    options = dict(options or {})
    workers = workers or default_workers()
    book = cached_book(spec)
    model = build_coverage(book)
    least = least_change(book, model, "moves", time_limit=30.0 if time_limit is None else max(1.0, 0.1 * time_limit))
    rounds = 1 + math.ceil(max(0, points - 2) / workers)  # the two ends, then the rest
    per_point = None if time_limit is None else max(1.0, (time_limit - (time.perf_counter() - started)) / rounds)
    options["time_limit"] = per_point
    ends = [(None, "point-free")]
    if least.found is not None:
        ends.append((int(round(least.found)), "point-least"))
    with Runner(workers) as runner:
        found = runner.run(
            solve_point, [(spec, backend, options, cap, str(out), name, 0, ledger) for cap, name in ends]
        )
        free = found[0]
        if free.moves is not None and least.found is not None and points > 2:
            caps = [
                c
                for c in caps_between(int(round(least.found)), free.moves, points)
                if c not in (free.moves, ends[1][0])
            ]
            found += runner.run(
                solve_point, [(spec, backend, options, c, str(out), f"point-{c}", 0, ledger) for c in caps]
            )
    ordered = sorted(found, key=lambda p: (p.moves if p.moves is not None else math.inf, p.max_moves is None))
    return [_numbered(p, i, out) for i, p in enumerate(ordered, start=1)]


def _numbered(p: FrontierPoint, i: int, out: Path) -> FrontierPoint:
    """Point `i` (fewest moves first), its plan folder renamed `NN-moves-M` to say so."""
    from dataclasses import replace

    if p.folder is None:
        return replace(p, point=i)
    folder = f"{i:02d}-moves-{p.moves}"
    (out / p.folder).rename(out / folder)
    return replace(p, point=i, folder=folder)

"""Book -> solve() -> PlanResult: planning a book of business.

Builds the coverage model (models/coverage.py) of the book and runs it
through the one pipeline (planner/planning/pipeline.py): the backend, the
fall-back to the rule-based plan, the plan's tables, the independent
evaluator, the greedy baseline. An infeasible book comes back with a
diagnosis in words instead of a plan.
"""

from __future__ import annotations

import datetime as dt
import time

import numpy as np

from planner.backends.base import SolveOptions, Status
from planner.book import Book
from planner.planning.pipeline import Clock, Job, run
from planner.planning.result import PlanResult


class CoverageJob(Job):
    """The coverage model of a book: every account gets an owner, except those no owner may take.

    An account with no eligible owner at all (an enterprise account in a
    language no enterprise CSM speaks) does not sink the book: the rest is
    planned, and that account is left unassigned with its reason and what
    would fix it (``strict`` makes it an error again: no plan, exit 3).
    """

    kind = "solve"

    def __init__(self, book: Book, coverage, build_s: float, caps: dict | None = None, strict: bool = False):
        super().__init__(book, coverage, build_s)
        self.caps = {k: v for k, v in (caps or {}).items() if v is not None}  # --max-moves, --max-moved-arr
        self.nobody = np.zeros(0, dtype=np.int64) if strict else coverage.problem.items_without_arcs()
        self._problem, self._arcs, self._items = _without_items(coverage.problem, self.nobody)

    @property
    def problem(self):
        return self._problem

    def identity(self) -> dict:
        """The book's identity, and the continuity caps the plan was made under (they change the model)."""
        return {**super().identity(), **self.caps}

    def full_choice(self, choice):
        out = np.full(self.coverage.problem.n_items, -1, dtype=np.int64)
        out[self._items] = np.where(choice >= 0, self._arcs[np.maximum(choice, 0)], -1)
        return out

    def unplaced(self) -> dict[int, tuple[str, str]]:
        from planner.planning.diagnose import explain_no_owner, fix_for_no_owner

        why = list(explain_no_owner(self.book, self.nobody, limit=None))
        return {int(i): ("no eligible owner", f"{w.split(': ', 1)[1]}; to fix: {fix_for_no_owner(self.book, int(i))}")
                for i, w in zip(self.nobody, why, strict=True)}  # fmt: skip

    def diagnose(self, sol) -> tuple[str, ...]:
        from planner.planning.diagnose import diagnose

        if sol is None or sol.status == Status.INFEASIBLE:
            return tuple(diagnose(self.book, self.coverage))
        # No plan found, none proven impossible: what the solver said, then what the checks can tell.
        return (sol.message or "the solver stopped without a plan", *diagnose(self.book, self.coverage, proven=False))

    def details(self, sol, assignments, result):
        acc = self.book.accounts
        unplaced = [
            {"account_id": acc["account_id"].iat[i], "arr": float(acc["arr"].iat[i]), "current_owner": acc["current_owner"].iat[i],
             "reason": reason, "detail": detail}
            for i, (reason, detail) in self.unplaced().items()
        ]  # fmt: skip
        details = {"continuity_caps": self.caps, "forced_moves": self.coverage.forced_moves, "unplaced": unplaced,
                   "over_caps": over_caps(self.book, self.coverage, self.full_choice(sol.choice))}  # fmt: skip
        return details, {}, {}


def over_caps(book: Book, model, choice) -> list[dict]:
    """The caps the commitments alone exceed, each with how far, why, and what it costs a year (summary "over_caps").

    E.g. "U0144: $2,420,013 ARR over the cap of $2,500,000; 10 accounts renewing by 2027-01-30 keep their owner".
    """
    from planner.models.coverage import owner_costs

    p, owners = model.problem, model.owners
    caps = {"hours": owners.cap_hours, "accounts": owners.cap_accounts, "arr": owners.cap_arr}
    committed = np.isin(model.arc_rule, ["freeze", "pin"])
    cost = owner_costs(model, choice)["over_cap"]
    rows = []
    for name, agents in (model.committed_over or {}).items():
        load = p.load(name, choice)
        for k in agents:
            mine = committed & (p.arc_agent == k)
            frozen, pinned = int((mine & (model.arc_rule == "freeze")).sum()), int((mine & (model.arc_rule == "pin")).sum())
            over = float(load[k] - caps[name][k])
            why = []
            if frozen:
                last = book.as_of + dt.timedelta(days=book.policy.freeze_days)
                why.append(f"{frozen} account(s) renewing by {last.isoformat()} keep their owner")
            if pinned:
                why.append(f"{pinned} account(s) are pinned to it")
            amount = {"hours": f"{over:,.1f} h/month", "accounts": f"{over:,.0f} accounts", "arr": f"${over:,.0f} ARR"}[name]
            cap = {"hours": f"{caps[name][k]:,.1f} h", "accounts": f"{caps[name][k]:,.0f}", "arr": f"${caps[name][k]:,.0f}"}[name]
            rows.append({
                "owner_id": owners.ids[k], "resource": name, "over": over, "cap": float(caps[name][k]),
                "annual_cost": float(cost[k]),
                "detail": f"{owners.ids[k]}: {amount} over the cap of {cap}; {' and '.join(why)}",
            })  # fmt: skip
    return rows


def _without_items(p, drop: np.ndarray):
    """(p without the items `drop`, problem arc -> p's arc, problem item -> p's item): those items stay unplaced."""
    from dataclasses import replace

    keep_item = np.ones(p.n_items, dtype=bool)
    keep_item[drop] = False
    items = np.flatnonzero(keep_item)
    if len(items) == p.n_items:
        return p, np.arange(p.n_arcs), items
    new_item = np.full(p.n_items, -1, dtype=np.int64)
    new_item[items] = np.arange(len(items))
    arcs = np.flatnonzero(keep_item[p.arc_item])  # every arc of a dropped item is gone (it has none anyway)
    new_arc = np.full(p.n_arcs, -1, dtype=np.int64)
    new_arc[arcs] = np.arange(len(arcs))

    def arcs_of(a):
        return None if a is None else np.asarray(a)[arcs]

    start = None if p.start is None else np.where(np.asarray(p.start)[items] >= 0, new_arc[np.maximum(np.asarray(p.start)[items], 0)], -1)
    order = None if p.item_priority is None else new_item[np.asarray(p.item_priority)[keep_item[np.asarray(p.item_priority)]]]
    sub = replace(
        p, n_items=len(items), arc_item=new_item[p.arc_item[arcs]], arc_agent=p.arc_agent[arcs], arc_cost=p.arc_cost[arcs],
        resources=tuple(replace(r, weight=r.weight[arcs]) for r in p.resources),
        side_rows=tuple(replace(s, arcs=new_arc[s.arcs], coef=s.coef) for s in p.side_rows),
        start=start, arc_tier=arcs_of(p.arc_tier), item_priority=order,
        item_names=None if p.item_names is None else tuple(np.asarray(p.item_names, dtype=object)[items]),
    )  # fmt: skip
    return sub, arcs, items


def coverage_job(book: Book, max_moves: int | None = None, max_moved_arr: float | None = None,
                 strict: bool = False) -> CoverageJob:  # fmt: skip
    """The coverage model of `book` as a pipeline job; `max_moves` / `max_moved_arr` cap the changes of owner."""
    from planner.models.coverage import build_coverage

    t0 = time.perf_counter()
    model = build_coverage(book, max_moves=max_moves, max_moved_arr=max_moved_arr, strict=strict)
    caps = {"max_moves": max_moves, "max_moved_arr": max_moved_arr}
    return CoverageJob(book, model, time.perf_counter() - t0, caps, strict=strict)


def solve(
    book: Book,
    backend: str = "highs",
    *,
    time_limit: float | None = None,
    gap: float = 1e-4,
    threads: int = 1,
    seed: int = 0,
    warm_start: bool = True,
    baseline: bool = True,
    verbose: bool = False,
    pulp_solver: str | None = None,
    load_s: float = 0.0,
    started: float | None = None,
    max_moves: int | None = None,
    max_moved_arr: float | None = None,
    strict: bool = False,
    progress=None,
) -> PlanResult:
    """The optimal coverage plan of `book`, with its proof (or the reasons there is none).

    `max_moves` caps how many accounts change owner (forced moves included);
    `max_moved_arr` the share of today's owned ARR that does (default: the
    policy's continuity.max_changed_arr_share). `strict`: an account no
    owner may take is no plan (exit 3), not an unassigned account, and so is
    a cap the commitments (renewal freeze, pins) alone exceed, instead of
    being raised to what they need, priced and listed.

    `started` (a time.perf_counter() reading) is when the command began:
    `time_limit` counts from then, so it binds the load, the build and
    everything after the solver too. `progress` (see SolveOptions.progress) is told how the solve goes.
    """
    options = SolveOptions(
        time_limit=time_limit, gap=gap, threads=threads, seed=seed, verbose=verbose, warm_start=warm_start,
        extra={"pulp_solver": pulp_solver} if pulp_solver else {}, progress=progress,
    )  # fmt: skip
    clock = Clock.start(time_limit, started)
    job = coverage_job(book, max_moves, max_moved_arr, strict)
    return run(job, backend, options, baseline=baseline, load_s=load_s, clock=clock)

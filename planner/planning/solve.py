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

    def __init__(self, book: Book, coverage, build_s: float, caps: dict | None = None, strict: bool = False,
                 short: dict[int, str] | None = None, shortage: tuple[str, ...] = ()):  # fmt: skip
        super().__init__(book, coverage, build_s)
        self.caps = {k: v for k, v in (caps or {}).items() if v is not None}  # --max-moves, --max-moved-arr
        self.strict = strict
        self.nobody = np.zeros(0, dtype=np.int64) if strict else coverage.problem.items_without_arcs()
        self.short = dict(short or {})  # book row -> who is full: accounts no plan has room for, left unplaced
        self.shortage = shortage  # why the book is short, in words (the diagnosis of the full model)
        drop = np.union1d(self.nobody, np.fromiter(self.short, dtype=np.int64, count=len(self.short)))
        self._problem, self._arcs, self._items = _without_items(coverage.problem, drop)

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
        out = {int(i): ("no eligible owner", f"{w.split(': ', 1)[1]}; to fix: {fix_for_no_owner(self.book, int(i))}")
               for i, w in zip(self.nobody, why, strict=True)}  # fmt: skip
        for i, full in self.short.items():
            out[i] = ("not placed", f"{full}; to place it: raise a cap of one of those owners or add capacity that may "
                                    "serve it (a hire, a pool); --strict makes a short book no plan")  # fmt: skip
        return out

    def diagnose(self, sol) -> tuple[str, ...]:
        from planner.planning.diagnose import diagnose

        aside = len(self.nobody) > 0  # left unassigned by this job: not why the rest has no plan
        if sol is None or sol.status == Status.INFEASIBLE:
            return tuple(diagnose(self.book, self.coverage, set_aside=aside))
        # No plan found, none proven impossible: what the solver said, then what the checks can tell.
        return (sol.message or "the solver stopped without a plan",
                *diagnose(self.book, self.coverage, proven=False, set_aside=aside))  # fmt: skip

    def details(self, sol, assignments, result):
        acc = self.book.accounts
        unplaced = [
            {"account_id": acc["account_id"].iat[i], "arr": float(acc["arr"].iat[i]), "current_owner": acc["current_owner"].iat[i],
             "reason": reason, "detail": detail}
            for i, (reason, detail) in self.unplaced().items()
        ]  # fmt: skip
        details = {"continuity_caps": self.caps, "forced_moves": self.coverage.forced_moves, "unplaced": unplaced,
                   "shortage": list(self.shortage),
                   "over_caps": over_caps(self.book, self.coverage, self.full_choice(sol.choice))}  # fmt: skip
        return details, {}, {}


def over_caps(book: Book, model, choice) -> list[dict]:
    """The caps the commitments alone exceed, each with how far, why, and what it costs a year (summary "over_caps").

    E.g. "U0144: $2,420,013 ARR over the cap of $2,500,000; 10 accounts renewing by 2027-01-30 keep their owner".
    """
    from planner.models.coverage import owner_costs

    p, owners = model.problem, model.owners
    caps = {"hours": owners.cap_hours, "accounts": owners.cap_accounts, "arr": owners.cap_arr}
    committed = model.arc_committed
    cost = owner_costs(model, choice)["over_cap"]
    rows = []
    for name, agents in (model.committed_over or {}).items():
        load = p.load(name, choice)
        for k in agents:
            mine = committed & (p.arc_agent == k)
            frozen, pinned, sole = (
                int((mine & (model.arc_rule == "freeze")).sum()),
                int((mine & (model.arc_rule == "pin")).sum()),
                int((mine & ~np.isin(model.arc_rule, ["freeze", "pin"])).sum()),
            )
            over = float(load[k] - caps[name][k])
            why = []
            if frozen:
                last = book.as_of + dt.timedelta(days=book.policy.freeze_days)
                why.append(f"{frozen} account(s) renewing by {last.isoformat()} keep their owner")
            if pinned:
                why.append(f"{pinned} account(s) are pinned to it")
            if sole:
                why.append(f"{sole} account(s) no other owner may take stay with it")
            amount = {"hours": f"{over:,.1f} h/month", "accounts": f"{over:,.0f} accounts", "arr": f"${over:,.0f} ARR"}[
                name
            ]
            cap = {
                "hours": f"{caps[name][k]:,.1f} h",
                "accounts": f"{caps[name][k]:,.0f}",
                "arr": f"${caps[name][k]:,.0f}",
            }[name]
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

    start = (
        None
        if p.start is None
        else np.where(np.asarray(p.start)[items] >= 0, new_arc[np.maximum(np.asarray(p.start)[items], 0)], -1)
    )
    order = (
        None
        if p.item_priority is None
        else new_item[np.asarray(p.item_priority)[keep_item[np.asarray(p.item_priority)]]]
    )
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
    result = run(job, backend, options, baseline=baseline, load_s=load_s, clock=clock)
    if result.status != Status.INFEASIBLE or strict:
        return result
    return _short_book(job, result, backend, options, baseline, load_s, clock) or result


SHORT_BOOK_MIN_S = 1.0  # seconds of the time limit the plan of a short book needs to be worth starting


def _short_book(job: CoverageJob, result: PlanResult, backend: str, options: SolveOptions, baseline: bool,
                load_s: float, clock: Clock) -> PlanResult | None:  # fmt: skip
    """The plan of a book whose caps cannot hold every account: the fewest that do not fit are left unplaced.

    The elastic re-solve of the diagnosis (planner/planning/diagnose.py
    ``fewest_uncovered``) says which accounts no plan has room for; the book
    is solved again without them, and each is listed as "not placed" with
    who is full and what it needs, beside the diagnosis in words. None when
    that cannot help: a continuity cap no plan meets, no account that fits,
    or no time left (the proven "no plan" stands).
    """
    from planner.planning.diagnose import SET_ASIDE_HEAD, fewest_uncovered, full_owners_detail

    left = clock.left()
    if left is not None and left < SHORT_BOOK_MIN_S:
        return None
    book, model = job.book, job.coverage
    u = fewest_uncovered(book, model, keep_commitments=True)  # a plan keeps today's commitments
    if u.failed or not len(u.accounts) or len(u.accounts) + u.besides >= len(book.accounts):
        return None
    short = {int(i): full_owners_detail(book, model, u, int(i)) for i in u.accounts}
    # Why, in words: the diagnosis less what the unplaced list says account by account.
    listed = tuple(f"{a}: " for a in book.accounts["account_id"].iloc[np.r_[u.accounts, job.nobody]])
    why = []
    for line in result.diagnosis:
        if line.endswith(SET_ASIDE_HEAD):
            break
        if not line.startswith(listed):
            why.append(line)
    fewest = fewest_uncovered(book, model)  # the diagnosis's count (the same solve, kept)
    if not fewest.failed and len(fewest.accounts) != len(u.accounts):
        why.append(f"keeping every account the renewal freeze or a pin holds with its owner, the plan leaves "
                   f"{len(u.accounts):,} unplaced")  # fmt: skip
    second = CoverageJob(book, model, job.build_s, job.caps, short=short, shortage=tuple(why))
    again = run(second, backend, options, baseline=baseline, load_s=load_s, clock=clock)
    return again if again.has_plan else None

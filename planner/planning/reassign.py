"""When CSMs leave: Book + leavers -> reassign() -> PlanResult with handoffs.

Builds the reassignment model (models/reassign.py) on the relationship graph's
knowledge scores and runs it through the one pipeline
(planner/planning/pipeline.py), as `solve` does, with the same plan tables
plus ``handoffs`` (one row per account that changes owner) and, when the
team is short of capacity, the options in words.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import replace

import numpy as np
import pandas as pd

from planner.backends.base import SolveOptions, Status
from planner.book import Book
from planner.errors import UsageError
from planner.planning.pipeline import Clock, Job, run
from planner.planning.result import PlanResult, Verdict


class LeaverError(UsageError):
    """--leaving / --on-leave / --until that cannot be used together or with this book (exit 2, nothing written)."""


def resolve_leaves(
    book: Book, leaving=(), on_leave=(), until: dt.date | None = None, *, effective: dt.date | None = None
):
    """The Leave list: named ids, or else every roster CSM marked leaving / on leave who owns accounts.

    Refused (LeaverError, a usage error): an id on no roster, the same CSM both
    leaving and on leave, a named leaver who owns no account (a typo of an id
    would otherwise pass for a handoff, and there is nothing to hand off),
    --until with nobody on leave, and a return date that is not after the
    effective date (the plan date by default), whether from --until or the roster.
    """
    from planner.models.reassign import Leave

    csms = book.csms.set_index("csm_id")
    effective = effective or book.as_of
    named = list(leaving) + list(on_leave)
    for cid in dict.fromkeys(named):
        if cid not in csms.index:
            raise LeaverError(f"{cid}: expected a csm_id from the roster (csms table)")
    both = sorted(set(leaving) & set(on_leave))
    if both:
        raise LeaverError(f"{', '.join(both)}: named both --leaving and --on-leave; expected one of them per CSM")
    owners = set(book.accounts["current_owner"])
    idle = [c for c in dict.fromkeys(named) if c not in owners]
    if idle:
        raise LeaverError(
            f"{', '.join(idle)}: owns no account in this book, so there is nothing to hand off; expected a CSM who "
            "owns accounts (check the id, or just update the roster)"
        )
    if not named:
        leaving = [c for c in csms.index if csms.at[c, "status"] == "leaving" and c in owners]
        on_leave = [c for c in csms.index if csms.at[c, "status"] == "on_leave" and c in owners]
        if not leaving and not on_leave:
            raise LeaverError(
                "no leaver: expected --leaving CSM_ID, --on-leave CSM_ID, or a roster CSM with status leaving/on_leave who owns accounts"
            )
    if until is not None and not on_leave:
        raise LeaverError("--until is the return date of a CSM on leave; expected --on-leave CSM_ID with it")
    leaves = [Leave(c) for c in dict.fromkeys(leaving)]
    for c in dict.fromkeys(on_leave):
        back = until or _date(csms.at[c, "return_date"])
        if back is None:
            raise LeaverError(f"{c}: on leave, expected a return date (--until DATE or the roster's return_date)")
        if back <= effective:
            source = "--until" if until else "the roster's return_date"
            raise LeaverError(
                f"{c}: returns {back.isoformat()} ({source}), expected a return date after the "
                f"{'effective date' if effective != book.as_of else 'plan date'} {effective.isoformat()}"
                + ("" if until else "; pass --until DATE, or --leaving if they do not come back")
            )
        leaves.append(Leave(c, back))
    return tuple(leaves)


def _date(v) -> dt.date | None:
    return None if v is None or pd.isna(v) else pd.Timestamp(v).date()


def knowledge_scorer(book: Book):
    """pairs -> {(account_id, csm_id): Knowledge}, scoring only CSMs connected to each account."""
    from planner.team.graph import build_graph
    from planner.team.knowledge import knowledge_matrix, weights_from_policy

    G = build_graph(book)
    weights = weights_from_policy(book.policy)
    owner = dict(zip(book.accounts["account_id"], book.accounts["current_owner"], strict=True))

    def score(pairs):
        by_account: dict[str, list[str]] = {}
        for a, c in pairs:
            by_account.setdefault(a, []).append(c)
        out = {}
        for a, cands in by_account.items():
            leaver = owner.get(a) if book.owner_kind(owner.get(a, "")) == "csm" else None
            out.update(knowledge_matrix(G, [a], cands, {a: leaver} if leaver else None, weights))
        return out

    return G, score


class ReassignJob(Job):
    """The reassignment model: the leavers' accounts (and any their owners cannot keep) find successors."""

    kind = "reassign"

    def __init__(self, model, leaves, effective: dt.date, max_moves: int, graph, build_s: float, plan_date=None):
        super().__init__(model.book, model.coverage, build_s)
        self.rmodel, self.leaves, self.effective, self.max_moves, self.graph = (
            model,
            leaves,
            effective,
            max_moves,
            graph,
        )
        self.plan_date = plan_date or effective
        self.solution = None  # the backend's solution of the plan, once there is one (phase 2 starts from it)

    @property
    def model(self):
        return self.rmodel

    def model_size(self) -> dict:
        p = self.problem
        return {"accounts_in_scope": p.n_items, "arcs": p.n_arcs, "renewing": int(self.rmodel.renewing.sum()),
                "no_eligible_owner": int(self.rmodel.nobody.sum())}  # fmt: skip

    def identity(self) -> dict:
        """The book's identity plus who leaves, how, and from when: two different reassignments never share an id."""
        return {**super().identity(), "plan_date": self.plan_date.isoformat(), **self._who()}

    def _who(self) -> dict:
        return {
            "effective": self.effective.isoformat(),
            "max_moves": self.max_moves,
            "leavers": [
                {
                    "csm_id": l.csm_id,
                    "mode": "on_leave" if l.until else "leaving",
                    "temporary_until": l.until.isoformat() if l.until else None,
                }
                for l in self.leaves
            ],  # fmt: skip
        }

    def full_choice(self, choice):
        return self.rmodel.full_choice(choice)

    def _unplaced(self, sol):
        return self.rmodel.unplaced(sol.choice)

    def unplaced(self) -> dict[int, tuple[str, str]]:
        """The accounts no owner may take (A_x): unplaced whatever the solver does, with the reason and the fix."""
        from planner.planning.diagnose import explain_no_owner, fix_for_no_owner

        nobody = np.flatnonzero(self.rmodel.nobody)
        why = list(explain_no_owner(self.book, nobody, limit=None))
        return {int(i): ("no eligible owner", f"{w.split(': ', 1)[1]}; to fix: {fix_for_no_owner(self.book, int(i))}")
                for i, w in zip(nobody, why, strict=True)}  # fmt: skip

    def cost(self, sol) -> float:
        return sol.objective - self.rmodel.unplaced_price(sol.choice)  # u (or p) prices nothing real

    def bound(self, sol):
        # With an account left unplaced the solver's bound prices it at u (or p), so it says nothing of the real cost.
        return sol.bound if not len(self._unplaced(sol)) else None

    def details(self, sol, assignments, result):
        from planner.planning.diagnose import shortage_options, unplaced_detail

        self.solution = sol
        book, m = self.book, self.rmodel
        full = self.full_choice(sol.choice)
        short = self._unplaced(sol)
        nobody = self.unplaced()
        rows = [_unplaced_row(book, i, *nobody[i]) for i in nobody]
        # New accounts and those of owners on no roster: no move of this plan, left to `planner solve`; say which.
        outside = np.flatnonzero(m.outside & (full < 0))
        at = assignments.index[outside]
        assignments.loc[at, "reason_detail"] = [_outside_detail(str(assignments.at[i, "previous_owner"])) for i in at]
        if len(short):
            said = {int(a): unplaced_detail(book, m, full, int(a)) for a in short}
            at = assignments.index[short]  # the plan's rows of the accounts the solver left unplaced
            assignments.loc[at, "reason_detail"] = [said[int(a)] for a in short]
            rows += [
                _unplaced_row(book, int(a), assignments.at[i, "reason"], said[int(a)])
                for a, i in zip(short, at, strict=True)
            ]
        handoffs = handoff_table(book, self.graph, m, assignments, self.leaves)
        moved_arr = float(handoffs["arr"].sum())
        warm_arr = float(handoffs.loc[handoffs["warm"], "arr"].sum())
        placed = full >= 0
        gone = {l.csm_id for l in self.leaves}
        details = {
            **self._who(),
            "unplaced": rows,
            "shortage": list(shortage_options(book, m, for_plan=True)) if len(short) else [],
            "left_unassigned": int(m.outside.sum()),  # new or ownerless accounts: planner solve places them
            "moves": int(len(handoffs)),
            "moves_by_reason": _by_reason(handoffs, gone),
            "cascade_moves": int((handoffs["reason"] == "cascade").sum()),
            "arr_moved": moved_arr,
            "warm_arr_share": round(warm_arr / moved_arr, 4) if moved_arr else None,
        }
        terms = {
            "handoff_risk": float(m.arc_risk[full[placed]].sum()),
            "renewal_knowledge": float(m.arc_renew[full[placed]].sum()),
        }
        return details, terms, {"handoffs.csv": handoffs}

    def verdict(self, card, assignments, objective: float, extra_terms: dict) -> Verdict:
        """The evaluator's verdict, and one rule of its own: a leaver keeps no account."""
        verdict = super().verdict(card, assignments, objective, extra_terms)
        gone = {l.csm_id for l in self.leaves}
        kept = [f"leaver_owns_nothing: {a}: still with {o}"
                for a, o in zip(assignments["account_id"], assignments["owner_id"], strict=True) if o in gone]  # fmt: skip
        return replace(
            verdict,
            violations=verdict.violations + tuple(kept),
            agrees_with_solver=verdict.agrees_with_solver and not kept,
        )

    def diagnose(self, sol) -> tuple[str, ...]:
        from planner.planning.diagnose import shortage_options

        if sol is None or sol.status == Status.INFEASIBLE:
            return tuple(shortage_options(self.book, self.rmodel))
        return (sol.message or "the solver stopped without a plan",)

    def no_plan_details(self) -> dict:
        return self._who()

    def phase_two(self) -> ReassignJob | None:
        """The same reassignment with the count of unplaced accounts its plan found fixed (models/reassign.py phase 2).

        None when the plan leaves nothing unplaced (or there is no plan): phase 1 is then the answer.
        """
        if self.solution is None or not len(self._unplaced(self.solution)):
            return None
        n = len(self._unplaced(self.solution))
        job = ReassignJob(self.rmodel.capped(n, self.solution.choice), self.leaves, self.effective, self.max_moves,
                          self.graph, self.build_s, self.plan_date)  # fmt: skip
        return job


def _by_reason(handoffs: pd.DataFrame, gone: set) -> dict[str, int]:
    """Moves by why: from the leavers named, from other CSMs leaving or on leave, owners who may no longer cover, cascades."""
    keys = ["from_leavers" if f in gone else _REASON_KEY.get(r, r.replace(" ", "_"))
            for f, r in zip(handoffs["from"], handoffs["reason"], strict=True)]  # fmt: skip
    return {k: keys.count(k) for k in sorted(set(keys))}


_REASON_KEY = {"leaving": "from_other_inactive", "on leave": "from_other_inactive", "cascade": "cascade",
               "owner may no longer cover it": "owner_may_no_longer_cover", "previous owner unknown": "previous_owner_unknown"}  # fmt: skip


def reassign(
    book: Book,
    leaving=(),
    on_leave=(),
    *,
    until: dt.date | None = None,
    effective: dt.date | None = None,
    max_moves: int = 0,
    backend: str = "highs",
    time_limit: float | None = None,
    gap: float = 1e-4,
    threads: int = 1,
    seed: int = 0,
    pulp_solver: str | None = None,
    load_s: float = 0.0,
    started: float | None = None,
) -> PlanResult:
    """Reassign the leavers' accounts; everything else stays unless max_moves allows cascades.

    There is always a plan unless the solver fails: an account nobody may take,
    or nobody has room for, is left unassigned with the reason and the options
    (details "unplaced" and "shortage"). When some are left unplaced, a second
    solve keeps that count and prices them in dollars, so that the gap and the
    bound speak of the plan's real cost (models/reassign.py, phase 2).
    """
    from planner.models.reassign import build_reassign

    clock = Clock.start(time_limit, started)
    effective = effective or book.as_of
    leaves = resolve_leaves(book, leaving, on_leave, until, effective=effective)
    options = SolveOptions(
        time_limit=time_limit,
        gap=gap,
        threads=threads,
        seed=seed,
        extra={"pulp_solver": pulp_solver} if pulp_solver else {},
    )
    t0 = time.perf_counter()
    G, scorer = knowledge_scorer(book)
    model = build_reassign(book, leaves, effective, max_moves, scorer)
    job = ReassignJob(model, leaves, effective, max_moves, G, time.perf_counter() - t0, plan_date=book.as_of)
    result = run(job, backend, options, baseline=False, load_s=load_s, clock=clock)
    second = job.phase_two()
    left = clock.left()
    if second is None or (left is not None and left < PHASE_TWO_MIN_S):
        return result
    again = run(second, backend, options, baseline=False, load_s=load_s, clock=clock)
    if not again.has_plan or len(again.details["unplaced"]) > len(result.details["unplaced"]):
        return result  # phase 2 found nothing better within the time left: phase 1's plan stands
    return replace(again, timings=_summed(result.timings, again.timings))


PHASE_TWO_MIN_S = 1.0  # seconds of the time limit phase 2 needs to be worth starting


def _summed(a, b):
    return replace(b, build_s=a.build_s + b.build_s, solve_s=a.solve_s + b.solve_s)


def handoff_table(book: Book, G, model, assignments: pd.DataFrame, leaves) -> pd.DataFrame:
    """One row per account that changes owner: who (ids and names), how well they know it, who can introduce them."""
    from planner.models.reassign import handoff_risk
    from planner.planning.tables import _roster as roster
    from planner.team.knowledge import COLD, find_introducer

    pol = book.policy
    until = {l.csm_id: l.until for l in leaves}
    who = roster(book)
    a = assignments
    moved = a[a["changed"] & (a["previous_owner"] != "") & (a["owner_type"] != "unassigned")].copy()
    leavers = set(until)
    status = dict(zip(book.csms["csm_id"], book.csms["status"], strict=True))  # the leavers are already inactive here
    must_place = model.must_place
    rows = []
    for i, r in zip(moved.index, moved.itertuples(index=False), strict=True):
        k = model.knowledge.get((r.account_id, r.owner_id), COLD)
        from_leaver = r.previous_owner in leavers or status.get(r.previous_owner, "active") != "active"
        intro = None
        if r.owner_type == "csm" and r.owner_id in G:
            intro = find_introducer(G, r.account_id, r.owner_id, leaver=r.previous_owner if from_leaver else None)
        back = until.get(r.previous_owner)
        warm = k.score >= pol.handoff_cold_threshold
        rows.append(
            {
                "account_id": r.account_id,
                "account_name": r.account_name,
                "arr": r.arr,
                "renewal_date": r.renewal_date,
                "from": r.previous_owner,
                "from_name": who.get(r.previous_owner, {}).get("name", ""),
                "to": r.owner_id,
                "to_name": who.get(r.owner_id, {}).get("name", ""),
                "to_email": who.get(r.owner_id, {}).get("email", ""),
                "to_type": r.owner_type,
                "knowledge_score": round(k.score, 4),
                "explanation": k.explanation,
                "warm": warm,
                "introducer": intro or "",
                "introducer_name": who.get(intro, {}).get("name", "") if intro else "",
                "reason": _handoff_reason(r.previous_owner, r.previous_owner_type, status, bool(must_place[i])),
                "temporary_until": back.isoformat() if back else "",
                "handoff_risk": float(handoff_risk(pol, np.array([r.arr]), np.array([k.score]))[0]),
            }
        )
    h = pd.DataFrame(
        rows,
        columns=[
            "account_id", "account_name", "arr", "renewal_date", "from", "from_name", "to", "to_name", "to_email",
            "to_type", "knowledge_score", "explanation", "warm", "introducer", "introducer_name", "reason",
            "temporary_until", "handoff_risk",
        ],
    )  # fmt: skip
    # Priority 1 = hand off first: soonest renewal, then largest ARR.
    order = (
        h.assign(_r=pd.to_datetime(h["renewal_date"]))
        .sort_values(["_r", "arr", "account_id"], ascending=[True, False, True], na_position="last")
        .index
    )
    h.loc[order, "priority"] = np.arange(1, len(h) + 1)
    h["priority"] = h["priority"].astype("Int64")
    # The first eight columns are the contract's (planner/plan_contract.md); the names follow them.
    cols = ["account_id", "from", "to", "knowledge_score", "explanation", "introducer", "priority", "temporary_until",
            "from_name", "to_name", "to_email", "introducer_name"]  # fmt: skip
    return (
        h[cols + [c for c in h.columns if c not in cols]].sort_values("priority", kind="stable").reset_index(drop=True)
    )


def _outside_detail(previous: str) -> str:
    """reason_detail of an account a reassignment leaves alone because it has no owner today (contract: A_n)."""
    if previous:
        return (f"today's owner {previous} is on no roster, so the account counts as having none; "
                "`planner solve` gives it an owner")  # fmt: skip
    return "a new account (no owner today); `planner solve` gives it an owner"


def _unplaced_row(book: Book, i: int, reason: str, detail: str) -> dict:
    a = book.accounts.iloc[i]
    return {
        "account_id": a["account_id"],
        "arr": float(a["arr"]),
        "current_owner": a["current_owner"],
        "reason": reason,
        "detail": detail,
    }


def _handoff_reason(previous: str, previous_type: str, status: dict, must_place: bool = False) -> str:
    """leaving / on leave, owner may no longer cover it (both: the owner cannot keep it), cascade (moved to make room)."""
    if previous_type == "unknown":
        return "previous owner unknown"
    st = status.get(previous, "active")
    if st in ("leaving", "on_leave"):
        return {"leaving": "leaving", "on_leave": "on leave"}[st]
    return "owner may no longer cover it" if must_place else "cascade"

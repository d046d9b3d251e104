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
from planner.errors import PlannerError
from planner.planning.pipeline import Clock, Job, run
from planner.planning.result import PlanResult, Verdict


class LeaverError(PlannerError, ValueError):
    """A --leaving / --on-leave id that cannot be used."""


def resolve_leaves(book: Book, leaving=(), on_leave=(), until: dt.date | None = None):
    """The Leave list: named ids, or else every roster CSM marked leaving / on leave who owns accounts."""
    from planner.models.reassign import Leave

    csms = book.csms.set_index("csm_id")
    named = list(leaving) + list(on_leave)
    for cid in named:
        if cid not in csms.index:
            raise LeaverError(f"{cid}: expected a csm_id from the roster (csms table)")
    if not named:
        owners = set(book.accounts["current_owner"])
        leaving = [c for c in csms.index if csms.at[c, "status"] == "leaving" and c in owners]
        on_leave = [c for c in csms.index if csms.at[c, "status"] == "on_leave" and c in owners]
        if not leaving and not on_leave:
            raise LeaverError(
                "no leaver: expected --leaving CSM_ID, --on-leave CSM_ID, or a roster CSM with status leaving/on_leave who owns accounts"
            )
    leaves = [Leave(c) for c in leaving]
    for c in on_leave:
        back = until or _date(csms.at[c, "return_date"])
        if back is None:
            raise LeaverError(f"{c}: on leave, expected a return date (--until DATE or the roster's return_date)")
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

    def __init__(self, model, leaves, effective: dt.date, max_moves: int, graph, build_s: float):
        super().__init__(model.book, model.coverage, build_s)
        self.rmodel, self.leaves, self.effective, self.max_moves, self.graph = (
            model,
            leaves,
            effective,
            max_moves,
            graph,
        )

    @property
    def model(self):
        return self.rmodel

    def model_size(self) -> dict:
        p = self.problem
        return {"accounts_in_scope": p.n_items, "arcs": p.n_arcs, "frozen_placed": int(self.rmodel.frozen_moved.sum())}

    def identity(self) -> dict:
        """The book's identity plus who leaves, how, and from when: two different reassignments never share an id."""
        return {**super().identity(), **self._who()}

    def _who(self) -> dict:
        return {
            "effective": self.effective.isoformat(),
            "max_moves": self.max_moves,
            "leavers": [
                {"csm_id": l.csm_id, "temporary_until": l.until.isoformat() if l.until else None} for l in self.leaves
            ],
        }

    def full_choice(self, choice):
        return self.rmodel.full_choice(choice)

    def _unplaced(self, sol):
        return self.rmodel.unplaced(sol.choice)

    def cost(self, sol) -> float:
        return sol.objective - self.rmodel.unplaced_cost * len(self._unplaced(sol))  # u prices nothing real

    def bound(self, sol):
        # With an account left unplaced the solver's bound prices it at u, so it says nothing of the real cost.
        return sol.bound if not len(self._unplaced(sol)) else None

    def details(self, sol, assignments, result):
        handoffs = handoff_table(self.book, self.graph, self.rmodel, assignments, self.leaves)
        moved_arr = float(handoffs["arr"].sum())
        warm_arr = float(handoffs.loc[handoffs["warm"], "arr"].sum())
        details = {
            **self._who(),
            "unplaced": [_unplaced_row(self.book, i) for i in self._unplaced(sol)],
            "left_unassigned": int(self.rmodel.outside.sum()),  # new or ownerless accounts: planner solve places them
            "moves": int(len(handoffs)),
            "cascade_moves": int((handoffs["reason"] == "cascade").sum()),
            "arr_moved": moved_arr,
            "warm_arr_share": round(warm_arr / moved_arr, 4) if moved_arr else None,
        }
        return details, {"handoff_risk": float(handoffs["handoff_risk"].sum())}, {"handoffs.csv": handoffs}

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
    """Reassign the leavers' accounts; everything else stays unless max_moves allows cascades."""
    from planner.models.reassign import build_reassign

    clock = Clock.start(time_limit, started)
    effective = effective or book.as_of
    leaves = resolve_leaves(book, leaving, on_leave, until)
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
    job = ReassignJob(model, leaves, effective, max_moves, G, time.perf_counter() - t0)
    return run(job, backend, options, baseline=False, load_s=load_s, clock=clock)


def handoff_table(book: Book, G, model, assignments: pd.DataFrame, leaves) -> pd.DataFrame:
    """One row per account that changes owner: who, how well they know it, who can introduce them."""
    from planner.models.reassign import handoff_risk
    from planner.team.knowledge import COLD, find_introducer

    pol = book.policy
    until = {l.csm_id: l.until for l in leaves}
    a = assignments
    moved = a[a["changed"] & (a["previous_owner"] != "") & (a["owner_type"] != "unassigned")].copy()
    leavers = set(until)
    status = dict(zip(book.csms["csm_id"], book.csms["status"], strict=True))  # the leavers are already inactive here
    names = dict(zip(book.csms["csm_id"], book.csms["name"], strict=True))  # introducers are CSMs
    rows = []
    for r in moved.itertuples(index=False):
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
                "from_name": r.previous_owner_name,
                "to": r.owner_id,
                "to_name": r.owner_name,
                "to_email": r.owner_email,
                "to_type": r.owner_type,
                "knowledge_score": round(k.score, 4),
                "explanation": k.explanation,
                "warm": warm,
                "introducer": intro or "",
                "introducer_name": names.get(intro, "") if intro else "",
                "reason": _handoff_reason(r.previous_owner, r.previous_owner_type, status),
                "temporary_until": back.isoformat() if back else "",
                "handoff_risk": float(handoff_risk(pol, np.array([r.arr]), np.array([k.score]))[0]),
            }
        )
    h = pd.DataFrame(
        rows,
        columns=[
            "account_id",
            "account_name",
            "arr",
            "renewal_date",
            "from",
            "from_name",
            "to",
            "to_name",
            "to_email",
            "to_type",
            "knowledge_score",
            "explanation",
            "warm",
            "introducer",
            "introducer_name",
            "reason",
            "temporary_until",
            "handoff_risk",
        ],
    )
    # Priority 1 = hand off first: soonest renewal, then largest ARR.
    order = (
        h.assign(_r=pd.to_datetime(h["renewal_date"]))
        .sort_values(["_r", "arr", "account_id"], ascending=[True, False, True], na_position="last")
        .index
    )
    h.loc[order, "priority"] = np.arange(1, len(h) + 1)
    h["priority"] = h["priority"].astype("Int64")
    # The first eight columns are the contract's (planner/plan_contract.md); the names follow them, so people who
    # read this file to make the calls see who is who without looking ids up.
    cols = ["account_id", "from", "to", "knowledge_score", "explanation", "introducer", "priority", "temporary_until",
            "from_name", "to_name", "to_email", "introducer_name"]  # fmt: skip
    return (
        h[cols + [c for c in h.columns if c not in cols]].sort_values("priority", kind="stable").reset_index(drop=True)
    )


def _unplaced_row(book: Book, i: int) -> dict:
    a = book.accounts.iloc[i]
    return {
        "account_id": a["account_id"],
        "arr": float(a["arr"]),
        "current_owner": a["current_owner"],
        "detail": "no eligible owner has room for it while everyone else keeps their accounts; run `planner solve` to see why",
    }


def _handoff_reason(previous: str, previous_type: str, status: dict) -> str:
    """leaving / on leave (the owner cannot keep it), cascade (moved to make room), previous owner unknown."""
    if previous_type == "unknown":
        return "previous owner unknown"
    st = status.get(previous, "active")
    return {"leaving": "leaving", "on_leave": "on leave"}.get(st, "cascade")

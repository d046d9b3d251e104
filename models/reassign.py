r"""Reassignment model: who inherits the accounts of CSMs who leave (or go on leave).

It stands on the coverage model (models/coverage.py): the same eligible arcs,
the same cost terms, the same caps, built on the book with the leavers made
inactive, then cut down to the accounts that may move.

Sets
----
    L                 leaving CSMs (for good, or on leave until a return date)
    A_L               accounts owned by a leaver: must move
    A_0               accounts whose roster owner cannot keep them (the owner is inactive, or
                      no longer eligible): must be placed
    A_n               accounts with no owner (new, or an id on no roster): left alone, unassigned
                      (placing new business is `planner solve`'s job, not a handoff's)
    S                 CSMs with an arc to some account of A_L (possible successors; pools and
                      digital need no room made: the first has its own hours, the second no cap)
    A_c               cascade candidates: accounts now owned by S (empty when max_moves = 0)
    A_f               every other account: stays with its current owner (fixed)
    A_z ⊆ A_L         leaver accounts renewing within the freeze window of the effective date
    A_x ⊆ A_L ∪ A_0   accounts with no arc at all (nobody may take them: language, region,
                      time zone, segment): left unplaced whatever the model does, with the reason
                      and the fix (planner/planning/diagnose.py explain_no_owner)
    E                 the coverage arcs of A_L ∪ A_0 ∪ A_c (leavers have none: they are inactive)

Data
----
    c[a,o]            the coverage cost (serving + digital + risk + disruption + mismatch)
    k[a,o] ∈ [0,1]    knowledge score of o for a (planner/team/knowledge.py); 0 for pools and digital
    risk_h[a,o]       handoff risk, if o ≠ cur[a]:
                      arr[a] · (knowledge_gap_arr_share · (1 − k[a,o]) + cold_penalty_arr_share · [k[a,o] < cold_threshold])
    renew[a,o]        for a ∈ A_z, the knowledge a renewal handoff gives up, priced at the whole ARR:
                      arr[a] · (max_o' k[a,o'] − k[a,o])   (0 for the strongest-knowledge successor)
    b'[r,o]           residual cap: max(b[r,o], now[r,o]) − fixed[r,o], where fixed is the load of
                      A_f on o and now the load o carries today outside A_L (so nobody already over a
                      cap is forced to shed load, and nobody is pushed further over)

    u                 a prohibitive price for leaving an account unplaced: 1 + Σ_e |c_e + risk_h_e + renew_e|
                      over the model's arcs, more than any plan's whole cost, so the model leaves
                      unplaced only the fewest accounts that cannot be placed (phase 1)
    p[a]              phase 2: arr[a] + max_o (c + risk_h + renew)[a,o], the price of leaving a unplaced
                      once the count is known (its whole ARR on top of its dearest placement)

Rules
-----
    R1  freeze: a ∈ A_z goes to the successor who knows it best, as a priced preference (renew):
        the model weighs it against every other account's room, so the rule never takes the room
        a cascade frees or another leaver account needs (a greedy pre-pass used to, and a
        reassignment with --max-moves could become infeasible). With room, the strongest-knowledge
        successor wins unless a placement elsewhere saves more than the knowledge the renewal
        would lose, priced at its ARR
    R2  pins come from the coverage model (E7): a pinned account has one arc

Variables
---------
    x[a,o] ∈ {0,1}
    x[a,∅] ∈ {0,1}    1 when a ∈ (A_L ∪ A_0) \ A_x is left unplaced

Model
-----
    min  Σ_{(a,o) ∈ E} (c[a,o] + risk_h[a,o] + renew[a,o]) x[a,o] + Σ_a u x[a,∅]
    (1) assign[a]:       Σ_o x[a,o] (+ x[a,∅] for a ∈ A_L ∪ A_0) = 1    ∀ a ∈ (A_L ∪ A_0 ∪ A_c) \ A_x
    (2)-(4) cap[r, o]:   Σ_a w[r,a,o] x[a,o] ≤ b'[r,o]                  ∀ r ∈ {hours, accounts, arr}, o
    (5) side[moves]:     Σ_{a ∈ A_c} x[a,cur[a]] ≥ |A_c| − max_moves     (at most max_moves cascades)

The model always has a plan: every account that must be placed may be left
unplaced, and every cascade account may stay. When the plan of phase 1
leaves n > 0 accounts unplaced, u (needed to make n the fewest) would
swamp the solver's relative gap, so phase 2 (:func:`capped`) solves again
with the price p[a] instead and

    (6) side[unplaced]:  Σ_a x[a,∅] ≤ n

which keeps the count and lets the gap and the bound speak of real costs.

The coverage model's changed-ARR cap does not apply: the leavers' accounts
must change owner whatever the cap says.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from planner.models.core import AssignmentProblem, Resource, SideRow
from planner.models.coverage import CoverageModel, build_coverage


@dataclass(frozen=True)
class Leave:
    csm_id: str
    until: dt.date | None = None  # on leave until this date (temporary cover); None = leaving for good


@dataclass(frozen=True)
class ReassignModel:
    book: object  # the book as of the effective date, leavers inactive (what the plan is about)
    coverage: CoverageModel  # of that book
    problem: AssignmentProblem  # items: the in-scope accounts only; unplaced arcs after every real arc
    item_account: np.ndarray  # book account index of each problem item
    item_arc: np.ndarray  # coverage arc index of each real problem arc
    base_choice: np.ndarray  # coverage arc per account for fixed accounts, -1 in scope (and for A_x, A_n)
    must_move: np.ndarray  # bool per book account: owned by a leaver (A_L)
    must_place: np.ndarray  # bool per book account: A_L ∪ A_0, the accounts that cannot stay where they are
    outside: np.ndarray  # bool per book account: A_n, no owner today, left alone
    renewing: np.ndarray  # bool per book account: A_z, leaver accounts renewing within the freeze window
    nobody: np.ndarray  # bool per book account: A_x, must be placed but no owner may take it
    knowledge: dict  # (account_id, owner_id) -> Knowledge, for the arcs that change owner
    leaves: tuple[Leave, ...]
    arc_risk: np.ndarray  # risk_h per coverage arc (0 where the owner does not change)
    arc_renew: np.ndarray  # renew per coverage arc (0 outside A_z)

    @property
    def n_real(self) -> int:
        """Problem arcs that give an account an owner; the arcs after them leave it unplaced."""
        return len(self.item_arc)

    def full_choice(self, choice: np.ndarray) -> np.ndarray:
        """Coverage arc per book account from the problem's choice; -1 for an unplaced account."""
        out = self.base_choice.copy()
        real = (choice >= 0) & (choice < self.n_real)
        out[self.item_account] = np.where(real, self.item_arc[np.clip(choice, 0, max(self.n_real - 1, 0))], -1)
        return out

    def unplaced(self, choice: np.ndarray) -> np.ndarray:
        """Book account indices the solver left unplaced (A_x, left unplaced by every plan, not included)."""
        return self.item_account[choice >= self.n_real]

    def unplaced_price(self, choice: np.ndarray) -> float:
        """What the chosen unplaced arcs add to the objective (u or p[a]: they price nothing real)."""
        chosen = choice[choice >= self.n_real]
        return float(self.problem.arc_cost[chosen].sum())

    def capped(self, n: int, start: np.ndarray | None = None) -> ReassignModel:
        """Phase 2 (module docstring): at most `n` accounts unplaced, each priced p[a] instead of u."""
        from dataclasses import replace

        p = self.problem
        open_arcs = np.arange(self.n_real, p.n_arcs)
        real_item = p.arc_item[: self.n_real]
        dearest = np.zeros(p.n_items)
        np.maximum.at(dearest, real_item, np.maximum(p.arc_cost[: self.n_real], 0.0))
        items = p.arc_item[open_arcs]
        arr = self.book.accounts["arr"].to_numpy(float)[self.item_account[items]]
        cost = p.arc_cost.copy()
        cost[open_arcs] = arr + dearest[items]
        row = SideRow("unplaced", open_arcs, np.ones(len(open_arcs)), hi=float(n))
        problem = replace(p, arc_cost=cost, side_rows=p.side_rows + (row,), start=start, name="reassign (phase 2)")
        return replace(self, problem=problem)


def book_without(book, leaves: tuple[Leave, ...], effective: dt.date):
    """The book as of the effective date, with every leaver inactive."""
    csms = book.csms.copy()
    status = {l.csm_id: ("on_leave" if l.until else "leaving") for l in leaves}
    mask = csms["csm_id"].isin(list(status))
    csms.loc[mask, "status"] = csms.loc[mask, "csm_id"].map(status)
    return book.with_(csms=csms, as_of=effective)


def build_reassign(book, leaves: tuple[Leave, ...], effective: dt.date, max_moves: int, knowledge_of) -> ReassignModel:
    """The reduced reassignment problem (phase 1). `knowledge_of(pairs)` scores (account_id, csm_id) pairs."""
    pol = book.policy
    b = book_without(book, leaves, effective)
    cov = build_coverage(b)
    p = cov.problem
    n = p.n_items
    ids = cov.owners.ids
    leaver_idx = {i for i, o in enumerate(ids) if o in {l.csm_id for l in leaves}}
    cur = cov.current
    must_move = np.isin(cur, list(leaver_idx))
    stay_arc = np.full(n, -1, dtype=np.int64)
    stays = np.flatnonzero(p.arc_agent == cur[p.arc_item])
    stay_arc[p.arc_item[stays]] = stays
    outside = cur < 0  # A_n
    place = must_move | ((stay_arc < 0) & ~outside)  # A_L ∪ A_0
    has_arc = np.zeros(n, dtype=bool)
    has_arc[p.arc_item] = True
    nobody = place & ~has_arc  # A_x
    to_successor = must_move[p.arc_item] & (cov.owners.kind[p.arc_agent] == "csm")
    successors = np.unique(p.arc_agent[to_successor])
    cascade = ~place & ~outside & np.isin(cur, successors) if max_moves > 0 else np.zeros(n, bool)
    fixed = ~place & ~cascade & ~outside

    # Knowledge and the handoff risk, for every arc that changes an owner in scope.
    scope = place | cascade
    changing = scope[p.arc_item] & (p.arc_agent != cur[p.arc_item])
    acc_ids = cov.account_ids
    csm_arc = changing & (cov.owners.kind[p.arc_agent] == "csm")
    pairs = list(zip(acc_ids[p.arc_item[csm_arc]], ids[p.arc_agent[csm_arc]], strict=True))
    know = knowledge_of(pairs)
    score = np.zeros(p.n_arcs)
    score[csm_arc] = [know[pair].score for pair in pairs]
    arr = b.accounts["arr"].to_numpy(float)
    risk = np.where(changing, handoff_risk(pol, arr[p.arc_item], score), 0.0)

    # R1 (freeze), priced: a renewing leaver account pays for the knowledge it gives up.
    renew_day = pd.to_datetime(b.accounts["renewal_date"]).to_numpy("datetime64[D]")
    start = np.datetime64(effective, "D")
    renewing = must_move & (renew_day >= start) & (renew_day <= start + np.timedelta64(pol.freeze_days, "D"))
    renewing &= np.array([not x for x in b.accounts["pin_owner"]])
    best = np.zeros(n)
    np.maximum.at(best, p.arc_item, score)
    renew = np.where(renewing[p.arc_item], arr[p.arc_item] * (best[p.arc_item] - score), 0.0)
    penalty = risk + renew

    # Residual caps: b' = max(b, today's load outside A_L) − fixed load.
    base_choice = np.where(fixed, stay_arc, -1)
    today = np.where(~must_move & (stay_arc >= 0), stay_arc, -1)
    caps = []
    for r in p.resources:
        now = _load(p, r, today)
        fixed_load = _load(p, r, base_choice)
        caps.append(np.maximum(r.capacity, now) - fixed_load)

    # Load costs (balance, over a cap) of the whole book: the load of the fixed accounts shifts them.
    load_costs = tuple(
        q.restricted(np.ones(p.n_agents, dtype=bool), _load(p, p.resource(q.resource), base_choice)).extended(1)
        for q in p.load_costs
    )

    in_scope = scope & ~nobody
    items = np.flatnonzero(in_scope)
    keep = np.flatnonzero(in_scope[p.arc_item])
    new_item = np.full(n, -1, dtype=np.int64)
    new_item[items] = np.arange(len(items))
    resources = tuple(Resource(r.name, r.weight[keep], cap) for r, cap in zip(p.resources, caps, strict=True))
    side = ()
    casc = cascade[p.arc_item[keep]] & (p.arc_agent[keep] == cur[p.arc_item[keep]])
    if cascade.any():
        n_c = int(cascade.sum())
        side = (SideRow("moves", np.flatnonzero(casc), np.ones(int(casc.sum())), lo=float(n_c - max_moves)),)
    start_choice = np.full(len(items), -1, dtype=np.int64)
    local = np.flatnonzero(casc)
    start_choice[new_item[p.arc_item[keep][local]]] = local
    # Unplaced arcs (to one extra agent, index n_agents) for A_L ∪ A_0, after every real arc.
    open_items = new_item[np.flatnonzero(place & in_scope)]
    unplaced_cost = 1.0 + float(np.abs(p.arc_cost[keep] + penalty[keep]).sum())
    n_open = len(open_items)
    problem = AssignmentProblem(
        n_items=len(items),
        n_agents=p.n_agents + 1,
        arc_item=np.concatenate([new_item[p.arc_item[keep]], open_items]),
        arc_agent=np.concatenate([p.arc_agent[keep], np.full(n_open, p.n_agents)]),
        arc_cost=np.concatenate([p.arc_cost[keep] + penalty[keep], np.full(n_open, unplaced_cost)]),
        resources=tuple(
            Resource(r.name, np.concatenate([r.weight, np.zeros(n_open)]), np.append(r.capacity, np.inf))
            for r in resources
        ),
        side_rows=side,
        start=start_choice,
        arc_tier=None if p.arc_tier is None else np.concatenate([p.arc_tier[keep], np.full(n_open, 99)]),
        item_priority=new_item[p.item_priority[in_scope[p.item_priority]]],
        item_names=tuple(acc_ids[items]),
        agent_names=None if p.agent_names is None else p.agent_names + ("(unplaced)",),
        load_costs=load_costs,
        offset=float(p.arc_cost[base_choice[base_choice >= 0]].sum() + penalty[base_choice[base_choice >= 0]].sum()),
        name="reassign",
    )
    knowledge = {pair: know[pair] for pair in pairs}
    return ReassignModel(
        b, cov, problem, items, keep, base_choice, must_move, place, outside, renewing, nobody, knowledge,
        tuple(leaves), risk, renew,
    )  # fmt: skip


def handoff_risk(pol, arr: np.ndarray, score: np.ndarray) -> np.ndarray:
    """risk_h: churn risk of a new owner who knows the customer this well (score in [0, 1])."""
    cold = score < pol.handoff_cold_threshold
    return arr * (pol.handoff_knowledge_gap_arr_share * (1.0 - score) + pol.handoff_cold_penalty_arr_share * cold)


def _load(p: AssignmentProblem, r: Resource, choice: np.ndarray) -> np.ndarray:
    on = choice[choice >= 0]
    return np.bincount(p.arc_agent[on], weights=r.weight[on], minlength=p.n_agents)

"""Coverage report: where customer knowledge sits with one person, and what departures would cost.

Everything here is data (``CoverageReport``); ``planner coverage`` prints it
and writes it. Four parts:

Bus factor
    For each account, the *knowledge holders*: every CSM on the roster (any
    status) whose knowledge score (planner.team.knowledge, pod measured against the
    current owner) is at least ``threshold``. The current owner scores 1.0,
    so an account owned by a CSM has bus factor >= 1. Accounts with bus factor
    1 are *single-threaded*; the report lists them by ARR. A leaving CSM
    still counts: the report shows what their departure takes away.

Per-CSM risk
    For each CSM, the accounts (and ARR) where they are the only holder: what
    would lose all knowledge if they left.

Suggested backups
    For each single-threaded account with ARR >= ``min_arr``, largest ARR
    first: the best-scoring other *active* CSM who may cover the account
    (an arc of models/coverage.build_coverage) and has spare hours for the
    whole account (capacity under today's owners' load, minus hours already
    set aside for earlier suggestions, so no backup is overbooked). Ties go
    to more spare hours, then the smaller id. Eligibility is built with the
    renewal freeze and pins lifted: they protect today's owner, not who may
    stand behind them.

Floating CSMs
    For each CSM who owns accounts today, one at a time, and for every pair
    among the ``pair_limit`` CSMs with the most owned hours (the pairs most
    likely to be worst; all pairs would be quadratic), the hours their
    accounts bring that the remaining active CSMs cannot absorb within their
    spare hours (eligible arcs only). That overflow is 'hours - max-flow' in
    the network source -> accounts (supply = hours) -> eligible CSMs ->
    sink (capacity = spare hours), in hundredths of an hour. It lets an
    account's hours split across CSMs, so it is a *lower bound* on the
    overflow of any real (whole-account) reassignment. Floaters =
    ceil(overflow / (csm.default_capacity_hours x csm.max_utilization)).
    Two departures never need fewer floaters than one (more hours, less
    capacity), so the two-departure figure is the maximum over the pairs and
    the single departures.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandas as pd

from planner.models.coverage import CoverageModel, build_coverage
from planner.team.graph import build_graph
from planner.team.knowledge import (
    COLD,
    Knowledge,
    KnowledgeWeights,
    account_view,
    connected_csms,
    csm_ties,
    score_candidate,
    weights_from_policy,
)

DEFAULT_THRESHOLD = 0.5
DEFAULT_PAIR_LIMIT = 10
_EPS = 1e-9


@dataclass(frozen=True)
class CoverageReport:
    """The report's tables; see the module docstring for what each one means."""

    as_of: dt.date
    threshold: float
    min_arr: float
    pair_limit: int
    floater_hours: float  # capacity of one floating CSM
    bus_factor: pd.DataFrame  # account_id, account_name, arr, current_owner, bus_factor, holders, holder_scores
    csm_risk: pd.DataFrame  # csm_id, name, status, accounts_alone, arr_alone
    backups: (
        pd.DataFrame
    )  # account_id, account_name, arr, hours, holder, backup, knowledge_score, explanation, backup_spare_hours, note
    departures: pd.DataFrame  # departed, size, accounts, hours, absorbed_hours, overflow_hours, floaters

    @property
    def single_threaded(self) -> pd.DataFrame:
        """Accounts with exactly one knowledge holder, largest ARR first."""
        return self.bus_factor[self.bus_factor["bus_factor"] == 1].reset_index(drop=True)

    def _worst(self, size: int) -> int:
        floaters = self.departures.loc[self.departures["size"] == size, "floaters"]
        return int(floaters.max()) if len(floaters) else 0

    @property
    def floaters_one(self) -> int:
        """Floating CSMs needed to absorb the worst single departure."""
        return self._worst(1)

    @property
    def floaters_two(self) -> int:
        """Floating CSMs needed to absorb the worst evaluated pair of departures (never fewer than one)."""
        return max(self._worst(1), self._worst(2))

    def to_frames(self) -> dict[str, pd.DataFrame]:
        """Every table by name (the CLI writes bus_factor, csm_risk and backups as CSV, text neutralized: planner.io.csvtext)."""
        return {
            "bus_factor": self.bus_factor,
            "csm_risk": self.csm_risk,
            "backups": self.backups,
            "departures": self.departures,
        }

    def to_dict(self) -> dict:
        """The headline numbers and the floater scenarios, as plain JSON-able data."""
        single = self.single_threaded
        return {
            "as_of": self.as_of.isoformat(),
            "threshold": self.threshold,
            "min_arr": self.min_arr,
            "single_threaded": {"accounts": int(len(single)), "arr": float(single["arr"].sum())},
            "backups_suggested": int((self.backups["backup"] != "").sum()),
            "floaters": {
                "one_departure": self.floaters_one,
                "two_departures": self.floaters_two,
                "floater_capacity_hours": self.floater_hours,
                "pair_limit": self.pair_limit,
                "bound": "fractional: an account's hours may split across CSMs, so these are lower bounds",
                "scenarios": [{**r, "departed": r["departed"].split(";")} for r in self.departures.to_dict("records")],
            },
        }


def coverage_report(
    book,
    min_arr: float = 0.0,
    threshold: float = DEFAULT_THRESHOLD,
    pair_limit: int = DEFAULT_PAIR_LIMIT,
    weights: KnowledgeWeights | None = None,
) -> CoverageReport:
    """The coverage report of `book` (see the module docstring); weights default to the policy's."""
    if not 0 < threshold <= 1:
        raise ValueError(f"Expected a threshold in (0, 1], got {threshold!r}")
    if min_arr < 0 or pair_limit < 0:
        raise ValueError(f"Expected min_arr >= 0 and pair_limit >= 0, got {min_arr!r} and {pair_limit!r}")
    floater_hours = book.policy.csm_default_capacity_hours * book.policy.csm_max_utilization
    if floater_hours <= 0:
        raise ValueError("Expected policy csm.default_capacity_hours x csm.max_utilization > 0 to count floaters")
    weights = weights_from_policy(book.policy) if weights is None else weights
    G = build_graph(book)
    ties = csm_ties(G)
    holders = knowledge_holders(G, book.accounts["account_id"], threshold, weights, ties)
    bus = bus_factor_table(book, holders)
    model = successor_model(book)
    spare = spare_hours(model)
    eligible = eligible_csms(model)
    return CoverageReport(
        as_of=book.as_of,
        threshold=threshold,
        min_arr=min_arr,
        pair_limit=pair_limit,
        floater_hours=floater_hours,
        bus_factor=bus,
        csm_risk=csm_risk_table(book, bus),
        backups=suggest_backups(G, ties, model, bus, spare, eligible, min_arr, weights),
        departures=departure_table(model, spare, eligible, pair_limit, floater_hours),
    )


# ---------------------------------------------------------------------------
# bus factor and risk
# ---------------------------------------------------------------------------


def knowledge_holders(
    G, accounts, threshold: float, weights: KnowledgeWeights, ties
) -> dict[str, list[tuple[str, Knowledge]]]:
    """account -> [(csm, Knowledge)] with score >= threshold, strongest first (ties by id).

    When products and the pod together cannot reach the threshold, only CSMs
    with a role on the account or a known contact are scored.
    """
    weak = 1 - (1 - weights.products) * (1 - weights.pod) >= threshold - _EPS
    out = {}
    for a in accounts:
        view = account_view(G, a)
        scored = ((c, score_candidate(view, c, weights)) for c in connected_csms(view, ties, weak))
        out[a] = sorted(
            ((c, k) for c, k in scored if k.score >= threshold - _EPS), key=lambda ck: (-ck[1].score, ck[0])
        )
    return out


def bus_factor_table(book, holders) -> pd.DataFrame:
    """One row per account: its holders (';'-separated, strongest first) and their count, largest ARR first."""
    acc = book.accounts
    df = pd.DataFrame(
        {
            "account_id": acc["account_id"],
            "account_name": acc["account_name"],
            "arr": acc["arr"].astype(float),
            "current_owner": acc["current_owner"],
            "bus_factor": [len(holders[a]) for a in acc["account_id"]],
            "holders": [";".join(c for c, _ in holders[a]) for a in acc["account_id"]],
            "holder_scores": [";".join(f"{k.score:.2f}" for _, k in holders[a]) for a in acc["account_id"]],
        }
    )
    return df.sort_values(["arr", "account_id"], ascending=[False, True], kind="stable").reset_index(drop=True)


def csm_risk_table(book, bus: pd.DataFrame) -> pd.DataFrame:
    """Per CSM: the accounts and ARR where they are the only holder, largest ARR first."""
    alone = bus[bus["bus_factor"] == 1]
    sole = alone["holders"]
    n = sole.value_counts()
    arr = alone["arr"].groupby(sole).sum()
    c = book.csms
    df = pd.DataFrame(
        {
            "csm_id": c["csm_id"],
            "name": c["name"],
            "status": c["status"],
            "accounts_alone": c["csm_id"].map(n).fillna(0).astype(int),
            "arr_alone": c["csm_id"].map(arr).fillna(0.0).astype(float),
        }
    )
    return df.sort_values(["arr_alone", "csm_id"], ascending=[False, True], kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------------------
# capacity: who may take what, and how many hours they have left
# ---------------------------------------------------------------------------


def successor_model(book) -> CoverageModel:
    """The coverage model's arcs with the renewal freeze and pins lifted (who *may* take an account)."""
    acc = book.accounts.assign(pin_owner="", renewal_date=pd.NaT)
    return build_coverage(book.with_(accounts=acc))


def owned_hours(model: CoverageModel) -> np.ndarray:
    """Per owner: the hours of the accounts it owns today."""
    owned = model.current >= 0
    return np.bincount(model.current[owned], weights=model.account_hours[owned], minlength=len(model.owners.ids))


def spare_hours(model: CoverageModel) -> np.ndarray:
    """Per owner: hours an active CSM has left under today's load; 0 for everyone else."""
    o = model.owners
    free = np.maximum(0.0, o.cap_hours - owned_hours(model))
    return np.where((o.kind == "csm") & o.active, free, 0.0)


def eligible_csms(model: CoverageModel) -> list[np.ndarray]:
    """Per account: the (sorted) owner indices of the active CSMs with an arc to it."""
    p, o = model.problem, model.owners
    keep = (o.kind[p.arc_agent] == "csm") & o.active[p.arc_agent]
    items, agents = p.arc_item[keep], p.arc_agent[keep]
    cuts = np.searchsorted(items, np.arange(p.n_items + 1))  # arcs are sorted by account
    return [agents[cuts[i] : cuts[i + 1]] for i in range(p.n_items)]


# ---------------------------------------------------------------------------
# backups
# ---------------------------------------------------------------------------


def suggest_backups(G, ties, model, bus, spare, eligible, min_arr, weights) -> pd.DataFrame:
    """A backup for each single-threaded account with ARR >= min_arr, largest ARR first, never overbooked."""
    spare = spare.copy()
    position = {a: i for i, a in enumerate(model.account_ids)}
    ids = model.owners.ids
    rows = []
    for r in bus[(bus["bus_factor"] == 1) & (bus["arr"] >= min_arr)].itertuples(index=False):
        a = position[r.account_id]
        hours = float(model.account_hours[a])
        holder = r.holders
        view = account_view(G, r.account_id)
        near = connected_csms(view, ties)
        options = []
        for j in eligible[a]:
            if ids[j] != holder and spare[j] >= hours - _EPS:
                k = score_candidate(view, ids[j], weights) if ids[j] in near else COLD
                options.append((-k.score, -spare[j], ids[j], j, k))
        row = {
            "account_id": r.account_id,
            "account_name": r.account_name,
            "arr": r.arr,
            "hours": hours,
            "holder": holder,
            "backup": "",
            "knowledge_score": 0.0,
            "explanation": "",
            "backup_spare_hours": math.nan,
            "note": "",
        }
        if options:
            *_, j, k = min(options, key=lambda t: t[:3])
            spare[j] -= hours
            row.update(
                backup=ids[j],
                knowledge_score=round(k.score, 4),
                explanation=k.explanation,
                backup_spare_hours=float(spare[j]),
            )
        else:
            row["note"] = f"no other eligible active CSM has {hours:g} spare hours"
        rows.append(row)
    return pd.DataFrame(
        rows,
        columns=[
            "account_id",
            "account_name",
            "arr",
            "hours",
            "holder",
            "backup",
            "knowledge_score",
            "explanation",
            "backup_spare_hours",
            "note",
        ],
    )


# ---------------------------------------------------------------------------
# floating CSMs
# ---------------------------------------------------------------------------


def overflow_hours(hours: np.ndarray, eligible: list[np.ndarray], spare: np.ndarray) -> float:
    """The hours the CSMs' spare hours cannot take: total - max-flow (an account's hours may split).

    The network is shrunk without changing its max-flow: accounts with the
    same eligible CSMs are one supply node, and CSMs eligible for the same
    supply nodes are one capacity node (their spare hours added). Hours are
    whole hundredths so the integer max-flow is exact.
    """
    centi = [int(round(float(h) * 100)) for h in hours]
    supply: dict[tuple[int, ...], int] = {}
    for c, elig in zip(centi, eligible):
        key = tuple(int(j) for j in elig if spare[j] > 0)
        if key:
            supply[key] = supply.get(key, 0) + c
    groups_of: dict[int, list[int]] = {}
    for g, key in enumerate(sorted(supply)):
        for j in key:
            groups_of.setdefault(j, []).append(g)
    capacity: dict[tuple[int, ...], int] = {}
    for j, groups in groups_of.items():
        capacity[tuple(groups)] = capacity.get(tuple(groups), 0) + int(round(float(spare[j]) * 100))
    F = nx.DiGraph()
    for g, key in enumerate(sorted(supply)):
        F.add_edge("source", ("accounts", g), capacity=supply[key])
    for groups, cap in sorted(capacity.items()):
        F.add_edge(("csms", groups), "sink", capacity=cap)
        for g in groups:
            F.add_edge(("accounts", g), ("csms", groups))  # no capacity attribute: unbounded
    absorbed = nx.maximum_flow_value(F, "source", "sink") if supply else 0
    return (sum(centi) - absorbed) / 100


def departure_scenarios(model: CoverageModel, pair_limit: int) -> list[tuple[int, ...]]:
    """Every CSM who owns hours today, alone; then every pair among the `pair_limit` with the most hours."""
    owned = owned_hours(model)
    csms = [j for j in np.flatnonzero(model.owners.kind == "csm") if owned[j] > 0]
    heaviest = sorted(csms, key=lambda j: (-owned[j], model.owners.ids[j]))[:pair_limit]
    return [(j,) for j in csms] + list(itertools.combinations(sorted(heaviest), 2))


def departure_table(model, spare, eligible, pair_limit: int, floater_hours: float) -> pd.DataFrame:
    """Overflow hours and floaters for each departure scenario, worst first (then most hours) within one and two."""
    ids = model.owners.ids
    rows = []
    for departed in departure_scenarios(model, pair_limit):
        left = np.isin(model.current, departed)
        hours = model.account_hours[left]
        remaining = spare.copy()
        remaining[list(departed)] = 0.0
        overflow = overflow_hours(hours, [eligible[a] for a in np.flatnonzero(left)], remaining)
        total = round(float(hours.sum()), 2)
        rows.append(
            {
                "departed": ";".join(sorted(ids[j] for j in departed)),
                "size": len(departed),
                "accounts": int(left.sum()),
                "hours": total,
                "absorbed_hours": round(total - overflow, 2),
                "overflow_hours": overflow,
                "floaters": math.ceil(overflow / floater_hours - _EPS) if overflow > _EPS else 0,
            }
        )
    df = pd.DataFrame(
        rows, columns=["departed", "size", "accounts", "hours", "absorbed_hours", "overflow_hours", "floaters"]
    )
    order = ["size", "overflow_hours", "hours", "departed"]
    return df.sort_values(order, ascending=[True, False, False, True], kind="stable").reset_index(drop=True)

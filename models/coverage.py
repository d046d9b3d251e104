r"""Coverage model: who covers each account of a new book of business.

Sets
----
    A                 accounts
    C                 active CSMs;  P pools;  d the digital program;  O = C ∪ P ∪ {d}
    E ⊆ A × O         eligible (account, owner) arcs, pruned up front by rules E1-E7
    A_cur ⊆ A         accounts whose current owner is on the roster

Data (per account a, owner o; see policy for every default)
----
    h[a]              hours(a) = base_hours[seg] · complexity_mult[cx] · stage_mult[stage]
                                 · (low_health_mult if health < low_health_below else 1)
    h[a,o]            h[a] for a CSM, h[a] · efficiency[o] for a pool, 0 for digital
    rate[o]           hourly cost: annual_cost / (12 · capacity_hours) for a CSM; hourly_cost for a pool
    serve[a,o]        12 · h[a,o] · rate[o] for a pool billed by the hour (pool.billing = "hourly"), else 0:
                      a CSM's salary, and a salaried pool team's, is paid whatever the plan does
                      (reported as a fixed cost, never "saved" by idling someone)
    dig[a,o]          digital.cost_per_account if o = d
    risk[a,o]         churn_uplift[seg][mode(o)] · arr[a]              (lighter touch than the default)
    disrupt[a,o]      if a ∈ A_cur and o ≠ cur[a]:
                      arr_share · arr[a] + handoff_hours[seg] · ρ[o]   (digital: no handoff hours), with ρ[o]
                      the reference CSM hour ρ (below) for a CSM and rate[o] for a pool
    mis[a,o]          for a CSM: cost_per_gap_hour · max(0, tzgap[a,o] − free_gap_hours)
                                 + mismatch_cost · [region[o] ≠ region[a]]
    cap_h[o], cap_n[o], cap_arr[o]   hours (capacity_hours · max_utilization), accounts, ARR caps
    F[r,o]            load of resource r the commitments put on o: E6 freeze and E7 pin (a's only arc), and
                      a's arc to its current active CSM where it is a's only arc (no other owner may take
                      a: leaving it without an owner is worse than keeping it where it is, over a cap)
    b[r,o]            max(cap[r,o], F[r,o]): a cap the commitments alone exceed is raised to what they
                      need (and no more); with strict, b = cap and such a book is infeasible
    L[r,o]            Σ_a w[r,a,o] x[a,o]: o's load of hours, accounts, ARR

Load costs (the core's LoadCost: convex, piecewise linear in o's load)
----------
    ρ                 the reference CSM hour: csm.default_annual_cost / (12 · csm.default_capacity_hours),
                      the same for every CSM (balance is about load, not salary)
    balance[o]        for an active CSM o with capacity c[o] and band [β_lo, β_hi] (policy [balance]):
                      idle_weight · 12 · ρ · max(0, β_lo c[o] − L[h,o])                       (idle, paid for)
                    + Σ_j over_weights[j] · 12 · ρ · clip(L[h,o] − β_hi c[o] − j·w[o], 0, w[o])
                      with w[o] = (cap_h[o] − β_hi c[o]) / J: rising prices toward the hard cap
    over[o]           the part of a load above the original cap (only reachable where b > cap):
                      hours: over_cap_hour_weight · 12 · ρ per hour (a pool: its own rate[o]); ARR:
                      over_cap_arr_share per dollar; accounts: over_cap_account_cost per account

Eligibility (an arc exists iff)
-----------
    E1  mode(o) ∈ modes[seg[a]]                                  (segment's coverage modes)
    E2  o ∈ C: status[o] = active, seg[a] ∈ segments[o], lang[a] ∈ languages[o],
        tzgap[a,o] ≤ max_gap_hours[seg], and region[o] = region[a] if seg ∈ csm_must_match
    E3  o ∈ P: seg[a] ∈ segments[o], lang[a] ∈ languages[o], region[a] ∈ regions[o] (empty = all)
    E4  o = d: always (digital speaks every language)
    E5  keep-current: if cur[a] is an active CSM, arc (a, cur[a]) exists even when E1-E2 fail
        (listed as an exception in the plan)
    E6  renewal freeze: if renewal[a] ∈ [as_of, as_of + freeze_days] and cur[a] is an active
        CSM, (a, cur[a]) is a's only arc
    E7  pin: if pin_owner[a] is set, (a, pin_owner[a]) is a's only arc (pins win over E6);
        a pin that fails E1-E3 is kept and listed as an exception in the plan

Variables
---------
    x[a,o] ∈ {0,1}    1 when owner o covers account a

Model
-----
    min  Σ_{(a,o) ∈ E} (serve + dig + risk + disrupt + mis)[a,o] · x[a,o] + Σ_o (balance[o] + over[o])
    (1) assign[a]:        Σ_o x[a,o] = 1                                   ∀ a ∈ A
    (2) cap[hours, o]:    Σ_a h[a,o] x[a,o] ≤ b[hours, o]                  ∀ o ∈ C ∪ P
    (3) cap[accounts, o]: Σ_a x[a,o] ≤ b[accounts, o]                      ∀ o ∈ C
    (4) cap[arr, o]:      Σ_a arr[a] x[a,o] ≤ b[arr, o]                    ∀ o ∈ C
    (5) side[changed_arr]: Σ_{a ∈ A_had} arr[a] (1 − x[a,cur[a]]) ≤ max_changed_arr_share · Σ_{a ∈ A_had} arr[a]
        written as  Σ_{a ∈ A_cur} arr[a] x[a,cur[a]] ≥ (1 − share) · Σ_{a ∈ A_had} arr[a]
        (only when share < 1; share = ``--max-moved-arr``, else continuity.max_changed_arr_share)
    (6) side[moves]:      Σ_{a ∈ A_had} (1 − x[a,cur[a]]) ≤ max_moves
        written as  Σ_{a ∈ A_cur} x[a,cur[a]] ≥ |A_had| − max_moves; only with ``--max-moves``.
    A_had are the accounts with any owner today: A_cur plus those whose owner is on no roster. An
    account whose owner has no arc to it (or is on no roster) must change owner, and counts.

This is the assignment core of ``models/core.py``: (1) is its assign row,
(2)-(4) its resources, (5)-(6) side rows, balance and over its load costs
(one per resource). ``build_coverage`` follows the numbering.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from planner.models.core import AssignmentProblem, LoadCost, Resource, SideRow

COST_TERMS = ("serving", "digital", "revenue_at_risk", "disruption", "mismatch")


@dataclass(frozen=True)
class Owners:
    """Every possible owner, CSMs (any status) then pools then digital, as arrays."""

    ids: np.ndarray  # object
    kind: np.ndarray  # object: csm | pool | digital
    active: np.ndarray  # bool
    rate: np.ndarray  # hourly cost
    capacity: np.ndarray  # capacity_hours (a CSM's before max_utilization); 0 for digital
    hours_factor: np.ndarray  # h[a,o] = h[a] * hours_factor[o]
    cap_hours: np.ndarray  # inf for digital
    cap_accounts: np.ndarray  # inf for pools and digital
    cap_arr: np.ndarray  # inf for pools and digital
    utc: np.ndarray  # NaN for pools and digital
    region: np.ndarray  # object

    @property
    def index(self) -> dict[str, int]:
        return {o: i for i, o in enumerate(self.ids)}


@dataclass(frozen=True)
class CoverageModel:
    """The built model: the assignment core plus what reporting needs per arc."""

    problem: AssignmentProblem
    owners: Owners
    account_ids: np.ndarray
    account_hours: np.ndarray  # h[a]
    current: np.ndarray  # owner index of cur[a], -1 if none / not on the roster
    had_owner: np.ndarray  # bool: a current_owner is given (on the roster or not)
    arc_hours: np.ndarray
    arc_terms: dict[str, np.ndarray]  # COST_TERMS -> per-arc cost
    arc_rule: np.ndarray  # object: '' | 'keep_current' | 'freeze' | 'pin'
    arc_exception: np.ndarray  # object: why a kept, frozen or pinned arc breaks today's rules, else ''
    committed_over: dict = None  # resource -> owner indices whose cap the commitments alone exceed (raised)
    arc_committed: np.ndarray = None  # bool per arc: a commitment (freeze, pin, or the only arc: kept current CSM)

    @property
    def arc_owner_ids(self) -> np.ndarray:
        return self.owners.ids[self.problem.arc_agent]

    @property
    def can_stay(self) -> np.ndarray:
        """Per account: its current owner (on the roster) has an arc to it, so the plan may keep it."""
        p = self.problem
        out = np.zeros(p.n_items, dtype=bool)
        out[p.arc_item[p.arc_agent == self.current[p.arc_item]]] = True
        return out

    @property
    def forced_moves(self) -> int:
        """Accounts that must change owner whatever the plan: an owner today who cannot keep them (leaving,
        ineligible, on no roster)."""
        return int((self.had_owner & ~self.can_stay).sum())


# ---------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------


def account_hours(accounts: pd.DataFrame, policy) -> np.ndarray:
    """h[a]: the default workload model, vectorized."""
    base = accounts["segment"].map(policy.base_hours).to_numpy(float)
    cx = accounts["complexity"].map(policy.complexity_mult).to_numpy(float)
    stage = accounts["lifecycle_stage"].map(policy.stage_mult).fillna(1.0).to_numpy(float)
    health = accounts["health"].to_numpy(float)
    low = np.where(np.nan_to_num(health, nan=np.inf) < policy.low_health_below, policy.low_health_mult, 1.0)
    return base * cx * stage * low


def account_utc(accounts: pd.DataFrame, policy) -> np.ndarray:
    """The account's UTC offset, else its region's default, else NaN (no time-zone rule)."""
    given = accounts["utc_offset"].to_numpy(float)
    fallback = accounts["region"].map(policy.region_default_utc_offset).to_numpy(float)
    return np.where(np.isnan(given), fallback, given)


def tz_gap(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Circular hours between UTC offsets (+12 and -11 are 1 hour apart); NaN stays NaN."""
    d = np.abs(u - v) % 24
    return np.minimum(d, 24 - d)


def build_owners(book) -> Owners:
    pol = book.policy
    c, p = book.csms, book.pools
    nc, np_ = len(c), len(p)
    cap_h_c = c["capacity_hours"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate_c = np.where(cap_h_c > 0, c["annual_cost"].to_numpy(float) / (12.0 * cap_h_c), 0.0)
    inf = np.inf
    return Owners(
        ids=np.array(list(c["csm_id"]) + list(p["pool_id"]) + [pol.digital_owner_id], dtype=object),
        kind=np.array(["csm"] * nc + ["pool"] * np_ + ["digital"], dtype=object),
        active=np.concatenate([c["status"].to_numpy() == "active", np.ones(np_ + 1, bool)]),
        rate=np.concatenate([rate_c, p["hourly_cost"].to_numpy(float), [0.0]]),
        capacity=np.concatenate([cap_h_c, p["capacity_hours"].to_numpy(float), [0.0]]),
        hours_factor=np.concatenate([np.ones(nc), p["efficiency"].to_numpy(float), [0.0]]),
        cap_hours=np.concatenate([cap_h_c * pol.csm_max_utilization, p["capacity_hours"].to_numpy(float), [inf]]),
        cap_accounts=np.concatenate([c["max_accounts"].to_numpy(float), np.full(np_ + 1, inf)]),
        cap_arr=np.concatenate([c["max_arr"].to_numpy(float), np.full(np_ + 1, inf)]),
        utc=np.concatenate([c["utc_offset"].to_numpy(float), np.full(np_ + 1, np.nan)]),
        region=np.array(list(c["region"]) + [""] * (np_ + 1), dtype=object),
    )


# ---------------------------------------------------------------------------
# eligibility E1-E4, on groups of accounts that share every rule input
# ---------------------------------------------------------------------------

_KEY = ["segment", "region", "language", "_utc"]


def _group_eligibility(groups: pd.DataFrame, book) -> sp.csr_matrix:
    """Boolean (group × owner) matrix of rules E1-E4."""
    pol = book.policy
    c, p = book.csms, book.pools
    g_seg = groups["segment"].to_numpy(object)
    g_reg = groups["region"].to_numpy(object)
    g_lang = groups["language"].to_numpy(object)
    g_utc = groups["_utc"].to_numpy(float)
    mode_ok = {m: np.array([m in pol.modes[s] for s in g_seg]) for m in ("csm", "pool", "digital")}

    def member(values: np.ndarray, lists: pd.Series, empty_means_all: bool) -> np.ndarray:
        out = np.zeros((len(values), len(lists)), dtype=bool)
        for j, allowed in enumerate(lists):
            out[:, j] = True if (empty_means_all and len(allowed) == 0) else np.isin(values, list(allowed))
        return out

    # E2: CSMs
    active = (c["status"] == "active").to_numpy()
    seg_ok = member(g_seg, c["segments"], empty_means_all=True)
    lang_ok = member(g_lang, c["languages"], empty_means_all=False)
    gap = tz_gap(g_utc[:, None], c["utc_offset"].to_numpy(float)[None, :])
    max_gap = np.array([pol.tz_max_gap_hours[s] for s in g_seg])[:, None]
    tz_ok = np.isnan(gap) | (gap <= max_gap + 1e-9)
    must = np.isin(g_seg, list(pol.region_csm_must_match))[:, None]
    reg_ok = ~must | (g_reg[:, None] == c["region"].to_numpy(object)[None, :])
    csm = mode_ok["csm"][:, None] & active[None, :] & seg_ok & lang_ok & tz_ok & reg_ok
    # E3: pools
    pool = (
        mode_ok["pool"][:, None]
        & member(g_seg, p["segments"], empty_means_all=False)
        & member(g_lang, p["languages"], empty_means_all=False)
        & member(g_reg, p["regions"], empty_means_all=True)
    )
    # E4: digital
    dig = mode_ok["digital"][:, None]
    return sp.csr_matrix(np.hstack([csm, pool, dig]))


MODE_NOUNS = {"csm": "named CSMs", "pool": "pools", "digital": "the digital program"}


def rule_breaks(acc: pd.Series, kind: str, owner: pd.Series | None, utc: float, policy) -> list[str]:
    """Which eligibility rules (E1-E3) `owner` fails for account `acc`, in words; [] when it is eligible.

    `kind` is csm, pool or digital; `owner` its row of book.csms or book.pools (None for digital);
    `utc` the account's UTC offset as account_utc gives it. A CSM's status (E2) is not checked:
    only active CSMs get a kept or pinned arc at all.
    """
    why = []
    seg = acc["segment"]
    if kind not in policy.modes[seg]:
        why.append(f"{seg} accounts are not covered by {MODE_NOUNS[kind]}")
    if kind == "csm":
        if len(owner["segments"]) and seg not in owner["segments"]:
            why.append(f"CSM does not cover {seg}")
        if acc["language"] not in owner["languages"]:
            why.append(f"CSM does not speak {acc['language']!r}")
        gap = float(tz_gap(np.array([utc]), np.array([owner["utc_offset"]]))[0])
        if not np.isnan(gap) and gap > policy.tz_max_gap_hours[seg] + 1e-9:
            why.append(f"time-zone gap {gap:g} h > {policy.tz_max_gap_hours[seg]:g} h")
        if seg in policy.region_csm_must_match and owner["region"] != acc["region"]:
            why.append(f"CSM region {owner['region']} ≠ account region {acc['region']}")
    elif kind == "pool":
        if seg not in owner["segments"]:
            why.append(f"pool does not cover {seg}")
        if acc["language"] not in owner["languages"]:
            why.append(f"pool does not speak {acc['language']!r}")
        if len(owner["regions"]) and acc["region"] not in owner["regions"]:
            why.append(f"pool does not serve region {acc['region']}")
    return why


def _exception_text(acc: pd.Series, csm: pd.Series, utc: float, policy) -> str:
    """Which of today's rules (E1-E2) the current CSM fails for this account, in words."""
    why = rule_breaks(acc, "csm", csm, utc, policy)
    return "current CSM kept although " + "; ".join(why) if why else ""


def pin_rule_breaks(book) -> dict[int, list[str]]:
    """Account position -> the rules (E1-E3) its pin breaks, for every pin to an active owner that breaks any.

    A pin is an order, so the plan keeps it; the reasons go into the plan's
    exception column (pin_exception_text) and `planner validate` warns with them.
    """
    acc, pol = book.accounts, book.policy
    csm_at = {o: i for i, o in enumerate(book.csms["csm_id"])}
    pool_at = {o: i for i, o in enumerate(book.pools["pool_id"])}
    utc = account_utc(acc, pol)
    out = {}
    for a in np.flatnonzero(acc["pin_owner"].to_numpy(object) != ""):
        pin = acc["pin_owner"].iat[a]
        if pin in csm_at:
            owner, kind = book.csms.iloc[csm_at[pin]], "csm"
            if owner["status"] != "active":
                continue
        elif pin in pool_at:
            owner, kind = book.pools.iloc[pool_at[pin]], "pool"
        elif pin == pol.digital_owner_id:
            owner, kind = None, "digital"
        else:
            continue
        why = rule_breaks(acc.iloc[a], kind, owner, float(utc[a]), pol)
        if why:
            out[int(a)] = why
    return out


def pin_exception_text(why: list[str]) -> str:
    """The plan's exception text for a pin that breaks the rules `why`."""
    return "pinned although " + "; ".join(why)


# ---------------------------------------------------------------------------
# the build
# ---------------------------------------------------------------------------


def build_coverage(book, max_moves: int | None = None, max_moved_arr: float | None = None,
                   strict: bool = False) -> CoverageModel:  # fmt: skip
    """The coverage model of `book`; `max_moves` and `max_moved_arr` (a share of ARR) cap the changes of owner.

    `strict`: a cap the commitments alone exceed stays a cap (the book is then
    infeasible) instead of being raised to what they need.
    """
    pol = book.policy
    acc = book.accounts
    n = len(acc)
    owners = build_owners(book)
    idx = owners.index
    n_csm = len(book.csms)
    h = account_hours(acc, pol)
    utc = account_utc(acc, pol)
    arr = acc["arr"].to_numpy(float)

    cur = np.array([idx.get(o, -1) if o else -1 for o in acc["current_owner"]], dtype=np.int64)
    cur_active_csm = (cur >= 0) & (cur < n_csm) & owners.active[np.maximum(cur, 0)]

    # E1-E4 on groups, expanded to accounts with one sparse product.
    keyed = acc[["segment", "region", "language"]].assign(_utc=np.nan_to_num(utc, nan=99.0))
    group_of, groups = _factorize_rows(keyed)
    groups = groups.assign(_utc=groups["_utc"].replace(99.0, np.nan))
    member = sp.csr_matrix((np.ones(n), (np.arange(n), group_of)), shape=(n, len(groups)))
    elig = (member @ _group_eligibility(groups, book)).tocoo()
    rows, cols = elig.row.astype(np.int64), elig.col.astype(np.int64)
    rule = np.full(len(rows), "", dtype=object)

    # E6 freeze and E7 pin: such accounts keep only their forced arc.
    renew = pd.to_datetime(acc["renewal_date"]).to_numpy("datetime64[D]")
    as_of = np.datetime64(book.as_of, "D")
    frozen = cur_active_csm & (renew >= as_of) & (renew <= as_of + np.timedelta64(pol.freeze_days, "D"))
    pin = np.array([idx.get(o, -2) if o else -1 for o in acc["pin_owner"]], dtype=np.int64)
    pinned = pin != -1
    pin_ok = pinned & (pin >= 0) & owners.active[np.maximum(pin, 0)]
    frozen &= ~pinned
    forced = frozen | pinned
    keep = ~forced[rows]
    rows, cols, rule = rows[keep], cols[keep], rule[keep]

    # E5 keep-current: add (a, cur[a]) where rules E1-E2 dropped it.
    has_cur = np.zeros(n, bool)
    has_cur[rows[cols == cur[rows]]] = True
    add_keep = cur_active_csm & ~has_cur & ~forced
    extra_rows = [np.flatnonzero(add_keep), np.flatnonzero(frozen), np.flatnonzero(pin_ok)]
    extra_cols = [cur[add_keep], cur[frozen], pin[pin_ok]]
    extra_rule = ["keep_current", "freeze", "pin"]
    rows = np.concatenate([rows] + extra_rows)
    cols = np.concatenate([cols] + extra_cols)
    rule = np.concatenate([rule] + [np.full(len(r), t, dtype=object) for r, t in zip(extra_rows, extra_rule)])
    order = np.lexsort((cols, rows))  # deterministic arc order: by account, then owner
    rows, cols, rule = rows[order], cols[order], rule[order]

    # Exceptions: a forced or kept arc to the current CSM that today's rules would not allow,
    # and a pin that breaks them (a pin is an order, but the plan says what it overrides).
    rule_ok = elig.tocsr()
    exception = np.full(len(rows), "", dtype=object)
    csms = book.csms
    for e in np.flatnonzero((rule == "keep_current") | (rule == "freeze")):
        a, o = rows[e], cols[e]
        if rule[e] == "keep_current" or not rule_ok[a, o]:
            exception[e] = _exception_text(acc.iloc[a], csms.iloc[o], utc[a], pol)
    pins = pin_rule_breaks(book) if pin_ok.any() else {}
    for e in np.flatnonzero(rule == "pin"):
        if int(rows[e]) in pins:
            exception[e] = pin_exception_text(pins[int(rows[e])])

    # Cost terms per arc.
    kind = owners.kind[cols]
    modes = ("csm", "pool", "digital")
    seg_code = acc["segment"].map({s: i for i, s in enumerate(pol.segments)}).to_numpy(np.int64)[rows]
    mode_code = pd.Series(owners.kind).map({m: i for i, m in enumerate(modes)}).to_numpy(np.int64)[cols]
    # Per (segment, mode) tables, so no Python loop runs per arc.
    uplift_t = np.array([[pol.uplift(s, m) for m in modes] for s in pol.segments])
    tier_t = np.array(
        [[pol.modes[s].index(m) if m in pol.modes[s] else len(pol.modes[s]) for m in modes] for s in pol.segments]
    )
    handoff_t = np.array([pol.handoff_hours[s] for s in pol.segments])
    arc_h = h[rows] * owners.hours_factor[cols]
    rate = owners.rate[cols]
    billed = (kind == "pool") & (pol.pool_billing == "hourly")  # the only hours a plan pays for
    serving = np.where(billed, 12.0 * arc_h * rate, 0.0)
    digital = np.where(kind == "digital", pol.digital_cost_per_account, 0.0)
    risk = uplift_t[seg_code, mode_code] * arr[rows]
    changes = (cur[rows] >= 0) & (cols != cur[rows])
    # The receiving owner's handoff hours: a CSM's at the reference CSM hour (time, not salary), a pool's at its own.
    handoff_rate = np.where(kind == "csm", pol.reference_csm_rate, rate)
    disruption = np.where(changes, pol.disruption_arr_share * arr[rows] + handoff_t[seg_code] * handoff_rate, 0.0)
    is_csm = kind == "csm"
    gap = np.nan_to_num(tz_gap(utc[rows], owners.utc[cols]), nan=0.0)
    region_diff = owners.region[cols] != acc["region"].to_numpy(object)[rows]
    mismatch = np.where(
        is_csm,
        pol.tz_cost_per_gap_hour * np.maximum(0.0, gap - pol.tz_free_gap_hours)
        + pol.region_mismatch_cost * region_diff,
        0.0,
    )
    terms = dict(zip(COST_TERMS, (serving, digital, risk, disruption, mismatch)))
    cost = serving + digital + risk + disruption + mismatch

    # (2)-(4) resources, each cap raised to what the commitments alone need (b = max(cap, F)).
    n_own = len(owners.ids)
    weights = {"hours": arc_h, "accounts": np.where(is_csm, 1.0, 0.0), "arr": np.where(is_csm, arr[rows], 0.0)}
    caps = {"hours": owners.cap_hours, "accounts": owners.cap_accounts, "arr": owners.cap_arr}
    only_arc = np.bincount(rows, minlength=n)[rows] == 1
    stays = (cols == cur[rows]) & cur_active_csm[rows]  # the arc to today's active CSM (eligible or kept, E5)
    committed = np.isin(rule, ["freeze", "pin"]) | (only_arc & stays)
    over_caps = {}
    for name, w in weights.items():
        load = np.bincount(cols[committed], weights=w[committed], minlength=n_own)
        over_caps[name] = (
            np.flatnonzero(load > caps[name] + 1e-9 * np.maximum(1.0, np.abs(caps[name])))
            if not strict
            else np.zeros(0, np.int64)
        )
        if len(over_caps[name]):
            caps[name] = caps[name].copy()
            caps[name][over_caps[name]] = load[over_caps[name]]
    resources = tuple(Resource(name, weights[name], caps[name]) for name in ("hours", "accounts", "arr"))
    load_costs = _load_costs(owners, pol)
    # (5) changed-ARR cap, (6) moves cap: both count every account with an owner today (A_had), one whose owner
    # is on no roster (it has no arc to stay) as a forced change.
    side = []
    had = (acc["current_owner"] != "").to_numpy()
    stay = np.flatnonzero(cols == cur[rows])
    share = pol.max_changed_arr_share if max_moved_arr is None else float(max_moved_arr)
    if share < 1.0:
        side.append(SideRow("changed_arr", stay, arr[rows[stay]], lo=(1.0 - share) * float(arr[had].sum())))
    if max_moves is not None:
        side.append(SideRow("moves", stay, np.ones(len(stay)), lo=float(had.sum() - max_moves)))
    side = tuple(side)

    # Warm start: the current owner where that arc exists.
    start = np.full(n, -1, dtype=np.int64)
    stay = np.flatnonzero(cols == cur[rows])
    start[rows[stay]] = stay
    tier = tier_t[seg_code, mode_code]

    problem = AssignmentProblem(
        n_items=n,
        n_agents=n_own,
        arc_item=rows,
        arc_agent=cols,
        arc_cost=cost,
        resources=resources,
        side_rows=side,
        start=start,
        arc_tier=tier,
        # Greedy order, as rule-based tools do it: locked accounts first, then by ARR.
        item_priority=np.lexsort((np.arange(n), -arr, ~forced)),
        item_names=tuple(acc["account_id"]),
        agent_names=tuple(owners.ids),
        load_costs=load_costs,
        name="coverage",
    )
    return CoverageModel(
        problem=problem,
        owners=owners,
        account_ids=acc["account_id"].to_numpy(object),
        account_hours=h,
        current=cur,
        had_owner=(acc["current_owner"] != "").to_numpy(),
        arc_hours=arc_h,
        arc_terms=terms,
        arc_rule=rule,
        arc_exception=exception,
        committed_over={name: ks for name, ks in over_caps.items() if len(ks)},
        arc_committed=committed,
    )


def _load_costs(owners: Owners, pol) -> tuple[LoadCost, ...]:
    """balance and over as the core's load costs: hours (band and over-cap), accounts and ARR (over-cap)."""
    n = len(owners.ids)
    csm = (owners.kind == "csm") & owners.active
    pool = owners.kind == "pool"
    capacity = np.where(csm, owners.capacity, 0.0)  # capacity_hours, before max_utilization
    # A CSM hour is priced at the policy's reference CSM hour, the same for everyone: balance is about people's
    # load, and a salary-dependent price would fill the dearest idle CSM first. A pool hour at the pool's own cost.
    yearly = 12.0 * np.where(owners.kind == "csm", pol.reference_csm_rate, owners.rate)
    low, high = pol.balance_band
    inf = np.full(n, np.inf)
    weights = pol.balance_over_weights
    width = np.where(csm, np.maximum(owners.cap_hours - high * capacity, 0.0), 0.0) / len(weights)
    steps = [(width, np.where(csm, w * yearly, 0.0)) for w in weights]
    # Above the original hours cap (reachable only where the commitments raised it): the over-cap price.
    over_price = np.where(csm | pool, pol.over_cap_hour_weight * yearly, 0.0)
    over_price = np.maximum(over_price, steps[-1][1])  # the prices must rise
    hours_ceiling = np.where(csm, high * capacity, np.where(pool, owners.cap_hours, np.inf))
    # A pool's steps start at its cap: widths 0 before the over-cap step.
    steps = [(np.where(csm, w, 0.0), p) for w, p in steps]
    hours = LoadCost("hours", np.where(csm, low * capacity, 0.0), np.where(csm, pol.balance_idle_weight * yearly, 0.0),
                     hours_ceiling, (*steps, (inf, over_price)))  # fmt: skip
    is_csm = owners.kind == "csm"
    accounts = LoadCost("accounts", np.zeros(n), np.zeros(n), np.where(is_csm, owners.cap_accounts, np.inf),
                        ((inf, np.where(is_csm, pol.over_cap_account_cost, 0.0)),))  # fmt: skip
    arr = LoadCost("arr", np.zeros(n), np.zeros(n), np.where(is_csm, owners.cap_arr, np.inf),
                   ((inf, np.where(is_csm, pol.over_cap_arr_share, 0.0)),))  # fmt: skip
    return hours, accounts, arr


def owner_costs(model, choice: np.ndarray) -> dict[str, np.ndarray]:
    """Per owner, the load costs of a plan split into "balance" (the band) and "over_cap" (above an original cap)."""
    p = model.problem
    ok = choice[choice >= 0]
    out = {"balance": np.zeros(p.n_agents), "over_cap": np.zeros(p.n_agents)}
    caps = {"hours": model.owners.cap_hours, "accounts": model.owners.cap_accounts, "arr": model.owners.cap_arr}
    for lc in p.load_costs:
        weight = next(r.weight for r in p.resources if r.name == lc.resource)
        load = np.bincount(p.arc_agent[ok], weights=weight[ok], minlength=p.n_agents)
        total = lc.penalty(load)
        over = np.maximum(load - caps[lc.resource], 0.0) * lc.steps[-1][1]  # the last step: above the original cap
        over = np.where(np.isfinite(caps[lc.resource]), over, 0.0)
        out["over_cap"] += over
        out["balance"] += total - over
    return out


def _factorize_rows(df: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """Group id per row and the distinct rows, in first-seen order (deterministic)."""
    codes = df.groupby(list(df.columns), sort=False, dropna=False).ngroup().to_numpy(np.int64)
    return codes, df.drop_duplicates().reset_index(drop=True)

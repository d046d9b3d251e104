"""The independent evaluator: recompute every cost term and check every rule
from a plan alone (account -> owner), reading only the Book and its policy.

It deliberately shares no code with ``models/coverage.py``: the model is
vectorized numpy over arcs, this is plain per-account Python written from the
policy's words, so a bug in one shows up as a disagreement with the other.
Each business rule is a small named function; a violation names its rule.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import pandas as pd

TOL = 1e-6


@dataclass(frozen=True)
class Violation:
    rule: str
    subject: str  # account or owner id
    detail: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.subject}: {self.detail}"


@dataclass
class AccountCost:
    hours: float = 0.0
    serving: float = 0.0
    digital: float = 0.0
    revenue_at_risk: float = 0.0
    disruption: float = 0.0
    mismatch: float = 0.0

    @property
    def total(self) -> float:
        return self.serving + self.digital + self.revenue_at_risk + self.disruption + self.mismatch


@dataclass
class Evaluation:
    costs: dict[str, AccountCost]
    violations: list[Violation] = field(default_factory=list)
    exceptions: list[Violation] = field(default_factory=list)  # waived rules (keep-current)
    owners: dict = field(default_factory=dict)  # owner id -> OwnerCost

    @property
    def terms(self) -> dict[str, float]:
        out = {k: 0.0 for k in ("serving", "digital", "revenue_at_risk", "disruption", "mismatch")}
        for c in self.costs.values():
            for k in out:
                out[k] += getattr(c, k)
        out["balance"] = sum(o.balance for o in self.owners.values())
        out["over_cap"] = sum(o.over_cap for o in self.owners.values())
        return out

    @property
    def objective(self) -> float:
        return sum(self.terms.values())

    @property
    def feasible(self) -> bool:
        return not self.violations


class _Ctx:
    """Row lookups the rules share (built once per evaluation)."""

    def __init__(self, book, plan: Mapping[str, str]):
        self.book = book
        self.pol = book.policy
        self.plan = dict(plan)
        self.accounts = {r["account_id"]: r for r in book.accounts.to_dict("records")}
        self.csms = {r["csm_id"]: r for r in book.csms.to_dict("records")}
        self.pools = {r["pool_id"]: r for r in book.pools.to_dict("records")}

    def kind(self, owner: str) -> str | None:
        if owner == self.pol.digital_owner_id:
            return "digital"
        if owner in self.csms:
            return "csm"
        if owner in self.pools:
            return "pool"
        return None

    def hours(self, a: dict) -> float:
        pol = self.pol
        h = pol.base_hours[a["segment"]] * pol.complexity_mult[int(a["complexity"])]
        if a["lifecycle_stage"]:
            h *= pol.stage_mult[a["lifecycle_stage"]]
        if not _isnan(a["health"]) and a["health"] < pol.low_health_below:
            h *= pol.low_health_mult
        return h

    def utc(self, a: dict) -> float:
        if not _isnan(a["utc_offset"]):
            return float(a["utc_offset"])
        return float(self.pol.region_default_utc_offset.get(a["region"], math.nan))

    def rate(self, owner: str) -> float:
        k = self.kind(owner)
        if k == "csm":
            c = self.csms[owner]
            return c["annual_cost"] / (12 * c["capacity_hours"]) if c["capacity_hours"] > 0 else 0.0
        if k == "pool":
            return float(self.pools[owner]["hourly_cost"])
        return 0.0

    def current(self, a: dict) -> str | None:
        """The current owner when it is on the roster, else None (new or unknown)."""
        cur = a["current_owner"]
        return cur if cur and self.kind(cur) else None

    def current_active_csm(self, a: dict) -> str | None:
        cur = self.current(a)
        return cur if cur and self.kind(cur) == "csm" and self.csms[cur]["status"] == "active" else None

    def frozen(self, a: dict) -> bool:
        if a["pin_owner"] or not self.current_active_csm(a) or _isnat(a["renewal_date"]):
            return False
        days = (pd.Timestamp(a["renewal_date"]).date() - self.book.as_of).days
        return 0 <= days <= self.pol.freeze_days


def _isnan(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _isnat(v) -> bool:
    return v is None or pd.isna(v)


def _gap(u: float, v: float) -> float:
    d = abs(u - v) % 24
    return min(d, 24 - d)


# ---------------------------------------------------------------------------
# cost of one account under its owner
# ---------------------------------------------------------------------------


def account_cost(ctx: _Ctx, a: dict, owner: str) -> AccountCost:
    pol, kind = ctx.pol, ctx.kind(owner)
    out = AccountCost()
    if kind == "csm":
        out.hours = ctx.hours(a)
    elif kind == "pool":
        out.hours = ctx.hours(a) * ctx.pools[owner]["efficiency"]
    # Only hours a plan pays for cost money: a pool billed by the hour. A CSM's salary, or a salaried pool team's,
    # is paid whatever the plan does; what their load costs is the balance term below.
    if kind == "pool" and pol.pool_billing == "hourly":
        out.serving = 12 * out.hours * ctx.rate(owner)
    if kind == "digital":
        out.digital = pol.digital_cost_per_account
    out.revenue_at_risk = pol.churn_uplift.get(a["segment"], {}).get(kind, 0.0) * a["arr"]
    cur = ctx.current(a)
    if cur is not None and cur != owner:
        # The new owner's handoff hours: a CSM's time at the reference CSM hour (salaries are fixed), a pool's at its rate.
        hour = pol.reference_csm_rate if kind == "csm" else ctx.rate(owner)
        out.disruption = pol.disruption_arr_share * a["arr"] + pol.handoff_hours[a["segment"]] * hour
    if kind == "csm":
        c = ctx.csms[owner]
        g = _gap(ctx.utc(a), c["utc_offset"])
        if not math.isnan(g):
            out.mismatch += pol.tz_cost_per_gap_hour * max(0.0, g - pol.tz_free_gap_hours)
        if c["region"] != a["region"]:
            out.mismatch += pol.region_mismatch_cost
    return out


# ---------------------------------------------------------------------------
# cost of an owner's load: balance (the target band) and what is over a cap
# ---------------------------------------------------------------------------


@dataclass
class OwnerCost:
    balance: float = 0.0  # an active CSM's idle hours below the band, and hours above it, priced
    over_cap: float = 0.0  # load above a cap (only kept commitments may cause it), priced steeply


def owner_cost(ctx: _Ctx, owner: str, load: Mapping[str, float]) -> OwnerCost:
    """What `owner`'s load costs a year, from the policy's words ([balance], [commitments])."""
    pol, kind, out = ctx.pol, ctx.kind(owner), OwnerCost()
    # $ a year per hour a month: a CSM hour at the policy's reference CSM hour (the same for every CSM: balance is
    # about load, not salary), a pool hour at the pool's own hourly cost.
    yearly = 12 * (pol.reference_csm_rate if kind == "csm" else ctx.rate(owner))
    hours = load.get("hours", 0.0)
    if kind == "csm" and ctx.csms[owner]["status"] == "active":
        c = ctx.csms[owner]
        capacity = c["capacity_hours"]
        cap = capacity * pol.csm_max_utilization
        low, high = pol.balance_band[0] * capacity, pol.balance_band[1] * capacity
        out.balance += pol.balance_idle_weight * yearly * max(0.0, low - hours)
        width = max(cap - high, 0.0) / len(pol.balance_over_weights)
        for j, w in enumerate(pol.balance_over_weights):  # equal steps from the band's top to the cap, rising prices
            out.balance += w * yearly * min(max(hours - high - j * width, 0.0), width)
        over_price = max(pol.over_cap_hour_weight, pol.balance_over_weights[-1]) * yearly
        out.over_cap += over_price * max(0.0, hours - cap)
        out.over_cap += pol.over_cap_arr_share * max(0.0, load.get("arr", 0.0) - c["max_arr"])
        out.over_cap += pol.over_cap_account_cost * max(0.0, load.get("accounts", 0.0) - c["max_accounts"])
    elif kind == "pool":
        out.over_cap += pol.over_cap_hour_weight * yearly * max(0.0, hours - ctx.pools[owner]["capacity_hours"])
    return out


# ---------------------------------------------------------------------------
# rules: each yields the violations it finds
# ---------------------------------------------------------------------------


def every_account_assigned_once(ctx: _Ctx) -> Iterable[Violation]:
    for acc_id in ctx.accounts:
        if not ctx.plan.get(acc_id):
            yield Violation("every_account_assigned_once", acc_id, "has no owner in the plan")
    for acc_id in ctx.plan:
        if acc_id not in ctx.accounts:
            yield Violation("every_account_assigned_once", acc_id, "is not an account of the book")


def owner_on_roster_and_active(ctx: _Ctx) -> Iterable[Violation]:
    for acc_id, owner in ctx.plan.items():
        kind = ctx.kind(owner)
        if kind is None:
            yield Violation("owner_on_roster_and_active", acc_id, f"owner {owner!r} is on no roster")
        elif kind == "csm" and ctx.csms[owner]["status"] != "active":
            yield Violation("owner_on_roster_and_active", acc_id, f"owner {owner} is {ctx.csms[owner]['status']}")


def _waived(ctx: _Ctx, a: dict, owner: str) -> str | None:
    """Why today's eligibility rules don't apply to this pair: pin or current CSM kept."""
    if a["pin_owner"] and a["pin_owner"] == owner:
        return "pinned"
    if ctx.current_active_csm(a) == owner:
        return "current CSM kept"
    return None


def _eligibility_breaches(ctx: _Ctx, a: dict, owner: str) -> list[str]:
    pol, kind, seg = ctx.pol, ctx.kind(owner), a["segment"]
    out = []
    if kind not in pol.modes[seg]:
        out.append(f"{seg} may not be covered by {kind}")
    if kind == "csm":
        c = ctx.csms[owner]
        if c["segments"] and seg not in c["segments"]:
            out.append(f"{owner} does not cover {seg}")
        if a["language"] not in c["languages"]:
            out.append(f"{owner} does not speak {a['language']}")
        g = _gap(ctx.utc(a), c["utc_offset"])
        if not math.isnan(g) and g > pol.tz_max_gap_hours[seg] + 1e-9:
            out.append(f"time-zone gap {g:g} h > {pol.tz_max_gap_hours[seg]:g} h")
        if seg in pol.region_csm_must_match and c["region"] != a["region"]:
            out.append(f"{owner} is in {c['region']}, account in {a['region']}")
    elif kind == "pool":
        p = ctx.pools[owner]
        if seg not in p["segments"]:
            out.append(f"{owner} does not cover {seg}")
        if a["language"] not in p["languages"]:
            out.append(f"{owner} does not speak {a['language']}")
        if p["regions"] and a["region"] not in p["regions"]:
            out.append(f"{owner} does not cover region {a['region']}")
    return out


def owner_eligible_for_account(ctx: _Ctx) -> Iterable[Violation]:
    for acc_id, owner in ctx.plan.items():
        a = ctx.accounts.get(acc_id)
        if a is None or ctx.kind(owner) is None:
            continue
        breaches = _eligibility_breaches(ctx, a, owner)
        if breaches and not _waived(ctx, a, owner):
            yield Violation("owner_eligible_for_account", acc_id, "; ".join(breaches))


def pins_respected(ctx: _Ctx) -> Iterable[Violation]:
    for acc_id, a in ctx.accounts.items():
        if a["pin_owner"] and ctx.plan.get(acc_id) != a["pin_owner"]:
            yield Violation("pins_respected", acc_id, f"pinned to {a['pin_owner']}, plan has {ctx.plan.get(acc_id)}")


def renewal_freeze_respected(ctx: _Ctx) -> Iterable[Violation]:
    for acc_id, a in ctx.accounts.items():
        if ctx.frozen(a) and ctx.plan.get(acc_id) != a["current_owner"]:
            yield Violation(
                "renewal_freeze_respected",
                acc_id,
                f"renews {pd.Timestamp(a['renewal_date']).date()} within {ctx.pol.freeze_days} days; "
                f"must stay with {a['current_owner']}, plan has {ctx.plan.get(acc_id)}",
            )


def _loads(ctx: _Ctx) -> dict[str, dict[str, float]]:
    loads: dict[str, dict[str, float]] = {}
    for acc_id, owner in ctx.plan.items():
        a = ctx.accounts.get(acc_id)
        if a is None or ctx.kind(owner) not in ("csm", "pool"):
            continue
        l = loads.setdefault(owner, {"hours": 0.0, "accounts": 0.0, "arr": 0.0})
        l["hours"] += account_cost(ctx, a, owner).hours
        l["accounts"] += 1
        l["arr"] += a["arr"]
    return loads


def _over(value: float, cap: float) -> bool:
    """Above the cap by more than 1e-6 of it, or by more than one unit (hour, account, dollar) on a large cap."""
    return value > cap + TOL * min(max(1.0, abs(cap)), 1e6)


def csm_caps_respected(ctx: _Ctx) -> Iterable[Violation]:
    for owner, l in _loads(ctx).items():
        if ctx.kind(owner) != "csm":
            continue
        c = ctx.csms[owner]
        cap_h = c["capacity_hours"] * ctx.pol.csm_max_utilization
        if _over(l["hours"], cap_h):
            yield Violation("csm_hours_within_capacity", owner, f"{l['hours']:.2f} h > {cap_h:.2f} h")
        if _over(l["accounts"], c["max_accounts"]):
            yield Violation("csm_accounts_within_cap", owner, f"{l['accounts']:.0f} accounts > {c['max_accounts']}")
        if _over(l["arr"], c["max_arr"]):
            yield Violation("csm_arr_within_cap", owner, f"ARR {l['arr']:,.0f} > {c['max_arr']:,.0f}")


def pool_hours_within_capacity(ctx: _Ctx) -> Iterable[Violation]:
    for owner, l in _loads(ctx).items():
        if ctx.kind(owner) == "pool" and _over(l["hours"], ctx.pools[owner]["capacity_hours"]):
            yield Violation(
                "pool_hours_within_capacity", owner, f"{l['hours']:.2f} h > {ctx.pools[owner]['capacity_hours']:.2f} h"
            )


def changed_arr_within_cap(ctx: _Ctx) -> Iterable[Violation]:
    share = ctx.pol.max_changed_arr_share
    if share >= 1.0:
        return
    total = changed = 0.0
    for acc_id, a in ctx.accounts.items():
        if ctx.current(a):
            total += a["arr"]
            if ctx.plan.get(acc_id) != a["current_owner"]:
                changed += a["arr"]
    if _over(changed, share * total):
        yield Violation(
            "changed_arr_within_cap", "book", f"{changed:,.0f} of {total:,.0f} ARR changes owner > {share:.0%}"
        )


RULES: tuple[Callable[[_Ctx], Iterable[Violation]], ...] = (
    every_account_assigned_once,
    owner_on_roster_and_active,
    owner_eligible_for_account,
    pins_respected,
    renewal_freeze_respected,
    csm_caps_respected,
    pool_hours_within_capacity,
    changed_arr_within_cap,
)


def waived_rules(ctx: _Ctx) -> Iterable[Violation]:
    """Exceptions the plan carries: the current CSM kept although today's rules would not pick them."""
    for acc_id, owner in ctx.plan.items():
        a = ctx.accounts.get(acc_id)
        if a is None or ctx.kind(owner) is None:
            continue
        breaches = _eligibility_breaches(ctx, a, owner)
        reason = _waived(ctx, a, owner)
        if breaches and reason:
            yield Violation(reason.replace(" ", "_"), acc_id, "; ".join(breaches))


def evaluate(book, plan: Mapping[str, str]) -> Evaluation:
    """Cost and rule check of `plan` (account_id -> owner_id) against `book`."""
    ctx = _Ctx(book, plan)
    costs = {
        acc_id: account_cost(ctx, ctx.accounts[acc_id], owner)
        for acc_id, owner in ctx.plan.items()
        if acc_id in ctx.accounts and ctx.kind(owner) is not None
    }
    violations = [v for rule in RULES for v in rule(ctx)]
    loads = _loads(ctx)
    owners = {o: owner_cost(ctx, o, loads.get(o, {})) for o in (*ctx.csms, *ctx.pools)}
    return Evaluation(costs=costs, violations=violations, exceptions=list(waived_rules(ctx)), owners=owners)


# ---------------------------------------------------------------------------
# inherited or introduced: a cap overload the plan kept from today's owners
# ---------------------------------------------------------------------------

# cap rule -> the load it caps (the key of _loads' per-owner dict)
CAP_LOADS = {
    "csm_hours_within_capacity": "hours",
    "csm_accounts_within_cap": "accounts",
    "csm_arr_within_cap": "arr",
    "pool_hours_within_capacity": "hours",
}


def current_plan(book) -> dict[str, str]:
    """Today's plan: every account with a current owner, with that owner."""
    return {a: o for a, o in zip(book.accounts["account_id"], book.accounts["current_owner"], strict=True) if o}


def owner_loads(book, plan: Mapping[str, str]) -> dict[str, dict[str, float]]:
    """owner -> {hours, accounts, arr} the plan gives each CSM and pool."""
    return _loads(_Ctx(book, plan))


def is_inherited(
    v: Violation,
    broken_today: set[tuple[str, str]],
    loads: Mapping[str, Mapping[str, float]],
    loads_today: Mapping[str, Mapping[str, float]],
) -> bool:
    """A cap violation the plan inherited: today's owners break the same cap on the same owner, and the plan loads them no more.

    A reassignment keeps an over-cap CSM's accounts (nobody is forced to shed
    load), and the renewal freeze can force accounts to stay: the plan did not
    make that overload, so it is reported, not refused. Giving that owner more
    of the capped load than today is an introduced violation.
    """
    load = CAP_LOADS.get(v.rule)
    if load is None or (v.rule, v.subject) not in broken_today:
        return False
    now, then = loads.get(v.subject, {}).get(load, 0.0), loads_today.get(v.subject, {}).get(load, 0.0)
    return not _over(now, then)


def split_inherited(
    book, plan: Mapping[str, str], violations: Iterable[Violation]
) -> tuple[list[Violation], list[Violation]]:
    """(introduced, inherited): the plan's `violations` split by :func:`is_inherited` against today's plan."""
    violations = list(violations)
    if not any(v.rule in CAP_LOADS for v in violations):
        return violations, []
    today = _Ctx(book, current_plan(book))
    broken_today = {
        (v.rule, v.subject) for rule in (csm_caps_respected, pool_hours_within_capacity) for v in rule(today)
    }
    loads, loads_today = owner_loads(book, plan), _loads(today)
    introduced = [v for v in violations if not is_inherited(v, broken_today, loads, loads_today)]
    inherited = [v for v in violations if is_inherited(v, broken_today, loads, loads_today)]
    return introduced, inherited

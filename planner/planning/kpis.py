"""The numbers a CS leader asks of any plan, as small named functions.

Each KPI reads the book and a plan (account_id -> owner_id) through the
independent evaluator's loads (planner/planning/evaluate.py ``owner_loads``),
so a plan from the solver, today's owners and a spreadsheet plan are
measured the same way. :func:`plan_kpis` gathers them for summary.json,
``planner evaluate`` and the solve summary.

    utilization        active CSMs' hours / capacity: min, p10, median, max, spread
    accounts_per_csm   accounts per active CSM, and by segment against the usual band (enterprise 1:10-20,
                       mid-market up to ~100: policy [report]), how many CSMs sit below or above it
    arr_per_csm        ARR per active CSM
    rate_vs_load       rank correlation of a CSM's hourly cost with their utilization
                       (strongly negative: the dearest CSMs are being emptied)
    overloaded         CSMs above their hours capacity, and idle ones (no account at all)
    idle_beside_busy   active CSMs below the balance band who could take an account (eligible, not committed
                       elsewhere, within their caps) from a colleague above the band: what a CS leader asks first
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def _stats(values) -> dict:
    v = np.asarray(list(values), dtype=float)
    if not len(v):
        return {"n": 0, "min": None, "p10": None, "median": None, "max": None, "spread": None}
    q = np.percentile(v, [0, 10, 50, 100])
    return {"n": int(len(v)), "min": float(q[0]), "p10": float(q[1]), "median": float(q[2]), "max": float(q[3]),
            "spread": float(q[3] - q[0])}  # fmt: skip


def _active(book) -> list[dict]:
    c = book.csms
    return [r for r in c.to_dict("records") if r["status"] == "active"]


def utilization(book, loads: Mapping[str, Mapping[str, float]]) -> dict:
    """Hours used / capacity of every active CSM (0 for one with no account)."""
    return _stats(loads.get(r["csm_id"], {}).get("hours", 0.0) / r["capacity_hours"]
                  for r in _active(book) if r["capacity_hours"] > 0)  # fmt: skip


def accounts_per_csm(book, plan: Mapping[str, str]) -> dict:
    """Accounts per active CSM, overall and per segment (counting the CSMs who hold that segment)."""
    active = {r["csm_id"] for r in _active(book)}
    segment = dict(zip(book.accounts["account_id"], book.accounts["segment"], strict=True))
    per: dict[str, dict[str, int]] = {c: {} for c in active}
    for acc, owner in plan.items():
        if owner in per and acc in segment:
            per[owner][segment[acc]] = per[owner].get(segment[acc], 0) + 1
    bands = book.policy.report_accounts_per_csm
    by_segment = {}
    for s in book.policy.segments:
        held = [counts[s] for counts in per.values() if counts.get(s)]
        if not held:
            continue
        by_segment[s] = _stats(held)
        if (
            s in bands
        ):  # the usual 1:N band (policy [report]): how many CSMs holding this segment sit below, in, above it
            lo, hi = bands[s]
            by_segment[s]["band"] = [lo, hi]
            by_segment[s]["below_band"] = sum(n < lo for n in held)
            by_segment[s]["above_band"] = sum(n > hi for n in held)
    return {"all": _stats(sum(counts.values()) for counts in per.values()), "by_segment": by_segment}


def arr_per_csm(book, loads: Mapping[str, Mapping[str, float]]) -> dict:
    """ARR per active CSM, against the usual ARR per CSM (policy [report] arr_per_csm, about $2M)."""
    out = _stats(loads.get(r["csm_id"], {}).get("arr", 0.0) for r in _active(book))
    out["reference"] = book.policy.report_arr_per_csm
    return out


def rate_vs_load(book, loads: Mapping[str, Mapping[str, float]]) -> float | None:
    """Spearman rank correlation between an active CSM's hourly cost and their utilization (None: fewer than 3)."""
    rows = [r for r in _active(book) if r["capacity_hours"] > 0]
    if len(rows) < 3:
        return None
    rate = np.array([r["annual_cost"] / (12 * r["capacity_hours"]) for r in rows])
    use = np.array([loads.get(r["csm_id"], {}).get("hours", 0.0) / r["capacity_hours"] for r in rows])
    if np.ptp(rate) == 0 or np.ptp(use) == 0:
        return None
    ranks = [np.argsort(np.argsort(x, kind="stable"), kind="stable").astype(float) for x in (rate, use)]
    return float(np.corrcoef(*ranks)[0, 1])


def overloaded(book, loads: Mapping[str, Mapping[str, float]]) -> dict:
    """Active CSMs above their hours capacity (id -> utilization), and those with no account at all."""
    over, idle = {}, []
    for r in _active(book):
        hours = loads.get(r["csm_id"], {}).get("hours", 0.0)
        if r["capacity_hours"] > 0 and hours > r["capacity_hours"] * (1 + 1e-9):
            over[r["csm_id"]] = round(hours / r["capacity_hours"], 4)
        if r["csm_id"] not in loads:
            idle.append(r["csm_id"])
    return {"over_capacity": over, "without_accounts": idle}


def idle_beside_busy(book, plan: Mapping[str, str], loads: Mapping[str, Mapping[str, float]]) -> list[dict]:
    """Each active CSM below the [balance] band who could take an account from a CSM above it, and what keeps them apart.

    "Could take" uses the evaluator's own rules: the CSM is eligible for the
    account (segment, mode, language, time zone, region), the account is not
    pinned or frozen by its renewal, and it fits the CSM's caps (hours at
    max_utilization, accounts, ARR). For each such CSM the cheapest such move
    is priced with the evaluator's cost functions: the balance it saves (both
    owners' load costs) against what the move costs the account (disruption,
    risk, mismatch). ``net`` > 0 means continuity keeps them apart, at that
    price; ``net`` < 0 means the plan leaves money on the table.
    """
    from planner.planning.evaluate import _Ctx, _eligibility_breaches, account_cost, owner_cost

    pol = book.policy
    low, high = pol.balance_band
    rows = [r for r in _active(book) if r["capacity_hours"] > 0]
    use = {r["csm_id"]: loads.get(r["csm_id"], {}).get("hours", 0.0) / r["capacity_hours"] for r in rows}
    busy = sorted((c for c in use if use[c] > high + 1e-9), key=lambda c: (-use[c], c))
    idle = [r for r in rows if use[r["csm_id"]] < low - 1e-9]
    if not busy or not idle:
        return []
    ctx = _Ctx(book, plan)
    movable: dict[str, list[dict]] = {c: [] for c in busy}
    for acc in sorted(plan):
        a = ctx.accounts.get(acc)
        if plan[acc] in movable and a is not None and not a["pin_owner"] and not ctx.frozen(a):
            movable[plan[acc]].append(a)

    def load_cost(owner: str, load: Mapping[str, float]) -> float:
        o = owner_cost(ctx, owner, load)
        return o.balance + o.over_cap

    def shifted(load: Mapping[str, float], a: dict, hours: float, sign: int) -> dict[str, float]:
        return {"hours": load.get("hours", 0.0) + sign * hours, "accounts": load.get("accounts", 0.0) + sign,
                "arr": load.get("arr", 0.0) + sign * a["arr"]}  # fmt: skip

    out = []
    for r in idle:
        me, load = r["csm_id"], loads.get(r["csm_id"], {})
        room = r["capacity_hours"] * pol.csm_max_utilization - load.get("hours", 0.0)
        if load.get("accounts", 0.0) + 1 > r["max_accounts"]:
            continue
        best, mine_now = None, load_cost(me, load)
        for c in busy:
            theirs_now = load_cost(c, loads[c])
            for a in movable[c]:
                h = ctx.hours(a)
                if h > room + 1e-9 or load.get("arr", 0.0) + a["arr"] > r["max_arr"] + 1e-6:
                    continue
                if _eligibility_breaches(ctx, a, me):
                    continue
                balance = (mine_now - load_cost(me, shifted(load, a, h, +1))
                           + theirs_now - load_cost(c, shifted(loads[c], a, account_cost(ctx, a, c).hours, -1)))  # fmt: skip
                costs = account_cost(ctx, a, me).total - account_cost(ctx, a, c).total
                if best is None or costs - balance < best["net"] - 1e-9:
                    best = {"csm_id": me, "utilization": round(use[me], 4), "could_take": a["account_id"], "from": c,
                            "from_utilization": round(use[c], 4), "balance_saved": round(balance, 2),
                            "move_costs": round(costs, 2), "net": round(costs - balance, 2)}  # fmt: skip
        if best is not None:
            out.append(best)
    return out


def fixed_costs(book) -> dict:
    """What every plan of this book pays whatever it does: the roster's salaries and salaried pool teams, by location.

    Not in any plan's objective (idling someone saves none of it); the total
    cost of coverage is this plus a plan's spend (digital, hourly pools).
    """
    pol = book.policy
    by_location: dict[str, float] = {}
    csms = float(book.csms["annual_cost"].sum())
    for r in book.csms.to_dict("records"):
        by_location[r["location"] or "(no location)"] = (
            by_location.get(r["location"] or "(no location)", 0.0) + r["annual_cost"]
        )
    pools = 0.0
    if pol.pool_billing == "fixed":
        for r in book.pools.to_dict("records"):
            cost = 12.0 * r["capacity_hours"] * r["hourly_cost"]
            pools += cost
            by_location[r["location"] or "(no location)"] = (
                by_location.get(r["location"] or "(no location)", 0.0) + cost
            )
    return {"csm_salaries": csms, "pool_teams": pools, "total": csms + pools,
            "by_location": dict(sorted(by_location.items(), key=lambda kv: -kv[1]))}  # fmt: skip


def plan_kpis(book, plan: Mapping[str, str]) -> dict:
    """Every KPI above for one plan (the evaluator's loads, computed once)."""
    from planner.planning.evaluate import owner_loads

    loads = owner_loads(book, plan)
    return {
        "utilization": utilization(book, loads),
        "accounts_per_csm": accounts_per_csm(book, plan),
        "arr_per_csm": arr_per_csm(book, loads),
        "rate_vs_utilization": rate_vs_load(book, loads),
        **overloaded(book, loads),
        "idle_beside_busy": idle_beside_busy(book, plan, loads),
    }

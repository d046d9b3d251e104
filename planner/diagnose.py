"""Why a book has no plan, in words an ops user understands.

Each check is a small named function over the built coverage model that
returns sentences. They run from the most specific (one account nobody may
cover) to the most general (a region's demand exceeds its supply). When none
of them finds the cause, an elastic re-solve lets accounts go uncovered at a
large price and reports the fewest that must stay uncovered.
"""

from __future__ import annotations

from typing import Callable, Iterable

import numpy as np

from planner.models.coverage import account_utc, tz_gap


def _fmt_h(x: float) -> str:
    return f"{x:,.0f} h/month" if x >= 10 else f"{x:,.1f} h/month"


def accounts_nobody_may_cover(book, model) -> Iterable[str]:
    """Accounts left with no eligible owner, with the rule that removed the last candidate."""
    return explain_no_owner(book, model.problem.items_without_arcs())


def explain_no_owner(book, missing: np.ndarray) -> Iterable[str]:
    """One sentence per account (book row index) that no owner may cover."""
    acc = book.accounts
    utc = account_utc(acc, book.policy)
    for i in missing[:25]:
        yield f"{acc['account_id'].iat[i]}: {_why_no_owner(book, acc.iloc[i], utc[i])}"
    if len(missing) > 25:
        yield f"... and {len(missing) - 25} more accounts with no eligible owner"


def _why_no_owner(book, a, utc: float) -> str:
    pol = book.policy
    seg, lang, region = a["segment"], a["language"], a["region"]
    if a["pin_owner"]:
        kind = book.owner_kind(a["pin_owner"])
        status = book.csms.set_index("csm_id").at[a["pin_owner"], "status"] if kind == "csm" else "active"
        return f"pinned to {a['pin_owner']}, who is {status}; expected a pin to an active owner"
    modes = pol.modes[seg]
    parts = []
    if "csm" in modes:
        c = book.csms[book.csms["status"] == "active"]
        steps = [
            ("active CSMs", c),
            (f"covering {seg}", c := c[c["segments"].map(lambda s: not s or seg in s)]),
            (f"speaking {lang!r}", c := c[c["languages"].map(lambda s: lang in s)]),
            (
                f"within {pol.tz_max_gap_hours[seg]:g} h of UTC{utc:+g}",
                c := c[np.isnan(utc) | (tz_gap(utc, c["utc_offset"].to_numpy(float)) <= pol.tz_max_gap_hours[seg] + 1e-9)],
            ),
        ]
        if seg in pol.region_csm_must_match:
            steps.append((f"in region {region}", c[c["region"] == region]))
        parts.append(_funnel(steps))
    if "pool" in modes:
        q = book.pools
        steps = [
            ("pools", q),
            (f"covering {seg}", q := q[q["segments"].map(lambda s: seg in s)]),
            (f"speaking {lang!r}", q := q[q["languages"].map(lambda s: lang in s)]),
            (f"serving region {region}", q[q["regions"].map(lambda s: not s or region in s)]),
        ]
        parts.append(_funnel(steps))
    allowed = ", ".join(modes)
    return f"{seg} accounts may use {allowed}, but " + "; ".join(parts)


def _funnel(steps) -> str:
    """'12 active CSMs, 3 covering enterprise, 0 speaking ja' up to the first empty step."""
    said = []
    for label, frame in steps:
        said.append(f"{len(frame)} {label}")
        if len(frame) == 0:
            break
    return ", ".join(said)


def forced_loads_over_caps(book, model) -> Iterable[str]:
    """Renewal-freeze and pinned accounts that alone overfill their owner."""
    p = model.problem
    forced_arcs = np.flatnonzero(np.isin(model.arc_rule, ["freeze", "pin"]))
    if not len(forced_arcs):
        return
    for r in p.resources:
        load = np.bincount(p.arc_agent[forced_arcs], weights=r.weight[forced_arcs], minlength=p.n_agents)
        for k in np.flatnonzero(load > r.capacity + 1e-6):
            n = int(np.sum(p.arc_agent[forced_arcs] == k))
            yield (
                f"{model.owners.ids[k]} must keep {n} accounts (renewal freeze or pins) needing "
                f"{_amount(r.name, load[k])}, but the cap is {_amount(r.name, r.capacity[k])}"
            )


def _amount(resource: str, x: float) -> str:
    if resource == "hours":
        return _fmt_h(x)
    if resource == "arr":
        return f"${x:,.0f} ARR"
    return f"{x:,.0f} accounts"


def group_demand_over_supply(book, model) -> Iterable[str]:
    """Per region and segment: hours, account slots and ARR the group needs vs what its eligible owners have."""
    p = model.problem
    acc = book.accounts
    keys = acc["region"].astype(str) + " " + acc["segment"].astype(str)
    for key in sorted(keys.unique()):
        items = np.flatnonzero((keys == key).to_numpy())
        arcs = np.flatnonzero(np.isin(p.arc_item, items))
        agents = np.unique(p.arc_agent[arcs])
        for r in p.resources:
            if not np.all(np.isfinite(r.capacity[agents])):
                continue  # some eligible owner (digital) has no limit on this resource
            need = np.full(p.n_items, np.inf)
            np.minimum.at(need, p.arc_item[arcs], r.weight[arcs])
            need = need[items]
            demand = float(need[np.isfinite(need)].sum())  # accounts with no arc are reported elsewhere
            supply = float(r.capacity[agents].sum())
            if demand > supply + 1e-6:
                yield (
                    f"{key.replace('_', '-')} accounts need {_amount(r.name, demand)}; the {len(agents)} owners "
                    f"eligible for them have {_amount(r.name, supply)} in all"
                )


def changed_arr_cap_unreachable(book, model) -> Iterable[str]:
    """ARR that must change owner (current owner leaving, on leave or ineligible) above the cap."""
    for s in model.problem.side_rows:
        if s.name != "changed_arr":
            continue
        can_stay = float(s.coef.sum())
        if can_stay < s.lo - 1e-6:
            share = book.policy.max_changed_arr_share
            yield (
                f"at most {share:.0%} of ARR may change owner, but only ${can_stay:,.0f} of ARR can stay with its "
                f"current owner; expected at least ${s.lo:,.0f} (raise continuity.max_changed_arr_share)"
            )


CHECKS: tuple[Callable, ...] = (
    accounts_nobody_may_cover,
    forced_loads_over_caps,
    group_demand_over_supply,
    changed_arr_cap_unreachable,
)


def uncovered_at_best(book, model) -> Iterable[str]:
    """Elastic re-solve: every account may go to an 'uncovered' slot at a large price."""
    from planner import backends
    from planner.backends.base import SolveOptions

    p = model.problem
    n = p.n_items
    big = 1e3 * (1.0 + float(np.abs(p.arc_cost).sum()))
    dummy = p.n_agents
    elastic = with_arcs(p, np.arange(n), np.full(n, dummy), np.full(n, big), np.zeros(n), new_agents=1)
    sol = backends.solve(elastic, "highs", SolveOptions(time_limit=60, gap=1e-3))
    if not sol.status.has_plan:
        yield "even with accounts left uncovered no plan exists: a continuity rule (changed-ARR cap) cannot be met"
        return
    out = np.flatnonzero(elastic.arc_agent[sol.choice] == dummy)
    if not len(out):
        return
    acc = book.accounts.iloc[out]
    hours = model.account_hours[out].sum()
    ids = ", ".join(acc["account_id"].head(15))
    more = f" and {len(out) - 15} more" if len(out) > 15 else ""
    noun = "account" if len(out) == 1 else "accounts"
    yield (
        f"at best {len(out)} {noun} (${acc['arr'].sum():,.0f} ARR, about {_fmt_h(hours)}) cannot be covered "
        f"within the caps: {ids}{more}"
    )
    covered = sol.choice[elastic.arc_agent[sol.choice] != dummy]
    for i in out[:10]:
        yield f"{book.accounts['account_id'].iat[i]}: every eligible owner is full: {_full_owners(p, model, i, covered)}"


def _used_of(resource: str, used: float, cap: float) -> str:
    if resource == "hours":
        return f"{used:,.1f} of {cap:,.1f} h"
    if resource == "arr":
        return f"${used:,.0f} of ${cap:,.0f} ARR"
    return f"{used:,.0f} of {cap:,.0f} accounts"


def _full_owners(p, model, item: int, covered: np.ndarray) -> str:
    """'csm_a (1 of 1 accounts, ...), pool_1 (10.0 of 10.0 h)' for the owners eligible for `item`."""
    said = []
    for k in np.unique(p.arc_agent[p.arc_item == item]):
        mine = covered[p.arc_agent[covered] == k]
        caps = []
        for r in p.resources:
            if np.isfinite(r.capacity[k]):
                used = float(r.weight[mine].sum())
                caps.append(_used_of(r.name, used, float(r.capacity[k])))
        said.append(f"{model.owners.ids[k]} ({', '.join(caps)})")
    return ", ".join(said)


def with_arcs(p, items, agents, costs, hours, new_agents: int = 0):
    """`p` plus escape arcs (item -> agent, cost, hours of the "hours" resource), with `new_agents` uncapped agents added."""
    from dataclasses import replace

    from planner.models.core import Resource

    k = len(items)
    return replace(
        p,
        n_agents=p.n_agents + new_agents,
        arc_item=np.concatenate([p.arc_item, np.asarray(items, dtype=np.int64)]),
        arc_agent=np.concatenate([p.arc_agent, np.asarray(agents, dtype=np.int64)]),
        arc_cost=np.concatenate([p.arc_cost, np.asarray(costs, dtype=float)]),
        resources=tuple(
            Resource(
                r.name,
                np.concatenate([r.weight, np.asarray(hours, dtype=float) if r.name == "hours" else np.zeros(k)]),
                np.append(r.capacity, np.full(new_agents, np.inf)),
            )
            for r in p.resources
        ),
        start=None,
        arc_tier=None,
        agent_names=None,
    )


def diagnose(book, model) -> list[str]:
    """Sentences that explain why the coverage model is infeasible."""
    found = [s for check in CHECKS for s in check(book, model)]
    if len(model.problem.items_without_arcs()) == 0:
        found += list(uncovered_at_best(book, model))
    return found or ["the model is infeasible, but no single rule explains it; try `planner validate` and relax caps"]


def shortage_options(book, rmodel) -> Iterable[str]:
    """A reassignment with too little capacity: why, and the options, in words.

    Re-solves the reassignment with two escape hatches for the accounts that
    must be placed: overflow to any pool (capacity permitting) or the digital
    program outside the segment's modes, at the policy's overflow churn
    uplift, and 'uncovered' at a prohibitive price. The answer names the
    overflow, the extra hours needed to avoid it, and what stays uncovered.
    """
    from planner import backends
    from planner.backends.base import SolveOptions

    pol = book.policy
    p = rmodel.problem
    cov = rmodel.coverage
    owners = cov.owners
    yield from explain_no_owner(book, rmodel.item_account[p.items_without_arcs()])
    acc_of = rmodel.item_account
    must = np.flatnonzero(rmodel.must_place[acc_of])
    arr = book.accounts["arr"].to_numpy(float)
    h = cov.account_hours
    spare_agents = np.flatnonzero(np.isin(owners.kind, ["pool", "digital"]))
    have = set(zip(p.arc_item.tolist(), p.arc_agent.tolist()))
    new_i, new_k, new_c, new_h = [], [], [], []
    for i in must:
        a = acc_of[i]
        for k in spare_agents:
            if (i, k) in have:
                continue
            hours = h[a] * owners.hours_factor[k]
            digital = pol.digital_cost_per_account if owners.kind[k] == "digital" else 0.0
            cost = 12 * hours * owners.rate[k] + digital + (pol.handoff_overflow_churn_uplift + pol.disruption_arr_share) * arr[a]
            new_i.append(i), new_k.append(k), new_c.append(cost), new_h.append(hours)
    n_over = len(new_i)
    dummy = p.n_agents
    # Lexicographic: fewest uncovered, then fewest overflows, then cost.
    unit = 1.0 + float(np.abs(p.arc_cost).sum()) + float(np.abs(new_c).sum())
    big = 1e3 * unit
    new_c = [c + unit for c in new_c]
    m = len(must)
    elastic = with_arcs(
        p,
        np.concatenate([np.array(new_i, dtype=np.int64), must]),
        np.concatenate([np.array(new_k, dtype=np.int64), np.full(m, dummy)]),
        np.concatenate([np.array(new_c), np.full(m, big)]),
        np.concatenate([np.array(new_h), np.zeros(m)]),
        new_agents=1,
    )
    sol = backends.solve(elastic, "highs", SolveOptions(time_limit=60, gap=1e-3))
    if not sol.status.has_plan:
        yield "no plan exists even with overflow to pools and digital: the cascade limit (--max-moves) or a pin blocks it"
        return
    chosen = sol.choice
    over = [e for e in chosen if p.n_arcs <= e < p.n_arcs + n_over]
    lost = np.flatnonzero(elastic.arc_agent[chosen] == dummy)
    short_items = [elastic.arc_item[e] for e in over] + list(lost)
    need = float(h[acc_of[short_items]].sum()) if short_items else 0.0
    yield (
        f"capacity is short: {len(short_items)} of the {m} accounts to place do not fit with eligible owners; "
        f"they need about {_fmt_h(need)} more of eligible CSM or pool time "
        f"(≈ {need / pol.csm_default_capacity_hours:.2g} FTE at {pol.csm_default_capacity_hours:g} h)"
    )
    if over:
        by_owner: dict[str, list[str]] = {}
        for e in over:
            by_owner.setdefault(owners.ids[elastic.arc_agent[e]], []).append(p.item_names[elastic.arc_item[e]])
        parts = "; ".join(f"{o}: {', '.join(ids[:10])}{' ...' if len(ids) > 10 else ''}" for o, ids in sorted(by_owner.items()))
        yield f"option: overflow {len(over)} accounts outside their segment's coverage ({parts})"
    if len(lost):
        ids = ", ".join(p.item_names[i] for i in lost[:15])
        yield f"uncovered even with overflow: {len(lost)} accounts (${arr[acc_of[lost]].sum():,.0f} ARR): {ids}"
    # Name the full caps in whole-book terms: fixed accounts plus the elastic plan's placements.
    kept = rmodel.item_arc[chosen[chosen < len(rmodel.item_arc)]]
    base = rmodel.base_choice
    covered = np.concatenate([base[base >= 0], kept])
    for i in short_items[:10]:
        a = acc_of[i]
        if np.any(cov.problem.arc_item == a):
            yield f"{p.item_names[i]}: every eligible owner is full: {_full_owners(cov.problem, cov, a, covered)}"

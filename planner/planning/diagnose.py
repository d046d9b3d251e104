r"""Why a book has no plan, in words an ops user understands.

Each check is a small named function over the built coverage model that
returns sentences. They run from the most specific (one account nobody may
cover) to the most general (a region's demand exceeds its supply), and last
an elastic re-solve lets accounts go uncovered and reports the fewest that
must stay uncovered. Every check runs on its own: one that cannot finish
(a solver error, a bug) is named in a sentence that says why, and the
others' reasons still stand (:func:`diagnose` never raises).

The elastic re-solve is lexicographic without a big-M
----------------------------------------------------
It used to price an uncovered account at 1e3·(1 + Σ|c|) (5e10 on a 500
account book, next to costs of ~1e2); HiGHS's dual simplex fails on such a
spread ("Not Set"). Instead the elastic model's costs are levels of small
integers plus a tie-break that stays below the next level:

    uncovered (a dummy arc per account):   1 + ¼ · (f[i] + arr[i] / (1 + Σ arr)) / (1 + Σ f)
                                           f[i] = 1 for an account kept by a freeze or pin, else 0
    every real arc e of item i:            ¼ · regret[e] / (1 + Σ_i max_e regret[e]),
                                           regret[e] = c[e] − min_{e' ∈ E(i)} c[e']

The tie-breaks of a whole plan sum to at most ½, so a plan with fewer
uncovered accounts is never dearer: the optimum leaves the fewest accounts
uncovered, preferring accounts no freeze or pin holds and little ARR, then
costs least. A bound B from the solver proves at least ceil(B − ½)
accounts must stay uncovered (OPT ≤ N + ½ for N uncovered), whatever the gap
the run stopped at; the sentence says "at best N" only when that proof meets
the plan found, else "at least L ... (the best plan found leaves N)". The run
has ELASTIC_SECONDS; on 10,000 accounts that is the whole answer time.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from planner.backends.numerics import tolerance
from planner.models.coverage import account_utc, tz_gap

ELASTIC_SECONDS = 10.0  # time for one elastic re-solve (uncovered_at_best, shortage_options)
ELASTIC_GAP = 1e-3
TIE_BREAK = 0.25  # each tie-break part of the elastic costs sums to less than this (see the module docstring)


def check(label: str):
    """Name a check in words, for the sentence that says it could not finish."""

    def mark(fn):
        fn.label = label
        return fn

    return mark


def _fmt_h(x: float) -> str:
    return f"{x:,.0f} h/month" if x >= 10 else f"{x:,.1f} h/month"


@check("accounts nobody may cover")
def accounts_nobody_may_cover(book, model) -> Iterable[str]:
    """Accounts left with no eligible owner, with the rule that removed the last candidate."""
    return explain_no_owner(book, model.problem.items_without_arcs())


def explain_no_owner(book, missing: np.ndarray, limit: int | None = 25) -> Iterable[str]:
    """One sentence per account (book row index) that no owner may cover (the first `limit`, None: all)."""
    acc = book.accounts
    utc = account_utc(acc, book.policy)
    shown = missing if limit is None else missing[:limit]
    for i in shown:
        yield f"{acc['account_id'].iat[i]}: {_why_no_owner(book, acc.iloc[i], utc[i])}"
    if len(missing) > len(shown):
        yield f"... and {len(missing) - len(shown)} more accounts with no eligible owner"


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
            (f"covering {seg}", c := _keep(c, "segments", lambda s: not s or seg in s)),
            (f"speaking {lang!r}", c := _keep(c, "languages", lambda s: lang in s)),
            (
                f"within {pol.tz_max_gap_hours[seg]:g} h of UTC{utc:+g}",
                c := c[
                    np.isnan(utc) | (tz_gap(utc, c["utc_offset"].to_numpy(float)) <= pol.tz_max_gap_hours[seg] + 1e-9)
                ],
            ),
        ]
        if seg in pol.region_csm_must_match:
            steps.append((f"in region {region}", c[c["region"] == region]))
        parts.append(_funnel(steps))
    if "pool" in modes:
        q = book.pools
        steps = [
            ("pools", q),
            (f"covering {seg}", q := _keep(q, "segments", lambda s: seg in s)),
            (f"speaking {lang!r}", q := _keep(q, "languages", lambda s: lang in s)),
            (f"serving region {region}", _keep(q, "regions", lambda s: not s or region in s)),
        ]
        parts.append(_funnel(steps))
    allowed = ", ".join(modes)
    return f"{seg} accounts may use {allowed}, but " + "; ".join(parts)


def fix_for_no_owner(book, i: int) -> str:
    """What would give account `i` (book row) an owner, in words: the kind of person to hire or train."""
    pol = book.policy
    a = book.accounts.iloc[i]
    if a["pin_owner"]:
        return f"pin it to an active owner, or clear pin_owner (today {a['pin_owner']})"
    seg, lang, region = a["segment"], a["language"], a["region"]
    utc = float(account_utc(book.accounts.iloc[[i]], pol)[0])
    modes = pol.modes[seg]
    wants = []
    if "csm" in modes:
        where = f" in region {region}" if seg in pol.region_csm_must_match else ""
        zone = "" if np.isnan(utc) else f" within {pol.tz_max_gap_hours[seg]:g} h of UTC{utc:+g}"
        wants.append(f"a {seg.replace('_', '-')} CSM who speaks {lang!r}{zone}{where}")
    if "pool" in modes:
        wants.append(f"a pool serving {seg.replace('_', '-')} accounts in {lang!r} in region {region}")
    return (
        "hire or train " + ", or ".join(_article(w) for w in wants)
        if wants
        else f"allow a coverage mode for {seg} (policy [segments] modes)"
    )


def _article(phrase: str) -> str:
    """'a enterprise CSM' -> 'an enterprise CSM'."""
    return "an " + phrase[2:] if phrase.startswith("a ") and phrase[2:3] in "aeiou" else phrase


def _keep(frame, column: str, test):
    """The rows of `frame` whose `column` passes `test` (a boolean mask even when `frame` has no rows)."""
    return frame[frame[column].map(test).astype(bool)]


def _funnel(steps) -> str:
    """'12 active CSMs, 3 covering enterprise, 0 speaking ja' up to the first empty step."""
    said = []
    for label, frame in steps:
        said.append(f"{len(frame)} {label}")
        if len(frame) == 0:
            break
    return ", ".join(said)


@check("renewal-freeze, pinned and sole-owner loads over caps")
def forced_loads_over_caps(book, model) -> Iterable[str]:
    """Commitments (renewal freeze, pins, accounts no other owner may take) that alone overfill their owner."""
    p = model.problem
    forced_arcs = np.flatnonzero(model.arc_committed)
    if not len(forced_arcs):
        return
    for r in p.resources:
        load = np.bincount(p.arc_agent[forced_arcs], weights=r.weight[forced_arcs], minlength=p.n_agents)
        for k in np.flatnonzero(load > r.capacity + 1e-6):
            n = int(np.sum(p.arc_agent[forced_arcs] == k))
            yield (
                f"{model.owners.ids[k]} must keep {n} accounts (renewal freeze, pins, or no other owner may take them) needing "
                f"{_amount(r.name, load[k])}, but the cap is {_amount(r.name, r.capacity[k])}"
            )


def _amount(resource: str, x: float) -> str:
    if resource == "hours":
        return _fmt_h(x)
    if resource == "arr":
        return f"${x:,.0f} ARR"
    return f"{x:,.0f} accounts"


@check("demand against supply per region and segment")
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


@check("the cap on ARR that changes owner")
def changed_arr_cap_unreachable(book, model) -> Iterable[str]:
    """ARR that must change owner (current owner leaving, on leave or ineligible) above the cap."""
    for s in model.problem.side_rows:
        if s.name != "changed_arr":
            continue
        can_stay = float(s.coef.sum())
        if can_stay < s.lo - 1e-6:
            total = float(book.accounts["arr"].to_numpy(float)[model.had_owner].sum())
            share = 1.0 - s.lo / total if total else 0.0
            yield (
                f"at most {share:.0%} of ARR may change owner, but only ${can_stay:,.0f} of ARR can stay with its "
                f"current owner; expected at least ${s.lo:,.0f} (raise --max-moved-arr or continuity.max_changed_arr_share)"
            )


@check("the cap on accounts that change owner")
def moves_cap_unreachable(book, model) -> Iterable[str]:
    """More accounts must change owner (their owner cannot keep them) than --max-moves allows."""
    for s in model.problem.side_rows:
        if s.name != "moves":
            continue
        allowed = int(round(model.had_owner.sum() - s.lo))
        if model.forced_moves > allowed:
            yield (
                f"--max-moves {allowed} is below the {model.forced_moves:,} accounts that must change owner whatever "
                "the plan (their owner is leaving, on leave, or may no longer cover them); expected --max-moves "
                f"{model.forced_moves:,} or more"
            )


@check("the fewest changes of owner the caps need")
def continuity_caps_too_tight(book, model) -> Iterable[str]:
    """The moves / moved-ARR cap is below what keeping every other cap needs (today's overloads must be relieved).

    planner.planning.continuity.least_change minimizes what the row counts
    over the same caps; its proven bound is the least the caps need. Owners
    over a cap today say why.
    """
    from planner.planning.continuity import least_change

    p = model.problem
    rows = [s for s in p.side_rows if s.name in ("moves", "changed_arr")]
    if not rows or len(p.items_without_arcs()):
        return
    arr = book.accounts["arr"].to_numpy(float)
    for s in rows:
        measure = "moves" if s.name == "moves" else "arr"
        least = least_change(book, model, measure, time_limit=ELASTIC_SECONDS)
        if least.bound is None:
            continue
        what = np.ones(p.n_items) if measure == "moves" else arr
        allowed = float(what[model.had_owner].sum() - s.lo)
        if least.bound <= allowed + 1e-6:
            continue
        over = _over_caps_today(p, model)
        why = f"; today {over}" if over else ""
        if measure == "moves":
            yield (f"keeping every cap needs at least {int(np.ceil(least.bound - 1e-6)):,} accounts to change owner, but "
                   f"--max-moves allows {int(round(allowed)):,}{why}; expected a higher --max-moves")  # fmt: skip
        else:
            yield (f"keeping every cap needs at least ${least.bound:,.0f} of ARR to change owner, but the moved-ARR cap "
                   f"allows ${allowed:,.0f}{why}; expected a higher --max-moved-arr (or continuity.max_changed_arr_share)")  # fmt: skip


def _over_caps_today(p, model, shown: int = 5) -> str:
    """'csm_003 is over its hours and ARR caps, pool_01 over its hours cap' for owners today's plan overloads."""
    stays = np.flatnonzero(p.arc_agent == model.current[p.arc_item])
    over: dict[int, list[str]] = {}
    for r in p.resources:
        load = np.bincount(p.arc_agent[stays], weights=r.weight[stays], minlength=p.n_agents)
        for k in np.flatnonzero(load > r.capacity + 1e-6 * np.maximum(1.0, r.capacity)):
            over.setdefault(int(k), []).append({"arr": "ARR"}.get(r.name, r.name))
    parts = [f"{model.owners.ids[k]} is over its {' and '.join(names)} cap{'s' if len(names) > 1 else ''}"
             for k, names in list(over.items())[:shown]]  # fmt: skip
    more = f" and {len(over) - shown} more" if len(over) > shown else ""
    return ", ".join(parts) + more


@dataclass(frozen=True)
class Uncovered:
    """The elastic re-solve's answer: which accounts stay uncovered at best, besides those no owner may take."""

    accounts: np.ndarray  # book rows left uncovered by the best plan found (those no owner may take excluded)
    least: int | None  # the proven fewest such accounts (None: not proven within the time)
    covered: np.ndarray  # the elastic plan's arcs that cover an account (to say who is full)
    besides: int  # how many accounts no owner may take were left aside
    failed: str = ""  # no elastic plan: why (then `accounts` is empty)


_LAST: dict[
    tuple[int, bool], tuple[weakref.ref, Uncovered]
] = {}  # the last model's answer: a solve's diagnosis and its plan share it


def fewest_uncovered(book, model, keep_commitments: bool = False) -> Uncovered:
    """Elastic re-solve: every account may go to an 'uncovered' slot (see the module docstring for the costs).

    ``keep_commitments``: accounts the renewal freeze or a pin keeps with an
    owner may not be left uncovered (a plan keeps today's commitments; the
    caps were raised to hold them, so the rest can always make way).
    The answers for the last model asked are kept, so the diagnosis of a
    short book and the plan that leaves those accounts unplaced run it once.
    """
    key = (id(model), keep_commitments)
    hit = _LAST.get(key)
    if hit is not None and hit[0]() is model:
        return hit[1]
    u = _fewest_uncovered(book, model, keep_commitments)
    for k in [k for k, (ref, _) in _LAST.items() if ref() is not model]:
        del _LAST[k]
    _LAST[key] = (weakref.ref(model), u)
    return u


def _fewest_uncovered(book, model, keep_commitments: bool) -> Uncovered:
    from planner.backends.base import Status

    p = model.problem
    nobody = (
        p.items_without_arcs()
    )  # uncovered whatever the plan (named by accounts_nobody_may_cover): not counted here
    n = p.n_items
    arr = book.accounts["arr"].to_numpy(float)
    dummy = p.n_agents
    # Tie-break: leave uncovered an account without a freeze or pin first (those stay put by rule), then the least ARR.
    forced = np.zeros(n)
    forced[p.arc_item[model.arc_committed]] = 1.0
    uncovered = 1.0 + TIE_BREAK * (forced + arr / (1.0 + float(arr.sum()))) / (1.0 + forced.sum())
    may = np.flatnonzero(forced == 0) if keep_commitments else np.arange(n)
    elastic = with_arcs(_tie_break(p), may, np.full(len(may), dummy), uncovered[may], np.zeros(len(may)), new_agents=1)
    sol = _elastic_solve(elastic, len(may))
    none = np.zeros(0, dtype=np.int64)
    if not sol.status.has_plan:
        if sol.status == Status.INFEASIBLE:
            rules = {"moves": "--max-moves", "changed_arr": "the moved-ARR cap"}
            named = " and ".join(rules.get(s.name, s.name) for s in p.side_rows) or "a continuity rule"
            why = f"even with accounts left uncovered no plan exists: {named} cannot be met"
        else:
            why = f"the elastic re-solve (accounts may stay uncovered) found no plan in {ELASTIC_SECONDS:g} s: {sol.message}"
        return Uncovered(none, None, none, len(nobody), failed=why)
    out_all = np.flatnonzero(elastic.arc_agent[sol.choice] == dummy)
    least = _fewest(sol.bound, len(out_all))
    covered = sol.choice[elastic.arc_agent[sol.choice] != dummy]
    return Uncovered(np.setdiff1d(out_all, nobody), None if least is None else max(least - len(nobody), 0), covered,
                     len(nobody))  # fmt: skip


def full_owners_detail(book, model, u: Uncovered, i: int) -> str:
    """'every eligible owner is full: csm_a (...: no room for its ARR); it needs about 10 h/month and $827,840 ARR'."""
    arr = float(book.accounts["arr"].iat[i])
    return (f"every eligible owner is full: {_full_owners(model.problem, model, i, u.covered)}; it needs about "
            f"{_fmt_h(model.account_hours[i])} and ${arr:,.0f} ARR")  # fmt: skip


@check("the fewest accounts left uncovered (elastic re-solve)")
def uncovered_at_best(book, model) -> Iterable[str]:
    """How many accounts no plan can cover within the caps, which, and who is full for the first of them."""
    u = fewest_uncovered(book, model)
    if u.failed:
        yield u.failed
        return
    out, least = u.accounts, u.least
    besides = f" besides the {u.besides:,} no owner may take" if u.besides else ""
    if not len(out):
        if not u.besides:  # (else the accounts no owner may take are the whole story, told by their own check)
            yield "an elastic re-solve covers every account within the caps, so no account has to stay uncovered"
        return
    acc = book.accounts.iloc[out]
    hours = model.account_hours[out].sum()
    ids = ", ".join(acc["account_id"].head(15))
    more = f" and {len(out) - 15} more" if len(out) > 15 else ""
    noun = "account" if len(out) == 1 else "accounts"
    what = f"(${acc['arr'].sum():,.0f} ARR, about {_fmt_h(hours)})"
    if least == len(out):
        head = f"at best {len(out):,} {noun}{besides} {what} cannot be covered within the caps"
    elif least is None:
        head = (f"a plan leaves {len(out):,} {noun}{besides} {what} uncovered within the caps (fewer was not ruled "
                f"out in {ELASTIC_SECONDS:g} s)")  # fmt: skip
    else:
        head = (f"at least {least:,} accounts{besides} cannot be covered within the caps; the best plan found in "
                f"{ELASTIC_SECONDS:g} s leaves {len(out):,} {what}")  # fmt: skip
    yield f"{head}: {ids}{more}"
    for i in out[:10]:
        yield f"{book.accounts['account_id'].iat[i]}: {full_owners_detail(book, model, u, int(i))}"


CHECKS: tuple[Callable, ...] = (
    accounts_nobody_may_cover,
    forced_loads_over_caps,
    group_demand_over_supply,
    changed_arr_cap_unreachable,
    moves_cap_unreachable,
    continuity_caps_too_tight,
    uncovered_at_best,
)


def _tie_break(p, real: np.ndarray | None = None):
    """``p`` with each (``real``) arc's cost replaced by its tie-break: ¼ · regret / (1 + Σ_i max regret)."""
    from dataclasses import replace

    c = np.asarray(p.arc_cost, dtype=float)
    real = np.ones(p.n_arcs, dtype=bool) if real is None else real
    best = np.full(p.n_items, np.inf)
    np.minimum.at(best, p.arc_item[real], c[real])
    regret = np.where(real, c - best[p.arc_item], 0.0)
    regret = np.where(np.isfinite(regret), np.maximum(regret, 0.0), 0.0)
    worst = np.zeros(p.n_items)
    np.maximum.at(worst, p.arc_item, regret)
    # Only the arcs break ties: the load costs (balance, over a cap) are dollars, not a unit of what is counted.
    return replace(p, arc_cost=TIE_BREAK * regret / (1.0 + float(worst.sum())), offset=0.0, start=None, load_costs=())


def _elastic_solve(elastic, n_escape: int):
    """HiGHS on an elastic model, within ELASTIC_SECONDS; a solver error comes back as NO_SOLUTION with its words.

    The last ``n_escape`` arcs are the escapes (uncovered, overflow): the
    greedy rule, trying every other arc first (``arc_tier``), gives a plan
    that HiGHS starts from, so there is a plan even when the time runs out.
    """
    from dataclasses import replace

    from planner import backends
    from planner.backends.base import BackendSolution, SolveOptions, Status
    from planner.errors import PlannerError

    tier = np.r_[np.zeros(elastic.n_arcs - n_escape, dtype=np.int64), np.ones(n_escape, dtype=np.int64)]
    elastic = replace(elastic, arc_tier=tier)
    # Whole LP: on the 10k item-5 book it takes 4 s, by column generation 33 s.
    options = SolveOptions(time_limit=ELASTIC_SECONDS, gap=ELASTIC_GAP, extra={"columns": False})
    try:
        first = backends.solve(elastic, "greedy", options)
        if first.status.has_plan:
            elastic = replace(elastic, start=first.choice)
        return backends.solve(elastic, "highs", options)
    except PlannerError as exc:
        return BackendSolution(Status.NO_SOLUTION, np.full(elastic.n_items, -1), None, None, "highs", message=str(exc))


def _fewest(bound: float | None, found: int) -> int | None:
    """The proven least number of uncovered accounts from the elastic bound (tie-breaks sum below ½), at most ``found``."""
    if bound is None or not np.isfinite(bound):
        return None
    return min(found, max(0, math.ceil(bound - 2 * TIE_BREAK - 1e-9)))


def _used_of(resource: str, used: float, cap: float) -> str:
    if resource == "hours":
        return f"{used:,.1f} of {cap:,.1f} h"
    if resource == "arr":
        return f"${used:,.0f} of ${cap:,.0f} ARR"
    return f"{used:,.0f} of {cap:,.0f} accounts"


def _full_owners(p, model, item: int, covered: np.ndarray) -> str:
    """'csm_a (1 of 1 accounts, ...: no room for its account slot), pool_1 (10.0 of 10.0 h: ...)' for the owners eligible for `item`.

    After each owner's loads, the caps that the item itself would overflow (its own hours, slot or ARR on top of the load).
    """
    said = []
    for e in np.flatnonzero(p.arc_item == item):
        k = p.arc_agent[e]
        mine = covered[p.arc_agent[covered] == k]
        caps, short = [], []
        for r in p.resources:
            if np.isfinite(r.capacity[k]):
                used = float(r.weight[mine].sum())
                caps.append(_used_of(r.name, used, float(r.capacity[k])))
                if r.weight[e] > 0 and used + r.weight[e] > r.capacity[k] + tolerance(r.capacity[k]):
                    short.append(_ROOM.get(r.name, r.name))
        blocked = f": no room for its {' or '.join(short)}" if short else ""
        said.append(f"{model.owners.ids[k]} ({', '.join(caps)}{blocked})")
    return ", ".join(said)


_ROOM = {"hours": "hours", "accounts": "account slot", "arr": "ARR"}


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
        load_costs=tuple(q.extended(new_agents) for q in p.load_costs),
        start=None,
        arc_tier=None,
        agent_names=None,
    )


SET_ASIDE_HEAD = "account(s) no owner may take would be left unassigned in any case:"  # heads that section


def diagnose(book, model, proven: bool = True, set_aside: bool = False) -> list[str]:
    """Sentences that explain why the coverage model has no plan; never raises.

    ``proven``: a solver proved the model infeasible (else it only found no
    plan, and the checks say what they can). Each check runs on its own; one
    that cannot finish gives one sentence saying which and why.
    ``set_aside``: the accounts no owner may take were already set aside (a
    solve leaves them unassigned), so they are not the cause: the other
    checks come first, and those accounts follow under a line that says so.
    """
    checks = [fn for fn in CHECKS if not (set_aside and fn is accounts_nobody_may_cover)]
    found = [s for fn in checks for s in run_check(fn, book, model)]
    if set_aside and len(nobody := model.problem.items_without_arcs()):
        found.append(f"{len(nobody):,} {SET_ASIDE_HEAD}")
        found += run_check(accounts_nobody_may_cover, book, model)
    if found:
        return found
    if proven:
        return ["the model is infeasible, but no single rule explains it; try `planner validate` and relax caps"]
    return ["no rule check finds a cause; an exact backend (--backend highs) or a longer --time-limit may find a plan"]


def run_check(fn: Callable, book, model) -> list[str]:
    """The sentences of one check, or one sentence saying it could not finish and why."""
    from planner.errors import PlannerError

    try:
        return list(fn(book, model))
    except Exception as exc:  # noqa: BLE001 - one check's failure must not hide the others' reasons
        why = str(exc) if isinstance(exc, PlannerError) else f"{type(exc).__name__}: {exc}"
        label = getattr(fn, "label", fn.__name__.replace("_", " "))
        return [f"the check of {label} could not finish ({why}); the other checks' reasons still hold"]


def shortage_options(book, rmodel, for_plan: bool = False) -> Iterable[str]:
    """A reassignment with too little capacity: why, and the options, in words; never raises.

    Re-solves the reassignment with two escape hatches for the accounts that
    must be placed: overflow to any pool (capacity permitting) or the digital
    program outside the segment's modes, and 'uncovered'. Lexicographic, as
    in :func:`uncovered_at_best` (module docstring): each uncovered account
    costs n + 1 (n items), each overflow 1, and every arc a tie-break below ¼
    from its cost (overflow at the policy's churn uplift), so the optimum
    leaves the fewest accounts uncovered, then overflows least, then costs
    least. The model's own "unplaced" arcs are left out of the re-solve (they
    are what is being explained). The answer names the accounts nobody may
    take, the overflow, the extra hours needed to avoid it (≈ FTE), what stays
    uncovered, and which caps are full at each eligible owner. `for_plan`:
    the sentences for a plan that leaves accounts unplaced, without what it
    says of each such account itself (assignments.csv reason_detail: the
    accounts nobody may take with their fix, each account's full owners).
    """
    try:
        yield from _shortage_options(book, rmodel, for_plan)
    except Exception as exc:  # noqa: BLE001 - the reasons given so far stand; say why the rest is missing
        from planner.errors import PlannerError

        why = str(exc) if isinstance(exc, PlannerError) else f"{type(exc).__name__}: {exc}"
        yield f"the search for overflow options could not finish ({why})"


def _placing_only(p, n_real: int):
    """`p` with only its first `n_real` arcs (those that give an owner) and no side row on the others."""
    from dataclasses import replace

    from planner.models.core import Resource

    keep = slice(0, n_real)
    return replace(
        p,
        arc_item=p.arc_item[keep], arc_agent=p.arc_agent[keep], arc_cost=p.arc_cost[keep],
        resources=tuple(Resource(r.name, r.weight[keep], r.capacity) for r in p.resources),
        side_rows=tuple(s for s in p.side_rows if not len(s.arcs) or int(s.arcs.max()) < n_real),
        start=None, arc_tier=None if p.arc_tier is None else p.arc_tier[keep],
    )  # fmt: skip


def _shortage_options(book, rmodel, for_plan: bool = False) -> Iterable[str]:
    pol = book.policy
    p = _placing_only(rmodel.problem, len(rmodel.item_arc))
    cov = rmodel.coverage
    owners = cov.owners
    if not for_plan:
        yield from explain_no_owner(book, np.flatnonzero(rmodel.nobody))
    acc_of = rmodel.item_account
    must = np.flatnonzero(rmodel.must_place[acc_of])
    arr = book.accounts["arr"].to_numpy(float)
    h = cov.account_hours
    spare_agents = np.flatnonzero(np.isin(owners.kind, ["pool", "digital"]))
    have = set(zip(p.arc_item.tolist(), p.arc_agent.tolist(), strict=True))
    new_i, new_k, new_c, new_h = [], [], [], []
    for i in must:
        a = acc_of[i]
        for k in spare_agents:
            if (i, k) in have:
                continue
            hours = h[a] * owners.hours_factor[k]
            digital = pol.digital_cost_per_account if owners.kind[k] == "digital" else 0.0
            cost = (
                12 * hours * owners.rate[k]
                + digital
                + (pol.handoff_overflow_churn_uplift + pol.disruption_arr_share) * arr[a]
            )
            new_i.append(i), new_k.append(k), new_c.append(cost), new_h.append(hours)
    n_over = len(new_i)
    dummy = p.n_agents
    m = len(must)
    # Levels: uncovered n+1 > overflow 1 > tie-break (< 1/2 in all).
    real = np.ones(p.n_arcs, dtype=bool)
    with_over = with_arcs(p, np.array(new_i, dtype=np.int64), np.array(new_k, dtype=np.int64), np.array(new_c, dtype=float),
                          np.array(new_h, dtype=float))  # fmt: skip
    is_real = np.r_[real, np.ones(n_over, dtype=bool)]
    ranked = _tie_break(with_over, is_real)
    level = np.r_[np.where(real, 0.0, 1.0), np.ones(n_over)]
    from dataclasses import replace

    ranked = replace(ranked, arc_cost=ranked.arc_cost + level)
    elastic = with_arcs(ranked, must, np.full(m, dummy), np.full(m, float(p.n_items + 1)), np.zeros(m), new_agents=1)
    sol = _elastic_solve(elastic, n_over + m)
    if not sol.status.has_plan:
        from planner.backends.base import Status

        if sol.status == Status.INFEASIBLE:
            yield "no plan exists even with overflow to pools and digital: the cascade limit (--max-moves) or a pin blocks it"
        else:
            yield f"the search for overflow options found no plan in {ELASTIC_SECONDS:g} s: {sol.message}"
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
        parts = "; ".join(
            f"{o}: {', '.join(ids[:10])}{' ...' if len(ids) > 10 else ''}" for o, ids in sorted(by_owner.items())
        )
        yield f"option: overflow {len(over)} accounts outside their segment's coverage ({parts})"
    if len(lost):
        ids = ", ".join(p.item_names[i] for i in lost[:15])
        yield f"uncovered even with overflow: {len(lost)} accounts (${arr[acc_of[lost]].sum():,.0f} ARR): {ids}"
    if for_plan:
        return
    # Name the full caps in whole-book terms: fixed accounts plus the elastic plan's placements.
    kept = rmodel.item_arc[chosen[chosen < p.n_arcs]]
    base = rmodel.base_choice
    covered = np.concatenate([base[base >= 0], kept])
    for i in short_items[:10]:
        a = acc_of[i]
        if np.any(cov.problem.arc_item == a):
            yield (f"{p.item_names[i]}: every eligible owner is full: {_full_owners(cov.problem, cov, a, covered)}"
                   f"; it needs about {_fmt_h(h[a])} and ${arr[a]:,.0f} ARR")  # fmt: skip


def unplaced_detail(book, rmodel, full_choice: np.ndarray, a: int) -> str:
    """Why account `a` (book row) has no owner in a reassignment plan, and what would give it one, in words.

    `full_choice` is the plan's coverage arc per account (-1: none): the caps
    named are those of the plan. The options: the pools and the digital
    program that could take it outside its segment's coverage (with room for
    its hours), more eligible CSM or pool time, more cascades.
    """
    cov = rmodel.coverage
    p, owners, h = cov.problem, cov.owners, cov.account_hours
    covered = full_choice[full_choice >= 0]
    arr = float(book.accounts["arr"].iat[a])
    full = _full_owners(p, cov, a, covered)
    eligible = set(p.arc_agent[p.arc_item == a].tolist())
    hours = p.resource("hours") if any(r.name == "hours" for r in p.resources) else None
    load = np.bincount(p.arc_agent[covered], weights=hours.weight[covered], minlength=p.n_agents) if hours else None
    room = []
    for k in np.flatnonzero(np.isin(owners.kind, ["pool", "digital"])):
        if int(k) in eligible:
            continue
        need = h[a] * owners.hours_factor[k]
        if hours is None or load[k] + need <= hours.capacity[k] + tolerance(hours.capacity[k]):
            room.append(str(owners.ids[k]))
    options = []
    if room:
        options.append(f"hand it to {' or '.join(room)} outside its segment's coverage")
    options.append(
        f"add about {_fmt_h(h[a])} of eligible CSM or pool time (≈ {h[a] / book.policy.csm_default_capacity_hours:.2g} FTE)"
    )
    if any(owners.kind[k] == "csm" for k in eligible):
        options.append("let more accounts move to make room (a larger --max-moves)")
    return (f"every eligible owner is full: {full}; it needs about {_fmt_h(h[a])} and ${arr:,.0f} ARR; "
            f"options: {'; or '.join(options)}")  # fmt: skip

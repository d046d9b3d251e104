"""The plan's tables: assignments.csv and owners.csv, from the arc chosen for each account.

Every kind of plan (a solve, a reassignment) is a choice of one coverage
arc per account (or none: left unplaced), and these functions turn it into
what the user reads. The columns are the output contract
(planner/plan_contract.md).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.book import Book

TERMS = ("serving", "digital", "revenue_at_risk", "disruption", "mismatch")  # models/coverage.py COST_TERMS


def term_column(term: str) -> str:
    """The assignments.csv column of a cost term."""
    return term if term == "revenue_at_risk" else f"{term}_cost"


def term_totals(assignments: pd.DataFrame) -> dict[str, float]:
    """Each cost term summed over the plan's accounts."""
    return {k: float(assignments[term_column(k)].sum()) for k in TERMS}


def plan_tables(
    book: Book, model, choice: np.ndarray, unplaced: dict | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """assignments.csv and owners.csv from the chosen arc of every account (-1: left unplaced).

    `unplaced` gives, for a book row left without an owner, its (reason, detail) in words.
    """
    acc = book.accounts
    owners = model.owners
    placed = choice >= 0
    arc = np.where(placed, choice, 0)
    o = model.problem.arc_agent[arc]
    owner_ids = np.where(placed, owners.ids[o], "")
    kinds = np.where(placed, owners.kind[o], "unassigned")
    roster = _roster(book)
    prev = acc["current_owner"].to_numpy(object)
    prev_kind = np.array([(book.owner_kind(p) or "unknown") if p else "" for p in prev], dtype=object)
    changed = owner_ids != prev
    terms = {k: np.where(placed, model.arc_terms[k][arc], 0.0) for k in TERMS}
    reason, detail, stay_cost = move_reasons(
        book, model, choice, prev, prev_kind, changed, sum(terms.values()), terms["disruption"]
    )
    for i, (why, said) in (unplaced or {}).items():
        reason[i], detail[i] = why, said
    head = pd.DataFrame(
        {
            "account_id": acc["account_id"].to_numpy(object),
            "owner_type": kinds,
            "owner_id": owner_ids,
            "owner_name": [roster[i]["name"] if i else "" for i in owner_ids],
            "owner_email": [roster[i]["email"] if i else "" for i in owner_ids],
            "owner_crm_user_id": [roster[i]["crm_user_id"] if i else "" for i in owner_ids],
            "previous_owner": prev,
            "previous_owner_type": prev_kind,
            "previous_owner_name": [roster[i]["name"] if i in roster else "" for i in prev],
            "previous_owner_email": [roster[i]["email"] if i in roster else "" for i in prev],
            "changed": changed,
            "reason": reason,
            "reason_detail": detail,
            "stay_cost": stay_cost,
            "exception": np.where(placed, model.arc_exception[arc], ""),
            "workload_hours": np.where(placed, model.arc_hours[arc], 0.0),
            "annual_cost": sum(terms.values()),
            **{term_column(k): v for k, v in terms.items()},
        }
    )
    own_cols = [c for c in acc.columns if c not in head.columns and c != "segment_derived"]
    assignments = pd.concat([head, acc[own_cols].reset_index(drop=True)], axis=1)
    return assignments, _owner_table(book, model, assignments, choice)


# Why an account has the owner it has: the first that applies, in this order.
REASONS = (
    "no eligible owner",  # no owner may take it (language, region, time zone, segment): left unassigned, with the fix
    "not placed",  # it has an owner today and this plan leaves it without one (a reassignment's unplaced)
    "not in this plan (no owner today)",  # a reassignment leaves new accounts to `planner solve`
    "pinned", "renewal freeze",  # the plan had no choice
    "kept",  # same owner as today
    "new account",  # no owner today
    "previous owner unknown",  # today's owner is on no roster
    "previous owner leaving", "previous owner on leave",
    "owner may no longer cover it",  # today's owner (a pool, the digital program) is not allowed for it any more
    "rule broken today",  # today's CSM was kept against a rule (language, time zone, region, segment); the plan fixes it
    "lower cost",  # the new owner costs less a year, disruption included (both priced in the row)
    "overload relief",  # today's owner is over a cap; this move costs more, but takes load off
    "makes room",  # one move of a chain that lowers the plan's cost: it frees the owner for other accounts
)  # fmt: skip


def move_reasons(book: Book, model, choice, prev, prev_kind, changed, new_cost, disruption):
    """(reason, reason_detail, stay_cost) per account: why it has this owner, in words and in dollars.

    stay_cost is what keeping today's owner would cost a year (blank when the
    model gives that owner no arc to the account); for a move the detail
    says what it saves against its disruption, or which rule or overload it fixes.
    """
    p = model.problem
    n = p.n_items
    placed = choice >= 0
    arc = np.where(placed, choice, 0)
    rule = np.where(placed, model.arc_rule[arc], "")
    stays = np.flatnonzero(p.arc_agent == model.current[p.arc_item])
    stay_arc = np.full(n, -1, dtype=np.int64)
    stay_arc[p.arc_item[stays]] = stays
    can_stay = stay_arc >= 0
    stay_cost = np.where(can_stay, p.arc_cost[np.maximum(stay_arc, 0)], np.nan)
    status = dict(zip(book.csms["csm_id"], book.csms["status"], strict=True))
    prev_status = np.array([status.get(x, "") for x in prev], dtype=object)
    kept_against = can_stay & (model.arc_exception[np.maximum(stay_arc, 0)] != "")
    over = _over_today(p, stays)
    relieves = can_stay & over[np.maximum(model.current, 0)] & (model.current >= 0)
    saves = can_stay & (stay_cost > new_cost + 1e-9)
    reason = np.select(
        [~placed & (prev_kind != "unknown") & (prev != ""), ~placed, rule == "pin", rule == "freeze", ~changed,
         prev == "", prev_kind == "unknown", prev_status == "leaving", prev_status == "on_leave", ~can_stay,
         kept_against, saves, relieves],
        list(REASONS[1:-1]),
        default=REASONS[-1],
    ).astype(object)  # fmt: skip
    exc = model.arc_exception[np.maximum(stay_arc, 0)]
    detail = np.full(n, "", dtype=object)
    for i in np.flatnonzero(changed & placed & (prev != "")):
        detail[i] = _detail(reason[i], prev[i], stay_cost[i], new_cost[i], disruption[i], exc[i])
    return reason, detail, stay_cost


def _over_today(p, stays) -> np.ndarray:
    """Per agent: today's plan (every account with its current owner where it can stay) puts it over a cap."""
    over = np.zeros(p.n_agents, dtype=bool)
    for r in p.resources:
        load = np.bincount(p.arc_agent[stays], weights=r.weight[stays], minlength=p.n_agents)
        over |= load > r.capacity + 1e-6 * np.maximum(1.0, np.abs(np.where(np.isfinite(r.capacity), r.capacity, 0.0)))
    return over


def _detail(reason: str, prev: str, stay: float, new: float, disruption: float, exception: str) -> str:
    if reason == "rule broken today":
        return exception.replace("current CSM kept although ", f"{prev} kept it although ")
    if reason == "overload relief":
        return f"{prev} is over a cap today; keeping it there would cost ${stay:,.0f} a year, the move ${new:,.0f} (disruption ${disruption:,.0f} included)"
    if reason == "lower cost":
        return f"saves ${stay - new:,.0f} a year: ${stay:,.0f} with {prev}, ${new:,.0f} after the move (disruption ${disruption:,.0f} included)"
    if reason == "makes room":
        return (f"costs ${new - stay:,.0f} a year more than staying with {prev} (disruption ${disruption:,.0f} included), "
                "and frees that owner for accounts the plan needs there")  # fmt: skip
    return ""


IDENTITY = ("name", "email", "crm_user_id", "hubspot_owner_id")  # who an owner is, to people and to each CRM


def _roster(book: Book) -> dict[str, dict]:
    """owner id -> name, email, crm_user_id, hubspot_owner_id (the CRM identities the exports load).

    CSMs and pools from their tables (a CSM's hubspot_owner_id is an extra
    column when the book has one); the digital program from the programs
    table, blank when the book has none.
    """
    digital = {"name": "Digital program", "email": "", "crm_user_id": "", "hubspot_owner_id": ""}
    out = {book.policy.digital_owner_id: digital}
    for table, key in ((book.csms, "csm_id"), (book.pools, "pool_id"), (book.programs, "program_id")):
        for r in table.to_dict("records"):
            out[r[key]] = {c: _text(r.get(c, "")) for c in IDENTITY}
    if not out[book.policy.digital_owner_id]["name"]:
        out[book.policy.digital_owner_id]["name"] = digital["name"]
    return out


def _text(value) -> str:
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


OWNER_TERMS = ("balance", "over_cap")  # cost terms of an owner's load, in owners.csv (models/coverage.py)


def owner_term_totals(owners: pd.DataFrame) -> dict[str, float]:
    """The owner cost terms summed over owners.csv."""
    return {k: float(owners[f"{k}_cost"].sum()) for k in OWNER_TERMS}


def _owner_table(book: Book, model, assignments: pd.DataFrame, choice: np.ndarray) -> pd.DataFrame:
    from planner.models.coverage import owner_costs

    owners = model.owners
    load_costs = owner_costs(model, choice)
    roster = _roster(book)
    g = assignments.groupby("owner_id", sort=False)
    n = g.size()
    arr = g["arr"].sum()
    hours = g["workload_hours"].sum()
    gained = assignments[assignments["changed"]].groupby("owner_id").size()
    lost = assignments[assignments["changed"] & (assignments["previous_owner"] != "")].groupby("previous_owner").size()
    extra = {}
    for table, key in ((book.csms, "csm_id"), (book.pools, "pool_id")):
        for r in table.to_dict("records"):
            extra[r[key]] = r
    rows = []
    for i, oid in enumerate(owners.ids):
        r = extra.get(oid, {})
        cap_h = owners.cap_hours[i]
        h = float(hours.get(oid, 0.0))
        rows.append(
            {
                "owner_id": oid,
                "owner_type": owners.kind[i],
                "name": roster[oid]["name"],
                "email": roster[oid]["email"],
                "crm_user_id": roster[oid]["crm_user_id"],
                "hubspot_owner_id": roster[oid]["hubspot_owner_id"],
                "location": r.get("location", ""),
                "region": r.get("region", ";".join(r.get("regions", ())) if owners.kind[i] == "pool" else ""),
                "status": r.get("status", "active"),
                "accounts": int(n.get(oid, 0)),
                "arr": float(arr.get(oid, 0.0)),
                "hours": h,
                "capacity_hours": cap_h if np.isfinite(cap_h) else None,
                "utilization": round(h / cap_h, 4) if np.isfinite(cap_h) and cap_h > 0 else None,
                "max_accounts": int(owners.cap_accounts[i]) if np.isfinite(owners.cap_accounts[i]) else pd.NA,
                "max_arr": owners.cap_arr[i] if np.isfinite(owners.cap_arr[i]) else None,
                "accounts_gained": int(gained.get(oid, 0)),
                "accounts_lost": int(lost.get(oid, 0)),
                "balance_cost": float(load_costs["balance"][i]),
                "over_cap_cost": float(load_costs["over_cap"][i]),
                **{
                    c: r[c]
                    for c in book.extra_columns.get("csms" if owners.kind[i] == "csm" else "pools", [])
                    if c in r and c not in IDENTITY  # a CSM's hubspot_owner_id is already there
                },
            }
        )
    return pd.DataFrame(rows)


def exceptions(a: pd.DataFrame) -> tuple[dict, ...]:
    """The accounts kept against today's rules (a pin, the current CSM), with why."""
    e = a[a["exception"] != ""]
    return tuple({"account_id": r.account_id, "owner_id": r.owner_id, "detail": r.exception} for r in e.itertuples())

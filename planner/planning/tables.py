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


def plan_tables(book: Book, model, choice: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """assignments.csv and owners.csv from the chosen arc of every account (-1: left unplaced)."""
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
    rule = np.where(placed, model.arc_rule[arc], "")
    reason = np.select(
        [~placed & (prev_kind != "unknown") & (prev != ""), ~placed, rule == "pin", rule == "freeze", ~changed, prev == "", prev_kind == "unknown", _leaving(book, prev)],
        ["not placed", "not in this plan (no owner today)", "pinned", "renewal freeze", "kept", "new account", "previous owner unknown", "previous owner leaving"],
        default="rebalanced",
    )
    terms = {k: np.where(placed, model.arc_terms[k][arc], 0.0) for k in TERMS}
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
            "changed": changed,
            "reason": reason,
            "exception": np.where(placed, model.arc_exception[arc], ""),
            "workload_hours": np.where(placed, model.arc_hours[arc], 0.0),
            "annual_cost": sum(terms.values()),
            **{term_column(k): v for k, v in terms.items()},
        }
    )
    own_cols = [c for c in acc.columns if c not in head.columns and c != "segment_derived"]
    assignments = pd.concat([head, acc[own_cols].reset_index(drop=True)], axis=1)
    return assignments, _owner_table(book, model, assignments)


def _roster(book: Book) -> dict[str, dict]:
    """owner id -> name, email, crm_user_id (blank for digital)."""
    out = {book.policy.digital_owner_id: {"name": "Digital program", "email": "", "crm_user_id": ""}}
    for table, key in ((book.csms, "csm_id"), (book.pools, "pool_id")):
        for r in table.to_dict("records"):
            out[r[key]] = {"name": r.get("name", ""), "email": r.get("email", ""), "crm_user_id": r.get("crm_user_id", "")}
    return out


def _leaving(book: Book, prev: np.ndarray) -> np.ndarray:
    away = set(book.csms.loc[book.csms["status"] != "active", "csm_id"])
    return np.array([p in away for p in prev])


def _owner_table(book: Book, model, assignments: pd.DataFrame) -> pd.DataFrame:
    owners = model.owners
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
                **{c: r[c] for c in book.extra_columns.get("csms" if owners.kind[i] == "csm" else "pools", []) if c in r},
            }
        )
    return pd.DataFrame(rows)


def exceptions(a: pd.DataFrame) -> tuple[dict, ...]:
    """The accounts kept against today's rules (a pin, the current CSM), with why."""
    e = a[a["exception"] != ""]
    return tuple({"account_id": r.account_id, "owner_id": r.owner_id, "detail": r.exception} for r in e.itertuples())

"""Small plan folders for tests, written exactly as planner/plan_contract.md describes.

Export, ledger and diff tests build their own plans here instead of running
the solver, so they test only their own code.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from planner.plans import compute_plan_id, summary_identity

ACCOUNT_EXTRA = ("segment", "complexity", "region", "utc_offset", "language", "health", "renewal_date",
                 "lifecycle_stage", "current_owner", "pin_owner")  # fmt: skip
COST_COLUMNS = ("annual_cost", "serving_cost", "digital_cost", "revenue_at_risk", "disruption_cost", "mismatch_cost")
OWNER_STATS = ("location", "region", "status", "accounts", "arr", "hours", "capacity_hours", "utilization",
               "max_accounts", "max_arr", "accounts_gained", "accounts_lost")  # fmt: skip


def owner(owner_id: str, owner_type: str = "csm", crm_user_id: str = "", email: str = "", **extra: str) -> dict:
    return {"owner_id": owner_id, "owner_type": owner_type, "name": owner_id.upper(), "email": email,
            "crm_user_id": crm_user_id, **extra}  # fmt: skip


def account(
    account_id: str,
    owner_id: str,
    previous_owner: str,
    crm_id: str,
    arr: float = 1000.0,
    hours: float = 1.0,
    **extra: str,
) -> dict:
    return {"account_id": account_id, "owner_id": owner_id, "previous_owner": previous_owner, "crm_id": crm_id,
            "arr": arr, "workload_hours": hours, **extra}  # fmt: skip


def _write_csv(path: Path, header: list[str], rows: list[dict]) -> None:
    """UTF-8, LF; CRLF-terminated by the writer then made LF, so a bare CR inside a cell gets quoted."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=header, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_bytes(buf.getvalue().replace("\r\n", "\n").encode("utf-8"))


def _assignment_row(acc: dict, owners: dict[str, dict]) -> dict:
    new = owners[acc["owner_id"]]
    prev = acc["previous_owner"]
    prev_type = owners[prev]["owner_type"] if prev in owners else ("unknown" if prev else "")
    changed = acc["owner_id"] != prev
    reason = "kept" if not changed else ("new account" if not prev else "lower cost")
    row = {
        "account_id": acc["account_id"], "owner_type": new["owner_type"], "owner_id": new["owner_id"],
        "owner_name": new["name"] if new["owner_type"] != "digital" else "", "owner_email": new["email"],
        "owner_crm_user_id": new["crm_user_id"], "previous_owner": prev, "previous_owner_type": prev_type,
        "changed": "true" if changed else "false", "reason": acc.get("reason", reason), "exception": "",
        "workload_hours": acc["workload_hours"], **{c: 0 for c in COST_COLUMNS}, "arr": acc["arr"],
        **{c: "" for c in ACCOUNT_EXTRA}, "crm_id": acc["crm_id"],
    }  # fmt: skip
    row["current_owner"] = prev
    row.update({k: v for k, v in acc.items() if k not in row})
    return row


def _owner_row(o: dict, assignments: list[dict]) -> dict:
    mine = [a for a in assignments if a["owner_id"] == o["owner_id"]]
    stats = {c: "" for c in OWNER_STATS}
    stats.update(
        accounts=len(mine), arr=sum(float(a["arr"]) for a in mine), hours=sum(float(a["workload_hours"]) for a in mine)
    )
    return {**o, **stats}


def write_plan(
    folder: Path, accounts: list[dict], owners: list[dict], plan_id: str | None = None, status: str = "optimal"
) -> Path:
    """Write a plan folder at `folder` and return it.

    Its plan_id is the one its identity and assignments make (as solve's), unless `plan_id` names another.
    """
    folder.mkdir(parents=True)
    by_id = {o["owner_id"]: o for o in owners}
    rows = [_assignment_row(a, by_id) for a in accounts]
    header = list(dict.fromkeys(k for r in rows for k in r))
    _write_csv(folder / "assignments.csv", header, rows)
    owner_rows = [_owner_row(o, rows) for o in owners]
    _write_csv(folder / "owners.csv", list(dict.fromkeys(k for r in owner_rows for k in r)), owner_rows)
    changed = [r for r in rows if r["changed"] == "true"]
    summary = {
        "plan_id": plan_id, "kind": "solve", "created_at": "2026-11-24T10:00:00Z", "book": "test", "as_of": "2026-11-24",
        "status": status, "objective": 123.4, "bound": 123.4, "gap": 0.0, "backend": "highs",
        "policy": {"digital": {"owner_id": "digital"}}, "policy_source": "default",
        "inputs": [{"table": "accounts", "path": "accounts.csv", "sha256": "ab" * 32, "rows": len(rows)}],
        "counts": {"accounts": len(rows), "changed": len(changed), "arr_changed": sum(float(r["arr"]) for r in changed)},
    }  # fmt: skip
    summary["identity"] = identity = summary_identity(summary, folder / "summary.json")
    summary["plan_id"] = plan_id or compute_plan_id(identity, [(r["account_id"], r["owner_id"]) for r in rows])
    (folder / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return folder


# -- a standard plan with one of every case -------------------------------------

SF_USERS = {"c1": "0055g00000Usr01", "c2": "0055g00000Usr02", "p1": "0055g00000Pool1"}


def sf_account(i: int) -> str:
    """A valid 15-character Salesforce Account id."""
    return f"0015g00000Abc{i:02d}"


def standard_owners(**overrides: dict) -> list[dict]:
    base = {
        "c1": owner("c1", "csm", SF_USERS["c1"], "c1@example.com", hubspot_owner_id="101"),
        "c2": owner("c2", "csm", SF_USERS["c2"], "c2@example.com", hubspot_owner_id="102"),
        "p1": owner("p1", "pool", SF_USERS["p1"], "pool1@example.com", hubspot_owner_id="103"),
        "digital": owner("digital", "digital"),
    }
    for owner_id, fields in overrides.items():
        base[owner_id] = {**base[owner_id], **fields}
    return list(base.values())


def standard_accounts(crm_id=sf_account) -> list[dict]:
    """A1 moves c1->c2, A2 kept, A3 new, A4 from an unknown owner to the pool, A5 to digital, A6 kept."""
    return [
        account("A1", "c2", "c1", crm_id(1), arr=5000),
        account("A2", "c1", "c1", crm_id(2), arr=3000),
        account("A3", "c2", "", crm_id(3), arr=2000),
        account("A4", "p1", "x9", crm_id(4), arr=700),
        account("A5", "digital", "c1", crm_id(5), arr=100),
        account("A6", "c2", "c2", crm_id(6), arr=4000),
    ]

"""A plan's id: a content hash of what makes the plan (its identity) and who owns what.

A plan's ``plan_id`` hashes its identity (summary.json's ``identity``: the
inputs' sha256, the policy digest, the plan date, and any further parts)
and its account -> owner pairs (:func:`compute_plan_id`, which solve and
reassign use too), so a folder's id can be recomputed from the folder
alone (:func:`check_plan_id`): a hand-edited plan cannot keep its old id.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path

from planner.plans.folder import Plan, PlanError

IDENTITY_PARTS = ("inputs", "policy", "as_of")  # what every plan's identity holds; more parts may follow


def policy_digest(policy: Mapping) -> str:
    """The sha256 of a policy as summary.json records it (the same as planner.policy.Policy.digest)."""
    return hashlib.sha256(json.dumps(policy, sort_keys=True).encode()).hexdigest()


def compute_plan_id(identity: Mapping, pairs: Iterable[tuple[str, str]]) -> str:
    """The plan_id: a hash of the plan's identity and its (account_id, owner_id) pairs in plan order.

    `identity` is summary.json's "identity": {"inputs": [sha256 per input
    table], "policy": policy digest, "as_of": "YYYY-MM-DD"}, and any further
    parts (e.g. who leaves); further parts are hashed after the pairs, so a
    plan without them keeps the id it always had.
    """
    h = hashlib.sha256()
    h.update(json.dumps(list(identity["inputs"])).encode())
    h.update(str(identity["policy"]).encode())
    h.update(str(identity["as_of"]).encode())
    h.update("\n".join(f"{a},{o}" for a, o in pairs).encode())
    extra = {k: v for k, v in identity.items() if k not in IDENTITY_PARTS}
    if extra:
        h.update(("\n" + json.dumps(extra, sort_keys=True)).encode())
    return "plan-" + h.hexdigest()[:12]


def summary_identity(summary: Mapping, where: Path) -> dict:
    """The identity summary.json records, checked against its inputs, policy and as_of (which say the same).

    A summary written before "identity" existed gets the identity those
    three fields make. `where` names summary.json in messages.
    """
    inputs, policy, as_of = summary.get("inputs"), summary.get("policy"), summary.get("as_of")
    if not isinstance(inputs, list) or not all(
        isinstance(i, dict) and isinstance(i.get("sha256"), str) for i in inputs
    ):
        raise PlanError(f'{where}: expected "inputs" to be a list of {{table, path, sha256, rows}}')
    if not isinstance(policy, dict) or not isinstance(as_of, str):
        raise PlanError(f'{where}: expected "policy" (the merged policy) and "as_of" (the plan date)')
    derived = {"inputs": [i["sha256"] for i in inputs], "policy": policy_digest(policy), "as_of": as_of}
    recorded = summary.get("identity")
    if recorded is None:
        return derived
    if not isinstance(recorded, dict) or any(k not in recorded for k in IDENTITY_PARTS):
        raise PlanError(f'{where}: expected "identity" to hold {", ".join(IDENTITY_PARTS)}')
    differ = [k for k in IDENTITY_PARTS if recorded[k] != derived[k]]
    if differ:
        raise PlanError(
            f'{where}: "identity" disagrees with the {", ".join(differ)} recorded beside it; expected summary.json '
            "unchanged since the plan was written (solve again to get a new plan)"
        )
    return dict(recorded)


def check_plan_id(plan: Plan) -> None:
    """Raise PlanError unless the plan's id, recomputed from its folder, is the one summary.json states."""
    identity = summary_identity(plan.summary, plan.path / "summary.json")
    recomputed = compute_plan_id(identity, ((r["account_id"], r["owner_id"]) for r in plan.assignments))
    if recomputed != plan.plan_id:
        raise PlanError(
            f"{plan.path}: summary.json says {plan.plan_id}, but its assignments.csv and identity make {recomputed}: the "
            "plan was changed after it was written. Expected an unchanged plan folder: a plan is approved and exported "
            "only under its own id, so change the book or the policy and solve again instead"
        )

"""The plan's lifecycle after it is made: its folder, its id, re-checks, diffs, and the ledger.

    folder.py    read and check a plan folder (load_plan)
    identity.py  the plan_id, recomputable from the folder (compute_plan_id, check_plan_id)
    recheck.py   the independent evaluator run again against the plan's book (recheck_plan)
    diff.py      what changes from one plan to another (diff_plans)
    ledger.py    the SQLite ledger: draft -> approved -> exported -> applied / rolled back

Everything here but the ledger and the re-check reads with the standard
library only, so `planner plans diff` starts in a fraction of a second.
"""

from planner.plans.diff import PlanDiff, diff_plans
from planner.plans.folder import BookUnavailableError, Plan, PlanError, load_plan, read_summary_and_hashes
from planner.plans.identity import check_plan_id, compute_plan_id, summary_identity
from planner.plans.recheck import recheck_plan

__all__ = [
    "BookUnavailableError",
    "Plan",
    "PlanDiff",
    "PlanError",
    "check_plan_id",
    "compute_plan_id",
    "diff_plans",
    "load_plan",
    "read_summary_and_hashes",
    "recheck_plan",
    "summary_identity",
]

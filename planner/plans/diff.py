"""What changes when one plan replaces another: moved accounts, ARR moved, per-owner load deltas."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

from planner.plans.folder import Plan, load_plan


@dataclass(frozen=True)
class Move:
    """An account whose owner differs between the two plans (ARR as plan B has it)."""

    account_id: str
    arr: float
    from_owner: str
    to_owner: str


@dataclass(frozen=True)
class OwnerDelta:
    """One owner's load in plan A and plan B."""

    owner_id: str
    owner_type: str
    name: str
    accounts_a: int
    accounts_b: int
    arr_a: float
    arr_b: float
    hours_a: float
    hours_b: float

    @property
    def accounts_delta(self) -> int:
        return self.accounts_b - self.accounts_a

    @property
    def arr_delta(self) -> float:
        return self.arr_b - self.arr_a

    @property
    def hours_delta(self) -> float:
        return self.hours_b - self.hours_a


@dataclass(frozen=True)
class PlanDiff:
    plan_a: str
    plan_b: str
    moved: tuple[Move, ...]  # in plan B's account order
    arr_moved: float
    only_in_a: tuple[str, ...]  # account ids plan B does not have
    only_in_b: tuple[str, ...]
    owners: tuple[OwnerDelta, ...]  # owners whose load changed, by owner_id

    def as_dict(self) -> dict:
        """Plain data (for --json output), deltas included."""
        out = asdict(self)
        for row, delta in zip(out["owners"], self.owners, strict=True):
            row.update(accounts_delta=delta.accounts_delta, arr_delta=delta.arr_delta, hours_delta=delta.hours_delta)
        return out


def _loads(plan: Plan) -> dict[str, tuple[int, float, float]]:
    """owner_id -> (accounts, ARR, hours) summed over the plan's assignments."""
    loads: dict[str, tuple[int, float, float]] = {}
    for row in plan.assignments:
        n, arr, hours = loads.get(row["owner_id"], (0, 0.0, 0.0))
        loads[row["owner_id"]] = (n + 1, arr + float(row["arr"]), hours + float(row["workload_hours"]))
    return loads


def _load_changed(a: tuple[int, float, float], b: tuple[int, float, float]) -> bool:
    """True when accounts differ, or ARR / hours differ by more than float summation noise."""
    return a[0] != b[0] or not math.isclose(a[1], b[1], abs_tol=1e-6) or not math.isclose(a[2], b[2], abs_tol=1e-6)


def _owner_label(owner_id: str, a: Plan, b: Plan) -> tuple[str, str]:
    row = b.owners.get(owner_id) or a.owners.get(owner_id) or {}
    return row.get("owner_type", ""), row.get("name", "")


def diff_plans(plan_a_dir: str | Path, plan_b_dir: str | Path) -> PlanDiff:
    """What changes when plan B replaces plan A: moved accounts, ARR moved, per-owner load deltas.

    Loads are summed from the assignments (not read from owners.csv) so the
    deltas always add up to the moves shown; hours are each plan's own
    workload estimate, which depends on the owner (pools work faster).
    """
    a, b = load_plan(plan_a_dir), load_plan(plan_b_dir)
    owner_in_a = {row["account_id"]: row["owner_id"] for row in a.assignments}
    ids_b = {row["account_id"] for row in b.assignments}
    moved = tuple(
        Move(row["account_id"], float(row["arr"]), owner_in_a[row["account_id"]], row["owner_id"])
        for row in b.assignments
        if row["account_id"] in owner_in_a and owner_in_a[row["account_id"]] != row["owner_id"]
    )
    loads_a, loads_b = _loads(a), _loads(b)
    owners = []
    for owner_id in sorted(loads_a.keys() | loads_b.keys()):
        la, lb = loads_a.get(owner_id, (0, 0.0, 0.0)), loads_b.get(owner_id, (0, 0.0, 0.0))
        if _load_changed(la, lb):
            owners.append(OwnerDelta(owner_id, *_owner_label(owner_id, a, b), la[0], lb[0], la[1], lb[1], la[2], lb[2]))
    return PlanDiff(
        plan_a=a.plan_id,
        plan_b=b.plan_id,
        moved=moved,
        arr_moved=sum(m.arr for m in moved),
        only_in_a=tuple(row["account_id"] for row in a.assignments if row["account_id"] not in ids_b),
        only_in_b=tuple(row["account_id"] for row in b.assignments if row["account_id"] not in owner_in_a),
        owners=tuple(owners),
    )

"""Reading plan folders, and comparing two plans.

A plan folder is the output contract of ``planner solve`` (see
``planner/plan_contract.md``). Export and ``plans diff`` read it as text,
exactly as written -- ids are never parsed as numbers, so ``00123`` stays
``00123`` -- and check the few facts they rely on up front, so a damaged or
hand-edited plan fails with a clear message instead of producing a wrong
CRM load.

A plan's ``plan_id`` is a content hash of its identity (summary.json's
``identity``: the inputs' sha256, the policy digest, the plan date) and its
account -> owner pairs (:func:`compute_plan_id`, which solve and reassign use
too), so a folder's id can be recomputed from the folder alone
(:func:`check_plan_id`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Mapping

from planner.errors import PlannerError

PLAN_FILES = ("assignments.csv", "owners.csv", "summary.json")
# What an approval covers: who owns what. summary.json is left out -- it holds
# the run's timestamp and timings, which differ between two solves of the same
# plan (same plan_id), and nothing in it is exported.
CONTENT_FILES = ("assignments.csv", "owners.csv")
ASSIGNMENT_COLUMNS = (
    "account_id", "owner_type", "owner_id", "previous_owner", "previous_owner_type",
    "changed", "reason", "workload_hours", "arr", "crm_id",
)  # fmt: skip
OWNER_COLUMNS = ("owner_id", "owner_type", "name", "email", "crm_user_id")


class PlanError(PlannerError, ValueError):
    """A plan folder that cannot be used; the message says where and what was expected."""


@dataclass(frozen=True)
class Plan:
    """A plan folder as read: rows are dicts of text, in the file's order."""

    path: Path
    summary: Mapping
    assignments: tuple[Mapping[str, str], ...]
    owners: Mapping[str, Mapping[str, str]]  # owner_id -> owners.csv row
    file_sha256: Mapping[str, str]  # CONTENT_FILES name -> sha256 of its bytes

    @property
    def plan_id(self) -> str:
        return self.summary["plan_id"]


def _parse_summary(path: Path, data: bytes) -> dict:
    try:
        summary = json.loads(data.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PlanError(f"{path}: expected valid JSON: {exc}") from None
    plan_id = summary.get("plan_id") if isinstance(summary, dict) else None
    if not isinstance(plan_id, str) or not plan_id:
        raise PlanError(f"{path}: expected a non-empty \"plan_id\"")
    return summary


def _read_plan_files(plan_dir: Path) -> dict[str, bytes]:
    """The plan files' bytes, read once: what is hashed is exactly what is parsed."""
    if not plan_dir.is_dir():
        raise PlanError(f"{plan_dir}: expected a plan folder (written by planner solve), but it is not a folder")
    data = {}
    for name in PLAN_FILES:
        try:
            data[name] = (plan_dir / name).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise PlanError(f"{plan_dir}: expected a plan folder with {', '.join(PLAN_FILES)}; {name} is missing") from None
    return data


def _content_hashes(data: Mapping[str, bytes]) -> dict[str, str]:
    return {name: hashlib.sha256(data[name]).hexdigest() for name in CONTENT_FILES}


def read_summary_and_hashes(plan_dir: str | Path) -> tuple[dict, dict[str, str]]:
    """summary.json and the sha256 of the content files, from one read (for the ledger)."""
    plan_dir = Path(plan_dir)
    data = _read_plan_files(plan_dir)
    return _parse_summary(plan_dir / "summary.json", data["summary.json"]), _content_hashes(data)


def _parse_csv(path: Path, data: bytes, required: tuple[str, ...]) -> list[dict[str, str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PlanError(f"{path}: expected UTF-8 text: {exc}") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = [c for c in required if c not in (reader.fieldnames or ())]
    if missing:
        raise PlanError(f"{path}: expected columns {list(required)}; missing {missing}")
    return list(reader)


def _check_number(path: Path, line: int, column: str, text: str) -> None:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise PlanError(f"{path}, row {line}, column {column!r}: expected a number, got {text!r}")


def _check_assignments(path: Path, rows: list[dict[str, str]], owners: Mapping[str, Mapping[str, str]]) -> None:
    """The facts export relies on: unique ids, known owners, and `changed` agreeing with the owners."""
    seen: dict[str, int] = {}
    for line, row in enumerate(rows, start=2):
        account = row["account_id"]
        if not account:
            raise PlanError(f"{path}, row {line}: expected an account_id, got a blank")
        if account in seen:
            raise PlanError(f"{path}, row {line}: account_id {account!r} repeats row {seen[account]}; expected one row per account")
        seen[account] = line
        if row["owner_id"] not in owners:
            raise PlanError(f"{path}, row {line}: owner_id {row['owner_id']!r} is not in owners.csv; expected every owner listed there")
        if row["changed"] not in ("true", "false"):
            raise PlanError(f"{path}, row {line}, column 'changed': expected true or false, got {row['changed']!r}")
        if (row["changed"] == "true") != (row["owner_id"] != row["previous_owner"]):
            raise PlanError(
                f"{path}, row {line}: changed={row['changed']} disagrees with owner_id {row['owner_id']!r} "
                f"and previous_owner {row['previous_owner']!r}; expected changed=true exactly when they differ"
            )
        for column in ("arr", "workload_hours"):
            _check_number(path, line, column, row[column])


def load_plan(plan_dir: str | Path) -> Plan:
    """Read and check a plan folder (raises PlanError saying what is wrong)."""
    plan_dir = Path(plan_dir)
    data = _read_plan_files(plan_dir)
    summary = _parse_summary(plan_dir / "summary.json", data["summary.json"])
    owners: dict[str, dict[str, str]] = {}
    for line, row in enumerate(_parse_csv(plan_dir / "owners.csv", data["owners.csv"], OWNER_COLUMNS), start=2):
        if row["owner_id"] in owners:
            raise PlanError(f"{plan_dir / 'owners.csv'}, row {line}: owner_id {row['owner_id']!r} repeats; expected one row per owner")
        owners[row["owner_id"]] = row
    assignments = _parse_csv(plan_dir / "assignments.csv", data["assignments.csv"], ASSIGNMENT_COLUMNS)
    _check_assignments(plan_dir / "assignments.csv", assignments, owners)
    return Plan(plan_dir, summary, tuple(assignments), owners, _content_hashes(data))


# -- identity: the plan_id recomputed from the folder ---------------------------

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
    if not isinstance(inputs, list) or not all(isinstance(i, dict) and isinstance(i.get("sha256"), str) for i in inputs):
        raise PlanError(f"{where}: expected \"inputs\" to be a list of {{table, path, sha256, rows}}")
    if not isinstance(policy, dict) or not isinstance(as_of, str):
        raise PlanError(f"{where}: expected \"policy\" (the merged policy) and \"as_of\" (the plan date)")
    derived = {"inputs": [i["sha256"] for i in inputs], "policy": policy_digest(policy), "as_of": as_of}
    recorded = summary.get("identity")
    if recorded is None:
        return derived
    if not isinstance(recorded, dict) or any(k not in recorded for k in IDENTITY_PARTS):
        raise PlanError(f"{where}: expected \"identity\" to hold {', '.join(IDENTITY_PARTS)}")
    differ = [k for k in IDENTITY_PARTS if recorded[k] != derived[k]]
    if differ:
        raise PlanError(
            f"{where}: \"identity\" disagrees with the {', '.join(differ)} recorded beside it; expected summary.json "
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


# -- diff --------------------------------------------------------------------


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

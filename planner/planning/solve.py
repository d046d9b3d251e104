"""Book -> solve() -> Result: the coverage pipeline.

Build the coverage model (models/coverage.py), solve it with one backend,
turn the chosen arcs into the plan tables, and check the plan with the
independent evaluator. An infeasible book comes back with a diagnosis in
words instead of a plan.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from planner.backends.base import SolveOptions, Status
from planner.book import Book


@dataclass(frozen=True)
class Result:
    """A plan (or the reasons there is none) and the proof of how good it is."""

    book: Book
    status: Status
    assignments: pd.DataFrame | None  # PLAN/assignments.csv
    owners: pd.DataFrame | None  # PLAN/owners.csv
    summary: dict  # PLAN/summary.json
    diagnosis: tuple[str, ...] = ()  # why there is no plan, in words
    model: object = field(default=None, repr=False, compare=False)
    extra_tables: dict = field(default_factory=dict)  # file name -> DataFrame (e.g. handoffs.csv)

    @property
    def plan_id(self) -> str:
        return self.summary["plan_id"]

    @property
    def objective(self) -> float | None:
        return self.summary.get("objective")

    def plan(self) -> dict[str, str]:
        """account_id -> owner_id."""
        if self.assignments is None:
            return {}
        return dict(zip(self.assignments["account_id"], self.assignments["owner_id"], strict=True))

    def write(self, out, force: bool = False):
        from planner.io.plan_writer import write_plan

        return write_plan(self, out, force=force)


def solve(
    book: Book,
    backend: str = "highs",
    *,
    time_limit: float | None = None,
    gap: float = 1e-4,
    threads: int = 1,
    seed: int = 0,
    warm_start: bool = True,
    baseline: bool = True,
    verbose: bool = False,
    pulp_solver: str | None = None,
    load_s: float = 0.0,
) -> Result:
    """Solve the coverage model of `book` and return the plan with its proof."""
    from planner import backends
    from planner.models.coverage import build_coverage

    options = SolveOptions(
        time_limit=time_limit,
        gap=gap,
        threads=threads,
        seed=seed,
        verbose=verbose,
        warm_start=warm_start,
        extra={"pulp_solver": pulp_solver} if pulp_solver else {},
    )
    t0 = time.perf_counter()
    model = build_coverage(book)
    model_s = time.perf_counter() - t0
    problem = model.problem
    base = None  # the greedy baseline, run at most once
    if len(problem.items_without_arcs()):
        sol = None
        status = Status.INFEASIBLE
    else:
        sol = backends.solve(problem, backend, options)
        if sol.status == Status.NO_SOLUTION and backend != "greedy":
            base = backends.solve(problem, "greedy", options)
            sol = _fall_back_to_greedy(sol, base, options.time_limit)
        status = sol.status
    summary = _summary_head(book, backend, options, _timings(load_s, model_s, sol))
    summary["status"] = status.value
    summary["model"] = {"accounts": problem.n_items, "owners": problem.n_agents, "arcs": problem.n_arcs}
    if not status.has_plan:
        from planner.planning.diagnose import diagnose

        if status == Status.INFEASIBLE:
            reasons = tuple(diagnose(book, model))
        else:  # no plan found, none proven impossible: what the solver said, then what the checks can tell
            reasons = (sol.message or "the solver stopped without a plan", *diagnose(book, model, proven=False))
        summary.update(plan_id=None, objective=None, bound=None, gap=None, diagnosis=list(reasons))
        return Result(book, status, None, None, summary, reasons, model)

    assignments, owners = plan_tables(book, model, sol.choice)
    check = _evaluate(book, assignments, sol.objective)
    summary.update(
        plan_id=plan_id(book, assignments),
        objective=_round(sol.objective),
        objective_terms={k: _round(float(assignments[_term_col(k)].sum())) for k in _TERMS},
        bound=_round(sol.bound),
        gap=sol.gap,
        counts=_counts(assignments),
        exceptions=_exceptions(assignments),
        evaluation=check,
    )
    if sol.message:
        summary["solver_message"] = sol.message
    if baseline and backend != "greedy":
        base = base or backends.solve(problem, "greedy", options)
        complete = bool((base.choice >= 0).all())
        summary["baseline"] = {
            "backend": "greedy",
            "status": base.status.value,
            # A greedy plan that breaks caps still has a cost; broken_caps says how unusable it is.
            "objective": _round(problem.objective(base.choice)) if complete else None,
            "broken_caps": len(problem.violations(base.choice)) if complete else None,
            "message": base.message,
        }
    return Result(book, status, assignments, owners, summary, (), model)


def _fall_back_to_greedy(sol, base, time_limit: float | None = None):
    """The solver stopped without a plan: never hand back less than today's rule-based plan.

    The greedy plan `base`, when it breaks no rule, is returned instead, and
    the message says what stopped the solver. Stopped by the time limit
    (one was set, and the solver used it up or says so): a time-limited plan
    with the solver's bound, if any. Stopped for any other reason (a solver
    error, numbers it cannot carry): the greedy plan as greedy reports it,
    feasible with no bound, since a bound from a failed run proves nothing.
    Otherwise the solver's answer stands.
    """
    from dataclasses import replace

    if not base.status.has_plan:
        return sol
    said = f" ({sol.message})" if sol.message else ""
    if _stopped_by_time(sol, time_limit):
        status, bound = Status.TIME_LIMITED, sol.bound
        message = f"{sol.backend} found no plan within the time limit of {time_limit:g} s{said}; this is the greedy baseline's plan"
    else:
        status, bound = base.status, None
        message = f"{sol.backend} stopped without a plan{said}; this is the greedy baseline's plan, with no bound"
    return replace(
        base,
        status=status,
        bound=bound,
        backend=sol.backend,
        build_s=sol.build_s,
        solve_s=sol.solve_s + base.solve_s,
        message=message,
    )


def _stopped_by_time(sol, time_limit: float | None) -> bool:
    """A time limit was set and the solver used (nearly) all of it or says it reached it."""
    if time_limit is None:
        return False
    return sol.build_s + sol.solve_s >= 0.9 * time_limit or "time limit" in (sol.message or "").lower()


_TERMS = ("serving", "digital", "revenue_at_risk", "disruption", "mismatch")


def _term_col(term: str) -> str:
    return term if term == "revenue_at_risk" else f"{term}_cost"


def _round(v: float | None, nd: int = 4) -> float | None:
    return None if v is None else round(float(v), nd)


def _timings(load_s: float, model_s: float, sol) -> dict:
    """summary.json's timings: loading, building (our model and the backend's), solving; sol may be None."""
    return {
        "load_s": round(load_s, 4),
        "build_s": round(model_s + (sol.build_s if sol else 0.0), 4),
        "solve_s": round(sol.solve_s if sol else 0.0, 4),
    }


def _summary_head(book: Book, backend: str, options: SolveOptions, timings: dict) -> dict:
    return {
        "plan_id": None,
        "kind": "solve",
        "created_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "book": book.name,
        "as_of": book.as_of.isoformat(),
        "status": None,
        "backend": backend,
        "options": {
            "time_limit": options.time_limit,
            "gap": options.gap,
            "threads": options.threads,
            "seed": options.seed,
            "warm_start": options.warm_start,
            **options.extra,
        },
        "timings": timings,
        "policy_source": book.policy.source,
        "policy": book.policy.as_dict(),
        "inputs": [{"table": s.table, "path": s.path, "sha256": s.sha256, "rows": s.rows} for s in book.sources],
        "identity": plan_identity(book),  # with the assignments, what plan_id hashes
        "warnings": [str(w) for w in book.warnings],
    }


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
    terms = {k: np.where(placed, model.arc_terms[k][arc], 0.0) for k in _TERMS}
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
            **{_term_col(k): v for k, v in terms.items()},
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


def _evaluate(book: Book, assignments: pd.DataFrame, solver_objective: float) -> dict:
    """The independent evaluator's verdict on the plan, for summary.json."""
    from planner.planning.evaluate import evaluate

    ev = evaluate(book, dict(zip(assignments["account_id"], assignments["owner_id"], strict=True)))
    diff = abs(ev.objective - solver_objective)
    return {
        "objective": _round(ev.objective),
        "agrees_with_solver": bool(diff <= 1e-6 * max(1.0, abs(ev.objective))),
        "violations": [str(v) for v in ev.violations],
    }


def _counts(a: pd.DataFrame) -> dict:
    had = a["previous_owner"] != ""
    moved = a["changed"] & had
    return {
        "accounts": int(len(a)),
        "arr": float(a["arr"].sum()),
        "moved": int(moved.sum()),
        "new_accounts": int((~had).sum()),
        "arr_moved": float(a.loc[moved, "arr"].sum()),
        "by_owner_type": {k: int(v) for k, v in a["owner_type"].value_counts().sort_index().items()},
        "by_reason": {k: int(v) for k, v in a["reason"].value_counts().sort_index().items()},
    }


def _exceptions(a: pd.DataFrame) -> list[dict]:
    e = a[a["exception"] != ""]
    return [{"account_id": r.account_id, "owner_id": r.owner_id, "detail": r.exception} for r in e.itertuples()]


def plan_identity(book: Book) -> dict:
    """What, besides who owns what, makes a plan this plan: summary.json's "identity" (see planner.plans.compute_plan_id)."""
    return {"inputs": [s.sha256 for s in book.sources], "policy": book.policy.digest(), "as_of": book.as_of.isoformat()}


def plan_id(book: Book, assignments: pd.DataFrame, identity: dict | None = None) -> str:
    """Content hash: same inputs, policy, date and plan -> same id; recomputable from the plan folder alone.

    `identity` is what summary.json records as "identity" (default: plan_identity(book)); a
    caller with more parts to the plan's identity passes them, and records the same dict.
    """
    from planner.plans import compute_plan_id

    pairs = zip(assignments["account_id"], assignments["owner_id"], strict=True)
    return compute_plan_id(plan_identity(book) if identity is None else identity, pairs)

#!/usr/bin/env python
"""Scale benchmark: generate a synthetic book, plan it as `planner solve` does, print one JSON object.

    python scripts/bench_scale.py --accounts 10000 [--csms 200] [--pools N] [--seed 5] [--gap 0.005]
                                  [--time-limit 120] [--threads 1] [--backend highs] [--no-pulp-build]
                                  [--compare BEFORE.json]

The book is `planner generate --accounts A --csms C --seed S` (pools: its
default unless --pools) dated 2026-11-01; it is planned through the same
pipeline and clock as `planner solve` with its defaults (--gap 0.005,
--time-limit 120 for the whole run, one thread, the greedy baseline), so
total_s is that command's time after Python's start-up, reading the book included.

Fields: accounts, csms, pools, arcs, backend, threads, load_s, build_s,
solve_s, total_s (load + build + solve + the work after it: tables,
evaluator, baselines), status, gap, objective, bound, solver_message;
utilization_min / _median / _max (active CSMs' hours / capacity), moved
(accounts that change owner), moved_arr, new_accounts; today_cost (today's
owners priced by the same model: what the plan is compared with) and
today_broken_rules; greedy_objective, greedy_broken_caps, greedy_saving;
peak_rss_mb (this process), peak_child_rss_mb (the largest child: the fenced
full MIP); pulp_build_s (the same model built expression by expression in
PuLP, the textbook way) and build_speedup = pulp_build_s / build_s.

--compare BEFORE.json (a line this script printed earlier, e.g. on main)
also prints, on stderr, both runs side by side: each numeric field, before,
now and now / before. stdout stays the one JSON object.

Goals (issue 12, 2 cores): 10k accounts / 200 CSMs to a proven gap <= 0.5%
in under 30 s in all; 50k accounts in under 3 minutes; our build at least
10x faster than PuLP's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

AS_OF = dt.date(2026, 11, 1)


def pulp_textbook_build(problem) -> float:
    """Seconds to build the coverage model in PuLP one expression at a time."""
    import numpy as np
    import pulp

    p = problem
    t0 = time.perf_counter()
    prob = pulp.LpProblem("coverage", pulp.LpMinimize)
    x = [pulp.LpVariable(f"x_{e}", cat="Binary") for e in range(p.n_arcs)]
    prob += pulp.lpSum(float(p.arc_cost[e]) * x[e] for e in range(p.n_arcs))
    by_item: dict[int, list[int]] = {}
    by_agent: dict[int, list[int]] = {}
    for e in range(p.n_arcs):
        by_item.setdefault(int(p.arc_item[e]), []).append(e)
        by_agent.setdefault(int(p.arc_agent[e]), []).append(e)
    for i, arcs in by_item.items():
        prob += pulp.lpSum(x[e] for e in arcs) == 1, f"assign_{i}"
    for r in p.resources:
        for k, arcs in by_agent.items():
            if np.isfinite(r.capacity[k]):
                prob += pulp.lpSum(float(r.weight[e]) * x[e] for e in arcs) <= float(r.capacity[k]), f"{r.name}_{k}"
    return time.perf_counter() - t0


def _r(value, nd: int = 2):
    return None if value is None else round(float(value), nd)


def figures(result, total_s: float) -> dict:
    """The benchmark's fields from a PlanResult (planner/planning/result.py)."""
    t = result.timings
    out = {
        "arcs": result.model_size.get("arcs"),
        "load_s": _r(t.load_s, 3),
        "build_s": _r(t.build_s, 3),
        "solve_s": _r(t.solve_s, 3),
        "total_s": _r(total_s, 3),
        "status": result.status.value,
        "gap": _r(result.gap, 6),
        "objective": _r(result.objective),
        "bound": _r(result.bound),
        "solver_message": result.solver_message,
    }
    if result.has_plan:
        u = result.scorecard.kpis["utilization"]
        c = result.counts
        out |= {"utilization_min": _r(u["min"], 4), "utilization_median": _r(u["median"], 4),
                "utilization_max": _r(u["max"], 4), "moved": c.moved, "moved_arr": _r(c.arr_moved),
                "new_accounts": c.new_accounts}  # fmt: skip
    if result.today is not None:
        out["today_cost"] = _r(result.today.objective)
        out["today_broken_rules"] = len(result.today.violations)
    b = result.baseline
    if b is not None:
        out["greedy_objective"] = _r(b.objective)
        out["greedy_broken_caps"] = b.broken_caps
        if b.objective and result.objective:
            out["greedy_saving"] = round(1 - result.objective / b.objective, 4)
    return out


def side_by_side(before: dict, now: dict) -> str:
    """Both runs' numeric fields, one line each: name, before, now, now / before."""
    lines = [f"{'field':<22} {'before':>16} {'now':>16} {'now/before':>10}"]
    for key, value in now.items():
        old = before.get(key)
        if (
            key in ("accounts", "csms", "pools", "threads")
            or not isinstance(value, (int, float))
            or isinstance(value, bool)
        ):
            if isinstance(value, str) and old != value:
                lines.append(f"{key:<22} {old!s:>16} {value:>16}")
            continue
        ratio = f"{value / old:.3f}" if isinstance(old, (int, float)) and old else "-"
        lines.append(f"{key:<22} {'-' if old is None else f'{old:,.6g}':>16} {f'{value:,.6g}':>16} {ratio:>10}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, required=True)
    ap.add_argument("--csms", type=int, default=None, help="default: accounts / 50")
    ap.add_argument("--pools", type=int, default=None, help="default: planner generate's (scales with the book)")
    ap.add_argument("--seed", type=int, default=5, help="the book's and the solver's seed")
    ap.add_argument("--backend", default="highs")
    ap.add_argument("--gap", type=float, default=0.005)
    ap.add_argument("--time-limit", type=float, default=120.0, help="seconds for the whole run, as planner solve")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-pulp-build", action="store_true", help="skip the PuLP build comparison")
    ap.add_argument("--compare", type=Path, default=None, help="a JSON line printed earlier: show both side by side")
    args = ap.parse_args(argv)
    csms = args.csms or max(1, args.accounts // 50)

    from planner.generate import generate_book, write_book
    from planner.io import load_book
    from planner.planning.solve import solve

    with tempfile.TemporaryDirectory() as tmp:
        tables = generate_book(args.accounts, csms, pools=args.pools, seed=args.seed, as_of=AS_OF)
        write_book(tables, Path(tmp) / "book")
        started = time.perf_counter()
        book = load_book(Path(tmp) / "book", as_of=AS_OF)
        load_s = time.perf_counter() - started
    result = solve(book, args.backend, time_limit=args.time_limit, gap=args.gap, threads=args.threads, seed=args.seed,
                   load_s=load_s, started=started)  # fmt: skip
    total_s = time.perf_counter() - started
    out = {"accounts": args.accounts, "csms": csms, "pools": len(tables["pools"]), "backend": args.backend,
           "threads": args.threads, **figures(result, total_s)}  # fmt: skip
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    # The fenced full MIP runs in a child process (planner/backends/fence.py): its peak is counted here.
    out["peak_child_rss_mb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
    if not args.no_pulp_build and result.model is not None:
        build_s = out["build_s"]
        out["pulp_build_s"] = round(pulp_textbook_build(result.model.problem), 3)
        out["build_speedup"] = round(out["pulp_build_s"] / max(build_s, 1e-9), 1)
    print(json.dumps(out), flush=True)
    if args.compare is not None:
        # The last JSON line: a file saved with 2>&1 also holds an earlier side-by-side table.
        lines = [line for line in args.compare.read_text().splitlines() if line.lstrip().startswith("{")]
        if not lines:
            print(f"error: {args.compare} holds no JSON line printed by this script", file=sys.stderr)
            return 2
        before = json.loads(lines[-1])
        print(side_by_side(before, out), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

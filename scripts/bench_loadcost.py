#!/usr/bin/env python
"""Load-cost benchmark: the coverage model of a synthetic book, solved without and with an hours LoadCost.

    python scripts/bench_loadcost.py [--accounts 10000] [--csms 200] [--pools 5] [--seed 1]
                                     [--time-limit 60] [--gap 0.005] [--threads 1] [--mode both|none|load]

The LoadCost (issue 12's workload band) is added to every active CSM's hours, cap = its hard hours cap:
floor 0.7·cap at $100/h·12 per idle hour; above the ceiling 0.9·cap, the first 0.05·cap at $200/h·12,
the rest (up to the hard cap) at $800/h·12. Prints one JSON line per mode: time, status, gap, objective,
bound and the load-cost part of the objective. Goal (issue 12): 10k accounts to a proven 0.5% in under 30 s.
``--salaried`` also takes the CSMs' serving cost (their hours at their rate) out of the arc costs, as issue 12
will (salaries are paid whatever the plan does), so that the load cost is what balances their work.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path


def hours_band(model):
    """The benchmark's LoadCost on "hours" for the CSMs of a coverage model (None for other agents)."""
    import numpy as np

    from planner.models.core import LoadCost

    p = model.problem
    hours = next(r for r in p.resources if r.name == "hours")
    csm = (model.owners.kind == "csm") & model.owners.active & np.isfinite(hours.capacity)
    cap = np.where(csm, hours.capacity, 0.0)
    return LoadCost(
        "hours",
        floor=0.7 * cap,
        under_price=np.where(csm, 100.0 * 12, 0.0),
        ceiling=np.where(csm, 0.9 * cap, np.inf),
        steps=(
            (0.05 * cap, np.full(p.n_agents, 200.0 * 12)),
            (np.full(p.n_agents, np.inf), np.full(p.n_agents, 800.0 * 12)),
        ),
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=10000)
    ap.add_argument("--csms", type=int, default=200)
    ap.add_argument("--pools", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--gap", type=float, default=0.005)
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--mode", choices=("both", "none", "load"), default="both")
    ap.add_argument("--salaried", action="store_true", help="no serving cost on CSM arcs (issue 12's economics)")
    args = ap.parse_args(argv)

    from planner import backends
    from planner.backends.base import SolveOptions
    from planner.generate import generate_book, write_book
    from planner.io import load_book
    from planner.models.coverage import build_coverage

    as_of = dt.date(2026, 11, 1)
    with tempfile.TemporaryDirectory() as tmp:
        write_book(
            generate_book(args.accounts, args.csms, pools=args.pools, seed=args.seed, as_of=as_of), Path(tmp) / "book"
        )
        t0 = time.perf_counter()
        book = load_book(Path(tmp) / "book", as_of=as_of)
        load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    model = build_coverage(book)
    model_s = time.perf_counter() - t0
    base = model.problem
    if args.salaried:
        import numpy as np

        on_csm = model.owners.kind[base.arc_agent] == "csm"
        base = replace(base, arc_cost=base.arc_cost - np.where(on_csm, model.arc_terms["serving"], 0.0))
    options = SolveOptions(time_limit=args.time_limit, gap=args.gap, threads=args.threads, seed=args.seed)
    for mode in ("none", "load") if args.mode == "both" else (args.mode,):
        problem = base if mode == "none" else replace(base, load_costs=(hours_band(model),))
        t0 = time.perf_counter()
        sol = backends.solve(problem, "highs", options)
        wall = time.perf_counter() - t0
        load_part = None
        if sol.status.has_plan and getattr(problem, "load_costs", ()):
            load_part = round(float(problem.load_cost(sol.choice).sum()), 2)
        print(json.dumps({
            "mode": mode, "salaried": args.salaried, "accounts": args.accounts, "csms": args.csms, "arcs": problem.n_arcs,
            "load_s": round(load_s, 2), "model_s": round(model_s, 2), "solve_wall_s": round(wall, 2),
            "total_s": round(load_s + model_s + wall, 2), "status": sol.status.value,
            "gap": None if sol.gap is None else round(sol.gap, 6),
            "objective": None if sol.objective is None else round(sol.objective, 2),
            "bound": None if sol.bound is None else round(sol.bound, 2),
            "load_cost": load_part, "message": sol.message,
        }), flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())

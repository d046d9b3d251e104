#!/usr/bin/env python
"""Benchmark a backend on OR-Library GAP instances against known optima and plain PuLP.

    bench_gap.py [INSTANCE ...] [--time-limit S] [--backend B] [--sense min|max]
                 [--threads N] [--gap-dir DIR] [--no-pulp]

INSTANCE is a file name (``gap1-0``, ``c10100``, ``d20200``) or a family:
``a``, ``b``, ``c``, ``d``, ``e`` (every instance of that type) or ``gap``
(gap1-0 ... gap12-4). Default: families a, b, c and gap. ``--sense max`` is
only defined for the gapN-k instances (types A-E are minimisation problems).

Prints one JSON object per instance and line, then a summary line. Next to
the backend, unless ``--no-pulp``, the same instance is solved by a textbook
PuLP model (LpVariable.dicts + lpSum, as most tutorials write it) with CBC,
the same time limit and threads: the baseline this project is measured
against. Both solve to proven optimality (gap 0) unless stopped by time.

``seconds`` is the backend's build + solve time (from the parsed instance);
``pulp_seconds`` is PuLP's model building + CBC run, measured the same way.
The summary counts instances whose objective reached the known value, and
those where ``seconds < pulp_seconds``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import warnings
from pathlib import Path

from planner.backends import BACKENDS, get
from planner.backends.base import SolveOptions, Status
from planner.models.gap import GapData, KnownValue, in_sense, load_optima, parse_gap_data, to_problem

DEFAULT_GAP_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "benchmarks" / "gap"
DEFAULT_FAMILIES = ("a", "b", "c", "gap")
_FAMILY = re.compile(r"^(?:[a-e]|gap)$")
_ABCDE = re.compile(r"^([a-e])(\d\d)(\d+)$")
_ORLIB = re.compile(r"^gap(\d+)-(\d+)$")


def instance_key(name: str) -> tuple:
    """Natural order: gap1-0 < gap2-0 < gap10-0; a05100 < a05200 < a10100."""
    if m := _ORLIB.match(name):
        return (0, "gap", int(m[1]), int(m[2]))
    if m := _ABCDE.match(name):
        return (1, m[1], int(m[2]), int(m[3]))
    return (2, name, 0, 0)


def resolve_instances(names: list[str], gap_dir: Path, sense: str) -> list[str]:
    """Expand families, check files exist and that --sense max is only used on gapN-k."""
    files = sorted(
        (p.name for p in gap_dir.iterdir() if _ORLIB.match(p.name) or _ABCDE.match(p.name)), key=instance_key
    )
    wanted = names or (["gap"] if sense == "max" else list(DEFAULT_FAMILIES))
    out: list[str] = []
    for name in wanted:
        if _FAMILY.match(name):
            family = [f for f in files if (f.startswith("gap") if name == "gap" else _ABCDE.match(f) and f[0] == name)]
            if not family:
                raise SystemExit(f"Expected instances of family {name!r} in {gap_dir}, found none")
            out += family
        elif name in files:
            out.append(name)
        else:
            raise SystemExit(f"Expected an instance file or a family (a, b, c, d, e, gap) in {gap_dir}, got {name!r}")
    if sense == "max" and (bad := [n for n in out if not _ORLIB.match(n)]):
        raise SystemExit(f"Expected only gapN-k instances with --sense max (types A-E are min), got {', '.join(bad)}")
    return list(dict.fromkeys(out))


def textbook_pulp(data: GapData, sense: str, time_limit: float | None, threads: int) -> dict:
    """The GAP as a PuLP tutorial writes it, solved by CBC; objective in the instance's sense."""
    import pulp

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # PuLP 3.x points at its 4.0 API
        c, a, b = data.cost.tolist(), data.use.tolist(), data.capacity.tolist()
        agents, jobs = range(data.m), range(data.n)
        prob = pulp.LpProblem("gap", pulp.LpMinimize if sense == "min" else pulp.LpMaximize)
        x = pulp.LpVariable.dicts("x", (agents, jobs), cat=pulp.LpBinary)
        prob += pulp.lpSum(c[i][j] * x[i][j] for i in agents for j in jobs)
        for j in jobs:
            prob += pulp.lpSum(x[i][j] for i in agents) == 1
        for i in agents:
            prob += pulp.lpSum(a[i][j] * x[i][j] for j in jobs) <= b[i]
        prob.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit, gapRel=0.0, threads=threads))
    seconds = time.perf_counter() - t0
    has_plan = prob.sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible)
    if prob.status == pulp.LpStatusInfeasible:
        status = Status.INFEASIBLE
    elif not has_plan:
        status = Status.NO_SOLUTION
    else:
        status = Status.OPTIMAL if prob.sol_status == pulp.LpSolutionOptimal else Status.TIME_LIMITED
    return {
        "pulp_objective": pulp.value(prob.objective) if has_plan else None,
        "pulp_seconds": round(seconds, 3),
        "pulp_status": status.value,
    }


def gap_to(objective: float | None, known: KnownValue | None, sense: str) -> float | None:
    """Relative distance to the known value in the instance's sense; > 0 is worse, 0 reached."""
    if objective is None or known is None:
        return None
    worse = objective - known.objective if sense == "min" else known.objective - objective
    return worse / max(abs(known.objective), 1e-9)


def bench_one(name: str, args: argparse.Namespace, optima: dict) -> dict:
    """One JSON row: the backend's run, the known value, and the textbook PuLP run."""
    data = parse_gap_data((args.gap_dir / name).read_text(), name)
    problem = to_problem(data, name=name, sense=args.sense)
    options = SolveOptions(time_limit=args.time_limit, gap=0.0, threads=args.threads)
    result = get(args.backend).solve(problem, options)
    known = optima.get((name, args.sense))
    objective = in_sense(result.objective, args.sense)
    row = {
        "instance": name,
        "sense": args.sense,
        "backend": args.backend,
        "objective": objective,
        "bound": in_sense(result.bound, args.sense),
        "status": result.status.value,
        "seconds": round(result.build_s + result.solve_s, 3),
        "known_optimum": known.objective if known else None,
        "known_status": known.status if known else None,
        "gap_to_known": gap_to(objective, known, args.sense),
    }
    if not args.no_pulp:
        row |= textbook_pulp(data, args.sense, args.time_limit, args.threads)
    return row


def summary(rows: list[dict]) -> dict:
    raced = [r for r in rows if "pulp_seconds" in r]
    return {
        "summary": True,
        "instances": len(rows),
        "reached_known": sum(r["gap_to_known"] is not None and r["gap_to_known"] <= 1e-9 for r in rows),
        "faster_than_pulp": sum(r["seconds"] < r["pulp_seconds"] for r in raced) if raced else None,
        "total_seconds": round(sum(r["seconds"] for r in rows), 3),
        "total_pulp_seconds": round(sum(r["pulp_seconds"] for r in raced), 3) if raced else None,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("instances", nargs="*", metavar="INSTANCE", help="instance names or families a b c d e gap")
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per instance and solver (default 60)")
    parser.add_argument("--backend", choices=BACKENDS, default="highs")
    parser.add_argument("--sense", choices=("min", "max"), default="min")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--gap-dir", type=Path, default=DEFAULT_GAP_DIR, help=f"default {DEFAULT_GAP_DIR}")
    parser.add_argument("--no-pulp", action="store_true", help="skip the textbook PuLP+CBC run")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not (args.gap_dir / "optima.csv").is_file():
        raise SystemExit(f"Expected the GAP benchmark folder with optima.csv at {args.gap_dir}")
    optima = load_optima(args.gap_dir / "optima.csv")
    rows = []
    for name in resolve_instances(args.instances, args.gap_dir, args.sense):
        rows.append(bench_one(name, args, optima))
        print(json.dumps(rows[-1]), flush=True)
    print(json.dumps(summary(rows)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

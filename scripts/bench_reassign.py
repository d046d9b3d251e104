#!/usr/bin/env python
"""Reassignment benchmark: one CSM leaves a generated book; print one JSON object.

    python scripts/bench_reassign.py [--accounts 10000] [--csms 200] [--seed 1] [--max-moves 0]

The leaver is the active CSM who owns the most ARR (the hardest single
departure). Fields: accounts, csms, leaver, leaver_accounts, load_s (reading
and validating the book, not part of the goal), reassign_s (graph,
knowledge scores, model build and solve: what ops waits for after the book
is loaded), build_s, solve_s, status, gap, moves, warm_arr_share,
peak_rss_mb. Goal on this 2-core machine: reassign_s < 2 s for 10k accounts.
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=10000)
    ap.add_argument("--csms", type=int, default=None, help="default: accounts / 50")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-moves", type=int, default=0)
    args = ap.parse_args(argv)
    csms = args.csms or max(1, args.accounts // 50)

    from planner.generate import generate_book, write_book
    from planner.io import load_book
    from planner.planning.reassign import reassign

    as_of = dt.date(2026, 11, 1)
    with tempfile.TemporaryDirectory() as tmp:
        write_book(generate_book(args.accounts, csms, seed=args.seed, as_of=as_of), Path(tmp) / "book")
        t0 = time.perf_counter()
        book = load_book(Path(tmp) / "book", as_of=as_of)
        load_s = time.perf_counter() - t0
    active = set(book.csms.loc[book.csms["status"] == "active", "csm_id"])
    owned = book.accounts[book.accounts["current_owner"].isin(active)]
    leaver = owned.groupby("current_owner")["arr"].sum().sort_values(ascending=False, kind="stable").index[0]
    t0 = time.perf_counter()
    r = reassign(book, leaving=[leaver], max_moves=args.max_moves)
    reassign_s = time.perf_counter() - t0
    s = r.summary
    print(
        json.dumps(
            {
                "accounts": args.accounts,
                "csms": csms,
                "leaver": leaver,
                "leaver_accounts": int((book.accounts["current_owner"] == leaver).sum()),
                "max_moves": args.max_moves,
                "load_s": round(load_s, 3),
                "reassign_s": round(reassign_s, 3),
                "build_s": s["timings"]["build_s"],
                "solve_s": s["timings"]["solve_s"],
                "status": s["status"],
                "gap": s.get("gap"),
                "moves": s.get("moves"),
                "accounts_in_model": s["model"]["accounts_in_scope"],
                "warm_arr_share": s.get("warm_arr_share"),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            }
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

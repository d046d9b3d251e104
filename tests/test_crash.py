"""Crash test: `planner solve` and `planner export` killed with SIGKILL on a seeded schedule.

Each trial starts the real command in a subprocess and kills it, either at
a named crash point (planner/faults.py: a CSV half of a folder written, the
folder built but not marked, marked but not renamed, swapped in over the old
one but the old one not yet removed, a ledger transaction about to commit;
the N-th visit, N drawn too) or after a delay drawn over the whole run (so
kills also land while it loads and solves). Afterwards:

* the output folder is either complete (every file there and readable) or absent;
* the ledger, if the run got that far, opens and passes ``PRAGMA integrity_check``;
* the next run of the same command succeeds, and leaves nothing of the dead
  run behind (no hidden temporary folder in the output's parent).

PLANNER_CRASH_TRIALS and PLANNER_CRASH_SEED widen or move the schedule.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

TRIALS = int(os.environ.get("PLANNER_CRASH_TRIALS", "10"))
SEED = int(os.environ.get("PLANNER_CRASH_SEED", "11"))
AS_OF = "2026-11-01"
PLANNER = Path(sys.executable).with_name("planner")


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Path:
    from planner.generate import generate_book, write_book

    path = tmp_path_factory.mktemp("crash") / "book"
    write_book(generate_book(300, 8, pools=2, seed=3, as_of=dt.date(2026, 11, 1)), path)
    return path


def finish(args: list) -> subprocess.CompletedProcess:
    return subprocess.run([str(PLANNER), *map(str, args)], capture_output=True, text=True, timeout=300)


def timed(args: list) -> float:
    t0 = time.perf_counter()
    done = finish(args)
    assert done.returncode == 0, done.stderr
    return time.perf_counter() - t0


def kill_after(args: list, delay: float | None, point: str | None = None) -> int | None:
    """Run `args`, SIGKILLed after `delay` seconds or at crash point `point`; its exit code if it finished first, else None."""
    env = {**os.environ, "PLANNER_CRASH_AT": point} if point else None
    proc = subprocess.Popen(
        [str(PLANNER), *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        proc.wait(timeout=delay)
        return None if proc.returncode == -signal.SIGKILL else proc.returncode
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return None
    finally:
        proc.communicate()


def schedule(rng: random.Random, full: float, points: dict[str, int]) -> list[tuple[str | None, float | None]]:
    """(crash point or None, delay or None) per trial: every point once, at a drawn visit; the rest random times.

    `points` maps each crash point to how many times one run passes it.
    """
    trials: list[tuple[str | None, float | None]] = [(f"{p}:{rng.randint(1, n)}", None) for p, n in points.items()]
    trials += [(None, rng.uniform(0.3, 1.1) * full) for _ in range(max(0, TRIALS - len(points)))]
    rng.shuffle(trials)
    return trials


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") and (".tmp" in p.name or ".old" in p.name))


def plan_complete(plan: Path) -> None:
    from planner.plans import load_plan

    assert {p.name for p in plan.iterdir()} >= {"assignments.csv", "owners.csv", "summary.json"}
    load_plan(plan)  # parses and checks every file


def export_complete(folder: Path) -> None:
    import hashlib

    summary = json.loads((folder / "export_summary.json").read_text())
    for f in summary["files"]:
        assert hashlib.sha256((folder / f["name"]).read_bytes()).hexdigest() == f["sha256"], f["name"]


def ledger_sound(path: Path) -> None:
    if not path.exists():
        return
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    from planner.plans.ledger import Ledger

    with Ledger(path, create=False) as led:
        led.list()


def kill_and_recover(args: list, out: Path, ledger: Path, points: dict[str, int], seed: int, complete) -> None:
    """The trials of one command: kill it by the seeded schedule, then check what is left and that the next run works.

    `out` already holds a complete output, so every trial runs with --force
    over the one the trial before left (and the --force swap is exercised).
    """
    full = timed(args)
    for trial, (point, delay) in enumerate(schedule(random.Random(seed), full, points)):
        what = f"trial {trial}, killed at {point}" if point else f"trial {trial}, killed after {delay:.2f} s"
        rc = kill_after([*args, "--force"], delay, point)
        assert rc is None if point else rc in (None, 0), f"{what}: exit {rc} (expected the kill)"
        if out.exists():
            complete(out)
        ledger_sound(ledger)
        again = finish([*args, "--force"])
        assert again.returncode == 0, f"{what}: the next run failed: {again.stderr}"
        complete(out)
        assert leftovers(out.parent) == [], what
        ledger_sound(ledger)


def test_solve_killed_at_random_points(book, tmp_path):
    ledger, out = tmp_path / "ledger.sqlite", tmp_path / "plan"
    args = ["solve", book, "--out", out, "--as-of", AS_OF, "--ledger", ledger, "--time-limit", "60"]
    # One solve writes assignments.csv and owners.csv, one folder, and commits the ledger once (the record).
    points = {
        "csv.written": 2,
        "dir.built": 1,
        "dir.marked": 1,
        "dir.swapped": 1,
        "dir.committed": 1,
        "ledger.commit": 1,
    }
    kill_and_recover(args, out, ledger, points, SEED, plan_complete)


def test_export_killed_at_random_points(book, tmp_path):
    ledger, plan, out = tmp_path / "ledger.sqlite", tmp_path / "plan", tmp_path / "export"
    assert finish(["solve", book, "--out", plan, "--as-of", AS_OF, "--ledger", ledger]).returncode == 0
    args = ["export", plan, "--format", "salesforce", "--allow-draft", "--out", out, "--ledger", ledger]
    # One export writes its load, rollback, exceptions and summary files one by one, one folder, one ledger commit.
    points = {
        "file.written": 4,
        "dir.built": 1,
        "dir.marked": 1,
        "dir.swapped": 1,
        "dir.committed": 1,
        "ledger.commit": 1,
    }
    kill_and_recover(args, out, ledger, points, SEED + 1, export_complete)

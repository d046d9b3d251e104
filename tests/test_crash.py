"""Crash test: `planner solve` and `planner export` killed with SIGKILL on a seeded schedule.

Each trial starts the real command in a subprocess and kills it after a
delay drawn from a seeded generator (spread over the whole run, so some
kills land while it loads, some while it solves, some while it writes).
Afterwards:

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

TRIALS = int(os.environ.get("PLANNER_CRASH_TRIALS", "8"))
SEED = int(os.environ.get("PLANNER_CRASH_SEED", "11"))
AS_OF = "2026-11-01"
PLANNER = Path(sys.executable).with_name("planner")


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Path:
    from planner.generate import generate_book, write_book

    path = tmp_path_factory.mktemp("crash") / "book"
    write_book(generate_book(300, 8, pools=2, seed=3, as_of=dt.date(2026, 11, 1)), path)
    return path


def start(args: list) -> subprocess.Popen:
    return subprocess.Popen([str(PLANNER), *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(args: list) -> subprocess.CompletedProcess:
    return subprocess.run([str(PLANNER), *map(str, args)], capture_output=True, text=True, timeout=300)


def timed(args: list) -> float:
    t0 = time.perf_counter()
    done = finish(args)
    assert done.returncode == 0, done.stderr
    return time.perf_counter() - t0


def kill_after(args: list, delay: float) -> int | None:
    """Run `args`, SIGKILL it after `delay` seconds; its exit code if it finished first, else None."""
    proc = start(args)
    try:
        proc.wait(timeout=delay)
        return proc.returncode
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return None
    finally:
        proc.communicate()


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
    from planner.ledger import Ledger

    with Ledger(path, create=False) as led:
        led.list()


def test_solve_killed_at_random_points(book, tmp_path):
    ledger = tmp_path / "ledger.sqlite"
    args = lambda out: ["solve", book, "--out", out, "--as-of", AS_OF, "--ledger", ledger, "--time-limit", "60"]  # noqa: E731
    full = timed(args(tmp_path / "reference"))
    rng = random.Random(SEED)
    for trial in range(TRIALS):
        out = tmp_path / f"plan{trial}"
        delay = rng.uniform(0.3, 1.1) * full
        rc = kill_after(args(out), delay)
        if out.exists():
            plan_complete(out)
        ledger_sound(ledger)
        again = finish([*args(out), "--force"])
        assert again.returncode == 0, f"trial {trial} (killed after {delay:.2f} s, rc {rc}): {again.stderr}"
        plan_complete(out)
        assert leftovers(tmp_path) == [], f"trial {trial}: killed after {delay:.2f} s"
        ledger_sound(ledger)


def test_export_killed_at_random_points(book, tmp_path):
    ledger = tmp_path / "ledger.sqlite"
    plan = tmp_path / "plan"
    assert finish(["solve", book, "--out", plan, "--as-of", AS_OF, "--ledger", ledger]).returncode == 0
    args = lambda out: ["export", plan, "--format", "salesforce", "--allow-draft", "--out", out, "--ledger", ledger]  # noqa: E731
    full = timed(args(tmp_path / "reference"))
    rng = random.Random(SEED + 1)
    for trial in range(TRIALS):
        out = tmp_path / f"export{trial}"
        delay = rng.uniform(0.3, 1.1) * full
        rc = kill_after(args(out), delay)
        if out.exists():
            export_complete(out)
        ledger_sound(ledger)
        again = finish([*args(out), "--force"])
        assert again.returncode == 0, f"trial {trial} (killed after {delay:.2f} s, rc {rc}): {again.stderr}"
        export_complete(out)
        assert leftovers(tmp_path) == [], f"trial {trial}: killed after {delay:.2f} s"
        ledger_sound(ledger)

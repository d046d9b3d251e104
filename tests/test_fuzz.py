"""Fuzz: hundreds of mutated books and command lines; every run ends in a plan or a clean error.

For each case (tests/mutate.py, seeded) the planner runs as a user runs it
(the real command group, in process) and must:

* exit 0, 1, 2, 3, 4 or 5 -- never 70 (a bug), never print a traceback, and never
  a diagnosis check that "could not finish" (a bug the diagnosis survived);
* leave every output folder either complete or absent, with no hidden
  temporary folder or moved-aside copy left next to it;
* leave every input file byte for byte as it was (hashed before and after).

PLANNER_FUZZ_CASES and PLANNER_FUZZ_SEED widen or move the search;
`scripts/fuzz.py` runs it outside pytest and prints the failing cases.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest
from mutate import Case, make_case, odd_solve_options, sha256_tree
from typer.testing import CliRunner

from planner.cli import app

CASES = int(os.environ.get("PLANNER_FUZZ_CASES", "240"))
SEED = int(os.environ.get("PLANNER_FUZZ_SEED", "20261201"))
AS_OF = "2026-11-01"
CLEAN_EXITS = {0, 1, 2, 3, 4, 5}
WROTE = {0, 5}  # a plan written (5: with accounts left unassigned)
PLAN_FILES = {"assignments.csv", "owners.csv", "summary.json"}
REPORT_FILES = {"bus_factor.csv", "csm_risk.csv", "backups.csv", "floaters.json"}
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.fixture(scope="module")
def bases(tmp_path_factory) -> list[Path]:
    """Small books to mutate: two fixtures and a generated one with pools, locations and relationships."""
    import datetime as dt

    from planner.generate import generate_book, write_book

    gen = tmp_path_factory.mktemp("base") / "generated"
    write_book(generate_book(40, 4, pools=1, seed=5, as_of=dt.date(2026, 11, 1)), gen)
    return [FIXTURES / "tiny", FIXTURES / "small", gen]


def run(args: list) -> tuple[int, str]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


def leftovers(folder: Path) -> list[str]:
    """Hidden temporary or moved-aside entries a finished command must not leave."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") and (".tmp" in p.name or ".old" in p.name))


def check_run(
    case: Case, label: str, rc: int, output: str, out: Path | None, expected: set[str], inputs: dict
) -> list[str]:
    """What is wrong with one finished command (empty when it behaved)."""
    problems = []
    if rc not in CLEAN_EXITS or "Traceback" in output or "could not finish" in output:
        last = output.strip().splitlines()[-1][:300] if output.strip() else "(no output)"
        problems.append(f"exit {rc}: {last}")
    if out is not None:
        if out.exists() and rc in WROTE:
            missing = expected - {p.name for p in out.iterdir()}
            if missing:
                problems.append(f"incomplete output, missing {sorted(missing)}")
        elif out.exists():
            problems.append(f"exit {rc} but {out.name} was written")
        elif rc in WROTE:
            problems.append(f"exit {rc} but {out.name} is missing")
        junk = leftovers(out.parent)
        if junk:
            problems.append(f"left behind {junk}")
    after = {**sha256_tree(case.book), **(sha256_tree(case.policy) if case.policy else {})}
    if after != inputs:
        changed = sorted(k for k in inputs.keys() | after.keys() if inputs.get(k) != after.get(k))
        problems.append(f"input changed: {changed}")
    return [f"{label}: {p}" for p in problems]


def one_case(i: int, base: Path, work: Path) -> list[str]:
    """Mutate `base` into case i and run the commands on it; the problems found."""
    rng = random.Random(SEED * 1000 + i)
    case = make_case(rng, base, work)
    inputs = {**sha256_tree(case.book), **(sha256_tree(case.policy) if case.policy else {})}
    policy = ["--policy", case.policy] if case.policy else []
    problems = []

    rc, output = run(["validate", case.book, "--as-of", AS_OF, *policy])
    problems += check_run(case, "validate", rc, output, None, set(), inputs)
    if rng.random() < 0.45:
        plan = work / "plan"
        options = odd_solve_options(rng) if rng.random() < 0.4 else ["--backend", rng.choice(["greedy", "highs"])]
        args = [
            "solve",
            case.book,
            "--out",
            plan,
            "--as-of",
            AS_OF,
            "--ledger",
            work / "ledger.sqlite",
            *policy,
            *options,
        ]
        rc, output = run(args)
        problems += check_run(
            case, "solve " + " ".join(map(str, [*policy, *options])), rc, output, plan, PLAN_FILES, inputs
        )
        if rc in WROTE and rng.random() < 0.5:
            exported = work / "export"
            fmt = rng.choice(["csv", "json", "salesforce", "hubspot", "gainsight"])
            args = [
                "export",
                plan,
                "--format",
                fmt,
                "--allow-draft",
                "--out",
                exported,
                "--ledger",
                work / "ledger.sqlite",
            ]
            rc, output = run(args)
            problems += check_run(case, f"export {fmt}", rc, output, exported, {"export_summary.json"}, inputs)
            if rc == 0:
                summary = json.loads((exported / "export_summary.json").read_text())
                missing = [f["name"] for f in summary["files"] if not (exported / f["name"]).is_file()]
                if missing:
                    problems.append(f"export {fmt}: files in its summary are missing: {missing}")
    if rng.random() < 0.15:
        csms = [r.split(",")[0] for r in (base / "csms.csv").read_text().splitlines()[1:]]
        leaving = rng.choice(csms + ["csm_999"])
        plan = work / "reassigned"
        args = [
            "reassign",
            case.book,
            "--leaving",
            leaving,
            "--out",
            plan,
            "--as-of",
            AS_OF,
            "--ledger",
            work / "ledger.sqlite",
            *policy,
        ]
        rc, output = run(args)
        problems += check_run(case, f"reassign --leaving {leaving}", rc, output, plan, PLAN_FILES, inputs)
    if rng.random() < 0.1:
        report = work / "report"
        rc, output = run(["coverage", case.book, "--out", report, "--as-of", AS_OF, *policy])
        problems += check_run(case, "coverage", rc, output, report, REPORT_FILES, inputs)
    return [f"case {i} ({case}): {p}" for p in problems]


def test_mutated_books_end_in_a_plan_or_a_clean_error(bases, tmp_path):
    problems = []
    for i in range(CASES):
        work = tmp_path / f"c{i}"
        work.mkdir()
        problems += one_case(i, bases[i % len(bases)], work)
    assert not problems, f"{len(problems)} problem(s) in {CASES} cases:\n" + "\n".join(problems[:40])

"""The `planner` command as a user runs it: exit codes, messages, files written or not."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planner.cli import app

FIX = Path(__file__).resolve().parent.parent / "fixtures"
runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def test_help_lists_every_command():
    r = run("--help")
    assert r.exit_code == 0
    for cmd in ("demo", "validate", "solve", "evaluate", "generate", "reassign", "coverage", "export", "plans"):
        assert cmd in r.output


def test_validate_ok_and_every_finding(tmp_path):
    ok = run("validate", FIX / "tiny", "--as-of", "2026-11-01")
    assert ok.exit_code == 0 and "6 accounts" in ok.output
    bad = run("validate", FIX / "invalid" / "negative_arr")
    assert bad.exit_code == 1
    assert "accounts.csv, row 3, column 'arr': Expected a number >= 0, got '-60000'" in bad.output


def test_solve_writes_the_plan_and_records_it(tmp_path):
    out = tmp_path / "plan"
    r = run("solve", FIX / "tiny", "--as-of", "2026-11-01", "--out", out)
    assert r.exit_code == 0, r.output
    assert "$8,400" in r.output and "optimal" in r.output
    assert {p.name for p in out.iterdir()} == {"assignments.csv", "owners.csv", "summary.json", ".planner-output.json"}
    plan_id = json.loads((out / "summary.json").read_text())["plan_id"]
    assert (tmp_path / "planner-ledger.sqlite").exists()
    listed = run("plans", "list", "--ledger", tmp_path / "planner-ledger.sqlite")
    assert listed.exit_code == 0 and plan_id[:10] in listed.output


def test_solve_refuses_to_overwrite(tmp_path):
    out = tmp_path / "plan"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    r = run("solve", FIX / "tiny", "--as-of", "2026-11-01", "--out", out)
    assert r.exit_code == 4 and "already exists" in r.output
    assert [p.name for p in out.iterdir()] == ["mine.txt"]


def test_invalid_book_writes_nothing(tmp_path):
    r = run("solve", FIX / "invalid" / "duplicate_account_id", "--out", tmp_path / "plan")
    assert r.exit_code == 1 and not (tmp_path / "plan").exists()
    assert list(tmp_path.iterdir()) == []


def test_infeasible_book_says_why_and_writes_nothing(tmp_path):
    book = tmp_path / "book"
    shutil.copytree(FIX / "tiny", book)
    csms = book / "csms.csv"
    csms.write_text(csms.read_text().replace("Boston,NA,-5,en,,20,3", "Boston,NA,-5,en,,5,3"))
    r = run("solve", book, "--as-of", "2026-11-01", "--out", tmp_path / "plan", "--strict")
    assert r.exit_code == 3
    assert "NA enterprise accounts need 8.0 h/month" in r.output
    assert not (tmp_path / "plan").exists()
    # Without --strict: acc_1 may go to csm_a only, so it stays there, the hours cap exceeded, priced and listed.
    r = run("solve", book, "--as-of", "2026-11-01", "--out", tmp_path / "plan")
    assert r.exit_code == 0, r.output
    assert "csm_a (Alice Able): 5.0 h/month over the cap of 5.0 h" in r.output
    assert "1 account(s) no other owner may take stay with it" in r.output
    assert (tmp_path / "plan" / "assignments.csv").exists()


def test_generate_then_refuse_existing(tmp_path):
    out = tmp_path / "book"
    r = run("generate", "--accounts", "30", "--csms", "3", "--seed", "4", "--as-of", "2026-11-01", "--out", out)
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [
            "accounts.csv",
            "csms.csv",
            "pools.csv",
            "programs.csv",
            "locations.csv",
            "relationships.csv",
            ".planner-output.json",
        ]
    )
    again = run("generate", "--accounts", "30", "--csms", "3", "--out", out)
    assert again.exit_code == 4


def test_reassign_and_coverage(tmp_path):
    r = run("reassign", FIX / "handoff", "--as-of", "2027-06-01", "--out", tmp_path / "plan")
    assert r.exit_code == 0, r.output
    assert "csm_bea" in r.output and (tmp_path / "plan" / "handoffs.csv").exists()
    bad = run("reassign", FIX / "handoff", "--leaving", "csm_nobody", "--out", tmp_path / "p2")
    assert bad.exit_code == 2 and "expected a csm_id from the roster" in bad.output  # a usage error
    cov = run("coverage", FIX / "handoff", "--as-of", "2027-06-01")
    assert cov.exit_code == 0


def test_demo_runs_end_to_end(tmp_path):
    r = run("demo", "--out", tmp_path / "demo")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "demo" / "book" / "accounts.csv").exists()
    summary = json.loads((tmp_path / "demo" / "plan" / "summary.json").read_text())
    assert summary["status"] in ("optimal", "feasible")
    assert summary["evaluation"]["agrees_with_solver"] and summary["evaluation"]["violations"] == []


@pytest.mark.parametrize("backend", ["cpsat", "pulp", "greedy"])
def test_every_backend_from_the_command_line(tmp_path, backend):
    r = run("solve", FIX / "tiny", "--as-of", "2026-11-01", "--backend", backend, "--out", tmp_path / "plan")
    assert r.exit_code == 0, r.output
    cost = json.loads((tmp_path / "plan" / "summary.json").read_text())["objective"]
    assert cost == pytest.approx(8400)  # greedy too: the rule finds the optimum of tiny

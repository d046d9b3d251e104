"""`planner reassign` as a user runs it: a plan with unplaced accounts (exit 5) that exports, usage errors (exit 2),
one count of moves, and a printed next step that works from any folder (fixtures/handoff, see its README)."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from planner.cli import app
from planner.errors import EXIT_UNPLACED, EXIT_USAGE

FIX = Path(__file__).resolve().parent.parent / "fixtures"
AS_OF = ("--as-of", "2027-06-01")
PLANNER = Path(sys.executable).with_name("planner")
runner = CliRunner()


@pytest.fixture(autouse=True)
def _no_ledger_env(monkeypatch):
    monkeypatch.delenv("PLANNER_LEDGER", raising=False)


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def book_copy(folder: Path, accounts: dict | None = None, csms: dict | None = None, more_accounts=(), more_csms=()):
    """fixtures/handoff copied to `folder`, with {row id: {column: value}} edits and extra rows (dicts)."""
    shutil.copytree(FIX / "handoff", folder)
    for table, key, edits, extra in (("accounts", "account_id", accounts, more_accounts),
                                     ("csms", "csm_id", csms, more_csms)):  # fmt: skip
        path = folder / f"{table}.csv"
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
        for row_id, values in (edits or {}).items():
            for column, value in values.items():
                df.loc[df[key] == row_id, column] = value
        df = pd.concat([df, pd.DataFrame(list(extra), dtype=str)], ignore_index=True).fillna("")
        df.to_csv(path, index=False)
    return folder


def short_of_room(folder: Path) -> Path:
    """gamma needs a German speaker; only cal speaks German, and cal's one account slot is taken (by theta).
    beta is in Japanese, which nobody speaks. One account with no room, one nobody may take."""
    book = book_copy(
        folder,
        accounts={"acc_gamma": {"language": "de"}, "acc_beta": {"language": "ja"}},
        csms={"csm_cal": {"languages": "en;de", "max_accounts": "1"}},
    )
    csms = pd.read_csv(book / "csms.csv", dtype=str, keep_default_na=False)
    csms["crm_user_id"] = [f"005{i:012d}AAA" for i in range(len(csms))]  # CRM users, so that the plan can be exported
    csms.to_csv(book / "csms.csv", index=False)
    return book


def test_a_reassignment_with_unplaced_accounts_writes_the_plan_exits_5_and_exports(tmp_path):
    book = short_of_room(tmp_path / "book")
    plan = tmp_path / "plans" / "r"
    r = run("reassign", book, "--leaving", "csm_leo", *AS_OF, "--out", plan)
    assert r.exit_code == EXIT_UNPLACED, r.output
    assert {"assignments.csv", "owners.csv", "handoffs.csv", "summary.json"} <= {p.name for p in plan.iterdir()}
    a = pd.read_csv(plan / "assignments.csv", dtype=str, keep_default_na=False).set_index("account_id")
    assert list(a.loc[["acc_gamma", "acc_beta"], "owner_type"]) == ["unassigned", "unassigned"]
    assert a.loc["acc_gamma", "reason"] == "not placed" and "every eligible owner is full: csm_cal" in a.loc[
        "acc_gamma", "reason_detail"]  # fmt: skip
    assert (
        a.loc["acc_beta", "reason"] == "no eligible owner"
        and "to fix: hire or train" in a.loc["acc_beta", "reason_detail"]
    )
    placed = a.loc[["acc_alpha", "acc_delta", "acc_epsilon"], "owner_id"]
    assert all(placed != "") and "csm_leo" not in set(a["owner_id"])
    assert "capacity is short: 1 of the 4 accounts to place do not fit" in r.output  # the options, in words
    assert "acc_beta Beta Inc ($180,000 ARR, today csm_leo (Leo Lane)): no eligible owner" in r.output
    summary = json.loads((plan / "summary.json").read_text())
    assert {u["account_id"] for u in summary["unplaced"]} == {"acc_gamma", "acc_beta"}

    exported = run("export", plan, "-f", "csv", "-o", tmp_path / "csv", "--allow-draft")
    assert exported.exit_code == 0, exported.output
    exceptions = pd.read_csv(tmp_path / "csv" / "exceptions.csv", dtype=str, keep_default_na=False)
    said = dict(zip(exceptions["account_id"], exceptions.iloc[:, -1], strict=True))
    assert "no eligible owner" in said["acc_beta"] and "not placed" in said["acc_gamma"]


USAGE = {
    "leaving and on leave": (["--leaving", "csm_leo", "--on-leave", "csm_leo", "--until", "2027-09-01"],
                             "named both --leaving and --on-leave"),
    "until before the plan date": (["--on-leave", "csm_ann", "--until", "2027-05-01"],
                                   "expected a return date after the plan date 2027-06-01"),
    "until before the effective date": (["--on-leave", "csm_ann", "--until", "2027-07-01", "--effective", "2027-08-01"],
                                        "expected a return date after the effective date 2027-08-01"),
    "until with nobody on leave": (["--leaving", "csm_leo", "--until", "2027-09-01"], "expected --on-leave CSM_ID"),
    "not on the roster": (["--leaving", "csm_nobody"], "csm_nobody: expected a csm_id from the roster"),
    "owns nothing": (["--leaving", "csm_new"], "csm_new: owns no account in this book, so there is nothing to hand off"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(USAGE), ids=list(USAGE))
def test_contradictory_or_impossible_leaver_flags_are_usage_errors(tmp_path, case):
    new = {"csm_id": "csm_new", "name": "Nia New", "email": "nia@example.com", "region": "NA", "utc_offset": "-5",
           "languages": "en", "capacity_hours": "120", "max_accounts": "50", "max_arr": "2500000",
           "annual_cost": "120000", "status": "active"}  # fmt: skip
    book = book_copy(tmp_path / "book", more_csms=[new])
    flags, message = USAGE[case]
    r = run("reassign", book, *flags, *AS_OF, "--out", tmp_path / "plan")
    assert r.exit_code == EXIT_USAGE, r.output
    assert message in r.output
    assert not (tmp_path / "plan").exists() and not (tmp_path / "planner-ledger.sqlite").exists()


def test_one_count_of_moves_in_the_summary(tmp_path):
    """The table's "moved" and the line under it agree; an ex-employee's account is said to be one, not a move."""
    gone = {"account_id": "acc_omega", "account_name": "Omega Ltd", "arr": "80000", "segment": "mid_market",
            "complexity": "3", "region": "NA", "utc_offset": "-5", "language": "en", "renewal_date": "2028-05-31",
            "current_owner": "csm_gone", "crm_id": "001000000000111AAA"}  # fmt: skip
    book = book_copy(tmp_path / "book", accounts={"acc_gamma": {"language": "de"}},
                     csms={"csm_cal": {"languages": "en;de", "max_accounts": "1"}}, more_accounts=[gone])  # fmt: skip
    plan = tmp_path / "plan"
    r = run("reassign", book, "--leaving", "csm_leo", *AS_OF, "--out", plan)
    assert r.exit_code == EXIT_UNPLACED, r.output
    table = re.search(r"moved\s*│ (\d+) accounts", r.output)
    line = re.search(r"(\d+) accounts change owner: (\d+) from csm_leo", r.output)
    assert table and line, r.output
    summary = json.loads((plan / "summary.json").read_text())
    h = pd.read_csv(plan / "handoffs.csv")
    assert (
        int(table[1]) == int(line[1]) == int(line[2]) == summary["counts"]["moved"] == summary["moves"] == len(h) == 4
    )
    assert "1 with an owner today have none in this plan" not in r.output  # omega and gamma: 2
    assert "2 with an owner today have none in this plan" in r.output
    assert "1 accounts that must move have no owner in this plan" in r.output
    assert "1 accounts of owners no longer on the roster are left to `planner solve`" in r.output
    assert summary["counts"]["left_without_owner"] == 2
    a = pd.read_csv(plan / "assignments.csv", dtype=str, keep_default_na=False).set_index("account_id")
    assert a.loc["acc_omega", "owner_type"] == "unassigned"  # what it is, in the plan and in an export's exceptions
    assert a.loc["acc_omega", "reason_detail"].startswith("today's owner csm_gone is on no roster")


def test_the_printed_next_step_works_when_copied_from_another_folder(tmp_path):
    """The plan goes to sub/dir from one folder; the approve command it prints runs as printed from another."""
    here, elsewhere = tmp_path / "here", tmp_path / "elsewhere"
    here.mkdir(), elsewhere.mkdir()

    def planner(*args, cwd):
        return subprocess.run([str(PLANNER), *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=300)

    solved = planner("reassign", FIX / "handoff", *AS_OF, "--out", "sub/dir", cwd=here)
    assert solved.returncode == 0, solved.stderr
    hint = re.search(r"approve with: (planner plans approve .*)\)$", solved.stdout, re.M)
    assert hint, solved.stdout
    command = shlex.split(hint[1].replace("NAME", "alice"))
    approved = planner(*command[1:], cwd=elsewhere)
    assert approved.returncode == 0, approved.stderr
    plan_id = json.loads((here / "sub" / "dir" / "summary.json").read_text())["plan_id"]
    assert f"{plan_id} approved by alice" in approved.stdout
    # By id, from where it was solved: the ledger in sub/ is found (it used to be "No ledger at planner-ledger.sqlite").
    shown = planner("plans", "show", plan_id, cwd=here)
    assert shown.returncode == 0, shown.stderr
    assert re.search(r"state\s+│\s+approved\s", shown.stdout) and str((here / "sub" / "dir").resolve()) in shown.stdout


def test_a_ledger_elsewhere_is_named_in_the_next_step(tmp_path):
    ledger = tmp_path / "ledgers" / "team.sqlite"
    r = run("reassign", FIX / "handoff", *AS_OF, "--out", tmp_path / "plan", "--ledger", ledger)
    assert r.exit_code == 0, r.output
    assert f"planner plans approve {tmp_path / 'plan'} --by NAME --ledger {ledger}" in r.output


def test_a_plan_folder_finds_the_ledger_it_was_recorded_in_without_ledger(tmp_path, monkeypatch):
    """summary.json names the ledger the plan was recorded in, so the folder alone finds it from any folder."""
    ledger = tmp_path / "ledgers" / "team.sqlite"
    r = run("reassign", FIX / "handoff", *AS_OF, "--out", tmp_path / "plans" / "r", "--ledger", ledger)
    assert r.exit_code == 0, r.output
    summary = json.loads((tmp_path / "plans" / "r" / "summary.json").read_text())
    assert summary["ledger"] == str(ledger.resolve())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    approved = run("plans", "approve", tmp_path / "plans" / "r", "--by", "alice")
    assert approved.exit_code == 0, approved.output
    assert f"{summary['plan_id']} approved by alice ({ledger})" in approved.output
    assert not (tmp_path / "plans" / "planner-ledger.sqlite").exists()  # no second ledger started beside the folder


def test_the_same_plan_written_twice_keeps_its_first_folder(tmp_path):
    first = run("reassign", FIX / "handoff", *AS_OF, "--out", tmp_path / "a")
    second = run("reassign", FIX / "handoff", *AS_OF, "--out", tmp_path / "b")
    assert first.exit_code == second.exit_code == 0, second.output
    assert (
        f"recorded from {tmp_path / 'a'}; {tmp_path / 'b'} holds the same plan and is noted as a copy" in second.output
    )
    shown = run("plans", "show", tmp_path / "b")
    assert re.search(r"path\s+│\s+" + re.escape(str(tmp_path / "a")) + r"\s", shown.output)


def test_the_handoff_table_and_file_carry_names(tmp_path):
    r = run("reassign", FIX / "handoff", *AS_OF, "--out", tmp_path / "plan")
    assert r.exit_code == 0, r.output
    assert "csm_bea (Bea Brooks)" in r.output and "csm_leo (Leo Lane)" in r.output
    h = pd.read_csv(tmp_path / "plan" / "handoffs.csv", dtype=str, keep_default_na=False).set_index("account_id")
    assert tuple(h.loc["acc_beta", ["to", "to_name", "to_email", "from_name", "introducer", "introducer_name"]]) == (
        "csm_bea", "Bea Brooks", "bea@example.com", "Leo Lane", "csm_leo", "Leo Lane")  # fmt: skip

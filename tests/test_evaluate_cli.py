"""`planner evaluate BOOK [PLAN]`: any plan scored by the independent evaluator (today's, a solver's, a spreadsheet's)."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from planner.cli import app

FIX = Path(__file__).resolve().parent.parent / "fixtures"
TINY = [str(FIX / "tiny"), "--as-of", "2026-11-01"]
# The hand-worked optimum of fixtures/tiny (its README): $8,400.
OPTIMUM = {
    "acc_1": "csm_a",
    "acc_2": "csm_b",
    "acc_3": "pool_1",
    "acc_4": "digital",
    "acc_5": "csm_a",
    "acc_6": "csm_a",
}


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def write_csv(path: Path, rows: list[tuple[str, str]], header=("account_id", "owner_id")) -> Path:
    path.write_text("\n".join([",".join(header), *(",".join(r) for r in rows)]) + "\n", encoding="utf-8")
    return path


def test_today_is_scored_without_a_plan():
    r = run("evaluate", *TINY, "--json")
    assert r.exit_code == 0, r.output
    today = json.loads(r.output)["plans"][0]
    assert today["name"] == "today's plan"
    # acc_3 and acc_6 have no owner today; csm_c (leaving) owns nothing; the rest are priced as they stand.
    assert (today["accounts"], today["assigned"], today["unassigned"]) == (6, 4, 2)
    assert today["objective_terms"]["disruption"] == 0  # nobody moves in today's plan
    assert today["kpis"]["utilization"]["n"] == 2  # the two active CSMs


def test_a_spreadsheet_plan_costs_what_the_solver_said(tmp_path):
    plan = write_csv(tmp_path / "mine.csv", sorted(OPTIMUM.items()))
    r = run("evaluate", *TINY, plan, "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    mine = doc["plans"][1]
    assert mine["name"] == "mine.csv" and mine["objective"] == pytest.approx(8400, abs=1e-3)
    assert mine["violations"] == [] and mine["unassigned"] == 0


def test_a_workbook_plan_and_a_plan_folder_score_the_same(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Plan"
    ws.append(["account_id", "notes", "owner_id"])
    for account, owner in OPTIMUM.items():
        ws.append([account, "x", owner])
    wb.save(tmp_path / "mine.xlsx")
    assert run("solve", *TINY, "--out", tmp_path / "p", "--gap", "0").exit_code == 0
    xlsx = json.loads(run("evaluate", *TINY, tmp_path / "mine.xlsx", "--json").output)["plans"][1]
    folder = json.loads(run("evaluate", *TINY, tmp_path / "p", "--json").output)["plans"][1]
    assert xlsx["objective"] == pytest.approx(folder["objective"]) == pytest.approx(8400, abs=1e-3)
    assert folder["name"].startswith("plan-")


def test_a_plan_that_breaks_rules_is_scored_and_named_not_refused(tmp_path):
    bad = dict(OPTIMUM, acc_2="csm_a", acc_4="csm_c")  # csm_a over its 3-account cap; csm_c is leaving
    r = run("evaluate", *TINY, write_csv(tmp_path / "bad.csv", sorted(bad.items())))
    assert r.exit_code == 0, r.output
    assert "csm_accounts_within_cap: csm_a: 4 accounts > 3" in r.output
    assert "owner_on_roster_and_active: acc_4: owner csm_c is leaving" in r.output
    assert "owner_eligible_for_account: acc_4: smb may not be covered by csm; csm_c does not speak pt" in r.output
    assert "bad.csv: 3 rule(s) broken" in r.output


@pytest.mark.parametrize(
    ("rows", "header", "expected"),
    [
        ([("acc_1", "csm_a"), ("acc_1", "csm_b")], ("account_id", "owner_id"),
         "bad.csv, row 3, column 'account_id': Expected each account once, got 'acc_1' again (first in row 2)"),
        ([("acc_9", "csm_a")], ("account_id", "owner_id"),
         "bad.csv, row 2, column 'account_id': Expected an account_id of the book, got 'acc_9'"),
        ([("acc_1", "csm_a")], ("account_id", "Owner Id"),
         "bad.csv, row 1, column 'owner_id': Expected a column named 'owner_id', got 'Owner Id'; rename it to 'owner_id'"),
    ],
)  # fmt: skip
def test_a_spreadsheet_plan_that_cannot_be_read_says_where(tmp_path, rows, header, expected):
    r = run("evaluate", *TINY, write_csv(tmp_path / "bad.csv", rows, header))
    assert r.exit_code == 1
    assert expected in r.output


def test_the_plan_beside_today_says_what_it_fixes(tmp_path):
    doc = json.loads(run("evaluate", *TINY, write_csv(tmp_path / "mine.csv", sorted(OPTIMUM.items())), "--json").output)
    assert doc["plans"][0]["name"] == "today's plan"
    assert doc["fixes"] == {}  # today's tiny plan breaks nothing, so there is nothing to fix


def test_nobody_idle_beside_a_busy_colleague_in_the_plan_though_today_has_them(tmp_path):
    """A generated book's today has CSMs below the band who could take accounts from colleagues above it; the
    plan has none whose move would pay for itself, and the scorecard and the utilization line say so."""
    book = tmp_path / "b"
    assert run("generate", "--accounts", "400", "--csms", "10", "--seed", "1", "--out", book).exit_code == 0
    plan = tmp_path / "p"
    solved = run("solve", book, "--out", plan, "--ledger", tmp_path / "l.sqlite")
    assert solved.exit_code == 0, solved.output
    r = run("evaluate", book, plan, "--json")
    assert r.exit_code == 0, r.output
    today, new = (p["kpis"]["idle_beside_busy"] for p in json.loads(r.stdout)["plans"])
    assert today and all(e["net"] < 0 and e["utilization"] < 0.7 < 0.9 < e["from_utilization"] for e in today)
    assert all(e["net"] >= 0 for e in new)
    r = run("evaluate", book, plan)
    assert "CSMs idle beside a busy colleague" in r.output
    first = min(today, key=lambda e: e["net"])  # the solve's "today's plan" row names the costliest one
    assert (
        f"{len(today)} below the band could take work from a colleague above it (e.g. {first['csm_id']} at"
        in solved.output
    )
    assert f"could take {first['could_take']} from {first['from']}" in solved.output

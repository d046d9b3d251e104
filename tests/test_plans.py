"""Plan folders: reading and checking them, and `plans diff` on a hand-made pair."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from plan_folders import account, owner, standard_accounts, standard_owners, write_plan
from typer.testing import CliRunner

from planner.cli.plans import plans_app
from planner.plans import PlanError, diff_plans, load_plan
from planner.plans.ledger import LEDGER_NAME, Ledger

OWNERS = [owner("c1", "csm", "0055g00000Usr01", "c1@example.com"), owner("c2", "csm", "0055g00000Usr02", "c2@example.com"),
          owner("p1", "pool", "0055g00000Pool1", "pool@example.com"), owner("digital", "digital")]  # fmt: skip


@pytest.fixture(autouse=True)
def _no_ledger_env(monkeypatch):
    monkeypatch.delenv("PLANNER_LEDGER", raising=False)


@pytest.fixture
def pair(tmp_path) -> tuple[Path, Path]:
    """A -> B: A1 moves c1->c2, A3 moves c2->p1 (the pool needs fewer hours), A5 leaves, A6 arrives."""
    a = [
        account("A1", "c1", "c1", "1", arr=1000, hours=2),
        account("A2", "c1", "c1", "2", arr=2000, hours=3),
        account("A3", "c2", "c2", "3", arr=500, hours=1),
        account("A4", "p1", "p1", "4", arr=300, hours=0.5),
        account("A5", "c2", "c2", "5", arr=50, hours=1),
    ]
    b = [
        account("A1", "c2", "c1", "1", arr=1000, hours=2),
        account("A2", "c1", "c1", "2", arr=2000, hours=3),
        account("A3", "p1", "c2", "3", arr=500, hours=0.4),
        account("A4", "p1", "p1", "4", arr=300, hours=0.5),
        account("A6", "c1", "", "6", arr=700, hours=1.5),
    ]
    return (
        write_plan(tmp_path / "plans" / "a", a, OWNERS, plan_id="plan-00000000000a"),
        write_plan(tmp_path / "plans" / "b", b, OWNERS, plan_id="plan-00000000000b"),
    )


def test_diff_on_a_hand_made_pair(pair):
    diff = diff_plans(*pair)
    assert (diff.plan_a, diff.plan_b) == ("plan-00000000000a", "plan-00000000000b")
    assert [(m.account_id, m.from_owner, m.to_owner, m.arr) for m in diff.moved] == [
        ("A1", "c1", "c2", 1000.0),
        ("A3", "c2", "p1", 500.0),
    ]
    assert diff.arr_moved == 1500.0
    assert (diff.only_in_a, diff.only_in_b) == (("A5",), ("A6",))
    deltas = {o.owner_id: (o.accounts_delta, o.arr_delta, round(o.hours_delta, 9)) for o in diff.owners}
    assert deltas == {"c1": (0, -300.0, -0.5), "c2": (-1, 450.0, 0.0), "p1": (1, 500.0, 0.4)}
    c2 = next(o for o in diff.owners if o.owner_id == "c2")
    assert (c2.owner_type, c2.name, c2.accounts_a, c2.accounts_b, c2.arr_a, c2.arr_b) == (
        "csm",
        "C2",
        2,
        1,
        550.0,
        1000.0,
    )


def test_a_plan_compared_with_itself_has_no_changes(pair):
    diff = diff_plans(pair[0], pair[0])
    assert (diff.moved, diff.arr_moved, diff.owners, diff.only_in_a, diff.only_in_b) == ((), 0, (), (), ())


def test_diff_cli_renders_and_emits_json(pair):
    app = typer.Typer()
    app.add_typer(plans_app, name="plans")
    runner = CliRunner()
    shown = runner.invoke(app, ["plans", "diff", str(pair[0]), str(pair[1])], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert "2 account(s) moved, ARR moved 1,500.00" in shown.output
    assert "+450.00" in shown.output and "-300.00" in shown.output

    with Ledger(pair[0].parent / LEDGER_NAME) as led:  # by plan id, through the ledger
        led.record_plan(pair[0])
        led.record_plan(pair[1])
    ledger = str(pair[0].parent / LEDGER_NAME)
    as_json = runner.invoke(
        app, ["plans", "diff", "plan-00000000000a", "plan-00000000000b", "--ledger", ledger, "--json"]
    )
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.output)
    assert data["arr_moved"] == 1500.0
    assert {o["owner_id"]: o["accounts_delta"] for o in data["owners"]} == {"c1": 0, "c2": -1, "p1": 1}


def test_load_plan_reads_text_as_written(tmp_path):
    accounts = standard_accounts(crm_id=lambda i: f"00{i}")
    plan = load_plan(write_plan(tmp_path / "p", accounts, standard_owners(), plan_id="plan-0000000000aa"))
    assert [r["crm_id"] for r in plan.assignments] == ["001", "002", "003", "004", "005", "006"]
    assert plan.owners["c1"]["hubspot_owner_id"] == "101"
    assert plan.plan_id == "plan-0000000000aa" and set(plan.file_sha256) == {"assignments.csv", "owners.csv"}


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda p: (p / "owners.csv").unlink(), "owners.csv is missing"),
        (lambda p: _edit(p / "assignments.csv", ",crm_id", ",crm"), r"missing \['crm_id'\]"),
        (lambda p: _edit(p / "assignments.csv", "A2,", "A1,"), "account_id 'A1' repeats row 2"),
        (lambda p: _edit(p / "assignments.csv", "A2,csm,c1", "A2,csm,c9"), "owner_id 'c9' is not in owners.csv"),
        (lambda p: _edit(p / "assignments.csv", ",true,", ",false,"), "row 2: changed=false disagrees"),
        (lambda p: _edit(p / "assignments.csv", ",5000,", ",5k,"), "row 2, column 'arr': expected a number, got '5k'"),
        (lambda p: _edit(p / "owners.csv", "c2,csm", "c1,csm"), "owner_id 'c1' repeats"),
        (lambda p: _edit(p / "summary.json", '"plan_id"', '"id"'), 'expected a non-empty "plan_id"'),
        (lambda p: _edit(p / "summary.json", "{", "["), "expected valid JSON"),
    ],
)
def test_a_damaged_plan_is_refused_with_where_and_what(tmp_path, damage, message):
    plan = write_plan(tmp_path / "p", standard_accounts(), standard_owners())
    damage(plan)
    with pytest.raises(PlanError, match=message):
        load_plan(plan)


def test_a_path_that_is_not_a_plan_folder(tmp_path):
    with pytest.raises(PlanError, match="not a folder"):
        load_plan(tmp_path / "nowhere")

"""A plan folder is approved and exported only as what it claims to be.

plan_id is recomputed from the folder; a plan the ledger did not get from
`planner solve` is re-checked by the independent evaluator against the book
it was made from; a plan that breaks a rule -- a CSM given 119 accounts
against a cap of 50 by hand -- is refused, one that only kept an overload
today's owners already had is not.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planner.cli import app
from planner.plans import PlanError, check_plan_id, compute_plan_id, load_plan, summary_identity
from planner.plans.ledger import LEDGER_NAME, Ledger

FIX = Path(__file__).resolve().parent.parent / "fixtures"
AS_OF = dt.date(2026, 1, 15)
runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(autouse=True)
def _no_ledger_env(monkeypatch):
    monkeypatch.delenv("PLANNER_LEDGER", raising=False)


@pytest.fixture(scope="module")
def solved(tmp_path_factory) -> tuple[Path, Path]:
    """(book, plan): a generated 250-account book and its plan (greedy: quick, and keeps every rule)."""
    from planner.generate import generate_book, write_book
    from planner.io import load_book
    from planner.planning.solve import solve

    root = tmp_path_factory.mktemp("solved")
    book = write_book(generate_book(accounts=250, csms=6, seed=3, as_of=AS_OF), root / "book")
    result = solve(load_book(book, as_of=AS_OF), "greedy", baseline=False)
    assert not result.summary["evaluation"]["violations"]
    return book, result.write(root / "plan")


@pytest.fixture
def plan(solved, tmp_path) -> Path:
    """A fresh copy of the solved plan, in a folder of its own (so its default ledger is new)."""
    return Path(shutil.copytree(solved[1], tmp_path / "plans" / "p1"))


def read_rows(path: Path) -> tuple[list[str], list[dict]]:
    reader = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"), newline=""))
    return list(reader.fieldnames), list(reader)


def write_rows(path: Path, header: list[str], rows: list[dict]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


def give(plan_dir: Path, owner: str, total: int) -> None:
    """Hand-edit assignments.csv so that `owner` (a CSM) has `total` accounts, keeping the file consistent."""
    header, rows = read_rows(plan_dir / "assignments.csv")
    mine = sum(r["owner_id"] == owner for r in rows)
    for r in rows:
        if mine == total:
            break
        if r["owner_id"] != owner and r["owner_type"] != "unassigned":
            r.update(owner_id=owner, owner_type="csm", changed="true" if r["previous_owner"] != owner else "false")
            mine += 1
    assert mine == total
    write_rows(plan_dir / "assignments.csv", header, rows)


def restamp(plan_dir: Path) -> str:
    """Write the plan_id the edited folder makes into summary.json (what someone who knows the hash would do)."""
    summary = json.loads((plan_dir / "summary.json").read_text(encoding="utf-8"))
    _, rows = read_rows(plan_dir / "assignments.csv")
    summary["plan_id"] = compute_plan_id(
        summary_identity(summary, plan_dir), [(r["account_id"], r["owner_id"]) for r in rows]
    )
    (plan_dir / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return summary["plan_id"]


def plan_id_of(plan_dir: Path) -> str:
    return json.loads((plan_dir / "summary.json").read_text(encoding="utf-8"))["plan_id"]


# -- plan_id: one function, recomputable from the folder --------------------------------------


def test_solve_records_the_identity_and_the_id_is_recomputable(solved):
    summary = json.loads((solved[1] / "summary.json").read_text(encoding="utf-8"))
    assert set(summary["identity"]) == {"inputs", "policy", "as_of"}
    assert summary["identity"]["inputs"] == [i["sha256"] for i in summary["inputs"]]
    check_plan_id(load_plan(solved[1]))
    # The hash is the one plan ids always had: a plan solved before "identity" existed keeps its id.
    _, rows = read_rows(solved[1] / "assignments.csv")
    h = hashlib.sha256()
    h.update(json.dumps(summary["identity"]["inputs"]).encode())
    h.update(summary["identity"]["policy"].encode())
    h.update(summary["as_of"].encode())
    h.update("\n".join(f"{r['account_id']},{r['owner_id']}" for r in rows).encode())
    assert summary["plan_id"] == "plan-" + h.hexdigest()[:12]
    del summary["identity"]  # a summary.json written before "identity": derived from inputs, policy, as_of
    assert summary_identity(summary, Path("summary.json"))["policy"] == json.loads(
        (solved[1] / "summary.json").read_text(encoding="utf-8"))["identity"]["policy"]  # fmt: skip


def test_an_id_that_no_longer_matches_its_assignments_is_refused(plan, tmp_path):
    give(plan, "csm_003", 119)
    result = run("plans", "approve", plan, "--by", "mallory", "--ledger", tmp_path / "new.sqlite")
    assert result.exit_code == 1
    assert f"summary.json says {plan_id_of(plan)}, but its assignments.csv and identity make plan-" in result.output
    assert "the plan was changed after it was written" in result.output
    assert not (tmp_path / "new.sqlite").exists()


def test_an_identity_that_disagrees_with_the_inputs_is_refused(plan):
    summary = json.loads((plan / "summary.json").read_text(encoding="utf-8"))
    summary["identity"]["as_of"] = "2020-01-01"
    (plan / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    with pytest.raises(PlanError, match='"identity" disagrees with the as_of'):
        check_plan_id(load_plan(plan))


# -- the hand-edited plan: 119 accounts on one CSM ---------------------------------------------


def test_the_hand_edited_plan_is_refused_by_approve_with_a_new_ledger(plan, tmp_path):
    give(plan, "csm_003", 119)
    plan_id = restamp(plan)
    result = run("plans", "approve", plan, "--by", "mallory", "--ledger", tmp_path / "new.sqlite")
    assert result.exit_code == 1, result.output
    assert f"plan {plan_id} breaks" in result.output
    assert "csm_accounts_within_cap: csm_003: 119 accounts > 50" in result.output
    assert "solve again" in result.output
    assert not (tmp_path / "new.sqlite").exists()  # a refusal creates no ledger


def test_the_hand_edited_plan_is_refused_by_a_draft_export_with_a_new_ledger(plan, tmp_path):
    give(plan, "csm_003", 119)
    restamp(plan)
    result = run(
        "export", plan, "-f", "csv", "-o", tmp_path / "out", "--allow-draft", "--ledger", tmp_path / "new.sqlite"
    )
    assert result.exit_code == 1, result.output
    assert "csm_accounts_within_cap: csm_003: 119 accounts > 50" in result.output
    assert not (tmp_path / "out").exists() and not (tmp_path / "new.sqlite").exists()


def test_the_hand_edited_plan_is_refused_by_export_with_the_recording_ledger(plan, tmp_path):
    with Ledger(plan.parent / LEDGER_NAME) as led:  # recorded by solve, approved
        led.record_plan(plan, checked="solve")
        led.transition(plan_id_of(plan), "approved", "alice")
    give(plan, "csm_003", 119)
    result = run("export", plan, "-f", "csv", "-o", tmp_path / "out")
    assert result.exit_code == 1
    assert "the plan was changed after it was written" in result.output
    restamp(plan)  # under a new id the recording ledger does not know it: not approved
    result = run("export", plan, "-f", "csv", "-o", tmp_path / "out")
    assert result.exit_code == 1 and "to be approved, it is not in the ledger" in result.output
    result = run("export", plan, "-f", "csv", "-o", tmp_path / "out", "--allow-draft")
    assert result.exit_code == 1 and "csm_accounts_within_cap: csm_003: 119 accounts > 50" in result.output
    assert not (tmp_path / "out").exists()


def test_crm_fields_edited_by_hand_are_refused(plan, tmp_path):
    """Changing a CSM's CRM user in owners.csv leaves plan_id as it was; the re-check compares it with the book."""
    header, rows = read_rows(plan / "owners.csv")
    owner = next(r for r in rows if r["owner_type"] == "csm")
    owner["crm_user_id"] = "0055g00000Evil1"
    write_rows(plan / "owners.csv", header, rows)
    check_plan_id(load_plan(plan))  # same id: who owns what did not change
    result = run("plans", "approve", plan, "--by", "mallory", "--ledger", tmp_path / "new.sqlite")
    assert result.exit_code == 1
    assert (
        f"plan_matches_book: {owner['owner_id']}: owners.csv crm_user_id '0055g00000Evil1', the book has"
        in result.output
    )


# -- legitimate plans go through ---------------------------------------------------------------


def test_an_unmodified_plan_is_approved_in_a_new_ledger_after_the_recheck(plan, tmp_path):
    ledger = tmp_path / "new.sqlite"
    result = run("plans", "approve", plan, "--by", "alice", "--ledger", ledger)
    assert result.exit_code == 0, result.output
    assert "re-checked against its book by the independent evaluator; no rule broken" in result.output
    with Ledger(ledger, create=False) as led:
        record = led.get(plan_id_of(plan))
    assert (record.state, record.checked) == ("approved", "evaluator")
    exported = run("export", plan, "-f", "csv", "-o", tmp_path / "out", "--ledger", ledger)
    assert exported.exit_code == 0, exported.output


def test_a_plan_recorded_by_solve_is_approved_without_its_book(tmp_path):
    """solve's own record vouches for the plan: approving it later does not need the book as it was."""
    book = Path(shutil.copytree(FIX / "tiny", tmp_path / "book"))
    assert run("solve", book, "--as-of", "2026-11-01", "--out", tmp_path / "plan").exit_code == 0
    shutil.rmtree(book)
    result = run("plans", "approve", tmp_path / "plan", "--by", "alice")
    assert result.exit_code == 0, result.output
    assert "re-checked" not in result.output


def test_a_missing_or_changed_book_means_the_plan_cannot_be_rechecked(plan, solved, tmp_path):
    summary = json.loads((plan / "summary.json").read_text(encoding="utf-8"))
    book = Path(shutil.copytree(solved[0], tmp_path / "book"))
    for source in summary["inputs"]:
        source["path"] = str(book / Path(source["path"]).name)
    (plan / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    (book / "csms.csv").write_text((book / "csms.csv").read_text(encoding="utf-8") + "\n", encoding="utf-8")
    result = run("plans", "approve", plan, "--by", "alice", "--ledger", tmp_path / "new.sqlite")
    assert result.exit_code == 1
    assert (
        f"cannot be re-checked against the book it was made from: {book / 'csms.csv'} has changed since the plan was made"
        in result.output
    )
    assert "planner solve BOOK --out NEW_PLAN" in result.output
    (book / "csms.csv").unlink()
    result = run("plans", "approve", plan, "--by", "alice", "--ledger", tmp_path / "new.sqlite")
    assert result.exit_code == 1 and f"{book / 'csms.csv'} is missing" in result.output
    assert not (tmp_path / "new.sqlite").exists()


def test_a_draft_export_goes_ahead_unchecked_but_approval_then_rechecks(plan, tmp_path):
    """A draft export may go out without its book (it says so); that record does not vouch for the plan."""
    summary = json.loads((plan / "summary.json").read_text(encoding="utf-8"))
    for source in summary["inputs"]:
        source["path"] = str(tmp_path / "gone" / Path(source["path"]).name)
    (plan / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    ledger = tmp_path / "new.sqlite"
    result = run("export", plan, "-f", "csv", "-o", tmp_path / "out", "--allow-draft", "--ledger", ledger)
    assert result.exit_code == 0, result.output
    assert "Not re-checked against its book" in result.output
    with Ledger(ledger, create=False) as led:
        assert led.get(plan_id_of(plan)).checked is None
    result = run("plans", "approve", plan, "--by", "mallory", "--ledger", ledger)
    assert result.exit_code == 1 and "cannot be re-checked" in result.output


# -- reassignment plans: inherited overloads and unplaced accounts -----------------------------


@pytest.fixture
def overloaded(tmp_path) -> Path:
    """A reassignment of csm_leo's accounts while csm_bea is already over her cap (1 account, max 0),
    with a new account nobody owns (left unassigned): both are the plan's inheritance, not its doing."""
    book = Path(shutil.copytree(FIX / "handoff", tmp_path / "book"))
    csms = (
        (book / "csms.csv")
        .read_text(encoding="utf-8")
        .replace(
            "csm_bea,Bea Brooks,bea@example.com,,NA,-5,en,,100,50,",
            "csm_bea,Bea Brooks,bea@example.com,,NA,-5,en,,100,0,",
        )
    )
    (book / "csms.csv").write_text(csms, encoding="utf-8")
    with (book / "accounts.csv").open("a", encoding="utf-8") as fh:
        fh.write("acc_new,New Co,10000,mid_market,3,NA,-5,en,,2028-05-31,,,001000000000199AAA\n")
    result = run(
        "reassign",
        book,
        "--as-of",
        "2027-06-01",
        "--out",
        tmp_path / "plans" / "r",
        "--ledger",
        tmp_path / "solve.sqlite",
    )
    assert result.exit_code == 0, result.output
    return tmp_path / "plans" / "r"


def test_a_reassignment_with_an_inherited_overload_is_still_approvable(overloaded, tmp_path):
    _, rows = read_rows(overloaded / "assignments.csv")
    assert ("acc_new", "unassigned", "") in [(r["account_id"], r["owner_type"], r["owner_id"]) for r in rows]
    summary = json.loads((overloaded / "summary.json").read_text(encoding="utf-8"))
    # The evaluator does not cry wolf: the overload was there before and the plan did not make it worse.
    assert summary["evaluation"]["violations"] == [] and summary["evaluation"]["agrees_with_solver"]
    assert summary["evaluation"]["inherited"] == ["csm_accounts_within_cap: csm_bea: 1 accounts > 0"]
    result = run("plans", "approve", overloaded, "--by", "alice", "--ledger", tmp_path / "new.sqlite")
    assert result.exit_code == 0, result.output
    assert (
        "kept from today's owners, not made worse by the plan: csm_accounts_within_cap: csm_bea: 1 accounts > 0"
        in result.output
    )
    exported = run("export", overloaded, "-f", "gainsight", "-o", tmp_path / "out", "--ledger", tmp_path / "new.sqlite")
    assert exported.exit_code == 0, exported.output


def test_a_reassignment_that_adds_to_an_overload_is_refused(overloaded, tmp_path):
    give(overloaded, "csm_bea", 2)  # one more account on the CSM who was already over her cap
    restamp(overloaded)
    result = run("plans", "approve", overloaded, "--by", "mallory", "--ledger", tmp_path / "new.sqlite")
    assert result.exit_code == 1
    assert "csm_accounts_within_cap: csm_bea: 2 accounts > 0" in result.output


def test_split_inherited_compares_with_todays_owners():
    from planner.io import load_book
    from planner.planning.evaluate import Violation, current_plan, evaluate, split_inherited

    book = load_book(FIX / "handoff", as_of=dt.date(2027, 6, 1))
    csms = book.csms.copy()
    csms.loc[csms["csm_id"] == "csm_ann", "max_accounts"] = 0
    book = book.with_(csms=csms)
    today = current_plan(book)
    kept = [v for v in evaluate(book, today).violations if v.rule == "csm_accounts_within_cap"]
    assert [str(v) for v in kept] == ["csm_accounts_within_cap: csm_ann: 1 accounts > 0"]
    assert split_inherited(book, today, kept) == ([], kept)
    more = dict(today, acc_eta="csm_ann")
    worse = [v for v in evaluate(book, more).violations if v.rule == "csm_accounts_within_cap"]
    assert split_inherited(book, more, worse) == (worse, [])
    other = Violation("csm_accounts_within_cap", "csm_cal", "2 accounts > 1")  # not broken today: introduced
    assert split_inherited(book, today, [other]) == ([other], [])


def test_reading_commands_leave_a_ledger_file_as_it_is(plan, tmp_path):
    ledger = tmp_path / "new.sqlite"
    assert run("plans", "approve", plan, "--by", "alice", "--ledger", ledger).exit_code == 0
    before = hashlib.sha256(ledger.read_bytes()).hexdigest()
    assert run("plans", "list", "--ledger", ledger).exit_code == 0
    assert run("plans", "show", plan_id_of(plan), "--ledger", ledger).exit_code == 0
    assert hashlib.sha256(ledger.read_bytes()).hexdigest() == before
    with sqlite3.connect(ledger) as db:
        assert db.execute("SELECT checked FROM plans").fetchall() == [("evaluator",)]


def test_a_book_given_as_a_relative_path_is_found_from_another_folder(tmp_path, monkeypatch):
    shutil.copytree(FIX / "tiny", tmp_path / "book")
    monkeypatch.chdir(tmp_path)
    assert run("solve", "book", "--as-of", "2026-11-01", "--out", Path("plans") / "p").exit_code == 0
    assert json.loads((tmp_path / "plans" / "p" / "summary.json").read_text())["inputs"][0]["path"] == str(
        Path("book") / "accounts.csv"
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = run("plans", "approve", tmp_path / "plans" / "p", "--by", "alice", "--ledger", tmp_path / "new.sqlite")
    assert result.exit_code == 0, result.output
    assert "re-checked against its book" in result.output

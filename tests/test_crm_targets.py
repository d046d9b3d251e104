"""Where the CSM goes in each CRM, whose identity the book gives, and which export a rollback undoes.

Salesforce targets (owner, a user lookup field, the account team), HubSpot
owner properties, the digital program's identity from the plan (the book's
programs table), a generated book exported whole in every format and read
back, `plans mark-applied --export` / `plans rollback`, and how `plans show`
and `plans list` print.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from plan_folders import SF_USERS, account, owner, sf_account, standard_accounts, standard_owners, write_plan
from rich.console import Console
from typer.testing import CliRunner

from planner.crm import ExportError, export_plan, rollback_plan
from planner.crm.ids import to18
from planner.plans.ledger import LEDGER_NAME, Ledger, LedgerError

AS_OF = "2026-11-01"
DIGITAL = {"email": "digital-cs@example.com", "crm_user_id": "0055g00000Dig01", "hubspot_owner_id": "999"}
ROLE = "Customer Success Manager"


@pytest.fixture(autouse=True)
def _no_ledger_env(monkeypatch):
    monkeypatch.delenv("PLANNER_LEDGER", raising=False)


def make_plan(tmp_path: Path, accounts=None, owners=None, name: str = "p1") -> Path:
    owners = owners or standard_owners(digital=DIGITAL)
    return write_plan(tmp_path / "plans" / name, accounts or standard_accounts(), owners)


def rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8"), newline="")))


def records(path: Path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_bytes().decode("utf-8"), newline="")))


def summary(out: Path) -> dict:
    return json.loads((out / "export_summary.json").read_text(encoding="utf-8"))


SF = {o: to18(u) for o, u in SF_USERS.items()} | {"digital": to18(DIGITAL["crm_user_id"])}
# standard_accounts(): A1 c1->c2, A2 c1 kept, A3 new -> c2, A4 x9 (no roster) -> p1, A5 c1 -> digital, A6 c2 kept
ACC = {f"A{i}": to18(sf_account(i)) for i in range(1, 7)}


# -- Salesforce targets -------------------------------------------------------------------


def test_the_owner_target_is_todays_file_and_warns_that_it_replaces_the_account_owner(tmp_path):
    result = export_plan(make_plan(tmp_path), "salesforce", tmp_path / "out", allow_draft=True)
    assert rows(tmp_path / "out" / "salesforce_account_owners.csv")[0] == ["Id", "OwnerId"]
    assert any("replaces each account's owner" in w and "--target field:CSM__c" in w for w in result.warnings)
    assert summary(tmp_path / "out")["target"] == "Account.OwnerId"


def test_a_user_lookup_field_target_loads_id_and_the_field_and_its_rollback_the_previous_values(tmp_path):
    result = export_plan(
        make_plan(tmp_path), "salesforce", tmp_path / "out", allow_draft=True, salesforce_target="field:CSM__c"
    )
    out = tmp_path / "out"
    assert sorted(p.name for p in out.glob("*.csv")) == [
        "exceptions.csv",
        "rollback.csv",
        "salesforce_account_CSM__c.csv",
    ]
    load = rows(out / "salesforce_account_CSM__c.csv")
    assert load[0] == ["Id", "CSM__c"]
    assert dict(load[1:]) == {ACC["A1"]: SF["c2"], ACC["A2"]: SF["c1"], ACC["A3"]: SF["c2"], ACC["A4"]: SF["p1"],
                              ACC["A5"]: SF["digital"], ACC["A6"]: SF["c2"]}  # fmt: skip
    back = rows(out / "rollback.csv")
    assert back[0] == ["Id", "CSM__c"]
    assert dict(back[1:]) == {ACC["A1"]: SF["c1"], ACC["A2"]: SF["c1"], ACC["A5"]: SF["c1"], ACC["A6"]: SF["c2"]}
    assert not any("replaces each account's owner" in w for w in result.warnings)
    assert summary(out)["target"] == "Account.CSM__c" and summary(out)["options"]["salesforce_target"] == "field:CSM__c"


def test_the_account_team_target_writes_insert_and_delete_files_and_the_rollback_pair(tmp_path):
    result = export_plan(
        make_plan(tmp_path), "salesforce", tmp_path / "out", allow_draft=True, salesforce_target=f"account-team:{ROLE}"
    )
    out = tmp_path / "out"
    header = ["AccountId", "UserId", "TeamMemberRole"]
    insert, delete = rows(out / "salesforce_account_team_insert.csv"), rows(out / "salesforce_account_team_delete.csv")
    assert insert[0] == delete[0] == header
    # Every account gets its planned CSM; only members who leave an account are deleted (A4's old owner is unknown).
    assert insert[1:] == [[ACC["A1"], SF["c2"], ROLE], [ACC["A2"], SF["c1"], ROLE], [ACC["A3"], SF["c2"], ROLE],
                          [ACC["A4"], SF["p1"], ROLE], [ACC["A5"], SF["digital"], ROLE], [ACC["A6"], SF["c2"], ROLE]]  # fmt: skip
    assert delete[1:] == [[ACC["A1"], SF["c1"], ROLE], [ACC["A5"], SF["c1"], ROLE]]
    # The rollback: delete the new members, insert the old ones again.
    assert rows(out / "rollback_account_team_delete.csv")[1:] == [
        [ACC["A1"], SF["c2"], ROLE], [ACC["A3"], SF["c2"], ROLE], [ACC["A4"], SF["p1"], ROLE],
        [ACC["A5"], SF["digital"], ROLE]]  # fmt: skip
    assert rows(out / "rollback_account_team_insert.csv")[1:] == delete[1:]
    how = {f["name"]: f.get("how", "") for f in summary(out)["files"]}
    assert how["salesforce_account_team_insert.csv"] == "AccountTeamMember insert"
    assert how["salesforce_account_team_delete.csv"].startswith("AccountTeamMember delete")
    note = next(w for w in result.warnings if "account team" in w)
    assert "record ids" in note and f"WHERE TeamMemberRole = '{ROLE}'" in note
    assert result.counts["exported"] == 6 and result.counts["export_rows"] == 8 and result.counts["rollback_rows"] == 6


def test_an_account_team_crm_replayed_with_export_then_rollback_ends_where_it_began(tmp_path):
    """A toy account team (a set of members): insert + delete sets the plan, the rollback pair restores it."""
    export_plan(
        make_plan(tmp_path), "salesforce", tmp_path / "out", allow_draft=True, salesforce_target=f"account-team:{ROLE}"
    )
    out = tmp_path / "out"
    before = {(ACC[a], SF[o], ROLE) for a, o in (("A1", "c1"), ("A2", "c1"), ("A5", "c1"), ("A6", "c2"))}
    team = set(before)
    team -= {tuple(r) for r in rows(out / "salesforce_account_team_delete.csv")[1:]}
    team |= {tuple(r) for r in rows(out / "salesforce_account_team_insert.csv")[1:]}
    assert {a: u for a, u, _ in team} == {ACC["A1"]: SF["c2"], ACC["A2"]: SF["c1"], ACC["A3"]: SF["c2"],
                                         ACC["A4"]: SF["p1"], ACC["A5"]: SF["digital"], ACC["A6"]: SF["c2"]}  # fmt: skip
    assert len(team) == 6  # one member of the role per account
    team -= {tuple(r) for r in rows(out / "rollback_account_team_delete.csv")[1:]}
    team |= {tuple(r) for r in rows(out / "rollback_account_team_insert.csv")[1:]}
    assert team == before


@pytest.mark.parametrize(
    "target, message",
    [
        ("owners", "one of owner, field:NAME, account-team:ROLE"),
        ("field:", "one of owner"),
        ("field:CSM__c; DROP", "API name"),
        ("field:Id", "API name"),
        ("account-team:=HYPERLINK(1)", "Team Role"),
        ("account-team:" + "x" * 41, "at most 40"),
    ],
)
def test_a_target_salesforce_cannot_load_is_refused_before_anything_is_written(tmp_path, target, message):
    with pytest.raises(ExportError, match=message):
        export_plan(make_plan(tmp_path), "salesforce", tmp_path / "out", allow_draft=True, salesforce_target=target)
    assert not (tmp_path / "out").exists()


def test_target_and_property_belong_to_their_format(tmp_path):
    plan = make_plan(tmp_path)
    with pytest.raises(ExportError, match="--target only with --format salesforce"):
        export_plan(plan, "gainsight", tmp_path / "a", allow_draft=True, salesforce_target="owner")
    with pytest.raises(ExportError, match="--property only with --format hubspot"):
        export_plan(plan, "salesforce", tmp_path / "b", allow_draft=True, hubspot_property="csm")


# -- HubSpot properties ----------------------------------------------------------------------


def hubspot_plan(tmp_path: Path) -> Path:
    accounts = standard_accounts()
    for i, a in enumerate(accounts, start=1):
        a["hubspot_id"] = str(9000 + i)  # the HubSpot Record ID next to the Salesforce crm_id
    return make_plan(tmp_path, accounts=accounts)


def test_hubspot_property_sets_a_custom_hubspot_user_property_by_owner_id(tmp_path):
    result = export_plan(hubspot_plan(tmp_path), "hubspot", tmp_path / "out", allow_draft=True,
                         hubspot_property="customer_success_manager")  # fmt: skip
    got = rows(tmp_path / "out" / "hubspot_company_customer_success_manager.csv")
    owner = {"c1": "101", "c2": "102", "p1": "103", "digital": "999"}
    assert got[0] == ["Record ID", "customer_success_manager"]
    assert got[1:] == [["9001", owner["c2"]], ["9002", owner["c1"]], ["9003", owner["c2"]], ["9004", owner["p1"]],
                       ["9005", owner["digital"]], ["9006", owner["c2"]]]  # fmt: skip
    assert rows(tmp_path / "out" / "rollback.csv")[0] == ["Record ID", "customer_success_manager"]
    assert not any("sales owner" in w for w in result.warnings)


def test_hubspot_default_property_warns_it_is_the_sales_owner_and_by_email_keeps_company_owner(tmp_path):
    plan = hubspot_plan(tmp_path)
    result = export_plan(plan, "hubspot", tmp_path / "a", allow_draft=True)
    assert rows(tmp_path / "a" / "hubspot_company_owners.csv")[0] == ["Record ID", "hubspot_owner_id"]
    assert any("sales owner" in w for w in result.warnings)
    export_plan(plan, "hubspot", tmp_path / "b", allow_draft=True, hubspot_owner_by="email")
    assert rows(tmp_path / "b" / "hubspot_company_owners.csv")[0] == ["Record ID", "Company owner"]
    export_plan(plan, "hubspot", tmp_path / "c", allow_draft=True, hubspot_owner_by="email", hubspot_property="csm")
    got = rows(tmp_path / "c" / "hubspot_company_csm.csv")
    assert got[0] == ["Record ID", "csm"] and got[5] == ["9005", DIGITAL["email"]]
    with pytest.raises(ExportError, match="internal name"):
        export_plan(plan, "hubspot", tmp_path / "d", allow_draft=True, hubspot_property="Customer Success Manager")


# -- identities from the book -----------------------------------------------------------------


def test_the_digital_program_identity_comes_from_the_plan_and_an_option_overrides_it(tmp_path):
    plan = make_plan(tmp_path)
    export_plan(plan, "gainsight", tmp_path / "gs", allow_draft=True)
    assert dict(rows(tmp_path / "gs" / "gainsight_company_csm.csv")[1:])[sf_account(5)] == DIGITAL["email"]
    export_plan(plan, "salesforce", tmp_path / "sf", allow_draft=True, digital_owner="0055g00000Oth01")
    assert dict(rows(tmp_path / "sf" / "salesforce_account_owners.csv")[1:])[ACC["A5"]] == to18("0055g00000Oth01")


def test_an_exception_names_the_one_missing_value_and_where_to_fill_it_in(tmp_path):
    owners = standard_owners(p1={"email": ""})  # and the digital program has no identity at all
    plan = make_plan(tmp_path, owners=owners)
    export_plan(plan, "gainsight", tmp_path / "out", allow_draft=True)
    got = {e["account_id"]: e["reason"] for e in records(tmp_path / "out" / "exceptions.csv") if e["file"] == "export"}
    assert got == {"A4": "no email for pool p1 (pools.csv)",
                   "A5": "no email for the digital program digital (programs.csv, or --digital-owner)"}  # fmt: skip


# -- a generated book, exported whole in every format ---------------------------------------------


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[Path, Path]:
    """(book, plan): a generated book and its plan, as `planner generate` and `planner solve` write them."""
    from planner.cli import app

    root = tmp_path_factory.mktemp("generated")
    runner = CliRunner()
    made = runner.invoke(app, ["generate", "--accounts", "300", "--csms", "8", "--seed", "5", "--as-of", AS_OF,
                               "--out", str(root / "book")])  # fmt: skip
    assert made.exit_code == 0, made.output
    solved = runner.invoke(app, ["solve", str(root / "book"), "--out", str(root / "plans" / "plan"), "--as-of", AS_OF,
                                 "--backend", "greedy", "--no-baseline"])  # fmt: skip
    assert solved.exit_code == 0, solved.output
    return root / "book", root / "plans" / "plan"


def book_tables(book: Path) -> dict[str, list[dict]]:
    return {t: records(book / f"{t}.csv") for t in ("accounts", "csms", "pools", "programs")}


def owners_of(book: Path) -> dict[str, dict]:
    t = book_tables(book)
    return ({r["csm_id"]: r for r in t["csms"]} | {r["pool_id"]: r for r in t["pools"]}
            | {r["program_id"]: r for r in t["programs"]})  # fmt: skip


# (format, options, load file, the book's account column of its record key, the owner column of its value)
TARGETS = [
    ("salesforce", {}, "salesforce_account_owners.csv", "crm_id", "crm_user_id"),
    ("salesforce", {"salesforce_target": "field:CSM__c"}, "salesforce_account_CSM__c.csv", "crm_id", "crm_user_id"),
    ("salesforce", {"salesforce_target": f"account-team:{ROLE}"}, "salesforce_account_team_insert.csv", "crm_id",
     "crm_user_id"),
    ("hubspot", {}, "hubspot_company_owners.csv", "hubspot_id", "hubspot_owner_id"),
    ("hubspot", {"hubspot_property": "csm_owner"}, "hubspot_company_csm_owner.csv", "hubspot_id", "hubspot_owner_id"),
    ("hubspot", {"hubspot_owner_by": "email"}, "hubspot_company_owners.csv", "hubspot_id", "email"),
    ("gainsight", {}, "gainsight_company_csm.csv", "crm_id", "email"),
    ("csv", {}, "owner_changes.csv", "crm_id", "crm_user_id"),
]  # fmt: skip


@pytest.mark.parametrize("fmt, options, load, account_key, owner_key", TARGETS, ids=[f"{t[0]}-{t[2]}" for t in TARGETS])
def test_a_generated_book_exports_whole_and_its_load_file_reads_back_as_the_books_ids(
    generated, tmp_path, fmt, options, load, account_key, owner_key
):
    book, plan = generated
    result = export_plan(plan, fmt, tmp_path / "out", allow_draft=True, **options)
    assert result.counts["export_exceptions"] == 0 and result.counts["exported"] == 300  # every account loads
    accounts = {a["account_id"]: a for a in book_tables(book)["accounts"]}
    owners = owners_of(book)
    planned = records(plan / "assignments.csv")
    by_key = {accounts[r["account_id"]][account_key]: owners[r["owner_id"]][owner_key] for r in planned}
    got = rows(tmp_path / "out" / load)
    if fmt == "csv":
        col = got[0].index(f"new_owner_{owner_key}")
        loaded = {r[1]: r[col] for r in got[1:]}
    else:
        loaded = {r[0]: r[1] for r in got[1:]}
    if fmt == "salesforce":  # 18-character ids, as the generator writes them
        by_key = {to18(k): to18(v) for k, v in by_key.items()}
    assert loaded == by_key
    # The rollback leaves out only what nothing could restore: new accounts and owners on no roster.
    why = {e["reason"].split(":")[0].split(",")[0] for e in records(tmp_path / "out" / "exceptions.csv")}
    assert why <= {"new account", "owner 'csm_9001' is on no roster"} or all(
        "no roster" in w or "new account" in w for w in why
    )


def test_a_generated_book_exported_as_json_has_every_account_too(generated, tmp_path):
    book, plan = generated
    result = export_plan(plan, "json", tmp_path / "out", allow_draft=True)
    doc = json.loads((tmp_path / "out" / "owner_changes.json").read_text(encoding="utf-8"))
    owners = owners_of(book)
    assert result.counts["export_exceptions"] == 0 and len(doc["records"]) == 300
    assert all(r["new_owner_crm_user_id"] == owners[r["new_owner_id"]]["crm_user_id"] for r in doc["records"])


def test_assignments_name_the_previous_owner_beside_the_id(generated):
    book, plan = generated
    owners = owners_of(book)
    planned = records(plan / "assignments.csv")
    for r in planned:
        prev = owners.get(r["previous_owner"], {})
        assert (r["previous_owner_name"], r["previous_owner_email"]) == (prev.get("name", ""), prev.get("email", ""))
    assert any(r["previous_owner_name"] for r in planned) and any(r["owner_type"] == "digital" for r in planned)
    digital = next(r for r in planned if r["owner_type"] == "digital")
    assert (digital["owner_name"], digital["owner_email"]) == ("Digital program", "digital-cs@example.com")
    owner_rows = {r["owner_id"]: r for r in records(plan / "owners.csv")}
    assert owner_rows["digital"]["hubspot_owner_id"] == owners["digital"]["hubspot_owner_id"]
    assert all(owner_rows[p]["hubspot_owner_id"] == owners[p]["hubspot_owner_id"] for p in owner_rows)


def test_the_solve_output_names_an_unplaced_account_and_its_owner_today(tmp_path):
    """The terminal lists an account nobody may take with its name and today's owner's name, not ids alone."""
    import shutil

    from planner.cli import app

    book = tmp_path / "book"
    shutil.copytree(Path(__file__).resolve().parents[1] / "fixtures" / "tiny", book)
    accounts = book / "accounts.csv"
    text = accounts.read_text(encoding="utf-8")
    accounts.write_text(text.replace("acc_6,Zeta Inc,150000,mid_market,5,NA,-5,en,", "acc_6,Zeta Inc,150000,mid_market,5,NA,-5,ja,"),
                        encoding="utf-8")  # fmt: skip
    r = CliRunner().invoke(app, ["solve", str(book), "--as-of", AS_OF, "--out", str(tmp_path / "plan")])
    assert r.exit_code == 5, r.output
    (row,) = [a for a in records(tmp_path / "plan" / "assignments.csv") if a["account_id"] == "acc_6"]
    line = next(line for line in r.output.splitlines() if "acc_6" in line)
    assert "acc_6 Zeta Inc ($150,000 ARR" in line
    if row["previous_owner"]:
        assert f"today {row['previous_owner']} ({row['previous_owner_name']})" in line


def test_an_owner_over_a_cap_is_named_in_the_summary_table():
    from types import SimpleNamespace

    import pandas as pd

    from planner.cli.report import owner_label, owner_names

    result = SimpleNamespace(
        owners=pd.DataFrame({"owner_id": ["csm_003", "digital"], "name": ["Jane Doe", "Digital program"]})
    )
    names = owner_names(result)
    assert owner_label("csm_003", names) == "csm_003 (Jane Doe)" and owner_label("x9", names) == "x9"


# -- which export was applied, and what a rollback undoes -------------------------------------------


@pytest.fixture
def cli():
    from planner.cli import app

    runner = CliRunner()
    return lambda *args: runner.invoke(app, [str(a) for a in args])


def approved(tmp_path: Path) -> tuple[Path, str, Path]:
    plan = make_plan(tmp_path)
    ledger = plan.parent / LEDGER_NAME
    with Ledger(ledger) as led:
        plan_id = led.record_plan(plan, checked="solve")
        led.transition(plan_id, "approved", "alice")
    return plan, plan_id, ledger


def test_rollback_undoes_the_export_recorded_as_applied_not_the_last_one(tmp_path, cli):
    plan, plan_id, ledger = approved(tmp_path)
    export_plan(plan, "salesforce", tmp_path / "sf", salesforce_target="field:CSM__c")
    export_plan(plan, "json", tmp_path / "js")

    refused = cli("plans", "mark-applied", plan_id, "--ledger", ledger)
    assert refused.exit_code == 1 and "2 different exports" in refused.output and "--export N" in refused.output
    marked = cli("plans", "mark-applied", plan_id, "--export", 1, "--ledger", ledger, "--note", "job 7")
    assert marked.exit_code == 0 and "export #1 salesforce" in marked.output

    both = cli("plans", "rollback", plan_id, "--out", tmp_path / "rb", "--export", 1, "-f", "json", "--ledger", ledger)
    assert both.exit_code == 2 and "got both" in both.output and not (tmp_path / "rb").exists()
    rolled = cli("plans", "rollback", plan_id, "--out", tmp_path / "rb", "--ledger", ledger)
    assert rolled.exit_code == 0, rolled.output
    assert f"\nRolls back export #1 (salesforce -> {tmp_path / 'sf'})" in rolled.output  # a note, not a warning
    assert "warning: Rolls back" not in rolled.output
    assert (tmp_path / "rb" / "rollback.csv").read_bytes() == (tmp_path / "sf" / "rollback.csv").read_bytes()
    assert rows(tmp_path / "rb" / "rollback.csv")[0] == ["Id", "CSM__c"]
    assert summary(tmp_path / "rb")["options"]["rolls_back"] == 1
    with Ledger(ledger, create=False) as led:
        assert led.get(plan_id).state == "rolled_back"
        assert led.applied_export(plan_id).id == 1


def test_rollback_of_another_export_than_the_applied_one_says_so(tmp_path):
    plan, plan_id, ledger = approved(tmp_path)
    export_plan(plan, "salesforce", tmp_path / "sf", salesforce_target=f"account-team:{ROLE}")
    export_plan(plan, "gainsight", tmp_path / "gs")
    with Ledger(ledger) as led:
        led.mark_applied(plan_id, "bob", export_id=1)
    result = rollback_plan(plan_id, tmp_path / "rb", ledger, export_id=2)
    assert (tmp_path / "rb" / "rollback.csv").exists()
    assert any("is not the one recorded as applied" in w for w in result.warnings)
    team = rollback_plan(plan_id, tmp_path / "rb-team", ledger)  # the applied one: the account-team pair
    assert sorted(f["name"] for f in team.files if f["role"] == "rollback") == [
        "rollback_account_team_delete.csv", "rollback_account_team_insert.csv"]  # fmt: skip
    assert all(
        (tmp_path / "rb-team" / n).read_bytes() == (tmp_path / "sf" / n).read_bytes()
        for n in ("rollback_account_team_delete.csv", "rollback_account_team_insert.csv")
    )
    with pytest.raises(LedgerError, match="got #7"):
        rollback_plan(plan_id, tmp_path / "rb7", ledger, export_id=7)


def test_the_export_config_sets_the_default_target_and_the_command_line_wins(tmp_path, cli):
    plan, plan_id, ledger = approved(tmp_path)
    config = tmp_path / "export.toml"
    config.write_text(f'[export]\nsalesforce_target = "account-team:{ROLE}"\nhubspot_property = "csm_owner"\n')
    team = cli("export", plan, "-f", "salesforce", "-o", tmp_path / "a", "--config", config)
    assert team.exit_code == 0, team.output
    assert (tmp_path / "a" / "salesforce_account_team_insert.csv").exists()
    field = cli(
        "export", plan, "-f", "salesforce", "-o", tmp_path / "b", "--config", config, "--target", "field:CSM__c"
    )
    assert field.exit_code == 0 and (tmp_path / "b" / "salesforce_account_CSM__c.csv").exists()
    gs = cli("export", plan, "-f", "gainsight", "-o", tmp_path / "c", "--config", config)  # not Salesforce's setting
    assert gs.exit_code == 0, gs.output
    wrong = cli("export", plan, "-f", "gainsight", "-o", tmp_path / "d", "--target", "owner")
    assert wrong.exit_code == 2 and "--target only with --format salesforce" in wrong.output  # a usage error
    assert not (tmp_path / "d").exists()


# -- plans show and plans list ------------------------------------------------------------------


def test_plans_show_prints_tables_not_raw_dicts(tmp_path, cli):
    plan, plan_id, ledger = approved(tmp_path)
    export_plan(plan, "salesforce", tmp_path / "sf")
    with Ledger(ledger) as led:
        led.mark_applied(plan_id, "bob")
    shown = cli("plans", "show", plan_id, "--ledger", ledger)
    assert shown.exit_code == 0, shown.output
    assert "{" not in shown.output and "'" not in shown.output  # no Python dict anywhere
    lines = shown.output.splitlines()
    assert any("accounts" in line and "6" in line for line in lines)  # counts as a table row
    export_line = [line for line in lines if str(tmp_path / "sf") in line][-1]  # the exports table comes last
    assert "by bob" in export_line and "salesforce" in export_line  # which export was applied, by whom
    assert "owner" in export_line  # the target, its default named


def ledger_with_long_values(tmp_path: Path) -> Path:
    plan, plan_id, ledger = approved(tmp_path)
    with Ledger(ledger) as led:  # a big plan: long numbers
        led._db.execute("UPDATE plans SET objective = 1177123456.75, counts_json = '{\"moved\": 1234567}'")
    return ledger


def test_plans_list_in_a_pipe_is_one_table_of_whole_lines(tmp_path, cli):
    ledger = ledger_with_long_values(tmp_path)
    listed = cli("plans", "list", "--ledger", ledger)
    assert listed.exit_code == 0
    line = next(line for line in listed.output.splitlines() if "plan-" in line)
    assert "1,177,123,456.75" in line and "1,234,567" in line and "approved" in line and "…" not in listed.output


@pytest.mark.parametrize("width", [80, 50, 24])
def test_plans_list_on_a_narrow_terminal_wraps_and_never_cuts(tmp_path, monkeypatch, width):
    import planner.cli.plans as plans_cli
    from planner.cli.plans import list_plans

    ledger = ledger_with_long_values(tmp_path)
    buf = io.StringIO()
    monkeypatch.setattr(plans_cli, "out", Console(file=buf, width=width, markup=False, emoji=False, highlight=False))
    list_plans(ledger=ledger)
    text = buf.getvalue()
    assert "…" not in text and all(len(line) <= width for line in text.splitlines())
    with Ledger(ledger, create=False) as led:
        (record,) = led.list()
    flat = "".join(text.split())  # wrapped cells joined again: nothing is missing
    for value in (record.plan_id, "1,177,123,456.75", "1,234,567", "approved"):
        assert value in flat
    assert any(record.plan_id in line for line in text.splitlines())  # the id itself is never broken


# -- names beside ids: handoffs.csv and the reassign / coverage tables -------------------------------

HANDOFF_BOOK = Path(__file__).resolve().parent.parent / "fixtures" / "handoff"


def test_handoffs_name_the_leaver_the_successor_and_the_introducer(tmp_path, cli):
    done = cli("reassign", HANDOFF_BOOK, "--as-of", "2027-06-01", "--out", tmp_path / "plan")
    assert done.exit_code == 0, done.output
    handoffs = records(tmp_path / "plan" / "handoffs.csv")
    epsilon = next(r for r in handoffs if r["account_id"] == "acc_epsilon")
    assert (epsilon["from"], epsilon["from_name"]) == ("csm_leo", "Leo Lane")
    assert (epsilon["to"], epsilon["to_name"], epsilon["to_email"]) == ("csm_dan", "Dan Diaz", "dan@example.com")
    assert (epsilon["introducer"], epsilon["introducer_name"]) == ("csm_leo", "Leo Lane")
    row = next(line for line in done.output.splitlines() if "acc_epsilon" in line)
    assert "Epsilon Ltd" in row and "csm_dan (Dan Diaz)" in row and "intro: csm_leo (Leo Lane)" in row


def test_coverage_tables_name_accounts_and_csms(cli):
    done = cli("coverage", HANDOFF_BOOK, "--as-of", "2027-06-01")
    assert done.exit_code == 0, done.output
    lines = done.output.splitlines()
    assert any("acc_alpha Alpha Corp" in line and "csm_leo (Leo Lane)" in line for line in lines)
    assert any(line.count("(") >= 1 and "csm_leo (Leo Lane)" in line and "leaving" in line for line in lines)


def test_plans_diff_names_the_owners_of_each_moved_account(tmp_path, cli):
    owners = [owner("c1", "csm", "0055g00000Usr01", "c1@example.com"), owner("c2", "csm", "0055g00000Usr02")]
    a = write_plan(tmp_path / "a", [account("A1", "c1", "c1", "1"), account("A2", "c2", "c2", "2")], owners,
                   plan_id="plan-00000000000a")  # fmt: skip
    b = write_plan(tmp_path / "b", [account("A1", "c2", "c1", "1"), account("A2", "c2", "c2", "2")], owners,
                   plan_id="plan-00000000000b")  # fmt: skip
    shown = cli("plans", "diff", a, b)
    assert shown.exit_code == 0, shown.output
    moved = next(line for line in shown.output.splitlines() if "A1" in line)
    assert "c1 (C1)" in moved and "c2 (C2)" in moved


def test_export_takes_to_as_another_name_for_format(tmp_path, cli):
    plan, plan_id, ledger = approved(tmp_path)
    done = cli("export", plan, "--to", "salesforce", "--target", "field:CSM__c", "--out", tmp_path / "sf")
    assert done.exit_code == 0, done.output
    assert rows(tmp_path / "sf" / "salesforce_account_CSM__c.csv")[0] == ["Id", "CSM__c"]

"""planner import: CRM exports in, a book out; the round trip back to each CRM's load file; column maps and messages."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
from crm_exports import write_export
from typer.testing import CliRunner

from planner.cli import app
from planner.generate import generate_book, write_book

runner = CliRunner()
AS_OF = "2026-01-05"
LOAD_FILES = {
    "salesforce": ("salesforce_account_owners.csv", "Id", "OwnerId"),
    "hubspot": ("hubspot_company_owners.csv", "Record ID", "hubspot_owner_id"),
    "gainsight": ("gainsight_company_csm.csv", "Company External ID", "CSM Email"),
}


@pytest.fixture(autouse=True)
def _no_ledger_env(monkeypatch):
    monkeypatch.delenv("PLANNER_LEDGER", raising=False)


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gen") / "book"
    write_book(generate_book(120, 6, seed=3, as_of=pd.Timestamp(AS_OF).date()), out)
    return out


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


@pytest.mark.parametrize("crm", ["salesforce", "hubspot", "gainsight"])
def test_round_trip_import_solve_export(crm, generated, tmp_path):
    export = write_export(crm, generated, tmp_path / "crm")
    book, plan, load = tmp_path / "book", tmp_path / "plan", tmp_path / "load"
    result = invoke("import", crm, export.accounts, "--users", export.users, "--out", book, "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    assert "Book written" in result.output
    imported = pd.read_csv(book / "accounts.csv", dtype=str, keep_default_na=False)
    # Every account kept its owner: none read as new, none left unmatched.
    assert (imported["current_owner"] != "").sum() == sum(
        r["current_owner"] != "" for r in rows(generated / "accounts.csv")
    )
    assert set(imported["region"]) <= {"NA", "EMEA", "APAC", "LATAM"}
    result = invoke("solve", book, "--out", plan, "--as-of", AS_OF, "--ledger", tmp_path / "l.sqlite")
    assert result.exit_code in (0, 5), result.output
    result = invoke(
        "export", plan, "--format", crm, "--out", load, "--allow-draft", "--ledger", tmp_path / "l.sqlite",
        "--digital-owner", export.digital,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    name, id_column, owner_column = LOAD_FILES[crm]
    loaded = rows(load / name)
    excepted = {r["account_id"] for r in rows(load / "exceptions.csv") if r["file"] != "rollback"}
    loaded_ids = {r[id_column] for r in loaded}
    # The load file's ids are the CRM export's own ids: every account is loaded or listed as an exception.
    assert loaded_ids <= export.account_ids
    assert len(loaded) == len(loaded_ids)
    assert loaded_ids | excepted == export.account_ids and not loaded_ids & excepted
    assert len(loaded) >= len(export.account_ids) - 2
    # Every owner the load file names is a user of the CRM's users export.
    assert {r[owner_column] for r in loaded} <= export.user_ids
    # And it is the owner the plan chose.
    assigned = {r["account_id"]: r["owner_id"] for r in rows(plan / "assignments.csv")}
    csms = {r["csm_id"]: r for r in rows(book / "csms.csv")}
    key = {"salesforce": "crm_user_id", "hubspot": "hubspot_owner_id", "gainsight": "email"}[crm]
    by_crm = {r["crm_id"]: r["account_id"] for r in rows(book / "accounts.csv")}
    gs = {r.get("gainsight_id", ""): r["account_id"] for r in rows(book / "accounts.csv")}
    for r in loaded:
        account = by_crm.get(r[id_column]) or gs[r[id_column]]
        owner = assigned[account]
        if owner in csms:
            assert r[owner_column] == csms[owner][key]
        else:
            assert r[owner_column] == export.digital


def test_amounts_with_a_locale_read_or_one_grouped_rejection(generated, tmp_path):
    export = write_export("salesforce", generated, tmp_path / "crm", money="us")
    result = invoke("import", "salesforce", export.accounts, "--users", export.users, "--out", tmp_path / "b1")
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if "AnnualRevenue" in line and "error" in line]
    assert len(lines) == 1, result.output  # one line for 120 rows
    assert "120 rows" in lines[0] and "--locale en-US" in lines[0]
    assert "120 error(s)" in result.output  # each row's problem counted once (the book's check repeated it)
    assert not (tmp_path / "b1").exists()
    result = invoke(
        "import", "salesforce", export.accounts, "--users", export.users, "--out", tmp_path / "b2", "--locale", "en-US"
    )
    assert result.exit_code == 0, result.output
    arr = pd.read_csv(tmp_path / "b2" / "accounts.csv", dtype=str)["arr"]
    original = pd.read_csv(generated / "accounts.csv", dtype=str)["arr"]
    assert [float(a) for a in arr] == [float(a) for a in original]


def test_unknown_country_is_reported_with_row_and_column(generated, tmp_path):
    export = write_export("hubspot", generated, tmp_path / "crm")
    frame = pd.read_csv(export.accounts, dtype=str, keep_default_na=False)
    frame.loc[[3, 7, 9], "Country/Region"] = "Narnia"
    frame.to_csv(export.accounts, index=False)
    result = invoke("import", "hubspot", export.accounts, "--users", export.users, "--out", tmp_path / "b")
    assert result.exit_code == 1
    assert "accounts.csv, column 'Country/Region': 3 rows (rows 5, 9, 11)" in result.output
    assert "'Narnia'" in result.output


def test_map_replaces_a_standard_entry_and_adds_regions(generated, tmp_path):
    export = write_export("salesforce", generated, tmp_path / "crm")
    frame = pd.read_csv(export.accounts, dtype=str, keep_default_na=False)
    frame = frame.rename(columns={"OwnerId": "CSM_User__c"})
    frame.to_csv(export.accounts, index=False)
    result = invoke("import", "salesforce", export.accounts, "--users", export.users, "--out", tmp_path / "b0")
    # The CSM column is one the standard map does not know: every account would be new, so nothing is written.
    assert result.exit_code == 1
    map_file = tmp_path / "map.toml"
    map_file.write_text('[accounts]\ncurrent_owner = "CSM_User__c"\n\n[regions]\nDE = "DACH"\n', encoding="utf-8")
    result = invoke(
        "import", "salesforce", export.accounts, "--users", export.users, "--out", tmp_path / "b", "--map", map_file
    )
    assert result.exit_code == 0, result.output
    accounts = pd.read_csv(tmp_path / "b" / "accounts.csv", dtype=str, keep_default_na=False)
    assert (accounts["current_owner"] != "").all() or (accounts["current_owner"] != "").sum() > 100
    germany = frame["BillingCountry"] == "Germany"
    assert germany.any() and set(accounts.loc[germany.to_numpy(), "region"]) == {"DACH"}


def test_near_miss_column_of_a_crm_warns_with_the_map_line(generated, tmp_path):
    export = write_export("gainsight", generated, tmp_path / "crm")
    frame = pd.read_csv(export.accounts, dtype=str, keep_default_na=False)
    frame["Health Score"] = frame["Current Score"]
    frame.to_csv(export.accounts, index=False)
    result = invoke("import", "gainsight", export.accounts, "--users", export.users, "--out", tmp_path / "b")
    assert result.exit_code == 0, result.output
    assert "'Health Score', which looks like health, is NOT read" in result.output
    assert '[accounts] health = "Health Score"' in result.output


def test_ambiguous_owner_name_is_an_error_naming_both(generated, tmp_path):
    export = write_export("hubspot", generated, tmp_path / "crm")
    users = pd.read_csv(export.users, dtype=str, keep_default_na=False)
    owner = pd.read_csv(export.accounts, dtype=str, keep_default_na=False)["Company owner"].iloc[1]
    first, _, last = owner.partition(" ")
    twin = users.iloc[[0]].assign(**{"Owner ID": "79999", "First Name": first.upper(), "Last Name": last,
                                     "Email": "twin@example.com"})  # fmt: skip
    pd.concat([users, twin]).to_csv(export.users, index=False)
    result = invoke("import", "hubspot", export.accounts, "--users", export.users, "--out", tmp_path / "b")
    assert result.exit_code == 1
    line = next(line for line in result.output.splitlines() if "ambiguous" in line or "matches 2" in line)
    assert "79999" in line and "by name" in line


def test_unreadable_export_names_the_file_without_a_traceback(tmp_path):
    accounts = tmp_path / "accounts.csv"
    accounts.write_bytes(b"")
    users = tmp_path / "users.csv"
    users.write_text("Id,Name\n", encoding="utf-8")
    result = invoke("import", "salesforce", accounts, "--users", users, "--out", tmp_path / "b")
    assert result.exit_code == 1
    assert "accounts.csv" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "b").exists()


def owner_types(accounts: pd.DataFrame, pools: set[str], digital: str = "digital") -> list[str]:
    kind = {"": "", digital: "digital"} | dict.fromkeys(pools, "pool")
    return [kind.get(o, "csm") for o in accounts["current_owner"]]


@pytest.mark.parametrize("crm", ["salesforce", "hubspot", "gainsight"])
def test_map_names_the_pools_and_the_digital_user(crm, generated, tmp_path):
    """The pooled-CS and Digital CS users of a CRM export become the book's pools and digital program, not CSMs."""
    export = write_export(crm, generated, tmp_path / "crm")
    pools = pd.read_csv(generated / "pools.csv", dtype=str, keep_default_na=False)
    assert len(pools) >= 1
    # One pool by its name (case and spacing changed), the others by their user's email; digital by its name.
    refs = ["  " + pools["name"].iloc[0].upper().replace(" ", "  ")]
    refs += [f"{p}@pools.example.com" for p in pools["pool_id"][1:]]
    map_file = tmp_path / "map.toml"
    quoted = ", ".join(f'"{r}"' for r in refs)
    map_file.write_text(f'[roster]\npools = [{quoted}]\ndigital = "digital cs"\n', encoding="utf-8")
    book, plan, load = tmp_path / "book", tmp_path / "plan", tmp_path / "load"
    result = invoke(
        "import", crm, export.accounts, "--users", export.users, "--map", map_file, "--out", book, "--as-of", AS_OF
    )
    assert result.exit_code == 0, result.output
    assert f"{len(pools)} pool(s)" in result.output and "the digital program" in result.output
    assert "capacity_hours of each pool is the hours a month its accounts need today" in result.output
    made = pd.read_csv(book / "pools.csv", dtype=str, keep_default_na=False)
    programs = pd.read_csv(book / "programs.csv", dtype=str, keep_default_na=False)
    csms = pd.read_csv(book / "csms.csv", dtype=str, keep_default_na=False)
    assert sorted(made["name"]) == sorted(pools["name"])
    assert sorted(made["email"]) == sorted(f"{p}@pools.example.com" for p in pools["pool_id"])
    assert (made["capacity_hours"].astype(float) > 0).all() and (made["segments"] != "").all()
    identity = programs[["program_id", "name", "email"]].values.tolist()
    assert identity == [["digital", "Digital CS", "digital@example.com"]]
    assert not csms["name"].isin([*pools["name"], "Digital CS"]).any()
    # Every account has the kind of owner the generated book gave it (CSM, pool, digital or none).
    original = pd.read_csv(generated / "accounts.csv", dtype=str, keep_default_na=False)
    imported = pd.read_csv(book / "accounts.csv", dtype=str, keep_default_na=False)
    assert owner_types(imported, set(made["pool_id"])) == owner_types(original, set(pools["pool_id"]))
    assert "pool" in owner_types(imported, set(made["pool_id"])) and "digital" in owner_types(imported, set())
    result = invoke("solve", book, "--out", plan, "--as-of", AS_OF, "--ledger", tmp_path / "l.sqlite")
    assert result.exit_code in (0, 5), result.output
    # No --digital-owner: the book's programs row and pools' identities name every owner.
    result = invoke("export", plan, "--format", crm, "--out", load, "--allow-draft", "--ledger", tmp_path / "l.sqlite")
    assert result.exit_code == 0, result.output
    name, id_column, owner_column = LOAD_FILES[crm]
    loaded = rows(load / name)
    excepted = [r for r in rows(load / "exceptions.csv") if r["file"] != "rollback"]
    assigned = pd.read_csv(plan / "assignments.csv", dtype=str, keep_default_na=False)
    assert len(excepted) == int((assigned["owner_id"] == "").sum())
    assert {r[owner_column] for r in loaded} <= export.user_ids
    assert export.digital in {r[owner_column] for r in loaded}


def test_misspelt_pool_and_a_pool_owning_nothing_warn_by_name(generated, tmp_path):
    export = write_export("salesforce", generated, tmp_path / "crm")
    idle = pd.read_csv(export.users, dtype=str, keep_default_na=False)
    idle = idle.iloc[[0]].assign(Id="0055g000IDLE001AAA", Name="Idle Pool", Email="idle@example.com")
    pd.concat([pd.read_csv(export.users, dtype=str, keep_default_na=False), idle]).to_csv(export.users, index=False)
    map_file = tmp_path / "map.toml"
    text = '[roster]\npools = ["Emea & Apac Poled CS", "Idle Pool"]\ndigital = "Digital CS"\n'
    map_file.write_text(text, encoding="utf-8")
    result = invoke(
        "import", "salesforce", export.accounts, "--users", export.users, "--map", map_file,
        "--out", tmp_path / "b", "--as-of", AS_OF,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if "Poled" in line)
    assert line.startswith("warning") and "[roster] pools" in line and "matches none" in line
    line = next(line for line in result.output.splitlines() if "'Idle Pool'" in line)
    assert line.startswith("warning") and "owns no account" in line
    made = pd.read_csv(tmp_path / "b" / "pools.csv", dtype=str, keep_default_na=False)
    assert list(made["name"]) == ["Idle Pool"]


def test_map_sets_a_pools_capacity(generated, tmp_path):
    export = write_export("gainsight", generated, tmp_path / "crm")
    name = pd.read_csv(generated / "pools.csv", dtype=str, keep_default_na=False)["name"].iloc[0]
    map_file = tmp_path / "map.toml"
    map_file.write_text(
        f'[roster]\npools = ["{name}"]\n\n[pools."{name.lower()}"]\ncapacity_hours = 321\nlanguages = ["en", "de"]\n',
        encoding="utf-8",
    )
    result = invoke(
        "import", "gainsight", export.accounts, "--users", export.users, "--map", map_file,
        "--out", tmp_path / "b", "--as-of", AS_OF,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    made = pd.read_csv(tmp_path / "b" / "pools.csv", dtype=str, keep_default_na=False)
    assert made[["capacity_hours", "languages"]].values.tolist() == [["321", "en;de"]]
    assert "capacity_hours of each pool" not in result.output


def test_a_books_digital_program_matches_as_an_owner_by_its_email(generated, tmp_path):
    """current_owner holding the programs row's email (as a CRM export would) is the digital owner, not unknown."""
    book = tmp_path / "book"
    book.mkdir()
    for f in generated.iterdir():
        (book / f.name).write_bytes(f.read_bytes())
    accounts = pd.read_csv(book / "accounts.csv", dtype=str, keep_default_na=False)
    email = pd.read_csv(book / "programs.csv", dtype=str, keep_default_na=False)["email"].iloc[0]
    digital = accounts["current_owner"] == "digital"
    assert digital.sum() >= 3
    accounts.loc[digital, "current_owner"] = email.upper()
    accounts.to_csv(book / "accounts.csv", index=False)
    result = invoke("validate", book, "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    assert email.upper() not in result.output and f"{int(digital.sum())} by email" in result.output


def test_an_owner_with_far_more_accounts_than_a_csm_may_hold_is_named_with_the_map_line(tmp_path):
    """Without [roster] pools / digital the pooled and digital users read as CSMs; the import says which and how."""
    generated = write_book(generate_book(600, 12, seed=3, as_of=pd.Timestamp(AS_OF).date()), tmp_path / "gen")
    export = write_export("salesforce", generated, tmp_path / "crm")
    result = invoke("import", "salesforce", export.accounts, "--users", export.users, "--out", tmp_path / "b",
                    "--as-of", AS_OF)  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if "pooled team or the digital program" in line]
    digital = next(line for line in lines if "Digital CS" in line)
    assert digital.startswith("warning: users.csv: Expected a CSM to own at most 50 accounts, Digital CS (")
    assert '[roster] digital = "Digital CS"' in digital
    csms = pd.read_csv(generated / "csms.csv", dtype=str, keep_default_na=False)
    assert not any(name in line for line in lines for name in csms["name"])  # real CSMs are not named

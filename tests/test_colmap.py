"""A book in a CRM's column names: --map, near misses, owners by email or name, grouped findings, --report."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from planner.cli import app
from planner.generate import generate_book, write_book

runner = CliRunner()
AS_OF = "2026-01-05"
MAP = '[accounts]\ncurrent_owner = "OwnerId"\nrenewal_date = "Renewal Date"\n'


@pytest.fixture(autouse=True)
def _no_ledger_env(monkeypatch):
    monkeypatch.delenv("PLANNER_LEDGER", raising=False)


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gen") / "book"
    write_book(generate_book(120, 6, seed=3, as_of=pd.Timestamp(AS_OF).date()), out)
    return out


def crm_named(generated: Path, tmp_path: Path, money: bool = False) -> Path:
    """The generated book with OwnerId (holding the CSMs' emails) and Renewal Date, as a CRM export names them."""
    book = tmp_path / "book"
    book.mkdir()
    for f in generated.iterdir():
        (book / f.name).write_bytes(f.read_bytes())
    accounts = pd.read_csv(book / "accounts.csv", dtype=str, keep_default_na=False)
    csms = pd.read_csv(book / "csms.csv", dtype=str, keep_default_na=False)
    emails = dict(zip(csms["csm_id"], csms["email"], strict=True))
    accounts["current_owner"] = accounts["current_owner"].map(lambda o: emails.get(o, o))
    if money:
        accounts["arr"] = accounts["arr"].map(lambda x: f"${float(x):,.0f}")
    accounts.rename(columns={"current_owner": "OwnerId", "renewal_date": "Renewal Date"}).to_csv(
        book / "accounts.csv", index=False
    )
    return book


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_crm_column_names_warn_with_the_map_line(generated, tmp_path):
    book = crm_named(generated, tmp_path)
    result = invoke("validate", book, "--as-of", AS_OF)
    assert result.exit_code == 0
    assert "got 'OwnerId', which is NOT read" in result.output
    assert '[accounts] current_owner = "OwnerId"' in result.output
    assert '[accounts] renewal_date = "Renewal Date"' in result.output


def test_map_reads_the_columns_and_owners_match_by_email(generated, tmp_path):
    book = crm_named(generated, tmp_path)
    (tmp_path / "m.toml").write_text(MAP, encoding="utf-8")
    result = invoke("validate", book, "--map", tmp_path / "m.toml", "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    assert "NOT read" not in result.output
    assert "by email" in result.output
    plan = tmp_path / "plan"
    result = invoke("solve", book, "--map", tmp_path / "m.toml", "--out", plan, "--as-of", AS_OF)
    assert result.exit_code in (0, 5), result.output
    with (plan / "assignments.csv").open(encoding="utf-8") as f:
        previous = [r["previous_owner"] for r in csv.DictReader(f)]
    csms = set(pd.read_csv(generated / "csms.csv", dtype=str)["csm_id"])
    # Accounts keep their current CSM as previous owner: not read as new accounts.
    assert sum(p in csms for p in previous) > 20


def test_money_is_one_grouped_line_and_reads_under_a_locale(generated, tmp_path):
    book = crm_named(generated, tmp_path, money=True)
    (tmp_path / "m.toml").write_text(MAP, encoding="utf-8")
    result = invoke("validate", book, "--map", tmp_path / "m.toml", "--as-of", AS_OF)
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if "column 'arr'" in line]
    assert len(lines) == 1 and "120 rows" in lines[0] and "--locale en-US" in lines[0]
    report = tmp_path / "findings.csv"
    result = invoke("validate", book, "--map", tmp_path / "m.toml", "--as-of", AS_OF, "--report", report)
    with report.open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["column"] == "arr"]
    assert len(rows) == 120 and {r["rule"] for r in rows} == {"amount_needs_locale"}
    result = invoke("validate", book, "--map", tmp_path / "m.toml", "--locale", "en-US", "--as-of", AS_OF)
    assert result.exit_code == 0, result.output


def test_ambiguous_owner_name_names_both(generated, tmp_path):
    book = crm_named(generated, tmp_path)
    csms = pd.read_csv(book / "csms.csv", dtype=str, keep_default_na=False)
    csms.loc[1, "name"] = csms.loc[0, "name"].upper()
    csms.to_csv(book / "csms.csv", index=False)
    accounts = pd.read_csv(book / "accounts.csv", dtype=str, keep_default_na=False)
    accounts.loc[0, "OwnerId"] = " " + csms.loc[0, "name"].lower() + " "
    accounts.to_csv(book / "accounts.csv", index=False)
    (tmp_path / "m.toml").write_text(MAP, encoding="utf-8")
    result = invoke("validate", book, "--map", tmp_path / "m.toml", "--as-of", AS_OF)
    assert result.exit_code == 1
    line = next(line for line in result.output.splitlines() if "matches 2" in line)
    assert csms.loc[0, "csm_id"] in line and csms.loc[1, "csm_id"] in line and "row 2" in line


def test_empty_optional_table_is_absent_with_a_note(generated, tmp_path):
    book = crm_named(generated, tmp_path)
    (book / "pools.csv").write_bytes(b"")
    result = invoke("validate", book, "--as-of", AS_OF)
    assert "pools.csv" in result.output and "0 bytes" in result.output and "read as absent" in result.output
    assert "error" not in result.output.split("pools.csv")[0][-10:]


def test_workbook_errors_name_the_sheet(generated, tmp_path):
    book = tmp_path / "book.xlsx"
    accounts = pd.read_csv(generated / "accounts.csv", dtype=str, keep_default_na=False)
    accounts.loc[:5, "arr"] = "$1,200"
    with pd.ExcelWriter(book) as writer:
        accounts.to_excel(writer, sheet_name="accounts", index=False)
        pd.read_csv(generated / "csms.csv", dtype=str).to_excel(writer, sheet_name="csms", index=False)
    result = invoke("validate", book, "--as-of", AS_OF)
    assert result.exit_code == 1
    assert "book.xlsx, sheet 'accounts', column 'arr': 6 rows" in result.output


def test_a_plan_solved_through_a_map_with_a_locale_exports(generated, tmp_path):
    """The map (with its locale) is one of the book's sources: the export's re-check reads the book through it."""
    book = crm_named(generated, tmp_path, money=True)
    (tmp_path / "m.toml").write_text('[options]\nlocale = "en-US"\n\n' + MAP, encoding="utf-8")
    plan, ledger = tmp_path / "plan", tmp_path / "l.sqlite"
    result = invoke("solve", book, "--map", tmp_path / "m.toml", "--out", plan, "--as-of", AS_OF, "--ledger", ledger)
    assert result.exit_code in (0, 5), result.output
    result = invoke("export", plan, "--format", "csv", "--out", tmp_path / "e", "--allow-draft", "--ledger", ledger)
    assert result.exit_code == 0, result.output
    # Without the map the book does not read: the amounts need the locale.
    assert invoke("validate", book, "--as-of", AS_OF).exit_code == 1

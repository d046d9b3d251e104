"""CRM export: formats read back as the plan, ids, injection, splitting, atomicity, ledger gates, CLI."""

from __future__ import annotations

import codecs
import csv
import io
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from plan_folders import SF_USERS, account, owner, sf_account, standard_accounts, standard_owners, write_plan
from typer.testing import CliRunner

from planner.crm import ExportError, export_plan, rollback_plan
from planner.crm.files import DEFAULT_MAX_BYTES, split_lines
from planner.crm.ids import SalesforceIdError, to18
from planner.crm.safety import FORMULA_TRIGGERS, neutralize, restore
from planner.errors import OutputError
from planner.io.atomic import OutputExistsError
from planner.plans.ledger import LEDGER_NAME, Ledger, LedgerError

DIGITAL_SF = "0055g00000Dig01"


@pytest.fixture(autouse=True)
def _no_ledger_env(monkeypatch):
    monkeypatch.delenv("PLANNER_LEDGER", raising=False)


def make_plan(tmp_path: Path, accounts=None, owners=None, name: str = "p1", plan_id: str | None = None) -> Path:
    return write_plan(
        tmp_path / "plans" / name, accounts or standard_accounts(), owners or standard_owners(), plan_id=plan_id
    )


def plan_id_of(plan_dir: Path) -> str:
    return json.loads((plan_dir / "summary.json").read_text(encoding="utf-8"))["plan_id"]


def approve(plan_dir: Path) -> str:
    with Ledger(plan_dir.parent / LEDGER_NAME) as led:
        plan_id = led.record_plan(plan_dir)
        led.transition(plan_id, "approved", "alice")
    return plan_id


def state(plan_dir: Path, plan_id: str) -> str:
    with Ledger(plan_dir.parent / LEDGER_NAME, create=False) as led:
        return led.get(plan_id).state


def rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8"), newline="")))


def plan_rows(plan_dir: Path) -> list[dict]:
    return list(csv.DictReader(io.StringIO((plan_dir / "assignments.csv").read_bytes().decode("utf-8"), newline="")))


def exceptions(out: Path) -> list[dict]:
    return list(csv.DictReader(io.StringIO((out / "exceptions.csv").read_bytes().decode("utf-8"), newline="")))


# -- Salesforce ids ----------------------------------------------------------------


@pytest.mark.parametrize(
    "id15, id18",
    [
        ("001A0000006Vm9r", "001A0000006Vm9rIAC"),  # Salesforce's own example id
        ("a0D30000001n7Pi", "a0D30000001n7PiEAI"),
        ("0019000000B98de", "0019000000B98deAAB"),
        ("001a0000006vm9r", "001a0000006vm9rAAA"),  # no uppercase letter: every chunk 0
        ("ABCDEABCDEABCDE", "ABCDEABCDEABCDE555"),  # all uppercase: every chunk 31
    ],
)
def test_15_to_18_known_pairs(id15, id18):
    assert to18(id15) == id18
    assert to18(id18) == id18


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "001A0000006Vm9",  # 14 characters
        "001A0000006Vm9rIA",  # 17
        "001A0000006Vm9r-",  # 16, and not alphanumeric
        "001A0000006Vm9_",  # 15, not alphanumeric
        "001A0000006VM9RIAC",  # case changed, suffix kept
        "001a0000006vm9riac",  # lowercased by a case-insensitive tool
        "001A0000006Vm9rAAA",  # wrong suffix
    ],
)
def test_rejects_ids_that_are_not_salesforce_ids(bad):
    with pytest.raises(SalesforceIdError):
        to18(bad)


_ID_CHAR = st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


@given(st.lists(_ID_CHAR, min_size=15, max_size=15).map("".join), st.integers(0, 14))
def test_any_case_flip_of_an_18_char_id_is_rejected(id15, position):
    id18 = to18(id15)
    assert id18[:15] == id15 and to18(id18) == id18
    flipped = id18[:position] + id18[position].swapcase() + id18[position + 1 :]
    if flipped != id18:  # digits have no case
        with pytest.raises(SalesforceIdError):
            to18(flipped)


# -- formula neutralization ----------------------------------------------------------


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "'=already quoted"])
def test_neutralize_prefixes_a_quote_and_restores(text):
    assert neutralize(text) == "'" + text
    assert restore(neutralize(text)) == text


@pytest.mark.parametrize("text", ["abc", "a=b", "0015g00000Abc01", "", "ops@example.com"])
def test_neutralize_leaves_plain_text(text):
    assert neutralize(text) == text
    assert restore(text) == text


def _all_csv_cells(folder: Path) -> list[str]:
    return [cell for path in folder.glob("*.csv") for row in rows(path) for cell in row]


def test_generic_csv_neutralizes_every_cell_and_json_keeps_values(tmp_path):
    evil = ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "\tTAB", "\rCR"]
    accounts = [account(f"{e}", "c2", "c1", f"crm-{i}", reason=e) for i, e in enumerate(evil)]
    plan = make_plan(tmp_path, accounts=accounts, owners=standard_owners(c2={"crm_user_id": "=cmd|' /C calc'!A0"}))
    export_plan(plan, "csv", tmp_path / "csv", allow_draft=True)
    export_plan(plan, "json", tmp_path / "json", allow_draft=True)

    cells = _all_csv_cells(tmp_path / "csv")
    assert not [c for c in cells if c.startswith(FORMULA_TRIGGERS)]
    records = rows(tmp_path / "csv" / "owner_changes.csv")[1:]
    assert [restore(r[0]) for r in records] == evil
    assert {restore(r[5]) for r in records} == {"=cmd|' /C calc'!A0"}
    doc = json.loads((tmp_path / "json" / "owner_changes.json").read_text(encoding="utf-8"))
    assert [r["account_id"] for r in doc["records"]] == evil


def test_load_file_keys_that_would_need_neutralizing_go_to_exceptions(tmp_path):
    accounts = [
        account("A1", "c2", "c1", "=cmd|' /C calc'!A0"),
        account("A2", "c1", "c2", "G-2"),
        account("A3", "c2", "c1", "G-3"),
    ]
    owners = standard_owners(c1={"email": "-c1@example.com"})
    plan = make_plan(tmp_path, accounts=accounts, owners=owners)
    export_plan(plan, "gainsight", tmp_path / "out", allow_draft=True)

    assert rows(tmp_path / "out" / "gainsight_company_csm.csv")[1:] == [["G-3", "c2@example.com"]]
    reasons = {(e["account_id"], e["file"]): e["reason"] for e in exceptions(tmp_path / "out")}
    assert "formula" in reasons[("A1", "export")]
    assert "formula" in reasons[("A2", "export")]
    assert "formula" in reasons[("A3", "rollback")]  # its previous owner's email is the bad one
    assert not [c for c in _all_csv_cells(tmp_path / "out") if c.startswith(FORMULA_TRIGGERS)]


# -- round trips, per format -----------------------------------------------------------


def test_salesforce_round_trip_and_rollback_restores_previous_owners(tmp_path):
    plan = make_plan(tmp_path)
    approve(plan)
    result = export_plan(plan, "salesforce", tmp_path / "out", digital_owner=DIGITAL_SF)
    out = tmp_path / "out"

    raw = (out / "salesforce_account_owners.csv").read_bytes()
    assert raw.startswith(b"Id,OwnerId\n") and b"\r" not in raw and not raw.startswith(codecs.BOM_UTF8)
    sf_owner = {o: to18(u) for o, u in SF_USERS.items()} | {"digital": to18(DIGITAL_SF)}
    loaded = dict(rows(out / "salesforce_account_owners.csv")[1:])
    assert loaded == {to18(r["crm_id"]): sf_owner[r["owner_id"]] for r in plan_rows(plan)}
    assert all(len(k) == 18 and len(v) == 18 for k, v in loaded.items())

    # A CRM that holds the previous owners: the export sets the plan, the rollback undoes it.
    before = {
        to18(r["crm_id"]): sf_owner[r["previous_owner"]] for r in plan_rows(plan) if r["previous_owner"] in sf_owner
    }
    crm = dict(before) | loaded
    crm |= dict(rows(out / "rollback.csv")[1:])
    assert {k: crm[k] for k in before} == before
    assert result.counts["exported"] == 6 and result.counts["rollback_rows"] == 4
    assert {(e["account_id"], e["file"]) for e in exceptions(out)} == {("A3", "rollback"), ("A4", "rollback")}
    assert any("account team" in w for w in result.warnings)
    assert state(plan, result.plan_id) == "exported"


def test_hubspot_round_trip_by_owner_id_prefers_hubspot_owner_id(tmp_path):
    owners = standard_owners(c2={"hubspot_owner_id": "", "crm_user_id": "202"})  # falls back to crm_user_id
    plan = make_plan(tmp_path, accounts=standard_accounts(crm_id=lambda i: str(9000 + i)), owners=owners)
    export_plan(plan, "hubspot", tmp_path / "out", allow_draft=True, digital_owner="999")

    got = rows(tmp_path / "out" / "hubspot_company_owners.csv")
    assert got[0] == ["Record ID", "hubspot_owner_id"]
    owner_id = {"c1": "101", "c2": "202", "p1": "103", "digital": "999"}
    assert got[1:] == [[r["crm_id"], owner_id[r["owner_id"]]] for r in plan_rows(plan)]


def test_hubspot_by_email_uses_company_owner(tmp_path):
    plan = make_plan(tmp_path, accounts=standard_accounts(crm_id=lambda i: str(9000 + i)))
    export_plan(
        plan,
        "hubspot",
        tmp_path / "out",
        allow_draft=True,
        hubspot_owner_by="email",
        digital_owner="digital@example.com",
    )

    got = rows(tmp_path / "out" / "hubspot_company_owners.csv")
    assert got[0] == ["Record ID", "Company owner"]
    email = {
        "c1": "c1@example.com",
        "c2": "c2@example.com",
        "p1": "pool1@example.com",
        "digital": "digital@example.com",
    }
    assert got[1:] == [[r["crm_id"], email[r["owner_id"]]] for r in plan_rows(plan)]
    assert rows(tmp_path / "out" / "rollback.csv")[1:] == [["9001", "c1@example.com"], ["9002", "c1@example.com"],
                                                          ["9005", "c1@example.com"], ["9006", "c2@example.com"]]  # fmt: skip


def test_gainsight_round_trip_prefers_gainsight_id(tmp_path):
    accounts = standard_accounts()
    accounts[0]["gainsight_id"] = "GS-1"
    for a in accounts[1:]:
        a["gainsight_id"] = ""
    plan = make_plan(tmp_path, accounts=accounts)
    export_plan(
        plan, "gainsight", tmp_path / "out", allow_draft=True, only_changes=True, digital_owner="digital@example.com"
    )

    got = rows(tmp_path / "out" / "gainsight_company_csm.csv")
    assert got == [
        ["Company External ID", "CSM Email"],
        ["GS-1", "c2@example.com"],
        [sf_account(3), "c2@example.com"],
        [sf_account(4), "pool1@example.com"],
        [sf_account(5), "digital@example.com"],
    ]


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_generic_round_trip(tmp_path, fmt):
    plan = make_plan(tmp_path)
    export_plan(plan, fmt, tmp_path / "out", allow_draft=True, digital_owner="digital-user")
    path = tmp_path / "out" / f"owner_changes.{fmt}"
    if fmt == "csv":
        header, *body = rows(path)
        records = [dict(zip(header, r, strict=True)) for r in body]
    else:
        records = json.loads(path.read_text(encoding="utf-8"))["records"]
    owners = {o["owner_id"]: o for o in standard_owners()}
    true = "true" if fmt == "csv" else True
    false = "false" if fmt == "csv" else False
    expected = []
    for r in plan_rows(plan):
        new, old = owners[r["owner_id"]], owners.get(r["previous_owner"], {})
        expected.append({
            "account_id": r["account_id"], "crm_id": r["crm_id"], "owner_type": r["owner_type"],
            "new_owner_id": r["owner_id"], "new_owner_email": new["email"],
            "new_owner_crm_user_id": "digital-user" if r["owner_id"] == "digital" else new["crm_user_id"],
            "previous_owner_id": r["previous_owner"], "previous_owner_type": r["previous_owner_type"],
            "previous_owner_email": old.get("email", ""), "previous_owner_crm_user_id": old.get("crm_user_id", ""),
            "changed": true if r["changed"] == "true" else false, "reason": r["reason"], "plan_id": plan_id_of(plan),
        })  # fmt: skip
    assert records == expected


# -- selection, exceptions, counts -----------------------------------------------------


def test_only_changes_writes_each_changed_account_once(tmp_path):
    plan = make_plan(tmp_path)
    result = export_plan(plan, "salesforce", tmp_path / "out", allow_draft=True, only_changes=True)
    out = tmp_path / "out"

    changed = {to18(r["crm_id"]) for r in plan_rows(plan) if r["changed"] == "true"}
    exported = [r[0] for r in rows(out / "salesforce_account_owners.csv")[1:]]
    not_exported = [to18(e["crm_id"]) for e in exceptions(out) if e["file"] == "export"]
    assert sorted(exported + not_exported) == sorted(changed)  # each exactly once
    assert not_exported == [to18(sf_account(5))]  # the digital account: no digital owner configured
    assert result.counts["selected"] == result.counts["plan_changed"] == 4
    # The plan summary's count of moves (planner.planning.result.Counts): an owner today and another one in the plan.
    moved = [r for r in plan_rows(plan) if r["changed"] == "true" and r["previous_owner"] and r["owner_id"]]
    assert result.counts["plan_moved"] == len(moved) and result.counts["plan_new"] == sum(
        not r["previous_owner"] for r in plan_rows(plan)
    )
    assert result.counts["exported"] + result.counts["export_exceptions"] == 4


def test_missing_crm_ids_and_users_produce_the_exceptions_file(tmp_path):
    accounts = standard_accounts()
    accounts[0]["crm_id"] = ""  # A1: no CRM id
    accounts[5]["crm_id"] = "not-an-id"  # A6
    accounts.append(account("A7", "c3", "c1", sf_account(7)))  # c3 has no crm_user_id
    accounts.append(account("A8", "c1", "c2", sf_account(8)))
    accounts.append(account("A9", "c2", "c1", sf_account(8)))  # shares A8's CRM record
    owners = standard_owners() + [owner("c3", "csm", "", "c3@example.com")]
    plan = make_plan(tmp_path, accounts=accounts, owners=owners)
    result = export_plan(plan, "salesforce", tmp_path / "out", allow_draft=True)

    got = {e["account_id"]: e["reason"] for e in exceptions(tmp_path / "out") if e["file"] == "export"}
    assert set(got) == {"A1", "A5", "A6", "A7", "A8", "A9"}
    assert got["A1"].startswith("no Salesforce Account id")
    assert "expected a 15- or 18-character" in got["A6"]
    assert "c3" in got["A7"]
    assert "shared by accounts A8, A9" in got["A8"]
    assert (
        got["A5"]
        == "no Salesforce User id (crm_user_id) for the digital program digital (programs.csv, or --digital-owner)"
    )
    exported = rows(tmp_path / "out" / "salesforce_account_owners.csv")[1:]
    assert [r[0] for r in exported] == [to18(sf_account(i)) for i in (2, 3, 4)]
    assert result.counts["exported"] + result.counts["export_exceptions"] == result.counts["selected"] == 9


def test_a_queue_cannot_own_a_salesforce_account(tmp_path):
    plan = make_plan(tmp_path, owners=standard_owners(p1={"crm_user_id": "00G5g00000Que01"}))
    export_plan(plan, "salesforce", tmp_path / "out", allow_draft=True, digital_owner=DIGITAL_SF)
    got = {e["account_id"]: e["reason"] for e in exceptions(tmp_path / "out") if e["file"] == "export"}
    assert list(got) == ["A4"] and "'005'" in got["A4"]


@pytest.mark.parametrize(
    "fmt, value", [("salesforce", "digital@example.com"), ("gainsight", "0055g00000Dig01"), ("hubspot", "abc")]
)
def test_a_digital_owner_that_does_not_fit_the_format_is_refused(tmp_path, fmt, value):
    plan = make_plan(tmp_path)
    with pytest.raises(ExportError, match="--digital-owner"):
        export_plan(plan, fmt, tmp_path / "out", allow_draft=True, digital_owner=value)
    assert not (tmp_path / "out").exists()


def test_an_export_in_which_nothing_can_be_loaded_is_refused(tmp_path):
    plan = make_plan(tmp_path)  # Salesforce ids: no HubSpot Record ID among them
    with pytest.raises(ExportError, match="None of the 6 selected accounts can be loaded.*is not numeric"):
        export_plan(plan, "hubspot", tmp_path / "out", allow_draft=True)
    assert not (tmp_path / "out").exists()


def test_an_export_with_nothing_selected_writes_headers_only(tmp_path):
    accounts = [a for a in standard_accounts() if a["owner_id"] == a["previous_owner"]]
    plan = make_plan(tmp_path, accounts=accounts)
    result = export_plan(plan, "salesforce", tmp_path / "out", allow_draft=True, only_changes=True)
    assert result.counts["selected"] == result.counts["exported"] == 0
    assert (tmp_path / "out" / "salesforce_account_owners.csv").read_bytes() == b"Id,OwnerId\n"


# -- splitting -------------------------------------------------------------------------


def test_split_at_10000_records(tmp_path):
    accounts = [account(f"A{i}", "c2", "c1", f"0015g0000{i:06d}") for i in range(10_001)]
    plan = make_plan(tmp_path, accounts=accounts)
    result = export_plan(plan, "salesforce", tmp_path / "out", allow_draft=True, max_records=10_000)

    parts = sorted((tmp_path / "out").glob("salesforce_account_owners_part*.csv"))
    assert [p.name for p in parts] == ["salesforce_account_owners_part001.csv", "salesforce_account_owners_part002.csv"]
    bodies = [rows(p) for p in parts]
    assert all(b[0] == ["Id", "OwnerId"] for b in bodies)
    assert [len(b) - 1 for b in bodies] == [10_000, 1]
    assert [r[0] for b in bodies for r in b[1:]] == [to18(f"0015g0000{i:06d}") for i in range(10_001)]
    assert result.counts["export_parts"] == 2 and result.counts["rollback_parts"] == 2


def test_split_mechanism_with_small_limits(tmp_path):
    plan = make_plan(tmp_path)
    export_plan(plan, "salesforce", tmp_path / "n", allow_draft=True, digital_owner=DIGITAL_SF, max_records=4)
    assert [len(rows(p)) - 1 for p in sorted((tmp_path / "n").glob("salesforce_*_part*.csv"))] == [4, 2]

    export_plan(plan, "salesforce", tmp_path / "b", allow_draft=True, digital_owner=DIGITAL_SF, max_bytes=60)
    parts = sorted((tmp_path / "b").glob("salesforce_*_part*.csv"))
    assert all(p.stat().st_size < 60 for p in parts)
    assert sum(len(rows(p)) - 1 for p in parts) == 6


def test_parts_stay_below_100_mb():
    line = b"x" * 999_999 + b"\n"  # 1 MB records; the list shares one bytes object
    parts = split_lines(b"Id,OwnerId\n", [line] * 250, None, DEFAULT_MAX_BYTES)
    assert DEFAULT_MAX_BYTES == 100_000_000
    assert [len(p) for p in parts] == [99, 99, 52]
    assert all(11 + sum(map(len, p)) < DEFAULT_MAX_BYTES for p in parts)


def test_a_record_larger_than_a_part_is_refused():
    with pytest.raises(ExportError, match="cannot fit"):
        split_lines(b"Id,OwnerId\n", [b"x" * 100], None, 100)


# -- atomicity and determinism ---------------------------------------------------------


def test_a_failure_midway_leaves_nothing(tmp_path, monkeypatch):
    import planner.crm as export_module

    plan = make_plan(tmp_path)
    plan_id = approve(plan)
    real_write = export_module.atomic_write_bytes
    calls = []

    def fail_second(path, data, force=False):
        calls.append(path)
        if len(calls) == 2:
            raise OSError("disk full")
        return real_write(path, data, force=force)

    monkeypatch.setattr(export_module, "atomic_write_bytes", fail_second)
    with pytest.raises(OSError, match="disk full"):
        export_plan(plan, "salesforce", tmp_path / "exports" / "out")
    assert len(calls) == 2
    assert list((tmp_path / "exports").iterdir()) == []  # no folder, no temp leftovers
    assert state(plan, plan_id) == "approved"
    with Ledger(plan.parent / LEDGER_NAME) as led:
        assert led.exports(plan_id) == []


def test_an_existing_folder_needs_force(tmp_path):
    plan = make_plan(tmp_path)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    with pytest.raises(OutputExistsError):
        export_plan(plan, "csv", tmp_path / "out", allow_draft=True)
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["keep.txt"]
    with pytest.raises(OutputError, match="only the planner.s own"):  # --force replaces only its own output
        export_plan(plan, "csv", tmp_path / "out", allow_draft=True, force=True)
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["keep.txt"]
    export_plan(plan, "csv", tmp_path / "new", allow_draft=True)
    export_plan(plan, "csv", tmp_path / "new", allow_draft=True, force=True)
    assert (tmp_path / "new" / "owner_changes.csv").exists()


def test_same_plan_gives_byte_identical_files(tmp_path):
    plan = make_plan(tmp_path)
    first = export_plan(plan, "salesforce", tmp_path / "one", allow_draft=True, digital_owner=DIGITAL_SF, max_records=4)
    second = export_plan(
        plan, "salesforce", tmp_path / "two", allow_draft=True, digital_owner=DIGITAL_SF, max_records=4
    )
    skip = (
        "export_summary.json",
        ".planner-output.json",
    )  # the marker lists the summary's sha256, which has created_at
    names = sorted(p.name for p in (tmp_path / "one").iterdir() if p.name not in skip)
    assert names == sorted(p.name for p in (tmp_path / "two").iterdir() if p.name not in skip)
    assert all((tmp_path / "one" / n).read_bytes() == (tmp_path / "two" / n).read_bytes() for n in names)
    assert first.checksum == second.checksum
    summary = json.loads((tmp_path / "one" / "export_summary.json").read_text())
    assert summary["checksum"] == first.checksum
    assert {f["name"]: f["sha256"] for f in summary["files"]} == {f["name"]: f["sha256"] for f in first.files}


# -- ledger gates ----------------------------------------------------------------------


def test_export_of_a_draft_is_refused_unless_allowed(tmp_path):
    plan = make_plan(tmp_path)
    with pytest.raises(LedgerError, match=f"Expected plan {plan_id_of(plan)} to be approved"):
        export_plan(plan, "csv", tmp_path / "out")
    assert not (tmp_path / "out").exists() and not (plan.parent / LEDGER_NAME).exists()

    with Ledger(plan.parent / LEDGER_NAME) as led:
        led.record_plan(plan)
    with pytest.raises(LedgerError, match=f"Expected plan {plan_id_of(plan)} to be approved, it is draft"):
        export_plan(plan, "csv", tmp_path / "out")
    assert not (tmp_path / "out").exists()

    result = export_plan(plan, "csv", tmp_path / "out", allow_draft=True)
    assert result.draft and result.state == "draft"
    assert any("not approved" in w for w in result.warnings)
    with Ledger(plan.parent / LEDGER_NAME) as led:
        assert [(x.kind, x.draft) for x in led.exports(result.plan_id)] == [("export", True)]


def test_export_records_checksums_and_moves_the_plan_to_exported(tmp_path):
    plan = make_plan(tmp_path)
    plan_id = approve(plan)
    first = export_plan(plan, "salesforce", tmp_path / "sf", digital_owner=DIGITAL_SF)
    second = export_plan(plan, "gainsight", tmp_path / "gs", digital_owner="digital@example.com")
    assert (first.state, second.state) == ("exported", "exported")
    with Ledger(plan.parent / LEDGER_NAME) as led:
        recorded = led.exports(plan_id)
        transitions = [(e.from_state, e.to_state) for e in led.events(plan_id) if e.action == "transition"]
    assert [(x.format, x.checksum) for x in recorded] == [
        ("salesforce", first.checksum),
        ("gainsight", second.checksum),
    ]
    assert recorded[0].files == list(first.files)
    assert transitions == [("draft", "approved"), ("approved", "exported")]


def test_a_plan_edited_after_approval_is_refused(tmp_path):
    plan = make_plan(tmp_path)
    approve(plan)
    text = (plan / "assignments.csv").read_text(encoding="utf-8")
    (plan / "assignments.csv").write_text(text.replace("5000", "5001"), encoding="utf-8")
    with pytest.raises(LedgerError, match="assignments.csv differ"):
        export_plan(plan, "csv", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_rollback_writes_the_previous_owners_and_marks_the_plan(tmp_path):
    plan = make_plan(tmp_path)
    plan_id = approve(plan)
    ledger = plan.parent / LEDGER_NAME
    with pytest.raises(LedgerError, match="to be exported, applied or rolled_back, it is approved"):
        rollback_plan(plan_id, tmp_path / "rb", ledger)
    export_plan(plan, "salesforce", tmp_path / "sf", only_changes=True, digital_owner=DIGITAL_SF, max_records=1)

    result = rollback_plan(plan_id, tmp_path / "rb", ledger)
    written = sorted(p.name for p in (tmp_path / "rb").glob("rollback*.csv"))
    assert written == sorted(p.name for p in (tmp_path / "sf").glob("rollback*.csv"))  # same options, same split
    assert all((tmp_path / "rb" / n).read_bytes() == (tmp_path / "sf" / n).read_bytes() for n in written)
    restored = [r for n in written for r in rows(tmp_path / "rb" / n)[1:]]
    assert restored == [[to18(sf_account(1)), to18(SF_USERS["c1"])], [to18(sf_account(5)), to18(SF_USERS["c1"])]]
    assert result.state == "rolled_back" and result.kind == "rollback"
    assert {e["account_id"] for e in exceptions(tmp_path / "rb")} == {"A3", "A4"}
    with pytest.raises(LedgerError, match="to be approved or exported, it is rolled_back"):
        export_plan(plan, "salesforce", tmp_path / "again", digital_owner=DIGITAL_SF)


# -- CLI -------------------------------------------------------------------------------


@pytest.fixture
def cli():
    from planner.cli import app

    runner = CliRunner()
    return lambda *args: runner.invoke(app, [str(a) for a in args])


def test_cli_refuses_a_draft_and_writes_nothing(tmp_path, cli):
    plan = make_plan(tmp_path)
    result = cli("export", plan, "--format", "salesforce", "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert f"Expected plan {plan_id_of(plan)} to be approved" in result.output
    assert not (tmp_path / "out").exists()


def test_cli_approve_export_rollback(tmp_path, cli):
    plan = make_plan(tmp_path)
    with Ledger(
        plan.parent / LEDGER_NAME
    ) as led:  # as planner solve records it (this plan has no book to re-check it against)
        led.record_plan(plan, checked="solve")
    assert cli("plans", "approve", plan, "--by", "alice").exit_code == 0
    config = tmp_path / "export.toml"
    config.write_text('[export]\nmax_records = 4\n[export.digital_owner]\nsalesforce = "0055g00000Dig01"\n')
    result = cli("export", plan, "-f", "salesforce", "-o", tmp_path / "out", "--config", config)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out").glob("salesforce_*")) == [
        "salesforce_account_owners_part001.csv", "salesforce_account_owners_part002.csv"]  # fmt: skip
    again = cli("export", plan, "-f", "salesforce", "-o", tmp_path / "out", "--config", config)
    assert again.exit_code == 4 and "already exists" in again.output

    ledger = plan.parent / LEDGER_NAME
    assert cli("plans", "mark-applied", plan_id_of(plan), "--ledger", ledger, "--note", "job 7").exit_code == 0
    listed = cli("plans", "list", "--ledger", ledger)
    assert "applied" in listed.output
    rolled = cli("plans", "rollback", plan, "--out", tmp_path / "rb", "--by", "bob")
    assert rolled.exit_code == 0, rolled.output
    assert (tmp_path / "rb" / "rollback.csv").exists()
    shown = cli("plans", "show", plan)
    assert "rolled_back" in shown.output and "bob" in shown.output


def test_export_config_file(tmp_path):
    from planner.crm.config import load_export_config

    path = tmp_path / "export.toml"
    path.write_text('[export]\ndigital_owner = "digital@example.com"\nhubspot_owner_by = "email"\n')
    assert load_export_config(path, "gainsight") == {
        "digital_owner": "digital@example.com",
        "hubspot_owner_by": "email",
    }
    path.write_text('[export.digital_owner]\nsalesforce = "0055g00000Dig01"\n')
    assert load_export_config(path, "salesforce") == {"digital_owner": "0055g00000Dig01"}
    assert load_export_config(path, "gainsight") == {}
    path.write_text("[export]\nmax_record = 10\n")
    with pytest.raises(ExportError, match=r"unknown export settings \['max_record'\]"):
        load_export_config(path, "salesforce")
    path.write_text("[export]\nmax_records = 0\n")
    with pytest.raises(ExportError, match="positive integer"):
        load_export_config(path, "salesforce")

"""Loading a book: formats, canonical columns and defaults, and every finding a user can get."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import math
import shutil
import tempfile
import tomllib
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.book import TABLES
from planner.errors import BookError
from planner.io import load_book, validate_book
from planner.io.schema import TABLE_SPECS, Derived, canonical_columns, parse_number, reference_rows
from planner.policy import policy_from_dict

ROOT = Path(__file__).resolve().parents[1]
INVALID = ROOT / "fixtures" / "invalid"
BASE = INVALID / "_valid_base"
# Read the TOML directly: load_policy() finds it as planner.models, which only
# resolves once the package is installed.
POLICY = policy_from_dict(tomllib.loads((ROOT / "models" / "default_policy.toml").read_text(encoding="utf-8")))
AS_OF = dt.date(2026, 11, 1)


def load(path):
    return load_book(path, policy=POLICY, as_of=AS_OF)


def findings(path):
    return validate_book(path, policy=POLICY, as_of=AS_OF)[1]


def edited_base(tmp_path: Path, edits: dict[str, list[tuple[str, str]]] | None = None) -> Path:
    """A copy of the valid base book with text replacements per file (each `old` must occur once)."""
    folder = tmp_path / "book"
    shutil.copytree(BASE, folder)
    for file, pairs in (edits or {}).items():
        text = (folder / file).read_text(encoding="utf-8")
        for old, new in pairs:
            assert text.count(old) == 1, (file, old)
            text = text.replace(old, new)
        (folder / file).write_text(text, encoding="utf-8", newline="")
    return folder


# -- a valid book -------------------------------------------------------------------------


def test_valid_book_has_canonical_columns_and_dtypes():
    book = load(BASE)
    assert book.warnings == ()
    assert book.name == "_valid_base"
    assert book.as_of == AS_OF
    for table in TABLES:
        frame = getattr(book, table)
        expected = canonical_columns(table) + [(c, "str") for c in book.extra_columns[table]]
        assert [(c, str(frame[c].dtype)) for c in frame.columns] == [
            (c, str(pd.Series([], dtype=d).dtype)) for c, d in expected
        ]
        assert list(frame.index) == list(range(len(frame)))


def test_blank_cells_take_the_policy_and_location_defaults():
    book = load(BASE)
    acc = book.accounts.set_index("account_id")
    assert acc.loc["A1", "region"] == "NA"  # not a missing value
    assert (acc.loc["A2", "segment"], acc.loc["A2", "segment_derived"]) == ("mid_market", True)
    assert (acc.loc["A1", "segment"], acc.loc["A1", "segment_derived"]) == ("enterprise", False)
    assert acc.loc["A3", "complexity"] == 3 and acc.loc["A3", "language"] == "en"
    assert math.isnan(acc.loc["A2", "health"]) and math.isnan(acc.loc["A2", "utc_offset"])
    assert acc.loc["A1", "renewal_date"] == pd.Timestamp("2027-06-30") and pd.isna(acc.loc["A3", "renewal_date"])
    assert acc.loc["A2", "lifecycle_stage"] == "" and acc.loc["A1", "pin_owner"] == ""

    c2 = book.csms.set_index("csm_id").loc["C2"]
    assert c2["utc_offset"] == 0.0  # Lisbon's offset
    assert c2["languages"] == ("en", "de")  # 'en;DE', lower-cased
    assert c2["segments"] == POLICY.segments
    assert (c2["capacity_hours"], c2["max_accounts"], c2["max_arr"]) == (120.0, 50, 2_500_000.0)
    assert c2["annual_cost"] == pytest.approx(120_000 * 0.7)
    assert (c2["status"], c2["crm_user_id"]) == ("active", "")
    assert book.csms.set_index("csm_id").loc["C1", "segments"] == ("enterprise", "mid_market")

    p1 = book.pools.iloc[0]
    assert p1["regions"] == ("EMEA", "NA") and p1["languages"] == ("en",)
    assert p1["capacity_hours"] == 2 * POLICY.pool_hours_per_fte
    assert p1["hourly_cost"] == pytest.approx(45 * 0.7)
    assert p1["efficiency"] == POLICY.pool_efficiency

    assert list(book.locations["cost_index"]) == [1.0, 0.7]
    assert list(book.relationships["strength"]) == [1.0, 0.5, 1.0]


def test_csm_utc_offset_falls_back_to_the_region_default(tmp_path):
    folder = edited_base(tmp_path, {"csms.csv": [("Lisbon,EMEA,,", ",APAC,,")]})
    assert load(folder).csms.set_index("csm_id").loc["C2", "utc_offset"] == POLICY.region_default_utc_offset["APAC"]


def test_every_derived_default_is_filled():
    book = load(BASE)
    for table, spec in TABLE_SPECS.items():
        for column in (c.name for c in spec.columns if isinstance(c.default, Derived)):
            assert getattr(book, table)[column].notna().all() and (getattr(book, table)[column] != "").all(), column


def test_extra_columns_are_kept_as_text_exactly(tmp_path):
    folder = edited_base(tmp_path, {"accounts.csv": [(",flagship", ",  007 flagship ")]})
    book = load(folder)
    assert book.extra_columns == {"accounts": ["notes"], "csms": [], "pools": [], "programs": [], "locations": [],
                                  "relationships": []}  # fmt: skip
    assert list(book.accounts["notes"]) == ["  007 flagship ", "", "new logo"]


@settings(max_examples=25, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12))
def test_any_text_in_an_extra_column_survives_exactly(text):
    with tempfile.TemporaryDirectory() as tmp:
        folder = edited_base(Path(tmp))
        with open(folder / "accounts.csv", "w", encoding="utf-8", newline="") as fh:
            csv.writer(fh).writerows([["account_id", "arr", "region", "note"], ["A1", "1", "NA", text]])
        assert load(folder).accounts.loc[0, "note"] == text


def test_sources_hash_each_file():
    book = load(BASE)
    expected = {t: hashlib.sha256((BASE / f"{t}.csv").read_bytes()).hexdigest() for t in TABLES}
    assert {s.table: s.sha256 for s in book.sources} == expected
    assert {s.table: s.rows for s in book.sources} == {t: len(getattr(book, t)) for t in TABLES}


def _typed_tables() -> dict[str, pd.DataFrame]:
    """The base book's tables as a spreadsheet user has them: numbers, dates and empty cells typed."""
    frames = {}
    for table in TABLES:
        dates = [c for c in ("renewal_date", "return_date") if c in TABLE_SPECS[table].names]
        frames[table] = pd.read_csv(BASE / f"{table}.csv", keep_default_na=False, na_values=[""], parse_dates=dates)
    return frames


def _assert_same_tables(a, b):
    for table in TABLES:
        pd.testing.assert_frame_equal(getattr(a, table), getattr(b, table), obj=table)
    assert a.extra_columns == b.extra_columns


def test_xlsx_workbook_loads_the_same_tables(tmp_path):
    path = tmp_path / "territory.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for table, frame in _typed_tables().items():
            frame.to_excel(writer, sheet_name=table, index=False)
    book = load(path)
    _assert_same_tables(book, load(BASE))
    assert book.name == "territory"
    assert {s.sha256 for s in book.sources} == {hashlib.sha256(path.read_bytes()).hexdigest()}


def test_parquet_folder_loads_the_same_tables(tmp_path):
    folder = tmp_path / "pq"
    folder.mkdir()
    for table, frame in _typed_tables().items():
        frame.to_parquet(folder / f"{table}.parquet", index=False)
    _assert_same_tables(load(folder), load(BASE))


def test_utf8_with_byte_order_mark_is_accepted(tmp_path):
    folder = edited_base(tmp_path)
    path = folder / "accounts.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert list(load(folder).accounts.columns)[0] == "account_id"


# -- one defect per fixture -------------------------------------------------------------


INVALID_BOOKS = [
    # folder, file, row, column, rule
    ("missing_required_column", "accounts.csv", 1, "arr", "missing_column"),
    ("duplicate_account_id", "accounts.csv", 4, "account_id", "duplicate_id"),
    ("negative_arr", "accounts.csv", 3, "arr", "out_of_range"),
    ("non_numeric_arr", "accounts.csv", 3, "arr", "amount_needs_locale"),  # 60k: an amount, read with --locale
    ("unknown_segment", "accounts.csv", 2, "segment", "unknown_segment"),
    ("csm_zero_capacity", "csms.csv", 2, "capacity_hours", "csm_zero_capacity"),
    ("pool_without_segments", "pools.csv", 2, "segments", "pool_without_segments"),
    ("malformed_renewal_date", "accounts.csv", 2, "renewal_date", "malformed_date"),
    ("empty_accounts_file", "accounts.csv", None, None, "empty_file"),
    ("semicolon_delimiter", "accounts.csv", 1, None, "wrong_delimiter"),
    ("latin1_encoding", "accounts.csv", 3, None, "bad_encoding"),
    ("duplicate_csm_id", "csms.csv", 4, "csm_id", "duplicate_id"),
    ("unknown_pin_owner", "accounts.csv", 2, "pin_owner", "unknown_pin_owner"),
    ("owner_id_collision", "pools.csv", 3, "pool_id", "owner_id_collision"),
    ("arr_above_maximum", "accounts.csv", 3, "arr", "out_of_range"),
    ("control_character_in_id", "accounts.csv", 3, "account_id", "control_character"),
    ("cell_too_long", "accounts.csv", 2, "account_name", "too_long"),
    ("table_file_is_a_folder", "pools.csv", None, None, "unreadable_file"),
]

# Books that load, with exactly one warning.
WARNING_BOOKS = [
    ("unknown_current_owner_warning", "accounts.csv", 3, "current_owner", "unknown_current_owner"),
    ("near_miss_file_name", "relationship.csv", None, None, "near_miss_name"),
    ("near_miss_column_name", "accounts.csv", 1, "pin_ownr", "near_miss_name"),
    ("control_character_in_name", "accounts.csv", 2, "account_name", "control_character"),
    ("pin_breaks_rules", "accounts.csv", 2, "pin_owner", "pin_breaks_rules"),
    ("relationship_self_loop", "relationships.csv", 5, "target", "self_loop"),
    ("owner_row_not_current_owner", "relationships.csv", 5, "source", "owner_not_current"),
    ("since_after_until", "relationships.csv", 2, "until", "since_after_until"),
]


@pytest.mark.parametrize("folder, file, row, column, rule", INVALID_BOOKS, ids=[b[0] for b in INVALID_BOOKS])
def test_invalid_book_gives_exactly_its_finding(folder, file, row, column, rule):
    with pytest.raises(BookError) as exc:
        load(INVALID / folder)
    [finding] = exc.value.findings
    assert (finding.severity, finding.file, finding.row, finding.column, finding.rule) == (
        "error",
        file,
        row,
        column,
        rule,
    )
    assert finding.message.startswith("Expected")


@pytest.mark.parametrize("folder, file, row, column, rule", WARNING_BOOKS, ids=[b[0] for b in WARNING_BOOKS])
def test_warning_book_loads_with_exactly_its_warning(folder, file, row, column, rule):
    [warning] = load(INVALID / folder).warnings
    assert (warning.severity, warning.file, warning.row, warning.column, warning.rule) == (
        "warning",
        file,
        row,
        column,
        rule,
    )
    assert warning.message.startswith("Expected")


def test_every_invalid_fixture_is_tested_and_listed():
    folders = {p.name for p in INVALID.iterdir() if p.is_dir()}
    assert folders == {b[0] for b in INVALID_BOOKS + WARNING_BOOKS} | {"_valid_base"}
    listed = {
        line.split("`")[1]
        for line in (INVALID / "README.md").read_text(encoding="utf-8").splitlines()
        if line.startswith("| `")
    }
    assert listed == folders - {"_valid_base"}


@pytest.mark.parametrize(
    "folder, needle",
    [
        ("duplicate_account_id", "(first in row 3)"),
        ("negative_arr", "got '-60000'"),
        ("arr_above_maximum", "Expected a number from 0 to 1e+12 (the documented maximum; "),
        ("arr_above_maximum", "got '1e200'"),
        ("control_character_in_id", "got 'A2\\x00' with NUL"),
        ("cell_too_long", "got 32,768 characters starting 'xxx"),
        ("table_file_is_a_folder", "got a folder named 'pools.csv'"),
        ("semicolon_delimiter", "this file looks ';'-separated"),
        ("latin1_encoding", "line 3"),
        ("empty_accounts_file", "Expected a header row"),
    ],
)
def test_messages_name_the_evidence(folder, needle):
    [finding] = findings(INVALID / folder)
    assert needle in finding.message


def test_unknown_current_owner_is_a_warning_and_the_book_loads():
    book = load(INVALID / "unknown_current_owner_warning")
    [warning] = book.warnings
    assert (warning.severity, warning.file, warning.row, warning.column, warning.rule) == (
        "warning",
        "accounts.csv",
        3,
        "current_owner",
        "unknown_current_owner",
    )
    assert "'C9'" in warning.message and "treated as unassigned" in warning.message
    assert book.accounts.loc[1, "current_owner"] == "C9"  # kept as given


# -- more findings ----------------------------------------------------------------------


def test_all_findings_are_reported_at_once(tmp_path):
    folder = edited_base(
        tmp_path,
        {
            "accounts.csv": [
                ("A1,Acme Corp,300000", "A1,Acme Corp,-1"),
                ("A3,Gamma Ltd,12000,smb,,", "A3,Gamma Ltd,12000,smb,9,"),
            ],
            "csms.csv": [("en;DE", "english")],
        },
    )
    _, found = validate_book(folder, policy=POLICY, as_of=AS_OF)
    assert [(f.file, f.row, f.column, f.rule) for f in found] == [
        ("accounts.csv", 2, "arr", "out_of_range"),
        ("accounts.csv", 4, "complexity", "out_of_range"),
        ("csms.csv", 3, "languages", "bad_language_code"),
    ]


def test_book_error_message_lists_every_error(tmp_path):
    folder = edited_base(tmp_path, {"accounts.csv": [("2027-06-30", "soon"), ("de,,", "deu,,")]})
    with pytest.raises(BookError) as exc:
        load(folder)
    assert len(exc.value.findings) == 2
    assert str(exc.value).startswith("2 error(s) in the book")
    for finding in exc.value.findings:
        assert str(finding) in str(exc.value)


def test_header_only_accounts_needs_at_least_one_account(tmp_path):
    folder = edited_base(tmp_path)
    path = folder / "accounts.csv"
    path.write_text(path.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    [finding] = findings(folder)
    assert (finding.file, finding.rule, finding.message) == (
        "accounts.csv",
        "no_records",
        "Expected at least one account, got only a header row",
    )


def test_each_ragged_row_is_reported_and_trailing_blank_cells_are_padding(tmp_path):
    folder = edited_base(
        tmp_path,
        {
            "locations.csv": [("Boston,NA,-5,", "Boston,NA,-5,,,"), ("Lisbon,EMEA,0,0.7", "Lisbon,EMEA,0,0.7,x")],
            "relationships.csv": [("C2,A1,backup,", "C2,A1")],
        },
    )
    assert [(f.file, f.row, f.rule, f.message) for f in findings(folder)] == [
        ("locations.csv", 3, "ragged_row", "Expected 4 values (one per header column), got 5"),
        ("relationships.csv", 2, "ragged_row", "Expected 4 values (one per header column), got 2"),
    ]


def test_blank_lines_do_not_shift_row_numbers(tmp_path):
    folder = edited_base(tmp_path, {"accounts.csv": [("\nA2,Beta LLC,60000", "\n,,,\n\nA2,Beta LLC,oops")]})
    [finding] = findings(folder)
    assert (finding.row, finding.column, finding.rule) == (5, "arr", "not_a_number")


def test_header_problems_point_at_the_header_cell(tmp_path):
    folder = edited_base(
        tmp_path, {"accounts.csv": [("account_name,arr,", "Account_Name,ARR,"), (",notes\n", ",region\n")]}
    )
    assert [(f.row, f.column, f.rule) for f in findings(folder)] == [
        (1, "region", "duplicate_column"),
        (1, "arr", "missing_column"),
        (1, "Account_Name", "near_miss_name"),
    ]
    assert "got 'ARR', which is NOT read" in findings(folder)[1].message


def test_missing_required_table_and_unknown_extra_tables(tmp_path):
    folder = edited_base(tmp_path)
    (folder / "csms.csv").unlink()
    (folder / "notes.csv").write_text("anything\n", encoding="utf-8")
    [finding] = findings(folder)
    assert (finding.file, finding.row, finding.rule) == ("csms.csv", None, "missing_table")


def test_pool_needs_capacity_hours_or_fte(tmp_path):
    folder = edited_base(tmp_path, {"pools.csv": [("smb;mid_market,2,", "smb;mid_market,,")]})
    [finding] = findings(folder)
    assert (finding.file, finding.row, finding.column, finding.rule) == (
        "pools.csv",
        2,
        "capacity_hours",
        "pool_without_capacity",
    )


def test_unlisted_location_is_a_warning(tmp_path):
    folder = edited_base(tmp_path, {"csms.csv": [("bruno@example.com,Lisbon", "bruno@example.com,Porto")]})
    book = load(folder)
    [warning] = book.warnings
    assert (warning.file, warning.row, warning.column, warning.rule) == ("csms.csv", 3, "location", "unknown_location")
    assert book.csms.loc[1, "annual_cost"] == POLICY.csm_default_annual_cost  # cost_index 1.0


def test_digital_owner_id_is_reserved(tmp_path):
    folder = edited_base(
        tmp_path, {"csms.csv": [("C2,Bruno", "digital,Bruno")], "accounts.csv": [(",C2,,,", ",digital,,,")]}
    )
    # The relationship row of C2 (now on no roster) is reported in the same run.
    assert [(f.file, f.row, f.column, f.rule) for f in findings(folder)] == [
        ("csms.csv", 3, "csm_id", "owner_id_collision"),
        ("relationships.csv", 2, "source", "dangling_id"),
    ]


def test_unreadable_workbook_and_missing_sheet(tmp_path):
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a zip")
    assert [f.rule for f in findings(broken)] == ["unreadable_file"]

    only_csms = tmp_path / "only_csms.xlsx"
    _typed_tables()["csms"].to_excel(only_csms, sheet_name="csms", index=False)
    [finding] = findings(only_csms)
    assert (finding.file, finding.rule) == ("only_csms.xlsx, sheet 'accounts'", "missing_table")


def test_a_path_that_is_no_book(tmp_path):
    [finding] = findings(tmp_path / "nowhere")
    assert finding.rule == "not_a_book" and finding.message.startswith("Expected")


@pytest.mark.parametrize(
    "text, value",
    [
        ("12", 12.0),
        ("-1.5", -1.5),
        (".5", 0.5),
        ("1e3", 1000.0),
        ("nan", None),
        ("inf", None),
        ("1_000", None),
        ("1,000", None),
        ("", None),
    ],
)
def test_numbers_parse_strictly(text, value):
    assert parse_number(text) == value


def test_specs_cover_exactly_the_book_tables():
    assert tuple(TABLE_SPECS) == TABLES


def test_column_reference_states_required_columns():
    required = {(r["table"], r["column"]) for r in reference_rows(POLICY) if r["required"] == "yes"}
    assert required == {
        ("accounts", "account_id"),
        ("accounts", "arr"),
        ("accounts", "region"),
        ("csms", "csm_id"),
        ("csms", "region"),
        ("pools", "pool_id"),
        ("pools", "segments"),
        ("programs", "program_id"),
        ("locations", "location"),
        ("relationships", "source"),
        ("relationships", "target"),
    }


# -- issue 11: near-miss names (item 11) --------------------------------------------------


@pytest.mark.parametrize(
    "given, meant",
    [
        ("pin_ownr", "pin_owner"),
        ("Pin Owner", "pin_owner"),
        ("pin-owner", "pin_owner"),
        ("PIN_OWNER", "pin_owner"),
        ("relationship", "relationships"),
        ("Relationships ", "relationships"),
        ("csm", "csms"),
        ("Account_Name", "account_name"),
        ("notes", None),
        ("health_score", None),
        ("region_code", None),
        ("Sheet1", None),
        ("pin_owner", None),
    ],
)
def test_probable_name_matches_case_separators_plural_and_close_spellings(given, meant):
    from planner.io.schema import probable_name

    known = [c.name for c in TABLE_SPECS["accounts"].columns] + list(TABLE_SPECS)
    assert probable_name(given, known) == meant


def test_a_near_miss_column_warns_that_its_pin_is_not_read(tmp_path):
    folder = edited_base(
        tmp_path, {"accounts.csv": [("crm_id,pin_owner,notes", "crm_id,Pin Owner,notes"), ("C2,,,", "C2,,C1,")]}
    )
    book = load(folder)
    [warning] = book.warnings
    assert (warning.file, warning.row, warning.column, warning.rule) == (
        "accounts.csv",
        1,
        "Pin Owner",
        "near_miss_name",
    )
    assert "Expected a column named 'pin_owner', got 'Pin Owner', which is NOT read" in warning.message
    assert list(book.accounts["pin_owner"]) == ["", "", ""] and book.accounts.loc[1, "Pin Owner"] == "C1"


@pytest.mark.parametrize("column", ["health_score", "region_code", "owner", "segment_old", "renewal", "Notes"])
def test_the_users_own_columns_and_files_are_not_near_misses(tmp_path, column):
    folder = edited_base(tmp_path, {"accounts.csv": [(",notes\n", f",{column}\n")]})
    for file in ("notes.csv", "export.xlsx", "accounts_2024.csv", "~$accounts.xlsx"):
        (folder / file).write_text("anything\n", encoding="utf-8")
    assert findings(folder) == []


def test_a_near_miss_column_next_to_the_real_one_is_the_users_own(tmp_path):
    folder = edited_base(tmp_path, {"accounts.csv": [(",notes\n", ",Pin Owner\n")]})
    assert findings(folder) == []


def test_a_missing_required_table_names_its_near_miss_once(tmp_path):
    folder = edited_base(tmp_path)
    (folder / "csms.csv").rename(folder / "CSM.csv")
    [finding] = findings(folder)
    assert (finding.file, finding.rule) == ("csms.csv", "missing_table")
    assert "(got 'CSM.csv', which is NOT read;" in finding.message


def test_a_near_miss_sheet_name_warns(tmp_path):
    path = tmp_path / "book.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for table, frame in _typed_tables().items():
            frame.to_excel(writer, sheet_name="Relationship" if table == "relationships" else table, index=False)
    book = load(path)
    [warning] = book.warnings
    assert (warning.file, warning.rule) == ("book.xlsx, sheet 'Relationship'", "near_miss_name")
    assert "got a sheet 'Relationship', which is NOT read" in warning.message and len(book.relationships) == 0


# -- issue 11: documented maxima (item 12) ------------------------------------------------


def test_every_number_column_has_a_documented_finite_maximum():
    from planner.io.schema import Number

    numbers = [(t.name, c.name, c.kind) for t in TABLE_SPECS.values() for c in t.columns if isinstance(c.kind, Number)]
    assert numbers and all(math.isfinite(kind.hi) and math.isfinite(kind.lo) for _, _, kind in numbers)
    accepts = {(r["table"], r["column"]): r["accepts"] for r in reference_rows(POLICY)}
    assert accepts[("accounts", "arr")] == accepts[("csms", "max_arr")] == "a number from 0 to 1e+12"


@pytest.mark.parametrize(
    "table, column, old, new, ok",
    [
        ("accounts.csv", "arr", "A2,Beta LLC,60000", "A2,Beta LLC,1e308", False),
        ("accounts.csv", "arr", "A2,Beta LLC,60000", "A2,Beta LLC,1e12", True),
        ("csms.csv", "max_arr", ",2000000,", ",1e13,", False),
        ("csms.csv", "capacity_hours", ",100,20,", ",745,20,", False),
        ("csms.csv", "max_accounts", ",100,20,", ",100,2000000,", False),
        ("csms.csv", "annual_cost", ",130000,", ",1e9,", False),
        ("locations.csv", "cost_index", "0,0.7", "0,101", False),
    ],
)
def test_numbers_above_their_maximum_are_errors(tmp_path, table, column, old, new, ok):
    found = findings(edited_base(tmp_path, {table: [(old, new)]}))
    if ok:
        assert found == []
    else:
        [finding] = found
        assert (finding.file, finding.column, finding.rule) == (table, column, "out_of_range")
        assert finding.message.startswith("Expected a") and "(the " in finding.message


# -- issue 11: every check that can run, runs (item 13) -------------------------------------


def test_validate_reports_a_type_error_and_a_dangling_relationship_in_one_run(tmp_path):
    folder = edited_base(
        tmp_path,
        {
            "accounts.csv": [("A2,Beta LLC,60000", "A2,Beta LLC,abc")],
            "relationships.csv": [("C1,ct_1,knows", "csm_999,ct_1,knows")],
        },
    )
    book, found = validate_book(folder, policy=POLICY, as_of=AS_OF)
    assert book is None
    assert [(f.file, f.row, f.column, f.rule) for f in found] == [
        ("accounts.csv", 3, "arr", "not_a_number"),
        ("relationships.csv", 3, "source", "dangling_id"),
    ]


def test_the_cli_prints_both_findings_of_one_run(tmp_path):
    from typer.testing import CliRunner

    from planner.cli import app

    folder = edited_base(
        tmp_path,
        {
            "accounts.csv": [("A2,Beta LLC,60000", "A2,Beta LLC,abc")],
            "relationships.csv": [("C1,ct_1,knows", "csm_999,ct_1,knows")],
        },
    )
    result = CliRunner().invoke(app, ["validate", str(folder), "--as-of", "2026-11-01"])
    assert result.exit_code == 1
    assert "accounts.csv, row 3, column 'arr': Expected a number, got 'abc'" in result.output
    assert "relationships.csv, row 3, column 'source'" in result.output and "'csm_999'" in result.output
    assert "2 error(s)" in result.output


@pytest.mark.parametrize(
    "edits, expected",
    [
        # A CSM row with a bad cell is still on the roster: its relationships do not dangle.
        ({"csms.csv": [(",100,20,", ",lots,20,")]}, [("csms.csv", 2, "capacity_hours", "not_a_number")]),
        # An id with a NUL is the id it probably is; the relationship naming it does not dangle.
        ({"csms.csv": [("C2,Bruno", "C2\x00,Bruno")]}, [("csms.csv", 3, "csm_id", "control_character")]),
        # A blank source is reported once (the blank cell), not again as a dangling id.
        (
            {"relationships.csv": [("C2,A1,backup", ",A1,backup")]},
            [("relationships.csv", 2, "source", "missing_value")],
        ),
        # A CSM row dropped as ragged: the roster is not whole, so nothing is called dangling.
        (
            {"csms.csv": [("C2,Bruno Brito,bruno@example.com,Lisbon,EMEA,,en;DE,,,,,,,,", "C2,Bruno Brito")]},
            [("csms.csv", 3, None, "ragged_row")],
        ),
        # An account whose segment is bad is not judged on its pin (its segment is unknown).
        (
            {
                "accounts.csv": [
                    ("A1,Acme Corp,300000,enterprise", "A1,Acme Corp,300000,strategic"),
                    ("adoption,C1,001A,,flagship", "adoption,C1,001A,digital,flagship"),
                ]
            },
            [("accounts.csv", 2, "segment", "unknown_segment")],
        ),
    ],
)
def test_checks_on_a_best_effort_book_add_no_finding_a_bad_cell_caused(tmp_path, edits, expected):
    assert [(f.file, f.row, f.column, f.rule) for f in findings(edited_base(tmp_path, edits))] == expected


def test_best_effort_checks_still_find_pins_and_relationship_warnings(tmp_path):
    folder = edited_base(
        tmp_path,
        {
            "accounts.csv": [
                ("A2,Beta LLC,60000", "A2,Beta LLC,abc"),
                ("adoption,C1,001A,,flagship", "adoption,C1,001A,digital,flagship"),
            ],
            "relationships.csv": [("C1,ct_1,knows", "C1,C1,same_pod")],
        },
    )
    assert [(f.severity, f.row, f.rule) for f in findings(folder)] == [
        ("error", 3, "not_a_number"),
        ("warning", 3, "self_loop"),
        ("warning", 2, "pin_breaks_rules"),
    ]


# -- issue 11: pins, relationships and control characters (item 15) ----------------------------


def test_a_pin_that_breaks_the_rules_is_an_exception_in_the_plan(tmp_path):
    from planner.models.coverage import build_coverage

    book = load(INVALID / "pin_breaks_rules")
    model = build_coverage(book)
    [arc] = [e for e in range(len(model.arc_rule)) if model.arc_rule[e] == "pin"]
    assert model.arc_owner_ids[arc] == "digital"
    assert model.arc_exception[arc] == "pinned although enterprise accounts are not covered by the digital program"
    assert "enterprise accounts are not covered by the digital program" in book.warnings[0].message


def test_a_pin_to_a_csm_who_does_not_speak_the_language_is_an_exception(tmp_path):
    from planner.models.coverage import build_coverage

    book = load(edited_base(tmp_path, {"accounts.csv": [("2027-01-15,,C2,,,", "2027-01-15,,C2,,C1,")]}))
    [warning] = book.warnings
    assert (warning.row, warning.rule) == (3, "pin_breaks_rules") and "CSM does not speak 'de'" in warning.message
    model = build_coverage(book)
    [arc] = [e for e in range(len(model.arc_rule)) if model.arc_rule[e] == "pin"]
    assert model.arc_exception[arc].startswith("pinned although CSM does not speak 'de'")


def test_a_pin_the_rules_allow_is_no_exception(tmp_path):
    from planner.models.coverage import build_coverage

    book = load(
        edited_base(tmp_path, {"accounts.csv": [("adoption,C1,001A,,flagship", "adoption,C1,001A,C1,flagship")]})
    )
    assert book.warnings == ()
    model = build_coverage(book)
    assert [model.arc_exception[e] for e in range(len(model.arc_rule)) if model.arc_rule[e] == "pin"] == [""]


def test_control_characters_leave_text_before_the_plan_and_extras_stay_exact(tmp_path):
    folder = edited_base(
        tmp_path,
        {
            "accounts.csv": [("A1,Acme Corp", '"A1","Acme\x00\r\nCorp\x1b"'), (",flagship", ",flag\x00ship")],
            "csms.csv": [("Alice Able", "Alice\tAble")],
        },
    )
    book = load(folder)
    assert [(w.row, w.column, w.rule) for w in book.warnings] == [
        (2, "account_name", "control_character"),
        (2, "notes", "control_character"),
    ]
    assert "with NUL, a carriage return, a line break, ESC" in book.warnings[0].message
    assert book.accounts.loc[0, "account_name"] == "Acme Corp"
    assert book.accounts.loc[0, "notes"] == "flag\x00ship"  # the user's own column, exactly as given
    assert book.csms.loc[0, "name"] == "Alice\tAble"  # a tab is no control character here


def test_a_line_break_in_an_extra_column_is_no_finding(tmp_path):
    folder = edited_base(tmp_path, {"accounts.csv": [(",flagship", ',"flag\nship"')]})
    assert findings(folder) == []


@pytest.mark.parametrize(
    "table, old, new, column",
    [
        ("accounts.csv", ",C2,,,", ",C2\x01,,,", "current_owner"),
        ("relationships.csv", "C2,A1,backup", "C2,A1\x00,backup", "target"),
        ("locations.csv", "Lisbon,EMEA", "Lis\x7fbon,EMEA", "location"),
    ],
)
def test_a_control_character_in_an_id_is_an_error(tmp_path, table, old, new, column):
    found = [f for f in findings(edited_base(tmp_path, {table: [(old, new)]})) if f.rule == "control_character"]
    assert [(f.severity, f.file, f.column) for f in found] == [("error", table, column)]


# -- issue 11: where a finding is (item 16) and unreadable files (item 7) ------------------------


def test_workbook_findings_name_the_sheet_in_words_through_the_cli(tmp_path):
    from typer.testing import CliRunner

    from planner.cli import app

    path = tmp_path / "X.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for table, frame in _typed_tables().items():
            if table in ("accounts", "csms"):
                frame = frame.astype(object)
                frame.loc[1, "region"] = None
            frame.to_excel(writer, sheet_name=table, index=False)
    result = CliRunner().invoke(app, ["validate", str(path), "--as-of", "2026-11-01"])
    assert result.exit_code == 1
    assert "error: X.xlsx, sheet 'accounts', row 3, column 'region': Expected a value" in result.output
    assert "error: X.xlsx, sheet 'csms', row 3, column 'region': Expected a value" in result.output


def test_a_huge_cell_names_its_column_and_is_quoted_short(tmp_path):
    folder = edited_base(tmp_path, {"accounts.csv": [("A2,Beta LLC,60000", "A2,Beta LLC," + "9" * 1_000_000)]})
    [finding] = findings(folder)
    assert (finding.row, finding.column, finding.rule) == (3, "arr", "too_long")
    assert "got 1,000,000 characters" in finding.message and len(finding.message) < 300


def test_a_huge_cell_in_the_users_own_column_is_carried(tmp_path):
    folder = edited_base(tmp_path, {"accounts.csv": [(",flagship", "," + "n" * 200_000)]})
    assert load(folder).accounts.loc[0, "notes"] == "n" * 200_000


def test_a_file_that_cannot_be_read_is_a_finding_naming_it(tmp_path, monkeypatch):
    folder = edited_base(tmp_path)
    real = Path.read_bytes

    def read_bytes(self):
        if self.name == "csms.csv":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    [finding] = findings(folder)
    assert (finding.severity, finding.file, finding.rule) == ("error", "csms.csv", "unreadable_file")
    assert finding.message == "Expected a file the planner can read, but reading it failed: Permission denied"


def test_an_unreadable_book_file_ends_with_exit_1_not_a_traceback(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from planner.cli import app

    folder = edited_base(tmp_path)
    (folder / "accounts.csv").unlink()
    (folder / "accounts.csv").mkdir()
    result = CliRunner().invoke(app, ["validate", str(folder)])
    assert result.exit_code == 1
    assert "error: accounts.csv: Expected a file, got a folder named 'accounts.csv'" in result.output

    workbook = tmp_path / "book.xlsx"
    workbook.write_bytes(b"PK")
    monkeypatch.setattr(Path, "read_bytes", lambda self: (_ for _ in ()).throw(OSError(5, "Input/output error")))
    result = CliRunner().invoke(app, ["validate", str(workbook)])
    assert result.exit_code == 1
    assert (
        "error: book.xlsx: Expected a file the planner can read, but reading it failed: Input/output error"
        in result.output
    )

"""The relationship graph and the findings about bad relationship rows (fixtures/handoff)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from planner.io import load_book
from planner.team.graph import KINDS, build_graph, relationship_findings

FIX = Path(__file__).resolve().parent.parent / "fixtures"
AS_OF = dt.date(2027, 6, 1)


@pytest.fixture(scope="module")
def book():
    return load_book(FIX / "handoff", as_of=AS_OF)


@pytest.fixture(scope="module")
def G(book):
    return build_graph(book)


def with_rows(book, rows: list[tuple]):
    """The book with its relationships replaced by `rows` of (source, target, kind[, strength, since, until])."""
    full = [tuple(r) + (1.0, "", "")[len(r) - 3 :] for r in rows]
    df = pd.DataFrame(full, columns=["source", "target", "kind", "strength", "since", "until"])
    return book.with_(relationships=df.astype({"strength": float}))


def test_nodes_are_typed_and_leavers_stay(G):
    types = dict(G.nodes(data="type"))
    assert types["csm_leo"] == "csm" and G.nodes["csm_leo"]["status"] == "leaving"
    assert types["acc_alpha"] == "account" and G.nodes["acc_alpha"]["arr"] == 400000
    assert {n for n, t in types.items() if t == "contact"} == {
        "ct_beta_1",
        "ct_beta_2",
        "ct_gamma_1",
        "ct_gamma_2",
        "ct_gamma_3",
    }
    assert {n for n, t in types.items() if t == "product"} == {"prod_api", "prod_bi"}
    assert sum(t == "csm" for t in types.values()) == 6 and sum(t == "account" for t in types.values()) == 10


def test_edges_keep_kind_strength_dates_and_row(G):
    assert G.number_of_edges() == 10 + 21  # one implied owner edge per account + every row
    e = G.edges["csm_ann", "acc_alpha", "former_owner"]
    assert e == {
        "kind": "former_owner",
        "strength": 1.0,
        "since": dt.date(2023, 1, 1),
        "until": dt.date(2025, 6, 1),
        "file": "relationships.csv",
        "row": 2,
        "implied": False,
    }
    assert G.edges["csm_eve", "ct_gamma_3", "knows"]["strength"] == 0.5
    assert G.edges["csm_eve", "ct_gamma_3", "knows"]["row"] == 12
    owner = G.edges["csm_leo", "acc_gamma", "owner"]
    assert (owner["implied"], owner["file"], owner["row"]) == (True, "accounts.csv", 4)


def test_repeated_kind_gets_a_numbered_key(book):
    G = build_graph(
        with_rows(
            book,
            [
                ("csm_ann", "acc_alpha", "former_owner", 1.0, "", "2020-01"),
                ("csm_ann", "acc_alpha", "former_owner", 1.0, "", "2025-06"),
            ],
        )
    )
    assert sorted(G["csm_ann"]["acc_alpha"]) == ["former_owner", "former_owner#2"]
    assert G.edges["csm_ann", "acc_alpha", "former_owner#2"]["row"] == 3


def test_current_owner_on_no_roster_or_digital_adds_no_edge(book):
    acc = book.accounts.copy()
    acc.loc[acc["account_id"] == "acc_alpha", "current_owner"] = "digital"
    acc.loc[acc["account_id"] == "acc_beta", "current_owner"] = "csm_gone"
    G = build_graph(book.with_(accounts=acc))
    assert not any(d["kind"] == "owner" for *_, d in G.in_edges("acc_alpha", data=True))
    assert not any(d["kind"] == "owner" for *_, d in G.in_edges("acc_beta", data=True))
    assert "csm_gone" not in G


def test_the_fixture_has_no_findings(book):
    assert relationship_findings(book) == []


def test_unknown_and_blank_kinds_are_warnings_with_their_row(book):
    bad = with_rows(
        book, [("csm_ann", "acc_alpha", "backup"), ("csm_ann", "acc_beta", "mentor"), ("csm_ann", "acc_beta", "")]
    )
    findings = relationship_findings(bad)
    assert [(f.severity, f.row, f.column, f.rule) for f in findings] == [
        ("warning", 3, "kind", "unknown_relationship_kind"),
        ("warning", 4, "kind", "unknown_relationship_kind"),
    ]
    assert "'mentor'" in findings[0].message and "backup" in findings[0].message
    assert "blank" in findings[1].message
    assert str(findings[0]).startswith("warning: relationships.csv, row 3, column 'kind': Expected a kind: one of")
    assert set(KINDS) <= set(findings[0].message.replace(";", " ").replace("|", " ").split())
    G = build_graph(bad)
    assert G.has_edge("csm_ann", "acc_alpha", "backup") and not G.has_edge("csm_ann", "acc_beta")


def test_kind_is_matched_case_insensitively(book):
    assert relationship_findings(with_rows(book, [("csm_ann", "acc_beta", " Backup ")])) == []
    assert build_graph(with_rows(book, [("csm_ann", "acc_beta", " Backup ")])).has_edge("csm_ann", "acc_beta", "backup")


def test_dangling_ids_are_errors_naming_row_and_column(book):
    bad = with_rows(
        book,
        [
            ("csm_ann", "acc_alpha", "backup"),  # row 2: fine
            ("csm_zzz", "acc_alpha", "backup"),  # row 3: no such CSM
            ("csm_ann", "acc_nope", "former_owner"),  # row 4: no such account
            ("csm_ann", "csm_ghost", "same_pod"),  # row 5: no such CSM on the other side
        ],
    )
    findings = relationship_findings(bad)
    assert [(f.severity, f.file, f.row, f.column, f.rule) for f in findings] == [
        ("error", "relationships.csv", 3, "source", "dangling_id"),
        ("error", "relationships.csv", 4, "target", "dangling_id"),
        ("error", "relationships.csv", 5, "target", "dangling_id"),
    ]
    assert (
        findings[0].message
        == "Expected a csm_id from the CSM roster as the source of a 'backup' row, got 'csm_zzz', which is on no roster"
    )
    assert findings[1].message.startswith(
        "Expected an account_id from the accounts table as the target of a 'former_owner' row, got 'acc_nope'"
    )
    G = build_graph(bad)
    assert G.number_of_edges() == 10 + 1 and G.has_edge("csm_ann", "acc_alpha", "backup")
    assert "csm_zzz" not in G and "acc_nope" not in G and "csm_ghost" not in G


def test_kind_endpoint_mismatches_are_errors(book):
    bad = with_rows(
        book,
        [
            ("ct_1", "acc_beta", "works_at"),  # row 2: makes ct_1 a contact
            ("csm_ann", "acc_alpha", "knows"),  # row 3: an account where a contact belongs
            ("ct_1", "acc_beta", "backup"),  # row 4: a contact where a CSM belongs
            ("acc_beta", "ct_1", "uses"),  # row 5: a contact where a product belongs
            ("acc_beta", "csm_bea", "works_at"),  # row 6: an account as a contact, a CSM as an account
        ],
    )
    findings = relationship_findings(bad)
    assert [(f.row, f.column, f.rule) for f in findings] == [
        (3, "target", "endpoint_mismatch"),
        (4, "source", "endpoint_mismatch"),
        (5, "target", "endpoint_mismatch"),
        (6, "source", "endpoint_mismatch"),
        (6, "target", "endpoint_mismatch"),
    ]
    assert all(f.severity == "error" for f in findings)
    assert findings[0].message.endswith("got 'acc_alpha', which is an account")
    assert findings[1].message.endswith("got 'ct_1', which is a contact (first used so in row 2)")
    assert findings[2].message.startswith("Expected a product id")
    assert findings[4].message.endswith("got 'csm_bea', which is a CSM")
    assert build_graph(bad).number_of_edges() == 10 + 1  # only row 2 survives


def test_malformed_dates_warn_and_are_ignored(book):
    bad = with_rows(book, [("csm_ann", "acc_alpha", "former_owner", 1.0, "2023-01-15", "June 2025")])
    (f,) = relationship_findings(bad)
    assert (f.severity, f.row, f.column, f.rule) == ("warning", 2, "until", "malformed_date")
    assert "'June 2025'" in f.message
    e = build_graph(bad).edges["csm_ann", "acc_alpha", "former_owner"]
    assert (e["since"], e["until"]) == (dt.date(2023, 1, 15), None)


def test_build_is_deterministic(book):
    a, b = build_graph(book), build_graph(book)
    assert list(a.nodes(data=True)) == list(b.nodes(data=True))
    assert list(a.edges(keys=True, data=True)) == list(b.edges(keys=True, data=True))


def test_load_book_refuses_a_dangling_relationship_and_names_the_row(tmp_path):
    import shutil

    from planner.errors import BookError

    book = tmp_path / "book"
    shutil.copytree(Path(__file__).resolve().parent.parent / "fixtures" / "handoff", book)
    rel = book / "relationships.csv"
    rel.write_text(rel.read_text() + "csm_ghost,acc_alpha,backup,1,,\ncsm_ann,acc_alpha,mentor,1,,\n")
    with pytest.raises(BookError) as info:
        load_book(book)
    found = {(f.severity, f.file, f.row, f.column, f.rule) for f in info.value.findings}
    assert ("error", "relationships.csv", 23, "source", "dangling_id") in found
    assert any(f.severity == "warning" and f.row == 24 and f.column == "kind" for f in info.value.findings)


# -- issue 11 item 15: rows that are accepted but wrong ------------------------------------


def test_a_self_loop_is_a_warning_and_left_out(book):
    bad = with_rows(book, [("csm_ann", "csm_ann", "same_pod"), ("csm_ann", "csm_bea", "same_pod")])
    (f,) = relationship_findings(bad)
    assert (f.severity, f.row, f.column, f.rule) == ("warning", 2, "target", "self_loop")
    assert f.message == "Expected a target other than the source, got 'csm_ann' as both; the row is ignored"
    G = build_graph(bad)
    assert not G.has_edge("csm_ann", "csm_ann") and G.has_edge("csm_ann", "csm_bea", "same_pod")


def test_since_after_until_is_a_warning_and_both_dates_are_ignored(book):
    bad = with_rows(book, [("csm_ann", "acc_alpha", "former_owner", 1.0, "2026-05", "2025-01-31")])
    (f,) = relationship_findings(bad)
    assert (f.severity, f.row, f.column, f.rule) == ("warning", 2, "until", "since_after_until")
    assert "since 2026-05 and until 2025-01-31" in f.message
    e = build_graph(bad).edges["csm_ann", "acc_alpha", "former_owner"]
    assert (e["since"], e["until"]) == (None, None)


def test_an_owner_row_that_contradicts_current_owner_is_read_as_former_owner(book):
    from planner.team.knowledge import knowledge

    # acc_alpha's current_owner is csm_leo (accounts.csv row 2); the row says csm_ann owns it.
    bad = with_rows(book, [("csm_ann", "acc_alpha", "owner"), ("csm_leo", "acc_alpha", "owner")])
    (f,) = relationship_findings(bad)
    assert (f.severity, f.row, f.column, f.rule) == ("warning", 2, "source", "owner_not_current")
    assert f.message == (
        "Expected an owner row to name the account's current owner, got 'csm_ann', but 'acc_alpha' "
        "has current_owner 'csm_leo' (accounts.csv row 2); the row is read as former_owner"
    )
    G = build_graph(bad)
    assert not G.has_edge("csm_ann", "acc_alpha", "owner") and G.has_edge("csm_ann", "acc_alpha", "former_owner")
    k = knowledge(G, "acc_alpha", "csm_ann", leaver="csm_leo")
    assert "current owner" not in k.explanation and k.explanation.startswith("former owner")
    assert knowledge(G, "acc_alpha", "csm_leo").explanation.startswith("current owner")  # the agreeing row


def test_an_owner_row_for_an_account_without_current_owner_says_so(book):
    acc = book.accounts.copy()
    acc.loc[acc["account_id"] == "acc_alpha", "current_owner"] = ""
    (f,) = relationship_findings(with_rows(book.with_(accounts=acc), [("csm_ann", "acc_alpha", "owner")]))
    assert f.rule == "owner_not_current" and "'acc_alpha' has no current_owner (accounts.csv row 2)" in f.message


def test_workbook_tables_are_named_by_sheet_in_words(book):
    from dataclasses import replace

    from planner.team.graph import table_file

    sources = tuple(replace(s, path="/x/Book.xlsx") for s in book.sources)
    assert table_file(book.with_(sources=sources), "relationships") == "Book.xlsx, sheet 'relationships'"

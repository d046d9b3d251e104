"""The knowledge score on fixtures/handoff, whose README computes every number by hand."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.io import load_book
from planner.policy import PolicyError, policy_from_dict
from planner.team.graph import build_graph
from planner.team.knowledge import (
    COLD,
    DEFAULT_WEIGHTS,
    KnowledgeWeights,
    account_view,
    backup_signal,
    combine,
    connected_csms,
    contacts_signal,
    covered_pto_signal,
    csm_ties,
    find_introducer,
    former_owner_signal,
    knowledge,
    knowledge_matrix,
    months_between,
    owner_signal,
    pod_signal,
    products_signal,
    recency,
    shadow_signal,
    touches,
    weights_from_policy,
)

FIX = Path(__file__).resolve().parent.parent / "fixtures"
AS_OF = dt.date(2027, 6, 1)
LEAVER = "csm_leo"
LEAVERS_ACCOUNTS = ["acc_alpha", "acc_beta", "acc_gamma", "acc_delta", "acc_epsilon"]
OTHERS = ["csm_ann", "csm_bea", "csm_cal", "csm_dan", "csm_eve"]

# fixtures/handoff/README.md: account -> (best successor, score, explanation)
BEST = {
    "acc_alpha": ("csm_ann", 0.40, "former owner until 2025-06"),
    "acc_beta": ("csm_bea", 0.70, "backup"),
    "acc_gamma": ("csm_cal", 0.40, "knows 2 of its 3 contacts"),
    "acc_delta": ("csm_dan", 0.405, "expert in 2 of its 2 products; same pod as the leaver (csm_leo)"),
    "acc_epsilon": ("csm_dan", 0.15, "same pod as the leaver (csm_leo)"),
}
# every non-zero score the README lists, runner-ups included
ALL_SCORES = {
    ("acc_alpha", "csm_ann"): 0.40,
    ("acc_alpha", "csm_dan"): 0.15,
    ("acc_beta", "csm_bea"): 0.70,
    ("acc_beta", "csm_ann"): 0.30,
    ("acc_beta", "csm_dan"): 0.15,
    ("acc_gamma", "csm_cal"): 0.40,
    ("acc_gamma", "csm_dan"): 0.15,
    ("acc_gamma", "csm_eve"): 0.10,
    ("acc_delta", "csm_dan"): 0.405,
    ("acc_delta", "csm_cal"): 0.15,
    ("acc_epsilon", "csm_dan"): 0.15,
}


@pytest.fixture(scope="module")
def book():
    return load_book(FIX / "handoff", as_of=AS_OF)


@pytest.fixture(scope="module")
def G(book):
    return build_graph(book)


@pytest.fixture(scope="module")
def matrix(G):
    return knowledge_matrix(G, LEAVERS_ACCOUNTS, OTHERS, {a: LEAVER for a in LEAVERS_ACCOUNTS})


def best(matrix, account):
    return min(OTHERS, key=lambda c: (-matrix[(account, c)].score, c))


def with_extra_rows(book, rows):
    extra = pd.DataFrame(rows, columns=["source", "target", "kind", "strength", "since", "until"])
    return book.with_(relationships=pd.concat([book.relationships, extra], ignore_index=True))


# -- the fixture's known answers ---------------------------------------------------


@pytest.mark.parametrize("account", LEAVERS_ACCOUNTS)
def test_best_successor_score_and_explanation(matrix, account):
    successor, score, explanation = BEST[account]
    assert best(matrix, account) == successor
    k = matrix[(account, successor)]
    assert k.score == pytest.approx(score)
    assert k.explanation == explanation


def test_every_score_matches_the_readme(matrix):
    got = {pair: k.score for pair, k in matrix.items() if k.score > 0}
    assert got == pytest.approx(ALL_SCORES)
    assert all(matrix[pair] is COLD for pair in matrix if pair not in ALL_SCORES)


def test_the_cold_handoff_is_flagged(matrix):
    assert matrix[("acc_epsilon", "csm_dan")].cold
    assert matrix[("acc_epsilon", "csm_ann")] == COLD and COLD.explanation == "no known relationship"
    assert not matrix[("acc_delta", "csm_dan")].cold


def test_explanations_cite_real_connected_edges(G, matrix):
    for (account, candidate), k in matrix.items():
        for path in k.paths:
            assert path, (account, candidate)
            for u, v, key in path:
                assert G.has_edge(u, v, key), (account, candidate, (u, v, key))
            nodes = [{u, v} for u, v, _ in path]
            assert candidate in nodes[0]
            assert all(a & b for a, b in zip(nodes, nodes[1:]))  # consecutive edges share a node
            assert account in nodes[-1] or LEAVER in nodes[-1]  # ends at the customer, or at the leaver (pod)
    assert matrix[("acc_gamma", "csm_cal")].paths == (
        (("csm_cal", "ct_gamma_1", "knows"), ("ct_gamma_1", "acc_gamma", "works_at")),
        (("csm_cal", "ct_gamma_2", "knows"), ("ct_gamma_2", "acc_gamma", "works_at")),
    )


def test_matrix_equals_one_by_one_scoring(G, matrix, book):
    everyone = list(book.csms["csm_id"])
    full = knowledge_matrix(G, list(book.accounts["account_id"]), everyone, {a: LEAVER for a in LEAVERS_ACCOUNTS})
    for (a, c), k in full.items():
        leaver = LEAVER if a in LEAVERS_ACCOUNTS else None
        assert k == knowledge(G, a, c, leaver), (a, c)
    assert all(full[pair] == k for pair, k in matrix.items())


def test_touches_and_the_reverse_index_agree(G, book):
    ties = csm_ties(G)
    for a in book.accounts["account_id"]:
        for leaver in (None, LEAVER, "csm_cal"):
            view = account_view(G, a, leaver)
            near = connected_csms(view, ties)
            assert near == {c for c in book.csms["csm_id"] if touches(view, c)}, (a, leaver)
            assert all(knowledge(G, a, c, leaver).score == 0 for c in book.csms["csm_id"] if c not in near)
    strong = connected_csms(account_view(G, "acc_delta", LEAVER), ties, weak=False)
    assert strong == {"csm_leo"}  # dan and cal only share products or the pod


def test_matrix_is_deterministic(G, matrix):
    again = knowledge_matrix(G, LEAVERS_ACCOUNTS, OTHERS, {a: LEAVER for a in LEAVERS_ACCOUNTS})
    assert list(again.items()) == list(matrix.items())


def test_wrong_ids_are_refused_with_what_was_expected(G):
    with pytest.raises(ValueError, match="Expected an account_id, got 'ct_beta_1', which is a contact"):
        knowledge(G, "ct_beta_1", "csm_ann")
    with pytest.raises(ValueError, match="Expected a csm_id, got 'csm_nobody', which is not in the book"):
        knowledge_matrix(G, ["acc_alpha"], ["csm_ann", "csm_nobody"])
    with pytest.raises(ValueError, match="Expected a csm_id, got 'acc_beta', which is an account"):
        knowledge(G, "acc_alpha", "csm_ann", leaver="acc_beta")


# -- each signal ----------------------------------------------------------------------


def test_owner_signal_is_full_knowledge(G):
    s = owner_signal(account_view(G, "acc_alpha"), LEAVER)
    assert s == (1.0, "current owner", ((("csm_leo", "acc_alpha", "owner"),),))
    assert knowledge(G, "acc_alpha", LEAVER).score == 1.0


def test_former_owner_signal_decays_with_time(G):
    s = former_owner_signal(account_view(G, "acc_alpha"), "csm_ann")
    assert s == (pytest.approx(0.4), "former owner until 2025-06", ((("csm_ann", "acc_alpha", "former_owner"),),))
    half_year = KnowledgeWeights(half_life_months=12.0)
    assert former_owner_signal(account_view(G, "acc_alpha"), "csm_ann", half_year).score == pytest.approx(0.8 * 0.25)


def test_recency_and_months():
    assert months_between(dt.date(2025, 6, 1), dt.date(2026, 6, 30)) == 12
    assert months_between(dt.date(2027, 1, 1), dt.date(2026, 6, 1)) == 0  # a future end counts as now
    assert recency(dt.date(2025, 6, 1), dt.date(2027, 6, 1)) == 0.5
    assert recency(dt.date(2026, 6, 1), dt.date(2027, 6, 1)) == pytest.approx(2**-0.5)
    assert recency(None, dt.date(2027, 6, 1)) == 0.5  # undated: one half-life old
    assert recency(dt.date(2027, 6, 1), dt.date(2027, 6, 1)) == 1.0


def test_backup_and_shadow_signals(G):
    assert backup_signal(account_view(G, "acc_beta"), "csm_bea") == (
        0.7,
        "backup",
        ((("csm_bea", "acc_beta", "backup"),),),
    )
    assert shadow_signal(account_view(G, "acc_zeta"), LEAVER) == (
        0.4,
        "shadowed the account",
        ((("csm_leo", "acc_zeta", "shadow"),),),
    )
    assert backup_signal(account_view(G, "acc_beta"), "csm_ann").score == 0


def test_covered_pto_signal_decays_and_the_strongest_edge_counts(book):
    G = build_graph(
        with_extra_rows(
            book,
            [
                ("csm_eve", "acc_eta", "covered_pto", 1.0, "", "2027-05"),  # 1 month ago
                ("csm_eve", "acc_eta", "covered_pto", 1.0, "", ""),  # undated: 0.5
                ("csm_cal", "acc_eta", "covered_pto", 0.5, "", "2027-06"),
            ],
        )
    )
    s = covered_pto_signal(account_view(G, "acc_eta"), "csm_eve")
    assert s.score == pytest.approx(0.5 * 2 ** (-1 / 24))
    assert s.phrase == "covered PTO until 2027-05"
    assert s.paths == ((("csm_eve", "acc_eta", "covered_pto"),),)
    assert covered_pto_signal(account_view(G, "acc_eta"), "csm_cal").score == pytest.approx(0.25)


def test_contacts_signal_weights_by_strength(G):
    view = account_view(G, "acc_gamma")
    assert contacts_signal(view, "csm_eve")[:2] == (pytest.approx(0.6 * 0.5 / 3), "knows 1 of its 3 contacts")
    assert contacts_signal(view, "csm_cal")[:2] == (pytest.approx(0.4), "knows 2 of its 3 contacts")
    assert contacts_signal(view, "csm_ann").score == 0


def test_products_signal(G):
    view = account_view(G, "acc_delta")
    assert products_signal(view, "csm_dan")[:2] == (pytest.approx(0.3), "expert in 2 of its 2 products")
    assert products_signal(view, "csm_cal").paths == (
        (("csm_cal", "prod_api", "expert"), ("acc_delta", "prod_api", "uses")),
    )


def test_pod_signal_reads_the_leaver_else_the_current_owner(G):
    with_leaver = pod_signal(account_view(G, "acc_delta", leaver=LEAVER), "csm_dan")
    assert with_leaver == (0.15, "same pod as the leaver (csm_leo)", ((("csm_dan", "csm_leo", "same_pod"),),))
    assert pod_signal(account_view(G, "acc_delta"), "csm_dan").phrase == "same pod as the current owner (csm_leo)"
    # the edge is written cal -> eve; it counts both ways
    assert pod_signal(account_view(G, "acc_theta"), "csm_eve").paths == ((("csm_eve", "csm_cal", "same_pod"),),)
    assert pod_signal(account_view(G, "acc_alpha", leaver="csm_dan"), "csm_dan").score == 0  # not your own pod mate


def test_signals_combine_as_independent_evidence():
    from planner.team.knowledge import Signal

    k = combine([("products", Signal(0.3, "p", ())), ("pod", Signal(0.15, "q", ())), ("backup", Signal(0.0, "", ()))])
    assert k.score == pytest.approx(1 - 0.7 * 0.85)
    assert k.explanation == "p; q" and k.components == (("products", 0.3), ("pod", 0.15))
    assert combine([("backup", Signal(0.7, "b", ()))]).score == 0.7  # one signal is its own score
    assert combine([]) is COLD


@settings(max_examples=40, deadline=None)
@given(
    st.builds(
        KnowledgeWeights,
        **{f.name: st.floats(0, 1) for f in dataclasses.fields(KnowledgeWeights) if f.name != "half_life_months"},
    )
)
def test_scores_stay_in_0_1_and_never_fall_below_a_signal(G, weights):
    for k in knowledge_matrix(
        G, LEAVERS_ACCOUNTS, OTHERS + [LEAVER], {a: LEAVER for a in LEAVERS_ACCOUNTS}, weights
    ).values():
        assert 0.0 <= k.score <= 1.0 + 1e-12
        assert all(k.score >= c - 1e-12 for _, c in k.components)


def test_more_evidence_never_lowers_the_score(book, G):
    richer = build_graph(with_extra_rows(book, [("csm_ann", "acc_alpha", "shadow", 0.5, "", "")]))
    before, after = knowledge(G, "acc_alpha", "csm_ann"), knowledge(richer, "acc_alpha", "csm_ann")
    assert after.score == pytest.approx(1 - 0.6 * 0.8) and after.score > before.score
    assert after.explanation == "former owner until 2025-06; shadowed the account"


# -- weights ------------------------------------------------------------------------------


def test_weights_are_validated():
    with pytest.raises(ValueError, match=r"knowledge.backup: expected a number in \[0, 1\], got 1.5"):
        KnowledgeWeights(backup=1.5)
    with pytest.raises(ValueError, match="half_life_months: expected a finite number > 0"):
        KnowledgeWeights(half_life_months=0)
    with pytest.raises(ValueError, match="half_life_months: expected a finite number > 0, got inf"):
        KnowledgeWeights(half_life_months=float("inf"))


def test_policy_knowledge_table_overrides_weights(book, G):
    raw = {**book.policy.raw, "knowledge": {"backup": 0.9}}
    w = weights_from_policy(policy_from_dict(raw))
    assert w == dataclasses.replace(DEFAULT_WEIGHTS, backup=0.9)
    assert knowledge(G, "acc_beta", "csm_bea", weights=w).score == 0.9
    assert weights_from_policy(book.policy) == DEFAULT_WEIGHTS
    # A bad [knowledge] table is refused when the policy is loaded (tests/test_policy.py), not first in reassign.
    with pytest.raises(PolicyError, match=r"policy dict: \[knowledge\] mentor: unknown key; expected one of owner,"):
        policy_from_dict({**book.policy.raw, "knowledge": {"mentor": 0.5}})
    with pytest.raises(PolicyError, match=r"policy dict: \[knowledge\] pod: expected a number in \[0, 1\], got 2"):
        policy_from_dict({**book.policy.raw, "knowledge": {"pod": 2}})


# -- introducers ----------------------------------------------------------------------------

INTRODUCERS = {
    ("acc_alpha", "csm_ann"): ("csm_leo", None),
    ("acc_beta", "csm_bea"): ("csm_leo", "csm_ann"),
    ("acc_gamma", "csm_cal"): ("csm_leo", "csm_eve"),
    ("acc_delta", "csm_dan"): ("csm_leo", None),
    ("acc_epsilon", "csm_dan"): ("csm_leo", None),
}


@pytest.mark.parametrize("pair", list(INTRODUCERS))
def test_introducer_prefers_the_leaver_then_the_strongest_tie(G, pair):
    with_leaver, without = INTRODUCERS[pair]
    assert find_introducer(G, *pair) == with_leaver
    assert find_introducer(G, *pair, exclude=[LEAVER]) == without


def test_introducer_is_never_the_successor_nor_someone_away(book):
    csms = book.csms.copy()
    csms.loc[csms["csm_id"] == "csm_eve", "status"] = "on_leave"
    G = build_graph(book.with_(csms=csms))
    assert find_introducer(G, "acc_gamma", "csm_cal", exclude=[LEAVER]) is None
    assert find_introducer(G, "acc_beta", "csm_bea", exclude=[LEAVER, "csm_ann"]) is None


def test_introducer_ranks_by_tie_strength_then_id(book):
    # beta's customer ties besides leo: bea (backup, 1.0) and ann (knows ct_beta_1, 1.0); successor dan
    def introducer(bea_pod, ann_pod):
        G = build_graph(
            with_extra_rows(
                book,
                [
                    ("csm_bea", "csm_dan", "same_pod", bea_pod, "", ""),
                    ("csm_ann", "csm_dan", "same_pod", ann_pod, "", ""),
                ],
            )
        )
        return find_introducer(G, "acc_beta", "csm_dan", exclude=[LEAVER])

    assert introducer(1.0, 0.5) == "csm_bea"  # the stronger tie wins over the smaller id
    assert introducer(0.5, 1.0) == "csm_ann"
    assert introducer(0.9, 0.9) == "csm_ann"  # equal ties: the smaller id

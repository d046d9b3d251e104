"""The knowledge score: how well a candidate successor already knows an account.

When an account changes hands, the customer suffers least if the new owner
already knows it. Each piece of evidence in the relationship graph
(planner.team.graph) is one named *signal*: a function returning its score
component in [0, 1], the phrase that explains it, and the graph paths it
used (each path a tuple of ``(u, v, key)`` edges of G, so every explanation
can be traced to real rows).

Signals and default weights (``KnowledgeWeights``; the policy may override
them in a ``[knowledge]`` table)
-----------------------------------------------------------------------------

| signal       | evidence in the graph                              | component                                   | phrase                               |
|--------------|----------------------------------------------------|---------------------------------------------|--------------------------------------|
| owner        | candidate -owner-> account                         | 1.00 x strength                             | "current owner"                      |
| former_owner | candidate -former_owner-> account                  | 0.80 x strength x recency(until)            | "former owner until 2025-06"         |
| backup       | candidate -backup-> account                        | 0.70 x strength                             | "backup"                             |
| covered_pto  | candidate -covered_pto-> account                   | 0.50 x strength x recency(until)            | "covered PTO until 2026-01"          |
| shadow       | candidate -shadow-> account                        | 0.40 x strength                             | "shadowed the account"               |
| contacts     | candidate -knows-> contact -works_at-> account     | 0.60 x (sum of knows strengths) / contacts  | "knows 2 of its 3 contacts"          |
| products     | candidate -expert-> product <-uses- account        | 0.30 x (sum of expert strengths) / products | "expert in 2 of its 3 products"      |
| pod          | candidate -same_pod- the leaver (else the owner)   | 0.15 x strength                             | "same pod as the leaver (csm_x)"     |

recency(until) = 0.5 ** (months from `until` to the plan date / 24): a former
owner's knowledge halves every two years (months are whole calendar months,
never negative). An undated former owner or PTO cover counts as one
half-life old (0.5).

When several edges give the same signal (two former-owner stints), the
strongest counts once. The signals combine like independent evidence, each
closing its share of the remaining gap:

    score = 1 - (1 - c_owner) (1 - c_former_owner) ... (1 - c_pod)

so the score stays in [0, 1], never falls when evidence is added, and two
weak ties rank above one. Example: expert in both of an account's products
(0.30) and in the leaver's pod (0.15) gives 1 - 0.70 x 0.85 = 0.405.

The explanation lists the phrases of the non-zero signals, strongest first
("former owner until 2025-06; knows 1 of its 2 contacts"), or
"no known relationship". A Knowledge is ``cold`` when nothing but the pod
tie reaches the account: the successor will meet the customer cold.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import NamedTuple

import networkx as nx

from planner.policy import PolicyError
from planner.team.graph import ROLE_KINDS

EdgeRef = tuple[str, str, str]  # (u, v, key) of an edge in G
Path = tuple[EdgeRef, ...]
NO_RELATIONSHIP = "no known relationship"
INTRODUCER_CUSTOMER_KINDS = ("owner", "former_owner", "backup")
PRESENT_STATUSES = ("active", "leaving")  # who can still make an introduction


@dataclass(frozen=True)
class KnowledgeWeights:
    """The weight of each signal (each in [0, 1]) and the half-life of past roles."""

    owner: float = 1.0
    former_owner: float = 0.8
    backup: float = 0.7
    covered_pto: float = 0.5
    shadow: float = 0.4
    contacts: float = 0.6
    products: float = 0.3
    pod: float = 0.15
    half_life_months: float = 24.0

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            problem = weight_problem(f.name, value)
            if problem:
                raise ValueError(f"knowledge.{f.name}: {problem}, got {value!r}")


def weight_problem(name: str, value) -> str | None:
    """What a weight must be ("expected a number in [0, 1]"), when ``value`` is not that; else None.

    The one check of a weight: KnowledgeWeights and the policy's ``[knowledge]``
    table (validated when the policy is loaded) both use it.
    """
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if name == "half_life_months":
        return None if ok and value > 0 else "expected a finite number > 0"
    return None if ok and 0 <= value <= 1 else "expected a number in [0, 1]"


DEFAULT_WEIGHTS = KnowledgeWeights()


def weights_from_policy(policy) -> KnowledgeWeights:
    """The weights, with any the policy's ``[knowledge]`` table sets in place of the defaults.

    load_policy / policy_from_dict already refused unknown keys and unusable
    weights, so this only fails for a Policy built some other way.
    """
    table = policy.raw.get("knowledge", {})
    if not isinstance(table, Mapping):
        raise PolicyError(f"policy {policy.source}: [knowledge]: expected a table, got {table!r}")
    names = [f.name for f in fields(KnowledgeWeights)]
    unknown = sorted(set(table) - set(names))
    if unknown:
        raise PolicyError(
            f"policy {policy.source}: [knowledge] {unknown[0]}: unknown key; expected one of {', '.join(names)}"
        )
    try:
        return KnowledgeWeights(**table)
    except ValueError as exc:
        raise PolicyError(f"policy {policy.source}: {exc}") from None


class Signal(NamedTuple):
    """One signal's score component, the phrase that explains it, and the paths it used."""

    score: float
    phrase: str
    paths: tuple[Path, ...]


NO_SIGNAL = Signal(0.0, "", ())


@dataclass(frozen=True)
class Knowledge:
    """What a candidate knows of an account: the score, why, and the paths in G behind it."""

    score: float
    explanation: str
    paths: tuple[Path, ...] = ()
    components: tuple[tuple[str, float], ...] = ()  # (signal, component) with component > 0, strongest first

    @property
    def cold(self) -> bool:
        """True when no evidence reaches the account itself (at most a pod tie)."""
        return all(name == "pod" for name, _ in self.components)


COLD = Knowledge(0.0, NO_RELATIONSHIP)


# ---------------------------------------------------------------------------
# the account's side of the evidence, gathered once per account
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountView:
    """What the signals need about one account, read from G once and shared by every candidate.

    `reference` is whose pod counts: the leaver when given, else the current
    owner when that is a CSM, else None.
    """

    G: nx.MultiDiGraph
    account: str
    contacts: tuple[tuple[str, str], ...]  # (contact, key of its works_at edge), sorted by contact
    products: tuple[tuple[str, str], ...]  # (product, key of the uses edge), sorted by product
    reference: str | None
    reference_role: str  # "the leaver" | "the current owner"

    @property
    def as_of(self) -> dt.date:
        return self.G.graph["as_of"]


def account_view(G, account, leaver=None) -> AccountView:
    """Gather `account`'s contacts, products and pod reference (see AccountView)."""
    _require(G, account, "account")
    if leaver is not None:
        _require(G, leaver, "csm")
    contacts = {u: k for u, _, k, kind in G.in_edges(account, keys=True, data="kind") if kind == "works_at"}
    products = {v: k for _, v, k, kind in G.out_edges(account, keys=True, data="kind") if kind == "uses"}
    reference = leaver if leaver is not None else current_csm(G, account)
    return AccountView(
        G,
        account,
        tuple(sorted(contacts.items())),
        tuple(sorted(products.items())),
        reference,
        "the leaver" if leaver is not None else "the current owner",
    )


def current_csm(G, account) -> str | None:
    """The account's current owner when that owner is a CSM, else None."""
    owner = G.nodes[account]["current_owner"]
    return owner if G.nodes.get(owner, {}).get("type") == "csm" else None


def _edges(G, u, v, kind) -> list[tuple[str, dict]]:
    """(key, attributes) of every u -> v edge of `kind` (a dict lookup, no scan)."""
    return [(k, d) for k, d in G.get_edge_data(u, v, default={}).items() if d["kind"] == kind]


def _strongest(G, u, v, kind) -> tuple[str, float] | None:
    """(key, strength) of the strongest u -kind-> v edge with strength > 0, or None."""
    best = None
    for key, d in (G.get_edge_data(u, v) or {}).items():
        if d["kind"] == kind and d["strength"] > (best[1] if best else 0.0):
            best = (key, d["strength"])
    return best


# ---------------------------------------------------------------------------
# the signals
# ---------------------------------------------------------------------------


def months_between(earlier: dt.date, later: dt.date) -> int:
    """Whole calendar months from `earlier` to `later` (2025-06 -> 2026-06 is 12), never negative."""
    return max(0, (later.year - earlier.year) * 12 + later.month - earlier.month)


def recency(until: dt.date | None, as_of: dt.date, weights: KnowledgeWeights = DEFAULT_WEIGHTS) -> float:
    """How much of a past role's knowledge is left: halves every half-life; undated = one half-life old."""
    months = weights.half_life_months if until is None else months_between(until, as_of)
    return 0.5 ** (months / weights.half_life_months)


def _role_signal(view: AccountView, candidate, kind, weight, phrase, decays, weights) -> Signal:
    """The strongest candidate -kind-> account edge, as a Signal (decayed by recency when `decays`)."""
    best = NO_SIGNAL
    for key, d in _edges(view.G, candidate, view.account, kind):
        score = weight * d["strength"] * (recency(d["until"], view.as_of, weights) if decays else 1.0)
        if score > best.score:
            until = f" until {d['until']:%Y-%m}" if decays and d["until"] is not None else ""
            best = Signal(score, phrase + until, (((candidate, view.account, key),),))
    return best


def owner_signal(view: AccountView, candidate, weights=DEFAULT_WEIGHTS) -> Signal:
    """The current owner (accounts.current_owner, or an owner row) knows the account best."""
    return _role_signal(view, candidate, "owner", weights.owner, "current owner", False, weights)


def former_owner_signal(view: AccountView, candidate, weights=DEFAULT_WEIGHTS) -> Signal:
    """A former owner knew the account well; that knowledge fades with time since `until`."""
    return _role_signal(view, candidate, "former_owner", weights.former_owner, "former owner", True, weights)


def backup_signal(view: AccountView, candidate, weights=DEFAULT_WEIGHTS) -> Signal:
    """The named backup is meant to be ready to take over."""
    return _role_signal(view, candidate, "backup", weights.backup, "backup", False, weights)


def covered_pto_signal(view: AccountView, candidate, weights=DEFAULT_WEIGHTS) -> Signal:
    """Covering the owner's leave means having run the account for a while; it fades like former ownership."""
    return _role_signal(view, candidate, "covered_pto", weights.covered_pto, "covered PTO", True, weights)


def shadow_signal(view: AccountView, candidate, weights=DEFAULT_WEIGHTS) -> Signal:
    """A shadow sat in on the account's meetings without running it."""
    return _role_signal(view, candidate, "shadow", weights.shadow, "shadowed the account", False, weights)


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _share_signal(view, candidate, items, kind, weight, phrase, noun) -> Signal:
    """weight x (sum of the candidate's `kind` strengths to `items`) / len(items), with one path per tie."""
    paths, total = [], 0.0
    for item, item_path in items:
        tie = _strongest(view.G, candidate, item, kind)
        if tie is not None:
            total += tie[1]
            paths.append(((candidate, item, tie[0]), item_path))
    if not paths:
        return NO_SIGNAL
    return Signal(
        weight * total / len(items), f"{phrase} {len(paths)} of its {_plural(len(items), noun)}", tuple(paths)
    )


def contacts_signal(view: AccountView, candidate, weights=DEFAULT_WEIGHTS) -> Signal:
    """Knowing the customer's people: the share of its contacts the candidate knows, by strength."""
    items = [(c, (c, view.account, k)) for c, k in view.contacts]
    return _share_signal(view, candidate, items, "knows", weights.contacts, "knows", "contact")


def products_signal(view: AccountView, candidate, weights=DEFAULT_WEIGHTS) -> Signal:
    """Knowing what the customer runs: the share of its products the candidate is expert in, by strength."""
    items = [(p, (view.account, p, k)) for p, k in view.products]
    return _share_signal(view, candidate, items, "expert", weights.products, "expert in", "product")


def pod_edges(G, a, b) -> list[tuple[EdgeRef, float]]:
    """Every same_pod edge between CSMs a and b, either direction, with its strength."""
    return [((u, v, k), d["strength"]) for u, v in ((a, b), (b, a)) for k, d in _edges(G, u, v, "same_pod")]


def pod_signal(view: AccountView, candidate, weights=DEFAULT_WEIGHTS) -> Signal:
    """Sharing a pod with the leaver (else the current owner): the account came up in pod meetings."""
    if view.reference is None or view.reference == candidate:
        return NO_SIGNAL
    best = max(pod_edges(view.G, candidate, view.reference), key=lambda es: es[1], default=None)
    if best is None or best[1] <= 0:
        return NO_SIGNAL
    return Signal(weights.pod * best[1], f"same pod as {view.reference_role} ({view.reference})", ((best[0],),))


SIGNALS = (
    ("owner", owner_signal),
    ("former_owner", former_owner_signal),
    ("backup", backup_signal),
    ("covered_pto", covered_pto_signal),
    ("shadow", shadow_signal),
    ("contacts", contacts_signal),
    ("products", products_signal),
    ("pod", pod_signal),
)


# ---------------------------------------------------------------------------
# the score
# ---------------------------------------------------------------------------


_A = {"csm": "a CSM", "pool": "a pool", "account": "an account", "contact": "a contact", "product": "a product"}


def _require(G, node, want: str) -> None:
    """Refuse an id that is not a node of type `want` ('account' or 'csm'), saying what it is."""
    got = G.nodes[node]["type"] if node in G else None
    if got != want:
        raise ValueError(
            f"Expected {'an account_id' if want == 'account' else 'a csm_id'}, got {node!r}, "
            + (f"which is {_A[got]}" if got else "which is not in the book")
        )


def combine(signals: Iterable[tuple[str, Signal]]) -> Knowledge:
    """Noisy-OR of the signals, with the explanation of the non-zero ones, strongest first."""
    present = sorted(((name, s) for name, s in signals if s.score > 0), key=lambda ns: -ns[1].score)
    if not present:
        return COLD
    score = 0.0
    for _, s in present:
        score += s.score * (1.0 - score)  # = 1 - prod(1 - c), exact for a single signal
    return Knowledge(
        score=score,
        explanation="; ".join(s.phrase for _, s in present),
        paths=tuple(p for _, s in present for p in s.paths),
        components=tuple((name, s.score) for name, s in present),
    )


def score_candidate(view: AccountView, candidate, weights=DEFAULT_WEIGHTS) -> Knowledge:
    """Every signal of `candidate` for the account of `view`, combined.

    The five role signals read candidate -> account edges; without any such
    edge (most candidates) they are all 0 and are skipped.
    """
    roles = view.G.has_edge(candidate, view.account)
    return combine(
        (name, signal(view, candidate, weights)) for name, signal in SIGNALS if roles or name not in ROLE_KINDS
    )


def knowledge(G, account, candidate, leaver=None, weights=DEFAULT_WEIGHTS) -> Knowledge:
    """How well `candidate` (a csm_id) knows `account`; `leaver` is whose pod counts (default: the owner)."""
    view = account_view(G, account, leaver)
    _require(G, candidate, "csm")
    return score_candidate(view, candidate, weights)


def touches(view: AccountView, candidate) -> bool:
    """Whether `candidate` has any edge that a signal reads; if not, their knowledge is 0.

    A CSM's out-edges go only to accounts (roles), contacts (knows), products
    (expert) and CSMs (same_pod) (graph.KIND_ENDPOINTS), so a few lookups in
    the candidate's and the pod reference's adjacency decide it.
    """
    out = view.G.succ[candidate]
    if view.account in out or any(c in out for c, _ in view.contacts) or any(p in out for p, _ in view.products):
        return True
    ref = view.reference
    return ref is not None and ref != candidate and (ref in out or candidate in view.G.succ[ref])


def csm_ties(G) -> dict[str, set[str]]:
    """node -> the CSMs with an edge to it: the reverse of every CSM's out-edges, in one pass.

    Products are hubs (thousands of accounts use each); reading who is an
    expert from this index instead of a product's in-edges keeps batch
    scoring fast.
    """
    ties: dict[str, set[str]] = {}
    for c, t in G.nodes(data="type"):
        if t == "csm":
            for v in G.succ[c]:
                ties.setdefault(v, set()).add(c)
    return ties


def connected_csms(view: AccountView, ties: Mapping[str, set[str]], weak: bool = True) -> set[str]:
    """Every CSM that touches the account, read from the reverse index `ties` (csm_ties(G)).

    This is `touches` turned around, for callers that score every CSM on
    every account (the coverage report). With weak=False, leave out those whose only evidence is products or the
    pod: their score is at most 1 - (1 - w_products)(1 - w_pod), which a
    caller may know to be under its threshold.
    """
    near = set(ties.get(view.account, ()))
    for contact, _ in view.contacts:
        near |= ties.get(contact, set())
    if weak:
        for product, _ in view.products:
            near |= ties.get(product, set())
        if view.reference is not None:
            # CSM -> CSM edges are same_pod rows only (graph.KIND_ENDPOINTS)
            near |= ties.get(view.reference, set())
            near |= {v for v in view.G.succ[view.reference] if view.G.nodes[v]["type"] == "csm"}
    return near


def knowledge_matrix(
    G,
    accounts: Iterable[str],
    candidates: Iterable[str],
    leaver_of: Mapping[str, str] | None = None,
    weights: KnowledgeWeights = DEFAULT_WEIGHTS,
) -> dict[tuple[str, str], Knowledge]:
    """knowledge(G, a, c, leaver_of.get(a)) for every account x candidate pair.

    Only candidates that `touch` the account are scored; every other pair is
    COLD after a few dict lookups (a leaver's 41 accounts x 193 candidates
    on a generated 10,000-account book: about 0.15 s). Calling it once per
    account costs the same as once for all.
    """
    candidates = list(candidates)
    for c in candidates:
        _require(G, c, "csm")
    leaver_of = leaver_of or {}
    out: dict[tuple[str, str], Knowledge] = {}
    for a in accounts:
        view = account_view(G, a, leaver_of.get(a))
        for c in candidates:
            out[(a, c)] = score_candidate(view, c, weights) if touches(view, c) else COLD
    return out


# ---------------------------------------------------------------------------
# introductions
# ---------------------------------------------------------------------------


def customer_ties(G, account) -> dict[str, float]:
    """CSM -> strength of their tie to the customer: owner, former owner, backup, or knowing a contact."""
    ties: dict[str, float] = {}

    def add(person, strength):
        if G.nodes[person]["type"] == "csm" and strength > ties.get(person, 0.0):
            ties[person] = strength

    for u, _, d in G.in_edges(account, data=True):
        if d["kind"] in INTRODUCER_CUSTOMER_KINDS:
            add(u, d["strength"])
    for contact, _ in account_view(G, account).contacts:
        for u, _, d in G.in_edges(contact, data=True):
            if d["kind"] == "knows":
                add(u, d["strength"])
    return ties


def _ties_by(G, person, kinds) -> dict[str, float]:
    """Node -> strongest out-edge of `person` of one of `kinds` to it."""
    out: dict[str, float] = {}
    for _, v, d in G.out_edges(person, data=True):
        if d["kind"] in kinds and d["strength"] > out.get(v, 0.0):
            out[v] = d["strength"]
    return out


def colleague_tie(G, a, b) -> float:
    """How well CSMs a and b know each other: same pod, or the weaker side of a shared contact or account."""
    tie = max((s for _, s in pod_edges(G, a, b)), default=0.0)
    for kinds in (("knows",), ROLE_KINDS):
        mine, theirs = _ties_by(G, a, kinds), _ties_by(G, b, kinds)
        tie = max([tie] + [min(s, theirs[n]) for n, s in mine.items() if n in theirs])
    return tie


def find_introducer(G, account, successor, exclude: Iterable[str] = (), leaver=None) -> str | None:
    """Someone other than `successor` who knows both the customer and the successor, or None.

    Knows the customer: owner, former owner, backup, or knows one of its
    contacts. Knows the successor: same pod, a contact both know, or an
    account both have a role on. Only CSMs still at work (active or leaving,
    not in `exclude`) can introduce. The leaver (default: the current
    owner) is preferred while they are still there, because the customer
    trusts them most; then the strongest tie (customer tie x colleague tie);
    then the smaller id.
    """
    _require(G, account, "account")
    _require(G, successor, "csm")
    preferred = leaver if leaver is not None else current_csm(G, account)
    excluded = set(exclude) | {successor}
    ranked = []
    for person, customer in customer_ties(G, account).items():
        if person in excluded or G.nodes[person]["status"] not in PRESENT_STATUSES:
            continue
        tie = customer * colleague_tie(G, person, successor)
        if tie > 0:
            ranked.append((person != preferred, -tie, person))
    return min(ranked)[2] if ranked else None

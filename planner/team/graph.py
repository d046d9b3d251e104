"""The relationship graph: who knows which customer, and through what.

``build_graph(book)`` turns the ``relationships`` table, plus what the book
itself implies, into one ``networkx.MultiDiGraph``. The knowledge score
(planner.team.knowledge) and the coverage report read only this graph.

Nodes
-----
Every node is keyed by its id as written in the book and has a ``type``:

    csm      every CSM on the roster, whatever its status (a leaving CSM is
             still there to hand over); attributes name, status
    pool     every pool; attribute name
    account  every account; attributes name, arr, current_owner
    contact  an id on no roster that a row uses as a contact
    product  an id on no roster that a row uses as a product

Edges
-----
One edge per relationship row, directed as written, keyed by its kind (the
second edge of the same kind between the same two nodes is keyed
``kind#2``, and so on). Each kind demands endpoint types:

    owner, former_owner, backup, shadow, covered_pto    csm -> account
    knows      csm -> contact        (strength: how well, 0..1)
    works_at   contact -> account
    expert     csm -> product
    uses       account -> product
    same_pod   csm -> csm            (symmetric; one edge, read both ways)

Edge attributes: kind, strength (1.0 when blank), since and until
(``datetime.date`` or None, from optional ``since``/``until`` columns given
as YYYY-MM-DD or YYYY-MM), file and row (where the edge was read) and
implied. ``accounts.current_owner`` adds an implied ``owner`` edge from the
owning CSM or pool (file accounts.csv, the account's row); an owner on no
roster, or the digital program, adds none.

How contacts and products are recognized
----------------------------------------
Contacts and products have no table of their own, so an id that is on no
roster (csms, pools, accounts) is typed by the slot it fills: the target of
``knows`` or the source of ``works_at`` is a contact; the target of
``expert`` or ``uses`` is a product. The first such row (in file order)
fixes the type; a later row using the id the other way is a type mismatch.
A contact or product can therefore never dangle.

What is wrong with a row (``relationship_findings``)
-----------------------------------------------------
    unknown or blank kind               warning; the row is left out of the graph
    csm/account slot, id on no roster   error "dangling_id" (column source/target)
    slot filled by the wrong type       error "endpoint_mismatch" (e.g. an account
                                        as the target of knows, a pool as a backup)
    since/until that is no date         warning "malformed_date"; the date is ignored
    source = target (a self-loop)       warning "self_loop"; the row is left out
    since after until                   warning "since_after_until"; both dates are ignored
    owner row whose CSM is not the      warning "owner_not_current"; the row is read as
    account's current_owner             former_owner (accounts.current_owner is who owns
                                        it today, so the row most likely records an
                                        earlier owner), never as a second current owner
A row with an error is left out of the graph, so ``build_graph`` also works
on a book that was never validated. Strength outside 0..1 is the loader's
check (schema.py).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from pathlib import Path

import networkx as nx

from planner.errors import Finding, sheet_label

ROLE_KINDS = ("owner", "former_owner", "backup", "shadow", "covered_pto")

KIND_ENDPOINTS: dict[str, tuple[str, str]] = {
    **{kind: ("csm", "account") for kind in ROLE_KINDS},
    "knows": ("csm", "contact"),
    "works_at": ("contact", "account"),
    "expert": ("csm", "product"),
    "uses": ("account", "product"),
    "same_pod": ("csm", "csm"),
}
KINDS = tuple(KIND_ENDPOINTS)
FREE_TYPES = ("contact", "product")  # node types that have no table and are typed by their rows
DATE_COLUMNS = ("since", "until")

_EXPECTED = {
    "csm": "a csm_id from the CSM roster",
    "account": "an account_id from the accounts table",
    "contact": "a contact id (an id on no roster)",
    "product": "a product id (an id on no roster)",
}
_NOUN = {"csm": "a CSM", "pool": "a pool", "account": "an account", "contact": "a contact", "product": "a product"}
_DATE = re.compile(r"(\d{4})-(\d{2})(?:-(\d{2}))?")


@dataclass(frozen=True)
class RowEdge:
    """One relationship row that passed every check: the edge it becomes."""

    source: str
    target: str
    kind: str
    strength: float
    since: dt.date | None
    until: dt.date | None
    row: int


# ---------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------


def build_graph(book) -> nx.MultiDiGraph:
    """The relationship graph of `book` (see the module docstring); rows with problems are left out.

    ``G.graph["as_of"]`` is the plan date, from which the knowledge score
    measures how long ago a past role ended.
    """
    G = nx.MultiDiGraph(as_of=book.as_of)
    _add_roster_nodes(G, book)
    edges, free, _ = _resolve_rows(book)
    G.add_nodes_from((ident, {"type": kind}) for ident, kind in free.items())
    G.add_edges_from(_keyed(_current_owner_edges(book) + _row_edges(book, edges)))
    return G


def relationship_findings(book) -> list[Finding]:
    """Every problem with the relationships table, in row order (see the module docstring)."""
    return _resolve_rows(book)[2]


def table_file(book, table: str) -> str:
    """How findings name a table: the file it came from (``book.xlsx, sheet 'table'`` for a workbook)."""
    for s in book.sources:
        if s.table == table:
            name = Path(s.path).name
            return sheet_label(name, table) if name.lower().endswith(".xlsx") else name
    return f"{table}.csv"


def spreadsheet_rows(book, table: str) -> list[int]:
    """The row number a spreadsheet shows for each record of `table` (header = 1).

    The loader records the original numbers in ``book.row_numbers[table]``
    (blank lines it skipped shift them); a table replaced since then (a Book
    copied with other rows) falls back to position + 2.
    """
    n = len(getattr(book, table))
    recorded = book.row_numbers.get(table)
    return list(recorded) if recorded is not None and len(recorded) == n else list(range(2, n + 2))


# ---------------------------------------------------------------------------
# building blocks
# ---------------------------------------------------------------------------


def _add_roster_nodes(G: nx.MultiDiGraph, book) -> None:
    """Every CSM, pool and account, with or without relationships (each is a possible endpoint)."""
    c, p, a = book.csms, book.pools, book.accounts
    G.add_nodes_from(
        (i, {"type": "csm", "name": n, "status": s}) for i, n, s in zip(*_lists(c, "csm_id", "name", "status"))
    )
    G.add_nodes_from((i, {"type": "pool", "name": n}) for i, n in zip(*_lists(p, "pool_id", "name")))
    G.add_nodes_from(
        (i, {"type": "account", "name": n, "arr": float(r), "current_owner": o})
        for i, n, r, o in zip(*_lists(a, "account_id", "account_name", "arr", "current_owner"))
    )


def _lists(df, *columns) -> list[list]:
    """Columns as Python lists (iterating Arrow-backed string columns cell by cell is slow)."""
    return [df[col].tolist() for col in columns]


def _current_owner_edges(book) -> list[tuple[str, str, dict]]:
    """The implied ``owner`` edge of every account whose current owner is a CSM or a pool."""
    file = table_file(book, "accounts")
    rows = spreadsheet_rows(book, "accounts")
    people = set(book.csms["csm_id"].tolist()) | set(book.pools["pool_id"].tolist())
    return [
        (
            owner,
            account,
            {"kind": "owner", "strength": 1.0, "since": None, "until": None, "file": file, "row": row, "implied": True},
        )
        for account, owner, row in zip(*_lists(book.accounts, "account_id", "current_owner"), rows)
        if owner in people
    ]


def _row_edges(book, edges: list[RowEdge]) -> list[tuple[str, str, dict]]:
    file = table_file(book, "relationships")
    return [
        (
            e.source,
            e.target,
            {
                "kind": e.kind,
                "strength": e.strength,
                "since": e.since,
                "until": e.until,
                "file": file,
                "row": e.row,
                "implied": False,
            },
        )
        for e in edges
    ]


def _keyed(edges: list[tuple[str, str, dict]]) -> list[tuple[str, str, str, dict]]:
    """Each edge with its key: its kind, or `kind#n` for the n-th edge of that kind between the same nodes."""
    seen: dict[tuple[str, str, str], int] = {}
    out = []
    for u, v, d in edges:
        n = seen[(u, v, d["kind"])] = seen.get((u, v, d["kind"]), 0) + 1
        out.append((u, v, d["kind"] if n == 1 else f"{d['kind']}#{n}", d))
    return out


def _roster_types(book) -> dict[str, str]:
    """id -> csm | pool | account. A CSM wins over a pool, a pool over an account, if ids clash."""
    types = dict.fromkeys(book.accounts["account_id"].tolist(), "account")
    types.update(dict.fromkeys(book.pools["pool_id"].tolist(), "pool"))
    types.update(dict.fromkeys(book.csms["csm_id"].tolist(), "csm"))
    return types


def _rows(book):
    """(row number, source, target, kind, strength, since text, until text) per relationship record."""
    r = book.relationships
    blank = [""] * len(r)
    dates = [r[c].fillna("").astype(str).tolist() if c in r else blank for c in DATE_COLUMNS]
    kinds = [str(k).strip().lower() for k in r["kind"].fillna("").tolist()]
    return zip(
        spreadsheet_rows(book, "relationships"), *_lists(r, "source", "target"), kinds, r["strength"].tolist(), *dates
    )


def _free_types(book, roster: dict[str, str]) -> tuple[dict[str, str], dict[str, int]]:
    """The type of every off-roster id that fills a contact or product slot, fixed by its first row."""
    free: dict[str, str] = {}
    first_row: dict[str, int] = {}
    for row, source, target, kind, *_ in _rows(book):
        for ident, want in zip((source, target), KIND_ENDPOINTS.get(kind, ())):
            if want in FREE_TYPES and ident and ident not in roster and ident not in free:
                free[ident], first_row[ident] = want, row
    return free, first_row


def _resolve_rows(book) -> tuple[list[RowEdge], dict[str, str], list[Finding]]:
    """Check every relationship row once: the edges that pass, the contact/product ids, the findings."""
    roster = _roster_types(book)
    free, first_row = _free_types(book, roster)
    file = table_file(book, "relationships")
    owner_of = _current_owners(book)
    edges: list[RowEdge] = []
    findings: list[Finding] = []
    for row, source, target, kind, strength, since, until in _rows(book):
        if kind not in KIND_ENDPOINTS:
            got = "a blank kind" if not kind else repr(kind)
            findings.append(
                Finding(
                    "warning",
                    file,
                    row,
                    "kind",
                    f"Expected a kind: one of {' | '.join(KINDS)}; got {got}; the row is ignored",
                    "unknown_relationship_kind",
                )
            )
            continue
        if source and source == target:
            findings.append(
                Finding(
                    "warning",
                    file,
                    row,
                    "target",
                    f"Expected a target other than the source, got {target!r} as both; the row is ignored",
                    "self_loop",
                )
            )
            continue
        errors = [
            f
            for column, ident, want in zip(("source", "target"), (source, target), KIND_ENDPOINTS[kind])
            if (f := _endpoint_finding(file, row, column, kind, ident, want, roster, free, first_row)) is not None
        ]
        findings += errors
        dates = {}
        for column, text in zip(DATE_COLUMNS, (since, until)):
            dates[column] = parse_month_or_date(text)
            if text.strip() and dates[column] is None:
                findings.append(
                    Finding(
                        "warning",
                        file,
                        row,
                        column,
                        f"Expected an ISO date YYYY-MM-DD or YYYY-MM, got {text!r}; the date is ignored",
                        "malformed_date",
                    )
                )
        if dates["since"] is not None and dates["until"] is not None and dates["since"] > dates["until"]:
            findings.append(
                Finding(
                    "warning",
                    file,
                    row,
                    "until",
                    f"Expected until on or after since, got since {since.strip()} and until "
                    f"{until.strip()}; both dates are ignored",
                    "since_after_until",
                )
            )
            dates = {"since": None, "until": None}
        if not errors and kind == "owner" and owner_of.get(target, ("", 0))[0] != source:
            findings.append(_owner_not_current(book, file, row, source, target, owner_of[target]))
            kind = "former_owner"
        if not errors:
            s = 1.0 if math.isnan(strength) else float(strength)
            edges.append(RowEdge(source, target, kind, s, dates["since"], dates["until"], row))
    return edges, free, findings


def _current_owners(book) -> dict[str, tuple[str, int]]:
    """account_id -> (its current_owner as given, '' for none; the account's spreadsheet row)."""
    return {
        a: (o, r)
        for a, o, r in zip(
            *_lists(book.accounts, "account_id", "current_owner"), spreadsheet_rows(book, "accounts"), strict=True
        )
    }


def _owner_not_current(book, file, row, source, target, current: tuple[str, int]) -> Finding:
    """An owner row that contradicts accounts.current_owner: it is read as former_owner, and says so."""
    owner, account_row = current
    where = f"{table_file(book, 'accounts')} row {account_row}"
    today = f"current_owner {owner!r}" if owner else "no current_owner"
    message = (
        f"Expected an owner row to name the account's current owner, got {source!r}, but {target!r} has "
        f"{today} ({where}); the row is read as former_owner"
    )
    return Finding("warning", file, row, "source", message, "owner_not_current")


def _endpoint_finding(file, row, column, kind, ident, want, roster, free, first_row) -> Finding | None:
    """The error for one endpoint of a row, or None when `ident` is of the type `kind` demands."""
    got = roster.get(ident) or free.get(ident)
    if got == want:
        return None
    expected = f"Expected {_EXPECTED[want]} as the {column} of a {kind!r} row"
    if not ident:
        return Finding("error", file, row, column, f"{expected}, got a blank cell", "dangling_id")
    if got is None:
        return Finding("error", file, row, column, f"{expected}, got {ident!r}, which is on no roster", "dangling_id")
    where = f" (first used so in row {first_row[ident]})" if got in FREE_TYPES else ""
    return Finding(
        "error", file, row, column, f"{expected}, got {ident!r}, which is {_NOUN[got]}{where}", "endpoint_mismatch"
    )


def parse_month_or_date(text: str) -> dt.date | None:
    """A YYYY-MM-DD date, or the first of the month for YYYY-MM; None for blank, 2025-02-30 or anything else."""
    m = _DATE.fullmatch(text.strip())
    try:
        return dt.date(int(m[1]), int(m[2]), int(m[3] or 1)) if m else None
    except ValueError:
        return None

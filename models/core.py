r"""The assignment core: a generalized assignment problem with side rows.

Every planning model in this package (coverage, reassignment, the OR-Library
GAP benchmark) is reduced to this one structure, and every backend solves it.

Sets
----
    I            items (accounts, GAP jobs), indexed 0..n_items-1
    K            agents (owners: CSMs, pools, the digital program; GAP agents)
    E ⊆ I × K    arcs: the eligible (item, agent) pairs, indexed 0..n_arcs-1
    E(i)         arcs of item i;  E(k) arcs of agent k
    R            resources (hours, account count, ARR, GAP capacity)
    S            side rows (e.g. the cap on ARR that changes owner)

Data
----
    c[e]         cost of arc e (minimized)
    w[r, e]      use of resource r by arc e
    b[r, k]      capacity of agent k in resource r (+inf: no row)
    s.coef[e]    coefficient of arc e in side row s;  s.lo <= row <= s.hi

Variables
---------
    x[e] ∈ {0, 1}    1 when arc e is chosen

Model
-----
    min  Σ_e c[e] x[e]
    (1) assign[i]:      Σ_{e ∈ E(i)} x[e] = 1                     ∀ i ∈ I
    (2) cap[r, k]:      Σ_{e ∈ E(k)} w[r, e] x[e] <= b[r, k]       ∀ r ∈ R, k ∈ K, b[r, k] < ∞
    (3) side[s]:        s.lo <= Σ_e s.coef[e] x[e] <= s.hi        ∀ s ∈ S

The arrays are plain numpy so a backend can build its matrix in one pass
(`to_matrix`) instead of expression by expression.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import scipy.sparse as sp


def tolerance(limit) -> np.ndarray:
    """How far a load may exceed ``limit`` (a cap or a row side) and still keep it: 1e-6 relative, at most one unit.

    One unit is an hour, an account or a dollar: a plain relative tolerance
    would let a plan run $1M over a $1e12 ARR cap. Every backend's plan and
    the independent evaluator keep caps to this tolerance.
    """
    limit = np.abs(np.where(np.isfinite(limit), limit, 0.0))
    return 1e-6 * np.clip(limit, 1.0, 1e6)


@dataclass(frozen=True)
class Resource:
    """One resource r: per-arc use ``weight`` and per-agent ``capacity`` (inf = no row)."""

    name: str
    weight: np.ndarray  # float64, len n_arcs
    capacity: np.ndarray  # float64, len n_agents

    def rows(self, arc_agent: np.ndarray) -> np.ndarray:
        """Agents that get a capacity row: finite capacity and at least one arc using the resource."""
        used = np.zeros(len(self.capacity), dtype=bool)
        used[arc_agent[self.weight != 0]] = True
        return np.flatnonzero(np.isfinite(self.capacity) & used)


@dataclass(frozen=True)
class SideRow:
    """One side row s: lo <= Σ coef[j] x[arcs[j]] <= hi."""

    name: str
    arcs: np.ndarray  # int64 arc indices
    coef: np.ndarray  # float64
    lo: float = -np.inf
    hi: float = np.inf


@dataclass(frozen=True)
class AssignmentProblem:
    """A GAP with side rows; see the module docstring for the maths."""

    n_items: int
    n_agents: int
    arc_item: np.ndarray  # int64, len n_arcs
    arc_agent: np.ndarray  # int64, len n_arcs
    arc_cost: np.ndarray  # float64, len n_arcs
    resources: tuple[Resource, ...] = ()
    side_rows: tuple[SideRow, ...] = ()
    # Optional: a known assignment (arc index per item, -1 = none) for warm starts.
    start: np.ndarray | None = None
    # Optional: greedy preference tier per arc (0 = the item's preferred kind of agent).
    arc_tier: np.ndarray | None = None
    # Optional: order in which a greedy rule visits items (e.g. ARR descending).
    item_priority: np.ndarray | None = None
    item_names: tuple[str, ...] | None = None
    agent_names: tuple[str, ...] | None = None
    # Objective offset added to Σ c x (constant terms of the business cost).
    offset: float = 0.0
    # Cost sense note only for reporting: the core always minimizes.
    name: str = "assignment"
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.arc_item)
        for label, arr in (("arc_agent", self.arc_agent), ("arc_cost", self.arc_cost)):
            if len(arr) != n:
                raise ValueError(f"Expected {label} to have {n} entries (one per arc), got {len(arr)}")
        for r in self.resources:
            if len(r.weight) != n or len(r.capacity) != self.n_agents:
                raise ValueError(
                    f"Expected resource {r.name!r} to have {n} weights and {self.n_agents} capacities"
                )
        if n and (self.arc_item.min() < 0 or self.arc_item.max() >= self.n_items):
            raise ValueError("Expected every arc_item in 0..n_items-1")
        if n and (self.arc_agent.min() < 0 or self.arc_agent.max() >= self.n_agents):
            raise ValueError("Expected every arc_agent in 0..n_agents-1")

    @property
    def n_arcs(self) -> int:
        return len(self.arc_item)

    def items_without_arcs(self) -> np.ndarray:
        """Items that no arc covers: the model is infeasible if any exist."""
        has = np.zeros(self.n_items, dtype=bool)
        has[self.arc_item] = True
        return np.flatnonzero(~has)

    def objective(self, choice: np.ndarray) -> float:
        """Σ c x + offset for a complete choice vector (arc index per item)."""
        choice = np.asarray(choice)
        if np.any(choice < 0):
            raise ValueError(f"Expected an arc for every item, but {int(np.sum(choice < 0))} have none")
        return float(self.arc_cost[choice].sum() + self.offset)

    def choice_to_x(self, choice: np.ndarray) -> np.ndarray:
        x = np.zeros(self.n_arcs)
        x[choice[choice >= 0]] = 1.0
        return x

    def x_to_choice(self, x: np.ndarray) -> np.ndarray:
        """Arc chosen per item from a (near-)binary vector; -1 where none is set."""
        choice = np.full(self.n_items, -1, dtype=np.int64)
        on = np.flatnonzero(np.asarray(x) > 0.5)
        choice[self.arc_item[on]] = on
        return choice

    def violations(self, choice: np.ndarray) -> list[str]:
        """Rows (1)-(3) that a choice breaks by more than :func:`tolerance`, named; [] when feasible."""
        out: list[str] = []
        choice = np.asarray(choice, dtype=np.int64)
        if len(choice) != self.n_items:
            return [f"assign: expected one arc per item ({self.n_items}), got {len(choice)}"]
        missing = np.flatnonzero(choice < 0)
        out += [f"assign[{self._item(i)}]: no arc chosen" for i in missing[:20]]
        if np.any(choice >= self.n_arcs):
            return out + [f"assign: an arc index beyond the {self.n_arcs} arcs"]
        ok = choice[choice >= 0]
        bad = ok[self.arc_item[ok] != np.flatnonzero(choice >= 0)]
        out += [f"assign: arc {e} does not belong to its item" for e in bad[:20]]
        for r in self.resources:
            load = np.bincount(self.arc_agent[ok], weights=r.weight[ok], minlength=self.n_agents)
            over = np.flatnonzero(load > r.capacity + tolerance(r.capacity))
            out += [f"cap[{r.name}, {self._agent(k)}]: {load[k]:.15g} > {r.capacity[k]:.15g}" for k in over[:20]]
        x = self.choice_to_x(choice)
        for s in self.side_rows:
            v = float(s.coef @ x[s.arcs])
            if v < s.lo - tolerance(s.lo) or v > s.hi + tolerance(s.hi):
                out.append(f"side[{s.name}]: {v:.15g} outside [{s.lo:.15g}, {s.hi:.15g}]")
        return out

    def _item(self, i: int) -> str:
        return self.item_names[i] if self.item_names else str(i)

    def _agent(self, k: int) -> str:
        return self.agent_names[k] if self.agent_names else str(k)


@dataclass(frozen=True)
class Matrix:
    """The model as one sparse matrix: row_lo <= A x <= row_hi, x binary, min c x."""

    A: sp.csr_matrix
    row_lo: np.ndarray
    row_hi: np.ndarray
    cost: np.ndarray


def to_matrix(p: AssignmentProblem) -> Matrix:
    """Stack rows (1), (2), (3) into one CSR matrix with numpy, no Python loop per arc."""
    n = p.n_arcs
    arcs = np.arange(n, dtype=np.int64)
    rows_i = [p.arc_item]
    cols = [arcs]
    vals = [np.ones(n)]
    lo = [np.ones(p.n_items)]
    hi = [np.ones(p.n_items)]
    next_row = p.n_items
    for r in p.resources:
        agents = r.rows(p.arc_agent)
        row_of_agent = np.full(p.n_agents, -1, dtype=np.int64)
        row_of_agent[agents] = next_row + np.arange(len(agents))
        keep = (row_of_agent[p.arc_agent] >= 0) & (r.weight != 0)
        rows_i.append(row_of_agent[p.arc_agent[keep]])
        cols.append(arcs[keep])
        vals.append(r.weight[keep])
        lo.append(np.full(len(agents), -np.inf))
        hi.append(r.capacity[agents].astype(float))
        next_row += len(agents)
    for s in p.side_rows:
        rows_i.append(np.full(len(s.arcs), next_row, dtype=np.int64))
        cols.append(np.asarray(s.arcs, dtype=np.int64))
        vals.append(np.asarray(s.coef, dtype=float))
        lo.append(np.array([s.lo]))
        hi.append(np.array([s.hi]))
        next_row += 1
    A = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows_i), np.concatenate(cols))), shape=(next_row, n)
    )
    return Matrix(A, np.concatenate(lo), np.concatenate(hi), np.asarray(p.arc_cost, dtype=float))


def rank_within_item(arc_item: np.ndarray, *keys: np.ndarray) -> np.ndarray:
    """Per arc, its place among its item's arcs ordered by ``keys`` (first key primary; ties by arc index): 0, 1, ..."""
    order = np.lexsort((*reversed(keys), arc_item))
    first = np.r_[True, arc_item[order][1:] != arc_item[order][:-1]]
    group_start = np.maximum.accumulate(np.where(first, np.arange(len(order)), 0))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order)) - group_start
    return rank


def best_arc_per_item(arc_item: np.ndarray, n_items: int, *keys: np.ndarray) -> np.ndarray:
    """Per item, its first arc in the order of :func:`rank_within_item` (-1 for an item without arcs)."""
    first = np.flatnonzero(rank_within_item(arc_item, *keys) == 0)
    best = np.full(n_items, -1, dtype=np.int64)
    best[arc_item[first]] = first
    return best


def arcs_by_item(arc_item: np.ndarray, n_items: int) -> list[np.ndarray]:
    """Per item, the indices of its arcs (ascending; empty for an item without arcs)."""
    by_item = np.argsort(arc_item, kind="stable")
    return np.split(by_item, np.cumsum(np.bincount(arc_item, minlength=n_items))[:-1])


def restrict_arcs(p: AssignmentProblem, arcs: np.ndarray) -> tuple[AssignmentProblem, np.ndarray]:
    """The same problem over a subset of its arcs (sorted indices); returns it and the kept arc indices.

    A plan of the restricted problem maps back as ``arcs[choice]`` and is a
    plan of the original; the restricted optimum is an upper bound only.
    """
    arcs = np.asarray(arcs, dtype=np.int64)
    new_arc = np.full(p.n_arcs, -1, dtype=np.int64)
    new_arc[arcs] = np.arange(len(arcs))
    side = []
    for s in p.side_rows:
        keep = new_arc[s.arcs] >= 0
        side.append(SideRow(s.name, new_arc[s.arcs[keep]], s.coef[keep], s.lo, s.hi))
    start = None
    if p.start is not None:
        start = np.asarray(p.start, dtype=np.int64)
        start = np.where(start >= 0, new_arc[np.maximum(start, 0)], -1)
    restricted = replace(
        p,
        arc_item=p.arc_item[arcs],
        arc_agent=p.arc_agent[arcs],
        arc_cost=p.arc_cost[arcs],
        resources=tuple(Resource(r.name, r.weight[arcs], r.capacity) for r in p.resources),
        side_rows=tuple(side),
        start=start,
        arc_tier=None if p.arc_tier is None else p.arc_tier[arcs],
        name=p.name + "/core",
    )
    return restricted, arcs

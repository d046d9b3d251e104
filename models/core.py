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
    min  Σ_e c[e] x[e]  (+ offset, + the load costs below)
    (1) assign[i]:      Σ_{e ∈ E(i)} x[e] = 1                     ∀ i ∈ I
    (2) cap[r, k]:      Σ_{e ∈ E(k)} w[r, e] x[e] <= b[r, k]       ∀ r ∈ R, k ∈ K, b[r, k] < ∞
    (3) side[s]:        s.lo <= Σ_e s.coef[e] x[e] <= s.hi        ∀ s ∈ S

The arrays are plain numpy so a backend can build its matrix in one pass
(`to_matrix`) instead of expression by expression.

Load costs (a convex piecewise-linear price of an agent's load)
---------------------------------------------------------------
A load cost q on resource r prices the load  L[k] = Σ_{e ∈ E(k)} w[r, e] x[e]
of every agent k, on top of the arc costs (the capacity b[r, k] stays a hard
cap). Per agent it has a floor f[k] with a price per unit below it u[k] >= 0,
a ceiling g[k], and steps j = 1..J above the ceiling of width W_j[k] >= 0
(W_J[k] = +inf: every load above the ceiling is priced) and price p_j[k]:

    cost_k(L) = u[k]·max(0, f[k] − L) + Σ_j p_j[k]·clip(L − g[k] − G_j[k], 0, W_j[k])
    G_j[k]    = Σ_{j' < j} W_j'[k]            (where step j starts, above the ceiling)

with 0 <= p_1[k] <= p_2[k] <= ... <= p_J[k]: non-decreasing slopes, so each
cost_k is convex (a sum of the convex under term and the convex steps). The
objective becomes

    min  Σ_e c[e] x[e] + offset + Σ_q Σ_k cost_k(L_q[k]).

In the matrix (to_matrix) every term that some plan can make nonzero gets
continuous columns after the arc columns, one row each:

    under column  z_u[k] ∈ [0, f[k] − Lmin[k]],   cost u[k]
    step columns  z_j[k] ∈ [0, min(W_j[k], Lmax[k] − g[k] − G_j[k])],   cost p_j[k]
    (4) under[q, k]:  L[k] + z_u[k]     >= f[k]
    (5) over[q, k]:   L[k] − Σ_j z_j[k] <= g[k]

where Lmin[k] = Σ_{e ∈ E(k)} min(0, w[r, e]) and Lmax[k] = min(Σ_{e ∈ E(k)}
max(0, w[r, e]), b[r, k]) bound the load of every plan that keeps the
capacity rows (2) (so the bounds are finite and never bind at an optimum):
the under term exists when u[k] > 0 and f[k] > Lmin[k]; the over term when
g[k] < Lmax[k] and some reachable step has a price > 0; a step no plan
reaches (upper bound 0) has no column. Capping Lmax by the capacity matters:
a ceiling at the cap itself (the coverage model's over-cap prices, reachable
only where commitments raised a cap) would otherwise get a row and a column
per agent that no plan can use, and HiGHS spends time on them.

Why the LP prices the load exactly (so the MIP optimum is the objective's
optimum and the LP relaxation a valid bound): fix x (integer or fractional)
and with it every L[k]. The continuous columns of one (q, k) appear only in
their own row, so they are minimized separately.
* Under: min u·z_u subject to z_u >= f − L, 0 <= z_u <= f − Lmin. Since u >= 0
  and L >= Lmin, z_u = max(0, f − L) is optimal: u·max(0, f − L).
* Over: min Σ_j p_j z_j subject to Σ_j z_j >= L − g, 0 <= z_j <= W_j (a
  continuous covering knapsack). Filling the steps in order (z_j =
  clip(L − g − G_j, 0, W_j)) is optimal: if some solution has z_j < W_j and
  z_j' > 0 for a later j' > j, moving ε from j' to j keeps it feasible and
  changes the cost by (p_j − p_j')·ε <= 0, because the prices are
  non-decreasing; repeating, the in-order solution is reached without ever
  raising the cost. It covers exactly L − g when L > g, and nothing (z = 0)
  otherwise, which is optimal since every p_j >= 0. Its cost is the step
  sum of cost_k(L). (The last reachable step's bound Lmax − g − G_J is at
  least L − g − G_J for every plan that keeps rows (2), so the bound never
  cuts the in-order fill; a plan over a cap by its tolerance is priced by
  ``objective`` in full, the matrix may undercharge it by that much.)
So  min over z  of the model's cost = Σ c x + Σ_k cost_k(L[k])  for every x:
each integer plan's best completion costs exactly its objective, and the LP
relaxation minimizes a convex function that equals the objective at every
integer x. :meth:`AssignmentProblem.full_x` gives that completion.
Were the prices not non-decreasing, the LP would fill a cheap later step
first and undercharge: hence the validation in :class:`LoadCost`.

Rows (4) and (5) follow rows (1)-(3) in the matrix, (4) then (5) per load
cost; :func:`load_columns` says which row and column belongs to which agent.
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
class LoadCost:
    """A convex piecewise-linear cost of each agent's load of one resource (module docstring, "Load costs").

    Every per-agent field is an array of one value per agent (scalars are
    broadcast): ``floor`` and ``under_price`` (the under term; price 0 = none),
    ``ceiling`` (+inf = no over term) and ``steps``, a tuple of (width, price)
    pairs cheapest first, the last width +inf for every agent.
    """

    resource: str
    floor: np.ndarray
    under_price: np.ndarray
    ceiling: np.ndarray
    steps: tuple[tuple[np.ndarray, np.ndarray], ...] = ()

    def __post_init__(self) -> None:
        where = f"load cost on {self.resource!r}"
        steps = tuple(self.steps)
        if any(len(step) != 2 for step in steps):
            raise ValueError(f"Expected each step of the {where} to be a (width, price) pair")
        arrays = [self.floor, self.under_price, self.ceiling, *(v for step in steps for v in step)]
        try:
            arrays = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in arrays))
        except ValueError:
            raise ValueError(f"Expected every per-agent array of the {where} to have the same length") from None
        if arrays[0].ndim != 1:
            raise ValueError(f"Expected the {where} to hold one value per agent (1-D arrays)")
        floor, under, ceiling, rest = arrays[0], arrays[1], arrays[2], arrays[3:]
        widths = np.array(rest[0::2]).reshape(len(steps), len(floor))
        prices = np.array(rest[1::2]).reshape(len(steps), len(floor))
        if not np.all(np.isfinite(floor)):
            raise ValueError(f"Expected the floor of the {where} to be finite")
        if not np.all(np.isfinite(under) & (under >= 0)):
            raise ValueError(f"Expected the under_price of the {where} to be finite and >= 0")
        if np.any(np.isnan(ceiling) | (ceiling == -np.inf)):
            raise ValueError(f"Expected the ceiling of the {where} to be a number or +inf")
        if np.any(np.isnan(widths) | (widths < 0)):
            raise ValueError(f"Expected the step widths of the {where} to be >= 0 (inf allowed)")
        if len(steps) and not np.all(widths[-1] == np.inf):
            raise ValueError(f"Expected the last step's width of the {where} to be inf for every agent "
                             "(the steps must price every load above the ceiling)")  # fmt: skip
        if not np.all(np.isfinite(prices) & (prices >= 0)):
            raise ValueError(f"Expected the step prices of the {where} to be finite and >= 0")
        falls = np.flatnonzero(np.any(np.diff(prices, axis=0) < 0, axis=0))
        if len(falls):
            raise ValueError(f"Expected the step prices of the {where} to be non-decreasing (a convex cost), "
                             f"but they fall for {len(falls)} agent(s), the first agent {int(falls[0])}")  # fmt: skip
        starts = np.zeros_like(widths)
        if len(steps) > 1:
            with np.errstate(invalid="ignore"):  # inf + inf stays inf
                starts[1:] = np.cumsum(widths[:-1], axis=0)
        for name, value in (("floor", floor), ("under_price", under), ("ceiling", ceiling)):
            object.__setattr__(self, name, value)
        object.__setattr__(self, "steps", tuple(zip(widths, prices, strict=True)))
        object.__setattr__(self, "_widths", widths)  # J × agents
        object.__setattr__(self, "_prices", prices)
        object.__setattr__(self, "_starts", starts)  # G_j: where step j starts above the ceiling

    @property
    def n_agents(self) -> int:
        return len(self.floor)

    def penalty(self, load: np.ndarray, agents: np.ndarray | None = None) -> np.ndarray:
        """cost_k(load) per agent (``agents``: the agents the loads belong to; default: every agent, in order)."""
        load = np.asarray(load, dtype=float)
        sel = slice(None) if agents is None else np.asarray(agents, dtype=np.int64)
        out = self.under_price[sel] * np.maximum(self.floor[sel] - load, 0.0)
        if len(self._prices):
            above = load - self.ceiling[sel]  # -inf where there is no ceiling
            fill = np.clip(above[None, :] - self._starts[:, sel], 0.0, self._widths[:, sel])
            out = out + np.sum(self._prices[:, sel] * fill, axis=0)
        return out

    def extended(self, more: int) -> LoadCost:
        """The same cost with `more` agents appended whose load costs nothing (an 'unplaced' slot, escape agents)."""
        zeros, infs = np.zeros(more), np.full(more, np.inf)
        last = len(self.steps) - 1
        steps = tuple((np.r_[w, infs if j == last else zeros], np.r_[p, zeros]) for j, (w, p) in enumerate(self.steps))
        return LoadCost(
            self.resource, np.r_[self.floor, zeros], np.r_[self.under_price, zeros], np.r_[self.ceiling, infs], steps
        )

    def restricted(self, keep: np.ndarray, shift: np.ndarray | None = None) -> LoadCost:
        """The same cost on the agents in ``keep`` (bool per agent; the others get none), loads shifted by ``shift``.

        With shift F[k] (load that stays fixed on k), the result prices a load
        L' as this cost prices L' + F: floor and ceiling move down by F.
        """
        shift = np.zeros(self.n_agents) if shift is None else np.asarray(shift, dtype=float)
        return LoadCost(
            self.resource,
            floor=np.where(keep, self.floor - shift, 0.0),
            under_price=np.where(keep, self.under_price, 0.0),
            ceiling=np.where(keep, self.ceiling - shift, np.inf),
            steps=self.steps,
        )


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
    # Convex costs of agents' loads (module docstring, "Load costs"): at most one per resource.
    load_costs: tuple[LoadCost, ...] = ()
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
                raise ValueError(f"Expected resource {r.name!r} to have {n} weights and {self.n_agents} capacities")
        if n and (self.arc_item.min() < 0 or self.arc_item.max() >= self.n_items):
            raise ValueError("Expected every arc_item in 0..n_items-1")
        if n and (self.arc_agent.min() < 0 or self.arc_agent.max() >= self.n_agents):
            raise ValueError("Expected every arc_agent in 0..n_agents-1")
        names = [r.name for r in self.resources]
        seen: set[str] = set()
        for q in self.load_costs:
            if not isinstance(q, LoadCost):
                raise ValueError(f"Expected load_costs to hold LoadCost objects, got {type(q).__name__}")
            if q.resource not in names:
                raise ValueError(f"Expected the load cost's resource {q.resource!r} to be one of the resources {names}")
            if q.resource in seen:
                raise ValueError(f"Expected at most one load cost per resource, got two on {q.resource!r}")
            seen.add(q.resource)
            if q.n_agents != self.n_agents:
                raise ValueError(f"Expected the load cost on {q.resource!r} to have {self.n_agents} values per "
                                 f"field (one per agent), got {q.n_agents}")  # fmt: skip

    @property
    def n_arcs(self) -> int:
        return len(self.arc_item)

    def items_without_arcs(self) -> np.ndarray:
        """Items that no arc covers: the model is infeasible if any exist."""
        has = np.zeros(self.n_items, dtype=bool)
        has[self.arc_item] = True
        return np.flatnonzero(~has)

    def objective(self, choice: np.ndarray) -> float:
        """Σ c x + offset + Σ_k cost_k(L[k]) (every load cost) for a complete choice vector (arc index per item)."""
        choice = np.asarray(choice)
        if np.any(choice < 0):
            raise ValueError(f"Expected an arc for every item, but {int(np.sum(choice < 0))} have none")
        value = float(self.arc_cost[choice].sum() + self.offset)
        if self.load_costs:
            value += float(self.load_cost(choice).sum())
        return value

    def resource(self, name: str) -> Resource:
        for r in self.resources:
            if r.name == name:
                return r
        raise KeyError(name)

    def load(self, name: str, choice: np.ndarray) -> np.ndarray:
        """Per agent, its load of resource ``name`` under ``choice`` (items without an arc add nothing)."""
        choice = np.asarray(choice, dtype=np.int64)
        ok = choice[choice >= 0]
        return np.bincount(self.arc_agent[ok], weights=self.resource(name).weight[ok], minlength=self.n_agents)

    def load_cost(self, choice: np.ndarray) -> np.ndarray:
        """Per agent, the sum of its load costs under ``choice`` (zeros without load costs)."""
        total = np.zeros(self.n_agents)
        for q in self.load_costs:
            total += q.penalty(self.load(q.resource, choice))
        return total

    def choice_to_x(self, choice: np.ndarray) -> np.ndarray:
        x = np.zeros(self.n_arcs)
        x[choice[choice >= 0]] = 1.0
        return x

    def full_x(self, choice: np.ndarray) -> np.ndarray:
        """The plan as a column vector of :func:`to_matrix`: x, then each load column at its best value.

        The load columns take the in-order fill of the module docstring, so
        the vector's cost is ``objective(choice) - offset`` and it keeps rows
        (4) and (5); a warm start for solvers that want every column.
        """
        x = self.choice_to_x(choice)
        if not self.load_costs:
            return x
        return np.concatenate([x, load_columns(self).values(self, choice)])

    def x_to_choice(self, x: np.ndarray) -> np.ndarray:
        """Arc chosen per item from a (near-)binary vector; -1 where none is set.

        ``x`` may be a whole column vector of :func:`to_matrix`: only its
        first n_arcs entries (the arcs) are read.
        """
        choice = np.full(self.n_items, -1, dtype=np.int64)
        on = np.flatnonzero(np.asarray(x)[: self.n_arcs] > 0.5)
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
class LoadColumns:
    """The continuous columns and rows (4)-(5) that :func:`to_matrix` adds for the load costs.

    Columns are numbered after the arcs (column ``n_arcs + j`` is entry j
    here); each sits in exactly one row, ``row[j]`` (a row index of the
    whole matrix), with coefficient ``coef[j]`` (+1 under, -1 step).
    """

    which: np.ndarray  # per column: index into problem.load_costs
    agent: np.ndarray  # per column: its agent
    step: np.ndarray  # per column: -1 under, else the step j (0-based)
    coef: np.ndarray  # per column: +1 in its under row, -1 in its over row
    cost: np.ndarray  # per column: under_price or p_j
    upper: np.ndarray  # per column: its upper bound (finite; the lower bound is 0)
    shapes: np.ndarray  # per column: True when ``upper`` is a step's width (it shapes the cost), False when it
    #                     only bounds what plans can reach (Lmax, Lmin: never binding, may be rounded up)
    pivot: np.ndarray  # per column: f[k] (under) or g[k] + G_j[k] (step): value = clip(±(L − pivot), 0, upper)
    row: np.ndarray  # per column: its row in the matrix
    row_which: np.ndarray  # per load row: index into problem.load_costs
    row_agent: np.ndarray  # per load row: its agent
    row_lo: np.ndarray  # per load row: f[k] (under) or -inf (over)
    row_hi: np.ndarray  # per load row: +inf (under) or g[k] (over)
    first_row: int  # matrix index of the first load row (they are consecutive)

    @property
    def n_columns(self) -> int:
        return len(self.which)

    @property
    def n_rows(self) -> int:
        return len(self.row_which)

    def values(self, p: AssignmentProblem, choice: np.ndarray) -> np.ndarray:
        """Each column's value in the best completion of ``choice`` (the in-order fill)."""
        loads = (
            np.stack([p.load(q.resource, choice) for q in p.load_costs]) if p.load_costs else np.zeros((0, p.n_agents))
        )
        L = loads[self.which, self.agent] if self.n_columns else np.zeros(0)
        return np.clip(np.where(self.coef > 0, self.pivot - L, L - self.pivot), 0.0, self.upper)


def load_columns(p: AssignmentProblem) -> LoadColumns:
    """Which load terms get columns and rows (module docstring, "Load costs"), vectorized per load cost."""
    first_row = p.n_items + sum(len(r.rows(p.arc_agent)) for r in p.resources) + len(p.side_rows)
    cols: dict[str, list[np.ndarray]] = {
        k: [] for k in ("which", "agent", "step", "coef", "cost", "upper", "shapes", "pivot", "row")
    }
    rows: dict[str, list[np.ndarray]] = {k: [] for k in ("which", "agent", "lo", "hi")}
    next_row = first_row
    for qi, q in enumerate(p.load_costs):
        w = p.resource(q.resource).weight
        lmin = np.bincount(p.arc_agent, weights=np.minimum(w, 0.0), minlength=p.n_agents)
        lmax = np.bincount(p.arc_agent, weights=np.maximum(w, 0.0), minlength=p.n_agents)
        lmax = np.minimum(lmax, p.resource(q.resource).capacity)  # rows (2) bound the load too (inf: no row)
        # (4) under rows: a term some plan pays.
        under = np.flatnonzero((q.under_price > 0) & (q.floor > lmin))
        under_row = next_row + np.arange(len(under))
        next_row += len(under)
        # (5) over rows: steps some plan reaches, with a price > 0 somewhere.
        with np.errstate(invalid="ignore"):  # inf - inf where a step starts after an infinite one
            room = np.nan_to_num(lmax[None, :] - q.ceiling[None, :] - q._starts, nan=-np.inf)
        upper = np.minimum(q._widths, np.maximum(room, 0.0)) if len(q.steps) else np.zeros((0, p.n_agents))
        reach = upper > 0
        priced = np.any(reach & (q._prices > 0), axis=0)
        over = np.flatnonzero(priced)
        over_row = np.full(p.n_agents, -1, dtype=np.int64)
        over_row[over] = next_row + np.arange(len(over))
        next_row += len(over)
        step, agent = np.nonzero(reach & priced[None, :])  # step-major: fine, each column names its row
        cols["which"] += [np.full(len(under) + len(agent), qi, dtype=np.int64)]
        cols["agent"] += [under, agent]
        cols["step"] += [np.full(len(under), -1, dtype=np.int64), step]
        cols["coef"] += [np.ones(len(under)), -np.ones(len(agent))]
        cols["cost"] += [q.under_price[under], q._prices[step, agent]]
        cols["upper"] += [q.floor[under] - lmin[under], upper[step, agent]]
        cols["shapes"] += [np.zeros(len(under), dtype=bool), (q._widths <= room)[step, agent]]
        cols["pivot"] += [q.floor[under], q.ceiling[agent] + q._starts[step, agent]]
        cols["row"] += [under_row, over_row[agent]]
        rows["which"] += [np.full(len(under) + len(over), qi, dtype=np.int64)]
        rows["agent"] += [under, over]
        rows["lo"] += [q.floor[under], np.full(len(over), -np.inf)]
        rows["hi"] += [np.full(len(under), np.inf), q.ceiling[over]]

    def cat(parts: list[np.ndarray], dtype) -> np.ndarray:
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)

    ints = {"which", "agent", "step", "row"}
    c = {k: cat(v, np.int64 if k in ints else bool if k == "shapes" else float) for k, v in cols.items()}
    r = {k: cat(v, np.int64 if k in ("which", "agent") else float) for k, v in rows.items()}
    return LoadColumns(c["which"], c["agent"], c["step"], c["coef"], c["cost"], c["upper"], c["shapes"], c["pivot"],
                       c["row"], r["which"], r["agent"], r["lo"], r["hi"], first_row)  # fmt: skip


@dataclass(frozen=True)
class Matrix:
    """The model as one sparse matrix: row_lo <= A x <= row_hi, col_lo <= x <= col_hi, min cost·x.

    Columns: the n_arcs arcs (binary), then the load columns of
    :func:`load_columns` (continuous); ``integer`` says which is which.
    """

    A: sp.csr_matrix
    row_lo: np.ndarray
    row_hi: np.ndarray
    cost: np.ndarray
    col_lo: np.ndarray
    col_hi: np.ndarray
    integer: np.ndarray  # bool per column
    n_arcs: int
    load: LoadColumns | None = None  # None: no load costs (the columns are the arcs)

    @property
    def n_columns(self) -> int:
        return self.A.shape[1]


def to_matrix(p: AssignmentProblem) -> Matrix:
    """Stack rows (1)-(5) into one CSR matrix with numpy, no Python loop per arc (one per load cost)."""
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
    cost = np.asarray(p.arc_cost, dtype=float)
    col_hi, integer, load = np.ones(n), np.ones(n, dtype=bool), None
    if p.load_costs:
        load = load_columns(p)
        assert load.first_row == next_row
        row_of_agent = np.full((len(p.load_costs), 2, p.n_agents), -1, dtype=np.int64)  # [q, under/over, k]
        kind = np.isfinite(load.row_hi).astype(np.int64)  # 0 under, 1 over
        row_of_agent[load.row_which, kind, load.row_agent] = next_row + np.arange(load.n_rows)
        for qi, q in enumerate(p.load_costs):
            w = p.resource(q.resource).weight
            for k in (0, 1):
                arc_row = row_of_agent[qi, k, p.arc_agent]
                keep = (arc_row >= 0) & (w != 0)
                rows_i.append(arc_row[keep])
                cols.append(arcs[keep])
                vals.append(w[keep])
        rows_i.append(load.row)
        cols.append(n + np.arange(load.n_columns))
        vals.append(load.coef)
        lo.append(load.row_lo)
        hi.append(load.row_hi)
        next_row += load.n_rows
        cost = np.r_[cost, load.cost]
        col_hi = np.r_[col_hi, load.upper]
        integer = np.r_[integer, np.zeros(load.n_columns, dtype=bool)]
    A = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows_i), np.concatenate(cols))), shape=(next_row, len(cost))
    )
    return Matrix(A, np.concatenate(lo), np.concatenate(hi), cost, np.zeros(len(cost)), col_hi, integer, n, load)


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

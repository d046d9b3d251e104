r"""Large-neighbourhood search (LNS) over small sets of agents, each step an exact HiGHS sub-MIP.

Why: on coverage books the LP bound is tight (a few hundred fractional items
out of 10,000) but HiGHS's own heuristics find good plans slowly and
erratically, because an improving move has to shift accounts between
several CSMs at once (an ejection chain). This search makes exactly those
moves: it frees every item held by a small set S of agents and solves that
sub-problem to optimality, everything else fixed.

One step, given a complete feasible plan ``choice``
----------------------------------------------------
    F  = { i : agent(choice[i]) ∈ S, i has at least two arcs into S }   (the freed items)
    sub-problem:  min  Σ_{e ∈ E(F) ∩ (F × S)} c[e] x[e]
       (1) assign[i]    Σ_{e ∈ E(i), agent(e) ∈ S} x[e] = 1                 ∀ i ∈ F
       (2) cap[r, k]    Σ w[r, e] x[e] <= b[r, k] − load of the fixed items  ∀ r, k ∈ S
       (3) side[s]      bounds shifted by the fixed items' part of the row
       + Σ_{k ∈ S} cost'_k(L'[k]) for each load cost, where L'[k] is the freed
         items' load on k and cost'_k is cost_k with floor and ceiling moved
         down by the fixed items' load F[k] on k:  cost'_k(L') = cost_k(L' + F[k])
The current plan restricted to F is feasible for it (it is the warm start),
so a step never makes the plan worse, and every plan it returns satisfies
(1)-(3) of the full problem. Only the agents in S change load, so the
sub-problem's objective differs from the full objective by a constant
(the fixed items' arc costs and the load costs of the agents outside S):
objective differences of the two are equal, and a sub-MIP's gain is the
full plan's gain.

Which agents (guided by the LP relaxation)
------------------------------------------
With LP duals u (assign rows), v <= 0 (capacity rows), a >= 0 (under rows
(4)), β <= 0 (over rows (5)) and reduced costs rc, the gap of a plan splits
exactly into per-item, per-row and per-load-column parts (no side rows):

    cost(plan) − LP bound = Σ_i loss[i] + Σ_rows price · slack(plan) + Σ_z loss[z]
    loss[i] = rc[choice[i]] − Σ_{e ∈ E(i)} min(0, rc[e])  >= 0
    rows:    cap  (−v)·(b − L)            under  a·(L + ẑ_u − f)      over  (−β)·(g − L + Σ_j ẑ_j)
    loss[z] = rc_z·ẑ_z − min(0, rc_z)·upper_z >= 0,   rc_z = cost_z − coef_z·(dual of its row)

where ẑ is the plan's best completion (models.core, ``full_x``). Proof: the
LP bound is its dual objective, Σ_i u_i + Σ v·b + Σ a·f + Σ β·g + Σ_e min(0,
rc[e]) + Σ_z min(0, rc_z)·upper_z (each column at the bound its reduced cost
picks); the plan's cost is Σ_e c x̂ + Σ_z cost_z ẑ_z, and writing each cost
as rc + (its column)ᵀ(duals) turns it into Σ_i (u_i + rc[choice[i]]) + Σ v·L
+ Σ a·(L + ẑ_u) + Σ β·(L − Σ ẑ_j) + Σ_z rc_z ẑ_z; the difference is the sum
above, and every term is >= 0 by the signs of the duals and the rows the plan keeps.

So an agent scores the loss of the items it holds, the loss of the items the
LP would rather give it, the price of the capacity it leaves unused, and the
priced slack and column losses of its load rows (load it carries that the LP
would price differently).
Each step seeds S with a high-scoring agent (scores damped by how often the
agent has seeded already, with a little seeded noise), then grows S with
the agents its freed items could move to, up to MAX_AGENTS agents and
MAX_FREE freed items.

A start from the LP (lp_rounding, repair)
------------------------------------------
On coverage books the LP optimum is integral for all but ~1% of the items,
so giving each item its arc with the largest LP value is a plan within a
fraction of a percent of the bound that breaks only a few caps (where the
LP split an item between agents). ``repair`` fixes those caps: first by the
cheapest single moves of an item off an over-cap agent to an agent with
room, then, for what single moves cannot fix (a chain of moves is needed),
by a sub-MIP over a neighbourhood grown around that agent. A single move is
judged by the true change of the objective: its arc costs and the load costs
of the two agents it touches. On the 50k book
this gives a feasible plan 0.45% above the bound in under 4 s, where
HiGHS's core MIP needed over a minute for a plan 18% above it.

Single moves with load costs (shift_moves)
------------------------------------------
With load costs the rounded LP is further from the bound: the LP fills many
agents to exactly their floor (or ceiling) by splitting an item, and
rounding leaves them a few hours short, each hour priced. On the 10k book
with an hours band (scripts/bench_loadcost.py) the repaired plan was 1.4%
above the bound where it had been 0.4%. ``shift_moves`` is a best-improvement
local search that fixes most of that in about a second: each round prices
every move of one item to another of its arcs at once (numpy, over all
arcs) by its exact change of the objective (arc costs, and the load costs
of the agent it leaves and the agent it joins), and applies the best
improving moves that touch disjoint agents, so their changes add up exactly
(there: 1.4% -> 0.5% in 9 rounds). The LNS then starts from there.

Pairs of moves (pair_moves, polish)
-----------------------------------
Single moves stop where the next improvement needs two at once: an agent
below its floor that wants an item whose owner would drop below its own
floor, or is at a cap (an ejection chain a: o1 -> m, b: m -> o2), or two
agents whose loads are fixed only by exchanging items (a swap, o2 = o1).
``pair_moves`` prices such pairs through each agent m exactly (arc costs and
the load costs of the two or three agents involved), pairing per m the
PAIR_WIDTH best moves into m with the PAIR_WIDTH best moves out of it (each
ranked by its arc cost and the other agent's load cost: what does not depend
on the partner), and applies each round the best pair of each m on disjoint
agents. ``polish`` alternates it with ``shift_moves`` until neither finds
anything. On the 10k book (scripts/bench_scale.py) the single moves end at
3,154,555 and polish at 3,108,902 in ~8 s more, where the LNS needed ~80 s
to reach 3,110,204 from the single moves' plan.

Determinism: sub-MIPs stop on counts (SUB_LIMITS: nodes, improving plans) and
all randomness comes from ``seed``, so a search that reaches its target before
the deadline makes the same moves on every run, unless a sub-MIP hits its
SUB_SECONDS safety cap (then it stops where the clock says).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from planner.models.core import (
    AssignmentProblem,
    LoadColumns,
    Resource,
    SideRow,
    arcs_by_item,
    best_arc_per_item,
    load_columns,
    tolerance,
)

# Neighbourhood size. Measured on the 10k book: smaller neighbourhoods (4-8 agents) make
# more, smaller improvements and ended further from the bound in the same time.
MAX_AGENTS = 12  # agents per neighbourhood
MAX_FREE = 400  # freed items per neighbourhood
MAX_SHARE = 100  # items a big agent (a pool, digital) frees when it joins a neighbourhood (neighbourhood())
SUB_NODES = 50  # branch-and-bound node limit of one sub-MIP (deterministic)
# A sub-MIP stops at its first improving plan (the start is the first "improving" one) or
# its node limit, whichever comes first: both are counts, so the search is deterministic.
SUB_LIMITS = {"mip_max_nodes": SUB_NODES, "mip_max_improving_sols": 2}
SUB_GAP = 1e-3  # relative gap at which a sub-MIP stops (its improving plan comes early); never above --gap
SUB_SECONDS = 2.0  # wall-clock cap of one sub-MIP (a safety net; the counts should bind first)
POLISH_EVERY = 8  # improve(): run its polish after this many improvements
STALL_STEPS = 30  # stop after this many sub-MIPs in a row without improvement (at most one per agent)


@dataclass(frozen=True)
class LpGuide:
    """What the LP relaxation says about each arc and agent (see the module docstring)."""

    item_loss_base: np.ndarray  # Σ_{e ∈ E(i)} min(0, rc[e]) per item
    rc: np.ndarray  # reduced cost per arc
    best_arc: np.ndarray  # per item, its arc with the smallest reduced cost
    row_price: list[np.ndarray]  # per resource, −dual per agent (0 where the agent has no row)
    load: LoadColumns | None = None  # the load columns and rows (4)-(5), None without load costs
    load_row_price: np.ndarray | None = None  # per load row: dual (under, >= 0) or −dual (over, >= 0)
    load_rc: np.ndarray | None = None  # per load column: cost − coef·(dual of its row)

    @classmethod
    def from_lp(cls, problem: AssignmentProblem, col_dual: np.ndarray, row_dual: np.ndarray) -> LpGuide:
        """From the LP's duals: ``col_dual`` the arcs' reduced costs, ``row_dual`` every row's (to_matrix order)."""
        rc = np.asarray(col_dual, dtype=float)[: problem.n_arcs]
        row_dual = np.asarray(row_dual, dtype=float)
        best = best_arc_per_item(problem.arc_item, problem.n_items, rc)
        prices, row = [], problem.n_items  # capacity rows follow the assign rows, as in to_matrix
        for r in problem.resources:
            agents = r.rows(problem.arc_agent)
            price = np.zeros(problem.n_agents)
            price[agents] = -row_dual[row : row + len(agents)]
            prices.append(np.maximum(price, 0.0))
            row += len(agents)
        base = np.bincount(problem.arc_item, weights=np.minimum(rc, 0.0), minlength=problem.n_items)
        if not problem.load_costs:
            return cls(base, rc, best, prices)
        load = load_columns(problem)
        dual = row_dual[load.first_row : load.first_row + load.n_rows]
        under = np.isfinite(load.row_lo)  # (4) is a >= row (dual >= 0), (5) a <= row (dual <= 0)
        row_price = np.maximum(np.where(under, dual, -dual), 0.0)
        load_rc = load.cost - load.coef * row_dual[load.row]
        return cls(base, rc, best, prices, load, row_price, load_rc)

    def agent_parts(self, problem: AssignmentProblem, choice: np.ndarray) -> dict[str, np.ndarray]:
        """The gap identity's terms per agent under ``choice`` (module docstring): each is >= 0.

        ``held``: loss of the items the agent holds; ``wanted``: loss of the
        items whose best LP arc is the agent's; ``capacity``, ``load_rows``:
        priced slack of its capacity and load rows; ``load_columns``: loss of
        its load columns. cost − bound = Σ of every part but ``wanted``.
        """
        n = problem.n_agents
        agent = problem.arc_agent[choice]
        loss = np.maximum(self.rc[choice] - self.item_loss_base, 0.0)
        parts = {
            "held": np.bincount(agent, weights=loss, minlength=n),
            "wanted": np.bincount(problem.arc_agent[self.best_arc], weights=loss, minlength=n),
            "capacity": np.zeros(n),
            "load_rows": np.zeros(n),
            "load_columns": np.zeros(n),
        }
        for r, price in zip(problem.resources, self.row_price, strict=True):
            load = np.bincount(agent, weights=r.weight[choice], minlength=n)
            slack = np.where(np.isfinite(r.capacity), r.capacity - load, 0.0)
            parts["capacity"] += price * np.maximum(slack, 0.0)
        if self.load is not None:
            lc = self.load
            z = lc.values(problem, choice)
            loads = np.stack([problem.load(q.resource, choice) for q in problem.load_costs])
            L = loads[lc.row_which, lc.row_agent]
            filled = np.bincount(lc.row - lc.first_row, weights=lc.coef * z, minlength=lc.n_rows)  # +ẑ_u or −Σ ẑ_j
            slack = np.where(np.isfinite(lc.row_lo), L + filled - lc.row_lo, lc.row_hi - L - filled)
            parts["load_rows"] = np.bincount(
                lc.row_agent, weights=self.load_row_price * np.maximum(slack, 0.0), minlength=n
            )
            col_loss = self.load_rc * z - np.minimum(self.load_rc, 0.0) * lc.upper
            parts["load_columns"] = np.bincount(lc.agent, weights=np.maximum(col_loss, 0.0), minlength=n)
        return parts

    def agent_scores(self, problem: AssignmentProblem, choice: np.ndarray) -> np.ndarray:
        """LP-priced room for improvement around each agent under the plan ``choice`` (the sum of its parts)."""
        return sum(self.agent_parts(problem, choice).values())


@dataclass(frozen=True)
class Neighbourhood:
    """The sub-problem over the items freed by a set of agents, and how to map its plan back."""

    problem: AssignmentProblem
    items: np.ndarray  # freed items (indices in the full problem)
    arcs: np.ndarray  # sub-problem arc -> full-problem arc


def neighbourhood(problem: AssignmentProblem, choice: np.ndarray, agents: np.ndarray,
                  max_share: int | None = None) -> Neighbourhood | None:  # fmt: skip
    """The sub-problem that frees the items held by ``agents`` (None when nothing can move).

    An agent of S that holds more than ``max_share`` items (a pool, the
    digital program) frees only ``max_share`` of them: those whose cheapest
    other arc into S costs least extra over the arc they hold (ties: lower
    item index). Deterministic. Without it, a big agent could not join any
    neighbourhood, and the moves a CSM's workload band needs most (taking
    accounts from a pool or giving them back) would never be tried.
    """
    in_s = np.zeros(problem.n_agents, dtype=bool)
    in_s[agents] = True
    held = in_s[problem.arc_agent[choice]]
    candidate = in_s[problem.arc_agent] & held[problem.arc_item]
    free = held & (np.bincount(problem.arc_item[candidate], minlength=problem.n_items) >= 2)
    if max_share is not None:
        owner = problem.arc_agent[choice]
        counts = np.bincount(owner[free], minlength=problem.n_agents)
        for k in np.flatnonzero(in_s & (counts > max_share)):
            mine = np.flatnonzero(free & (owner == k))
            other = candidate & (problem.arc_agent != k) & (owner[problem.arc_item] == k)
            extra = np.full(problem.n_items, np.inf)
            np.minimum.at(extra, problem.arc_item[other], problem.arc_cost[other])
            extra = extra[mine] - problem.arc_cost[choice[mine]]
            free[mine[np.lexsort((mine, extra))[max_share:]]] = False
    if not free.any():
        return None
    return sub_problem(problem, choice, free, candidate & free[problem.arc_item], name="/lns")


def sub_problem(problem: AssignmentProblem, choice: np.ndarray, free: np.ndarray, allowed: np.ndarray,
                name: str = "/sub") -> Neighbourhood:  # fmt: skip
    """The problem over the ``free`` items (bool per item) and the ``allowed`` arcs (bool per arc, of free items).

    Every other item keeps its arc in ``choice``: capacities and side rows
    are shifted by its use, and the load costs of the agents the allowed arcs
    reach are kept with their fixed load shifted out (module docstring); the
    other agents' load costs are constant here and dropped. ``allowed`` must
    include each free item's arc in ``choice``: that is the sub-problem's start.
    """
    items = np.flatnonzero(free)
    arcs = np.flatnonzero(allowed & free[problem.arc_item])
    new_item = np.full(problem.n_items, -1, dtype=np.int64)
    new_item[items] = np.arange(len(items))
    new_arc = np.full(problem.n_arcs, -1, dtype=np.int64)
    new_arc[arcs] = np.arange(len(arcs))
    fixed = choice[~free]
    fixed_load = {r.name: np.bincount(problem.arc_agent[fixed], weights=r.weight[fixed], minlength=problem.n_agents)
                  for r in problem.resources}  # fmt: skip
    resources = tuple(Resource(r.name, r.weight[arcs], r.capacity - fixed_load[r.name]) for r in problem.resources)
    reached = np.zeros(problem.n_agents, dtype=bool)
    reached[problem.arc_agent[arcs]] = True
    load_costs = tuple(q.restricted(reached, fixed_load[q.resource]) for q in problem.load_costs)
    x = problem.choice_to_x(choice)
    side = []
    for s in problem.side_rows:
        fixed_part = float(np.sum(s.coef * x[s.arcs] * ~free[problem.arc_item[s.arcs]]))
        keep = new_arc[s.arcs] >= 0
        side.append(SideRow(s.name, new_arc[s.arcs[keep]], s.coef[keep], s.lo - fixed_part, s.hi - fixed_part))
    sub = AssignmentProblem(
        n_items=len(items),
        n_agents=problem.n_agents,
        arc_item=new_item[problem.arc_item[arcs]],
        arc_agent=problem.arc_agent[arcs],
        arc_cost=problem.arc_cost[arcs],
        resources=resources,
        side_rows=tuple(side),
        start=new_arc[choice[items]],
        load_costs=load_costs,
        name=problem.name + name,
    )
    return Neighbourhood(sub, items, arcs)


def grow(problem: AssignmentProblem, choice: np.ndarray, seed_agent: int, rng: np.random.Generator,
         blocked: np.ndarray | None = None, max_agents: int = MAX_AGENTS, max_free: int = MAX_FREE,
         max_share: int | None = None) -> np.ndarray:  # fmt: skip
    """A set of agents around ``seed_agent``: those its items could move to, most-linked first.

    Agents in ``blocked`` (another neighbourhood of the same round) are never added.
    """
    held_by = np.bincount(problem.arc_agent[choice], minlength=problem.n_agents)
    if max_share is not None:  # a big agent joins with a share of its items (see neighbourhood)
        held_by = np.minimum(held_by, max_share)
    in_s = np.zeros(problem.n_agents, dtype=bool)
    in_s[seed_agent] = True
    freed = held_by[seed_agent]
    while in_s.sum() < max_agents:
        held = in_s[problem.arc_agent[choice]]
        out = held[problem.arc_item] & ~in_s[problem.arc_agent]
        links = np.bincount(problem.arc_agent[out], minlength=problem.n_agents).astype(float)
        links *= rng.uniform(0.7, 1.3, problem.n_agents)
        if in_s.sum() > 1 or freed <= max_free:  # a big seed (a pool) still gets one partner
            links[freed + held_by > max_free] = 0.0  # an agent that would overflow the sub-MIP
        if blocked is not None:
            links[blocked] = 0.0
        k = int(np.argmax(links))
        if links[k] <= 0:
            break
        in_s[k] = True
        freed += held_by[k]
    return np.flatnonzero(in_s)


def lp_rounding(problem: AssignmentProblem, x: np.ndarray) -> np.ndarray:
    """Each item's arc with the largest LP value (ties: the cheaper arc, then the lower index)."""
    return best_arc_per_item(problem.arc_item, problem.n_items, -np.asarray(x, dtype=float), problem.arc_cost)


def repair(
    problem: AssignmentProblem,
    choice: np.ndarray,
    solve_sub,
    *,
    seed: int = 0,
    deadline: float | None = None,
    tries: int = 3,
) -> np.ndarray:
    """Bring every agent within its caps: cheapest single moves first, then sub-MIPs.

    Single moves: while an agent k is over a cap, move one of its items that
    uses an over-run resource to another agent with room for it in every
    resource, choosing the move that raises the objective least (arc costs
    and the load costs of k and of the receiving agent). Where no single
    move exists, up to ``tries`` neighbourhoods grown around k are re-solved
    by ``solve_sub`` (as in :func:`improve`; their start breaks k's cap, so
    any plan they return is a repair). Side rows are not considered: the
    caller checks the result. Returns the repaired plan (it may still break
    caps when no repair was found).
    """
    choice = np.asarray(choice, dtype=np.int64).copy()
    if not problem.resources:
        return choice
    weight = np.stack([r.weight for r in problem.resources])  # R × arcs
    cap = np.stack([r.capacity for r in problem.resources])  # R × agents
    cap = cap + tolerance(cap)  # as ``AssignmentProblem.violations`` allows

    def loads(arcs: np.ndarray) -> np.ndarray:  # R × agents: what the chosen ``arcs`` use
        return np.stack(
            [np.bincount(problem.arc_agent[arcs], weights=w[arcs], minlength=problem.n_agents) for w in weight]
        )

    load = loads(choice)
    arcs_of = arcs_by_item(problem.arc_item, problem.n_items)
    res_index = {r.name: j for j, r in enumerate(problem.resources)}
    priced = [(q, res_index[q.resource]) for q in problem.load_costs]

    def move_cost(arcs: np.ndarray, item: np.ndarray) -> np.ndarray:
        """The objective's change when each item moves to its arc in ``arcs``: arc costs and both agents' load costs."""
        old = choice[item]
        delta = problem.arc_cost[arcs] - problem.arc_cost[old]
        src, dst = problem.arc_agent[old], problem.arc_agent[arcs]
        for q, j in priced:
            delta += q.penalty(load[j, src] - weight[j, old], src) - q.penalty(load[j, src], src)
            delta += q.penalty(load[j, dst] + weight[j, arcs], dst) - q.penalty(load[j, dst], dst)
        return delta

    def over(k: int) -> np.ndarray:
        return load[:, k] > cap[:, k]

    for k in np.flatnonzero(np.any(load > cap, axis=0)):
        while (bad := over(k)).any():
            items = np.flatnonzero((problem.arc_agent[choice] == k) & np.any(weight[bad][:, choice] > 0, axis=0))
            arcs = np.concatenate([arcs_of[i] for i in items]) if len(items) else np.zeros(0, dtype=np.int64)
            dest = problem.arc_agent[arcs]
            arcs, dest = arcs[dest != k], dest[dest != k]
            fits = np.all(load[:, dest] + weight[:, arcs] <= cap[:, dest], axis=0)
            arcs, dest = arcs[fits], dest[fits]
            if len(arcs) == 0:
                break
            e = int(arcs[np.argmin(move_cost(arcs, problem.arc_item[arcs]))])
            i = int(problem.arc_item[e])
            load[:, k] -= weight[:, choice[i]]
            load[:, problem.arc_agent[e]] += weight[:, e]
            choice[i] = e

    rng = np.random.default_rng(seed)
    for k in np.flatnonzero(np.any(load > cap, axis=0)):
        for t in range(tries):
            left = None if deadline is None else deadline - time.perf_counter()
            if left is not None and left <= 0.05:
                return choice
            hood = neighbourhood(problem, choice, grow(problem, choice, int(k), rng))
            if hood is None:
                break
            sub_choice = solve_sub(hood.problem, SUB_SECONDS if left is None else min(SUB_SECONDS, left), seed + t)
            if sub_choice is None or np.any(sub_choice < 0):
                continue
            load += loads(hood.arcs[sub_choice]) - loads(choice[hood.items])
            choice[hood.items] = hood.arcs[sub_choice]
            break
    return choice


SHIFT_ROUNDS = 100  # most rounds of shift_moves (each applies up to n_agents / 2 moves)


def shift_moves(problem: AssignmentProblem, choice: np.ndarray, *, deadline: float | None = None,
                max_rounds: int = SHIFT_ROUNDS) -> tuple[np.ndarray, int]:  # fmt: skip
    """Improve a feasible plan by single moves, best first (module docstring): returns the plan and the moves made.

    A move gives one item another of its arcs; it must keep every cap of
    both agents (within :func:`tolerance`). Its value is its exact change of
    ``problem.objective``. Each round applies the improving moves in order of
    value (ties: lower arc index), skipping a move that touches an agent an
    earlier move of the round touched, unless that agent has neither a
    finite cap nor a load cost (a fallback such as digital: its moves do not
    interact). Side rows couple every move: with
    side rows a round is kept only when the plan still keeps them, else its
    best move alone, else the search stops. Deterministic.
    """
    choice = np.asarray(choice, dtype=np.int64).copy()
    p = problem
    if p.n_items == 0:
        return choice, 0
    weight = np.stack([r.weight for r in p.resources]).reshape(len(p.resources), p.n_arcs)
    cap = np.stack([r.capacity for r in p.resources]).reshape(len(p.resources), p.n_agents)
    cap = cap + tolerance(cap)
    res_index = {r.name: j for j, r in enumerate(p.resources)}
    load = np.stack([np.bincount(p.arc_agent[choice], weights=w[choice], minlength=p.n_agents) for w in weight])
    load = load.reshape(len(p.resources), p.n_agents)
    tol = 1e-9 * max(1.0, abs(p.objective(choice)))
    # Agents whose moves never interact: no finite cap and no load cost (a fallback such as digital).
    independent = ~np.any(np.isfinite(cap), axis=0)
    for q in p.load_costs:
        independent &= (q.under_price == 0) & ((q.ceiling == np.inf) | ~np.any(q._prices > 0, axis=0))
    moves = 0
    for _ in range(max_rounds):
        if deadline is not None and time.perf_counter() >= deadline:
            break
        cur = choice[p.arc_item]  # per arc: its item's arc now
        src, dst = p.arc_agent[choice], p.arc_agent  # per item, per arc
        delta = p.arc_cost - p.arc_cost[cur]
        for q in p.load_costs:
            j = res_index[q.resource]
            now = q.penalty(load[j])
            delta += (q.penalty(load[j, src] - weight[j, choice], src) - now[src])[p.arc_item]
            delta += q.penalty(load[j, dst] + weight[j], dst) - now[dst]
        leaves = np.all(load[:, src] - weight[:, choice] <= cap[:, src], axis=0)  # per item (negative weights)
        fits = np.all(load[:, dst] + weight <= cap[:, dst], axis=0) & leaves[p.arc_item] & (dst != src[p.arc_item])
        better = np.flatnonzero(fits & (delta < -tol))
        if len(better) == 0:
            break
        better = better[np.argsort(delta[better], kind="stable")]
        used = np.zeros(p.n_agents, dtype=bool)
        picked, moved = [], np.zeros(p.n_items, dtype=bool)
        for e in better[: 4 * p.n_agents].tolist():
            a, b, i = src[p.arc_item[e]], dst[e], p.arc_item[e]
            if not (used[a] or used[b] or moved[i]):
                used[a], used[b] = not independent[a], not independent[b]
                moved[i] = True
                picked.append(e)
        trial = choice.copy()
        trial[p.arc_item[picked]] = picked
        if p.side_rows and p.violations(trial):
            trial = choice.copy()
            picked = picked[:1]
            trial[p.arc_item[picked]] = picked
            if p.violations(trial):
                break
        items = p.arc_item[picked]
        for j in range(len(p.resources)):
            load[j] += np.bincount(dst[picked], weights=weight[j, picked], minlength=p.n_agents)
            load[j] -= np.bincount(src[items], weights=weight[j, choice[items]], minlength=p.n_agents)
        choice = trial
        moves += len(picked)
    return choice, moves


def improve(
    problem: AssignmentProblem,
    choice: np.ndarray,
    guide: LpGuide,
    solve_sub,
    *,
    target: float | None,
    deadline: float | None,
    seed: int = 0,
    workers: int = 1,
    stall_steps: int = STALL_STEPS,
    sub_gap: float = SUB_GAP,
    max_share: int | None = MAX_SHARE,
    on_improve=None,
    polish=None,
    polish_every: int = POLISH_EVERY,
) -> tuple[np.ndarray, dict]:
    """Improve a complete feasible plan until its cost <= ``target``, the deadline, or a stall.

    ``solve_sub(sub_problem, time_cap, seed, gap)`` solves a sub-problem
    exactly (up to its node limit, or relative ``gap``) from its ``start`` and
    returns a choice or None; it must be safe to call from ``workers`` threads
    at once. ``sub_gap`` must not exceed the run's --gap: a sub-MIP whose start
    is within SUB_GAP of its bound stops at once, so an exact run (--gap 0)
    with the default would keep every start within 0.1% of its neighbourhood's
    optimum. Each round builds ``workers`` neighbourhoods on disjoint agent
    sets (so their improvements combine: they free disjoint items and touch
    disjoint capacity rows) and solves them concurrently. Side rows couple
    every item, so when the combined plan breaks one, only the best single
    improvement of the round is kept. The search stops after ``stall_steps``
    sub-MIPs in a row without improvement, however many workers share them:
    counted in rounds, two workers ran twice the sub-MIPs before stopping,
    which made ``--threads 2`` slower than ``--threads 1`` (see the HiGHS
    backend's docstring, "Threads"). ``on_improve(cost)``, if given, is
    told each better plan's cost. ``polish(choice) -> choice``, if given (a
    local search that never worsens a plan, e.g. :func:`polish`), runs after
    every ``polish_every`` improvements: the sub-MIPs' new plans open moves
    and pairs between agents that were never in one neighbourhood (on the 10k
    book, 40 s of LNS from the polished plan: 3,092,553 alone, 3,090,114
    polished about every 8 improvements). Returns the best plan and counts.
    """
    rng = np.random.default_rng(seed)
    choice = np.asarray(choice, dtype=np.int64).copy()
    cost = problem.objective(choice)
    seeded = np.zeros(problem.n_agents)
    steps = improvements = stall = 0
    t0 = time.perf_counter()
    pool = ThreadPoolExecutor(max_workers=workers) if workers > 1 else None
    try:
        while (target is None or cost > target) and stall < min(stall_steps, problem.n_agents):
            left = None if deadline is None else deadline - time.perf_counter()
            if left is not None and left <= 0.05:
                break
            score = guide.agent_scores(problem, choice)
            # Tie-break by items held, so agents still get explored where the LP prices nothing (side rows).
            score += (
                1e-9
                * max(1.0, float(np.abs(problem.arc_cost).mean()))
                * np.bincount(problem.arc_agent[choice], minlength=problem.n_agents)
            )
            score *= rng.uniform(0.8, 1.2, problem.n_agents) / (1.0 + seeded)
            blocked = np.zeros(problem.n_agents, dtype=bool)
            hoods = []
            for _ in range(workers):
                seed_agent = int(np.argmax(np.where(blocked, -np.inf, score)))
                if blocked[seed_agent]:
                    break
                seeded[seed_agent] += 1
                agents = grow(problem, choice, seed_agent, rng, blocked, max_share=max_share)
                blocked[agents] = True
                hood = neighbourhood(problem, choice, agents, max_share=max_share)
                if hood is not None:
                    hoods.append(hood)
            steps += 1
            stall += max(1, len(hoods))  # counted in sub-MIPs: more workers must not search longer before stopping
            cap = SUB_SECONDS if left is None else min(SUB_SECONDS, left)
            jobs = [(h.problem, cap, seed + steps * workers + j, sub_gap) for j, h in enumerate(hoods)]
            answers = list(pool.map(lambda job: solve_sub(*job), jobs)) if pool else [solve_sub(*job) for job in jobs]
            better = []
            for hood, sub_choice in zip(hoods, answers, strict=True):
                if sub_choice is None or np.any(sub_choice < 0):
                    continue
                gain = hood.problem.objective(hood.problem.start) - hood.problem.objective(sub_choice)
                if gain > 1e-9 * max(1.0, abs(cost)):
                    better.append((gain, hood, sub_choice))
            if not better:
                continue
            trial = choice.copy()
            for _, hood, sub_choice in better:
                trial[hood.items] = hood.arcs[sub_choice]
            if problem.violations(trial):  # only side rows can couple the neighbourhoods
                gain, hood, sub_choice = max(better, key=lambda b: b[0])
                trial = choice.copy()
                trial[hood.items] = hood.arcs[sub_choice]
                if problem.violations(trial):
                    continue
            choice, cost = trial, problem.objective(trial)
            improvements += 1
            stall = 0
            if polish is not None and improvements % polish_every == 0:
                polished = polish(choice)
                if problem.objective(polished) < cost and not problem.violations(polished):
                    choice, cost = polished, problem.objective(polished)
            if on_improve is not None:  # progress: the new plan's cost
                on_improve(cost)
    finally:
        if pool is not None:
            pool.shutdown()
    return choice, {"steps": steps, "improvements": improvements, "seconds": time.perf_counter() - t0}


PAIR_ROUNDS = 200  # most rounds of pair_moves
PAIR_WIDTH = 250  # per middle agent: the best arriving and the best leaving single moves paired


def pair_moves(problem: AssignmentProblem, choice: np.ndarray, *, deadline: float | None = None,
               max_rounds: int = PAIR_ROUNDS, width: int = PAIR_WIDTH) -> tuple[np.ndarray, int]:  # fmt: skip
    """Improve a feasible plan by pairs of moves through one agent m (module docstring): returns the plan and the pairs made.

    A pair moves an item a into m (from o1) and an item b out of m (to o2):
    an ejection chain of length 2, a swap when o2 = o1. Its value is its
    exact change of ``problem.objective``: both arcs' costs and the load
    costs of o1, m and o2 (of o1 once, with both changes, in a swap). Per m
    only the ``width`` best arriving moves (by their arc cost and o1's load
    cost) and the ``width`` best leaving moves (by their arc cost and o2's)
    are paired; each round applies the best improving pair of each m in order
    of value (ties: lower m), skipping pairs that share an agent with an earlier one
    (agents with neither a finite cap nor a load cost excepted, as in
    :func:`shift_moves`). Every pair keeps every cap of the three agents.
    Problems with side rows are returned unchanged. Deterministic.
    """
    choice = np.asarray(choice, dtype=np.int64).copy()
    p = problem
    if p.n_items == 0 or p.side_rows or not p.load_costs:
        return choice, 0
    n_res = len(p.resources)
    weight = np.stack([r.weight for r in p.resources]).reshape(n_res, p.n_arcs)
    cap = np.stack([r.capacity for r in p.resources]).reshape(n_res, p.n_agents)
    cap = cap + tolerance(cap)
    res_index = {r.name: j for j, r in enumerate(p.resources)}
    priced = [(q, res_index[q.resource]) for q in p.load_costs]
    load = np.stack([np.bincount(p.arc_agent[choice], weights=w[choice], minlength=p.n_agents) for w in weight])
    load = load.reshape(n_res, p.n_agents)
    tol = 1e-9 * max(1.0, abs(p.objective(choice)))
    independent = ~np.any(np.isfinite(cap), axis=0)
    for q in p.load_costs:
        independent &= (q.under_price == 0) & ((q.ceiling == np.inf) | ~np.any(q._prices > 0, axis=0))
    middles = np.flatnonzero(~independent)
    by_agent = np.argsort(p.arc_agent, kind="stable")
    agent_start = np.searchsorted(p.arc_agent[by_agent], np.arange(p.n_agents + 1))

    def pen(agents: np.ndarray, loads: np.ndarray) -> np.ndarray:  # Σ load costs of ``agents`` at ``loads`` (R × n)
        out = np.zeros(loads.shape[1])
        for q, j in priced:
            out += q.penalty(loads[j], agents)
        return out

    every = np.arange(p.n_agents)
    pairs = 0
    for _ in range(max_rounds):
        if deadline is not None and time.perf_counter() >= deadline:
            break
        cur = choice[p.arc_item]
        src, dst = p.arc_agent[cur], p.arc_agent
        moves = dst != src
        darc = p.arc_cost - p.arc_cost[cur]
        w_cur = weight[:, cur]
        src_after = load[:, src] - w_cur
        dst_after = load[:, dst] + weight
        now = pen(every, load)
        arrive = darc + pen(src, src_after) - now[src]  # value of a move into m = dst, but m's own load cost
        leave = darc + pen(dst, dst_after) - now[dst]  # value of a move out of m = src, but m's own load cost
        src_ok = np.all(src_after <= cap[:, src], axis=0)
        dst_ok = np.all(dst_after <= cap[:, dst], axis=0)
        by_src = np.argsort(src, kind="stable")  # the arcs of the items each agent holds
        src_start = np.searchsorted(src[by_src], np.arange(p.n_agents + 1))
        found = []
        for m in middles.tolist():
            into = by_agent[agent_start[m] : agent_start[m + 1]]
            into = into[moves[into] & src_ok[into]]
            out = by_src[src_start[m] : src_start[m + 1]]
            out = out[moves[out]]
            if len(into) == 0 or len(out) == 0:
                continue
            into = into[np.argsort(arrive[into], kind="stable")[:width]]
            out = out[np.argsort(leave[out], kind="stable")[:width]]
            lm = load[:, m][:, None, None] + weight[:, into][:, :, None] - w_cur[:, out][:, None, :]
            ok = np.all(lm <= cap[:, m][:, None, None], axis=0)
            delta = arrive[into][:, None] + leave[out][None, :] - now[m]
            delta += pen(np.array([m]), lm.reshape(n_res, -1)).reshape(delta.shape)  # one agent: broadcast
            swap = src[into][:, None] == dst[out][None, :]
            ok &= swap | dst_ok[out][None, :]
            if swap.any():
                ii, oo = np.nonzero(swap)
                a, b = into[ii], out[oo]
                s = src[a]
                ls = load[:, s] - w_cur[:, a] + weight[:, b]
                delta[ii, oo] += pen(s, ls) + now[s] - pen(s, src_after[:, a]) - pen(s, dst_after[:, b])
                ok[ii, oo] &= np.all(ls <= cap[:, s], axis=0)
            delta[~ok] = np.inf
            best = int(np.argmin(delta))
            value = float(delta.flat[best])
            if value < -tol:
                found.append((value, m, int(into[best // delta.shape[1]]), int(out[best % delta.shape[1]])))
        if not found:
            break
        found.sort()
        used = np.zeros(p.n_agents, dtype=bool)
        applied = 0
        for _, m, a, b in found:
            o1, o2 = int(src[a]), int(dst[b])
            if used[m] or used[o1] or used[o2]:
                continue
            used[m] = True
            used[o1], used[o2] = used[o1] or not independent[o1], used[o2] or not independent[o2]
            ia, ib = int(p.arc_item[a]), int(p.arc_item[b])
            load[:, o1] -= weight[:, choice[ia]]
            load[:, m] += weight[:, a] - weight[:, choice[ib]]
            load[:, o2] += weight[:, b]
            choice[ia], choice[ib] = a, b
            applied += 1
        pairs += applied
    return choice, pairs


def polish(problem: AssignmentProblem, choice: np.ndarray, *, deadline: float | None = None) -> tuple[np.ndarray, int]:
    """:func:`shift_moves` and :func:`pair_moves` in turn until neither improves (or the deadline): plan, moves made."""
    total = 0
    choice, made = shift_moves(problem, choice, deadline=deadline)
    total += made
    while deadline is None or time.perf_counter() < deadline:
        choice, pairs = pair_moves(problem, choice, deadline=deadline)
        if pairs == 0:
            break
        choice, made = shift_moves(problem, choice, deadline=deadline)
        total += pairs + made
    return choice, total

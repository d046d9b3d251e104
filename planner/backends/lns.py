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
The current plan restricted to F is feasible for it (it is the warm start),
so a step never makes the plan worse, and every plan it returns satisfies
(1)-(3) of the full problem.

Which agents (guided by the LP relaxation)
------------------------------------------
With LP duals u (assign rows), v <= 0 (capacity rows) and reduced costs
rc, the gap of a plan splits exactly into per-item and per-row parts:

    cost(plan) − LP bound = Σ_i loss[i] + Σ_rows (−v) · slack(plan)
    loss[i] = rc[choice[i]] − Σ_{e ∈ E(i)} min(0, rc[e])  >= 0

So an agent scores the loss of the items it holds, the loss of the items the
LP would rather give it, and the price of the capacity it leaves unused.
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
by a sub-MIP over a neighbourhood grown around that agent. On the 50k book
this gives a feasible plan 0.45% above the bound in under 4 s, where
HiGHS's core MIP needed over a minute for a plan 18% above it.

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

from planner.models.core import tolerance
from planner.models.core import AssignmentProblem, Resource, SideRow, arcs_by_item, best_arc_per_item

# Neighbourhood size. Measured on the 10k book: smaller neighbourhoods (4-8 agents) make
# more, smaller improvements and ended further from the bound in the same time.
MAX_AGENTS = 12  # agents per neighbourhood
MAX_FREE = 400  # freed items per neighbourhood
SUB_NODES = 50  # branch-and-bound node limit of one sub-MIP (deterministic)
# A sub-MIP stops at its first improving plan (the start is the first "improving" one) or
# its node limit, whichever comes first: both are counts, so the search is deterministic.
SUB_LIMITS = {"mip_max_nodes": SUB_NODES, "mip_max_improving_sols": 2}
SUB_GAP = 1e-3  # relative gap at which a sub-MIP stops (its improving plan comes early); never above --gap
SUB_SECONDS = 2.0  # wall-clock cap of one sub-MIP (a safety net; the counts should bind first)
STALL_STEPS = 30  # stop after this many rounds in a row without improvement (at most one per agent)


@dataclass(frozen=True)
class LpGuide:
    """What the LP relaxation says about each arc and agent (see the module docstring)."""

    item_loss_base: np.ndarray  # Σ_{e ∈ E(i)} min(0, rc[e]) per item
    rc: np.ndarray  # reduced cost per arc
    best_arc: np.ndarray  # per item, its arc with the smallest reduced cost
    row_price: list[np.ndarray]  # per resource, −dual per agent (0 where the agent has no row)

    @classmethod
    def from_lp(cls, problem: AssignmentProblem, col_dual: np.ndarray, row_dual: np.ndarray) -> LpGuide:
        rc = np.asarray(col_dual, dtype=float)
        best = best_arc_per_item(problem.arc_item, problem.n_items, rc)
        prices, row = [], problem.n_items  # capacity rows follow the assign rows, as in to_matrix
        for r in problem.resources:
            agents = r.rows(problem.arc_agent)
            price = np.zeros(problem.n_agents)
            price[agents] = -np.asarray(row_dual[row : row + len(agents)], dtype=float)
            prices.append(np.maximum(price, 0.0))
            row += len(agents)
        base = np.bincount(problem.arc_item, weights=np.minimum(rc, 0.0), minlength=problem.n_items)
        return cls(base, rc, best, prices)

    def agent_scores(self, problem: AssignmentProblem, choice: np.ndarray) -> np.ndarray:
        """LP-priced room for improvement around each agent under the plan ``choice``."""
        agent = problem.arc_agent[choice]
        loss = np.maximum(self.rc[choice] - self.item_loss_base, 0.0)
        score = np.bincount(agent, weights=loss, minlength=problem.n_agents)
        score += np.bincount(problem.arc_agent[self.best_arc], weights=loss, minlength=problem.n_agents)
        for r, price in zip(problem.resources, self.row_price, strict=True):
            load = np.bincount(agent, weights=r.weight[choice], minlength=problem.n_agents)
            slack = np.where(np.isfinite(r.capacity), r.capacity - load, 0.0)
            score += price * np.maximum(slack, 0.0)
        return score


@dataclass(frozen=True)
class Neighbourhood:
    """The sub-problem over the items freed by a set of agents, and how to map its plan back."""

    problem: AssignmentProblem
    items: np.ndarray  # freed items (indices in the full problem)
    arcs: np.ndarray  # sub-problem arc -> full-problem arc


def neighbourhood(problem: AssignmentProblem, choice: np.ndarray, agents: np.ndarray) -> Neighbourhood | None:
    """The sub-problem that frees the items held by ``agents`` (None when nothing can move)."""
    in_s = np.zeros(problem.n_agents, dtype=bool)
    in_s[agents] = True
    held = in_s[problem.arc_agent[choice]]
    candidate = in_s[problem.arc_agent] & held[problem.arc_item]
    free = held & (np.bincount(problem.arc_item[candidate], minlength=problem.n_items) >= 2)
    items = np.flatnonzero(free)
    if len(items) == 0:
        return None
    arcs = np.flatnonzero(candidate & free[problem.arc_item])
    new_item = np.full(problem.n_items, -1, dtype=np.int64)
    new_item[items] = np.arange(len(items))
    new_arc = np.full(problem.n_arcs, -1, dtype=np.int64)
    new_arc[arcs] = np.arange(len(arcs))
    fixed = choice[~free]
    resources = tuple(
        Resource(r.name, r.weight[arcs], r.capacity - np.bincount(problem.arc_agent[fixed], weights=r.weight[fixed], minlength=problem.n_agents))
        for r in problem.resources
    )
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
        name=problem.name + "/lns",
    )
    return Neighbourhood(sub, items, arcs)


def grow(problem: AssignmentProblem, choice: np.ndarray, seed_agent: int, rng: np.random.Generator,
         blocked: np.ndarray | None = None, max_agents: int = MAX_AGENTS, max_free: int = MAX_FREE) -> np.ndarray:  # fmt: skip
    """A set of agents around ``seed_agent``: those its items could move to, most-linked first.

    Agents in ``blocked`` (another neighbourhood of the same round) are never added.
    """
    held_by = np.bincount(problem.arc_agent[choice], minlength=problem.n_agents)
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
    resource, choosing the move that raises the cost least. Where no single
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
        return np.stack([np.bincount(problem.arc_agent[arcs], weights=w[arcs], minlength=problem.n_agents) for w in weight])

    load = loads(choice)
    arcs_of = arcs_by_item(problem.arc_item, problem.n_items)

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
            item = problem.arc_item[arcs]
            e = int(arcs[np.argmin(problem.arc_cost[arcs] - problem.arc_cost[choice[item]])])
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
    improvement of the round is kept. Returns the best plan and counts.
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
            score += 1e-9 * max(1.0, float(np.abs(problem.arc_cost).mean())) * np.bincount(
                problem.arc_agent[choice], minlength=problem.n_agents
            )
            score *= rng.uniform(0.8, 1.2, problem.n_agents) / (1.0 + seeded)
            blocked = np.zeros(problem.n_agents, dtype=bool)
            hoods = []
            for _ in range(workers):
                seed_agent = int(np.argmax(np.where(blocked, -np.inf, score)))
                if blocked[seed_agent]:
                    break
                seeded[seed_agent] += 1
                agents = grow(problem, choice, seed_agent, rng, blocked)
                blocked[agents] = True
                hood = neighbourhood(problem, choice, agents)
                if hood is not None:
                    hoods.append(hood)
            steps += 1
            stall += 1
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
    finally:
        if pool is not None:
            pool.shutdown()
    return choice, {"steps": steps, "improvements": improvements, "seconds": time.perf_counter() - t0}


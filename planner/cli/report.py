"""What the CLI prints about a plan: the summary table, a scorecard (cost, broken rules, KPIs), the status in words.

Tables print through planner.cli.common's consoles (user text literally,
never wrapped off a terminal).
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text


def money(x) -> str:
    return "-" if x is None else f"${x:,.0f}"


def owner_names(result) -> dict[str, str]:
    """owner id -> name, from the plan's owners table (empty when the result has none)."""
    owners = getattr(result, "owners", None)
    return {} if owners is None else dict(zip(owners["owner_id"], owners["name"], strict=True))


def owner_label(owner_id: str, names: dict[str, str]) -> str:
    """'csm_003 (Jane Doe)': an owner as people read it; the id alone when it has no name."""
    name = names.get(owner_id, "")
    return f"{owner_id} ({name})" if name and name != owner_id else owner_id


def account_label(account_id: str, names: dict[str, str]) -> str:
    """'acc_000012 Nova Silver Payments': an account with its name, when the book gives one."""
    name = names.get(account_id, "")
    return f"{account_id} {name}" if name else account_id


def exceptions_line(exceptions) -> str:
    """'3 kept against today's rules (2 pinned, 1 current CSM kept); see the exception column of assignments.csv'."""
    pinned = sum(e["detail"].startswith("pinned") for e in exceptions)
    parts = [f"{pinned} pinned"] if pinned else []
    if len(exceptions) - pinned:
        parts.append(f"{len(exceptions) - pinned} current CSM kept")
    return f"{len(exceptions)} kept against today's rules ({', '.join(parts)}); see the exception column of assignments.csv"


def status_words(result) -> str:
    """The status as a CS leader reads it: what is proven about the plan."""
    status, gap = result.status.value, result.gap
    if gap is None:
        why = "stopped by the time limit" if status == "time_limited" else f"{result.backend} proves no bound"
        return f"{status} ({why}; no bound on how far the best plan could be)"
    proven = f"proven within {gap:.2%} of the best possible plan"
    if status == "optimal":
        return f"optimal ({proven})"
    if status == "time_limited":
        return f"time_limited (stopped by the time limit; {proven}, asked {result.options.gap:.2%})"
    return f"{status} ({proven}; asked {result.options.gap:.2%})"


def summary_table(result) -> Table:
    """The short table the CLI prints after a solve or a reassignment (a PlanResult with a plan)."""
    t = Table(title=f"plan {result.plan_id or '(none)'}", show_header=False, title_justify="left")
    t.add_column(style="bold")
    t.add_column()
    t.add_row("status", status_words(result))
    t.add_row("backend", result.backend)
    t.add_row(
        "annual cost",
        f"{money(result.objective)} a year: what this plan changes (risk, mismatch, disruption, spend, balance)",
    )
    t.add_row("proven bound", money(result.bound))
    t.add_row("gap", "-" if result.gap is None else f"{result.gap:.4%}")
    for k, v in result.terms.items():
        t.add_row(f"  {k.replace('_', ' ')}", money(v))
    fixed = result.fixed_costs
    spend = result.terms.get("serving", 0.0) + result.terms.get("digital", 0.0)
    t.add_row("fixed costs", f"{money(fixed['total'])} a year whatever the plan (CSM salaries {money(fixed['csm_salaries'])}, "
                             f"salaried pools {money(fixed['pool_teams'])}); with this plan's spend, coverage costs "
                             f"{money(fixed['total'] + spend)}")  # fmt: skip
    base = result.baseline
    if base is not None and base.objective is not None and result.objective is not None:
        saving = base.objective - result.objective
        broken = f"; breaks {base.broken_caps} caps" if base.broken_caps else ""
        share = f", {saving / base.objective:.1%}" if base.objective else ""
        t.add_row("greedy baseline", f"{money(base.objective)} (optimum saves {money(saving)}{share}{broken})")
    c = result.counts
    if c is not None:
        t.add_row("accounts", f"{c.accounts:,} ({', '.join(f'{k} {v:,}' for k, v in c.by_owner_type.items())})")
        left = f"; {c.left_without_owner:,} with an owner today have none in this plan" if c.left_without_owner else ""
        t.add_row("moved", f"{c.moved:,} accounts, {money(c.arr_moved)} ARR; {c.new_accounts:,} new{left}")
    if result.exceptions:
        t.add_row("exceptions", exceptions_line(result.exceptions))
    names = owner_names(result)
    for row in result.details.get("over_caps") or []:
        said = row["detail"].removeprefix(f"{row['owner_id']}: ")
        t.add_row("over a cap", f"{owner_label(row['owner_id'], names)}: {said} (priced {money(row['annual_cost'])} "
                                "a year; --strict refuses it)")  # fmt: skip
    if result.scorecard is not None:
        t.add_row("CSM utilization", utilization_line(result.scorecard.kpis))
    if result.today is not None:
        t.add_row("today's plan", today_line(result.today, result.scorecard))
    tm = result.timings
    t.add_row("time", f"load {tm.load_s:.2f}s, build {tm.build_s:.2f}s, solve {tm.solve_s:.2f}s")
    ev = result.evaluation
    if ev is not None:
        if ev.ok:
            said = "agrees, no rule broken"
            if ev.inherited:
                said += f" ({len(ev.inherited)} overload(s) kept from today's owners, not made worse: exceptions)"
        else:
            said = Text.assemble(("DISAGREES", "red"), f": {list(ev.violations[:3])}")
        t.add_row("evaluator", said)
    return t


def percent(x) -> str:
    return "-" if x is None else f"{x:.0%}"


def utilization_line(kpis: dict) -> str:
    """'min 12%, median 64%, max 100% (spread 88 points; 1 over capacity)' for the active CSMs."""
    u = kpis["utilization"]
    if not u["n"]:
        return "no active CSM"
    line = f"min {percent(u['min'])}, median {percent(u['median'])}, max {percent(u['max'])} (spread {u['spread'] * 100:.0f} points"
    if kpis["over_capacity"]:
        line += f"; {len(kpis['over_capacity'])} over capacity"
    if kpis["without_accounts"]:
        line += f"; {len(kpis['without_accounts'])} with no account"
    line += ")"
    idle = kpis.get("idle_beside_busy") or []
    if idle:
        e = min(idle, key=lambda e: e["net"])
        line += (f"; {len(idle)} below the band could take work from a colleague above it (e.g. {e['csm_id']} at "
                 f"{percent(e['utilization'])} could take {e['could_take']} from {e['from']} at "
                 f"{percent(e['from_utilization'])}: saves {money(e['balance_saved'])} of balance, the move costs "
                 f"{money(e['move_costs'])})")  # fmt: skip
    return line


def today_line(today, plan=None) -> str:
    """Today's plan in one line: its cost, what it leaves unassigned, what it breaks, and what the new plan fixes."""
    from planner.planning.scorecard import fixes

    broken = today.broken_by_rule()
    line = f"{money(today.objective)} for {today.assigned:,} of {today.accounts:,} accounts"
    if broken:
        line += f"; breaks {sum(broken.values()):,} rule(s): " + ", ".join(
            f"{k} {v:,}" for k, v in sorted(broken.items())
        )
        if plan is not None:
            fixed = sum(fixes(today, plan).values())
            line += f"; this plan fixes {fixed:,}"
    else:
        line += "; breaks no rule"
    return line + f"; utilization {utilization_line(today.kpis)}"


def scorecard_table(cards) -> Table:
    """One column per scored plan: cost terms, accounts, broken rules, utilization and load KPIs."""
    t = Table(title="scorecard", title_justify="left")
    t.add_column("")
    for card in cards:
        t.add_column(card.name, justify="right")
    rows: list[tuple[str, list[str]]] = [
        ("annual cost", [money(c.objective) for c in cards]),
        *[(f"  {k.replace('_', ' ')}", [money(c.terms.get(k)) for c in cards]) for k in cards[0].terms],
        ("accounts with an owner", [f"{c.assigned:,} of {c.accounts:,}" for c in cards]),
    ]
    rules = sorted({r for c in cards for r in c.broken_by_rule()})
    rows.append(("rules broken", [f"{len(c.violations):,}" for c in cards]))
    rows += [(f"  {r}", [f"{c.broken_by_rule().get(r, 0):,}" for c in cards]) for r in rules]
    if any(c.inherited for c in cards):
        rows.append(("overloads kept from today", [f"{len(c.inherited):,}" for c in cards]))
    for key, label in (("min", "CSM utilization min"), ("median", "  median"), ("max", "  max")):
        rows.append((label, [percent(c.kpis["utilization"][key]) for c in cards]))
    rows.append(("  spread (points)", [_points(c.kpis["utilization"]["spread"]) for c in cards]))
    rows.append(("CSMs over capacity", [f"{len(c.kpis['over_capacity']):,}" for c in cards]))
    rows.append(("CSMs with no account", [f"{len(c.kpis['without_accounts']):,}" for c in cards]))
    rows.append(
        ("CSMs idle beside a busy colleague", [f"{len(c.kpis.get('idle_beside_busy') or []):,}" for c in cards])
    )
    for key, label in (("median", "accounts per CSM, median"), ("max", "  max")):
        rows.append((label, [_count(c.kpis["accounts_per_csm"]["all"][key]) for c in cards]))
    segments = sorted({s for c in cards for s in c.kpis["accounts_per_csm"]["by_segment"]})
    for s in segments:
        rows.append((f"  {s.replace('_', '-')} per CSM (median; usual band)", [_segment(c.kpis, s) for c in cards]))
    rows.append((f"ARR per CSM, median (usual {money(cards[0].kpis['arr_per_csm']['reference'])})",
                 [money(c.kpis["arr_per_csm"]["median"]) for c in cards]))  # fmt: skip
    rows.append(("rate vs utilization (rank corr.)", [_corr(c.kpis["rate_vs_utilization"]) for c in cards]))
    for label, values in rows:
        t.add_row(label, *values)
    return t


def _segment(kpis: dict, segment: str) -> str:
    """'14 (10-20; 2 below, 1 above)': the median accounts of a segment per CSM holding it, against the usual band."""
    s = kpis["accounts_per_csm"]["by_segment"].get(segment)
    if not s:
        return "-"
    if "band" not in s:
        return _count(s["median"])
    lo, hi = s["band"]
    return f"{_count(s['median'])} ({lo:g}-{hi:g}; {s['below_band']} below, {s['above_band']} above)"


def _points(x) -> str:
    return "-" if x is None else f"{x * 100:.0f}"


def _count(x) -> str:
    return "-" if x is None else f"{x:,.0f}"


def _corr(x) -> str:
    return "-" if x is None else f"{x:+.2f}"


def frontier_table(points) -> Table:
    """The frontier on screen: per point its cap, moves, moved ARR, cost and terms, gap; cheapest change first."""
    t = Table(title="cost against change (each point a plan folder)", title_justify="left")
    for col in (
        "#",
        "max moves",
        "moves",
        "ARR moved",
        "annual cost",
        *(k.replace("_", " ") for k in _terms(points)),
        "gap",
        "status",
    ):
        t.add_column(col, justify="left" if col in ("status",) else "right")
    for p in points:
        t.add_row(
            str(p.point), "-" if p.max_moves is None else f"{p.max_moves:,}", "-" if p.moves is None else f"{p.moves:,}",
            money(p.moved_arr), money(p.objective), *(money(p.terms.get(k)) for k in _terms(points)),
            "-" if p.gap is None else f"{p.gap:.2%}", p.status,
        )  # fmt: skip
    return t


def _terms(points) -> list[str]:
    return list(next((p.terms for p in points if p.terms), {}))

"""Write a PlanResult as the plan folder (see planner/plan_contract.md), atomically.

Every CSV goes through planner.io.csvtext: booleans true/false, dates ISO,
tuples ';'-joined, floats to 10 significant digits, blanks empty, and every
text cell (headers included) neutralized against spreadsheet formulas.
planner.plans.load_plan undoes the neutralization when it reads a plan.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from planner.io.atomic import atomic_dir
from planner.io.csvtext import write_frame


def _clean(obj):
    """JSON-safe: NaN/inf -> null, numpy scalars -> Python."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def write_plan(result, out: str | Path, force: bool = False) -> Path:
    """PLAN/assignments.csv, owners.csv, any extra tables (handoffs.csv), summary.json; all or nothing."""
    if result.assignments is None:
        raise ValueError(f"Expected a plan to write, but the status is {result.status.value}")
    out = Path(out)
    with atomic_dir(out, force=force) as tmp:
        # The one CSV writer: numbers as numbers (floats to 10 digits), text neutralized.
        write_frame(result.assignments, tmp / "assignments.csv")
        write_frame(result.owners, tmp / "owners.csv")
        for name, table in result.extra_tables.items():
            write_frame(table, tmp / name)
        (tmp / "summary.json").write_text(
            json.dumps(_clean(result.summary), indent=2, sort_keys=False) + "\n", encoding="utf-8", newline=""
        )
    return out

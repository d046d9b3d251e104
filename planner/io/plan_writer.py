"""Write a Result as the plan folder (see planner/plan_contract.md), atomically."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from planner.io.atomic import atomic_dir
from planner.io.csvtext import csv_text


def _cell(value) -> str:
    """A cell as text: booleans true/false, dates ISO, lists ';'-joined, floats to 10 digits, blanks empty."""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ";".join(value)
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.10g}"
    return str(value)


def _csv(df: pd.DataFrame) -> str:
    rows = ([_cell(v) for v in row] for row in df.itertuples(index=False, name=None))
    return csv_text([str(c) for c in df.columns], rows)


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
        (tmp / "assignments.csv").write_text(_csv(result.assignments), encoding="utf-8", newline="")
        (tmp / "owners.csv").write_text(_csv(result.owners), encoding="utf-8", newline="")
        for name, table in result.extra_tables.items():
            (tmp / name).write_text(_csv(table), encoding="utf-8", newline="")
        (tmp / "summary.json").write_text(
            json.dumps(_clean(result.summary), indent=2, sort_keys=False) + "\n", encoding="utf-8", newline=""
        )
    return out

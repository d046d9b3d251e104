"""Write a Result as the plan folder (see planner/plan_contract.md), atomically."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from planner.io.atomic import atomic_dir


def _csv(df: pd.DataFrame) -> str:
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == bool:
            out[col] = out[col].map({True: "true", False: "false"})
        elif pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%d").fillna("")
        elif out[col].dtype == object and len(out) and isinstance(out[col].iloc[0], tuple):
            out[col] = out[col].map(";".join)
    return out.to_csv(index=False, lineterminator="\n", float_format="%.10g")


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
    """PLAN/assignments.csv, owners.csv, summary.json; all or nothing."""
    if result.assignments is None:
        raise ValueError(f"Expected a plan to write, but the status is {result.status.value}")
    out = Path(out)
    with atomic_dir(out, force=force) as tmp:
        (tmp / "assignments.csv").write_text(_csv(result.assignments), encoding="utf-8", newline="")
        (tmp / "owners.csv").write_text(_csv(result.owners), encoding="utf-8", newline="")
        (tmp / "summary.json").write_text(
            json.dumps(_clean(result.summary), indent=2, sort_keys=False) + "\n", encoding="utf-8", newline=""
        )
    return out

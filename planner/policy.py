"""The policy: the planning model's numbers, read from TOML.

The defaults live in ``models/default_policy.toml`` (installed as
``planner/models/default_policy.toml``), each number with its source. A user
file passed with ``--policy`` is merged over them key by key.
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

from planner.errors import PlannerError

MODES = ("csm", "pool", "digital")
TOUCH = {"csm": 3, "pool": 2, "digital": 1}  # higher = more human touch
STAGES = ("onboarding", "adoption", "expansion", "renewal", "at_risk")


class PolicyError(PlannerError, ValueError):
    """A policy file that cannot be used; the message says what was expected."""


def _merge(base: dict, over: Mapping, path: str = "") -> dict:
    out = dict(base)
    for key, value in over.items():
        where = f"{path}.{key}" if path else key
        if isinstance(value, Mapping) and isinstance(base.get(key), Mapping):
            out[key] = _merge(base[key], value, where)
        else:
            out[key] = value
    return out


def _num(raw: Any, where: str, lo: float = -math.inf, hi: float = math.inf) -> float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise PolicyError(f"policy {where}: expected a number, got {raw!r}")
    if not lo <= raw <= hi:
        raise PolicyError(f"policy {where}: expected a number in [{lo}, {hi}], got {raw!r}")
    return float(raw)


def _table(raw: Any, where: str) -> Mapping:
    if not isinstance(raw, Mapping):
        raise PolicyError(f"policy {where}: expected a table, got {raw!r}")
    return raw


def _per_segment(raw: Any, where: str, segments: tuple[str, ...], lo: float = 0.0) -> dict[str, float]:
    table = _table(raw, where)
    missing = [s for s in segments if s not in table]
    if missing:
        raise PolicyError(f"policy {where}: expected a value for every segment, missing {missing}")
    return {s: _num(table[s], f"{where}.{s}", lo) for s in segments}


@dataclass(frozen=True)
class Policy:
    segments: tuple[str, ...]
    arr_thresholds: dict[str, float]
    modes: dict[str, tuple[str, ...]]
    base_hours: dict[str, float]
    complexity_mult: dict[int, float]
    stage_mult: dict[str, float]
    low_health_below: float
    low_health_mult: float
    pool_efficiency: float
    csm_default_capacity_hours: float
    csm_default_max_accounts: int
    csm_default_max_arr: float
    csm_default_annual_cost: float
    csm_default_languages: tuple[str, ...]
    csm_max_utilization: float
    pool_hours_per_fte: float
    pool_default_hourly_cost: float
    pool_default_languages: tuple[str, ...]
    digital_owner_id: str
    digital_cost_per_account: float
    churn_uplift: dict[str, dict[str, float]]
    disruption_arr_share: float
    handoff_hours: dict[str, float]
    freeze_days: int
    max_changed_arr_share: float
    tz_max_gap_hours: dict[str, float]
    tz_free_gap_hours: float
    tz_cost_per_gap_hour: float
    region_csm_must_match: tuple[str, ...]
    region_mismatch_cost: float
    region_default_utc_offset: dict[str, float]
    handoff_cold_threshold: float
    handoff_cold_penalty_arr_share: float
    handoff_knowledge_gap_arr_share: float
    handoff_overflow_churn_uplift: float
    raw: dict = field(repr=False, compare=False, default_factory=dict)
    source: str = "default"

    # -- derived helpers -------------------------------------------------
    def default_mode(self, segment: str) -> str:
        return self.modes[segment][0]

    def segment_for_arr(self, arr: float) -> str:
        """The first segment (in order) whose ARR threshold `arr` reaches."""
        for seg in self.segments:
            if arr >= self.arr_thresholds[seg]:
                return seg
        return self.segments[-1]

    def uplift(self, segment: str, mode: str) -> float:
        return self.churn_uplift.get(segment, {}).get(mode, 0.0)

    def as_dict(self) -> dict:
        """The merged TOML as plain data (for summary.json)."""
        return json.loads(json.dumps(self.raw))

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.raw, sort_keys=True).encode()).hexdigest()


def default_policy_path() -> Path:
    return Path(str(resources.files("planner.models") / "default_policy.toml"))


def load_policy(path: str | Path | None = None) -> Policy:
    """The default policy, with `path` (a TOML file) merged over it when given."""
    base = tomllib.loads(default_policy_path().read_text(encoding="utf-8"))
    source = "default"
    if path is not None:
        p = Path(path)
        try:
            over = tomllib.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise PolicyError(f"{p}: expected a policy TOML file, but it does not exist") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise PolicyError(f"{p}: expected valid TOML: {exc}") from None
        base = _merge(base, over)
        source = str(p)
    return policy_from_dict(base, source)


def policy_from_dict(d: Mapping, source: str = "dict") -> Policy:
    seg = _table(d.get("segments"), "segments")
    order = tuple(seg.get("order", ()))
    if not order or not all(isinstance(s, str) and s for s in order):
        raise PolicyError("policy segments.order: expected a non-empty list of segment names")
    thresholds = _per_segment(seg.get("arr_thresholds"), "segments.arr_thresholds", order)
    modes_raw = _table(seg.get("modes"), "segments.modes")
    modes: dict[str, tuple[str, ...]] = {}
    for s in order:
        ms = tuple(modes_raw.get(s, ()))
        if not ms or any(m not in MODES for m in ms):
            raise PolicyError(f"policy segments.modes.{s}: expected a non-empty list drawn from {list(MODES)}, got {list(ms)}")
        modes[s] = ms

    wl = _table(d.get("workload"), "workload")
    cm_raw = _table(wl.get("complexity_mult"), "workload.complexity_mult")
    complexity = {int(k): _num(v, f"workload.complexity_mult.{k}", 0) for k, v in cm_raw.items()}
    if sorted(complexity) != [1, 2, 3, 4, 5]:
        raise PolicyError("policy workload.complexity_mult: expected keys \"1\" to \"5\"")
    stage_raw = _table(wl.get("stage_mult"), "workload.stage_mult")
    if set(stage_raw) != set(STAGES):
        raise PolicyError(f"policy workload.stage_mult: expected exactly the stages {list(STAGES)}")
    stage = {k: _num(v, f"workload.stage_mult.{k}", 0) for k, v in stage_raw.items()}

    csm = _table(d.get("csm"), "csm")
    pool = _table(d.get("pool"), "pool")
    dig = _table(d.get("digital"), "digital")
    risk = _table(d.get("risk", {}), "risk")
    uplift_raw = _table(risk.get("churn_uplift", {}), "risk.churn_uplift")
    uplift: dict[str, dict[str, float]] = {}
    for s, table in uplift_raw.items():
        if s not in order:
            raise PolicyError(f"policy risk.churn_uplift.{s}: expected a segment from {list(order)}")
        uplift[s] = {}
        for m, v in _table(table, f"risk.churn_uplift.{s}").items():
            if m not in MODES:
                raise PolicyError(f"policy risk.churn_uplift.{s}.{m}: expected a mode from {list(MODES)}")
            uplift[s][m] = _num(v, f"risk.churn_uplift.{s}.{m}", 0, 1)
    dis = _table(d.get("disruption"), "disruption")
    cont = _table(d.get("continuity"), "continuity")
    tz = _table(d.get("timezone"), "timezone")
    reg = _table(d.get("region"), "region")
    hand = _table(d.get("handoff"), "handoff")

    def langs(raw: Any, where: str) -> tuple[str, ...]:
        if not isinstance(raw, list) or not raw:
            raise PolicyError(f"policy {where}: expected a non-empty list of language codes")
        return tuple(str(x).strip().lower() for x in raw)

    owner_id = dig.get("owner_id", "digital")
    if not isinstance(owner_id, str) or not owner_id:
        raise PolicyError("policy digital.owner_id: expected a non-empty string")
    must = tuple(reg.get("csm_must_match", ()))
    if any(s not in order for s in must):
        raise PolicyError(f"policy region.csm_must_match: expected segments from {list(order)}")

    return Policy(
        segments=order,
        arr_thresholds=thresholds,
        modes=modes,
        base_hours=_per_segment(wl.get("base_hours"), "workload.base_hours", order),
        complexity_mult=complexity,
        stage_mult=stage,
        low_health_below=_num(wl.get("low_health_below"), "workload.low_health_below", 0, 100),
        low_health_mult=_num(wl.get("low_health_mult"), "workload.low_health_mult", 0),
        pool_efficiency=_num(wl.get("pool_efficiency"), "workload.pool_efficiency", 0),
        csm_default_capacity_hours=_num(csm.get("default_capacity_hours"), "csm.default_capacity_hours", 0),
        csm_default_max_accounts=int(_num(csm.get("default_max_accounts"), "csm.default_max_accounts", 0)),
        csm_default_max_arr=_num(csm.get("default_max_arr"), "csm.default_max_arr", 0),
        csm_default_annual_cost=_num(csm.get("default_annual_cost"), "csm.default_annual_cost", 0),
        csm_default_languages=langs(csm.get("default_languages"), "csm.default_languages"),
        csm_max_utilization=_num(csm.get("max_utilization"), "csm.max_utilization", 0, 2),
        pool_hours_per_fte=_num(pool.get("hours_per_fte"), "pool.hours_per_fte", 0),
        pool_default_hourly_cost=_num(pool.get("default_hourly_cost"), "pool.default_hourly_cost", 0),
        pool_default_languages=langs(pool.get("default_languages"), "pool.default_languages"),
        digital_owner_id=owner_id,
        digital_cost_per_account=_num(dig.get("cost_per_account"), "digital.cost_per_account", 0),
        churn_uplift=uplift,
        disruption_arr_share=_num(dis.get("arr_share"), "disruption.arr_share", 0, 1),
        handoff_hours=_per_segment(dis.get("handoff_hours"), "disruption.handoff_hours", order),
        freeze_days=int(_num(cont.get("freeze_days"), "continuity.freeze_days", 0)),
        max_changed_arr_share=_num(cont.get("max_changed_arr_share", 1.0), "continuity.max_changed_arr_share", 0, 1),
        tz_max_gap_hours=_per_segment(tz.get("max_gap_hours"), "timezone.max_gap_hours", order),
        tz_free_gap_hours=_num(tz.get("free_gap_hours"), "timezone.free_gap_hours", 0, 24),
        tz_cost_per_gap_hour=_num(tz.get("cost_per_gap_hour"), "timezone.cost_per_gap_hour", 0),
        region_csm_must_match=must,
        region_mismatch_cost=_num(reg.get("mismatch_cost"), "region.mismatch_cost", 0),
        region_default_utc_offset={
            str(k): _num(v, f"region.default_utc_offset.{k}", -12, 14)
            for k, v in _table(reg.get("default_utc_offset", {}), "region.default_utc_offset").items()
        },
        handoff_cold_threshold=_num(hand.get("cold_threshold"), "handoff.cold_threshold", 0, 1),
        handoff_cold_penalty_arr_share=_num(hand.get("cold_penalty_arr_share"), "handoff.cold_penalty_arr_share", 0, 1),
        handoff_knowledge_gap_arr_share=_num(hand.get("knowledge_gap_arr_share"), "handoff.knowledge_gap_arr_share", 0, 1),
        handoff_overflow_churn_uplift=_num(hand.get("overflow_churn_uplift"), "handoff.overflow_churn_uplift", 0, 1),
        raw=dict(d),
        source=source,
    )

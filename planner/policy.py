"""The policy: the planning model's numbers, read from TOML.

The defaults live in ``models/default_policy.toml`` (installed as
``planner/models/default_policy.toml``), each number with its source. A user
file passed with ``--policy`` is merged over them key by key.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any

from planner.errors import PlannerError

MODES = ("csm", "pool", "digital")
TOUCH = {"csm": 3, "pool": 2, "digital": 1}  # higher = more human touch
STAGES = ("onboarding", "adoption", "expansion", "renewal", "at_risk")


class PolicyError(PlannerError, ValueError):
    """A policy file that cannot be used; the message says what was expected."""


# -- the schema ---------------------------------------------------------------------------
#
# Every key a policy may hold, with what its value must be. The keys are those
# of models/default_policy.toml plus the documented optional ones
# (continuity.max_changed_arr_share, risk.churn_uplift.<segment>.<mode>,
# region.default_utc_offset.<region>, the [knowledge] weights). A key or table
# not listed is an error naming the nearest valid one, so a typo never silently
# loses the override it meant. Every number must be finite and within a range
# the model can use (TOML allows inf and nan; HiGHS rejects coefficients past
# about 1e15).

HOURS_MAX = 744  # hours in a 31-day month: per-account and per-person hours a month
MULT_MAX = 100  # workload multipliers and pool efficiency
MONEY_MAX = 1e12  # dollars: ARR thresholds and caps, costs
DAYS_MAX = 3660  # ten years: the renewal freeze
COUNT_MAX = 1_000_000  # accounts per CSM


class _Bad(Exception):
    """One unusable value at a key path; policy_from_dict adds the policy's name."""

    def __init__(self, path: tuple[str, ...], message: str):
        super().__init__(f"{_key(path)}: {message}" if path else message)


def _key(path: tuple[str, ...], table: bool = False) -> str:
    """How a user finds the key in TOML: ``[csm] default_capacity_hours``, or ``[csm]`` for a table."""
    if table or len(path) == 1:
        return f"[{'.'.join(path)}]"
    return f"[{'.'.join(path[:-1])}] {path[-1]}"


def _g(x: float) -> str:
    return format(x, "g").replace("e+", "e")


def _nearest(key: str, valid) -> str | None:
    found = difflib.get_close_matches(str(key), [str(v) for v in valid], n=1, cutoff=0.6)
    return found[0] if found else None


def _unknown(path: tuple[str, ...], key: str, valid, what: str = "key", raw: Any = None) -> _Bad:
    """An unknown key (or table) at ``path``, naming the nearest valid one."""
    valid = [str(v) for v in valid]
    is_table = isinstance(raw, Mapping)
    here = (*path, str(key))
    best = _nearest(key, valid)
    if not path:  # the top level holds only tables
        name = f"[{key}]" if is_table else str(key)
        hint = f"did you mean [{best}]?" if best else f"expected one of the tables {', '.join(f'[{v}]' for v in valid)}"
        return _Bad((), f"{name}: unknown {'table' if is_table else 'key'}; {hint}")
    hint = f"did you mean {best}?" if best else f"expected one of {', '.join(valid)}"
    bad = _Bad(here, f"unknown {what}; {hint}")
    if is_table and what == "key":
        bad = _Bad((), f"{_key(here, table=True)}: unknown table; {hint}")
    return bad


def _table(raw: Any, path: tuple[str, ...]) -> Mapping:
    if not isinstance(raw, Mapping):
        raise _Bad(path, f"expected a table, got {raw!r}")
    return raw


@dataclass(frozen=True)
class Number:
    """A finite number from lo to hi (a whole number when ``whole``)."""

    lo: float
    hi: float
    whole: bool = False

    def describe(self, order=()) -> str:
        return f"a {'whole' if self.whole else 'finite'} number from {_g(self.lo)} to {_g(self.hi)}"

    def read(self, raw: Any, path: tuple[str, ...], order=()) -> float | int:
        ok = isinstance(raw, (int, float)) and not isinstance(raw, bool) and math.isfinite(raw)
        ok = ok and self.lo <= raw <= self.hi and (not self.whole or float(raw).is_integer())
        if not ok:
            raise _Bad(path, f"expected {self.describe()}, got {raw!r}")
        return int(raw) if self.whole else float(raw)


@dataclass(frozen=True)
class Text:
    def describe(self, order=()) -> str:
        return "a non-empty string"

    def read(self, raw: Any, path: tuple[str, ...], order=()) -> str:
        if not isinstance(raw, str) or not raw.strip():
            raise _Bad(path, f"expected {self.describe()}, got {raw!r}")
        return raw


@dataclass(frozen=True)
class Names:
    """A list of names: language codes, coverage modes (``choices``) or segments of segments.order."""

    what: str  # "language codes" | "modes" | "segments"
    choices: tuple[str, ...] = ()
    nonempty: bool = True

    def _choices(self, order) -> tuple[str, ...]:
        return tuple(order) if self.what == "segments" else self.choices

    def describe(self, order=()) -> str:
        choices = self._choices(order)
        drawn = f" drawn from {list(choices)}" if choices else ""
        return f"a {'non-empty ' if self.nonempty else ''}list of {self.what}{drawn}"

    def read(self, raw: Any, path: tuple[str, ...], order=()) -> tuple[str, ...]:
        choices = self._choices(order)
        ok = isinstance(raw, list) and (raw or not self.nonempty) and all(isinstance(x, str) and x.strip() for x in raw)
        if ok and choices:
            for x in raw:
                if x not in choices:
                    best = _nearest(x, choices)
                    raise _Bad(
                        path,
                        f"expected {self.describe(order)}, got {x!r}" + (f"; did you mean {best!r}?" if best else ""),
                    )
        if not ok or len(set(raw)) != len(raw):
            raise _Bad(path, f"expected {self.describe(order)} (each once), got {raw!r}")
        return tuple(raw)


@dataclass(frozen=True)
class PerSegment:
    """A table with exactly one value per segment of segments.order."""

    rule: Any

    def describe(self, order=()) -> str:
        return f"a table with one value per segment ({', '.join(order)})"

    def read(self, raw: Any, path: tuple[str, ...], order=()) -> dict:
        table = _table(raw, path)
        for key in table:
            if key not in order:
                raise _unknown(path, key, order, "segment (the segments are those of [segments] order)")
        missing = [s for s in order if s not in table]
        if missing:
            raise _Bad(path, f"expected a value for every segment of [segments] order, missing {missing}")
        return {s: self.rule.read(table[s], (*path, s), order) for s in order}


@dataclass(frozen=True)
class SomeSegments(PerSegment):
    """A table with a value for some segments of segments.order (a reference, e.g. the usual accounts per CSM)."""

    def describe(self, order=()) -> str:
        return f"a table with a value for any of the segments ({', '.join(order)})"

    def read(self, raw: Any, path: tuple[str, ...], order=()) -> dict:
        table = _table(raw, path)
        for key in table:
            if key not in order:
                raise _unknown(path, key, order, "segment (the segments are those of [segments] order)")
        return {s: self.rule.read(table[s], (*path, s), order) for s in order if s in table}


@dataclass(frozen=True)
class Uplift:
    """risk.churn_uplift: segment -> mode -> share of ARR; any segment and mode may be left out."""

    def describe(self, order=()) -> str:
        return "a table of segment tables, each mapping a mode to a share of ARR"

    def read(self, raw: Any, path: tuple[str, ...], order=()) -> dict:
        out: dict[str, dict[str, float]] = {}
        for seg, modes in _table(raw, path).items():
            if seg not in order:
                raise _unknown(path, seg, order, "segment (the segments are those of [segments] order)")
            out[seg] = {}
            for mode, v in _table(modes, (*path, seg)).items():
                if mode not in MODES:
                    raise _unknown((*path, seg), mode, MODES, "mode")
                out[seg][mode] = Number(0, 1).read(v, (*path, seg, mode))
        return out


@dataclass(frozen=True)
class AnyKey:
    """A table whose keys are the user's own (region names), each value read by ``rule``."""

    rule: Any

    def describe(self, order=()) -> str:
        return f"a table of {self.rule.describe()}"

    def read(self, raw: Any, path: tuple[str, ...], order=()) -> dict:
        return {str(k): self.rule.read(v, (*path, str(k))) for k, v in _table(raw, path).items()}


@dataclass(frozen=True)
class Weights:
    """The [knowledge] table: any of planner.team.knowledge.KnowledgeWeights' fields."""

    def describe(self, order=()) -> str:
        return "a table of knowledge weights"

    def read(self, raw: Any, path: tuple[str, ...], order=()) -> dict:
        from planner.team.knowledge import KnowledgeWeights, weight_problem

        names = [f.name for f in fields(KnowledgeWeights)]
        table = _table(raw, path)
        for key, value in table.items():
            if key not in names:
                raise _unknown(path, key, names)
            problem = weight_problem(key, value)
            if problem:
                raise _Bad((*path, key), f"{problem}, got {value!r}")
        return dict(table)


@dataclass(frozen=True)
class OneOf:
    """One of a few words (e.g. how a pool is billed)."""

    choices: tuple[str, ...]

    def describe(self, order=()) -> str:
        return "one of " + ", ".join(repr(c) for c in self.choices)

    def read(self, raw: Any, path: tuple[str, ...], order=()) -> str:
        if raw not in self.choices:
            best = _nearest(raw, self.choices) if isinstance(raw, str) else None
            raise _Bad(path, f"expected {self.describe()}, got {raw!r}" + (f"; did you mean {best!r}?" if best else ""))
        return raw


@dataclass(frozen=True)
class Rising:
    """A non-empty list of numbers, each from lo to hi, none below the one before (prices that rise: convex costs)."""

    lo: float
    hi: float

    def describe(self, order=()) -> str:
        return f"a non-empty list of numbers from {_g(self.lo)} to {_g(self.hi)}, each at least the one before"

    def read(self, raw: Any, path: tuple[str, ...], order=()) -> tuple[float, ...]:
        if not isinstance(raw, list) or not raw:
            raise _Bad(path, f"expected {self.describe()}, got {raw!r}")
        values = tuple(Number(self.lo, self.hi).read(x, path) for x in raw)
        if any(b < a for a, b in zip(values, values[1:], strict=False)):
            raise _Bad(path, f"expected {self.describe()} (a rising price keeps the cost convex), got {raw!r}")
        return values


@dataclass(frozen=True)
class Range:
    """[low, high], two numbers from lo to hi with low <= high."""

    lo: float
    hi: float

    def describe(self, order=()) -> str:
        return f"[low, high], two numbers from {_g(self.lo)} to {_g(self.hi)} with low <= high"

    def read(self, raw: Any, path: tuple[str, ...], order=()) -> tuple[float, float]:
        if not isinstance(raw, list) or len(raw) != 2:
            raise _Bad(path, f"expected {self.describe()}, got {raw!r}")
        low, high = (Number(self.lo, self.hi).read(x, path) for x in raw)
        if low > high:
            raise _Bad(path, f"expected {self.describe()}, got {raw!r}")
        return low, high


@dataclass(frozen=True)
class Optional_:
    """A key that may be left out (then ``default``)."""

    rule: Any
    default: Any


_MONEY = Number(0, MONEY_MAX)
_HOURS = Number(0, HOURS_MAX)
_MULT = Number(0, MULT_MAX)
_SHARE = Number(0, 1)
_LANGS = Names("language codes")

SCHEMA: dict[str, Any] = {
    "segments": {
        "order": Names("segment names"),  # read first: the per-segment tables need it
        "arr_thresholds": PerSegment(_MONEY),
        "modes": PerSegment(Names("modes", MODES)),
    },
    "workload": {
        "base_hours": PerSegment(_HOURS),
        "complexity_mult": {str(k): _MULT for k in range(1, 6)},
        "stage_mult": {s: _MULT for s in STAGES},
        "low_health_below": Number(0, 100),
        "low_health_mult": _MULT,
        "pool_efficiency": _MULT,
    },
    "csm": {
        "default_capacity_hours": _HOURS,
        "default_max_accounts": Number(0, COUNT_MAX, whole=True),
        "default_max_arr": _MONEY,
        "default_annual_cost": _MONEY,
        "default_languages": _LANGS,
        "max_utilization": Number(0, 2),
    },
    "pool": {
        "hours_per_fte": _HOURS,
        "default_hourly_cost": _MONEY,
        "default_languages": _LANGS,
        "billing": OneOf(("fixed", "hourly")),
    },
    "balance": {"band": Range(0, 2), "idle_weight": _MULT, "over_weights": Rising(0, MULT_MAX)},
    "commitments": {"over_cap_hour_weight": _MULT, "over_cap_arr_share": _SHARE, "over_cap_account_cost": _MONEY},
    "report": {"accounts_per_csm": SomeSegments(Range(0, COUNT_MAX)), "arr_per_csm": _MONEY},
    "digital": {"owner_id": Optional_(Text(), "digital"), "cost_per_account": _MONEY},
    "risk": Optional_({"churn_uplift": Optional_(Uplift(), {})}, {"churn_uplift": {}}),
    "disruption": {"arr_share": _SHARE, "handoff_hours": PerSegment(_HOURS)},
    "continuity": {"freeze_days": Number(0, DAYS_MAX, whole=True), "max_changed_arr_share": Optional_(_SHARE, 1.0)},
    "timezone": {
        "max_gap_hours": PerSegment(Number(0, 24)),
        "free_gap_hours": Number(0, 24),
        "cost_per_gap_hour": _MONEY,
    },
    "region": {
        "csm_must_match": Names("segments", nonempty=False),
        "mismatch_cost": _MONEY,
        "default_utc_offset": Optional_(AnyKey(Number(-12, 14)), {}),
    },
    "handoff": {
        "cold_threshold": _SHARE,
        "cold_penalty_arr_share": _SHARE,
        "knowledge_gap_arr_share": _SHARE,
        "overflow_churn_uplift": _SHARE,
    },
    "knowledge": Optional_(Weights(), {}),
}
# The tables keyed by segment: a user's own segments.order replaces the default's keys in them.
SEGMENT_TABLES = ("segments.arr_thresholds", "segments.modes", "workload.base_hours", "disruption.handoff_hours",
                  "timezone.max_gap_hours", "risk.churn_uplift", "report.accounts_per_csm")  # fmt: skip


def _describe(rule: Any, order) -> str:
    return "a table" if isinstance(rule, dict) else rule.describe(order)


def _read(rule: Any, raw: Any, path: tuple[str, ...], order: tuple[str, ...]) -> Any:
    """``raw`` checked against ``rule`` (a dict = a table with exactly these keys), as plain values."""
    if not isinstance(rule, dict):
        return rule.read(raw, path, order)
    table = _table(raw, path) if path else raw
    for key in table:
        if key not in rule:
            raise _unknown(path, key, rule, raw=table[key])
    out = {}
    for key, sub in rule.items():
        optional = isinstance(sub, Optional_)
        inner = sub.rule if optional else sub
        if key in table:
            out[key] = _read(inner, table[key], (*path, key), order)
        elif optional:
            out[key] = sub.default
        else:
            raise _Bad((*path, key), f"missing; expected {_describe(inner, order)}")
    return out


def _merge(base: dict, over: Mapping, path: str = "") -> dict:
    out = dict(base)
    for key, value in over.items():
        where = f"{path}.{key}" if path else key
        if isinstance(value, Mapping) and isinstance(base.get(key), Mapping):
            out[key] = _merge(base[key], value, where)
        else:
            out[key] = value
    return out


def _keep_segments(base: dict, order: Any) -> dict:
    """The default policy with its per-segment tables cut to the segments of ``order``.

    A user who defines their own segments gives every per-segment table for
    them; the default's enterprise / mid_market / smb entries would otherwise
    stay in the merged tables as unknown segments.
    """
    if not isinstance(order, list) or not all(isinstance(s, str) for s in order):
        return base  # policy_from_dict reports the bad order
    out = json.loads(json.dumps(base))
    for dotted in SEGMENT_TABLES:
        *parents, last = dotted.split(".")
        table = out
        for key in parents:
            table = table.get(key, {}) if isinstance(table, dict) else {}
        if isinstance(table, dict) and isinstance(table.get(last), dict):
            table[last] = {s: v for s, v in table[last].items() if s in order}
    return out


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
    pool_billing: str  # "fixed": a salaried team (its hours are capacity, not spend) | "hourly": billed per hour used
    balance_band: tuple[float, float]  # target utilization of an active CSM, as shares of capacity_hours
    balance_idle_weight: float  # x the CSM's hourly cost, per idle hour a month below the band, a year
    balance_over_weights: tuple[float, ...]  # x the hourly cost per hour above the band, in equal steps up to the cap
    over_cap_hour_weight: float  # x the hourly cost per hour that kept commitments put over an hours cap
    over_cap_arr_share: float  # share of each $ of ARR that kept commitments put over an ARR cap
    over_cap_account_cost: float  # per account that kept commitments put over an account cap, a year
    report_accounts_per_csm: dict[str, tuple[float, float]]  # the usual band of accounts per CSM, by segment
    report_arr_per_csm: float  # the usual ARR per CSM
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

    @property
    def reference_csm_rate(self) -> float:
        """The hourly cost of the policy's default CSM: what balance prices a CSM hour at, the same for everyone."""
        hours = self.csm_default_capacity_hours
        return self.csm_default_annual_cost / (12.0 * hours) if hours > 0 else 0.0

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
    """The default policy, with `path` (a TOML file) merged over it when given.

    Every key of the file must be one the schema knows (:data:`SCHEMA`) and
    every value usable by the model, else a PolicyError names the file, the
    key and what was expected (the nearest valid key for a typo).
    """
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
        except OSError as exc:  # a folder, no permission
            raise PolicyError(f"{p}: expected a readable policy TOML file ({exc.strerror or exc})") from None
        order = over.get("segments", {}).get("order") if isinstance(over.get("segments"), Mapping) else None
        if order is not None:
            base = _keep_segments(base, order)
        base = _merge(base, over)
        source = str(p)
    return policy_from_dict(base, source)


def policy_from_dict(d: Mapping, source: str = "dict") -> Policy:
    """The Policy of a complete policy table (the default merged with a user's file); PolicyError if unusable."""
    try:
        v = _values(d)
    except _Bad as exc:
        raise PolicyError(f"policy {source}: {exc}") from None
    seg, wl, csm, pool, dig = v["segments"], v["workload"], v["csm"], v["pool"], v["digital"]
    if v["balance"]["band"][1] > csm["max_utilization"]:
        raise PolicyError(
            f"policy {source}: [balance] band: expected its high end at most [csm] max_utilization "
            f"({_g(csm['max_utilization'])}, the hard cap), got {_g(v['balance']['band'][1])}"
        )
    dis, cont, tz, reg, hand = v["disruption"], v["continuity"], v["timezone"], v["region"], v["handoff"]
    return Policy(
        segments=seg["order"],
        arr_thresholds=seg["arr_thresholds"],
        modes=seg["modes"],
        base_hours=wl["base_hours"],
        complexity_mult={int(k): x for k, x in wl["complexity_mult"].items()},
        stage_mult=wl["stage_mult"],
        low_health_below=wl["low_health_below"],
        low_health_mult=wl["low_health_mult"],
        pool_efficiency=wl["pool_efficiency"],
        csm_default_capacity_hours=csm["default_capacity_hours"],
        csm_default_max_accounts=csm["default_max_accounts"],
        csm_default_max_arr=csm["default_max_arr"],
        csm_default_annual_cost=csm["default_annual_cost"],
        csm_default_languages=tuple(x.strip().lower() for x in csm["default_languages"]),
        csm_max_utilization=csm["max_utilization"],
        pool_hours_per_fte=pool["hours_per_fte"],
        pool_default_hourly_cost=pool["default_hourly_cost"],
        pool_default_languages=tuple(x.strip().lower() for x in pool["default_languages"]),
        pool_billing=pool["billing"],
        balance_band=v["balance"]["band"],
        balance_idle_weight=v["balance"]["idle_weight"],
        balance_over_weights=v["balance"]["over_weights"],
        over_cap_hour_weight=v["commitments"]["over_cap_hour_weight"],
        over_cap_arr_share=v["commitments"]["over_cap_arr_share"],
        over_cap_account_cost=v["commitments"]["over_cap_account_cost"],
        report_accounts_per_csm=v["report"]["accounts_per_csm"],
        report_arr_per_csm=v["report"]["arr_per_csm"],
        digital_owner_id=dig["owner_id"],
        digital_cost_per_account=dig["cost_per_account"],
        churn_uplift=v["risk"]["churn_uplift"],
        disruption_arr_share=dis["arr_share"],
        handoff_hours=dis["handoff_hours"],
        freeze_days=cont["freeze_days"],
        max_changed_arr_share=cont["max_changed_arr_share"],
        tz_max_gap_hours=tz["max_gap_hours"],
        tz_free_gap_hours=tz["free_gap_hours"],
        tz_cost_per_gap_hour=tz["cost_per_gap_hour"],
        region_csm_must_match=reg["csm_must_match"],
        region_mismatch_cost=reg["mismatch_cost"],
        region_default_utc_offset=reg["default_utc_offset"],
        handoff_cold_threshold=hand["cold_threshold"],
        handoff_cold_penalty_arr_share=hand["cold_penalty_arr_share"],
        handoff_knowledge_gap_arr_share=hand["knowledge_gap_arr_share"],
        handoff_overflow_churn_uplift=hand["overflow_churn_uplift"],
        raw=dict(d),
        source=source,
    )


def _values(d: Mapping) -> dict:
    """Every value of ``d`` checked against SCHEMA (segments.order first: the per-segment tables need it)."""
    if not isinstance(d, Mapping):
        raise _Bad((), f"expected a table of policy tables, got {d!r}")
    seg = d.get("segments")
    if not isinstance(seg, Mapping) or "order" not in seg:
        raise _Bad(("segments", "order"), "missing; expected a non-empty list of segment names")
    order = Names("segment names").read(seg["order"], ("segments", "order"))
    return _read(SCHEMA, d, (), order)

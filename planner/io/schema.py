"""The input column contract as data: one table of column specs.

Every column a book may have is listed once in :data:`TABLE_SPECS`, with its
kind (how its text is checked and parsed), whether it is required, and its
default. Validation (``validate.py``), normalization (``normalize.py``) and
the README's column reference all read this table, so the documented contract
and the code cannot drift apart.

A *required* column must be present and must not have blank cells. An
optional column may be absent or blank; blank cells take the column's default.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import pandas as pd

from planner.policy import STAGES, Policy

STATUSES = ("active", "leaving", "on_leave")
LIST_SEPARATOR = ";"

_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_LANGUAGE = re.compile(r"[A-Za-z]{2}")


# -- kinds: how a column's text is checked and parsed --------------------------


@dataclass(frozen=True)
class Check:
    """One element-wise test of a non-blank cell: the rule that fires and what it expected."""

    rule: str
    expected: str
    accepts: Callable[[str], bool]


@dataclass(frozen=True)
class Text:
    """Any text, kept as given."""

    dtype = "str"
    missing = ""

    def checks(self, policy: Policy) -> list[Check]:
        return []

    def parse(self, text: str) -> str:
        return text

    def describe(self, policy: Policy) -> str:
        return "text"


def parse_number(text: str) -> float | None:
    """The number a cell holds, or None. Stricter than float(): no 'nan', 'inf' or '1_000'."""
    if not _NUMBER.fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class Number:
    """A decimal number in [lo, hi] (lo excluded when lo_open); whole numbers when integer."""

    lo: float = -math.inf
    hi: float = math.inf
    lo_open: bool = False
    integer: bool = False

    missing = math.nan

    @property
    def dtype(self) -> str:
        return "int64" if self.integer else "float64"

    def _noun(self) -> str:
        return "a whole number" if self.integer else "a number"

    def _bounds(self) -> str:
        if math.isfinite(self.lo) and math.isfinite(self.hi) and not self.lo_open:
            return f"from {self.lo:g} to {self.hi:g}"
        parts = []
        if math.isfinite(self.lo):
            parts.append(f"{'>' if self.lo_open else '>='} {self.lo:g}")
        if math.isfinite(self.hi):
            parts.append(f"<= {self.hi:g}")
        return " and ".join(parts)

    def _parses(self, text: str) -> bool:
        value = parse_number(text)
        return value is not None and (not self.integer or value.is_integer())

    def _in_range(self, text: str) -> bool:
        """True for numbers in range; text that is no number is the parse check's finding."""
        value = parse_number(text)
        if value is None:
            return True
        above = value > self.lo if self.lo_open else value >= self.lo
        return above and value <= self.hi

    def checks(self, policy: Policy) -> list[Check]:
        rule = "not_an_integer" if self.integer else "not_a_number"
        out = [Check(rule, f"Expected {self._noun()}", self._parses)]
        if self._bounds():
            out.append(Check("out_of_range", f"Expected {self.describe(policy)}", self._in_range))
        return out

    def parse(self, text: str) -> float | int:
        value = float(text)
        return int(value) if self.integer else value

    def describe(self, policy: Policy) -> str:
        bounds = self._bounds()
        return f"{self._noun()} {bounds}" if bounds else self._noun()


def parse_date(text: str) -> dt.date | None:
    """The date an ISO 'YYYY-MM-DD' cell holds, or None (also for impossible dates like 2025-02-30)."""
    if not _ISO_DATE.fullmatch(text):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


@dataclass(frozen=True)
class Date:
    """An ISO calendar date."""

    dtype = "datetime64[ns]"
    missing = pd.NaT

    def checks(self, policy: Policy) -> list[Check]:
        return [Check("malformed_date", f"Expected {self.describe(policy)}", lambda t: parse_date(t) is not None)]

    def parse(self, text: str) -> pd.Timestamp:
        return pd.Timestamp(parse_date(text))

    def describe(self, policy: Policy) -> str:
        return "an ISO date YYYY-MM-DD (e.g. 2026-03-31)"


@dataclass(frozen=True)
class Choice:
    """One of a fixed vocabulary, matched case-insensitively and stored in lower case."""

    rule: str
    values: Callable[[Policy], Sequence[str]]

    dtype = "str"
    missing = ""

    def checks(self, policy: Policy) -> list[Check]:
        allowed = set(self.values(policy))
        return [Check(self.rule, f"Expected {self.describe(policy)}", lambda t: t.lower() in allowed)]

    def parse(self, text: str) -> str:
        return text.lower()

    def describe(self, policy: Policy) -> str:
        return "one of " + ", ".join(self.values(policy))


@dataclass(frozen=True)
class Language:
    """An ISO 639-1 two-letter language code, stored in lower case."""

    dtype = "str"
    missing = ""
    rule = "bad_language_code"

    def checks(self, policy: Policy) -> list[Check]:
        return [Check(self.rule, f"Expected {self.describe(policy)}", lambda t: bool(_LANGUAGE.fullmatch(t)))]

    def parse(self, text: str) -> str:
        return text.lower()

    def describe(self, policy: Policy) -> str:
        return "a two-letter ISO 639-1 language code such as 'en'"


def split_list(text: str) -> list[str]:
    """The items of a ';'-separated cell, stripped, blanks dropped ('en; de;' -> ['en', 'de'])."""
    return [item.strip() for item in text.split(LIST_SEPARATOR) if item.strip()]


@dataclass(frozen=True)
class ListOf:
    """A ';'-separated list whose every item is of kind `item`; stored as a tuple without repeats."""

    item: Any  # Text | Choice | Language

    dtype = "object"
    missing = ()

    def checks(self, policy: Policy) -> list[Check]:
        def each(check: Check) -> Check:
            accepts = check.accepts
            return Check(check.rule, f"Expected {self.describe(policy)}", lambda t: all(map(accepts, split_list(t))))

        return [each(c) for c in self.item.checks(policy)]

    def parse(self, text: str) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.item.parse(i) for i in split_list(text)))

    def describe(self, policy: Policy) -> str:
        return f"a '{LIST_SEPARATOR}'-separated list, each {self.item.describe(policy)}"


# -- defaults: what a blank cell becomes -----------------------------------------


@dataclass(frozen=True)
class Blank:
    """No default: a blank cell stays blank (NaN, '', NaT or an empty tuple)."""

    def describe(self) -> str:
        return "none"


@dataclass(frozen=True)
class Const:
    """A fixed default, written as the text a user would type."""

    text: str

    def describe(self) -> str:
        return self.text


@dataclass(frozen=True)
class PolicyValue:
    """A default taken from the policy: `attr` on Policy, `key` in the TOML file."""

    attr: str
    key: str

    def describe(self) -> str:
        return f"policy {self.key}"


@dataclass(frozen=True)
class Derived:
    """A default computed from other columns by a named rule in normalize.py."""

    how: str

    def describe(self) -> str:
        return self.how


# -- the spec table ------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    kind: Any  # Text | Number | Date | Choice | Language | ListOf
    required: bool = False
    default: Any = Blank()  # Blank | Const | PolicyValue | Derived
    blank_rule: str = "missing_value"  # rule and message for a blank cell in a required column
    blank_expected: str = "Expected a value in this required column"
    doc: str = ""


@dataclass(frozen=True)
class TableSpec:
    name: str
    required: bool
    noun: str  # one record, for messages ("Expected at least one account")
    id_column: str
    columns: tuple[ColumnSpec, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _policy_segments(policy: Policy) -> Sequence[str]:
    return policy.segments


TEXT = Text()
UTC_OFFSET = Number(-12, 14)
NON_NEGATIVE = Number(0)
SEGMENT = Choice("unknown_segment", _policy_segments)
LANGUAGES = ListOf(Language())
SEGMENTS = ListOf(SEGMENT)

TABLE_SPECS: dict[str, TableSpec] = {
    t.name: t
    for t in (
        TableSpec("accounts", True, "account", "account_id", (
            ColumnSpec("account_id", TEXT, required=True, doc="unique id"),
            ColumnSpec("account_name", TEXT),
            ColumnSpec("arr", NON_NEGATIVE, required=True, doc="annual recurring revenue"),
            ColumnSpec("segment", SEGMENT, default=Derived("from arr via the policy's [segments.arr_thresholds]")),
            ColumnSpec("complexity", Number(1, 5, integer=True), default=Const("3")),
            ColumnSpec("region", TEXT, required=True, doc="NA, EMEA, APAC, LATAM or any other name"),
            ColumnSpec("utc_offset", UTC_OFFSET, doc="hours"),
            ColumnSpec("language", Language(), default=Const("en")),
            ColumnSpec("health", Number(0, 100)),
            ColumnSpec("renewal_date", Date()),
            ColumnSpec("lifecycle_stage", Choice("unknown_lifecycle_stage", lambda p: STAGES)),
            ColumnSpec("current_owner", TEXT, doc="a csm_id, pool_id or the digital owner id; blank = new account"),
            ColumnSpec("crm_id", TEXT),
            ColumnSpec("pin_owner", TEXT, doc="a csm_id, pool_id or the digital owner id the plan must keep"),
        )),
        TableSpec("csms", True, "CSM", "csm_id", (
            ColumnSpec("csm_id", TEXT, required=True, doc="unique across CSMs, pools and the digital owner"),
            ColumnSpec("name", TEXT),
            ColumnSpec("email", TEXT),
            ColumnSpec("location", TEXT, doc="a location in locations (for cost_index and utc_offset)"),
            ColumnSpec("region", TEXT, required=True),
            ColumnSpec("utc_offset", UTC_OFFSET,
                       default=Derived("the location's utc_offset, else the policy's [region] default_utc_offset")),
            ColumnSpec("languages", LANGUAGES, default=PolicyValue("csm_default_languages", "csm.default_languages")),
            ColumnSpec("segments", SEGMENTS, default=PolicyValue("segments", "segments.order"), doc="blank = all"),
            ColumnSpec("capacity_hours", NON_NEGATIVE,
                       default=PolicyValue("csm_default_capacity_hours", "csm.default_capacity_hours"),
                       doc="account-facing hours a month"),
            ColumnSpec("max_accounts", Number(0, integer=True),
                       default=PolicyValue("csm_default_max_accounts", "csm.default_max_accounts")),
            ColumnSpec("max_arr", NON_NEGATIVE, default=PolicyValue("csm_default_max_arr", "csm.default_max_arr")),
            ColumnSpec("annual_cost", NON_NEGATIVE,
                       default=Derived("policy csm.default_annual_cost x the location's cost_index")),
            ColumnSpec("status", Choice("unknown_status", lambda p: STATUSES), default=Const("active")),
            ColumnSpec("return_date", Date()),
            ColumnSpec("crm_user_id", TEXT),
        )),
        TableSpec("pools", False, "pool", "pool_id", (
            ColumnSpec("pool_id", TEXT, required=True, doc="unique across CSMs, pools and the digital owner"),
            ColumnSpec("name", TEXT),
            ColumnSpec("location", TEXT),
            ColumnSpec("regions", ListOf(TEXT), doc="blank = all regions"),
            ColumnSpec("languages", LANGUAGES, default=PolicyValue("pool_default_languages", "pool.default_languages")),
            ColumnSpec("segments", SEGMENTS, required=True, blank_rule="pool_without_segments",
                       blank_expected="Expected at least one segment the pool serves (e.g. smb;mid_market)"),
            ColumnSpec("fte", NON_NEGATIVE),
            ColumnSpec("capacity_hours", NON_NEGATIVE,
                       default=Derived("fte x policy pool.hours_per_fte (fte and capacity_hours both blank is an error)"),
                       doc="total hours a month"),
            ColumnSpec("hourly_cost", NON_NEGATIVE,
                       default=Derived("policy pool.default_hourly_cost x the location's cost_index")),
            ColumnSpec("efficiency", Number(0, lo_open=True),
                       default=PolicyValue("pool_efficiency", "workload.pool_efficiency")),
            ColumnSpec("crm_user_id", TEXT),
        )),
        TableSpec("locations", False, "location", "location", (
            ColumnSpec("location", TEXT, required=True),
            ColumnSpec("region", TEXT),
            ColumnSpec("utc_offset", UTC_OFFSET),
            ColumnSpec("cost_index", Number(0, lo_open=True), default=Const("1.0")),
        )),
        TableSpec("relationships", False, "relationship", "", (
            ColumnSpec("source", TEXT, required=True),
            ColumnSpec("target", TEXT, required=True),
            ColumnSpec("kind", TEXT),
            ColumnSpec("strength", Number(0, 1), default=Const("1")),
        )),
    )
}

# Columns normalize adds (not user input): table -> (name, dtype, placed after).
DERIVED_COLUMNS = {"accounts": (("segment_derived", "bool", "segment"),)}


def reference_rows(policy: Policy) -> list[dict[str, str]]:
    """The column reference as plain rows (table, column, required, accepts, default) for the README."""
    return [
        {
            "table": t.name,
            "column": c.name,
            "required": "yes" if c.required else "no",
            "accepts": c.kind.describe(policy),
            "default": "-" if c.required else c.default.describe(),
            "notes": c.doc,
        }
        for t in TABLE_SPECS.values()
        for c in t.columns
    ]


def canonical_columns(table: str) -> list[tuple[str, str]]:
    """The canonical (column, dtype) pairs of a table, in contract order, before any extras."""
    out = []
    for c in TABLE_SPECS[table].columns:
        out.append((c.name, c.kind.dtype))
        out.extend((name, dtype) for name, dtype, after in DERIVED_COLUMNS.get(table, ()) if after == c.name)
    return out


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
import difflib
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from planner.policy import STAGES, Policy

STATUSES = ("active", "leaving", "on_leave")
LIST_SEPARATOR = ";"

_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_LANGUAGE = re.compile(r"[A-Za-z]{2}")

# Every cell of a column the planner reads holds at most this many characters:
# Excel's own limit for one cell, so any book a spreadsheet can show fits.
MAX_CELL_CHARS = 32_767
# Control characters (C0, DEL and C1) other than tab: a NUL, a stray line break
# or an escape code in a name or id is an export accident, never data.
CONTROL_PATTERN = r"[\x00-\x08\x0a-\x1f\x7f-\x9f]"
_CONTROL = re.compile(CONTROL_PATTERN)
_LINE_BREAK = re.compile(r"\r\n|[\r\n]")
_CONTROL_NAMES = {"\x00": "NUL", "\n": "a line break", "\r": "a carriage return", "\x1b": "ESC", "\x7f": "DEL"}


def control_characters(text: str) -> list[str]:
    """The control characters (other than tab) in `text`, each once, in order of appearance."""
    return list(dict.fromkeys(_CONTROL.findall(text)))


def control_name(char: str) -> str:
    """How a message names a control character: NUL, a line break, or its code point (U+0007)."""
    return _CONTROL_NAMES.get(char, f"U+{ord(char):04X}")


def clean_text(text: str) -> str:
    """`text` without control characters: a line break becomes one space, any other one is dropped."""
    if not _CONTROL.search(text):
        return text
    return _CONTROL.sub("", _LINE_BREAK.sub(" ", text))


# -- near-miss names: which documented name a misspelt one probably means ----------

NEAR_MISS_CUTOFF = 0.8  # difflib ratio on normalized names; 'pin_ownr' ~ 'pin_owner' is 0.94


def name_key(name: str) -> str:
    """A name as compared for near misses: lower case, spaces/hyphens/dots as '_', no plural 's'.

    'Pin Owner', 'pin-owner' and 'PIN_OWNER' all give 'pin_owner'; 'relationship'
    and 'relationships' both give 'relationship'.
    """
    key = re.sub(r"[\s\-.]+", "_", name.strip().lower())
    key = re.sub(r"_+", "_", key).strip("_")
    return key[:-1] if key.endswith("s") and len(key) > 3 else key


def probable_name(given: str, known: Sequence[str], aliases: Mapping[str, str] | None = None) -> str | None:
    """The one name in `known` that `given` probably means, or None when no name is close.

    A name that differs only in case, separators or a plural 's' matches outright;
    so does a CRM's name for the column (`aliases`, e.g. CRM_ALIASES['accounts']:
    'OwnerId' -> current_owner, compared by name_key); otherwise the closest
    name with a difflib ratio of at least NEAR_MISS_CUTOFF. `given` itself
    being in `known` is no near miss (None).
    """
    if given in known:
        return None
    keys = {name_key(k): k for k in reversed(known)}  # the first of names with one key wins
    key = name_key(given)
    if key in keys:
        return keys[key]
    if aliases:
        alias = {name_key(a): target for a, target in aliases.items()}.get(key)
        if alias is not None and alias in known:
            return alias
    close = difflib.get_close_matches(key, list(keys), n=1, cutoff=NEAR_MISS_CUTOFF)
    return keys[close[0]] if close else None


# What CRMs call the planner's columns (their export headers and API names): a column
# of these names that no map reads is a near miss of the planner's column, so it is
# never carried silently as text (planner.io.validate near_miss_columns names the
# map line that would read it). Compared by name_key: 'Owner.Email', 'Owner Email'
# and 'owner_email' are one alias.
CRM_ALIASES: dict[str, dict[str, str]] = {
    "accounts": {
        **dict.fromkeys(("Id", "Account ID", "AccountId", "Record ID", "GSID", "Company ID"), "account_id"),
        **dict.fromkeys(("Name", "Account Name", "Company name", "Company"), "account_name"),
        **dict.fromkeys(
            ("AnnualRevenue", "Annual Revenue", "Annual Recurring Revenue", "ARR__c", "Annual_Recurring_Revenue__c"),
            "arr",
        ),
        **dict.fromkeys(
            (
                "OwnerId", "Owner", "Owner ID", "Owner Email", "Owner.Email", "Owner.Name", "Account Owner",
                "Company owner", "hubspot_owner_id", "HubSpot Owner", "CSM", "CSM Email", "CSM Name", "CSM__c",
                "CSM_Email__c", "Customer Success Manager", "Customer_Success_Manager__c", "Account Manager",
            ),
            "current_owner",
        ),
        **dict.fromkeys(
            ("Renewal Date", "RenewalDate", "Renewal_Date__c", "Next Renewal Date", "Contract End Date"), "renewal_date"
        ),
        **dict.fromkeys(
            ("Health Score", "HealthScore", "Health_Score__c", "Current Score", "Overall Score", "Customer Health"),
            "health",
        ),
        **dict.fromkeys(("Stage", "Lifecycle Stage", "lifecyclestage", "Customer Stage", "Lifecycle"), "lifecycle_stage"),
        **dict.fromkeys(("Segment", "Customer Segment", "Tier", "Customer Tier", "Segment__c"), "segment"),
        **dict.fromkeys(("Sales Region", "Region__c", "Territory"), "region"),
        **dict.fromkeys(("UTC Offset", "GMT Offset"), "utc_offset"),
        **dict.fromkeys(("Preferred Language", "Language__c"), "language"),
        **dict.fromkeys(
            ("Salesforce ID", "SFDC Account ID", "Sfdc Account Id", "Salesforce Account ID", "SfdcAccountId"), "crm_id"
        ),
    },
    "csms": {
        **dict.fromkeys(("Id", "UserId", "GSID", "Owner ID"), "csm_id"),
        **dict.fromkeys(("Full Name", "User Name", "Owner Name"), "name"),
        **dict.fromkeys(("Email Address", "E-mail", "User Email"), "email"),
        **dict.fromkeys(("User ID", "Salesforce User ID", "SFDC User ID", "SfdcUserId"), "crm_user_id"),
        **dict.fromkeys(("Capacity", "Monthly Hours", "Hours"), "capacity_hours"),
        **dict.fromkeys(("Sales Region", "Territory"), "region"),
    },
}  # fmt: skip

# CRM columns that the planner reads only through `planner import`, which derives the
# region, UTC offset and language from them (a country, a time zone name, a locale
# key): in a book they are extras, and a note says where they would count.
IMPORT_ONLY: dict[str, tuple[str, ...]] = {
    "accounts": ("BillingCountry", "BillingState", "Country", "Country/Region", "State/Region", "Time Zone"),
    "csms": ("TimeZoneSidKey", "LanguageLocaleKey", "LocaleSidKey", "Time Zone", "Timezone", "Country"),
}


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
        return clean_text(text)

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
    """A decimal number in [lo, hi] (lo excluded when lo_open); whole numbers when integer.

    Every column has a finite `hi`, a documented maximum: the largest value that
    still means something and that the solver's floating-point numerics carry
    exactly. `why` says where the maximum comes from, for the out-of-range message.
    """

    lo: float = -math.inf
    hi: float = math.inf
    lo_open: bool = False
    integer: bool = False
    why: str = ""

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

    def _above_lo(self, text: str) -> bool:
        """True for numbers not below lo; text that is no number is the parse check's finding."""
        value = parse_number(text)
        return value is None or (value > self.lo if self.lo_open else value >= self.lo)

    def _below_hi(self, text: str) -> bool:
        value = parse_number(text)
        return value is None or value <= self.hi

    def _in_range(self, text: str) -> bool:
        return self._above_lo(text) and self._below_hi(text)

    def checks(self, policy: Policy) -> list[Check]:
        rule = "not_an_integer" if self.integer else "not_a_number"
        out = [Check(rule, f"Expected {self._noun()}", self._parses)]
        if not self._bounds():
            return out
        if not self.why:
            return out + [Check("out_of_range", f"Expected {self.describe(policy)}", self._in_range)]
        # A documented maximum is named (with where it comes from) only to a value above it.
        if math.isfinite(self.lo):
            lower = f"Expected {self._noun()} {'>' if self.lo_open else '>='} {self.lo:g}"
            out.append(Check("out_of_range", lower, self._above_lo))
        return out + [Check("out_of_range", f"Expected {self.describe(policy)} ({self.why})", self._below_hi)]

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


@dataclass(frozen=True)
class DigitalProgram:
    """The policy's digital owner id, exactly (the only program a plan knows: the digital-touch program)."""

    dtype = "str"
    missing = ""
    rule = "unknown_program"

    def checks(self, policy: Policy) -> list[Check]:
        return [Check(self.rule, f"Expected {self.describe(policy)}", lambda t: t == policy.digital_owner_id)]

    def parse(self, text: str) -> str:
        return clean_text(text)

    def describe(self, policy: Policy) -> str:
        return f"the digital owner id {policy.digital_owner_id!r} (policy digital.owner_id)"


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
    identifier: bool = False  # an id or a reference to one: a control character in it is an error


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
SEGMENT = Choice("unknown_segment", _policy_segments)
LANGUAGES = ListOf(Language())
SEGMENTS = ListOf(SEGMENT)
# Documented maxima (see Number): amounts stay far below 2**53 even summed over a
# large book, and hours, counts and costs stay within what a team can have.
MAX_ARR = 1e12
_MONEY = "the documented maximum; larger amounts are beyond what the solver's numerics carry exactly"
ARR = Number(0, MAX_ARR, why=_MONEY)
CSM_HOURS = Number(0, 744, why="the hours in a 31-day month")
POOL_HOURS = Number(0, 1e6, why="the documented maximum for a pool's total hours a month")
FTE = Number(0, 1e4, why="the documented maximum")
MAX_ACCOUNTS = Number(0, 1e6, integer=True, why="the documented maximum")
ANNUAL_COST = Number(0, 1e8, why=_MONEY)
HOURLY_COST = Number(0, 1e5, why=_MONEY)
EFFICIENCY = Number(0, 10, lo_open=True, why="the documented maximum")
COST_INDEX = Number(0, 100, lo_open=True, why="the documented maximum")


def _id(name: str, **kw: Any) -> ColumnSpec:
    """A text column holding an id or a reference to one."""
    return ColumnSpec(name, TEXT, identifier=True, **kw)


TABLE_SPECS: dict[str, TableSpec] = {
    t.name: t
    for t in (
        TableSpec(
            "accounts",
            True,
            "account",
            "account_id",
            (
                _id("account_id", required=True, doc="unique id"),
                ColumnSpec("account_name", TEXT),
                ColumnSpec("arr", ARR, required=True, doc="annual recurring revenue"),
                ColumnSpec("segment", SEGMENT, default=Derived("from arr via the policy's [segments.arr_thresholds]")),
                ColumnSpec("complexity", Number(1, 5, integer=True), default=Const("3")),
                ColumnSpec("region", TEXT, required=True, doc="NA, EMEA, APAC, LATAM or any other name"),
                ColumnSpec("utc_offset", UTC_OFFSET, doc="hours"),
                ColumnSpec("language", Language(), default=Const("en")),
                ColumnSpec("health", Number(0, 100)),
                ColumnSpec("renewal_date", Date()),
                ColumnSpec("lifecycle_stage", Choice("unknown_lifecycle_stage", lambda p: STAGES)),
                _id("current_owner", doc="a csm_id, pool_id or the digital owner id; blank = new account"),
                _id("crm_id"),
                _id("pin_owner", doc="a csm_id, pool_id or the digital owner id the plan must keep"),
            ),
        ),
        TableSpec(
            "csms",
            True,
            "CSM",
            "csm_id",
            (
                _id("csm_id", required=True, doc="unique across CSMs, pools and the digital owner"),
                ColumnSpec("name", TEXT),
                ColumnSpec("email", TEXT),
                _id("location", doc="a location in locations (for cost_index and utc_offset)"),
                ColumnSpec("region", TEXT, required=True),
                ColumnSpec(
                    "utc_offset",
                    UTC_OFFSET,
                    default=Derived("the location's utc_offset, else the policy's [region] default_utc_offset"),
                ),
                ColumnSpec(
                    "languages", LANGUAGES, default=PolicyValue("csm_default_languages", "csm.default_languages")
                ),
                ColumnSpec("segments", SEGMENTS, default=PolicyValue("segments", "segments.order"), doc="blank = all"),
                ColumnSpec(
                    "capacity_hours",
                    CSM_HOURS,
                    default=PolicyValue("csm_default_capacity_hours", "csm.default_capacity_hours"),
                    doc="account-facing hours a month",
                ),
                ColumnSpec(
                    "max_accounts",
                    MAX_ACCOUNTS,
                    default=PolicyValue("csm_default_max_accounts", "csm.default_max_accounts"),
                ),
                ColumnSpec("max_arr", ARR, default=PolicyValue("csm_default_max_arr", "csm.default_max_arr")),
                ColumnSpec(
                    "annual_cost",
                    ANNUAL_COST,
                    default=Derived("policy csm.default_annual_cost x the location's cost_index"),
                ),
                ColumnSpec("status", Choice("unknown_status", lambda p: STATUSES), default=Const("active")),
                ColumnSpec("return_date", Date()),
                _id("crm_user_id"),
            ),
        ),
        TableSpec(
            "pools",
            False,
            "pool",
            "pool_id",
            (
                _id("pool_id", required=True, doc="unique across CSMs, pools and the digital owner"),
                ColumnSpec("name", TEXT),
                _id("location"),
                ColumnSpec("regions", ListOf(TEXT), doc="blank = all regions"),
                ColumnSpec(
                    "languages", LANGUAGES, default=PolicyValue("pool_default_languages", "pool.default_languages")
                ),
                ColumnSpec(
                    "segments",
                    SEGMENTS,
                    required=True,
                    blank_rule="pool_without_segments",
                    blank_expected="Expected at least one segment the pool serves (e.g. smb;mid_market)",
                ),
                ColumnSpec("fte", FTE),
                ColumnSpec(
                    "capacity_hours",
                    POOL_HOURS,
                    default=Derived("fte x policy pool.hours_per_fte (fte and capacity_hours both blank is an error)"),
                    doc="total hours a month",
                ),
                ColumnSpec(
                    "hourly_cost",
                    HOURLY_COST,
                    default=Derived("policy pool.default_hourly_cost x the location's cost_index"),
                ),
                ColumnSpec(
                    "efficiency", EFFICIENCY, default=PolicyValue("pool_efficiency", "workload.pool_efficiency")
                ),
                _id("crm_user_id", doc="the pool's CRM user (Salesforce User id) that owns its accounts"),
                ColumnSpec("email", TEXT, doc="the pool's user or team mailbox (Gainsight, HubSpot by email)"),
                _id("hubspot_owner_id", doc="HubSpot owner id (not the user id); else crm_user_id"),
            ),
        ),
        TableSpec(
            "programs",
            False,
            "program",
            "program_id",
            (
                ColumnSpec(
                    "program_id",
                    DigitalProgram(),
                    required=True,
                    identifier=True,
                    doc="one row: the CRM identity of the digital-touch program's accounts",
                ),
                ColumnSpec("name", TEXT),
                ColumnSpec("email", TEXT, doc="the program's user or team mailbox (Gainsight, HubSpot by email)"),
                _id("crm_user_id", doc="the CRM user (Salesforce User id) that owns digital accounts"),
                _id("hubspot_owner_id", doc="HubSpot owner id (not the user id); else crm_user_id"),
            ),
        ),
        TableSpec(
            "locations",
            False,
            "location",
            "location",
            (
                _id("location", required=True),
                ColumnSpec("region", TEXT),
                ColumnSpec("utc_offset", UTC_OFFSET),
                ColumnSpec("cost_index", COST_INDEX, default=Const("1.0")),
            ),
        ),
        TableSpec(
            "relationships",
            False,
            "relationship",
            "",
            (
                _id("source", required=True),
                _id("target", required=True),
                ColumnSpec("kind", TEXT),
                ColumnSpec("strength", Number(0, 1), default=Const("1")),
            ),
        ),
    )
}

# Columns a table may have that are read outside the specs (and kept as extras):
# a near miss of one of these is as much a lost column as one of a spec name.
READ_EXTRAS: dict[str, tuple[str, ...]] = {"relationships": ("since", "until")}

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

"""The book of business: one validated, immutable problem object.

``load_book(path)`` (planner.io) reads, validates and normalizes the input
tables into a :class:`Book`; everything downstream (models, evaluator,
writers) reads only the Book. The canonical columns below are a contract:
loaders fill every default, so downstream code never re-reads the policy's
fallbacks.

accounts  account_id str, account_name str, arr float >= 0,
          segment str (policy segment; filled from ARR when blank),
          segment_derived bool, complexity int 1..5, region str,
          utc_offset float (NaN = unknown), language str (lower case),
          health float 0..100 (NaN = unknown), renewal_date datetime64 (NaT),
          lifecycle_stage str ('' = unknown), current_owner str ('' = new;
          kept as given even when it names nobody on the roster),
          crm_id str, pin_owner str ('' = none; else a csm_id, pool_id or the
          digital owner id), then the user's extra columns as text.
csms      csm_id, name, email, location, region str; utc_offset float (given,
          else the location's, else the region default, else NaN);
          languages tuple[str]; segments tuple[str] (blank = all segments);
          capacity_hours float; max_accounts int; max_arr float;
          annual_cost float (given, else policy default x location cost_index);
          status str (active | leaving | on_leave); return_date datetime64;
          crm_user_id str; extras.
pools     pool_id, name, location str; regions tuple[str] (empty = all);
          languages tuple[str]; segments tuple[str] (non-empty);
          fte float (NaN); capacity_hours float (given, else fte x policy
          hours_per_fte); hourly_cost float (given, else policy default x
          cost_index); efficiency float (policy default when blank);
          crm_user_id, email, hubspot_owner_id str; extras.
programs  program_id (the policy's digital owner id), name, email,
          crm_user_id, hubspot_owner_id str: at most one row, the CRM
          identity of the digital program; extras.
locations location, region str; utc_offset float (NaN); cost_index float (1.0).
relationships source, target, kind str; strength float 0..1 (1.0); extras.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property

import pandas as pd

from planner.errors import Finding
from planner.policy import Policy

TABLES = ("accounts", "csms", "pools", "programs", "locations", "relationships")


@dataclass(frozen=True)
class Source:
    """Where a table came from: for summary.json's input hashes."""

    table: str
    path: str
    sha256: str
    rows: int


@dataclass(frozen=True, eq=False)
class Book:
    accounts: pd.DataFrame
    csms: pd.DataFrame
    pools: pd.DataFrame
    programs: pd.DataFrame
    locations: pd.DataFrame
    relationships: pd.DataFrame
    policy: Policy
    as_of: dt.date
    sources: tuple[Source, ...] = ()
    warnings: tuple[Finding, ...] = ()
    extra_columns: dict = field(default_factory=dict)  # table -> list of user's extra columns
    row_numbers: dict = field(default_factory=dict)  # table -> spreadsheet row number of each record
    name: str = "book"

    @cached_property
    def owner_ids(self) -> frozenset[str]:
        """Every id that may own an account: CSMs (any status), pools, digital."""
        return frozenset(self.csms["csm_id"]) | frozenset(self.pools["pool_id"]) | {self.policy.digital_owner_id}

    def owner_kind(self, owner_id: str) -> str | None:
        """'csm', 'pool', 'digital', or None for an id on no roster."""
        if owner_id == self.policy.digital_owner_id:
            return "digital"
        if owner_id in self._csm_set:
            return "csm"
        if owner_id in self._pool_set:
            return "pool"
        return None

    @cached_property
    def _csm_set(self) -> frozenset[str]:
        return frozenset(self.csms["csm_id"])

    @cached_property
    def _pool_set(self) -> frozenset[str]:
        return frozenset(self.pools["pool_id"])

    def with_(self, **changes) -> Book:
        """A copy with some fields replaced (the Book itself never changes)."""
        from dataclasses import replace

        return replace(self, **changes)

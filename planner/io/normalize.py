"""Validated text tables -> the canonical typed tables of planner.book.

Runs on a book with no error findings, so every cell parses (or on the
best-effort copy of a book with errors, whose failing cells are blank: see
planner.io.best_effort). Text loses its control characters here
(schema.clean_text), so none reaches a plan. Defaults
come from the column specs (schema.py); the few defaults that depend on other
columns or tables (``Derived`` in the specs) are filled by the one function
per table in :data:`DERIVATIONS`. Row order is kept; the spreadsheet row
numbers used for findings give way to a plain 0..n-1 index.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from planner.book import TABLES
from planner.io.read import RawBook
from planner.io.schema import TABLE_SPECS, ColumnSpec, Const, PolicyValue, canonical_columns
from planner.policy import Policy


def normalize(raw: RawBook, policy: Policy) -> tuple[dict[str, pd.DataFrame], dict[str, list[str]]]:
    """The canonical tables (every Book table, empty when absent) and each table's extra columns."""
    frames: dict[str, pd.DataFrame] = {}
    extras: dict[str, list[str]] = {}
    for name in TABLES:
        table = raw.tables.get(name)
        text = table.frame if table is not None else _no_rows(name)
        canonical = [c for c, _ in canonical_columns(name)]
        extras[name] = [c for c in text.columns if c not in canonical]
        frames[name] = typed_table(name, text, extras[name], policy)
    for name, derive in DERIVATIONS.items():
        frames[name] = derive(frames[name], frames["locations"], policy)
    for name in TABLES:
        ordered = [c for c, _ in canonical_columns(name)] + extras[name]
        frames[name] = frames[name][ordered].reset_index(drop=True)
    return frames, extras


def _no_rows(name: str) -> pd.DataFrame:
    """The text of a table the book does not have: its spec columns, no rows."""
    return pd.DataFrame({c: pd.Series([], dtype=str) for c in TABLE_SPECS[name].names})


def typed_table(name: str, text: pd.DataFrame, extras: list[str], policy: Policy) -> pd.DataFrame:
    """Each spec column parsed to its dtype with its default filled, then the extra columns as text."""
    typed = {c.name: _typed_column(c, _text_column(text, c.name), policy) for c in TABLE_SPECS[name].columns}
    return pd.DataFrame({**typed, **{c: text[c].astype(str) for c in extras}}, index=text.index)


def _text_column(text: pd.DataFrame, column: str) -> pd.Series:
    """The column's text, or all blanks when the optional column is absent."""
    return text[column] if column in text else pd.Series("", index=text.index, dtype=str)


def _typed_column(spec: ColumnSpec, text: pd.Series, policy: Policy) -> pd.Series:
    default = default_value(spec, policy)
    values = [spec.kind.parse(t) if t else default for t in text]
    return pd.Series(values, index=text.index, dtype=spec.kind.dtype)


def default_value(spec: ColumnSpec, policy: Policy) -> Any:
    """What a blank cell becomes; a Derived default stays unknown until its table's derivation runs."""
    match spec.default:
        case Const(text=text):
            return spec.kind.parse(text)
        case PolicyValue(attr=attr):
            return getattr(policy, attr)
        case _:
            return spec.kind.missing


# -- derived defaults -------------------------------------------------------------------


def _by_location(locations: pd.DataFrame, column: str) -> pd.Series:
    return locations.set_index("location")[column]


def _cost_index(location: pd.Series, locations: pd.DataFrame) -> pd.Series:
    """The location's cost_index; 1.0 for a blank or unlisted location (the policy's costs are at 1.0)."""
    return location.map(_by_location(locations, "cost_index")).astype(float).fillna(1.0)


def derive_accounts(accounts: pd.DataFrame, locations: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """A blank segment comes from ARR; segment_derived records that, so reports can say 'derived'."""
    blank = accounts["segment"] == ""
    from_arr = accounts["arr"].map(policy.segment_for_arr)
    return accounts.assign(segment=accounts["segment"].where(~blank, from_arr), segment_derived=blank.astype(bool))


def derive_csms(csms: pd.DataFrame, locations: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """utc_offset: given, else the location's, else the region's default; annual_cost scaled by cost_index."""
    utc_offset = (
        csms["utc_offset"]
        .fillna(csms["location"].map(_by_location(locations, "utc_offset")).astype(float))
        .fillna(csms["region"].map(policy.region_default_utc_offset).astype(float))
    )
    default_cost = policy.csm_default_annual_cost * _cost_index(csms["location"], locations)
    return csms.assign(utc_offset=utc_offset, annual_cost=csms["annual_cost"].fillna(default_cost))


def derive_pools(pools: pd.DataFrame, locations: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """capacity_hours from fte when not given (validation made sure one of them is); hourly_cost by cost_index."""
    default_hours = pools["fte"] * policy.pool_hours_per_fte
    default_cost = policy.pool_default_hourly_cost * _cost_index(pools["location"], locations)
    return pools.assign(
        capacity_hours=pools["capacity_hours"].fillna(default_hours),
        hourly_cost=pools["hourly_cost"].fillna(default_cost),
    )


DERIVATIONS: dict[str, Callable[[pd.DataFrame, pd.DataFrame, Policy], pd.DataFrame]] = {
    "accounts": derive_accounts,
    "csms": derive_csms,
    "pools": derive_pools,
}

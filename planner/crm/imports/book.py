"""`planner import CRM ACCOUNTS --users USERS --out BOOK`: a CRM's standard exports turned into a book.

The accounts (Salesforce Accounts, HubSpot companies, Gainsight Companies)
and the users (Salesforce Users, HubSpot owners or users, GS Users) are read
through the CRM's standard map (salesforce.toml, hubspot.toml, gainsight.toml
beside this file) laid under the user's ``--map`` file, which may replace any
entry and add the import's own sections:

    [regions]                 # ISO country code -> region, over regions.toml
    DE = "DACH"
    [zones]                   # ISO 3166-2 subdivision -> IANA zone, over subdivision_zones.toml
    "US-TX" = "America/Chicago"
    [defaults]
    region = "NA"             # the region of an account or user nothing else places
    [roster]
    roles = ["Customer Success Manager"]   # users of these roles are CSMs even if they own no account
    pools = ["EMEA & APAC Pooled CS", "pool-na@example.com"]   # owners that are pools, not CSMs
    digital = "Digital CS"    # the owner that is the digital-touch program
    [pools."EMEA & APAC Pooled CS"]   # optional: any pool column, e.g. its real capacity
    capacity_hours = 320

What is derived, and from what (planner.crm.imports.geo): an account's
region from its country (and the map's [regions]); its utc_offset from its
time zone, else its state's zone, else its country's one offset; its language
from the country's official languages. A user's region from their country,
else their time zone's country; utc_offset from the time zone
(Salesforce TimeZoneSidKey); languages from the locale key
(LanguageLocaleKey) plus the policy's default languages. Every value the
data cannot place is a finding of its row and column, grouped by the CLI.

The roster is the users who own at least one account of the export (matched
by id, email or name, planner.io.owners), plus the users of [roster] roles,
less the owners [roster] pools and digital name (matched the same way).
A pool owner becomes a row of pools.csv (pool_id = its csm_id; capacity_hours,
unless the map sets it, the hours its accounts need today under the policy,
rounded up; segments, regions and languages those of its accounts); the
digital owner becomes programs.csv's one row, and its accounts' owner the
policy's digital owner id;
an inactive user who owns accounts is kept as ``leaving`` so a plan moves
their accounts. A user's csm_id is their CRM user id (else their email).
Then the book is checked exactly as ``planner validate`` checks one; it is
written only when it has no error.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import tomllib
from collections import Counter
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

import pandas as pd

from planner.book import Book
from planner.errors import BookError, Finding
from planner.io.colmap import EMPTY, ColumnMap, Entry, MapError, apply_columns, load_map, map_from_dict, map_line
from planner.io.owners import Roster, fold
from planner.io.read import RawBook, RawTable, read_table_file, table_from_rows
from planner.io.schema import CRM_ALIASES, TABLE_SPECS, name_key
from planner.policy import Policy

CRMS = ("salesforce", "hubspot", "gainsight")
MAP_TABLES = ("accounts", "users")
SECTIONS = ("regions", "zones", "defaults", "roster", "pools")
# What a [pools."<pool>"] table of the map may set (any pool column but the ids the users export gives).
POOL_SETTINGS = ("location", "regions", "languages", "segments", "fte", "capacity_hours", "hourly_cost", "efficiency")
# Fields the import reads and turns into planner columns; they are not carried into the book.
IMPORT_FIELDS = {
    "accounts": ("country", "state", "time_zone"),
    "users": ("first_name", "last_name", "active", "time_zone", "language", "country", "role"),
}
ACCOUNT_SHEETS = ("accounts", "account", "companies", "company")
USER_SHEETS = ("users", "user", "owners", "owner", "gs users", "gsuser")
FALSE_WORDS = {"false", "0", "no", "n", "inactive", "deactivated"}


@dataclass(frozen=True)
class Imported:
    """The book's tables as text (planner columns, then extras), every finding, and the checked Book."""

    tables: dict[str, pd.DataFrame]
    findings: list[Finding]
    book: Book | None


def standard_map(crm: str) -> ColumnMap:
    """The standard map of `crm`, as shipped in the package."""
    name = f"{crm}.toml"
    doc = tomllib.loads((resources.files("planner.crm.imports") / name).read_text(encoding="utf-8"))
    return map_from_dict(doc, name, MAP_TABLES, SECTIONS)


def import_map(crm: str, user_map: str | Path | None = None, locale: str | None = None) -> ColumnMap:
    """The user's map laid over the CRM's standard one; --locale over both. Raises MapError on a bad map."""
    cmap = standard_map(crm)
    if user_map is not None:
        cmap = load_map(user_map, MAP_TABLES, SECTIONS).over(cmap)
    return cmap.with_locale(locale)


def _read(path: Path, table: str, sheets: tuple[str, ...]) -> tuple[RawTable | None, list[Finding]]:
    label, rows = read_table_file(path, sheets)
    frame, findings = table_from_rows(table, label, rows)
    if frame is None:
        return None, findings
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return RawTable(table, label, path, digest, frame), findings


def _unread_columns(frame: pd.DataFrame, used: set[str], table: str, label: str, book_table: str) -> list[Finding]:
    """A note naming the export's columns no map entry reads; a warning for one that is a planner column's CRM name."""
    aliases = {name_key(k): v for k, v in CRM_ALIASES.get(book_table, {}).items()}
    unread = [c for c in frame.columns if c not in used]
    findings = []
    for column in unread:
        meant = aliases.get(name_key(column))
        if meant is not None:
            message = (
                f"Expected {meant} from one column; the map reads it from another (or from none), so "
                f"{column!r}, which looks like {meant}, is NOT read; to read it instead: "
                f"{map_line(table, meant, column)} in MAP.toml, passed with --map MAP.toml"
            )
            findings.append(Finding("warning", label, 1, column, message, "near_miss_name"))
    quiet = [c for c in unread if aliases.get(name_key(c)) is None]
    if quiet:
        shown = ", ".join(repr(c) for c in quiet[:12]) + (f" and {len(quiet) - 12} more" if len(quiet) > 12 else "")
        message = f"Not read (no map entry names them, so the book leaves them out): {shown}"
        findings.append(Finding("note", label, None, None, message, "import_unread_columns"))
    return findings


def _mapped(table: RawTable, cmap: ColumnMap, map_table: str, book_table: str) -> tuple[pd.DataFrame, dict, list]:
    """The columns the map reads, under their targets; (frame, target -> source column, findings)."""
    specs = TABLE_SPECS[book_table].names + IMPORT_FIELDS[map_table]
    applied = apply_columns(table.frame, map_table, table.label, cmap, specs)
    sources = applied.sources
    frame = applied.frame[list(sources)] if sources else applied.frame.iloc[:, 0:0]
    for column in frame.columns:
        frame[column] = frame[column].fillna("").astype(str)
    findings = applied.findings + _unread_columns(
        table.frame, set(sources.values()), map_table, table.label, book_table
    )
    return frame, dict(sources), findings


class _Places:
    """Region, offset and language lookups with the map's overrides, and the grouped findings they make."""

    def __init__(self, cmap: ColumnMap, on: dt.date):
        self.regions = {str(k).upper(): str(v) for k, v in dict(cmap.extra.get("regions", {})).items()}
        self.zones = {str(k).upper(): str(v) for k, v in dict(cmap.extra.get("zones", {})).items()}
        self.default_region = str(dict(cmap.extra.get("defaults", {})).get("region", "")).strip()
        self.on = on

    def country(self, text: str) -> str | None:
        from planner.crm.imports.geo import country_code

        return country_code(text)

    def region(self, country: str) -> str | None:
        from planner.crm.imports.geo import region_of

        return region_of(country, self.regions)


def _defaults_hint() -> str:
    return 'or set region = "NA" (any region) under [defaults] in the map'


def _accounts(frame: pd.DataFrame, sources: dict, label: str, places: _Places) -> tuple[pd.DataFrame, dict, list]:
    """Region, utc_offset and language of each account from its country, state and time zone."""
    from planner.crm.imports.geo import language_of, offset_of, standard_offset, zone_name

    findings: list[Finding] = []
    out = frame.copy()
    for column in ("region", "utc_offset", "language"):
        if column not in out:
            out[column] = ""
    country_col = sources.get("country")
    derived = Counter()
    for row in out.index:
        country_text = out.at[row, "country"] if "country" in out else ""
        code = places.country(country_text) if country_text.strip() else None
        if country_text.strip() and code is None:
            message = (
                f"Expected a country (an ISO 3166 name or code such as Germany, DE or DEU), got {country_text!r}; "
                "write it as one, or map it under [regions] in the map"
            )
            findings.append(Finding("error", label, int(row), country_col, message, "unknown_country"))
        if not out.at[row, "region"]:
            region = places.region(code) if code else None
            if region is None and code is None and not country_text.strip():
                region = places.default_region or None
                if region is None:
                    where = country_col or "a country column"
                    message = (
                        f"Expected a country ({where}) to place the account in a region, got a blank one; "
                        f'fill it in, map a region column ([accounts] region = "COLUMN"), {_defaults_hint()}'
                    )
                    findings.append(Finding("error", label, int(row), country_col or "region", message, "no_region"))
            elif region is None and code is not None:
                message = (
                    f"Expected a country the region table places, got {country_text!r} ({code}); "
                    f'add {code} = "REGION" under [regions] in the map'
                )
                findings.append(Finding("error", label, int(row), country_col, message, "unplaced_country"))
            if region:
                out.at[row, "region"] = region
                derived["region"] += 1
        if not out.at[row, "utc_offset"]:
            offset = None
            zone = zone_name(out.at[row, "time_zone"]) if "time_zone" in out else None
            if zone:
                offset = standard_offset(zone, places.on)
            elif code:
                state = out.at[row, "state"] if "state" in out else ""
                offset = offset_of(code, state or None, places.on, places.zones)
            if offset is not None:
                out.at[row, "utc_offset"] = f"{offset:g}"
                derived["utc_offset"] += 1
        if not out.at[row, "language"] and code:
            language = language_of(code)
            if language:
                out.at[row, "language"] = language
                derived["language"] += 1
    blank_offsets = int((out["utc_offset"] == "").sum())
    if blank_offsets:
        message = (
            f"{blank_offsets:,} account(s) have no UTC offset the data can tell (no time zone, and a country that "
            "spans several offsets without a state the zone table knows): the policy's region default applies; "
            "map a state column or add its zone under [zones]"
        )
        findings.append(Finding("note", label, None, sources.get("state") or country_col, message, "no_utc_offset"))
    if derived:
        how = ", ".join(f"{column} {n:,}" for column, n in derived.items())
        findings.append(
            Finding("note", label, None, None, f"Derived from country, state and time zone: {how}", "import_derived")
        )
    mapped = {}
    if country_col:
        mapped.update(region=country_col, language=country_col)
    if "utc_offset" not in sources:
        mapped["utc_offset"] = sources.get("time_zone") or sources.get("state") or country_col or "utc_offset"
    return out.drop(columns=[c for c in IMPORT_FIELDS["accounts"] if c in out]), mapped, findings


def _users(
    frame: pd.DataFrame, sources: dict, label: str, places: _Places, policy: Policy
) -> tuple[pd.DataFrame, dict, list]:
    """csm_id, name, region, utc_offset and languages of each user; the import fields dropped."""
    from planner.crm.imports.geo import language_of_locale, standard_offset, zone_country, zone_name

    findings: list[Finding] = []
    out = frame.copy()
    for column in ("csm_id", "name", "region", "utc_offset", "languages"):
        if column not in out:
            out[column] = ""
    id_from = "crm_user_id" if "crm_user_id" in out else "email"
    if id_from in out:
        blank = out["csm_id"] == ""
        out.loc[blank, "csm_id"] = out.loc[blank, id_from]
    if "first_name" in out or "last_name" in out:
        first = out.get("first_name", pd.Series("", index=out.index))
        last = out.get("last_name", pd.Series("", index=out.index))
        whole = (first.str.strip() + " " + last.str.strip()).str.strip()
        out.loc[out["name"] == "", "name"] = whole[out["name"] == ""]
    defaults = list(policy.csm_default_languages)
    zone_col = sources.get("time_zone")
    for row in out.index:
        zone_text = out.at[row, "time_zone"] if "time_zone" in out else ""
        zone = zone_name(zone_text) if zone_text.strip() else None
        if zone_text.strip() and zone is None:
            message = f"Expected an IANA time zone such as America/Los_Angeles, got {zone_text!r}"
            findings.append(Finding("warning", label, int(row), zone_col, message, "unknown_time_zone"))
        if not out.at[row, "region"]:
            country_text = out.at[row, "country"] if "country" in out else ""
            code = places.country(country_text) if country_text.strip() else None
            code = code or (zone_country(zone) if zone else None)
            region = places.region(code) if code else None
            region = region or places.default_region or None
            if region:
                out.at[row, "region"] = region
        if not out.at[row, "utc_offset"] and zone:
            out.at[row, "utc_offset"] = f"{standard_offset(zone, places.on):g}"
        if not out.at[row, "languages"] and "language" in out:
            spoken = language_of_locale(out.at[row, "language"])
            if spoken:
                out.at[row, "languages"] = ";".join(dict.fromkeys([spoken, *defaults]))
    mapped = {"region": sources.get("country") or zone_col or "region", "csm_id": sources.get(id_from, "csm_id")}
    if zone_col:
        mapped["utc_offset"] = zone_col
    if sources.get("language"):
        mapped["languages"] = sources["language"]
    return out, mapped, findings


@dataclass(frozen=True)
class _Special:
    """The users the map names as pools (csm_id -> the map's settings for it) and as the digital program."""

    pools: dict[str, dict[str, str]]
    digital: str | None

    @property
    def ids(self) -> set[str]:
        return set(self.pools) | ({self.digital} if self.digital else set())


def _bad_map(cmap: ColumnMap, where: str, message: str) -> Finding:
    return Finding("error", cmap.label, None, where, message, "bad_map")


def _names(value, where: str, cmap: ColumnMap, problems: list[Finding]) -> list[str]:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names):
        message = f'Expected a user\'s CRM id, email or name, or a list of them (["EMEA Pooled CS"]), got {value!r}'
        problems.append(_bad_map(cmap, where, message))
        return []
    return [n.strip() for n in names]


def _settings(cmap: ColumnMap, problems: list[Finding]) -> dict[str, dict[str, str]]:
    """[pools."<pool>"] tables of the map: pool reference -> column -> cell text."""
    body = cmap.extra.get("pools", {})
    if not isinstance(body, dict):
        problems.append(_bad_map(cmap, "[pools]", 'Expected [pools."<pool>"] tables of pool columns'))
        return {}
    out: dict[str, dict[str, str]] = {}
    for ref, columns in body.items():
        where = f'[pools."{ref}"]'
        if not isinstance(columns, dict):
            message = f"Expected a table of pool columns ({', '.join(POOL_SETTINGS)}), got {columns!r}"
            problems.append(_bad_map(cmap, where, message))
            continue
        out[ref] = {}
        for column, value in columns.items():
            if column not in POOL_SETTINGS:
                message = f"Expected one of {list(POOL_SETTINGS)}, got {column!r}"
                problems.append(_bad_map(cmap, f"{where} {column}", message))
            elif isinstance(value, bool) or not isinstance(value, str | int | float | list):
                problems.append(_bad_map(cmap, f"{where} {column}", f"Expected a number or text, got {value!r}"))
            else:
                out[ref][column] = _cell(value)
    return out


def _cell(value) -> str:
    """A map value as a book cell: a list is ;-joined, a float written without a trailing .0."""
    if isinstance(value, list):
        return ";".join(map(str, value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def _special(users: pd.DataFrame, accounts: pd.DataFrame, cmap: ColumnMap, policy: Policy) -> tuple[_Special, list]:
    """The pools and the digital owner the map's [roster] names, matched like owners; a warning for each miss."""
    roster_cfg = cmap.extra.get("roster", {})
    roster_cfg = roster_cfg if isinstance(roster_cfg, dict) else {}
    problems: list[Finding] = []
    pool_refs = _names(roster_cfg.get("pools", []), "[roster] pools", cmap, problems)
    digital_refs = _names(roster_cfg["digital"], "[roster] digital", cmap, problems) if "digital" in roster_cfg else []
    if len(digital_refs) > 1:
        problems.append(_bad_map(cmap, "[roster] digital", f"Expected one user, got {len(digital_refs)}"))
    settings = _settings(cmap, problems)
    if problems:
        raise MapError(problems)
    if not pool_refs and not digital_refs and not settings:
        return _Special({}, None), []
    raw = RawBook("import", {"csms": RawTable("csms", "users", Path("users"), "", users)}, frozenset())
    roster = Roster(raw, policy)
    keys = ("crm_user_id", "email", "name")
    known = set(users["csm_id"])
    owned = Counter(roster.match(v, keys)[0] for v in accounts.get("current_owner", pd.Series(dtype=str)) if v)
    findings: list[Finding] = []

    def resolve(ref: str, where: str) -> str | None:
        owner, _, candidates = roster.match(ref, keys)
        if owner is None and len(candidates) > 1:
            named = "; ".join(f"{o} ({label} row {r}, by {k})" for o, label, r, k in candidates)
            message = f"Expected {ref!r} to name one user, got {len(candidates)}: {named}; write the CRM user id"
            findings.append(Finding("error", cmap.label, None, where, message, "ambiguous_owner"))
            return None
        if owner is None or owner not in known:
            message = (
                f"Expected a user of the users export (CRM user id, email or name), got {ref!r}, which matches "
                "none: it is ignored (check the spelling)"
            )
            findings.append(Finding("warning", cmap.label, None, where, message, "roster_user_unknown"))
            return None
        if not owned.get(owner):
            message = f"{ref!r} ({owner}) owns no account of the export"
            findings.append(Finding("warning", cmap.label, None, where, message, "roster_user_owns_nothing"))
        return owner

    pools = {}
    for ref in pool_refs:
        owner = resolve(ref, "[roster] pools")
        if owner is not None:
            pools[owner] = {}
    digital = resolve(digital_refs[0], "[roster] digital") if digital_refs else None
    if digital is not None and digital in pools:
        message = f"Expected the digital owner to be no pool, got {digital_refs[0]!r} in both"
        raise MapError([_bad_map(cmap, "[roster] digital", message)])
    for ref, columns in settings.items():
        where = f'[pools."{ref}"]'
        owner = ref if ref in pools else resolve(ref, where)
        if owner is None:
            continue
        if owner not in pools:
            message = f"Expected a pool of [roster] pools, got {ref!r} ({owner}): its settings are ignored"
            findings.append(Finding("warning", cmap.label, None, where, message, "pool_settings_unused"))
            continue
        pools[owner].update(columns)
    return _Special(pools, digital), findings


def _pool_tables(users: pd.DataFrame, special: _Special, policy: Policy) -> dict[str, pd.DataFrame]:
    """pools.csv rows (placeholder segments and capacity, set by _sized) and programs.csv's row."""
    by_id = users.set_index("csm_id", drop=False)
    identity = [c for c in ("name", "email", "crm_user_id", "hubspot_owner_id") if c in users]
    out = {}
    if special.pools:
        rows = []
        for owner, settings in special.pools.items():
            user = by_id.loc[owner]
            user = user.iloc[0] if isinstance(user, pd.DataFrame) else user
            row = {"pool_id": owner, "regions": "", "languages": "", "segments": ";".join(policy.segments)}
            row["capacity_hours"] = "0"
            row |= {c: user[c] for c in identity}
            rows.append(row | settings)
        frame = pd.DataFrame(rows).fillna("")
        frame.index = range(2, len(frame) + 2)
        out["pools"] = _ordered(frame, "pools")
    if special.digital:
        user = by_id.loc[special.digital]
        user = user.iloc[0] if isinstance(user, pd.DataFrame) else user
        row = {"program_id": policy.digital_owner_id} | {c: user[c] for c in identity}
        out["programs"] = _ordered(pd.DataFrame([row], index=[2]), "programs")
    return out


def _account_hours(accounts: pd.DataFrame, policy: Policy) -> pd.Series:
    """The hours a month each account needs under the policy (as planner.planning.evaluate counts them)."""
    hours = accounts["segment"].map(policy.base_hours) * accounts["complexity"].astype(int).map(policy.complexity_mult)
    stage = accounts["lifecycle_stage"].map(lambda s: policy.stage_mult.get(s, 1.0) if s else 1.0)
    low = accounts["health"].lt(policy.low_health_below).map({True: policy.low_health_mult, False: 1.0})
    return hours * stage * low


def _sized(pools: pd.DataFrame, special: _Special, book: Book, policy: Policy, label: str) -> tuple[pd.DataFrame, list]:
    """Each pool's segments, regions, languages and capacity from the accounts it owns, unless the map set them."""
    pools = pools.copy()
    accounts = book.accounts
    hours = _account_hours(accounts, policy)
    efficiency = dict(zip(book.pools["pool_id"], book.pools["efficiency"], strict=True))
    sized = []
    for row in pools.index:
        pool = pools.at[row, "pool_id"]
        settings = special.pools[pool]
        mine = accounts["current_owner"] == pool
        if "segments" not in settings and mine.any():
            pools.at[row, "segments"] = ";".join(s for s in policy.segments if s in set(accounts.loc[mine, "segment"]))
        if "regions" not in settings and mine.any():
            pools.at[row, "regions"] = ";".join(sorted(set(accounts.loc[mine, "region"])))
        if "languages" not in settings and mine.any():
            spoken = accounts.loc[mine, "language"].value_counts()
            pools.at[row, "languages"] = ";".join(sorted(spoken.index, key=lambda x: (-spoken[x], x)))
        if "capacity_hours" not in settings and "fte" not in settings:
            need = float(hours[mine].sum()) * float(efficiency.get(pool, policy.pool_efficiency))
            pools.at[row, "capacity_hours"] = str(math.ceil(need - 1e-9))
            name = pools.at[row, "name"] if "name" in pools else ""
            who = f"{name} ({pool})" if name else pool
            sized.append(f"{who} {math.ceil(need - 1e-9):,} h ({int(mine.sum()):,} accounts)")
    findings = []
    if sized:
        message = (
            "capacity_hours of each pool is the hours a month its accounts need today under the policy, rounded up "
            f"(the pool is full): {', '.join(sized)}; set its real capacity in the map: "
            '[pools."<pool>"] capacity_hours = 320 (or fte = 2)'
        )
        findings.append(Finding("note", label, None, "capacity_hours", message, "import_pool_capacity"))
    return _ordered(pools, "pools"), findings


def _roster(
    users: pd.DataFrame,
    accounts: pd.DataFrame,
    cmap: ColumnMap,
    label: str,
    policy: Policy,
    sources: dict,
    special: frozenset[str] = frozenset(),
) -> tuple[pd.DataFrame, list]:
    """The users who are CSMs: those owning an account of the export, and those of [roster] roles; not `special`."""
    raw = RawBook("import", {"csms": RawTable("csms", label, Path(label), "", users)}, frozenset())
    roster = Roster(raw, policy)
    keys = ("crm_user_id", "email", "name") if cmap.owner_by == "auto" else (cmap.owner_by,)
    owners: set[str] = set()
    for column in ("current_owner", "pin_owner"):
        if column in accounts:
            for value in set(accounts[column]) - {""}:
                owner, _, candidates = roster.match(value, tuple(k for k in keys if k != "csm_id"))
                # Both users a name matches stay in the roster, so the ambiguity is reported, not dropped.
                owners.update([owner] if owner is not None else [c[0] for c in candidates])
    owned: dict[str, list[str]] = {}  # owner -> the regions of their accounts
    for value, region in zip(accounts.get("current_owner", ()), accounts.get("region", ()), strict=False):
        owner = roster.match(value, tuple(k for k in keys if k != "csm_id"))[0] if value else None
        if owner is not None and region:
            owned.setdefault(owner, []).append(region)
    roles = {fold(str(r)) for r in dict(cmap.extra.get("roster", {})).get("roles", [])}
    by_role = users["role"].map(lambda r: fold(r) in roles) if roles and "role" in users else False
    not_csm = users["csm_id"].isin(special)
    keep = (users["csm_id"].isin(owners) | by_role) & ~not_csm
    active = pd.Series(True, index=users.index)
    if "active" in users:
        active = ~users["active"].str.strip().str.casefold().isin(FALSE_WORDS)
    findings = []
    users = users.copy()
    leaving = keep & ~active
    if "status" not in users:
        users = users.assign(status="")
    users.loc[leaving & (users["status"] == ""), "status"] = "leaving"
    by_accounts = 0
    for row in users.index[keep & (users["region"] == "")]:
        regions = owned.get(users.at[row, "csm_id"])
        if regions:
            users.at[row, "region"] = Counter(regions).most_common(1)[0][0]
            by_accounts += 1
            continue
        where = " or ".join(c for c in (sources.get("country"), sources.get("time_zone")) if c)
        got = ", ".join(repr(users.at[row, c]) for c in ("country", "time_zone") if c in users and users.at[row, c])
        message = (
            f"Expected a country or a time zone{f' ({where})' if where else ''} to place the user in a region, "
            f"got {got or 'none'}, and they own no account with a region; map a region column ([users] region = "
            f'"COLUMN"), {_defaults_hint()}'
        )
        findings.append(Finding("error", label, int(row), "region", message, "no_region"))
    if by_accounts:
        message = (
            f"{by_accounts:,} user(s) had no country or time zone: their region is the one most of their accounts "
            "are in"
        )
        findings.append(Finding("note", label, None, "region", message, "import_region_from_accounts"))
    dropped = int((~keep & ~not_csm).sum())
    if not int(keep.sum()):
        message = (
            f"Expected at least one CSM, got none of the {len(users):,} user(s): the roster is the users who own an "
            'account of the export (map the account\'s CSM column: [accounts] current_owner = "COLUMN") or '
            "those of [roster] roles = [...] in the map"
        )
        findings.append(Finding("error", label, None, None, message, "no_csms"))
    elif dropped:
        hint = " or set roles = [...] under [roster] in the map" if not roles else ""
        message = (
            f"{dropped:,} of {len(users):,} user(s) own no account of the export and are not in the roster "
            f"(CSMs are the users who own accounts{hint})"
        )
        findings.append(Finding("note", label, None, None, message, "import_not_csms"))
    if int(leaving.sum()):
        message = f"{int(leaving.sum()):,} inactive user(s) own accounts: kept as status leaving, so a plan moves them"
        findings.append(Finding("note", label, None, None, message, "import_inactive_owner"))
    return users[keep].drop(columns=[c for c in IMPORT_FIELDS["users"] if c in users]), findings


def _value_map(cmap: ColumnMap, map_table: str, book_table: str, columns) -> ColumnMap:
    """Identity entries that carry the map's per-column settings (locale, dates, values) to convert_values."""
    entries = {
        target: Entry((target,), e.locale, e.date_format, e.values)
        for target, e in cmap.entries(map_table).items()
        if target in columns
    }
    return ColumnMap(tables={book_table: entries}, locale=cmap.locale, date_format=cmap.date_format)


def _ordered(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    names = TABLE_SPECS[table].names
    return frame[[c for c in names if c in frame] + [c for c in frame.columns if c not in names]]


def import_book(
    crm: str, accounts_path: str | Path, users_path: str | Path, cmap: ColumnMap, policy: Policy, as_of: dt.date
) -> Imported:
    """Read both exports through `cmap`, derive what the book needs, check it; raises BookError if unreadable."""
    from planner.io import validate_raw
    from planner.io.owners import match_owners
    from planner.io.values import convert_values

    if crm not in CRMS:
        raise ValueError(f"unknown CRM {crm!r}")
    accounts_raw, findings = _read(Path(accounts_path), "accounts", ACCOUNT_SHEETS)
    users_raw, more = _read(Path(users_path), "csms", USER_SHEETS)
    findings += more
    if accounts_raw is None or users_raw is None:
        raise BookError(findings)
    places = _Places(cmap, as_of)
    accounts, a_sources, more = _mapped(accounts_raw, cmap, "accounts", "accounts")
    findings += more
    if "current_owner" not in a_sources:
        tried = (
            ", ".join(cmap.entries("accounts")["current_owner"].columns)
            if "current_owner" in cmap.entries("accounts")
            else "none"
        )
        message = (
            f"Expected a column naming each account's CSM (the map tries: {tried}), got none of them: every account "
            f'is read as new (no current owner); map the CSM column: [accounts] current_owner = "COLUMN"'
        )
        findings.append(Finding("warning", accounts_raw.label, 1, None, message, "no_owner_column"))
    users, u_sources, more = _mapped(users_raw, cmap, "users", "csms")
    findings += more
    accounts, a_derived, more = _accounts(accounts, a_sources, accounts_raw.label, places)
    findings += more
    users, u_derived, more = _users(users, u_sources, users_raw.label, places, policy)
    findings += more
    # Values first (amounts, dates, translated stages), then who owns what.
    value_map = _value_map(cmap, "accounts", "accounts", accounts.columns)
    value_map = replace(
        value_map, tables={**value_map.tables, **_value_map(cmap, "users", "csms", users.columns).tables}
    )
    tables = {
        "accounts": replace(
            accounts_raw, frame=_ordered(accounts, "accounts"), mapped=tuple({**a_sources, **a_derived}.items())
        ),
        "csms": replace(users_raw, frame=users, mapped=tuple({**u_sources, **u_derived}.items())),
    }
    raw, more = convert_values(RawBook(accounts_raw.path.stem, tables, frozenset()), value_map)
    findings += more
    special, more = _special(raw.tables["csms"].frame, raw.tables["accounts"].frame, cmap, policy)
    findings += more
    users_frame, more = _roster(
        raw.tables["csms"].frame, raw.tables["accounts"].frame, cmap, users_raw.label, policy, u_sources,
        frozenset(special.ids),
    )  # fmt: skip
    findings += more
    tables = dict(raw.tables)
    tables["csms"] = replace(tables["csms"], frame=_ordered(users_frame, "csms"))
    # Pools and the digital program join the roster, so their users' ids, emails and names match as owners.
    for name, frame in _pool_tables(raw.tables["csms"].frame, special, policy).items():
        tables[name] = RawTable(name, f"{name}.csv", Path(f"{name}.csv"), "", frame)
    raw = RawBook(raw.name, tables, frozenset())
    raw, more = match_owners(raw, replace(EMPTY, owner_by=cmap.owner_by), policy)
    findings += more
    # Derivation errors name the source column; drop the loader's own error on the same cell.
    findings = _named(findings, raw)
    mine = {
        (f.file, f.row, f.column) for f in findings if f.rule in ("no_region", "unknown_country", "unplaced_country")
    }
    book, checked = validate_raw(raw, [], policy, as_of, EMPTY)
    if book is not None and special.pools:
        # Sized from what its accounts need, read from the checked book (segments derived, defaults applied).
        pools, more = _sized(raw.tables["pools"].frame, special, book, policy, "pools.csv")
        findings += more
        raw = RawBook(raw.name, {**raw.tables, "pools": replace(raw.tables["pools"], frame=pools)}, frozenset())
        book, checked = validate_raw(raw, [], policy, as_of, EMPTY)
    findings += [f for f in checked if not (f.severity == "error" and (f.file, f.row, f.column) in mine)]
    if book is not None:
        findings += _pool_like_csms(book, users_raw.label)
    findings = list(dict.fromkeys(findings))  # a value both the conversion and the book's check reject: said once
    if any(f.severity == "error" for f in findings):
        book = None
    return Imported({name: t.frame for name, t in raw.tables.items()}, findings, book)


def _pool_like_csms(book, label: str) -> list[Finding]:
    """A CSM owning far more accounts than a CSM may hold is likely a pooled team or the digital program: say how to
    name it in the map (else the plan must move most of its accounts, or leave them unplaced)."""
    owned = book.accounts["current_owner"].value_counts()
    out = []
    for r in book.csms.to_dict("records"):
        n = int(owned.get(r["csm_id"], 0))
        if n > 2 * r["max_accounts"]:
            message = (f"Expected a CSM to own at most {r['max_accounts']:,} accounts, {r['name'] or r['csm_id']} "
                       f"({r['csm_id']}) owns {n:,}: if this user is a pooled team or the digital program, name it in "
                       f'the map: [roster] pools = ["{r["name"] or r["csm_id"]}"] or [roster] digital = '
                       f'"{r["name"] or r["csm_id"]}"')  # fmt: skip
            out.append(Finding("warning", label, None, None, message, "pool_like_csm"))
    return out


def _named(findings: list[Finding], raw: RawBook) -> list[Finding]:
    """The import's own findings on a planner column, named by the export's column."""
    renamed = {(t.label, target): source for t in raw.tables.values() for target, source in t.mapped}
    return [replace(f, column=renamed.get((f.file, f.column), f.column)) if f.column else f for f in findings]


def write_imported(imported: Imported, out_dir: str | Path, force: bool = False) -> Path:
    """The book folder (accounts.csv, csms.csv), written atomically; cells verbatim, as a book's are."""
    from planner.io.atomic import atomic_dir
    from planner.io.csvtext import write_frame

    out = Path(out_dir)
    with atomic_dir(out, force=force, kind="book") as tmp:
        for name, frame in imported.tables.items():
            write_frame(frame.reset_index(drop=True), tmp / f"{name}.csv", safe=False)
    return out

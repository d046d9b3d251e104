"""Where an account or a CSM is, from what a CRM records: a country, a state, a time zone, a locale.

Everything comes from maintained data, read where it is installed:

* country names and codes: ISO 3166 through ``pycountry`` ("Germany", "DE",
  "DEU"), plus the country names of the Unicode CLDR in a few languages
  through ``babel`` ("Deutschland", "Allemagne") and ISO's own reservation of
  "UK" for GB; states: ISO 3166-2 (``pycountry``: "California", "CA",
  "US-CA");
* a country's time zones: the IANA database's zone.tab (``tzdata``); a
  zone's UTC offset: ``zoneinfo`` at the plan date, without daylight saving
  time (the standard offset, as the book's utc_offset means it);
* a country's default language: CLDR's official languages of the territory
  (``babel``): English when it is an official language there (a business
  language: India, Singapore, South Africa), else the official language
  most people speak;
* the region: regions.toml beside this file (the zone's area, with the UN
  M49 exceptions listed there).

A value none of this can place is a finding of its row, never a guess.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
import unicodedata
from functools import lru_cache
from importlib import resources
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# ISO 3166 reserves UK for GB ("exceptionally reserved"); the rest are names people
# still write for a country whose ISO and CLDR names changed.
COUNTRY_ALIASES = {
    "uk": "GB", "great britain": "GB", "england": "GB", "scotland": "GB", "wales": "GB",
    "northern ireland": "GB", "turkey": "TR", "holland": "NL", "czech republic": "CZ",
    "russia": "RU", "south korea": "KR", "korea": "KR", "north korea": "KP", "vietnam": "VN",
    "ivory coast": "CI", "macedonia": "MK", "swaziland": "SZ", "burma": "MM", "usa": "US", "u.s.": "US",
    "u.s.a.": "US", "united states of america": "US", "uae": "AE",
}  # fmt: skip
CLDR_NAME_LANGUAGES = ("en", "de", "fr", "es", "pt", "it", "nl", "sv", "pl", "ja", "zh")
OFFICIAL = ("official", "de_facto_official")


def _key(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).strip().casefold()
    return re.sub(r"\s+", " ", text)


@lru_cache(maxsize=1)
def _country_names() -> dict[str, str]:
    """Every name and code of every country, as compared (_key) -> ISO alpha-2."""
    import pycountry
    from babel import Locale

    names: dict[str, str] = {}
    for c in pycountry.countries:
        for attr in ("alpha_2", "alpha_3", "name", "official_name", "common_name"):
            value = getattr(c, attr, None)
            if value:
                names.setdefault(_key(value), c.alpha_2)
    codes = {c.alpha_2 for c in pycountry.countries}
    for language in CLDR_NAME_LANGUAGES:
        for code, name in Locale.parse(language).territories.items():
            if code in codes:
                names.setdefault(_key(name), code)
    for alias, code in COUNTRY_ALIASES.items():
        names.setdefault(_key(alias), code)
    return names


def country_code(text: str) -> str | None:
    """The ISO 3166 alpha-2 code of a country as a CRM writes it ('Germany', 'DE', 'DEU', 'Deutschland'), or None."""
    if not text or not text.strip():
        return None
    return _country_names().get(_key(text))


def country_name(code: str) -> str:
    import pycountry

    c = pycountry.countries.get(alpha_2=code)
    return getattr(c, "common_name", None) or (c.name if c else code)


def subdivision_code(country: str, text: str) -> str | None:
    """The ISO 3166-2 code ('US-CA') of a state of `country` written as 'California', 'CA' or 'US-CA'."""
    import pycountry

    if not text or not text.strip():
        return None
    wanted = _key(text)
    for sub in pycountry.subdivisions.get(country_code=country) or ():
        if wanted in (_key(sub.code), _key(sub.code.split("-", 1)[1]), _key(sub.name)):
            return sub.code
    return None


@lru_cache(maxsize=1)
def _zone_tab() -> tuple[dict[str, tuple[str, ...]], dict[str, str]]:
    """(country -> its zones in zone.tab order, zone -> its country) from the tzdata package."""
    text = (resources.files("tzdata") / "zoneinfo" / "zone.tab").read_text(encoding="utf-8")
    zones: dict[str, list[str]] = {}
    country_of: dict[str, str] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) >= 3:
            zones.setdefault(fields[0], []).append(fields[2])
            country_of[fields[2]] = fields[0]
    return {c: tuple(z) for c, z in zones.items()}, country_of


def country_zones(country: str) -> tuple[str, ...]:
    return _zone_tab()[0].get(country, ())


def zone_country(zone: str) -> str | None:
    """The country a zone is listed for (America/Los_Angeles -> US), following links (US/Pacific)."""
    country = _zone_tab()[1].get(zone)
    if country is None:
        try:
            key = ZoneInfo(zone).key
        except (ZoneInfoNotFoundError, ValueError):
            return None
        country = _zone_tab()[1].get(key)
    return country


def zone_name(text: str) -> str | None:
    """An IANA zone from a CRM's time zone value: 'America/Los_Angeles', HubSpot's 'america_slash_los_angeles'."""
    if not text or not text.strip():
        return None
    candidate = text.strip()
    if "_slash_" in candidate.lower():
        parts = candidate.lower().split("_slash_")
        candidate = "/".join("_".join(w.capitalize() for w in p.split("_")) for p in parts)
    try:
        ZoneInfo(candidate)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return candidate


def standard_offset(zone: str, on: dt.date) -> float:
    """The zone's UTC offset in hours on `on`, without daylight saving time."""
    at = dt.datetime.combine(on, dt.time(12), tzinfo=ZoneInfo(zone))
    return ((at.utcoffset() or dt.timedelta()) - (at.dst() or dt.timedelta())).total_seconds() / 3600


@lru_cache(maxsize=1)
def _data(name: str) -> dict:
    return tomllib.loads((resources.files("planner.crm.imports") / name).read_text(encoding="utf-8"))


def region_of(country: str, overrides: dict[str, str] | None = None) -> str | None:
    """The region of a country: the map's [regions], else regions.toml (its exceptions, then its zone's area)."""
    if overrides and country in overrides:
        return overrides[country]
    table = _data("regions.toml")
    if country in table["countries"]:
        return table["countries"][country]
    zones = country_zones(country)
    return table["areas"].get(zones[0].split("/", 1)[0]) if zones else None


def offset_of(country: str, state: str | None, on: dt.date, zones: dict[str, str] | None = None) -> float | None:
    """The UTC offset of a place: the state's zone when the country has several offsets, else the country's one."""
    table = _data("subdivision_zones.toml")
    if state:
        code = subdivision_code(country, state)
        if code is not None:
            zone = (zones or {}).get(code) or table.get(country, {}).get(code.split("-", 1)[1])
            if zone:
                return standard_offset(zone, on)
    offsets = {standard_offset(z, on) for z in country_zones(country)}
    return offsets.pop() if len(offsets) == 1 else None


def language_of(country: str) -> str | None:
    """The default language of a country (see the module docstring); None when CLDR names no official one."""
    from babel.core import get_global

    spoken = get_global("territory_languages").get(country, {})
    official = {
        lang: info["population_percent"]
        for lang, info in spoken.items()
        if info.get("official_status") in OFFICIAL and re.fullmatch(r"[a-z]{2}", lang)
    }
    if not official:
        return None
    if "en" in official:
        return "en"
    return max(sorted(official), key=lambda lang: official[lang])


def language_of_locale(text: str) -> str | None:
    """A locale key's language: Salesforce LanguageLocaleKey 'en_US' -> 'en', 'pt_BR' -> 'pt', 'de' -> 'de'."""
    match = re.fullmatch(r"\s*([A-Za-z]{2})(?:[_-][A-Za-z0-9]+)*\s*", text or "")
    return match[1].lower() if match else None

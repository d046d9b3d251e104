"""Cells written for people, read as the planner's text: amounts under a locale, dates in a format, value names.

Runs after a column map is applied and before the column checks (see
planner.io.validate_book). Each cell it can read is replaced by the text the
checks expect (``€30.950,00`` under de-DE becomes ``30950``); a cell it
cannot read is left as it was, with one finding of its own that says what
was expected, and the column check's finding on that cell is dropped.

Numbers under a locale (``[options] locale`` in the map, or ``--locale``):
the locale's decimal sign and digit grouping, from the Unicode CLDR data
(babel): en-US ``1,234,567.89``, de-DE ``1.234.567,89``, fr-FR
``1 234 567,89`` (any space: plain, no-break or narrow no-break), de-CH
``1'234'567.89``, en-IN ``12,34,567.89``. Grouping must be regular (groups
of three, or the locale's own), so ``1.200`` is 1.2 under en-US and 1200
under de-DE, never a guess. Amounts (arr, max_arr, annual_cost,
hourly_cost) may also carry a currency symbol or ISO code before or after
the number (``$``, ``€``, ``USD``, ``R$``) and a scale suffix: ``k``
(thousand), ``M``, ``m``, ``mn``, ``Mio`` (million), ``B``, ``bn``,
``Mrd`` (billion): ``1.2M`` is 1,200,000 under en-US, ``1,2 Mio. €`` under
de-DE. Currencies are not converted: one column in two currencies is an
error. Without a locale, numbers are plain (``1234.5``) and an amount such
as ``$30,950`` is an error that names the ``--locale`` it would need.

Dates: ISO ``2026-03-31`` always; an ISO date-time (``2026-03-31T00:00:00Z``,
as Salesforce and HubSpot export them) gives its date; other forms need the
map's ``date_format`` (Python strptime codes, e.g. ``%m/%d/%Y``).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import replace
from functools import lru_cache

import pandas as pd

from planner.errors import Finding
from planner.io.colmap import ColumnMap
from planner.io.read import RawBook
from planner.io.schema import ANNUAL_COST, ARR, HOURLY_COST, TABLE_SPECS, Date, Number, parse_date, parse_number

MONEY_KINDS = (ARR, ANNUAL_COST, HOURLY_COST)
SCALES = {
    "k": 1e3, "K": 1e3,
    "M": 1e6, "m": 1e6, "mn": 1e6, "MM": 1e6, "Mio": 1e6, "Mio.": 1e6,
    "B": 1e9, "bn": 1e9, "Bn": 1e9, "Mrd": 1e9, "Mrd.": 1e9,
}  # fmt: skip
SPACES = " \u00a0\u202f\u2009"
_ISO_DATETIME = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})[T ][0-9:.]+(Z|[+-][0-9:]+)?")
COMMON_DATE_FORMATS = ("%m/%d/%Y", "%d/%m/%Y", "%d.%m.%Y", "%Y/%m/%d", "%d-%m-%Y", "%m/%d/%y", "%d.%m.%y")
_EXAMPLES = {"en_US": "1,234,567.89", "de_DE": "1.234.567,89", "fr_FR": "1 234 567,89"}


@lru_cache(maxsize=64)
def _symbols(locale: str) -> tuple[str, str, tuple[int, int]]:
    """(decimal sign, group sign, grouping) of a babel locale name (de_DE)."""
    from babel import Locale
    from babel.numbers import get_decimal_symbol, get_group_symbol

    pattern = Locale.parse(locale).decimal_formats[None]
    return get_decimal_symbol(locale), get_group_symbol(locale), tuple(pattern.grouping)


@lru_cache(maxsize=1)
def _currency_codes() -> frozenset[str]:
    from babel.numbers import list_currencies

    return frozenset(list_currencies())


def _is_currency(text: str) -> bool:
    """A currency as written beside an amount: an ISO code (USD), or a symbol with up to 2 letters (€, US$, R$)."""
    if not text:
        return True
    if text.upper() in _currency_codes() and len(text) == 3:
        return True
    symbols = [c for c in text if unicodedata.category(c) == "Sc"]
    return len(symbols) == 1 and len(text) <= 3 and all(c.isalpha() or c in symbols for c in text)


def example(locale: str, money: bool) -> str:
    """How a number is written under `locale`, for messages."""
    decimal, group, _ = _symbols(locale)
    shown = _EXAMPLES.get(locale) or f"1{group}234{group}567{decimal}89"
    if not money:
        return shown
    return f"{shown}, {'€' if decimal == ',' else '$'}30{group}950 or 1{decimal}2M"


_AMOUNT = re.compile(
    r"(?P<sign>[-+]?)\s*(?P<pre>[^\d\s.,'+-]{0,4}?)\s*(?P<sign2>[-+]?)"
    r"(?P<num>\d[\d.,'" + SPACES + r"]*?)\s*(?P<scale>[A-Za-z]{1,3}\.?)?\s*(?P<post>[^\d\s.,']{0,4})"
)


def parse_amount(text: str, locale: str, money: bool) -> tuple[float, str] | None:
    """(value, currency as written) of a number written under `locale`; None when it is not one.

    Currency and scale are accepted only when `money`.
    """
    match = _AMOUNT.fullmatch(text.strip())
    if match is None:
        return None
    pre, post, scale = match["pre"], match["post"], match["scale"] or ""
    currency = (pre + post).strip()
    if (pre and post) or (currency and not money) or not _is_currency(currency):
        # a scale word like "Mio" may be taken for a currency: try it as the scale
        if money and post in SCALES and not scale:
            scale, post, currency = post, "", pre
            if not _is_currency(currency):
                return None
        else:
            return None
    if scale and (not money or scale not in SCALES):
        if money and _is_currency(scale) and not currency:
            currency, scale = scale, ""
        else:
            return None
    value = _locale_number(match["num"].strip(SPACES), locale)
    if value is None:
        return None
    if match["sign"] == "-" or match["sign2"] == "-":
        value = -value
    return value * SCALES.get(scale, 1.0), currency


def _locale_number(text: str, locale: str) -> float | None:
    decimal, group, (first, later) = _symbols(locale)
    groups = SPACES if group in SPACES else group
    whole, _, fraction = text.partition(decimal)
    if decimal in fraction or (fraction and not fraction.isdigit()):
        return None
    parts = re.split("[" + re.escape(groups) + "]", whole)
    if len(parts) > 1:
        if not parts[0].isdigit() or len(parts[0]) > (later if len(parts) > 2 else first):
            return None
        if len(parts[-1]) != first or not all(p.isdigit() for p in parts[1:]):
            return None
        if not all(len(p) == later for p in parts[1:-1]):
            return None
    elif not whole.isdigit():
        return None
    number = "".join(parts) + ("." + fraction if fraction else "")
    return parse_number(number)


def number_text(value: float) -> str:
    """A number as the checks read it: 1200000.0 -> '1200000', 0.5 -> '0.5'."""
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e18 else repr(float(value))


def looks_like_money(text: str) -> str | None:
    """The locale a plain-number cell would need ('en-US' for $30,950), or None when it is no amount at all."""
    for locale, shown in (("en_US", "en-US"), ("de_DE", "de-DE"), ("fr_FR", "fr-FR")):
        if parse_amount(text, locale, money=True) is not None:
            return shown
    return None


def parse_date_text(text: str, formats: tuple[str, ...]) -> dt.date | None:
    if parse_date(text) is not None:
        return parse_date(text)
    iso = _ISO_DATETIME.fullmatch(text)
    if iso and parse_date(iso[1]) is not None:
        return parse_date(iso[1])
    for fmt in formats:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _format_example(fmt: str) -> str:
    return dt.date(2026, 3, 31).strftime(fmt)


def convert_values(raw: RawBook, cmap: ColumnMap) -> tuple[RawBook, list[Finding]]:
    """Every table with its cells read under the map's settings; a finding per cell that cannot be read."""
    tables, findings = {}, []
    for name, table in raw.tables.items():
        frame = table.frame.copy()
        for spec in TABLE_SPECS[name].columns:
            if spec.name not in frame:
                continue
            entry = cmap.entries(name).get(spec.name)
            cells = frame[spec.name]
            if entry is not None and entry.values:
                translate = entry.translate()
                cells = cells.map(lambda t, table=translate: table.get(t.strip().lower(), t))
            if isinstance(spec.kind, Number):
                cells, more = _numbers(cells, spec.name, spec.kind in MONEY_KINDS, cmap.locale_for(name, spec.name))
            elif isinstance(spec.kind, Date):
                cells, more = _dates(cells, cmap.date_formats_for(name, spec.name))
            else:
                more = []
            frame[spec.name] = cells
            findings += [Finding("error", table.label, row, spec.name, message, rule) for row, message, rule in more]
        tables[name] = replace(table, frame=frame)
    return RawBook(raw.name, tables, raw.incomplete), findings


def _numbers(cells: pd.Series, column: str, money: bool, locale: str | None) -> tuple[pd.Series, list]:
    problems = []
    out = cells.copy()
    currencies: dict[str, list[int]] = {}
    for row, text in cells.items():
        if text == "" or parse_number(text) is not None and locale is None:
            continue
        if locale is None:
            if money and (needs := looks_like_money(text)):
                message = (
                    f"Expected a plain number such as 30950.00, got {text!r}, an amount written for a locale: "
                    f'set locale = "{needs}" under [options] in a map passed with --map MAP.toml (validate and import '
                    f"also take --locale {needs})"
                )
                problems.append((row, message, "amount_needs_locale"))
            continue
        parsed = parse_amount(text, locale, money)
        if parsed is None:
            shown = locale.replace("_", "-")
            what = "an amount" if money else "a number"
            message = f"Expected {what} written for {shown} (e.g. {example(locale, money)}), got {text!r}"
            problems.append((row, message, "bad_amount" if money else "bad_number"))
            continue
        value, currency = parsed
        if currency:
            currencies.setdefault(_currency_key(currency), []).append(row)
        out[row] = number_text(value)
    if len(currencies) > 1:
        counts = ", ".join(f"{c} {len(r):,}" for c, r in sorted(currencies.items(), key=lambda kv: -len(kv[1])))
        for key, rows in sorted(currencies.items(), key=lambda kv: -len(kv[1]))[1:]:
            for row in rows:
                message = (
                    f"Expected one currency in {column}, got {cells[row]!r} in {key} while the column has "
                    f"{counts}; convert the amounts to one currency first (the planner does not convert)"
                )
                problems.append((row, message, "mixed_currencies"))
                out[row] = cells[row]
    return out, problems


def _currency_key(currency: str) -> str:
    """How two spellings of one currency compare: '$' and 'USD' differ, but 'usd' and 'USD' do not."""
    return currency.upper() if len(currency) == 3 and currency.isalpha() else currency


def _dates(cells: pd.Series, formats: tuple[str, ...]) -> tuple[pd.Series, list]:
    problems = []
    out = cells.copy()
    for row, text in cells.items():
        if text == "" or parse_date(text) is not None:
            continue
        date = parse_date_text(text, formats)
        if date is not None:
            out[row] = date.isoformat()
        elif formats:
            shown = " or ".join(f"{f} (e.g. {_format_example(f)})" for f in formats)
            message = f"Expected a date written as {shown} or an ISO date YYYY-MM-DD, got {text!r}"
            problems.append((row, message, "malformed_date"))
        elif fits := [f for f in COMMON_DATE_FORMATS if parse_date_text(text, (f,)) is not None]:
            message = (
                f"Expected an ISO date YYYY-MM-DD (e.g. 2026-03-31), got {text!r}; if the column's dates are written "
                f'so, set date_format = "{fits[0]}" under [options] in the map (--map MAP.toml)'
            )
            problems.append((row, message, "malformed_date"))
    return out, problems

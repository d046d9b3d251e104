"""Synthetic books of business that look like a CS ops export and always have a plan.

Why: the planner needs inputs at every scale (a 40-account fixture for unit
tests, 50,000 accounts for benchmarks) with the mess of real exports: blank
segments and health scores, accounts owned by people who left, overloaded
CSMs, brand-new accounts. Yet a solver failure on a generated book must mean
a bug, not bad luck, so the book is built to be feasible under the default
policy (``models/default_policy.toml``):

* enterprise + mid-market hours at default modes fill at most ~85% of the
  active CSMs' capacity (``generate_book`` refuses smaller rosters);
* every enterprise account has an active CSM in its region who speaks its
  language within the enterprise time-zone gap;
* every mid-market account has an active CSM in its region within the
  mid-market gap who speaks its language, or a pool that covers it;
* SMB overflow goes to the digital program, which has no capacity limit.

Everything is drawn from ``numpy.random.Generator`` streams spawned from the
seed, and every date is relative to ``as_of``, so (accounts, csms, pools,
seed, as_of) gives byte-identical files. Work is vectorized over accounts;
Python loops run over small categories (regions, languages, time zones,
pools, groups of similar accounts), never over single accounts.
"""

from __future__ import annotations

import datetime as dt
import math
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from planner.book import TABLES
from planner.errors import UsageError
from planner.io.atomic import atomic_dir
from planner.io.csvtext import write_frame
from planner.policy import Policy, load_policy

ENT, MID, SMB = "enterprise", "mid_market", "smb"
REGIONS = ("NA", "EMEA", "APAC", "LATAM")
REGION_SHARE = (0.45, 0.30, 0.15, 0.10)


@dataclass(frozen=True)
class Site:
    """A city where CSMs or pools sit; local languages are the ones its CSMs may add to English."""

    name: str
    region: str
    utc_offset: float
    cost_index: float
    local_languages: tuple[str, ...] = ()


# Order matters: among equally near sites, an enterprise account's home is the
# first one listed (the flagship office); mid-market homes prefer cheap hubs.
SITES: tuple[Site, ...] = (
    Site("New York", "NA", -5, 1.40, ("es",)),
    Site("San Francisco", "NA", -8, 1.45, ("es",)),
    Site("Austin", "NA", -6, 1.10, ("es",)),
    Site("Toronto", "NA", -5, 1.05, ("fr",)),
    Site("London", "EMEA", 0, 1.30, ("fr",)),
    Site("Dublin", "EMEA", 0, 1.15, ("de", "fr")),
    Site("Berlin", "EMEA", 1, 1.10, ("de",)),
    Site("Paris", "EMEA", 1, 1.25, ("fr",)),
    Site("Amsterdam", "EMEA", 1, 1.20, ("nl", "de")),
    Site("Madrid", "EMEA", 1, 0.90, ("es",)),
    Site("Milan", "EMEA", 1, 1.00, ("it",)),
    Site("Dubai", "EMEA", 4, 1.15),
    Site("Lisbon", "EMEA", 0, 0.70, ("es", "fr")),
    Site("Krakow", "EMEA", 1, 0.60, ("de",)),
    Site("Sydney", "APAC", 10, 1.25),
    Site("Singapore", "APAC", 8, 1.15, ("zh",)),
    Site("Tokyo", "APAC", 9, 1.30, ("ja",)),
    Site("Seoul", "APAC", 9, 1.05, ("ko",)),
    Site("Manila", "APAC", 8, 0.45),
    Site("Bangalore", "APAC", 5.5, 0.40),
    Site("Sao Paulo", "LATAM", -3, 0.60, ("pt",)),
    Site("Mexico City", "LATAM", -6, 0.55, ("es",)),
    Site("Bogota", "LATAM", -5, 0.50, ("es",)),
    Site("Buenos Aires", "LATAM", -3, 0.55, ("es",)),
)
SITE_INDEX = {s.name: i for i, s in enumerate(SITES)}

# Where a region's customers are: (utc_offset, share, ((language, share), ...)).
# Languages hang off the time zone so a Japanese account sits at +9, not +5.5.
_EN = (("en", 1.0),)
_ES_LATAM = (("es", 0.95), ("en", 0.05))
ZONES: dict[str, tuple[tuple[float, float, tuple[tuple[str, float], ...]], ...]] = {
    "NA": (
        (-8, 0.30, (("en", 0.88), ("es", 0.12))),
        (-7, 0.08, (("en", 0.90), ("es", 0.10))),
        (-6, 0.25, (("en", 0.85), ("es", 0.15))),
        (-5, 0.37, (("en", 0.86), ("fr", 0.09), ("es", 0.05))),
    ),
    "EMEA": (
        (0, 0.24, _EN),
        (1, 0.50, (("de", 0.34), ("fr", 0.26), ("en", 0.14), ("es", 0.12), ("it", 0.09), ("nl", 0.05))),
        (2, 0.13, _EN),
        (3, 0.06, _EN),
        (4, 0.07, _EN),
    ),
    "APAC": (
        (5.5, 0.17, _EN),
        (7, 0.06, _EN),
        (8, 0.30, (("en", 0.55), ("zh", 0.45))),
        (9, 0.27, (("ja", 0.68), ("ko", 0.28), ("en", 0.04))),
        (10, 0.14, _EN),
        (12, 0.06, _EN),
    ),
    "LATAM": (
        (-6, 0.28, _ES_LATAM),
        (-5, 0.18, _ES_LATAM),
        (-4, 0.10, _ES_LATAM),
        (-3, 0.44, (("pt", 0.72), ("es", 0.24), ("en", 0.04))),
    ),
}

# ARR: a self-serve/SMB lognormal plus a sales-led one. One lognormal cannot
# give a ~$25k median with both ~6.5% >= $250k and ~23% in $50k..$250k.
ARR_SALES_LED_SHARE = 0.14
ARR_SELF_SERVE = (21_000, 1.0)  # (median, sigma of log)
ARR_SALES_LED = (210_000, 0.85)
ARR_RANGE = (1_200, 5_000_000)
BLANK_SEGMENT_SHARE = 0.30
STRATEGIC_BUMP_SHARE = 0.15  # of near-threshold accounts whose given segment is one higher

COMPLEXITY_P = {
    ENT: (0.01, 0.06, 0.25, 0.36, 0.32),
    MID: (0.04, 0.16, 0.36, 0.28, 0.16),
    SMB: (0.25, 0.35, 0.28, 0.10, 0.02),
}
STAGE_P = (
    ("onboarding", 0.14),
    ("adoption", 0.30),
    ("expansion", 0.20),
    ("renewal", 0.16),
    ("at_risk", 0.12),
    ("", 0.08),
)
HEALTH_BETA = (3.5, 2.0)  # mean ~64, a quarter of scored accounts below 50
BLANK_HEALTH_SHARE = 0.20
NEW_ACCOUNT_SHARE = 0.05
DEPARTED_OWNER_SHARE = 0.01

CAPACITY_CHOICES = ((100, 0.08), (110, 0.12), (115, 0.15), (120, 0.40), (125, 0.15), (130, 0.10))
MEAN_CAPACITY = sum(h * p for h, p in CAPACITY_CHOICES)
LEAVING_SHARE, ON_LEAVE_SHARE = 0.02, 0.015
# Refuse rosters that enterprise + mid-market would fill beyond this share.
MAX_PLANNED_UTILIZATION = 0.85
# Enterprise hours one protected CSM is counted on for (the smallest capacity, 85% full).
ENTERPRISE_LOAD = MAX_PLANNED_UTILIZATION * min(h for h, _ in CAPACITY_CHOICES)
MID_HUB_GAP = 2  # mid-market accounts are homed at the cheapest site this close
POOL_SMB_SHARE = 0.6  # pools are sized for this share of pooled SMB hours
OVERLOAD = 1.3  # current load of the deliberately overloaded CSMs
MID_POOLED_SHARE = 0.12  # mid-market accounts a pool owns today

POOL_GROUPS = {  # fewer pools than regions: shared pools (or none)
    0: (),
    1: (("Global Pooled CS", "Lisbon", REGIONS),),
    2: (("Americas Pooled CS", "Mexico City", ("NA", "LATAM")), ("EMEA & APAC Pooled CS", "Krakow", ("EMEA", "APAC"))),
    3: (
        ("Americas Pooled CS", "Mexico City", ("NA", "LATAM")),
        ("EMEA Pooled CS", "Lisbon", ("EMEA",)),
        ("APAC Pooled CS", "Manila", ("APAC",)),
    ),
}
POOL_SITES = {
    "NA": ("Austin", "Mexico City"),
    "EMEA": ("Lisbon", "Krakow"),
    "APAC": ("Manila", "Bangalore"),
    "LATAM": ("Sao Paulo", "Bogota"),
}

PRODUCTS = (
    ("prod_analytics", 0.80),
    ("prod_reporting", 0.60),
    ("prod_automation", 0.50),
    ("prod_integrations", 0.45),
    ("prod_security", 0.30),
    ("prod_mobile", 0.25),
    ("prod_ai_assistant", 0.20),
    ("prod_data_platform", 0.15),
)

NAME_WORDS = (
    "Blue",
    "North",
    "Bright",
    "Summit",
    "Silver",
    "Cedar",
    "Harbor",
    "Atlas",
    "Nimbus",
    "Orbit",
    "Pioneer",
    "Quantum",
    "Redwood",
    "Sterling",
    "Vertex",
    "Willow",
    "Apex",
    "Beacon",
    "Cobalt",
    "Delta",
    "Ember",
    "Falcon",
    "Granite",
    "Horizon",
    "Iron",
    "Juniper",
    "Keystone",
    "Lumen",
    "Meridian",
    "Nova",
    "Oak",
    "Pinnacle",
    "Raven",
    "Sapphire",
    "Tidal",
    "Union",
    "Vista",
    "Zenith",
    "Aurora",
    "Boreal",
    "Étoile",
    "Nordlicht",
    "Sakura",
    "Jade",
)
INDUSTRY_WORDS = (
    "Analytics",
    "Labs",
    "Systems",
    "Logistics",
    "Health",
    "Retail",
    "Foods",
    "Energy",
    "Capital",
    "Media",
    "Robotics",
    "Software",
    "Networks",
    "Biotech",
    "Insurance",
    "Motors",
    "Consulting",
    "Pharma",
    "Travel",
    "Education",
    "Security",
    "Telecom",
    "Manufacturing",
    "Payments",
    "Holdings",
)
LEGAL_FORMS = {
    ("NA", "en"): ("Inc.", "LLC", "Corp."),
    ("NA", "es"): ("Inc.", "LLC"),
    ("NA", "fr"): ("Inc.", "Ltée"),
    ("EMEA", "en"): ("Ltd", "PLC"),
    ("EMEA", "de"): ("GmbH", "AG"),
    ("EMEA", "fr"): ("SAS", "SA"),
    ("EMEA", "es"): ("S.L.", "S.A."),
    ("EMEA", "it"): ("S.p.A.", "S.r.l."),
    ("EMEA", "nl"): ("B.V.", "N.V."),
    ("APAC", "en"): ("Pte. Ltd.", "Pty Ltd", "Pvt. Ltd."),
    ("APAC", "ja"): ("K.K.",),
    ("APAC", "zh"): ("Co., Ltd.",),
    ("APAC", "ko"): ("Co., Ltd.",),
    ("LATAM", "es"): ("S.A. de C.V.", "S.A.S.", "S.A."),
    ("LATAM", "pt"): ("Ltda.", "S.A."),
    ("LATAM", "en"): ("S.A.",),
}
_ES_NAMES = (
    (
        "Alejandro",
        "Lucía",
        "Javier",
        "Sofía",
        "Diego",
        "María",
        "Pablo",
        "Valentina",
        "Andrés",
        "Camila",
        "Mateo",
        "Isabel",
    ),
    (
        "García",
        "Rodríguez",
        "Martínez",
        "López",
        "Hernández",
        "González",
        "Pérez",
        "Sánchez",
        "Ramírez",
        "Torres",
        "Flores",
        "Díaz",
    ),
)
PERSON_NAMES = {  # keyed by a CSM's local language, English by region
    "en_NA": (
        (
            "James",
            "Maria",
            "Emily",
            "Michael",
            "Sarah",
            "David",
            "Jessica",
            "Daniel",
            "Ashley",
            "Chris",
            "Priya",
            "Kevin",
        ),
        (
            "Smith",
            "Johnson",
            "Garcia",
            "Brown",
            "Miller",
            "Davis",
            "Wilson",
            "Anderson",
            "Taylor",
            "Lee",
            "Patel",
            "Nguyen",
        ),
    ),
    "en_EMEA": (
        ("Oliver", "Amelia", "Harry", "Isla", "George", "Sophie", "Jack", "Chloe", "Liam", "Aoife", "Noah", "Freya"),
        (
            "Walsh",
            "Murphy",
            "Evans",
            "Hughes",
            "O'Brien",
            "Clarke",
            "Roberts",
            "Khan",
            "Byrne",
            "Shaw",
            "Doyle",
            "Price",
        ),
    ),
    "en_APAC": (
        ("Ethan", "Mei", "Arjun", "Aisha", "Lucas", "Grace", "Ryan", "Ananya", "Joshua", "Olivia", "Rahul", "Hannah"),
        ("Tan", "Lim", "Wong", "Sharma", "Reyes", "Santos", "Kumar", "Nair", "Cooper", "Kelly", "Singh", "Chen"),
    ),
    "en_LATAM": _ES_NAMES,
    "es": _ES_NAMES,
    "de": (
        (
            "Lukas",
            "Anna",
            "Jonas",
            "Lea",
            "Felix",
            "Hannah",
            "Maximilian",
            "Sophie",
            "Paul",
            "Marie",
            "Jürgen",
            "Katharina",
        ),
        (
            "Müller",
            "Schmidt",
            "Schneider",
            "Fischer",
            "Weber",
            "Meyer",
            "Wagner",
            "Becker",
            "Hoffmann",
            "Schäfer",
            "Koch",
            "Wolf",
        ),
    ),
    "fr": (
        ("Louis", "Camille", "Hugo", "Léa", "Jules", "Chloé", "Gabriel", "Manon", "Arthur", "Inès", "Théo", "Élodie"),
        (
            "Martin",
            "Bernard",
            "Dubois",
            "Thomas",
            "Robert",
            "Richard",
            "Petit",
            "Durand",
            "Leroy",
            "Moreau",
            "Lefèvre",
            "Girard",
        ),
    ),
    "it": (
        (
            "Marco",
            "Giulia",
            "Luca",
            "Chiara",
            "Matteo",
            "Francesca",
            "Alessandro",
            "Sara",
            "Davide",
            "Martina",
            "Lorenzo",
            "Elena",
        ),
        (
            "Rossi",
            "Russo",
            "Ferrari",
            "Esposito",
            "Bianchi",
            "Romano",
            "Colombo",
            "Ricci",
            "Marino",
            "Greco",
            "Bruno",
            "Gallo",
        ),
    ),
    "nl": (
        ("Daan", "Emma", "Sem", "Julia", "Lars", "Sanne", "Bram", "Fleur", "Thijs", "Lotte", "Ruben", "Anouk"),
        (
            "de Jong",
            "Jansen",
            "de Vries",
            "van den Berg",
            "Bakker",
            "Visser",
            "Smit",
            "Meijer",
            "de Boer",
            "Mulder",
            "Bos",
            "Vos",
        ),
    ),
    "ja": (
        ("Haruto", "Yui", "Sota", "Aoi", "Ren", "Hina", "Yuto", "Sakura", "Kenji", "Yuki", "Takumi", "Mio"),
        (
            "Sato",
            "Suzuki",
            "Takahashi",
            "Tanaka",
            "Watanabe",
            "Ito",
            "Yamamoto",
            "Nakamura",
            "Kobayashi",
            "Kato",
            "Yoshida",
            "Yamada",
        ),
    ),
    "zh": (
        ("Wei", "Li Na", "Jun", "Xiu Ying", "Hao", "Mei Ling", "Jie", "Yan", "Ming", "Fang", "Hui", "Lei"),
        ("Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu", "Lin"),
    ),
    "ko": (
        (
            "Min-jun",
            "Seo-yeon",
            "Ji-ho",
            "Ha-eun",
            "Do-yun",
            "Ji-woo",
            "Seo-jun",
            "Su-bin",
            "Ye-jin",
            "Hyun-woo",
            "Eun-ji",
            "Jae-won",
        ),
        ("Kim", "Lee", "Park", "Choi", "Jung", "Kang", "Cho", "Yoon", "Jang", "Lim", "Han", "Shin"),
    ),
    "pt": (
        (
            "João",
            "Ana",
            "Pedro",
            "Mariana",
            "Lucas",
            "Beatriz",
            "Gabriel",
            "Juliana",
            "Rafael",
            "Larissa",
            "Mateus",
            "Fernanda",
        ),
        (
            "Silva",
            "Santos",
            "Oliveira",
            "Souza",
            "Rodrigues",
            "Ferreira",
            "Alves",
            "Pereira",
            "Lima",
            "Gomes",
            "Costa",
            "Ribeiro",
        ),
    ),
}
EMAIL_DOMAIN = "example.com"

ACCOUNT_COLUMNS = (
    "account_id",
    "account_name",
    "arr",
    "segment",
    "complexity",
    "region",
    "utc_offset",
    "language",
    "health",
    "renewal_date",
    "lifecycle_stage",
    "current_owner",
    "crm_id",
    "hubspot_id",
)
CSM_COLUMNS = (
    "csm_id",
    "name",
    "email",
    "location",
    "region",
    "utc_offset",
    "languages",
    "segments",
    "capacity_hours",
    "max_accounts",
    "max_arr",
    "annual_cost",
    "status",
    "return_date",
    "crm_user_id",
    "hubspot_owner_id",
)
POOL_COLUMNS = (
    "pool_id",
    "name",
    "location",
    "regions",
    "languages",
    "segments",
    "fte",
    "capacity_hours",
    "hourly_cost",
    "crm_user_id",
    "email",
    "hubspot_owner_id",
)
PROGRAM_COLUMNS = ("program_id", "name", "email", "crm_user_id", "hubspot_owner_id")
LOCATION_COLUMNS = ("location", "region", "utc_offset", "cost_index")
RELATIONSHIP_COLUMNS = ("source", "target", "kind", "strength", "since", "until")


# --------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------
def generate_book(
    accounts: int,
    csms: int,
    pools: int | None = None,
    seed: int = 0,
    as_of: dt.date | None = None,
) -> dict[str, pd.DataFrame]:
    """A synthetic book as the six user-style tables (see the module docstring); programs is the digital program's CRM identity.

    `pools` defaults to max(2, min(6, accounts // 2000 + 2)); `as_of` to
    today. Raises UsageError (a ValueError; exit 2 in the CLI) when `csms` is too small for a feasible book.
    """
    if accounts < 1 or csms < 1 or (pools is not None and pools < 0):
        raise UsageError(f"expected accounts >= 1, csms >= 1 and pools >= 0, got {accounts}, {csms}, {pools}")
    policy = load_policy()
    as_of = dt.date.today() if as_of is None else as_of
    n_pools = max(2, min(6, accounts // 2000 + 2)) if pools is None else pools
    # Stream 5 is newer than the others: spawn(6)[:5] == spawn(5), so adding it changed no earlier draw.
    streams = np.random.SeedSequence(seed).spawn(6)
    acc = _draw_accounts(accounts, np.random.default_rng(streams[0]), as_of, policy)
    _require_enough_csms(acc, csms)
    roster = _draw_csms(csms, acc, n_pools, np.random.default_rng(streams[1]), as_of, policy)
    pool_tab = _draw_pools(n_pools, acc, np.random.default_rng(streams[2]), policy)
    _cover_mid_market(acc, roster, pool_tab, policy)
    owner_csm = _assign_current_owners(acc, roster, pool_tab, np.random.default_rng(streams[3]), policy)
    relationships = _relationships(acc, roster, owner_csm, np.random.default_rng(streams[4]), as_of)
    programs = _crm_identities(acc, roster, pool_tab, np.random.default_rng(streams[5]), policy)
    return {
        "accounts": acc.loc[:, list(ACCOUNT_COLUMNS)].reset_index(drop=True),
        "csms": _roster_table(roster),
        "pools": _pool_table(pool_tab),
        "programs": programs,
        "locations": _locations_table(),
        "relationships": relationships,
    }


def write_book(tables: dict[str, pd.DataFrame], out_dir: str | Path, force: bool = False) -> Path:
    """Write the six tables as `<table>.csv` (UTF-8, LF) into a new folder, atomically.

    An existing folder is refused unless `force`; either way readers never
    see a half-written book.

    Written by the planner's one CSV writer (planner.io.csvtext) with text
    cells *verbatim* (``safe=False``), unlike every output of the planner: a
    book is input, and the loader reads each cell literally -- it must not
    strip a leading quote, since a user's own cell ``'abc`` is the text 'abc
    -- so a neutralized cell would read back with an extra quote. Nothing is
    lost in safety: the generator's text (ids, names from fixed lists, emails,
    ISO dates, codes) never starts with a formula character (only numbers
    such as a utc_offset of -5 start with '-'; tests/test_csv_safety.py
    checks it), and every output the planner makes from a book is neutralized.
    """
    missing = [t for t in TABLES if t not in tables]
    if missing:
        raise ValueError(f"expected the tables {list(TABLES)}, missing {missing}")
    out = Path(out_dir)
    with atomic_dir(out, force=force, kind="book") as tmp:
        for name in TABLES:
            write_frame(tables[name], tmp / f"{name}.csv", safe=False)
    return out


# --------------------------------------------------------------------------
# accounts
# --------------------------------------------------------------------------
def _draw_accounts(n: int, rng: np.random.Generator, as_of: dt.date, policy: Policy) -> pd.DataFrame:
    """The accounts table plus private `_`-columns (effective segment, hours, new) the later steps need."""
    region = np.array(REGIONS)[rng.choice(len(REGIONS), size=n, p=REGION_SHARE)]
    offset, language = _draw_zones(region, rng)
    arr = _draw_arr(n, rng)
    given, segment = _draw_segments(arr, rng, policy)
    complexity = _draw_by_segment(segment, COMPLEXITY_P, rng) + 1
    new = np.zeros(n, dtype=bool)
    new[rng.permutation(n)[: round(NEW_ACCOUNT_SHARE * n)]] = True
    health = np.round(rng.beta(*HEALTH_BETA, size=n) * 100)
    health[rng.random(n) < np.where(new, 0.6, BLANK_HEALTH_SHARE)] = np.nan
    # New accounts just signed an annual contract; the rest renew over the next year.
    days = np.where(new, rng.integers(300, 366, n), rng.integers(1, 366, n))
    stage = _draw_stages(days, health, new, rng)
    hours = _account_hours(segment, complexity, stage, health, policy)
    crm = _salesforce_ids("001", n, rng)
    # Every account has its CRM ids, so each export format loads a generated book whole. (This draw once
    # blanked 4% of them; it is kept so the rest of the stream, and every book a seed gave, stays the same.)
    rng.random(n)
    return pd.DataFrame(
        {
            "account_id": _ids("acc_", n, 6),
            "account_name": _company_names(region, language, rng),
            "arr": arr,
            "segment": given,
            "complexity": complexity,
            "region": region,
            "utc_offset": offset,
            "language": language,
            "health": pd.array(health, dtype="Int64"),
            "renewal_date": _iso_dates(as_of, days),
            "lifecycle_stage": stage,
            "current_owner": "",
            "crm_id": crm,
            "_segment": segment,
            "_hours": hours,
            "_new": new,
        }
    )


def _draw_zones(region: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """UTC offset and language per account, from the region's time zones and each zone's languages."""
    offset = np.zeros(region.size)
    language = np.full(region.size, "en", dtype="<U2")
    for r in REGIONS:
        rows = np.flatnonzero(region == r)
        zones = ZONES[r]
        zone = rng.choice(len(zones), size=rows.size, p=[w for _, w, _ in zones])
        offset[rows] = np.array([z[0] for z in zones], dtype=float)[zone]
        for k, (_, _, langs) in enumerate(zones):
            zr = rows[zone == k]
            codes = np.array([code for code, _ in langs])
            language[zr] = codes[rng.choice(len(langs), size=zr.size, p=[p for _, p in langs])]
    return offset, language


def _draw_arr(n: int, rng: np.random.Generator) -> np.ndarray:
    """Whole-ten-dollar ARR from the self-serve / sales-led mixture, clipped to a plausible range."""
    sales_led = rng.random(n) < ARR_SALES_LED_SHARE
    median = np.where(sales_led, ARR_SALES_LED[0], ARR_SELF_SERVE[0])
    sigma = np.where(sales_led, ARR_SALES_LED[1], ARR_SELF_SERVE[1])
    arr = np.exp(np.log(median) + sigma * rng.standard_normal(n))
    return (np.round(np.clip(arr, *ARR_RANGE) / 10) * 10).astype(np.int64)


def _segments_from_arr(arr: np.ndarray, policy: Policy) -> np.ndarray:
    """Vectorized Policy.segment_for_arr: the first segment whose threshold the ARR reaches."""
    segment = np.full(arr.shape, policy.segments[-1], dtype=object)
    for s in reversed(policy.segments):
        segment[arr >= policy.arr_thresholds[s]] = s
    return segment


def _draw_segments(arr: np.ndarray, rng: np.random.Generator, policy: Policy) -> tuple[np.ndarray, np.ndarray]:
    """(segment column as exported, effective segment).

    ~30% of cells are blank so the loader derives them from ARR; a few
    near-threshold accounts are given the next segment up (strategic logos),
    as real books do.
    """
    derived = _segments_from_arr(arr, policy)
    given = derived.copy()
    up = {MID: ENT, SMB: MID}
    for low, high in up.items():
        near = (derived == low) & (arr >= 0.6 * policy.arr_thresholds[high])
        given[near & (rng.random(arr.size) < STRATEGIC_BUMP_SHARE)] = high
    blank = rng.random(arr.size) < BLANK_SEGMENT_SHARE
    effective = np.where(blank, derived, given)
    return np.where(blank, "", given).astype(str), effective.astype(str)


def _draw_by_segment(segment: np.ndarray, probs: dict[str, tuple[float, ...]], rng: np.random.Generator) -> np.ndarray:
    """A category index per account from its segment's distribution."""
    out = np.zeros(segment.size, dtype=np.int64)
    for s, p in probs.items():
        rows = np.flatnonzero(segment == s)
        out[rows] = rng.choice(len(p), size=rows.size, p=p)
    return out


def _draw_stages(days: np.ndarray, health: np.ndarray, new: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Lifecycle stage: renewal near the renewal date, at_risk when unhealthy, onboarding when new."""
    names = np.array([s for s, _ in STAGE_P], dtype=object)
    stage = names[rng.choice(len(STAGE_P), size=days.size, p=[p for _, p in STAGE_P])]
    roll = rng.random(days.size)
    stage[(days <= 90) & (roll < 0.45)] = "renewal"
    stage[(health < 40) & (roll < 0.5)] = "at_risk"
    stage[new & (roll < 0.9)] = "onboarding"
    return stage.astype(str)


def _account_hours(
    segment: np.ndarray, complexity: np.ndarray, stage: np.ndarray, health: np.ndarray, policy: Policy
) -> np.ndarray:
    """Monthly hours at a named CSM, per the policy's [workload] model."""
    base = pd.Series(segment).map(policy.base_hours).to_numpy(float)
    cm = np.array([policy.complexity_mult[k] for k in range(1, 6)])[complexity - 1]
    sm = pd.Series(stage).map(policy.stage_mult).fillna(1.0).to_numpy(float)
    hm = np.where(health < policy.low_health_below, policy.low_health_mult, 1.0)
    return base * cm * sm * hm


def _company_names(region: np.ndarray, language: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """'Word [Word] Industry Form', the legal form following the region and language."""
    n = region.size
    words = np.array(NAME_WORDS, dtype=object)
    first = rng.integers(len(words), size=n)
    second = (first + rng.integers(1, len(words), size=n)) % len(words)  # never the first word again
    middle = np.where(rng.random(n) < 0.45, " " + words[second], "")
    industry = np.array(INDUSTRY_WORDS, dtype=object)[rng.integers(len(INDUSTRY_WORDS), size=n)]
    form = np.empty(n, dtype=object)
    for (r, lang), forms in LEGAL_FORMS.items():
        rows = np.flatnonzero((region == r) & (language == lang))
        form[rows] = np.array(forms, dtype=object)[rng.integers(len(forms), size=rows.size)]
    return (words[first] + middle + " " + industry + " " + form).astype(str)


# --------------------------------------------------------------------------
# CSMs
# --------------------------------------------------------------------------
def _require_enough_csms(acc: pd.DataFrame, csms: int) -> None:
    """Refuse rosters that enterprise + mid-market work would overfill (the feasibility promise)."""
    hours = acc.loc[acc["_segment"] != SMB, "_hours"].sum()
    usable = MAX_PLANNED_UTILIZATION * MEAN_CAPACITY * (1 - LEAVING_SHARE - ON_LEAVE_SHARE)
    needed = math.ceil(hours / usable)
    if csms < needed:
        raise UsageError(
            f"{len(acc)} accounts need {hours:,.0f} enterprise and mid-market hours a month: "
            f"expected at least {needed} CSMs (--csms), got {csms}"
        )


def _gap(a, b):
    """Circular time-zone distance in hours (+12 and -11 are 1 hour apart)."""
    d = np.abs(np.asarray(a, float) - np.asarray(b, float)) % 24
    return np.minimum(d, 24 - d)


def _region_sites(region: str) -> list[int]:
    return [i for i, s in enumerate(SITES) if s.region == region]


def _home_site(region: str, segment: str, language: str, offset: float) -> int:
    """The site whose CSMs should serve this kind of account.

    Enterprise: the nearest site that can speak the language (flagship
    offices first). Mid-market: the cheapest such site within MID_HUB_GAP
    hours, as CS teams put scaled coverage in lower-cost hubs.
    """
    cands = [i for i in _region_sites(region) if language == "en" or language in SITES[i].local_languages]
    gaps = _gap([SITES[i].utc_offset for i in cands], offset)
    if segment == MID:
        near = [i for i, g in zip(cands, gaps, strict=True) if g <= MID_HUB_GAP]
        if near:
            return min(near, key=lambda i: SITES[i].cost_index)
    return cands[int(np.argmin(gaps))]


def _profile_languages(*languages: str) -> tuple[str, ...]:
    """A CSM's languages: English first, then the others sorted."""
    return ("en", *sorted({lang for lang in languages if lang != "en"}))


def _anchor_profiles(points: pd.DataFrame, region: str, max_gap: float, merge_languages: bool) -> list[tuple[int, str]]:
    """Fewest (site, 'en;..' languages) CSMs so every enterprise (language, offset) point has a covering CSM.

    Greedy weighted set cover (largest uncovered hours first, ties in site
    order). With `merge_languages` a CSM may speak every language of the
    points it covers: fewer anchors for tiny rosters, at the price of
    polyglot CSMs.
    """
    sites = _region_sites(region)
    langs = points["language"].to_numpy()
    offs = points["utc_offset"].to_numpy(float)
    hours = points["_hours"].to_numpy(float)
    if merge_languages:
        cands = [(i, None) for i in sites]
    else:
        cands = [(i, lang) for i in sites for lang in ("en", *SITES[i].local_languages)]
    speaks = {lang: (langs == lang) | (langs == "en") for _, lang in cands if lang is not None}
    cover = np.array(
        [(_gap(SITES[i].utc_offset, offs) <= max_gap) & speaks.get(lang, True) for i, lang in cands]
    ).reshape(len(cands), len(points))
    uncovered = np.ones(len(points), dtype=bool)
    chosen = []
    while uncovered.any():
        best = int(np.argmax((cover & uncovered) @ hours))
        site, lang = cands[best]
        newly = cover[best] & uncovered
        if not newly.any():  # SITES or ZONES edited so that no site can serve these accounts
            raise RuntimeError(f"no {region} site can serve enterprise accounts in {sorted(set(langs[uncovered]))}")
        chosen.append((site, ";".join(_profile_languages(*(langs[newly] if lang is None else [lang])))))
        uncovered &= ~cover[best]
    return chosen


def _apportion(total: int, weights, minimum) -> np.ndarray:
    """Split `total` into integers proportional to `weights`, each at least `minimum` (largest remainder)."""
    w = np.asarray(weights, dtype=float)
    mins = np.asarray(minimum, dtype=np.int64)
    if mins.sum() > total:
        raise UsageError(f"expected at least {mins.sum()} to share out, got {total}")
    if w.sum() <= 0:
        w = np.ones_like(w)
    quota = total * w / w.sum()
    alloc = np.maximum(mins, np.floor(quota).astype(np.int64))
    while alloc.sum() > total:
        spare = np.flatnonzero(alloc > mins)
        alloc[spare[np.argmin((quota - alloc)[spare])]] -= 1
    order = np.argsort(-(quota - alloc), kind="stable")
    alloc[order[: total - alloc.sum()]] += 1
    return alloc


def _csm_slots(n: int, acc: pd.DataFrame, n_pools: int, policy: Policy) -> pd.DataFrame:
    """One row per CSM: region, site, languages, protected flag, and its profile's enterprise share of hours.

    Regions, then (site, languages) profiles within a region, get CSMs in
    proportion to enterprise + mid-market hours, above minimums that keep
    the feasibility promise: the coverage anchors, enough speakers of each
    language for its enterprise hours, enough CSMs for the region's
    enterprise hours. The CSMs filling those minimums are protected: they
    stay active generalists.
    """
    served = acc[acc["_segment"] != SMB]
    combos = served.groupby(["region", "_segment", "language", "utc_offset"], sort=True)["_hours"].sum().reset_index()
    combos["site"] = [
        _home_site(r, s, lang, o)
        for r, s, lang, o in combos[["region", "_segment", "language", "utc_offset"]].itertuples(index=False)
    ]
    combos["languages"] = [";".join(_profile_languages(lang)) for lang in combos["language"]]
    combos["ent_hours"] = np.where(combos["_segment"] == ENT, combos["_hours"], 0.0)
    by_region = {r: combos[combos["region"] == r] for r in REGIONS}
    max_gap = policy.tz_max_gap_hours[ENT]
    region_hours = combos.groupby("region")[["_hours", "ent_hours"]].sum().reindex(REGIONS, fill_value=0.0)

    def minimums(profiles: dict[str, pd.DataFrame]) -> list[int]:
        return [
            max(
                int(profiles[r]["min"].sum()),
                math.ceil(region_hours.at[r, "ent_hours"] / ENTERPRISE_LOAD),
                int(n_pools == 0 and region_hours.at[r, "_hours"] > 0),
            )
            for r in REGIONS
        ]

    profiles = {}
    for merge in (False, True):  # polyglot anchors only when the roster is too small otherwise
        profiles = {
            r: _region_profiles(r, c, _anchor_profiles(c[c["_segment"] == ENT], r, max_gap, merge))
            for r, c in by_region.items()
        }
        mins = minimums(profiles)
        if sum(mins) <= n:
            break
    else:
        raise UsageError(f"expected at least {sum(mins)} CSMs to cover every region's enterprise accounts, got {n}")
    per_region = _apportion(n, region_hours["_hours"].to_numpy(), mins)
    return pd.concat(
        [_region_slots(r, int(k), profiles[r]) for r, k in zip(REGIONS, per_region, strict=True) if k],
        ignore_index=True,
    )


def _region_profiles(region: str, combos: pd.DataFrame, anchors: list[tuple[int, str]]) -> pd.DataFrame:
    """A region's (site, languages) profiles: hours, enterprise hours and the minimum CSMs each needs.

    The minimum is its coverage anchors, raised where a language's speakers
    could not carry its enterprise hours: the shortfall goes to the profile
    with most enterprise hours in that language.
    """
    prof = combos.groupby(["site", "languages"], sort=True)[["_hours", "ent_hours"]].sum()
    anchor_count = (
        pd.Series(1, index=pd.MultiIndex.from_tuples(anchors, names=["site", "languages"])).groupby(level=[0, 1]).sum()
    )
    prof = prof.reindex(prof.index.union(anchor_count.index), fill_value=0.0)
    if prof.empty:  # a region with no served accounts: its flagship site
        prof = pd.DataFrame(
            {"_hours": [0.0], "ent_hours": [0.0]},
            index=pd.MultiIndex.from_tuples([(_region_sites(region)[0], "en")], names=["site", "languages"]),
        )
    prof["min"] = anchor_count.reindex(prof.index, fill_value=0).astype(np.int64)
    spoken = prof.index.get_level_values("languages").str.split(";")
    ent_by_language = combos[combos["ent_hours"] > 0].groupby("language")["ent_hours"].sum()
    for language, hours in ent_by_language.drop("en", errors="ignore").items():
        speaks = np.array([language in langs for langs in spoken])
        short = math.ceil(hours / ENTERPRISE_LOAD) - prof.loc[speaks, "min"].sum()
        if short > 0:
            prof.loc[prof.loc[speaks, "ent_hours"].idxmax(), "min"] += short
    return prof


def _region_slots(region: str, n: int, prof: pd.DataFrame) -> pd.DataFrame:
    """Share a region's CSMs among its profiles; each profile's first `min` CSMs are protected."""
    alloc = _apportion(n, prof["_hours"].to_numpy(), prof["min"].to_numpy())
    share = (prof["ent_hours"] / prof["_hours"].where(prof["_hours"] > 0)).fillna(1.0).to_numpy()
    out = []
    for (site, languages), k, m, s in zip(prof.index, alloc, prof["min"], share, strict=True):
        out.extend((region, site, languages, j < m, s) for j in range(int(k)))
    return pd.DataFrame(out, columns=["region", "site", "languages", "protected", "ent_share"])


def _draw_csms(
    n: int, acc: pd.DataFrame, n_pools: int, rng: np.random.Generator, as_of: dt.date, policy: Policy
) -> pd.DataFrame:
    """The roster, with languages and segments also as tuples in private columns."""
    slots = _csm_slots(n, acc, n_pools, policy)
    slots = slots.iloc[rng.permutation(len(slots))].reset_index(drop=True)  # export order is not by office
    site = slots["site"].to_numpy()
    languages = _add_local_languages(slots, rng)
    segments = _draw_csm_segments(slots, rng)
    status, return_date = _draw_status(slots, rng, as_of)
    caps = np.array([h for h, _ in CAPACITY_CHOICES])[
        rng.choice(len(CAPACITY_CHOICES), size=n, p=[p for _, p in CAPACITY_CHOICES])
    ]
    _keep_capacity(slots, acc, caps, segments, status, return_date)
    cost_index = np.array([SITES[i].cost_index for i in site])
    seniority = np.select([segments == "enterprise", segments == "mid_market;smb"], [1.10, 0.92], 1.0)
    cost = policy.csm_default_annual_cost * cost_index * seniority * np.exp(rng.normal(0, 0.08, n))
    name_key = [
        next((x for x in langs if x != "en"), f"en_{r}") for langs, r in zip(languages, slots["region"], strict=True)
    ]
    names, emails = _person_names(np.array(name_key), rng)
    roster = pd.DataFrame(
        {
            "csm_id": _ids("csm_", n, 3),
            "name": names,
            "email": emails,
            "location": [SITES[i].name for i in site],
            "region": slots["region"].to_numpy(),
            "utc_offset": [float(SITES[i].utc_offset) for i in site],
            "languages": [";".join(x) for x in languages],
            "segments": segments,
            "capacity_hours": caps,
            "max_accounts": np.select(
                [segments == "enterprise", segments == "mid_market;smb"], [25, 60], policy.csm_default_max_accounts
            ),
            "max_arr": 0,
            "annual_cost": (np.round(cost / 500) * 500).astype(np.int64),
            "status": status,
            "return_date": return_date,
            "crm_user_id": _salesforce_ids("005", n, rng),
            "_languages": languages,
            "_segments": [tuple(s.split(";")) if s else tuple(policy.segments) for s in segments],
        }
    )
    roster["max_arr"] = _max_arr(roster, acc)
    return roster


def _add_local_languages(slots: pd.DataFrame, rng: np.random.Generator) -> list[tuple[str, ...]]:
    """Profile languages; a fifth of English-only, unprotected CSMs also speak a local language."""
    roll = rng.random(len(slots))
    pick = rng.integers(0, 1 << 16, len(slots))
    out = []
    for langs, site, protected, r, k in zip(
        slots["languages"], slots["site"], slots["protected"], roll, pick, strict=True
    ):
        local = SITES[site].local_languages
        if langs == "en" and not protected and local and r < 0.2:
            langs = local[k % len(local)]
        out.append(_profile_languages(*langs.split(";")))
    return out


def _draw_csm_segments(slots: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Mostly blank (all segments); some specialists where the profile's work is mostly one kind.

    Protected CSMs stay generalists so the coverage guarantee never depends
    on a tag, and so do teams of fewer than five: small teams don't specialize.
    """
    roll = rng.random(len(slots))
    team = slots.groupby("region")["region"].transform("size").to_numpy()
    free = ~slots["protected"].to_numpy() & (team >= 5)
    share = slots["ent_share"].to_numpy()
    out = np.full(len(slots), "", dtype=object)
    out[free & (share >= 0.7) & (roll < 0.3)] = "enterprise"
    out[free & (share <= 0.3) & (roll < 0.3)] = "mid_market;smb"
    return out.astype(str)


def _draw_status(slots: pd.DataFrame, rng: np.random.Generator, as_of: dt.date) -> tuple[np.ndarray, np.ndarray]:
    """A couple of CSMs leaving or on leave, never protected ones.

    The protected CSMs alone cover every enterprise language and time zone,
    each language with room for its enterprise hours, so an absence never
    strands an account; _keep_capacity takes back absences a small team
    cannot spare.
    """
    n = len(slots)
    status = np.full(n, "active", dtype=object)
    return_date = np.full(n, "", dtype=object)
    spare = np.flatnonzero(~slots["protected"].to_numpy())
    n_leaving = max(1, round(LEAVING_SHARE * n)) if n >= 4 else 0
    n_leave = max(1, round(ON_LEAVE_SHARE * n)) if n >= 10 else 0
    chosen = rng.permutation(spare)[: n_leaving + n_leave]
    status[chosen[:n_leaving]] = "leaving"
    on_leave = chosen[n_leaving:]
    status[on_leave] = "on_leave"
    return_date[on_leave] = _iso_dates(as_of, rng.integers(14, 121, on_leave.size))
    return status.astype(str), return_date.astype(str)


def _keep_capacity(
    slots: pd.DataFrame,
    acc: pd.DataFrame,
    caps: np.ndarray,
    segments: np.ndarray,
    status: np.ndarray,
    return_date: np.ndarray,
) -> None:
    """Undo absences and specialist tags that would break the capacity promise.

    In a small team one leaving CSM or one mid-market specialist is a large
    share of it: the team, or the region short of enterprise capacity,
    keeps them as active generalists.
    """
    named_hours = acc.loc[acc["_segment"] != SMB, "_hours"].sum()
    if named_hours > MAX_PLANNED_UTILIZATION * caps[status == "active"].sum():
        status[:] = "active"
        return_date[:] = ""
    if named_hours > MAX_PLANNED_UTILIZATION * caps.sum():  # _require_enough_csms estimated with the mean capacity
        raise UsageError(
            f"{len(acc)} accounts need {named_hours:,.0f} enterprise and mid-market hours a month: expected more than {len(caps)} CSMs"
        )
    ent_hours = acc.loc[acc["_segment"] == ENT].groupby("region")["_hours"].sum()
    for r in REGIONS:
        rows = (slots["region"] == r).to_numpy()
        able = rows & (segments != "mid_market;smb") & (status == "active")
        if ent_hours.get(r, 0.0) > MAX_PLANNED_UTILIZATION * caps[able].sum():
            segments[rows & (segments == "mid_market;smb")] = ""
            status[rows] = "active"
            return_date[rows] = ""


def _max_arr(roster: pd.DataFrame, acc: pd.DataFrame) -> np.ndarray:
    """ARR caps with room: 1.5x the region's served ARR per active CSM, in $0.5M steps.

    Enterprise-capable CSMs can also hold the region's largest enterprise
    account, so no account is too big for every CSM.
    """
    step = 500_000
    served = acc[acc["_segment"] != SMB]
    active = roster["status"] == "active"
    out = np.zeros(len(roster), dtype=np.int64)
    for r in REGIONS:
        rows = (roster["region"] == r).to_numpy()
        if not rows.any():
            continue
        arr_r = served.loc[served["region"] == r, "arr"]
        base = 1.5 * arr_r.sum() / max(1, int((rows & active).sum()))
        biggest = 1.15 * served.loc[(served["region"] == r) & (served["_segment"] == ENT), "arr"].max(skipna=True)
        ent_ok = roster["_segments"].map(lambda s: ENT in s).to_numpy()
        cap = np.where(ent_ok, max(base, 0 if np.isnan(biggest) else biggest), base)
        out[rows] = (np.clip(np.ceil(cap[rows] / step) * step, 2_500_000, 10_000_000)).astype(np.int64)
    return out


def _person_names(keys: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Full names from the key's name lists and unique ASCII emails (first.last, numbered on clashes)."""
    first = np.empty(keys.size, dtype=object)
    last = np.empty(keys.size, dtype=object)
    for key, (firsts, lasts) in PERSON_NAMES.items():
        rows = np.flatnonzero(keys == key)
        first[rows] = np.array(firsts, dtype=object)[rng.integers(len(firsts), size=rows.size)]
        last[rows] = np.array(lasts, dtype=object)[rng.integers(len(lasts), size=rows.size)]
    names = (first + " " + last).astype(str)
    local = pd.Series([f"{_ascii(f)}.{_ascii(s)}" for f, s in zip(first, last, strict=True)])
    clash = local.groupby(local).cumcount()
    emails = local.where(clash == 0, local + (clash + 1).astype(str)) + "@" + EMAIL_DOMAIN
    return names, emails.to_numpy(dtype=str)


def _ascii(text: str) -> str:
    """'Jürgen' -> 'jurgen', 'van den Berg' -> 'vandenberg', 'O'Brien' -> 'obrien'."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in folded.lower() if c.isalnum() or c == "-")


# --------------------------------------------------------------------------
# pools and coverage
# --------------------------------------------------------------------------
def _pool_plan(n: int, smb_hours: pd.Series) -> list[tuple[str, str, tuple[str, ...], bool]]:
    """(name, site, regions, serves mid-market) per pool.

    Up to three pools share regions; from four on every region has one and
    extra pools go where SMB hours are. A region's first pool also takes
    mid-market; extra pools are SMB only.
    """
    if n in POOL_GROUPS:
        return [(name, site, regions, True) for name, site, regions in POOL_GROUPS[n]]
    per_region = _apportion(n, smb_hours.reindex(REGIONS, fill_value=0.0).to_numpy(), [1] * len(REGIONS))
    plan = []
    for r, k in zip(REGIONS, per_region, strict=True):
        for j in range(int(k)):
            site = POOL_SITES[r][j % len(POOL_SITES[r])]
            name = (
                f"{r} Pooled CS"
                if k == 1
                else f"{r} Pooled CS {site}" + (f" {j // len(POOL_SITES[r]) + 1}" if k > len(POOL_SITES[r]) else "")
            )
            plan.append((name, site, (r,), j == 0))
    return plan


def _draw_pools(n: int, acc: pd.DataFrame, rng: np.random.Generator, policy: Policy) -> pd.DataFrame:
    """Pools in low-cost hubs, sized for POOL_SMB_SHARE of their regions' pooled SMB hours.

    They speak English plus every language with >= 2% of their regions'
    SMB and mid-market accounts; the digital program takes the SMB rest.
    """
    smb = acc[acc["_segment"] == SMB]
    smb_hours = smb.groupby("region")["_hours"].sum() * policy.pool_efficiency
    plan = _pool_plan(n, smb_hours)
    pools_in_region = pd.Series([r for _, _, regions, _ in plan for r in regions]).value_counts()
    scaled = acc[acc["_segment"] != ENT]
    rows = []
    for name, site, regions, takes_mid in plan:
        hours = sum(smb_hours.get(r, 0.0) / pools_in_region[r] for r in regions)
        fte = max(0.5, round(2 * POOL_SMB_SHARE * hours / policy.pool_hours_per_fte) / 2)
        share = scaled.loc[scaled["region"].isin(regions), "language"].value_counts(normalize=True)
        langs = _profile_languages(*sorted(share.index[share >= 0.02]))
        rows.append(
            {
                "name": name,
                "location": site,
                "_regions": regions,
                "_languages": langs,
                "_segments": (MID, SMB) if takes_mid else (SMB,),
                "fte": fte,
                "capacity_hours": fte * policy.pool_hours_per_fte,
                "hourly_cost": round(policy.pool_default_hourly_cost * SITES[SITE_INDEX[site]].cost_index, 2),
            }
        )
    pools = pd.DataFrame(
        rows,
        columns=["name", "location", "_regions", "_languages", "_segments", "fte", "capacity_hours", "hourly_cost"],
    )
    pools.insert(0, "pool_id", _ids("pool_", len(pools), 2))
    pools["crm_user_id"] = _salesforce_ids("005", len(pools), rng, block=1)  # a block apart from the CSMs' ids
    return pools


def _csm_covers(
    roster: pd.DataFrame,
    segment: str,
    region: str,
    language: str,
    offset: float,
    policy: Policy,
    active_only: bool = True,
) -> np.ndarray:
    """Mask of CSMs who may own such an account under the default policy."""
    ok = (
        (roster["region"] == region).to_numpy()
        & roster["_languages"].map(lambda x: language in x).to_numpy()
        & roster["_segments"].map(lambda x: segment in x).to_numpy()
        & (_gap(roster["utc_offset"].to_numpy(float), offset) <= policy.tz_max_gap_hours[segment])
    )
    return ok & (roster["status"] == "active").to_numpy() if active_only else ok


def _pool_covers(pools: pd.DataFrame, segment: str, region: str, language: str) -> np.ndarray:
    return np.array(
        [
            region in r and language in lang and segment in s
            for r, lang, s in zip(pools["_regions"], pools["_languages"], pools["_segments"], strict=True)
        ],
        dtype=bool,
    )


def _cover_mid_market(acc: pd.DataFrame, roster: pd.DataFrame, pools: pd.DataFrame, policy: Policy) -> None:
    """Make every mid-market (region, language, offset) coverable by a CSM or a pool.

    An uncovered one adds its language to the region's mid-market pool (a
    pooled team hires for its languages), else to the nearest eligible CSM.
    """
    points = (
        acc.loc[acc["_segment"] == MID, ["region", "language", "utc_offset"]]
        .drop_duplicates()
        .sort_values(["region", "language", "utc_offset"])
    )
    for region, language, offset in points.itertuples(index=False):
        if (
            _csm_covers(roster, MID, region, language, offset, policy).any()
            or _pool_covers(pools, MID, region, language).any()
        ):
            continue
        pool = np.flatnonzero(
            [region in r and MID in s for r, s in zip(pools["_regions"], pools["_segments"], strict=True)]
        )
        if pool.size:
            pools.at[pool[0], "_languages"] = _profile_languages(*pools.at[pool[0], "_languages"], language)
            continue
        near = roster.index[_csm_covers(roster, MID, region, "en", offset, policy)]
        if near.empty:
            raise UsageError(
                f"expected a CSM or a pool for mid-market accounts in {region} at UTC{offset:+g}; add CSMs or pools"
            )
        c = near[np.argmin(_gap(roster.loc[near, "utc_offset"], offset))]
        roster.at[c, "_languages"] = _profile_languages(*roster.at[c, "_languages"], language)
        roster.at[c, "languages"] = ";".join(roster.at[c, "_languages"])


# --------------------------------------------------------------------------
# current owners
# --------------------------------------------------------------------------
def _assign_current_owners(
    acc: pd.DataFrame, roster: pd.DataFrame, pools: pd.DataFrame, rng: np.random.Generator, policy: Policy
) -> np.ndarray:
    """Fill accounts.current_owner; return the owning CSM's row per account (-1: none).

    New accounts stay blank, ~1% belong to departed CSMs (ids on no roster),
    pools own some mid-market and part of SMB, digital the other SMB; enterprise and mid-market go to eligible CSMs,
    a few of whom are deliberately loaded to OVERLOAD x capacity.
    """
    n = len(acc)
    owner = np.full(n, "", dtype=object)
    owner_csm = np.full(n, -1, dtype=np.int64)
    segment = acc["_segment"].to_numpy()
    open_ = ~acc["_new"].to_numpy()
    served = open_ & (segment != SMB)

    n_departed = max(1, round(DEPARTED_OWNER_SHARE * n)) if n >= 20 else 0
    departed = rng.permutation(np.flatnonzero(served))[:n_departed]
    width = max(3, len(str(len(roster))))
    departed_ids = np.array([f"csm_{9 * 10**width + k + 1}" for k in range(max(1, n_departed // 8))])
    owner[departed] = departed_ids[rng.integers(departed_ids.size, size=departed.size)]
    open_[departed] = False

    reach = _pool_reach(acc, pools)
    _assign_pools(acc, pools, reach, owner, open_, rng, policy)
    owner[open_ & (segment == SMB)] = policy.digital_owner_id
    open_[segment == SMB] = False
    _assign_csms(acc, roster, owner, owner_csm, open_, rng, policy)
    left = np.flatnonzero(open_)  # mid-market no CSM in reach can serve: a pool covers it
    owner[left] = pools["pool_id"].to_numpy()[_pick_pool(reach[MID], left, rng)]
    acc["current_owner"] = owner.astype(str)
    return owner_csm


def _pool_reach(acc: pd.DataFrame, pools: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per segment, a (pools x accounts) mask of the pools that may serve each account."""
    region = acc["region"].to_numpy()
    language = acc["language"].to_numpy()
    base = np.array(
        [
            np.isin(region, r) & np.isin(language, lang)
            for r, lang in zip(pools["_regions"], pools["_languages"], strict=True)
        ],
        dtype=bool,
    ).reshape(len(pools), len(acc))
    return {s: base & np.array([s in x for x in pools["_segments"]], dtype=bool)[:, None] for s in (MID, SMB)}


def _pick_pool(mask: np.ndarray, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random pool among those `mask` allows, per row."""
    if rows.size == 0:
        return np.zeros(0, dtype=np.int64)
    return np.argmax(rng.random((mask.shape[0], rows.size)) * mask[:, rows], axis=0)


def _assign_pools(
    acc: pd.DataFrame,
    pools: pd.DataFrame,
    reach: dict[str, np.ndarray],
    owner: np.ndarray,
    open_: np.ndarray,
    rng: np.random.Generator,
    policy: Policy,
) -> None:
    """Pool-owned accounts: MID_POOLED_SHARE of coverable mid-market, then SMB up to 90% of capacity
    (at most POOL_SMB_SHARE of the SMB hours in reach)."""
    segment = acc["_segment"].to_numpy()
    pooled_hours = acc["_hours"].to_numpy() * policy.pool_efficiency
    ids = pools["pool_id"].to_numpy()
    mid = np.flatnonzero(open_ & (segment == MID) & reach[MID].any(axis=0) & (rng.random(len(acc)) < MID_POOLED_SHARE))
    pick = _pick_pool(reach[MID], mid, rng)
    owner[mid] = ids[pick]
    open_[mid] = False
    load = np.bincount(pick, weights=pooled_hours[mid], minlength=len(pools))
    for p in range(len(pools)):
        cand = rng.permutation(np.flatnonzero(open_ & (segment == SMB) & reach[SMB][p]))
        # Pools are staffed for a share of SMB work: even a roomy one leaves the rest to digital.
        room = min(0.9 * pools.at[p, "capacity_hours"] - load[p], POOL_SMB_SHARE * pooled_hours[cand].sum())
        take = cand[np.cumsum(pooled_hours[cand]) <= room]
        owner[take] = ids[p]
        open_[take] = False


def _assign_csms(
    acc: pd.DataFrame,
    roster: pd.DataFrame,
    owner: np.ndarray,
    owner_csm: np.ndarray,
    todo: np.ndarray,
    rng: np.random.Generator,
    policy: Policy,
) -> None:
    """Enterprise and mid-market accounts to eligible CSMs (any status), overloaded ones first.

    The rest goes group by group (segment, region, language, offset), most
    constrained group first, in chunks drawn in proportion to each CSM's
    room under a personal target load, so loads spread like a real team's.
    """
    hours = acc["_hours"].to_numpy()
    cap = roster["capacity_hours"].to_numpy(float)
    load = np.zeros(len(roster))
    target = cap * rng.uniform(0.6, 0.9, len(roster))
    ids = roster["csm_id"].to_numpy()

    def give(rows: np.ndarray, csm: np.ndarray) -> None:
        owner[rows] = ids[csm]
        owner_csm[rows] = csm
        np.add.at(load, csm, hours[rows])
        todo[rows] = False

    keys = acc.loc[todo, ["_segment", "region", "language", "utc_offset"]]
    groups = keys.groupby(list(keys.columns), sort=True).indices
    index = keys.index.to_numpy()
    eligible = {k: np.flatnonzero(_csm_covers(roster, *k, policy, active_only=False)) for k in groups}

    generalists = np.flatnonzero((roster["status"] == "active").to_numpy() & (roster["segments"] == "").to_numpy())
    n_over = max(1, round(0.03 * len(generalists))) if len(roster) >= 10 else 0
    for c in rng.permutation(generalists)[:n_over]:
        mine = np.concatenate([index[g] for k, g in groups.items() if c in eligible[k]] or [np.zeros(0, np.int64)])
        cand = rng.permutation(mine[todo[mine]])
        take = cand[np.cumsum(hours[cand]) <= OVERLOAD * cap[c]]
        give(take, np.full(take.size, c))

    for k in sorted(groups, key=lambda k: (eligible[k].size, k)):
        elig = eligible[k]
        rows = index[groups[k]]
        rows = rng.permutation(rows[todo[rows]])
        if elig.size == 0:  # left to the caller: a pool covers it
            continue
        step = max(1, elig.size // 2)
        for start in range(0, rows.size, step):
            chunk = rows[start : start + step]
            room = np.maximum(target[elig] - load[elig], 0.02 * cap[elig])
            give(chunk, elig[rng.choice(elig.size, size=chunk.size, p=room / room.sum())])


# --------------------------------------------------------------------------
# relationships
# --------------------------------------------------------------------------
def _relationships(
    acc: pd.DataFrame, roster: pd.DataFrame, owner_csm: np.ndarray, rng: np.random.Generator, as_of: dt.date
) -> pd.DataFrame:
    """Ownership history, contacts, products and pods: the continuity signals a planner can use."""
    history, former = _history_edges(acc, roster, owner_csm, rng, as_of)
    parts = [
        history,
        _contact_edges(acc, roster, owner_csm, former, rng, as_of),
        _product_edges(acc, roster, rng),
        _pod_edges(roster),
    ]
    return pd.concat(parts, ignore_index=True).loc[:, list(RELATIONSHIP_COLUMNS)]


def _edges(source, target, kind: str, strength=None, since=None, until=None) -> pd.DataFrame:
    n = len(source)
    return pd.DataFrame(
        {
            "source": np.asarray(source, dtype=str),
            "target": np.asarray(target, dtype=str),
            "kind": kind,
            "strength": np.full(n, np.nan) if strength is None else np.round(np.asarray(strength, dtype=float), 2),
            "since": np.full(n, "") if since is None else since,
            "until": np.full(n, "") if until is None else until,
        }
    )


def _peers(
    rows: np.ndarray, acc: pd.DataFrame, roster: pd.DataFrame, owner_csm: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Per account row, a random CSM of its region who speaks its language and is not its owner (-1: none)."""
    out = np.full(rows.size, -1, dtype=np.int64)
    region = acc["region"].to_numpy()[rows]
    language = acc["language"].to_numpy()[rows]
    pairs = pd.DataFrame({"r": region, "l": language}).drop_duplicates().sort_values(["r", "l"])
    for r, lang in pairs.itertuples(index=False):
        sel = np.flatnonzero((region == r) & (language == lang))
        cand = np.flatnonzero(
            (roster["region"] == r).to_numpy() & roster["_languages"].map(lambda x, lang=lang: lang in x).to_numpy()
        )
        if cand.size == 0:
            continue
        pos = rng.integers(cand.size, size=sel.size)
        pick = cand[pos]
        owner = owner_csm[rows[sel]]
        clash = pick == owner
        pick[clash] = cand[(pos[clash] + 1) % cand.size]
        pick[pick == owner] = -1
        out[sel] = pick
    return out


def _history_edges(
    acc: pd.DataFrame, roster: pd.DataFrame, owner_csm: np.ndarray, rng: np.random.Generator, as_of: dt.date
) -> tuple[pd.DataFrame, tuple[np.ndarray, np.ndarray]]:
    """former_owner, backup, shadow and covered_pto edges (CSM -> account); also (accounts, former CSMs)."""
    ids = roster["csm_id"].to_numpy()
    acc_ids = acc["account_id"].to_numpy()
    segment = acc["_segment"].to_numpy()
    owned = np.flatnonzero(owner_csm >= 0)
    parts = []

    def sample(rows: np.ndarray, share: float) -> tuple[np.ndarray, np.ndarray]:
        rows = rows[rng.random(rows.size) < share]
        peer = _peers(rows, acc, roster, owner_csm, rng)
        return rows[peer >= 0], peer[peer >= 0]

    handed_over = np.flatnonzero((segment != SMB) & (acc["current_owner"].to_numpy() != "") & ~acc["_new"].to_numpy())
    f_rows, f_csm = sample(handed_over, 0.25)
    ended = rng.integers(30, 541, f_rows.size)
    parts.append(
        _edges(
            ids[f_csm],
            acc_ids[f_rows],
            "former_owner",
            0.3 + 0.6 * np.exp(-ended / 365),
            _iso_dates(as_of, -ended - rng.integers(120, 901, f_rows.size)),
            _iso_dates(as_of, -ended),
        )
    )
    rows, csm = sample(owned[segment[owned] == ENT], 0.5)
    parts.append(_edges(ids[csm], acc_ids[rows], "backup", since=_iso_dates(as_of, -rng.integers(30, 721, rows.size))))
    rows, csm = sample(owned, 0.03)
    parts.append(
        _edges(
            ids[csm],
            acc_ids[rows],
            "shadow",
            since=_iso_dates(as_of, -rng.integers(0, 61, rows.size)),
            until=_iso_dates(as_of, rng.integers(30, 121, rows.size)),
        )
    )
    rows, csm = sample(owned, 0.08)
    ended = rng.integers(7, 301, rows.size)
    parts.append(
        _edges(
            ids[csm],
            acc_ids[rows],
            "covered_pto",
            since=_iso_dates(as_of, -ended - rng.integers(5, 16, rows.size)),
            until=_iso_dates(as_of, -ended),
        )
    )
    return pd.concat(parts, ignore_index=True), (f_rows, f_csm)


def _contact_edges(
    acc: pd.DataFrame,
    roster: pd.DataFrame,
    owner_csm: np.ndarray,
    former: tuple[np.ndarray, np.ndarray],
    rng: np.random.Generator,
    as_of: dt.date,
) -> pd.DataFrame:
    """Contacts (works_at, some with a previous employer) and the CSMs who know them.

    Owners know most contacts at their accounts, former owners some; a
    contact who changed company is still known by the CSM of the old one,
    which is the warm introduction a planner may want to keep.
    """
    n = len(acc)
    segment = acc["_segment"].to_numpy()
    counts = np.select(
        [segment == ENT, segment == MID],
        [rng.integers(3, 8, n), rng.integers(1, 4, n)],
        np.minimum(rng.poisson(0.9, n), 3),
    )
    account = np.repeat(np.arange(n), counts)
    contact = _ids("ct_", account.size, 6)
    acc_ids = acc["account_id"].to_numpy()
    ids = roster["csm_id"].to_numpy()
    tenure = rng.integers(30, 1801, account.size)
    parts = [_edges(contact, acc_ids[account], "works_at", since=_iso_dates(as_of, -tenure))]

    served = np.flatnonzero(segment != SMB)
    movers = np.flatnonzero((segment[account] != SMB) & (rng.random(account.size) < 0.04))
    region = acc["region"].to_numpy()
    prev = np.full(movers.size, -1, dtype=np.int64)
    for r in REGIONS:
        pool = served[region[served] == r]
        sel = np.flatnonzero(region[account[movers]] == r)
        if pool.size:
            prev[sel] = pool[rng.integers(pool.size, size=sel.size)]
    keep = (prev >= 0) & (prev != account[movers])
    movers, prev = movers[keep], prev[keep]
    left = tenure[movers] + rng.integers(0, 61, movers.size)
    parts.append(
        _edges(
            contact[movers],
            acc_ids[prev],
            "works_at",
            since=_iso_dates(as_of, -left - rng.integers(365, 1501, movers.size)),
            until=_iso_dates(as_of, -left),
        )
    )

    f_rows, f_csm = former
    former_of = np.full(n, -1, dtype=np.int64)
    former_of[f_rows] = f_csm
    knows = [
        (np.flatnonzero(owner_csm[account] >= 0), owner_csm[account], 0.75, (4, 2)),
        (np.flatnonzero(former_of[account] >= 0), former_of[account], 0.5, (2, 3)),
    ]
    mover_csm = np.full(account.size, -1, dtype=np.int64)
    mover_csm[movers] = owner_csm[prev]
    knows.append((np.flatnonzero(mover_csm >= 0), mover_csm, 0.7, (3, 2)))
    frames = []
    for rows, csm_of, share, beta in knows:
        rows = rows[rng.random(rows.size) < share]
        frames.append(_edges(ids[csm_of[rows]], contact[rows], "knows", rng.beta(*beta, rows.size)))
    known = pd.concat(frames, ignore_index=True).sort_values("strength", ascending=False, kind="stable")
    parts.append(known.drop_duplicates(["source", "target"]).sort_index())
    return pd.concat(parts, ignore_index=True)


def _weighted_top_k(n: int, k: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(row, product index) pairs: k[i] distinct products per row, popular ones more often (Gumbel top-k)."""
    weights = np.log([w for _, w in PRODUCTS])
    keys = weights - np.log(-np.log(rng.random((n, len(PRODUCTS)))))
    order = np.argsort(-keys, axis=1, kind="stable")
    take = np.arange(len(PRODUCTS))[None, :] < k[:, None]
    rows = np.broadcast_to(np.arange(n)[:, None], order.shape)
    return rows[take], order[take]


def _product_edges(acc: pd.DataFrame, roster: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """CSM -> product expert (strength = depth) and account -> product uses."""
    products = np.array([p for p, _ in PRODUCTS])
    rows, prod = _weighted_top_k(len(roster), rng.integers(1, 4, len(roster)), rng)
    expert = _edges(roster["csm_id"].to_numpy()[rows], products[prod], "expert", rng.uniform(0.5, 1.0, rows.size))
    segment = acc["_segment"].to_numpy()
    n = len(acc)
    k = np.select(
        [segment == ENT, segment == MID], [rng.integers(2, 6, n), rng.integers(1, 4, n)], rng.integers(1, 3, n)
    )
    rows, prod = _weighted_top_k(n, k, rng)
    return pd.concat([expert, _edges(acc["account_id"].to_numpy()[rows], products[prod], "uses")], ignore_index=True)


def _pod_edges(roster: pd.DataFrame, size: int = 6) -> pd.DataFrame:
    """CSM -> CSM same_pod, one edge per pair: each region's CSMs in pods of about `size`."""
    pairs = []
    for r in REGIONS:
        members = roster.loc[roster["region"] == r, "csm_id"].to_numpy()
        n_pods = max(1, round(members.size / size))
        for pod in np.array_split(members, n_pods):
            pairs.extend((a, b) for i, a in enumerate(pod) for b in pod[i + 1 :])
    return _edges([a for a, _ in pairs], [b for _, b in pairs], "same_pod")


# --------------------------------------------------------------------------
# output shaping and small helpers
# --------------------------------------------------------------------------
def _crm_identities(
    acc: pd.DataFrame, roster: pd.DataFrame, pools: pd.DataFrame, rng: np.random.Generator, policy: Policy
) -> pd.DataFrame:
    """Every CRM id the exports load, filled in place; returns the programs table (the digital program's identity).

    Salesforce ids are drawn with the book (accounts ``crm_id``, users
    ``crm_user_id``). Here: HubSpot company Record IDs (``hubspot_id``, an
    extra account column) and HubSpot owner ids for CSMs, pools and the
    digital program (the owner id, which is not the user id), pool and
    program mailboxes for Gainsight, and the digital program's Salesforce
    user -- so each format exports a generated book with no exception.
    """
    acc["hubspot_id"] = _numeric_ids(len(acc), rng, start=10**10)
    owner_ids = _numeric_ids(len(roster) + len(pools) + 1, rng, start=10**7)
    roster["hubspot_owner_id"] = owner_ids[: len(roster)]
    pools["hubspot_owner_id"] = owner_ids[len(roster) : len(roster) + len(pools)]
    pools["email"] = [f"{pid.replace('_', '-')}@{EMAIL_DOMAIN}" for pid in pools["pool_id"]]
    digital = policy.digital_owner_id
    return pd.DataFrame(
        [(digital, "Digital program", f"digital-cs@{EMAIL_DOMAIN}", _salesforce_ids("005", 1, rng, block=2)[0],
          owner_ids[-1])],
        columns=list(PROGRAM_COLUMNS),
    )  # fmt: skip


def _numeric_ids(n: int, rng: np.random.Generator, start: int) -> np.ndarray:
    """Unique numeric ids as text (HubSpot's record and owner ids): a random start, then rising by random steps."""
    first = start + int(rng.integers(0, start))
    return (first + np.cumsum(rng.integers(1, 1000, n))).astype(str)


def _roster_table(roster: pd.DataFrame) -> pd.DataFrame:
    return roster.loc[:, list(CSM_COLUMNS)].reset_index(drop=True)


def _pool_table(pools: pd.DataFrame) -> pd.DataFrame:
    out = pools.copy()
    for col in ("regions", "languages", "segments"):
        out[col] = out[f"_{col}"].map(";".join).astype(str)
    return out.loc[:, list(POOL_COLUMNS)].reset_index(drop=True)


def _locations_table() -> pd.DataFrame:
    return pd.DataFrame(
        [(s.name, s.region, float(s.utc_offset), s.cost_index) for s in SITES], columns=list(LOCATION_COLUMNS)
    )


def _ids(prefix: str, n: int, width: int) -> np.ndarray:
    """acc_000001 ...: zero-padded to `width`, wider only when n needs it."""
    width = max(width, len(str(n)))
    return np.array([f"{prefix}{i:0{width}d}" for i in range(1, n + 1)], dtype=str)


def _iso_dates(as_of: dt.date, days) -> np.ndarray:
    """ISO dates `days` after as_of (negative: before)."""
    stamps = np.datetime64(as_of, "D") + np.asarray(days, dtype=np.int64).astype("timedelta64[D]")
    return np.datetime_as_string(stamps, unit="D").astype(str)


_BASE62 = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", dtype=np.uint8)
_CHECKSUM = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", dtype=np.uint8)


def _salesforce_ids(prefix: str, n: int, rng: np.random.Generator, block: int = 0) -> np.ndarray:
    """18-character Salesforce-style ids: key prefix, pod, a rising base-62 counter, case-safe checksum.

    Record ids in one org grow with creation order, so a random start plus
    positive steps makes them unique by construction; `block` keeps two
    calls with the same prefix apart.
    """
    counter = block * 62**6 + rng.integers(0, 62**6 // 2) + np.cumsum(rng.integers(1, 1000, n))
    digits = np.empty((n, 7), dtype=np.int64)
    for pos in range(6, -1, -1):
        counter, digits[:, pos] = np.divmod(counter, 62)
    body = np.concatenate(
        [np.tile(np.frombuffer((prefix + "5g000").encode(), dtype=np.uint8), (n, 1)), _BASE62[digits]], axis=1
    )
    upper = ((body >= ord("A")) & (body <= ord("Z"))).reshape(n, 3, 5)
    suffix = _CHECKSUM[(upper * (1 << np.arange(5))).sum(axis=2)]
    return np.ascontiguousarray(np.concatenate([body, suffix], axis=1)).view("S18").ravel().astype(str)

"""planner.generate: determinism, table shape, realism and the feasibility guarantee.

The feasibility checks re-derive everything from the exported tables with the
default policy (segments from ARR thresholds, hours from the workload model),
so they test what a loader would see, not the generator's private columns.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planner.generate import generate_book, write_book
from planner.io.atomic import OutputExistsError
from planner.policy import load_policy

AS_OF = dt.date(2026, 11, 1)
ROOT = Path(__file__).resolve().parents[1]
POLICY = load_policy()
CSV_NAMES = ["accounts.csv", "csms.csv", "locations.csv", "pools.csv", "programs.csv", "relationships.csv"]

# Books the feasibility tests run on: tiny to mid-size, several seeds.
FEASIBILITY_CASES = [
    (40, 4, 1, 7),
    (60, 3, None, 0),
    (300, 8, 2, 5),
    (1000, 20, None, 1),
    (3000, 60, None, 2),
    (3000, 60, 4, 9),
]


@pytest.fixture(scope="module")
def book10k():
    return generate_book(10000, 200, seed=3, as_of=AS_OF)


@pytest.fixture(scope="module", params=FEASIBILITY_CASES, ids=lambda c: f"{c[0]}acc-{c[1]}csm-pools{c[2]}-seed{c[3]}")
def any_book(request):
    accounts, csms, pools, seed = request.param
    return generate_book(accounts, csms, pools=pools, seed=seed, as_of=AS_OF)


# -- independent re-derivations from the exported tables --------------------
def segments(accounts: pd.DataFrame) -> pd.Series:
    """The given segment, else the first one whose ARR threshold the account reaches."""
    derived = accounts["arr"].map(POLICY.segment_for_arr)
    return accounts["segment"].where(accounts["segment"] != "", derived)


def hours(accounts: pd.DataFrame) -> pd.Series:
    """Monthly named-CSM hours per the default [workload] model."""
    seg = segments(accounts)
    stage = accounts["lifecycle_stage"].map(POLICY.stage_mult).fillna(1.0)
    low = accounts["health"].astype(float) < POLICY.low_health_below
    return (
        seg.map(POLICY.base_hours)
        * accounts["complexity"].map(POLICY.complexity_mult)
        * stage
        * np.where(low, POLICY.low_health_mult, 1.0)
    )


def split(cell: str) -> set[str]:
    return set(cell.split(";")) if cell else set()


def gap(a, b):
    d = np.abs(np.asarray(a, float) - np.asarray(b, float)) % 24
    return np.minimum(d, 24 - d)


def csm_can_serve(
    csms: pd.DataFrame, segment: str, region: str, language: str, offset: float, active_only: bool = True
) -> np.ndarray:
    """Named-CSM eligibility under the default policy (region is required here for every segment)."""
    allowed = csms["segments"].map(lambda s: segment in split(s) if s else True)
    ok = (
        (csms["region"] == region)
        & csms["languages"].map(lambda s: language in split(s))
        & allowed
        & (gap(csms["utc_offset"], offset) <= POLICY.tz_max_gap_hours[segment])
    ).to_numpy()
    return ok & (csms["status"] == "active").to_numpy() if active_only else ok


def pool_can_serve(pools: pd.DataFrame, segment: str, region: str, language: str) -> bool:
    return any(
        region in split(r) and language in split(lang) and segment in split(s)
        for r, lang, s in zip(pools["regions"], pools["languages"], pools["segments"], strict=True)
    )


def salesforce_checksum(id15: str) -> str:
    """Salesforce's case-safe suffix: one character per 5-character chunk, from its upper-case letters."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
    return "".join(alphabet[sum(1 << i for i, c in enumerate(id15[k : k + 5]) if "A" <= c <= "Z")] for k in (0, 5, 10))


# -- determinism ---------------------------------------------------------------
def written_bytes(tables, out: Path) -> dict[str, bytes]:
    write_book(tables, out)
    return {
        p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.name != ".planner-output.json"
    }  # the marker: tests/test_outputs.py


def test_same_seed_and_as_of_give_byte_identical_files(tmp_path):
    first = written_bytes(generate_book(800, 16, seed=42, as_of=AS_OF), tmp_path / "a")
    second = written_bytes(generate_book(800, 16, seed=42, as_of=AS_OF), tmp_path / "b")
    assert first == second


def test_different_seed_gives_a_different_book():
    a = generate_book(800, 16, seed=1, as_of=AS_OF)
    b = generate_book(800, 16, seed=2, as_of=AS_OF)
    for table in ("accounts", "csms", "relationships"):
        assert not a[table].equals(b[table]), table


def test_every_date_moves_with_as_of():
    base = generate_book(500, 10, seed=5, as_of=AS_OF)
    later = generate_book(500, 10, seed=5, as_of=AS_OF + dt.timedelta(days=10))
    shift = pd.Timedelta(days=10)
    assert (
        pd.to_datetime(later["accounts"]["renewal_date"]) - pd.to_datetime(base["accounts"]["renewal_date"]) == shift
    ).all()
    for col in ("since", "until"):
        before, after = base["relationships"][col], later["relationships"][col]
        assert ((before == "") == (after == "")).all()
        dated = before != ""
        assert (pd.to_datetime(after[dated]) - pd.to_datetime(before[dated]) == shift).all()
    undated = ["renewal_date"]
    pd.testing.assert_frame_equal(base["accounts"].drop(columns=undated), later["accounts"].drop(columns=undated))


def test_as_of_defaults_to_today():
    accounts = generate_book(200, 4, seed=0)["accounts"]
    renewals = pd.to_datetime(accounts["renewal_date"]).dt.date
    assert renewals.min() > dt.date.today() and renewals.max() <= dt.date.today() + dt.timedelta(days=365)


# -- shape and ids -------------------------------------------------------------
def test_sizes_columns_and_ids(book10k):
    a, c, p = book10k["accounts"], book10k["csms"], book10k["pools"]
    assert list(a.columns) == [
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
    ]
    assert list(c.columns) == [
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
    ]
    assert list(p.columns) == [
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
    ]
    assert list(book10k["programs"].columns) == ["program_id", "name", "email", "crm_user_id", "hubspot_owner_id"]
    assert list(book10k["relationships"].columns) == ["source", "target", "kind", "strength", "since", "until"]
    assert (len(a), len(c), len(p)) == (10000, 200, 6)  # default pools: max(2, min(6, 10000 // 2000 + 2))
    assert (
        a["account_id"].iloc[0] == "acc_000001"
        and c["csm_id"].iloc[0] == "csm_001"
        and p["pool_id"].iloc[0] == "pool_01"
    )
    for ids, pattern in ((a["account_id"], r"acc_\d{6}"), (c["csm_id"], r"csm_\d{3}"), (p["pool_id"], r"pool_\d{2}")):
        assert ids.is_unique and ids.str.fullmatch(pattern).all()
    assert c["email"].is_unique and c["email"].str.fullmatch(r"[a-z0-9.\-]+@example\.com").all()


def test_default_pool_count_follows_book_size():
    assert len(generate_book(300, 6, seed=0, as_of=AS_OF)["pools"]) == 2
    assert len(generate_book(4500, 90, seed=0, as_of=AS_OF)["pools"]) == 4


def test_ids_widen_only_when_needed():
    book = generate_book(60, 3, pools=1, seed=0, as_of=AS_OF)
    assert book["accounts"]["account_id"].iloc[-1] == "acc_000060"
    assert book["csms"]["csm_id"].iloc[-1] == "csm_003"


def test_crm_ids_look_like_salesforce_and_are_unique(book10k):
    crm = book10k["accounts"]["crm_id"]
    assert (crm != "").all()  # every account loads in Salesforce
    users = pd.concat(
        [book10k["csms"]["crm_user_id"], book10k["pools"]["crm_user_id"], book10k["programs"]["crm_user_id"]]
    )
    for ids, prefix in ((crm, "001"), (users, "005")):
        assert ids.is_unique
        assert ids.str.fullmatch(prefix + r"[0-9A-Za-z]{15}").all()
        assert all(x[15:] == salesforce_checksum(x[:15]) for x in ids)


def test_every_crm_the_export_supports_has_its_ids(book10k):
    """HubSpot record and owner ids, and the emails Gainsight matches users by, for every account and owner."""
    a, c, p, g = (book10k[t] for t in ("accounts", "csms", "pools", "programs"))
    assert a["hubspot_id"].is_unique and a["hubspot_id"].str.fullmatch(r"[1-9][0-9]{10}").all()
    owners = pd.concat([c["hubspot_owner_id"], p["hubspot_owner_id"], g["hubspot_owner_id"]])
    assert owners.is_unique and owners.str.fullmatch(r"[1-9][0-9]{7}").all()
    emails = pd.concat([c["email"], p["email"], g["email"]])
    assert emails.is_unique and emails.str.fullmatch(r"[a-z0-9.\-]+@example\.com").all()
    assert g.to_dict("records")[0]["program_id"] == "digital" and len(g) == 1


# -- realism -------------------------------------------------------------------
def test_segment_arr_and_region_shares(book10k):
    a = book10k["accounts"]
    share = segments(a).value_counts(normalize=True)
    assert 0.05 <= share["enterprise"] <= 0.085
    assert 0.19 <= share["mid_market"] <= 0.27
    assert 0.25 <= (a["segment"] == "").mean() <= 0.35
    assert 18_000 <= a["arr"].median() <= 35_000 and a["arr"].max() >= 1_000_000 and a["arr"].min() > 0
    regions = a["region"].value_counts(normalize=True)
    for region, expected in {"NA": 0.45, "EMEA": 0.30, "APAC": 0.15, "LATAM": 0.10}.items():
        assert abs(regions[region] - expected) < 0.03, region


def test_given_segments_mostly_follow_arr(book10k):
    a = book10k["accounts"]
    given = a[a["segment"] != ""]
    agree = (given["segment"] == given["arr"].map(POLICY.segment_for_arr)).mean()
    assert 0.9 < agree < 1.0  # a few strategic logos sit one segment up


def test_languages_offsets_and_complexity_fit_the_region_and_segment(book10k):
    a = book10k["accounts"]
    languages = {
        "NA": {"en", "es", "fr"},
        "EMEA": {"en", "de", "fr", "es", "it", "nl"},
        "APAC": {"en", "ja", "zh", "ko"},
        "LATAM": {"es", "pt", "en"},
    }
    offsets = {"NA": (-8, -5), "EMEA": (0, 4), "APAC": (5.5, 12), "LATAM": (-6, -3)}
    for region, rows in a.groupby("region"):
        assert set(rows["language"]) == languages[region]
        assert rows["utc_offset"].between(*offsets[region]).all()
    assert a.loc[a["language"] == "ja", "utc_offset"].eq(9).all()
    mean_complexity = a.groupby(segments(a))["complexity"].mean()
    assert a["complexity"].between(1, 5).all()
    assert mean_complexity["enterprise"] > mean_complexity["mid_market"] > mean_complexity["smb"]


def test_health_renewals_and_stages(book10k):
    a = book10k["accounts"]
    assert 0.15 <= a["health"].isna().mean() <= 0.3
    assert a["health"].dropna().between(0, 100).all()
    days = (pd.to_datetime(a["renewal_date"]) - pd.Timestamp(AS_OF)).dt.days
    assert days.between(1, 365).all()
    assert 0.18 <= (days <= POLICY.freeze_days).mean() <= 0.3
    stages = a["lifecycle_stage"]
    assert set(stages) == {"onboarding", "adoption", "expansion", "renewal", "at_risk", ""}
    assert 0.02 <= (stages == "").mean() <= 0.15
    assert (stages[days <= 90] == "renewal").mean() > (stages[days > 90] == "renewal").mean()


def test_csm_roster_is_plausible(book10k):
    c = book10k["csms"]
    loc = book10k["locations"].set_index("location")
    assert (c["region"] == c["location"].map(loc["region"])).all()
    assert (c["utc_offset"] == c["location"].map(loc["utc_offset"])).all()
    assert c["languages"].map(lambda s: "en" in split(s) and len(split(s)) <= 2).all()
    assert c["capacity_hours"].between(100, 130).all()
    assert set(c["segments"]) <= {"", "enterprise", "mid_market;smb"} and (c["segments"] == "").mean() > 0.6
    status = c["status"].value_counts()
    assert status["active"] >= 0.9 * len(c) and status.get("leaving", 0) >= 1 and status.get("on_leave", 0) >= 1
    returns = pd.to_datetime(c.loc[c["status"] == "on_leave", "return_date"])
    assert (returns.dt.date > AS_OF).all() and (c.loc[c["status"] != "on_leave", "return_date"] == "").all()
    per_index = c["annual_cost"] / (POLICY.csm_default_annual_cost * c["location"].map(loc["cost_index"]))
    assert per_index.between(0.7, 1.5).all()
    regions = c["region"].value_counts(normalize=True)
    assert regions["NA"] > regions["EMEA"] > regions["APAC"] > 0


def test_pools_sit_in_cheap_hubs_and_absorb_part_of_smb(book10k):
    p, a = book10k["pools"], book10k["accounts"]
    loc = book10k["locations"].set_index("location")
    assert np.allclose(p["hourly_cost"], POLICY.pool_default_hourly_cost * p["location"].map(loc["cost_index"]))
    assert np.allclose(p["capacity_hours"], p["fte"] * POLICY.pool_hours_per_fte)
    assert set(p["segments"]) <= {"mid_market;smb", "smb"} and (p["segments"] == "mid_market;smb").any()
    assert {r for cell in p["regions"] for r in split(cell)} == {"NA", "EMEA", "APAC", "LATAM"}
    smb_pooled = POLICY.pool_efficiency * hours(a)[segments(a) == "smb"].sum()
    assert 0.3 * smb_pooled < p["capacity_hours"].sum() < 0.9 * smb_pooled


# -- current owners ------------------------------------------------------------
def owner_kinds(book) -> pd.Series:
    owner = book["accounts"]["current_owner"]
    return pd.Series(
        np.select(
            [
                owner == "",
                owner == POLICY.digital_owner_id,
                owner.isin(book["pools"]["pool_id"]),
                owner.isin(book["csms"]["csm_id"]),
            ],
            ["new", "digital", "pool", "csm"],
            "departed",
        ),
        index=owner.index,
    )


def test_every_owner_is_on_a_roster_or_departed_or_blank(any_book):
    kinds = owner_kinds(any_book)
    departed = any_book["accounts"]["current_owner"][kinds == "departed"]
    assert departed.str.fullmatch(r"csm_\d+").all()
    assert not departed.isin(any_book["csms"]["csm_id"]).any()


def test_owner_mix(book10k):
    a = book10k["accounts"]
    kinds = owner_kinds(book10k)
    share = kinds.value_counts(normalize=True)
    assert 0.03 <= share["new"] <= 0.07 and 0.005 <= share["departed"] <= 0.02
    seg = segments(a)
    assert set(kinds[seg == "enterprise"]) <= {"csm", "new", "departed"}
    assert set(kinds[seg == "smb"]) == {"pool", "digital", "new"}
    assert (kinds[seg == "mid_market"] == "pool").mean() > 0.05
    assert not a.loc[kinds == "new", "current_owner"].ne("").any()


def test_named_owners_are_eligible(any_book):
    a, c = any_book["accounts"], any_book["csms"].reset_index(drop=True)
    seg = segments(a)
    row_of = pd.Series(c.index, index=c["csm_id"])
    named = a[owner_kinds(any_book) == "csm"]
    for i, acc in named.iterrows():
        ok = csm_can_serve(c, seg[i], acc["region"], acc["language"], acc["utc_offset"], active_only=False)
        assert ok[row_of[acc["current_owner"]]], acc["account_id"]


def test_a_few_csms_are_overloaded(book10k):
    a, c = book10k["accounts"], book10k["csms"]
    load = (
        hours(a).groupby(a["current_owner"]).sum().reindex(c["csm_id"], fill_value=0.0)
        / c.set_index("csm_id")["capacity_hours"]
    )
    assert 1 <= (load > 1.2).sum() <= 0.06 * len(c)
    assert load.median() < 0.9


# -- feasibility under the default policy --------------------------------------
def test_csm_capacity_comfortably_exceeds_named_demand(any_book):
    a, c = any_book["accounts"], any_book["csms"]
    seg, h = segments(a), hours(a)
    active = c["status"] == "active"
    assert h[seg != "smb"].sum() <= 0.85 * c.loc[active, "capacity_hours"].sum()
    for region in ("NA", "EMEA", "APAC", "LATAM"):
        ent_ok = active & (c["region"] == region) & c["segments"].map(lambda s: not s or "enterprise" in split(s))
        assert (
            h[(seg == "enterprise") & (a["region"] == region)].sum() <= 0.9 * c.loc[ent_ok, "capacity_hours"].sum()
        ), region


def test_default_modes_fill_70_to_85_percent_of_a_typical_team(book10k):
    a, c, p = book10k["accounts"], book10k["csms"], book10k["pools"]
    seg, h = segments(a), hours(a)
    demand = h[seg != "smb"].sum() + POLICY.pool_efficiency * h[seg == "smb"].sum()
    capacity = c.loc[c["status"] == "active", "capacity_hours"].sum() + p["capacity_hours"].sum()
    assert 0.7 <= demand / capacity <= 0.85


def test_every_enterprise_account_has_an_eligible_active_csm(any_book):
    a, c = any_book["accounts"], any_book["csms"]
    ent = a[segments(a) == "enterprise"]
    for region, language, offset in ent[["region", "language", "utc_offset"]].drop_duplicates().itertuples(index=False):
        assert csm_can_serve(c, "enterprise", region, language, offset).any(), (region, language, offset)


def test_every_language_has_enough_enterprise_speakers(any_book):
    """Per (region, language) the active in-region speakers can carry its enterprise hours."""
    a, c = any_book["accounts"], any_book["csms"]
    seg, h = segments(a), hours(a)
    active = (c["status"] == "active") & c["segments"].map(lambda s: not s or "enterprise" in split(s))
    for (region, language), rows in a[seg == "enterprise"].groupby(["region", "language"]):
        speakers = (
            active & (c["region"] == region) & c["languages"].map(lambda s, language=language: language in split(s))
        )
        assert h[rows.index].sum() <= c.loc[speakers, "capacity_hours"].sum(), (region, language)


def test_every_mid_market_account_has_a_csm_or_a_pool(any_book):
    a, c, p = any_book["accounts"], any_book["csms"], any_book["pools"]
    mid = a[segments(a) == "mid_market"]
    for region, language, offset in mid[["region", "language", "utc_offset"]].drop_duplicates().itertuples(index=False):
        assert csm_can_serve(c, "mid_market", region, language, offset).any() or pool_can_serve(
            p, "mid_market", region, language
        )


def test_arr_and_account_caps_leave_room(any_book):
    a, c = any_book["accounts"], any_book["csms"]
    seg = segments(a)
    active = c[c["status"] == "active"]
    assert a.loc[seg != "smb", "arr"].sum() <= active["max_arr"].sum()
    assert (seg != "smb").sum() <= active["max_accounts"].sum()
    for _, acc in a[seg == "enterprise"].iterrows():
        ok = csm_can_serve(c, "enterprise", acc["region"], acc["language"], acc["utc_offset"])
        assert (c.loc[ok, "max_arr"] >= acc["arr"]).any(), acc["account_id"]


def test_a_book_without_pools_covers_mid_market_with_csms():
    book = generate_book(2000, 40, pools=0, seed=4, as_of=AS_OF)
    assert book["pools"].empty
    assert not book["accounts"]["current_owner"].str.startswith("pool_").any()
    a, c = book["accounts"], book["csms"]
    mid = a[segments(a) == "mid_market"]
    for region, language, offset in mid[["region", "language", "utc_offset"]].drop_duplicates().itertuples(index=False):
        assert csm_can_serve(c, "mid_market", region, language, offset).any()


def test_too_few_csms_is_refused():
    with pytest.raises(ValueError, match="expected at least"):
        generate_book(10000, 40, seed=0, as_of=AS_OF)


@pytest.mark.parametrize("args", [(0, 5, None), (10, 0, None), (10, 5, -1)])
def test_nonsense_sizes_are_refused(args):
    with pytest.raises(ValueError, match="expected accounts >= 1"):
        generate_book(*args, seed=0, as_of=AS_OF)


# -- relationships -------------------------------------------------------------
def test_relationships_connect_known_ids(book10k):
    rel, a, c = book10k["relationships"], book10k["accounts"], book10k["csms"]
    kinds = set(rel["kind"])
    assert kinds == {
        "former_owner",
        "backup",
        "shadow",
        "covered_pto",
        "knows",
        "works_at",
        "expert",
        "uses",
        "same_pod",
    }
    csm_ids, acc_ids = set(c["csm_id"]), set(a["account_id"])
    by = {k: g for k, g in rel.groupby("kind")}
    for kind in ("former_owner", "backup", "shadow", "covered_pto"):
        assert by[kind]["source"].isin(csm_ids).all() and by[kind]["target"].isin(acc_ids).all(), kind
    works = by["works_at"]
    assert works["source"].str.fullmatch(r"ct_\d{6}").all() and works["target"].isin(acc_ids).all()
    assert by["knows"]["source"].isin(csm_ids).all() and by["knows"]["target"].isin(set(works["source"])).all()
    assert not by["knows"].duplicated(["source", "target"]).any()
    assert by["expert"]["source"].isin(csm_ids).all() and by["expert"]["target"].str.startswith("prod_").all()
    assert by["uses"]["source"].isin(acc_ids).all() and by["uses"]["target"].str.startswith("prod_").all()
    region = c.set_index("csm_id")["region"]
    pods = by["same_pod"]
    assert (pods["source"].map(region) == pods["target"].map(region)).all()


def test_relationship_values_and_dates(book10k):
    rel = book10k["relationships"]
    strength = rel["strength"].dropna()
    assert strength.between(0, 1).all()
    assert rel.loc[rel["kind"] == "knows", "strength"].notna().all()
    dated = (rel["since"] != "") & (rel["until"] != "")
    assert (pd.to_datetime(rel.loc[dated, "since"]) < pd.to_datetime(rel.loc[dated, "until"])).all()
    ended = rel["kind"].isin(["former_owner", "covered_pto"])
    assert (pd.to_datetime(rel.loc[ended, "until"]).dt.date < AS_OF).all()
    owner = book10k["accounts"].set_index("account_id")["current_owner"]
    peers = rel[rel["kind"].isin(["former_owner", "backup", "shadow", "covered_pto"])]
    assert (peers["source"] != peers["target"].map(owner)).all()


def test_some_contacts_changed_company(book10k):
    works = book10k["relationships"].query("kind == 'works_at'")
    assert (works["until"] != "").any()
    assert works["source"].duplicated().sum() == (works["until"] != "").sum()


# -- writing -------------------------------------------------------------------
def test_write_book_writes_the_six_csv_files(tmp_path):
    tables = generate_book(200, 5, seed=3, as_of=AS_OF)
    out = write_book(tables, tmp_path / "book")
    assert sorted(p.name for p in out.iterdir() if p.name != ".planner-output.json") == CSV_NAMES
    assert [p.name for p in tmp_path.iterdir()] == ["book"]  # no temporary folder left behind
    for name, table in tables.items():
        raw = (out / f"{name}.csv").read_bytes()
        assert b"\r" not in raw
        back = pd.read_csv(out / f"{name}.csv", encoding="utf-8", dtype=str, keep_default_na=False)
        assert list(back.columns) == list(table.columns) and len(back) == len(table)
    accounts = pd.read_csv(
        out / "accounts.csv", dtype={"health": "Int64"}, keep_default_na=False, na_values={"health": [""]}
    )
    assert accounts["arr"].tolist() == tables["accounts"]["arr"].tolist()
    assert accounts["health"].isna().tolist() == tables["accounts"]["health"].isna().tolist()
    assert accounts["utc_offset"].astype(float).tolist() == tables["accounts"]["utc_offset"].tolist()


def test_write_book_refuses_an_existing_folder_unless_forced(tmp_path):
    out = tmp_path / "book"
    write_book(generate_book(100, 3, seed=1, as_of=AS_OF), out)
    before = (out / "accounts.csv").read_bytes()
    with pytest.raises(OutputExistsError):
        write_book(generate_book(100, 3, seed=2, as_of=AS_OF), out)
    assert (out / "accounts.csv").read_bytes() == before
    write_book(generate_book(100, 3, seed=2, as_of=AS_OF), out, force=True)
    assert (out / "accounts.csv").read_bytes() != before
    assert sorted(p.name for p in out.iterdir() if p.name != ".planner-output.json") == CSV_NAMES


def test_write_book_needs_all_six_tables(tmp_path):
    tables = generate_book(100, 3, seed=1, as_of=AS_OF)
    del tables["pools"]
    with pytest.raises(ValueError, match="missing"):
        write_book(tables, tmp_path / "book")
    assert not (tmp_path / "book").exists()


def test_committed_small_fixture_is_reproducible(tmp_path):
    fresh = written_bytes(generate_book(40, 4, pools=1, seed=7, as_of=dt.date(2026, 11, 1)), tmp_path / "small")
    committed = {name: (ROOT / "fixtures" / "small" / name).read_bytes() for name in CSV_NAMES}
    assert fresh == committed

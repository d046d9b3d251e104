"""Synthetic CRM exports written from a generated book, in each CRM's own column names (for planner import tests).

`write_export(crm, book_dir, out_dir)` writes ``accounts.csv`` and ``users.csv``
as the CRM's standard export would: Salesforce Account and User (API names),
HubSpot companies and owners (export labels, numeric ids), Gainsight Company
and GS User. Owners are the book's CSMs and pools plus one "Digital CS" user
for the digital owner's accounts. Returns the ids the export holds, to compare
with a load file.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

# A place for each generated account: (region, language) -> (country, state by utc offset).
COUNTRIES = {
    ("NA", None): "United States",
    ("EMEA", "de"): "Germany",
    ("EMEA", "fr"): "France",
    ("EMEA", "es"): "Spain",
    ("EMEA", "it"): "Italy",
    ("EMEA", "nl"): "Netherlands",
    ("EMEA", None): "United Kingdom",
    ("APAC", "ja"): "Japan",
    ("APAC", "ko"): "South Korea",
    ("APAC", None): "Singapore",
    ("LATAM", "pt"): "Brazil",
    ("LATAM", None): "Mexico",
}
US_STATES = {-5: "NY", -6: "TX", -7: "CO", -8: "CA"}
ZONES = {
    -8: "America/Los_Angeles", -7: "America/Denver", -6: "America/Chicago", -5: "America/New_York",
    -3: "America/Sao_Paulo", 0: "Europe/London", 1: "Europe/Berlin", 2: "Europe/Athens", 5.5: "Asia/Kolkata",
    8: "Asia/Singapore", 9: "Asia/Tokyo", 10: "Australia/Sydney",
}  # fmt: skip
DIGITAL_SF = "0055g000DIGITAL"


@dataclass(frozen=True)
class Export:
    accounts: Path
    users: Path
    account_ids: set[str]  # the CRM ids of the export's accounts
    user_ids: set[str]  # the CRM ids (or emails, for Gainsight) a load file may name as owner
    digital: str  # the digital CS user's id (or email) for --digital-owner


def _country(region: str, language: str) -> str:
    return COUNTRIES.get((region, language)) or COUNTRIES[(region, None)]


def _owners(book: Path) -> pd.DataFrame:
    csms = pd.read_csv(book / "csms.csv", dtype=str, keep_default_na=False)
    pools = pd.read_csv(book / "pools.csv", dtype=str, keep_default_na=False)
    pools = pools.assign(
        csm_id=pools["pool_id"], email=pools["pool_id"] + "@pools.example.com", utc_offset="", status="active"
    )
    rows = pd.concat([csms, pools], ignore_index=True)[
        ["csm_id", "name", "email", "utc_offset", "languages", "crm_user_id"]
    ]
    digital = {
        "csm_id": "digital", "name": "Digital CS", "email": "digital@example.com", "utc_offset": "-5",
        "languages": "en", "crm_user_id": DIGITAL_SF,
    }  # fmt: skip
    rows = pd.concat([rows, pd.DataFrame([digital])], ignore_index=True).assign(active="true")
    # Owners the book names but its roster lacks (people who left): inactive users of the CRM.
    accounts = pd.read_csv(book / "accounts.csv", dtype=str, keep_default_na=False)
    gone = sorted(set(accounts["current_owner"]) - set(rows["csm_id"]) - {""})
    left = pd.DataFrame({
        "csm_id": gone, "name": [f"Former Csm{i}" for i in range(len(gone))],
        "email": [f"former{i}@example.com" for i in range(len(gone))], "utc_offset": "-5", "languages": "en",
        "crm_user_id": [f"0055g000GONE{i:03d}" for i in range(len(gone))], "active": "false",
    })  # fmt: skip
    rows = pd.concat([rows, left], ignore_index=True)
    rows["hubspot_id"] = [str(70000 + i) for i in range(len(rows))]
    rows["gsid"] = ["1P01" + f"{i:08d}" for i in range(len(rows))]
    return rows.set_index("csm_id", drop=False)


def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def _zone(offset: str) -> str:
    return ZONES.get(float(offset), "America/New_York") if offset else "America/New_York"


def write_export(crm: str, book: str | Path, out_dir: str | Path, money: str = "plain") -> Export:
    """The CRM's accounts and users exports of the generated book at `book`; `money` 'us' writes $1,200,000."""
    book, out_dir = Path(book), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    accounts = pd.read_csv(book / "accounts.csv", dtype=str, keep_default_na=False)
    owners = _owners(book)
    a_path, u_path = out_dir / "accounts.csv", out_dir / "users.csv"

    def amount(arr: str) -> str:
        return f"${float(arr):,.0f}" if money == "us" else arr

    def place(a) -> tuple[str, str]:
        country = _country(a.region, a.language)
        state = US_STATES.get(int(float(a.utc_offset)), "NY") if country == "United States" and a.utc_offset else ""
        return country, state

    if crm == "salesforce":
        from planner.crm.ids import to18

        def sf(owner: str) -> str:
            user = owners.loc[owner, "crm_user_id"] if owner else ""
            return to18(user) if len(user) == 15 else user

        # A new account has no crm_id in a generated book, but every Salesforce Account has an Id.
        blank = accounts["crm_id"] == ""
        accounts.loc[blank, "crm_id"] = [to18(f"0015g000NEW{i:04d}") for i in range(int(blank.sum()))]
        rows = []
        for a in accounts.itertuples():
            country, state = place(a)
            rows.append([a.crm_id, a.account_name, amount(a.arr), country, state, sf(a.current_owner), "Customer",
                         a.renewal_date, a.health])  # fmt: skip
        _write(a_path, ["Id", "Name", "AnnualRevenue", "BillingCountry", "BillingState", "OwnerId", "Type",
                        "Renewal_Date__c", "Health_Score__c"], rows)  # fmt: skip
        users = [[sf(o.csm_id), o.name, o.email, o.active, _zone(o.utc_offset),
                  (o.languages.split(";")[0] or "en") + "_US", "Customer Success"] for o in owners.itertuples()]  # fmt: skip
        _write(
            u_path, ["Id", "Name", "Email", "IsActive", "TimeZoneSidKey", "LanguageLocaleKey", "UserRole.Name"], users
        )
        return Export(a_path, u_path, set(accounts["crm_id"]), {u[0] for u in users}, sf("digital"))
    if crm == "hubspot":
        ids = [str(9_000_000 + i) for i in range(len(accounts))]
        rows = []
        for record, a in zip(ids, accounts.itertuples(), strict=True):
            country, state = place(a)
            owner = owners.loc[a.current_owner, "name"] if a.current_owner else ""
            rows.append([record, a.account_name, amount(a.arr), country, state, owner, a.renewal_date])
        _write(a_path, ["Record ID", "Company name", "Annual Revenue", "Country/Region", "State/Region",
                        "Company owner", "Renewal date"], rows)  # fmt: skip
        users = []
        for o in owners.itertuples():
            first, _, last = o.name.partition(" ")
            users.append([o.hubspot_id, first, last, o.email, o.active])
        _write(u_path, ["Owner ID", "First Name", "Last Name", "Email", "Active"], users)
        return Export(a_path, u_path, set(ids), set(owners["hubspot_id"]), owners.loc["digital", "hubspot_id"])
    if crm == "gainsight":
        ids = [f"1P02{i:08d}" for i in range(len(accounts))]
        rows = []
        for gsid, a in zip(ids, accounts.itertuples(), strict=True):
            country, _ = place(a)
            owner = owners.loc[a.current_owner, "email"] if a.current_owner else ""
            renewal = pd.Timestamp(a.renewal_date).strftime("%m/%d/%Y") if a.renewal_date else ""
            rows.append([gsid, a.crm_id, a.account_name, amount(a.arr), owner, renewal, a.health, country])
        _write(a_path, ["GSID", "SFDC Account ID", "Name", "ARR", "CSM Email", "Renewal Date", "Current Score",
                        "Country"], rows)  # fmt: skip
        users = [[o.gsid, o.name, o.email, _zone(o.utc_offset), o.active] for o in owners.itertuples()]
        _write(u_path, ["GSID", "Name", "Email", "Timezone", "Is Active"], users)
        return Export(a_path, u_path, set(ids), set(owners["email"]), "digital@example.com")
    raise ValueError(crm)

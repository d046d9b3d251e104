"""The coverage report: bus factor, per-CSM risk, backups and floaters, on books checked by hand."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from planner.cli.coverage import coverage
from planner.io import load_book
from planner.team.coverage import coverage_report, overflow_hours

FIX = Path(__file__).resolve().parent.parent / "fixtures"
AS_OF = dt.date(2027, 6, 1)


@pytest.fixture(scope="module")
def report():
    return coverage_report(load_book(FIX / "handoff", as_of=AS_OF))


def write_book(folder: Path, accounts: list[dict], csms: list[dict], relationships: list[dict] = ()) -> Path:
    """A CSV book from row dicts: every account and CSM in NA at UTC-5, English (override per row)."""
    folder.mkdir()
    tables = {
        "accounts": [{"region": "NA", "utc_offset": -5, "language": "en", **r} for r in accounts],
        "csms": [{"region": "NA", "utc_offset": -5, "languages": "en", "status": "active", **r} for r in csms],
        "relationships": list(relationships),
    }
    for name, rows in tables.items():
        if rows:
            with open(folder / f"{name}.csv", "w", newline="") as fh:
                w = csv.DictWriter(fh, fieldnames=list(dict.fromkeys(k for r in rows for k in r)))
                w.writeheader()
                w.writerows(rows)
    return folder


def mid_market(prefix: str, n: int, owner: str, **extra) -> list[dict]:
    """n mid-market accounts of complexity 3 (2 h a month each) owned by `owner`."""
    return [
        {"account_id": f"{prefix}_{i:02d}", "arr": 60000, "segment": "mid_market", "current_owner": owner, **extra}
        for i in range(n)
    ]


# -- fixtures/handoff (README: "Coverage report") ----------------------------------------------


def test_bus_factor_per_account(report):
    bus = report.bus_factor.set_index("account_id")
    assert bus["bus_factor"].to_dict() == {
        "acc_alpha": 1,
        "acc_iota": 1,
        "acc_zeta": 2,
        "acc_beta": 2,
        "acc_gamma": 1,
        "acc_delta": 1,
        "acc_eta": 1,
        "acc_theta": 1,
        "acc_epsilon": 1,
        "acc_kappa": 1,
    }
    assert bus.loc["acc_zeta", "holders"] == "csm_ann;csm_bea"
    assert bus.loc["acc_zeta", "holder_scores"] == "1.00;0.70"  # leo's shadow (0.40) is under the threshold
    assert bus.loc["acc_beta", "holders"] == "csm_leo;csm_bea"


def test_single_threaded_accounts_by_arr(report):
    single = report.single_threaded
    assert list(single["account_id"]) == [
        "acc_alpha",
        "acc_iota",
        "acc_gamma",
        "acc_delta",
        "acc_eta",
        "acc_theta",
        "acc_epsilon",
        "acc_kappa",
    ]
    assert list(single["holders"][:2]) == ["csm_leo", "csm_dan"]


def test_lower_threshold_adds_holders():
    r = coverage_report(load_book(FIX / "handoff", as_of=AS_OF), threshold=0.4)
    bus = r.bus_factor.set_index("account_id")
    assert bus.loc["acc_alpha", "holders"] == "csm_leo;csm_ann"  # former owner at 0.40
    assert bus.loc["acc_zeta", "holders"] == "csm_ann;csm_bea;csm_leo"  # leo's shadow at 0.40
    assert bus.loc["acc_gamma", "bus_factor"] == 2  # cal knows 2 of 3 contacts: 0.40


def test_csm_risk(report):
    risk = report.csm_risk
    assert list(risk["csm_id"]) == ["csm_leo", "csm_dan", "csm_bea", "csm_cal", "csm_eve", "csm_ann"]
    assert list(risk["accounts_alone"]) == [4, 1, 1, 1, 1, 0]
    assert list(risk["arr_alone"]) == [730000, 300000, 90000, 70000, 50000, 0]
    assert risk.loc[0, "status"] == "leaving"


def test_suggested_backups(report):
    b = report.backups
    assert list(zip(b["account_id"], b["backup"], b["knowledge_score"], b["backup_spare_hours"])) == [
        ("acc_alpha", "csm_ann", 0.4, 110),
        ("acc_iota", "csm_cal", 0.0, 110),
        ("acc_gamma", "csm_cal", 0.4, 108),
        ("acc_delta", "csm_dan", 0.405, 110),
        ("acc_eta", "csm_ann", 0.0, 108),
        ("acc_theta", "csm_eve", 0.15, 36),
        ("acc_epsilon", "csm_dan", 0.15, 108),
        ("acc_kappa", "csm_cal", 0.15, 106),
    ]
    assert b.loc[0, "explanation"] == "former owner until 2025-06"
    assert b.loc[1, "explanation"] == "no known relationship"
    assert (b["note"] == "").all()


def test_min_arr_limits_backups():
    r = coverage_report(load_book(FIX / "handoff", as_of=AS_OF), min_arr=150000)
    assert list(r.backups["account_id"]) == ["acc_alpha", "acc_iota", "acc_gamma"]


def test_fixture_needs_no_floaters(report):
    assert (report.floaters_one, report.floaters_two) == (0, 0)
    worst = report.departures.iloc[0]
    assert (worst["departed"], worst["accounts"], worst["hours"], worst["overflow_hours"]) == ("csm_leo", 5, 16.0, 0.0)
    assert (report.departures["size"] == 2).sum() == 15  # every pair of the 6 CSMs who own accounts


def test_report_is_deterministic_and_serializable(report):
    again = coverage_report(load_book(FIX / "handoff", as_of=AS_OF))
    for name, frame in report.to_frames().items():
        pd.testing.assert_frame_equal(frame, again.to_frames()[name])
    d = json.loads(json.dumps(report.to_dict()))
    assert d["single_threaded"] == {"accounts": 8, "arr": 1240000.0}
    assert d["floaters"]["scenarios"][0]["departed"] == ["csm_leo"]


def test_bad_threshold_is_refused(report):
    book = load_book(FIX / "handoff", as_of=AS_OF)
    with pytest.raises(ValueError, match=r"Expected a threshold in \(0, 1\], got 0"):
        coverage_report(book, threshold=0)


# -- hand-made capacity cases ---------------------------------------------------------------


def test_backups_are_never_overbooked(tmp_path):
    # two single-threaded enterprise accounts of 8 h; ann has 10 h spare, bob 9 h: one each
    accounts = [
        {"account_id": a, "arr": arr, "segment": "enterprise", "current_owner": "csm_own"}
        for a, arr in (("big", 500000), ("small", 300000))
    ]
    csms = [
        {"csm_id": "csm_own", "capacity_hours": 100},
        {"csm_id": "csm_ann", "capacity_hours": 10},
        {"csm_id": "csm_bob", "capacity_hours": 9},
    ]
    rel = [{"source": "csm_ann", "target": "small", "kind": "shadow", "strength": 1}]  # ann knows small a little
    r = coverage_report(load_book(write_book(tmp_path / "b", accounts, csms, rel), as_of=AS_OF))
    b = r.backups.set_index("account_id")
    assert b.loc["big", "backup"] == "csm_ann"  # nobody knows big: the most spare hours
    assert b.loc["small", "backup"] == "csm_bob"  # ann is full now, although she knows small
    # a third account finds nobody with 8 spare hours
    r = coverage_report(
        load_book(
            write_book(
                tmp_path / "c",
                accounts
                + [{"account_id": "third", "arr": 100000, "segment": "enterprise", "current_owner": "csm_own"}],
                csms,
            ),
            as_of=AS_OF,
        )
    )
    third = r.backups.set_index("account_id").loc["third"]
    assert (third["backup"], third["note"]) == ("", "no other eligible active CSM has 8 spare hours")


def test_one_leaver_100h_others_30h_spare_needs_one_floater(tmp_path):
    accounts = mid_market("x", 50, "csm_x")  # 100 h
    csms = [{"csm_id": "csm_x", "capacity_hours": 120}, {"csm_id": "csm_y", "capacity_hours": 30}]
    r = coverage_report(load_book(write_book(tmp_path / "b", accounts, csms), as_of=AS_OF))
    (row,) = r.departures.to_dict("records")
    assert row == {
        "departed": "csm_x",
        "size": 1,
        "accounts": 50,
        "hours": 100.0,
        "absorbed_hours": 30.0,
        "overflow_hours": 70.0,
        "floaters": 1,
    }
    assert (r.floaters_one, r.floaters_two) == (1, 1)  # no pair to lose: two departures need no more


def test_two_departures_need_more_floaters(tmp_path):
    # x: 100 h, capacity 100 (no spare); y and z: 100 h each, capacity 130 (30 h spare)
    accounts = mid_market("x", 50, "csm_x") + mid_market("y", 50, "csm_y") + mid_market("z", 50, "csm_z")
    csms = [
        {"csm_id": "csm_x", "capacity_hours": 100},
        {"csm_id": "csm_y", "capacity_hours": 130},
        {"csm_id": "csm_z", "capacity_hours": 130},
    ]
    r = coverage_report(load_book(write_book(tmp_path / "b", accounts, csms), as_of=AS_OF))
    d = r.departures.set_index("departed")
    assert d["overflow_hours"].to_dict() == {
        "csm_x": 40.0,
        "csm_y": 70.0,
        "csm_z": 70.0,  # 100 - 60, 100 - 30, 100 - 30
        "csm_x;csm_y": 170.0,
        "csm_x;csm_z": 170.0,
        "csm_y;csm_z": 200.0,
    }
    assert list(r.departures["departed"]) == ["csm_y", "csm_z", "csm_x", "csm_y;csm_z", "csm_x;csm_y", "csm_x;csm_z"]
    assert (r.floaters_one, r.floaters_two) == (1, 2)
    limited = coverage_report(load_book(tmp_path / "b", as_of=AS_OF), pair_limit=2)
    assert list(limited.departures.loc[limited.departures["size"] == 2, "departed"]) == [
        "csm_x;csm_y"
    ]  # ties: smaller ids
    none = coverage_report(load_book(tmp_path / "b", as_of=AS_OF), pair_limit=0)
    assert (none.departures["size"] == 1).all() and none.floaters_two == none.floaters_one == 1


def test_overflow_respects_eligibility(tmp_path):
    # x's 10 German accounts (20 h) can go to nobody: y speaks only English despite 100 h spare
    accounts = mid_market("en", 10, "csm_x") + mid_market("de", 10, "csm_x", language="de")
    csms = [
        {"csm_id": "csm_x", "capacity_hours": 120, "languages": "en;de"},
        {"csm_id": "csm_y", "capacity_hours": 100},
    ]
    r = coverage_report(load_book(write_book(tmp_path / "b", accounts, csms), as_of=AS_OF))
    x = r.departures.set_index("departed").loc["csm_x"]
    assert (x["hours"], x["overflow_hours"], x["floaters"]) == (40.0, 20.0, 1)


def test_overflow_is_the_fractional_bound():
    import numpy as np

    # one 8 h account, two CSMs with 5 h spare each: split, nothing overflows (a whole-account plan would)
    assert overflow_hours(np.array([8.0]), [np.array([0, 1])], np.array([5.0, 5.0])) == 0.0
    # 8 h only CSM 0 may take (5 spare: 3 h overflow); 4 h fit in CSM 1
    assert overflow_hours(np.array([8.0, 4.0]), [np.array([0]), np.array([0, 1])], np.array([5.0, 5.0])) == 3.0
    assert overflow_hours(np.array([3.0]), [np.array([], dtype=int)], np.array([5.0])) == 3.0


# -- the command ----------------------------------------------------------------------------------


def test_cli_prints_and_writes_the_report(tmp_path):
    app = typer.Typer()
    app.command()(coverage)
    app.callback()(lambda: None)  # keep `coverage` as a named subcommand
    out = tmp_path / "report"
    args = ["coverage", str(FIX / "handoff"), "--as-of", "2027-06-01", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "8 single-threaded accounts" in result.output
    assert sorted(p.name for p in out.iterdir()) == [
        ".planner-output.json",
        "backups.csv",
        "bus_factor.csv",
        "csm_risk.csv",
        "floaters.json",
    ]
    assert pd.read_csv(out / "backups.csv")["backup"].tolist()[:2] == ["csm_ann", "csm_cal"]
    assert json.loads((out / "floaters.json").read_text())["one_departure"] == 0
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 4 and "already exists" in again.output
    bad = CliRunner().invoke(app, ["coverage", str(FIX / "handoff"), "--threshold", "0"])
    assert bad.exit_code == 1 and "Expected a threshold" in bad.output

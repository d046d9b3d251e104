"""`planner frontier`: plans from the fewest moves the caps allow to the cheapest, each a plan that can be exported."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planner.cli import app
from planner.generate import generate_book, write_book
from planner.planning.frontier import caps_between, plan_frontier
from planner.planning.runner import BookSpec
from planner.plans import check_plan_id, load_plan

AS_OF = dt.date(2026, 11, 1)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("frontier") / "book"
    write_book(generate_book(200, 6, pools=2, seed=3, as_of=AS_OF), path)
    return path


@pytest.fixture(scope="module")
def points(folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("points")
    spec = BookSpec(str(folder), None, AS_OF)
    return out, plan_frontier(spec, out, 5, options={"gap": 1e-3}, workers=1)


def test_caps_spread_evenly_from_the_least_to_the_free_plan():
    assert caps_between(10, 50, 5) == [10, 20, 30, 40, 50]
    assert caps_between(10, 12, 8) == [10, 11, 12]
    assert caps_between(7, 7, 8) == [7]


def test_the_frontier_runs_from_fewest_moves_to_cheapest(points):
    out, found = points
    moves = [p.moves for p in found]
    assert moves == sorted(moves) and len(found) >= 3
    assert found[0].max_moves == found[0].moves  # the first point is the least change the caps allow
    assert found[-1].max_moves is None  # the last is the plain solve
    costs = [p.objective for p in found]
    for cheaper, dearer in zip(costs[1:], costs[:-1], strict=True):  # more moves buy a lower cost (within the gap)
        assert cheaper <= dearer * (1 + 2e-3)
    assert costs[-1] < costs[0]


def test_every_point_is_a_plan_folder_under_its_own_id(points):
    out, found = points
    for p in found:
        plan = load_plan(out / p.folder)
        check_plan_id(plan)
        assert plan.plan_id == p.plan_id and p.folder == f"{p.point:02d}-moves-{p.moves}"
        assert sum(r["changed"] == "true" and r["previous_owner"] != "" for r in plan.assignments) == p.moves


def test_worker_processes_give_the_same_frontier(folder, points, tmp_path):
    _, alone = points
    spec = BookSpec(str(folder), None, AS_OF)
    side_by_side = plan_frontier(spec, tmp_path, 5, options={"gap": 1e-3}, workers=2)
    assert [p.plan_id for p in side_by_side] == [p.plan_id for p in alone]


def test_the_command_writes_the_table_and_records_every_point(folder, tmp_path):
    out = tmp_path / "frontier"
    runner = CliRunner()
    r = runner.invoke(app, ["frontier", str(folder), "--as-of", AS_OF.isoformat(), "--out", str(out), "--points", "3",
                            "--workers", "1", "--gap", "0.001"])  # fmt: skip
    assert r.exit_code == 0, r.output
    with open(out / "frontier.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(row["point"]) for row in rows] == list(range(1, len(rows) + 1))
    assert {"moves", "moved_arr", "objective", "gap", "plan_id", "folder", "disruption_cost"} <= set(rows[0])
    ledger = tmp_path / "planner-ledger.sqlite"
    assert r.output.count("Recorded plan-") == len(rows)
    first = out / rows[0]["folder"]
    # The point's folder names the ledger it is in (no --ledger needed, from any folder).
    assert runner.invoke(app, ["plans", "approve", str(first), "--by", "vp"]).exit_code == 0
    exported = runner.invoke(
        app, ["export", str(first), "-f", "csv", "-o", str(tmp_path / "exp"), "--ledger", str(ledger)]
    )
    assert exported.exit_code == 0, exported.output

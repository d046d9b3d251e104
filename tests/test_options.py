"""Command-line options: a value the solvers cannot use is a usage error (exit 2) naming the option.

Each case below was a traceback, an "internal error" (exit 70) or a silent
run on a generated 500-account book before the options were validated:
``--gap -1`` (HiGHS rejected option mip_rel_gap), ``--threads -3``,
``--seed -1``, ``--seed 100000000000000000000`` (HiGHS rejected
random_seed), ``--backend foo``, ``--pulp-solver BOGUS``, ``--backend cpsat
--threads -2`` (CP-SAT rejected the model), ``generate --seed -1``; and
``--time-limit -1`` / ``--time-limit nan`` ran as a 0-second limit.
The tiny fixture books reach the same solver calls in well under a second.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from planner.backends.base import SolveOptions
from planner.cli import app
from planner.errors import PlannerError, UsageError

FIX = Path(__file__).resolve().parent.parent / "fixtures"
runner = CliRunner()

MAX_SEED = 2**31 - 1  # HiGHS's and CP-SAT's random seeds are 32-bit signed integers
MAX_THREADS = 256

SOLVE = ("solve", FIX / "tiny", "--as-of", "2026-11-01")
REASSIGN = ("reassign", FIX / "handoff", "--as-of", "2027-06-01")


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


BAD_VALUES = [
    (("--gap", "-1"), "--gap", "0 <= gap < 1"),
    (("--gap", "nan"), "--gap", "0 <= gap < 1"),
    (("--gap", "1"), "--gap", "0 <= gap < 1"),
    (("--threads", "-3"), "--threads", "whole number from 1 to 256"),
    (("--threads", "0"), "--threads", "whole number from 1 to 256"),
    (("--seed", "-1"), "--seed", "whole number from 0 to 2147483647"),
    (("--seed", "100000000000000000000"), "--seed", "whole number from 0 to 2147483647"),
    (("--seed", "1e20"), "--seed", "valid integer"),
    (("--backend", "foo"), "--backend", "'foo' is not one of 'highs', 'cpsat', 'pulp', 'greedy'"),
    (("--backend", "cpsat", "--threads", "-2"), "--threads", "whole number from 1 to 256"),
    (("--time-limit", "-1"), "--time-limit", "finite number of seconds > 0"),
    (("--time-limit", "nan"), "--time-limit", "finite number of seconds > 0"),
    (("--time-limit", "inf"), "--time-limit", "finite number of seconds > 0"),
    (("--as-of", "2026-13-01"), "--as-of", "Expected an ISO date like 2026-12-15, got '2026-13-01'"),
]


@pytest.mark.parametrize("command", [SOLVE, REASSIGN], ids=["solve", "reassign"])
@pytest.mark.parametrize("args,option,expected", BAD_VALUES, ids=[" ".join(a) for a, _, _ in BAD_VALUES])
def test_a_value_the_solvers_cannot_use_is_a_usage_error(tmp_path, command, args, option, expected):
    out = tmp_path / "plan"
    r = run(*command, "--out", out, *args)
    assert r.exit_code == 2, r.output
    assert f"Invalid value for '{option}'" in r.output and expected in r.output
    assert "Usage:" in r.output and "internal error" not in r.output
    assert not out.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", [SOLVE, REASSIGN], ids=["solve", "reassign"])
def test_an_unknown_pulp_solver_is_a_usage_error_listing_the_available_ones(tmp_path, command):
    pulp = pytest.importorskip("pulp")
    r = run(*command, "--out", tmp_path / "plan", "--backend", "pulp", "--pulp-solver", "BOGUS")
    assert r.exit_code == 2, r.output
    assert "Expected --pulp-solver to be one of the PuLP solvers available here: " in r.output
    assert "got 'BOGUS'" in r.output
    for name in pulp.listSolvers(onlyAvailable=True):
        assert name in r.output
    assert not (tmp_path / "plan").exists()


@pytest.mark.parametrize("command", [SOLVE, REASSIGN], ids=["solve", "reassign"])
def test_pulp_solver_without_the_pulp_backend_would_be_ignored_so_it_is_refused(tmp_path, command):
    r = run(*command, "--out", tmp_path / "plan", "--pulp-solver", "PULP_CBC_CMD")
    assert r.exit_code == 2, r.output
    assert "Expected --pulp-solver only with --backend pulp" in r.output and "--backend highs" in r.output
    assert not (tmp_path / "plan").exists()


@pytest.mark.parametrize("command", [SOLVE, REASSIGN], ids=["solve", "reassign"])
def test_the_extremes_of_each_range_still_solve(tmp_path, command):
    out = tmp_path / "plan"
    r = run(*command, "--out", out, "--threads", "1", "--seed", "0", "--gap", "0", "--time-limit", "30")
    assert r.exit_code == 0, r.output
    options = json.loads((out / "summary.json").read_text())["options"]
    assert options["gap"] == 0.0 and options["threads"] == 1 and options["seed"] == 0 and options["time_limit"] == 30


def test_the_largest_seed_solves(tmp_path):
    r = run(*SOLVE, "--out", tmp_path / "plan", "--seed", str(MAX_SEED))
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "plan" / "summary.json").read_text())["options"]["seed"] == MAX_SEED


def test_reassign_passes_gap_threads_seed_and_pulp_solver_to_the_solver(tmp_path):
    pulp = pytest.importorskip("pulp")
    solver = "HiGHS" if "HiGHS" in pulp.listSolvers(onlyAvailable=True) else "PULP_CBC_CMD"
    out = tmp_path / "plan"
    r = run(
        *REASSIGN,
        "--out",
        out,
        "--backend",
        "pulp",
        "--pulp-solver",
        solver,
        "--gap",
        "0.01",
        "--threads",
        "2",
        "--seed",
        "7",
    )
    assert r.exit_code == 0, r.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["backend"] == "pulp"
    assert summary["options"] == {**summary["options"], "gap": 0.01, "threads": 2, "seed": 7, "pulp_solver": solver}


def test_generate_refuses_a_negative_seed_and_impossible_counts(tmp_path):
    for args, option in (
        (("--seed", "-1"), "--seed"),
        (("--accounts", "100000000000000000000"), "--accounts"),
        (("--pools", "-1"), "--pools"),
    ):
        argv = {"--accounts": "30", "--csms": "3", **dict(zip(args[::2], args[1::2], strict=True))}
        r = run("generate", *[x for kv in argv.items() for x in kv], "--out", tmp_path / "book")
        assert r.exit_code == 2, r.output
        assert f"Invalid value for '{option}'" in r.output and "Expected" in r.output
        assert not (tmp_path / "book").exists()


def test_help_lists_the_backends_and_the_limits():
    for command in ("solve", "reassign"):
        r = run(command, "--help")
        assert r.exit_code == 0
        text = " ".join(r.output.split())
        for flag in (
            "--backend",
            "--pulp-solver",
            "--time-limit",
            "--gap",
            "--threads",
            "--seed",
            "--policy",
            "--as-of",
            "--ledger",
        ):
            assert flag in text, (command, flag)
        assert "highs|cpsat|pulp|greedy" in text
        assert "0 <= G < 1" in text and "1 to 256" in text and "0 to 2147483647" in text
    assert "highs|cpsat|pulp|greedy" in run("demo", "--help").output


def test_the_option_module_agrees_with_the_backends():
    from planner import backends
    from planner.backends import base
    from planner.cli import options as cli_options

    assert [b.value for b in cli_options.Backend] == list(backends.BACKENDS)
    assert cli_options.MAX_SEED == base.MAX_SEED == MAX_SEED
    assert cli_options.MAX_THREADS == base.MAX_THREADS == MAX_THREADS


# -- SolveOptions: library users get a clear error before any solver sees the value ---------------


@pytest.mark.parametrize(
    "kwargs,expected",
    [
        ({"gap": -1}, "gap"),
        ({"gap": 1.0}, "gap"),
        ({"gap": math.nan}, "gap"),
        ({"threads": 0}, "threads"),
        ({"threads": -2}, "threads"),
        ({"threads": 1.5}, "threads"),
        ({"threads": True}, "threads"),
        ({"seed": -1}, "seed"),
        ({"seed": 2**31}, "seed"),
        ({"time_limit": -1}, "time_limit"),
        ({"time_limit": math.nan}, "time_limit"),
        ({"time_limit": math.inf}, "time_limit"),
    ],
)
def test_solve_options_refuse_what_a_solver_would_reject(kwargs, expected):
    with pytest.raises(UsageError, match=f"Expected {expected} to be") as err:
        SolveOptions(**kwargs)
    assert isinstance(err.value, ValueError) and isinstance(err.value, PlannerError)


def test_solve_options_accept_the_extremes():
    SolveOptions(gap=0.0, threads=1, seed=0, time_limit=0.0)  # a backend passes on an exhausted budget as 0
    SolveOptions(gap=0.999, threads=MAX_THREADS, seed=MAX_SEED, time_limit=1e6)
    SolveOptions(threads=np.int64(2), seed=np.int64(3), gap=np.float64(0.01))


def test_lns_sub_seeds_beyond_the_32_bit_range_wrap_instead_of_failing():
    """The LNS gives its sub-MIPs seed + step; with --seed 2147483647 HiGHS rejected random_seed=2147483648."""
    highs = pytest.importorskip("planner.backends.highs")
    from planner.models.core import AssignmentProblem, Resource

    # item 0: agent 0 (cost 1) or agent 1 (cost 4); item 1: agent 0 (cost 1) or agent 1 (cost 2); agent 0 fits one
    problem = AssignmentProblem(
        n_items=2, n_agents=2, arc_item=np.array([0, 0, 1, 1]), arc_agent=np.array([0, 1, 0, 1]),
        arc_cost=np.array([1.0, 4.0, 1.0, 2.0]),
        resources=(Resource("hours", np.full(4, 6.0), np.array([10.0, 6.0])),),
    )  # fmt: skip
    with highs._sub_mips():
        choice = highs._solve_sub(problem, 2.0, MAX_SEED + 3)
    assert choice.tolist() == [0, 3]


def test_the_defaults_end_a_solve_at_a_proven_half_percent_within_two_minutes(tmp_path):
    """README's plain `planner solve BOOK --out PLAN` stops at a proven 0.5% or 120 s, and says what is proven."""
    import json

    from typer.testing import CliRunner

    from planner.cli import app

    r = CliRunner().invoke(app, ["solve", str(FIX / "tiny"), "--as-of", "2026-11-01", "--out", str(tmp_path / "p")])
    assert r.exit_code == 0, r.output
    options = json.loads((tmp_path / "p" / "summary.json").read_text())["options"]
    assert (options["gap"], options["time_limit"]) == (0.005, 120.0)
    assert "optimal (proven within 0.00% of the best possible plan)" in r.output


@pytest.mark.parametrize("command", ["validate", "import"])
def test_an_unknown_locale_is_a_usage_error(tmp_path, command):
    book = FIX / "tiny"
    args = ["validate", book] if command == "validate" else ["import", "salesforce", book / "accounts.csv", "--users",
                                                            book / "csms.csv", "--out", tmp_path / "b"]  # fmt: skip
    r = run(*args, "--locale", "xx-YY")
    assert r.exit_code == 2, r.output
    assert "Invalid value for '--locale': Expected a locale such as en-US, de-DE or fr-FR, got 'xx-YY'" in r.output
    assert list(tmp_path.iterdir()) == []

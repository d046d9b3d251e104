"""The options the commands share, each declared once with its validation.

A command takes ``book: BookArg``, ``gap: GapOption = DEFAULT_GAP`` and so on;
typer reads the type and the option together. Every limit is checked while
the command line is parsed, so a value the solvers cannot use is a usage
error (exit 2, click's message naming the option and what was expected)
before any book is read. The limits are those the solvers accept:

* ``--time-limit``: a finite number of seconds > 0 (click's FloatRange
  would let ``nan`` through, so a callback checks it);
* ``--gap``: a finite relative gap, 0 <= gap < 1;
* ``--threads``: a whole number from 1 to MAX_THREADS;
* ``--seed``: a whole number from 0 to 2**31 - 1 (HiGHS's and CP-SAT's
  random seeds are 32-bit signed integers).

``--pulp-solver`` can only be checked once pulp is imported:
:func:`check_pulp_solver` does it where the backend is chosen.

Nothing heavy is imported here, so ``planner --help`` stays instant.
"""

from __future__ import annotations

import datetime as dt
import math
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Optional

import typer

from planner.errors import UsageError

# Defaults a user can live with: a 10,000-account book ends well inside a minute at a proven 0.5% (README,
# Benchmarks); --gap 0 --time-limit 3600 asks for more.
DEFAULT_GAP = 0.005
DEFAULT_TIME_LIMIT = 120.0
MAX_THREADS = 256
MAX_SEED = 2**31 - 1
MAX_ACCOUNTS = 1_000_000
MAX_CSMS = 100_000
MAX_POOLS = 1_000


class Backend(StrEnum):
    """The backends of planner.backends.BACKENDS (a test keeps the two equal; importing
    the registry here would load numpy for every --help)."""

    highs = "highs"
    cpsat = "cpsat"
    pulp = "pulp"
    greedy = "greedy"


BACKEND_HELP = "highs (default), cpsat, pulp (CBC, or --pulp-solver), greedy (today's rule-based baseline)"


# -- parsers and checks -----------------------------------------------------------------


def parse_iso_date(value: str | dt.date) -> dt.date:
    """An ISO date (2026-12-15); anything else is a usage error naming the option."""
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"Expected an ISO date like 2026-12-15, got {value!r}") from None


def check_time_limit(value: Optional[float]) -> Optional[float]:
    if value is not None and not (math.isfinite(value) and value > 0):
        raise typer.BadParameter(f"Expected a finite number of seconds > 0, got {value!r}")
    return value


def check_gap(value: float) -> float:
    if not (math.isfinite(value) and 0 <= value < 1):
        raise typer.BadParameter(f"Expected a finite relative gap with 0 <= gap < 1 (e.g. 1e-4 or 0.01), got {value!r}")
    return value


def check_locale_option(value: Optional[str]) -> Optional[str]:
    """--locale: a locale babel knows (en-US, de_DE, fr-FR), else a usage error (exit 2) saying what is expected."""
    if value is None:
        return None
    from planner.errors import BookError
    from planner.io.colmap import check_locale

    try:
        check_locale(value, "--locale")
    except BookError:
        raise typer.BadParameter(f"Expected a locale such as en-US, de-DE or fr-FR, got {value!r}") from None
    return value


def whole_range(lo: int, hi: int):
    """A callback: a whole number from lo to hi, else a usage error saying so (typer's own range message gives one end)."""

    def check(value: Optional[int]) -> Optional[int]:
        if value is not None and not lo <= value <= hi:
            raise typer.BadParameter(f"Expected a whole number from {lo} to {hi}, got {value}")
        return value

    return check


def check_finite(value: Optional[float]) -> Optional[float]:
    """After a FloatRange (which lets nan through): a finite number."""
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter(f"Expected a finite number, got {value!r}")
    return value


def check_share(value: Optional[float]) -> Optional[float]:
    if value is not None and not (math.isfinite(value) and 0 <= value <= 1):
        raise typer.BadParameter(f"Expected a share of ARR from 0 to 1 (e.g. 0.1 for 10%), got {value!r}")
    return value


def check_pulp_solver(backend: str, pulp_solver: str | None) -> None:
    """--pulp-solver names a PuLP solver available here, and comes with --backend pulp (else it would be ignored)."""
    if pulp_solver is None:
        return
    if backend != Backend.pulp:
        raise UsageError(
            f"Expected --pulp-solver only with --backend pulp; with --backend {backend} it would be ignored "
            f"(got --pulp-solver {pulp_solver!r})"
        )
    from planner.backends.pulp_backend import check_solver_name

    check_solver_name(pulp_solver)


# -- the shared options -----------------------------------------------------------------


def date_option(flag: str, help: str):
    """An optional ISO date option (``--as-of``, ``--until``, ``--effective``), parsed while the line is read."""
    return Annotated[Optional[dt.date], typer.Option(flag, parser=parse_iso_date, metavar="DATE", help=help)]


BookArg = Annotated[Path, typer.Argument(help="Folder of CSV/Parquet files, or one .xlsx workbook.")]
PlanOutOption = Annotated[Path, typer.Option("--out", help="Plan folder to write (must not exist unless --force).")]
PolicyOption = Annotated[Optional[Path], typer.Option("--policy", help="TOML file merged over the default policy.")]
AsOfOption = date_option("--as-of", "Plan date (ISO), default today; drives the renewal freeze.")
BackendOption = Annotated[Backend, typer.Option("--backend", help=BACKEND_HELP)]
PulpSolverOption = Annotated[
    Optional[str],
    typer.Option("--pulp-solver", metavar="NAME", help="With --backend pulp: e.g. GUROBI_CMD, CPLEX_CMD."),
]
TimeLimitOption = Annotated[
    Optional[float],
    typer.Option(
        "--time-limit",
        callback=check_time_limit,
        metavar="SECONDS",
        help="Seconds for the whole command (a finite number > 0): loading, solving, the baselines.",
    ),
]
GapOption = Annotated[
    float,
    typer.Option(
        "--gap",
        callback=check_gap,
        metavar="G",
        help="Stop once the plan is proven within this relative gap of the best possible (0 <= G < 1; 0 = exact).",
    ),
]
ThreadsOption = Annotated[
    int,
    typer.Option(
        "--threads",
        callback=whole_range(1, MAX_THREADS),
        metavar="N",
        help=f"Solver threads (1 to {MAX_THREADS}). 1 is fastest on small books; on big time-limited books (from "
        "about 3,000 accounts) 2 runs the full MIP beside the search and usually proves a smaller gap.",
    ),
]
SeedOption = Annotated[
    int,
    typer.Option(
        "--seed",
        callback=whole_range(0, MAX_SEED),
        metavar="SEED",
        help=f"Random seed (0 to {MAX_SEED}): same input and seed, same result.",
    ),
]
ForceOption = Annotated[bool, typer.Option("--force", help="Replace an existing --out folder.")]
MapOption = Annotated[
    Optional[Path],
    typer.Option(
        "--map",
        metavar="MAP.toml",
        help='Column map: read the book\'s columns under other names (e.g. [accounts] arr = "AnnualRevenue"), '
        "amounts under a locale, dates in a format (docs/crm_import.md).",
    ),
]
LocaleOption = Annotated[
    Optional[str],
    typer.Option(
        "--locale",
        metavar="LOCALE",
        callback=check_locale_option,
        help="How numbers and amounts are written, e.g. en-US ($1,200,000), de-DE (1.200.000,00 EUR), "
        "fr-FR (1 200 000,00); overrides the map's locale.",
    ),
]
ReportOption = Annotated[
    Optional[Path],
    typer.Option("--report", metavar="FILE.csv", help="Write every finding, one row each, to this CSV file."),
]
VerboseOption = Annotated[bool, typer.Option("--verbose", help="Show the solver's log.")]
LedgerOption = Annotated[
    Optional[Path],
    typer.Option(
        "--ledger",
        envvar="PLANNER_LEDGER",
        help="Ledger file (default: planner-ledger.sqlite next to the plan folders).",
    ),
]

# generate's counts
AccountsOption = Annotated[
    int,
    typer.Option(
        "--accounts", callback=whole_range(1, MAX_ACCOUNTS), help=f"Number of accounts (1 to {MAX_ACCOUNTS:,})."
    ),
]
CsmsOption = Annotated[
    int, typer.Option("--csms", callback=whole_range(1, MAX_CSMS), help=f"Number of CSMs (1 to {MAX_CSMS:,}).")
]
PoolsOption = Annotated[
    Optional[int],
    typer.Option(
        "--pools",
        callback=whole_range(0, MAX_POOLS),
        help=f"Number of pools (0 to {MAX_POOLS:,}; default scales with the book).",
    ),
]

MaxMovesOption = Annotated[
    Optional[int],
    typer.Option(
        "--max-moves",
        callback=whole_range(0, MAX_ACCOUNTS),
        metavar="N",
        help="At most N accounts change owner (those whose owner cannot keep them count too). Default: no cap.",
    ),
]
MaxMovedArrOption = Annotated[
    Optional[float],
    typer.Option(
        "--max-moved-arr",
        callback=check_share,
        metavar="SHARE",
        help="At most this share of today's owned ARR changes owner (0 to 1). Default: the policy's "
        "continuity.max_changed_arr_share.",
    ),
]

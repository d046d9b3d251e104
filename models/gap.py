r"""The OR-Library Generalized Assignment Problem as an :class:`AssignmentProblem`.

Maths
-----
    m agents i, n jobs j; every job goes to exactly one agent.

    opt  Σ_i Σ_j c[i][j] x[i][j]
    s.t. Σ_i x[i][j] = 1            ∀ j          (assign rows: items = jobs)
         Σ_j a[i][j] x[i][j] <= b[i]  ∀ i          (one resource "capacity")
         x[i][j] ∈ {0, 1}

Every (job, agent) pair is an arc, numbered job-major: arc ``j * m + i``.

Senses
------
The core always minimises. ``sense="min"`` keeps c; ``sense="max"`` stores
``-c`` so that minimising it maximises the original objective. For a max
instance every objective and bound a backend returns is therefore the
*negated* original value (and the "lower bound" is minus an upper bound);
:func:`in_sense` turns such a number back into the instance's own sense.

File format: a whitespace token stream ``m n, c[m][n], a[m][n], b[m]``
(see ``shared/benchmarks/gap/README.md``).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import NamedTuple

import numpy as np

from planner.models.core import AssignmentProblem, Resource

SENSES = ("min", "max")


class KnownValue(NamedTuple):
    """A reference value from optima.csv: ``status`` is ``optimal`` or ``best_known``."""

    objective: float
    status: str
    source: str


class GapData(NamedTuple):
    """The raw instance: cost[i][j], use[i][j] (agent i, job j) and capacity[i]."""

    cost: np.ndarray  # (m, n)
    use: np.ndarray  # (m, n)
    capacity: np.ndarray  # (m,)

    @property
    def m(self) -> int:
        return self.cost.shape[0]

    @property
    def n(self) -> int:
        return self.cost.shape[1]


def parse_gap_data(text: str, name: str = "gap") -> GapData:
    """Read the token stream ``m n, c[m][n], a[m][n], b[m]``, checking its length."""
    tokens = np.array(text.split(), dtype=np.int64)
    if len(tokens) < 2:
        raise ValueError(f"Expected 'm n' at the start of GAP instance {name!r}")
    m, n = int(tokens[0]), int(tokens[1])
    expected = 2 + 2 * m * n + m
    if len(tokens) != expected:
        raise ValueError(f"Expected {expected} integers in GAP instance {name!r} (m={m}, n={n}), got {len(tokens)}")
    return GapData(
        cost=tokens[2 : 2 + m * n].reshape(m, n).astype(float),
        use=tokens[2 + m * n : 2 + 2 * m * n].reshape(m, n).astype(float),
        capacity=tokens[2 + 2 * m * n :].astype(float),
    )


def to_problem(data: GapData, name: str = "gap", sense: str = "min") -> AssignmentProblem:
    """The GAP as an AssignmentProblem (costs negated for ``sense="max"``)."""
    if sense not in SENSES:
        raise ValueError(f"Expected sense 'min' or 'max', got {sense!r}")
    # Job-major arcs: arc j*m + i is (job j, agent i), so cost.T.ravel() lines up.
    arc_cost = data.cost.T.ravel()
    return AssignmentProblem(
        n_items=data.n,
        n_agents=data.m,
        arc_item=np.repeat(np.arange(data.n, dtype=np.int64), data.m),
        arc_agent=np.tile(np.arange(data.m, dtype=np.int64), data.n),
        arc_cost=arc_cost if sense == "min" else -arc_cost,
        resources=(Resource("capacity", data.use.T.ravel(), data.capacity),),
        name=name,
        meta={"sense": sense, "family": "gap"},
    )


def read_gap(path: str | Path, sense: str = "min") -> AssignmentProblem:
    """Read an OR-Library GAP file; the problem is named after the file."""
    path = Path(path)
    return to_problem(parse_gap_data(path.read_text(), path.name), name=path.name, sense=sense)


def in_sense(value: float | None, sense: str) -> float | None:
    """Turn a core (minimisation) objective or bound back into the instance's sense."""
    if value is None:
        return None
    return value if sense == "min" else -value


def load_optima(path: str | Path) -> dict[tuple[str, str], KnownValue]:
    """Read optima.csv into {(instance, sense): KnownValue}."""
    with open(path, newline="") as f:
        return {
            (row["instance"], row["sense"]): KnownValue(float(row["objective"]), row["status"], row["source"])
            for row in csv.DictReader(f)
        }

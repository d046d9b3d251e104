"""Backend registry: pick a solver by name, import it only when asked.

Each backend is a module of this package with
``solve(problem, options) -> BackendSolution`` (see :mod:`.base`). Solver
libraries are imported by the backend modules, never here, so importing the
registry stays cheap and works when a solver library is missing.

The two helpers at the bottom are shared by the exact backends so that they
read warm starts and turn solver answers into statuses the same way.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np

from planner.backends.base import BackendSolution, SolveOptions, classify, relative_gap

if TYPE_CHECKING:
    from planner.models.core import AssignmentProblem

BACKENDS = ("highs", "cpsat", "pulp", "greedy")
_MODULES = {"highs": "highs", "cpsat": "cpsat", "pulp": "pulp_backend", "greedy": "greedy"}


def get(name: str) -> ModuleType:
    """The backend module called ``name``; ImportError if its solver library is missing."""
    if name not in _MODULES:
        raise ValueError(f"Expected one of {', '.join(BACKENDS)}, got {name!r}")
    return importlib.import_module(f"{__name__}.{_MODULES[name]}")


def available() -> list[str]:
    """Backends whose solver libraries import on this machine, in BACKENDS order."""
    names = []
    for name in BACKENDS:
        try:
            get(name)
        except ImportError:
            continue
        names.append(name)
    return names


def solve(problem: AssignmentProblem, backend: str = "highs", options: SolveOptions | None = None) -> BackendSolution:
    """Solve ``problem`` with the named backend (default options when None)."""
    return get(backend).solve(problem, options or SolveOptions())


def complete_start(problem: AssignmentProblem, options: SolveOptions) -> np.ndarray | None:
    """``problem.start`` when warm starts are on and it assigns every item to one of its own arcs, else None.

    Solvers that take a full MIP start (HiGHS setSolution, CBC -mips) need every
    variable; a partial or malformed start is dropped rather than guessed.
    """
    start = problem.start
    if not options.warm_start or start is None or len(start) != problem.n_items:
        return None
    start = np.asarray(start, dtype=np.int64)
    if np.any(start < 0) or np.any(start >= problem.n_arcs):
        return None
    if np.any(problem.arc_item[start] != np.arange(problem.n_items)):
        return None
    return start


def finish(
    problem: AssignmentProblem,
    options: SolveOptions,
    backend: str,
    x: np.ndarray | None,
    *,
    finished: bool,
    infeasible: bool,
    bound: float | None,
    build_s: float,
    solve_s: float,
    solver_objective: float | None = None,
    message: str = "",
) -> BackendSolution:
    """Turn a solver's raw answer into a BackendSolution the same way for every exact backend.

    ``x`` is the solver's column vector (None when it has none). The plan
    counts only when it assigns every item; its objective is recomputed with
    ``problem.objective`` so every backend reports the same number for the
    same plan, and the status comes from :func:`classify` on that objective.
    A bound above the plan's cost can only be solver tolerance; it is capped.
    """
    choice = problem.x_to_choice(x) if x is not None else np.full(problem.n_items, -1, dtype=np.int64)
    has_solution = x is not None and bool(np.all(choice >= 0))
    objective = problem.objective(choice) if has_solution else None
    if bound is not None and objective is not None:
        bound = min(bound, objective)
    status = classify(has_solution, finished, infeasible, relative_gap(objective, bound), options)
    return BackendSolution(
        status=status,
        choice=choice,
        objective=objective,
        bound=bound,
        backend=backend,
        build_s=build_s,
        solve_s=solve_s,
        message=message,
        solver_objective=solver_objective,
    )

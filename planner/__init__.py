"""Territory planner for Customer Success teams.

The public API is small and flat::

    from planner import load_book, solve, evaluate
    book = load_book("fixtures/tiny", as_of=datetime.date(2026, 11, 1))
    result = solve(book, backend="highs")
    result.write("plan")
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["load_book", "validate_book", "load_policy", "solve", "reassign", "evaluate", "Book", "PlanResult", "Status"]


def __getattr__(name: str):
    # Lazy: `import planner` (and `planner --help`) must not pull in pandas or solvers.
    if name in ("load_book", "validate_book"):
        from planner import io

        return getattr(io, name)
    if name == "load_policy":
        from planner.policy import load_policy

        return load_policy
    if name == "solve":
        from planner.planning.solve import solve

        return solve
    if name == "PlanResult":
        from planner.planning.result import PlanResult

        return PlanResult
    if name == "reassign":
        from planner.planning.reassign import reassign

        return reassign
    if name == "evaluate":
        from planner.planning.evaluate import evaluate

        return evaluate
    if name == "Book":
        from planner.book import Book

        return Book
    if name == "Status":
        from planner.backends.base import Status

        return Status
    raise AttributeError(f"module 'planner' has no attribute {name!r}")

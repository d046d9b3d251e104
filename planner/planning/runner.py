"""Run many independent solves side by side: the one runner of the frontier, and later of sweeps and Monte-Carlo.

A *task* is a picklable call of a module-level function, ``fn(*args)``;
:func:`run_tasks` runs them in worker processes and returns their results
in task order, whatever order they finish in (so a run is reproducible).

Why processes: a solve is CPU-bound Python and C++ with the GIL held for
much of its work, and HiGHS keeps one task scheduler per process, so two
solves in one process would fight over both. Each worker process is
started fresh ("spawn": no HiGHS or thread state copied from the parent)
and solves one task at a time with the threads its task asks for (one by
default), so ``workers`` solves use ``workers`` cores and never more than
the machine has.

Books are loaded once per worker, not once per task: tasks name their book
by a :class:`BookSpec` (folder, policy file, plan date) and call
:func:`cached_book`, which keeps the loaded Book for the worker's life.

With one worker (or one task) everything runs in this process, in order:
the same results, no process start-up, and tracebacks that point at the
code. A task that raises a PlannerError re-raises it in the caller; any
other exception too, with the task named.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_BOOKS: dict = {}


@dataclass(frozen=True)
class BookSpec:
    """How a worker loads the book a task works on (picklable; the Book itself is not sent)."""

    path: str
    policy: str | None
    as_of: dt.date

    def load(self):
        from planner.io import load_book
        from planner.policy import load_policy

        return load_book(Path(self.path), policy=load_policy(self.policy), as_of=self.as_of)


def remember(spec: BookSpec, book) -> None:
    """Keep an already loaded Book for `spec` in this process (the caller validated it; workers load their own)."""
    _BOOKS[spec] = book


def cached_book(spec: BookSpec):
    """The Book of `spec`, loaded once per process."""
    if spec not in _BOOKS:
        _BOOKS[spec] = spec.load()
    return _BOOKS[spec]


def default_workers() -> int:
    """The cores this process may use (at least one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class Runner:
    """Worker processes kept for several rounds of tasks (a frontier's two ends, then its middle).

    Use as a context manager; :meth:`run` is :func:`run_tasks` on the same
    processes, so each worker starts (and loads its book) once.
    """

    def __init__(self, workers: int | None = None):
        self.workers = workers or default_workers()
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            self._pool.shutdown()

    def run(self, fn: Callable, tasks: Sequence[tuple]) -> list[Any]:
        """[fn(*task) for task in tasks], in task order; in this process when one worker would do."""
        if self.workers <= 1 or len(tasks) <= 1:
            return [fn(*task) for task in tasks]
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"))
        futures = [self._pool.submit(fn, *task) for task in tasks]
        return [f.result() for f in futures]


def run_tasks(fn: Callable, tasks: Sequence[tuple], workers: int | None = None) -> list[Any]:
    """[fn(*task) for task in tasks], computed in up to `workers` processes (default: the cores), in task order."""
    with Runner(min(len(tasks), workers or default_workers()) or 1) as runner:
        return runner.run(fn, tasks)

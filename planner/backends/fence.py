"""A solver run in a child process that is stopped at its deadline, whatever the solver is doing.

Why: HiGHS checks its time limit and calls its interrupt callbacks often in
most of a MIP run, but not everywhere. At the root of the 10k-account book's
full MIP it computes an analytic centre with its interior-point solver (HiGHS
1.16 does this unconditionally, ``compute_analytic_centre = true`` in
``HighsMipSolverData::evaluateRootNode``): about 60 s on one thread with no
callback and no time check, so a run given 15 s took 72 s. A separation
round can likewise run on for seconds. In a child process the deadline binds:
at the deadline the parent kills the child and keeps what it was told.

Protocol: the child calls ``fn(*args, report)``; each ``report(payload)``
reaches the parent at once (a plan found, a better bound), and the value
``fn`` returns is sent last. :func:`run_fenced` returns the final value when
the child ended in time, else None, and hands every report to ``on_report``
as it arrives, so the caller keeps the best plan and bound reported so far.
The child dies with its parent (Linux ``PR_SET_PDEATHSIG``), so a killed
planner leaves no solver running.

The child is started fresh ("spawn"): no HiGHS scheduler or thread state is
copied from the parent. Starting it and importing the solver costs about
0.5 s, so only runs long enough to need it are fenced (the caller decides).
"""

from __future__ import annotations

import ctypes
import multiprocessing
import signal
import time
import traceback
from collections.abc import Callable
from typing import Any


class FenceError(RuntimeError):
    """The child failed (an exception in ``fn``, or it died before answering)."""


def _die_with_parent() -> None:
    """Ask Linux to kill this process when its parent dies (a no-op elsewhere)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        pass


def _child(conn, fn: Callable, args: tuple) -> None:
    _die_with_parent()

    def report(payload: Any) -> None:
        conn.send(("report", payload))

    try:
        conn.send(("done", fn(*args, report)))
    except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent as words
        conn.send(("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))
    finally:
        conn.close()


def run_fenced(fn: Callable, args: tuple, deadline: float, on_report: Callable[[Any], None]) -> tuple[bool, Any]:
    """(whether ``fn`` finished before ``deadline``, its value or None); ``fn(*args, report)`` runs in a child.

    ``fn`` must be a module-level function and ``args`` picklable. Raises
    :class:`FenceError` when the child raised or died without an answer.
    """
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, fn, args), daemon=True)
    proc.start()
    child.close()
    try:
        while True:
            left = deadline - time.perf_counter()
            if left <= 0:
                return False, None
            if not parent.poll(min(left, 0.5)):
                if not proc.is_alive() and not parent.poll(0):
                    raise FenceError(f"the solver process ended without an answer (exit code {proc.exitcode})")
                continue
            try:
                kind, payload = parent.recv()
            except EOFError:
                raise FenceError(f"the solver process ended without an answer (exit code {proc.exitcode})") from None
            if kind == "report":
                on_report(payload)
            elif kind == "done":
                return True, payload
            else:
                raise FenceError(payload)
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join()
        parent.close()

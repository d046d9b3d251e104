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
``fn`` returns is sent last. :meth:`Fenced.wait` returns the final value
when the child ended in time, else None; every report goes to ``on_report``
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
import threading
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


class Fenced:
    """A child running ``fn(*args, report)`` (see the module docstring); its reports are read as they come.

    A reader thread takes each report off the pipe at once (so a child that
    reports big plans never blocks on a full pipe while the parent is busy)
    and hands it to ``on_report`` in that thread. :meth:`wait` returns the
    child's value, or None when ``deadline`` came first (the child is then
    killed). Raises :class:`FenceError` from :meth:`wait` when the child
    raised or died without an answer.
    """

    def __init__(self, fn: Callable, args: tuple, on_report: Callable[[Any], None]):
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(target=_child, args=(child, fn, args), daemon=True)
        self._proc.start()
        child.close()
        self._end: tuple[str, Any] | None = None
        self._done = threading.Event()
        self._reader = threading.Thread(target=self._read, args=(on_report,), daemon=True)
        self._reader.start()

    def _read(self, on_report) -> None:
        try:
            while True:
                kind, payload = self._conn.recv()
                if kind == "report":
                    on_report(payload)
                else:
                    self._end = (kind, payload)
                    return
        except (EOFError, OSError):
            self._end = ("error", f"the solver process ended without an answer (exit code {self._proc.exitcode})")
        finally:
            self._done.set()

    def wait(self, deadline: float) -> tuple[bool, Any]:
        """(whether the child answered before ``deadline``, its value or None); the child is gone afterwards."""
        try:
            if not self._done.wait(max(0.0, deadline - time.perf_counter())):
                return False, None
            kind, payload = self._end
            if kind != "done":
                raise FenceError(payload)
            return True, payload
        finally:
            if self._proc.is_alive():
                self._proc.kill()
            self._proc.join()
            self._reader.join(timeout=5.0)
            self._conn.close()

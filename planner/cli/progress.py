"""Progress while a solve runs: elapsed time, the best plan, the bound and the gap, as they improve.

The backends tell :class:`SolveProgress` of each better plan and bound
(``SolveOptions.progress``: the HiGHS backend after its LP, its first plan,
each LNS improvement and from the core and full MIPs' callbacks). It keeps
the best of each (a lower plan cost, a higher bound: nothing it shows ever
gets worse) and writes them into the command's status line, e.g.

    Solving 10,000 accounts with highs: 14.2 s, best $3,091,323, bound $3,028,996, gap 2.02% (LNS)

On a terminal the status line is rich's spinner on stderr, redrawn in
place. In a pipe or a log rich draws no status line at all, so nothing is
printed: the command's output stays what it was. Updates are throttled to
a few a second (HiGHS's callbacks come far more often) and only change
what is shown, never the plan.
"""

from __future__ import annotations

import threading
import time

MIN_INTERVAL_S = 0.25  # at most this often the status line is redrawn


class SolveProgress:
    """A ``SolveOptions.progress`` that writes into a rich Status (or any object with ``update(text)``)."""

    def __init__(self, status, label: str, started: float | None = None, clock=time.perf_counter):
        self.status = status
        self.label = label
        self.clock = clock
        self.started = clock() if started is None else started
        self.best: float | None = None
        self.bound: float | None = None
        self.stage = ""
        self._shown = -1e18
        self._lock = threading.Lock()  # HiGHS callbacks and the LNS may report from other threads

    def __call__(self, stage: str, best: float | None = None, bound: float | None = None) -> None:
        with self._lock:
            changed = False
            if best is not None and (self.best is None or best < self.best):
                self.best, changed = best, True
            if bound is not None and (self.bound is None or bound > self.bound):
                self.bound, changed = bound, True
            if stage != self.stage:
                self.stage, changed = stage, True
            now = self.clock()
            if changed and now - self._shown >= MIN_INTERVAL_S:
                self._shown = now
                self.status.update(self.text(now))

    def gap(self) -> float | None:
        if self.best is None or self.bound is None:
            return None
        return max(0.0, (self.best - self.bound) / max(abs(self.best), 1e-9))

    def text(self, now: float | None = None) -> str:
        now = self.clock() if now is None else now
        parts = [f"{now - self.started:.1f} s"]
        if self.best is not None:
            parts.append(f"best ${self.best:,.0f}")
        if self.bound is not None:
            parts.append(f"bound ${self.bound:,.0f}")
        gap = self.gap()
        if gap is not None:
            parts.append(f"gap {100 * gap:.2f}%")
        stage = f" ({self.stage})" if self.stage else ""
        return f"{self.label}: {', '.join(parts)}{stage}"

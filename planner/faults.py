"""Fault injection for the crash test: SIGKILL the running planner at a named point.

``PLANNER_CRASH_AT=NAME`` (or ``NAME:N``) makes the process kill itself with
SIGKILL the first (N-th) time it reaches :func:`crash_point` ``NAME``: the
kill a power cut or the OOM killer would deliver, at exactly the moment that
is hardest to survive (a file half-written, a folder swapped in but the old
one not yet removed, a ledger transaction not yet committed).
tests/test_crash.py draws the points from a seeded schedule and checks that
whatever was interrupted leaves a complete or absent output, a sound ledger,
and a next run that succeeds.

Points: ``csv.written`` (one CSV file of an output written, the folder not
complete), ``dir.built`` (every file written, no marker yet), ``dir.marked``
(marker written, not renamed into place), ``dir.swapped`` (--force: the new
folder swapped in, the old one not yet removed), ``dir.committed`` (in
place, temporary names not yet released), ``file.written`` (a single file
written to its temporary name), ``ledger.commit`` (a ledger transaction
about to commit).

Without the variable (always, outside that test) a crash point costs one
environment lookup.
"""

from __future__ import annotations

import os
import signal

ENV = "PLANNER_CRASH_AT"
POINTS = ("csv.written", "dir.built", "dir.marked", "dir.swapped", "dir.committed", "file.written", "ledger.commit")
_reached: dict[str, int] = {}


def crash_point(name: str) -> None:
    """SIGKILL this process if PLANNER_CRASH_AT names this point (and this is its N-th visit)."""
    wanted = os.environ.get(ENV)
    if not wanted:
        return
    point, _, nth = wanted.partition(":")
    if point != name:
        return
    _reached[name] = _reached.get(name, 0) + 1
    if _reached[name] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)

"""Pre-flight checks on an output path: everything that can be known before any work.

A long solve must never end in "cannot write", and no output may overlap
what the user gave. :func:`preflight` checks, in this order, and raises the
first problem as a PlannerError (nothing is written):

1. the path names a new entry (not ``.``, ``..``, ``/`` or empty; exit 2);
2. it does not overlap an input: the same path, a folder that contains an
   input, or a path inside one, through symlinks (exit 4, ``--force`` or not);
3. it does not exist, or ``--force`` was given and it is the planner's own
   earlier output (exit 4; see :func:`planner.io.atomic.not_planner_output`);
4. its parent is a folder that can be written, or can be created (exit 4).

It then removes what killed planner runs left next to it, and returns the
lines saying so. The write itself (:mod:`planner.io.atomic`) checks 1 and 3
again at the last moment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from planner.errors import OutputError
from planner.io.atomic import check_name, clean_leftovers, destination


def _real(path: Path) -> Path:
    return Path(os.path.realpath(path))


def _same(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _inside(inner: Path, outer: Path) -> bool:
    """`inner` is `outer` or lies under it, by resolved path or by inode (case-insensitive or bind-mounted folders)."""
    inner, outer = _real(inner), _real(outer)
    if inner == outer or outer in inner.parents:
        return True
    return any(_same(p, outer) for p in (inner, *inner.parents))


def overlap(out: str | Path, given: str | Path) -> str | None:
    """How `out` overlaps the input `given` ("is", "contains", "is inside"), or None."""
    out, given = Path(out), Path(given)
    if _inside(out, given):
        return "is" if _inside(given, out) else "is inside"
    if _inside(given, out):
        return "contains"
    return None


def _shown(path: Path) -> str:
    real = _real(path)
    return str(path) if Path(os.path.abspath(path)) == real else f"{path} (that is {real})"


def check_overlap(out: Path, inputs: Mapping[str, str | Path | None]) -> None:
    for label, given in inputs.items():
        if given is None:
            continue
        relation = overlap(out, given)
        if relation:
            raise OutputError(
                f"--out {_shown(out)} {relation} {label} {_shown(Path(given))}: writing there would overwrite or delete "
                "what you gave, with --force or not. Expected an output path apart from every input; nothing was written."
            )


def check_parent(out: Path, dest: Path) -> None:
    """The folder that will hold `dest` exists and can be written, or its nearest existing ancestor can."""
    folder = Path(os.path.abspath(dest)).parent
    while not os.path.lexists(folder) and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise OutputError(
            f"Cannot write {out}: {folder} is not a folder; expected a path under a folder. Nothing was written."
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        try:
            read_only = bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
        except OSError:
            read_only = False
        why = "is on a read-only file system" if read_only else "is not writable for you"
        raise OutputError(
            f"Cannot write {out}: the folder {folder} {why}; expected a folder you can write in. Nothing was written."
        )


def leftover_notes(*folders: Path) -> list[str]:
    """Remove dead runs' leftovers in `folders`; one line per folder that had some."""
    notes = []
    for folder in dict.fromkeys(Path(os.path.abspath(f)) for f in folders):
        removed, legacy = clean_leftovers(folder)
        if removed:
            notes.append(
                f"removed {len(removed)} leftover(s) of interrupted planner runs in {folder}: {', '.join(removed)}"
            )
        if legacy:
            notes.append(
                f"{folder} holds {len(legacy)} leftover(s) of an interrupted run of an older planner version: "
                f"{', '.join(legacy)}; delete them if no planner is writing there"
            )
    return notes


def preflight(out: str | Path, force: bool, inputs: Mapping[str, str | Path | None] = {}) -> list[str]:  # noqa: B006
    """Check `out` before any work (raises a PlannerError); return the lines about leftovers removed next to it."""
    out = Path(out)
    check_name(out)
    check_overlap(out, inputs)
    dest = destination(out, force)
    check_parent(out, dest)
    return leftover_notes(Path(os.path.abspath(out)).parent, Path(os.path.abspath(dest)).parent)

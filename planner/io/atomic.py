"""Atomic output: nothing half-written, nothing the user had is lost.

Files are written to a temporary sibling and renamed into place; a folder of
outputs is built in a temporary sibling folder and renamed as a whole. An
existing output is never replaced unless the caller passes ``force=True``,
and then only after the new one is complete.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from planner.errors import EXIT_OUTPUT, PlannerError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _as_if_created(path: Path, directory: bool) -> None:
    """mkstemp/mkdtemp make private 0600/0700 entries; give the usual umask-based mode instead."""
    os.chmod(path, (0o777 if directory else 0o666) & ~_umask())


class OutputExistsError(PlannerError, FileExistsError):
    exit_code = EXIT_OUTPUT

    def __init__(self, path: Path):
        super().__init__(f"{path} already exists. Expected a new path, or pass --force to replace it.")
        self.path = path

    def __str__(self) -> str:
        return str(self.args[0])


def atomic_write_bytes(path: str | Path, data: bytes, force: bool = False) -> Path:
    path = Path(path)
    if path.exists() and not force:
        raise OutputExistsError(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        _as_if_created(Path(tmp), directory=False)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path: str | Path, text: str, force: bool = False) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"), force=force)


@contextlib.contextmanager
def atomic_dir(path: str | Path, force: bool = False) -> Iterator[Path]:
    """Yield a temporary folder; on success it becomes `path`, on failure it vanishes.

    With force=True an existing `path` is moved aside, replaced, then deleted,
    so at every moment either the old or the new folder is complete.
    """
    path = Path(path)
    if path.exists() and not force:
        raise OutputExistsError(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    _as_if_created(tmp, directory=True)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if path.exists():
        old = path.with_name(f".{path.name}.old-{os.getpid()}")
        os.replace(path, old)
    os.replace(tmp, path)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink()

"""Atomic output: nothing half-written, nothing the user had is lost.

A folder of outputs is built in a temporary sibling folder and renamed into
place as a whole; a file is written to a temporary sibling and renamed. Three
promises, each kept by the step that could break it:

* **Never over something that appeared meanwhile.** The final rename is a
  rename-no-replace (Linux ``renameat2(RENAME_NOREPLACE)``): if the target
  appeared while the output was being built -- another run, a user's
  ``mkdir`` -- the rename fails and the intruder is left as it is. Plain
  ``rename(2)`` would silently replace an empty folder, so it is only the
  fallback where renameat2 is missing (other systems, some network file
  systems): files then use ``link(2)``, which never replaces, and folders a
  check-then-rename whose window is a few microseconds.
* **--force replaces only the planner's own output.** Every folder written
  here carries :data:`MARKER` (``.planner-output.json``: what wrote it, and the
  sha256 of each file). ``force=True`` replaces a folder only if its marker
  vouches for every file in it (a file the user added or edited is refused),
  or it is empty, or it is recognisably a plan, export or coverage report
  written by a planner from before markers. The swap is atomic
  (``RENAME_EXCHANGE``) and re-checked afterwards, so a folder that changed
  between the check and the swap is swapped back, untouched. A symlink
  given as the output stays in place; the planner output it points to is
  what gets replaced.
* **A dead run's leftovers are recognisable.** Temporary entries are named
  ``.NAME.planner-<pid>-<token>.tmp`` (``.old`` for a folder moved aside)
  next to a ``.NAME.planner-<pid>-<token>.lock`` file that the run keeps
  ``flock``-ed while it is alive. :func:`clean_leftovers` removes the
  entries whose lock is free (the run was killed), never a live run's.

Every ``OSError`` while writing (no permission, a full disk, a read-only file
system) becomes an :class:`~planner.errors.OutputError` (exit 4) naming the
output, with the temporary entries removed.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import json
import os
import platform
import re
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

from planner.errors import EXIT_OUTPUT, OutputError, PlannerError, UsageError
from planner.faults import crash_point

try:
    import fcntl
except ImportError:  # Windows: no flock, so no leftover can be proven dead; none is removed
    fcntl = None

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)

MARKER = ".planner-output.json"
LEDGER_PREFIX = "planner-ledger.sqlite"  # the demo folder holds its own ledger (and its -journal/-wal)

# Temporary entries of this version, and those of older versions (mkdtemp/mkstemp names, `.old-<pid>`).
SCRATCH = re.compile(r"^\.(?P<name>.+)\.planner-(?P<pid>\d+)-(?P<token>[0-9a-f]{8})\.(?P<kind>tmp|old|lock)$")
LEGACY_SCRATCH = re.compile(r"^\..+(\.[a-z0-9_]{8}\.tmp|\.old-\d+)$")

PLAN_FILES = frozenset({"assignments.csv", "owners.csv", "summary.json", "handoffs.csv"})
COVERAGE_FILES = frozenset({"bus_factor.csv", "csm_risk.csv", "backups.csv", "floaters.json"})


class OutputExistsError(PlannerError, FileExistsError):
    exit_code = EXIT_OUTPUT

    def __init__(self, path: Path, message: str | None = None):
        super().__init__(
            message
            or f"{path} already exists. Expected a new path, or pass --force to replace it "
            "(--force replaces only an output the planner wrote)."
        )
        self.path = path

    def __str__(self) -> str:
        return str(self.args[0])


# -- rename without replacing -------------------------------------------------------------

RENAME_NOREPLACE = 1
RENAME_EXCHANGE = 2
_AT_FDCWD = -100
_SYSCALL_RENAMEAT2 = {
    "x86_64": 316,
    "amd64": 316,
    "aarch64": 276,
    "arm64": 276,
    "riscv64": 276,
    "ppc64le": 357,
    "s390x": 347,
}
_UNSUPPORTED = {errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP}


def _load_renameat2():
    """glibc's renameat2, else the raw Linux syscall, else None (then the fallbacks below apply)."""
    if not platform.system() == "Linux":
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    args = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn = getattr(libc, "renameat2", None)
    if fn is not None:
        fn.argtypes, fn.restype = args, ctypes.c_int
        return lambda src, dst, flags: fn(_AT_FDCWD, src, _AT_FDCWD, dst, flags)
    number = _SYSCALL_RENAMEAT2.get(platform.machine().lower())
    if number is None or not hasattr(libc, "syscall"):
        return None
    syscall = libc.syscall
    syscall.restype = ctypes.c_long
    return lambda src, dst, flags: syscall(
        ctypes.c_long(number), ctypes.c_int(_AT_FDCWD), ctypes.c_char_p(src), ctypes.c_int(_AT_FDCWD),
        ctypes.c_char_p(dst), ctypes.c_uint(flags),
    )  # fmt: skip


_renameat2_fn = _load_renameat2()


def _renameat2(src: Path, dst: Path, flags: int) -> bool:
    """True when done; False when this system or file system has no renameat2 with `flags`; else OSError."""
    if _renameat2_fn is None:
        return False
    if _renameat2_fn(os.fsencode(src), os.fsencode(dst), flags) == 0:
        return True
    code = ctypes.get_errno()
    if code in _UNSUPPORTED:
        return False
    raise OSError(code, os.strerror(code), str(src), None, str(dst))


def rename_noreplace(src: str | Path, dst: str | Path) -> None:
    """Rename `src` to `dst`, failing with FileExistsError if `dst` exists (as anything, even a dangling symlink)."""
    src, dst = Path(src), Path(dst)
    if _renameat2(src, dst, RENAME_NOREPLACE):
        return
    if not src.is_dir() or src.is_symlink():
        try:
            os.link(src, dst, follow_symlinks=False)  # never replaces
        except FileExistsError:
            raise
        except OSError:
            pass  # no hard links here (FAT, some FUSE): the best effort below
        else:
            os.unlink(src)
            return
    # Best effort: rename(2) replaces an empty folder, so check right before it.
    if os.path.lexists(dst):
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(dst))
    os.rename(src, dst)


def exchange(a: str | Path, b: str | Path) -> bool:
    """Swap two existing paths atomically; False when the system cannot (then the caller moves aside)."""
    return _renameat2(Path(a), Path(b), RENAME_EXCHANGE)


# -- temporary entries and their locks ---------------------------------------------------


class _Scratch:
    """The temporary names of one write: `.NAME.planner-<pid>-<token>.{tmp,old}`, guarded by a held `.lock`.

    The lock file is created and flock-ed before any other entry of the stem
    exists, and unlinked only after they are gone, so a run that finds a
    stem's `.tmp`/`.old` with its lock free or absent knows the run is dead.
    """

    def __init__(self, parent: Path, name: str):
        self.fd = -1
        for _ in range(20):
            stem = f".{name[:100]}.planner-{os.getpid()}-{secrets.token_hex(4)}"
            lock = parent / f"{stem}.lock"
            try:
                fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _CLOEXEC, 0o644)
            except FileExistsError:
                continue
            _lock(fd, blocking=True)
            # A cleaner may have taken the lock between open and flock and removed the file: start again.
            if _same_inode(lock, fd):
                os.write(fd, f"{os.getpid()}\n".encode())
                self.fd, self.lock = fd, lock
                self.tmp, self.old = parent / f"{stem}.tmp", parent / f"{stem}.old"
                return
            os.close(fd)
        raise OSError(errno.EEXIST, "could not create a temporary name", str(parent))

    def close(self) -> None:
        """Release the lock; its file goes too unless an entry could not be removed (the next run retries)."""
        if not any(os.path.lexists(p) for p in (self.tmp, self.old)):
            with contextlib.suppress(OSError):
                os.unlink(self.lock)
        with contextlib.suppress(OSError):
            os.close(self.fd)

    def park(self, path: Path) -> Path:
        """Give `path` (something of the user's, at one of our temporary names) a name no cleaner removes."""
        kept = path.parent / f"{path.name.split('.planner-')[0].lstrip('.')}.kept-{secrets.token_hex(4)}"
        rename_noreplace(path, kept)
        return kept


def _lock(fd: int, blocking: bool) -> bool:
    """Take the flock on `fd`; False if another process holds it. Without lock support: True (nothing to wait for)."""
    if fcntl is None:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        return True
    except BlockingIOError:
        return False
    except OSError:  # no locks on this file system: a cleaner cannot tell either, and keeps everything
        return True


def _same_inode(path: Path, fd: int) -> bool:
    try:
        st, fst = os.stat(path), os.fstat(fd)
    except OSError:
        return False
    return (st.st_dev, st.st_ino) == (fst.st_dev, fst.st_ino)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        os.unlink(path)


def clean_leftovers(folder: str | Path) -> tuple[list[str], list[str]]:
    """Remove what killed planner runs left in `folder`: (names removed, names of older versions' leftovers kept).

    A run's `.tmp`/`.old` entries are removed only when its lock file is free
    (or gone); a live run holds its lock, so its entries are never touched.
    Leftovers of planner versions before the locks (`.NAME.xxxxxxxx.tmp`,
    `.NAME.old-<pid>`) cannot be told dead from alive: they are only reported.
    """
    folder = Path(folder)
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return [], []
    stems = dict.fromkeys(name[: -len(m["kind"]) - 1] for name in names if (m := SCRATCH.match(name)))
    removed: list[str] = []
    for stem in stems:
        lock = folder / f"{stem}.lock"
        try:
            fd = os.open(lock, os.O_RDONLY | _CLOEXEC)
        except FileNotFoundError:
            fd = None  # no lock: its run unlinked it after removing its entries, so these are a cleaner's leftovers
        except OSError:
            continue
        try:
            if fd is not None:
                try:
                    if fcntl is None:
                        raise OSError(errno.ENOLCK, "no flock")
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    continue  # held: the run is alive (or locks are unsupported: keep everything)
            for kind in ("tmp", "old"):
                entry = folder / f"{stem}.{kind}"
                if os.path.lexists(entry):
                    with contextlib.suppress(OSError):
                        _remove(entry)
                        removed.append(entry.name)
            if fd is not None and _same_inode(lock, fd):
                with contextlib.suppress(OSError):
                    os.unlink(lock)
                    removed.append(lock.name)
        finally:
            if fd is not None:
                os.close(fd)
    legacy = [n for n in names if LEGACY_SCRATCH.match(n) and not SCRATCH.match(n)]
    return removed, legacy


# -- the marker, and what --force may replace ----------------------------------------


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _files(root: Path) -> Iterator[tuple[str, Path]]:
    """(relative path with '/', path) of every non-folder entry under `root`, in a stable order."""
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = Path(folder) / name
            yield path.relative_to(root).as_posix(), path


def _infer_kind(folder: Path) -> str:
    if (folder / "export_summary.json").is_file():
        with contextlib.suppress(OSError, ValueError, AttributeError):
            return str(json.loads((folder / "export_summary.json").read_text(encoding="utf-8")).get("kind") or "export")
        return "export"
    if (folder / "summary.json").is_file():
        return "plan"
    if (folder / "floaters.json").is_file():
        return "coverage"
    if (folder / "accounts.csv").is_file():
        return "book"
    return "output"


def write_marker(folder: Path, kind: str | None = None) -> None:
    """`folder/.planner-output.json`: what wrote the folder, and the sha256 of every file in it."""
    from planner import __version__

    files = {rel: _sha256(path) for rel, path in _files(folder) if rel != MARKER}
    body = {"written_by": f"planner {__version__}", "kind": kind or _infer_kind(folder), "files": files}
    (folder / MARKER).write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")


def _read_marker(folder: Path) -> dict | None:
    try:
        body = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(body, dict) or not isinstance(body.get("files"), dict):
        return None
    return body


def _legacy_listing(folder: Path, names: set[str]) -> dict[str, str | None] | None:
    """The files of a plan, export or coverage report written before markers (None: not recognisably one)."""
    if "summary.json" in names and names <= PLAN_FILES and "assignments.csv" in names:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
            if str(summary.get("plan_id", "")).startswith("plan-"):
                return dict.fromkeys(names)
    if "export_summary.json" in names:
        with contextlib.suppress(OSError, ValueError, AttributeError, TypeError, KeyError):
            summary = json.loads((folder / "export_summary.json").read_text(encoding="utf-8"))
            listing: dict[str, str | None] = {f["name"]: f["sha256"] for f in summary["files"]}
            listing["export_summary.json"] = None
            return listing
    if names == COVERAGE_FILES:
        return dict.fromkeys(names)
    return None


def not_planner_output(path: str | Path) -> str | None:
    """None when `path` is a folder --force may replace (the planner's own, or empty); else why not, in words."""
    path = Path(path)
    if path.is_symlink():
        return "it is a symlink"
    if not path.is_dir():
        return "it is a file, not a folder the planner wrote" if path.exists() else "it does not exist"
    try:
        names = {n for n in os.listdir(path) if not SCRATCH.match(n)}
    except OSError as exc:
        return f"it cannot be read ({exc.strerror})"
    if not names:
        return None
    marker = _read_marker(path)
    if marker is not None:
        listing, ledger_ok = dict(marker["files"]), marker.get("kind") == "demo"
    elif MARKER in names:
        return f"its {MARKER} cannot be read"
    else:
        listing, ledger_ok = _legacy_listing(path, names), False
        if listing is None:
            return f"it has no {MARKER} marker (every folder the planner writes has one)"
    foreign = _foreign(path, listing, ledger_ok)
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        return f"it holds {shown}, which the planner did not write"
    return None


def _foreign(root: Path, listing: dict[str, str | None], ledger_ok: bool) -> list[str]:
    """The files under `root` the listing does not vouch for (missing from it, or changed since)."""
    foreign: list[str] = []
    prefixes = {rel.rsplit("/", k)[0] for rel in listing for k in range(1, rel.count("/") + 1)}

    def walk(folder: Path, prefix: str) -> None:
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            rel = prefix + entry.name
            if SCRATCH.match(entry.name) or (not prefix and entry.name == MARKER):
                continue
            if entry.is_dir(follow_symlinks=False):
                sub = Path(entry.path)
                if rel not in prefixes and (sub / MARKER).exists():
                    why = not_planner_output(sub)  # a planner output put there later (demo-out/export)
                    if why:
                        foreign.append(f"{rel}/ ({why})")
                else:
                    walk(sub, rel + "/")
            elif rel in listing:
                expected = listing[rel]
                if expected is not None and (entry.is_symlink() or _sha256(Path(entry.path)) != expected):
                    foreign.append(f"{rel} (changed since)")
            elif not (ledger_ok and not prefix and entry.name.startswith(LEDGER_PREFIX)):
                foreign.append(rel)

    walk(root, "")
    return foreign


# -- checks shared by the pre-flight and the write -------------------------------------


def output_name_problem(path: str | Path) -> str | None:
    """Why `path` cannot be an output (it names '.', '..' or '/'), or None."""
    raw = str(path)
    if not raw.strip():
        return "an empty path"
    if Path(raw).name in ("", ".", "..") or not Path(os.path.realpath(raw)).name:
        return f"{raw!r}, which is an existing folder ({os.path.realpath(raw)}), not a new one"
    return None


def check_name(path: str | Path) -> None:
    problem = output_name_problem(path)
    if problem:
        raise UsageError(f"Expected --out to name a new folder or file, e.g. --out plan, got {problem}")


def _refusal(shown: str | Path, why: str, move: str | Path | None = None) -> OutputError:
    return OutputError(
        f"{shown} exists and --force replaces only the planner's own earlier output, but {why}. "
        f"Nothing was written; expected a new path, or move {move or shown} away yourself."
    )


def destination(path: str | Path, force: bool) -> Path:
    """Where the output will go: `path`, or with --force the planner output a symlink `path` points to.

    Raises OutputExistsError when `path` exists and not `force`; OutputError
    when it exists and is not something --force may replace.
    """
    path = Path(path)
    if not os.path.lexists(path):
        return path
    if not force:
        raise OutputExistsError(path)
    if path.is_symlink():
        target = Path(os.path.realpath(path))
        why = not_planner_output(target) if target.exists() else f"{target} does not exist"
        if why:
            raise _refusal(f"{path} (a symlink to {target})", why, path)
        return target
    why = not_planner_output(path)
    if why:
        raise _refusal(path, why)
    return path


# -- writing ---------------------------------------------------------------------------


def write_error(path: Path, exc: OSError) -> OutputError:
    """An OSError while writing `path`, said as an OutputError (exit 4)."""
    where = f" ({exc.filename})" if exc.filename else ""
    hint = {
        errno.ENOSPC: "free some space or write elsewhere",
        errno.EDQUOT: "free some space or write elsewhere",
        errno.EACCES: "expected a folder you may write in",
        errno.EPERM: "expected a folder you may write in",
        errno.EROFS: "expected a folder on a writable file system",
    }.get(exc.errno, "expected a folder that can be written")
    return OutputError(f"Cannot write {path}: {exc.strerror or exc}{where}; {hint}. Nothing was written.")


def _make_parent(parent: Path) -> None:
    parent.mkdir(parents=True, exist_ok=True)


@contextlib.contextmanager
def _writing(path: Path, parent: Path, name: str) -> Iterator[_Scratch]:
    """The temporary names of one write of `path` (into `parent`, as `name`), and what every write guarantees.

    Any OSError (no permission, a full disk, a read-only file system) becomes
    an OutputError naming `path`; whatever is left at the temporary name is
    removed and the lock released, however the write ends.
    """
    scratch = None
    try:
        _make_parent(parent)
        scratch = _Scratch(parent, name)
        yield scratch
    except OSError as exc:
        if isinstance(exc, PlannerError):
            raise
        raise write_error(path, exc) from exc
    finally:
        if scratch is not None:
            with contextlib.suppress(OSError):
                if os.path.lexists(scratch.tmp):
                    _remove(scratch.tmp)
            scratch.close()


def atomic_write_bytes(path: str | Path, data: bytes, force: bool = False) -> Path:
    """Write `path` whole or not at all; an existing `path` is replaced only with `force`."""
    path = Path(path)
    check_name(path)
    if not force and os.path.lexists(path):
        raise OutputExistsError(path)
    with _writing(path, path.parent, path.name) as scratch:
        fd = os.open(scratch.tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _CLOEXEC, 0o666)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        crash_point("file.written")
        if force:
            os.replace(scratch.tmp, path)
        else:
            try:
                rename_noreplace(scratch.tmp, path)
            except FileExistsError:
                raise OutputExistsError(
                    path,
                    f"{path} appeared while it was being written; it was left as it is. "
                    "Expected a new path, or pass --force to replace it.",
                ) from None
    return path


def atomic_write_text(path: str | Path, text: str, force: bool = False) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"), force=force)


@contextlib.contextmanager
def atomic_dir(path: str | Path, force: bool = False, kind: str | None = None) -> Iterator[Path]:
    """Yield a temporary folder; on success it becomes `path` (marked as the planner's), on failure it vanishes.

    Without `force`, `path` must not exist, when this starts nor when the
    folder is renamed into place. With `force` an existing `path` is replaced
    only if it is the planner's own output (see :func:`not_planner_output`),
    atomically: at every moment either the old or the new folder is there.
    `kind` goes into the marker (default: guessed from the files).
    """
    path = Path(path)
    check_name(path)
    dest = destination(path, force)
    with _writing(path, dest.parent, dest.name) as scratch:
        os.mkdir(scratch.tmp)
        yield scratch.tmp
        crash_point("dir.built")
        write_marker(scratch.tmp, kind)
        crash_point("dir.marked")
        _commit(scratch, dest, path, force)
        crash_point("dir.committed")


def _commit(scratch: _Scratch, dest: Path, shown: Path, force: bool) -> None:
    """Rename the finished folder to `dest`: never over an intruder; with force only over the planner's own output."""
    for _ in range(3):
        try:
            rename_noreplace(scratch.tmp, dest)
            return
        except FileExistsError:
            pass
        except OSError as exc:
            if exc.errno != errno.ENOTEMPTY:  # the fallback rename onto a non-empty folder
                raise
        if not force:
            raise OutputExistsError(
                shown, f"{shown} appeared while the output was being written (another run?); it was left as it is and "
                       "nothing was written. Expected a new path, or pass --force to replace the planner's own output.",
            )  # fmt: skip
        why = not_planner_output(dest)
        if why:
            raise _refusal(shown, why)
        if _replace_own(scratch, dest, shown):
            return
    raise OSError(errno.EAGAIN, "the output path kept appearing and vanishing", str(dest))


def _replace_own(scratch: _Scratch, dest: Path, shown: Path) -> bool:
    """Put the new folder at `dest` in place of the planner output there; False if `dest` vanished meanwhile."""
    try:
        swapped = exchange(scratch.tmp, dest)
    except FileNotFoundError:
        return False
    if swapped:
        crash_point("dir.swapped")
        why = not_planner_output(scratch.tmp)  # the old folder, now at the temporary name: did it change meanwhile?
        if why:
            _put_back(scratch, scratch.tmp, dest, shown)
            raise _refusal(shown, why)
        _remove(scratch.tmp)
        return True
    try:
        os.rename(dest, scratch.old)  # no exchange here: move aside (onto a fresh name), check, put the new one in
    except FileNotFoundError:
        return False
    why = not_planner_output(scratch.old)
    if why:
        _put_back(scratch, scratch.old, dest, shown)
        raise _refusal(shown, why)
    try:
        rename_noreplace(scratch.tmp, dest)
    except OSError:
        _put_back(scratch, scratch.old, dest, shown)
        raise
    _remove(scratch.old)
    return True


def _put_back(scratch: _Scratch, moved: Path, dest: Path, shown: Path) -> None:
    """Return the folder found at `dest` (now at `moved`) to its place; if that fails, keep it under a safe name."""
    try:
        if moved == scratch.tmp:
            if not exchange(scratch.tmp, dest):
                raise OSError(errno.ENOTSUP, "cannot swap back", str(dest))
        else:
            rename_noreplace(moved, dest)
    except OSError:
        kept = scratch.park(moved)
        now = f"the new output is in {shown}" if moved == scratch.tmp else "nothing was written"
        raise OutputError(
            f"{shown} changed while the output was being written: what was there is kept as {kept}, and {now}."
        ) from None

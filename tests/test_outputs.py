"""Output safety: no output over an input, never over what appeared meanwhile, --force only over the planner's own
output, dead runs' leftovers cleaned, and file-system errors said in one line (exit 2 or 4), never a traceback."""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import planner.io.atomic as atomic
from planner.cli import app
from planner.io.atomic import MARKER, atomic_dir, clean_leftovers, not_planner_output, rename_noreplace

FIX = Path(__file__).resolve().parent.parent / "fixtures"
TINY = ("--as-of", "2026-11-01")
PLANNER = Path(sys.executable).with_name("planner")


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def tree(root: Path) -> dict[str, str]:
    """sha256 of every file under `root`, by relative path: what must not change."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def scratch(folder: Path) -> list[str]:
    """Temporary entries of any planner version in `folder`."""
    return sorted(n for n in os.listdir(folder) if atomic.SCRATCH.match(n) or atomic.LEGACY_SCRATCH.match(n))


@pytest.fixture
def book(tmp_path):
    shutil.copytree(FIX / "tiny", tmp_path / "book")
    return tmp_path / "book"


@pytest.fixture
def plan(tmp_path):
    r = run("solve", FIX / "tiny", *TINY, "--out", tmp_path / "plans" / "p1")
    assert r.exit_code == 0, r.output
    return tmp_path / "plans" / "p1"


# -- 1. an output never overlaps an input -------------------------------------------------------------------------


def _overlapping(kind: str, given: Path, tmp_path: Path) -> Path:
    if kind == "same":
        return given
    if kind == "parent":
        return given.parent
    if kind == "child":
        return given / "sub"
    link = tmp_path / "link"
    link.symlink_to(given, target_is_directory=True)
    return link


def _command(name: str, given: Path, out: Path) -> list:
    if name == "solve":
        return ["solve", given, *TINY, "--out", out]
    if name == "reassign":
        return ["reassign", given, "--leaving", "csm_a", *TINY, "--out", out]
    if name == "coverage":
        return ["coverage", given, *TINY, "--out", out]
    return ["export", given, "--format", "csv", "--allow-draft", "--out", out]


@pytest.mark.parametrize("force", [False, True], ids=["plain", "force"])
@pytest.mark.parametrize("kind", ["same", "parent", "child", "symlink"])
@pytest.mark.parametrize("command", ["solve", "reassign", "coverage", "export"])
def test_an_output_overlapping_an_input_is_refused_before_anything_is_written(
    command, kind, force, tmp_path, book, request
):
    given = request.getfixturevalue("plan") if command == "export" else book
    out = _overlapping(kind, given, tmp_path)
    before, listing = tree(given.parent), sorted(os.listdir(given.parent))
    r = run(*_command(command, given, out), *(["--force"] if force else []))
    assert r.exit_code == 4, r.output
    relation = {"same": "is", "parent": "contains", "child": "is inside", "symlink": "is"}[kind]
    label = "the plan folder" if command == "export" else "the book"
    assert f"--out {out}" in r.output and f" {relation} {label} {given}" in r.output, r.output
    assert "Traceback" not in r.output
    assert tree(given.parent) == before and sorted(os.listdir(given.parent)) == listing


def test_a_book_reached_through_a_symlink_is_an_input_too(tmp_path, book):
    (tmp_path / "via").symlink_to(book, target_is_directory=True)
    before = tree(book)
    r = run("solve", tmp_path / "via", *TINY, "--out", book, "--force")
    assert r.exit_code == 4 and "is the book" in r.output
    assert tree(book) == before


def test_the_ledger_and_the_policy_file_are_inputs(tmp_path, book):
    policy = tmp_path / "policy.toml"
    policy.write_text("")
    r = run("solve", book, *TINY, "--policy", policy, "--out", policy, "--force")
    assert r.exit_code == 4 and "is the policy file" in r.output
    ledger = tmp_path / "plan" / "ledger.sqlite"
    r = run("solve", book, *TINY, "--ledger", ledger, "--out", tmp_path / "plan")
    assert r.exit_code == 4 and "contains the ledger" in r.output
    assert not (tmp_path / "plan").exists()


# -- 2. never over something that appeared meanwhile --------------------------------------------------------------


def _intrude_before_the_rename(monkeypatch, target: Path) -> None:
    """Make `target` appear (a user's folder) after the output is built, just before it is renamed into place."""
    real = atomic.write_marker

    def write_marker_then_intrude(folder, kind=None):
        real(folder, kind)
        target.mkdir()
        (target / "other").write_text("x")

    monkeypatch.setattr(atomic, "write_marker", write_marker_then_intrude)


@pytest.mark.parametrize("force", [False, True], ids=["plain", "force"])
def test_an_output_that_appears_while_writing_is_left_intact(tmp_path, monkeypatch, force):
    race = tmp_path / "RACE"
    _intrude_before_the_rename(monkeypatch, race)
    r = run("solve", FIX / "tiny", *TINY, "--out", race, *(["--force"] if force else []))
    assert r.exit_code == 4, r.output
    assert ("appeared while the output was being written" if not force else "only the planner's own") in r.output
    assert sorted(os.listdir(race)) == ["other"] and (race / "other").read_text() == "x"
    assert scratch(tmp_path) == []


SLOW_WRITER = """
import os, sys, time
import planner.io.plan_writer as writer
real, go = writer.write_frame, os.environ.get("PLANNER_TEST_GO")
def slow(df, path):
    marker = os.environ["PLANNER_TEST_WRITING"]
    open(marker, "a").close()
    while go and not os.path.exists(go):
        time.sleep(0.02)
    time.sleep(float(os.environ.get("PLANNER_TEST_SLEEP", "0")))
    return real(df, path)
writer.write_frame = slow
from planner.cli import main
sys.argv = ["planner", *sys.argv[1:]]
main()
"""


def _slow_solve(out: Path, writing: Path, go: Path | None = None, sleep: float = 0.0) -> subprocess.Popen:
    """`planner solve tiny --out OUT` in another process, whose writing phase waits for `go` (then sleeps `sleep`)."""
    env = {**os.environ, "PLANNER_TEST_WRITING": str(writing), "PLANNER_TEST_SLEEP": str(sleep)}
    env.pop("PLANNER_TEST_GO", None)
    if go is not None:
        env["PLANNER_TEST_GO"] = str(go)
    args = [sys.executable, "-c", SLOW_WRITER, "solve", str(FIX / "tiny"), *TINY, "--out", str(out), "--no-baseline"]
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(condition, what: str, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_a_real_intruder_during_a_background_solve_is_left_intact(tmp_path):
    race = tmp_path / "RACE"
    go = tmp_path / "go"
    proc = _slow_solve(race, tmp_path / "writing", go)
    _wait_for(
        lambda: (tmp_path / "writing").exists() and any(n.endswith(".tmp") for n in os.listdir(tmp_path)),
        "the temporary folder",
    )
    race.mkdir()
    (race / "other").write_text("x")
    go.touch()
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 4, stderr
    assert "appeared while the output was being written" in stderr
    assert sorted(os.listdir(race)) == ["other"] and (race / "other").read_text() == "x"
    assert scratch(tmp_path) == []


def test_two_concurrent_solves_to_one_out_exactly_one_wins(tmp_path):
    out, go = tmp_path / "plan", tmp_path / "go"
    procs = [_slow_solve(out, tmp_path / f"writing{i}", go) for i in range(2)]
    _wait_for(lambda: all((tmp_path / f"writing{i}").exists() for i in range(2)), "both runs writing")
    go.touch()
    results = [(p.wait(timeout=60), p.stderr.read()) for p in procs]
    assert sorted(code for code, _ in results) == [0, 4], results
    assert any("appeared while the output was being written" in text for _, text in results)
    assert {"assignments.csv", "owners.csv", "summary.json", MARKER} == set(os.listdir(out))
    assert not_planner_output(out) is None  # one complete plan, vouched for by its marker
    assert scratch(tmp_path) == []


def test_rename_noreplace_never_replaces_an_empty_folder(tmp_path):
    for fallback in (False, True):
        src, dst = tmp_path / f"src{fallback}", tmp_path / f"dst{fallback}"
        src.mkdir()
        (src / "f").write_text("new")
        dst.mkdir()  # os.rename(src, dst) would silently replace it
        saved = atomic._renameat2_fn
        atomic._renameat2_fn = None if fallback else saved
        try:
            with pytest.raises(FileExistsError):
                rename_noreplace(src, dst)
            (tmp_path / "file").write_text("new")
            (tmp_path / "taken").write_text("mine")
            with pytest.raises(FileExistsError):
                rename_noreplace(tmp_path / "file", tmp_path / "taken")
        finally:
            atomic._renameat2_fn = saved
        assert os.listdir(dst) == [] and (src / "f").exists() and (tmp_path / "taken").read_text() == "mine"
        (tmp_path / "file").unlink()
        (tmp_path / "taken").unlink()


# -- 2b. --force replaces only the planner's own output -----------------------------------------------------------


def test_force_refuses_a_folder_the_planner_did_not_write(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    r = run("solve", FIX / "tiny", *TINY, "--out", mine, "--force")
    assert r.exit_code == 4 and "only the planner's own earlier output" in r.output and MARKER in r.output
    assert os.listdir(mine) == ["notes.txt"] and (mine / "notes.txt").read_text() == "keep me"


@pytest.mark.parametrize("fallback", [False, True], ids=["exchange", "move-aside"])
def test_force_replaces_the_planners_own_output_and_leaves_no_debris(plan, monkeypatch, fallback):
    if fallback:
        monkeypatch.setattr(atomic, "_renameat2_fn", None)
    old_id = json.loads((plan / "summary.json").read_text())["plan_id"]
    r = run("solve", FIX / "tiny", "--as-of", "2026-11-02", "--out", plan, "--force")
    assert r.exit_code == 0, r.output
    assert json.loads((plan / "summary.json").read_text())["plan_id"] != old_id
    assert sorted(os.listdir(plan.parent)) == ["p1", "planner-ledger.sqlite"]


def test_force_refuses_the_planners_output_once_the_user_added_or_edited_a_file(plan):
    (plan / "notes.txt").write_text("mine")
    r = run("solve", FIX / "tiny", *TINY, "--out", plan, "--force")
    assert r.exit_code == 4 and "notes.txt, which the planner did not write" in r.output
    (plan / "notes.txt").unlink()
    with open(plan / "assignments.csv", "a") as fh:
        fh.write("hand,edit\n")
    r = run("solve", FIX / "tiny", *TINY, "--out", plan, "--force")
    assert r.exit_code == 4 and "assignments.csv (changed since)" in r.output
    assert (plan / "assignments.csv").read_text().endswith("hand,edit\n")


def test_force_onto_a_symlink_replaces_the_planner_output_it_points_to_and_keeps_the_link(plan, tmp_path):
    link = tmp_path / "LNK"
    link.symlink_to(plan, target_is_directory=True)
    r = run("solve", FIX / "tiny", "--as-of", "2026-11-02", "--out", link, "--force")
    assert r.exit_code == 0, r.output
    assert link.is_symlink() and link.resolve() == plan.resolve()
    assert json.loads((plan / "summary.json").read_text())["as_of"] == "2026-11-02"
    assert scratch(tmp_path) == [] and scratch(plan.parent) == []  # no .LNK.old-<pid>


def test_force_onto_a_symlink_to_a_users_folder_is_refused(tmp_path):
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "data.csv").write_text("a,b\n")
    (tmp_path / "LNK").symlink_to(theirs, target_is_directory=True)
    r = run("solve", FIX / "tiny", *TINY, "--out", tmp_path / "LNK", "--force")
    assert r.exit_code == 4 and "a symlink to" in r.output
    assert os.listdir(theirs) == ["data.csv"] and (tmp_path / "LNK").is_symlink()
    assert scratch(tmp_path) == []


def test_outputs_of_earlier_versions_without_a_marker(plan, tmp_path):
    (plan / MARKER).unlink()  # a plan folder as the planner wrote it before markers: recognised
    assert not_planner_output(plan) is None
    assert run("solve", FIX / "tiny", *TINY, "--out", plan, "--force").exit_code == 0
    shutil.copytree(FIX / "tiny", tmp_path / "bk")  # a folder of book tables may be the user's own book: refused
    r = run("generate", "--accounts", "30", "--csms", "3", "--out", tmp_path / "bk", "--force")
    assert r.exit_code == 4 and "no .planner-output.json marker" in r.output
    assert tree(tmp_path / "bk") == tree(FIX / "tiny")


def test_an_empty_folder_may_be_forced(tmp_path):
    (tmp_path / "empty").mkdir()
    assert run("solve", FIX / "tiny", *TINY, "--out", tmp_path / "empty").exit_code == 4
    assert run("solve", FIX / "tiny", *TINY, "--out", tmp_path / "empty", "--force").exit_code == 0


def test_a_demo_folder_with_its_ledger_and_an_export_is_the_planners_own(tmp_path):
    demo = tmp_path / "demo-out"
    with atomic_dir(demo, kind="demo") as tmp:
        with atomic_dir(tmp / "book", kind="book") as b:
            (b / "accounts.csv").write_text("account_id\n")
        with atomic_dir(tmp / "plan") as p:
            (p / "summary.json").write_text("{}")
    (demo / "planner-ledger.sqlite").write_bytes(b"SQLite")
    with atomic_dir(demo / "export") as e:
        (e / "export_summary.json").write_text("{}")
    assert json.loads((demo / MARKER).read_text())["kind"] == "demo"
    assert not_planner_output(demo) is None
    (demo / "book" / "extra.csv").write_text("mine")
    assert "book/extra.csv" in not_planner_output(demo)


# -- 3. leftovers of dead runs ------------------------------------------------------------------------------------


def test_leftovers_of_a_killed_run_are_removed_by_the_next_run_and_a_live_runs_are_not(tmp_path):
    proc = _slow_solve(tmp_path / "S1", tmp_path / "writing", sleep=120)
    try:
        _wait_for(lambda: (tmp_path / "writing").exists(), "the run to start writing")
        live = scratch(tmp_path)
        assert any(n.endswith(".tmp") for n in live) and any(n.endswith(".lock") for n in live)
        r = run("solve", FIX / "tiny", *TINY, "--out", tmp_path / "S2")  # the other run is alive: its entries stay
        assert r.exit_code == 0 and "interrupted planner runs" not in r.output
        assert scratch(tmp_path) == live
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    assert scratch(tmp_path) == live  # kill -9: nothing removed them
    r = run("solve", FIX / "tiny", *TINY, "--out", tmp_path / "S3")
    assert r.exit_code == 0, r.output
    line = [x for x in r.output.splitlines() if "interrupted planner runs" in x]
    assert len(line) == 1 and "removed 2 leftover(s) of interrupted planner runs" in line[0]
    assert all(name in line[0] for name in live)
    assert scratch(tmp_path) == [] and not (tmp_path / "S1").exists()


def test_fabricated_leftovers_dead_live_and_of_older_versions(tmp_path):
    dead = tmp_path / ".p.planner-999999-deadbeef.tmp"
    dead.mkdir()
    (dead / "assignments.csv").write_text("half")
    (tmp_path / ".p.planner-999999-deadbeef.lock").write_text("999999\n")  # nobody holds it
    (tmp_path / ".q.planner-999998-0badcafe.old").mkdir()  # its lock file already gone
    live = tmp_path / ".r.planner-1-feedface.tmp"
    live.mkdir()
    fd = os.open(tmp_path / ".r.planner-1-feedface.lock", os.O_CREAT | os.O_WRONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # an open file description of its own: the cleaner cannot take it
    (tmp_path / ".S1.k3j9x0q2.tmp").mkdir()  # an older planner's mkdtemp folder: reported, kept
    (tmp_path / ".LNK.old-4242").symlink_to(tmp_path)
    try:
        removed, legacy = clean_leftovers(tmp_path)
        assert removed == [
            ".p.planner-999999-deadbeef.tmp",
            ".p.planner-999999-deadbeef.lock",
            ".q.planner-999998-0badcafe.old",
        ]
        assert legacy == [".LNK.old-4242", ".S1.k3j9x0q2.tmp"]
        assert live.exists() and (tmp_path / ".r.planner-1-feedface.lock").exists()
        r = run("solve", FIX / "tiny", *TINY, "--out", tmp_path / "plan")
        assert r.exit_code == 0
        assert "older planner version: .LNK.old-4242, .S1.k3j9x0q2.tmp; delete them" in r.output
    finally:
        os.close(fd)
    assert clean_leftovers(tmp_path)[0] == [".r.planner-1-feedface.tmp", ".r.planner-1-feedface.lock"]


# -- 7. file-system errors: one line, exit 2 or 4, nothing left behind ---------------------------------------------


@pytest.mark.parametrize("out", [".", "..", "", "/", "./"])
@pytest.mark.parametrize("force", [False, True], ids=["plain", "force"])
def test_out_that_names_an_existing_folder_like_dot_is_a_usage_error(out, force, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = run("solve", FIX / "tiny", *TINY, "--out", out, *(["--force"] if force else []))
    assert r.exit_code == 2, r.output
    assert "Expected --out to name a new folder" in r.output
    assert os.listdir(tmp_path) == []


def test_a_folder_without_write_permission_is_refused_before_the_solve(tmp_path, monkeypatch):
    import planner.io.outputs as outputs
    import planner.planning.solve

    monkeypatch.setattr(outputs.os, "access", lambda path, mode: Path(path) != tmp_path)
    monkeypatch.setattr(planner.planning.solve, "solve", lambda *a, **k: pytest.fail("solved before checking --out"))
    r = run("solve", FIX / "tiny", *TINY, "--out", tmp_path / "plan")
    assert r.exit_code == 4 and f"the folder {tmp_path} is not writable for you" in r.output
    assert os.listdir(tmp_path) == []


def test_permission_denied_while_creating_the_output_is_exit_4(tmp_path, monkeypatch):
    real = pathlib.Path.mkdir

    def mkdir(self, *args, **kwargs):
        if tmp_path in self.parents:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "mkdir", mkdir)
    r = run("solve", FIX / "tiny", *TINY, "--out", tmp_path / "a" / "b" / "plan")
    assert r.exit_code == 4, r.output
    assert (
        f"Cannot write {tmp_path / 'a' / 'b' / 'plan'}: Permission denied" in r.output
        and "internal error" not in r.output
    )


def test_a_full_disk_is_exit_4_and_leaves_nothing(tmp_path, monkeypatch):
    real = pathlib.Path.write_text

    def write_text(self, *args, **kwargs):
        if self.name == "owners.csv":
            raise OSError(errno.ENOSPC, "No space left on device", str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "write_text", write_text)
    r = run("solve", FIX / "tiny", *TINY, "--out", tmp_path / "plan")
    assert r.exit_code == 4, r.output
    assert "No space left on device" in r.output and "free some space" in r.output and "internal error" not in r.output
    assert os.listdir(tmp_path) == []


def _unshare(script: str) -> subprocess.CompletedProcess:
    if shutil.which("unshare") is None:
        pytest.skip("no unshare(1)")
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    if probe.returncode != 0:
        probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True)
        if probe.returncode != 0:
            pytest.skip("cannot create a mount namespace here")
        return subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, timeout=120)
    return subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=120)


def test_a_real_read_only_file_system_and_a_real_full_disk(tmp_path):
    """In a private mount namespace: a read-only tmpfs, then an 8 kB one (two pages) that a plan's four files overflow."""
    ro, full = tmp_path / "ro", tmp_path / "full"
    ro.mkdir()
    full.mkdir()
    script = (
        f"mount -t tmpfs -o ro,size=1m tmpfs {ro} && mount -t tmpfs -o size=8k tmpfs {full} || exit 99\n"
        f'{PLANNER} solve {FIX / "tiny"} --as-of 2026-11-01 --out {ro / "plan"}; echo "rc=$?"\n'
        f'{PLANNER} solve {FIX / "tiny"} --as-of 2026-11-01 --out {full / "plan"}; echo "rc=$?"\n'
        f"ls -A {full}; echo end\n"
    )
    r = _unshare(script)
    if r.returncode == 99:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr}")
    assert r.stdout.splitlines()[:2] == ["rc=4", "rc=4"], r.stdout + r.stderr
    assert f"the folder {ro} is on a read-only file system" in r.stderr
    assert "No space left on device" in r.stderr and "Traceback" not in r.stderr
    assert r.stdout.splitlines()[2:] == ["end"]  # the full disk holds nothing afterwards: no plan, no temporary folder


def test_the_export_library_refuses_an_output_over_its_plan_or_ledger(tmp_path):
    """export_plan called from Python (no CLI pre-flight) refuses to write over the plan it exports."""
    from planner.crm import export_plan
    from planner.errors import OutputError
    from planner.plans import load_plan

    plan = tmp_path / "plans" / "p1"
    assert run("solve", FIX / "tiny", *TINY, "--out", plan).exit_code == 0
    before = tree(tmp_path)
    with pytest.raises(OutputError, match="is the plan"):
        export_plan(plan, "csv", plan, force=True, allow_draft=True)
    with pytest.raises(OutputError, match="contains the plan"):
        export_plan(plan, "csv", tmp_path / "plans", force=True, allow_draft=True, ledger=tmp_path / "other.sqlite")
    assert tree(tmp_path) == before
    load_plan(plan)

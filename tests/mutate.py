"""A seeded mutator of books, policies and command lines, for the fuzz tests.

Each mutation takes a book folder of CSV files (as `planner generate` writes
one) and changes it the way real books go wrong: a cell replaced by an odd
value, rows dropped or repeated, columns renamed, dropped or swapped, a
table emptied or removed, a file truncated, bytes flipped, another encoding
or delimiter, a file with a near-miss name, a workbook instead of CSVs.
Everything is drawn from one ``random.Random(seed)``, so a failing case is
reproduced by its seed alone (``scripts/fuzz.py --seed N --cases 1``).

The mutations do not aim at valid books: the planner must answer each one
with a plan or a clean error, never a traceback, never a partial output, and
never a changed input file (see tests/test_fuzz.py).
"""

from __future__ import annotations

import csv
import hashlib
import io
import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

# Values a spreadsheet user (or a broken export) puts in cells.
ODD_VALUES = (
    "",
    " ",
    "  padded  ",
    "NaN",
    "nan",
    "inf",
    "-inf",
    "Infinity",
    "1e308",
    "1e200",
    "-1e308",
    "1e-320",
    "-0",
    "0",
    "-1",
    "1.5",
    "999999999999999999999",
    "abc",
    "TRUE",
    "null",
    "None",
    "N/A",
    "NA",
    "#N/A",
    "#REF!",
    "1,000",
    "$30,950",
    "1.2M",
    "1 200 000,00",
    "12%",
    "2026-02-30",
    "2026-13-01",
    "01/02/2026",
    "9999-12-31",
    "1900-01-01",
    "2026-12",
    "=1+1",
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1)",
    "\t=1+1",
    "'quoted",
    "[/b]",
    "[red]x",
    ":thumbs_up:",
    "é",
    "日本語",
    "😀",
    "\x00",
    "a\x00b",
    "\x1b[31m",
    "line\nbreak",
    "cr\rcell",
    "a,b",
    'quote"in',
    "en;de",
    ";;",
    "en;xx",
    "enterprise;nope",
    "smb",
    "digital",
    "csm_999",
    "pool_999",
    "x" * 5000,
)
TABLES = ("accounts", "csms", "pools", "locations", "relationships")
NEAR_MISS_NAMES = {
    "relationships": "relationship",
    "accounts": "Accounts",
    "csms": "csm",
    "pools": "pool",
    "locations": "Locations",
}


def sha256_tree(root: Path) -> dict[str, str]:
    """relative path -> sha256 of every file under root (a folder or one file)."""
    root = Path(root)
    if root.is_file():
        return {root.name: hashlib.sha256(root.read_bytes()).hexdigest()}
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def read_rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))


def write_rows(path: Path, rows: list[list[str]]) -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8", newline="")


@dataclass
class Case:
    """One mutated input: the book (folder or .xlsx), an optional policy file, and what was done to them."""

    book: Path
    policy: Path | None = None
    steps: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return "; ".join(self.steps) or "unchanged"


# -- structured mutations (CSV rows) ------------------------------------------------


def _tables(book: Path) -> list[Path]:
    return sorted(p for p in book.iterdir() if p.suffix == ".csv")


def replace_cell(rng: random.Random, book: Path) -> str:
    path = rng.choice(_tables(book))
    rows = read_rows(path)
    if len(rows) < 2:
        return f"{path.name}: no record to change"
    r = rng.randrange(1, len(rows))
    c = rng.randrange(len(rows[0]))
    value = rng.choice(ODD_VALUES)
    while len(rows[r]) <= c:
        rows[r].append("")
    rows[r][c] = value
    write_rows(path, rows)
    return f"{path.name} row {r + 1} column {rows[0][c]!r} := {value[:20]!r}"


def copy_cell(rng: random.Random, book: Path) -> str:
    """A value from another column or table (an id where a number belongs, a CSM id as an account's owner...)."""
    src, dst = rng.choice(_tables(book)), rng.choice(_tables(book))
    a, b = read_rows(src), read_rows(dst)
    if len(a) < 2 or len(b) < 2:
        return "copy_cell: nothing to copy"
    value = rng.choice(rng.choice(a[1:]) or [""])
    r, c = rng.randrange(1, len(b)), rng.randrange(len(b[0]))
    while len(b[r]) <= c:
        b[r].append("")
    b[r][c] = value
    write_rows(dst, b)
    return f"{dst.name} row {r + 1} column {b[0][c]!r} := {value[:20]!r} (from {src.name})"


def drop_rows(rng: random.Random, book: Path) -> str:
    path = rng.choice(_tables(book))
    rows = read_rows(path)
    if len(rows) < 2:
        return f"{path.name}: no record to drop"
    k = rng.randint(1, max(1, (len(rows) - 1) // 2))
    for _ in range(k):
        if len(rows) > 1:
            rows.pop(rng.randrange(1, len(rows)))
    write_rows(path, rows)
    return f"{path.name}: dropped {k} rows"


def duplicate_rows(rng: random.Random, book: Path) -> str:
    path = rng.choice(_tables(book))
    rows = read_rows(path)
    if len(rows) < 2:
        return f"{path.name}: no record to duplicate"
    r = rng.randrange(1, len(rows))
    rows.insert(rng.randrange(1, len(rows) + 1), list(rows[r]))
    write_rows(path, rows)
    return f"{path.name}: row {r + 1} repeated"


def drop_column(rng: random.Random, book: Path) -> str:
    path = rng.choice(_tables(book))
    rows = read_rows(path)
    if not rows or not rows[0]:
        return f"{path.name}: no column"
    c = rng.randrange(len(rows[0]))
    name = rows[0][c]
    rows = [row[:c] + row[c + 1 :] for row in rows]
    write_rows(path, rows)
    return f"{path.name}: column {name!r} removed"


def rename_column(rng: random.Random, book: Path) -> str:
    path = rng.choice(_tables(book))
    rows = read_rows(path)
    if not rows or not rows[0]:
        return f"{path.name}: no column"
    c = rng.randrange(len(rows[0]))
    old = rows[0][c]
    new = rng.choice([
        old.upper(), old.title().replace("_", " "), old[:-1], old + "s", " " + old + " ", old.replace("_", ""),
        "", rows[0][(c + 1) % len(rows[0])], "Owner", "OwnerId", "ARR", "x",
    ])  # fmt: skip
    rows[0][c] = new
    write_rows(path, rows)
    return f"{path.name}: column {old!r} renamed {new!r}"


def swap_columns(rng: random.Random, book: Path) -> str:
    path = rng.choice(_tables(book))
    rows = read_rows(path)
    if not rows or len(rows[0]) < 2:
        return f"{path.name}: fewer than 2 columns"
    i, j = rng.sample(range(len(rows[0])), 2)
    rows[0][i], rows[0][j] = rows[0][j], rows[0][i]  # the header only: every value lands in the wrong column
    write_rows(path, rows)
    return f"{path.name}: headers {rows[0][j]!r} and {rows[0][i]!r} swapped"


def ragged_row(rng: random.Random, book: Path) -> str:
    path = rng.choice(_tables(book))
    rows = read_rows(path)
    if len(rows) < 2:
        return f"{path.name}: no record"
    r = rng.randrange(1, len(rows))
    rows[r] = rows[r][: rng.randrange(len(rows[r]) + 1)] if rng.random() < 0.5 else rows[r] + ["extra", "cells"]
    write_rows(path, rows)
    return f"{path.name}: row {r + 1} ragged"


def header_only(rng: random.Random, book: Path) -> str:
    path = rng.choice(_tables(book))
    rows = read_rows(path)
    write_rows(path, rows[:1])
    return f"{path.name}: header only"


def empty_file(rng: random.Random, book: Path) -> str:
    path = rng.choice(_tables(book))
    path.write_bytes(b"")
    return f"{path.name}: emptied (0 bytes)"


def remove_table(rng: random.Random, book: Path) -> str:
    path = rng.choice(_tables(book))
    path.unlink()
    return f"{path.name}: removed"


def near_miss_file(rng: random.Random, book: Path) -> str:
    path = rng.choice(_tables(book))
    new = book / f"{NEAR_MISS_NAMES.get(path.stem, path.stem + '_old')}{rng.choice(['.csv', '.CSV', '.txt'])}"
    if new.exists():
        return f"{path.name}: near-miss name taken"
    path.rename(new)
    return f"{path.name} renamed {new.name}"


def extra_column(rng: random.Random, book: Path) -> str:
    path = rng.choice(_tables(book))
    rows = read_rows(path)
    if not rows:
        return f"{path.name}: no header"
    name = rng.choice(["notes", "pin_ownr", "Renewal Date", "health_score", rows[0][0], "", "=cmd"])
    rows[0].append(name)
    for row in rows[1:]:
        row.append(rng.choice(ODD_VALUES))
    write_rows(path, rows)
    return f"{path.name}: column {name!r} added"


# -- byte-level mutations -------------------------------------------------------------


def flip_bytes(rng: random.Random, book: Path) -> str:
    path = rng.choice(_tables(book))
    data = bytearray(path.read_bytes())
    if not data:
        return f"{path.name}: empty"
    for _ in range(rng.randint(1, 4)):
        data[rng.randrange(len(data))] = rng.randrange(256)
    path.write_bytes(bytes(data))
    return f"{path.name}: bytes flipped"


def truncate(rng: random.Random, book: Path) -> str:
    path = rng.choice(_tables(book))
    data = path.read_bytes()
    cut = rng.randrange(len(data) + 1)
    path.write_bytes(data[:cut])
    return f"{path.name}: truncated at byte {cut}"


def reencode(rng: random.Random, book: Path) -> str:
    path = rng.choice(_tables(book))
    text = path.read_text(encoding="utf-8").replace("Lisbon", "Lisboa São Paulo").replace("Acme", "Açme")
    enc = rng.choice(["latin-1", "utf-16", "utf-8-sig", "cp1252", "utf-32"])
    path.write_bytes(text.encode(enc, errors="replace"))
    return f"{path.name}: re-encoded as {enc}"


def line_endings(rng: random.Random, book: Path) -> str:
    path = rng.choice(_tables(book))
    ending = rng.choice(["\r\n", "\r"])
    path.write_bytes(path.read_bytes().replace(b"\n", ending.encode()))
    return f"{path.name}: line endings {ending!r}"


def delimiter(rng: random.Random, book: Path) -> str:
    path = rng.choice(_tables(book))
    rows = read_rows(path)
    sep = rng.choice([";", "\t", "|"])
    buf = io.StringIO()
    csv.writer(buf, delimiter=sep, lineterminator="\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")
    return f"{path.name}: {sep!r}-separated"


MUTATIONS: tuple[Callable[[random.Random, Path], str], ...] = (
    replace_cell, replace_cell, replace_cell, copy_cell, drop_rows, duplicate_rows, drop_column, rename_column,
    swap_columns, ragged_row, header_only, empty_file, remove_table, near_miss_file, extra_column, flip_bytes,
    truncate, reencode, line_endings, delimiter,
)  # fmt: skip


# -- policies ---------------------------------------------------------------------------

POLICIES = (
    "[csm]\ndefault_capacity_hours = 100\n",
    "[csm]\ndefault_capacty_hours = 100\n",
    "[csmm]\nx = 1\n",
    "[workload]\nbase_hours = { enterprise = inf, mid_market = 2.0, smb = 0.75 }\n",
    "[workload]\nbase_hours = { enterprise = nan, mid_market = 2.0, smb = 0.75 }\n",
    "[workload]\nbase_hours = { enterprise = -8.0, mid_market = 2.0, smb = 0.75 }\n",
    "[knowledge]\nbackupp = 0.5\n",
    "[knowledge]\nbackup = -1\n",
    "[continuity]\nmax_changed_arr_share = 0.0\n",
    "[continuity]\nfreeze_days = 100000\n",
    "[segments]\norder = []\n",
    '[digital]\nowner_id = "csm_a"\n',
    "[timezone]\nmax_gap_hours = { enterprise = 0, mid_market = 0, smb = 0 }\n",
    "this is not toml = = =\n",
    "\xff\xfe garbage",
    "[csm]\nmax_utilization = 0.01\n",
)


def mutate_policy(rng: random.Random, folder: Path) -> tuple[Path, str]:
    text = rng.choice(POLICIES)
    path = folder / "policy.toml"
    path.write_bytes(text.encode("utf-8", errors="surrogateescape") if "\xff" not in text else b"\xff\xfe garbage")
    return path, f"policy {text.splitlines()[0][:40]!r}"


# -- whole cases ----------------------------------------------------------------------------


def to_workbook(book: Path, dest: Path) -> Path:
    """The CSV book as one .xlsx (numbers as numbers, the rest as text), as a user's spreadsheet would be."""
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for path in _tables(book):
        ws = wb.create_sheet(path.stem[:31])
        try:
            rows = read_rows(path)
        except (UnicodeDecodeError, csv.Error):
            continue
        for row in rows:
            ws.append([_typed(v) for v in row])
    out = dest / "book.xlsx"
    wb.save(out)
    return out


def _typed(value: str):
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    try:
        number = float(value)
    except ValueError:
        # A worksheet cannot hold control characters (openpyxl refuses them) or more than 32,767 characters.
        return ILLEGAL_CHARACTERS_RE.sub("", value)[:32000] or None
    return number if abs(number) < 1e300 else value


def make_case(rng: random.Random, base: Path, workdir: Path) -> Case:
    """Copy `base` (a CSV book folder) into `workdir` and mutate it 1-3 times; sometimes as .xlsx or with a policy."""
    book = workdir / "book"
    shutil.copytree(base, book)
    case = Case(book)
    for _ in range(rng.choice([1, 1, 2, 3])):
        if not _tables(book):
            break
        mutation = rng.choice(MUTATIONS)
        try:
            case.steps.append(mutation(rng, book))
        except (UnicodeDecodeError, csv.Error):
            case.steps.append(f"{mutation.__name__}: file no longer CSV text")
    if rng.random() < 0.15:
        case.book = to_workbook(book, workdir)
        shutil.rmtree(book)
        case.steps.append("as .xlsx")
    if rng.random() < 0.2:
        case.policy, step = mutate_policy(rng, workdir)
        case.steps.append(step)
    return case


# -- command lines ---------------------------------------------------------------------------

ODD_OPTIONS = {
    "--gap": ["-1", "nan", "2", "0", "1e-9", "abc", "0.5"],
    "--threads": ["0", "-3", "1", "2", "999999999", "x"],
    "--seed": ["-1", "1e20", "100000000000000000000", "0", "7", "x"],
    "--time-limit": ["-1", "nan", "inf", "0", "1e9", "5", "x"],
    "--as-of": ["2026-02-30", "1900-01-01", "9999-12-31", "x", "2026-11-01"],
    "--backend": ["highs", "greedy", "foo", "cpsat", "pulp"],
    "--pulp-solver": ["BOGUS", "PULP_CBC_CMD"],
}


def odd_solve_options(rng: random.Random) -> list[str]:
    """One to three options with values drawn from ODD_OPTIONS (valid and invalid alike)."""
    args: list[str] = []
    for name in rng.sample(sorted(ODD_OPTIONS), rng.randint(1, 3)):
        args += [name, rng.choice(ODD_OPTIONS[name])]
    if "--backend" not in args:
        args += ["--backend", "greedy"]
    if "--time-limit" not in args:
        args += ["--time-limit", "20"]
    return args

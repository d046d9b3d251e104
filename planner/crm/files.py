"""The bytes of an export folder: CSV parts, JSON, exceptions, and their checks.

CSV is UTF-8 without BOM, comma-separated, LF line endings, quoted only where
needed, every text cell neutralized against spreadsheet formulas. A load file
is split into parts that stay below `max_bytes` (Bulk API 2.0 takes at most
100 MB per upload) and, when asked, at most `max_records` records each; every
part repeats the header so each loads on its own. Nothing here depends on the
clock: the same plan gives the same bytes.

Before anything is written, every file is parsed back and compared with the
rows it should hold, so the counts recorded in the summary and the ledger are
those of the actual files.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from planner.crm.build import EXCEPTION_COLUMNS, Built, ExceptionRow
from planner.crm.model import CrmFormat, ExportError, LoadFile
from planner.io.csvtext import cell_text, csv_record

DEFAULT_MAX_BYTES = 100_000_000  # Salesforce: "upload data that doesn't exceed 100 MB"
EXCEPTIONS_FILE = "exceptions.csv"
SUMMARY_FILE = "export_summary.json"


@dataclass(frozen=True)
class OutFile:
    name: str
    role: str  # export | rollback | exceptions
    data: bytes
    rows: int  # records, header excluded
    how: str = ""  # how the CRM's tool loads it ("Account update", "AccountTeamMember insert", ...)

    def info(self) -> dict:
        info = {
            "name": self.name,
            "role": self.role,
            "rows": self.rows,
            "bytes": len(self.data),
            "sha256": hashlib.sha256(self.data).hexdigest(),
        }
        return info | ({"how": self.how} if self.how else {})


def csv_line(cells: Iterable[object]) -> bytes:
    """One CSV record ending in LF, by the planner's one CSV writer (planner.io.csvtext).

    Text cells are neutralized; booleans are true/false. What a cell becomes
    is planner.io.csvtext.cell_text, which the round-trip check compares with.
    """
    return csv_record(cells).encode("utf-8")


def _part_names(stem: str, extension: str, count: int) -> list[str]:
    if count == 1:
        return [f"{stem}.{extension}"]
    width = max(3, len(str(count)))
    return [f"{stem}_part{i:0{width}d}.{extension}" for i in range(1, count + 1)]


def split_lines(header: bytes, lines: Sequence[bytes], max_records: int | None, max_bytes: int) -> list[list[bytes]]:
    """Group record lines into parts: each part, header included, below max_bytes and at most max_records lines.

    Always at least one part, so an export with no rows still writes a
    header-only file (the loader then reports 0 records, not a missing file).
    """
    if max_records is not None and max_records < 1:
        raise ExportError(f"Expected --max-records to be at least 1, got {max_records}")
    parts: list[list[bytes]] = [[]]
    size = len(header)
    for line in lines:
        if len(header) + len(line) >= max_bytes:
            raise ExportError(
                f"A record of {len(line)} bytes cannot fit in a part below {max_bytes} bytes; expected a larger --max-bytes"
            )
        full = max_records is not None and len(parts[-1]) >= max_records
        if parts[-1] and (full or size + len(line) >= max_bytes):
            parts.append([])
            size = len(header)
        parts[-1].append(line)
        size += len(line)
    return parts


def csv_files(
    stem: str,
    role: str,
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    max_records: int | None,
    max_bytes: int,
    how: str = "",
) -> list[OutFile]:
    head = csv_line(header)
    parts = split_lines(head, [csv_line(r) for r in rows], max_records, max_bytes)
    names = _part_names(stem, "csv", len(parts))
    return [OutFile(name, role, head + b"".join(part), len(part), how) for name, part in zip(names, parts, strict=True)]


def json_file(
    name: str, role: str, header: Sequence[str], rows: Sequence[Sequence[object]], plan_id: str, how: str = ""
) -> OutFile:
    """One JSON document: {"plan_id", "kind", "records": [{column: value}]} (no neutralization, see generic.py)."""
    doc = {"plan_id": plan_id, "kind": role, "records": [dict(zip(header, r, strict=True)) for r in rows]}
    data = (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    return OutFile(name, role, data, len(rows), how)


def exceptions_file(exceptions: Sequence[ExceptionRow]) -> OutFile:
    rows = [[getattr(e, c) for c in EXCEPTION_COLUMNS] for e in exceptions]
    return OutFile(
        EXCEPTIONS_FILE, "exceptions", csv_line(EXCEPTION_COLUMNS) + b"".join(csv_line(r) for r in rows), len(rows)
    )


def load_files(
    fmt: CrmFormat, role: str, load: LoadFile, plan_id: str, max_records: int | None, max_bytes: int
) -> list[OutFile]:
    """The file(s) of one load file (split into parts when needed), checked against its rows."""
    if fmt.extension == "json":
        files = [json_file(f"{load.stem}.json", role, load.header, load.rows, plan_id, load.how)]
    else:
        files = csv_files(load.stem, role, load.header, load.rows, max_records, max_bytes, load.how)
    _check_round_trip(fmt, load, files)
    return files


def role_files(
    fmt: CrmFormat, role: str, built: Built, plan_id: str, max_records: int | None, max_bytes: int
) -> list[OutFile]:
    """Every file of the export ("export") or of its rollback ("rollback")."""
    return [
        f
        for load in fmt.files_for(role, built.export)
        for f in load_files(fmt, role, load, plan_id, max_records, max_bytes)
    ]


def render(fmt: CrmFormat, built: Built, plan_id: str, max_records: int | None, max_bytes: int) -> list[OutFile]:
    """Every data file of an export folder: the load file(s), their rollback, the exceptions."""
    return [
        *role_files(fmt, "export", built, plan_id, max_records, max_bytes),
        *role_files(fmt, "rollback", built, plan_id, max_records, max_bytes),
        exceptions_file(built.exceptions),
    ]


def read_back(file: OutFile) -> tuple[list[str], list[list]]:
    """(header, records) of a written load file, as a loader would read it."""
    if file.name.endswith(".json"):
        records = json.loads(file.data.decode("utf-8"))["records"]
        header = list(records[0]) if records else []
        return header, [list(r.values()) for r in records]
    rows = list(csv.reader(io.StringIO(file.data.decode("utf-8"), newline="")))
    return rows[0], rows[1:]


def _check_round_trip(fmt: CrmFormat, load: LoadFile, files: Sequence[OutFile]) -> None:
    """Parse the files back; they must hold exactly the load's rows, once each, in order, under its header."""
    rows = load.rows
    parsed: list[list] = []
    for file in files:
        header, records = read_back(file)
        if records and header != list(load.header):
            raise ExportError(f"Internal check failed: {file.name}: header {header} is not {list(load.header)}")
        if len(records) != file.rows:
            raise ExportError(
                f"Internal check failed: {file.name}: {len(records)} records read back, {file.rows} written"
            )
        parsed += records
    expected = [list(r) if fmt.extension == "json" else [cell_text(c) for c in r] for r in rows]
    if parsed != expected:
        raise ExportError(
            f"Internal check failed: {fmt.name} export: the files do not read back as the {len(rows)} rows written"
        )


def checksum(files: Sequence[OutFile]) -> str:
    """One sha256 for the whole export: over the sorted `sha256  name` lines of its data files."""
    manifest = "".join(f"{f.info()['sha256']}  {f.name}\n" for f in sorted(files, key=lambda f: f.name))
    return hashlib.sha256(manifest.encode("utf-8")).hexdigest()

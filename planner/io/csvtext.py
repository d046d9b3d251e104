"""CSV records with LF endings that every reader splits the same way.

Python 3.11's csv writer quotes a field containing a line-break character
only when that character is in its line terminator, so with "\\n" a bare
"\\r" inside a cell is left unquoted and splits the record for other
readers. Each record is therefore written with a CRLF terminator (which
quotes both) and given a plain LF afterwards.
"""

from __future__ import annotations

import csv
import io
from typing import Iterable


def csv_record(cells: Iterable[str]) -> str:
    """One CSV record (already-text cells) ending in LF."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow(list(cells))
    return buf.getvalue()[:-2] + "\n"


def csv_text(header: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    return csv_record(header) + "".join(csv_record(r) for r in rows)

#!/usr/bin/env python
"""Print the README's input-contract tables from the column specs (planner/io/schema.py).

The README section between the `input-contract` markers is this script's
output; tests/test_readme.py checks that it is current, so the documented
contract cannot drift from what the loader enforces.
"""

from __future__ import annotations

import sys


def markdown() -> str:
    from planner.io.schema import MAX_CELL_CHARS, TABLE_SPECS, reference_rows
    from planner.policy import load_policy

    rows = reference_rows(load_policy())
    out = []
    for table in dict.fromkeys(r["table"] for r in rows):
        required = "required" if table in ("accounts", "csms") else "optional"
        out += [
            f"**{table}** ({required})",
            "",
            "| column | required | accepts | default | notes |",
            "|---|---|---|---|---|",
        ]
        for r in rows:
            if r["table"] == table:
                cells = [f"`{r['column']}`", r["required"], r["accepts"], r["default"], r["notes"]]
                out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        out.append("")
    ids = ", ".join(f"`{t.name}.{c.name}`" for t in TABLE_SPECS.values() for c in t.columns if c.identifier)
    out += [
        f"Every cell of a column above holds at most {MAX_CELL_CHARS:,} characters (Excel's limit for one cell). "
        "A control character (NUL, a line break, ...; a tab is fine) is an error in an id column "
        f"({ids}) and a warning in text, which the plan gets without it (a line break becomes a space). "
        "A file, sheet or column whose name is a near miss of one above (other case, spaces or hyphens for "
        "underscores, a plural 's', a close spelling: `relationship.csv`, `Pin Owner`, `pin_ownr`) is a "
        "warning naming the name it probably means: it is NOT read until it is renamed.",
        "",
    ]
    return "\n".join(out)


if __name__ == "__main__":
    sys.stdout.write(markdown())

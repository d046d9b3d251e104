#!/usr/bin/env python
"""Print the README's input-contract tables from the column specs (planner/io/schema.py).

The README section between the `input-contract` markers is this script's
output; tests/test_readme.py checks that it is current, so the documented
contract cannot drift from what the loader enforces.
"""

from __future__ import annotations

import sys


def markdown() -> str:
    from planner.io.schema import reference_rows
    from planner.policy import load_policy

    rows = reference_rows(load_policy())
    out = []
    for table in dict.fromkeys(r["table"] for r in rows):
        required = "required" if table in ("accounts", "csms") else "optional"
        out += [f"**{table}** ({required})", "", "| column | required | accepts | default | notes |", "|---|---|---|---|---|"]
        for r in rows:
            if r["table"] == table:
                cells = [f"`{r['column']}`", r["required"], r["accepts"], r["default"], r["notes"]]
                out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    sys.stdout.write(markdown())

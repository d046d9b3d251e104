"""The README's input contract is generated from the loader's column specs; keep it current."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_readme_input_contract_matches_the_column_specs():
    spec = importlib.util.spec_from_file_location("input_contract", ROOT / "scripts" / "input_contract.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("<!-- input-contract:start -->") + len("<!-- input-contract:start -->")
    end = readme.index("<!-- input-contract:end -->")
    assert readme[start:end].strip() == module.markdown().strip(), (
        "README input contract is stale: run `python scripts/input_contract.py` and paste it between the markers"
    )


def test_readme_commands_exist():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for script in ("scripts/demo.sh", "scripts/test.sh"):
        assert f"bash {script}" in readme and (ROOT / script).exists()

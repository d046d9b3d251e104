"""The policy file: a strict schema, so a typo or an unusable number is an error naming the key.

Before, on a generated 500-account book: ``base_hours = { enterprise = inf }``
validated, then solve died with "HiGHS rejected the model" (so did 1e30); a
``[knowledge]`` typo or a negative weight passed validate and solve and only
reassign failed; ``[csm] default_capacty_hours = 100`` and a table ``[csmm]``
were accepted with exit 0, the typo stored in the plan's summary.json and the
intended override lost.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planner.cli import app
from planner.policy import PolicyError, load_policy, policy_from_dict

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "fixtures"
DEFAULT_TOML = ROOT / "models" / "default_policy.toml"
runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


BAD_POLICIES = {
    "inf_base_hours": (
        "[workload]\nbase_hours = { enterprise = inf, mid_market = 2.0, smb = 0.75 }\n",
        "[workload.base_hours] enterprise: expected a finite number from 0 to 744, got inf",
    ),
    "huge_base_hours": (
        "[workload]\nbase_hours = { enterprise = 1e30, mid_market = 2.0, smb = 0.75 }\n",
        "[workload.base_hours] enterprise: expected a finite number from 0 to 744, got 1e+30",
    ),
    "nan_capacity": (
        "[csm]\ndefault_capacity_hours = nan\n",
        "[csm] default_capacity_hours: expected a finite number from 0 to 744, got nan",
    ),
    "knowledge_typo": ("[knowledge]\nbakup = 0.5\n", "[knowledge] bakup: unknown key; did you mean backup?"),
    "knowledge_negative": ("[knowledge]\nbackup = -0.5\n", "[knowledge] backup: expected a number in [0, 1], got -0.5"),
    "knowledge_inf_half_life": (
        "[knowledge]\nhalf_life_months = inf\n",
        "[knowledge] half_life_months: expected a finite number > 0, got inf",
    ),
    "key_typo": (
        "[csm]\ndefault_capacty_hours = 100\n",
        "[csm] default_capacty_hours: unknown key; did you mean default_capacity_hours?",
    ),
    "table_typo": ("[csmm]\ndefault_capacity_hours = 100\n", "[csmm]: unknown table; did you mean [csm]?"),
    "extra_segment": (
        "[workload]\nbase_hours = { enterprise = 8, mid_market = 2, smb = 0.75, smbb = 1 }\n",
        "[workload.base_hours] smbb: unknown segment (the segments are those of [segments] order); did you mean smb?",
    ),
    "uplift_mode_typo": (
        "[risk.churn_uplift.mid_market]\npol = 0.02\n",
        "[risk.churn_uplift.mid_market] pol: unknown mode; did you mean pool?",
    ),
    "uplift_segment_typo": (
        "[risk.churn_uplift.mid_markt]\npool = 0.02\n",
        "[risk.churn_uplift] mid_markt: unknown segment",
    ),
    "fractional_days": (
        "[continuity]\nfreeze_days = 2.5\n",
        "[continuity] freeze_days: expected a whole number from 0 to 3660, got 2.5",
    ),
    "order_not_a_list": ('[segments]\norder = "abc"\n', "[segments] order: expected a non-empty list of segment names"),
    "must_match_typo": (
        '[region]\ncsm_must_match = ["enterprse"]\n',
        "[region] csm_must_match: expected a list of segments drawn from ['enterprise', 'mid_market', 'smb'], "
        "got 'enterprse'; did you mean 'enterprise'?",
    ),
    "complexity_key": (
        "[workload.complexity_mult]\nabc = 1\n",
        "[workload.complexity_mult] abc: unknown key; expected one of 1, 2, 3, 4, 5",
    ),
    "billing_typo": (
        '[pool]\nbilling = "hourli"\n',
        "[pool] billing: expected one of 'fixed', 'hourly', got 'hourli'; did you mean 'hourly'?",
    ),
    "band_upside_down": (
        "[balance]\nband = [0.9, 0.7]\n",
        "[balance] band: expected [low, high], two numbers from 0 to 2 with low <= high",
    ),
    "band_above_the_cap": (
        "[balance]\nband = [0.7, 1.2]\n",
        "[balance] band: expected its high end at most [csm] max_utilization (1, the hard cap), got 1.2",
    ),
    "falling_prices": (
        "[balance]\nover_weights = [6.0, 2.0]\n",
        "[balance] over_weights: expected a non-empty list of numbers from 0 to 100, each at least the one before (a rising price keeps the cost convex)",
    ),
    "report_typo": (
        "[report]\naccounts_per_csm = { enterprize = [10, 20] }\n",
        "[report.accounts_per_csm] enterprize: unknown segment",
    ),
}


@pytest.mark.parametrize("name", BAD_POLICIES)
def test_validate_names_the_key_and_what_was_expected(tmp_path, name):
    text, expected = BAD_POLICIES[name]
    policy = tmp_path / f"{name}.toml"
    policy.write_text(text)
    r = run("validate", FIX / "tiny", "--as-of", "2026-11-01", "--policy", policy)
    assert r.exit_code == 1, r.output
    assert f"error: policy {policy}: {expected}" in r.output
    assert "Traceback" not in r.output and "internal error" not in r.output


@pytest.mark.parametrize(
    "name",
    [
        "inf_base_hours",
        "huge_base_hours",
        "knowledge_typo",
        "knowledge_negative",
        "key_typo",
        "table_typo",
        "extra_segment",
    ],
)
def test_solve_refuses_the_policy_before_writing_anything(tmp_path, name):
    text, expected = BAD_POLICIES[name]
    policy = tmp_path / "p.toml"
    policy.write_text(text)
    r = run("solve", FIX / "tiny", "--as-of", "2026-11-01", "--policy", policy, "--out", tmp_path / "plan")
    assert r.exit_code == 1, r.output
    assert f"error: policy {policy}: {expected}" in r.output
    assert "Traceback" not in r.output and "internal error" not in r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.toml"]  # no plan, no ledger


@pytest.mark.parametrize("command", ["reassign", "coverage"])
def test_a_bad_knowledge_table_fails_the_same_way_in_every_command(tmp_path, command):
    policy = tmp_path / "p.toml"
    policy.write_text(BAD_POLICIES["knowledge_negative"][0])
    args = ["--out", tmp_path / "plan"] if command == "reassign" else []
    r = run(command, FIX / "handoff", "--as-of", "2027-06-01", "--policy", policy, *args)
    assert r.exit_code == 1, r.output
    assert f"error: policy {policy}: [knowledge] backup: expected a number in [0, 1], got -0.5" in r.output
    assert not (tmp_path / "plan").exists()


def test_an_unreadable_policy_is_an_input_error_not_a_bug(tmp_path):
    r = run("validate", FIX / "tiny", "--policy", tmp_path)  # a folder
    assert r.exit_code == 1, r.output
    assert f"{tmp_path}: expected a readable policy TOML file" in r.output and "internal error" not in r.output


def test_library_callers_get_the_same_errors():
    raw = tomllib.loads(DEFAULT_TOML.read_text(encoding="utf-8"))
    with pytest.raises(
        PolicyError,
        match=r"^policy dict: \[csm\] default_capacty_hours: unknown key; did you mean default_capacity_hours\?$",
    ):
        policy_from_dict({**raw, "csm": {**raw["csm"], "default_capacty_hours": 100}})
    with pytest.raises(
        PolicyError, match=r"^policy dict: \[continuity\] freeze_days: missing; expected a whole number"
    ):
        policy_from_dict({**raw, "continuity": {}})
    with pytest.raises(PolicyError, match=r"\[segments\] order: missing"):
        policy_from_dict({k: v for k, v in raw.items() if k != "segments"})


# -- what still loads -----------------------------------------------------------------------------


def test_the_default_policy_loads_and_its_keys_are_exactly_the_schemas():
    from planner.policy import SCHEMA, Optional_

    raw = tomllib.loads(DEFAULT_TOML.read_text(encoding="utf-8"))
    assert policy_from_dict(raw).segments == ("enterprise", "mid_market", "smb")
    assert load_policy().digest() == policy_from_dict(raw).digest()

    def walk(schema: dict, table: dict, path=()):
        for key, rule in schema.items():
            optional = isinstance(rule, Optional_)
            rule = rule.rule if optional else rule
            assert key in table or optional, f"schema key {'.'.join((*path, key))} missing from the default policy"
            if isinstance(rule, dict) and key in table:
                walk(rule, table[key], (*path, key))
        assert set(table) <= set(schema), path

    walk(SCHEMA, raw)


@pytest.mark.parametrize(
    "text",
    [
        "[continuity]\nfreeze_days = 0\n",  # tests/test_solve.py
        "[continuity]\nfreeze_days = 0\nmax_changed_arr_share = 0.0\n",
        "[continuity]\nmax_changed_arr_share = 0.25\n",  # tests/test_properties.py
        "[knowledge]\nbackup = 0.9\nhalf_life_months = 12\n",  # README: a [knowledge] table overrides any weight
        "[region]\ndefault_utc_offset = { NA = -6, Oceania = 10 }\n",  # any region name
        "[risk.churn_uplift.enterprise]\npool = 0.05\n",
        "[csm]\ndefault_capacity_hours = 100\nmax_utilization = 0.9\n",
    ],
)
def test_documented_overrides_still_load(tmp_path, text):
    policy = tmp_path / "p.toml"
    policy.write_text(text)
    loaded = load_policy(policy)

    def within(part, whole) -> bool:  # every key of `part` is in `whole` with the same value
        if isinstance(part, dict):
            return isinstance(whole, dict) and all(k in whole and within(v, whole[k]) for k, v in part.items())
        return part == whole

    assert within(tomllib.loads(text), loaded.raw)


def test_a_users_own_segments_replace_the_defaults_in_every_per_segment_table(tmp_path):
    policy = tmp_path / "segments.toml"
    policy.write_text(
        '[segments]\norder = ["strategic", "growth", "self_serve"]\n'
        "arr_thresholds = { strategic = 500000, growth = 25000, self_serve = 0 }\n"
        'modes = { strategic = ["csm"], growth = ["csm", "pool"], self_serve = ["digital", "pool"] }\n'
        "[workload]\nbase_hours = { strategic = 10, growth = 2, self_serve = 0.5 }\n"
        "[disruption]\nhandoff_hours = { strategic = 8, growth = 2, self_serve = 0.5 }\n"
        "[timezone]\nmax_gap_hours = { strategic = 3, growth = 6, self_serve = 12 }\n"
        '[region]\ncsm_must_match = ["strategic"]\n'
        "[risk.churn_uplift.growth]\npool = 0.01\n"
    )
    p = load_policy(policy)
    assert p.segments == ("strategic", "growth", "self_serve")
    assert p.base_hours == {"strategic": 10.0, "growth": 2.0, "self_serve": 0.5}
    assert p.churn_uplift == {"growth": {"pool": 0.01}}  # the default mid_market / smb uplifts do not apply
    assert set(p.raw["workload"]["base_hours"]) == {"strategic", "growth", "self_serve"}
    # a per-segment table left at the default has no value for the new segments: said so, by name
    policy.write_text(
        policy.read_text().replace("[timezone]\nmax_gap_hours = { strategic = 3, growth = 6, self_serve = 12 }\n", "")
    )
    with pytest.raises(
        PolicyError,
        match=r"\[timezone\] max_gap_hours: expected a value for every segment of \[segments\] order, missing \['strategic', 'growth', 'self_serve'\]",
    ):
        load_policy(policy)


def test_the_plan_stores_the_valid_override(tmp_path):
    policy = tmp_path / "p.toml"
    policy.write_text("[csm]\ndefault_capacity_hours = 100\n")
    r = run("solve", FIX / "tiny", "--as-of", "2026-11-01", "--policy", policy, "--out", tmp_path / "plan")
    assert r.exit_code == 0, r.output
    stored = json.loads((tmp_path / "plan" / "summary.json").read_text())["policy"]
    assert stored["csm"]["default_capacity_hours"] == 100
    assert policy_from_dict(stored).csm_default_capacity_hours == 100  # what a plan stores loads again

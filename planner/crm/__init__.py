"""Export a plan to the CRM: load files the CRM's own tools accept, plus what undoes them.

``export_plan`` writes one folder, atomically (nothing appears unless all of
it is complete, and an existing folder is replaced only with ``force``):

- the load file(s) of the chosen format and target (parts when split): one
  update file, or for a Salesforce account team an insert and a delete file,
- the rollback file(s): the previous owners in the same format -- loading them undoes the export,
- ``exceptions.csv``: every selected account that is not in the load (no CRM id,
  an owner without CRM user, ...) and every exported account whose rollback
  cannot restore its previous owner,
- ``export_summary.json``: counts, sha256 per file, the export checksum, warnings.

The ledger must say the plan is approved (or already exported) unless
``allow_draft``; the export is recorded there, and moves the plan to
``exported``, in the same transaction that puts the folder in place (the
folder is renamed into place just before the ledger commits). Before that
the plan is vetted (planner.plans.ledger.vet_plan): its plan_id is recomputed from
the folder, its files must be the ones recorded, and a draft the ledger does
not vouch for is re-checked by the evaluator against its book.
``rollback_plan`` writes the rollback of a plan's export again -- by default
the one recorded as applied (``planner plans mark-applied``) -- and marks the
plan rolled back. Formats are documented in docs/crm_export.md.
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from planner.crm import gainsight, generic, hubspot, salesforce
from planner.crm.build import Built, ExceptionRow, build
from planner.crm.files import DEFAULT_MAX_BYTES, SUMMARY_FILE, OutFile, checksum, exceptions_file, render, role_files
from planner.crm.model import CrmFormat, ExportError
from planner.io.atomic import atomic_dir, atomic_write_bytes
from planner.io.outputs import check_overlap
from planner.plans import Plan, load_plan
from planner.plans.ledger import (
    Ledger,
    LedgerError,
    Vetting,
    current_user,
    find_plan,
    resolve_ledger_path,
    utc_now,
    vet_plan,
)

FORMATS = ("salesforce", "hubspot", "gainsight", "csv", "json")

__all__ = ["FORMATS", "DEFAULT_MAX_BYTES", "ExportError", "ExportResult", "export_plan", "make_format", "rollback_plan"]


@dataclass(frozen=True)
class ExportResult:
    plan_id: str
    kind: str  # export | rollback
    format: str
    out_dir: Path
    files: tuple[dict, ...]  # {name, role, rows, bytes, sha256}
    counts: dict
    warnings: tuple[str, ...]
    checksum: str
    export_id: int  # the ledger's id of this export
    draft: bool  # exported without approval (--allow-draft)
    state: str  # the plan's ledger state afterwards
    notes: tuple[str, ...] = ()  # what the user should know that is not a warning (which export a rollback undoes)


def make_format(
    fmt: str, hubspot_owner_by: str = "id", salesforce_target: str | None = None, hubspot_property: str | None = None
) -> CrmFormat:
    """The format `fmt` with its target: a Salesforce --target, a HubSpot owner property (defaults: the owner)."""
    if salesforce_target is not None and fmt != "salesforce":
        raise ExportError(f"Expected --target only with --format salesforce, got it with --format {fmt}")
    if hubspot_property is not None and fmt != "hubspot":
        raise ExportError(f"Expected --property only with --format hubspot, got it with --format {fmt}")
    if fmt == "salesforce":
        return salesforce.make(salesforce_target or "owner")
    if fmt == "hubspot":
        return hubspot.make(hubspot_owner_by, hubspot_property)
    if fmt == "gainsight":
        return gainsight.make()
    if fmt in ("csv", "json"):
        return generic.make(fmt)
    raise ExportError(f"Expected --format to be one of {list(FORMATS)}, got {fmt!r}")


@contextlib.contextmanager
def _open_ledger(ledger: Ledger | str | Path | None, plan_dir: Path | None, create: bool) -> Iterator[Ledger]:
    """A Ledger given by the caller (left open), or one opened from a path / the default location."""
    if isinstance(ledger, Ledger):
        yield ledger
        return
    with Ledger(resolve_ledger_path(ledger, plan_dir), create=create) as opened:
        yield opened


def _check_coverage(built: Built) -> None:
    """Every selected account is exactly once in the load or in the export exceptions."""
    seen = Counter(c.account_id for c in built.export)
    seen.update(e.account_id for e in built.exceptions if e.file == "export")
    if seen != Counter(built.selected):
        raise ExportError("Internal check failed: the export does not cover every selected account exactly once")


def _require_loadable(built: Built) -> None:
    """Refuse an export in which no selected account can be loaded: the ids do not fit the format at all."""
    if built.selected and not built.export:
        examples = "; ".join(e.reason for e in built.exceptions[:3])
        raise ExportError(
            f"None of the {len(built.selected)} selected accounts can be loaded in this format; expected at least one. "
            f"For example: {examples}"
        )


def _counts(kind: str, plan: Plan, built: Built, files: Sequence[OutFile]) -> dict:
    """The numbers of the files written: an export reports its load and rollback, a rollback only itself."""
    exceptions = Counter(e.file for e in built.exceptions)
    counts = {
        "plan_accounts": len(plan.assignments),
        "plan_changed": sum(r["changed"] == "true" for r in plan.assignments),  # what --only-changes selects
        # The plan summary's own counts (planner/planning/result.py Counts): each account once, as what it is.
        "plan_moved": sum(
            r["changed"] == "true" and r["previous_owner"] != "" and r["owner_id"] != "" for r in plan.assignments
        ),  # fmt: skip
        "plan_new": sum(r["previous_owner"] == "" for r in plan.assignments),
        "plan_left_without_owner": sum(r["previous_owner"] != "" and r["owner_id"] == "" for r in plan.assignments),
        "selected": len(built.selected),
        "exported": len(built.export),
        "exported_changed": sum(c.changed for c in built.export),
        "export_exceptions": exceptions["export"],
        "export_rows": sum(f.rows for f in files if f.role == "export"),
        "export_parts": sum(f.role == "export" for f in files),
        "rollback_rows": sum(f.rows for f in files if f.role == "rollback"),
        "rollback_exceptions": exceptions["rollback"],
        "rollback_parts": sum(f.role == "rollback" for f in files),
    }
    if kind == "rollback":
        counts = {k: v for k, v in counts.items() if not k.startswith("export")}
    return counts


def _warnings(fmt: CrmFormat, exceptions: Sequence[ExceptionRow], draft: bool, plan_id: str) -> list[str]:
    """The format's own warnings, then what the user must look at: a draft, and the exceptions written."""
    warnings = list(fmt.warnings)
    if draft:
        warnings.append(f"Plan {plan_id} is not approved: exported as a draft (--allow-draft).")
    by_file = Counter(e.file for e in exceptions)
    if by_file["export"]:
        warnings.append(f"{by_file['export']} account(s) are not in the load file; see exceptions.csv.")
    if by_file["rollback"]:
        warnings.append(
            f"{by_file['rollback']} exported account(s) cannot be restored by the rollback file; see exceptions.csv."
        )
    return warnings


def _options(
    only_changes: bool, digital_owner: str | None, hubspot_owner_by: str, max_records: int | None, max_bytes: int,
    salesforce_target: str | None, hubspot_property: str | None,
) -> dict:  # fmt: skip
    return {"only_changes": only_changes, "digital_owner": digital_owner, "hubspot_owner_by": hubspot_owner_by,
            "max_records": max_records, "max_bytes": max_bytes, "salesforce_target": salesforce_target,
            "hubspot_property": hubspot_property}  # fmt: skip


# What an export recorded before an option existed: its default then (a version-1 ledger's rows have none at all).
_OPTION_DEFAULTS = {"only_changes": False, "digital_owner": None, "hubspot_owner_by": "id", "max_records": None,
                    "max_bytes": DEFAULT_MAX_BYTES, "salesforce_target": None, "hubspot_property": None}  # fmt: skip


def _write_folder(folder: Path, files: Sequence[OutFile], summary: dict) -> None:
    for file in files:
        atomic_write_bytes(folder / file.name, file.data)
    atomic_write_bytes(
        folder / SUMMARY_FILE, (json.dumps(summary, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    )


def _approve_hint(plan: Plan, ref: str) -> str:
    return f"Approve it with `planner plans approve {ref} --by NAME`, or pass --allow-draft."


def _exportable_state(ledger: Ledger, plan: Plan, allow_draft: bool, by: str, vetted: Vetting) -> str:
    """The plan's ledger state if it may be exported (recording it first when it is new and drafts are allowed)."""
    record = ledger.find(plan.plan_id)
    if record is None:
        if not allow_draft:
            raise LedgerError(
                f"Expected plan {plan.plan_id} to be approved, it is not in the ledger {ledger.path}. {_approve_hint(plan, str(plan.path))}"
            )
        ledger.record(plan.summary, plan.file_sha256, plan.path, by, checked=vetted.checked)
        return "draft"
    ledger.verify_files(plan.plan_id, plan.file_sha256, plan.path)
    if vetted.checked and not record.checked:
        ledger.record(plan.summary, plan.file_sha256, plan.path, by, checked=vetted.checked)
    if record.state in ("approved", "exported") or (record.state == "draft" and allow_draft):
        return record.state
    if record.state == "draft":
        raise LedgerError(
            f"Expected plan {plan.plan_id} to be approved, it is draft. {_approve_hint(plan, plan.plan_id)}"
        )
    raise LedgerError(f"Expected plan {plan.plan_id} to be approved or exported, it is {record.state}")


def export_plan(
    plan_dir: str | Path,
    fmt: str,
    out_dir: str | Path,
    only_changes: bool = False,
    force: bool = False,
    allow_draft: bool = False,
    ledger: Ledger | str | Path | None = None,
    *,
    digital_owner: str | None = None,
    hubspot_owner_by: str = "id",
    max_records: int | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    by: str | None = None,
    salesforce_target: str | None = None,
    hubspot_property: str | None = None,
) -> ExportResult:
    """Write the export folder `out_dir` for the plan in `plan_dir` and record it in the ledger.

    `salesforce_target`: owner (default), field:NAME or account-team:ROLE;
    `hubspot_property`: the HubSpot owner property (default hubspot_owner_id).
    `ledger`: a Ledger, a path, or None for $PLANNER_LEDGER / the plan folder's parent.
    Raises PlanError, ExportError, LedgerError or OutputExistsError, having written nothing.
    """
    by = by or current_user()
    plan = load_plan(plan_dir)
    crm = make_format(fmt, hubspot_owner_by, salesforce_target, hubspot_property)
    built = build(plan, crm, only_changes, digital_owner)
    _check_coverage(built)
    _require_loadable(built)
    files = render(crm, built, plan.plan_id, max_records, max_bytes)
    options = _options(
        only_changes, digital_owner, hubspot_owner_by, max_records, max_bytes, salesforce_target, hubspot_property
    )
    if isinstance(ledger, Ledger):
        record = ledger.find(plan.plan_id)
    else:
        ledger_path = resolve_ledger_path(ledger, plan.path)
        if (
            not allow_draft and not ledger_path.is_file()
        ):  # checked here so a refused export does not create an empty ledger
            raise LedgerError(
                f"Expected plan {plan.plan_id} to be approved, but there is no ledger at {ledger_path}. {_approve_hint(plan, str(plan.path))}"
            )
        record = find_plan(ledger_path, plan.plan_id)
    # Vetted before the ledger is opened for writing, so a refusal creates nothing. An approved plan was vetted
    # when it was approved; a draft export re-checks a plan the ledger does not vouch for, if its book can be read.
    vetted = vet_plan(plan, record, recheck=allow_draft, draft=True)
    notes = [f"Not re-checked against its book: {vetted.unchecked_reason}"] if vetted.unchecked_reason else []
    notes += [f"Kept from today's owners, not made worse by the plan: {kept}" for kept in vetted.inherited]
    # Before the ledger is opened (created): a refused export leaves nothing behind.
    check_overlap(
        Path(out_dir), {"the plan": plan.path, "the ledger": ledger.path if isinstance(ledger, Ledger) else ledger_path}
    )
    with _open_ledger(ledger, plan.path, create=True) as led, led.transaction():
        state = _exportable_state(led, plan, allow_draft, by, vetted)
        return _commit(
            led, plan, crm, "export", Path(out_dir), force, files, built.exceptions, built, options, by,
            draft=state == "draft", to_state="exported" if state == "approved" else None, notes=notes,
        )  # fmt: skip


def _commit(
    led: Ledger, plan: Plan, crm: CrmFormat, kind: str, out_dir: Path, force: bool, files: list[OutFile],
    exceptions: Sequence[ExceptionRow], built: Built, options: dict, by: str, draft: bool, to_state: str | None,
    notes: Sequence[str] = (), info: Sequence[str] = (),
) -> ExportResult:  # fmt: skip
    """Write the folder and its ledger rows (and move the plan to `to_state`); the caller's transaction makes them one step."""
    counts = _counts(kind, plan, built, files)
    warnings = _warnings(crm, exceptions, draft, plan.plan_id) + list(notes)
    infos = [f.info() for f in files]
    digest = checksum(files)
    summary = {
        "kind": kind, "plan_id": plan.plan_id, "format": crm.name, "target": crm.target, "created_at": utc_now(),
        "by": by, "plan_dir": str(plan.path.resolve()), "ledger": str(led.path.resolve()), "draft": draft,
        "options": options, "counts": counts, "files": infos, "checksum": digest, "warnings": warnings,
        "notes": list(info),
    }  # fmt: skip
    # The CLI checked this before any work; library callers get the same refusal here, before anything is written.
    check_overlap(out_dir, {"the plan": plan.path, "the ledger": led.path})
    with atomic_dir(out_dir, force=force) as tmp:
        _write_folder(tmp, files, summary)
        export_id = led.record_export(
            plan.plan_id, kind=kind, fmt=crm.name, out_dir=out_dir, files=infos, counts=counts,
            options=options, checksum=digest, by=by, draft=draft,
        )  # fmt: skip
        if to_state is not None:
            led.transition(plan.plan_id, to_state, by, note=f"{crm.name} -> {out_dir.resolve()}")
    state = led.get(plan.plan_id).state
    return ExportResult(
        plan.plan_id,
        kind,
        crm.name,
        out_dir,
        tuple(infos),
        counts,
        tuple(warnings),
        digest,
        export_id,
        draft,
        state,
        tuple(info),
    )


def rollback_plan(
    plan_id: str,
    out_dir: str | Path,
    ledger: Ledger | str | Path | None = None,
    *,
    fmt: str | None = None,
    export_id: int | None = None,
    force: bool = False,
    by: str | None = None,
) -> ExportResult:
    """Write the rollback of one of the plan's exports and mark the plan rolled back.

    Which export: `export_id` (the ledger's #), else the one recorded as
    applied, else the only one (of format `fmt`, when given); several that
    differ are refused, listed (planner.plans.ledger.Ledger.pick_export). The
    rollback is rebuilt from the plan folder with the options that export
    used, after checking the plan files are still the ones the ledger
    recorded, so it restores exactly the owners that export replaced. A plan
    exported in several formats can be rolled back once per export.
    """
    by = by or current_user()
    with _open_ledger(ledger, None, create=False) as led, led.transaction():
        record = led.require_state(plan_id, "exported", "applied", "rolled_back")
        chosen, notes = led.pick_export(plan_id, export_id=export_id, fmt=fmt, purpose="roll back")
        plan = load_plan(record.path)
        led.verify_files(plan_id, plan.file_sha256, plan.path)
        opts = _OPTION_DEFAULTS | chosen.options
        crm = make_format(chosen.format, opts["hubspot_owner_by"], opts["salesforce_target"], opts["hubspot_property"])
        built = build(plan, crm, opts["only_changes"], opts["digital_owner"])
        exceptions = [e for e in built.exceptions if e.file == "rollback"]
        files = [
            *role_files(crm, "rollback", built, plan_id, opts["max_records"], opts["max_bytes"]),
            exceptions_file(exceptions),
        ]
        return _commit(
            led, plan, crm, "rollback", Path(out_dir), force, files, exceptions, built, opts | {"rolls_back": chosen.id},
            by, draft=False, to_state=None if record.state == "rolled_back" else "rolled_back", notes=notes,
            info=(f"Rolls back export #{chosen.id} ({chosen.format} -> {chosen.out_dir})",),
        )  # fmt: skip

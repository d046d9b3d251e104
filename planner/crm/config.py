"""An optional export config file, so a team sets its CRM mapping once.

TOML, one ``[export]`` table; command-line options override it::

    [export]
    salesforce_target = "field:CSM__c"      # or "owner", "account-team:Customer Success Manager"
    hubspot_property = "customer_success_manager"
    hubspot_owner_by = "email"
    max_records = 10000

    [export.digital_owner]          # or one string for every format
    salesforce = "0055g00000DigUs1"
    hubspot = "digital-team@example.com"
    gainsight = "digital-team@example.com"

The digital program's identity normally comes from the book (programs.csv);
``digital_owner`` overrides it for the exports that use this file. It can
differ per format because each CRM names a user its own way (a Salesforce
user id, a HubSpot owner id or email, a Gainsight email).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from planner.crm.model import ExportError

_KEYS = {"digital_owner", "hubspot_owner_by", "hubspot_property", "salesforce_target", "max_records", "max_bytes"}


def _digital_owner(raw: object, fmt: str, where: str) -> str | None:
    if isinstance(raw, dict):
        raw = raw.get(fmt)
    if raw is None:
        return None
    if isinstance(raw, str) and raw.strip():
        return raw.strip()
    raise ExportError(
        f"{where}: expected export.digital_owner to be a non-empty string or a table of them by format, got {raw!r}"
    )


def _text(raw: object, key: str, where: str) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, str) and raw.strip():
        return raw.strip()
    raise ExportError(f"{where}: expected export.{key} to be a non-empty string, got {raw!r}")


def _positive_int(raw: object, key: str, where: str) -> int | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
        raise ExportError(f"{where}: expected export.{key} to be a positive integer, got {raw!r}")
    return raw


def load_export_config(path: str | Path, fmt: str) -> dict:
    """The [export] settings of `path` that apply to format `fmt` (keys absent when not set)."""
    path = Path(path)
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8")).get("export", {})
    except FileNotFoundError:
        raise ExportError(f"{path}: expected an export config TOML file, but it does not exist") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ExportError(f"{path}: expected valid TOML: {exc}") from None
    if not isinstance(table, dict):
        raise ExportError(f"{path}: expected [export] to be a table")
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise ExportError(f"{path}: unknown export settings {unknown}; expected some of {sorted(_KEYS)}")
    settings = {
        "digital_owner": _digital_owner(table.get("digital_owner"), fmt, str(path)),
        "hubspot_owner_by": _text(table.get("hubspot_owner_by"), "hubspot_owner_by", str(path)),
        "salesforce_target": _text(table.get("salesforce_target"), "salesforce_target", str(path)),
        "hubspot_property": _text(table.get("hubspot_property"), "hubspot_property", str(path)),
        "max_records": _positive_int(table.get("max_records"), "max_records", str(path)),
        "max_bytes": _positive_int(table.get("max_bytes"), "max_bytes", str(path)),
    }
    return {key: value for key, value in settings.items() if value is not None}

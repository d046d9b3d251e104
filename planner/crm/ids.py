"""Salesforce record ids: 15-character (case-sensitive) to 18-character (case-safe).

Salesforce documents the 18-character form as the 15-character id plus a
3-character suffix that encodes the case of the first 15: split the id into 3
chunks of 5; in each chunk, bit i is set when character i is an uppercase
A-Z; the 5-bit number indexes ``ABCDEFGHIJKLMNOPQRSTUVWXYZ012345``.

Load files always carry 18-character ids: the suffix lets the CRM (and any
case-insensitive tool on the way, such as a spreadsheet's lookup) tell
``001A0000006Vm9r`` from ``001A0000006VM9r``. An 18-character id whose suffix
does not match its own first 15 characters has had its case changed somewhere
(a spreadsheet, a case-insensitive database) and would update the wrong record
or none, so it is rejected rather than trusted.
"""

from __future__ import annotations

import string

SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ID_CHARS = frozenset(string.ascii_letters + string.digits)
ACCOUNT_PREFIX = "001"  # key prefix of the Account object
USER_PREFIX = "005"  # key prefix of the User object (the only valid Account owner)


class SalesforceIdError(ValueError):
    """A value that is not a Salesforce record id; the message says why."""


def checksum(id15: str) -> str:
    """The 3-character case-safe suffix of a 15-character id."""
    suffix = []
    for start in (0, 5, 10):
        bits = sum(1 << i for i, ch in enumerate(id15[start : start + 5]) if "A" <= ch <= "Z")
        suffix.append(SUFFIX_ALPHABET[bits])
    return "".join(suffix)


def to18(value: str) -> str:
    """The 18-character form of a 15- or 18-character Salesforce id.

    Raises SalesforceIdError for anything else, including an 18-character id
    whose suffix disagrees with the case of its first 15 characters.
    """
    if len(value) not in (15, 18):
        raise SalesforceIdError(
            f"expected a 15- or 18-character Salesforce id, got {value!r} ({len(value)} characters)"
        )
    if not set(value) <= _ID_CHARS:
        raise SalesforceIdError(f"expected a Salesforce id of letters and digits only, got {value!r}")
    expected = checksum(value[:15])
    if len(value) == 18 and value[15:] != expected:
        raise SalesforceIdError(
            f"expected the 18-character id {value!r} to end in {expected!r} (the case of its first 15 characters); "
            "its case was probably changed by a spreadsheet or a case-insensitive tool"
        )
    return value[:15] + expected


def require_prefix(id18: str, prefix: str, what: str) -> str:
    """`id18` when it belongs to the object with key prefix `prefix`."""
    if not id18.startswith(prefix):
        raise SalesforceIdError(f"expected {what} id starting with {prefix!r}, got {id18!r}")
    return id18

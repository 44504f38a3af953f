"""The id of a record a member typed or picked from an autocomplete list ("12" or "#12")."""

from __future__ import annotations

MAX_ID = 2**63 - 1  # SQLite integers are 64-bit


def record_id(value: str) -> int | None:
    """The id, or None when the text cannot name a record (the caller says what it could not find)."""
    try:
        found = int(value.strip().lstrip("#"))
    except ValueError:
        return None
    return found if 0 < found <= MAX_ID else None

"""Rules every form and option that stores typed text shares."""

from __future__ import annotations

from bot.errors import NulInText


def refuse_nul(what: str, *texts: str | None) -> None:
    """Refuse text holding a NUL character: Python counts past it, SQLite's ``length()`` stops there (a table's
    length CHECK would fail on insert) and PostgreSQL refuses it outright — the member gets a clear message instead."""
    if any(text and "\x00" in text for text in texts):
        raise NulInText(f"The {what}")


def holds_nul(data: object) -> bool:
    """Whether any text in an interaction's payload (options, form fields, nested) holds a NUL character: no
    engine stores one (PostgreSQL refuses it outright), so typed text holding one is turned away at the door."""
    if isinstance(data, str):
        return "\x00" in data
    if isinstance(data, dict):
        return any(holds_nul(value) for value in data.values())
    if isinstance(data, list):
        return any(holds_nul(value) for value in data)
    return False

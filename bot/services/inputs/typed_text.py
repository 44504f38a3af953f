"""Rules every form and option that stores typed text shares."""

from __future__ import annotations

from bot.errors import InvalidInput


def refuse_nul(what: str, *texts: str | None) -> None:
    """Refuse text holding a NUL character: Python counts past it, but SQLite's ``length()`` stops there, so a
    table's length CHECK would fail on insert instead of the member getting a clear message."""
    if any(text and "\x00" in text for text in texts):
        raise InvalidInput(f"The {what} contains an invisible NUL character; please retype it.")

"""Domain errors. Services raise these; the Discord layer turns them into a friendly ephemeral reply.

This module must not import discord: services depend on it.
"""

from __future__ import annotations


class CollectiveError(Exception):
    """An expected failure whose message is safe and useful to show to the member who caused it."""

    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message


class InvalidInput(CollectiveError):
    """The member gave a value we cannot use; nothing was changed."""


class NulInText(InvalidInput):
    """Typed text holding a NUL character, which no engine stores (PostgreSQL refuses it outright)."""

    def __init__(self, what: str = "Something you typed") -> None:
        super().__init__(f"{what} contains an invisible NUL character; please retype it.")


class NotAllowed(CollectiveError):
    """The member may not do this (role, status, tier)."""


class NotFound(CollectiveError):
    """The thing the member named does not exist (or not in this server)."""


class Conflict(CollectiveError):
    """Someone else got there first, or the action was already taken."""


class ConfigError(Exception):
    """The operator's configuration is unusable; the message names the key."""


class DatabaseTooNew(Exception):
    """The database was written by a newer Collective; refusing to touch it."""


class DatabaseCollation(Exception):
    """The PostgreSQL database sorts text by a language's rules, not by code points as SQLite does."""


class TransactionSpanError(RuntimeError):
    """A Discord or HTTP call was made while a database transaction was open."""

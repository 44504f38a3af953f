"""What a unit of work's SQL runs on, whichever the engine.

Feature code writes one SQL text with ``?`` placeholders and runs it through ``Statements``; the SQLite engine
passes it as is, the PostgreSQL engine numbers the placeholders (``bot/storage/placeholders.py``). A row is read
by position or by column name on both engines (``sqlite3.Row`` and ``asyncpg.Record`` both do).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, Protocol

from bot.errors import NulInText
from bot.storage.dialect import Engine

# Positional (``?``) or named (``:name``) parameters, as sqlite3 takes them.
Params = Sequence[Any] | Mapping[str, Any]


class Row(Protocol):
    """One result row: ``row[0]``, ``row["column"]``, ``row.keys()``; ``dict(row)`` works on both engines."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def keys(self) -> Any: ...

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[Any]: ...


class Statements(Protocol):
    """SQL inside one open transaction (a ``UnitOfWork``, or the connection a batch runs on)."""

    @property
    def engine(self) -> Engine: ...

    async def execute(self, sql: str, params: Params = ()) -> int:
        """One statement; how many rows it changed."""
        ...

    async def insert(self, sql: str, params: Params = ()) -> int:
        """One ``INSERT`` of one row; the new row's ``id`` (the engine appends ``RETURNING id``)."""
        ...

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None: ...

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None: ...

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]: ...

    async def fetchval(self, sql: str, params: Params = ()) -> Any: ...


def returning_id(sql: str) -> str:
    """``sql`` (one INSERT) made to return the new row's id: the portable replacement for ``lastrowid``."""
    return sql.rstrip().rstrip(";") + " RETURNING id"


class TransactionAbandoned(RuntimeError):
    """The engine gave up the whole transaction (SQLite on a full disk or an I/O error): nothing in it is
    durable, and a savepoint can no longer undo just a part."""


class TransactionConflict(TransactionAbandoned):
    """The engine cancelled the transaction to resolve a conflict with another one running at the same time (a
    PostgreSQL deadlock or serialization failure; SQLite's one writer never meets one): nothing in it is durable,
    and the whole unit of work is worth running again (``Database`` does, a few times)."""


# SQLSTATE of the conflicts PostgreSQL resolves by cancelling one transaction: deadlock_detected,
# serialization_failure. Checked by code so this module needs no driver.
_CONFLICT_STATES = frozenset({"40P01", "40001"})


def is_conflict(exc: BaseException) -> bool:
    """Whether ``exc`` means "another transaction won; run this one again" (see ``TransactionConflict``)."""
    return isinstance(exc, TransactionConflict) or getattr(exc, "sqlstate", None) in _CONFLICT_STATES


@asynccontextmanager
async def savepoint(sql: Statements, name: str) -> AsyncIterator[None]:
    """A part of the open transaction that an exception undoes alone (the exception still propagates).

    Raises ``TransactionAbandoned`` (from the original error) when the part cannot be undone because the engine
    abandoned the whole transaction: the caller must not go on writing as if it were still open.
    """
    await sql.execute(f"SAVEPOINT {name}")
    try:
        yield
    except Exception as exc:
        if is_conflict(exc):
            # Not this part's fault: the whole transaction lost a race with another process's, and undoing only
            # this part would keep the locks that made it lose. The caller's caller runs it all again.
            raise TransactionConflict(f"the transaction lost a conflict: {type(exc).__name__}") from exc
        try:
            await sql.execute(f"ROLLBACK TO {name}")
        except Exception:
            raise TransactionAbandoned(f"the transaction was abandoned: {type(exc).__name__}") from exc
        try:
            await sql.execute(f"RELEASE {name}")
        except Exception:
            raise TransactionAbandoned(f"the transaction was abandoned: {type(exc).__name__}") from exc
        raise
    # A cancellation (BaseException) propagates as it is: the whole unit of work is abandoned by its owner.
    await sql.execute(f"RELEASE {name}")


def refuse_nul(params: Params) -> None:
    """No engine stores a NUL character in text (PostgreSQL refuses it, SQLite's ``length()`` stops at it): a
    statement given one is refused before it runs, with the member-facing message, and its unit of work rolls
    back — on both engines alike, wherever the text came from."""
    values = params.values() if isinstance(params, Mapping) else params
    for value in values:
        if isinstance(value, str) and "\x00" in value:
            raise NulInText()

"""The PostgreSQL engine's own behaviour: a cancelled transaction never leaves the writer stuck, the collation is
checked, and addresses are shown without their password."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from bot.db import Database, Transaction
from bot.errors import DatabaseCollation
from bot.storage.addresses import url_password, without_password
from tests.postgres import PostgresServer


@pytest.mark.parametrize(
    ("url", "shown", "password"),
    [
        ("postgresql://u:p%40ss@h:5432/db", "postgresql://u@h:5432/db", "p@ss"),
        ("postgresql://u@h/db?password=s3cret&sslmode=require", "postgresql://u@h/db?sslmode=require", "s3cret"),
        ("postgresql://u:p@[::1]:5432/db", "postgresql://u@[::1]:5432/db", "p"),
        ("postgresql://h/db", "postgresql://h/db", None),
    ],
)
def test_an_address_is_shown_without_its_password(url: str, shown: str, password: str | None) -> None:
    assert without_password(url) == shown
    assert url_password(url) == password


async def test_a_transaction_cancelled_mid_statement_leaves_the_next_one_working(
    postgres_server: PostgresServer,
) -> None:
    async with postgres_server.fresh_database(migrated=True) as dsn, await Database.open(dsn) as db:

        async def slow_write() -> None:
            async with db.transaction() as tx:
                await tx.execute("INSERT INTO bot_state (key, value, updated_at) VALUES ('lost', 'x', 'now')")
                await tx.fetchval("SELECT pg_sleep(5)")

        task = asyncio.create_task(slow_write())
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # The next writes work, and what the cancelled one wrote is gone.
        assert await db.execute("INSERT INTO bot_state (key, value, updated_at) VALUES ('kept', 'y', 'now')") == 1
        assert await db.fetchval("SELECT value FROM bot_state WHERE key = 'kept'") == "y"
        assert await db.fetchval("SELECT COUNT(*) FROM bot_state WHERE key = 'lost'") == 0


async def test_a_writer_connection_closed_by_the_server_is_replaced(postgres_server: PostgresServer) -> None:
    async with postgres_server.fresh_database(migrated=True) as dsn, await Database.open(dsn) as db:
        await db.execute("INSERT INTO bot_state (key, value, updated_at) VALUES ('a', '1', 'now')")
        admin = await asyncpg.connect(dsn)
        try:  # a server restart or fail-over, as the bot sees it: its idle writer connection is gone
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        finally:
            await admin.close()
        await asyncio.sleep(0.1)
        assert await db.execute("INSERT INTO bot_state (key, value, updated_at) VALUES ('b', '2', 'now')") == 1


async def test_a_database_sorting_by_language_rules_is_refused(postgres_server: PostgresServer) -> None:
    admin = await asyncpg.connect(postgres_server.dsn)
    try:  # English rules through ICU (built into Debian's PostgreSQL; libc locales may not be installed)
        await admin.execute(
            "CREATE DATABASE collective_collation_test TEMPLATE template0 ENCODING 'UTF8'"
            " LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C'"
        )
    finally:
        await admin.close()
    try:
        async with await Database.open(postgres_server.database_dsn("collective_collation_test")) as db:
            with pytest.raises(DatabaseCollation, match="createdb --template=template0 --locale=C"):
                await db.migrate()
            assert await db.schema_version() == 0  # nothing was applied
    finally:
        admin = await asyncpg.connect(postgres_server.dsn)
        try:
            await admin.execute("DROP DATABASE IF EXISTS collective_collation_test WITH (FORCE)")
        finally:
            await admin.close()


@pytest.mark.timeout(30)
async def test_a_unit_of_work_that_loses_a_deadlock_runs_again(postgres_server: PostgresServer) -> None:
    """Two processes lock two rows in opposite orders: PostgreSQL cancels one (deadlock_detected); the bot runs
    that unit of work again instead of failing it (a webhook would have answered 500)."""
    async with postgres_server.fresh_database(migrated=True) as dsn:
        first, second = await Database.open(dsn), await Database.open(dsn)
        try:
            for key in ("x", "y"):
                await first.execute("INSERT INTO bot_state (key, value, updated_at) VALUES (?, '', 'now')", (key,))
            both_hold_one = asyncio.Barrier(2)
            runs: dict[str, int] = {"a": 0, "b": 0}

            async def cross(tx: Transaction, who: str, one: str, other: str) -> None:
                runs[who] += 1
                await tx.execute("UPDATE bot_state SET value = value || ? WHERE key = ?", (who, one))
                if runs[who] == 1:
                    await asyncio.wait_for(both_hold_one.wait(), 5)  # each holds a row the other wants next
                await tx.execute("UPDATE bot_state SET value = value || ? WHERE key = ?", (who, other))

            await asyncio.gather(first.perform(cross, "a", "x", "y"), second.perform(cross, "b", "y", "x"))
            assert sorted(runs.values()) == [1, 2]  # one lost, and ran once more
            rows = await first.fetchall("SELECT key, value FROM bot_state WHERE key IN ('x', 'y') ORDER BY key")
            assert [sorted(row["value"]) for row in rows] == [["a", "b"], ["a", "b"]]  # each write once
        finally:
            await first.close()
            await second.close()

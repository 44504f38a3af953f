"""The shards' advisory locks on a real PostgreSQL: one holder at a time, released when its session ends (so a
standby takes over), and the holder told at once when its session is cut (so it stops)."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from bot.shard_locks import ShardLocks, lock_keys
from bot.sharding import ShardPlan
from tests.postgres import PostgresServer


def test_each_shard_has_its_own_key_and_every_shard_one_more() -> None:
    keys = lock_keys(ShardPlan((0, 1, 2, 3), 8))
    assert len(set(keys)) == 4
    assert set(keys).isdisjoint(lock_keys(ShardPlan((4, 5, 6, 7), 8)))
    assert set(keys).isdisjoint(lock_keys(ShardPlan((0, 1, 2, 3), 4)))  # another shard count: another bot layout
    assert len(lock_keys(ShardPlan())) == 1
    assert all(-(2**63) <= key < 2**63 for key in keys)  # PostgreSQL's bigint


@pytest.mark.timeout(30)
async def test_a_standby_takes_the_shards_only_once_the_active_session_ends(postgres_server: PostgresServer) -> None:
    async with postgres_server.fresh_database() as dsn:
        active, standby = ShardLocks(dsn, ShardPlan((0, 1), 4)), ShardLocks(dsn, ShardPlan((1, 2), 4))
        assert await active.try_take()
        assert not await standby.try_take()  # shard 1 is held
        other = ShardLocks(dsn, ShardPlan((2, 3), 4))
        assert await other.try_take()  # disjoint shards: two active processes side by side
        await other.release()

        polls = 0

        async def stopping(seconds: float) -> bool:
            nonlocal polls
            polls += 1
            await asyncio.sleep(0.05)
            return False

        waiting = asyncio.create_task(standby.wait_to_take(stopping))
        await asyncio.sleep(0.3)
        assert not waiting.done() and polls >= 2
        await active.release()  # the active process's session ends (exit, SIGKILL: the same for the server)
        assert await asyncio.wait_for(waiting, 5)
        # Nothing of shard 2 stayed held by the failed attempts: another process could take it after a release.
        await standby.release()
        assert await other.try_take()
        await other.release()


@pytest.mark.timeout(30)
async def test_the_holder_hears_when_its_session_is_cut(postgres_server: PostgresServer) -> None:
    async with postgres_server.fresh_database() as dsn:
        locks = ShardLocks(dsn, ShardPlan((0,), 2))
        assert await locks.try_take()
        admin = await asyncpg.connect(dsn)
        try:
            cut = await admin.fetchval(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
            assert cut
            await asyncio.wait_for(locks.lost.wait(), 10)
            assert await ShardLocks(dsn, ShardPlan((0,), 2)).try_take()  # released with the session
        finally:
            await admin.close()
            await locks.release()

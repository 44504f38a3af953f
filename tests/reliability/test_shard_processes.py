"""Two active processes on one PostgreSQL database, each holding half of the shards (``--shards 0 --shard-count 2``
and ``--shards 1 --shard-count 2``), with servers on both shards: each server's weekly digest is posted once, by
the process that owns the server's shard, and never by the other (which does not even see that server) — whether
they start together, or one runs alone for a while (the other shard's digests then wait for their own process)."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator import Emulator
from tests.reliability.bot_process import BotProcess, until
from tests.reliability.digest_due import digest_runs, digests_in, digests_run_in_log, seed
from tests.reliability.fleet import shard_args, stop_all
from tests.reliability.store_reader import StoreReader

SHARDS = 2
GUILDS = 4  # made together, their ids fall round-robin over the shards


async def servers_on_both_shards(emu: Emulator, database: str) -> tuple[dict[int, int], dict[int, int]]:
    """GUILDS servers whose digest is due now: each one's shard, and its announcements channel."""
    guilds = emu.create_guilds(GUILDS)
    owner = {g.id: emu.shard_of(g.id, SHARDS) for g in guilds}
    assert set(owner.values()) == set(range(SHARDS)), "the servers must fall on both shards"
    announcements = {g.id: emu.create_channel(g.id, "announcements").id for g in guilds}
    await seed(database, announcements)
    return owner, announcements


def shard_process(emu: Emulator, folder: Path, database: str, shard: int) -> BotProcess:
    return BotProcess(emu, folder, database=database, name=f"shard{shard}", args=shard_args(shard, SHARDS))


@pytest.mark.timeout(90)
async def test_two_shard_processes_each_post_their_own_servers_digest_once(
    emu: Emulator, tmp_path: Path, shared_database: str
) -> None:
    owner, announcements = await servers_on_both_shards(emu, shared_database)
    bots = [shard_process(emu, tmp_path, shared_database, shard) for shard in range(SHARDS)]
    try:
        for bot in bots:
            await bot.start(wait=False)

        def both_connected() -> bool:
            for bot in bots:
                assert bot.running, f"{bot.name} exited:\n{bot.log_tail()}"
            return emu.gateway.shards_connected(SHARDS)

        await until(both_connected, "both shard processes on the gateway", limit=30)
        async with StoreReader(shared_database) as store:

            async def all_done() -> bool:
                return all([await digest_runs(store, gid) == [("done", 1)] for gid in announcements])

            await until(all_done, "every server's digest run", limit=30)
        for gid, channel in announcements.items():
            assert len(digests_in(emu, channel)) == 1, f"server {gid} (shard {owner[gid]})"
        for shard, bot in enumerate(bots):
            assert not bot.tracebacks(), (bot.name, bot.tracebacks())
            # Who ran it: the scheduler logs each run it finished, naming the server.
            ran = {gid: digests_run_in_log(bot, gid) for gid in announcements}
            assert ran == {gid: int(owner[gid] == shard) for gid in announcements}, (bot.name, ran)
    finally:
        await stop_all(*bots)


@pytest.mark.timeout(90)
async def test_a_shard_process_alone_leaves_the_other_shards_digests_to_their_own_process(
    emu: Emulator, tmp_path: Path, shared_database: str
) -> None:
    owner, announcements = await servers_on_both_shards(emu, shared_database)
    first, second = (shard_process(emu, tmp_path, shared_database, shard) for shard in (1, 0))
    mine = [gid for gid, shard in owner.items() if shard == 1]
    theirs = [gid for gid, shard in owner.items() if shard == 0]
    try:
        async with StoreReader(shared_database) as store:

            async def done(gids: list[int]) -> bool:
                return all([await digest_runs(store, gid) == [("done", 1)] for gid in gids])

            await first.start()
            await until(lambda: done(mine), "shard 1's digests", limit=30)
            # Its scheduler went over every due job in that pass: the other shard's servers were not its to run.
            assert [await digest_runs(store, gid) for gid in theirs] == [[] for _ in theirs]
            assert [len(digests_in(emu, announcements[gid])) for gid in theirs] == [0 for _ in theirs]

            await second.start()
            await until(lambda: done(theirs), "shard 0's digests, by shard 0's process", limit=30)
        assert [len(digests_in(emu, channel)) for channel in announcements.values()] == [1] * GUILDS
        for bot, shard in ((first, 1), (second, 0)):
            assert not bot.tracebacks(), (bot.name, bot.tracebacks())
            ran = {gid: digests_run_in_log(bot, gid) for gid in announcements}
            assert ran == {gid: int(owner[gid] == shard) for gid in announcements}, (bot.name, ran)
    finally:
        await stop_all(first, second)

"""Fail-over of one shard among several, on PostgreSQL: shard 0's active process dies while posting a server's
weekly digest; shard 1's process, started afterwards, leaves that claimed run alone (it is not its server), and shard
0's standby takes it over — one digest per server, each by a process of the server's shard.

The standby is held still (SIGSTOP) from before the kill until shard 1's process has done its pass, so the order is
fixed: a shard 1 process that took over shard 0's claims would be seen doing it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator import Emulator
from tests.reliability.bot_process import BotProcess, until
from tests.reliability.digest_due import KillAtDigest, digest_runs, digests_in, digests_run_in_log, seed
from tests.reliability.fleet import (
    AT_ONCE,
    WAITING,
    pair,
    shard_args,
    start_then_standby,
    stop_all,
    take_over,
)
from tests.reliability.store_reader import StoreReader

SHARDS = 2
GUILDS = 4  # made together, their ids fall round-robin over the shards


@pytest.mark.timeout(90)
async def test_a_shard_standby_takes_over_its_shards_digest_and_the_other_shard_leaves_it_alone(
    emu: Emulator, tmp_path: Path, shared_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    guilds = emu.create_guilds(GUILDS)
    owner = {g.id: emu.shard_of(g.id, SHARDS) for g in guilds}
    assert set(owner.values()) == set(range(SHARDS)), "the servers must fall on both shards"
    announcements = {g.id: emu.create_channel(g.id, "announcements").id for g in guilds}
    await seed(shared_database, announcements)
    active, standby = pair(emu, tmp_path, shared_database, args=shard_args(0, SHARDS))
    other = BotProcess(emu, tmp_path, database=shared_database, name="shard1", args=shard_args(1, SHARDS))
    victim = next(gid for gid, shard in owner.items() if shard == 0)  # the server whose digest post kills
    waiting = lambda: standby.logged(WAITING)  # noqa: E731
    killer = KillAtDigest(emu, active, announcements[victim], "before the post lands", witness=waiting)
    killer.install(monkeypatch)
    try:
        async with StoreReader(shared_database) as store:
            await start_then_standby(active, standby, store)  # the digests are due at once
            standby.pause()
            try:
                await until(lambda: killer.fired, "the kill during the digest", limit=40)
                await active.wait_dead()
                assert killer.witnessed, "the standby was not yet waiting when the active died"
                assert await digest_runs(store, victim) == [("claimed", 1)]

                await other.start()

                async def shard_done(shard: int) -> bool:
                    runs = [await digest_runs(store, gid) for gid, s in owner.items() if s == shard]
                    return all(run == [("done", 1)] for run in runs)

                await until(lambda: shard_done(1), "shard 1's digests", limit=30)
                # Shard 1's process started after the kill and went over its due work: the dead process's claim
                # on a shard 0 server is not its to take over.
                assert await digest_runs(store, victim) == [("claimed", 1)]
            finally:
                standby.resume()
            await take_over(standby)

            async def victim_retried() -> bool:
                return await digest_runs(store, victim) == [("done", 2)]

            await until(victim_retried, "the standby's retry of the interrupted digest", limit=AT_ONCE)
            await until(lambda: shard_done_except(store, owner, victim), "shard 0's other digests", limit=AT_ONCE)
        assert [len(digests_in(emu, channel)) for channel in announcements.values()] == [1] * GUILDS
        for gid, shard in owner.items():
            runs = {bot.name: digests_run_in_log(bot, gid) for bot in (active, standby, other)}
            ours = (active.name, standby.name) if shard == 0 else (other.name,)
            assert sum(runs[name] for name in ours) == 1 and sum(runs.values()) == 1, (gid, shard, runs)
        assert digests_run_in_log(standby, victim) == 1
        for bot in (standby, other):
            assert not bot.tracebacks(), (bot.name, bot.tracebacks())
    finally:
        await stop_all(standby, other, active)


async def shard_done_except(store: StoreReader, owner: dict[int, int], victim: int) -> bool:
    """Every shard 0 digest other than the interrupted one done, on its first attempt."""
    runs = [await digest_runs(store, gid) for gid, shard in owner.items() if shard == 0 and gid != victim]
    return all(run == [("done", 1)] for run in runs)

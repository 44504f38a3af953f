"""The unmodified bot as one of two shard processes (``[sharding] shards`` of ``shard_count = 2``) against the
emulator's sharded gateway: it receives only its shard's servers, runs scheduled work and outbox deliveries only
for them — leaving the other shard's to the other process — and /status says which shard a server is on."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bot.clock import FixedClock
from bot.config import Settings, ShardingSettings
from bot.sharding import shard_of
from bot.unit_of_work import TimerKind
from emulator import Emulator
from tests.e2e.conftest import SHOP_START, BotRunner, World

UNKNOWN = TimerKind("no-such-kind", "work no cog handles")  # whoever runs it records a failure: visible either way


def text_of(embeds: list[dict[str, Any]]) -> str:
    return "\n".join(f"{f['name']}: {f['value']}" for card in embeds for f in card.get("fields", []))


@pytest.fixture
def shard_runner(runner: BotRunner, world: World, monkeypatch: pytest.MonkeyPatch) -> BotRunner:
    """The runner as the process for the shard that holds the world's server, of two."""
    plain = runner.settings
    mine = shard_of(world.guild.id, 2)

    def settings() -> Settings:
        return plain().model_copy(update={"sharding": ShardingSettings(shards=str(mine), shard_count=2)})

    monkeypatch.setattr(runner, "settings", settings)
    runner.clock = FixedClock(SHOP_START)
    return runner


async def test_a_shard_process_sees_and_runs_only_its_servers(
    emu: Emulator, world: World, shard_runner: BotRunner
) -> None:
    others = emu.create_guilds(6)  # round robin over the two shards
    mine = shard_of(world.guild.id, 2)
    ours = {world.guild.id} | {g.id for g in others if shard_of(g.id, 2) == mine}
    theirs = {g.id for g in others} - ours
    assert theirs, "the guilds fell on both shards"

    bot = await shard_runner.start()
    assert {guild.id for guild in bot.guilds} == ours  # the other shard's servers never reached this process
    assert bot.shard_ids == [mine] and bot.shard_count == 2

    clock = shard_runner.clock
    assert isinstance(clock, FixedClock)
    async with bot.db.transaction() as tx:
        for guild_id in ours | theirs:
            await tx.schedule(guild_id, UNKNOWN, "k", clock.now() - timedelta(minutes=1), clock.now())
            await tx.emit(guild_id, "no.subscriber.topic", clock.now(), {})
    report = await bot.scheduler.run_due(clock.now())
    rows = await bot.db.fetchall("SELECT guild_id, attempts FROM timers WHERE kind = ?", (UNKNOWN.name,))
    attempts = {row[0]: row[1] for row in rows}
    assert {g for g, tried in attempts.items() if tried == 0} == theirs  # left to their process
    assert {g for g, tried in attempts.items() if tried == 1} == ours  # one attempt each: no handler for the kind
    assert len(report.failed) == len(ours)
    shard_runner.expected_errors = len(ours)  # each failure is logged

    # The outbox selects with the same condition: this shard's servers' rows only.
    owned = await bot.db.fetchval(f"SELECT COUNT(*) FROM outbox WHERE {bot.claimant.owned()}")
    assert owned == len(ours)

    status = await emu.actor(world.guild.id, world.moderator.id).slash("status")
    assert status.ephemeral and f"Shard: {mine} of 2 (shards {mine} of 2 here)" in text_of(status.embeds)

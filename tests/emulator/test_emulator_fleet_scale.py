"""The emulator at a simulated fleet's scale: many guilds of many members, served to sharded sessions.

bench/bench_fleet.py asks it for 2,000 guilds of 500 members; these check, at a smaller size, the two things
that make that affordable: members made together share one join time, and a session's resume buffer keeps
each dispatch as the JSON text that was sent (parsed back only on request), not as the payload's dicts.
"""

from __future__ import annotations

import discord

from emulator import Emulator
from emulator.gateway import Frame
from tests.emulator.test_emulator_shards import SHARD_COUNT, ShardedClient, by_shard, running


async def test_members_made_together_share_their_guilds_join_time(emu: Emulator) -> None:
    guilds = emu.create_guilds(3, members_each=4)
    for guild in guilds:
        made = [m for uid, m in guild.members.items() if uid not in (emu.bot.id, guild.owner_id)]
        assert len(made) == 4 and len({m.joined_at for m in made}) == 1
        discord.utils.parse_time(made[0].joined_at)  # still the ISO 8601 Discord sends
    # A member who joins later gets their own time, as before.
    late = emu.state.join_guild(guilds[0].id, emu.state.create_user("late").id)
    assert late.joined_at and late.joined_at >= made[0].joined_at


async def test_sessions_keep_dispatches_as_the_text_sent(emu: Emulator) -> None:
    members_each = 60
    guilds = emu.create_guilds(2 * SHARD_COUNT, members_each=members_each)
    clients = [ShardedClient([shard]) for shard in range(SHARD_COUNT)]  # one shard each, as a fleet of processes
    async with running(*clients):
        await emu.wait_until_shards_connected(SHARD_COUNT)
        for client in clients:
            assert all(len(g.members) == members_each + 2 for g in client.guilds)  # every member cached
        expected = by_shard(emu, guilds)
        for session in emu.gateway.active_sessions:
            assert session.shard is not None and all(isinstance(f, Frame) for f in session.buffer)
            creates = [f for f in session.buffer if f.event == "GUILD_CREATE"]
            assert {int(f.data["id"]) for f in creates} == expected[session.shard.shard_id]
            assert all(f'"s": {f.seq},' in f.text for f in creates)  # the frame's own number, in its text
            assert [f.seq for f in session.buffer] == list(range(1, len(session.buffer) + 1))

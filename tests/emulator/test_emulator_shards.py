"""Sharded gateway sessions, seen through discord.py's own AutoShardedClient.

Two "processes" share one event loop: one client holds shards 0-1 of 4, the other 2-3, as
`python -m bot run --shards 0-1 --shard-count 4` and `--shards 2-3` would. Each must see only the
guilds its shards own, and every guild event, interaction and DM must reach only the right one.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
from collections.abc import AsyncIterator, Sequence

import aiohttp
import discord
import pytest
from discord import app_commands
from jsonschema import Draft202012Validator  # type: ignore[import-untyped, unused-ignore]

from emulator import Emulator, Guild
from emulator.shards import event_guild_id
from emulator.validation import SPEC_FILE
from tests.emulator.conftest import TOKEN, wait_for

SHARD_COUNT = 4


class ShardedClient(discord.AutoShardedClient):
    """A plain AutoShardedClient with one slash command that says which shard answered."""

    def __init__(self, shard_ids: Sequence[int] | None = None, shard_count: int = SHARD_COUNT) -> None:
        intents = discord.Intents.default()
        intents.members = True
        intents.message_content = True
        if shard_ids is None:  # discord.py asks GET /gateway/bot how many shards to run
            super().__init__(intents=intents, guild_ready_timeout=0.05)
        else:
            ids = list(shard_ids)
            super().__init__(intents=intents, shard_ids=ids, shard_count=shard_count, guild_ready_timeout=0.05)
        self.tree = app_commands.CommandTree(self)
        self.messages: list[discord.Message] = []
        self.interactions: list[discord.Interaction] = []
        self.resumed_shards: list[int] = []

        @self.tree.command(name="where", description="Which shard answers")
        async def where(interaction: discord.Interaction) -> None:
            self.interactions.append(interaction)
            guild = interaction.guild
            await interaction.response.send_message(f"shard {guild.shard_id if guild else None}")

    async def setup_hook(self) -> None:
        await self.tree.sync()

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None  # discord.py spaces IDENTIFYs 5 s apart; the emulator has no identify rate limit

    async def on_message(self, message: discord.Message) -> None:
        self.messages.append(message)

    async def on_shard_resumed(self, shard_id: int) -> None:
        self.resumed_shards.append(shard_id)


@contextlib.asynccontextmanager
async def running(*clients: ShardedClient) -> AsyncIterator[None]:
    tasks = [asyncio.create_task(c.start(TOKEN)) for c in clients]
    try:
        await asyncio.wait_for(asyncio.gather(*(c.wait_until_ready() for c in clients)), 15)
        yield
        for task in tasks:
            if task.done():
                task.result()
                raise AssertionError("a client stopped on its own")
    finally:
        for client in clients:
            await client.close()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, 5)


def guilds_covering_every_shard(emu: Emulator, members_each: int = 1) -> list[Guild]:
    """Guilds made together fall round-robin; make more only if the clock split a pair onto one shard."""
    guilds = emu.create_guilds(2 * SHARD_COUNT, members_each=members_each)
    while len({emu.shard_of(g.id, SHARD_COUNT) for g in guilds}) < SHARD_COUNT:
        guilds += emu.create_guilds(1, members_each=members_each, name=f"Extra {len(guilds)}")
    return guilds


def by_shard(emu: Emulator, guilds: list[Guild]) -> dict[int, set[int]]:
    return {s: {g.id for g in guilds if emu.shard_of(g.id, SHARD_COUNT) == s} for s in range(SHARD_COUNT)}


def owned(emu: Emulator, guilds: list[Guild], shard_ids: Sequence[int]) -> set[int]:
    return {g.id for g in guilds if emu.shard_of(g.id, SHARD_COUNT) in shard_ids}


def guild_events_per_session(emu: Emulator, event: str) -> dict[int, set[int]]:
    """Shard id → the guild ids of `event` dispatches that session was sent."""
    seen: dict[int, set[int]] = {}
    for session in emu.gateway.active_sessions:
        assert session.shard is not None
        frames = [f for f in session.buffer if f.event == event]
        ids = (event_guild_id(event, f.data) for f in frames)
        seen[session.shard.shard_id] = {i for i in ids if i is not None}
    return seen


async def test_guild_ids_spread_over_shards_and_helpers_agree(emu: Emulator) -> None:
    guilds = emu.create_guilds(40, members_each=3)
    assert all(len(g.members) == 5 for g in guilds)  # owner, bot and three members
    per_shard = [emu.guilds_of_shard(s, SHARD_COUNT) for s in range(SHARD_COUNT)]
    assert sorted(g.id for shard in per_shard for g in shard) == sorted(g.id for g in guilds)
    # Each guild id has its own millisecond; made back to back they land round-robin (a clock tick may skip one).
    assert len({g.id >> 22 for g in guilds}) == len(guilds)
    assert min(len(shard) for shard in per_shard) >= 5


async def test_gateway_bot_recommends_configured_shards_per_the_spec(emu: Emulator) -> None:
    emu.recommended_shards, emu.max_concurrency = 3, 2
    async with (
        aiohttp.ClientSession() as http,
        http.get(emu.api_base_url + "/gateway/bot", headers={"Authorization": f"Bot {TOKEN}"}) as response,
    ):
        body = await response.json()
    with gzip.open(SPEC_FILE, "rt", encoding="utf-8") as handle:
        schemas = json.load(handle)["components"]["schemas"]
    schema = {**schemas["GatewayBotResponse"], "$defs": schemas}
    schema = json.loads(json.dumps(schema).replace("#/components/schemas/", "#/$defs/"))
    Draft202012Validator(schema).validate(body)
    assert body["shards"] == 3 and body["session_start_limit"]["max_concurrency"] == 2
    assert body["url"] == emu.gateway_url

    guilds = emu.create_guilds(6)
    client = ShardedClient()  # no shard_count: discord.py asks GET /gateway/bot
    async with running(client):
        assert client.shard_count == 3
        assert sorted(s.shard.as_list() for s in emu.gateway.active_sessions if s.shard) == [[0, 3], [1, 3], [2, 3]]
        assert {g.id for g in client.guilds} == {g.id for g in guilds}
        assert all(g.shard_id == emu.shard_of(g.id, 3) for g in client.guilds)


async def test_two_processes_each_see_only_their_shards(emu: Emulator) -> None:
    guilds = guilds_covering_every_shard(emu, members_each=2)
    low, high = ShardedClient([0, 1]), ShardedClient([2, 3])
    async with running(low, high):
        await emu.wait_until_shards_connected(SHARD_COUNT)
        assert {g.id for g in low.guilds} == owned(emu, guilds, [0, 1])
        assert {g.id for g in high.guilds} == owned(emu, guilds, [2, 3])
        cached = [*low.guilds, *high.guilds]
        assert all(g.shard_id == emu.shard_of(g.id, SHARD_COUNT) for g in cached)
        await wait_for(lambda: all(len(g.members) == 4 for g in cached))
        # READY listed only the shard's guilds, and GUILD_CREATE followed only for those.
        assert guild_events_per_session(emu, "GUILD_CREATE") == by_shard(emu, guilds)

        # A guild joined later reaches only its owner.
        late = emu.create_guild(name="Late")
        owner, other = (low, high) if emu.shard_of(late.id, SHARD_COUNT) < 2 else (high, low)
        await wait_for(lambda: owner.get_guild(late.id) is not None)
        assert other.get_guild(late.id) is None


async def test_two_hundred_guilds_split_evenly_between_two_processes(emu: Emulator) -> None:
    guilds = emu.create_guilds(200, members_each=20)
    low, high = ShardedClient([0, 1]), ShardedClient([2, 3])
    async with running(low, high):
        await emu.wait_until_shards_connected(SHARD_COUNT)
        assert {g.id for g in low.guilds} | {g.id for g in high.guilds} == {g.id for g in guilds}
        assert 80 <= len(low.guilds) <= 120  # round-robin ids: 100 each unless the clock skipped ticks
        assert sum(len(g.members) for g in [*low.guilds, *high.guilds]) == 200 * 22


async def test_large_guilds_come_without_members_and_are_chunked_per_shard(emu: Emulator) -> None:
    emu.gateway.large_guilds = True
    big, small = emu.create_guilds(2, members_each=0)
    for n in range(1200):
        emu.state.add_member(big.id, f"fan{n}")
    emu.state.add_member(small.id, "only")
    holders = {emu.shard_of(g.id, SHARD_COUNT) for g in (big, small)}
    client = ShardedClient(sorted(holders))
    async with running(client):  # discord.py is ready only once every chunk arrived
        cached = client.get_guild(big.id)
        assert cached is not None and cached.large and cached.chunked and len(cached.members) == 1202
        small_cached = client.get_guild(small.id)
        assert small_cached is not None and not small_cached.large and len(small_cached.members) == 3
    big_session = next(s for s in emu.gateway.active_sessions if s.receives(big.id))
    guild_creates = (f.data for f in big_session.buffer if f.event == "GUILD_CREATE")
    guild_create = next(d for d in guild_creates if d["id"] == str(big.id))
    assert guild_create["large"] and [m["user"]["id"] for m in guild_create["members"]] == [str(emu.bot.id)]
    chunks = [f.data for f in big_session.buffer if f.event == "GUILD_MEMBERS_CHUNK"]
    assert [(len(c["members"]), c["chunk_index"], c["chunk_count"]) for c in chunks] == [(1000, 0, 2), (202, 1, 2)]


async def test_guild_messages_and_member_joins_reach_only_the_owner(emu: Emulator) -> None:
    guilds = guilds_covering_every_shard(emu)
    low, high = ShardedClient([0, 1]), ShardedClient([2, 3])
    async with running(low, high):
        for guild in guilds:
            author = next(uid for uid in guild.members if uid not in (emu.bot.id, guild.owner_id))
            assert guild.system_channel_id is not None
            emu.post_message(guild.system_channel_id, author, f"hello {guild.id}")
            emu.add_member(guild.id, f"joiner{guild.id}")
        await wait_for(lambda: len(low.messages) + len(high.messages) == len(guilds))
        assert {m.guild.id for m in low.messages if m.guild} == owned(emu, guilds, [0, 1])
        assert {m.guild.id for m in high.messages if m.guild} == owned(emu, guilds, [2, 3])
        assert all(m.content == f"hello {m.guild.id}" for m in low.messages + high.messages if m.guild)
        for event in ("MESSAGE_CREATE", "GUILD_MEMBER_ADD"):
            assert guild_events_per_session(emu, event) == by_shard(emu, guilds), event


async def test_interactions_reach_only_the_owner_and_its_response_works(emu: Emulator) -> None:
    guilds = guilds_covering_every_shard(emu)
    low, high = ShardedClient([0, 1]), ShardedClient([2, 3])
    async with running(low, high):
        await emu.wait_for_commands()
        for guild in guilds:
            member = next(uid for uid in guild.members if uid not in (emu.bot.id, guild.owner_id))
            reply = await emu.actor(guild.id, member).slash("where")
            assert reply.content == f"shard {emu.shard_of(guild.id, SHARD_COUNT)}"
        assert {i.guild_id for i in low.interactions} == owned(emu, guilds, [0, 1])
        assert {i.guild_id for i in high.interactions} == owned(emu, guilds, [2, 3])


async def test_interaction_for_a_guild_no_session_holds_is_refused(emu: Emulator) -> None:
    guilds = guilds_covering_every_shard(emu)
    low = ShardedClient([0, 1])
    async with running(low):
        with pytest.raises(AssertionError, match="not every one of 4 shards"):
            await emu.wait_until_shards_connected(SHARD_COUNT, timeout=0.2)
        orphan = next(g for g in guilds if emu.shard_of(g.id, SHARD_COUNT) >= 2)
        member = next(uid for uid in orphan.members if uid not in (emu.bot.id, orphan.owner_id))
        with pytest.raises(AssertionError, match="no session"):
            await emu.actor(orphan.id, member).slash("where")


async def test_one_shard_drops_and_resumes_without_losing_its_events(emu: Emulator) -> None:
    guilds = guilds_covering_every_shard(emu)
    low, high = ShardedClient([0, 1]), ShardedClient([2, 3])
    async with running(low, high):
        await emu.gateway_disconnect(shard_id=2)
        assert not emu.gateway.shards_connected(SHARD_COUNT)
        guild = next(g for g in guilds if emu.shard_of(g.id, SHARD_COUNT) == 2)
        author = next(uid for uid in guild.members if uid not in (emu.bot.id, guild.owner_id))
        assert guild.system_channel_id is not None
        emu.post_message(guild.system_channel_id, author, "sent while shard 2 was away")
        await emu.wait_until_shards_connected(SHARD_COUNT)
        await wait_for(lambda: any(m.content == "sent while shard 2 was away" for m in high.messages))
        assert high.resumed_shards == [2] and not low.resumed_shards
        assert emu.gateway.resume_count == 1 and emu.gateway.identify_count == SHARD_COUNT


async def test_direct_messages_reach_only_the_client_holding_shard_zero(emu: Emulator) -> None:
    guilds = guilds_covering_every_shard(emu)
    low, high = ShardedClient([0, 1]), ShardedClient([2, 3])
    async with running(low, high):
        guild = next(g for g in guilds if emu.shard_of(g.id, SHARD_COUNT) == 3)
        user = next(uid for uid in guild.members if uid not in (emu.bot.id, guild.owner_id))
        emu.post_message(emu.state.dm_channel(user).id, user, "a private word")
        await wait_for(lambda: any(m.content == "a private word" for m in low.messages))
        assert isinstance(low.messages[-1].channel, discord.DMChannel)
        assert not high.messages
        shard_zero = next(s for s in emu.gateway.active_sessions if s.shard and s.shard.shard_id == 0)
        others = [s for s in emu.gateway.active_sessions if s is not shard_zero]
        assert any(f.event == "MESSAGE_CREATE" for f in shard_zero.buffer)
        assert not any(f.event == "MESSAGE_CREATE" for s in others for f in s.buffer)


async def test_invalid_shard_closes_with_4010(emu: Emulator) -> None:
    client = ShardedClient([SHARD_COUNT])  # shard 4 of 0..3
    with pytest.raises(discord.ConnectionClosed) as closed:
        await asyncio.wait_for(client.start(TOKEN), 10)
    await client.close()
    assert closed.value.code == 4010
    for shard in ([0, 0], [-1, 2], [1], "0,1"):
        assert await identify_close_code(emu, {"shard": shard}) == 4010, shard
    assert not emu.gateway.sessions


async def test_sharding_required_closes_with_4011_when_a_limit_is_set(emu: Emulator) -> None:
    emu.create_guilds(3)
    assert await identify_close_code(emu, {}) is None  # no limit by default
    emu.gateway.max_guilds_per_shard = 2
    assert await identify_close_code(emu, {}) == 4011
    async with (
        aiohttp.ClientSession() as http,
        http.get(emu.api_base_url + "/gateway/bot", headers={"Authorization": f"Bot {TOKEN}"}) as response,
    ):
        assert (await response.json())["shards"] == 2
    # 3 guilds over 2 shards: one shard holds at most one of them and may connect.
    small = next(s for s in range(2) if len(emu.guilds_of_shard(s, 2)) <= 2)
    assert await identify_close_code(emu, {"shard": [small, 2]}) is None


async def identify_close_code(emu: Emulator, extra: dict[str, object]) -> int | None:
    """IDENTIFY over a raw socket; the close code, or None when READY arrived."""
    identify = {"op": 2, "d": {"token": TOKEN, "intents": 1, "properties": {}, **extra}}
    async with aiohttp.ClientSession() as http, http.ws_connect(emu.gateway_url) as ws:
        await ws.receive_json()  # HELLO
        await ws.send_json(identify)
        message = await ws.receive(timeout=5)
        if message.type is aiohttp.WSMsgType.TEXT:
            frame = json.loads(message.data)
            assert frame["t"] == "READY", frame
            if "shard" in extra:
                assert frame["d"]["shard"] == extra["shard"]
            return None
        return ws.close_code

"""Login, gateway handshake, compression, member events, RESUME and INVALID_SESSION."""

from __future__ import annotations

import json
import zlib

import aiohttp
import discord
import pytest

from emulator import Emulator, Guild
from tests.emulator.conftest import EmuBot, running, wait_for


async def test_login_ready_and_guild_create(emu: Emulator, guild: Guild) -> None:
    role = emu.state.create_role(guild.id, "Mods", permissions=discord.Permissions(manage_messages=True).value)
    alice = emu.add_member(guild.id, "alice", roles=[role.id])
    bot = EmuBot()
    async with running(emu, bot):
        assert bot.user is not None and bot.user.id == emu.bot.id
        assert bot.application_id == emu.state.application_id
        cached = bot.get_guild(guild.id)
        assert cached is not None and cached.name == "Brand"
        assert [c.name for c in cached.text_channels] == ["general"]
        assert {r.name for r in cached.roles} >= {"@everyone", "Mods", emu.bot.username}
        await wait_for(lambda: cached.get_member(alice.id) is not None)
        member = cached.get_member(alice.id)
        assert member is not None and member.get_role(role.id) is not None
        assert cached.me.guild_permissions.manage_roles
        # discord.py asked for zlib-stream; every frame must have been compressed.
        session = emu.gateway.active_sessions[0]
        assert session.connection is not None and session.connection.compress
        assert emu.gateway.identify_count == 1


async def test_member_join_and_leave_are_dispatched(emu: Emulator, guild: Guild) -> None:
    bot = EmuBot()
    async with running(emu, bot):
        carol = emu.add_member(guild.id, "carol")
        await wait_for(lambda: ("member_join", carol.id) in [(n, getattr(m, "id", None)) for n, m in bot.events])
        emu.remove_member(guild.id, carol.id)
        await wait_for(lambda: any(n == "member_remove" for n, _ in bot.events))
        cached = bot.get_guild(guild.id)
        assert cached is not None and cached.get_member(carol.id) is None


async def test_bad_token_is_401(emu: Emulator) -> None:
    client = discord.Client(intents=discord.Intents.default())
    with pytest.raises(discord.LoginFailure):
        await client.login("wrong-token")
    await client.close()
    assert emu.requests[-1].status == 401


async def test_plain_text_frames_without_compress_and_heartbeat_before_identify(emu: Emulator) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(emu.gateway_url + "?v=10&encoding=json") as ws:
        hello = await ws.receive()
        assert hello.type is aiohttp.WSMsgType.TEXT
        assert json.loads(hello.data)["op"] == 10
        await ws.send_json({"op": 1, "d": None})
        ack = await ws.receive_json()
        assert ack["op"] == 11


async def test_compressed_frames_are_a_zlib_stream(emu: Emulator, guild: Guild) -> None:
    url = emu.gateway_url + "?v=10&encoding=json&compress=zlib-stream"
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        inflater = zlib.decompressobj()
        frames = []
        await ws.send_json({"op": 2, "d": {"token": "test-token", "intents": 513, "properties": {}}})
        for _ in range(3):  # HELLO, READY, GUILD_CREATE
            msg = await ws.receive()
            assert msg.type is aiohttp.WSMsgType.BINARY and msg.data.endswith(b"\x00\x00\xff\xff")
            frames.append(json.loads(inflater.decompress(msg.data)))
        assert [f.get("t") for f in frames] == [None, "READY", "GUILD_CREATE"]
        assert frames[1]["d"]["resume_gateway_url"] == emu.gateway_url


async def test_identify_with_bad_token_closes_4004(emu: Emulator) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(emu.gateway_url) as ws:
        await ws.receive()
        await ws.send_json({"op": 2, "d": {"token": "nope", "intents": 0, "properties": {}}})
        msg = await ws.receive()
        assert msg.type is aiohttp.WSMsgType.CLOSE and msg.data == 4004


async def test_disconnect_then_resume_replays_missed_events(emu: Emulator, guild: Guild) -> None:
    bot = EmuBot()
    async with running(emu, bot):
        await emu.gateway_disconnect(resume=True)
        dave = emu.add_member(guild.id, "dave")  # sent while the bot is away: must be replayed
        await emu.wait_until_connected(timeout=5)
        await wait_for(lambda: any(n == "resumed" for n, _ in bot.events))
        cached = bot.get_guild(guild.id)
        await wait_for(lambda: cached is not None and cached.get_member(dave.id) is not None)
        assert emu.gateway.resume_count == 1 and emu.gateway.identify_count == 1
        alice = emu.add_member(guild.id, "alice")
        await wait_for(lambda: cached is not None and cached.get_member(alice.id) is not None)


async def test_invalid_session_leads_to_fresh_identify(emu: Emulator, guild: Guild) -> None:
    bot = EmuBot()
    async with running(emu, bot):
        await emu.invalidate_session()
        await emu.wait_until_connected(timeout=5)
        await wait_for(lambda: emu.gateway.identify_count == 2)
        assert emu.gateway.resume_count == 0
        erin = emu.add_member(guild.id, "erin")
        cached = bot.get_guild(guild.id)
        await wait_for(lambda: cached is not None and cached.get_member(erin.id) is not None)

"""/mediakit through the emulator: the ambassador gets their card privately; someone outside the program doesn't."""

from __future__ import annotations

import io

from PIL import Image

from emulator import Emulator
from tests.e2e.conftest import BotRunner, World
from tests.e2e.test_onboarding_e2e import setup_program


async def test_an_ambassador_gets_their_media_kit_privately(emu: Emulator, world: World, runner: BotRunner) -> None:
    await runner.start()
    await setup_program(emu, world)
    gid = world.guild.id
    await emu.actor(gid, world.moderator.id).slash("ambassador add", member=world.alice.id)
    await emu.actor(gid, world.moderator.id).slash("codes record", order_id="POP-1",
                                                   code=await _code(runner, gid, world.alice.id),
                                                   amount="30.00", currency="EUR")  # fmt: skip
    reply = await emu.actor(gid, world.alice.id).slash("mediakit")
    await reply.wait_followup()
    (card,) = reply.followups
    assert card.ephemeral
    image = Image.open(io.BytesIO(card.files["media-kit.png"]))
    assert image.format == "PNG"
    assert "1 order · 30.00 EUR net" in str(card.embeds)

    outsider = await emu.actor(gid, world.bob.id).slash("mediakit")
    assert outsider.ephemeral and "not an ambassador" in outsider.text and not outsider.files


async def _code(runner: BotRunner, guild_id: int, user_id: int) -> str:
    assert runner.bot is not None
    code = await runner.bot.db.fetchval(
        "SELECT code FROM codes WHERE guild_id = ? AND user_id = ? AND status = 'active'", (guild_id, user_id)
    )
    return str(code)

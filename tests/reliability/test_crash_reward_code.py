"""SIGKILL the bot between a redemption's commit and its shop code, and check the member ends up with the code once:
in the store exactly once, and by DM exactly once. The redemption is committed with no bot running (as the Confirm
button would have committed it, with its ``rewards.code_owed`` outbox row); the bot process then starts against the
fake Shopify and is killed from inside the store: while the create is on its way (the store stores nothing), or
right after the store stored it (the bot never hears back). After a restart the code is live and DM'd once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import to_db
from bot.config import ProgramDefaults
from bot.db import Database
from bot.services.engagement import points
from bot.services.program.guild_settings import ensure_guild
from bot.services.rewards import catalogue, redemptions
from bot.services.rewards.catalogue import RewardFields
from bot.services.shop import connection
from emulator import Emulator
from emulator.shop import FakeShopify
from tests.e2e.conftest import SHOP_DOMAIN, World
from tests.reliability.bot_process import BotProcess, until
from tests.reliability.shop_kill import kill_during, shop_config
from tests.reliability.store_reader import StoreReader


async def commit_redemption(target: Path | str, world: World) -> str:
    """What Confirm commits with a shop connected: the points spent, the stock taken, the code owed. Returns it."""
    now = datetime.now(UTC)
    async with await Database.open(target) as db:
        await db.migrate()
        await db.perform(ensure_guild, world.guild.id, ProgramDefaults(), now - timedelta(days=2))
        await db.perform(connection.record_connection, world.guild.id, "shopify", SHOP_DOMAIN, now - timedelta(days=1))
        async with db.transaction() as tx:
            await tx.execute(
                """INSERT INTO members (guild_id, user_id, display_name, status, approved_at, status_changed_at,
                       created_at) VALUES (?, ?, 'bob', 'active', ?, ?, ?)""",
                (world.guild.id, world.bob.id, to_db(now), to_db(now), to_db(now)),
            )
            await points.award(tx, world.guild.id, world.bob.id, 200, "adjustment", "crash:bob", now)
        fields = RewardFields("$10 off", "", None, 100, 5, None, None, "code", code_amount_minor=1000,
                              code_currency="USD", code_days=30)  # fmt: skip
        reward = await db.perform(catalogue.create, world.guild.id, fields, None, now, actor_id=world.moderator.id)
        done = await db.perform(redemptions.redeem, world.guild.id, world.bob.id, reward.id, "crash", now)
        assert done.redemption.code is not None
        return done.redemption.code


def creates(shop: FakeShopify) -> int:
    return sum(1 for body in shop.requests if "discountCodeBasicCreate" in str(body.get("query")))


def code_dms(emu: Emulator, user_id: int, code: str) -> int:
    return sum(1 for m in emu.state.dms_to(user_id) if code in str(m.embeds))


@pytest.mark.timeout(90)
@pytest.mark.parametrize("moment", ["on the way to the store", "after the store stored it"])
async def test_a_reward_code_is_created_and_sent_once_across_a_kill(
    emu: Emulator,
    world: World,
    fake_shop: FakeShopify,
    tmp_path: Path,
    db_target: Path | str,
    store: StoreReader,
    monkeypatch: pytest.MonkeyPatch,
    moment: str,
) -> None:
    code = await commit_redemption(db_target, world)
    bot = BotProcess(emu, tmp_path, database=db_target, extra_config=shop_config(world.guild.id, fake_shop))

    kill_during(monkeypatch, fake_shop, bot, "discountCodeBasicCreate", stored=not moment.startswith("on the way"))
    fulfilled = "SELECT status = 'fulfilled' FROM redemptions"
    try:
        await bot.start(wait=False)
        await until(lambda: not bot.running, "the kill during the shop call", limit=40)
        await bot.wait_dead()
        assert (fake_shop.state.discount_by_code(code) is None) == moment.startswith("on the way")
        assert not await store.scalar(fulfilled)  # the kill left the code owed
        assert code_dms(emu, world.bob.id, code) == 0

        monkeypatch.undo()
        await bot.start()
        await until(lambda: code_dms(emu, world.bob.id, code) > 0, "the code by DM", limit=30)
        assert await store.scalar(fulfilled)
        held = fake_shop.state.discount_by_code(code)
        assert held is not None and held.usage_limit == 1
        assert [d.code for d in fake_shop.discounts.values()] == [code]
        assert creates(fake_shop) == (2 if moment.startswith("on the way") else 1)
        assert code_dms(emu, world.bob.id, code) == 1
        assert await store.scalar("SELECT SUM(points) FROM point_spends") == 100
        assert await store.scalar("SELECT stock FROM rewards") == 4
        assert not bot.tracebacks(), bot.tracebacks()
    finally:
        await bot.stop()

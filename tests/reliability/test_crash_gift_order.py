"""SIGKILL the bot between a gift's commit and its order in the store, and check the store ends up with one order.

The gift is committed with no bot running (as a campaign's close and the member's address would have committed it,
with its ``gifting.order`` outbox row); the bot process then starts against the fake Shopify and is killed at the
moment wanted, from inside the store: while the draft is on its way (the store stores nothing), right after the
store stored the draft, or right after it completed it (the bot never hears back). After a restart the gift is
ordered, and the store holds exactly one draft and one order for it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import to_db
from bot.config import ProgramDefaults
from bot.db import Database
from bot.services.gifting import fulfilment, shipping
from bot.services.program.guild_settings import ensure_guild
from bot.services.shop import connection
from emulator import Emulator
from emulator.shop import FakeShopify
from tests.e2e.conftest import SHOP_DOMAIN, World
from tests.reliability.bot_process import BotProcess, until
from tests.reliability.shop_kill import kill_during, shop_config
from tests.reliability.store_reader import StoreReader


async def commit_gift(target: Path | str, world: World, variant: str) -> None:
    now = datetime.now(UTC)
    async with await Database.open(target) as db:
        await db.migrate()
        await db.perform(ensure_guild, world.guild.id, ProgramDefaults(), now - timedelta(days=2))
        await db.perform(connection.record_connection, world.guild.id, "shopify", SHOP_DOMAIN, now - timedelta(days=1))
        await db.execute(
            "INSERT INTO members (guild_id, user_id, display_name, status, status_changed_at, created_at)"
            " VALUES (?, ?, 'bob', 'active', ?, ?)",
            (world.guild.id, world.bob.id, to_db(now), to_db(now)),
        )
        form = shipping.check_form("Bob Stone", "Rua A 1", "Lisboa", "1000-001", "PT")
        await db.perform(shipping.save_details, world.guild.id, world.bob.id, form, now)
        await db.perform(fulfilment.request_fulfilment, world.guild.id, world.bob.id, "Serum", "campaign:1", now,
                         variant_ref=variant)  # fmt: skip


@pytest.mark.timeout(90)
@pytest.mark.parametrize("moment", ["on the way to the store", "after the draft was stored", "after it was completed"])
async def test_a_gift_order_is_placed_once_across_a_kill(
    emu: Emulator,
    world: World,
    fake_shop: FakeShopify,
    tmp_path: Path,
    db_target: Path | str,
    store: StoreReader,
    monkeypatch: pytest.MonkeyPatch,
    moment: str,
) -> None:
    fake_shop.scopes.add("write_draft_orders")
    variant = fake_shop.add_product("Serum", price="30.00").variants[0].gid
    await commit_gift(db_target, world, variant)
    bot = BotProcess(emu, tmp_path, database=db_target, extra_config=shop_config(world.guild.id, fake_shop))
    target = "draftOrderComplete" if moment == "after it was completed" else "draftOrderCreate"

    kill_during(monkeypatch, fake_shop, bot, target, stored=not moment.startswith("on the way"))
    ordered = "SELECT state = 'ordered' FROM gifts"
    try:
        await bot.start(wait=False)
        await until(lambda: not bot.running, "the kill during the order", limit=40)
        await bot.wait_dead()
        assert len(fake_shop.draft_orders) == (0 if moment.startswith("on the way") else 1)
        assert not await store.scalar(ordered)  # the kill left the order owed

        monkeypatch.undo()
        await bot.start()
        await until(lambda: store.holds(ordered), "the gift ordered in the store", limit=30)
        assert len(fake_shop.draft_orders) == 1 and len(fake_shop.orders) == 1
        assert fake_shop.draft_orders[0].status == "COMPLETED"
        assert await store.scalar("SELECT order_ref FROM gifts") == fake_shop.orders[0].gid
        assert not bot.tracebacks(), bot.tracebacks()
    finally:
        await bot.stop()

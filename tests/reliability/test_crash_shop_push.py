"""SIGKILL the bot between a code's commit and its push to the store, and check the store ends up with the code
once. The code change is committed with no bot running (as the approval would have committed it, with its
``shop.code_push`` outbox row); the bot process then starts against the fake Shopify and is killed at the exact
moment wanted, from inside the store: while the create is on its way (the store stores nothing), or right after
the store stored it (the bot never hears back). After a restart the code is live, created exactly once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import ProgramDefaults
from bot.db import Database
from bot.services.program.guild_settings import ensure_guild
from bot.services.sales import codes
from bot.services.shop import connection
from emulator import Emulator
from emulator.shop import FakeShopify
from tests.e2e.conftest import SHOP_DOMAIN, World
from tests.reliability.bot_process import BotProcess, until
from tests.reliability.shop_kill import kill_during, shop_config
from tests.reliability.store_reader import StoreReader

CODE = "GLOWCRASH1"


async def commit_code(target: Path | str, world: World) -> None:
    """What approving an ambassador commits with a shop connected: the member, the code, the push owed."""
    now = datetime.now(UTC)
    async with await Database.open(target) as db:
        await db.migrate()
        await db.perform(ensure_guild, world.guild.id, ProgramDefaults(), now - timedelta(days=2))
        await db.perform(connection.record_connection, world.guild.id, "shopify", SHOP_DOMAIN, now - timedelta(days=1))
        async with db.transaction() as tx:
            await tx.execute(
                """INSERT INTO members (guild_id, user_id, display_name, status, tier, approved_at, status_changed_at,
                       created_at) VALUES (?, ?, 'bob', 'active', NULL, ?, ?, ?)""",
                (world.guild.id, world.bob.id, now.isoformat(), now.isoformat(), now.isoformat()),
            )
            await codes.set_vanity_code(tx, world.guild.id, world.bob.id, CODE, now)


def creates(shop: FakeShopify) -> int:
    return sum(1 for body in shop.requests if "discountCodeBasicCreate" in str(body.get("query")))


@pytest.mark.timeout(90)
@pytest.mark.parametrize("moment", ["on the way to the store", "after the store stored it"])
async def test_a_code_push_happens_once_across_a_kill(
    emu: Emulator,
    world: World,
    fake_shop: FakeShopify,
    tmp_path: Path,
    db_target: Path | str,
    store: StoreReader,
    monkeypatch: pytest.MonkeyPatch,
    moment: str,
) -> None:
    await commit_code(db_target, world)
    bot = BotProcess(emu, tmp_path, database=db_target, extra_config=shop_config(world.guild.id, fake_shop))

    kill_during(monkeypatch, fake_shop, bot, "discountCodeBasicCreate", stored=not moment.startswith("on the way"))
    pushed = "SELECT state = 'live' FROM shop_codes"
    try:
        await bot.start(wait=False)
        await until(lambda: not bot.running, "the kill during the push", limit=40)
        await bot.wait_dead()
        stored = fake_shop.state.discount_by_code(CODE)
        assert (stored is None) == moment.startswith("on the way")
        assert not await store.scalar(pushed)  # the kill left the push owed

        monkeypatch.undo()
        await bot.start()
        await until(lambda: store.holds(pushed), "the code live in the store", limit=30)
        assert fake_shop.discount_status(CODE) in ("ACTIVE", "SCHEDULED")
        assert [d.code for d in fake_shop.discounts.values()] == [CODE]
        assert creates(fake_shop) == (2 if moment.startswith("on the way") else 1)
        assert not bot.tracebacks(), bot.tracebacks()
    finally:
        await bot.stop()

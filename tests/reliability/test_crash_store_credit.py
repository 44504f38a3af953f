"""A gift card pushed once across a crash (issue 18, Done when): SIGKILL the bot between a store-credit statement's
paid commit and its gift card, and check the ambassador ends up with one gift card in the store and its code by DM
once. The statement is marked paid with no bot running (as the Mark paid form commits it, with its
``payouts.store_credit`` outbox row); the bot process then starts against the fake Shopify and is killed from inside
the store: while ``giftCardCreate`` is on its way (the store stores nothing), or right after the store created the
card (the bot never hears back, so never records it). After a restart the card is found by its code, not made again.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.db import Database
from emulator import Emulator
from emulator.shop import FakeShopify
from tests.e2e.conftest import SHOP_DOMAIN, World
from tests.reliability.bot_process import BotProcess, until
from tests.reliability.shop_kill import kill_during, shop_config
from tests.reliability.store_reader import StoreReader
from tests.unit.store_credit_world import pay, statement_to_pay


async def commit_paid_statement(target: Path | str, world: World) -> int:
    """bob's store-credit statement, marked paid: the credit owed with its code. Returns the statement's id."""
    async with await Database.open(target) as db:
        await db.migrate()
        statement = await statement_to_pay(db, shop=SHOP_DOMAIN, guild_id=world.guild.id, user_id=world.bob.id)
        await pay(db, statement)
        return statement.id


def creates(shop: FakeShopify) -> int:
    return sum(1 for body in shop.requests if "giftCardCreate" in str(body.get("query")))


def code_dms(emu: Emulator, user_id: int, code: str) -> int:
    return sum(1 for m in emu.state.dms_to(user_id) if code in str(m.embeds))


@pytest.mark.timeout(90)
@pytest.mark.parametrize("moment", ["on the way to the store", "after the store created it"])
async def test_a_gift_card_is_pushed_once_and_its_code_sent_once_across_a_kill(
    emu: Emulator,
    world: World,
    fake_shop: FakeShopify,
    tmp_path: Path,
    db_target: Path | str,
    store: StoreReader,
    monkeypatch: pytest.MonkeyPatch,
    moment: str,
) -> None:
    fake_shop.scopes.add("write_gift_cards")
    statement_id = await commit_paid_statement(db_target, world)
    code = str(await store.scalar("SELECT code FROM store_credits"))
    bot = BotProcess(emu, tmp_path, database=db_target, extra_config=shop_config(world.guild.id, fake_shop))

    before_store = moment.startswith("on the way")
    kill_during(monkeypatch, fake_shop, bot, "giftCardCreate", stored=not before_store)
    created = "SELECT status = 'created' FROM store_credits"
    try:
        await bot.start(wait=False)
        await until(lambda: not bot.running, "the kill during the shop call", limit=40)
        await bot.wait_dead()
        assert (fake_shop.gift_card_by_code(code) is None) == before_store
        assert not await store.scalar(created)  # the kill left the credit owed
        assert code_dms(emu, world.bob.id, code) == 0

        monkeypatch.undo()
        await bot.start()
        await until(lambda: code_dms(emu, world.bob.id, code) > 0, "the gift card's code by DM", limit=30)
        assert await store.scalar(created)
        (card,) = fake_shop.gift_cards
        assert card.code == code and str(card.initial_value) == "15.00"
        assert card.note == f"Collective store credit: statement #{statement_id}"
        assert creates(fake_shop) == (2 if before_store else 1)
        assert code_dms(emu, world.bob.id, code) == 1
        assert await store.scalar("SELECT COUNT(*) FROM outbox WHERE topic LIKE 'payouts.store_credit%'") == 2
        assert not bot.tracebacks(), bot.tracebacks()
        assert code not in bot.log_path.read_text(encoding="utf-8"), "the code is never logged"
    finally:
        await bot.stop()

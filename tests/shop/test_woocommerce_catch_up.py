"""The catch-up with a WooCommerce store, through the ledger: an order and its refund seen by webhook and by the
catch-up count once; one only the catch-up sees is recorded with its ambassador."""

from __future__ import annotations

import json
from datetime import timedelta

from bot.clock import to_db
from bot.config import ProgramDefaults
from bot.db import Database
from bot.services.program.guild_settings import ensure_guild
from bot.services.sales import codes, orders
from bot.services.sales.ledger import SalesSettings
from bot.services.sales.payloads import parse_json, woocommerce_order
from bot.services.shop import connection
from bot.shop.catch_up import catch_up
from bot.shop.woocommerce_connector import WooConnector
from emulator.shop import ManualClock
from emulator.shop.woocommerce import FakeWooCommerce
from tests.shop.woo_world import GUILD, START, connector, session, woo, woo_clock

__all__ = ["connector", "session", "woo", "woo_clock"]  # fixtures


async def program(db: Database) -> None:
    await db.perform(ensure_guild, GUILD, ProgramDefaults(), START - timedelta(days=1))
    await db.perform(connection.record_connection, GUILD, "woocommerce", "https://glow.example.com", START)
    async with db.transaction() as tx:
        await tx.execute(
            """INSERT INTO members (guild_id, user_id, display_name, status, approved_at, status_changed_at,
                   created_at) VALUES (?, 7, 'ana', 'active', ?, ?, ?)""",
            (GUILD, to_db(START), to_db(START), to_db(START)),
        )
        await codes.set_vanity_code(tx, GUILD, 7, "GLOWANA", START)


async def sales(db: Database, kind: str) -> int:
    return int(await db.fetchval("SELECT COUNT(*) FROM sales WHERE guild_id = ? AND kind = ?", (GUILD, kind)))


async def test_an_order_and_its_refund_count_once_by_webhook_and_by_catch_up(
    db: Database, woo: FakeWooCommerce, woo_clock: ManualClock, connector: WooConnector
) -> None:
    await program(db)
    woo.add_coupon("glowana", amount="10")
    woo_clock.advance(60)
    webhooked = await woo.place_order(code="GLOWANA", total="45.00")
    delivered = woocommerce_order(parse_json(json.dumps(woo.order_json(webhooked)).encode()))  # its order.created body
    async with db.transaction() as tx:  # what the webhook server records for that delivery
        await orders.record_order(tx, GUILD, delivered, source="webhook", now=woo_clock.now(), settings=SalesSettings())
    woo_clock.advance(60)
    missed = await woo.place_order(code="GLOWANA", total="27.00", email="other@example.com")  # the bot was down
    await woo.refund(webhooked, "9.00", reason="damaged")
    woo_clock.advance(600)

    report = await catch_up(db, connector, GUILD, woo_clock.now())
    assert (report.orders_read, report.sales_recorded, report.duplicates, report.refunds_recorded) == (2, 1, 1, 1)
    assert await sales(db, "sale") == 2 and await sales(db, "refund") == 1
    holder = await db.fetchval("SELECT user_id FROM sales WHERE order_id = ? AND kind = 'sale'", (str(missed.id),))
    assert holder == 7

    again = await catch_up(db, connector, GUILD, woo_clock.now() + timedelta(minutes=5))  # overlaps the last run
    assert again.sales_recorded == 0 and again.refunds_recorded == 0
    assert await sales(db, "sale") == 2 and await sales(db, "refund") == 1

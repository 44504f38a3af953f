"""SIGKILL the bot in the middle of `/codes import`: the database is consistent (integrity, read models equal
SUMs, only whole batches committed) and importing the same file again finishes it, each order once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import ProgramDefaults
from bot.db import Database
from bot.services.program.guild_settings import ensure_guild
from bot.services.sales.csv_import import BATCH_ORDERS
from emulator import Emulator
from emulator.driver import Actor
from tests.e2e.conftest import World
from tests.fixtures.commerce.sales_world import HERE, add_ambassador
from tests.reliability.bot_process import BotProcess, query, scalar, until
from tests.reliability.consistency import assert_consistent
from tests.reliability.store_reader import StoreReader

ORDERS = 12 * BATCH_ORDERS
CODES = ("ALICE10", "BOB10")


def export_csv() -> bytes:
    """A Shopify orders export: one line item per order; every seventh order used no code."""
    header = (HERE / "shopify_orders_export_header.csv").read_text(encoding="utf-8").strip()
    columns = header.split(",")
    at = {name: i for i, name in enumerate(columns)}
    lines = [header]
    for n in range(ORDERS):
        cells = [""] * len(columns)
        cells[at["Name"]] = f"#{100000 + n}"
        cells[at["Id"]] = str(5_000_000_000_000 + n)
        cells[at["Currency"]] = "USD"
        cells[at["Subtotal"]] = "40.00"
        cells[at["Discount Code"]] = "" if n % 7 == 0 else CODES[n % 2]
        cells[at["Discount Amount"]] = "0.00" if n % 7 == 0 else "4.00"
        cells[at["Created at"]] = "2026-11-20 09:00:00 +0000"
        cells[at["Financial Status"]] = "paid"
        cells[at["Lineitem quantity"]] = "1"
        lines.append(",".join(cells))
    return ("\n".join(lines) + "\n").encode()


def attributed_total() -> int:
    return sum(1 for n in range(ORDERS) if n % 7)


async def seed(db_path: Path, world: World) -> None:
    now = datetime.now(UTC)
    async with await Database.open(db_path) as db:
        await db.migrate()
        await db.perform(ensure_guild, world.guild.id, ProgramDefaults(), now - timedelta(days=30))
        for user, code in ((world.alice, CODES[0]), (world.bob, CODES[1])):
            await add_ambassador(db, user.id, user.username, now, code=code, guild_id=world.guild.id)


def committed_import(db_path: Path) -> dict[str, Any] | None:
    rows = query(db_path, "SELECT stats FROM sales_imports WHERE status = 'running'")
    return json.loads(str(rows[0][0])) if rows else None


def summary_of(reply: Any) -> str:
    card = reply.embeds[0] if reply.embeds else {}
    fields = " ".join(f"{f['name']}: {f['value']}" for f in card.get("fields", []))
    return f"{card.get('title', '')} {fields} {card.get('footer', {}).get('text', '')}"


@pytest.mark.timeout(120)
async def test_a_killed_import_leaves_whole_batches_and_a_rerun_finishes(
    emu: Emulator, world: World, tmp_path: Path
) -> None:
    await seed(tmp_path / "collective.db", world)
    data = export_csv()
    bot = BotProcess(emu, tmp_path)
    db = bot.db_path
    await bot.start()
    try:
        mira = Actor(emu, world.guild.id, world.moderator.id, timeout=20)
        first = await mira.slash("codes import", file=("orders.csv", data, "text/csv"))
        assert first.ephemeral

        def two_batches_in() -> bool:
            stats = committed_import(db)
            return stats is not None and stats["orders_read"] >= 2 * BATCH_ORDERS

        await until(two_batches_in, "two committed batches of the import")
        bot.kill()
        await bot.wait_dead()

        stats = committed_import(db)
        assert stats is not None, "the import finished before the kill; make the file bigger"
        orders = int(scalar(db, "SELECT COUNT(*) FROM shop_orders") or 0)
        assert orders < ORDERS, "the import finished before the kill"
        # Only whole batches: the progress row commits with its batch, so the two agree exactly.
        assert orders == stats["orders_read"] and orders % BATCH_ORDERS == 0
        assert scalar(db, "SELECT COUNT(*) FROM sales") == stats["attributed"]
        assert scalar(db, "SELECT COUNT(*) FROM points_ledger WHERE reason = 'sale'") == stats["attributed"]
        async with StoreReader(db) as store:
            await assert_consistent(store)

        await bot.start()
        again = await mira.slash("codes import", file=("orders.csv", data, "text/csv"))

        async def finished() -> bool:
            return summary_of(again).startswith("✅")

        await until(finished, "the re-run to finish", limit=60)
        summary = summary_of(again)
        assert "interrupted import of this file was completed" in summary, summary
        assert f"Duplicates skipped: {orders}" in summary, summary

        assert query(db, "SELECT COUNT(*), COUNT(DISTINCT order_id) FROM shop_orders") == [(ORDERS, ORDERS)]
        expected = attributed_total()
        assert query(db, "SELECT COUNT(*), COUNT(DISTINCT order_id) FROM sales") == [(expected, expected)]
        assert query(db, "SELECT COUNT(*), COUNT(DISTINCT reference) FROM points_ledger") == [(expected, expected)]
        assert query(db, "SELECT status, COUNT(*) FROM sales_imports GROUP BY status") == [("done", 2)]
        async with StoreReader(db) as store:
            await assert_consistent(store)
        assert bot.running, bot.log_tail()
    finally:
        await bot.stop()

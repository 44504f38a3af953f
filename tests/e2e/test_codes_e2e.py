"""Codes and sales through the emulator: /code, a signed Shopify webhook into the running bot's server, the
celebration DM (one per burst), a webhook while Discord is down, /codes import, record, report, payouts."""

from __future__ import annotations

import asyncio
import socket
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr

from bot.app import CollectiveBot
from bot.clock import FixedClock, to_db
from bot.config import Settings, WebhookSettings
from bot.services.sales import codes
from bot.webhooks import sign
from emulator import Emulator
from tests.e2e.conftest import BotRunner, World
from tests.fixtures.commerce.sales_world import HERE, encode, sample, shopify_order

SECRET = "e2e-shopify-secret"
START = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def text_of(embeds: list[dict[str, Any]]) -> str:
    parts: list[str] = []
    for card in embeds:
        parts += [str(card.get("title", "")), str(card.get("description", ""))]
        for field in card.get("fields", []):
            parts += [field["name"], field["value"]]
    return "\n".join(parts)


@pytest.fixture
def hooks_runner(runner: BotRunner, monkeypatch: pytest.MonkeyPatch) -> BotRunner:
    """The ordinary runner, with [webhooks] enabled on a free loopback port and a fixed clock."""
    plain = runner.settings
    port = free_port()

    def settings() -> Settings:
        base = plain()
        hooks = WebhookSettings(enabled=True, host="127.0.0.1", port=port, shopify_secret=SecretStr(SECRET))
        return base.model_copy(update={"webhooks": hooks})

    monkeypatch.setattr(runner, "settings", settings)
    runner.clock = FixedClock(START)
    return runner


async def make_ambassador(bot: CollectiveBot, guild_id: int, user_id: int, name: str) -> str:
    """Onboarding is another capability: make an approved ambassador the way approval leaves one."""
    now = bot.clock.now()
    async with bot.db.transaction() as tx:
        await tx.execute(
            """INSERT INTO members (guild_id, user_id, display_name, status, approved_at, status_changed_at,
                   created_at) VALUES (?, ?, ?, 'active', ?, ?, ?)""",
            (guild_id, user_id, name, to_db(now), to_db(now), to_db(now)),
        )
        issued = await codes.issue_code(tx, guild_id, user_id, name, now)
    return issued.code


async def post_order(bot: CollectiveBot, body: bytes, event_id: str, topic: str = "orders/paid") -> int:
    assert bot.webhook_server is not None
    headers = {
        "X-Shopify-Hmac-Sha256": sign(body, SECRET),
        "X-Shopify-Topic": topic,
        "X-Shopify-Event-Id": event_id,
        "Content-Type": "application/json",
    }
    url = f"http://127.0.0.1:{bot.webhook_server.port}/webhooks/shopify"
    async with aiohttp.ClientSession() as session, session.post(url, data=body, headers=headers) as response:
        return response.status


def order_body(code: str, order_id: int, when: datetime) -> bytes:
    return encode(shopify_order(code, order_id=order_id, when=when.isoformat()))


async def celebrate(bot: CollectiveBot, clock: FixedClock) -> None:
    await asyncio.sleep(0.05)  # the sale_recorded listener runs as its own task
    for _ in range(100):
        if await bot.db.fetchval("SELECT COUNT(*) FROM timers WHERE kind = 'code-celebration'"):
            break
        await asyncio.sleep(0.02)
    clock.advance(timedelta(minutes=3))
    await bot.scheduler.run_due(clock.now())


async def test_approved_ambassador_sees_code_then_sale_and_gets_one_dm(
    emu: Emulator, world: World, hooks_runner: BotRunner
) -> None:
    bot = await hooks_runner.start()
    clock = hooks_runner.clock
    assert isinstance(clock, FixedClock)
    gid = world.guild.id
    code = await make_ambassador(bot, gid, world.alice.id, "alice")
    alice = emu.actor(gid, world.alice.id)

    before = await alice.slash("code")
    assert before.ephemeral and code in text_of(before.embeds) and "No orders yet." in text_of(before.embeds)

    # Five orders in a burst: lowercase code in one of them; every one counts, one DM announces them.
    for i in range(5):
        used = code.lower() if i == 0 else code
        assert await post_order(bot, order_body(used, 9_007_199_254_740_993 + i, clock.now()), f"evt-{i}") == 200
    assert await post_order(bot, order_body(code, 9_007_199_254_740_993, clock.now()), "evt-0") == 200  # replay
    assert await bot.db.fetchval("SELECT COUNT(*) FROM sales") == 5
    assert await bot.db.fetchval("SELECT MIN(order_id) FROM sales") == "9007199254740993"  # 2^53 + 1, exact

    await celebrate(bot, clock)
    dms = [m for m in emu.dms_to(world.alice.id) if m.embeds and "just used" in str(m.embeds[0].get("title"))]
    assert len(dms) == 1 and "5 times" in str(dms[0].embeds[0].get("description"))

    after = await alice.slash("code")
    shown = text_of(after.embeds)
    assert "5 orders · 2,935.00 USD" in shown and "#1 of 1 ambassador with sales" in shown
    assert "net" not in shown.replace("net of discounts", "").replace("net also of refunds", "")  # nothing to net

    # A refund: /code says what is left, not only what was given back.
    refund = sample("shopify_refund_example.json")  # 391.33 USD of merchandise
    refund["order_id"] = 9_007_199_254_740_993
    assert await post_order(bot, encode(refund), "refund-1", topic="refunds/create") == 200
    shown = text_of((await alice.slash("code")).embeds)
    assert "5 orders · 2,935.00 USD · 1 refund −391.33 USD · net **2,543.67 USD**" in shown, shown

    # A stranger to the program is refused politely; moderators see the report.
    bob = await emu.actor(gid, world.bob.id).slash("code")
    assert bob.ephemeral and "/apply" in bob.content
    report = await emu.actor(gid, world.moderator.id).slash("codes report", period="week")
    assert report.ephemeral and f"<@{world.alice.id}>" in text_of(report.embeds) and code in text_of(report.embeds)


async def test_a_webhook_while_discord_is_down_is_still_recorded(
    emu: Emulator, world: World, hooks_runner: BotRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot = await hooks_runner.start()
    clock = hooks_runner.clock
    assert isinstance(clock, FixedClock)
    gid = world.guild.id
    code = await make_ambassador(bot, gid, world.alice.id, "alice")

    # Discord goes away: every REST call fails and the gateway refuses new sessions.
    async def refuse(conn: Any, data: Any) -> None:
        await conn.ws.close(code=1011, message=b"down")

    monkeypatch.setattr(emu.gateway, "_identify", refuse)
    monkeypatch.setattr(emu.gateway, "_resume", refuse)
    outage = emu.faults.server_error("*", r".*", status=503, times=None)
    await emu.gateway_disconnect(resume=False)
    assert not emu.gateway.connected

    assert await post_order(bot, order_body(code, 1001, clock.now()), "outage-1") == 200
    assert await bot.db.fetchval("SELECT COUNT(*) FROM sales WHERE order_id = '1001'") == 1
    assert not emu.gateway.connected

    # Discord comes back: the celebration waiting in the timers table is delivered.
    emu.faults.rules.remove(outage)
    monkeypatch.undo()
    await emu.wait_until_connected(timeout=20)
    await celebrate(bot, clock)
    assert any("just used" in str(m.embeds[0].get("title")) for m in emu.dms_to(world.alice.id) if m.embeds)


async def test_closed_dms_are_respected(emu: Emulator, world: World, hooks_runner: BotRunner) -> None:
    bot = await hooks_runner.start()
    clock = hooks_runner.clock
    assert isinstance(clock, FixedClock)
    code = await make_ambassador(bot, world.guild.id, world.alice.id, "alice")
    emu.faults.close_dms(world.alice.id)
    assert await post_order(bot, order_body(code, 77, clock.now()), "e77") == 200
    await celebrate(bot, clock)
    assert await bot.db.fetchval("SELECT dm_closed FROM members WHERE user_id = ?", (world.alice.id,)) == 1
    assert await post_order(bot, order_body(code, 78, clock.now()), "e78") == 200
    await celebrate(bot, clock)
    assert emu.dms_to(world.alice.id) == []


async def final_summary(reply: Any) -> str:
    """The import edits its deferred reply with progress; wait for the closing summary."""
    for _ in range(250):
        if reply.embeds and str(reply.embeds[0].get("title", "")).startswith("✅"):
            return text_of(reply.embeds)
        await asyncio.sleep(0.02)
    raise AssertionError(f"the import never finished: {text_of(reply.embeds)}")


async def test_moderator_imports_csv_records_a_sale_and_exports_payouts(
    emu: Emulator, world: World, hooks_runner: BotRunner
) -> None:
    bot = await hooks_runner.start()
    gid = world.guild.id
    code = await make_ambassador(bot, gid, world.alice.id, "alice")
    header = (HERE / "shopify_orders_export_header.csv").read_text(encoding="utf-8").strip()
    columns = header.split(",")

    def row(**cells: str) -> str:
        return ",".join(cells.get(name.replace(" ", "_"), "") for name in columns)

    lines = [
        header,
        row(Name="#1", Currency="USD", Subtotal="40.00", Discount_Code=code.lower(), Discount_Amount="4.00",
            Created_at="2026-11-24 09:00:00 +0000", Financial_Status="paid", Lineitem_quantity="1"),
        row(Name="#1", Lineitem_quantity="2"),
        row(Name="#2", Currency="USD", Subtotal="oops", Financial_Status="paid",
            Created_at="2026-11-24 09:00:00 +0000"),
    ]  # fmt: skip
    data = ("\n".join(lines) + "\n").encode()
    mira = emu.actor(gid, world.moderator.id)
    first = await mira.slash("codes import", file=("orders.csv", data, "text/csv"))
    summary = await final_summary(first)
    assert first.ephemeral and "Attributed\n1" in summary and "line 4" in summary
    again = await final_summary(await mira.slash("codes import", file=("orders.csv", data, "text/csv")))
    assert "Attributed\n0" in again and "Duplicates skipped\n1" in again
    assert await bot.db.fetchval("SELECT COUNT(*) FROM sales") == 1

    recorded = await mira.slash("codes record", order_id="POPUP-1", code=code, amount="25.00", currency="usd")
    assert recorded.ephemeral and "Recorded `POPUP-1`" in recorded.content
    twice = await mira.slash("codes record", order_id="POPUP-1", code=code, amount="25.00", currency="usd")
    assert "already recorded" in twice.content

    payouts = await mira.slash("codes payouts", month="2026-11")
    assert payouts.ephemeral
    (csv_bytes,) = payouts.files.values()
    assert f"{world.alice.id},alice,{code},,0,USD,2,65.00,0.00,65.00,0.00" in csv_bytes.decode()

    refused = await emu.actor(gid, world.alice.id).slash("codes report")
    assert refused.ephemeral and "moderators" in refused.content

"""Gifting end to end: the unmodified bot in the Discord emulator, the brand's store as the fake Shopify over HTTP.

A campaign from opt-in to delivered — opt-in (once, however often pressed) → the window closes on its timer → the
chosen member gives shipping details in the private form from their DM → a completed zero-value order in the store
→ the store fulfils it with tracking → delivered → the brief brought up — with a DM at each step; and the same
without a store, through the moderators' fulfilment queue."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from bot.app import CollectiveBot
from bot.clock import FixedClock, to_db
from bot.logging_setup import NO_DEBUG
from emulator import Emulator
from emulator.driver import Actor
from emulator.models import Message
from emulator.shop import FakeShopify
from tests.e2e.conftest import SHOP_START, BotRunner, World, connect_shop
from tests.e2e.test_content_e2e import Channels, button_of, publish_brief
from tests.e2e.test_onboarding_e2e import setup_program, until

ADDRESS = {"name": "Alice Doe", "address": "Torstraße 1\n3. OG", "city": "Berlin", "postal_code": "10119",
           "country": "DE"}  # fmt: skip


def mira(emu: Emulator, world: World) -> Actor:
    return emu.actor(world.guild.id, world.moderator.id)


def texts(emu: Emulator, user_id: int) -> list[str]:
    return [m.content for m in emu.dms_to(user_id)]


async def program(emu: Emulator, world: World, bot: CollectiveBot) -> None:
    await setup_program(emu, world)
    for member in (world.alice, world.bob):
        added = await mira(emu, world).slash("ambassador add", member=member.id)
        assert not added.content.startswith("⚠️"), added.content
    await bot.outbox.drain()


def announcement(emu: Emulator, world: World) -> Message:
    channel = emu.state.channel_named(world.guild.id, "announcements").id
    return next(m for m in reversed(emu.state.messages_in(channel)) if m.embeds and "🎁" in str(m.embeds[0]))


async def give_address(emu: Emulator, world: World, dm: Message) -> None:
    alice = emu.actor(world.guild.id, world.alice.id)
    form = await alice.click(dm, button_of(dm, "Add shipping details"))
    assert form.modal is not None, form.content
    assert "Torstra" not in str(form.modal)  # nothing on file yet
    bad = await alice.submit_modal(form.modal, {**ADDRESS, "country": "Germany"})
    assert bad.ephemeral and bad.content.startswith("⚠️") and "two-letter" in bad.content
    assert bad.message is not None
    again = await alice.click(bad.message, button_of(bad.message, "Fix it"))
    assert again.modal is not None and "Torstra" in str(again.modal)  # what she typed is kept
    saved = await alice.submit_modal(again.modal, ADDRESS)
    assert saved.ephemeral and saved.content.startswith("✅"), saved.content
    assert saved.message is not None
    phone = await alice.click(saved.message, button_of(saved.message, "Add a phone number"))
    assert phone.modal is not None
    added = await alice.submit_modal(phone.modal, {"phone": "+49 30 1234567"})
    assert added.ephemeral and "Phone number saved" in added.content


@pytest.fixture
def gift_shop(runner: BotRunner, world: World, fake_shop: FakeShopify) -> FakeShopify:
    fake_shop.scopes.add("write_draft_orders")
    connect_shop(runner, world, fake_shop)
    runner.clock = FixedClock(SHOP_START)
    return fake_shop


async def test_a_campaign_from_opt_in_to_delivered_through_the_store(
    emu: Emulator, world: World, runner: BotRunner, gift_shop: FakeShopify
) -> None:
    serum = gift_shop.add_product("Vitamin C Serum", price="32.00", variants=["30 ml"])
    bot = await runner.start()
    clock = runner.clock
    assert isinstance(clock, FixedClock)
    await program(emu, world, bot)
    channels = Channels(*(emu.state.channel_named(world.guild.id, n).id for n in
                          ("briefs", "drops", "showcase", "review", "audit-log")))  # fmt: skip
    await publish_brief(emu, world, channels, due="2026-12-20")

    offered = await mira(emu, world).autocomplete("gift create", "product", "serum")
    picked = next(c for c in offered if c["name"].startswith("Vitamin C Serum"))
    assert serum.variants[0].gid in picked["value"]
    briefs = await mira(emu, world).autocomplete("gift create", "brief", "")
    made = await mira(emu, world).slash("gift create", product=picked["value"], quantity=1,
                                        closes="2026-11-27 10:00", brief=briefs[0]["value"])  # fmt: skip
    assert "✅" in made.text and "from the shop" in made.text, made.text
    post = announcement(emu, world)
    assert "Vitamin C Serum" in post.embeds[0]["title"]

    alice, bob = emu.actor(world.guild.id, world.alice.id), emu.actor(world.guild.id, world.bob.id)
    first = await alice.click(post, button_of(post, "I'd love one"))
    again = await alice.click(post, button_of(post, "I'd love one"))
    assert "#1 in line" in first.content and "already in" in again.content
    assert "#2 in line" in (await bob.click(post, button_of(post, "I'd love one"))).content
    assert await bot.db.fetchval("SELECT COUNT(*) FROM gift_optins") == 2

    clock.set(SHOP_START + timedelta(days=3, minutes=1))  # past 2026-11-27 10:00
    await bot.scheduler.run_due(clock.now())
    await bot.outbox.drain()
    assert not announcement(emu, world).components  # the button is gone
    assert any("went to the first" in t for t in texts(emu, world.bob.id))
    dm = next(m for m in emu.dms_to(world.alice.id) if "chosen" in m.content)
    await give_address(emu, world, dm)
    await bot.outbox.drain()

    (order,) = gift_shop.orders
    (draft,) = gift_shop.draft_orders
    assert draft.status == "COMPLETED" and order.total == 0 and order.discount == serum.variants[0].price
    assert order.shipping_address is not None and order.shipping_address["city"] == "Berlin"
    assert order.shipping_address["phone"] is None  # the order went out before the phone number was added
    await until(lambda: any("is ordered" in t for t in texts(emu, world.alice.id)), "the 'ordered' DM")

    gift_shop.fulfil(order, tracking_url="https://track.example/DHL123")
    clock.advance(timedelta(hours=1))
    await bot.scheduler.run_due(clock.now())
    await bot.outbox.drain()
    await until(lambda: any("https://track.example/DHL123" in t for t in texts(emu, world.alice.id)), "shipped DM")

    gift_shop.fulfil(order, delivered=True)
    clock.advance(timedelta(hours=1))
    await bot.scheduler.run_due(clock.now())
    await bot.outbox.drain()
    await until(lambda: any("was delivered" in t for t in texts(emu, world.alice.id)), "the 'delivered' DM")
    delivered = next(t for t in texts(emu, world.alice.id) if "was delivered" in t)
    assert "Winter glow routine" in delivered

    clock.advance(timedelta(days=2, minutes=1))
    await bot.scheduler.run_due(clock.now())
    await bot.outbox.drain()
    await until(lambda: any(t.startswith("⏰ A reminder") for t in texts(emu, world.alice.id)), "the brief reminder")
    steps = [t[0] for t in texts(emu, world.alice.id) if t and t[0] in "🎁📦🚚🎉⏰"]
    assert steps == ["🎁", "📦", "🚚", "🎉", "⏰"], texts(emu, world.alice.id)

    audit = emu.state.channel_named(world.guild.id, "audit-log").id
    assert all("Torstra" not in str(m.embeds) for m in emu.state.messages_in(audit))
    assert gift_shop.orders == [order]  # one order, whatever ran twice


async def test_without_a_store_moderators_ship_from_the_queue(emu: Emulator, world: World, runner: BotRunner) -> None:
    runner.clock = clock = FixedClock(SHOP_START)
    bot = await runner.start()
    await program(emu, world, bot)
    suggested = await mira(emu, world).autocomplete("gift create", "product", "Tote bag")
    assert [c["value"] for c in suggested] == ["Tote bag"]  # no store: what was typed
    zone = await mira(emu, world).slash("settings change", setting="timezone", value="Europe/Berlin")
    assert not zone.content.startswith("⚠️"), zone.content
    made = await mira(emu, world).slash("gift create", product="Tote bag", quantity=5, closes="2026-12-01 10:00")
    assert "/fulfilment" in made.text, made.text
    closes = await bot.db.fetchval("SELECT closes_at FROM gift_campaigns")
    assert closes == to_db(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))  # typed in the server's time (CET), kept in UTC
    alice = emu.actor(world.guild.id, world.alice.id)
    await alice.click(announcement(emu, world), button_of(announcement(emu, world), "I'd love one"))

    form = await alice.slash("shipping")  # before being chosen: the details wait on file
    assert form.modal is not None
    await alice.submit_modal(form.modal, ADDRESS)
    campaign = int(await bot.db.fetchval("SELECT MAX(id) FROM gift_campaigns"))
    closed = await mira(emu, world).slash("gift close", campaign=campaign)
    assert "1 member chosen" in closed.content, closed.content
    await bot.outbox.drain()
    assert any("will go to the shipping details you gave" in t for t in texts(emu, world.alice.id))

    queue = await mira(emu, world).slash("fulfilment list")
    assert queue.ephemeral and queue.message is not None and "Torstraße 1" in str(queue.embeds)
    refused = await emu.actor(world.guild.id, world.bob.id).slash("fulfilment list")
    assert refused.content.startswith("⚠️") and "Torstra" not in refused.text

    export = await mira(emu, world).slash("fulfilment export")
    (csv_text,) = export.files.values()
    assert export.ephemeral and b"Torstra" in csv_text and b"10119" in csv_text

    ship = await mira(emu, world).click(queue.message, button_of(queue.message, "Shipped"))
    assert ship.modal is not None
    bad = await mira(emu, world).submit_modal(ship.modal, {"tracking": "tomorrow"})
    assert bad.content.startswith("⚠️")
    shipped = await mira(emu, world).submit_modal(ship.modal, {"tracking": "https://track.example/T1"})
    assert "marked shipped" in shipped.content
    delivered = await mira(emu, world).click(queue.message, button_of(queue.message, "Delivered"))
    assert "marked delivered" in delivered.content
    await bot.outbox.drain()
    mine = texts(emu, world.alice.id)
    assert any("https://track.example/T1" in t for t in mine) and any("was delivered" in t for t in mine)
    assert (await mira(emu, world).slash("fulfilment list")).content.startswith("Nothing to ship")

    # Retention: 30 days after shipping, the daily job erases the details; the member's gifts stay.
    clock.advance(timedelta(days=31))
    await bot.scheduler.run_due(clock.now())
    assert await bot.db.fetchval("SELECT COUNT(*) FROM shipping_details") == 0
    assert await bot.db.fetchval("SELECT state FROM gifts") == "delivered"


async def test_picked_members_only_and_nothing_private_in_the_logs(
    emu: Emulator, world: World, runner: BotRunner
) -> None:
    runner.clock = FixedClock(SHOP_START)
    seen = Everything()
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.DEBUG)
    root.addHandler(seen)
    try:
        bot = await runner.start()
        await program(emu, world, bot)
        asked = await mira(emu, world).slash("gift create", product="Founders' candle", quantity=1,
                                             closes="2026-11-28 10:00", pick_members=True)  # fmt: skip
        assert asked.ephemeral and asked.message is not None and not announcement_posted(emu, world)
        select = next(c for c in asked.message.custom_ids())
        made = await mira(emu, world).select(asked.message, select, [str(world.alice.id)])
        assert "✅" in made.text, made.text
        post = announcement(emu, world)
        assert "1 member the brand picked" in str(post.embeds)
        refused = await emu.actor(world.guild.id, world.bob.id).click(post, button_of(post, "I'd love one"))
        assert refused.content.startswith("⚠️") and "picked" in refused.content
        alice = emu.actor(world.guild.id, world.alice.id)
        assert "#1 in line" in (await alice.click(post, button_of(post, "I'd love one"))).content
        form = await alice.slash("shipping")
        assert form.modal is not None
        await alice.submit_modal(form.modal, ADDRESS)
        campaign = int(await bot.db.fetchval("SELECT MAX(id) FROM gift_campaigns"))
        await mira(emu, world).slash("gift close", campaign=campaign)
        await bot.outbox.drain()
        await mira(emu, world).slash("fulfilment list")
        forgotten = await mira(emu, world).slash("ambassador remove", member=world.alice.id)
        assert not forgotten.content.startswith("⚠️"), forgotten.content
        forgot = await mira(emu, world).slash("ambassador forget", member=world.alice.id)
        assert not forgot.content.startswith("⚠️"), forgot.content
        assert await bot.db.fetchval("SELECT COUNT(*) FROM shipping_details") == 0
        assert await bot.db.fetchval("SELECT state FROM gifts") == "cancelled"
        await bot.outbox.drain()
    finally:
        root.removeHandler(seen)
        root.setLevel(level)
    assert len(seen.lines) > 100, "everything down to DEBUG was captured"
    assert not [line for line in seen.lines if "Torstra" in line or "10119" in line or "Alice Doe" in line]


class Everything(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith(NO_DEBUG):  # what the bot's logging never lets through (bot/logging_setup)
            self.lines.append(record.getMessage())


def announcement_posted(emu: Emulator, world: World) -> bool:
    channel = emu.state.channel_named(world.guild.id, "announcements").id
    return any(m.embeds and "🎁" in str(m.embeds[0]) for m in emu.state.messages_in(channel))

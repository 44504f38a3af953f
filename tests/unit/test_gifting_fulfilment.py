"""Gifts and shipping details against a real database: the private form's checks, the address making gifts ready,
the queue's steps (shipped with a tracking link, delivered, the brief reminded), the store's side, the fulfilment
CSV, and the two erasures — after the retention window and at ``/ambassador forget``."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import to_db
from bot.config import ProgramDefaults
from bot.db import Database
from bot.errors import Conflict, InvalidInput
from bot.services.content import briefs
from bot.services.gifting import fulfilment, shipping
from bot.services.gifting.addresses import get_details
from bot.services.onboarding import roster
from bot.services.program.guild_settings import ensure_guild

GUILD, MOD, ALICE, BOB = 1, 10, 11, 12
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
FORM = {"name": "Alice Doe", "address": "Torstraße 1\nHinterhaus, 3. OG", "city": "Berlin", "postal_code": "10119",
        "country": "de"}  # fmt: skip


@pytest.fixture
async def program(db: Database) -> Database:
    await db.perform(ensure_guild, GUILD, ProgramDefaults(), NOW - timedelta(days=30))
    stamp = to_db(NOW - timedelta(days=20))
    for user_id in (ALICE, BOB):
        await db.execute(
            "INSERT INTO members (guild_id, user_id, display_name, status, status_changed_at, created_at)"
            " VALUES (?, ?, ?, 'active', ?, ?)",
            (GUILD, user_id, f"user{user_id}", stamp, stamp),
        )
    return db


async def give_address(db: Database, user_id: int, at: datetime = NOW) -> list[fulfilment.Gift]:
    return await db.perform(shipping.save_details, GUILD, user_id, shipping.check_form(**FORM), at)


async def steps(db: Database) -> list[tuple[object, object]]:
    rows = await db.fetchall("SELECT payload FROM outbox WHERE topic = ? ORDER BY id", (fulfilment.TELL,))
    return [(p["user_id"], p["step"]) for p in (json.loads(row[0]) for row in rows)]


def test_the_form_is_checked_field_by_field() -> None:
    checked = shipping.check_form(**FORM)
    assert (checked.line1, checked.line2, checked.country, checked.postal_code) == (
        "Torstraße 1", "Hinterhaus, 3. OG", "DE", "10119",
    )  # fmt: skip
    assert shipping.check_form(**{**FORM, "country": "uk", "postal_code": "sw1a 1aa"}).postal_code == "SW1A 1AA"
    refusals = {
        "name": ("", "fill in the name"),
        "address": ("a\nb\nc", "one or two lines"),
        "city": ("x" * 61, "too long"),
        "postal_code": ("Q", "postal code"),
        "country": ("Germanyy", "two-letter code"),
    }
    for field, (value, words) in refusals.items():
        with pytest.raises(InvalidInput, match=words) as refused:
            shipping.check_form(**{**FORM, field: value})
        assert value not in refused.value.user_message or not value.strip()  # errors never echo what was typed
    with pytest.raises(InvalidInput, match="printed"):
        shipping.check_form(**{**FORM, "city": "Ber\ud800lin"})
    with pytest.raises(InvalidInput, match="name the parcel"):
        shipping.check_form(**{**FORM, "name": "12345"})
    assert shipping.check_phone("") is None
    assert shipping.check_phone("+49 30 1234567") == "+49 30 1234567"
    with pytest.raises(InvalidInput, match="phone"):
        shipping.check_phone("call me maybe")


async def test_a_gift_waits_for_the_address_and_is_ready_once_given(program: Database) -> None:
    gift = await program.perform(fulfilment.request_fulfilment, GUILD, ALICE, "Tote bag", "reward:7", NOW)
    assert gift.state == "awaiting_address" and gift.route == "queue"
    again = await program.perform(fulfilment.request_fulfilment, GUILD, ALICE, "Tote bag", "reward:7", NOW)
    assert again.id == gift.id  # one gift per member and reference
    ready = await give_address(program, ALICE)
    assert [g.id for g in ready] == [gift.id] and ready[0].state == "ready"
    later = await program.perform(fulfilment.request_fulfilment, GUILD, ALICE, "Cap", "reward:8", NOW)
    assert later.state == "ready"  # the address is on file
    assert await steps(program) == [(ALICE, "asked"), (ALICE, "confirmed")]
    await program.perform(shipping.save_phone, GUILD, ALICE, "+49 30 1234567", NOW)
    await give_address(program, ALICE)  # a new address keeps the phone given before
    details = await get_details(program, GUILD, ALICE)
    assert details is not None and details.phone == "+49 30 1234567"


async def test_the_queue_ships_then_delivers_and_the_brief_is_recalled(program: Database) -> None:
    brief = await program.perform(
        briefs.create_draft, GUILD, MOD,
        briefs.BriefFields("Unboxing", "A video", "", NOW + timedelta(days=20), 30), None, NOW,
    )  # fmt: skip
    await program.perform(briefs.publish, GUILD, brief.id, MOD, NOW)
    await program.execute(
        "INSERT INTO gift_campaigns (id, guild_id, product, quantity, opens_at, closes_at, brief_id, status,"
        " created_by, created_at) VALUES (5, ?, 'Serum', 1, ?, ?, ?, 'closed', ?, ?)",
        (GUILD, to_db(NOW), to_db(NOW + timedelta(days=1)), brief.id, MOD, to_db(NOW)),
    )
    await give_address(program, ALICE)
    gift = await program.perform(fulfilment.request_fulfilment, GUILD, ALICE, "Serum", "campaign:5", NOW,
                                 campaign_id=5)  # fmt: skip
    items, waiting = await fulfilment.queue(program, GUILD)
    assert [i.gift.id for i in items] == [gift.id] and waiting == 0
    assert items[0].address is not None and "Torstraße 1" in items[0].address

    for bad in ("not a link", "ftp://x.example/1", "https://exa mple.com/1"):
        with pytest.raises(InvalidInput, match="tracking"):
            await program.perform(fulfilment.mark_shipped, GUILD, gift.id, bad, MOD, NOW)
    unsent = await program.perform(fulfilment.request_fulfilment, GUILD, BOB, "Serum", "campaign:5", NOW)
    with pytest.raises(Conflict, match="on its way"):
        await program.perform(fulfilment.mark_delivered, GUILD, unsent.id, MOD, NOW)  # no address: not sent yet
    shipped = await program.perform(fulfilment.mark_shipped, GUILD, gift.id, "https://track.example/ABC123", MOD, NOW)
    assert shipped.state == "shipped" and shipped.tracking_url == "https://track.example/ABC123"
    with pytest.raises(Conflict, match="not waiting to ship"):
        await program.perform(fulfilment.mark_shipped, GUILD, gift.id, "https://track.example/ABC123", MOD, NOW)
    delivered = await program.perform(fulfilment.mark_delivered, GUILD, gift.id, MOD, NOW + timedelta(days=2))
    assert delivered.state == "delivered"
    with pytest.raises(Conflict):
        await program.perform(fulfilment.mark_delivered, GUILD, gift.id, MOD, NOW)
    assert [s for u, s in await steps(program) if u == ALICE] == ["confirmed", "shipped", "delivered"]
    audited = await program.fetchall("SELECT action, details FROM audit_log WHERE action LIKE 'gift.%' ORDER BY id")
    assert [row["action"] for row in audited] == ["gift.shipped", "gift.delivered"]
    assert all("Torstra" not in row["details"] and "10119" not in row["details"] for row in audited)

    timer = await program.fetchone("SELECT key, due_at, payload FROM timers WHERE kind = 'gift_brief'")
    assert timer is not None and timer["key"] == str(gift.id)
    assert timer["due_at"] == to_db(NOW + timedelta(days=2) + fulfilment.REMIND_AFTER)
    assert await program.perform(fulfilment.remind_of_brief, gift.id, brief.id, NOW)
    await program.execute(
        "INSERT INTO submissions (guild_id, user_id, brief_id, link, link_key, platform, reshare_consent, consent_at,"
        " status, created_at) VALUES (?, ?, ?, 'https://tiktok.com/@a/1', 'k', 'TikTok', 1, ?, 'pending', ?)",
        (GUILD, ALICE, brief.id, to_db(NOW), to_db(NOW)),
    )
    assert not await program.perform(fulfilment.remind_of_brief, gift.id, brief.id, NOW)  # already sent something


async def test_the_stores_side_steps_in_order_and_a_refusal_joins_the_queue(program: Database) -> None:
    await program.execute(
        "INSERT INTO shop_connections (guild_id, platform, shop, connected_at) VALUES (?, 'shopify', 's', ?)",
        (GUILD, to_db(NOW)),
    )
    await give_address(program, ALICE)
    await give_address(program, BOB)
    gift = await program.perform(fulfilment.request_fulfilment, GUILD, ALICE, "Serum", "campaign:1", NOW,
                                 variant_ref="gid://shopify/ProductVariant/1")  # fmt: skip
    orders = await program.fetchall("SELECT key FROM outbox WHERE topic = ?", (fulfilment.ORDER,))
    assert [row[0] for row in orders] == [str(gift.id)]
    assert await program.perform(fulfilment.record_ordered, gift.id, "gid://shopify/Order/1", "#1001", NOW)
    assert not await program.perform(fulfilment.record_ordered, gift.id, "gid://shopify/Order/1", "#1001", NOW)
    assert [g.id for g in await fulfilment.orders_to_follow(program, GUILD)] == [gift.id]
    # the store says delivered straight away: shipped and delivered are both told, in order, once
    after = await program.perform(fulfilment.record_fulfilment, gift.id, shipped=True, delivered=True,
                                  tracking_url="https://track.example/9", now=NOW)  # fmt: skip
    assert after is not None and after.state == "delivered" and after.tracking_url == "https://track.example/9"
    await program.perform(fulfilment.record_fulfilment, gift.id, shipped=True, delivered=True, tracking_url=None,
                          now=NOW)  # fmt: skip
    assert [s for u, s in await steps(program) if u == ALICE] == ["ordered", "shipped", "delivered"]
    assert await fulfilment.orders_to_follow(program, GUILD) == []

    refused = await program.perform(fulfilment.request_fulfilment, GUILD, BOB, "Serum", "campaign:1", NOW,
                                    variant_ref="gid://shopify/ProductVariant/1")  # fmt: skip
    assert await program.perform(fulfilment.record_refused, refused.id, "Variant is out of stock", NOW)
    moved = await fulfilment.get_gift(program, GUILD, refused.id)
    assert moved.route == "queue" and moved.state == "ready" and moved.error == "Variant is out of stock"
    assert [i.gift.id for i in (await fulfilment.queue(program, GUILD))[0]] == [refused.id]


async def test_the_fulfilment_csv_is_the_only_export_with_addresses(program: Database) -> None:
    await give_address(program, ALICE)
    await program.perform(fulfilment.request_fulfilment, GUILD, ALICE, '=HYPERLINK("x")', "reward:1", NOW)
    await program.perform(fulfilment.request_fulfilment, GUILD, BOB, "Cap", "reward:2", NOW)  # no address yet
    text, count = await fulfilment.fulfilment_csv(program, GUILD)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert count == 1 and len(rows) == 1
    assert rows[0]["address_line1"] == "Torstraße 1" and rows[0]["country"] == "DE"
    assert rows[0]["what"].startswith("'=")  # never a formula in the moderator's spreadsheet
    assert "Torstra" not in await roster.export_csv(program, GUILD)  # the roster export carries no address


async def test_details_are_erased_after_the_retention_window(program: Database) -> None:
    await program.execute("UPDATE guild_settings SET shipping_retention_days = 30")
    await give_address(program, ALICE, NOW)
    await give_address(program, BOB, NOW)
    gift = await program.perform(fulfilment.request_fulfilment, GUILD, ALICE, "Serum", "reward:1", NOW)
    shipped_at = NOW + timedelta(days=5)
    await program.perform(fulfilment.mark_shipped, GUILD, gift.id, "https://track.example/1", MOD, shipped_at)
    pending = await program.perform(fulfilment.request_fulfilment, GUILD, BOB, "Cap", "reward:2", NOW)

    # day 34: Alice's gift left 29 days ago, Bob's still waits to ship — both kept
    assert await program.perform(shipping.purge_expired, GUILD, NOW + timedelta(days=34)) == 0
    # day 36: 31 days after Alice's shipped; Bob's gift is still to send, so his stays however old it is
    assert await program.perform(shipping.purge_expired, GUILD, NOW + timedelta(days=36)) == 1
    assert await get_details(program, GUILD, ALICE) is None
    assert await get_details(program, GUILD, BOB) is not None
    await program.perform(fulfilment.mark_shipped, GUILD, pending.id, "https://track.example/2", MOD,
                          NOW + timedelta(days=40))  # fmt: skip
    assert await program.perform(shipping.purge_expired, GUILD, NOW + timedelta(days=69)) == 0
    assert await program.perform(shipping.purge_expired, GUILD, NOW + timedelta(days=71)) == 1
    assert await shipping.holders(program, GUILD) == 0


async def test_forget_erases_the_details_at_once_and_cancels_what_was_not_sent(program: Database) -> None:
    await give_address(program, ALICE)
    await program.perform(shipping.save_phone, GUILD, ALICE, "+49 30 1234567", NOW)
    gift = await program.perform(fulfilment.request_fulfilment, GUILD, ALICE, "Serum", "reward:1", NOW)
    await program.execute("UPDATE members SET status = 'removed' WHERE user_id = ?", (ALICE,))
    await program.perform(roster.forget, GUILD, ALICE, MOD, NOW)
    assert await program.fetchval("SELECT COUNT(*) FROM shipping_details") == 0
    assert (await fulfilment.get_gift(program, GUILD, gift.id)).state == "cancelled"
    dumped = "\n".join(str(tuple(row)) for row in await program.fetchall("SELECT * FROM audit_log"))
    dumped += "\n".join(str(tuple(row)) for row in await program.fetchall("SELECT * FROM outbox"))
    assert "Torstra" not in dumped and "10119" not in dumped and "1234567" not in dumped

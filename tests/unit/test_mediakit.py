"""The media kit: only the member's own measured results, and a card that draws them."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from bot.clock import FixedClock, to_db
from bot.db import Database
from bot.errors import NotAllowed
from bot.mediakit_card import HEIGHT, WIDTH, media_kit_card
from bot.services.engagement.mediakit import media_kit
from bot.services.sales import orders
from bot.services.sales.ledger import SalesSettings
from bot.services.sales.payloads import OrderIn, RefundIn
from tests.fixtures.commerce.sales_world import GUILD, add_ambassador, add_tier

UTC = ZoneInfo("UTC")


async def approved(db: Database, user_id: int, platform: str, n: int, now: datetime) -> None:
    for i in range(n):
        await db.execute(
            """INSERT INTO submissions (guild_id, user_id, link, link_key, platform, reshare_consent, consent_at,
                   status, created_at) VALUES (?, ?, ?, ?, ?, 1, ?, 'approved', ?)""",
            (GUILD, user_id, f"https://x/{user_id}/{platform}/{i}", f"{user_id}{platform}{i}", platform,
             to_db(now), to_db(now)),
        )  # fmt: skip


async def attended(db: Database, user_id: int, now: datetime) -> None:
    async with db.transaction() as tx:
        event_id = await tx.insert(
            """INSERT INTO events (guild_id, title, starts_at, ends_at, location, capacity, points, created_by,
                   created_at, updated_at) VALUES (?, 'Lab tour', ?, ?, 'Glow HQ', 10, 0, 1, ?, ?)""",
            (GUILD, to_db(now), to_db(now + timedelta(hours=2)), to_db(now), to_db(now)),
        )
        await tx.execute(
            """INSERT INTO event_attendance (guild_id, event_id, user_id, source, attended_at)
               VALUES (?, ?, ?, 'checkin', ?)""",
            (GUILD, event_id, user_id, to_db(now)),
        )


async def test_the_kit_holds_only_the_members_own_measured_results(db: Database, clock: FixedClock) -> None:
    joined = clock.now() - timedelta(days=95)
    await add_tier(db, "creator", 0)
    ana = await add_ambassador(db, 1, "Ana", joined, code="ANA10", tier="creator")
    await add_ambassador(db, 2, "Ben", joined, code="BEN10")
    await approved(db, 1, "TikTok", 3, clock.now())
    await approved(db, 1, "Instagram", 1, clock.now())
    await approved(db, 2, "YouTube", 5, clock.now())  # someone else's
    await attended(db, 1, clock.now())
    async with db.transaction() as tx:
        for order_id, code, amount in [("1", "ANA10", 4000), ("2", "ANA10", 2000), ("3", "BEN10", 9900)]:
            order = OrderIn("shopify", order_id, None, (code,), "EUR", amount, 0, clock.now(), True)
            await orders.record_order(tx, GUILD, order, source="webhook", now=clock.now(), settings=SalesSettings())
        refund = RefundIn("shopify", "2", "r1", 500, "EUR", clock.now())
        await orders.record_refund(tx, GUILD, refund, source="webhook", now=clock.now())
    kit = await media_kit(db, GUILD, 1, now=clock.now(), zone=UTC)
    assert kit.display_name == "Ana" and kit.tier_name == "Creator" and kit.days_in_program == 95
    assert kit.content_by_platform == [("TikTok", 3), ("Instagram", 1)] and kit.content_total == 4
    assert [(s.currency, s.orders, s.net_minor) for s in kit.sales] == [("EUR", 2, 5500)]
    assert kit.events_attended == 1
    assert ana.code not in repr(kit)  # the kit shows results, not the code

    image = Image.open(io.BytesIO(media_kit_card(kit, "Glow Skincare")))
    assert image.format == "PNG" and image.size == (WIDTH, HEIGHT)


async def test_no_kit_for_someone_outside_the_program(db: Database, clock: FixedClock) -> None:
    await add_ambassador(db, 1, "Ana", clock.now(), code="ANA10")
    await db.execute("UPDATE members SET status = 'removed' WHERE user_id = 1")
    with pytest.raises(NotAllowed):
        await media_kit(db, GUILD, 1, now=clock.now(), zone=UTC)


async def test_an_empty_kit_still_draws(db: Database, clock: FixedClock) -> None:
    await add_ambassador(db, 1, "Ana", clock.now(), code="ANA10")
    kit = await media_kit(db, GUILD, 1, now=clock.now(), zone=UTC)
    assert kit.sales == [] and kit.content_by_platform == [] and kit.events_attended == 0
    assert media_kit_card(kit, "Glow")[:4] == b"\x89PNG"

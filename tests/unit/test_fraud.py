"""Fraud flags: self-referral, unknown codes, and a code's weekly orders spiking above its usual rate."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import FixedClock
from bot.db import Database
from bot.services.digest.sections import DigestWindow, metric_providers, section_providers
from bot.services.sales import fraud, orders
from bot.services.sales.digest import flags_section, orders_metric, revenue_metric, sales_section
from bot.services.sales.orders import SalesSettings
from bot.services.sales.payloads import OrderIn
from tests.fixtures.commerce.sales_world import GUILD, add_ambassador


async def sale(
    db: Database, code: str, order_id: str, clock: FixedClock, days_ago: float, email: str | None = None
) -> None:
    when = clock.now() - timedelta(days=days_ago)
    item = OrderIn("shopify", order_id, None, (code,), "USD", 1000, 0, when, True, email)
    async with db.transaction() as tx:
        await orders.record_order(tx, GUILD, item, source="webhook", now=when, settings=SalesSettings())


async def test_a_leaked_code_spikes_and_a_steady_one_does_not(db: Database, clock: FixedClock) -> None:
    await add_ambassador(db, 1, "Ann", clock.now(), code="ANN10")
    await add_ambassador(db, 2, "Ben", clock.now(), code="BEN10")
    for week in range(1, 9):  # both sell two a week for eight weeks
        for code in ("ANN10", "BEN10"):
            await sale(db, code, f"{code}-{week}-a", clock, 7 * week + 1)
            await sale(db, code, f"{code}-{week}-b", clock, 7 * week + 2)
    for i in range(12):  # then Ann's code lands on a coupon site
        await sale(db, "ANN10", f"leak-{i}", clock, 1)
    for i in range(3):
        await sale(db, "BEN10", f"ben-{i}", clock, 1)
    flags = await fraud.spikes(db, GUILD, clock.now())
    assert [(f.kind, f.code) for f in flags] == [("spike", "ANN10")]
    assert "12 orders in 7 days; usually 2.0/week" in flags[0].detail


async def test_self_referral_and_unknown_codes_are_flagged(db: Database, clock: FixedClock) -> None:
    await add_ambassador(db, 1, "Ann", clock.now(), code="ANN10", email="ann@example.com")
    await sale(db, "ANN10", "1", clock, 1, email="ANN@example.com")
    await sale(db, "COUPONSITE", "2", clock, 1)
    flags = await fraud.all_flags(db, GUILD, clock.now(), clock.now() - timedelta(days=7))
    assert {(f.kind, f.code) for f in flags} == {("self_referral", "ANN10"), ("unknown_code", "COUPONSITE")}


async def test_digest_sections_and_metrics(db: Database, clock: FixedClock) -> None:
    assert {"sales", "sales_flags"} <= set(section_providers())
    assert {"orders", "revenue"} <= set(metric_providers())
    await add_ambassador(db, 1, "Ann", clock.now(), code="ANN10", email="ann@example.com")
    await sale(db, "ANN10", "1", clock, 1, email="ann@example.com")
    await sale(db, "ANN10", "2", clock, 8)
    await sale(db, "ANN10", "3", clock, 9)
    week = DigestWindow(clock.now() - timedelta(days=7), clock.now(), clock.now().tzinfo)  # type: ignore[arg-type]
    earlier = DigestWindow(week.start - timedelta(days=7), week.start, week.zone)
    (public,) = await sales_section(db, GUILD, week)
    assert public.audience == "public" and "1 order through codes" in public.lines[0] and "-50%" in public.lines[0]
    (private,) = await flags_section(db, GUILD, week)
    assert private.audience == "moderators" and "own email" in private.lines[0]
    assert await orders_metric(db, GUILD, [earlier, week]) == [2, 1]
    assert await revenue_metric(db, GUILD, [earlier, week]) == [20, 10]

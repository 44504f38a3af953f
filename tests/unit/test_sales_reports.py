"""Reports from the ledger: periods in the server's timezone, refunds, commission, rank, payouts CSV."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.clock import FixedClock
from bot.db import Database
from bot.errors import InvalidInput
from bot.services.sales import orders
from bot.services.sales import reports as sales_reports
from bot.services.sales.orders import SalesSettings
from bot.services.sales.payloads import OrderIn, RefundIn
from tests.fixtures.commerce.sales_world import GUILD, add_ambassador, add_tier

BERLIN = ZoneInfo("Europe/Berlin")


async def sale(db: Database, code: str, order_id: str, net: int, when: datetime, currency: str = "EUR") -> None:
    item = OrderIn("generic", order_id, None, (code,), currency, net, 0, when, True)
    async with db.transaction() as tx:
        await orders.record_order(tx, GUILD, item, source="webhook", now=when, settings=SalesSettings())


def test_periods_follow_the_server_timezone() -> None:
    now = datetime(2026, 11, 29, 23, 30, tzinfo=UTC)  # already Monday 00:30 in Berlin
    week = sales_reports.period("week", now, BERLIN)
    assert week.start == datetime(2026, 11, 29, 23, 0, tzinfo=UTC)
    assert sales_reports.period("last_month", now, BERLIN).start == datetime(2026, 9, 30, 22, 0, tzinfo=UTC)
    jan = sales_reports.period("last_month", datetime(2027, 1, 10, tzinfo=UTC), BERLIN)
    assert jan.start.astimezone(BERLIN).date().isoformat() == "2026-12-01"
    assert sales_reports.month_period("2026-12", BERLIN).end.astimezone(BERLIN).month == 1
    with pytest.raises(InvalidInput):
        sales_reports.month_period("December", BERLIN)


def test_commission_rounds_half_up_and_never_goes_negative() -> None:
    assert sales_reports.commission(10005, 1000) == 1001
    assert sales_reports.commission(-500, 1000) == 0
    assert sales_reports.plain_amount(-123456, "USD") == "-1234.56"
    assert sales_reports.plain_amount(5000, "JPY") == "5000"
    assert sales_reports.plain_amount(1234, "KWD") == "1.234"


async def test_my_numbers_report_and_payouts(db: Database, clock: FixedClock) -> None:
    await add_tier(db, "affiliate", 1500)
    await add_ambassador(db, 1, "Ann", clock.now(), code="ANN10", tier="affiliate")
    await add_ambassador(db, 2, "=cmd()", clock.now(), code="BEN10")
    now = clock.now()  # Tuesday 24 Nov
    await sale(db, "ANN10", "1", 10000, now)
    await sale(db, "ANN10", "2", 5000, now - timedelta(days=10))  # earlier this month
    await sale(db, "ANN10", "3", 2000, now - timedelta(days=60))  # September
    await sale(db, "BEN10", "4", 999, now)
    async with db.transaction() as tx:
        await orders.record_refund(
            tx, GUILD, RefundIn("generic", "1", "r", 2500, "EUR", now), source="webhook", now=now
        )

    mine = await sales_reports.my_numbers(db, GUILD, 1, now, ZoneInfo("UTC"))
    week, month, ever = (totals[0] for _, totals in mine.periods)
    assert (week.orders, week.revenue_minor, week.refunds_minor, week.net_minor) == (1, 10000, 2500, 7500)
    assert (month.orders, month.net_minor) == (2, 12500)
    assert (ever.orders, ever.net_minor) == (3, 14500)
    assert mine.commission_bp == 1500 and mine.rank == (1, 2)

    lines = await sales_reports.report(db, GUILD, sales_reports.period("month", now, ZoneInfo("UTC")))
    assert [(line.user_id, line.totals.orders, line.commission_minor) for line in lines] == [(1, 2, 1875), (2, 1, 0)]
    csv_text = sales_reports.payouts_csv(lines).decode()
    assert csv_text.splitlines()[1] == "1,Ann,ANN10,affiliate,1500,EUR,2,150.00,25.00,125.00,18.75"
    assert csv_text.splitlines()[2].startswith("2,'=cmd(),BEN10")  # no spreadsheet formulas


async def test_two_currencies_are_never_added_together(db: Database, clock: FixedClock) -> None:
    await add_ambassador(db, 1, "Ann", clock.now(), code="ANN10")
    await sale(db, "ANN10", "1", 1000, clock.now(), "EUR")
    await sale(db, "ANN10", "2", 500, clock.now(), "JPY")
    totals = await sales_reports.member_totals(db, GUILD, 1, sales_reports.period("all", clock.now(), BERLIN))
    assert sorted((t.currency, t.net_minor) for t in totals) == [("EUR", 1000), ("JPY", 500)]

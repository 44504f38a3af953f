"""The catch-up against the fake Shopify over HTTP, into a real migrated database, beside the real webhook server.

Every order here is placed in the fake shop, which delivers its signed webhooks to Collective's own
``WebhookServer`` when the test subscribes it (or fails to, when the bot is "down"), and serves it back through
the ``orders`` query the catch-up reads. Nothing is patched: the shop's clock is a manual one and the client's
throttle waits advance it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from graphql import parse
from pydantic import SecretStr

from bot.clock import FixedClock, from_db, to_db
from bot.config import ShopifyConnection, WebhookSettings
from bot.db import Database, in_transaction
from bot.services.sales.payloads import parse_json, shopify_order, shopify_refund
from bot.services.shop.connection import PROBLEM, get_connection, record_connection, record_problem
from bot.shop.catch_up import OVERLAP, SETTLE, CatchUpRuns, catch_up
from bot.shop.errors import ShopError, ShopUnavailable
from bot.shop.shopify import ShopifyClient
from bot.shop.shopify_connector import ShopifyConnector
from bot.shop.shopify_orders import ORDERS_QUERY, orders_changed
from bot.webhooks import WebhookServer
from emulator.shop import FakeShopify, ManualClock
from emulator.shop.schema import MAX_SINGLE_QUERY_COST, estimate_cost
from emulator.shop.state import Order
from tests.fixtures.commerce.sales_world import add_ambassador

GUILD = 123456789012345678
TOKEN = "shpat_catch_up_token"
DOMAIN = "glow-skincare.myshopify.com"
START = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # "now" for the bot; the shop's clock starts here too
CONNECTED = START - timedelta(days=3)  # the shop was connected three days ago: its backfill is done
POINTS_PER_SALE = 20  # the program defaults'


@dataclass
class World:
    shop: FakeShopify
    clock: ManualClock
    db: Database
    connector: ShopifyConnector
    server: WebhookServer
    waited: list[float] = field(default_factory=list)

    @property
    def hook_url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}/webhooks/shopify/{GUILD}"

    async def subscribe(self) -> None:
        """The shop delivers its webhooks to the bot (as `shop webhooks` sets it up)."""
        await self.connector.ensure_webhooks(self.hook_url)

    def bot_down(self) -> None:
        """Deliveries fail from now on: the bot is not listening (the address refuses connections)."""
        for sub in self.shop.state.webhooks.values():
            sub.callback_url = "http://127.0.0.1:9/webhooks/shopify"

    async def bot_back_and_shopify_retries(self) -> list[int]:
        """The bot listens again and Shopify retries each failed delivery: returns the answers."""
        statuses = []
        async with aiohttp.ClientSession() as session:
            for delivery in [d for d in self.shop.deliveries if d.status is None]:
                async with session.post(self.hook_url, data=delivery.body, headers=delivery.headers) as resp:
                    statuses.append(resp.status)
        return statuses

    async def order(self, code: str | None = "ANNA10", *, minutes_ago: float = 30, **kwargs: Any) -> Order:
        return await self.shop.place_order(code=code, at=START - timedelta(minutes=minutes_ago), **kwargs)

    async def run(self, now: datetime = START, **kwargs: Any) -> Any:
        return await catch_up(self.db, self.connector, GUILD, now, **kwargs)


class GuardedClient(ShopifyClient):
    """The bot's client, refusing to call the shop while the caller holds a database transaction."""

    async def execute(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        assert not in_transaction(), "a shop call inside a database transaction"
        return await super().execute(query, variables)


async def make_world(db: Database, **shop_options: Any) -> AsyncIterator[World]:
    clock = ManualClock(START)
    shop = FakeShopify(token=TOKEN, domain=DOMAIN, clock=clock, **shop_options)
    await shop.start()
    shop.add_discount("ANNA10", percentage=0.1)
    shop.add_discount("BEN5", percentage=0.05)
    await add_ambassador(db, 1, "anna", CONNECTED, code="ANNA10", guild_id=GUILD)
    await add_ambassador(db, 2, "ben", CONNECTED, code="BEN5", guild_id=GUILD)
    async with db.transaction() as tx:
        await record_connection(tx, GUILD, "shopify", DOMAIN, CONNECTED)
    await db.execute(  # the backfill ran when the shop was connected
        "UPDATE shop_connections SET orders_cursor = ?, backfill_done_at = ? WHERE guild_id = ?",
        (to_db(START - timedelta(hours=2)), to_db(CONNECTED), GUILD),
    )
    server = WebhookServer(db, WebhookSettings(shopify_secret=SecretStr(shop.client_secret)), FixedClock(START))
    await server.start(host="127.0.0.1", port=0)
    waited: list[float] = []

    async def sleep(seconds: float) -> None:  # a throttle wait moves the shop's clock instead of the test's
        waited.append(seconds)
        clock.advance(seconds)

    config = ShopifyConnection(shop_domain=DOMAIN, access_token=SecretStr(TOKEN), admin_url=shop.url)
    async with aiohttp.ClientSession() as session:
        connector = ShopifyConnector(GuardedClient(session, config, sleep=sleep))
        try:
            yield World(shop, clock, db, connector, server, waited)
        finally:
            await server.stop()
            await shop.stop()


@pytest.fixture
async def world(db: Database) -> AsyncIterator[World]:
    async for made in make_world(db):
        yield made


async def ledger(db: Database) -> dict[str, Any]:
    """What the ledger holds, in the figures a double would change."""
    row = await db.fetchone(
        """SELECT (SELECT COUNT(*) FROM sales WHERE kind = 'sale') AS sales,
                  (SELECT COUNT(*) FROM sales WHERE kind = 'refund') AS refunds,
                  (SELECT COALESCE(SUM(net_minor), 0) FROM sales) AS net,
                  (SELECT COUNT(*) FROM points_ledger) AS points_rows,
                  (SELECT COALESCE(SUM(points), 0) FROM points_ledger) AS points,
                  (SELECT COUNT(*) FROM shop_orders) AS orders,
                  (SELECT COALESCE(SUM(value), 0) FROM sales_totals) AS totals"""
    )
    assert row is not None
    return dict(row)


async def cursor(db: Database) -> datetime:
    connection = await get_connection(db, GUILD)
    assert connection is not None and connection.orders_cursor is not None
    return connection.orders_cursor


# -- counted once, whichever way it came ------------------------------------------------------------------


async def test_an_order_and_its_refund_received_by_webhook_and_read_by_the_catch_up_count_once(world: World) -> None:
    await world.subscribe()
    anna = await world.order("ANNA10", total="90.00", minutes_ago=40)
    await world.order("BEN5", total="38.00", minutes_ago=35)
    await world.shop.refund(anna, "30.00", at=START - timedelta(minutes=20))
    assert {d.status for d in world.shop.deliveries} == {200}
    by_webhook = await ledger(world.db)
    assert by_webhook["sales"] == 2 and by_webhook["refunds"] == 1 and by_webhook["orders"] == 2

    report = await world.run()

    assert report.orders_read == 2 and report.duplicates == 2
    assert report.sales_recorded == 0 and report.refunds_recorded == 0
    assert await ledger(world.db) == by_webhook  # sale rows, points, shop_orders, read models: unchanged


async def test_an_order_only_the_catch_up_sees_is_recorded_for_its_codes_ambassador_as_its_webhook_would_be(
    world: World,
) -> None:
    await world.subscribe()
    world.bot_down()
    placed = await world.order("anna10", total="90.00", minutes_ago=50, email="buyer@example.com")
    await world.shop.refund(placed, "25.00", at=START - timedelta(minutes=45))
    await world.order(None, total="15.00", minutes_ago=40)  # no code: stored, attributed to no one
    assert await ledger(world.db) == dict.fromkeys(await ledger(world.db), 0)  # every delivery failed

    report = await world.run()

    assert (report.orders_read, report.sales_recorded, report.refunds_recorded) == (2, 1, 1)
    assert report.not_attributed == 1
    sale = await world.db.fetchone("SELECT * FROM sales WHERE kind = 'sale'")
    assert sale is not None and (sale["user_id"], sale["code"], sale["order_id"]) == (1, "ANNA10", str(placed.id))
    # The values the webhook parser makes of the very same order and refund (what Shopify failed to deliver):
    created = next(d for d in world.shop.deliveries if d.topic == "ORDERS_PAID")
    refunded = next(d for d in world.shop.deliveries if d.topic == "REFUNDS_CREATE")
    webhook = shopify_order(parse_json(created.body))
    refund = shopify_refund(parse_json(refunded.body))
    assert (sale["gross_minor"], sale["discount_minor"], sale["net_minor"]) == (
        webhook.gross_minor,
        webhook.discount_minor,
        webhook.net_minor,
    )
    assert sale["email_hash"] is not None
    back = await world.db.fetchone("SELECT * FROM sales WHERE kind = 'refund'")
    assert back is not None and back["entry_ref"] == refund.refund_id and -back["net_minor"] == refund.amount_minor
    points = await world.db.fetchval("SELECT SUM(points) FROM points_ledger WHERE user_id = 1")
    assert 0 < points < POINTS_PER_SALE  # the sale's points, less the refunded share

    # Shopify retries the failed deliveries once the bot listens again: all duplicates now.
    before = await ledger(world.db)
    assert set(await world.bot_back_and_shopify_retries()) == {200}
    assert await ledger(world.db) == before


async def test_the_catch_up_reads_an_order_as_its_webhook_body_says(world: World) -> None:
    await world.subscribe()
    placed = [
        await world.order("ANNA10", total="90.00", minutes_ago=50, email="a@example.com"),
        await world.order("ben5", total="19.00", minutes_ago=49),
        await world.order(None, total="15.00", minutes_ago=48, currency="EUR"),
        await world.order("ANNA10", total="12.00", minutes_ago=47, paid=False),
        await world.order("ANNA10", total="5000", minutes_ago=46, currency="JPY", discount="500"),
    ]
    await world.shop.refund(placed[0], "10.00", at=START - timedelta(minutes=40))
    pages = [page async for page in orders_changed(world.connector.client, START - timedelta(hours=1), START)]
    read = {order.order_id: order for page in pages for order in page.orders}
    assert len(read) == len(placed)
    created = {json.loads(d.body)["id"]: d.body for d in world.shop.deliveries if d.topic == "ORDERS_CREATE"}
    for order in placed:
        body = created[order.id]
        webhook = shopify_order(parse_json(body))
        caught = read[str(order.id)]
        assert caught.refunds == () or order.refunds
        assert replace(caught, refunds=()) == webhook
    refund_body = next(d.body for d in world.shop.deliveries if d.topic == "REFUNDS_CREATE")
    assert read[str(placed[0].id)].refunds == (shopify_refund(parse_json(refund_body)),)


# -- the cursor, pages, resuming ---------------------------------------------------------------------------


async def test_the_cursor_advances_and_an_overlapping_rerun_changes_nothing(world: World) -> None:
    for minutes in (9, 7, 5):  # all inside the next run's overlap
        await world.order(minutes_ago=minutes)
    await world.order("NOPE15", minutes_ago=4)  # a code no ambassador holds: counted once among unknown codes
    first = await world.run()
    assert first.sales_recorded == 3 and first.finished and not first.backfill
    assert await cursor(world.db) == START - SETTLE
    assert first.since == START - timedelta(hours=2) - OVERLAP
    recorded = await ledger(world.db)

    later = START + timedelta(minutes=5)
    second = await world.run(later)
    assert second.since == START - SETTLE - OVERLAP  # the overlap re-reads what the first run read last
    assert (second.orders_read, second.duplicates, second.sales_recorded) == (4, 3, 0)
    assert await ledger(world.db) == recorded
    assert await world.db.fetchval("SELECT orders FROM unknown_codes WHERE code = 'NOPE15'") == 1
    assert await cursor(world.db) == later - SETTLE
    connection = await get_connection(world.db, GUILD)
    assert connection is not None and connection.caught_up_at == later


async def test_an_order_placed_during_the_settle_delay_waits_for_the_next_run(world: World) -> None:
    await world.order(minutes_ago=1)  # inside the last two minutes
    assert (await world.run()).orders_read == 0
    assert (await world.run(START + timedelta(minutes=5))).sales_recorded == 1


async def place_many(world: World, count: int) -> None:
    for i in range(count):
        await world.order("ANNA10" if i % 2 else "BEN5", total="20.00", minutes_ago=100 - i * 0.1)


async def test_pages_hold_250_orders_read_in_requests_the_shop_accepts(world: World) -> None:
    await place_many(world, 600)
    sizes: list[int] = []
    seen: list[tuple[int, int, datetime]] = []

    def progress(pages: int, orders: int, reached: datetime) -> None:
        seen.append((pages, orders, reached))

    report = await world.run(progress=progress)

    assert [orders for _, orders, _ in seen] == [250, 500, 600]
    sizes = [b - a for a, b in zip([0] + [o for _, o, _ in seen], [o for _, o, _ in seen], strict=False)]
    assert sizes == [250, 250, 100] and report.pages == 3
    assert seen[-1][2] == START - SETTLE and seen[0][2] < seen[1][2] < seen[2][2]
    assert report.sales_recorded == 600 and (await ledger(world.db))["sales"] == 600
    # Each request stays under Shopify's cost limit; one of 250 orders with the same fields would not.
    requests = [r for r in world.shop.requests if "OrdersChanged" in r["query"]]
    operation = parse(ORDERS_QUERY).definitions[0]
    for request in requests:
        assert estimate_cost(world.shop.schema, operation, {}, request["variables"]) <= MAX_SINGLE_QUERY_COST  # type: ignore[arg-type]
    assert estimate_cost(world.shop.schema, operation, {}, {"first": 250}) > MAX_SINGLE_QUERY_COST  # type: ignore[arg-type]
    assert len({r["variables"]["after"] for r in requests}) == 12  # 600 / 50 (some sent again after THROTTLED)


async def test_the_shop_going_down_after_the_first_page_resumes_without_doubles(world: World) -> None:
    await place_many(world, 600)

    def go_down_after_the_first_page(pages: int, orders: int, reached: datetime) -> None:
        if pages == 1:
            world.shop.faults.fail(503, times=None)  # every request from now on

    with pytest.raises(ShopUnavailable):
        await world.run(progress=go_down_after_the_first_page)
    assert (await ledger(world.db))["sales"] == 250  # the first page committed, with its cursor
    first_reached = await cursor(world.db)
    assert START - timedelta(minutes=100) < first_reached < START - timedelta(minutes=70)

    world.shop.faults.clear()
    report = await world.run(START + timedelta(minutes=1))
    assert report.sales_recorded == 350 and report.duplicates > 0  # the overlap re-read the end of page one
    after = await ledger(world.db)
    assert (after["sales"], after["orders"], after["points_rows"]) == (600, 600, 600)
    assert after["points"] == 600 * POINTS_PER_SALE


async def test_a_crash_after_a_committed_page_resumes_without_doubles(world: World) -> None:
    await place_many(world, 600)

    def crash_after_the_second_page(pages: int, orders: int, reached: datetime) -> None:
        if pages == 2:
            raise RuntimeError("the process died here")

    with pytest.raises(RuntimeError):
        await world.run(progress=crash_after_the_second_page)
    assert (await ledger(world.db))["sales"] == 500

    report = await world.run()
    assert report.orders_read < 600  # resumed from the committed cursor, not from the start
    after = await ledger(world.db)
    assert (after["sales"], after["orders"], after["points_rows"]) == (600, 600, 600)


async def test_the_shops_throttling_is_waited_out(db: Database) -> None:
    async for world in make_world(db, maximum_available=1000, restore_rate=50):
        await place_many(world, 300)
        report = await world.run()
        assert report.sales_recorded == 300
        assert world.waited and all(w > 0 for w in world.waited)  # it waited for the bucket instead of failing
        throttled = [r for r in world.shop.requests if "OrdersChanged" in r["query"]]
        assert len(throttled) > 6  # six requests of 50, plus the ones answered THROTTLED


# -- refusals and failures ---------------------------------------------------------------------------------


async def test_a_malformed_order_is_refused_with_its_name_and_nothing_is_written(world: World) -> None:
    await world.order(minutes_ago=30)
    await world.order(minutes_ago=29)
    bad = await world.order(None, minutes_ago=28, currency="JPY", total="50.50")  # yen have no decimals
    before = await cursor(world.db)

    with pytest.raises(ShopError, match=rf"order {bad.name} .*JPY"):
        await world.run()

    assert await ledger(world.db) == dict.fromkeys(await ledger(world.db), 0)  # not even the two good ones
    assert await cursor(world.db) == before


async def test_failures_become_the_connections_problem_told_once_and_cleared_by_a_good_run(world: World) -> None:
    runs = CatchUpRuns(world.db)
    await world.order(minutes_ago=30)

    world.shop.faults.fail(503, times=1)
    assert await runs.run(world.connector, GUILD, START) is None  # unavailable: logged, retried next time
    connection = await get_connection(world.db, GUILD)
    assert connection is not None and connection.problem is None

    world.shop.faults.fail(401, times=2)
    assert await runs.run(world.connector, GUILD, START) is None
    assert await runs.run(world.connector, GUILD, START) is None
    connection = await get_connection(world.db, GUILD)
    assert connection is not None and connection.problem is not None and "401" in connection.problem
    told = await world.db.fetchval("SELECT COUNT(*) FROM outbox WHERE topic = ?", (PROBLEM,))
    assert told == 1  # moderators hear it once, however many runs fail the same way
    assert TOKEN not in connection.problem

    report = await runs.run(world.connector, GUILD, START)
    assert report is not None and report.sales_recorded == 1
    connection = await get_connection(world.db, GUILD)
    assert connection is not None and connection.problem is None


async def test_a_problem_recorded_by_something_else_is_not_the_catch_ups_to_clear(world: World) -> None:
    async with world.db.transaction() as tx:
        await record_problem(tx, GUILD, "the app lacks write_discounts", START)
    assert await CatchUpRuns(world.db).run(world.connector, GUILD, START) is not None
    connection = await get_connection(world.db, GUILD)
    assert connection is not None and connection.problem == "the app lacks write_discounts"


async def test_a_missing_read_orders_scope_is_the_connections_problem(db: Database) -> None:
    async for world in make_world(db, scopes={"write_discounts"}):
        assert await CatchUpRuns(world.db).run(world.connector, GUILD, START) is None
        connection = await get_connection(world.db, GUILD)
        assert connection is not None and connection.problem is not None and "read_orders" in connection.problem


# -- the backfill ---------------------------------------------------------------------------------------------


async def test_a_new_connection_backfills_60_days_and_no_further(world: World) -> None:
    await world.db.execute("DELETE FROM shop_connections")
    async with world.db.transaction() as tx:
        assert await record_connection(tx, GUILD, "shopify", DOMAIN, START)  # a new shop this start
    await world.order(minutes_ago=61 * 24 * 60)  # older than Shopify serves without read_all_orders
    await world.order(minutes_ago=59 * 24 * 60)
    await world.order(minutes_ago=60)

    report = await world.run(START + timedelta(seconds=30))

    assert report.backfill and report.finished and report.orders_read == 2 and report.sales_recorded == 2
    assert report.since >= START + timedelta(seconds=30) - timedelta(days=60) - timedelta(seconds=1)
    query = next(r for r in world.shop.requests if "OrdersChanged" in r["query"])["variables"]["query"]
    bound = datetime.fromisoformat(query.split("'")[1].replace("Z", "+00:00"))
    assert bound >= START - timedelta(days=60)  # older orders are not even asked for
    connection = await get_connection(world.db, GUILD)
    assert connection is not None and connection.backfill_done_at is not None
    assert not (await world.run(START + timedelta(hours=1))).backfill


async def test_a_cursor_older_than_60_days_says_what_cannot_be_read(world: World) -> None:
    await world.db.execute(
        "UPDATE shop_connections SET orders_cursor = ? WHERE guild_id = ?", (to_db(START - timedelta(days=90)), GUILD)
    )
    report = await world.run()
    assert report.unreadable_before is not None and report.since == START - timedelta(days=60)
    raw = await world.db.fetchval("SELECT orders_cursor FROM shop_connections WHERE guild_id = ?", (GUILD,))
    assert from_db(raw) == START - SETTLE

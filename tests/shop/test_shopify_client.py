"""The bot's Shopify client and `shop check`, against the fake shop over HTTP (never a patched client)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from pydantic import SecretStr

from bot.__main__ import main
from bot.config import ShopifyConnection
from bot.shop.check import CONNECTION_QUERY, check_shop
from bot.shop.errors import ShopAuthError, ShopUnavailable, ShopUserErrors
from bot.shop.shopify import ShopifyClient, user_errors
from emulator.shop import FakeShopify, ManualClock

GUILD = 123456789012345678
TOKEN = "shpat_fake_token_value"
DOMAIN = "glow-skincare.myshopify.com"
SCOPES = {"write_discounts", "read_orders", "read_products"}


@pytest.fixture
async def shop() -> AsyncIterator[FakeShopify]:
    fake = FakeShopify(token=TOKEN, domain=DOMAIN, name="Glow Skincare", scopes=SCOPES, clock=ManualClock())
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as http:
        yield http


def connection(shop: FakeShopify, token: str | None = TOKEN) -> ShopifyConnection:
    return ShopifyConnection(shop_domain=DOMAIN, access_token=SecretStr(token) if token else None, admin_url=shop.url)


async def test_a_healthy_connection_names_the_shop_and_its_scopes(
    shop: FakeShopify, session: aiohttp.ClientSession
) -> None:
    result = await check_shop(session, GUILD, connection(shop))
    assert result.ok, result.describe()
    assert result.shop_name == "Glow Skincare" and set(result.scopes) == SCOPES
    assert "OK" in result.describe()
    # Store credit's scope is optional: named when missing, without failing the check.
    assert result.ok and "write_gift_cards (payouts in store credit" in result.describe()
    shop.scopes.add("write_gift_cards")
    assert "write_gift_cards (" not in (await check_shop(session, GUILD, connection(shop))).describe()
    # The query the check sends is one Shopify's schema accepts (the fake validates it).
    assert shop.requests and shop.requests[-1]["query"] == CONNECTION_QUERY


async def test_a_wrong_token_is_explained_without_repeating_it(
    shop: FakeShopify, session: aiohttp.ClientSession
) -> None:
    result = await check_shop(session, GUILD, connection(shop, token="shpat_wrong_one"))
    assert not result.ok and result.problem is not None
    assert "401" in result.problem and "token" in result.problem
    assert "shpat_wrong_one" not in result.describe() and TOKEN not in result.describe()


async def test_a_missing_scope_is_named(session: aiohttp.ClientSession) -> None:
    fake = FakeShopify(token=TOKEN, domain=DOMAIN, scopes={"write_discounts", "read_products"}, clock=ManualClock())
    await fake.start()
    try:
        result = await check_shop(session, GUILD, connection(fake))
    finally:
        await fake.stop()
    assert result.missing == ("read_orders",)
    assert "read_orders" in result.describe() and not result.ok


async def test_a_shop_that_is_down_or_failing_is_unavailable_not_a_crash(
    shop: FakeShopify, session: aiohttp.ClientSession
) -> None:
    client = ShopifyClient(session, connection(shop))
    shop.faults.fail(503, times=1)
    with pytest.raises(ShopUnavailable, match="503"):
        await client.execute(CONNECTION_QUERY)
    await shop.go_down()
    try:
        async with aiohttp.ClientSession() as fresh:  # no pooled connection from before the outage
            result = await check_shop(fresh, GUILD, connection(shop))
    finally:
        await shop.come_back()
    assert result.problem is not None and "could not be reached" in result.problem


async def test_a_throttled_query_waits_for_the_bucket_and_then_succeeds(session: aiohttp.ClientSession) -> None:
    clock = ManualClock()
    fake = FakeShopify(token=TOKEN, domain=DOMAIN, scopes=SCOPES, clock=clock, maximum_available=20, restore_rate=5)
    await fake.start()
    waited: list[float] = []

    async def sleep(seconds: float) -> None:  # the shop's clock moves instead of the test sleeping
        waited.append(seconds)
        clock.advance(seconds)

    try:
        client = ShopifyClient(session, connection(fake), sleep=sleep)
        query = "query { orders(first: 5) { nodes { id } } }"
        for _ in range(4):
            await client.execute(query)
    finally:
        await fake.stop()
    assert waited and all(w > 0 for w in waited)  # it waited instead of failing
    assert client.last_cost is not None and client.last_cost.maximum == 20


async def test_a_mutation_refused_with_user_errors_is_a_failure(
    shop: FakeShopify, session: aiohttp.ClientSession
) -> None:
    shop.add_discount("TAKEN10")
    client = ShopifyClient(session, connection(shop))
    data = await client.execute(
        """mutation Create($input: DiscountCodeBasicInput!) {
             discountCodeBasicCreate(basicCodeDiscount: $input) {
               codeDiscountNode { id } userErrors { field code message } } }""",
        {
            "input": {
                "title": "Ambassador code",
                "code": "taken10",
                "startsAt": "2025-06-01T00:00:00Z",
                "customerSelection": {"all": True},
                "customerGets": {"value": {"percentage": 0.1}, "items": {"all": True}},
            }
        },
    )
    errors = user_errors(data["discountCodeBasicCreate"])
    assert [e.code for e in errors] == ["TAKEN"]
    assert "unique" in str(ShopUserErrors("creating the code", errors))


async def test_a_connection_without_a_token_is_refused_before_any_request(
    shop: FakeShopify, session: aiohttp.ClientSession
) -> None:
    with pytest.raises(ShopAuthError, match="ACCESS_TOKEN"):
        ShopifyClient(session, connection(shop, token=None))
    assert shop.requests == []


async def test_shop_check_from_the_command_line(
    shop: FakeShopify, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[shops.{GUILD}]\nshop_domain = "{DOMAIN}"\nadmin_url = "{shop.url}"\n', encoding="utf-8")
    monkeypatch.setenv(f"COLLECTIVE_SHOPS__{GUILD}__ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("COLLECTIVE_DATABASE__PATH", str(tmp_path / "c.db"))
    # main() runs its own event loop, as the console script does: in a thread, while this loop serves the shop.
    assert await asyncio.to_thread(main, ["shop", "check", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert f"server {GUILD}: {DOMAIN}: OK" in out and TOKEN not in out

"""A fake WooCommerce store and the bot's connection to it, shared by the WooCommerce tests in tests/shop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp
import pytest
from pydantic import SecretStr

from bot.config import WooCommerceConnection
from bot.shop.woocommerce import WooClient
from bot.shop.woocommerce_connector import WooConnector
from emulator.shop import ManualClock
from emulator.shop.woocommerce import ApiKey, FakeWooCommerce

GUILD = 123456789012345678
STORE = "https://glow.example.com"
HOOK_SECRET = "woo-hook-secret-value"
START = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def connection(shop: FakeWooCommerce, key: ApiKey | None = None, *, keys: bool = True) -> WooCommerceConnection:
    key = key or shop.key
    return WooCommerceConnection(
        platform="woocommerce",
        store_url=STORE,
        api_url=shop.url,
        consumer_key=SecretStr(key.consumer_key) if keys else None,
        consumer_secret=SecretStr(key.consumer_secret) if keys else None,
    )


@pytest.fixture
def woo_clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def woo(woo_clock: ManualClock) -> AsyncIterator[FakeWooCommerce]:
    shop = FakeWooCommerce(clock=woo_clock, currency="EUR")
    await shop.start()
    try:
        yield shop
    finally:
        await shop.stop()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as http:
        yield http


def connector_for(
    session: aiohttp.ClientSession, shop: FakeWooCommerce, clock: ManualClock, key: ApiKey | None = None
) -> WooConnector:
    """The bot's connector, on the store's clock (both sides agree on the time, as they do in production)."""
    return WooConnector(WooClient(session, connection(shop, key)), webhook_secret=SecretStr(HOOK_SECRET), clock=clock)


@pytest.fixture
def connector(session: aiohttp.ClientSession, woo: FakeWooCommerce, woo_clock: ManualClock) -> WooConnector:
    return connector_for(session, woo, woo_clock)

"""The fake Shopify over HTTP and a real connector talking to it: what every tests/shop module about Shopify needs.

``running_shop`` starts a ``FakeShopify`` (its own clock, the scopes asked) and stops it after; ``connected``
yields a ``ShopifyConnector`` over a fresh aiohttp session to that shop. Each test module keeps its own token
and domain so a failure names the feature.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import datetime

import aiohttp
from pydantic import SecretStr

from bot.config import ShopifyConnection
from bot.shop.shopify import ShopifyClient
from bot.shop.shopify_connector import ShopifyConnector
from emulator.shop import FakeShopify
from emulator.shop.clock import ManualClock


@asynccontextmanager
async def running_shop(
    token: str, domain: str, start: datetime, *, scopes: Iterable[str] | None = None
) -> AsyncIterator[FakeShopify]:
    fake = (
        FakeShopify(token=token, domain=domain, clock=ManualClock(start))
        if scopes is None
        else FakeShopify(token=token, domain=domain, clock=ManualClock(start), scopes=set(scopes))
    )
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


@asynccontextmanager
async def connected(shop: FakeShopify, token: str, domain: str) -> AsyncIterator[ShopifyConnector]:
    async with aiohttp.ClientSession() as session:
        config = ShopifyConnection(shop_domain=domain, access_token=SecretStr(token), admin_url=shop.url)
        yield ShopifyConnector(ShopifyClient(session, config))

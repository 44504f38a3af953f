"""Orders changed in a time window, read through Shopify's ``orders`` query (the catch-up's source)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

from bot.shop.connector import OrderPage
from bot.shop.shopify import ShopifyClient


async def orders_changed(client: ShopifyClient, since: datetime, until: datetime) -> AsyncIterator[OrderPage]:
    raise NotImplementedError("catch-up: being written")
    yield OrderPage([], since)  # pragma: no cover

"""A fake Shopify shop per test, with a manual clock, and a small GraphQL client over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from emulator.shop import FakeShopify, ManualClock


class Client:
    """What the bot's client does on the wire: POST the query with the token, read JSON back."""

    def __init__(self, shop: FakeShopify, session: aiohttp.ClientSession) -> None:
        self.shop = shop
        self.session = session
        self.token = shop.token
        self.version = "2025-01"

    async def post(self, query: str, variables: dict[str, Any] | None = None) -> tuple[int, Any]:
        headers = {"X-Shopify-Access-Token": self.token} if self.token else {}
        body = {"query": query, "variables": variables or {}}
        async with self.session.post(self.shop.graphql_url(self.version), json=body, headers=headers) as resp:
            return resp.status, await resp.json()

    async def gql(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        status, body = await self.post(query, variables)
        assert status == 200, body
        assert "errors" not in body, body
        return body["data"]


@pytest.fixture
def shop_clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def shop(shop_clock: ManualClock) -> AsyncIterator[FakeShopify]:
    fake = FakeShopify(clock=shop_clock)
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


@pytest.fixture
async def client(shop: FakeShopify) -> AsyncIterator[Client]:
    async with aiohttp.ClientSession() as session:
        yield Client(shop, session)

"""The configured shops of this process: one connector per brand server, sharing one HTTP session.

``start`` builds the connectors and records each connection (bot/services/shop/connection.py); a shop new to its
server is reported back so the shop cog registers its webhooks and starts the 60-day backfill. A configuration
that cannot make a connector (no token) is recorded as the connection's problem, for ``/shop status`` and
``python -m bot shop check`` to show.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

import aiohttp
from pydantic import SecretStr

from bot.clock import Clock
from bot.config import Settings, ShopifyConnection, WooCommerceConnection
from bot.db import Database
from bot.services.shop import connection as shop_connection
from bot.shop.check import ShopCheck, check_shop
from bot.shop.connector import Platform, ShopConnector
from bot.shop.errors import ShopError
from bot.shop.shopify import ShopifyClient
from bot.shop.shopify_connector import ShopifyConnector
from bot.shop.woocommerce import WooClient
from bot.shop.woocommerce_connector import WooConnector

log = logging.getLogger(__name__)

ShopConfig = ShopifyConnection | WooCommerceConnection


def make_connector(
    session: aiohttp.ClientSession,
    config: ShopConfig,
    *,
    webhook_secret: SecretStr | None = None,
    clock: Clock | None = None,
) -> ShopConnector:
    """The connector for one configured shop; ``ShopError`` when the configuration cannot make one.
    ``webhook_secret`` (webhooks.woocommerce_secret) is what a WooCommerce store signs its deliveries with: the
    connector gives it to the webhooks it registers. Shopify signs with the app's own secret and needs none."""
    if isinstance(config, WooCommerceConnection):
        return WooConnector(WooClient(session, config), webhook_secret=webhook_secret, clock=clock)
    return ShopifyConnector(ShopifyClient(session, config))


def describe(config: ShopConfig) -> tuple[Platform, str]:
    """(platform, the shop's address as shown and stored): never a secret."""
    if isinstance(config, WooCommerceConnection):
        return config.platform, config.label
    return config.platform, config.shop_domain


def delivery_address(public_url: str, platform: Platform, guild_id: int) -> str:
    """Where the shop delivers a server's orders: the webhook server's public address (README, Deployment)."""
    return f"{public_url.rstrip('/')}/webhooks/{platform}/{guild_id}"


class ShopConnections:
    def __init__(
        self, settings: Settings, db: Database, clock: Clock, *, owns: Callable[[int], bool] = lambda _id: True
    ) -> None:
        self._settings = settings
        self._owns = owns  # a shard process connects only its servers' shops
        self._db = db
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None
        self._connectors: dict[int, ShopConnector] = {}

    async def start(self, now: datetime) -> list[int]:
        """Build the connectors and record the connections; returns the servers whose shop is new to them."""
        if not self._settings.shops:
            return []
        self._session = aiohttp.ClientSession()
        fresh = []
        for guild_id, config in sorted(self._settings.shops.items()):
            if not self._owns(guild_id):
                continue
            platform, address = describe(config)
            async with self._db.transaction() as tx:
                if await shop_connection.record_connection(tx, guild_id, platform, address, now):
                    fresh.append(guild_id)
                try:
                    self._connectors[guild_id] = make_connector(
                        self._session, config, webhook_secret=self._settings.webhooks.woocommerce_secret,
                        clock=self._clock,
                    )  # fmt: skip
                except ShopError as exc:
                    await shop_connection.record_problem(tx, guild_id, str(exc), now)
                    log.error("shop for server %s not connected: %s", guild_id, exc)
                    continue
            log.info("shop for server %s: %s (%s)", guild_id, address, platform)
        return fresh

    async def check(self, guild_id: int) -> ShopCheck | None:
        """Ask the shop now: reachable, credentials valid, scopes granted (None: no shop configured here)."""
        config = self._settings.shops.get(guild_id)
        if config is None or self._session is None:
            return None
        return await check_shop(self._session, guild_id, config)

    def get(self, guild_id: int) -> ShopConnector | None:
        return self._connectors.get(guild_id)

    def guild_ids(self) -> list[int]:
        return sorted(self._connectors)

    async def close(self) -> None:
        session, self._session = self._session, None
        self._connectors.clear()
        if session is not None:
            await session.close()

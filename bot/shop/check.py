"""``python -m bot shop check``: is each configured store reachable, is its token valid, are its scopes granted?"""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp

from bot.config import SHOPIFY_SCOPES, Settings, ShopifyConnection
from bot.shop.errors import ShopError
from bot.shop.shopify import ShopifyClient

CONNECTION_QUERY = """
query ConnectionCheck {
  shop { name myshopifyDomain }
  currentAppInstallation { accessScopes { handle } }
}
"""
# Shopify grants the read scope with its write scope: an app with write_discounts may read discounts too.
IMPLIED = {"write_discounts": "read_discounts", "write_orders": "read_orders", "write_products": "read_products"}


@dataclass(frozen=True)
class ShopCheck:
    guild_id: int
    shop_domain: str
    shop_name: str | None
    scopes: tuple[str, ...]
    missing: tuple[str, ...]
    problem: str | None

    @property
    def ok(self) -> bool:
        return self.problem is None and not self.missing

    def describe(self) -> str:
        head = f"server {self.guild_id}: {self.shop_domain}"
        if self.problem is not None:
            return f"{head}: {self.problem}"
        if self.missing:
            return (
                f"{head}: reachable, token valid, but the app lacks the scope(s) {', '.join(self.missing)}; add them "
                "in the app's Admin API access scopes, reinstall it in the store, and copy the new token"
            )
        return f"{head}: OK — “{self.shop_name}”, scopes {', '.join(self.scopes)}"


def missing_scopes(granted: set[str]) -> tuple[str, ...]:
    have = granted | {IMPLIED[s] for s in granted if s in IMPLIED}
    return tuple(scope for scope in SHOPIFY_SCOPES if scope not in have)


async def check_shop(session: aiohttp.ClientSession, guild_id: int, connection: ShopifyConnection) -> ShopCheck:
    domain = connection.shop_domain
    try:
        data = await ShopifyClient(session, connection).execute(CONNECTION_QUERY)
    except ShopError as exc:
        return ShopCheck(guild_id, domain, None, (), (), str(exc))
    shop = data.get("shop") if isinstance(data.get("shop"), dict) else {}
    installation = data.get("currentAppInstallation")
    raw = installation.get("accessScopes") if isinstance(installation, dict) else None
    granted = sorted({str(s["handle"]) for s in raw or [] if isinstance(s, dict) and s.get("handle")})
    name = str(shop.get("name")) if shop and shop.get("name") else None
    answered = str(shop.get("myshopifyDomain") or "") if shop else ""
    if answered and answered.lower() != domain:
        problem = f"the token belongs to {answered}, not {domain}: check shops.{guild_id}.shop_domain"
        return ShopCheck(guild_id, domain, name, tuple(granted), (), problem)
    return ShopCheck(guild_id, domain, name, tuple(granted), missing_scopes(set(granted)), None)


async def check_all(settings: Settings) -> list[ShopCheck]:
    async with aiohttp.ClientSession() as session:
        return [await check_shop(session, guild_id, conn) for guild_id, conn in sorted(settings.shops.items())]

"""``python -m bot shop check``: is each configured store reachable, are its credentials valid, is everything the bot
needs granted? Shopify: the app's access scopes. WooCommerce: the REST API key's permission, which must be
Read/Write — found without changing anything: a read of the store's currency setting, and an empty coupon batch
(a write WooCommerce checks the key's permission for, and that writes nothing)."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp

from bot.config import SHOPIFY_SCOPES, Settings, ShopifyConnection, WooCommerceConnection
from bot.shop.errors import ShopError
from bot.shop.shopify import ShopifyClient
from bot.shop.woocommerce import KEYS_PAGE, KeyPermissionError, WooClient

CONNECTION_QUERY = """
query ConnectionCheck {
  shop { name myshopifyDomain }
  currentAppInstallation { accessScopes { handle } }
}
"""
# Shopify grants the read scope with its write scope: an app with write_discounts may read discounts too.
IMPLIED = {"write_discounts": "read_discounts", "write_orders": "read_orders", "write_products": "read_products"}
# Scopes only some programs need: named by the check when missing, without failing it.
OPTIONAL_SCOPES = {
    "write_draft_orders": "gifting campaigns shipped by the store",
    "write_gift_cards": "payouts in store credit (a gift card per statement)",
}


@dataclass(frozen=True)
class ShopCheck:
    guild_id: int
    shop_domain: str
    shop_name: str | None
    scopes: tuple[str, ...]
    missing: tuple[str, ...]
    problem: str | None
    platform: str = "shopify"
    currency: str | None = None  # WooCommerce: what the store sells in

    @property
    def ok(self) -> bool:
        return self.problem is None and not self.missing

    def describe(self) -> str:
        head = f"server {self.guild_id}: {self.shop_domain}"
        if self.problem is not None:
            return f"{head}: {self.problem}"
        if self.platform == "woocommerce":
            return self._describe_woocommerce(head)
        if self.missing:
            return (
                f"{head}: reachable, token valid, but the app lacks the scope(s) {', '.join(self.missing)}; add them "
                "in the app's Admin API access scopes, reinstall it in the store, and copy the new token"
            )
        text = f"{head}: OK — “{self.shop_name}”, scopes {', '.join(self.scopes)}"
        optional = [f"{scope} ({what})" for scope, what in OPTIONAL_SCOPES.items() if scope not in self.scopes]
        return text + (f"; not granted, needed only for: {', '.join(optional)}" if optional else "")

    def _describe_woocommerce(self, head: str) -> str:
        if self.missing:
            has = " and ".join(self.scopes).capitalize() or "no"
            return (
                f"{head}: reachable, key valid, but its permission is {has} only — the bot reads orders and creates "
                f"and expires coupons: in {KEYS_PAGE}, set the key's Permissions to Read/Write"
            )
        return f"{head}: OK — key permission Read/Write" + (
            f", store currency {self.currency}" if self.currency else ""
        )


def missing_scopes(granted: set[str]) -> tuple[str, ...]:
    have = granted | {IMPLIED[s] for s in granted if s in IMPLIED}
    return tuple(scope for scope in SHOPIFY_SCOPES if scope not in have)


async def check_shop(
    session: aiohttp.ClientSession, guild_id: int, connection: ShopifyConnection | WooCommerceConnection
) -> ShopCheck:
    if isinstance(connection, WooCommerceConnection):
        return await check_woocommerce(session, guild_id, connection)
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


async def check_woocommerce(
    session: aiohttp.ClientSession, guild_id: int, connection: WooCommerceConnection
) -> ShopCheck:
    label = connection.label
    granted: list[str] = []
    missing: list[str] = []
    currency: str | None = None
    try:
        client = WooClient(session, connection)
        try:
            setting = (await client.get("/settings/general/woocommerce_currency")).body
            value = setting.get("value") if isinstance(setting, dict) else None
            currency = value if isinstance(value, str) else None
            granted.append("read")
        except KeyPermissionError:
            missing.append("read")
        try:
            await client.post("/coupons/batch", {})
            granted.append("write")
        except KeyPermissionError:
            missing.append("write")
    except ShopError as exc:
        return ShopCheck(guild_id, label, None, (), (), str(exc), "woocommerce")
    return ShopCheck(guild_id, label, None, tuple(granted), tuple(missing), None, "woocommerce", currency)


async def check_all(settings: Settings) -> list[ShopCheck]:
    async with aiohttp.ClientSession() as session:
        return [await check_shop(session, guild_id, conn) for guild_id, conn in sorted(settings.shops.items())]

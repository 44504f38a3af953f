"""Collective registers the webhooks the ledger needs in the shop, once, against the fake shop over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from pydantic import SecretStr

from bot.__main__ import main
from bot.config import ShopifyConnection
from bot.shop.connections import delivery_address
from bot.shop.errors import ShopUserErrors
from bot.shop.shopify import ShopifyClient
from bot.shop.webhook_subscriptions import TOPICS, ensure_subscriptions
from emulator.shop import FakeShopify, ManualClock

GUILD = 123456789012345678
TOKEN = "shpat_fake_token_value"
DOMAIN = "glow-skincare.myshopify.com"
PUBLIC = "https://collective.example.com"


@pytest.fixture
async def shop() -> AsyncIterator[FakeShopify]:
    fake = FakeShopify(token=TOKEN, domain=DOMAIN, scopes={"write_discounts", "read_orders"}, clock=ManualClock())
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


def client(session: aiohttp.ClientSession, shop: FakeShopify) -> ShopifyClient:
    connection = ShopifyConnection(shop_domain=DOMAIN, access_token=SecretStr(TOKEN), admin_url=shop.url)
    return ShopifyClient(session, connection)


def subscribed(shop: FakeShopify) -> list[tuple[str, str]]:
    return sorted((w.topic, w.callback_url) for w in shop.state.webhooks.values())


async def test_the_ledgers_topics_are_registered_once_and_kept_on_a_second_run(shop: FakeShopify) -> None:
    url = delivery_address(PUBLIC, "shopify", GUILD)
    assert url == f"{PUBLIC}/webhooks/shopify/{GUILD}"
    async with aiohttp.ClientSession() as session:
        first = await ensure_subscriptions(client(session, shop), url)
        second = await ensure_subscriptions(client(session, shop), url)
    assert sorted(s.topic for s in first.created) == sorted(TOPICS) and first.kept == ()
    assert second.created == () and sorted(s.topic for s in second.kept) == sorted(TOPICS)
    assert subscribed(shop) == sorted((topic, url) for topic in TOPICS)  # no twins


async def test_a_subscription_made_by_hand_is_kept_and_only_the_rest_are_added(shop: FakeShopify) -> None:
    url = delivery_address(PUBLIC, "shopify", GUILD)
    async with aiohttp.ClientSession() as session:
        await client(session, shop).execute(  # what a brand made by hand in the admin before connecting
            "mutation Made($sub: WebhookSubscriptionInput!) { webhookSubscriptionCreate(topic: ORDERS_PAID,"
            " webhookSubscription: $sub) { userErrors { message } } }",
            {"sub": {"callbackUrl": url, "format": "JSON"}},
        )
        report = await ensure_subscriptions(client(session, shop), url)
    assert [s.topic for s in report.kept] == ["ORDERS_PAID"]
    assert sorted(s.topic for s in report.created) == ["ORDERS_CREATE", "REFUNDS_CREATE"]
    assert len(subscribed(shop)) == 3


async def test_a_refused_address_is_the_shops_own_words(shop: FakeShopify) -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(ShopUserErrors, match="Address is invalid"):
            await ensure_subscriptions(client(session, shop), "not-a-url")
    assert subscribed(shop) == []


async def test_shop_webhooks_from_the_command_line(
    shop: FakeShopify, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[webhooks]\npublic_url = "{PUBLIC}/"\n[shops.{GUILD}]\nshop_domain = "{DOMAIN}"\nadmin_url = "{shop.url}"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv(f"COLLECTIVE_SHOPS__{GUILD}__ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("COLLECTIVE_DATABASE__PATH", str(tmp_path / "c.db"))
    # main() runs its own event loop, as the console script does: in a thread, while this loop serves the shop.
    assert await asyncio.to_thread(main, ["shop", "webhooks", "--config", str(config)]) == 0
    assert await asyncio.to_thread(main, ["shop", "webhooks", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert out.count("(created)") == 3 and out.count("(already there)") == 3 and TOKEN not in out
    assert len(subscribed(shop)) == 3


def test_registering_without_a_public_url_names_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[shops.{GUILD}]\nshop_domain = "{DOMAIN}"\n', encoding="utf-8")
    monkeypatch.setenv("COLLECTIVE_DATABASE__PATH", str(tmp_path / "c.db"))
    assert main(["shop", "webhooks", "--config", str(config)]) == 2
    assert "webhooks.public_url" in capsys.readouterr().err


def test_a_public_url_must_be_https(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[webhooks]\npublic_url = "http://collective.example.com"\n', encoding="utf-8")
    assert main(["shop", "check", "--config", str(config)]) == 2
    assert "webhooks.public_url" in capsys.readouterr().err

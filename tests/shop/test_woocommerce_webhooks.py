"""Collective registers the WooCommerce webhooks the ledger needs, with its own secret, once; and `shop webhooks`
does it from the command line. Against the fake store over HTTP."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest
from pydantic import SecretStr

from bot.__main__ import main
from bot.shop.connections import delivery_address
from bot.shop.errors import ShopError, ShopUserErrors
from bot.shop.woocommerce import WooClient
from bot.shop.woocommerce_connector import TOPICS, WooConnector
from bot.webhooks import signature_ok
from emulator.shop import ManualClock
from emulator.shop.woocommerce import FakeWooCommerce
from tests.shop.woo_world import GUILD, HOOK_SECRET, STORE, connection, connector, session, woo, woo_clock

__all__ = ["connector", "session", "woo", "woo_clock"]  # fixtures
ADDRESS = delivery_address("https://collective.example.com", "woocommerce", GUILD)


def subscribed(shop: FakeWooCommerce) -> list[tuple[str, str, str]]:
    return sorted((w.topic, w.delivery_url, w.status) for w in shop.webhooks)


async def test_the_ledgers_topics_are_created_once_and_kept_on_a_second_run(
    connector: WooConnector, woo: FakeWooCommerce
) -> None:
    first = await connector.ensure_webhooks(ADDRESS)
    second = await connector.ensure_webhooks(ADDRESS)
    assert sorted(s.topic for s in first.created) == sorted(TOPICS) == ["order.created", "order.updated"]
    assert first.kept == () and second.created == ()
    assert sorted(s.topic for s in second.kept) == sorted(TOPICS)
    assert subscribed(woo) == [(t, ADDRESS, "active") for t in sorted(TOPICS)]  # no twins
    assert all(w.secret == HOOK_SECRET for w in woo.webhooks)
    assert "order.created → https://collective.example.com/webhooks/woocommerce/" in second.describe()


async def test_deliveries_are_signed_with_the_bots_secret(connector: WooConnector, woo: FakeWooCommerce) -> None:
    await connector.ensure_webhooks(ADDRESS)
    order = await woo.place_order()
    await woo.refund(order, "5.00")
    topics = [d.topic for d in woo.deliveries if d.topic != "ping"]
    assert topics == ["order.created", "order.updated"]
    for delivery in woo.deliveries[-2:]:
        assert signature_ok(delivery.body, delivery.headers["X-WC-Webhook-Signature"], SecretStr(HOOK_SECRET))


async def test_a_webhook_made_by_hand_is_kept_given_the_secret_and_switched_back_on(
    connector: WooConnector, woo: FakeWooCommerce
) -> None:
    """Made in the admin with another secret, then disabled by WooCommerce after the bot refused five deliveries."""
    async with aiohttp.ClientSession() as http:
        client = WooClient(http, connection(woo))
        made = await client.post("/webhooks", {"topic": "order.updated", "delivery_url": ADDRESS, "secret": "other"})
        await client.put(f"/webhooks/{made['id']}", {"status": "disabled"})
        await client.post("/webhooks", {"topic": "order.updated", "delivery_url": "https://elsewhere.example/h"})
    report = await connector.ensure_webhooks(ADDRESS)
    assert [(s.id, s.topic) for s in report.kept] == [(str(made["id"]), "order.updated")]
    assert [s.topic for s in report.created] == ["order.created"]
    ours = next(w for w in woo.webhooks if w.id == made["id"])
    assert (ours.status, ours.secret) == ("active", HOOK_SECRET)
    other = next(w for w in woo.webhooks if w.delivery_url.startswith("https://elsewhere"))
    assert other.secret != HOOK_SECRET  # someone else's webhook: left alone
    assert len(woo.webhooks) == 3


async def test_webhooks_are_found_beyond_the_first_page(connector: WooConnector, woo: FakeWooCommerce) -> None:
    async with aiohttp.ClientSession() as http:
        client = WooClient(http, connection(woo))
        for n in range(105):
            await client.post("/webhooks", {"topic": "product.updated", "delivery_url": f"https://x.example/{n}"})
        await client.post("/webhooks", {"topic": "order.created", "delivery_url": ADDRESS, "secret": "x"})
    report = await connector.ensure_webhooks(ADDRESS)
    assert [s.topic for s in report.kept] == ["order.created"] and [s.topic for s in report.created] == [
        "order.updated"
    ]


async def test_without_the_webhook_secret_nothing_is_registered(
    session: aiohttp.ClientSession, woo: FakeWooCommerce, woo_clock: ManualClock
) -> None:
    bare = WooConnector(WooClient(session, connection(woo)), webhook_secret=None, clock=woo_clock)
    with pytest.raises(ShopError, match=r"webhooks\.woocommerce_secret"):
        await bare.ensure_webhooks(ADDRESS)
    assert woo.requests == [] and woo.webhooks == []


async def test_a_refused_address_is_the_shops_own_words(connector: WooConnector, woo: FakeWooCommerce) -> None:
    with pytest.raises(ShopUserErrors, match="must be a valid URL"):
        await connector.ensure_webhooks("not-a-url")
    assert woo.webhooks == []


def write_config(tmp_path: Path, shop: FakeWooCommerce, monkeypatch: pytest.MonkeyPatch, *, secret: bool) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        '[webhooks]\npublic_url = "https://collective.example.com"\n'
        f'[shops.{GUILD}]\nplatform = "woocommerce"\nstore_url = "{STORE}"\napi_url = "{shop.url}"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv(f"COLLECTIVE_SHOPS__{GUILD}__CONSUMER_KEY", shop.key.consumer_key)
    monkeypatch.setenv(f"COLLECTIVE_SHOPS__{GUILD}__CONSUMER_SECRET", shop.key.consumer_secret)
    monkeypatch.setenv("COLLECTIVE_DATABASE__PATH", str(tmp_path / "c.db"))
    if secret:
        monkeypatch.setenv("COLLECTIVE_WEBHOOKS__WOOCOMMERCE_SECRET", HOOK_SECRET)
    return config


async def test_shop_webhooks_from_the_command_line(
    woo: FakeWooCommerce, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(tmp_path, woo, monkeypatch, secret=True)
    # main() runs its own event loop, as the console script does: in a thread, while this loop serves the store.
    assert await asyncio.to_thread(main, ["shop", "webhooks", "--config", str(config)]) == 0
    assert await asyncio.to_thread(main, ["shop", "webhooks", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert f"server {GUILD}: glow.example.com:" in out and f"/webhooks/woocommerce/{GUILD} (created)" in out
    assert out.count("(created)") == 2 and out.count("(already there)") == 2
    for secret in (HOOK_SECRET, woo.key.consumer_key, woo.key.consumer_secret):
        assert secret not in out
    assert subscribed(woo) == [(t, ADDRESS, "active") for t in sorted(TOPICS)]


async def test_shop_webhooks_without_the_secret_names_the_key(
    woo: FakeWooCommerce, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COLLECTIVE_WEBHOOKS__WOOCOMMERCE_SECRET", raising=False)
    config = write_config(tmp_path, woo, monkeypatch, secret=False)
    assert await asyncio.to_thread(main, ["shop", "webhooks", "--config", str(config)]) == 2
    assert "webhooks.woocommerce_secret is not set" in capsys.readouterr().out
    assert woo.webhooks == []

"""`shop check` for a WooCommerce store: reachable, the key valid, its permission Read/Write — found without
changing anything in the store — or exactly what to fix. Against the fake store over HTTP."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from bot.__main__ import main
from bot.shop.check import check_shop
from emulator.shop.woocommerce import FakeWooCommerce
from tests.shop.woo_world import GUILD, STORE, connection, session, woo, woo_clock

__all__ = ["session", "woo", "woo_clock"]  # fixtures


async def test_a_read_write_key_is_ok_and_nothing_in_the_store_changes(
    session: aiohttp.ClientSession, woo: FakeWooCommerce
) -> None:
    result = await check_shop(session, GUILD, connection(woo))
    assert result.ok, result.describe()
    assert (result.scopes, result.missing, result.currency) == (("read", "write"), (), "EUR")
    assert result.describe() == f"server {GUILD}: glow.example.com: OK — key permission Read/Write, store currency EUR"
    assert woo.coupons == {} and woo.webhooks == [] and woo.orders == []
    assert [(r.method, r.path, r.body) for r in woo.requests] == [
        ("GET", "/wp-json/wc/v3/settings/general/woocommerce_currency", None),
        ("POST", "/wp-json/wc/v3/coupons/batch", {}),
    ]


@pytest.mark.parametrize(("permission", "has", "lacks"), [("read", "Read", "write"), ("write", "Write", "read")])
async def test_a_key_without_read_write_permission_is_named(
    session: aiohttp.ClientSession, woo: FakeWooCommerce, permission: str, has: str, lacks: str
) -> None:
    result = await check_shop(session, GUILD, connection(woo, woo.add_key(permission)))  # type: ignore[arg-type]
    assert not result.ok and result.problem is None and result.missing == (lacks,)
    line = result.describe()
    assert f"its permission is {has} only" in line and "Read/Write" in line and "REST API" in line


async def test_a_wrong_secret_is_explained_without_repeating_it(
    session: aiohttp.ClientSession, woo: FakeWooCommerce
) -> None:
    key = woo.add_key()
    config = connection(woo, key)
    key.consumer_secret = "cs_changed_in_the_store"
    result = await check_shop(session, GUILD, config)
    assert not result.ok and result.problem is not None and "401" in result.problem
    assert config.consumer_secret is not None
    assert (
        config.consumer_secret.get_secret_value() not in result.describe() and key.consumer_key not in result.describe()
    )


async def test_missing_keys_and_a_store_that_is_down_are_problems(
    session: aiohttp.ClientSession, woo: FakeWooCommerce
) -> None:
    missing = await check_shop(session, GUILD, connection(woo, keys=False))
    assert missing.problem is not None and "CONSUMER_KEY" in missing.problem
    await woo.go_down()
    try:
        async with aiohttp.ClientSession() as fresh:
            down = await check_shop(fresh, GUILD, connection(woo))
    finally:
        await woo.come_back()
    assert down.problem is not None and "could not be reached" in down.problem and not down.ok


async def test_shop_check_from_the_command_line(
    woo: FakeWooCommerce, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[shops.{GUILD}]\nplatform = "woocommerce"\nstore_url = "{STORE}"\napi_url = "{woo.url}"\n', encoding="utf-8"
    )
    monkeypatch.setenv(f"COLLECTIVE_SHOPS__{GUILD}__CONSUMER_KEY", woo.key.consumer_key)
    monkeypatch.setenv(f"COLLECTIVE_SHOPS__{GUILD}__CONSUMER_SECRET", woo.key.consumer_secret)
    monkeypatch.setenv("COLLECTIVE_DATABASE__PATH", str(tmp_path / "c.db"))
    # main() runs its own event loop, as the console script does: in a thread, while this loop serves the store.
    assert await asyncio.to_thread(main, ["shop", "check", "--config", str(config)]) == 0
    read_only = woo.add_key("read")
    monkeypatch.setenv(f"COLLECTIVE_SHOPS__{GUILD}__CONSUMER_KEY", read_only.consumer_key)
    monkeypatch.setenv(f"COLLECTIVE_SHOPS__{GUILD}__CONSUMER_SECRET", read_only.consumer_secret)
    assert await asyncio.to_thread(main, ["shop", "check", "--config", str(config)]) == 2
    out = capsys.readouterr().out
    assert f"server {GUILD}: glow.example.com: OK" in out and "its permission is Read only" in out
    for secret in (woo.key.consumer_key, woo.key.consumer_secret, read_only.consumer_key, read_only.consumer_secret):
        assert secret not in out

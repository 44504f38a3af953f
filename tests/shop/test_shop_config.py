"""The shop connection in the configuration: keyed by server, the token from the environment, never printed."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.__main__ import main
from bot.config import Settings, ShopifyConnection, load_settings
from bot.errors import ConfigError

GUILD = 123456789012345678


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_a_shop_is_keyed_by_server_and_its_token_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(f"COLLECTIVE_SHOPS__{GUILD}__ACCESS_TOKEN", "shpat_secret_value")
    settings = load_settings(write(tmp_path, f'[shops.{GUILD}]\nshop_domain = "Glow-Skincare.myshopify.com"\n'))
    shop = settings.shops[GUILD]
    assert isinstance(shop, ShopifyConnection)  # no platform key: a Shopify store, as before WooCommerce arrived
    assert shop.shop_domain == "glow-skincare.myshopify.com"
    assert shop.access_token is not None and shop.access_token.get_secret_value() == "shpat_secret_value"
    assert shop.graphql_url == "https://glow-skincare.myshopify.com/admin/api/2025-01/graphql.json"
    assert "shpat_secret_value" in settings.secrets()  # so the log filter redacts it
    assert "shpat_secret_value" not in repr(settings)


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ('shop_domain = "glow-skincare.com"', f"shops.{GUILD}.shop_domain"),
        ('shop_domain = "glow.myshopify.com"\napi_version = "2025-02"', f"shops.{GUILD}.api_version"),
        ('shop_domain = "glow.myshopify.com"\nadmin_url = "ftp://x"', f"shops.{GUILD}.admin_url"),
        ('shop_domain = "glow.myshopify.com"\ntypo = 1', f"shops.{GUILD}.typo"),
    ],
)
def test_a_bad_shop_setting_names_its_key(tmp_path: Path, body: str, key: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(write(tmp_path, f"[shops.{GUILD}]\n{body}\n"))
    assert key in str(raised.value)


def test_a_blank_token_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(f"COLLECTIVE_SHOPS__{GUILD}__ACCESS_TOKEN", "  ")
    settings = Settings(shops={str(GUILD): {"shop_domain": "glow.myshopify.com"}})
    shop = settings.shops[GUILD]
    assert isinstance(shop, ShopifyConnection) and shop.access_token is None


def test_shop_check_without_a_connection_says_how_to_add_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLLECTIVE_DATABASE__PATH", str(tmp_path / "c.db"))
    assert main(["shop", "check", "--config", str(write(tmp_path, ""))]) == 2
    assert "[shops.<server id>]" in capsys.readouterr().out

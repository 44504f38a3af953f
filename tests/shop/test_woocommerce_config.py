"""A WooCommerce store in the configuration: ``platform = "woocommerce"``, an https address, the REST API key from
the environment (never printed), and Shopify still the platform of every section that names none."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Settings, ShopifyConnection, WooCommerceConnection, load_settings
from bot.errors import ConfigError
from bot.shop.connections import delivery_address, describe

GUILD = 123456789012345678
OTHER = 223456789012345678


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_a_woocommerce_store_takes_its_key_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(f"COLLECTIVE_SHOPS__{GUILD}__CONSUMER_KEY", "ck_secret_key_value")
    monkeypatch.setenv(f"COLLECTIVE_SHOPS__{GUILD}__CONSUMER_SECRET", "cs_secret_value")
    config = write(tmp_path, f'[shops.{GUILD}]\nplatform = "woocommerce"\nstore_url = "https://Glow.Example.com/"\n')
    settings = load_settings(config)
    shop = settings.shops[GUILD]
    assert isinstance(shop, WooCommerceConnection)
    assert (shop.store_url, shop.label) == ("https://glow.example.com", "glow.example.com")
    assert shop.rest_url == "https://glow.example.com/wp-json/wc/v3"
    assert shop.consumer_key is not None and shop.consumer_key.get_secret_value() == "ck_secret_key_value"
    assert shop.consumer_secret is not None and shop.consumer_secret.get_secret_value() == "cs_secret_value"
    assert {"ck_secret_key_value", "cs_secret_value"} <= set(settings.secrets())  # redacted from every log line
    assert "cs_secret_value" not in repr(settings) and "ck_secret_key_value" not in repr(settings)
    assert describe(shop) == ("woocommerce", "glow.example.com")


def test_both_platforms_side_by_side_and_shopify_without_a_platform_key(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, (
        f'[shops.{GUILD}]\nshop_domain = "glow.myshopify.com"\n'
        f'[shops.{OTHER}]\nplatform = "woocommerce"\nstore_url = "https://shop.example.com/store"\n'
    )))  # fmt: skip
    assert isinstance(settings.shops[GUILD], ShopifyConnection)
    woo = settings.shops[OTHER]
    assert isinstance(woo, WooCommerceConnection) and woo.rest_url == "https://shop.example.com/store/wp-json/wc/v3"
    explicit = Settings(shops={str(GUILD): {"platform": "shopify", "shop_domain": "glow.myshopify.com"}})
    assert isinstance(explicit.shops[GUILD], ShopifyConnection)


def test_blank_keys_are_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(f"COLLECTIVE_SHOPS__{GUILD}__CONSUMER_KEY", " ")
    settings = Settings(
        shops={str(GUILD): {"platform": "woocommerce", "store_url": "https://a.example", "consumer_secret": ""}}
    )
    shop = settings.shops[GUILD]
    assert isinstance(shop, WooCommerceConnection) and shop.consumer_key is None and shop.consumer_secret is None
    assert settings.secrets() == []


def test_the_api_url_override_may_be_http_and_takes_the_place_of_the_store(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, (
        f'[shops.{GUILD}]\nplatform = "woocommerce"\nstore_url = "https://glow.example.com"\n'
        'api_url = "http://127.0.0.1:8099/"\n'
    )))  # fmt: skip
    shop = settings.shops[GUILD]
    assert isinstance(shop, WooCommerceConnection)
    assert shop.rest_url == "http://127.0.0.1:8099/wp-json/wc/v3" and shop.label == "glow.example.com"


@pytest.mark.parametrize(
    ("body", "key", "words"),
    [
        ('platform = "woocommerce"\nstore_url = "http://glow.example.com"', "store_url", "https://"),
        ('platform = "woocommerce"\nstore_url = "glow.example.com"', "store_url", "https://"),
        ('platform = "woocommerce"\nstore_url = "https://glow.example.com/?x=1"', "store_url", "https://"),
        ('platform = "woocommerce"', "store_url", "Field required"),
        ('platform = "woocommerce"\nstore_url = "https://a.example"\napi_url = "ftp://x"', "api_url", "http"),
        ('platform = "woocommerce"\nstore_url = "https://a.example"\nshop_domain = "a.myshopify.com"', "shop_domain",
         "unknown key"),
        ('platform = "magento"\nstore_url = "https://a.example"', "platform", "shopify or woocommerce"),
        ('store_url = "https://a.example"', "store_url", "unknown key"),  # no platform: a Shopify section
    ],
)  # fmt: skip
def test_a_bad_woocommerce_setting_names_its_key(tmp_path: Path, body: str, key: str, words: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(write(tmp_path, f"[shops.{GUILD}]\n{body}\n"))
    lines = str(raised.value).splitlines()
    assert any(line.strip().startswith(f"shops.{GUILD}.{key}:") and words in line for line in lines), lines
    assert not any(".woocommerce." in line or ".shopify." in line for line in lines)  # the union's branch is hidden


def test_each_platform_gets_its_own_webhook_address() -> None:
    assert delivery_address("https://hooks.example.com/", "woocommerce", GUILD) == (
        f"https://hooks.example.com/webhooks/woocommerce/{GUILD}"
    )
    assert delivery_address("https://hooks.example.com", "shopify", GUILD).endswith(f"/webhooks/shopify/{GUILD}")

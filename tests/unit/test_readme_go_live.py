"""README's go-live sections (issue 15 item 9) stay true to the code: the sections a brand follows exist, and the
webhook paths, signature headers and topics they tell a brand to configure are the ones bot/webhooks.py serves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot import webhooks
from bot.shop.connections import delivery_address

ROOT = Path(__file__).parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    start = README.index(title)
    following = re.search(r"^#{2,3} ", README[start + len(title) :], re.MULTILINE)
    return README[start : start + len(title) + (following.start() if following else len(README))]


@pytest.mark.parametrize(
    "title", ["## First steps after inviting the bot", "## Connecting your shop", "### Shopify", "### WooCommerce"]
)
def test_the_go_live_sections_exist(title: str) -> None:
    assert re.search(rf"^{re.escape(title)}$", README, re.MULTILINE), f"README lost its section {title!r}"


@pytest.mark.parametrize(
    ("title", "shop", "header", "topics"),
    [
        ("### Shopify", "shopify", "X-Shopify-Hmac-Sha256", ["orders/paid", "refunds/create"]),
        ("### WooCommerce", "woocommerce", "X-WC-Webhook-Signature", ["Order created", "Order updated"]),
    ],
)
def test_each_shops_steps_match_the_webhook_server(title: str, shop: str, header: str, topics: list[str]) -> None:
    steps = _section(title)
    # The address README says the bot registers is the one it registers, and the webhook server serves it.
    assert f"`<public_url>/webhooks/{shop}/<server id>`" in steps
    assert delivery_address("<public_url>", shop, 0) == f"<public_url>/webhooks/{shop}/0"  # type: ignore[arg-type]
    assert f"https://your-host/webhooks/{shop}/<server id>" in _section("### Without the Admin API")
    source = Path(webhooks.__file__).read_text(encoding="utf-8")
    assert 'add_post(f"/webhooks/{shop}/{{guild_id}}"' in source, "the per-server path README gives"
    assert header in source
    for topic in topics:
        assert topic in steps
        # WooCommerce's admin shows "Order created"; the delivery's topic header says order.created.
        wire = topic if "/" in topic else "order." + topic.split()[1]
        assert f'"{wire}"' in source, f"README says to subscribe to {topic!r}, which bot/webhooks.py does not handle"
    assert "[Deployment](#deployment)" in steps or "as in step 2 for Shopify" in steps  # the proxy: linked once


def test_first_steps_link_to_both_shops() -> None:
    steps = _section("## First steps after inviting the bot")
    for command in ("/setup", "/settings change", "/settings tier", "/ambassador tier", "/apply", "/codes payouts"):
        assert command in steps
    assert "(#shopify)" in steps and "(#woocommerce)" in steps

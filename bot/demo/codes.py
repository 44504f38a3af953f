"""Demo scene: alice's code is used in the shop — a signed Shopify webhook, her DM, /code, and mira's report.

The demo's settings keep ``[webhooks]`` off (they live in bot/demo/stage.py), so the scene starts the very
same ``WebhookServer`` the bot starts, on a free loopback port, over the bot's database, and the shop posts
a signed ``orders/paid`` to it over real HTTP.
"""

from __future__ import annotations

import json
from datetime import timedelta

import aiohttp
from pydantic import SecretStr

from bot.config import WebhookSettings
from bot.demo.stage import Demo
from bot.services.sales import codes
from bot.webhooks import WebhookServer, sign

SHOP_SECRET = "demo-shopify-secret"


def _order(code: str, order_id: int, created_at: str) -> bytes:
    """A Shopify orders/paid body in the documented shape, trimmed to what matters here."""
    return json.dumps({
        "id": order_id, "name": f"#{order_id % 10000}", "currency": "EUR", "financial_status": "paid",
        "created_at": created_at, "email": "customer@example.com", "test": False,
        "total_line_items_price": "64.00", "total_discounts": "6.40", "subtotal_price": "57.60",
        "discount_codes": [{"code": code.lower(), "amount": "6.40", "type": "percentage"}],
        "discount_applications": [{"type": "discount_code", "code": code.lower(), "value": "10.0",
                                   "value_type": "percentage", "allocation_method": "across",
                                   "target_selection": "all", "target_type": "line_item"}],
    }).encode()  # fmt: skip


async def play(demo: Demo) -> None:
    demo.scene("Codes: alice's code brings in a sale")
    current = await codes.current_code(demo.bot.db, demo.guild_id, demo.people["alice"])
    assert current is not None, "the onboarding scene approves alice and gives her a code"
    code = current.code
    await demo.slash("alice", "code")

    hooks = WebhookServer(demo.bot.db, WebhookSettings(shopify_secret=SecretStr(SHOP_SECRET)), demo.clock)
    await hooks.start(host="127.0.0.1", port=0)
    try:
        body = _order(code, 5_820_982_911_946_154_508, demo.clock.now().isoformat())
        headers = {"X-Shopify-Topic": "orders/paid", "X-Shopify-Event-Id": "demo-evt-1",
                   "X-Shopify-Hmac-Sha256": sign(body, SHOP_SECRET), "Content-Type": "application/json"}  # fmt: skip
        url = f"http://127.0.0.1:{hooks.port}/webhooks/shopify"
        async with aiohttp.ClientSession() as session:
            demo.narrate(f"the shop sends a signed orders/paid webhook: a customer used “{code.lower()}” (64.00 EUR)")
            async with session.post(url, data=body, headers=headers) as response:
                demo.narrate(f"webhook answered {response.status} after the sale was committed")
            async with session.post(url, data=body, headers=headers) as response:
                demo.narrate(f"Shopify retries the same event: answered {response.status}, nothing counted twice")
            bad = {**headers, "X-Shopify-Hmac-Sha256": "forged"}
            async with session.post(url, data=body, headers=bad) as response:
                demo.narrate(f"a forged delivery is refused with {response.status}")
    finally:
        await hooks.stop()

    await demo.advance_to(demo.clock.now() + timedelta(minutes=3))
    for message in demo.emu.dms_to(demo.people["alice"])[-1:]:
        demo.show_message(message, "alice (DM)")
    await demo.slash("alice", "code")
    await demo.slash("mira", "codes report", period="week")

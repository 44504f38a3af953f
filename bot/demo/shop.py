"""The brand's Shopify store, as the bot sees it: signed webhook deliveries over real HTTP, and an orders export.

The demo's settings keep ``[webhooks]`` off (they live in bot/demo/stage.py), so ``Shop`` starts the very same
``WebhookServer`` the bot starts, on a free loopback port, over the bot's database, and posts to it the bodies
Shopify would send (the documented shapes, trimmed to what the bot reads), signed with the shop's secret.
Nothing here writes the database: every sale and refund goes through the webhook server or ``/codes import``.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from decimal import Decimal
from types import TracebackType

import aiohttp
from pydantic import SecretStr

from bot.config import WebhookSettings
from bot.demo.stage import Demo
from bot.webhooks import WebhookServer, sign

SHOP_SECRET = "demo-shopify-secret"

# Shopify's orders export header (admin → Orders → Export, 79 columns), as in tests/fixtures/commerce/. Kept
# here because the demo also runs from the installed wheel, which ships no test fixtures.
EXPORT_COLUMNS = """
Name,Email,Financial Status,Paid at,Fulfillment Status,Fulfilled at,Accepts Marketing,Currency,
Subtotal,Shipping,Taxes,Total,Discount Code,Discount Amount,Shipping Method,Created at,
Lineitem quantity,Lineitem name,Lineitem price,Lineitem compare at price,Lineitem sku,
Lineitem requires shipping,Lineitem taxable,Lineitem fulfillment status,Billing Name,Billing Street,
Billing Address1,Billing Address2,Billing Company,Billing City,Billing Zip,Billing Province,
Billing Country,Billing Phone,Shipping Name,Shipping Street,Shipping Address1,Shipping Address2,
Shipping Company,Shipping City,Shipping Zip,Shipping Province,Shipping Country,Shipping Phone,Notes,
Note Attributes,Cancelled at,Payment Method,Payment Reference,Refunded Amount,Vendor,
Outstanding Balance,Employee,Location,Device ID,Id,Tags,Risk Level,Source,Lineitem discount,
Tax 1 Name,Tax 1 Value,Tax 2 Name,Tax 2 Value,Tax 3 Name,Tax 3 Value,Tax 4 Name,Tax 4 Value,
Tax 5 Name,Tax 5 Value,Phone,Receipt Number,Duties,Billing Province Name,Shipping Province Name,
Payment ID,Payment Terms Name,Next Payment Due At,Payment References
""".replace("\n", "").split(",")


def order_body(
    *, order_id: int, code: str, created_at: datetime, gross: str, discount: str, email: str = "customer@example.com"
) -> bytes:
    """An orders/paid body: the code in both discount_codes and discount_applications, as Shopify sends it
    (a code counts only when it is a ``discount_code`` application)."""
    net = Decimal(gross) - Decimal(discount)
    return json.dumps({
        "id": order_id, "name": f"#{order_id % 10000}", "currency": "EUR", "financial_status": "paid",
        "created_at": created_at.isoformat(), "email": email, "test": False,
        "total_line_items_price": gross, "total_discounts": discount, "subtotal_price": f"{net:.2f}",
        "discount_codes": [{"code": code.lower(), "amount": discount, "type": "percentage"}],
        "discount_applications": [{"type": "discount_code", "code": code.lower(), "value": "10.0",
                                   "value_type": "percentage", "allocation_method": "across",
                                   "target_selection": "all", "target_type": "line_item"}],
    }).encode()  # fmt: skip


def refund_body(*, refund_id: int, order_id: int, created_at: datetime, amount: str) -> bytes:
    """A refunds/create body refunding one line item; the amount is the line's subtotal after its discount."""
    money = {"amount": amount, "currency_code": "EUR"}
    return json.dumps({
        "id": refund_id, "order_id": order_id, "created_at": created_at.isoformat(),
        "note": "arrived damaged", "restock": True,
        "refund_line_items": [{"id": refund_id + 1, "quantity": 1, "line_item_id": 703073504,
                               "subtotal": float(amount), "subtotal_set": {"shop_money": money,
                                                                           "presentment_money": money}}],
        "transactions": [{"kind": "refund", "status": "success", "amount": amount, "currency": "EUR"}],
    }).encode()  # fmt: skip


def orders_export(orders: list[dict[str, str]]) -> bytes:
    """A Shopify orders CSV: one row per line item; order-level columns only on an order's first row.

    Each order is its first row's columns; ``_items`` ("Serum|Cleanser") adds one row per further line item."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS, restval="", lineterminator="\n")
    writer.writeheader()
    for order in orders:
        first = {key: value for key, value in order.items() if key != "_items"}
        writer.writerow(first)
        items = order.get("_items", "")
        for item in items.split("|") if items else []:
            writer.writerow({"Name": order["Name"], "Lineitem quantity": "1", "Lineitem name": item})
    return out.getvalue().encode("utf-8")


class Shop:
    """A webhook server over the bot's database and an HTTP client that delivers to it as Shopify does."""

    def __init__(self, demo: Demo) -> None:
        self.demo = demo
        self.server = WebhookServer(demo.bot.db, WebhookSettings(shopify_secret=SecretStr(SHOP_SECRET)), demo.clock)
        self.session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Shop:
        await self.server.start(host="127.0.0.1", port=0)
        self.session = aiohttp.ClientSession()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self.session is not None:
            await self.session.close()
        await self.server.stop()

    async def deliver(self, topic: str, body: bytes, event_id: str, *, signature: str | None = None) -> int:
        """POST one delivery to the server's URL for this program (README: /webhooks/shopify/<server id>)."""
        assert self.session is not None, "use Shop as an async context manager"
        headers = {
            "X-Shopify-Topic": topic,
            "X-Shopify-Event-Id": event_id,
            "X-Shopify-Hmac-Sha256": signature or sign(body, SHOP_SECRET),
            "Content-Type": "application/json",
        }
        url = f"http://127.0.0.1:{self.server.port}/webhooks/shopify/{self.demo.guild_id}"
        async with self.session.post(url, data=body, headers=headers) as response:
            return response.status

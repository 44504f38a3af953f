"""A fake shop beside the Discord emulator: Shopify's GraphQL Admin API here, WooCommerce's REST API in
``emulator.shop.woocommerce`` (``FakeWooCommerce``).

shop = FakeShopify(scopes={"write_discounts", "read_orders"}, clock=ManualClock())
await shop.start()
...  # point the bot's Shopify client at shop.url
await shop.place_order(code="ALICE10", total="45.00")
await shop.stop()
"""

from emulator.shop.clock import Clock, CostBucket, ManualClock
from emulator.shop.discounts import CheckoutRefused
from emulator.shop.faults import ShopFaults
from emulator.shop.shopify import FakeShopify
from emulator.shop.webhooks import Delivery

__all__ = ["CheckoutRefused", "Clock", "CostBucket", "Delivery", "FakeShopify", "ManualClock", "ShopFaults"]

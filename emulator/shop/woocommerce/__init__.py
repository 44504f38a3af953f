"""A fake WooCommerce store beside the fake Shopify: the REST API v3 the bot uses, over HTTP on 127.0.0.1.

Split by capability: ``state`` (the records), ``rest`` (WordPress's errors, arguments and paging), ``auth`` (API
keys and their permissions), ``coupons``, ``orders``, ``webhooks`` (subscriptions and signed deliveries),
``faults``, and ``server`` (``FakeWooCommerce``: the app, the lifecycle and the test API).
"""

from emulator.shop.woocommerce.server import CheckoutRefused, FakeWooCommerce, Request
from emulator.shop.woocommerce.state import ApiKey, Coupon, Order, Refund, Webhook

__all__ = ["ApiKey", "CheckoutRefused", "Coupon", "FakeWooCommerce", "Order", "Refund", "Request", "Webhook"]

"""The webhook subscriptions the ledger needs, registered in the brand's Shopify store by Collective itself.

``ensure_subscriptions`` finds what is already there (paging ``webhookSubscriptions``), keeps it, creates only what
is missing (``webhookSubscriptionCreate``), and reports both, so running it again changes nothing. Shopify signs
deliveries to an app's subscriptions with the app's client secret: that is ``webhooks.shopify_secret`` then.
Schema 2025-01 names the address ``callbackUrl`` (``uri`` arrived in a later version).
"""

from __future__ import annotations

from typing import Any

from bot.shop.connector import WebhookReport, WebhookSubscription
from bot.shop.errors import ShopError, ShopUserErrors
from bot.shop.shopify import ShopifyClient, user_errors

# The topics the ledger records (bot/webhooks.py): a paid order, an order at creation (counted before payment
# only when a program says so), and a refund.
TOPICS = ("ORDERS_PAID", "ORDERS_CREATE", "REFUNDS_CREATE")
PAGE = 100

LIST_QUERY = """
query Subscriptions($first: Int!, $after: String, $topics: [WebhookSubscriptionTopic!]) {
  webhookSubscriptions(first: $first, after: $after, topics: $topics) {
    nodes { id topic callbackUrl format }
    pageInfo { hasNextPage endCursor }
  }
}
"""
CREATE_MUTATION = """
mutation Subscribe($topic: WebhookSubscriptionTopic!, $subscription: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $subscription) {
    webhookSubscription { id topic callbackUrl format }
    userErrors { field message }
  }
}
"""


async def existing_subscriptions(client: ShopifyClient) -> list[WebhookSubscription]:
    found: list[WebhookSubscription] = []
    after: str | None = None
    while True:
        data = await client.execute(LIST_QUERY, {"first": PAGE, "after": after, "topics": list(TOPICS)})
        page = _dict(data.get("webhookSubscriptions"))
        for node in page.get("nodes") or []:
            subscription = _subscription(node)
            if subscription is not None:
                found.append(subscription)
        info = _dict(page.get("pageInfo"))
        if not info.get("hasNextPage") or not info.get("endCursor"):
            return found
        after = str(info["endCursor"])


async def ensure_subscriptions(client: ShopifyClient, url: str) -> WebhookReport:
    """Every topic in ``TOPICS`` delivered to ``url``, once: existing subscriptions are kept, missing ones made."""
    existing = await existing_subscriptions(client)
    kept = tuple(s for s in existing if s.address == url and s.topic in TOPICS)
    have = {s.topic for s in kept}
    created = []
    for topic in TOPICS:
        if topic in have:
            continue
        data = await client.execute(
            CREATE_MUTATION, {"topic": topic, "subscription": {"callbackUrl": url, "format": "JSON"}}
        )
        payload = _dict(data.get("webhookSubscriptionCreate"))
        errors = user_errors(payload)
        if errors:
            raise ShopUserErrors(f"the {topic} webhook", errors)
        made = _subscription(payload.get("webhookSubscription"))
        if made is None:
            raise ShopError(f"{client.connection.shop_domain} created the {topic} webhook but did not say which")
        created.append(made)
    return WebhookReport(kept, tuple(created))


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _subscription(node: Any) -> WebhookSubscription | None:
    if not isinstance(node, dict) or not node.get("id") or not node.get("topic"):
        return None
    return WebhookSubscription(str(node["id"]), str(node["topic"]), str(node.get("callbackUrl") or ""))

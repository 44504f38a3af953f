"""The brand's shop, from Collective's side: Admin API clients (Shopify GraphQL over aiohttp) and the checks an
operator runs before going live. Webhooks coming in are bot/webhooks.py."""

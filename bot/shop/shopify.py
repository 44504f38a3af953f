"""Shopify's GraphQL Admin API over aiohttp (Shopify's own Python client blocks and keeps global sessions).

One ``ShopifyClient`` per connected store. Every answer is checked before it is believed: HTTP status, the
top-level ``errors`` (a THROTTLED answer means wait for the cost bucket to refill, not fail), and the caller
checks ``userErrors``, which a mutation can return with a 200. Failures raise ``ShopError`` subclasses whose
message is safe to show to moderators and to log: it never carries the access token.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.config import ShopifyConnection
from bot.shop.errors import ShopAuthError, ShopError, ShopScopeError, ShopUnavailable, UserError

log = logging.getLogger(__name__)

TIMEOUT = aiohttp.ClientTimeout(total=20, connect=5)
MAX_THROTTLE_WAITS = 5  # a query that stays throttled this many times in a row is reported, not retried forever


@dataclass(frozen=True)
class Cost:
    """``extensions.cost.throttleStatus``: what is left in the shop's query-cost bucket."""

    requested: float
    available: float
    maximum: float
    restore_rate: float


Sleep = Callable[[float], Awaitable[None]]


class ShopifyClient:
    def __init__(
        self, session: aiohttp.ClientSession, connection: ShopifyConnection, *, sleep: Sleep = asyncio.sleep
    ) -> None:
        if connection.access_token is None:
            raise ShopAuthError(
                f"No Admin API access token is set for {connection.shop_domain}: set "
                "COLLECTIVE_SHOPS__<server id>__ACCESS_TOKEN (see README, Connecting your shop)."
            )
        self._session = session
        self.connection = connection
        self._sleep = sleep
        self.last_cost: Cost | None = None

    async def execute(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run one query or mutation; returns ``data``. Waits out THROTTLED answers by the bucket's refill rate."""
        for _attempt in range(MAX_THROTTLE_WAITS + 1):
            body = await self._post(query, variables or {})
            errors = body.get("errors")
            if not errors:
                data = body.get("data")
                if not isinstance(data, dict):
                    raise ShopError(f"{self.connection.shop_domain} answered without data")
                return data
            if isinstance(errors, list) and any(_code(e) == "THROTTLED" for e in errors):
                await self._sleep(self._throttle_wait())
                continue
            if isinstance(errors, list) and any(_code(e) == "ACCESS_DENIED" for e in errors):
                raise ShopScopeError(
                    f"{self.connection.shop_domain} denied access: {_messages(errors)}. Give the app the access "
                    "scopes README lists (Connecting your shop), then reinstall it in the store."
                )
            raise ShopError(f"{self.connection.shop_domain} refused the request: {_messages(errors)}")
        raise ShopUnavailable(f"{self.connection.shop_domain} kept throttling the request; it will be retried")

    async def _post(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        assert self.connection.access_token is not None  # checked in __init__
        headers = {
            "X-Shopify-Access-Token": self.connection.access_token.get_secret_value(),
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        domain = self.connection.shop_domain
        try:
            async with self._session.post(
                self.connection.graphql_url,
                json={"query": query, "variables": variables},
                headers=headers,
                timeout=TIMEOUT,
            ) as response:
                if response.status == 401:
                    raise ShopAuthError(
                        f"{domain} refused the access token (401): it is wrong or was revoked. Copy the Admin API "
                        "access token from the app in the store's admin again."
                    )
                if response.status == 403:
                    raise ShopScopeError(
                        f"{domain} refused the request (403): the app lacks an access scope. Give it the scopes "
                        "README lists (Connecting your shop)."
                    )
                if response.status == 404:
                    raise ShopError(
                        f"{domain} has no Admin API version {self.connection.api_version} (404): check "
                        "shops.<server id>.api_version and shop_domain."
                    )
                if response.status == 429 or response.status >= 500:
                    retry = response.headers.get("Retry-After")
                    raise ShopUnavailable(
                        f"{domain} is not answering right now ({response.status}); it will be retried",
                        retry_after=float(retry) if retry and retry.replace(".", "", 1).isdigit() else None,
                    )
                if response.status != 200:
                    raise ShopError(f"{domain} answered {response.status}")
                try:
                    body = await response.json(content_type=None)
                except ValueError:
                    raise ShopError(f"{domain} answered with something that is not JSON") from None
        except (aiohttp.ClientConnectionError, TimeoutError) as exc:
            raise ShopUnavailable(f"{domain} could not be reached ({type(exc).__name__}); it will be retried") from None
        if not isinstance(body, dict):
            raise ShopError(f"{domain} answered with something that is not a GraphQL response")
        self.last_cost = _cost(body)
        return body

    def _throttle_wait(self) -> float:
        """Seconds until the bucket holds what the throttled query asked for (one second when unknown)."""
        cost = self.last_cost
        if cost is None or cost.restore_rate <= 0:
            return 1.0
        return max((cost.requested - cost.available) / cost.restore_rate, 0.1)


def user_errors(payload: dict[str, Any] | None) -> list[UserError]:
    """A mutation payload's ``userErrors``, checked for shape."""
    if not isinstance(payload, dict):
        return [UserError((), None, "the shop answered without a result")]
    raw = payload.get("userErrors") or []
    found = []
    for entry in raw if isinstance(raw, list) else []:
        if isinstance(entry, dict):
            field = entry.get("field") or []
            found.append(
                UserError(
                    tuple(str(part) for part in field) if isinstance(field, list) else (),
                    str(entry["code"]) if entry.get("code") else None,
                    str(entry.get("message") or "refused"),
                )
            )
    return found


def _code(error: Any) -> str | None:
    if isinstance(error, dict):
        extensions = error.get("extensions")
        if isinstance(extensions, dict) and isinstance(extensions.get("code"), str):
            return str(extensions["code"])
    return None


def _messages(errors: list[Any]) -> str:
    texts = [str(e.get("message")) for e in errors if isinstance(e, dict) and e.get("message")]
    return "; ".join(texts)[:300] or "no reason given"


def _cost(body: dict[str, Any]) -> Cost | None:
    try:
        cost = body["extensions"]["cost"]
        status = cost["throttleStatus"]
        return Cost(
            float(cost["requestedQueryCost"]),
            float(status["currentlyAvailable"]),
            float(status["maximumAvailable"]),
            float(status["restoreRate"]),
        )
    except (KeyError, TypeError, ValueError):
        return None

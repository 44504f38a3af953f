"""WooCommerce's REST API (``/wp-json/wc/v3``) over aiohttp: the official Python client blocks (requests).

One ``WooClient`` per connected store, authenticated with the store's REST API key as HTTP Basic (over HTTPS, as
WooCommerce wants it). Every answer is checked before it is believed, and every failure becomes a ``ShopError``
whose message is safe to show to moderators and to log — it never carries the key or the secret, only the store's
address and WooCommerce's own words:

- 401 with "does not have read/write permissions": ``KeyPermissionError`` (a ``ShopScopeError``) naming what the
  key lacks; any other 401: ``ShopAuthError`` (a wrong or revoked key);
- 403: ``ShopScopeError`` (the key's user may not manage the shop);
- 404 ``rest_no_route``: no WooCommerce REST API at that address; another 404: the thing asked for is gone;
- 429 and 5xx, timeouts, refused connections: ``ShopUnavailable`` with the ``Retry-After`` the store sent;
- another 4xx: ``WooRefused`` with WooCommerce's ``code``, message and the parameters it names;
- a redirect, or an answer that is not JSON: ``ShopError`` saying what to check.
"""

from __future__ import annotations

import base64
import json
import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp

from bot.config import WooCommerceConnection
from bot.shop.errors import ShopAuthError, ShopError, ShopScopeError, ShopUnavailable

log = logging.getLogger(__name__)

TIMEOUT = aiohttp.ClientTimeout(total=30, connect=10)  # WordPress on shared hosting is often slow
KEYS_PAGE = "WooCommerce → Settings → Advanced → REST API"


class KeyPermissionError(ShopScopeError):
    """The key is valid but its permission (Read, Write or Read/Write) does not cover the call."""

    def __init__(self, message: str, lacking: str) -> None:
        super().__init__(message)
        self.lacking = lacking  # "read" or "write"


class WooRefused(ShopError):
    """A 4xx (other than 401/403/404/429) with WooCommerce's error body: the store refused what was sent."""

    def __init__(self, label: str, status: int, code: str, message: str, params: dict[str, str]) -> None:
        super().__init__(f"{label} refused the request ({status} {code}): {message}")
        self.status = status
        self.code = code
        self.shop_message = message
        self.params = params


@dataclass(frozen=True)
class Answer:
    body: Any  # decoded JSON; floats as Decimal, as in webhook bodies
    total_pages: int | None  # X-WP-TotalPages, on collections


class WooClient:
    def __init__(self, session: aiohttp.ClientSession, connection: WooCommerceConnection) -> None:
        self.connection = connection
        self.label = connection.label
        if connection.consumer_key is None or connection.consumer_secret is None:
            raise ShopAuthError(
                f"No REST API key is set for {self.label}: set COLLECTIVE_SHOPS__<server id>__CONSUMER_KEY and "
                "COLLECTIVE_SHOPS__<server id>__CONSUMER_SECRET (README, Connecting WooCommerce)."
            )
        pair = f"{connection.consumer_key.get_secret_value()}:{connection.consumer_secret.get_secret_value()}"
        self._authorization = "Basic " + base64.b64encode(pair.encode()).decode()
        self._session = session

    async def get(self, path: str, params: dict[str, str] | None = None) -> Answer:
        return await self.request("GET", path, params=params)

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        return (await self.request("POST", path, body=body)).body

    async def put(self, path: str, body: dict[str, Any]) -> Any:
        return (await self.request("PUT", path, body=body)).body

    async def request(
        self, method: str, path: str, *, params: dict[str, str] | None = None, body: dict[str, Any] | None = None
    ) -> Answer:
        url = f"{self.connection.rest_url}{path}"
        headers = {"Authorization": self._authorization, "Accept": "application/json", "User-Agent": "Collective"}
        try:
            async with self._session.request(
                method, url, params=params, json=body, headers=headers, timeout=TIMEOUT, allow_redirects=False
            ) as response:
                raw = await response.read()
                status, answer_headers = response.status, response.headers
        except (aiohttp.ClientConnectionError, TimeoutError) as exc:
            raise ShopUnavailable(
                f"{self.label} could not be reached ({type(exc).__name__}); it will be retried"
            ) from None
        decoded = _decode(raw)
        if 200 <= status < 300:
            if decoded is _NOT_JSON:
                raise ShopError(
                    f"{self.label} answered with something that is not JSON: check that store_url is the WordPress "
                    "site WooCommerce runs on"
                )
            pages = answer_headers.get("X-WP-TotalPages", "")
            return Answer(decoded, int(pages) if pages.isdigit() else None)
        if 300 <= status < 400:
            where = answer_headers.get("Location", "another address")
            raise ShopError(
                f"{self.label} redirects the REST API to {where[:200]}: set store_url to the site's address"
            )
        raise self._error_for(status, decoded, answer_headers.get("Retry-After"))

    def _error_for(self, status: int, decoded: Any, retry_after: str | None) -> ShopError:
        error = decoded if isinstance(decoded, dict) else {}
        code = str(error.get("code") or "")
        said = _words(error.get("message")) or f"HTTP {status}"
        label = self.label
        if status == 401:
            for lacking in ("read", "write"):
                if f"does not have {lacking} permissions" in said:
                    return KeyPermissionError(
                        f"{label} refused the request (401): the REST API key has no {lacking} permission. The bot "
                        f"reads orders and creates coupons: in {KEYS_PAGE}, set the key's Permissions to Read/Write.",
                        lacking,
                    )
            return ShopAuthError(
                f"{label} refused the REST API key (401: “{said}”): the consumer key or secret is wrong, or the key "
                f"was revoked. Create a Read/Write key in {KEYS_PAGE} and set it again."
            )
        if status == 403:
            return ShopScopeError(
                f"{label} refused the request (403: “{said}”): the key's WordPress user may not manage the shop. "
                f"Create the key in {KEYS_PAGE} for an administrator or shop manager."
            )
        if status == 404:
            if code == "rest_no_route" or not code:
                return ShopError(
                    f"{label} has no WooCommerce REST API at /wp-json/wc/v3 (404): check store_url, that WooCommerce "
                    "is active, and that Settings → Permalinks is not “Plain”"
                )
            return ShopError(f"{label} no longer has what was asked for (404 {code}): {said}")
        if status == 429 or status >= 500:
            return ShopUnavailable(
                f"{label} is not answering right now ({status}); it will be retried", retry_after=_seconds(retry_after)
            )
        if code and 400 <= status < 500:
            params = error.get("data", {}).get("params") if isinstance(error.get("data"), dict) else None
            found = {str(k): _words(v) for k, v in params.items()} if isinstance(params, dict) else {}
            return WooRefused(label, status, code, said, found)
        return ShopError(f"{label} answered {status}: {said}")


_NOT_JSON = object()


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw, parse_float=Decimal) if raw.strip() else None
    except (ValueError, UnicodeDecodeError, RecursionError):
        return _NOT_JSON


def _words(value: Any) -> str:
    """WooCommerce's message, as plain short text (WordPress sometimes puts HTML in it)."""
    if not isinstance(value, str):
        return ""
    text = "".join(part.split(">", 1)[-1] for part in value.split("<")) if "<" in value else value
    return " ".join(text.split())[:300]


def _seconds(retry_after: str | None) -> float | None:
    """Retry-After as seconds: a number, or an HTTP date."""
    if not retry_after:
        return None
    text = retry_after.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)

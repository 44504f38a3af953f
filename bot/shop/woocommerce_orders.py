"""Orders changed in a time window, read through WooCommerce's ``GET /orders`` (the catch-up's source).

Each request asks for ``modified_after`` / ``modified_before`` with ``dates_are_gmt=true``, sorted by modification
(``orderby=modified&order=asc``, which WooCommerce breaks by id), 100 at a time. Both bounds are exclusive and kept
to the second, as WordPress stores them, and are sent without an offset: WordPress turns a bound with an offset
into the site's local time even when comparing with GMT dates.

The window is read by keyset, not by page number: after each full page the next request starts just before the
last order's second and skips what was already read, so an order changed while the catch-up reads (it moves
past ``until``, out of the window) cannot shift another one out of sight. Orders of that second already read are
remembered by id, not by their place in the sort. Only when more than a page of orders share one second does it go
on by page number. Each order is parsed by the webhook path's own parser
(``payloads.woocommerce_order``), so an order seen both ways is the same ``OrderIn``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.services.sales.payloads import OrderIn, PayloadError, timestamp, woocommerce_order
from bot.shop.connector import OrderPage
from bot.shop.errors import ShopError
from bot.shop.woocommerce import WooClient

log = logging.getLogger(__name__)

PAGE = 100
SECOND = timedelta(seconds=1)


def _floor(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=0)


def _ceil(moment: datetime) -> datetime:
    floor = _floor(moment)
    return floor if floor == moment else floor + SECOND


def _wall(moment: datetime) -> str:
    """A bound as WordPress compares it with dates_are_gmt: GMT wall time, no offset."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


async def orders_changed(client: WooClient, since: datetime, until: datetime) -> AsyncIterator[OrderPage]:
    low, high = _floor(since), _ceil(until)
    if high <= low:
        return
    after = low - SECOND  # modified_after is exclusive: this asks for every change from ``low`` on
    page = 1
    boundary: datetime | None = None  # the second the last full page ended in …
    seen: set[int] = set()  # … and the orders of that second already read
    while True:
        answer = await client.get(
            "/orders",
            {
                "modified_after": _wall(after),
                "modified_before": _wall(high),
                "dates_are_gmt": "true",
                "orderby": "modified",
                "order": "asc",
                "per_page": str(PAGE),
                "page": str(page),
            },
        )
        if not isinstance(answer.body, list):
            raise ShopError(f"{client.label} answered the order list with something that is not a list")
        keys = [_key(client.label, raw) for raw in answer.body]
        changed = [moment for moment, _ in keys]
        if any(moment < low or moment >= high for moment in changed) or changed != sorted(changed):
            raise ShopError(
                f"{client.label} does not filter or sort orders by their last change: the catch-up needs a "
                "WooCommerce recent enough to take modified_after, modified_before and dates_are_gmt"
            )
        orders = [
            order
            for (moment, order_id), raw in zip(keys, answer.body, strict=True)
            if not (moment == boundary and order_id in seen)
            for order in _parsed(client.label, raw)
        ]
        last = answer.total_pages is not None and page >= answer.total_pages
        if len(answer.body) < PAGE or last:
            yield OrderPage(orders, until)
            return
        newest = changed[-1]
        if newest != boundary:
            boundary, seen = newest, set()
        seen |= {order_id for moment, order_id in keys if moment == newest}
        yield OrderPage(orders, max(since, newest))  # every change before the newest one's second is read
        if newest - SECOND > after:
            after, page = newest - SECOND, 1
        else:
            page += 1  # more than a page of changes within one second


def _key(label: str, raw: Any) -> tuple[datetime, int]:
    if not isinstance(raw, dict) or isinstance(raw.get("id"), bool) or not isinstance(raw.get("id"), int):
        raise ShopError(f"{label} answered the order list with an entry that is not an order")
    try:
        return timestamp(raw.get("date_modified_gmt"), "date_modified_gmt"), raw["id"]
    except PayloadError:
        raise ShopError(f"{label} answered order {raw['id']} without a readable date_modified_gmt") from None


def _parsed(label: str, raw: dict[str, Any]) -> list[OrderIn]:
    """The order as the webhook path reads it; one the webhook path would refuse is skipped the same way."""
    try:
        return [woocommerce_order(raw)]
    except PayloadError as exc:
        log.warning("order %s of %s skipped by the catch-up: %s", raw.get("id"), label, exc)
        return []

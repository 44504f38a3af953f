"""Signed Shopify deliveries for many servers, split over several webhook servers, fired from a second process.

bench_webhooks.py fires one server's orders at one port; a fleet has a webhook server in each process and a shop
per server delivering to whichever address it was given — so here each delivery carries its own address
(``/webhooks/shopify/<guild id>`` on one process's port) and body. The client runs in a spawned process, as
bench_webhooks.py's does, so the load generator does not share the event loop it measures.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import statistics
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp

from bot.webhooks import sign

FIRST_ORDER_ID = 9_007_199_254_740_993  # above 2^53, as Shopify's ids are
CLIENT_TIMEOUT_S = 600.0
RETRIES, RETRY_PAUSE_S = 5, 0.5


@dataclass(frozen=True)
class Delivery:
    url: str
    body: bytes
    event_id: str


@dataclass
class Fired:
    """What the client saw: every answer by status (retries included), each delivery's first answer's latency (s),
    the deliveries retried after a 5xx and those never accepted, and the wall time (s)."""

    statuses: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    retried: int = 0
    refused: int = 0
    wall: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.wall if self.wall else 0.0

    def percentile_ms(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        if fraction == 0.5:
            return statistics.median(ordered) * 1000
        return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] * 1000


def order_body(order_id: int, code: str) -> bytes:
    """An orders/paid body whose discount code counts (it is also in discount_applications, as a code)."""
    return json.dumps({
        "id": order_id, "name": f"#{order_id % 100_000}", "currency": "USD", "financial_status": "paid",
        "created_at": datetime.now(UTC).isoformat(), "email": f"buyer{order_id}@example.com", "test": False,
        "total_line_items_price": "59.70", "total_discounts": "5.97",
        "discount_codes": [{"code": code, "amount": "5.97", "type": "percentage"}],
        "discount_applications": [{"type": "discount_code", "code": code, "value": "10.0"}],
    }).encode()  # fmt: skip


async def _fire(deliveries: Sequence[Delivery], secret: str, concurrency: int) -> Fired:
    fired = Fired()
    queue = list(reversed(deliveries))

    async def worker(session: aiohttp.ClientSession) -> None:
        while queue:
            delivery = queue.pop()
            headers = {"X-Shopify-Hmac-Sha256": sign(delivery.body, secret), "X-Shopify-Topic": "orders/paid",
                       "X-Shopify-Event-Id": delivery.event_id, "Content-Type": "application/json"}  # fmt: skip
            for attempt in range(RETRIES + 1):
                started = time.perf_counter()
                async with session.post(delivery.url, data=delivery.body, headers=headers) as response:
                    await response.read()
                    status = response.status
                fired.statuses[status] += 1
                if attempt == 0:
                    fired.latencies.append(time.perf_counter() - started)
                if status < 500:
                    break
                # Shopify retries a 5xx (8 times over 4 hours); a shop's retry, compressed to a pause.
                fired.retried += attempt == 0
                await asyncio.sleep(RETRY_PAUSE_S)
            fired.refused += status >= 500

    started = time.perf_counter()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
    fired.wall = time.perf_counter() - started
    return fired


def _client_process(deliveries: Sequence[Delivery], secret: str, concurrency: int, out: Any) -> None:
    out.put(asyncio.run(_fire(deliveries, secret, concurrency)))


def fire_from_second_process(deliveries: Sequence[Delivery], secret: str, concurrency: int) -> Fired:
    """Blocking: run it in a thread (``asyncio.to_thread``) to keep the caller's event loop serving."""
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    proc = ctx.Process(target=_client_process, args=(list(deliveries), secret, concurrency, out))
    proc.start()
    try:
        fired: Fired = out.get(timeout=CLIENT_TIMEOUT_S)  # a client that died says nothing: do not wait forever
    finally:
        proc.join(5)
        if proc.is_alive():
            proc.kill()
    return fired

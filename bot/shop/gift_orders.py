"""Gifts as orders in the brand's Shopify store, so its usual fulfilment ships them.

``place`` serves the ``gifting.order`` outbox row (and the retry of gifts still waiting): it reads the gift and the
member's address as they are now and makes the store hold one completed zero-value order for it — a draft order with
the variant, the shipping address and 100 % off, then completed. The gift's ``order_key`` (one per member per
campaign) is on the draft as a tag and the store is asked for it first, so neither a retry nor a crash between the
commit and the push, or between creating and completing, ever places a second order: the draft found is completed
if it is not yet, and recorded.

``follow`` is the hourly read of each placed order's fulfilment: shipped (with the carrier's tracking link) and
delivered, each recorded once (bot/services/gifting/fulfilment.py tells the member). A poll rather than the
``fulfillments/create`` webhook: it needs no public address nor another subscription and scope, it sees the
delivered status that webhook never carries, and Shopify drops webhooks after 4 hours of failures anyway.

What the store says decides what follows, as for codes (bot/shop/code_push.py): unreachable — retried; a token or a
scope problem — recorded for moderators once, retried; a refusal of the order itself — the gift goes to the
fulfilment queue and moderators are told once. Nothing here logs an address or a member's name.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from bot.clock import Clock
from bot.db import Database
from bot.services.gifting import fulfilment
from bot.services.gifting.addresses import get_details
from bot.services.shop import connection
from bot.shop.connector import GiftOrderSpec, ShopConnector
from bot.shop.errors import ShopAuthError, ShopError, ShopScopeError, ShopUnavailable

log = logging.getLogger(__name__)

Outcome = Literal["placed", "adopted", "already", "refused", "gone"]
RETRY_AFTER = timedelta(minutes=30)  # a gift ready this long without an order: the outbox gave up; try again


@dataclass(frozen=True)
class FollowReport:
    checked: int = 0
    changed: int = 0
    unreachable: str | None = None


class GiftOrders:
    """Places and follows gift orders for one process; a lock per gift keeps a retry and a push from racing."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        self._locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def place(self, connector: ShopConnector, gift_id: int) -> Outcome:
        async with self._locks[gift_id]:
            return await self._place(connector, gift_id)

    async def _place(self, connector: ShopConnector, gift_id: int) -> Outcome:
        gift = await fulfilment.find_gift(self._db, gift_id)
        if gift is None or gift.route != "shop" or gift.variant_ref is None:
            return "gone"
        if gift.state != "ready":
            return "already"
        address = await get_details(self._db, gift.guild_id, gift.user_id)
        if address is None:
            return "gone"  # erased since (forget): the gift was cancelled with it
        spec = GiftOrderSpec(gift.order_key, gift.variant_ref, gift.what, address,
                             f"Collective gift: {gift.what} ({gift.reference}, gift #{gift.id})")  # fmt: skip
        outcome: Outcome = "adopted"
        try:
            order = await connector.find_gift_order(spec.key)
            if order is None:
                order, outcome = await connector.create_gift_order(spec), "placed"
            if order.order_ref is None:
                order = await connector.complete_gift_order(order.draft_ref)
        except (ShopAuthError, ShopScopeError) as exc:
            await self._db.perform(connection.record_problem, gift.guild_id, str(exc), self._clock.now())
            raise
        except ShopUnavailable:
            raise
        except ShopError as exc:
            await self._db.perform(fulfilment.record_refused, gift.id, str(exc), self._clock.now())
            log.warning("shop refused gift #%d of server %s: %s", gift.id, gift.guild_id, type(exc).__name__)
            return "refused"
        if order.order_ref is None:
            raise ShopUnavailable(f"{connector.label} completed the gift order without naming it; read again later")
        now = self._clock.now()
        async with self._db.transaction() as tx:
            await fulfilment.record_ordered(tx, gift.id, order.order_ref, order.order_name or "", now)
            await connection.record_problem(tx, gift.guild_id, None, now)
        log.info("gift #%d of server %s: order %s in the store", gift.id, gift.guild_id, outcome)
        return outcome

    async def retry_waiting(self, connector: ShopConnector, guild_id: int, now: datetime) -> int:
        """Place the orders of gifts ready for a while without one (the outbox gave up on a store down for
        hours). Stops at a store that does not answer; returns how many were placed."""
        placed = 0
        for gift in await fulfilment.waiting_for_order(self._db, guild_id, older_than=now - RETRY_AFTER):
            if await self.place(connector, gift.id) in ("placed", "adopted"):
                placed += 1
        return placed

    async def follow(self, connector: ShopConnector, guild_id: int) -> FollowReport:
        """Read each placed gift order's fulfilment and record what moved."""
        checked = changed = 0
        for gift in await fulfilment.orders_to_follow(self._db, guild_id):
            assert gift.order_ref is not None
            try:
                shipment = await connector.gift_shipment(gift.order_ref)
            except ShopUnavailable as exc:
                return FollowReport(checked, changed, str(exc))
            except ShopError as exc:
                log.warning("could not read gift #%d's order in %s: %s", gift.id, connector.label, exc)
                continue
            checked += 1
            after = await self._db.perform(fulfilment.record_fulfilment, gift.id, shipped=shipment.shipped,
                                           delivered=shipment.delivered, tracking_url=shipment.tracking_url,
                                           now=self._clock.now())  # fmt: skip
            if after is not None and (after.state != gift.state or after.tracking_url != gift.tracking_url):
                changed += 1
        return FollowReport(checked, changed)

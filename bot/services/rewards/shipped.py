"""Rewards of the kind "a product to ship": redeeming one hands the product to the gifting fulfilment queue.

The gift is asked for in the redemption's own unit of work (``request_fulfilment``, reference
``redemption:<id>``): the member is asked for shipping details in the same private form gifting uses when none are
on file; a product picked from a connected Shopify store becomes a zero-value draft order (bot/shop/gift_orders.py),
anything else waits in moderators' ``/fulfilment`` queue. From then on the gift carries the redemption
(bot/services/gifting/fulfilment.py): shipped fulfils it; cancelled — by a moderator, by ``/ambassador forget`` —
gives the points and the stock back, once. A redemption cancelled from the rewards side calls its gift back too.
"""

from __future__ import annotations

from datetime import datetime

from bot.db import Transaction
from bot.errors import Conflict
from bot.services.gifting import fulfilment
from bot.services.gifting.fulfilment import REDEMPTION, Gift
from bot.services.rewards.catalogue import Reward


def reference(redemption_id: int) -> str:
    return f"{REDEMPTION}{redemption_id}"


async def request(tx: Transaction, reward: Reward, redemption_id: int, user_id: int, now: datetime) -> Gift:
    assert reward.kind == "ship" and reward.ship_product is not None
    return await fulfilment.request_fulfilment(tx, reward.guild_id, user_id, reward.ship_product,
                                               reference(redemption_id), now,
                                               variant_ref=reward.ship_variant_ref)  # fmt: skip


async def check_cancellable(tx: Transaction, guild_id: int, redemption_id: int) -> None:
    """A redemption to ship can be cancelled while its gift has not gone to the store nor shipped."""
    gift = await fulfilment.gift_of_redemption(tx, guild_id, redemption_id)
    if gift is not None and gift.state not in (*fulfilment.CANCELLABLE, "cancelled"):
        where = "an order in the store" if gift.state == "ordered" else gift.state
        raise Conflict(f"Redemption #{redemption_id}'s product is already {where} (gift #{gift.id}); it can't be "
                       "cancelled from here.")  # fmt: skip


async def call_back(tx: Transaction, guild_id: int, redemption_id: int, reason: str, now: datetime) -> None:
    """The redemption was refunded: its gift, if not sent yet, is cancelled with it."""
    await fulfilment.cancel_for_redemption(tx, guild_id, redemption_id, reason, now)

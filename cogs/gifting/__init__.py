"""Gifting: /gift campaigns (moderators), /shipping (members), /fulfilment (moderators), and the gifts' way to the
member — orders in the shop followed to delivery, or the moderators' queue — with a DM at each step."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.app import CollectiveBot


async def setup(bot: CollectiveBot) -> None:
    # Imported here, not at the top: the cogs load only as the extension (see cogs/sales/__init__.py).
    from cogs.gifting import campaigns, fulfilment, orders, shipping

    await campaigns.setup(bot)
    await shipping.setup(bot)
    await fulfilment.setup(bot)
    await orders.setup(bot)

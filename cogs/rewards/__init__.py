"""Rewards: /rewards (the catalogue and redeeming), /reward (moderators), and fulfilment (shop codes, roles, perks)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.app import CollectiveBot


async def setup(bot: CollectiveBot) -> None:
    # Imported here, not at the top: the cogs load only as the extension (see cogs/sales/__init__.py).
    from cogs.rewards import fulfilment, manage, store

    await store.setup(bot)
    await manage.setup(bot)
    await fulfilment.setup(bot)

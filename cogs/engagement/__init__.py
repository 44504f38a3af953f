"""Engagement: points adjustments and leaderboards."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.app import CollectiveBot


async def setup(bot: CollectiveBot) -> None:
    # Imported here, not at the top: a feature package is imported whenever another feature uses one of its
    # modules, and its cogs should load only as the extension.
    from cogs.engagement import leaderboard, mediakit, points

    await leaderboard.setup(bot)
    await mediakit.setup(bot)
    await points.setup(bot)

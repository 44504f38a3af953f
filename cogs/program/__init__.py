"""The program itself: /setup, /settings, /status, /help, the audit-log feed and /tiers (automatic tiers)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.app import CollectiveBot


async def setup(bot: CollectiveBot) -> None:
    # Imported here, not at the top: a feature package is imported whenever another feature uses one of its
    # modules, and its cogs should load only as the extension.
    from cogs.program import audit_feed, help, settings, setup_command, status, tier_rules

    await audit_feed.setup(bot)
    await help.setup(bot)
    await settings.setup(bot)
    await setup_command.setup(bot)
    await status.setup(bot)
    await tier_rules.setup(bot)

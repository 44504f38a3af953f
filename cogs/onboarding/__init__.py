"""Onboarding: /apply, the review queue's buttons, the waitlist, and the roster commands."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.app import CollectiveBot


async def setup(bot: CollectiveBot) -> None:
    # Imported here, not at the top: a feature package is imported whenever another feature uses one of its
    # modules, and its cogs should load only as the extension.
    from cogs.onboarding import applications, roster

    await applications.setup(bot)
    await roster.setup(bot)

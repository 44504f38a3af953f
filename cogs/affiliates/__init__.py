"""Affiliates: /payouts (runs, rules, settings, exports for moderators; /payouts mine for ambassadors), the Mark
paid select and form, and each statement sent to its ambassador by DM through the outbox."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.app import CollectiveBot


async def setup(bot: CollectiveBot) -> None:
    # Imported here, not at the top: the cogs load only as the extension (see cogs/sales/__init__.py).
    from cogs.affiliates import payouts, statements, store_credit

    await statements.setup(bot)
    await store_credit.setup(bot)
    await payouts.setup(bot)

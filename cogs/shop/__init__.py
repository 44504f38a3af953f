"""The brand's shop: /shop status, sync and discount (moderators), code pushes, the catch-up of missed orders."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.app import CollectiveBot


async def setup(bot: CollectiveBot) -> None:
    # Imported here, not at the top: the cogs load only as the extension (see cogs/sales/__init__.py).
    from cogs.shop import catch_up, code_push, manage

    await code_push.setup(bot)
    await catch_up.setup(bot)
    await manage.setup(bot)

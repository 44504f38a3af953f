"""Direct messages that respect members who closed their DMs.

Discord answers 50007 when a member does not accept DMs from the server's members. Collective remembers
that (``members.dm_closed``) and stops trying: failed requests count toward Discord's invalid-request
limit, and the member made a choice. A later successful DM (e.g. after they reopen DMs and a moderator
resets the flag) clears it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Literal

import discord

from bot.services.program.members import find_member, mark_dm_closed

if TYPE_CHECKING:
    from bot.app import CollectiveBot

log = logging.getLogger(__name__)

DM_CLOSED = 50007

Delivery = Literal["sent", "closed", "failed"]


async def send_dm(bot: CollectiveBot, guild_id: int, user_id: int, **send: Any) -> Delivery:
    """Send a DM unless the member is known to have closed DMs. Never raises for Discord errors."""
    member = await find_member(bot.db, guild_id, user_id)
    if member is not None and member.dm_closed:
        return "closed"
    try:
        user = bot.get_user(user_id) or await bot.fetch_user(user_id)
        await user.send(**send)
    except discord.Forbidden as exc:
        if exc.code == DM_CLOSED:
            if member is not None:
                await bot.db.perform(mark_dm_closed, guild_id, user_id)
            log.info("member %s in guild %s does not accept DMs; remembered", user_id, guild_id)
            return "closed"
        log.warning("DM to %s refused: %s", user_id, exc)
        return "failed"
    except discord.HTTPException as exc:
        log.warning("DM to %s failed: %s", user_id, exc)
        return "failed"
    return "sent"

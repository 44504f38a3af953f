"""Discord side effects of membership, shared by the onboarding and roster cogs (not an extension itself).

Roles follow the database: ``sync_roles`` gives an active ambassador the Ambassador role and their tier's role
and takes them from everyone else. A failure (missing permission, role above the bot) is reported in the
review channel and retried by a durable ``role-sync`` timer, so it is never silently lost.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import TYPE_CHECKING, Literal

import discord

from bot.dm import send_dm
from bot.interaction_errors import explain_refusal
from bot.services.onboarding import roster
from bot.services.onboarding.digest import ROLE_SYNC_TIMER
from bot.services.program import members
from bot.services.program.bindings import ROLE_MODERATOR, all_bindings, get_binding, get_channel_id
from bot.services.program.setup_plan import Target, private_welcome_overwrites
from bot.services.sales.codes import Code
from bot.ui.embeds import SUCCESS, WARNING, add_field, embed

if TYPE_CHECKING:
    from bot.app import CollectiveBot

log = logging.getLogger(__name__)

ROLE_RETRY_MINUTES = 5
Welcome = Literal["dm", "channel", "failed"]


def overwrite_targets(
    guild: discord.Guild, moderator_role: discord.Role | None, ambassador_role: discord.Role | None
) -> dict[Target, discord.Role | discord.Member | None]:
    return {"everyone": guild.default_role, "moderator": moderator_role, "ambassador": ambassador_role, "bot": guild.me}


Overwrites = dict[discord.Role | discord.Member | discord.Object, discord.PermissionOverwrite]


def to_overwrites(
    plan: dict[Target, tuple[int, int]], targets: dict[Target, discord.Role | discord.Member | None]
) -> Overwrites:
    result: Overwrites = {}
    for key, (allow, deny) in plan.items():
        target = targets.get(key)
        if target is not None:
            result[target] = discord.PermissionOverwrite.from_pair(
                discord.Permissions(allow), discord.Permissions(deny)
            )
    return result


async def review_channel(bot: CollectiveBot, guild_id: int) -> discord.TextChannel | None:
    channel_id = await get_channel_id(bot.db, guild_id, "review")
    channel = bot.get_channel(channel_id) if channel_id else None
    return channel if isinstance(channel, discord.TextChannel) else None


async def tell_moderators(
    bot: CollectiveBot,
    guild_id: int,
    content: str | None = None,
    *,
    card: discord.Embed | None = None,
    view: discord.ui.View | None = None,
) -> bool:
    """Post in the review channel (mentions shown, nobody pinged)."""
    channel = await review_channel(bot, guild_id)
    if channel is None:
        log.warning("guild %s has no review channel; moderators were not told: %s", guild_id, content or card)
        return False
    try:
        mentions = discord.AllowedMentions.none()
        if view is None:
            await channel.send(content, embed=card or discord.utils.MISSING, allowed_mentions=mentions)
        else:
            await channel.send(content, embed=card or discord.utils.MISSING, view=view, allowed_mentions=mentions)
    except discord.HTTPException as exc:
        log.warning("could not post to the review channel of guild %s: %s", guild_id, exc)
        return False
    return True


async def _member(guild: discord.Guild, user_id: int) -> discord.Member | None:
    member = guild.get_member(user_id)
    if member is not None:
        return member
    try:
        return await guild.fetch_member(user_id)
    except discord.NotFound:
        return None


async def sync_roles(bot: CollectiveBot, guild_id: int, user_id: int) -> list[str]:
    """Make the member's program roles match their status and tier. Returns the problems (empty = done)."""
    guild = bot.get_guild(guild_id)
    record = await members.find_member(bot.db, guild_id, user_id)
    if guild is None or record is None:
        return []
    member = await _member(guild, user_id)
    if member is None:
        return []  # they left the server: there is nothing to assign
    want, drop = roster.role_plan(record.status, record.tier, await all_bindings(bot.db, guild_id))
    current = {role.id for role in member.roles}
    problems: list[str] = []
    me = guild.me
    changes: list[tuple[bool, discord.Role]] = []
    for role_id, add in [*((r, True) for r in want - current), *((r, False) for r in drop & current)]:
        role = guild.get_role(role_id)
        if role is None:
            problems.append(f"the bound role `{role_id}` no longer exists — run /setup to repair")
        elif not me.guild_permissions.manage_roles:
            problems.append("I lack the **Manage Roles** permission")
        elif role >= me.top_role:
            problems.append(f"**{role.name}** is above my top role — drag **{me.top_role.name}** above it in Roles")
        else:
            changes.append((add, role))
    for add, role in changes:
        try:
            if add:
                await member.add_roles(role, reason="Collective: ambassador status")
            else:
                await member.remove_roles(role, reason="Collective: ambassador status")
        except discord.HTTPException as exc:
            problems.append(explain_refusal(exc, bot_role=me.top_role.name))
    return problems


async def sync_roles_or_retry(bot: CollectiveBot, guild_id: int, user_id: int, *, report: bool = True) -> list[str]:
    problems = await sync_roles(bot, guild_id, user_id)
    if problems and report:
        now = bot.clock.now()
        async with bot.db.transaction() as tx:
            await tx.schedule(
                guild_id,
                ROLE_SYNC_TIMER,
                f"{user_id}:{int(now.timestamp())}",
                now + timedelta(minutes=ROLE_RETRY_MINUTES),
                now,
                {"user_id": user_id},
            )
        card = embed("⚠️ Role assignment failed", f"<@{user_id}>'s roles could not be updated.", colour=WARNING)
        add_field(card, "Why", "\n".join(f"• {p}" for p in problems))
        add_field(card, "What happens next", f"I'll retry in {ROLE_RETRY_MINUTES} minutes, then twice more.")
        await tell_moderators(bot, guild_id, card=card)
    return problems


def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40]
    return slug or "ambassador"


def welcome_embed(guild: discord.Guild, code: Code | None, channel_ids: dict[str, int]) -> discord.Embed:
    card = embed(f"Welcome to the {guild.name} ambassador program! 🎉", colour=SUCCESS)
    if code is not None:
        add_field(card, "Your discount code", f"`{code.code}` — share it with your audience; every sale counts.")
    where = [f"<#{channel_ids[k]}> {label}" for k, label in _CHANNEL_LABELS if k in channel_ids]
    if where:
        add_field(card, "Where things happen", "\n".join(where))
    add_field(
        card,
        "Guidelines",
        "Be honest about the partnership (#ad / use the platform's paid-partnership label), "
        "only post content you'd stand behind, and ask in the announcements channel if unsure.",
    )
    return card


_CHANNEL_LABELS = [
    ("announcements", "— news from the brand team"),
    ("briefs", "— what to create next"),
    ("drops", "— early looks"),
    ("focus_group", "— polls and feedback"),
    ("leaderboard", "— points and standings"),
]


async def welcome(bot: CollectiveBot, guild_id: int, user_id: int, code: Code | None) -> Welcome:
    """Welcome DM; when DMs are closed, a private channel only they and the moderators see."""
    guild = bot.get_guild(guild_id)
    if guild is None:
        return "failed"
    bound = await all_bindings(bot.db, guild_id)
    channel_ids = {p.removeprefix("channel:"): i for p, i in bound.items() if p.startswith("channel:")}
    card = welcome_embed(guild, code, channel_ids)
    if await send_dm(bot, guild_id, user_id, embed=card) == "sent":
        return "dm"
    member = await _member(guild, user_id)
    if member is None:
        return "failed"
    moderator_id = await get_binding(bot.db, guild_id, ROLE_MODERATOR)
    targets = overwrite_targets(guild, guild.get_role(moderator_id) if moderator_id else None, None)
    overwrites = to_overwrites(private_welcome_overwrites(), targets)
    overwrites[member] = discord.PermissionOverwrite(view_channel=True, read_message_history=True, send_messages=True)
    category = guild.get_channel(channel_ids.get("category", 0))
    try:
        channel = await guild.create_text_channel(
            f"welcome-{_slug(member.display_name)}",
            category=category if isinstance(category, discord.CategoryChannel) else None,
            overwrites=overwrites,
            topic="A private welcome: only you and the program moderators see this channel.",
            reason="Collective: welcome for a member whose DMs are closed",
        )
        await channel.send(content=f"{member.mention} — your DMs are closed, so here's your welcome.", embed=card)
    except discord.HTTPException as exc:
        log.warning("could not create a private welcome for %s in guild %s: %s", user_id, guild_id, exc)
        return "failed"
    return "channel"

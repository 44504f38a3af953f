"""The one error path for slash commands, buttons, selects and modals.

Domain errors (``CollectiveError``) become a friendly ephemeral reply. Discord refusing the bot for a missing
permission (403) is explained in words — which permission, where, what to do — since a server admin can fix
it and an error id would not tell them how. Anything unexpected is logged with context under a short error
id, and the member sees an apology with that id — never a stack trace.
"""

from __future__ import annotations

import logging
import re
import secrets
from typing import Any

import discord
from discord import app_commands

from bot.errors import CollectiveError, NulInText
from bot.services.inputs.typed_text import holds_nul
from bot.ui.markup import render

log = logging.getLogger("collective.errors")

MISSING_PERMISSIONS = 50013
CANNOT_DM = 50007

# What the bot was doing, by Discord route (method, path pattern), and the permissions that needs. ``{c}`` is a
# channel id and ``{r}`` a role id, taken from the refused request's URL. The first match wins.
_ROUTES: list[tuple[str, str, str, str]] = [
    (
        "POST",
        r"/channels/(?P<c>\d+)/messages/\d+/threads$",
        "open a thread in {c}",
        "**Create Public Threads** and **Send Messages in Threads** there",
    ),
    (
        "POST",
        r"/channels/(?P<c>\d+)/threads$",
        "open a thread in {c}",
        "**Create Public Threads** and **Send Messages in Threads** there",
    ),
    (
        "POST",
        r"/channels/(?P<c>\d+)/messages$",
        "post in {c}",
        "**View Channels**, **Send Messages** (**Send Messages in Threads** in a thread), **Embed Links** and "
        "**Attach Files** there",
    ),
    (
        "GET",
        r"/channels/(?P<c>\d+)/messages",
        "read the recent messages in {c}",
        "**View Channels** and **Read Message History** there",
    ),
    ("*", r"/channels/(?P<c>\d+)/messages/\d+$", "update my message in {c}", "**View Channels** there"),
    (
        "*",
        r"/channels/(?P<c>\d+)/permissions/\d+$",
        "change who can see {c}",
        "**Manage Roles**, and every permission I allow or deny there myself — Discord only lets me allow or deny "
        "what my own role has",
    ),
    (
        "PATCH",
        r"/channels/(?P<c>\d+)$",
        "change {c}",
        "**Manage Channels** and **Manage Roles**, and every permission I allow or deny there myself",
    ),
    (
        "POST",
        r"/guilds/\d+/channels$",
        "create a channel",
        "**Manage Channels** and **Manage Roles**, and every permission I give the channel myself",
    ),
    (
        "*",
        r"/guilds/\d+/members/\d+/roles/(?P<r>\d+)$",
        "give or take the role {r}",
        "**Manage Roles**, and my top role must be above {r} (Server Settings → Roles: drag my role above it)",
    ),
    (
        "*",
        r"/guilds/\d+/members/\d+$",
        "change a member's roles",
        "**Manage Roles**, and my top role must be above the roles I hand out",
    ),
    ("*", r"/guilds/\d+/roles", "create or change a role", "**Manage Roles**, and my top role must be above the role"),
    (
        "*",
        r"/guilds/\d+/scheduled-events",
        "create or change an event in the server's Events list",
        "**Create Events** (an event in a voice channel also needs **Connect** there; in a stage channel, "
        "**Manage Channels**, **Mute Members** and **Move Members**)",
    ),
]


def explain_refusal(error: discord.HTTPException, *, bot_role: str | None = None) -> str:
    """Why Discord refused the bot, in words a server admin can act on."""
    response = getattr(error, "response", None)
    method = str(getattr(response, "method", "") or "").upper()
    path = str(getattr(getattr(response, "url", None), "path", "") or "")
    if error.code == CANNOT_DM:
        return "Discord refused a direct message: the member has closed their DMs."
    if not isinstance(error, discord.Forbidden):
        return f"Discord refused the request ({error.status}: {' '.join((error.text or '').split())[:200]})."
    role = f"**{bot_role}**" if bot_role else "my role"
    for verb, pattern, doing, needs in _ROUTES:
        found = re.search(pattern, path)
        if found is None or verb not in ("*", method):
            continue
        ids = found.groupdict()
        mentions = {"c": f"<#{ids['c']}>" if ids.get("c") else "", "r": f"<@&{ids['r']}>" if ids.get("r") else ""}
        return (
            f"Discord refused to let me {doing.format(**mentions)}: I need {needs.format(**mentions)}. "
            f"A server admin can turn that on for {role} in Server Settings → Roles, or in the channel's "
            "settings → Permissions."
        )
    return (
        f"Discord refused: I'm missing a permission for this. A server admin can check that {role} has every "
        "permission the README lists (Server Settings → Roles)."
    )


def _unwrap(error: BaseException) -> BaseException:
    while isinstance(error, app_commands.CommandInvokeError | app_commands.TransformerError) and error.__cause__:
        if isinstance(error, app_commands.TransformerError) and not isinstance(error.__cause__, CollectiveError):
            return error
        error = error.__cause__
    return error


def describe_expected(error: BaseException) -> str | None:
    """The member-facing text for an expected failure, or None when the failure is a bug."""
    if isinstance(error, CollectiveError):
        return render(error.user_message)
    if isinstance(error, discord.Forbidden):
        return explain_refusal(error)
    if isinstance(error, app_commands.MissingPermissions):
        perms = ", ".join(p.replace("_", " ").title() for p in error.missing_permissions)
        return f"You need the {perms} permission to use this."
    if isinstance(error, app_commands.BotMissingPermissions):
        perms = ", ".join(p.replace("_", " ").title() for p in error.missing_permissions)
        return f"I need the {perms} permission here. Ask a server admin to grant it to my role."
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command works inside the brand's server, not in DMs."
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Slow down a little — try again in {error.retry_after:.0f}s."
    if isinstance(error, app_commands.CheckFailure):
        return str(error) or "You can't use this command."
    if isinstance(error, app_commands.TransformerError):
        return f"`{error.value}` isn't a valid value for that option."
    return None


async def reply_ephemeral(interaction: discord.Interaction[Any], content: str) -> None:
    try:
        if interaction.response.is_done():
            await interaction.followup.send(content, ephemeral=True)
        else:
            await interaction.response.send_message(content, ephemeral=True)
    except discord.HTTPException as exc:
        # The token may have expired (15 min) or the interaction was already answered elsewhere.
        log.warning("could not deliver an error reply for interaction %s: %s", interaction.id, exc)


async def report_interaction_error(
    interaction: discord.Interaction[Any], error: BaseException, *, where: str | None = None
) -> str | None:
    """Answer the member and log. Returns the error id for unexpected errors (None for expected ones)."""
    cause = _unwrap(error)
    if isinstance(cause, discord.Forbidden):
        # Not a bug: the server's permissions. Named for whoever reads the reply, logged for the operator.
        log.warning("Discord refused %s in guild %s: %s", where or _describe(interaction), interaction.guild_id, cause)
        me = interaction.guild.me if interaction.guild is not None else None
        expected: str | None = explain_refusal(cause, bot_role=me.top_role.name if me is not None else None)
    else:
        expected = describe_expected(cause)
    if expected is not None:
        await reply_ephemeral(interaction, f"⚠️ {expected}")
        return None
    error_id = secrets.token_hex(4)
    log.error(
        "unexpected error %s in %s (guild=%s channel=%s user=%s)",
        error_id,
        where or _describe(interaction),
        interaction.guild_id,
        interaction.channel_id,
        interaction.user.id,
        exc_info=cause,
    )
    await reply_ephemeral(
        interaction,
        f"Sorry — something went wrong on our side (error id `{error_id}`). "
        "Nothing was changed; please try again, or show this id to a moderator.",
    )
    return error_id


def _describe(interaction: discord.Interaction[Any]) -> str:
    if interaction.command is not None:
        return f"/{interaction.command.qualified_name}"
    data: dict[str, Any] = dict(interaction.data or {})
    custom_id = data.get("custom_id")
    return f"component {custom_id}" if custom_id else f"interaction type {interaction.type.name}"


async def refuse_nul_input(interaction: discord.Interaction[Any]) -> bool:
    """False (after telling the member, privately) when typed text in the interaction holds a NUL character."""
    if not holds_nul(interaction.data):
        return True
    if interaction.type is discord.InteractionType.autocomplete:
        return False  # no suggestions for such text; the command itself is refused when sent
    await interaction.response.send_message(NulInText().user_message, ephemeral=True)
    return False

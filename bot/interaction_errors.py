"""The one error path for slash commands, buttons, selects and modals.

Domain errors (``CollectiveError``) become a friendly ephemeral reply. Anything unexpected is logged with
context under a short error id, and the member sees an apology with that id — never a stack trace.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

import discord
from discord import app_commands

from bot.errors import CollectiveError

log = logging.getLogger("collective.errors")


def _unwrap(error: BaseException) -> BaseException:
    while isinstance(error, app_commands.CommandInvokeError | app_commands.TransformerError) and error.__cause__:
        if isinstance(error, app_commands.TransformerError) and not isinstance(error.__cause__, CollectiveError):
            return error
        error = error.__cause__
    return error


def describe_expected(error: BaseException) -> str | None:
    """The member-facing text for an expected failure, or None when the failure is a bug."""
    if isinstance(error, CollectiveError):
        return error.user_message
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

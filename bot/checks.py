"""Who may use what. A moderator has Manage Server or the program's bound moderator role."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import discord
from discord import app_commands

from bot.services.program.bindings import ROLE_MODERATOR, get_binding

if TYPE_CHECKING:
    from bot.app import CollectiveBot

T = TypeVar("T")


class NotModerator(app_commands.CheckFailure):
    def __init__(self) -> None:
        super().__init__("Only program moderators can do this (Manage Server or the Program Moderator role).")


async def is_moderator(bot: CollectiveBot, member: discord.Member | discord.User) -> bool:
    if not isinstance(member, discord.Member):
        return False
    perms = member.guild_permissions
    if perms.administrator or perms.manage_guild:
        return True
    role_id = await get_binding(bot.db, member.guild.id, ROLE_MODERATOR)
    return role_id is not None and member.get_role(role_id) is not None


async def require_moderator(interaction: discord.Interaction[Any]) -> int:
    """The server id once the member is known to be a moderator; the one refusal (``NotModerator``) otherwise.

    For what no command check or ``moderator_only`` component guards by itself: a form's submission."""
    if interaction.guild_id is None or not await is_moderator(interaction.client, interaction.user):
        raise NotModerator()
    return interaction.guild_id


async def _moderator_predicate(interaction: discord.Interaction[Any]) -> bool:
    if interaction.guild is None:
        raise app_commands.NoPrivateMessage()
    if not await is_moderator(interaction.client, interaction.user):
        raise NotModerator()
    return True


_moderator_predicate.__collective_moderator__ = True  # type: ignore[attr-defined]


def moderator_only() -> Callable[[T], T]:
    """Runtime check for moderator commands; /help also uses it to hide them from everyone else."""
    return app_commands.check(_moderator_predicate)


def is_moderator_command(command: app_commands.Command[Any, ..., Any] | app_commands.Group) -> bool:
    node: app_commands.Command[Any, ..., Any] | app_commands.Group | None = command
    while node is not None:
        checks = getattr(node, "checks", [])
        if any(getattr(check, "__collective_moderator__", False) for check in checks):
            return True
        if getattr(node, "moderator_only", False):
            return True
        node = node.parent
    return False


class ModeratorGroup(app_commands.Group):
    """A command group whose every subcommand is for moderators."""

    moderator_only = True

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        return await _moderator_predicate(interaction)


# ``extras`` of a command only active ambassadors can use (it refuses everyone else): /help lists it to them alone.
FOR_AMBASSADORS: dict[Any, Any] = {"audience": "ambassadors"}

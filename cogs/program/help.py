"""/help: the commands the caller may use, grouped by capability.

Three audiences: everyone in the server (/apply, /help, the leaderboard), active ambassadors (commands with
``extras=FOR_AMBASSADORS``, which refuse anyone else), and moderators (moderator checks or groups, and commands
Discord hides by default such as /setup), who see everything with their own commands marked 🛡️."""

from __future__ import annotations

from typing import Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import CollectiveBot
from bot.checks import FOR_AMBASSADORS, is_moderator, is_moderator_command
from bot.services.program.members import find_member
from bot.ui.embeds import DESCRIPTION_LIMIT, EMBED_TOTAL_LIMIT, FIELDS_LIMIT, embed
from bot.ui.paginator import Paginator

INTRO = (
    "Collective runs this server's ambassador program: apply, get your code, create for briefs, "
    "vote in focus groups and come to events."
)
MODERATOR_NOTE = " Commands marked 🛡️ are for moderators."
Audience = Literal["everyone", "ambassadors", "moderators"]


def audience_of(command: app_commands.Command[Any, ..., Any]) -> Audience:
    # default_permissions: Discord hides the command from members by default (/setup needs Manage Server).
    if is_moderator_command(command) or command.default_permissions:
        return "moderators"
    node: app_commands.Command[Any, ..., Any] | app_commands.Group | None = command
    while node is not None:
        if node.extras.get("audience") == FOR_AMBASSADORS["audience"]:
            return "ambassadors"
        node = node.parent
    return "everyone"


def visible_commands(
    bot: CollectiveBot, moderator: bool, ambassador: bool = True
) -> dict[str, list[tuple[str, str, bool]]]:
    """Section name → (qualified name, description, moderator-only) for every command the caller may use."""
    sections: dict[str, list[tuple[str, str, bool]]] = {}
    for cog in sorted(bot.cogs.values(), key=lambda c: c.qualified_name):
        for command in cog.walk_app_commands():
            if not isinstance(command, app_commands.Command):
                continue
            audience = audience_of(command)
            mod_only = audience == "moderators"
            if (mod_only or (audience == "ambassadors" and not ambassador)) and not moderator:
                continue
            sections.setdefault(cog.qualified_name, []).append((command.qualified_name, command.description, mod_only))
    return sections


def help_pages(sections: dict[str, list[tuple[str, str, bool]]]) -> list[discord.Embed]:
    pages: list[discord.Embed] = []
    marked = any(mod for entries in sections.values() for _, _, mod in entries)
    page = embed("Collective — what you can do", INTRO + (MODERATOR_NOTE if marked else ""))
    for section, entries in sections.items():
        lines = [f"{'🛡️ ' if mod else ''}`/{name}` — {description}" for name, description, mod in entries]
        value = "\n".join(lines)[:1024]
        # Start a new page rather than overflow Discord's per-embed limits.
        if len(page.fields) >= FIELDS_LIMIT or len(page) + len(section) + len(value) > EMBED_TOTAL_LIMIT - 200:
            pages.append(page)
            page = embed("Collective — what you can do (continued)")
        page.add_field(name=section, value=value, inline=False)
    pages.append(page)
    assert all(len(p.description or "") <= DESCRIPTION_LIMIT for p in pages)
    return pages


class Help(commands.Cog, name="Getting started"):
    def __init__(self, bot: CollectiveBot) -> None:
        self.bot = bot

    @app_commands.command(name="help", description="The Collective commands you can use here")
    async def help(self, interaction: discord.Interaction[Any]) -> None:
        moderator = interaction.guild is not None and await is_moderator(self.bot, interaction.user)
        ambassador = False
        if interaction.guild_id is not None:
            member = await find_member(self.bot.db, interaction.guild_id, interaction.user.id)
            ambassador = member is not None and member.status == "active"
        pages = help_pages(visible_commands(self.bot, moderator, ambassador))
        await Paginator(pages, owner_id=interaction.user.id).send(interaction, ephemeral=True)


async def setup(bot: CollectiveBot) -> None:
    await bot.add_cog(Help(bot))

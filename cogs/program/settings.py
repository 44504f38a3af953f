"""/settings (moderators): show and change the program's settings, tiers, and which channels and roles it uses."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import CollectiveBot
from bot.checks import ModeratorGroup
from bot.errors import InvalidInput
from bot.services.program import audit, program_settings, tiers
from bot.services.program.bindings import CHANNELS, ROLE_AMBASSADOR, ROLE_MODERATOR, all_bindings, bind, channel_purpose
from bot.services.program.guild_settings import get_settings
from bot.services.program.program_settings import SETTINGS, display
from bot.ui.choices import tier_choices
from bot.ui.embeds import add_field, embed
from bot.ui.interactions import guild_id_of

SETTING_CHOICES = [app_commands.Choice(name=spec.label[:100], value=key) for key, spec in SETTINGS.items()]
CHANNEL_CHOICES = [app_commands.Choice(name=name.replace("_", " "), value=name) for name in CHANNELS]


def _mention(purpose: str, discord_id: int) -> str:
    return f"<#{discord_id}>" if purpose.startswith("channel:") else f"<@&{discord_id}>"


class SettingsGroup(ModeratorGroup, name="settings", description="The program's settings (moderators)"):
    def __init__(self, bot: CollectiveBot) -> None:
        super().__init__()
        self.bot = bot

    @app_commands.command(name="show", description="Show the program's settings, tiers and bindings")
    async def show(self, interaction: discord.Interaction[Any]) -> None:
        guild_id = guild_id_of(interaction)
        base = await get_settings(self.bot.db, guild_id)
        switches = await program_settings.get_onboarding_settings(self.bot.db, guild_id)
        values: dict[str, object] = {
            "capacity": base.capacity, "timezone": base.timezone, "digest_day": base.digest_weekday,
            "digest_time": base.digest_time.strftime("%H:%M"), "code_prefix": base.code_prefix,
            "code_pattern": base.code_pattern, "points_submission": base.points_submission_approved,
            "points_sale": base.points_sale, "points_poll": base.points_poll_vote,
            "points_event": base.points_event_attendance, "reapply_cooldown_days": switches.reapply_cooldown_days,
            "auto_approve": switches.auto_approve, "auto_promote": switches.auto_promote,
        }  # fmt: skip
        card = embed("Program settings")
        add_field(card, "Settings", "\n".join(f"{SETTINGS[k].label}: **{display(k, v)}**" for k, v in values.items()))
        tier_list = await tiers.list_tiers(self.bot.db, guild_id)
        add_field(
            card,
            "Tiers (new ambassadors join the first)",
            "\n".join(f"`{t.key}` {t.name} — commission {t.commission_text}; {t.perks or 'no perks listed'}"
                      for t in tier_list) or "None yet: add one with /settings tier.",
        )  # fmt: skip
        bound = await all_bindings(self.bot.db, guild_id)
        add_field(
            card,
            "Channels and roles",
            "\n".join(f"{p}: {_mention(p, i)}" for p, i in sorted(bound.items())) or "Nothing bound: run /setup.",
        )
        await interaction.response.send_message(embed=card, ephemeral=True)

    @app_commands.command(name="change", description="Change one setting")
    @app_commands.describe(setting="Which setting", value="The new value (e.g. 40, Europe/Paris, friday, 09:30, on)")
    @app_commands.choices(setting=SETTING_CHOICES)
    async def change(self, interaction: discord.Interaction[Any], setting: str, value: str) -> None:
        guild_id = guild_id_of(interaction)
        now = self.bot.clock.now()
        async with self.bot.db.transaction() as tx:
            change = await program_settings.change_setting(tx, guild_id, setting, value, now)
            await audit.record(
                tx, guild_id, interaction.user.id, "settings.change", None, now,
                setting=setting, old=change.old, new=change.new,
            )  # fmt: skip
        await interaction.response.send_message(
            f"{change.label}: **{display(setting, change.old)}** → **{display(setting, change.new)}**.", ephemeral=True
        )

    @app_commands.command(name="tier", description="Add or update a tier (e.g. ambassador, affiliate, creator)")
    @app_commands.describe(
        key="Short id, e.g. creator", name="Shown name", commission="Commission in %, e.g. 10", perks="What they get"
    )
    async def tier(
        self, interaction: discord.Interaction[Any], key: str, name: str, commission: str = "0", perks: str = ""
    ) -> None:
        guild_id = guild_id_of(interaction)
        now = self.bot.clock.now()
        basis_points = tiers.parse_commission(commission)
        async with self.bot.db.transaction() as tx:
            before, after = await tiers.upsert_tier(tx, guild_id, key, name, basis_points, perks)
            await audit.record(
                tx, guild_id, interaction.user.id, "settings.tier", None, now,
                tier=after.key, name=after.name, commission_bp=after.commission_bp, created=before is None,
            )  # fmt: skip
        verb = "Added" if before is None else "Updated"
        await interaction.response.send_message(
            f"{verb} tier `{after.key}` **{after.name}** (commission {after.commission_text}). "
            "Run /setup to create its role, or bind one with /settings bind-role.",
            ephemeral=True,
        )

    @app_commands.command(name="remove-tier", description="Remove a tier nobody is in")
    @app_commands.autocomplete(key=tier_choices)
    async def remove_tier(self, interaction: discord.Interaction[Any], key: str) -> None:
        guild_id = guild_id_of(interaction)
        now = self.bot.clock.now()
        async with self.bot.db.transaction() as tx:
            removed = await tiers.delete_tier(tx, guild_id, key)
            await audit.record(tx, guild_id, interaction.user.id, "settings.remove_tier", None, now, tier=removed.key)
        await interaction.response.send_message(f"Removed tier **{removed.name}**.", ephemeral=True)

    @app_commands.command(name="bind-channel", description="Use an existing channel for one of the program's purposes")
    @app_commands.choices(purpose=CHANNEL_CHOICES)
    async def bind_channel(
        self,
        interaction: discord.Interaction[Any],
        purpose: str,
        channel: discord.TextChannel | discord.CategoryChannel,
    ) -> None:
        guild_id_of(interaction)  # refused in DMs before anything is read
        if (purpose == "category") != isinstance(channel, discord.CategoryChannel):
            raise InvalidInput("Bind a category to `category`, and a text channel to every other purpose.")
        await self._bind(interaction, channel_purpose(purpose), channel.id, channel.mention)

    @app_commands.command(name="bind-role", description="Use an existing role for ambassadors, moderators or a tier")
    @app_commands.describe(purpose="ambassador, moderator, or tier:<key>")
    async def bind_role(self, interaction: discord.Interaction[Any], purpose: str, role: discord.Role) -> None:
        assert interaction.guild is not None
        value = purpose.strip().lower()
        if value == "ambassador":
            key = ROLE_AMBASSADOR
        elif value == "moderator":
            key = ROLE_MODERATOR
        elif value.startswith("tier:"):
            key = f"role:tier:{(await tiers.get_tier(self.bot.db, interaction.guild.id, value[5:])).key}"
        else:
            raise InvalidInput("The purpose is `ambassador`, `moderator` or `tier:<key>`.")
        if role.is_default() or role.managed:
            raise InvalidInput("Pick a normal role (not @everyone or a bot's own role).")
        if key != ROLE_MODERATOR and role >= interaction.guild.me.top_role:
            raise InvalidInput(
                f"**{role.name}** is above my top role, so I couldn't hand it out. Drag my role above it first."
            )
        await self._bind(interaction, key, role.id, role.mention)

    @bind_role.autocomplete("purpose")
    async def _role_purposes(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        guild_id = guild_id_of(interaction)
        options = ["ambassador", "moderator"] + [f"tier:{t.key}" for t in await tiers.list_tiers(self.bot.db, guild_id)]
        return [app_commands.Choice(name=o, value=o) for o in options if current.lower() in o][:25]

    async def _bind(self, interaction: discord.Interaction[Any], purpose: str, discord_id: int, shown: str) -> None:
        guild_id = guild_id_of(interaction)
        now = self.bot.clock.now()
        async with self.bot.db.transaction() as tx:
            await bind(tx, guild_id, purpose, discord_id, now)
            await audit.record(
                tx,
                guild_id,
                interaction.user.id,
                "settings.bind",
                None,
                now,
                purpose=purpose,
                id=discord_id,
            )
        await interaction.response.send_message(f"`{purpose}` is now {shown}.", ephemeral=True)


class Settings(commands.Cog, name="Settings"):
    def __init__(self, bot: CollectiveBot) -> None:
        self.bot = bot
        self.group = SettingsGroup(bot)

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.group)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.group.name)


async def setup(bot: CollectiveBot) -> None:
    await bot.add_cog(Settings(bot))

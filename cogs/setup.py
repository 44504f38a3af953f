"""/setup: create or adopt the program's roles, private category and channels; repair what's missing.

What to create is data in ``bot/services/setup_plan.py``; this cog compares it with the server, makes the
Discord calls, then binds every purpose in one transaction. Running it again creates nothing twice.
"""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import CollectiveBot
from bot.errors import NotAllowed
from bot.services import audit, tiers
from bot.services.bindings import ROLE_AMBASSADOR, ROLE_MODERATOR, all_bindings, bind
from bot.services.setup_plan import (
    ChannelSpec,
    Existing,
    Step,
    build_plan,
    missing_bot_permissions,
    needs_repair,
    overwrites_for,
    reconcile,
    repaired,
    unassignable,
)
from bot.ui.embeds import SUCCESS, add_field, embed
from cogs import _membership as ms

REASON = "Collective /setup"


def _pairs(channel: discord.abc.GuildChannel) -> dict[int, tuple[int, int]]:
    pairs = {}
    for target, overwrite in channel.overwrites.items():
        allow, deny = overwrite.pair()
        pairs[target.id] = (allow.value, deny.value)
    return pairs


class Setup(commands.Cog, name="Setup"):
    def __init__(self, bot: CollectiveBot) -> None:
        self.bot = bot

    @app_commands.command(name="setup", description="Create or repair the program's roles and private channels")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.checks.has_permissions(manage_guild=True)
    async def setup_command(self, interaction: discord.Interaction[Any]) -> None:
        guild = interaction.guild
        assert guild is not None
        me = guild.me
        missing = missing_bot_permissions({name for name, value in me.guild_permissions if value})
        if missing:
            raise NotAllowed(
                f"I need the **{' and '.join(missing)}** permission to set up the program. In Server Settings → "
                f"Roles → **{me.top_role.name}**, turn it on, then run /setup again. Nothing was changed."
            )
        plan = build_plan(await tiers.list_tiers(self.bot.db, guild.id))
        existing = Existing(
            roles={r.id: r.name for r in guild.roles if not r.is_default() and not r.managed},
            channels={c.id: (c.name, isinstance(c, discord.CategoryChannel), c.category_id) for c in guild.channels},
            bindings=await all_bindings(self.bot.db, guild.id),
        )
        steps = reconcile(plan, existing)
        positions = {
            role.name: role.position
            for step in steps.roles
            if step.discord_id is not None and (role := guild.get_role(step.discord_id)) is not None
        }
        blocked = unassignable(positions, me.top_role.position)
        if blocked:
            raise NotAllowed(
                f"My top role **{me.top_role.name}** is below {', '.join(f'**{n}**' for n in blocked)}, so I couldn't "
                "hand those roles out. In Server Settings → Roles, drag my role above them, then run /setup again. "
                "Nothing was changed."
            )
        await interaction.response.defer(ephemeral=True, thinking=True)
        report: list[str] = []
        ids: dict[str, int] = {}
        try:
            await self._apply(
                guild, plan.category, plan.channels, steps.roles, steps.category, steps.channels, ids, report
            )
        finally:
            # Bind whatever exists, even after a failure halfway: the next run adopts instead of duplicating.
            now = self.bot.clock.now()
            async with self.bot.db.transaction() as tx:
                for purpose, discord_id in ids.items():
                    await bind(tx, guild.id, purpose, discord_id, now)
                await audit.record(tx, guild.id, interaction.user.id, "setup.run", None, now, changes=report)
            await self._make_moderator(interaction, ids.get(ROLE_MODERATOR), report)
        card = embed("Program setup", colour=SUCCESS)
        add_field(card, "What I did", "\n".join(report) if report else "Everything was already in place. ✅")
        kept = [s.name for s in [*steps.roles, *steps.channels] if s.kind == "keep"]
        if kept:
            add_field(card, "Already in place", ", ".join(kept))
        await interaction.followup.send(embed=card, ephemeral=True)

    async def _apply(
        self,
        guild: discord.Guild,
        category_spec: ChannelSpec,
        channel_specs: list[ChannelSpec],
        role_steps: list[Step],
        category_step: Step | None,
        channel_steps: list[Step],
        ids: dict[str, int],
        report: list[str],
    ) -> None:
        colours = {ROLE_AMBASSADOR: 0xE91E63, ROLE_MODERATOR: 0x5B5BD6}
        # Keep the created objects: the gateway's ROLE_CREATE may not have reached the cache yet.
        made: dict[str, discord.Role] = {}
        for step in role_steps:
            if step.kind == "create":
                role = await guild.create_role(
                    name=step.name, colour=discord.Colour(colours.get(step.purpose, 0)), reason=REASON
                )
                ids[step.purpose] = role.id
                made[step.purpose] = role
                report.append(f"Created role **{step.name}**")
            else:
                assert step.discord_id is not None
                ids[step.purpose] = step.discord_id
                if step.kind == "adopt":
                    report.append(f"Adopted the existing role **{step.name}**")
        targets = ms.overwrite_targets(
            guild,
            made.get(ROLE_MODERATOR) or guild.get_role(ids.get(ROLE_MODERATOR, 0)),
            made.get(ROLE_AMBASSADOR) or guild.get_role(ids.get(ROLE_AMBASSADOR, 0)),
        )
        assert category_step is not None
        category = await self._channel(guild, category_spec, category_step, None, targets, report)
        ids[category_step.purpose] = category.id
        assert isinstance(category, discord.CategoryChannel)
        for spec, step in zip(channel_specs, channel_steps, strict=True):
            channel = await self._channel(guild, spec, step, category, targets, report)
            ids[step.purpose] = channel.id

    async def _channel(
        self,
        guild: discord.Guild,
        spec: ChannelSpec,
        step: Step,
        category: discord.CategoryChannel | None,
        targets: dict[Any, Any],
        report: list[str],
    ) -> discord.abc.GuildChannel:
        wanted = ms.to_overwrites(overwrites_for(spec), targets)
        if step.kind == "create":
            if category is None:
                created: discord.abc.GuildChannel = await guild.create_category(
                    spec.name, overwrites=wanted, reason=REASON
                )
            else:
                created = await guild.create_text_channel(
                    spec.name, category=category, topic=spec.topic, overwrites=wanted, reason=REASON
                )
            report.append(f"Created {'category' if category is None else 'channel'} **{spec.name}**")
            return created
        assert step.discord_id is not None
        channel = guild.get_channel(step.discord_id)
        assert channel is not None
        if step.kind == "adopt":
            report.append(f"Adopted the existing {'category' if category is None else 'channel'} **{spec.name}**")
        desired = {t.id: (o.pair()[0].value, o.pair()[1].value) for t, o in wanted.items()}
        actual = _pairs(channel)
        if needs_repair(desired, actual):
            objects = {t.id: t for t in channel.overwrites} | {t.id: t for t in wanted}
            merged = {
                objects[i]: discord.PermissionOverwrite.from_pair(discord.Permissions(a), discord.Permissions(d))
                for i, (a, d) in repaired(desired, actual).items()
            }
            await channel.edit(overwrites=merged, reason=REASON)
            report.append(f"Repaired who can see **{spec.name}**")
        return channel

    async def _make_moderator(
        self, interaction: discord.Interaction[Any], role_id: int | None, report: list[str]
    ) -> None:
        """Whoever runs /setup moderates the program, so they get the role that shows them the review channel."""
        member = interaction.user
        guild = interaction.guild
        if guild is None or role_id is None or not isinstance(member, discord.Member):
            return
        role = guild.get_role(role_id)
        if role is None or member.get_role(role_id) is not None:
            return
        try:
            await member.add_roles(role, reason=REASON)
            report.append(f"Gave you the **{role.name}** role")
        except discord.HTTPException:
            report.append(f"⚠️ Couldn't give you the **{role.name}** role; add it yourself")


async def setup(bot: CollectiveBot) -> None:
    await bot.add_cog(Setup(bot))

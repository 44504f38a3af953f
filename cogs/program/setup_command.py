"""/setup: create or adopt the program's roles, private category and channels; repair what's missing.

What to create is data in ``bot/services/program/setup_plan.py``; this cog compares it with the server, makes the
Discord calls, then binds every purpose in one transaction. Running it again creates nothing twice.

The bot is not an administrator (README's invite link grants a short list), so before changing anything it
checks that list and names what is missing; if Discord still refuses a step halfway (a channel's own
overwrites, the role order), it stops, binds what it made, and says which permission, where, and what to do —
the next /setup picks up from there.
"""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import CollectiveBot
from bot.errors import NotAllowed
from bot.interaction_errors import explain_refusal
from bot.services.program import audit, tiers
from bot.services.program.bindings import ROLE_AMBASSADOR, ROLE_MODERATOR, all_bindings, bind
from bot.services.program.setup_plan import (
    BOT_PERMISSIONS,
    ChannelSpec,
    Existing,
    Step,
    build_plan,
    labels,
    missing_bot_permissions,
    needs_repair,
    overwrites_for,
    reconcile,
    repaired,
    unassignable,
)
from bot.ui.embeds import SUCCESS, WARNING, add_field, embed
from cogs.onboarding import membership as ms

REASON = "Collective /setup"


class StepRefused(Exception):
    """Discord refused one /setup step; ``explanation`` says which permission, where, and what to do."""

    def __init__(self, explanation: str) -> None:
        super().__init__(explanation)
        self.explanation = explanation


def _lacking(guild: discord.Guild, overwrites: dict[Any, discord.PermissionOverwrite]) -> list[str]:
    """Permissions these overwrites allow or deny that the bot's roles don't hold: Discord refuses those."""
    held = guild.me.guild_permissions
    if held.administrator:
        return []
    bits = 0
    for overwrite in overwrites.values():
        allow, deny = overwrite.pair()
        bits |= allow.value | deny.value
    lacking = bits & ~held.value
    known = {p.bit: p.label for p in BOT_PERMISSIONS}
    names = [known[bit] for bit in known if lacking & bit]
    others = discord.Permissions(lacking & ~sum(known))
    return names + [name.replace("_", " ").title() for name, value in others if value]


def _refused(guild: discord.Guild, doing: str, needs: str, lacking: list[str]) -> StepRefused:
    role = guild.me.top_role.name
    if lacking:
        named = ", ".join(f"**{n}**" for n in lacking)
        return StepRefused(
            f"Discord refused to let me {doing}: it allows or denies {named}, and Discord only lets me set "
            f"permissions my own role has. Give **{role}** {named} in Server Settings → Roles, or remove them "
            "from that channel's permissions, then run /setup again — it picks up where it stopped."
        )
    return StepRefused(
        f"Discord refused to let me {doing}: I need {needs}. Check **{role}** in Server Settings → Roles (and that "
        "the channel's own permissions don't deny it to me), then run /setup again — it picks up where it stopped."
    )


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
        # getattr, not iteration: discord.py's iteration skips aliases such as view_channel.
        granted = {p.attribute for p in BOT_PERMISSIONS if getattr(me.guild_permissions, p.attribute)}
        missing = missing_bot_permissions(granted)
        if missing:
            why = "; ".join(f"**{p.label}** to {p.why}" for p in missing)
            raise NotAllowed(
                f"I need {labels(missing)} to set up the program ({why}). In Server Settings → Roles → "
                f"**{me.top_role.name}**, turn {'it' if len(missing) == 1 else 'them'} on, then run /setup again. "
                "Nothing was changed."
            )
        later = missing_bot_permissions(granted, for_setup=False)
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
        stopped: str | None = None
        try:
            await self._apply(
                guild, plan.category, plan.channels, steps.roles, steps.category, steps.channels, ids, report
            )
        except StepRefused as refused:
            stopped = refused.explanation
            report.append("⚠️ Stopped: Discord refused the next step")
        finally:
            # Bind whatever exists, even after a failure halfway: the next run adopts instead of duplicating.
            now = self.bot.clock.now()
            async with self.bot.db.transaction() as tx:
                for purpose, discord_id in ids.items():
                    await bind(tx, guild.id, purpose, discord_id, now)
                await audit.record(tx, guild.id, interaction.user.id, "setup.run", None, now, changes=report)
        if stopped is None:
            await self._make_moderator(interaction, ids.get(ROLE_MODERATOR), report)
        card = embed("Program setup", colour=SUCCESS if stopped is None else WARNING)
        add_field(card, "What I did", "\n".join(report) if report else "Everything was already in place. ✅")
        kept = [s.name for s in [*steps.roles, *steps.channels] if s.kind == "keep"]
        if kept:
            add_field(card, "Already in place", ", ".join(kept))
        if stopped is not None:
            add_field(card, "⚠️ Not finished", stopped)
        if later:
            add_field(
                card,
                "⚠️ Still missing",
                "\n".join(f"**{p.label}** — to {p.why}" for p in later)
                + f"\nTurn {'it' if len(later) == 1 else 'them'} on for **{me.top_role.name}** in Server Settings → "
                "Roles; the rest of the program works meanwhile.",
            )
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
                try:
                    # No permissions of its own (Discord refuses a role with permissions the bot lacks): the
                    # program's roles only decide who sees the private channels.
                    role = await guild.create_role(
                        name=step.name,
                        colour=discord.Colour(colours.get(step.purpose, 0)),
                        permissions=discord.Permissions.none(),
                        reason=REASON,
                    )
                except discord.Forbidden as exc:
                    raise _refused(guild, f"create the role **{step.name}**", "**Manage Roles**", []) from exc
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
        what = "category" if category is None else "channel"
        if step.kind == "create":
            try:
                if category is None:
                    created: discord.abc.GuildChannel = await guild.create_category(
                        spec.name, overwrites=wanted, reason=REASON
                    )
                else:
                    created = await guild.create_text_channel(
                        spec.name, category=category, topic=spec.topic, overwrites=wanted, reason=REASON
                    )
            except discord.Forbidden as exc:
                raise _refused(
                    guild,
                    f"create the {what} **{spec.name}**",
                    "**Manage Channels** and **Manage Roles**",
                    _lacking(guild, wanted),
                ) from exc
            report.append(f"Created {what} **{spec.name}**")
            return created
        assert step.discord_id is not None
        channel = guild.get_channel(step.discord_id)
        assert channel is not None
        if step.kind == "adopt":
            report.append(f"Adopted the existing {what} **{spec.name}**")
        desired = {t.id: (o.pair()[0].value, o.pair()[1].value) for t, o in wanted.items()}
        actual = _pairs(channel)
        if needs_repair(desired, actual):
            objects = {t.id: t for t in channel.overwrites} | {t.id: t for t in wanted}
            # One target at a time, and only those that need it: rewriting every overwrite would also re-send
            # ones a server admin set with permissions the bot lacks, and Discord would refuse the lot.
            # The bot's own overwrite first: hiding the channel from @everyone before the bot may see it would
            # lock the bot out of the rest of the repair.
            fixes = sorted(repaired(desired, actual).items(), key=lambda item: item[0] != guild.me.id)
            for target_id, (allow, deny) in fixes:
                target = objects[target_id]
                # An uncached target (discord.Object) is one the plan doesn't name: it needs no repair.
                if actual.get(target_id) == (allow, deny) or not isinstance(target, discord.Role | discord.Member):
                    continue
                overwrite = discord.PermissionOverwrite.from_pair(discord.Permissions(allow), discord.Permissions(deny))
                try:
                    await channel.set_permissions(target, overwrite=overwrite, reason=REASON)
                except discord.Forbidden as exc:
                    raise _refused(
                        guild,
                        f"change who can see {channel.mention}",
                        "**Manage Roles**",
                        _lacking(guild, {target_id: overwrite}),
                    ) from exc
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
        except discord.HTTPException as exc:
            why = explain_refusal(exc, bot_role=guild.me.top_role.name)
            report.append(f"⚠️ Couldn't give you the **{role.name}** role; add it yourself. {why}")


async def setup(bot: CollectiveBot) -> None:
    await bot.add_cog(Setup(bot))

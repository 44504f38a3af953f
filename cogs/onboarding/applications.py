"""/apply, the review queue's buttons, and what follows a decision: roles, code, welcome, the waitlist.

Every decision is one transaction in ``bot/services/onboarding/applications.py``; this cog acts on Discord after commit.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

import bot.services.onboarding.digest  # noqa: F401 — registers onboarding's digest sections
from bot.app import CollectiveBot
from bot.checks import require_moderator
from bot.dm import send_dm
from bot.errors import NotAllowed
from bot.outbox import OutboxItem
from bot.scheduler import Timer
from bot.services.onboarding import applications as onboarding
from bot.services.onboarding import roster
from bot.services.onboarding.applications import Application, ApplicationDecision, AppStatus
from bot.services.onboarding.digest import ROLE_SYNC_TIMER
from bot.services.program import members
from bot.services.program.guild_settings import get_settings
from bot.services.program.program_settings import get_onboarding_settings
from bot.services.sales.codes import current_code
from bot.text import plural
from bot.ui.embeds import SUCCESS, embed
from bot.ui.interactions import guild_id_of
from bot.ui.posted_record import Rendered, post_record, refresh_record
from cogs.onboarding import membership as ms
from cogs.onboarding.application_ui import DYNAMIC_ITEMS, ApplicationModal, RejectModal, review_embed, review_view

log = logging.getLogger(__name__)
NO_MENTIONS = discord.AllowedMentions.none()
FOLLOW_UP = "onboarding.follow-up"  # the outbox subscriber of a decision's Discord side


class Onboarding(commands.Cog, name="Onboarding"):
    def __init__(self, bot: CollectiveBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(*DYNAMIC_ITEMS)
        self.bot.scheduler.register_timer(ROLE_SYNC_TIMER, self.role_sync_timer)
        self.bot.outbox.subscribe(members.SEATS_CHANGED, "onboarding.fill-seat", self.on_seats_changed)
        self.bot.outbox.subscribe(onboarding.DECIDED, FOLLOW_UP, self.follow_up)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(*DYNAMIC_ITEMS)
        self.bot.scheduler.unregister_timer(ROLE_SYNC_TIMER)
        self.bot.outbox.unsubscribe(members.SEATS_CHANGED, "onboarding.fill-seat")
        self.bot.outbox.unsubscribe(onboarding.DECIDED, FOLLOW_UP)

    # -- applying ---------------------------------------------------------------------------------------

    @app_commands.command(name="apply", description="Apply to become one of the brand's ambassadors")
    @app_commands.guild_only()
    async def apply(self, interaction: discord.Interaction[Any]) -> None:
        guild_id = guild_id_of(interaction)
        if await ms.review_channel(self.bot, guild_id) is None:
            raise NotAllowed("The ambassador program isn't open yet: a moderator needs to run /setup first.")
        settings = await get_onboarding_settings(self.bot.db, guild_id)
        await onboarding.check_eligibility(
            self.bot.db, guild_id, interaction.user.id, self.bot.clock.now(), settings.reapply_cooldown_days
        )
        await interaction.response.send_modal(ApplicationModal())

    async def application_submitted(self, interaction: discord.Interaction[Any], modal: ApplicationModal) -> None:
        guild_id = guild_id_of(interaction)
        now = self.bot.clock.now()
        form = modal.form()
        settings = await get_onboarding_settings(self.bot.db, guild_id)
        async with self.bot.db.transaction() as tx:
            app = await onboarding.submit_application(
                tx, guild_id, interaction.user.id, interaction.user.display_name, form, now,
                cooldown_days=settings.reapply_cooldown_days,
            )  # fmt: skip
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self.post_for_review(app)
        if settings.auto_approve:
            full = await get_settings(self.bot.db, guild_id)
            async with self.bot.db.transaction() as tx:
                decision = await onboarding.approve(tx, guild_id, app.id, None, self.bot.clock.now(), full)
            await self.after_decision(decision)
            text = (
                "You're in! 🎉 Check your DMs for your code and welcome."
                if decision.outcome == "approved"
                else f"Thanks! The program is full right now; you're on the waitlist at position {decision.position}."
            )
        else:
            text = "Thanks for applying! 💌 The brand team will review your application and let you know by DM."
        await interaction.followup.send(text, ephemeral=True)

    async def post_for_review(self, app: Application) -> None:
        channel = await ms.review_channel(self.bot, app.guild_id)
        member = await members.get_member(self.bot.db, app.guild_id, app.user_id)
        if channel is None:
            return

        async def store(channel_id: int, message_id: int) -> None:
            await self.bot.db.perform(onboarding.set_review_post, app.guild_id, app.id, channel_id, message_id)

        rendered = Rendered(review_embed(app, member), review_view(app))
        try:
            await post_record(self.bot, app.guild_id, channel.id, rendered, store=store)
        except discord.HTTPException as exc:  # the application is stored: /applications still lists it
            log.warning("could not post application %s for review: %s", app.id, exc)

    # -- the review buttons -----------------------------------------------------------------------------

    async def approve_clicked(
        self, interaction: discord.Interaction[Any], application_id: int, seen: AppStatus
    ) -> None:
        guild_id = guild_id_of(interaction)  # the button (moderator_only) checked who clicked
        await interaction.response.defer(ephemeral=True, thinking=True)
        settings = await get_settings(self.bot.db, guild_id)
        async with self.bot.db.transaction() as tx:
            decision = await onboarding.approve(
                tx, guild_id, application_id, interaction.user.id, self.bot.clock.now(), settings, expected=seen
            )
        await interaction.followup.send(await self.after_decision(decision), ephemeral=True)

    async def waitlist_clicked(
        self, interaction: discord.Interaction[Any], application_id: int, seen: AppStatus
    ) -> None:
        guild_id = guild_id_of(interaction)  # the button (moderator_only) checked who clicked
        await interaction.response.defer(ephemeral=True, thinking=True)
        async with self.bot.db.transaction() as tx:
            decision = await onboarding.waitlist_application(
                tx, guild_id, application_id, interaction.user.id, self.bot.clock.now(), expected=seen
            )
        await interaction.followup.send(await self.after_decision(decision), ephemeral=True)

    async def reject_clicked(self, interaction: discord.Interaction[Any], application_id: int, seen: AppStatus) -> None:
        guild_id = guild_id_of(interaction)  # the button (moderator_only) checked who clicked
        await onboarding.require_open(self.bot.db, guild_id, application_id, seen)  # decided already: say by whom
        await interaction.response.send_modal(RejectModal(application_id, seen))

    async def reject_submitted(
        self, interaction: discord.Interaction[Any], application_id: int, seen: AppStatus, reason: str
    ) -> None:
        guild_id = await require_moderator(interaction)  # a form: no component check covers it
        onboarding.validate_reason(reason)
        await interaction.response.defer(ephemeral=True, thinking=True)
        async with self.bot.db.transaction() as tx:
            decision = await onboarding.reject(
                tx, guild_id, application_id, interaction.user.id, self.bot.clock.now(), reason, expected=seen
            )
        await interaction.followup.send(await self.after_decision(decision), ephemeral=True)

    # -- after a decision has committed -----------------------------------------------------------------

    async def after_decision(self, decision: ApplicationDecision) -> str:
        """Run the decision's follow-ups now — committed with it as an outbox row, so a crash before this point
        leaves them to the background delivery — and say how they went."""
        key = onboarding.follow_up_key(decision.application.id, decision.outcome)
        results = await self.bot.outbox.deliver_now(onboarding.DECIDED, key)
        if results is None or FOLLOW_UP not in results:
            return f"✅ Decided ({decision.outcome}); the review post, roles and messages follow in a moment."
        return str(results[FOLLOW_UP])

    async def follow_up(self, item: OutboxItem) -> str:
        """The Discord side of a committed decision: the review post redrawn, then roles, code and welcome (approved)
        or a DM (waitlisted, rejected). Returns a summary for the moderator."""
        app = await onboarding.get_application(self.bot.db, item.guild_id, int(item.payload["application_id"]))
        outcome, position = item.payload["outcome"], item.payload.get("position")
        guild_id, user_id = app.guild_id, app.user_id
        await self.refresh_review_post(app, position=position)
        who = f"<@{user_id}>"
        if outcome == "approved":
            issued = await current_code(self.bot.db, guild_id, user_id)
            problems = await ms.sync_roles_or_retry(self.bot, guild_id, user_id)
            welcome = await ms.welcome(self.bot, guild_id, user_id, issued)
            code = issued.code if issued else "—"
            roles = "roles given" if not problems else "⚠️ roles not yet given (reported in the review channel)"
            where = {"dm": "welcome sent by DM", "channel": "DMs closed: welcomed in a private channel",
                     "failed": "⚠️ the welcome could not be delivered"}[welcome]  # fmt: skip
            return f"✅ Approved {who}: code `{code}`, {roles}, {where}."
        if outcome == "waitlisted":
            card = embed(
                "You're on the waitlist",
                f"Thanks for applying! The program is full right now. You're number **{position}** in line; "
                "we'll message you as soon as a seat frees up.",
            )
            delivered = await send_dm(self.bot, guild_id, user_id, embed=card)
            note = "" if delivered == "sent" else " (their DMs are closed, so they weren't told)"
            return f"⏳ {who} is on the waitlist at position {position}{note}."
        card = embed(
            "About your ambassador application",
            f"Thank you for applying. This time we're not moving forward.\n\n**From the brand team:** {app.reason}",
        )
        delivered = await send_dm(self.bot, guild_id, user_id, embed=card)
        note = (
            "they were told the reason by DM" if delivered == "sent" else "their DMs are closed, so they weren't told"
        )
        return f"Rejected {who}; {note}."

    async def refresh_review_post(self, app: Application, *, position: int | None = None) -> None:
        member = await members.get_member(self.bot.db, app.guild_id, app.user_id)
        rendered = Rendered(review_embed(app, member, position=position), review_view(app))
        await refresh_record(self.bot, app.guild_id, app.review_channel_id, app.review_message_id, rendered)

    # -- seats, leaving and role retries ------------------------------------------------------------------

    async def on_seats_changed(self, item: OutboxItem) -> None:
        await self.fill_seat(item.guild_id)

    async def fill_seat(self, guild_id: int) -> None:
        settings = await get_settings(self.bot.db, guild_id)
        switches = await get_onboarding_settings(self.bot.db, guild_id)
        async with self.bot.db.transaction() as tx:
            update = await onboarding.seat_freed(
                tx, guild_id, self.bot.clock.now(), settings, auto_promote=switches.auto_promote
            )
        if update.promoted is not None:
            summary = await self.after_decision(update.promoted)
            await ms.tell_moderators(
                self.bot, guild_id, f"🪑 A seat freed up; auto-promoted from the waitlist. {summary}"
            )
        elif update.next_up is not None:
            app = update.next_up
            card = embed(
                "🪑 A seat is free",
                f"Next in line on the waitlist: <@{app.user_id}> (application #{app.id}). "
                f"{plural(update.free_seats, 'seat')} open.",
                colour=SUCCESS,
            )
            await ms.tell_moderators(self.bot, guild_id, card=card, view=review_view(app))

    @commands.Cog.listener("on_raw_member_remove")
    async def on_member_left(self, payload: discord.RawMemberRemoveEvent) -> None:
        async with self.bot.db.transaction() as tx:
            await roster.mark_left(tx, payload.guild_id, payload.user.id, self.bot.clock.now())

    async def role_sync_timer(self, timer: Timer, now: datetime) -> None:
        problems = await ms.sync_roles(self.bot, timer.guild_id, int(timer.payload["user_id"]))
        if problems:
            # The scheduler retries with a growing delay, then keeps the failure for /status and the digest.
            raise RuntimeError("; ".join(problems))


async def setup(bot: CollectiveBot) -> None:
    await bot.add_cog(Onboarding(bot))

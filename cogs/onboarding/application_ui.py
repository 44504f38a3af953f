"""The application review post: its embed, its persistent Approve / Waitlist / Reject buttons, and the modals.

Buttons are ``DynamicItem``s whose custom_id carries the application id, so they keep working after a
restart; each hands the click to the Onboarding cog. (A helper module, not an extension.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import discord

from bot.services.onboarding import applications as onboarding
from bot.services.onboarding.applications import LIMITS, REASON_LIMIT, Application, AppStatus
from bot.services.program.members import Member
from bot.ui.base import BaseModal, DisplayView, RecordItem
from bot.ui.custom_ids import custom_id
from bot.ui.embeds import BRAND, DANGER, SUCCESS, WARNING, add_field, embed
from bot.ui.markup import timestamp

if TYPE_CHECKING:
    from bot.app import CollectiveBot

FEATURE = "application"
SEEN: tuple[AppStatus, ...] = ("pending", "waitlisted")
COLOURS = {"pending": BRAND, "waitlisted": WARNING, "approved": SUCCESS, "rejected": DANGER, "withdrawn": DANGER}
LABELS = {"pending": "Waiting for review", "waitlisted": "On the waitlist", "approved": "Approved",
          "rejected": "Rejected", "withdrawn": "Withdrawn"}  # fmt: skip


class ReviewHandler(Protocol):
    async def approve_clicked(
        self, interaction: discord.Interaction[Any], application_id: int, seen: AppStatus
    ) -> None: ...
    async def waitlist_clicked(
        self, interaction: discord.Interaction[Any], application_id: int, seen: AppStatus
    ) -> None: ...
    async def reject_clicked(
        self, interaction: discord.Interaction[Any], application_id: int, seen: AppStatus
    ) -> None: ...
    async def application_submitted(self, interaction: discord.Interaction[Any], modal: ApplicationModal) -> None: ...
    async def reject_submitted(
        self, interaction: discord.Interaction[Any], application_id: int, seen: AppStatus, reason: str
    ) -> None: ...


def _handler(interaction: discord.Interaction[Any]) -> ReviewHandler:
    bot: CollectiveBot = interaction.client
    cog = bot.get_cog("Onboarding")
    assert cog is not None, "the onboarding cog handles review buttons"
    return cog  # type: ignore[return-value]


class _ReviewButton(RecordItem, feature=FEATURE, action="decide", keys=("application_id", "seen")):
    moderator_only = True

    def __init_subclass__(cls, *, action: str, **kwargs: Any) -> None:
        super().__init_subclass__(feature=FEATURE, action=action, keys=("application_id", "seen"), **kwargs)

    @property
    def application_id(self) -> int:
        return self.ids[0]

    @property
    def seen(self) -> AppStatus:
        """The status the moderator saw when pressing: a decision only applies if it still holds."""
        return SEEN[self.ids[1]] if self.ids[1] < len(SEEN) else "pending"


class ApproveButton(_ReviewButton, action="approve"):
    async def handle(self, interaction: discord.Interaction[Any]) -> None:
        await _handler(interaction).approve_clicked(interaction, self.application_id, self.seen)


class WaitlistButton(_ReviewButton, action="waitlist"):
    async def handle(self, interaction: discord.Interaction[Any]) -> None:
        await _handler(interaction).waitlist_clicked(interaction, self.application_id, self.seen)


class RejectButton(_ReviewButton, action="reject"):
    async def handle(self, interaction: discord.Interaction[Any]) -> None:
        await _handler(interaction).reject_clicked(interaction, self.application_id, self.seen)


DYNAMIC_ITEMS = (ApproveButton, WaitlistButton, RejectButton)


def review_view(app: Application) -> discord.ui.View | None:
    """Buttons for what can still be decided: all three while pending, Approve/Reject on the waitlist."""
    if app.status not in ("pending", "waitlisted"):
        return None
    seen = SEEN.index(app.status)
    view = DisplayView().button("Approve", custom_id(FEATURE, "approve", app.id, seen), discord.ButtonStyle.success)
    if app.status == "pending":
        view.button("Waitlist", custom_id(FEATURE, "waitlist", app.id, seen))
    return view.button("Reject", custom_id(FEATURE, "reject", app.id, seen), discord.ButtonStyle.danger)


def review_embed(app: Application, member: Member, *, position: int | None = None) -> discord.Embed:
    card = embed(f"Application #{app.id} — {member.display_name}", colour=COLOURS[app.status])
    card.description = f"<@{app.user_id}> applied {timestamp(app.created_at, 'f')}."
    add_field(card, "Social profiles", "\n".join(app.social_links) or "—")
    add_field(card, "Content niche", app.niche or "—", inline=True)
    add_field(card, "City or region", app.city or "—", inline=True)
    add_field(card, "Order number or email", app.order_ref or "—", inline=True)
    add_field(card, "Why they love the brand", app.why or "—")
    status = LABELS[app.status]
    if app.status == "waitlisted" and position is not None:
        status += f" (position {position})"
    if app.decided_at is not None and app.status != "pending":
        who = f"<@{app.decided_by}>" if app.decided_by else "the bot"
        status += f" — by {who}, {timestamp(app.decided_at, 'f')}"
    add_field(card, "Status", status)
    if app.reason:
        add_field(card, "Reason given", app.reason)
    return card


class ApplicationModal(BaseModal, title="Apply to the ambassador program"):
    social: discord.ui.TextInput[ApplicationModal] = discord.ui.TextInput(
        custom_id="social",
        label="Social profile link(s)",
        style=discord.TextStyle.paragraph,
        placeholder="https://instagram.com/you — one per line, up to 5",
        max_length=LIMITS["social"],
    )
    niche: discord.ui.TextInput[ApplicationModal] = discord.ui.TextInput(
        custom_id="niche",
        label="Your content niche",
        placeholder="e.g. skincare routines, beauty on a budget",
        max_length=LIMITS["niche"],
    )
    why: discord.ui.TextInput[ApplicationModal] = discord.ui.TextInput(
        custom_id="why", label="Why do you love the brand?", style=discord.TextStyle.paragraph, max_length=LIMITS["why"]
    )
    contact: discord.ui.TextInput[ApplicationModal] = discord.ui.TextInput(
        custom_id="contact", label="Order number or email (optional)", required=False, max_length=LIMITS["contact"]
    )
    city: discord.ui.TextInput[ApplicationModal] = discord.ui.TextInput(
        custom_id="city", label="City or region (optional, for events)", required=False, max_length=LIMITS["city"]
    )

    def __init__(self) -> None:
        super().__init__(custom_id="collective:application:form")

    def form(self) -> onboarding.ApplicationForm:
        return onboarding.validate_form(
            self.social.value, self.niche.value, self.why.value, self.contact.value, self.city.value
        )

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        await _handler(interaction).application_submitted(interaction, self)


class RejectModal(BaseModal, title="Reject this application"):
    reason: discord.ui.TextInput[RejectModal] = discord.ui.TextInput(
        custom_id="reason",
        label="Reason (the applicant will see it)",
        style=discord.TextStyle.paragraph,
        max_length=REASON_LIMIT,
        placeholder="e.g. We're looking for creators with a bit more skincare content right now.",
    )

    def __init__(self, application_id: int, seen: AppStatus) -> None:
        super().__init__(custom_id=custom_id(FEATURE, "reject-reason", application_id))
        self.application_id = application_id
        self.seen = seen

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        await _handler(interaction).reject_submitted(interaction, self.application_id, self.seen, self.reason.value)

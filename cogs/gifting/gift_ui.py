"""The Discord side of gifting shared by its cogs: the campaign's announcement, the private shipping form, and the
words of each step a member is told. Not an extension itself."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import discord

from bot.errors import InvalidInput
from bot.services.content.briefs import get_brief
from bot.services.gifting import campaigns, shipping
from bot.services.gifting.addresses import ShippingDetails
from bot.services.gifting.campaigns import Campaign
from bot.services.gifting.fulfilment import Gift
from bot.text import plural
from bot.ui.base import BaseModal, BaseView, DisplayView
from bot.ui.custom_ids import custom_id
from bot.ui.embeds import BRAND, SUCCESS, WARNING, add_field, clip, embed
from bot.ui.posted_record import Rendered, refresh_record
from bot.ui.times import when

if TYPE_CHECKING:
    from bot.app import CollectiveBot

# -- the campaign's announcement -----------------------------------------------------------------------------


def announcement(campaign: Campaign, optins: int, picked: int, brief_title: str | None) -> Rendered:
    open_ = campaign.status == "open"
    titles = {"open": "🎁 ", "closed": "🎁 Closed: ", "cancelled": "Called off: "}
    card = embed(f"{titles[campaign.status]}{campaign.product}", colour=SUCCESS if open_ else BRAND)
    if open_:
        card.description = (
            f"The brand is sending out **{campaign.quantity}** of these. Press **I'd love one** by "
            f"{when(campaign.closes_at)}: the first {plural(campaign.quantity, 'member')} to opt in get one, "
            "and I'll ask them privately where to send it. Changed your mind? **Count me out** while it's open."
        )
    elif campaign.status == "closed":
        card.description = "Opt-ins are closed; the chosen members have heard from me by DM."
    add_field(card, "For", campaigns.audience_text(campaign, picked), inline=True)
    add_field(card, "Opted in", str(optins), inline=True)
    add_field(card, "Window", f"{when(campaign.opens_at)} – {when(campaign.closes_at)}")
    if brief_title:
        add_field(card, "Brief to follow", f"“{brief_title}” — what we'd love you to make with it")
    card.set_footer(text=f"Gift campaign #{campaign.id}")
    view = None
    if open_:
        view = (
            DisplayView()
            .button("I'd love one", custom_id("gift", "optin", campaign.id), discord.ButtonStyle.success)
            .button("Count me out", custom_id("gift", "optout", campaign.id), discord.ButtonStyle.secondary)
        )
    return Rendered(card, view)


async def refresh_announcement(bot: CollectiveBot, campaign: Campaign) -> None:
    rendered = await render_announcement(bot, campaign)
    await refresh_record(bot, campaign.guild_id, campaign.channel_id, campaign.message_id, rendered)


async def render_announcement(bot: CollectiveBot, campaign: Campaign) -> Rendered:
    brief = await get_brief(bot.db, campaign.guild_id, campaign.brief_id) if campaign.brief_id else None
    picked = len(await campaigns.invitees(bot.db, campaign.id)) if campaign.picked else 0
    return announcement(campaign, await campaigns.optin_count(bot.db, campaign.id), picked,
                        brief.title if brief else None)  # fmt: skip


# -- the private shipping form -------------------------------------------------------------------------------

SaveForm = Callable[[discord.Interaction[Any], ShippingDetails], Awaitable[None]]


def _text(key: str, default: str | None, max_length: int, *, paragraph: bool = False, required: bool = True,
          placeholder: str | None = None) -> discord.ui.TextInput[Any]:  # fmt: skip
    return discord.ui.TextInput(
        custom_id=key, style=discord.TextStyle.paragraph if paragraph else discord.TextStyle.short, required=required,
        max_length=max_length, default=default[:max_length] if default else None, placeholder=placeholder,
    )  # fmt: skip


class ShippingModal(BaseModal):
    """Name, address lines, city, postal code, country: Discord's five inputs. The optional phone number follows
    in its own small form (``PhoneModal``), offered once these are saved. A refused field keeps what was typed: the
    member is offered the form again, filled in as they left it."""

    def __init__(self, save: SaveForm, typed: dict[str, str] | None = None) -> None:
        super().__init__(title="Where should we send it?", timeout=900)
        self._save = save
        values = typed or {}
        self.name = _text("name", values.get("name"), shipping.NAME_MAX, placeholder="The name on the parcel")
        self.address = _text("address", values.get("address"), 2 * shipping.LINE_MAX + 1, paragraph=True,
                             placeholder="Street and number\nApartment, suite… (optional)")  # fmt: skip
        self.city = _text("city", values.get("city"), shipping.CITY_MAX)
        self.postal_code = _text("postal_code", values.get("postal_code"), shipping.POSTAL_MAX)
        self.country = _text("country", values.get("country"), 20, placeholder="Two-letter code: DE, FR, GB, US…")
        labels = (("Full name", self.name), ("Address (one or two lines)", self.address), ("City", self.city),
                  ("Postal code", self.postal_code), ("Country", self.country))  # fmt: skip
        for text, component in labels:
            self.add_item(discord.ui.Label(text=text, component=component))

    def typed(self) -> dict[str, str]:
        return {"name": self.name.value, "address": self.address.value, "city": self.city.value,
                "postal_code": self.postal_code.value, "country": self.country.value}  # fmt: skip

    async def on_submit(self, interaction: discord.Interaction[Any], /) -> None:
        typed = self.typed()
        try:
            details = shipping.check_form(**typed)
        except InvalidInput as exc:
            retry = RetryView(interaction.user.id, lambda: ShippingModal(self._save, typed))
            await interaction.response.send_message(f"⚠️ {exc.user_message}", view=retry, ephemeral=True)
            return
        await self._save(interaction, details)

    @staticmethod
    def filled(details: ShippingDetails | None) -> dict[str, str]:
        if details is None:
            return {}
        address = details.line1 + (f"\n{details.line2}" if details.line2 else "")
        return {"name": details.name, "address": address, "city": details.city,
                "postal_code": details.postal_code, "country": details.country}  # fmt: skip


SavePhone = Callable[[discord.Interaction[Any], str | None], Awaitable[None]]


class PhoneModal(BaseModal):
    def __init__(self, save: SavePhone, current: str | None) -> None:
        super().__init__(title="A phone number for the courier", timeout=900)
        self._save = save
        self.phone = _text("phone", current, shipping.PHONE_MAX, required=False, placeholder="+49 30 1234567")
        self.add_item(discord.ui.Label(text="Phone (optional)", description="Leave empty to remove it.",
                                       component=self.phone))  # fmt: skip

    async def on_submit(self, interaction: discord.Interaction[Any], /) -> None:
        await self._save(interaction, shipping.check_phone(self.phone.value))


class RetryView(BaseView):
    """One button that opens a form again (private, for the member who filled it in)."""

    def __init__(self, owner_id: int, form: Callable[[], discord.ui.Modal], label: str = "Fix it") -> None:
        super().__init__(timeout=600, owner_id=owner_id)
        self._form = form
        self.open.label = label

    @discord.ui.button(label="Fix it", style=discord.ButtonStyle.primary)
    async def open(self, interaction: discord.Interaction[Any], _: discord.ui.Button[RetryView]) -> None:
        await interaction.response.send_modal(self._form())


def saved_text(ready: list[Gift]) -> str:
    text = "✅ Saved. Only you and the moderators who ship your gifts can see these details."
    if ready:
        text += f" {', '.join(f'**{g.what}**' for g in ready)} can now be sent."
    return text + " Add a phone number for the courier if you like."


# -- what members are told -----------------------------------------------------------------------------------


def address_button(gift_id: int, label: str = "Add shipping details") -> DisplayView:
    return DisplayView().button(label, custom_id("gift", "address", gift_id), discord.ButtonStyle.primary)


def step_message(step: str, gift: Gift, brief: tuple[str, str] | None) -> dict[str, Any]:
    """The DM for one step of a gift (``brief``: the campaign brief's title and due date, when there is one)."""
    what = clip(gift.what, 200)
    if step == "asked":
        head = f"🎁 You've been chosen for **{what}**!" if gift.campaign_id else f"🎁 **{what}** is for you!"
        text = (f"{head} Where should it go? Press the button to give your shipping details — only you and the "
                "moderators who ship it can see them. (Or use /shipping in the server.)")  # fmt: skip
        return {"content": text, "view": address_button(gift.id)}
    if step == "confirmed":
        text = (f"🎁 **{what}** will go to the shipping details you gave. Moved since? Update them before it "
                "ships.")  # fmt: skip
        return {"content": text, "view": address_button(gift.id, "Update shipping details")}
    if step == "ordered":
        order = f" (order {gift.order_name})" if gift.order_name else ""
        return {"content": f"📦 Your gift **{what}** is ordered{order}: the brand's warehouse ships it soon."}
    if step == "shipped":
        track = f" Track it: {gift.tracking_url}" if gift.tracking_url else ""
        return {"content": f"🚚 **{what}** has shipped!{track}"}
    if step == "delivered":
        text = f"🎉 **{what}** was delivered — enjoy!"
        if brief is not None:
            text += f" Once you've tried it, the brief **{brief[0]}** is waiting (due {brief[1]}): share with /submit."
        return {"content": text}
    if step == "brief" and brief is not None:
        return {"content": f"⏰ A reminder: **{what}** came with the brief **{brief[0]}**, due {brief[1]}. "
                           "Share what you make with /submit."}  # fmt: skip
    why = f" ({clip(gift.cancel_reason, 300)})" if gift.cancel_reason else ""
    return {"content": f"↩️ Your gift **{what}** was cancelled{why}. Sorry — nothing more is needed from you."}


def campaign_message(step: str, campaign: Campaign) -> str:
    if step == "not_chosen":
        return (f"Thanks for opting in for **{clip(campaign.product, 200)}**! This time the "
                f"{plural(campaign.quantity, 'gift')} went to the first to opt in — more are coming.")  # fmt: skip
    return f"The **{clip(campaign.product, 200)}** gifting campaign was called off; there's nothing to do on your side."


def refusal_card(gift: Gift, error: str) -> discord.Embed:
    return embed(
        "⚠️ The shop refused a gift order",
        clip(
            f"<@{gift.user_id}>'s **{gift.what}** (gift #{gift.id}) couldn't be ordered in the shop: it said\n"
            f"> {error}\nIt is in the fulfilment queue now: ship it by hand from /fulfilment list.",
            4000,
        ),
        colour=WARNING,
    )

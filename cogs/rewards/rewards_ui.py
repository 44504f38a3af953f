"""The rewards' Discord face: catalogue cards, the catalogue's pages with their Redeem button, and what members and
moderators read about a redemption. Persistent buttons live in cogs/rewards/store.py and fulfilment.py."""

from __future__ import annotations

import io
from typing import Any

import discord

from bot.services.rewards.balance import Balance
from bot.services.rewards.catalogue import Reward, RewardImage
from bot.services.rewards.fulfilment import MemberRedemption, Waiting
from bot.services.rewards.redemptions import Redemption
from bot.text import plural
from bot.ui.custom_ids import custom_id
from bot.ui.embeds import BRAND, SUCCESS, WARNING, add_field, clip, embed
from bot.ui.markup import mention, role_mention
from bot.ui.paginator import Paginator
from bot.ui.times import when

KIND_LABELS = {"code": "🏷️ Shop code", "role": "✨ Role", "perk": "🎁 Perk", "ship": "📦 Product"}


def balance_line(balance: Balance) -> str:
    return (
        f"You have **{plural(balance.spendable, 'point')}** to spend "
        f"({balance.earned:,} earned in all: spending never lowers your rank)."
    )


def stock_text(reward: Reward) -> str:
    if reward.stock is None:
        return "Unlimited"
    return "Gone" if reward.stock <= 0 else f"{reward.stock:,} left"


def what_text(reward: Reward) -> str:
    text = reward.what()
    if reward.kind == "role" and reward.role_id is not None:
        text = text.replace("a special role", f"the {role_mention(reward.role_id)} role")
    return text


def reward_card(
    reward: Reward, *, image: RewardImage | None = None, balance: Balance | None = None, redeemed: int | None = None
) -> discord.Embed:
    """One reward as members and moderators see it (``image``: its uploaded image, sent with the card);
    ``balance`` and ``redeemed`` for a member's catalogue."""
    card = embed(f"{KIND_LABELS[reward.kind]} · {reward.title}", reward.description or None, colour=BRAND)
    add_field(card, "Cost", plural(reward.cost, "point"), inline=True)
    add_field(card, "Stock", stock_text(reward), inline=True)
    if reward.per_member_limit is not None:
        mine = f" (you: {redeemed})" if redeemed is not None else ""
        add_field(card, "Per member", f"{reward.per_member_limit}{mine}", inline=True)
    if reward.tier:
        add_field(card, "Tier", reward.tier, inline=True)
    add_field(card, "You get", what_text(reward))
    if balance is not None:
        add_field(card, "Your points", balance_line(balance))
    if reward.image_url:
        card.set_image(url=reward.image_url)
    elif image is not None:
        card.set_image(url=f"attachment://{image_name(reward, image)}")
    card.set_footer(text=f"Reward #{reward.id}")
    return card


EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp"}


def image_name(reward: Reward, image: RewardImage) -> str:
    return f"reward-{reward.id}.{EXTENSIONS.get(image.content_type, 'png')}"


def image_file(reward: Reward, image: RewardImage) -> discord.File:
    return discord.File(io.BytesIO(image.data), filename=image_name(reward, image))


def redeem_button(reward: Reward, *, disabled: bool) -> discord.ui.Button[Any]:
    label = "Gone" if reward.sold_out else f"Redeem for {plural(reward.cost, 'point')}"
    style = discord.ButtonStyle.success if not disabled else discord.ButtonStyle.secondary
    return discord.ui.Button(
        label=clip(label, 80), style=style, custom_id=custom_id("reward", "redeem", reward.id), disabled=disabled
    )


class Catalogue(Paginator):
    """One reward a page, each with its Redeem button (a persistent custom_id, answered by ``RedeemButton`` even
    after a restart) and its uploaded image attached to the page that shows it."""

    def __init__(
        self,
        rewards: list[Reward],
        pages: list[discord.Embed],
        *,
        redeemable: list[bool],
        images: dict[int, RewardImage],
        owner_id: int,
    ) -> None:
        self.rewards, self.redeemable, self.images = rewards, redeemable, images
        self.redeem: discord.ui.Button[Any] | None = None
        super().__init__(pages, owner_id=owner_id)
        if len(pages) == 1:
            self.remove_item(self.previous)
            self.remove_item(self.next)

    def _update_buttons(self) -> None:
        super()._update_buttons()
        if self.redeem is not None:
            self.remove_item(self.redeem)
        reward = self.rewards[self.index]
        self.redeem = redeem_button(reward, disabled=not self.redeemable[self.index])
        self.add_item(self.redeem)

    def page_files(self, index: int) -> list[discord.File] | None:
        reward = self.rewards[index]
        image = self.images.get(reward.id)
        return [image_file(reward, image)] if image is not None and not reward.image_url else []

    async def send(
        self, interaction: discord.Interaction[Any], *, ephemeral: bool = True, content: str | None = None
    ) -> None:
        files = self.page_files(self.index) or []
        await interaction.response.send_message(content, embed=self.pages[0], view=self, files=files,
                                                ephemeral=ephemeral)  # fmt: skip


def mine_text(latest: list[MemberRedemption]) -> str | None:
    """The member's latest redemptions, with their codes (only they see this reply): the way to a code whose DM
    could not be delivered."""
    if not latest:
        return None
    lines = []
    for item in latest:
        r = item.redemption
        if r.status == "fulfilled" and r.code is not None and r.ends_at is not None:
            state = f"code `{r.code}`, use it before {when(r.ends_at, 'D')}"
        elif r.status == "fulfilled":
            state = "done"
        elif r.status == "pending":
            state = "on its way"
        else:
            state = "points given back"
        lines.append(f"#{r.id} {discord.utils.escape_markdown(item.reward_title)} — {state}")
    return clip("**Your latest redemptions**\n" + "\n".join(lines), 1800)


def confirm_text(reward: Reward, left_after: int) -> str:
    then = {
        "code": "Your code comes by DM as soon as the shop has made it.",
        "role": "You get the role right away.",
        "perk": "A moderator hands it to you and you get a DM when it's done.",
        "ship": "It's shipped to you: I'll ask for your shipping details privately if I don't have them yet.",
    }[reward.kind]
    return (
        f"Redeem **{discord.utils.escape_markdown(reward.title)}** for {plural(reward.cost, 'point')}? "
        f"You'll have {plural(left_after, 'point')} left to spend.\nYou get {what_text(reward)}. {then}"
    )


def redeemed_text(reward: Reward, redemption: Redemption, balance: Balance, *, already: bool) -> str:
    head = "✅ Already redeemed — nothing more was spent." if already else f"✅ Redeemed **{reward.title}**!"
    then = {
        "code": "Your code is on its way by DM.",
        "role": "Your role is on its way.",
        "perk": "A moderator will hand it to you; you'll get a DM.",
        "ship": "It's in the shipping queue; I'll DM you at each step (and for your shipping details if needed).",
    }[reward.kind]
    return f"{head} {then}\nRedemption #{redemption.id} · {plural(balance.spendable, 'point')} left to spend."


def code_dm(redemption: Redemption, reward: Reward, guild_name: str) -> discord.Embed:
    assert redemption.code is not None and redemption.ends_at is not None
    card = embed(f"🎁 Your reward from {guild_name}: {reward.title}", colour=SUCCESS)
    card.description = (
        f"Your code: **`{redemption.code}`**\nIt gives {what_text(reward).replace('a single-use code for ', '')}. "
        f"Use it once at checkout, before {when(redemption.ends_at, 'D')}. It's yours alone: please don't share it."
    )
    card.set_footer(text=f"Redemption #{redemption.id}")
    return card


def notice_dm(event: str, redemption: Redemption, reward: Reward, guild_name: str) -> discord.Embed:
    if event == "given":
        return embed(f"🎁 {reward.title}", f"A moderator marked your reward from {guild_name} as handed out. Enjoy!",
                     colour=SUCCESS)  # fmt: skip
    why = redemption.close_reason or "it couldn't be fulfilled"
    card = embed(
        f"↩️ {reward.title}: your points are back",
        f"Your redemption in {guild_name} was {'cancelled' if redemption.status == 'cancelled' else 'not fulfilled'}"
        f" ({clip(why, 300)}), so the {plural(redemption.cost, 'point')} are back in your balance.",
        colour=WARNING,
    )
    card.set_footer(text=f"Redemption #{redemption.id}")
    return card


def handout_card(redemption: Redemption, reward: Reward) -> discord.Embed:
    card = embed(f"🎁 To hand out: {reward.title}", colour=BRAND)
    card.description = (
        f"{mention(redemption.user_id)} redeemed this perk for {plural(redemption.cost, 'point')} "
        f"{when(redemption.created_at, 'R')}. Hand it to them, then press **Mark given**; **Cancel** gives the "
        "points and the item back."
    )
    card.set_footer(text=f"Redemption #{redemption.id}")
    return card


def waiting_line(item: Waiting) -> str:
    what = {"code": "shop code not confirmed yet", "role": "role not given yet", "perk": "to hand out",
            "ship": "to ship (see /fulfilment)"}[item.kind]  # fmt: skip
    since = when(item.created_at, "R")
    return f"#{item.redemption_id} · {item.reward_title} for {mention(item.user_id)} — {what}, {since}"

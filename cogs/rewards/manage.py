"""/reward for moderators: create, edit, retire and list the catalogue, and cancel a redemption (points back)."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands
from PIL import Image, UnidentifiedImageError

from bot.app import CollectiveBot
from bot.checks import ModeratorGroup
from bot.errors import InvalidInput, NotAllowed
from bot.services.inputs.links import IMAGE_TYPES, check_upload
from bot.services.inputs.record_ids import record_id
from bot.services.rewards import catalogue, fulfilment, redemptions
from bot.services.rewards.catalogue import RewardImage
from bot.shop.errors import ShopError
from bot.text import plural
from bot.ui.choices import tier_choices
from bot.ui.embeds import SUCCESS, clip, embed
from bot.ui.interactions import bot_of, guild_id_of
from bot.ui.markup import mention
from bot.ui.paginator import Paginator, line_pages
from bot.ui.product_choices import parse_product
from bot.ui.product_choices import product_choices as store_product_choices
from cogs.rewards.rewards_ui import KIND_LABELS, image_file, reward_card, stock_text, waiting_line

UPLOAD_LIMIT = 8 * 1024 * 1024
IMAGE_SIDE = 1024  # uploaded images are kept at most this wide and high: every /rewards page sends its image
NOT_CONNECTED = "No shop is connected to this server, so a shop-code reward couldn't be made; see /shop status."
KIND_CHOICES = [
    app_commands.Choice(name="Shop code: an amount off, or one product free", value="code"),
    app_commands.Choice(name="A role for some days", value="role"),
    app_commands.Choice(name="A perk a moderator hands out", value="perk"),
    app_commands.Choice(name="A product to ship to the member", value="ship"),
]


async def read_image(interaction: discord.Interaction[Any], upload: discord.Attachment) -> RewardImage:
    """The upload, checked and kept small (PNG, at most ``IMAGE_SIDE`` pixels a side)."""
    check_upload(upload.filename, upload.content_type, upload.size, min(interaction.filesize_limit, UPLOAD_LIMIT),
                 IMAGE_TYPES)  # fmt: skip
    data = await upload.read()
    try:
        with Image.open(io.BytesIO(data)) as picture:
            picture.thumbnail((IMAGE_SIDE, IMAGE_SIDE))
            out = io.BytesIO()
            picture.convert("RGBA").save(out, format="PNG", optimize=True)
    except (UnidentifiedImageError, OSError, ValueError):
        raise InvalidInput(f"`{upload.filename[:80]}` isn't an image I can read.") from None
    name = re.sub(r"[^A-Za-z0-9._-]", "_", upload.filename)[:80] or "image"
    return RewardImage(name, "image/png", out.getvalue())


async def reward_choices(interaction: discord.Interaction[Any], current: str) -> list[app_commands.Choice[str]]:
    found = await catalogue.search(bot_of(interaction).db, guild_id_of(interaction), current)
    return [app_commands.Choice(name=clip(f"{r.title} · {plural(r.cost, 'point')}", 100), value=str(r.id))
            for r in found]  # fmt: skip


async def waiting_choices(interaction: discord.Interaction[Any], current: str) -> list[app_commands.Choice[str]]:
    bot, guild_id = bot_of(interaction), guild_id_of(interaction)
    typed = current.strip().lstrip("#").lower()
    found = [
        w for w in await fulfilment.waiting(bot.db, guild_id) if typed in f"{w.redemption_id} {w.reward_title}".lower()
    ]
    return [app_commands.Choice(name=clip(f"#{w.redemption_id} · {w.reward_title} ({w.kind})", 100),
                                value=str(w.redemption_id)) for w in found[:25]]  # fmt: skip


async def product_choices(interaction: discord.Interaction[Any], current: str) -> list[app_commands.Choice[str]]:
    """The shop's active products matching what was typed (none without a shop: the moderator types an id)."""
    connector = bot_of(interaction).shops.get(guild_id_of(interaction))
    if connector is None:
        return []
    try:
        products = await connector.search_products(current)
    except ShopError:  # a slow or failing shop must not break typing: no suggestions then
        return []
    return [app_commands.Choice(name=clip(f"{p.title} · {p.price}" if p.price is not None else p.title, 100),
                                value=p.ref) for p in products[:25] if len(p.ref) <= 100]  # fmt: skip


async def product_title(bot: CollectiveBot, guild_id: int, ref: str) -> str | None:
    """The title of the product picked, for members to read (best effort: among the shop's first products)."""
    connector = bot.shops.get(guild_id)
    if connector is None:
        return None
    try:
        return next((p.title for p in await connector.search_products("", limit=50) if p.ref == ref), None)
    except ShopError:
        return None


class RewardAdmin(commands.Cog, name="Rewards admin"):
    reward = ModeratorGroup(name="reward", description="The rewards catalogue members spend points on", guild_only=True)

    def __init__(self, bot: CollectiveBot) -> None:
        self.bot = bot

    def _reward_id(self, value: str) -> int:
        return record_id(value) or 0  # no such reward: the service says it can't find it

    @reward.command(name="create", description="Add a reward members can spend points on")
    @app_commands.describe(
        title="What members see (up to 100 characters)",
        cost="Price in points",
        kind="What the member gets",
        description="More about it; \\n for a new line",
        stock="How many there are (leave empty for unlimited)",
        per_member_limit="How many one member may redeem (leave empty for no limit)",
        tier="Only for this tier's members",
        image="A picture for the catalogue (PNG, JPEG, GIF, WebP)",
        image_link="Or a link to a picture (https://…)",
        amount="Shop code: the amount off the order, e.g. 10.00",
        currency="Shop code: the shop's currency for the amount, e.g. EUR",
        product="Shop code: or one product free (pick it from the shop's products)",
        valid_days="Shop code: days until it expires (default 30)",
        role="Role reward: the role to give",
        days="Role reward: how many days the member keeps it",
        ship_product="Product to ship: pick it from the shop's products, or type it",
    )
    @app_commands.choices(kind=KIND_CHOICES)
    @app_commands.autocomplete(tier=tier_choices, product=product_choices, ship_product=store_product_choices)
    async def create(
        self,
        interaction: discord.Interaction[Any],
        title: app_commands.Range[str, 1, catalogue.TITLE_MAX],
        cost: app_commands.Range[int, 1, catalogue.MAX_COST],
        kind: app_commands.Choice[str],
        description: str | None = None,
        stock: app_commands.Range[int, 0, catalogue.MAX_STOCK] | None = None,
        per_member_limit: app_commands.Range[int, 1, catalogue.MAX_LIMIT] | None = None,
        tier: str | None = None,
        image: discord.Attachment | None = None,
        image_link: str | None = None,
        amount: str | None = None,
        currency: str | None = None,
        product: str | None = None,
        valid_days: app_commands.Range[int, 1, catalogue.MAX_DAYS] | None = None,
        role: discord.Role | None = None,
        days: app_commands.Range[int, 1, catalogue.MAX_DAYS] | None = None,
        ship_product: str | None = None,
    ) -> None:
        guild_id = guild_id_of(interaction)
        chosen: catalogue.Kind = kind.value  # type: ignore[assignment]
        if chosen == "code" and self.bot.shops.get(guild_id) is None:
            raise NotAllowed(NOT_CONNECTED)
        if role is not None:
            self._check_role(role)
        shipped_title, variant = parse_product(ship_product) if ship_product else (None, None)
        fields = await catalogue.new_fields(
            self.bot.db, guild_id, kind=chosen, title=title, description=description, image_link=image_link,
            cost=cost, stock=stock, per_member_limit=per_member_limit, tier=tier, amount=amount, currency=currency,
            product_id=product, valid_days=valid_days, role_id=role.id if role else None, role_days=days,
            ship_product=shipped_title, ship_variant_ref=variant,
        )  # fmt: skip
        await interaction.response.defer(ephemeral=True, thinking=True)
        if fields.code_product_id is not None:
            fields = replace(fields, code_product_title=await product_title(self.bot, guild_id, fields.code_product_id))
        picture = await read_image(interaction, image) if image is not None else None
        made = await self.bot.db.perform(
            catalogue.create, guild_id, fields, picture, self.bot.clock.now(), actor_id=interaction.user.id
        )
        await self._show(interaction, f"✅ Reward #{made.id} is in the catalogue (/rewards).", made, picture)

    def _check_role(self, role: discord.Role) -> None:
        me = role.guild.me
        if role.is_default() or role.managed:
            raise InvalidInput(f"{role.name} can't be handed out: pick a role of your own.")
        if role >= me.top_role:
            raise InvalidInput(
                f"I can only give roles below my own: drag **{me.top_role.name}** above **{role.name}** in Server "
                "Settings → Roles, then try again."
            )

    async def _show(
        self, interaction: discord.Interaction[Any], text: str, reward: catalogue.Reward, image: RewardImage | None
    ) -> None:
        if image is None and not reward.image_url and reward.has_image:
            image = await catalogue.image_of(self.bot.db, reward.id)
        card = reward_card(reward, image=image)
        files = [] if image is None or reward.image_url else [image_file(reward, image)]
        await interaction.followup.send(text, embed=card, files=files, ephemeral=True)

    @reward.command(name="edit", description="Change a reward (empty options stay as they are)")
    @app_commands.describe(
        reward="The reward to change",
        title="New title",
        description="New description; \\n for a new line",
        cost="New price in points",
        stock="How many are left now",
        unlimited_stock="Make the stock unlimited",
        per_member_limit="How many one member may redeem",
        no_limit="Remove the per-member limit",
        tier="Only for this tier's members",
        every_tier="Open it to every tier",
        image="A new picture",
        image_link="Or a link to a new picture",
    )
    @app_commands.autocomplete(reward=reward_choices, tier=tier_choices)
    async def edit(
        self,
        interaction: discord.Interaction[Any],
        reward: str,
        title: app_commands.Range[str, 1, catalogue.TITLE_MAX] | None = None,
        description: str | None = None,
        cost: app_commands.Range[int, 1, catalogue.MAX_COST] | None = None,
        stock: app_commands.Range[int, 0, catalogue.MAX_STOCK] | None = None,
        unlimited_stock: bool = False,
        per_member_limit: app_commands.Range[int, 1, catalogue.MAX_LIMIT] | None = None,
        no_limit: bool = False,
        tier: str | None = None,
        every_tier: bool = False,
        image: discord.Attachment | None = None,
        image_link: str | None = None,
    ) -> None:
        guild_id = guild_id_of(interaction)
        change = catalogue.Edit(title, description, image_link, cost, stock, unlimited_stock, per_member_limit,
                                no_limit, tier, every_tier)  # fmt: skip
        await interaction.response.defer(ephemeral=True, thinking=True)
        picture = await read_image(interaction, image) if image is not None else None
        edited = await self.bot.db.perform(catalogue.edit, guild_id, self._reward_id(reward), change, picture,
                                           self.bot.clock.now(), actor_id=interaction.user.id)  # fmt: skip
        await self._show(interaction, f"✅ Reward #{edited.id} updated.", edited, picture)

    @reward.command(name="retire", description="Take a reward out of the catalogue (redemptions made go on)")
    @app_commands.describe(reward="The reward to retire")
    @app_commands.autocomplete(reward=reward_choices)
    async def retire(self, interaction: discord.Interaction[Any], reward: str) -> None:
        guild_id = guild_id_of(interaction)
        retired = await self.bot.db.perform(catalogue.retire, guild_id, self._reward_id(reward), self.bot.clock.now(),
                                            actor_id=interaction.user.id)  # fmt: skip
        await interaction.response.send_message(
            f"Retired “{retired.title}”: it's out of the catalogue. Redemptions already made are still fulfilled.",
            ephemeral=True,
        )

    @reward.command(name="list", description="The catalogue, and redemptions waiting to be fulfilled")
    async def list_(self, interaction: discord.Interaction[Any]) -> None:
        guild_id = guild_id_of(interaction)
        rewards = await catalogue.all_rewards(self.bot.db, guild_id)
        lines = [
            f"#{r.id} · {KIND_LABELS[r.kind]} **{r.title}** — {plural(r.cost, 'point')}, {stock_text(r).lower()}"
            + (f", tier {r.tier}" if r.tier else "")
            for r in rewards
        ]
        waiting = await fulfilment.waiting(self.bot.db, guild_id)
        if waiting:
            lines += ["", f"**Waiting to be fulfilled ({len(waiting)})**", *map(waiting_line, waiting)]
        pages = line_pages("🎁 Rewards", lines, per_page=15, empty="No rewards yet: add one with /reward create.")
        await Paginator(pages, owner_id=interaction.user.id).send(interaction)

    @reward.command(name="cancel", description="Cancel a waiting redemption: the member gets the points back")
    @app_commands.describe(redemption="The redemption (#id) to cancel", reason="Why; the member is told")
    @app_commands.autocomplete(redemption=waiting_choices)
    async def cancel(
        self, interaction: discord.Interaction[Any], redemption: str, reason: app_commands.Range[str, 1, 200]
    ) -> None:
        guild_id = guild_id_of(interaction)
        closed = await self.bot.db.perform(redemptions.cancel, guild_id, record_id(redemption) or 0, reason,
                                           self.bot.clock.now(), actor_id=interaction.user.id)  # fmt: skip
        card = embed("↩️ Redemption cancelled", colour=SUCCESS)
        card.description = (
            f"#{closed.id}: {plural(closed.cost, 'point')} are back with {mention(closed.user_id)}, and the item is "
            "back in stock. They're told by DM."
        )
        await interaction.response.send_message(embed=card, ephemeral=True,
                                                allowed_mentions=discord.AllowedMentions.none())  # fmt: skip


async def setup(bot: CollectiveBot) -> None:
    await bot.add_cog(RewardAdmin(bot))

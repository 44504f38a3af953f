"""Gifting campaigns (product seeding): a product, how many, who may take part, an opt-in window, a brief.

Members in the audience press "I'd love one" while the window is open (once each, however often they press), and
may withdraw while it is still open ("Count me out": their place in line goes to whoever came next). When
the window closes — its durable timer, or a moderator closing it early — the **first come** are chosen: the
earliest opt-ins, up to the quantity, among those still active ambassadors in the audience. Each chosen member gets
a gift (bot/services/gifting/fulfilment.py), which asks for their shipping details; the others are told it was
not their turn this time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from bot.clock import from_db, to_db
from bot.db import Database, Transaction
from bot.errors import Conflict, InvalidInput, NotAllowed, NotFound
from bot.services.content.briefs import get_brief
from bot.services.gifting import fulfilment
from bot.services.program import audit, tiers
from bot.services.program.members import find_member, require_ambassador
from bot.storage.statements import Row
from bot.text import plural
from bot.unit_of_work import TimerKind

CLOSE = TimerKind("gift_close", "a gifting campaign's opt-in window closing")
MAX_WINDOW = timedelta(days=90)
MAX_PICKED = 25  # a user select holds at most 25 members
Status = Literal["open", "closed", "cancelled"]


@dataclass(frozen=True)
class CampaignDraft:
    product: str
    variant_ref: str | None  # picked from the store's catalogue; None: typed by hand
    quantity: int
    tier: str | None
    invitees: tuple[int, ...] | None  # None: the tier (or every ambassador) may take part
    opens_at: datetime
    closes_at: datetime
    brief_id: int | None


@dataclass(frozen=True)
class Campaign:
    id: int
    guild_id: int
    product: str
    variant_ref: str | None
    quantity: int
    tier: str | None
    picked: bool
    opens_at: datetime
    closes_at: datetime
    brief_id: int | None
    status: Status
    channel_id: int | None
    message_id: int | None
    created_by: int
    closed_at: datetime | None

    @property
    def reference(self) -> str:
        return f"campaign:{self.id}"


def _campaign(row: Row) -> Campaign:
    return Campaign(row["id"], row["guild_id"], row["product"], row["variant_ref"],
                    row["quantity"], row["tier"], bool(row["picked"]), from_db(row["opens_at"]),
                    from_db(row["closes_at"]), row["brief_id"], row["status"], row["channel_id"], row["message_id"],
                    row["created_by"], from_db(row["closed_at"]) if row["closed_at"] else None)  # fmt: skip


async def find_campaign(db: Database | Transaction, guild_id: int, campaign_id: int) -> Campaign | None:
    row = await db.fetchone("SELECT * FROM gift_campaigns WHERE guild_id = ? AND id = ?", (guild_id, campaign_id))
    return None if row is None else _campaign(row)


async def get_campaign(db: Database | Transaction, guild_id: int, campaign_id: int) -> Campaign:
    found = await find_campaign(db, guild_id, campaign_id)
    if found is None:
        raise NotFound(f"There's no gifting campaign #{campaign_id}.")
    return found


# -- creating ------------------------------------------------------------------------------------------------


async def validate_draft(db: Database | Transaction, guild_id: int, draft: CampaignDraft, now: datetime) -> None:
    """Refuse what cannot run, naming the problem; nothing is written."""
    product = draft.product.strip()
    if not product or len(product) > 200 or "\x00" in product:
        raise InvalidInput("Name the product in 1–200 characters.")
    if not 1 <= draft.quantity <= 1000:
        raise InvalidInput("How many is a number from 1 to 1000.")
    if draft.closes_at <= now:
        raise InvalidInput("The opt-in window must close in the future.")
    if draft.closes_at <= draft.opens_at:
        raise InvalidInput("The opt-in window must close after it opens.")
    if draft.closes_at - max(draft.opens_at, now) > MAX_WINDOW:
        raise InvalidInput("Keep the opt-in window under 90 days.")
    if draft.tier is not None:
        await tiers.get_tier(db, guild_id, draft.tier)
    if draft.invitees is not None and not 1 <= len(draft.invitees) <= MAX_PICKED:
        raise InvalidInput(f"Pick 1–{MAX_PICKED} members.")
    if draft.brief_id is not None:
        brief = await get_brief(db, guild_id, draft.brief_id)
        if brief.status != "open":
            raise InvalidInput(f"The brief “{brief.title}” isn't open; pick an open brief or none.")


async def create_campaign(
    tx: Transaction, guild_id: int, draft: CampaignDraft, actor_id: int, now: datetime
) -> Campaign:
    await validate_draft(tx, guild_id, draft, now)
    new_id = await tx.insert(
        """INSERT INTO gift_campaigns (guild_id, product, variant_ref, quantity, tier, picked, opens_at, closes_at,
               brief_id, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (guild_id, draft.product.strip(), draft.variant_ref, draft.quantity, draft.tier,
         int(draft.invitees is not None), to_db(draft.opens_at), to_db(draft.closes_at), draft.brief_id,
         actor_id, to_db(now)),
    )  # fmt: skip
    campaign_id = new_id
    assert campaign_id is not None
    await tx.executemany(
        "INSERT INTO gift_invitees (campaign_id, guild_id, user_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        [(campaign_id, guild_id, user_id) for user_id in draft.invitees or ()],
    )
    await tx.schedule(guild_id, CLOSE, str(campaign_id), draft.closes_at, now, {"campaign_id": campaign_id})
    audience = "picked members" if draft.invitees is not None else (draft.tier or "all ambassadors")
    await audit.record(tx, guild_id, actor_id, "gift.create", None, now, campaign=campaign_id,
                       product=draft.product.strip(), quantity=draft.quantity, audience=audience)  # fmt: skip
    return await get_campaign(tx, guild_id, campaign_id)


async def attach_post(tx: Transaction, guild_id: int, campaign_id: int, channel_id: int, message_id: int) -> None:
    await tx.execute(
        "UPDATE gift_campaigns SET channel_id = ?, message_id = ? WHERE guild_id = ? AND id = ?",
        (channel_id, message_id, guild_id, campaign_id),
    )


async def discard_campaign(tx: Transaction, guild_id: int, campaign_id: int, now: datetime) -> None:
    """Discord refused the announcement: nobody has seen the campaign, so it goes (its timer with it)."""
    await tx.cancel_timer(guild_id, CLOSE, str(campaign_id), now)
    await tx.execute("DELETE FROM gift_invitees WHERE campaign_id = ?", (campaign_id,))
    await tx.execute("DELETE FROM gift_campaigns WHERE guild_id = ? AND id = ?", (guild_id, campaign_id))


# -- opting in -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OptIn:
    campaign: Campaign
    added: bool  # False: they had already opted in
    position: int  # 1 = first in line
    count: int


async def opt_in(tx: Transaction, guild_id: int, campaign_id: int, user_id: int, now: datetime) -> OptIn:
    campaign = await get_campaign(tx, guild_id, campaign_id)
    if campaign.status != "open" or now >= campaign.closes_at:
        raise Conflict(f"Opt-ins for {campaign.product} have closed.")
    if now < campaign.opens_at:
        raise Conflict(f"Opt-ins for {campaign.product} haven't opened yet.")
    member = await require_ambassador(tx, guild_id, user_id)
    if campaign.picked:
        if not await tx.fetchval(
            "SELECT 1 FROM gift_invitees WHERE campaign_id = ? AND user_id = ?", (campaign.id, user_id)
        ):
            raise NotAllowed(f"{campaign.product} is for members the brand picked; this time that isn't you.")
    else:
        tiers.require(campaign.tier, member.tier, f"This gift ({campaign.product})")
    added = await tx.execute(
        "INSERT INTO gift_optins (campaign_id, guild_id, user_id, opted_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (campaign_id, user_id) DO NOTHING",
        (campaign.id, guild_id, user_id, to_db(now)),
    )
    position = int(
        await tx.fetchval(
            "SELECT COUNT(*) FROM gift_optins WHERE campaign_id = ? AND id <="
            " (SELECT id FROM gift_optins WHERE campaign_id = ? AND user_id = ?)",
            (campaign.id, campaign.id, user_id),
        )
    )
    return OptIn(campaign, added == 1, position, await optin_count(tx, campaign.id))


@dataclass(frozen=True)
class OptOut:
    campaign: Campaign
    removed: bool  # False: they were not in (or had withdrawn already): nothing changed
    count: int


async def opt_out(tx: Transaction, guild_id: int, campaign_id: int, user_id: int, now: datetime) -> OptOut:
    """Withdraw an opt-in while the window is open; pressing again changes nothing. Once the window closed the
    chosen are decided: a chosen member's gift is then a moderator's to cancel."""
    campaign = await get_campaign(tx, guild_id, campaign_id)
    if campaign.status != "open" or now >= campaign.closes_at:
        raise Conflict(f"Opt-ins for {campaign.product} have closed, so there's nothing to withdraw any more; "
                       "if you were chosen and can't take it, tell a moderator.")  # fmt: skip
    removed = await tx.execute("DELETE FROM gift_optins WHERE campaign_id = ? AND user_id = ?", (campaign.id, user_id))
    return OptOut(campaign, removed == 1, await optin_count(tx, campaign.id))


async def optin_count(db: Database | Transaction, campaign_id: int) -> int:
    return int(await db.fetchval("SELECT COUNT(*) FROM gift_optins WHERE campaign_id = ?", (campaign_id,)))


# -- closing -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Closed:
    campaign: Campaign
    chosen: list[int]
    not_chosen: list[int]


async def _tell(tx: Transaction, campaign: Campaign, user_id: int, step: str, now: datetime) -> None:
    payload = {"user_id": user_id, "step": step, "campaign_id": campaign.id}
    await tx.emit(campaign.guild_id, fulfilment.TELL, now, payload, key=f"campaign:{campaign.id}:{user_id}:{step}")


async def close_campaign(
    tx: Transaction, guild_id: int, campaign_id: int, actor_id: int | None, now: datetime
) -> Closed | None:
    """Close the window and choose the first come (``actor_id`` None: the window's timer). None when the timer
    finds it already closed or cancelled."""
    campaign = await get_campaign(tx, guild_id, campaign_id)
    if campaign.status != "open":
        if actor_id is None:
            return None
        raise Conflict(f"Campaign #{campaign.id} is already {campaign.status}.")
    rows = await tx.fetchall("SELECT user_id FROM gift_optins WHERE campaign_id = ? ORDER BY id", (campaign.id,))
    chosen: list[int] = []
    not_chosen: list[int] = []
    for row in rows:
        user_id = int(row["user_id"])
        member = await find_member(tx, guild_id, user_id)
        eligible = (
            member is not None
            and member.status == "active"
            and (campaign.picked or tiers.admits(campaign.tier, member.tier))
        )
        (chosen if eligible and len(chosen) < campaign.quantity else not_chosen).append(user_id)
    await tx.execute(
        "UPDATE gift_campaigns SET status = 'closed', closed_at = ? WHERE id = ?", (to_db(now), campaign.id)
    )
    for user_id in chosen:
        await tx.execute(
            "UPDATE gift_optins SET chosen = 1 WHERE campaign_id = ? AND user_id = ?", (campaign.id, user_id)
        )
        await fulfilment.request_fulfilment(tx, guild_id, user_id, campaign.product, campaign.reference, now,
                                            variant_ref=campaign.variant_ref, campaign_id=campaign.id)  # fmt: skip
    for user_id in not_chosen:
        await tx.execute(
            "UPDATE gift_optins SET chosen = 0 WHERE campaign_id = ? AND user_id = ?", (campaign.id, user_id)
        )
        await _tell(tx, campaign, user_id, "not_chosen", now)
    if actor_id is not None:
        await tx.cancel_timer(guild_id, CLOSE, str(campaign.id), now)
        await audit.record(tx, guild_id, actor_id, "gift.close", None, now, campaign=campaign.id,
                           chosen=len(chosen))  # fmt: skip
    return Closed(await get_campaign(tx, guild_id, campaign.id), chosen, not_chosen)


async def cancel_campaign(tx: Transaction, guild_id: int, campaign_id: int, actor_id: int, now: datetime) -> Closed:
    """Call an open campaign off: nobody is chosen, everyone who opted in is told."""
    campaign = await get_campaign(tx, guild_id, campaign_id)
    if campaign.status != "open":
        raise Conflict(
            f"Campaign #{campaign.id} is already {campaign.status}"
            + ("; its gifts are in /fulfilment or on their way." if campaign.status == "closed" else ".")
        )
    await tx.execute(
        "UPDATE gift_campaigns SET status = 'cancelled', closed_at = ? WHERE id = ?", (to_db(now), campaign.id)
    )
    await tx.cancel_timer(guild_id, CLOSE, str(campaign.id), now)
    rows = await tx.fetchall("SELECT user_id FROM gift_optins WHERE campaign_id = ? ORDER BY id", (campaign.id,))
    told = [int(row["user_id"]) for row in rows]
    for user_id in told:
        await _tell(tx, campaign, user_id, "campaign_cancelled", now)
    await audit.record(tx, guild_id, actor_id, "gift.cancel", None, now, campaign=campaign.id,
                       opted_in=len(told))  # fmt: skip
    return Closed(await get_campaign(tx, guild_id, campaign.id), [], told)


# -- reading -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignLine:
    campaign: Campaign
    optins: int
    sent: int  # gifts shipped or delivered


async def list_campaigns(db: Database, guild_id: int, limit: int = 50) -> list[CampaignLine]:
    rows = await db.fetchall(
        """SELECT c.*, (SELECT COUNT(*) FROM gift_optins o WHERE o.campaign_id = c.id) AS optins,
                  (SELECT COUNT(*) FROM gifts g WHERE g.campaign_id = c.id
                       AND g.state IN ('shipped', 'delivered')) AS sent
           FROM gift_campaigns c WHERE c.guild_id = ?
           ORDER BY CASE c.status WHEN 'open' THEN 0 ELSE 1 END, c.closes_at DESC, c.id DESC LIMIT ?""",
        (guild_id, limit),
    )
    return [CampaignLine(_campaign(row), int(row["optins"]), int(row["sent"])) for row in rows]


async def search(db: Database, guild_id: int, typed: str, *, open_only: bool) -> list[Campaign]:
    """For autocomplete: campaigns whose product contains what was typed (or whose number it is), at most 25."""
    needle = typed.strip().lower().lstrip("#")
    found = [
        line.campaign
        for line in await list_campaigns(db, guild_id)
        if (not open_only or line.campaign.status == "open")
        and (needle in line.campaign.product.lower() or needle == str(line.campaign.id))
    ]
    return found[:25]


def audience_text(campaign: Campaign, picked: int = 0) -> str:
    if campaign.picked:
        return f"{plural(picked, 'member')} the brand picked" if picked else "members the brand picked"
    return f"the `{campaign.tier}` tier" if campaign.tier else "every ambassador"


async def invitees(db: Database | Transaction, campaign_id: int) -> list[int]:
    rows = await db.fetchall("SELECT user_id FROM gift_invitees WHERE campaign_id = ? ORDER BY user_id", (campaign_id,))
    return [int(row[0]) for row in rows]

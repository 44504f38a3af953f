"""Gifts on their way to a member: one row per thing to send, whoever asked for it.

``request_fulfilment`` is the entry point any feature uses (a gifting campaign's chosen members, a reward to ship):
it writes the gift in the caller's unit of work and what must follow it. A gift goes one of two routes:

- ``shop``: a Shopify store is connected and the gift names one of its variants. Once the member's address is
  known, an ``ORDER`` outbox row asks bot/shop/gift_orders.py to place a zero-value order, tagged with the gift's
  ``order_key`` so a retry after a crash finds it instead of placing a second; the store's own fulfilment ships it,
  and the hourly follow-up reads its fulfilment status back (``record_fulfilment``).
- ``queue``: moderators ship it by hand from ``/fulfilment`` (``mark_shipped`` with a tracking link,
  ``mark_delivered``). A gift the store refused joins the queue, and moderators are told once (``REFUSED``).

States: awaiting_address → ready → (ordered →) shipped → delivered, or cancelled. The member is told at each step
through ``TELL`` outbox rows, one per gift and step. Nothing here carries an address: payloads name the gift.

A gift a reward redemption asked for (reference ``redemption:<id>``, bot/services/rewards/shipped.py) carries the
redemption along in the same unit of work: shipped (or delivered) fulfils it, cancelled gives the member's points
and the reward's stock back, once (``_settle_redemption``).
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from bot.clock import from_db, to_db
from bot.db import Database, Transaction
from bot.errors import Conflict, InvalidInput, NotFound
from bot.services.gifting.addresses import get_details
from bot.services.inputs.links import MAX_LINK_LENGTH
from bot.services.program import audit
from bot.storage.statements import Row
from bot.unit_of_work import TimerKind

TELL = "gifting.tell"  # {"user_id", "step", "gift_id" | "campaign_id"}: tell the member, once per key
ORDER = "gifting.order"  # {"gift_id"}: place the gift's zero-value order in the store
REFUSED = "gifting.order_refused"  # {"gift_id", "error"}: the store refused it; tell moderators, once
BRIEF_REMINDER = TimerKind("gift_brief", "a reminder of the brief that comes with a gift")
REMIND_AFTER = timedelta(days=2)  # after delivery: time to try the product before the brief is brought up

Route = Literal["shop", "queue"]
State = Literal["awaiting_address", "ready", "ordered", "shipped", "delivered", "cancelled"]
Step = Literal["asked", "confirmed", "ordered", "shipped", "delivered", "brief", "cancelled"]
OPEN_STATES = ("awaiting_address", "ready", "ordered")  # something still to send: the address is kept
CANCELLABLE = ("awaiting_address", "ready")  # not in the store nor on its way yet: a moderator can call it back
REASON_MAX = 200
REDEMPTION = "redemption:"  # the reference of a gift a reward redemption asked for


@dataclass(frozen=True)
class Gift:
    id: int
    guild_id: int
    user_id: int
    reference: str
    what: str
    campaign_id: int | None
    variant_ref: str | None
    route: Route
    state: State
    order_key: str
    order_ref: str | None
    order_name: str | None
    tracking_url: str | None
    error: str | None
    created_at: datetime
    shipped_at: datetime | None
    delivered_at: datetime | None
    cancel_reason: str | None = None

    @property
    def redemption_id(self) -> int | None:
        """The reward redemption this gift ships, if a redemption asked for it."""
        tail = self.reference.removeprefix(REDEMPTION)
        return int(tail) if tail != self.reference and tail.isascii() and tail.isdigit() else None


def _gift(row: Row) -> Gift:
    def moment(name: str) -> datetime | None:
        return from_db(row[name]) if row[name] else None

    return Gift(row["id"], row["guild_id"], row["user_id"], row["reference"], row["what"], row["campaign_id"],
                row["variant_ref"], row["route"], row["state"], row["order_key"], row["order_ref"], row["order_name"],
                row["tracking_url"], row["error"], from_db(row["created_at"]), moment("shipped_at"),
                moment("delivered_at"), row["cancel_reason"])  # fmt: skip


def order_key(guild_id: int, user_id: int, reference: str) -> str:
    """The idempotency key of a gift's order: one per member per campaign (or per reference), the same on every
    retry and after a restore; short enough for a Shopify tag."""
    digest = hashlib.sha256(f"{guild_id}:{user_id}:{reference}".encode()).hexdigest()[:20]
    return f"collective-gift-{digest}"


async def find_gift(db: Database | Transaction, gift_id: int) -> Gift | None:
    row = await db.fetchone("SELECT * FROM gifts WHERE id = ?", (gift_id,))
    return None if row is None else _gift(row)


async def get_gift(db: Database | Transaction, guild_id: int, gift_id: int) -> Gift:
    gift = await find_gift(db, gift_id)
    if gift is None or gift.guild_id != guild_id:
        raise NotFound(f"There's no gift #{gift_id} in this program.")
    return gift


async def _tell(tx: Transaction, gift: Gift, step: Step, now: datetime) -> None:
    payload = {"user_id": gift.user_id, "step": step, "gift_id": gift.id}
    await tx.emit(gift.guild_id, TELL, now, payload, key=f"gift:{gift.id}:{step}")


async def _set_state(tx: Transaction, gift_id: int, state: State, now: datetime, **columns: object) -> Gift:
    sets = "".join(f", {name} = ?" for name in columns)
    values = (state, to_db(now), *columns.values(), gift_id)
    await tx.execute(f"UPDATE gifts SET state = ?, updated_at = ?{sets} WHERE id = ?", values)
    found = await find_gift(tx, gift_id)
    assert found is not None
    if state in ("shipped", "delivered", "cancelled"):
        await _settle_redemption(tx, found, now)
    return found


async def _settle_redemption(tx: Transaction, gift: Gift, now: datetime) -> bool:
    """The redemption behind a reward's gift follows it: fulfilled once it ships, refunded (points and stock back,
    exactly once: guarded by its status) when it is cancelled. Returns whether points were given back."""
    if gift.redemption_id is None:
        return False
    # rewards ask for gifts (rewards/shipped.py imports this module): this is the one way back
    from bot.services.rewards import redemptions

    if gift.state == "cancelled":
        reason = gift.cancel_reason or "the gift was cancelled"
        return await redemptions.refund(tx, gift.redemption_id, "cancelled", reason, now) is not None
    await tx.execute(
        "UPDATE redemptions SET status = 'fulfilled', fulfilled_at = ? WHERE id = ? AND kind = 'ship'"
        " AND status = 'pending'",
        (to_db(now), gift.redemption_id),
    )
    return False


# -- asking for one ------------------------------------------------------------------------------------------


async def shop_route(db: Database | Transaction, guild_id: int, variant_ref: str | None) -> Route:
    """A gift that names a store variant goes to a connected Shopify store; anything else to the queue (WooCommerce
    gifting uses the queue: README, Gifting campaigns)."""
    platform = await db.fetchval("SELECT platform FROM shop_connections WHERE guild_id = ?", (guild_id,))
    return "shop" if variant_ref and platform == "shopify" else "queue"


async def request_fulfilment(
    tx: Transaction,
    guild_id: int,
    user_id: int,
    what: str,
    reference: str,
    now: datetime,
    *,
    variant_ref: str | None = None,
    campaign_id: int | None = None,
) -> Gift:
    """Something to send the member: ``what`` as they and moderators read it, ``reference`` saying who asked (one
    gift per member and reference: asking twice returns the first). The member is asked for their address when
    none is on file; otherwise it is ready to ship (and, on the shop route, its order is owed)."""
    existing = await tx.fetchone(
        "SELECT * FROM gifts WHERE guild_id = ? AND user_id = ? AND reference = ?", (guild_id, user_id, reference)
    )
    if existing is not None:
        return _gift(existing)
    route = await shop_route(tx, guild_id, variant_ref)
    has_address = await tx.fetchval(
        "SELECT 1 FROM shipping_details WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
    )
    state: State = "ready" if has_address else "awaiting_address"
    new_id = await tx.insert(
        """INSERT INTO gifts (guild_id, user_id, reference, what, campaign_id, variant_ref, route, state, order_key,
               created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (guild_id, user_id, reference, what[:200], campaign_id, variant_ref, route, state,
         order_key(guild_id, user_id, reference), to_db(now), to_db(now)),
    )  # fmt: skip
    gift = await find_gift(tx, new_id)
    assert gift is not None
    if state == "awaiting_address":
        await _tell(tx, gift, "asked", now)
    elif route == "shop":
        await tx.emit(guild_id, ORDER, now, {"gift_id": gift.id}, key=str(gift.id))
    else:
        await _tell(tx, gift, "confirmed", now)
    return gift


async def address_given(tx: Transaction, guild_id: int, user_id: int, now: datetime) -> list[Gift]:
    """The member gave their address: what waited for it is ready (shop orders are owed now)."""
    rows = await tx.fetchall(
        "SELECT id FROM gifts WHERE guild_id = ? AND user_id = ? AND state = 'awaiting_address' ORDER BY id",
        (guild_id, user_id),
    )
    ready = []
    for row in rows:
        gift = await _set_state(tx, int(row["id"]), "ready", now)
        if gift.route == "shop":
            await tx.emit(guild_id, ORDER, now, {"gift_id": gift.id}, key=str(gift.id))
        ready.append(gift)
    return ready


async def member_gifts(db: Database, guild_id: int, user_id: int, limit: int = 10) -> list[Gift]:
    rows = await db.fetchall(
        "SELECT * FROM gifts WHERE guild_id = ? AND user_id = ? ORDER BY id DESC LIMIT ?", (guild_id, user_id, limit)
    )
    return [_gift(row) for row in rows]


async def cancel_unsent(tx: Transaction, guild_id: int, user_id: int, now: datetime, reason: str) -> int:
    """Cancel what has not left yet (no order placed, nothing shipped): its address is gone. A reward's gift gives
    the points back."""
    rows = await tx.fetchall(
        "SELECT id FROM gifts WHERE guild_id = ? AND user_id = ? AND state IN ('awaiting_address', 'ready')",
        (guild_id, user_id),
    )
    for row in rows:
        await _set_state(tx, int(row["id"]), "cancelled", now, finished_at=to_db(now), cancel_reason=reason)
    return len(rows)


def check_reason(reason: str) -> str:
    text = " ".join((reason or "").split())
    if not 1 <= len(text) <= REASON_MAX or "\x00" in text:
        raise InvalidInput(f"Give a reason of 1–{REASON_MAX} characters; the member is told it.")
    return text


async def cancel_gift(
    tx: Transaction, guild_id: int, gift_id: int, reason: str, actor_id: int, now: datetime
) -> tuple[Gift, bool]:
    """A moderator calls back one gift not ordered nor shipped yet (the rest of its campaign goes on): the member
    is told why; a reward's gift gives the points and the stock back. Returns (the gift, whether points came
    back). Raises ``Conflict`` — changing nothing — when it is already on its way, delivered or cancelled."""
    why = check_reason(reason)
    gift = await get_gift(tx, guild_id, gift_id)
    if gift.state == "cancelled":
        raise Conflict(f"Gift #{gift.id} is already cancelled.")
    if gift.state == "ordered":
        raise Conflict(f"Gift #{gift.id} is already an order in the store ({gift.order_name or 'placed'}): "
                       "cancel that order in the store's admin instead.")  # fmt: skip
    if gift.state not in CANCELLABLE:
        raise Conflict(f"Gift #{gift.id} is already {gift.state}; only a gift not sent yet can be cancelled.")
    gift = await _set_state(tx, gift.id, "cancelled", now, finished_at=to_db(now), cancel_reason=why)
    refunded = gift.redemption_id is not None  # _set_state gave the points back (once)
    await audit.record(tx, guild_id, actor_id, "gift.cancel", gift.user_id, now, gift=gift.id, what=gift.what,
                       reason=why, refunded=refunded)  # fmt: skip
    if gift.redemption_id is None:  # a reward's refund tells the member itself, with the reason
        await _tell(tx, gift, "cancelled", now)
    return gift, refunded


async def cancel_for_redemption(tx: Transaction, guild_id: int, redemption_id: int, reason: str, now: datetime) -> None:
    """The redemption behind a reward's gift was refunded: its gift, if not sent yet, is called back with it."""
    row = await tx.fetchone(
        "SELECT id FROM gifts WHERE guild_id = ? AND reference = ? AND state IN ('awaiting_address', 'ready')",
        (guild_id, f"{REDEMPTION}{redemption_id}"),
    )
    if row is not None:
        await _set_state(tx, int(row["id"]), "cancelled", now, finished_at=to_db(now), cancel_reason=reason[:500])


async def gift_of_redemption(db: Database | Transaction, guild_id: int, redemption_id: int) -> Gift | None:
    row = await db.fetchone(
        "SELECT * FROM gifts WHERE guild_id = ? AND reference = ?", (guild_id, f"{REDEMPTION}{redemption_id}")
    )
    return None if row is None else _gift(row)


async def cancellable(db: Database, guild_id: int, typed: str = "", limit: int = 25) -> list[Gift]:
    """Gifts a moderator can still call back, matching ``typed`` (an id or words of what it is), oldest first."""
    text = typed.strip().lstrip("#").lower()
    rows = await db.fetchall(
        "SELECT * FROM gifts WHERE guild_id = ? AND state IN ('awaiting_address', 'ready') ORDER BY id", (guild_id,)
    )
    found = [_gift(row) for row in rows]
    return [g for g in found if text in f"{g.id} {g.what}".lower()][:limit]


# -- the moderators' queue -----------------------------------------------------------------------------------


def check_tracking(url: str) -> str:
    text = (url or "").strip()
    if not text.lower().startswith(("https://", "http://")) or any(ch.isspace() for ch in text) or len(text) < 12:
        raise InvalidInput("The tracking link is the carrier's http(s) address, e.g. https://www.dhl.de/track?id=123.")
    if len(text) > MAX_LINK_LENGTH or "\x00" in text:
        raise InvalidInput(f"The tracking link can be at most {MAX_LINK_LENGTH} characters.")
    return text


async def mark_shipped(
    tx: Transaction, guild_id: int, gift_id: int, tracking_url: str, actor_id: int, now: datetime
) -> Gift:
    link = check_tracking(tracking_url)
    gift = await get_gift(tx, guild_id, gift_id)
    if gift.route != "queue":
        raise Conflict(f"Gift #{gift.id} is an order in the store: its shipping is followed from there.")
    if gift.state != "ready":
        raise Conflict(f"Gift #{gift.id} is {gift.state.replace('_', ' ')}, not waiting to ship.")
    stamp = to_db(now)
    gift = await _set_state(tx, gift.id, "shipped", now, tracking_url=link, shipped_at=stamp, finished_at=stamp)
    await audit.record(tx, guild_id, actor_id, "gift.shipped", gift.user_id, now, gift=gift.id, what=gift.what)
    await _tell(tx, gift, "shipped", now)
    return gift


async def mark_delivered(tx: Transaction, guild_id: int, gift_id: int, actor_id: int, now: datetime) -> Gift:
    gift = await get_gift(tx, guild_id, gift_id)
    if gift.route != "queue":
        raise Conflict(f"Gift #{gift.id} is an order in the store: its delivery is followed from there.")
    if gift.state not in ("ready", "shipped"):
        raise Conflict(f"Gift #{gift.id} is {gift.state.replace('_', ' ')}; only a gift on its way can be delivered.")
    gift = await _delivered(tx, gift, now)
    await audit.record(tx, guild_id, actor_id, "gift.delivered", gift.user_id, now, gift=gift.id, what=gift.what)
    return gift


async def _delivered(tx: Transaction, gift: Gift, now: datetime) -> Gift:
    stamp = to_db(now)
    await tx.execute(
        "UPDATE gifts SET shipped_at = COALESCE(shipped_at, ?), finished_at = COALESCE(finished_at, ?) WHERE id = ?",
        (stamp, stamp, gift.id),
    )
    gift = await _set_state(tx, gift.id, "delivered", now, delivered_at=stamp)
    await _tell(tx, gift, "delivered", now)
    if gift.campaign_id is not None:
        brief = await tx.fetchval("SELECT brief_id FROM gift_campaigns WHERE id = ?", (gift.campaign_id,))
        if brief is not None:
            payload = {"gift_id": gift.id, "brief_id": int(brief)}
            await tx.schedule(gift.guild_id, BRIEF_REMINDER, str(gift.id), now + REMIND_AFTER, now, payload)
    return gift


@dataclass(frozen=True)
class QueueItem:
    gift: Gift
    display_name: str
    address: str | None  # the address block; None when the member has not given it (or it was erased)


async def queue(db: Database, guild_id: int) -> tuple[list[QueueItem], int]:
    """What moderators ship by hand — waiting to ship, then shipped and waiting to be marked delivered, oldest
    first — and how many queued gifts still wait for the member's address."""
    rows = await db.fetchall(
        """SELECT g.*, COALESCE(m.display_name, '') AS display_name FROM gifts g
           LEFT JOIN members m ON m.guild_id = g.guild_id AND m.user_id = g.user_id
           WHERE g.guild_id = ? AND g.route = 'queue' AND g.state IN ('ready', 'shipped')
           ORDER BY CASE g.state WHEN 'ready' THEN 0 ELSE 1 END, g.id""",
        (guild_id,),
    )
    items = []
    for row in rows:
        details = await get_details(db, guild_id, int(row["user_id"]))
        items.append(QueueItem(_gift(row), row["display_name"], None if details is None else details.address_text))
    waiting = await db.fetchval(
        "SELECT COUNT(*) FROM gifts WHERE guild_id = ? AND route = 'queue' AND state = 'awaiting_address'", (guild_id,)
    )
    return items, int(waiting)


CSV_HEADER = ("gift", "state", "what", "reference", "member_id", "name", "address_line1", "address_line2", "city",
              "postal_code", "country", "phone", "tracking_url", "requested_at")  # fmt: skip


async def export_csv(tx: Transaction, guild_id: int, actor_id: int, now: datetime) -> tuple[str, int]:
    """A moderator exports the fulfilment CSV: it carries personal data, so the export is audited — who, when and
    how many rows, never what they hold."""
    text, rows = await fulfilment_csv(tx, guild_id)
    await audit.record(tx, guild_id, actor_id, "fulfilment.export", None, now, rows=rows)
    return text, rows


async def fulfilment_csv(db: Database | Transaction, guild_id: int) -> tuple[str, int]:
    """The fulfilment CSV: every queued gift waiting to ship, with the address to ship it to — the one export that
    carries addresses. Returns (text, rows)."""
    rows = await db.fetchall(
        """SELECT g.*, s.name, s.line1, s.line2, s.city, s.postal_code, s.country, s.phone FROM gifts g
           JOIN shipping_details s ON s.guild_id = g.guild_id AND s.user_id = g.user_id
           WHERE g.guild_id = ? AND g.route = 'queue' AND g.state = 'ready' ORDER BY g.id""",
        (guild_id,),
    )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for row in rows:
        cells = [row["id"], row["state"], row["what"], row["reference"], row["user_id"], row["name"], row["line1"],
                 row["line2"] or "", row["city"], row["postal_code"], row["country"], row["phone"] or "",
                 row["tracking_url"] or "", row["created_at"]]  # fmt: skip
        writer.writerow([_safe_cell(str(cell)) for cell in cells])
    return out.getvalue(), len(rows)


def _safe_cell(text: str) -> str:
    """A cell a spreadsheet will not run as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# -- the store's side (bot/shop/gift_orders.py) ---------------------------------------------------------------


async def record_ordered(tx: Transaction, gift_id: int, order_ref: str, order_name: str, now: datetime) -> bool:
    """The store holds the gift's order. False when it was already recorded (a retry)."""
    gift = await find_gift(tx, gift_id)
    if gift is None or gift.state != "ready":
        return False
    gift = await _set_state(tx, gift_id, "ordered", now, order_ref=order_ref, order_name=order_name[:40], error=None)
    await _tell(tx, gift, "ordered", now)
    return True


async def record_refused(tx: Transaction, gift_id: int, error: str, now: datetime) -> bool:
    """The store refused the order for good: the gift joins the moderators' queue, and they are told once."""
    gift = await find_gift(tx, gift_id)
    if gift is None or gift.state != "ready" or gift.route != "shop":
        return False
    await tx.execute(
        "UPDATE gifts SET route = 'queue', error = ?, updated_at = ? WHERE id = ?", (error[:500], to_db(now), gift_id)
    )
    await tx.emit(gift.guild_id, REFUSED, now, {"gift_id": gift_id, "error": error[:500]}, key=str(gift_id))
    return True


async def waiting_for_order(db: Database | Transaction, guild_id: int, *, older_than: datetime) -> list[Gift]:
    """Shop-route gifts ready since before ``older_than`` with no order yet: what the retry places."""
    rows = await db.fetchall(
        "SELECT * FROM gifts WHERE guild_id = ? AND route = 'shop' AND state = 'ready' AND updated_at < ? ORDER BY id",
        (guild_id, to_db(older_than)),
    )
    return [_gift(row) for row in rows]


async def orders_to_follow(db: Database | Transaction, guild_id: int) -> list[Gift]:
    """Gifts ordered in the store and not yet delivered: what the hourly follow-up asks the store about."""
    rows = await db.fetchall(
        "SELECT * FROM gifts WHERE guild_id = ? AND route = 'shop' AND state IN ('ordered', 'shipped') ORDER BY id",
        (guild_id,),
    )
    return [_gift(row) for row in rows]


async def record_fulfilment(
    tx: Transaction, gift_id: int, *, shipped: bool, delivered: bool, tracking_url: str | None, now: datetime
) -> Gift | None:
    """What the store says of the gift's order: shipped (with a tracking link when it has one), delivered. Each
    step is recorded and told once, in order, whatever the store skipped."""
    gift = await find_gift(tx, gift_id)
    if gift is None or gift.state not in ("ordered", "shipped"):
        return gift
    if (shipped or delivered) and gift.state == "ordered":
        stamp = to_db(now)
        gift = await _set_state(tx, gift.id, "shipped", now, tracking_url=tracking_url, shipped_at=stamp,
                                finished_at=stamp)  # fmt: skip
        await _tell(tx, gift, "shipped", now)
    elif gift.state == "shipped" and tracking_url and not gift.tracking_url:
        gift = await _set_state(tx, gift.id, "shipped", now, tracking_url=tracking_url)
    if delivered:
        gift = await _delivered(tx, gift, now)
    return gift


async def remind_of_brief(tx: Transaction, gift_id: int, brief_id: int, now: datetime) -> bool:
    """After delivery: remind the member of the campaign's brief, if it is still open and they have sent nothing
    for it yet. Returns whether they are reminded."""
    row = await tx.fetchone(
        """SELECT g.* FROM gifts g JOIN briefs b ON b.id = ? WHERE g.id = ? AND g.state = 'delivered'
             AND b.status = 'open'
             AND NOT EXISTS (SELECT 1 FROM submissions s WHERE s.brief_id = b.id AND s.user_id = g.user_id)""",
        (brief_id, gift_id),
    )
    if row is None:
        return False
    await _tell(tx, _gift(row), "brief", now)
    return True

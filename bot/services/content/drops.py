"""Drops: behind-the-scenes posts for ambassadors, published at their time, optionally under embargo."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from typing import Literal
from zoneinfo import ZoneInfo

from bot.clock import from_db, to_db
from bot.db import Database, Transaction
from bot.errors import Conflict, InvalidInput, NotAllowed, NotFound
from bot.services.inputs.links import check_link
from bot.services.inputs.local_time import parse_local
from bot.services.inputs.typed_text import refuse_nul
from bot.services.program import audit
from bot.storage.statements import Row
from bot.unit_of_work import TimerKind

PUBLISH = TimerKind("drop-publish", "a scheduled drop")  # payload: {"drop_id": …}

DropStatus = Literal["scheduled", "published", "cancelled"]
TITLE_MAX = 100
BODY_MAX = 3500  # leaves room in the embed for the embargo line and footer


@dataclass(frozen=True)
class DropImage:
    name: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class DropFields:
    title: str
    body: str
    publish_at: datetime
    embargo_until: datetime | None
    image_url: str | None
    ask_ack: bool


@dataclass(frozen=True)
class Drop:
    id: int
    guild_id: int
    title: str
    body: str
    image_url: str | None
    image_name: str | None
    publish_at: datetime
    embargo_until: datetime | None
    ask_ack: bool
    status: DropStatus
    channel_id: int | None
    message_id: int | None
    created_by: int


def _drop(row: Row) -> Drop:
    return Drop(
        id=row["id"],
        guild_id=row["guild_id"],
        title=row["title"],
        body=row["body"],
        image_url=row["image_url"],
        image_name=row["image_name"],
        publish_at=from_db(row["publish_at"]),
        embargo_until=from_db(row["embargo_until"]) if row["embargo_until"] else None,
        ask_ack=bool(row["ask_ack"]),
        status=row["status"],
        channel_id=row["channel_id"],
        message_id=row["message_id"],
        created_by=row["created_by"],
    )


def check_fields(
    title: str,
    body: str,
    publish: str,
    embargo: str | None,
    image_url: str | None,
    ask_ack: bool | None,
    zone: ZoneInfo,
    now: datetime,
) -> DropFields:
    title, body = title.strip(), body.replace("\\n", "\n").strip()
    refuse_nul("drop", title, body)
    if not title or len(title) > TITLE_MAX:
        raise InvalidInput(f"The title needs 1 to {TITLE_MAX} characters.")
    if not body or len(body) > BODY_MAX:
        raise InvalidInput(f"The text needs 1 to {BODY_MAX} characters.")
    publish_at = parse_local(publish, zone, default_time=time(9, 0), what="publish time")
    if publish_at < now:
        raise InvalidInput("The publish time is in the past. Give a time from now on.")
    embargo_until = None
    if embargo:
        embargo_until = parse_local(embargo, zone, default_time=time(0, 0), what="embargo date")
        if embargo_until <= publish_at:
            raise InvalidInput("The embargo date must be after the publish time.")
    url = None
    if image_url:
        checked = check_link(image_url)
        url = checked.url
    if ask_ack and embargo_until is None:
        raise InvalidInput("An acknowledgement button needs an embargo date to acknowledge.")
    return DropFields(title, body, publish_at, embargo_until, url, bool(embargo_until) if ask_ack is None else ask_ack)


async def create(
    tx: Transaction, guild_id: int, actor_id: int, fields: DropFields, image: DropImage | None, now: datetime
) -> Drop:
    if image is not None and fields.image_url is not None:
        raise InvalidInput("Give an image link or an image file, not both.")
    new_id = await tx.insert(
        """INSERT INTO drops (guild_id, title, body, image_url, image_name, image_type, image_data, publish_at,
               embargo_until, ask_ack, status, created_by, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'scheduled', ?, ?)""",
        (
            guild_id,
            fields.title,
            fields.body,
            fields.image_url,
            image.name if image else None,
            image.content_type if image else None,
            image.data if image else None,
            to_db(fields.publish_at),
            to_db(fields.embargo_until) if fields.embargo_until else None,
            int(fields.ask_ack),
            actor_id,
            to_db(now),
        ),
    )
    drop_id = new_id
    assert drop_id is not None
    await tx.schedule(guild_id, PUBLISH, f"drop:{drop_id}", fields.publish_at, now, {"drop_id": drop_id})
    await audit.record(tx, guild_id, actor_id, "drop.create", drop_id, now, title=fields.title)
    return await _get(tx, guild_id, drop_id)


async def _get(db: Database | Transaction, guild_id: int, drop_id: int) -> Drop:
    row = await db.fetchone("SELECT * FROM drops WHERE guild_id = ? AND id = ?", (guild_id, drop_id))
    if row is None:
        raise NotFound("I can't find that drop. Pick one from the list.")
    return _drop(row)


async def get_drop(db: Database, guild_id: int, drop_id: int) -> Drop:
    return await _get(db, guild_id, drop_id)


async def image_of(db: Database, drop_id: int) -> DropImage | None:
    row = await db.fetchone("SELECT image_name, image_type, image_data FROM drops WHERE id = ?", (drop_id,))
    if row is None or row["image_data"] is None:
        return None
    return DropImage(row["image_name"], row["image_type"], bytes(row["image_data"]))


async def mark_published(tx: Transaction, drop_id: int, channel_id: int, message_id: int, now: datetime) -> bool:
    changed = await tx.execute(
        "UPDATE drops SET status = 'published', channel_id = ?, message_id = ?, published_at = ?"
        " WHERE id = ? AND status = 'scheduled'",
        (channel_id, message_id, to_db(now), drop_id),
    )
    return changed == 1


async def cancel(tx: Transaction, guild_id: int, drop_id: int, actor_id: int, now: datetime) -> Drop:
    drop = await _get(tx, guild_id, drop_id)
    if drop.status != "scheduled":
        raise Conflict(f"This drop is already {drop.status}; only scheduled drops can be cancelled.")
    await tx.execute("UPDATE drops SET status = 'cancelled' WHERE id = ? AND status = 'scheduled'", (drop_id,))
    await tx.cancel_timer(guild_id, PUBLISH, f"drop:{drop_id}", now)
    await audit.record(tx, guild_id, actor_id, "drop.cancel", drop_id, now, title=drop.title)
    return await _get(tx, guild_id, drop_id)


async def list_drops(
    db: Database, guild_id: int, statuses: tuple[DropStatus, ...] = ("scheduled", "published")
) -> list[Drop]:
    marks = ",".join("?" for _ in statuses)
    rows = await db.fetchall(
        f"SELECT * FROM drops WHERE guild_id = ? AND status IN ({marks})"
        " ORDER BY CASE status WHEN 'scheduled' THEN 0 ELSE 1 END, publish_at DESC, id DESC",
        (guild_id, *statuses),
    )
    return [_drop(row) for row in rows]


async def acknowledge(tx: Transaction, guild_id: int, drop_id: int, user_id: int, now: datetime) -> tuple[Drop, bool]:
    """Record "I won't share before …". Returns the drop and False when already acknowledged."""
    drop = await _get(tx, guild_id, drop_id)
    if drop.status != "published" or drop.embargo_until is None:
        raise NotAllowed("This drop has nothing to acknowledge.")
    if drop.embargo_until <= now:
        raise NotAllowed("The embargo has already lifted: share away!")
    changed = await tx.execute(
        "INSERT INTO drop_acks (guild_id, drop_id, user_id, created_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (drop_id, user_id) DO NOTHING",
        (guild_id, drop_id, user_id, to_db(now)),
    )
    return drop, changed == 1


async def acknowledged_by(db: Database, drop_id: int) -> list[int]:
    rows = await db.fetchall("SELECT user_id FROM drop_acks WHERE drop_id = ? ORDER BY created_at, user_id", (drop_id,))
    return [int(row["user_id"]) for row in rows]


async def search(db: Database, guild_id: int, typed: str, statuses: tuple[DropStatus, ...]) -> list[Drop]:
    needle = typed.strip().lower()
    found = [d for d in await list_drops(db, guild_id, statuses) if needle in d.title.lower() or needle == str(d.id)]
    return found[:25]

"""Drops against a real database: form checks, scheduling, publishing once, acknowledgements."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import FixedClock
from bot.db import Database
from bot.errors import Conflict, InvalidInput, NotAllowed
from bot.services.content import drops
from tests.unit.test_briefs import ALICE, GUILD, MOD, UTC_ZONE


def fields(now: datetime, **kw: object) -> drops.DropFields:
    values: dict[str, object] = {
        "title": "Sneak peek: the Dew serum",
        "body": "Here it is!\\nLaunching soon.",
        "publish": "2026-11-27 10:00",
        "embargo": "2026-12-01",
        "image_url": None,
        "ask_ack": None,
    } | kw
    return drops.check_fields(zone=UTC_ZONE, now=now, **values)  # type: ignore[arg-type]


def test_form_checks(clock: FixedClock) -> None:
    now = clock.now()
    checked = fields(now)
    assert checked.body == "Here it is!\nLaunching soon."
    assert checked.publish_at == datetime(2026, 11, 27, 10, tzinfo=UTC)
    assert checked.embargo_until == datetime(2026, 12, 1, tzinfo=UTC) and checked.ask_ack
    assert not fields(now, embargo=None).ask_ack
    with pytest.raises(InvalidInput, match="past"):
        fields(now, publish="2026-11-01 10:00")
    with pytest.raises(InvalidInput, match="after the publish"):
        fields(now, embargo="2026-11-26")
    with pytest.raises(InvalidInput, match="embargo date to acknowledge"):
        fields(now, embargo=None, ask_ack=True)
    with pytest.raises(InvalidInput, match="http"):
        fields(now, image_url="ftp://x.com/a.png")
    with pytest.raises(InvalidInput, match="text"):
        fields(now, body="x" * (drops.BODY_MAX + 1))


async def test_schedule_publish_once_and_acknowledge(db: Database, clock: FixedClock) -> None:
    now = clock.now()
    image = drops.DropImage("peek.png", "image/png", b"\x89PNG")
    drop = await db.perform(drops.create, GUILD, MOD, fields(now), image, now)
    assert drop.status == "scheduled" and (await drops.image_of(db, drop.id)) == image
    with pytest.raises(NotAllowed):
        await db.perform(drops.acknowledge, GUILD, drop.id, ALICE, now)  # not out yet
    assert await db.perform(drops.mark_published, drop.id, 5, 6, now)
    assert not await db.perform(drops.mark_published, drop.id, 5, 7, now)
    assert (await drops.get_drop(db, GUILD, drop.id)).message_id == 6
    assert (await db.perform(drops.acknowledge, GUILD, drop.id, ALICE, now))[1]
    assert not (await db.perform(drops.acknowledge, GUILD, drop.id, ALICE, now))[1]
    assert await drops.acknowledged_by(db, drop.id) == [ALICE]
    with pytest.raises(NotAllowed, match="lifted"):
        await db.perform(drops.acknowledge, GUILD, drop.id, ALICE + 1, now + timedelta(days=30))
    with pytest.raises(Conflict):
        await db.perform(drops.cancel, GUILD, drop.id, MOD, now)


async def test_cancel_and_list(db: Database, clock: FixedClock) -> None:
    now = clock.now()
    with pytest.raises(InvalidInput, match="not both"):
        await db.perform(
            drops.create,
            GUILD,
            MOD,
            fields(now, image_url="https://cdn.example.com/a.png"),
            drops.DropImage("a.png", "image/png", b"x"),
            now,
        )
    drop = await db.perform(drops.create, GUILD, MOD, fields(now), None, now)
    assert (await db.perform(drops.cancel, GUILD, drop.id, MOD, now)).status == "cancelled"
    assert await drops.list_drops(db, GUILD) == []
    assert [d.id for d in await drops.search(db, GUILD, "dew", ("cancelled",))] == [drop.id]

"""Events end to end: create → Discord scheduled event → RSVP → waitlist → reminders → check-in → points."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bot.app import CollectiveBot
from bot.clock import FixedClock, to_db
from bot.services.engagement import points
from bot.services.program import bindings
from emulator import Emulator
from emulator.models import VOICE, Channel, Message
from emulator.permissions import CREATE_EVENTS, README_BOT
from tests.e2e.conftest import BotRunner, World

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
START = datetime(2026, 12, 5, 18, 0, tzinfo=UTC)
EXTERNAL, VOICE_EVENT, CANCELLED = 3, 2, 4


async def wait_until(check: Callable[[], bool], what: str) -> None:
    for _ in range(200):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


async def program(bot: CollectiveBot, world: World, announcements: Channel, *ambassadors: int) -> None:
    """What /setup and onboarding would have done: the channel binding and approved ambassadors."""
    now = bot.clock.now()
    async with bot.db.transaction() as tx:
        await bindings.bind(tx, world.guild.id, "channel:announcements", announcements.id, now)
        for user_id in ambassadors:
            await tx.execute(
                "INSERT INTO members (guild_id, user_id, display_name, status, tier, status_changed_at, created_at)"
                " VALUES (?, ?, ?, 'active', 'ambassador', ?, ?)",
                (world.guild.id, user_id, f"member{user_id}", to_db(now), to_db(now)),
            )


def announcement(emu: Emulator, channel: Channel) -> Message:
    posted = [m for m in emu.state.messages_in(channel.id) if m.author_id == emu.bot.id and m.embeds]
    assert posted, "no announcement was posted"
    return posted[-1]


def embed_text(message: Message) -> str:
    parts = []
    for item in message.embeds:
        parts += [str(item.get("title", "")), str(item.get("description", ""))]
        parts += [f"{f['name']}: {f['value']}" for f in item.get("fields", [])]
    return "\n".join(parts)


async def test_meetup_rsvp_waitlist_reminder_and_check_in(emu: Emulator, world: World, runner: BotRunner) -> None:
    chen = emu.add_member(world.guild.id, "chen")
    news = emu.create_channel(world.guild.id, "announcements")
    clock = FixedClock(NOW)
    runner.clock = clock
    bot = await runner.start()
    await program(bot, world, news, world.alice.id, world.bob.id, chen.id)
    mira = emu.actor(world.guild.id, world.moderator.id)
    alice = emu.actor(world.guild.id, world.alice.id)
    chen_actor = emu.actor(world.guild.id, chen.id)

    created = await mira.slash(
        "event create",
        title="Holiday meetup",
        start="2026-12-05 18:00",
        end="2026-12-05 20:00",
        capacity=1,
        location="Glow HQ, Berlin",
        description="Mince pies and the new serum",
    )
    assert created.ephemeral and "Created **Holiday meetup**" in created.content, created.content
    [scheduled] = emu.state.events_in(world.guild.id)
    assert scheduled.entity_type == EXTERNAL and scheduled.location == "Glow HQ, Berlin"
    assert scheduled.name == "Holiday meetup" and scheduled.scheduled_start_time.startswith("2026-12-05T18:00")
    post = announcement(emu, news)
    assert "0/1 going" in embed_text(post)
    event_id = int(re.findall(r"Event #(\d+)", post.embeds[0]["footer"]["text"])[0])
    going, decline = f"collective:event:going:{event_id}", f"collective:event:decline:{event_id}"
    assert {going, decline} <= set(post.custom_ids())

    # A member who isn't an ambassador is told so.
    outsider = emu.add_member(world.guild.id, "outsider")
    refused = await emu.actor(world.guild.id, outsider.id).click(post, going)
    assert refused.ephemeral and "ambassadors" in refused.content

    yes = await alice.click(post, going)
    assert yes.ephemeral and "You're going" in yes.content
    full = await chen_actor.click(post, going)
    assert "#1** on the waitlist" in full.content
    await wait_until(lambda: "1/1 going · 1 on the waitlist" in embed_text(announcement(emu, news)), "counts")

    # A restart: the buttons are persistent, and alice's cancellation moves chen up (and tells him).
    bot = await runner.restart()
    dropped = await alice.click(announcement(emu, news), decline)
    assert "can't make" in dropped.content and "next in line" in dropped.content
    await wait_until(lambda: any("spot opened up" in m.content for m in emu.dms_to(chen.id)), "chen's DM")
    listed = await chen_actor.slash("events")
    assert listed.ephemeral and "you: ✅ going" in listed.text

    # The day-before reminder fires once, even across another restart.
    clock.set(START - timedelta(days=1))
    await bot.scheduler.run_due(clock.now())
    await bot.scheduler.run_due(clock.now())
    bot = await runner.restart()
    await bot.scheduler.run_due(clock.now())
    reminders = [m for m in emu.dms_to(chen.id) if "Reminder" in m.content]
    assert len(reminders) == 1 and "starts tomorrow" in reminders[0].content
    assert not any("Reminder" in m.content for m in emu.dms_to(world.alice.id))  # she can't go any more

    # Inside the window: mira shows the code, chen checks in and gets points, once.
    clock.set(START + timedelta(minutes=20))
    await bot.scheduler.run_due(clock.now())
    assert emu.state.scheduled_events[scheduled.id].status == 2  # the start timer started Discord's event
    shown = await mira.slash("event code", event=event_id)
    code = re.findall(r"`([A-Z0-9]{6})`", shown.content)[0]
    assert shown.ephemeral
    wrong = await chen_actor.slash("checkin", code="ZZZ999")
    assert wrong.ephemeral and "isn't right" in wrong.content
    ok = await chen_actor.slash("checkin", code=code.lower())
    assert ok.ephemeral and "+30 points" in ok.text
    again = await chen_actor.slash("checkin", code=code)
    assert "already checked in" in again.content
    assert await points.balance(bot.db, world.guild.id, chen.id) == 30
    attended = await bot.db.fetchall("SELECT guild_id, user_id, event_id, source FROM event_attendance")
    assert [tuple(row) for row in attended] == [(world.guild.id, chen.id, event_id, "checkin")]

    # A follow-up poll goes to the people who came (the polls capability publishes it).
    asked = await mira.slash("event followup", event=event_id, question="How was it?", options="Loved it | Fine")
    assert asked.ephemeral and "for the 1 member who came" in asked.content, asked.content
    voters = await bot.db.fetchall("SELECT user_id FROM poll_voters")
    assert [r["user_id"] for r in voters] == [chen.id]

    # After the end the code has expired.
    clock.set(START + timedelta(hours=2, minutes=1))
    late = await emu.actor(world.guild.id, world.bob.id).slash("checkin", code=code)
    assert "expired" in late.content
    assert await points.balance(bot.db, world.guild.id, world.bob.id) == 0

    export = await mira.slash("event attendees", event=event_id)
    [(name, data)] = export.files.items()
    rows = {int(r["user_id"]): r for r in csv.DictReader(io.StringIO(data.decode()))}
    assert name == f"event-{event_id}-attendees.csv"
    assert rows[chen.id]["attended"] == "yes" and rows[world.alice.id]["rsvp"] == "declined"


async def test_online_event_counts_who_joins_the_voice_channel(emu: Emulator, world: World, runner: BotRunner) -> None:
    news = emu.create_channel(world.guild.id, "announcements")
    lounge = emu.create_channel(world.guild.id, "Focus lounge", VOICE)
    clock = FixedClock(NOW)
    runner.clock = clock
    bot = await runner.start()
    await program(bot, world, news, world.alice.id, world.bob.id)
    mira = emu.actor(world.guild.id, world.moderator.id)
    created = await mira.slash(
        "event create",
        title="Serum focus group",
        start="2026-12-01 17:00",
        end="2026-12-01 18:00",
        capacity=5,
        channel=lounge.id,
        points=15,
    )
    assert "Created" in created.content, created.content
    [scheduled] = emu.state.events_in(world.guild.id)
    assert scheduled.entity_type == VOICE_EVENT and scheduled.channel_id == lounge.id

    emu.join_voice(world.guild.id, world.bob.id, lounge.id)  # early: not counted yet
    await asyncio.sleep(0.1)
    clock.set(datetime(2026, 12, 1, 17, 0, tzinfo=UTC))
    await bot.scheduler.run_due(clock.now())  # the start timer counts bob, already in the channel
    emu.join_voice(world.guild.id, world.alice.id, lounge.id)
    emu.join_voice(world.guild.id, world.moderator.id, lounge.id)  # not an ambassador: ignored

    async def balances() -> tuple[int, int]:
        return (
            await points.balance(bot.db, world.guild.id, world.alice.id),
            await points.balance(bot.db, world.guild.id, world.bob.id),
        )

    for _ in range(200):
        if await balances() == (15, 15):
            break
        await asyncio.sleep(0.02)
    assert await balances() == (15, 15)
    emu.leave_voice(world.guild.id, world.alice.id)
    emu.join_voice(world.guild.id, world.alice.id, lounge.id)  # rejoining awards nothing more
    await asyncio.sleep(0.1)
    assert await balances() == (15, 15)
    sources = await bot.db.fetchall("SELECT user_id, source FROM event_attendance ORDER BY user_id")
    assert {(r["user_id"], r["source"]) for r in sources} == {(world.alice.id, "voice"), (world.bob.id, "voice")}


async def test_edit_and_cancel_keep_discord_and_reminders_in_step(
    emu: Emulator, world: World, runner: BotRunner
) -> None:
    news = emu.create_channel(world.guild.id, "announcements")
    clock = FixedClock(NOW)
    runner.clock = clock
    mira = emu.actor(world.guild.id, world.moderator.id)

    bot = await runner.start()
    unbound = await mira.slash(
        "event create", title="Too soon", start="2026-12-05 18:00", end="2026-12-05 19:00", capacity=3, location="HQ"
    )
    assert "run /setup" in unbound.content and emu.state.events_in(world.guild.id) == []
    await program(bot, world, news, world.alice.id)
    bad = await mira.slash(
        "event create", title="Backwards", start="2026-12-05 18:00", end="2026-12-05 17:00", capacity=3, location="HQ"
    )
    assert "end must be after the start" in bad.content and emu.state.events_in(world.guild.id) == []
    both = await mira.slash(
        "event create", title="Confused", start="2026-12-05 18:00", end="2026-12-05 19:00", capacity=3
    )
    assert "either a location" in both.content

    emu.set_bot_permissions(world.guild.id, README_BOT & ~CREATE_EVENTS)
    refused = await mira.slash(
        "event create", title="Meetup", start="2026-12-05 18:00", end="2026-12-05 20:00", capacity=3, location="HQ"
    )
    assert "**Create Events**" in refused.content and "Nothing was created" in refused.content
    assert await bot.db.fetchval("SELECT COUNT(*) FROM events") == 0 and emu.state.messages_in(news.id) == []
    emu.set_bot_permissions(world.guild.id, README_BOT)

    await mira.slash(
        "event create", title="Meetup", start="2026-12-05 18:00", end="2026-12-05 20:00", capacity=3, location="HQ"
    )
    [scheduled] = emu.state.events_in(world.guild.id)
    post = announcement(emu, news)
    event_id = int(re.findall(r"Event #(\d+)", post.embeds[0]["footer"]["text"])[0])
    await emu.actor(world.guild.id, world.alice.id).click(post, f"collective:event:going:{event_id}")

    moved = await mira.slash(
        "event edit", event=event_id, start="2026-12-06 18:00", end="2026-12-06 20:00", location="Glow HQ, 2nd floor"
    )
    assert "Updated" in moved.content, moved.content
    assert scheduled.scheduled_start_time.startswith("2026-12-06T18:00") and scheduled.location == "Glow HQ, 2nd floor"
    assert f"<t:{int(datetime(2026, 12, 6, 18, tzinfo=UTC).timestamp())}:f>" in embed_text(announcement(emu, news))
    timers = await bot.db.fetchall("SELECT key, status, due_at FROM timers WHERE kind = 'event-reminder' ORDER BY id")
    assert [t["status"] for t in timers] == ["cancelled", "cancelled", "pending", "pending"]
    assert timers[2]["due_at"] == to_db(datetime(2026, 12, 5, 18, 0, tzinfo=UTC))
    await wait_until(lambda: any("changed" in m.content for m in emu.dms_to(world.alice.id)), "change DM")

    # The old day-before time passes: nothing is sent for the stale timer.
    clock.set(datetime(2026, 12, 4, 18, 0, tzinfo=UTC))
    await bot.scheduler.run_due(clock.now())
    assert not any("Reminder" in m.content for m in emu.dms_to(world.alice.id))

    cancelled = await mira.slash("event cancel", event=event_id, reason="The venue flooded")
    assert "told 1 member" in cancelled.content
    assert scheduled.status == CANCELLED
    card = announcement(emu, news)
    assert "Cancelled: Meetup" in embed_text(card) and card.custom_ids() == []
    await wait_until(lambda: any("venue flooded" in m.content for m in emu.dms_to(world.alice.id)), "cancel DM")
    statuses = await bot.db.fetchall("SELECT status FROM timers WHERE kind LIKE 'event-%' AND status = 'pending'")
    assert statuses == []
    again = await mira.slash("event cancel", event=event_id)
    assert "already cancelled" in again.content

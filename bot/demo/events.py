"""Demo scene: an in-person meetup with one seat — RSVP, waitlist, reminder, check-in and points; then next
week's workshop is announced, so the digest at the end of the week has an upcoming event to show."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from bot.demo.stage import Demo
from bot.services.engagement import points
from bot.services.program import bindings
from bot.services.program.guild_settings import get_settings
from emulator.models import Message


def _latest_from_bot(demo: Demo, channel_id: int) -> Message:
    posted = [m for m in demo.emu.state.messages_in(channel_id) if m.author_id == demo.emu.bot.id and m.embeds]
    return posted[-1]


def _show_dms(demo: Demo, name: str, since: int) -> int:
    dms = demo.emu.dms_to(demo.people[name])
    for message in dms[since:]:
        demo.show_message(message, f"{name} (DM)")
    return len(dms)


async def _press(demo: Demo, who: str, message: Message, custom_id: str, label: str) -> None:
    demo.print(f"\n » {who} presses “{label}”")
    reply = await demo.emu.actor(demo.guild_id, demo.people[who]).click(message, custom_id)
    demo.show_reply(reply, who)


async def _create(demo: Demo, start: datetime, **options: Any) -> tuple[Message, int]:
    """/event create as mira types it (times in the server's zone); the announcement and the event's number."""
    zone = (await get_settings(demo.bot.db, demo.guild_id)).zone
    local = start.astimezone(zone)
    await demo.slash(
        "mira",
        "event create",
        start=local.strftime("%Y-%m-%d %H:%M"),
        end=(local + timedelta(hours=2)).strftime("%Y-%m-%d %H:%M"),
        **options,
    )
    scheduled = demo.emu.state.events_in(demo.guild_id)[-1]
    demo.narrate(f"Discord now lists the scheduled event “{scheduled.name}” in the server's Events tab")
    channel_id = await bindings.get_channel_id(demo.bot.db, demo.guild_id, "announcements")
    assert channel_id is not None
    post = _latest_from_bot(demo, channel_id)
    demo.show_message(post, "#announcements")
    return post, int(re.findall(r"Event #(\d+)", post.embeds[0]["footer"]["text"])[0])


async def play(demo: Demo) -> None:
    await demo.advance_to(demo.day(2, 12))
    demo.scene("Events: mira plans an in-person meetup with a single seat")
    start = demo.day(3, 18)
    post, event_id = await _create(
        demo,
        start,
        title="Glow Lab tour",
        capacity=1,
        location="Glow HQ, Berlin",
        description="See where the serums are made, meet the formulators, take home a sample box.",
    )
    going, decline = f"collective:event:going:{event_id}", f"collective:event:decline:{event_id}"

    seen = len(demo.emu.dms_to(demo.people["chen"]))
    await _press(demo, "alice", post, going, "Going")
    await _press(demo, "chen", post, going, "Going")
    demo.scene("alice can't make it after all; chen moves up from the waitlist")
    await _press(demo, "alice", post, decline, "Can't go")
    await demo.advance_to(demo.clock.now())  # let the DM land
    seen = _show_dms(demo, "chen", seen)
    await demo.slash("chen", "events")

    await demo.advance_to(start - timedelta(days=1))
    demo.scene("The day before: a reminder for everyone who's going")
    seen = _show_dms(demo, "chen", seen)

    await demo.advance_to(start + timedelta(minutes=10))
    demo.scene("At the door: mira shows the check-in code, chen checks in")
    shown = await demo.slash("mira", "event code", event=event_id)
    code = re.findall(r"`([A-Z0-9]{6})`", shown.content)[0]
    await demo.slash("chen", "checkin", code=code)
    await demo.slash("chen", "checkin", code=code)
    total = await points.balance(demo.bot.db, demo.guild_id, demo.people["chen"])
    demo.narrate(f"chen's points balance is now {total}; the second check-in awarded nothing more")

    await demo.advance_to(demo.day(4, 10))
    demo.scene("mira announces next week's workshop")
    post, event_id = await _create(
        demo,
        demo.day(10, 18),
        title="Winter skin workshop",
        capacity=12,
        location="Glow HQ, Berlin",
        description="Hands-on: build a winter routine with the formulators.",
    )
    await _press(demo, "alice", post, f"collective:event:going:{event_id}", "Going")

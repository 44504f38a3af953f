"""Content through the emulator: briefs, reminders, drops, submissions and their review, with restarts."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.app import CollectiveBot
from bot.clock import FixedClock, to_db
from bot.services.engagement import points
from bot.services.program import bindings
from emulator import Emulator, Reply
from emulator.models import Message, walk_components
from tests.e2e.conftest import BotRunner, World

START = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
LINK = "https://www.tiktok.com/@alice/video/7301"


@dataclass
class Channels:
    briefs: int
    drops: int
    showcase: int
    review: int
    audit: int


async def prepare(emu: Emulator, world: World, bot: CollectiveBot, *, ambassadors: tuple[int, ...] = ()) -> Channels:
    """What /setup and onboarding would have done: channels bound, some members approved as ambassadors."""
    names = ("briefs", "drops", "showcase", "review", "audit")
    made = {name: emu.create_channel(world.guild.id, name).id for name in names}
    now = bot.clock.now()
    async with bot.db.transaction() as tx:
        for name, channel_id in made.items():
            await bindings.bind(tx, world.guild.id, bindings.channel_purpose(name), channel_id, now)
        for user_id in ambassadors:
            await tx.execute(
                "INSERT INTO members (guild_id, user_id, display_name, status, status_changed_at, created_at)"
                " VALUES (?, ?, ?, 'active', ?, ?)",
                (world.guild.id, user_id, f"user{user_id}", to_db(now), to_db(now)),
            )
    await asyncio.sleep(0.1)  # CHANNEL_CREATE reaches the bot
    return Channels(**made)


def everything(reply: Reply) -> str:
    return "\n".join([reply.text, *(m.content for m in reply.followups), *(str(m.embeds) for m in reply.followups)])


def button_of(message: Message, label: str) -> str:
    for row in message.components:
        for component in row.get("components", []):
            if component.get("label", "").startswith(label):
                return str(component["custom_id"])
    raise AssertionError(f"no button {label!r} on message {message.id}: {message.components}")


async def until(check: Any, what: str, limit: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def publish_brief(emu: Emulator, world: World, ch: Channels, due: str = "2026-12-05", pts: str = "40") -> Message:
    mira = emu.actor(world.guild.id, world.moderator.id)
    form = await mira.slash("brief create")
    assert form.modal is not None and form.modal["title"] == "New brief"
    preview = await mira.submit_modal(
        form.modal,
        {
            "title": "Winter glow routine",
            "what": "A 20 s morning routine video",
            "deliverables": "#GlowRoutine",
            "due": due,
            "points": pts,
        },
    )
    assert preview.ephemeral and "Winter glow routine" in preview.text
    assert preview.message is not None
    published = await mira.click(preview.message, button_of(preview.message, "Publish"))
    assert "Published" in published.content
    posted = emu.state.messages_in(ch.briefs)[-1]
    assert "Winter glow routine" in posted.embeds[0]["title"]
    return posted


async def submit_through_button(emu: Emulator, world: World, brief_message: Message, user_id: int, link: str) -> Reply:
    actor = emu.actor(world.guild.id, user_id)
    form = await actor.click(brief_message, button_of(brief_message, "Submit"))
    consent = await actor.submit_modal(form.modal, {"link": link, "note": "Morning light"})
    assert consent.ephemeral and "reshare" in consent.content and consent.message is not None
    return await actor.click(consent.message, button_of(consent.message, "Submit"))


async def decide(emu: Emulator, world: World, review: Message, label: str, values: dict[str, str | list[str]]) -> Reply:
    mira = emu.actor(world.guild.id, world.moderator.id)
    form = await mira.click(review, button_of(review, label))
    return await mira.submit_modal(form.modal, values)


async def test_brief_to_approval_points_and_dm(emu: Emulator, world: World, runner: BotRunner) -> None:
    runner.clock = FixedClock(START)
    bot = await runner.start()
    ch = await prepare(emu, world, bot, ambassadors=(world.alice.id,))
    brief_message = await publish_brief(emu, world, ch)
    assert brief_message.thread_id is not None  # the questions thread
    assert brief_message.custom_ids()[0].startswith("collective:brief:optin:")

    alice = emu.actor(world.guild.id, world.alice.id)
    joined = await alice.click(brief_message, button_of(brief_message, "I'm in"))
    assert joined.ephemeral and "You're in" in joined.content
    briefs_list = await alice.slash("briefs")
    assert "Winter glow routine" in briefs_list.text

    done = await submit_through_button(emu, world, brief_message, world.alice.id, LINK)
    assert "Submitted as #1" in done.content
    review = emu.state.messages_in(ch.review)[-1]
    assert "TikTok" in review.embeds[0]["title"] and LINK in review.embeds[0]["description"]

    # Featuring is picked from a select, never typed: nothing to mistype, so the feedback is never thrown away.
    form = await emu.actor(world.guild.id, world.moderator.id).click(review, button_of(review, "Approve"))
    assert form.modal is not None
    inputs = {c.get("custom_id"): c for c in walk_components(form.modal["components"]) if c.get("custom_id")}
    assert inputs["feature"]["type"] == 3 and [o["value"] for o in inputs["feature"]["options"]] == ["yes", "no"]
    assert [t for t in inputs.values() if t["type"] == 4] == [inputs["feedback"]]
    approved = await decide(emu, world, review, "Approve", {"feedback": "Lovely light!", "feature": ["yes"]})
    assert "Approved #1" in everything(approved) and "+40 points" in everything(approved)
    assert await points.balance(bot.db, world.guild.id, world.alice.id) == 40
    dm = emu.dms_to(world.alice.id)[-1]
    assert "approved" in dm.embeds[0]["title"] and "Lovely light!" in str(dm.embeds[0]["fields"])
    assert LINK in emu.state.messages_in(ch.showcase)[-1].content
    assert emu.state.message(review.id).components == []  # decided: buttons gone
    mine = await alice.slash("submissions")
    assert "approved" in mine.text and "Lovely light!" in mine.text

    def audited() -> list[str]:
        return [str(e.get("description")) for m in emu.state.messages_in(ch.audit) for e in m.embeds]

    # Each decision is posted to the audit-log channel by the outbox, once.
    await until(lambda: len(audited()) == 2, "the brief's and the approval's audit posts")
    assert "brief.publish" in audited()[0] and "submission.approved" in audited()[1]


async def test_reminder_fires_once_across_restarts_then_brief_closes(
    emu: Emulator, world: World, runner: BotRunner
) -> None:
    clock = runner.clock = FixedClock(START)
    bot = await runner.start()
    ch = await prepare(emu, world, bot, ambassadors=(world.alice.id, world.bob.id))
    brief_message = await publish_brief(emu, world, ch, due="2026-11-30 18:00")
    for user in (world.alice, world.bob):
        await emu.actor(world.guild.id, user.id).click(brief_message, button_of(brief_message, "I'm in"))
    await submit_through_button(emu, world, brief_message, world.bob.id, LINK)  # bob needs no reminder

    await runner.stop()
    clock.set(datetime(2026, 11, 28, 18, 5, tzinfo=UTC))  # two days before the due date, the bot was down
    bot = await runner.start()
    reminders = [m for m in emu.dms_to(world.alice.id) if "is due" in m.embeds[0]["title"]]
    assert len(reminders) == 1 and emu.dms_to(world.bob.id) == []
    await runner.restart()
    await runner.bot.scheduler.run_due(clock.now())  # type: ignore[union-attr]
    assert len([m for m in emu.dms_to(world.alice.id) if "is due" in m.embeds[0]["title"]]) == 1

    clock.set(datetime(2026, 11, 30, 18, 1, tzinfo=UTC))
    await runner.bot.scheduler.run_due(clock.now())  # type: ignore[union-attr]
    closed = emu.state.message(brief_message.id)
    assert "(closed)" in closed.embeds[0]["title"]
    assert all(c.get("disabled") for row in closed.components for c in row["components"])
    refused = await emu.actor(world.guild.id, world.alice.id).slash("submit", link="https://x.com/a/1", brief="1")
    assert refused.ephemeral and "closed" in refused.content


async def test_drop_publishes_at_its_time_after_a_restart(emu: Emulator, world: World, runner: BotRunner) -> None:
    clock = runner.clock = FixedClock(START)
    bot = await runner.start()
    ch = await prepare(emu, world, bot, ambassadors=(world.alice.id,))
    mira = emu.actor(world.guild.id, world.moderator.id)
    scheduled = await mira.slash(
        "drop create",
        title="Sneak peek: Dew serum",
        body="First look!",
        publish_at="2026-11-25 09:00",
        embargo="2026-12-01",
        image=("peek.png", b"\x89PNG\r\n", "image/png"),
    )
    assert "will be posted" in everything(scheduled)
    assert emu.state.messages_in(ch.drops) == []

    await runner.stop()
    clock.set(datetime(2026, 11, 25, 9, 30, tzinfo=UTC))
    await runner.start()
    posted = emu.state.messages_in(ch.drops)
    assert len(posted) == 1 and "Dew serum" in posted[0].embeds[0]["title"]
    assert posted[0].files == {"peek.png": b"\x89PNG\r\n"}
    ack = await emu.actor(world.guild.id, world.alice.id).click(posted[0], button_of(posted[0], "I won't share"))
    assert "Noted" in ack.content
    listed = await mira.slash("drop list")
    assert "1 acknowledged" in listed.text and str(world.alice.id) in listed.text
    await runner.restart()
    assert len(emu.state.messages_in(ch.drops, include_ephemeral=False)) == 1


async def test_bad_input_is_refused_and_nothing_stored(emu: Emulator, world: World, runner: BotRunner) -> None:
    runner.clock = FixedClock(START)
    bot = await runner.start()
    mira = emu.actor(world.guild.id, world.moderator.id)
    unset = await mira.slash("brief create")
    assert unset.ephemeral and "/setup" in unset.content
    ch = await prepare(emu, world, bot, ambassadors=(world.alice.id,))
    alice = emu.actor(world.guild.id, world.alice.id)
    bob = emu.actor(world.guild.id, world.bob.id)

    cases = [
        (alice.slash("submit", link="not a link"), "spaces"),
        (alice.slash("submit", link="ftp://example.com/v.mp4"), "http"),
        (alice.slash("submit", link="https://example.com/" + "a" * 2100), "2048"),
        (alice.slash("submit", link=LINK, note="x" * 501), "500"),
        (alice.slash("submit", link=LINK, brief="nonsense"), "can't find"),
        (alice.slash("submit", link=LINK, brief="999"), "can't find"),
        (alice.slash("submit", link=LINK, file=("tool.exe", b"MZ", "application/x-msdownload")), "file type"),
        (bob.slash("submit", link=LINK), "ambassadors"),
        (alice.slash("brief create"), "moderators"),
        (alice.slash("review"), "moderators"),
    ]
    for pending, expected in cases:
        reply = await pending
        assert reply.ephemeral and reply.content.startswith("⚠️") and expected in reply.content, reply.content

    form = await mira.slash("brief create")
    bad_due = await mira.submit_modal(form.modal, {"title": "T", "what": "W", "due": "next friday", "points": "5"})
    assert bad_due.ephemeral and "YYYY-MM-DD" in bad_due.content
    assert await bot.db.fetchval("SELECT COUNT(*) FROM submissions") == 0
    assert await bot.db.fetchval("SELECT COUNT(*) FROM briefs") == 0

    # A duplicate link, and a non-moderator pressing Approve.
    brief_message = await publish_brief(emu, world, ch)
    await submit_through_button(emu, world, brief_message, world.alice.id, LINK)
    duplicate = await alice.slash("submit", link=LINK + "?utm_source=copy")
    assert duplicate.ephemeral and "already submitted" in duplicate.content
    review = emu.state.messages_in(ch.review)[-1]
    refused = await alice.click(review, button_of(review, "Approve"))
    assert refused.ephemeral and "moderators" in refused.content and refused.modal is None
    assert await bot.db.fetchval("SELECT status FROM submissions") == "pending"
    assert await points.balance(bot.db, world.guild.id, world.alice.id) == 0


async def test_concurrent_approvals_one_decision_wins(emu: Emulator, world: World, runner: BotRunner) -> None:
    runner.clock = FixedClock(START)
    bot = await runner.start()
    ch = await prepare(emu, world, bot, ambassadors=(world.alice.id,))
    done = await emu.actor(world.guild.id, world.alice.id).slash("submit", link=LINK)
    assert done.message is not None
    await emu.actor(world.guild.id, world.alice.id).click(done.message, button_of(done.message, "Submit"))
    review = emu.state.messages_in(ch.review)[-1]
    mira = emu.actor(world.guild.id, world.moderator.id)
    owner = emu.actor(world.guild.id, world.owner.id)
    first = await mira.click(review, button_of(review, "Approve"))
    second = await owner.click(review, button_of(review, "Reject"))
    results = await asyncio.gather(
        mira.submit_modal(first.modal, {"feedback": "", "feature": ["no"]}),
        owner.submit_modal(second.modal, {"feedback": "Off brand"}),
    )
    texts = [everything(r) for r in results]
    assert sum("already decided" in t for t in texts) == 1, texts
    assert await bot.db.fetchval("SELECT COUNT(*) FROM points_ledger") <= 1
    assert len(emu.dms_to(world.alice.id)) == 1


async def test_changes_resubmit_review_queue_and_stale_flag(emu: Emulator, world: World, runner: BotRunner) -> None:
    clock = runner.clock = FixedClock(START)
    bot = await runner.start()
    ch = await prepare(emu, world, bot, ambassadors=(world.alice.id,))
    alice = emu.actor(world.guild.id, world.alice.id)
    confirm = await alice.slash("submit", link=LINK)
    assert confirm.message is not None
    await alice.click(confirm.message, button_of(confirm.message, "Submit"))
    mira = emu.actor(world.guild.id, world.moderator.id)
    oldest = await mira.slash("review")
    assert oldest.ephemeral and "Oldest of 1" in oldest.content
    assert oldest.message is not None
    asked = await decide(emu, world, oldest.message, "Request changes", {"feedback": "Show the label, please"})
    assert "resubmit" in everything(asked)
    dm = emu.dms_to(world.alice.id)[-1]
    assert "changes" in dm.embeds[0]["title"] and "Show the label" in str(dm.embeds[0]["fields"])

    form = await alice.click(dm, button_of(dm, "Resubmit"))
    consent = await alice.submit_modal(form.modal, {"link": LINK, "note": "Label in frame now"})
    assert consent.message is not None
    stored = await alice.click(consent.message, button_of(consent.message, "Submit"))
    assert "Submitted as #2" in stored.content
    assert await bot.db.fetchval("SELECT resubmission_of FROM submissions WHERE id = 2") == 1
    assert "Resubmission" in str(emu.state.messages_in(ch.review)[-1].embeds[0]["fields"])

    clock.advance(timedelta(hours=49))
    await bot.scheduler.run_due(clock.now())
    flags = [m for m in emu.state.messages_in(ch.review) if "still waiting" in m.content]
    assert len(flags) == 1 and "#2" in flags[0].content
    await bot.scheduler.run_due(clock.now())
    assert len([m for m in emu.state.messages_in(ch.review) if "still waiting" in m.content]) == 1


async def test_moderator_housekeeping(emu: Emulator, world: World, runner: BotRunner) -> None:
    runner.clock = FixedClock(START)
    bot = await runner.start()
    ch = await prepare(emu, world, bot, ambassadors=(world.alice.id,))
    mira = emu.actor(world.guild.id, world.moderator.id)
    settings = await mira.slash("brief settings", reminder_days=3, feature_in_showcase=False)
    assert "3 days" in settings.content and "off" in settings.content
    brief_message = await publish_brief(emu, world, ch)
    choices = await mira.autocomplete("brief edit", "brief", "winter")
    assert [c["value"] for c in choices] == ["1"]
    form = await mira.slash("brief edit", brief="1")
    assert form.modal is not None
    values = {
        "title": "Winter glow routine",
        "what": "A 20 s video",
        "deliverables": "",
        "due": "2026-12-10 18:00",
        "points": "60",
    }
    edited = await mira.submit_modal(form.modal, values)
    assert "updated" in everything(edited)
    # Typed in the server's zone (UTC here), shown as a Discord timestamp: each reader sees their own zone.
    due_stamp = f"<t:{int(datetime(2026, 12, 10, 18, tzinfo=UTC).timestamp())}:f>"
    assert due_stamp in str(emu.state.message(brief_message.id).embeds[0]["fields"])
    due = await bot.db.fetchval("SELECT due_at FROM timers WHERE kind = 'brief-reminder'")
    assert due == to_db(datetime(2026, 12, 7, 18, tzinfo=UTC))
    listed = await mira.slash("brief list")
    assert "60 pts" in listed.text and "1 in" not in listed.text
    closed = await mira.slash("brief close", brief="1")
    assert "Closed" in everything(closed)
    assert "(closed)" in emu.state.message(brief_message.id).embeds[0]["title"]
    assert await bot.db.fetchval("SELECT COUNT(*) FROM timers WHERE status = 'pending'") == 0

    await mira.slash("drop create", title="Peek", body="Soon", publish_at="2026-11-26 09:00")
    cancelled = await mira.slash("drop cancel", drop="1")
    assert "Cancelled drop #1" in cancelled.content
    await bot.scheduler.run_due(datetime(2026, 11, 26, 10, tzinfo=UTC))
    assert emu.state.messages_in(ch.drops) == []

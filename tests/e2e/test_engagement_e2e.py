"""Engagement through the emulator: polls (vote, change, close, results, CSV), leaderboard, profile,
points adjustments, and the weekly digest (exactly once across restarts; missed-digest grace window)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from bot.app import CollectiveBot
from bot.clock import FixedClock, to_db
from bot.services.engagement.points import award
from bot.services.polls import polls
from bot.services.program import bindings
from bot.services.sales import codes
from emulator import Emulator
from emulator.models import Message
from tests.e2e.conftest import BotRunner, World

MONDAY_9 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # digest time (defaults: Monday 09:00 UTC)


@dataclass
class Channels:
    focus: int
    announcements: int
    review: int
    leaderboard: int


async def prepare(emu: Emulator, world: World, bot: CollectiveBot) -> Channels:
    """Bind program channels and make alice an ambassador (bob stays a non-member)."""
    gid = world.guild.id
    ids = {
        name: emu.create_channel(gid, name.replace("_", "-")).id
        for name in ("focus_group", "announcements", "review", "leaderboard")
    }
    now = bot.clock.now()
    async with bot.db.transaction() as tx:
        for name, channel_id in ids.items():
            await bindings.bind(tx, gid, bindings.channel_purpose(name), channel_id, now)
        await tx.execute(
            "INSERT INTO members (guild_id, user_id, display_name, status, status_changed_at, created_at)"
            " VALUES (?, ?, 'alice', 'active', ?, ?) ON CONFLICT DO NOTHING",
            (gid, world.alice.id, to_db(now), to_db(now)),
        )
    return Channels(ids["focus_group"], ids["announcements"], ids["review"], ids["leaderboard"])


async def wait_for(predicate: Callable[[], Message | None]) -> Message:
    deadline = asyncio.get_running_loop().time() + 5.0
    while (found := predicate()) is None:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out waiting for a message")
        await asyncio.sleep(0.02)
    return found


def bot_posts(emu: Emulator, channel_id: int) -> list[Message]:
    return [m for m in emu.state.messages_in(channel_id, include_ephemeral=False) if m.author_id == emu.bot.id]


def footer(message: Message) -> str:
    return " ".join(str(e.get("footer", {}).get("text", "")) for e in message.embeds)


async def test_poll_vote_change_refuse_close_results_csv(emu: Emulator, world: World, runner: BotRunner) -> None:
    runner.clock = clock = FixedClock(MONDAY_9 - timedelta(days=3))
    bot = await runner.start()
    ch = await prepare(emu, world, bot)
    mira = emu.actor(world.guild.id, world.moderator.id)
    created = await mira.slash(
        "poll create", question="Which scent next?", options="Rose | Vanilla | Citrus", duration="2h"
    )
    assert created.ephemeral and "Poll #" in created.content
    poll_message = await wait_for(lambda: next(iter(bot_posts(emu, ch.focus)), None))
    poll_id = int(created.content.split("#")[1].split()[0])
    assert "Which scent next?" in poll_message.embeds[0]["title"]

    alice = emu.actor(world.guild.id, world.alice.id)
    first = await alice.click(poll_message, f"collective:poll:vote:{poll_id}:0")
    assert first.ephemeral and "You voted **Rose**" in first.content and "+5 points" in first.content
    changed = await alice.click(poll_message, f"collective:poll:vote:{poll_id}:1")
    assert "Changed your vote to **Vanilla**" in changed.content and "points" not in changed.content.split(".")[0]
    refused = await emu.actor(world.guild.id, world.bob.id).click(poll_message, f"collective:poll:vote:{poll_id}:2")
    assert refused.ephemeral and refused.content.startswith("⚠️") and "ambassadors" in refused.content
    assert await bot.db.fetchval("SELECT COUNT(*) FROM poll_votes WHERE poll_id = ?", (poll_id,)) == 1

    clock.set(clock.now() + timedelta(hours=2))
    await bot.scheduler.run_due(clock.now())
    results = await wait_for(lambda: next((m for m in bot_posts(emu, ch.focus) if "Results" in str(m.embeds)), None))
    assert "poll-results.png" in results.files and results.files["poll-results.png"][:4] == b"\x89PNG"
    text = str(results.embeds[0])
    assert "**Vanilla** — 1 vote (100%)" in text and "By tier" in text
    updated = emu.state.message(poll_message.id)
    assert all(c.get("disabled") for row in updated.components for c in row["components"])
    with pytest.raises(AssertionError, match="disabled"):  # Discord won't even send a click on them
        await alice.click(poll_message, f"collective:poll:vote:{poll_id}:0")

    csv_reply = await mira.slash("poll results", poll=poll_id)
    assert csv_reply.ephemeral and "anonymous" in csv_reply.content
    data = csv_reply.files[f"poll-{poll_id}-votes.csv"].decode()
    assert data.splitlines()[0] == "voter,tier,choices,comment" and "Vanilla" in data and "alice" not in data
    again = await mira.slash("poll close", poll=poll_id)
    assert "already closed" in again.content
    # A restart finds the close timer done and posts nothing more.
    await runner.restart()
    assert len([m for m in bot_posts(emu, ch.focus) if "Results" in str(m.embeds)]) == 1


async def test_poll_with_select_comment_and_early_close(emu: Emulator, world: World, runner: BotRunner) -> None:
    runner.clock = FixedClock(MONDAY_9 - timedelta(days=3))
    bot = await runner.start()
    ch = await prepare(emu, world, bot)
    mira = emu.actor(world.guild.id, world.moderator.id)
    created = await mira.slash(
        "poll create", question="Which do you use?", options="Serum|Cream|Toner", duration="1d",
        multiple=True, anonymous=False, comment="Tell us why",
    )  # fmt: skip
    poll_id = int(created.content.split("#")[1].split()[0])
    message = await wait_for(lambda: next(iter(bot_posts(emu, ch.focus)), None))
    alice = emu.actor(world.guild.id, world.alice.id)
    form = await alice.select(message, f"collective:poll:pick:{poll_id}", ["0", "2"])
    assert form.modal is not None and form.modal["title"].startswith(f"Poll #{poll_id}")
    done = await alice.submit_modal(form.modal, {"comment": "daily routine"})
    assert "**Serum**, **Toner**" in done.content
    closed = await mira.slash("poll close", poll=poll_id)
    assert "is closed" in closed.content
    data = (await mira.slash("poll results", poll=poll_id)).files[f"poll-{poll_id}-votes.csv"].decode()
    assert "alice" in data and "Serum; Toner" in data and "daily routine" in data
    # Closing early moved the close timer to now: it posts the results once and never fires again later.
    await bot.scheduler.run_due(bot.clock.now())
    timer = await bot.db.fetchval(
        "SELECT status FROM timers WHERE kind = 'poll_close' AND key = ?", (f"poll:{poll_id}",)
    )
    assert timer == "done"
    results = [m for m in emu.state.messages_in(ch.focus) if "Results:" in str(m.embeds)]
    assert len(results) == 1


async def test_restricted_poll_is_sent_by_dm(emu: Emulator, world: World, runner: BotRunner) -> None:
    runner.clock = FixedClock(MONDAY_9 - timedelta(days=3))
    bot = await runner.start()
    await prepare(emu, world, bot)
    async with bot.db.transaction() as tx:
        poll_id = await polls.create_poll(
            tx, world.guild.id, question="How was the meetup?", options=["Great", "Okay"], created_by=None,
            closes_at=bot.clock.now() + timedelta(days=1), voter_ids=[world.alice.id], now=bot.clock.now(),
        )  # fmt: skip
    bot.dispatch("poll_publish", world.guild.id, poll_id)
    dm = await wait_for(lambda: next(iter(emu.dms_to(world.alice.id)), None))
    reply = await emu.actor(world.guild.id, world.alice.id, channel_id=dm.channel_id).click(
        dm, f"collective:poll:vote:{poll_id}:0"
    )
    assert "You voted **Great**" in reply.content


async def test_leaderboard_profile_and_adjust(emu: Emulator, world: World, runner: BotRunner) -> None:
    runner.clock = FixedClock(MONDAY_9 - timedelta(days=3))
    bot = await runner.start()
    await prepare(emu, world, bot)
    mira = emu.actor(world.guild.id, world.moderator.id)
    refused = await emu.actor(world.guild.id, world.alice.id).slash(
        "points adjust", member=world.alice.id, amount=5, reason="x"
    )
    assert "program moderators" in refused.content
    adjusted = await mira.slash("points adjust", member=world.alice.id, amount=40, reason="hosted a meetup")
    assert "total is now 40" in adjusted.content
    assert await bot.db.fetchval("SELECT COUNT(*) FROM audit_log WHERE action = 'points.adjust'") == 1
    board = await emu.actor(world.guild.id, world.alice.id).slash("leaderboard", period="week")
    assert board.ephemeral and "**alice** — 40 pts" in board.text and "#1 of 1" in board.text
    sales = await emu.actor(world.guild.id, world.alice.id).slash("leaderboard", period="all", metric="sales")
    assert "sales" in sales.text
    shown = await emu.actor(world.guild.id, world.alice.id).slash("profile")
    assert shown.ephemeral and "Points overall" in shown.text and "40" in shown.text and "#1 of 1" in shown.text
    unknown = await emu.actor(world.guild.id, world.alice.id).slash("profile", member=world.bob.id)
    assert unknown.content.startswith("⚠️")
    # A sale recorded by a moderator shows on the month's sales board (the monthly buckets of migration 0009).
    async with bot.db.transaction() as tx:
        code = await codes.issue_code(tx, world.guild.id, world.alice.id, "alice", bot.clock.now())
    recorded = await mira.slash("codes record", order_id="POP-1", code=code.code, amount="25.00", currency="EUR")
    assert recorded.content.startswith("✅")
    month = await emu.actor(world.guild.id, world.alice.id).slash("leaderboard", period="month", metric="sales")
    assert month.ephemeral and "25.00 EUR · 1 order" in month.text and "#1 of 1" in month.text


async def test_digest_posts_once_at_its_time_across_restart_and_crash(
    emu: Emulator, world: World, runner: BotRunner
) -> None:
    runner.clock = clock = FixedClock(MONDAY_9 - timedelta(hours=1))
    bot = await runner.start()
    ch = await prepare(emu, world, bot)
    await earn(bot, world.alice.id, world.guild.id)
    clock.set(MONDAY_9)
    await bot.scheduler.run_due(clock.now())
    posts = bot_posts(emu, ch.announcements)
    assert len(posts) == 1 and "collective:" not in footer(posts[0]) and str(world.guild.id) not in footer(posts[0])
    assert "digest-8-weeks.png" in posts[0].files and "This week in the program" in posts[0].embeds[0]["title"]
    assert len(bot_posts(emu, ch.leaderboard)) == 1  # the weekly leaderboard post, same schedule

    await runner.restart()
    await runner.bot.scheduler.run_due(clock.now())  # type: ignore[union-attr]
    assert len(bot_posts(emu, ch.announcements)) == 1
    # A crash after posting but before the run was marked done: the retry recognises its own post.
    await runner.bot.db.execute("UPDATE job_runs SET status = 'claimed' WHERE job = 'digest'")  # type: ignore[union-attr]
    await runner.restart()
    assert len(bot_posts(emu, ch.announcements)) == 1
    assert await runner.bot.db.fetchval("SELECT attempts FROM job_runs WHERE job = 'digest'") == 2  # type: ignore[union-attr]


async def earn(bot: CollectiveBot, user_id: int, guild_id: int) -> None:
    """Some activity for the digest."""
    async with bot.db.transaction() as tx:
        await award(tx, guild_id, user_id, 50, "submission", "submission:e2e", bot.clock.now())


@pytest.mark.parametrize(("late", "posted"), [(timedelta(hours=6), True), (timedelta(hours=25), False)])
async def test_missed_digest_on_startup_inside_grace_only(
    emu: Emulator, world: World, runner: BotRunner, caplog: pytest.LogCaptureFixture, late: timedelta, posted: bool
) -> None:
    runner.clock = clock = FixedClock(MONDAY_9 - timedelta(days=1))
    bot = await runner.start()
    ch = await prepare(emu, world, bot)
    await runner.stop()
    clock.set(MONDAY_9 + late)
    with caplog.at_level(logging.WARNING, logger="bot.scheduler"):
        await runner.start()
    assert len(bot_posts(emu, ch.announcements)) == (1 if posted else 0)
    status = await runner.bot.db.fetchval("SELECT status FROM job_runs WHERE job = 'digest'")  # type: ignore[union-attr]
    assert status == ("done" if posted else "missed")
    if not posted:
        assert "skipped digest 2026-W49" in caplog.text


async def test_digest_preview_and_manual_post(emu: Emulator, world: World, runner: BotRunner) -> None:
    runner.clock = clock = FixedClock(MONDAY_9 - timedelta(hours=2))
    bot = await runner.start()
    ch = await prepare(emu, world, bot)
    mira = emu.actor(world.guild.id, world.moderator.id)
    preview = await mira.slash("digest preview")
    assert preview.ephemeral and "This week in the program" in preview.text and preview.files
    assert bot_posts(emu, ch.announcements) == []
    posted = await mira.slash("digest post")
    assert "counts as this week's" in posted.content
    clock.set(MONDAY_9)
    await bot.scheduler.run_due(clock.now())
    assert len(bot_posts(emu, ch.announcements)) == 1
    extra = await mira.slash("digest post")
    assert "extra" in extra.content and len(bot_posts(emu, ch.announcements)) == 2
    refused = await emu.actor(world.guild.id, world.alice.id).slash("digest preview")
    assert "program moderators" in refused.content

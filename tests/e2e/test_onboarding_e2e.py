"""Onboarding through the emulator: /setup, /apply, the review buttons, capacity and the waitlist, the roster."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bot.clock import FixedClock
from bot.services.onboarding import applications
from bot.services.program.guild_settings import get_settings
from bot.unit_of_work import INLINE_GRACE
from emulator import Emulator, Reply
from emulator.models import Message
from tests.e2e.conftest import BotRunner, World

FORM = {
    "social": "https://instagram.com/glowgirl https://tiktok.com/@glowgirl",
    "niche": "skincare routines",
    "why": "Their serum fixed my skin and I tell everyone about it.",
    "contact": "#1042",
    "city": "Lisbon",
}


async def until(check: Callable[[], object], what: str, limit: float = 5.0) -> None:
    for _ in range(int(limit / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"never happened: {what}")


async def setup_program(emu: Emulator, world: World) -> int:
    reply = await emu.actor(world.guild.id, world.moderator.id).slash("setup")
    assert reply.ephemeral, reply
    return emu.state.channel_named(world.guild.id, "review").id


async def apply(emu: Emulator, world: World, user_id: int, **overrides: str) -> Reply:
    actor = emu.actor(world.guild.id, user_id)
    opened = await actor.slash("apply")
    assert opened.modal is not None, opened
    return await actor.submit_modal(opened.modal, {**FORM, **overrides})


def review_post(emu: Emulator, review_id: int, user_id: int) -> Message:
    posts = [
        m
        for m in emu.state.messages_in(review_id)
        if m.embeds and f"<@{user_id}>" in str(m.embeds[0].get("description", "")) and m.components
    ]
    assert posts, f"no review post with buttons for {user_id}"
    return posts[-1]


def button(message: Message, action: str) -> str:
    return next(c for c in message.custom_ids() if c.startswith(f"collective:application:{action}:"))


async def member_row(runner: BotRunner, guild_id: int, user_id: int) -> tuple[str, str | None]:
    assert runner.bot is not None
    row = await runner.bot.db.fetchone(
        "SELECT m.status, c.code FROM members m LEFT JOIN codes c ON c.guild_id = m.guild_id AND c.user_id = m.user_id"
        " AND c.status IN ('active', 'paused') WHERE m.guild_id = ? AND m.user_id = ?",
        (guild_id, user_id),
    )
    assert row is not None
    return row[0], row[1]


async def test_setup_twice_creates_nothing_twice(emu: Emulator, world: World, runner: BotRunner) -> None:
    await runner.start()
    mira = emu.actor(world.guild.id, world.moderator.id)
    first = await mira.slash("setup")
    assert "Created role **Ambassador**" in first.text and "Created channel **review**" in first.text
    roles = len(emu.state.guild(world.guild.id).roles)
    channels = len(emu.state.guild(world.guild.id).channels)
    second = await mira.slash("setup")
    assert "Everything was already in place" in second.text
    assert len(emu.state.guild(world.guild.id).roles) == roles
    assert len(emu.state.guild(world.guild.id).channels) == channels
    assert len(emu.state.channels_named(world.guild.id, "review")) == 1
    # The review channel is for moderators only; the runner of /setup got the moderator role.
    moderator_role = emu.state.role_named(world.guild.id, "Program Moderator")
    assert (
        moderator_role is not None and moderator_role.id in emu.state.member(world.guild.id, world.moderator.id).roles
    )
    review = emu.state.channel_named(world.guild.id, "review")
    assert emu.state.permissions_in(review.id, world.alice.id) == 0


async def test_setup_repairs_a_deleted_channel_and_refuses_without_permissions(
    emu: Emulator, world: World, runner: BotRunner
) -> None:
    await runner.start()
    mira = emu.actor(world.guild.id, world.moderator.id)
    await mira.slash("setup")
    briefs = emu.state.channel_named(world.guild.id, "briefs")
    del emu.state.guild(world.guild.id).channels[briefs.id]
    del emu.state.channels[briefs.id]
    emu.dispatch("CHANNEL_DELETE", emu.state.channel_payload(briefs))
    await asyncio.sleep(0.1)
    again = await mira.slash("setup")
    assert "Created channel **briefs**" in again.text
    assert len(emu.state.channels_named(world.guild.id, "briefs")) == 1

    refused = await emu.actor(world.guild.id, world.alice.id).slash("setup")
    assert refused.ephemeral and "Manage Guild" in refused.content
    emu.set_bot_permissions(world.guild.id, 1 << 10)  # view channels only
    await asyncio.sleep(0.1)
    missing = await mira.slash("setup")
    assert missing.ephemeral and "**Manage Roles** and **Manage Channels**" in missing.content


async def test_apply_approve_gives_role_code_and_dm(emu: Emulator, world: World, runner: BotRunner) -> None:
    await runner.start()
    review_id = await setup_program(emu, world)
    answer = await apply(emu, world, world.alice.id)
    assert answer.ephemeral and "Thanks for applying" in answer.content
    post = review_post(emu, review_id, world.alice.id)
    assert "instagram.com/glowgirl" in str(post.embeds[0])

    approved = await emu.actor(world.guild.id, world.moderator.id).click(post, button(post, "approve"))
    assert approved.ephemeral and "Approved" in approved.content and "welcome sent by DM" in approved.content
    status, code = await member_row(runner, world.guild.id, world.alice.id)
    assert status == "active" and code is not None
    role = emu.state.role_named(world.guild.id, "Ambassador")
    assert role is not None and role.id in emu.state.member(world.guild.id, world.alice.id).roles
    dms = emu.dms_to(world.alice.id)
    assert dms and code in str(dms[-1].embeds)
    # The review post now shows the decision and has no buttons; the audit log got the entry.
    assert not emu.state.message(post.id).components and "Approved" in str(emu.state.message(post.id).embeds)
    audit_id = emu.state.channel_named(world.guild.id, "audit-log").id
    await until(lambda: any("application.approve" in str(m.embeds) for m in emu.state.messages_in(audit_id)), "audit")
    # A second /apply from an ambassador gets a clear answer.
    again = await emu.actor(world.guild.id, world.alice.id).slash("apply")
    assert again.ephemeral and "already one of our ambassadors" in again.content


async def test_reject_with_reason_and_cooldown(emu: Emulator, world: World, runner: BotRunner) -> None:
    await runner.start()
    review_id = await setup_program(emu, world)
    await apply(emu, world, world.bob.id)
    post = review_post(emu, review_id, world.bob.id)
    mira = emu.actor(world.guild.id, world.moderator.id)
    asked = await mira.click(post, button(post, "reject"))
    assert asked.modal is not None
    empty = await mira.submit_modal(asked.modal, {"reason": "   "})
    assert empty.ephemeral and "reason" in empty.content
    assert (await member_row(runner, world.guild.id, world.bob.id))[0] == "applicant"

    asked = await mira.click(post, button(post, "reject"))
    done = await mira.submit_modal(asked.modal, {"reason": "We need a bit more skincare content first."})
    assert "Rejected" in done.content and "told the reason" in done.content
    assert (await member_row(runner, world.guild.id, world.bob.id))[0] == "rejected"
    assert "a bit more skincare content" in str(emu.dms_to(world.bob.id)[-1].embeds)
    soon = await emu.actor(world.guild.id, world.bob.id).slash("apply")
    assert soon.ephemeral and "apply again from" in soon.content


async def test_capacity_waitlist_and_next_in_line(emu: Emulator, world: World, runner: BotRunner) -> None:
    await runner.start()
    review_id = await setup_program(emu, world)
    mira = emu.actor(world.guild.id, world.moderator.id)
    changed = await mira.slash("settings change", setting="capacity", value="1")
    assert "→ **1**" in changed.content
    for user in (world.alice, world.bob):
        await apply(emu, world, user.id)
    await mira.click(
        review_post(emu, review_id, world.alice.id), button(review_post(emu, review_id, world.alice.id), "approve")
    )
    bob_post = review_post(emu, review_id, world.bob.id)
    full = await mira.click(bob_post, button(bob_post, "approve"))
    assert "waitlist at position 1" in full.content
    assert "number **1** in line" in str(emu.dms_to(world.bob.id)[-1].embeds)
    assert (await member_row(runner, world.guild.id, world.bob.id))[0] == "waitlisted"

    removed = await mira.slash("ambassador remove", member=world.alice.id)
    assert "removed" in removed.content
    assert (await member_row(runner, world.guild.id, world.alice.id))[1] is None  # code retired
    await until(
        lambda: any("Next in line" in str(m.embeds) and f"<@{world.bob.id}>" in str(m.embeds)
                    for m in emu.state.messages_in(review_id)),
        "moderators told who is next",
    )  # fmt: skip
    notice = [m for m in emu.state.messages_in(review_id) if "Next in line" in str(m.embeds)][-1]
    promoted = await mira.click(notice, button(notice, "approve"))
    assert "Approved" in promoted.content
    assert (await member_row(runner, world.guild.id, world.bob.id))[0] == "active"


async def test_auto_promote_fills_a_freed_seat(emu: Emulator, world: World, runner: BotRunner) -> None:
    await runner.start()
    review_id = await setup_program(emu, world)
    mira = emu.actor(world.guild.id, world.moderator.id)
    await mira.slash("settings change", setting="capacity", value="1")
    await mira.slash("settings change", setting="auto_promote", value="on")
    await apply(emu, world, world.alice.id)
    await apply(emu, world, world.bob.id)
    for user in (world.alice, world.bob):
        post = review_post(emu, review_id, user.id)
        await mira.click(post, button(post, "approve"))
    await mira.slash("ambassador pause", member=world.alice.id)  # paused still holds a seat
    assert (await member_row(runner, world.guild.id, world.bob.id))[0] == "waitlisted"
    emu.remove_member(world.guild.id, world.alice.id)  # leaving frees it
    await until(lambda: any("auto-promoted" in m.content for m in emu.state.messages_in(review_id)), "auto-promotion")
    assert (await member_row(runner, world.guild.id, world.bob.id))[0] == "active"
    status, code = await member_row(runner, world.guild.id, world.alice.id)
    assert status == "left" and code is not None  # code paused, kept


async def test_click_survives_a_restart_and_non_moderators_are_refused(
    emu: Emulator, world: World, runner: BotRunner
) -> None:
    await runner.start()
    review_id = await setup_program(emu, world)
    await apply(emu, world, world.alice.id)
    await runner.restart()
    post = review_post(emu, review_id, world.alice.id)
    refused = await emu.actor(world.guild.id, world.bob.id).click(post, button(post, "approve"))
    assert refused.ephemeral and "Only program moderators" in refused.content
    assert (await member_row(runner, world.guild.id, world.alice.id))[0] == "applicant"
    approved = await emu.actor(world.guild.id, world.moderator.id).click(post, button(post, "approve"))
    assert "Approved" in approved.content


async def test_two_moderators_at_once_one_wins(emu: Emulator, world: World, runner: BotRunner) -> None:
    await runner.start()
    review_id = await setup_program(emu, world)
    second_mod = emu.add_member(world.guild.id, "sam", roles=[emu.state.role_named(world.guild.id, "Brand team").id])  # type: ignore[union-attr]
    await apply(emu, world, world.alice.id)
    post = review_post(emu, review_id, world.alice.id)
    first, second = await asyncio.gather(
        emu.actor(world.guild.id, world.moderator.id).click(post, button(post, "approve")),
        emu.actor(world.guild.id, second_mod.id).click(post, button(post, "waitlist")),
    )
    texts = [first.content, second.content]
    assert sum("Already" in t for t in texts) == 1, texts
    assert any("nothing changed" in t for t in texts)
    assert len(emu.dms_to(world.alice.id)) == 1


async def test_bad_input_changes_nothing(emu: Emulator, world: World, runner: BotRunner) -> None:
    await runner.start()
    review_id = await setup_program(emu, world)
    alice = emu.actor(world.guild.id, world.alice.id)
    bad = await apply(emu, world, world.alice.id, social="instagram.com/me")
    assert bad.ephemeral and "isn't a web link" in bad.content
    bad = await apply(emu, world, world.alice.id, social="javascript:alert(1)")
    assert bad.ephemeral and "isn't a web link" in bad.content
    long = await apply(emu, world, world.alice.id, why="x" * 1001)
    assert long.ephemeral and "too long" in long.content
    empty = await apply(emu, world, world.alice.id, niche="")
    assert empty.ephemeral and "Please fill in" in empty.content
    assert not [m for m in emu.state.messages_in(review_id) if m.components]
    assert runner.bot is not None
    assert await runner.bot.db.fetchval("SELECT COUNT(*) FROM applications") == 0

    ok = await apply(emu, world, world.alice.id)
    assert "Thanks" in ok.content
    twice = await alice.slash("apply")
    assert twice.ephemeral and "still waiting for review" in twice.content
    mira = emu.actor(world.guild.id, world.moderator.id)
    not_amb = await mira.slash("ambassador pause", member=world.alice.id)
    assert not_amb.ephemeral and "isn't an ambassador" in not_amb.content
    unknown = await mira.slash("ambassador info", member=world.bob.id)
    assert unknown.ephemeral and "isn't part of the program" in unknown.content
    bad_setting = await mira.slash("settings change", setting="capacity", value="lots")
    assert bad_setting.ephemeral and "whole number" in bad_setting.content
    not_mod = await alice.slash("ambassador list")
    assert not_mod.ephemeral and "program moderators" in not_mod.content


async def test_closed_dms_get_a_private_welcome_and_role_failures_are_retried(
    emu: Emulator, world: World, runner: BotRunner
) -> None:
    bot = await runner.start()
    review_id = await setup_program(emu, world)
    await apply(emu, world, world.alice.id)
    emu.faults.close_dms(world.alice.id)
    emu.faults.forbidden("PUT", r"/guilds/\d+/members/\d+/roles/\d+", times=1)
    post = review_post(emu, review_id, world.alice.id)
    approved = await emu.actor(world.guild.id, world.moderator.id).click(post, button(post, "approve"))
    assert "roles not yet given" in approved.content and "private channel" in approved.content
    welcome = emu.state.channels_named(world.guild.id, "welcome-alice")
    assert len(welcome) == 1 and emu.state.permissions_in(welcome[0].id, world.bob.id) == 0
    assert emu.state.permissions_in(welcome[0].id, world.alice.id) != 0
    assert any("Role assignment failed" in str(m.embeds) for m in emu.state.messages_in(review_id))
    dm_closed = await bot.db.fetchval("SELECT dm_closed FROM members WHERE user_id = ?", (world.alice.id,))
    assert dm_closed == 1
    # The durable retry assigns the role.
    report = await bot.scheduler.run_due(bot.clock.now() + __import__("datetime").timedelta(minutes=6))
    assert any("role-sync" in label for label in report.ran), report
    role = emu.state.role_named(world.guild.id, "Ambassador")
    assert role is not None and role.id in emu.state.member(world.guild.id, world.alice.id).roles


async def test_roster_commands(emu: Emulator, world: World, runner: BotRunner) -> None:
    await runner.start()
    await setup_program(emu, world)
    mira = emu.actor(world.guild.id, world.moderator.id)
    await mira.slash("settings tier", key="ambassador", name="Ambassador", perks="free product")
    tier = await mira.slash("settings tier", key="creator", name="Creator", commission="12.5", perks="paid posts")
    assert "12.50%" in tier.content
    await mira.slash("setup")  # creates the tier's role
    added = await mira.slash("ambassador add", member=world.bob.id)
    assert "Added" in added.content
    moved = await mira.slash("ambassador tier", member=world.bob.id, tier="creator")
    assert "creator" in moved.content
    creator_role = emu.state.role_named(world.guild.id, "Creator tier")
    assert creator_role is not None
    await until(lambda: creator_role.id in emu.state.member(world.guild.id, world.bob.id).roles, "tier role")
    listed = await mira.slash("ambassador list")
    assert f"<@{world.bob.id}>" in listed.text
    exported = await mira.slash("ambassador export")
    csv_text = next(iter(exported.files.values())).decode()
    assert csv_text.startswith("user_id,display_name") and str(world.bob.id) in csv_text
    paused = await mira.slash("ambassador pause", member=world.bob.id)
    assert "paused" in paused.content
    refused = await mira.slash("ambassador forget", member=world.bob.id)
    assert "still an ambassador" in refused.content
    await mira.slash("ambassador remove", member=world.bob.id)
    forgotten = await mira.slash("ambassador forget", member=world.bob.id)
    assert "Erased" in forgotten.content
    pending = await mira.slash("applications")
    assert "No applications waiting" in pending.text


async def test_auto_approve_when_switched_on(emu: Emulator, world: World, runner: BotRunner) -> None:
    await runner.start()
    review_id = await setup_program(emu, world)
    await emu.actor(world.guild.id, world.moderator.id).slash("settings change", setting="auto_approve", value="on")
    answer = await apply(emu, world, world.alice.id)
    assert "You're in" in answer.content
    assert (await member_row(runner, world.guild.id, world.alice.id))[0] == "active"
    post = emu.state.messages_in(review_id)[-1]
    assert "by the bot" in str(post.embeds) and not post.components


async def test_a_decision_whose_interaction_died_is_followed_up_by_the_outbox(
    emu: Emulator, world: World, runner: BotRunner
) -> None:
    """The approval commits with its follow-ups as an outbox row; if the deciding interaction never delivers it
    (the bot died right after the commit), the background delivery does — once — when the grace period ends."""
    clock = FixedClock(datetime(2026, 11, 24, 10, 0, tzinfo=UTC))
    runner.clock = clock
    bot = await runner.start()
    await setup_program(emu, world)
    await apply(emu, world, world.alice.id)
    review_id = emu.state.channel_named(world.guild.id, "review").id
    await until(lambda: review_post(emu, review_id, world.alice.id), "the review post")
    settings = await get_settings(bot.db, world.guild.id)
    async with bot.db.transaction() as tx:  # what the Approve button commits, without its after-commit part
        app_id = int(await tx.fetchval("SELECT id FROM applications WHERE user_id = ?", (world.alice.id,)))
        await applications.approve(tx, world.guild.id, app_id, world.moderator.id, clock.now(), settings)
    await bot.outbox.deliver_due()
    assert not emu.dms_to(world.alice.id)  # the interaction's turn: the background waits out the grace period
    clock.advance(INLINE_GRACE + timedelta(seconds=1))
    await bot.outbox.deliver_due()
    await until(lambda: any("Welcome" in str(m.embeds) for m in emu.dms_to(world.alice.id)), "the welcome DM")
    assert review_post_buttons_gone(emu, review_id, world.alice.id)
    await bot.outbox.deliver_due()  # delivered once: nothing is left to deliver again
    assert len([m for m in emu.dms_to(world.alice.id) if "Welcome" in str(m.embeds)]) == 1


def review_post_buttons_gone(emu: Emulator, review_id: int, user_id: int) -> bool:
    posts = [m for m in emu.state.messages_in(review_id) if f"<@{user_id}>" in str(m.embeds)]
    return bool(posts) and not posts[-1].components

"""Tiers that move by themselves, through the emulator: a member earns points, the daily job promotes them, their
tier role follows and they are told once — also when the job's period is run again or the bot restarts."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import FixedClock
from bot.services.engagement import points
from bot.services.program.bindings import get_binding
from emulator import Emulator
from tests.e2e.conftest import SHOP_START, BotRunner, World
from tests.e2e.test_onboarding_e2e import setup_program
from tests.e2e.test_rewards_e2e import labelled


async def test_points_earned_the_daily_job_promotes_the_role_follows_and_the_dm_is_sent_once(
    emu: Emulator, world: World, runner: BotRunner
) -> None:
    runner.clock = clock = FixedClock(SHOP_START)
    bot = await runner.start()
    gid, bob = world.guild.id, world.bob.id
    mira = emu.actor(gid, world.moderator.id)
    await setup_program(emu, world)
    for key, name in (("starter", "Starter"), ("gold", "Gold")):  # the first is everyone's floor
        made = await mira.slash("settings tier", key=key, name=name, perks="early drops")
        assert not made.content.startswith("⚠️"), made.content
    await mira.slash("setup")  # creates and binds the Gold role
    gold_role = await get_binding(bot.db, gid, "role:tier:gold")
    assert gold_role is not None
    rule = await mira.slash("tiers rules", tier="gold", min_points="100", window_days=90)
    assert "100 points in 90 days" in rule.content, rule.content
    added = await mira.slash("ambassador add", member=bob)
    assert not added.content.startswith("⚠️"), added.content
    given = await mira.slash("points adjust", member=bob, amount=150, reason="great content")
    assert "total is now" in given.content, given.content
    preview = await mira.slash("tiers preview")
    assert preview.ephemeral and f"<@{bob}>" in str(preview.embeds) and "→ gold" in str(preview.embeds)
    assert "100 points in 90 days" in str(preview.embeds), preview.embeds
    assert await bot.db.fetchval("SELECT tier FROM members WHERE user_id = ?", (bob,)) == "starter"

    clock.advance(timedelta(days=1))  # the next day's run (due at the digest time, 09:00)
    await bot.scheduler.run_due(clock.now())
    await bot.outbox.drain()
    assert await bot.db.fetchval("SELECT tier FROM members WHERE user_id = ?", (bob,)) == "gold"
    assert gold_role in emu.state.guild(gid).members[bob].roles

    def told() -> int:
        return sum("moved up to Gold" in str(m.embeds) for m in emu.state.dms_to(bob))

    assert told() == 1
    await bot.scheduler.run_due(clock.now())  # the same day again: the period is claimed
    bot = await runner.restart()
    await bot.scheduler.run_due(clock.now())
    await bot.outbox.drain()
    assert told() == 1
    runs = await bot.db.fetchval("SELECT COUNT(*) FROM job_runs WHERE job = 'tier-rules' AND status = 'done'")
    assert runs == 1
    audit = await bot.db.fetchval("SELECT COUNT(*) FROM audit_log WHERE action = 'ambassador.tier'")
    assert audit == 1


async def test_the_preview_is_paged_when_many_would_move(emu: Emulator, world: World, runner: BotRunner) -> None:
    runner.clock = FixedClock(SHOP_START)
    bot = await runner.start()
    gid = world.guild.id
    mira = emu.actor(gid, world.moderator.id)
    await setup_program(emu, world)
    for key, name in (("starter", "Starter"), ("gold", "Gold")):
        await mira.slash("settings tier", key=key, name=name)
    await mira.slash("tiers rules", tier="gold", min_points="10")
    now = SHOP_START.isoformat()
    async with bot.db.transaction() as tx:
        for user_id in range(1000, 1025):  # 25 ambassadors with points: more than a page of moves
            await tx.execute(
                """INSERT INTO members (guild_id, user_id, display_name, status, tier, approved_at, status_changed_at,
                       created_at) VALUES (?, ?, ?, 'active', 'starter', ?, ?, ?)""",
                (gid, user_id, f"member {user_id}", now, now, now),
            )
            await points.award(tx, gid, user_id, 20, "adjustment", f"preview:{user_id}", SHOP_START)
    preview = await mira.slash("tiers preview")
    assert preview.ephemeral and preview.message is not None
    assert "Page 1 of 2" in str(preview.embeds) and str(preview.embeds).count("→ gold") == 20, preview.embeds
    turned = await mira.click(preview.message, labelled(preview.message, "Next"))
    assert turned.message is not None
    shown = str(turned.message.embeds)
    assert "Page 2 of 2" in shown and shown.count("→ gold") == 5, shown
    assert await bot.db.fetchval("SELECT COUNT(*) FROM members WHERE tier = 'gold'") == 0  # nobody moved

"""The weekly digest: providers assembled, embeds always within Discord's limits, /digest post's claim."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.clock import FixedClock, to_db
from bot.config import ProgramDefaults
from bot.db import Database
from bot.scheduler import RecurringJob, RunContext, Scheduler
from bot.services.digest import sections as digest_sections
from bot.services.digest.sections import DigestSection, DigestWindow
from bot.services.digest.weekly import build_digest, claim_week, finish_claim, fit_embed, public_text, window_for
from bot.services.program.guild_settings import ensure_guild, get_settings
from cogs.digest.digest import _weekly, to_embed
from tests.unit.test_points import GUILD, add_member, give

MONDAY_9 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
UTCZ = ZoneInfo("UTC")


def assert_within_limits(text: object) -> None:
    card = to_embed(text)  # type: ignore[arg-type]
    assert len(card) <= 6000 and len(card.fields) <= 25
    assert all(len(f.value or "") <= 1024 and len(f.name or "") <= 256 for f in card.fields)


async def test_window_is_the_week_before_the_due_time(db: Database, clock: FixedClock) -> None:
    await db.perform(ensure_guild, GUILD, ProgramDefaults(timezone="Europe/Berlin"), clock.now())
    settings = await get_settings(db, GUILD)
    due = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # Monday 09:00 Berlin
    window = window_for(settings, due)
    assert window.start == datetime(2026, 11, 23, 8, 0, tzinfo=UTC) and window.end == due


async def test_points_section_top_five_and_movers(db: Database) -> None:
    window = DigestWindow(MONDAY_9 - timedelta(days=7), MONDAY_9, UTCZ)
    for user in range(1, 8):
        await add_member(db, user, f"m{user}")
        await give(db, user, 100 - user, f"old{user}", window.start - timedelta(days=3))
    await give(db, 7, 500, "jump", window.start + timedelta(days=1))  # from last place to first
    await give(db, 1, 1, "tiny", window.start + timedelta(days=2))
    await give(db, 2, 999, "after", window.end + timedelta(hours=1))  # next week's: not counted
    result = await build_digest(db, GUILD, window)
    points = next(s for s in result.public if s.key == "points")
    assert points.lines[0] == "🥇 **m7** — 500 pts" and points.lines[1] == "🥈 **m1** — 1 pts"
    assert "📈 **m7** climbed 6 places to #1" in points.lines
    assert any(label == "Points earned" and values[-1] == 501 for label, values in result.metrics)


async def test_digest_fits_discord_limits_with_ten_thousand_members(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = DigestWindow(MONDAY_9 - timedelta(days=7), MONDAY_9, UTCZ)
    stamp = to_db(window.start + timedelta(hours=1))
    async with db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO members (guild_id, user_id, display_name, status, status_changed_at, created_at)"
            " VALUES (?, ?, ?, 'active', ?, ?)",
            [(GUILD, u, f"ambassador with a long display name {u}" * 3, stamp, stamp) for u in range(1, 10_001)],
        )
        await tx.executemany(
            "INSERT INTO points_ledger (guild_id, user_id, points, reason, reference, created_at)"
            " VALUES (?, ?, ?, 'submission', ?, ?)",
            [(GUILD, u, u % 97, f"s{u}", stamp) for u in range(1, 10_001)],
        )

    async def new_ambassadors(db: Database, guild_id: int, window: DigestWindow) -> list[DigestSection]:
        rows = await db.fetchall("SELECT display_name FROM members WHERE guild_id = ?", (guild_id,))
        links = [(f"Post {n}", f"https://discord.com/channels/1/2/{n}") for n in range(50)]
        return [DigestSection("new", "New ambassadors", [f"👋 {r['display_name']}" for r in rows], highlights=links)]

    async def many(db: Database, guild_id: int, window: DigestWindow) -> list[DigestSection]:
        return [
            DigestSection(f"s{i}", f"Section {i} " + "t" * 300, ["x" * 2000] * 30, audience=aud)
            for i in range(40)
            for aud in ("public", "moderators")
        ]

    monkeypatch.setitem(digest_sections._sections, "test-new", new_ambassadors)
    monkeypatch.setitem(digest_sections._sections, "test-many", many)
    result = await build_digest(db, GUILD, window)
    public = public_text(result, "The weekly digest")
    assert_within_limits(public)
    assert "New ambassadors" in [name for name, _ in public.fields]
    new_field = dict(public.fields)["New ambassadors"]
    assert "… and " in new_field and "more" in new_field
    assert public.fields[-1][0] == "More this week"
    assert public.footer == "The weekly digest"


@pytest.mark.parametrize("sections", [0, 1, 5, 24, 25, 26, 100])
def test_fit_embed_any_number_of_sections(sections: int) -> None:
    items = [DigestSection(f"k{i}", f"T{i}", [f"line {n} " * 20 for n in range(200)]) for i in range(sections)]
    assert_within_limits(fit_embed("title", "description", items, "footer"))


async def test_a_failing_provider_costs_only_its_section(
    db: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(db: Database, guild_id: int, window: DigestWindow) -> list[DigestSection]:
        raise RuntimeError("boom")

    monkeypatch.setitem(digest_sections._sections, "broken", broken)
    with caplog.at_level(logging.ERROR):
        result = await build_digest(db, GUILD, DigestWindow(MONDAY_9 - timedelta(days=7), MONDAY_9, UTCZ))
    assert any(s.key == "broken" for s in result.moderators)
    assert any(s.key == "points" for s in result.public)
    assert "broken" in caplog.text


async def test_manual_post_claims_the_week_so_the_automatic_one_skips(db: Database) -> None:
    clock = FixedClock(MONDAY_9 - timedelta(hours=1))
    await db.perform(ensure_guild, GUILD, ProgramDefaults(), clock.now() - timedelta(days=1))
    settings = await get_settings(db, GUILD)
    ran: list[str] = []

    async def handler(ctx: RunContext) -> None:
        ran.append(ctx.period.key)

    scheduler = Scheduler(db, clock, grace=timedelta(hours=24))
    scheduler.register_job(RecurringJob("digest", _weekly, handler))
    key, claimed = await db.perform(claim_week, GUILD, settings, clock.now())
    assert (key, claimed) == ("2026-W48", True)
    assert (await db.perform(claim_week, GUILD, settings, clock.now()))[1] is False
    await db.perform(finish_claim, GUILD, key, clock.now(), ok=True)
    clock.set(MONDAY_9)
    await scheduler.run_due(clock.now())
    assert ran == []
    clock.set(MONDAY_9 + timedelta(days=7))
    await scheduler.run_due(clock.now())
    assert ran == ["2026-W49"]


async def test_a_failed_manual_post_releases_the_claim(db: Database) -> None:
    now = MONDAY_9 - timedelta(hours=1)
    await db.perform(ensure_guild, GUILD, ProgramDefaults(), now - timedelta(days=1))
    settings = await get_settings(db, GUILD)
    key, _ = await db.perform(claim_week, GUILD, settings, now)
    await db.perform(finish_claim, GUILD, key, now, ok=False)
    assert (await db.perform(claim_week, GUILD, settings, now))[1] is True

"""Queries at scale: /leaderboard, /profile, /code and the digest build, each beside the bare SQL aggregate.

    python -m bench.bench_engagement            # 10,000 ambassadors, 1,000,000 points rows, 200,000 sales
    python -m bench.bench_engagement --quick    # small sizes: checks that it works, no figures to trust

Only the database work is timed (what the command spends before it renders): the service call against a
real migrated SQLite file filled by bench/generator.py. The baseline is the plain aggregate a first version
would run for the same answer, measured in the same run on the same data.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import pkgutil
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import bot.services
from bench.generator import Sizes, generate
from bench.report import Figure, emit
from bot.clock import to_db
from bot.db import Database
from bot.services.digest import sections as digest_sections
from bot.services.digest.sections import DigestWindow
from bot.services.digest.weekly import build_digest, chart_windows
from bot.services.engagement.leaderboard import leaderboard
from bot.services.engagement.profile import profile
from bot.services.program.guild_settings import get_settings
from bot.services.program.members import require_ambassador
from bot.services.sales import codes
from bot.services.sales import reports as sales_reports

GUILD = 1
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
ZONE = ZoneInfo("Europe/Berlin")
HINT = "INDEXED BY points_by_time_covering"  # the baselines get the same covering indexes the service uses
SALES_HINT = "INDEXED BY sales_by_time_covering"
TARGETS_MS = {"digest build": 500.0}  # everything else an ambassador or moderator runs: 50 ms


async def timed(runs: int, call: Callable[[], Awaitable[object]]) -> tuple[float, float]:
    await call()  # warm the page cache and statement cache
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.95))]


async def code_command(db: Database, user: int) -> object:
    """What /code reads before it renders (cogs/sales/codes.py): the member, the code, settings and the numbers."""
    await require_ambassador(db, GUILD, user)
    await codes.current_code(db, GUILD, user)
    settings = await get_settings(db, GUILD)
    return await sales_reports.my_numbers(db, GUILD, user, NOW, settings.zone)


async def measure(path: Path, runs: int) -> list[tuple[str, float, float, str, float, float]]:
    db = await Database.open(path)
    user = 4242 % 1000 + 1
    week_start = to_db(NOW - timedelta(days=NOW.weekday(), hours=10))
    window = DigestWindow(NOW - timedelta(days=7), NOW, ZONE)
    cases: list[tuple[str, Callable[[], Awaitable[object]], str, Callable[[], Awaitable[object]]]] = [
        (
            "/leaderboard week points",
            lambda: leaderboard(db, GUILD, period="week", metric="points", now=NOW, zone=ZONE, caller_id=user),
            "SUM(points) GROUP BY user since Monday, top 10",
            lambda: db.fetchall(
                f"SELECT user_id, SUM(points) s FROM points_ledger {HINT} WHERE guild_id = ? AND created_at >= ?"
                " GROUP BY user_id ORDER BY s DESC LIMIT 10",
                (GUILD, week_start),
            ),
        ),
        (
            "/leaderboard month points",
            lambda: leaderboard(db, GUILD, period="month", metric="points", now=NOW, zone=ZONE, caller_id=user),
            "SUM(points) GROUP BY user since the 1st, top 10",
            lambda: db.fetchall(
                f"SELECT user_id, SUM(points) s FROM points_ledger {HINT} WHERE guild_id = ? AND created_at >= ?"
                " GROUP BY user_id ORDER BY s DESC LIMIT 10",
                (GUILD, to_db(datetime(2026, 10, 31, 23, tzinfo=UTC))),
            ),
        ),
        (
            "/leaderboard all points",
            lambda: leaderboard(db, GUILD, period="all", metric="points", now=NOW, zone=ZONE, caller_id=user),
            "SUM(points) GROUP BY user, all rows, top 10",
            lambda: db.fetchall(
                "SELECT user_id, SUM(points) s FROM points_ledger WHERE guild_id = ? GROUP BY user_id"
                " ORDER BY s DESC LIMIT 10",
                (GUILD,),
            ),
        ),
        *(
            (
                f"/leaderboard {period} sales",
                lambda period=period: leaderboard(
                    db, GUILD, period=period, metric="sales", now=NOW, zone=ZONE, caller_id=user
                ),
                f"SUM(net_minor) GROUP BY user since {label}, top 10",
                lambda since=since: db.fetchall(
                    f"SELECT user_id, SUM(net_minor) s FROM sales {SALES_HINT} WHERE guild_id = ? AND occurred_at >= ?"
                    " GROUP BY user_id ORDER BY s DESC LIMIT 10",
                    (GUILD, since),
                ),
            )
            for period, label, since in (
                ("week", "Monday", week_start),
                ("month", "the 1st", to_db(datetime(2026, 10, 31, 23, tzinfo=UTC))),
            )
        ),
        (
            "/leaderboard all sales",
            lambda: leaderboard(db, GUILD, period="all", metric="sales", now=NOW, zone=ZONE, caller_id=user),
            "SUM(net_minor) GROUP BY user, all rows, top 10",
            lambda: db.fetchall(
                "SELECT user_id, SUM(net_minor) s FROM sales WHERE guild_id = ? GROUP BY user_id"
                " ORDER BY s DESC LIMIT 10",
                (GUILD,),
            ),
        ),
        (
            "/profile",
            lambda: profile(db, GUILD, user, now=NOW, zone=ZONE),
            "SUM(points) for one member",
            lambda: db.fetchval(
                "SELECT SUM(points) FROM points_ledger WHERE guild_id = ? AND user_id = ?", (GUILD, user)
            ),
        ),
        (
            "/code",
            lambda: code_command(db, user),
            "SUM(net_minor) GROUP BY currency for one member",
            lambda: db.fetchall(
                "SELECT currency, COUNT(*), SUM(net_minor) FROM sales WHERE guild_id = ? AND user_id = ?"
                " GROUP BY currency",
                (GUILD, user),
            ),
        ),
        (
            "digest build",
            lambda: build_digest(db, GUILD, window),
            "SUM(points) GROUP BY user over the week",
            lambda: db.fetchall(
                f"SELECT user_id, SUM(points) FROM points_ledger {HINT} WHERE guild_id = ? AND created_at >= ?"
                " AND created_at < ? GROUP BY user_id",
                (GUILD, to_db(window.start), to_db(window.end)),
            ),
        ),
    ]
    rows = []
    try:
        for name, call, baseline_name, baseline in cases:
            p50, p95 = await timed(runs, call)
            b50, b95 = await timed(runs, baseline)
            rows.append((name, p50, p95, baseline_name, b50, b95))
        for provider, section in sorted(digest_sections.section_providers().items()):
            p50, p95 = await timed(runs, lambda section=section: section(db, GUILD, window))  # type: ignore[misc]
            rows.append((f"  digest provider `{provider}`", p50, p95, "—", 0.0, 0.0))
        weeks = chart_windows(window)
        for metric_name, (_, metric) in sorted(digest_sections.metric_providers().items()):
            p50, p95 = await timed(runs, lambda metric=metric: metric(db, GUILD, weeks))  # type: ignore[misc]
            rows.append((f"  digest metric `{metric_name}` (8 weeks)", p50, p95, "—", 0.0, 0.0))
    finally:
        await db.close()
    return rows


def register_every_provider() -> None:
    """The bot imports every capability's service (and so its digest providers) when it loads the cogs."""
    for module in pkgutil.walk_packages(bot.services.__path__, "bot.services."):
        importlib.import_module(module.name)


async def main(quick: bool) -> None:
    register_every_provider()
    members, points_rows, sales_rows, runs = (500, 20_000, 4_000, 3) if quick else (10_000, 1_000_000, 200_000, 30)
    with tempfile.TemporaryDirectory(prefix="collective-bench-") as folder:
        path = Path(folder) / "bench.db"
        db = await Database.open(path)
        await db.migrate()
        await db.close()
        started = time.perf_counter()
        generate(path, Sizes(members, points_rows, sales_rows, timers=100), now=NOW)
        print(f"generated {members:,} members, {points_rows:,} points rows, {sales_rows:,} sales rows"
              f" in {time.perf_counter() - started:.1f}s")  # fmt: skip
        results = await measure(path, runs)
    print(f"\n| what | p50 ms | p95 ms | bare SQL baseline | p50 ms | p95 ms | ratio (p50) |\n|{'---|' * 7}")
    for name, p50, p95, baseline, b50, b95 in results:
        ratio = f"{p50 / b50:.2f}×" if b50 else "—"
        print(f"| {name} | {p50:.1f} | {p95:.1f} | {baseline} | {b50:.1f} | {b95:.1f} | {ratio} |")
    for name, p50, p95, baseline, b50, _ in results:
        if b50:  # a headline figure (digest providers and metrics are the breakdown)
            target = TARGETS_MS.get(name, 50.0)
            emit(Figure("queries", f"{name}: p50 (p95 {p95:.1f} ms)", p50, "ms", b50, baseline, f"< {target:g} ms",
                        p50 < target))  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, to check that it runs")
    asyncio.run(main(parser.parse_args().quick))

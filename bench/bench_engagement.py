"""Engagement queries at scale: /leaderboard, /profile and the digest build, each beside the bare SQL aggregate.

    python -m bench.bench_engagement            # 10,000 ambassadors, 1,000,000 points rows, 200,000 sales
    python -m bench.bench_engagement --quick    # small sizes: checks that it works, no figures to trust

Only the database work is timed (what the command spends before it renders): the service call against a
real migrated SQLite file. The baseline is the plain aggregate a first version would run for the same
answer, measured in the same run on the same data.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import pkgutil
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import bot.services
from bot.clock import to_db
from bot.db import Database
from bot.services import digest_sections
from bot.services.digest import build_digest, chart_windows
from bot.services.digest_sections import DigestWindow
from bot.services.leaderboard import leaderboard
from bot.services.profile import profile

GUILD = 1
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
ZONE = ZoneInfo("Europe/Berlin")
HINT = "INDEXED BY points_by_time_covering"  # the baselines get the same covering indexes the service uses
SALES_HINT = "INDEXED BY sales_by_time_covering"
REASONS = ("submission", "sale", "poll", "event", "adjustment")


def generate(path: Path, members: int, points_rows: int, sales_rows: int) -> None:
    """Fill a migrated database with a year of activity (plain sqlite3: generation is not what we measure)."""
    rng = random.Random(7)
    conn = sqlite3.connect(path)
    stamp = to_db(NOW - timedelta(days=400))
    year = 365 * 24 * 3600
    with conn:
        conn.execute(
            "INSERT INTO guild_settings (guild_id, timezone, digest_weekday, digest_time, capacity, code_prefix,"
            " points_submission_approved, points_sale, points_poll_vote, points_event_attendance, created_at,"
            " updated_at) VALUES (?, 'Europe/Berlin', 0, '09:00', 20000, '', 50, 20, 5, 30, ?, ?)",
            (GUILD, stamp, stamp),
        )
        conn.executemany(
            "INSERT INTO members (guild_id, user_id, display_name, status, tier, status_changed_at, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                (GUILD, u, f"ambassador{u}", "active" if u % 50 else "paused", ("creator", None)[u % 2], stamp, stamp)
                for u in range(1, members + 1)
            ),
        )
        conn.executemany(
            "INSERT INTO points_ledger (guild_id, user_id, points, reason, reference, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                (
                    GUILD,
                    rng.randint(1, members),
                    rng.choice((5, 20, 30, 50)),
                    rng.choice(REASONS),
                    f"bench:{i}",
                    to_db(NOW - timedelta(seconds=rng.randrange(year))),
                )
                for i in range(points_rows)
            ),
        )
        _sales(conn, rng, members, sales_rows, year)
    conn.execute("ANALYZE")
    conn.close()


def _sales(conn: sqlite3.Connection, rng: random.Random, members: int, rows: int, year: int) -> None:
    columns = {row[1] for row in conn.execute("PRAGMA table_info('sales')")}
    if not columns:  # the codes capability's migration isn't here: a minimal stand-in with its key columns
        conn.execute(
            "CREATE TABLE sales (id INTEGER PRIMARY KEY, guild_id INTEGER NOT NULL, kind TEXT NOT NULL,"
            " user_id INTEGER NOT NULL, net_minor INTEGER NOT NULL, currency TEXT NOT NULL, occurred_at TEXT NOT NULL)"
        )
        conn.execute("CREATE INDEX sales_by_member_time ON sales (guild_id, user_id, occurred_at)")
        conn.execute("CREATE INDEX sales_by_time ON sales (guild_id, occurred_at)")
        columns = {row[1] for row in conn.execute("PRAGMA table_info('sales')")}
    full = {
        "guild_id": lambda i, u, n, t, k: GUILD,
        "kind": lambda i, u, n, t, k: k,
        "shop": lambda i, u, n, t, k: "shopify",
        "order_id": lambda i, u, n, t, k: str(10**15 + i),
        "entry_ref": lambda i, u, n, t, k: k,
        "code_id": lambda i, u, n, t, k: u,
        "code": lambda i, u, n, t, k: f"CODE{u}",
        "user_id": lambda i, u, n, t, k: u,
        "gross_minor": lambda i, u, n, t, k: abs(n),
        "discount_minor": lambda i, u, n, t, k: 0,
        "net_minor": lambda i, u, n, t, k: n,
        "currency": lambda i, u, n, t, k: "EUR",
        "occurred_at": lambda i, u, n, t, k: t,
        "recorded_at": lambda i, u, n, t, k: t,
        "source": lambda i, u, n, t, k: "webhook",
    }
    used = [name for name in full if name in columns]
    values = []
    for i in range(rows):
        refund = i % 20 == 0
        net = -rng.randint(500, 3000) if refund else rng.randint(1500, 9000)
        when = to_db(NOW - timedelta(seconds=rng.randrange(year)))
        kind = "refund" if refund else "sale"
        values.append([full[name](i, rng.randint(1, members), net, when, kind) for name in used])
    conn.executemany(f"INSERT INTO sales ({', '.join(used)}) VALUES ({', '.join('?' for _ in used)})", values)


async def timed(runs: int, call: Callable[[], Awaitable[object]]) -> tuple[float, float]:
    await call()  # warm the page cache and statement cache
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.95))]


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
    for module in pkgutil.iter_modules(bot.services.__path__):
        importlib.import_module(f"bot.services.{module.name}")


async def main(quick: bool) -> None:
    register_every_provider()
    members, points_rows, sales_rows, runs = (500, 20_000, 4_000, 3) if quick else (10_000, 1_000_000, 200_000, 30)
    with tempfile.TemporaryDirectory(prefix="collective-bench-") as folder:
        path = Path(folder) / "bench.db"
        db = await Database.open(path)
        await db.migrate()
        await db.close()
        started = time.perf_counter()
        generate(path, members, points_rows, sales_rows)
        print(f"generated {members:,} members, {points_rows:,} points rows, {sales_rows:,} sales rows"
              f" in {time.perf_counter() - started:.1f}s")  # fmt: skip
        results = await measure(path, runs)
    print(f"\n| what | p50 ms | p95 ms | bare SQL baseline | p50 ms | p95 ms | ratio (p50) |\n|{'---|' * 7}")
    for name, p50, p95, baseline, b50, b95 in results:
        ratio = f"{p50 / b50:.2f}×" if b50 else "—"
        print(f"| {name} | {p50:.1f} | {p95:.1f} | {baseline} | {b50:.1f} | {b95:.1f} | {ratio} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, to check that it runs")
    asyncio.run(main(parser.parse_args().quick))

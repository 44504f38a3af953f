"""A program's history at scale, written straight into the real tables of a freshly migrated database.

    python -m bench.generator OUT.db [--members 10000 --points 1000000 --sales 200000 --timers 1000]

N ambassadors (2% paused) with their approved applications, a few pending applicants, one active discount
code each (one in ten also has a retired one), a year of sales with 5% refunds (each referring to its sale,
partly or fully), the sale points and their reversals, submissions (approved ones earn points), closed polls
with votes, events with attendance, manual adjustments to reach the points-row target, and pending timers
in the future. Everything goes in with executemany inside one transaction: the read-model triggers of
migrations 0006/0008 fire on every insert, so points_totals, points_monthly, sales_totals and
sales_currencies end up exactly what the bot's own writes would have made them.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.clock import to_db

GUILD = 1
TIERS = (("ambassador", "Ambassador", 0), ("affiliate", "Affiliate", 1000), ("creator", "Creator", 1500))
POINTS = {"submission": 50, "sale": 20, "poll": 5, "event": 30}
YEAR = 365 * 24 * 3600


@dataclass(frozen=True)
class Sizes:
    members: int = 10_000
    points_rows: int = 1_000_000
    sales_rows: int = 200_000
    timers: int = 1_000
    open_polls: int = 5


@dataclass
class Summary:
    user_ids: list[int]
    sales: int = 0
    refunds: int = 0
    points_rows: int = 0
    submissions: int = 0
    polls: int = 0
    votes: int = 0
    attendance: int = 0
    timers: int = 0
    open_poll_ids: list[int] = field(default_factory=list)


class _Writer:
    """Rows collected per table, then one executemany each (the triggers fire row by row)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def insert(self, table: str, columns: str, rows: Sequence[tuple[object, ...]]) -> None:
        if rows:
            marks = ", ".join("?" for _ in columns.split(","))
            self.conn.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)


def generate(
    path: Path,
    sizes: Sizes,
    *,
    now: datetime,
    user_ids: Sequence[int] | None = None,
    guild_id: int = GUILD,
    seed: int = 7,
) -> Summary:
    """Fill the migrated database at ``path``; ``user_ids`` (one per ambassador) default to 1..N."""
    rng = random.Random(seed)
    users = list(user_ids) if user_ids is not None else list(range(1, sizes.members + 1))
    summary = Summary(user_ids=users)
    conn = sqlite3.connect(path)
    # A fresh file nobody else reads: skip fsyncs and keep the growing indexes in memory (up to 1 GB).
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-1000000")
    try:
        with conn:  # one transaction
            w = _Writer(conn)
            codes = _program(w, guild_id, users, now)
            points: list[tuple[object, ...]] = []
            _sales(w, rng, guild_id, users, codes, sizes.sales_rows, now, points, summary)
            rest = max(sizes.points_rows - len(points), 0)
            _submissions(w, rng, guild_id, users, rest // 5, now, points, summary)
            _polls(w, rng, guild_id, users, rest * 2 // 5, sizes.open_polls, now, points, summary)
            _events(w, rng, guild_id, users, rest // 5, now, points, summary)
            _adjustments(rng, guild_id, users, sizes.points_rows - len(points), now, points)
            points.sort(key=lambda row: str(row[5]))  # in time order, as the bot appends them
            w.insert("points_ledger", "guild_id, user_id, points, reason, reference, created_at", points)
            summary.points_rows = len(points)
            _timers(w, rng, guild_id, users, sizes.timers, now, summary)
        conn.execute("ANALYZE")
    finally:
        conn.close()
    return summary


def _program(w: _Writer, guild: int, users: list[int], now: datetime) -> dict[int, tuple[int, str]]:
    """Settings, tiers, members, applications and codes; returns each ambassador's (code id, code)."""
    start = to_db(now - timedelta(days=400))
    w.insert(
        "guild_settings",
        "guild_id, timezone, digest_weekday, digest_time, capacity, code_prefix, points_submission_approved,"
        " points_sale, points_poll_vote, points_event_attendance, created_at, updated_at",
        [(guild, "Europe/Berlin", 0, "09:00", 100_000, "", *POINTS.values(), start, start)],
    )
    w.insert("tiers", "guild_id, key, name, commission_bp, position", [(guild, *t, i) for i, t in enumerate(TIERS)])
    members: list[tuple[object, ...]] = []
    applications: list[tuple[object, ...]] = []
    codes: list[tuple[object, ...]] = []
    active: dict[int, tuple[int, str]] = {}
    for n, user in enumerate(users):
        status = "paused" if n % 50 == 49 else "active"
        tier = TIERS[n % 3][0]
        joined = to_db(now - timedelta(days=395 - n % 30))
        members.append((guild, user, f"ambassador{n}", status, tier, f"amb{user}@example.com", joined, joined, joined))
        applications.append((guild, user, "approved", f"https://instagram.com/amb{user}", "skincare", joined, joined))
        if n % 10 == 0:  # an earlier code, retired when a vanity code replaced it
            codes.append((len(codes) + 1, guild, user, f"OLD{user}", f"OLD{user}", "retired", "generated", joined))
        code = f"AMB{user}"
        codes.append((len(codes) + 1, guild, user, code, code, "paused" if status == "paused" else "active",
                      "vanity" if n % 10 == 0 else "generated", joined))  # fmt: skip
        active[user] = (len(codes), code)
    # A few people who applied and wait (ids after the ambassadors'; they are not in the Discord guild).
    for user in range(max(users, default=0) + 1, max(users, default=0) + 1 + len(users) // 20):
        day = to_db(now - timedelta(days=user % 7))
        members.append((guild, user, f"applicant{user}", "applicant", None, f"app{user}@example.com", None, day, day))
        applications.append((guild, user, "pending", f"https://tiktok.com/@app{user}", "makeup", None, day))
    w.insert(
        "members",
        "guild_id, user_id, display_name, status, tier, email, approved_at, status_changed_at, created_at",
        members,
    )
    w.insert("applications", "guild_id, user_id, status, social_links, niche, decided_at, created_at", applications)
    w.insert("codes", "id, guild_id, user_id, code, code_norm, status, kind, created_at", codes)
    return active


def _sales(
    w: _Writer,
    rng: random.Random,
    guild: int,
    users: list[int],
    codes: dict[int, tuple[int, str]],
    rows: int,
    now: datetime,
    points: list[tuple[object, ...]],
    summary: Summary,
) -> None:
    """Sales through each ambassador's code; every 20th row refunds the sale before it (full or half)."""
    sales: list[tuple[object, ...]] = []
    orders: list[tuple[object, ...]] = []
    last: tuple[str, int, int, int, int, str, str] | None = None  # order, user, gross, discount, net, currency, at
    for i in range(rows):
        if i % 20 == 19 and last is not None:
            order_id, user, gross, discount, net, currency, sold_at = last
            amount = net if i % 40 == 39 else net // 2
            share = (2 * amount * gross + net) // (2 * net)
            refunded = to_db(min(datetime.fromisoformat(sold_at) + timedelta(days=rng.randint(1, 20)), now))
            code_id, code = codes[user]
            sales.append((guild, "refund", order_id, f"r{i}", code_id, code, user, -share, -(share - amount), -amount,
                          currency, refunded, refunded, "webhook", 0))  # fmt: skip
            reverse = (2 * POINTS["sale"] * amount + net) // (2 * net)
            points.append((guild, user, -reverse, "refund", f"refund:shopify:{order_id}:r{i}", refunded))
            summary.refunds += 1
            last = None
            continue
        user = rng.choice(users)
        code_id, code = codes[user]
        gross = rng.randint(1500, 12000)
        discount = gross // 10
        net = gross - discount
        currency = "USD" if user % 25 == 0 else "EUR"
        sold_at = to_db(now - timedelta(seconds=rng.randrange(YEAR)))
        order_id = str(9_007_199_254_740_993 + i)  # beyond 2**53: exact text, as Shopify's ids must be kept
        self_referral = int(i % 500 == 0)
        sales.append((guild, "sale", order_id, "sale", code_id, code, user, gross, discount, net, currency, sold_at,
                      sold_at, "webhook" if i % 3 else "csv", self_referral))  # fmt: skip
        orders.append((guild, "shopify", order_id, f"#{100000 + i}", code, 1, 1, sold_at, sold_at))
        points.append((guild, user, POINTS["sale"], "sale", f"sale:shopify:{order_id}", sold_at))
        last = (order_id, user, gross, discount, net, currency, sold_at)
        summary.sales += 1
    for j in range(rows // 2):  # orders without an ambassador's code: seen, never counted
        at = to_db(now - timedelta(seconds=rng.randrange(YEAR)))
        orders.append((guild, "shopify", str(8_000_000_000_000 + j), f"#{900000 + j}", None, 1, 0, at, at))
    w.insert(
        "sales",
        "guild_id, kind, shop, order_id, entry_ref, code_id, code, user_id, gross_minor, discount_minor, net_minor,"
        " currency, occurred_at, recorded_at, source, self_referral",
        [(r[0], r[1], "shopify", *r[2:]) for r in sales],
    )
    w.insert(
        "shop_orders", "guild_id, shop, order_id, order_name, code, paid, counted, ordered_at, received_at", orders
    )


def _submissions(
    w: _Writer,
    rng: random.Random,
    guild: int,
    users: list[int],
    approved: int,
    now: datetime,
    points: list[tuple[object, ...]],
    summary: Summary,
) -> None:
    """Five in six submissions approved (with points); the rest rejected, or pending when recent."""
    briefs = [(b + 1, guild, f"Brief {b + 1}", "A short video with the new serum", to_db(now - timedelta(days=b * 7)),
               50, "closed", 1, to_db(now - timedelta(days=b * 7 + 14))) for b in range(20)]  # fmt: skip
    w.insert("briefs", "id, guild_id, title, what_to_make, due_at, points, status, created_by, created_at", briefs)
    rows = []
    total = approved + approved // 5
    for s in range(1, total + 1):
        user = rng.choice(users)
        created = now - timedelta(seconds=rng.randrange(YEAR))
        status = "approved" if s % 6 else ("pending" if now - created < timedelta(days=2) else "rejected")
        reviewed = None if status == "pending" else to_db(created + timedelta(hours=rng.randint(1, 40)))
        award = POINTS["submission"] if status == "approved" else 0
        link = f"https://www.tiktok.com/@amb{user}/video/{s}"
        rows.append((s, guild, user, (s % 20) + 1 if s % 3 == 0 else None, link, link.lower(), "TikTok", 1,
                     to_db(created), status, reviewed, award, to_db(created)))  # fmt: skip
        if award:
            points.append((guild, user, award, "submission", f"submission:{s}", reviewed))
    w.insert(
        "submissions",
        "id, guild_id, user_id, brief_id, link, link_key, platform, reshare_consent, consent_at, status,"
        " reviewed_at, points_awarded, created_at",
        rows,
    )
    summary.submissions = len(rows)


def _polls(
    w: _Writer,
    rng: random.Random,
    guild: int,
    users: list[int],
    votes: int,
    open_polls: int,
    now: datetime,
    points: list[tuple[object, ...]],
    summary: Summary,
) -> None:
    """Closed polls, each voted on by up to half the ambassadors; open ones still waiting for votes."""
    per_poll = max(1, len(users) // 2)
    closed = -(-votes // per_poll) if votes else 0
    polls: list[tuple[object, ...]] = []
    options: list[tuple[object, ...]] = []
    ballots: list[tuple[object, ...]] = []
    for p in range(1, closed + open_polls + 1):
        is_open = p > closed
        created = now - timedelta(hours=1) if is_open else now - timedelta(days=rng.randint(3, 360))
        closes = created + timedelta(days=7)
        polls.append((p, guild, f"Which scent next? ({p})", "open" if is_open else "closed", to_db(closes),
                      to_db(created), None if is_open else to_db(closes)))  # fmt: skip
        options += [(guild, p, k, label) for k, label in enumerate(("Rose", "Vanilla", "Citrus"))]
        if is_open:
            summary.open_poll_ids.append(p)
            continue
        for user in rng.sample(users, min(per_poll, votes - len(ballots))):
            at = to_db(created + timedelta(seconds=rng.randrange(7 * 24 * 3600)))
            ballots.append((p, guild, user, json.dumps([rng.randrange(3)]), TIERS[user % 3][0], at, at))
            points.append((guild, user, POINTS["poll"], "poll", f"poll:{p}:{user}", at))
    w.insert("polls", "id, guild_id, question, status, closes_at, created_at, closed_at", polls)
    w.insert("poll_options", "guild_id, poll_id, position, label", options)
    w.insert("poll_votes", "poll_id, guild_id, user_id, choices, tier, voted_at, changed_at", ballots)
    summary.polls, summary.votes = len(polls), len(ballots)


def _events(
    w: _Writer,
    rng: random.Random,
    guild: int,
    users: list[int],
    attendance: int,
    now: datetime,
    points: list[tuple[object, ...]],
    summary: Summary,
) -> None:
    per_event = max(1, min(len(users), 500))
    count = -(-attendance // per_event) if attendance else 0
    events: list[tuple[object, ...]] = []
    attended: list[tuple[object, ...]] = []
    for e in range(1, count + 1):
        starts = now - timedelta(days=rng.randint(2, 360))
        created = to_db(starts - timedelta(days=14))
        events.append((e, guild, f"Meetup {e}", to_db(starts), to_db(starts + timedelta(hours=2)), "Berlin", 500,
                       POINTS["event"], 1, created, created))  # fmt: skip
        for user in rng.sample(users, min(per_event, attendance - len(attended))):
            at = to_db(starts + timedelta(minutes=rng.randint(0, 100)))
            attended.append((guild, e, user, "checkin", at))
            points.append((guild, user, POINTS["event"], "event", f"event:{e}:{user}", at))
    w.insert(
        "events",
        "id, guild_id, title, starts_at, ends_at, location, capacity, points, created_by, created_at, updated_at",
        events,
    )
    w.insert("event_attendance", "guild_id, event_id, user_id, source, attended_at", attended)
    summary.attendance = len(attended)


def _adjustments(
    rng: random.Random, guild: int, users: list[int], count: int, now: datetime, points: list[tuple[object, ...]]
) -> None:
    for a in range(max(count, 0)):
        at = to_db(now - timedelta(seconds=rng.randrange(YEAR)))
        points.append((guild, rng.choice(users), rng.choice((10, 25, -5, 100)), "adjustment", f"adjustment:{a}", at))


def _timers(
    w: _Writer, rng: random.Random, guild: int, users: list[int], count: int, now: datetime, summary: Summary
) -> None:
    """Pending timers, all in the future: the open polls' closes, then sale celebrations waiting to go out."""
    rows = []
    for poll_id in summary.open_poll_ids[:count]:
        rows.append((guild, "poll_close", f"poll:{poll_id}", to_db(now + timedelta(days=7)), {"poll_id": poll_id}))
    for user in rng.sample(users, max(0, min(len(users), count - len(rows)))):
        due = to_db(now + timedelta(seconds=rng.randint(3600, 30 * 24 * 3600)))
        rows.append((guild, "code-celebration", f"celebrate:{user}", due, {"user_id": user}))
    stamp = to_db(now)
    w.insert(
        "timers",
        "guild_id, kind, key, due_at, payload, created_at",
        [(g, kind, key, due, json.dumps(payload), stamp) for g, kind, key, due, payload in rows],
    )
    summary.timers = len(rows)


def main() -> None:
    import asyncio

    from bot.db import Database

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("out", type=Path)
    parser.add_argument("--members", type=int, default=Sizes.members)
    parser.add_argument("--points", type=int, default=Sizes.points_rows)
    parser.add_argument("--sales", type=int, default=Sizes.sales_rows)
    parser.add_argument("--timers", type=int, default=Sizes.timers)
    args = parser.parse_args()

    async def migrate() -> None:
        async with await Database.open(args.out) as db:
            await db.migrate()

    asyncio.run(migrate())
    summary = generate(args.out, Sizes(args.members, args.points, args.sales, args.timers), now=datetime.now(UTC))
    print({k: v for k, v in vars(summary).items() if k != "user_ids"})


if __name__ == "__main__":
    main()

"""The weekly digest: every registered section provider's news for one week, fitted into Discord's limits.

``build_digest`` asks each provider in ``digest_sections`` (plus the points and polls providers below) and
each weekly metric for the 8-week chart. ``fit_embed`` turns sections into one embed's worth of text that
is always within Discord's limits (6000 characters, 25 fields, 1024 per field) however large the program:
each section keeps its most important lines, the rest is summarised as "… and N more".
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import to_db
from bot.db import Database, Transaction
from bot.periods import weekly
from bot.services.digest import sections as digest_sections
from bot.services.digest.sections import DigestSection, DigestWindow
from bot.services.polls.polls import results as poll_results
from bot.services.program.guild_settings import GuildSettings
from bot.text import plural

log = logging.getLogger(__name__)

TOTAL_LIMIT, FIELDS_LIMIT, VALUE_LIMIT, NAME_LIMIT = 6000, 25, 1024, 256
TITLE_LIMIT, DESCRIPTION_LIMIT, FOOTER_LIMIT = 256, 4096, 2048
SAFETY = 50  # headroom for anything the Discord layer adds (it adds nothing today)
CHART_WEEKS = 8


@dataclass(frozen=True)
class Digest:
    guild_id: int
    window: DigestWindow
    public: list[DigestSection]
    moderators: list[DigestSection]
    weeks: list[str]  # chart labels, oldest first (local date each week starts)
    metrics: list[tuple[str, list[int]]]  # (label, one value per week)


@dataclass(frozen=True)
class EmbedText:
    title: str
    description: str
    fields: list[tuple[str, str]]
    footer: str

    def __len__(self) -> int:
        return len(self.title) + len(self.description) + len(self.footer) + sum(len(n) + len(v) for n, v in self.fields)


def window_for(settings: GuildSettings, due_at: datetime) -> DigestWindow:
    """The week a digest due at ``due_at`` reports on: from the previous occurrence up to ``due_at``."""
    previous = weekly(due_at - timedelta(microseconds=1), settings.zone, settings.digest_weekday, settings.digest_time)
    return DigestWindow(previous.current.due_at, due_at, settings.zone)


def chart_windows(window: DigestWindow, weeks: int = CHART_WEEKS) -> list[DigestWindow]:
    span = window.end - window.start
    return [
        DigestWindow(window.end - span * (weeks - i), window.end - span * (weeks - 1 - i), window.zone)
        for i in range(weeks)
    ]


async def build_digest(db: Database, guild_id: int, window: DigestWindow) -> Digest:
    sections: list[DigestSection] = []
    for name, provider in sorted(digest_sections.section_providers().items()):
        try:
            sections.extend(await provider(db, guild_id, window))
        except Exception:
            # One broken capability must not cost the whole program its digest.
            log.exception("digest provider %r failed for guild %s", name, guild_id)
            sections.append(DigestSection(name, name.title(), ["(unavailable this week)"], "moderators", 999))
    weeks = chart_windows(window)
    metrics: list[tuple[str, list[int]]] = []
    for name, (label, metric) in sorted(digest_sections.metric_providers().items()):
        try:
            values = await metric(db, guild_id, weeks)
        except Exception:
            log.exception("digest metric %r failed for guild %s", name, guild_id)
            continue
        if len(values) == len(weeks):
            metrics.append((label, [int(v) for v in values]))
    sections.sort(key=lambda s: (s.order, s.key))
    return Digest(
        guild_id=guild_id,
        window=window,
        public=[s for s in sections if s.audience == "public"],
        moderators=[s for s in sections if s.audience == "moderators"],
        weeks=[w.start.astimezone(w.zone).strftime("%d %b") for w in weeks],
        metrics=metrics,
    )


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def _link_label(label: str) -> str:
    # Brackets would end the link text early; a long label would crowd out the section's lines.
    return _clip(label.replace("[", "(").replace("]", ")").strip() or "link", 40)


def _section_text(section: DigestSection, limit: int) -> str:
    """The section's lines, most important first, within ``limit`` characters; the rest counted."""
    lines = [line for line in section.lines if line.strip()] or ["Nothing this week."]
    links = " · ".join(f"[{_link_label(label)}]({url})" for label, url in section.highlights[:10])
    kept: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        remaining = len(lines) - index - 1
        more = f"\n… and {remaining} more" if remaining else ""
        candidate = _clip(line, max(limit - len(more) - 1, 1))
        if used + len(candidate) + (1 if kept else 0) + len(more) > limit:
            kept.append(f"… and {len(lines) - index} more")
            break
        kept.append(candidate)
        used += len(candidate) + (1 if len(kept) > 1 else 0)
    text = "\n".join(kept)
    if links and len(text) + len(links) + 14 <= limit:
        text += f"\nHighlights: {links}"
    return _clip(text, limit)


def _fair_cap(lengths: list[int], budget: int) -> int:
    """The largest per-field cap c with sum(min(length, c)) <= budget (water-filling)."""
    low, high = 0, max(lengths, default=0)
    while low < high:
        mid = (low + high + 1) // 2
        if sum(min(n, mid) for n in lengths) <= budget:
            low = mid
        else:
            high = mid - 1
    return low


def fit_embed(title: str, description: str, sections: list[DigestSection], footer: str) -> EmbedText:
    """One embed's text for ``sections``, always within Discord's limits."""
    title, footer = _clip(title, TITLE_LIMIT), _clip(footer, FOOTER_LIMIT)
    description = _clip(description, 1000)
    shown = sections[: FIELDS_LIMIT - 1] if len(sections) > FIELDS_LIMIT else sections
    hidden = sections[len(shown) :]
    names = [_clip(s.title, 100) for s in shown]
    extra: list[tuple[str, str]] = []
    if hidden:
        extra = [("More this week", _clip(", ".join(s.title for s in hidden), 300))]
    budget = TOTAL_LIMIT - SAFETY - len(title) - len(description) - len(footer)
    budget -= sum(len(n) for n in names) + sum(len(n) + len(v) for n, v in extra)
    full = [_section_text(s, VALUE_LIMIT) for s in shown]
    cap = _fair_cap([len(text) for text in full], max(budget, 0))
    values = [text if len(text) <= cap else _section_text(s, max(cap, 1)) for s, text in zip(shown, full, strict=True)]
    return EmbedText(title, description, [*zip(names, values, strict=True), *extra], footer)


def summary_line(digest: Digest) -> str:
    """The days the digest covers. A week posted Monday 09:00 ends with Sunday: naming the Monday too read as
    an eight-day week running into the next one."""
    start = digest.window.start.astimezone(digest.window.zone)
    last_day = digest.window.end.astimezone(digest.window.zone) - timedelta(days=1)
    if last_day.date() <= start.date():
        return f"{start:%a %d %b %Y}."
    return f"The week of {start:%a %d %b} – {last_day:%a %d %b %Y}."


def public_text(digest: Digest, marker: str) -> EmbedText:
    return fit_embed("📬 This week in the program", summary_line(digest), digest.public, marker)


def moderator_text(digest: Digest, marker: str) -> EmbedText:
    return fit_embed("🛡️ For moderators this week", summary_line(digest), digest.moderators, marker)


async def claim_week(tx: Transaction, guild_id: int, settings: GuildSettings, now: datetime) -> tuple[str, bool]:
    """For ``/digest post``: claim this calendar week's digest period so the automatic one won't post again.

    Returns (period key, claimed). ``claimed`` is False when this week's digest was already posted or
    claimed; the manual post is then an extra one.
    """
    window = weekly(now, settings.zone, settings.digest_weekday, settings.digest_time)
    this_week = now.astimezone(settings.zone).isocalendar()
    week_key = f"{this_week[0]}-W{this_week[1]:02d}"
    period = window.current if window.current.key == week_key else window.following
    changed = await tx.execute(
        """INSERT INTO job_runs (guild_id, job, period_key, due_at, status, attempts, claimed_at, result)
           VALUES (?, 'digest', ?, ?, 'claimed', 1, ?, 'manual') ON CONFLICT (guild_id, job, period_key) DO NOTHING""",
        (guild_id, period.key, to_db(period.due_at), to_db(now)),
    )
    return period.key, changed == 1


async def finish_claim(tx: Transaction, guild_id: int, period_key: str, now: datetime, ok: bool) -> None:
    """Mark a manual claim done, or release it (the automatic run will then post) when posting failed."""
    if ok:
        await tx.execute(
            "UPDATE job_runs SET status = 'done', finished_at = ?"
            " WHERE guild_id = ? AND job = 'digest' AND period_key = ?",
            (to_db(now), guild_id, period_key),
        )
    else:
        await tx.execute(
            "DELETE FROM job_runs WHERE guild_id = ? AND job = 'digest' AND period_key = ? AND result = 'manual'",
            (guild_id, period_key),
        )


# -- this capability's own providers: points (top 5, biggest movers) and polls ---------------------------


_EARNED = """SELECT l.user_id, SUM(l.points) AS earned, MAX(l.created_at) AS last_at
    FROM points_ledger l INDEXED BY points_by_time_covering
    WHERE l.guild_id = :g AND l.created_at >= :start AND l.created_at < :end GROUP BY l.user_id"""

# The week's top 5 by points earned, and the movers: all-time rank at the end of the week against the rank at
# its start, both ranked in SQL (ties by user id) from the running totals less what came after the week and
# what came during it. One statement, so the week's earnings are summed once for both.
_TOP_AND_CLIMBS = f"""WITH earned AS MATERIALIZED ({_EARNED}),
    later AS (SELECT user_id, SUM(points) AS p FROM points_ledger INDEXED BY points_by_time_covering
              WHERE guild_id = :g AND created_at >= :end GROUP BY user_id),
    standing AS (
        SELECT t.user_id, t.points - COALESCE(later.p, 0) AS at_end,
               t.points - COALESCE(later.p, 0) - COALESCE(earned.earned, 0) AS at_start
        FROM points_totals t JOIN members m ON m.guild_id = t.guild_id AND m.user_id = t.user_id
        LEFT JOIN later ON later.user_id = t.user_id LEFT JOIN earned ON earned.user_id = t.user_id
        WHERE t.guild_id = :g AND m.status = 'active'),
    ranked AS (
        SELECT user_id, ROW_NUMBER() OVER (ORDER BY at_end DESC, user_id) AS end_rank,
               ROW_NUMBER() OVER (ORDER BY at_start DESC, user_id) AS start_rank
        FROM standing)
    SELECT * FROM (
        SELECT 'top' AS kind, ROW_NUMBER() OVER (ORDER BY e.earned DESC, e.last_at, e.user_id) AS pos,
               e.earned AS amount, CAST(NULL AS BIGINT) AS end_rank, m.display_name FROM earned e
        JOIN members m ON m.guild_id = :g AND m.user_id = e.user_id
        WHERE m.status = 'active' ORDER BY e.earned DESC, e.last_at, e.user_id LIMIT 5) AS top
    UNION ALL
    SELECT * FROM (
        SELECT 'climb', ROW_NUMBER() OVER (ORDER BY r.start_rank - r.end_rank DESC, r.user_id),
               r.start_rank - r.end_rank, r.end_rank, m.display_name
        FROM ranked r JOIN earned e ON e.user_id = r.user_id
        JOIN members m ON m.guild_id = :g AND m.user_id = r.user_id
        WHERE r.start_rank > r.end_rank ORDER BY r.start_rank - r.end_rank DESC, r.user_id LIMIT 3) AS climbs
    ORDER BY kind DESC, pos"""


@digest_sections.section_provider("points")
async def points_section(db: Database, guild_id: int, window: DigestWindow) -> list[DigestSection]:
    rows = await db.fetchall(_TOP_AND_CLIMBS, {"g": guild_id, "start": to_db(window.start), "end": to_db(window.end)})
    top = [row for row in rows if row["kind"] == "top"]
    if not top:
        return [DigestSection("points", "🏆 Points", ["No points were earned this week."], order=20)]
    medals = ["🥇", "🥈", "🥉", "4.", "5."]
    lines = [
        f"{medal} **{row['display_name']}** — {int(row['amount']):,} pts"
        for medal, row in zip(medals, top, strict=False)
    ]
    movers = [
        f"📈 **{row['display_name']}** climbed {plural(row['amount'], 'place')} to #{row['end_rank']}"
        for row in rows
        if row["kind"] == "climb"
    ]
    # Announce the movers only in a week that has some.
    title = "🏆 Points: top 5 and biggest movers" if movers else "🏆 Points: top 5"
    return [DigestSection("points", title, lines + movers, order=20)]


@digest_sections.weekly_metric("points", "Points earned")
async def points_metric(db: Database, guild_id: int, windows: list[DigestWindow]) -> list[int]:
    values = []
    for window in windows:
        value = await db.fetchval(
            "SELECT COALESCE(SUM(points), 0) FROM points_ledger INDEXED BY points_by_time_covering"
            " WHERE guild_id = ? AND created_at >= ?"
            " AND created_at < ? AND points > 0",
            (guild_id, to_db(window.start), to_db(window.end)),
        )
        values.append(int(value))
    return values


@digest_sections.section_provider("polls")
async def polls_section(db: Database, guild_id: int, window: DigestWindow) -> list[DigestSection]:
    rows = await db.fetchall(
        "SELECT id FROM polls WHERE guild_id = ? AND closed_at >= ? AND closed_at < ? ORDER BY closed_at",
        (guild_id, to_db(window.start), to_db(window.end)),
    )
    open_now = int(await db.fetchval("SELECT COUNT(*) FROM polls WHERE guild_id = ? AND status = 'open'", (guild_id,)))
    if not rows and not open_now:
        return []
    lines: list[str] = []
    links: list[tuple[str, str]] = []
    for row in rows[:10]:
        outcome = await poll_results(db, int(row["id"]))
        winners = " / ".join(outcome.winners) or "no votes"
        lines.append(f"**{outcome.poll.question}** → {winners} ({outcome.voters} voted)")
        if outcome.poll.results_url:
            links.append((f"Results: {outcome.poll.question}", outcome.poll.results_url))
    if len(rows) > 10:
        lines.append(f"… and {len(rows) - 10} more closed polls")
    if open_now:
        lines.append(f"🗳️ {plural(open_now, 'poll')} open now — vote in the focus-group channel.")
    return [DigestSection("polls", "🗳️ Focus-group polls", lines, order=60, highlights=links)]

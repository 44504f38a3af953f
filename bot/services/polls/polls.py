"""Focus-group polls: create, vote (and change the vote until the poll closes), close, results and CSV.

Who may vote: active ambassadors, optionally only one tier, optionally only named members (``voter_ids``,
e.g. an event's attendees). One vote row per member and poll; changing a vote rewrites it. Voting earns
the program's poll points once per member and poll (the ledger reference makes it exactly once).
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import from_db, to_db
from bot.db import Database, Transaction
from bot.errors import Conflict, InvalidInput, NotAllowed, NotFound
from bot.services.engagement import points
from bot.services.inputs.typed_text import refuse_nul
from bot.services.program import audit, tiers
from bot.services.program.members import Member, ambassador_or_refuse, find_member, member_from_row
from bot.storage.dialect import json_array_items
from bot.storage.statements import Row, Statements
from bot.unit_of_work import TimerKind

CLOSE = TimerKind("poll_close", "a poll's results")  # payload: {"poll_id": …}
CREATED = "poll.created"  # outbox: publish it (focus-group channel, or DMs to invited voters)

MIN_OPTIONS, MAX_OPTIONS = 2, 10
MAX_QUESTION, MAX_OPTION, MAX_PROMPT, MAX_COMMENT = 300, 80, 45, 1000
MAX_DURATION = timedelta(days=90)
MIN_DURATION = timedelta(minutes=1)


@dataclass(frozen=True)
class Poll:
    id: int
    guild_id: int
    question: str
    options: list[str]
    anonymous: bool
    multiple: bool
    comment_prompt: str | None
    tier: str | None
    restricted: bool
    status: str
    closes_at: datetime
    created_by: int | None
    closed_at: datetime | None
    channel_id: int | None
    message_id: int | None
    results_url: str | None

    @property
    def is_open(self) -> bool:
        return self.status == "open"


@dataclass(frozen=True)
class VoteOutcome:
    choices: list[str]
    changed: bool  # True when this replaced an earlier vote
    points_awarded: int


@dataclass(frozen=True)
class OptionResult:
    label: str
    votes: int
    percent: int  # of voters (multiple choice can add up to more than 100)


@dataclass(frozen=True)
class PollResults:
    poll: Poll
    voters: int
    options: list[OptionResult]
    by_tier: dict[str, list[int]]  # tier (or "no tier") -> votes per option
    comments: int

    @property
    def winners(self) -> list[str]:
        top = max((o.votes for o in self.options), default=0)
        return [o.label for o in self.options if o.votes == top and top > 0]


_DURATION = re.compile(r"(\d+)\s*([mhdw])")
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


def parse_duration(text: str) -> timedelta:
    """'30m', '2h', '3d', '1w' or combinations such as '1d12h'."""
    compact = text.strip().lower().replace(" ", "")
    parts = _DURATION.findall(compact)
    if not compact or not parts or "".join(n + u for n, u in parts) != compact:
        raise InvalidInput("Give a duration such as `30m`, `2h`, `3d`, `1w` or `1d12h`.")
    # Over 6 digits, or over 4 parts, is beyond 90 days anyway (and could overflow timedelta).
    if len(parts) > 4 or any(len(n.lstrip("0")) > 6 for n, _ in parts):
        raise InvalidInput("A poll must stay open between 1 minute and 90 days.")
    total = sum((int(n.lstrip("0") or "0") * _UNITS[u] for n, u in parts), timedelta())
    if not MIN_DURATION <= total <= MAX_DURATION:
        raise InvalidInput("A poll must stay open between 1 minute and 90 days.")
    return total


def _clean_text(value: str, what: str, limit: int) -> str:
    text = " ".join(value.split())
    if not text:
        raise InvalidInput(f"The {what} can't be empty.")
    refuse_nul(what, text)
    if len(text) > limit:
        raise InvalidInput(f"The {what} is {len(text)} characters; keep it to {limit}.")
    return text


def validate_options(options: list[str]) -> list[str]:
    cleaned = [_clean_text(option, "option", MAX_OPTION) for option in options if option.strip()]
    if not MIN_OPTIONS <= len(cleaned) <= MAX_OPTIONS:
        raise InvalidInput(f"A poll needs {MIN_OPTIONS}–{MAX_OPTIONS} options; you gave {len(cleaned)}.")
    if len({option.casefold() for option in cleaned}) != len(cleaned):
        raise InvalidInput("Two options are the same; make each option different.")
    return cleaned


async def create_poll(
    tx: Transaction,
    guild_id: int,
    *,
    question: str,
    options: list[str],
    closes_at: datetime,
    anonymous: bool = True,
    multiple: bool = False,
    comment_prompt: str | None = None,
    tier: str | None = None,
    voter_ids: list[int] | None = None,
    created_by: int | None,
    now: datetime,
) -> int:
    """Store a new open poll with its close timer; after commit the ``poll.created`` subscriber publishes it."""
    question = _clean_text(question, "question", MAX_QUESTION)
    labels = validate_options(options)
    if closes_at - now < MIN_DURATION or closes_at - now > MAX_DURATION:
        raise InvalidInput("A poll must stay open between 1 minute and 90 days.")
    prompt = _clean_text(comment_prompt, "comment prompt", MAX_PROMPT) if comment_prompt is not None else None
    if tier is not None:
        known = await tx.fetchval("SELECT 1 FROM tiers WHERE guild_id = ? AND key = ?", (guild_id, tier))
        if known is None:
            raise InvalidInput(f"There is no tier called `{tier[:24]}` in this program.")
    if voter_ids is not None and not voter_ids:
        raise InvalidInput("A poll restricted to named voters needs at least one voter.")
    new_id = await tx.insert(
        """INSERT INTO polls (guild_id, question, anonymous, multiple, comment_prompt, tier, restricted,
               closes_at, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (
            guild_id,
            question,
            int(anonymous),
            int(multiple),
            prompt,
            tier,
            int(voter_ids is not None),
            to_db(closes_at),
            created_by,
            to_db(now),
        ),
    )
    poll_id = new_id
    assert poll_id is not None
    await tx.executemany(
        "INSERT INTO poll_options (guild_id, poll_id, position, label) VALUES (?, ?, ?, ?)",
        [(guild_id, poll_id, position, label) for position, label in enumerate(labels)],
    )
    if voter_ids is not None:
        await tx.executemany(
            "INSERT INTO poll_voters (guild_id, poll_id, user_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            [(guild_id, poll_id, user_id) for user_id in voter_ids],
        )
    await tx.schedule(guild_id, CLOSE, f"poll:{poll_id}", closes_at, now, {"poll_id": poll_id})
    await tx.emit(guild_id, CREATED, now, {"poll_id": poll_id}, key=str(poll_id))
    await audit.record(tx, guild_id, created_by, "poll.create", None, now, poll_id=poll_id, question=question)
    return int(poll_id)


def _poll(row: Row, options: list[str]) -> Poll:
    return Poll(
        id=row["id"],
        guild_id=row["guild_id"],
        question=row["question"],
        options=options,
        anonymous=bool(row["anonymous"]),
        multiple=bool(row["multiple"]),
        comment_prompt=row["comment_prompt"],
        tier=row["tier"],
        restricted=bool(row["restricted"]),
        status=row["status"],
        closes_at=from_db(row["closes_at"]),
        created_by=row["created_by"],
        closed_at=from_db(row["closed_at"]) if row["closed_at"] else None,
        channel_id=row["channel_id"],
        message_id=row["message_id"],
        results_url=row["results_url"],
    )


_POLL = "SELECT * FROM polls WHERE id = ?"
_OPTIONS = "SELECT label FROM poll_options WHERE poll_id = ? ORDER BY position"
_INVITED = "SELECT 1 FROM poll_voters WHERE poll_id = ? AND user_id = ?"


def _poll_or_refuse(row: Row | None, options: list[Row], guild_id: int | None) -> Poll:
    if row is None or (guild_id is not None and row["guild_id"] != guild_id):
        raise NotFound("That poll doesn't exist in this server.")
    return _poll(row, [option["label"] for option in options])


async def get_poll(db: Database | Transaction, poll_id: int, guild_id: int | None = None) -> Poll:
    """The poll; ``guild_id`` (when known) makes sure it belongs to that server."""
    row = await db.fetchone(_POLL, (poll_id,))
    return _poll_or_refuse(row, [] if row is None else await db.fetchall(_OPTIONS, (poll_id,)), guild_id)


async def list_polls(db: Database, guild_id: int, *, status: str | None = None, limit: int = 25) -> list[Poll]:
    rows = await db.fetchall(
        "SELECT id FROM polls WHERE guild_id = ? AND (CAST(? AS TEXT) IS NULL OR status = ?) ORDER BY id DESC LIMIT ?",
        (guild_id, status, status, limit),
    )
    return [await get_poll(db, row["id"]) for row in rows]


async def voter_ids(db: Database, poll_id: int) -> list[int]:
    rows = await db.fetchall("SELECT user_id FROM poll_voters WHERE poll_id = ? ORDER BY user_id", (poll_id,))
    return [int(row["user_id"]) for row in rows]


async def set_posted(tx: Transaction, poll_id: int, channel_id: int | None, message_id: int | None) -> None:
    await tx.execute("UPDATE polls SET channel_id = ?, message_id = ? WHERE id = ?", (channel_id, message_id, poll_id))


async def set_results_url(tx: Transaction, poll_id: int, url: str) -> None:
    await tx.execute("UPDATE polls SET results_url = ? WHERE id = ?", (url, poll_id))


async def current_vote(db: Database, poll_id: int, user_id: int) -> tuple[list[int], str | None] | None:
    row = await db.fetchone(
        "SELECT choices, comment FROM poll_votes WHERE poll_id = ? AND user_id = ?", (poll_id, user_id)
    )
    return None if row is None else (list(json.loads(row["choices"])), row["comment"])


async def check_can_vote(db: Database | Transaction, poll: Poll, user_id: int, now: datetime) -> Member:
    """The voter, if they may vote on ``poll`` now; a clear refusal otherwise."""
    member = await find_member(db, poll.guild_id, user_id)
    invited = poll.restricted and await db.fetchval(_INVITED, (poll.id, user_id)) is not None
    return admit_voter(poll, member, invited=invited, now=now)


def admit_voter(poll: Poll, member: Member | None, *, invited: bool, now: datetime) -> Member:
    """The voter, if they may vote on ``poll`` now; a clear refusal otherwise."""
    if not poll.is_open or now >= poll.closes_at:
        raise Conflict("This poll has closed; votes are no longer taken.")
    voter = ambassador_or_refuse(member)
    tiers.require(poll.tier, voter.tier, "This poll")
    if poll.restricted and not invited:
        raise NotAllowed("This poll is only for the members it was sent to.")
    return voter


async def vote(
    db: Database,
    poll_id: int,
    user_id: int,
    choices: list[int],
    *,
    now: datetime,
    points_per_vote: int,
    comment: str | None = None,
    guild_id: int | None = None,
) -> VoteOutcome:
    """Record (or change) a member's vote. Refuses non-ambassadors, other tiers and closed polls.

    One transaction run as a single pass in the writer's thread: a poll gets hundreds of votes within a
    second, and each await inside the writer lock would wait its turn on an event loop busy with the burst. On
    PostgreSQL the votes run side by side instead (``alongside``): each member's vote is an upsert of their own
    row, the points an insert keyed by the vote, so concurrent ballots never step on each other."""
    ballot = _Ballot(poll_id, user_id, choices, now, points_per_vote, comment, guild_id)
    return await db.run_transaction(ballot.record, alongside=True)


@dataclass(frozen=True)
class _Ballot:
    poll_id: int
    user_id: int
    choices: list[int]
    now: datetime
    points_per_vote: int
    comment: str | None
    guild_id: int | None

    async def record(self, sql: Statements) -> VoteOutcome:
        """Batch work inside the caller's transaction: SQL only (on SQLite, all in the writer's thread)."""
        row = await sql.fetchone(_POLL, (self.poll_id,))
        poll = _poll_or_refuse(row, [] if row is None else await sql.fetchall(_OPTIONS, (self.poll_id,)), self.guild_id)
        found = await sql.fetchone(
            "SELECT * FROM members WHERE guild_id = ? AND user_id = ?", (poll.guild_id, self.user_id)
        )
        invited = poll.restricted and await sql.fetchone(_INVITED, (poll.id, self.user_id)) is not None
        voter = None if found is None else member_from_row(found)
        member = admit_voter(poll, voter, invited=invited, now=self.now)
        picked = sorted(set(self.choices))
        if not picked or any(not 0 <= choice < len(poll.options) for choice in picked):
            raise InvalidInput("Pick one of the poll's options.")
        if len(picked) > 1 and not poll.multiple:
            raise InvalidInput("This poll takes one choice.")
        text = self.comment.strip() if self.comment else None
        if text and len(text) > MAX_COMMENT:
            raise InvalidInput(f"Your comment is {len(text)} characters; keep it to {MAX_COMMENT}.")
        if text and poll.comment_prompt is None:
            text = None  # comments were not invited; ignore rather than store something nobody asked for
        existing = await sql.fetchone(
            "SELECT 1 FROM poll_votes WHERE poll_id = ? AND user_id = ?", (poll.id, self.user_id)
        )
        at = to_db(self.now)
        await sql.execute(
            """INSERT INTO poll_votes (poll_id, guild_id, user_id, choices, comment, tier, voted_at, changed_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (poll_id, user_id) DO UPDATE SET choices = excluded.choices, comment = excluded.comment,
                   tier = excluded.tier, changed_at = excluded.changed_at""",
            (poll.id, poll.guild_id, self.user_id, json.dumps(picked), text or None, member.tier, at, at),
        )
        awarded = 0
        if self.points_per_vote > 0:
            reference = f"poll:{poll.id}:{self.user_id}"
            award = (poll.guild_id, self.user_id, self.points_per_vote, "poll", reference, None, at, None)
            awarded = self.points_per_vote if await sql.execute(points.AWARD_SQL, award) == 1 else 0
        return VoteOutcome([poll.options[i] for i in picked], existing is not None, awarded)


async def close_poll(
    tx: Transaction, poll_id: int, *, now: datetime, closed_by: int | None, guild_id: int | None = None
) -> bool:
    """Close an open poll; its close timer (moved to ``now`` for an early close) posts the results after commit.
    Returns False when it was already closed."""
    poll = await get_poll(tx, poll_id, guild_id)
    changed = await tx.execute(
        "UPDATE polls SET status = 'closed', closed_at = ?, closed_by = ? WHERE id = ? AND status = 'open'",
        (to_db(now), closed_by, poll_id),
    )
    if changed != 1:
        return False
    # The close timer posts the results (retried, and moderators told of a refusal): due now when closed early.
    await tx.schedule(poll.guild_id, CLOSE, f"poll:{poll_id}", now, now, {"poll_id": poll_id}, move_pending=True)
    if closed_by is not None:  # a moderator closed it early; the timer's own close is no one's action
        await audit.record(tx, poll.guild_id, closed_by, "poll.close", None, now, poll_id=poll_id)
    return True


async def results(db: Database, poll_id: int, guild_id: int | None = None) -> PollResults:
    poll = await get_poll(db, poll_id, guild_id)
    # Counted by the database (each vote's JSON choices as rows): a focus group of thousands is thousands of
    # rows, and the weekly digest asks for every poll closed that week.
    choices = json_array_items(db, "v.choices", "j")
    tallies = await db.fetchall(
        f"""SELECT COALESCE(NULLIF(v.tier, ''), 'no tier') AS tier, CAST(j.value AS INTEGER) AS choice, COUNT(*) AS n
           FROM poll_votes v, {choices} WHERE v.poll_id = ? GROUP BY 1, 2""",
        (poll_id,),
    )
    totals = await db.fetchone(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN comment IS NOT NULL AND comment <> '' THEN 1 ELSE 0 END), 0)"
        " FROM poll_votes WHERE poll_id = ?",
        (poll_id,),
    )
    assert totals is not None
    voters, comments = int(totals[0]), int(totals[1])
    counts = [0] * len(poll.options)
    by_tier: dict[str, list[int]] = {}
    for row in tallies:
        tier_counts = by_tier.setdefault(row["tier"], [0] * len(poll.options))
        counts[row["choice"]] += row["n"]
        tier_counts[row["choice"]] += row["n"]
    options = [
        OptionResult(label, count, round(count * 100 / voters) if voters else 0)
        for label, count in zip(poll.options, counts, strict=True)
    ]
    return PollResults(poll, voters, options, dict(sorted(by_tier.items())), comments)


def _cell(value: str) -> str:
    # Spreadsheet apps run cells that start with these as formulas; a leading apostrophe keeps them text.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


async def votes_csv(db: Database, poll_id: int, guild_id: int | None = None) -> str:
    """Every vote and comment. Anonymous polls withhold names, ids and times (and are not in voting order)."""
    poll = await get_poll(db, poll_id, guild_id)
    rows = await db.fetchall(
        """SELECT v.user_id, v.choices, v.comment, v.tier, v.voted_at, v.changed_at, m.display_name
           FROM poll_votes v LEFT JOIN members m ON m.guild_id = v.guild_id AND m.user_id = v.user_id
           WHERE v.poll_id = ? ORDER BY v.voted_at, v.user_id""",
        (poll_id,),
    )
    out = io.StringIO()
    writer = csv.writer(out)
    if poll.anonymous:
        writer.writerow(["voter", "tier", "choices", "comment"])
        records = sorted(rows, key=lambda r: (r["choices"], r["comment"] or "", r["tier"] or ""))
        for number, row in enumerate(records, start=1):
            labels = "; ".join(poll.options[i] for i in json.loads(row["choices"]))
            writer.writerow([f"voter {number}", row["tier"] or "", _cell(labels), _cell(row["comment"] or "")])
    else:
        writer.writerow(["user_id", "name", "tier", "choices", "comment", "voted_at", "changed_at"])
        for row in rows:
            labels = "; ".join(poll.options[i] for i in json.loads(row["choices"]))
            writer.writerow(
                [
                    str(row["user_id"]),
                    _cell(row["display_name"] or ""),
                    row["tier"] or "",
                    _cell(labels),
                    _cell(row["comment"] or ""),
                    row["voted_at"],
                    row["changed_at"],
                ]
            )
    return out.getvalue()

"""A follow-up poll for the people who came to an event, through the polls capability's interface."""

from __future__ import annotations

from datetime import datetime

from bot.db import Transaction
from bot.errors import Conflict, InvalidInput
from bot.services.events.attendance import attendee_ids
from bot.services.events.events import get_event
from bot.services.polls import polls


async def create_followup_poll(
    tx: Transaction,
    guild_id: int,
    event_id: int,
    *,
    question: str,
    options: list[str],
    duration: str,
    created_by: int,
    now: datetime,
) -> tuple[int, int]:
    """(poll id, number of attendees who may vote). The caller dispatches ``poll_publish`` after this."""
    event = await get_event(tx, guild_id, event_id)
    if event.status == "cancelled":
        raise Conflict("That event was cancelled; there's nobody to ask.")
    if now < event.starts_at:
        raise InvalidInput("That event hasn't started yet; ask its attendees once they've come.")
    closes_at = now + polls.parse_duration(duration)
    voters = await attendee_ids(tx, event_id)
    if not voters:
        raise InvalidInput(f"Nobody has checked in to **{event.title}** yet, so there's nobody to ask.")
    poll_id = await polls.create_poll(
        tx,
        guild_id,
        question=question,
        options=options,
        closes_at=closes_at,
        voter_ids=voters,
        created_by=created_by,
        now=now,
    )
    return poll_id, len(voters)

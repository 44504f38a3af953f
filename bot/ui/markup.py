"""Discord markup in one place: mentions, timestamps, message links — and the renderer of the neutral references
services write (``bot/references.py``)."""

from __future__ import annotations

import re
from datetime import datetime

_REFERENCE = re.compile(r"\{(member):(\d{1,20})\}|\{(time):(-?\d{1,12}):([dDtTfFR])\}|\{(message):(\d+):(\d+):(\d+)\}")


def mention(user_id: int) -> str:
    return f"<@{int(user_id)}>"


def role_mention(role_id: int) -> str:
    return f"<@&{int(role_id)}>"


def channel_mention(channel_id: int) -> str:
    return f"<#{int(channel_id)}>"


def timestamp(when: datetime, style: str = "f") -> str:
    """A Discord timestamp: each reader sees it in their own language and time zone."""
    return f"<t:{int(when.timestamp())}:{style}>"


def message_url(guild_id: int, channel_id: int, message_id: int) -> str:
    return f"https://discord.com/channels/{guild_id}/{channel_id}/{message_id}"


def _one(match: re.Match[str]) -> str:
    if match.group(1):
        return f"<@{match.group(2)}>"
    if match.group(3):
        return f"<t:{match.group(4)}:{match.group(5)}>"
    return message_url(int(match.group(7)), int(match.group(8)), int(match.group(9)))


def render(text: str) -> str:
    """Text from a service with its references turned into Discord markup."""
    return _REFERENCE.sub(_one, text)

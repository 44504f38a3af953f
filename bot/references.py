"""Neutral references to Discord things, for text that services write.

Services describe; the Discord layer renders. A service that names a member, a moment or a posted message in a
message it returns (an error, a digest line) writes a reference — ``member(42)`` is ``{member:42}`` — and
``bot/ui/markup.render`` turns it into Discord markup (a mention, a timestamp every reader sees in their own time
zone, a message link) at the edge, where every member-facing text is sent. Services never write Discord markup
themselves (a test reads them to make sure).
"""

from __future__ import annotations

from datetime import datetime


def member(user_id: int) -> str:
    return f"{{member:{int(user_id)}}}"


def moment(when: datetime, style: str = "f") -> str:
    """``style`` as Discord's timestamp styles: d, D, t, T, f, F, R."""
    return f"{{time:{int(when.timestamp())}:{style}}}"


def message(guild_id: int, channel_id: int, message_id: int) -> str:
    return f"{{message:{int(guild_id)}:{int(channel_id)}:{int(message_id)}}}"

"""What the emulator remembers about each interaction it dispatched, so tokens and replies can be checked."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]

# Interaction types and callback types (Discord's numbering).
APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 2, 3, 4, 5
CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE_MESSAGE, UPDATE_MESSAGE = 4, 5, 6, 7
AUTOCOMPLETE_RESULT, MODAL = 8, 9


@dataclass
class InteractionRecord:
    id: int
    token: str
    type: int
    guild_id: int | None
    channel_id: int
    user_id: int
    created_at: float  # loop time, for the 3 s / 15 min windows
    label: str  # what the test did, for error messages ("/codes set", "click review:approve")
    payload: JSON
    source_message_id: int | None = None  # the message a component lives on
    response_type: int | None = None
    response_data: JSON | None = None
    original_message_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)
    original_edits: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def notify(self) -> None:
        """Wake up anything waiting on this interaction; they re-check what they need."""
        self.changed.set()
        self.changed = asyncio.Event()

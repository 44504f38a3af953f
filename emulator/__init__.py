"""A local Discord (REST API v10 + gateway) for end-to-end tests and the offline demo."""

from emulator.driver import Actor, Reply
from emulator.faults import FaultRule, Faults
from emulator.models import Attachment, Channel, Guild, Member, Message, Role, ScheduledEvent, User
from emulator.server import Emulator, RequestRecord
from emulator.state import State

__all__ = [
    "Actor",
    "Attachment",
    "Channel",
    "Emulator",
    "FaultRule",
    "Faults",
    "Guild",
    "Member",
    "Message",
    "Reply",
    "RequestRecord",
    "Role",
    "ScheduledEvent",
    "State",
    "User",
]

"""Discord's response conventions: exact JSON content type and the `{code, message}` error shape."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

# Error codes the emulator answers with (Discord's numbering).
UNKNOWN_CHANNEL = 10003
UNKNOWN_GUILD = 10004
UNKNOWN_MEMBER = 10007
UNKNOWN_MESSAGE = 10008
UNKNOWN_ROLE = 10011
UNKNOWN_USER = 10013
UNKNOWN_WEBHOOK = 10015
UNKNOWN_INTERACTION = 10062
UNKNOWN_COMMAND = 10063
UNKNOWN_EVENT = 10070
CANNOT_EDIT_OTHERS_MESSAGE = 50005
CANNOT_SEND_EMPTY = 50006
CANNOT_DM_USER = 50007
MISSING_PERMISSIONS = 50013
INVALID_FORM_BODY = 50035
ALREADY_ACKNOWLEDGED = 40060

_MESSAGES = {
    UNKNOWN_CHANNEL: "Unknown Channel",
    UNKNOWN_GUILD: "Unknown Guild",
    UNKNOWN_MEMBER: "Unknown Member",
    UNKNOWN_MESSAGE: "Unknown Message",
    UNKNOWN_ROLE: "Unknown Role",
    UNKNOWN_USER: "Unknown User",
    UNKNOWN_WEBHOOK: "Unknown Webhook",
    UNKNOWN_INTERACTION: "Unknown interaction",
    UNKNOWN_COMMAND: "Unknown application command",
    UNKNOWN_EVENT: "Unknown Guild Scheduled Event",
    CANNOT_EDIT_OTHERS_MESSAGE: "Cannot edit a message authored by another user",
    CANNOT_SEND_EMPTY: "Cannot send an empty message",
    CANNOT_DM_USER: "Cannot send messages to this user",
    MISSING_PERMISSIONS: "Missing Permissions",
    INVALID_FORM_BODY: "Invalid Form Body",
    ALREADY_ACKNOWLEDGED: "Interaction has already been acknowledged.",
}

_STATUS = {
    CANNOT_DM_USER: 403,
    MISSING_PERMISSIONS: 403,
    CANNOT_EDIT_OTHERS_MESSAGE: 403,
}


class DiscordError(Exception):
    """Raised by handlers; the middleware turns it into Discord's error response."""

    def __init__(
        self, code: int, message: str | None = None, status: int | None = None, errors: dict[str, Any] | None = None
    ) -> None:
        self.code = code
        self.message = message or _MESSAGES.get(code, "Error")
        if status is None:
            status = 404 if 10000 <= code < 20000 else _STATUS.get(code, 400)
        self.status = status
        self.errors = errors
        super().__init__(f"{self.status} {self.code} {self.message}")

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors is not None:
            body["errors"] = self.errors
        return body


def missing_permissions() -> DiscordError:
    return DiscordError(MISSING_PERMISSIONS)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """JSON with `Content-Type: application/json` and no charset: discord.py compares the header exactly."""
    return web.Response(body=json.dumps(data).encode(), status=status, content_type="application/json", headers=headers)


def no_content() -> web.Response:
    return web.Response(status=204)

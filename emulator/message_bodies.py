"""Turning a create/edit message body (JSON or multipart) into a stored Message, shared by channels and webhooks."""

from __future__ import annotations

import re
from typing import Any

from emulator.models import EPHEMERAL_FLAG, LOADING_FLAG, Attachment, Message
from emulator.responses import CANNOT_SEND_EMPTY, DiscordError
from emulator.routing import UploadedFile
from emulator.snowflakes import iso_now
from emulator.state import State

JSON = dict[str, Any]

_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")


def _new_attachments(state: State, channel_id: int, body: JSON, files: list[UploadedFile]) -> list[Attachment]:
    """Files uploaded with this request; `attachments[].id` in the body refers to `files[id]`."""
    described = {str(a.get("id")): a for a in body.get("attachments") or [] if isinstance(a, dict)}
    stored = []
    for position, upload in enumerate(files):
        index = upload.index if upload.index is not None else position
        meta = described.get(str(index), {})
        stored.append(
            state.add_attachment(
                channel_id,
                meta.get("filename") or upload.filename,
                upload.data,
                upload.content_type,
                meta.get("description"),
            )
        )
    return stored


def fill_new_message(state: State, message: Message, body: JSON, files: list[UploadedFile]) -> None:
    message.content = str(body.get("content") or "")
    message.embeds = list(body.get("embeds") or [])
    message.components = list(body.get("components") or [])
    message.tts = bool(body.get("tts", False))
    message.flags |= int(body.get("flags") or 0)
    message.attachments = _new_attachments(state, message.channel_id, body, files)
    reference = body.get("message_reference")
    if isinstance(reference, dict) and reference.get("message_id"):
        message.message_reference = {
            "type": 0,
            "message_id": str(reference["message_id"]),
            "channel_id": str(reference.get("channel_id") or message.channel_id),
            **({"guild_id": str(message.guild_id)} if message.guild_id else {}),
        }
        message.type = 19
    _mentions(message)
    if not (
        message.content
        or message.embeds
        or message.components
        or message.attachments
        or body.get("sticker_ids")
        or body.get("poll")
    ):
        raise DiscordError(CANNOT_SEND_EMPTY)


def apply_edit(state: State, message: Message, body: JSON, files: list[UploadedFile]) -> None:
    """PATCH semantics: only fields present change; `attachments` lists the ones to keep plus new uploads."""
    if "content" in body:
        message.content = str(body["content"] or "")
    if "embeds" in body:
        message.embeds = list(body["embeds"] or [])
    if "components" in body:
        message.components = list(body["components"] or [])
    if "flags" in body and body["flags"] is not None:
        # Only SUPPRESS_EMBEDS can be toggled on edit; ephemeral stays what it was.
        message.flags = (message.flags & EPHEMERAL_FLAG) | (int(body["flags"]) & ~EPHEMERAL_FLAG)
    if "attachments" in body or files:
        keep_ids = {str(a.get("id")) for a in body.get("attachments") or [] if isinstance(a, dict)}
        kept = (
            [a for a in message.attachments if str(a.id) in keep_ids]
            if "attachments" in body
            else list(message.attachments)
        )
        message.attachments = kept + _new_attachments(state, message.channel_id, body, files)
    message.flags &= ~LOADING_FLAG
    message.edited_timestamp = iso_now()
    _mentions(message)


def _mentions(message: Message) -> None:
    message.mentions = [int(u) for u in _USER_MENTION.findall(message.content)]
    message.mention_roles = [int(r) for r in _ROLE_MENTION.findall(message.content)]

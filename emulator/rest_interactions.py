"""Interaction callbacks and the webhook endpoints for the original response and follow-ups.

Discord's rules are enforced: the first callback within `ack_timeout` of the dispatch, only
one initial callback (40060), follow-ups and edits for `followup_ttl` (15 minutes).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from aiohttp import web

from emulator import interactions as it
from emulator.interactions import InteractionRecord
from emulator.message_bodies import apply_edit, fill_new_message
from emulator.models import EPHEMERAL_FLAG, LOADING_FLAG, Message
from emulator.responses import (
    ALREADY_ACKNOWLEDGED,
    UNKNOWN_INTERACTION,
    UNKNOWN_MESSAGE,
    UNKNOWN_WEBHOOK,
    DiscordError,
    json_response,
    no_content,
)
from emulator.routing import body_of, emu_of, files_of, snowflake

if TYPE_CHECKING:
    from emulator.server import Emulator

routes = web.RouteTableDef()

JSON = dict[str, Any]


def _now() -> float:
    return asyncio.get_running_loop().time()


def _new_response_message(emu: Emulator, record: InteractionRecord, flags: int) -> Message:
    channel = emu.state.channel(record.channel_id)
    return Message(
        id=emu.state.ids.next(),
        channel_id=record.channel_id,
        author_id=emu.state.bot.id,
        guild_id=channel.guild_id,
        flags=flags,
        type=20 if record.type == it.APPLICATION_COMMAND else 0,
        webhook_id=emu.state.application_id,
        interaction_metadata={
            "id": str(record.id),
            "type": record.type,
            "user": emu.state.user(record.user_id).to_payload(),
            "authorizing_integration_owners": {"0": str(record.guild_id)} if record.guild_id else {},
        },
    )


def _store(emu: Emulator, message: Message) -> JSON:
    """Keep a new interaction message; ephemeral ones never reach the gateway, as on Discord."""
    emu.state.messages[message.id] = message
    payload = emu.state.message_payload(message)
    if not message.ephemeral:
        emu.state.channel(message.channel_id).last_message_id = message.id
        emu.dispatch("MESSAGE_CREATE", payload)
    return payload


@routes.post("/api/v10/interactions/{interaction_id}/{token}/callback")
async def callback(request: web.Request) -> web.Response:
    emu = emu_of(request)
    record = emu.state.interactions.get(snowflake(request, "interaction_id", UNKNOWN_INTERACTION))
    if record is None or record.token != request.match_info["token"]:
        raise DiscordError(UNKNOWN_INTERACTION)
    if record.response_type is not None:
        raise DiscordError(ALREADY_ACKNOWLEDGED)
    if emu.ack_timeout is not None and _now() - record.created_at > emu.ack_timeout:
        # Discord forgets an unanswered interaction after 3 s; the token stops working.
        raise DiscordError(UNKNOWN_INTERACTION)
    body = body_of(request)
    kind = int(body.get("type", 0))
    data: JSON = body.get("data") or {}
    message_payload: JSON | None = None
    if kind in (it.CHANNEL_MESSAGE, it.DEFERRED_CHANNEL_MESSAGE):
        flags = int(data.get("flags") or 0) & EPHEMERAL_FLAG
        message = _new_response_message(emu, record, flags)
        if kind == it.CHANNEL_MESSAGE:
            fill_new_message(emu.state, message, data, files_of(request))
        else:
            message.flags |= LOADING_FLAG
        record.original_message_id = message.id
        message_payload = _store(emu, message)
    elif kind in (it.DEFERRED_UPDATE_MESSAGE, it.UPDATE_MESSAGE):
        if record.source_message_id is None:
            raise DiscordError(40004, "Interaction has no message to update")
        record.original_message_id = record.source_message_id
        if kind == it.UPDATE_MESSAGE:
            message = emu.state.message(record.source_message_id)
            apply_edit(emu.state, message, data, files_of(request))
            message_payload = emu.state.message_payload(message)
            if not message.ephemeral:
                emu.dispatch("MESSAGE_UPDATE", message_payload)
    elif kind == it.MODAL:
        if record.type in (it.MODAL_SUBMIT, it.AUTOCOMPLETE):
            raise _bad_type("INTERACTION_RESPONSE_TYPE_INVALID", "Modal cannot answer this interaction")
    elif kind != it.AUTOCOMPLETE_RESULT:
        raise _bad_type("BASE_TYPE_CHOICES", f"Unsupported interaction response type {kind}")
    record.response_type = kind
    record.response_data = data
    record.notify()
    if request.query.get("with_response") not in ("1", "true", "True"):
        return no_content()
    interaction: JSON = {"id": str(record.id), "type": record.type}
    if record.original_message_id is not None:
        interaction["response_message_id"] = str(record.original_message_id)
        interaction["response_message_loading"] = kind == it.DEFERRED_CHANNEL_MESSAGE
        interaction["response_message_ephemeral"] = bool(
            emu.state.messages[record.original_message_id].flags & EPHEMERAL_FLAG
        )
    resource: JSON = {"type": kind}
    if message_payload is not None:
        resource["message"] = message_payload
    return json_response({"interaction": interaction, "resource": resource})


def _record_for_webhook(request: web.Request) -> tuple[Emulator, InteractionRecord]:
    emu = emu_of(request)
    if snowflake(request, "app_id", UNKNOWN_WEBHOOK) != emu.state.application_id:
        raise DiscordError(UNKNOWN_WEBHOOK)
    token = request.match_info["token"]
    record = next((r for r in emu.state.interactions.values() if r.token == token), None)
    if record is None or record.response_type is None:
        raise DiscordError(UNKNOWN_WEBHOOK)
    if _now() - record.created_at > emu.followup_ttl:
        raise DiscordError(50027, "Invalid Webhook Token", status=401)
    return emu, record


def _target_message(emu: Emulator, record: InteractionRecord, raw_id: str) -> Message:
    if raw_id == "@original":
        if record.original_message_id is None:
            raise DiscordError(UNKNOWN_MESSAGE)
        return emu.state.message(record.original_message_id)
    if not raw_id.isdigit():
        raise DiscordError(UNKNOWN_MESSAGE)
    message_id = int(raw_id)
    if message_id not in record.followup_ids and message_id != record.original_message_id:
        raise DiscordError(UNKNOWN_MESSAGE)
    return emu.state.message(message_id)


def _loading_original(emu: Emulator, record: InteractionRecord) -> Message | None:
    if record.response_type != it.DEFERRED_CHANNEL_MESSAGE or record.original_message_id is None:
        return None
    original = emu.state.messages.get(record.original_message_id)
    if original is None or original.deleted or not original.flags & LOADING_FLAG:
        return None
    return original


@routes.post("/api/v10/webhooks/{app_id}/{token}")
async def followup(request: web.Request) -> web.Response:
    emu, record = _record_for_webhook(request)
    body = body_of(request)
    loading = _loading_original(emu, record)
    if loading is not None:
        # On Discord the first follow-up after a "thinking" defer fills in the loading message
        # (keeping the defer's ephemeral choice) instead of posting a new one.
        fill_new_message(emu.state, loading, {**body, "flags": 0}, files_of(request))
        loading.flags &= ~LOADING_FLAG
        loading.edited_timestamp = None
        record.followup_ids.append(loading.id)
        payload = emu.state.message_payload(loading)
        if not loading.ephemeral:
            emu.dispatch("MESSAGE_UPDATE", payload)
    else:
        message = _new_response_message(emu, record, int(body.get("flags") or 0) & EPHEMERAL_FLAG)
        fill_new_message(emu.state, message, body, files_of(request))
        message.flags &= ~LOADING_FLAG
        record.followup_ids.append(message.id)
        payload = _store(emu, message)
    record.notify()
    if request.query.get("wait") in ("true", "1", "True"):
        return json_response(payload)
    return no_content()


@routes.get("/api/v10/webhooks/{app_id}/{token}/messages/{message_id}")
async def get_webhook_message(request: web.Request) -> web.Response:
    emu, record = _record_for_webhook(request)
    message = _target_message(emu, record, request.match_info["message_id"])
    return json_response(emu.state.message_payload(message))


@routes.patch("/api/v10/webhooks/{app_id}/{token}/messages/{message_id}")
async def edit_webhook_message(request: web.Request) -> web.Response:
    emu, record = _record_for_webhook(request)
    message = _target_message(emu, record, request.match_info["message_id"])
    apply_edit(emu.state, message, body_of(request), files_of(request))
    payload = emu.state.message_payload(message)
    if not message.ephemeral:
        emu.dispatch("MESSAGE_UPDATE", payload)
    if message.id == record.original_message_id:
        record.original_edits += 1
    record.notify()
    return json_response(payload)


@routes.delete("/api/v10/webhooks/{app_id}/{token}/messages/{message_id}")
async def delete_webhook_message(request: web.Request) -> web.Response:
    emu, record = _record_for_webhook(request)
    message = _target_message(emu, record, request.match_info["message_id"])
    message.deleted = True
    if not message.ephemeral:
        event: JSON = {"id": str(message.id), "channel_id": str(message.channel_id)}
        if message.guild_id is not None:
            event["guild_id"] = str(message.guild_id)
        emu.dispatch("MESSAGE_DELETE", event)
    record.notify()
    return no_content()


def _bad_type(code: str, message: str) -> DiscordError:
    """Discord's Invalid Form Body error pointing at the callback's ``type``."""
    return DiscordError(50035, "Invalid Form Body", errors={"type": {"_errors": [{"code": code, "message": message}]}})

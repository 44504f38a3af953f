"""Channel messages (create, edit, delete, fetch, history), DM channels and threads started from a message."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from emulator import permissions as perm
from emulator.message_bodies import apply_edit, fill_new_message
from emulator.models import DM, PUBLIC_THREAD, Channel, Message
from emulator.responses import (
    CANNOT_DM_USER,
    CANNOT_EDIT_OTHERS_MESSAGE,
    UNKNOWN_MESSAGE,
    UNKNOWN_USER,
    DiscordError,
    json_response,
    no_content,
)
from emulator.routing import (
    body_of,
    emu_of,
    files_of,
    get_channel,
    get_message,
    query_int,
    require_channel,
    snowflake,
)

if TYPE_CHECKING:
    from emulator.server import Emulator

routes = web.RouteTableDef()


def message_event(emu: Emulator, message: Message) -> dict[str, object]:
    return emu.state.message_payload(message)


@routes.post("/api/v10/users/@me/channels")
async def open_dm(request: web.Request) -> web.Response:
    emu = emu_of(request)
    raw = body_of(request).get("recipient_id")
    if raw is None or int(raw) not in emu.state.users:
        raise DiscordError(UNKNOWN_USER)
    channel = emu.state.dm_channel(int(raw))
    return json_response(emu.state.channel_payload(channel))


@routes.get("/api/v10/channels/{channel_id}")
async def get_channel_route(request: web.Request) -> web.Response:
    emu = emu_of(request)
    channel = get_channel(emu, snowflake(request, "channel_id"))
    if channel.guild_id is not None:
        require_channel(emu, channel, perm.VIEW_CHANNEL)
    return json_response(emu.state.channel_payload(channel))


def _check_can_send(emu: Emulator, channel: Channel, has_files: bool, has_embeds: bool) -> None:
    """View and Send (Send in Threads, in a thread); Attach Files for uploads; Embed Links for a bot's embeds."""
    if channel.type == DM:
        if channel.recipient_id in emu.faults.closed_dms:
            raise DiscordError(CANNOT_DM_USER)
        return
    send = perm.SEND_MESSAGES_IN_THREADS if channel.is_thread else perm.SEND_MESSAGES
    flags = [perm.VIEW_CHANNEL, send]
    flags += [perm.ATTACH_FILES] if has_files else []
    flags += [perm.EMBED_LINKS] if has_embeds else []
    require_channel(emu, channel, *flags)


@routes.post("/api/v10/channels/{channel_id}/messages")
async def create_message(request: web.Request) -> web.Response:
    emu = emu_of(request)
    channel = get_channel(emu, snowflake(request, "channel_id"))
    files = files_of(request)
    _check_can_send(emu, channel, bool(files), bool(body_of(request).get("embeds")))
    message = Message(
        id=emu.state.ids.next(), channel_id=channel.id, author_id=emu.state.bot.id, guild_id=channel.guild_id
    )
    fill_new_message(emu.state, message, body_of(request), files)
    emu.state.messages[message.id] = message
    channel.last_message_id = message.id
    payload = message_event(emu, message)
    emu.dispatch("MESSAGE_CREATE", payload)
    return json_response(payload)


def _readable(request: web.Request) -> tuple[Emulator, Channel]:
    emu = emu_of(request)
    channel = get_channel(emu, snowflake(request, "channel_id"))
    if channel.guild_id is not None:
        require_channel(emu, channel, perm.VIEW_CHANNEL, perm.READ_MESSAGE_HISTORY)
    return emu, channel


@routes.get("/api/v10/channels/{channel_id}/messages/{message_id}")
async def get_message_route(request: web.Request) -> web.Response:
    emu, channel = _readable(request)
    message = get_message(emu, channel.id, snowflake(request, "message_id", UNKNOWN_MESSAGE))
    return json_response(message_event(emu, message))


@routes.get("/api/v10/channels/{channel_id}/messages")
async def history(request: web.Request) -> web.Response:
    emu, channel = _readable(request)
    limit = max(1, min(100, query_int(request, "limit") or 50))
    messages = emu.state.messages_in(channel.id, include_ephemeral=False)
    before, after, around = (query_int(request, k) for k in ("before", "after", "around"))
    if around is not None:
        older = [m for m in messages if m.id < around][-(limit // 2) :] if limit > 1 else []
        newer = [m for m in messages if m.id >= around][: limit - len(older)]
        chosen = older + newer
    elif after is not None:
        chosen = [m for m in messages if m.id > after][:limit]
    else:
        if before is not None:
            messages = [m for m in messages if m.id < before]
        chosen = messages[-limit:]
    # Discord returns newest first.
    return json_response([message_event(emu, m) for m in reversed(chosen)])


@routes.patch("/api/v10/channels/{channel_id}/messages/{message_id}")
async def edit_message(request: web.Request) -> web.Response:
    emu = emu_of(request)
    channel = get_channel(emu, snowflake(request, "channel_id"))
    message = get_message(emu, channel.id, snowflake(request, "message_id", UNKNOWN_MESSAGE))
    body = body_of(request)
    if message.author_id != emu.state.bot.id:
        # Others' messages: only the SUPPRESS_EMBEDS flag may be changed, and that needs Manage Messages.
        if set(body) - {"flags"}:
            raise DiscordError(CANNOT_EDIT_OTHERS_MESSAGE)
        require_channel(emu, channel, perm.MANAGE_MESSAGES)
    apply_edit(emu.state, message, body, files_of(request))
    payload = message_event(emu, message)
    emu.dispatch("MESSAGE_UPDATE", payload)
    return json_response(payload)


@routes.delete("/api/v10/channels/{channel_id}/messages/{message_id}")
async def delete_message(request: web.Request) -> web.Response:
    emu = emu_of(request)
    channel = get_channel(emu, snowflake(request, "channel_id"))
    message = get_message(emu, channel.id, snowflake(request, "message_id", UNKNOWN_MESSAGE))
    if message.author_id != emu.state.bot.id and channel.guild_id is not None:
        require_channel(emu, channel, perm.MANAGE_MESSAGES)
    message.deleted = True
    event: dict[str, object] = {"id": str(message.id), "channel_id": str(channel.id)}
    if channel.guild_id is not None:
        event["guild_id"] = str(channel.guild_id)
    emu.dispatch("MESSAGE_DELETE", event)
    return no_content()


@routes.post("/api/v10/channels/{channel_id}/messages/{message_id}/threads")
async def thread_from_message(request: web.Request) -> web.Response:
    emu = emu_of(request)
    channel = get_channel(emu, snowflake(request, "channel_id"))
    message = get_message(emu, channel.id, snowflake(request, "message_id", UNKNOWN_MESSAGE))
    if channel.guild_id is None or channel.is_thread:
        raise DiscordError(50024, "Cannot execute action on this channel type")
    require_channel(emu, channel, perm.VIEW_CHANNEL, perm.CREATE_PUBLIC_THREADS)
    if message.thread_id is not None:
        raise DiscordError(160004, "A thread has already been created for this message")
    body = body_of(request)
    # On Discord a thread started from a message shares the message's id.
    thread = Channel(
        id=message.id,
        type=PUBLIC_THREAD,
        name=str(body.get("name") or "thread"),
        guild_id=channel.guild_id,
        parent_id=channel.id,
        owner_id=emu.state.bot.id,
        auto_archive_duration=int(body.get("auto_archive_duration") or 1440),
        rate_limit_per_user=int(body.get("rate_limit_per_user") or 0),
    )
    emu.state.guild(channel.guild_id).channels[thread.id] = thread
    emu.state.channels[thread.id] = thread
    message.thread_id = thread.id
    payload = emu.state.channel_payload(thread)
    emu.dispatch("THREAD_CREATE", {**payload, "newly_created": True})
    return json_response(payload, status=201)

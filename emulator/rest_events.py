"""Guild scheduled events: create, edit, delete, list, get."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from emulator import permissions as perm
from emulator.models import Guild, ScheduledEvent
from emulator.responses import UNKNOWN_EVENT, DiscordError, json_response, no_content
from emulator.routing import body_of, emu_of, get_channel, get_guild, require_channel, require_guild, snowflake

routes = web.RouteTableDef()

JSON = dict[str, Any]
STAGE_INSTANCE = 1
VOICE = 2
EXTERNAL = 3


def _require_event_permissions(
    request: web.Request, guild: Guild, entity_type: int, channel_id: int | None, event: ScheduledEvent | None
) -> None:
    """Discord's table for scheduled events: Create Events to create one and to edit or delete one's own,
    Manage Events for anyone else's; a voice event also needs View Channel and Connect in its channel, a stage
    event Manage Channels, Mute Members and Move Members there."""
    emu = emu_of(request)
    if event is None or event.creator_id == emu.state.bot.id:
        require_guild(emu, guild, perm.CREATE_EVENTS)
    else:
        require_guild(emu, guild, perm.MANAGE_EVENTS)
    if channel_id is None or entity_type == EXTERNAL:
        return
    channel = get_channel(emu, channel_id)
    if entity_type == VOICE:
        require_channel(emu, channel, perm.VIEW_CHANNEL, perm.CONNECT)
    elif entity_type == STAGE_INSTANCE:
        require_channel(emu, channel, perm.MANAGE_CHANNELS, perm.MUTE_MEMBERS, perm.MOVE_MEMBERS)


def _event(request: web.Request) -> ScheduledEvent:
    emu = emu_of(request)
    guild = get_guild(emu, snowflake(request, "guild_id"))
    event = emu.state.scheduled_events.get(snowflake(request, "event_id", UNKNOWN_EVENT))
    if event is None or event.guild_id != guild.id:
        raise DiscordError(UNKNOWN_EVENT)
    return event


def _payload(request: web.Request, event: ScheduledEvent) -> JSON:
    return event.to_payload(emu_of(request).state.users.get(event.creator_id))


def _invalid(field: str, message: str) -> DiscordError:
    return DiscordError(
        50035, "Invalid Form Body", errors={field: {"_errors": [{"code": "BASE_TYPE_REQUIRED", "message": message}]}}
    )


@routes.get("/api/v10/guilds/{guild_id}/scheduled-events")
async def list_events(request: web.Request) -> web.Response:
    emu = emu_of(request)
    guild = get_guild(emu, snowflake(request, "guild_id"))
    return json_response([_payload(request, e) for e in emu.state.events_in(guild.id)])


@routes.post("/api/v10/guilds/{guild_id}/scheduled-events")
async def create_event(request: web.Request) -> web.Response:
    emu = emu_of(request)
    guild = get_guild(emu, snowflake(request, "guild_id"))
    body = body_of(request)
    entity_type = int(body.get("entity_type") or EXTERNAL)
    location = (body.get("entity_metadata") or {}).get("location")
    if entity_type == EXTERNAL and (not location or not body.get("scheduled_end_time")):
        raise _invalid("entity_metadata", "External events need a location and an end time.")
    if entity_type != EXTERNAL and not body.get("channel_id"):
        raise _invalid("channel_id", "Stage and voice events need a channel.")
    channel_id = int(body["channel_id"]) if body.get("channel_id") else None
    _require_event_permissions(request, guild, entity_type, channel_id, None)
    event = ScheduledEvent(
        id=emu.state.ids.next(),
        guild_id=guild.id,
        name=str(body.get("name", "")),
        scheduled_start_time=str(body.get("scheduled_start_time", "")),
        scheduled_end_time=body.get("scheduled_end_time"),
        entity_type=entity_type,
        creator_id=emu.state.bot.id,
        channel_id=int(body["channel_id"]) if body.get("channel_id") else None,
        description=body.get("description"),
        privacy_level=int(body.get("privacy_level") or 2),
        location=location,
    )
    emu.state.scheduled_events[event.id] = event
    payload = _payload(request, event)
    emu.dispatch("GUILD_SCHEDULED_EVENT_CREATE", payload)
    return json_response(payload)


@routes.get("/api/v10/guilds/{guild_id}/scheduled-events/{event_id}")
async def get_event(request: web.Request) -> web.Response:
    return json_response(_payload(request, _event(request)))


@routes.patch("/api/v10/guilds/{guild_id}/scheduled-events/{event_id}")
async def edit_event(request: web.Request) -> web.Response:
    emu = emu_of(request)
    event = _event(request)
    body = body_of(request)
    entity_type = int(body.get("entity_type") or event.entity_type)
    channel_id = event.channel_id
    if "channel_id" in body:
        channel_id = int(body["channel_id"]) if body["channel_id"] else None
    _require_event_permissions(request, emu.state.guild(event.guild_id), entity_type, channel_id, event)
    for key in (
        "name",
        "description",
        "scheduled_start_time",
        "scheduled_end_time",
        "privacy_level",
        "status",
        "entity_type",
    ):
        if key in body:
            setattr(event, key, body[key])
    if "channel_id" in body:
        event.channel_id = int(body["channel_id"]) if body["channel_id"] else None
    if "entity_metadata" in body:
        event.location = (body["entity_metadata"] or {}).get("location")
    payload = _payload(request, event)
    emu.dispatch("GUILD_SCHEDULED_EVENT_UPDATE", payload)
    return json_response(payload)


@routes.delete("/api/v10/guilds/{guild_id}/scheduled-events/{event_id}")
async def delete_event(request: web.Request) -> web.Response:
    emu = emu_of(request)
    event = _event(request)
    _require_event_permissions(request, emu.state.guild(event.guild_id), EXTERNAL, None, event)
    del emu.state.scheduled_events[event.id]
    emu.dispatch("GUILD_SCHEDULED_EVENT_DELETE", _payload(request, event))
    return no_content()

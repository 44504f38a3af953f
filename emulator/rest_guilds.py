"""Guilds, channels and categories (with permission overwrites), roles, and members."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from emulator import permissions as perm
from emulator.models import CATEGORY, DM, TEXT, Channel, Guild, Overwrite, Role
from emulator.responses import (
    UNKNOWN_MEMBER,
    UNKNOWN_ROLE,
    DiscordError,
    json_response,
    missing_permissions,
    no_content,
)
from emulator.routing import (
    body_of,
    emu_of,
    get_channel,
    get_guild,
    get_member,
    get_role,
    list_body_of,
    parse_overwrites,
    query_int,
    require_below_bot,
    require_channel,
    require_guild,
    snowflake,
)

if TYPE_CHECKING:
    from emulator.server import Emulator

routes = web.RouteTableDef()

JSON = dict[str, Any]


def _guild(request: web.Request) -> tuple[Emulator, Guild]:
    emu = emu_of(request)
    return emu, get_guild(emu, snowflake(request, "guild_id"))


@routes.get("/api/v10/guilds/{guild_id}")
async def get_guild_route(request: web.Request) -> web.Response:
    _, guild = _guild(request)
    payload = guild.to_payload()
    if request.query.get("with_counts") in ("true", "1"):
        payload.update(approximate_member_count=len(guild.members), approximate_presence_count=0)
    return json_response(payload)


# --- channels -------------------------------------------------------------------------------------


def _check_overwrite_perms(
    emu: Emulator,
    guild: Guild,
    overwrites: dict[int, Overwrite],
    *,
    channel: Channel | None = None,
    parent_id: int | None = None,
    before: dict[int, Overwrite] | None = None,
) -> None:
    """Discord's rule for permission overwrites a bot writes (Create Guild Channel, Modify Channel, Edit
    Channel Permissions in Discord's docs):

    - writing overwrites needs Manage Roles in the guild;
    - every bit an overwrite allows or denies must be one the bot holds — in the guild when creating a
      channel, in the parent category (or the guild, for a top-level channel) when editing one;
    - Manage Roles itself (Manage Permissions, in a channel) may only be put in an overwrite by an
      administrator;
    - both rules are lifted when editing a channel where an overwrite already allows the bot Manage
      Permissions; administrators (and the owner) are never limited.

    ``before`` holds a channel's current overwrites when editing: an overwrite sent back unchanged is not
    being set, so only new or changed ones (and removed ones) are checked.
    """
    state = emu.state
    me = state.member(guild.id, state.bot.id)
    own = require_guild(emu, guild, perm.MANAGE_ROLES)
    if own & perm.ADMINISTRATOR or guild.owner_id == me.user_id:
        return
    if channel is not None and perm.explicit_manage_permissions(guild, me, channel):
        return
    held = own
    if channel is not None and parent_id is not None and parent_id in guild.channels:
        held = state.permissions_in(parent_id, me.user_id)
    before = before or {}
    written = [o for target, o in overwrites.items() if before.get(target) != o]
    written += [o for target, o in before.items() if target not in overwrites]
    for overwrite in written:
        bits = overwrite.allow | overwrite.deny
        if bits & perm.MANAGE_ROLES or bits & ~held:
            raise missing_permissions()


@routes.get("/api/v10/guilds/{guild_id}/channels")
async def list_channels(request: web.Request) -> web.Response:
    emu, guild = _guild(request)
    channels = [c for c in guild.channels.values() if not c.is_thread]
    return json_response([emu.state.channel_payload(c) for c in channels])


@routes.post("/api/v10/guilds/{guild_id}/channels")
async def create_channel(request: web.Request) -> web.Response:
    emu, guild = _guild(request)
    require_guild(emu, guild, perm.MANAGE_CHANNELS)
    body = body_of(request)
    overwrites = parse_overwrites(body.get("permission_overwrites"))
    _check_overwrite_perms(emu, guild, overwrites)
    parent_id = int(body["parent_id"]) if body.get("parent_id") else None
    if parent_id is not None and guild.channels.get(parent_id, Channel(0, TEXT)).type != CATEGORY:
        raise DiscordError(
            50035,
            "Invalid Form Body",
            errors={"parent_id": {"_errors": [{"code": "CHANNEL_PARENT_INVALID", "message": "Not a category"}]}},
        )
    fields: JSON = {
        "topic": body.get("topic"),
        "nsfw": bool(body.get("nsfw", False)),
        "rate_limit_per_user": int(body.get("rate_limit_per_user") or 0),
        "parent_id": parent_id,
        "overwrites": overwrites,
        "position": body.get("position"),
    }
    if body.get("bitrate"):
        fields["bitrate"] = int(body["bitrate"])
    if body.get("user_limit"):
        fields["user_limit"] = int(body["user_limit"])
    channel = emu.state.create_channel(guild.id, str(body.get("name", "")), int(body.get("type") or TEXT), **fields)
    payload = emu.state.channel_payload(channel)
    emu.dispatch("CHANNEL_CREATE", payload)
    return json_response(payload, status=201)


def _channel_event(emu: Emulator, channel: Channel, event: str) -> JSON:
    payload = emu.state.channel_payload(channel)
    if channel.is_thread:
        event = event.replace("CHANNEL", "THREAD")
    emu.dispatch(event, payload)
    return payload


def _managed_channel(request: web.Request) -> tuple[Emulator, Guild, Channel]:
    emu = emu_of(request)
    channel = get_channel(emu, snowflake(request, "channel_id"))
    if channel.guild_id is None:
        raise DiscordError(50003, "Cannot execute action on a DM channel")
    return emu, get_guild(emu, channel.guild_id), channel


@routes.patch("/api/v10/channels/{channel_id}")
async def edit_channel(request: web.Request) -> web.Response:
    emu, guild, channel = _managed_channel(request)
    require_channel(emu, channel, perm.VIEW_CHANNEL, perm.MANAGE_THREADS if channel.is_thread else perm.MANAGE_CHANNELS)
    body = body_of(request)
    if "permission_overwrites" in body:
        overwrites = parse_overwrites(body["permission_overwrites"])
        _check_overwrite_perms(
            emu, guild, overwrites, channel=channel, parent_id=channel.parent_id, before=channel.overwrites
        )
        channel.overwrites = overwrites
    for key in (
        "name",
        "topic",
        "nsfw",
        "rate_limit_per_user",
        "position",
        "bitrate",
        "user_limit",
        "archived",
        "locked",
        "auto_archive_duration",
    ):
        if key in body and body[key] is not None:
            setattr(channel, key, body[key])
    if "parent_id" in body:
        channel.parent_id = int(body["parent_id"]) if body["parent_id"] else None
    if "type" in body and body["type"] is not None:
        channel.type = int(body["type"])
    return json_response(_channel_event(emu, channel, "CHANNEL_UPDATE"))


@routes.delete("/api/v10/channels/{channel_id}")
async def delete_channel(request: web.Request) -> web.Response:
    emu = emu_of(request)
    channel = get_channel(emu, snowflake(request, "channel_id"))
    if channel.type == DM:
        return json_response(emu.state.channel_payload(channel))
    _, guild, _ = _managed_channel(request)
    require_channel(emu, channel, perm.MANAGE_THREADS if channel.is_thread else perm.MANAGE_CHANNELS)
    del guild.channels[channel.id]
    del emu.state.channels[channel.id]
    if channel.type == CATEGORY:
        # Children of a deleted category become top level, as on Discord.
        for child in guild.channels.values():
            if child.parent_id == channel.id:
                child.parent_id = None
                _channel_event(emu, child, "CHANNEL_UPDATE")
    return json_response(_channel_event(emu, channel, "CHANNEL_DELETE"))


@routes.put("/api/v10/channels/{channel_id}/permissions/{target_id}")
async def put_overwrite(request: web.Request) -> web.Response:
    emu, guild, channel = _managed_channel(request)
    require_channel(emu, channel, perm.VIEW_CHANNEL)
    body = body_of(request)
    target_id = snowflake(request, "target_id")
    overwrite = Overwrite(
        id=target_id, type=int(body.get("type", 0)), allow=int(body.get("allow") or 0), deny=int(body.get("deny") or 0)
    )
    _check_overwrite_perms(
        emu,
        guild,
        {target_id: overwrite},
        channel=channel,
        parent_id=channel.parent_id,
        before={target_id: channel.overwrites[target_id]} if target_id in channel.overwrites else {},
    )
    channel.overwrites[target_id] = overwrite
    _channel_event(emu, channel, "CHANNEL_UPDATE")
    return no_content()


@routes.delete("/api/v10/channels/{channel_id}/permissions/{target_id}")
async def delete_overwrite(request: web.Request) -> web.Response:
    emu, guild, channel = _managed_channel(request)
    require_guild(emu, guild, perm.MANAGE_ROLES)
    channel.overwrites.pop(snowflake(request, "target_id"), None)
    _channel_event(emu, channel, "CHANNEL_UPDATE")
    return no_content()


# --- roles ----------------------------------------------------------------------------------------


def _role_event(emu: Emulator, role: Role, event: str) -> JSON:
    payload = role.to_payload()
    emu.dispatch(event, {"guild_id": str(role.guild_id), "role": payload})
    return payload


def _check_role_permissions(emu: Emulator, guild: Guild, wanted: int) -> None:
    """A bot cannot hand out permissions it lacks unless it is an administrator (or the owner)."""
    own = emu.state.guild_permissions(guild.id, emu.state.bot.id)
    if not own & perm.ADMINISTRATOR and wanted & ~own:
        raise missing_permissions()


@routes.get("/api/v10/guilds/{guild_id}/roles")
async def list_roles(request: web.Request) -> web.Response:
    emu, guild = _guild(request)
    return json_response([r.to_payload() for r in emu.state.roles_in(guild.id)])


@routes.post("/api/v10/guilds/{guild_id}/roles")
async def create_role(request: web.Request) -> web.Response:
    emu, guild = _guild(request)
    require_guild(emu, guild, perm.MANAGE_ROLES)
    body = body_of(request)
    permissions = int(body["permissions"]) if body.get("permissions") is not None else guild.roles[guild.id].permissions
    _check_role_permissions(emu, guild, permissions)
    before = {r.id: r.position for r in guild.roles.values()}
    role = emu.state.create_role(
        guild.id,
        str(body.get("name") or "new role"),
        permissions,
        color=int(body.get("color") or 0),
        hoist=bool(body.get("hoist", False)),
        mentionable=bool(body.get("mentionable", False)),
    )
    payload = _role_event(emu, role, "GUILD_ROLE_CREATE")
    # The new role pushed others up one position; keep the bot's cached hierarchy in step.
    for other in guild.roles.values():
        if other.id in before and other.position != before[other.id]:
            _role_event(emu, other, "GUILD_ROLE_UPDATE")
    return json_response(payload)


@routes.patch("/api/v10/guilds/{guild_id}/roles")
async def move_roles(request: web.Request) -> web.Response:
    emu, guild = _guild(request)
    require_guild(emu, guild, perm.MANAGE_ROLES)
    for item in list_body_of(request):
        role = get_role(emu, guild.id, int(item["id"]))
        require_below_bot(emu, guild, role)
        if item.get("position") is not None:
            role.position = int(item["position"])
            _role_event(emu, role, "GUILD_ROLE_UPDATE")
    return json_response([r.to_payload() for r in emu.state.roles_in(guild.id)])


@routes.patch("/api/v10/guilds/{guild_id}/roles/{role_id}")
async def edit_role(request: web.Request) -> web.Response:
    emu, guild = _guild(request)
    require_guild(emu, guild, perm.MANAGE_ROLES)
    role = get_role(emu, guild.id, snowflake(request, "role_id", UNKNOWN_ROLE))
    require_below_bot(emu, guild, role)
    body = body_of(request)
    if body.get("permissions") is not None:
        _check_role_permissions(emu, guild, int(body["permissions"]))
        role.permissions = int(body["permissions"])
    for key in ("name", "color", "hoist", "mentionable"):
        if body.get(key) is not None:
            setattr(role, key, body[key])
    return json_response(_role_event(emu, role, "GUILD_ROLE_UPDATE"))


@routes.delete("/api/v10/guilds/{guild_id}/roles/{role_id}")
async def delete_role(request: web.Request) -> web.Response:
    emu, guild = _guild(request)
    require_guild(emu, guild, perm.MANAGE_ROLES)
    role = get_role(emu, guild.id, snowflake(request, "role_id", UNKNOWN_ROLE))
    if role.id == guild.id or role.managed:
        raise DiscordError(50028, "Invalid Role")
    require_below_bot(emu, guild, role)
    del guild.roles[role.id]
    for member in guild.members.values():
        if role.id in member.roles:
            member.roles.remove(role.id)
    emu.dispatch("GUILD_ROLE_DELETE", {"guild_id": str(guild.id), "role_id": str(role.id)})
    return no_content()


# --- members --------------------------------------------------------------------------------------


@routes.get("/api/v10/guilds/{guild_id}/members")
async def list_members(request: web.Request) -> web.Response:
    emu, guild = _guild(request)
    limit = max(1, min(1000, query_int(request, "limit") or 1))
    after = query_int(request, "after") or 0
    ids = sorted(uid for uid in guild.members if uid > after)[:limit]
    return json_response([emu.state.member_payload(guild.id, uid) for uid in ids])


@routes.get("/api/v10/guilds/{guild_id}/members/{user_id}")
async def get_member_route(request: web.Request) -> web.Response:
    emu, guild = _guild(request)
    member = get_member(emu, guild.id, snowflake(request, "user_id", UNKNOWN_MEMBER))
    return json_response(emu.state.member_payload(guild.id, member.user_id))


def _changeable_role(emu: Emulator, guild: Guild, role_id: int) -> Role:
    require_guild(emu, guild, perm.MANAGE_ROLES)
    role = get_role(emu, guild.id, role_id)
    if role.managed or role.id == guild.id:
        raise missing_permissions()
    require_below_bot(emu, guild, role)
    return role


@routes.patch("/api/v10/guilds/{guild_id}/members/{user_id}")
async def edit_member(request: web.Request) -> web.Response:
    emu, guild = _guild(request)
    member = get_member(emu, guild.id, snowflake(request, "user_id", UNKNOWN_MEMBER))
    body = body_of(request)
    if "roles" in body and body["roles"] is not None:
        wanted = [int(r) for r in body["roles"]]
        for role_id in set(wanted) ^ set(member.roles):
            _changeable_role(emu, guild, role_id)
        member.roles = wanted
    if "nick" in body:
        require_guild(emu, guild, perm.MANAGE_NICKNAMES)
        member.nick = body["nick"] or None
    if "communication_disabled_until" in body:
        require_guild(emu, guild, perm.MODERATE_MEMBERS)
        member.communication_disabled_until = body["communication_disabled_until"]
    for key in ("mute", "deaf"):
        if body.get(key) is not None:
            setattr(member, key, bool(body[key]))
    emu.member_updated(guild.id, member.user_id)
    return json_response(emu.state.member_payload(guild.id, member.user_id))


@routes.put("/api/v10/guilds/{guild_id}/members/{user_id}/roles/{role_id}")
async def add_member_role(request: web.Request) -> web.Response:
    emu, guild = _guild(request)
    member = get_member(emu, guild.id, snowflake(request, "user_id", UNKNOWN_MEMBER))
    role = _changeable_role(emu, guild, snowflake(request, "role_id", UNKNOWN_ROLE))
    if role.id not in member.roles:
        member.roles.append(role.id)
        emu.member_updated(guild.id, member.user_id)
    return no_content()


@routes.delete("/api/v10/guilds/{guild_id}/members/{user_id}/roles/{role_id}")
async def remove_member_role(request: web.Request) -> web.Response:
    emu, guild = _guild(request)
    member = get_member(emu, guild.id, snowflake(request, "user_id", UNKNOWN_MEMBER))
    role = _changeable_role(emu, guild, snowflake(request, "role_id", UNKNOWN_ROLE))
    if role.id in member.roles:
        member.roles.remove(role.id)
        emu.member_updated(guild.id, member.user_id)
    return no_content()


@routes.delete("/api/v10/guilds/{guild_id}/members/{user_id}")
async def kick_member(request: web.Request) -> web.Response:
    emu, guild = _guild(request)
    require_guild(emu, guild, perm.KICK_MEMBERS)
    member = get_member(emu, guild.id, snowflake(request, "user_id", UNKNOWN_MEMBER))
    if guild.owner_id == member.user_id or emu.state.top_role_position(guild.id, member.user_id) >= (
        emu.state.top_role_position(guild.id, emu.state.bot.id)
    ):
        raise missing_permissions()
    emu.remove_member(guild.id, member.user_id)
    return no_content()

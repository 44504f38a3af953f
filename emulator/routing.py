"""Helpers every REST handler uses: finding the emulator, reading ids and bodies, lookups with Discord's codes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from emulator import permissions as perm
from emulator.models import Channel, Guild, Member, Message, Overwrite, Role
from emulator.responses import (
    UNKNOWN_CHANNEL,
    UNKNOWN_GUILD,
    UNKNOWN_MEMBER,
    UNKNOWN_MESSAGE,
    UNKNOWN_ROLE,
    DiscordError,
    missing_permissions,
)

if TYPE_CHECKING:
    from emulator.server import Emulator

JSON = dict[str, Any]

EMULATOR: web.AppKey[Emulator] = web.AppKey("emulator")


@dataclass
class UploadedFile:
    field: str  # "files[0]"
    filename: str
    data: bytes
    content_type: str | None

    @property
    def index(self) -> int | None:
        inside = self.field.removeprefix("files[").removesuffix("]")
        return int(inside) if inside.isdigit() else None


# The parsed body and uploads, filled once by the server's middleware.
BODY: web.RequestKey[object] = web.RequestKey("body")
FILES: web.RequestKey[list[UploadedFile]] = web.RequestKey("files")


def emu_of(request: web.Request) -> Emulator:
    return request.app[EMULATOR]


def snowflake(request: web.Request, name: str, code: int = UNKNOWN_CHANNEL) -> int:
    raw = request.match_info[name]
    if not raw.isdigit():
        raise DiscordError(code)
    return int(raw)


def body_of(request: web.Request) -> JSON:
    body = request.get(BODY)
    return body if isinstance(body, dict) else {}


def list_body_of(request: web.Request) -> list[Any]:
    body = request.get(BODY)
    return body if isinstance(body, list) else []


def files_of(request: web.Request) -> list[UploadedFile]:
    return request.get(FILES, [])


def query_int(request: web.Request, name: str) -> int | None:
    raw = request.query.get(name)
    return int(raw) if raw is not None and raw.isdigit() else None


def get_guild(emu: Emulator, guild_id: int) -> Guild:
    guild = emu.state.guilds.get(guild_id)
    if guild is None or emu.state.bot.id not in guild.members:
        raise DiscordError(UNKNOWN_GUILD)
    return guild


def get_channel(emu: Emulator, channel_id: int) -> Channel:
    channel = emu.state.channels.get(channel_id)
    if channel is None:
        raise DiscordError(UNKNOWN_CHANNEL)
    return channel


def get_member(emu: Emulator, guild_id: int, user_id: int) -> Member:
    member = get_guild(emu, guild_id).members.get(user_id)
    if member is None:
        raise DiscordError(UNKNOWN_MEMBER)
    return member


def get_role(emu: Emulator, guild_id: int, role_id: int) -> Role:
    role = get_guild(emu, guild_id).roles.get(role_id)
    if role is None:
        raise DiscordError(UNKNOWN_ROLE)
    return role


def get_message(emu: Emulator, channel_id: int, message_id: int) -> Message:
    message = emu.state.messages.get(message_id)
    if message is None or message.deleted or message.channel_id != channel_id:
        raise DiscordError(UNKNOWN_MESSAGE)
    return message


def require_channel(emu: Emulator, channel: Channel, *flags: int) -> int:
    """The bot's permissions in a channel, or 403 50013 when any of `flags` is missing."""
    perms = emu.state.permissions_in(channel.id, emu.state.bot.id)
    for flag in flags:
        if not perm.has(perms, flag):
            raise missing_permissions()
    return perms


def require_guild(emu: Emulator, guild: Guild, *flags: int) -> int:
    perms = emu.state.guild_permissions(guild.id, emu.state.bot.id)
    for flag in flags:
        if not perm.has(perms, flag):
            raise missing_permissions()
    return perms


def require_below_bot(emu: Emulator, guild: Guild, role: Role) -> None:
    """Discord's hierarchy rule: the bot may only manage roles strictly below its own top role."""
    if guild.owner_id == emu.state.bot.id:
        return
    if (role.position, -role.id) >= emu.state.top_role_position(guild.id, emu.state.bot.id):
        raise missing_permissions()


def parse_overwrites(raw: list[JSON] | None) -> dict[int, Overwrite]:
    result: dict[int, Overwrite] = {}
    for item in raw or []:
        overwrite = Overwrite(
            id=int(item["id"]),
            type=int(item.get("type", 0)),
            allow=int(item.get("allow") or 0),
            deny=int(item.get("deny") or 0),
        )
        result[overwrite.id] = overwrite
    return result

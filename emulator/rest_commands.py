"""Application commands: bulk overwrite and listing, global and per guild."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from emulator.models import AppCommand
from emulator.responses import UNKNOWN_COMMAND, DiscordError, json_response, no_content
from emulator.routing import emu_of, get_guild, list_body_of, snowflake

routes = web.RouteTableDef()

JSON = dict[str, Any]


def _register(request: web.Request, guild_id: int | None) -> list[AppCommand]:
    """Replace the command set; a command keeps its id when its name and type are unchanged, as on Discord."""
    emu = emu_of(request)
    state = emu.state
    existing = state.commands_for(guild_id)
    by_key = {(c.name, c.type): c for c in existing}
    result: list[AppCommand] = []
    for raw in list_body_of(request):
        kind = int(raw.get("type", 1))
        previous = by_key.get((raw["name"], kind))
        command_id = previous.id if previous else state.ids.next()
        data: JSON = {
            "description": "",
            "options": [],
            "default_member_permissions": None,
            "dm_permission": True,
            "nsfw": False,
            **raw,
            "id": str(command_id),
            "application_id": str(state.application_id),
            "type": kind,
            "version": str(state.ids.next()),
        }
        if guild_id is not None:
            data["guild_id"] = str(guild_id)
        result.append(AppCommand(id=command_id, guild_id=guild_id, data=data))
    if guild_id is None:
        state.global_commands = result
    else:
        state.guild_commands[guild_id] = result
    state.command_syncs += 1
    emu.commands_synced.set()
    return result


def _check_app(request: web.Request) -> None:
    if snowflake(request, "app_id", UNKNOWN_COMMAND) != emu_of(request).state.application_id:
        raise DiscordError(50001, "Missing Access", status=403)


@routes.put("/api/v10/applications/{app_id}/commands")
async def put_global(request: web.Request) -> web.Response:
    _check_app(request)
    return json_response([c.data for c in _register(request, None)])


@routes.get("/api/v10/applications/{app_id}/commands")
async def get_global(request: web.Request) -> web.Response:
    _check_app(request)
    return json_response([c.data for c in emu_of(request).state.global_commands])


@routes.put("/api/v10/applications/{app_id}/guilds/{guild_id}/commands")
async def put_guild(request: web.Request) -> web.Response:
    _check_app(request)
    guild = get_guild(emu_of(request), snowflake(request, "guild_id"))
    return json_response([c.data for c in _register(request, guild.id)])


@routes.get("/api/v10/applications/{app_id}/guilds/{guild_id}/commands")
async def get_guild_commands(request: web.Request) -> web.Response:
    _check_app(request)
    guild = get_guild(emu_of(request), snowflake(request, "guild_id"))
    return json_response([c.data for c in emu_of(request).state.commands_for(guild.id)])


def _find(request: web.Request, guild_id: int | None) -> AppCommand:
    command_id = snowflake(request, "command_id", UNKNOWN_COMMAND)
    for command in emu_of(request).state.commands_for(guild_id):
        if command.id == command_id:
            return command
    raise DiscordError(UNKNOWN_COMMAND)


@routes.get("/api/v10/applications/{app_id}/commands/{command_id}")
async def get_one_global(request: web.Request) -> web.Response:
    _check_app(request)
    return json_response(_find(request, None).data)


@routes.delete("/api/v10/applications/{app_id}/commands/{command_id}")
async def delete_global(request: web.Request) -> web.Response:
    _check_app(request)
    command = _find(request, None)
    emu_of(request).state.global_commands.remove(command)
    return no_content()


@routes.get("/api/v10/applications/{app_id}/guilds/{guild_id}/commands/{command_id}")
async def get_one_guild(request: web.Request) -> web.Response:
    _check_app(request)
    return json_response(_find(request, snowflake(request, "guild_id")).data)

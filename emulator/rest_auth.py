"""Login endpoints: who am I, which application, where is the gateway; plus plain user lookups."""

from __future__ import annotations

from aiohttp import web

from emulator.responses import UNKNOWN_USER, DiscordError, json_response
from emulator.routing import emu_of, snowflake

routes = web.RouteTableDef()

# What Discord grants an ordinary bot: 1000 IDENTIFYs a day (the window's length in ms).
SESSION_STARTS_PER_DAY = 1000
DAY_MS = 24 * 60 * 60 * 1000


@routes.get("/api/v10/users/@me")
async def get_me(request: web.Request) -> web.Response:
    bot = emu_of(request).state.bot
    return json_response({**bot.to_payload(), "verified": True, "mfa_enabled": False, "email": None, "locale": "en-US"})


async def _application(request: web.Request) -> web.Response:
    emu = emu_of(request)
    bot = emu.state.bot
    return json_response(
        {
            "id": str(emu.state.application_id),
            "name": bot.username,
            "icon": None,
            "description": "",
            "summary": "",
            "type": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "flags": 0,
            "owner": {"id": "1", "username": "owner", "discriminator": "0", "avatar": None, "global_name": None},
            "team": None,
            "bot": bot.to_payload(),
            "rpc_origins": [],
            "tags": [],
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "approximate_guild_count": len(emu.state.guilds),
        }
    )


routes.get("/api/v10/oauth2/applications/@me")(_application)
routes.get("/api/v10/applications/@me")(_application)


@routes.get("/api/v10/gateway/bot")
async def gateway_bot(request: web.Request) -> web.Response:
    emu = emu_of(request)
    return json_response(
        {
            "url": emu.gateway_url,
            "shards": emu.gateway_bot_shards,
            "session_start_limit": {
                "total": SESSION_STARTS_PER_DAY,
                "remaining": max(0, SESSION_STARTS_PER_DAY - emu.gateway.identify_count),
                "reset_after": DAY_MS,
                "max_concurrency": emu.max_concurrency,
            },
        }
    )


@routes.get("/api/v10/gateway")
async def gateway(request: web.Request) -> web.Response:
    return json_response({"url": emu_of(request).gateway_url})


@routes.get("/api/v10/users/{user_id}")
async def get_user(request: web.Request) -> web.Response:
    emu = emu_of(request)
    user = emu.state.users.get(snowflake(request, "user_id", UNKNOWN_USER))
    if user is None:
        raise DiscordError(UNKNOWN_USER)
    return json_response(user.to_payload())

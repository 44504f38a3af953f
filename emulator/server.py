"""The `Emulator`: an aiohttp server speaking the part of Discord's REST API and gateway a bot uses."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from emulator import rest_auth, rest_commands, rest_events, rest_guilds, rest_interactions, rest_messages
from emulator.driver import Actor
from emulator.faults import Faults
from emulator.gateway import Gateway
from emulator.models import TEXT, Channel, Guild, Message, Role, User, VoiceState
from emulator.responses import DiscordError, json_response
from emulator.routing import BODY, EMULATOR, FILES, UploadedFile
from emulator.shards import shard_of, shards_needed
from emulator.snowflakes import iso_now
from emulator.state import NotFoundInState, State
from emulator.validation import validate_request

log = logging.getLogger(__name__)

API_PREFIX = "/api/v10"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class RequestRecord:
    method: str
    path: str  # without /api/v10
    status: int
    body: object


def _needs_bot_auth(path: str) -> bool:
    # Interaction callbacks and webhook calls authenticate with the token in the URL, as on Discord.
    return not path.startswith(("/interactions/", "/webhooks/"))


class Emulator:
    """A local Discord for one bot: `await emu.start()`, point discord.py at `api_base_url`/`gateway_url`."""

    def __init__(
        self,
        token: str = "test-token",
        *,
        ack_timeout: float | None = 3.0,
        followup_ttl: float = 15 * 60,
        bot_name: str = "Collective",
        validate: bool = True,
        heartbeat_interval_ms: int = 41250,
        recommended_shards: int = 1,
        max_concurrency: int = 1,
        max_guilds_per_shard: int | None = None,
        large_guilds: bool = False,
    ) -> None:
        """`recommended_shards` and `max_concurrency` are what GET /gateway/bot answers; with
        `max_guilds_per_shard`, a session whose shard would hold more guilds is closed with 4011;
        with `large_guilds`, guilds above IDENTIFY's large_threshold come without members, to be chunked."""
        self.token = token
        self.recommended_shards = recommended_shards
        self.max_concurrency = max_concurrency
        self.ack_timeout = ack_timeout
        self.followup_ttl = followup_ttl
        self.validate = validate
        self.state = State(bot_name=bot_name)
        self.faults = Faults()
        self.gateway = Gateway(self.state, token, heartbeat_interval_ms, max_guilds_per_shard, large_guilds)
        self.requests: list[RequestRecord] = []
        self.commands_synced = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port = 0

    # --- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(middlewares=[self._middleware], client_max_size=64 * 1024 * 1024)
        app[EMULATOR] = self
        for module in (rest_auth, rest_commands, rest_interactions, rest_messages, rest_guilds, rest_events):
            app.router.add_routes(module.routes)
        app.router.add_get("/gateway", self.gateway.handle)
        app.router.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", self._serve_attachment)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        # Port 0 asks the OS for a free port; read back which one it chose.
        self._port = int(self._runner.addresses[0][1])
        self.state.base_url = self.base_url
        self.gateway.url = self.gateway_url

    async def stop(self) -> None:
        await self.gateway.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_base_url(self) -> str:
        return self.base_url + API_PREFIX

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self._port}/gateway"

    @property
    def bot(self) -> User:
        return self.state.bot

    async def wait_until_connected(self, timeout: float = 10) -> None:  # noqa: ASYNC109 public API name
        """Until the bot identified (or resumed) and every READY/GUILD_CREATE frame was sent."""
        try:
            await asyncio.wait_for(self.gateway.ready.wait(), timeout)
        except TimeoutError:
            raise AssertionError(f"the bot did not connect to the emulator's gateway within {timeout}s") from None

    async def wait_until_shards_connected(self, shard_count: int, timeout: float = 10) -> None:  # noqa: ASYNC109
        """Until every shard 0..shard_count-1 (of `shard_count`) has a session whose READY burst went out.

        Several processes may hold them between them, as a fleet of shard processes does.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.gateway.shards_connected(shard_count):
            if loop.time() > deadline:
                raise AssertionError(f"not every one of {shard_count} shards connected within {timeout}s")
            await asyncio.sleep(0.01)

    async def wait_for_commands(self, timeout: float = 10) -> None:  # noqa: ASYNC109 public API name
        try:
            await asyncio.wait_for(self.commands_synced.wait(), timeout)
        except TimeoutError:
            raise AssertionError(f"the bot did not sync application commands within {timeout}s") from None

    # --- gateway --------------------------------------------------------------------------------

    def dispatch(self, event: str, data: dict[str, Any]) -> None:
        self.gateway.dispatch(event, data)

    async def gateway_disconnect(self, resume: bool = True, shard_id: int | None = None) -> None:
        """Drop the bot's sockets (only shard `shard_id`'s if given); with resume=False RESUME fails too."""
        await self.gateway.disconnect(resume=resume, shard_id=shard_id)

    async def invalidate_session(self) -> None:
        await self.gateway.invalidate_session()

    # --- world building that also tells the bot -------------------------------------------------

    def create_guild(self, name: str = "Guild", owner_name: str = "owner") -> Guild:
        guild = self.state.create_guild(name=name, owner_name=owner_name)
        self.gateway.announce_guild(guild.id)
        return guild

    def create_guilds(self, count: int, members_each: int = 0, name: str = "Guild") -> list[Guild]:
        """Many guilds at once, each with `members_each` members besides its owner and the bot.

        Each guild id gets its own millisecond, so guilds made together fall round-robin over the
        shards. A connected bot gets one GUILD_CREATE per guild (no GUILD_MEMBER_ADD per member).
        """
        # The guilds first, so their ids take consecutive milliseconds; then their members.
        guilds = [self.state.create_guild(name=f"{name} {n}", owner_name=f"owner{n}") for n in range(count)]
        for n, guild in enumerate(guilds):
            # One join time per guild: formatting a timestamp per member was half the cost of a million members.
            joined_at = iso_now()
            for m in range(members_each):
                self.state.add_member(guild.id, f"member{n}-{m}", joined_at=joined_at)
            self.gateway.announce_guild(guild.id)
        return guilds

    @staticmethod
    def shard_of(guild_id: int, shard_count: int) -> int:
        """The shard that owns a guild when the bot runs `shard_count` shards."""
        return shard_of(guild_id, shard_count)

    def guilds_of_shard(self, shard_id: int, shard_count: int) -> list[Guild]:
        """The guilds the bot is in that shard `shard_id` of `shard_count` holds."""
        return [
            g
            for g in self.state.guilds.values()
            if self.state.bot.id in g.members and shard_of(g.id, shard_count) == shard_id
        ]

    @property
    def gateway_bot_shards(self) -> int:
        """The shard count GET /gateway/bot recommends: the configured one, or more if the guild limit needs it."""
        joined = sum(1 for g in self.state.guilds.values() if self.state.bot.id in g.members)
        return max(self.recommended_shards, shards_needed(joined, self.gateway.max_guilds_per_shard))

    def create_role(self, guild_id: int, name: str, permissions: int = 0, position: int | None = None) -> Role:
        """Like `state.create_role`, and tells a connected bot (GUILD_ROLE_CREATE/UPDATE)."""
        guild = self.state.guild(guild_id)
        before = {r.id: r.position for r in guild.roles.values()}
        role = self.state.create_role(guild_id, name, permissions, position)
        self.dispatch("GUILD_ROLE_CREATE", {"guild_id": str(guild_id), "role": role.to_payload()})
        for other in guild.roles.values():
            if other.id in before and other.position != before[other.id]:
                self.dispatch("GUILD_ROLE_UPDATE", {"guild_id": str(guild_id), "role": other.to_payload()})
        return role

    def create_channel(self, guild_id: int, name: str, type: int = TEXT, **fields: Any) -> Channel:
        """Like `state.create_channel`, and tells a connected bot (CHANNEL_CREATE)."""
        channel = self.state.create_channel(guild_id, name, type, **fields)
        self.dispatch("CHANNEL_CREATE", self.state.channel_payload(channel))
        return channel

    def add_member(self, guild_id: int, username: str, roles: Iterable[int] = ()) -> User:
        user = self.state.add_member(guild_id, username, roles)
        self.dispatch("GUILD_MEMBER_ADD", {**self.state.member_payload(guild_id, user.id), "guild_id": str(guild_id)})
        return user

    def remove_member(self, guild_id: int, user_id: int) -> None:
        guild = self.state.guild(guild_id)
        guild.members.pop(user_id, None)
        self.dispatch("GUILD_MEMBER_REMOVE", {"guild_id": str(guild_id), "user": self.state.user(user_id).to_payload()})

    def member_updated(self, guild_id: int, user_id: int) -> None:
        self.dispatch(
            "GUILD_MEMBER_UPDATE", {**self.state.member_payload(guild_id, user_id), "guild_id": str(guild_id)}
        )

    def set_member_roles(self, guild_id: int, user_id: int, roles: Iterable[int]) -> None:
        self.state.member(guild_id, user_id).roles = list(roles)
        self.member_updated(guild_id, user_id)

    def set_bot_permissions(self, guild_id: int, permissions: int) -> None:
        """Set the bot's managed role permissions (@everyone still applies on top)."""
        guild = self.state.guild(guild_id)
        role = next(r for r in guild.roles.values() if r.bot_id == self.state.bot.id)
        role.permissions = permissions
        self.dispatch("GUILD_ROLE_UPDATE", {"guild_id": str(guild_id), "role": role.to_payload()})

    def post_message(self, channel_id: int, user_id: int, content: str, **fields: Any) -> Message:
        """A user writes in a channel; the bot sees MESSAGE_CREATE."""
        message = self.state.add_message(channel_id, user_id, content, **fields)
        self.dispatch("MESSAGE_CREATE", self.state.message_payload(message))
        return message

    def join_voice(self, guild_id: int, user_id: int, channel_id: int | None) -> VoiceState:
        voice = VoiceState(guild_id=guild_id, user_id=user_id, channel_id=channel_id, session_id=secrets.token_hex(8))
        if channel_id is None:
            self.state.voice_states.pop((guild_id, user_id), None)
        else:
            self.state.voice_states[(guild_id, user_id)] = voice
        self.dispatch("VOICE_STATE_UPDATE", voice.to_payload(self.state.member_payload(guild_id, user_id)))
        return voice

    def leave_voice(self, guild_id: int, user_id: int) -> None:
        self.join_voice(guild_id, user_id, None)

    def dms_to(self, user_id: int) -> list[Message]:
        return self.state.dms_to(user_id)

    def actor(self, guild_id: int, user_id: int, channel_id: int | None = None) -> Actor:
        """Act as a member: run slash commands, click buttons, submit modals through the gateway."""
        return Actor(self, guild_id, user_id, channel_id)

    # --- HTTP plumbing --------------------------------------------------------------------------

    async def _serve_attachment(self, request: web.Request) -> web.Response:
        raw_id = request.match_info["attachment_id"]
        attachment = self.state.attachments.get(int(raw_id)) if raw_id.isdigit() else None
        if attachment is None:
            raise web.HTTPNotFound()
        return web.Response(body=attachment.data, content_type=attachment.content_type or "application/octet-stream")

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(API_PREFIX + "/"):
            return await handler(request)
        path = request.path[len(API_PREFIX) :]
        body: object = None
        response: web.StreamResponse
        try:
            if _needs_bot_auth(path) and request.headers.get("Authorization") != f"Bot {self.token}":
                raise DiscordError(0, "401: Unauthorized", status=401)
            rule = self.faults.match(request.method, path)
            if rule is not None:
                response = json_response(rule.body, status=rule.status, headers=rule.headers)
                self.requests.append(RequestRecord(request.method, path, rule.status, None))
                return response
            body = await self._read_body(request)
            if body is not None and self.validate:
                problem = validate_request(request.method, path, body)
                if problem is not None:
                    # The validator already built Discord's 50035 body; answer it verbatim.
                    response = json_response(problem, status=400)
                    self.requests.append(RequestRecord(request.method, path, 400, body))
                    return response
            response = await handler(request)
        except DiscordError as exc:
            response = json_response(exc.body(), status=exc.status)
        except NotFoundInState as exc:
            response = json_response({"message": f"Unknown {exc.args[0]}", "code": 10000}, status=404)
        except web.HTTPException as exc:
            response = json_response({"message": f"{exc.status}: {exc.reason}", "code": 0}, status=exc.status)
        except Exception:
            log.exception("emulator handler failed for %s %s", request.method, path)
            response = json_response({"message": "500: Internal Server Error", "code": 0}, status=500)
        self.requests.append(RequestRecord(request.method, path, response.status, body))
        return response

    async def _read_body(self, request: web.Request) -> object:
        """Parse JSON or multipart (payload_json + files[n]) once, for validation and the handler."""
        request[FILES] = []
        if not request.body_exists:
            return None
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            files: list[UploadedFile] = []
            body: object = None
            for name, value in form.items():
                if isinstance(value, web.FileField):
                    files.append(UploadedFile(name, value.filename, value.file.read(), value.content_type))
                elif name == "payload_json":
                    body = json.loads(value if isinstance(value, str) else bytes(value).decode())
            request[FILES] = files
            request[BODY] = body
            return body
        raw = await request.read()
        if not raw:
            return None
        try:
            body = json.loads(raw)
        except ValueError:
            raise DiscordError(50109, "The request body contains invalid JSON.") from None
        request[BODY] = body
        return body

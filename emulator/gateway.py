"""The gateway websocket: HELLO, heartbeats, IDENTIFY/RESUME, dispatches with sequence numbers.

Each IDENTIFY opens a Session. Dispatches are numbered per session and kept in a buffer so
that a client reconnecting with RESUME gets exactly what it missed. A session that identified
with a `shard` gets only its shard's guilds and their events (see `emulator.shards`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from emulator import shards
from emulator.member_chunks import member_chunks
from emulator.models import DM
from emulator.shards import Shard
from emulator.state import State

log = logging.getLogger(__name__)

JSON = dict[str, Any]

DISPATCH, HEARTBEAT, IDENTIFY, PRESENCE, VOICE_STATE = 0, 1, 2, 3, 4
RESUME, RECONNECT, REQUEST_MEMBERS, INVALID_SESSION, HELLO, HEARTBEAT_ACK = 6, 7, 8, 9, 10, 11

# Intents (bit) needed to receive an event; events not listed are always sent.
GUILDS, GUILD_MEMBERS, GUILD_VOICE_STATES = 1 << 0, 1 << 1, 1 << 7
GUILD_MESSAGES, DIRECT_MESSAGES, MESSAGE_CONTENT, GUILD_SCHEDULED_EVENTS = 1 << 9, 1 << 12, 1 << 15, 1 << 16
_EVENT_INTENTS = {
    "GUILD_MEMBER_ADD": GUILD_MEMBERS,
    "GUILD_MEMBER_REMOVE": GUILD_MEMBERS,
    "GUILD_MEMBER_UPDATE": GUILD_MEMBERS,
    "VOICE_STATE_UPDATE": GUILD_VOICE_STATES,
    "GUILD_SCHEDULED_EVENT_CREATE": GUILD_SCHEDULED_EVENTS,
    "GUILD_SCHEDULED_EVENT_UPDATE": GUILD_SCHEDULED_EVENTS,
    "GUILD_SCHEDULED_EVENT_DELETE": GUILD_SCHEDULED_EVENTS,
}
_MESSAGE_EVENTS = {"MESSAGE_CREATE", "MESSAGE_UPDATE", "MESSAGE_DELETE"}
BUFFER_LIMIT = 2000


@dataclass(eq=False, slots=True)  # compared by identity: "was this the last frame of the burst?"
class Frame:
    """A dispatch serialised once, when it is sent: its sequence number and its JSON text.

    Sessions keep their dispatches for RESUME; kept as text, a GUILD_CREATE of 500 members costs its
    ~200 KB of JSON instead of ~1 MB of dicts, which is what lets the emulator serve a simulated fleet.
    """

    seq: int
    event: str
    text: str

    @property
    def data(self) -> JSON:
        """The dispatch's payload, parsed back (for tests looking at what a session was sent)."""
        payload: JSON = json.loads(self.text)["d"]
        return payload


@dataclass(eq=False)  # kept in a set: identity, not value
class Connection:
    ws: web.WebSocketResponse
    compress: bool
    outbox: asyncio.Queue[JSON | Frame | None] = field(default_factory=asyncio.Queue)
    compressor: Any = field(default_factory=zlib.compressobj)
    session: Session | None = None  # set by IDENTIFY/RESUME

    async def write_loop(self, on_sent: Callable[[Connection, JSON | Frame], None]) -> None:
        while True:
            frame = await self.outbox.get()
            if frame is None or self.ws.closed:
                return
            raw = frame.text if isinstance(frame, Frame) else json.dumps(frame)
            # zlib-stream: one shared deflate context per connection, each message ends with a sync flush.
            if self.compress:
                await self.ws.send_bytes(
                    self.compressor.compress(raw.encode()) + self.compressor.flush(zlib.Z_SYNC_FLUSH)
                )
            else:
                await self.ws.send_str(raw)
            on_sent(self, frame)


@dataclass
class Session:
    id: str
    intents: int
    seq: int = 0
    buffer: list[Frame] = field(default_factory=list)
    connection: Connection | None = None
    alive: bool = True
    shard: Shard | None = None  # None: an unsharded session, which holds every guild
    large_threshold: int = 50  # IDENTIFY's: above this many members a guild is "large"
    burst_end: Frame | None = None  # the last frame of READY/GUILD_CREATE… (or RESUMED)
    synced: bool = False  # that frame went out on the current socket

    @property
    def online(self) -> bool:
        return self.alive and self.connection is not None and self.synced

    def receives(self, guild_id: int | None) -> bool:
        return shards.receives(self.shard, guild_id)


class Gateway:
    def __init__(
        self,
        state: State,
        token: str,
        heartbeat_interval_ms: int = 41250,
        max_guilds_per_shard: int | None = None,
        large_guilds: bool = False,
    ) -> None:
        self.state = state
        # With large_guilds, GUILD_CREATE of a guild above the session's large_threshold is `large` and
        # carries no member list (as on Discord without presences): the client chunks it (op 8).
        self.large_guilds = large_guilds
        # With a limit, a session whose shard would hold more guilds is closed with 4011, as on Discord.
        self.max_guilds_per_shard = max_guilds_per_shard
        self.token = token
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.url = "ws://127.0.0.1/gateway"
        self.sessions: dict[str, Session] = {}
        self.identify_count = 0
        self.resume_count = 0
        self.ready = asyncio.Event()
        self._ready_frame: Frame | None = None
        self._connections: set[Connection] = set()

    # --- dispatching ----------------------------------------------------------------------------

    @property
    def active_sessions(self) -> list[Session]:
        return [s for s in self.sessions.values() if s.alive]

    @property
    def connected(self) -> bool:
        return any(s.connection is not None for s in self.active_sessions)

    def sessions_for(self, guild_id: int | None) -> list[Session]:
        """The live sessions that receive events about a guild (None: DMs and non-guild events)."""
        return [s for s in self.active_sessions if s.receives(guild_id)]

    def serves(self, guild_id: int | None) -> bool:
        """Whether some session on an open socket would receive an event about this guild now."""
        return any(s.connection is not None for s in self.sessions_for(guild_id))

    def shards_connected(self, shard_count: int) -> bool:
        """Whether every shard 0..shard_count-1 of `shard_count` has a session that finished its READY burst."""
        online = {s.shard for s in self.active_sessions if s.online}
        return all(Shard(i, shard_count) in online for i in range(shard_count))

    def dispatch(self, event: str, data: JSON) -> None:
        """Send an event to every live session that owns its guild (buffered for those between sockets)."""
        for session in self.sessions_for(shards.event_guild_id(event, data)):
            if not self._wanted(session, event, data):
                continue
            self._send_dispatch(session, event, self._shape_for(session, event, data))

    def announce_guild(self, guild_id: int) -> None:
        """GUILD_CREATE for a guild the bot just joined, to the sessions that own it."""
        for session in self.sessions_for(guild_id):
            self._send_dispatch(session, "GUILD_CREATE", self._guild_create_for(session, guild_id))

    def _wanted(self, session: Session, event: str, data: JSON) -> bool:
        needed = _EVENT_INTENTS.get(event)
        if needed is not None and not session.intents & needed:
            return False
        if event in _MESSAGE_EVENTS:
            needed = GUILD_MESSAGES if "guild_id" in data else DIRECT_MESSAGES
            return bool(session.intents & needed)
        return True

    def _shape_for(self, session: Session, event: str, data: JSON) -> JSON:
        """Without MESSAGE_CONTENT, Discord blanks content of messages that neither come from nor mention the bot."""
        if event not in ("MESSAGE_CREATE", "MESSAGE_UPDATE") or session.intents & MESSAGE_CONTENT:
            return data
        bot_id = str(self.state.bot.id)
        author = data.get("author", {}).get("id")
        mentioned = any(m.get("id") == bot_id for m in data.get("mentions", []))
        if author == bot_id or mentioned or "guild_id" not in data:
            return data
        return {**data, "content": "", "embeds": [], "attachments": [], "components": []}

    def _send_dispatch(self, session: Session, event: str, data: JSON) -> Frame:
        session.seq += 1
        frame = Frame(session.seq, event, json.dumps({"op": DISPATCH, "t": event, "s": session.seq, "d": data}))
        session.buffer.append(frame)
        del session.buffer[:-BUFFER_LIMIT]
        if session.connection is not None:
            session.connection.outbox.put_nowait(frame)
        return frame

    # --- faults ---------------------------------------------------------------------------------

    async def disconnect(self, resume: bool = True, shard_id: int | None = None) -> None:
        """Drop every socket (or only shard `shard_id`'s). With resume=False the session is also forgotten,
        so RESUME fails."""
        for session in self.active_sessions:
            if shard_id is not None and (session.shard is None or session.shard.shard_id != shard_id):
                continue
            conn = session.connection
            session.connection = None
            session.synced = False
            if not resume:
                session.alive = False
            if conn is not None:
                conn.outbox.put_nowait(None)
                # 4000 "unknown error" is a close discord.py reconnects from with RESUME.
                await conn.ws.close(code=4000 if resume else 4009, message=b"emulator disconnect")
        self.ready.clear()

    async def invalidate_session(self) -> None:
        """op 9 with d=false: the client must start over with IDENTIFY."""
        for session in self.active_sessions:
            session.alive = False
            if session.connection is not None:
                session.connection.outbox.put_nowait({"op": INVALID_SESSION, "d": False})
        self.ready.clear()

    async def close_all(self) -> None:
        for conn in list(self._connections):
            conn.outbox.put_nowait(None)
            await conn.ws.close(code=1001, message=b"emulator stopping")

    # --- the websocket handler ------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        compress = request.query.get("compress") == "zlib-stream"
        conn = Connection(ws=ws, compress=compress)
        self._connections.add(conn)
        writer = asyncio.create_task(conn.write_loop(self._on_sent))
        conn.outbox.put_nowait(
            {"op": HELLO, "d": {"heartbeat_interval": self.heartbeat_interval_ms}, "s": None, "t": None}
        )
        session: Session | None = None
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                payload = json.loads(msg.data)
                session = await self._handle_op(conn, session, payload)
                if ws.closed:
                    break
        finally:
            if session is not None and session.connection is conn:
                session.connection, session.synced = None, False
            self._connections.discard(conn)
            conn.outbox.put_nowait(None)
            with contextlib.suppress(Exception):
                await writer
        return ws

    async def _handle_op(self, conn: Connection, session: Session | None, payload: JSON) -> Session | None:
        op = payload.get("op")
        data = payload.get("d")
        if op == HEARTBEAT:
            # Allowed before IDENTIFY: discord.py beats as soon as it gets HELLO.
            seq = session.seq if session else None
            conn.outbox.put_nowait({"op": HEARTBEAT_ACK, "d": seq, "s": None, "t": None})
            return session
        if op == IDENTIFY:
            return await self._identify(conn, data or {})
        if op == RESUME:
            return await self._resume(conn, data or {})
        if session is None:
            await conn.ws.close(code=4003, message=b"Not authenticated")
            return None
        if op == REQUEST_MEMBERS:
            self._member_chunks(session, data or {})
        elif op not in (PRESENCE, VOICE_STATE):
            log.debug("gateway ignoring op %s", op)
        return session

    async def _identify(self, conn: Connection, data: JSON) -> Session | None:
        if data.get("token") != self.token:
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return None
        shard: Shard | None = None
        if data.get("shard") is not None:
            try:
                shard = Shard.parse(data["shard"])
            except shards.InvalidShard:
                await conn.ws.close(code=shards.INVALID_SHARD, message=b"Invalid shard.")
                return None
        guilds = [
            g for g in self.state.guilds.values() if self.state.bot.id in g.members and shards.receives(shard, g.id)
        ]
        if self.max_guilds_per_shard is not None and len(guilds) > self.max_guilds_per_shard:
            await conn.ws.close(code=shards.SHARDING_REQUIRED, message=b"Sharding required.")
            return None
        self.identify_count += 1
        self.ready.clear()
        session = Session(id=secrets.token_hex(16), intents=int(data.get("intents", 0)), shard=shard)
        session.large_threshold = min(250, max(50, int(data.get("large_threshold") or 50)))
        self.sessions[session.id] = session
        session.connection, conn.session = conn, session
        ready = {
            "v": 10,
            "user": {**self.state.bot.to_payload(), "verified": True, "mfa_enabled": False, "email": None},
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self.url,
            "application": {"id": str(self.state.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "user_settings": {},
            "auth": {},
        }
        if shard is not None:
            ready["shard"] = shard.as_list()
        last = self._send_dispatch(session, "READY", ready)
        for guild in guilds:
            last = self._send_dispatch(session, "GUILD_CREATE", self._guild_create_for(session, guild.id))
        self._ready_frame = session.burst_end = last
        return session

    async def _resume(self, conn: Connection, data: JSON) -> Session | None:
        session = self.sessions.get(str(data.get("session_id")))
        if data.get("token") != self.token or session is None or not session.alive:
            conn.outbox.put_nowait({"op": INVALID_SESSION, "d": False, "s": None, "t": None})
            return None
        self.resume_count += 1
        last_seen = int(data.get("seq") or 0)
        session.connection, session.synced, conn.session = conn, False, session
        for frame in session.buffer:
            if frame.seq > last_seen:
                conn.outbox.put_nowait(frame)
        self._ready_frame = session.burst_end = self._send_dispatch(session, "RESUMED", {})
        return session

    def _on_sent(self, conn: Connection, frame: JSON | Frame) -> None:
        # "Connected" means the last frame of the READY/GUILD_CREATE (or RESUMED) burst went out.
        if frame is self._ready_frame:
            self.ready.set()
        if conn.session is not None and frame is conn.session.burst_end:
            conn.session.synced = True

    def _guild_create_for(self, session: Session, guild_id: int) -> JSON:
        threshold = session.large_threshold if self.large_guilds else None
        return self.guild_create_payload(guild_id, session.intents, threshold)

    def guild_create_payload(self, guild_id: int, intents: int, large_threshold: int | None = None) -> JSON:
        state = self.state
        guild = state.guild(guild_id)
        voice = [v for (g, _), v in state.voice_states.items() if g == guild_id and v.channel_id]
        large = large_threshold is not None and len(guild.members) > large_threshold
        if large:  # only the bot and members in voice; the rest come by chunking
            member_ids = [state.bot.id, *(v.user_id for v in voice if v.user_id != state.bot.id)]
        else:
            member_ids = list(guild.members) if intents & GUILD_MEMBERS else [state.bot.id]
        channels = [c for c in guild.channels.values() if not c.is_thread and c.type != DM]
        threads = [c for c in guild.channels.values() if c.is_thread and not c.archived]
        return {
            **guild.to_payload(),
            "joined_at": guild.members[state.bot.id].joined_at,
            "large": large,
            "unavailable": False,
            "member_count": len(guild.members),
            "members": [state.member_payload(guild_id, uid) for uid in member_ids],
            "channels": [state.channel_payload(c) for c in channels],
            "threads": [state.channel_payload(c) for c in threads],
            "voice_states": [v.to_payload() for v in voice],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [e.to_payload(state.users.get(e.creator_id)) for e in state.events_in(guild_id)],
            "soundboard_sounds": [],
        }

    def _member_chunks(self, session: Session, data: JSON) -> None:
        guild_id = int(data["guild_id"])
        if not session.receives(guild_id):
            log.debug("gateway ignoring a member request for guild %s on another shard", guild_id)
            return
        for chunk in member_chunks(self.state, data):
            self._send_dispatch(session, "GUILD_MEMBERS_CHUNK", chunk)

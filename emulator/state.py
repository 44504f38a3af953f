"""The emulator's whole in-memory Discord: users, guilds, channels, messages, commands, events.

Tests read it directly (`emu.state.messages_in(channel_id)`); the REST handlers and the
gateway mutate it. Nothing here talks to the network.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from emulator import permissions as perm
from emulator.interactions import InteractionRecord
from emulator.models import (
    CATEGORY,
    DM,
    TEXT,
    AppCommand,
    Attachment,
    Channel,
    Guild,
    Member,
    Message,
    Role,
    ScheduledEvent,
    User,
    VoiceState,
)
from emulator.snowflakes import SnowflakeGenerator, iso_now

JSON = dict[str, Any]


class NotFoundInState(KeyError):
    """A test asked for something the emulator does not hold."""


class State:
    def __init__(self, bot_name: str = "Collective") -> None:
        self.ids = SnowflakeGenerator()
        self.base_url = "http://127.0.0.1"  # replaced by the server once it has a port
        self.users: dict[int, User] = {}
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}  # every channel, including DMs and threads
        self.messages: dict[int, Message] = {}
        self.scheduled_events: dict[int, ScheduledEvent] = {}
        self.voice_states: dict[tuple[int, int], VoiceState] = {}
        self.global_commands: list[AppCommand] = []
        self.guild_commands: dict[int, list[AppCommand]] = {}
        self.command_syncs = 0
        self.interactions: dict[int, InteractionRecord] = {}
        self.attachments: dict[int, Attachment] = {}  # every uploaded file, served at its URL
        self.bot = self.create_user(bot_name, bot=True)
        self.application_id = self.bot.id  # Discord gives a bot user the application's id

    # --- creation -----------------------------------------------------------------------------

    def create_user(self, username: str, *, bot: bool = False) -> User:
        user = User(id=self.ids.next(), username=username, bot=bot)
        self.users[user.id] = user
        return user

    def create_guild(self, name: str = "Guild", owner_name: str = "owner") -> Guild:
        """A guild with @everyone, an owner, #general, and the bot holding its managed role.

        The bot's role holds what README's invite link grants (no Administrator), as in a brand's server.
        """
        owner = self.create_user(owner_name)
        guild = Guild(id=self.ids.next_tick(), name=name, owner_id=owner.id)  # its own ms: see next_tick
        self.guilds[guild.id] = guild
        # @everyone shares the guild's id, as on Discord.
        guild.roles[guild.id] = Role(
            id=guild.id, guild_id=guild.id, name="@everyone", permissions=perm.DEFAULT_EVERYONE
        )
        bot_role = Role(
            id=self.ids.next(),
            guild_id=guild.id,
            name=self.bot.username,
            permissions=perm.README_BOT,
            position=1,
            managed=True,
            bot_id=self.bot.id,
        )
        guild.roles[bot_role.id] = bot_role
        guild.members[owner.id] = Member(guild_id=guild.id, user_id=owner.id)
        guild.members[self.bot.id] = Member(guild_id=guild.id, user_id=self.bot.id, roles=[bot_role.id])
        general = self.create_channel(guild.id, "general", TEXT)
        guild.system_channel_id = general.id
        return guild

    def create_role(
        self,
        guild_id: int,
        name: str,
        permissions: int = 0,
        position: int | None = None,
        *,
        color: int = 0,
        hoist: bool = False,
        mentionable: bool = False,
    ) -> Role:
        """New roles go just above @everyone (position 1) unless a position is given, as on Discord."""
        guild = self.guild(guild_id)
        target = 1 if position is None else position
        for other in guild.roles.values():
            if other.id != guild.id and other.position >= target:
                other.position += 1
        role = Role(
            id=self.ids.next(),
            guild_id=guild_id,
            name=name,
            permissions=permissions,
            position=target,
            color=color,
            hoist=hoist,
            mentionable=mentionable,
        )
        guild.roles[role.id] = role
        return role

    def add_member(self, guild_id: int, username: str, roles: Iterable[int] = (), joined_at: str | None = None) -> User:
        user = self.create_user(username)
        self.join_guild(guild_id, user.id, roles, joined_at)
        return user

    def join_guild(
        self, guild_id: int, user_id: int, roles: Iterable[int] = (), joined_at: str | None = None
    ) -> Member:
        """`joined_at` (ISO 8601) defaults to now; members added together may share one string."""
        guild = self.guild(guild_id)
        member = Member(guild_id=guild_id, user_id=user_id, roles=list(roles), joined_at=joined_at or iso_now())
        guild.members[user_id] = member
        return member

    def create_channel(self, guild_id: int, name: str, type: int = TEXT, **fields: Any) -> Channel:
        guild = self.guild(guild_id)
        position = fields.pop("position", None)
        if position is None:
            position = sum(1 for c in guild.channels.values() if c.type == type)
        channel = Channel(id=self.ids.next(), type=type, name=name, guild_id=guild_id, position=position, **fields)
        guild.channels[channel.id] = channel
        self.channels[channel.id] = channel
        return channel

    def create_category(self, guild_id: int, name: str) -> Channel:
        return self.create_channel(guild_id, name, CATEGORY)

    def dm_channel(self, user_id: int) -> Channel:
        """The bot's DM channel with a user, created on first use like Discord does."""
        for channel in self.channels.values():
            if channel.type == DM and channel.recipient_id == user_id:
                return channel
        self.user(user_id)
        channel = Channel(id=self.ids.next(), type=DM, recipient_id=user_id)
        self.channels[channel.id] = channel
        return channel

    def add_message(self, channel_id: int, author_id: int, content: str = "", **fields: Any) -> Message:
        channel = self.channel(channel_id)
        message = Message(
            id=self.ids.next(),
            channel_id=channel_id,
            author_id=author_id,
            guild_id=channel.guild_id,
            content=content,
            **fields,
        )
        self.messages[message.id] = message
        channel.last_message_id = message.id
        return message

    def add_attachment(
        self, channel_id: int, filename: str, data: bytes, content_type: str | None, description: str | None = None
    ) -> Attachment:
        attachment_id = self.ids.next()
        url = f"{self.base_url}/attachments/{channel_id}/{attachment_id}/{filename}"
        attachment = Attachment(
            id=attachment_id, filename=filename, data=data, content_type=content_type, url=url, description=description
        )
        self.attachments[attachment_id] = attachment
        return attachment

    # --- lookups (raise NotFoundInState so REST handlers can map them to Discord codes) ----------

    def guild(self, guild_id: int) -> Guild:
        try:
            return self.guilds[guild_id]
        except KeyError:
            raise NotFoundInState(f"guild {guild_id}") from None

    def user(self, user_id: int) -> User:
        try:
            return self.users[user_id]
        except KeyError:
            raise NotFoundInState(f"user {user_id}") from None

    def channel(self, channel_id: int) -> Channel:
        try:
            return self.channels[channel_id]
        except KeyError:
            raise NotFoundInState(f"channel {channel_id}") from None

    def member(self, guild_id: int, user_id: int) -> Member:
        try:
            return self.guild(guild_id).members[user_id]
        except KeyError:
            raise NotFoundInState(f"member {user_id} of guild {guild_id}") from None

    def role(self, guild_id: int, role_id: int) -> Role:
        try:
            return self.guild(guild_id).roles[role_id]
        except KeyError:
            raise NotFoundInState(f"role {role_id} of guild {guild_id}") from None

    def message(self, message_id: int) -> Message:
        found = self.messages.get(message_id)
        if found is None or found.deleted:
            raise NotFoundInState(f"message {message_id}")
        return found

    # --- queries for tests ----------------------------------------------------------------------

    @property
    def roles(self) -> dict[int, Role]:
        """Every role of every guild, by id."""
        return {rid: r for g in self.guilds.values() for rid, r in g.roles.items()}

    def roles_in(self, guild_id: int) -> list[Role]:
        return sorted(self.guild(guild_id).roles.values(), key=lambda r: (r.position, r.id))

    def role_named(self, guild_id: int, name: str) -> Role | None:
        return next((r for r in self.guild(guild_id).roles.values() if r.name == name), None)

    def channels_named(self, guild_id: int, name: str) -> list[Channel]:
        return [c for c in self.guild(guild_id).channels.values() if c.name == name]

    def channel_named(self, guild_id: int, name: str) -> Channel:
        found = self.channels_named(guild_id, name)
        if not found:
            raise NotFoundInState(f"channel #{name} in guild {guild_id}")
        return found[0]

    def messages_in(self, channel_id: int, *, include_ephemeral: bool = True) -> list[Message]:
        """Live messages of a channel, oldest first."""
        found = [m for m in self.messages.values() if m.channel_id == channel_id and not m.deleted]
        if not include_ephemeral:
            found = [m for m in found if not m.ephemeral]
        return sorted(found, key=lambda m: m.id)

    def find_message(self, channel_id: int, predicate: Callable[[Message], bool]) -> Message | None:
        return next((m for m in reversed(self.messages_in(channel_id)) if predicate(m)), None)

    def dms_to(self, user_id: int) -> list[Message]:
        """Messages the bot sent to a user's DMs, oldest first."""
        for channel in self.channels.values():
            if channel.type == DM and channel.recipient_id == user_id:
                return [m for m in self.messages_in(channel.id) if m.author_id == self.bot.id]
        return []

    def events_in(self, guild_id: int) -> list[ScheduledEvent]:
        return [e for e in self.scheduled_events.values() if e.guild_id == guild_id]

    def commands_for(self, guild_id: int | None = None) -> list[AppCommand]:
        """Global commands, or one guild's commands when a guild id is given."""
        if guild_id is None:
            return list(self.global_commands)
        return list(self.guild_commands.get(guild_id, []))

    def command_named(self, name: str, guild_id: int | None = None, type: int = 1) -> AppCommand | None:
        candidates = self.commands_for(guild_id) + self.global_commands if guild_id else self.global_commands
        return next((c for c in candidates if c.name == name and c.type == type), None)

    def voice_channel_of(self, guild_id: int, user_id: int) -> int | None:
        state = self.voice_states.get((guild_id, user_id))
        return state.channel_id if state else None

    # --- payload helpers shared by REST and gateway ---------------------------------------------

    def member_payload(self, guild_id: int, user_id: int) -> JSON:
        return self.member(guild_id, user_id).to_payload(self.user(user_id))

    def channel_payload(self, channel: Channel) -> JSON:
        recipient = self.users.get(channel.recipient_id) if channel.recipient_id else None
        return channel.to_payload(recipient)

    def message_payload(self, message: Message) -> JSON:
        author = self.users.get(message.author_id) or User(id=message.author_id, username="unknown")
        member = None
        if message.guild_id is not None and message.webhook_id is None:
            member = self.guild(message.guild_id).members.get(message.author_id)
        mentioned = [self.users[u] for u in message.mentions if u in self.users]
        return message.to_payload(author, member, mentioned)

    def top_role_position(self, guild_id: int, user_id: int) -> tuple[int, int]:
        """(position, -id) of the member's highest role: ties go to the older role, as on Discord."""
        guild = self.guild(guild_id)
        best = (0, -guild.id)
        for role_id in self.member(guild_id, user_id).roles:
            role = guild.roles.get(role_id)
            if role is not None:
                best = max(best, (role.position, -role.id))
        return best

    def permissions_in(self, channel_id: int, user_id: int) -> int:
        channel = self.channel(channel_id)
        if channel.guild_id is None:
            return perm.VIEW_CHANNEL | perm.SEND_MESSAGES | perm.READ_MESSAGE_HISTORY | perm.ATTACH_FILES
        guild = self.guild(channel.guild_id)
        return perm.channel_permissions(guild, self.member(guild.id, user_id), channel)

    def guild_permissions(self, guild_id: int, user_id: int) -> int:
        guild = self.guild(guild_id)
        return perm.base_permissions(guild, self.member(guild_id, user_id))

"""Discord permission bits and the algorithm that turns roles and overwrites into a member's permissions."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from emulator.models import Channel, Guild, Member

CREATE_INSTANT_INVITE = 1 << 0
KICK_MEMBERS = 1 << 1
BAN_MEMBERS = 1 << 2
ADMINISTRATOR = 1 << 3
MANAGE_CHANNELS = 1 << 4
MANAGE_GUILD = 1 << 5
ADD_REACTIONS = 1 << 6
VIEW_AUDIT_LOG = 1 << 7
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
MENTION_EVERYONE = 1 << 17
USE_EXTERNAL_EMOJIS = 1 << 18
CONNECT = 1 << 20
SPEAK = 1 << 21
MUTE_MEMBERS = 1 << 22
DEAFEN_MEMBERS = 1 << 23
MOVE_MEMBERS = 1 << 24
CHANGE_NICKNAME = 1 << 26
MANAGE_NICKNAMES = 1 << 27
MANAGE_ROLES = 1 << 28
MANAGE_WEBHOOKS = 1 << 29
USE_APPLICATION_COMMANDS = 1 << 31
MANAGE_EVENTS = 1 << 33
MANAGE_THREADS = 1 << 34
CREATE_PUBLIC_THREADS = 1 << 35
CREATE_PRIVATE_THREADS = 1 << 36
SEND_MESSAGES_IN_THREADS = 1 << 38
MODERATE_MEMBERS = 1 << 40
CREATE_EVENTS = 1 << 44

ALL_PERMISSIONS = (1 << 53) - 1

# What a fresh @everyone role gets on Discord (view, chat, react, connect, speak, use commands...).
DEFAULT_EVERYONE = (
    CREATE_INSTANT_INVITE
    | ADD_REACTIONS
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | MENTION_EVERYONE
    | USE_EXTERNAL_EMOJIS
    | CONNECT
    | SPEAK
    | CHANGE_NICKNAME
    | USE_APPLICATION_COMMANDS
    | CREATE_PUBLIC_THREADS
    | SEND_MESSAGES_IN_THREADS
)

# What a bot invited with Collective's README link holds on its managed role (README, "Invite the bot";
# the bot's own list is ``bot.services.program.setup_plan.INVITE_PERMISSIONS`` and a test keeps the three equal).
# The emulator gives the bot exactly this by default, so the end-to-end tests and the demo run the way a
# brand's server does; tests that need Administrator or less say so with ``set_bot_permissions``.
README_BOT = (
    MANAGE_CHANNELS
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | CONNECT
    | MANAGE_ROLES
    | CREATE_PUBLIC_THREADS
    | SEND_MESSAGES_IN_THREADS
    | CREATE_EVENTS
)

OVERWRITE_ROLE = 0
OVERWRITE_MEMBER = 1


def base_permissions(guild: Guild, member: Member) -> int:
    """Guild-level permissions: owner gets everything, otherwise @everyone | each role."""
    if member.user_id == guild.owner_id:
        return ALL_PERMISSIONS
    everyone = guild.roles.get(guild.id)
    perms = everyone.permissions if everyone else 0
    for role_id in member.roles:
        role = guild.roles.get(role_id)
        if role is not None:
            perms |= role.permissions
    if perms & ADMINISTRATOR:
        return ALL_PERMISSIONS
    return perms


def channel_permissions(guild: Guild, member: Member, channel: Channel) -> int:
    """Discord's documented order: @everyone overwrite, then role overwrites combined, then the member's."""
    perms = base_permissions(guild, member)
    if perms & ADMINISTRATOR or member.user_id == guild.owner_id:
        return ALL_PERMISSIONS
    # Threads take their permissions from the parent channel.
    target = channel
    if channel.is_thread and channel.parent_id is not None and channel.parent_id in guild.channels:
        target = guild.channels[channel.parent_id]
    overwrites = target.overwrites
    everyone = overwrites.get(guild.id)
    if everyone is not None:
        perms = (perms & ~everyone.deny) | everyone.allow
    allow = deny = 0
    for role_id in member.roles:
        overwrite = overwrites.get(role_id)
        if overwrite is not None and overwrite.type == OVERWRITE_ROLE:
            allow |= overwrite.allow
            deny |= overwrite.deny
    perms = (perms & ~deny) | allow
    own = overwrites.get(member.user_id)
    if own is not None and own.type == OVERWRITE_MEMBER:
        perms = (perms & ~own.deny) | own.allow
    if not perms & VIEW_CHANNEL:
        return 0
    return perms


def has(perms: int, flag: int) -> bool:
    return perms & ADMINISTRATOR != 0 or perms & flag == flag


def explicit_manage_permissions(guild: Guild, member: Member, channel: Channel) -> bool:
    """Whether an overwrite in this very channel allows the member Manage Permissions (MANAGE_ROLES).

    Discord lifts the "only what you hold" rule for overwrites in a channel where the caller has such an
    overwrite; holding Manage Roles through a role alone does not count.
    """
    for target_id in (guild.id, *member.roles, member.user_id):
        overwrite = channel.overwrites.get(target_id)
        if overwrite is not None and overwrite.allow & MANAGE_ROLES:
            return True
    return False

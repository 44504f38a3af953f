"""What /setup must create, as data: roles, a private category and its channels with permission overwrites.

``reconcile`` compares the plan with what the server already has and the stored bindings, and says for
each purpose whether to keep, adopt (same name, not yet bound), or create it, and which channels need their
overwrites repaired. Repairs only add what is missing; overwrites a server admin added stay.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from bot.services.program.bindings import ROLE_AMBASSADOR, ROLE_MODERATOR, channel_purpose, tier_role_purpose
from bot.services.program.tiers import Tier

# Discord permission bits (https://discord.com/developers/docs/topics/permissions).
MANAGE_CHANNELS = 1 << 4
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
CONNECT = 1 << 20
MANAGE_ROLES = 1 << 28
CREATE_PUBLIC_THREADS = 1 << 35
SEND_MESSAGES_IN_THREADS = 1 << 38
CREATE_EVENTS = 1 << 44

READ = VIEW_CHANNEL | READ_MESSAGE_HISTORY
POST = SEND_MESSAGES | EMBED_LINKS | ATTACH_FILES | SEND_MESSAGES_IN_THREADS
TALK = SEND_MESSAGES | CREATE_PUBLIC_THREADS | SEND_MESSAGES_IN_THREADS
# The bot's own overwrite in the private channels: everything it does there, and nothing it does not hold —
# Discord refuses an overwrite that allows (or denies) a permission the bot itself lacks (403, 50013).
BOT = READ | POST | CREATE_PUBLIC_THREADS


@dataclass(frozen=True)
class BotPermission:
    bit: int
    attribute: str  # discord.py's Permissions attribute
    label: str  # as Discord's Roles screen shows it
    why: str  # for README and for the moderator who reads a refusal
    for_setup: bool  # /setup cannot finish without it (it creates, or grants in an overwrite, what needs it)


# Everything the bot needs, and why: README's invite link is exactly this set (INVITE_PERMISSIONS).
BOT_PERMISSIONS = [
    BotPermission(
        MANAGE_ROLES,
        "manage_roles",
        "Manage Roles",
        "create the program's roles, hand out the Ambassador and tier roles, and set who can see the private channels",
        True,
    ),
    BotPermission(
        MANAGE_CHANNELS,
        "manage_channels",
        "Manage Channels",
        "create the program's private category "
        "and channels, and a private welcome channel for a member whose DMs are closed",
        True,
    ),
    BotPermission(VIEW_CHANNEL, "view_channel", "View Channels", "see the program's channels", True),
    BotPermission(
        SEND_MESSAGES,
        "send_messages",
        "Send Messages",
        "post briefs, drops, polls, events, the review queue, the audit feed and the digest",
        True,
    ),
    BotPermission(EMBED_LINKS, "embed_links", "Embed Links", "show those posts as cards (embeds)", True),
    BotPermission(ATTACH_FILES, "attach_files", "Attach Files", "attach the poll and digest charts", True),
    BotPermission(
        READ_MESSAGE_HISTORY,
        "read_message_history",
        "Read Message History",
        "look back in a channel so a retried post is never posted twice",
        True,
    ),
    BotPermission(
        CREATE_PUBLIC_THREADS,
        "create_public_threads",
        "Create Public Threads",
        "open a questions thread under each brief",
        True,
    ),
    BotPermission(
        SEND_MESSAGES_IN_THREADS,
        "send_messages_in_threads",
        "Send Messages in Threads",
        "post the first message in a brief's questions thread",
        True,
    ),
    BotPermission(
        CREATE_EVENTS,
        "create_events",
        "Create Events",
        "add program events to the server's Events list, and edit or cancel the ones it created",
        False,
    ),
    BotPermission(
        CONNECT, "connect", "Connect", "create an event in a voice channel (Discord requires it there)", False
    ),
]
INVITE_PERMISSIONS = sum(p.bit for p in BOT_PERMISSIONS)

# The guild-level permissions /setup itself needs, by discord.py attribute name and as shown in Discord.
REQUIRED_BOT_PERMISSIONS = {p.attribute: p.label for p in BOT_PERMISSIONS if p.for_setup}

Target = Literal["everyone", "ambassador", "moderator", "bot"]
Audience = Literal["program", "moderators"]


@dataclass(frozen=True)
class RoleSpec:
    purpose: str
    name: str
    colour: int = 0


@dataclass(frozen=True)
class ChannelSpec:
    key: str  # bindings.CHANNELS entry
    name: str
    topic: str
    audience: Audience = "program"
    ambassadors_talk: bool = False  # otherwise read-only for ambassadors: the brand and the bot post

    @property
    def purpose(self) -> str:
        return channel_purpose(self.key)


@dataclass(frozen=True)
class SetupPlan:
    roles: list[RoleSpec]
    category: ChannelSpec
    channels: list[ChannelSpec]


CATEGORY = ChannelSpec("category", "Ambassador Program", "")
CHANNELS = [
    ChannelSpec("announcements", "announcements", "News for ambassadors from the brand team."),
    ChannelSpec("briefs", "briefs", "Content briefs: what to make, by when."),
    ChannelSpec("drops", "drops", "Behind-the-scenes drops and early looks."),
    ChannelSpec("showcase", "showcase", "Ambassador content the brand approved."),
    ChannelSpec(
        "focus_group", "focus-group", "Polls and feedback on what the brand makes next.", ambassadors_talk=True
    ),
    ChannelSpec("leaderboard", "leaderboard", "Points and standings."),
    ChannelSpec("review", "review", "Applications and submissions waiting for a decision.", audience="moderators"),
    ChannelSpec("audit", "audit-log", "Every moderator action, as it happens.", audience="moderators"),
]


def build_plan(tier_list: list[Tier]) -> SetupPlan:
    roles = [RoleSpec(ROLE_AMBASSADOR, "Ambassador", 0xE91E63), RoleSpec(ROLE_MODERATOR, "Program Moderator", 0x5B5BD6)]
    # "… tier" keeps a tier called "Ambassador" apart from the program's Ambassador role.
    roles += [RoleSpec(tier_role_purpose(t.key), f"{t.name} tier") for t in tier_list]
    return SetupPlan(roles, CATEGORY, list(CHANNELS))


def overwrites_for(spec: ChannelSpec) -> dict[Target, tuple[int, int]]:
    """(allow, deny) bits per target. Channels get full overwrites: Discord doesn't inherit from the category."""
    hidden: dict[Target, tuple[int, int]] = {
        "everyone": (0, VIEW_CHANNEL),
        "moderator": (READ | POST, 0),
        "bot": (BOT, 0),
    }
    if spec.audience == "moderators":
        return {**hidden, "ambassador": (0, VIEW_CHANNEL)}
    if spec.key == "category" or spec.ambassadors_talk:
        return {**hidden, "ambassador": (READ | TALK, 0)}
    return {**hidden, "ambassador": (READ, TALK)}


def private_welcome_overwrites() -> dict[Target, tuple[int, int]]:
    """A welcome channel for one member (DMs closed): only they, moderators and the bot see it."""
    return {"everyone": (0, VIEW_CHANNEL), "moderator": (READ | POST, 0), "bot": (BOT, 0)}


def needs_repair(desired: dict[int, tuple[int, int]], actual: dict[int, tuple[int, int]]) -> bool:
    for target, (allow, deny) in desired.items():
        have_allow, have_deny = actual.get(target, (0, 0))
        if allow & ~have_allow or deny & ~have_deny:
            return True
    return False


def repaired(desired: dict[int, tuple[int, int]], actual: dict[int, tuple[int, int]]) -> dict[int, tuple[int, int]]:
    """Actual overwrites plus what the plan requires; a bit the plan allows is no longer denied, and vice versa."""
    result = dict(actual)
    for target, (allow, deny) in desired.items():
        have_allow, have_deny = actual.get(target, (0, 0))
        result[target] = ((have_allow | allow) & ~deny, (have_deny | deny) & ~allow)
    return result


# -- reconciling with the server --------------------------------------------------------------------------


@dataclass(frozen=True)
class Existing:
    """A snapshot of the server: id → name for roles; id → (name, is_category, parent_id) for channels."""

    roles: dict[int, str]
    channels: dict[int, tuple[str, bool, int | None]]
    bindings: dict[str, int]


ActionKind = Literal["keep", "adopt", "create"]


@dataclass(frozen=True)
class Step:
    kind: ActionKind
    purpose: str
    name: str
    discord_id: int | None = None  # for keep/adopt


@dataclass
class Reconciliation:
    roles: list[Step] = field(default_factory=list)
    category: Step | None = None
    channels: list[Step] = field(default_factory=list)


def _role_step(spec: RoleSpec, existing: Existing, taken: set[int]) -> Step:
    bound = existing.bindings.get(spec.purpose)
    if bound is not None and bound in existing.roles:
        return Step("keep", spec.purpose, existing.roles[bound], bound)
    for role_id, name in existing.roles.items():
        if name.casefold() == spec.name.casefold() and role_id not in taken:
            return Step("adopt", spec.purpose, name, role_id)
    return Step("create", spec.purpose, spec.name)


def reconcile(plan: SetupPlan, existing: Existing) -> Reconciliation:
    result = Reconciliation()
    taken: set[int] = set()
    for spec in plan.roles:
        step = _role_step(spec, existing, taken)
        if step.discord_id is not None:
            taken.add(step.discord_id)
        result.roles.append(step)
    bound = existing.bindings.get(plan.category.purpose)
    category_id: int | None = None
    if bound is not None and existing.channels.get(bound, ("", False, None))[1]:
        result.category = Step("keep", plan.category.purpose, existing.channels[bound][0], bound)
        category_id = bound
    else:
        found = next(
            (cid for cid, (name, is_cat, _) in existing.channels.items() if is_cat and name == plan.category.name), None
        )
        kind: ActionKind = "adopt" if found is not None else "create"
        result.category = Step(kind, plan.category.purpose, plan.category.name, found)
        category_id = found
    for channel in plan.channels:
        bound = existing.bindings.get(channel.purpose)
        if bound is not None and bound in existing.channels and not existing.channels[bound][1]:
            result.channels.append(Step("keep", channel.purpose, existing.channels[bound][0], bound))
            continue
        # Only adopt inside the program's category: a public #announcements elsewhere is not ours.
        found = next(
            (
                cid
                for cid, (name, is_cat, parent) in existing.channels.items()
                if not is_cat and name == channel.name and category_id is not None and parent == category_id
            ),
            None,
        )
        if found is not None:
            result.channels.append(Step("adopt", channel.purpose, channel.name, found))
        else:
            result.channels.append(Step("create", channel.purpose, channel.name))
    return result


def missing_bot_permissions(granted: set[str], *, for_setup: bool | None = True) -> list[BotPermission]:
    """The bot's permissions (README's set) that ``granted`` (discord.py attribute names) lacks; ``for_setup``
    True gives those /setup cannot do without, False those only other features need, None all of them."""
    return [
        p for p in BOT_PERMISSIONS if p.attribute not in granted and (for_setup is None or p.for_setup == for_setup)
    ]


def labels(permissions: list[BotPermission]) -> str:
    """**A**, **B** and **C**."""
    names = [f"**{p.label}**" for p in permissions]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def unassignable(role_positions: dict[str, int], bot_top_position: int) -> list[str]:
    """Names of roles the bot must hand out but can't: at or above its own top role."""
    return sorted(name for name, position in role_positions.items() if position >= bot_top_position)

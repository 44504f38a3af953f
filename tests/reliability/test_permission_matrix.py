"""The permission matrix, generated from what the running bot registers — new commands and buttons are covered.

Commands: every synced slash command whose bot-side definition is moderator-only (``is_moderator_command``)
is sent by a plain member and by an ambassador — and refused, with nothing written and nothing posted — then
by a moderator with Manage Server and one holding only the Program Moderator role — and not refused. The
emulator delivers every interaction whatever the command's ``default_member_permissions`` say, which is what
Discord does once a server admin overrides them under Server Settings → Integrations; so only the bot's own
check stands between a member and the command, which is the property under test.

Buttons: every registered ``DynamicItem`` (discovered from the bot's view store) is pressed on a message
carrying it. Items declaring ``moderator_only`` must refuse members and ambassadors and let moderators through;
every other item pressed by a plain member must not answer with the moderator refusal (if it does, it is a
moderator button that forgot to declare itself, and the central check would not guard it).
"""

from __future__ import annotations

import re
from typing import Any

from bot.checks import is_moderator_command
from emulator import Emulator
from emulator.driver import Reply
from emulator.models import Message
from tests.e2e.conftest import BotRunner, World
from tests.reliability.program import (
    MODERATOR_REFUSAL,
    Program,
    leaf_commands,
    public_messages,
    required_options,
    snapshot,
    start_program,
    unlimited,
)


def bot_command(program: Program, path: str) -> Any:
    head, *rest = path.split()
    node: Any = program.bot.tree.get_command(head)
    for part in rest:
        node = node.get_command(part)
    assert node is not None, f"/{path} is synced but the bot has no such command"
    return node


def refused(reply: Reply) -> bool:
    """The moderator refusal, or the Manage Server one of commands gated on that permission (/setup)."""
    text = reply.content
    return reply.ephemeral and text.startswith("⚠️") and (MODERATOR_REFUSAL in text or "You need the" in text)


async def assert_refused_without_effect(program: Program, label: str, send: Any) -> None:
    before, posts = await snapshot(program.bot), public_messages(program.emu)
    reply = await send()
    assert refused(reply), f"{label}: not refused ({reply.content!r})"
    assert await snapshot(program.bot) == before, f"{label}: a refused call changed the database"
    assert public_messages(program.emu) == posts, f"{label}: a refused call posted something"


async def test_every_moderator_command_is_refused_for_members_and_allowed_for_moderators(
    emu: Emulator, world: World, runner: BotRunner
) -> None:
    program = await start_program(emu, world, runner)
    unlimited(program.bot)
    gid = program.guild_id
    # Moderator commands, and any command Discord hides by default (default_member_permissions): the
    # latter can be opened to everyone by a server admin, so the bot must refuse members itself.
    synced = {command.name: command.data for command in [*emu.state.global_commands, *emu.state.commands_for(gid)]}
    gated = [(path, leaf, is_moderator_command(bot_command(program, path))) for path, leaf in leaf_commands(emu, gid)]
    commands = [
        (path, required_options(program, leaf), moderator)
        for path, leaf, moderator in gated
        if moderator or synced[path.split()[0]].get("default_member_permissions") is not None
    ]
    # The tree really is what we walked: the familiar moderator commands are in it, member commands are not.
    paths = {path for path, _, _ in commands}
    assert {"status", "setup", "codes import", "ambassador export", "points adjust"} <= paths, sorted(paths)
    assert not {"help", "code", "profile", "leaderboard"} & paths

    for who, user in (("member", world.alice), ("ambassador", program.ambassador)):
        actor = emu.actor(gid, user.id)
        for path, options, _ in commands:
            await assert_refused_without_effect(
                program, f"{who} /{path}", lambda a=actor, p=path, o=options: a.slash(p, **o)
            )

    for who, user in (("role moderator", program.role_moderator), ("Manage Server moderator", world.moderator)):
        actor = emu.actor(gid, user.id)
        for path, options, moderator in commands:
            if not moderator and user is program.role_moderator:
                continue  # gated on a Discord permission (Manage Server), which the role alone doesn't give
            reply = await actor.slash(path, **options)
            assert reply.type is not None and not refused(reply), f"{who} /{path} was refused: {reply.content!r}"


def registered_items(program: Program) -> list[type[Any]]:
    store = program.bot._connection._view_store
    return list(store._dynamic_items.values())


def sample_custom_id(item: type[Any]) -> str:
    """A custom_id the item's template matches: every numeric argument set to an id no record has."""
    pattern: re.Pattern[str] = item.__discord_ui_compiled_template__
    candidate = re.sub(r"\(\?P<\w+>\[0-9\]\+\)", "9", pattern.pattern)
    assert pattern.fullmatch(candidate), f"{item.__name__}: teach sample_custom_id its template {pattern.pattern}"
    return candidate


def carrying(program: Program, item: type[Any], custom_id: str) -> Message:
    """A bot message in #general with the item on it, as the bot renders such a button or select."""
    # DynamicItem[discord.ui.Select[...]] somewhere in the class's bases makes it a select menu.
    is_select = any("ui.select.Select" in repr(getattr(k, "__orig_bases__", ())) for k in item.__mro__)
    component: dict[str, Any] = (
        {"type": 3, "custom_id": custom_id, "options": [{"label": "one", "value": "0"}]}
        if is_select
        else {"type": 2, "style": 1, "label": "press", "custom_id": custom_id}
    )
    return program.emu.state.add_message(
        program.world.general_id, program.emu.bot.id, "matrix", components=[{"type": 1, "components": [component]}]
    )


async def press(program: Program, user_id: int, message: Message, custom_id: str) -> Reply:
    actor = program.emu.actor(program.guild_id, user_id)
    if message.components[0]["components"][0]["type"] == 3:
        return await actor.select(message, custom_id, ["0"])
    return await actor.click(message, custom_id)


async def test_every_moderator_button_is_refused_for_members_and_allowed_for_moderators(
    emu: Emulator, world: World, runner: BotRunner
) -> None:
    program = await start_program(emu, world, runner)
    unlimited(program.bot)
    items = registered_items(program)
    moderator_items = [item for item in items if getattr(item, "moderator_only", False)]
    names = {item.__name__ for item in moderator_items}
    assert {"ApproveButton", "RejectButton", "PublishButton", "ApproveSubmissionButton"} <= names, names
    assert len(items) > len(moderator_items)  # member buttons (votes, RSVPs, opt-ins) are registered too

    for item in items:
        custom_id = sample_custom_id(item)
        message = carrying(program, item, custom_id)
        if item in moderator_items:
            for who, user in (("member", world.alice), ("ambassador", program.ambassador)):
                await assert_refused_without_effect(
                    program,
                    f"{who} pressing {item.__name__}",
                    lambda u=user.id, m=message, c=custom_id: press(program, u, m, c),
                )
            for who, user in (("role moderator", program.role_moderator), ("moderator", world.moderator)):
                reply = await press(program, user.id, message, custom_id)
                assert reply.type is not None and not refused(reply), f"{who} refused at {item.__name__}"
        else:
            reply = await press(program, world.alice.id, message, custom_id)
            assert not refused(reply), f"{item.__name__} refuses members: declare moderator_only = True on it"

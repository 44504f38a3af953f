"""A running program for the reliability tests: /setup done, bob an ambassador with a code, four roles to act as.

Everything goes through the emulator and the unmodified bot; only the rate limiter's clock is swapped when a
test sends many interactions on purpose (the limiter is tested on its own in test_cooldowns.py).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.app import CollectiveBot
from bot.cooldowns import Cooldowns
from bot.services.program.bindings import ROLE_MODERATOR, get_binding
from bot.storage.catalogue import table_columns
from emulator import Emulator
from emulator.models import VOICE, User
from tests.e2e.conftest import BotRunner, World

MODERATOR_REFUSAL = "Only program moderators"
SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2
STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, MENTIONABLE, NUMBER, ATTACHMENT = 3, 4, 5, 6, 7, 8, 9, 10, 11
CSV = b"Name,Email,Financial Status,Discount Code,Total,Currency,Created at\n"


def leaf_commands(emu: Emulator, guild_id: int) -> list[tuple[str, dict[str, Any]]]:
    """(path, leaf JSON) for every synced chat-input command, as Discord holds them."""
    found: list[tuple[str, dict[str, Any]]] = []

    def walk(path: str, node: dict[str, Any]) -> None:
        subs = [o for o in node.get("options", []) if o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP)]
        if not subs:
            found.append((path, node))
        for sub in subs:
            walk(f"{path} {sub['name']}", sub)

    for command in [*emu.state.global_commands, *emu.state.commands_for(guild_id)]:
        if command.type == 1:
            walk(command.name, command.data)
    return found


def plausible(program: Program, option: dict[str, Any]) -> Any:
    """A value of the option's type that Discord would accept, for every required option."""
    kind = option["type"]
    if option.get("choices"):
        return option["choices"][0]["value"]
    if kind == STRING:
        text = "test"[: option.get("max_length", 4)]
        return text.ljust(option.get("min_length", 0), "x")
    if kind in (INTEGER, NUMBER):
        low, high = option.get("min_value", 1), option.get("max_value", 10**6)
        return max(low, min(high, 1))
    if kind == BOOLEAN:
        return False
    if kind in (USER, MENTIONABLE):
        return program.target.id
    if kind == ROLE:
        return program.world.guild.id  # @everyone
    if kind == CHANNEL:
        types = option.get("channel_types") or [0]
        if 0 in types:
            return program.world.general_id
        return program.emu.create_channel(program.guild_id, "matrix-voice", type=types[0] if types else VOICE).id
    if kind == ATTACHMENT:
        return ("orders_export.csv", CSV, "text/csv")
    raise AssertionError(f"option type {kind} has no generator; teach plausible() about it")


def required_options(program: Program, leaf: dict[str, Any]) -> dict[str, Any]:
    return {o["name"]: plausible(program, o) for o in leaf.get("options", []) if o.get("required")}


@dataclass
class Program:
    bot: CollectiveBot
    emu: Emulator
    world: World
    ambassador: User  # bob, approved through /ambassador add
    role_moderator: User  # carol: the bound Program Moderator role, no Manage Server
    target: User  # dana: a plain member that commands aimed at someone point to
    code: str  # bob's discount code

    @property
    def guild_id(self) -> int:
        return self.world.guild.id


async def start_program(emu: Emulator, world: World, runner: BotRunner) -> Program:
    bot = await runner.start()
    gid = world.guild.id
    mira = emu.actor(gid, world.moderator.id)
    assert (await mira.slash("setup")).ephemeral
    added = await mira.slash("ambassador add", member=world.bob.id)
    code = await bot.db.fetchval(
        "SELECT code FROM codes WHERE guild_id = ? AND user_id = ? AND status = 'active'", (gid, world.bob.id)
    )
    assert code and code in added.content, added.content
    role_id = await get_binding(bot.db, gid, ROLE_MODERATOR)
    assert role_id is not None
    carol = emu.add_member(gid, "carol", roles=[role_id])
    dana = emu.add_member(gid, "dana")
    await until(lambda: bot.get_guild(gid) is not None and bot.get_guild(gid).get_member(dana.id) is not None)  # type: ignore[union-attr]
    return Program(bot, emu, world, world.bob, carol, dana, str(code))


def unlimited(bot: CollectiveBot) -> None:
    """Let a test send many interactions in a row: every take() sees a minute passed since the last."""
    ticks = itertools.count(step=60)
    bot.tree.cooldowns = Cooldowns(clock=lambda: float(next(ticks)))  # type: ignore[attr-defined]


async def until(check: Callable[[], object], limit: float = 5.0) -> None:
    for _ in range(int(limit / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition never held")


async def snapshot(bot: CollectiveBot) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to prove a refused action wrote nothing."""
    state: dict[str, list[tuple[Any, ...]]] = {}
    for table in sorted(await table_columns(bot.db)):
        rows = await bot.db.fetchall(f'SELECT * FROM "{table}"')
        state[table] = sorted((tuple(r) for r in rows), key=repr)
    return state


def public_messages(emu: Emulator) -> int:
    """Messages anyone but the clicker could see: posts in channels and DMs (ephemeral replies excluded)."""
    return sum(1 for m in emu.state.messages.values() if not m.ephemeral and not m.deleted)

"""No command shows a member's private data — code, email, sales — to anyone but that member and moderators.

What is public is what the program itself publishes: names, tiers, points and ranks (leaderboards), and the
top sellers' totals on the sales leaderboard. A member's code, email, sales figures and pending submissions
are theirs: /code and /profile show them to the member (ephemerally), moderators see them in their tools.
Every non-moderator command that takes a member is generated from the synced tree and aimed at bob.
"""

from __future__ import annotations

from typing import Any

from bot.checks import is_moderator_command
from emulator import Emulator
from emulator.driver import Reply
from tests.e2e.conftest import BotRunner, World
from tests.reliability.program import (
    MENTIONABLE,
    USER,
    Program,
    leaf_commands,
    required_options,
    start_program,
    unlimited,
)

EMAIL = "bob.private@example.com"
AMOUNT = "4321.09"  # shown as 4,321.09


def everything_shown(reply: Reply) -> str:
    """The reply, its follow-ups and any attached files, as one text."""
    parts = [reply.text]
    for message in reply.followups:
        parts.append(message.content)
        parts += [str(embed) for embed in message.embeds]
        parts += [data.decode("utf-8", "replace") for data in message.files.values()]
    parts += [data.decode("utf-8", "replace") for data in reply.files.values()]
    return "\n".join(parts)


def private_bits(program: Program) -> list[str]:
    return [program.code, program.code.lower(), EMAIL, "4,321.09", AMOUNT, "Code sales"]


async def prepare(emu: Emulator, world: World, runner: BotRunner) -> Program:
    program = await start_program(emu, world, runner)
    unlimited(program.bot)
    gid = program.guild_id
    mira = emu.actor(gid, world.moderator.id)
    assert "Added" in (await mira.slash("ambassador add", member=world.alice.id)).content
    await program.bot.db.execute(
        "UPDATE members SET email = ? WHERE guild_id = ? AND user_id = ?", (EMAIL, gid, program.ambassador.id)
    )
    sale = await mira.slash("codes record", order_id="POPUP-1", code=program.code, amount=AMOUNT, currency="EUR")
    assert "Recorded" in sale.content, sale.content
    return program


def member_commands(program: Program) -> list[tuple[str, dict[str, Any]]]:
    """Every command a non-moderator may use that takes a member, with bob as that member."""
    found = []
    for path, leaf in leaf_commands(program.emu, program.guild_id):
        head, *rest = path.split()
        node: Any = program.bot.tree.get_command(head)
        for part in rest:
            node = node.get_command(part)
        if is_moderator_command(node):
            continue
        targets = [o["name"] for o in leaf.get("options", []) if o["type"] in (USER, MENTIONABLE)]
        for option in targets:
            found.append((path, {**required_options(program, leaf), option: program.ambassador.id}))
    return found


async def test_no_member_command_shows_another_members_code_email_or_sales(
    emu: Emulator, world: World, runner: BotRunner
) -> None:
    program = await prepare(emu, world, runner)
    gid = program.guild_id
    commands = member_commands(program)
    assert "profile" in {path for path, _ in commands}
    for who, user in (("ambassador", world.alice), ("member", program.target)):
        for path, options in commands:
            shown = everything_shown(await emu.actor(gid, user.id).slash(path, **options))
            leaked = [bit for bit in private_bits(program) if bit in shown]
            assert not leaked, f"{who} /{path} {options} shows bob's {leaked}"

    # What alice may see of bob: the public part of his profile.
    seen = await emu.actor(gid, world.alice.id).slash("profile", member=program.ambassador.id)
    assert seen.ephemeral and "Points overall" in seen.text and "Rank" in seen.text and "pending" not in seen.text
    # A member outside the active program shows nothing at all (their application's fate is private too).
    nobody = await emu.actor(gid, world.alice.id).slash("profile", member=program.target.id)
    assert nobody.ephemeral and nobody.content.startswith("⚠️")


async def test_the_member_and_moderators_do_see_it(emu: Emulator, world: World, runner: BotRunner) -> None:
    program = await prepare(emu, world, runner)
    gid = program.guild_id
    bob = emu.actor(gid, program.ambassador.id)
    own = await bob.slash("profile")
    assert own.ephemeral and "Code sales" in own.text and "4,321.09" in own.text and "pending" in own.text
    code = await bob.slash("code")
    assert code.ephemeral and program.code in everything_shown(code)
    for moderator in (world.moderator, program.role_moderator):
        shown = await emu.actor(gid, moderator.id).slash("profile", member=program.ambassador.id)
        assert shown.ephemeral and "4,321.09" in shown.text, moderator.username
    info = await emu.actor(gid, world.moderator.id).slash("ambassador info", member=program.ambassador.id)
    assert info.ephemeral and program.code in everything_shown(info)

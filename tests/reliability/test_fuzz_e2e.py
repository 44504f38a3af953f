"""Fuzzing through the emulator: every slash command Discord knows (walked from the synced payload, so a new
command or option is covered without editing this file), with hostile option values, and every modal a
command opens, with hostile text in each field.

Property: the bot answers every time; a refusal is a "⚠️ …" message and leaves the database untouched; the
"Sorry — something went wrong" apology never appears, and nothing unexpected is logged (the runner checks).
One bot serves all examples of a test.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from bot.app import CollectiveBot
from bot.clock import to_db
from bot.cooldowns import Allowance, Cooldowns
from bot.services.program import bindings
from bot.tree import CollectiveTree
from emulator import Emulator, Reply
from emulator.driver import Actor
from emulator.models import Message, walk_components
from tests.e2e.conftest import BotRunner, World
from tests.e2e.test_content_e2e import Channels, publish_brief, submit_through_button
from tests.e2e.test_onboarding_e2e import apply
from tests.reliability.fuzz_strategies import FUZZ, any_text, dates, ids, numbers, snapshot

SUB_COMMAND, SUB_GROUP, STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, MENTIONABLE, NUMBER, ATTACHMENT = range(1, 12)
# No shrinking: examples share one bot and database, so a replay is not the same run; report the first failure.
E2E = settings(FUZZ, max_examples=15, phases=[Phase.explicit, Phase.generate])
APOLOGY = "something went wrong"
ANSWER_LIMIT = 10.0


@dataclass
class Live:
    emu: Emulator
    world: World
    bot: CollectiveBot
    actor: Actor
    leaves: list[tuple[str, list[dict[str, Any]]]]  # (command path, its options) from the synced payload
    role_id: int
    channels: dict[str, int]


def leaves_of(command: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    found: list[tuple[str, list[dict[str, Any]]]] = []

    def walk(path: str, level: dict[str, Any]) -> None:
        subs = [o for o in level.get("options", []) if o["type"] in (SUB_COMMAND, SUB_GROUP)]
        if not subs:
            found.append((path, list(level.get("options", []))))
        for sub in subs:
            walk(f"{path} {sub['name']}", sub)

    walk(command["name"], command)
    return found


@pytest.fixture
async def live(emu: Emulator, world: World, runner: BotRunner) -> Live:
    bot = await runner.start()
    # Fuzzing sends far more commands than a person: lift the per-member cooldown for this bot.
    assert isinstance(bot.tree, CollectiveTree)
    bot.tree.cooldowns = Cooldowns(member=Allowance(10**6, 10**6.0), moderator=Allowance(10**6, 10**6.0))
    guild_id, now = world.guild.id, bot.clock.now()
    made = {name: emu.create_channel(world.guild.id, name).id for name in bindings.CHANNELS if name != "category"}
    async with bot.db.transaction() as tx:
        for name, channel_id in made.items():
            await bindings.bind(tx, guild_id, bindings.channel_purpose(name), channel_id, now)
        for user in (world.moderator, world.alice):  # the moderator is an ambassador too: member commands get far
            await tx.execute(
                "INSERT INTO members (guild_id, user_id, display_name, status, status_changed_at, created_at)"
                " VALUES (?, ?, ?, 'active', ?, ?) ON CONFLICT DO NOTHING",
                (guild_id, user.id, user.username, to_db(now), to_db(now)),
            )
    await asyncio.sleep(0.1)  # CHANNEL_CREATE reaches the bot
    commands = [c.data for c in emu.state.commands_for(guild_id) + emu.state.global_commands if c.data["type"] == 1]
    leaves = sorted(leaf for command in commands for leaf in leaves_of(command))
    role = emu.create_role(guild_id, "Fuzz role")
    return Live(emu, world, bot, emu.actor(guild_id, world.moderator.id), leaves, role.id, made)


def fit(text: str, spec: dict[str, Any]) -> str:
    """Text as Discord would let it through for this option or input: within its length limits, never blank."""
    low, high = max(spec.get("min_length", 1), 1), spec.get("max_length", 6000 if "type" in spec else 4000)
    return (text[:high] if text.strip() else "x").ljust(low, "x")


def text_for(spec: dict[str, Any]) -> st.SearchStrategy[str]:
    return st.one_of(any_text(4000), numbers(), dates()).map(lambda text: fit(text, spec))


# Modal answers are drawn up front, a fixed number per example: whether a modal opens depends on the bot's
# state, and hypothesis needs the same draws whatever the state.
MODAL_TEXTS = st.lists(st.one_of(any_text(4000), numbers(), dates()), min_size=8, max_size=8)


def modal_answers(modal: dict[str, Any], texts: list[str]) -> dict[str, str]:
    return {field["custom_id"]: fit(texts[i % len(texts)], field) for i, field in enumerate(modal_inputs(modal))}


def value_for(live: Live, option: dict[str, Any]) -> st.SearchStrategy[Any]:
    kind = option["type"]
    if option.get("choices"):
        return st.sampled_from([choice["value"] for choice in option["choices"]])
    if kind == STRING and option.get("autocomplete"):
        # Autocompleted options carry ids ("12", "#12"), but a member may type anything instead of picking.
        return st.one_of(ids(), ids().map(lambda i: "#" + i), text_for(option))
    if kind == STRING:
        return text_for(option)
    if kind in (INTEGER, NUMBER):
        low, high = option.get("min_value", -(2**53)), option.get("max_value", 2**53)
        return st.one_of(st.sampled_from([low, high, 0 if low <= 0 <= high else low]), st.integers(low, high))
    if kind == BOOLEAN:
        return st.booleans()
    if kind in (USER, MENTIONABLE):
        return st.sampled_from([live.world.alice.id, live.world.bob.id, live.world.moderator.id])
    if kind == CHANNEL:
        return st.just(live.world.general_id)
    if kind == ROLE:
        return st.just(live.role_id)
    if kind == ATTACHMENT:
        payload = st.one_of(st.binary(max_size=300), any_text(300).map(lambda t: ("Name,Currency\n" + t).encode()))
        name = st.sampled_from([("orders.csv", "text/csv"), ("pic.png", "image/png"), ("x.exe", None)])
        return st.tuples(name, payload).map(lambda p: (p[0][0], p[1], p[0][1]))
    raise AssertionError(f"no fuzz strategy for option type {kind}")


async def answered(reply: Reply) -> Reply:
    return await asyncio.wait_for(reply.wait_answered(), ANSWER_LIMIT)


def everything(reply: Reply) -> str:
    return "\n".join([reply.text, *(message.content for message in reply.followups)])


async def check_outcome(live: Live, reply: Reply, before: Any, label: str) -> None:
    shown = everything(reply)
    assert APOLOGY not in shown, f"{label}: {shown[:300]}"
    if shown.startswith("⚠️") and not reply.followups:
        assert await snapshot(live.bot.db) == before, f"{label} was refused ({shown[:200]!r}) but changed the database"


def modal_inputs(modal: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for row in modal.get("components", []):
        for component in [row.get("component")] if row.get("type") == 18 else row.get("components", []):
            if component and component.get("type") == 4:
                found.append(component)
    return found


@E2E
@given(data=st.data())
async def test_every_command_with_hostile_options(live: Live, data: st.DataObject) -> None:
    """Each example is a sweep: every command once, with freshly drawn options (and its modal, if it opens one)."""
    texts = data.draw(MODAL_TEXTS, label="modal texts")
    for path, options in live.leaves:
        values = {
            option["name"]: data.draw(value_for(live, option), label=f"/{path} {option['name']}")
            for option in options
            if option.get("required") or data.draw(st.booleans(), label=f"/{path} give {option['name']}")
        }
        before = await snapshot(live.bot.db)
        reply = await answered(await live.actor.slash(path, **values))
        await check_outcome(live, reply, before, f"/{path} {values}")
        if reply.modal is not None:
            answers = modal_answers(reply.modal, texts)
            before = await snapshot(live.bot.db)
            submitted = await answered(await live.actor.submit_modal(reply.modal, answers))
            await check_outcome(live, submitted, before, f"modal of /{path} {answers}")


@pytest.fixture
async def posted(live: Live) -> Live:
    """Posts with buttons, made the way members make them: a published brief, a submission in review, an
    application in review, a poll that asks for a comment."""
    emu, world = live.emu, live.world
    channels = Channels(**{name: live.channels[name] for name in ("briefs", "drops", "showcase", "review", "audit")})
    brief = await publish_brief(emu, world, channels)
    await submit_through_button(emu, world, brief, world.alice.id, "https://www.tiktok.com/@alice/video/7301")
    await apply(emu, world, world.bob.id)
    await live.actor.slash("poll create", question="Which scent?", options="Rose|Oud", duration="1d", comment="Why?")
    for _ in range(100):  # the poll is posted after the command answers
        if emu.state.messages_in(live.channels["focus_group"]):
            break
        await asyncio.sleep(0.02)
    return live


def enabled_ids(message: Message) -> list[str]:
    return [
        str(component["custom_id"])
        for component in walk_components(message.components)
        if component.get("type") == 2 and component.get("custom_id") and not component.get("disabled")
    ]


def buttons(live: Live) -> list[tuple[Message, str]]:
    """Every button on every message in the program's channels, in a stable order."""
    return [
        (message, custom_id)
        for channel_id in sorted(live.channels.values())
        for message in live.emu.state.messages_in(channel_id)
        for custom_id in enabled_ids(message)
    ]


@E2E
@given(data=st.data())
async def test_every_button_modal_with_hostile_text(posted: Live, data: st.DataObject) -> None:
    """Each example presses every button once (as a drawn member); every modal that opens gets hostile text."""
    live = posted
    people = [live.world.alice.id, live.world.bob.id, live.world.moderator.id]
    texts = data.draw(MODAL_TEXTS, label="modal texts")
    pressers = data.draw(st.lists(st.sampled_from(people), min_size=32, max_size=32), label="who presses")
    for index, (message, custom_id) in enumerate(buttons(live)):
        who = pressers[index % len(pressers)]
        message = live.emu.state.message(message.id)
        if custom_id not in enabled_ids(message):  # an earlier press in this sweep edited the post
            continue
        actor = live.emu.actor(live.world.guild.id, who).in_channel(message.channel_id)
        before = await snapshot(live.bot.db)
        reply = await answered(await actor.click(message, custom_id))
        await check_outcome(live, reply, before, f"button {custom_id}")
        if reply.modal is None:
            continue
        answers = modal_answers(reply.modal, texts)
        before = await snapshot(live.bot.db)
        submitted = await answered(await actor.submit_modal(reply.modal, answers))
        await check_outcome(live, submitted, before, f"modal {reply.modal.get('custom_id')} {answers}")

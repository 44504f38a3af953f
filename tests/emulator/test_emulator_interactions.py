"""Interaction round trips between the emulator's driver and a plain discord.py bot."""

from __future__ import annotations

import asyncio

import discord
import pytest
from discord import app_commands

from emulator import Emulator, Guild
from tests.emulator.conftest import EmuBot, running, wait_for


class Feedback(discord.ui.Modal, title="Feedback"):
    text: discord.ui.TextInput[Feedback] = discord.ui.TextInput(label="What did you think?", custom_id="feedback_text")

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"thanks: {self.text.value}", ephemeral=True)


class Verdict(discord.ui.Modal, title="Verdict"):
    """A select inside a label, beside a text input in one: how forms ask a pick-one question."""

    note: discord.ui.Label[Verdict] = discord.ui.Label(
        text="Note", component=discord.ui.TextInput(custom_id="note", required=False)
    )
    choice: discord.ui.Label[Verdict] = discord.ui.Label(
        text="Feature it?",
        component=discord.ui.Select(
            custom_id="choice",
            options=[
                discord.SelectOption(label="Yes", value="yes"),
                discord.SelectOption(label="No", value="no", default=True),
            ],
        ),
    )

    async def on_submit(self, interaction: discord.Interaction) -> None:
        assert isinstance(self.note.component, discord.ui.TextInput)
        assert isinstance(self.choice.component, discord.ui.Select)
        picked = ",".join(self.choice.component.values)
        await interaction.response.send_message(f"{picked}: {self.note.component.value}", ephemeral=True)


class Counter(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)
        self.count = 0

    @discord.ui.button(label="+1", custom_id="counter:inc")
    async def inc(self, interaction: discord.Interaction, button: discord.ui.Button[Counter]) -> None:
        self.count += 1
        await interaction.response.edit_message(content=f"count {self.count}", view=self)


class Picker(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.select(custom_id="picker:colour", options=[discord.SelectOption(label=c) for c in ("red", "blue")])
    async def pick(self, interaction: discord.Interaction, select: discord.ui.Select[Picker]) -> None:
        await interaction.response.defer()  # component + no thinking: type 6
        await interaction.edit_original_response(content=f"picked {select.values[0]}", view=None)


def build_commands(bot: EmuBot) -> None:
    @bot.tree.command(description="Pick a colour")
    async def pick(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("pick one", view=Picker())

    @bot.tree.command(description="Say hello")
    async def hello(interaction: discord.Interaction, name: str) -> None:
        await interaction.response.send_message(f"hello {name}", ephemeral=True)

    @bot.tree.command(description="Slow answer")
    async def slow(interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await asyncio.sleep(0.05)
        await interaction.followup.send("done", embed=discord.Embed(title="Result"))

    @bot.tree.command(description="Counter")
    async def counter(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("count 0", view=Counter())

    @bot.tree.command(description="Feedback form")
    async def feedback(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(Feedback())

    @bot.tree.command(description="Give a verdict")
    async def verdict(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(Verdict())

    @bot.tree.command(description="Answers twice")
    async def twice(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("first")
        # A second, independent responder (as when two handlers race) gets past discord.py's own
        # guard, so the emulator must refuse it.
        try:
            await discord.InteractionResponse(interaction).send_message("second")
        except discord.HTTPException as exc:
            bot.events.append(("second_answer_error", exc))

    group = app_commands.Group(name="codes", description="Discount codes")

    @group.command(name="set", description="Give a member a code")
    async def codes_set(interaction: discord.Interaction, member: discord.Member, code: str) -> None:
        await interaction.response.send_message(f"{member.name} gets {code}", ephemeral=True)

    @group.command(name="brief", description="Find a brief")
    async def codes_brief(interaction: discord.Interaction, brief: str) -> None:
        await interaction.response.send_message(brief, ephemeral=True)

    @codes_brief.autocomplete("brief")
    async def brief_choices(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        names = ["summer drop", "sunset reel", "winter"]
        return [app_commands.Choice(name=n, value=n) for n in names if n.startswith(current)]

    bot.tree.add_command(group)


async def test_slash_command_ephemeral_round_trip(emu: Emulator, guild: Guild) -> None:
    alice = emu.add_member(guild.id, "alice")
    async with running(emu, EmuBot(build_commands)):
        await emu.wait_for_commands()
        reply = await emu.actor(guild.id, alice.id).slash("hello", name="Alice")
        assert reply.type == 4
        assert reply.ephemeral
        assert reply.content == "hello Alice"
        assert reply.message is not None and reply.message.channel_id == guild.system_channel_id


async def test_subcommand_with_user_option_and_autocomplete(emu: Emulator, guild: Guild) -> None:
    alice = emu.add_member(guild.id, "alice")
    bob = emu.add_member(guild.id, "bob")
    async with running(emu, EmuBot(build_commands)):
        actor = emu.actor(guild.id, alice.id)
        reply = await actor.slash("codes set", member=bob.id, code="VIP")
        assert reply.content == "bob gets VIP"
        choices = await actor.autocomplete("codes brief", "brief", "su")
        assert [c["value"] for c in choices] == ["summer drop", "sunset reel"]
        with pytest.raises(AssertionError, match="no options"):
            await actor.slash("codes set", member=bob.id, cod="VIP")


async def test_defer_then_followup(emu: Emulator, guild: Guild) -> None:
    alice = emu.add_member(guild.id, "alice")
    async with running(emu, EmuBot(build_commands)):
        reply = await emu.actor(guild.id, alice.id).slash("slow")
        assert reply.type == 5
        followup = await reply.wait_followup()
        assert followup.content == "done"
        assert followup.embeds[0]["title"] == "Result"
        # The first follow-up after a thinking defer replaces the loading message, as on Discord.
        assert reply.message is not None and reply.message.id == followup.id and reply.message.ephemeral
        assert reply.content == "done"


async def test_button_click_updates_message(emu: Emulator, guild: Guild) -> None:
    alice = emu.add_member(guild.id, "alice")
    async with running(emu, EmuBot(build_commands)):
        actor = emu.actor(guild.id, alice.id)
        reply = await actor.slash("counter")
        assert reply.message is not None and reply.message.custom_ids() == ["counter:inc"]
        clicked = await actor.click(reply.message, "counter:inc")
        assert clicked.type == 7
        assert clicked.message is not None and clicked.message.id == reply.message.id
        assert clicked.content == "count 1"


async def test_modal_shown_and_submitted(emu: Emulator, guild: Guild) -> None:
    alice = emu.add_member(guild.id, "alice")
    async with running(emu, EmuBot(build_commands)):
        actor = emu.actor(guild.id, alice.id)
        reply = await actor.slash("feedback")
        assert reply.type == 9 and reply.modal is not None
        assert reply.modal["title"] == "Feedback"
        answer = await actor.submit_modal(reply.modal, {"feedback_text": "great"})
        assert answer.content == "thanks: great"
        assert answer.ephemeral


async def test_a_select_in_a_modal_is_answered_with_the_values_picked(emu: Emulator, guild: Guild) -> None:
    alice = emu.add_member(guild.id, "alice")
    async with running(emu, EmuBot(build_commands)):
        actor = emu.actor(guild.id, alice.id)
        reply = await actor.slash("verdict")
        assert (await actor.submit_modal(reply.modal, {"note": "nice", "choice": ["yes"]})).content == "yes: nice"
        reply = await actor.slash("verdict")
        assert (await actor.submit_modal(reply.modal, {})).content == "no: "  # untouched: its default option
        reply = await actor.slash("verdict")
        with pytest.raises(AssertionError, match="offers"):
            await actor.submit_modal(reply.modal, {"choice": ["maybe"]})
        with pytest.raises(AssertionError, match="list of values"):
            await actor.submit_modal(reply.modal, {"choice": "yes"})


async def test_second_initial_response_is_refused(emu: Emulator, guild: Guild) -> None:
    alice = emu.add_member(guild.id, "alice")
    bot = EmuBot(build_commands)
    async with running(emu, bot):
        reply = await emu.actor(guild.id, alice.id).slash("twice")
        assert reply.content == "first"
        await wait_for(lambda: any(name == "second_answer_error" for name, _ in bot.events))
        error = next(exc for name, exc in bot.events if name == "second_answer_error")
        assert error.status == 400 and error.code == 40060


async def test_late_initial_response_is_unknown_interaction(emu: Emulator, guild: Guild) -> None:
    emu.ack_timeout = 0.05

    def late_command(bot: EmuBot) -> None:
        @bot.tree.command(description="Too slow to acknowledge")
        async def late(interaction: discord.Interaction) -> None:
            await asyncio.sleep(0.1)
            await interaction.response.defer()

    alice = emu.add_member(guild.id, "alice")
    bot = EmuBot(late_command)
    async with running(emu, bot):
        actor = emu.actor(guild.id, alice.id)
        actor.timeout = 0.3
        with pytest.raises(AssertionError, match="/late: the bot never responded"):
            await actor.slash("late")
        await wait_for(lambda: bool(bot.errors))
        cause = bot.errors[0].__cause__
        assert isinstance(cause, discord.NotFound) and cause.code == 10062


async def test_select_with_deferred_update_then_edit(emu: Emulator, guild: Guild) -> None:
    alice = emu.add_member(guild.id, "alice")
    async with running(emu, EmuBot(build_commands)):
        actor = emu.actor(guild.id, alice.id)
        shown = await actor.slash("pick")
        assert shown.message is not None
        picked = await actor.select(shown.message, "picker:colour", ["blue"])
        assert picked.type == 6
        assert picked.content == "picked blue" and picked.components == []
        assert picked.message is not None and picked.message.id == shown.message.id
        with pytest.raises(AssertionError, match="no component"):
            await actor.click(shown.message, "picker:missing")

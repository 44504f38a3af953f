"""Request validation: real discord.py bodies pass, each documented limit fails at Discord's error path.

Bodies are produced by discord.py itself: its HTTP layers are patched to record the request (method,
path, JSON or ``payload_json``) and stop before anything is sent.
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import gzip
import json
import random
from collections.abc import AsyncIterator, Awaitable
from typing import Any, cast

import aiohttp
import discord
import pytest
from discord import app_commands
from discord.http import HTTPClient, Route
from discord.webhook.async_ import AsyncWebhookAdapter
from jsonschema import Draft202012Validator  # type: ignore[import-untyped, unused-ignore]
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from emulator import validation
from emulator.validation import validate_request
from emulator.validation_limits import command_size, embed_size

API = "/api/v10"
START = datetime.datetime(2026, 12, 1, 18, 0, tzinfo=datetime.UTC)

Request = tuple[str, str, Any]


class _Sent(Exception):
    """Raised by the patched transports once a request is recorded."""


class Capture:
    """Records what discord.py would send; ``await capture(coro)`` runs one call up to the wire."""

    def __init__(self) -> None:
        self.requests: list[Request] = []

    def record(self, route: Route, body: object, form: list[dict[str, Any]] | None) -> None:
        for part in form or ():
            if part.get("name") == "payload_json":
                body = json.loads(part["value"])
        path = route.url.split(API, 1)[1].split("?", 1)[0]
        self.requests.append((route.method, path, body))
        raise _Sent

    async def __call__(self, call: Awaitable[Any]) -> None:
        with contextlib.suppress(_Sent):
            await call


@pytest.fixture
def capture(monkeypatch: pytest.MonkeyPatch) -> Capture:
    recorder = Capture()

    async def http_request(self: HTTPClient, route: Route, *, files: Any = None, form: Any = None, **kw: Any) -> Any:
        recorder.record(route, kw.get("json"), form)

    async def webhook_request(
        self: AsyncWebhookAdapter,
        route: Route,
        session: Any = None,
        *,
        payload: Any = None,
        multipart: Any = None,
        **kw: Any,
    ) -> Any:
        recorder.record(route, payload, multipart)

    monkeypatch.setattr(HTTPClient, "request", http_request)
    monkeypatch.setattr(AsyncWebhookAdapter, "request", webhook_request)
    return recorder


@pytest.fixture
async def client() -> AsyncIterator[discord.Client]:
    bot = discord.Client(intents=discord.Intents.default())
    state = bot._connection
    state.user = discord.ClientUser(
        state=state,
        data={"id": "11", "username": "bot", "discriminator": "0", "avatar": None, "global_name": None, "bot": True},
    )
    state.application_id = 11
    yield bot
    await bot.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as http_session:
        yield http_session


def assert_valid(requests: list[Request]) -> None:
    assert requests
    for method, path, body in requests:
        assert validate_request(method, path, body) is None, (method, path, body)


def errors_of(method: str, path: str, body: object) -> dict[str, Any]:
    result = validate_request(method, path, body)
    assert result is not None, "expected the body to be rejected"
    assert result["code"] == 50035
    assert result["message"] == "Invalid Form Body"
    errors = result["errors"]
    assert isinstance(errors, dict)
    return errors


def leaf(errors: dict[str, Any], *path: str | int) -> list[str]:
    """The error codes at one nested path."""
    node: Any = errors
    for key in path:
        assert str(key) in node, (path, json.dumps(errors))
        node = node[str(key)]
    return [entry["code"] for entry in node["_errors"]]


# --- discord.py objects ---------------------------------------------------------------------------


def rich_embed(title: str = "Weekly digest") -> discord.Embed:
    embed = discord.Embed(
        title=title,
        description="Sales and content of the week.",
        colour=discord.Colour.blurple(),
        url="https://example.com/digest",
        timestamp=START,
    )
    embed.add_field(name="Sales", value="12", inline=True).add_field(name="Points", value="300")
    embed.set_footer(text="Collective", icon_url="https://example.com/icon.png")
    embed.set_author(name="Brand", url="https://example.com", icon_url="https://example.com/a.png")
    embed.set_thumbnail(url="https://example.com/t.png").set_image(url="https://example.com/i.png")
    return embed


def review_view() -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(
        discord.ui.Button(
            label="Approve", style=discord.ButtonStyle.success, custom_id="collective:review:approve:1", emoji="✅"
        )
    )
    view.add_item(
        discord.ui.Button(label="Reject", style=discord.ButtonStyle.danger, custom_id="collective:review:reject:1")
    )
    view.add_item(discord.ui.Button(label="Guide", url="https://example.com/guide"))
    options = [
        discord.SelectOption(label="Gold", value="gold", description="Top tier", emoji="🥇", default=True),
        discord.SelectOption(label="Silver", emoji=discord.PartialEmoji(name="silver", id=1234)),
    ]
    view.add_item(discord.ui.Select(custom_id="collective:tier", placeholder="Tier", options=options, row=1))
    view.add_item(discord.ui.UserSelect(custom_id="collective:user", row=2))
    view.add_item(
        discord.ui.ChannelSelect(custom_id="collective:chan", channel_types=[discord.ChannelType.text], row=3)
    )
    view.add_item(discord.ui.RoleSelect(custom_id="collective:role", min_values=0, max_values=3, row=4))
    return view


class ApplyModal(discord.ui.Modal, title="Apply to the program"):
    handle: discord.ui.TextInput[ApplyModal] = discord.ui.TextInput(label="Your handle", max_length=80)
    why: discord.ui.TextInput[ApplyModal] = discord.ui.TextInput(
        label="Why the brand?", style=discord.TextStyle.paragraph, min_length=10, max_length=1000, required=False
    )


class ReviewModal(discord.ui.Modal, title="Review submission"):
    intro: discord.ui.TextDisplay[Any] = discord.ui.TextDisplay("Decide on this submission.")
    decision: discord.ui.Label[ReviewModal] = discord.ui.Label(
        text="Decision",
        component=discord.ui.Select(custom_id="decision", options=[discord.SelectOption(label="Approve")]),
    )
    note: discord.ui.Label[ReviewModal] = discord.ui.Label(
        text="Note", description="Shown to the ambassador", component=discord.ui.TextInput(style=discord.TextStyle.long)
    )


class DigestLayout(discord.ui.LayoutView):
    container: discord.ui.Container[DigestLayout] = discord.ui.Container(
        discord.ui.TextDisplay("# Weekly digest"),
        discord.ui.Separator(),
        discord.ui.Section(
            discord.ui.TextDisplay("12 sales"), accessory=discord.ui.Thumbnail("https://example.com/t.png")
        ),
        discord.ui.ActionRow(discord.ui.Button(label="Details", custom_id="collective:digest:details")),
        accent_colour=discord.Colour.green(),
    )


def interaction(
    client: discord.Client, session: aiohttp.ClientSession, *, component: bool = False
) -> discord.Interaction:
    user = {"id": "5", "username": "amb", "discriminator": "0", "avatar": None, "global_name": None}
    data: dict[str, Any] = {
        "id": "10",
        "application_id": "11",
        "type": 2,
        "token": "tok",
        "version": 1,
        "data": {"id": "12", "name": "apply", "type": 1},
        "channel_id": "123",
        "channel": {"id": "123", "type": 0, "guild_id": "1", "name": "general", "position": 0},
        "guild_id": "1",
        "member": {
            "user": user,
            "roles": [],
            "joined_at": "2026-01-01T00:00:00+00:00",
            "deaf": False,
            "mute": False,
            "flags": 0,
        },
        "app_permissions": "0",
        "locale": "en-US",
        "entitlements": [],
        "authorizing_integration_owners": {"0": "1"},
        "context": 0,
        "attachment_size_limit": 10_000_000,
    }
    if component:
        data["type"] = 3
        data["data"] = {"custom_id": "collective:review:approve:1", "component_type": 2}
        data["message"] = {
            "id": "50",
            "channel_id": "123",
            "author": {**user, "id": "11"},
            "content": "",
            "timestamp": "2026-01-01T00:00:00+00:00",
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "pinned": False,
            "type": 0,
        }
    result = discord.Interaction(data=data, state=client._connection)  # type: ignore[arg-type]
    result._session = session
    return result


def guild(client: discord.Client) -> discord.Guild:
    everyone = {"id": "1", "name": "@everyone", "permissions": "0", "position": 0, "color": 0, "hoist": False}
    data = {"id": "1", "name": "Brand", "owner_id": "5", "roles": [everyone], "emojis": [], "features": []}
    return discord.Guild(data=data, state=client._connection)  # type: ignore[arg-type]


def build_tree(client: discord.Client) -> app_commands.CommandTree[discord.Client]:
    tree = app_commands.CommandTree(client)

    @tree.command(name="ping", description="Check the bot is alive")
    async def ping(interaction: discord.Interaction) -> None: ...

    @tree.command(name="apply", description="Apply to the ambassador program", nsfw=False)
    @app_commands.describe(handle="Your social handle", tier="Tier you aim for", age="Your age")
    @app_commands.choices(
        tier=[app_commands.Choice(name="Gold Tier", value="gold"), app_commands.Choice(name="Silver", value="silver")]
    )
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    async def apply(
        interaction: discord.Interaction,
        handle: str,
        tier: app_commands.Choice[str],
        age: app_commands.Range[int, 13, 120] = 18,
        mentor: discord.Member | None = None,
        channel: discord.TextChannel | None = None,
    ) -> None: ...

    codes = app_commands.Group(name="codes", description="Discount codes")

    @codes.command(name="show", description="Show a code's sales")
    @app_commands.choices(
        period=[app_commands.Choice(name="This week", value=7), app_commands.Choice(name="Month", value=30)]
    )
    async def show(interaction: discord.Interaction, code: str, period: int = 7) -> None: ...

    admin = app_commands.Group(name="admin", description="Code administration", parent=codes)

    @admin.command(name="reset", description="Reset an ambassador's code")
    async def reset(interaction: discord.Interaction, member: discord.Member, reason: str | None = None) -> None: ...

    tree.add_command(codes)

    @tree.context_menu(name="Report Message")
    async def report(interaction: discord.Interaction, message: discord.Message) -> None: ...

    @tree.context_menu(name="Ambassador Info")
    async def info(interaction: discord.Interaction, user: discord.User) -> None: ...

    return tree


# --- no false positives ---------------------------------------------------------------------------


async def test_channel_messages_from_discord_py_pass(capture: Capture, client: discord.Client) -> None:
    channel = discord.PartialMessageable(state=client._connection, id=123, type=discord.ChannelType.text)
    mentions = discord.AllowedMentions(everyone=False, users=[discord.Object(5)], roles=[discord.Object(6)])
    await capture(channel.send("Welcome!", embed=rich_embed(), view=review_view(), allowed_mentions=mentions))
    reference = discord.MessageReference(message_id=9, channel_id=123, guild_id=1)
    await capture(channel.send(embeds=[rich_embed(), rich_embed("Second")], reference=reference, silent=True))
    await capture(channel.send("Report attached", file=discord.File(__file__, filename="report.csv")))
    poll = discord.Poll(question="Next drop?", duration=datetime.timedelta(hours=24))
    await capture(channel.send(poll=poll.add_answer(text="Hoodie", emoji="🧥").add_answer(text="Cap")))
    await capture(channel.send(view=DigestLayout()))
    message = channel.get_partial_message(77)
    await capture(message.edit(content="Edited", embed=None, view=None))
    await capture(message.edit(embeds=[rich_embed()], view=review_view(), attachments=[]))
    assert_valid(capture.requests)


async def test_webhook_and_followup_bodies_pass(
    capture: Capture, client: discord.Client, session: aiohttp.ClientSession
) -> None:
    webhook = discord.Webhook.partial(1, "tok", session=session)
    await capture(
        webhook.send("Digest", username="Collective", avatar_url="https://example.com/a.png", embed=rich_embed())
    )
    await capture(webhook.send("In a thread", wait=True, thread=discord.Object(3)))
    await capture(webhook.edit_message(9, content="Fixed", embed=rich_embed(), view=None))
    await capture(interaction(client, session).followup.send("Follow-up", ephemeral=True, view=review_view()))
    await capture(interaction(client, session).edit_original_response(content="Done", embed=rich_embed(), view=None))
    assert [path for _, path, _ in capture.requests][-2:] == ["/webhooks/11/tok", "/webhooks/11/tok/messages/@original"]
    assert_valid(capture.requests)


async def test_interaction_callbacks_pass(
    capture: Capture, client: discord.Client, session: aiohttp.ClientSession
) -> None:
    await capture(interaction(client, session).response.send_message("Hi", embed=rich_embed(), view=review_view()))
    await capture(interaction(client, session).response.send_message(view=DigestLayout(), ephemeral=True))
    await capture(interaction(client, session).response.defer(ephemeral=True, thinking=True))
    await capture(interaction(client, session).response.send_modal(ApplyModal()))
    await capture(interaction(client, session).response.send_modal(ReviewModal()))
    await capture(interaction(client, session, component=True).response.defer())
    await capture(interaction(client, session, component=True).response.edit_message(content="Approved", view=None))
    choices = [app_commands.Choice(name="Gold", value="gold")]
    auto = interaction(client, session)
    auto.type = discord.InteractionType.autocomplete
    await capture(auto.response.autocomplete(choices))
    kinds = [body["type"] for _, _, body in capture.requests]
    assert kinds == [4, 4, 5, 9, 9, 6, 7, 8]
    assert_valid(capture.requests)


async def test_command_sync_payloads_pass(capture: Capture, client: discord.Client) -> None:
    tree = build_tree(client)
    await capture(tree.sync())
    await capture(tree.sync(guild=discord.Object(1)))

    class NoTranslation(app_commands.Translator):
        async def translate(self, string: Any, locale: discord.Locale, context: Any) -> str | None:
            return None

    await tree.set_translator(NoTranslation())  # adds name_localizations: {} and friends
    await capture(tree.sync())
    payload = [command.to_dict(tree) for command in tree.get_commands()]
    payload[1]["default_member_permissions"] = "32"  # Discord documents a string; discord.py sends an int
    capture.requests.append(("PUT", "/applications/11/commands", payload))
    capture.requests.append(("POST", "/applications/11/guilds/1/commands", payload[0]))
    capture.requests.append(("PATCH", "/applications/11/commands/12", {"description": "New text"}))
    assert_valid(capture.requests)
    assert capture.requests[0][2][1]["default_member_permissions"] == 32


async def test_guild_management_bodies_pass(capture: Capture, client: discord.Client) -> None:
    server = guild(client)
    await capture(
        server.create_role(name="Ambassador", permissions=discord.Permissions(send_messages=True), hoist=True)
    )
    await capture(server.default_role.edit(colour=discord.Colour.red(), permissions=discord.Permissions.none()))
    overwrites: dict[discord.Role | discord.Member | discord.Object, discord.PermissionOverwrite] = {
        server.default_role: discord.PermissionOverwrite(view_channel=False),
        discord.Object(99, type=discord.Member): discord.PermissionOverwrite(view_channel=True, send_messages=True),
    }
    await capture(server.create_text_channel("reviews", overwrites=overwrites, topic="Queue", slowmode_delay=5))
    await capture(server.create_category("Program", overwrites=overwrites))
    tags = [discord.ForumTag(name="bug", emoji="🐛")]
    await capture(server.create_forum("content", available_tags=tags, default_reaction_emoji="👍"))
    await capture(
        server.create_scheduled_event(
            name="Launch party",
            start_time=START,
            end_time=START + datetime.timedelta(hours=2),
            entity_type=discord.EntityType.external,
            location="Online",
            description="New collection",
            privacy_level=discord.PrivacyLevel.guild_only,
        )
    )
    stage = discord.Object(4, type=discord.StageChannel)
    await capture(
        server.create_scheduled_event(
            name="AMA", start_time=START, channel=stage, entity_type=discord.EntityType.stage_instance
        )
    )
    channel = discord.TextChannel(
        state=client._connection,
        guild=server,
        data=cast(
            Any,
            {"id": "123", "type": 0, "guild_id": "1", "name": "general", "position": 0, "permission_overwrites": []},
        ),
    )
    await capture(
        channel.set_permissions(server.default_role, overwrite=discord.PermissionOverwrite(send_messages=False))
    )
    await capture(channel.edit(name="renamed", topic="New topic", overwrites=overwrites))
    await capture(channel.create_thread(name="Discussion", type=discord.ChannelType.public_thread))
    assert_valid(capture.requests)


def test_unknown_routes_and_bodiless_requests_pass() -> None:
    assert validate_request("GET", "/users/@me", None) is None
    assert validate_request("POST", "/nope/1", {"anything": True}) is None
    assert validate_request("PUT", "/guilds/1/members/5/roles/2", None) is None
    assert validate_request("GET", "/channels/1/messages", {"content": "x" * 5000}) is None


# --- schema errors become Discord's nested errors -------------------------------------------------


def test_error_body_layout_matches_discord() -> None:
    result = validate_request("POST", "/channels/1/messages", {"embeds": [{"description": "x" * 4097}]})
    assert result == {
        "code": 50035,
        "message": "Invalid Form Body",
        "errors": {
            "embeds": {
                "0": {
                    "description": {
                        "_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 4096 or fewer in length."}]
                    }
                }
            }
        },
    }


def test_required_and_type_errors() -> None:
    errors = errors_of("POST", "/guilds/1/channels", {"topic": 5})
    assert leaf(errors, "name") == ["BASE_TYPE_REQUIRED"]
    assert leaf(errors, "topic") == ["STRING_TYPE_CONVERT"]


def test_literal_route_segments_win_over_placeholders() -> None:
    errors = errors_of("PATCH", "/webhooks/1/tok/messages/@original", {"content": "x" * 2001})
    assert leaf(errors, "content") == ["BASE_TYPE_MAX_LENGTH"]


def test_unknown_callback_type_is_a_union_error() -> None:
    errors = errors_of("POST", "/interactions/1/tok/callback", {"type": 42})
    assert leaf(errors, "type") == ["UNION_TYPE_CHOICES"]


# --- application command limits -------------------------------------------------------------------


def command(**fields: Any) -> dict[str, Any]:
    return {"name": "apply", "description": "Apply to the program", "type": 1, "options": [], **fields}


def option(name: str, *, required: bool = False, **fields: Any) -> dict[str, Any]:
    return {"type": 3, "name": name, "description": f"The {name}", "required": required, **fields}


def test_description_over_100_characters() -> None:
    errors = errors_of("PUT", "/applications/1/commands", [command(), command(name="ping", description="d" * 101)])
    assert leaf(errors, 1, "description") == ["BASE_TYPE_MAX_LENGTH"]
    assert "0" not in errors


def test_missing_description_on_chat_input_command() -> None:
    errors = errors_of("POST", "/applications/1/commands", command(description=""))
    assert leaf(errors, "description") == ["BASE_TYPE_BAD_LENGTH"]
    errors = errors_of("PUT", "/applications/1/commands", [{"name": "ping"}])
    assert leaf(errors, 0, "description") == ["BASE_TYPE_REQUIRED"]
    assert validate_request("POST", "/applications/1/commands", {"name": "Report", "type": 3}) is None
    # A PATCH may rename a context-menu command; its body does not say the type.
    assert validate_request("PATCH", "/applications/1/commands/2", {"name": "Report Message"}) is None
    errors = errors_of("PATCH", "/applications/1/guilds/2/commands/3", {"name": "Apply", "description": "x"})
    assert leaf(errors, "name") == ["APPLICATION_COMMAND_INVALID_NAME"]


def test_name_of_33_characters() -> None:
    errors = errors_of("PUT", "/applications/1/guilds/2/commands", [command(name="a" * 33)])
    assert leaf(errors, 0, "name") == ["BASE_TYPE_BAD_LENGTH"]


def test_uppercase_and_invalid_names() -> None:
    errors = errors_of("PUT", "/applications/1/commands", [command(name="Apply"), command(name="two words")])
    assert leaf(errors, 0, "name") == ["APPLICATION_COMMAND_INVALID_NAME"]
    assert leaf(errors, 1, "name") == ["APPLICATION_COMMAND_INVALID_NAME"]
    errors = errors_of("POST", "/applications/1/commands", command(options=[option("Handle")]))
    assert leaf(errors, "options", 0, "name") == ["APPLICATION_COMMAND_INVALID_NAME"]
    # Localized scripts and context-menu names with capitals and spaces are fine.
    assert validate_request("POST", "/applications/1/commands", command(name="तारीख़")) is None
    assert validate_request("POST", "/applications/1/commands", {"name": "Report Message", "type": 3}) is None


def test_optional_before_required_option() -> None:
    body = command(options=[option("note"), option("handle", required=True)])
    errors = errors_of("POST", "/applications/1/commands", body)
    assert leaf(errors, "options") == ["APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID"]
    subcommand = {"type": 1, "name": "show", "description": "Show", "options": body["options"]}
    errors = errors_of("PUT", "/applications/1/commands", [command(options=[subcommand])])
    assert leaf(errors, 0, "options", 0, "options") == ["APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID"]


def test_26_options() -> None:
    errors = errors_of("POST", "/applications/1/commands", command(options=[option(f"o{i}") for i in range(26)]))
    assert leaf(errors, "options") == ["BASE_TYPE_MAX_LENGTH"]


def test_26_choices_and_duplicate_names() -> None:
    choices = [{"name": f"Choice {i}", "value": str(i)} for i in range(26)]
    errors = errors_of("POST", "/applications/1/commands", command(options=[option("tier", choices=choices)]))
    assert leaf(errors, "options", 0, "choices") == ["BASE_TYPE_MAX_LENGTH"]
    errors = errors_of("PUT", "/applications/1/commands", [command(), command()])
    assert leaf(errors, 1, "name") == ["APPLICATION_COMMANDS_DUPLICATE_NAME"]


def test_command_over_8000_characters() -> None:
    options = []
    for i in range(25):
        leaves = [option(f"opt{j}", description="d" * 100) for j in range(4)]
        options.append({"type": 1, "name": f"sub{i}", "description": "s" * 100, "options": leaves})
    body = command(options=options)
    assert command_size(body) > 8000
    errors = errors_of("PUT", "/applications/1/commands", [body])
    assert leaf(errors, 0) == ["APPLICATION_COMMAND_TOO_LARGE"]
    assert command_size(command(options=options[:10])) < 8000
    assert validate_request("PUT", "/applications/1/commands", [command(options=options[:10])]) is None


def test_101_chat_input_commands_in_one_put() -> None:
    commands = [command(name=f"cmd{i}") for i in range(101)]
    errors = errors_of("PUT", "/applications/1/commands", commands)
    assert leaf(errors) == ["APPLICATION_COMMANDS_TOO_MANY"]
    assert validate_request("PUT", "/applications/1/guilds/2/commands", commands[:100]) is None
    errors = errors_of("PUT", "/applications/1/guilds/2/commands", commands)
    assert leaf(errors) == ["APPLICATION_COMMANDS_TOO_MANY"]


# --- message limits -------------------------------------------------------------------------------

MESSAGE_ROUTES = [
    ("POST", "/channels/1/messages", ()),
    ("PATCH", "/channels/1/messages/2", ()),
    ("POST", "/webhooks/1/tok", ()),
    ("PATCH", "/webhooks/1/tok/messages/@original", ()),
    ("PATCH", "/webhooks/1/tok/messages/3", ()),
    ("POST", "/interactions/1/tok/callback", ("data",)),
]


def message_request(route: tuple[str, str, tuple[str, ...]], body: dict[str, Any]) -> tuple[str, str, Any]:
    method, path, prefix = route
    return method, path, {"type": 4, "data": body} if prefix else body


def routes() -> list[Any]:
    return [pytest.param(route, id=f"{route[0]} {route[1]}") for route in MESSAGE_ROUTES]


@pytest.mark.parametrize("route", routes())
def test_content_of_2001_characters(route: tuple[str, str, tuple[str, ...]]) -> None:
    errors = errors_of(*message_request(route, {"content": "x" * 2001}))
    assert leaf(errors, *route[2], "content") == ["BASE_TYPE_MAX_LENGTH"]
    assert validate_request(*message_request(route, {"content": "x" * 2000})) is None


@pytest.mark.parametrize("route", routes())
def test_embeds_over_6000_characters_in_total(route: tuple[str, str, tuple[str, ...]]) -> None:
    embeds = [discord.Embed(title="t" * 200, description="d" * 4000).to_dict() for _ in range(2)]
    assert sum(embed_size(e) for e in embeds) > 6000
    errors = errors_of(*message_request(route, {"embeds": embeds}))
    assert leaf(errors, *route[2], "embeds") == ["MAX_EMBED_SIZE_EXCEEDED"]


def test_embed_field_limits() -> None:
    embed = discord.Embed(title="Fields")
    for i in range(26):
        embed.add_field(name=f"f{i}", value="v")
    errors = errors_of("POST", "/channels/1/messages", {"embeds": [embed.to_dict()]})
    assert leaf(errors, "embeds", 0, "fields") == ["BASE_TYPE_MAX_LENGTH"]
    long = discord.Embed().add_field(name="n" * 257, value="v" * 1025).set_footer(text="f" * 2049)
    errors = errors_of("POST", "/channels/1/messages", {"embeds": [long.to_dict()] * 11})
    assert leaf(errors, "embeds") == ["BASE_TYPE_MAX_LENGTH"]
    assert leaf(errors, "embeds", 0, "fields", 0, "name") == ["BASE_TYPE_MAX_LENGTH"]
    assert leaf(errors, "embeds", 0, "fields", 0, "value") == ["BASE_TYPE_MAX_LENGTH"]
    assert leaf(errors, "embeds", 0, "footer", "text") == ["BASE_TYPE_MAX_LENGTH"]
    author = discord.Embed(title="t" * 257).set_author(name="a" * 257).to_dict()
    errors = errors_of("POST", "/channels/1/messages", {"embeds": [author]})
    assert leaf(errors, "embeds", 0, "title") == ["BASE_TYPE_MAX_LENGTH"]
    assert leaf(errors, "embeds", 0, "author", "name") == ["BASE_TYPE_MAX_LENGTH"]


def button(custom_id: str = "b", label: str = "Go") -> dict[str, Any]:
    return {"type": 2, "style": 1, "custom_id": custom_id, "label": label}


@pytest.mark.parametrize("route", routes())
def test_custom_id_of_101_characters(route: tuple[str, str, tuple[str, ...]]) -> None:
    body = {"components": [{"type": 1, "components": [button("c" * 101)]}]}
    errors = errors_of(*message_request(route, body))
    assert leaf(errors, *route[2], "components", 0, "components", 0, "custom_id") == ["BASE_TYPE_BAD_LENGTH"]


@pytest.mark.parametrize("route", routes())
def test_six_buttons_in_a_row(route: tuple[str, str, tuple[str, ...]]) -> None:
    body = {"components": [{"type": 1, "components": [button(f"b{i}") for i in range(6)]}]}
    errors = errors_of(*message_request(route, body))
    assert leaf(errors, *route[2], "components", 0, "components") == ["BASE_TYPE_BAD_LENGTH"]


def test_row_layout_limits() -> None:
    select = {"type": 3, "custom_id": "s", "options": [{"label": "a", "value": "a"}]}
    errors = errors_of("POST", "/channels/1/messages", {"components": [{"type": 1, "components": [select, button()]}]})
    assert leaf(errors, "components", 0, "components") == ["COMPONENT_LAYOUT_WIDTH_EXCEEDED"]
    rows = [{"type": 1, "components": [button(f"r{i}")]} for i in range(6)]
    errors = errors_of("POST", "/channels/1/messages", {"components": rows})
    assert leaf(errors, "components") == ["BASE_TYPE_MAX_LENGTH"]
    # Layout messages (components v2) are not limited to five rows.
    assert validate_request("POST", "/channels/1/messages", {"components": rows, "flags": 1 << 15}) is None


def test_button_and_select_limits() -> None:
    options = [{"label": "l" * 101, "value": "v" * 101}] + [{"label": str(i), "value": str(i)} for i in range(25)]
    select = {"type": 3, "custom_id": "s", "options": options}
    body = {"components": [{"type": 1, "components": [button(label="x" * 81)]}, {"type": 1, "components": [select]}]}
    errors = errors_of("POST", "/channels/1/messages", body)
    assert leaf(errors, "components", 0, "components", 0, "label") == ["BASE_TYPE_MAX_LENGTH"]
    assert leaf(errors, "components", 1, "components", 0, "options") == ["BASE_TYPE_BAD_LENGTH"]
    assert leaf(errors, "components", 1, "components", 0, "options", 0, "label") == ["BASE_TYPE_BAD_LENGTH"]
    assert leaf(errors, "components", 1, "components", 0, "options", 0, "value") == ["BASE_TYPE_BAD_LENGTH"]


def test_limits_apply_to_update_message_callbacks_and_forum_posts() -> None:
    errors = errors_of("POST", "/interactions/1/tok/callback", {"type": 7, "data": {"content": "x" * 2001}})
    assert leaf(errors, "data", "content") == ["BASE_TYPE_MAX_LENGTH"]
    post = {"name": "Post", "message": {"content": "x" * 2001}}
    errors = errors_of("POST", "/channels/1/threads", post)
    assert leaf(errors, "message", "content") == ["BASE_TYPE_MAX_LENGTH"]


# --- modal limits ---------------------------------------------------------------------------------


def text_input(custom_id: str = "t", label: str = "Label", **fields: Any) -> dict[str, Any]:
    return {"type": 1, "components": [{"type": 4, "custom_id": custom_id, "style": 1, "label": label, **fields}]}


def modal(**fields: Any) -> dict[str, Any]:
    return {"type": 9, "data": {"custom_id": "m", "title": "Apply", "components": [text_input()], **fields}}


def test_modal_title_of_46_characters() -> None:
    errors = errors_of("POST", "/interactions/1/tok/callback", modal(title="t" * 46))
    assert leaf(errors, "data", "title") == ["BASE_TYPE_BAD_LENGTH"]


def test_six_modal_inputs() -> None:
    errors = errors_of(
        "POST", "/interactions/1/tok/callback", modal(components=[text_input(f"t{i}") for i in range(6)])
    )
    assert leaf(errors, "data", "components") == ["BASE_TYPE_BAD_LENGTH"]
    assert errors["data"]["components"]["_errors"][0]["message"] == "Must be between 1 and 5 in length."
    errors = errors_of("POST", "/interactions/1/tok/callback", modal(components=[]))
    assert leaf(errors, "data", "components") == ["BASE_TYPE_BAD_LENGTH"]


def test_text_input_limits() -> None:
    inputs = [
        text_input("a", label="l" * 46),
        text_input("c" * 101),
        text_input("b", min_length=4001, max_length=0),
        text_input("d", min_length=50, max_length=10),
    ]
    errors = errors_of("POST", "/interactions/1/tok/callback", modal(components=inputs))
    row = ("data", "components")
    assert leaf(errors, *row, 0, "components", 0, "label") == ["BASE_TYPE_BAD_LENGTH"]
    assert leaf(errors, *row, 1, "components", 0, "custom_id") == ["BASE_TYPE_BAD_LENGTH"]
    assert leaf(errors, *row, 2, "components", 0, "min_length") == ["NUMBER_TYPE_MAX"]
    assert leaf(errors, *row, 2, "components", 0, "max_length") == ["NUMBER_TYPE_MIN"]
    assert leaf(errors, *row, 3, "components", 0, "min_length") == ["TEXT_INPUT_MIN_LENGTH_GREATER_THAN_MAX"]


# --- the speed-ups keep the schema's meaning ------------------------------------------------------


def _mutations(body: Any, rng: random.Random, count: int) -> list[Any]:
    """Copies of ``body`` with one value replaced by a wrong type, a long string, or another type tag."""
    spots: list[tuple[Any, Any]] = []

    def collect(node: Any) -> None:
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, value in items:
            spots.append((node, key))
            collect(value)

    results = []
    for _ in range(count):
        copied = copy.deepcopy(body)
        spots.clear()
        collect(copied)
        parent, key = rng.choice(spots)
        parent[key] = rng.choice([None, 7, "x" * 101, True, [], {}, {"type": rng.randrange(1, 10)}, rng.randrange(10)])
        results.append(copied)
    return results


def test_optimised_validators_agree_with_the_plain_spec() -> None:
    """Enum folding, inlined refs and type dispatch accept exactly what the (relaxed) spec accepts."""
    with gzip.open(validation.SPEC_FILE, "rt", encoding="utf-8") as handle:
        spec = json.load(handle)
    validation._relax(spec)
    validation._tighten(spec)
    registry: Registry[Any] = Registry().with_resource(
        "urn:plain", Resource.from_contents(spec, default_specification=DRAFT202012)
    )
    view = review_view()
    samples: list[tuple[str, str, Any]] = [
        (
            "POST",
            "/channels/1/messages",
            {"content": "hi", "embeds": [rich_embed().to_dict()], "components": view.to_components()},
        ),
        (
            "POST",
            "/interactions/1/tok/callback",
            {"type": 4, "data": {"content": "hi", "components": view.to_components()}},
        ),
        ("POST", "/interactions/1/tok/callback", {"type": 9, "data": ApplyModal().to_dict()}),
        ("PUT", "/applications/1/commands", [command(options=[option("handle", required=True), option("tier")])]),
    ]
    rng = random.Random(2026)
    for method, path, body in samples:
        route = validation._match(method, path)
        assert route is not None
        pointer = validation._pointer(
            "paths", route.template, method.lower(), "requestBody", "content", "application/json", "schema"
        )
        plain = Draft202012Validator({"$ref": f"urn:plain#/{pointer}"}, registry=registry)
        for candidate in [body, *_mutations(body, rng, 60)]:
            assert route.validator.is_valid(candidate) == plain.is_valid(candidate), (path, candidate)
            validate_request(method, path, candidate)  # translating any error never fails

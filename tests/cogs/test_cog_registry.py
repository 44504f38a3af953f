"""Every cog loads into one bot; command names don't clash and every definition fits Discord's limits."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from discord import app_commands

from bot.app import CollectiveBot, discover_extensions
from bot.command_sync import command_payload
from bot.config import Settings
from bot.db import Database
from bot.services.digest.sections import metric_providers, section_providers
from emulator.validation import validate_request
from tests.conftest import ROOT

NAME = re.compile(r"^[-_a-z0-9]{1,32}$")


@pytest.fixture
async def loaded_bot(db: Database, settings: Settings) -> AsyncIterator[CollectiveBot]:
    bot = CollectiveBot(settings=settings, db=db)
    for extension in discover_extensions():
        await bot.load_extension(extension)  # a name clash raises CommandAlreadyRegistered here
    try:
        yield bot
    finally:
        await bot.close()


def test_every_feature_package_in_cogs_is_an_extension() -> None:
    extensions = discover_extensions()
    features = {"content", "digest", "engagement", "events", "onboarding", "polls", "program", "sales"}
    assert {f"cogs.{name}" for name in features} <= set(extensions)
    assert all(not name.split(".")[-1].startswith("_") for name in extensions)


async def test_every_cog_module_is_loaded_by_its_feature(loaded_bot: CollectiveBot) -> None:
    # A module with a setup() its package's setup forgets would be a capability silently missing.
    for path in sorted(ROOT.glob("cogs/*/*.py")):
        if path.stem != "__init__" and "\nasync def setup(" in path.read_text(encoding="utf-8"):
            module = f"cogs.{path.parent.name}.{path.stem}"
            cogs_there = [cog for cog in loaded_bot.cogs.values() if type(cog).__module__ == module]
            assert cogs_there, f"{module} defines setup() but no cog from it is loaded"


async def test_commands_are_unique_and_within_limits(loaded_bot: CollectiveBot) -> None:
    seen: set[str] = set()
    for command in loaded_bot.tree.walk_commands():
        assert command.qualified_name not in seen
        seen.add(command.qualified_name)
        assert NAME.fullmatch(command.name), command.name
        assert 1 <= len(command.description) <= 100, command.qualified_name
        if isinstance(command, app_commands.Command):
            params = command.parameters
            assert len(params) <= 25
            required = [p.required for p in params]
            assert required == sorted(required, reverse=True), f"{command.qualified_name}: optional before required"
    top_level = loaded_bot.tree.get_commands()
    assert len(top_level) <= 100


async def test_the_synced_payload_passes_discords_schema_and_limits(loaded_bot: CollectiveBot) -> None:
    payload = command_payload(loaded_bot, None)
    assert validate_request("PUT", "/applications/1/commands", payload) is None
    for command in payload:
        assert len(str(command)) < 8000


async def test_every_capability_feeds_the_digest(loaded_bot: CollectiveBot) -> None:
    # Providers register when their cog imports them; a capability missing here is silently absent
    # from every weekly digest.
    assert {"onboarding", "sales", "sales_flags", "content", "events"} <= set(section_providers())
    assert {"new_ambassadors", "orders", "revenue", "content_approved", "event_attendance"} <= set(metric_providers())

"""Reliability tests reuse the end-to-end harness: the real bot against the local Discord emulator."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.conftest import emu, fake_shop, runner, world  # noqa: F401
from tests.postgres import SERVER
from tests.reliability.store_reader import StoreReader


@pytest.fixture
async def store(db_target: Path | str) -> AsyncIterator[StoreReader]:
    """The test's reader of ``db_target`` (the test's database on each engine), open for the whole test."""
    async with StoreReader(db_target) as reader:
        yield reader


@pytest.fixture
async def shared_database() -> AsyncIterator[str]:
    """A fresh migrated PostgreSQL database for several bot processes at once (only PostgreSQL lets them share
    one); the test is skipped, with the session's reason, when there is no server."""
    if not SERVER.is_available:
        pytest.skip(f"PostgreSQL tests skipped: {SERVER.source}")
    async with SERVER.fresh_database(migrated=True) as dsn:
        yield dsn

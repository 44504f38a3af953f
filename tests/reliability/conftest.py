"""Reliability tests reuse the end-to-end harness: the real bot against the local Discord emulator."""

from collections.abc import AsyncIterator

import pytest

from tests.e2e.conftest import emu, fake_shop, runner, world  # noqa: F401
from tests.postgres import SERVER


@pytest.fixture
async def shared_database() -> AsyncIterator[str]:
    """A fresh migrated PostgreSQL database for several bot processes at once (only PostgreSQL lets them share
    one); the test is skipped, with the session's reason, when there is no server."""
    if not SERVER.is_available:
        pytest.skip(f"PostgreSQL tests skipped: {SERVER.source}")
    async with SERVER.fresh_database(migrated=True) as dsn:
        yield dsn

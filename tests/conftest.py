"""Shared fixtures: a fresh migrated database per test on each engine (tests/postgres.py), a fixed clock, settings
from the example."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.clock import FixedClock
from bot.config import Settings, load_settings
from bot.db import Database
from tests.postgres import SERVER, engines_for, header_line, postgres_server

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_CONFIG = ROOT / "config.example.toml"
__all__ = ["postgres_server"]  # a fixture, used by name
START = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # a Tuesday


def pytest_report_header(config: pytest.Config) -> str:
    return header_line()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    # Also at the end, where -q (the project's default) still prints it: which engines this run covered.
    terminalreporter.write_line(header_line())


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "engine" in metafunc.fixturenames:
        metafunc.parametrize("engine", engines_for(metafunc))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    SERVER.stop()


@pytest.fixture
async def db_target(engine: str, tmp_path: Path) -> AsyncIterator[Path | str]:
    """Where a test's database lives: a SQLite file, or a fresh migrated PostgreSQL database's address."""
    if engine == "postgresql":
        async with SERVER.fresh_database(migrated=True) as dsn:
            yield dsn
    else:
        yield tmp_path / "collective.db"


@pytest.fixture
async def db(db_target: Path | str) -> AsyncIterator[Database]:
    database = await Database.open(db_target)
    await database.migrate()
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("DISCORD_TOKEN", "test-token")
    monkeypatch.setenv("COLLECTIVE_DATABASE__PATH", str(tmp_path / "collective.db"))
    return load_settings(EXAMPLE_CONFIG)

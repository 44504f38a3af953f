"""The CLI as an operator runs it: a subprocess, its exit code and what it printed."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from bot.db import bundled_migrations
from tests.conftest import EXAMPLE_CONFIG, ROOT


def _run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN" and not k.startswith("COLLECTIVE_")}
    base["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env={**base, **(env or {})},
        cwd=cwd or ROOT,
        timeout=60,
    )


def test_help_lists_the_commands() -> None:
    result = _run("--help")
    assert result.returncode == 0
    for command in ("run", "migrate", "check-config", "backup", "demo"):
        assert command in result.stdout


def test_run_without_token_explains_and_fails(tmp_path: Path) -> None:
    result = _run("run", "--config", str(EXAMPLE_CONFIG), cwd=tmp_path)
    assert result.returncode == 2
    assert "DISCORD_TOKEN" in result.stderr and "developers/applications" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_config_passes_on_the_example_with_a_token() -> None:
    result = _run("check-config", "--config", str(EXAMPLE_CONFIG), env={"DISCORD_TOKEN": "abc"})
    assert result.returncode == 0, result.stderr
    assert "configuration OK" in result.stdout
    assert "abc" not in result.stdout


def test_bad_config_names_the_key_without_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[program]\ncapacity = "lots"\n[discord]\nshard = 1\n', encoding="utf-8")
    result = _run("check-config", "--config", str(bad), env={"DISCORD_TOKEN": "abc"})
    assert result.returncode == 2
    assert "program.capacity" in result.stderr and "discord.shard: unknown key" in result.stderr
    assert "Traceback" not in result.stderr


def test_migrate_then_backup(tmp_path: Path) -> None:
    env = {"COLLECTIVE_DATABASE__PATH": str(tmp_path / "nested" / "c.db")}
    migrated = _run("migrate", "--config", str(EXAMPLE_CONFIG), env=env)
    assert migrated.returncode == 0, migrated.stderr
    latest = bundled_migrations()[-1].version
    assert f"schema version {latest}" in migrated.stdout
    out = tmp_path / "copy.db"
    backed = _run("backup", str(out), "--config", str(EXAMPLE_CONFIG), env=env)
    assert backed.returncode == 0, backed.stderr
    with sqlite3.connect(out) as copy:
        assert copy.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0] == latest
    again = _run("backup", str(out), "--config", str(EXAMPLE_CONFIG), env=env)
    assert again.returncode == 2 and "--force" in again.stderr

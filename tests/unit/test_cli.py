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


def test_help_calls_itself_by_the_name_it_was_invoked_with() -> None:
    as_script = subprocess.run(
        [sys.executable, "-c",
         "import sys; from bot.__main__ import main; sys.argv[0] = '/usr/local/bin/collective'; sys.exit(main())",
         "--help"],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert as_script.returncode == 0, as_script.stderr
    assert as_script.stdout.startswith("usage: collective ") and "python -m bot" not in as_script.stdout
    assert _run("--help").stdout.startswith("usage: python -m bot ")


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_check_config_refuses_webhooks_without_any_secret(tmp_path: Path) -> None:
    # config.example.toml's blank secrets, with webhooks turned on: every delivery would have been a silent 401.
    env = {"DISCORD_TOKEN": "abc", "COLLECTIVE_WEBHOOKS__ENABLED": "true",
           "COLLECTIVE_DATABASE__PATH": str(tmp_path / "c.db")}  # fmt: skip
    result = _run("check-config", "--config", str(EXAMPLE_CONFIG), env=env)
    assert result.returncode == 2
    assert "webhooks.shopify_secret" in result.stderr and "Traceback" not in result.stderr
    run = _run("run", "--config", str(EXAMPLE_CONFIG), env=env, cwd=tmp_path)
    assert run.returncode == 2 and "webhooks.shopify_secret" in run.stderr and "Traceback" not in run.stderr


def test_check_config_names_each_endpoint_left_off(tmp_path: Path) -> None:
    env = {"DISCORD_TOKEN": "abc", "COLLECTIVE_WEBHOOKS__ENABLED": "true",
           "COLLECTIVE_WEBHOOKS__SHOPIFY_SECRET": "shop-secret",
           "COLLECTIVE_DATABASE__PATH": str(tmp_path / "c.db")}  # fmt: skip
    result = _run("check-config", "--config", str(EXAMPLE_CONFIG), env=env)
    assert result.returncode == 0, result.stderr
    assert "/webhooks/woocommerce off: webhooks.woocommerce_secret is not set" in result.stdout
    assert "/webhooks/shopify off" not in result.stdout and "shop-secret" not in result.stdout


def test_unusable_database_and_backup_folders_are_one_line_errors(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    bad_db = _config(tmp_path, f'[database]\npath = "{blocker / "collective.db"}"\n')
    for command in ("check-config", "migrate", "run"):
        result = _run(command, "--config", str(bad_db), env={"DISCORD_TOKEN": "abc"}, cwd=tmp_path)
        assert result.returncode == 2, (command, result.stderr)
        assert "database.path:" in result.stderr and "not a folder" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    bad_backups = _config(tmp_path, f'[database]\npath = "{tmp_path / "c.db"}"\nbackup_dir = "{blocker / "backups"}"\n')
    result = _run("check-config", "--config", str(bad_backups), env={"DISCORD_TOKEN": "abc"})
    assert result.returncode == 2 and "database.backup_dir:" in result.stderr and "Traceback" not in result.stderr
    not_sqlite = _config(tmp_path, f'[database]\npath = "{blocker}"\n')
    result = _run("migrate", "--config", str(not_sqlite))
    assert result.returncode == 2 and "database.path:" in result.stderr and "Traceback" not in result.stderr


def test_health_without_a_running_bot_is_unhealthy(tmp_path: Path) -> None:
    config = _config(tmp_path, f'[database]\npath = "{tmp_path / "c.db"}"\n')
    result = _run("health", "--config", str(config))
    assert result.returncode == 1 and result.stdout.startswith("unhealthy")


def test_shards_beyond_the_count_are_one_line_errors(tmp_path: Path) -> None:
    config = _config(tmp_path, f'[database]\npath = "{tmp_path / "c.db"}"\n')
    result = _run("run", "--config", str(config), "--shards", "2-5", "--shard-count", "4", env={"DISCORD_TOKEN": "a"})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "shards 4-5: shard ids run from 0 to 3" in result.stderr
    result = _run("run", "--config", str(config), "--shards", "0-1", env={"DISCORD_TOKEN": "a"})
    assert result.returncode == 2 and "give the total too" in result.stderr


def test_some_shards_or_a_standby_need_postgresql(tmp_path: Path) -> None:
    config = _config(tmp_path, f'[database]\npath = "{tmp_path / "c.db"}"\n')
    result = _run("run", "--config", str(config), "--shards", "0", "--shard-count", "2", "--standby",
                  env={"DISCORD_TOKEN": "a"})  # fmt: skip
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "sharding.shards: shards 0 of 2 leaves the other shards to other processes" in result.stderr
    assert "sharding.standby:" in result.stderr and "database.url" in result.stderr
    assert not (tmp_path / "c.db").exists()  # refused before anything was opened


def test_the_webhook_tier_needs_postgresql(tmp_path: Path) -> None:
    config = _config(tmp_path, f'[database]\npath = "{tmp_path / "c.db"}"\n[webhooks]\nshopify_secret = "s"\n')
    result = _run("webhooks", "--config", str(config))
    assert result.returncode == 2 and "database.url: the webhook tier shares its database" in result.stderr

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr

from bot.app import CollectiveBot
from bot.config import Settings, ShopifyConnection, load_settings
from bot.cooldowns import cooldowns_of
from bot.db import Database
from bot.errors import ConfigError
from tests.conftest import EXAMPLE_CONFIG, ROOT


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _model_keys(model: type[BaseModel], prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys |= _model_keys(annotation, f"{prefix}{name}.")
        else:
            keys.add(f"{prefix}{name}")
    return keys


def _toml_keys(data: dict[str, Any], prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for name, value in data.items():
        if isinstance(value, dict):
            keys |= _toml_keys(value, f"{prefix}{name}.")
        else:
            keys.add(f"{prefix}{name}")
    return keys


def test_example_config_builds_settings(settings: Settings) -> None:
    assert settings.discord.token is not None
    assert settings.discord.token.get_secret_value() == "test-token"
    assert settings.program.digest_weekday == "monday"
    assert settings.database.backup_dir is None  # empty string means "off"


def test_example_documents_every_key_with_a_comment() -> None:
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    data = tomllib.loads(text)
    # Per-server sections ([shops.<server id>]) can't hold a real server id in the example: they are shown
    # commented out, every key of them included.
    per_server = {"shops": ShopifyConnection}
    assert _toml_keys(data) == _model_keys(Settings) - set(per_server)
    for section, model in per_server.items():
        assert f"# [{section}." in text
        for key in model.model_fields:
            assert f"# {key} = " in text or key in ("platform", "access_token", "admin_url"), key
    lines = EXAMPLE_CONFIG.read_text(encoding="utf-8").splitlines()
    for index, line in enumerate(lines):
        if "=" in line and not line.lstrip().startswith("#"):
            assert lines[index - 1].lstrip().startswith("#"), f"key without a comment above it: {line}"


def test_unknown_key_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"discord\.tokn: unknown key"):
        load_settings(_write(tmp_path, '[discord]\ntokn = "x"\n'))


def test_wrong_type_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"webhooks\.port"):
        load_settings(_write(tmp_path, '[webhooks]\nport = "eighty"\n'))


def test_bad_timezone_and_prefix_are_explained(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"program\.timezone: unknown time zone 'Mars/Olympus'"):
        load_settings(_write(tmp_path, '[program]\ntimezone = "Mars/Olympus"\n'))
    with pytest.raises(ConfigError, match=r"program\.code_prefix"):
        load_settings(_write(tmp_path, '[program]\ncode_prefix = "glow!"\n'))


async def test_rate_limits_reach_the_bots_limiter(tmp_path: Path, db: Database) -> None:
    settings = load_settings(_write(tmp_path, "[limits]\nmember_burst = 3\nmoderator_per_second = 2.5\n"))
    bot = CollectiveBot(settings=settings, db=db, extensions=[])
    limiter = cooldowns_of(bot)
    assert limiter is not None
    assert (limiter.member.burst, limiter.member.per_second) == (3, 1.0)
    assert (limiter.moderator.burst, limiter.moderator.per_second) == (40, 2.5)
    taken = [limiter.take(1, 2) for _ in range(4)]
    assert taken[:3] == [None, None, None] and taken[3] is not None  # the fourth waits
    with pytest.raises(ConfigError, match=r"limits\.member_per_second"):
        load_settings(_write(tmp_path, "[limits]\nmember_per_second = 0\n"))


def test_invalid_toml_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(_write(tmp_path, "[discord\n"))


def test_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.toml")


def test_environment_overrides_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path, '[discord]\ntoken = "from-file"\n[webhooks]\nport = 9000\nhost = "0.0.0.0"\n')
    monkeypatch.setenv("DISCORD_TOKEN", "from-env")
    monkeypatch.setenv("COLLECTIVE_WEBHOOKS__PORT", "9100")
    loaded = load_settings(path)
    assert loaded.discord.token is not None
    assert loaded.discord.token.get_secret_value() == "from-env"
    assert loaded.webhooks.port == 9100
    assert loaded.webhooks.host == "0.0.0.0"  # untouched keys keep the file's value


def test_secrets_are_secret_and_listed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    loaded = load_settings(
        _write(tmp_path, '[discord]\ntoken = "tok-123456"\n[webhooks]\nshopify_secret = "shh-999"\n')
    )
    assert isinstance(loaded.webhooks.shopify_secret, SecretStr)
    assert "tok-123456" not in repr(loaded) and "shh-999" not in repr(loaded)
    assert set(loaded.secrets()) == {"tok-123456", "shh-999"}


def test_a_blank_webhook_secret_is_missing(tmp_path: Path) -> None:
    path = _write(tmp_path, '[webhooks]\nenabled = true\nshopify_secret = "  "\nwoocommerce_secret = "woo-secret"\n')
    hooks = load_settings(path).webhooks
    assert hooks.shopify_secret is None
    assert hooks.missing_secrets() == {
        "/webhooks/shopify": "webhooks.shopify_secret",
        "/webhooks/orders": "webhooks.generic_secret",
    }


def test_logging_format_is_text_or_json(tmp_path: Path) -> None:
    assert load_settings(_write(tmp_path, '[logging]\nformat = "json"\n')).logging.format == "json"
    with pytest.raises(ConfigError, match=r"logging\.format"):
        load_settings(_write(tmp_path, '[logging]\nformat = "xml"\n'))


def test_the_deployment_recipes_set_only_keys_that_exist() -> None:
    """A misspelt COLLECTIVE_… variable in a compose file is silently ignored by the container: catch it here."""
    known = {key.upper().replace(".", "__") for key in _model_keys(Settings)}
    found: set[str] = set()
    for recipe in (ROOT / "deploy").iterdir():
        found |= set(re.findall(r"\bCOLLECTIVE_([A-Z0-9_]+?)\b(?=\s*[:=])", recipe.read_text(encoding="utf-8")))
    per_server = {key for key in found if key.startswith("SHOPS__")}
    assert {"SHARDING__SHARDS", "SHARDING__STANDBY", "DATABASE__URL"} <= found
    assert found - per_server <= known, sorted(found - per_server - known)

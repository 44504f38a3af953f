from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Literal

import discord
import pytest

from bot.logging_setup import RedactSecrets, configure_logging


def test_secrets_are_redacted_from_messages_and_arguments(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.redact")
    handler = caplog.handler
    handler.addFilter(RedactSecrets(["s3cr3t-token", "hook-secret"]))
    try:
        with caplog.at_level(logging.INFO, logger="test.redact"):
            logger.info("connecting with %s and %s", "s3cr3t-token", "hook-secret")
            logger.info("plain message")
    finally:
        handler.filters.clear()
    assert caplog.messages == ["connecting with [redacted] and [redacted]", "plain message"]


def _configured(level: str, fmt: Literal["text", "json"] = "text", secrets: list[str] | None = None) -> io.StringIO:
    stream = io.StringIO()
    configure_logging(level, secrets or [], format=fmt, stream=stream)
    return stream


@pytest.fixture(autouse=True)
def _restore_root_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_apscheduler_chatter_is_debug_not_info() -> None:
    stream = _configured("INFO")
    logging.getLogger("apscheduler.executors.default").info('Running job "sweep" (scheduled at now)')
    logging.getLogger("apscheduler.scheduler").warning("Run time of job was missed")
    logging.getLogger("bot.app").info("ready: 1 server(s), scheduler started")
    text = stream.getvalue()
    assert "Running job" not in text
    assert "Run time of job was missed" in text and "ready: 1 server(s)" in text

    stream = _configured("DEBUG")
    logging.getLogger("apscheduler.executors.default").info('Running job "sweep" (scheduled at now)')
    assert "DEBUG" in stream.getvalue() and "Running job" in stream.getvalue()


def test_json_lines_carry_level_logger_message_and_redacted_traceback() -> None:
    stream = _configured("INFO", "json", secrets=["hook-secret-value"])
    logger = logging.getLogger("bot.webhooks")
    logger.info("sale recorded: shopify order %s", 42)
    try:
        raise RuntimeError("failed with hook-secret-value")
    except RuntimeError:
        logger.exception("webhook could not be recorded")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(entry["level"], entry["logger"], entry["message"]) for entry in lines] == [
        ("INFO", "bot.webhooks", "sale recorded: shopify order 42"),
        ("ERROR", "bot.webhooks", "webhook could not be recorded"),
    ]
    assert "RuntimeError" in lines[1]["exception"] and "hook-secret-value" not in stream.getvalue()
    assert lines[0]["time"].endswith("+00:00")


def test_gateway_reconnect_is_one_line_naming_the_cause() -> None:
    stream = _configured("INFO")
    try:
        raise OSError("Connect call failed ('162.159.135.232', 443)")
    except OSError:
        logging.getLogger("discord.client").exception("Attempting a reconnect in %.2fs", 4.2)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1 and "Traceback" not in lines[0]
    assert "OSError: Connect call failed" in lines[0] and "attempting a reconnect in 4.20s" in lines[0]


def test_no_voice_library_warning_when_the_bot_is_built(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As in a fresh process without PyNaCl / davey (an earlier Client in this process may have warned already).
    monkeypatch.setattr(discord.VoiceClient, "warn_nacl", True)
    monkeypatch.setattr(discord.VoiceClient, "warn_dave", True)
    _configured("INFO")
    with caplog.at_level(logging.WARNING, logger="discord.client"):
        discord.Client(intents=discord.Intents.none())
    assert not [r for r in caplog.records if "voice" in r.getMessage()]

from __future__ import annotations

import logging

import pytest

from bot.logging_setup import RedactSecrets


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

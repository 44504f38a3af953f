"""Logging through discord.py's formatter, with every configured secret redacted from every record."""

from __future__ import annotations

import logging

import discord


class RedactSecrets(logging.Filter):
    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        # Longest first so a secret that contains another is replaced whole.
        self._secrets = sorted((s for s in secrets if len(s) >= 4), key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        redacted = message
        for secret in self._secrets:
            redacted = redacted.replace(secret, "[redacted]")
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_text:
            for secret in self._secrets:
                record.exc_text = record.exc_text.replace(secret, "[redacted]")
        return True


def configure_logging(level: str, secrets: list[str]) -> None:
    discord.utils.setup_logging(level=logging.getLevelName(level), root=True)
    redactor = RedactSecrets(secrets)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redactor)
    # discord.py logs every HTTP request at DEBUG with headers; keep those out even at DEBUG.
    logging.getLogger("discord.http").setLevel(max(logging.INFO, logging.getLevelName(level)))

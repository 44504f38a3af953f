"""Logging through discord.py's formatter, with every configured secret redacted from every record."""

from __future__ import annotations

import logging

import discord


class RedactSecrets(logging.Filter):
    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        # Longest first so a secret that contains another is replaced whole.
        self._secrets = sorted((s for s in secrets if len(s) >= 4), key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            # Filters run before formatting, so the traceback isn't text yet: render it to look inside.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            text = self.redact(record.exc_text)
            if text != record.exc_text:
                # Formatters re-render exc_info (discord.py's colour one always does): keep only the text.
                record.exc_info, record.exc_text = None, text
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def configure_logging(level: str, secrets: list[str]) -> None:
    discord.utils.setup_logging(level=logging.getLevelName(level), root=True)
    redactor = RedactSecrets(secrets)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redactor)
    # discord.py logs every HTTP request at DEBUG with headers; keep those out even at DEBUG.
    logging.getLogger("discord.http").setLevel(max(logging.INFO, logging.getLevelName(level)))

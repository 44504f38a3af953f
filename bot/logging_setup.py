"""Logging through discord.py's formatter (or JSON lines), with every configured secret redacted from every record.

What an operator sees at INFO: start, ready, sales recorded, scheduled work, failures, and the one line of a
clean stop. Library chatter is moved out of the way here rather than in each library's call site.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import IO, Literal

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


class QuietLibraries(logging.Filter):
    """APScheduler's per-run INFO lines become DEBUG (three a minute from the sweep alone, ~4,300 a day), and
    discord.py's gateway reconnect becomes one line naming the cause instead of a traceback per attempt."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("apscheduler") and record.levelno == logging.INFO:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return self.level <= logging.DEBUG
        if (
            record.name == "discord.client"
            and isinstance(record.msg, str)
            and record.msg.startswith("Attempting a reconnect")
            and record.exc_info
            and self.level > logging.DEBUG
        ):
            exc = record.exc_info[1]
            record.msg = f"Discord connection lost ({type(exc).__name__}: {exc}); " + record.msg.lower()
            record.exc_info, record.exc_text = None, None
        return True


class JsonLines(logging.Formatter):
    """One JSON object per line (``logging.format = "json"``), for container log collectors."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        # RedactSecrets may have rendered (and redacted) the traceback already; use its text when it did.
        if record.exc_text:
            entry["exception"] = record.exc_text
        elif record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False)


# Kept out even at DEBUG: discord.py logs every HTTP request with its headers (the token), and every gateway event
# whole — what members typed in forms, shipping addresses among them; aiosqlite logs each statement's parameters.
NO_DEBUG = ("discord.http", "discord.gateway", "aiosqlite")


def configure_logging(
    level: str, secrets: list[str], *, format: Literal["text", "json"] = "text", stream: IO[str] | None = None
) -> None:
    numeric = logging.getLevelName(level)
    handler = logging.StreamHandler(stream)  # stderr by default, like discord.py's own
    if format == "json":
        discord.utils.setup_logging(handler=handler, formatter=JsonLines(), level=numeric, root=True)
    else:
        discord.utils.setup_logging(handler=handler, level=numeric, root=True)  # its colour formatter on a tty
    handler.addFilter(QuietLibraries(numeric))
    handler.addFilter(RedactSecrets(secrets))
    # The bot only reads voice states (event attendance) and never joins a channel, so "PyNaCl / davey is not
    # installed, voice will NOT be supported" at every start would only suggest attendance is broken.
    discord.VoiceClient.warn_nacl = False
    discord.VoiceClient.warn_dave = False
    for name in NO_DEBUG:
        logging.getLogger(name).setLevel(max(logging.INFO, numeric))

"""Changing a server's program settings (/settings): every value validated, old and new returned for the audit.

The onboarding switches added by migration 0003 (re-apply cooldown, auto-approve, auto-promote) are read
here too, so the shared ``GuildSettings`` stays as the core defined it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.clock import to_db
from bot.config import WEEKDAYS
from bot.db import Database, Transaction
from bot.errors import InvalidInput, NotFound
from bot.services.program import members
from bot.services.sales import codes


@dataclass(frozen=True)
class OnboardingSettings:
    reapply_cooldown_days: int
    auto_approve: bool
    auto_promote: bool


async def get_onboarding_settings(db: Database | Transaction, guild_id: int) -> OnboardingSettings:
    row = await db.fetchone(
        "SELECT reapply_cooldown_days, auto_approve, auto_promote FROM guild_settings WHERE guild_id = ?", (guild_id,)
    )
    if row is None:
        raise NotFound("This server has no Collective program yet.")
    return OnboardingSettings(row[0], bool(row[1]), bool(row[2]))


def _int_between(low: int, high: int, what: str) -> Callable[[str], int]:
    def parse(value: str) -> int:
        text = value.strip()
        if not re.fullmatch(r"-?\d{1,7}", text) or not low <= int(text) <= high:
            raise InvalidInput(f"{what} must be a whole number from {low} to {high}.")
        return int(text)

    return parse


def _timezone(value: str) -> str:
    text = value.strip()
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"`{text[:40]}` isn't a time zone; use an IANA name such as `Europe/London`.") from None
    return text


def _weekday(value: str) -> int:
    text = value.strip().lower()
    for index, name in enumerate(WEEKDAYS):
        if text in (name, name[:3]):
            return index
    raise InvalidInput("The digest day is a weekday name, e.g. `monday`.")


def _clock_time(value: str) -> str:
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", value.strip())
    if not match:
        raise InvalidInput("The digest time is HH:MM in 24-hour time, e.g. `09:00`.")
    return f"{int(match.group(1)):02d}:{match.group(2)}"


def _prefix(value: str) -> str:
    text = value.strip().upper()
    if text in ("", "-", "NONE"):
        return ""
    if not re.fullmatch(r"[A-Z0-9]{1,8}", text):
        raise InvalidInput("The code prefix is 0–8 letters or digits (use `none` for no prefix).")
    return text


def _switch(value: str) -> int:
    text = value.strip().lower()
    if text in ("on", "true", "yes", "1"):
        return 1
    if text in ("off", "false", "no", "0"):
        return 0
    raise InvalidInput("Use `on` or `off`.")


@dataclass(frozen=True)
class SettingSpec:
    column: str
    label: str
    parse: Callable[[str], Any]


SETTINGS: dict[str, SettingSpec] = {
    "capacity": SettingSpec("capacity", "Capacity (active ambassadors)", _int_between(1, 100_000, "Capacity")),
    "timezone": SettingSpec("timezone", "Time zone", _timezone),
    "digest_day": SettingSpec("digest_weekday", "Digest day", _weekday),
    "digest_time": SettingSpec("digest_time", "Digest time", _clock_time),
    "code_prefix": SettingSpec("code_prefix", "Code prefix", _prefix),
    "code_pattern": SettingSpec("code_pattern", "Code pattern", lambda v: codes.validate_pattern(v.upper())),
    "points_submission": SettingSpec(
        "points_submission_approved", "Points: approved submission", _int_between(0, 10_000, "Points")
    ),
    "points_sale": SettingSpec("points_sale", "Points: sale", _int_between(0, 10_000, "Points")),
    "points_poll": SettingSpec("points_poll_vote", "Points: poll vote", _int_between(0, 10_000, "Points")),
    "points_event": SettingSpec(
        "points_event_attendance", "Points: event attendance", _int_between(0, 10_000, "Points")
    ),
    "reapply_cooldown_days": SettingSpec(
        "reapply_cooldown_days", "Re-apply cooldown (days)", _int_between(0, 365, "The cooldown")
    ),
    "auto_approve": SettingSpec("auto_approve", "Auto-approve applications", _switch),
    "auto_promote": SettingSpec("auto_promote", "Auto-promote from the waitlist", _switch),
    "shipping_retention_days": SettingSpec(
        "shipping_retention_days", "Shipping details kept after shipping (days)", _int_between(0, 365, "The days")
    ),
}


@dataclass(frozen=True)
class SettingChange:
    key: str
    label: str
    old: Any
    new: Any


def display(key: str, value: Any) -> str:
    if key == "digest_day":
        return WEEKDAYS[int(value)].title()
    if key in ("auto_approve", "auto_promote"):
        return "on" if value else "off"
    if key == "code_prefix" and value == "":
        return "(none)"
    return str(value)


async def change_setting(tx: Transaction, guild_id: int, key: str, value: str, now: datetime) -> SettingChange:
    spec = SETTINGS.get(key)
    if spec is None:
        raise InvalidInput(f"`{key[:40]}` isn't a setting. Choose one from the list.")
    if len(value) > 100:
        raise InvalidInput("That value is too long (100 characters at most).")
    new = spec.parse(value)
    old = await tx.fetchval(f"SELECT {spec.column} FROM guild_settings WHERE guild_id = ?", (guild_id,))
    if old is None:
        raise NotFound("This server has no Collective program yet.")
    await tx.execute(
        f"UPDATE guild_settings SET {spec.column} = ?, updated_at = ? WHERE guild_id = ?",
        (new, to_db(now), guild_id),
    )
    if key == "capacity" and int(new) > int(old):
        await tx.emit(guild_id, members.SEATS_CHANGED, now)  # more seats: the waitlist may move up
    return SettingChange(key, spec.label, old, new)

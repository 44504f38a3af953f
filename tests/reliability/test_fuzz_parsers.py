"""Fuzzing every pure parser that member or moderator text reaches (no database, so many examples).

Each either returns a value or raises a ``bot.errors`` error with a clear message; nothing else escapes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.errors import CollectiveError
from bot.services.inputs import links
from bot.services.inputs.local_time import parse_local
from bot.services.onboarding.form import parse_links
from bot.services.polls import polls
from bot.services.program import program_settings, tiers
from bot.services.sales import codes
from bot.services.sales import reports as sales_reports
from tests.reliability.fuzz_strategies import FUZZ_PURE, assert_clear, date_like, near
from tests.reliability.fuzz_world import ZONES

UTC = ZoneInfo("UTC")


def check(parse: Callable[[], Any]) -> Any:
    try:
        return parse()
    except CollectiveError as exc:
        assert_clear(exc)
        return exc


@FUZZ_PURE
@given(text=date_like(["2026-12-05", "2026-12-05 18:00"]), zone=st.sampled_from(ZONES), default=st.booleans())
def test_dates_typed_in_server_time(text: str, zone: ZoneInfo, default: bool) -> None:
    """Briefs' due date, drops' publish and embargo times, events' start and end."""
    parsed = check(lambda: parse_local(text, zone, default_time=time(23, 59) if default else None))
    if not isinstance(parsed, CollectiveError):
        assert parsed.utcoffset() is not None


@FUZZ_PURE
@given(text=st.one_of(near(["2026-11", "2027-01"], 30), date_like(["2026-11"]).map(lambda d: d[:7])),
       zone=st.sampled_from(ZONES))  # fmt: skip
def test_payout_months(text: str, zone: ZoneInfo) -> None:
    period = check(lambda: sales_reports.month_period(text, zone))
    if not isinstance(period, CollectiveError):
        assert period.start < period.end


DURATIONS = ["30m", "2h", "3d", "1w", "1d12h"]


@FUZZ_PURE
@given(text=st.one_of(near(DURATIONS, 30), st.from_regex(r"\A(\d{1,19}[mhdw]){1,3}\Z")))
def test_poll_durations(text: str) -> None:
    """/poll create and /event followup ``duration``."""
    check(lambda: polls.parse_duration(text))


@FUZZ_PURE
@given(options=near(["Rose | Vanilla | Citrus"], 1000))
def test_poll_options(options: str) -> None:
    check(lambda: polls.validate_options(options.split("|")))


@FUZZ_PURE
@given(text=near(["https://www.tiktok.com/@you/video/1", "http://blog.example.org/p?x=1"], 2100))
def test_links(text: str) -> None:
    """/submit ``link``, the drop image link and the /apply profile links."""
    check(lambda: links.check_link(text))
    check(lambda: parse_links(text))


@FUZZ_PURE
@given(text=near(["GLOW-ANNA", "ALICE10"], 60))
def test_codes(text: str) -> None:
    """/codes set ``code``."""
    checked = check(lambda: codes.validate_code(text))
    if not isinstance(checked, CollectiveError):
        assert codes.CODE_RE.fullmatch(checked)


@FUZZ_PURE
@given(key=st.sampled_from(sorted(program_settings.SETTINGS)), value=st.one_of(
    near(["42", "Europe/Paris", "monday", "09:00", "GLOW", "{PREFIX}{NAME}{RAND3}", "on"], 120),
    st.sampled_from(["America", "Etc/../UTC", "/etc/localtime", "UTC\x00", "posixrules", "right/UTC"]),
))  # fmt: skip
def test_setting_values(key: str, value: str) -> None:
    """/settings change ``value``, through each setting's own parser."""
    check(lambda: program_settings.SETTINGS[key].parse(value))


@FUZZ_PURE
@given(text=near(["12.5", "10%", "0", "100"], 40))
def test_tier_commission(text: str) -> None:
    """/settings tier ``commission``."""
    value = check(lambda: tiers.parse_commission(text))
    if not isinstance(value, CollectiveError):
        assert 0 <= value <= 10_000


@pytest.mark.parametrize("zone", ZONES, ids=str)
def test_the_calendar_edges_in_every_zone(zone: ZoneInfo) -> None:
    """The edges the generated dates aim at, in every zone, so a regression shows without luck."""
    for text in ("0001-01-01", "0001-01-01 00:00", "9999-12-31", "9999-12-31 23:59"):
        check(lambda text=text: parse_local(text, zone, default_time=time(23, 59)))  # type: ignore[misc]
    for month in ("0001-01", "9999-12"):
        check(lambda month=month: sales_reports.month_period(month, zone))  # type: ignore[misc]

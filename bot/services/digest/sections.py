"""The contract between the weekly digest and the capabilities that feed it.

Each capability's service module registers, at import time, a *section provider* (what happened this
week: new ambassadors, sales, approved content, open briefs, upcoming events …) and optionally a *weekly
metric* (one number per week, for the digest's 8-week chart). The digest service asks every registered
provider and assembles the result; it never imports another capability's tables.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from bot.db import Database


@dataclass(frozen=True)
class DigestWindow:
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive
    zone: ZoneInfo  # the server's timezone, for formatting dates


@dataclass(frozen=True)
class DigestSection:
    key: str  # e.g. 'sales'
    title: str  # e.g. 'Sales through codes'
    lines: list[str]  # formatted, most important first; the digest trims to fit Discord's limits
    audience: Literal["public", "moderators"] = "public"
    order: int = 100  # lower comes first
    # Links worth a mention as (what it is, URL): the label is what readers click, so it says what they get.
    highlights: list[tuple[str, str]] = field(default_factory=list)


SectionProvider = Callable[[Database, int, DigestWindow], Awaitable[list[DigestSection]]]
MetricProvider = Callable[[Database, int, list[DigestWindow]], Awaitable[list[int]]]

_sections: dict[str, SectionProvider] = {}
_metrics: dict[str, tuple[str, MetricProvider]] = {}


def section_provider(name: str) -> Callable[[SectionProvider], SectionProvider]:
    """Register ``func`` as the digest provider called ``name`` (re-registering replaces it)."""

    def register(func: SectionProvider) -> SectionProvider:
        _sections[name] = func
        return func

    return register


def weekly_metric(name: str, label: str) -> Callable[[MetricProvider], MetricProvider]:
    """Register a per-week number (e.g. 'orders', 'content_approved') for the digest chart."""

    def register(func: MetricProvider) -> MetricProvider:
        _metrics[name] = (label, func)
        return func

    return register


def section_providers() -> dict[str, SectionProvider]:
    return dict(_sections)


def metric_providers() -> dict[str, tuple[str, MetricProvider]]:
    return dict(_metrics)

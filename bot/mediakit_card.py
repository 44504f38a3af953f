"""The media kit as a PNG card (Pillow), free of Discord: a member's measured results, laid out to be shared.

A header with the brand and the member, then tiles (content, sales, events, streak), then approved content by
platform as bars. Every number comes from ``bot/services/engagement/mediakit.py``.
"""

from __future__ import annotations

from datetime import datetime

from PIL import Image, ImageDraw

from bot.charts import ACCENT, BACKGROUND, BAR, INK, MUTED, fit, font, png
from bot.services.engagement.mediakit import MediaKit
from bot.services.sales.payloads import format_minor
from bot.text import plural

WIDTH, HEIGHT = 1000, 560
TILE_TOP, TILE_HEIGHT = 150, 150
PANEL = (244, 244, 250)
MAX_BARS = 5


def _duration(days: int) -> str:
    if days < 31:
        return plural(days, "day")
    months = days // 30
    if months < 12:
        return plural(months, "month")
    years, rest = divmod(months, 12)
    return plural(years, "year") + (f", {plural(rest, 'month')}" if rest else "")


def _since(moment: datetime | None, days: int) -> str:
    if moment is None:
        return "Ambassador"
    return f"Ambassador since {moment:%B %Y} · {_duration(days)}"


def _tile(draw: ImageDraw.ImageDraw, left: int, width: int, label: str, value: str, detail: str) -> None:
    draw.rounded_rectangle((left, TILE_TOP, left + width, TILE_TOP + TILE_HEIGHT), radius=14, fill=PANEL)
    draw.text((left + 18, TILE_TOP + 16), label.upper(), fill=MUTED, font=font(15))
    draw.text((left + 18, TILE_TOP + 44), fit(draw, value, font(40), width - 36), fill=INK, font=font(40))
    draw.text((left + 18, TILE_TOP + 104), fit(draw, detail, font(16), width - 36), fill=MUTED, font=font(16))


def media_kit_card(kit: MediaKit, brand: str) -> bytes:
    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, WIDTH, 8), fill=BAR)
    draw.text((40, 30), fit(draw, f"{brand} · ambassador media kit", font(18), WIDTH - 80), fill=MUTED, font=font(18))
    name = kit.display_name + (f" — {kit.tier_name}" if kit.tier_name else "")
    draw.text((40, 58), fit(draw, name, font(36), WIDTH - 80), fill=INK, font=font(36))
    draw.text((40, 104), _since(kit.member_since, kit.days_in_program), fill=MUTED, font=font(18))

    gap, count = 20, 4
    width = (WIDTH - 80 - gap * (count - 1)) // count
    if kit.sales:
        first = kit.sales[0]
        money = format_minor(first.net_minor, first.currency)
        more = f" (+{len(kit.sales) - 1} currencies)" if len(kit.sales) > 1 else ""
        sales = (plural(sum(s.orders for s in kit.sales), "order"), f"{money} net{more}")
    else:
        sales = ("0 orders", "through their code")
    tiles = [
        ("Approved content", str(kit.content_total), plural(len(kit.content_by_platform), "platform")),
        ("Sales", sales[0], sales[1]),
        ("Events", str(kit.events_attended), "attended in person or live"),
        ("Active streak", plural(kit.streak_weeks, "week"), f"{kit.points_all:,} points earned"),
    ]
    for index, (label, value, detail) in enumerate(tiles):
        _tile(draw, 40 + index * (width + gap), width, label, value, detail)

    top = TILE_TOP + TILE_HEIGHT + 34
    draw.text((40, top), "CONTENT BY PLATFORM", fill=MUTED, font=font(15))
    bars = kit.content_by_platform[:MAX_BARS]
    if not bars:
        draw.text((40, top + 30), "No approved content yet.", fill=MUTED, font=font(18))
    peak = max((n for _, n in bars), default=1)
    for index, (platform, n) in enumerate(bars):
        y = top + 28 + index * 30
        draw.text((40, y + 2), fit(draw, platform, font(17), 150), fill=INK, font=font(17))
        length = int((WIDTH - 320) * n / peak)
        draw.rounded_rectangle((200, y, 200 + max(length, 6), y + 20), radius=6, fill=ACCENT)
        draw.text((210 + max(length, 6), y + 1), str(n), fill=INK, font=font(17))
    return png(image)

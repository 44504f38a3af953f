"""PNG bar charts (Pillow), free of Discord: a poll's results and the digest's weekly metrics.

Each weekly metric gets its own panel with its own scale (orders and points differ by orders of
magnitude), stacked one above the other.
"""

from __future__ import annotations

import io

from PIL import Image, ImageDraw, ImageFont

WIDTH = 800
BACKGROUND = (255, 255, 255)
INK = (40, 40, 48)
MUTED = (120, 120, 130)
BAR = (91, 91, 214)  # the brand colour used in embeds
ACCENT = (46, 158, 91)
MAX_PANELS = 6


def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def fit(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: int) -> str:
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def poll_chart(title: str, labels: list[str], counts: list[int], voters: int | None = None) -> bytes:
    """Horizontal bars, one per option, with count and share of voters (``voters`` for multiple choice)."""
    if len(labels) != len(counts):
        raise ValueError("one count per label")
    row, top, label_width = 44, 56, 260
    image = Image.new("RGB", (WIDTH, top + row * len(labels) + 20), BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.text((20, 16), fit(draw, title, font(22), WIDTH - 40), fill=INK, font=font(22))
    total = voters if voters is not None else sum(counts)
    peak = max(counts, default=0) or 1
    bar_space = WIDTH - label_width - 150
    for index, (label, count) in enumerate(zip(labels, counts, strict=True)):
        y = top + index * row
        draw.text((20, y + 10), fit(draw, label, font(16), label_width - 30), fill=INK, font=font(16))
        length = round(bar_space * count / peak)
        colour = ACCENT if count == peak and count > 0 else BAR
        if length:
            draw.rectangle((label_width, y + 6, label_width + length, y + row - 10), fill=colour)
        share = round(count * 100 / total) if total else 0
        draw.text((label_width + length + 10, y + 10), f"{count} ({share}%)", fill=MUTED, font=font(16))
    return png(image)


def weekly_chart(title: str, weeks: list[str], series: list[tuple[str, list[int]]]) -> bytes:
    """One panel of weekly bars per metric (its own scale), the latest week highlighted."""
    panels = series[:MAX_PANELS] or [("No weekly numbers registered yet", [0] * len(weeks))]
    panel_height, top = 170, 52
    image = Image.new("RGB", (WIDTH, top + panel_height * len(panels) + 10), BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.text((20, 14), fit(draw, title, font(22), WIDTH - 40), fill=INK, font=font(22))
    slot = (WIDTH - 60) / max(len(weeks), 1)
    for number, (label, values) in enumerate(panels):
        if len(values) != len(weeks):
            raise ValueError(f"metric {label!r} has {len(values)} values for {len(weeks)} weeks")
        y0 = top + number * panel_height
        draw.text((20, y0), fit(draw, label, font(16), WIDTH - 40), fill=INK, font=font(16))
        base = y0 + panel_height - 30
        height = panel_height - 62
        peak = max(max(values, default=0), 1)
        for index, (week, value) in enumerate(zip(weeks, values, strict=True)):
            x = 30 + index * slot
            bar = round(height * max(value, 0) / peak)
            colour = ACCENT if index == len(weeks) - 1 else BAR
            if bar:
                draw.rectangle((x + 8, base - bar, x + slot - 8, base), fill=colour)
            draw.text((x + 8, base - bar - 18), f"{value:,}", fill=MUTED, font=font(13))
            draw.text((x + 8, base + 6), week, fill=MUTED, font=font(13))
        draw.line((24, base, WIDTH - 24, base), fill=MUTED, width=1)
    return png(image)

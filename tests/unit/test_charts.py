"""Charts render real PNGs (read back with Pillow) and refuse mismatched data."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from bot.charts import poll_chart, weekly_chart

WEEKS = ["05 Oct", "12 Oct", "19 Oct", "26 Oct", "02 Nov", "09 Nov", "16 Nov", "23 Nov"]


def _image(png: bytes) -> Image.Image:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return Image.open(io.BytesIO(png))


def test_poll_chart_grows_with_options_and_marks_the_winner() -> None:
    small = _image(poll_chart("Q", ["a", "b"], [1, 3]))
    large = _image(poll_chart("Q" * 500, [f"option {i}" * 20 for i in range(10)], list(range(10)), voters=12))
    assert large.height > small.height and small.width == large.width == 800
    colours = {colour for _, colour in small.convert("RGB").getcolors(maxcolors=100_000) or []}
    assert (46, 158, 91) in colours  # the leading option is highlighted


def test_poll_chart_without_votes() -> None:
    assert _image(poll_chart("Nobody voted", ["a", "b"], [0, 0])).height > 0


def test_weekly_chart_one_panel_per_metric() -> None:
    one = _image(weekly_chart("8 weeks", WEEKS, [("Orders", [1, 2, 3, 4, 5, 6, 7, 8])]))
    two = _image(weekly_chart("8 weeks", WEEKS, [("Orders", [0] * 8), ("Points", [10**9] * 8)]))
    empty = _image(weekly_chart("8 weeks", WEEKS, []))
    assert two.height > one.height == empty.height


def test_mismatched_data_is_refused() -> None:
    with pytest.raises(ValueError):
        poll_chart("Q", ["a", "b"], [1])
    with pytest.raises(ValueError):
        weekly_chart("W", WEEKS, [("Orders", [1, 2])])

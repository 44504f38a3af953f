"""Words as members read them. Plain text, no Discord markup, so services and the Discord layer share it."""

from __future__ import annotations


def plural(count: int, word: str, many: str | None = None) -> str:
    """``count`` with ``word`` agreeing: "1 order", "2 orders", "1,200 orders"; ``many`` for irregular words
    ("1 reply", "2 replies"). Never "order(s)": members read a sentence, not a template."""
    return f"{count:,} {word if count == 1 else (many or word + 's')}"

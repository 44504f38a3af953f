"""Plain-text rendering of what members and moderators saw, for the demo and for debugging tests."""

from __future__ import annotations

import textwrap
from typing import Any

from emulator.models import Message, walk_components

INDENT = "      "
BUTTON_STYLES = {1: "", 2: "", 3: "✓ ", 4: "✗ ", 5: "↗ "}


def _wrap(text: str, prefix: str) -> list[str]:
    lines: list[str] = []
    for raw in text.splitlines() or [""]:
        lines += textwrap.wrap(raw, width=96, initial_indent=prefix, subsequent_indent=prefix) or [prefix]
    return lines


def render_embed(embed: dict[str, Any]) -> list[str]:
    lines = []
    title = embed.get("title")
    if title:
        lines.append(f"{INDENT}┃ {title}")
    if embed.get("description"):
        lines += _wrap(str(embed["description"]), f"{INDENT}┃ ")
    for field in embed.get("fields", []):
        lines.append(f"{INDENT}┃ ▸ {field['name']}")
        lines += _wrap(str(field["value"]), f"{INDENT}┃     ")
    footer = (embed.get("footer") or {}).get("text")
    if footer:
        lines.append(f"{INDENT}┃ — {footer}")
    return lines


def render_components(components: list[dict[str, Any]]) -> list[str]:
    labels = []
    for component in walk_components(components):
        if component.get("type") == 2:
            mark = "(disabled) " if component.get("disabled") else ""
            labels.append(f"[{BUTTON_STYLES.get(component.get('style', 1), '')}{mark}{component.get('label', '')}]")
        elif component.get("type") in (3, 5, 6, 7, 8):
            labels.append(f"[▾ {component.get('placeholder') or 'choose…'}]")
    return [f"{INDENT}{' '.join(labels)}"] if labels else []


def render_message(message: Message) -> list[str]:
    lines = _wrap(message.content, INDENT) if message.content else []
    for embed in message.embeds:
        lines += render_embed(embed)
    for attachment in message.attachments:
        lines.append(f"{INDENT}📎 {attachment.filename} ({len(attachment.data):,} bytes)")
    return lines + render_components(message.components)

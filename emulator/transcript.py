"""Plain-text rendering of what members and moderators saw, for the demo and for debugging tests."""

from __future__ import annotations

import re
import textwrap
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from emulator.models import Message, walk_components

if TYPE_CHECKING:
    from emulator.state import State

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


_MARKUP = re.compile(r"<(@&|@!?|#)(\d+)>|<t:(-?\d+)(?::([tTdDfFR]))?>")
_TIME_STYLES = {"t": "%H:%M", "T": "%H:%M:%S", "d": "%d/%m/%Y", "D": "%d %B %Y", "f": "%d %B %Y %H:%M"}


def humanize(text: str, state: State | None) -> str:
    """Show mentions and timestamps as a Discord client would (times in UTC here)."""

    def replace(match: re.Match[str]) -> str:
        kind, snowflake, unix, style = match.groups()
        if unix is not None:
            moment = datetime.fromtimestamp(int(unix), UTC)
            return moment.strftime(_TIME_STYLES.get(style or "f", "%A %d %B %Y %H:%M")) + " UTC"
        if state is None:
            return match.group(0)
        ident = int(snowflake)
        if kind == "#" and ident in state.channels:
            return f"#{state.channels[ident].name}"
        if kind == "@&" and ident in state.roles:
            return f"@{state.roles[ident].name}"
        if kind.startswith("@") and kind != "@&" and ident in state.users:
            return f"@{state.users[ident].username}"
        return match.group(0)

    return _MARKUP.sub(replace, text)


def _humanize_embed(embed: dict[str, Any], state: State | None) -> dict[str, Any]:
    copy = dict(embed)
    for key in ("title", "description"):
        if copy.get(key):
            copy[key] = humanize(str(copy[key]), state)
    copy["fields"] = [
        {**field, "name": humanize(str(field["name"]), state), "value": humanize(str(field["value"]), state)}
        for field in embed.get("fields", [])
    ]
    return copy


def render_message(message: Message, state: State | None = None) -> list[str]:
    lines = _wrap(humanize(message.content, state), INDENT) if message.content else []
    for embed in message.embeds:
        lines += render_embed(_humanize_embed(embed, state))
    for attachment in message.attachments:
        lines.append(f"{INDENT}📎 {attachment.filename} ({len(attachment.data):,} bytes)")
    return lines + render_components(message.components)

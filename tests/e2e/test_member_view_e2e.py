"""What members and moderators see, across the demo's whole week through the emulator: no internal marker or raw
id in any message the bot wrote (posts, DMs, replies, components), and no plural slip such as "1 orders"."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from emulator import Emulator
from emulator.models import Message
from tests.e2e.conftest import BotRunner, play_demo_week

# "1 orders", "order(s)", "2 day(s)": what a plural helper that was not used leaves behind.
PLURAL_SLIP = re.compile(
    r"(?<![\d.,])1 (?:orders|days|pieces|seats|members|votes|points|pts|sales|times|comments|hours|places|weeks"
    r"|ambassadors)\b"
    r"|\w\(s\)"
)

HAND_TIME = re.compile(r"\b\d{2}:\d{2} (?:UTC|GMT|[A-Z]{3,4}T)\b")


def _component_text(components: list[Any]) -> list[str]:
    found: list[str] = []
    for component in components:
        found += [str(component.get(key, "")) for key in ("label", "placeholder", "content")]
        for option in component.get("options", []):
            found += [str(option.get("label", "")), str(option.get("description", ""))]
        found += _component_text(component.get("components", []))
    return found


def visible_text(message: Message) -> str:
    """Everything a reader can see of a message (not custom ids, which Discord never shows)."""
    parts = [message.content]
    for card in message.embeds:
        parts += [str(card.get("title", "")), str(card.get("description", ""))]
        parts += [str(card.get(key, {}).get(part, "")) for key in ("footer", "author") for part in ("text", "name")]
        for item in card.get("fields", []):
            parts += [str(item.get("name", "")), str(item.get("value", ""))]
    parts += _component_text(message.components)
    return "\n".join(parts)


async def test_the_demo_week_shows_no_internal_marker_nor_plural_slip(emu: Emulator, runner: BotRunner) -> None:
    guild = emu.create_guild(name="Glow Skincare", owner_name="founder")
    brand_team = emu.create_role(guild.id, "Brand team", permissions=1 << 5)
    people = {"mira": emu.add_member(guild.id, "mira", roles=[brand_team.id]).id}
    for name in ("alice", "bob", "chen"):
        people[name] = emu.add_member(guild.id, name).id
    transcript = await play_demo_week(emu, runner, guild.id, people)

    written = [m for m in emu.state.messages.values() if m.author_id == emu.state.bot.id and not m.deleted]
    titles = [str(card.get("title", "")) for m in written for card in m.embeds]
    # The posts that carried exactly-once markers are all part of the week (so the check below covers them).
    for title in ("🔒 Insider drop", "📊 Results:", "📬 This week", "🏆 This week", "🎉 Your code", "Application #"):
        assert any(t.startswith(title) for t in titles), f"the demo no longer posts {title!r}: {titles}"
    texts = [visible_text(message) for message in written]
    # A link to a message carries the server's id in its path; shown text must not.
    markers = [t for t in texts if "collective:" in t or str(guild.id) in t.replace(f"/channels/{guild.id}/", "")]
    assert markers == []
    digests = [
        c for m in written if not m.ephemeral for c in m.embeds if c.get("title") == "📬 This week in the program"
    ]
    assert_digest_reads_right(digests[-1])  # the week the demo plays (the first digest covers the quiet week before)
    # Moments are Discord timestamps (each reader's own zone), not a time written out in the server's zone.
    assert [t for t in texts if HAND_TIME.search(t)] == []
    closes = [f["value"] for m in written for c in m.embeds for f in c.get("fields", []) if f["name"] == "Closes"]
    assert closes and all(re.fullmatch(r"<t:\d+:f>", value) for value in closes), closes  # said once, not twice
    slips = {t[max(m.start() - 40, 0) : m.end()] for t in [*texts, transcript] for m in PLURAL_SLIP.finditer(t)}
    assert slips == set()


def assert_digest_reads_right(digest: dict[str, Any]) -> None:
    # The week named is seven days, Monday to Sunday: not into the next Monday, when it is posted.
    days = re.search(r"The week of \w{3} (\d{2} \w{3}) – \w{3} (\d{2} \w{3}) (\d{4})", digest["description"])
    assert days is not None, digest["description"]
    first, last = (datetime.strptime(f"{day} {days[3]}", "%d %b %Y") for day in (days[1], days[2]))
    assert last - first == timedelta(days=6), digest["description"]
    fields = {str(f["name"]): str(f["value"]) for f in digest.get("fields", [])}
    links = [label for value in fields.values() for label in re.findall(r"\[([^\]]*)\]\(http", value)]
    assert links, fields
    assert not [label for label in links if label.strip().isdigit()], links  # "[1](…)" says nothing
    for name, value in fields.items():
        if "movers" in name:
            assert "📈" in value, (name, value)  # announced, so shown

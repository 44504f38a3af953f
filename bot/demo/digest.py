"""Demo scene: a week after the bot arrived, the weekly digest posts by itself — the scripted week's last scene.

It shows the week back (new ambassadors, points, sales, content, polls) and the week ahead (open briefs and the
event created earlier in the week); what only moderators need, such as fraud flags, goes to the review channel.
"""

from __future__ import annotations

from datetime import timedelta

from bot.demo.stage import Demo
from bot.periods import weekly
from bot.services.program import bindings
from bot.services.program.guild_settings import get_settings
from emulator.models import Message


def _bot_posts(demo: Demo, channel_id: int) -> list[Message]:
    return [
        m
        for m in demo.emu.state.messages_in(channel_id, include_ephemeral=False)
        if m.author_id == demo.emu.bot.id and m.embeds
    ]


async def play(demo: Demo) -> None:
    db, guild_id = demo.bot.db, demo.guild_id
    announcements = await bindings.get_channel_id(db, guild_id, "announcements")
    review = await bindings.get_channel_id(db, guild_id, "review")
    assert announcements is not None and review is not None
    settings = await get_settings(db, guild_id)
    due = weekly(demo.clock.now(), settings.zone, settings.digest_weekday, settings.digest_time).following.due_at
    week_end = demo.started + timedelta(days=7)
    assert due <= week_end, f"the digest is due {due}, after the scripted week ends ({week_end})"
    before_public, before_review = len(_bot_posts(demo, announcements)), len(_bot_posts(demo, review))
    await demo.advance_to(week_end)  # the digest runs on the way, at its time
    demo.scene("A week in: the weekly digest posts by itself")
    for message in _bot_posts(demo, announcements)[before_public:]:
        demo.show_message(message, "#announcements")
        demo.narrate(f"attached: {', '.join(message.files) or 'nothing'}")
    for message in _bot_posts(demo, review)[before_review:]:
        demo.show_message(message, "#review (moderators only)")

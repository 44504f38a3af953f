"""The demo's transcript as a newcomer and `.ci/run` get it (`python -m bot demo --quiet`, a separate process).

Issue 15 item 8: the demo shows the money (a paid tier with commission, a refund, a Shopify export imported, a
fraud flag, payouts), the scripted week is exactly a week, and the digest — the last scene — shows an upcoming
event. Items 6 and 7: nothing members or moderators see carries an internal marker, a raw Discord id or a plural
slip. The demo's own lines (scene titles, narration, the commands typed) are checked separately from what the bot
showed, because the bot's wording lives in cogs/ and services/, not in bot/demo/.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import datetime, timedelta

import pytest

from tests.conftest import ROOT

SCENE = re.compile(r"^━━ (?P<when>\w+ \d\d \w+, \d\d:\d\d) UTC — (?P<title>.+) ━━$", re.MULTILINE)
DEMO_YEAR = 2026  # bot.demo.WEEK_START; scene titles show the day and month only

# Exactly-once markers and custom ids (`collective:timer:1`, `collective:digest:<id>:2026-W49`).
MARKER = re.compile(r"collective:[\w:-]+")
# A snowflake shown as text. Jump links (discord.com/channels/…) are removed first: Discord shows them as links,
# not digits; the transcript prints their URL and may wrap it, which the pattern allows for.
RAW_ID = re.compile(r"(?<!\d)\d{17,20}(?!\d)")
JUMP_LINK = re.compile(r"https://discord\.com/channels/(?:[\d/]|\n[ ┃]*)+")
PLURAL_SLIPS = [
    re.compile(r"\b1 (orders|points|days|pieces|members|votes|refunds|comments|rows|lines|ambassadors)\b"),
    re.compile(r"\(s\)"),
    re.compile(r"\b[02-9]\d* (order|point|day|piece|member|vote|refund|comment|row|line)\b"),
]


@pytest.fixture(scope="module")
def transcript() -> str:
    env = {k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN" and not k.startswith("COLLECTIVE_")}
    env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--quiet"],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=180,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def _scenes(transcript: str) -> list[tuple[datetime, str, str]]:
    """(time, title, body) of every scene, in order."""
    found = list(SCENE.finditer(transcript))
    scenes = []
    for n, match in enumerate(found):
        end = found[n + 1].start() if n + 1 < len(found) else len(transcript)
        when = datetime.strptime(f"{match['when']} {DEMO_YEAR}", "%A %d %b, %H:%M %Y")
        scenes.append((when, match["title"], transcript[match.end() : end]))
    return scenes


def _scene(transcript: str, words: str) -> str:
    bodies = [body for _, title, body in _scenes(transcript) if words in title]
    assert bodies, f"no scene titled with {words!r}: {[title for _, title, _ in _scenes(transcript)]}"
    return bodies[0]


def _shown_by_bot(transcript: str) -> str:
    """What members and moderators saw: the bot's messages, replies and files, which the transcript indents by six
    spaces (the demo's own lines — scene titles, ` » ` commands, `(narration)`, `bot → …:` — are indented less)."""
    return "\n".join(line for line in transcript.splitlines() if line.startswith("      "))


def _demos_own_lines(transcript: str) -> str:
    return "\n".join(line for line in transcript.splitlines() if not line.startswith("      "))


def _marker_and_id_problems(text: str) -> list[str]:
    text = JUMP_LINK.sub("<jump link>", text)
    return sorted({*MARKER.findall(text), *RAW_ID.findall(text)})


def _plural_problems(text: str) -> list[str]:
    text = text.replace("**", "")  # "**1** order(s)" reads as "1 order(s)"
    problems = []
    for line in text.splitlines():
        if any(pattern.search(line) for pattern in PLURAL_SLIPS):
            problems.append(line.strip())
    return problems


# -- the checks can fail ------------------------------------------------------------------------------------


def test_the_checks_catch_what_they_are_for() -> None:
    seen = "      ┃ — collective:timer:1\n      ┃ Server 1578529554182438913\n      ┃ **1** order(s) · 2 day(s)"
    assert _marker_and_id_problems(seen) == ["1578529554182438913", "collective:timer:1"]
    assert len(_plural_problems(seen)) == 1
    assert _plural_problems("1 orders") and _plural_problems("3 piece of content") and not _plural_problems("1 order")
    wrapped = (  # a jump link the transcript wrapped in the middle of a message id
        "[#1](https://discord.com/channels/1578529554182438913/1578529557550465024/15785295590268\n      ┃ 60032) x"
    )
    assert _marker_and_id_problems(wrapped) == []
    assert _shown_by_bot("   (narration)\n      ┃ shown") == "      ┃ shown"


# -- item 8: the demo shows the money, in a week -----------------------------------------------------------


def test_quiet_output_is_only_the_transcript(transcript: str) -> None:
    assert transcript.startswith("Collective demo:")
    assert transcript.rstrip().splitlines()[-1].startswith("Demo finished in ")
    assert "[log]" not in transcript and "Traceback" not in transcript


def test_the_scripted_week_is_exactly_a_week_and_ends_with_the_digest(transcript: str) -> None:
    scenes = _scenes(transcript)
    times = [when for when, _, _ in scenes]
    assert times == sorted(times), "scenes run forward in time"
    digests = [i for i, (_, title, _) in enumerate(scenes) if "digest" in title]
    assert digests, "the week ends with the digest"
    ends = digests[-1]
    assert times[ends] - times[0] == timedelta(days=7), f"the week ran from {times[0]} to {times[ends]}"
    assert "bot → #announcements" in scenes[ends][2]
    # After the week, only the epilogue (the store, the exchange, November's payouts the next night and the next
    # morning's tier rules, a member leaving): a day at most.
    assert all(when - times[ends] <= timedelta(days=1) for when in times[ends:]), [t for _, t, _ in scenes[ends:]]
    assert [title for _, title, _ in scenes[ends + 1 :]] == [
        "Meanwhile, in the brand's Shopify store",
        "An order in the store, seen twice, counted once",
        "Points buy things",
        "A gifting campaign: a new serum, three to give",
        "alice would rather be paid in store credit",
        "November is over: mira runs its payouts",
        "Tiers that move by themselves",
        "The morning's tier rules",
        "chen moves on",
    ]


def test_the_digest_shows_the_event_created_before_it(transcript: str) -> None:
    digest = _scene(transcript, "digest")
    assert "Upcoming events" in digest
    assert "Winter skin workshop" in digest
    announced = _scene(transcript, "next week's workshop")
    assert "Winter skin workshop" in announced and "bot → #announcements" in announced


def test_a_tier_with_commission_is_set_and_alice_earns_it(transcript: str) -> None:
    scene = _scene(transcript, "paid affiliate")
    assert "» mira: /settings tier key:affiliate name:Affiliate commission:10" in scene
    assert "(commission 10%)" in scene
    assert "» mira: /ambassador tier member:@alice tier:affiliate" in scene
    assert re.search(r"affiliate", scene.split("/ambassador tier")[1].split("» alice: /code")[0], re.IGNORECASE)
    code_card = scene.split("» alice: /code")[1]
    assert "Commission (10%)" in code_card and "5.76 EUR" in code_card  # 10% of 57.60 net


def test_a_signed_refund_webhook_is_recorded_and_alice_sees_it(transcript: str) -> None:
    scene = _scene(transcript, "returns part of an order")
    assert "signed refunds/create webhook" in scene
    assert "webhook answered 200" in scene
    code_card = scene.split("» alice: /code")[1]
    assert "28.80 EUR" in code_card and "refund" in code_card
    assert "2.88 EUR" in code_card  # commission on 57.60 − 28.80


def test_the_shopify_export_is_imported_with_a_summary(transcript: str) -> None:
    scene = _scene(transcript, "imports Shopify's orders export")
    assert "» mira: /codes import file:orders_export_1.csv" in scene
    assert "Imported orders_export_1.csv" in scene
    numbers = re.sub(r"[\s┃▸]+", " ", scene)  # a field's name and value, on one line
    assert "Orders read 6 (7 rows)" in numbers
    assert "Attributed 3" in numbers
    assert "Duplicates skipped 1" in numbers  # the order the webhook had already delivered
    assert "`BLACKFRIDAY30` ×1" in numbers


def test_the_report_shows_commission_and_a_fraud_flag(transcript: str) -> None:
    scene = _scene(transcript, "checks the numbers")
    assert "» mira: /codes report period:week" in scene
    flat = re.sub(r"\s*┃\s*", " ", scene)
    assert "net 136.80 EUR" in flat.replace("**", "")  # 57.60 + 72.00 + 36.00 − 28.80
    assert "commission 13.68 EUR (10%)" in flat
    assert re.search(r"🪞 `CHEN\w+` — .*own email", flat), "chen's self-referral is flagged"
    assert "❓ `BLACKFRIDAY30`" in flat
    digest = _scene(transcript, "digest")
    assert "bot → #review (moderators only)" in digest and "🪞" in digest


def test_payouts_for_the_month_carry_the_commission(transcript: str) -> None:
    scene = _scene(transcript, "Payouts")
    assert "» mira: /codes payouts month:2026-11" in scene
    assert "payouts-2026-11.csv" in scene
    alice = next(line for line in scene.splitlines() if "name=alice" in line)
    assert "tier=affiliate" in alice and "net=136.80" in alice and "commission=13.68" in alice
    chen = next(line for line in scene.splitlines() if "name=chen" in line)
    assert "commission=0.00" in chen


# -- items 6 and 7: nothing internal, no plural slips ------------------------------------------------------


def test_the_demos_own_lines_show_no_markers_ids_or_plural_slips(transcript: str) -> None:
    own = _demos_own_lines(transcript)
    assert _marker_and_id_problems(own) == []
    assert _plural_problems(own) == []


def test_what_members_and_moderators_see_has_no_internal_markers_or_raw_ids(transcript: str) -> None:
    assert _marker_and_id_problems(_shown_by_bot(transcript)) == []


def test_what_members_and_moderators_see_has_no_plural_slips(transcript: str) -> None:
    assert _plural_problems(_shown_by_bot(transcript)) == []


def test_the_store_saw_the_codes_and_counted_its_order_once(transcript: str) -> None:
    epilogue = transcript[transcript.index("Meanwhile, in the brand's Shopify store") :]
    created = re.findall(r"store: (\S+)\s+10% off, once per customer — ACTIVE", epilogue.split("━━")[1])
    assert len(created) == 2, epilogue  # alice's and chen's codes, made at approval
    assert "1 order read" in epilogue and "1 already known" in epilogue
    assert "is in the ledger 1 time" in epilogue
    assert epilogue.count("EXPIRED") == 1  # chen's, once chen left


def test_points_buy_a_code_the_store_makes_and_a_gift_reaches_its_member(transcript: str) -> None:
    spent = transcript[transcript.index("Points buy things") : transcript.index("A gifting campaign")]
    assert "✅ Redeemed" in spent and "the store now holds" in spent and "Your code:" in spent
    gifting = transcript[transcript.index("A gifting campaign") : transcript.index("chen moves on")]
    assert gifting.count("#1 in line") == 1 and "#2 in line" in gifting
    assert "the store has order" in gifting and "has shipped" in gifting and "was delivered" in gifting
    assert "Rua Augusta" not in gifting.split("(alice fills in the private form")[1]  # never shown back


def test_a_statement_is_paid_in_store_credit_and_a_tier_promotion_follows(transcript: str) -> None:
    """Issue 18: the demo shows a statement and a tier promotion."""
    chosen = _scene(transcript, "paid in store credit")
    assert "✅ Saved: you're paid in store credit" in chosen
    run = _scene(transcript, "mira runs its payouts")
    assert "Payouts — November 2026" in run and "To pay in store credit" in run and "Total:" in run
    assert "marked paid in store credit" in run and "the store now holds a gift card ending in" in run
    code = re.search(r"Your code: \*\*`(\w+)`\*\*", run)
    assert code is not None and run.count(code[1]) == 1, "the code is DM'd once and shown nowhere else"
    assert code[1][-4:] in run.split("the store now holds a gift card ending in")[1][:12]
    preview = _scene(transcript, "Tiers that move by themselves")
    assert "@alice: affiliate → gold" in preview
    promoted = _scene(transcript, "The morning's tier rules")
    assert "You've moved up to Gold" in promoted and "bot → alice (DM)" in promoted

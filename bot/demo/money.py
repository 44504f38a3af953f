"""Demo scene: the money — a paid affiliate tier, a refund, a Shopify export imported, a fraud flag, payouts.

Everything arrives the way it would in a real program: mira's slash commands, a signed refunds/create webhook,
and the orders CSV Shopify's admin exports, attached to ``/codes import``.
"""

from __future__ import annotations

import asyncio
import csv
import io

from bot.demo.codes import FIRST_ORDER_ID
from bot.demo.shop import Shop, orders_export, refund_body
from bot.demo.stage import Demo
from bot.services.sales import codes

EXPORT_NAME = "orders_export_1.csv"
PAYOUT_COLUMNS = (
    "name",
    "codes",
    "tier",
    "commission_bp",
    "orders",
    "revenue",
    "refunds",
    "net",
    "commission",
    "currency",
)


async def _code_of(demo: Demo, name: str) -> str:
    current = await codes.current_code(demo.bot.db, demo.guild_id, demo.people[name])
    assert current is not None, f"the onboarding scene approves {name} and gives them a code"
    return current.code


def _export(demo: Demo, alice: str, chen: str) -> bytes:
    """Tuesday's orders as Shopify exports them. The webhook delivered the first; the rest came in while the
    webhook endpoint was down for a deploy — which is what the import is for."""

    def at(hour: int) -> str:
        return demo.day(1, hour).strftime("%Y-%m-%d %H:%M:%S +0000")

    def order(
        name: str, email: str, code: str, subtotal: str, discount: str, hour: int, **extra: str
    ) -> dict[str, str]:
        return {"Name": name, "Email": email, "Financial Status": "paid", "Currency": "EUR", "Subtotal": subtotal,
                "Total": subtotal, "Discount Code": code, "Discount Amount": discount, "Created at": at(hour),
                "Lineitem quantity": "1", **extra}  # fmt: skip

    return orders_export([
        order("#4508", "customer@example.com", alice.lower(), "57.60", "6.40", 11, Id=str(FIRST_ORDER_ID),
              **{"Lineitem name": "Dew serum"}),
        order("#1101", "sam@example.com", alice, "72.00", "8.00", 15, Id="5820982911946154601",
              **{"Lineitem name": "Dew serum", "_items": "Gentle cleanser"}),
        order("#1102", "lee@example.com", alice, "36.00", "4.00", 16, Id="5820982911946154602",
              **{"Lineitem name": "Lip balm trio"}),
        order("#1103", "chen@example.com", chen, "45.00", "5.00", 17, Id="5820982911946154603",
              **{"Lineitem name": "Night cream"}),
        order("#1104", "kim@example.com", "BLACKFRIDAY30", "56.00", "24.00", 18, Id="5820982911946154604",
              **{"Lineitem name": "Gift set"}),
        order("#1105", "noa@example.com", "", "32.00", "0.00", 19, Id="5820982911946154605",
              **{"Lineitem name": "Dew serum refill"}),
    ])  # fmt: skip


def _payout_lines(data: bytes) -> list[str]:
    """The payout CSV's columns a marketing lead reads (the file also carries each member's Discord id, for
    matching in a spreadsheet — not something to read aloud)."""
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
    missing = [column for column in PAYOUT_COLUMNS if rows and column not in rows[0]]
    assert not missing, f"the payouts CSV lost its columns {missing}"
    return [" · ".join(f"{column}={row[column]}" for column in PAYOUT_COLUMNS) for row in rows]


async def _import(demo: Demo, data: bytes) -> None:
    """/codes import answers at once with a progress card and edits it into the summary when the import is done:
    show what mira sees once it is done (a few hundred milliseconds here)."""
    demo.print(f"\n » mira: /codes import file:{EXPORT_NAME}")
    reply = await demo.emu.actor(demo.guild_id, demo.people["mira"]).slash(
        "codes import", file=(EXPORT_NAME, data, "text/csv")
    )
    deadline = asyncio.get_running_loop().time() + 10
    while not any(str(card.get("title", "")).startswith("✅") for card in reply.embeds):
        if asyncio.get_running_loop().time() > deadline:
            raise RuntimeError(f"/codes import did not finish within 10 s: {reply.text}")
        await asyncio.sleep(0.05)
    demo.print("   (the progress card turns into the summary)")
    demo.show_reply(reply, "mira")


async def play(demo: Demo) -> None:
    alice_code, chen_code = await _code_of(demo, "alice"), await _code_of(demo, "chen")

    await demo.advance_to(demo.day(1, 15))
    demo.scene("alice sells well: mira makes her a paid affiliate")
    await demo.slash(
        "mira", "settings tier", key="affiliate", name="Affiliate", commission="10",
        perks="10% commission on net sales through your code",
    )  # fmt: skip
    demo.narrate("/setup creates the new tier's role")
    await demo.slash("mira", "setup")
    await demo.slash("mira", "ambassador tier", member=demo.people["alice"], tier="affiliate")
    await demo.slash("alice", "code")

    await demo.advance_to(demo.day(2, 10))
    demo.scene("A customer returns part of an order")
    async with Shop(demo) as shop:
        demo.narrate("the shop sends a signed refunds/create webhook: one item of order #4508, 28.80 EUR")
        body = refund_body(refund_id=909_562_969, order_id=FIRST_ORDER_ID, created_at=demo.clock.now(), amount="28.80")
        status = await shop.deliver("refunds/create", body, "demo-evt-refund-1")
        demo.narrate(f"webhook answered {status} after the refund was committed")
    await demo.slash("alice", "code")

    await demo.advance_to(demo.day(2, 11))
    demo.scene("The webhook was down during Tuesday's deploy: mira imports Shopify's orders export")
    demo.narrate("Shopify admin → Orders → Export → CSV: Tuesday's six orders, one already delivered by webhook")
    await _import(demo, _export(demo, alice_code, chen_code))
    demo.narrate("importing the same file again would change nothing: every order is keyed by its Shopify id")

    demo.scene("mira checks the numbers: commission, and a flag to look into")
    await demo.slash("mira", "codes report", period="week")
    demo.narrate("🪞 chen's code was used with chen's own email — a self-referral; ❓ a code no ambassador holds")

    demo.scene("Payouts: what the program owes so far this month")
    month = demo.clock.now().strftime("%Y-%m")
    payouts = await demo.slash("mira", "codes payouts", month=month)
    for name, data in payouts.files.items():
        demo.narrate(f"{name}, the columns a marketing lead reads:")
        for line in _payout_lines(data):
            demo.print(f"      {line}")

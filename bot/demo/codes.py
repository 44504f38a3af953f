"""Demo scene: alice's code is used in the shop — a signed Shopify webhook, her DM, /code, and mira's report."""

from __future__ import annotations

from datetime import timedelta

from bot.demo.shop import Shop, order_body
from bot.demo.stage import Demo
from bot.services.sales import codes

# Above 2^53 on purpose, as Shopify's ids are: the money scene refunds part of this order.
FIRST_ORDER_ID = 5_820_982_911_946_154_508


async def play(demo: Demo) -> None:
    demo.scene("Codes: alice's code brings in a sale")
    current = await codes.current_code(demo.bot.db, demo.guild_id, demo.people["alice"])
    assert current is not None, "the onboarding scene approves alice and gives her a code"
    code = current.code
    await demo.slash("alice", "code")

    body = order_body(order_id=FIRST_ORDER_ID, code=code, created_at=demo.clock.now(), gross="64.00", discount="6.40")
    async with Shop(demo) as shop:
        demo.narrate(f"the shop sends a signed orders/paid webhook: a customer used “{code.lower()}” (64.00 EUR)")
        status = await shop.deliver("orders/paid", body, "demo-evt-1")
        demo.narrate(f"webhook answered {status} after the sale was committed")
        status = await shop.deliver("orders/paid", body, "demo-evt-1")
        demo.narrate(f"Shopify retries the same event: answered {status}, nothing counted twice")
        status = await shop.deliver("orders/paid", body, "demo-evt-2", signature="forged")
        demo.narrate(f"a forged delivery is refused with {status}")

    await demo.advance_to(demo.clock.now() + timedelta(minutes=3))
    for message in demo.emu.dms_to(demo.people["alice"])[-1:]:
        demo.show_message(message, "alice (DM)")
    await demo.slash("alice", "code")
    await demo.slash("mira", "codes report", period="week")

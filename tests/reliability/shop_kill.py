"""SIGKILL the bot from inside the fake Shopify at the exact moment a crash test wants: while a mutation is on its
way (the store stores nothing), or right after the store stored it (the bot never reads the answer)."""

from __future__ import annotations

from typing import Any

import pytest

from emulator.shop import FakeShopify
from tests.e2e.conftest import SHOP_DOMAIN, SHOP_TOKEN
from tests.reliability.bot_process import BotProcess


def shop_config(guild_id: int, shop: FakeShopify) -> str:
    """The ``[shops.<server id>]`` section connecting the bot process to ``shop``."""
    return (
        f'[shops.{guild_id}]\nshop_domain = "{SHOP_DOMAIN}"\naccess_token = "{SHOP_TOKEN}"\nadmin_url = "{shop.url}"\n'
    )


def kill_during(
    monkeypatch: pytest.MonkeyPatch, shop: FakeShopify, bot: BotProcess, mutation: str, *, stored: bool
) -> None:
    """Kill ``bot`` when ``mutation`` reaches the store: before it is applied (``stored=False``) or after."""
    real_run = shop.run

    def run(query: str, variables: dict[str, Any], operation: str | None = None) -> dict[str, Any]:
        if mutation not in query:
            return real_run(query, variables, operation)
        if not stored:
            bot.kill()
            raise ConnectionResetError("the bot died with the request")  # nothing stored
        answer = real_run(query, variables, operation)
        bot.kill()  # stored, but the bot never reads the answer
        return answer

    monkeypatch.setattr(shop, "run", run)

"""The bot token and the webhook secrets never leave the process: not in logs, errors, replies or exports.

The end-to-end run uses the production logging setup at DEBUG (what ``python -m bot run`` installs), logs
in, serves commands, hits an unexpected error whose exception message carries the secrets, receives good,
bad and malformed webhooks, and produces every CSV export and a backup — then searches all of it.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from pydantic import SecretStr

from bot.__main__ import main
from bot.config import Settings, WebhookSettings
from bot.logging_setup import configure_logging
from bot.webhooks import sign
from emulator import Emulator
from tests.e2e.conftest import TOKEN, BotRunner, World
from tests.fixtures.commerce.sales_world import encode, shopify_order
from tests.reliability.program import Program, start_program, unlimited
from tests.reliability.test_private_data import everything_shown

SHOPIFY_SECRET = "shpss_0123456789abcdef_secret"
WOO_SECRET = "wc_secret_fedcba9876543210"
GENERIC_SECRET = "generic-hook-secret-5f1e2d"
SECRETS = (TOKEN, SHOPIFY_SECRET, WOO_SECRET, GENERIC_SECRET)


def leaks(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


@pytest.fixture
def production_logging() -> Iterator[None]:
    """configure_logging() at DEBUG for one test, then the root logger as it was."""
    root, http = logging.getLogger(), logging.getLogger("discord.http")
    handlers, level, http_level = list(root.handlers), root.level, http.level
    filters = {handler: list(handler.filters) for handler in handlers}
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    for handler in handlers:
        handler.filters[:] = filters[handler]
    root.setLevel(level)
    http.setLevel(http_level)


def with_secrets(runner: BotRunner, port: int) -> Settings:
    settings = BotRunner.settings(runner)
    hooks = WebhookSettings(
        enabled=True,
        host="127.0.0.1",
        port=port,
        shopify_secret=SecretStr(SHOPIFY_SECRET),
        woocommerce_secret=SecretStr(WOO_SECRET),
        generic_secret=SecretStr(GENERIC_SECRET),
    )
    return settings.model_copy(update={"webhooks": hooks})


async def deliver(program: Program, port: int) -> list[str]:
    """A good delivery, a badly signed one, a malformed one and a generic one; returns what the server said."""
    url = f"http://127.0.0.1:{port}/webhooks"
    good = encode(shopify_order(program.code, order_id=9001))
    malformed = b'{"id": 9002, "total_price": "lots"}'
    said = []
    async with aiohttp.ClientSession() as session:
        for path, body, headers in (
            ("shopify", good, {"X-Shopify-Hmac-Sha256": sign(good, SHOPIFY_SECRET), "X-Shopify-Event-Id": "e1"}),
            ("shopify", good, {"X-Shopify-Hmac-Sha256": sign(good, "wrong"), "X-Shopify-Event-Id": "e2"}),
            ("shopify", malformed, {"X-Shopify-Hmac-Sha256": sign(malformed, SHOPIFY_SECRET)}),
            ("orders", malformed, {"X-Collective-Signature": sign(malformed, GENERIC_SECRET)}),
        ):
            headers = {"X-Shopify-Topic": "orders/paid", "Content-Type": "application/json", **headers}
            async with session.post(f"{url}/{path}", data=body, headers=headers) as response:
                said.append(f"{response.status} {await response.text()}")
    assert said[0].startswith("200") and said[1].startswith("401") and said[2].startswith("400"), said
    return said


async def test_secrets_stay_out_of_logs_replies_and_exports(
    emu: Emulator,
    world: World,
    runner: BotRunner,
    production_logging: None,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    settings = with_secrets(runner, port)
    runner.settings = lambda: settings  # type: ignore[method-assign]
    runner.extra_extensions = ["tests.reliability.leaky_ext"]
    configure_logging("DEBUG", settings.secrets())  # exactly what `python -m bot run` installs
    program = await start_program(emu, world, runner)
    unlimited(program.bot)
    gid = program.guild_id
    shown: list[str] = []

    crash = await emu.actor(gid, world.alice.id).slash("leak-crash")
    assert "error id `" in crash.content
    shown.append(everything_shown(crash))
    runner.expected_errors = 1
    shown += await deliver(program, port)

    mira = emu.actor(gid, world.moderator.id)
    poll = await mira.slash("poll create", question="Which scent?", options="Rose | Vanilla", duration="2h")
    poll_id = int(poll.content.split("#")[1].split()[0])
    exports = [
        await mira.slash("ambassador export"),
        await mira.slash("codes payouts"),
        await mira.slash("poll results", poll=poll_id),
        await mira.slash("codes report"),
        await mira.slash("status"),
    ]
    assert all(reply.files or reply.followups or reply.embeds for reply in exports)
    assert any(name.endswith(".csv") for reply in exports for name in reply.files)
    shown += [everything_shown(reply) for reply in exports]
    # Everything any member or moderator was shown, in channels, DMs and ephemeral replies.
    for message in emu.state.messages.values():
        files = [data.decode("utf-8", "replace") for data in message.files.values()]
        shown.append(f"{message.content} {message.embeds} {files}")
    assert not leaks("\n".join(shown))

    # Backups are copies of the database: no secret is stored in it.
    backup = await program.bot.db.backup(tmp_path / "backup.db")
    assert not leaks(backup.read_bytes().decode("latin-1"))

    logged = capsys.readouterr().err
    assert "order webhooks listening" in logged and "unexpected error" in logged  # the capture saw the run
    assert "request failed: Authorization: Bot [redacted]" in logged  # the traceback, redacted
    assert "DEBUG" in logged and "logging in using static token" in logged
    assert not leaks(logged)


def test_config_errors_and_check_config_never_print_secrets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    secrets = f'[discord]\ntoken = "{TOKEN}-long-enough"\n[webhooks]\nshopify_secret = "{SHOPIFY_SECRET}"\n'
    broken = {
        "valid": "",
        "unknown key": '[webhooks]\nshopify_secrett = "x"\n',
        "wrong type": "[webhooks]\nport = 'eighty'\n",
        "secret of the wrong type": f'[webhooks]\nwoocommerce_secret = ["{WOO_SECRET}"]\n',
        "bad toml": f'[program]\ntimezone = "{GENERIC_SECRET}\n',
    }
    for label, extra in broken.items():
        config = tmp_path / "config.toml"
        config.write_text(secrets + extra, encoding="utf-8")
        code = main(["check-config", "--config", str(config)])
        out = capsys.readouterr()
        assert code == (0 if label == "valid" else 2), (label, out)
        assert not leaks(out.out + out.err), f"{label}: {out}"
    # Settings themselves never print their secrets (a stray log of the config object).
    settings = Settings(webhooks=WebhookSettings(shopify_secret=SecretStr(SHOPIFY_SECRET)))
    assert not leaks(repr(settings) + str(settings) + settings.model_dump_json())

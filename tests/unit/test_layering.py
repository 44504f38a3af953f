"""Services hold the rules and never import discord."""

from __future__ import annotations

import ast

from tests.conftest import ROOT

# What services must not reach for: Discord, the network, the shop adapters (bot/shop talks to the store and
# calls the services, never the other way round), the cogs.
FORBIDDEN_IN_SERVICES = ("discord", "aiohttp", "bot.shop", "cogs")


def test_no_service_imports_discord_the_network_or_the_adapters() -> None:
    offenders = []
    for path in (ROOT / "bot" / "services").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [
                f"{path.name}: {name}"
                for name in names
                if any(name == banned or name.startswith(f"{banned}.") for banned in FORBIDDEN_IN_SERVICES)
            ]
    assert offenders == []


DISCORD_MARKUP = ("<@", "<#", "<t:", "discord.com")


def _string_parts(tree: ast.AST) -> list[tuple[int, str]]:
    """Every string literal and every literal part of an f-string (comments and docstrings produce nothing)."""
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


def test_no_service_produces_discord_markup() -> None:
    # Mentions, timestamps and links are rendered by bot/ui/markup from the neutral references of bot/references.
    offenders = []
    for path in (ROOT / "bot" / "services").rglob("*.py"):
        for line, text in _string_parts(ast.parse(path.read_text(encoding="utf-8"))):
            offenders += [f"{path.relative_to(ROOT)}:{line}: {text[:60]!r}" for mark in DISCORD_MARKUP if mark in text]
    assert offenders == []


def test_the_markup_check_sees_f_strings() -> None:
    # The check above must catch markup inside an f-string's literal part, not only plain strings.
    parts = _string_parts(ast.parse('def f(x):\n    """<@ in a docstring is fine"""\n    return f"<@{x}>"\n'))
    assert [text for _line, text in parts] == ["<@", ">"]

"""Services hold the rules and never import discord."""

from __future__ import annotations

import ast

from tests.conftest import ROOT


def test_no_service_imports_discord() -> None:
    offenders = []
    for path in (ROOT / "bot" / "services").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {name}" for name in names if name.split(".")[0] == "discord"]
    assert offenders == []

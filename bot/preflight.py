"""Checks made before touching anything, so an operator gets one sentence naming the key instead of a traceback.

``check-config`` prints them all; ``migrate``, ``run``, ``backup`` and ``restore`` refuse to start on a storage
problem (exit 2).
"""

from __future__ import annotations

import os
from pathlib import Path

from bot.config import Settings


def _writable_folder(folder: Path) -> str | None:
    """None when ``folder`` is (or can be created as) a folder this process may write in; else the reason."""
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe != folder:
        # It will be created on first use: the nearest existing ancestor must allow that.
        if not probe.is_dir():
            return f"{probe} is not a folder, so {folder} cannot be created"
        if not os.access(probe, os.W_OK | os.X_OK):
            return f"{folder} does not exist and {probe} is not writable, so it cannot be created"
        return None
    if not folder.is_dir():
        return f"{folder} is not a folder"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"folder {folder} is not writable"
    return None


def storage_problems(settings: Settings) -> list[str]:
    """One line per unusable database or backup location, each naming its config key."""
    problems: list[str] = []
    db_path = settings.database.path
    if db_path.is_dir():
        problems.append(f"database.path: {db_path} is a folder; give a file name such as {db_path / 'collective.db'}")
    else:
        reason = _writable_folder(db_path.parent)
        if reason is not None:
            problems.append(f"database.path: {reason}")
        elif db_path.exists() and not os.access(db_path, os.R_OK | os.W_OK):
            problems.append(f"database.path: {db_path} is not readable and writable by this user")
    backup_dir = settings.database.backup_dir
    if backup_dir is not None:
        reason = _writable_folder(backup_dir)
        if reason is not None:
            problems.append(f"database.backup_dir: {reason}")
    return problems


def webhook_problems(settings: Settings) -> list[str]:
    """With webhooks on, at least one endpoint must have a secret (a blank one counts as missing)."""
    hooks = settings.webhooks
    if not hooks.enabled:
        return []
    missing = hooks.missing_secrets()
    if len(missing) == 3:
        keys = ", ".join(missing.values())
        return [f"webhooks.enabled is true but no endpoint has a secret: set one of {keys}"]
    return []

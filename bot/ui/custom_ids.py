"""Namespaced custom_ids for components that must keep working after a restart.

Shape: ``collective:<feature>:<action>:<arg>...`` — at most 100 characters, as Discord requires.
"""

from __future__ import annotations

import re

PREFIX = "collective"
MAX_LENGTH = 100
_PART = re.compile(r"^[A-Za-z0-9_\-]+$")


def custom_id(feature: str, action: str, *args: int | str) -> str:
    parts = [PREFIX, feature, action, *(str(arg) for arg in args)]
    for part in parts:
        if not _PART.fullmatch(part):
            raise ValueError(f"custom_id part {part!r} must be letters, digits, '-' or '_'")
    value = ":".join(parts)
    if len(value) > MAX_LENGTH:
        raise ValueError(f"custom_id {value[:40]}… is {len(value)} characters; Discord allows {MAX_LENGTH}")
    return value


def template(feature: str, action: str, *arg_names: str) -> str:
    """The regex a ``DynamicItem`` registers; numeric named groups for each argument."""
    args = "".join(f":(?P<{name}>[0-9]+)" for name in arg_names)
    return rf"{PREFIX}:{feature}:{action}{args}"

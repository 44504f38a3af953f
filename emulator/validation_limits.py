"""Discord's documented limits that its OpenAPI description does not carry.

The schema (see ``emulator.validation``) already checks most per-field lengths and array sizes; the
checks here cover what it cannot express: name patterns, cross-field rules (required options first,
one select per row), sums (embed size, command size) and limits the spec states more loosely than
Discord enforces for bots (content 2000 instead of 4000, 5 action rows instead of 40 components).
Every check records its error only when the schema left that spot clean, so nothing is reported twice.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

ErrorPath = tuple[str | int, ...]

MESSAGE_CONTENT_MAX = 2000
EMBED_TOTAL_MAX = 6000
ACTION_ROWS_MAX = 5
ROW_WIDTH_MAX = 5
MODAL_COMPONENTS_MAX = 5
COMMAND_NAME_MAX = 32
COMMAND_DESCRIPTION_MAX = 100
COMMAND_SIZE_MAX = 8000
CHAT_INPUT_COMMANDS_MAX = 100
CONTEXT_MENU_COMMANDS_MAX = 5  # per type: user and message commands each

# Message flag that switches a message to the layout components ("components v2").
IS_COMPONENTS_V2 = 1 << 15

# Application command types and option types we need by name.
CHAT_INPUT, USER_COMMAND, MESSAGE_COMMAND = 1, 2, 3
SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2
_SELECT_TYPES = (3, 5, 6, 7, 8)  # string, user, role, mentionable, channel selects (a tuple: values may be unhashable)


class FormErrors:
    """Discord's nested ``errors`` object: keys along the path, ``_errors`` lists at the leaves."""

    def __init__(self) -> None:
        self.tree: dict[str, Any] = {}

    def __bool__(self) -> bool:
        return bool(self.tree)

    def _node(self, path: ErrorPath, *, create: bool) -> dict[str, Any] | None:
        node = self.tree
        for key in path:
            child = node.get(str(key))
            if child is None:
                if not create:
                    return None
                child = node[str(key)] = {}
            node = child
        return node

    def has(self, path: ErrorPath) -> bool:
        node = self._node(path, create=False)
        return node is not None and "_errors" in node

    def add(self, path: ErrorPath, code: str, message: str, *, unless_reported: bool = False) -> None:
        if unless_reported and self.has(path):
            return
        node = self._node(path, create=True)
        assert node is not None
        entry = {"code": code, "message": message}
        bucket: list[dict[str, str]] = node.setdefault("_errors", [])
        if entry not in bucket:
            bucket.append(entry)

    def limit(self, path: ErrorPath, code: str, message: str) -> None:
        """Record a limit violation unless the schema already reported this spot."""
        self.add(path, code, message, unless_reported=True)


def _max_length(errors: FormErrors, path: ErrorPath, value: object, limit: int) -> None:
    if isinstance(value, str | list) and len(value) > limit:
        errors.limit(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")


def _text_len(value: object) -> int:
    return len(value) if isinstance(value, str) else 0


def _dict(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: object) -> Sequence[Any]:
    return value if isinstance(value, list) else []


def _command_type(command: Mapping[str, Any]) -> int:
    """The command's type; absent means chat input, anything not an int is left to the schema (-1)."""
    kind = command.get("type")
    if kind is None:
        return CHAT_INPUT
    return kind if type(kind) is int else -1


# --- messages -------------------------------------------------------------------------------------


def embed_size(embed: Mapping[str, Any]) -> int:
    """Characters Discord counts toward the 6000 per-message embed budget."""
    size = _text_len(embed.get("title")) + _text_len(embed.get("description"))
    size += _text_len(_dict(embed.get("footer")).get("text"))
    size += _text_len(_dict(embed.get("author")).get("name"))
    for field in _list(embed.get("fields")):
        field = _dict(field)
        size += _text_len(field.get("name")) + _text_len(field.get("value"))
    return size


def check_message(body: object, errors: FormErrors, base: ErrorPath = ()) -> None:
    """Limits on message create/edit bodies, wherever they appear (channel, webhook, interaction)."""
    if not isinstance(body, Mapping):
        return
    # The spec allows 4000 (the Nitro limit for users); bots are held to 2000.
    _max_length(errors, (*base, "content"), body.get("content"), MESSAGE_CONTENT_MAX)

    embeds = _list(body.get("embeds"))
    if sum(embed_size(_dict(e)) for e in embeds) > EMBED_TOTAL_MAX:
        errors.limit(
            (*base, "embeds"), "MAX_EMBED_SIZE_EXCEEDED", f"Embed size exceeds maximum size of {EMBED_TOTAL_MAX}"
        )

    flags = body.get("flags")
    if isinstance(flags, int) and flags & IS_COMPONENTS_V2:
        return  # layout messages have their own (schema-checked) rules; action rows may nest anywhere
    components = _list(body.get("components"))
    # The spec allows 40 top-level components (for layout messages); classic messages get 5 rows.
    _max_length(errors, (*base, "components"), components, ACTION_ROWS_MAX)
    for index, row in enumerate(components):
        row = _dict(row)
        if row.get("type") == 1:
            _check_row_width(errors, (*base, "components", index, "components"), _list(row.get("components")))


def _check_row_width(errors: FormErrors, path: ErrorPath, items: Sequence[Any]) -> None:
    # A select fills a whole row; buttons take one slot each.
    width = sum(ROW_WIDTH_MAX if _dict(item).get("type") in _SELECT_TYPES else 1 for item in items)
    if width > ROW_WIDTH_MAX:
        errors.limit(path, "COMPONENT_LAYOUT_WIDTH_EXCEEDED", "The specified component exceeds the maximum width")


def check_modal(data: object, errors: FormErrors, base: ErrorPath = ()) -> None:
    """Cross-field rules of a modal (interaction callback type 9); its 1–5 components are in the schema."""
    if not isinstance(data, Mapping):
        return
    for index, row in enumerate(_list(data.get("components"))):
        row = _dict(row)
        inputs = _list(row.get("components")) if row.get("type") == 1 else [row.get("component")]
        for pos, item in enumerate(inputs):
            item = _dict(item)
            at: ErrorPath = (
                (*base, "components", index, "components", pos)
                if row.get("type") == 1
                else (*base, "components", index, "component")
            )
            low, high = item.get("min_length"), item.get("max_length")
            if isinstance(low, int) and isinstance(high, int) and low > high:
                errors.limit(
                    (*at, "min_length"),
                    "TEXT_INPUT_MIN_LENGTH_GREATER_THAN_MAX",
                    "min_length must be less than or equal to max_length.",
                )


def check_callback(body: object, errors: FormErrors) -> None:
    """Interaction callbacks: 4 and 7 carry message data, 9 carries a modal."""
    if not isinstance(body, Mapping):
        return
    kind = body.get("type")
    if kind in (4, 7):
        check_message(body.get("data"), errors, ("data",))
    elif kind == 9:
        check_modal(body.get("data"), errors, ("data",))


def check_thread_with_message(body: object, errors: FormErrors) -> None:
    """Forum/media thread creation carries its first message under ``message``."""
    if isinstance(body, Mapping):
        check_message(body.get("message"), errors, ("message",))


# --- application commands -------------------------------------------------------------------------


def _name_char_ok(char: str) -> bool:
    # Discord's pattern: ^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$
    if char in "-_'":
        return True
    category = unicodedata.category(char)
    if category[0] in "LN":
        return True
    code = ord(char)
    return 0x0900 <= code <= 0x097F or 0x0E00 <= code <= 0x0E7F  # Devanagari, Thai (incl. marks)


def _check_chat_name(errors: FormErrors, path: ErrorPath, name: object) -> None:
    """Chat-input command and option names: Discord's character set, lowercase where one exists."""
    if not isinstance(name, str) or not 1 <= len(name) <= COMMAND_NAME_MAX:
        return  # the schema reports type and length
    if not all(_name_char_ok(c) for c in name) or name != name.lower():
        errors.limit(path, "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")


def _longest(value: object, localizations: object) -> int:
    # Discord sizes a command by its longest localization of each string.
    lengths = [_text_len(value)]
    lengths.extend(_text_len(v) for v in _dict(localizations).values())
    return max(lengths)


def command_size(command: Mapping[str, Any]) -> int:
    """Characters Discord counts toward the 8000 per-command limit."""
    size = _longest(command.get("name"), command.get("name_localizations"))
    size += _longest(command.get("description"), command.get("description_localizations"))
    for option in _list(command.get("options")):
        size += command_size(_dict(option))
    for choice in _list(command.get("choices")):
        choice = _dict(choice)
        size += _longest(choice.get("name"), choice.get("name_localizations"))
        value = choice.get("value")
        size += len(value) if isinstance(value, str) else len(str(value)) if value is not None else 0
    return size


def _check_options(errors: FormErrors, path: ErrorPath, options: Sequence[Any]) -> None:
    seen_optional = False
    names: set[str] = set()
    for index, option in enumerate(options):
        option = _dict(option)
        at = (*path, index)
        name = option.get("name")
        _check_chat_name(errors, (*at, "name"), name)
        if isinstance(name, str):
            if name in names:
                errors.limit(
                    (*at, "name"),
                    "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS",
                    "Option names must be unique",
                )
            names.add(name)
        kind = option.get("type")
        if kind in (SUB_COMMAND, SUB_COMMAND_GROUP):
            _check_options(errors, (*at, "options"), _list(option.get("options")))
            continue
        if option.get("required"):
            if seen_optional:
                errors.limit(
                    path,
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                    "Required options must be placed before non-required options",
                )
        else:
            seen_optional = True


def check_command(command: object, errors: FormErrors, base: ErrorPath = (), *, partial: bool = False) -> None:
    """Limits on one application command; ``partial`` for PATCH bodies, where fields may be absent."""
    if not isinstance(command, Mapping):
        return
    if "type" in command or not partial:
        chat_input = _command_type(command) == CHAT_INPUT
    else:
        # A PATCH body does not restate the type; only chat-input commands carry options or descriptions.
        chat_input = bool(command.get("options") or command.get("description"))
    if chat_input:
        if "name" in command or not partial:
            _check_chat_name(errors, (*base, "name"), command.get("name"))
        # The spec makes description optional because context-menu commands have none.
        description = command.get("description")
        if description is None and not partial:
            errors.limit((*base, "description"), "BASE_TYPE_REQUIRED", "This field is required")
        elif description == "":
            errors.limit(
                (*base, "description"),
                "BASE_TYPE_BAD_LENGTH",
                f"Must be between 1 and {COMMAND_DESCRIPTION_MAX} in length.",
            )
        _check_options(errors, (*base, "options"), _list(command.get("options")))
    if command_size(command) > COMMAND_SIZE_MAX:
        errors.limit(base, "APPLICATION_COMMAND_TOO_LARGE", f"Command exceeds maximum size ({COMMAND_SIZE_MAX})")


def check_command_list(commands: object, errors: FormErrors) -> None:
    """Bulk overwrite (PUT): every command, unique names per type, and per-type counts."""
    if not isinstance(commands, list):
        return
    seen: set[tuple[int, str]] = set()
    counts: dict[int, int] = {}
    for index, command in enumerate(commands):
        check_command(command, errors, (index,))
        command = _dict(command)
        kind = _command_type(command)
        counts[kind] = counts.get(kind, 0) + 1
        name = command.get("name")
        if isinstance(name, str):
            if (kind, name) in seen:
                errors.limit(
                    (index, "name"),
                    "APPLICATION_COMMANDS_DUPLICATE_NAME",
                    "Application command names must be unique",
                )
            seen.add((kind, name))
    limits = {
        CHAT_INPUT: CHAT_INPUT_COMMANDS_MAX,
        USER_COMMAND: CONTEXT_MENU_COMMANDS_MAX,
        MESSAGE_COMMAND: CONTEXT_MENU_COMMANDS_MAX,
    }
    labels = {CHAT_INPUT: "chat input", USER_COMMAND: "user", MESSAGE_COMMAND: "message"}
    if errors.has(()):
        return  # the schema already rejected the list's size
    for kind, limit in limits.items():
        if counts.get(kind, 0) > limit:
            errors.add(
                (),
                "APPLICATION_COMMANDS_TOO_MANY",
                f"Must be {limit} or fewer {labels[kind]} commands (got {counts[kind]}).",
            )

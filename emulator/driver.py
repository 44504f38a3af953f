"""Acting as a guild member: slash commands, buttons, selects, modals and autocomplete, sent to the bot
as real INTERACTION_CREATE dispatches and answered through the emulator's REST endpoints.

    alice = emu.actor(guild.id, alice_user.id)
    reply = await alice.slash("codes set", member=bob.id, code="VIP")
    assert reply.ephemeral and "VIP" in reply.content
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from emulator import interactions as it
from emulator.interactions import InteractionRecord
from emulator.models import Message, walk_components

if TYPE_CHECKING:
    from emulator.server import Emulator

JSON = dict[str, Any]

# Application command option types (Discord's numbering).
SUB_COMMAND, SUB_COMMAND_GROUP, STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, MENTIONABLE, NUMBER, ATTACHMENT = range(
    1, 12
)
_SELECT_TYPES = {3, 5, 6, 7, 8}


class Reply:
    """What the bot answered to one interaction; message fields read the live state."""

    def __init__(self, emu: Emulator, record: InteractionRecord, timeout: float) -> None:
        self._emu = emu
        self.record = record
        self.timeout = timeout

    @property
    def type(self) -> int | None:
        return self.record.response_type

    @property
    def message(self) -> Message | None:
        """The message the response created or edited (the updated one for type 6/7)."""
        if self.record.original_message_id is None:
            return None
        return self._emu.state.messages.get(self.record.original_message_id)

    @property
    def followups(self) -> list[Message]:
        return [self._emu.state.messages[i] for i in self.record.followup_ids]

    @property
    def _shown(self) -> Message | None:
        """The message a reader would look at: the original, or the first follow-up after a deferred update."""
        message = self.message
        if self.type == it.DEFERRED_UPDATE_MESSAGE and self.record.original_edits == 0 and self.followups:
            return self.followups[0]
        return message

    @property
    def ephemeral(self) -> bool:
        shown = self._shown
        return bool(shown and shown.ephemeral)

    @property
    def content(self) -> str:
        shown = self._shown
        return shown.content if shown else ""

    @property
    def embeds(self) -> list[JSON]:
        shown = self._shown
        return shown.embeds if shown else []

    @property
    def components(self) -> list[JSON]:
        shown = self._shown
        return shown.components if shown else []

    @property
    def files(self) -> dict[str, bytes]:
        shown = self._shown
        return shown.files if shown else {}

    @property
    def modal(self) -> JSON | None:
        return self.record.response_data if self.type == it.MODAL else None

    @property
    def choices(self) -> list[JSON]:
        data = self.record.response_data or {}
        return list(data.get("choices") or []) if self.type == it.AUTOCOMPLETE_RESULT else []

    @property
    def text(self) -> str:
        """Content plus every embed's title, description and fields, for loose assertions."""
        parts = [self.content]
        for embed in self.embeds:
            parts += [str(embed.get("title", "")), str(embed.get("description", ""))]
            parts += [f"{f.get('name', '')} {f.get('value', '')}" for f in embed.get("fields", [])]
        return "\n".join(p for p in parts if p)

    def _answered(self) -> bool:
        record = self.record
        if record.response_type is None:
            return False
        if record.response_type in (it.DEFERRED_CHANNEL_MESSAGE, it.DEFERRED_UPDATE_MESSAGE):
            return record.original_edits > 0 or bool(record.followup_ids)
        return True

    async def _wait(self, done: Callable[[], bool], what: str, limit: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        while not done():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"{self.record.label}: the bot never {what} within {limit}s")
            try:
                await asyncio.wait_for(self.record.changed.wait(), remaining)
            except TimeoutError:
                continue

    async def wait_answered(self) -> Reply:
        await self._wait(lambda: self.record.response_type is not None, "responded to the interaction", self.timeout)
        await self._wait(self._answered, "completed its deferred response (no edit or follow-up)", self.timeout)
        return self

    async def wait_followup(self, n: int = 1, timeout: float = 10.0) -> Message:  # noqa: ASYNC109 public API
        """Wait until at least `n` follow-ups exist and return the n-th."""
        await self._wait(lambda: len(self.record.followup_ids) >= n, f"sent follow-up #{n}", timeout)
        return self.followups[n - 1]

    def __repr__(self) -> str:
        return f"<Reply {self.record.label!r} type={self.type} ephemeral={self.ephemeral} content={self.content!r}>"


class Actor:
    def __init__(
        self, emu: Emulator, guild_id: int, user_id: int, channel_id: int | None = None, timeout: float = 10.0
    ) -> None:
        self.emu = emu
        self.guild_id = guild_id
        self.user_id = user_id
        guild = emu.state.guild(guild_id)
        self.channel_id = channel_id or guild.system_channel_id or next(iter(guild.channels))
        self.timeout = timeout

    def in_channel(self, channel_id: int) -> Actor:
        return Actor(self.emu, self.guild_id, self.user_id, channel_id, self.timeout)

    # --- public actions -------------------------------------------------------------------------

    async def slash(self, path: str, /, **options: Any) -> Reply:
        data = self._command_data(path, options, focused=None)
        return await self._send(it.APPLICATION_COMMAND, data, f"/{path}")

    async def autocomplete(self, path: str, option: str, value: str, /, **options: Any) -> list[JSON]:
        data = self._command_data(path, {**options, option: value}, focused=option)
        reply = await self._send(it.AUTOCOMPLETE, data, f"/{path} autocomplete {option}")
        return reply.choices

    async def user_command(self, name: str, target_id: int) -> Reply:
        return await self._context_command(name, 2, target_id)

    async def message_command(self, name: str, message: Message | int) -> Reply:
        target = message if isinstance(message, Message) else self.emu.state.message(message)
        return await self._context_command(name, 3, target.id)

    async def click(self, message: Message | int, custom_id: str) -> Reply:
        target = self._message(message)
        component = self._component(target, custom_id)
        data = {"custom_id": custom_id, "component_type": component.get("type", 2)}
        return await self._send(it.MESSAGE_COMPONENT, data, f"click {custom_id}", target)

    async def select(self, message: Message | int, custom_id: str, values: list[str]) -> Reply:
        target = self._message(message)
        component = self._component(target, custom_id)
        if component.get("type") not in _SELECT_TYPES:
            raise AssertionError(f"component {custom_id!r} is not a select menu")
        data: JSON = {"custom_id": custom_id, "component_type": component["type"], "values": [str(v) for v in values]}
        if component["type"] in (5, 6, 7, 8):
            data["resolved"] = self._resolved_for_ids([int(v) for v in values], component["type"])
        return await self._send(it.MESSAGE_COMPONENT, data, f"select {custom_id}", target)

    async def submit_modal(self, modal: JSON | None, values: Mapping[str, str | list[str]]) -> Reply:
        """Fill a modal: a text input gets a string; a select (inside a label) gets the list of values picked."""
        if modal is None:
            raise AssertionError("no modal to submit: the bot did not answer with a modal (callback type 9)")
        inputs = [c for c in walk_components(modal.get("components", [])) if c.get("type") in {4, *_SELECT_TYPES}]
        known = {c["custom_id"] for c in inputs}
        for component in inputs:
            picked = values.get(component["custom_id"])
            if component.get("type") == 4:
                if picked is not None and not isinstance(picked, str):
                    raise AssertionError(f"text input {component['custom_id']!r} takes a string, not {picked!r}")
                continue
            if isinstance(picked, str):
                raise AssertionError(f"select {component['custom_id']!r} takes a list of values, not {picked!r}")
            offered = {str(o.get("value")) for o in component.get("options", [])}
            if component.get("type") == 3 and picked is not None and not set(picked) <= offered:
                raise AssertionError(f"select {component['custom_id']!r} offers {sorted(offered)}, not {picked}")
        unknown = set(values) - known
        if unknown:
            raise AssertionError(
                f"modal {modal.get('custom_id')!r} has no inputs {sorted(unknown)}; it has {sorted(known)}"
            )
        rows: list[JSON] = []
        for component in modal.get("components", []):
            # Answer in the layout the modal used: action rows (type 1) or labels (type 18).
            if component.get("type") == 18:
                inner = component["component"]
                rows.append({"type": 18, "component": self._modal_value(inner, values)})
            else:
                rows.append(
                    {"type": 1, "components": [self._modal_value(c, values) for c in component.get("components", [])]}
                )
        data = {"custom_id": modal["custom_id"], "components": rows}
        return await self._send(it.MODAL_SUBMIT, data, f"modal {modal['custom_id']}")

    # --- building interactions ------------------------------------------------------------------

    @staticmethod
    def _modal_value(component: JSON, values: Mapping[str, str | list[str]]) -> JSON:
        if component.get("type") == 4:
            return {"type": 4, "custom_id": component["custom_id"], "value": values.get(component["custom_id"], "")}
        answer: JSON = {"type": component.get("type"), "custom_id": component.get("custom_id")}
        if component.get("type") in _SELECT_TYPES:
            # Left alone, a select answers with its default options, as a Discord client does.
            defaults = [str(o.get("value")) for o in component.get("options", []) if o.get("default")]
            answer["values"] = [str(v) for v in values.get(str(component.get("custom_id")), defaults)]
        return answer

    def _message(self, message: Message | int) -> Message:
        return message if isinstance(message, Message) else self.emu.state.message(message)

    @staticmethod
    def _component(message: Message, custom_id: str) -> JSON:
        for component in walk_components(message.components):
            if component.get("custom_id") == custom_id:
                if component.get("disabled"):
                    raise AssertionError(f"component {custom_id!r} is disabled")
                return component
        raise AssertionError(f"message {message.id} has no component {custom_id!r}; it has {message.custom_ids()}")

    def _find_command(self, name: str, type: int = 1) -> JSON:
        command = self.emu.state.command_named(name, self.guild_id, type)
        if command is None:
            known = [c.name for c in self.emu.state.commands_for(self.guild_id) + self.emu.state.global_commands]
            raise AssertionError(f"no synced command {name!r} (type {type}); synced: {sorted(known)}")
        return command.data

    def _command_data(self, path: str, options: dict[str, Any], focused: str | None) -> JSON:
        head, *rest = path.split()
        command = self._find_command(head)
        level: JSON = command
        nesting: list[JSON] = []
        for part in rest:
            sub = next(
                (
                    o
                    for o in level.get("options", [])
                    if o["name"] == part and o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP)
                ),
                None,
            )
            if sub is None:
                raise AssertionError(f"/{path}: {level['name']!r} has no subcommand or group {part!r}")
            nesting.append(sub)
            level = sub
        if any(o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP) for o in level.get("options", [])):
            raise AssertionError(f"/{path} is a group; name a subcommand")
        resolved: JSON = {}
        leaf = self._leaf_options(path, level, options, focused, resolved)
        for sub in reversed(nesting):
            leaf = [{"name": sub["name"], "type": sub["type"], "options": leaf}]
        data: JSON = {"id": command["id"], "name": command["name"], "type": 1, "options": leaf}
        if command.get("guild_id"):
            data["guild_id"] = command["guild_id"]
        if resolved:
            data["resolved"] = resolved
        return data

    def _leaf_options(
        self, path: str, level: JSON, options: dict[str, Any], focused: str | None, resolved: JSON
    ) -> list[JSON]:
        declared = {o["name"]: o for o in level.get("options", [])}
        unknown = set(options) - set(declared)
        if unknown:
            raise AssertionError(f"/{path} has no options {sorted(unknown)}; it has {sorted(declared)}")
        missing = [n for n, o in declared.items() if o.get("required") and n not in options]
        if missing and focused is None:
            raise AssertionError(f"/{path} is missing required options {missing}")
        built = []
        for name, value in options.items():
            option = declared[name]
            entry: JSON = {
                "name": name,
                "type": option["type"],
                "value": self._option_value(option, value, resolved, name == focused),
            }
            if name == focused:
                entry["focused"] = True
            built.append(entry)
        return built

    def _option_value(self, option: JSON, value: Any, resolved: JSON, focused: bool) -> Any:
        kind = option["type"]
        if focused:
            return str(value)  # Discord sends what the user typed so far as a string
        if kind == INTEGER:
            return int(value)
        if kind == NUMBER:
            return float(value)
        if kind == BOOLEAN:
            return bool(value)
        if kind in (USER, CHANNEL, ROLE, MENTIONABLE):
            target = int(getattr(value, "id", value))
            self._merge(
                resolved, self._resolved_for_ids([target], {USER: 5, ROLE: 6, MENTIONABLE: 7, CHANNEL: 8}[kind])
            )
            return str(target)
        if kind == ATTACHMENT:
            filename, payload, content_type = value
            attachment = self.emu.state.add_attachment(self.channel_id, filename, payload, content_type)
            self._merge(resolved, {"attachments": {str(attachment.id): attachment.to_payload()}})
            return str(attachment.id)
        if kind == STRING:
            choices = option.get("choices")
            if choices and str(value) not in {str(c["value"]) for c in choices}:
                raise AssertionError(f"option {option['name']!r} only accepts {[c['value'] for c in choices]}")
            return str(value)
        return value

    @staticmethod
    def _merge(resolved: JSON, extra: JSON) -> None:
        for key, items in extra.items():
            resolved.setdefault(key, {}).update(items)

    def _resolved_for_ids(self, ids: list[int], select_type: int) -> JSON:
        """`resolved` entries for users/members, roles and channels, as Discord attaches them."""
        state = self.emu.state
        guild = state.guild(self.guild_id)
        resolved: JSON = {}
        for target in ids:
            if target in guild.roles and select_type in (6, 7):
                resolved.setdefault("roles", {})[str(target)] = guild.roles[target].to_payload()
            elif target in state.channels and select_type == 8:
                channel = state.channels[target]
                payload = state.channel_payload(channel)
                payload["permissions"] = str(state.permissions_in(target, self.user_id))
                resolved.setdefault("channels", {})[str(target)] = payload
            elif target in state.users and select_type in (5, 7):
                resolved.setdefault("users", {})[str(target)] = state.users[target].to_payload()
                if target in guild.members:
                    member = state.member_payload(self.guild_id, target)
                    del member["user"]
                    member["permissions"] = str(state.permissions_in(self.channel_id, target))
                    resolved.setdefault("members", {})[str(target)] = member
            else:
                raise AssertionError(
                    f"id {target} is not a known {['user', 'role', 'mentionable', 'channel'][select_type - 5]}"
                )
        return resolved

    async def _context_command(self, name: str, type: int, target_id: int) -> Reply:
        command = self._find_command(name, type)
        data: JSON = {"id": command["id"], "name": name, "type": type, "target_id": str(target_id)}
        if type == 2:
            data["resolved"] = self._resolved_for_ids([target_id], 5)
        else:
            data["resolved"] = {
                "messages": {str(target_id): self.emu.state.message_payload(self.emu.state.message(target_id))}
            }
        return await self._send(it.APPLICATION_COMMAND, data, f"{name} (context menu)")

    async def _send(self, kind: int, data: JSON, label: str, message: Message | None = None) -> Reply:
        emu = self.emu
        if not emu.gateway.serves(self.guild_id):
            # Sharded bots: INTERACTION_CREATE goes only to the session holding the guild's shard.
            raise AssertionError(f"{label}: no session connected to the emulator's gateway holds this guild")
        state = emu.state
        channel_id = message.channel_id if message is not None else self.channel_id
        channel = state.channel(channel_id)
        member = state.member_payload(self.guild_id, self.user_id)
        member["permissions"] = str(state.permissions_in(channel_id, self.user_id))
        channel_payload = state.channel_payload(channel)
        channel_payload["permissions"] = member["permissions"]
        interaction_id = state.ids.next()
        payload: JSON = {
            "id": str(interaction_id),
            "application_id": str(state.application_id),
            "type": kind,
            "data": data,
            "guild_id": str(self.guild_id),
            "guild": {"id": str(self.guild_id), "locale": "en-US", "features": []},
            "channel_id": str(channel_id),
            "channel": channel_payload,
            "member": member,
            "token": secrets.token_urlsafe(48),
            "version": 1,
            "app_permissions": str(state.permissions_in(channel_id, state.bot.id)),
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(self.guild_id)},
            "context": 0,
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if message is not None:
            payload["message"] = state.message_payload(message)
        record = InteractionRecord(
            id=interaction_id,
            token=payload["token"],
            type=kind,
            guild_id=self.guild_id,
            channel_id=channel_id,
            user_id=self.user_id,
            created_at=asyncio.get_running_loop().time(),
            label=label,
            payload=payload,
            source_message_id=message.id if message is not None else None,
        )
        state.interactions[interaction_id] = record
        emu.dispatch("INTERACTION_CREATE", payload)
        reply = Reply(emu, record, self.timeout)
        if kind == it.AUTOCOMPLETE:
            await reply._wait(lambda: record.response_type is not None, "answered autocomplete", self.timeout)
            return reply
        return await reply.wait_answered()

"""GUILD_MEMBERS_CHUNK answers to REQUEST_GUILD_MEMBERS (op 8), in chunks of at most 1000 as on Discord."""

from __future__ import annotations

from typing import Any

from emulator.state import State

JSON = dict[str, Any]

CHUNK_SIZE = 1000  # Discord's members per GUILD_MEMBERS_CHUNK


def member_chunks(state: State, data: JSON) -> list[JSON]:
    """The chunks answering one request: by user ids, by username prefix, or everyone (query "", limit 0)."""
    guild_id = int(data["guild_id"])
    guild = state.guild(guild_id)
    query = data.get("query")
    user_ids = data.get("user_ids")
    limit = int(data.get("limit") or 0)
    members = list(guild.members.values())
    if user_ids is not None:
        wanted = {int(u) for u in (user_ids if isinstance(user_ids, list) else [user_ids])}
        members = [m for m in members if m.user_id in wanted]
    elif query:
        members = [m for m in members if state.user(m.user_id).username.lower().startswith(query.lower())]
    if limit:
        members = members[:limit]
    parts = [members[i : i + CHUNK_SIZE] for i in range(0, len(members), CHUNK_SIZE)] or [[]]
    chunks = []
    for index, part in enumerate(parts):
        chunk: JSON = {
            "guild_id": str(guild_id),
            "members": [state.member_payload(guild_id, m.user_id) for m in part],
            "chunk_index": index,
            "chunk_count": len(parts),
        }
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        chunks.append(chunk)
    return chunks

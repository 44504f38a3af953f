"""Cursor pagination the way Shopify's connections answer it (forwards only, as the bot reads)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from graphql import GraphQLError

MAX_PAGE_SIZE = 250  # Shopify caps `first`/`last` at 250


def b64(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode()


def unb64(value: str) -> str | None:
    try:
        return base64.urlsafe_b64decode(value.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        return None


def connection(items: list[Any], cursor: Callable[[Any], str], node: Callable[[Any], Any], more: bool) -> Any:
    nodes = [node(i) for i in items]
    return {
        "nodes": nodes,
        "edges": [{"cursor": cursor(i), "node": n} for i, n in zip(items, nodes, strict=True)],
        "pageInfo": {
            "hasNextPage": more,
            "hasPreviousPage": False,  # the fake pages forwards only, as the bot does
            "startCursor": cursor(items[0]) if items else None,
            "endCursor": cursor(items[-1]) if items else None,
        },
    }


def page(
    items: list[Any], args: dict[str, Any], key: Callable[[Any], str], node: Callable[[Any], Any]
) -> dict[str, Any]:
    """One page of a connection after `args["after"]`, `args["first"]` long (Shopify's limits refused)."""
    first, last = args.get("first"), args.get("last")
    if first is None and last is None:
        raise GraphQLError("you must provide one of first or last")
    size = first if first is not None else last
    assert size is not None
    if size > MAX_PAGE_SIZE or size < 0:
        raise GraphQLError(f"The maximum page size is {MAX_PAGE_SIZE}; `first`/`last` can't be {size}.")
    if last is not None:
        raise GraphQLError("The fake shop pages forwards only (`first`/`after`).")
    after = args.get("after")
    if after:
        decoded = unb64(after)
        index = next((i for i, it in enumerate(items) if key(it) == decoded), None)
        if index is None:
            raise GraphQLError(f"Invalid cursor for current pagination sort: {after}")
        items = items[index + 1 :]
    page = items[:size]
    return connection(page, lambda it: b64(key(it)), node, len(items) > size)

"""Scripted failures for the fake shop: the next N requests answer an HTTP error instead of running.

The bodies are the ones Shopify's GraphQL endpoint sends for those statuses (the `errors` value is a string,
not a list, outside GraphQL execution).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"

_BODIES: dict[int, Any] = {
    401: {"errors": INVALID_TOKEN},
    402: {"errors": "Unavailable Shop"},  # a shop whose plan lapsed
    403: {"errors": "[API] This action requires merchant approval for the requested scope."},
    404: {"errors": "Not Found"},
    423: {"errors": "This shop is unavailable"},  # a locked shop
    429: {
        "errors": "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."
    },
    500: {"errors": "Internal Server Error"},
    502: {"errors": "Bad Gateway"},
    503: {"errors": "Service Unavailable"},
}


@dataclass
class ShopFault:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    times: int | None = 1  # None: until cleared
    hits: int = 0

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.hits >= self.times


class ShopFaults:
    """First added, first served; a rule that has fired `times` times stops matching."""

    def __init__(self) -> None:
        self.rules: list[ShopFault] = []

    def fail(
        self, status: int, *, times: int | None = 1, body: Any = None, headers: dict[str, str] | None = None
    ) -> ShopFault:
        hdrs = dict(headers or {})
        if status == 429:
            hdrs.setdefault("Retry-After", "1.0")  # Shopify sends this with a request-level 429
        rule = ShopFault(status, body if body is not None else _BODIES.get(status, {"errors": "Error"}), hdrs, times)
        self.rules.append(rule)
        return rule

    def match(self) -> ShopFault | None:
        for rule in self.rules:
            if not rule.exhausted:
                rule.hits += 1
                return rule
        return None

    def clear(self) -> None:
        self.rules.clear()

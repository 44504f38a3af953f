"""Scripted failures: rate limits, permission errors, missing objects, server errors, closed DMs.

Rules match on HTTP method and a regex searched in the request path (without `/api/v10`),
and fire a limited number of times, so a test can show the bot survives one bad answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from emulator.responses import MISSING_PERMISSIONS, UNKNOWN_MESSAGE


@dataclass
class FaultRule:
    method: str  # "*" matches any method
    path: re.Pattern[str]
    status: int
    body: dict[str, Any] | None
    headers: dict[str, str] = field(default_factory=dict)
    times: int | None = 1  # None: forever
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        return (self.method == "*" or self.method.upper() == method.upper()) and bool(self.path.search(path))

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.hits >= self.times


class Faults:
    def __init__(self) -> None:
        self.rules: list[FaultRule] = []
        self.closed_dms: set[int] = set()

    def add(
        self,
        method: str,
        path: str,
        status: int,
        body: dict[str, Any] | None = None,
        *,
        headers: dict[str, str] | None = None,
        times: int | None = 1,
    ) -> FaultRule:
        rule = FaultRule(
            method=method, path=re.compile(path), status=status, body=body, headers=dict(headers or {}), times=times
        )
        self.rules.append(rule)
        return rule

    def rate_limit(
        self, method: str, path: str, retry_after: float = 0.05, *, is_global: bool = False, times: int | None = 1
    ) -> FaultRule:
        """A 429 that discord.py treats as a real rate limit (it needs the `Via` header, see http.py)."""
        headers = {
            "Retry-After": f"{retry_after:g}",
            "Via": "1.1 google",
            "X-RateLimit-Scope": "global" if is_global else "user",
        }
        if is_global:
            headers["X-RateLimit-Global"] = "true"
        body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": is_global}
        return self.add(method, path, 429, body, headers=headers, times=times)

    def forbidden(self, method: str, path: str, *, times: int | None = 1) -> FaultRule:
        return self.add(method, path, 403, {"message": "Missing Permissions", "code": MISSING_PERMISSIONS}, times=times)

    def not_found(
        self,
        method: str,
        path: str,
        code: int = UNKNOWN_MESSAGE,
        message: str = "Unknown Message",
        *,
        times: int | None = 1,
    ) -> FaultRule:
        return self.add(method, path, 404, {"message": message, "code": code}, times=times)

    def server_error(self, method: str, path: str, status: int = 500, *, times: int | None = 1) -> FaultRule:
        return self.add(method, path, status, {"message": "Internal Server Error", "code": 0}, times=times)

    def close_dms(self, user_id: int) -> None:
        """The user turned off DMs from server members: sending to them answers 403 code 50007."""
        self.closed_dms.add(user_id)

    def open_dms(self, user_id: int) -> None:
        self.closed_dms.discard(user_id)

    def match(self, method: str, path: str) -> FaultRule | None:
        for rule in self.rules:
            if rule.matches(method, path):
                rule.hits += 1
                return rule
        return None

    def clear(self) -> None:
        self.rules.clear()
        self.closed_dms.clear()

"""WordPress REST conventions the fake follows: error bodies, argument validation, paging, JSON as PHP writes it.

Every error is ``{"code", "message", "data": {"status", …}}`` (WooCommerce's own codes, or WordPress's
``rest_invalid_param`` / ``rest_missing_callback_param`` / ``rest_no_route``). Collections take ``page`` and
``per_page`` (1–100, default 10) and answer ``X-WP-Total``, ``X-WP-TotalPages`` and a ``Link`` header.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlencode

from aiohttp import web

T = TypeVar("T")

# rest_parse_date's pattern: RFC 3339 with an optional offset (WordPress accepts a space for the T).
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|[+-]\d{2}(?::?\d{2})?)?$")


class WooError(Exception):
    """An answer the store gives instead of doing what was asked."""

    def __init__(
        self, code: str, message: str, status: int, *, headers: Mapping[str, str] | None = None, **data: Any
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.headers = dict(headers or {})
        self.data = data

    def response(self) -> web.Response:
        body = {"code": self.code, "message": self.message, "data": {"status": self.status, **self.data}}
        return php_json(body, status=self.status, headers=self.headers)


def php_json(payload: Any, *, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(body=encode(payload), status=status, headers=headers, content_type="application/json")


def encode(payload: Any) -> bytes:
    """JSON as ``wp_json_encode`` writes it: compact, slashes escaped, non-ASCII as \\u escapes."""
    return json.dumps(payload, separators=(",", ":")).replace("/", "\\/").encode()


def no_route() -> WooError:
    return WooError("rest_no_route", "No route was found matching the URL and request method.", 404)


class Invalid:
    """Collects argument problems so one answer names them all, as WordPress does."""

    def __init__(self) -> None:
        self.params: dict[str, str] = {}
        self.missing: list[str] = []

    def add(self, name: str, problem: str) -> None:
        self.params.setdefault(name, problem)

    def raise_if_any(self) -> None:
        if self.missing:
            raise WooError(
                "rest_missing_callback_param", f"Missing parameter(s): {', '.join(self.missing)}", 400,
                params=self.missing,
            )  # fmt: skip
        if self.params:
            raise WooError(
                "rest_invalid_param", f"Invalid parameter(s): {', '.join(self.params)}", 400,
                params=dict(self.params), details={k: {"code": "rest_invalid_type", "message": v, "data": None}
                                                   for k, v in self.params.items()},
            )  # fmt: skip


def one_of(values: Sequence[str]) -> str:
    """WordPress's list wording: ``a, b, and c``."""
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + ", and " + values[-1]


def as_int(value: Any, name: str, invalid: Invalid, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """rest_is_integer: ints and integer strings (query parameters are always strings)."""
    if isinstance(value, bool) or not (
        isinstance(value, int) or (isinstance(value, str) and value.strip().lstrip("-").isdigit())
    ):
        invalid.add(name, f"{name} is not of type integer.")
        return 0
    number = int(value)
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        if minimum is not None and maximum is not None:
            invalid.add(name, f"{name} must be between {minimum} (inclusive) and {maximum} (inclusive)")
        elif minimum is not None:
            invalid.add(name, f"{name} must be greater than or equal to {minimum}")
        else:
            invalid.add(name, f"{name} must be less than or equal to {maximum}")
    return number


def as_bool(value: Any, name: str, invalid: Invalid) -> bool:
    """rest_is_boolean: true/false, 1/0 and their strings."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if isinstance(value, (str, int)) else None
    if text in ("true", "1"):
        return True
    if text in ("false", "0", ""):
        return False
    invalid.add(name, f"{name} is not of type boolean.")
    return False


def as_str(value: Any, name: str, invalid: Invalid) -> str:
    if not isinstance(value, str):
        invalid.add(name, f"{name} is not of type string.")
        return ""
    return value


def as_enum(value: Any, name: str, options: Sequence[str], invalid: Invalid) -> str:
    if not isinstance(value, str) or value not in options:
        invalid.add(name, f"{name} is not one of {one_of(options)}.")
        return options[0]
    return value


def as_int_list(value: Any, name: str, invalid: Invalid) -> list[int]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list):
        invalid.add(name, f"{name} is not of type array.")
        return []
    return [as_int(item, f"{name}[{i}]", invalid) for i, item in enumerate(items) if item != ""]


def parse_date(value: Any, name: str, invalid: Invalid) -> tuple[datetime, bool] | None:
    """A date-time argument: the naive wall time it names, and whether it carried an offset (then in UTC)."""
    match = _DATE.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        invalid.add(name, "Invalid date.")
        return None
    year, month, day, hour, minute, second, zone = match.groups()
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
    except ValueError:
        invalid.add(name, "Invalid date.")
        return None
    if zone is None:
        return moment, False
    if zone == "Z":
        return moment, True
    sign = 1 if zone[0] == "+" else -1
    digits = zone[1:].replace(":", "")
    shift = timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
    return moment - sign * shift, True


def local_to_utc(naive: datetime, offset: timedelta) -> datetime:
    return (naive - offset).replace(tzinfo=UTC)


def paged(request: web.Request, items: list[T], invalid: Invalid) -> tuple[list[T], dict[str, str]]:
    """One page of ``items`` and the headers WordPress sends with it (the caller raises ``invalid`` first)."""
    query = request.query
    per_page = as_int(query.get("per_page", "10"), "per_page", invalid, minimum=1, maximum=100)
    page = as_int(query.get("page", "1"), "page", invalid, minimum=1)
    offset = as_int(query["offset"], "offset", invalid) if "offset" in query else None
    invalid.raise_if_any()
    total = len(items)
    pages = -(-total // per_page)
    start = offset if offset is not None else (page - 1) * per_page
    headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
    base = str(request.url.with_query(None))
    links = []
    if page > 1:
        links.append(f'<{base}?{urlencode({**query, "page": min(page - 1, max(pages, 1))})}>; rel="prev"')
    if pages > page:
        links.append(f'<{base}?{urlencode({**query, "page": page + 1})}>; rel="next"')
    if links:
        headers["Link"] = ", ".join(links)
    return items[start : start + per_page], headers


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's parameters from a JSON body (a missing body is no parameters)."""
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise WooError("rest_invalid_json", "Invalid JSON body passed.", 400) from None
    if not isinstance(body, dict):
        raise WooError("rest_invalid_json", "Invalid JSON body passed.", 400)
    return body

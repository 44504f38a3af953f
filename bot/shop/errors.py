"""What can go wrong talking to a shop, whatever the platform: each message is safe to show to moderators and to
log (it never carries a token or a customer's data) and says what to do."""

from __future__ import annotations

from dataclasses import dataclass


class ShopError(Exception):
    """The shop refused or could not be reached; the message says what and what to do."""


class ShopAuthError(ShopError):
    """401: the access token is wrong or was revoked."""


class ShopScopeError(ShopError):
    """403 or ACCESS_DENIED: the app lacks an access scope the call needs."""


class ShopUnavailable(ShopError):
    """The shop could not be reached or answered 5xx/429: try again later."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class UserError:
    """One entry of a mutation's ``userErrors``: the shop's own words about what it refused."""

    field: tuple[str, ...]
    code: str | None
    message: str


class ShopUserErrors(ShopError):
    def __init__(self, operation: str, errors: list[UserError]) -> None:
        super().__init__(f"the shop refused {operation}: " + "; ".join(e.message for e in errors))
        self.errors = errors

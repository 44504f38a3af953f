"""Who is calling: WooCommerce's REST API keys, as ``WC_REST_Authentication`` checks them.

- The key and secret come from the ``consumer_key`` / ``consumer_secret`` query parameters when both are there,
  else from HTTP Basic. (A real store takes Basic only over HTTPS and wants OAuth 1.0a signatures over plain
  HTTP; the fake listens on 127.0.0.1 without TLS and takes Basic anyway.)
- No key, or a key the store does not know: the request runs as nobody, and the route's own permission check
  refuses it (``woocommerce_rest_cannot_view`` …, 401).
- A known key with the wrong secret: ``woocommerce_rest_authentication_error`` "Consumer secret is invalid." (401).
- A key whose permission does not cover the method (a write with a Read key, a read with a Write key):
  ``woocommerce_rest_authentication_error`` "The API key provided does not have write permissions." (401).
- A key of a user who may not manage the shop: the route's permission check refuses it with 403.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from contextvars import ContextVar
from typing import Literal

from aiohttp import web

from emulator.shop.woocommerce.rest import WooError
from emulator.shop.woocommerce.state import ApiKey

Action = Literal["list", "view", "create", "edit", "delete", "batch"]

# The refusals of WooCommerce's permission callbacks (wc_rest_check_post_permissions / _manager_permissions).
REFUSALS: dict[Action, tuple[str, str]] = {
    "list": ("woocommerce_rest_cannot_view", "Sorry, you cannot list resources."),
    "view": ("woocommerce_rest_cannot_view", "Sorry, you cannot view this resource."),
    "create": ("woocommerce_rest_cannot_create", "Sorry, you are not allowed to create resources."),
    "edit": ("woocommerce_rest_cannot_edit", "Sorry, you are not allowed to edit this resource."),
    "delete": ("woocommerce_rest_cannot_delete", "Sorry, you are not allowed to delete this resource."),
    "batch": ("woocommerce_rest_cannot_batch", "Sorry, you are not allowed to batch manipulate this resource."),
}
# The key of the request being answered: set by the server's middleware, read by the routes (each request runs in
# a task of its own, so each sees its own).
caller: ContextVar[ApiKey | None] = ContextVar("caller", default=None)
BASIC_REALM = (
    'Basic realm="WooCommerce API. Use a consumer key in the username field and a consumer secret in the password '
    'field."'
)


def credentials(request: web.Request) -> tuple[str, str] | None:
    key, secret = request.query.get("consumer_key", ""), request.query.get("consumer_secret", "")
    if key and secret:
        return key, secret
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:].strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if user and password else None


def authenticate(request: web.Request, keys: list[ApiKey]) -> ApiKey | None:
    """The key the request is made with (None: nobody); raises for a wrong secret or a missing permission."""
    given = credentials(request)
    if given is None:
        return None
    key = next((k for k in keys if secrets.compare_digest(k.consumer_key, given[0])), None)
    if key is None:
        return None
    if not secrets.compare_digest(key.consumer_secret, given[1]):
        raise WooError(
            "woocommerce_rest_authentication_error", "Consumer secret is invalid.", 401,
            headers={"WWW-Authenticate": BASIC_REALM},
        )  # fmt: skip
    if not key.allows(request.method):
        kind = "read" if request.method in ("GET", "HEAD") else "write"
        raise WooError(
            "woocommerce_rest_authentication_error", f"The API key provided does not have {kind} permissions.", 401
        )
    return key


def authorize(key: ApiKey | None, action: Action) -> None:
    """The route's permission check: only a shop manager's key may touch coupons, orders, webhooks, settings."""
    if key is not None and key.manages_shop:
        return
    code, message = REFUSALS[action]
    raise WooError(code, message, 401 if key is None else 403)

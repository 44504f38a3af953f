"""Scripted failures for the fake store, with the bodies a WordPress site and the hosts in front of it send.

WordPress answers its own failures as REST errors (a PHP fatal error becomes ``internal_server_error``); a proxy, a
firewall or WordPress's maintenance mode answer HTML. ``faults.fail(503, times=2)`` makes the next two requests
fail; a string ``body`` is sent as HTML, anything else as JSON.
"""

from __future__ import annotations

from typing import Any

from emulator.shop.faults import ShopFault, ShopFaults

CANNOT_LIST = "Sorry, you cannot list resources."
_BODIES: dict[int, Any] = {
    401: {"code": "woocommerce_rest_cannot_view", "message": CANNOT_LIST, "data": {"status": 401}},
    403: {"code": "woocommerce_rest_cannot_view", "message": CANNOT_LIST, "data": {"status": 403}},
    404: {"code": "rest_no_route", "message": "No route was found matching the URL and request method.",
          "data": {"status": 404}},
    429: {"code": "rate_limit_exceeded", "message": "Too many requests. Please wait and try again.",
          "data": {"status": 429}},
    500: {"code": "internal_server_error",
          "message": "<p>There has been a critical error on this website.</p>", "data": {"status": 500},
          "additional_errors": []},
    502: "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>",
    503: "<!DOCTYPE html><html><body><p>Briefly unavailable for scheduled maintenance. Check back in a minute.</p>"
         "</body></html>",
    504: "<html><head><title>504 Gateway Time-out</title></head><body><h1>504 Gateway Time-out</h1></body></html>",
}  # fmt: skip


class WooFaults(ShopFaults):
    def fail(
        self, status: int, *, times: int | None = 1, body: Any = None, headers: dict[str, str] | None = None
    ) -> ShopFault:
        default = _BODIES.get(status, {"code": "error", "message": "Error", "data": {"status": status}})
        return super().fail(status, times=times, body=body if body is not None else default, headers=headers)

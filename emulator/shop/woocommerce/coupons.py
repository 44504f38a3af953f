"""Coupons in the fake store: ``/coupons`` (list, create, batch) and ``/coupons/{id}`` (get, update, delete).

Writes follow ``WC_REST_Coupons_Controller``: a parameter that is ``null`` is skipped (so ``date_expires: null``
leaves the expiry as it is; ``""`` clears it), ``date_expires`` without an offset is in the site's timezone, and
``date_expires_gmt`` is read-only in practice (the coupon has no setter for it). Codes are lower-cased and unique
among coupons outside the trash. Refusals carry WooCommerce's codes: ``woocommerce_rest_empty_coupon_code``,
``woocommerce_rest_coupon_code_already_exists``, ``coupon_invalid_amount``, ``rest_invalid_param``. One deliberate
difference: a real store reads an unreadable ``amount`` as 0; the fake refuses it, so a bot that sends one fails.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from emulator.shop.clock import Clock
from emulator.shop.woocommerce.auth import authorize, caller
from emulator.shop.woocommerce.rest import (
    Invalid,
    WooError,
    as_bool,
    as_enum,
    as_int,
    as_int_list,
    as_str,
    json_body,
    local_to_utc,
    paged,
    parse_date,
    php_json,
)
from emulator.shop.woocommerce.state import DISCOUNT_TYPES, Coupon, MetaItem, WooState, decimal_2, stamp, wc_date

BOOLEANS = ("individual_use", "free_shipping", "exclude_sale_items")
INTEGERS = ("usage_limit", "usage_limit_per_user", "limit_usage_to_x_items")
ID_LISTS = ("product_ids", "excluded_product_ids", "product_categories", "excluded_product_categories")
DECIMALS = ("minimum_amount", "maximum_amount")
BATCH_LIMIT = 100


def _decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(text.strip() or "0")
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


class CouponRoutes:
    """Mixed into FakeWooCommerce."""

    state: WooState
    clock: Clock
    utc_offset: timedelta
    home: str

    def coupon_json(self, c: Coupon) -> dict[str, Any]:
        local = self.utc_offset
        base = f"{self.home}/wp-json/wc/v3/coupons"
        return {
            "id": c.id,
            "code": c.code,
            "amount": decimal_2(c.amount),
            "status": c.status,
            "date_created": wc_date(c.created, local),
            "date_created_gmt": wc_date(c.created),
            "date_modified": wc_date(c.modified, local),
            "date_modified_gmt": wc_date(c.modified),
            "discount_type": c.discount_type,
            "description": c.description,
            "date_expires": wc_date(c.expires, local),
            "date_expires_gmt": wc_date(c.expires),
            "usage_count": c.usage_count,
            "individual_use": c.individual_use,
            "product_ids": list(c.product_ids),
            "excluded_product_ids": list(c.excluded_product_ids),
            "usage_limit": c.usage_limit or None,
            "usage_limit_per_user": c.usage_limit_per_user or None,
            "limit_usage_to_x_items": c.limit_usage_to_x_items or None,
            "free_shipping": c.free_shipping,
            "product_categories": list(c.product_categories),
            "excluded_product_categories": list(c.excluded_product_categories),
            "exclude_sale_items": c.exclude_sale_items,
            "minimum_amount": decimal_2(c.minimum_amount),
            "maximum_amount": decimal_2(c.maximum_amount),
            "email_restrictions": list(c.email_restrictions),
            "used_by": list(c.used_by),
            "meta_data": [{"id": m.id, "key": m.key, "value": m.value} for m in c.meta_data],
            "_links": {"self": [{"href": f"{base}/{c.id}"}], "collection": [{"href": base}]},
        }

    def write_coupon(self, coupon: Coupon, params: dict[str, Any], *, creating: bool) -> None:
        """Apply ``params`` to ``coupon`` (a fresh one when creating), or raise what the store answers."""
        if creating and "code" not in params:
            invalid = Invalid()
            invalid.missing.append("code")
            invalid.raise_if_any()
        invalid = Invalid()
        changes: dict[str, Any] = {}
        for name, value in params.items():
            if value is None:
                continue  # WC_REST_Coupons_Controller skips null parameters: they change nothing
            if name in ("code", "description", "status", "amount", *DECIMALS):
                changes[name] = as_str(value, name, invalid)
            elif name == "discount_type":
                changes[name] = as_enum(value, name, DISCOUNT_TYPES, invalid)
            elif name in BOOLEANS:
                changes[name] = as_bool(value, name, invalid)
            elif name in INTEGERS:
                changes[name] = abs(as_int(value, name, invalid))
            elif name in ID_LISTS:
                changes[name] = as_int_list(value, name, invalid)
            elif name == "email_restrictions":
                if not isinstance(value, list):
                    invalid.add(name, f"{name} is not of type array.")
                else:
                    changes[name] = [as_str(v, f"{name}[{i}]", invalid).strip().lower() for i, v in enumerate(value)]
            elif name == "date_expires":
                changes[name] = self._expiry(value, invalid)
            elif name == "meta_data":
                if not isinstance(value, list) or not all(isinstance(m, dict) and "key" in m for m in value):
                    invalid.add(name, f"{name} is not of type array.")
                else:
                    changes[name] = value
            # everything else (read-only fields, date_expires_gmt, unknown keys) is ignored, as WordPress does
        invalid.raise_if_any()
        if "code" in changes:
            code = changes["code"].strip().lower()
            if not code:
                raise WooError("woocommerce_rest_empty_coupon_code", "The coupon code cannot be empty.", 400)
            if self.state.coupon_by_code(code, excluding=coupon.id) is not None:
                raise WooError("woocommerce_rest_coupon_code_already_exists", "The coupon code already exists", 400)
            changes["code"] = code
        discount_type = changes.get("discount_type", coupon.discount_type)
        if "amount" in changes:
            amount = _decimal(changes["amount"])
            if amount is None or amount < 0 or (discount_type == "percent" and amount > 100):
                raise WooError("coupon_invalid_amount", "Invalid discount amount", 400)
            changes["amount"] = amount
        elif discount_type == "percent" and coupon.amount > 100:
            raise WooError("coupon_invalid_amount", "Invalid discount amount", 400)
        for name in DECIMALS:
            if name in changes:
                changes[name] = _decimal(changes[name]) or Decimal("0")
        meta = changes.pop("meta_data", None)
        if "date_expires" in changes:
            coupon.expires = changes.pop("date_expires")
        for name, value in changes.items():
            setattr(coupon, name, value)
        for item in meta or []:
            self._set_meta(coupon, item)
        coupon.modified = stamp(self.clock)

    def _expiry(self, value: Any, invalid: Invalid) -> datetime | None:
        if value == "":
            return None  # an empty value clears the expiry
        parsed = parse_date(value, "date_expires", invalid)
        if parsed is None:
            return None  # refused: ``invalid`` names it
        moment, had_offset = parsed
        return moment.replace(tzinfo=UTC) if had_offset else local_to_utc(moment, self.utc_offset)

    def _set_meta(self, coupon: Coupon, item: dict[str, Any]) -> None:
        """WC_Data::update_meta_data: by id when given, else the first entry with the key, else a new one."""
        key = str(item["key"])
        found = next((m for m in coupon.meta_data if item.get("id") and m.id == item["id"]), None)
        found = found or next((m for m in coupon.meta_data if m.key == key), None)
        if found is None:
            coupon.meta_data.append(MetaItem(self.state.next_meta_id(), key, item.get("value")))
        else:
            found.key, found.value = key, item.get("value")

    def _coupon(self, request: web.Request) -> Coupon:
        found = self.state.coupons.get(int(request.match_info["id"]))
        if found is None:
            raise WooError("woocommerce_rest_shop_coupon_invalid_id", "Invalid ID.", 404)
        return found

    # ---- routes ------------------------------------------------------------------------------------------

    async def list_coupons(self, request: web.Request) -> web.Response:
        authorize(caller.get(), "list")
        query = request.query
        coupons = [c for c in self.state.coupons.values() if c.status != "trash"]
        if query.get("status") and query["status"] != "any":
            coupons = [c for c in self.state.coupons.values() if c.status == query["status"]]
        if query.get("code"):
            found = self.state.coupon_by_code(query["code"])
            coupons = [c for c in coupons if found is not None and c.id == found.id]
        if query.get("search"):
            term = query["search"].lower()
            coupons = [c for c in coupons if term in c.code or term in c.description.lower()]
        invalid = Invalid()
        descending = query.get("order", "desc") == "desc"
        orderby = query.get("orderby", "date")
        if orderby not in ("date", "id", "include", "title", "slug", "modified"):
            invalid.add("orderby", "orderby is not one of date, id, include, title, slug, and modified.")
        keys = {"date": lambda c: (c.created, c.id), "modified": lambda c: (c.modified, c.id),
                "title": lambda c: (c.code, c.id), "slug": lambda c: (c.code, c.id)}  # fmt: skip
        coupons.sort(key=keys.get(orderby, lambda c: (c.id,)), reverse=descending)
        page, headers = paged(request, coupons, invalid)
        return php_json([self.coupon_json(c) for c in page], headers=headers)

    async def get_coupon(self, request: web.Request) -> web.Response:
        authorize(caller.get(), "view")
        return php_json(self.coupon_json(self._coupon(request)))

    async def create_coupon(self, request: web.Request) -> web.Response:
        authorize(caller.get(), "create")
        coupon = self.create_coupon_from(await json_body(request))
        return php_json(self.coupon_json(coupon), status=201)

    def create_coupon_from(self, params: dict[str, Any]) -> Coupon:
        now = stamp(self.clock)
        coupon = Coupon(0, "", now, now)
        self.write_coupon(coupon, params, creating=True)
        coupon.id = self.state.next_post_id()
        self.state.coupons[coupon.id] = coupon
        return coupon

    async def update_coupon(self, request: web.Request) -> web.Response:
        authorize(caller.get(), "edit")
        coupon = self._coupon(request)
        params = await json_body(request)
        draft = copy.deepcopy(coupon)
        self.write_coupon(draft, params, creating=False)  # all or nothing: a refusal changes nothing
        self.state.coupons[coupon.id] = draft
        return php_json(self.coupon_json(draft))

    async def delete_coupon(self, request: web.Request) -> web.Response:
        authorize(caller.get(), "delete")
        coupon = self._coupon(request)
        body = self.coupon_json(coupon)
        if request.query.get("force", "false").lower() in ("true", "1"):
            del self.state.coupons[coupon.id]
        elif coupon.status == "trash":
            raise WooError("woocommerce_rest_already_trashed", "The shop_coupon has already been deleted.", 410)
        else:
            coupon.status = "trash"
            body = self.coupon_json(coupon)
        return php_json(body)

    async def batch_coupons(self, request: web.Request) -> web.Response:
        """``/coupons/batch``: ``create``, ``update`` and ``delete`` lists; an empty batch changes nothing."""
        authorize(caller.get(), "batch")
        params = await json_body(request)
        items = {k: v for k, v in params.items() if k in ("create", "update", "delete") and v}
        if sum(len(v) if isinstance(v, list) else 1 for v in items.values()) > BATCH_LIMIT:
            raise WooError(
                "woocommerce_rest_request_entity_too_large",
                f"Unable to accept more than {BATCH_LIMIT} items for this request.", 413,
            )  # fmt: skip
        answer: dict[str, list[Any]] = {}
        for params_one in items.get("create", []):
            try:
                answer.setdefault("create", []).append(self.coupon_json(self.create_coupon_from(params_one)))
            except WooError as exc:
                answer.setdefault("create", []).append({"id": 0, "error": _error(exc)})
        for params_one in items.get("update", []):
            coupon = self.state.coupons.get(int(params_one.get("id") or 0))
            try:
                if coupon is None:
                    raise WooError("woocommerce_rest_shop_coupon_invalid_id", "Invalid ID.", 400)
                draft = copy.deepcopy(coupon)
                self.write_coupon(draft, params_one, creating=False)
                self.state.coupons[draft.id] = draft
                answer.setdefault("update", []).append(self.coupon_json(draft))
            except WooError as exc:
                answer.setdefault("update", []).append({"id": params_one.get("id"), "error": _error(exc)})
        for raw_id in items.get("delete", []):
            coupon = self.state.coupons.pop(int(raw_id), None)
            if coupon is None:
                answer.setdefault("delete", []).append({"id": raw_id, "error": _error(
                    WooError("woocommerce_rest_shop_coupon_invalid_id", "Invalid ID.", 404))})  # fmt: skip
            else:
                answer.setdefault("delete", []).append(self.coupon_json(coupon))
        return php_json(answer or [])  # PHP encodes the empty array of an empty batch as []


def _error(exc: WooError) -> dict[str, Any]:
    return {"code": exc.code, "message": exc.message, "data": {"status": exc.status, **exc.data}}

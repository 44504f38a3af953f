"""Fuzzing the order-webhook server over real HTTP: correctly signed bodies that are malformed JSON, have wrong
types, huge numbers, odd unicode or missing fields, and hostile headers (topics, event ids, signatures, paths).

Property: every answer is 200, 400, 401, 404 or 413 with a JSON ``detail`` — never a 500 for input (500 is
kept for a failing database, which makes the shop retry) — and a refused delivery stores nothing.
"""

from __future__ import annotations

import copy
import inspect
import itertools
import json
import re
from collections.abc import AsyncIterator
from typing import Any, Literal

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from bot.clock import FixedClock
from bot.config import WebhookSettings
from bot.db import Database
from bot.services.sales import payloads as shop_payloads
from bot.webhooks import WebhookServer, sign
from tests.fixtures.commerce.sales_world import GUILD, add_ambassador, sample, shopify_order
from tests.reliability.fuzz_strategies import FUZZ, NASTY, dates, numbers, snapshot

SECRETS = {"shopify": "shp-fuzz", "woocommerce": "woo-fuzz", "orders": "gen-fuzz"}
SIGNATURE_HEADER = {"shopify": "X-Shopify-Hmac-Sha256", "woocommerce": "X-WC-Webhook-Signature",
                    "orders": "X-Collective-Signature"}  # fmt: skip
TOPICS = {
    "shopify": ("X-Shopify-Topic", ["orders/paid", "orders/create", "refunds/create"]),
    "woocommerce": ("X-WC-Webhook-Topic", ["order.created", "order.updated"]),
    "orders": ("X-Collective-Topic", ["generic"]),
}
EVENT_ID = {"shopify": "X-Shopify-Event-Id", "woocommerce": "X-WC-Webhook-Delivery-ID",
            "orders": "X-Collective-Event-Id"}  # fmt: skip
ALLOWED = {200, 400, 401, 404, 413}
IDS = itertools.count(1)
PER_PLACE = settings(FUZZ, max_examples=15)  # times every place a parser reads


def woo_order() -> dict[str, Any]:
    return {"id": 727, "number": "727", "status": "processing", "currency": "EUR", "date_created_gmt":
            "2026-11-20T10:00:00", "discount_total": "5.00", "billing": {"email": "b@example.com"},
            "line_items": [{"subtotal": "50.00"}], "coupon_lines": [{"code": "alice10"}],
            "refunds": [{"id": 9, "total": "-5.00"}]}  # fmt: skip


def generic_sale() -> dict[str, Any]:
    return {"event": "sale", "order_id": "A-1001", "code": "ALICE10", "currency": "EUR", "gross": "49.90",
            "discount": "5.00", "occurred_at": "2026-11-24T10:00:00+01:00", "order_name": "#1001",
            "email": "buyer@example.com", "paid": True}  # fmt: skip


def bases() -> dict[str, list[dict[str, Any]]]:
    refund = sample("shopify_refund_example.json")
    return {"shopify": [shopify_order("ALICE10"), refund], "woocommerce": [woo_order()], "orders": [generic_sale()]}


# JSON values of every type; text may hold lone surrogates (a JSON "\ud800" escape parses into one).
LEAF = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=2**63), st.floats(allow_nan=False),
    st.text(max_size=30), st.text(st.characters(categories=["Cs"]), min_size=1, max_size=3),
    numbers(), st.tuples(dates(), st.sampled_from(["", "Z", "+14:00", "-12:00", ":00+01:00"])).map("".join),
    st.sampled_from(NASTY[:40]), st.sampled_from(["USD", "JPY", "KWD", "usd", "X", ""]),
)  # fmt: skip
VALUE = st.recursive(
    LEAF,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


# The keys the parsers read, taken from their source so a newly read field is fuzzed without editing this file.
READ_KEYS = frozenset(re.findall(r"""(?:get\(|\[)"([A-Za-z_]+)"[,)\]]""", inspect.getsource(shop_payloads)))


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, inner in value.items():
            found += paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += paths(inner, (*prefix, index))
    return found


ISO_TIMES = st.tuples(dates().map(lambda d: d.replace(" ", "T")), st.sampled_from(["", "Z", "+14:00", "-12:00"])).map(
    "".join
)


def like(original: Any) -> st.SearchStrategy[Any]:
    """Hostile values shaped like ``original`` (times for a time, amounts for an amount...) or of another type."""
    if isinstance(original, str) and re.fullmatch(r"\d{4}-\d\d-\d\d[T ].*", original):
        shaped = ISO_TIMES
    elif isinstance(original, str) and re.fullmatch(r"-?\d+(\.\d+)?", original):
        shaped = numbers()
    elif isinstance(original, bool):
        shaped = st.sampled_from([0, 1, "true", None])
    elif isinstance(original, int):
        shaped = st.one_of(st.integers(), st.integers(min_value=2**63), st.floats(), st.integers().map(str))
    elif isinstance(original, (dict, list)):
        shaped = st.one_of(st.lists(VALUE, max_size=2), st.text(max_size=5), st.just([original]), st.just({}))
    else:
        shaped = st.one_of(LEAF, st.text(max_size=400).map(lambda t: str(original) + t))
    return st.one_of(shaped, shaped, VALUE)


def read_places(endpoint: str) -> list[tuple[str, int, tuple[Any, ...]]]:
    """(endpoint, which sample body, path) for every place in the samples that a parser reads."""
    found = []
    for index, body in enumerate(bases()[endpoint]):
        for place in paths(body):
            # List items past the first are parsed like the first.
            if all(step in READ_KEYS or step == 0 for step in place):
                found.append((endpoint, index, place))
    return found


PLACES = [place for endpoint in sorted(SECRETS) for place in read_places(endpoint)]


@st.composite
def damaged(draw: st.DrawFn, endpoint: str, index: int, place: tuple[Any, ...]) -> bytes:
    """The sample with ``place`` replaced (or removed), sometimes another place too, sometimes raw damage."""
    body = copy.deepcopy(bases()[endpoint][index])
    targets = [place] + ([draw(st.sampled_from(paths(body)))] if draw(st.integers(0, 4)) == 0 else [])
    for target in targets:
        *parent_path, key = target
        parent = body
        try:
            for step in parent_path:
                parent = parent[step]
            original = parent[key]
        except (KeyError, IndexError, TypeError):
            continue  # the first change removed it
        if draw(st.integers(0, 5)) == 0 and isinstance(parent, dict):
            del parent[key]
        else:
            parent[key] = draw(like(original))
    text = json.dumps(body)
    raw = draw(st.sampled_from(["json"] * 12 + ["cut", "deep", "bigint", "nan", "bytes"]))
    if raw == "cut":
        return text.encode()[: draw(st.integers(0, len(text)))]
    if raw == "deep":
        return b"[" * 100_000 + b"]" * 100_000
    if raw == "bigint":
        return text.replace('"id": ', '"id": ' + "9" * 5000, 1).encode()
    if raw == "nan":
        return text.replace("true", "NaN", 1).replace("false", "-Infinity", 1).encode()
    if raw == "bytes":
        return draw(st.binary(max_size=200))
    return text.encode()


# What an HTTP client can put in a header: Latin-1 without control characters.
NO_CONTROLS: list[Literal["Cc"]] = ["Cc"]
HEADER_CHARS = st.characters(min_codepoint=32, max_codepoint=255, blacklist_categories=NO_CONTROLS)
HEADER_TEXT = st.one_of(st.text(HEADER_CHARS, max_size=300),
                        st.sampled_from(["", " ", "evt-1", "x" * 5000]))  # fmt: skip


@pytest.fixture
async def client(db: Database, clock: FixedClock) -> AsyncIterator[TestClient[Any, Any]]:
    await add_ambassador(db, 1, "Alice", clock.now(), code="ALICE10")
    config = WebhookSettings(
        enabled=True,
        shopify_secret=SecretStr(SECRETS["shopify"]),
        woocommerce_secret=SecretStr(SECRETS["woocommerce"]),
        generic_secret=SecretStr(SECRETS["orders"]),
    )
    hooks = WebhookServer(db, config, clock)
    async with TestClient(TestServer(hooks.app)) as test_client:
        yield test_client
    await hooks.writer.close()


async def deliver(
    client: TestClient[Any, Any], db: Database, endpoint: str, body: bytes, headers: dict[str, str], path: str
) -> int:
    before = await snapshot(db)
    response = await client.post(path, data=body, headers=headers)
    assert response.status in ALLOWED, (response.status, await response.text(), body[:300])
    answer = await response.json()
    assert isinstance(answer.get("detail"), str) and answer["detail"], answer
    if response.status != 200:
        assert await snapshot(db) == before, f"a refused delivery ({response.status} {answer}) stored something"
    return response.status


@pytest.mark.parametrize(
    ("endpoint", "index", "place"), PLACES, ids=[f"{e}{i}:{'.'.join(map(str, p))}" for e, i, p in PLACES]
)
@PER_PLACE
@given(data=st.data())
async def test_signed_malformed_bodies(
    client: TestClient[Any, Any], db: Database, endpoint: str, index: int, place: tuple[Any, ...], data: Any
) -> None:
    body = data.draw(damaged(endpoint, index, place), label="body")
    name, topics = TOPICS[endpoint]
    headers = {
        SIGNATURE_HEADER[endpoint]: sign(body, SECRETS[endpoint]),
        name: data.draw(st.sampled_from(topics), label="topic"),
        EVENT_ID[endpoint]: f"evt-{next(IDS)}",
    }
    await deliver(client, db, endpoint, body, headers, f"/webhooks/{endpoint}/{GUILD}")


@FUZZ
@given(
    endpoint=st.sampled_from(sorted(SECRETS)),
    topic=st.one_of(HEADER_TEXT, st.sampled_from(["orders/paid", "refunds/create", "order.created"])),
    event_id=HEADER_TEXT,
    signature=st.sampled_from(["good", "good", "missing", "other", "text"]),
    other=HEADER_TEXT,
    guild=st.one_of(st.just(str(GUILD)), st.just(""), st.sampled_from(["0", "-1", "9" * 25, "abc", "%00", "1/2"])),
    query=st.one_of(st.just(""), st.sampled_from(["?guild=", "?guild=abc", f"?guild={GUILD}", "?guild=" + "9" * 30])),
)
async def test_hostile_headers_and_paths(
    client: TestClient[Any, Any], db: Database, endpoint: str, topic: str, event_id: str, signature: str,
    other: str, guild: str, query: str,
) -> None:  # fmt: skip
    body = json.dumps(bases()[endpoint][0]).encode()
    headers = {TOPICS[endpoint][0]: topic, EVENT_ID[endpoint]: event_id}
    if signature != "missing":
        headers[SIGNATURE_HEADER[endpoint]] = {
            "good": sign(body, SECRETS[endpoint]), "other": sign(body, "wrong"), "text": other,
        }[signature]  # fmt: skip
    path = f"/webhooks/{endpoint}" + (f"/{guild}" if guild else "") + query
    response = await client.post(path, data=body, headers=headers)
    assert response.status in ALLOWED | {404, 405}, (response.status, await response.text())
    if signature != "good":
        assert response.status in (401, 404, 405), "an unsigned or badly signed delivery got through"


async def test_over_a_mebibyte_is_refused_unread(client: TestClient[Any, Any], db: Database) -> None:
    body = b'{"pad": "' + b"x" * (1024 * 1024) + b'"}'
    headers = {SIGNATURE_HEADER["shopify"]: sign(body, SECRETS["shopify"]), "X-Shopify-Topic": "orders/paid"}
    assert await deliver(client, db, "shopify", body, headers, f"/webhooks/shopify/{GUILD}") == 413

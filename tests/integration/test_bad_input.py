"""Malformed control-API requests: each is a 4xx whose message names the field; none is a 500."""

from __future__ import annotations

import pytest

from ..conftest import Shop

CASES = [
    # (method, path, body or raw bytes, status, field, words in the message)
    ("POST", "/merchants", b"{not json", 400, None, "not valid JSON"),
    ("POST", "/merchants", b"[1, 2]", 400, None, "must be a JSON object"),
    ("POST", "/merchants", b"", 400, None, "body is required"),
    ("POST", "/merchants", {"name": "x", "access_key": "k"}, 400, "production_url", "required"),
    ("POST", "/merchants", {"name": "x", "access_key": "k", "production_url": "ftp://x"}, 400,
     "production_url", "http://"),
    ("POST", "/merchants", {"name": "x", "access_key": "", "production_url": "http://x"}, 400,
     "access_key", "at least 1"),
    ("POST", "/merchants", {"name": "x", "access_key": "k", "production_url": "http://x", "family": "soap"},
     400, "family", "saas_v2_slim"),
    ("POST", "/merchants", {"name": "x", "access_key": "k", "production_url": "http://x", "colour": "red"},
     400, "colour", "unknown field"),
    ("POST", "/merchants", {"name": "x", "access_key": "k", "production_url": "http://x",
                            "retry_overrides": {"purchase": {"attempts": 0, "interval_s": 1}}}, 400,
     "retry_overrides.purchase.attempts", "greater than or equal to 1"),
    ("POST", "/merchants", {"name": "x", "access_key": "k", "production_url": "http://x",
                            "retry_overrides": {"forever": {"attempts": 1, "interval_s": 1}}}, 400,
     "retry_overrides.forever", "purchase"),
    ("POST", "/merchants", {"id": "acme", "name": "x", "access_key": "k", "production_url": "http://x"}, 409,
     "id", "already exists"),
    ("PATCH", "/merchants/acme", {"production_url": None}, 400, "production_url", "cannot be null"),
    ("GET", "/merchants/nobody", None, 404, "merchant_id", "does not exist"),
    ("POST", "/products", {"merchant_id": "acme", "name": "p", "charging_mode": "PERIOD"}, 400,
     "period_type", "required when charging_mode is PERIOD"),
    ("POST", "/products", {"merchant_id": "acme", "name": "p", "charging_mode": "ONE_TIME",
                           "period_type": "month"}, 400, "period_type", "must be empty"),
    ("POST", "/products", {"merchant_id": "acme", "name": "p", "charging_mode": "MONTHLY"}, 400,
     "charging_mode", "PERIOD"),
    ("POST", "/products", {"merchant_id": "nobody", "name": "p", "charging_mode": "ONE_TIME"}, 404,
     "merchant_id", "does not exist"),
    ("POST", "/products", {"merchant_id": "acme", "name": "p", "charging_mode": "ONE_TIME", "price": "-1"},
     400, "price", "pattern"),
    ("POST", "/products", {"code": "monthly", "merchant_id": "acme", "name": "p", "charging_mode": "ONE_TIME"},
     409, "code", "already used"),
    ("POST", "/orders", {}, 400, "product", "required"),
    ("POST", "/orders", {"product": "nothing"}, 404, "product", "does not exist"),
    ("POST", "/orders", {"product": "monthly", "period_number": 0}, 400, "period_number", "greater than"),
    ("POST", "/orders", {"product": "monthly", "period_number": "two"}, 400, "period_number", "integer"),
    ("POST", "/orders", {"product": "onetime", "period_number": 2}, 400, "period_number", "must be empty"),
    ("POST", "/orders", {"product": "pro-monthly", "trial": True}, 409, "trial", "offers no trial"),
    ("POST", "/orders", {"product": "monthly", "buyer": {"customer_id": "xyz"}}, 400, "buyer.customer_id",
     "pattern"),
    ("POST", "/orders", {"product": "monthly", "test_flag": "2"}, 400, "test_flag", "'0' or '1'"),
    ("POST", "/orders/CS0000000000XXXXX/renew", {}, 404, "order_id", "does not exist"),
    ("POST", "/orders/{order}/upgrade", {}, 400, None, "product or linear_value"),
    ("POST", "/orders/{order}/unfreeze", None, 409, "state", "needs it to be frozen"),
    ("POST", "/orders/{order}/convert", {}, 409, "trial", "not a trial"),
    ("GET", "/deliveries/abc", None, 404, None, "Not Found"),
    ("GET", "/deliveries/99999", None, 404, "delivery_id", "does not exist"),
    ("GET", "/deliveries?outcome=maybe", None, 400, "outcome", "succeeded"),
    ("GET", "/orders?limit=0", None, 400, "limit", "greater than or equal to 1"),
    ("POST", "/clock/advance", {"hours": -1}, 400, "hours", "greater than or equal to 0"),
    ("POST", "/clock/advance", {"to": "2020-01-01T00:00:00Z"}, 409, "clock", "backwards"),
    ("POST", "/clock/advance", {"to": "yesterday"}, 400, "to", "datetime"),
    ("POST", "/clock/advance", {"hours": 1, "to": "2030-01-01T00:00:00Z"}, 400, None, "not both"),
    ("PUT", "/clock", {"mode": "warp"}, 400, "mode", "manual"),
    ("PUT", "/clock", {"mode": "scaled", "speed": 0}, 400, "speed", "greater than 0"),
    ("GET", "/no-such-thing", None, 404, None, "Not Found"),
    ("GET", "/deliveries/99999999999999999999999", None, 404, None, "Not Found"),
    ("POST", "/deliveries/99999999999999999999999/restart", None, 404, None, "Not Found"),
    ("GET", "/deliveries?after_id=99999999999999999999999", None, 400, "after_id", "less than or equal"),
    ("GET", "/orders?offset=99999999999999999999999", None, 400, "offset", "less than or equal"),
    ("GET", "/inbound/99999999999999999999999", None, 404, None, "Not Found"),
    ("POST", "/clock/advance", {"to": "9999-12-31T23:00:00Z"}, 409, "clock", "at most 3650 days"),
    ("DELETE", "/clock", None, 405, None, "Method Not Allowed"),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "field", "words"), CASES,
                         ids=[f"{c[0]} {c[1]} {i}" for i, c in enumerate(CASES)])
async def test_bad_request_is_explained(shop: Shop, method: str, path: str, body: object, status: int,
                                        field: str | None, words: str) -> None:
    if "{order}" in path:
        order = await shop.buy()
        path = path.replace("{order}", order["order_id"])
    if "?" in path:
        path, query = path.split("?")
        params = dict([query.split("=")])
    else:
        params = None
    raw = body if isinstance(body, bytes) else None
    got_status, data = await shop.api.call(method, path, None if raw is not None else body, raw=raw, params=params)
    assert got_status == status, data
    error = data["error"]
    assert error["field"] == field, error
    assert words in error["message"], error


async def test_nothing_is_lost_after_bad_requests(shop: Shop) -> None:
    order = await shop.buy()
    for _ in range(3):
        await shop.api.call("POST", f"/orders/{order['order_id']}/upgrade", {"product": 5})
    orders = (await shop.api.ok("GET", "/orders"))["orders"]
    assert [o["order_id"] for o in orders] == [order["order_id"]]


async def test_control_api_refuses_cross_site_requests(shop: Shop) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        url = shop.api.base_url + "/sandbox/api/v1/reset"
        async with session.post(url, headers={"Origin": "http://evil.example"}) as response:
            assert response.status == 403 and (await response.json())["error"]["field"] == "Origin"
        body = '{"name": "x", "production_url": "http://x", "access_key": "k"}'
        merchants = shop.api.base_url + "/sandbox/api/v1/merchants"
        async with session.post(merchants, data=body, headers={"Content-Type": "text/plain",
                                                                "Sec-Fetch-Site": "cross-site"}) as response:
            assert response.status == 403
        # curl -d sends a form content type and no Origin: a script, accepted and read as JSON
        async with session.post(merchants, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
                                ) as response:
            assert response.status == 201
        same_origin = shop.api.base_url
        async with session.post(url, headers={"Origin": same_origin}) as response:
            assert response.status == 200


async def test_a_merchant_with_records_is_not_deleted(shop: Shop) -> None:
    """A merchant that still has a login application (or orders, deliveries, credentials) gets a 409
    that says what it has, not a foreign-key error."""
    api = shop.api
    await api.ok("POST", "/merchants", {"id": "lonely", "name": "L", "production_url": "http://127.0.0.1:9/p",
                                        "access_key": "k"})
    await api.ok("POST", "/oauth/apps", {"merchant_id": "lonely", "name": "a", "login_url": "http://x.example/cb"})
    status, body = await api.call("DELETE", "/merchants/lonely")
    assert status == 409 and body["error"]["field"] == "merchant_id", body
    assert "unified-login applications" in body["error"]["message"]
    assert (await api.ok("GET", "/merchants/lonely"))["id"] == "lonely"

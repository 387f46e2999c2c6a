"""Open APIs over real HTTP, signed with Huawei's own SDK signer (huaweicloudsdkcore) and with ours."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import aiohttp
import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer

from emulator.app import EmulatorServer
from emulator.testing.openapi_client import OpenApiClient

from ..conftest import STUB_KEY, Shop
from ..helpers import Api

QUERY = "/api/mkp-openapi-public/global/v1/order/query"
USAGE = "/api/mkp-openapi-public/global/v1/isv/usage-data"


async def sdk_call(base_url: str, ak: str, sk: str, method: str, path: str, query: list[tuple[str, Any]],
                   body: bytes = b"", headers: dict[str, str] | None = None,
                   tamper: Any = None) -> tuple[int, dict, Any]:
    """Sign with the official SDK's Signer, send with aiohttp exactly what it signed."""
    host = base_url.removeprefix("http://")
    request = SdkRequest(method=method, schema="http", host=host, resource_path=path,
                         query_params=copy.deepcopy(query),
                         header_params=dict(headers or {"Content-Type": "application/json"}), body=body)
    signed = Signer(BasicCredentials(ak, sk)).sign(request)
    sent_headers = dict(signed.header_params)
    sent_body = body
    if tamper is not None:
        sent_headers, sent_body = tamper(sent_headers, body)
    async with aiohttp.ClientSession() as session:
        async with session.request(method, base_url + signed.uri, data=sent_body or None,
                                   headers=sent_headers, skip_auto_headers=["Content-Type"]) as response:
            return response.status, json.loads(await response.read()), response.headers


@pytest.fixture
async def keys(shop: Shop) -> dict[str, str]:
    return await shop.api.ok("POST", "/merchants/acme/credentials")


async def test_sk_is_shown_once_then_masked(shop: Shop, keys: dict[str, str]) -> None:
    assert len(keys["sk"]) == 40
    listed = (await shop.api.ok("GET", "/merchants/acme/credentials"))["credentials"]
    assert listed[0]["ak"] == keys["ak"] and keys["sk"] not in json.dumps(listed)
    rotated = await shop.api.ok("POST", "/merchants/acme/credentials")
    states = {c["ak"]: c["active"] for c in (await shop.api.ok("GET", "/merchants/acme/credentials"))["credentials"]}
    assert states == {keys["ak"]: False, rotated["ak"]: True}


async def test_query_order_signed_by_the_official_sdk(emulator: EmulatorServer, shop: Shop,
                                                      keys: dict[str, str]) -> None:
    order = await shop.buy(linear_value=20, buyer={"customer_name": "Zhang San", "email": "z@example.com"})
    status, body, headers = await sdk_call(emulator.url, keys["ak"], keys["sk"], "GET", QUERY,
                                           [("orderId", order["order_id"])])
    assert status == 200, body
    assert len(headers["X-Request-Id"]) == 32 and "Set-Cookie" not in headers
    assert body["resultCode"] == "MKT.0000" and body["resultMsg"] == "Success"
    info = body["orderInfo"]
    assert info["orderId"] == order["order_id"] and info["orderType"] == "NEW"
    assert info["createTime"] == "20260131100000"
    line = info["orderLine"][0]
    assert line["orderLineId"] == order["order_id"] + "-000001"
    assert (line["chargingMode"], line["periodType"], line["periodNumber"]) == ("PERIOD", "month", 1)
    assert line["expireTime"] == "20260228100000"
    assert line["productInfo"][0]["linearValue"] == 20
    assert info["buyerInfo"]["customerName"] == "Zhang San" and info["buyerInfo"]["userId"] is None

    journal = (await shop.api.ok("GET", "/inbound"))["calls"]
    assert journal[0]["api"] == "query_order" and journal[0]["accepted"] is True
    assert journal[0]["merchant_id"] == "acme"


async def test_mock_orders_answer_every_merchant(emulator: EmulatorServer, keys: dict[str, str]) -> None:
    status, body, _ = await sdk_call(emulator.url, keys["ak"], keys["sk"], "GET", QUERY,
                                     [("orderId", "MOCKPERIODYEARNEW"), ("orderLineId", "MOCKPERIODYEARNEW-000001")])
    assert status == 200 and body["orderInfo"]["orderLine"][0]["periodType"] == "year"
    status, body, _ = await sdk_call(emulator.url, keys["ak"], keys["sk"], "GET", QUERY, [("orderId", "MOCKNOPE")])
    assert (status, body["resultCode"]) == (500, "MKT.0100")


def _tamper_body(headers: dict, body: bytes) -> tuple[dict, bytes]:
    return headers, body.replace(b"sn-1", b"sn-2")


def _drop_authorization(headers: dict, body: bytes) -> tuple[dict, bytes]:
    return {k: v for k, v in headers.items() if k != "Authorization"}, body


@pytest.mark.parametrize(("case", "expected_msg", "reason"), [
    ("tampered body", "verify aksk signature fail", "signature-mismatch"),
    ("wrong SK", "verify aksk signature fail", "signature-mismatch"),
    ("stale X-Sdk-Date", "verify aksk signature fail", "date-skew"),
    ("no Authorization", "x-auth-token not found", "no-authorization"),
    ("unknown AK", "Get secretKey failed,ak:AKUNKNOWN0000000000,err:ak not exist", "unknown-ak"),
])
async def test_bad_signatures_get_the_gateway_error_and_nothing_is_accepted(
    emulator: EmulatorServer, shop: Shop, keys: dict[str, str], case: str, expected_msg: str, reason: str,
) -> None:
    order = await shop.buy("onetime")
    ak, sk, tamper = keys["ak"], keys["sk"], None
    headers = {"Content-Type": "application/json"}
    if case == "tampered body":
        tamper = _tamper_body
    elif case == "wrong SK":
        sk = "x" * 40
    elif case == "no Authorization":
        tamper = _drop_authorization
    elif case == "unknown AK":
        ak = "AKUNKNOWN0000000000"
    elif case == "stale X-Sdk-Date":
        headers["X-Sdk-Date"] = (datetime.now(timezone.utc) - timedelta(minutes=20)).strftime("%Y%m%dT%H%M%SZ")
    record = {"instance_id": "i", "metering_sn": "sn-1", "record_time": "20260131T100000Z",
              "begin_time": "20260131T090000Z", "end_time": "20260131T100000Z", "usage_value": "1"}
    body = json.dumps({"usage_records": [record]}).encode()
    status, answer, response_headers = await sdk_call(emulator.url, ak, sk, "POST", USAGE, [], body, headers, tamper)
    assert status == 401
    assert answer["error_code"] == "APIGW.0301"
    assert answer["error_msg"] == "Incorrect IAM authentication information: " + expected_msg
    assert answer["request_id"] == response_headers["X-Request-Id"]
    assert response_headers["X-Sandbox-Auth-Error"] == reason
    call = (await shop.api.ok("GET", "/inbound"))["calls"][0]
    assert call["accepted"] is False and reason in call["verdict"]
    detail = await shop.api.ok("GET", f"/inbound/{call['id']}")
    assert detail["detail"]
    usage = await shop.api.ok("GET", f"/instances/{order['instance']}/usage")
    assert usage["records"] == []


async def test_unknown_open_api_path_is_apigw_0101(emulator: EmulatorServer, keys: dict[str, str]) -> None:
    status, body, _ = await sdk_call(emulator.url, keys["ak"], keys["sk"], "GET",
                                     "/api/mkp-openapi-public/global/v1/nothing", [])
    assert (status, body["error_code"]) == (404, "APIGW.0101")


async def test_another_merchants_order_is_mkt_0150(api: Api, shop: Shop, keys: dict[str, str],
                                                   emulator: EmulatorServer) -> None:
    other = await api.ok("POST", "/merchants/demo/credentials")
    order = await shop.buy()
    client = OpenApiClient(emulator.url, other["ak"], other["sk"])
    status, body = await client.query_order(order["order_id"])
    assert (status, body["resultCode"]) == (401, "MKT.0150")


async def test_slim_flow_end_to_end(emulator: EmulatorServer, shop: Shop, keys: dict[str, str]) -> None:
    """newInstance carries identifiers only; the merchant reads the details with Query Order."""
    stub = shop.stub.stub
    stub.open_api = OpenApiClient(emulator.url, keys["ak"], keys["sk"])
    order = await shop.buy(linear_value=5)
    for lookup in stub.lookups:
        await lookup
    details = stub.order_details[order["order_id"]]
    assert details["status"] == 200 and details["resultCode"] == "MKT.0000"
    line = details["orderInfo"]["orderLine"][0]
    assert line["orderLineId"] == order["lines"][0]["order_line_id"]
    assert line["productInfo"][0]["productId"] == order["lines"][0]["product_id"]
    assert line["productInfo"][0]["linearValue"] == 5
    calls = (await shop.api.ok("GET", "/inbound", params={"merchant_id": "acme"}))["calls"]
    assert [c["api"] for c in calls] == ["query_order"]


def _record(instance_id: str, sn: str, begin: str = "20260131T080000Z", end: str = "20260131T090000Z",
            value: Any = "1.5", **extra: Any) -> dict[str, Any]:
    return {"instance_id": instance_id, "metering_sn": sn, "record_time": end, "begin_time": begin,
            "end_time": end, "usage_value": value, **extra}


async def test_usage_push_accepts_and_refuses_per_record(emulator: EmulatorServer, shop: Shop,
                                                         keys: dict[str, str]) -> None:
    order = await shop.buy("ondemand")
    monthly = await shop.buy()
    instance_id = (await shop.api.instance(order["instance"]))["instance_id"]
    monthly_id = (await shop.api.instance(monthly["instance"]))["instance_id"]
    client = OpenApiClient(emulator.url, keys["ak"], keys["sk"])
    records = [
        _record(instance_id, "sn-ok-1"),
        _record(instance_id, "sn-ok-2", "20260131T090000Z", "20260131T093000Z", 2),
        _record(instance_id, "", ),                                              # 004 metering_sn missing
        _record(instance_id, "sn-bad-time", begin="2026-01-31"),                 # 002 time format
        _record(instance_id, "sn-range", "20260131T090000Z", "20260131T080000Z"),  # 011 range
        _record(instance_id, "sn-old", "20251201T000000Z", "20251201T010000Z"),  # 007 older than 21 days
        _record(instance_id, "sn-value", value="-3"),                            # 003 value
        _record("no-such-instance", "sn-unknown"),                               # 001 unknown instance
        _record(monthly_id, "sn-period"),                                        # 012 not on-demand
        _record(instance_id, "sn-ok-1", "20260131T070000Z", "20260131T071000Z"),  # 005 duplicate sn
        _record(instance_id, "sn-window"),                                       # 010 same window
    ]
    status, body = await client.push_usage(records, key=STUB_KEY)
    assert status == 200 and body["resultCode"] == "MKT.0000", body
    codes = {r["metering_sn"]: r["error_code"] for r in body["failed_records"]}
    assert codes == {"": "004", "sn-bad-time": "002", "sn-range": "011", "sn-old": "007", "sn-value": "003",
                     "sn-unknown": "001", "sn-period": "012", "sn-ok-1": "005", "sn-window": "010"}
    usage = await shop.api.ok("GET", f"/instances/{order['instance']}/usage")
    assert [r["metering_sn"] for r in usage["records"]] == ["sn-ok-1", "sn-ok-2"]
    assert usage["total"] == "3.5"

    # A delisted product's usage is refused (006).
    await shop.api.ok("PATCH", "/products/ondemand", {"sale_state": "withdrawn"})
    status, body = await client.push_usage([_record(instance_id, "sn-delisted", "20260131T050000Z",
                                                    "20260131T051000Z")], key=STUB_KEY)
    assert [r["error_code"] for r in body["failed_records"]] == ["006"]
    await shop.api.ok("PATCH", "/products/ondemand", {"sale_state": "on_sale"})

    # A replayed metering_sn is refused on the next call too.
    status, body = await client.push_usage([_record(instance_id, "sn-ok-2", "20260131T060000Z",
                                                    "20260131T070000Z")], key=STUB_KEY)
    assert [r["error_code"] for r in body["failed_records"]] == ["005"]


async def test_usage_push_header_signature_is_checked(emulator: EmulatorServer, shop: Shop,
                                                      keys: dict[str, str]) -> None:
    order = await shop.buy("ondemand")
    instance_id = (await shop.api.instance(order["instance"]))["instance_id"]
    client = OpenApiClient(emulator.url, keys["ak"], keys["sk"])
    status, body = await client.push_usage([_record(instance_id, "sn-1")], key="not-the-key")
    assert (status, body["resultCode"], body["resultMsg"]) == (401, "MKT.0154", "Illegal token")
    status, body = await client.post("/v1/isv/usage-data", {"usage_records": []})
    assert (status, body["resultCode"]) == (400, "MKT.0101")  # no signature/ts/nonce headers
    assert (await shop.api.ok("GET", f"/instances/{order['instance']}/usage"))["records"] == []


async def test_license_activation_and_heartbeats(emulator: EmulatorServer, shop: Shop,
                                                 keys: dict[str, str]) -> None:
    code = (await shop.api.ok("POST", "/products/monthly/license-codes"))["code"]
    assert code.startswith("PL") and len(code) == 18
    client = OpenApiClient(emulator.url, keys["ak"], keys["sk"])
    status, body = await client.post("/v1/license/heartbeat", {"license": code})
    assert (status, body["resultCode"]) == (200, "91381034")  # heartbeat before activation
    status, body = await client.post("/v1/license/activate", {"license": code})
    assert (status, body["resultCode"]) == (200, "MKT.0000") and body["licenseInfo"]["status"] == "ACTIVE"
    status, body = await client.post("/v1/license/heartbeat",
                                     {"license": code, "heartbeatInfo": {"thirdPartyAccount": "acc-1", "ip": "10.0.0.1"}})
    assert body["resultCode"] == "MKT.0000"
    status, body = await client.post("/v2/license/heartbeat", {"licenses": [code]})
    assert body["license_infos"][0]["license"] == code and body["license_infos"][0]["status"] == "ACTIVE"
    status, body = await client.post("/v2/license/software-usage-info",
                                     {"usage_info": [{"license": code, "software_usage_Info": [{"active_num": 3}]}]})
    assert body["resultCode"] == "MKT.0000"
    status, body = await client.post("/v1/license/activate", {})
    assert (status, body["resultCode"]) == (400, "MKT.0101")
    codes = (await shop.api.ok("GET", "/license-codes"))["license_codes"]
    assert codes[0]["third_party_account"] == "acc-1" and codes[0]["status"] == "ACTIVE"

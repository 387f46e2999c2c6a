"""Open-API hardening over real loopback HTTP, signed with Huawei's SDK signer (huaweicloudsdkcore):
whole bodies read, §12.3 size limits, no expected signature revealed, nonces kept across restarts,
the §12.4 extra_info rule, the demo merchant following its new AK/SK, trial amounts, clock wording."""

from __future__ import annotations

import copy
import json
import secrets
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, AsyncIterator, Optional

import aiohttp
import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer

from emulator.app import EmulatorServer
from emulator.protocol.canonical import canonical_body
from emulator.protocol.signing import usage_push_signature

from ..conftest import STUB_KEY, Shop
from ..helpers import Api
from .test_crash_recovery import EmulatorProcess

API = "/api/mkp-openapi-public/global"
QUERY, USAGE = API + "/v1/order/query", API + "/v1/isv/usage-data"
ACTIVATE, HEARTBEAT = API + "/v1/license/activate", API + "/v1/license/heartbeat"
KB, MB = 1024, 1024 * 1024


class Answer:
    def __init__(self, status: int, headers: Any, raw: bytes) -> None:
        self.status, self.headers, self.raw = status, headers, raw
        self.body: Any = json.loads(raw) if headers.get("Content-Type", "").startswith("application/json") else None


def sdk_sign(base_url: str, ak: str, sk: str, method: str, path: str, query: Optional[list[tuple[str, Any]]] = None,
             body: bytes = b"", headers: Optional[dict[str, str]] = None) -> tuple[str, dict[str, str]]:
    """(URL, headers) signed by the official SDK's Signer."""
    request = SdkRequest(method=method, schema="http", host=base_url.removeprefix("http://"), resource_path=path,
                         query_params=copy.deepcopy(query or []),
                         header_params={"Content-Type": "application/json", **(headers or {})}, body=body)
    signed = Signer(BasicCredentials(ak, sk)).sign(request)
    return base_url + signed.uri, dict(signed.header_params)


async def send(method: str, url: str, headers: dict[str, str], body: Any = None) -> Answer:
    async with aiohttp.ClientSession() as session:
        async with session.request(method, url, data=body, headers=headers,
                                   skip_auto_headers=["Content-Type"]) as response:
            return Answer(response.status, response.headers, await response.read())


async def sdk_send(base_url: str, keys: dict[str, str], method: str, path: str, body: bytes = b"",
                   query: Optional[list[tuple[str, Any]]] = None, headers: Optional[dict[str, str]] = None) -> Answer:
    url, signed = sdk_sign(base_url, keys["ak"], keys["sk"], method, path, query, body, headers)
    return await send(method, url, signed, body or None)


def usage_headers(key: str, body: bytes, ts: Optional[str] = None, nonce: Optional[str] = None) -> dict[str, str]:
    ts, nonce = ts or str(int(time.time() * 1000)), nonce or secrets.token_hex(16)
    return {"signature": usage_push_signature(key, ts, nonce, body), "ts": ts, "nonce": nonce}


def record(instance_id: str, sn: str, begin: datetime, minutes: int = 1, **extra: Any) -> dict[str, Any]:
    end = begin + timedelta(minutes=minutes)
    return {"instance_id": instance_id, "metering_sn": sn, "record_time": f"{end:%Y%m%dT%H%M%SZ}",
            "begin_time": f"{begin:%Y%m%dT%H%M%SZ}", "end_time": f"{end:%Y%m%dT%H%M%SZ}", "usage_value": "1.5",
            **extra}


async def last_call(api: Api) -> dict[str, Any]:
    call = (await api.ok("GET", "/inbound"))["calls"][0]
    return await api.ok("GET", f"/inbound/{call['id']}")


def assert_gateway_answer(answer: Answer, status: int, code: str, message: str) -> None:
    assert answer.status == status, answer.raw[:300]
    assert answer.body == {"error_code": code, "error_msg": message, "request_id": answer.headers["X-Request-Id"]}
    assert len(answer.headers["X-Request-Id"]) == 32


@pytest.fixture
async def keys(shop: Shop) -> dict[str, str]:
    return await shop.api.ok("POST", "/merchants/acme/credentials")


@pytest.fixture
async def license_code(shop: Shop) -> str:
    return str((await shop.api.ok("POST", "/products/monthly/license-codes"))["code"])


# -- 1. whole bodies, 413 ------------------------------------------------------------------------

async def test_a_signed_push_of_1000_records_is_read_whole_every_time(emulator: EmulatorServer, shop: Shop,
                                                                      keys: dict[str, str]) -> None:
    instance = (await shop.buy("ondemand"))["instance"]
    instance_id = (await shop.api.instance(instance))["instance_id"]
    start = datetime(2026, 1, 27)
    for run in range(5):
        records = [record(instance_id, f"sn-{run}-{i:04d}", start + timedelta(minutes=run * 1000 + i))
                   for i in range(1000)]
        body = canonical_body({"usage_records": records})
        assert len(body) > 190 * KB
        answer = await sdk_send(emulator.url, keys, "POST", USAGE, body, headers=usage_headers(STUB_KEY, body))
        assert (answer.status, answer.body["resultCode"], answer.body["failed_records"]) == (200, "MKT.0000", []), \
            answer.body
        assert len((await last_call(shop.api))["request_body"]) == len(body)
    usage = await shop.api.ok("GET", f"/instances/{instance}/usage")
    assert len(usage["records"]) == 5000


@pytest.mark.parametrize("size", [256 * KB, 1 * MB, 5 * MB])
async def test_large_signed_bodies_are_accepted_every_time(emulator: EmulatorServer, keys: dict[str, str],
                                                           license_code: str, size: int) -> None:
    for _ in range(4):
        body = json.dumps({"license": license_code, "padding": ""}).encode()
        body = body.replace(b'"padding": ""', b'"padding": "' + b"x" * (size - len(body)) + b'"')
        assert len(body) == size
        answer = await sdk_send(emulator.url, keys, "POST", ACTIVATE, body)
        assert (answer.status, answer.body["resultCode"]) == (200, "MKT.0000"), answer.raw[:300]


async def _chunks(body: bytes) -> AsyncIterator[bytes]:
    for i in range(0, len(body), MB):
        yield body[i:i + MB]


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_a_body_over_12_mb_is_413(emulator: EmulatorServer, api: Api, keys: dict[str, str],
                                        license_code: str, chunked: bool) -> None:
    body = b'{"license": "' + license_code.encode() + b'", "padding": "' + b"x" * (12 * MB) + b'"}'
    url, headers = sdk_sign(emulator.url, keys["ak"], keys["sk"], "POST", ACTIVATE, body=body)
    answer = await send("POST", url, headers, _chunks(body) if chunked else body)
    assert_gateway_answer(answer, 413, "APIGW.0201", "Request entity too large.")
    call = await last_call(api)
    assert (call["status"], call["result_code"]) == (413, "APIGW.0201") and len(call["request_body"]) < 100


# -- 2. URI and header limits ---------------------------------------------------------------------

async def test_a_30_kb_uri_and_header_pass_the_gateway(emulator: EmulatorServer, keys: dict[str, str],
                                                       license_code: str) -> None:
    body = json.dumps({"license": license_code}).encode()
    answer = await sdk_send(emulator.url, keys, "POST", ACTIVATE, body, query=[("pad", "p" * 30 * KB)])
    assert (answer.status, answer.body["resultCode"]) == (200, "MKT.0000"), answer.raw[:300]
    answer = await sdk_send(emulator.url, keys, "POST", ACTIVATE, body, headers={"X-Padding": "h" * 30 * KB})
    assert (answer.status, answer.body["resultCode"]) == (200, "MKT.0000"), answer.raw[:300]


@pytest.mark.parametrize(("case", "status", "message"), [
    ("40 KB URI", 414, "Request URI too large."),
    ("40 KB header", 494, "Request headers too large."),
    ("five 30 KB headers", 494, "Request headers too large."),
])
async def test_over_32_kb_is_refused_by_the_gateway_in_json(emulator: EmulatorServer, keys: dict[str, str],
                                                            license_code: str, case: str, status: int,
                                                            message: str) -> None:
    body = json.dumps({"license": license_code}).encode()
    query, headers = None, None
    if case == "40 KB URI":
        query = [("pad", "p" * 40 * KB)]
    elif case == "40 KB header":
        headers = {"X-Padding": "h" * 40 * KB}
    else:
        headers = {f"X-Padding-{i}": "h" * 30 * KB for i in range(5)}
    answer = await sdk_send(emulator.url, keys, "POST", ACTIVATE, body, query=query, headers=headers)
    assert_gateway_answer(answer, status, "APIGW.0201", message)


# -- 3. the expected signature is never shown -----------------------------------------------------

async def test_a_wrong_usage_signature_never_reveals_the_right_one(emulator: EmulatorServer, shop: Shop,
                                                                   keys: dict[str, str]) -> None:
    instance_id = (await shop.api.instance((await shop.buy("ondemand"))["instance"]))["instance_id"]
    body = json.dumps({"usage_records": [record(instance_id, "sn-1", datetime(2026, 1, 31, 8))]}).encode()
    headers = usage_headers(STUB_KEY, body)
    expected = usage_push_signature(STUB_KEY, headers["ts"], headers["nonce"], canonical_body(json.loads(body)))
    headers["signature"] = usage_push_signature("not-the-key", headers["ts"], headers["nonce"], body)
    answer = await sdk_send(emulator.url, keys, "POST", USAGE, body, headers=headers)
    assert (answer.status, answer.body) == (401, {"resultCode": "MKT.0154", "resultMsg": "Illegal token"})
    call = await last_call(shop.api)
    assert f"ts={headers['ts']}&nonce={headers['nonce']}&body=" in call["verdict"]  # the string to sign is shown
    for text in (answer.raw.decode(), json.dumps(dict(answer.headers)), json.dumps(call)):
        assert expected not in text and usage_push_signature(STUB_KEY, headers["ts"], headers["nonce"], body) \
            not in text


async def test_a_wrong_sdk_signature_never_reveals_the_right_one(emulator: EmulatorServer, api: Api,
                                                                 keys: dict[str, str]) -> None:
    url, headers = sdk_sign(emulator.url, keys["ak"], keys["sk"], "GET", QUERY, [("orderId", "MOCKONDEMAND")])
    expected = headers["Authorization"].rsplit("Signature=", 1)[1]
    headers["Authorization"] = headers["Authorization"].replace(expected, "0" * 64)
    answer = await send("GET", url, headers)
    assert_gateway_answer(answer, 401, "APIGW.0301",
                          "Incorrect IAM authentication information: verify aksk signature fail")
    call = await last_call(api)
    assert "canonical request:\nGET\n/api/mkp-openapi-public/global/v1/order/query/\n" in call["detail"]
    assert "string to sign:\nSDK-HMAC-SHA256\n" in call["detail"]
    for text in (answer.raw.decode(), json.dumps(dict(answer.headers)), json.dumps(call)):
        assert expected not in text


# -- 4. nonces survive a restart ------------------------------------------------------------------

async def test_a_usage_push_replayed_after_a_restart_is_refused(tmp_path: Path) -> None:
    emulator = EmulatorProcess(tmp_path / "store.db")
    try:
        async with Api(await emulator.start()) as api:
            await api.ok("POST", "/merchants", {"id": "acme", "name": "Acme", "production_url":
                                                "http://127.0.0.1:9/produce", "access_key": STUB_KEY})
            keys = await api.ok("POST", "/merchants/acme/credentials")
            body = json.dumps({"usage_records": [record("no-such-instance", "sn-1", datetime(2026, 1, 31, 8))]})
            url, headers = sdk_sign(emulator.url, keys["ak"], keys["sk"], "POST", USAGE, body=body.encode(),
                                    headers=usage_headers(STUB_KEY, body.encode()))
            first = await send("POST", url, headers, body)
            assert (first.status, first.body["resultCode"]) == (200, "MKT.0000"), first.body
            assert [r["error_code"] for r in first.body["failed_records"]] == ["001"]
        await emulator.stop()
        new_url = await emulator.start()
        # the same bytes, Host included (it is signed), at the restarted emulator's new port
        replay = await send("POST", new_url + url.removeprefix(url.split("/api/")[0]), headers, body)
        assert (replay.status, replay.body) == (401, {"resultCode": "MKT.0154", "resultMsg": "Illegal token"})
        async with Api(new_url) as api:
            assert "already used" in (await last_call(api))["verdict"]
    finally:
        await emulator.stop()


# -- 5. extra_info only where §12.4 allows it ----------------------------------------------------

async def _usage(emulator: EmulatorServer, keys: dict[str, str], payload: Any, key: str = STUB_KEY) -> Answer:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return await sdk_send(emulator.url, keys, "POST", USAGE, body, headers=usage_headers(key, body))


@pytest.mark.parametrize(("case", "status", "code", "extra_info"), [
    ("query: orderId missing", 400, "MKT.0101", None),
    ("query: unknown order", 500, "MKT.0100", "orderId: order not found"),
    ("query: another merchant's order", 401, "MKT.0150", "orderId: the order belongs to another merchant"),
    ("usage: wrong header signature", 401, "MKT.0154", None),
    ("usage: body not JSON", 400, "MKT.0101", None),
    ("usage: no records", 500, "MKT.9002", "usage_records is empty"),
    ("usage: 1001 records", 500, "MKT.9003", None),
    ("license: license missing", 400, "MKT.0101", None),
    ("license: license too long", 500, "MKT.0100", "license longer than 64 characters"),
    ("license: nested 1000 deep", 400, "MKT.0101", None),
    ("license: a 5000-digit integer", 400, "MKT.0101", None),
    ("license: not UTF-8", 400, "MKT.0101", None),
])
async def test_extra_info_only_with_the_codes_that_carry_it(emulator: EmulatorServer, shop: Shop,
                                                            keys: dict[str, str], case: str, status: int,
                                                            code: str, extra_info: Optional[str]) -> None:
    if case == "query: orderId missing":
        answer = await sdk_send(emulator.url, keys, "GET", QUERY, query=[("orderLineId", "X-000001")])
    elif case.startswith("query: "):
        order_id = "CS0000000000NOPE0"
        if case == "query: another merchant's order":
            order_id = (await shop.api.ok("POST", "/orders", {"product": "demo-saas-monthly"}))["order_id"]
        answer = await sdk_send(emulator.url, keys, "GET", QUERY, query=[("orderId", order_id)])
    elif case == "usage: wrong header signature":
        answer = await _usage(emulator, keys, {"usage_records": [{}]}, key="not-the-key")
    elif case == "usage: body not JSON":
        answer = await _usage(emulator, keys, b"[" * 1000 + b"]" * 1000)
    elif case == "usage: no records":
        answer = await _usage(emulator, keys, {"usage_records": []})
    elif case == "usage: 1001 records":
        answer = await _usage(emulator, keys, {"usage_records": [{}] * 1001})
    else:
        raw = {"license: license missing": b"{}",
               "license: license too long": json.dumps({"license": "P" * 65}).encode(),
               "license: nested 1000 deep": b"[" * 1000 + b"]" * 1000,
               "license: a 5000-digit integer": b'{"license": ' + b"9" * 5000 + b"}",
               "license: not UTF-8": b'{"license": "\xff\xfe"}'}[case]
        answer = await sdk_send(emulator.url, keys, "POST", ACTIVATE, raw)
    assert (answer.status, answer.body["resultCode"]) == (status, code), answer.body
    assert answer.body.get("extra_info") == extra_info
    assert set(answer.body) == {"resultCode", "resultMsg"} | ({"extra_info"} if extra_info else set())
    if code == "MKT.0101" and case.startswith("license: ") and case != "license: license missing":
        assert "body is not JSON" in (await last_call(shop.api))["verdict"]  # the reason is in the journal


# -- 6. the built-in demo merchant follows its new AK/SK ------------------------------------------

async def test_issuing_a_pair_for_demo_keeps_the_demo_merchant_working(emulator: EmulatorServer, api: Api) -> None:
    stub = emulator.demo_stub
    assert stub is not None and stub.open_api is not None
    old_ak = stub.open_api.ak
    issued = await api.ok("POST", "/merchants/demo/credentials")
    assert stub.open_api.ak == issued["ak"] != old_ak
    order = await api.ok("POST", "/orders", {"product": "demo-saas-monthly"})
    await api.settle()
    for lookup in stub.lookups:
        await lookup
    assert stub.order_details[order["order_id"]]["resultCode"] == "MKT.0000"
    calls = (await api.ok("GET", "/inbound", params={"merchant_id": "demo"}))["calls"]
    assert [(c["api"], c["status"], c["accepted"]) for c in calls] == [("query_order", 200, True)]
    assert (await api.ok("GET", "/inbound"))["calls"] == calls  # no 401 "ak not exist" row either


# -- 7. a trial is free ---------------------------------------------------------------------------

async def test_a_trial_order_answers_currency_0(emulator: EmulatorServer, shop: Shop, keys: dict[str, str]) -> None:
    order = await shop.buy(trial=True)
    answer = await sdk_send(emulator.url, keys, "GET", QUERY, query=[("orderId", order["order_id"])])
    line = answer.body["orderInfo"]["orderLine"][0]
    assert answer.body["orderInfo"]["orderType"] == "TRIAL"
    assert (line["currency"], line["currencyAfterDiscount"]) == ("0", "0")
    paid = await shop.buy()
    answer = await sdk_send(emulator.url, keys, "GET", QUERY, query=[("orderId", paid["order_id"])])
    assert answer.body["orderInfo"]["orderLine"][0]["currency"] == "10"


# -- 8. two clocks, said so -----------------------------------------------------------------------

async def test_a_future_record_names_the_emulator_clock(emulator: EmulatorServer, shop: Shop,
                                                        keys: dict[str, str]) -> None:
    instance_id = (await shop.api.instance((await shop.buy("ondemand"))["instance"]))["instance_id"]
    # real time now is long after the emulator's 2026-01-31 10:00; the record is judged on the emulator clock
    begin = datetime(2026, 1, 31, 10, 30)
    answer = await _usage(emulator, keys, {"usage_records": [record(instance_id, "sn-future", begin)]})
    assert [r["error_code"] for r in answer.body["failed_records"]] == ["011"]
    detail = (await last_call(shop.api))["detail"]
    assert "'sn-future'" in detail and "emulator clock's now (20260131T100000Z" in detail
    assert "ts real time" in detail

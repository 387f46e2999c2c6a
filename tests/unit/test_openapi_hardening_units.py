"""Pure pieces of the open-API hardening: the §12.4 extra_info rule, hostile JSON bodies, mismatch
details that never hold the expected signature, stored nonces, §12.3 size limits, clock wording."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

import pytest
from aiohttp.test_utils import make_mocked_request

from emulator.openapi import license as lic
from emulator.openapi.gateway import MAX_HEADER, MAX_URI, _too_large
from emulator.openapi.nonces import claim_nonce
from emulator.openapi.results import EXTRA_INFO_CODES, MKT_CODES, ApiAnswer, MktError, envelope, mkt_body
from emulator.openapi.usage import (
    InstanceFacts, RecordError, UsageRequestError, check_record, check_usage_headers, parse_usage_body,
    request_mode_error,
)
from emulator.protocol.canonical import canonical_body
from emulator.protocol.sdk_hmac import sign_request, verify_request
from emulator.protocol.signing import usage_push_signature
from emulator.store import Store

# -- §12.4: one rule for extra_info ----------------------------------------------------------------

ALLOWED = {"MKT.0100", "MKT.0150", "MKT.0250", "MKT.9001", "MKT.9002", "MKT.9004", "MKT.9005"}


def test_the_allowed_codes_are_those_of_the_table() -> None:
    assert EXTRA_INFO_CODES == ALLOWED


@pytest.mark.parametrize("code", sorted(MKT_CODES))
def test_extra_info_is_present_exactly_for_the_allowed_codes(code: str) -> None:
    status, body = mkt_body(code, "the detail")
    assert ("extra_info" in body) == (code in ALLOWED)
    assert MktError(code, "the detail").body() == body
    assert ApiAnswer(code, MKT_CODES[code][1], status, "the detail").body() == body
    assert "extra_info" not in mkt_body(code)[1]  # nothing to say, nothing sent


@pytest.mark.parametrize("code", [lic.INVALID, lic.NO_REMAIN, lic.RESOURCE_INVALID])
def test_license_codes_never_carry_extra_info(code: str) -> None:
    assert envelope(code, "text", "detail") == {"resultCode": code, "resultMsg": "text"}


# -- hostile JSON bodies -----------------------------------------------------------------------------

HOSTILE = {
    "deep": b"[" * 1000 + b"]" * 1000,
    "giant integer": b'{"license": ' + b"9" * 5000 + b"}",
    "not UTF-8": b'{"license": "\xff\xfe"}',
    "syntax": b'{"license": ',
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
@pytest.mark.parametrize("parse", [lic.parse_activate, lic.parse_heartbeat_v1, lic.parse_heartbeat_v2,
                                   lic.parse_software_usage])
def test_hostile_license_bodies_are_mkt_0101(parse: Callable[[bytes], Any], name: str) -> None:
    with pytest.raises(lic.LicenseError) as exc:
        parse(HOSTILE[name])
    assert (exc.value.code, exc.value.http_status) == ("MKT.0101", 400)
    assert exc.value.detail.startswith("body is not JSON: ")


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_usage_bodies_are_mkt_0101_after_a_raw_signature_check(name: str) -> None:
    body = HOSTILE[name]
    headers = {"signature": usage_push_signature(KEY, TS, NONCE, body), "ts": TS, "nonce": NONCE}
    assert check_usage_headers(headers, body, KEY, NOW_MS, None) == "raw"
    with pytest.raises(UsageRequestError) as exc:
        parse_usage_body(body)
    assert (exc.value.code, exc.value.http_status) == ("MKT.0101", 400) and "not JSON" in exc.value.detail


def test_a_body_with_nan_still_verifies_over_its_raw_bytes() -> None:
    body = b'{"usage_records": [{"usage_value": NaN}]}'
    headers = {"signature": usage_push_signature(KEY, TS, NONCE, body), "ts": TS, "nonce": NONCE}
    assert check_usage_headers(headers, body, KEY, NOW_MS, None) == "raw"


# -- the expected signature is never shown ------------------------------------------------------------

KEY, TS, NONCE = "KEYEXAMPLE", "1700000000000", "N0NCEEXAMPLE"
NOW_MS = int(TS) + 1000


def test_a_usage_mismatch_shows_the_string_to_sign_not_the_signature() -> None:
    body = b'{"usage_records":[{"metering_sn":"sn-1","instance_id":"i"}]}'
    headers = {"signature": usage_push_signature("OTHER", TS, NONCE, body), "ts": TS, "nonce": NONCE}
    with pytest.raises(UsageRequestError) as exc:
        check_usage_headers(headers, body, KEY, NOW_MS, None)
    detail = exc.value.detail
    sorted_body = canonical_body(json.loads(body))
    assert f"expected over the sorted body: ts={TS}&nonce={NONCE}&body={sorted_body.decode()}" in detail
    for payload in (body, sorted_body):
        assert usage_push_signature(KEY, TS, NONCE, payload) not in detail


def test_a_long_string_to_sign_is_shortened() -> None:
    body = json.dumps({"usage_records": [{"metering_sn": f"sn-{i}"} for i in range(1000)]}).encode()
    headers = {"signature": "x", "ts": TS, "nonce": NONCE}
    with pytest.raises(UsageRequestError) as exc:
        check_usage_headers(headers, body, KEY, NOW_MS, None)
    assert len(exc.value.detail) < 700 and "characters in all)" in exc.value.detail


def test_an_sdk_mismatch_shows_the_canonical_request_not_the_signature() -> None:
    now = datetime(2025, 1, 1, tzinfo=timezone.utc)
    url = "http://mkt.example.com/api/mkp-openapi-public/global/v1/order/query?orderId=MOCKONDEMAND"
    headers = {"Content-Type": "application/json"}
    headers.update(sign_request("AK", "SK", "GET", url, headers, b"", now=now))
    expected = headers["Authorization"].rsplit("Signature=", 1)[1]
    headers["Authorization"] = headers["Authorization"].replace(expected, "0" * 64)
    result = verify_request("GET", "/api/mkp-openapi-public/global/v1/order/query", "orderId=MOCKONDEMAND",
                            headers, b"", {"AK": "SK"}.get, now)
    assert not result.ok and result.reason == "signature-mismatch"
    assert expected not in result.detail and expected not in result.error_msg
    assert "canonical request:\nGET\n" in result.detail and "string to sign:\nSDK-HMAC-SHA256\n" in result.detail


# -- nonces in the store ------------------------------------------------------------------------------

async def test_nonces_are_kept_in_the_store_and_expire(tmp_path: Path) -> None:
    database = str(tmp_path / "store.db")
    now = datetime(2026, 1, 1, 12, 0, 0)
    store = await Store.open(database)
    try:
        assert await claim_nonce(store, "acme", "n-1", now, 600) is True
        assert await claim_nonce(store, "acme", "n-1", now + timedelta(seconds=599), 600) is False
        assert await claim_nonce(store, "other", "n-1", now, 600) is True  # nonces are per merchant
    finally:
        await store.close()
    reopened = await Store.open(database)  # a restart
    try:
        assert await claim_nonce(reopened, "acme", "n-1", now + timedelta(seconds=1), 600) is False
        assert await claim_nonce(reopened, "acme", "n-1", now + timedelta(seconds=600), 600) is True  # expired
    finally:
        await reopened.close()


# -- §12.3 URI and header limits -----------------------------------------------------------------------

@pytest.mark.parametrize(("path", "headers", "expected"), [
    ("/api/x?q=" + "a" * (MAX_URI - 9), {}, None),
    ("/api/x?q=" + "a" * (MAX_URI - 8), {}, 414),
    ("/api/x", {"X-Pad": "h" * (MAX_HEADER - 7)}, None),
    ("/api/x", {"X-Pad": "h" * (MAX_HEADER - 6)}, 494),
    ("/api/x", {f"X-Pad-{i}": "h" * 30_000 for i in range(5)}, 494),
])
def test_size_limits(path: str, headers: dict[str, str], expected: int | None) -> None:
    refusal = _too_large(make_mocked_request("GET", path, headers=headers))
    assert (refusal[0] if refusal else None) == expected


# -- two clocks ---------------------------------------------------------------------------------------

def test_a_future_record_says_records_follow_the_emulator_clock() -> None:
    now = datetime(2026, 1, 31, 10, 0, 0)
    record = {"metering_sn": "sn-1", "instance_id": "od-1", "record_time": "20260131T103000Z",
              "begin_time": "20260131T102000Z", "end_time": "20260131T103000Z", "usage_value": "1"}
    facts = InstanceFacts(merchant_id="m", charging_mode="ON_DEMAND", state="active")
    error = check_record(record, "m", now, lambda _i: facts, lambda _s: False, lambda *_w: False, set())
    assert isinstance(error, RecordError) and error.error_code == "011"
    assert error.error_msg == "invalid time range"  # the wire text stays the table's
    assert "emulator clock's now (20260131T100000Z" in error.detail and "ts real time" in error.detail
    assert "emulator clock" in str(request_mode_error(error).detail)

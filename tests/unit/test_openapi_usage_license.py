"""Usage-push and License open-API checks (PROTOCOL §12.7, §12.8, §2e)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from emulator.openapi import license as lic
from emulator.openapi.usage import (
    InstanceFacts,
    RecordError,
    UsageRequestError,
    check_record,
    check_usage_headers,
    parse_usage_body,
    parse_usage_time,
    request_mode_error,
    usage_amount,
)

# -- usage push: headers (§2e vector E1) ---------------------------------------------

KEY, TS, NONCE = "KEYEXAMPLE", "1700000000000", "N0NCEEXAMPLE"
SIGNATURE = "6YahHwpcFmCWrrJokVhoyet/9UtNH5prBg6dL2VEZ9I="
SORTED_BODY = (
    b'{"usage_records":[{"begin_time":"20250101T000000Z","end_time":"20250101T010000Z",'
    b'"instance_id":"inst-001","metering_sn":"sn-0001","record_time":"20250101T010000Z","usage_value":"1.5"}]}'
)
# the same body in the order of the D3 vector, which must verify through the sorted candidate
UNSORTED_BODY = (
    b'{"usage_records":[{"instance_id":"inst-001","record_time":"20250101T010000Z",'
    b'"begin_time":"20250101T000000Z","end_time":"20250101T010000Z","usage_value":"1.5","metering_sn":"sn-0001"}]}'
)
NOW_MS = int(TS) + 1000


def never_seen(nonce: str) -> bool:
    return False


def headers(**over: str) -> dict[str, str]:
    h = {"Signature": SIGNATURE, "TS": TS, "nonce": NONCE}
    h.update(over)
    return {k: v for k, v in h.items() if v != "-"}


def test_header_vector_sorted_body() -> None:
    assert check_usage_headers(headers(), SORTED_BODY, KEY, NOW_MS, never_seen) == "raw"


def test_header_vector_unsorted_body_matches_canonical() -> None:
    assert check_usage_headers(headers(), UNSORTED_BODY, KEY, NOW_MS, never_seen) == "canonical"


def test_header_nonce_recorded_and_replay_refused() -> None:
    seen: set[str] = set()

    def seen_nonce(nonce: str) -> bool:
        if nonce in seen:
            return True
        seen.add(nonce)
        return False

    check_usage_headers(headers(), SORTED_BODY, KEY, NOW_MS, seen_nonce)
    with pytest.raises(UsageRequestError) as exc:
        check_usage_headers(headers(), SORTED_BODY, KEY, NOW_MS, seen_nonce)
    assert exc.value.code == "MKT.0154" and "already used" in exc.value.detail
    assert exc.value.http_status == 401 and exc.value.message == "Illegal token"


@pytest.mark.parametrize("now_ms", [int(TS) + 301_000, int(TS) - 301_000])
def test_header_ts_out_of_window(now_ms: int) -> None:
    with pytest.raises(UsageRequestError) as exc:
        check_usage_headers(headers(), SORTED_BODY, KEY, now_ms, never_seen)
    assert exc.value.code == "MKT.0154" and "301 s" in exc.value.detail


def test_header_ts_edge_of_window_accepted() -> None:
    assert check_usage_headers(headers(), SORTED_BODY, KEY, int(TS) + 300_000, never_seen) == "raw"


@pytest.mark.parametrize("missing", ["Signature", "TS", "nonce"])
def test_header_missing(missing: str) -> None:
    with pytest.raises(UsageRequestError) as exc:
        check_usage_headers(headers(**{missing: "-"}), SORTED_BODY, KEY, NOW_MS, never_seen)
    assert exc.value.code == "MKT.0101" and missing.lower() in exc.value.detail
    assert exc.value.http_status == 400


@pytest.mark.parametrize(
    "over, body, fragment",
    [
        ({"TS": "17e11"}, SORTED_BODY, "not UNIX time"),
        ({}, SORTED_BODY.replace(b"1.5", b"2.5"), "expected over the sorted body"),
        ({"Signature": SIGNATURE.lower()}, SORTED_BODY, "does not match"),
        ({"nonce": "N" * 65}, SORTED_BODY, "nonce header longer"),
    ],
)
def test_header_rejections(over: dict[str, str], body: bytes, fragment: str) -> None:
    with pytest.raises(UsageRequestError) as exc:
        check_usage_headers(headers(**over), body, KEY, NOW_MS, never_seen)
    assert exc.value.code == "MKT.0154" and fragment in exc.value.detail


def test_header_bad_signature_does_not_consume_nonce() -> None:
    calls: list[str] = []

    def seen_nonce(nonce: str) -> bool:
        calls.append(nonce)
        return False

    with pytest.raises(UsageRequestError):
        check_usage_headers(headers(), SORTED_BODY, "OTHERKEY", NOW_MS, seen_nonce)
    assert calls == []


# -- usage push: body -------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, code",
    [
        (b"not json", "MKT.0101"),
        (b"[1]", "MKT.0101"),
        (b"{}", "MKT.9002"),
        (b'{"usage_records": {}}', "MKT.9002"),
        (b'{"usage_records": []}', "MKT.9002"),
        (json.dumps({"usage_records": [{}] * 1001}).encode(), "MKT.9003"),
    ],
)
def test_body_errors(body: bytes, code: str) -> None:
    with pytest.raises(UsageRequestError) as exc:
        parse_usage_body(body)
    assert exc.value.code == code


def test_body_limit_is_configurable() -> None:
    body = json.dumps({"usage_records": [{}] * 101}).encode()
    assert len(parse_usage_body(body)) == 101
    with pytest.raises(UsageRequestError) as exc:
        parse_usage_body(body, max_records=100)
    assert exc.value.code == "MKT.9003" and exc.value.http_status == 500


def test_body_ok() -> None:
    assert parse_usage_body(SORTED_BODY)[0]["metering_sn"] == "sn-0001"


# -- usage push: values --------------------------------------------------------------------


def test_parse_usage_time() -> None:
    assert parse_usage_time("20250101T010203Z") == datetime(2025, 1, 1, 1, 2, 3)
    for bad in ("20250230T000000Z", "2025-01-01T00:00:00Z", "20250101T000000", "20250101T250000Z"):
        with pytest.raises(ValueError):
            parse_usage_time(bad)


@pytest.mark.parametrize(
    "value, expected",
    [("1.5", Decimal("1.5")), (2, Decimal(2)), (0.0001, Decimal("0.0001")), ("99999999.9999", Decimal("99999999.9999")),
     ("1.50000", Decimal("1.5"))],
)
def test_usage_amount_ok(value: Any, expected: Decimal) -> None:
    assert usage_amount(value) == expected


@pytest.mark.parametrize(
    "value",
    ["0", 0, -1, "-1", "1.23456", 0.00001, "100000000", "abc", "1e3", " 1", "", None, True, [1], "1" * 21,
     float("nan"), float("inf")],
)
def test_usage_amount_bad(value: Any) -> None:
    with pytest.raises(ValueError):
        usage_amount(value)


# -- usage push: per-record codes --------------------------------------------------------------

NOW = datetime(2025, 1, 10, 12, 0, 0)
MERCHANT = "acme"
INSTANCES = {
    "od-1": InstanceFacts(MERCHANT, "ON_DEMAND", "active"),
    "odp-1": InstanceFacts(MERCHANT, "ON_DEMAND_PACKAGE", "active"),
    "pkg-1": InstanceFacts(MERCHANT, "ON_DEMAND_PACKAGE", "active", is_package=True),
    "pkg-frozen": InstanceFacts(MERCHANT, "ON_DEMAND_PACKAGE", "frozen", is_package=True),
    "other": InstanceFacts("someone-else", "ON_DEMAND", "active"),
    "period": InstanceFacts(MERCHANT, "PERIOD", "active"),
    "frozen": InstanceFacts(MERCHANT, "ON_DEMAND", "frozen"),
    "released": InstanceFacts(MERCHANT, "ON_DEMAND", "released"),
    "delisted": InstanceFacts(MERCHANT, "ON_DEMAND", "active", product_on_sale=False),
    # fails both 009 and 013: the earlier code wins
    "other-frozen": InstanceFacts("someone-else", "ON_DEMAND", "frozen"),
}
TAKEN_SN = "sn-taken"
TAKEN_WINDOW = ("od-1", "20250110T090000Z", "20250110T100000Z")


def good(**over: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "instance_id": "od-1",
        "metering_sn": "sn-1",
        "record_time": "20250110T110000Z",
        "begin_time": "20250110T100000Z",
        "end_time": "20250110T110000Z",
        "usage_value": "1.5",
    }
    rec.update(over)
    return {k: v for k, v in rec.items() if v is not ...}


def run(record: Any, seen: set[str] | None = None, windows: set[tuple[str, str, str]] | None = None
        ) -> RecordError | None:
    return check_record(
        record, MERCHANT, NOW, INSTANCES.get, lambda sn: sn == TAKEN_SN,
        lambda *w: w == TAKEN_WINDOW, seen if seen is not None else set(), windows,
    )


RECORD_CASES = [
    ("004", good(metering_sn=...)),
    ("004", good(metering_sn="")),
    ("004", good(metering_sn="s" * 65)),
    ("004", good(metering_sn=7)),
    ("004", "not an object"),
    ("002", good(record_time="2025-01-10 11:00:00")),
    ("002", good(begin_time="20250231T000000Z")),
    ("002", good(end_time=...)),
    ("011", good(begin_time="20250110T110000Z")),
    ("011", good(end_time="20250110T120501Z")),
    ("007", good(begin_time="20241219T115959Z")),
    ("003", good(usage_value="0")),
    ("003", good(usage_value="1.00001")),
    ("003", good(usage_value=...)),
    ("001", good(instance_id="nope")),
    ("001", good(instance_id=...)),
    ("001", good(relate_pkg_instance="nope")),
    ("009", good(instance_id="other")),
    ("009", good(instance_id="other-frozen")),
    ("012", good(instance_id="period")),
    ("012", good(relate_pkg_instance="od-1")),
    ("013", good(instance_id="frozen")),
    ("013", good(instance_id="released")),
    ("013", good(instance_id="odp-1", relate_pkg_instance="pkg-frozen")),
    ("006", good(instance_id="delisted")),
    ("005", good(metering_sn=TAKEN_SN)),
    ("010", good(begin_time=TAKEN_WINDOW[1], end_time=TAKEN_WINDOW[2], record_time=TAKEN_WINDOW[2])),
]


@pytest.mark.parametrize("code, record", RECORD_CASES)
def test_record_codes(code: str, record: Any) -> None:
    seen: set[str] = set()
    err = run(record, seen)
    assert err is not None and err.error_code == code, err
    assert err.error_msg and err.detail
    assert set(err.as_dict()) == {"metering_sn", "instance_id", "error_code", "error_msg"}
    assert seen == set()


def test_every_documented_code_is_covered() -> None:
    codes = {code for code, _ in RECORD_CASES}
    assert codes == {"001", "002", "003", "004", "005", "006", "007", "009", "010", "011", "012", "013"}


def test_error_dict_reports_identifiers() -> None:
    err = run(good(instance_id="nope"))
    assert err is not None
    assert err.as_dict() == {"metering_sn": "sn-1", "instance_id": "nope", "error_code": "001",
                             "error_msg": "instance does not exist"}


@pytest.mark.parametrize(
    "record",
    [
        good(),
        good(usage_value=3),
        good(usage_value=0.25),
        good(end_time="20250110T120500Z", record_time="20250110T120500Z"),
        good(begin_time="20241220T120000Z"),
        good(instance_id="odp-1"),
        good(instance_id="od-1", relate_pkg_instance="pkg-1"),
        good(relate_pkg_instance=""),
    ],
)
def test_record_accepted(record: dict[str, Any]) -> None:
    seen: set[str] = set()
    assert run(record, seen) is None
    assert seen == {"sn-1"}


def test_duplicates_inside_one_request() -> None:
    seen: set[str] = set()
    windows: set[tuple[str, str, str]] = set()
    assert run(good(), seen, windows) is None
    err = run(good(), seen, windows)
    assert err is not None and err.error_code == "005"
    err = run(good(metering_sn="sn-2"), seen, windows)
    assert err is not None and err.error_code == "010"
    assert run(good(metering_sn="sn-3", begin_time="20250110T103000Z"), seen, windows) is None
    assert seen == {"sn-1", "sn-3"}


@pytest.mark.parametrize(
    "code, expected", [("001", "MKT.9001"), ("007", "MKT.9004"), ("003", "MKT.9002"), ("010", "MKT.9002")]
)
def test_request_mode_mapping(code: str, expected: str) -> None:
    err = request_mode_error(RecordError("sn-1", "od-1", code, "x"))
    assert err.code == expected and "sn-1" in err.detail and err.http_status == 500


# -- License: codes and validators -----------------------------------------------------------


def test_new_license_code() -> None:
    codes = {lic.new_license_code() for _ in range(50)}
    assert len(codes) == 50
    assert all(re.fullmatch(r"PL[A-Z0-9]{16}", c) for c in codes)


def body(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def test_parse_activate_and_heartbeat_v1() -> None:
    assert lic.parse_activate(body({"license": "PLX", "extra": 1})) == "PLX"
    assert lic.parse_heartbeat_v1(body({"license": "PLX"})) == ("PLX", None, None)
    doc = {"license": "PLXXXXXX", "heartbeatInfo": {"thirdPartyAccount": "myaccount1", "ip": "192.168.1.51"}}
    assert lic.parse_heartbeat_v1(body(doc)) == ("PLXXXXXX", "myaccount1", "192.168.1.51")
    assert lic.parse_heartbeat_v1(body({"license": "PLX", "heartbeatInfo": {"thirdPartyAccount": "a"}})) == (
        "PLX", "a", None)


def test_parse_heartbeat_v2_and_software_usage() -> None:
    assert lic.parse_heartbeat_v2(body({"licenses": ["PLA", "PLB"]})) == ["PLA", "PLB"]
    doc = {"usage_info": [
        {"license": "PLA", "software_usage_Info": [{"id": "dev-1"}, {"active_num": 3}]},
        {"license": "PLB", "software_usage_info": [{"active_num": 999999999, "id": None}]},
    ]}
    assert lic.parse_software_usage(body(doc)) == [
        {"license": "PLA", "software_usage_info": [{"id": "dev-1"}, {"active_num": 3}]},
        {"license": "PLB", "software_usage_info": [{"active_num": 999999999}]},
    ]


def usage_doc(entries: Any) -> bytes:
    return body({"usage_info": [{"license": "PLA", "software_usage_Info": entries}]})


@pytest.mark.parametrize(
    "parse, raw, code",
    [
        (lic.parse_activate, b"nope", "MKT.0101"),
        (lic.parse_activate, b"[]", "MKT.0101"),
        (lic.parse_activate, body({}), "MKT.0101"),
        (lic.parse_activate, body({"license": ""}), "MKT.0101"),
        (lic.parse_activate, body({"license": 5}), "MKT.0199"),
        (lic.parse_activate, body({"license": "P" * 65}), "MKT.0100"),
        (lic.parse_heartbeat_v1, body({"heartbeatInfo": {"thirdPartyAccount": "a"}}), "MKT.0101"),
        (lic.parse_heartbeat_v1, body({"license": "PLX", "heartbeatInfo": {"ip": "1.2.3.4"}}), "MKT.0101"),
        (lic.parse_heartbeat_v1, body({"license": "PLX", "heartbeatInfo": "x"}), "MKT.0199"),
        (lic.parse_heartbeat_v1, body({"license": "PLX", "heartbeatInfo": {"thirdPartyAccount": "a" * 257}}),
         "MKT.0100"),
        (lic.parse_heartbeat_v1, body({"license": "PLX", "heartbeatInfo": {"thirdPartyAccount": "a", "ip": "1" * 33}}),
         "MKT.0100"),
        (lic.parse_heartbeat_v2, body({}), "MKT.0101"),
        (lic.parse_heartbeat_v2, body({"licenses": []}), "MKT.0101"),
        (lic.parse_heartbeat_v2, body({"licenses": "PLX"}), "MKT.0199"),
        (lic.parse_heartbeat_v2, body({"licenses": ["PLX"] * 101}), "MKT.0100"),
        (lic.parse_heartbeat_v2, body({"licenses": ["P" * 65]}), "MKT.0100"),
        (lic.parse_software_usage, body({}), "MKT.0101"),
        (lic.parse_software_usage, body({"usage_info": [{"license": "PLA"}]}), "MKT.0101"),
        (lic.parse_software_usage, body({"usage_info": [{"software_usage_Info": [{"id": "a"}]}]}), "MKT.0101"),
        (lic.parse_software_usage, body({"usage_info": [{"license": "PLA"}] * 101}), "MKT.0100"),
        (lic.parse_software_usage, usage_doc([{"id": "a", "active_num": 1}]), "MKT.0100"),
        (lic.parse_software_usage, usage_doc([{}]), "MKT.0100"),
        (lic.parse_software_usage, usage_doc([{"id": "a"}] * 101), "MKT.0100"),
        (lic.parse_software_usage, usage_doc([{"id": "a" * 257}]), "MKT.0100"),
        (lic.parse_software_usage, usage_doc([{"active_num": 1_000_000_000}]), "MKT.0100"),
        (lic.parse_software_usage, usage_doc([{"active_num": "3"}]), "MKT.0199"),
        (lic.parse_software_usage, body({"usage_info": [{"license": "P" * 65, "software_usage_Info": [{"id": "a"}]}]}),
         "MKT.0100"),
    ],
)
def test_license_validators(parse: Any, raw: bytes, code: str) -> None:
    with pytest.raises(lic.LicenseError) as exc:
        parse(raw)
    err = exc.value
    assert err.code == code and err.detail
    assert (err.http_status, err.message) == {
        "MKT.0100": (500, "Failure of input parameter"),
        "MKT.0101": (400, "Invalid parameter"),
        "MKT.0199": (400, "Request parameter error"),
    }[code]


# -- License: transitions -------------------------------------------------------------------------

T0 = datetime(2025, 3, 1, 8, 0, 0)


def state(status: str = lic.INACTIVE, **over: Any) -> lic.LicenseState:
    fields: dict[str, Any] = dict(code="PLAAAAAAAAAAAAAAAA", merchant_id=MERCHANT, product_id="OFFI1", sku_code="sku-1",
                                  status=status, effective_at=T0 - timedelta(days=1), expire_at=T0 + timedelta(days=30))
    fields.update(over)
    return lic.LicenseState(**fields)


def test_activate_then_heartbeat() -> None:
    s0 = state()
    s1 = lic.activate(s0, MERCHANT, T0)
    assert (s1.status, s1.activated_at) == (lic.ACTIVE, T0)
    assert s0.status == lic.INACTIVE  # not mutated
    assert lic.activate(s1, MERCHANT, T0 + timedelta(hours=1)) is s1  # again: unchanged success
    s2 = lic.heartbeat(s1, MERCHANT, T0 + timedelta(hours=2), "myaccount1", "192.168.1.51")
    assert (s2.last_heartbeat_at, s2.third_party_account, s2.ip) == (T0 + timedelta(hours=2), "myaccount1",
                                                                     "192.168.1.51")
    s3 = lic.heartbeat(s2, MERCHANT, T0 + timedelta(hours=3), None, None)
    assert (s3.last_heartbeat_at, s3.third_party_account) == (T0 + timedelta(hours=3), "myaccount1")
    assert lic.license_info(s3) == {
        "license": "PLAAAAAAAAAAAAAAAA", "status": "ACTIVE", "productId": "OFFI1", "skuCode": "sku-1",
        "effectiveTime": "20250228080000", "expireTime": "20250331080000", "lastHeartbeatTime": "20250301110000",
    }
    assert lic.license_info_v2(s3) == {"license": "PLAAAAAAAAAAAAAAAA", "status": "ACTIVE",
                                       "effective_time": "20250228080000", "expire_time": "20250331080000"}


def test_activation_sets_missing_effective_time() -> None:
    s = lic.activate(state(effective_at=None, expire_at=None), MERCHANT, T0)
    assert s.effective_at == T0 and lic.license_info(s)["expireTime"] is None


@pytest.mark.parametrize(
    "current, merchant, now, code",
    [
        (None, MERCHANT, T0, "91381034"),
        (state(), "someone-else", T0, "91381034"),
        (state(lic.EXPIRED), MERCHANT, T0, "91381035"),
        (state(lic.ACTIVE, expire_at=T0), MERCHANT, T0, "91381035"),
        (state(lic.INACTIVE, expire_at=T0 - timedelta(seconds=1)), MERCHANT, T0, "91381035"),
        (state(lic.FROZEN), MERCHANT, T0, "91381036"),
        (state(lic.RELEASED), MERCHANT, T0, "91381036"),
    ],
)
def test_activate_refusals(current: lic.LicenseState | None, merchant: str, now: datetime, code: str) -> None:
    with pytest.raises(lic.LicenseError) as exc:
        lic.activate(current, merchant, now)
    assert exc.value.code == code and exc.value.http_status == 200
    assert exc.value.message == {"91381034": "license apply invalid",
                                 "91381035": "license period has no remain amount",
                                 "91381036": "License resource invalid"}[code]


@pytest.mark.parametrize(
    "current, merchant, code",
    [
        (None, MERCHANT, "91381034"),
        (state(lic.INACTIVE), MERCHANT, "91381034"),
        (state(lic.ACTIVE), "someone-else", "91381034"),
        (state(lic.ACTIVE, expire_at=T0 - timedelta(days=1)), MERCHANT, "91381035"),
        (state(lic.FROZEN), MERCHANT, "91381036"),
        (state(lic.RELEASED), MERCHANT, "91381036"),
    ],
)
def test_heartbeat_refusals(current: lic.LicenseState | None, merchant: str, code: str) -> None:
    with pytest.raises(lic.LicenseError) as exc:
        lic.heartbeat(current, merchant, T0, "acct", None)
    assert exc.value.code == code


def test_info_reports_expiry_as_of_now() -> None:
    s = state(lic.ACTIVE, expire_at=T0)
    assert lic.license_info(s)["status"] == "ACTIVE"
    assert lic.license_info(s, now=T0)["status"] == "EXPIRED"
    assert lic.license_info_v2(s, now=T0)["status"] == "EXPIRED"


def test_license_error_defaults_and_explicit_form() -> None:
    err = lic.LicenseError("91381034", detail="unknown")
    assert (err.message, err.http_status, err.detail) == ("license apply invalid", 200, "unknown")
    err = lic.LicenseError("91381034", "license apply invalid", 200, "license PLX: unknown")
    assert (err.code, err.message, err.http_status, err.detail) == (
        "91381034", "license apply invalid", 200, "license PLX: unknown")

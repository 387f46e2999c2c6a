"""Pure open-API pieces: MKT envelope (§12.4), mock orders (§12.6), Query Order parameters (§12.5)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from multidict import MultiDict

from emulator.openapi.mock_orders import MOCK_ORDER_IDS, mock_order_info, with_line_filter
from emulator.openapi.query_params import check_query_order_params
from emulator.openapi.results import MKT_CODES, MktError, mkt_body, success

NOW = datetime(2026, 3, 10, 8, 0, 0)

EXPECTED_CODES = {
    "MKT.0000": (200, "Success"),
    "MKT.0999": (500, "System internal error."),
    "MKT.0100": (500, "Failure of input parameter"),
    "MKT.0101": (400, "Invalid parameter"),
    "MKT.0199": (400, "Request parameter error"),
    "MKT.0150": (401, "Illegal operation"),
    "MKT.0151": (401, "No authority"),
    "MKT.0154": (401, "Illegal token"),
    "MKT.0250": (406, "Access frequency overlimit"),
    "MKT.9001": (500, "Instance ID not found."),
    "MKT.9002": (500, "Invalid usage enties."),
    "MKT.9003": (500, "Usage records extends size limit."),
    "MKT.9004": (500, "Record beginTime extends Limit."),
}

# The captured response to MOCKPERIODYEARNEW (§12.6), its orderInfo written out.
CAPTURED_YEAR_NEW: dict[str, Any] = {
    "orderId": "MOCKPERIODYEARNEW", "orderType": "NEW", "createTime": "20241121090846",
    "orderLine": [{
        "orderLineId": "MOCKPERIODYEARNEW-000001", "chargingMode": "PERIOD", "periodType": "year",
        "periodNumber": 1, "expireTime": "20251121235959",
        "productInfo": [{"productId": "OFFI846204237451911168", "skuCode": "0a4d1578-5295-46a7-92d4-7c803dccc51d",
                         "linearValue": 50, "productName": "MOCK测试商品,测试规格,基础版,包周期"}],
        "extendParams": [{"name": "emailDomainName", "value": "test.xxxx.com"}, {"name": "ip", "value": "127.0.0.1"}],
        "currency": "100", "currencyAfterDiscount": "100"}],
    "buyerInfo": {"mobilePhone": "18688888888", "email": None, "customerId": "459bbbec25d24749b2eb83be37b602a8",
                  "customerName": "mock_user_01", "customerRealName": "测试用户1", "customerType": 0,
                  "userId": None, "userName": None},
    "extendParams": [],
}

# orderId → (orderType, chargingMode, periodType, periodNumber, fixed expireTime, productIds)
FACTS = {
    "MOCKPERIODYEARNEW": ("NEW", "PERIOD", "year", 1, "20251121235959", ["OFFI846204237451911168"]),
    "MOCKONETIMENEW": ("NEW", "ONE_TIME", None, None, None, ["OFFI846204237451911171"]),
    "MOCKONDEMAND": ("NEW", "ON_DEMAND", None, None, None,
                     ["OFFI846204237451911172", "OFFI846204237451911173"]),
    "MOCKONDEMANDPKG": ("NEW", "ON_DEMAND_PACKAGE", "year", 1, "20251121235959", ["OFFI846204237451911174"]),
    "MOCKPERIODDAYTRIAL": ("TRIAL", "PERIOD", "day", 7, "20241128235959", ["OFFI846204237451911170"]),
    "MOCKMONTYTRIALTOFORMAL": ("TRIAL_TO_FORMAL", "PERIOD", "month", 1, "20241221235959",
                               ["OFFI846204237451911169"]),
    "MOCKMONTYUNSUBSCRIBE": ("UNSUBSCRIBE", "PERIOD", "month", 1, "20241121235959", ["OFFI846204237451911169"]),
    "MOCKMONTYRENEW": ("RENEWAL", "PERIOD", "month", 1, "20241221235959", ["OFFI846204237451911169"]),
    "MOCKMONTYCHANGE": ("CHANGE", "PERIOD", "month", 1, "20241221235959", ["OFFI846204237451911175"]),
}

# orderId → expireTime in relative mode at NOW
RELATIVE_EXPIRY = {
    "MOCKPERIODYEARNEW": "20270310235959",
    "MOCKONETIMENEW": None,
    "MOCKONDEMAND": None,
    "MOCKONDEMANDPKG": "20270310235959",
    "MOCKPERIODDAYTRIAL": "20260317235959",
    "MOCKMONTYTRIALTOFORMAL": "20260410235959",
    "MOCKMONTYUNSUBSCRIBE": "20260310235959",
    "MOCKMONTYRENEW": "20260410235959",
    "MOCKMONTYCHANGE": "20260410235959",
}


# §12.4 envelope ---------------------------------------------------------------------------------

def test_every_code_has_its_status_and_text() -> None:
    assert MKT_CODES == EXPECTED_CODES
    for code, (status, text) in EXPECTED_CODES.items():
        assert mkt_body(code) == (status, {"resultCode": code, "resultMsg": text})


def test_mkt_error_status_and_body() -> None:
    error = MktError("MKT.0100", "orderId: order not found")
    assert (error.code, error.extra_info, error.status) == ("MKT.0100", "orderId: order not found", 500)
    assert error.body() == {"resultCode": "MKT.0100", "resultMsg": "Failure of input parameter",
                            "extra_info": "orderId: order not found"}
    bare = MktError("MKT.0151")
    assert bare.extra_info is None and bare.status == 401
    assert bare.body() == {"resultCode": "MKT.0151", "resultMsg": "No authority"}
    assert mkt_body("MKT.0250", "")[1]["extra_info"] == ""
    with pytest.raises(ValueError):
        MktError("MKT.1234")


def test_success_envelope() -> None:
    assert success() == {"resultCode": "MKT.0000", "resultMsg": "Success"}
    assert success(orderInfo={"orderId": "X"}) == {"resultCode": "MKT.0000", "resultMsg": "Success",
                                                   "orderInfo": {"orderId": "X"}}


# §12.6 mock orders ------------------------------------------------------------------------------

def test_the_nine_ids() -> None:
    assert MOCK_ORDER_IDS == tuple(FACTS)
    assert mock_order_info("MOCKPERIODMONTHNEW", NOW) is None
    assert mock_order_info("CS2207261447AUY4H", NOW, "fixed") is None


def test_captured_order_fixed_is_verbatim() -> None:
    assert mock_order_info("MOCKPERIODYEARNEW", NOW, "fixed") == CAPTURED_YEAR_NEW


@pytest.mark.parametrize("order_id", MOCK_ORDER_IDS)
def test_fixed_mode_key_facts(order_id: str) -> None:
    order_type, mode, period_type, period_number, expire, product_ids = FACTS[order_id]
    info = mock_order_info(order_id, NOW, "fixed")
    assert info is not None
    assert list(info) == ["orderId", "orderType", "createTime", "orderLine", "buyerInfo", "extendParams"]
    assert (info["orderId"], info["orderType"], info["createTime"]) == (order_id, order_type, "20241121090846")
    assert info["buyerInfo"] == CAPTURED_YEAR_NEW["buyerInfo"] and info["extendParams"] == []
    [line] = info["orderLine"]
    assert line["orderLineId"] == f"{order_id}-000001"
    assert (line["chargingMode"], line["periodType"], line["periodNumber"], line["expireTime"]) == (
        mode, period_type, period_number, expire)
    assert [p["productId"] for p in line["productInfo"]] == product_ids
    # nulls are present, never omitted (§12.5)
    for key in ("periodType", "periodNumber", "expireTime", "currency", "currencyAfterDiscount", "extendParams"):
        assert key in line
    assert all("linearValue" in p for p in line["productInfo"])
    assert {"email", "userId", "userName"} <= set(info["buyerInfo"])


@pytest.mark.parametrize("order_id", MOCK_ORDER_IDS)
def test_relative_mode_time_rule(order_id: str) -> None:
    info = mock_order_info(order_id, NOW)
    assert info is not None
    assert info["createTime"] == "20260310080000"
    assert info["orderLine"][0]["expireTime"] == RELATIVE_EXPIRY[order_id]
    fixed = mock_order_info(order_id, NOW, "fixed")
    assert fixed is not None
    for info_ in (info, fixed):
        info_["createTime"] = ""
        info_["orderLine"][0]["expireTime"] = ""
    assert info == fixed


def test_relative_mode_clamps_calendar_months_and_years() -> None:
    jan31 = datetime(2026, 1, 31, 23, 30, 5, 999999)
    monthly = mock_order_info("MOCKMONTYRENEW", jan31)
    assert monthly is not None
    assert monthly["createTime"] == "20260131233005"
    assert monthly["orderLine"][0]["expireTime"] == "20260228235959"
    leap_day = mock_order_info("MOCKPERIODYEARNEW", datetime(2028, 2, 29, 1, 2, 3))
    assert leap_day is not None and leap_day["orderLine"][0]["expireTime"] == "20290228235959"
    days = mock_order_info("MOCKPERIODDAYTRIAL", datetime(2026, 12, 28, 0, 0, 0))
    assert days is not None and days["orderLine"][0]["expireTime"] == "20270104235959"


def test_relative_mode_with_aware_now_uses_utc() -> None:
    aware = datetime(2026, 3, 10, 8, 0, 0, tzinfo=timezone.utc)
    assert mock_order_info("MOCKPERIODYEARNEW", aware) == mock_order_info("MOCKPERIODYEARNEW", NOW)


def test_results_are_fresh_copies() -> None:
    first = mock_order_info("MOCKPERIODYEARNEW", NOW, "fixed")
    assert first is not None
    first["buyerInfo"]["customerName"] = "changed"
    first["orderLine"][0]["extendParams"].clear()
    assert mock_order_info("MOCKPERIODYEARNEW", NOW, "fixed") == CAPTURED_YEAR_NEW
    assert mock_order_info("MOCKONETIMENEW", NOW, "fixed")["buyerInfo"]["customerName"] == "mock_user_01"  # type: ignore[index]


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError):
        mock_order_info("MOCKPERIODYEARNEW", NOW, "frozen")


# §12.5 orderLineId filter -----------------------------------------------------------------------

def test_line_filter() -> None:
    info = mock_order_info("MOCKONDEMAND", NOW)
    assert info is not None
    two_lines = {**info, "orderLine": info["orderLine"] + [{**info["orderLine"][0], "orderLineId": "L2"}]}
    assert with_line_filter(two_lines, None) == two_lines
    filtered = with_line_filter(two_lines, "L2")
    assert [line["orderLineId"] for line in filtered["orderLine"]] == ["L2"]
    assert len(two_lines["orderLine"]) == 2  # the input is untouched
    assert with_line_filter(info, "MOCKONDEMAND-000001") == info
    with pytest.raises(MktError) as raised:
        with_line_filter(info, "MOCKONDEMAND-000002")
    assert (raised.value.code, raised.value.extra_info, raised.value.status) == (
        "MKT.0100", "orderLineId: not in this order", 500)


# §12.5 parameter checks -------------------------------------------------------------------------

def test_valid_params() -> None:
    assert check_query_order_params({"orderId": "MOCKONDEMAND"}) == ("MOCKONDEMAND", None)
    assert check_query_order_params({"orderId": "O", "orderLineId": "O-000001"}) == ("O", "O-000001")
    assert check_query_order_params({"orderId": "O", "orderLineId": ""}) == ("O", None)
    assert check_query_order_params({"orderId": "x" * 64, "orderLineId": "y" * 64}) == ("x" * 64, "y" * 64)
    assert check_query_order_params(MultiDict([("orderId", "O")])) == ("O", None)


@pytest.mark.parametrize(("params", "code", "extra_info"), [
    ({}, "MKT.0101", "orderId: missing"),
    ({"orderLineId": "O-000001"}, "MKT.0101", "orderId: missing"),
    ({"orderId": ""}, "MKT.0101", "orderId: empty"),
    ({"orderId": "O", "foo": "1"}, "MKT.0101", "foo: undeclared parameter"),
    ({"orderid": "O"}, "MKT.0101", "orderId: missing"),
    ({"orderId": "O", "orderLineId": "O-1", "orderid": "O"}, "MKT.0101", "orderid: undeclared parameter"),
    (MultiDict([("orderId", "O"), ("orderId", "P")]), "MKT.0101", "orderId: given more than once"),
    (MultiDict([("orderId", "O"), ("orderLineId", "a"), ("orderLineId", "b")]), "MKT.0101",
     "orderLineId: given more than once"),
    ({"orderId": "x" * 65}, "MKT.0100", "orderId: longer than 64 characters"),
    ({"orderId": "O", "orderLineId": "y" * 65}, "MKT.0100", "orderLineId: longer than 64 characters"),
    # 0101 rows come before 0100 rows (§12.5 processing order)
    ({"orderId": "x" * 65, "foo": "1"}, "MKT.0101", "foo: undeclared parameter"),
])
def test_param_errors(params: Any, code: str, extra_info: str) -> None:
    with pytest.raises(MktError) as raised:
        check_query_order_params(params)
    assert (raised.value.code, raised.value.extra_info) == (code, extra_info)
    assert raised.value.status == EXPECTED_CODES[code][0]

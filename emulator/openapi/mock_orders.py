"""The nine debugging orders that Query Order answers for every merchant (PROTOCOL §12.6)."""

from __future__ import annotations

import copy
from datetime import datetime, time, timezone
from typing import Any, Optional

from ..marketplace.periods import add_period
from ..protocol.times import compact_time
from .results import MktError

MOCK_ORDER_IDS: tuple[str, ...] = (
    "MOCKPERIODYEARNEW", "MOCKONETIMENEW", "MOCKONDEMAND", "MOCKONDEMANDPKG", "MOCKPERIODDAYTRIAL",
    "MOCKMONTYTRIALTOFORMAL", "MOCKMONTYUNSUBSCRIBE", "MOCKMONTYRENEW", "MOCKMONTYCHANGE",
)

MOCK_TIME_MODES = ("relative", "fixed")

#: Shared by all nine orders (captured, §12.6).
_BUYER: dict[str, Any] = {
    "mobilePhone": "18688888888", "email": None, "customerId": "459bbbec25d24749b2eb83be37b602a8",
    "customerName": "mock_user_01", "customerRealName": "测试用户1", "customerType": 0,
    "userId": None, "userName": None,
}

_BASE_SKU = "0a4d1578-5295-46a7-92d4-7c803dccc51d"
_BASE_NAME = "MOCK测试商品,测试规格,基础版,包周期"
_EMAIL_DOMAIN = {"name": "emailDomainName", "value": "test.xxxx.com"}
_CAPTURED_CREATE = "20241121090846"

#: ``orderInfo`` of each mock order exactly as documented (§12.6; only MOCKPERIODYEARNEW is captured).
_DOCUMENTED: dict[str, dict[str, Any]] = {
    "MOCKPERIODYEARNEW": {
        "orderId": "MOCKPERIODYEARNEW", "orderType": "NEW", "createTime": _CAPTURED_CREATE,
        "orderLine": [{
            "orderLineId": "MOCKPERIODYEARNEW-000001", "chargingMode": "PERIOD", "periodType": "year",
            "periodNumber": 1, "expireTime": "20251121235959",
            "productInfo": [{"productId": "OFFI846204237451911168", "skuCode": _BASE_SKU,
                             "linearValue": 50, "productName": _BASE_NAME}],
            "extendParams": [_EMAIL_DOMAIN, {"name": "ip", "value": "127.0.0.1"}],
            "currency": "100", "currencyAfterDiscount": "100",
        }],
        "buyerInfo": _BUYER, "extendParams": [],
    },
    "MOCKONETIMENEW": {
        "orderId": "MOCKONETIMENEW", "orderType": "NEW", "createTime": _CAPTURED_CREATE,
        "orderLine": [{
            "orderLineId": "MOCKONETIMENEW-000001", "chargingMode": "ONE_TIME", "periodType": None,
            "periodNumber": None, "expireTime": None,
            "productInfo": [{"productId": "OFFI846204237451911171",
                             "skuCode": "5b1e0c3a-7d2f-4e8b-9a61-2c4d8e0f1a37",
                             "linearValue": None, "productName": "MOCK测试商品,测试规格,基础版,按次"}],
            "extendParams": [_EMAIL_DOMAIN],
            "currency": "100", "currencyAfterDiscount": "100",
        }],
        "buyerInfo": _BUYER, "extendParams": [],
    },
    "MOCKONDEMAND": {
        "orderId": "MOCKONDEMAND", "orderType": "NEW", "createTime": _CAPTURED_CREATE,
        "orderLine": [{
            "orderLineId": "MOCKONDEMAND-000001", "chargingMode": "ON_DEMAND", "periodType": None,
            "periodNumber": None, "expireTime": None,
            "productInfo": [
                {"productId": "OFFI846204237451911172", "skuCode": "9d4f2a6c-1b3e-4c5d-8e7f-0a1b2c3d4e5f",
                 "linearValue": None, "productName": "MOCK测试商品,测试规格,API调用次数,按需"},
                {"productId": "OFFI846204237451911173", "skuCode": "2f6b8d0e-4a1c-4e3b-9d5f-7a8c9e0b1d2c",
                 "linearValue": None, "productName": "MOCK测试商品,测试规格,存储容量,按需"},
            ],
            "extendParams": [],
            "currency": "0", "currencyAfterDiscount": "0",
        }],
        "buyerInfo": _BUYER, "extendParams": [],
    },
    "MOCKONDEMANDPKG": {
        "orderId": "MOCKONDEMANDPKG", "orderType": "NEW", "createTime": _CAPTURED_CREATE,
        "orderLine": [{
            "orderLineId": "MOCKONDEMANDPKG-000001", "chargingMode": "ON_DEMAND_PACKAGE", "periodType": "year",
            "periodNumber": 1, "expireTime": "20251121235959",
            "productInfo": [{"productId": "OFFI846204237451911174",
                             "skuCode": "e3a1c5d7-2b4f-4a6c-9e8d-7f6a5b4c3d2e",
                             "linearValue": 10000, "productName": "MOCK测试商品,测试规格,API调用次数,按需套餐包"}],
            "extendParams": [],
            "currency": "500", "currencyAfterDiscount": "450",
        }],
        "buyerInfo": _BUYER, "extendParams": [],
    },
    "MOCKPERIODDAYTRIAL": {
        "orderId": "MOCKPERIODDAYTRIAL", "orderType": "TRIAL", "createTime": _CAPTURED_CREATE,
        "orderLine": [{
            "orderLineId": "MOCKPERIODDAYTRIAL-000001", "chargingMode": "PERIOD", "periodType": "day",
            "periodNumber": 7, "expireTime": "20241128235959",
            "productInfo": [{"productId": "OFFI846204237451911170", "skuCode": _BASE_SKU,
                             "linearValue": 50, "productName": _BASE_NAME}],
            "extendParams": [_EMAIL_DOMAIN],
            "currency": "0", "currencyAfterDiscount": "0",
        }],
        "buyerInfo": _BUYER, "extendParams": [],
    },
    "MOCKMONTYTRIALTOFORMAL": {
        "orderId": "MOCKMONTYTRIALTOFORMAL", "orderType": "TRIAL_TO_FORMAL", "createTime": _CAPTURED_CREATE,
        "orderLine": [{
            "orderLineId": "MOCKMONTYTRIALTOFORMAL-000001", "chargingMode": "PERIOD", "periodType": "month",
            "periodNumber": 1, "expireTime": "20241221235959",
            "productInfo": [{"productId": "OFFI846204237451911169", "skuCode": _BASE_SKU,
                             "linearValue": 50, "productName": _BASE_NAME}],
            "extendParams": [_EMAIL_DOMAIN],
            "currency": "10", "currencyAfterDiscount": "10",
        }],
        "buyerInfo": _BUYER, "extendParams": [],
    },
    "MOCKMONTYUNSUBSCRIBE": {
        "orderId": "MOCKMONTYUNSUBSCRIBE", "orderType": "UNSUBSCRIBE", "createTime": _CAPTURED_CREATE,
        "orderLine": [{
            "orderLineId": "MOCKMONTYUNSUBSCRIBE-000001", "chargingMode": "PERIOD", "periodType": "month",
            "periodNumber": 1, "expireTime": "20241121235959",
            "productInfo": [{"productId": "OFFI846204237451911169", "skuCode": _BASE_SKU,
                             "linearValue": 50, "productName": _BASE_NAME}],
            "extendParams": [],
            "currency": "10", "currencyAfterDiscount": "10",
        }],
        "buyerInfo": _BUYER, "extendParams": [],
    },
    "MOCKMONTYRENEW": {
        "orderId": "MOCKMONTYRENEW", "orderType": "RENEWAL", "createTime": _CAPTURED_CREATE,
        "orderLine": [{
            "orderLineId": "MOCKMONTYRENEW-000001", "chargingMode": "PERIOD", "periodType": "month",
            "periodNumber": 1, "expireTime": "20241221235959",
            "productInfo": [{"productId": "OFFI846204237451911169", "skuCode": _BASE_SKU,
                             "linearValue": 50, "productName": _BASE_NAME}],
            "extendParams": [],
            "currency": "10", "currencyAfterDiscount": "10",
        }],
        "buyerInfo": _BUYER, "extendParams": [],
    },
    "MOCKMONTYCHANGE": {
        "orderId": "MOCKMONTYCHANGE", "orderType": "CHANGE", "createTime": _CAPTURED_CREATE,
        "orderLine": [{
            "orderLineId": "MOCKMONTYCHANGE-000001", "chargingMode": "PERIOD", "periodType": "month",
            "periodNumber": 1, "expireTime": "20241221235959",
            "productInfo": [{"productId": "OFFI846204237451911175",
                             "skuCode": "7c2e9b14-3f6a-4d21-8b5e-91a0c4d2e6f3",
                             "linearValue": 100, "productName": "MOCK测试商品,测试规格,专业版,包周期"}],
            "extendParams": [],
            "currency": "20", "currencyAfterDiscount": "20",
        }],
        "buyerInfo": _BUYER, "extendParams": [],
    },
}

_END_OF_DAY = time(23, 59, 59)



def mock_order_info(order_id: str, now: datetime, mode: str = "relative") -> Optional[dict[str, Any]]:
    """``orderInfo`` of a mock order (a fresh copy), or None for any other id.

    ``fixed`` returns the documented example verbatim; ``relative`` applies the §12.6 time rule with
    ``now`` (naive UTC; an aware value is converted) as ``createTime``.
    """
    if mode not in MOCK_TIME_MODES:
        raise ValueError(f"unknown mock time mode {mode!r}")
    documented = _DOCUMENTED.get(order_id)
    if documented is None:
        return None
    info = copy.deepcopy(documented)
    if mode == "fixed":
        return info
    created = _naive_utc(now).replace(microsecond=0)
    info["createTime"] = compact_time(created)
    for line in info["orderLine"]:
        line["expireTime"] = _expire_time(created, line, unsubscribe=info["orderType"] == "UNSUBSCRIBE")
    return info


def _naive_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def _expire_time(created: datetime, line: dict[str, Any], unsubscribe: bool) -> Optional[str]:
    """The date of ``created`` advanced by the line's period (calendar months clamp to the month's
    last day, §10), at a literal 23:59:59; not advanced for UNSUBSCRIBE; None without a period."""
    period_type, number = line["periodType"], line["periodNumber"]
    if period_type is None or number is None:
        return None
    end = created if unsubscribe else add_period(created, period_type, number)
    return compact_time(datetime.combine(end.date(), _END_OF_DAY))


def with_line_filter(order_info: dict[str, Any], order_line_id: Optional[str]) -> dict[str, Any]:
    """A copy whose ``orderLine`` holds only ``order_line_id`` (§12.5, assumed); unchanged when None."""
    if order_line_id is None:
        return order_info
    lines = [line for line in order_info.get("orderLine") or [] if line.get("orderLineId") == order_line_id]
    if not lines:
        raise MktError("MKT.0100", "orderLineId: not in this order")
    return {**order_info, "orderLine": lines}

"""Query Order answers for orders the emulator created (PROTOCOL §12.5), built from the same data
the callbacks used, so the slim newInstance → Query Order flow is consistent end to end.

The hottest open API: one indexed query in plain SQL (see ``Store.select``), no ORM objects."""

from __future__ import annotations

from typing import Any, Sequence

from ..protocol.times import compact_time
from ..store import Store
from ..store.values import as_datetime, as_json
from .results import MktError

ORDER_WITH_LINES = """
SELECT o.id, o.merchant_id, o.order_type, o.created_at, o.buyer,
       l.id, l.charging_mode, l.period_type, l.period_number, l.expire_at,
       l.product_id, l.sku_code, l.linear_value, l.amount, p.name
FROM "order" AS o
LEFT JOIN orderline AS l ON l.order_id = o.id
LEFT JOIN product AS p ON p.id = l.product_id
WHERE o.id = :order_id
ORDER BY l.id
"""


async def order_info(store: Store, order_id: str, merchant_id: str) -> dict[str, Any]:
    rows = await store.select(ORDER_WITH_LINES, {"order_id": order_id})
    if not rows:
        raise MktError("MKT.0100", "orderId: order not found")
    order_id, owner, order_type, created_at, buyer = rows[0][:5]
    if owner != merchant_id:
        raise MktError("MKT.0150", "orderId: the order belongs to another merchant")
    trial = order_type == "TRIAL"
    return {
        "orderId": order_id,
        "orderType": order_type,
        "createTime": compact_time(as_datetime(created_at)),
        "orderLine": [_line(row[5:], trial) for row in rows if row[5] is not None],
        "buyerInfo": _buyer(as_json(buyer)),
        "extendParams": [],
    }


def _line(line: Sequence[Any], trial: bool) -> dict[str, Any]:
    (line_id, charging_mode, period_type, period_number, expire_at, product_id, sku_code, linear_value, amount,
     name) = line
    amount = "0" if trial else amount  # a trial is free: "0" as in MOCKPERIODDAYTRIAL (§12.6)
    return {
        "orderLineId": line_id,
        "chargingMode": charging_mode,
        "periodType": period_type,
        "periodNumber": period_number,
        "expireTime": compact_time(as_datetime(expire_at)) if expire_at else None,
        "productInfo": [{
            "productId": product_id, "skuCode": sku_code, "linearValue": linear_value,
            "productName": name,
        }],
        "extendParams": [],
        "currency": amount,
        "currencyAfterDiscount": amount,
    }


def _buyer(buyer: dict[str, Any]) -> dict[str, Any]:
    return {
        "mobilePhone": buyer.get("mobile_phone"),
        "email": buyer.get("email"),
        "customerId": buyer.get("customer_id"),
        "customerName": buyer.get("customer_name"),
        "customerRealName": buyer.get("customer_real_name"),
        "customerType": buyer.get("customer_type", 0),
        "userId": None,
        "userName": None,
    }

"""Query Order answers for orders the emulator created (PROTOCOL §12.5), built from the same data
the callbacks used, so the slim newInstance → Query Order flow is consistent end to end."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from ..protocol.times import compact_time
from ..store.tables import Order, OrderLine, Product
from .results import MktError


def order_info(session: Session, order_id: str, merchant_id: str) -> dict[str, Any]:
    order = session.get(Order, order_id)
    if order is None:
        raise MktError("MKT.0100", "orderId: order not found")
    if order.merchant_id != merchant_id:
        raise MktError("MKT.0150", "orderId: the order belongs to another merchant")
    rows = session.exec(
        select(OrderLine, Product).join(Product, col(OrderLine.product_id) == col(Product.id))
        .where(OrderLine.order_id == order_id)
    ).all()
    return {
        "orderId": order.id,
        "orderType": order.order_type,
        "createTime": compact_time(order.created_at),
        "orderLine": [_line(line, product, order.order_type == "TRIAL") for line, product in rows],
        "buyerInfo": _buyer(order.buyer),
        "extendParams": [],
    }


def _line(line: OrderLine, product: Product, trial: bool) -> dict[str, Any]:
    name = product.name
    amount = "0" if trial else line.amount  # a trial is free: "0" as in MOCKPERIODDAYTRIAL (§12.6)
    return {
        "orderLineId": line.id,
        "chargingMode": line.charging_mode,
        "periodType": line.period_type,
        "periodNumber": line.period_number,
        "expireTime": compact_time(line.expire_at) if line.expire_at else None,
        "productInfo": [{
            "productId": line.product_id, "skuCode": line.sku_code, "linearValue": line.linear_value,
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

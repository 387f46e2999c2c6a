"""SaaS 2.0 joint-operation family, basic activities (PROTOCOL §5): the rich ``newInstance``
body, ``refreshInstance``, ``expireInstance``, ``releaseInstance`` and ``upgrade``.

The family has no ``queryInstance`` polling, no unfreeze and no ``changeInstanceCheck``; the
lifecycle asks ``families`` before it emits those. The kit syncs are in ``kit``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Optional

from ..marketplace.callbacks import Callback, CallbackKind, OrderFacts
from ..store.tables import Merchant
from .buyer import buyer_members
from .saas_v2 import WireCall
from .times import compact_time

SENDS = frozenset({
    CallbackKind.PURCHASE, CallbackKind.RENEWAL, CallbackKind.TRIAL_TO_FORMAL, CallbackKind.UNSUBSCRIBE_RENEWAL,
    CallbackKind.FREEZE, CallbackKind.RELEASE, CallbackKind.UPGRADE,
})

_REFRESHES = (CallbackKind.RENEWAL, CallbackKind.TRIAL_TO_FORMAL, CallbackKind.UNSUBSCRIBE_RENEWAL)


def wire_call(merchant: Merchant, callback: Callback) -> WireCall:
    kind, flag = callback.kind, callback.test_flag
    if kind is CallbackKind.PURCHASE:
        assert callback.order is not None, "a joint-operation newInstance needs the order's facts"
        params = {"buyerInfo": buyer_members(merchant, callback.order, merchant.encrypt_buyer_contact),
                  "orderInfo": [order_info(callback.order_id, callback.order)]}
        return WireCall("newInstance", params, "purchase", flag)
    if kind in _REFRESHES:
        params = {
            "instanceId": callback.instance_id, "orderId": callback.order_id, "productId": callback.product_id,
            "expireTime": compact_time(callback.expire_at) if callback.expire_at else None,
            "trialToFormal": "1" if kind is CallbackKind.TRIAL_TO_FORMAL else None,
        }
        return WireCall("refreshInstance", params, "renewal", flag)
    if kind is CallbackKind.FREEZE:
        params = {"instanceId": callback.instance_id, "orderId": callback.origin_order_id}
        return WireCall("expireInstance", params, "freeze", flag)
    if kind is CallbackKind.RELEASE:
        params = {"instanceId": callback.instance_id, "orderId": callback.order_id or callback.origin_order_id}
        return WireCall("releaseInstance", params, "release", flag)
    if kind is CallbackKind.UPGRADE:
        assert callback.order is not None, "a joint-operation upgrade needs the order's facts"
        params = {"instanceId": callback.instance_id, "orderId": callback.order_id,
                  "orderInfo": [order_info(callback.order_id, callback.order)]}
        return WireCall("upgrade", params, "upgrade", flag)
    raise ValueError(f"the joint-operation family has no activity for {kind} (PROTOCOL §5)")


def order_info(order_id: Optional[str], order: OrderFacts) -> dict[str, Any]:
    """One ``orderInfo`` element; ``businessId`` is added per attempt when the request is signed."""
    periodic = order.charging_mode == "PERIOD"
    return {
        "orderId": order_id,
        "trialFlag": "1" if order.trial else "0",
        "orderAmount": _amount(order.amount),
        "chargingMode": order.charging_mode,
        "periodType": order.period_type if periodic else None,
        "periodNumber": order.period_number if periodic else None,
        "provisionType": 1,
        "productInfo": [{"productId": order.product_id, "skuCode": order.sku_code,
                         "linearValue": order.linear_value}],
        "createTime": compact_time(order.created_at),
        "expireTime": compact_time(order.expire_at) if periodic and order.expire_at else None,
        "extendParams": [{"name": n, "value": v} for n, v in order.extend_params] or None,
    }


def _amount(text: str) -> int | float:
    """A JSON number with at most two decimals (``12.78``; ``12`` when whole)."""
    value = Decimal(text).quantize(Decimal("0.01"))
    return int(value) if value == value.to_integral_value() else float(value)

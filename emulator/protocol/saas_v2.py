"""SaaS 2.0 slim family (PROTOCOL §4): which activity each callback becomes, and its members."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from ..marketplace.callbacks import Callback, CallbackKind
from .times import compact_time


@dataclass(frozen=True)
class WireCall:
    """An activity ready to be enqueued: body members except ``businessId``, and its policy."""

    activity: str
    params: dict[str, Any]
    policy: str
    test_flag: Optional[str]


SENDS = frozenset(CallbackKind) - {CallbackKind.GRACE_END, CallbackKind.LICENSE_ASYNC}

_SCENES = {
    CallbackKind.RENEWAL: "RENEWAL",
    CallbackKind.TRIAL_TO_FORMAL: "TRIAL_TO_FORMAL",
    CallbackKind.UNSUBSCRIBE_RENEWAL: "UNSUBSCRIBE_RENEWAL_PERIOD",
}

def wire_call(callback: Callback) -> WireCall:
    kind = callback.kind
    flag = callback.test_flag
    if kind is CallbackKind.PURCHASE:
        return WireCall("newInstance", _order(callback), "purchase", flag)
    if kind in (CallbackKind.READINESS_POLL, CallbackKind.QUERY):
        policy = "query_poll" if kind is CallbackKind.READINESS_POLL else "sync"
        return WireCall("queryInstance", {"instanceId": callback.instance_id}, policy, flag)
    if kind in _SCENES:
        params = {
            **_order(callback),
            "instanceId": callback.instance_id,
            "scene": _SCENES[kind],
            "expireTime": compact_time(callback.expire_at) if callback.expire_at else None,
            "productId": callback.product_id,
        }
        return WireCall("refreshInstance", params, "renewal", flag)
    if kind in (CallbackKind.FREEZE, CallbackKind.UNFREEZE):
        status = "FREEZE" if kind is CallbackKind.FREEZE else "UNFREEZE"
        policy = "freeze" if kind is CallbackKind.FREEZE else "unfreeze"
        return WireCall("updateInstanceStatus", {"instanceId": callback.instance_id, "status": status}, policy, flag)
    if kind is CallbackKind.RELEASE:
        return WireCall("releaseInstance", {"instanceId": callback.instance_id, **_order(callback)}, "release", flag)
    if kind is CallbackKind.UPGRADE:
        return WireCall("upgradeInstance", {"instanceId": callback.instance_id, **_order(callback)}, "upgrade", flag)
    if kind is CallbackKind.CHANGE_CHECK:
        product_info = {
            "productId": callback.product_id,
            "skuCode": callback.sku_code,
            "linearValue": callback.linear_value,
        }
        # testFlag is sent on debug calls only (PROTOCOL §4 changeInstanceCheck).
        params = {"instanceId": callback.instance_id, "productInfo": product_info}
        return WireCall("changeInstanceCheck", params, "sync", flag if flag == "1" else None)
    raise ValueError(f"the SaaS 2.0 slim family has no activity for {kind}")


def _order(callback: Callback) -> dict[str, Any]:
    return {"orderId": callback.order_id, "orderLineId": callback.order_line_id}

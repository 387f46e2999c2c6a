"""SaaS V1 legacy family (PROTOCOL §7): flat query parameters sent as a GET signed with
``authToken`` (§2c); every reply must carry ``Body-Sign``.

Expiry is ``expireInstance``, a freeze or unfreeze by hand ``instanceStatus``; a renewal paid in
grace or retention is told by ``refreshInstance`` alone. There is no readiness polling
(``queryInstance`` is sent by hand only), no ``changeInstanceCheck`` and no grace call.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Optional

from ..marketplace.callbacks import Callback, CallbackKind, OrderFacts
from ..marketplace.ids import new_business_id
from ..store.tables import Merchant
from .buyer import buyer_members
from .outbound import SignedRequest, common_headers
from .saas_v2 import WireCall
from .signing import append_query, v1_signed_query, v1_timestamp
from .times import compact_time

SENDS = frozenset({
    CallbackKind.PURCHASE, CallbackKind.QUERY, CallbackKind.RENEWAL, CallbackKind.TRIAL_TO_FORMAL,
    CallbackKind.UNSUBSCRIBE_RENEWAL, CallbackKind.FREEZE, CallbackKind.UNFREEZE, CallbackKind.RELEASE,
    CallbackKind.UPGRADE,
})

_REFRESHES = (CallbackKind.RENEWAL, CallbackKind.TRIAL_TO_FORMAL, CallbackKind.UNSUBSCRIBE_RENEWAL)


def wire_call(merchant: Merchant, callback: Callback) -> WireCall:
    kind, flag = callback.kind, callback.test_flag
    instance = {"instanceId": callback.instance_id}
    if kind is CallbackKind.PURCHASE:
        assert callback.order is not None, "a V1 newInstance needs the order's facts"
        return _call("newInstance", new_instance_params(merchant, callback.order_id, callback.order), "v1_purchase",
                     flag)
    if kind in _REFRESHES:
        params = {"orderId": callback.order_id, **instance, "productId": callback.product_id,
                  "expireTime": compact_time(callback.expire_at) if callback.expire_at else None,
                  "trialToFormal": "1" if kind is CallbackKind.TRIAL_TO_FORMAL else None}
        return _call("refreshInstance", params, "v1_renewal", flag)
    if kind is CallbackKind.FREEZE and callback.reason != "manual":  # expiry (also found at a late purchase)
        return _call("expireInstance", {**instance, "orderId": callback.origin_order_id}, "v1_freeze", flag)
    if kind in (CallbackKind.FREEZE, CallbackKind.UNFREEZE):
        frozen = kind is CallbackKind.FREEZE
        params = {**instance, "instanceStatus": "FREEZE" if frozen else "NORMAL"}
        return _call("instanceStatus", params, "v1_freeze" if frozen else "v1_unfreeze", flag)
    if kind is CallbackKind.RELEASE:
        params = {**instance, "orderId": callback.order_id or callback.origin_order_id}
        return _call("releaseInstance", params, "v1_release", flag)
    if kind is CallbackKind.UPGRADE:
        assert callback.order is not None, "a V1 upgrade needs the order's facts"
        params = {**instance, "orderId": callback.order_id, "productId": callback.order.product_id,
                  "skuCode": callback.order.sku_code}
        return _call("upgrade", params, "v1_upgrade", flag)
    if kind is CallbackKind.QUERY:
        return _call("queryInstance", instance, "sync", flag)
    raise ValueError(f"the SaaS V1 family has no activity for {kind} (PROTOCOL §7)")


def new_instance_params(merchant: Merchant, order_id: Optional[str], order: OrderFacts) -> dict[str, Any]:
    """``newInstance`` parameters except ``businessId`` (added per attempt); contact fields AES (§3)."""
    periodic = order.charging_mode == "PERIOD"
    return {
        **buyer_members(merchant, order, encrypt=True),
        "orderId": order_id, "skuCode": order.sku_code, "productId": order.product_id,
        "trialFlag": "1" if order.trial else None,
        "expireTime": compact_time(order.expire_at) if periodic and order.expire_at else None,
        "saasExtendParams": extend_params_value(order.extend_params),
    }


def extend_params_value(extend_params: tuple[tuple[str, str], ...]) -> Optional[str]:
    """``base64_std`` of the JSON array of ``{"name", "value"}`` entries, or None without any (§7)."""
    if not extend_params:
        return None
    entries = [{"name": name, "value": value} for name, value in extend_params]
    text = json.dumps(entries, ensure_ascii=False, separators=(",", ":"))
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def v1_request(merchant: Merchant, activity: str, params: dict[str, Any], test_flag: Optional[str],
               carries_business_id: Optional[bool] = None) -> SignedRequest:
    """GET ``<production URL>?<sorted params>&authToken=…`` (§2c); a fresh ``timeStamp`` every
    attempt, and on ``newInstance`` a fresh ``businessId``."""
    carries = activity == "newInstance" if carries_business_id is None else carries_business_id
    business_id = new_business_id() if carries else None
    members = {**params, "activity": activity, "testFlag": test_flag, "businessId": business_id,
               "timeStamp": v1_timestamp()}
    values = {name: _text(value) for name, value in members.items() if value is not None}
    url = append_query(merchant.production_url, v1_signed_query(merchant.access_key, values))
    headers = {name: value for name, value in common_headers(merchant).items() if name != "Content-Type"}
    return SignedRequest("GET", url, headers, b"", business_id)


def _call(activity: str, params: dict[str, Any], policy: str, flag: Optional[str]) -> WireCall:
    return WireCall(activity, {name: value for name, value in params.items() if value is not None}, policy, flag)


def _text(value: Any) -> str:
    """A query value: strings as they are, anything else (a debug case's member) as compact JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"))

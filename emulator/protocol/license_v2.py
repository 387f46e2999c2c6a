"""License 2.0 family (PROTOCOL §6): which activity each callback becomes, and its members.

Bodies follow the slim shapes (assumed, §6); expiry is ``expireLicense``, the end of grace and a
freeze by hand are ``changeLicenseStatus FREEZE``, a renewal after it ``changeLicenseStatus
UNFREEZE``. Every activity name can be renamed per merchant (``license_activities``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from ..marketplace.callbacks import Callback, CallbackKind
from ..store.tables import Merchant
from .saas_v2 import WireCall
from .times import compact_time

DEFAULT_ACTIVITIES = {
    "purchase": "getLicense", "renewal": "refreshLicense", "expiry": "expireLicense", "release": "releaseLicense",
    "upgrade": "upgradeLicense", "status": "changeLicenseStatus", "async": "getLicenseAsync",
}
EVENTS = tuple(DEFAULT_ACTIVITIES)

SENDS = frozenset({
    CallbackKind.PURCHASE, CallbackKind.RENEWAL, CallbackKind.TRIAL_TO_FORMAL, CallbackKind.UNSUBSCRIBE_RENEWAL,
    CallbackKind.FREEZE, CallbackKind.UNFREEZE, CallbackKind.GRACE_END, CallbackKind.RELEASE, CallbackKind.UPGRADE,
    CallbackKind.LICENSE_ASYNC,
})

_SCENES = {
    CallbackKind.RENEWAL: "RENEWAL",
    CallbackKind.TRIAL_TO_FORMAL: "TRIAL_TO_FORMAL",
    CallbackKind.UNSUBSCRIBE_RENEWAL: "UNSUBSCRIBE_RENEWAL_PERIOD",
}


def activity(merchant: Merchant, event: str) -> str:
    return (merchant.license_activities or {}).get(event) or DEFAULT_ACTIVITIES[event]


def wire_call(merchant: Merchant, callback: Callback) -> WireCall:
    kind, flag = callback.kind, callback.test_flag
    order = {"orderId": callback.order_id, "orderLineId": callback.order_line_id}
    instance = {"instanceId": callback.instance_id}
    if kind is CallbackKind.PURCHASE:
        return WireCall(activity(merchant, "purchase"), order, "purchase", flag)
    if kind in _SCENES:
        params = {**order, **instance, "scene": _SCENES[kind], "productId": callback.product_id,
                  "expireTime": compact_time(callback.expire_at) if callback.expire_at else None}
        return WireCall(activity(merchant, "renewal"), params, "renewal", flag)
    if kind is CallbackKind.FREEZE and callback.reason == "expired":
        return WireCall(activity(merchant, "expiry"), instance, "freeze", flag)
    if kind in (CallbackKind.FREEZE, CallbackKind.GRACE_END, CallbackKind.UNFREEZE):
        status = "UNFREEZE" if kind is CallbackKind.UNFREEZE else "FREEZE"
        policy = "unfreeze" if kind is CallbackKind.UNFREEZE else "freeze"
        return WireCall(activity(merchant, "status"), {**instance, "status": status}, policy, flag)
    if kind is CallbackKind.RELEASE:
        return WireCall(activity(merchant, "release"), {**instance, **order}, "release", flag)
    if kind is CallbackKind.UPGRADE:
        return WireCall(activity(merchant, "upgrade"), {**instance, **order}, "upgrade", flag)
    if kind is CallbackKind.LICENSE_ASYNC:
        return WireCall(activity(merchant, "async"), {**instance, **dict(callback.extra or {})}, "purchase", flag)
    raise ValueError(f"the License 2.0 family has no activity for {kind} (PROTOCOL §6)")


def async_time(moment: Optional[datetime]) -> Optional[str]:
    """getLicenseAsync times: ``yyyy-MM-dd HH:mm:ss z`` in UTC (as documented; unconfirmed, §6)."""
    return moment.strftime("%Y-%m-%d %H:%M:%S z") if moment else None


def async_members(event_id: str, effective_at: datetime, expire_at: Optional[datetime],
                  device_fingerprint: Optional[str]) -> dict[str, Any]:
    return {"eventId": event_id, "effectiveTime": async_time(effective_at), "expireTime": async_time(expire_at),
            "deviceFingerprint": device_fingerprint}

"""What the marketplace must tell the merchant, before any wire format is chosen.

The domain emits ``Callback`` values; ``emulator.protocol`` turns each into an activity of the
merchant's protocol family and ``emulator.delivery`` sends it durably.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Mapping, Optional


class CallbackKind(StrEnum):
    PURCHASE = "purchase"
    READINESS_POLL = "readiness_poll"
    QUERY = "query"
    RENEWAL = "renewal"
    TRIAL_TO_FORMAL = "trial_to_formal"
    UNSUBSCRIBE_RENEWAL = "unsubscribe_renewal"
    FREEZE = "freeze"
    UNFREEZE = "unfreeze"
    RELEASE = "release"
    UPGRADE = "upgrade"
    CHANGE_CHECK = "change_check"
    GRACE_END = "grace_end"  # License 2.0: the code is frozen once expiry and grace have passed (§6)
    LICENSE_ASYNC = "license_async"  # License 2.0: getLicenseAsync, sent by hand (§6)


# Domain reactions to a delivery's outcome, by name (stored on the delivery row).
_ORDER_CALLS = (CallbackKind.RENEWAL, CallbackKind.TRIAL_TO_FORMAL, CallbackKind.UPGRADE, CallbackKind.RELEASE)
ON_SUCCESS = {
    CallbackKind.PURCHASE: "purchase_delivered",
    CallbackKind.READINESS_POLL: "instance_ready",
    CallbackKind.QUERY: "instance_ready",
    **{kind: "order_delivered" for kind in _ORDER_CALLS},
}
ON_EXHAUST = {
    CallbackKind.PURCHASE: "purchase_exhausted",
    CallbackKind.READINESS_POLL: "never_ready",
    **{kind: "order_undelivered" for kind in _ORDER_CALLS},
}


@dataclass(frozen=True)
class OrderFacts:
    """What a rich body tells about the order behind a call (PROTOCOL §5); the slim family sends
    identifiers only and ignores it."""

    buyer: Mapping[str, Any]
    created_at: datetime
    trial: bool
    charging_mode: str
    period_type: Optional[str]
    period_number: Optional[int]
    amount: str
    expire_at: Optional[datetime]
    product_id: str
    sku_code: str
    linear_value: Optional[int]
    extend_params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Callback:
    kind: CallbackKind
    instance_key: str
    order_id: Optional[str] = None
    order_line_id: Optional[str] = None
    instance_id: Optional[str] = None
    expire_at: Optional[datetime] = None
    product_id: Optional[str] = None
    sku_code: Optional[str] = None
    linear_value: Optional[int] = None
    test_flag: str = "0"
    order: Optional[OrderFacts] = None  # purchases and upgrades
    origin_order_id: Optional[str] = None  # the instance's new-purchase order (expiry and release)
    family: Optional[str] = None  # the instance's protocol family (None: the merchant's)
    reason: Optional[str] = None  # FREEZE: expired | manual
    extra: Optional[Mapping[str, Any]] = None  # members only one activity has (getLicenseAsync)

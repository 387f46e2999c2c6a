"""Protocol families (PROTOCOL §0): the wire mapping each one provides and what it leaves out.

The lifecycle emits the same ``Callback`` values whatever the family; it asks ``sends`` before
emitting a kind a family may lack (the joint-operation family has no unfreeze and no
``queryInstance``), ``polls_readiness`` to know whether a purchase is followed by polling, and
``unfreezes_after_renewal`` whether a renewal in grace is followed by an unfreeze call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from ..marketplace.callbacks import Callback, CallbackKind
from ..marketplace.errors import Conflict
from ..store.tables import Merchant
from . import license_v2, saas_v1, saas_v2, saas_v2_joint
from .outbound import SignedRequest, basic_request
from .saas_v2 import WireCall

RequestBuilder = Callable[[Merchant, str, dict, Optional[str], Optional[bool]], SignedRequest]


@dataclass(frozen=True)
class Family:
    name: str
    title: str
    section: str
    wire_call: Callable[[Merchant, Callback], WireCall]
    sends: frozenset[CallbackKind]
    polls_readiness: bool
    request: RequestBuilder = basic_request
    grace_call: bool = False  # the end of grace is a call of its own (License 2.0, §6)
    holds_failed_purchase: bool = False  # an exhausted purchase waits for manual delivery (§6, §9)
    refresh_reactivates: bool = False  # a renewal in grace is told by its refresh alone, no unfreeze (§7)

    @property
    def missing_actions(self) -> frozenset[str]:
        """Instance actions the family cannot tell the merchant about (a freeze by hand could never
        be lifted without an unfreeze)."""
        missing = set()
        if CallbackKind.UNFREEZE not in self.sends:
            missing |= {"freeze", "unfreeze"}
        if CallbackKind.QUERY not in self.sends:
            missing.add("query")
        if CallbackKind.LICENSE_ASYNC not in self.sends:
            missing.add("license_async")
        return frozenset(missing)


FAMILIES = {f.name: f for f in (
    Family("saas_v2_slim", "SaaS 2.0 slim", "§4", lambda _merchant, callback: saas_v2.wire_call(callback),
           saas_v2.SENDS, polls_readiness=True),
    Family("saas_v2_joint", "SaaS 2.0 joint-operation", "§5", saas_v2_joint.wire_call, saas_v2_joint.SENDS,
           polls_readiness=False),
    Family("license_v2", "License 2.0", "§6", license_v2.wire_call, license_v2.SENDS, polls_readiness=False,
           grace_call=True, holds_failed_purchase=True),
    Family("saas_v1", "SaaS V1 legacy", "§7", saas_v1.wire_call, saas_v1.SENDS, polls_readiness=False,
           request=saas_v1.v1_request, refresh_reactivates=True),
)}


def require_emulated(family: str) -> Family:
    """The family, or a refusal for one whose wire mapping does not exist yet."""
    found = FAMILIES.get(family)
    if found is None:
        raise Conflict(
            f"protocol family {family!r} is not emulated yet; the merchant must use one of {', '.join(FAMILIES)}",
            field="family",
        )
    return found


def sends(family: str, kind: CallbackKind) -> bool:
    return kind in require_emulated(family).sends


def unfreezes_after_renewal(family: str) -> bool:
    """Whether a renewal paid in grace or retention is followed by an unfreeze call."""
    found = require_emulated(family)
    return CallbackKind.UNFREEZE in found.sends and not found.refresh_reactivates


def require_sends(family: str, kind: CallbackKind, action: str) -> None:
    found = require_emulated(family)
    if kind not in found.sends:
        raise Conflict(f"cannot {action}: the {found.title} family has no activity for it (PROTOCOL {found.section})",
                       field="family")


@dataclass(frozen=True)
class ReplyRules:
    """What a reply to one activity must carry beyond the common checks (PROTOCOL §8)."""

    purchase: bool = False  # instanceId, the same on every resend (§4 R1)
    license_field: Optional[str] = None  # getLicense: the member carrying the licence (§6)
    body_sign_key: Optional[str] = None  # V1: a Body-Sign made with this key (§2c)


def reply_rules(family: Optional[str], merchant: Merchant, activity: str, kind: Optional[str] = None) -> ReplyRules:
    """By the delivery's callback kind (a purchase stays one when its activity is renamed while it is
    retried); for debugging cases, which have none, by the activity name."""
    if family == "license_v2":
        purchase = kind == "purchase" or activity in ("getLicense", license_v2.activity(merchant, "purchase"))
        return ReplyRules(purchase=True, license_field=merchant.license_field) if purchase else ReplyRules()
    purchase = kind == "purchase" or activity == "newInstance"
    if family == "saas_v1":
        return ReplyRules(purchase=purchase, body_sign_key=merchant.access_key)
    return ReplyRules(purchase=purchase)


def request_builder(family: Optional[str]) -> RequestBuilder:
    """How the family's requests are shaped and signed; rows without a family are slim."""
    found = FAMILIES.get(family or "saas_v2_slim")
    return found.request if found else basic_request


def missing_actions(family: str) -> frozenset[str]:
    found = FAMILIES.get(family)
    return found.missing_actions if found else frozenset()


def family_of(merchant: Merchant, callback: Callback) -> str:
    """The family a call is made in: its instance's (fixed at purchase), else the merchant's."""
    return callback.family or merchant.family


def wire_call(merchant: Merchant, callback: Callback) -> WireCall:
    return require_emulated(family_of(merchant, callback)).wire_call(merchant, callback)

"""One outbound request, signed as its family and interface require (PROTOCOL §1, §2a, §2b):
a fresh businessId, nonce and wall-clock timestamp every time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from .. import __version__
from ..marketplace.callbacks import CallbackKind
from ..marketplace.ids import new_business_id
from ..store.tables import Merchant
from .canonical import canonical_body
from .kit import KIT_SYNCS, kit_url, signed_kit_request
from .signing import append_query, basic_signature, basic_signed_query, new_nonce, wall_clock_ms

# Activities whose body carries a businessId, new on every attempt (PROTOCOL §4 R3, §6; in the
# joint family inside each orderInfo element, §5).
CARRIES_BUSINESS_ID = frozenset({"newInstance", "upgrade", "getLicense"})
_CALLBACK_KINDS = frozenset(kind.value for kind in CallbackKind)


@dataclass(frozen=True)
class SignedRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    business_id: Optional[str] = None


def common_headers(merchant: Merchant) -> dict[str, str]:
    return {
        "Accept": "application/json",
        "Content-Type": merchant.content_type,
        "User-Agent": f"koogallery-emulator/{__version__}",
    }


def signed_request(merchant: Merchant, family: Optional[str], activity: str, params: dict[str, Any],
                   test_flag: Optional[str], kind: Optional[str] = None) -> SignedRequest:
    """The request of one attempt: kit syncs by their path and ``x-sign``, the rest as ``family``
    sends them (None: the slim family of rows made before families were recorded). ``kind``, the
    callback kind of a lifecycle delivery, decides whether a businessId goes with it, whatever the
    activity is named; for other deliveries (debugging cases) the activity name does."""
    if activity in KIT_SYNCS:  # the body is the stored params as they are; the path names the interface
        signed, body = signed_kit_request(merchant.kit_key or "", params, upper=merchant.kit_sign_hex_case == "upper")
        url = kit_url(merchant.production_url, activity, merchant.kit_base_url)
        return SignedRequest("POST", url, {**common_headers(merchant), **signed}, body)
    from .families import request_builder  # families imports this module's users

    carries = (None if kind not in _CALLBACK_KINDS  # debugging cases, kit syncs: by the activity name
               else kind == "purchase" or (kind == "upgrade" and family == "saas_v2_joint"))
    return request_builder(family)(merchant, activity, params, test_flag, carries)


def basic_request(merchant: Merchant, activity: str, params: dict[str, Any], test_flag: Optional[str],
                  carries_business_id: Optional[bool] = None) -> SignedRequest:
    """POST of the canonical body with the §2a URL signature (families 1, 2-basic and 3)."""
    carries = activity in CARRIES_BUSINESS_ID if carries_business_id is None else carries_business_id
    business_id = new_business_id() if carries else None
    body = canonical_body(_with_business_id({"activity": activity, **params, "testFlag": test_flag}, business_id))
    timestamp, nonce = wall_clock_ms(), new_nonce()
    signature = basic_signature(merchant.access_key, nonce, timestamp, body,
                                upper=merchant.signature_hex_case == "upper")
    url = append_query(merchant.production_url, basic_signed_query(signature, timestamp, nonce))
    return SignedRequest("POST", url, common_headers(merchant), body, business_id)


def _with_business_id(members: dict[str, Any], business_id: Optional[str]) -> dict[str, Any]:
    """The businessId at the top (slim, License) or in each ``orderInfo`` element (joint-operation)."""
    if business_id is None:
        return members
    if isinstance(members.get("orderInfo"), list):
        return {**members, "orderInfo": [{**info, "businessId": business_id} for info in members["orderInfo"]]}
    return {**members, "businessId": business_id}
